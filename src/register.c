/*
 * register.c: the register handle (its error message, actor, clock, keys
 * in meta) and the plain store transaction under it: begin, commit and
 * roll back, bulk and group savepoints. Opening a register and composing a
 * write (keys, audit, row MACs) are the layers above: open.c, txn.c.
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
#include "policy.h"
#include "ajournal.h"
#include "register.h"
#include "store.h"

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
	/* The day's text made once a day per thread: every look-up asks for
	 * it, and the calendar arithmetic cost a tenth of the look-up's own
	 * work outside SQLite and the hashes. */
	static _Thread_local int64_t day = INT64_MIN;
	static _Thread_local char text[11];
	int64_t t = reg_now(r);
	int64_t d = t / 86400 - (t % 86400 < 0);

	if (d != day) {
		ident_date_of(t, text);
		day = d;
	}
	memcpy(out, text, sizeof text);
}

/* ---- the plain store transaction ----
 * What composes a write (the rotated key taken first, the read entries
 * carried, the kept head and the subject rows' sum written before the
 * commit) lives in the layers above: keys_load.c, audit.c, integrity.c and
 * txn.c, which call these. */

/* Forgets the handle's view of a transaction that ended or begins. */
static void txn_state_reset(rk_register *r)
{
	r->head_valid = 0;
	r->head_dirty = 0;
	r->set_valid = r->set_dirty = 0;
}

rk_status reg_txn_begin(rk_register *r, int *fresh)
{
	rk_status st;

	*fresh = 0;
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
		st = reg_group_op_begin(r, 0);
		if (st == RK_OK)
			r->in_write = 1;
		return st;
	}
	reg_drop_kept_read(r);
	if (r->st->vt->begin(r->st, 1) != 0)
		return reg_store_fail(r, "cannot start a write");
	*fresh = 1;
	r->in_write = 1;
	r->nqueue_in_txn = 0;
	txn_state_reset(r);
	return RK_OK;
}

rk_status reg_txn_open_outer(rk_register *r)
{
	reg_drop_kept_read(r);
	if (r->st->vt->begin(r->st, 1) != 0)
		return reg_store_fail(r, "cannot start a transaction");
	r->nqueue_in_txn = 0;
	txn_state_reset(r);
	return RK_OK;
}

int reg_txn_nested_end(rk_register *r, rk_status *st)
{
	r->in_write = 0;
	*st = RK_OK;
	if (r->bulk)
		return 1; /* rk_register_commit commits */
	if (r->group) {
		*st = reg_group_op_end(r, 0); /* the group commits */
		return 1;
	}
	return 0;
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

rk_status reg_txn_end(rk_register *r, rk_status st)
{
	txn_state_reset(r);
	if (st != RK_OK || r->st->vt->commit(r->st) != 0) {
		if (st == RK_OK)
			st = reg_store_fail(r, "cannot commit");
		r->st->vt->rollback(r->st);
		r->nqueue_in_txn = 0;
		akey_restore(r);
		return st;
	}
	queue_committed(r);
	sec_key_free(r->akey_prev);
	r->akey_prev = NULL;
	return RK_OK;
}

void reg_txn_abort(rk_register *r)
{
	txn_state_reset(r);
	r->st->vt->rollback(r->st);
	r->nqueue_in_txn = 0; /* they stay queued for the next write */
	akey_restore(r);
}

void reg_txn_rollback(rk_register *r)
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
		reg_group_op_undo(r, 0);
		return;
	}
	r->head_valid = 0;
	r->head_dirty = 0;
	r->set_valid = r->set_dirty = 0;
	r->read_kept = 0; /* the rollback ends it too */
	r->st->vt->rollback(r->st);
	r->nqueue_in_txn = 0; /* they stay queued for the next write */
	akey_restore(r);
}

void reg_drop_kept_read(rk_register *r)
{
	if (!r->read_kept)
		return;
	r->read_kept = 0;
	r->st->vt->rollback(r->st);
}

rk_status reg_begin_read(rk_register *r)
{
	if (r->bulk || r->group)
		return RK_OK;
	if (r->read_kept) {
		/* the authentication's snapshot, taken over by this read */
		r->read_kept = 0;
		return RK_OK;
	}
	if (r->st->vt->begin(r->st, 0) != 0)
		return reg_store_fail(r, "cannot read");
	return RK_OK;
}

void reg_end_read(rk_register *r)
{
	if (!r->bulk && !r->group) {
		r->read_kept = 0;
		r->st->vt->rollback(r->st);
	}
}

void rk_register_set_request_snapshot(rk_register *r, int on)
{
	if (r == NULL)
		return;
	r->keep_auth_read = on != 0;
	if (!on && r->st != NULL)
		reg_drop_kept_read(r);
}

void rk_register_release(rk_register *r)
{
	if (r != NULL && r->st != NULL)
		reg_drop_kept_read(r);
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

rk_status reg_open_bare(const char *db_path, const unsigned char *key,
			rk_register **out)
{
	rk_register *r;
	char err[REG_ERR_MAX] = "";

	*out = r = reg_new();
	if (r == NULL)
		return RK_ESYS;
	r->mk = sec_key_alloc();
	if (r->mk == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	memcpy(r->mk, key, SEC_KEY_BYTES);
	r->st = store_open(db_path, 0, err, sizeof err);
	if (r->st == NULL)
		return reg_fail(r, RK_ESYS, "%s", err);
	return RK_OK;
}

void reg_free(rk_register *r)
{
	if (r == NULL)
		return;
	if (r->st != NULL)
		r->st->vt->close(r->st);
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
	sec_kst_free(r->kst_akey);
	sec_kst_free(r->kst_ikey);
	sec_wipe(r->auth_token_plain, sizeof r->auth_token_plain);
	free(r->queue);
	free(r);
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

int reg_path_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 || errno != ENOENT;
}

/* The key file's path, kept for key rotation and restore. */
rk_status reg_set_key_path(rk_register *r, const char *key_path)
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
rk_status reg_set_db_path(rk_register *r, const char *db_path)
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
	/* A policy change undone: the handle must read the policy in force,
	 * which txn.c does before the call returns (the stored policy is
	 * loaded only as its MAC pins it, a layer above this one). */
	if (r->policy_version != sp->policy_version)
		r->policy_undone = 1;
}

rk_status reg_group_op_begin(rk_register *r, int level)
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

void reg_group_op_undo(rk_register *r, int level)
{
	/* A savepoint that cannot be undone leaves the group with writes
	 * that failed: only the whole group can go. */
	if (r->st->vt->savepoint_rollback(r->st, level) != 0)
		r->group_spoiled = 1;
	snap_restore(r, &r->snap[level]);
}

rk_status reg_group_op_end(rk_register *r, int level)
{
	rk_status st;

	if (r->st->vt->savepoint_release(r->st, level) == 0)
		return RK_OK;
	st = reg_store_fail(r, "cannot commit");
	reg_group_op_undo(r, level);
	return st;
}

void reg_wal_scrub(rk_register *r)
{
	if (r->group)
		r->group_scrub = 1;
	else
		(void)r->st->vt->checkpoint(r->st);
}

/* ---- checkpoints off the request path ---- */

rk_status rk_register_defer_checkpoints(rk_register *r, int pages)
{
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	if (pages < 0)
		return reg_fail(r, RK_EINVAL, "pages must be 0 or more");
	if (r->st->vt->defer_checkpoints(r->st, pages) != 0)
		return reg_store_fail(r, "cannot set how checkpoints run");
	return RK_OK;
}

rk_status rk_register_checkpoint_owed(rk_register *r, int *ran)
{
	int done = 0;

	if (ran != NULL)
		*ran = 0;
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	if (r->in_write || r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"a checkpoint runs outside transactions");
	if (r->st->vt->checkpoint_owed(r->st, &done) != 0)
		return reg_store_fail(r, "cannot checkpoint");
	if (ran != NULL)
		*ran = done;
	return RK_OK;
}
