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

#include "journal_fixture.h"

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

static void copy_file(const char *from, const char *to)
{
	char cmd[2 * FX_PATH + 256];

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
	char path[FX_PATH + 64];
	static unsigned char buf[4 * AJ_MAX_TEST];
	long offs[9];
	size_t n;

	reads_then_die(f, 3);
	assert_int_equal(journals(f, path, sizeof path), 1);
	assert_int_equal(records(path, offs, 8), 3);
	n = (size_t)(offs[3] - offs[1]);
	assert_true(n <= sizeof buf);
	get_bytes(path, offs[1], buf, n);
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
	char path[FX_PATH + 64], saved[FX_PATH + 128];

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
	char other[FX_PATH];
	pid_t pid;
	int status = 0;

	fx_path(other, sizeof other, f->dir, "elsewhere");
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
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_journal_replay, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_journal_after_chdir, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
