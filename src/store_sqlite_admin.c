/*
 * store_sqlite_admin.c: administration of the SQLite backend: re-wrapped
 * subject keys, subject deletion, online backups, restores and
 * checkpoints.
 *
 * A backup is SQLite's online backup API run inside one read transaction
 * of this handle: in WAL mode that reader pins one snapshot, so the copy is
 * consistent and is never restarted by other writers, and those writers
 * are not blocked by it. A restore copies the rows of every table of a
 * checked backup inside the caller's write transaction, so it commits or
 * rolls back together with whatever the caller does around it (replaying
 * erasures, the audit entry). Table names come from the schema itself and
 * are checked to be plain identifiers; every value travels as a bound
 * parameter.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fsutil.h"
#include "store.h"
#include "store_sqlite_int.h"

enum {
	ST_SUBJ_SET_KEY = SQX_ADMIN,
	ST_SUBJ_DELETE,
	ST_BIDX_WALK,
	ST_SET_BIDX,
	ST_CT_SET /* four slots, one per enum store_ct */
};

#define BACKUP_PAGES	  256 /* pages per backup step */
#define BACKUP_BUSY_MS	  10000
#define BUSY_TIMEOUT_MS	  10000
#define ADMIN_PATH_MAX	  4096
#define ADMIN_TABLES_MAX  64
#define ADMIN_TABLE_NAME  64
#define ADMIN_SQL_MAX	  1024
#define ADMIN_SCHEMA_ROWS (ADMIN_TABLES_MAX * 8)
#define ADMIN_SCHEMA_QUERY                                                     \
	"SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master"    \
	" WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"                        \
	" OR name = 'sqlite_sequence' ORDER BY type, name"

int sqx_subject_set_key(store *s, const char *id,
			const unsigned char wrapped[SEC_WRAPPED_BYTES])
{
	static const char what[] = "subject set key";
	const struct sqx_arg args[] = {
		SQX_T(id), SQX_B(wrapped, SEC_WRAPPED_BYTES), SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_SUBJ_SET_KEY, what,
				 "UPDATE subject SET wrapped_key = ?2"
				 " WHERE id = ?1"),
			what, args, NULL, "no such subject");
}

int sqx_subject_delete(store *s, const char *id)
{
	static const char what[] = "subject delete";
	const struct sqx_arg args[] = {SQX_T(id), SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_SUBJ_DELETE, what,
				 "DELETE FROM subject WHERE id = ?1"),
			what, args, NULL, "no such subject");
}

/* WAL with synchronous=NORMAL syncs the log only at checkpoints, so a
 * commit can vanish in a power cut; FULL syncs it at every commit. */
int sqx_set_durable(store *s, int on)
{
	sqlite3 *db = sqx_db(s);
	int rc;

	if (!sqlite3_get_autocommit(db))
		return sqx_error(s, "durable commits",
				 "cannot change inside a transaction");
	rc = sqlite3_exec(db,
			  on ? "PRAGMA synchronous = FULL"
			     : "PRAGMA synchronous = NORMAL",
			  NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sqx_fail(s, "durable commits", rc);
}

struct bidx_walk {
	const char *subject_id;
	store_value_fn fn;
	void *ud;
};

static int bidx_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct bidx_walk *w = ud;
	store_value v;

	memset(&v, 0, sizeof v);
	v.rowid = sqlite3_column_int64(st, 0);
	v.subject_id = w->subject_id;
	v.field = sqx_col_text(st, 1);
	v.ct = sqlite3_column_blob(st, 2);
	v.ctlen = (size_t)sqlite3_column_bytes(st, 2);
	if (v.field == NULL || (v.ct == NULL && v.ctlen > 0)) {
		sqx_error(s, "blind index walk", "bad row");
		return -1;
	}
	return w->fn(w->ud, &v) != 0;
}

int sqx_value_bidx_walk(store *s, const char *subject_id, store_value_fn fn,
			void *ud)
{
	static const char what[] = "blind index walk";
	struct bidx_walk w = {subject_id, fn, ud};
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_ARGS_END};

	return sqx_walk(s,
			sqx_stmt(s, ST_BIDX_WALK, what,
				 "SELECT id, field, ciphertext FROM value"
				 " WHERE subject_id = ?1 AND bidx IS NOT NULL"
				 " ORDER BY id"),
			what, args, bidx_row, &w);
}

int sqx_ciphertext_set(store *s, enum store_ct kind, int64_t id, int64_t seq,
		       const unsigned char *ct, size_t len)
{
	static const char *const sql[] = {
		[STORE_CT_VALUE] = "UPDATE value SET ciphertext = ?3"
				   " WHERE id = ?1",
		[STORE_CT_RECORD] = "UPDATE record SET ciphertext = ?3"
				    " WHERE id = ?1",
		[STORE_CT_CHUNK] = "UPDATE attachment_chunk SET ciphertext = ?3"
				   " WHERE record_id = ?1 AND seq = ?2",
		[STORE_CT_EVIDENCE] = "UPDATE consent SET evidence = ?3"
				      " WHERE id = ?1 AND evidence IS NOT NULL",
	};
	/* Every form numbers the ciphertext ?3; only a chunk's uses ?2. */
	const struct sqx_arg args[] = {SQX_I(id), SQX_I(seq), SQX_B(ct, len),
				       SQX_ARGS_END};

	if ((unsigned)kind >= sizeof sql / sizeof sql[0])
		return sqx_error(s, "ciphertext set", "unknown kind");
	return sqx_exec(
		s,
		sqx_stmt(s, ST_CT_SET + (int)kind, "ciphertext set", sql[kind]),
		"ciphertext set", args, NULL, "no such row");
}

int sqx_value_set_bidx(store *s, int64_t rowid,
		       const unsigned char bidx[SEC_BIDX_BYTES])
{
	static const char what[] = "blind index set";
	const struct sqx_arg args[] = {
		SQX_I(rowid), SQX_B(bidx, SEC_BIDX_BYTES), SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_SET_BIDX, what,
				 "UPDATE value SET bidx = ?2"
				 " WHERE id = ?1 AND bidx IS NOT NULL"),
			what, args, NULL, NULL);
}

/* ---- file helpers ---- */

static void unlink_with_sidecars(const char *path)
{
	static const char *const sfx[] = {"-journal", "-wal", "-shm"};
	char p[ADMIN_PATH_MAX + 16];

	(void)unlink(path);
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		int n = snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		if (n > 0 && (size_t)n < sizeof p)
			(void)unlink(p);
	}
}

static int db_error(store *s, const char *what, sqlite3 *db, int rc)
{
	return sqx_error(s, what,
			 db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* ---- backup ---- */

int sqx_backup_to(store *s, const char *path)
{
	sqlite3 *db = sqx_db(s), *dst = NULL;
	sqlite3_backup *b = NULL;
	int fd, rc, ret = STORE_ERR, created = 0, began = 0, waited = 0;

	if (path == NULL || path[0] == '\0' || strlen(path) >= ADMIN_PATH_MAX)
		return sqx_error(s, "backup", "no usable file name given");
	/* O_EXCL and O_NOFOLLOW: never take over an existing file or a
	 * symlink; 0600 because the copy holds (encrypted) personal data. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return sqx_error(s, "backup",
					 "the file exists already; a backup "
					 "never overwrites one");
		return sqx_error(s, "backup", strerror(errno));
	}
	created = 1;
	rc = fchmod(fd, 0600);
	if (close(fd) != 0 || rc != 0) {
		sqx_error(s, "backup", strerror(errno));
		goto out;
	}
	rc = sqlite3_open_v2(path, &dst,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		db_error(s, "backup", dst, rc);
		goto out;
	}
	sqlite3_busy_timeout(dst, BUSY_TIMEOUT_MS);
	/* One read transaction for the whole copy: a single snapshot, so the
	 * steps never restart under concurrent writers (see the top). */
	if (sqlite3_get_autocommit(db)) {
		rc = sqlite3_exec(db,
				  "BEGIN DEFERRED;"
				  " SELECT count(*) FROM sqlite_master",
				  NULL, NULL, NULL);
		began = 1;
		if (rc != SQLITE_OK) {
			sqx_fail(s, "backup", rc);
			goto out;
		}
	}
	b = sqlite3_backup_init(dst, "main", db, "main");
	if (b == NULL) {
		db_error(s, "backup", dst, SQLITE_ERROR);
		goto out;
	}
	for (;;) {
		rc = sqlite3_backup_step(b, BACKUP_PAGES);
		if (rc == SQLITE_OK)
			continue;
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
		    waited < BACKUP_BUSY_MS) {
			sqlite3_sleep(5);
			waited += 5;
			continue;
		}
		break;
	}
	if (rc != SQLITE_DONE) {
		sqlite3_backup_finish(b);
		b = NULL;
		sqx_fail(s, "backup", rc);
		goto out;
	}
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		db_error(s, "backup", dst, rc);
		goto out;
	}
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		sqx_fail(s, "backup", rc);
		goto out;
	}
	if (fs_sync_new_file(path) != 0) {
		sqx_error(s, "backup: cannot sync the copy", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (began && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (dst != NULL)
		sqlite3_close(dst);
	if (ret != 0 && created)
		unlink_with_sidecars(path); /* created above: ours */
	return ret;
}

/* ---- restore ---- */

/* Every row of a one-column check must read "ok" (integrity_check) or
 * there must be no row at all (foreign_key_check: want_ok 0). */
static int check_pragma(store *s, sqlite3 *src, const char *sql, int want_ok,
			const char *problem)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = STORE_ERR, rows = 0, bad = 0;

	rc = sqlite3_prepare_v2(src, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		db_error(s, "restore", src, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		rows++;
		if (!want_ok || t == NULL || strcmp((const char *)t, "ok") != 0)
			bad = 1;
	}
	if (rc != SQLITE_DONE) {
		/* A damaged file fails here rather than with a row. */
		sqx_error(s, "restore", problem);
		goto out;
	}
	if (bad || (want_ok && rows == 0)) {
		sqx_error(s, "restore", problem);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

struct schema {
	char *rows[ADMIN_SCHEMA_ROWS];
	size_t n;
};

static void schema_free(struct schema *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->rows[i]);
	sc->n = 0;
}

/* The schema as "type name tbl_name sql" lines, sorted by the query. */
static int schema_read(store *s, sqlite3 *db, struct schema *sc)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = STORE_ERR;

	sc->n = 0;
	rc = sqlite3_prepare_v2(db, ADMIN_SCHEMA_QUERY, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		db_error(s, "restore", db, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c[4];
		size_t len = 0, off = 0;
		char *row;

		for (int i = 0; i < 4; i++) {
			c[i] = (const char *)sqlite3_column_text(st, i);
			if (c[i] == NULL)
				c[i] = "";
			len += strlen(c[i]) + 1;
		}
		if (sc->n == ADMIN_SCHEMA_ROWS) {
			sqx_error(s, "restore", "the schema is too large");
			goto out;
		}
		row = malloc(len);
		if (row == NULL) {
			sqx_error(s, "restore", "out of memory");
			goto out;
		}
		for (int i = 0; i < 4; i++) {
			size_t k = strlen(c[i]);
			memcpy(row + off, c[i], k);
			off += k;
			row[off++] = i < 3 ? '\x1f' : '\0';
		}
		sc->rows[sc->n++] = row;
	}
	if (rc != SQLITE_DONE) {
		db_error(s, "restore", db, rc);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* The backup must have exactly this database's schema (store_sqlite_open
 * migrates an older backup first), so that rows copy column for column. */
static int same_schema(store *s, sqlite3 *db, sqlite3 *src)
{
	struct schema a = {{NULL}, 0}, b = {{NULL}, 0};
	int ret = STORE_ERR;

	if (schema_read(s, db, &a) != 0 || schema_read(s, src, &b) != 0)
		goto out;
	if (a.n != b.n) {
		sqx_error(s, "restore",
			  "the backup's schema differs from the register's");
		goto out;
	}
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(a.rows[i], b.rows[i]) != 0) {
			sqx_error(s, "restore",
				  "the backup's schema differs from the "
				  "register's");
			goto out;
		}
	ret = 0;
out:
	schema_free(&a);
	schema_free(&b);
	return ret;
}

/* Copies every row of table (one of ours, a constant name) from src into
 * this database's (emptied) table, values bound one by one. */
static int copy_table(store *s, sqlite3 *db, sqlite3 *src, const char *table)
{
	sqlite3_stmt *rd = NULL, *wr = NULL;
	char sql[ADMIN_SQL_MAX];
	size_t off;
	int rc, ncol, n, ret = STORE_ERR;

	n = snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
	if (n < 0 || (size_t)n >= sizeof sql)
		return sqx_error(s, "restore", "table name too long");
	rc = sqlite3_prepare_v2(src, sql, -1, &rd, NULL);
	if (rc != SQLITE_OK) {
		db_error(s, "restore", src, rc);
		goto out;
	}
	ncol = sqlite3_column_count(rd);
	n = snprintf(sql, sizeof sql, "INSERT INTO \"%s\" VALUES (", table);
	if (n < 0 || (size_t)n >= sizeof sql || ncol < 1 || ncol > 64) {
		sqx_error(s, "restore", "unexpected table shape");
		goto out;
	}
	off = (size_t)n;
	for (int i = 1; i <= ncol; i++) {
		n = snprintf(sql + off, sizeof sql - off, "%s?%d",
			     i > 1 ? ", " : "", i);
		if (n < 0 || (size_t)n >= sizeof sql - off) {
			sqx_error(s, "restore", "unexpected table shape");
			goto out;
		}
		off += (size_t)n;
	}
	if (off + 2 > sizeof sql) {
		sqx_error(s, "restore", "unexpected table shape");
		goto out;
	}
	memcpy(sql + off, ")", 2);
	rc = sqlite3_prepare_v2(db, sql, -1, &wr, NULL);
	if (rc != SQLITE_OK) {
		db_error(s, "restore", db, rc);
		goto out;
	}
	while ((rc = sqlite3_step(rd)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			rc = sqlite3_bind_value(wr, i + 1,
						sqlite3_column_value(rd, i));
			if (rc != SQLITE_OK) {
				sqx_fail(s, "restore", rc);
				goto out;
			}
		}
		rc = sqlite3_step(wr);
		sqlite3_reset(wr);
		if (rc != SQLITE_DONE) {
			sqx_fail(s, "restore", rc);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		sqx_error(s, "restore", "the backup cannot be read completely");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(rd);
	sqlite3_finalize(wr);
	return ret;
}

static int exec_sql(store *s, sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sqx_fail(s, "restore", rc);
}

int sqx_restore_from(store *s, const char *path, int keep_audit)
{
	sqlite3 *db = sqx_db(s), *src = NULL;
	struct stat sb;
	int rc, ret = STORE_ERR;

	if (sqlite3_get_autocommit(db))
		return sqx_error(s, "restore",
				 "needs an open write transaction");
	if (path == NULL || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return sqx_error(s, "restore", "the backup is not a file");
	/* Read-write without create: a read-only connection would leave
	 * -wal and -shm files beside the backup. Nothing is written. */
	rc = sqlite3_open_v2(path, &src,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		db_error(s, "restore", src, rc);
		goto out;
	}
	sqlite3_busy_timeout(src, BUSY_TIMEOUT_MS);
	if (exec_sql(s, src, "BEGIN DEFERRED") != 0)
		goto out;
	if (check_pragma(s, src, "PRAGMA integrity_check", 1,
			 "the backup is damaged (integrity check failed)") !=
		    0 ||
	    check_pragma(s, src, "PRAGMA foreign_key_check", 0,
			 "the backup is damaged (rows without their "
			 "subject)") != 0 ||
	    same_schema(s, db, src) != 0)
		goto out;
	/* Only the data comes back: subjects and what hangs on them. What
	 * must never go back stays as it is live: the register's keys and
	 * counters (meta), notice versions, actors (a revoked token stays
	 * revoked), the consent ledger (append-only, so the live one holds
	 * the backup's; a withdrawal or objection made since stays), the
	 * record numbers handed out (sqlite_sequence) and, unless it is
	 * broken, the audit trail, which holds the backup's entries too. */
	static const char *const data_tables[] = {"subject", "value",
						  "record",  "attachment_chunk",
						  "cookie",  "audit"};
	size_t ndata = sizeof data_tables / sizeof data_tables[0] -
		       (keep_audit ? 1 : 0);
	/* Rows are deleted and copied in any order; the foreign keys are
	 * checked once, at the caller's commit. Deleting subjects cascades
	 * to their consents: the live ledger waits in a temporary table. */
	/* Requests stay live too, but their link to a subject is set to NULL
	 * by the delete: the links wait in a temporary table and come back
	 * for the subjects that are there again. */
	if (exec_sql(s, db, "PRAGMA defer_foreign_keys = ON") != 0 ||
	    exec_sql(s, db,
		     "CREATE TEMP TABLE rk_live_consent AS"
		     " SELECT * FROM main.consent") != 0 ||
	    exec_sql(s, db,
		     "CREATE TEMP TABLE rk_live_dsr AS SELECT id, subject_id"
		     " FROM main.dsr WHERE subject_id IS NOT NULL") != 0 ||
	    exec_sql(s, db, "DELETE FROM main.subject") != 0)
		goto out;
	for (size_t i = 0; i < ndata; i++) {
		char del[64];
		int m = snprintf(del, sizeof del, "DELETE FROM main.\"%s\"",
				 data_tables[i]);
		if (m < 0 || (size_t)m >= sizeof del ||
		    exec_sql(s, db, del) != 0)
			goto out;
	}
	for (size_t i = 0; i < ndata; i++)
		if (copy_table(s, db, src, data_tables[i]) != 0)
			goto out;
	/* The ledger of every subject that is there again. */
	if (exec_sql(s, db,
		     "INSERT INTO main.consent SELECT * FROM"
		     " temp.rk_live_consent WHERE subject_id IN"
		     " (SELECT id FROM main.subject)") != 0 ||
	    exec_sql(s, db, "DROP TABLE temp.rk_live_consent") != 0 ||
	    exec_sql(s, db,
		     "UPDATE main.dsr SET subject_id = (SELECT t.subject_id"
		     " FROM temp.rk_live_dsr t WHERE t.id = main.dsr.id)"
		     " WHERE id IN (SELECT t.id FROM temp.rk_live_dsr t"
		     " WHERE t.subject_id IN (SELECT id FROM main.subject))") !=
		    0 ||
	    exec_sql(s, db, "DROP TABLE temp.rk_live_dsr") != 0)
		goto out;
	ret = 0;
out:
	if (src != NULL) {
		if (!sqlite3_get_autocommit(src))
			(void)sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(src);
	}
	return ret;
}
