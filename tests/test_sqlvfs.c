/*
 * test_sqlvfs.c: the store's VFS writes a transaction's log frames in one
 * call, and what SQLite reads back, another connection sees and the plain
 * VFS finds in the file are what SQLite wrote:
 * - a transaction larger than the buffer and than the page cache (its
 *   pages spill to the log before the commit) commits whole;
 * - a savepoint rolled back inside it leaves the rest;
 * - a transaction that spilled and then rolled back leaves nothing behind
 *   that could later land on the frames of the next writer (another
 *   connection of the same process) — the case the buffer must drop;
 * - a connection in exclusive locking mode (no shared-memory locks, so no
 *   writer to tie the buffer to) still writes every frame;
 * - with the store's synchronous = NORMAL, a transaction that spilled and
 *   then changed a page it had spilled (SQLite rewrites those frames in
 *   place and then their headers, checksums recomputed, after the commit
 *   frame) survives a crash: the files as they stand, opened anew, must
 *   hold it (recovery reads the log's checksum chain);
 * - frames kept back that cannot be written when the transaction next reads
 *   (a full disk: the default VFS under the shim made to fail log writes)
 *   end the transaction, as a failed frame write ends it without the shim:
 *   nothing may commit on top of the lost frames.
 * Each database is checked with integrity_check through the default VFS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fixture.h"
#include "sqlvfs.h"

static const char *vfs;

/* Under the shim: the default VFS whose log writes fail with SQLITE_FULL
 * while fault_on is set (its files are the default VFS's, their methods
 * a copy with xWrite replaced). */
static sqlite3_vfs *unix_vfs, fault_vfs;
static sqlite3_io_methods fault_io;
static const sqlite3_io_methods *unix_io;
static int fault_on;

static int fault_write(sqlite3_file *f, const void *p, int amt,
		       sqlite3_int64 ofst)
{
	if (fault_on)
		return SQLITE_FULL;
	return unix_io->xWrite(f, p, amt, ofst);
}

static int fault_open(sqlite3_vfs *v, const char *name, sqlite3_file *f,
		      int flags, int *out)
{
	int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out);

	(void)v;
	if (f->pMethods != NULL && (flags & SQLITE_OPEN_WAL)) {
		unix_io = f->pMethods;
		fault_io = *unix_io;
		fault_io.xWrite = fault_write;
		f->pMethods = &fault_io;
	}
	return rc;
}
static char dir[FX_PATH];
static int nfile;

static void path_new(char *out, size_t n)
{
	char name[32];

	snprintf(name, sizeof name, "t%d.db", nfile++);
	fx_path(out, n, dir, name);
}

static sqlite3 *open_db(const char *path, const char *with_vfs)
{
	sqlite3 *db = NULL;

	assert_int_equal(
		sqlite3_open_v2(path, &db,
				SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				with_vfs),
		SQLITE_OK);
	assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
	return db;
}

static void run(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

static long long one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* integrity_check and the row count through the default VFS */
static void check_plain(const char *path, long long rows)
{
	sqlite3 *c = open_db(path, NULL);
	sqlite3_stmt *st = NULL;

	assert_int_equal(
		sqlite3_prepare_v2(c, "PRAGMA integrity_check", -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(one(c, "SELECT count(*) FROM t"), rows);
	assert_int_equal(one(c, "SELECT count(*) FROM t WHERE length(pad) <> "
				"x % 900 + 1"),
			 0);
	sqlite3_close(c);
}

static sqlite3 *make(const char *path)
{
	sqlite3 *db = open_db(path, vfs);

	run(db, "PRAGMA journal_mode = WAL; PRAGMA cache_size = 8;"
		"PRAGMA wal_autocheckpoint = 0;"
		"CREATE TABLE IF NOT EXISTS t (x INTEGER PRIMARY KEY,"
		" pad BLOB NOT NULL)");
	return db;
}

/* n rows from x = from on, each with a pad whose length its x decides */
static void add_rows(sqlite3 *db, int from, int n)
{
	char sql[160];

	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 "
		 "FROM s WHERE i < %d) INSERT INTO t SELECT i, "
		 "randomblob(i %% 900 + 1) FROM s",
		 from, from + n - 1);
	run(db, sql);
}

static void test_large_commit(void **state)
{
	char path[FX_PATH];
	sqlite3 *a;

	(void)state;
	path_new(path, sizeof path);
	a = make(path);
	/* about 1.3 MiB of rows: ten times the buffer, and the cache of
	 * 8 pages spills all along */
	run(a, "BEGIN");
	add_rows(a, 1, 3000);
	run(a, "SAVEPOINT s1");
	add_rows(a, 3001, 500);
	run(a, "ROLLBACK TO s1; RELEASE s1");
	add_rows(a, 5001, 100);
	run(a, "COMMIT");
	assert_int_equal(one(a, "SELECT count(*) FROM t"), 3100);
	check_plain(path, 3100);
	sqlite3_close(a);
	check_plain(path, 3100);
}

static void test_spill_rollback_then_other_writer(void **state)
{
	char path[FX_PATH];
	sqlite3 *a, *b;

	(void)state;
	path_new(path, sizeof path);
	a = make(path);
	b = make(path);
	add_rows(a, 1, 10); /* the log exists and has frames */
	/* a's transaction spills frames to the log (fewer than the buffer
	 * holds), then rolls back */
	run(a, "BEGIN");
	add_rows(a, 1000, 250);
	run(a, "ROLLBACK");
	/* b writes where a's frames were */
	run(b, "BEGIN IMMEDIATE");
	add_rows(b, 100, 600);
	run(b, "COMMIT");
	/* a reads and writes again: nothing of its rolled-back frames may
	 * land on b's */
	assert_int_equal(one(a, "SELECT count(*) FROM t"), 610);
	add_rows(a, 5000, 5);
	assert_int_equal(one(b, "SELECT count(*) FROM t"), 615);
	check_plain(path, 615);
	sqlite3_close(a);
	sqlite3_close(b);
	check_plain(path, 615);
}

static void test_exclusive_mode(void **state)
{
	char path[FX_PATH];
	sqlite3 *a;

	(void)state;
	path_new(path, sizeof path);
	a = open_db(path, vfs);
	run(a, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
	       "PRAGMA cache_size = 8; PRAGMA wal_autocheckpoint = 0;"
	       "CREATE TABLE t (x INTEGER PRIMARY KEY, pad BLOB NOT NULL)");
	run(a, "BEGIN");
	add_rows(a, 1, 1500);
	run(a, "COMMIT");
	run(a, "BEGIN");
	add_rows(a, 2000, 1500);
	run(a, "ROLLBACK");
	add_rows(a, 4000, 20);
	assert_int_equal(one(a, "SELECT count(*) FROM t"), 1520);
	sqlite3_close(a);
	check_plain(path, 1520);
}

/* A crash as the files stand: the database and its log copied to a new
 * name (no shared memory: the copy's opener recovers from the log, which
 * checks every frame's checksum), then counted through the default VFS. */
static void check_crash_copy(const char *path, long long rows)
{
	char from[FX_PATH + 8], cpath[FX_PATH + 8], to[FX_PATH + 16];

	snprintf(cpath, sizeof cpath, "%s.crash", path);
	fx_copy_file(path, cpath);
	snprintf(from, sizeof from, "%s-wal", path);
	snprintf(to, sizeof to, "%s-wal", cpath);
	fx_copy_file(from, to);
	check_plain(cpath, rows);
}

static void test_rewritten_frames_survive_crash(void **state)
{
	char path[FX_PATH];
	sqlite3 *a;

	(void)state;
	path_new(path, sizeof path);
	a = make(path);
	run(a, "PRAGMA synchronous = NORMAL"); /* as the store has it */
	add_rows(a, 1, 10);
	/* the cache of 8 pages spills; the update then changes pages the
	 * transaction already put in the log, which SQLite overwrites in
	 * place and whose checksums it rewrites after the commit frame */
	run(a, "BEGIN");
	add_rows(a, 100, 2000);
	run(a, "UPDATE t SET pad = randomblob(length(pad)) WHERE x < 300");
	run(a, "COMMIT");
	add_rows(a, 5000, 3); /* a commit after it */
	assert_int_equal(one(a, "SELECT count(*) FROM t"), 2013);
	/* a crash now must lose neither commit */
	check_crash_copy(path, 2013);
	sqlite3_close(a);
	check_plain(path, 2013);
}

static void test_lost_frames_end_transaction(void **state)
{
	char path[FX_PATH];
	sqlite3 *a;

	(void)state;
	path_new(path, sizeof path);
	a = make(path);
	run(a, "PRAGMA synchronous = NORMAL");
	add_rows(a, 1, 10);
	/* about 80 KiB of rows: the cache of 8 pages spills frames that
	 * stay in the buffer (tied to the writer, no commit yet) */
	run(a, "BEGIN");
	add_rows(a, 100, 200);
	/* the disk fills: the update reads spilled pages, and the buffer
	 * cannot go out first */
	fault_on = 1;
	assert_int_not_equal(
		sqlite3_exec(a,
			     "UPDATE t SET pad = randomblob(length(pad)) "
			     "WHERE x >= 100",
			     NULL, NULL, NULL),
		SQLITE_OK);
	fault_on = 0;
	/* the transaction is over, as without the shim; a commit now would
	 * write a database whose pages point at frames never written */
	assert_int_equal(sqlite3_get_autocommit(a), 1);
	(void)sqlite3_exec(a, "COMMIT", NULL, NULL, NULL);
	check_plain(path, 10);
	/* and the connection writes again */
	add_rows(a, 500, 5);
	check_plain(path, 15);
	sqlite3_close(a);
	check_plain(path, 15);
}

/* ---- the shim's methods driven by hand ---- */

struct pair {
	sqlite3_vfs *v;
	sqlite3_file *db, *wal;
	char path[FX_PATH], walp[FX_PATH + 8], jp[FX_PATH + 16];
	sqlite3_filename fn; /* as SQLite passes names to a VFS */
};

static sqlite3_file *vopen(sqlite3_vfs *v, const char *path, int flags)
{
	sqlite3_file *f = calloc(1, (size_t)v->szOsFile);
	int out = 0;

	assert_non_null(f);
	assert_int_equal(
		v->xOpen(v, path, f,
			 flags | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			 &out),
		SQLITE_OK);
	return f;
}

static void vclose(sqlite3_file *f)
{
	assert_int_equal(f->pMethods->xClose(f), SQLITE_OK);
	free(f);
}

static void pair_open(struct pair *p)
{
	void volatile *shm = NULL;

	p->v = sqlite3_vfs_find(vfs);
	assert_non_null(p->v);
	path_new(p->path, sizeof p->path);
	snprintf(p->walp, sizeof p->walp, "%s-wal", p->path);
	snprintf(p->jp, sizeof p->jp, "%s-journal", p->path);
	p->fn = sqlite3_create_filename(p->path, p->jp, p->walp, 0, NULL);
	assert_non_null(p->fn);
	p->db = vopen(p->v, p->fn, SQLITE_OPEN_MAIN_DB);
	assert_int_equal(p->db->pMethods->xShmMap(p->db, 0, 32768, 1, &shm),
			 SQLITE_OK);
	p->wal = vopen(p->v, sqlite3_filename_wal(p->fn), SQLITE_OPEN_WAL);
}

static void pair_close(struct pair *p)
{
	vclose(p->wal);
	assert_int_equal(p->db->pMethods->xShmUnmap(p->db, 1), SQLITE_OK);
	vclose(p->db);
	sqlite3_free_filename(p->fn);
}

static int write_lock(struct pair *p, int on)
{
	return p->db->pMethods->xShmLock(
		p->db, 0, 1,
		(on ? SQLITE_SHM_LOCK : SQLITE_SHM_UNLOCK) |
			SQLITE_SHM_EXCLUSIVE);
}

/* A frame: its header (commit: the database's size, else 0) and a page of
 * one byte value, at frame slot k of a log with 4096-byte pages. */
static void frame(sqlite3_file *wal, int k, int commit, int byte)
{
	unsigned char hdr[24], page[4096];
	sqlite3_int64 off = 32 + (sqlite3_int64)k * (24 + 4096);

	memset(hdr, 0, sizeof hdr);
	hdr[3] = 1;
	hdr[7] = (unsigned char)commit;
	memset(page, byte, sizeof page);
	assert_int_equal(wal->pMethods->xWrite(wal, hdr, 24, off), SQLITE_OK);
	assert_int_equal(wal->pMethods->xWrite(wal, page, 4096, off + 24),
			 SQLITE_OK);
}

/* The byte at frame slot k's page as the file holds it (another open). */
static int on_disk(const char *walp, int k)
{
	FILE *fp = fopen(walp, "rb");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 32 + (long)k * (24 + 4096) + 24, SEEK_SET),
			 0);
	c = fgetc(fp);
	fclose(fp);
	return c;
}

static void test_frames_wait_for_commit(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	assert_int_equal(write_lock(&p, 1), SQLITE_OK);
	frame(p.wal, 0, 0, 'a');
	frame(p.wal, 1, 0, 'b');
	/* held while the writer holds the lock and no commit came */
	assert_int_equal(on_disk(p.walp, 0), EOF);
	frame(p.wal, 2, 5, 'c');
	/* the commit frame's page brings them all */
	assert_int_equal(on_disk(p.walp, 0), 'a');
	assert_int_equal(on_disk(p.walp, 1), 'b');
	assert_int_equal(on_disk(p.walp, 2), 'c');
	assert_int_equal(write_lock(&p, 0), SQLITE_OK);
	pair_close(&p);
}

static void test_rolled_back_frames_dropped(void **state)
{
	struct pair p;
	sqlite3_file *other;
	unsigned char got[4096];

	(void)state;
	pair_open(&p);
	assert_int_equal(write_lock(&p, 1), SQLITE_OK);
	frame(p.wal, 0, 0, 'x');
	frame(p.wal, 1, 0, 'y');
	/* the transaction ends without a commit */
	assert_int_equal(write_lock(&p, 0), SQLITE_OK);
	/* another writer (another connection) puts its frames there */
	other = vopen(sqlite3_vfs_find(NULL), sqlite3_filename_wal(p.fn),
		      SQLITE_OPEN_WAL);
	frame(other, 0, 0, 'B');
	frame(other, 1, 7, 'C');
	vclose(other);
	/* the first handle reads the log: it must find the other's frames,
	 * and the file must keep them */
	assert_int_equal(
		p.wal->pMethods->xRead(p.wal, got, sizeof got, 32 + 24),
		SQLITE_OK);
	assert_int_equal(got[0], 'B');
	assert_int_equal(on_disk(p.walp, 0), 'B');
	assert_int_equal(on_disk(p.walp, 1), 'C');
	pair_close(&p);
	assert_int_equal(on_disk(p.walp, 1), 'C');
}

/* The 24 bytes at frame slot k's header as the file holds them. */
static void hdr_on_disk(const char *walp, int k, unsigned char out[24])
{
	FILE *fp = fopen(walp, "rb");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 32 + (long)k * (24 + 4096), SEEK_SET), 0);
	assert_int_equal(fread(out, 1, 24, fp), 24);
	fclose(fp);
}

static void test_header_rewritten_after_commit(void **state)
{
	struct pair p;
	unsigned char hdr[24], got[24];

	(void)state;
	pair_open(&p);
	assert_int_equal(write_lock(&p, 1), SQLITE_OK);
	frame(p.wal, 0, 0, 'a');
	frame(p.wal, 1, 2, 'b');
	/* SQLite rewrites headers in place after the commit frame (new
	 * checksums) and writes no page after them: each must be in the
	 * file at once, before and after the writer lets go */
	memset(hdr, 0x5a, sizeof hdr);
	assert_int_equal(p.wal->pMethods->xWrite(p.wal, hdr, 24, 32),
			 SQLITE_OK);
	hdr_on_disk(p.walp, 0, got);
	assert_memory_equal(got, hdr, 24);
	assert_int_equal(write_lock(&p, 0), SQLITE_OK);
	hdr_on_disk(p.walp, 0, got);
	assert_memory_equal(got, hdr, 24);
	/* the next transaction's frames are kept again until its commit */
	assert_int_equal(write_lock(&p, 1), SQLITE_OK);
	frame(p.wal, 2, 0, 'c');
	assert_int_equal(on_disk(p.walp, 2), EOF);
	frame(p.wal, 3, 4, 'd');
	assert_int_equal(on_disk(p.walp, 2), 'c');
	assert_int_equal(write_lock(&p, 0), SQLITE_OK);
	pair_close(&p);
}

static void test_untied_frames_written_at_once(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	/* no write lock held through this database file: nothing to tie
	 * the buffer to, so each frame goes out with its page */
	frame(p.wal, 0, 0, 'u');
	assert_int_equal(on_disk(p.walp, 0), 'u');
	pair_close(&p);
}

static int setup(void **state)
{
	(void)state;
	fx_scratch(dir, "sqlvfs");
	/* the shim over the faulty VFS, which is the default only while the
	 * shim registers; everything else opens with the default VFS */
	unix_vfs = sqlite3_vfs_find(NULL);
	if (unix_vfs == NULL)
		return -1;
	fault_vfs = *unix_vfs;
	fault_vfs.zName = "rk-fault";
	fault_vfs.xOpen = fault_open;
	if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK)
		return -1;
	vfs = sqlvfs_register();
	if (sqlite3_vfs_register(unix_vfs, 1) != SQLITE_OK)
		return -1;
	return vfs == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_rm_tree(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_commit),
		cmocka_unit_test(test_spill_rollback_then_other_writer),
		cmocka_unit_test(test_exclusive_mode),
		cmocka_unit_test(test_rewritten_frames_survive_crash),
		cmocka_unit_test(test_lost_frames_end_transaction),
		cmocka_unit_test(test_frames_wait_for_commit),
		cmocka_unit_test(test_rolled_back_frames_dropped),
		cmocka_unit_test(test_header_rewritten_after_commit),
		cmocka_unit_test(test_untied_frames_written_at_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
