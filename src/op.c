/*
 * op.c: what every operation on a subject's data does before it acts: the
 * purpose by name, the subject loaded and checked for that purpose (a
 * direct-marketing prohibition, a restriction of processing), its data key
 * unwrapped; values validated and normalised by their policy type; expiry
 * dates by the retention rules; errors that never repeat an unknown name.
 * The operations (subjects, records, consents, rights, disclosures) call
 * these and never each other for them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "ident.h"
#include "json_secret.h"
#include "integrity.h"
#include "ledger.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define NAMES_MAX    512

/* Whether name is a member of the comma-separated list csv. */
int csv_has(const char *csv, const char *name)
{
	size_t n = strlen(name);
	const char *p = csv;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t len = e == NULL ? strlen(p) : (size_t)(e - p);
		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p = e == NULL ? NULL : e + 1;
	}
	return 0;
}

/* Appends name to a comma-separated list held in buf; marks overflow. */
void csv_add(char *buf, size_t cap, const char *name)
{
	if (!csv_has(buf, name))
		csv_append(buf, cap, name);
}

void csv_append(char *buf, size_t cap, const char *name)
{
	size_t len = strlen(buf), n = strlen(name);

	if (len + n + 2 > cap) {
		if (len + 4 < cap)
			memcpy(buf + len, ",..", 4);
		return;
	}
	if (len > 0)
		buf[len++] = ',';
	memcpy(buf + len, name, n + 1);
}

struct json_t *csv_json(const char *csv)
{
	json_t *a = json_array();
	const char *p = csv;

	while (a != NULL && p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t len = e == NULL ? strlen(p) : (size_t)(e - p);
		if (json_array_append_new(a, json_stringn(p, len)) != 0) {
			json_decref(a);
			return NULL;
		}
		p = e == NULL ? NULL : e + 1;
	}
	return a;
}

static int decimal_ok(const char *s)
{
	size_t i = 0, digits = 0, frac = 0;

	if (s[i] == '-')
		i++;
	while (s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (s[i] == '.') {
		i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++, frac++;
		if (frac == 0)
			return 0;
	}
	return s[i] == '\0' && digits > 0 && digits <= 15 && frac <= 6;
}

/* Validates and normalises one value of field f into out. */
rk_status value_normalise(rk_register *r, const pol_field *f, const char *in,
			  char *out, size_t outsz)
{
	const policy *p = r->pol;
	const char *why = "invalid value";
	size_t i, n, max;
	int rc = -1;

	out[0] = '\0';
	switch (f->type) {
	case PT_EMAIL:
		rc = ident_email(in, out, outsz, &why);
		break;
	case PT_PHONE:
		rc = ident_phone(in, p->settings.country_code, out, outsz,
				 &why);
		break;
	case PT_POSTAL_CODE:
		rc = ident_postal_code(in, out, outsz, &why);
		break;
	case PT_DATE:
		rc = ident_date(in, out, outsz, &why);
		if (rc == 0 && f->past) {
			char today[11];
			reg_today(r, today);
			if (strcmp(out, today) > 0) {
				why = "the date is in the future";
				rc = -1;
			}
		}
		break;
	case PT_HETU:
		rc = ident_hetu(in, p->settings.allow_temporary_hetu, out,
				outsz, &why);
		if (rc == 0) {
			/* A HETU is issued at birth, never before. */
			char born[11], today[11];
			reg_today(r, today);
			if (ident_hetu_birth_date(out, born) != 0 ||
			    strcmp(born, today) > 0) {
				why = "the HETU's birth date is in the future";
				rc = -1;
			}
		}
		break;
	case PT_BUSINESS_ID:
		rc = ident_ytunnus(in, out, outsz, &why);
		break;
	case PT_COUNTRY:
		rc = ident_country(in, out, outsz, &why);
		break;
	case PT_ENUM:
		why = "not one of the values the policy allows";
		for (i = 0; i < f->nvalues; i++)
			if (strcmp(in, f->values[i]) == 0) {
				n = strlen(in);
				if (n < outsz) {
					memcpy(out, in, n + 1);
					rc = 0;
				}
				break;
			}
		break;
	case PT_CUSTOMER_NUMBER:
		why = "not a customer number";
		n = strlen(in);
		rc = n > 0 && n < 20 && n < outsz ? 0 : -1;
		for (i = 0; rc == 0 && i < n; i++)
			if (in[i] < '0' || in[i] > '9')
				rc = -1;
		if (rc == 0)
			memcpy(out, in, n + 1);
		break;
	case PT_PASSWORD:
		n = strlen(in);
		why = "a password is 8 to 1024 bytes";
		if (n >= PASSWORD_MIN && n <= PASSWORD_MAX && n < outsz) {
			memcpy(out, in, n + 1);
			rc = 0;
		}
		break;
	case PT_DECIMAL:
	case PT_INTEGER:
		why = "not a number";
		n = strlen(in);
		if (decimal_ok(in) && n < outsz &&
		    (f->type == PT_DECIMAL || strchr(in, '.') == NULL)) {
			memcpy(out, in, n + 1);
			rc = 0;
		}
		break;
	default:
		max = f->max_len ? f->max_len : REG_TEXT_DEFAULT_MAX;
		if (max >= REG_VALUE_MAX)
			max = REG_VALUE_MAX - 1;
		rc = f->multiline ? ident_text_lines(in, max, out, outsz, &why)
				  : ident_text(in, max, out, outsz, &why);
		break;
	}
	if (rc != 0) {
		out[0] = '\0';
		return reg_fail(r, RK_EINVAL, "field %s: %s", f->name, why);
	}
	return RK_OK;
}

/* The end of the financial year (settings.financial_year_end) that time t
 * falls in, or with calendar the last day of the calendar year in which
 * that financial year ends (Kirjanpitolaki 2:10: vouchers are kept from
 * there). "" when out of range. */
static void fy_end_of(const policy *p, int64_t t, int calendar, char out[11])
{
	char d[11];
	int y, m, day, fm = p->settings.fy_month, fd = p->settings.fy_day;

	out[0] = '\0';
	if (fm < 1 || fd < 1) { /* a policy from before the setting */
		fm = 12;
		fd = 31;
	}
	ident_date_of(t, d);
	if (d[0] == '\0')
		return;
	y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 +
	    (d[3] - '0');
	m = (d[5] - '0') * 10 + (d[6] - '0');
	day = (d[8] - '0') * 10 + (d[9] - '0');
	if (m > fm || (m == fm && day > fd))
		y++;
	if (y > 9999 || fm > 12 || fd > 31)
		return;
	/* Written digit by digit: every part is in range here. */
	if (calendar) {
		fm = 12;
		fd = 31;
	}
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + fm / 10);
	out[6] = (char)('0' + fm % 10);
	out[7] = '-';
	out[8] = (char)('0' + fd / 10);
	out[9] = (char)('0' + fd % 10);
	out[10] = '\0';
}

void reg_expiry(const rk_register *r, size_t ri, int64_t collected,
		const char *rel_end, char out[11])
{
	const pol_retention *ret;
	char base[11];

	out[0] = '\0';
	if (ri == POL_NONE)
		return;
	ret = &r->pol->retention[ri];
	switch (ret->from) {
	case RET_COLLECTION:
		ident_date_of(collected, base);
		break;
	case RET_RELATIONSHIP_END:
		if (rel_end == NULL || rel_end[0] == '\0')
			return;
		memcpy(base, rel_end, 11);
		break;
	case RET_FISCAL_YEAR_END:
	case RET_CALENDAR_YEAR_END:
		fy_end_of(r->pol, collected, ret->from == RET_CALENDAR_YEAR_END,
			  base);
		if (base[0] == '\0')
			return;
		break;
	default:
		return;
	}
	if (ident_date_add(base, ret->years, ret->months, ret->days, out) != 0)
		out[0] = '\0';
}

/* The retention rule of a field for a kind of subject: the kind's own rule
 * (prospects) wins over the field's. */
static size_t field_retention(const policy *p, size_t kind, size_t field)
{
	if (kind != POL_NONE && p->kinds[kind].retention != POL_NONE)
		return p->kinds[kind].retention;
	return p->fields[field].retention;
}

size_t reg_value_rule(const policy *p, size_t kind, size_t field)
{
	return field == POL_NONE ? POL_NONE : field_retention(p, kind, field);
}

/* "unknown <what>: the policy declares a, b, c": a name that is not in the
 * policy may be anything the caller typed, even personal data, so it is
 * never repeated; the names that would do are. */
rk_status reg_unknown_field(rk_register *r, const char *what,
			    const pol_field *fields, size_t n)
{
	char names[NAMES_MAX] = "";
	size_t i;

	for (i = 0; i < n; i++)
		csv_add(names, sizeof names, fields[i].name);
	return reg_fail(r, RK_EINVAL, "unknown %s: the policy declares %s",
			what, names);
}

rk_status reg_unknown_named(rk_register *r, const char *what,
			    const pol_named *items, size_t n)
{
	char names[NAMES_MAX] = "";
	size_t i;

	for (i = 0; i < n; i++)
		csv_add(names, sizeof names, items[i].name);
	return reg_fail(r, RK_EINVAL, "unknown %s: the policy declares %s",
			what, names);
}

rk_status reg_resolve_purpose(rk_register *r, const char *purpose, size_t *pu)
{
	const policy *p = r->pol;

	*pu = purpose == NULL ? p->settings.default_purpose
			      : policy_purpose(p, purpose);
	if (*pu == POL_NONE)
		return reg_unknown_named(r, "purpose", p->purposes,
					 p->npurposes);
	return RK_OK;
}

/* The refusal of a restricted subject's data for any purpose but legal
 * claims. */
static rk_status restricted_refusal(rk_register *r)
{
	return r->pol->settings.legal_claims_purpose == POL_NONE
		       ? reg_fail(r, RK_EREFUSED,
				  "the subject's processing is restricted "
				  "(GDPR Art. 18): its data is only stored "
				  "until the restriction is lifted")
		       : reg_fail(
				 r, RK_EREFUSED,
				 "the subject's processing is restricted "
				 "(GDPR Art. 18): its data may be used only "
				 "for the purpose %s until the restriction "
				 "is lifted",
				 r->pol->purposes[r->pol->settings
							  .legal_claims_purpose]
					 .name);
}

static rk_status subject_for(rk_register *r, const char *id, size_t pu,
			     int rectify, store_subject *sub,
			     unsigned char **dk)
{
	rk_status st = reg_load_subject(r, id, sub);
	int restricted = 0;

	*dk = NULL;
	if (st == RK_OK)
		st = access_dm_check(r, pu, sub->id);
	/* A restricted subject's data is only stored (GDPR Art. 18(2)):
	 * read or added to for legal claims alone, corrected always. */
	if (st == RK_OK && !rectify &&
	    pu != r->pol->settings.legal_claims_purpose)
		restricted = ledger_restricted(r, sub);
	if (restricted < 0)
		st = ledger_err(restricted);
	else if (restricted > 0)
		st = restricted_refusal(r);
	if (st == RK_OK)
		st = reg_subject_key(r, sub, dk);
	return st;
}

rk_status reg_subject_for(rk_register *r, const char *id, size_t pu,
			  store_subject *sub, unsigned char **dk)
{
	return subject_for(r, id, pu, 0, sub, dk);
}

rk_status reg_read_subject(rk_register *r, const char *id, size_t pu,
			   store_subject *sub, unsigned char **dk, int *reading)
{
	rk_status st = reg_begin_read(r);

	if (st != RK_OK)
		return st;
	*reading = 1;
	return reg_subject_for(r, id, pu, sub, dk);
}

rk_status reg_subject_to_rectify(rk_register *r, const char *id, size_t pu,
				 store_subject *sub, unsigned char **dk)
{
	return subject_for(r, id, pu, 1, sub, dk);
}

/* ---- a record's sealed fields ---- */

int reg_record_ad(char *out, size_t cap, const char *type)
{
	int n = snprintf(out, cap, "record:%s", type);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

rk_status reg_record_open(rk_register *r, const store_subject *sub,
			  const unsigned char *dk, const store_record *rec,
			  json_t **out)
{
	char ad[REG_RECORD_AD_MAX];
	unsigned char *pt = NULL;
	size_t len;
	rk_status st = RK_OK;

	*out = NULL;
	if (rec->ctlen < SEC_SEAL_OVERHEAD ||
	    reg_record_ad(ad, sizeof ad, rec->type) != 0)
		return reg_fail(r, RK_EINTEGRITY, "a stored record is damaged");
	len = rec->ctlen - SEC_SEAL_OVERHEAD;
	pt = malloc(len + 1);
	if (pt == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (sec_open(dk, sub->id, ad, rec->ct, rec->ctlen, pt) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "a stored record does not decrypt: the "
			      "database was altered or damaged");
		goto out;
	}
	*out = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, NULL);
	if (*out == NULL || !json_is_object(*out)) {
		json_free_secret(*out);
		*out = NULL;
		st = reg_fail(r, RK_EINTEGRITY, "a stored record is damaged");
	}
out:
	sec_wipe(pt, len + 1);
	free(pt);
	return st;
}

/* ---- JSON handed out ------------------------------------------------------
 * One format for every operation that returns a JSON text. */

rk_status reg_json_out(rk_register *r, const json_t *j, char **out)
{
	*out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	return *out != NULL ? RK_OK : reg_fail(r, RK_ESYS, "out of memory");
}

rk_status reg_read_out(rk_register *r, rk_status st, audit_action action,
		       const char *subject, const char *fields, const json_t *j,
		       char **json_out)
{
	audit_ev ev;

	if (st == RK_OK)
		st = reg_json_out(r, j, json_out);
	if (st == RK_OK) {
		audit_ev_set(&ev, r, action, subject, fields, NULL, "ok");
		st = audit_read(r, &ev);
	}
	if (st != RK_OK) {
		if (st != RK_ESYS)
			reg_audit_attempt(r, action, subject, NULL, st);
		reg_free_secret(*json_out);
		*json_out = NULL;
	}
	return st;
}

/* ---- the end of a write ---------------------------------------------------
 * The entry goes in the same transaction as the change, so that neither is
 * kept without the other. */

rk_status reg_write_commit(rk_register *r, audit_action action,
			   const char *subject, const char *fields,
			   const char *purpose)
{
	audit_ev ev;
	rk_status st;

	audit_ev_set(&ev, r, action, subject, fields, purpose, "ok");
	st = audit_write(r, &ev);
	if (st == RK_OK)
		st = reg_commit(r);
	return st;
}

void reg_write_failed(rk_register *r, audit_action action,
		      const char *pseudonym, const char *purpose, rk_status st)
{
	reg_rollback(r);
	reg_audit_attempt(r, action, pseudonym, purpose, st);
}

/* ---- a stored value opened ------------------------------------------------
 */

rk_status reg_value_open(rk_register *r, const unsigned char *dk,
			 const char *sid, const store_value *v,
			 unsigned char **pt, size_t *len)
{
	*pt = NULL;
	*len = 0;
	if (v->ctlen < SEC_SEAL_OVERHEAD)
		return reg_fail(r, RK_EINTEGRITY, "a stored value is damaged");
	*pt = malloc(v->ctlen - SEC_SEAL_OVERHEAD + 1);
	if (*pt == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (sec_open(dk, sid, v->field, v->ct, v->ctlen, *pt) != 0) {
		free(*pt);
		*pt = NULL;
		return reg_fail(r, RK_EINTEGRITY,
				"a stored value does not decrypt: the "
				"database was altered or damaged");
	}
	*len = v->ctlen - SEC_SEAL_OVERHEAD;
	(*pt)[*len] = '\0';
	return RK_OK;
}

/* ---- speed: a normalised value wiped by its size --------------------------
 * A caller's buffer holds REG_VALUE_MAX bytes and is wiped after use: 4 KiB
 * of wiping per look-up was a tenth of its cost. A canonical form is at
 * most a few bytes longer than its input (a phone's country code, a date's
 * zeros), so the first try gets that much room; a value that needs more,
 * or fails, is normalised again with all of it, so nothing changes but how
 * much there is to wipe. */
#define NORM_SLACK 64

rk_status value_normalise_fit(rk_register *r, const pol_field *f,
			      const char *in, char *out, size_t cap,
			      size_t *used)
{
	size_t fit = strlen(in) + NORM_SLACK;

	if (fit < cap) {
		*used = fit;
		if (value_normalise(r, f, in, out, fit) == RK_OK)
			return RK_OK;
		sec_wipe(out, fit);
	}
	*used = cap;
	return value_normalise(r, f, in, out, cap);
}

/* ---- a subject's read: one walk of its ledger -----------------------------
 */

rk_status reg_subject_for_read(rk_register *r, const char *id, size_t pu,
			       store_subject *sub, unsigned char **dk,
			       int *objected)
{
	rk_status st = reg_load_subject(r, id, sub);
	int restricted = 0, rc = 0;

	*dk = NULL;
	*objected = 0;
	if (st == RK_OK)
		st = access_dm_check(r, pu, sub->id);
	/* As subject_for: restricted data only for legal claims. */
	if (st == RK_OK)
		rc = ledger_read_flags(
			r, sub, pu, pu != r->pol->settings.legal_claims_purpose,
			&restricted, objected);
	if (rc < 0)
		st = ledger_err(rc);
	else if (restricted > 0)
		st = restricted_refusal(r);
	if (st == RK_OK)
		st = reg_subject_key(r, sub, dk);
	return st;
}
