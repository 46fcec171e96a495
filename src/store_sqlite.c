/*
 * store_sqlite.c: the SQLite backend of store.h, the only file that holds
 * SQL for SQLite. Values travel only as bound parameters; every statement
 * is prepared once per handle and cached, because the insert path is
 * benchmarked against raw SQLite.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "sqlmutex.h"
#include "sqlvfs.h"
#include "store_sqlite_int.h"

#define BUSY_TIMEOUT_MS 10000
#define ERR_MAX		256
#define COUNTER_KEY_MAX 128

/* Numbered migrations: migrations[i] takes the schema from version i to
 * i + 1. Append only; never edit one that has shipped. */
static const char *const migrations[] = {
	/* 1: the initial schema. NOT NULL on the text keys because SQLite
	 * would otherwise accept NULL in a non-integer primary key. */
	"CREATE TABLE meta ("
	" key TEXT NOT NULL PRIMARY KEY,"
	" value BLOB NOT NULL);"
	"CREATE TABLE policy_version ("
	" version INTEGER PRIMARY KEY,"
	" body TEXT NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE subject ("
	" id TEXT NOT NULL PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" pseudonym TEXT NOT NULL,"
	" wrapped_key BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" rel_start TEXT,"
	" rel_end TEXT);"
	"CREATE TABLE value ("
	" id INTEGER PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subject(id) ON DELETE CASCADE,"
	" field TEXT NOT NULL,"
	" ciphertext BLOB NOT NULL,"
	" purposes TEXT NOT NULL,"
	" legal_basis TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" collected_at INTEGER NOT NULL,"
	" confirmed_at INTEGER NOT NULL,"
	" expires_at TEXT,"
	" bidx BLOB);"
	"CREATE INDEX value_subject_field ON value(subject_id, field);"
	"CREATE INDEX value_expires ON value(expires_at)"
	" WHERE expires_at IS NOT NULL;"
	/* The blind index of a lookup value lives on its value row: one
	 * partial index instead of a table with two B-trees of its own, and
	 * it goes wherever the value goes. It covers the subject, so a
	 * lookup never reads the value row itself. */
	"CREATE INDEX value_bidx ON value(field, bidx, subject_id)"
	" WHERE bidx IS NOT NULL;"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY,"
	" at_us INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" subject TEXT,"
	" fields TEXT,"
	" purpose TEXT,"
	" outcome TEXT NOT NULL,"
	" prev BLOB NOT NULL,"
	" hash BLOB NOT NULL);",
	/* 2: relationship records, attachments, the consent ledger, cookie
	 * identifiers, actors. */
	/* AUTOINCREMENT: a record's number is never given to another one,
	 * even after the first was deleted. */
	"CREATE TABLE record ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" subject_id TEXT NOT NULL REFERENCES subject(id) ON DELETE CASCADE,"
	" type TEXT NOT NULL,"
	" ciphertext BLOB NOT NULL,"
	" purposes TEXT NOT NULL,"
	" legal_basis TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at TEXT,"
	" attachment_size INTEGER NOT NULL DEFAULT -1,"
	" attachment_type TEXT);"
	"CREATE INDEX record_subject_type ON record(subject_id, type);"
	"CREATE INDEX record_expires ON record(expires_at)"
	" WHERE expires_at IS NOT NULL;"
	"CREATE TABLE attachment_chunk ("
	" record_id INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" ciphertext BLOB NOT NULL,"
	" PRIMARY KEY (record_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE consent ("
	" id INTEGER PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subject(id) ON DELETE CASCADE,"
	" scope TEXT NOT NULL,"
	" objection INTEGER NOT NULL,"
	" given INTEGER NOT NULL,"
	" at INTEGER NOT NULL,"
	" channel TEXT NOT NULL,"
	" policy_version INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" evidence BLOB);"
	"CREATE INDEX consent_subject_scope ON consent(subject_id, scope,"
	" objection, id);"
	"CREATE TABLE cookie ("
	" hash BLOB NOT NULL PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subject(id) ON DELETE CASCADE,"
	" linked_at INTEGER NOT NULL);"
	"CREATE INDEX cookie_subject ON cookie(subject_id);"
	"CREATE TABLE actor ("
	" name TEXT NOT NULL PRIMARY KEY,"
	" role TEXT NOT NULL,"
	" token_hash BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" revoked_at INTEGER NOT NULL DEFAULT 0);",
	/* 3: the columns that bind what decides access to the register's
	 * row key (see integrity.c). NULL in rows written before: the library
	 * fills them once, at the first open with the key, and refuses a NULL
	 * afterwards. The marker row tells that first open from a register
	 * whose MACs were removed. */
	"ALTER TABLE subject ADD COLUMN vdigest BLOB;"
	"ALTER TABLE subject ADD COLUMN chead BLOB;"
	"ALTER TABLE subject ADD COLUMN rhead BLOB;"
	"ALTER TABLE subject ADD COLUMN mac BLOB;"
	"ALTER TABLE record ADD COLUMN mac BLOB;"
	"ALTER TABLE consent ADD COLUMN mac BLOB;"
	"ALTER TABLE actor ADD COLUMN mac BLOB;"
	"ALTER TABLE cookie ADD COLUMN mac BLOB;"
	"INSERT INTO meta (key, value) VALUES ('row_macs_pending', x'01');",
	/* 4: the audit entry a subject's last write came no earlier than,
	 * under its row MAC: a trail cut back to an older end is caught by
	 * the subjects written after it. */
	"ALTER TABLE subject ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;",
	/* 5: erasures, remembered by a keyed hash of the ID so that a
	 * restored backup does not bring a subject back, and the records a
	 * law keeps after one (detached from the subject, sealed under keys
	 * of their own) until the retention run deletes them. The old
	 * journal in meta was never written by anything but a restore. */
	"CREATE TABLE erasure ("
	" tag BLOB NOT NULL PRIMARY KEY,"
	" erased_on TEXT NOT NULL,"
	" held INTEGER NOT NULL,"
	" mac BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE held_record ("
	" id INTEGER PRIMARY KEY,"
	" type TEXT NOT NULL,"
	" retention TEXT NOT NULL,"
	" hold_until TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" wrapped_key BLOB NOT NULL,"
	" ciphertext BLOB NOT NULL,"
	" attachment_size INTEGER NOT NULL DEFAULT -1,"
	" attachment_type TEXT,"
	" mac BLOB NOT NULL);"
	"CREATE INDEX held_record_until ON held_record(hold_until);"
	"CREATE TABLE held_chunk ("
	" record_id INTEGER NOT NULL REFERENCES held_record(id)"
	" ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" ciphertext BLOB NOT NULL,"
	" PRIMARY KEY (record_id, seq)) WITHOUT ROWID;"
	"DELETE FROM meta WHERE key = 'erasure_journal';",
	/* 6: the cookie or device identifier (its blind index hash) a record
	 * came through, so that a profile reset deletes what was collected
	 * under the identifiers it unlinks; NULL for records added directly
	 * (and all older ones). */
	"ALTER TABLE record ADD COLUMN cookie_hash BLOB;",
	/* 7: data subject requests (GDPR Art. 12(3)). A request outlives its
	 * subject: erasure sets subject_id to NULL and the pseudonym stays.
	 * The index serves that SET NULL on every subject delete. Reasons
	 * are sealed; mac binds the row to the row key (dsr.c). */
	"CREATE TABLE dsr ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" subject_id TEXT REFERENCES subject(id) ON DELETE SET NULL,"
	" pseudonym TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" received TEXT NOT NULL,"
	" due TEXT NOT NULL,"
	" extended_due TEXT,"
	" extend_reason BLOB,"
	" verified_by TEXT,"
	" status TEXT NOT NULL,"
	" outcome TEXT,"
	" reason BLOB,"
	" closed TEXT,"
	" purposes TEXT,"
	" mac BLOB);"
	"CREATE INDEX dsr_subject ON dsr(subject_id);",
	/* 8: the breach register (GDPR Art. 33-34). Not tied to subjects:
	 * the query that chose the affected ones is kept, and counted. The
	 * description and the measures are sealed; mac binds the row to the
	 * row key (breach.c). */
	"CREATE TABLE breach ("
	" id INTEGER PRIMARY KEY,"
	" aware_at INTEGER NOT NULL,"
	" opened_at INTEGER NOT NULL,"
	" description BLOB NOT NULL,"
	" categories TEXT,"
	" has_query INTEGER NOT NULL,"
	" q_field TEXT,"
	" q_type TEXT,"
	" has_range INTEGER NOT NULL,"
	" q_from INTEGER,"
	" q_to INTEGER,"
	" counted_at INTEGER NOT NULL,"
	" affected INTEGER NOT NULL,"
	" risk TEXT,"
	" dpa_notified_at INTEGER,"
	" subjects_notified_at INTEGER,"
	" measures BLOB,"
	" status TEXT NOT NULL,"
	" closed_at INTEGER,"
	" mac BLOB);",
	/* 9: the disclosure log: per subject, what went to which recipient,
	 * when and why (disclose.c). It outlives the subject as evidence:
	 * erasure sets subject_id to NULL and the pseudonym stays; it holds
	 * no personal data (names, counts, the legal ground). Each row's
	 * mac chains over the previous one's under the row key; meta
	 * "disclosure_head" pins the newest. */
	"CREATE TABLE disclosure ("
	" id INTEGER PRIMARY KEY,"
	" batch INTEGER NOT NULL,"
	" subject_id TEXT REFERENCES subject(id) ON DELETE SET NULL,"
	" pseudonym TEXT NOT NULL,"
	" recipient TEXT NOT NULL,"
	" recipient_kind TEXT NOT NULL,"
	" country TEXT NOT NULL,"
	" safeguard TEXT,"
	" purpose TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" fields TEXT,"
	" record_types TEXT,"
	" records INTEGER NOT NULL,"
	" legal_ground TEXT,"
	" basis TEXT,"
	" mac BLOB NOT NULL);"
	"CREATE INDEX disclosure_subject ON disclosure(subject_id);"
	"CREATE INDEX disclosure_pseudonym ON disclosure(pseudonym);",
	/* 10: the blind index also covers the value's expiry, so that a
	 * lookup, which leaves out expired values, still never reads the
	 * value row itself. */
	"DROP INDEX value_bidx;"
	"CREATE INDEX value_bidx ON value(field, bidx, subject_id, expires_at)"
	" WHERE bidx IS NOT NULL;",
	/* 11: self-service links and sessions: the keyed hash of the secret
	 * only (the secret itself is never stored), the subject, link or
	 * session, times, and a MAC binding them (selfservice.c). An erased
	 * subject's links and sessions go with it. */
	"CREATE TABLE selfsvc ("
	" hash BLOB PRIMARY KEY NOT NULL,"
	" subject_id TEXT NOT NULL REFERENCES subject(id) ON DELETE CASCADE,"
	" kind INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" used_at INTEGER NOT NULL DEFAULT 0,"
	" mac BLOB NOT NULL);"
	"CREATE INDEX selfsvc_subject ON selfsvc(subject_id);",
	/* 12: a self-service row's MAC binds its used_at once set
	 * (integ_selfsvc_mac): links spent before have MACs without it and
	 * open nothing any more, so they go. */
	"DELETE FROM selfsvc WHERE kind = 0 AND used_at <> 0;",
	/* 13: the set of self-service rows gets a pin in meta (integrity.c);
	 * a register from before it is marked, and its first open binds the
	 * pin once (a new register pins its empty set at once). */
	"INSERT OR IGNORE INTO meta (key, value)"
	" VALUES ('selfsvc_set_pending', x'01');",
	/* 14: meta keyed by its key alone (WITHOUT ROWID): every write reads
	 * and writes a few of its rows (the trail's head, the subjects' sum,
	 * a counter, the key's id), and each such read or write then seeks one
	 * B-tree instead of the key's index and then the rowid table. Its
	 * rows are small. No table refers to it, so it is simply rebuilt. */
	"CREATE TABLE meta_new ("
	" key TEXT NOT NULL PRIMARY KEY,"
	" value BLOB NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta_new (key, value) SELECT key, value FROM meta;"
	"DROP TABLE meta;"
	"ALTER TABLE meta_new RENAME TO meta;",
	/* 15: a lookup value's row carries its subject's pseudonym, and the
	 * blind index covers it: a look-up names the subject in its audit
	 * entry without reading the subject's row (one index descent instead
	 * of three). NULL on other values and on rows copied from
	 * PostgreSQL, where a look-up reads the subject's row instead;
	 * integrity verify holds every copy to the subject's row. */
	"ALTER TABLE value ADD COLUMN pseudonym TEXT;"
	"UPDATE value SET pseudonym = (SELECT s.pseudonym FROM subject s"
	" WHERE s.id = value.subject_id) WHERE bidx IS NOT NULL;"
	"DROP INDEX value_bidx;"
	"CREATE INDEX value_bidx ON value(field, bidx, subject_id, expires_at,"
	" pseudonym) WHERE bidx IS NOT NULL;",
	/* 16: a self-service link's successful open names the link (a keyed
	 * ID in fields), and an exchange looks for an earlier one: a spent
	 * link's row put back as unused, with the pinned set of rows from
	 * the same time, would otherwise open a session again. Partial, so
	 * that the trail's other entries (every read) cost it nothing. */
	"CREATE INDEX audit_selfsvc_open ON audit(fields, subject)"
	" WHERE action = 'selfservice.open' AND outcome = 'ok';",
};

#define NMIGRATIONS ((int64_t)(sizeof migrations / sizeof migrations[0]))

enum stmt_id {
	ST_BEGIN_W,
	ST_BEGIN_R,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_META_GET,
	ST_META_SET,
	ST_POLICY_PUT,
	ST_POLICY_LATEST,
	ST_SUBJ_INSERT,
	ST_SUBJ_GET,
	ST_SUBJ_SET_END,
	ST_SUBJ_SET_AUTH,
	ST_SUBJ_LIST,
	ST_SUBJ_LIST_K,
	ST_SUBJ_LIST_A,
	ST_SUBJ_LIST_KA,
	ST_VALUE_INSERT,
	ST_VALUE_LIST,
	ST_VALUE_LIST_F,
	ST_VALUE_DEL_FIELD,
	ST_VALUE_SET_EXPIRY,
	ST_BIDX_FIND,
	ST_AUDIT_APPEND,
	ST_AUDIT_LAST,
	ST_AUDIT_WALK,
	ST_AUDIT_WALK_S,
	ST_AUDIT_APPEND_MANY, /* STORE_AUDIT_MANY rows at once */
	ST_SCRUB_NOTED,
	ST_META_UPDATE, /* sq_meta_set's first try */
	ST_COUNT
};

#define SUBJ_COLS                                                              \
	"SELECT id, kind, pseudonym, wrapped_key, created_at, rel_start,"      \
	" rel_end, vdigest, chead, rhead, mac, audit_seq FROM subject"
#define VALUE_COLS                                                             \
	"SELECT id, field, ciphertext, purposes, legal_basis, source,"         \
	" collected_at, confirmed_at, expires_at, bidx FROM value"
#define AUDIT_ROW    "(?,?,?,?,?,?,?,?,?,?)"
#define AUDIT_ROWS4  AUDIT_ROW "," AUDIT_ROW "," AUDIT_ROW "," AUDIT_ROW
#define AUDIT_ROWS16 AUDIT_ROWS4 "," AUDIT_ROWS4 "," AUDIT_ROWS4 "," AUDIT_ROWS4
#define AUDIT_COLS                                                             \
	"SELECT seq, at_us, actor, action, subject, fields, purpose, outcome," \
	" prev, hash FROM audit"

/* The name goes into error messages; the SQL is prepared on first use. The
 * list variants are separate statements rather than "?1 IS NULL OR ..." so
 * that the planner can seek on id, subject and seq. */
static const struct {
	const char *what;
	const char *sql;
} stmt_def[ST_COUNT] = {
	[ST_BEGIN_W] = {"begin", "BEGIN IMMEDIATE"},
	[ST_BEGIN_R] = {"begin", "BEGIN DEFERRED"},
	[ST_COMMIT] = {"commit", "COMMIT"},
	[ST_ROLLBACK] = {"rollback", "ROLLBACK"},
	[ST_META_GET] = {"meta get", "SELECT value FROM meta WHERE key = ?1"},
	[ST_SCRUB_NOTED] = {"scrub noted", "SELECT 1 FROM meta WHERE key ="
					   " 'wal_scrub_owed'"},
	[ST_META_SET] =
		{"meta set",
		 "INSERT INTO meta (key, value) VALUES (?1, ?2)"
		 " ON CONFLICT (key) DO UPDATE SET value = excluded.value"},
	[ST_META_UPDATE] = {"meta set",
			    "UPDATE meta SET value = ?2 WHERE key = ?1"},
	[ST_POLICY_PUT] = {"policy put",
			   "INSERT INTO policy_version (version, body,"
			   " created_at) VALUES (?1, ?2, ?3)"},
	[ST_POLICY_LATEST] = {"policy latest",
			      "SELECT version, body FROM policy_version"
			      " ORDER BY version DESC LIMIT 1"},
	[ST_SUBJ_INSERT] = {"subject insert",
			    "INSERT INTO subject (id, kind, pseudonym,"
			    " wrapped_key, created_at, rel_start, rel_end,"
			    " vdigest, chead, rhead, mac, audit_seq)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
			    " ?10, ?11, ?12)"},
	[ST_SUBJ_GET] = {"subject get", SUBJ_COLS " WHERE id = ?1"},
	[ST_SUBJ_SET_END] = {"subject set end",
			     "UPDATE subject SET rel_end = ?2 WHERE id = ?1"},
	[ST_SUBJ_SET_AUTH] = {"subject set auth",
			      "UPDATE subject SET vdigest = ?2, chead = ?3,"
			      " rhead = ?4, mac = ?5, audit_seq = ?6"
			      " WHERE id = ?1"},
	[ST_SUBJ_LIST] = {"subject list", SUBJ_COLS " ORDER BY id LIMIT ?3"},
	[ST_SUBJ_LIST_K] = {"subject list",
			    SUBJ_COLS " WHERE kind = ?1 ORDER BY id LIMIT ?3"},
	[ST_SUBJ_LIST_A] = {"subject list",
			    SUBJ_COLS " WHERE id > ?2 ORDER BY id LIMIT ?3"},
	[ST_SUBJ_LIST_KA] = {"subject list",
			     SUBJ_COLS " WHERE kind = ?1 AND id > ?2"
				       " ORDER BY id LIMIT ?3"},
	[ST_VALUE_INSERT] = {"value insert",
			     "INSERT INTO value (subject_id, field, ciphertext,"
			     " purposes, legal_basis, source, collected_at,"
			     " confirmed_at, expires_at, bidx, pseudonym)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
			     " ?10, ?11)"},
	/* In the index's order: sq_value_list puts the rows in id order
	 * itself (a temporary B-tree of whole rows per read cost more). */
	[ST_VALUE_LIST] = {"value list", VALUE_COLS " WHERE subject_id = ?1"},
	[ST_VALUE_LIST_F] = {"value list",
			     VALUE_COLS " WHERE subject_id = ?1 AND field = ?2"
					" ORDER BY id"},
	[ST_VALUE_DEL_FIELD] = {"value delete",
				"DELETE FROM value"
				" WHERE subject_id = ?1 AND field = ?2"},
	[ST_VALUE_SET_EXPIRY] = {"value set expiry",
				 "UPDATE value SET expires_at = ?3"
				 " WHERE subject_id = ?1 AND field = ?2"},
	[ST_BIDX_FIND] = {"blind index find",
			  "SELECT v.subject_id, " VALUE_PSEUDONYM
			  " FROM value v WHERE v.field = ?1 AND v.bidx = ?2"},
	[ST_AUDIT_APPEND] =
		{"audit append",
		 "INSERT INTO audit (seq, at_us, actor, action,"
		 " subject, fields, purpose, outcome, prev, hash)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
	[ST_AUDIT_LAST] = {"audit last",
			   AUDIT_COLS " ORDER BY seq DESC LIMIT 1"},
	[ST_AUDIT_WALK] = {"audit walk",
			   AUDIT_COLS " WHERE seq >= ?1 ORDER BY seq"},
	[ST_AUDIT_WALK_S] = {"audit walk",
			     AUDIT_COLS " WHERE subject = ?2 AND seq >= ?1"
					" ORDER BY seq"},
	/* One statement for a batch's entries: a sixteenth of the steps of
	 * the flush. Parameters are numbered in order, ten per row. */
	[ST_AUDIT_APPEND_MANY] = {"audit append",
				  "INSERT INTO audit (seq, at_us, actor,"
				  " action, subject, fields, purpose, outcome,"
				  " prev, hash) VALUES " AUDIT_ROWS16},
};

struct sq {
	store base; /* first, so that store * and struct sq * convert */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	sqlite3_stmt
		*ext[SQX_SLOTS]; /* statements of the backend's other files */
	char err[ERR_MAX];
	char *abuf; /* audit_last's strings */
	size_t abufsz;
	/* A checkpoint meant to empty the WAL (after deleted data) was kept
	 * from completing by other connections: retried after later commits
	 * and at close, without waiting, until it completes. */
	int scrub_owed;
	int writing; /* the open transaction was begun for writing */
	/* How long a statement waits for another connection's lock (ms; 0:
	 * not at all), and when this wait began. */
	int busy_ms;
	struct timespec busy_t0;
	/* > 0: commits leave the checkpoint owed at this many log pages
	 * (sq_defer_checkpoints) */
	int defer_pages;
};

/* Waits for another connection's lock in steps of at most half a
 * millisecond, up to busy_ms. A writer that commits group after group (the
 * server's group commit) leaves the lock free only for moments between
 * them; SQLite's own handler, sleeping up to 100 ms between tries, would
 * miss those moments and starve the other connections. */
static int busy_wait(void *ud, int count)
{
	struct sq *s = ud;
	struct timespec now, nap = {0, count < 10 ? 100000 : 500000};
	int64_t ms;

	if (s->busy_ms <= 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		s->busy_t0 = now;
	ms = (int64_t)(now.tv_sec - s->busy_t0.tv_sec) * 1000 +
	     (now.tv_nsec - s->busy_t0.tv_nsec) / 1000000;
	if (ms >= s->busy_ms)
		return 0;
	nanosleep(&nap, NULL);
	return 1;
}

static struct sq *sq_of(store *s)
{
	return (struct sq *)s;
}

static const struct sq *sq_of_c(const store *s)
{
	return (const struct sq *)s;
}

__attribute__((format(printf, 2, 3))) static int errf(struct sq *s,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	return STORE_ERR;
}

static int is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Reports an SQLite failure. sqlite3_errmsg names constraints and columns,
 * never bound values, so it is safe to pass on. */
static int fail_rc(struct sq *s, const char *what, int rc)
{
	const char *msg;

	if (is_busy(rc))
		return errf(s,
			    "%s: database is busy (another connection held "
			    "a lock longer than %d ms)",
			    what, BUSY_TIMEOUT_MS);
	msg = sqlite3_extended_errcode(s->db) == rc ? sqlite3_errmsg(s->db)
						    : sqlite3_errstr(rc);
	return errf(s, "%s: %s", what, msg);
}

static int fail(struct sq *s, enum stmt_id id, int rc)
{
	return fail_rc(s, stmt_def[id].what, rc);
}

/* The cached statement, prepared on first use. A statement still busy
 * means a callback re-entered the same walk, which would corrupt it. */
static sqlite3_stmt *stmt(struct sq *s, enum stmt_id id)
{
	int rc;

	if (s->st[id]) {
		if (sqlite3_stmt_busy(s->st[id])) {
			errf(s, "%s: re-entered from its own callback",
			     stmt_def[id].what);
			return NULL;
		}
		return s->st[id];
	}
	rc = sqlite3_prepare_v3(s->db, stmt_def[id].sql, -1,
				SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL);
	if (rc != SQLITE_OK) {
		fail(s, id, rc);
		s->st[id] = NULL;
		return NULL;
	}
	return s->st[id];
}

/* Resets and unbinds, so no cached statement keeps a lock or a pointer to
 * the caller's memory. */
static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* NULL binds SQL NULL. SQLITE_STATIC is safe: done() unbinds before the
 * caller's strings can go away. */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* An empty string binds NULL (optional dates). */
static int bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (!v || !*v)
		return sqlite3_bind_null(st, i);
	return bind_text(st, i, v);
}

/* A zero-length blob must not become NULL, which sqlite3_bind_blob makes
 * of a NULL pointer. */
static int bind_blob(sqlite3_stmt *st, int i, const void *v, size_t n)
{
	if (n == 0)
		return sqlite3_bind_zeroblob(st, i, 0);
	return sqlite3_bind_blob64(st, i, v, (sqlite3_uint64)n, SQLITE_STATIC);
}

/* Copies a text column into a fixed field. Too long, or containing NUL, is
 * an error: silent truncation would change an identifier. NULL reads as ""
 * when nullable. */
static int col_str(sqlite3_stmt *st, int col, char *dst, size_t dstsz,
		   int nullable)
{
	const unsigned char *t;
	int n;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		if (!nullable)
			return -1;
		dst[0] = '\0';
		return 0;
	}
	t = sqlite3_column_text(st, col);
	n = sqlite3_column_bytes(st, col);
	if (!t || n < 0 || (size_t)n >= dstsz || memchr(t, 0, (size_t)n))
		return -1;
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return 0;
}

/* Text of a NOT NULL column, NULL when damaged or out of memory. */
static const char *col_req(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(st, col);
}

/* Text of a nullable column (NULL stays NULL). */
static const char *col_opt(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(st, col);
}

/* A fixed-size struct field must hold its terminator. */
static int terminated(const char *v, size_t sz)
{
	return strnlen(v, sz) < sz;
}

/* ---- transactions ---- */

static int run_simple(struct sq *s, enum stmt_id id)
{
	sqlite3_stmt *st = stmt(s, id);
	int rc, ret = 0;

	if (!st)
		return STORE_ERR;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = fail(s, id, rc);
	done(st);
	return ret;
}

/* The owed checkpoint is also written down in meta, so that every
 * connection, in this process or another, takes it up after its own
 * commits: the one that failed may be gone by the time the readers are. */
#define META_SCRUB "wal_scrub_owed"

void sqx_scrub_set(store *base, int owed)
{
	struct sq *s = sq_of(base);

	if (owed == s->scrub_owed || !sqlite3_get_autocommit(s->db))
		return;
	s->scrub_owed = owed;
	(void)sqlite3_exec(s->db,
			   owed ? "INSERT OR REPLACE INTO meta (key, value)"
				  " VALUES ('" META_SCRUB "', x'01')"
				: "DELETE FROM meta WHERE key = '" META_SCRUB
				  "'",
			   NULL, NULL, NULL);
}

/* A truncating checkpoint: the WAL holds no old page after it (deleted
 * values do not linger there); busy readers make it owed (scrub). */
int sqx_checkpoint(store *s)
{
	sqlite3_stmt *st = NULL;
	int rc, busy;

	/* Rare (owed checkpoints, admin calls): not worth a cached slot. */
	rc = sqlite3_prepare_v2(sqx_db(s), "PRAGMA wal_checkpoint(TRUNCATE)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqx_fail(s, "checkpoint", rc);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sqx_fail(s, "checkpoint", rc);
	}
	/* Columns: busy, frames in the WAL, frames checkpointed. */
	busy = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqx_scrub_set(s, busy != 0);
	if (busy != 0)
		return sqx_error(
			s, "checkpoint",
			"other connections kept it from completing; "
			"this handle tries again after its next writes "
			"and when it closes");
	return 0;
}

static int scrub_noted(struct sq *s)
{
	sqlite3_stmt *st = stmt(s, ST_SCRUB_NOTED);
	int rc;

	if (st == NULL)
		return 0;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

/* One try at an owed checkpoint that never waits for other connections
 * (a commit must not stall behind a long reader). noted: whether the
 * caller already knows one is owed (a write looks inside its transaction,
 * where the look costs no lock of its own). */
static void scrub_retry(struct sq *s, int noted)
{
	if (!sqlite3_get_autocommit(s->db))
		return;
	if (!s->scrub_owed && !noted)
		return;
	s->scrub_owed = 1;
	s->busy_ms = 0;
	(void)sqx_checkpoint(&s->base);
	s->busy_ms = BUSY_TIMEOUT_MS;
}

static void sq_close(store *base)
{
	struct sq *s = sq_of(base);

	if (!s)
		return;
	scrub_retry(s, scrub_noted(s));
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (int i = 0; i < SQX_SLOTS; i++)
		sqlite3_finalize(s->ext[i]);
	/* An open transaction is rolled back by sqlite3_close. */
	sqlite3_close(s->db);
	free(s->abuf);
	free(s);
}

static const char *sq_errmsg(const store *base)
{
	return sq_of_c(base)->err;
}

static void gate_wait(void);

/* IMMEDIATE takes the write lock up front, so a writer waits on the busy
 * timeout instead of failing when its read lock cannot be upgraded; past
 * the log's cap, first at the gate of the RESTART (below). */
static int sq_begin(store *base, int write)
{
	struct sq *s = sq_of(base);

	if (write)
		gate_wait();
	s->writing = write != 0;
	return run_simple(s, write ? ST_BEGIN_W : ST_BEGIN_R);
}

/* Only after a write: a reader's commit never looks for an owed
 * checkpoint (reads are the hot path, and the next write takes it up). */
static int sq_commit(store *base)
{
	struct sq *s = sq_of(base);
	/* Looked up before the commit, under the write lock already held: a
	 * look after it would take a read lock of its own on every write. */
	int noted = s->writing && !s->scrub_owed && scrub_noted(s);
	int rc = run_simple(s, ST_COMMIT);

	if (rc == 0 && s->writing)
		scrub_retry(s, noted);
	s->writing = 0;
	return rc;
}

/* Rolling back when SQLite already has (after some errors it does so on its
 * own) is not a failure. */
static int sq_rollback(store *base)
{
	struct sq *s = sq_of(base);

	if (sqlite3_get_autocommit(s->db))
		return 0;
	return run_simple(s, ST_ROLLBACK);
}

/* Rows changed by this connection since it opened: tells whether an
 * operation inside a bulk transaction has written anything yet. */
static int64_t sq_changes(store *base)
{
	return (int64_t)sqlite3_total_changes64(sq_of(base)->db);
}

/* ---- meta and counters ---- */

static int sq_meta_get(store *base, const char *key, unsigned char *buf,
		       size_t bufsz, size_t *len)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_META_GET);
	const void *b;
	size_t n;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, key)) != SQLITE_OK) {
		fail(s, ST_META_GET, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		errf(s, "meta get: not found");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail(s, ST_META_GET, rc);
		goto out;
	}
	b = sqlite3_column_blob(st, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (len)
		*len = n; /* also on overflow, so the caller can size */
	if (n > bufsz) {
		errf(s, "meta get: value is %zu bytes, buffer holds %zu", n,
		     bufsz);
		goto out;
	}
	if (n > 0 && !b) {
		errf(s, "meta get: out of memory");
		goto out;
	}
	if (n > 0)
		memcpy(buf, b, n);
	ret = 0;
out:
	done(st);
	return ret;
}

/* Runs ST_META_SET or ST_META_UPDATE for key; *changed gets whether a row
 * was written. */
static int meta_write(struct sq *s, enum stmt_id id, const char *key,
		      const unsigned char *val, size_t len, int *changed)
{
	sqlite3_stmt *st = stmt(s, id);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, key)) != SQLITE_OK ||
	    (rc = bind_blob(st, 2, val, len)) != SQLITE_OK) {
		fail(s, id, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, id, rc);
		goto out;
	}
	*changed = sqlite3_changes(s->db) > 0;
	ret = 0;
out:
	done(st);
	return ret;
}

/* A plain UPDATE first: the rows a write keeps setting (the trail's head,
 * the subjects' sum, counters) exist after their first write, and the
 * update seeks the key once where the upsert tries an insert first; a
 * key not there yet takes the upsert. */
static int sq_meta_set(store *base, const char *key, const unsigned char *val,
		       size_t len)
{
	struct sq *s = sq_of(base);
	int changed = 0;

	if (meta_write(s, ST_META_UPDATE, key, val, len, &changed) != 0)
		return STORE_ERR;
	if (changed)
		return 0;
	return meta_write(s, ST_META_SET, key, val, len, &changed);
}

/* Counters are 8-byte big-endian two's complement blobs, so that every
 * backend and architecture reads the same bytes. */
static int sq_counter_next(store *base, const char *name, int64_t start,
			   int64_t *out)
{
	struct sq *s = sq_of(base);
	char key[COUNTER_KEY_MAX];
	unsigned char b[8];
	size_t n = 0;
	uint64_t u = 0;
	int64_t cur, next;
	int rc, w;

	/* Read-modify-write is only atomic inside the caller's transaction. */
	if (sqlite3_get_autocommit(s->db))
		return errf(s, "counter: no transaction is open");
	w = snprintf(key, sizeof key, "counter:%s", name);
	if (w < 0 || (size_t)w >= sizeof key)
		return errf(s, "counter: name too long");
	rc = sq_meta_get(base, key, b, sizeof b, &n);
	if (rc == STORE_ERR)
		return STORE_ERR;
	if (rc == STORE_NOTFOUND) {
		if (start == INT64_MIN)
			return errf(s, "counter: start out of range");
		cur = start - 1;
	} else {
		if (n != sizeof b)
			return errf(s, "counter: damaged value");
		for (size_t i = 0; i < sizeof b; i++)
			u = u << 8 | b[i];
		cur = u <= (uint64_t)INT64_MAX ? (int64_t)u
					       : -(int64_t)(~u) - 1;
	}
	if (cur == INT64_MAX)
		return errf(s, "counter: overflow");
	next = cur + 1;
	u = (uint64_t)next;
	for (size_t i = sizeof b; i-- > 0; u >>= 8)
		b[i] = (unsigned char)(u & 0xff);
	if (sq_meta_set(base, key, b, sizeof b) != 0)
		return STORE_ERR;
	*out = next;
	return 0;
}

/* ---- policy ---- */

static int sq_policy_put(store *base, int version, const char *text,
			 int64_t created_at)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_POLICY_PUT);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int(st, 1, version)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, text)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, created_at)) != SQLITE_OK) {
		fail(s, ST_POLICY_PUT, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, ST_POLICY_PUT, rc);
		goto out;
	}
	ret = 0;
out:
	done(st);
	return ret;
}

static int sq_policy_latest(store *base, int *version, char **text)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_POLICY_LATEST);
	const char *t;
	sqlite3_int64 v;
	size_t n;
	char *copy;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		errf(s, "policy latest: no policy stored");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail(s, ST_POLICY_LATEST, rc);
		goto out;
	}
	v = sqlite3_column_int64(st, 0);
	t = col_req(st, 1);
	if (v < 0 || v > INT32_MAX || !t) {
		errf(s, "policy latest: damaged policy row");
		goto out;
	}
	n = (size_t)sqlite3_column_bytes(st, 1);
	copy = malloc(n + 1);
	if (!copy) {
		errf(s, "policy latest: out of memory");
		goto out;
	}
	memcpy(copy, t, n);
	copy[n] = '\0';
	*version = (int)v;
	*text = copy;
	ret = 0;
out:
	done(st);
	return ret;
}

/* ---- subjects ---- */

/* The subject's four MAC columns from i on; NULL without has_mac. */
static int bind_auth(sqlite3_stmt *st, int i, const store_subject *sub)
{
	const unsigned char *col[4] = {sub->vdigest, sub->chead, sub->rhead,
				       sub->mac};
	int rc = SQLITE_OK;

	for (int k = 0; k < 4 && rc == SQLITE_OK; k++)
		rc = sub->has_mac ? bind_blob(st, i + k, col[k], SEC_HASH_BYTES)
				  : sqlite3_bind_null(st, i + k);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i + 4, sub->audit_seq);
	return rc;
}

/* Copies a MAC column of the expected size; 0 when NULL or another size. */
static int col_mac(sqlite3_stmt *st, int col, unsigned char out[SEC_HASH_BYTES])
{
	const void *b = sqlite3_column_blob(st, col);

	if (b == NULL || sqlite3_column_bytes(st, col) != SEC_HASH_BYTES)
		return 0;
	memcpy(out, b, SEC_HASH_BYTES);
	return 1;
}

static int sq_subject_insert(store *base, const store_subject *sub)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st;
	int rc, ret = STORE_ERR;

	if (!terminated(sub->id, sizeof sub->id) ||
	    !terminated(sub->kind, sizeof sub->kind) ||
	    !terminated(sub->pseudonym, sizeof sub->pseudonym) ||
	    !terminated(sub->rel_start, sizeof sub->rel_start) ||
	    !terminated(sub->rel_end, sizeof sub->rel_end))
		return errf(s, "subject insert: unterminated string");
	st = stmt(s, ST_SUBJ_INSERT);
	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, sub->id)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, sub->kind)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, sub->pseudonym)) != SQLITE_OK ||
	    (rc = bind_blob(st, 4, sub->wrapped_key,
			    sizeof sub->wrapped_key)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, sub->created_at)) != SQLITE_OK ||
	    (rc = bind_opt_text(st, 6, sub->rel_start)) != SQLITE_OK ||
	    (rc = bind_opt_text(st, 7, sub->rel_end)) != SQLITE_OK ||
	    (rc = bind_auth(st, 8, sub)) != SQLITE_OK) {
		fail(s, ST_SUBJ_INSERT, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, ST_SUBJ_INSERT, rc);
		goto out;
	}
	ret = 0;
out:
	done(st);
	return ret;
}

/* Fills out from a SUBJ_COLS row. */
static int fill_subject(struct sq *s, sqlite3_stmt *st, const char *what,
			store_subject *out)
{
	const void *k;

	memset(out, 0, sizeof *out);
	if (col_str(st, 0, out->id, sizeof out->id, 0) ||
	    col_str(st, 1, out->kind, sizeof out->kind, 0) ||
	    col_str(st, 2, out->pseudonym, sizeof out->pseudonym, 0) ||
	    col_str(st, 5, out->rel_start, sizeof out->rel_start, 1) ||
	    col_str(st, 6, out->rel_end, sizeof out->rel_end, 1))
		return errf(s, "%s: damaged subject row", what);
	k = sqlite3_column_blob(st, 3);
	if (sqlite3_column_type(st, 3) != SQLITE_BLOB || !k ||
	    sqlite3_column_bytes(st, 3) != (int)sizeof out->wrapped_key)
		return errf(s, "%s: damaged subject key", what);
	memcpy(out->wrapped_key, k, sizeof out->wrapped_key);
	out->created_at = sqlite3_column_int64(st, 4);
	/* Absent or damaged MACs read as has_mac 0, which the library
	 * refuses once the register has its row key. */
	out->has_mac = col_mac(st, 7, out->vdigest) &&
		       col_mac(st, 8, out->chead) &&
		       col_mac(st, 9, out->rhead) && col_mac(st, 10, out->mac);
	out->audit_seq = sqlite3_column_int64(st, 11);
	return 0;
}

static int sq_subject_set_auth(store *base, const store_subject *sub)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_SUBJ_SET_AUTH);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, sub->id)) != SQLITE_OK ||
	    (rc = bind_auth(st, 2, sub)) != SQLITE_OK) {
		fail(s, ST_SUBJ_SET_AUTH, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, ST_SUBJ_SET_AUTH, rc);
		goto out;
	}
	if (sqlite3_changes(s->db) == 0) {
		ret = STORE_NOTFOUND;
		errf(s, "subject set auth: no such subject");
		goto out;
	}
	ret = 0;
out:
	done(st);
	return ret;
}

static int sq_subject_get(store *base, const char *id, store_subject *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_SUBJ_GET);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, id)) != SQLITE_OK) {
		fail(s, ST_SUBJ_GET, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		errf(s, "subject get: no such subject");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail(s, ST_SUBJ_GET, rc);
		goto out;
	}
	ret = fill_subject(s, st, stmt_def[ST_SUBJ_GET].what, out);
out:
	done(st);
	return ret;
}

static int sq_subject_set_end(store *base, const char *id, const char *rel_end)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st;
	int rc, ret = STORE_ERR;

	/* Refused here rather than failing every later subject_get. */
	if (rel_end && strlen(rel_end) >= sizeof((store_subject *)0)->rel_end)
		return errf(s, "subject set end: date too long");
	st = stmt(s, ST_SUBJ_SET_END);
	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, id)) != SQLITE_OK ||
	    (rc = bind_opt_text(st, 2, rel_end)) != SQLITE_OK) {
		fail(s, ST_SUBJ_SET_END, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, ST_SUBJ_SET_END, rc);
		goto out;
	}
	ret = 0;
	if (sqlite3_changes(s->db) == 0) {
		errf(s, "subject set end: no such subject");
		ret = STORE_NOTFOUND;
	}
out:
	done(st);
	return ret;
}

struct subject_walk {
	const char *what;
	store_subject_fn fn;
	void *ud;
};

static int subject_row(store *base, sqlite3_stmt *st, void *ud)
{
	struct subject_walk *w = ud;
	store_subject sub;

	if (fill_subject(sq_of(base), st, w->what, &sub))
		return -1;
	return w->fn(w->ud, &sub) != 0;
}

static int sq_subject_list(store *base, const char *kind, const char *after_id,
			   size_t limit, store_subject_fn fn, void *ud)
{
	struct sq *s = sq_of(base);
	enum stmt_id id = kind ? (after_id ? ST_SUBJ_LIST_KA : ST_SUBJ_LIST_K)
			       : (after_id ? ST_SUBJ_LIST_A : ST_SUBJ_LIST);
	/* LIMIT -1 is SQLite's "no limit". */
	sqlite3_int64 lim = limit == 0 || limit > (size_t)INT64_MAX
				    ? -1
				    : (sqlite3_int64)limit;
	struct subject_walk w = {stmt_def[id].what, fn, ud};
	/* Every form numbers its limit ?3, so ?1 and ?2 may stay NULL. */
	const struct sqx_arg args[] = {SQX_T(kind), SQX_T(after_id), SQX_I(lim),
				       SQX_ARGS_END};

	return sqx_walk(base, stmt(s, id), stmt_def[id].what, args, subject_row,
			&w);
}

/* ---- values ---- */

static int sq_value_insert(store *base, store_value *v)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_VALUE_INSERT);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, v->subject_id)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, v->field)) != SQLITE_OK ||
	    (rc = bind_blob(st, 3, v->ct, v->ctlen)) != SQLITE_OK ||
	    (rc = bind_text(st, 4, v->purposes)) != SQLITE_OK ||
	    (rc = bind_text(st, 5, v->legal_basis)) != SQLITE_OK ||
	    (rc = bind_text(st, 6, v->source)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 7, v->collected_at)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 8, v->confirmed_at)) != SQLITE_OK ||
	    (rc = bind_opt_text(st, 9, v->expires)) != SQLITE_OK ||
	    (rc = v->bidx ? bind_blob(st, 10, v->bidx, SEC_BIDX_BYTES)
			  : sqlite3_bind_null(st, 10)) != SQLITE_OK ||
	    /* the pseudonym copy belongs to lookup values only */
	    (rc = v->bidx && v->pseudonym
			  ? bind_text(st, 11, v->pseudonym)
			  : sqlite3_bind_null(st, 11)) != SQLITE_OK) {
		fail(s, ST_VALUE_INSERT, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, ST_VALUE_INSERT, rc);
		goto out;
	}
	v->rowid = sqlite3_last_insert_rowid(s->db);
	ret = 0;
out:
	done(st);
	return ret;
}

/* A subject's value rows as read, copied (ordered by rowid afterwards). */
struct vrow {
	store_value v;
	char *blk; /* its columns, copied */
	size_t blen;
};

struct vrows {
	struct vrow *r;
	size_t n, cap;
};

static void vrows_free(struct vrows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		explicit_bzero(rs->r[i].blk, rs->r[i].blen);
		free(rs->r[i].blk);
	}
	free(rs->r);
}

static char *vcopy(char **at, const void *p, size_t n, int term)
{
	char *dst = *at;

	if (n > 0)
		memcpy(dst, p, n);
	if (term)
		dst[n++] = '\0';
	*at = dst + n;
	return dst;
}

/* Row st as a store_value in rs, its columns copied into one block. */
static int vrows_push(struct vrows *rs, sqlite3_stmt *st, const char *sid)
{
	store_value v;
	size_t lf, lp, ll, ls, le = 0, lb = 0, blen;
	char *blk, *at;

	memset(&v, 0, sizeof v);
	v.rowid = sqlite3_column_int64(st, 0);
	v.subject_id = sid;
	v.field = col_req(st, 1);
	v.ct = sqlite3_column_blob(st, 2);
	v.ctlen = (size_t)sqlite3_column_bytes(st, 2);
	v.purposes = col_req(st, 3);
	v.legal_basis = col_req(st, 4);
	v.source = col_req(st, 5);
	v.collected_at = sqlite3_column_int64(st, 6);
	v.confirmed_at = sqlite3_column_int64(st, 7);
	v.expires = col_opt(st, 8);
	if (sqlite3_column_bytes(st, 9) == SEC_BIDX_BYTES)
		v.bidx = sqlite3_column_blob(st, 9);
	if (!v.field || !v.ct || !v.purposes || !v.legal_basis || !v.source)
		return 1;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 8;
		struct vrow *nv = realloc(rs->r, cap * sizeof *nv);
		if (nv == NULL)
			return -1;
		rs->r = nv;
		rs->cap = cap;
	}
	lf = strlen(v.field);
	lp = strlen(v.purposes);
	ll = strlen(v.legal_basis);
	ls = strlen(v.source);
	if (v.expires != NULL)
		le = strlen(v.expires) + 1;
	if (v.bidx != NULL)
		lb = SEC_BIDX_BYTES;
	blen = lf + 1 + v.ctlen + lp + 1 + ll + 1 + ls + 1 + le + lb;
	blk = malloc(blen);
	if (blk == NULL)
		return -1;
	at = blk;
	v.field = vcopy(&at, v.field, lf, 1);
	v.ct = (const unsigned char *)vcopy(&at, v.ct, v.ctlen, 0);
	v.purposes = vcopy(&at, v.purposes, lp, 1);
	v.legal_basis = vcopy(&at, v.legal_basis, ll, 1);
	v.source = vcopy(&at, v.source, ls, 1);
	if (v.expires != NULL)
		v.expires = vcopy(&at, v.expires, le - 1, 1);
	if (v.bidx != NULL)
		v.bidx = (const unsigned char *)vcopy(&at, v.bidx, lb, 0);
	rs->r[rs->n].v = v;
	rs->r[rs->n].blk = blk;
	rs->r[rs->n].blen = blen;
	rs->n++;
	return 0;
}

static int sq_value_list(store *base, const char *subject_id, const char *field,
			 store_value_fn fn, void *ud)
{
	struct sq *s = sq_of(base);
	enum stmt_id id = field ? ST_VALUE_LIST_F : ST_VALUE_LIST;
	sqlite3_stmt *st = stmt(s, id);
	struct vrows rs = {NULL, 0, 0};
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, subject_id)) != SQLITE_OK ||
	    (field && (rc = bind_text(st, 2, field)) != SQLITE_OK)) {
		fail(s, id, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int pr = vrows_push(&rs, st, subject_id);
		if (pr > 0) {
			errf(s, "%s: damaged value row", stmt_def[id].what);
			goto out;
		}
		if (pr < 0) {
			errf(s, "%s: out of memory", stmt_def[id].what);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		fail(s, id, rc);
		goto out;
	}
	done(st);
	st = NULL;
	/* Insertion sort by rowid: a subject has few values, and in the
	 * index (field, rowid) order runs of them are sorted already. */
	for (size_t i = 1; i < rs.n; i++) {
		struct vrow t = rs.r[i];
		size_t j = i;
		while (j > 0 && rs.r[j - 1].v.rowid > t.v.rowid) {
			rs.r[j] = rs.r[j - 1];
			j--;
		}
		rs.r[j] = t;
	}
	ret = 0;
	for (size_t i = 0; i < rs.n; i++)
		if (fn(ud, &rs.r[i].v))
			break;
out:
	if (st != NULL)
		done(st);
	vrows_free(&rs);
	return ret;
}

static int exec_core(struct sq *s, sqlite3_stmt *st, const char *what,
		     const struct sqx_arg *args, int64_t *rowid,
		     int64_t *changed, const char *none);

/* Runs a statement bound to (subject_id, field[, text]) to completion;
 * *changed (when not NULL) the rows it changed. */
static int run_sf(struct sq *s, enum stmt_id id, const char *subject_id,
		  const char *field, int nbind, const char *text,
		  int64_t *changed)
{
	struct sqx_arg args[] = {SQX_T(subject_id), SQX_T(field), SQX_ARGS_END,
				 SQX_ARGS_END};

	if (nbind > 2)
		args[2] = SQX_OT(text);
	return exec_core(s, stmt(s, id), stmt_def[id].what, args, NULL, changed,
			 NULL);
}

static int sq_value_delete_field(store *base, const char *subject_id,
				 const char *field, int64_t *n)
{
	return run_sf(sq_of(base), ST_VALUE_DEL_FIELD, subject_id, field, 2,
		      NULL, n);
}

static int sq_value_set_expiry(store *base, const char *subject_id,
			       const char *field, const char *expires)
{
	return run_sf(sq_of(base), ST_VALUE_SET_EXPIRY, subject_id, field, 3,
		      expires, NULL);
}

/* ---- blind index ---- */

/* Inserting an existing (field, hash, subject) is a no-op: a subject may
 * hold the same value twice in a multi-valued field. */
static int sq_bidx_find(store *base, const char *field,
			const unsigned char hash[SEC_BIDX_BYTES],
			store_id_fn fn, void *ud)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_BIDX_FIND);
	const char *id, *pseudonym;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = bind_text(st, 1, field)) != SQLITE_OK ||
	    (rc = bind_blob(st, 2, hash, SEC_BIDX_BYTES)) != SQLITE_OK) {
		fail(s, ST_BIDX_FIND, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = col_req(st, 0);
		pseudonym = col_req(st, 1);
		if (!id || !pseudonym) {
			errf(s, "blind index find: damaged row");
			goto out;
		}
		if (fn(ud, id, pseudonym)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		fail(s, ST_BIDX_FIND, rc);
		goto out;
	}
	ret = 0;
out:
	done(st);
	return ret;
}

/* ---- audit ---- */

static int sq_audit_append(store *base, const store_audit *a)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_AUDIT_APPEND);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, a->seq)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, a->at_us)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, a->actor)) != SQLITE_OK ||
	    (rc = bind_text(st, 4, a->action)) != SQLITE_OK ||
	    (rc = bind_text(st, 5, a->subject)) != SQLITE_OK ||
	    (rc = bind_text(st, 6, a->fields)) != SQLITE_OK ||
	    (rc = bind_text(st, 7, a->purpose)) != SQLITE_OK ||
	    (rc = bind_text(st, 8, a->outcome)) != SQLITE_OK ||
	    (rc = bind_blob(st, 9, a->prev, sizeof a->prev)) != SQLITE_OK ||
	    (rc = bind_blob(st, 10, a->hash, sizeof a->hash)) != SQLITE_OK) {
		fail(s, ST_AUDIT_APPEND, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, ST_AUDIT_APPEND, rc);
		goto out;
	}
	ret = 0;
out:
	done(st);
	return ret;
}

/* n entries: whole rows of STORE_AUDIT_MANY in one statement, any rest
 * one by one. */
static int sq_audit_append_many(store *base, const store_audit *a, size_t n)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st;
	int rc = SQLITE_OK, ret = STORE_ERR;

	_Static_assert(STORE_AUDIT_MANY == 16, "AUDIT_ROWS16");
	if (n != STORE_AUDIT_MANY) {
		for (size_t i = 0; i < n; i++)
			if (sq_audit_append(base, &a[i]) != 0)
				return STORE_ERR;
		return 0;
	}
	st = stmt(s, ST_AUDIT_APPEND_MANY);
	if (!st)
		return STORE_ERR;
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		int b = (int)i * 10;
		if ((rc = sqlite3_bind_int64(st, b + 1, a[i].seq)) !=
			    SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, b + 2, a[i].at_us)) !=
			    SQLITE_OK ||
		    (rc = bind_text(st, b + 3, a[i].actor)) != SQLITE_OK ||
		    (rc = bind_text(st, b + 4, a[i].action)) != SQLITE_OK ||
		    (rc = bind_text(st, b + 5, a[i].subject)) != SQLITE_OK ||
		    (rc = bind_text(st, b + 6, a[i].fields)) != SQLITE_OK ||
		    (rc = bind_text(st, b + 7, a[i].purpose)) != SQLITE_OK ||
		    (rc = bind_text(st, b + 8, a[i].outcome)) != SQLITE_OK ||
		    (rc = bind_blob(st, b + 9, a[i].prev, sizeof a[i].prev)) !=
			    SQLITE_OK)
			break;
		rc = bind_blob(st, b + 10, a[i].hash, sizeof a[i].hash);
	}
	if (rc != SQLITE_OK) {
		fail(s, ST_AUDIT_APPEND_MANY, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, ST_AUDIT_APPEND_MANY, rc);
		goto out;
	}
	ret = 0;
out:
	done(st);
	return ret;
}

/* Fills a from an AUDIT_COLS row; strings point into the statement. */
/* An entry's text as a C string, with *bad set when it is not stored as
 * the text it was written as: a BLOB of the same bytes, or the text with a
 * NUL and more after it, reads as the same string (and hashes the same),
 * but SQL compares it otherwise, so a look-up by it would miss the entry
 * while the chain still verifies. */
static const char *audit_text(sqlite3_stmt *st, int col, int *bad)
{
	const char *v;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	if (sqlite3_column_type(st, col) != SQLITE_TEXT)
		*bad = 1;
	v = (const char *)sqlite3_column_text(st, col);
	if (v == NULL || strlen(v) != (size_t)sqlite3_column_bytes(st, col))
		*bad = 1;
	return v;
}

static int fill_audit(struct sq *s, sqlite3_stmt *st, const char *what,
		      store_audit *a)
{
	const void *prev, *hash;
	int bad = sqlite3_column_type(st, 1) != SQLITE_INTEGER;

	memset(a, 0, sizeof *a);
	a->seq = sqlite3_column_int64(st, 0);
	a->at_us = sqlite3_column_int64(st, 1);
	a->actor = audit_text(st, 2, &bad);
	a->action = audit_text(st, 3, &bad);
	a->subject = audit_text(st, 4, &bad);
	a->fields = audit_text(st, 5, &bad);
	a->purpose = audit_text(st, 6, &bad);
	a->outcome = audit_text(st, 7, &bad);
	a->altered = bad;
	prev = sqlite3_column_blob(st, 8);
	hash = sqlite3_column_blob(st, 9);
	if (!a->actor || !a->action || !a->outcome)
		return errf(s, "%s: damaged audit entry", what);
	if (!prev || !hash ||
	    sqlite3_column_bytes(st, 8) != (int)sizeof a->prev ||
	    sqlite3_column_bytes(st, 9) != (int)sizeof a->hash)
		return errf(s, "%s: damaged audit hash", what);
	memcpy(a->prev, prev, sizeof a->prev);
	memcpy(a->hash, hash, sizeof a->hash);
	return 0;
}

/* Copies src into the handle's audit buffer at *off; NULL stays NULL. */
static const char *abuf_put(struct sq *s, size_t *off, const char *src)
{
	char *dst;
	size_t n;

	if (!src)
		return NULL;
	n = strlen(src) + 1;
	dst = s->abuf + *off;
	memcpy(dst, src, n);
	*off += n;
	return dst;
}

/* The strings are copied into a buffer in the handle: the statement's
 * memory is gone once it is reset. */
static int sq_audit_last(store *base, store_audit *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_AUDIT_LAST);
	store_audit a;
	const char *strs[6];
	size_t need = 0, off = 0;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		errf(s, "audit last: the trail is empty");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail(s, ST_AUDIT_LAST, rc);
		goto out;
	}
	if (fill_audit(s, st, stmt_def[ST_AUDIT_LAST].what, &a))
		goto out;
	strs[0] = a.actor;
	strs[1] = a.action;
	strs[2] = a.subject;
	strs[3] = a.fields;
	strs[4] = a.purpose;
	strs[5] = a.outcome;
	for (size_t i = 0; i < 6; i++)
		need += strs[i] ? strlen(strs[i]) + 1 : 0;
	if (need > s->abufsz) {
		char *nb = realloc(s->abuf, need);

		if (!nb) {
			errf(s, "audit last: out of memory");
			goto out;
		}
		s->abuf = nb;
		s->abufsz = need;
	}
	a.actor = abuf_put(s, &off, strs[0]);
	a.action = abuf_put(s, &off, strs[1]);
	a.subject = abuf_put(s, &off, strs[2]);
	a.fields = abuf_put(s, &off, strs[3]);
	a.purpose = abuf_put(s, &off, strs[4]);
	a.outcome = abuf_put(s, &off, strs[5]);
	*out = a;
	ret = 0;
out:
	done(st);
	return ret;
}

struct audit_walk {
	const char *what;
	store_audit_fn fn;
	void *ud;
};

static int audit_row(store *base, sqlite3_stmt *st, void *ud)
{
	struct audit_walk *w = ud;
	store_audit a;

	if (fill_audit(sq_of(base), st, w->what, &a))
		return -1;
	return w->fn(w->ud, &a) != 0;
}

static int sq_audit_walk(store *base, int64_t from_seq, const char *subject,
			 store_audit_fn fn, void *ud)
{
	struct sq *s = sq_of(base);
	enum stmt_id id = subject ? ST_AUDIT_WALK_S : ST_AUDIT_WALK;
	struct audit_walk w = {stmt_def[id].what, fn, ud};
	/* The whole trail's form has no ?2. */
	struct sqx_arg args[] = {SQX_I(from_seq), SQX_ARGS_END, SQX_ARGS_END};

	if (subject)
		args[1] = SQX_T(subject);
	return sqx_walk(base, stmt(s, id), stmt_def[id].what, args, audit_row,
			&w);
}

/* ---- helpers for the backend's other files (store_sqlite_int.h) ---- */

sqlite3 *sqx_db(store *base)
{
	return sq_of(base)->db;
}

int sqx_set_mac(store *base, int slot, const char *what, const char *sql,
		int64_t id, const unsigned char mac[SEC_HASH_BYTES])
{
	sqlite3_stmt *st = sqx_stmt(base, slot, what, sql);
	int rc;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, id)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 2, mac, SEC_HASH_BYTES)) != SQLITE_OK) {
		sqx_done(st);
		return sqx_fail(base, what, rc);
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	if (rc != SQLITE_DONE)
		return sqx_fail(base, what, rc);
	if (sqlite3_changes(sq_of(base)->db) == 0) {
		sqx_error(base, what, "no such row");
		return STORE_NOTFOUND;
	}
	return 0;
}

sqlite3_stmt *sqx_stmt(store *base, int slot, const char *what, const char *sql)
{
	struct sq *s = sq_of(base);
	int rc;

	if (slot < 0 || slot >= SQX_SLOTS) {
		errf(s, "%s: no statement slot", what);
		return NULL;
	}
	if (s->ext[slot]) {
		if (sqlite3_stmt_busy(s->ext[slot])) {
			errf(s, "%s: re-entered from its own callback", what);
			return NULL;
		}
		return s->ext[slot];
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				&s->ext[slot], NULL);
	if (rc != SQLITE_OK) {
		fail_rc(s, what, rc);
		s->ext[slot] = NULL;
		return NULL;
	}
	return s->ext[slot];
}

void sqx_done(sqlite3_stmt *st)
{
	done(st);
}

int sqx_fail(store *base, const char *what, int rc)
{
	return fail_rc(sq_of(base), what, rc);
}

int sqx_error(store *base, const char *what, const char *problem)
{
	return errf(sq_of(base), "%s: %s", what, problem);
}

int sqx_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return bind_text(st, i, v);
}

int sqx_bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	return bind_opt_text(st, i, v);
}

int sqx_bind_blob(sqlite3_stmt *st, int i, const void *v, size_t n)
{
	return bind_blob(st, i, v, n);
}

int sqx_col_str(sqlite3_stmt *st, int col, char *dst, size_t dstsz,
		int nullable)
{
	return col_str(st, col, dst, dstsz, nullable);
}

const char *sqx_col_text(sqlite3_stmt *st, int col)
{
	return col_opt(st, col);
}

/* ---- bulk loading: SQLite's inserts are local calls already, so a bulk
 * transaction has nothing to buffer. ---- */
static int sqx_bulk(store *s, int on)
{
	(void)s;
	(void)on;
	return 0;
}

/* ---- read replica: a SQLite file has none. ---- */
static int sqx_read_replica(store *s, const char *url)
{
	if (url == NULL)
		return 0;
	return sqx_error(s, "read replica", "needs a PostgreSQL register");
}

static int64_t sqx_replica_reads(store *s)
{
	(void)s;
	return 0;
}

static void sqx_read_floor(store *s, store_floor *floor)
{
	(void)s;
	(void)floor;
}

static void sqx_replica_use(store *s, int on)
{
	(void)s;
	(void)on;
}

static void sqx_replica_max_lag(store *s, int64_t ms)
{
	(void)s;
	(void)ms;
}

/* ---- checkpoints off the request path ----
 * A commit that finds the log at its size copies it back into the database
 * and syncs both (SQLite's automatic checkpoint): tens of milliseconds in
 * the middle of a request whose thread a server's other connections wait
 * for. A connection that defers only notes that one is owed; the server's
 * checkpointer runs it. The note is the process's, not the connection's:
 * any connection's commit may fill the log, one checkpoint serves them all
 * (one for another register in the same process costs a checkpoint more or
 * waits for the next commit, which notes it again). */
static atomic_int ckpt_owed;
/* The log passed the cap below: the owed checkpoint copies all of it and
 * waits for the log to start anew (RESTART), since a writer's own try
 * finds the checkpointer's copy running and gives up without waiting. */
static atomic_int ckpt_past_cap;
/* configure()'s PRAGMA wal_autocheckpoint, restored on pages 0 */
#define AUTOCHECKPOINT_PAGES 4000

/* The log's size at which a commit stops deferring: three times the
 * deferred size, and never below 12,000 pages (47 MiB), so that a small
 * deferral still leaves the copies to the checkpointer. */
#define DEFER_CAP     3
#define DEFER_CAP_MIN 12000

/* ---- the RESTART past the cap ----
 * It holds the log's write lock while it waits for the readers of older
 * frames, and every writer waits for it. Short readers end within
 * milliseconds; a long one (an export, a backup, a shell left in a
 * transaction) would hold every write for the whole busy timeout, again at
 * each commit. So the RESTART waits RESTART_WAIT_MS at most; one that a
 * reader kept from finishing is not tried again for a while (doubling up
 * to RESTART_BACKOFF_MAX_MS, reset by one that finishes), and the log
 * grows behind the reader meanwhile, as it must.
 * While one runs, this process's new write transactions wait at a gate
 * instead of on the busy handler: writers that took the lock between its
 * tries would otherwise starve it under steady writes, even with no long
 * reader. One RESTART at a time in the process.
 * Past DEFER_HARD times the cap the log is not let grow any more: the
 * RESTART waits the whole busy timeout again, with no back-off, and writes
 * wait for the reader (backpressure, before the disk fills). */
#define DEFER_HARD	       16
#define RESTART_WAIT_MS	       250
#define RESTART_BACKOFF_MS     1000
#define RESTART_BACKOFF_MAX_MS 16000

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static atomic_int gate_closed;
static int64_t restart_not_before; /* ms, monotonic; under gate_mu */
static int64_t restart_backoff;	   /* ms; under gate_mu */

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A new write transaction of this process while a RESTART runs. */
static void gate_wait(void)
{
	if (!atomic_load(&gate_closed))
		return;
	pthread_mutex_lock(&gate_mu);
	while (atomic_load(&gate_closed))
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
}

/* The RESTART itself, on connection s (the database's name, NULL: main):
 * nothing when another runs or a back-off holds (unless hard: past the
 * hard cap). SQLITE_OK when the log starts anew; SQLITE_BUSY when it does
 * not, now or after a wait. */
static int restart_past_cap(struct sq *s, const char *name, int hard)
{
	int busy_ms = s->busy_ms, rc, frames = -1;
	int64_t now = mono_ms();

	pthread_mutex_lock(&gate_mu);
	if (atomic_load(&gate_closed) || (!hard && now < restart_not_before)) {
		pthread_mutex_unlock(&gate_mu);
		return SQLITE_BUSY;
	}
	atomic_store(&gate_closed, 1);
	pthread_mutex_unlock(&gate_mu);
	if (!hard && busy_ms > RESTART_WAIT_MS)
		s->busy_ms = RESTART_WAIT_MS;
	rc = sqlite3_wal_checkpoint_v2(s->db, name, SQLITE_CHECKPOINT_RESTART,
				       &frames, NULL);
	s->busy_ms = busy_ms;
	pthread_mutex_lock(&gate_mu);
	/* Busy at once, without a count of the log's frames: another
	 * connection's checkpoint runs (the checkpointer's PASSIVE copy); the
	 * next commit tries again. Busy after the copy: a reader held on. */
	if (rc == SQLITE_BUSY && frames >= 0) {
		restart_backoff = restart_backoff == 0 ? RESTART_BACKOFF_MS
				  : restart_backoff * 2 > RESTART_BACKOFF_MAX_MS
					  ? RESTART_BACKOFF_MAX_MS
					  : restart_backoff * 2;
		restart_not_before = mono_ms() + restart_backoff;
	} else if (rc == SQLITE_OK) {
		/* the deadline too: a hard one may finish before it */
		restart_backoff = 0;
		restart_not_before = 0;
	}
	atomic_store(&gate_closed, 0);
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	return rc;
}

static int defer_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct sq *s = ud;

	(void)db;
	if (pages >= s->defer_pages)
		atomic_store(&ckpt_owed, 1);
	/* Backpressure: when writes come in faster than the deferred
	 * checkpoints copy them, those never copy all of the log, and it
	 * never starts anew (1 GiB in 6 s of POSTs from many connections).
	 * Past the cap, the commit that finds it so copies the rest itself
	 * while new writers wait, and the next write starts the log anew.
	 * Best effort: a busy answer leaves it to the next commit. */
	if (pages >= DEFER_CAP * s->defer_pages && pages >= DEFER_CAP_MIN) {
		int cap = DEFER_CAP * s->defer_pages > DEFER_CAP_MIN
				  ? DEFER_CAP * s->defer_pages
				  : DEFER_CAP_MIN;

		atomic_store(&ckpt_past_cap, 1);
		(void)restart_past_cap(s, name, pages >= DEFER_HARD * cap);
	}
	return SQLITE_OK;
}

static int sq_defer_checkpoints(store *base, int pages)
{
	struct sq *s = sq_of(base);

	if (pages <= 0) {
		s->defer_pages = 0;
		/* replaces the hook below */
		if (sqlite3_wal_autocheckpoint(s->db, AUTOCHECKPOINT_PAGES) !=
		    SQLITE_OK)
			return fail_rc(s, "checkpoint", sqlite3_errcode(s->db));
		return 0;
	}
	s->defer_pages = pages;
	/* replaces SQLite's automatic checkpoint, which is a hook too */
	sqlite3_wal_hook(s->db, defer_hook, s);
	return 0;
}

static int sq_checkpoint_owed(store *base, int *ran)
{
	struct sq *s = sq_of(base);
	int rc;

	*ran = 0;
	if (!atomic_exchange(&ckpt_owed, 0))
		return 0;
	/* PASSIVE: copies what no reader still needs, waits for nobody;
	 * past the cap RESTART, which new writers wait for (a RESTART that
	 * a back-off holds or another runs copies PASSIVE meanwhile) */
	rc = SQLITE_BUSY;
	if (atomic_exchange(&ckpt_past_cap, 0))
		rc = restart_past_cap(s, NULL, 0);
	if (rc == SQLITE_BUSY)
		rc = sqlite3_wal_checkpoint_v2(
			s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc == SQLITE_BUSY) {
		/* another process's checkpoint runs: still owed */
		atomic_store(&ckpt_owed, 1);
		return 0;
	}
	if (rc != SQLITE_OK) {
		atomic_store(&ckpt_owed, 1);
		return fail_rc(s, "checkpoint", rc);
	}
	*ran = 1;
	return 0;
}

static const struct store_vt sq_vt = {
	.close = sq_close,
	.errmsg = sq_errmsg,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.changes = sq_changes,
	.meta_get = sq_meta_get,
	.meta_set = sq_meta_set,
	.counter_next = sq_counter_next,
	.policy_put = sq_policy_put,
	.policy_latest = sq_policy_latest,
	.subject_insert = sq_subject_insert,
	.subject_get = sq_subject_get,
	.subject_set_end = sq_subject_set_end,
	.subject_set_auth = sq_subject_set_auth,
	.subject_list = sq_subject_list,
	.value_insert = sq_value_insert,
	.value_list = sq_value_list,
	.value_delete_field = sq_value_delete_field,
	.value_set_expiry = sq_value_set_expiry,
	.bidx_find = sq_bidx_find,
	.audit_append = sq_audit_append,
	.audit_last = sq_audit_last,
	.audit_walk = sq_audit_walk,
	.record_insert = sqx_record_insert,
	.record_set_mac = sqx_record_set_mac,
	.record_list = sqx_record_list,
	.record_get = sqx_record_get,
	.record_delete_type = sqx_record_delete_type,
	.chunk_put = sqx_chunk_put,
	.chunk_walk = sqx_chunk_walk,
	.consent_append = sqx_consent_append,
	.consent_set_mac = sqx_consent_set_mac,
	.consent_walk = sqx_consent_walk,
	.consent_latest = sqx_consent_latest,
	.cookie_link = sqx_cookie_link,
	.cookie_resolve = sqx_cookie_resolve,
	.cookie_walk = sqx_cookie_walk,
	.cookie_set_mac = sqx_cookie_set_mac,
	.cookie_unlink_subject = sqx_cookie_unlink_subject,
	.actor_insert = sqx_actor_insert,
	.actor_get = sqx_actor_get,
	.actor_list = sqx_actor_list,
	.actor_revoke = sqx_actor_revoke,
	.actor_set_auth = sqx_actor_set_auth,
	.subject_set_key = sqx_subject_set_key,
	.backup_to = sqx_backup_to,
	.restore_from = sqx_restore_from,
	.checkpoint = sqx_checkpoint,
	.subject_delete = sqx_subject_delete,
	.set_durable = sqx_set_durable,
	.ciphertext_set = sqx_ciphertext_set,
	.value_bidx_walk = sqx_value_bidx_walk,
	.value_set_bidx = sqx_value_set_bidx,
	.erasure_add = sqx_erasure_add,
	.erasure_get = sqx_erasure_get,
	.held_insert = sqx_held_insert,
	.held_chunk_put = sqx_held_chunk_put,
	.erasure_walk = sqx_erasure_walk,
	.held_walk = sqx_held_walk,
	.record_set_ct = sqx_record_set_ct,
	.record_delete = sqx_record_delete,
	.record_delete_cookies = sqx_record_delete_cookies,
	.subject_set_kind = sqx_subject_set_kind,
	.value_set_expiry_row = sqx_value_set_expiry_row,
	.dsr_insert = sqx_dsr_insert,
	.dsr_update = sqx_dsr_update,
	.dsr_walk = sqx_dsr_walk,
	.retention_due = sqx_retention_due,
	.value_delete_row = sqx_value_delete_row,
	.record_set_expiry = sqx_record_set_expiry,
	.cookie_unlink = sqx_cookie_unlink,
	.held_due = sqx_held_due,
	.held_delete = sqx_held_delete,
	.value_confirm = sqx_value_confirm,
	.review_walk = sqx_review_walk,
	.bidx_find_live = sqx_bidx_find_live,
	.cookie_count = sqx_cookie_count,
	.count_by = sqx_count_by,
	.breach_insert = sqx_breach_insert,
	.breach_update = sqx_breach_update,
	.breach_walk = sqx_breach_walk,
	.breach_match = sqx_breach_match,
	.policy_get = sqx_policy_get,
	.policy_walk = sqx_policy_walk,
	.usage_count = sqx_usage_count,
	.field_subjects = sqx_field_subjects,
	.scope_walk = sqx_scope_walk,
	.disclosure_insert = sqx_disclosure_insert,
	.disclosure_walk = sqx_disclosure_walk,
	.value_repurpose = sqx_value_repurpose,
	.selfsvc_insert = sqx_selfsvc_insert,
	.selfsvc_get = sqx_selfsvc_get,
	.selfsvc_use = sqx_selfsvc_use,
	.audit_link_opened = sqx_audit_link_opened,
	.selfsvc_count = sqx_selfsvc_count,
	.selfsvc_purge = sqx_selfsvc_purge,
	.selfsvc_walk = sqx_selfsvc_walk,
	.savepoint = sqx_savepoint,
	.savepoint_release = sqx_savepoint_release,
	.savepoint_rollback = sqx_savepoint_rollback,
	.audit_append_many = sq_audit_append_many,
	.bulk = sqx_bulk,
	.read_replica = sqx_read_replica,
	.replica_reads = sqx_replica_reads,
	.cookie_reset_until = sqx_cookie_reset_until,
	.selfsvc_select = sqx_selfsvc_select,
	.read_floor = sqx_read_floor,
	.replica_use = sqx_replica_use,
	.defer_checkpoints = sq_defer_checkpoints,
	.checkpoint_owed = sq_checkpoint_owed,
	.value_pseudonym_mismatch = sqx_value_pseudonym_mismatch,
	.replica_max_lag = sqx_replica_max_lag,
	.audit_newest_is = sqx_audit_newest_is,
};

/* ---- open and migrations ---- */

static int exec(struct sq *s, const char *what, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail_rc(s, what, rc);
}

/* One-off query for a single integer (0 when there is no row). */
static int query_int(struct sq *s, const char *what, const char *sql,
		     int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = STORE_ERR;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		fail_rc(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fail_rc(s, what, rc);
		goto out;
	}
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Checks that a pragma reads back as wanted: a setting SQLite could not
 * apply is otherwise ignored silently. */
static int pragma_is(struct sq *s, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;
	const char *got;
	int rc, ret = STORE_ERR;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		fail_rc(s, "open", rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		fail_rc(s, "open", rc == SQLITE_DONE ? SQLITE_ERROR : rc);
		goto out;
	}
	got = (const char *)sqlite3_column_text(st, 0);
	if (!got || strcmp(got, want) != 0) {
		errf(s, "open: \"%s\" did not take effect", sql);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static int schema_version(struct sq *s, int64_t *v)
{
	int64_t have = 0;

	if (query_int(s, "read schema version",
		      "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		      " AND name = 'schema_migrations'",
		      &have))
		return STORE_ERR;
	if (!have) {
		*v = 0;
		return 0;
	}
	return query_int(s, "read schema version",
			 "SELECT coalesce(max(version), 0)"
			 " FROM schema_migrations",
			 v);
}

static int too_new(struct sq *s, int64_t v)
{
	return errf(s,
		    "database schema version %lld is newer than this "
		    "program knows (%lld); use a newer rekisteri",
		    (long long)v, (long long)NMIGRATIONS);
}

static int record_version(struct sq *s, int64_t v)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = STORE_ERR;

	rc = sqlite3_prepare_v2(s->db,
				"INSERT INTO schema_migrations (version,"
				" applied_at) VALUES (?1, ?2)",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, v);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail_rc(s, "migrate", rc);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Applies the missing migrations, each in its own IMMEDIATE transaction
 * (the version is re-read under the lock, so two processes opening the same
 * file at once do not both migrate). */
static int migrate(struct sq *s, int create)
{
	int64_t v;

	if (schema_version(s, &v))
		return STORE_ERR;
	if (v > NMIGRATIONS)
		return too_new(s, v);
	/* An existing file without our schema is someone else's database. */
	if (v == 0 && !create)
		return errf(s, "not a rekisteri database (no schema); "
			       "refusing to change it");
	while (v < NMIGRATIONS) {
		if (exec(s, "migrate", "BEGIN IMMEDIATE"))
			return STORE_ERR;
		if (schema_version(s, &v))
			goto fail;
		if (v > NMIGRATIONS) {
			too_new(s, v);
			goto fail;
		}
		if (v == NMIGRATIONS)
			break;
		if (exec(s, "migrate",
			 "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " version INTEGER PRIMARY KEY,"
			 " applied_at INTEGER NOT NULL)") ||
		    exec(s, "migrate", migrations[v]) ||
		    record_version(s, v + 1) || exec(s, "migrate", "COMMIT"))
			goto fail;
		v++;
	}
	if (!sqlite3_get_autocommit(s->db) && exec(s, "migrate", "COMMIT"))
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERR;
}

static int configure(struct sq *s)
{
	int on = 0;

	sqlite3_extended_result_codes(s->db, 1);
	s->busy_ms = BUSY_TIMEOUT_MS;
	if (sqlite3_busy_handler(s->db, busy_wait, s) != SQLITE_OK)
		return fail_rc(s, "open", sqlite3_errcode(s->db));
	/* Defensive mode keeps SQL from corrupting the file on purpose
	 * (writable_schema and the like). */
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) !=
		    SQLITE_OK ||
	    !on)
		return errf(s, "open: cannot enable defensive mode");
	if (exec(s, "open",
		 "PRAGMA trusted_schema = OFF;"
		 "PRAGMA synchronous = NORMAL;"
		 "PRAGMA secure_delete = ON;"
		 "PRAGMA foreign_keys = ON;"
		 /* A bulk load sets a savepoint per subject: its statement
		  * journal belongs in memory, not in a temporary file. */
		 "PRAGMA temp_store = MEMORY;"
		 /* Indexes keyed on random IDs and hashes touch pages all over
		  * the file: keep more of them cached (32 MiB). */
		 "PRAGMA cache_size = -32768;"
		 /* A checkpoint (two syncs, each page copied back once) every
		  * 4000 WAL pages instead of SQLite's 1000: a commit rewrites
		  * the same few pages (meta, the trail's last page, the tails
		  * of the value and subject tables) and these are copied back
		  * once per checkpoint. The WAL grows to about 16 MiB. */
		 "PRAGMA wal_autocheckpoint = 4000;"
		 /* A log that grew behind a long reader is cut back to
		  * 64 MiB when it starts anew (above the size it keeps under
		  * steady writes, so that is never cut). */
		 "PRAGMA journal_size_limit = 67108864"))
		return STORE_ERR;
	if (pragma_is(s, "PRAGMA journal_mode = WAL", "wal") ||
	    pragma_is(s, "PRAGMA foreign_keys", "1") ||
	    pragma_is(s, "PRAGMA secure_delete", "1"))
		return STORE_ERR;
	return 0;
}

static void remove_created(const char *path)
{
	static const char *const sfx[] = {"-wal", "-shm", "-journal"};
	size_t n = strlen(path) + sizeof "-journal";
	char *p = malloc(n);

	unlink(path);
	if (!p)
		return;
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(p, n, "%s%s", path, sfx[i]);
		unlink(p);
	}
	free(p);
}

/* ---- SQLite's memory statistics, off; its mutexes, spinning ----
 * With the statistics on (the default), every allocation SQLite makes takes
 * one process-wide mutex, which the server's worker threads then contend
 * for on every read. Nothing here asks SQLite for its memory figures. The
 * mutexes spin before they sleep (sqlmutex.c). Both can be set only before
 * SQLite initializes: once, before the first open; a program that
 * initialized SQLite itself keeps its settings (the calls then fail,
 * harmlessly). */
static pthread_once_t memstat_once = PTHREAD_ONCE_INIT;
/* the store's VFS (sqlvfs.c); NULL: the default */
static const char *store_vfs;

static void memstat_off(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)sqlmutex_install();
	/* after the setting: finding the default VFS initializes SQLite */
	store_vfs = sqlvfs_register();
}

store *store_sqlite_open(const char *path, int create, char *err, size_t errlen)
{
	struct sq *s = NULL;
	struct stat sb;
	int created = 0, fd, rc, ok = 0;
	char msg[ERR_MAX] = "";

	if (!path || !*path) {
		snprintf(msg, sizeof msg, "no database path given");
		goto out;
	}
	if (create) {
		/* O_EXCL: never take over an existing file or symlink; 0600
		 * because the file holds (encrypted) personal data. SQLite
		 * gives its -wal and -shm files the database file's mode. */
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				snprintf(msg, sizeof msg,
					 "database file already exists; "
					 "refusing to overwrite it");
			else
				snprintf(msg, sizeof msg,
					 "cannot create database file: %s",
					 strerror(errno));
			goto out;
		}
		created = 1;
		rc = fchmod(fd, 0600); /* whatever the umask and ACLs did */
		close(fd);
		if (rc != 0) {
			snprintf(msg, sizeof msg,
				 "cannot set database file mode: %s",
				 strerror(errno));
			goto out;
		}
	} else if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			snprintf(msg, sizeof msg,
				 "database file does not exist (create a "
				 "register first)");
		else
			snprintf(msg, sizeof msg,
				 "cannot open database file: %s",
				 strerror(errno));
		goto out;
	} else if (!S_ISREG(sb.st_mode)) {
		snprintf(msg, sizeof msg,
			 "database path is not a regular file");
		goto out;
	}

	s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(msg, sizeof msg, "out of memory");
		goto out;
	}
	s->base.vt = &sq_vt;
	(void)pthread_once(&memstat_once, memstat_off);
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				     (create ? SQLITE_OPEN_CREATE : 0),
			     store_vfs);
	if (rc != SQLITE_OK) {
		snprintf(msg, sizeof msg, "cannot open database: %s",
			 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto out;
	}
	if (configure(s) || migrate(s, create)) {
		snprintf(msg, sizeof msg, "%s", s->err);
		goto out;
	}
	ok = 1;
out:
	if (!ok) {
		if (err && errlen)
			snprintf(err, errlen, "%s", msg);
		sq_close(s ? &s->base : NULL);
		s = NULL;
		if (created)
			remove_created(path);
	}
	return s ? &s->base : NULL;
}

/* ---- for the PostgreSQL backend's backups (store_copy.h) ---- */

/* A backup of a PostgreSQL register is a SQLite file at this version. */
int64_t store_sqlite_schema_version(void)
{
	return NMIGRATIONS;
}

/* ---- table-driven statements for the backend's other files
 * (store_sqlite_int.h): the binding, stepping and error paths that every
 * table's insert, update and walk shared as copies. ---- */

int sqx_bind_args(sqlite3_stmt *st, const struct sqx_arg *args)
{
	int rc = SQLITE_OK, i;

	for (i = 0; rc == SQLITE_OK && args[i].kind != SQX_END; i++) {
		const struct sqx_arg *a = &args[i];
		switch (a->kind) {
		case SQX_TEXT:
			rc = bind_text(st, i + 1, a->p);
			break;
		case SQX_OPT_TEXT:
			rc = bind_opt_text(st, i + 1, a->p);
			break;
		case SQX_INT64:
			rc = sqlite3_bind_int64(st, i + 1, a->i);
			break;
		case SQX_OPT_TIME:
			rc = a->i != 0 ? sqlite3_bind_int64(st, i + 1, a->i)
				       : sqlite3_bind_null(st, i + 1);
			break;
		case SQX_BLOB:
			rc = bind_blob(st, i + 1, a->p, a->n);
			break;
		case SQX_OPT_BLOB:
			rc = a->p != NULL ? bind_blob(st, i + 1, a->p, a->n)
					  : sqlite3_bind_null(st, i + 1);
			break;
		case SQX_END:
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	return rc;
}

/* Binds args (NULL: none) and takes the first step: the step's result, or
 * the binding's error. */
static int first_step(sqlite3_stmt *st, const struct sqx_arg *args)
{
	int rc = args != NULL ? sqx_bind_args(st, args) : SQLITE_OK;

	return rc == SQLITE_OK ? sqlite3_step(st) : rc;
}

/* sqx_exec and sqx_exec_changes: rowid and changed may be NULL. */
static int exec_core(struct sq *s, sqlite3_stmt *st, const char *what,
		     const struct sqx_arg *args, int64_t *rowid,
		     int64_t *changed, const char *none)
{
	int64_t n;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	rc = first_step(st, args);
	if (rc != SQLITE_DONE) {
		fail_rc(s, what, rc);
		goto out;
	}
	n = (int64_t)sqlite3_changes64(s->db);
	if (changed != NULL)
		*changed = n;
	if (none != NULL && n == 0) {
		if (none[0] != '\0')
			errf(s, "%s: %s", what, none);
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rowid != NULL)
		*rowid = (int64_t)sqlite3_last_insert_rowid(s->db);
	ret = 0;
out:
	done(st);
	return ret;
}

int sqx_exec(store *base, sqlite3_stmt *st, const char *what,
	     const struct sqx_arg *args, int64_t *rowid, const char *none)
{
	return exec_core(sq_of(base), st, what, args, rowid, NULL, none);
}

int sqx_exec_changes(store *base, sqlite3_stmt *st, const char *what,
		     const struct sqx_arg *args, const char *none,
		     int64_t *changed)
{
	return exec_core(sq_of(base), st, what, args, NULL, changed, none);
}

int sqx_walk(store *base, sqlite3_stmt *st, const char *what,
	     const struct sqx_arg *args, sqx_row_fn row, void *ud)
{
	struct sq *s = sq_of(base);
	int rc, r, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	for (rc = first_step(st, args); rc == SQLITE_ROW;
	     rc = sqlite3_step(st)) {
		r = row(base, st, ud);
		if (r < 0)
			goto out;
		if (r > 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		fail_rc(s, what, rc);
		goto out;
	}
	ret = 0;
out:
	done(st);
	return ret;
}

int sqx_one(store *base, sqlite3_stmt *st, const char *what,
	    const struct sqx_arg *args, const char *none, sqx_row_fn row,
	    void *ud)
{
	struct sq *s = sq_of(base);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	rc = first_step(st, args);
	if (rc == SQLITE_DONE) {
		if (none != NULL)
			errf(s, "%s: %s", what, none);
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail_rc(s, what, rc);
		goto out;
	}
	if (row(base, st, ud) >= 0)
		ret = 0;
out:
	done(st);
	return ret;
}

int sqx_count(store *base, sqlite3_stmt *st, const char *what,
	      const struct sqx_arg *args, int64_t *n)
{
	struct sq *s = sq_of(base);
	int rc, ret = STORE_ERR;

	*n = 0;
	if (!st)
		return STORE_ERR;
	rc = first_step(st, args);
	if (rc != SQLITE_ROW) {
		fail_rc(s, what, rc);
		goto out;
	}
	*n = (int64_t)sqlite3_column_int64(st, 0);
	ret = 0;
out:
	done(st);
	return ret;
}

int sqx_id_row(store *s, sqlite3_stmt *st, void *ud)
{
	const struct sqx_ids *w = ud;
	const char *id = col_opt(st, 0);
	const char *ps = col_opt(st, 1);

	(void)s;
	if (id == NULL || ps == NULL)
		return 0;
	return w->fn(w->ud, id, ps) != 0;
}

const unsigned char *sqx_col_blob(sqlite3_stmt *st, int col, size_t *n)
{
	const unsigned char *p;
	int len;

	*n = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(st, col);
	len = sqlite3_column_bytes(st, col);
	if (len <= 0)
		return (const unsigned char *)"";
	*n = (size_t)len;
	return p;
}
