/*
 * notice.c: the privacy notice (rekisteriseloste) rendered from the policy,
 * as plain text, Markdown or one self-contained HTML page, in Finnish or
 * English, and the stored notice versions it is rendered from.
 *
 * The notice is first laid out as a list of blocks (title, chapter and
 * sub-headings, paragraphs, list items) and then written in the format
 * asked for, so the three formats say the same thing in the same order.
 * The prose is the policy's: its notice sections in order, each followed
 * by the list its key names (docs/policy.md); the only words of this file
 * are the fixed headings and the lead-ins of generated parts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "htmlbuf.h"
#include "integrity.h"
#include "notice.h"

#define META_VERSION_MAC "policy_mac_v"
#define CTX_VERSION	 "rk-policy-version-v1"
#define BASES_MAX	 64

typedef enum nb_kind { NB_TITLE, NB_H2, NB_H3, NB_P, NB_LI } nb_kind;

typedef struct nblock {
	nb_kind kind;
	char *text;
} nblock;

typedef struct ndoc {
	nblock *b;
	size_t n, cap;
	int oom;
	int en;
	int chapter; /* the number of the last chapter heading */
	const policy *p;
} ndoc;

#define T(fi_, en_) (d->en ? (en_) : (fi_))

static const char *tx(const ndoc *d, const pol_text *t)
{
	return d->en ? t->en : t->fi;
}

static void add(ndoc *d, nb_kind kind, const char *text)
{
	nblock *nb;
	size_t len;

	if (d->oom || text == NULL)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		nb = realloc(d->b, cap * sizeof *nb);
		if (nb == NULL) {
			d->oom = 1;
			return;
		}
		d->b = nb;
		d->cap = cap;
	}
	len = strlen(text);
	d->b[d->n].text = malloc(len + 1);
	if (d->b[d->n].text == NULL) {
		d->oom = 1;
		return;
	}
	memcpy(d->b[d->n].text, text, len + 1);
	d->b[d->n].kind = kind;
	d->n++;
}

__attribute__((format(printf, 3, 4))) static void addf(ndoc *d, nb_kind kind,
						       const char *fmt, ...)
{
	va_list ap;
	char *buf;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		d->oom = 1;
		return;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL) {
		d->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, (size_t)n + 1, fmt, ap);
	va_end(ap);
	add(d, kind, buf);
	free(buf);
}

static void chapter(ndoc *d, const char *title)
{
	addf(d, NB_H2, "%d. %s", ++d->chapter, title);
}

/* A text's paragraphs (separated by a blank line) as paragraphs. */
static void paras(ndoc *d, const char *s)
{
	const char *end;

	while (s != NULL && *s != '\0') {
		end = strstr(s, "\n\n");
		if (end == NULL) {
			add(d, NB_P, s);
			return;
		}
		if (end > s)
			addf(d, NB_P, "%.*s", (int)(end - s), s);
		s = end + 2;
	}
}

static void doc_free(ndoc *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->b[i].text);
	free(d->b);
}

/* ---- the generated lists ---- */

/* EU and EEA member states: a recipient elsewhere is a transfer to a
 * third country (GDPR Chapter V). */
static int in_eea(const char *cc)
{
	static const char *const eea[] = {
		"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR",
		"DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL",
		"PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"};
	for (size_t i = 0; i < sizeof eea / sizeof *eea; i++)
		if (strcmp(cc, eea[i]) == 0)
			return 1;
	return 0;
}

static const char *safeguard_text(const ndoc *d, const char *sg)
{
	if (sg == NULL)
		return T("ei suojatoimia", "no safeguards");
	if (strcmp(sg, "scc") == 0)
		return T("Euroopan komission hyväksymät vakiosopimuslausekkeet",
			 "standard contractual clauses approved by the "
			 "European Commission");
	if (strcmp(sg, "bcr") == 0)
		return T("sitovat yrityssäännöt", "binding corporate rules");
	if (strcmp(sg, "adequacy") == 0)
		return T("Euroopan komission tietosuojan riittävyyttä koskeva "
			 "päätös",
			 "an adequacy decision of the European Commission");
	return sg;
}

static void list_purposes(ndoc *d)
{
	for (size_t i = 0; i < d->p->npurposes; i++)
		add(d, NB_LI, tx(d, &d->p->purposes[i].label));
}

static void list_bases(ndoc *d)
{
	const policy *p = d->p;
	size_t i, k, n, b[BASES_MAX];
	int any = 0;

	for (i = 0; i < p->nbases; i++)
		if (p->bases[i].gdpr != NULL)
			addf(d, NB_LI, "%s (%s %s)", tx(d, &p->bases[i].label),
			     T("tietosuoja-asetuksen artikla", "GDPR Article"),
			     p->bases[i].gdpr);
		else
			add(d, NB_LI, tx(d, &p->bases[i].label));
	/* Art. 13(1)(c): the basis of each purpose, from the data that
	 * serves it. */
	add(d, NB_H3,
	    T("Oikeusperusteet käyttötarkoituksittain",
	      "Legal bases by purpose"));
	for (i = 0; i < p->npurposes; i++) {
		char buf[2048];
		size_t at = 0;

		n = policy_purpose_bases(p, i, b, BASES_MAX);
		buf[0] = '\0';
		for (k = 0; k < n; k++) {
			int w = snprintf(buf + at, sizeof buf - at, "%s%s",
					 k ? ", " : "",
					 tx(d, &p->bases[b[k]].label));
			if (w < 0 || (size_t)w >= sizeof buf - at)
				break;
			at += (size_t)w;
		}
		addf(d, NB_LI, "%s: %s", tx(d, &p->purposes[i].label),
		     n ? buf
		       : T("oikeusperustetta ei ole ilmoitettu",
			   "no legal basis stated"));
	}
	for (i = 0; i < p->nbases; i++) {
		if (p->bases[i].interests.fi == NULL)
			continue;
		if (!any)
			add(d, NB_H3,
			    T("Oikeutetut etumme", "Our legitimate interests"));
		any = 1;
		paras(d, tx(d, &p->bases[i].interests));
	}
}

static void list_categories(ndoc *d)
{
	const policy *p = d->p;

	for (size_t i = 0; i < p->ncategories; i++)
		if (p->categories[i].description.fi != NULL)
			addf(d, NB_LI, "%s: %s", tx(d, &p->categories[i].label),
			     tx(d, &p->categories[i].description));
		else
			add(d, NB_LI, tx(d, &p->categories[i].label));
}

static const char *rt_text(const ndoc *d, const pol_record_type *rt)
{
	return rt->description.fi != NULL ? tx(d, &rt->description)
					  : tx(d, &rt->label);
}

static void list_record_types(ndoc *d)
{
	const policy *p = d->p;
	size_t i, k;

	for (i = 0; i < p->nrecord_types; i++) {
		size_t len = 0;
		char *item;

		if (p->record_types[i].notice_with != POL_NONE)
			continue; /* listed with the type it names */
		len = strlen(rt_text(d, &p->record_types[i])) + 1;
		for (k = i + 1; k < p->nrecord_types; k++)
			if (p->record_types[k].notice_with == i)
				len += strlen(rt_text(d, &p->record_types[k])) +
				       32;
		item = malloc(len);
		if (item == NULL) {
			d->oom = 1;
			return;
		}
		snprintf(item, len, "%s", rt_text(d, &p->record_types[i]));
		for (k = i + 1; k < p->nrecord_types; k++)
			if (p->record_types[k].notice_with == i) {
				size_t at = strlen(item);
				snprintf(item + at, len - at, "%s%s",
					 T(", sekä ", ", as well as "),
					 rt_text(d, &p->record_types[k]));
			}
		add(d, NB_LI, item);
		free(item);
	}
}

static void list_sources(ndoc *d)
{
	for (size_t i = 0; i < d->p->nsources; i++)
		add(d, NB_LI, tx(d, &d->p->sources[i].label));
}

static void list_recipients(ndoc *d, int processors)
{
	const policy *p = d->p;

	for (size_t i = 0; i < p->nrecipients; i++) {
		const pol_recipient *rc = &p->recipients[i];
		if ((rc->kind == RCP_PROCESSOR) != processors)
			continue;
		addf(d, NB_LI, "%s (%s)", tx(d, &rc->label), rc->country);
	}
}

static void list_transfers(ndoc *d)
{
	const policy *p = d->p;

	for (size_t i = 0; i < p->nrecipients; i++) {
		const pol_recipient *rc = &p->recipients[i];
		if (in_eea(rc->country))
			continue;
		addf(d, NB_LI, "%s: %s %s, %s", tx(d, &rc->label),
		     T("maa", "country"), rc->country,
		     safeguard_text(d, rc->safeguard));
	}
}

static void list_retention(ndoc *d)
{
	const policy *p = d->p;

	for (size_t i = 0; i < p->nretention; i++)
		if (p->retention[i].criteria.fi != NULL)
			addf(d, NB_LI, "%s: %s", tx(d, &p->retention[i].label),
			     tx(d, &p->retention[i].criteria));
		else
			add(d, NB_LI, tx(d, &p->retention[i].label));
}

/* The list a section's key names, if any. */
static void section_list(ndoc *d, const char *key)
{
	if (strcmp(key, "purposes") == 0)
		list_purposes(d);
	else if (strcmp(key, "legal_bases") == 0)
		list_bases(d);
	else if (strcmp(key, "basic_data") == 0)
		list_categories(d);
	else if (strcmp(key, "relationship_data") == 0)
		list_record_types(d);
	else if (strcmp(key, "sources") == 0)
		list_sources(d);
	else if (strcmp(key, "disclosures") == 0)
		list_recipients(d, 0);
	else if (strcmp(key, "processors") == 0)
		list_recipients(d, 1);
	else if (strcmp(key, "transfers") == 0)
		list_transfers(d);
	else if (strcmp(key, "retention") == 0)
		list_retention(d);
}

/* The rights the policy states, then the right to complain. */
static void rights(ndoc *d)
{
	static const char *const fi[PR_COUNT] = {
		"Oikeus tarkastaa tiedot",
		"Oikeus tietojen oikaisemiseen",
		"Oikeus tietojen poistamiseen",
		"Oikeus käsittelyn rajoittamiseen",
		"Oikeus siirtää tiedot järjestelmästä toiseen",
		"Oikeus vastustaa käsittelyä",
		"Oikeus peruuttaa suostumus"};
	static const char *const en[PR_COUNT] = {
		"Right of access",
		"Right to rectification",
		"Right to erasure",
		"Right to restriction of processing",
		"Right to data portability",
		"Right to object",
		"Right to withdraw consent"};
	const policy *p = d->p;

	for (size_t i = 0; i < PR_COUNT; i++) {
		if (p->rights[i].fi == NULL)
			continue;
		add(d, NB_H3, d->en ? en[i] : fi[i]);
		paras(d, tx(d, &p->rights[i]));
	}
	if (!p->supervisory.present)
		return;
	add(d, NB_H3,
	    T("Oikeus tehdä valitus valvontaviranomaiselle",
	      "Right to lodge a complaint with a supervisory authority"));
	addf(d, NB_P, "%s%s, %s%s%s.",
	     T("Jos katsot, että henkilötietojesi käsittelyssä rikotaan "
	       "tietosuoja-asetusta, sinulla on oikeus tehdä valitus "
	       "valvontaviranomaiselle: ",
	       "If you consider that the processing of your personal data "
	       "infringes the General Data Protection Regulation, you have "
	       "the right to lodge a complaint with the supervisory "
	       "authority: "),
	     tx(d, &p->supervisory.name), p->supervisory.address,
	     p->supervisory.url ? ", " : "",
	     p->supervisory.url ? p->supervisory.url : "");
}

static int has_rights(const policy *p)
{
	for (size_t i = 0; i < PR_COUNT; i++)
		if (p->rights[i].fi != NULL)
			return 1;
	return p->supervisory.present;
}

/* "Name" ends as a sentence. */
static void sentence(ndoc *d, const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && strchr(".!?", s[n - 1]) != NULL)
		add(d, NB_P, s);
	else
		addf(d, NB_P, "%s.", s);
}

static void layout(ndoc *d, int version, int64_t stored)
{
	const policy *p = d->p;
	int rights_done = 0;

	add(d, NB_TITLE, T("Rekisteriseloste", "Privacy notice"));
	chapter(d, T("Rekisterinpitäjä", "Controller"));
	add(d, NB_P, p->controller.name);
	add(d, NB_P, p->controller.address);
	addf(d, NB_P, "%s %s", T("Y-tunnus", "Business ID"),
	     p->controller.business_id);
	if (p->controller.email != NULL)
		add(d, NB_P, p->controller.email);
	chapter(d, T("Rekisteriasioista vastaa henkilö",
		     "Person responsible for register matters"));
	add(d, NB_P, p->responsible.name);
	add(d, NB_P, p->responsible.email);
	chapter(d, T("Rekisterin nimi", "Name of the register"));
	sentence(d, tx(d, &p->register_name));
	for (size_t i = 0; i < p->nsections; i++) {
		const pol_section *s = &p->sections[i];
		const char *body = s->body.fi ? tx(d, &s->body) : NULL;

		if (s->subsection) {
			add(d, NB_H3, tx(d, &s->title));
			paras(d, body);
		} else if (s->chapter.fi != NULL) {
			chapter(d, tx(d, &s->chapter));
			paras(d, body);
			add(d, NB_H3, tx(d, &s->title));
		} else {
			chapter(d, tx(d, &s->title));
			paras(d, body);
		}
		if (strcmp(s->key, "rights") == 0) {
			rights(d);
			rights_done = 1;
		} else {
			section_list(d, s->key);
		}
	}
	if (!rights_done && has_rights(p)) {
		chapter(d, T("Rekisteröidyn oikeudet", "Your rights"));
		rights(d);
	}
	if (version > 0) {
		char day[11] = "";
		time_t t = (time_t)stored;
		struct tm tm;

		if (gmtime_r(&t, &tm) != NULL)
			strftime(day, sizeof day, "%Y-%m-%d", &tm);
		addf(d, NB_P, "%s %d, %s.",
		     T("Tietosuojaselosteen versio", "Privacy notice version"),
		     version, day);
	}
}

/* ---- writing the blocks ---- */

/* Text for a terminal or a file: control characters become spaces. */
static void put_plain(htmlbuf *o, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			hb_put(o, run, (size_t)(s - run));
			hb_raw(o, " ");
			run = s + 1;
		}
	hb_put(o, run, (size_t)(s - run));
}

/* Markdown: the characters that would make markup are escaped. */
static void put_md(htmlbuf *o, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			hb_put(o, run, (size_t)(s - run));
			hb_raw(o, " ");
			run = s + 1;
		} else if (strchr("\\`*_[]<>#|~&", *s) != NULL) {
			hb_put(o, run, (size_t)(s - run));
			hb_raw(o, "\\");
			run = s;
		}
	}
	hb_put(o, run, (size_t)(s - run));
}

static void write_text(htmlbuf *o, const ndoc *d, int md)
{
	void (*put)(htmlbuf *, const char *) = md ? put_md : put_plain;

	for (size_t i = 0; i < d->n; i++) {
		const nblock *b = &d->b[i];
		int next_li = i + 1 < d->n && d->b[i + 1].kind == NB_LI;

		switch (b->kind) {
		case NB_TITLE:
			hb_raw(o, md ? "# " : "");
			put(o, b->text);
			hb_raw(o, md ? "\n\n" : "\n\n\n");
			break;
		case NB_H2:
			hb_raw(o, md ? "## " : "");
			put(o, b->text);
			hb_raw(o, "\n\n");
			break;
		case NB_H3:
			hb_raw(o, md ? "### " : "");
			put(o, b->text);
			hb_raw(o, "\n\n");
			break;
		case NB_P:
			put(o, b->text);
			hb_raw(o, "\n\n");
			break;
		case NB_LI:
			hb_raw(o, md ? "- " : "  \xe2\x80\xa2 ");
			put(o, b->text);
			hb_raw(o, next_li ? "\n" : "\n\n");
			break;
		}
	}
}

static const char style[] =
	"body{font-family:Georgia,'Times New Roman',serif;line-height:1.5;"
	"color:#111;background:#fff;margin:0}"
	"main{max-width:44em;margin:0 auto;padding:2em 1.5em}"
	"h1{font-size:1.8em;margin:0 0 1em}"
	"h2{font-size:1.3em;margin:1.8em 0 .6em;border-bottom:1px solid #999}"
	"h3{font-size:1.05em;margin:1.2em 0 .4em}"
	"ul{padding-left:1.4em}li{margin:.2em 0}"
	"footer{margin-top:2em;font-size:.9em;color:#333}"
	"@media print{main{max-width:none;padding:0}"
	"h2,h3{break-after:avoid}li,p{break-inside:avoid}"
	"body{font-size:11pt}}";

static void write_html(htmlbuf *o, const ndoc *d, int version)
{
	int in_list = 0, in_section = 0;
	size_t i;

	hb_raw(o, "<!DOCTYPE html>\n<html lang=\"");
	hb_raw(o, d->en ? "en" : "fi");
	hb_raw(o, "\">\n<head>\n<meta charset=\"utf-8\">\n"
		  "<meta http-equiv=\"Content-Security-Policy\" "
		  "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
		  "<meta name=\"viewport\" content=\"width=device-width, "
		  "initial-scale=1\">\n<title>");
	for (i = 0; i < d->n && d->b[i].kind != NB_TITLE; i++)
		;
	if (i < d->n)
		hb_esc(o, d->b[i].text);
	hb_raw(o, " \xe2\x80\x93 ");
	hb_esc(o, d->p->controller.name);
	hb_raw(o, "</title>\n<style>");
	hb_raw(o, style);
	hb_raw(o, "</style>\n</head>\n<body>\n<main>\n");
	for (i = 0; i < d->n; i++) {
		const nblock *b = &d->b[i];
		int last = version > 0 && i + 1 == d->n;

		if (b->kind != NB_LI && in_list) {
			hb_raw(o, "</ul>\n");
			in_list = 0;
		}
		if ((b->kind == NB_H2 || last) && in_section) {
			hb_raw(o, "</section>\n");
			in_section = 0;
		}
		switch (b->kind) {
		case NB_TITLE:
			hb_raw(o, "<h1>");
			hb_esc(o, b->text);
			hb_raw(o, "</h1>\n");
			break;
		case NB_H2:
			hb_raw(o, "<section>\n<h2>");
			hb_esc(o, b->text);
			hb_raw(o, "</h2>\n");
			in_section = 1;
			break;
		case NB_H3:
			hb_raw(o, "<h3>");
			hb_esc(o, b->text);
			hb_raw(o, "</h3>\n");
			break;
		case NB_P:
			hb_raw(o, last ? "<footer><p>" : "<p>");
			hb_esc(o, b->text);
			hb_raw(o, last ? "</p></footer>\n" : "</p>\n");
			break;
		case NB_LI:
			if (!in_list)
				hb_raw(o, "<ul>\n");
			in_list = 1;
			hb_raw(o, "<li>");
			hb_esc(o, b->text);
			hb_raw(o, "</li>\n");
			break;
		}
	}
	if (in_list)
		hb_raw(o, "</ul>\n");
	if (in_section)
		hb_raw(o, "</section>\n");
	hb_raw(o, "</main>\n</body>\n</html>\n");
}

rk_status notice_render(const policy *p, int english, rk_notice_format fmt,
			int version, int64_t stored, char **out)
{
	ndoc d;
	htmlbuf o;

	*out = NULL;
	memset(&d, 0, sizeof d);
	memset(&o, 0, sizeof o);
	d.en = english;
	d.p = p;
	layout(&d, version, stored);
	if (d.oom) {
		doc_free(&d);
		return RK_ESYS;
	}
	if (fmt == RK_NOTICE_HTML)
		write_html(&o, &d, version);
	else
		write_text(&o, &d, fmt == RK_NOTICE_MD);
	doc_free(&d);
	*out = hb_take(&o);
	return *out != NULL ? RK_OK : RK_ESYS;
}

/* ---- stored versions ---- */

static void version_mac(const rk_register *r, int version, const char *text,
			unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_VERSION);
	sec_mac_int(&m, version);
	sec_mac_str(&m, text);
	sec_mac_final(&m, out);
}

static void version_key(int version, char key[40])
{
	snprintf(key, 40, "%s%d", META_VERSION_MAC, version);
}

rk_status notice_pin_version(rk_register *r, int version, const char *text)
{
	unsigned char mac[SEC_HASH_BYTES];
	char key[40];

	if (r->rkey == NULL)
		return reg_fail(r, RK_EINTEGRITY,
				"the register has no row key to bind the "
				"notice version to");
	version_key(version, key);
	version_mac(r, version, text, mac);
	if (r->st->vt->meta_set(r->st, key, mac, sizeof mac) != 0)
		return reg_store_fail(r, "cannot store the notice's MAC");
	return RK_OK;
}

struct latest {
	int version;
};

static int take_latest(void *ud, int version, int64_t created_at)
{
	struct latest *l = ud;

	(void)created_at;
	if (version > l->version)
		l->version = version;
	return 0;
}

rk_status notice_load_version(rk_register *r, int version, char **text,
			      int *version_out, int64_t *stored, int *current)
{
	struct latest l = {0};
	unsigned char want[SEC_HASH_BYTES], got[SEC_HASH_BYTES];
	size_t len = 0;
	char key[40];
	rk_status st;
	int rc;

	*text = NULL;
	if (r->st->vt->policy_walk(r->st, take_latest, &l) != 0)
		return reg_store_fail(r, "cannot list the notice versions");
	if (version == 0)
		version = l.version;
	rc = r->st->vt->policy_get(r->st, version, text, stored);
	if (rc == STORE_NOTFOUND)
		return reg_fail(r, RK_ENOTFOUND,
				"no notice version %d: the register has "
				"versions 1 to %d",
				version, l.version);
	if (rc != 0)
		return reg_store_fail(r, "cannot read the notice version");
	*version_out = version;
	*current = version == l.version;
	if (r->rkey == NULL)
		return RK_OK; /* a register from before row MACs */
	/* The newest is pinned as the policy the register enforces; every
	 * version that was ever replaced has a MAC of its own. */
	version_key(version, key);
	rc = r->st->vt->meta_get(r->st, key, got, sizeof got, &len);
	if (rc == STORE_ERR) {
		st = reg_store_fail(r, "cannot read the notice's MAC");
		goto fail;
	}
	if (rc == 0) {
		version_mac(r, version, *text, want);
		if (len == sizeof got && sec_memcmp(want, got, sizeof got) == 0)
			return RK_OK;
	} else if (*current) {
		st = integ_policy_check(r, version, *text);
		if (st == RK_OK)
			return RK_OK;
		goto fail;
	}
	st = reg_fail(r, RK_EINTEGRITY,
		      "notice version %d does not match its MAC: the database "
		      "was altered without the key; see the audit log and "
		      "restore a backup",
		      version);
fail:
	free(*text);
	*text = NULL;
	return st;
}

/* ---- public API ---- */

static int lang_english(const char *lang, int *en)
{
	if (lang == NULL || strcmp(lang, "fi") == 0)
		*en = 0;
	else if (strcmp(lang, "en") == 0)
		*en = 1;
	else
		return -1;
	return 0;
}

rk_status rk_notice_render(rk_register *r, int version, const char *lang,
			   rk_notice_format format, char **out)
{
	char *text = NULL;
	policy *p = NULL;
	int64_t stored = 0;
	int v = 0, current = 0, en;
	rk_status st;

	if (out == NULL)
		return RK_EINVAL;
	*out = NULL;
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	if (lang_english(lang, &en) != 0)
		return reg_fail(r, RK_EINVAL, "the notice is in fi or en");
	if (format != RK_NOTICE_TEXT && format != RK_NOTICE_MD &&
	    format != RK_NOTICE_HTML)
		return reg_fail(r, RK_EINVAL, "unknown notice format");
	if (version < 0)
		return reg_fail(r, RK_EINVAL, "a notice version is 1 or more");
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	st = notice_load_version(r, version, &text, &v, &stored, &current);
	reg_end_read(r);
	if (st != RK_OK)
		return st;
	p = policy_parse(text, strlen(text), "stored policy", NULL, NULL);
	free(text);
	if (p == NULL)
		return reg_fail(r, RK_EINTEGRITY,
				"the stored notice version %d does not load",
				v);
	st = notice_render(p, en, format, v, stored, out);
	policy_free(p);
	if (st != RK_OK)
		return reg_fail(r, st, "out of memory");
	return RK_OK;
}

rk_status rk_notice_render_file(const char *path, const char *lang,
				rk_notice_format format, rk_diag_fn diag,
				void *ud, char **out)
{
	policy *p;
	int en;
	rk_status st;

	if (out == NULL)
		return RK_EINVAL;
	*out = NULL;
	if (path == NULL || lang_english(lang, &en) != 0 ||
	    (format != RK_NOTICE_TEXT && format != RK_NOTICE_MD &&
	     format != RK_NOTICE_HTML))
		return RK_EINVAL;
	p = policy_load_file(path, diag, ud, NULL);
	if (p == NULL)
		return RK_EINVAL;
	st = notice_render(p, en, format, 0, 0, out);
	policy_free(p);
	return st;
}

rk_status rk_policy_check_file_warn(const char *path, rk_diag_fn diag,
				    rk_diag_fn warn, void *ud,
				    size_t *nwarnings)
{
	char *text = NULL;
	policy *p;
	size_t n = 0;
	rk_status st;

	if (nwarnings != NULL)
		*nwarnings = 0;
	st = rk_policy_check_file(path, diag, ud);
	if (st != RK_OK)
		return st;
	/* Valid: read again for the text the warnings point into. */
	p = policy_load_file(path, NULL, NULL, &text);
	if (p == NULL) {
		free(text);
		return RK_ESYS; /* it changed under us, or memory ran out */
	}
	n = policy_warnings(p, text, strlen(text), path, warn, ud);
	policy_free(p);
	free(text);
	if (nwarnings != NULL)
		*nwarnings = n;
	return RK_OK;
}
