/*
 * test_group.c: group commit (rk_register_group_begin): the writes of a
 * group share one transaction, each in its own savepoint; a write failing
 * part-way undoes only itself, a rolled-back group leaves nothing and no gap
 * in the audit chain, and a process killed inside a group leaves the
 * register as it was before the group.
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

#include "rekisteri.h"

#include "fixture.h"

static int setup(void **state)
{
	*state = fx_open("group");
	return 0;
}

static rk_status add(rk_register *r, const char *last, char id[RK_ID_LEN + 1])
{
	return fx_subject_try(r, "customer", id, "first_name", "Testi",
			      "last_name", last, NULL);
}

static void verify_all(const char *db, const char *key)
{
	rk_register *r = NULL;
	rk_audit_report rep;

	assert_int_equal(rk_register_open(db, key, &r), RK_OK);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(r, &rep), RK_OK);
	rk_register_close(r);
}

static int64_t subjects(const char *db)
{
	return fx_count(db, "SELECT count(*) FROM subject");
}

static int found(rk_register *r, const char *id)
{
	rk_subject *s = NULL;
	rk_status st = rk_subject_get(r, id, NULL, &s);

	rk_subject_free(s);
	return st == RK_OK;
}

/* Three adds in a group; the second fails after it wrote its rows (its
 * audit entry cannot be appended): the first and third commit, the second
 * leaves nothing, and the chain and row MACs verify. */
static void test_failing_write_undoes_itself(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1], c[RK_ID_LEN + 1];
	char sql[256];
	int64_t before = subjects(f->db);
	int64_t head = fx_count(f->db, "SELECT max(seq) FROM audit");

	/* The trigger refuses the second add's own entry (seq head+2): its
	 * subject and value rows are written by then. */
	snprintf(sql, sizeof sql,
		 "CREATE TRIGGER fail_one BEFORE INSERT ON audit WHEN "
		 "NEW.seq = %lld AND NEW.outcome = 'ok' BEGIN "
		 "SELECT RAISE(ABORT, 'refused by the test'); END",
		 (long long)(head + 2));
	fx_exec(f->db, sql);

	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Alpha", a), RK_OK);
	assert_int_equal(add(f->r, "Beta", b), RK_ESYS);
	assert_int_equal(add(f->r, "Gamma", c), RK_OK);
	/* Inside the group, its own writes are seen; another connection sees
	 * nothing yet. */
	assert_true(found(f->r, a));
	assert_true(found(f->r, c));
	assert_int_equal(subjects(f->db), before);
	assert_int_equal(rk_register_group_commit(f->r), RK_OK);

	fx_exec(f->db, "DROP TRIGGER fail_one");
	assert_int_equal(subjects(f->db), before + 2);
	assert_true(found(f->r, a));
	assert_true(found(f->r, c));
	assert_false(found(f->r, b));
	/* The failed add is audited as failed, in its place in the chain. */
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM audit WHERE action = 'subject.add' AND "
		 "outcome = 'failed' AND seq > %lld",
		 (long long)head);
	assert_int_equal(fx_count(f->db, sql), 1);
	verify_all(f->db, f->key);
}

/* A refused write (bad input) in the middle changes nothing, and a write
 * after it still commits. */
static void test_refused_write_in_group(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], c[RK_ID_LEN + 1];
	rk_fields *fl = rk_fields_new();
	char bad[RK_ID_LEN + 1];
	int64_t before = subjects(f->db);

	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "no_such_field", "x"), RK_OK);
	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Alpha", a), RK_OK);
	assert_int_equal(rk_subject_add(f->r, "customer", fl, NULL, NULL, bad),
			 RK_EINVAL);
	assert_int_equal(add(f->r, "Gamma", c), RK_OK);
	assert_int_equal(rk_register_group_commit(f->r), RK_OK);
	rk_fields_free(fl);
	assert_int_equal(subjects(f->db), before + 2);
	verify_all(f->db, f->key);
}

/* A rolled-back group leaves no subject and no audit entry; the next
 * write continues the chain without a gap. */
static void test_group_rollback(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1];
	int64_t before = subjects(f->db);
	int64_t head = fx_count(f->db, "SELECT max(seq) FROM audit");

	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Alpha", a), RK_OK);
	assert_int_equal(add(f->r, "Beta", b), RK_OK);
	rk_register_group_rollback(f->r);
	assert_int_equal(subjects(f->db), before);
	assert_int_equal(fx_count(f->db, "SELECT max(seq) FROM audit"), head);
	assert_false(found(f->r, a));
	assert_int_equal(add(f->r, "Gamma", b), RK_OK);
	assert_int_equal(subjects(f->db), before + 1);
	verify_all(f->db, f->key);
	/* Group calls out of turn are refused. */
	assert_int_equal(rk_register_group_commit(f->r), RK_EINVAL);
	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_int_equal(rk_register_group_begin(f->r), RK_EINVAL);
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	assert_int_equal(rk_register_group_commit(f->r), RK_EINVAL);
	rk_register_rollback(f->r);
	assert_int_equal(rk_register_group_commit(f->r), RK_OK);
}

/* A bulk transaction nested in a group: its rollback undoes only it. */
static void test_bulk_inside_group(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1], c[RK_ID_LEN + 1],
		d[RK_ID_LEN + 1];
	int64_t before = subjects(f->db);

	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Alpha", a), RK_OK);
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Beta", b), RK_OK);
	rk_register_rollback(f->r);
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Gamma", c), RK_OK);
	assert_int_equal(rk_register_commit(f->r), RK_OK);
	assert_int_equal(add(f->r, "Delta", d), RK_OK);
	/* Work that cannot share a transaction is refused inside it. */
	assert_int_equal(rk_backup(f->r, "never-written.db"), RK_EINVAL);
	assert_int_equal(rk_register_group_commit(f->r), RK_OK);
	assert_int_equal(subjects(f->db), before + 3);
	assert_false(found(f->r, b));
	assert_true(found(f->r, c));
	verify_all(f->db, f->key);
}

/* Reads and updates inside a group: the reads' entries are committed with
 * the group, in order. */
static void test_reads_and_updates(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1];
	rk_fields *fl = rk_fields_new();
	int64_t head;

	assert_non_null(fl);
	assert_int_equal(add(f->r, "Alpha", a), RK_OK);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	head = fx_count(f->db, "SELECT max(seq) FROM audit");
	assert_int_equal(rk_fields_add(fl, "last_name", "Beeta"), RK_OK);
	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_true(found(f->r, a));
	assert_int_equal(rk_subject_update(f->r, a, fl, NULL, NULL), RK_OK);
	assert_true(found(f->r, a));
	assert_int_equal(rk_register_group_commit(f->r), RK_OK);
	rk_fields_free(fl);
	/* get, update, get: three entries after the head, none missing. */
	assert_true(fx_count(f->db, "SELECT max(seq) FROM audit") >= head + 2);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT max(seq) FROM audit"),
			 head + 3);
	verify_all(f->db, f->key);
}

/* A group whose commit fails (a deferred constraint that only the commit
 * checks): RK_ESYS, nothing of it is stored, the chain has no gap, and
 * the handle goes on working. */
static void test_commit_fails(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1];
	int64_t before = subjects(f->db);
	int64_t head = fx_count(f->db, "SELECT max(seq) FROM audit");

	fx_exec(f->db,
		"CREATE TABLE spoil (s TEXT REFERENCES subject(id) "
		"DEFERRABLE INITIALLY DEFERRED);"
		"CREATE TRIGGER spoil_commit AFTER INSERT ON audit WHEN "
		"NEW.action = 'subject.add' BEGIN INSERT INTO spoil VALUES "
		"('no such subject'); END");
	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Alpha", a), RK_OK);
	assert_int_equal(add(f->r, "Beta", b), RK_OK);
	assert_int_equal(rk_register_group_commit(f->r), RK_ESYS);
	assert_int_equal(subjects(f->db), before);
	assert_int_equal(fx_count(f->db, "SELECT max(seq) FROM audit"), head);
	assert_false(found(f->r, a));
	fx_exec(f->db, "DROP TRIGGER spoil_commit; DROP TABLE spoil");
	assert_int_equal(add(f->r, "Gamma", a), RK_OK);
	assert_int_equal(subjects(f->db), before + 1);
	verify_all(f->db, f->key);
}

/* A process killed inside a group (before its commit) leaves the register
 * as it was: nothing of the group, the chain and row MACs intact. */
static void test_killed_inside_group(void **state)
{
	struct fx *f = *state;
	int64_t before = subjects(f->db);
	int64_t head = fx_count(f->db, "SELECT max(seq) FROM audit");
	int pipefd[2], status = 0;
	char ch = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *r = NULL;
		char id[RK_ID_LEN + 1];
		close(pipefd[0]);
		if (rk_register_open(f->db, f->key, &r) != RK_OK ||
		    rk_register_group_begin(r) != RK_OK)
			_exit(2);
		for (int i = 0; i < 20; i++)
			if (add(r, "Kuolevainen", id) != RK_OK)
				_exit(3);
		/* Written, not committed: tell the parent, then die. */
		if (write(pipefd[1], "x", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &ch, 1), 1);
	close(pipefd[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(subjects(f->db), before);
	assert_int_equal(fx_count(f->db, "SELECT max(seq) FROM audit"), head);
	verify_all(f->db, f->key);
}

/* A policy applied in a bulk transaction inside a group and rolled back
 * with the bulk: the handle reads the policy in force again (the savepoint
 * only marks it; the write transaction's layer reloads it). */
static void test_policy_undone_in_group(void **state)
{
	struct fx *f = *state;
	char path[320], cmd[900];
	rk_register *h = NULL;
	rk_audit_report rep;

	fx_path(path, sizeof path, f->dir, "changed.json");
	snprintf(cmd, sizeof cmd,
		 "sed 's/Suoramarkkinointikielto/Suoramarkkinointikielto "
		 "(muutettu)/' '%s' > '%s'",
		 POLICY, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rk_register_policy_version(f->r), 1);
	assert_int_equal(rk_register_group_begin(f->r), RK_OK);
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	assert_int_equal(rk_policy_apply(f->r, path, NULL, 0, NULL), RK_OK);
	assert_int_equal(rk_register_policy_version(f->r), 2);
	rk_register_rollback(f->r);
	assert_int_equal(rk_register_policy_version(f->r), 1);
	assert_int_equal(rk_register_group_commit(f->r), RK_OK);
	assert_int_equal(rk_register_policy_version(f->r), 1);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_policy_version(h), 1);
	assert_int_equal(rk_audit_verify(h, &rep), RK_OK);
	rk_register_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_failing_write_undoes_itself, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refused_write_in_group,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_group_rollback, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_bulk_inside_group, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_reads_and_updates, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_commit_fails, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_undone_in_group,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_killed_inside_group, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
