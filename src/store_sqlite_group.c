/*
 * store_sqlite_group.c: savepoints for the operations of a group commit
 * (rk_register_group_begin). Each operation of a group runs in a savepoint
 * of the group's one write transaction, so that a failing operation undoes
 * only its own writes. Statements live in the slots SQX_GROUP + 0..5.
 */
#include <stddef.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

/* Two levels: an operation's savepoint and one nested in it. Names are
 * fixed: a savepoint's name cannot be a bound parameter. */
enum {
	SG_BEGIN = SQX_GROUP,
	SG_BEGIN_NESTED,
	SG_RELEASE,
	SG_RELEASE_NESTED,
	SG_ROLLBACK,
	SG_ROLLBACK_NESTED,
	SG_ROLLBACK_END,
	SG_ROLLBACK_END_NESTED
};

static int run(store *s, int slot, const char *what, const char *sql)
{
	sqlite3_stmt *st = sqx_stmt(s, slot, what, sql);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_step(st);
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, what, rc);
}

int sqx_savepoint(store *s, int level)
{
	/* Only inside the open transaction: a savepoint outside one would
	 * begin a transaction of its own. */
	if (sqlite3_get_autocommit(sqx_db(s)))
		return sqx_error(s, "savepoint", "no transaction is open");
	return level == 0 ? run(s, SG_BEGIN, "savepoint", "SAVEPOINT rk_op")
			  : run(s, SG_BEGIN_NESTED, "savepoint",
				"SAVEPOINT rk_nested");
}

int sqx_savepoint_release(store *s, int level)
{
	return level == 0 ? run(s, SG_RELEASE, "release savepoint",
				"RELEASE rk_op")
			  : run(s, SG_RELEASE_NESTED, "release savepoint",
				"RELEASE rk_nested");
}

int sqx_savepoint_rollback(store *s, int level)
{
	/* ROLLBACK TO keeps the savepoint open: RELEASE ends it, writing
	 * nothing (its changes are gone). */
	if (level == 0)
		return run(s, SG_ROLLBACK, "roll back to savepoint",
			   "ROLLBACK TO rk_op") != 0
			       ? STORE_ERR
			       : run(s, SG_ROLLBACK_END,
				     "roll back to savepoint", "RELEASE rk_op");
	return run(s, SG_ROLLBACK_NESTED, "roll back to savepoint",
		   "ROLLBACK TO rk_nested") != 0
		       ? STORE_ERR
		       : run(s, SG_ROLLBACK_END_NESTED,
			     "roll back to savepoint", "RELEASE rk_nested");
}
