/*
 * integrity.c: MACs over the rows whose columns decide access (see
 * integrity.h for what is bound where). One keyed BLAKE2b per row written
 * and per row read; the values of a subject share one digest, so a value
 * costs no MAC of its own and no extra column.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "integrity.h"
#include "register.h"
#include "store.h"

#define META_PENDING   "row_macs_pending"
#define META_ACTOR_SET "actor_set"
#define META_POLICY    "policy_mac"
#define CTX_POLICY     "rk-policy-v1"
#define ROW_KEY_CTX    "rekisteri row key v1"
#define UPGRADE_PAGE   256
#define MSG_ALTERED                                                            \
	"the database was altered without the key; see the audit log and "     \
	"restore a backup"
#define CTX_SUBJECT	"rk-subject-v1"
#define CTX_VALUES	"rk-values-v1"
#define CTX_CONSENT	"rk-consent-v1"
#define CTX_RECORD	"rk-record-v1"
#define CTX_RECORDS	"rk-records-v1"
#define CTX_COOKIE	"rk-cookie-v1"
#define CTX_ACTOR	"rk-actor-v1"
#define CTX_ACTOR_SET	"rk-actor-set-v1"
#define CTX_ACTOR_TOKEN "rk-actor-token-v1"
#define CTX_SUBJECT_SET "rk-subject-set-v1"
/* meta: the sum (mod 2^256) of a keyed term per subject row, over its id
 * and its row MAC, kept as rows change: a subject deleted, added or put
 * back to an older row changes the sum. */
#define META_SUBJECT_SET "subject_set"
#define META_ERASURE_SET "erasure_set"
#define META_HELD_SET	 "held_set"
#define META_SELFSVC_SET "selfsvc_set"
/* Each pinned sum is stored with a tag, a MAC over its name and value:
 * sums are linear, so without it sums read at different times combine
 * (S3 - S2 + S1) into the sum of rows put back from an old copy. */
#define CTX_SUM_TAG "rk-sum-tag-v1"
#define TAGGED_LEN  (2 * SEC_HASH_BYTES)
/* The fields of the one-time tagging's audit entry. */
#define SUMS_TAGGED "sum_tags"

static rk_status altered(rk_register *r, const char *what)
{
	return reg_fail(r, RK_EINTEGRITY, "%s does not match its MAC: %s", what,
			MSG_ALTERED);
}

/* ---- the stored policy ---- */

static void policy_mac(const rk_register *r, int version, const char *text,
		       unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_POLICY);
	sec_mac_int(&m, version);
	sec_mac_str(&m, text);
	sec_mac_final(&m, out);
}

rk_status integ_policy_pin(rk_register *r, int version, const char *text)
{
	unsigned char mac[SEC_HASH_BYTES];

	policy_mac(r, version, text, mac);
	if (r->st->vt->meta_set(r->st, META_POLICY, mac, sizeof mac) != 0)
		return reg_store_fail(r, "cannot store the policy's MAC");
	return RK_OK;
}

rk_status integ_policy_check(rk_register *r, int version, const char *text)
{
	unsigned char want[SEC_HASH_BYTES], got[SEC_HASH_BYTES];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, META_POLICY, got, sizeof got, &len);

	if (rc == STORE_ERR)
		return reg_store_fail(r, "cannot read the policy's MAC");
	policy_mac(r, version, text, want);
	if (rc != 0 || len != sizeof got ||
	    sec_memcmp(want, got, sizeof got) != 0)
		return altered(r, "the stored policy");
	return RK_OK;
}

/* ---- subjects and values ---- */

static void set_term(const rk_register *r, const char *id,
		     const unsigned char mac[SEC_HASH_BYTES],
		     unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_SUBJECT_SET);
	sec_mac_str(&m, id);
	sec_mac_bytes(&m, mac, SEC_HASH_BYTES);
	sec_mac_final(&m, out);
}

/* acc += t (add) or acc -= t, little-endian, mod 2^256. */
static void set_acc(unsigned char acc[SEC_HASH_BYTES],
		    const unsigned char t[SEC_HASH_BYTES], int add)
{
	unsigned carry = add ? 0 : 1;

	for (size_t i = 0; i < SEC_HASH_BYTES; i++) {
		unsigned ti = add ? t[i] : 0xffu ^ t[i];
		unsigned v = (unsigned)acc[i] + ti + carry;
		acc[i] = (unsigned char)v;
		carry = v >> 8;
	}
}

static void sum_tag(const rk_register *r, const char *name,
		    const unsigned char sum[SEC_HASH_BYTES],
		    unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_SUM_TAG);
	sec_mac_str(&m, name);
	sec_mac_bytes(&m, sum, SEC_HASH_BYTES);
	sec_mac_final(&m, out);
}

/* 1 when buf (TAGGED_LEN bytes) holds a sum with its tag. A tag is written
 * only where the trail shows the tagging (init, the one-time tagging, a
 * restore's integ_sums_bind, and every write since), so one that matches
 * tells the handle so without a walk of the trail: an edit that puts back
 * an untagged sum or a link's MAC of the first form then costs no walk. */
static int sum_tag_ok(rk_register *r, const char *name,
		      const unsigned char buf[TAGGED_LEN])
{
	unsigned char tag[SEC_HASH_BYTES];
	int ok;

	sum_tag(r, name, buf, tag);
	ok = sec_memcmp(tag, buf + SEC_HASH_BYTES, sizeof tag) == 0;
	if (ok)
		r->sums_tagged = 1;
	return ok;
}

static rk_status sum_store(rk_register *r, const char *name,
			   const unsigned char sum[SEC_HASH_BYTES])
{
	unsigned char buf[TAGGED_LEN];

	memcpy(buf, sum, SEC_HASH_BYTES);
	sum_tag(r, name, sum, buf + SEC_HASH_BYTES);
	if (r->st->vt->meta_set(r->st, name, buf, sizeof buf) != 0)
		return reg_store_fail(r, "cannot store a pinned set");
	return RK_OK;
}

/* A one-time upgrade's mark in the trail: its register.upgrade entry (with
 * the fields upgrade), or an init entry whose fields are init1 or init2
 * (may be NULL), which did it from the start. */
struct trail_mark {
	const char *upgrade, *init1, *init2;
	int seen;
};

static int find_mark(void *ud, const store_audit *a)
{
	struct trail_mark *m = ud;

	if (a->fields == NULL)
		return 0;
	if ((audit_action_is(a->action, AUD_REGISTER_UPGRADE) &&
	     strcmp(a->fields, m->upgrade) == 0) ||
	    (a->seq == 1 && audit_action_is(a->action, AUD_REGISTER_INIT) &&
	     (strcmp(a->fields, m->init1) == 0 ||
	      (m->init2 != NULL && strcmp(a->fields, m->init2) == 0)))) {
		m->seen = 1;
		return 1;
	}
	return 0;
}

/* *tagged 1 when the trail (which must be whole) shows the sums tagged.
 * Walked only when a sum without its tag is met before any sum with a
 * valid one (sum_tag_ok): a register or backup from before the tags, or
 * an edit of one. */
static rk_status sums_tagged(rk_register *r, int *tagged)
{
	struct trail_mark m = {SUMS_TAGGED, INIT_BOUND_TAGS, NULL, 0};
	rk_status st;

	*tagged = 1;
	if (r->sums_tagged)
		return RK_OK;
	st = audit_trail_whole(r);
	if (st != RK_OK)
		return st;
	if (r->st->vt->audit_walk(r->st, 1, NULL, find_mark, &m) != 0)
		return reg_store_fail(r, "cannot read the audit trail");
	r->sums_tagged = m.seen;
	*tagged = m.seen;
	return RK_OK;
}

rk_status integ_sums_legacy(rk_register *r, int *legacy)
{
	int tagged = 1;
	rk_status st = sums_tagged(r, &tagged);

	*legacy = st == RK_OK && !tagged;
	return st;
}

/* RK_OK while the trail shows no tagging (a form from before it is then
 * taken), RK_EINTEGRITY (unreported) once it does. */
static rk_status sums_tagged_quiet(rk_register *r)
{
	int tagged = 1;
	rk_status st = sums_tagged(r, &tagged);

	if (st != RK_OK)
		return st;
	return tagged ? RK_EINTEGRITY : RK_OK;
}

/* A pinned sum from meta into acc (zero and *have 0 when there is none).
 * RK_EINTEGRITY with *bad 1, and nothing reported, when the stored value
 * is not a sum the register wrote, which the caller reports in its own
 * words. A sum without its tag counts only while the trail shows none. */
static rk_status sum_read(rk_register *r, const char *name,
			  unsigned char acc[SEC_HASH_BYTES], int *have,
			  int *bad)
{
	unsigned char buf[TAGGED_LEN + 1];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, name, buf, sizeof buf, &len);
	int tagged = 1;
	rk_status st;

	*have = 0;
	*bad = 0;
	memset(acc, 0, SEC_HASH_BYTES);
	if (rc == STORE_NOTFOUND)
		return RK_OK;
	if (rc != 0 && len <= sizeof buf)
		return reg_store_fail(r, "cannot read the register");
	if (rc == 0 && len == TAGGED_LEN) {
		if (!sum_tag_ok(r, name, buf)) {
			*bad = 1;
			return RK_EINTEGRITY;
		}
	} else if (rc == 0 && len == SEC_HASH_BYTES) {
		st = sums_tagged(r, &tagged);
		if (st != RK_OK)
			return st;
		if (tagged) {
			*bad = 1;
			return RK_EINTEGRITY;
		}
	} else {
		*bad = 1;
		return RK_EINTEGRITY;
	}
	memcpy(acc, buf, SEC_HASH_BYTES);
	*have = 1;
	return RK_OK;
}

static rk_status set_load(rk_register *r, unsigned char acc[SEC_HASH_BYTES])
{
	int have = 0, bad = 0;
	rk_status st = sum_read(r, META_SUBJECT_SET, acc, &have, &bad);

	if (bad || (st == RK_OK && !have))
		return altered(r, "the register's record of its subjects");
	return st;
}

rk_status integ_set_change(rk_register *r, const char *id,
			   const unsigned char *old_mac,
			   const unsigned char *new_mac)
{
	unsigned char t[SEC_HASH_BYTES];

	if (!r->set_valid) {
		rk_status st = set_load(r, r->set_acc);
		if (st != RK_OK)
			return st;
		r->set_valid = 1;
	}
	if (old_mac != NULL) {
		set_term(r, id, old_mac, t);
		set_acc(r->set_acc, t, 0);
	}
	if (new_mac != NULL) {
		set_term(r, id, new_mac, t);
		set_acc(r->set_acc, t, 1);
	}
	r->set_dirty = 1;
	return RK_OK;
}

rk_status integ_set_flush(rk_register *r)
{
	rk_status st;

	if (!r->set_dirty)
		return RK_OK;
	st = sum_store(r, META_SUBJECT_SET, r->set_acc);
	if (st == RK_OK)
		r->set_dirty = 0;
	return st;
}

struct set_walk {
	rk_register *r;
	unsigned char acc[SEC_HASH_BYTES];
	int bad;
};

static int set_collect(void *ud, const store_subject *sub)
{
	struct set_walk *w = ud;
	unsigned char t[SEC_HASH_BYTES];

	if (!sub->has_mac) {
		w->bad = 1;
		return 1;
	}
	set_term(w->r, sub->id, sub->mac, t);
	set_acc(w->acc, t, 1);
	return 0;
}

/* The sum over the subject rows as they are now. */
static rk_status set_sum(rk_register *r, unsigned char out[SEC_HASH_BYTES])
{
	struct set_walk w;

	memset(&w, 0, sizeof w);
	w.r = r;
	if (r->st->vt->subject_list(r->st, NULL, NULL, 0, set_collect, &w) != 0)
		return reg_store_fail(r, "cannot list subjects");
	if (w.bad)
		return altered(r, "a subject's row");
	memcpy(out, w.acc, SEC_HASH_BYTES);
	return RK_OK;
}

rk_status integ_set_rebuild(rk_register *r)
{
	rk_status st = set_sum(r, r->set_acc);

	if (st != RK_OK) {
		r->set_valid = 0;
		return st;
	}
	r->set_valid = r->set_dirty = 1;
	return RK_OK;
}
void integ_subject_mac(const rk_register *r, const store_subject *s,
		       unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_SUBJECT);
	sec_mac_str(&m, s->id);
	sec_mac_str(&m, s->kind);
	sec_mac_str(&m, s->pseudonym);
	sec_mac_int(&m, s->created_at);
	sec_mac_str(&m, s->rel_start);
	sec_mac_str(&m, s->rel_end);
	sec_mac_bytes(&m, s->vdigest, sizeof s->vdigest);
	sec_mac_bytes(&m, s->chead, sizeof s->chead);
	sec_mac_bytes(&m, s->rhead, sizeof s->rhead);
	sec_mac_int(&m, s->audit_seq);
	sec_mac_final(&m, out);
}

rk_status integ_subject_check(rk_register *r, const store_subject *s)
{
	unsigned char mac[SEC_HASH_BYTES];

	if (!s->has_mac)
		return altered(r, "a subject's row");
	integ_subject_mac(r, s, mac);
	if (sec_memcmp(mac, s->mac, sizeof mac) != 0)
		return altered(r, "a subject's row");
	return RK_OK;
}

void integ_values_begin(const rk_register *r, const char *subject_id,
			sec_mac *m)
{
	sec_mac_init(m, r->rkey, CTX_VALUES);
	sec_mac_str(m, subject_id);
}

void integ_values_add(sec_mac *m, const store_value *v)
{
	sec_mac_str(m, v->field);
	sec_mac_bytes(m, v->ct, v->ctlen);
	sec_mac_str(m, v->purposes);
	sec_mac_str(m, v->legal_basis);
	sec_mac_str(m, v->source);
	sec_mac_int(m, v->collected_at);
	sec_mac_int(m, v->confirmed_at);
	sec_mac_str(m, v->expires);
	sec_mac_bytes(m, v->bidx, v->bidx != NULL ? SEC_BIDX_BYTES : 0);
}

rk_status integ_values_end(rk_register *r, const store_subject *s, sec_mac *m)
{
	unsigned char d[SEC_HASH_BYTES];

	sec_mac_final(m, d);
	if (sec_memcmp(d, s->vdigest, sizeof d) != 0)
		return altered(r, "a subject's set of values");
	return RK_OK;
}

static int digest_one(void *ud, const store_value *v)
{
	integ_values_add(ud, v);
	return 0;
}

rk_status integ_subject_repin(rk_register *r, store_subject *s)
{
	sec_mac m;

	integ_values_begin(r, s->id, &m);
	if (r->st->vt->value_list(r->st, s->id, NULL, digest_one, &m) != 0) {
		sec_mac_final(&m, s->vdigest);
		return reg_store_fail(r, "cannot read the values");
	}
	sec_mac_final(&m, s->vdigest);
	return integ_subject_reseal(r, s);
}

rk_status integ_subject_reseal(rk_register *r, store_subject *s)
{
	unsigned char old[SEC_HASH_BYTES];
	int had = s->has_mac;

	s->audit_seq = audit_next_seq(r);
	memcpy(old, s->mac, sizeof old);
	integ_subject_mac(r, s, s->mac);
	s->has_mac = 1;
	if (r->st->vt->subject_set_auth(r->st, s) != 0)
		return reg_store_fail(r, "cannot store the subject's MAC");
	return integ_set_change(r, s->id, had ? old : NULL, s->mac);
}

/* ---- the consent ledger ---- */

void integ_consent_mac(const rk_register *r,
		       const unsigned char prev[SEC_HASH_BYTES],
		       const store_consent *c,
		       unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_CONSENT);
	sec_mac_bytes(&m, prev, SEC_HASH_BYTES);
	sec_mac_str(&m, c->subject_id);
	sec_mac_str(&m, c->scope);
	sec_mac_int(&m, c->objection ? 1 : 0);
	sec_mac_int(&m, c->given ? 1 : 0);
	sec_mac_int(&m, c->at);
	sec_mac_str(&m, c->channel);
	sec_mac_int(&m, c->policy_version);
	sec_mac_str(&m, c->actor);
	/* Evidence is sealed under the subject's data key, which a
	 * re-encryption replaces (and a restore may hand back): the chain
	 * binds that there is evidence and its length, the seal its bytes. */
	sec_mac_int(&m, c->evidence_ct != NULL ? (int64_t)c->evidence_len : -1);
	sec_mac_final(&m, out);
}

struct chain_walk {
	const rk_register *r;
	const char *scope;
	store_consent_fn fn;
	void *ud;
	unsigned char head[SEC_HASH_BYTES];
	int broken;
	int stopped;
};

static int chain_one(void *ud, const store_consent *c)
{
	struct chain_walk *w = ud;
	unsigned char mac[SEC_HASH_BYTES];

	integ_consent_mac(w->r, w->head, c, mac);
	if (c->mac == NULL || sec_memcmp(mac, c->mac, sizeof mac) != 0) {
		w->broken = 1;
		return 1;
	}
	memcpy(w->head, mac, sizeof mac);
	/* The walk goes on after the caller has had enough: the head must
	 * still be reached. */
	if (!w->stopped && w->fn != NULL &&
	    (w->scope == NULL || strcmp(w->scope, c->scope) == 0))
		w->stopped = w->fn(w->ud, c) != 0;
	return 0;
}

rk_status integ_consent_walk(rk_register *r, const store_subject *s,
			     const char *scope, store_consent_fn fn, void *ud)
{
	struct chain_walk w;

	memset(&w, 0, sizeof w);
	w.r = r;
	w.scope = scope;
	w.fn = fn;
	w.ud = ud;
	if (r->st->vt->consent_walk(r->st, s->id, NULL, chain_one, &w) != 0)
		return reg_store_fail(r, "cannot read the consent ledger");
	if (w.broken || sec_memcmp(w.head, s->chead, sizeof w.head) != 0)
		return altered(r, "the consent ledger");
	return RK_OK;
}

struct rehead {
	const rk_register *r;
	unsigned char head[SEC_HASH_BYTES];
	const unsigned char *pinned;
	int found;
	int broken;
};

static int rehead_one(void *ud, const store_consent *c)
{
	struct rehead *h = ud;

	integ_consent_mac(h->r, h->head, c, h->head);
	if (c->mac == NULL ||
	    sec_memcmp(h->head, c->mac, sizeof h->head) != 0) {
		h->broken = 1;
		return 1;
	}
	if (sec_memcmp(h->head, h->pinned, sizeof h->head) == 0)
		h->found = 1;
	return 0;
}

rk_status integ_subject_rehead(rk_register *r, const char *id)
{
	static const unsigned char empty[SEC_HASH_BYTES];
	struct rehead h;
	store_subject sub;
	rk_status st = reg_load_subject(r, id, &sub);

	if (st != RK_OK)
		return st;
	memset(&h, 0, sizeof h);
	h.r = r;
	h.pinned = sub.chead;
	h.found = sec_memcmp(sub.chead, empty, sizeof empty) == 0;
	if (r->st->vt->consent_walk(r->st, sub.id, NULL, rehead_one, &h) != 0)
		return reg_store_fail(r, "cannot read the consent ledger");
	if (h.broken || !h.found)
		return altered(r, "the consent ledger");
	memcpy(sub.chead, h.head, sizeof sub.chead);
	return integ_subject_reseal(r, &sub);
}

/* ---- records ---- */

void integ_record_mac(const rk_register *r, const store_record *rec,
		      unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_RECORD);
	sec_mac_int(&m, rec->id);
	sec_mac_str(&m, rec->subject_id);
	sec_mac_str(&m, rec->type);
	sec_mac_bytes(&m, rec->ct, rec->ctlen);
	sec_mac_str(&m, rec->purposes);
	sec_mac_str(&m, rec->legal_basis);
	sec_mac_str(&m, rec->source);
	sec_mac_int(&m, rec->created_at);
	sec_mac_str(&m, rec->expires);
	sec_mac_int(&m, rec->attachment_size);
	sec_mac_str(&m, rec->attachment_type);
	/* The identifier a record came through decides that a profile reset
	 * deletes it. Only a present hash is fed in, so the MACs of records
	 * without one (all those from before the column) stay as they were;
	 * every member above is length-prefixed, so the two forms cannot
	 * collide. */
	if (rec->cookie_hash != NULL)
		sec_mac_bytes(&m, rec->cookie_hash, SEC_BIDX_BYTES);
	sec_mac_final(&m, out);
}

int integ_record_ok(const rk_register *r, const store_record *rec)
{
	unsigned char mac[SEC_HASH_BYTES];

	if (rec->mac == NULL)
		return -1;
	integ_record_mac(r, rec, mac);
	return sec_memcmp(mac, rec->mac, sizeof mac);
}

/* The chain of a subject's records: the head after the record whose MAC is
 * mac follows the head prev. */
static void records_link(const rk_register *r,
			 const unsigned char prev[SEC_HASH_BYTES],
			 const unsigned char mac[SEC_HASH_BYTES],
			 unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_RECORDS);
	sec_mac_bytes(&m, prev, SEC_HASH_BYTES);
	sec_mac_bytes(&m, mac, SEC_HASH_BYTES);
	sec_mac_final(&m, out);
}

rk_status integ_record_bind(rk_register *r, store_subject *s, store_record *rec)
{
	unsigned char old[SEC_HASH_BYTES];
	unsigned char mac[SEC_HASH_BYTES];

	integ_record_mac(r, rec, mac);
	if (r->st->vt->record_set_mac(r->st, rec->id, mac) != 0)
		return reg_store_fail(r, "cannot store the record's MAC");
	/* Records only ever grow at the end (ids increase), so the head
	 * moves on without a walk. */
	records_link(r, s->rhead, mac, s->rhead);
	s->audit_seq = audit_next_seq(r);
	memcpy(old, s->mac, sizeof old);
	integ_subject_mac(r, s, s->mac);
	if (r->st->vt->subject_set_auth(r->st, s) != 0)
		return reg_store_fail(r, "cannot store the subject's MAC");
	return integ_set_change(r, s->id, old, s->mac);
}

struct rec_walk {
	const rk_register *r;
	const char *type;
	store_record_fn fn;
	void *ud;
	unsigned char head[SEC_HASH_BYTES];
	int broken;
	int stopped;
};

static int rec_walk_one(void *ud, const store_record *rec)
{
	struct rec_walk *w = ud;

	if (integ_record_ok(w->r, rec) != 0) {
		w->broken = 1;
		return 1;
	}
	records_link(w->r, w->head, rec->mac, w->head);
	if (!w->stopped && w->fn != NULL &&
	    (w->type == NULL || strcmp(w->type, rec->type) == 0))
		w->stopped = w->fn(w->ud, rec) != 0;
	return 0;
}

/* Walks every record of s, checking each MAC; *head gets the chain's. */
static rk_status records_walk(rk_register *r, const store_subject *s,
			      struct rec_walk *w)
{
	w->r = r;
	memset(w->head, 0, sizeof w->head);
	if (r->st->vt->record_list(r->st, s->id, NULL, rec_walk_one, w) != 0)
		return reg_store_fail(r, "cannot read the records");
	if (w->broken)
		return altered(r, "a record");
	return RK_OK;
}

rk_status integ_records_walk(rk_register *r, const store_subject *s,
			     const char *type, store_record_fn fn, void *ud)
{
	struct rec_walk w;
	rk_status st;

	memset(&w, 0, sizeof w);
	w.type = type;
	w.fn = fn;
	w.ud = ud;
	st = records_walk(r, s, &w);
	if (st == RK_OK && sec_memcmp(w.head, s->rhead, sizeof w.head) != 0)
		st = altered(r, "a subject's set of records");
	return st;
}

rk_status integ_records_repin(rk_register *r, store_subject *s)
{
	struct rec_walk w;
	rk_status st;

	memset(&w, 0, sizeof w);
	st = records_walk(r, s, &w);
	if (st == RK_OK)
		memcpy(s->rhead, w.head, sizeof s->rhead);
	return st;
}

/* ---- cookie and device identifiers ---- */

/* The first form bound the identifier to its subject only; the time of
 * the link, which a restore's replay of a cookie reset goes by, came under
 * the MAC with the sums' tags (and is taken in the old form only while the
 * trail shows no tagging, integ_sums_bind re-MACs those rows). */
#define CTX_COOKIE_AT "rk-cookie-v2"

static void cookie_mac_v1(const rk_register *r,
			  const unsigned char hash[SEC_BIDX_BYTES],
			  const char *subject_id,
			  unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_COOKIE);
	sec_mac_bytes(&m, hash, SEC_BIDX_BYTES);
	sec_mac_str(&m, subject_id);
	sec_mac_final(&m, out);
}

void integ_cookie_mac(const rk_register *r,
		      const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t linked_at,
		      unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_COOKIE_AT);
	sec_mac_bytes(&m, hash, SEC_BIDX_BYTES);
	sec_mac_str(&m, subject_id);
	sec_mac_int(&m, linked_at);
	sec_mac_final(&m, out);
}

/* 1 when mac is the link's MAC of the first form. */
static int cookie_v1_ok(const rk_register *r,
			const unsigned char hash[SEC_BIDX_BYTES],
			const char *subject_id, const unsigned char *mac)
{
	unsigned char want[SEC_HASH_BYTES];

	if (mac == NULL)
		return 0;
	cookie_mac_v1(r, hash, subject_id, want);
	return sec_memcmp(want, mac, sizeof want) == 0;
}

/* Which MAC mac (may be NULL) is: COOKIE_MAC (today's), COOKIE_MAC_V1 (the
 * first form's, taken only while the trail shows no tagging) or neither. */
enum { COOKIE_MAC_NONE, COOKIE_MAC_V1, COOKIE_MAC };

static int cookie_form(const rk_register *r,
		       const unsigned char hash[SEC_BIDX_BYTES],
		       const char *subject_id, int64_t linked_at,
		       const unsigned char *mac)
{
	unsigned char want[SEC_HASH_BYTES];

	if (mac == NULL)
		return COOKIE_MAC_NONE;
	integ_cookie_mac(r, hash, subject_id, linked_at, want);
	if (sec_memcmp(want, mac, sizeof want) == 0)
		return COOKIE_MAC;
	return cookie_v1_ok(r, hash, subject_id, mac) ? COOKIE_MAC_V1
						      : COOKIE_MAC_NONE;
}

/* RK_OK, RK_EINTEGRITY (unreported) or a reported failure. */
static rk_status cookie_ok(rk_register *r,
			   const unsigned char hash[SEC_BIDX_BYTES],
			   const char *subject_id, int64_t linked_at,
			   const unsigned char *mac)
{
	switch (cookie_form(r, hash, subject_id, linked_at, mac)) {
	case COOKIE_MAC:
		return RK_OK;
	case COOKIE_MAC_V1:
		return sums_tagged_quiet(r);
	default:
		return RK_EINTEGRITY;
	}
}

rk_status integ_cookie_check(rk_register *r,
			     const unsigned char hash[SEC_BIDX_BYTES],
			     const char *subject_id, int64_t linked_at,
			     const unsigned char mac[SEC_HASH_BYTES])
{
	rk_status st = cookie_ok(r, hash, subject_id, linked_at, mac);

	return st == RK_EINTEGRITY ? altered(r, "an identifier's link") : st;
}

/* ---- actors ---- */

/* The token's plain hash, keyed again: an upgrade can key the plain hashes
 * stored before without knowing the tokens. */
static void key_token_hash(const rk_register *r,
			   const unsigned char plain[SEC_HASH_BYTES],
			   unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_ACTOR_TOKEN);
	sec_mac_bytes(&m, plain, SEC_HASH_BYTES);
	sec_mac_final(&m, out);
}

void integ_token_hash(const rk_register *r, const char *token,
		      unsigned char out[SEC_HASH_BYTES])
{
	unsigned char plain[SEC_HASH_BYTES];

	sec_token_hash(token, plain);
	key_token_hash(r, plain, out);
	sec_wipe(plain, sizeof plain);
}

void integ_actor_mac(const rk_register *r, const store_actor *a,
		     unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_ACTOR);
	sec_mac_str(&m, a->name);
	sec_mac_str(&m, a->role);
	sec_mac_bytes(&m, a->token_hash, sizeof a->token_hash);
	sec_mac_int(&m, a->created_at);
	sec_mac_int(&m, a->revoked_at);
	sec_mac_final(&m, out);
}

static int actor_mac_ok(const rk_register *r, const store_actor *a)
{
	unsigned char mac[SEC_HASH_BYTES];

	if (!a->has_mac)
		return 0;
	integ_actor_mac(r, a, mac);
	return sec_memcmp(mac, a->mac, sizeof mac) == 0;
}

struct actor_set {
	const rk_register *r;
	sec_mac m;
	int bad;
};

static int set_one(void *ud, const store_actor *a)
{
	struct actor_set *as = ud;

	if (!actor_mac_ok(as->r, a))
		as->bad = 1;
	sec_mac_str(&as->m, a->name);
	sec_mac_bytes(&as->m, a->mac, sizeof a->mac);
	return 0;
}

/* The MAC over every actor row (in name order, as actor_list gives). */
static rk_status actor_set_mac(rk_register *r,
			       unsigned char out[SEC_HASH_BYTES], int *bad)
{
	struct actor_set as;

	memset(&as, 0, sizeof as);
	as.r = r;
	sec_mac_init(&as.m, r->rkey, CTX_ACTOR_SET);
	if (r->st->vt->actor_list(r->st, set_one, &as) != 0) {
		sec_mac_final(&as.m, out);
		return reg_store_fail(r, "cannot read actors");
	}
	sec_mac_final(&as.m, out);
	*bad = as.bad;
	return RK_OK;
}

rk_status integ_actor_check(rk_register *r, const store_actor *a)
{
	unsigned char want[SEC_HASH_BYTES], got[SEC_HASH_BYTES];
	size_t len = 0;
	int bad = 0, rc;
	rk_status st;

	if (a != NULL && !actor_mac_ok(r, a))
		return altered(r, "an actor's row");
	st = actor_set_mac(r, want, &bad);
	if (st != RK_OK)
		return st;
	rc = r->st->vt->meta_get(r->st, META_ACTOR_SET, got, sizeof got, &len);
	if (rc != 0 && rc != STORE_NOTFOUND)
		return reg_store_fail(r, "cannot read actors");
	if (bad || rc != 0 || len != sizeof got ||
	    sec_memcmp(want, got, sizeof got) != 0)
		return altered(r, "the set of actors");
	return RK_OK;
}

rk_status integ_actors_pin(rk_register *r)
{
	unsigned char d[SEC_HASH_BYTES];
	int bad = 0;
	rk_status st = actor_set_mac(r, d, &bad);

	if (st != RK_OK)
		return st;
	if (bad)
		return altered(r, "an actor's row");
	if (r->st->vt->meta_set(r->st, META_ACTOR_SET, d, sizeof d) != 0)
		return reg_store_fail(r, "cannot store the set of actors");
	return RK_OK;
}

/* ---- binding existing rows ---- */

struct macs {
	int64_t *ids;
	unsigned char (*mac)[SEC_HASH_BYTES];
	size_t n, cap;
	int oom;
};

static int macs_push(struct macs *ms, int64_t id,
		     const unsigned char mac[SEC_HASH_BYTES])
{
	if (ms->n == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 16;
		int64_t *ni = realloc(ms->ids, cap * sizeof *ni);
		unsigned char(*nm)[SEC_HASH_BYTES];

		if (ni == NULL) {
			ms->oom = 1;
			return 1;
		}
		ms->ids = ni;
		nm = realloc(ms->mac, cap * sizeof *nm);
		if (nm == NULL) {
			ms->oom = 1;
			return 1;
		}
		ms->mac = nm;
		ms->cap = cap;
	}
	ms->ids[ms->n] = id;
	memcpy(ms->mac[ms->n], mac, SEC_HASH_BYTES);
	ms->n++;
	return 0;
}

/* Writes the gathered MACs with set (a store's set_mac for one kind of
 * row). */
static rk_status macs_store(rk_register *r, const struct macs *ms,
			    int (*set)(store *s, int64_t id,
				       const unsigned char mac[SEC_HASH_BYTES]),
			    const char *what)
{
	if (ms->oom)
		return reg_fail(r, RK_ESYS, "out of memory");
	for (size_t i = 0; i < ms->n; i++)
		if (set(r->st, ms->ids[i], ms->mac[i]) != 0)
			return reg_store_fail(r, what);
	return RK_OK;
}

struct rebind {
	const rk_register *r;
	struct macs ms;
	unsigned char head[SEC_HASH_BYTES];
};

static int rechain_one(void *ud, const store_consent *c)
{
	struct rebind *b = ud;

	integ_consent_mac(b->r, b->head, c, b->head);
	return macs_push(&b->ms, c->id, b->head);
}

static int remac_record(void *ud, const store_record *rec)
{
	struct rebind *b = ud;
	unsigned char mac[SEC_HASH_BYTES];

	integ_record_mac(b->r, rec, mac);
	records_link(b->r, b->head, mac, b->head);
	return macs_push(&b->ms, rec->id, mac);
}

static int verify_value(void *ud, const store_value *v)
{
	integ_values_add(ud, v);
	return 0;
}

rk_status integ_values_verify(rk_register *r, const store_subject *s)
{
	sec_mac m;
	rk_status st = integ_subject_check(r, s);

	if (st != RK_OK)
		return st;
	integ_values_begin(r, s->id, &m);
	if (r->st->vt->value_list(r->st, s->id, NULL, verify_value, &m) != 0) {
		sec_wipe(&m, sizeof m);
		return reg_store_fail(r, "cannot read the values");
	}
	return integ_values_end(r, s, &m);
}

rk_status integ_subject_rebind(rk_register *r, store_subject *s)
{
	struct rebind b;
	rk_status st = RK_OK;

	memset(&b, 0, sizeof b);
	b.r = r;
	/* Gathered first, written after: no row changes under a walk. */
	if (r->st->vt->consent_walk(r->st, s->id, NULL, rechain_one, &b) != 0) {
		st = reg_store_fail(r, "cannot read the consent ledger");
		goto out;
	}
	st = macs_store(r, &b.ms, r->st->vt->consent_set_mac,
			"cannot store a consent's MAC");
	if (st != RK_OK)
		goto out;
	memcpy(s->chead, b.head, sizeof s->chead);
	b.ms.n = 0;
	memset(b.head, 0, sizeof b.head);
	if (r->st->vt->record_list(r->st, s->id, NULL, remac_record, &b) != 0) {
		st = reg_store_fail(r, "cannot read the records");
		goto out;
	}
	st = macs_store(r, &b.ms, r->st->vt->record_set_mac,
			"cannot store a record's MAC");
	if (st != RK_OK)
		goto out;
	memcpy(s->rhead, b.head, sizeof s->rhead);
	st = integ_subject_repin(r, s);
out:
	free(b.ms.ids);
	free(b.ms.mac);
	return st;
}

struct ids {
	char (*id)[33];
	size_t n, cap;
	int had_mac;
};

static int collect_subject(void *ud, const store_subject *s)
{
	struct ids *ids = ud;

	if (s->has_mac)
		ids->had_mac = 1;
	if (ids->n == ids->cap)
		return 1;
	memcpy(ids->id[ids->n++], s->id, sizeof ids->id[0]);
	return 0;
}

/* ---- checking everything ---- */

static int count_value(void *ud, const store_value *v)
{
	integ_values_add(ud, v);
	return 0;
}

/* A subject written after where the kept head says the trail ends: the
 * trail was cut back to an older end, head and all. */
/* Subject id whole, with head the trail's end as the register's kept head
 * says: a subject written after it means the trail was cut back to an
 * older end, head and all. */
static rk_status subject_verify(rk_register *r, const char *id, int64_t head)
{
	store_subject sub;
	sec_mac m;
	rk_status st = reg_load_subject(r, id, &sub);

	if (st != RK_OK)
		return st;
	integ_values_begin(r, sub.id, &m);
	if (r->st->vt->value_list(r->st, sub.id, NULL, count_value, &m) != 0) {
		sec_wipe(&m, sizeof m);
		return reg_store_fail(r, "cannot read the values");
	}
	st = integ_values_end(r, &sub, &m);
	if (st == RK_OK && sub.audit_seq > head)
		st = reg_fail(r, RK_EINTEGRITY,
			      "a subject was written after where the audit "
			      "trail now ends: the trail was cut back to an "
			      "older end; see the checkpoints and restore a "
			      "backup");
	if (st == RK_OK)
		st = integ_consent_walk(r, &sub, NULL, NULL, NULL);
	if (st == RK_OK)
		st = integ_records_walk(r, &sub, NULL, NULL, NULL);
	return st;
}

rk_status integ_subject_verify(rk_register *r, const char *id)
{
	int64_t head = 0;
	rk_status st = audit_kept_seq(r, &head);

	return st == RK_OK ? subject_verify(r, id, head) : st;
}

struct cookie_check {
	rk_register *r;
	int bad; /* a link that matches no MAC */
	int v1;	 /* a link with its MAC of the first form */
};

static int check_cookie(void *ud, const unsigned char hash[SEC_BIDX_BYTES],
			const char *subject_id, int64_t linked_at,
			const unsigned char *mac)
{
	struct cookie_check *cc = ud;

	switch (cookie_form(cc->r, hash, subject_id, linked_at, mac)) {
	case COOKIE_MAC:
		return 0;
	case COOKIE_MAC_V1: /* decided after the walk, once */
		cc->v1 = 1;
		return 0;
	default:
		cc->bad = 1;
		return 1;
	}
}

/* Every link against its MAC, after a walk with check_cookie: a MAC of the
 * first form counts only while the trail shows no tagging. */
static rk_status cookies_checked(rk_register *r, const struct cookie_check *cc)
{
	rk_status st = cc->bad ? RK_EINTEGRITY : RK_OK;

	if (st == RK_OK && cc->v1)
		st = sums_tagged_quiet(r);
	return st == RK_EINTEGRITY ? altered(r, "an identifier's link") : st;
}

static rk_status verify_all(rk_register *r, rk_audit_report *rep)
{
	struct cookie_check cc = {r, 0, 0};
	struct ids ids = {NULL, 0, UPGRADE_PAGE, 0};
	char after[33] = "", *text = NULL;
	int64_t head = 0;
	int version = 0;
	size_t i;
	rk_status st;

	if (r->st->vt->policy_latest(r->st, &version, &text) != 0)
		return reg_store_fail(r, "cannot read the stored policy");
	st = integ_policy_check(r, version, text);
	free(text);
	if (st == RK_OK)
		st = integ_actor_check(r, NULL);
	if (st == RK_OK &&
	    r->st->vt->cookie_walk(r->st, check_cookie, &cc) != 0 && !cc.bad)
		st = reg_store_fail(r, "cannot read the identifiers");
	if (st == RK_OK)
		st = cookies_checked(r, &cc);
	if (st != RK_OK)
		return st;
	st = audit_kept_seq(r, &head); /* read once for every subject */
	if (st != RK_OK)
		return st;
	ids.id = calloc(ids.cap, sizeof *ids.id);
	if (ids.id == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	do {
		ids.n = 0;
		if (r->st->vt->subject_list(r->st, NULL,
					    after[0] ? after : NULL, ids.cap,
					    collect_subject, &ids) != 0) {
			st = reg_store_fail(r, "cannot list subjects");
			break;
		}
		for (i = 0; st == RK_OK && i < ids.n; i++) {
			st = subject_verify(r, ids.id[i], head);
			rep->entries++;
		}
		if (ids.n > 0)
			memcpy(after, ids.id[ids.n - 1], sizeof after);
	} while (st == RK_OK && ids.n == ids.cap);
	free(ids.id);
	/* What erasures left: their record and the held records. */
	if (st == RK_OK)
		st = integ_erasures_verify(r);
	if (st == RK_OK)
		st = integ_held_verify(r);
	if (st == RK_OK)
		st = integ_logs_verify(r);
	/* Self-service links and sessions: each row under its MAC. */
	if (st == RK_OK)
		st = integ_selfsvc_verify(r);
	/* A look-up names its subject by the pseudonym copied onto the
	 * lookup value: each copy must be its subject's (under its MAC). */
	if (st == RK_OK) {
		int64_t bad = 0;
		if (r->st->vt->value_pseudonym_mismatch(r->st, &bad) != 0)
			st = reg_store_fail(r, "cannot read the lookup values");
		else if (bad != 0)
			st = reg_fail(r, RK_EINTEGRITY,
				      "a lookup value names another pseudonym "
				      "than its subject's: %s",
				      MSG_ALTERED);
	}
	/* The subjects as a set: none removed, added or put back. */
	if (st == RK_OK) {
		unsigned char want[SEC_HASH_BYTES], have[SEC_HASH_BYTES];
		st = set_load(r, want);
		if (st == RK_OK)
			st = set_sum(r, have);
		if (st == RK_OK && sec_memcmp(want, have, sizeof want) != 0)
			st = altered(r, "the set of subjects");
	}
	return st;
}

rk_status rk_integrity_verify(rk_register *r, rk_audit_report *rep)
{
	audit_ev ev;
	rk_status st;

	memset(rep, 0, sizeof *rep);
	st = audit_may_read(r, AUD_INTEGRITY_VERIFY);
	if (st != RK_OK)
		return st;
	/* One snapshot: a writer elsewhere never looks like tampering. */
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	st = verify_all(r, rep);
	reg_end_read(r);
	if (st == RK_EINTEGRITY) {
		size_t n = strnlen(r->err, sizeof rep->reason - 1);

		memcpy(rep->reason, r->err, n);
		rep->reason[n] = '\0';
	}
	audit_ev_set(&ev, r, AUD_INTEGRITY_VERIFY, NULL, NULL, NULL,
		     st == RK_OK	   ? "ok"
		     : st == RK_EINTEGRITY ? "integrity"
					   : "failed");
	if (st == RK_OK || st == RK_EINTEGRITY) {
		/* The finding stays in the handle's message. */
		char saved[REG_ERR_MAX];
		rk_status ast;

		memcpy(saved, r->err, sizeof saved);
		ast = audit_read(r, &ev);
		if (ast != RK_OK) {
			/* The trail could not take the entry: that is the
			 * answer, and its message says why. */
			size_t n = strnlen(r->err, sizeof rep->reason - 1);
			memcpy(rep->reason, r->err, n);
			rep->reason[n] = '\0';
			return ast;
		}
		memcpy(r->err, saved, sizeof saved);
	}
	return st;
}

struct actors {
	store_actor *a;
	size_t n, cap;
	int oom;
};

static int collect_actor(void *ud, const store_actor *a)
{
	struct actors *as = ud;

	if (as->n == as->cap) {
		size_t cap = as->cap ? as->cap * 2 : 16;
		store_actor *na = realloc(as->a, cap * sizeof *na);
		if (na == NULL) {
			as->oom = 1;
			return 1;
		}
		as->a = na;
		as->cap = cap;
	}
	as->a[as->n++] = *a;
	return 0;
}

/* Whether the trail shows rows bound before: the first binding's entry,
 * or an init that made the row key at once (its entry says so). A trail
 * whose first entry is gone cannot show it, and counts as bound. */
static int find_upgrade(void *ud, const store_audit *a)
{
	int *seen = ud;

	if (audit_action_is(a->action, AUD_REGISTER_UPGRADE) ||
	    (a->seq == 1 && audit_action_is(a->action, AUD_REGISTER_INIT) &&
	     a->fields != NULL &&
	     (strcmp(a->fields, INIT_BOUND) == 0 ||
	      strcmp(a->fields, INIT_BOUND_SS) == 0 ||
	      strcmp(a->fields, INIT_BOUND_TAGS) == 0)) ||
	    (*seen == 0 && a->seq != 1)) {
		*seen = 1;
		return 1;
	}
	*seen = -1; /* walked past the first entry */
	return 0;
}

/* The actors' plain token hashes become keyed ones, and get their MACs. */
static rk_status bind_actors(rk_register *r)
{
	struct actors as = {NULL, 0, 0, 0};
	rk_status st = RK_OK;
	unsigned char plain[SEC_HASH_BYTES];
	size_t i;

	if (r->st->vt->actor_list(r->st, collect_actor, &as) != 0) {
		st = reg_store_fail(r, "cannot read actors");
		goto out;
	}
	if (as.oom) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	for (i = 0; i < as.n; i++) {
		memcpy(plain, as.a[i].token_hash, sizeof plain);
		key_token_hash(r, plain, as.a[i].token_hash);
		integ_actor_mac(r, &as.a[i], as.a[i].mac);
		as.a[i].has_mac = 1;
		if (r->st->vt->actor_set_auth(r->st, &as.a[i]) != 0) {
			st = reg_store_fail(r, "cannot store an actor's MAC");
			goto out;
		}
	}
	st = integ_actors_pin(r);
out:
	free(as.a);
	return st;
}

/* The links collected by a walk, to be given MACs after it. */
struct cookie_row {
	unsigned char hash[SEC_BIDX_BYTES];
	char sid[33];
	int64_t at;
	unsigned char mac[SEC_HASH_BYTES];
	int has_mac;
};

struct cookies {
	struct cookie_row *row;
	size_t n, cap;
	int bad;
};

static int collect_cookie(void *ud, const unsigned char hash[SEC_BIDX_BYTES],
			  const char *subject_id, int64_t linked_at,
			  const unsigned char *mac)
{
	struct cookies *cs = ud;
	struct cookie_row *c;

	if (strlen(subject_id) >= sizeof cs->row[0].sid) {
		cs->bad = 1;
		return 1;
	}
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 64;
		struct cookie_row *nr = realloc(cs->row, cap * sizeof *nr);

		if (nr == NULL) {
			cs->bad = 1;
			return 1;
		}
		cs->row = nr;
		cs->cap = cap;
	}
	c = &cs->row[cs->n++];
	memcpy(c->hash, hash, SEC_BIDX_BYTES);
	memcpy(c->sid, subject_id, strlen(subject_id) + 1);
	c->at = linked_at;
	c->has_mac = mac != NULL;
	if (mac != NULL)
		memcpy(c->mac, mac, SEC_HASH_BYTES);
	return 0;
}

/* Every link gets its MAC: all of them (all), or those whose MAC is of the
 * first form (the others are left as they are, and fail their checks). */
static rk_status cookies_remac(rk_register *r, int all)
{
	struct cookies cs = {NULL, 0, 0, 0};
	unsigned char mac[SEC_HASH_BYTES];
	rk_status st = RK_OK;
	size_t i;

	if (r->st->vt->cookie_walk(r->st, collect_cookie, &cs) != 0)
		st = reg_store_fail(r, "cannot read the identifiers");
	else if (cs.bad)
		st = reg_fail(r, RK_ESYS, "cannot read the identifiers");
	for (i = 0; st == RK_OK && i < cs.n; i++) {
		struct cookie_row *c = &cs.row[i];

		if (!all && !cookie_v1_ok(r, c->hash, c->sid,
					  c->has_mac ? c->mac : NULL))
			continue;
		integ_cookie_mac(r, c->hash, c->sid, c->at, mac);
		if (r->st->vt->cookie_set_mac(r->st, c->hash, mac) != 0)
			st = reg_store_fail(r, "cannot store a link's MAC");
	}
	free(cs.row);
	return st;
}

static rk_status bind_cookies(rk_register *r)
{
	return cookies_remac(r, 1);
}

rk_status integ_cookies_retag(rk_register *r)
{
	return cookies_remac(r, 0);
}

/* Binds every row of a register from before the MAC columns, in one write:
 * a crash leaves it as it was, and the next open tries again. */
static rk_status upgrade(rk_register *r)
{
	struct ids ids = {NULL, 0, UPGRADE_PAGE, 0};
	char after[33] = "";
	unsigned char w[SEC_WRAPPED_BYTES], flag[1];
	size_t len = 0, i;
	int rc, seen = 0, version = 0;
	char *text = NULL;
	store_subject sub;
	audit_ev ev;
	rk_status st;

	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	/* Decided again under the lock: another process may have been
	 * first. */
	rc = r->st->vt->meta_get(r->st, META_ROW_KEY, w, sizeof w, &len);
	if (rc == 0) {
		reg_txn_rollback(r);
		return reg_load_key(r, META_ROW_KEY, AD_ROW_KEY, &r->rkey);
	}
	/* A register bound once is never bound again from what it holds
	 * now: that would bless whatever was edited after its MACs were
	 * removed. The trail, which must be whole, keeps the first binding's
	 * entry or the init that bound it from the start; a register from
	 * before the MACs had no kept head either. */
	st = audit_chain_intact(r);
	if (st != RK_OK)
		goto out;
	rc = r->st->vt->meta_get(r->st, META_HEAD, w, sizeof w, &len);
	if (rc != STORE_NOTFOUND)
		seen = 1;
	else if (r->st->vt->audit_walk(r->st, 1, NULL, find_upgrade, &seen) !=
		 0) {
		st = reg_store_fail(r, "cannot read the audit trail");
		goto out;
	}
	if (seen == 1) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the register lost its row key after its rows "
			      "were bound: %s",
			      MSG_ALTERED);
		goto out;
	}
	r->rkey = sec_key_alloc();
	ids.id = calloc(ids.cap, sizeof *ids.id);
	if (r->rkey == NULL || ids.id == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* Derived, not random: a backup from before the upgrade, made under
	 * the same master key, binds to the same key when it is opened. */
	sec_key_derive(r->mk, ROW_KEY_CTX, r->rkey);
	st = reg_store_key(r, META_ROW_KEY, AD_ROW_KEY, r->rkey);
	if (st == RK_OK) {
		/* The sum starts from nothing; each binding adds its row. */
		memset(r->set_acc, 0, sizeof r->set_acc);
		r->set_valid = r->set_dirty = 1;
	}
	if (st != RK_OK)
		goto out;
	do {
		ids.n = 0;
		if (r->st->vt->subject_list(r->st, NULL,
					    after[0] ? after : NULL, ids.cap,
					    collect_subject, &ids) != 0) {
			st = reg_store_fail(r, "cannot list subjects");
			goto out;
		}
		if (ids.had_mac) {
			st = reg_fail(r, RK_EINTEGRITY,
				      "the register lost its row key but "
				      "its rows have MACs: %s",
				      MSG_ALTERED);
			goto out;
		}
		for (i = 0; i < ids.n; i++) {
			if (r->st->vt->subject_get(r->st, ids.id[i], &sub) !=
			    0) {
				st = reg_store_fail(r, "cannot read a subject");
				goto out;
			}
			st = integ_subject_rebind(r, &sub);
			if (st != RK_OK)
				goto out;
		}
		if (ids.n > 0)
			memcpy(after, ids.id[ids.n - 1], sizeof after);
	} while (ids.n == ids.cap);
	st = bind_actors(r);
	if (st == RK_OK)
		st = bind_cookies(r);
	/* The self-service rows (each under its MAC already) as a set. */
	if (st == RK_OK)
		st = integ_selfsvc_rebind(r);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->policy_latest(r->st, &version, &text) != 0) {
		st = reg_store_fail(r, "cannot read the stored policy");
		goto out;
	}
	st = integ_policy_pin(r, version, text);
	free(text);
	if (st != RK_OK)
		goto out;
	flag[0] = 0;
	if (r->st->vt->meta_set(r->st, META_PENDING, flag, 1) != 0) {
		st = reg_store_fail(r, "cannot store the upgrade");
		goto out;
	}
	audit_ev_set(&ev, r, AUD_REGISTER_UPGRADE, NULL, "row_macs", NULL,
		     "ok");
	/* A register from before kept heads starts keeping one here. */
	r->head_adopt = 1;
	st = audit_write(r, &ev);
	r->head_adopt = 0;
	if (st == RK_OK)
		st = integ_commit(r);
out:
	if (st != RK_OK) {
		reg_txn_rollback(r);
		sec_key_free(r->rkey);
		r->rkey = NULL;
	}
	free(ids.id);
	return st;
}

rk_status integ_create(rk_register *r)
{
	static const unsigned char none[SEC_HASH_BYTES];
	unsigned char flag[1] = {0};
	rk_status st;

	r->rkey = sec_key_new();
	if (r->rkey == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	st = reg_store_key(r, META_ROW_KEY, AD_ROW_KEY, r->rkey);
	if (st != RK_OK)
		return st;
	if (r->st->vt->meta_set(r->st, META_PENDING, flag, 1) != 0)
		return reg_store_fail(r, "cannot write the register");
	st = integ_set_rebuild(r); /* no subjects yet */
	if (st == RK_OK)
		st = integ_selfsvc_rebind(r); /* no links yet */
	/* The init entry says the sums are tagged: an absent one is then
	 * an edit, so the empty sets are written. */
	if (st == RK_OK)
		st = sum_store(r, META_ERASURE_SET, none);
	if (st == RK_OK)
		st = sum_store(r, META_HELD_SET, none);
	if (st == RK_OK)
		r->sums_tagged = 1;
	if (st != RK_OK)
		return st;
	return integ_actors_pin(r);
}

rk_status integ_open(rk_register *r, int *upgrade_needed)
{
	*upgrade_needed = 0;
	unsigned char w[SEC_WRAPPED_BYTES], flag[1];
	size_t len = 0;
	int rc;

	rc = r->st->vt->meta_get(r->st, META_ROW_KEY, w, sizeof w, &len);
	if (rc == 0 || rc == STORE_ERR)
		return reg_load_key(r, META_ROW_KEY, AD_ROW_KEY, &r->rkey);
	rc = r->st->vt->meta_get(r->st, META_PENDING, flag, sizeof flag, &len);
	if (rc == STORE_ERR)
		return reg_store_fail(r, "cannot read the register");
	if (rc != 0 || len != 1 || flag[0] != 1)
		return reg_fail(r, RK_EINTEGRITY,
				"the register is missing its row key: %s",
				MSG_ALTERED);
	*upgrade_needed = 1;
	return RK_OK;
}

rk_status integ_upgrade(rk_register *r)
{
	return upgrade(r);
}

/* ---- erasures and records held after them ---- */

void integ_erasure_tag(const rk_register *r, const char *subject_id,
		       unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, "rk:erasure-tag");
	sec_mac_str(&m, subject_id);
	sec_mac_final(&m, out);
}

void integ_erasure_mac(const rk_register *r, const store_erasure *e,
		       unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, "rk:erasure");
	sec_mac_bytes(&m, e->tag, sizeof e->tag);
	sec_mac_str(&m, e->erased_on);
	sec_mac_int(&m, e->held);
	sec_mac_final(&m, out);
}

void integ_held_mac(const rk_register *r, const store_held *h,
		    unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, "rk:held-record");
	sec_mac_int(&m, h->id);
	sec_mac_str(&m, h->type);
	sec_mac_str(&m, h->retention);
	sec_mac_str(&m, h->hold_until);
	sec_mac_int(&m, h->created_at);
	sec_mac_bytes(&m, h->wrapped_key, SEC_WRAPPED_BYTES);
	sec_mac_bytes(&m, h->ct, h->ctlen);
	sec_mac_int(&m, h->attachment_size);
	sec_mac_str(&m, h->attachment_type);
	sec_mac_final(&m, out);
}

void integ_held_kek(const rk_register *r, unsigned char *out)
{
	sec_key_derive(r->rkey, "rk:held-kek", out);
}

/* ---- the sets of erasures and of held records ----
 *
 * Each is pinned like the subjects: meta holds a keyed sum over its rows'
 * MACs, so a row removed, added or put back shows. Absent means empty (a
 * register that never erased anything). */

static void row_term(const rk_register *r, const char *ctx, int64_t id,
		     const unsigned char *key, size_t keylen,
		     const unsigned char mac[SEC_HASH_BYTES],
		     unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, ctx);
	sec_mac_int(&m, id);
	sec_mac_bytes(&m, key, keylen);
	sec_mac_bytes(&m, mac, SEC_HASH_BYTES);
	sec_mac_final(&m, out);
}

/* Absent means empty only in a register from before the tags: the
 * tagging writes both sets. */
static rk_status pinned_load(rk_register *r, const char *name,
			     unsigned char acc[SEC_HASH_BYTES])
{
	int have = 0, bad = 0, tagged = 1;
	rk_status st = sum_read(r, name, acc, &have, &bad);

	if (st == RK_OK && !have)
		st = sums_tagged(r, &tagged);
	if (bad || (st == RK_OK && !have && tagged))
		return altered(r, "a pinned set of the register");
	return st;
}

static rk_status pinned_change(rk_register *r, const char *name,
			       const unsigned char t[SEC_HASH_BYTES], int add)
{
	unsigned char acc[SEC_HASH_BYTES];
	rk_status st = pinned_load(r, name, acc);

	if (st != RK_OK)
		return st;
	set_acc(acc, t, add);
	return sum_store(r, name, acc);
}

rk_status integ_erasure_pin(rk_register *r, const store_erasure *e)
{
	unsigned char t[SEC_HASH_BYTES];

	row_term(r, "rk:erasure-set", 0, e->tag, sizeof e->tag, e->mac, t);
	return pinned_change(r, META_ERASURE_SET, t, 1);
}

rk_status integ_held_pin(rk_register *r, const store_held *h, int add)
{
	unsigned char t[SEC_HASH_BYTES];

	row_term(r, "rk:held-set", h->id, NULL, 0, h->mac, t);
	return pinned_change(r, META_HELD_SET, t, add);
}

struct pinned_walk {
	rk_register *r;
	unsigned char acc[SEC_HASH_BYTES];
	int bad;
};

static int erasure_term(void *ud, const store_erasure *e)
{
	struct pinned_walk *w = ud;
	unsigned char mac[SEC_HASH_BYTES], t[SEC_HASH_BYTES];

	integ_erasure_mac(w->r, e, mac);
	if (sec_memcmp(mac, e->mac, sizeof mac) != 0) {
		w->bad = 1;
		return 1;
	}
	row_term(w->r, "rk:erasure-set", 0, e->tag, sizeof e->tag, e->mac, t);
	set_acc(w->acc, t, 1);
	return 0;
}

static int held_term(void *ud, const store_held *h)
{
	struct pinned_walk *w = ud;
	unsigned char mac[SEC_HASH_BYTES], t[SEC_HASH_BYTES];

	integ_held_mac(w->r, h, mac);
	if (h->type == NULL || h->retention == NULL || h->hold_until == NULL ||
	    sec_memcmp(mac, h->mac, sizeof mac) != 0) {
		w->bad = 1;
		return 1;
	}
	row_term(w->r, "rk:held-set", h->id, NULL, 0, h->mac, t);
	set_acc(w->acc, t, 1);
	return 0;
}

/* The two pinned sets of erasures: which walk fills w, and what a failed
 * read or a mismatch names. */
static rk_status pinned_verify(rk_register *r, int held, const char *unread,
			       const char *what)
{
	struct pinned_walk w;
	unsigned char want[SEC_HASH_BYTES];
	rk_status st;
	int rc;

	memset(&w, 0, sizeof w);
	w.r = r;
	st = pinned_load(r, held ? META_HELD_SET : META_ERASURE_SET, want);
	if (st != RK_OK)
		return st;
	rc = held ? r->st->vt->held_walk(r->st, held_term, &w)
		  : r->st->vt->erasure_walk(r->st, erasure_term, &w);
	if (rc != 0)
		return reg_store_fail(r, unread);
	if (w.bad || sec_memcmp(w.acc, want, sizeof want) != 0)
		return altered(r, what);
	return RK_OK;
}

rk_status integ_erasures_verify(rk_register *r)
{
	return pinned_verify(r, 0, "cannot read the record of erasures",
			     "the register's record of erasures");
}

rk_status integ_held_verify(rk_register *r)
{
	return pinned_verify(r, 1, "cannot read the held records",
			     "the records held after erasures");
}

rk_status integ_erasures_rebuild(rk_register *r)
{
	struct pinned_walk w;

	memset(&w, 0, sizeof w);
	w.r = r;
	if (r->st->vt->erasure_walk(r->st, erasure_term, &w) != 0)
		return reg_store_fail(r, "cannot read the record of erasures");
	if (w.bad)
		return altered(r, "an erasure's row");
	return sum_store(r, META_ERASURE_SET, w.acc);
}

/* ---- a subject deleted for good (erasure, retention) ---- */

rk_status integ_subject_forget(rk_register *r, const store_subject *sub,
			       const char today[11], int64_t held,
			       int64_t *cookies)
{
	store_erasure er;
	int64_t n = 0;
	rk_status st;

	/* Unlinked first only to count the links; the delete would take
	 * them too. */
	if (r->st->vt->cookie_unlink_subject(r->st, sub->id, &n) != 0)
		return reg_store_fail(r, "cannot unlink the cookies");
	if (cookies != NULL)
		*cookies = n;
	/* The delete takes the subject's self-service rows too. */
	st = integ_selfsvc_unpin(r, sub->id, 0);
	if (st != RK_OK)
		return st;
	if (r->st->vt->subject_delete(r->st, sub->id) != 0)
		return reg_store_fail(r, "cannot delete the subject");
	st = integ_set_change(r, sub->id, sub->mac, NULL);
	if (st != RK_OK)
		return st;
	memset(&er, 0, sizeof er);
	integ_erasure_tag(r, sub->id, er.tag);
	memcpy(er.erased_on, today, sizeof er.erased_on);
	er.held = held;
	integ_erasure_mac(r, &er, er.mac);
	if (r->st->vt->erasure_add(r->st, &er) != 0)
		return reg_store_fail(r, "cannot remember the erasure");
	st = integ_erasure_pin(r, &er);
	if (st != RK_OK)
		return st;
	return RK_OK;
}

/* ---- the breach register (breach.c) ---------------------------------------
 */

#define CTX_BREACH_ROW "rk-breach-v1"

static void mac_opt_bytes(sec_mac *m, const unsigned char *p, size_t n)
{
	/* Absent differs from empty. */
	sec_mac_int(m, p != NULL ? 1 : 0);
	sec_mac_bytes(m, p, p != NULL ? n : 0);
}

void integ_breach_mac(const rk_register *r, const store_breach *b,
		      unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_BREACH_ROW);
	sec_mac_int(&m, b->id);
	sec_mac_int(&m, b->aware_at);
	sec_mac_int(&m, b->opened_at);
	mac_opt_bytes(&m, b->description, b->description_len);
	sec_mac_str(&m, b->categories);
	sec_mac_int(&m, b->has_query);
	sec_mac_str(&m, b->q_field);
	sec_mac_str(&m, b->q_type);
	sec_mac_int(&m, b->has_range);
	sec_mac_int(&m, b->q_from);
	sec_mac_int(&m, b->q_to);
	sec_mac_int(&m, b->counted_at);
	sec_mac_int(&m, b->affected);
	sec_mac_str(&m, b->risk);
	sec_mac_int(&m, b->dpa_notified_at);
	sec_mac_int(&m, b->subjects_notified_at);
	mac_opt_bytes(&m, b->measures, b->measures_len);
	sec_mac_str(&m, b->status);
	sec_mac_int(&m, b->closed_at);
	sec_mac_final(&m, out);
}

/* ---- the controller's own sealed texts ---- */

/* A key derived from the row key for ctx, in guarded memory. */
static rk_status text_key(rk_register *r, const char *ctx, unsigned char **key)
{
	*key = sec_key_alloc();
	if (*key == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	sec_key_derive(r->rkey, ctx, *key);
	return RK_OK;
}

/* "<kind>:<id>": the associated data that binds a text to its row. */
static void text_ad(const char *kind, int64_t id, char ad[48])
{
	snprintf(ad, 48, "%s:%" PRId64, kind, id);
}

rk_status integ_text_seal(rk_register *r, const char *ctx, const char *kind,
			  int64_t id, const char *field, const char *text,
			  unsigned char **ct, size_t *len)
{
	unsigned char *key = NULL;
	size_t n = strlen(text);
	char ad[48];
	rk_status st;

	text_ad(kind, id, ad);
	*ct = NULL;
	*len = 0;
	st = text_key(r, ctx, &key);
	if (st != RK_OK)
		return st;
	*ct = malloc(n + SEC_SEAL_OVERHEAD);
	if (*ct == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_seal(key, ad, field, (const unsigned char *)text, n, *ct) !=
	    0) {
		free(*ct);
		*ct = NULL;
		st = reg_fail(r, RK_ESYS, "cannot seal a text");
		goto out;
	}
	*len = n + SEC_SEAL_OVERHEAD;
out:
	sec_key_free(key);
	return st;
}

static rk_status text_open(rk_register *r, const char *ctx, const char *ad,
			   const char *field, const unsigned char *ct,
			   size_t len, char **pt, size_t *n)
{
	unsigned char *key = NULL;
	rk_status st;

	*pt = NULL;
	*n = 0;
	if (len < SEC_SEAL_OVERHEAD)
		return altered(r, "a sealed text");
	st = text_key(r, ctx, &key);
	if (st != RK_OK)
		return st;
	*pt = malloc(len - SEC_SEAL_OVERHEAD + 1);
	if (*pt == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
	} else if (sec_open(key, ad, field, ct, len, (unsigned char *)*pt) !=
		   0) {
		free(*pt);
		*pt = NULL;
		st = altered(r, "a sealed text");
	} else {
		*n = len - SEC_SEAL_OVERHEAD;
		(*pt)[*n] = '\0';
	}
	sec_key_free(key);
	return st;
}

json_t *integ_text_json(rk_register *r, const char *ctx, const char *kind,
			int64_t id, const char *field, const unsigned char *ct,
			size_t len, const char *damaged, rk_status *st)
{
	json_t *j = NULL;
	char ad[48], *pt = NULL;
	size_t n = 0;

	if (ct == NULL)
		return json_null();
	text_ad(kind, id, ad);
	*st = text_open(r, ctx, ad, field, ct, len, &pt, &n);
	if (*st != RK_OK)
		return NULL;
	j = json_stringn(pt, n);
	if (j == NULL) /* jansson refuses what is not UTF-8 */
		*st = reg_fail(r, RK_EINTEGRITY, "%s: %s", damaged,
			       MSG_ALTERED);
	sec_wipe(pt, n + 1);
	free(pt);
	return j;
}

/* ---- the disclosure log and the breach register (disclose.c, breach.c) ----
 *
 * Here so that `audit verify` checks them with the rest of the register. */

#define META_DISCLOSE_HEAD "disclosure_head"
#define CTX_DISCLOSURE_ROW "rk-disclosure-v1"
#define META_BREACH_SET	   "breach_set"
#define CTX_BREACH_SET	   "rk-breach-set-v1"

/* Not the subject's id: erasure sets it to NULL. The pseudonym names the
 * subject instead. */
void integ_disclosure_mac(const rk_register *r, const unsigned char *prev,
			  const store_disclosure *d,
			  unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_DISCLOSURE_ROW);
	sec_mac_bytes(&m, prev, SEC_HASH_BYTES);
	sec_mac_int(&m, d->id);
	sec_mac_int(&m, d->batch);
	sec_mac_str(&m, d->pseudonym);
	sec_mac_str(&m, d->recipient);
	sec_mac_str(&m, d->recipient_kind);
	sec_mac_str(&m, d->country);
	sec_mac_str(&m, d->safeguard);
	sec_mac_str(&m, d->purpose);
	sec_mac_int(&m, d->at);
	sec_mac_str(&m, d->actor);
	sec_mac_str(&m, d->fields);
	sec_mac_str(&m, d->record_types);
	sec_mac_int(&m, d->records);
	sec_mac_str(&m, d->legal_ground);
	sec_mac_str(&m, d->basis);
	sec_mac_final(&m, out);
}

rk_status integ_disclosure_head(rk_register *r, int64_t *id,
				unsigned char mac[SEC_HASH_BYTES])
{
	unsigned char buf[8 + SEC_HASH_BYTES];
	size_t len = 0;
	uint64_t v = 0;
	int rc, i;

	*id = 0;
	memset(mac, 0, SEC_HASH_BYTES);
	rc = r->st->vt->meta_get(r->st, META_DISCLOSE_HEAD, buf, sizeof buf,
				 &len);
	if (rc == STORE_NOTFOUND)
		return RK_OK;
	if (rc != 0)
		return reg_store_fail(r, "cannot read the disclosure log");
	if (len != sizeof buf)
		return altered(r, "the pin of the disclosure log");
	for (i = 0; i < 8; i++)
		v = v << 8 | buf[i];
	*id = (int64_t)v;
	memcpy(mac, buf + 8, SEC_HASH_BYTES);
	return RK_OK;
}

struct log_check {
	rk_register *r;
	unsigned char prev[SEC_HASH_BYTES];
	int64_t last, n;
	int bad;
};

static int log_line(void *ud, const store_disclosure *d)
{
	struct log_check *w = ud;
	unsigned char want[SEC_HASH_BYTES];

	if (d->mac == NULL || d->id <= w->last) {
		w->bad = 1;
		return 1;
	}
	integ_disclosure_mac(w->r, w->prev, d, want);
	if (sec_memcmp(want, d->mac, SEC_HASH_BYTES) != 0) {
		w->bad = 1;
		return 1;
	}
	memcpy(w->prev, d->mac, SEC_HASH_BYTES);
	w->last = d->id;
	w->n++;
	return 0;
}

static int breach_line(void *ud, const store_breach *b)
{
	struct log_check *w = ud;
	unsigned char want[SEC_HASH_BYTES];

	integ_breach_mac(w->r, b, want);
	if (sec_memcmp(want, b->mac, SEC_HASH_BYTES) != 0) {
		w->bad = 1;
		return 1;
	}
	w->n++;
	return 0;
}

struct breach_sum {
	rk_register *r;
	sec_mac m;
};

static int breach_term(void *ud, const store_breach *b)
{
	struct breach_sum *w = ud;
	unsigned char rm[SEC_HASH_BYTES];

	integ_breach_mac(w->r, b, rm);
	sec_mac_int(&w->m, b->id);
	sec_mac_bytes(&w->m, rm, sizeof rm);
	return 0;
}

/* The pin of a set of rows (breaches, requests): the set's MAC alone (a
 * register from before the pins were bound to the trail), or since then
 * the number the trail's next entry had when the pin was written (a lower
 * bound of the pinning write's own entry) and a MAC over it and the set.
 * Putting back an older pin with the rows it matched then shows in the
 * trail: more than one write of the set at or after its number. */
#define PIN_LEN	       (8 + SEC_HASH_BYTES)
#define META_DSR_SET   "dsr_set"
#define CTX_DSR_ROW    "rk-dsr-v1"
#define CTX_DSR_SET    "rk-dsr-set-v1"
#define CTX_BREACH_PIN "rk-breach-pin-v2"
#define CTX_DSR_PIN    "rk-dsr-pin-v2"

static void pin_mac(const rk_register *r, const char *ctx, int64_t from,
		    const unsigned char set[SEC_HASH_BYTES],
		    unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, ctx);
	sec_mac_int(&m, from);
	sec_mac_bytes(&m, set, SEC_HASH_BYTES);
	sec_mac_final(&m, out);
}

static rk_status pin_write(rk_register *r, const char *meta, const char *ctx,
			   const unsigned char set[SEC_HASH_BYTES])
{
	unsigned char buf[PIN_LEN];
	int64_t from = audit_next_seq(r);
	uint64_t v = (uint64_t)from;
	int i;

	if (from <= 0)
		return reg_fail(r, RK_EINTEGRITY,
				"the audit head does not load: %s",
				MSG_ALTERED);
	for (i = 7; i >= 0; i--) {
		buf[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	pin_mac(r, ctx, from, set, buf + 8);
	if (r->st->vt->meta_set(r->st, meta, buf, sizeof buf) != 0)
		return reg_store_fail(r, "cannot pin a set of rows");
	return RK_OK;
}

static rk_status pin_check(rk_register *r, const char *meta, const char *ctx,
			   const char *what,
			   const unsigned char set[SEC_HASH_BYTES],
			   int have_rows, int64_t *from)
{
	unsigned char buf[PIN_LEN], want[SEC_HASH_BYTES];
	size_t len = 0;
	uint64_t v = 0;
	int rc = r->st->vt->meta_get(r->st, meta, buf, sizeof buf, &len);
	int i;

	if (from != NULL)
		*from = 0;
	if (rc == STORE_NOTFOUND)
		return have_rows ? altered(r, what) : RK_OK;
	if (rc != 0)
		return reg_store_fail(r, "cannot read a set's pin");
	if (len == SEC_HASH_BYTES) { /* the set's MAC alone */
		if (sec_memcmp(buf, set, SEC_HASH_BYTES) != 0)
			return altered(r, what);
		return RK_OK;
	}
	if (len != sizeof buf)
		return altered(r, what);
	for (i = 0; i < 8; i++)
		v = v << 8 | buf[i];
	pin_mac(r, ctx, (int64_t)v, set, want);
	if (v == 0 || v > INT64_MAX ||
	    sec_memcmp(want, buf + 8, SEC_HASH_BYTES) != 0)
		return altered(r, what);
	if (from != NULL)
		*from = (int64_t)v;
	return RK_OK;
}

rk_status integ_breach_pin_write(rk_register *r,
				 const unsigned char set[SEC_HASH_BYTES])
{
	return pin_write(r, META_BREACH_SET, CTX_BREACH_PIN, set);
}

rk_status integ_breach_pin_check(rk_register *r,
				 const unsigned char set[SEC_HASH_BYTES],
				 int have_rows, int64_t *from)
{
	return pin_check(r, META_BREACH_SET, CTX_BREACH_PIN,
			 "the set of breaches", set, have_rows, from);
}

rk_status integ_dsr_pin_write(rk_register *r,
			      const unsigned char set[SEC_HASH_BYTES])
{
	return pin_write(r, META_DSR_SET, CTX_DSR_PIN, set);
}

rk_status integ_dsr_pin_check(rk_register *r,
			      const unsigned char set[SEC_HASH_BYTES],
			      int have_rows, int64_t *from)
{
	return pin_check(r, META_DSR_SET, CTX_DSR_PIN,
			 "the set of data subject requests", set, have_rows,
			 from);
}

static const char *opt_str(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Not the subject's id: erasure sets it to NULL. The pseudonym names the
 * subject instead (checked against the subject row). An empty optional
 * column counts as absent. */
void integ_dsr_mac(const rk_register *r, const store_dsr *d,
		   unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_DSR_ROW);
	sec_mac_int(&m, d->id);
	sec_mac_str(&m, d->pseudonym);
	sec_mac_str(&m, d->type);
	sec_mac_str(&m, d->received);
	sec_mac_str(&m, d->due);
	sec_mac_str(&m, opt_str(d->extended_due));
	mac_opt_bytes(&m, d->extend_reason, d->extend_reason_len);
	sec_mac_str(&m, opt_str(d->verified_by));
	sec_mac_str(&m, d->status);
	sec_mac_str(&m, opt_str(d->outcome));
	mac_opt_bytes(&m, d->reason, d->reason_len);
	sec_mac_str(&m, opt_str(d->closed));
	sec_mac_str(&m, d->purposes);
	sec_mac_final(&m, out);
}

void integ_dsr_set_begin(const rk_register *r, sec_mac *m, int64_t n)
{
	sec_mac_init(m, r->rkey, CTX_DSR_SET);
	sec_mac_int(m, n);
}

void integ_dsr_set_add(sec_mac *m, int64_t id,
		       const unsigned char mac[SEC_HASH_BYTES])
{
	sec_mac_int(m, id);
	sec_mac_bytes(m, mac, SEC_HASH_BYTES);
}

/* What the trail says was written to the logs and sets. */
struct trail_count {
	int64_t breach_from; /* the breach pin's number, 0 when it has none */
	int64_t dsr_from;    /* the same for the requests */
	int64_t lines;	     /* entries of lines added to the disclosure log */
	int64_t breaches;    /* breaches opened */
	int64_t breach_writes; /* breach writes at or after breach_from */
	int64_t requests;      /* requests opened */
	int64_t dsr_writes;    /* request writes at or after dsr_from */
	int replaced; /* a forced restore replaced the trail by a backup's */
};

static int is_action(const store_audit *a, audit_action action)
{
	return audit_action_is(a->action, action);
}

static int trail_one(void *ud, const store_audit *a)
{
	struct trail_count *c = ud;
	int open;

	if (a->outcome == NULL || strcmp(a->outcome, "ok") != 0 ||
	    a->action == NULL)
		return 0;
	if (is_action(a, AUD_REGISTER_RESTORE) && a->fields != NULL &&
	    strstr(a->fields, AUDIT_TRAIL_FROM_BACKUP) != NULL) {
		c->replaced = 1;
		return 0;
	}
	if (is_action(a, AUD_DISCLOSE) ||
	    is_action(a, AUD_MARKETING_TRANSFER)) {
		c->lines++;
		return 0;
	}
	open = is_action(a, AUD_BREACH_OPEN);
	c->breaches += open;
	if ((open || is_action(a, AUD_BREACH_UPDATE) ||
	     is_action(a, AUD_BREACH_CLOSE)) &&
	    c->breach_from > 0 && a->seq >= c->breach_from)
		c->breach_writes++;
	open = is_action(a, AUD_DSR_OPEN);
	c->requests += open;
	if ((open || is_action(a, AUD_DSR_EXTEND) ||
	     is_action(a, AUD_DSR_CLOSE)) &&
	    c->dsr_from > 0 && a->seq >= c->dsr_from)
		c->dsr_writes++;
	return 0;
}

static rk_status trail_mismatch(rk_register *r, const char *what, int64_t rows,
				int64_t entries)
{
	return reg_fail(r, RK_EINTEGRITY,
			"%s holds %" PRId64
			" but the audit trail records %" PRId64 ": %s",
			what, rows, entries, MSG_ALTERED);
}

/* The logs against the trail, whose own chain and head audit verify
 * checks: one entry per line of the disclosure log, one opening entry per
 * breach and per request, and no breach or request written after the
 * write that set its pin. Rows removed or put back together with their
 * pins are found so. */
static rk_status logs_against_trail(rk_register *r, struct trail_count *want)
{
	struct trail_count c;

	memset(&c, 0, sizeof c);
	c.breach_from = want->breach_from;
	c.dsr_from = want->dsr_from;
	if (r->st->vt->audit_walk(r->st, 1, NULL, trail_one, &c) != 0)
		return reg_store_fail(r, "cannot read the audit trail");
	/* A forced restore put a backup's trail in place of a broken live
	 * one (kept beside the register) while the logs stayed live: from
	 * then on the trail cannot account for them, and the entry that says
	 * so stands in the trail. */
	if (c.replaced)
		return RK_OK;
	if (c.lines != want->lines)
		return trail_mismatch(r, "the disclosure log's lines",
				      want->lines, c.lines);
	if (c.breaches != want->breaches)
		return trail_mismatch(r, "the breach register's breaches",
				      want->breaches, c.breaches);
	if (c.requests != want->requests)
		return trail_mismatch(r, "the data subject requests",
				      want->requests, c.requests);
	if (want->breach_from > 0 && c.breach_writes != 1)
		return reg_fail(r, RK_EINTEGRITY,
				"the breach register is older than the audit "
				"trail's last write to it: %s",
				MSG_ALTERED);
	if (want->dsr_from > 0 && c.dsr_writes != 1)
		return reg_fail(r, RK_EINTEGRITY,
				"the data subject requests are older than the "
				"audit trail's last write to them: %s",
				MSG_ALTERED);
	return RK_OK;
}

/* The requests: each row against its MAC and the subject it names, the
 * set against its pin. */
struct dsr_check {
	rk_register *r;
	sec_mac set;
	int64_t n;
	rk_status st;
};

static int dsr_count(void *ud, const store_dsr *d)
{
	(void)d;
	((struct dsr_check *)ud)->n++;
	return 0;
}

static int dsr_line(void *ud, const store_dsr *d)
{
	struct dsr_check *w = ud;
	unsigned char want[SEC_HASH_BYTES];
	store_subject sub;
	int rc;

	integ_dsr_mac(w->r, d, want);
	if (d->mac == NULL || sec_memcmp(want, d->mac, SEC_HASH_BYTES) != 0) {
		w->st = altered(w->r, "a data subject request");
		return 1;
	}
	integ_dsr_set_add(&w->set, d->id, d->mac);
	if (d->subject_id == NULL)
		return 0;
	rc = w->r->st->vt->subject_get(w->r->st, d->subject_id, &sub);
	if (rc == STORE_NOTFOUND)
		return 0; /* gone: the request stands without it */
	if (rc != 0) {
		w->st = reg_store_fail(w->r, "cannot read the subject");
		return 1;
	}
	w->st = integ_subject_check(w->r, &sub);
	if (w->st == RK_OK && strcmp(sub.pseudonym, d->pseudonym) != 0)
		w->st = altered(w->r, "a data subject request's subject");
	return w->st != RK_OK;
}

static rk_status dsr_verify(rk_register *r, int64_t *n, int64_t *from)
{
	struct dsr_check w;
	unsigned char set[SEC_HASH_BYTES];
	rk_status st;

	memset(&w, 0, sizeof w);
	w.r = r;
	if (r->st->vt->dsr_walk(r->st, dsr_count, &w) != 0)
		return reg_store_fail(r, "cannot read the requests");
	*n = w.n;
	w.st = RK_OK;
	integ_dsr_set_begin(r, &w.set, w.n);
	if (r->st->vt->dsr_walk(r->st, dsr_line, &w) != 0 && w.st == RK_OK)
		w.st = reg_store_fail(r, "cannot read the requests");
	sec_mac_final(&w.set, set);
	if (w.st != RK_OK)
		return w.st;
	st = integ_dsr_pin_check(r, set, w.n > 0, from);
	return st;
}

rk_status integ_logs_verify(rk_register *r)
{
	struct log_check w;
	struct breach_sum bs;
	struct trail_count tc;
	unsigned char head[SEC_HASH_BYTES], want[SEC_HASH_BYTES];
	int64_t head_id = 0;
	rk_status st = integ_disclosure_head(r, &head_id, head);

	if (st != RK_OK)
		return st;
	memset(&w, 0, sizeof w);
	w.r = r;
	if (r->st->vt->disclosure_walk(r->st, NULL, log_line, &w) != 0)
		return reg_store_fail(r, "cannot read the disclosure log");
	if (w.bad || w.last != head_id ||
	    (head_id != 0 && sec_memcmp(w.prev, head, sizeof head) != 0))
		return altered(r, "the disclosure log");
	memset(&tc, 0, sizeof tc);
	tc.lines = w.n;
	/* The breaches: each row, then the set as breach.c pins it. */
	memset(&w, 0, sizeof w);
	w.r = r;
	if (r->st->vt->breach_walk(r->st, breach_line, &w) != 0)
		return reg_store_fail(r, "cannot read the breaches");
	if (w.bad)
		return altered(r, "a breach");
	bs.r = r;
	sec_mac_init(&bs.m, r->rkey, CTX_BREACH_SET);
	sec_mac_int(&bs.m, w.n);
	if (r->st->vt->breach_walk(r->st, breach_term, &bs) != 0) {
		sec_mac_final(&bs.m, want);
		return reg_store_fail(r, "cannot read the breaches");
	}
	sec_mac_final(&bs.m, want);
	st = integ_breach_pin_check(r, want, w.n > 0, &tc.breach_from);
	if (st != RK_OK)
		return st;
	tc.breaches = w.n;
	st = dsr_verify(r, &tc.requests, &tc.dsr_from);
	if (st != RK_OK)
		return st;
	return logs_against_trail(r, &tc);
}
/* ---- loading a subject row ---- */

/* The row is checked against its MAC before anyone uses it. */
rk_status reg_load_subject(rk_register *r, const char *id, store_subject *sub)
{
	int rc;

	if (!reg_valid_id(id))
		return reg_fail(r, RK_EINVAL,
				"not a subject ID: IDs are 32 hexadecimal "
				"characters");
	rc = r->st->vt->subject_get(r->st, id, sub);
	if (rc == STORE_NOTFOUND)
		return reg_fail(r, RK_ENOTFOUND, "no such subject");
	if (rc != 0)
		return reg_store_fail(r, "cannot read the subject");
	return integ_subject_check(r, sub);
}

/* ---- self-service links and sessions (selfservice.c) ---- */

#define CTX_SELFSVC_ROW "rk-selfsvc-row-v1"

/* used_at too once set: a spent link put back unused would open the
 * person's data again to whoever still holds it (a forwarded mail, a
 * mail server's log) until it expires. An unused row's MAC leaves it out,
 * so rows written before it was bound still verify while unused. */
void integ_selfsvc_mac(const rk_register *r, const store_selfsvc *row,
		       unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_SELFSVC_ROW);
	sec_mac_bytes(&m, row->hash, SEC_HASH_BYTES);
	sec_mac_str(&m, row->subject_id);
	sec_mac_int(&m, row->kind);
	sec_mac_int(&m, row->created_at);
	sec_mac_int(&m, row->expires_at);
	if (row->used_at != 0)
		sec_mac_int(&m, row->used_at);
	sec_mac_final(&m, out);
}

void integ_selfsvc_link_id(const rk_register *r, const unsigned char *hash,
			   char out[AUDIT_LINK_ID_LEN + 1])
{
	unsigned char d[SEC_HASH_BYTES];
	sec_mac m;

	sec_mac_init(&m, r->rkey, "rk-selfsvc-link-id-v1");
	sec_mac_bytes(&m, hash, SEC_HASH_BYTES);
	sec_mac_final(&m, d);
	memcpy(out, "link:", 5);
	sec_hex(d, 16, out + 5);
}

/* Each row and, since the set is pinned, the set (the end of this file). */
rk_status integ_selfsvc_verify(rk_register *r)
{
	return integ_selfsvc_set_check(r, 1);
}

/* ---- the actor set's pin, for the handle's authentication cache ---- */

int integ_actor_set_pin(rk_register *r, unsigned char out[SEC_HASH_BYTES])
{
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, META_ACTOR_SET, out, SEC_HASH_BYTES,
				     &len);

	return rc == 0 && len == SEC_HASH_BYTES ? 0 : -1;
}

/* ---- the commit of a write, and the stored policy as pinned (moved from
 * register.c) ---- */

rk_status integ_commit_txn(rk_register *r)
{
	rk_status st = audit_commit_steps(r);

	if (st == RK_OK)
		st = integ_set_flush(r);
	return audit_commit_end(r, st);
}

rk_status integ_commit(rk_register *r)
{
	rk_status st;

	if (reg_txn_nested_end(r, &st))
		return st;
	return integ_commit_txn(r);
}

rk_status reg_load_policy(rk_register *r)
{
	char *text = NULL;
	policy *p;
	int version = 0;

	if (r->st->vt->policy_latest(r->st, &version, &text) != 0)
		return reg_store_fail(r, "cannot read the stored policy");
	/* Roles, purposes and retention come from it: an edited or older
	 * policy row is not loaded. */
	if (r->rkey != NULL) {
		rk_status st = integ_policy_check(r, version, text);
		if (st != RK_OK) {
			free(text);
			return st;
		}
	}
	p = policy_parse(text, strlen(text), "stored policy", NULL, NULL);
	free(text);
	if (p == NULL)
		return reg_fail(r, RK_EINTEGRITY,
				"the stored policy version %d does not load",
				version);
	policy_free(r->pol);
	r->pol = p;
	r->policy_version = version;
	return RK_OK;
}

/* After a policy change (policy_change.c) or one undone (txn.c). */
rk_status reg_reload_policy(rk_register *r)
{
	char role[64] = "";
	size_t n;
	rk_status st;

	if (r->role != POL_NONE) {
		n = strlen(r->pol->roles[r->role].name);
		if (n < sizeof role)
			memcpy(role, r->pol->roles[r->role].name, n + 1);
	}
	st = reg_load_policy(r);
	if (st != RK_OK)
		return st;
	if (role[0] != '\0')
		r->role = policy_role(r->pol, role);
	return RK_OK;
}

/* ---- the set of self-service rows (integrity.h) ----
 *
 * Like the held records: a keyed sum over the rows, in meta, moved by
 * every write of a row. A copy of a link's row taken while it was unused
 * and written back after it was spent has a valid MAC of its own; only
 * the set shows that it is no longer the row the register wrote last. */

#define META_SELFSVC_PENDING "selfsvc_set_pending"
#define CTX_SELFSVC_SET	     "rk:selfsvc-set"
/* The fields of the one-time binding's audit entry. */
#define SELFSVC_BOUND "selfsvc_set"

static void ss_term(const rk_register *r, const store_selfsvc *row,
		    unsigned char out[SEC_HASH_BYTES])
{
	row_term(r, CTX_SELFSVC_SET, row->kind, row->hash, SEC_HASH_BYTES,
		 row->mac, out);
}

static rk_status ss_set_altered(rk_register *r)
{
	return reg_fail(r, RK_EINTEGRITY,
			"the set of self-service links and sessions does not "
			"match its pin: %s",
			MSG_ALTERED);
}

/* The pin into acc; *have 0 when the register has none. */
static rk_status ss_pin_load(rk_register *r, unsigned char acc[SEC_HASH_BYTES],
			     int *have)
{
	int bad = 0;
	rk_status st = sum_read(r, META_SELFSVC_SET, acc, have, &bad);

	return bad ? ss_set_altered(r) : st;
}

static rk_status ss_pin_store(rk_register *r,
			      const unsigned char acc[SEC_HASH_BYTES])
{
	return sum_store(r, META_SELFSVC_SET, acc);
}

rk_status integ_selfsvc_pin(rk_register *r, const store_selfsvc *gone,
			    const store_selfsvc *added)
{
	unsigned char acc[SEC_HASH_BYTES], t[SEC_HASH_BYTES];
	int have = 0;
	rk_status st = ss_pin_load(r, acc, &have);

	if (st != RK_OK)
		return st;
	/* Unpinned: a row removed changes nothing that is checked, a row
	 * added could never be used. */
	if (!have)
		return added != NULL ? ss_set_altered(r) : RK_OK;
	if (gone != NULL) {
		ss_term(r, gone, t);
		set_acc(acc, t, 0);
	}
	if (added != NULL) {
		ss_term(r, added, t);
		set_acc(acc, t, 1);
	}
	return ss_pin_store(r, acc);
}

struct ss_sum {
	rk_register *r;
	unsigned char acc[SEC_HASH_BYTES];
	int64_t n;
	int each_row; /* check every row's MAC too */
	int bad;      /* a row that does not match its MAC */
};

static int ss_sum_one(void *ud, const store_selfsvc *row)
{
	struct ss_sum *w = ud;
	unsigned char mac[SEC_HASH_BYTES], t[SEC_HASH_BYTES];

	if (w->each_row) {
		integ_selfsvc_mac(w->r, row, mac);
		if (sec_memcmp(mac, row->mac, sizeof mac) != 0)
			w->bad = 1;
	}
	ss_term(w->r, row, t);
	set_acc(w->acc, t, 1);
	w->n++;
	return 0;
}

rk_status integ_selfsvc_unpin(rk_register *r, const char *subject_id,
			      int64_t now)
{
	unsigned char acc[SEC_HASH_BYTES];
	struct ss_sum w;
	int have = 0;
	rk_status st;

	memset(&w, 0, sizeof w);
	w.r = r;
	if (r->st->vt->selfsvc_select(r->st, subject_id, now, ss_sum_one, &w) !=
	    0)
		return reg_store_fail(r, "cannot read self-service links");
	if (w.n == 0)
		return RK_OK;
	st = ss_pin_load(r, acc, &have);
	if (st != RK_OK || !have)
		return st;
	/* Each row's term out at once: the sum of them. A row edited
	 * behind the key leaves its wrong term, so the set stays wrong
	 * (tampering is not purged away). */
	set_acc(acc, w.acc, 0);
	return ss_pin_store(r, acc);
}

static rk_status ss_sum_all(rk_register *r, struct ss_sum *w, int each_row)
{
	memset(w, 0, sizeof *w);
	w->r = r;
	w->each_row = each_row;
	if (r->st->vt->selfsvc_walk(r->st, ss_sum_one, w) != 0)
		return reg_store_fail(r, "cannot read self-service links");
	if (w->bad)
		return reg_fail(r, RK_EINTEGRITY,
				"a self-service link or session does not "
				"match its MAC: it was edited without the "
				"register's key");
	return RK_OK;
}

rk_status integ_selfsvc_set_check(rk_register *r, int each_row)
{
	unsigned char want[SEC_HASH_BYTES];
	struct ss_sum w;
	int have = 0;
	rk_status st = ss_sum_all(r, &w, each_row);

	if (st == RK_OK)
		st = ss_pin_load(r, want, &have);
	if (st != RK_OK)
		return st;
	if (!have)
		return reg_fail(r, RK_EINTEGRITY,
				"the set of self-service links and sessions "
				"has no pin: %s",
				MSG_ALTERED);
	if (sec_memcmp(want, w.acc, sizeof want) != 0)
		return ss_set_altered(r);
	return RK_OK;
}

rk_status integ_selfsvc_rebind(rk_register *r)
{
	unsigned char flag[1] = {0};
	struct ss_sum w;
	rk_status st = ss_sum_all(r, &w, 1);

	if (st == RK_OK)
		st = ss_pin_store(r, w.acc);
	if (st == RK_OK &&
	    r->st->vt->meta_set(r->st, META_SELFSVC_PENDING, flag, 1) != 0)
		st = reg_store_fail(r, "cannot write the register");
	return st;
}

/* 1 when the register has no pin and its migration marked it for one. */
static rk_status ss_needs_bind(rk_register *r, int *need)
{
	unsigned char buf[2 * SEC_HASH_BYTES], flag[1];
	size_t len = 0;
	int rc;

	*need = 0;
	rc = r->st->vt->meta_get(r->st, META_SELFSVC_SET, buf, sizeof buf,
				 &len);
	if (rc == 0)
		return RK_OK;
	if (rc != STORE_NOTFOUND)
		return reg_store_fail(r, "cannot read the register");
	rc = r->st->vt->meta_get(r->st, META_SELFSVC_PENDING, flag, sizeof flag,
				 &len);
	if (rc == STORE_ERR)
		return reg_store_fail(r, "cannot read the register");
	*need = rc == 0 && len == 1 && flag[0] == 1;
	return RK_OK;
}

/* A one-time upgrade at open: needs decides, under a read and again under
 * the write lock (another process may have been first); run does it inside
 * the write and sets *done 0 when it leaves the register as it is (the
 * trail shows it was done before). */
static rk_status open_once(rk_register *r,
			   rk_status (*needs)(rk_register *, int *),
			   rk_status (*run)(rk_register *, int *))
{
	int need = 0, done = 1;
	rk_status st = reg_begin_read(r);

	if (st != RK_OK)
		return st;
	st = needs(r, &need);
	reg_end_read(r);
	if (st != RK_OK || !need)
		return st;
	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	st = needs(r, &need);
	if (st != RK_OK || !need)
		goto out;
	st = run(r, &done);
	if (st == RK_OK && done)
		st = integ_commit(r);
	if (st == RK_OK && done)
		return RK_OK;
out:
	reg_txn_rollback(r);
	return st;
}

static rk_status ss_bind_once(rk_register *r, int *done)
{
	audit_ev ev;
	/* the pin bound once, or from the start */
	struct trail_mark m = {SELFSVC_BOUND, INIT_BOUND_SS, INIT_BOUND_TAGS,
			       0};
	/* Bound once only: binding again would bless a row put back after
	 * the pin was removed. The trail, which must be whole, says. */
	rk_status st = audit_trail_whole(r);

	if (st != RK_OK)
		return st;
	if (r->st->vt->audit_walk(r->st, 1, NULL, find_mark, &m) != 0)
		return reg_store_fail(r, "cannot read the audit trail");
	if (m.seen) {
		/* Left unpinned: every link and `audit verify` say so, and
		 * the rest of the register works until it is restored. */
		*done = 0;
		return RK_OK;
	}
	st = integ_selfsvc_rebind(r);
	if (st != RK_OK)
		return st;
	audit_ev_set(&ev, r, AUD_REGISTER_UPGRADE, NULL, SELFSVC_BOUND, NULL,
		     "ok");
	return audit_write(r, &ev);
}

rk_status integ_selfsvc_open(rk_register *r)
{
	return open_once(r, ss_needs_bind, ss_bind_once);
}

/* ---- the tags of the pinned sums (integrity.h) ---- */

/* *need 1 when a sum is stored without its tag, or a set of erasures is
 * absent (a register from before the tags that never erased). Other
 * shapes are edits that the sum's readers report. */
static rk_status sums_need_tags(rk_register *r, int *need)
{
	static const struct {
		const char *name;
		int absent_needs; /* absent means empty, from before */
	} sums[] = {{META_SUBJECT_SET, 0},
		    {META_ERASURE_SET, 1},
		    {META_HELD_SET, 1},
		    {META_SELFSVC_SET, 0}};
	unsigned char buf[TAGGED_LEN];
	size_t i, len;
	int rc;

	*need = 0;
	for (i = 0; i < sizeof sums / sizeof sums[0]; i++) {
		len = 0;
		rc = r->st->vt->meta_get(r->st, sums[i].name, buf, sizeof buf,
					 &len);
		if (rc == STORE_NOTFOUND)
			*need |= sums[i].absent_needs;
		else if (rc == 0 && len == TAGGED_LEN)
			(void)sum_tag_ok(r, sums[i].name, buf);
		else if (rc == 0)
			*need |= len == SEC_HASH_BYTES;
		else if (len <= sizeof buf)
			return reg_store_fail(r, "cannot read the register");
	}
	return RK_OK;
}

/* A sum stored without its tag gets it, as it is; an absent set of
 * erasures or held records is written empty. */
static rk_status sum_tag_one(rk_register *r, const char *name, int absent_ok)
{
	unsigned char buf[TAGGED_LEN];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, name, buf, sizeof buf, &len);

	if (rc == STORE_NOTFOUND) {
		if (!absent_ok)
			return RK_OK;
		memset(buf, 0, SEC_HASH_BYTES);
	} else if (rc != 0) {
		return len > sizeof buf
			       ? RK_OK
			       : reg_store_fail(r, "cannot read the register");
	} else if (len != SEC_HASH_BYTES) {
		return RK_OK;
	}
	return sum_store(r, name, buf);
}

/* Tagged once only: tagging again would bless a sum an edit put back
 * without its tag. The trail says; a register whose trail shows the
 * tagging is left as it is (*done 0), and every use of such a sum reports
 * the edit. */
static rk_status sums_tag_once(rk_register *r, int *done)
{
	audit_ev ev;
	int tagged = 0;
	rk_status st;

	r->sums_tagged = 0;
	st = sums_tagged(r, &tagged);
	if (st != RK_OK)
		return st;
	if (tagged) {
		*done = 0;
		return RK_OK;
	}
	st = sum_tag_one(r, META_SUBJECT_SET, 0);
	if (st == RK_OK)
		st = sum_tag_one(r, META_ERASURE_SET, 1);
	if (st == RK_OK)
		st = sum_tag_one(r, META_HELD_SET, 1);
	if (st == RK_OK)
		st = sum_tag_one(r, META_SELFSVC_SET, 0);
	if (st == RK_OK)
		st = integ_cookies_retag(r);
	if (st != RK_OK)
		return st;
	audit_ev_set(&ev, r, AUD_REGISTER_UPGRADE, NULL, SUMS_TAGGED, NULL,
		     "ok");
	st = audit_write(r, &ev);
	if (st == RK_OK)
		r->sums_tagged = 1;
	return st;
}

rk_status integ_sums_bind(rk_register *r)
{
	int done = 1;

	return sums_tag_once(r, &done);
}

rk_status integ_sums_open(rk_register *r)
{
	return open_once(r, sums_need_tags, sums_tag_once);
}

/* ---- a backup's set of subjects (restore) ---- */

rk_status integ_set_check(rk_register *r, unsigned char sum[SEC_HASH_BYTES])
{
	unsigned char want[SEC_HASH_BYTES];
	rk_status st = set_load(r, want);

	if (st == RK_OK)
		st = set_sum(r, sum);
	if (st == RK_OK && sec_memcmp(want, sum, SEC_HASH_BYTES) != 0)
		st = altered(r, "the set of subjects");
	return st;
}

rk_status integ_set_sum(rk_register *r, unsigned char sum[SEC_HASH_BYTES])
{
	return set_sum(r, sum);
}

rk_status integ_cookies_verify(rk_register *r)
{
	struct cookie_check cc = {r, 0, 0};

	if (r->st->vt->cookie_walk(r->st, check_cookie, &cc) != 0 && !cc.bad)
		return reg_store_fail(r, "cannot read the identifiers");
	return cookies_checked(r, &cc);
}
