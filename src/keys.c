/*
 * keys.c: key rotation and its crash recovery, the keyring of retired
 * master keys, re-encryption under new data keys; online backups and
 * checked restores.
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
#include "keys_int.h"
#include "register.h"
#include "store.h"

#define KEY_NEW_SUFFIX ".new"
/* How long a handle waits for a rotation's key to reach the key file. */
#define KEY_WAIT_TRIES 200
#define KEY_WAIT_US    10000

static rk_status new_key_path(rk_register *r, const char *key_path,
			      char out[KEYS_PATH_MAX])
{
	int n = snprintf(out, KEYS_PATH_MAX, "%s" KEY_NEW_SUFFIX, key_path);

	if (n < 0 || (size_t)n >= KEYS_PATH_MAX)
		return reg_fail(r, RK_EINVAL, "the key file path is too long");
	return RK_OK;
}

/* Makes a rename or removal in path's directory durable. */
static int fsync_dir_of(const char *path)
{
	char dir[KEYS_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc;

	if (slash == NULL) {
		memcpy(dir, ".", 2);
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof dir)
			return -1;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* A rotation holds an exclusive flock on the key file from before it makes
 * ".new" until it is done (the kernel drops it when the process dies), so
 * that recovery at open tells a running rotation from an interrupted one.
 * The descriptor, or -1 with errno (EWOULDBLOCK: held elsewhere). */
static int lock_key_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e;

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The id of the key in the key file at path; -1 when it cannot be read. */
static int file_key_id(const char *path, char kid[SEC_KEYID_HEX + 1])
{
	unsigned char *k = sec_key_alloc();
	char err[REG_ERR_MAX];
	int rc = -1;

	kid[0] = '\0';
	if (k == NULL)
		return -1;
	if (sec_keyfile_load(path, k, err, sizeof err) == 0) {
		sec_key_id(k, kid);
		rc = 0;
	}
	sec_key_free(k);
	return rc;
}

int keys_stored_id(rk_register *r, char out[SEC_KEYID_HEX + 1])
{
	unsigned char buf[64];
	size_t len = 0;
	int rc = r->st->vt->meta_get(r->st, META_KEY_ID, buf, sizeof buf, &len);

	out[0] = '\0';
	if (rc != 0)
		return rc;
	if (len == SEC_KEYID_HEX) {
		memcpy(out, buf, len);
		out[len] = '\0';
	}
	return 0;
}

/* Step 3: "<key file>.new" becomes the key file. */
static rk_status finish_rename(rk_register *r, const char *np,
			       const char *key_path, const char *want_id)
{
	char kid[SEC_KEYID_HEX + 1];
	int e;

	if (rename(np, key_path) != 0) {
		e = errno;
		/* Another process finished the same rotation first. */
		if (e == ENOENT && file_key_id(key_path, kid) == 0 &&
		    strcmp(kid, want_id) == 0)
			return RK_OK;
		return reg_fail(r, RK_ESYS,
				"the key was rotated but %s could not replace "
				"%s (%s): the register now needs the key in "
				"%s; opening the register finishes the move",
				np, key_path, strerror(e), np);
	}
	if (fsync_dir_of(key_path) != 0)
		return reg_fail(r, RK_ESYS,
				"the key was rotated, but the key file's "
				"directory cannot be synced: %s",
				strerror(errno));
	return RK_OK;
}

rk_status keys_recover(rk_register *r, const char *key_path)
{
	char np[KEYS_PATH_MAX], err[REG_ERR_MAX];
	char stored[SEC_KEYID_HEX + 1], cur[SEC_KEYID_HEX + 1];
	char nid[SEC_KEYID_HEX + 1];
	unsigned char *nk = NULL;
	struct stat sb;
	rk_status st;
	int rc, lock;

	st = new_key_path(r, key_path, np);
	if (st != RK_OK)
		return st;
	if (lstat(np, &sb) != 0) {
		if (errno == ENOENT)
			return RK_OK; /* the common case: nothing to do */
		return reg_fail(r, RK_ESYS, "cannot check %s: %s", np,
				strerror(errno));
	}
	lock = lock_key_file(key_path);
	if (lock < 0 && errno == EWOULDBLOCK)
		return RK_OK; /* a rotation is running: it finishes itself */
	if (r->st->vt->begin(r->st, 1) != 0) {
		if (lock >= 0)
			close(lock);
		return reg_store_fail(r, "cannot check an interrupted key "
					 "rotation");
	}
	rc = keys_stored_id(r, stored);
	if (rc == STORE_NOTFOUND)
		goto out; /* not a register: the caller says so */
	if (rc != 0) {
		st = reg_store_fail(r, "cannot read the register");
		goto out;
	}
	if (lstat(np, &sb) != 0) {
		if (errno != ENOENT)
			st = reg_fail(r, RK_ESYS, "cannot check %s: %s", np,
				      strerror(errno));
		goto out; /* its rotation finished meanwhile */
	}
	sec_key_id(r->mk, cur);
	if (strcmp(stored, cur) == 0) {
		/* The database never committed the key in .new, so it wraps
		 * nothing: a rotation that died before its commit. */
		if (unlink(np) != 0 && errno != ENOENT) {
			st = reg_fail(r, RK_ESYS,
				      "cannot remove %s, left by an "
				      "interrupted key rotation: %s",
				      np, strerror(errno));
			goto out;
		}
		if (fsync_dir_of(np) != 0)
			st = reg_fail(r, RK_ESYS,
				      "cannot sync the key file's directory: "
				      "%s",
				      strerror(errno));
		goto out;
	}
	nk = sec_key_alloc();
	if (nk == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_keyfile_load(np, nk, err, sizeof err) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the key file does not belong to this register "
			      "and the key left by an interrupted rotation "
			      "cannot be read: %s",
			      err);
		goto out;
	}
	sec_key_id(nk, nid);
	if (strcmp(stored, nid) != 0)
		goto out; /* neither key: touch nothing, the caller reports */
	/* Committed but not yet renamed: finish the rotation. */
	st = finish_rename(r, np, key_path, nid);
	if (st == RK_OK)
		memcpy(r->mk, nk, SEC_KEY_BYTES);
out:
	r->st->vt->rollback(r->st);
	if (lock >= 0)
		close(lock);
	sec_key_free(nk);
	return st;
}

/* 1 when the key file at path holds the key of id want (then in k). */
static int take_key_if(const char *path, const char *want, unsigned char *k)
{
	char err[REG_ERR_MAX], kid[SEC_KEYID_HEX + 1];

	if (sec_keyfile_load(path, k, err, sizeof err) != 0)
		return 0;
	sec_key_id(k, kid);
	return strcmp(kid, want) == 0;
}

/* The key of id want from the keyring of the register as it is now, opened
 * with the key file's key: for a handle reading an older snapshot, whose
 * key a later rotation already moved from the key file to the keyring. */
static int take_from_keyring(rk_register *r, const char *want, unsigned char *k)
{
	char err[REG_ERR_MAX];
	unsigned char *fk = sec_key_alloc();
	struct ring g = {NULL, 0};
	rk_register *t = NULL;
	long i = -1;

	if (fk == NULL || r->db_path[0] == '\0' ||
	    sec_keyfile_load(r->key_path, fk, err, sizeof err) != 0)
		goto out;
	if (reg_open_key(r->db_path, fk, &t) != RK_OK ||
	    keys_ring_load(t, t->mk, &g) != RK_OK)
		goto out;
	i = keys_ring_find(&g, want);
	if (i >= 0)
		memcpy(k, keys_ring_entry(&g, (size_t)i) + SEC_KEYID_HEX + 8,
		       SEC_KEY_BYTES);
out:
	keys_ring_free(&g);
	rk_register_close(t);
	sec_key_free(fk);
	return i >= 0;
}

/* The master key of id want, from the key file or, while a rotation that
 * committed it is renaming it into place, from "<key file>.new". The key
 * file is read again after ".new": a rename between the two reads moves
 * the key from one to the other. */
static int find_key(rk_register *r, const char *want, unsigned char *k)
{
	char np[KEYS_PATH_MAX], fid[SEC_KEYID_HEX + 1], last[SEC_KEYID_HEX + 1];
	struct stat sb;
	int rotating;

	if (r->key_path[0] == '\0' ||
	    snprintf(np, sizeof np, "%s" KEY_NEW_SUFFIX, r->key_path) >=
		    (int)sizeof np)
		return 0;
	last[0] = '\0';
	for (int i = 0; i < KEY_WAIT_TRIES; i++) {
		if (take_key_if(r->key_path, want, k) ||
		    take_key_if(np, want, k) ||
		    take_key_if(r->key_path, want, k) ||
		    take_from_keyring(r, want, k))
			return 1;
		/* Give up only when no rotation is under way and the key file
		 * stayed the same over a whole round: a wrong key file. */
		rotating = lstat(np, &sb) == 0;
		if (file_key_id(r->key_path, fid) != 0)
			fid[0] = '\0';
		if (!rotating && i > 0 && strcmp(fid, last) == 0)
			return 0;
		memcpy(last, fid, sizeof last);
		if (rotating)
			usleep(KEY_WAIT_US);
	}
	return 0;
}

/* The register keys wrapped by the master key that a rotation replaces
 * (see rk_key_rotate), loaded again after the handle took a new master
 * key. */
static rk_status reload_register_keys(rk_register *r)
{
	unsigned char *ik = NULL;
	rk_status st;

	if (r->ikey == NULL)
		return RK_OK; /* still opening: loaded after this */
	st = reg_load_key(r, META_INDEX_KEY, AD_INDEX_KEY, &ik);
	if (st != RK_OK)
		return st;
	memcpy(r->ikey, ik, SEC_KEY_BYTES);
	sec_key_free(ik);
	/* The chain key too: entries from now on go into the new segment. */
	st = reg_load_key(r, META_AUDIT_KEY, AD_AUDIT_KEY, &ik);
	if (st != RK_OK)
		return st;
	memcpy(r->akey, ik, SEC_KEY_BYTES);
	sec_key_free(ik);
	r->head_valid = 0;
	return RK_OK;
}

rk_status keys_check_current(rk_register *r)
{
	char stored[SEC_KEYID_HEX + 1], cur[SEC_KEYID_HEX + 1];
	unsigned char *k;
	rk_status st;
	int rc = keys_stored_id(r, stored);

	if (rc == STORE_NOTFOUND)
		return RK_OK; /* a register being created */
	if (rc != 0)
		return reg_store_fail(r, "cannot read the register");
	sec_key_id(r->mk, cur);
	if (strcmp(stored, cur) == 0)
		return RK_OK;
	/* Rotated elsewhere since this handle read its key: the rotation
	 * committed, so its key is in the key file or about to be. Callers
	 * wrap and unwrap only after this check. */
	k = sec_key_alloc();
	if (k == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (!find_key(r, stored, k)) {
		sec_key_free(k);
		return reg_fail(r, RK_EINTEGRITY,
				"the key file does not hold the register's "
				"master key: use the key file of this "
				"register (after a rotation, the new one)");
	}
	memcpy(r->mk, k, SEC_KEY_BYTES);
	sec_key_free(k);
	st = reload_register_keys(r);
	return st;
}

int keys_refresh(rk_register *r)
{
	char stored[SEC_KEYID_HEX + 1], cur[SEC_KEYID_HEX + 1];

	if (keys_stored_id(r, stored) != 0)
		return 0;
	sec_key_id(r->mk, cur);
	if (strcmp(stored, cur) == 0)
		return 0;
	return keys_check_current(r) == RK_OK ? 1 : 0;
}

rk_status keys_meta_read_all(rk_register *r, const char *name,
			     unsigned char **out, size_t *len)
{
	unsigned char probe[1];
	unsigned char *buf;
	size_t n = 0, n2 = 0;
	int rc;

	*out = NULL;
	*len = 0;
	rc = r->st->vt->meta_get(r->st, name, probe, 0, &n);
	if (rc == STORE_NOTFOUND)
		return RK_OK;
	if (rc == 0 && n == 0)
		return RK_OK;
	if (n == 0 || n > META_MAX)
		return reg_store_fail(r,
				      "cannot read the register's meta data");
	buf = malloc(n);
	if (buf == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (r->st->vt->meta_get(r->st, name, buf, n, &n2) != 0 || n2 != n) {
		free(buf);
		return reg_store_fail(r, "cannot read the register's meta "
					 "data");
	}
	*out = buf;
	*len = n;
	return RK_OK;
}

/* ---- the keyring of retired master keys ---- */

void keys_ring_free(struct ring *g)
{
	sec_buf_free(g->buf);
	g->buf = NULL;
	g->n = 0;
}

rk_status keys_ring_load(rk_register *r, const unsigned char *mk,
			 struct ring *g)
{
	unsigned char *ct = NULL;
	size_t len = 0, n;
	rk_status st;

	g->n = 0;
	g->buf = sec_buf_alloc(RING_MAX * RING_ENTRY);
	if (g->buf == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	st = keys_meta_read_all(r, META_KEYRING, &ct, &len);
	if (st != RK_OK || ct == NULL)
		goto out;
	n = len < SEC_SEAL_OVERHEAD ? 0 : len - SEC_SEAL_OVERHEAD;
	if (len < SEC_SEAL_OVERHEAD || n % RING_ENTRY != 0 ||
	    n / RING_ENTRY > RING_MAX ||
	    sec_open(mk, SEAL_SUBJECT, META_KEYRING, ct, len, g->buf) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the keyring of retired master keys does not "
			      "open with the master key: the database was "
			      "altered or damaged");
		goto out;
	}
	g->n = n / RING_ENTRY;
out:
	free(ct);
	if (st != RK_OK)
		keys_ring_free(g);
	return st;
}

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

unsigned char *keys_ring_entry(const struct ring *g, size_t i)
{
	return g->buf + i * RING_ENTRY;
}

static int64_t ring_at(const struct ring *g, size_t i)
{
	const unsigned char *p = keys_ring_entry(g, i) + SEC_KEYID_HEX;
	uint64_t u = 0;

	for (int k = 0; k < 8; k++)
		u = u << 8 | p[k];
	return (int64_t)u;
}

long keys_ring_find(const struct ring *g, const char *kid)
{
	for (size_t i = 0; i < g->n; i++)
		if (memcmp(keys_ring_entry(g, i), kid, SEC_KEYID_HEX) == 0)
			return (long)i;
	return -1;
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

/* ---- retired checkpoint signing keys ---- */

/* A retired signing key: its public key and the last audit entry (8 bytes
 * big-endian) it may have signed a checkpoint of, so that whoever still
 * holds the old key cannot vouch for anything newer. */
#define SIGNER_ENTRY (SEC_SIGN_PK_BYTES + 8)

/* The retired signing keys (SIGNER_ENTRY bytes each), as sealed under mk;
 * *pks NULL when there are none. */
static rk_status signers_load(rk_register *r, const unsigned char *mk,
			      unsigned char **pks, size_t *n)
{
	unsigned char *ct = NULL, *pt = NULL;
	size_t len = 0, m;
	rk_status st;

	*pks = NULL;
	*n = 0;
	st = keys_meta_read_all(r, META_SIGN_RETIRED, &ct, &len);
	if (st != RK_OK || ct == NULL)
		return st;
	m = len < SEC_SEAL_OVERHEAD ? 0 : len - SEC_SEAL_OVERHEAD;
	pt = malloc(m + 1);
	if (pt == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
	} else if (len < SEC_SEAL_OVERHEAD || m % SIGNER_ENTRY != 0 ||
		   m / SIGNER_ENTRY > SIGN_MAX ||
		   sec_open(mk, SEAL_SUBJECT, META_SIGN_RETIRED, ct, len, pt) !=
			   0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the retired signing keys do not open with the "
			      "master key: the database was altered or "
			      "damaged");
	} else {
		*pks = pt;
		*n = m / SIGNER_ENTRY;
		pt = NULL;
	}
	free(pt);
	free(ct);
	return st;
}

int keys_sign_pk_known(rk_register *r, const unsigned char *pk, int64_t seq)
{
	unsigned char *pks = NULL;
	size_t n = 0;
	int found = 0;

	if (signers_load(r, r->mk, &pks, &n) != RK_OK)
		return 0;
	for (size_t i = 0; i < n && !found; i++) {
		const unsigned char *e = pks + i * SIGNER_ENTRY;
		uint64_t last = 0;
		for (int k = 0; k < 8; k++)
			last = last << 8 | e[SEC_SIGN_PK_BYTES + k];
		found = sec_memcmp(e, pk, SEC_SIGN_PK_BYTES) == 0 && seq >= 0 &&
			(uint64_t)seq <= last;
	}
	free(pks);
	return found;
}

int keys_collect(void *ud, const store_subject *s)
{
	struct keys_page *p = ud;

	if (p->n == ROTATE_PAGE)
		return 1;
	p->rows[p->n++] = *s;
	return 0;
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
	st = signers_load(r, r->mk, &pks, &n);
	if (st != RK_OK)
		goto out;
	if (n == SIGN_MAX) {
		st = reg_fail(r, RK_EINVAL,
			      "%d signing keys were retired already", SIGN_MAX);
		goto out;
	}
	{
		unsigned char *grown = realloc(pks, (n + 1) * SIGNER_ENTRY);
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
		unsigned char *e = pks + n++ * SIGNER_ENTRY;
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
	ct = malloc(n * SIGNER_ENTRY + SEC_SEAL_OVERHEAD);
	if (ct == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_seal(nk, SEAL_SUBJECT, META_SIGN_RETIRED, pks, n * SIGNER_ENTRY,
		     ct) != 0 ||
	    r->st->vt->meta_set(r->st, META_SIGN_RETIRED, ct,
				n * SIGNER_ENTRY + SEC_SEAL_OVERHEAD) != 0) {
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

	st = access_admin(r, "key.rotate", "rotate the master key");
	if (st != RK_OK)
		return st;
	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk or group "
				"transaction "
				"before rotating the key");
	if (r->key_path[0] == '\0')
		return reg_fail(r, RK_EINVAL, "the key file is not known");
	st = new_key_path(r, r->key_path, np);
	if (st != RK_OK)
		return st;
	if (lstat(np, &sb) == 0)
		return reg_fail(r, RK_EINVAL,
				"%s exists: another key rotation is running "
				"or was interrupted; open the register again "
				"to finish or undo it",
				np);
	lock = lock_key_file(r->key_path);
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
	audit_ev_set(&ev, r, "key.rotate", NULL, what, NULL, "ok");
	st = audit_write(r, &ev);
	if (st != RK_OK)
		goto out;
	/* Last look under the lock: an open elsewhere removes a .new that it
	 * finds stale, so commit only while ours is still there. */
	if (file_key_id(np, kid) != 0 || strcmp(kid, newid) != 0) {
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
	st = finish_rename(r, np, r->key_path, newid);
out:
	if (!committed && r->in_write) {
		/* Still under the lock: remove .new only while it is ours. A
		 * .new left outside the lock is removed by the next open. */
		if (made && file_key_id(np, kid) == 0 &&
		    strcmp(kid, newid) == 0 && unlink(np) == 0)
			(void)fsync_dir_of(np);
		reg_rollback(r);
	} else if (!committed && made && file_key_id(np, kid) == 0 &&
		   strcmp(kid, newid) == 0 && unlink(np) == 0) {
		(void)fsync_dir_of(np); /* the write never began */
	}
	if (durable)
		(void)r->st->vt->set_durable(r->st, 0);
	close(lock);
	if (st != RK_OK && !committed)
		reg_audit_attempt(r, "key.rotate", NULL, NULL, st);
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
	st = access_admin(r, "key.list", "list the master keys");
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
	audit_ev_set(&ev, r, "key.list", NULL, NULL, NULL, "ok");
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
	audit_ev ev;
	rk_status st;
	long i;

	st = access_admin(r, "key.retire", "retire master keys");
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
	audit_ev_set(&ev, r, "key.retire", NULL, what, NULL, "ok");
	st = audit_write(r, &ev);
	if (st == RK_OK)
		st = reg_commit(r);
out:
	reg_rollback(r);
	keys_ring_free(&g);
	if (st != RK_OK && st != RK_EINVAL)
		reg_audit_attempt(r, "key.retire", NULL, NULL, st);
	return st;
}
