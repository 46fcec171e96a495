/*
 * keys.c: key rotation (its crash recovery at open and the handles that
 * take a rotated key are keys_load.c's), the verbs of the keyring of
 * retired master keys.
 *
 * A rotation replaces the master key, the blind index key (the index is
 * rebuilt) and the checkpoint signing key, and re-wraps the rest; it never
 * re-encrypts data (rk_key_reencrypt does, separately and resumably).
 * Losing the master key loses every datum, so the order is:
 *  1. the key file is locked (flock) for the rotation's whole run, and the
 *     new key goes to "<key file>.new" (O_EXCL, 0600, fsynced);
 *  2. one write transaction re-wraps and replaces the keys, keeps the old
 *     master key in the keyring, stores the new key's id and the audit
 *     entry, and commits with its log synced (WAL's default commit is not
 *     durable: a power cut could keep step 3 and lose this);
 *  3. "<key file>.new" is renamed over the key file, the directory fsynced;
 *  4. the handle swaps its keys in memory.
 * A crash between 2 and 3 leaves the database on the new key and the key in
 * ".new": keys_recover finishes the rename at the next open. A crash before
 * 2 leaves a ".new" that wraps nothing: keys_recover removes it, but only
 * when no rotation holds the key file's lock (a live one finishes itself),
 * and under the database's write lock.
 *
 * Handles of other processes take the new keys when they next find the
 * stored key id changed (keys_check_current), from the key file or, in the
 * moment before the rename, from ".new".
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "fsutil.h"
#include "keys_int.h"
#include "register.h"
#include "store.h"

/* ---- the keyring, written by rotations ---- */

/* Seals the keyring under mk into the open write transaction. */
static rk_status ring_store(rk_register *r, const unsigned char *mk,
			    const struct ring *g)
{
	size_t n = g->n * RING_ENTRY;
	unsigned char *ct = malloc(n + SEC_SEAL_OVERHEAD);
	rk_status st = RK_OK;

	if (ct == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (sec_seal(mk, SEAL_SUBJECT, META_KEYRING, g->buf, n, ct) != 0)
		st = reg_fail(r, RK_ESYS, "cannot seal the keyring");
	else if (r->st->vt->meta_set(r->st, META_KEYRING, ct,
				     n + SEC_SEAL_OVERHEAD) != 0)
		st = reg_store_fail(r, "cannot store the keyring");
	free(ct);
	return st;
}

static int64_t ring_at(const struct ring *g, size_t i)
{
	const unsigned char *p = keys_ring_entry(g, i) + SEC_KEYID_HEX;
	uint64_t u = 0;

	for (int k = 0; k < 8; k++)
		u = u << 8 | p[k];
	return (int64_t)u;
}

static rk_status ring_add(rk_register *r, struct ring *g,
			  const unsigned char *key, int64_t at)
{
	char kid[SEC_KEYID_HEX + 1];
	unsigned char *p;
	uint64_t u = (uint64_t)at;

	sec_key_id(key, kid);
	if (keys_ring_find(g, kid) >= 0)
		return RK_OK;
	if (g->n == RING_MAX)
		return reg_fail(r, RK_EINVAL,
				"the keyring holds %d retired master keys "
				"already: retire old ones with rekisteri key "
				"retire",
				RING_MAX);
	p = keys_ring_entry(g, g->n++);
	memcpy(p, kid, SEC_KEYID_HEX);
	for (int k = 7; k >= 0; k--, u >>= 8)
		p[SEC_KEYID_HEX + k] = (unsigned char)(u & 0xff);
	memcpy(p + SEC_KEYID_HEX + 8, key, SEC_KEY_BYTES);
	return RK_OK;
}

/* ---- rotation ---- */

/* Wraps key under kek into meta name. */
static rk_status wrap_put(rk_register *r, const unsigned char *kek,
			  const char *name, const char *ad,
			  const unsigned char *key)
{
	unsigned char w[SEC_WRAPPED_BYTES];

	if (sec_wrap(kek, ad, key, w) != 0)
		return reg_fail(r, RK_ESYS, "cannot wrap the register's %s",
				name);
	if (r->st->vt->meta_set(r->st, name, w, sizeof w) != 0)
		return reg_store_fail(r, "cannot store a register key");
	return RK_OK;
}

static int meta_has(rk_register *r, const char *name, int *has)
{
	unsigned char w[SEC_WRAPPED_BYTES];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, name, w, sizeof w, &len);

	*has = rc == 0;
	return rc == 0 || rc == STORE_NOTFOUND ? 0 : -1;
}

/* Re-wraps every subject's data key under nk and rebuilds its blind
 * indexes under ikey, a page at a time (the rows are collected before they
 * are updated, so no walk runs under updates). */
static rk_status rewrap_subjects(rk_register *r, const unsigned char *nk,
				 const unsigned char *ikey, store_subject *rows)
{
	char after[sizeof rows->id] = "";
	unsigned char w[SEC_WRAPPED_BYTES];
	unsigned char *dk = NULL;
	struct keys_page pg;
	rk_status st;
	size_t i;
	int rc;

	for (;;) {
		pg.rows = rows;
		pg.n = 0;
		if (r->st->vt->subject_list(
			    r->st, NULL, after[0] ? after : NULL, ROTATE_PAGE,
			    keys_collect, &pg) != 0)
			return reg_store_fail(r, "cannot list subjects");
		for (i = 0; i < pg.n; i++) {
			st = reg_subject_key(r, &rows[i], &dk);
			if (st != RK_OK)
				return st;
			st = keys_rebuild_bidx(r, &rows[i], dk, ikey);
			rc = st == RK_OK ? sec_wrap(nk, rows[i].id, dk, w) : 0;
			sec_key_free(dk);
			dk = NULL;
			if (st != RK_OK)
				return st;
			if (rc != 0)
				return reg_fail(r, RK_ESYS,
						"cannot wrap a subject key");
			if (r->st->vt->subject_set_key(r->st, rows[i].id, w) !=
			    0)
				return reg_store_fail(r, "cannot store a "
							 "re-wrapped key");
		}
		if (pg.n < ROTATE_PAGE)
			return RK_OK;
		memcpy(after, rows[pg.n - 1].id, sizeof after);
	}
}

/* The register's own keys under nk: a new index key (ikey, the blind
 * index is rebuilt with it), a new checkpoint signing key whose
 * predecessor's public key is kept for the checkpoints it signed, a new
 * audit chain key that starts a new segment of the trail (audit.c keeps
 * the earlier ones), and the row key and the cookie identifier key
 * re-wrapped as they are (every row's MAC is under the one; cookie
 * identifiers are stored only as their hashes under the other). what gets
 * the names of the keys replaced. */
static rk_status rotate_register_keys(rk_register *r, const unsigned char *nk,
				      const unsigned char *ikey, char *what,
				      size_t cap)
{
	unsigned char pk[SEC_SIGN_PK_BYTES];
	unsigned char *k = NULL, *sk = NULL, *pks = NULL, *ct = NULL;
	size_t n = 0;
	rk_status st;
	int has = 0, rc;

	/* A new segment of the audit chain under a new chain key: an old
	 * chain key can no longer extend or rewrite the trail past here. */
	st = audit_rotate_key(r, nk);
	if (st != RK_OK)
		return st;
	/* The row key is kept (every row's MAC is under it), wrapped anew. */
	if (meta_has(r, META_ROW_KEY, &has) != 0)
		return reg_store_fail(r, "cannot read a register key");
	if (has) {
		st = reg_load_key(r, META_ROW_KEY, AD_ROW_KEY, &k);
		if (st == RK_OK)
			st = wrap_put(r, nk, META_ROW_KEY, AD_ROW_KEY, k);
		sec_key_free(k);
		k = NULL;
		if (st != RK_OK)
			return st;
	}
	if (meta_has(r, META_COOKIE_KEY, &has) != 0)
		return reg_store_fail(r, "cannot read a register key");
	if (has) {
		st = reg_load_key(r, META_COOKIE_KEY, AD_COOKIE_KEY, &k);
		if (st == RK_OK)
			st = wrap_put(r, nk, META_COOKIE_KEY, AD_COOKIE_KEY, k);
		sec_key_free(k);
		k = NULL;
	} else {
		/* Until the first rotation the index key hashes cookies. */
		st = wrap_put(r, nk, META_COOKIE_KEY, AD_COOKIE_KEY, r->ckey);
	}
	if (st == RK_OK)
		st = wrap_put(r, nk, META_INDEX_KEY, AD_INDEX_KEY, ikey);
	if (st != RK_OK)
		return st;
	snprintf(what, cap, "master_key,index_key,audit_key");
	if (meta_has(r, META_SIGN_KEY, &has) != 0)
		return reg_store_fail(r, "cannot read a register key");
	if (!has)
		return RK_OK; /* made at the first checkpoint */
	st = reg_load_key(r, META_SIGN_KEY, AD_SIGN_KEY, &k);
	if (st != RK_OK)
		return st;
	sk = sec_sign_sk_alloc();
	if (sk == NULL || sec_sign_seed_keypair(k, pk, sk) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot derive the signing key");
		goto out;
	}
	st = keys_signers_load(r, r->mk, &pks, &n);
	if (st != RK_OK)
		goto out;
	if (n == SIGN_MAX) {
		st = reg_fail(r, RK_EINVAL,
			      "%d signing keys were retired already", SIGN_MAX);
		goto out;
	}
	{
		unsigned char *grown =
			realloc(pks, (n + 1) * KEYS_SIGNER_ENTRY);
		if (grown == NULL) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		pks = grown;
	}
	{
		/* The newest entry it could have signed: the head now, under
		 * the write lock, before the rotation's own entry. */
		store_audit head;
		unsigned char *e = pks + n++ * KEYS_SIGNER_ENTRY;
		uint64_t last = 0;
		rc = r->st->vt->audit_last(r->st, &head);
		if (rc != 0 && rc != STORE_NOTFOUND) {
			st = reg_store_fail(r, "cannot read the audit trail");
			goto out;
		}
		if (rc == 0)
			last = (uint64_t)head.seq;
		memcpy(e, pk, SEC_SIGN_PK_BYTES);
		for (int b = 7; b >= 0; b--, last >>= 8)
			e[SEC_SIGN_PK_BYTES + b] = (unsigned char)(last & 0xff);
	}
	ct = malloc(n * KEYS_SIGNER_ENTRY + SEC_SEAL_OVERHEAD);
	if (ct == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_seal(nk, SEAL_SUBJECT, META_SIGN_RETIRED, pks,
		     n * KEYS_SIGNER_ENTRY, ct) != 0 ||
	    r->st->vt->meta_set(r->st, META_SIGN_RETIRED, ct,
				n * KEYS_SIGNER_ENTRY + SEC_SEAL_OVERHEAD) !=
		    0) {
		st = reg_store_fail(r, "cannot keep the retired signing key");
		goto out;
	}
	/* The new signing key. */
	sec_key_free(k);
	k = sec_key_new();
	if (k == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = wrap_put(r, nk, META_SIGN_KEY, AD_SIGN_KEY, k);
	if (st == RK_OK)
		snprintf(what, cap, "master_key,index_key,signing_key");
out:
	sec_key_free(k);
	sec_sign_sk_free(sk);
	free(pks);
	free(ct);
	return st;
}

/* The retiring master key joins the keyring, sealed under nk. */
static rk_status keyring_retire_current(rk_register *r, const unsigned char *nk)
{
	struct ring g;
	rk_status st = keys_ring_load(r, r->mk, &g);

	if (st == RK_OK)
		st = ring_add(r, &g, r->mk, reg_now(r));
	if (st == RK_OK)
		st = ring_store(r, nk, &g);
	keys_ring_free(&g);
	return st;
}

rk_status rk_key_rotate(rk_register *r)
{
	char np[KEYS_PATH_MAX], err[REG_ERR_MAX], what[64];
	char oldid[SEC_KEYID_HEX + 1], newid[SEC_KEYID_HEX + 1];
	char kid[SEC_KEYID_HEX + 1];
	unsigned char *nk = NULL, *ik = NULL;
	store_subject *rows = NULL;
	struct stat sb;
	audit_ev ev;
	rk_status st;
	int made = 0, committed = 0, durable = 0, rc, lock;

	st = access_admin(r, AUD_KEY_ROTATE, "rotate the master key");
	if (st != RK_OK)
		return st;
	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk or group "
				"transaction "
				"before rotating the key");
	if (r->key_path[0] == '\0')
		return reg_fail(r, RK_EINVAL, "the key file is not known");
	st = keys_new_key_path(r, r->key_path, np);
	if (st != RK_OK)
		return st;
	if (lstat(np, &sb) == 0)
		return reg_fail(r, RK_EINVAL,
				"%s exists: another key rotation is running "
				"or was interrupted; open the register again "
				"to finish or undo it",
				np);
	lock = keys_lock_file(r->key_path);
	if (lock < 0)
		return reg_fail(r, errno == EWOULDBLOCK ? RK_EINVAL : RK_ESYS,
				"cannot lock the key file %s: %s", r->key_path,
				errno == EWOULDBLOCK
					? "another key rotation is running"
					: strerror(errno));
	nk = sec_key_alloc();
	ik = sec_key_new();
	rows = calloc(ROTATE_PAGE, sizeof *rows);
	if (nk == NULL || ik == NULL || rows == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* Step 1: the new key is durable before anything depends on it. */
	if (sec_keyfile_create(np, nk, err, sizeof err) != 0) {
		st = reg_fail(r, RK_ESYS, "%s", err);
		goto out;
	}
	made = 1;
	sec_key_id(nk, newid);
	/* Step 2: everything the old key wraps, in one transaction whose
	 * commit is on disk before step 3: otherwise a power cut could keep
	 * the new key file but lose the commit that needs it. */
	if (r->st->vt->set_durable(r->st, 1) != 0) {
		st = reg_store_fail(r, "cannot make the rotation durable");
		goto out;
	}
	durable = 1;
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	sec_key_id(r->mk, oldid);
	rc = keys_stored_id(r, kid);
	if (rc != 0) {
		st = reg_store_fail(r, "cannot read the register");
		goto out;
	}
	if (strcmp(kid, oldid) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the master key was rotated since this handle "
			      "opened the register: open it again");
		goto out;
	}
	st = keyring_retire_current(r, nk);
	if (st == RK_OK)
		st = rewrap_subjects(r, nk, ik, rows);
	if (st == RK_OK)
		st = rotate_register_keys(r, nk, ik, what, sizeof what);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->meta_set(r->st, META_KEY_ID,
				(const unsigned char *)newid,
				strlen(newid)) != 0) {
		st = reg_store_fail(r, "cannot store the key id");
		goto out;
	}
	audit_ev_set(&ev, r, AUD_KEY_ROTATE, NULL, what, NULL, "ok");
	st = audit_write(r, &ev);
	if (st != RK_OK)
		goto out;
	/* Last look under the lock: an open elsewhere removes a .new that it
	 * finds stale, so commit only while ours is still there. */
	if (keys_file_key_id(np, kid) != 0 || strcmp(kid, newid) != 0) {
		made = 0; /* no longer ours to remove */
		st = reg_fail(r, RK_ESYS,
			      "%s was removed or replaced during the "
			      "rotation; nothing was changed: try again",
			      np);
		goto out;
	}
	st = reg_commit(r);
	if (st != RK_OK)
		goto out;
	committed = 1;
	/* Step 4 before 3: the database needs the new keys from now on,
	 * whatever happens to the file. */
	sec_key_free(r->mk);
	r->mk = nk;
	nk = NULL;
	memcpy(r->ikey, ik, SEC_KEY_BYTES);
	st = keys_finish_rename(r, np, r->key_path, newid);
out:
	if (!committed && r->in_write) {
		/* Still under the lock: remove .new only while it is ours. A
		 * .new left outside the lock is removed by the next open. */
		if (made && keys_file_key_id(np, kid) == 0 &&
		    strcmp(kid, newid) == 0 && unlink(np) == 0)
			(void)fs_sync_parent_dir(np);
		reg_rollback(r);
	} else if (!committed && made && keys_file_key_id(np, kid) == 0 &&
		   strcmp(kid, newid) == 0 && unlink(np) == 0) {
		(void)fs_sync_parent_dir(np); /* the write never began */
	}
	if (durable)
		(void)r->st->vt->set_durable(r->st, 0);
	close(lock);
	if (st != RK_OK && !committed)
		reg_audit_attempt(r, AUD_KEY_ROTATE, NULL, NULL, st);
	sec_key_free(nk);
	sec_key_free(ik);
	free(rows);
	return st;
}

/* ---- the keyring through the API ---- */

static int valid_key_id(const char *kid)
{
	size_t n = kid == NULL ? 0 : strlen(kid);

	if (n != SEC_KEYID_HEX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((kid[i] >= '0' && kid[i] <= '9') ||
		      (kid[i] >= 'a' && kid[i] <= 'f')))
			return 0;
	return 1;
}

void rk_key_id(rk_register *r, char out[RK_KEY_ID_LEN + 1])
{
	_Static_assert(RK_KEY_ID_LEN == SEC_KEYID_HEX, "key id length");
	sec_key_id(r->mk, out);
}

rk_status rk_key_list(rk_register *r, char **json_out)
{
	char cur[SEC_KEYID_HEX + 1], line[128];
	struct ring g = {NULL, 0};
	size_t cap, off = 0;
	char *out = NULL;
	audit_ev ev;
	rk_status st;
	int n;

	*json_out = NULL;
	st = access_admin(r, AUD_KEY_LIST, "list the master keys");
	if (st != RK_OK)
		return st;
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	st = keys_check_current(r);
	if (st == RK_OK)
		st = keys_ring_load(r, r->mk, &g);
	reg_end_read(r);
	if (st != RK_OK)
		goto out;
	cap = 128 + (g.n + 1) * sizeof line;
	out = malloc(cap);
	if (out == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	sec_key_id(r->mk, cur);
	n = snprintf(out, cap, "[{\"id\": \"%s\", \"state\": \"current\"}",
		     cur);
	off = (size_t)n;
	for (size_t i = 0; i < g.n; i++) {
		char kid[SEC_KEYID_HEX + 1];
		memcpy(kid, keys_ring_entry(&g, i), SEC_KEYID_HEX);
		kid[SEC_KEYID_HEX] = '\0';
		n = snprintf(line, sizeof line,
			     ", {\"id\": \"%s\", \"state\": \"retired\", "
			     "\"retired_at\": %lld}",
			     kid, (long long)ring_at(&g, i));
		if (n < 0 || (size_t)n >= sizeof line || off + (size_t)n >= cap)
			break;
		memcpy(out + off, line, (size_t)n + 1);
		off += (size_t)n;
	}
	memcpy(out + off, "]", 2);
	audit_ev_set(&ev, r, AUD_KEY_LIST, NULL, NULL, NULL, "ok");
	st = audit_read(r, &ev);
	if (st == RK_OK) {
		*json_out = out;
		out = NULL;
	}
out:
	keys_ring_free(&g);
	free(out);
	return st;
}

rk_status rk_key_retire(rk_register *r, const char *key_id)
{
	char cur[SEC_KEYID_HEX + 1], what[40];
	struct ring g = {NULL, 0};
	rk_status st;
	long i;

	st = access_admin(r, AUD_KEY_RETIRE, "retire master keys");
	if (st != RK_OK)
		return st;
	if (!valid_key_id(key_id))
		return reg_fail(r, RK_EINVAL,
				"a key id is %d lower-case hex digits, as "
				"rekisteri key list shows them",
				SEC_KEYID_HEX);
	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk or group "
				"transaction "
				"first");
	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	sec_key_id(r->mk, cur);
	if (strcmp(cur, key_id) == 0) {
		st = reg_fail(r, RK_EINVAL,
			      "that is the current master key: rotate it "
			      "first (rekisteri key rotate)");
		goto out;
	}
	st = keys_ring_load(r, r->mk, &g);
	if (st != RK_OK)
		goto out;
	i = keys_ring_find(&g, key_id);
	if (i < 0) {
		st = reg_fail(r, RK_ENOTFOUND,
			      "no retired master key has that id (see "
			      "rekisteri key list)");
		goto out;
	}
	memmove(keys_ring_entry(&g, (size_t)i),
		keys_ring_entry(&g, (size_t)i + 1),
		(g.n - (size_t)i - 1) * RING_ENTRY);
	g.n--;
	sec_wipe(keys_ring_entry(&g, g.n), RING_ENTRY);
	st = ring_store(r, r->mk, &g);
	if (st != RK_OK)
		goto out;
	snprintf(what, sizeof what, "key:%s", key_id);
	st = reg_write_commit(r, AUD_KEY_RETIRE, NULL, what, NULL);
out:
	reg_rollback(r);
	keys_ring_free(&g);
	if (st != RK_OK && st != RK_EINVAL)
		reg_audit_attempt(r, AUD_KEY_RETIRE, NULL, NULL, st);
	return st;
}
