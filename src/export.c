/*
 * export.c: the access report (GDPR Art. 15) and data portability
 * (Art. 20).
 *
 * The report is everything the register holds about one subject, whatever
 * the purpose: every stored value and record decrypted, the whole consent
 * and objection ledger, with what the policy says about each (purposes,
 * legal basis, source, retention, recipients, rights). It is gathered in one
 * read snapshot, checked against the row MACs like every other read, and
 * handed out only after its one audit entry is in the trail (fail-closed).
 * Only a role that sees every purpose and every category may make it: the
 * report is all of a person's data, and a narrower role would see more
 * than its own share.
 *
 * Portability hands back, in plain files another controller can import,
 * what the subject provided (a source marked provided_by_subject) on the
 * basis of consent or contract.
 *
 * Policy names are data here too: nothing below spells a name of the
 * example policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "consent.h"
#include "crypto.h"
#include "disclose.h"
#include "export.h"
#include "ident.h"
#include "integrity.h"
#include "json_secret.h"
#include "ledger.h"
#include "policy.h"
#include "record.h"
#include "register.h"
#include "store.h"

#define EXPORT_SCHEMA	"rekisteri-export"
#define PORTABLE_SCHEMA "rekisteri-portable"
#define NAMES_MAX	512
#define PATH_CAP	4200
/* The GDPR article of a contract basis (a consent basis is asked of the
 * policy: policy_basis_is_consent). */
#define GDPR_CONTRACT "6(1)(b)"

/* ---- small helpers ------------------------------------------------------- */

static const char *tx(const pol_text *t, int en)
{
	return t == NULL ? NULL : en ? t->en : t->fi;
}

/* A string, or null for NULL (and "" where "" means "none"). */
static json_t *str_or_null(const char *s)
{
	return s == NULL || s[0] == '\0' ? json_null() : json_string(s);
}

static json_t *time_json(int64_t t)
{
	char buf[32];

	ident_iso_utc(t, buf);
	return json_string(buf);
}

/* Sets key to v (stolen); 1 when that failed (v is freed either way). */
static int put(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) != 0;
}

/* Whether basis index b is consent or contract: what Art. 20(1)(a)
 * covers. */
static int basis_portable(const policy *p, size_t b)
{
	if (b >= p->nbases)
		return 0;
	return policy_basis_is_consent(p, b) ||
	       (p->bases[b].gdpr != NULL &&
		strcmp(p->bases[b].gdpr, GDPR_CONTRACT) == 0);
}

static int source_provided(const policy *p, size_t s)
{
	return s < p->nsources && p->sources[s].provided_by_subject;
}

/* The ISO 8601 form of a retention period. */
static void period_text(const pol_retention *rt, char out[48])
{
	size_t n = 0;
	int k;

	k = snprintf(out, 48, "P");
	n = k > 0 ? (size_t)k : 0;
	if (rt->years > 0 && n < 48) {
		k = snprintf(out + n, 48 - n, "%dY", rt->years);
		n += k > 0 ? (size_t)k : 0;
	}
	if (rt->months > 0 && n < 48) {
		k = snprintf(out + n, 48 - n, "%dM", rt->months);
		n += k > 0 ? (size_t)k : 0;
	}
	if ((rt->days > 0 || n == 1) && n < 48)
		snprintf(out + n, 48 - n, "%dD", rt->days);
}

static const char *const from_names[] = {"collection", "relationship_end",
					 "fiscal_year_end",
					 "calendar_year_end"};

/* A file name extension for a media type: only types whose files open as
 * what they are; anything else is ".bin". The name never comes from the
 * stored type itself. */
static const char *media_ext(const char *mt)
{
	static const struct {
		const char *type, *ext;
	} known[] = {
		{"text/plain", "txt"},	    {"text/csv", "csv"},
		{"application/pdf", "pdf"}, {"application/json", "json"},
		{"message/rfc822", "eml"},  {"image/png", "png"},
		{"image/jpeg", "jpg"},	    {"image/gif", "gif"},
		{"image/webp", "webp"},	    {"audio/mpeg", "mp3"},
		{"audio/wav", "wav"},	    {"audio/x-wav", "wav"},
		{"audio/ogg", "ogg"},	    {"audio/opus", "opus"},
		{"audio/flac", "flac"},	    {"audio/mp4", "m4a"},
		{"audio/aac", "aac"},	    {"audio/webm", "weba"},
		{"video/mp4", "mp4"},	    {"video/webm", "webm"},
		{"video/ogg", "ogv"},	    {"application/zip", "zip"},
	};
	size_t n;

	if (mt == NULL)
		return "bin";
	n = strcspn(mt, "; \t");
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i].type) == n &&
		    strncasecmp(mt, known[i].type, n) == 0)
			return known[i].ext;
	return "bin";
}

/* ---- the rights: fixed text of the regulation ---------------------------- */

static const struct right {
	const char *name;
	const char *fi_title, *fi;
	const char *en_title, *en;
} rights[] = {
	{"access", "Oikeus saada pääsy tietoihin",
	 "Sinulla on oikeus saada tieto siitä, käsitelläänkö henkilötietojasi, "
	 "sekä jäljennös käsiteltävistä tiedoista (tietosuoja-asetuksen 15 "
	 "artikla). Tämä selvitys on tällainen jäljennös.",
	 "Right of access",
	 "You have the right to know whether your personal data is processed "
	 "and to receive a copy of the data processed (Article 15 of the "
	 "General Data Protection Regulation). This report is such a copy."},
	{"rectification", "Oikeus tietojen oikaisemiseen",
	 "Sinulla on oikeus saada virheelliset tietosi oikaistuiksi ja "
	 "puutteelliset tietosi täydennetyiksi ilman aiheetonta viivytystä "
	 "(16 artikla).",
	 "Right to rectification",
	 "You have the right to have inaccurate data about you rectified and "
	 "incomplete data completed without undue delay (Article 16)."},
	{"erasure", "Oikeus tietojen poistamiseen",
	 "Sinulla on oikeus saada tietosi poistetuiksi, kun niitä ei enää "
	 "tarvita, kun peruutat suostumuksen, johon käsittely perustuu, tai "
	 "muusta 17 artiklan mukaisesta syystä. Tiedot, jotka laki velvoittaa "
	 "säilyttämään, säilytetään lain edellyttämän ajan.",
	 "Right to erasure",
	 "You have the right to have your data erased when it is no longer "
	 "needed, when you withdraw the consent the processing is based on, or "
	 "on another ground of Article 17. Data that the law requires to be "
	 "kept is kept for the period the law requires."},
	{"restriction", "Oikeus käsittelyn rajoittamiseen",
	 "Sinulla on oikeus pyytää, että tietojesi käsittelyä rajoitetaan "
	 "esimerkiksi sen ajan, jona tietojen paikkansapitävyyttä tarkistetaan "
	 "(18 artikla).",
	 "Right to restriction of processing",
	 "You have the right to ask that the processing of your data be "
	 "restricted, for example while the accuracy of the data is being "
	 "verified (Article 18)."},
	{"objection", "Vastustamisoikeus",
	 "Sinulla on oikeus vastustaa oikeutettuun etuun perustuvaa "
	 "käsittelyä henkilökohtaiseen tilanteeseesi liittyvällä perusteella, "
	 "ja oikeus milloin tahansa kieltää tietojesi käsittely "
	 "suoramarkkinointia varten (21 artikla).",
	 "Right to object",
	 "You have the right to object to processing based on legitimate "
	 "interests on grounds relating to your particular situation, and the "
	 "right to prohibit the processing of your data for direct marketing "
	 "at any time (Article 21)."},
	{"portability", "Oikeus siirtää tiedot järjestelmästä toiseen",
	 "Sinulla on oikeus saada itse toimittamasi tiedot, joiden käsittely "
	 "perustuu suostumukseen tai sopimukseen, jäsennellyssä, yleisesti "
	 "käytetyssä ja koneellisesti luettavassa muodossa ja siirtää ne "
	 "toiselle rekisterinpitäjälle (20 artikla).",
	 "Right to data portability",
	 "You have the right to receive the data you have provided, where the "
	 "processing is based on consent or a contract, in a structured, "
	 "commonly used and machine-readable format, and to transmit it to "
	 "another controller (Article 20)."},
	{"withdraw_consent", "Oikeus peruuttaa suostumus",
	 "Voit peruuttaa antamasi suostumuksen milloin tahansa yhtä helposti "
	 "kuin annoit sen. Peruutus ei vaikuta ennen sitä tehdyn käsittelyn "
	 "lainmukaisuuteen (7 artiklan 3 kohta).",
	 "Right to withdraw consent",
	 "You may withdraw a consent you have given at any time, as easily as "
	 "you gave it. Withdrawal does not affect the lawfulness of processing "
	 "before it (Article 7(3))."},
	{"complaint", "Oikeus tehdä valitus valvontaviranomaiselle",
	 "Jos katsot, että henkilötietojesi käsittely rikkoo "
	 "tietosuoja-asetusta, sinulla on oikeus tehdä valitus "
	 "valvontaviranomaiselle (77 artikla).",
	 "Right to lodge a complaint with a supervisory authority",
	 "If you consider that the processing of your personal data infringes "
	 "the General Data Protection Regulation, you have the right to lodge "
	 "a complaint with a supervisory authority (Article 77)."},
};

/* ---- who may ------------------------------------------------------------- */

/* A role that sees every purpose and every category (lists without
 * duplicates, so counting is enough), or the unrestricted handle. */
static int may_export(const rk_register *r)
{
	const policy *p = r->pol;
	const pol_role *ro;

	if (r->role == POL_NONE)
		return 1;
	ro = &p->roles[r->role];
	return ro->npurposes == p->npurposes &&
	       ro->ncategories == p->ncategories;
}

static rk_status refuse(rk_register *r, audit_action action, const char *id)
{
	store_subject sub;
	const char *pseudonym = NULL;

	/* The trail names whom the refused call was aimed at. */
	if (id != NULL && reg_valid_id(id) &&
	    r->st->vt->subject_get(r->st, id, &sub) == 0)
		pseudonym = sub.pseudonym;
	reg_fail(r, RK_EREFUSED,
		 "role %s may not export a subject's data: an export needs "
		 "a role that sees every purpose and every category of the "
		 "policy (the register's administrator or the data "
		 "protection lead)",
		 r->pol->roles[r->role].name);
	reg_audit_attempt(r, action, pseudonym, NULL, RK_EREFUSED);
	return RK_EREFUSED;
}

/* ---- gathering ----------------------------------------------------------- */

struct gather {
	rk_register *r;
	const store_subject *sub;
	const unsigned char *dk;
	int en;
	json_t *values, *records;
	/* what the subject's data is: marks over the policy's items */
	unsigned char *purpose_held, *category_held, *source_held;
	/* per retention rule: the categories (bit per category) and record
	 * types it covers here */
	unsigned char *ret_cat, *ret_rt;
	char names[NAMES_MAX]; /* audit: fields and record types read */
	sec_mac vd;
	rk_status st;
};

static void mark_purposes(struct gather *g, const char *csv)
{
	const policy *p = g->r->pol;

	for (size_t i = 0; i < p->npurposes; i++)
		if (csv_has(csv, p->purposes[i].name))
			g->purpose_held[i] = 1;
}

/* The parts every datum shares: purposes, basis, source (name and label). */
static int put_basis(struct gather *g, json_t *o, const char *purposes,
		     const char *basis, const char *source)
{
	const policy *p = g->r->pol;
	size_t b = policy_basis(p, basis), s = policy_source(p, source);
	int bad = 0;

	bad |= put(o, "purposes", csv_json(purposes));
	bad |= put(o, "legal_basis", json_string(basis));
	bad |= put(o, "legal_basis_label",
		   str_or_null(b == POL_NONE ? NULL
					     : tx(&p->bases[b].label, g->en)));
	bad |= put(o, "gdpr",
		   str_or_null(b == POL_NONE ? NULL : p->bases[b].gdpr));
	bad |= put(o, "source", json_string(source));
	bad |= put(o, "source_label",
		   str_or_null(s == POL_NONE
				       ? NULL
				       : tx(&p->sources[s].label, g->en)));
	bad |= put(o, "provided",
		   json_boolean(b != POL_NONE && s != POL_NONE &&
				basis_portable(p, b) && source_provided(p, s)));
	if (s != POL_NONE)
		g->source_held[s] = 1;
	mark_purposes(g, purposes);
	return bad;
}

static int value_one(void *ud, const store_value *v)
{
	struct gather *g = ud;
	const policy *p = g->r->pol;
	size_t fi = policy_field(p, v->field), kind, ri = POL_NONE;
	const pol_field *f = fi == POL_NONE ? NULL : &p->fields[fi];
	unsigned char *pt = NULL;
	size_t len = 0;
	json_t *o = NULL, *val;
	int bad = 0, hidden;

	/* every row counts towards the digest, whatever is done with it */
	integ_values_add(&g->vd, v);
	if (g->st != RK_OK)
		return 0;
	g->st = reg_value_open(g->r, g->dk, g->sub->id, v, &pt, &len);
	if (g->st != RK_OK)
		return 0;
	/* A password is kept only as its hash, which never leaves. */
	hidden = f != NULL && f->type == PT_PASSWORD;
	val = hidden ? json_null() : json_stringn((const char *)pt, len);
	if (val == NULL) {
		g->st = reg_fail(g->r, RK_EINTEGRITY,
				 "a stored value is not valid text");
		goto out;
	}
	if (f != NULL) {
		kind = policy_kind(p, g->sub->kind);
		ri = kind != POL_NONE && p->kinds[kind].retention != POL_NONE
			     ? p->kinds[kind].retention
			     : f->retention;
		g->category_held[f->category] = 1;
		if (ri != POL_NONE)
			g->ret_cat[ri * p->ncategories + f->category] = 1;
	}
	o = json_object();
	if (o == NULL) {
		json_free_secret(val);
		goto oom;
	}
	bad |= put(o, "field", json_string(v->field));
	bad |= put(o, "label", str_or_null(f ? tx(&f->label, g->en) : NULL));
	bad |= put(o, "category",
		   str_or_null(f ? p->categories[f->category].name : NULL));
	bad |= put(o, "category_label",
		   str_or_null(f ? tx(&p->categories[f->category].label, g->en)
				 : NULL));
	bad |= put(o, "value", val);
	bad |= put(o, "hidden", json_boolean(hidden));
	bad |= put_basis(g, o, v->purposes, v->legal_basis, v->source);
	bad |= put(o, "collected_at", time_json(v->collected_at));
	bad |= put(o, "confirmed_at", time_json(v->confirmed_at));
	bad |= put(o, "expires", str_or_null(v->expires));
	bad |= put(o, "retention",
		   str_or_null(ri == POL_NONE ? NULL : p->retention[ri].name));
	if (bad || json_array_append_new(g->values, o) != 0) {
		o = NULL;
		goto oom;
	}
	o = NULL;
	csv_add(g->names, sizeof g->names, v->field);
	goto out;
oom:
	g->st = reg_fail(g->r, RK_ESYS, "out of memory");
out:
	json_free_secret(o);
	if (pt != NULL) {
		sec_wipe(pt, len + 1);
		free(pt);
	}
	return 0;
}

/* The record's fields in the order the record type declares them, then
 * any the policy no longer declares; each {name, label, value}. */
static json_t *record_fields(struct gather *g, const pol_record_type *rt,
			     json_t *plain)
{
	json_t *arr = json_array(), *o, *v;
	const char *key;
	size_t i;
	int bad = 0;

	if (arr == NULL)
		return NULL;
	for (i = 0; rt != NULL && i < rt->nfields; i++) {
		v = json_object_get(plain, rt->fields[i].name);
		if (v == NULL)
			continue;
		o = json_object();
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			bad = 1;
			break;
		}
		bad |= put(o, "name", json_string(rt->fields[i].name));
		bad |= put(o, "label",
			   str_or_null(tx(&rt->fields[i].label, g->en)));
		bad |= put(o, "value", json_deep_copy(v));
	}
	json_object_foreach(plain, key, v)
	{
		if (bad)
			break;
		if (rt != NULL && policy_record_field(rt, key) != POL_NONE)
			continue;
		o = json_object();
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			bad = 1;
			break;
		}
		bad |= put(o, "name", json_string(key));
		bad |= put(o, "label", json_null());
		bad |= put(o, "value", json_deep_copy(v));
	}
	if (bad) {
		json_free_secret(arr);
		return NULL;
	}
	return arr;
}

static int record_one(void *ud, const store_record *rec)
{
	struct gather *g = ud;
	const policy *p = g->r->pol;
	size_t ti = policy_record_type(p, rec->type);
	const pol_record_type *rt =
		ti == POL_NONE ? NULL : &p->record_types[ti];
	json_t *plain = NULL, *o = NULL, *fields, *att;
	char file[48];
	int bad = 0;

	if (g->st != RK_OK)
		return 1;
	g->st = reg_record_open(g->r, g->sub, g->dk, rec, &plain);
	if (g->st != RK_OK)
		return 1;
	if (rt != NULL && rt->retention != POL_NONE)
		g->ret_rt[rt->retention * p->nrecord_types + ti] = 1;
	o = json_object();
	if (o == NULL)
		goto oom;
	bad |= put(o, "id", json_integer(rec->id));
	bad |= put(o, "type", json_string(rec->type));
	bad |= put(o, "label", str_or_null(rt ? tx(&rt->label, g->en) : NULL));
	bad |= put_basis(g, o, rec->purposes, rec->legal_basis, rec->source);
	bad |= put(o, "created_at", time_json(rec->created_at));
	bad |= put(o, "expires", str_or_null(rec->expires));
	bad |= put(o, "retention",
		   str_or_null(rt && rt->retention != POL_NONE
				       ? p->retention[rt->retention].name
				       : NULL));
	fields = record_fields(g, rt, plain);
	bad |= put(o, "fields", fields);
	if (rec->attachment_size >= 0) {
		snprintf(file, sizeof file, "%" PRId64 ".%s", rec->id,
			 media_ext(rec->attachment_type));
		att = json_object();
		bad |= put(o, "attachment", att);
		if (att != NULL) {
			bad |= put(att, "media_type",
				   str_or_null(rec->attachment_type));
			bad |= put(att, "size",
				   json_integer(rec->attachment_size));
			bad |= put(att, "file", json_string(file));
		}
	} else {
		bad |= put(o, "attachment", json_null());
	}
	if (bad || json_array_append_new(g->records, o) != 0) {
		o = NULL;
		goto oom;
	}
	o = NULL;
	csv_add(g->names, sizeof g->names, rec->type);
	json_free_secret(plain);
	return 0;
oom:
	json_free_secret(o);
	json_free_secret(plain);
	g->st = reg_fail(g->r, RK_ESYS, "out of memory");
	return 1;
}

/* ---- the parts that come from the policy --------------------------------- */

static json_t *named_list(const pol_named *items, size_t n,
			  const unsigned char *held, int en, int with_provided)
{
	json_t *arr = json_array(), *o;
	int bad = arr == NULL;

	for (size_t i = 0; !bad && i < n; i++) {
		if (!held[i])
			continue;
		o = json_object();
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			bad = 1;
			break;
		}
		bad |= put(o, "name", json_string(items[i].name));
		bad |= put(o, "label", str_or_null(tx(&items[i].label, en)));
		bad |= put(o, "description",
			   str_or_null(tx(&items[i].description, en)));
		if (with_provided)
			bad |= put(o, "provided_by_subject",
				   json_boolean(items[i].provided_by_subject));
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *recipients_json(const policy *p, const unsigned char *held,
			       int en)
{
	static const char *const kinds[] = {"processor", "third_party",
					    "authority"};
	json_t *arr = json_array(), *o, *pu;
	int bad = arr == NULL;

	for (size_t i = 0; !bad && i < p->nrecipients; i++) {
		const pol_recipient *rc = &p->recipients[i];
		int overlap = 0;

		for (size_t k = 0; k < rc->npurposes; k++)
			overlap |= held[rc->purposes[k]];
		if (!overlap)
			continue;
		o = json_object();
		pu = json_array();
		if (o == NULL || pu == NULL ||
		    json_array_append_new(arr, o) != 0) {
			json_decref(pu);
			bad = 1;
			break;
		}
		for (size_t k = 0; k < rc->npurposes; k++)
			if (held[rc->purposes[k]])
				bad |= json_array_append_new(
					       pu,
					       json_string(
						       p->purposes[rc->purposes
									   [k]]
							       .name)) != 0;
		bad |= put(o, "name", json_string(rc->name));
		bad |= put(o, "label", str_or_null(tx(&rc->label, en)));
		bad |= put(o, "description",
			   str_or_null(tx(&rc->description, en)));
		bad |= put(o, "kind", json_string(kinds[rc->kind]));
		bad |= put(o, "country", json_string(rc->country));
		bad |= put(o, "outside_eea",
			   json_boolean(
				   !policy_country_in_eu_eea(p, rc->country)));
		bad |= put(o, "safeguard", str_or_null(rc->safeguard));
		bad |= put(o, "purposes", pu);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *retention_json(const struct gather *g)
{
	const policy *p = g->r->pol;
	json_t *arr = json_array(), *o, *cats, *rts;
	char period[48];
	int bad = arr == NULL;

	for (size_t ri = 0; !bad && ri < p->nretention; ri++) {
		const pol_retention *rt = &p->retention[ri];
		int used = 0;

		cats = json_array();
		rts = json_array();
		if (cats == NULL || rts == NULL) {
			json_decref(cats);
			json_decref(rts);
			bad = 1;
			break;
		}
		for (size_t c = 0; c < p->ncategories; c++)
			if (g->ret_cat[ri * p->ncategories + c]) {
				used = 1;
				bad |= json_array_append_new(
					       cats,
					       json_string(p->categories[c]
								   .name)) != 0;
			}
		for (size_t t = 0; t < p->nrecord_types; t++)
			if (g->ret_rt[ri * p->nrecord_types + t]) {
				used = 1;
				bad |= json_array_append_new(
					       rts,
					       json_string(p->record_types[t]
								   .name)) != 0;
			}
		if (!used) {
			json_decref(cats);
			json_decref(rts);
			continue;
		}
		o = json_object();
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(cats);
			json_decref(rts);
			bad = 1;
			break;
		}
		period_text(rt, period);
		bad |= put(o, "rule", json_string(rt->name));
		bad |= put(o, "label", str_or_null(tx(&rt->label, g->en)));
		bad |= put(o, "description",
			   str_or_null(tx(&rt->description, g->en)));
		bad |= put(o, "from", json_string(from_names[rt->from]));
		bad |= put(o, "period", json_string(period));
		bad |= put(o, "legal_hold", json_boolean(rt->legal_hold));
		bad |= put(o, "categories", cats);
		bad |= put(o, "record_types", rts);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* Labels of the ledger's entries that the register writes itself. */
static const struct {
	const char *name;
	pol_text label;
} reserved[] = {
	{LEDGER_RESTRICTION,
	 {"Käsittelyn rajoitus", "Restriction of processing"}},
	{LEDGER_COOKIE_RESET,
	 {"Evästetunnisteet irrotettu ja profiili nollattu",
	  "Cookie identifiers unlinked and profile reset"}},
};

static const pol_text *reserved_label(const char *scope)
{
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(scope, reserved[i].name) == 0)
			return &reserved[i].label;
	return NULL;
}

/* The ledger from consent.c, with the label of each scope or objection the
 * policy knows (a scope it does not know, such as the register's own
 * reserved ones, keeps its name alone). */
static int label_ledger(const policy *p, json_t *ledger, int en)
{
	json_t *e;
	size_t i, k;
	int bad = 0;

	json_array_foreach(ledger, i, e)
	{
		const char *scope =
			json_string_value(json_object_get(e, "scope"));
		const char *kind =
			json_string_value(json_object_get(e, "kind"));
		const pol_text *label = NULL;

		if (scope != NULL && (label = reserved_label(scope)) != NULL) {
			/* the register's own entry */
		} else if (scope != NULL && kind != NULL &&
			   strcmp(kind, "objection") == 0) {
			k = policy_objection(p, scope);
			if (k != POL_NONE)
				label = &p->objections[k].label;
		} else if (scope != NULL) {
			k = policy_scope(p, scope);
			if (k != POL_NONE)
				label = &p->scopes[k].label;
		}
		bad |= put(e, "label", str_or_null(tx(label, en)));
	}
	return bad;
}

static json_t *rights_json(int en)
{
	json_t *arr = json_array(), *o;
	int bad = arr == NULL;

	for (size_t i = 0; !bad && i < sizeof rights / sizeof rights[0]; i++) {
		o = json_object();
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			bad = 1;
			break;
		}
		bad |= put(o, "right", json_string(rights[i].name));
		bad |= put(o, "title",
			   json_string(en ? rights[i].en_title
					  : rights[i].fi_title));
		bad |= put(o, "text",
			   json_string(en ? rights[i].en : rights[i].fi));
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *controller_json(const policy *p)
{
	json_t *o = json_object();
	int bad = o == NULL;

	if (bad)
		return NULL;
	bad |= put(o, "name", json_string(p->controller.name));
	bad |= put(o, "address", json_string(p->controller.address));
	bad |= put(o, "business_id", json_string(p->controller.business_id));
	bad |= put(o, "email", str_or_null(p->controller.email));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *contact_json(const policy *p)
{
	json_t *o = json_object();

	if (o == NULL || put(o, "name", json_string(p->responsible.name)) ||
	    put(o, "email", json_string(p->responsible.email))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *authority_json(const policy *p, int en)
{
	json_t *o;

	if (!p->supervisory.present)
		return json_null();
	o = json_object();
	if (o == NULL ||
	    put(o, "name", str_or_null(tx(&p->supervisory.name, en))) ||
	    put(o, "address", str_or_null(p->supervisory.address)) ||
	    put(o, "url", str_or_null(p->supervisory.url))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *subject_json(const policy *p, const store_subject *sub, int en)
{
	size_t k = policy_kind(p, sub->kind);
	json_t *o = json_object();
	int bad = o == NULL;

	if (bad)
		return NULL;
	bad |= put(o, "id", json_string(sub->id));
	bad |= put(o, "kind", json_string(sub->kind));
	bad |= put(
		o, "kind_label",
		str_or_null(k == POL_NONE ? NULL : tx(&p->kinds[k].label, en)));
	bad |= put(o, "created_at", time_json(sub->created_at));
	bad |= put(o, "relationship_start", str_or_null(sub->rel_start));
	bad |= put(o, "relationship_end", str_or_null(sub->rel_end));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void gather_free(struct gather *g)
{
	json_free_secret(g->values);
	json_free_secret(g->records);
	free(g->purpose_held);
	free(g->category_held);
	free(g->source_held);
	free(g->ret_cat);
	free(g->ret_rt);
	sec_wipe(&g->vd, sizeof g->vd);
}

static size_t at_least_1(size_t n)
{
	return n > 0 ? n : 1;
}

/* Reads everything about subject id inside one read snapshot, checked
 * against the row MACs, into the report's document *doc_out (personal
 * data: json_free_secret). names gets the fields and record types read
 * (for the audit entry), pseudonym the subject's. No audit here. */
static rk_status gather_doc(rk_register *r, const char *id, int en,
			    json_t **doc_out, char names[NAMES_MAX],
			    char pseudonym[33])
{
	const policy *p = r->pol;
	struct gather g;
	store_subject sub;
	unsigned char *dk = NULL;
	json_t *doc = NULL, *ledger = NULL;
	int reading = 0, bad = 0;
	rk_status st;

	*doc_out = NULL;
	names[0] = '\0';
	memset(&g, 0, sizeof g);
	sub.pseudonym[0] = '\0';
	g.purpose_held = calloc(at_least_1(p->npurposes), 1);
	g.category_held = calloc(at_least_1(p->ncategories), 1);
	g.source_held = calloc(at_least_1(p->nsources), 1);
	g.ret_cat = calloc(at_least_1(p->nretention * p->ncategories), 1);
	g.ret_rt = calloc(at_least_1(p->nretention * p->nrecord_types), 1);
	g.values = json_array();
	g.records = json_array();
	if (g.purpose_held == NULL || g.category_held == NULL ||
	    g.source_held == NULL || g.ret_cat == NULL || g.ret_rt == NULL ||
	    g.values == NULL || g.records == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	reading = 1;
	st = reg_load_subject(r, id, &sub);
	if (st != RK_OK)
		goto out;
	memcpy(pseudonym, sub.pseudonym, 33);
	st = reg_subject_key(r, &sub, &dk);
	if (st != RK_OK)
		goto out;
	g.r = r;
	g.sub = &sub;
	g.dk = dk;
	g.en = en;
	g.st = RK_OK;
	integ_values_begin(r, sub.id, &g.vd);
	if (r->st->vt->value_list(r->st, sub.id, NULL, value_one, &g) != 0) {
		st = reg_store_fail(r, "cannot read the values");
		goto out;
	}
	st = g.st;
	if (st == RK_OK)
		st = integ_values_end(r, &sub, &g.vd);
	if (st != RK_OK)
		goto out;
	st = integ_records_walk(r, &sub, NULL, record_one, &g);
	if (g.st != RK_OK)
		st = g.st;
	if (st != RK_OK)
		goto out;
	st = consent_ledger_json(r, &sub, dk, &ledger);
	if (st != RK_OK)
		goto out;
	reg_end_read(r);
	reading = 0;

	doc = json_object();
	if (doc == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	bad |= put(doc, "schema", json_string(EXPORT_SCHEMA));
	bad |= put(doc, "version", json_integer(RK_EXPORT_VERSION));
	bad |= put(doc, "lang", json_string(en ? "en" : "fi"));
	bad |= put(doc, "generated_at", time_json(reg_now(r)));
	bad |= put(doc, "notice_version", json_integer(r->policy_version));
	bad |= put(doc, "register_name",
		   str_or_null(tx(&p->register_name, en)));
	bad |= put(doc, "controller", controller_json(p));
	bad |= put(doc, "contact_person", contact_json(p));
	bad |= put(doc, "supervisory_authority", authority_json(p, en));
	bad |= put(doc, "subject", subject_json(p, &sub, en));
	bad |= put(
		doc, "purposes",
		named_list(p->purposes, p->npurposes, g.purpose_held, en, 0));
	bad |= put(doc, "categories",
		   named_list(p->categories, p->ncategories, g.category_held,
			      en, 0));
	bad |= put(doc, "sources",
		   named_list(p->sources, p->nsources, g.source_held, en, 1));
	bad |= put(doc, "values", g.values);
	g.values = NULL;
	bad |= put(doc, "records", g.records);
	g.records = NULL;
	bad |= label_ledger(p, ledger, en);
	bad |= put(doc, "ledger", ledger);
	ledger = NULL;
	bad |= put(doc, "recipients", recipients_json(p, g.purpose_held, en));
	/* What was disclosed of the subject, to whom, when and why (the
	 * disclosure log, disclose.c), read in a snapshot of its own. */
	if (!bad) {
		json_t *disclosures = NULL;

		st = disclose_log_json(r, &sub, en, &disclosures);
		if (st != RK_OK)
			goto out;
		bad |= put(doc, "disclosures", disclosures);
	}
	bad |= put(doc, "retention", retention_json(&g));
	bad |= put(doc, "rights", rights_json(en));
	if (bad) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	memcpy(names, g.names, NAMES_MAX);
	*doc_out = doc;
	doc = NULL;
out:
	if (reading)
		reg_end_read(r);
	json_free_secret(doc);
	json_free_secret(ledger);
	gather_free(&g);
	sec_key_free(dk);
	return st;
}

/* ---- writing files ------------------------------------------------------- */

/* DIR for personal data: created 0700 when missing; an existing one must
 * be a directory (a symbolic link is refused). */
static rk_status make_dir(rk_register *r, const char *dir)
{
	struct stat sb;

	if (dir == NULL || dir[0] == '\0')
		return reg_fail(r, RK_EINVAL, "no output directory given");
	if (strlen(dir) > PATH_CAP - 64)
		return reg_fail(r, RK_EINVAL,
				"the output directory's path is "
				"too long");
	if (mkdir(dir, 0700) == 0)
		return RK_OK;
	if (errno != EEXIST)
		return reg_fail(r, errno == ENOENT ? RK_EINVAL : RK_ESYS,
				"cannot create the output directory: %s",
				strerror(errno));
	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return reg_fail(r, RK_EINVAL,
				"the output path exists and is not a "
				"directory");
	return RK_OK;
}

static int join(char out[PATH_CAP], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);

	return n < 0 || n >= PATH_CAP ? -1 : 0;
}

static int path_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* The attachment files the document names, none of which may exist yet:
 * checked before anything is read or written. */
static rk_status attachments_free_names(rk_register *r, const json_t *doc,
					const char *dir)
{
	const json_t *rec;
	char path[PATH_CAP];
	size_t i;

	json_array_foreach(json_object_get(doc, "records"), i, rec)
	{
		const char *file = json_string_value(json_object_get(
			json_object_get(rec, "attachment"), "file"));
		if (file == NULL)
			continue;
		if (join(path, dir, file) != 0)
			return reg_fail(r, RK_EINVAL,
					"the output directory's path is too "
					"long");
		if (path_exists(path))
			return reg_fail(r, RK_EINVAL,
					"the output directory holds an "
					"attachment file of this export "
					"already; refusing to overwrite it");
	}
	return RK_OK;
}

/* Writes every attachment the document names into dir (after the audit
 * entry). The subject key is taken again: the gathering's was wiped. */
static rk_status write_attachments(rk_register *r, const char *id,
				   const json_t *doc, const char *dir)
{
	const json_t *rec;
	store_subject sub;
	unsigned char *dk = NULL;
	char path[PATH_CAP];
	size_t i;
	rk_status st;

	st = reg_load_subject(r, id, &sub);
	if (st == RK_OK)
		st = reg_subject_key(r, &sub, &dk);
	json_array_foreach(json_object_get(doc, "records"), i, rec)
	{
		const json_t *att = json_object_get(rec, "attachment");
		const char *file =
			json_string_value(json_object_get(att, "file"));

		if (st != RK_OK)
			break;
		if (file == NULL)
			continue;
		if (join(path, dir, file) != 0) {
			st = reg_fail(r, RK_EINVAL,
				      "the output directory's path is too "
				      "long");
			break;
		}
		st = record_attachment_save(
			r, sub.id, dk,
			(int64_t)json_integer_value(json_object_get(rec, "id")),
			(int64_t)json_integer_value(
				json_object_get(att, "size")),
			path);
	}
	sec_key_free(dk);
	return st;
}

/* ---- the access report --------------------------------------------------- */

static rk_status lang_of(rk_register *r, const char *lang, int *en)
{
	if (lang == NULL || strcmp(lang, "fi") == 0)
		*en = 0;
	else if (strcmp(lang, "en") == 0)
		*en = 1;
	else
		return reg_fail(r, RK_EINVAL,
				"unknown language: the report is in fi "
				"(Finnish) or en (English)");
	return RK_OK;
}

rk_status rk_export(rk_register *r, const char *id,
		    const rk_export_options *opts, char **doc_out)
{
	const audit_action action = AUD_SUBJECT_EXPORT;
	const char *dir = opts != NULL ? opts->attachments_dir : NULL;
	json_t *doc = NULL;
	char *text = NULL, names[NAMES_MAX] = "", pseudonym[33] = "";
	int en = 0, audited = 0, html;
	rk_status st;
	audit_ev ev;

	if (doc_out != NULL)
		*doc_out = NULL;
	if (opts == NULL ||
	    (opts->format != RK_EXPORT_JSON && opts->format != RK_EXPORT_HTML))
		return reg_fail(r, RK_EINVAL,
				"the export's format is JSON or HTML");
	html = opts->format == RK_EXPORT_HTML;
	if (doc_out == NULL && dir == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the export");
	st = lang_of(r, opts->lang, &en);
	if (st != RK_OK)
		goto out;
	if (!may_export(r)) {
		audited = 1;
		st = refuse(r, action, id);
		goto out;
	}
	if (dir != NULL && (st = make_dir(r, dir)) != RK_OK)
		goto out;
	st = gather_doc(r, id, en, &doc, names, pseudonym);
	if (st != RK_OK)
		goto out;
	if (dir != NULL && (st = attachments_free_names(r, doc, dir)) != RK_OK)
		goto out;
	if (doc_out != NULL) {
		if (html)
			st = export_html_render(doc, en, &text);
		else if ((text = json_dumps(
				  doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
			 NULL)
			st = RK_ESYS;
		if (st != RK_OK || text == NULL) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
	}
	/* One entry for the whole report, in the trail before any of it
	 * leaves. */
	audit_ev_set(&ev, r, action, pseudonym, names[0] ? names : NULL, NULL,
		     "ok");
	st = audit_read(r, &ev);
	if (st != RK_OK) {
		audited = 1;
		goto out;
	}
	if (dir != NULL) {
		st = write_attachments(r, id, doc, dir);
		if (st != RK_OK) {
			audit_ev_set(&ev, r, action, pseudonym, NULL, NULL,
				     "failed");
			(void)audit_read(r, &ev);
			audited = 1;
			goto out;
		}
	}
	if (doc_out != NULL) {
		*doc_out = text;
		text = NULL;
	}
out:
	if (st != RK_OK && st != RK_ESYS && !audited)
		reg_audit_attempt(r, action, pseudonym[0] ? pseudonym : NULL,
				  NULL, st);
	reg_free_secret(text);
	json_free_secret(doc);
	return st;
}

rk_status rk_export_json(rk_register *r, const char *id, const char *lang,
			 char **json_out)
{
	rk_export_options o = {RK_EXPORT_JSON, lang, NULL};

	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the export");
	return rk_export(r, id, &o, json_out);
}

rk_status rk_export_html(rk_register *r, const char *id, const char *lang,
			 char **html_out)
{
	rk_export_options o = {RK_EXPORT_HTML, lang, NULL};

	if (html_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the export");
	return rk_export(r, id, &o, html_out);
}

rk_status rk_export_attachments(rk_register *r, const char *id, const char *dir)
{
	rk_export_options o = {RK_EXPORT_JSON, NULL, dir};

	if (dir == NULL)
		return reg_fail(r, RK_EINVAL, "no output directory given");
	return rk_export(r, id, &o, NULL);
}

/* ---- portability --------------------------------------------------------- */

/* Appends one CSV cell (RFC 4180: quoted when it holds a comma, quote or
 * line end; quotes doubled). */
static int csv_cell(FILE *f, const char *s, int first)
{
	int quote = strpbrk(s, ",\"\r\n") != NULL;

	if (!first && fputc(',', f) == EOF)
		return -1;
	if (!quote)
		return fputs(s, f) == EOF ? -1 : 0;
	if (fputc('"', f) == EOF)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '"' && fputc('"', f) == EOF)
			return -1;
		if (fputc(*s, f) == EOF)
			return -1;
	}
	return fputc('"', f) == EOF ? -1 : 0;
}

/* A record field's value as one cell: a list's elements one a line. */
static char *cell_text(const json_t *v)
{
	const json_t *e;
	size_t i, n = 0;
	char *out;

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (!json_is_array(v))
		return strdup("");
	json_array_foreach(v, i, e) n += json_string_length(e) + 1;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	n = 0;
	json_array_foreach(v, i, e)
	{
		size_t k = json_string_length(e);
		if (i > 0)
			out[n++] = '\n';
		memcpy(out + n,
		       json_string_value(e) ? json_string_value(e) : "",
		       json_string_value(e) ? k : 0);
		n += json_string_value(e) ? k : 0;
	}
	out[n] = '\0';
	return out;
}

/* A new file in dir, 0600, never over an existing one. */
static FILE *new_file(rk_register *r, const char *dir, const char *name,
		      char path[PATH_CAP], rk_status *st)
{
	int fd;
	FILE *f;

	if (join(path, dir, name) != 0) {
		*st = reg_fail(r, RK_EINVAL,
			       "the output directory's path is too long");
		return NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		*st = errno == EEXIST
			      ? reg_fail(r, RK_EINVAL,
					 "the output directory holds a file "
					 "of this export already; refusing "
					 "to overwrite it")
			      : reg_fail(r, RK_ESYS,
					 "cannot create an output file: %s",
					 strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(path);
		*st = reg_fail(r, RK_ESYS, "cannot create an output file");
	}
	return f;
}

static rk_status close_file(rk_register *r, FILE *f, int failed)
{
	int bad = failed || fflush(f) != 0 || fsync(fileno(f)) != 0;

	bad |= fclose(f) != 0;
	return bad ? reg_fail(r, RK_ESYS, "cannot write an output file")
		   : RK_OK;
}

/* What a portable export holds, picked from the report's document: the
 * values and records marked "provided" (a provided source, a consent or
 * contract basis). */
struct portable {
	json_t *fields;	 /* name -> value or [values] */
	json_t *records; /* type -> [record] */
	char names[NAMES_MAX];
};

static rk_status pick_portable(rk_register *r, const json_t *doc,
			       struct portable *pt)
{
	const policy *p = r->pol;
	const json_t *v, *rec;
	size_t i;

	pt->fields = json_object();
	pt->records = json_object();
	if (pt->fields == NULL || pt->records == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	json_array_foreach(json_object_get(doc, "values"), i, v)
	{
		const char *name =
			json_string_value(json_object_get(v, "field"));
		const json_t *val = json_object_get(v, "value");
		size_t fi = name ? policy_field(p, name) : POL_NONE;
		json_t *cur;

		if (!json_is_true(json_object_get(v, "provided")) ||
		    !json_is_string(val) || fi == POL_NONE)
			continue;
		cur = json_object_get(pt->fields, name);
		if (p->fields[fi].multiple) {
			if (cur == NULL) {
				cur = json_array();
				if (cur == NULL ||
				    json_object_set_new(pt->fields, name,
							cur) != 0)
					return reg_fail(r, RK_ESYS,
							"out of memory");
			}
			if (json_array_append_new(cur, json_deep_copy(val)) !=
			    0)
				return reg_fail(r, RK_ESYS, "out of memory");
		} else if (json_object_set_new(pt->fields, name,
					       json_deep_copy(val)) != 0) {
			return reg_fail(r, RK_ESYS, "out of memory");
		}
		csv_add(pt->names, sizeof pt->names, name);
	}
	json_array_foreach(json_object_get(doc, "records"), i, rec)
	{
		const char *type =
			json_string_value(json_object_get(rec, "type"));
		json_t *list;

		if (!json_is_true(json_object_get(rec, "provided")) ||
		    type == NULL || policy_record_type(p, type) == POL_NONE)
			continue;
		list = json_object_get(pt->records, type);
		if (list == NULL) {
			list = json_array();
			if (list == NULL ||
			    json_object_set_new(pt->records, type, list) != 0)
				return reg_fail(r, RK_ESYS, "out of memory");
		}
		if (json_array_append(list, (json_t *)rec) != 0)
			return reg_fail(r, RK_ESYS, "out of memory");
		csv_add(pt->names, sizeof pt->names, type);
	}
	return RK_OK;
}

static rk_status write_csv(rk_register *r, const char *dir,
			   const pol_record_type *rt, const json_t *list,
			   char path[PATH_CAP])
{
	char name[80];
	const json_t *rec, *fv;
	FILE *f;
	rk_status st = RK_OK;
	size_t i, k, j;
	int bad = 0;

	snprintf(name, sizeof name, "%s.csv", rt->name);
	f = new_file(r, dir, name, path, &st);
	if (f == NULL)
		return st;
	for (k = 0; k < rt->nfields; k++)
		bad |= csv_cell(f, rt->fields[k].name, k == 0);
	bad |= fputs("\r\n", f) == EOF;
	json_array_foreach(list, i, rec)
	{
		const json_t *fields = json_object_get(rec, "fields");

		for (k = 0; k < rt->nfields && !bad; k++) {
			const json_t *val = NULL;
			char *cell;

			json_array_foreach(fields, j, fv)
			{
				const char *n = json_string_value(
					json_object_get(fv, "name"));
				if (n != NULL &&
				    strcmp(n, rt->fields[k].name) == 0)
					val = json_object_get(fv, "value");
			}
			cell = cell_text(val);
			if (cell == NULL) {
				bad = 1;
				break;
			}
			bad |= csv_cell(f, cell, k == 0);
			reg_free_secret(cell);
		}
		bad |= fputs("\r\n", f) == EOF;
	}
	return close_file(r, f, bad);
}

rk_status rk_export_portable(rk_register *r, const char *id, const char *dir)
{
	const audit_action action = AUD_SUBJECT_EXPORT_PORTABLE;
	const policy *p = r->pol;
	struct portable pt;
	json_t *doc = NULL, *out = NULL, *files = NULL;
	char names[NAMES_MAX] = "", pseudonym[33] = "", path[PATH_CAP];
	char *text = NULL, **made = NULL;
	size_t nmade = 0, ti;
	const char *type;
	json_t *list;
	int audited = 0, bad = 0;
	FILE *f;
	rk_status st;
	audit_ev ev;

	memset(&pt, 0, sizeof pt);
	if (!may_export(r)) {
		audited = 1;
		st = refuse(r, action, id);
		goto out;
	}
	st = make_dir(r, dir);
	if (st != RK_OK)
		goto out;
	st = gather_doc(r, id, 0, &doc, names, pseudonym);
	if (st == RK_OK)
		st = pick_portable(r, doc, &pt);
	if (st != RK_OK)
		goto out;
	/* Every file this export makes must be new: checked before the
	 * read is audited and anything is written. */
	if (join(path, dir, "subject.json") != 0 || path_exists(path))
		st = reg_fail(r, RK_EINVAL,
			      "the output directory holds a file of this "
			      "export already; refusing to overwrite it");
	json_object_foreach(pt.records, type, list)
	{
		char name[80];
		snprintf(name, sizeof name, "%s.csv", type);
		if (st == RK_OK &&
		    (join(path, dir, name) != 0 || path_exists(path)))
			st = reg_fail(r, RK_EINVAL,
				      "the output directory holds a file of "
				      "this export already; refusing to "
				      "overwrite it");
	}
	if (st != RK_OK)
		goto out;
	out = json_object();
	files = json_object();
	if (out == NULL || files == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	json_object_foreach(pt.records, type, list)
	{
		char name[80];
		snprintf(name, sizeof name, "%s.csv", type);
		bad |= put(files, type, json_string(name));
	}
	bad |= put(out, "schema", json_string(PORTABLE_SCHEMA));
	bad |= put(out, "version", json_integer(RK_EXPORT_VERSION));
	bad |= put(out, "exported_at", time_json(reg_now(r)));
	bad |= put(out, "controller",
		   json_string(p->controller.name ? p->controller.name : ""));
	bad |= put(out, "kind",
		   json_deep_copy(json_object_get(
			   json_object_get(doc, "subject"), "kind")));
	bad |= put(out, "fields", pt.fields);
	pt.fields = NULL;
	bad |= put(out, "records", files);
	files = NULL;
	if (bad) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	audit_ev_set(&ev, r, action, pseudonym, pt.names[0] ? pt.names : NULL,
		     NULL, "ok");
	st = audit_read(r, &ev);
	if (st != RK_OK) {
		audited = 1;
		goto out;
	}
	made = calloc(json_object_size(pt.records) + 1, sizeof *made);
	if (made == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto fail;
	}
	f = new_file(r, dir, "subject.json", path, &st);
	if (f == NULL)
		goto fail;
	made[nmade++] = strdup(path);
	st = close_file(r, f, fputs(text, f) == EOF || fputc('\n', f) == EOF);
	if (st != RK_OK)
		goto fail;
	json_object_foreach(pt.records, type, list)
	{
		ti = policy_record_type(p, type);
		st = write_csv(r, dir, &p->record_types[ti], list, path);
		/* every name was free before: one there now is this one's */
		if (path_exists(path))
			made[nmade++] = strdup(path);
		if (st != RK_OK)
			goto fail;
	}
	goto out;
fail:
	/* Nothing half-made stays behind. */
	for (size_t i = 0; made != NULL && i < nmade; i++)
		if (made[i] != NULL)
			unlink(made[i]);
	audit_ev_set(&ev, r, action, pseudonym, NULL, NULL, "failed");
	(void)audit_read(r, &ev);
	audited = 1;
out:
	if (st != RK_OK && st != RK_ESYS && !audited)
		reg_audit_attempt(r, action, pseudonym[0] ? pseudonym : NULL,
				  NULL, st);
	for (size_t i = 0; made != NULL && i < nmade; i++)
		free(made[i]);
	free(made);
	reg_free_secret(text);
	json_free_secret(out);
	json_free_secret(files);
	json_free_secret(pt.fields);
	json_free_secret(pt.records);
	json_free_secret(doc);
	return st;
}
