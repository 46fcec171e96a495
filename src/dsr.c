/*
 * dsr.c: the register of data subject requests and their deadlines (GDPR
 * Art. 12(3)).
 *
 * A request is due one month from receipt, moved to the next Finnish
 * working day (ident_due_date); it may be extended once, by two further
 * months, while the first month runs. Only the operator (the policy's
 * admin role) and roles with "audit": true keep this register: it is the
 * data protection lead's work.
 *
 * What holds the rows to the truth: each row carries a MAC under the
 * register's row key over everything in it but the subject's id (which
 * erasure sets to NULL); meta "dsr_set" pins the MAC over all rows (number
 * and row MAC, in order), so a request removed, added, or put back to an
 * older copy shows too. A row that still names a subject must name the one
 * whose (MAC-checked) row has the request's pseudonym. Every read checks
 * all of it, which is cheap: requests are few.
 *
 * Reasons (of an extension, of a refusal) are free text that may hold
 * personal data. They are sealed under a key derived from the row key,
 * not under the subject's data key: they are the controller's evidence
 * and must outlive the subject's erasure. They are limited to 1000 bytes
 * of text without a HETU or card number (ident_text_lines).
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

#define CTX_DSR_REASON	"rk-dsr-reason-v1"
#define FIELD_XREASON	"extend_reason"
#define FIELD_REASON	"reason"
#define DSR_REASON_MAX	1000
#define DSR_METHOD_MAX	32
#define DSR_MONTHS	1 /* Art. 12(3): one month */
#define DSR_MONTHS_EXT	3 /* extended by two further months */
#define STATUS_OPEN	"open"
#define STATUS_CLOSED	"closed"
#define OUTCOME_DONE	"done"
#define OUTCOME_REFUSED "refused"
#define MSG_ALTERED                                                            \
	"the database was altered without the key; see the audit log and "     \
	"restore a backup"

static const char *const dsr_types[] = {"access",    "rectification",
					"erasure",   "restriction",
					"objection", "portability"};
#define NTYPES (sizeof dsr_types / sizeof dsr_types[0])

/* The requests whose outcome must be told to the recipients (Art. 19). */
static int type_notifies(const char *type)
{
	return strcmp(type, "rectification") == 0 ||
	       strcmp(type, "erasure") == 0 || strcmp(type, "restriction") == 0;
}

/* One request as read (a copy: the store's strings live only in a walk). */
struct dsr_row {
	int64_t id;
	char subject_id[33]; /* "" once the subject is gone */
	char pseudonym[33];
	char type[16];
	char received[11];
	char due[11];
	char extended_due[11];
	char verified_by[DSR_METHOD_MAX + 1];
	char status[8];
	char outcome[8];
	char closed[11];
	unsigned char *xreason; /* sealed, or NULL */
	size_t xreason_len;
	unsigned char *reason; /* sealed, or NULL */
	size_t reason_len;
	char *purposes; /* or NULL */
	unsigned char mac[SEC_HASH_BYTES];
};

struct dsr_all {
	rk_register *r;
	struct dsr_row *rows;
	size_t n, cap;
	rk_status st;
};

static void rows_free(struct dsr_all *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->rows[i].xreason);
		free(a->rows[i].reason);
		free(a->rows[i].purposes);
	}
	free(a->rows);
	a->rows = NULL;
	a->n = a->cap = 0;
}

static const char *opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* ---- MACs ---------------------------------------------------------------
 */

/* The row as the store holds it, for integ_dsr_mac. */
static void row_mac(const rk_register *r, const struct dsr_row *d,
		    unsigned char out[SEC_HASH_BYTES])
{
	store_dsr v;

	memset(&v, 0, sizeof v);
	v.id = d->id;
	v.pseudonym = d->pseudonym;
	v.type = d->type;
	v.received = d->received;
	v.due = d->due;
	v.extended_due = d->extended_due;
	v.extend_reason = d->xreason;
	v.extend_reason_len = d->xreason_len;
	v.verified_by = d->verified_by;
	v.status = d->status;
	v.outcome = d->outcome;
	v.reason = d->reason;
	v.reason_len = d->reason_len;
	v.closed = d->closed;
	v.purposes = d->purposes;
	integ_dsr_mac(r, &v, out);
}

static void set_mac(const rk_register *r, const struct dsr_all *a,
		    unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;
	size_t i;

	integ_dsr_set_begin(r, &m, (int64_t)a->n);
	for (i = 0; i < a->n; i++)
		integ_dsr_set_add(&m, a->rows[i].id, a->rows[i].mac);
	sec_mac_final(&m, out);
}

static rk_status altered(rk_register *r, const char *what)
{
	return reg_fail(r, RK_EINTEGRITY, "%s: %s", what, MSG_ALTERED);
}

/* ---- loading --------------------------------------------------------------
 */

static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src == NULL ? 0 : strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src == NULL ? "" : src, n);
	dst[n] = '\0';
	return 0;
}

static unsigned char *copy_blob(const unsigned char *p, size_t n, int *bad)
{
	unsigned char *c;

	if (p == NULL)
		return NULL;
	c = malloc(n > 0 ? n : 1);
	if (c == NULL) {
		*bad = 1;
		return NULL;
	}
	memcpy(c, p, n);
	return c;
}

static int load_one(void *ud, const store_dsr *d)
{
	struct dsr_all *a = ud;
	struct dsr_row *row;
	int bad = 0;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct dsr_row *n = realloc(a->rows, cap * sizeof *n);
		if (n == NULL) {
			a->st = reg_fail(a->r, RK_ESYS, "out of memory");
			return 1;
		}
		a->rows = n;
		a->cap = cap;
	}
	row = &a->rows[a->n];
	memset(row, 0, sizeof *row);
	a->n++;
	row->id = d->id;
	/* A column longer than anything the library writes was edited. */
	if (copy_str(row->subject_id, sizeof row->subject_id, d->subject_id) ||
	    copy_str(row->pseudonym, sizeof row->pseudonym, d->pseudonym) ||
	    copy_str(row->type, sizeof row->type, d->type) ||
	    copy_str(row->received, sizeof row->received, d->received) ||
	    copy_str(row->due, sizeof row->due, d->due) ||
	    copy_str(row->extended_due, sizeof row->extended_due,
		     d->extended_due) ||
	    copy_str(row->verified_by, sizeof row->verified_by,
		     d->verified_by) ||
	    copy_str(row->status, sizeof row->status, d->status) ||
	    copy_str(row->outcome, sizeof row->outcome, d->outcome) ||
	    copy_str(row->closed, sizeof row->closed, d->closed)) {
		a->st = altered(a->r, "a data subject request is damaged");
		return 1;
	}
	row->xreason = copy_blob(d->extend_reason, d->extend_reason_len, &bad);
	row->xreason_len = d->extend_reason_len;
	row->reason = copy_blob(d->reason, d->reason_len, &bad);
	row->reason_len = d->reason_len;
	if (d->purposes != NULL) {
		row->purposes = strdup(d->purposes);
		bad |= row->purposes == NULL;
	}
	if (bad) {
		a->st = reg_fail(a->r, RK_ESYS, "out of memory");
		return 1;
	}
	if (d->mac == NULL) {
		a->st = altered(a->r, "a data subject request has no MAC");
		return 1;
	}
	memcpy(row->mac, d->mac, SEC_HASH_BYTES);
	return 0;
}

/* Whether the subject a request names is still the one it was opened
 * for: the subject row (checked against its MAC) has its pseudonym. A
 * subject that is gone (erased, or its row deleted behind the register's
 * back) leaves the request standing, without its id. */
static rk_status check_subject(rk_register *r, struct dsr_row *d)
{
	store_subject sub;
	rk_status st;
	int rc;

	if (d->subject_id[0] == '\0')
		return RK_OK;
	rc = r->st->vt->subject_get(r->st, d->subject_id, &sub);
	if (rc == STORE_NOTFOUND) {
		d->subject_id[0] = '\0';
		return RK_OK;
	}
	if (rc != 0)
		return reg_store_fail(r, "cannot read the subject");
	st = integ_subject_check(r, &sub);
	if (st != RK_OK)
		return st;
	if (strcmp(sub.pseudonym, d->pseudonym) != 0)
		return altered(r, "a data subject request names another "
				  "subject than it was opened for");
	return RK_OK;
}

/* Every request, each checked against its MAC, the set against the one
 * meta pins and each subject link; inside the caller's read or write. */
static rk_status load_all(rk_register *r, struct dsr_all *a)
{
	unsigned char want[SEC_HASH_BYTES];
	size_t i;
	rk_status st;

	memset(a, 0, sizeof *a);
	a->r = r;
	a->st = RK_OK;
	if (r->st->vt->dsr_walk(r->st, load_one, a) != 0)
		return a->st != RK_OK ? a->st
				      : reg_store_fail(r, "cannot read the "
							  "requests");
	if (a->st != RK_OK)
		return a->st;
	for (i = 0; i < a->n; i++) {
		row_mac(r, &a->rows[i], want);
		if (sec_memcmp(want, a->rows[i].mac, SEC_HASH_BYTES) != 0)
			return altered(r, "a data subject request does not "
					  "match its MAC");
	}
	set_mac(r, a, want);
	st = integ_dsr_pin_check(r, want, a->n > 0, NULL);
	if (st != RK_OK)
		return st;
	for (i = 0; i < a->n; i++) {
		st = check_subject(r, &a->rows[i]);
		if (st != RK_OK)
			return st;
	}
	return RK_OK;
}

static struct dsr_row *find_row(struct dsr_all *a, int64_t number)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->rows[i].id == number)
			return &a->rows[i];
	return NULL;
}

/* Inside a write: pins the set as a holds it now. */
static rk_status pin_set(rk_register *r, const struct dsr_all *a)
{
	unsigned char m[SEC_HASH_BYTES];

	set_mac(r, a, m);
	return integ_dsr_pin_write(r, m);
}

/* ---- who may, and what is valid ------------------------------------------
 */

/* The operator (admin role) and roles with "audit": true. A refusal is
 * audited, naming the subject when the call named a known one. */
static rk_status may_handle(rk_register *r, audit_action action,
			    const char *subject_id)
{
	store_subject sub;
	const char *pseudonym = NULL;

	if (r->role == POL_NONE || r->role == r->pol->settings.operator_role ||
	    r->pol->roles[r->role].audit)
		return RK_OK;
	if (subject_id != NULL && reg_valid_id(subject_id) &&
	    r->st->vt->subject_get(r->st, subject_id, &sub) == 0)
		pseudonym = sub.pseudonym;
	reg_fail(r, RK_EREFUSED,
		 "role %s may not handle data subject requests: the "
		 "administrator and roles that audit may",
		 r->pol->roles[r->role].name);
	reg_audit_attempt(r, action, pseudonym, NULL, RK_EREFUSED);
	return RK_EREFUSED;
}

static const char *known_type(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && i < NTYPES; i++)
		if (strcmp(type, dsr_types[i]) == 0)
			return dsr_types[i];
	return NULL;
}

/* A method of identification is stored in the clear: a short name. */
static int valid_method(const char *m)
{
	size_t i, n = strlen(m);

	if (n == 0 || n > DSR_METHOD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((m[i] >= 'a' && m[i] <= 'z') ||
		      (m[i] >= '0' && m[i] <= '9') || m[i] == '-' ||
		      m[i] == '_'))
			return 0;
	return 1;
}

/* A reason as it is stored: normalised text; never quoted in errors. */
static rk_status check_reason(rk_register *r, const char *in, char **out)
{
	return reg_text_check(r, "reason", in, DSR_REASON_MAX, out);
}

static rk_status seal_reason(rk_register *r, int64_t id, const char *field,
			     const char *text, unsigned char **ct, size_t *len)
{
	return integ_text_seal(r, CTX_DSR_REASON, "dsr", id, field, text, ct,
			       len);
}

/* The reason as a JSON string (or null); NULL with the status set when it
 * does not open. */
static json_t *reason_json(rk_register *r, int64_t id, const char *field,
			   const unsigned char *ct, size_t len, rk_status *st)
{
	return integ_text_json(r, CTX_DSR_REASON, "dsr", id, field, ct, len,
			       "a request's reason is not text", st);
}

/* ---- JSON -----------------------------------------------------------------
 */

static json_t *str_or_null(const char *s)
{
	return opt(s) != NULL ? json_string(s) : json_null();
}

static const char *deadline(const struct dsr_row *d)
{
	return d->extended_due[0] != '\0' ? d->extended_due : d->due;
}

static int is_overdue(const struct dsr_row *d, const char *today)
{
	return strcmp(d->status, STATUS_OPEN) == 0 &&
	       strcmp(deadline(d), today) < 0;
}

/* A request as JSON; with_reasons adds the decrypted reasons (personal
 * data). */
static json_t *row_json(rk_register *r, const struct dsr_row *d,
			const char *today, int with_reasons, rk_status *st)
{
	json_t *o = json_object();
	int bad = 0;

	*st = RK_OK;
	if (o == NULL) {
		*st = reg_fail(r, RK_ESYS, "out of memory");
		return NULL;
	}
	bad |= json_object_set_new(o, "number", json_integer(d->id));
	bad |= json_object_set_new(o, "subject", str_or_null(d->subject_id));
	bad |= json_object_set_new(o, "pseudonym", json_string(d->pseudonym));
	bad |= json_object_set_new(o, "type", json_string(d->type));
	bad |= json_object_set_new(o, "status", json_string(d->status));
	bad |= json_object_set_new(o, "received", json_string(d->received));
	bad |= json_object_set_new(o, "due", json_string(d->due));
	bad |= json_object_set_new(o, "extended_due",
				   str_or_null(d->extended_due));
	bad |= json_object_set_new(o, "deadline", json_string(deadline(d)));
	bad |= json_object_set_new(o, "overdue",
				   json_boolean(is_overdue(d, today)));
	bad |= json_object_set_new(o, "verified_by",
				   str_or_null(d->verified_by));
	bad |= json_object_set_new(o, "outcome", str_or_null(d->outcome));
	bad |= json_object_set_new(o, "closed", str_or_null(d->closed));
	if (with_reasons && !bad) {
		json_t *x = reason_json(r, d->id, FIELD_XREASON, d->xreason,
					d->xreason_len, st);
		json_t *y = x == NULL
				    ? NULL
				    : reason_json(r, d->id, FIELD_REASON,
						  d->reason, d->reason_len, st);
		if (x == NULL || y == NULL) {
			json_free_secret(x);
			json_free_secret(o);
			return NULL;
		}
		bad |= json_object_set_new(o, "extend_reason", x);
		bad |= json_object_set_new(o, "reason", y);
	}
	if (bad) {
		json_free_secret(o);
		*st = reg_fail(r, RK_ESYS, "out of memory");
		return NULL;
	}
	return o;
}

/* ---- the purposes of a subject's data -------------------------------------
 */

struct purposes {
	const policy *p;
	unsigned char *on; /* one flag per purpose of the policy */
};

static void mark(struct purposes *ps, const char *csv)
{
	size_t i;

	for (i = 0; csv != NULL && i < ps->p->npurposes; i++)
		if (csv_has(csv, ps->p->purposes[i].name))
			ps->on[i] = 1;
}

static int mark_value(void *ud, const store_value *v)
{
	mark(ud, v->purposes);
	return 0;
}

static int mark_record(void *ud, const store_record *rec)
{
	mark(ud, rec->purposes);
	return 0;
}

/* Inside a write: marks the purposes of subject id's stored values and
 * records, after checking them all against their MACs. */
static rk_status mark_subject(rk_register *r, const char *id,
			      struct purposes *ps)
{
	rk_status st = integ_subject_verify(r, id);

	if (st != RK_OK)
		return st;
	if (r->st->vt->value_list(r->st, id, NULL, mark_value, ps) != 0 ||
	    r->st->vt->record_list(r->st, id, NULL, mark_record, ps) != 0)
		return reg_store_fail(r, "cannot read the subject's data");
	return RK_OK;
}

/* The marked purposes as a comma-separated list (malloc'd). */
static char *purposes_csv(const struct purposes *ps)
{
	size_t i, cap = 1;
	char *s;

	for (i = 0; i < ps->p->npurposes; i++)
		cap += strlen(ps->p->purposes[i].name) + 1;
	s = calloc(1, cap);
	if (s == NULL)
		return NULL;
	for (i = 0; i < ps->p->npurposes; i++)
		if (ps->on[i])
			csv_add(s, cap, ps->p->purposes[i].name);
	return s;
}

/* ---- open -----------------------------------------------------------------
 */

rk_status rk_dsr_open(rk_register *r, const char *id, const char *type,
		      const char *received, const char *verified_by,
		      int64_t *number)
{
	const audit_action action = AUD_DSR_OPEN;
	struct dsr_all all;
	struct dsr_row row, *grown;
	struct purposes ps = {r->pol, NULL};
	store_subject sub;
	store_dsr d;
	const char *t = known_type(type), *why = NULL;
	char today[11], rec[11], fields[64];
	rk_status st;

	if (number != NULL)
		*number = 0;
	memset(&all, 0, sizeof all);
	memset(&row, 0, sizeof row);
	sub.pseudonym[0] = '\0';
	if (number == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the number");
	st = may_handle(r, action, id);
	if (st != RK_OK)
		return st;
	reg_today(r, today);
	if (t == NULL) {
		st = reg_fail(r, RK_EINVAL,
			      "unknown request type: access, rectification, "
			      "erasure, restriction, objection or "
			      "portability");
		goto out;
	}
	if (received == NULL) {
		memcpy(rec, today, sizeof rec);
	} else if (ident_date(received, rec, sizeof rec, &why) != 0) {
		st = reg_fail(r, RK_EINVAL, "received: %s", why);
		goto out;
	}
	if (strcmp(rec, today) > 0) {
		st = reg_fail(r, RK_EINVAL,
			      "received: a request is not received in the "
			      "future");
		goto out;
	}
	if (verified_by != NULL && !valid_method(verified_by)) {
		st = reg_fail(r, RK_EINVAL,
			      "verified-by: a method is 1 to 32 characters "
			      "a-z, 0-9, - and _ (e.g. strong-auth, id-card)");
		goto out;
	}
	memcpy(row.received, rec, sizeof rec);
	if (ident_due_date(rec, DSR_MONTHS, row.due) != 0) {
		st = reg_fail(r, RK_EINVAL,
			      "received: no deadline can be counted from "
			      "that date");
		goto out;
	}
	ps.on = calloc(r->pol->npurposes + 1, 1);
	if (ps.on == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = reg_begin_write(r);
	if (st == RK_OK)
		st = reg_load_subject(r, id, &sub);
	/* The set is checked before it grows, so that opening a request
	 * never pins rows edited before. */
	if (st == RK_OK)
		st = load_all(r, &all);
	/* What the subject's data served when the request came: the
	 * recipients to tell when it is closed, even after erasure. */
	if (st == RK_OK)
		st = mark_subject(r, sub.id, &ps);
	if (st != RK_OK)
		goto out;
	row.purposes = purposes_csv(&ps);
	if (row.purposes == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	memcpy(row.subject_id, sub.id, sizeof row.subject_id);
	memcpy(row.pseudonym, sub.pseudonym, sizeof row.pseudonym);
	snprintf(row.type, sizeof row.type, "%s", t);
	if (verified_by != NULL)
		snprintf(row.verified_by, sizeof row.verified_by, "%s",
			 verified_by);
	memcpy(row.status, STATUS_OPEN, sizeof STATUS_OPEN);
	memset(&d, 0, sizeof d);
	d.subject_id = row.subject_id;
	d.pseudonym = row.pseudonym;
	d.type = row.type;
	d.received = row.received;
	d.due = row.due;
	d.verified_by = opt(row.verified_by);
	d.status = row.status;
	d.purposes = row.purposes;
	if (r->st->vt->dsr_insert(r->st, &d) != 0) {
		st = reg_store_fail(r, "cannot store the request");
		goto out;
	}
	/* The MAC covers the number, which the insert gave. */
	row.id = d.id;
	row_mac(r, &row, row.mac);
	d.mac = row.mac;
	if (r->st->vt->dsr_update(r->st, &d) != 0) {
		st = reg_store_fail(r, "cannot store the request");
		goto out;
	}
	grown = realloc(all.rows, (all.n + 1) * sizeof *grown);
	if (grown == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	all.rows = grown;
	all.rows[all.n] = row;
	row.purposes = NULL; /* all owns it now */
	all.n++;
	all.cap = all.n;
	st = pin_set(r, &all);
	if (st != RK_OK)
		goto out;
	snprintf(fields, sizeof fields, "%" PRId64 ":%s", d.id, t);
	st = reg_write_commit(r, action, sub.pseudonym, fields, NULL);
	if (st == RK_OK)
		*number = d.id;
out:
	if (st != RK_OK)
		reg_write_failed(r, action,
				 sub.pseudonym[0] ? sub.pseudonym : NULL, NULL,
				 st);
	free(row.purposes);
	free(ps.on);
	rows_free(&all);
	return st;
}

/* ---- list and show --------------------------------------------------------
 */

rk_status rk_dsr_list(rk_register *r, unsigned flags, const char *due_before,
		      char **json_out)
{
	const audit_action action = AUD_DSR_LIST;
	struct dsr_all all;
	json_t *arr = NULL;
	char today[11], before[11] = "";
	const char *why = NULL;
	rk_status st;
	size_t i;

	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the list");
	*json_out = NULL;
	memset(&all, 0, sizeof all);
	st = may_handle(r, action, NULL);
	if (st != RK_OK)
		return st;
	if (due_before != NULL &&
	    ident_date(due_before, before, sizeof before, &why) != 0) {
		st = reg_fail(r, RK_EINVAL, "due-before: %s", why);
		reg_audit_attempt(r, action, NULL, NULL, st);
		return st;
	}
	reg_today(r, today);
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	st = load_all(r, &all);
	reg_end_read(r);
	if (st != RK_OK)
		goto out;
	arr = json_array();
	if (arr == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	for (i = 0; i < all.n; i++) {
		const struct dsr_row *d = &all.rows[i];
		json_t *o;
		if (!(flags & RK_DSR_ALL) && strcmp(d->status, STATUS_OPEN))
			continue;
		if ((flags & RK_DSR_OVERDUE) && !is_overdue(d, today))
			continue;
		if (before[0] != '\0' && strcmp(deadline(d), before) >= 0)
			continue;
		o = row_json(r, d, today, 0, &st);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			if (st == RK_OK)
				st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
	}
out:
	/* No read without its audit entry. */
	st = reg_read_out(r, st, action, NULL, NULL, arr, json_out);
	json_decref(arr);
	rows_free(&all);
	return st;
}

static rk_status number_ok(rk_register *r, int64_t number)
{
	if (number <= 0)
		return reg_fail(r, RK_EINVAL,
				"a request number is a positive integer");
	return RK_OK;
}

rk_status rk_dsr_show(rk_register *r, int64_t number, char **json_out)
{
	const audit_action action = AUD_DSR_SHOW;
	struct dsr_all all;
	struct dsr_row *d = NULL;
	json_t *o = NULL;
	char today[11];
	rk_status st;

	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the request");
	*json_out = NULL;
	memset(&all, 0, sizeof all);
	st = may_handle(r, action, NULL);
	if (st != RK_OK)
		return st;
	st = number_ok(r, number);
	if (st != RK_OK)
		goto out;
	reg_today(r, today);
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	st = load_all(r, &all);
	reg_end_read(r);
	if (st != RK_OK)
		goto out;
	d = find_row(&all, number);
	if (d == NULL) {
		st = reg_fail(r, RK_ENOTFOUND, "no such request");
		goto out;
	}
	o = row_json(r, d, today, 1, &st);
out:
	st = reg_read_out(r, st, action, d != NULL ? d->pseudonym : NULL, NULL,
			  o, json_out);
	json_free_secret(o);
	rows_free(&all);
	return st;
}

/* ---- extend and close -----------------------------------------------------
 */

/* The recipients to tell (Art. 19): those of the policy whose purposes
 * overlap the purposes of the subject's data (at receipt, and now while
 * the subject is there); all of them when that cannot be told. */
static rk_status recipients_json(rk_register *r, const struct dsr_row *d,
				 json_t *o)
{
	const policy *p = r->pol;
	struct purposes ps = {p, NULL};
	json_t *arr = json_array();
	int all = d->purposes == NULL && d->subject_id[0] == '\0';
	rk_status st = RK_OK;
	size_t i, k;

	ps.on = calloc(p->npurposes + 1, 1);
	if (arr == NULL || ps.on == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	mark(&ps, d->purposes);
	if (d->subject_id[0] != '\0') {
		st = mark_subject(r, d->subject_id, &ps);
		if (st != RK_OK)
			goto out;
	}
	static const char *const kinds[] = {"processor", "third_party",
					    "authority"};
	for (i = 0; i < p->nrecipients; i++) {
		const pol_recipient *rc = &p->recipients[i];
		int hit = all;
		json_t *e;
		for (k = 0; !hit && k < rc->npurposes; k++)
			hit = rc->purposes[k] < p->npurposes &&
			      ps.on[rc->purposes[k]];
		if (!hit)
			continue;
		e = json_pack("{s:s, s:s, s:s}", "name", rc->name, "kind",
			      (size_t)rc->kind < 3 ? kinds[rc->kind] : "other",
			      "country", rc->country);
		if (e == NULL || json_array_append_new(arr, e) != 0) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
	}
	if (json_object_set_new(o, "recipients_basis",
				json_string(all ? "all" : "purposes")) != 0 ||
	    json_object_set(o, "recipients", arr) != 0)
		st = reg_fail(r, RK_ESYS, "out of memory");
out:
	json_decref(arr);
	free(ps.on);
	return st;
}

enum change_kind { CH_EXTEND, CH_CLOSE };

struct change {
	enum change_kind kind;
	audit_action action;
	const char *outcome; /* close: done or refused */
	char *reason;	     /* normalised, or NULL */
};

static rk_status apply(rk_register *r, struct dsr_row *d, const char *today,
		       const struct change *c)
{
	unsigned char *ct = NULL;
	size_t len = 0;
	rk_status st;

	if (strcmp(d->status, STATUS_OPEN) != 0)
		return reg_fail(r, RK_EINVAL,
				"request %" PRId64 " is closed already", d->id);
	if (c->kind == CH_EXTEND) {
		if (d->extended_due[0] != '\0')
			return reg_fail(r, RK_EINVAL,
					"request %" PRId64 " was extended "
					"already: a deadline is extended only "
					"once",
					d->id);
		/* Art. 12(3): the subject is told of an extension within
		 * one month of receipt. */
		if (strcmp(today, d->due) > 0)
			return reg_fail(r, RK_EINVAL,
					"request %" PRId64
					" cannot be extended: its "
					"first month ended on %s",
					d->id, d->due);
		if (ident_due_date(d->received, DSR_MONTHS_EXT,
				   d->extended_due) != 0)
			return reg_fail(r, RK_EINVAL,
					"no extended deadline can be counted");
		st = seal_reason(r, d->id, FIELD_XREASON, c->reason, &ct, &len);
		if (st != RK_OK)
			return st;
		free(d->xreason);
		d->xreason = ct;
		d->xreason_len = len;
		return RK_OK;
	}
	if (c->reason != NULL) {
		st = seal_reason(r, d->id, FIELD_REASON, c->reason, &ct, &len);
		if (st != RK_OK)
			return st;
		free(d->reason);
		d->reason = ct;
		d->reason_len = len;
	}
	memcpy(d->status, STATUS_CLOSED, sizeof STATUS_CLOSED);
	snprintf(d->outcome, sizeof d->outcome, "%s", c->outcome);
	memcpy(d->closed, today, sizeof d->closed);
	return RK_OK;
}

static rk_status change(rk_register *r, int64_t number, struct change *c,
			char **json_out)
{
	struct dsr_all all;
	struct dsr_row *d = NULL;
	json_t *o = NULL;
	store_dsr sd;
	char today[11], fields[64];
	rk_status st;

	memset(&all, 0, sizeof all);
	reg_today(r, today);
	st = reg_begin_write(r);
	if (st == RK_OK)
		st = load_all(r, &all);
	if (st != RK_OK)
		goto out;
	d = find_row(&all, number);
	if (d == NULL) {
		st = reg_fail(r, RK_ENOTFOUND, "no such request");
		goto out;
	}
	st = apply(r, d, today, c);
	if (st != RK_OK)
		goto out;
	row_mac(r, d, d->mac);
	memset(&sd, 0, sizeof sd);
	sd.id = d->id;
	sd.extended_due = opt(d->extended_due);
	sd.extend_reason = d->xreason;
	sd.extend_reason_len = d->xreason_len;
	sd.status = d->status;
	sd.outcome = opt(d->outcome);
	sd.reason = d->reason;
	sd.reason_len = d->reason_len;
	sd.closed = opt(d->closed);
	sd.mac = d->mac;
	if (r->st->vt->dsr_update(r->st, &sd) != 0) {
		st = reg_store_fail(r, "cannot store the request");
		goto out;
	}
	st = pin_set(r, &all);
	if (st != RK_OK)
		goto out;
	if (json_out != NULL) {
		o = row_json(r, d, today, 1, &st);
		if (o == NULL)
			goto out;
		if (c->kind == CH_CLOSE && type_notifies(d->type))
			st = recipients_json(r, d, o);
		else if (c->kind == CH_CLOSE &&
			 (json_object_set_new(o, "recipients_basis",
					      json_null()) != 0 ||
			  json_object_set_new(o, "recipients", json_null()) !=
				  0))
			st = reg_fail(r, RK_ESYS, "out of memory");
		if (st == RK_OK)
			st = reg_json_out(r, o, json_out);
		if (st != RK_OK)
			goto out;
	}
	snprintf(fields, sizeof fields, "%" PRId64 ":%s:%s", d->id, d->type,
		 c->kind == CH_EXTEND ? "extended" : d->outcome);
	st = reg_write_commit(r, c->action, d->pseudonym, fields, NULL);
out:
	if (st != RK_OK) {
		reg_rollback(r);
		reg_audit_attempt(r, c->action, d != NULL ? d->pseudonym : NULL,
				  NULL, st);
		if (json_out != NULL) {
			reg_free_secret(*json_out);
			*json_out = NULL;
		}
	}
	json_free_secret(o);
	rows_free(&all);
	return st;
}

rk_status rk_dsr_extend(rk_register *r, int64_t number, const char *reason,
			char **json_out)
{
	struct change c = {CH_EXTEND, AUD_DSR_EXTEND, NULL, NULL};
	rk_status st;

	if (json_out != NULL)
		*json_out = NULL;
	st = may_handle(r, c.action, NULL);
	if (st != RK_OK)
		return st;
	st = number_ok(r, number);
	if (st == RK_OK)
		st = check_reason(r, reason, &c.reason);
	if (st != RK_OK) {
		reg_audit_attempt(r, c.action, NULL, NULL, st);
		return st;
	}
	st = change(r, number, &c, json_out);
	reg_free_secret(c.reason);
	return st;
}

rk_status rk_dsr_close(rk_register *r, int64_t number, const char *outcome,
		       const char *reason, char **json_out)
{
	struct change c = {CH_CLOSE, AUD_DSR_CLOSE, NULL, NULL};
	rk_status st;

	if (json_out != NULL)
		*json_out = NULL;
	st = may_handle(r, c.action, NULL);
	if (st != RK_OK)
		return st;
	st = number_ok(r, number);
	if (st == RK_OK && outcome != NULL &&
	    strcmp(outcome, OUTCOME_DONE) == 0)
		c.outcome = OUTCOME_DONE;
	else if (st == RK_OK && outcome != NULL &&
		 strcmp(outcome, OUTCOME_REFUSED) == 0)
		c.outcome = OUTCOME_REFUSED;
	else if (st == RK_OK)
		st = reg_fail(r, RK_EINVAL, "the outcome is done or refused");
	/* Art. 12(4): a refusal tells the subject why. */
	if (st == RK_OK && strcmp(c.outcome, OUTCOME_REFUSED) == 0 &&
	    (reason == NULL || reason[0] == '\0'))
		st = reg_fail(r, RK_EINVAL,
			      "a refusal needs its reason (Art. 12(4))");
	if (st == RK_OK && reason != NULL && reason[0] != '\0')
		st = check_reason(r, reason, &c.reason);
	if (st != RK_OK) {
		reg_audit_attempt(r, c.action, NULL, NULL, st);
		return st;
	}
	st = change(r, number, &c, json_out);
	reg_free_secret(c.reason);
	return st;
}
