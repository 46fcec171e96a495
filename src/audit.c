/*
 * audit.c: the hash-chained audit trail. Each entry's hash is a keyed
 * BLAKE2b over the previous hash and the entry's own length-prefixed
 * members, so an entry edited, removed or moved breaks the chain at that
 * point, and nobody without the register's audit key can forge a new chain.
 * Writes append their entry inside their own transaction; reads queue theirs
 * and commit them in groups (see rekisteri.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "register.h"
#include "store.h"

#define AUDIT_MSG_MAX 4096

static void copy_bounded(char *dst, size_t cap, const char *src)
{
	size_t n = src == NULL ? 0 : strlen(src);

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

void audit_ev_set(audit_ev *ev, const rk_register *r, const char *action,
		  const char *subject, const char *fields, const char *purpose,
		  const char *outcome)
{
	ev->at_us = reg_now_us(r);
	copy_bounded(ev->actor, sizeof ev->actor, r->actor);
	copy_bounded(ev->action, sizeof ev->action, action);
	copy_bounded(ev->subject, sizeof ev->subject, subject);
	copy_bounded(ev->fields, sizeof ev->fields, fields);
	copy_bounded(ev->purpose, sizeof ev->purpose, purpose);
	copy_bounded(ev->outcome, sizeof ev->outcome, outcome);
}

/* Appends a length-prefixed string (0xffffffff for NULL); -1 if full. */
static int put_str(unsigned char *buf, size_t *off, const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s);
	uint32_t len = s == NULL ? UINT32_MAX : (uint32_t)n;

	if (n > AUDIT_MSG_MAX || *off + 4 + n > AUDIT_MSG_MAX)
		return -1;
	buf[(*off)++] = (unsigned char)(len >> 24);
	buf[(*off)++] = (unsigned char)(len >> 16);
	buf[(*off)++] = (unsigned char)(len >> 8);
	buf[(*off)++] = (unsigned char)len;
	memcpy(buf + *off, s == NULL ? "" : s, n);
	*off += n;
	return 0;
}

/* The entry's hash from its members and a.prev; -1 if it is oversized. */
static int entry_hash(const unsigned char *akey, const store_audit *a,
		      unsigned char out[SEC_HASH_BYTES])
{
	unsigned char msg[AUDIT_MSG_MAX];
	char num[48];
	size_t off = 0;

	snprintf(num, sizeof num, "%" PRId64 ":%" PRId64, a->seq, a->at_us);
	if (put_str(msg, &off, num) != 0 || put_str(msg, &off, a->actor) != 0 ||
	    put_str(msg, &off, a->action) != 0 ||
	    put_str(msg, &off, a->subject) != 0 ||
	    put_str(msg, &off, a->fields) != 0 ||
	    put_str(msg, &off, a->purpose) != 0 ||
	    put_str(msg, &off, a->outcome) != 0)
		return -1;
	sec_chain(akey, a->prev, msg, off, out);
	return 0;
}

static const char *or_null(const char *s)
{
	return s[0] == '\0' ? NULL : s;
}

static rk_status append_one(rk_register *r, const audit_ev *ev)
{
	store_audit last, a;
	int rc;

	memset(&a, 0, sizeof a);
	rc = r->st->vt->audit_last(r->st, &last);
	if (rc == STORE_NOTFOUND) {
		a.seq = 1;
	} else if (rc == 0) {
		a.seq = last.seq + 1;
		memcpy(a.prev, last.hash, SEC_HASH_BYTES);
	} else {
		return reg_store_fail(r, "cannot read the audit trail");
	}
	a.at_us = ev->at_us;
	a.actor = ev->actor;
	a.action = ev->action;
	a.subject = or_null(ev->subject);
	a.fields = or_null(ev->fields);
	a.purpose = or_null(ev->purpose);
	a.outcome = ev->outcome;
	if (entry_hash(r->akey, &a, a.hash) != 0)
		return reg_fail(r, RK_ESYS, "an audit entry is too large");
	if (r->st->vt->audit_append(r->st, &a) != 0)
		return reg_store_fail(r, "cannot append to the audit trail");
	return RK_OK;
}

static rk_status append_queue(rk_register *r)
{
	rk_status st;

	while (r->nqueue_in_txn < r->nqueue) {
		st = append_one(r, &r->queue[r->nqueue_in_txn]);
		if (st != RK_OK)
			return st;
		r->nqueue_in_txn++;
	}
	return RK_OK;
}

rk_status audit_write(rk_register *r, const audit_ev *ev)
{
	rk_status st;

	if (!r->in_write)
		return reg_fail(r, RK_ESYS, "audit entry outside a write");
	/* Reads queued before this write go first, keeping the order. */
	st = append_queue(r);
	if (st != RK_OK)
		return st;
	return append_one(r, ev);
}

rk_status audit_flush(rk_register *r)
{
	rk_status st;

	if (r->nqueue == 0)
		return RK_OK;
	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	st = append_queue(r);
	if (st != RK_OK) {
		reg_rollback(r);
		return st;
	}
	return reg_commit(r);
}

rk_status audit_read(rk_register *r, const audit_ev *ev)
{
	rk_status st;

	if (r->nqueue == REG_AUDIT_QUEUE_MAX) {
		st = audit_flush(r);
		if (st != RK_OK)
			return st;
	}
	r->queue[r->nqueue++] = *ev;
	if (r->nqueue >= r->audit_batch)
		return audit_flush(r);
	return RK_OK;
}

struct verify_state {
	rk_register *r;
	rk_audit_report *rep;
	int64_t next_seq;
	unsigned char prev[SEC_HASH_BYTES];
};

static int verify_one(void *ud, const store_audit *a)
{
	struct verify_state *v = ud;
	unsigned char h[SEC_HASH_BYTES];
	rk_audit_report *rep = v->rep;

	if (a->seq != v->next_seq) {
		rep->first_bad = v->next_seq;
		if (a->seq > v->next_seq)
			snprintf(rep->reason, sizeof rep->reason,
				 "entry %" PRId64 " is missing (removed)",
				 v->next_seq);
		else
			snprintf(rep->reason, sizeof rep->reason,
				 "entry %" PRId64 " is out of order", a->seq);
		return 1;
	}
	if (sec_memcmp(a->prev, v->prev, SEC_HASH_BYTES) != 0) {
		rep->first_bad = a->seq;
		snprintf(rep->reason, sizeof rep->reason,
			 "entry %" PRId64
			 " does not follow the entry before it (an entry was "
			 "removed or reordered)",
			 a->seq);
		return 1;
	}
	if (entry_hash(v->r->akey, a, h) != 0 ||
	    sec_memcmp(h, a->hash, SEC_HASH_BYTES) != 0) {
		rep->first_bad = a->seq;
		snprintf(rep->reason, sizeof rep->reason,
			 "entry %" PRId64 " was altered", a->seq);
		return 1;
	}
	memcpy(v->prev, a->hash, SEC_HASH_BYTES);
	v->next_seq++;
	rep->entries++;
	return 0;
}

rk_status rk_audit_verify(rk_register *r, rk_audit_report *rep)
{
	struct verify_state v;
	rk_status st;

	memset(rep, 0, sizeof *rep);
	/* Verify what this handle has read too. */
	st = rk_register_flush(r);
	if (st != RK_OK)
		return st;
	memset(&v, 0, sizeof v);
	v.r = r;
	v.rep = rep;
	v.next_seq = 1;
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	if (r->st->vt->audit_walk(r->st, 1, NULL, verify_one, &v) != 0) {
		st = reg_store_fail(r, "cannot read the audit trail");
		reg_end_read(r);
		return st;
	}
	reg_end_read(r);
	if (rep->first_bad != 0)
		return reg_fail(r, RK_EINTEGRITY, "audit trail broken: %s",
				rep->reason);
	snprintf(rep->reason, sizeof rep->reason, "intact");
	return RK_OK;
}

struct log_state {
	rk_audit_fn fn;
	void *ud;
};

static int log_one(void *ud, const store_audit *a)
{
	struct log_state *ls = ud;
	rk_audit_entry e;

	e.seq = a->seq;
	e.at_us = a->at_us;
	e.actor = a->actor;
	e.action = a->action;
	e.subject = a->subject;
	e.fields = a->fields;
	e.purpose = a->purpose;
	e.outcome = a->outcome;
	return ls->fn(ls->ud, &e);
}

rk_status rk_audit_log(rk_register *r, const char *subject_id, rk_audit_fn fn,
		       void *ud)
{
	struct log_state ls = {fn, ud};
	store_subject sub;
	const char *pseudonym = NULL;
	audit_ev ev;
	rk_status st;
	int rc;

	if (subject_id != NULL) {
		rc = r->st->vt->subject_get(r->st, subject_id, &sub);
		if (rc == STORE_NOTFOUND)
			return reg_fail(r, RK_ENOTFOUND, "no such subject");
		if (rc != 0)
			return reg_store_fail(r, "cannot read the subject");
		pseudonym = sub.pseudonym;
	}
	/* Reading the trail is processing too, and shows itself. */
	audit_ev_set(&ev, r, "audit.log", pseudonym, NULL, NULL, "ok");
	st = audit_read(r, &ev);
	if (st == RK_OK)
		st = rk_register_flush(r);
	if (st != RK_OK)
		return st;
	if (r->st->vt->audit_walk(r->st, 1, pseudonym, log_one, &ls) != 0)
		return reg_store_fail(r, "cannot read the audit trail");
	return RK_OK;
}
