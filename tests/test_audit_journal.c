/*
 * Fail-closed read audit: a read hands out data only when its entry is
 * committed or written to the handle's journal; a journal left by a killed
 * process joins the trail; a tampered journal is reported, not trusted.
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

/* A long writer holds the database: reads go on for one batch, each entry
 * in the journal, and the next read, which must commit the batch first,
 * fails without data. Nothing is lost once the writer is gone. */
static void test_locked_register(void **state)
{
	struct fx *f = *state;
	rk_register *r = NULL;
	sqlite3 *h = NULL;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	rk_register_set_audit_batch(r, 4);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(show(r, f->id), RK_OK);
	assert_int_equal(journals(f, NULL, 0), 1);
	assert_int_equal(show(r, f->id), RK_ESYS);
	assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(show(r, f->id), RK_OK);
	rk_register_close(r);
	assert_int_equal(shows(f, "ok"), 5);
	assert_int_equal(journals(f, NULL, 0), 0);
	verify_ok(f);
}

/* At batch 1 a read commits its entry before it returns: with the
 * database held, it fails and says so in the trail afterwards. */
static void test_locked_register_strict(void **state)
{
	struct fx *f = *state;
	rk_register *r = NULL;
	sqlite3 *h = NULL;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	rk_register_set_audit_batch(r, 1);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(show(r, f->id), RK_ESYS);
	assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(shows(f, "ok"), 0);
	/* the handle that just found the register busy does not wait again
	 * at close: its journal keeps the entry for the next handle */
	rk_register_close(r);
	assert_int_equal(journals(f, NULL, 0), 1);
	verify_ok(f);
	assert_int_equal(shows(f, "ok"), 0);
	assert_int_equal(shows(f, "unaudited"), 1);
}

/* A journal that cannot be written (here: the file size limit, as on a
 * full disk) fails the read before any data leaves. */
static void test_journal_unwritable(void **state)
{
	struct fx *f = *state;
	rk_register *r = NULL;
	struct rlimit old, lim;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	rk_register_set_audit_batch(r, 64);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 16;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(show(r, f->id), RK_ESYS);
	assert_non_null(strstr(rk_errmsg(r), "audit journal"));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(show(r, f->id), RK_OK);
	rk_register_close(r);
	assert_int_equal(shows(f, "ok"), 1);
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

static void test_killed_reader(void **state)
{
	struct fx *f = *state;

	reads_then_die(f, 10);
	assert_int_equal(shows(f, "ok"), 0);
	assert_int_equal(journals(f, NULL, 0), 1);
	/* the next handle takes the orphan in */
	verify_ok(f);
	assert_int_equal(shows(f, "ok"), 10);
	assert_int_equal(journals(f, NULL, 0), 0);
}

static void flip_byte(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_not_equal(c, EOF);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_not_equal(fputc(c ^ 0x20, fp), EOF);
	fclose(fp);
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

/* An edited record is not taken in, and the trail says a journal was
 * damaged; the records before it are kept. */
static void test_tampered_journal(void **state)
{
	struct fx *f = *state;
	char path[400];
	long offs[9];

	reads_then_die(f, 3);
	assert_int_equal(journals(f, path, sizeof path), 1);
	assert_int_equal(records(path, offs, 8), 3);
	/* a byte in the middle of the second record */
	flip_byte(path, (offs[1] + offs[2]) / 2);
	verify_ok(f);
	assert_int_equal(shows(f, "ok"), 1);
	assert_int_equal(journal_damage(f), 1);
	assert_int_equal(journals(f, NULL, 0), 0);
}

/* Records removed from the middle of a journal leave a gap in their
 * numbers, which is reported; the records that authenticate are taken
 * in. */
static void test_journal_gap(void **state)
{
	struct fx *f = *state;
	char path[400];
	unsigned char third[AJ_MAX_TEST];
	long offs[9];
	size_t n;
	FILE *fp;

	reads_then_die(f, 3);
	assert_int_equal(journals(f, path, sizeof path), 1);
	assert_int_equal(records(path, offs, 8), 3);
	/* the third record moved over the second, the rest zeroed */
	n = (size_t)(offs[3] - offs[2]);
	assert_true(n <= sizeof third);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, offs[2], SEEK_SET), 0);
	assert_int_equal(fread(third, 1, n, fp), n);
	fclose(fp);
	put_bytes(path, offs[1], third, n);
	memset(third, 0, sizeof third);
	put_bytes(path, offs[1] + (long)n, third,
		  (size_t)(offs[3] - offs[1]) - n);
	verify_ok(f);
	/* what authenticates is taken in; the gap is reported */
	assert_int_equal(shows(f, "ok"), 2);
	assert_int_equal(journal_damage(f), 1);
}

/* A record whose length was not yet written when the process died (the
 * length is written last) ends the journal quietly. */
static void test_torn_journal(void **state)
{
	struct fx *f = *state;
	static const unsigned char zero[4];
	char path[400];
	long offs[9];

	reads_then_die(f, 3);
	assert_int_equal(journals(f, path, sizeof path), 1);
	assert_int_equal(records(path, offs, 8), 3);
	put_bytes(path, offs[2], zero, sizeof zero);
	verify_ok(f);
	assert_int_equal(shows(f, "ok"), 2);
	assert_int_equal(journal_damage(f), 0);
}

/* A journal made up without the audit key adds nothing to the trail. */
static void test_forged_journal(void **state)
{
	struct fx *f = *state;
	char path[400];
	unsigned char rec[200];
	FILE *fp;

	snprintf(path, sizeof path,
		 "%s/r.db-audit-0123456789abcdef0123456789abcdef.j", f->dir);
	memset(rec, 'A', sizeof rec);
	rec[0] = 0;
	rec[1] = 0;
	rec[2] = 0;
	rec[3] = (unsigned char)sizeof rec;
	memcpy(rec + 4, "RKJ1", 4);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(rec, 1, sizeof rec, fp), sizeof rec);
	fclose(fp);
	verify_ok(f);
	assert_int_equal(shows(f, "ok"), 0);
	assert_int_equal(journal_damage(f), 1);
	assert_int_equal(journals(f, NULL, 0), 0);
}

/* Two handles reading at once keep journals of their own, and a live
 * handle's journal is never taken for an orphan. */
static void test_live_journal_not_orphan(void **state)
{
	struct fx *f = *state;
	rk_register *a = NULL, *b = NULL;

	assert_int_equal(rk_register_open(f->db, f->key, &a), RK_OK);
	rk_register_set_audit_batch(a, 64);
	assert_int_equal(show(a, f->id), RK_OK);
	assert_int_equal(show(a, f->id), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &b), RK_OK);
	rk_register_set_audit_batch(b, 64);
	assert_int_equal(show(b, f->id), RK_OK);
	assert_int_equal(journals(f, NULL, 0), 2);
	/* b's verify commits its own entry and leaves a's journal alone */
	{
		rk_audit_report rep;
		assert_int_equal(rk_audit_verify(b, &rep), RK_OK);
	}
	assert_int_equal(shows(f, "ok"), 1);
	rk_register_close(a);
	rk_register_close(b);
	assert_int_equal(shows(f, "ok"), 3);
	assert_int_equal(journals(f, NULL, 0), 0);
	verify_ok(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_locked_register, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_locked_register_strict,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_unwritable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_killed_reader, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tampered_journal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_journal_gap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_journal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forged_journal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_live_journal_not_orphan,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
