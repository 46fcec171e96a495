/*
 * open.c: creating, opening and closing a register, which composes every
 * layer of the kernel: the handle and its store (register.c), a key
 * rotation recovered and the keys taken (keys_load.c), the row key and the
 * stored policy as pinned, a register from before the row MACs bound
 * (integrity.c), and the journals of stopped handles taken into the trail
 * (audit.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ajournal.h"
#include "crypto.h"
#include "integrity.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define META_FORMAT "format"

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

	*out = r = reg_blank();
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
	if (!store_is_url(db_path) && reg_path_exists(db_path)) {
		st = reg_fail(r, RK_EINVAL,
			      "%s exists already: init never overwrites a "
			      "register",
			      db_path);
		goto out;
	}
	if (reg_path_exists(key_path)) {
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
	audit_ev_set(&ev, r, AUD_REGISTER_INIT, NULL, INIT_BOUND_TAGS, NULL,
		     "ok");
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

	*out = r = reg_blank();
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
	if (!store_is_url(db_path) && !reg_path_exists(db_path)) {
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
	/* A register from before the self-service set's pin gets it once. */
	if (st == RK_OK)
		st = integ_selfsvc_open(r);
	/* A register from before the sums' tags gets them once; a backup
	 * is only read, as it was made. */
	if (st == RK_OK && recover)
		st = integ_sums_open(r);
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
	}
	reg_free(r);
}
