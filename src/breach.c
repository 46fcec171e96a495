/*
 * breach.c: the register of personal data breaches (GDPR Art. 33-34) and
 * the 72-hour clock.
 *
 * The Data Protection Ombudsman must be told within 72 hours of the
 * controller becoming aware of a breach. The hours are calendar hours
 * between UTC instants: the deadline is aware_at + 72 * 3600 whatever the
 * clocks on the wall do in between. Times are shown in Finnish time
 * (Europe/Helsinki) with their offset, computed here from the EU rule
 * (summer time from the last Sunday of March to the last Sunday of
 * October, changing at 01:00 UTC) rather than from the system's zone
 * files, so that the register shows the same on every machine.
 *
 * What holds the rows to the truth is what holds the requests of dsr.c:
 * a MAC under the row key over every column (integ_breach_mac) and meta
 * "breach_set" pinning the set (number and row MAC, in order). The
 * description and the measures may hold personal data: they are sealed
 * under a key derived from the row key (the controller's evidence, kept
 * whatever happens to the subjects), bound to the breach's number.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "ident.h"
#include "integrity.h"
#include "json_secret.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define META_BREACH_NO	 "breach_number"
#define CTX_BREACH_SET	 "rk-breach-set-v1"
#define CTX_BREACH_TEXT	 "rk-breach-text-v1"
#define FIELD_DESC	 "description"
#define FIELD_MEASURES	 "measures"
#define TEXT_MAX	 4000
#define DEADLINE_SECONDS (72 * 3600)
#define CATS_MAX	 1024
#define STATUS_OPEN	 "open"
#define STATUS_CLOSED	 "closed"
#define MSG_ALTERED                                                            \
	"the database was altered without the key; see the audit log and "     \
	"restore a backup"
#define WHAT "keep the breach register"

static const char *const risks[] = {"none", "low", "high"};

/* ---- Finnish time ---------------------------------------------------------
 */

/* Unix time of 01:00 UTC on the last Sunday of month m (31 days) of y. */
static int64_t last_sunday_0100(int y, int m)
{
	int wd = ident_weekday(y, m, 31); /* 1 Monday .. 7 Sunday */

	return ident_days_from_civil(y, m, 31 - wd % 7) * 86400 + 3600;
}

/* The offset of Finnish time at UTC instant t, in seconds. */
static int fi_offset(int64_t t)
{
	int y, m, d;

	ident_civil_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400, &y, &m,
			      &d);
	return t >= last_sunday_0100(y, 3) && t < last_sunday_0100(y, 10)
		       ? 3 * 3600
		       : 2 * 3600;
}

/* "YYYY-MM-DDTHH:MM[:SS]" of t shifted by off, then the offset ("Z" for
 * 0, else "+HH:MM"). */
static void format_time(int64_t t, int off, char out[96])
{
	int64_t l = t + off, days = l >= 0 ? l / 86400 : (l - 86399) / 86400;
	int64_t sod = l - days * 86400;
	int y, m, d, h = (int)(sod / 3600), mi = (int)(sod / 60 % 60),
		     s = (int)(sod % 60);
	char sec[16] = "", zone[24];

	ident_civil_from_days(days, &y, &m, &d);
	if (s != 0)
		snprintf(sec, sizeof sec, ":%02d", s);
	if (off == 0)
		snprintf(zone, sizeof zone, "Z");
	else
		snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+',
			 abs(off) / 3600, abs(off) / 60 % 60);
	snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d%s%s", y, m, d, h, mi, sec,
		 zone);
}

static void fi_time(int64_t t, char out[96])
{
	format_time(t, fi_offset(t), out);
}

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Parses an ISO 8601 time (see rekisteri.h) into Unix time; *why says
 * what was wrong. */
static int parse_time(const char *in, int64_t *out, const char **why)
{
	int y, mo, d, h, mi, s = 0, oh, om, sign = 0;
	const char *p = in;
	int64_t local, a, b;
	int a_ok, b_ok;

	*why = "a time is YYYY-MM-DDTHH:MM[:SS] with Z or an offset "
	       "+HH:MM, or in Finnish time without one";
	if (in == NULL || strlen(in) < 16 || digits(p, 4, &y) || p[4] != '-' ||
	    digits(p + 5, 2, &mo) || p[7] != '-' || digits(p + 8, 2, &d) ||
	    (p[10] != 'T' && p[10] != ' ') || digits(p + 11, 2, &h) ||
	    p[13] != ':' || digits(p + 14, 2, &mi))
		return -1;
	p += 16;
	if (*p == ':') {
		if (digits(p + 1, 2, &s))
			return -1;
		p += 3;
	}
	if (*p == 'Z' && p[1] == '\0') {
		sign = 1;
		oh = om = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
		   !digits(p + 1, 2, &oh) && p[3] == ':' &&
		   !digits(p + 4, 2, &om)) {
		sign = *p == '+' ? 1 : -1;
		if (oh > 14 || om > 59)
			return -1;
	} else if (*p != '\0') {
		return -1;
	}
	if (!ident_date_exists(y, mo, d) || h > 23 || mi > 59 || s > 59) {
		*why = "that date or time does not exist";
		return -1;
	}
	local = ident_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
		s;
	if (sign != 0) {
		*out = local - sign * (oh * 3600 + om * 60);
		return 0;
	}
	/* Finnish time: the instant whose offset gives this wall time. */
	a = local - 2 * 3600;
	b = local - 3 * 3600;
	a_ok = fi_offset(a) == 2 * 3600;
	b_ok = fi_offset(b) == 3 * 3600;
	if (a_ok && b_ok) {
		*why = "that Finnish time comes twice (summer time ends): "
		       "give the offset, +03:00 or +02:00";
		return -1;
	}
	if (!a_ok && !b_ok) {
		*why = "that Finnish time does not exist (summer time "
		       "begins): give the offset";
		return -1;
	}
	*out = a_ok ? a : b;
	return 0;
}

/* "71 h 30 min" of a non-negative number of seconds. */
static void span(int64_t s, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRId64 " h %d min", s / 3600,
		 (int)(s / 60 % 60));
}

/* ---- rows -----------------------------------------------------------------
 */

struct brow {
	store_breach b;
	/* owned copies of what the store handed out */
	unsigned char *desc, *meas;
	char *cats, *qf, *qt, *risk, *status;
	unsigned char mac[SEC_HASH_BYTES];
};

struct ball {
	rk_register *r;
	struct brow *rows;
	size_t n, cap;
	rk_status st;
};

static void row_free(struct brow *w)
{
	free(w->desc);
	free(w->meas);
	free(w->cats);
	free(w->qf);
	free(w->qt);
	free(w->risk);
	free(w->status);
	memset(w, 0, sizeof *w);
}

static void all_free(struct ball *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		row_free(&a->rows[i]);
	free(a->rows);
	a->rows = NULL;
	a->n = a->cap = 0;
}

static int dup_str(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || s[0] == '\0')
		return 0;
	*out = strdup(s);
	return *out == NULL ? -1 : 0;
}

static int dup_blob(const unsigned char *p, size_t n, unsigned char **out)
{
	*out = NULL;
	if (p == NULL)
		return 0;
	*out = malloc(n > 0 ? n : 1);
	if (*out == NULL)
		return -1;
	memcpy(*out, p, n);
	return 0;
}

/* Points w->b's members at w's own copies. */
static void row_link(struct brow *w)
{
	w->b.description = w->desc;
	w->b.measures = w->meas;
	w->b.categories = w->cats;
	w->b.q_field = w->qf;
	w->b.q_type = w->qt;
	w->b.risk = w->risk;
	w->b.status = w->status;
	w->b.mac = w->mac;
}

static rk_status altered(rk_register *r, const char *what)
{
	return reg_fail(r, RK_EINTEGRITY, "%s: %s", what, MSG_ALTERED);
}

static int load_one(void *ud, const store_breach *b)
{
	struct ball *a = ud;
	struct brow *w;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct brow *n = realloc(a->rows, cap * sizeof *n);
		if (n == NULL) {
			a->st = reg_fail(a->r, RK_ESYS, "out of memory");
			return 1;
		}
		a->rows = n;
		a->cap = cap;
	}
	w = &a->rows[a->n++];
	memset(w, 0, sizeof *w);
	w->b = *b;
	if (dup_blob(b->description, b->description_len, &w->desc) ||
	    dup_blob(b->measures, b->measures_len, &w->meas) ||
	    dup_str(b->categories, &w->cats) || dup_str(b->q_field, &w->qf) ||
	    dup_str(b->q_type, &w->qt) || dup_str(b->risk, &w->risk) ||
	    dup_str(b->status, &w->status)) {
		a->st = reg_fail(a->r, RK_ESYS, "out of memory");
		return 1;
	}
	if (b->mac == NULL) {
		a->st = altered(a->r, "a breach has no MAC");
		return 1;
	}
	memcpy(w->mac, b->mac, SEC_HASH_BYTES);
	row_link(w);
	return 0;
}

static void set_mac(const rk_register *r, const struct ball *a,
		    unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;
	size_t i;

	sec_mac_init(&m, r->rkey, CTX_BREACH_SET);
	sec_mac_int(&m, (int64_t)a->n);
	for (i = 0; i < a->n; i++) {
		unsigned char rm[SEC_HASH_BYTES];
		integ_breach_mac(r, &a->rows[i].b, rm);
		sec_mac_int(&m, a->rows[i].b.id);
		sec_mac_bytes(&m, rm, sizeof rm);
	}
	sec_mac_final(&m, out);
}

/* Every breach, each checked against its MAC and the set against the pin;
 * inside the caller's read or write. */
static rk_status load_all(rk_register *r, struct ball *a)
{
	unsigned char want[SEC_HASH_BYTES];
	size_t i;

	memset(a, 0, sizeof *a);
	a->r = r;
	a->st = RK_OK;
	if (r->st->vt->breach_walk(r->st, load_one, a) != 0)
		return a->st != RK_OK
			       ? a->st
			       : reg_store_fail(r, "cannot read the breaches");
	if (a->st != RK_OK)
		return a->st;
	/* The array moved as it grew: point each row at its own copies. */
	for (i = 0; i < a->n; i++)
		row_link(&a->rows[i]);
	for (i = 0; i < a->n; i++) {
		const store_breach *b = &a->rows[i].b;
		integ_breach_mac(r, b, want);
		if (sec_memcmp(want, b->mac, SEC_HASH_BYTES) != 0)
			return altered(r, "a breach does not match its MAC");
	}
	set_mac(r, a, want);
	return integ_breach_pin_check(r, want, a->n > 0, NULL);
}

static struct brow *find_row(struct ball *a, int64_t number)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->rows[i].b.id == number)
			return &a->rows[i];
	return NULL;
}

/* Inside a write: stores row w (new: insert) under its MAC and pins the
 * set as a holds it now. */
static rk_status store_row(rk_register *r, struct ball *a, struct brow *w,
			   int insert)
{
	unsigned char m[SEC_HASH_BYTES];
	int rc;

	row_link(w);
	integ_breach_mac(r, &w->b, w->mac);
	rc = insert ? r->st->vt->breach_insert(r->st, &w->b)
		    : r->st->vt->breach_update(r->st, &w->b);
	if (rc != 0)
		return reg_store_fail(r, "cannot store the breach");
	set_mac(r, a, m);
	return integ_breach_pin_write(r, m);
}

/* ---- sealed texts ---------------------------------------------------------
 */

static rk_status check_text(rk_register *r, const char *what, const char *in,
			    char **out)
{
	return reg_text_check(r, what, in, TEXT_MAX, out);
}

static rk_status seal_text(rk_register *r, int64_t id, const char *field,
			   const char *text, unsigned char **ct, size_t *len)
{
	return integ_text_seal(r, CTX_BREACH_TEXT, "breach", id, field, text,
			       ct, len);
}

static json_t *text_json(rk_register *r, int64_t id, const char *field,
			 const unsigned char *ct, size_t len, rk_status *st)
{
	return integ_text_json(r, CTX_BREACH_TEXT, "breach", id, field, ct, len,
			       "a breach's text is not text", st);
}

/* ---- JSON -----------------------------------------------------------------
 */

static json_t *time_or_null(int64_t t)
{
	char buf[96];

	if (t == 0)
		return json_null();
	fi_time(t, buf);
	return json_string(buf);
}

static json_t *cats_json(const char *csv)
{
	json_t *a = json_array();
	const char *s = csv, *e;

	while (a != NULL && s != NULL && *s != '\0') {
		e = strchr(s, ',');
		if (json_array_append_new(a, json_stringn(s, e ? (size_t)(e - s)
							       : strlen(s))))
			break;
		s = e ? e + 1 : NULL;
	}
	return a;
}

static json_t *row_json(rk_register *r, const store_breach *b, int texts,
			rk_status *st)
{
	int64_t now = reg_now(r), deadline = b->aware_at + DEADLINE_SECONDS;
	int notified = b->dpa_notified_at != 0;
	int open = strcmp(b->status, STATUS_OPEN) == 0;
	json_t *o, *q = json_null();
	char dl[96], dlu[96], left[64];
	int bad;

	fi_time(deadline, dl);
	format_time(deadline, 0, dlu);
	if (now <= deadline)
		span(deadline - now, left, sizeof left);
	else {
		memcpy(left, "overdue by ", 12);
		span(now - deadline, left + 11, sizeof left - 11);
	}
	if (b->has_query) {
		q = json_pack(
			"{s:o, s:o, s:o, s:o}", "field",
			b->q_field ? json_string(b->q_field) : json_null(),
			"record_type",
			b->q_type ? json_string(b->q_type) : json_null(),
			"from",
			b->has_range ? time_or_null(b->q_from) : json_null(),
			"to",
			b->has_range ? time_or_null(b->q_to) : json_null());
	}
	o = json_pack(
		"{s:I, s:s, s:o, s:o, s:s, s:s, s:I, s:o, s:b, s:o, s:b, s:o, "
		"s:o, s:o, s:o, s:o, s:o, s:o}",
		"number", (json_int_t)b->id, "status", b->status, "aware_at",
		time_or_null(b->aware_at), "opened_at",
		time_or_null(b->opened_at), "deadline", dl, "deadline_utc", dlu,
		"seconds_left", (json_int_t)(deadline - now), "time_left",
		open && !notified ? json_string(left) : json_null(), "overdue",
		open && !notified && now > deadline, "dpa_notified_at",
		time_or_null(b->dpa_notified_at), "notified_late",
		notified && b->dpa_notified_at > deadline, "risk",
		b->risk ? json_string(b->risk) : json_null(),
		"subjects_notified_at", time_or_null(b->subjects_notified_at),
		"categories", cats_json(b->categories), "query", q, "affected",
		b->affected >= 0 ? json_integer(b->affected) : json_null(),
		"counted_at",
		b->has_query ? time_or_null(b->counted_at) : json_null(),
		"closed_at", time_or_null(b->closed_at));
	if (o == NULL) {
		*st = reg_fail(r, RK_ESYS, "out of memory");
		return NULL;
	}
	if (texts) {
		json_t *d = text_json(r, b->id, FIELD_DESC, b->description,
				      b->description_len, st);
		json_t *m = d ? text_json(r, b->id, FIELD_MEASURES, b->measures,
					  b->measures_len, st)
			      : NULL;
		bad = d == NULL || m == NULL ||
		      json_object_set_new(o, "description", d) != 0;
		if (d == NULL || bad)
			json_decref(m);
		bad = bad || json_object_set_new(o, "measures", m) != 0;
		if (bad) {
			if (*st == RK_OK)
				*st = reg_fail(r, RK_ESYS, "out of memory");
			json_free_secret(o);
			return NULL;
		}
	}
	return o;
}

/* ---- checks ---------------------------------------------------------------
 */

static rk_status number_ok(rk_register *r, int64_t number)
{
	return number > 0 ? RK_OK
			  : reg_fail(r, RK_EINVAL,
				     "a breach number is a positive integer");
}

/* A time given for what: parsed, not in the future, not before since (0:
 * no bound). */
static rk_status time_arg(rk_register *r, const char *what, const char *in,
			  int64_t since, int64_t *out)
{
	const char *why = NULL;

	if (parse_time(in, out, &why) != 0)
		return reg_fail(r, RK_EINVAL, "%s: %s", what, why);
	if (*out > reg_now(r))
		return reg_fail(r, RK_EINVAL, "%s: not in the future", what);
	if (since != 0 && *out < since)
		return reg_fail(r, RK_EINVAL,
				"%s: not before the controller became aware "
				"of the breach",
				what);
	return RK_OK;
}

/* Comma-separated names of the policy's categories or record types, each
 * once; *out is malloc'd (NULL for none). */
static rk_status check_cats(rk_register *r, const char *in, char **out)
{
	const policy *p = r->pol;
	const char *s = in, *e;
	char name[64];
	size_t n;

	*out = NULL;
	if (in == NULL || in[0] == '\0')
		return RK_OK;
	if (strlen(in) >= CATS_MAX)
		return reg_fail(r, RK_EINVAL, "too many categories");
	*out = calloc(1, CATS_MAX);
	if (*out == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	while (s != NULL) {
		e = strchr(s, ',');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || n >= sizeof name)
			goto bad;
		memcpy(name, s, n);
		name[n] = '\0';
		if (policy_category(p, name) == POL_NONE &&
		    policy_record_type(p, name) == POL_NONE)
			goto bad;
		if (!csv_has(*out, name))
			csv_add(*out, CATS_MAX, name);
		s = e ? e + 1 : NULL;
	}
	return RK_OK;
bad:
	free(*out);
	*out = NULL;
	/* The name is not repeated: it may be anything typed. */
	return reg_fail(r, RK_EINVAL,
			"categories: each is a data category or record type "
			"of the policy");
}

struct match {
	json_t *ids; /* or NULL: count only */
	int64_t n;
	int oom;
};

static int match_one(void *ud, const char *id, const char *pseudonym)
{
	struct match *m = ud;

	(void)pseudonym;
	m->n++;
	if (m->ids != NULL && json_array_append_new(m->ids, json_string(id))) {
		m->oom = 1;
		return 1;
	}
	return 0;
}

static rk_status run_query(rk_register *r, const store_breach *b,
			   struct match *m)
{
	if (r->st->vt->breach_match(r->st, b->q_field, b->q_type, b->has_range,
				    b->q_from, b->q_to, b->counted_at,
				    match_one, m) != 0)
		return reg_store_fail(r, "cannot count the affected subjects");
	return m->oom ? reg_fail(r, RK_ESYS, "out of memory") : RK_OK;
}

/* ---- open -----------------------------------------------------------------
 */

rk_status rk_breach_open(rk_register *r, const char *aware_at,
			 const char *description, const char *categories,
			 const rk_breach_query *query, int64_t *number)
{
	const audit_action action = AUD_BREACH_OPEN;
	struct ball all;
	struct brow row, *grown;
	struct match m = {NULL, 0, 0};
	char *text = NULL, fields[64];
	int64_t id = 0;
	rk_status st;

	memset(&all, 0, sizeof all);
	memset(&row, 0, sizeof row);
	if (number == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the number");
	*number = 0;
	st = access_rights(r, action, WHAT);
	if (st != RK_OK)
		return st;
	row.b.opened_at = reg_now(r);
	row.b.affected = -1;
	st = time_arg(r, "aware-at", aware_at, 0, &row.b.aware_at);
	if (st == RK_OK)
		st = check_text(r, FIELD_DESC, description, &text);
	if (st == RK_OK)
		st = check_cats(r, categories, &row.cats);
	if (st == RK_OK && query != NULL) {
		row.b.has_query = 1;
		if (query->field != NULL &&
		    policy_field(r->pol, query->field) == POL_NONE)
			st = reg_unknown_field(r, "field", r->pol->fields,
					       r->pol->nfields);
		else if (query->record_type != NULL &&
			 policy_record_type(r->pol, query->record_type) ==
				 POL_NONE)
			st = reg_fail(r, RK_EINVAL,
				      "unknown record type: see the policy");
		else if ((query->from == NULL) != (query->to == NULL))
			st = reg_fail(r, RK_EINVAL,
				      "a time range has both ends: from and "
				      "to");
		if (st == RK_OK && query->from != NULL) {
			row.b.has_range = 1;
			st = time_arg(r, "from", query->from, 0, &row.b.q_from);
			if (st == RK_OK) {
				const char *why = NULL;
				/* The end may be now or later: the data
				 * that may have leaked until then. */
				if (parse_time(query->to, &row.b.q_to, &why))
					st = reg_fail(r, RK_EINVAL, "to: %s",
						      why);
			}
			if (st == RK_OK && row.b.q_to < row.b.q_from)
				st = reg_fail(r, RK_EINVAL,
					      "the time range ends before it "
					      "begins");
		}
		if (st == RK_OK && (dup_str(query->field, &row.qf) ||
				    dup_str(query->record_type, &row.qt)))
			st = reg_fail(r, RK_ESYS, "out of memory");
	}
	if (st != RK_OK)
		goto out;
	row.status = strdup(STATUS_OPEN);
	if (row.status == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = reg_begin_write(r);
	if (st == RK_OK)
		st = load_all(r, &all);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->counter_next(r->st, META_BREACH_NO, 1, &id) != 0) {
		st = reg_store_fail(r, "cannot number the breach");
		goto out;
	}
	row.b.id = id;
	st = seal_text(r, id, FIELD_DESC, text, &row.desc,
		       &row.b.description_len);
	if (st != RK_OK)
		goto out;
	if (row.b.has_query) {
		row.b.counted_at = row.b.opened_at;
		row_link(&row);
		st = run_query(r, &row.b, &m);
		if (st != RK_OK)
			goto out;
		row.b.affected = m.n;
	}
	grown = realloc(all.rows, (all.n + 1) * sizeof *grown);
	if (grown == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	all.rows = grown;
	all.cap = all.n + 1;
	all.rows[all.n++] = row;
	memset(&row, 0, sizeof row); /* all owns it now */
	for (size_t i = 0; i < all.n; i++)
		row_link(&all.rows[i]);
	st = store_row(r, &all, &all.rows[all.n - 1], 1);
	if (st != RK_OK)
		goto out;
	snprintf(fields, sizeof fields, "%" PRId64 ":affected=%" PRId64, id,
		 all.rows[all.n - 1].b.affected);
	st = reg_write_commit(r, action, NULL, fields, NULL);
	if (st == RK_OK)
		*number = id;
out:
	if (st != RK_OK)
		reg_write_failed(r, action, NULL, NULL, st);
	reg_free_secret(text);
	row_free(&row);
	all_free(&all);
	return st;
}

/* ---- list, show, subjects -------------------------------------------------
 */

/* Loads the breaches in a read of their own. */
static rk_status read_all(rk_register *r, struct ball *all)
{
	rk_status st = reg_begin_read(r);

	if (st != RK_OK)
		return st;
	st = load_all(r, all);
	reg_end_read(r);
	return st;
}

rk_status rk_breach_list(rk_register *r, unsigned flags, char **json_out)
{
	const audit_action action = AUD_BREACH_LIST;
	struct ball all;
	json_t *arr = NULL;
	rk_status st;
	size_t i;

	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the list");
	*json_out = NULL;
	memset(&all, 0, sizeof all);
	st = access_rights(r, action, WHAT);
	if (st != RK_OK)
		return st;
	st = read_all(r, &all);
	if (st != RK_OK)
		goto out;
	arr = json_array();
	if (arr == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	for (i = 0; i < all.n; i++) {
		const store_breach *b = &all.rows[i].b;
		json_t *o;
		if (!(flags & RK_BREACH_ALL) && strcmp(b->status, STATUS_OPEN))
			continue;
		o = row_json(r, b, 0, &st);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			if (st == RK_OK)
				st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
	}
out:
	st = reg_read_out(r, st, action, NULL, NULL, arr, json_out);
	json_decref(arr);
	all_free(&all);
	return st;
}

rk_status rk_breach_show(rk_register *r, int64_t number, char **json_out)
{
	const audit_action action = AUD_BREACH_SHOW;
	struct ball all;
	struct brow *w;
	json_t *o = NULL;
	char fields[32];
	rk_status st;

	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the breach");
	*json_out = NULL;
	memset(&all, 0, sizeof all);
	st = access_rights(r, action, WHAT);
	if (st != RK_OK)
		return st;
	st = number_ok(r, number);
	if (st == RK_OK)
		st = read_all(r, &all);
	if (st != RK_OK)
		goto out;
	w = find_row(&all, number);
	if (w == NULL) {
		st = reg_fail(r, RK_ENOTFOUND, "no such breach");
		goto out;
	}
	o = row_json(r, &w->b, 1, &st);
out:
	snprintf(fields, sizeof fields, "%" PRId64, number);
	st = reg_read_out(r, st, action, NULL, fields, o, json_out);
	json_free_secret(o);
	all_free(&all);
	return st;
}

rk_status rk_breach_subjects(rk_register *r, int64_t number, char **json_out)
{
	const audit_action action = AUD_BREACH_SUBJECTS;
	struct ball all;
	struct brow *w;
	struct match m = {NULL, 0, 0};
	json_t *o = NULL;
	char fields[64];
	rk_status st;

	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the subjects");
	*json_out = NULL;
	memset(&all, 0, sizeof all);
	st = access_rights(r, action, WHAT);
	if (st != RK_OK)
		return st;
	st = number_ok(r, number);
	if (st != RK_OK)
		goto out;
	m.ids = json_array();
	if (m.ids == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	st = load_all(r, &all);
	w = st == RK_OK ? find_row(&all, number) : NULL;
	if (st == RK_OK && w == NULL)
		st = reg_fail(r, RK_ENOTFOUND, "no such breach");
	if (st == RK_OK && !w->b.has_query)
		st = reg_fail(r, RK_EINVAL,
			      "breach %" PRId64 " has no query of the affected "
			      "subjects",
			      number);
	else if (st == RK_OK &&
		 (w->b.risk == NULL || strcmp(w->b.risk, "high") != 0))
		st = reg_fail(r, RK_EINVAL,
			      "the subjects are told of a breach only when "
			      "its risk is high (Art. 34): assess it with "
			      "breach update N --risk");
	/* The subjects that the query chose when the breach was counted,
	 * less those erased since. */
	if (st == RK_OK)
		st = run_query(r, &w->b, &m);
	reg_end_read(r);
	if (st != RK_OK)
		goto out;
	o = json_pack("{s:I, s:I, s:O}", "number", (json_int_t)number, "count",
		      (json_int_t)m.n, "subjects", m.ids);
	if (o == NULL)
		st = reg_fail(r, RK_ESYS, "out of memory");
out:
	snprintf(fields, sizeof fields, "%" PRId64 ":subjects=%" PRId64, number,
		 m.n);
	st = reg_read_out(r, st, action, NULL, fields, o, json_out);
	json_decref(m.ids);
	json_decref(o);
	all_free(&all);
	return st;
}

/* ---- update and close -----------------------------------------------------
 */

static const char *known_risk(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof risks / sizeof risks[0]; i++)
		if (strcmp(s, risks[i]) == 0)
			return risks[i];
	return NULL;
}

static int replace_str(char **dst, const char *src)
{
	char *n = NULL;

	if (dup_str(src, &n) != 0)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

/* Applies change c (update) or the closing (c NULL) to w. */
static rk_status apply(rk_register *r, struct brow *w,
		       const rk_breach_change *c, const char *measures)
{
	store_breach *b = &w->b;
	char *cats = NULL;
	rk_status st;
	int64_t t;

	if (strcmp(b->status, STATUS_OPEN) != 0)
		return reg_fail(r, RK_EINVAL,
				"breach %" PRId64 " is closed already", b->id);
	if (c == NULL) {
		/* Art. 33(1): told unless unlikely to result in a risk;
		 * Art. 34(1): the subjects told of a high risk. */
		if (b->risk == NULL)
			return reg_fail(r, RK_EINVAL,
					"assess the risk first: breach update "
					"N --risk none|low|high");
		if (strcmp(b->risk, "none") != 0 && b->dpa_notified_at == 0)
			return reg_fail(r, RK_EINVAL,
					"the Data Protection Ombudsman has not "
					"been told: breach update N "
					"--dpa-notified-at TIME");
		if (strcmp(b->risk, "high") == 0 &&
		    b->subjects_notified_at == 0)
			return reg_fail(r, RK_EINVAL,
					"the risk is high and the subjects "
					"have not been told: breach update N "
					"--subjects-notified-at TIME");
		b->closed_at = reg_now(r);
		return replace_str(&w->status, STATUS_CLOSED) == 0
			       ? RK_OK
			       : reg_fail(r, RK_ESYS, "out of memory");
	}
	if (c->risk != NULL) {
		const char *k = known_risk(c->risk);
		if (k == NULL)
			return reg_fail(r, RK_EINVAL,
					"the risk is none, low or high");
		if (replace_str(&w->risk, k) != 0)
			return reg_fail(r, RK_ESYS, "out of memory");
		row_link(w);
	}
	if (c->dpa_notified_at != NULL) {
		st = time_arg(r, "dpa-notified-at", c->dpa_notified_at,
			      b->aware_at, &t);
		if (st != RK_OK)
			return st;
		b->dpa_notified_at = t;
	}
	if (c->subjects_notified_at != NULL) {
		if (b->risk == NULL || strcmp(b->risk, "high") != 0)
			return reg_fail(r, RK_EINVAL,
					"the subjects are told of a breach "
					"only when its risk is high (Art. 34)");
		st = time_arg(r, "subjects-notified-at",
			      c->subjects_notified_at, b->aware_at, &t);
		if (st != RK_OK)
			return st;
		b->subjects_notified_at = t;
	}
	if (c->categories != NULL) {
		st = check_cats(r, c->categories, &cats);
		if (st != RK_OK)
			return st;
		free(w->cats);
		w->cats = cats;
	}
	if (measures != NULL) {
		unsigned char *ct = NULL;
		size_t len = 0;
		st = seal_text(r, b->id, FIELD_MEASURES, measures, &ct, &len);
		if (st != RK_OK)
			return st;
		free(w->meas);
		w->meas = ct;
		b->measures_len = len;
	}
	row_link(w);
	return RK_OK;
}

static rk_status change(rk_register *r, audit_action action, int64_t number,
			const rk_breach_change *c, char **json_out)
{
	struct ball all;
	struct brow *w = NULL;
	json_t *o = NULL;
	char *measures = NULL, fields[96];
	rk_status st;

	if (json_out != NULL)
		*json_out = NULL;
	memset(&all, 0, sizeof all);
	st = access_rights(r, action, WHAT);
	if (st != RK_OK)
		return st;
	st = number_ok(r, number);
	if (st == RK_OK && c != NULL && c->measures != NULL)
		st = check_text(r, FIELD_MEASURES, c->measures, &measures);
	if (st != RK_OK)
		goto out;
	st = reg_begin_write(r);
	if (st == RK_OK)
		st = load_all(r, &all);
	if (st != RK_OK)
		goto out;
	w = find_row(&all, number);
	if (w == NULL) {
		st = reg_fail(r, RK_ENOTFOUND, "no such breach");
		goto out;
	}
	st = apply(r, w, c, measures);
	if (st == RK_OK)
		st = store_row(r, &all, w, 0);
	if (st != RK_OK)
		goto out;
	if (json_out != NULL) {
		o = row_json(r, &w->b, 1, &st);
		if (o == NULL)
			goto out;
		st = reg_json_out(r, o, json_out);
		if (st != RK_OK)
			goto out;
	}
	/* What changed, by name only. */
	snprintf(fields, sizeof fields, "%" PRId64 "%s%s%s%s%s%s", number,
		 c == NULL ? ":closed" : "",
		 c != NULL && c->risk ? ":risk=" : "",
		 c != NULL && c->risk ? w->b.risk : "",
		 c != NULL && c->dpa_notified_at ? ":dpa_notified" : "",
		 c != NULL && c->subjects_notified_at ? ":subjects_notified"
						      : "",
		 c != NULL && (c->measures || c->categories) ? ":details" : "");
	st = reg_write_commit(r, action, NULL, fields, NULL);
out:
	if (st != RK_OK) {
		reg_rollback(r);
		reg_audit_attempt(r, action, NULL, NULL, st);
		if (json_out != NULL) {
			reg_free_secret(*json_out);
			*json_out = NULL;
		}
	}
	json_free_secret(o);
	reg_free_secret(measures);
	all_free(&all);
	return st;
}

rk_status rk_breach_update(rk_register *r, int64_t number,
			   const rk_breach_change *c, char **json_out)
{
	static const rk_breach_change none = {NULL, NULL, NULL, NULL, NULL};

	if (c == NULL)
		c = &none;
	if (c->dpa_notified_at == NULL && c->risk == NULL &&
	    c->subjects_notified_at == NULL && c->measures == NULL &&
	    c->categories == NULL) {
		if (json_out != NULL)
			*json_out = NULL;
		return reg_fail(r, RK_EINVAL, "nothing to update");
	}
	return change(r, AUD_BREACH_UPDATE, number, c, json_out);
}

rk_status rk_breach_close(rk_register *r, int64_t number, char **json_out)
{
	return change(r, AUD_BREACH_CLOSE, number, NULL, json_out);
}
