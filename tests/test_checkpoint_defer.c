/*
 * test_checkpoint_defer.c: a handle that defers its checkpoints leaves the
 * log to the checkpointer: its commits only note that one is owed, the
 * next rk_register_checkpoint_owed (on any handle of the process) copies
 * the log into the database file, once; a handle that does not defer notes
 * nothing; in a transaction the call is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rekisteri.h"

#include "fixture.h"

static off_t file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static void add_some(rk_register *r, int n, int from)
{
	char id[RK_ID_LEN + 1], mail[64];

	for (int i = 0; i < n; i++) {
		snprintf(mail, sizeof mail, "c%d@example.fi", from + i);
		fx_subject(r, "customer", id, "first_name", "Testi",
			   "last_name", "Henkilö", "email", mail, NULL);
	}
}

static void test_deferred(void **state)
{
	struct fx *f = fx_open("ckpt");
	rk_register *a = NULL;
	off_t before;
	int ran = -1;

	(void)state;
	assert_int_equal(rk_register_open(f->db, f->key, &a), RK_OK);
	assert_int_equal(rk_register_defer_checkpoints(a, -1), RK_EINVAL);
	assert_int_equal(rk_register_defer_checkpoints(a, 1), RK_OK);
	/* nothing owed yet */
	assert_int_equal(rk_register_checkpoint_owed(f->r, &ran), RK_OK);
	assert_int_equal(ran, 0);

	/* the deferring handle's commits: owed, not run */
	add_some(a, 40, 0);
	before = file_size(f->db);
	assert_int_equal(rk_register_checkpoint_owed(f->r, &ran), RK_OK);
	assert_int_equal(ran, 1);
	/* the log went into the database file */
	assert_true(file_size(f->db) > before);
	assert_int_equal(rk_register_checkpoint_owed(f->r, &ran), RK_OK);
	assert_int_equal(ran, 0);

	/* a handle that does not defer notes nothing */
	add_some(f->r, 5, 100);
	assert_int_equal(rk_register_checkpoint_owed(a, &ran), RK_OK);
	assert_int_equal(ran, 0);
	/* nor one that stopped deferring */
	assert_int_equal(rk_register_defer_checkpoints(a, 0), RK_OK);
	add_some(a, 5, 200);
	assert_int_equal(rk_register_checkpoint_owed(a, NULL), RK_OK);
	assert_int_equal(rk_register_checkpoint_owed(a, &ran), RK_OK);
	assert_int_equal(ran, 0);

	/* not inside a transaction */
	assert_int_equal(rk_register_begin(a), RK_OK);
	assert_int_equal(rk_register_checkpoint_owed(a, &ran), RK_EINVAL);
	rk_register_rollback(a);

	fx_verify_ok(f->r);
	rk_register_close(a);
	fx_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deferred),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
