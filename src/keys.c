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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consent.h"
#include "crypto.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define META_KEY_ID    "master_key_id"
#define META_ERASURE   "erasure_journal"
#define KEYS_PATH_MAX  4200
#define ROTATE_PAGE    500
#define KEY_NEW_SUFFIX ".new"
/* How long a handle waits for a rotation's key to reach the key file. */
#define KEY_WAIT_TRIES 200
#define KEY_WAIT_US    10000
#define MSG_ANOTHER_KEY                                                        \
	"the backup was made under a master key that this register does "      \
	"not hold (neither the current one nor a retired one in its "          \
	"keyring: it was retired, or the backup is of another register); it "  \
	"opens only with the key file that was valid when it was made; "       \
	"nothing was restored"

/* The register keys that meta holds wrapped by the master key, with the
 * associated data each is bound to (register.c and audit.c use the same). */
#define META_INDEX_KEY	"index_key"
#define AD_INDEX_KEY	"register:index-key"
#define META_COOKIE_KEY "cookie_key"
#define AD_COOKIE_KEY	"register:cookie-key"
#define META_AUDIT_KEY	"audit_key"
#define AD_AUDIT_KEY	"register:audit-key"
#define META_SIGN_KEY	"audit_sign_key"
#define AD_SIGN_KEY	"register:audit-sign-key"
/* Sealed under the master key: retired master keys, and the public keys
 * of retired checkpoint signing keys. */
#define META_KEYRING	  "keyring"
#define META_SIGN_RETIRED "audit_sign_retired"
#define SEAL_SUBJECT	  "register"
/* A keyring entry: key id (hex), retired at (8 bytes big-endian Unix
 * seconds), the key. */
#define RING_ENTRY (SEC_KEYID_HEX + 8 + SEC_KEY_BYTES)
#define RING_MAX   256
#define SIGN_MAX   256
#define META_MAX   ((size_t)1 << 30)

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
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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

/* The master key id the database holds ("" when it has another shape):
 * 0, STORE_NOTFOUND or STORE_ERR. */
static int stored_key_id(rk_register *r, char out[SEC_KEYID_HEX + 1])
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
	if (lock < 0)
		return RK_OK; /* a rotation is running: it finishes itself */
	if (r->st->vt->begin(r->st, 1) != 0) {
		close(lock);
		return reg_store_fail(r, "cannot check an interrupted key "
					 "rotation");
	}
	rc = stored_key_id(r, stored);
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

/* The master key of id want, from the key file or, while a rotation that
 * committed it is renaming it into place, from "<key file>.new". The key
 * file is read again after ".new": a rename between the two reads moves
 * the key from one to the other. */
static int find_key(rk_register *r, const char *want, unsigned char *k)
{
	char np[KEYS_PATH_MAX];
	struct stat sb;

	if (r->key_path[0] == '\0' ||
	    snprintf(np, sizeof np, "%s" KEY_NEW_SUFFIX, r->key_path) >=
		    (int)sizeof np)
		return 0;
	for (int i = 0; i < KEY_WAIT_TRIES; i++) {
		if (take_key_if(r->key_path, want, k) ||
		    take_key_if(np, want, k) ||
		    take_key_if(r->key_path, want, k))
			return 1;
		if (lstat(np, &sb) != 0)
			return 0; /* no rotation under way: a wrong key */
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
	return RK_OK;
}

rk_status keys_check_current(rk_register *r)
{
	char stored[SEC_KEYID_HEX + 1], cur[SEC_KEYID_HEX + 1];
	unsigned char *k;
	rk_status st;
	int rc = stored_key_id(r, stored);

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

	if (stored_key_id(r, stored) != 0)
		return 0;
	sec_key_id(r->mk, cur);
	if (strcmp(stored, cur) == 0)
		return 0;
	return keys_check_current(r) == RK_OK ? 1 : 0;
}

/* A meta value of any size into a new buffer; *out NULL when absent. */
static rk_status meta_read_all(rk_register *r, const char *name,
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

/* Retired master keys, sealed under the current one: they open backups
 * made under them, and nothing else. In guarded memory. */
struct ring {
	unsigned char *buf; /* RING_MAX entries */
	size_t n;
};

static void ring_free(struct ring *g)
{
	sec_buf_free(g->buf);
	g->buf = NULL;
	g->n = 0;
}

/* The keyring as the database holds it, opened with mk. */
static rk_status ring_load(rk_register *r, const unsigned char *mk,
			   struct ring *g)
{
	unsigned char *ct = NULL;
	size_t len = 0, n;
	rk_status st;

	g->n = 0;
	g->buf = sec_buf_alloc(RING_MAX * RING_ENTRY);
	if (g->buf == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	st = meta_read_all(r, META_KEYRING, &ct, &len);
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
		ring_free(g);
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

static unsigned char *ring_entry(const struct ring *g, size_t i)
{
	return g->buf + i * RING_ENTRY;
}

static int64_t ring_at(const struct ring *g, size_t i)
{
	const unsigned char *p = ring_entry(g, i) + SEC_KEYID_HEX;
	uint64_t u = 0;

	for (int k = 0; k < 8; k++)
		u = u << 8 | p[k];
	return (int64_t)u;
}

/* The entry of key id kid, or -1. */
static long ring_find(const struct ring *g, const char *kid)
{
	for (size_t i = 0; i < g->n; i++)
		if (memcmp(ring_entry(g, i), kid, SEC_KEYID_HEX) == 0)
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
	if (ring_find(g, kid) >= 0)
		return RK_OK;
	if (g->n == RING_MAX)
		return reg_fail(r, RK_EINVAL,
				"the keyring holds %d retired master keys "
				"already: retire old ones with rekisteri key "
				"retire",
				RING_MAX);
	p = ring_entry(g, g->n++);
	memcpy(p, kid, SEC_KEYID_HEX);
	for (int k = 7; k >= 0; k--, u >>= 8)
		p[SEC_KEYID_HEX + k] = (unsigned char)(u & 0xff);
	memcpy(p + SEC_KEYID_HEX + 8, key, SEC_KEY_BYTES);
	return RK_OK;
}

/* ---- retired checkpoint signing keys ---- */

/* The public keys of retired signing keys (SEC_SIGN_PK_BYTES each), as
 * sealed under mk; *pks NULL when there are none. */
static rk_status signers_load(rk_register *r, const unsigned char *mk,
			      unsigned char **pks, size_t *n)
{
	unsigned char *ct = NULL, *pt = NULL;
	size_t len = 0, m;
	rk_status st;

	*pks = NULL;
	*n = 0;
	st = meta_read_all(r, META_SIGN_RETIRED, &ct, &len);
	if (st != RK_OK || ct == NULL)
		return st;
	m = len < SEC_SEAL_OVERHEAD ? 0 : len - SEC_SEAL_OVERHEAD;
	pt = malloc(m + 1);
	if (pt == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
	} else if (len < SEC_SEAL_OVERHEAD || m % SEC_SIGN_PK_BYTES != 0 ||
		   m / SEC_SIGN_PK_BYTES > SIGN_MAX ||
		   sec_open(mk, SEAL_SUBJECT, META_SIGN_RETIRED, ct, len, pt) !=
			   0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the retired signing keys do not open with the "
			      "master key: the database was altered or "
			      "damaged");
	} else {
		*pks = pt;
		*n = m / SEC_SIGN_PK_BYTES;
		pt = NULL;
	}
	free(pt);
	free(ct);
	return st;
}

int keys_sign_pk_known(rk_register *r, const unsigned char *pk)
{
	unsigned char *pks = NULL;
	size_t n = 0;
	int found = 0;

	if (signers_load(r, r->mk, &pks, &n) != RK_OK)
		return 0;
	for (size_t i = 0; i < n && !found; i++)
		found = sec_memcmp(pks + i * SEC_SIGN_PK_BYTES, pk,
				   SEC_SIGN_PK_BYTES) == 0;
	free(pks);
	return found;
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

struct page {
	store_subject *rows;
	size_t n;
};

static int collect(void *ud, const store_subject *s)
{
	struct page *p = ud;

	if (p->n == ROTATE_PAGE)
		return 1;
	p->rows[p->n++] = *s;
	return 0;
}

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
	if (v->ctlen < SEC_SEAL_OVERHEAD) {
		w->st = reg_fail(w->r, RK_EINTEGRITY,
				 "a stored value is damaged");
		return 1;
	}
	len = v->ctlen - SEC_SEAL_OVERHEAD;
	pt = malloc(len + 1);
	if (pt == NULL) {
		w->st = reg_fail(w->r, RK_ESYS, "out of memory");
		return 1;
	}
	if (sec_open(w->dk, w->sid, v->field, v->ct, v->ctlen, pt) != 0) {
		free(pt);
		w->st = reg_fail(w->r, RK_EINTEGRITY,
				 "a stored value does not decrypt: the "
				 "database was altered or damaged");
		return 1;
	}
	pt[len] = '\0';
	/* The stored value is the normalised one that was indexed. */
	sec_blind_index(w->ikey, v->field, (const char *)pt, w->u[w->n].h);
	w->u[w->n++].rowid = v->rowid;
	sec_wipe(pt, len);
	free(pt);
	return 0;
}

/* The subject's blind indexes again, under ikey. */
static rk_status rebuild_bidx(rk_register *r, const store_subject *s,
			      const unsigned char *dk,
			      const unsigned char *ikey)
{
	struct bidx_walk w;
	rk_status st = RK_OK;

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
	return st;
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
	struct page pg;
	rk_status st;
	size_t i;
	int rc;

	for (;;) {
		pg.rows = rows;
		pg.n = 0;
		if (r->st->vt->subject_list(r->st, NULL,
					    after[0] ? after : NULL,
					    ROTATE_PAGE, collect, &pg) != 0)
			return reg_store_fail(r, "cannot list subjects");
		for (i = 0; i < pg.n; i++) {
			st = reg_subject_key(r, &rows[i], &dk);
			if (st != RK_OK)
				return st;
			st = rebuild_bidx(r, &rows[i], dk, ikey);
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
 * predecessor's public key is kept for the checkpoints it signed, and the
 * cookie identifier key and the audit chain key re-wrapped as they are
 * (cookie identifiers are stored only as their hashes, so they cannot be
 * hashed again; the chain key belongs to the audit trail). what gets the
 * names of the keys replaced. */
static rk_status rotate_register_keys(rk_register *r, const unsigned char *nk,
				      const unsigned char *ikey, char *what,
				      size_t cap)
{
	unsigned char pk[SEC_SIGN_PK_BYTES];
	unsigned char *k = NULL, *sk = NULL, *pks = NULL, *ct = NULL;
	size_t n = 0;
	rk_status st;
	int has = 0;

	st = reg_load_key(r, META_AUDIT_KEY, AD_AUDIT_KEY, &k);
	if (st == RK_OK)
		st = wrap_put(r, nk, META_AUDIT_KEY, AD_AUDIT_KEY, k);
	sec_key_free(k);
	k = NULL;
	if (st != RK_OK)
		return st;
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
	snprintf(what, cap, "master_key,index_key");
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
		unsigned char *grown =
			realloc(pks, (n + 1) * SEC_SIGN_PK_BYTES);
		if (grown == NULL) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		pks = grown;
	}
	memcpy(pks + n++ * SEC_SIGN_PK_BYTES, pk, SEC_SIGN_PK_BYTES);
	ct = malloc(n * SEC_SIGN_PK_BYTES + SEC_SEAL_OVERHEAD);
	if (ct == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_seal(nk, SEAL_SUBJECT, META_SIGN_RETIRED, pks,
		     n * SEC_SIGN_PK_BYTES, ct) != 0 ||
	    r->st->vt->meta_set(r->st, META_SIGN_RETIRED, ct,
				n * SEC_SIGN_PK_BYTES + SEC_SEAL_OVERHEAD) !=
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
	rk_status st = ring_load(r, r->mk, &g);

	if (st == RK_OK)
		st = ring_add(r, &g, r->mk, reg_now(r));
	if (st == RK_OK)
		st = ring_store(r, nk, &g);
	ring_free(&g);
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
	if (r->bulk)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk transaction "
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
	rc = stored_key_id(r, kid);
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
		st = ring_load(r, r->mk, &g);
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
		memcpy(kid, ring_entry(&g, i), SEC_KEYID_HEX);
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
	ring_free(&g);
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
	if (r->bulk)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk transaction "
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
	st = ring_load(r, r->mk, &g);
	if (st != RK_OK)
		goto out;
	i = ring_find(&g, key_id);
	if (i < 0) {
		st = reg_fail(r, RK_ENOTFOUND,
			      "no retired master key has that id (see "
			      "rekisteri key list)");
		goto out;
	}
	memmove(ring_entry(&g, (size_t)i), ring_entry(&g, (size_t)i + 1),
		(g.n - (size_t)i - 1) * RING_ENTRY);
	g.n--;
	sec_wipe(ring_entry(&g, g.n), RING_ENTRY);
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
	ring_free(&g);
	if (st != RK_OK && st != RK_EINVAL)
		reg_audit_attempt(r, "key.retire", NULL, NULL, st);
	return st;
}

/* ---- backup ---- */

rk_status rk_backup(rk_register *r, const char *path)
{
	struct stat sb;
	audit_ev ev;
	rk_status st;

	st = access_admin(r, "register.backup", "make backups");
	if (st != RK_OK)
		return st;
	if (path == NULL || path[0] == '\0')
		return reg_fail(r, RK_EINVAL, "a backup file name is needed");
	if (r->bulk)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk transaction "
				"before a backup");
	if (lstat(path, &sb) == 0)
		return reg_fail(r, RK_EINVAL,
				"%s exists already: a backup never overwrites "
				"a file",
				path);
	if (errno != ENOENT)
		return reg_fail(r, RK_ESYS, "cannot check %s: %s", path,
				strerror(errno));
	/* The reads this handle made so far go into the copy too. */
	st = rk_register_flush(r);
	if (st != RK_OK)
		return st;
	if (r->st->vt->backup_to(r->st, path) != 0)
		return reg_store_fail(r, "cannot make the backup");
	/* The entry is written after the copy, so the backup ends just
	 * before it; the live trail records that the backup was made. A
	 * backup whose entry cannot be written is removed. */
	st = reg_begin_write(r);
	if (st == RK_OK) {
		audit_ev_set(&ev, r, "register.backup", NULL, NULL, NULL, "ok");
		st = audit_write(r, &ev);
		if (st == RK_OK)
			st = reg_commit(r);
		else
			reg_rollback(r);
	}
	if (st != RK_OK)
		(void)unlink(path);
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

/* Every ciphertext of the subject opens with dk. */
static rk_status subject_decrypts(rk_register *r, const char *sid,
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
	if (r->st->vt->subject_set_key(r->st, sub->id, w) != 0)
		st = reg_store_fail(r, "cannot store a subject key");
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

rk_status rk_key_reencrypt(rk_register *r, int restart, rk_progress_fn fn,
			   void *ud)
{
	char cur[RK_ID_LEN + 1], what[64];
	store_subject *rows = NULL;
	uint64_t total = 0, done = 0;
	struct page pg;
	audit_ev ev;
	rk_status st;
	int pending = 0, finished = 0;

	st = access_admin(r, "key.reencrypt", "re-encrypt the register");
	if (st != RK_OK)
		return st;
	if (r->bulk)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk transaction "
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
	audit_ev_set(&ev, r, "key.reencrypt", NULL,
		     cur[0] != '\0' ? "resumed" : "started", NULL, "ok");
	st = audit_write(r, &ev);
	if (st == RK_OK)
		st = reg_commit(r);
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
					    REENCRYPT_BATCH, collect,
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
		audit_ev_set(&ev, r, "key.reencrypt", NULL, what, NULL, "ok");
		st = audit_write(r, &ev);
		if (st == RK_OK)
			st = reg_commit(r);
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
		reg_audit_attempt(r, "key.reencrypt", NULL, NULL, st);
	free(rows);
	return st;
}

int rk_key_reencrypt_pending(rk_register *r)
{
	char cur[RK_ID_LEN + 1];
	int pending = 0;

	return cursor_read(r, cur, &pending) == 0 && pending;
}

/* ---- restore ---- */

/* The journal is subject IDs of RK_ID_LEN lower-case hex characters, one
 * after the other. */
static int journal_valid(const unsigned char *j, size_t len)
{
	if (len % RK_ID_LEN != 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((j[i] >= '0' && j[i] <= '9') ||
		      (j[i] >= 'a' && j[i] <= 'f')))
			return 0;
	return 1;
}

/* Subjects erased since the backup are erased again in what it restored. */
static rk_status replay_erasures(rk_register *r, const unsigned char *j,
				 size_t len)
{
	char id[RK_ID_LEN + 1];
	int rc;

	for (size_t off = 0; off < len; off += RK_ID_LEN) {
		memcpy(id, j + off, RK_ID_LEN);
		id[RK_ID_LEN] = '\0';
		rc = r->st->vt->subject_delete(r->st, id);
		if (rc != 0 && rc != STORE_NOTFOUND)
			return reg_store_fail(r, "cannot replay an erasure");
	}
	if (len > 0 && r->st->vt->meta_set(r->st, META_ERASURE, j, len) != 0)
		return reg_store_fail(r, "cannot keep the erasure journal");
	return RK_OK;
}

/* The master key id a backup file was made under ("" if unreadable). */
static rk_status backup_key_id(rk_register *r, const char *path,
			       char kid[SEC_KEYID_HEX + 1])
{
	char err[REG_ERR_MAX] = "";
	unsigned char buf[64];
	size_t len = 0;
	store *bs;
	int rc;

	kid[0] = '\0';
	bs = store_sqlite_open(path, 0, err, sizeof err);
	if (bs == NULL)
		return reg_fail(r, RK_EINVAL,
				"%s is not a usable rekisteri backup: %s; "
				"nothing was restored",
				path, err);
	rc = bs->vt->meta_get(bs, META_KEY_ID, buf, sizeof buf, &len);
	bs->vt->close(bs);
	if (rc != 0 || len != SEC_KEYID_HEX)
		return reg_fail(r, RK_EINVAL,
				"%s is not a rekisteri backup; nothing was "
				"restored",
				path);
	memcpy(kid, buf, len);
	kid[len] = '\0';
	return RK_OK;
}

/* Every subject of b: its data key opens with b's master key and every
 * ciphertext with the data key. */
static rk_status backup_decrypts(rk_register *r, rk_register *b,
				 store_subject *rows)
{
	char after[sizeof rows->id] = "";
	unsigned char *dk = NULL;
	struct page pg;
	rk_status st;

	for (;;) {
		pg.rows = rows;
		pg.n = 0;
		if (b->st->vt->subject_list(b->st, NULL,
					    after[0] ? after : NULL,
					    ROTATE_PAGE, collect, &pg) != 0)
			return reg_fail(r, RK_EINVAL,
					"the backup's subjects cannot be read; "
					"nothing was restored");
		for (size_t i = 0; i < pg.n; i++) {
			st = reg_subject_key(b, &rows[i], &dk);
			if (st == RK_OK)
				st = subject_decrypts(b, rows[i].id, dk);
			sec_key_free(dk);
			dk = NULL;
			if (st != RK_OK)
				return reg_fail(
					r, st == RK_ESYS ? st : RK_EINTEGRITY,
					"the backup's data does not "
					"decrypt under its keys (%s); "
					"nothing was restored",
					rk_errmsg(b));
		}
		if (pg.n < ROTATE_PAGE)
			return RK_OK;
		memcpy(after, rows[pg.n - 1].id, sizeof after);
	}
}

/* The backup at path: made under this register's master key or a retired
 * one in its keyring (bmk gets that key), of this register (the same audit
 * chain key), loadable, its audit chain intact and all its data
 * decrypting. Reads only. */
static rk_status check_backup(rk_register *r, const char *path,
			      unsigned char *bmk, store_subject *rows)
{
	char kid[SEC_KEYID_HEX + 1], cur[SEC_KEYID_HEX + 1];
	struct ring g = {NULL, 0};
	rk_register *b = NULL;
	rk_audit_report rep;
	rk_status st;
	long i;

	st = backup_key_id(r, path, kid);
	if (st != RK_OK)
		return st;
	sec_key_id(r->mk, cur);
	if (strcmp(kid, cur) == 0) {
		memcpy(bmk, r->mk, SEC_KEY_BYTES);
	} else {
		st = reg_begin_read(r);
		if (st != RK_OK)
			return st;
		st = ring_load(r, r->mk, &g);
		reg_end_read(r);
		if (st != RK_OK)
			return st;
		i = ring_find(&g, kid);
		if (i >= 0)
			memcpy(bmk,
			       ring_entry(&g, (size_t)i) + SEC_KEYID_HEX + 8,
			       SEC_KEY_BYTES);
		ring_free(&g);
		if (i < 0)
			return reg_fail(r, RK_EINVAL, "%s", MSG_ANOTHER_KEY);
	}
	st = reg_open_key(path, bmk, &b);
	if (st != RK_OK) {
		st = reg_fail(r, st, "the backup does not open: %s",
			      rk_errmsg(b));
		goto out;
	}
	if (sec_memcmp(b->akey, r->akey, SEC_KEY_BYTES) != 0) {
		st = reg_fail(r, RK_EINVAL,
			      "the backup is of another register; nothing "
			      "was restored");
		goto out;
	}
	st = audit_verify_chain(b, &rep);
	if (st != RK_OK) {
		st = reg_fail(r, st,
			      "the backup's audit trail does not verify: %s; "
			      "nothing was restored",
			      st == RK_EINTEGRITY ? rep.reason : rk_errmsg(b));
		goto out;
	}
	st = backup_decrypts(r, b, rows);
out:
	rk_register_close(b);
	return st;
}

/* After a restore, the restored register must still be this one. */
static rk_status check_restored_keys(rk_register *r)
{
	char stored[SEC_KEYID_HEX + 1], kid[SEC_KEYID_HEX + 1];
	unsigned char *ik = NULL, *ak = NULL;
	rk_status st;

	if (stored_key_id(r, stored) != 0)
		return reg_store_fail(r, "cannot read the restored register");
	sec_key_id(r->mk, kid);
	if (strcmp(stored, kid) != 0)
		return reg_fail(r, RK_EINTEGRITY, "%s", MSG_ANOTHER_KEY);
	st = reg_load_key(r, META_INDEX_KEY, AD_INDEX_KEY, &ik);
	if (st == RK_OK)
		st = reg_load_key(r, META_AUDIT_KEY, AD_AUDIT_KEY, &ak);
	if (st == RK_OK && (sec_memcmp(ik, r->ikey, SEC_KEY_BYTES) != 0 ||
			    sec_memcmp(ak, r->akey, SEC_KEY_BYTES) != 0))
		st = reg_fail(r, RK_EINVAL,
			      "the backup is of another register; nothing "
			      "was restored");
	sec_key_free(ik);
	sec_key_free(ak);
	return st;
}

/* The live subjects' wrapped data keys, by id, as they were before the
 * restore replaced the rows: the consent ledger, which stays live, is
 * sealed with them. */
struct live_key {
	char id[33];
	unsigned char w[SEC_WRAPPED_BYTES];
};

struct live_keys {
	struct live_key *v;
	size_t n, cap;
	int oom;
};

static int live_one(void *ud, const store_subject *s)
{
	struct live_keys *lk = ud;

	if (lk->n == lk->cap) {
		size_t cap = lk->cap ? lk->cap * 2 : 256;
		struct live_key *v = realloc(lk->v, cap * sizeof *v);
		if (v == NULL) {
			lk->oom = 1;
			return 1;
		}
		lk->v = v;
		lk->cap = cap;
	}
	memcpy(lk->v[lk->n].id, s->id, sizeof s->id);
	memcpy(lk->v[lk->n].w, s->wrapped_key, SEC_WRAPPED_BYTES);
	lk->n++;
	return 0;
}

static const struct live_key *live_find(const struct live_keys *lk,
					const char *id)
{
	size_t lo = 0, hi = lk->n;

	while (lo < hi) { /* subject_list gives them ordered by id */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(lk->v[mid].id, id);
		if (c == 0)
			return &lk->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The subject's consent evidence that was sealed under its live data key
 * (re-encrypted after the backup) is sealed again under dk, the key the
 * backup brought back. */
static rk_status reseal_evidence(rk_register *r, const char *sid,
				 const unsigned char *dk,
				 const struct live_keys *lk)
{
	const struct live_key *k = live_find(lk, sid);
	unsigned char *ldk = NULL, *pt = NULL, *ct = NULL;
	struct ct_list l;
	size_t len = 0;
	rk_status st = RK_OK;

	if (k == NULL)
		return RK_OK; /* not live: its ledger went with it */
	ldk = sec_key_alloc();
	if (ldk == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (sec_unwrap(r->mk, sid, k->w, ldk) != 0 ||
	    sec_memcmp(ldk, dk, SEC_KEY_BYTES) == 0) {
		sec_key_free(ldk);
		return RK_OK; /* the same key: nothing to do */
	}
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
	sec_key_free(ldk);
	return st;
}

/* What the restore brought back, checked and fitted to today's keys:
 * every subject's data key opens with the backup's master key bmk and is
 * wrapped again under the current one, every ciphertext opens, and the
 * blind index is rebuilt with the current index key. Inside the write. */
static rk_status fit_restored(rk_register *r, const unsigned char *bmk,
			      const struct live_keys *lk, store_subject *rows)
{
	char after[sizeof rows->id] = "";
	unsigned char w[SEC_WRAPPED_BYTES];
	unsigned char *dk = sec_key_alloc();
	struct page pg;
	rk_status st = RK_OK;

	if (dk == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	for (;;) {
		pg.rows = rows;
		pg.n = 0;
		if (r->st->vt->subject_list(r->st, NULL,
					    after[0] ? after : NULL,
					    ROTATE_PAGE, collect, &pg) != 0) {
			st = reg_store_fail(r, "cannot list subjects");
			break;
		}
		for (size_t i = 0; st == RK_OK && i < pg.n; i++) {
			if (sec_unwrap(bmk, rows[i].id, rows[i].wrapped_key,
				       dk) != 0) {
				st = reg_fail(r, RK_EINTEGRITY,
					      "a restored subject's data key "
					      "does not open");
				break;
			}
			st = reseal_evidence(r, rows[i].id, dk, lk);
			if (st == RK_OK)
				st = subject_decrypts(r, rows[i].id, dk);
			if (st == RK_OK)
				st = rebuild_bidx(r, &rows[i], dk, r->ikey);
			if (st == RK_OK &&
			    sec_wrap(r->mk, rows[i].id, dk, w) != 0)
				st = reg_fail(r, RK_ESYS,
					      "cannot wrap a subject key");
			if (st == RK_OK && r->st->vt->subject_set_key(
						   r->st, rows[i].id, w) != 0)
				st = reg_store_fail(r, "cannot store a subject "
						       "key");
		}
		if (st != RK_OK || pg.n < ROTATE_PAGE)
			break;
		memcpy(after, rows[pg.n - 1].id, sizeof after);
	}
	sec_key_free(dk);
	if (st == RK_EINTEGRITY)
		st = reg_fail(r, st,
			      "what the backup brings back does not decrypt "
			      "(%s); nothing was restored",
			      r->err);
	return st;
}

/* The actor's role by name in the restored policy (indexes may differ). */
static void reload_policy(rk_register *r, rk_status *st)
{
	char role[64] = "";
	size_t n;

	if (r->role != POL_NONE) {
		n = strlen(r->pol->roles[r->role].name);
		if (n < sizeof role)
			memcpy(role, r->pol->roles[r->role].name, n + 1);
	}
	*st = reg_load_policy(r);
	if (*st != RK_OK)
		return;
	if (role[0] != '\0') {
		r->role = policy_role(r->pol, role);
		/* Only an administrator restores; keep that role if the
		 * restored policy lost the actor's own. */
		if (r->role == POL_NONE)
			r->role = policy_role(r->pol, "admin");
	}
}

/* Before a forced restore replaces a broken live trail: a copy of the
 * register as it is, beside it, so that no evidence is lost. */
static rk_status keep_live_copy(rk_register *r, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.before-restore-%lld", r->db_path,
			 (long long)reg_now_us(r));

	if (r->db_path[0] == '\0' || n < 0 || (size_t)n >= cap)
		return reg_fail(r, RK_EINVAL,
				"cannot name a copy of the register");
	if (r->st->vt->backup_to(r->st, out) != 0)
		return reg_store_fail(r, "cannot keep a copy of the register "
					 "before replacing its audit trail");
	return RK_OK;
}

rk_status rk_restore(rk_register *r, const char *path)
{
	return rk_restore_ex(r, path, 0);
}

rk_status rk_restore_ex(rk_register *r, const char *path, unsigned flags)
{
	unsigned char *journal = NULL, *bmk = NULL;
	char stored[SEC_KEYID_HEX + 1], kid[SEC_KEYID_HEX + 1];
	char copy[sizeof r->db_path + 64] = "", trail[REG_ERR_MAX] = "";
	store_subject *rows = NULL;
	struct live_keys live = {NULL, 0, 0, 0};
	rk_audit_report rep;
	size_t jlen = 0;
	struct stat sb;
	audit_ev ev;
	rk_status st;
	int committed = 0, keep_audit = 1;

	st = access_admin(r, "register.restore", "restore backups");
	if (st != RK_OK)
		return st;
	r->err[0] = '\0'; /* after a forced restore: what it replaced */
	if (path == NULL || path[0] == '\0')
		return reg_fail(r, RK_EINVAL, "a backup file name is needed");
	if ((flags & ~(unsigned)RK_RESTORE_FORCE) != 0)
		return reg_fail(r, RK_EINVAL, "unknown restore flags");
	if (r->bulk)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk transaction "
				"before a restore");
	if (stat(path, &sb) != 0)
		return reg_fail(r, errno == ENOENT ? RK_ENOTFOUND : RK_ESYS,
				"cannot read %s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return reg_fail(r, RK_EINVAL, "%s is not a file", path);
	bmk = sec_key_alloc();
	rows = calloc(ROTATE_PAGE, sizeof *rows);
	if (bmk == NULL || rows == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = check_backup(r, path, bmk, rows);
	if (st != RK_OK)
		goto out;
	/* The live trail is evidence: one that does not verify is not
	 * replaced unless the operator insists, and then a copy of the
	 * register as it is stays beside it. */
	st = audit_verify_chain(r, &rep);
	if (st == RK_EINTEGRITY) {
		snprintf(trail, sizeof trail, "%s", rep.reason);
		if (!(flags & RK_RESTORE_FORCE)) {
			st = reg_fail(r, RK_EINTEGRITY,
				      "the register's audit trail does not "
				      "verify (%s): a restore would replace "
				      "it, so nothing was restored; find out "
				      "what happened first, or restore with "
				      "--force (a copy of the register as it "
				      "is now is kept)",
				      trail);
			goto out;
		}
		keep_audit = 0;
		st = keep_live_copy(r, copy, sizeof copy);
	}
	if (st != RK_OK)
		goto out;
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	if (stored_key_id(r, stored) != 0) {
		st = reg_store_fail(r, "cannot read the register");
		goto out;
	}
	sec_key_id(r->mk, kid);
	if (strcmp(stored, kid) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the master key was rotated since this handle "
			      "opened the register: open it again");
		goto out;
	}
	/* Read under the lock, so no erasure slips in before the copy. */
	st = meta_read_all(r, META_ERASURE, &journal, &jlen);
	if (st != RK_OK)
		goto out;
	if (!journal_valid(journal, jlen)) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the register's erasure journal is damaged; "
			      "nothing was restored");
		goto out;
	}
	if (r->st->vt->subject_list(r->st, NULL, NULL, 0, live_one, &live) !=
		    0 ||
	    live.oom) {
		st = live.oom ? reg_fail(r, RK_ESYS, "out of memory")
			      : reg_store_fail(r, "cannot list subjects");
		goto out;
	}
	if (r->st->vt->restore_from(r->st, path, keep_audit) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "cannot restore: %s; nothing was changed",
			      r->st->vt->errmsg(r->st));
		goto out;
	}
	st = check_restored_keys(r);
	if (st == RK_OK)
		st = replay_erasures(r, journal, jlen);
	/* What came back is checked where it now lies (the file may have
	 * changed since it was checked) and fitted to today's keys. */
	if (st == RK_OK)
		st = fit_restored(r, bmk, &live, rows);
	/* Data of a consent withdrawn since the backup goes again. */
	if (st == RK_OK)
		st = consent_purge_unconsented(r);
	if (st != RK_OK)
		goto out;
	/* The live trail, which already holds the backup's entries, goes on
	 * with the restore; a broken one was replaced by the backup's only
	 * because it was forced, and the entry says so. */
	audit_ev_set(&ev, r, "register.restore", NULL,
		     keep_audit ? NULL
				: "forced,audit_trail_from_backup,"
				  "live_copy_kept",
		     NULL, "ok");
	st = audit_write(r, &ev);
	if (st != RK_OK)
		goto out;
	st = reg_commit(r);
	if (st != RK_OK)
		goto out;
	committed = 1;
	reload_policy(r, &st);
	/* Old pages leave the WAL (erased subjects' too). Readers in other
	 * processes may delay it; it then completes later by itself. */
	(void)r->st->vt->checkpoint(r->st);
	if (st == RK_OK && !keep_audit)
		reg_fail(r, RK_OK,
			 "the audit trail did not verify (%s) and was replaced "
			 "by the backup's; the register as it was is kept in "
			 "%s",
			 trail, copy);
out:
	if (!committed) {
		reg_rollback(r);
		if (st != RK_OK)
			reg_audit_attempt(r, "register.restore", NULL, NULL,
					  st);
		if (copy[0] != '\0')
			(void)unlink(copy); /* nothing was replaced after all */
	}
	sec_key_free(bmk);
	free(rows);
	free(live.v);
	free(journal);
	return st;
}

/* ---- a lost register back from its backup ---- */

static void remove_db(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[KEYS_PATH_MAX + 16];

	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
		if (snprintf(p, sizeof p, "%s%s", path, sfx[i]) < (int)sizeof p)
			(void)unlink(p);
}

rk_status rk_restore_new(const char *db_path, const char *key_path,
			 const char *backup_path, rk_register **out)
{
	char err[REG_ERR_MAX] = "", kid[SEC_KEYID_HEX + 1];
	char bkid[SEC_KEYID_HEX + 1];
	unsigned char *mk = NULL;
	store_subject *rows = NULL;
	rk_register *r = NULL, *b = NULL;
	rk_audit_report rep;
	struct stat sb;
	audit_ev ev;
	rk_status st;
	int made = 0;

	*out = NULL;
	/* A handle for the messages until the register exists. */
	r = reg_blank();
	if (r == NULL)
		return RK_ESYS;
	if (db_path == NULL || key_path == NULL || backup_path == NULL ||
	    db_path[0] == '\0' || strlen(db_path) >= KEYS_PATH_MAX) {
		st = reg_fail(r, RK_EINVAL,
			      "a database path, key file and backup are "
			      "needed");
		goto out;
	}
	if (lstat(db_path, &sb) == 0 || errno != ENOENT) {
		st = reg_fail(r, RK_EINVAL,
			      "%s exists already: a register is restored "
			      "into a new file only",
			      db_path);
		goto out;
	}
	if (stat(backup_path, &sb) != 0) {
		st = reg_fail(r, errno == ENOENT ? RK_ENOTFOUND : RK_ESYS,
			      "cannot read %s: %s", backup_path,
			      strerror(errno));
		goto out;
	}
	if (sec_init() != 0) {
		st = reg_fail(r, RK_ESYS, "cannot initialise cryptography");
		goto out;
	}
	mk = sec_key_alloc();
	rows = calloc(ROTATE_PAGE, sizeof *rows);
	if (mk == NULL || rows == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_keyfile_load(key_path, mk, err, sizeof err) != 0) {
		st = reg_fail(r, RK_EINVAL, "%s", err);
		goto out;
	}
	st = backup_key_id(r, backup_path, bkid);
	if (st != RK_OK)
		goto out;
	sec_key_id(mk, kid);
	if (strcmp(kid, bkid) != 0) {
		st = reg_fail(r, RK_EINVAL,
			      "the backup was made under another master key: "
			      "it opens only with the key file that was valid "
			      "when it was made; nothing was restored");
		goto out;
	}
	st = reg_open_key(backup_path, mk, &b);
	if (st == RK_OK) {
		st = audit_verify_chain(b, &rep);
		if (st == RK_EINTEGRITY)
			reg_fail(b, st, "its audit trail does not verify: %s",
				 rep.reason);
	}
	if (st == RK_OK)
		st = backup_decrypts(r, b, rows);
	else
		st = reg_fail(r, st,
			      "the backup is not usable: %s; nothing "
			      "was restored",
			      rk_errmsg(b));
	if (st != RK_OK)
		goto out;
	if (b->st->vt->backup_to(b->st, db_path) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot write %s: %s", db_path,
			      b->st->vt->errmsg(b->st));
		goto out;
	}
	made = 1;
	rk_register_close(b);
	b = NULL;
	rk_register_close(r);
	r = NULL;
	st = reg_open(db_path, key_path, 1, &r);
	if (st == RK_OK)
		st = reg_begin_write(r);
	if (st == RK_OK) {
		audit_ev_set(&ev, r, "register.restore", NULL, "new_register",
			     NULL, "ok");
		st = audit_write(r, &ev);
		if (st == RK_OK)
			st = reg_commit(r);
		else
			reg_rollback(r);
	}
out:
	if (st != RK_OK && made) {
		char msg[REG_ERR_MAX];
		snprintf(msg, sizeof msg, "%s", r != NULL ? r->err : "");
		rk_register_close(r);
		r = NULL;
		remove_db(db_path);
		r = reg_blank();
		if (r != NULL)
			reg_fail(r, st, "%s", msg);
	}
	rk_register_close(b);
	sec_key_free(mk);
	free(rows);
	*out = r;
	return st;
}
