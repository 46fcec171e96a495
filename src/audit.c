/*
 * audit.c: the hash-chained audit trail. Each entry's hash is a keyed
 * BLAKE2b over the previous hash and the entry's own length-prefixed
 * members, so an entry edited, removed or moved breaks the chain at that
 * point, and nobody without the register's audit key can forge a new chain.
 * Writes append their entry inside their own transaction; reads queue theirs
 * and commit them in groups (see rekisteri.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ajournal.h"
#include "crypto.h"
#include "register.h"
#include "store.h"

#define AUDIT_MSG_MAX 4096
/* The head of the chain, kept beside it under a MAC so that a trail that
 * was emptied, cut or swapped for an older one does not verify. */
#define HEAD_BYTES (8 + 2 * SEC_HASH_BYTES)
/* A journal record: length, magic, number, then the entry's members, then
 * a MAC bound to the journal's id. */
#define JREC_MAGIC "RKJ1"
/* meta "audit_journal_taken:<id>": journals taken in from stopped
 * processes (rare), so that a copy put back is not counted again. */
#define META_JOURNAL_TAKEN "audit_journal_taken:"

static void copy_bounded(char *dst, size_t cap, const char *src)
{
	size_t n = src == NULL ? 0 : strlen(src);

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The stored name of action: the table's, or for an objection of the
 * policy's "object.NAME" or "object.NAME.lift". */
static void spell_action(char *out, size_t cap, const rk_register *r,
			 audit_action action)
{
	size_t oi;
	int lift;

	if (audit_objection_of(action, &oi, &lift) && r->pol != NULL &&
	    oi < r->pol->nobjections) {
		snprintf(out, cap, "object.%s%s", r->pol->objections[oi].name,
			 lift ? ".lift" : "");
		return;
	}
	copy_bounded(out, cap, audit_action_name(action));
}

void audit_ev_set(audit_ev *ev, const rk_register *r, audit_action action,
		  const char *subject, const char *fields, const char *purpose,
		  const char *outcome)
{
	ev->at_us = reg_now_us(r);
	copy_bounded(ev->actor, sizeof ev->actor, r->actor);
	spell_action(ev->action, sizeof ev->action, r, action);
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

/* v in decimal as "%" PRId64 writes it, NUL-terminated, into out (at
 * least 21 bytes); its length. Every entry formats two numbers for its
 * hash and one for its journal record: snprintf's format parsing was a
 * tenth of a look-up's own cost. */
static size_t dec_i64(char *out, int64_t v)
{
	/* Two digits a division: a time in microseconds has sixteen. */
	static const char pairs[] = "00010203040506070809"
				    "10111213141516171819"
				    "20212223242526272829"
				    "30313233343536373839"
				    "40414243444546474849"
				    "50515253545556575859"
				    "60616263646566676869"
				    "70717273747576777879"
				    "80818283848586878889"
				    "90919293949596979899";
	char tmp[20];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t p = sizeof tmp, len = 0, n;

	while (u >= 100) {
		size_t k = (size_t)(u % 100) * 2;
		u /= 100;
		tmp[--p] = pairs[k + 1];
		tmp[--p] = pairs[k];
	}
	if (u >= 10) {
		tmp[--p] = pairs[u * 2 + 1];
		tmp[--p] = pairs[u * 2];
	} else {
		tmp[--p] = (char)('0' + u);
	}
	if (v < 0)
		out[len++] = '-';
	n = sizeof tmp - p;
	memcpy(out + len, tmp + p, n);
	len += n;
	out[len] = '\0';
	return len;
}

/* The entry's hash from its members and a.prev; -1 if it is oversized. */
static int entry_hash(const unsigned char *akey, sec_kst **ks,
		      const store_audit *a, unsigned char out[SEC_HASH_BYTES])
{
	unsigned char msg[AUDIT_MSG_MAX];
	char num[48];
	size_t off = 0, n;

	/* "seq:at_us" */
	n = dec_i64(num, a->seq);
	num[n++] = ':';
	dec_i64(num + n, a->at_us);
	if (put_str(msg, &off, num) != 0 || put_str(msg, &off, a->actor) != 0 ||
	    put_str(msg, &off, a->action) != 0 ||
	    put_str(msg, &off, a->subject) != 0 ||
	    put_str(msg, &off, a->fields) != 0 ||
	    put_str(msg, &off, a->purpose) != 0 ||
	    put_str(msg, &off, a->outcome) != 0)
		return -1;
	sec_chain_ks(ks, akey, a->prev, msg, off, out);
	return 0;
}

static const char *or_null(const char *s)
{
	return s[0] == '\0' ? NULL : s;
}

static rk_status load_head(rk_register *r);

static rk_status append_one(rk_register *r, const audit_ev *ev)
{
	store_audit a;

	memset(&a, 0, sizeof a);
	if (!r->head_valid) {
		rk_status st = load_head(r);
		if (st != RK_OK)
			return st;
	}
	a.seq = r->head_seq + 1;
	memcpy(a.prev, r->head_hash, SEC_HASH_BYTES);
	a.at_us = ev->at_us;
	a.actor = ev->actor;
	a.action = ev->action;
	a.subject = or_null(ev->subject);
	a.fields = or_null(ev->fields);
	a.purpose = or_null(ev->purpose);
	a.outcome = ev->outcome;
	if (entry_hash(r->akey, &r->kst_akey, &a, a.hash) != 0)
		return reg_fail(r, RK_ESYS, "an audit entry is too large");
	if (r->st->vt->audit_append(r->st, &a) != 0) {
		r->head_valid = 0;
		return reg_store_fail(r, "cannot append to the audit trail");
	}
	r->head_seq = a.seq;
	memcpy(r->head_hash, a.hash, SEC_HASH_BYTES);
	r->head_dirty = 1;
	return RK_OK;
}

/* ---- speed: a chunk of queued entries in one store call ---- */

/* n entries of evs chained on the head as n append_one calls would chain
 * them; the head moves only when the store took them all. */
static rk_status append_many(rk_register *r, const audit_ev *evs, size_t n)
{
	store_audit a[STORE_AUDIT_MANY];
	size_t i;

	if (n > STORE_AUDIT_MANY)
		return reg_fail(r, RK_ESYS, "too many audit entries at once");
	if (!r->head_valid) {
		rk_status st = load_head(r);
		if (st != RK_OK)
			return st;
	}
	memset(a, 0, sizeof a);
	for (i = 0; i < n; i++) {
		a[i].seq = r->head_seq + 1 + (int64_t)i;
		memcpy(a[i].prev, i == 0 ? r->head_hash : a[i - 1].hash,
		       SEC_HASH_BYTES);
		a[i].at_us = evs[i].at_us;
		a[i].actor = evs[i].actor;
		a[i].action = evs[i].action;
		a[i].subject = or_null(evs[i].subject);
		a[i].fields = or_null(evs[i].fields);
		a[i].purpose = or_null(evs[i].purpose);
		a[i].outcome = evs[i].outcome;
		if (entry_hash(r->akey, &r->kst_akey, &a[i], a[i].hash) != 0)
			return reg_fail(r, RK_ESYS,
					"an audit entry is too large");
	}
	if (r->st->vt->audit_append_many(r->st, a, n) != 0) {
		r->head_valid = 0;
		return reg_store_fail(r, "cannot append to the audit trail");
	}
	r->head_seq = a[n - 1].seq;
	memcpy(r->head_hash, a[n - 1].hash, SEC_HASH_BYTES);
	r->head_dirty = 1;
	return RK_OK;
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void head_mac(rk_register *r, const unsigned char *head,
		     unsigned char out[SEC_HASH_BYTES])
{
	static const char what[] = "rekisteri audit head";
	unsigned char msg[sizeof what + 8];

	memcpy(msg, what, sizeof what);
	memcpy(msg + sizeof what, head, 8);
	sec_chain_ks(&r->kst_akey, r->akey, head + 8, msg, sizeof msg, out);
}

rk_status audit_keep_head(rk_register *r)
{
	unsigned char head[HEAD_BYTES];

	if (!r->head_dirty)
		return RK_OK;
	put_u64(head, (uint64_t)r->head_seq);
	memcpy(head + 8, r->head_hash, SEC_HASH_BYTES);
	head_mac(r, head, head + 8 + SEC_HASH_BYTES);
	if (r->st->vt->meta_set(r->st, META_HEAD, head, sizeof head) != 0)
		return reg_store_fail(r, "cannot keep the audit head");
	r->head_dirty = 0;
	return RK_OK;
}

/* The chain's head for the open write: the one the register kept, so that
 * a trail cut at its end stays cut (the next entry leaves a gap that verify
 * reports) instead of a write making its new end look whole. A kept head
 * that is missing or altered refuses the write. Only a register that never
 * had one (a new register, or one written before heads were kept, at its
 * one-time upgrade: r->head_adopt) takes the trail's last entry. */
static rk_status load_head(rk_register *r)
{
	unsigned char head[2 * HEAD_BYTES], mac[SEC_HASH_BYTES];
	size_t len = 0;
	int rc;

	rc = r->st->vt->meta_get(r->st, META_HEAD, head, sizeof head, &len);
	if (rc == 0) {
		head_mac(r, head, mac);
		if (len != HEAD_BYTES ||
		    sec_memcmp(mac, head + 8 + SEC_HASH_BYTES,
			       SEC_HASH_BYTES) != 0)
			return reg_fail(r, RK_EINTEGRITY,
					"the register's record of where the "
					"audit trail ends was altered: nothing "
					"was written; see rekisteri audit "
					"verify");
		r->head_seq = (int64_t)get_u64(head);
		memcpy(r->head_hash, head + 8, SEC_HASH_BYTES);
		r->head_valid = 1;
		return RK_OK;
	}
	if (rc != STORE_NOTFOUND)
		return reg_store_fail(r, "cannot read the audit head");
	if (!r->head_adopt)
		return reg_fail(r, RK_EINTEGRITY,
				"the register's record of where the audit "
				"trail ends is missing: nothing was written; "
				"see rekisteri audit verify");
	return audit_adopt_trail(r);
}

int64_t audit_next_seq(rk_register *r)
{
	char saved[REG_ERR_MAX];

	/* A head that does not load fails the write at its audit entry;
	 * here it only means no lower bound. */
	if (!r->head_valid) {
		memcpy(saved, r->err, sizeof saved);
		if (load_head(r) != RK_OK) {
			memcpy(r->err, saved, sizeof saved);
			return 0;
		}
	}
	return r->head_seq + 1;
}

rk_status audit_kept_seq(rk_register *r, int64_t *seq)
{
	unsigned char head[2 * HEAD_BYTES], mac[SEC_HASH_BYTES];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, META_HEAD, head, sizeof head, &len);

	*seq = 0;
	if (rc != 0 && rc != STORE_NOTFOUND)
		return reg_store_fail(r, "cannot read the audit head");
	if (rc == STORE_NOTFOUND)
		return RK_OK; /* audit verify reports a missing head */
	head_mac(r, head, mac);
	if (len != HEAD_BYTES ||
	    sec_memcmp(mac, head + 8 + SEC_HASH_BYTES, SEC_HASH_BYTES) != 0)
		return reg_fail(r, RK_EINTEGRITY,
				"the register's record of where the audit "
				"trail ends was altered");
	*seq = (int64_t)get_u64(head);
	return RK_OK;
}

rk_status audit_adopt_trail(rk_register *r)
{
	store_audit last;
	int rc = r->st->vt->audit_last(r->st, &last);

	if (rc == STORE_NOTFOUND) {
		r->head_seq = 0;
		memset(r->head_hash, 0, SEC_HASH_BYTES);
	} else if (rc == 0) {
		r->head_seq = last.seq;
		memcpy(r->head_hash, last.hash, SEC_HASH_BYTES);
	} else {
		return reg_store_fail(r, "cannot read the audit trail");
	}
	r->head_valid = 1;
	r->head_dirty = 1;
	return RK_OK;
}

/* ---- segments: the chain key rotates ---------------------------------------
 *
 * Each key rotation starts a new segment of the chain under a fresh audit
 * key. Entries keep the key they were written under; the keys of earlier
 * segments are kept sealed under the current one (meta "audit_segments":
 * the current segment's first entry, then each earlier segment's first
 * entry and key). Whoever has an old audit key (an old master key and an
 * old backup) can at most rewrite entries of its own segment, and the next
 * segment's first entry, chained under a key they never had, gives that
 * away.
 */

#define META_SEGMENTS	 "audit_segments"
#define SEG_SEAL_SUBJECT "register"
#define SEG_SEAL_FIELD	 "audit-segments"
#define SEG_MAX		 256
#define SEG_ENTRY	 (8 + SEC_KEY_BYTES)

typedef struct segments {
	int64_t current_from; /* first entry under r->akey (1: no rotation) */
	size_t n;
	int64_t from[SEG_MAX];
	unsigned char *keys; /* n * SEC_KEY_BYTES, guarded */
} segments;

static void segments_free(segments *sg)
{
	if (sg->keys != NULL)
		sec_buf_free(sg->keys);
	memset(sg, 0, sizeof *sg);
}

/* Loads the earlier segments' keys, opened with the current key. */
static rk_status segments_load(rk_register *r, segments *sg)
{
	unsigned char *ct = NULL, *pt = NULL;
	size_t len = 0, cap = 8 + 4 + SEG_MAX * SEG_ENTRY + SEC_SEAL_OVERHEAD;
	rk_status st = RK_OK;
	uint32_t n;
	int rc;

	memset(sg, 0, sizeof *sg);
	sg->current_from = 1;
	ct = malloc(cap);
	sg->keys = sec_buf_alloc(SEG_MAX * SEC_KEY_BYTES);
	pt = sec_buf_alloc(cap);
	if (ct == NULL || sg->keys == NULL || pt == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	rc = r->st->vt->meta_get(r->st, META_SEGMENTS, ct, cap, &len);
	if (rc == STORE_NOTFOUND)
		goto out;
	if (rc != 0) {
		st = reg_store_fail(r, "cannot read the audit key segments");
		goto out;
	}
	if (len < SEC_SEAL_OVERHEAD + 12 ||
	    sec_open(r->akey, SEG_SEAL_SUBJECT, SEG_SEAL_FIELD, ct, len, pt) !=
		    0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the keys of the audit trail's earlier segments "
			      "do not open: the database was altered");
		goto out;
	}
	len -= SEC_SEAL_OVERHEAD;
	sg->current_from = (int64_t)get_u64(pt);
	n = (uint32_t)pt[8] << 24 | (uint32_t)pt[9] << 16 |
	    (uint32_t)pt[10] << 8 | pt[11];
	if (n > SEG_MAX || len != 12 + (size_t)n * SEG_ENTRY) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the audit key segments are malformed");
		goto out;
	}
	sg->n = n;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *e = pt + 12 + i * SEG_ENTRY;
		sg->from[i] = (int64_t)get_u64(e);
		memcpy(sg->keys + i * SEC_KEY_BYTES, e + 8, SEC_KEY_BYTES);
	}
out:
	free(ct);
	if (pt != NULL)
		sec_buf_free(pt);
	if (st != RK_OK)
		segments_free(sg);
	return st;
}

/* The key entry seq was written under. */
static const unsigned char *segment_key(const rk_register *r,
					const segments *sg, int64_t seq)
{
	const unsigned char *k = NULL;

	if (seq >= sg->current_from)
		return r->akey;
	/* segments are in order of their first entries */
	for (size_t i = 0; i < sg->n; i++)
		if (sg->from[i] <= seq)
			k = sg->keys + i * SEC_KEY_BYTES;
	return k;
}

int audit_key_known(rk_register *r, const unsigned char *key)
{
	segments sg;
	int known = sec_memcmp(key, r->akey, SEC_KEY_BYTES) == 0;

	if (known || segments_load(r, &sg) != RK_OK)
		return known;
	for (size_t i = 0; i < sg.n && !known; i++)
		known = sec_memcmp(key, sg.keys + i * SEC_KEY_BYTES,
				   SEC_KEY_BYTES) == 0;
	segments_free(&sg);
	return known;
}

rk_status audit_rotate_key(rk_register *r, const unsigned char *kek)
{
	segments sg;
	unsigned char w[SEC_WRAPPED_BYTES];
	unsigned char *nk = NULL, *pt = NULL, *ct = NULL;
	size_t ptlen = 0, cap = 8 + 4 + SEG_MAX * SEG_ENTRY;
	rk_status st;

	memset(&sg, 0, sizeof sg);
	if (!r->in_write || r->bulk || r->akey_prev != NULL)
		return reg_fail(r, RK_ESYS,
				"the audit key rotates inside a rotation only");
	st = segments_load(r, &sg);
	if (st != RK_OK)
		return st;
	if (sg.n + 1 > SEG_MAX) {
		st = reg_fail(r, RK_EINVAL,
			      "the audit trail has had %d key rotations, the "
			      "most it keeps",
			      SEG_MAX);
		goto out;
	}
	/* The head as it stands is the last entry of the old segment. */
	if (!r->head_valid) {
		st = load_head(r);
		if (st != RK_OK)
			goto out;
	}
	nk = sec_key_new();
	pt = sec_buf_alloc(cap);
	ct = malloc(cap + SEC_SEAL_OVERHEAD);
	if (nk == NULL || pt == NULL || ct == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	put_u64(pt, (uint64_t)(r->head_seq + 1));
	ptlen = 12;
	for (size_t i = 0; i <= sg.n; i++) {
		const unsigned char *k =
			i < sg.n ? sg.keys + i * SEC_KEY_BYTES : r->akey;
		put_u64(pt + ptlen,
			(uint64_t)(i < sg.n ? sg.from[i] : sg.current_from));
		memcpy(pt + ptlen + 8, k, SEC_KEY_BYTES);
		ptlen += SEG_ENTRY;
	}
	pt[8] = (unsigned char)((sg.n + 1) >> 24);
	pt[9] = (unsigned char)((sg.n + 1) >> 16);
	pt[10] = (unsigned char)((sg.n + 1) >> 8);
	pt[11] = (unsigned char)(sg.n + 1);
	if (sec_seal(nk, SEG_SEAL_SUBJECT, SEG_SEAL_FIELD, pt, ptlen, ct) !=
		    0 ||
	    sec_wrap(kek, AD_AUDIT_KEY, nk, w) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot seal the audit keys");
		goto out;
	}
	if (r->st->vt->meta_set(r->st, META_SEGMENTS, ct,
				ptlen + SEC_SEAL_OVERHEAD) != 0 ||
	    r->st->vt->meta_set(r->st, META_AUDIT_KEY, w, sizeof w) != 0) {
		st = reg_store_fail(r, "cannot store the audit keys");
		goto out;
	}
	/* From the next entry on, and for the head, the new key. */
	r->akey_prev = r->akey;
	r->akey = nk;
	nk = NULL;
	r->head_dirty = 1;
out:
	sec_key_free(nk);
	if (pt != NULL)
		sec_buf_free(pt);
	free(ct);
	segments_free(&sg);
	return st;
}

/* ---- the journal of read entries ------------------------------------------
 */

/* The MAC of a record binds it to its journal, so records cannot be moved
 * between journals or made up without the audit key. */
static void jrec_mac(const unsigned char *akey, sec_kst **ks, const char *jid,
		     const unsigned char *body, size_t len,
		     unsigned char out[SEC_HASH_BYTES])
{
	unsigned char bind[SEC_HASH_BYTES];

	memset(bind, 0, sizeof bind);
	memcpy(bind, jid,
	       strlen(jid) < sizeof bind ? strlen(jid) : sizeof bind);
	sec_chain_ks(ks, akey, bind, body, len, out);
}

/* Encodes ev as a journal record into out; its length, or 0 if too big. */
static size_t jrec_encode(rk_register *r, const audit_ev *ev, uint64_t n,
			  unsigned char *out, size_t cap)
{
	char at[24];
	size_t off = 4 + 4 + 8;

	_Static_assert(AJ_REC_MAX >= 16 + AUDIT_MSG_MAX + SEC_HASH_BYTES,
		       "a journal record holds any entry");
	if (cap < AJ_REC_MAX)
		return 0;
	memcpy(out + 4, JREC_MAGIC, 4);
	put_u64(out + 8, n);
	dec_i64(at, ev->at_us);
	/* put_str bounds the members to AUDIT_MSG_MAX past the header. */
	{
		unsigned char *m = out + off;
		size_t moff = 0;
		if (put_str(m, &moff, at) != 0 ||
		    put_str(m, &moff, ev->actor) != 0 ||
		    put_str(m, &moff, ev->action) != 0 ||
		    put_str(m, &moff, ev->subject) != 0 ||
		    put_str(m, &moff, ev->fields) != 0 ||
		    put_str(m, &moff, ev->purpose) != 0 ||
		    put_str(m, &moff, ev->outcome) != 0)
			return 0;
		off += moff;
	}
	jrec_mac(r->akey, &r->kst_akey, ajournal_id(r->aj), out + 4, off - 4,
		 out + off);
	off += SEC_HASH_BYTES;
	out[0] = (unsigned char)(off >> 24);
	out[1] = (unsigned char)(off >> 16);
	out[2] = (unsigned char)(off >> 8);
	out[3] = (unsigned char)off;
	return off;
}

/* Reads one length-prefixed member into dst (cap bytes with its NUL). */
static int get_str(const unsigned char *p, size_t len, size_t *off, char *dst,
		   size_t cap)
{
	uint32_t n;

	if (*off + 4 > len)
		return -1;
	n = (uint32_t)p[*off] << 24 | (uint32_t)p[*off + 1] << 16 |
	    (uint32_t)p[*off + 2] << 8 | p[*off + 3];
	*off += 4;
	if (n == UINT32_MAX)
		n = 0;
	if (n >= cap || *off + n > len)
		return -1;
	memcpy(dst, p + *off, n);
	dst[n] = '\0';
	*off += n;
	return 0;
}

/* Decodes the members of a record whose MAC was checked. */
static int jrec_decode(const unsigned char *m, size_t len, audit_ev *ev)
{
	char at[24];
	size_t off = 0;
	char *end = NULL;

	memset(ev, 0, sizeof *ev);
	if (get_str(m, len, &off, at, sizeof at) != 0 ||
	    get_str(m, len, &off, ev->actor, sizeof ev->actor) != 0 ||
	    get_str(m, len, &off, ev->action, sizeof ev->action) != 0 ||
	    get_str(m, len, &off, ev->subject, sizeof ev->subject) != 0 ||
	    get_str(m, len, &off, ev->fields, sizeof ev->fields) != 0 ||
	    get_str(m, len, &off, ev->purpose, sizeof ev->purpose) != 0 ||
	    get_str(m, len, &off, ev->outcome, sizeof ev->outcome) != 0 ||
	    off != len)
		return -1;
	errno = 0;
	ev->at_us = strtoll(at, &end, 10);
	return errno != 0 || end == at || *end != '\0' ? -1 : 0;
}

/* Where the handle's audit journal lives: beside the database file, or
 * for a PostgreSQL register (no file of its own) beside the key file. */
static const char *journal_base(const rk_register *r)
{
	return store_is_url(r->db_path) ? r->key_path : r->db_path;
}

/* Writes ev to the handle's journal, creating it on first use. */
static rk_status journal_put(rk_register *r, const audit_ev *ev)
{
	unsigned char rec[AJ_REC_MAX];
	char err[REG_ERR_MAX];
	size_t len;

	if (r->aj == NULL) {
		r->aj = ajournal_create(journal_base(r), err, sizeof err);
		if (r->aj == NULL)
			return reg_fail(r, RK_ESYS, "%s", err);
	}
	len = jrec_encode(r, ev, r->jseq + 1, rec, sizeof rec);
	if (len == 0)
		return reg_fail(r, RK_ESYS, "an audit entry is too large");
	if (ajournal_append(r->aj, rec, len) != 0)
		return reg_fail(r, RK_ESYS,
				"cannot write the audit journal (%s): nothing "
				"was read",
				strerror(errno));
	r->jseq++;
	return RK_OK;
}

void audit_journal_settled(rk_register *r)
{
	/* Every entry the journal holds is in the chain now. A failure here
	 * only means the entries would be taken in twice after a crash. */
	if (r->aj != NULL && r->nqueue == 0 && ajournal_truncate(r->aj) == 0)
		r->jseq = 0; /* an emptied journal numbers from 1 again */
}

/* Whether the record at rec (rl bytes) was written under the current audit
 * key or, before a rotation, under an earlier one. */
static int jrec_authentic(rk_register *r, const segments *sg, const char *jid,
			  const unsigned char *rec, size_t rl)
{
	unsigned char mac[SEC_HASH_BYTES];
	size_t blen = rl - 4 - SEC_HASH_BYTES;

	for (size_t i = 0; i <= sg->n; i++) {
		const unsigned char *k =
			i == 0 ? r->akey : sg->keys + (i - 1) * SEC_KEY_BYTES;
		jrec_mac(k, NULL, jid, rec + 4, blen, mac);
		if (sec_memcmp(mac, rec + rl - SEC_HASH_BYTES,
			       SEC_HASH_BYTES) == 0)
			return 1;
	}
	return 0;
}

struct orphan_state {
	rk_register *r;
	rk_status st;
};

/* Takes an orphan journal's entries into the chain in one transaction. An
 * entry that does not authenticate, or a gap in the numbers, is reported
 * by an entry of its own; a torn last record (a crash mid-write) is not. */
static int import_orphan(void *ud, const char *jid, const unsigned char *data,
			 size_t len)
{
	struct orphan_state *os = ud;
	rk_register *r = os->r;
	segments sg;
	const char *damage = NULL;
	char seen[sizeof META_JOURNAL_TAKEN + AJ_ID_HEX + 1];
	unsigned char flag[1] = {1};
	uint64_t want = 1, n;
	size_t off = 0, rl, flen = 0;
	int rc, gap = 0;
	audit_ev ev;
	rk_status st;

	memset(&sg, 0, sizeof sg);
	st = reg_begin_write(r);
	if (st == RK_OK)
		st = segments_load(r, &sg);
	if (st != RK_OK)
		goto out;
	/* A journal is taken in once: a copy put back is reported, not
	 * counted twice. */
	if (snprintf(seen, sizeof seen, "%s%s", META_JOURNAL_TAKEN, jid) < 0 ||
	    (rc = r->st->vt->meta_get(r->st, seen, flag, sizeof flag, &flen)) ==
		    STORE_ERR) {
		st = reg_store_fail(r, "cannot read the journals taken in");
		goto out;
	}
	if (rc == 0) {
		damage = "a journal taken in before was put back";
		len = 0;
	} else if (r->st->vt->meta_set(r->st, seen, flag, 1) != 0) {
		st = reg_store_fail(r, "cannot record the journal taken in");
		goto out;
	}
	while (off + 4 <= len) {
		rl = (size_t)data[off] << 24 | (size_t)data[off + 1] << 16 |
		     (size_t)data[off + 2] << 8 | data[off + 3];
		if (rl == 0 || rl > len - off)
			break; /* the end, or a torn tail */
		if (rl < 16 + SEC_HASH_BYTES || rl > AJ_REC_MAX ||
		    memcmp(data + off + 4, JREC_MAGIC, 4) != 0) {
			damage = "a journal record is malformed";
			break;
		}
		if (!jrec_authentic(r, &sg, jid, data + off, rl) ||
		    jrec_decode(data + off + 16, rl - 16 - SEC_HASH_BYTES,
				&ev) != 0) {
			damage = "a journal record does not authenticate";
			break;
		}
		/* Numbered from 1 since the journal was last emptied: a
		 * record missing at the front shows as well as one inside. */
		n = get_u64(data + off + 8);
		if (n != want)
			gap = 1; /* reported below; what authenticates counts */
		want = n + 1;
		st = audit_write(r, &ev);
		if (st != RK_OK)
			goto out;
		off += rl;
	}
	if (damage == NULL && gap)
		damage = "journal records are missing";
	if (damage != NULL) {
		audit_ev_set(&ev, r, AUD_AUDIT_JOURNAL, NULL, NULL, NULL,
			     "integrity");
		st = audit_write(r, &ev);
		if (st != RK_OK)
			goto out;
	}
	st = audit_commit(r);
out:
	reg_txn_rollback(r);
	segments_free(&sg);
	os->st = st;
	return st != RK_OK;
}

rk_status audit_take_orphans(rk_register *r)
{
	struct orphan_state os = {r, RK_OK};
	int kept;

	if (journal_base(r)[0] == '\0' || r->bulk || r->group)
		return RK_OK;
	kept = ajournal_orphans(journal_base(r), import_orphan, &os);
	if (kept < 0)
		return reg_fail(r, RK_ESYS,
				"cannot read the folder of the database");
	if (kept > 0)
		return os.st != RK_OK
			       ? os.st
			       : reg_fail(r, RK_ESYS,
					  "an audit journal left by a "
					  "stopped process cannot be read");
	return RK_OK;
}

rk_status audit_carry_queue(rk_register *r)
{
	rk_status st;

	/* Whole chunks in one statement each (audit_append_many), the rest
	 * one by one: the same entries, hashes and order either way. */
	while (r->nqueue - r->nqueue_in_txn >= STORE_AUDIT_MANY) {
		st = append_many(r, &r->queue[r->nqueue_in_txn],
				 STORE_AUDIT_MANY);
		if (st != RK_OK)
			return st;
		r->nqueue_in_txn += STORE_AUDIT_MANY;
	}
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
	st = audit_carry_queue(r);
	if (st != RK_OK)
		return st;
	return append_one(r, ev);
}

rk_status audit_flush(rk_register *r)
{
	rk_status st;

	char kid_before[SEC_KEYID_HEX + 1], kid_after[SEC_KEYID_HEX + 1];

	if (r->nqueue == 0)
		return RK_OK;
	sec_key_id(r->mk, kid_before);
	st = reg_begin_write(r);
	if (st == RK_OK) {
		st = audit_carry_queue(r);
		if (st == RK_OK)
			st = audit_commit(r);
		else
			reg_txn_rollback(r);
	}
	/* A failure that took a new master key is worth trying again at
	 * once; any other is not. */
	sec_key_id(r->mk, kid_after);
	r->flush_failed = st != RK_OK && strcmp(kid_before, kid_after) == 0;
	return st;
}

/* Entries leave the queue only when a transaction that carries them
 * commits, which inside a bulk transaction is its end: so the queue grows
 * instead of having a ceiling. */
static rk_status queue_push(rk_register *r, const audit_ev *ev)
{
	if (r->nqueue == r->queue_cap) {
		unsigned cap = r->queue_cap ? r->queue_cap * 2 : 64;
		audit_ev *q = cap > r->queue_cap
				      ? realloc(r->queue, cap * sizeof *q)
				      : NULL;
		if (q == NULL)
			return reg_fail(r, RK_ESYS,
					"out of memory for audit entries");
		r->queue = q;
		r->queue_cap = cap;
	}
	r->queue[r->nqueue++] = *ev;
	return RK_OK;
}

/* Whether a read's entry is committed before its data leaves (batch 1
 * outside a bulk transaction); otherwise it goes to the journal first. */
static int strict(const rk_register *r)
{
	/* Inside a group too: its reads hand out data before it commits. */
	return r->audit_batch <= 1 && !r->bulk && !r->group;
}

rk_status audit_read_begin(rk_register *r, unsigned *mark)
{
	rk_status st = RK_OK;

	/* A full batch is committed before another read may hand anything
	 * out: a register whose trail cannot be written stops reading
	 * after at most one batch, every entry of which is in the journal. */
	if (!r->bulk && !r->group && r->nqueue >= r->audit_batch)
		st = audit_flush(r);
	*mark = r->nqueue;
	return st;
}

rk_status audit_queue(rk_register *r, const audit_ev *ev)
{
	rk_status st;

	if (!strict(r)) {
		st = journal_put(r, ev);
		if (st != RK_OK)
			return st;
	}
	return queue_push(r, ev);
}

rk_status audit_read_end(rk_register *r, unsigned mark)
{
	char saved[REG_ERR_MAX];
	rk_status st;

	if (!strict(r) || r->nqueue == mark)
		return RK_OK;
	st = audit_flush(r);
	if (st == RK_OK)
		return RK_OK;
	/* Nothing will be handed out: the entries say so, and wait in the
	 * journal for a write that can take them. */
	memcpy(saved, r->err, sizeof saved);
	for (unsigned i = mark; i < r->nqueue; i++) {
		snprintf(r->queue[i].outcome, sizeof r->queue[i].outcome,
			 "unaudited");
		(void)journal_put(r, &r->queue[i]);
	}
	memcpy(r->err, saved, sizeof saved);
	return st;
}

rk_status audit_read(rk_register *r, const audit_ev *ev)
{
	unsigned mark;
	rk_status st;

	st = audit_read_begin(r, &mark);
	if (st == RK_OK)
		st = audit_queue(r, ev);
	if (st == RK_OK)
		st = audit_read_end(r, mark);
	return st;
}

/* A self-service link's successful open, by the keyed ID its entry names
 * in fields. A link opens once: a second entry naming it shows the link's
 * row put back as unused and opened again past the exchange's look-up of
 * the first. */
struct link_open {
	char id[AUDIT_LINK_ID_LEN + 1];
	int64_t seq;
};

struct verify_state {
	rk_register *r;
	rk_audit_report *rep;
	int64_t next_seq;
	unsigned char prev[SEC_HASH_BYTES];
	segments sg;
	/* audit_verify_chain: the links' opens (links NULL: not collected) */
	struct link_open *links;
	size_t nlinks, caplinks;
	int oom;
	/* audit_trail_whole: the entry the head names, and whether the
	 * chain holds it (mark_seq 0: none asked for) */
	int64_t mark_seq;
	unsigned char mark_hash[SEC_HASH_BYTES];
	int mark_found;
};

static int link_push(struct verify_state *v, const store_audit *a)
{
	if (v->nlinks == v->caplinks) {
		size_t cap = v->caplinks * 2;
		struct link_open *n = realloc(v->links, cap * sizeof *n);

		if (n == NULL) {
			v->oom = 1;
			return -1;
		}
		v->links = n;
		v->caplinks = cap;
	}
	memcpy(v->links[v->nlinks].id, a->fields, AUDIT_LINK_ID_LEN + 1);
	v->links[v->nlinks++].seq = a->seq;
	return 0;
}

static int cmp_link(const void *x, const void *y)
{
	const struct link_open *a = x, *b = y;
	int c = strcmp(a->id, b->id);

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The first link opened twice, as the report's bad entry (the later one). */
static void links_check(struct verify_state *v)
{
	if (v->nlinks > 1)
		qsort(v->links, v->nlinks, sizeof *v->links, cmp_link);
	for (size_t i = 1; i < v->nlinks; i++)
		if (strcmp(v->links[i].id, v->links[i - 1].id) == 0 &&
		    (v->rep->first_bad == 0 ||
		     v->links[i].seq < v->rep->first_bad)) {
			v->rep->first_bad = v->links[i].seq;
			snprintf(v->rep->reason, sizeof v->rep->reason,
				 "entry %" PRId64 " opens a self-service link "
				 "that entry %" PRId64 " opened already",
				 v->links[i].seq, v->links[i - 1].seq);
		}
}

static int verify_one(void *ud, const store_audit *a)
{
	struct verify_state *v = ud;
	unsigned char h[SEC_HASH_BYTES];
	const unsigned char *key;
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
	key = segment_key(v->r, &v->sg, a->seq);
	if (a->altered || key == NULL || entry_hash(key, NULL, a, h) != 0 ||
	    sec_memcmp(h, a->hash, SEC_HASH_BYTES) != 0) {
		rep->first_bad = a->seq;
		snprintf(rep->reason, sizeof rep->reason,
			 "entry %" PRId64 " was altered", a->seq);
		return 1;
	}
	if (a->seq == v->mark_seq &&
	    sec_memcmp(a->hash, v->mark_hash, SEC_HASH_BYTES) == 0)
		v->mark_found = 1;
	if (v->links != NULL && a->fields != NULL &&
	    strlen(a->fields) == AUDIT_LINK_ID_LEN &&
	    strncmp(a->fields, "link:", 5) == 0 &&
	    strcmp(a->outcome, "ok") == 0 &&
	    audit_action_is(a->action, AUD_SELFSERVICE_OPEN) &&
	    link_push(v, a) != 0)
		return 1;
	memcpy(v->prev, a->hash, SEC_HASH_BYTES);
	v->next_seq++;
	rep->entries++;
	return 0;
}

rk_status rk_audit_verify(rk_register *r, rk_audit_report *rep)
{
	rk_status st;

	memset(rep, 0, sizeof *rep);
	st = audit_may_read(r, AUD_AUDIT_VERIFY);
	if (st != RK_OK)
		return st;
	return audit_verify_chain(r, rep);
}

/* The chain walked inside the caller's transaction; with mark_seq set,
 * it must also hold the entry (mark_seq, mark_hash). */
static rk_status chain_walk(rk_register *r, int64_t mark_seq,
			    const unsigned char *mark_hash)
{
	struct verify_state v;
	rk_audit_report rep;
	rk_status st;

	memset(&v, 0, sizeof v);
	memset(&rep, 0, sizeof rep);
	v.r = r;
	v.rep = &rep;
	v.next_seq = 1;
	v.mark_seq = mark_seq;
	if (mark_hash != NULL)
		memcpy(v.mark_hash, mark_hash, SEC_HASH_BYTES);
	st = segments_load(r, &v.sg);
	if (st != RK_OK)
		return st;
	if (r->st->vt->audit_walk(r->st, 1, NULL, verify_one, &v) != 0)
		st = reg_store_fail(r, "cannot read the audit trail");
	else if (rep.first_bad != 0)
		st = reg_fail(r, RK_EINTEGRITY, "audit trail broken: %s",
			      rep.reason);
	else if (mark_seq > 0 && !v.mark_found)
		st = reg_fail(r, RK_EINTEGRITY,
			      "the audit trail does not reach the entry where "
			      "the register's record says it ends: entries "
			      "were removed; see rekisteri audit verify");
	segments_free(&v.sg);
	return st;
}

rk_status audit_chain_intact(rk_register *r)
{
	return chain_walk(r, 0, NULL);
}

rk_status audit_trail_whole(rk_register *r)
{
	unsigned char head[2 * HEAD_BYTES], mac[SEC_HASH_BYTES];
	size_t len = 0;
	int rc;

	/* This transaction's head, entries it added too (0: it adopted an
	 * empty trail, at init). */
	if (r->head_valid)
		return chain_walk(r, r->head_seq, r->head_hash);
	rc = r->st->vt->meta_get(r->st, META_HEAD, head, sizeof head, &len);
	if (rc != 0 && rc != STORE_NOTFOUND && len <= sizeof head)
		return reg_store_fail(r, "cannot read the audit head");
	if (rc == 0)
		head_mac(r, head, mac);
	if (rc != 0 || len != HEAD_BYTES ||
	    sec_memcmp(mac, head + 8 + SEC_HASH_BYTES, SEC_HASH_BYTES) != 0 ||
	    (int64_t)get_u64(head) <= 0)
		return reg_fail(r, RK_EINTEGRITY,
				"the register's record of where the audit "
				"trail ends is missing or was altered: see "
				"rekisteri audit verify");
	return chain_walk(r, (int64_t)get_u64(head), head + 8);
}

/* The chain that verified must end where the register's kept head says:
 * a trail emptied, cut at its end or swapped for an older copy does not. */
static rk_status check_head(rk_register *r, struct verify_state *v)
{
	/* Room for a longer value, which is then reported as altered. */
	unsigned char head[2 * HEAD_BYTES], mac[SEC_HASH_BYTES];
	rk_audit_report *rep = v->rep;
	size_t len = 0;
	int64_t seq;
	int rc;

	rc = r->st->vt->meta_get(r->st, META_HEAD, head, sizeof head, &len);
	if (rc != 0 && rc != STORE_NOTFOUND)
		return reg_store_fail(r, "cannot read the audit head");
	if (rc == STORE_NOTFOUND) {
		rep->first_bad = v->next_seq;
		snprintf(rep->reason, sizeof rep->reason,
			 "the register's record of where the trail ends is "
			 "missing");
		return RK_OK;
	}
	head_mac(r, head, mac);
	if (len != HEAD_BYTES ||
	    sec_memcmp(mac, head + 8 + SEC_HASH_BYTES, SEC_HASH_BYTES) != 0) {
		rep->first_bad = v->next_seq;
		snprintf(rep->reason, sizeof rep->reason,
			 "the register's record of where the trail ends was "
			 "altered");
		return RK_OK;
	}
	seq = (int64_t)get_u64(head);
	if (seq != v->next_seq - 1 ||
	    sec_memcmp(head + 8, v->prev, SEC_HASH_BYTES) != 0) {
		rep->first_bad = v->next_seq - 1 < seq ? v->next_seq : seq;
		if (v->next_seq - 1 < seq)
			snprintf(rep->reason, sizeof rep->reason,
				 "the trail ends at entry %" PRId64
				 " but the register wrote %" PRId64
				 ": entries were removed or the trail replaced",
				 v->next_seq - 1, seq);
		else
			snprintf(rep->reason, sizeof rep->reason,
				 "the trail does not end where the register "
				 "left it (entry %" PRId64 "): it was replaced",
				 seq);
	}
	return RK_OK;
}

rk_status audit_verify_chain(rk_register *r, rk_audit_report *rep)
{
	struct verify_state v;
	rk_status st;

	memset(rep, 0, sizeof *rep);
	/* Verify what this handle has read too, and what stopped processes
	 * left in their journals. */
	st = rk_register_flush(r);
	if (st == RK_OK)
		st = audit_take_orphans(r);
	if (st != RK_OK)
		return st;
	memset(&v, 0, sizeof v);
	v.r = r;
	v.rep = rep;
	v.next_seq = 1;
	v.caplinks = 64;
	v.links = malloc(v.caplinks * sizeof *v.links);
	if (v.links == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	st = segments_load(r, &v.sg);
	if (st != RK_OK) {
		reg_end_read(r);
		goto out;
	}
	if (r->st->vt->audit_walk(r->st, 1, NULL, verify_one, &v) != 0) {
		st = v.oom ? reg_fail(r, RK_ESYS, "out of memory")
			   : reg_store_fail(r, "cannot read the audit trail");
		reg_end_read(r);
		segments_free(&v.sg);
		goto out;
	}
	if (rep->first_bad == 0)
		st = check_head(r, &v);
	reg_end_read(r);
	segments_free(&v.sg);
	if (st == RK_OK)
		links_check(&v);
out:
	free(v.links);
	if (st != RK_OK)
		return st;
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

	st = audit_may_read(r, AUD_AUDIT_LOG);
	if (st != RK_OK)
		return st;
	if (subject_id != NULL) {
		rc = r->st->vt->subject_get(r->st, subject_id, &sub);
		if (rc == STORE_NOTFOUND)
			return reg_fail(r, RK_ENOTFOUND, "no such subject");
		if (rc != 0)
			return reg_store_fail(r, "cannot read the subject");
		pseudonym = sub.pseudonym;
	}
	/* Reading the trail is processing too, and shows itself. */
	audit_ev_set(&ev, r, AUD_AUDIT_LOG, pseudonym, NULL, NULL, "ok");
	st = audit_read(r, &ev);
	if (st == RK_OK)
		st = rk_register_flush(r);
	if (st != RK_OK)
		return st;
	if (r->st->vt->audit_walk(r->st, 1, pseudonym, log_one, &ls) != 0)
		return reg_store_fail(r, "cannot read the audit trail");
	return RK_OK;
}

/* ---- signed checkpoints ----------------------------------------------------
 */

#define CP_HEADER "rekisteri audit checkpoint v1\n"
#define CP_MAX	  1024

/* The register's checkpoint key pair, made on first use inside the open
 * write transaction. */
static rk_status sign_keys(rk_register *r, unsigned char pk[SEC_SIGN_PK_BYTES],
			   unsigned char **sk_out)
{
	unsigned char probe[SEC_WRAPPED_BYTES];
	unsigned char *seed = NULL, *sk = NULL;
	size_t len = 0;
	rk_status st = RK_OK;
	int rc;

	*sk_out = NULL;
	rc = r->st->vt->meta_get(r->st, META_SIGN_KEY, probe, sizeof probe,
				 &len);
	if (rc == STORE_NOTFOUND) {
		if (!r->in_write)
			return reg_fail(r, RK_EINTEGRITY,
					"this register has made no "
					"checkpoint: its signing key is "
					"missing");
		seed = sec_key_new();
		if (seed == NULL)
			return reg_fail(r, RK_ESYS, "out of memory");
		st = reg_store_key(r, META_SIGN_KEY, AD_SIGN_KEY, seed);
	} else if (rc != 0) {
		return reg_store_fail(r, "cannot read the signing key");
	} else {
		st = reg_load_key(r, META_SIGN_KEY, AD_SIGN_KEY, &seed);
	}
	if (st != RK_OK)
		goto out;
	sk = sec_sign_sk_alloc();
	if (sk == NULL || sec_sign_seed_keypair(seed, pk, sk) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot make the signing key");
		goto out;
	}
	*sk_out = sk;
	sk = NULL;
out:
	sec_key_free(seed);
	sec_sign_sk_free(sk);
	return st;
}

/* The signed part of a checkpoint file. */
static int cp_body(char *buf, size_t cap, int64_t seq,
		   const unsigned char hash[SEC_HASH_BYTES], int64_t at,
		   const unsigned char pk[SEC_SIGN_PK_BYTES])
{
	char hh[2 * SEC_HASH_BYTES + 1], pkh[2 * SEC_SIGN_PK_BYTES + 1];
	int n;

	sec_hex(hash, SEC_HASH_BYTES, hh);
	sec_hex(pk, SEC_SIGN_PK_BYTES, pkh);
	n = snprintf(buf, cap,
		     CP_HEADER "seq: %" PRId64 "\nhash: %s\nat: %" PRId64
			       "\nkey: %s\n",
		     seq, hh, at, pkh);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

rk_status rk_audit_checkpoint(rk_register *r, const char *path)
{
	unsigned char pk[SEC_SIGN_PK_BYTES], sig[SEC_SIGN_BYTES];
	unsigned char *sk = NULL;
	char body[CP_MAX], sigh[2 * SEC_SIGN_BYTES + 1];
	store_audit last;
	int64_t seq = 0;
	unsigned char hash[SEC_HASH_BYTES];
	rk_status st;
	audit_ev ev;
	FILE *f = NULL;
	int n, fd = -1;

	if (path == NULL || path[0] == '\0')
		return reg_fail(r, RK_EINVAL, "a checkpoint file is needed");
	st = audit_may_read(r, AUD_AUDIT_CHECKPOINT);
	if (st != RK_OK)
		return st;
	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk or group "
				"transaction "
				"before a checkpoint");
	/* The file first: a checkpoint that cannot be written leaves no
	 * entry claiming it was taken. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return reg_fail(r, errno == EEXIST ? RK_EINVAL : RK_ESYS,
				"cannot create the checkpoint file %s: %s",
				path, strerror(errno));
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	st = sign_keys(r, pk, &sk);
	if (st != RK_OK)
		goto out;
	/* The checkpoint covers its own entry. */
	audit_ev_set(&ev, r, AUD_AUDIT_CHECKPOINT, NULL, NULL, NULL, "ok");
	st = audit_write(r, &ev);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->audit_last(r->st, &last) != 0) {
		st = reg_store_fail(r, "cannot read the audit trail");
		goto out;
	}
	seq = last.seq;
	memcpy(hash, last.hash, sizeof hash);
	st = audit_commit(r);
	if (st != RK_OK)
		goto out;
	n = cp_body(body, sizeof body, seq, hash, reg_now(r), pk);
	if (n < 0) {
		st = reg_fail(r, RK_ESYS, "checkpoint too long");
		goto out;
	}
	sec_sign(sk, (const unsigned char *)body, (size_t)n, sig);
	sec_hex(sig, sizeof sig, sigh);
	f = fdopen(fd, "w");
	if (f == NULL) {
		st = reg_fail(r, RK_ESYS, "cannot write the checkpoint");
		goto out;
	}
	fd = -1; /* the stream owns it now */
	if (fprintf(f, "%ssignature: %s\n", body, sigh) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0)
		st = reg_fail(r, RK_ESYS, "cannot write the checkpoint");
	if (fclose(f) != 0 && st == RK_OK)
		st = reg_fail(r, RK_ESYS, "cannot write the checkpoint");
out:
	reg_txn_rollback(r);
	if (fd >= 0)
		close(fd);
	if (st != RK_OK)
		unlink(path);
	sec_sign_sk_free(sk);
	return st;
}

/* Reads "name: value\n" at *p into val; advances *p. */
static int cp_line(const char **p, const char *name, char *val, size_t cap)
{
	size_t n = strlen(name), len;
	const char *e;

	if (strncmp(*p, name, n) != 0 || (*p)[n] != ':' || (*p)[n + 1] != ' ')
		return -1;
	*p += n + 2;
	e = strchr(*p, '\n');
	if (e == NULL)
		return -1;
	len = (size_t)(e - *p);
	if (len == 0 || len >= cap)
		return -1;
	memcpy(val, *p, len);
	val[len] = '\0';
	*p = e + 1;
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

struct cp_find {
	int64_t seq;
	int found;
	unsigned char hash[SEC_HASH_BYTES];
};

static int cp_find_one(void *ud, const store_audit *a)
{
	struct cp_find *cf = ud;

	if (a->seq == cf->seq) {
		cf->found = 1;
		memcpy(cf->hash, a->hash, SEC_HASH_BYTES);
	}
	return 1; /* only the first entry from seq on matters */
}

rk_status rk_audit_verify_checkpoint(rk_register *r, const char *path,
				     rk_audit_report *rep)
{
	char text[CP_MAX + 1], seqs[24], hh[80], ats[24], pkh[80], sigh[160];
	unsigned char hash[SEC_HASH_BYTES], pk[SEC_SIGN_PK_BYTES];
	unsigned char mypk[SEC_SIGN_PK_BYTES], sig[SEC_SIGN_BYTES];
	unsigned char *sk = NULL;
	const char *p = text, *body_end;
	struct cp_find cf;
	int64_t seq = 0, at = 0;
	size_t len;
	rk_status st;
	FILE *f;

	memset(rep, 0, sizeof *rep);
	f = path == NULL ? NULL : fopen(path, "r");
	if (f == NULL)
		return reg_fail(r, RK_ESYS, "cannot read the checkpoint file");
	len = fread(text, 1, CP_MAX, f);
	fclose(f);
	text[len] = '\0';
	if (strncmp(p, CP_HEADER, strlen(CP_HEADER)) != 0)
		goto malformed;
	p += strlen(CP_HEADER);
	if (cp_line(&p, "seq", seqs, sizeof seqs) != 0 ||
	    cp_line(&p, "hash", hh, sizeof hh) != 0 ||
	    cp_line(&p, "at", ats, sizeof ats) != 0 ||
	    cp_line(&p, "key", pkh, sizeof pkh) != 0)
		goto malformed;
	body_end = p;
	if (cp_line(&p, "signature", sigh, sizeof sigh) != 0 || *p != '\0' ||
	    parse_i64(seqs, &seq) != 0 || parse_i64(ats, &at) != 0 ||
	    sec_unhex(hh, hash, sizeof hash) != 0 ||
	    sec_unhex(pkh, pk, sizeof pk) != 0 ||
	    sec_unhex(sigh, sig, sizeof sig) != 0 || seq < 1)
		goto malformed;
	st = sign_keys(r, mypk, &sk);
	sec_sign_sk_free(sk);
	if (st != RK_OK)
		return st;
	/* A key retired by a rotation vouches only for entries made before
	 * that rotation. */
	if ((sec_memcmp(pk, mypk, sizeof pk) != 0 &&
	     !keys_sign_pk_known(r, pk, seq)) ||
	    sec_sign_verify(pk, (const unsigned char *)text,
			    (size_t)(body_end - text), sig) != 0)
		return reg_fail(r, RK_EINTEGRITY,
				"the checkpoint was not signed by this "
				"register, or it was altered");
	st = rk_audit_verify(r, rep);
	if (st != RK_OK)
		return st;
	memset(&cf, 0, sizeof cf);
	cf.seq = seq;
	if (r->st->vt->audit_walk(r->st, seq, NULL, cp_find_one, &cf) != 0)
		return reg_store_fail(r, "cannot read the audit trail");
	if (!cf.found) {
		rep->first_bad = seq;
		snprintf(rep->reason, sizeof rep->reason,
			 "entry %" PRId64
			 " signed by the checkpoint is missing: the trail "
			 "was cut after it",
			 seq);
		return reg_fail(r, RK_EINTEGRITY, "audit trail broken: %s",
				rep->reason);
	}
	if (sec_memcmp(cf.hash, hash, sizeof hash) != 0) {
		rep->first_bad = seq;
		snprintf(rep->reason, sizeof rep->reason,
			 "entry %" PRId64 " differs from the checkpoint", seq);
		return reg_fail(r, RK_EINTEGRITY, "audit trail broken: %s",
				rep->reason);
	}
	return RK_OK;
malformed:
	return reg_fail(r, RK_EINVAL, "not a rekisteri audit checkpoint file");
}

/* ---- refusals and failures ---- */

/* Queues an audit entry for a call that changed nothing. */
void reg_audit_attempt(rk_register *r, audit_action action,
		       const char *pseudonym, const char *purpose, rk_status st)
{
	audit_ev ev;
	const char *outcome = st == RK_EINVAL	    ? "invalid"
			      : st == RK_ENOTFOUND  ? "notfound"
			      : st == RK_EREFUSED   ? "refused"
			      : st == RK_EINTEGRITY ? "integrity"
						    : "failed";
	char saved[REG_ERR_MAX];

	/* Keep the caller's error message even if queuing fails. */
	memcpy(saved, r->err, sizeof saved);
	audit_ev_set(&ev, r, action, pseudonym, NULL, purpose, outcome);
	(void)audit_read(r, &ev);
	memcpy(r->err, saved, sizeof saved);
}

rk_status audit_may_read(rk_register *r, audit_action action)
{
	if (r->role == POL_NONE || r->pol->roles[r->role].audit)
		return RK_OK;
	reg_fail(r, RK_EREFUSED, "role %s may not read the audit trail",
		 r->pol->roles[r->role].name);
	reg_audit_attempt(r, action, NULL, NULL, RK_EREFUSED);
	return RK_EREFUSED;
}

/* ---- the commit of a write (moved from register.c) ----
 * A write commits with the read entries it carries and the trail's kept
 * head; integ_commit (integrity.c) adds the subject rows' sum, and
 * reg_commit (txn.c) is that for the operations. */

rk_status audit_commit_steps(rk_register *r)
{
	/* Reads queued in the transaction go with it. */
	rk_status st = audit_carry_queue(r);

	if (st == RK_OK)
		st = audit_keep_head(r);
	return st;
}

rk_status audit_commit_end(rk_register *r, rk_status st)
{
	st = reg_txn_end(r, st);
	if (st == RK_OK)
		audit_journal_settled(r);
	return st;
}

rk_status audit_commit(rk_register *r)
{
	rk_status st;

	if (reg_txn_nested_end(r, &st))
		return st;
	st = audit_commit_steps(r);
	/* The trail's own writes never change a subject row: a sum to write
	 * would be lost here, so it is refused instead. */
	if (st == RK_OK && r->set_dirty)
		st = reg_fail(r, RK_ESYS,
			      "a write of the audit trail changed the "
			      "register's subjects");
	return audit_commit_end(r, st);
}

rk_status rk_register_flush(rk_register *r)
{
	return r->nqueue > 0 ? audit_flush(r) : RK_OK;
}
