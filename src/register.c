/*
 * register.c: create and open a register, its keys and stored policy; the
 * handle's error message, actor, clock and write transactions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "ident.h"
#include "integrity.h"
#include "policy.h"
#include "ajournal.h"
#include "register.h"
#include "store.h"

#define META_FORMAT "format"

/* group commit (at the end of this file) */
static rk_status group_op_begin(rk_register *r, int level);
static rk_status group_op_end(rk_register *r, int level);
static void group_op_undo(rk_register *r, int level);

const char *rk_version(void)
{
	return RK_VERSION_STRING;
}

const char *rk_status_name(rk_status st)
{
	switch (st) {
	case RK_OK:
		return "ok";
	case RK_ESYS:
		return "system failure";
	case RK_EINVAL:
		return "invalid input";
	case RK_ENOTFOUND:
		return "not found";
	case RK_EREFUSED:
		return "refused by policy";
	case RK_EINTEGRITY:
		return "integrity failure";
	}
	return "unknown status";
}

void rk_free(void *p)
{
	free(p);
}

void rk_free_secret(char *s)
{
	reg_free_secret(s);
}

rk_status reg_fail(rk_register *r, rk_status st, const char *fmt, ...)
{
	va_list ap;

	char msg[REG_ERR_MAX];

	if (r == NULL)
		return st;
	/* Formatted apart first: a message may quote the one before it. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(r->err, msg, sizeof r->err);
	return st;
}

rk_status reg_store_fail(rk_register *r, const char *what)
{
	return reg_fail(r, RK_ESYS, "%s: %s", what, r->st->vt->errmsg(r->st));
}

int64_t reg_now(const rk_register *r)
{
	if (r->clock != 0)
		return r->clock;
	return (int64_t)time(NULL);
}

int64_t reg_now_us(const rk_register *r)
{
	struct timespec ts;

	if (r->clock != 0)
		return r->clock * 1000000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void reg_today(const rk_register *r, char out[11])
{
	ident_date_of(reg_now(r), out);
}

rk_status reg_begin_write(rk_register *r)
{
	rk_status st;

	if (r->bulk) {
		/* Operations check their input before they write, so one
		 * refused for its input has written nothing and needs no
		 * savepoint (a savepoint per subject costs a bulk load a
		 * tenth of its speed); reg_rollback tells the two apart. */
		if (r->bulk_spoiled)
			return reg_fail(r, RK_ESYS,
					"an earlier write of this bulk "
					"transaction failed part-way: roll it "
					"back");
		r->op_changes = r->st->vt->changes(r->st);
		r->in_write = 1;
		return RK_OK;
	}
	if (r->group) {
		st = group_op_begin(r, 0);
		if (st == RK_OK)
			r->in_write = 1;
		return st;
	}
	if (r->st->vt->begin(r->st, 1) != 0)
		return reg_store_fail(r, "cannot start a write");
	st = keys_check_current(r);
	if (st != RK_OK) {
		r->st->vt->rollback(r->st);
		return st;
	}
	r->in_write = 1;
	r->nqueue_in_txn = 0;
	r->head_valid = 0;
	r->set_valid = r->set_dirty = 0;
	return RK_OK;
}

/* The queued read entries that the committed transaction carried are in
 * the chain now: drop them from the queue. */
static void queue_committed(rk_register *r)
{
	unsigned done = r->nqueue_in_txn;

	r->nqueue_in_txn = 0;
	if (done > 0) {
		memmove(r->queue, r->queue + done,
			(r->nqueue - done) * sizeof *r->queue);
		r->nqueue -= done;
	}
}

/* A transaction that rotated the audit key and did not commit leaves the
 * register with the key it had. */
static void akey_restore(rk_register *r)
{
	if (r->akey_prev == NULL)
		return;
	sec_key_free(r->akey);
	r->akey = r->akey_prev;
	r->akey_prev = NULL;
}

/* Commits the store's transaction; a failed commit is rolled back and the
 * read entries it carried stay queued. */
static rk_status commit_txn(rk_register *r)
{
	/* Reads queued in the transaction go with it. */
	rk_status st = audit_carry_queue(r);

	if (st == RK_OK)
		st = audit_keep_head(r);
	if (st == RK_OK)
		st = integ_set_flush(r);

	r->head_valid = 0;
	r->head_dirty = 0;
	r->set_valid = r->set_dirty = 0;
	if (st != RK_OK || r->st->vt->commit(r->st) != 0) {
		if (st == RK_OK)
			st = reg_store_fail(r, "cannot commit");
		r->st->vt->rollback(r->st);
		r->nqueue_in_txn = 0;
		akey_restore(r);
		return st;
	}
	queue_committed(r);
	audit_journal_settled(r);
	sec_key_free(r->akey_prev);
	r->akey_prev = NULL;
	return RK_OK;
}

rk_status reg_commit(rk_register *r)
{
	r->in_write = 0;
	if (r->bulk)
		return RK_OK; /* rk_register_commit commits */
	if (r->group)
		return group_op_end(r, 0); /* the group commits */
	return commit_txn(r);
}

void reg_rollback(rk_register *r)
{
	if (!r->in_write)
		return;
	r->in_write = 0;
	if (r->bulk) {
		/* Nothing written: nothing to undo. Written part-way: only the
		 * whole transaction can be undone. */
		if (r->st->vt->changes(r->st) != r->op_changes) {
			r->bulk_spoiled = 1;
			r->head_valid = 0;
			r->head_dirty = 0;
			r->set_valid = r->set_dirty = 0;
		}
		return;
	}
	if (r->group) {
		group_op_undo(r, 0);
		return;
	}
	r->head_valid = 0;
	r->head_dirty = 0;
	r->set_valid = r->set_dirty = 0;
	r->st->vt->rollback(r->st);
	r->nqueue_in_txn = 0; /* they stay queued for the next write */
	akey_restore(r);
}

rk_status reg_begin_read(rk_register *r)
{
	if (r->bulk || r->group)
		return RK_OK;
	if (r->st->vt->begin(r->st, 0) != 0)
		return reg_store_fail(r, "cannot read");
	return RK_OK;
}

void reg_end_read(rk_register *r)
{
	if (!r->bulk && !r->group)
		r->st->vt->rollback(r->st);
}

rk_status rk_register_begin(rk_register *r)
{
	rk_status st;

	if (r->bulk)
		return reg_fail(r, RK_EINVAL,
				"a bulk transaction is open "
				"already");
	if (r->group) {
		/* Inside a group: a savepoint of its own, so that the bulk's
		 * rollback undoes only the bulk. */
		st = group_op_begin(r, 1);
		if (st != RK_OK)
			return st;
		r->bulk = 1;
		r->bulk_spoiled = 0;
		return RK_OK;
	}
	if (r->st->vt->begin(r->st, 1) != 0)
		return reg_store_fail(r, "cannot start a transaction");
	st = keys_check_current(r);
	if (st != RK_OK) {
		r->st->vt->rollback(r->st);
		return st;
	}
	/* The backend may buffer the bulk's inserts (PostgreSQL: COPY). */
	if (r->st->vt->bulk(r->st, 1) != 0) {
		r->st->vt->rollback(r->st);
		return reg_store_fail(r, "cannot start a transaction");
	}
	r->bulk = 1;
	r->bulk_spoiled = 0;
	r->nqueue_in_txn = 0;
	r->head_valid = 0;
	r->set_valid = r->set_dirty = 0;
	return RK_OK;
}

rk_status rk_register_commit(rk_register *r)
{
	if (!r->bulk)
		return reg_fail(r, RK_EINVAL, "no bulk transaction is open");
	if (r->bulk_spoiled) {
		rk_register_rollback(r);
		return reg_fail(r, RK_ESYS,
				"a write of the bulk transaction failed "
				"part-way, so none of it was committed");
	}
	r->bulk = 0;
	if (r->group)
		return group_op_end(r, 1);
	return commit_txn(r);
}

void rk_register_rollback(rk_register *r)
{
	if (!r->bulk)
		return;
	r->bulk = 0;
	r->bulk_spoiled = 0;
	r->in_write = 0;
	if (r->group) {
		group_op_undo(r, 1);
		return;
	}
	r->head_valid = 0;
	r->head_dirty = 0;
	r->set_valid = r->set_dirty = 0;
	r->st->vt->rollback(r->st);
	r->nqueue_in_txn = 0;
	akey_restore(r);
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

static rk_register *reg_new(void)
{
	rk_register *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	memcpy(r->actor, "operator", sizeof "operator");
	r->role = POL_NONE;
	r->audit_batch = 64;
	return r;
}

rk_register *reg_blank(void)
{
	return reg_new();
}

struct first_diag {
	int count;
	char msg[200];
};

static void keep_first_diag(void *ud, const char *file, int line, int column,
			    const char *message)
{
	struct first_diag *d = ud;

	if (d->count++ == 0)
		snprintf(d->msg, sizeof d->msg, "%s:%d:%d: %s", file, line,
			 column, message);
}

rk_status rk_policy_check_file(const char *path, rk_diag_fn diag, void *ud)
{
	policy *p;
	struct stat sb;

	if (path == NULL)
		return RK_EINVAL;
	if (stat(path, &sb) != 0) {
		if (diag != NULL)
			diag(ud, path, 0, 0, "cannot read the file");
		return RK_ESYS;
	}
	p = policy_load_file(path, diag, ud, NULL);
	if (p == NULL)
		return RK_EINVAL;
	policy_free(p);
	return RK_OK;
}

rk_status reg_store_key(rk_register *r, const char *name, const char *ad,
			const unsigned char *key)
{
	unsigned char w[SEC_WRAPPED_BYTES];

	if (sec_wrap(r->mk, ad, key, w) != 0)
		return reg_fail(r, RK_ESYS, "cannot wrap the %s", name);
	if (r->st->vt->meta_set(r->st, name, w, sizeof w) != 0)
		return reg_store_fail(r, "cannot store a register key");
	return RK_OK;
}

rk_status reg_load_key(rk_register *r, const char *name, const char *ad,
		       unsigned char **out)
{
	unsigned char w[SEC_WRAPPED_BYTES];
	size_t len = 0;
	unsigned char *k;
	int rc = r->st->vt->meta_get(r->st, name, w, sizeof w, &len);

	if (rc == STORE_NOTFOUND || (rc == 0 && len != sizeof w))
		return reg_fail(r, RK_EINTEGRITY,
				"the register is missing its %s", name);
	if (rc != 0)
		return reg_store_fail(r, "cannot read a register key");
	k = sec_key_alloc();
	if (k == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (sec_unwrap(r->mk, ad, w, k) != 0) {
		sec_key_free(k);
		return reg_fail(r, RK_EINTEGRITY,
				"the %s does not open with this master key",
				name);
	}
	*out = k;
	return RK_OK;
}

static int path_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 || errno != ENOENT;
}

/* The key file's path, kept for key rotation and restore. */
static rk_status reg_set_key_path(rk_register *r, const char *key_path)
{
	size_t n = strlen(key_path);

	if (n == 0 || n >= sizeof r->key_path)
		return reg_fail(r, RK_EINVAL, "the key file path is too long");
	memcpy(r->key_path, key_path, n + 1);
	return RK_OK;
}

/* The database's path, beside which the audit journal is kept: absolute,
 * so that a process that changes its folder after the open (a daemon does)
 * still journals beside the database. */
static rk_status reg_set_db_path(rk_register *r, const char *db_path)
{
	char cwd[4096];
	size_t n = strlen(db_path);
	int len;

	if (n == 0 || n >= sizeof r->db_path)
		return reg_fail(r, RK_EINVAL, "the database path is too long");
	/* A PostgreSQL URL is no path to make absolute. */
	if (db_path[0] == '/' || store_is_url(db_path)) {
		memcpy(r->db_path, db_path, n + 1);
		return RK_OK;
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		return reg_fail(r, RK_ESYS, "cannot tell the current folder");
	len = snprintf(r->db_path, sizeof r->db_path, "%s/%s", cwd, db_path);
	if (len < 0 || (size_t)len >= sizeof r->db_path)
		return reg_fail(r, RK_EINVAL, "the database path is too long");
	return RK_OK;
}

rk_status rk_register_init(const char *db_path, const char *key_path,
			   const char *policy_path, rk_register **out)
{
	rk_register *r;
	rk_status st = RK_OK;
	char *text = NULL;
	char err[REG_ERR_MAX] = "";
	char kid[SEC_KEYID_HEX + 1];
	struct first_diag fd = {0, ""};
	int made_key = 0, made_db = 0;
	audit_ev ev;

	*out = r = reg_new();
	if (r == NULL)
		return RK_ESYS;
	if (db_path == NULL || key_path == NULL || policy_path == NULL) {
		st = reg_fail(r, RK_EINVAL,
			      "a database, key file and policy "
			      "are needed");
		goto out;
	}
	st = reg_set_key_path(r, key_path);
	if (st == RK_OK)
		st = reg_set_db_path(r, db_path);
	if (st != RK_OK)
		goto out;
	memcpy(r->db_path, db_path, strlen(db_path) + 1);
	if (sec_init() != 0) {
		st = reg_fail(r, RK_ESYS, "cannot initialise cryptography");
		goto out;
	}
	r->pol = policy_load_file(policy_path, keep_first_diag, &fd, &text);
	if (r->pol == NULL) {
		st = reg_fail(r, RK_EINVAL,
			      "the policy has %d problem%s, the first: %s; "
			      "see rekisteri policy check",
			      fd.count, fd.count == 1 ? "" : "s", fd.msg);
		goto out;
	}
	if (!store_is_url(db_path) && path_exists(db_path)) {
		st = reg_fail(r, RK_EINVAL,
			      "%s exists already: init never overwrites a "
			      "register",
			      db_path);
		goto out;
	}
	if (path_exists(key_path)) {
		st = reg_fail(r, RK_EINVAL,
			      "%s exists already: init never overwrites a key",
			      key_path);
		goto out;
	}
	r->mk = sec_key_alloc();
	r->ikey = sec_key_new();
	r->akey = sec_key_new();
	r->ckey = sec_key_alloc();
	if (r->mk == NULL || r->ikey == NULL || r->akey == NULL ||
	    r->ckey == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* Cookies are hashed with the index key until the first rotation
	 * gives the index key a successor. */
	memcpy(r->ckey, r->ikey, SEC_KEY_BYTES);
	if (sec_keyfile_create(key_path, r->mk, err, sizeof err) != 0) {
		st = reg_fail(r, RK_ESYS, "%s", err);
		goto out;
	}
	made_key = 1;
	r->st = store_open(db_path, 1, err, sizeof err);
	if (r->st == NULL) {
		st = reg_fail(r, RK_ESYS, "%s", err);
		goto out;
	}
	made_db = 1;
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	sec_key_id(r->mk, kid);
	if (r->st->vt->meta_set(r->st, META_FORMAT, (const unsigned char *)"1",
				1) != 0 ||
	    r->st->vt->meta_set(r->st, META_KEY_ID, (const unsigned char *)kid,
				strlen(kid)) != 0) {
		st = reg_store_fail(r, "cannot write the register");
		goto out;
	}
	st = reg_store_key(r, META_INDEX_KEY, AD_INDEX_KEY, r->ikey);
	if (st == RK_OK)
		st = reg_store_key(r, META_AUDIT_KEY, AD_AUDIT_KEY, r->akey);
	if (st == RK_OK)
		st = integ_create(r);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->policy_put(r->st, 1, text, reg_now(r)) != 0) {
		st = reg_store_fail(r, "cannot store the policy");
		goto out;
	}
	st = integ_policy_pin(r, 1, text);
	if (st != RK_OK)
		goto out;
	r->policy_version = 1;
	r->role = r->pol->settings.operator_role;
	audit_ev_set(&ev, r, ACTION_INIT, NULL, INIT_BOUND, NULL, "ok");
	/* The first entry starts the trail and its kept head. */
	r->head_adopt = 1;
	st = audit_write(r, &ev);
	r->head_adopt = 0;
	if (st != RK_OK)
		goto out;
	st = reg_commit(r);
out:
	if (st != RK_OK && r != NULL) {
		reg_rollback(r);
		if (r->st != NULL) {
			r->st->vt->close(r->st);
			r->st = NULL;
		}
		/* Leave nothing half made behind: a key without its register
		 * or a register without its key helps nobody. */
		/* A PostgreSQL database keeps its (empty) schema: the
		 * transaction that wrote the register was rolled back. */
		if (made_db && !store_is_url(db_path)) {
			char side[4096];
			unlink(db_path);
			snprintf(side, sizeof side, "%s-wal", db_path);
			unlink(side);
			snprintf(side, sizeof side, "%s-shm", db_path);
			unlink(side);
		}
		if (made_key)
			unlink(key_path);
	}
	free(text);
	return st;
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

rk_status rk_register_open(const char *db_path, const char *key_path,
			   rk_register **out)
{
	return reg_open(db_path, key_path, 1, out);
}

/* The master key comes from key_path, or from key when that is not NULL
 * (then there is no key file, and nothing to recover). */
static rk_status open_common(const char *db_path, const char *key_path,
			     const unsigned char *key, int recover,
			     rk_register **out);

rk_status reg_open(const char *db_path, const char *key_path, int recover,
		   rk_register **out)
{
	if (key_path == NULL) {
		*out = NULL;
		return RK_EINVAL;
	}
	return open_common(db_path, key_path, NULL, recover, out);
}

rk_status reg_open_key(const char *db_path, const unsigned char *key,
		       rk_register **out)
{
	return open_common(db_path, NULL, key, 0, out);
}

static rk_status open_common(const char *db_path, const char *key_path,
			     const unsigned char *key, int recover,
			     rk_register **out)
{
	rk_register *r;
	rk_status st = RK_OK;
	char err[REG_ERR_MAX] = "";
	char kid[SEC_KEYID_HEX + 1];
	unsigned char stored[64], wrapped[SEC_WRAPPED_BYTES];
	size_t len = 0;
	int rc, reading = 0, upgrade = 0;

	*out = r = reg_new();
	if (r == NULL)
		return RK_ESYS;
	if (db_path == NULL || (key_path == NULL && key == NULL)) {
		st = reg_fail(r, RK_EINVAL,
			      "a database and key file are "
			      "needed");
		goto out;
	}
	if (sec_init() != 0) {
		st = reg_fail(r, RK_ESYS, "cannot initialise cryptography");
		goto out;
	}
	if (strlen(db_path) >= sizeof r->db_path) {
		st = reg_fail(r, RK_EINVAL, "the database path is too long");
		goto out;
	}
	memcpy(r->db_path, db_path, strlen(db_path) + 1);
	if (!store_is_url(db_path) && !path_exists(db_path)) {
		st = reg_fail(r, RK_ENOTFOUND,
			      "no register at %s: create one with rekisteri "
			      "init",
			      db_path);
		goto out;
	}
	r->mk = sec_key_alloc();
	if (r->mk == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (key != NULL) {
		memcpy(r->mk, key, SEC_KEY_BYTES);
	} else if (sec_keyfile_load(key_path, r->mk, err, sizeof err) != 0) {
		st = reg_fail(r, RK_EINVAL, "%s", err);
		goto out;
	}
	r->st = store_open(db_path, 0, err, sizeof err);
	if (r->st == NULL) {
		st = reg_fail(r, RK_ESYS, "%s", err);
		goto out;
	}
	if (key_path != NULL)
		st = reg_set_key_path(r, key_path);
	/* Finishes or undoes a key rotation that a crash interrupted. */
	if (st == RK_OK && recover)
		st = keys_recover(r, key_path);
	if (st != RK_OK)
		goto out;
	/* One snapshot for the key id and the keys it wraps: a rotation
	 * committing in between would pair the old with the new. */
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	reading = 1;
	rc = r->st->vt->meta_get(r->st, META_KEY_ID, stored, sizeof stored,
				 &len);
	if (rc != 0) {
		st = rc == STORE_NOTFOUND
			     ? reg_fail(r, RK_EINTEGRITY,
					"the database is not a rekisteri "
					"register")
			     : reg_store_fail(r, "cannot read the register");
		goto out;
	}
	sec_key_id(r->mk, kid);
	/* A rotation elsewhere may have committed since the key file was
	 * read: its key is in the key file or its ".new" then. */
	if ((len != strlen(kid) || memcmp(stored, kid, len) != 0) &&
	    (!recover || keys_check_current(r) != RK_OK)) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the key file does not belong to this register");
		goto out;
	}
	st = reg_load_key(r, META_INDEX_KEY, AD_INDEX_KEY, &r->ikey);
	if (st == RK_OK)
		st = reg_load_key(r, META_AUDIT_KEY, AD_AUDIT_KEY, &r->akey);
	if (st != RK_OK)
		goto out;
	/* The row key first: the stored policy is checked against it. */
	st = integ_open(r, &upgrade);
	if (st != RK_OK)
		goto out;
	rc = r->st->vt->meta_get(r->st, META_COOKIE_KEY, wrapped,
				 sizeof wrapped, &len);
	if (rc == 0) {
		st = reg_load_key(r, META_COOKIE_KEY, AD_COOKIE_KEY, &r->ckey);
	} else if (rc == STORE_NOTFOUND) {
		r->ckey = sec_key_alloc(); /* never rotated: the index key */
		if (r->ckey == NULL)
			st = reg_fail(r, RK_ESYS, "out of memory");
		else
			memcpy(r->ckey, r->ikey, SEC_KEY_BYTES);
	} else {
		st = reg_store_fail(r, "cannot read the register");
	}
	if (st != RK_OK)
		goto out;
	reg_end_read(r);
	reading = 0;
	if (upgrade)
		st = integ_upgrade(r);
	if (st == RK_OK)
		st = reg_load_policy(r);
	if (st != RK_OK)
		goto out;
	if (recover) {
		st = reg_set_db_path(r, db_path);
		if (st != RK_OK)
			goto out;
		/* Read entries a stopped process left behind join the chain
		 * now; a busy register takes them in at a later open. */
		if (audit_take_orphans(r) != RK_OK)
			r->err[0] = '\0';
	}
	/* The operator holds the master key: the policy's operator role. */
	r->role = r->pol->settings.operator_role;
out:
	if (reading)
		reg_end_read(r);
	return st;
}

void rk_register_close(rk_register *r)
{
	if (r == NULL)
		return;
	if (r->st != NULL) {
		reg_rollback(r);
		rk_register_rollback(r);
		rk_register_group_rollback(r);
		/* Once more if the first failed at once (a key rotation
		 * elsewhere). A handle whose last commit of its entries
		 * failed (a busy register) does not wait again: the journal
		 * keeps them for the next handle. */
		if (r->nqueue > 0 && !r->flush_failed &&
		    audit_flush(r) != RK_OK && !r->flush_failed)
			(void)audit_flush(r);
		r->st->vt->close(r->st);
	}
	/* Entries that could not be committed stay in the journal, which
	 * the next handle takes in. */
	ajournal_close(r->aj, r->nqueue == 0);
	policy_free(r->pol);
	sec_key_free(r->mk);
	sec_key_free(r->ikey);
	sec_key_free(r->akey);
	sec_key_free(r->akey_prev);
	sec_key_free(r->rkey);
	sec_key_free(r->ckey);
	sec_wipe(r->auth_token_hash, sizeof r->auth_token_hash);
	free(r->queue);
	free(r);
}

const char *rk_errmsg(const rk_register *r)
{
	return r == NULL ? "out of memory" : r->err;
}

rk_status rk_register_set_actor(rk_register *r, const char *actor)
{
	size_t n;
	const char *why = NULL;
	char canon[REG_ACTOR_MAX];

	if (r->authenticated)
		return reg_fail(r, RK_EREFUSED,
				"an authenticated actor keeps its own name");
	if (actor == NULL)
		return reg_fail(r, RK_EINVAL, "an actor name is needed");
	n = strlen(actor);
	if (n == 0 || n >= REG_ACTOR_MAX ||
	    ident_text(actor, REG_ACTOR_MAX - 1, canon, sizeof canon, &why) !=
		    0 ||
	    strchr(actor, ',') != NULL)
		return reg_fail(r, RK_EINVAL,
				"an actor name is 1-%d characters of text "
				"without commas",
				REG_ACTOR_MAX - 1);
	{
		/* The operator may not write in an actor's name. */
		store_actor a;
		int rc = r->st->vt->actor_get(r->st, canon, &a);
		if (rc == 0)
			return reg_fail(r, RK_EINVAL,
					"%s is an actor's name: act as that "
					"actor with its token instead",
					canon);
		if (rc != STORE_NOTFOUND)
			return reg_store_fail(r, "cannot read actors");
	}
	memcpy(r->actor, canon, strlen(canon) + 1);
	return RK_OK;
}

void rk_register_set_audit_batch(rk_register *r, unsigned n)
{
	if (n < 1)
		n = 1;
	if (n > REG_AUDIT_BATCH_MAX)
		n = REG_AUDIT_BATCH_MAX;
	r->audit_batch = n;
}

rk_status rk_register_flush(rk_register *r)
{
	return r->nqueue > 0 ? audit_flush(r) : RK_OK;
}

void rk_register_set_clock(rk_register *r, int64_t unix_seconds)
{
	/* Years 1970-9999: dates print in four digits, and the clock in
	 * microseconds cannot overflow. */
	if (unix_seconds < 0 || unix_seconds > 253402300799)
		unix_seconds = 0;
	r->clock = unix_seconds;
}

int rk_register_policy_version(const rk_register *r)
{
	return r->policy_version;
}

/* ---- reloading after a policy change (policy_change.c) ---- */

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

rk_status reg_text_check(rk_register *r, const char *what, const char *in,
			 size_t max, char **out)
{
	const char *why = NULL;
	size_t cap;

	*out = NULL;
	if (in == NULL || in[0] == '\0')
		return reg_fail(r, RK_EINVAL, "the %s is needed", what);
	cap = strlen(in) + 1;
	if (cap > max * 2)
		return reg_fail(r, RK_EINVAL, "the %s is at most %zu bytes",
				what, max);
	*out = malloc(cap);
	if (*out == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (ident_text_lines(in, max, *out, cap, &why) != 0) {
		free(*out);
		*out = NULL;
		return reg_fail(r, RK_EINVAL,
				"%s: %s (at most %zu bytes of text, without a "
				"HETU or card number)",
				what, why, max);
	}
	return RK_OK;
}

/* ---- small helpers every module uses ---- */

void reg_free_secret(char *s)
{
	if (s != NULL) {
		sec_wipe(s, strlen(s));
		free(s);
	}
}

int reg_valid_id(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != RK_ID_LEN)
		return 0;
	for (i = 0; i < RK_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- group commit -----------------------------------------------------------
 * rk_register_group_begin opens one write transaction; every write inside
 * it (reg_begin_write .. reg_commit) runs in a savepoint that reg_rollback
 * undoes alone, and the audit entries of all of them chain in order in the
 * same transaction. rk_register_group_commit commits it with its log synced:
 * one sync for the whole group, and nothing of the group is visible or
 * durable before it (nor after a failed commit).
 */

static void snap_take(rk_register *r, struct reg_snap *sp)
{
	sp->head_valid = r->head_valid;
	sp->head_dirty = r->head_dirty;
	sp->head_seq = r->head_seq;
	memcpy(sp->head_hash, r->head_hash, sizeof sp->head_hash);
	sp->set_valid = r->set_valid;
	sp->set_dirty = r->set_dirty;
	memcpy(sp->set_acc, r->set_acc, sizeof sp->set_acc);
	sp->nqueue_in_txn = r->nqueue_in_txn;
	sp->policy_version = r->policy_version;
}

/* The database is back at the savepoint: so is the handle's view of it.
 * Queued entries the undone writes had carried are queued again. */
static void snap_restore(rk_register *r, const struct reg_snap *sp)
{
	r->head_valid = sp->head_valid;
	r->head_dirty = sp->head_dirty;
	r->head_seq = sp->head_seq;
	memcpy(r->head_hash, sp->head_hash, sizeof r->head_hash);
	r->set_valid = sp->set_valid;
	r->set_dirty = sp->set_dirty;
	memcpy(r->set_acc, sp->set_acc, sizeof r->set_acc);
	r->nqueue_in_txn = sp->nqueue_in_txn;
	/* A policy change undone: the handle reads the policy in force. */
	if (r->policy_version != sp->policy_version &&
	    reg_reload_policy(r) != RK_OK)
		r->group_spoiled = 1;
}

static rk_status group_op_begin(rk_register *r, int level)
{
	if (r->group_spoiled)
		return reg_fail(r, RK_ESYS,
				"an earlier write of this group could not be "
				"undone: roll the group back");
	if (r->st->vt->savepoint(r->st, level) != 0)
		return reg_store_fail(r, "cannot start a write");
	snap_take(r, &r->snap[level]);
	return RK_OK;
}

static void group_op_undo(rk_register *r, int level)
{
	/* A savepoint that cannot be undone leaves the group with writes
	 * that failed: only the whole group can go. */
	if (r->st->vt->savepoint_rollback(r->st, level) != 0)
		r->group_spoiled = 1;
	snap_restore(r, &r->snap[level]);
}

static rk_status group_op_end(rk_register *r, int level)
{
	rk_status st;

	if (r->st->vt->savepoint_release(r->st, level) == 0)
		return RK_OK;
	st = reg_store_fail(r, "cannot commit");
	group_op_undo(r, level);
	return st;
}

void reg_wal_scrub(rk_register *r)
{
	if (r->group)
		r->group_scrub = 1;
	else
		(void)r->st->vt->checkpoint(r->st);
}

rk_status rk_register_group_begin(rk_register *r)
{
	rk_status st;

	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"a bulk or group transaction is open already");
	/* The group's commit syncs the log: its answers may say "done". */
	if (r->st->vt->set_durable(r->st, 1) != 0)
		return reg_store_fail(r, "cannot make the group durable");
	if (r->st->vt->begin(r->st, 1) != 0) {
		st = reg_store_fail(r, "cannot start a group");
		(void)r->st->vt->set_durable(r->st, 0);
		return st;
	}
	st = keys_check_current(r);
	if (st != RK_OK) {
		r->st->vt->rollback(r->st);
		(void)r->st->vt->set_durable(r->st, 0);
		return st;
	}
	r->group = 1;
	r->group_policy = r->policy_version;
	r->group_spoiled = 0;
	r->group_scrub = 0;
	r->nqueue_in_txn = 0;
	r->head_valid = 0;
	r->head_dirty = 0;
	r->set_valid = r->set_dirty = 0;
	return RK_OK;
}

rk_status rk_register_group_commit(rk_register *r)
{
	rk_status st;
	int scrub = r->group_scrub;

	if (!r->group)
		return reg_fail(r, RK_EINVAL, "no group is open");
	if (r->bulk || r->in_write)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk transaction "
				"inside the group first");
	if (r->group_spoiled) {
		rk_register_group_rollback(r);
		return reg_fail(r, RK_ESYS,
				"a write of the group could not be undone, so "
				"none of the group was committed");
	}
	r->group = 0;
	r->group_scrub = 0;
	st = commit_txn(r);
	/* Should this fail, commits stay synced: slower, never less safe. */
	(void)r->st->vt->set_durable(r->st, 0);
	if (st == RK_OK && scrub)
		(void)r->st->vt->checkpoint(r->st);
	return st;
}

void rk_register_group_rollback(rk_register *r)
{
	if (!r->group)
		return;
	r->group = 0;
	r->group_spoiled = 0;
	r->group_scrub = 0;
	r->bulk = 0;
	r->bulk_spoiled = 0;
	r->in_write = 0;
	r->head_valid = 0;
	r->head_dirty = 0;
	r->set_valid = r->set_dirty = 0;
	r->st->vt->rollback(r->st);
	r->nqueue_in_txn = 0; /* they stay queued for the next write */
	akey_restore(r);
	(void)r->st->vt->set_durable(r->st, 0);
	/* A policy change of the group is undone with it. */
	if (r->policy_version != r->group_policy)
		(void)reg_reload_policy(r);
}
