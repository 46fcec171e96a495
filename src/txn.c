/*
 * txn.c: a write transaction as the operations see it, composed of the
 * layers below: reg_begin_write (keys_load.c) takes a rotated key first;
 * reg_commit carries the read audit queue, keeps the trail's head and
 * writes the subject rows' sum (integ_commit); reg_rollback undoes the
 * store and the handle's view (register.c) and reads the policy in force
 * again when the undone write had changed it. The bulk transaction and the
 * group commit of the public API live here for the same reason.
 */
#include "crypto.h"
#include "integrity.h"
#include "register.h"
#include "store.h"

/* A savepoint undone took back a policy change: the handle reads the
 * policy in force (a group that cannot is spoiled, as its writes can no
 * longer be trusted to follow the policy). */
static void policy_follow(rk_register *r)
{
	if (!r->policy_undone)
		return;
	r->policy_undone = 0;
	if (reg_reload_policy(r) != RK_OK)
		r->group_spoiled = 1;
}

rk_status reg_commit(rk_register *r)
{
	rk_status st = integ_commit(r);

	policy_follow(r);
	return st;
}

void reg_rollback(rk_register *r)
{
	reg_txn_rollback(r);
	policy_follow(r);
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
		st = reg_group_op_begin(r, 1);
		if (st != RK_OK)
			return st;
		r->bulk = 1;
		r->bulk_spoiled = 0;
		return RK_OK;
	}
	st = reg_txn_open_outer(r);
	if (st != RK_OK)
		return st;
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
	return RK_OK;
}

rk_status rk_register_commit(rk_register *r)
{
	rk_status st;

	if (!r->bulk)
		return reg_fail(r, RK_EINVAL, "no bulk transaction is open");
	if (r->bulk_spoiled) {
		rk_register_rollback(r);
		return reg_fail(r, RK_ESYS,
				"a write of the bulk transaction failed "
				"part-way, so none of it was committed");
	}
	r->bulk = 0;
	if (r->group) {
		st = reg_group_op_end(r, 1);
		policy_follow(r);
		return st;
	}
	return integ_commit_txn(r);
}

void rk_register_rollback(rk_register *r)
{
	if (!r->bulk)
		return;
	r->bulk = 0;
	r->bulk_spoiled = 0;
	r->in_write = 0;
	if (r->group) {
		reg_group_op_undo(r, 1);
		policy_follow(r);
		return;
	}
	reg_txn_abort(r);
}

/* ---- group commit -----------------------------------------------------------
 * rk_register_group_begin opens one write transaction; every write inside
 * it (reg_begin_write .. reg_commit) runs in a savepoint that reg_rollback
 * undoes alone, and the audit entries of all of them chain in order in the
 * same transaction. rk_register_group_commit commits it with its log synced:
 * one sync for the whole group, and nothing of the group is visible or
 * durable before it (nor after a failed commit).
 */

rk_status rk_register_group_begin(rk_register *r)
{
	rk_status st;

	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"a bulk or group transaction is open already");
	/* The group's commit syncs the log: its answers may say "done". */
	if (r->st->vt->set_durable(r->st, 1) != 0)
		return reg_store_fail(r, "cannot make the group durable");
	reg_drop_kept_read(r);
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
	r->policy_undone = 0;
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
	st = integ_commit_txn(r);
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
	r->policy_undone = 0;
	reg_txn_abort(r); /* the queued entries stay for the next write */
	(void)r->st->vt->set_durable(r->st, 0);
	/* A policy change of the group is undone with it. */
	if (r->policy_version != r->group_policy)
		(void)reg_reload_policy(r);
}
