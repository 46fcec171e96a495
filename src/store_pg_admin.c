/*
 * store_pg_admin.c: backups, restores and checkpoints of the PostgreSQL
 * backend. A backup of a PostgreSQL register is the same portable file a
 * SQLite register's backup is: a SQLite database at the SQLite backend's
 * schema, its rows copied as they are stored (sealed values, wrapped keys,
 * MACs, the audit chain) by store_copy.c's table walk, from one snapshot.
 * So backup, restore and recover work the same on both backends, and a
 * PostgreSQL register's backup restores into either. It is a logical copy
 * of the register's rows, not a backup of the cluster (docs/postgresql.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "fsutil.h"
#include "store.h"
#include "store_copy.h"
#include "store_pg_int.h"

#define PATH_MAX_LEN 4096
#define BUSY_MS	     10000
#define CERR_MAX     224

static int exec_pg(store *s, const char *what, const char *sql)
{
	PGresult *r = PQexec(pgx_conn(s), sql);
	ExecStatusType es = PQresultStatus(r);
	int rc = 0;

	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		/* fixed SQL over the register's own rows: the primary
		 * message names tables only, unless it is a data error */
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		char msg[CERR_MAX];

		if (m == NULL || (st != NULL && strncmp(st, "22", 2) == 0))
			m = "PostgreSQL error";
		snprintf(msg, sizeof msg, "%.160s (SQLSTATE %s)", m,
			 st ? st : "?");
		rc = pgx_error(s, what, msg);
	}
	PQclear(r);
	return rc;
}

static int exec_sq(store *s, const char *what, sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return pgx_error(s, what, sqlite3_errmsg(db));
	return 0;
}

static void unlink_with_sidecars(const char *path)
{
	static const char *const sfx[] = {"-journal", "-wal", "-shm"};
	char p[PATH_MAX_LEN + 16];

	(void)unlink(path);
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		int n = snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		if (n > 0 && (size_t)n < sizeof p)
			(void)unlink(p);
	}
}

/* ---- backup ---- */

int pgx_backup_to(store *s, const char *path)
{
	PGconn *c = pgx_conn(s);
	struct copy_side from = {NULL, c}, to = {NULL, NULL};
	char err[CERR_MAX] = "";
	store *made;
	int began = 0, created = 0, ret = STORE_ERR;

	if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX_LEN)
		return pgx_error(s, "backup", "no usable file name given");
	if (PQstatus(c) != CONNECTION_OK)
		return pgx_error(s, "backup",
				 "the connection to PostgreSQL was lost");
	/* The SQLite backend makes the file: O_EXCL (never an existing file
	 * or a symlink), mode 0600, its schema at this program's version. */
	made = store_sqlite_open(path, 1, err, sizeof err);
	if (made == NULL) {
		if (strstr(err, "exists") != NULL)
			return pgx_error(s, "backup",
					 "the file exists already; a backup "
					 "never overwrites one");
		return pgx_error(s, "backup", err);
	}
	created = 1;
	made->vt->close(made);
	if (sqlite3_open_v2(path, &to.db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		pgx_error(s, "backup", "cannot open the new file");
		goto out;
	}
	sqlite3_busy_timeout(to.db, BUSY_MS);
	/* One snapshot for the whole copy; writers go on meanwhile. Inside
	 * a transaction of the caller's, its view is the snapshot. */
	if (PQtransactionStatus(c) == PQTRANS_IDLE) {
		if (exec_pg(s, "backup",
			    "BEGIN ISOLATION LEVEL REPEATABLE READ READ "
			    "ONLY") != 0)
			goto out;
		began = 1;
	}
	if (exec_sq(s, "backup", to.db, "BEGIN IMMEDIATE") != 0)
		goto out;
	/* What the new file's migrations wrote makes way for the rows. */
	if (copy_known_tables(&from, err, sizeof err) != 0 ||
	    copy_clear(&to, copy_tables, copy_ntables, err, sizeof err) != 0 ||
	    copy_rows(&from, &to, copy_tables, copy_ntables, NULL, err,
		      sizeof err) != 0 ||
	    copy_counters(&from, &to, err, sizeof err) != 0) {
		pgx_error(s, "backup", err);
		goto out;
	}
	if (exec_sq(s, "backup", to.db, "COMMIT") != 0)
		goto out;
	/* Closing the last connection folds the WAL into the file. */
	if (sqlite3_close(to.db) != SQLITE_OK) {
		pgx_error(s, "backup", "cannot close the new file");
		to.db = NULL;
		goto out;
	}
	to.db = NULL;
	if (fs_sync_new_file(path) != 0) {
		pgx_error(s, "backup: cannot sync the copy", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (began)
		(void)exec_pg(s, "backup", "ROLLBACK");
	if (to.db != NULL)
		sqlite3_close(to.db); /* an open transaction rolls back */
	if (ret != 0 && created)
		unlink_with_sidecars(path); /* made above: ours */
	return ret;
}

/* ---- restore ---- */

/* Every row of a one-column check must read "ok" (integrity_check) or
 * there must be no row at all (foreign_key_check: want_ok 0). */
static int check_pragma(store *s, sqlite3 *src, const char *sql, int want_ok,
			const char *problem)
{
	sqlite3_stmt *st = NULL;
	int rc, rows = 0, bad = 0;

	if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) != SQLITE_OK)
		return pgx_error(s, "restore", problem);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		rows++;
		if (!want_ok || t == NULL || strcmp((const char *)t, "ok") != 0)
			bad = 1;
	}
	sqlite3_finalize(st);
	/* a damaged file fails here rather than with a row */
	if (rc != SQLITE_DONE || bad || (want_ok && rows == 0))
		return pgx_error(s, "restore", problem);
	return 0;
}

/* The backup is a register at the SQLite backend's schema version of this
 * program, so that its rows copy column for column. */
static int check_version(store *s, sqlite3 *src)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(src,
			       "SELECT coalesce(max(version), 0)"
			       " FROM schema_migrations",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (v != store_sqlite_schema_version())
		return pgx_error(s, "restore",
				 "the backup's schema differs from the "
				 "register's");
	return 0;
}

/* The tables a restore brings back, parents first, as the SQLite backend's
 * restore does: subjects and what hangs on them, and the audit trail.
 * What must never go back stays as it is live: the register's keys and
 * counters (meta), notice versions, actors (a revoked token stays
 * revoked), the consent ledger (append-only: the live one holds the
 * backup's, and a withdrawal made since stays), requests, erasures,
 * breaches and disclosures. The audit table comes last so that it can be
 * left out (keep_audit). */
static const char *const data_tables[] = {
	"subject", "value", "record", "attachment_chunk", "cookie", "audit",
};
#define NDATA (sizeof data_tables / sizeof data_tables[0])

/* The live consents and request links wait in temporary tables while the
 * subjects are replaced (deleting a subject cascades to its consents and
 * sets its requests' link to NULL), and come back for the subjects that
 * are there again. ON COMMIT DROP and a rollback both remove them. */
static const char *const save_live =
	"CREATE TEMP TABLE rk_live_consent ON COMMIT DROP AS"
	" SELECT * FROM consent;"
	"CREATE TEMP TABLE rk_live_dsr ON COMMIT DROP AS"
	" SELECT id, subject_id FROM dsr WHERE subject_id IS NOT NULL";
static const char *const put_back_live =
	"INSERT INTO consent SELECT * FROM pg_temp.rk_live_consent"
	" WHERE subject_id IN (SELECT id FROM subject);"
	"UPDATE dsr SET subject_id = t.subject_id FROM pg_temp.rk_live_dsr t"
	" WHERE t.id = dsr.id AND t.subject_id IN (SELECT id FROM subject);"
	"DROP TABLE pg_temp.rk_live_consent;"
	"DROP TABLE pg_temp.rk_live_dsr";
/* Every subject goes; what their foreign keys did before the Citus
 * migration (store_pg.c's 3) the restore does itself: the coordinator-
 * local tables lose the subjects' self-service rows and their requests'
 * and disclosures' links (cookies are replaced with the data tables). */
static const char *const drop_subjects =
	"DELETE FROM subject;"
	"DELETE FROM selfsvc;"
	"UPDATE dsr SET subject_id = NULL WHERE subject_id IS NOT NULL;"
	"UPDATE disclosure SET subject_id = NULL WHERE subject_id IS NOT NULL";
/* The restored ids are numbers the counters handed out: they go on past
 * them, and never back (a number handed out since stays used). */
static const char *const counters_past =
	"SELECT setval(pg_get_serial_sequence('value', 'id'),"
	" greatest((SELECT coalesce(max(id), 0) FROM value),"
	" (SELECT last_value FROM value_id_seq), 1));"
	"SELECT setval(pg_get_serial_sequence('record', 'id'),"
	" greatest((SELECT coalesce(max(id), 0) FROM record),"
	" (SELECT last_value FROM record_id_seq), 1))";

int pgx_restore_from(store *s, const char *path, int keep_audit)
{
	PGconn *c = pgx_conn(s);
	struct copy_side from = {NULL, NULL}, to = {NULL, c};
	char err[CERR_MAX] = "";
	struct stat sb;
	size_t ndata = NDATA - (keep_audit ? 1 : 0);
	int ret = STORE_ERR;

	if (PQtransactionStatus(c) != PQTRANS_INTRANS)
		return pgx_error(s, "restore",
				 "needs an open write transaction");
	if (path == NULL || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return pgx_error(s, "restore", "the backup is not a file");
	/* Read-write without create: a read-only connection would leave
	 * -wal and -shm files beside the backup. Nothing is written. */
	if (sqlite3_open_v2(path, &from.db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		pgx_error(s, "restore", "the backup cannot be opened");
		goto out;
	}
	sqlite3_busy_timeout(from.db, BUSY_MS);
	if (exec_sq(s, "restore", from.db, "BEGIN DEFERRED") != 0 ||
	    check_pragma(s, from.db, "PRAGMA integrity_check", 1,
			 "the backup is damaged (integrity check failed)") !=
		    0 ||
	    check_pragma(s, from.db, "PRAGMA foreign_key_check", 0,
			 "the backup is damaged (rows without their "
			 "subject)") != 0 ||
	    check_version(s, from.db) != 0)
		goto out;
	if (copy_known_tables(&from, err, sizeof err) != 0) {
		pgx_error(s, "restore", err);
		goto out;
	}
	/* The caller's transaction holds it all: any failure below is
	 * rolled back by the caller, and nothing changes. */
	if (exec_pg(s, "restore", save_live) != 0 ||
	    exec_pg(s, "restore", drop_subjects) != 0)
		goto out;
	if (copy_clear(&to, data_tables, ndata, err, sizeof err) != 0 ||
	    copy_rows(&from, &to, data_tables, ndata, NULL, err, sizeof err) !=
		    0) {
		pgx_error(s, "restore", err);
		goto out;
	}
	if (exec_pg(s, "restore", put_back_live) != 0 ||
	    exec_pg(s, "restore", counters_past) != 0)
		goto out;
	ret = 0;
out:
	if (from.db != NULL) {
		if (!sqlite3_get_autocommit(from.db))
			(void)sqlite3_exec(from.db, "ROLLBACK", NULL, NULL,
					   NULL);
		sqlite3_close(from.db);
	}
	return ret;
}

/* ---- checkpoint ---- */

/* A SQLite checkpoint folds the register's WAL into its file, and after an
 * erasure that is what takes the erased rows' old copies off the disk
 * (the callers then say log_cleared). PostgreSQL has no WAL of the
 * register to fold: the server writes its own checkpoints, keeps deleted
 * row versions until VACUUM and WAL segments until they are recycled or
 * archived. A CHECKPOINT would promise nothing of that, so none is run and
 * the answer is an honest "not done", which keeps log_cleared false. */
int pgx_checkpoint(store *s)
{
	return pgx_error(s, "checkpoint",
			 "nothing to fold on PostgreSQL: the server manages "
			 "its own WAL; deleted rows stay until VACUUM and the "
			 "WAL until its segments are recycled");
}
