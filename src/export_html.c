/*
 * export_html.c: the access report as one HTML page that can be printed
 * and handed to the person: Finnish or English, headings and tables, an
 * inline style sheet, no script and nothing fetched from elsewhere (the
 * page's own Content-Security-Policy forbids both).
 *
 * Everything shown comes from the report's JSON document (export.c), and
 * every string taken from it (values, and the labels of the policy too) is
 * written through esc(): & < > " ' become entities, so nothing stored in
 * the register can open an element or an attribute. Only the fixed
 * strings of this file are written as markup.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "export.h"
#include "htmlbuf.h"

#define COLUMNS_MAX  64
#define PURPOSES_MAX 256

/* ---- the page: the shared buffer (htmlbuf.c) and the report ----------- */

typedef struct hbuf {
	htmlbuf h;
	int english;
	const json_t *doc;
} hbuf;

/* Markup of this file (never data). */
static void raw(hbuf *b, const char *s)
{
	hb_raw(&b->h, s);
}

/* Text from the document: always escaped. */
static void esc(hbuf *b, const char *s)
{
	hb_esc(&b->h, s);
}

static void num(hbuf *b, long long v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", v);
	raw(b, buf);
}

/* The fixed words of the page: Finnish, English. */
#define T(fi, en) (b->english ? (en) : (fi))

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "2025-01-31T12:00:00Z" shown as "2025-01-31 12:00 UTC". */
static void when(hbuf *b, const char *iso)
{
	char buf[32];

	if (iso == NULL)
		return;
	if (strlen(iso) == 20 && iso[10] == 'T' && iso[19] == 'Z') {
		memcpy(buf, iso, 10);
		buf[10] = ' ';
		memcpy(buf + 11, iso + 11, 5);
		memcpy(buf + 16, " UTC", 5);
		esc(b, buf);
	} else {
		esc(b, iso);
	}
}

static void cell(hbuf *b, const char *s)
{
	raw(b, "<td>");
	esc(b, s);
	raw(b, "</td>");
}

static void kv(hbuf *b, const char *key, const char *val)
{
	raw(b, "<tr><th scope=\"row\">");
	esc(b, key);
	raw(b, "</th><td>");
	if (val != NULL)
		esc(b, val);
	else
		raw(b, "&ndash;");
	raw(b, "</td></tr>\n");
}

/* The item of list (purposes, sources) named name: its 1-based place, 0
 * when not there. */
static size_t place_of(const json_t *list, const char *name)
{
	const json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
	{
		const char *n = str(e, "name");
		if (name != NULL && n != NULL && strcmp(n, name) == 0)
			return i + 1;
	}
	return 0;
}

static const json_t *item_named(const json_t *list, const char *name)
{
	size_t k = place_of(list, name);

	return k == 0 ? NULL : json_array_get(list, k - 1);
}

/* A label from the document, else the name itself. */
static void label_or_name(hbuf *b, const json_t *o, const char *name_key)
{
	const char *l = str(o, "label");

	esc(b, l != NULL ? l : str(o, name_key));
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Purposes as the numbers of the list at the top of the page, in order;
 * one the list does not hold by its name. */
static void purpose_refs(hbuf *b, const json_t *purposes)
{
	const json_t *list = json_object_get(b->doc, "purposes"), *e;
	size_t places[PURPOSES_MAX] = {0}, n = 0, i, k;
	int any = 0;

	for (i = 0; i < json_array_size(purposes); i++) {
		e = json_array_get(purposes, i);
		k = place_of(list, json_string_value(e));
		if (k > 0 && n < PURPOSES_MAX) {
			places[n++] = k;
		} else if (k == 0) {
			if (i > n) /* unknown ones printed before */
				raw(b, ", ");
			esc(b, json_string_value(e));
		}
	}
	any = n < json_array_size(purposes);
	qsort(places, n, sizeof places[0], cmp_size);
	for (i = 0; i < n; i++) {
		if (any)
			raw(b, ", ");
		num(b, (long long)places[i]);
		any = 1;
	}
}

static void source_ref(hbuf *b, const char *source)
{
	size_t k = place_of(json_object_get(b->doc, "sources"), source);

	if (k > 0) {
		raw(b, T("L", "S"));
		num(b, (long long)k);
	} else {
		esc(b, source);
	}
}

static void basis_text(hbuf *b, const json_t *o)
{
	const char *l = str(o, "legal_basis_label"), *g = str(o, "gdpr");

	esc(b, l != NULL ? l : str(o, "legal_basis"));
	if (g != NULL) {
		raw(b, T(" (art. ", " (Art. "));
		esc(b, g);
		raw(b, ")");
	}
}

/* A value: a string, or a list of them one a line. */
static void value_text(hbuf *b, const json_t *v)
{
	const json_t *e;
	size_t i;

	if (json_is_string(v)) {
		esc(b, json_string_value(v));
		return;
	}
	json_array_foreach(v, i, e)
	{
		if (i > 0)
			raw(b, "\n");
		esc(b, json_string_value(e));
	}
}

/* ---- the sections -------------------------------------------------------- */

static const char style[] =
	"body{font-family:\"Noto Sans\",\"DejaVu Sans\",Arial,sans-serif;"
	"color:#1a1a1a;background:#fff;margin:0 auto;max-width:62rem;"
	"padding:1.5rem;line-height:1.45;font-size:11pt}"
	"h1{font-size:1.6rem;margin:0 0 .3rem}"
	"h2{font-size:1.2rem;margin:1.8rem 0 .6rem;padding-bottom:.2rem;"
	"border-bottom:2px solid #2b4a6f;color:#2b4a6f;"
	"break-after:avoid;page-break-after:avoid}"
	"h3{font-size:1.02rem;margin:1.2rem 0 .4rem;break-after:avoid}"
	"p{margin:.3rem 0 .6rem}"
	".sub{font-size:1.05rem;color:#333}.meta{color:#555;font-size:.9rem}"
	"table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;"
	"font-size:.88rem}"
	"th,td{border:1px solid #b8c2cc;padding:.3rem .45rem;text-align:left;"
	"vertical-align:top}"
	"thead th{background:#e8eef4}"
	"table.kv th{width:30%;background:#f4f6f8;font-weight:600}"
	"td.v{white-space:pre-wrap;overflow-wrap:break-word;font-weight:600}"
	"td{overflow-wrap:break-word}"
	"ol.ref li,ul.ref li{margin:.15rem 0}"
	".note{color:#444;font-size:.88rem}"
	"dl.rights dt{font-weight:600;margin-top:.6rem}"
	"dl.rights dd{margin:.1rem 0 0 1rem}"
	"tr{break-inside:avoid;page-break-inside:avoid}"
	"footer{margin-top:2rem;border-top:1px solid #b8c2cc;"
	"padding-top:.5rem;color:#555;font-size:.85rem}"
	"@media print{body{padding:0;max-width:none;font-size:10pt}"
	"@page{margin:15mm}}";

static void head(hbuf *b)
{
	const json_t *d = b->doc;

	raw(b, "<!DOCTYPE html>\n<html lang=\"");
	raw(b, b->english ? "en" : "fi");
	raw(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta http-equiv=\"Content-Security-Policy\" "
	       "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
	       "<meta name=\"referrer\" content=\"no-referrer\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, "
	       "initial-scale=1\">\n<title>");
	raw(b, T("Tietopyyntö: rekisteröidyn tiedot",
		 "Access request: the data subject's data"));
	raw(b, "</title>\n<style>");
	raw(b, style);
	raw(b, "</style>\n</head>\n<body>\n<header>\n<h1>");
	raw(b, T("Selvitys sinusta tallennetuista tiedoista",
		 "Report of the data held about you"));
	raw(b, "</h1>\n<p class=\"sub\">");
	esc(b, str(d, "register_name"));
	raw(b, "</p>\n<p class=\"meta\">");
	raw(b, T("Tietosuoja-asetuksen 15 artiklan mukainen selvitys. "
		 "Laadittu ",
		 "A report under Article 15 of the General Data Protection "
		 "Regulation. Made on "));
	when(b, str(d, "generated_at"));
	raw(b, T("; tietosuojaselosteen versio ", "; privacy notice version "));
	num(b, (long long)json_integer_value(
		       json_object_get(d, "notice_version")));
	raw(b, ".</p>\n</header>\n");
}

static void controller(hbuf *b)
{
	const json_t *c = json_object_get(b->doc, "controller");
	const json_t *p = json_object_get(b->doc, "contact_person");

	raw(b, "<section>\n<h2>");
	raw(b, T("Rekisterinpitäjä", "Controller"));
	raw(b, "</h2>\n<table class=\"kv\">\n");
	kv(b, T("Nimi", "Name"), str(c, "name"));
	kv(b, T("Osoite", "Address"), str(c, "address"));
	kv(b, T("Y-tunnus", "Business ID (Y-tunnus)"), str(c, "business_id"));
	if (str(c, "email") != NULL)
		kv(b, T("Sähköposti", "E-mail"), str(c, "email"));
	kv(b,
	   T("Yhteyshenkilö rekisteriä koskevissa asioissa",
	     "Contact person for matters concerning the register"),
	   str(p, "name"));
	kv(b, T("Yhteyshenkilön sähköposti", "The contact person's e-mail"),
	   str(p, "email"));
	raw(b, "</table>\n</section>\n");
}

static void subject(hbuf *b)
{
	const json_t *s = json_object_get(b->doc, "subject");
	const char *kl = str(s, "kind_label");
	char created[32] = "";
	const char *c = str(s, "created_at");

	if (c != NULL)
		snprintf(created, sizeof created, "%.10s", c);
	raw(b, "<section>\n<h2>");
	raw(b, T("Rekisteröity", "Data subject"));
	raw(b, "</h2>\n<table class=\"kv\">\n");
	kv(b, T("Tunniste rekisterissä", "Identifier in the register"),
	   str(s, "id"));
	kv(b, T("Asiakkuuden laji", "Kind of relationship"),
	   kl != NULL ? kl : str(s, "kind"));
	kv(b, T("Lisätty rekisteriin", "Added to the register"), created);
	kv(b, T("Asiakkuus alkoi", "Relationship began"),
	   str(s, "relationship_start"));
	kv(b, T("Asiakkuus päättyi", "Relationship ended"),
	   str(s, "relationship_end") != NULL ? str(s, "relationship_end")
					      : T("jatkuu", "continues"));
	raw(b, "</table>\n</section>\n");
}

static void named_section(hbuf *b, const char *key, const char *title,
			  const char *intro, const char *prefix)
{
	const json_t *list = json_object_get(b->doc, key), *e;
	size_t i;

	raw(b, "<section>\n<h2>");
	raw(b, title);
	raw(b, "</h2>\n<p>");
	raw(b, intro);
	raw(b, "</p>\n");
	if (json_array_size(list) == 0) {
		raw(b, "<p class=\"note\">");
		raw(b, T("Ei tietoja.", "None."));
		raw(b, "</p>\n</section>\n");
		return;
	}
	raw(b, "<table>\n<tbody>\n");
	json_array_foreach(list, i, e)
	{
		raw(b, "<tr><th scope=\"row\">");
		if (prefix != NULL) {
			raw(b, prefix);
			num(b, (long long)(i + 1));
		} else {
			num(b, (long long)(i + 1));
		}
		raw(b, "</th><td>");
		label_or_name(b, e, "name");
		if (str(e, "description") != NULL) {
			raw(b, "<br><span class=\"note\">");
			esc(b, str(e, "description"));
			raw(b, "</span>");
		}
		raw(b, "</td></tr>\n");
	}
	raw(b, "</tbody>\n</table>\n</section>\n");
}

static void value_row(hbuf *b, const json_t *v)
{
	raw(b, "<tr>");
	raw(b, "<th scope=\"row\">");
	label_or_name(b, v, "field");
	raw(b, "</th><td class=\"v\">");
	if (json_is_true(json_object_get(v, "hidden"))) {
		raw(b, T("(asetettu; vain tiiviste tallennetaan, salasanaa ei "
			 "voi lukea)",
			 "(set; only a hash is kept, the password cannot be "
			 "read)"));
	} else {
		esc(b, str(v, "value"));
	}
	raw(b, "</td><td>");
	purpose_refs(b, json_object_get(v, "purposes"));
	raw(b, "</td><td>");
	basis_text(b, v);
	raw(b, "</td><td>");
	source_ref(b, str(v, "source"));
	raw(b, "</td><td>");
	when(b, str(v, "collected_at"));
	raw(b, "</td><td>");
	when(b, str(v, "confirmed_at"));
	raw(b, "</td><td>");
	if (str(v, "expires") != NULL)
		esc(b, str(v, "expires"));
	else
		raw(b, T("toistaiseksi", "open-ended"));
	raw(b, "</td></tr>\n");
}

static void values_head(hbuf *b)
{
	raw(b, "<table>\n<thead><tr><th>");
	raw(b, T("Tieto", "Datum"));
	raw(b, "</th><th>");
	raw(b, T("Arvo", "Value"));
	raw(b, "</th><th>");
	raw(b, T("Tarkoitukset", "Purposes"));
	raw(b, "</th><th>");
	raw(b, T("Peruste", "Legal basis"));
	raw(b, "</th><th>");
	raw(b, T("Lähde", "Source"));
	raw(b, "</th><th>");
	raw(b, T("Kerätty", "Collected"));
	raw(b, "</th><th>");
	raw(b, T("Vahvistettu", "Confirmed"));
	raw(b, "</th><th>");
	raw(b, T("Säilytetään asti", "Kept until"));
	raw(b, "</th></tr></thead>\n<tbody>\n");
}

static void values(hbuf *b)
{
	const json_t *vals = json_object_get(b->doc, "values");
	const json_t *cats = json_object_get(b->doc, "categories"), *c, *v;
	size_t i, k, shown = 0;

	raw(b, "<section>\n<h2>");
	raw(b, T("Perustiedot", "Basic data"));
	raw(b, "</h2>\n<p class=\"note\">");
	raw(b, T("Tarkoitukset viittaavat yllä lueteltuihin "
		 "käyttötarkoituksiin ja lähteet (L) tietolähteisiin. "
		 "Säilytysaika, joka lasketaan asiakkuuden päättymisestä, "
		 "on auki asiakkuuden jatkuessa.",
		 "Purposes refer to the numbered purposes above and sources "
		 "(S) to the sources of data. A retention period that runs "
		 "from the end of the relationship stays open while it goes "
		 "on."));
	raw(b, "</p>\n");
	/* by category, in the order of the policy; values of a field the
	 * policy no longer declares come last */
	json_array_foreach(cats, k, c)
	{
		const char *cn = str(c, "name");

		raw(b, "<h3>");
		label_or_name(b, c, "name");
		raw(b, "</h3>\n");
		values_head(b);
		json_array_foreach(vals, i, v)
		{
			const char *vc = str(v, "category");
			if (vc != NULL && cn != NULL && strcmp(vc, cn) == 0) {
				value_row(b, v);
				shown++;
			}
		}
		raw(b, "</tbody>\n</table>\n");
	}
	if (shown < json_array_size(vals)) {
		raw(b, "<h3>");
		raw(b, T("Muut tiedot", "Other data"));
		raw(b, "</h3>\n");
		values_head(b);
		json_array_foreach(vals, i, v)
		{
			if (item_named(cats, str(v, "category")) == NULL)
				value_row(b, v);
		}
		raw(b, "</tbody>\n</table>\n");
	}
	if (json_array_size(vals) == 0) {
		raw(b, "<p class=\"note\">");
		raw(b, T("Ei tallennettuja perustietoja.",
			 "No basic data is stored."));
		raw(b, "</p>\n");
	}
	raw(b, "</section>\n");
}

/* Whether record r has the same purposes, basis and source as first. */
static int same_basis(const json_t *r, const json_t *first)
{
	const char *b1 = str(r, "legal_basis"), *b2 = str(first, "legal_basis");
	const char *s1 = str(r, "source"), *s2 = str(first, "source");

	return json_equal(json_object_get(r, "purposes"),
			  json_object_get(first, "purposes")) &&
	       b1 != NULL && b2 != NULL && strcmp(b1, b2) == 0 && s1 != NULL &&
	       s2 != NULL && strcmp(s1, s2) == 0;
}

static void basis_cells(hbuf *b, const json_t *r)
{
	raw(b, "<td>");
	purpose_refs(b, json_object_get(r, "purposes"));
	raw(b, "</td><td>");
	basis_text(b, r);
	raw(b, "</td><td>");
	source_ref(b, str(r, "source"));
	raw(b, "</td>");
}

/* The records of one type as one table. */
static void record_table(hbuf *b, const char *type)
{
	const json_t *recs = json_object_get(b->doc, "records"), *r, *f;
	const json_t *first = NULL, *fields;
	const char *cols[COLUMNS_MAX];
	const char *labels[COLUMNS_MAX];
	size_t ncols = 0, i, j, k;
	int uniform = 1;

	/* the columns: every field any record of the type has */
	for (i = 0; i < json_array_size(recs); i++) {
		const json_t *fl;

		r = json_array_get(recs, i);
		if (str(r, "type") == NULL || strcmp(str(r, "type"), type) != 0)
			continue;
		if (first == NULL)
			first = r;
		else if (!same_basis(r, first))
			uniform = 0;
		fl = json_object_get(r, "fields");
		for (j = 0; j < json_array_size(fl); j++) {
			const char *n = str(json_array_get(fl, j), "name");
			int known = 0;

			for (k = 0; n != NULL && k < ncols; k++)
				known |= strcmp(cols[k], n) == 0;
			if (n != NULL && !known && ncols < COLUMNS_MAX) {
				cols[ncols] = n;
				labels[ncols++] =
					str(json_array_get(fl, j), "label");
			}
		}
	}
	if (first == NULL)
		return;
	raw(b, "<h3>");
	label_or_name(b, first, "type");
	raw(b, "</h3>\n");
	if (uniform) {
		raw(b, "<p class=\"note\">");
		raw(b, T("Tarkoitukset: ", "Purposes: "));
		purpose_refs(b, json_object_get(first, "purposes"));
		raw(b, T(". Peruste: ", ". Legal basis: "));
		basis_text(b, first);
		raw(b, T(". Lähde: ", ". Source: "));
		source_ref(b, str(first, "source"));
		raw(b, ".</p>\n");
	}
	raw(b, "<table>\n<thead><tr><th>");
	raw(b, T("Nro", "No."));
	raw(b, "</th><th>");
	raw(b, T("Tallennettu", "Stored"));
	raw(b, "</th>");
	for (k = 0; k < ncols; k++) {
		raw(b, "<th>");
		esc(b, labels[k] != NULL ? labels[k] : cols[k]);
		raw(b, "</th>");
	}
	if (!uniform) {
		raw(b, "<th>");
		raw(b, T("Tarkoitukset", "Purposes"));
		raw(b, "</th><th>");
		raw(b, T("Peruste", "Legal basis"));
		raw(b, "</th><th>");
		raw(b, T("Lähde", "Source"));
		raw(b, "</th>");
	}
	raw(b, "<th>");
	raw(b, T("Liite", "Attachment"));
	raw(b, "</th><th>");
	raw(b, T("Säilytetään asti", "Kept until"));
	raw(b, "</th></tr></thead>\n<tbody>\n");
	json_array_foreach(recs, i, r)
	{
		const char *t = str(r, "type");
		const json_t *att = json_object_get(r, "attachment");

		if (t == NULL || strcmp(t, type) != 0)
			continue;
		raw(b, "<tr><td>");
		num(b, (long long)json_integer_value(json_object_get(r, "id")));
		raw(b, "</td><td>");
		when(b, str(r, "created_at"));
		raw(b, "</td>");
		fields = json_object_get(r, "fields");
		for (k = 0; k < ncols; k++) {
			const json_t *val = NULL;
			json_array_foreach(fields, j, f)
			{
				const char *n = str(f, "name");
				if (n != NULL && strcmp(n, cols[k]) == 0)
					val = json_object_get(f, "value");
			}
			raw(b, "<td class=\"v\">");
			if (val != NULL)
				value_text(b, val);
			raw(b, "</td>");
		}
		if (!uniform)
			basis_cells(b, r);
		raw(b, "<td>");
		if (json_is_object(att)) {
			esc(b, str(att, "media_type"));
			raw(b, ", ");
			num(b, (long long)json_integer_value(
				       json_object_get(att, "size")));
			raw(b, T(" tavua (", " bytes ("));
			esc(b, str(att, "file"));
			raw(b, ")");
		} else {
			raw(b, "&ndash;");
		}
		raw(b, "</td><td>");
		if (str(r, "expires") != NULL)
			esc(b, str(r, "expires"));
		else
			raw(b, T("toistaiseksi", "open-ended"));
		raw(b, "</td></tr>\n");
	}
	raw(b, "</tbody>\n</table>\n");
}

static void records(hbuf *b)
{
	const json_t *recs = json_object_get(b->doc, "records"), *r, *q;
	size_t i, j;

	raw(b, "<section>\n<h2>");
	raw(b, T("Asiakkuuteen liittyvät tiedot", "Relationship data"));
	raw(b, "</h2>\n");
	if (json_array_size(recs) == 0) {
		raw(b, "<p class=\"note\">");
		raw(b,
		    T("Ei tallennettuja tietoja.", "No such data is stored."));
		raw(b, "</p>\n");
	}
	/* one table per type, in the order each type first appears */
	json_array_foreach(recs, i, r)
	{
		const char *t = str(r, "type");
		int seen = 0;

		for (j = 0; j < i && !seen && t != NULL; j++) {
			q = json_array_get(recs, j);
			seen = str(q, "type") != NULL &&
			       strcmp(str(q, "type"), t) == 0;
		}
		if (!seen && t != NULL)
			record_table(b, t);
	}
	raw(b, "</section>\n");
}

static void ledger(hbuf *b)
{
	const json_t *l = json_object_get(b->doc, "ledger"), *e;
	size_t i;

	raw(b, "<section>\n<h2>");
	raw(b, T("Suostumukset ja kiellot", "Consents and objections"));
	raw(b, "</h2>\n<p class=\"note\">");
	raw(b, T("Kaikki annetut ja peruutetut suostumukset sekä kiellot "
		 "aikajärjestyksessä; viimeisin merkintä on voimassa.",
		 "Every consent and objection given and withdrawn, in order; "
		 "the latest entry is the one in force."));
	raw(b, "</p>\n");
	if (json_array_size(l) == 0) {
		raw(b, "<p class=\"note\">");
		raw(b, T("Ei merkintöjä.", "No entries."));
		raw(b, "</p>\n</section>\n");
		return;
	}
	raw(b, "<table>\n<thead><tr><th>");
	raw(b, T("Aika", "Time"));
	raw(b, "</th><th>");
	raw(b, T("Laji", "Kind"));
	raw(b, "</th><th>");
	raw(b, T("Koskee", "Concerns"));
	raw(b, "</th><th>");
	raw(b, T("Tila", "State"));
	raw(b, "</th><th>");
	raw(b, T("Kanava", "Channel"));
	raw(b, "</th><th>");
	raw(b, T("Selosteen versio", "Notice version"));
	raw(b, "</th><th>");
	raw(b, T("Lisätieto", "Evidence"));
	raw(b, "</th></tr></thead>\n<tbody>\n");
	json_array_foreach(l, i, e)
	{
		const char *kind = str(e, "kind");
		int obj = kind != NULL && strcmp(kind, "objection") == 0;
		int given = json_is_true(json_object_get(e, "given"));
		/* a thing the register did (a cookie reset), not a state */
		int reset = kind != NULL && strcmp(kind, "action") == 0;

		raw(b, "<tr><td>");
		when(b, str(e, "at"));
		raw(b, "</td><td>");
		raw(b, reset ? T("toimenpide", "action")
		       : obj ? T("kielto tai vastustus", "objection")
			     : T("suostumus", "consent"));
		raw(b, "</td><td>");
		label_or_name(b, e, "scope");
		raw(b, "</td><td>");
		if (reset)
			raw(b, T("tehty", "done"));
		else if (obj)
			raw(b, given ? T("voimassa", "in force")
				     : T("poistettu", "lifted"));
		else
			raw(b, given ? T("annettu", "given")
				     : T("peruutettu", "withdrawn"));
		raw(b, "</td>");
		cell(b, str(e, "channel"));
		raw(b, "<td>");
		num(b, (long long)json_integer_value(
			       json_object_get(e, "notice_version")));
		raw(b, "</td><td class=\"v\">");
		esc(b, str(e, "evidence"));
		raw(b, "</td></tr>\n");
	}
	raw(b, "</tbody>\n</table>\n</section>\n");
}

/* The disclosure log's lines of the subject: what went to whom, when and
 * why (disclose.c). */
static void disclosures(hbuf *b)
{
	const json_t *l = json_object_get(b->doc, "disclosures"), *e;
	size_t i;

	raw(b, "<section>\n<h2>");
	raw(b, T("Luovutukset", "Disclosures"));
	raw(b, "</h2>\n");
	if (json_array_size(l) == 0) {
		raw(b, "<p class=\"note\">");
		raw(b, T("Tietojasi ei ole luovutettu.",
			 "Your data has not been disclosed."));
		raw(b, "</p>\n</section>\n");
		return;
	}
	raw(b, "<table>\n<thead><tr><th>");
	raw(b, T("Aika", "Time"));
	raw(b, "</th><th>");
	raw(b, T("Vastaanottaja", "Recipient"));
	raw(b, "</th><th>");
	raw(b, T("Maa", "Country"));
	raw(b, "</th><th>");
	raw(b, T("Tarkoitus", "Purpose"));
	raw(b, "</th><th>");
	raw(b, T("Tiedot", "Data"));
	raw(b, "</th><th>");
	raw(b, T("Peruste", "Ground"));
	raw(b, "</th></tr></thead>\n<tbody>\n");
	json_array_foreach(l, i, e)
	{
		const json_t *names[2] = {json_object_get(e, "fields"),
					  json_object_get(e, "record_types")};
		const json_t *n;
		size_t k, j;
		int first = 1;

		raw(b, "<tr>");
		cell(b, str(e, "at"));
		cell(b, str(e, "recipient_label") != NULL
				? str(e, "recipient_label")
				: str(e, "recipient"));
		cell(b, str(e, "country"));
		cell(b, str(e, "purpose"));
		raw(b, "<td>");
		for (k = 0; k < 2; k++)
			json_array_foreach(names[k], j, n)
			{
				if (!first)
					raw(b, ", ");
				first = 0;
				esc(b, json_string_value(n));
			}
		raw(b, "</td><td>");
		esc(b, str(e, "legal_ground") != NULL ? str(e, "legal_ground")
						      : str(e, "basis"));
		raw(b, "</td></tr>\n");
	}
	raw(b, "</tbody>\n</table>\n</section>\n");
}

static void recipients(hbuf *b)
{
	const json_t *l = json_object_get(b->doc, "recipients"), *e;
	size_t i;

	raw(b, "<section>\n<h2>");
	raw(b, T("Vastaanottajat", "Recipients"));
	raw(b, "</h2>\n<p class=\"note\">");
	raw(b, T("Vastaanottajat tai vastaanottajaryhmät, joille tietoja "
		 "voidaan luovuttaa tai jotka käsittelevät niitä "
		 "rekisterinpitäjän lukuun niihin tarkoituksiin, joita "
		 "sinusta tallennetut tiedot palvelevat.",
		 "The recipients or categories of recipients to whom the data "
		 "may be disclosed or who process it on the controller's "
		 "behalf, for the purposes that the data held about you "
		 "serves."));
	raw(b, "</p>\n");
	if (json_array_size(l) == 0) {
		raw(b, "<p class=\"note\">");
		raw(b, T("Ei vastaanottajia.", "No recipients."));
		raw(b, "</p>\n</section>\n");
		return;
	}
	raw(b, "<table>\n<thead><tr><th>");
	raw(b, T("Vastaanottaja", "Recipient"));
	raw(b, "</th><th>");
	raw(b, T("Rooli", "Role"));
	raw(b, "</th><th>");
	raw(b, T("Maa", "Country"));
	raw(b, "</th><th>");
	raw(b, T("Siirto EU:n tai ETA:n ulkopuolelle",
		 "Transfer outside the EU or EEA"));
	raw(b, "</th><th>");
	raw(b, T("Tarkoitukset", "Purposes"));
	raw(b, "</th></tr></thead>\n<tbody>\n");
	json_array_foreach(l, i, e)
	{
		const char *kind = str(e, "kind"), *sg = str(e, "safeguard");

		raw(b, "<tr><td>");
		label_or_name(b, e, "name");
		if (str(e, "description") != NULL) {
			raw(b, "<br><span class=\"note\">");
			esc(b, str(e, "description"));
			raw(b, "</span>");
		}
		raw(b, "</td><td>");
		if (kind != NULL && strcmp(kind, "processor") == 0)
			raw(b, T("henkilötietojen käsittelijä", "processor"));
		else if (kind != NULL && strcmp(kind, "authority") == 0)
			raw(b, T("viranomainen", "public authority"));
		else
			raw(b, T("kolmas osapuoli", "third party"));
		raw(b, "</td>");
		cell(b, str(e, "country"));
		raw(b, "<td>");
		if (!json_is_true(json_object_get(e, "outside_eea")))
			raw(b, T("ei", "no"));
		else if (sg != NULL && strcmp(sg, "scc") == 0)
			raw(b, T("kyllä; suojatoimena EU:n "
				 "vakiosopimuslausekkeet (46 artikla)",
				 "yes; safeguarded by the EU standard "
				 "contractual clauses (Article 46)"));
		else if (sg != NULL && strcmp(sg, "bcr") == 0)
			raw(b, T("kyllä; suojatoimena yritystä koskevat "
				 "sitovat säännöt (47 artikla)",
				 "yes; safeguarded by binding corporate rules "
				 "(Article 47)"));
		else if (sg != NULL && strcmp(sg, "adequacy") == 0)
			raw(b, T("kyllä; komission "
				 "tietosuojan riittävyyttä koskeva päätös "
				 "(45 artikla)",
				 "yes; under an adequacy decision of the "
				 "Commission (Article 45)"));
		else
			raw(b, T("kyllä", "yes"));
		raw(b, "</td><td>");
		purpose_refs(b, json_object_get(e, "purposes"));
		raw(b, "</td></tr>\n");
	}
	raw(b, "</tbody>\n</table>\n<p class=\"note\">");
	raw(b, T("Luovutusloki, joka yksilöisi sinua koskevat yksittäiset "
		 "luovutukset, ei vielä sisälly tähän selvitykseen.",
		 "A log of the individual disclosures about you is not yet "
		 "part of this report."));
	raw(b, "</p>\n</section>\n");
}

static void names_of(hbuf *b, const json_t *names, const json_t *list, int *any)
{
	const json_t *e;
	size_t i;

	json_array_foreach(names, i, e)
	{
		const json_t *it = NULL, *rec;
		size_t k;

		if (*any)
			raw(b, "; ");
		*any = 1;
		if (list != NULL) {
			it = item_named(list, json_string_value(e));
		} else {
			/* a record type: its label from one of its records */
			json_array_foreach(json_object_get(b->doc, "records"),
					   k, rec)
			{
				if (str(rec, "type") != NULL &&
				    json_string_value(e) != NULL &&
				    strcmp(str(rec, "type"),
					   json_string_value(e)) == 0) {
					it = rec;
					break;
				}
			}
		}
		if (it != NULL && str(it, "label") != NULL)
			esc(b, str(it, "label"));
		else
			esc(b, json_string_value(e));
	}
}

static void retention(hbuf *b)
{
	const json_t *l = json_object_get(b->doc, "retention"), *e;
	size_t i;

	raw(b, "<section>\n<h2>");
	raw(b, T("Säilytysajat", "Retention periods"));
	raw(b, "</h2>\n<table>\n<thead><tr><th>");
	raw(b, T("Säilytysaika", "Retention period"));
	raw(b, "</th><th>");
	raw(b, T("Koskee", "Applies to"));
	raw(b, "</th><th>");
	raw(b, T("Lakisääteinen", "Required by law"));
	raw(b, "</th></tr></thead>\n<tbody>\n");
	json_array_foreach(l, i, e)
	{
		int any = 0;

		raw(b, "<tr><td>");
		label_or_name(b, e, "rule");
		if (str(e, "description") != NULL) {
			raw(b, "<br><span class=\"note\">");
			esc(b, str(e, "description"));
			raw(b, "</span>");
		}
		raw(b, "</td><td>");
		names_of(b, json_object_get(e, "categories"),
			 json_object_get(b->doc, "categories"), &any);
		names_of(b, json_object_get(e, "record_types"), NULL, &any);
		raw(b, "</td><td>");
		raw(b, json_is_true(json_object_get(e, "legal_hold"))
			       ? T("kyllä", "yes")
			       : T("ei", "no"));
		raw(b, "</td></tr>\n");
	}
	raw(b, "</tbody>\n</table>\n</section>\n");
}

static void rights(hbuf *b)
{
	const json_t *l = json_object_get(b->doc, "rights"), *e;
	const json_t *sa = json_object_get(b->doc, "supervisory_authority");
	size_t i;

	raw(b, "<section>\n<h2>");
	raw(b, T("Oikeutesi", "Your rights"));
	raw(b, "</h2>\n<dl class=\"rights\">\n");
	json_array_foreach(l, i, e)
	{
		raw(b, "<dt>");
		esc(b, str(e, "title"));
		raw(b, "</dt><dd>");
		esc(b, str(e, "text"));
		raw(b, "</dd>\n");
	}
	raw(b, "</dl>\n<h3>");
	raw(b, T("Valvontaviranomainen", "Supervisory authority"));
	raw(b, "</h3>\n");
	if (json_is_object(sa)) {
		raw(b, "<table class=\"kv\">\n");
		kv(b, T("Nimi", "Name"), str(sa, "name"));
		kv(b, T("Osoite", "Address"), str(sa, "address"));
		if (str(sa, "url") != NULL)
			kv(b, T("Verkkosivut", "Web site"), str(sa, "url"));
		raw(b, "</table>\n");
	} else {
		raw(b, "<p class=\"note\">");
		raw(b,
		    T("Rekisterinpitäjä ei ole nimennyt valvontaviranomaista "
		      "tietosuojaselosteessaan; valituksen voi tehdä "
		      "asuin- tai työpaikkasi jäsenvaltion "
		      "valvontaviranomaiselle.",
		      "The controller's privacy notice names no supervisory "
		      "authority; a complaint may be lodged with the "
		      "authority of the member state where you live or "
		      "work."));
		raw(b, "</p>\n");
	}
	raw(b, "<p>");
	raw(b, T("Pyynnöt tietojesi käytöstä voit osoittaa yllä mainitulle "
		 "yhteyshenkilölle.",
		 "Requests concerning your data may be addressed to the "
		 "contact person named above."));
	raw(b, "</p>\n</section>\n");
}

static void footer(hbuf *b)
{
	raw(b, "<footer>");
	raw(b, T("Koneluettava versio tästä selvityksestä on saatavissa "
		 "JSON-muodossa (skeema ",
		 "A machine-readable version of this report is available as "
		 "JSON (schema "));
	esc(b, str(b->doc, "schema"));
	raw(b, T(", versio ", ", version "));
	num(b,
	    (long long)json_integer_value(json_object_get(b->doc, "version")));
	raw(b, ").</footer>\n</body>\n</html>\n");
}

rk_status export_html_render(const json_t *doc, int en, char **out)
{
	hbuf hb;
	hbuf *b = &hb;

	*out = NULL;
	memset(&hb, 0, sizeof hb);
	hb.english = en;
	hb.doc = doc;
	head(b);
	controller(b);
	subject(b);
	named_section(b, "purposes",
		      T("Käsittelyn tarkoitukset", "Purposes of processing"),
		      T("Tarkoitukset, joita sinusta tallennetut tiedot "
			"palvelevat:",
			"The purposes that the data held about you serves:"),
		      NULL);
	named_section(b, "categories", T("Tietoryhmät", "Categories of data"),
		      T("Sinusta tallennettujen perustietojen ryhmät:",
			"The categories of basic data held about you:"),
		      NULL);
	named_section(b, "sources", T("Tietolähteet", "Sources of the data"),
		      T("Mistä sinusta tallennetut tiedot on saatu:",
			"Where the data held about you came from:"),
		      T("L", "S"));
	values(b);
	records(b);
	ledger(b);
	recipients(b);
	disclosures(b);
	retention(b);
	rights(b);
	footer(b);
	*out = hb_take(&hb.h);
	return *out != NULL ? RK_OK : RK_ESYS;
}
