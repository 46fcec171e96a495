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

#include "journal_fixture.h"

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

/* An edited record is not taken in, and the trail says a journal was
 * damaged; the records before it are kept. */
static void test_tampered_journal(void **state)
{
	struct fx *f = *state;
	char path[FX_PATH + 64];
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
	char path[FX_PATH + 64];
	unsigned char third[AJ_MAX_TEST];
	long offs[9];
	size_t n;

	reads_then_die(f, 3);
	assert_int_equal(journals(f, path, sizeof path), 1);
	assert_int_equal(records(path, offs, 8), 3);
	/* the third record moved over the second, the rest zeroed */
	n = (size_t)(offs[3] - offs[2]);
	assert_true(n <= sizeof third);
	get_bytes(path, offs[2], third, n);
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
	char path[FX_PATH + 64];
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
	char path[FX_PATH + 64];
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
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_locked_register_strict,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_journal_unwritable, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_killed_reader, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_tampered_journal, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_journal_gap, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_torn_journal, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_forged_journal, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_live_journal_not_orphan,
						setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
