/*
 * keys_load.c: a handle's keys kept current. At open, an interrupted
 * rotation is finished or cleaned up (keys_recover); before every write and
 * whenever a wrapped key does not open, a handle whose master key another
 * handle rotated away takes the new one (keys_check_current) from the key
 * file, its ".new" or the keyring. Also the keyring of retired master keys
 * and the retired checkpoint signing keys as the database holds them. The
 * write's begin (reg_begin_write) and a subject's data key
 * (reg_subject_key) live here, as both take a rotated key first. The
 * rotation itself is keys.c's.
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

/* How long a handle waits for a rotation's key to reach the key file. */
#define KEY_WAIT_TRIES 200
#define KEY_WAIT_US    10000

rk_status keys_new_key_path(rk_register *r, const char *key_path,
			    char out[KEYS_PATH_MAX])
{
	int n = snprintf(out, KEYS_PATH_MAX, "%s" KEY_NEW_SUFFIX, key_path);

	if (n < 0 || (size_t)n >= KEYS_PATH_MAX)
		return reg_fail(r, RK_EINVAL, "the key file path is too long");
	return RK_OK;
}

/* A rotation holds an exclusive flock on the key file from before it makes
 * ".new" until it is done (the kernel drops it when the process dies), so
 * that recovery at open tells a running rotation from an interrupted one. */
int keys_lock_file(const char *path)
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

int keys_file_key_id(const char *path, char kid[SEC_KEYID_HEX + 1])
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

rk_status keys_finish_rename(rk_register *r, const char *np,
			     const char *key_path, const char *want_id)
{
	char kid[SEC_KEYID_HEX + 1];
	int e;

	if (rename(np, key_path) != 0) {
		e = errno;
		/* Another process finished the same rotation first. */
		if (e == ENOENT && keys_file_key_id(key_path, kid) == 0 &&
		    strcmp(kid, want_id) == 0)
			return RK_OK;
		return reg_fail(r, RK_ESYS,
				"the key was rotated but %s could not replace "
				"%s (%s): the register now needs the key in "
				"%s; opening the register finishes the move",
				np, key_path, strerror(e), np);
	}
	if (fs_sync_parent_dir(key_path) != 0)
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

	st = keys_new_key_path(r, key_path, np);
	if (st != RK_OK)
		return st;
	if (lstat(np, &sb) != 0) {
		if (errno == ENOENT)
			return RK_OK; /* the common case: nothing to do */
		return reg_fail(r, RK_ESYS, "cannot check %s: %s", np,
				strerror(errno));
	}
	lock = keys_lock_file(key_path);
	if (lock < 0 && errno == EWOULDBLOCK)
		return RK_OK; /* a rotation is running: it finishes itself */
	reg_drop_kept_read(r);
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
		if (fs_sync_parent_dir(np) != 0)
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
	st = keys_finish_rename(r, np, key_path, nid);
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
	/* A bare handle: only the keyring is read, and it opens only with
	 * the register's master key. */
	if (reg_open_bare(r->db_path, fk, &t) != RK_OK ||
	    keys_ring_load(t, t->mk, &g) != RK_OK)
		goto out;
	i = keys_ring_find(&g, want);
	if (i >= 0)
		memcpy(k, keys_ring_entry(&g, (size_t)i) + SEC_KEYID_HEX + 8,
		       SEC_KEY_BYTES);
out:
	keys_ring_free(&g);
	reg_free(t);
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
		if (keys_file_key_id(r->key_path, fid) != 0)
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

unsigned char *keys_ring_entry(const struct ring *g, size_t i)
{
	return g->buf + i * RING_ENTRY;
}

long keys_ring_find(const struct ring *g, const char *kid)
{
	for (size_t i = 0; i < g->n; i++)
		if (memcmp(keys_ring_entry(g, i), kid, SEC_KEYID_HEX) == 0)
			return (long)i;
	return -1;
}

/* ---- retired checkpoint signing keys ---- */

rk_status keys_signers_load(rk_register *r, const unsigned char *mk,
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
	} else if (len < SEC_SEAL_OVERHEAD || m % KEYS_SIGNER_ENTRY != 0 ||
		   m / KEYS_SIGNER_ENTRY > SIGN_MAX ||
		   sec_open(mk, SEAL_SUBJECT, META_SIGN_RETIRED, ct, len, pt) !=
			   0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the retired signing keys do not open with the "
			      "master key: the database was altered or "
			      "damaged");
	} else {
		*pks = pt;
		*n = m / KEYS_SIGNER_ENTRY;
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

	if (keys_signers_load(r, r->mk, &pks, &n) != RK_OK)
		return 0;
	for (size_t i = 0; i < n && !found; i++) {
		const unsigned char *e = pks + i * KEYS_SIGNER_ENTRY;
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

/* ---- the write's begin and a subject's key (moved from register.c) ----
 * Both take a master key that another handle rotated in: a write begins
 * only with the handle's keys current. */

rk_status reg_begin_write(rk_register *r)
{
	int fresh;
	rk_status st = reg_txn_begin(r, &fresh);

	if (st != RK_OK || !fresh)
		return st;
	st = keys_check_current(r);
	if (st != RK_OK) {
		r->in_write = 0;
		r->st->vt->rollback(r->st);
	}
	return st;
}

rk_status reg_subject_key(rk_register *r, const store_subject *s,
			  unsigned char **dk_out)
{
	unsigned char *dk = sec_key_alloc();

	*dk_out = NULL;
	if (dk == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	/* A handle opened before another one rotated the master key takes
	 * the new key and tries once more. */
	if (sec_unwrap(r->mk, s->id, s->wrapped_key, dk) != 0 &&
	    (keys_check_current(r) != RK_OK ||
	     sec_unwrap(r->mk, s->id, s->wrapped_key, dk) != 0)) {
		sec_key_free(dk);
		return reg_fail(
			r, RK_EINTEGRITY,
			"a subject's data key does not open with the "
			"master key: the key or the database is damaged");
	}
	*dk_out = dk;
	return RK_OK;
}
