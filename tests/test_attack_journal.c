/*
 * Attacks on the audit journal: records cut from the front of a journal,
 * a journal put back after it was taken in, and a journal made beside the
 * wrong directory after a chdir are not reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rekisteri.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif
#define POLICY	    RK_SOURCE_DIR "/policies/ocr-factory.json"
#define AJ_MAX_TEST 8192

struct fx {
	char dir[256];
	char db[300];
	char key[300];
	char id[RK_ID_LEN + 1];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	rk_register *r = NULL;
	rk_fields *fl = rk_fields_new();

	assert_non_null(f);
	assert_non_null(fl);
	snprintf(f->dir, sizeof f->dir, "%s/rk-aj-XXXXXX",
		 tmp != NULL && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof f->db, "%s/r.db", f->dir);
	snprintf(f->key, sizeof f->key, "%s/r.key", f->dir);
	assert_int_equal(rk_register_init(f->db, f->key, POLICY, &r), RK_OK);
	assert_int_equal(rk_fields_add(fl, "first_name", "Testi"), RK_OK);
	assert_int_equal(rk_fields_add(fl, "last_name", "Henkilo"), RK_OK);
	assert_int_equal(rk_subject_add(r, "customer", fl, NULL, NULL, f->id),
			 RK_OK);
	rk_fields_free(fl);
	rk_register_close(r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[400];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static long count_sql(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long n;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

static long shows(const struct fx *f, const char *outcome)
{
	char sql[200];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM audit WHERE action = 'subject.show' "
		 "AND outcome = '%s'",
		 outcome);
	return count_sql(f->db, sql);
}

/* The journal files beside the register; the first one's path in path. */
static int journals(const struct fx *f, char *path, size_t cap)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "r.db-audit-", 11) != 0 || len < 2 ||
		    strcmp(de->d_name + len - 2, ".j") != 0)
			continue;
		if (n++ == 0 && path != NULL)
			snprintf(path, cap, "%s/%s", f->dir, de->d_name);
	}
	closedir(d);
	return n;
}

static rk_status show(rk_register *r, const char *id)
{
	rk_subject *s = (rk_subject *)(uintptr_t)1;
	rk_status st = rk_subject_get(r, id, NULL, &s);

	if (st != RK_OK)
		assert_null(s); /* nothing handed out */
	rk_subject_free(s);
	return st;
}

static void verify_ok(const struct fx *f)
{
	rk_register *r = NULL;
	rk_audit_report rep;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	rk_register_close(r);
}

/* Reads in a process that is killed before it commits them. */
static void reads_then_die(const struct fx *f, int n)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *r = NULL;
		if (rk_register_open(f->db, f->key, &r) != RK_OK)
			_exit(2);
		rk_register_set_audit_batch(r, 64);
		for (int i = 0; i < n; i++)
			if (show(r, f->id) != RK_OK)
				_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* The offsets of the journal's records (its length prefixes), up to the
 * zero length that ends it; offs[n] is where the end is. */
static int records(const char *path, long offs[], int max)
{
	FILE *fp = fopen(path, "rb");
	unsigned char len[4];
	long off = 0;
	int n = 0;

	assert_non_null(fp);
	while (n < max && fread(len, 1, 4, fp) == 4) {
		long rl = (long)len[0] << 24 | (long)len[1] << 16 |
			  (long)len[2] << 8 | len[3];
		if (rl == 0)
			break;
		offs[n++] = off;
		off += rl;
		assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	}
	fclose(fp);
	offs[n] = off;
	return n;
}

/* Writes len bytes of buf at off. */
static void put_bytes(const char *path, long off, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

static long journal_damage(const struct fx *f)
{
	return count_sql(f->db, "SELECT count(*) FROM audit WHERE action = "
				"'audit.journal' AND outcome = 'integrity'");
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1000];

	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

static long all_shows(const struct fx *f)
{
	return count_sql(f->db, "SELECT count(*) FROM audit WHERE action = "
				"'subject.show'");
}

/* The first records of a dead reader's journal cut off (the rest moved to
 * the front): the reads they stood for vanish, and nothing in the trail
 * says a journal was damaged. The numbers start at 1; the importer must
 * insist on it as it insists on no gaps. */
static void test_journal_front_cut(void **state)
{
	struct fx *f = *state;
	char path[400];
	static unsigned char buf[4 * AJ_MAX_TEST];
	long offs[9];
	size_t n;
	FILE *fp;

	reads_then_die(f, 3);
	assert_int_equal(journals(f, path, sizeof path), 1);
	assert_int_equal(records(path, offs, 8), 3);
	n = (size_t)(offs[3] - offs[1]);
	assert_true(n <= sizeof buf);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, offs[1], SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, n, fp), n);
	fclose(fp);
	/* records 2 and 3 over record 1, then the end */
	put_bytes(path, 0, buf, n);
	memset(buf, 0, sizeof buf);
	put_bytes(path, (long)n, buf, (size_t)offs[3] - n);
	verify_ok(f);
	assert_int_equal(shows(f, "ok"), 2);
	/* one read is gone from the trail: that must be reported */
	assert_int_equal(journal_damage(f), 1);
}

/* A copy of a journal put back after it was taken in is taken in again:
 * the same reads appear twice in a trail that verifies intact, and the
 * copy can be replayed any number of times. */
static void test_journal_replay(void **state)
{
	struct fx *f = *state;
	char path[400], saved[460];

	reads_then_die(f, 2);
	assert_int_equal(journals(f, path, sizeof path), 1);
	snprintf(saved, sizeof saved, "%s/saved-copy", f->dir);
	copy_file(path, saved);
	verify_ok(f);
	assert_int_equal(all_shows(f), 2);
	assert_int_equal(journals(f, NULL, 0), 0);
	/* the attacker puts the same file back under its own name */
	copy_file(saved, path);
	verify_ok(f);
	assert_int_equal(all_shows(f), 2);
}

/* A register opened by a relative path keeps the path as given, and the
 * journal is made relative to the working directory of the moment: a
 * process that changes its directory after the open (a daemon does)
 * journals its reads elsewhere, and when it dies those reads never reach
 * the register's trail. */
static void test_journal_after_chdir(void **state)
{
	struct fx *f = *state;
	char other[320];
	pid_t pid;
	int status = 0;

	snprintf(other, sizeof other, "%s/elsewhere", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *r = NULL;
		if (chdir(f->dir) != 0 ||
		    rk_register_open("r.db", f->key, &r) != RK_OK)
			_exit(2);
		rk_register_set_audit_batch(r, 64);
		if (chdir(other) != 0)
			_exit(3);
		for (int i = 0; i < 2; i++)
			if (show(r, f->id) != RK_OK)
				_exit(4);
		kill(getpid(), SIGKILL);
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	verify_ok(f);
	/* both reads handed out data: both must be in the trail */
	assert_int_equal(shows(f, "ok"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_front_cut, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_journal_replay, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_journal_after_chdir, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
