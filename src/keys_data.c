/*
 * keys_data.c: a subject's data as the key module sees it: every
 * ciphertext sealed with the subject's data key (to check that it opens, to
 * seal it again under a new key), the blind index rebuilt under a new index
 * key, and resumable re-encryption of the whole register under new data
 * keys.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "integrity.h"
#include "keys_int.h"
#include "register.h"
#include "store.h"

/* New blind indexes of one subject's lookup values, computed while
 * walking and stored after it. */
struct bidx_new {
	int64_t rowid;
	unsigned char h[SEC_BIDX_BYTES];
};

struct bidx_walk {
	rk_register *r;
	const unsigned char *dk, *ikey;
	const char *sid;
	struct bidx_new *u;
	size_t n, cap;
	rk_status st;
};

static int bidx_one(void *ud, const store_value *v)
{
	struct bidx_walk *w = ud;
	unsigned char *pt;
	size_t len;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct bidx_new *u = realloc(w->u, cap * sizeof *u);
		if (u == NULL) {
			w->st = reg_fail(w->r, RK_ESYS, "out of memory");
			return 1;
		}
		w->u = u;
		w->cap = cap;
	}
	w->st = reg_value_open(w->r, w->dk, w->sid, v, &pt, &len);
	if (w->st != RK_OK)
		return 1;
	/* The stored value is the normalised one that was indexed. */
	sec_blind_index(w->ikey, v->field, (const char *)pt, w->u[w->n].h);
	w->u[w->n++].rowid = v->rowid;
	sec_wipe(pt, len);
	free(pt);
	return 0;
}

rk_status keys_rebuild_bidx(rk_register *r, const store_subject *s,
			    const unsigned char *dk, const unsigned char *ikey)
{
	struct bidx_walk w;
	store_subject pinned = *s;
	rk_status st;

	/* The values' MAC digest covers their blind indexes: what is
	 * re-indexed must be what was bound, and is bound again after. */
	st = integ_values_verify(r, s);
	if (st != RK_OK)
		return st;
	memset(&w, 0, sizeof w);
	w.r = r;
	w.dk = dk;
	w.ikey = ikey;
	w.sid = s->id;
	w.st = RK_OK;
	if (r->st->vt->value_bidx_walk(r->st, s->id, bidx_one, &w) != 0)
		st = reg_store_fail(r, "cannot read the blind index");
	else
		st = w.st;
	for (size_t i = 0; st == RK_OK && i < w.n; i++)
		if (r->st->vt->value_set_bidx(r->st, w.u[i].rowid, w.u[i].h) !=
		    0)
			st = reg_store_fail(r,
					    "cannot rebuild the blind index");
	free(w.u);
	if (st == RK_OK)
		st = integ_subject_repin(r, &pinned);
	return st;
}

/* ---- every ciphertext of a subject ---- */

/* Where each kind of ciphertext lives and the associated data it was
 * sealed with: these must match subject.c (values: the field name),
 * record.c (records: "record:<type>"; attachment chunks:
 * "attachment:<record>:<seq>" and ":last" on the final one) and consent.c
 * (evidence). Any mismatch makes the checks below refuse (fail closed). */
#define AD_CAP		256
#define AD_EVIDENCE	"consent:evidence"
#define SUBJECT_CTS_MAX ((size_t)1 << 20)

struct ct_item {
	enum store_ct kind;
	int64_t id;  /* value rowid, record id, consent id; chunk: record */
	int64_t seq; /* chunk number */
	char ad[AD_CAP];
	unsigned char *ct;
	size_t len;
};

struct ct_list {
	rk_register *r;
	const char *sid;
	struct ct_item *v;
	size_t n, cap;
	rk_status st;
};

static void ct_list_free(struct ct_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].ct);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Appends a copy of ct; 1 (stop the walk) on failure. */
static int ct_add(struct ct_list *l, enum store_ct kind, int64_t id,
		  int64_t seq, const char *ad, const unsigned char *ct,
		  size_t len)
{
	struct ct_item *it;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ct_item *v = cap > SUBJECT_CTS_MAX
					    ? NULL
					    : realloc(l->v, cap * sizeof *v);
		if (v == NULL) {
			l->st = reg_fail(l->r, RK_ESYS, "out of memory");
			return 1;
		}
		l->v = v;
		l->cap = cap;
	}
	it = &l->v[l->n];
	memset(it, 0, sizeof *it);
	it->ct = malloc(len > 0 ? len : 1);
	if (it->ct == NULL) {
		l->st = reg_fail(l->r, RK_ESYS, "out of memory");
		return 1;
	}
	if (snprintf(it->ad, sizeof it->ad, "%s", ad) >= (int)sizeof it->ad) {
		free(it->ct);
		l->st = reg_fail(l->r, RK_EINTEGRITY,
				 "a stored name is too long");
		return 1;
	}
	if (len > 0)
		memcpy(it->ct, ct, len);
	it->kind = kind;
	it->id = id;
	it->seq = seq;
	it->len = len;
	l->n++;
	return 0;
}

static int ct_value(void *ud, const store_value *v)
{
	struct ct_list *l = ud;

	return ct_add(l, STORE_CT_VALUE, v->rowid, 0, v->field, v->ct,
		      v->ctlen);
}

static int ct_record(void *ud, const store_record *rec)
{
	struct ct_list *l = ud;
	char ad[AD_CAP];

	snprintf(ad, sizeof ad, "record:%s", rec->type);
	/* seq: whether the record has an attachment to walk afterwards */
	return ct_add(l, STORE_CT_RECORD, rec->id, rec->attachment_size >= 0,
		      ad, rec->ct, rec->ctlen);
}

static int ct_evidence(void *ud, const store_consent *c)
{
	struct ct_list *l = ud;

	if (c->evidence_ct == NULL)
		return 0;
	return ct_add(l, STORE_CT_EVIDENCE, c->id, 0, AD_EVIDENCE,
		      c->evidence_ct, c->evidence_len);
}

struct chunk_walk {
	struct ct_list *l;
	int64_t record;
};

static int ct_chunk(void *ud, int64_t seq, const unsigned char *ct, size_t len)
{
	struct chunk_walk *w = ud;
	char ad[AD_CAP];

	snprintf(ad, sizeof ad, "attachment:%" PRId64 ":%" PRId64, w->record,
		 seq);
	return ct_add(w->l, STORE_CT_CHUNK, w->record, seq, ad, ct, len);
}

/* Every ciphertext of subject sid, copied out of the store (so that the
 * caller may change rows afterwards). */
static rk_status subject_ciphertexts(rk_register *r, const char *sid,
				     struct ct_list *l)
{
	size_t nrec, i, first;
	struct chunk_walk w;

	memset(l, 0, sizeof *l);
	l->r = r;
	l->sid = sid;
	l->st = RK_OK;
	if (r->st->vt->value_list(r->st, sid, NULL, ct_value, l) != 0 ||
	    (l->st == RK_OK &&
	     r->st->vt->record_list(r->st, sid, NULL, ct_record, l) != 0) ||
	    (l->st == RK_OK &&
	     r->st->vt->consent_walk(r->st, sid, NULL, ct_evidence, l) != 0))
		return reg_store_fail(r, "cannot read a subject's data");
	if (l->st != RK_OK)
		return l->st;
	nrec = l->n;
	for (i = 0; i < nrec; i++) {
		if (l->v[i].kind != STORE_CT_RECORD || l->v[i].seq == 0)
			continue;
		l->v[i].seq = 0;
		w.l = l;
		w.record = l->v[i].id;
		first = l->n;
		if (r->st->vt->chunk_walk(r->st, w.record, ct_chunk, &w) != 0)
			return reg_store_fail(r, "cannot read an attachment");
		if (l->st != RK_OK)
			return l->st;
		/* The final chunk is marked, so a cut tail shows. */
		if (l->n > first) {
			size_t last = l->n - 1;
			size_t k = strlen(l->v[last].ad);
			if (k + sizeof ":last" > sizeof l->v[last].ad)
				return reg_fail(r, RK_EINTEGRITY,
						"an attachment is damaged");
			memcpy(l->v[last].ad + k, ":last", sizeof ":last");
		}
	}
	return RK_OK;
}

/* Opens one ciphertext into a new buffer (wipe and free it). */
static rk_status ct_open(rk_register *r, const unsigned char *dk,
			 const char *sid, const struct ct_item *it,
			 unsigned char **pt, size_t *len)
{
	*pt = NULL;
	*len = 0;
	if (it->len < SEC_SEAL_OVERHEAD)
		return reg_fail(r, RK_EINTEGRITY, "a stored value is damaged");
	*len = it->len - SEC_SEAL_OVERHEAD;
	*pt = malloc(*len + 1);
	if (*pt == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (sec_open(dk, sid, it->ad, it->ct, it->len, *pt) != 0) {
		free(*pt);
		*pt = NULL;
		return reg_fail(r, RK_EINTEGRITY,
				"a %s does not decrypt under its subject's "
				"key",
				it->kind == STORE_CT_VALUE    ? "value"
				: it->kind == STORE_CT_RECORD ? "record"
				: it->kind == STORE_CT_CHUNK
					? "attachment"
					: "consent's evidence");
	}
	return RK_OK;
}

rk_status keys_subject_decrypts(rk_register *r, const char *sid,
				const unsigned char *dk)
{
	struct ct_list l;
	unsigned char *pt;
	size_t len;
	rk_status st = subject_ciphertexts(r, sid, &l);

	for (size_t i = 0; st == RK_OK && i < l.n; i++) {
		st = ct_open(r, dk, sid, &l.v[i], &pt, &len);
		if (pt != NULL) {
			sec_wipe(pt, len);
			free(pt);
		}
	}
	ct_list_free(&l);
	return st;
}

rk_status keys_reseal_evidence(rk_register *r, const char *sid,
			       const unsigned char *dk,
			       const unsigned char *ldk)
{
	unsigned char *pt = NULL, *ct = NULL;
	struct ct_list l;
	size_t len = 0;
	rk_status st = RK_OK;

	memset(&l, 0, sizeof l);
	l.r = r;
	l.sid = sid;
	l.st = RK_OK;
	if (r->st->vt->consent_walk(r->st, sid, NULL, ct_evidence, &l) != 0)
		st = reg_store_fail(r, "cannot read the consent ledger");
	else
		st = l.st;
	for (size_t i = 0; st == RK_OK && i < l.n; i++) {
		if (ct_open(r, dk, sid, &l.v[i], &pt, &len) == RK_OK) {
			sec_wipe(pt, len);
			free(pt);
			pt = NULL;
			continue; /* sealed under dk already */
		}
		st = ct_open(r, ldk, sid, &l.v[i], &pt, &len);
		if (st != RK_OK)
			break;
		ct = malloc(len + SEC_SEAL_OVERHEAD);
		if (ct == NULL)
			st = reg_fail(r, RK_ESYS, "out of memory");
		else if (sec_seal(dk, sid, l.v[i].ad, pt, len, ct) != 0)
			st = reg_fail(r, RK_ESYS, "cannot seal evidence");
		else if (r->st->vt->ciphertext_set(
				 r->st, l.v[i].kind, l.v[i].id, 0, ct,
				 len + SEC_SEAL_OVERHEAD) != 0)
			st = reg_store_fail(r, "cannot store evidence");
		sec_wipe(pt, len);
		free(pt);
		pt = NULL;
		free(ct);
		ct = NULL;
	}
	ct_list_free(&l);
	return st;
}

/* ---- re-encryption under new data keys ---- */

#define META_REENCRYPT	"reencrypt_cursor"
#define REENCRYPT_BATCH 64

/* The subject gets a new data key: every ciphertext of it is opened with
 * the old key and sealed with the new one, and the new key is wrapped under
 * the master key, inside the caller's write. */
static rk_status reencrypt_subject(rk_register *r, const store_subject *sub)
{
	unsigned char w[SEC_WRAPPED_BYTES];
	unsigned char *dk = NULL, *nk = NULL, *pt = NULL, *ct = NULL;
	struct ct_list l;
	size_t len = 0;
	rk_status st;

	memset(&l, 0, sizeof l);
	/* Everything re-sealed is checked against its MACs first and bound
	 * again after, in the same write. */
	st = integ_subject_verify(r, sub->id);
	if (st == RK_OK)
		st = reg_subject_key(r, sub, &dk);
	if (st != RK_OK)
		return st;
	nk = sec_key_new();
	if (nk == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = subject_ciphertexts(r, sub->id, &l);
	for (size_t i = 0; st == RK_OK && i < l.n; i++) {
		st = ct_open(r, dk, sub->id, &l.v[i], &pt, &len);
		if (st != RK_OK)
			break;
		ct = malloc(len + SEC_SEAL_OVERHEAD);
		if (ct == NULL)
			st = reg_fail(r, RK_ESYS, "out of memory");
		else if (sec_seal(nk, sub->id, l.v[i].ad, pt, len, ct) != 0)
			st = reg_fail(r, RK_ESYS, "cannot seal a value");
		else if (r->st->vt->ciphertext_set(
				 r->st, l.v[i].kind, l.v[i].id, l.v[i].seq, ct,
				 len + SEC_SEAL_OVERHEAD) != 0)
			st = reg_store_fail(r, "cannot store a re-encrypted "
					       "value");
		sec_wipe(pt, len);
		free(pt);
		pt = NULL;
		free(ct);
		ct = NULL;
	}
	if (st != RK_OK)
		goto out;
	if (sec_wrap(r->mk, sub->id, nk, w) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot wrap a subject key");
		goto out;
	}
	if (r->st->vt->subject_set_key(r->st, sub->id, w) != 0) {
		st = reg_store_fail(r, "cannot store a subject key");
		goto out;
	}
	{
		store_subject bound = *sub;
		st = integ_subject_rebind(r, &bound);
	}
out:
	ct_list_free(&l);
	sec_key_free(dk);
	sec_key_free(nk);
	return st;
}

static int count_one(void *ud, const store_subject *s)
{
	(void)s;
	(*(uint64_t *)ud)++;
	return 0;
}

/* The cursor: the last subject re-encrypted ("" at the start), in *cur;
 * 0 when no re-encryption is under way. */
static int cursor_read(rk_register *r, char cur[RK_ID_LEN + 1], int *pending)
{
	unsigned char buf[RK_ID_LEN + 8];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, META_REENCRYPT, buf, sizeof buf,
				     &len);

	cur[0] = '\0';
	*pending = 0;
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != 0)
		return -1;
	/* "done", "start", or the last subject's id */
	if (len == RK_ID_LEN) {
		memcpy(cur, buf, RK_ID_LEN);
		cur[RK_ID_LEN] = '\0';
		*pending = 1;
	} else if (len == 5 && memcmp(buf, "start", 5) == 0) {
		*pending = 1;
	}
	return 0;
}

static int cursor_write(rk_register *r, const char *v)
{
	return r->st->vt->meta_set(r->st, META_REENCRYPT,
				   (const unsigned char *)v, strlen(v));
}

rk_status keys_reencrypt_reset(rk_register *r)
{
	unsigned char buf[RK_ID_LEN + 8];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, META_REENCRYPT, buf, sizeof buf,
				     &len);

	if (rc == STORE_NOTFOUND)
		return RK_OK;
	/* A restore brought subjects back under the backup's data keys: a
	 * re-encryption under way, or done, starts over for all of them. */
	if (rc != 0 || cursor_write(r, "start") != 0)
		return reg_store_fail(r, "cannot reset the re-encryption");
	return RK_OK;
}

rk_status rk_key_reencrypt(rk_register *r, int restart, rk_progress_fn fn,
			   void *ud)
{
	char cur[RK_ID_LEN + 1], what[64];
	store_subject *rows = NULL;
	uint64_t total = 0, done = 0;
	struct keys_page pg;
	rk_status st;
	int pending = 0, finished = 0;

	st = access_admin(r, AUD_KEY_REENCRYPT, "re-encrypt the register");
	if (st != RK_OK)
		return st;
	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk or group "
				"transaction "
				"first");
	rows = calloc(REENCRYPT_BATCH, sizeof *rows);
	if (rows == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	/* Where to start: a run interrupted before goes on where it
	 * stopped, unless restart asks for all subjects again. */
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	if (cursor_read(r, cur, &pending) != 0) {
		st = reg_store_fail(r, "cannot read the re-encryption state");
		goto out;
	}
	if (restart || !pending) {
		cur[0] = '\0';
		if (cursor_write(r, "start") != 0) {
			st = reg_store_fail(r, "cannot start re-encryption");
			goto out;
		}
	}
	if (r->st->vt->subject_list(r->st, NULL, NULL, 0, count_one, &total) !=
		    0 ||
	    (cur[0] != '\0' &&
	     r->st->vt->subject_list(r->st, NULL, NULL, 0, count_one, &done) !=
		     0)) {
		st = reg_store_fail(r, "cannot count subjects");
		goto out;
	}
	if (cur[0] != '\0') {
		uint64_t after = 0;
		if (r->st->vt->subject_list(r->st, NULL, cur, 0, count_one,
					    &after) != 0) {
			st = reg_store_fail(r, "cannot count subjects");
			goto out;
		}
		done -= after;
	}
	st = reg_write_commit(r, AUD_KEY_REENCRYPT, NULL,
			      cur[0] != '\0' ? "resumed" : "started", NULL);
	if (st != RK_OK)
		goto out;
	if (fn != NULL)
		fn(ud, done, total);
	/* A batch of subjects per transaction, the cursor moving with them,
	 * so a crash loses at most the batch under way. */
	while (!finished) {
		st = reg_begin_write(r);
		if (st != RK_OK)
			goto out;
		if (cursor_read(r, cur, &pending) != 0 || !pending) {
			st = pending ? reg_store_fail(r, "cannot read the "
							 "re-encryption state")
				     : reg_fail(r, RK_ESYS,
						"the re-encryption was "
						"restarted elsewhere");
			goto out;
		}
		pg.rows = rows;
		pg.n = 0;
		if (r->st->vt->subject_list(r->st, NULL, cur[0] ? cur : NULL,
					    REENCRYPT_BATCH, keys_collect,
					    &pg) != 0) {
			st = reg_store_fail(r, "cannot list subjects");
			goto out;
		}
		for (size_t i = 0; st == RK_OK && i < pg.n; i++)
			st = reencrypt_subject(r, &rows[i]);
		if (st != RK_OK)
			goto out;
		finished = pg.n < REENCRYPT_BATCH;
		if (cursor_write(r, finished ? "done" : rows[pg.n - 1].id) !=
		    0) {
			st = reg_store_fail(r, "cannot store the re-encryption "
					       "state");
			goto out;
		}
		snprintf(what, sizeof what, "subjects:%zu%s", pg.n,
			 finished ? ",complete" : "");
		st = reg_write_commit(r, AUD_KEY_REENCRYPT, NULL, what, NULL);
		if (st != RK_OK)
			goto out;
		done += pg.n;
		if (fn != NULL)
			fn(ud, done, total);
	}
out:
	if (r->in_write)
		reg_rollback(r);
	if (st != RK_OK)
		reg_audit_attempt(r, AUD_KEY_REENCRYPT, NULL, NULL, st);
	free(rows);
	return st;
}

int rk_key_reencrypt_pending(rk_register *r)
{
	char cur[RK_ID_LEN + 1];
	int pending = 0;

	return cursor_read(r, cur, &pending) == 0 && pending;
}
