/*
 * migrate.c: moving a register to another database, SQLite or PostgreSQL
 * (rk_register_migrate). The rows go as they are stored (store_copy): the
 * move opens nothing, so nothing leaves in plaintext. The copy is then
 * opened with the same key file and verified (the audit chain and every
 * row MAC) before the move counts as done.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "register.h"
#include "store.h"

rk_status rk_register_migrate(rk_register *r, const char *to_db, int64_t *rows)
{
	char err[REG_ERR_MAX] = "";
	rk_register *t = NULL;
	rk_audit_report rep;
	struct stat sb;
	int64_t n = 0;
	rk_status st;

	if (rows)
		*rows = 0;
	st = access_admin(r, AUD_REGISTER_MIGRATE, "move the register");
	if (st != RK_OK)
		return st;
	if (to_db == NULL || to_db[0] == '\0')
		return reg_fail(r, RK_EINVAL, "a target database is needed");
	if (r->bulk)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk transaction "
				"before a move");
	if (strcmp(to_db, r->db_path) == 0)
		return reg_fail(r, RK_EINVAL,
				"the target is the register's own database");
	if (!store_is_url(to_db) && lstat(to_db, &sb) == 0)
		return reg_fail(r, RK_EINVAL,
				"%s exists already: a move never overwrites a "
				"file",
				to_db);
	/* The reads this handle made so far go along. */
	st = rk_register_flush(r);
	if (st != RK_OK)
		return st;
	if (store_copy(r->db_path, to_db, &n, err, sizeof err) != 0) {
		/* a SQLite file that did not get whole is no register */
		if (!store_is_url(to_db))
			(void)unlink(to_db);
		return reg_fail(r, RK_ESYS, "cannot move the register: %s",
				err);
	}
	/* The copy answers to the same key and verifies whole. */
	st = reg_open(to_db, r->key_path, 0, &t);
	if (st == RK_OK)
		st = rk_audit_verify(t, &rep);
	if (st == RK_OK)
		st = rk_integrity_verify(t, &rep);
	if (st != RK_OK) {
		snprintf(err, sizeof err, "%s",
			 t ? rk_errmsg(t) : "cannot open it");
		rk_register_close(t);
		return reg_fail(r,
				st == RK_EINTEGRITY ? RK_EINTEGRITY : RK_ESYS,
				"the moved register does not verify: %s", err);
	}
	rk_register_close(t);
	/* The source's trail records the move after the copy, like a
	 * backup's. */
	st = reg_begin_write(r);
	if (st == RK_OK) {
		st = reg_write_commit(r, AUD_REGISTER_MIGRATE, NULL, NULL,
				      NULL);
		if (st != RK_OK) /* a failed commit is undone too */
			reg_rollback(r);
	}
	if (st == RK_OK && rows)
		*rows = n;
	return st;
}
