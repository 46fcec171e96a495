/*
 * ropa.c: the records of processing activities (GDPR Art. 30(1)) drawn
 * from the stored policy and the register's counts (rk_ropa).
 *
 * The document is built once as JSON; Markdown and HTML are rendered from
 * that tree, so the forms cannot say different things. Only counts are
 * read from the register (store count_by: no value is decrypted), and
 * every text taken from the policy is escaped in HTML (htmlesc.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "htmlesc.h"
#include "ident.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define ROPA_VERSION 1
#define DOC_MAX	     ((size_t)64 * 1024 * 1024)

/* ---- the model --------------------------------------------------------------
 */

struct counts {
	json_t *by_name; /* name -> [rows, subjects] */
	int bad;
};

static int count_one(void *ud, const char *name, int64_t rows, int64_t subjects)
{
	struct counts *c = ud;
	json_t *v = json_pack("[I, I]", (json_int_t)rows, (json_int_t)subjects);

	if (v == NULL || json_object_set_new(c->by_name, name, v) != 0) {
		c->bad = 1;
		return 1;
	}
	return 0;
}

static rk_status read_counts(rk_register *r, enum store_count what,
			     json_t **out)
{
	struct counts c = {json_object(), 0};

	*out = NULL;
	if (c.by_name == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (r->st->vt->count_by(r->st, what, count_one, &c) != 0 || c.bad) {
		json_decref(c.by_name);
		return c.bad ? reg_fail(r, RK_ESYS, "out of memory")
			     : reg_store_fail(r, "cannot count");
	}
	*out = c.by_name;
	return RK_OK;
}

static json_int_t got(const json_t *counts, const char *name, size_t i)
{
	return json_integer_value(
		json_array_get(json_object_get(counts, name), i));
}

static const char *txt(const pol_text *t, int en)
{
	const char *s = en ? t->en : t->fi;

	return s != NULL ? s : (en ? t->fi : t->en);
}

static const char *label(const pol_text *t, const char *name, int en)
{
	const char *s = txt(t, en);

	return s != NULL ? s : name;
}

/* A JSON array of the names of items idx[0..n) of a named list. */
static json_t *names_of(const pol_named *items, size_t nitems,
			const size_t *idx, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (idx[i] < nitems &&
		    json_array_append_new(a, json_string(items[idx[i]].name)))
			break;
	return a;
}

/* Adds name to array a unless it is there. */
static int add_once(json_t *a, const char *name)
{
	size_t i;
	json_t *v;

	for (i = 0; i < json_array_size(a); i++) {
		v = json_array_get(a, i);
		if (strcmp(json_string_value(v), name) == 0)
			return 0;
	}
	return json_array_append_new(a, json_string(name));
}

/* The measures the register itself takes, whatever the policy says. */
static const char *const measures_fi[] = {
	"Henkilötiedot salataan kenttäkohtaisesti (XChaCha20-Poly1305); "
	"jokaisella rekisteröidyllä on oma satunnainen tietoavaimensa, joka "
	"on salattu pääavaimella.",
	"Hakutunnisteet (sähköposti, puhelin, henkilötunnus, asiakasnumero, "
	"käyttäjätunnus) haetaan avaimellisten sokeiden indeksien kautta; "
	"salasanat tallennetaan vain Argon2id-tiivisteinä.",
	"Käyttöoikeudet määräytyvät roolin, käyttötarkoituksen ja "
	"tietoryhmän mukaan; henkilötunnus peitetään rooleilta, jotka eivät "
	"sitä tarvitse.",
	"Jokainen luku ja kirjoitus kirjataan ketjutettuun, avaimella "
	"suojattuun lokiin, jonka eheys voidaan todentaa ja allekirjoittaa.",
	"Pääsyä ohjaavat rivit on sidottu rekisterin riviavaimeen, joten "
	"ilman avainta tehty muutos havaitaan.",
	"Poisto hävittää rekisteröidyn avaimen, joten tiedot eivät aukea "
	"vanhoistakaan varmuuskopioista; avaimet voidaan vaihtaa.",
	"Tietoturvaloukkaukset kirjataan loukkausrekisteriin 72 tunnin "
	"ilmoitusmääräaikoineen."};
static const char *const measures_en[] = {
	"Personal data is encrypted field by field (XChaCha20-Poly1305); "
	"every data subject has a random data key of their own, wrapped by "
	"the master key.",
	"Lookup values (e-mail, phone, personal identity code, customer "
	"number, user name) are found through keyed blind indexes; passwords "
	"are stored only as Argon2id hashes.",
	"Access is granted by role, purpose and category of data; the "
	"personal identity code is masked from roles that do not need it.",
	"Every read and write is recorded in a hash-chained, keyed audit "
	"trail that can be verified and signed.",
	"The rows that decide access are bound to the register's row key, so "
	"a change made without the key is detected.",
	"Erasure destroys the subject's key, so the data no longer opens even "
	"from older backups; keys can be rotated.",
	"Personal data breaches are recorded in the breach register with the "
	"72-hour notification deadline."};
#define NMEASURES (sizeof measures_fi / sizeof measures_fi[0])

static const char *const rcp_kinds[] = {"processor", "third_party",
					"authority"};
static const char *const from_names[] = {"collection", "relationship_end",
					 "fiscal_year_end",
					 "calendar_year_end"};

static void utc_now(const rk_register *r, char out[32])
{
	int64_t t = reg_now(r), sod = t % 86400;
	char day[11];

	if (sod < 0)
		sod += 86400;
	ident_date_of(t, day);
	snprintf(out, 32, "%sT%02d:%02d:%02dZ", day, (int)(sod / 3600),
		 (int)(sod / 60 % 60), (int)(sod % 60));
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static rk_status build(rk_register *r, int en, json_t **out)
{
	const policy *p = r->pol;
	json_t *doc = NULL, *a, *o, *kinds = NULL, *fields = NULL,
	       *records = NULL, *held = NULL;
	char when[32];
	size_t i, k, f;
	rk_status st;
	int bad = 0;

	*out = NULL;
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	st = read_counts(r, STORE_COUNT_KIND, &kinds);
	if (st == RK_OK)
		st = read_counts(r, STORE_COUNT_FIELD, &fields);
	if (st == RK_OK)
		st = read_counts(r, STORE_COUNT_RECORD, &records);
	if (st == RK_OK)
		st = read_counts(r, STORE_COUNT_HELD, &held);
	reg_end_read(r);
	if (st != RK_OK)
		goto out;
	utc_now(r, when);
	doc = json_pack(
		"{s:s, s:i, s:s, s:s, s:i, s:s, s:{s:s, s:o, s:o, s:o}, "
		"s:{s:s, s:o}}",
		"schema", "rekisteri-ropa", "version", ROPA_VERSION, "lang",
		en ? "en" : "fi", "generated_at", when, "policy_version",
		r->policy_version, "register_name",
		label(&p->register_name, "", en), "controller", "name",
		p->controller.name ? p->controller.name : "", "address",
		str_or_null(p->controller.address), "business_id",
		str_or_null(p->controller.business_id), "email",
		str_or_null(p->controller.email), "contact", "name",
		p->responsible.name ? p->responsible.name : "", "email",
		str_or_null(p->responsible.email));
	if (doc == NULL)
		goto oom;
	o = p->supervisory.present
		    ? json_pack("{s:s, s:o, s:o}", "name",
				label(&p->supervisory.name, "", en), "address",
				str_or_null(p->supervisory.address), "url",
				str_or_null(p->supervisory.url))
		    : json_null();
	bad |= json_object_set_new(doc, "supervisory_authority", o) != 0;

	/* Purposes, with the legal bases of what serves each. */
	a = json_array();
	for (i = 0; a != NULL && i < p->npurposes; i++) {
		json_t *bases = json_array();
		for (f = 0; bases != NULL && f < p->nfields; f++)
			if (policy_field_serves(p, f, i) &&
			    p->fields[f].basis < p->nbases)
				bad |= add_once(bases,
						p->bases[p->fields[f].basis]
							.name) != 0;
		for (k = 0; bases != NULL && k < p->nrecord_types; k++) {
			const pol_record_type *rt = &p->record_types[k];
			for (f = 0; f < rt->npurposes; f++)
				if (rt->purposes[f] == i &&
				    rt->basis < p->nbases)
					bad |= add_once(bases,
							p->bases[rt->basis]
								.name) != 0;
		}
		o = json_pack(
			"{s:s, s:s, s:o}", "name", p->purposes[i].name, "label",
			label(&p->purposes[i].label, p->purposes[i].name, en),
			"legal_bases", bases ? bases : json_array());
		bad |= o == NULL || json_array_append_new(a, o) != 0;
	}
	bad |= a == NULL || json_object_set_new(doc, "purposes", a) != 0;

	a = json_array();
	for (i = 0; a != NULL && i < p->nbases; i++) {
		o = json_pack("{s:s, s:s, s:o}", "name", p->bases[i].name,
			      "label",
			      label(&p->bases[i].label, p->bases[i].name, en),
			      "gdpr", str_or_null(p->bases[i].gdpr));
		bad |= o == NULL || json_array_append_new(a, o) != 0;
	}
	bad |= a == NULL || json_object_set_new(doc, "legal_bases", a) != 0;

	/* Categories of data subjects. */
	a = json_array();
	for (i = 0; a != NULL && i < p->nkinds; i++) {
		o = json_pack("{s:s, s:s, s:I}", "name", p->kinds[i].name,
			      "label",
			      label(&p->kinds[i].label, p->kinds[i].name, en),
			      "subjects", got(kinds, p->kinds[i].name, 0));
		bad |= o == NULL || json_array_append_new(a, o) != 0;
	}
	bad |= a == NULL ||
	       json_object_set_new(doc, "subject_categories", a) != 0;

	/* Categories of personal data: the policy's categories with their
	 * fields, and the record types. */
	a = json_array();
	for (k = 0; a != NULL && k < p->ncategories; k++) {
		json_t *fl = json_array(), *pu = json_array(),
		       *ba = json_array(), *re = json_array();
		json_int_t values = 0, subjects = 0;
		for (f = 0; fl && pu && ba && re && f < p->nfields; f++) {
			const pol_field *fd = &p->fields[f];
			size_t x;
			if (fd->category != k)
				continue;
			o = json_pack("{s:s, s:s, s:I, s:I}", "name", fd->name,
				      "label", label(&fd->label, fd->name, en),
				      "values", got(fields, fd->name, 0),
				      "subjects", got(fields, fd->name, 1));
			bad |= o == NULL || json_array_append_new(fl, o) != 0;
			values += got(fields, fd->name, 0);
			if (got(fields, fd->name, 1) > subjects)
				subjects = got(fields, fd->name, 1);
			for (x = 0; x < fd->npurposes; x++)
				if (fd->purposes[x] < p->npurposes)
					bad |= add_once(
						       pu,
						       p->purposes
							       [fd->purposes[x]]
								       .name) !=
					       0;
			if (fd->basis < p->nbases)
				bad |= add_once(ba, p->bases[fd->basis].name) !=
				       0;
			if (fd->retention < p->nretention)
				bad |= add_once(re, p->retention[fd->retention]
							    .name) != 0;
		}
		/* subjects: those holding the category's most held field (a
		 * lower bound without reading who holds which). */
		o = (fl && pu && ba && re)
			    ? json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, "
					"s:I}",
					"name", p->categories[k].name, "label",
					label(&p->categories[k].label,
					      p->categories[k].name, en),
					"fields", fl, "purposes", pu,
					"legal_bases", ba, "retention", re,
					"values", values, "subjects_at_least",
					subjects)
			    : NULL;
		if (o == NULL) {
			json_decref(fl);
			json_decref(pu);
			json_decref(ba);
			json_decref(re);
		}
		bad |= o == NULL || json_array_append_new(a, o) != 0;
	}
	bad |= a == NULL || json_object_set_new(doc, "data_categories", a) != 0;

	a = json_array();
	for (k = 0; a != NULL && k < p->nrecord_types; k++) {
		const pol_record_type *rt = &p->record_types[k];
		o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:I, s:I, s:I}",
			      "name", rt->name, "label",
			      label(&rt->label, rt->name, en), "purposes",
			      names_of(p->purposes, p->npurposes, rt->purposes,
				       rt->npurposes),
			      "legal_basis",
			      rt->basis < p->nbases ? p->bases[rt->basis].name
						    : "",
			      "retention",
			      rt->retention < p->nretention
				      ? p->retention[rt->retention].name
				      : "",
			      "consent",
			      rt->consent < p->nscopes
				      ? json_string(p->scopes[rt->consent].name)
				      : json_null(),
			      "records", got(records, rt->name, 0), "subjects",
			      got(records, rt->name, 1), "held",
			      got(held, rt->name, 0));
		bad |= o == NULL || json_array_append_new(a, o) != 0;
	}
	bad |= a == NULL || json_object_set_new(doc, "record_types", a) != 0;

	/* Recipients and transfers outside the EU/EEA. */
	a = json_array();
	o = json_array();
	for (k = 0; a != NULL && o != NULL && k < p->nrecipients; k++) {
		const pol_recipient *rc = &p->recipients[k];
		int outside = !policy_country_in_eu_eea(p, rc->country);
		json_t *e = json_pack(
			"{s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "name", rc->name,
			"label", label(&rc->label, rc->name, en), "kind",
			(size_t)rc->kind < 3 ? rcp_kinds[rc->kind] : "other",
			"country", rc->country, "outside_eea", outside,
			"safeguard", str_or_null(rc->safeguard), "purposes",
			names_of(p->purposes, p->npurposes, rc->purposes,
				 rc->npurposes));
		bad |= e == NULL || json_array_append_new(a, e) != 0;
		if (outside) {
			e = json_pack("{s:s, s:s, s:o}", "recipient", rc->name,
				      "country", rc->country, "safeguard",
				      str_or_null(rc->safeguard));
			bad |= e == NULL || json_array_append_new(o, e) != 0;
		}
	}
	bad |= a == NULL || json_object_set_new(doc, "recipients", a) != 0;
	bad |= o == NULL || json_object_set_new(doc, "transfers", o) != 0;

	a = json_array();
	for (k = 0; a != NULL && k < p->nretention; k++) {
		const pol_retention *rt = &p->retention[k];
		o = json_pack("{s:s, s:s, s:o, s:s, s:i, s:i, s:i, s:b}",
			      "name", rt->name, "label",
			      label(&rt->label, rt->name, en), "description",
			      str_or_null(txt(&rt->description, en)), "from",
			      (size_t)rt->from < 4 ? from_names[rt->from] : "",
			      "years", rt->years, "months", rt->months, "days",
			      rt->days, "legal_hold", rt->legal_hold);
		bad |= o == NULL || json_array_append_new(a, o) != 0;
	}
	bad |= a == NULL || json_object_set_new(doc, "retention", a) != 0;

	a = json_array();
	for (k = 0; a != NULL && k < NMEASURES; k++)
		bad |= json_array_append_new(
			a, json_string(en ? measures_en[k] : measures_fi[k]));
	o = json_pack(
		"{s:o, s:o}", "policy",
		p->security_section != POL_NONE
			? str_or_null(txt(
				  &p->sections[p->security_section].body, en))
			: json_null(),
		"register", a ? a : json_array());
	bad |= o == NULL || json_object_set_new(doc, "security", o) != 0;
	if (bad)
		goto oom;
	*out = doc;
	doc = NULL;
	goto out;
oom:
	st = reg_fail(r, RK_ESYS, "out of memory");
out:
	json_decref(doc);
	json_decref(kinds);
	json_decref(fields);
	json_decref(records);
	json_decref(held);
	return st;
}

/* ---- rendering --------------------------------------------------------------
 */

typedef struct obuf {
	char *p;
	size_t n, cap;
	int oom;
	int html;
} obuf;

static void put_n(void *ud, const char *s, size_t n)
{
	obuf *b = ud;

	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		char *np;
		while (cap < b->n + n + 1 && cap <= DOC_MAX)
			cap *= 2;
		np = cap > DOC_MAX ? NULL : realloc(b->p, cap);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* Markup of this file. */
static void raw(obuf *b, const char *s)
{
	put_n(b, s, strlen(s));
}

/* Markdown: characters that would make markup are escaped, and line ends
 * become spaces, so that text from the policy stays text. */
static void md_text(obuf *b, const char *s)
{
	/* A heading or list mark at the start is taken as text too. */
	if (s != NULL && (*s == '#' || *s == '-' || *s == '+'))
		put_n(b, "\\", 1);
	for (; s != NULL && *s != '\0'; s++) {
		if (strchr("\\`*_[]<>|", *s) != NULL) {
			put_n(b, "\\", 1);
			put_n(b, s, 1);
		} else if (*s == '\n' || *s == '\r' || *s == '\t') {
			put_n(b, " ", 1);
		} else {
			put_n(b, s, 1);
		}
	}
}

/* Text from the document. */
static void text(obuf *b, const char *s)
{
	if (b->html)
		html_escape(s, put_n, b);
	else
		md_text(b, s);
}

static void num(obuf *b, json_int_t v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, v);
	raw(b, buf);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

#define T(f, e) (en ? (e) : (f))

static void heading(obuf *b, const char *title)
{
	if (b->html) {
		raw(b, "<h2>");
		text(b, title);
		raw(b, "</h2>\n");
	} else {
		raw(b, "\n## ");
		text(b, title);
		raw(b, "\n\n");
	}
}

static void para(obuf *b, const char *s)
{
	if (b->html) {
		raw(b, "<p>");
		text(b, s);
		raw(b, "</p>\n");
	} else {
		text(b, s);
		raw(b, "\n\n");
	}
}

/* A table: a header row of ncols, then rows added with cell()/row_end(). */
static void table_begin(obuf *b, const char *const *head, size_t ncols)
{
	size_t i;

	if (b->html) {
		raw(b, "<table>\n<thead><tr>");
		for (i = 0; i < ncols; i++) {
			raw(b, "<th scope=\"col\">");
			text(b, head[i]);
			raw(b, "</th>");
		}
		raw(b, "</tr></thead>\n<tbody>\n");
		return;
	}
	raw(b, "|");
	for (i = 0; i < ncols; i++) {
		raw(b, " ");
		text(b, head[i]);
		raw(b, " |");
	}
	raw(b, "\n|");
	for (i = 0; i < ncols; i++)
		raw(b, " --- |");
	raw(b, "\n");
}

static void row_begin(obuf *b)
{
	raw(b, b->html ? "<tr>" : "|");
}

static void cell(obuf *b, const char *s)
{
	raw(b, b->html ? "<td>" : " ");
	text(b, s);
	raw(b, b->html ? "</td>" : " |");
}

static void cell_num(obuf *b, json_int_t v)
{
	raw(b, b->html ? "<td class=\"n\">" : " ");
	num(b, v);
	raw(b, b->html ? "</td>" : " |");
}

/* The names of a JSON array of names, joined. */
static void cell_names(obuf *b, const json_t *a)
{
	size_t i;
	const json_t *v;

	raw(b, b->html ? "<td>" : " ");
	json_array_foreach(a, i, v)
	{
		if (i > 0)
			raw(b, ", ");
		text(b, json_string_value(v));
	}
	raw(b, b->html ? "</td>" : " |");
}

static void row_end(obuf *b)
{
	raw(b, b->html ? "</tr>\n" : "\n");
}

static void table_end(obuf *b)
{
	raw(b, b->html ? "</tbody>\n</table>\n" : "\n");
}

static const char style[] =
	"body{font-family:sans-serif;max-width:60em;margin:2em auto;"
	"padding:0 1em;color:#111;line-height:1.4}"
	"table{border-collapse:collapse;width:100%;margin:0.5em 0 1.5em}"
	"th,td{border:1px solid #999;padding:0.25em 0.5em;text-align:left;"
	"vertical-align:top}"
	"td.n{text-align:right}th{background:#eee}"
	"@media print{body{margin:0}h2{break-after:avoid}}";

static void render(obuf *b, const json_t *d, int en)
{
	const json_t *o, *v, *a;
	size_t i;

	if (b->html) {
		raw(b, "<!DOCTYPE html>\n<html lang=\"");
		raw(b, en ? "en" : "fi");
		raw(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
		       "<meta http-equiv=\"Content-Security-Policy\" "
		       "content=\"default-src 'none'; style-src "
		       "'unsafe-inline'\">\n<title>");
		text(b, T("Seloste käsittelytoimista",
			  "Record of processing activities"));
		raw(b, "</title>\n<style>");
		raw(b, style);
		raw(b, "</style>\n</head>\n<body>\n<h1>");
		text(b, T("Seloste käsittelytoimista",
			  "Record of processing activities"));
		raw(b, "</h1>\n");
	} else {
		raw(b, "# ");
		text(b, T("Seloste käsittelytoimista",
			  "Record of processing activities"));
		raw(b, "\n\n");
	}
	para(b, jstr(d, "register_name"));
	{
		char line[160];
		snprintf(
			line, sizeof line, "%s %s, %s %" JSON_INTEGER_FORMAT,
			T("EU:n yleinen tietosuoja-asetus 30 artiklan 1 kohta. "
			  "Laadittu",
			  "GDPR Article 30(1). Generated"),
			jstr(d, "generated_at"),
			T("tietosuojaselosteen versio", "notice version"),
			json_integer_value(
				json_object_get(d, "policy_version")));
		para(b, line);
	}

	heading(b, T("Rekisterinpitäjä ja yhteyshenkilö",
		     "Controller and contact person"));
	o = json_object_get(d, "controller");
	{
		const char *head[] = {T("Tieto", "Item"), T("Arvo", "Value")};
		table_begin(b, head, 2);
	}
	row_begin(b);
	cell(b, T("Rekisterinpitäjä", "Controller"));
	cell(b, jstr(o, "name"));
	row_end(b);
	row_begin(b);
	cell(b, T("Osoite", "Address"));
	cell(b, jstr(o, "address"));
	row_end(b);
	row_begin(b);
	cell(b, T("Y-tunnus", "Business ID"));
	cell(b, jstr(o, "business_id"));
	row_end(b);
	o = json_object_get(d, "contact");
	row_begin(b);
	cell(b, T("Yhteyshenkilö", "Contact person"));
	cell(b, jstr(o, "name"));
	row_end(b);
	row_begin(b);
	cell(b, T("Yhteyshenkilön sähköposti", "Contact person's e-mail"));
	cell(b, jstr(o, "email"));
	row_end(b);
	o = json_object_get(d, "supervisory_authority");
	if (json_is_object(o)) {
		row_begin(b);
		cell(b, T("Valvontaviranomainen", "Supervisory authority"));
		cell(b, jstr(o, "name"));
		row_end(b);
	}
	table_end(b);

	heading(b, T("Käsittelyn tarkoitukset ja oikeusperusteet",
		     "Purposes of the processing and legal bases"));
	{
		const char *head[] = {T("Tarkoitus", "Purpose"),
				      T("Oikeusperusteet", "Legal bases")};
		table_begin(b, head, 2);
	}
	json_array_foreach(json_object_get(d, "purposes"), i, v)
	{
		row_begin(b);
		cell(b, jstr(v, "label"));
		cell_names(b, json_object_get(v, "legal_bases"));
		row_end(b);
	}
	table_end(b);

	heading(b, T("Rekisteröityjen ryhmät", "Categories of data subjects"));
	{
		const char *head[] = {T("Ryhmä", "Category"),
				      T("Rekisteröityjä nyt", "Subjects now")};
		table_begin(b, head, 2);
	}
	json_array_foreach(json_object_get(d, "subject_categories"), i, v)
	{
		row_begin(b);
		cell(b, jstr(v, "label"));
		cell_num(b, json_integer_value(json_object_get(v, "subjects")));
		row_end(b);
	}
	table_end(b);

	heading(b, T("Henkilötietoryhmät", "Categories of personal data"));
	{
		const char *head[] = {T("Ryhmä", "Category"),
				      T("Kentät", "Fields"),
				      T("Tarkoitukset", "Purposes"),
				      T("Säilytys", "Retention"),
				      T("Arvoja nyt", "Values now")};
		table_begin(b, head, 5);
	}
	json_array_foreach(json_object_get(d, "data_categories"), i, v)
	{
		const json_t *f;
		size_t x;
		row_begin(b);
		cell(b, jstr(v, "label"));
		raw(b, b->html ? "<td>" : " ");
		json_array_foreach(json_object_get(v, "fields"), x, f)
		{
			if (x > 0)
				raw(b, ", ");
			text(b, jstr(f, "label"));
		}
		raw(b, b->html ? "</td>" : " |");
		cell_names(b, json_object_get(v, "purposes"));
		cell_names(b, json_object_get(v, "retention"));
		cell_num(b, json_integer_value(json_object_get(v, "values")));
		row_end(b);
	}
	table_end(b);
	{
		const char *head[] = {
			T("Asiakkuuteen liittyvät tiedot", "Relationship data"),
			T("Tarkoitukset", "Purposes"),
			T("Säilytys", "Retention"),
			T("Tietueita nyt", "Records now"),
			T("Rekisteröityjä", "Subjects")};
		table_begin(b, head, 5);
	}
	json_array_foreach(json_object_get(d, "record_types"), i, v)
	{
		row_begin(b);
		cell(b, jstr(v, "label"));
		cell_names(b, json_object_get(v, "purposes"));
		cell(b, jstr(v, "retention"));
		cell_num(b, json_integer_value(json_object_get(v, "records")));
		cell_num(b, json_integer_value(json_object_get(v, "subjects")));
		row_end(b);
	}
	table_end(b);

	heading(b, T("Vastaanottajat", "Recipients"));
	{
		const char *head[] = {T("Vastaanottaja", "Recipient"),
				      T("Laji", "Kind"), T("Maa", "Country"),
				      T("Tarkoitukset", "Purposes")};
		table_begin(b, head, 4);
	}
	json_array_foreach(json_object_get(d, "recipients"), i, v)
	{
		row_begin(b);
		cell(b, jstr(v, "label"));
		cell(b, jstr(v, "kind"));
		cell(b, jstr(v, "country"));
		cell_names(b, json_object_get(v, "purposes"));
		row_end(b);
	}
	table_end(b);

	heading(b, T("Siirrot EU:n tai ETA:n ulkopuolelle",
		     "Transfers outside the EU or EEA"));
	a = json_object_get(d, "transfers");
	if (json_array_size(a) == 0) {
		para(b, T("Ei siirtoja kolmansiin maihin.",
			  "No transfers to third countries."));
	} else {
		const char *head[] = {T("Vastaanottaja", "Recipient"),
				      T("Maa", "Country"),
				      T("Suojatoimet", "Safeguards")};
		table_begin(b, head, 3);
		json_array_foreach(a, i, v)
		{
			row_begin(b);
			cell(b, jstr(v, "recipient"));
			cell(b, jstr(v, "country"));
			cell(b, json_is_string(json_object_get(v, "safeguard"))
					? jstr(v, "safeguard")
					: T("ei kirjattu", "none recorded"));
			row_end(b);
		}
		table_end(b);
	}

	heading(b, T("Poistamisen määräajat", "Time limits for erasure"));
	{
		const char *head[] = {
			T("Sääntö", "Rule"),
			T("Lakisääteinen säilytys", "Legal hold")};
		table_begin(b, head, 2);
	}
	json_array_foreach(json_object_get(d, "retention"), i, v)
	{
		row_begin(b);
		cell(b, jstr(v, "label"));
		cell(b, json_is_true(json_object_get(v, "legal_hold"))
				? T("kyllä", "yes")
				: T("ei", "no"));
		row_end(b);
	}
	table_end(b);

	heading(b, T("Tekniset ja organisatoriset turvatoimet",
		     "Technical and organisational security measures"));
	o = json_object_get(d, "security");
	if (json_is_string(json_object_get(o, "policy")))
		para(b, jstr(o, "policy"));
	if (b->html)
		raw(b, "<ul>\n");
	json_array_foreach(json_object_get(o, "register"), i, v)
	{
		raw(b, b->html ? "<li>" : "- ");
		text(b, json_string_value(v));
		raw(b, b->html ? "</li>\n" : "\n");
	}
	if (b->html)
		raw(b, "</ul>\n</body>\n</html>\n");
}

rk_status rk_ropa(rk_register *r, rk_doc_format format, const char *lang,
		  char **doc_out)
{
	const audit_action action = AUD_ROPA_RENDER;
	json_t *doc = NULL;
	obuf b;
	audit_ev ev;
	rk_status st;
	int en;

	memset(&b, 0, sizeof b);
	if (doc_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the document");
	*doc_out = NULL;
	st = access_rights(r, action, "read the records of processing");
	if (st != RK_OK)
		return st;
	if (lang != NULL && strcmp(lang, "fi") != 0 && strcmp(lang, "en") != 0)
		return reg_fail(r, RK_EINVAL, "the language is fi or en");
	if (format != RK_DOC_JSON && format != RK_DOC_MARKDOWN &&
	    format != RK_DOC_HTML)
		return reg_fail(r, RK_EINVAL, "the format is json, md or html");
	en = lang != NULL && strcmp(lang, "en") == 0;
	st = build(r, en, &doc);
	if (st != RK_OK)
		goto out;
	if (format == RK_DOC_JSON) {
		*doc_out =
			json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	} else {
		b.html = format == RK_DOC_HTML;
		render(&b, doc, en);
		if (!b.oom) {
			*doc_out = b.p;
			b.p = NULL;
		}
	}
	if (*doc_out == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	audit_ev_set(&ev, r, action, NULL, NULL, NULL, "ok");
	st = audit_read(r, &ev);
out:
	if (st != RK_OK) {
		free(*doc_out);
		*doc_out = NULL;
	}
	free(b.p);
	json_decref(doc);
	return st;
}
