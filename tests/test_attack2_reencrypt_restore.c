/*
 * Attack: a re-encryption interrupted, then a backup restored, then the
 * re-encryption resumed. The cursor kept in meta survives the restore, so
 * the resumed run skips the subjects before it, although the restore
 * brought them back with the backup's data keys and ciphertexts. The run
 * reports every subject re-encrypted, yet the backup (and the key file it
 * was made under) still decrypts those subjects' live data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "journal_fixture.h"

static void die_after_batch(void *ud, uint64_t done, uint64_t total)
{
	(void)ud;
	(void)total;
	if (done > 0)
		kill(getpid(), SIGKILL);
}

static void test_reencrypt_resumed_after_restore(void **state)
{
	struct fx *f = *state;
	rk_register *r = NULL;
	char bk[FX_PATH + 64];
	pid_t pid;
	int status = 0;

	snprintf(bk, sizeof bk, "%s/bk.db", f->dir);
	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	for (int i = 0; i < 150; i++) {
		rk_fields *fl = rk_fields_new();
		char id[RK_ID_LEN + 1], name[32];
		snprintf(name, sizeof name, "Nimi%d", i);
		assert_int_equal(rk_fields_add(fl, "first_name", name), RK_OK);
		assert_int_equal(rk_fields_add(fl, "last_name", "Henkilo"),
				 RK_OK);
		assert_int_equal(
			rk_subject_add(r, "customer", fl, NULL, NULL, id),
			RK_OK);
		rk_fields_free(fl);
	}
	assert_int_equal(rk_backup(r, bk), RK_OK);
	rk_register_close(r);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *c = NULL;
		if (rk_register_open(f->db, f->key, &c) != RK_OK)
			_exit(2);
		if (rk_key_reencrypt(c, 0, die_after_batch, NULL) != RK_OK)
			_exit(4);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	assert_int_equal(rk_key_reencrypt_pending(r), 1);
	assert_int_equal(rk_restore(r, bk), RK_OK);
	assert_int_equal(rk_key_reencrypt(r, 0, NULL, NULL), RK_OK);
	assert_int_equal(rk_key_reencrypt_pending(r), 0);
	rk_register_close(r);

	/* no value may still be the backup's ciphertext */
	{
		sqlite3 *h = NULL;
		sqlite3_stmt *s = NULL;
		char att[FX_PATH + 128];
		assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
		snprintf(att, sizeof att, "ATTACH '%s' AS b", bk);
		assert_int_equal(sqlite3_exec(h, att, NULL, NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(
			sqlite3_prepare_v2(
				h,
				"SELECT count(*) FROM main.value v JOIN "
				"b.value w ON v.ciphertext = w.ciphertext",
				-1, &s, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		long same = (long)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		sqlite3_close(h);
		assert_int_equal(same, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_reencrypt_resumed_after_restore, setup,
			fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
