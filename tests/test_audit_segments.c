/*
 * The audit chain key rotates in segments: entries keep the key they were
 * written under, the earlier keys are kept sealed under the current one,
 * and a rotation that does not commit leaves the old key in place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "crypto.h"
#include "register.h"

#include "fixture.h"

static int setup(void **state)
{
	struct fx *f = fx_open("seg");

	fx_subject(f->r, "customer", f->id, "first_name", "Testi", "last_name",
		   "Henkilo", NULL);
	*state = f;
	return 0;
}

/* Rotates the chain key in a write transaction of its own. */
static void rotate(rk_register *r, int commit)
{
	audit_ev ev;

	assert_int_equal(reg_begin_write(r), RK_OK);
	assert_int_equal(audit_rotate_key(r, r->mk), RK_OK);
	audit_ev_set(&ev, r, AUD_KEY_ROTATE, NULL, NULL, NULL, "ok");
	assert_int_equal(audit_write(r, &ev), RK_OK);
	if (commit)
		assert_int_equal(reg_commit(r), RK_OK);
	else
		reg_rollback(r);
}

static void show(rk_register *r, const char *id)
{
	rk_subject *s = NULL;

	assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_OK);
	rk_subject_free(s);
}

static void verify(const struct fx *f, rk_status want)
{
	rk_register *h = NULL;
	rk_audit_report rep;

	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_audit_verify(h, &rep), want);
	rk_register_close(h);
}

static void test_rotation_keeps_the_trail(void **state)
{
	struct fx *f = *state;
	unsigned char old[SEC_KEY_BYTES];

	memcpy(old, f->r->akey, sizeof old);
	show(f->r, f->id);
	rotate(f->r, 1);
	assert_int_not_equal(memcmp(old, f->r->akey, sizeof old), 0);
	show(f->r, f->id);
	rotate(f->r, 1);
	show(f->r, f->id);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	/* this handle and a new one (which loads the newest key) agree */
	{
		rk_audit_report rep;
		assert_int_equal(rk_audit_verify(f->r, &rep), RK_OK);
	}
	verify(f, RK_OK);
	/* without the sealed earlier keys the old entries cannot be
	 * checked: the trail is not taken for intact */
	rk_register_close(f->r);
	f->r = NULL;
	fx_exec(f->db, "DELETE FROM meta WHERE key = 'audit_segments'");
	verify(f, RK_EINTEGRITY);
	sec_wipe(old, sizeof old);
}

static void test_rotation_rolled_back(void **state)
{
	struct fx *f = *state;
	unsigned char old[SEC_KEY_BYTES];

	memcpy(old, f->r->akey, sizeof old);
	rotate(f->r, 0);
	assert_int_equal(memcmp(old, f->r->akey, sizeof old), 0);
	assert_null(f->r->akey_prev);
	show(f->r, f->id);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	verify(f, RK_OK);
	sec_wipe(old, sizeof old);
}

/* A journal written under the old key by a process that died before the
 * rotation is still taken in afterwards. */
static void test_journal_across_rotation(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int status = 0;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *r = NULL;
		rk_subject *s = NULL;
		if (rk_register_open(f->db, f->key, &r) != RK_OK)
			_exit(2);
		rk_register_set_audit_batch(r, 64);
		if (rk_subject_get(r, f->id, NULL, &s) != RK_OK)
			_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	rotate(f->r, 1);
	verify(f, RK_OK);
	{
		sqlite3 *h = NULL;
		sqlite3_stmt *q = NULL;
		assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
		assert_int_equal(
			sqlite3_prepare_v2(h,
					   "SELECT count(*) FROM audit WHERE "
					   "action = 'subject.show' OR outcome "
					   "= 'integrity'",
					   -1, &q, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		/* the read, taken in; no damage reported */
		assert_int_equal(sqlite3_column_int(q, 0), 1);
		sqlite3_finalize(q);
		sqlite3_close(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotation_keeps_the_trail,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rotation_rolled_back,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_journal_across_rotation,
						setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
