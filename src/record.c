/*
 * record.c: relationship records (record types of the policy): purchases,
 * payments, feedback, location, messages ... Each record is a JSON object of
 * its type's fields, validated and normalised against the policy, sealed as
 * one value with the subject's data key, and stored with the type's
 * purposes, legal basis, source and expiry. An attachment (a call
 * recording, a message) is streamed in sealed chunks of CHUNK_BYTES.
 *
 * Card data: only the payment provider's token, the last four digits and
 * the expiry are ever stored. Any value that holds 13 to 19 digits passing
 * the Luhn check, in any digit forms and groupings (ident_has_card_number),
 * is refused as a full card number, whatever field it is in; and so is a
 * HETU (ident_has_hetu), which belongs in the subject's hetu field only.
 *
 * Source: a record takes its type's source from the policy (a required key
 * of every record type); the first source of the policy is only a fallback
 * for a model built without one.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto.h"
#include "json_secret.h"
#include "ident.h"
#include "integrity.h"
#include "ledger.h"
#include "policy.h"
#include "record.h"
#include "register.h"
#include "store.h"

#define RECORD_JSON_MAX	   (1024 * 1024)
#define CHUNK_BYTES	   (64 * 1024)
#define ATTACH_DEFAULT_MAX ((int64_t)32 * 1024 * 1024)
/* value_normalise caps text below REG_VALUE_MAX bytes; record texts
 * (messages, feedback) may declare more, and URLs need more than the text
 * default. */
#define URL_MAX	       2048
#define NAMES_MAX      512
#define AD_MAX	       96
#define MEDIA_TYPE_MAX 127
#define COOKIE_MAX     200
#define NUM_MAX	       64
/* The consent scope whose use is also stopped by a direct-marketing
 * prohibition (ledger_personalisation_allowed). */

/* ---- small helpers ------------------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Associated data of one attachment chunk: the record and the chunk's
 * place bind it, so chunks cannot be swapped between records or reordered,
 * and the final chunk is marked, so a cut tail is detected too. */
static void chunk_ad(char out[AD_MAX], int64_t record_id, int64_t seq, int last)
{
	snprintf(out, AD_MAX, "attachment:%" PRId64 ":%" PRId64 "%s", record_id,
		 seq, last ? ":last" : "");
}

static const pol_record_type *record_type(const rk_register *r, const char *t)
{
	size_t ti = t == NULL ? POL_NONE : policy_record_type(r->pol, t);

	return ti == POL_NONE ? NULL : &r->pol->record_types[ti];
}

static rk_status unknown_type(rk_register *r)
{
	char names[NAMES_MAX] = "";
	size_t i;

	/* The unknown name is not repeated: it may be anything typed. */
	for (i = 0; i < r->pol->nrecord_types; i++)
		csv_add(names, sizeof names, r->pol->record_types[i].name);
	return reg_fail(r, RK_EINVAL,
			"unknown record type: the policy declares %s", names);
}

static int type_serves(const pol_record_type *rt, size_t pu)
{
	size_t i;

	for (i = 0; i < rt->npurposes; i++)
		if (rt->purposes[i] == pu)
			return 1;
	return 0;
}

/* Whether records of type rt may be used for purpose pu as far as the
 * type's purpose consents go (policy "purpose_consents"): 1 when the purpose
 * needs no consent or the subject's consent is in force, 0 when not, -1 on
 * a store error with the handle's message set. The personalisation scope
 * also yields to a direct-marketing prohibition. */
static int purpose_consent_ok(rk_register *r, const char *subject_id,
			      const pol_record_type *rt, size_t pu)
{
	size_t sc = policy_record_purpose_consent(rt, pu);

	if (sc == POL_NONE)
		return 1;
	if (sc == r->pol->marketing.personalisation_consent)
		return ledger_personalisation_allowed(r, subject_id);
	return ledger_live(r, subject_id, sc);
}

static rk_status purpose_consent_refused(rk_register *r,
					 const pol_record_type *rt, size_t pu)
{
	const policy *p = r->pol;
	size_t sc = policy_record_purpose_consent(rt, pu);

	return reg_fail(r, RK_EREFUSED,
			"%s records are used for %s only with the subject's "
			"live consent (%s)%s",
			rt->name, p->purposes[pu].name, p->scopes[sc].name,
			sc == p->marketing.personalisation_consent
				? " and no direct-marketing prohibition"
				: "");
}

/* ---- types that value_normalise takes as plain text --------------------- */

/* n digits at s as a number; -1 if any is not a digit. */
static int num_at(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* ISO 8601 date-time with a zone: YYYY-MM-DDTHH:MM[:SS[.frac]](Z|+HH:MM|
 * -HH:MM). */
static int timestamp_ok(const char *s)
{
	size_t i = 16;
	int y, mo, d, h, mi, sec, oh, om;

	if (strlen(s) < 17 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':')
		return 0;
	y = num_at(s, 4);
	mo = num_at(s + 5, 2);
	d = num_at(s + 8, 2);
	h = num_at(s + 11, 2);
	mi = num_at(s + 14, 2);
	if (y < 1 || mo < 0 || d < 0 || !ident_date_exists(y, mo, d) || h < 0 ||
	    h > 23 || mi < 0 || mi > 59)
		return 0;
	if (s[i] == ':') {
		sec = num_at(s + i + 1, 2);
		if (sec < 0 || sec > 60)
			return 0;
		i += 3;
		if (s[i] == '.') {
			size_t f = 0;
			for (i++; is_digit(s[i]); i++)
				f++;
			if (f == 0 || f > 9)
				return 0;
		}
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
		return 1;
	if ((s[i] != '+' && s[i] != '-') || strlen(s + i) != 6 ||
	    s[i + 3] != ':')
		return 0;
	oh = num_at(s + i + 1, 2);
	om = num_at(s + i + 4, 2);
	return oh >= 0 && oh <= 14 && om >= 0 && om <= 59;
}

/* http or https, a host, no white space or characters that need quoting. */
static int url_ok(const char *s)
{
	size_t i, host = 0;

	if (strncasecmp(s, "https://", 8) == 0)
		i = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		i = 7;
	else
		return 0;
	for (; s[i] != '\0' && s[i] != '/' && s[i] != '?' && s[i] != '#'; i++)
		host++;
	if (host == 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == ' ' || s[i] == '"' || s[i] == '<' || s[i] == '>' ||
		    s[i] == '\\' || s[i] == '`')
			return 0;
	return 1;
}

/* -?D{1,3}(.D{1,10})? with |value| <= lim. */
static int degrees_ok(const char *s, int lim)
{
	size_t i = 0, idig = 0, fdig = 0;
	int ip = 0, frac_nonzero = 0;

	if (s[i] == '-')
		i++;
	/* At most three integer digits, refused before they overflow ip. */
	for (; is_digit(s[i]); i++, idig++) {
		if (idig == 3)
			return 0;
		ip = ip * 10 + (s[i] - '0');
	}
	if (idig == 0)
		return 0;
	if (s[i] == '.') {
		for (i++; is_digit(s[i]); i++, fdig++)
			frac_nonzero |= s[i] != '0';
		if (fdig == 0 || fdig > 10)
			return 0;
	}
	return s[i] == '\0' && (ip < lim || (ip == lim && !frac_nonzero));
}

/* Canonical text of an IPv4 or IPv6 address, in place (out holds at least
 * INET6_ADDRSTRLEN bytes). */
static int ip_canonical(char *s, size_t outsz)
{
	unsigned char b[16];

	if (outsz < INET6_ADDRSTRLEN)
		return 0;
	if (inet_pton(AF_INET, s, b) == 1)
		return inet_ntop(AF_INET, b, s, (socklen_t)outsz) != NULL;
	if (inet_pton(AF_INET6, s, b) == 1)
		return inet_ntop(AF_INET6, b, s, (socklen_t)outsz) != NULL;
	return 0;
}

/* A payment provider's token: letters, digits and _ . : / + = -, and not
 * just the digits of a card. */
static int card_token_ok(const char *s, int *looks_like_card)
{
	size_t i, digits = 0, other = 0;
	int spaced = 0;

	*looks_like_card = 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		/* A space is never part of a token; a number written with
		 * spaces or dashes is a card number, refused as such below. */
		if (c == ' ') {
			spaced = 1;
			continue;
		}
		if (is_digit(c))
			digits++;
		else if (c != '-')
			other++;
		if (!(is_digit(c) || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
		      c == ':' || c == '/' || c == '+' || c == '=' || c == '-'))
			return 0;
	}
	if (other == 0 && digits >= 12) {
		*looks_like_card = 1;
		return 0;
	}
	return i > 0 && !spaced;
}

static const char msg_card[] =
	"a card number is never stored, only the payment provider's token "
	"and the card's last four digits";

/* Checks, and canonicalises where needed, the types that value_normalise
 * accepts as plain text. */
static rk_status check_type(rk_register *r, const pol_field *f, char *v,
			    size_t vsz)
{
	const char *why = NULL;
	int card = 0;

	switch (f->type) {
	case PT_TIMESTAMP:
		if (!timestamp_ok(v))
			why = "not a date and time (YYYY-MM-DDTHH:MM:SSZ or "
			      "with "
			      "an offset such as +02:00)";
		break;
	case PT_URL:
		if (!url_ok(v))
			why = "not an http or https URL";
		break;
	case PT_IP:
		if (!ip_canonical(v, vsz))
			why = "not an IPv4 or IPv6 address";
		break;
	case PT_LATITUDE:
		if (!degrees_ok(v, 90))
			why = "not a latitude (decimal degrees, -90 to 90)";
		break;
	case PT_LONGITUDE:
		if (!degrees_ok(v, 180))
			why = "not a longitude (decimal degrees, -180 to 180)";
		break;
	case PT_CARD_LAST4:
		if (strlen(v) != 4 || num_at(v, 4) < 0)
			why = "the last four digits of a card are exactly four "
			      "digits";
		break;
	case PT_CARD_EXPIRY:
		if (strlen(v) != 5 || v[2] != '/' || num_at(v, 2) < 1 ||
		    num_at(v, 2) > 12 || num_at(v + 3, 2) < 0)
			why = "a card expiry is MM/YY with month 01 to 12";
		break;
	case PT_CARD_TOKEN:
		if (!card_token_ok(v, &card))
			why = card ? msg_card
				   : "a card token is letters, digits and _ . "
				     ": / + = -";
		break;
	default:
		break;
	}
	if (why != NULL)
		return reg_fail(r, RK_EINVAL, "field %s: %s", f->name, why);
	return RK_OK;
}

/* Validates and normalises one value of record field f into out. */
static rk_status normalise_field(rk_register *r, const pol_field *f,
				 const char *in, char *out, size_t outsz)
{
	const char *why = "invalid value";
	size_t max = 0;
	rk_status st;

	if (f->type == PT_TEXT && (f->multiline || f->max_len >= REG_VALUE_MAX))
		max = f->max_len ? f->max_len : REG_TEXT_DEFAULT_MAX;
	else if (f->type == PT_URL)
		max = f->max_len ? f->max_len : URL_MAX;
	if (max > 0) {
		int rc = f->multiline
				 ? ident_text_lines(in, max, out, outsz, &why)
				 : ident_text(in, max, out, outsz, &why);
		if (rc != 0)
			return reg_fail(r, RK_EINVAL, "field %s: %s", f->name,
					why);
	} else {
		st = value_normalise(r, f, in, out, outsz);
		if (st != RK_OK)
			return st;
	}
	return check_type(r, f, out, outsz);
}

/* ---- the record's JSON --------------------------------------------------- */

/* Whether a value stands for no value: null, or a string of nothing but
 * white space (a form's empty box). An optional field given so is left
 * out; a required one is missing. */
static int is_absent(const json_t *v)
{
	const char *s;
	size_t i, n;

	if (json_is_null(v))
		return 1;
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	n = json_string_length(v);
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* The text of a JSON string or number into *text (malloc'd). A number
 * with a fraction or exponent is a binary double that may already have
 * lost digits of what was written (12345678901234567.89): it is refused
 * where exactness matters (decimal and integer fields, such as amounts,
 * which are given as strings), and elsewhere written as its shortest
 * round-trip decimal. */
static rk_status scalar_text(rk_register *r, const pol_field *f,
			     const json_t *v, char **text)
{
	char num[NUM_MAX];
	const char *s;
	size_t n;
	int prec;

	*text = NULL;
	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		if (memchr(s, '\0', n) != NULL)
			return reg_fail(r, RK_EINVAL,
					"field %s: a value holds a NUL "
					"character",
					f->name);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		s = num;
		n = strlen(num);
	} else if (json_is_real(v)) {
		if (f->type == PT_DECIMAL || f->type == PT_INTEGER)
			return reg_fail(r, RK_EINVAL,
					"field %s: give the number as a string "
					"such as \"129.90\": a JSON number "
					"with a fraction may lose digits",
					f->name);
		for (prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof num, "%.*g", prec,
				 json_real_value(v));
			if (strtod(num, NULL) == json_real_value(v))
				break;
		}
		s = num;
		n = strlen(num);
	} else {
		return reg_fail(r, RK_EINVAL,
				"field %s: a value is a JSON string or number",
				f->name);
	}
	*text = malloc(n + 1);
	if (*text == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	memcpy(*text, s, n);
	(*text)[n] = '\0';
	sec_wipe(num, sizeof num);
	return RK_OK;
}

/* One value checked and normalised into a new JSON string. */
static rk_status field_value(rk_register *r, const pol_field *f,
			     const json_t *v, json_t **out)
{
	char *in = NULL, *norm = NULL;
	size_t outsz;
	rk_status st;

	*out = NULL;
	st = scalar_text(r, f, v, &in);
	if (st != RK_OK)
		goto out;
	if (ident_has_card_number(in)) {
		st = reg_fail(r, RK_EINVAL,
			      "field %s looks like it holds a full card "
			      "number: %s",
			      f->name, msg_card);
		goto out;
	}
	/* Not only in texts: an opaque card token has room for one too. */
	if (f->type != PT_HETU && ident_has_hetu(in)) {
		st = reg_fail(r, RK_EINVAL,
			      "field %s looks like it holds a HETU: use the "
			      "subject's hetu field, which is shown masked to "
			      "the roles that may not see it whole",
			      f->name);
		goto out;
	}
	/* Room for canonical forms longer than the input (dates, phones,
	 * IPv6 addresses). */
	outsz = strlen(in) + NUM_MAX;
	norm = malloc(outsz);
	if (norm == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = normalise_field(r, f, in, norm, outsz);
	if (st != RK_OK)
		goto out;
	*out = json_string(norm);
	if (*out == NULL)
		st = reg_fail(r, RK_ESYS, "out of memory");
out:
	reg_free_secret(in);
	if (norm != NULL) {
		sec_wipe(norm, outsz);
		free(norm);
	}
	return st;
}

/* Parses len bytes of json, checks every field against the record type and
 * builds the object of normalised values that gets stored. */
static rk_status build_fields(rk_register *r, const pol_record_type *rt,
			      const char *json, size_t len, json_t **out)
{
	json_t *in = NULL, *o = NULL, *val, *nv = NULL, *el;
	json_error_t err;
	const char *key;
	size_t fi, i;
	rk_status st = RK_OK;

	*out = NULL;
	if (json == NULL || len > RECORD_JSON_MAX) {
		st = reg_fail(r, RK_EINVAL,
			      "a record is a JSON object of at most 1 MiB");
		goto out;
	}
	in = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			&err);
	if (in == NULL) {
		/* err.text may quote the input: give only its place. */
		if (json_error_code(&err) == json_error_duplicate_key)
			st = reg_fail(r, RK_EINVAL,
				      "the record names a field twice (line "
				      "%d, column %d)",
				      err.line, err.column);
		else
			st = reg_fail(r, RK_EINVAL,
				      "the record is not valid JSON (line %d, "
				      "column %d)",
				      err.line, err.column);
		goto out;
	}
	if (!json_is_object(in)) {
		st = reg_fail(r, RK_EINVAL,
			      "a record is a JSON object of its fields");
		goto out;
	}
	o = json_object();
	if (o == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	json_object_foreach(in, key, val)
	{
		const pol_field *f;

		fi = policy_record_field(rt, key);
		if (fi == POL_NONE) {
			st = reg_unknown_field(r, "field of the record type",
					       rt->fields, rt->nfields);
			goto out;
		}
		f = &rt->fields[fi];
		if (is_absent(val))
			continue;
		if (json_is_array(val) && f->multiple) {
			nv = json_array();
			if (nv == NULL) {
				st = reg_fail(r, RK_ESYS, "out of memory");
				goto out;
			}
			json_array_foreach(val, i, el)
			{
				json_t *one = NULL;
				if (is_absent(el))
					continue;
				st = field_value(r, f, el, &one);
				if (st != RK_OK)
					goto out;
				if (json_array_append_new(nv, one) != 0) {
					st = reg_fail(r, RK_ESYS,
						      "out of memory");
					goto out;
				}
			}
			if (json_array_size(nv) == 0) {
				json_decref(nv);
				nv = NULL;
				continue;
			}
		} else {
			st = field_value(r, f, val, &nv);
			if (st != RK_OK)
				goto out;
		}
		if (json_object_set_new(o, f->name, nv) != 0) {
			nv = NULL;
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		nv = NULL;
	}
	for (fi = 0; fi < rt->nfields; fi++)
		if (rt->fields[fi].required &&
		    json_object_get(o, rt->fields[fi].name) == NULL) {
			st = reg_fail(r, RK_EINVAL,
				      "field %s is required in a %s record",
				      rt->fields[fi].name, rt->name);
			goto out;
		}
	*out = o;
	o = NULL;
out:
	json_free_secret(nv);
	json_free_secret(o);
	json_free_secret(in);
	return st;
}

rk_status record_validate(rk_register *r, const pol_record_type *rt,
			  const char *json, size_t len, char **plain_out)
{
	json_t *fields = NULL;
	rk_status st;

	*plain_out = NULL;
	st = build_fields(r, rt, json, len, &fields);
	if (st != RK_OK)
		return st;
	*plain_out = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	json_free_secret(fields);
	if (*plain_out == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	return RK_OK;
}

/* ---- attachments --------------------------------------------------------- */

/* Reads exactly n bytes unless the file ends first; the count read, or -1
 * with errno set. */
static ssize_t read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = read(fd, buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const unsigned char *buf, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

static int64_t chunk_count(int64_t size)
{
	return size == 0 ? 1 : (size + CHUNK_BYTES - 1) / CHUNK_BYTES;
}

static size_t chunk_len(int64_t size, int64_t seq)
{
	return seq == chunk_count(size) - 1 ? (size_t)(size - seq * CHUNK_BYTES)
					    : (size_t)CHUNK_BYTES;
}

/* Streams size bytes of fd into sealed chunks of record rid. An empty file
 * is one empty chunk, so that every attachment has a final chunk. */
static rk_status stream_in(rk_register *r, const store_subject *sub,
			   const unsigned char *dk, int64_t rid, int fd,
			   int64_t size)
{
	unsigned char *pt = malloc(CHUNK_BYTES);
	unsigned char *ct = malloc(CHUNK_BYTES + SEC_SEAL_OVERHEAD);
	int64_t seq, n = chunk_count(size);
	char ad[AD_MAX];
	size_t want;
	ssize_t got;
	rk_status st = RK_OK;

	if (pt == NULL || ct == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	for (seq = 0; seq < n; seq++) {
		want = chunk_len(size, seq);
		got = read_full(fd, pt, want);
		if (got < 0) {
			st = reg_fail(r, RK_ESYS,
				      "cannot read the attachment: %s",
				      strerror(errno));
			goto out;
		}
		if ((size_t)got != want) {
			st = reg_fail(r, RK_EINVAL,
				      "the attachment changed while it was "
				      "read");
			goto out;
		}
		chunk_ad(ad, rid, seq, seq == n - 1);
		if (sec_seal(dk, sub->id, ad, pt, want, ct) != 0) {
			st = reg_fail(r, RK_ESYS, "cannot seal an attachment");
			goto out;
		}
		if (r->st->vt->chunk_put(r->st, rid, seq, ct,
					 want + SEC_SEAL_OVERHEAD) != 0) {
			st = reg_store_fail(r, "cannot store the attachment");
			goto out;
		}
	}
	/* A file that grew while it was read would be stored cut short. */
	got = read_full(fd, pt, 1);
	if (got != 0) {
		st = got < 0 ? reg_fail(r, RK_ESYS,
					"cannot read the attachment: %s",
					strerror(errno))
			     : reg_fail(r, RK_EINVAL,
					"the attachment changed while it was "
					"read");
		goto out;
	}
out:
	if (pt != NULL) {
		sec_wipe(pt, CHUNK_BYTES);
		free(pt);
	}
	free(ct);
	return st;
}

/* Opens the file to attach; refuses what is not a regular file or is over
 * the type's limit before anything is written. */
static rk_status open_attachment(rk_register *r, const pol_record_type *rt,
				 const char *path, int *fd_out, int64_t *size)
{
	int64_t max = rt->max_attachment > 0 ? (int64_t)rt->max_attachment
					     : ATTACH_DEFAULT_MAX;
	struct stat sb;
	int fd, e;

	*fd_out = -1;
	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		return reg_fail(r,
				e == ENOENT || e == ENOTDIR || e == EACCES ||
						e == ELOOP || e == EISDIR
					? RK_EINVAL
					: RK_ESYS,
				"cannot open the attachment: %s", strerror(e));
	}
	if (fstat(fd, &sb) != 0) {
		e = errno;
		close(fd);
		return reg_fail(r, RK_ESYS, "cannot read the attachment: %s",
				strerror(e));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return reg_fail(r, RK_EINVAL,
				"the attachment is not a regular file");
	}
	if ((int64_t)sb.st_size > max) {
		close(fd);
		return reg_fail(r, RK_EINVAL,
				"the attachment is %" PRId64
				" bytes; a %s record allows at most %" PRId64,
				(int64_t)sb.st_size, rt->name, max);
	}
	*fd_out = fd;
	*size = (int64_t)sb.st_size;
	return RK_OK;
}

/* ---- add ----------------------------------------------------------------- */

/* rk_record_add and rk_record_add_by_cookie: the subject is id, or the one
 * that the cookie hash is linked to (resolved inside the write). */
static rk_status record_add(rk_register *r, const char *id,
			    const unsigned char *cookie_hash, const char *type,
			    const char *json, const char *attachment_path,
			    const char *attachment_type, const char *purpose,
			    int64_t *record_id)
{
	const policy *p = r->pol;
	const pol_record_type *rt = NULL;
	store_subject sub;
	store_record rec;
	unsigned char *dk = NULL, *ct = NULL;
	char *plain = NULL;
	char linked[33], purposes[NAMES_MAX] = "", expires[11], ad[AD_MAX];
	unsigned char link_mac[SEC_HASH_BYTES];
	int64_t linked_at = 0;
	char mtype[MEDIA_TYPE_MAX + 1] = "";
	const char *why = NULL;
	size_t pu = POL_NONE, i, plen = 0;
	int64_t att_size = -1, now;
	int fd = -1, audited = 0, live, rc;
	rk_status st;

	if (record_id != NULL)
		*record_id = 0;
	sub.pseudonym[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_RECORD_ADD, id);
	if (st != RK_OK) {
		audited = 1; /* access_check audits its refusal */
		goto out;
	}
	rt = record_type(r, type);
	if (rt == NULL) {
		st = unknown_type(r);
		goto out;
	}
	if (!type_serves(rt, pu)) {
		st = reg_fail(r, RK_EREFUSED,
			      "record type %s does not serve purpose %s",
			      rt->name, p->purposes[pu].name);
		goto out;
	}
	st = record_validate(r, rt, json, json == NULL ? 0 : strlen(json),
			     &plain);
	if (st != RK_OK)
		goto out;
	if (attachment_type != NULL && attachment_path == NULL) {
		st = reg_fail(r, RK_EINVAL,
			      "a media type is given only with an "
			      "attachment");
		goto out;
	}
	if (attachment_type != NULL &&
	    ident_media_type(attachment_type, mtype, sizeof mtype, &why) != 0) {
		st = reg_fail(r, RK_EINVAL, "the attachment's media type: %s",
			      why);
		goto out;
	}
	if (attachment_path != NULL) {
		if (!rt->attachment) {
			st = reg_fail(r, RK_EINVAL,
				      "a %s record takes no attachment",
				      rt->name);
			goto out;
		}
		st = open_attachment(r, rt, attachment_path, &fd, &att_size);
		if (st != RK_OK)
			goto out;
	}
	plen = strlen(plain);
	ct = malloc(plen + SEC_SEAL_OVERHEAD);
	if (ct == NULL || reg_record_ad(ad, sizeof ad, rt->name) != 0) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}

	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	if (cookie_hash != NULL) {
		if (r->st->vt->cookie_resolve == NULL) {
			st = reg_fail(r, RK_ESYS,
				      "this store cannot resolve cookie "
				      "identifiers");
			goto out;
		}
		rc = r->st->vt->cookie_resolve(r->st, cookie_hash, linked,
					       &linked_at, link_mac);
		if (rc == STORE_NOTFOUND) {
			st = reg_fail(r, RK_ENOTFOUND,
				      "the identifier is linked to no subject");
			goto out;
		}
		if (rc != 0) {
			st = reg_store_fail(r, "cannot resolve the identifier");
			goto out;
		}
		/* A link moved to another subject would file this record
		 * under the wrong person. */
		st = integ_cookie_check(r, cookie_hash, linked, linked_at,
					link_mac);
		if (st != RK_OK)
			goto out;
		id = linked;
	}
	/* Marketing does not process a subject who prohibited it, not even
	 * to store what it did. */
	st = reg_subject_for(r, id, pu, &sub, &dk);
	if (st != RK_OK)
		goto out;
	if (rt->consent != POL_NONE) {
		live = ledger_live(r, sub.id, rt->consent);
		if (live < 0) {
			st = ledger_err(live); /* it set the message */
			goto out;
		}
		if (live == 0) {
			st = reg_fail(r, RK_EREFUSED,
				      "a %s record needs the subject's live "
				      "consent (%s)",
				      rt->name, p->scopes[rt->consent].name);
			goto out;
		}
	}
	/* Storing for a purpose that needs a consent is using the data for
	 * it. */
	live = purpose_consent_ok(r, sub.id, rt, pu);
	if (live <= 0) {
		st = live < 0 ? ledger_err(live)
			      : purpose_consent_refused(r, rt, pu);
		goto out;
	}
	if (sec_seal(dk, sub.id, ad, (const unsigned char *)plain, plen, ct) !=
	    0) {
		st = reg_fail(r, RK_ESYS, "cannot seal the record");
		goto out;
	}
	for (i = 0; i < rt->npurposes; i++)
		csv_add(purposes, sizeof purposes,
			p->purposes[rt->purposes[i]].name);
	now = reg_now(r);
	reg_expiry(r, rt->retention, now, sub.rel_end, expires);
	memset(&rec, 0, sizeof rec);
	rec.subject_id = sub.id;
	rec.type = rt->name;
	rec.ct = ct;
	rec.ctlen = plen + SEC_SEAL_OVERHEAD;
	rec.purposes = purposes;
	rec.legal_basis = p->bases[rt->basis].name;
	rec.source = rt->source != POL_NONE ? p->sources[rt->source].name
					    : p->sources[0].name;
	rec.created_at = now;
	rec.expires = expires[0] ? expires : NULL;
	rec.attachment_size = att_size;
	rec.attachment_type = mtype[0] ? mtype : NULL;
	/* A profile reset deletes what came through the identifier. */
	rec.cookie_hash = cookie_hash;
	if (r->st->vt->record_insert(r->st, &rec) != 0) {
		st = reg_store_fail(r, "cannot store the record");
		goto out;
	}
	st = integ_record_bind(r, &sub, &rec);
	if (st != RK_OK)
		goto out;
	if (fd >= 0) {
		st = stream_in(r, &sub, dk, rec.id, fd, att_size);
		if (st != RK_OK)
			goto out;
	}
	st = reg_write_commit(r, AUD_RECORD_ADD, sub.pseudonym, rt->name,
			      p->purposes[pu].name);
	if (st == RK_OK && record_id != NULL)
		*record_id = rec.id;
out:
	if (st != RK_OK) {
		reg_rollback(r);
		if (!audited)
			reg_audit_attempt(
				r, AUD_RECORD_ADD,
				sub.pseudonym[0] ? sub.pseudonym : NULL,
				pu == POL_NONE ? NULL : p->purposes[pu].name,
				st);
	}
	if (fd >= 0)
		close(fd);
	sec_key_free(dk);
	reg_free_secret(plain);
	free(ct);
	return st;
}

rk_status rk_record_add(rk_register *r, const char *id, const char *type,
			const char *json, const char *attachment_path,
			const char *attachment_type, const char *purpose,
			int64_t *record_id)
{
	return record_add(r, id, NULL, type, json, attachment_path,
			  attachment_type, purpose, record_id);
}

rk_status rk_record_add_by_cookie(rk_register *r, const char *cookie_id,
				  const char *type, const char *json,
				  const char *purpose, int64_t *record_id)
{
	unsigned char h[SEC_BIDX_BYTES];
	size_t i, n = cookie_id == NULL ? 0 : strlen(cookie_id);
	rk_status st;

	if (record_id != NULL)
		*record_id = 0;
	/* Hashed as given (no trimming): cookie links use the same bytes. */
	for (i = 0; i < n; i++)
		if ((unsigned char)cookie_id[i] < 0x20 || cookie_id[i] == 0x7f)
			break;
	if (n == 0 || n > COOKIE_MAX || i < n) {
		st = reg_fail(r, RK_EINVAL,
			      "a cookie identifier is 1 to 200 bytes of text "
			      "without control characters");
		reg_audit_attempt(r, AUD_RECORD_ADD, NULL, NULL, st);
		return st;
	}
	sec_blind_index(r->ckey, "cookie", cookie_id, h);
	st = record_add(r, NULL, h, type, json, NULL, NULL, purpose, record_id);
	sec_wipe(h, sizeof h);
	return st;
}

/* ---- list ---------------------------------------------------------------- */

struct list_state {
	rk_register *r;
	const store_subject *sub;
	const unsigned char *dk;
	const char *purpose;
	const signed char *consent_ok; /* per record type: 1 usable */
	int objected; /* an objection withholds legitimate-interest records */
	char today[11];
	char names[NAMES_MAX];
	json_t *arr;
	rk_status st;
};

/* Opens a stored record's fields. */
static int list_one(void *ud, const store_record *rec)
{
	struct list_state *ls = ud;
	rk_register *r = ls->r;
	size_t ti = policy_record_type(r->pol, rec->type);
	json_t *o = NULL, *fields = NULL, *att;

	/* integ_records_walk checked every row, shown or not, against its
	 * MAC: purposes, expiry and type decide what is shown. Only what serves
	 * the purpose, is not past its time, and whose consent (if it needs
	 * one) is in force. */
	if (!csv_has(rec->purposes, ls->purpose))
		return 0;
	if (rec->expires != NULL && strcmp(rec->expires, ls->today) < 0)
		return 0;
	if (ti != POL_NONE && !ls->consent_ok[ti])
		return 0;
	if (ls->objected && ledger_basis_objectable(r->pol, rec->legal_basis))
		return 0;
	ls->st = reg_record_open(r, ls->sub, ls->dk, rec, &fields);
	if (ls->st != RK_OK)
		return 1;
	o = json_object();
	if (o == NULL)
		goto oom;
	if (rec->attachment_size >= 0) {
		att = json_object();
		if (att == NULL ||
		    json_object_set_new(o, "attachment", att) != 0 ||
		    json_object_set_new(att, "size",
					json_integer(rec->attachment_size)) !=
			    0 ||
		    json_object_set_new(
			    att, "type",
			    rec->attachment_type
				    ? json_string(rec->attachment_type)
				    : json_null()) != 0)
			goto oom;
	} else if (json_object_set_new(o, "attachment", json_null()) != 0) {
		goto oom;
	}
	if (json_object_set_new(o, "id", json_integer(rec->id)) != 0 ||
	    json_object_set_new(o, "type", json_string(rec->type)) != 0 ||
	    json_object_set_new(o, "created_at",
				json_integer(rec->created_at)) != 0 ||
	    json_object_set_new(o, "expires",
				rec->expires ? json_string(rec->expires)
					     : json_null()) != 0 ||
	    json_object_set_new(o, "purposes", csv_json(rec->purposes)) != 0 ||
	    json_object_set_new(o, "legal_basis",
				json_string(rec->legal_basis)) != 0 ||
	    json_object_set_new(o, "source", json_string(rec->source)) != 0)
		goto oom;
	if (json_object_set_new(o, "fields", fields) != 0) {
		fields = NULL;
		goto oom;
	}
	fields = NULL;
	if (json_array_append_new(ls->arr, o) != 0) {
		o = NULL;
		goto oom;
	}
	csv_add(ls->names, sizeof ls->names, rec->type);
	return 0;
oom:
	json_free_secret(fields);
	json_free_secret(o);
	ls->st = reg_fail(r, RK_ESYS, "out of memory");
	return 1;
}

/* Which record types the subject's consents let be used for purpose pu:
 * the consent a type needs to be stored at all, and the one its purpose
 * consents name for pu. */
static rk_status consent_states(rk_register *r, const char *subject_id,
				size_t pu, signed char **out)
{
	const policy *p = r->pol;
	signed char *ok;
	size_t i;
	int live;

	*out = NULL;
	ok = malloc(p->nrecord_types > 0 ? p->nrecord_types : 1);
	if (ok == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	for (i = 0; i < p->nrecord_types; i++) {
		const pol_record_type *rt = &p->record_types[i];

		live = 1;
		if (rt->consent != POL_NONE)
			live = ledger_live(r, subject_id, rt->consent);
		if (live > 0)
			live = purpose_consent_ok(r, subject_id, rt, pu);
		if (live < 0) {
			free(ok);
			return ledger_err(live); /* it set the message */
		}
		ok[i] = (signed char)(live > 0);
	}
	*out = ok;
	return RK_OK;
}

rk_status rk_record_list(rk_register *r, const char *id, const char *type,
			 const char *purpose, char **json_out)
{
	const policy *p = r->pol;
	const pol_record_type *rt = NULL;
	struct list_state ls;
	store_subject sub;
	unsigned char *dk = NULL;
	signed char *cons = NULL;
	char *text = NULL;
	size_t pu = POL_NONE;
	int reading = 0, audited = 0;
	rk_status st;
	audit_ev ev;

	memset(&ls, 0, sizeof ls);
	sub.pseudonym[0] = '\0';
	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the result");
	*json_out = NULL;
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	if (type != NULL && (rt = record_type(r, type)) == NULL) {
		st = unknown_type(r);
		goto out;
	}
	st = access_check(r, pu, AUD_RECORD_LIST, id);
	if (st != RK_OK) {
		audited = 1;
		goto out;
	}
	st = reg_read_subject(r, id, pu, &sub, &dk, &reading);
	if (st == RK_OK)
		st = consent_states(r, sub.id, pu, &cons);
	if (st == RK_OK) {
		int o = ledger_purpose_objected(r, &sub, pu);
		if (o < 0)
			st = ledger_err(o); /* it set the message */
		ls.objected = o > 0;
	}
	if (st != RK_OK)
		goto out;
	ls.r = r;
	ls.sub = &sub;
	ls.dk = dk;
	ls.purpose = p->purposes[pu].name;
	ls.consent_ok = cons;
	reg_today(r, ls.today);
	ls.arr = json_array();
	if (ls.arr == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = integ_records_walk(r, &sub, rt ? rt->name : NULL, list_one, &ls);
	if (st != RK_OK)
		goto out;
	st = ls.st;
	if (st != RK_OK)
		goto out;
	reg_end_read(r);
	reading = 0;
	text = json_dumps(ls.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	audit_ev_set(&ev, r, AUD_RECORD_LIST, sub.pseudonym,
		     ls.names[0] ? ls.names : NULL, ls.purpose, "ok");
	/* No read without its audit entry. */
	st = audit_read(r, &ev);
	if (st == RK_OK) {
		*json_out = text;
		text = NULL;
	}
out:
	if (reading)
		reg_end_read(r);
	if (st != RK_OK && st != RK_ESYS && !audited)
		reg_audit_attempt(r, AUD_RECORD_LIST,
				  sub.pseudonym[0] ? sub.pseudonym : NULL,
				  pu == POL_NONE ? NULL : p->purposes[pu].name,
				  st);
	reg_free_secret(text);
	json_free_secret(ls.arr);
	free(cons);
	sec_key_free(dk);
	return st;
}

/* ---- attachment ---------------------------------------------------------- */

struct rec_meta {
	char type[64];
	char basis[64];
	char purposes[NAMES_MAX];
	char expires[11];
	int64_t size;
	int ok;
	const rk_register *r;
};

static int copy_meta(void *ud, const store_record *rec)
{
	struct rec_meta *m = ud;

	/* A row that does not match its MAC leaves ok 0: damaged. */
	if (integ_record_ok(m->r, rec) != 0)
		return 1;
	if (strlen(rec->type) >= sizeof m->type ||
	    strlen(rec->legal_basis) >= sizeof m->basis ||
	    strlen(rec->purposes) >= sizeof m->purposes ||
	    (rec->expires != NULL && strlen(rec->expires) >= sizeof m->expires))
		return 1;
	snprintf(m->type, sizeof m->type, "%s", rec->type);
	snprintf(m->basis, sizeof m->basis, "%s", rec->legal_basis);
	snprintf(m->purposes, sizeof m->purposes, "%s", rec->purposes);
	snprintf(m->expires, sizeof m->expires, "%s",
		 rec->expires ? rec->expires : "");
	m->size = rec->attachment_size;
	m->ok = 1;
	return 1;
}

struct out_state {
	rk_register *r;
	const char *subject_id;
	const unsigned char *dk;
	int64_t rid, size, nchunks, next;
	int fd;
	unsigned char *pt;
	rk_status st;
};

static int out_chunk(void *ud, int64_t seq, const unsigned char *ct, size_t len)
{
	struct out_state *o = ud;
	char ad[AD_MAX];
	size_t want;

	if (seq != o->next || seq >= o->nchunks) {
		o->st = reg_fail(o->r, RK_EINTEGRITY,
				 "the attachment's chunks are missing or out "
				 "of order: the database was altered");
		return 1;
	}
	want = chunk_len(o->size, seq);
	chunk_ad(ad, o->rid, seq, seq == o->nchunks - 1);
	if (len != want + SEC_SEAL_OVERHEAD ||
	    sec_open(o->dk, o->subject_id, ad, ct, len, o->pt) != 0) {
		o->st = reg_fail(o->r, RK_EINTEGRITY,
				 "an attachment chunk does not decrypt: the "
				 "database was altered or damaged");
		return 1;
	}
	if (write_full(o->fd, o->pt, want) != 0) {
		o->st = reg_fail(o->r, RK_ESYS,
				 "cannot write the output file: %s",
				 strerror(errno));
		sec_wipe(o->pt, want);
		return 1;
	}
	sec_wipe(o->pt, want);
	o->next++;
	return 0;
}

#define OUT_PATH_MAX 4200

static int out_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* A file for the output with no name yet: O_TMPFILE in the output's
 * folder, or where the file system has none, a hidden name there (tmp
 * gets it; "" for an unnamed one). -1 with errno set. */
static int unnamed_file(const char *out_path, char *tmp, size_t cap)
{
	char dir[OUT_PATH_MAX];
	const char *slash = strrchr(out_path, '/');
	size_t n = slash == NULL ? 1 : (size_t)(slash - out_path);
	int fd, len;

	tmp[0] = '\0';
	if (n >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else if (n == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, out_path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0 ||
	    (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	for (int tries = 0; tries < 16; tries++) {
		char rnd[33];
		sec_random_id(rnd);
		len = snprintf(tmp, cap, "%s/.rekisteri-%.16s", dir, rnd);
		if (len < 0 || (size_t)len >= cap) {
			errno = ENAMETOOLONG;
			break;
		}
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		tmp[0] = '\0';
	return fd;
}

/* Gives the output its name; never replaces an existing file. */
static int name_file(int fd, const char *tmp, const char *out_path)
{
	char proc[64];

	if (tmp[0] != '\0')
		return link(tmp, out_path);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, out_path, AT_SYMLINK_FOLLOW);
}

rk_status rk_record_attachment(rk_register *r, const char *id,
			       int64_t record_id, const char *out_path,
			       const char *purpose)
{
	const policy *p = r->pol;
	struct rec_meta m;
	struct out_state o;
	store_subject sub;
	unsigned char *dk = NULL;
	char today[11], tmp[OUT_PATH_MAX] = "";
	size_t pu = POL_NONE, ti;
	int reading = 0, audited = 0, created = 0, rc, e, live;
	rk_status st;
	audit_ev ev;

	memset(&m, 0, sizeof m);
	m.r = r;
	memset(&o, 0, sizeof o);
	o.fd = -1;
	sub.pseudonym[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_RECORD_ATTACHMENT, id);
	if (st != RK_OK) {
		audited = 1;
		goto out;
	}
	if (out_path == NULL || out_path[0] == '\0') {
		st = reg_fail(r, RK_EINVAL, "no output file given");
		goto out;
	}
	st = reg_read_subject(r, id, pu, &sub, &dk, &reading);
	if (st != RK_OK)
		goto out;
	rc = r->st->vt->record_get(r->st, sub.id, record_id, copy_meta, &m);
	if (rc == STORE_NOTFOUND) {
		st = reg_fail(r, RK_ENOTFOUND,
			      "the subject has no such record");
		goto out;
	}
	if (rc != 0 || !m.ok) {
		st = rc != 0 ? reg_store_fail(r, "cannot read the record")
			     : reg_fail(r, RK_EINTEGRITY,
					"a stored record is damaged");
		goto out;
	}
	if (!csv_has(m.purposes, p->purposes[pu].name)) {
		st = reg_fail(r, RK_EREFUSED,
			      "record %" PRId64 " does not serve purpose %s",
			      record_id, p->purposes[pu].name);
		goto out;
	}
	reg_today(r, today);
	if (m.expires[0] != '\0' && strcmp(m.expires, today) < 0) {
		st = reg_fail(r, RK_ENOTFOUND, "the record has expired");
		goto out;
	}
	ti = policy_record_type(p, m.type);
	if (ti != POL_NONE && p->record_types[ti].consent != POL_NONE) {
		live = ledger_live(r, sub.id, p->record_types[ti].consent);
		if (live <= 0) {
			st = live < 0 ? ledger_err(live)
				      : reg_fail(r, RK_EREFUSED,
						 "the record needs a consent "
						 "that is not in force");
			goto out;
		}
	}
	if (ti != POL_NONE) {
		live = purpose_consent_ok(r, sub.id, &p->record_types[ti], pu);
		if (live <= 0) {
			st = live < 0 ? ledger_err(live)
				      : purpose_consent_refused(
						r, &p->record_types[ti], pu);
			goto out;
		}
	}
	if (ledger_basis_objectable(p, m.basis)) {
		live = ledger_purpose_objected(r, &sub, pu);
		if (live != 0) {
			st = live < 0 ? ledger_err(live)
				      : reg_fail(r, RK_EREFUSED,
						 "the subject objected to "
						 "processing for %s on this "
						 "record's legal basis",
						 p->purposes[pu].name);
			goto out;
		}
	}
	if (m.size < 0) {
		st = reg_fail(r, RK_ENOTFOUND, "the record has no attachment");
		goto out;
	}
	o.pt = malloc(CHUNK_BYTES);
	if (o.pt == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* The plaintext goes to a file without a name, in the output's
	 * folder, and gets its name only once the trail holds the read: a
	 * reader killed or refused before that leaves nothing behind. 0600
	 * because the file holds personal data. */
	if (out_exists(out_path)) {
		st = reg_fail(r, RK_EINVAL,
			      "the output file exists already; refusing to "
			      "overwrite it");
		goto out;
	}
	o.fd = unnamed_file(out_path, tmp, sizeof tmp);
	if (o.fd < 0) {
		st = reg_fail(r, RK_ESYS, "cannot create the output file: %s",
			      strerror(errno));
		goto out;
	}
	created = 1;
	o.r = r;
	o.subject_id = sub.id;
	o.dk = dk;
	o.rid = record_id;
	o.size = m.size;
	o.nchunks = chunk_count(m.size);
	o.st = RK_OK;
	if (r->st->vt->chunk_walk(r->st, record_id, out_chunk, &o) != 0) {
		st = reg_store_fail(r, "cannot read the attachment");
		goto out;
	}
	st = o.st;
	if (st == RK_OK && o.next != o.nchunks)
		st = reg_fail(r, RK_EINTEGRITY,
			      "the attachment is incomplete: the database was "
			      "altered");
	if (st != RK_OK)
		goto out;
	if (fsync(o.fd) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot write the output file: %s",
			      strerror(errno));
		goto out;
	}
	reg_end_read(r);
	reading = 0;
	audit_ev_set(&ev, r, AUD_RECORD_ATTACHMENT, sub.pseudonym, m.type,
		     p->purposes[pu].name, "ok");
	st = audit_read(r, &ev);
	if (st != RK_OK)
		goto out;
	/* Never over an existing file: linking fails if one appeared. */
	if (name_file(o.fd, tmp, out_path) != 0) {
		e = errno;
		st = e == EEXIST ? reg_fail(r, RK_EINVAL,
					    "the output file exists already; "
					    "refusing to overwrite it")
				 : reg_fail(r, RK_ESYS,
					    "cannot create the output file: %s",
					    strerror(e));
		audit_ev_set(&ev, r, AUD_RECORD_ATTACHMENT, sub.pseudonym,
			     m.type, p->purposes[pu].name, "failed");
		(void)audit_read(r, &ev);
		audited = 1;
		goto out;
	}
	if (tmp[0] != '\0')
		unlink(tmp); /* the fallback's hidden name: linked now */
	tmp[0] = '\0';
out:
	if (reading)
		reg_end_read(r);
	if (o.fd >= 0 && close(o.fd) != 0 && st == RK_OK)
		st = reg_fail(r, RK_ESYS, "cannot write the output file");
	if (created && tmp[0] != '\0')
		unlink(tmp); /* the fallback's named file, if any */
	if (st != RK_OK && st != RK_ESYS && !audited)
		reg_audit_attempt(r, AUD_RECORD_ATTACHMENT,
				  sub.pseudonym[0] ? sub.pseudonym : NULL,
				  pu == POL_NONE ? NULL : p->purposes[pu].name,
				  st);
	if (o.pt != NULL) {
		sec_wipe(o.pt, CHUNK_BYTES);
		free(o.pt);
	}
	sec_key_free(dk);
	return st;
}

/* ---- rectification and erasure of one record ----------------------------- */

/* A copy of the row being changed, taken as the chain walk checks it. */
struct target {
	int64_t id;
	int found, damaged;
	char type[64];
	char purposes[NAMES_MAX];
	char basis[64];
	char source[64];
	char expires[11];
	char atype[MEDIA_TYPE_MAX + 1];
	int has_expires, has_atype, has_cookie;
	int64_t created_at, attachment_size;
	unsigned char cookie[SEC_BIDX_BYTES];
	unsigned char *ct;
	size_t ctlen;
};

static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

static int find_target(void *ud, const store_record *rec)
{
	struct target *t = ud;

	if (rec->id != t->id)
		return 0;
	t->found = 1;
	if (copy_str(t->type, sizeof t->type, rec->type) != 0 ||
	    copy_str(t->purposes, sizeof t->purposes, rec->purposes) != 0 ||
	    copy_str(t->basis, sizeof t->basis, rec->legal_basis) != 0 ||
	    copy_str(t->source, sizeof t->source, rec->source) != 0 ||
	    (rec->expires != NULL &&
	     copy_str(t->expires, sizeof t->expires, rec->expires) != 0) ||
	    (rec->attachment_type != NULL &&
	     copy_str(t->atype, sizeof t->atype, rec->attachment_type) != 0)) {
		t->damaged = 1;
		return 1;
	}
	t->has_expires = rec->expires != NULL;
	t->has_atype = rec->attachment_type != NULL;
	t->has_cookie = rec->cookie_hash != NULL;
	if (t->has_cookie)
		memcpy(t->cookie, rec->cookie_hash, sizeof t->cookie);
	t->created_at = rec->created_at;
	t->attachment_size = rec->attachment_size;
	t->ct = malloc(rec->ctlen > 0 ? rec->ctlen : 1);
	if (t->ct == NULL) {
		t->damaged = 1;
		return 1;
	}
	memcpy(t->ct, rec->ct, rec->ctlen);
	t->ctlen = rec->ctlen;
	return 1;
}

/* The row as store_record, pointing into t. */
static void target_row(const struct target *t, const char *subject_id,
		       store_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->id = t->id;
	rec->subject_id = subject_id;
	rec->type = t->type;
	rec->ct = t->ct;
	rec->ctlen = t->ctlen;
	rec->purposes = t->purposes;
	rec->legal_basis = t->basis;
	rec->source = t->source;
	rec->created_at = t->created_at;
	rec->expires = t->has_expires ? t->expires : NULL;
	rec->attachment_size = t->attachment_size;
	rec->attachment_type = t->has_atype ? t->atype : NULL;
	rec->cookie_hash = t->has_cookie ? t->cookie : NULL;
}

/* The names of the fields whose values differ between old and nw (a
 * field in only one of them differs), after prefix in names. */
static void changed_names(const json_t *old, const json_t *nw, char *names,
			  size_t cap)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)old, key, v)
	{
		if (!json_equal(v, json_object_get(nw, key)))
			csv_add(names, cap, key);
	}
	json_object_foreach((json_t *)nw, key, v)
	{
		if (json_object_get(old, key) == NULL)
			csv_add(names, cap, key);
	}
}

/* rk_record_update (json given) and rk_record_delete (json NULL). */
static rk_status record_change(rk_register *r, const char *id,
			       int64_t record_id, const char *json,
			       const char *purpose)
{
	const policy *p = r->pol;
	const int del = json == NULL;
	audit_action action = del ? AUD_RECORD_DELETE : AUD_RECORD_UPDATE;
	const pol_record_type *rt;
	struct target t;
	store_subject sub;
	store_record row;
	json_t *oldf = NULL, *newf = NULL;
	unsigned char *dk = NULL, *ct = NULL;
	unsigned char mac[SEC_HASH_BYTES];
	char *plain = NULL;
	char names[NAMES_MAX], ad[AD_MAX];
	size_t pu = POL_NONE, plen = 0;
	int audited = 0, live, rc;
	rk_status st;

	memset(&t, 0, sizeof t);
	t.id = record_id;
	sub.pseudonym[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, action, id);
	if (st != RK_OK) {
		audited = 1; /* access_check audits its refusal */
		goto out;
	}
	/* Checked before the write: bad input changes nothing. */
	if (!del && strlen(json) > RECORD_JSON_MAX) {
		st = reg_fail(r, RK_EINVAL,
			      "a record is a JSON object of at most 1 MiB");
		goto out;
	}
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	st = reg_subject_for(r, id, pu, &sub, &dk);
	if (st != RK_OK)
		goto out;
	/* The whole chain as the subject row pins it: the change moves it on
	 * from what was checked, never from a row put there without the
	 * key. */
	st = integ_records_walk(r, &sub, NULL, find_target, &t);
	if (st == RK_OK && t.damaged)
		st = reg_fail(r, RK_EINTEGRITY, "a stored record is damaged");
	if (st != RK_OK)
		goto out;
	if (!t.found) {
		st = reg_fail(r, RK_ENOTFOUND,
			      "the subject has no record %" PRId64, record_id);
		goto out;
	}
	if (!csv_has(t.purposes, p->purposes[pu].name)) {
		st = reg_fail(r, RK_EREFUSED,
			      "record %" PRId64 " does not serve purpose %s",
			      record_id, p->purposes[pu].name);
		goto out;
	}
	target_row(&t, sub.id, &row);
	st = reg_record_open(r, &sub, dk, &row, &oldf);
	if (st != RK_OK)
		goto out;
	snprintf(names, sizeof names, "record:%" PRId64 ",type:%s", record_id,
		 t.type);
	rt = record_type(r, t.type);
	if (del) {
		const char *key;
		json_t *v;

		json_object_foreach(oldf, key, v)
		{
			csv_add(names, sizeof names, key);
		}
		rc = r->st->vt->record_delete(r->st, sub.id, record_id);
		if (rc != 0) {
			st = rc == STORE_NOTFOUND
				     ? reg_fail(
					       r, RK_ENOTFOUND,
					       "the subject has no such record")
				     : reg_store_fail(r, "cannot delete the "
							 "record");
			goto out;
		}
	} else {
		if (rt == NULL) {
			st = reg_fail(r, RK_EINVAL,
				      "the record's type is no longer in the "
				      "policy: it can be deleted, not "
				      "rectified");
			goto out;
		}
		/* Storing for a purpose that needs a consent is using the
		 * data for it, as in add. */
		live = purpose_consent_ok(r, sub.id, rt, pu);
		if (live <= 0) {
			st = live < 0 ? ledger_err(live)
				      : purpose_consent_refused(r, rt, pu);
			goto out;
		}
		st = record_validate(r, rt, json, strlen(json), &plain);
		if (st != RK_OK)
			goto out;
		plen = strlen(plain);
		newf = json_loadb(plain, plen, JSON_REJECT_DUPLICATES, NULL);
		ct = malloc(plen + SEC_SEAL_OVERHEAD);
		if (newf == NULL || ct == NULL ||
		    reg_record_ad(ad, sizeof ad, rt->name) != 0) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		changed_names(oldf, newf, names, sizeof names);
		if (sec_seal(dk, sub.id, ad, (const unsigned char *)plain, plen,
			     ct) != 0) {
			st = reg_fail(r, RK_ESYS, "cannot seal the record");
			goto out;
		}
		rc = r->st->vt->record_set_ct(r->st, sub.id, record_id, ct,
					      plen + SEC_SEAL_OVERHEAD);
		if (rc != 0) {
			st = rc == STORE_NOTFOUND
				     ? reg_fail(
					       r, RK_ENOTFOUND,
					       "the subject has no such record")
				     : reg_store_fail(r, "cannot store the "
							 "record");
			goto out;
		}
		/* The same row with its new ciphertext: id, type, times,
		 * expiry and attachment stay. */
		row.ct = ct;
		row.ctlen = plen + SEC_SEAL_OVERHEAD;
		integ_record_mac(r, &row, mac);
		if (r->st->vt->record_set_mac(r->st, record_id, mac) != 0) {
			st = reg_store_fail(r, "cannot store the record's MAC");
			goto out;
		}
	}
	st = integ_records_repin(r, &sub);
	if (st == RK_OK)
		st = integ_subject_reseal(r, &sub);
	if (st != RK_OK)
		goto out;
	st = reg_write_commit(r, action, sub.pseudonym, names,
			      p->purposes[pu].name);
	/* The old ciphertext's pages leave the WAL now (best effort: a
	 * reader elsewhere may hold it up; SQLite's own checkpoints then
	 * finish the job). */
	if (st == RK_OK && !r->bulk)
		reg_wal_scrub(r);
out:
	if (st != RK_OK) {
		reg_rollback(r);
		if (!audited)
			reg_audit_attempt(
				r, action,
				sub.pseudonym[0] ? sub.pseudonym : NULL,
				pu == POL_NONE ? NULL : p->purposes[pu].name,
				st);
	}
	json_free_secret(oldf);
	json_free_secret(newf);
	reg_free_secret(plain);
	free(ct);
	free(t.ct);
	sec_key_free(dk);
	return st;
}

rk_status rk_record_update(rk_register *r, const char *id, int64_t record_id,
			   const char *json, const char *purpose)
{
	if (json == NULL) {
		rk_status st = reg_fail(r, RK_EINVAL,
					"a rectified record is a JSON object "
					"of its fields");
		reg_audit_attempt(r, AUD_RECORD_UPDATE, NULL, NULL, st);
		return st;
	}
	return record_change(r, id, record_id, json, purpose);
}

rk_status rk_record_delete(rk_register *r, const char *id, int64_t record_id,
			   const char *purpose)
{
	return record_change(r, id, record_id, NULL, purpose);
}

/* ---- for the access report (export.c) ------------------------------------ */

rk_status record_attachment_save(rk_register *r, const char *subject_id,
				 const unsigned char *dk, int64_t record_id,
				 int64_t size, const char *out_path)
{
	struct out_state o;
	char tmp[OUT_PATH_MAX] = "";
	rk_status st = RK_OK;
	int e;

	memset(&o, 0, sizeof o);
	if (out_exists(out_path))
		return reg_fail(r, RK_EINVAL,
				"an attachment's output file exists already; "
				"refusing to overwrite it");
	o.pt = malloc(CHUNK_BYTES);
	if (o.pt == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	/* Named only once whole, as in rk_record_attachment. */
	o.fd = unnamed_file(out_path, tmp, sizeof tmp);
	if (o.fd < 0) {
		st = reg_fail(r, RK_ESYS, "cannot create an output file: %s",
			      strerror(errno));
		goto out;
	}
	o.r = r;
	o.subject_id = subject_id;
	o.dk = dk;
	o.rid = record_id;
	o.size = size;
	o.nchunks = chunk_count(size);
	o.st = RK_OK;
	if (r->st->vt->chunk_walk(r->st, record_id, out_chunk, &o) != 0)
		st = reg_store_fail(r, "cannot read the attachment");
	else
		st = o.st;
	if (st == RK_OK && o.next != o.nchunks)
		st = reg_fail(r, RK_EINTEGRITY,
			      "the attachment is incomplete: the database was "
			      "altered");
	if (st == RK_OK && fsync(o.fd) != 0)
		st = reg_fail(r, RK_ESYS, "cannot write an output file: %s",
			      strerror(errno));
	if (st == RK_OK && name_file(o.fd, tmp, out_path) != 0) {
		e = errno;
		st = e == EEXIST ? reg_fail(r, RK_EINVAL,
					    "an attachment's output file "
					    "exists already; refusing to "
					    "overwrite it")
				 : reg_fail(r, RK_ESYS,
					    "cannot create an output file: %s",
					    strerror(e));
	}
out:
	if (o.fd >= 0 && close(o.fd) != 0 && st == RK_OK)
		st = reg_fail(r, RK_ESYS, "cannot write an output file");
	if (tmp[0] != '\0')
		unlink(tmp); /* the fallback's hidden name */
	sec_wipe(o.pt, CHUNK_BYTES);
	free(o.pt);
	return st;
}
