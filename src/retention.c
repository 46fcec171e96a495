/*
 * retention.c: the retention run (storage limitation, GDPR Art. 5(1)(e))
 * and the review list of data not confirmed for a long time (accuracy,
 * Art. 5(1)(d)).
 *
 * The run deletes, never hides: a value or record whose expiry is before
 * the run's date goes with its ciphertext (and a record with its
 * attachment), in batches of subjects, each batch one write transaction
 * that keeps every MAC, chain head and the register's set of subjects
 * right. It finds what expired through the partial indexes on the expiry
 * columns, so its cost follows what expired, not the register's size.
 *
 * What goes when:
 *  - values and records: when their expiry is before the run's date; one
 *    whose rule is a legal hold not before the date that rule gives
 *    (computed again here, so that a stored expiry cannot cut it short);
 *  - attachments: with their records;
 *  - cookie and device links: a link goes with the last record that came
 *    through it, and with its subject;
 *  - the consent ledger (with its evidence texts) is the evidence that the
 *    processing was lawful (Art. 7(1)) and of each objection: it is kept
 *    while its subject is kept and deleted with it, never entry by entry
 *    (the ledger is a chain);
 *  - a subject whose every value and record has gone is deleted like an
 *    erasure deletes it (its data key with it), and remembered by its
 *    erasure tag so that a restored backup does not bring it back;
 *  - records kept under a legal hold after an erasure: when their
 *    hold_until is before the run's date.
 * Each subject changed gets an audit entry with the names of the rules
 * that deleted its data, the run one more with the totals' rule names.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "crypto.h"
#include "ident.h"
#include "integrity.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define RET_BATCH  64  /* subjects per write transaction */
#define HELD_BATCH 256 /* held records per write transaction */
#define NAMES_MAX  512
#define DUE_MAX	   ((size_t)1 << 28)

/* Counts by rule (index nretention: values without a rule). */
struct rule_count {
	size_t values, records, attachments, held, held_back;
};

struct type_count {
	size_t records, attachments, held;
};

struct run {
	rk_register *r;
	char as_of[11];
	char today[11];
	int dry;
	struct rule_count *rules; /* nretention + 1 */
	size_t *categories;	  /* ncategories + 1 */
	struct type_count *types; /* nrecord_types + 1 */
	char (*due)[33];
	size_t ndue, capdue;
	size_t examined, changed, deleted;
	size_t ledger, cookies, batches;
	rk_status st;
};

/* ---- finding what is due ----------------------------------------------- */

static int due_one(void *ud, const char *subject_id, const char *pseudonym)
{
	struct run *ru = ud;

	(void)pseudonym;
	if (strlen(subject_id) != 32)
		return 0; /* not an ID the register made: left alone */
	if (ru->ndue == ru->capdue) {
		size_t cap = ru->capdue ? ru->capdue * 2 : 256;
		char(*v)[33] = cap > DUE_MAX
				       ? NULL
				       : realloc(ru->due, cap * sizeof *v);
		if (v == NULL) {
			ru->st = reg_fail(ru->r, RK_ESYS, "out of memory");
			return 1;
		}
		ru->due = v;
		ru->capdue = cap;
	}
	memcpy(ru->due[ru->ndue++], subject_id, 33);
	return 0;
}

/* ---- one subject ------------------------------------------------------- */

struct xval {
	int64_t rowid;
	size_t rule, category;
};

struct xrec {
	int64_t id;
	size_t rule, type;
	int attachment;
	int has_cookie;
	unsigned char cookie[SEC_BIDX_BYTES];
};

struct subj_state {
	struct run *ru;
	const store_subject *sub;
	size_t kind;
	struct xval *vals;
	size_t nvals, capvals, vals_total;
	struct xrec *recs; /* the expired ones first, then those kept */
	size_t nrecs, caprecs, recs_expired;
	size_t ledger;
	rk_status st;
};

static void *grow(struct subj_state *ss, void *p, size_t *cap, size_t n,
		  size_t size)
{
	void *np;
	size_t c;

	if (n < *cap)
		return p;
	c = *cap ? *cap * 2 : 16;
	np = realloc(p, c * size);
	if (np == NULL) {
		ss->st = reg_fail(ss->ru->r, RK_ESYS, "out of memory");
		return NULL;
	}
	*cap = c;
	return np;
}

/* Whether something under rule ri that expires on expires (may be NULL)
 * goes on the run's date; *held_back is set when only a legal hold keeps
 * it. */
static int expired(struct subj_state *ss, size_t ri, const char *expires,
		   int64_t created, int *held_back)
{
	const struct run *ru = ss->ru;
	const policy *p = ru->r->pol;
	char until[11];

	*held_back = 0;
	if (expires == NULL || expires[0] == '\0' ||
	    strcmp(expires, ru->as_of) >= 0)
		return 0;
	if (ri != POL_NONE && p->retention[ri].legal_hold) {
		reg_expiry(ru->r, ri, created, ss->sub->rel_end, until);
		if (until[0] == '\0' || strcmp(until, ru->as_of) >= 0) {
			*held_back = 1;
			return 0;
		}
	}
	return 1;
}

static int val_one(void *ud, const store_value *v)
{
	struct subj_state *ss = ud;
	const policy *p = ss->ru->r->pol;
	size_t fi = policy_field(p, v->field);
	size_t ri = reg_value_rule(p, ss->kind, fi);
	struct xval *x;
	int back;

	ss->vals_total++;
	if (!expired(ss, ri, v->expires, v->collected_at, &back)) {
		if (back)
			ss->ru->rules[ri].held_back++;
		return 0;
	}
	x = grow(ss, ss->vals, &ss->capvals, ss->nvals, sizeof *x);
	if (x == NULL)
		return 1;
	ss->vals = x;
	x = &ss->vals[ss->nvals++];
	x->rowid = v->rowid;
	x->rule = ri == POL_NONE ? p->nretention : ri;
	x->category = fi == POL_NONE ? p->ncategories : p->fields[fi].category;
	return 0;
}

static int rec_one(void *ud, const store_record *rec)
{
	struct subj_state *ss = ud;
	const policy *p = ss->ru->r->pol;
	size_t ti = policy_record_type(p, rec->type);
	size_t ri = ti == POL_NONE ? POL_NONE : p->record_types[ti].retention;
	struct xrec *x;
	int back, gone;

	gone = expired(ss, ri, rec->expires, rec->created_at, &back);
	if (back)
		ss->ru->rules[ri].held_back++;
	x = grow(ss, ss->recs, &ss->caprecs, ss->nrecs, sizeof *x);
	if (x == NULL)
		return 1;
	ss->recs = x;
	x = &ss->recs[ss->nrecs++];
	memset(x, 0, sizeof *x);
	x->id = rec->id;
	x->rule = ri == POL_NONE ? p->nretention : ri;
	x->type = ti == POL_NONE ? p->nrecord_types : ti;
	x->attachment = rec->attachment_size >= 0;
	if (rec->cookie_hash != NULL) {
		x->has_cookie = 1;
		memcpy(x->cookie, rec->cookie_hash, SEC_BIDX_BYTES);
	}
	if (gone) {
		/* Kept in front: swap with the first one kept. */
		struct xrec t = ss->recs[ss->recs_expired];
		ss->recs[ss->recs_expired] = *x;
		*x = t;
		ss->recs_expired++;
	}
	return 0;
}

static int ledger_one(void *ud, const store_consent *c)
{
	(void)c;
	((struct subj_state *)ud)->ledger++;
	return 0;
}

/* The rule names of what goes, for the audit entry (names only). */
static void rule_names(const struct subj_state *ss, char *buf, size_t cap)
{
	const policy *p = ss->ru->r->pol;

	buf[0] = '\0';
	for (size_t i = 0; i < ss->nvals; i++)
		if (ss->vals[i].rule < p->nretention)
			csv_add(buf, cap, p->retention[ss->vals[i].rule].name);
	for (size_t i = 0; i < ss->recs_expired; i++)
		if (ss->recs[i].rule < p->nretention)
			csv_add(buf, cap, p->retention[ss->recs[i].rule].name);
}

static void count(struct subj_state *ss)
{
	struct run *ru = ss->ru;

	for (size_t i = 0; i < ss->nvals; i++) {
		ru->rules[ss->vals[i].rule].values++;
		ru->categories[ss->vals[i].category]++;
	}
	for (size_t i = 0; i < ss->recs_expired; i++) {
		const struct xrec *x = &ss->recs[i];
		ru->rules[x->rule].records++;
		ru->rules[x->rule].attachments += (size_t)x->attachment;
		ru->types[x->type].records++;
		ru->types[x->type].attachments += (size_t)x->attachment;
	}
}

/* Whether a record kept (not expired) came through the identifier h. */
static int cookie_kept(const struct subj_state *ss, const unsigned char *h)
{
	for (size_t i = ss->recs_expired; i < ss->nrecs; i++)
		if (ss->recs[i].has_cookie &&
		    memcmp(ss->recs[i].cookie, h, SEC_BIDX_BYTES) == 0)
			return 1;
	return 0;
}

/* The identifiers whose last record goes: unlinked (counted only in a
 * dry run). */
static rk_status cookies_after(struct subj_state *ss)
{
	rk_register *r = ss->ru->r;

	for (size_t i = 0; i < ss->recs_expired; i++) {
		const struct xrec *x = &ss->recs[i];
		size_t j;
		int64_t n = 0;

		if (!x->has_cookie || cookie_kept(ss, x->cookie))
			continue;
		for (j = 0; j < i; j++) /* each identifier once */
			if (ss->recs[j].has_cookie &&
			    memcmp(ss->recs[j].cookie, x->cookie,
				   SEC_BIDX_BYTES) == 0)
				break;
		if (j < i)
			continue;
		if (ss->ru->dry ? r->st->vt->cookie_count(r->st, ss->sub->id,
							  x->cookie, &n)
				: r->st->vt->cookie_unlink(r->st, x->cookie,
							   ss->sub->id, &n))
			return reg_store_fail(r, "cannot unlink an identifier");
		ss->ru->cookies += (size_t)n;
	}
	return RK_OK;
}

static rk_status subject_apply(struct subj_state *ss, store_subject *sub)
{
	struct run *ru = ss->ru;
	rk_register *r = ru->r;
	int whole =
		ss->nvals == ss->vals_total && ss->recs_expired == ss->nrecs;
	char names[NAMES_MAX];
	audit_ev ev;
	rk_status st = RK_OK;

	rule_names(ss, names, sizeof names);
	count(ss);
	ru->changed++;
	if (whole) {
		int64_t n = 0;
		ru->deleted++;
		ru->ledger += ss->ledger;
		if (ru->dry) {
			if (r->st->vt->cookie_count(r->st, sub->id, NULL, &n) !=
			    0)
				return reg_store_fail(r, "cannot count links");
			ru->cookies += (size_t)n;
			return RK_OK;
		}
		st = integ_subject_forget(r, sub, ru->today, 0, &n);
		ru->cookies += (size_t)n;
	} else {
		st = cookies_after(ss);
		if (ru->dry || st != RK_OK)
			return st;
		for (size_t i = 0; st == RK_OK && i < ss->nvals; i++)
			if (r->st->vt->value_delete_row(r->st, sub->id,
							ss->vals[i].rowid) != 0)
				st = reg_store_fail(r, "cannot delete a value");
		for (size_t i = 0; st == RK_OK && i < ss->recs_expired; i++)
			if (r->st->vt->record_delete(r->st, sub->id,
						     ss->recs[i].id) != 0)
				st = reg_store_fail(r,
						    "cannot delete a record");
		if (st == RK_OK && ss->recs_expired > 0)
			st = integ_records_repin(r, sub);
		if (st == RK_OK)
			st = integ_subject_repin(r, sub);
	}
	if (st != RK_OK)
		return st;
	audit_ev_set(&ev, r,
		     whole ? AUD_RETENTION_DELETE_SUBJECT
			   : AUD_RETENTION_DELETE,
		     sub->pseudonym, names, NULL, "ok");
	return audit_write(r, &ev);
}

/* One subject inside the batch's transaction. */
static rk_status subject_one(struct run *ru, const char *id)
{
	rk_register *r = ru->r;
	struct subj_state ss;
	store_subject sub;
	rk_status st;

	memset(&ss, 0, sizeof ss);
	ss.ru = ru;
	ss.sub = &sub;
	ss.st = RK_OK;
	st = reg_load_subject(r, id, &sub);
	if (st == RK_ENOTFOUND)
		return RK_OK; /* gone since it was found: nothing to do */
	if (st != RK_OK)
		return st;
	ru->examined++;
	ss.kind = policy_kind(r->pol, sub.kind);
	/* Everything is checked against its MACs before anything goes, so
	 * that a tampered expiry is never acted on. */
	st = integ_subject_verify(r, sub.id);
	if (st == RK_OK &&
	    r->st->vt->value_list(r->st, sub.id, NULL, val_one, &ss) != 0)
		st = reg_store_fail(r, "cannot read the values");
	if (st == RK_OK)
		st = ss.st;
	if (st == RK_OK)
		st = integ_records_walk(r, &sub, NULL, rec_one, &ss);
	if (st == RK_OK)
		st = ss.st;
	if (st == RK_OK && ss.nvals == ss.vals_total &&
	    ss.recs_expired == ss.nrecs &&
	    (ss.nvals > 0 || ss.recs_expired > 0))
		st = integ_consent_walk(r, &sub, NULL, ledger_one, &ss);
	if (st == RK_OK && (ss.nvals > 0 || ss.recs_expired > 0))
		st = subject_apply(&ss, &sub);
	free(ss.vals);
	free(ss.recs);
	return st;
}

/* ---- records held after an erasure -------------------------------------- */

struct held_id {
	int64_t id;
	size_t rule, type;
	int attachment;
	unsigned char mac[SEC_HASH_BYTES]; /* unpinned when deleted */
};

struct held_state {
	struct run *ru;
	struct held_id *v;
	size_t n, cap;
	int bad;
	rk_status st;
};

static int held_one(void *ud, const store_held *h)
{
	struct held_state *hs = ud;
	const policy *p = hs->ru->r->pol;
	unsigned char mac[SEC_HASH_BYTES];
	size_t ri, ti;

	/* The date decides the delete: it must be the one the row key
	 * bound. */
	integ_held_mac(hs->ru->r, h, mac);
	if (sec_memcmp(mac, h->mac, sizeof mac) != 0) {
		hs->bad = 1;
		return 1;
	}
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 64;
		struct held_id *nv = realloc(hs->v, cap * sizeof *nv);
		if (nv == NULL) {
			hs->st = reg_fail(hs->ru->r, RK_ESYS, "out of memory");
			return 1;
		}
		hs->v = nv;
		hs->cap = cap;
	}
	ri = policy_retention(p, h->retention);
	ti = policy_record_type(p, h->type);
	hs->v[hs->n].id = h->id;
	hs->v[hs->n].rule = ri == POL_NONE ? p->nretention : ri;
	hs->v[hs->n].type = ti == POL_NONE ? p->nrecord_types : ti;
	hs->v[hs->n].attachment = h->attachment_size >= 0;
	memcpy(hs->v[hs->n].mac, h->mac, sizeof hs->v[hs->n].mac);
	hs->n++;
	return 0;
}

/* One batch of held records (all of them in a dry run); *more is set when
 * a full batch went and more may wait. */
static rk_status held_batch(struct run *ru, int *more)
{
	rk_register *r = ru->r;
	const policy *p = r->pol;
	struct held_state hs;
	char names[NAMES_MAX] = "";
	audit_ev ev;
	rk_status st = RK_OK;

	*more = 0;
	memset(&hs, 0, sizeof hs);
	hs.ru = ru;
	hs.st = RK_OK;
	if (r->st->vt->held_due(r->st, ru->as_of, ru->dry ? 0 : HELD_BATCH,
				held_one, &hs) != 0)
		st = reg_store_fail(r, "cannot read the held records");
	if (st == RK_OK)
		st = hs.st;
	if (st == RK_OK && hs.bad)
		st = reg_fail(r, RK_EINTEGRITY,
			      "a record held after an erasure was altered: "
			      "the database was edited without the key");
	for (size_t i = 0; st == RK_OK && i < hs.n; i++) {
		const struct held_id *x = &hs.v[i];
		if (!ru->dry && r->st->vt->held_delete(r->st, x->id) != 0) {
			st = reg_store_fail(r, "cannot delete a held record");
			break;
		}
		/* The pinned set of held records goes without it. */
		if (!ru->dry) {
			store_held gone;
			memset(&gone, 0, sizeof gone);
			gone.id = x->id;
			gone.mac = x->mac;
			st = integ_held_pin(r, &gone, 0);
			if (st != RK_OK)
				break;
		}
		ru->rules[x->rule].held++;
		ru->rules[x->rule].attachments += (size_t)x->attachment;
		ru->types[x->type].held++;
		ru->types[x->type].attachments += (size_t)x->attachment;
		if (x->rule < p->nretention)
			csv_add(names, sizeof names,
				p->retention[x->rule].name);
	}
	if (st == RK_OK && !ru->dry && hs.n > 0) {
		/* No subject to name: the records were detached from theirs
		 * at the erasure. */
		audit_ev_set(&ev, r, AUD_RETENTION_DELETE_HELD, NULL, names,
			     NULL, "ok");
		st = audit_write(r, &ev);
	}
	if (st == RK_OK && !ru->dry && hs.n == HELD_BATCH)
		*more = 1;
	free(hs.v);
	return st;
}

/* ---- the report ---------------------------------------------------------- */

static int set_text(json_t *o, const char *key, const pol_text *t)
{
	json_t *l = json_object();

	if (l == NULL)
		return -1;
	if ((t->fi != NULL &&
	     json_object_set_new(l, "fi", json_string(t->fi))) ||
	    (t->en != NULL &&
	     json_object_set_new(l, "en", json_string(t->en)))) {
		json_decref(l);
		return -1;
	}
	return json_object_set_new(o, key, l);
}

static json_t *jn(size_t n)
{
	return json_integer((json_int_t)n);
}

/* The reports' rows: o joins arr unless the row went wrong (bad); o is
 * dropped then. The new verdict. */
static int add_row(json_t *arr, json_t *o, int bad)
{
	if (o == NULL)
		return bad;
	if (bad) {
		json_decref(o);
		return 1;
	}
	return json_array_append_new(arr, o) != 0;
}

/* arr, or NULL (and arr dropped) when a row went wrong. */
static json_t *report_end(json_t *arr, int bad)
{
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *report_rules(const struct run *ru)
{
	const policy *p = ru->r->pol;
	json_t *arr = json_array();
	int bad = arr == NULL;

	for (size_t i = 0; !bad && i <= p->nretention; i++) {
		const struct rule_count *c = &ru->rules[i];
		json_t *o;

		if (c->values + c->records + c->held + c->held_back == 0)
			continue;
		o = json_object();
		bad = o == NULL ||
		      json_object_set_new(
			      o, "rule",
			      i < p->nretention
				      ? json_string(p->retention[i].name)
				      : json_null()) ||
		      (i < p->nretention &&
		       set_text(o, "label", &p->retention[i].label)) ||
		      json_object_set_new(
			      o, "legal_hold",
			      json_boolean(i < p->nretention &&
					   p->retention[i].legal_hold)) ||
		      json_object_set_new(o, "values", jn(c->values)) ||
		      json_object_set_new(o, "records", jn(c->records)) ||
		      json_object_set_new(o, "attachments",
					  jn(c->attachments)) ||
		      json_object_set_new(o, "held_records", jn(c->held)) ||
		      json_object_set_new(o, "kept_by_legal_hold",
					  jn(c->held_back));
		bad = add_row(arr, o, bad);
	}
	return report_end(arr, bad);
}

static json_t *report_categories(const struct run *ru)
{
	const policy *p = ru->r->pol;
	json_t *arr = json_array();
	int bad = arr == NULL;

	for (size_t i = 0; !bad && i <= p->ncategories; i++) {
		json_t *o;

		if (ru->categories[i] == 0)
			continue;
		o = json_object();
		bad = o == NULL ||
		      json_object_set_new(
			      o, "category",
			      i < p->ncategories
				      ? json_string(p->categories[i].name)
				      : json_null()) ||
		      json_object_set_new(o, "values", jn(ru->categories[i]));
		bad = add_row(arr, o, bad);
	}
	return report_end(arr, bad);
}

static json_t *report_types(const struct run *ru)
{
	const policy *p = ru->r->pol;
	json_t *arr = json_array();
	int bad = arr == NULL;

	for (size_t i = 0; !bad && i <= p->nrecord_types; i++) {
		const struct type_count *c = &ru->types[i];
		json_t *o;

		if (c->records + c->held == 0)
			continue;
		o = json_object();
		bad = o == NULL ||
		      json_object_set_new(
			      o, "type",
			      i < p->nrecord_types
				      ? json_string(p->record_types[i].name)
				      : json_null()) ||
		      json_object_set_new(o, "records", jn(c->records)) ||
		      json_object_set_new(o, "held_records", jn(c->held)) ||
		      json_object_set_new(o, "attachments", jn(c->attachments));
		bad = add_row(arr, o, bad);
	}
	return report_end(arr, bad);
}

static rk_status report(const struct run *ru, int cleared, char **out)
{
	const policy *p = ru->r->pol;
	json_t *root = json_object(), *tot = json_object(),
	       *sub = json_object();
	json_t *rules = report_rules(ru), *cats = report_categories(ru);
	json_t *types = report_types(ru);
	struct rule_count t;
	char at[32];
	time_t now = (time_t)reg_now(ru->r);
	struct tm tm;
	int bad;

	memset(&t, 0, sizeof t);
	for (size_t i = 0; i <= p->nretention; i++) {
		t.values += ru->rules[i].values;
		t.records += ru->rules[i].records;
		t.attachments += ru->rules[i].attachments;
		t.held += ru->rules[i].held;
		t.held_back += ru->rules[i].held_back;
	}
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(at, sizeof at, "1970-01-01T00:00:00Z");
	bad = root == NULL || tot == NULL || sub == NULL || rules == NULL ||
	      cats == NULL || types == NULL;
	bad = bad ||
	      json_object_set_new(root, "report", json_string("retention")) ||
	      json_object_set_new(root, "version", json_integer(1)) ||
	      json_object_set_new(root, "as_of", json_string(ru->as_of)) ||
	      json_object_set_new(root, "at", json_string(at)) ||
	      json_object_set_new(root, "dry_run", json_boolean(ru->dry));
	bad = bad || json_object_set_new(sub, "examined", jn(ru->examined)) ||
	      json_object_set_new(sub, "changed", jn(ru->changed)) ||
	      json_object_set_new(sub, "deleted", jn(ru->deleted)) ||
	      json_object_set_new(root, "subjects", sub);
	sub = NULL;
	bad = bad || json_object_set_new(tot, "values", jn(t.values)) ||
	      json_object_set_new(tot, "records", jn(t.records)) ||
	      json_object_set_new(tot, "attachments", jn(t.attachments)) ||
	      json_object_set_new(tot, "held_records", jn(t.held)) ||
	      json_object_set_new(tot, "consent_ledger_entries",
				  jn(ru->ledger)) ||
	      json_object_set_new(tot, "cookie_links", jn(ru->cookies)) ||
	      json_object_set_new(tot, "kept_by_legal_hold", jn(t.held_back)) ||
	      json_object_set_new(root, "deleted", tot);
	tot = NULL;
	bad = bad || json_object_set_new(root, "rules", rules);
	rules = NULL;
	bad = bad || json_object_set_new(root, "categories", cats);
	cats = NULL;
	bad = bad || json_object_set_new(root, "record_types", types);
	types = NULL;
	bad = bad ||
	      json_object_set_new(
		      root, "consent_ledger",
		      json_string("kept while its subject is kept, as the "
				  "evidence of consents and objections; "
				  "deleted with the subject")) ||
	      json_object_set_new(root, "batches", jn(ru->batches)) ||
	      json_object_set_new(root, "log_cleared",
				  ru->dry ? json_null()
					  : json_boolean(cleared));
	json_decref(sub);
	json_decref(tot);
	json_decref(rules);
	json_decref(cats);
	json_decref(types);
	if (!bad)
		*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (bad || *out == NULL)
		return reg_fail(ru->r, RK_ESYS, "out of memory");
	return RK_OK;
}

/* ---- the run ------------------------------------------------------------- */

static void run_free(struct run *ru)
{
	free(ru->rules);
	free(ru->categories);
	free(ru->types);
	free(ru->due);
}

/* The rule names of everything the run deleted (the summary entry). */
static void run_names(const struct run *ru, char *buf, size_t cap)
{
	const policy *p = ru->r->pol;

	buf[0] = '\0';
	for (size_t i = 0; i < p->nretention; i++)
		if (ru->rules[i].values + ru->rules[i].records +
			    ru->rules[i].held >
		    0)
			csv_add(buf, cap, p->retention[i].name);
}

static rk_status begin(struct run *ru)
{
	return ru->dry ? reg_begin_read(ru->r) : reg_begin_write(ru->r);
}

static rk_status end(struct run *ru, rk_status st)
{
	if (ru->dry) {
		reg_end_read(ru->r);
		return st;
	}
	if (st == RK_OK)
		return reg_commit(ru->r);
	reg_rollback(ru->r);
	return st;
}

rk_status rk_retention_run(rk_register *r, const char *as_of, unsigned flags,
			   rk_progress_fn fn, void *ud, char **report_json)
{
	struct run ru;
	const policy *p = r->pol;
	const char *why = NULL;
	char names[NAMES_MAX];
	audit_ev ev;
	rk_status st;
	int more = 1, cleared = 0;

	memset(&ru, 0, sizeof ru);
	ru.r = r;
	ru.st = RK_OK;
	ru.dry = (flags & RK_RETENTION_DRY_RUN) != 0;
	if (report_json == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the report");
	*report_json = NULL;
	st = access_rights(
		r, ru.dry ? AUD_RETENTION_RUN_DRY_RUN : AUD_RETENTION_RUN,
		"run the retention");
	if (st != RK_OK)
		return st;
	if ((flags & ~(RK_RETENTION_DRY_RUN | RK_RETENTION_EARLY)) != 0) {
		st = reg_fail(r, RK_EINVAL, "unknown retention flags");
		goto out;
	}
	if (r->bulk || r->group) {
		st = reg_fail(r, RK_EINVAL,
			      "commit or roll back the bulk or group "
			      "transaction "
			      "before a retention run");
		goto out;
	}
	reg_today(r, ru.today);
	if (as_of == NULL)
		memcpy(ru.as_of, ru.today, sizeof ru.as_of);
	else if (ident_date(as_of, ru.as_of, sizeof ru.as_of, &why) != 0) {
		st = reg_fail(r, RK_EINVAL, "--as-of: %s", why);
		goto out;
	}
	/* Deleting is for good: a day ahead of today deletes data before
	 * its time and ends legal holds early, so it takes a dry run or
	 * the caller saying so. */
	if (!ru.dry && (flags & RK_RETENTION_EARLY) == 0 &&
	    strcmp(ru.as_of, ru.today) > 0) {
		st = reg_fail(r, RK_EINVAL,
			      "--as-of %s is after today: it would delete "
			      "data before its time; look ahead with "
			      "--dry-run (or say --allow-early)",
			      ru.as_of);
		goto out;
	}
	ru.rules = calloc(p->nretention + 1, sizeof *ru.rules);
	ru.categories = calloc(p->ncategories + 1, sizeof *ru.categories);
	ru.types = calloc(p->nrecord_types + 1, sizeof *ru.types);
	if (ru.rules == NULL || ru.categories == NULL || ru.types == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* What is due, as IDs only: the batches then look at each. */
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->retention_due(r->st, ru.as_of, due_one, &ru) != 0)
		st = reg_store_fail(r, "cannot find what expired");
	reg_end_read(r);
	if (st == RK_OK)
		st = ru.st;
	if (st != RK_OK)
		goto out;
	for (size_t i = 0; i < ru.ndue; i += RET_BATCH) {
		size_t lim = i + RET_BATCH < ru.ndue ? i + RET_BATCH : ru.ndue;

		st = begin(&ru);
		if (st != RK_OK)
			goto out;
		for (size_t k = i; st == RK_OK && k < lim; k++)
			st = subject_one(&ru, ru.due[k]);
		st = end(&ru, st);
		if (st != RK_OK)
			goto out;
		ru.batches++;
		if (fn != NULL)
			fn(ud, (uint64_t)lim, (uint64_t)ru.ndue);
	}
	while (more) {
		st = begin(&ru);
		if (st != RK_OK)
			goto out;
		st = end(&ru, held_batch(&ru, &more));
		if (st != RK_OK)
			goto out;
		ru.batches++;
	}
	run_names(&ru, names, sizeof names);
	audit_ev_set(&ev, r,
		     ru.dry ? AUD_RETENTION_RUN_DRY_RUN : AUD_RETENTION_RUN,
		     NULL, names, NULL, "ok");
	if (ru.dry) {
		st = audit_read(r, &ev);
	} else {
		st = reg_begin_write(r);
		if (st == RK_OK)
			st = end(&ru, audit_write(r, &ev));
		/* Deleted pages were zeroed (secure_delete), but older copies
		 * stay in the write-ahead log until a checkpoint. */
		if (st == RK_OK)
			cleared = r->st->vt->checkpoint(r->st) == 0;
	}
	if (st == RK_OK)
		st = report(&ru, cleared, report_json);
out:
	if (st != RK_OK && st != RK_EREFUSED)
		reg_audit_attempt(r,
				  ru.dry ? AUD_RETENTION_RUN_DRY_RUN
					 : AUD_RETENTION_RUN,
				  NULL, NULL, st);
	run_free(&ru);
	return st;
}

/* ---- the review list ------------------------------------------------------
 */

struct review_state {
	rk_register *r;
	int64_t now;
	json_t *subjects;
	json_t *cur; /* the current subject's fields */
	char cur_id[33];
	size_t nfields;
	rk_status st;
};

static rk_status review_flush(struct review_state *rs)
{
	store_subject sub;
	audit_ev ev;
	json_t *o;
	rk_status st;

	if (rs->cur == NULL)
		return RK_OK;
	if (json_array_size(rs->cur) == 0) {
		json_decref(rs->cur);
		rs->cur = NULL;
		return RK_OK;
	}
	if (rs->r->st->vt->subject_get(rs->r->st, rs->cur_id, &sub) != 0) {
		json_decref(rs->cur);
		rs->cur = NULL;
		return RK_OK; /* a value without its subject: none to list */
	}
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "subject", json_string(rs->cur_id)) ||
	    json_object_set_new(o, "kind", json_string(sub.kind)) ||
	    json_object_set_new(o, "fields", rs->cur) ||
	    json_array_append_new(rs->subjects, o)) {
		rs->cur = NULL;
		return reg_fail(rs->r, RK_ESYS, "out of memory");
	}
	rs->cur = NULL;
	audit_ev_set(&ev, rs->r, AUD_SUBJECT_REVIEW, sub.pseudonym, NULL, NULL,
		     "ok");
	/* Queued only: the walk must not write while it reads. */
	st = audit_queue(rs->r, &ev);
	return st;
}

static int review_one(void *ud, const char *subject_id, const char *field,
		      int64_t confirmed_at)
{
	struct review_state *rs = ud;
	const policy *p = rs->r->pol;
	size_t fi = policy_field(p, field);
	char d[11];
	json_t *o;

	if (rs->cur == NULL || strcmp(rs->cur_id, subject_id) != 0) {
		rs->st = review_flush(rs);
		if (rs->st != RK_OK)
			return 1;
		rs->cur = json_array();
		if (rs->cur == NULL ||
		    strlen(subject_id) >= sizeof rs->cur_id) {
			rs->st = reg_fail(rs->r, RK_ESYS, "out of memory");
			return 1;
		}
		memcpy(rs->cur_id, subject_id, strlen(subject_id) + 1);
	}
	/* Only the fields the role may see, by name. */
	if (fi == POL_NONE ||
	    !access_sees_category(rs->r, p->fields[fi].category))
		return 0;
	ident_date_of(confirmed_at, d);
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "field", json_string(p->fields[fi].name)) ||
	    json_object_set_new(o, "confirmed", json_string(d)) ||
	    json_object_set_new(
		    o, "age_days",
		    json_integer(
			    (json_int_t)((rs->now - confirmed_at) / 86400))) ||
	    json_array_append_new(rs->cur, o)) {
		rs->st = reg_fail(rs->r, RK_ESYS, "out of memory");
		return 1;
	}
	rs->nfields++;
	return 0;
}

/* "2y", "18m", "400d" (also "6w"): years, months, days or weeks. */
static int parse_duration(const char *s, int *y, int *m, int *d)
{
	long n = 0;
	size_t i = 0;

	*y = *m = *d = 0;
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (s[i] - '0');
		if (n > 100000)
			return -1;
	}
	if (s[i] == '\0' || s[i + 1] != '\0' || n == 0)
		return -1;
	switch (s[i]) {
	case 'y':
		*y = (int)n;
		return n <= 200 ? 0 : -1;
	case 'm':
		*m = (int)n;
		return n <= 2400 ? 0 : -1;
	case 'w':
		*d = (int)n * 7;
		return 0;
	case 'd':
		*d = (int)n;
		return 0;
	default:
		return -1;
	}
}

rk_status rk_review(rk_register *r, const char *older_than, char **json_out)
{
	const policy *p = r->pol;
	struct review_state rs;
	char today[11], cutoff[11];
	int y, m, d, yy, mm, dd;
	json_t *root = NULL;
	size_t pu = POL_NONE;
	unsigned mark;
	rk_status st;

	memset(&rs, 0, sizeof rs);
	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the list");
	*json_out = NULL;
	if (older_than == NULL)
		older_than = "2y";
	st = reg_resolve_purpose(r, NULL, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_REVIEW, NULL);
	if (st != RK_OK)
		return st;
	if (parse_duration(older_than, &y, &m, &d) != 0) {
		st = reg_fail(r, RK_EINVAL,
			      "--older-than takes a number and a unit: y "
			      "(years), m (months), w (weeks) or d (days), "
			      "such as 2y, 18m or 400d");
		goto out;
	}
	reg_today(r, today);
	if (ident_date_add(today, -y, -m, -d, cutoff) != 0) {
		st = reg_fail(r, RK_EINVAL, "--older-than reaches too far");
		goto out;
	}
	yy = (cutoff[0] - '0') * 1000 + (cutoff[1] - '0') * 100 +
	     (cutoff[2] - '0') * 10 + (cutoff[3] - '0');
	mm = (cutoff[5] - '0') * 10 + (cutoff[6] - '0');
	dd = (cutoff[8] - '0') * 10 + (cutoff[9] - '0');
	rs.r = r;
	rs.now = reg_now(r);
	rs.st = RK_OK;
	rs.subjects = json_array();
	root = json_object();
	if (rs.subjects == NULL || root == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = audit_read_begin(r, &mark);
	if (st != RK_OK)
		goto out;
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->review_walk(r->st,
				   ident_days_from_civil(yy, mm, dd) * 86400,
				   today, review_one, &rs) != 0)
		st = reg_store_fail(r, "cannot read the values");
	if (st == RK_OK)
		st = rs.st;
	if (st == RK_OK)
		st = review_flush(&rs);
	reg_end_read(r);
	if (st == RK_OK)
		st = audit_read_end(r, mark);
	if (st != RK_OK)
		goto out;
	if (json_object_set_new(root, "older_than", json_string(older_than)) ||
	    json_object_set_new(root, "confirmed_before",
				json_string(cutoff)) ||
	    json_object_set_new(
		    root, "count",
		    json_integer((json_int_t)json_array_size(rs.subjects))) ||
	    json_object_set_new(root, "subjects", rs.subjects)) {
		rs.subjects = NULL;
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	rs.subjects = NULL;
	*json_out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (*json_out == NULL)
		st = reg_fail(r, RK_ESYS, "out of memory");
out:
	if (st != RK_OK && st != RK_ESYS && st != RK_EREFUSED)
		reg_audit_attempt(r, AUD_SUBJECT_REVIEW, NULL,
				  pu == POL_NONE ? NULL : p->purposes[pu].name,
				  st);
	json_decref(rs.cur);
	json_decref(rs.subjects);
	json_decref(root);
	return st;
}
