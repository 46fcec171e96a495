/*
 * test_register.c: the register through its public API on real SQLite files:
 * keys, purpose-filtered reads, bulk transactions, the read audit queue,
 * several handles writing at once, tamper detection, retention dates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ident.h"
#include "policy.h"
#include "rekisteri.h"

#define FX_EXTRA policy *pol;
#include "fixture.h"

static int setup(void **state)
{
	struct fx *f = fx_open("test");

	f->pol = policy_load_file(POLICY, NULL, NULL, NULL);
	assert_non_null(f->pol);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	policy_free(f->pol);
	fx_close(f);
	return 0;
}

static rk_status add(rk_register *r, const char *last, const char *email,
		     char id[RK_ID_LEN + 1])
{
	return fx_subject_try(r, "customer", id, "first_name", "Testi",
			      "last_name", last, email != NULL ? "email" : NULL,
			      email, NULL);
}

/* The header's version is the library's, and a document about a subject
 * can be handed back to be wiped. */
static void test_version_and_secret_free(void **state)
{
	char *doc = strdup("{\"email\": \"a@example.com\"}");

	(void)state;
	assert_string_equal(rk_version(), RK_VERSION_STRING);
	assert_true(RK_VERSION_NUMBER >= 100);
	assert_non_null(doc);
	rk_free_secret(doc);
	rk_free_secret(NULL);
}

static void test_reopen_and_wrong_key(void **state)
{
	struct fx *f = *state;
	rk_register *r2 = NULL, *other = NULL;
	char odb[160], okey[160], id[RK_ID_LEN + 1];

	assert_int_equal(add(f->r, "Alpha", "a@example.com", id), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &r2), RK_OK);
	assert_int_equal(rk_register_policy_version(r2), 1);
	rk_register_close(r2);

	fx_path(odb, sizeof odb, f->dir, "o.db");
	fx_path(okey, sizeof okey, f->dir, "o.key");
	assert_int_equal(rk_register_init(odb, okey, POLICY, &other), RK_OK);
	rk_register_close(other);
	assert_int_equal(rk_register_open(f->db, okey, &r2), RK_EINTEGRITY);
	assert_non_null(strstr(rk_errmsg(r2), "key"));
	rk_register_close(r2);
	/* init refuses to overwrite either file */
	assert_int_equal(rk_register_init(f->db, okey, POLICY, &r2), RK_EINVAL);
	rk_register_close(r2);
}

/* A field and a purpose of the policy such that the field does not serve
 * it, and one that does. */
static void test_purpose_filter(void **state)
{
	struct fx *f = *state;
	size_t fi = policy_field(f->pol, "last_name"), pu, other = POL_NONE;
	rk_subject *s = NULL;
	char id[RK_ID_LEN + 1];
	size_t i, n;
	int seen;

	assert_true(fi != POL_NONE);
	for (pu = 0; pu < f->pol->npurposes; pu++)
		if (!policy_field_serves(f->pol, fi, pu)) {
			other = pu;
			break;
		}
	assert_int_equal(add(f->r, "Beta", "b@example.com", id), RK_OK);
	assert_int_equal(rk_subject_get(f->r, id, "customer_relationship", &s),
			 RK_OK);
	seen = 0;
	for (i = 0, n = rk_subject_value_count(s); i < n; i++)
		if (strcmp(rk_subject_value(s, i)->field, "last_name") == 0) {
			assert_string_equal(rk_subject_value(s, i)->value,
					    "Beta");
			seen = 1;
		}
	assert_true(seen);
	rk_subject_free(s);
	if (other != POL_NONE) {
		assert_int_equal(rk_subject_get(f->r, id,
						f->pol->purposes[other].name,
						&s),
				 RK_OK);
		for (i = 0, n = rk_subject_value_count(s); i < n; i++)
			assert_string_not_equal(rk_subject_value(s, i)->field,
						"last_name");
		rk_subject_free(s);
	}
	assert_int_equal(rk_subject_get(f->r, id, "no_such_purpose", &s),
			 RK_EINVAL);
	assert_null(s);
}

static void test_bulk(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1];
	rk_list *l = NULL;
	rk_audit_report rep;

	assert_int_equal(rk_register_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "One", "one@example.com", id), RK_OK);
	assert_int_equal(add(f->r, "Two", "two@example.com", id), RK_OK);
	/* a bad one is undone alone */
	assert_int_equal(add(f->r, "Bad", "not-an-address", id), RK_EINVAL);
	assert_int_equal(add(f->r, "Three", "three@example.com", id), RK_OK);
	/* reads inside the transaction see its writes */
	assert_int_equal(
		rk_subject_find(f->r, "email", "two@example.com", NULL, &l),
		RK_OK);
	rk_list_free(l);
	/* an update refused for its input changes nothing, and the bulk
	 * transaction goes on */
	{
		rk_fields *u = rk_fields_new();
		assert_non_null(u);
		assert_int_equal(
			rk_fields_add(u, "email", "changed@example.com"),
			RK_OK);
		assert_int_equal(rk_fields_add(u, "last_name", ""), RK_OK);
		assert_int_equal(rk_subject_update(f->r, id, u, NULL, NULL),
				 RK_EINVAL);
		rk_fields_free(u);
	}
	/* reads queue their audit entries until the commit, past any fixed
	 * size */
	for (int k = 0; k < 1500; k++) {
		rk_list *ls = NULL;
		assert_int_equal(rk_subject_list(f->r, NULL, NULL, 1, &ls),
				 RK_OK);
		rk_list_free(ls);
	}
	assert_int_equal(rk_register_commit(f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"), 3);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE "
					 "action = 'subject.list'"),
			 1500);
	assert_int_equal(
		rk_subject_find(f->r, "email", "three@example.com", NULL, &l),
		RK_OK);
	rk_list_free(l);

	assert_int_equal(rk_register_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Four", "four@example.com", id), RK_OK);
	rk_register_rollback(f->r);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"), 3);
	assert_int_equal(
		rk_subject_find(f->r, "email", "four@example.com", NULL, &l),
		RK_ENOTFOUND);
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_OK);
	assert_int_equal(rk_register_commit(f->r), RK_EINVAL);

	/* A write that fails part-way (here: its audit entry cannot be
	 * stored) spoils the whole bulk transaction: nothing of it lands. */
	{
		sqlite3 *h = NULL;
		assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
		assert_int_equal(
			sqlite3_exec(h,
				     "CREATE TRIGGER no_audit BEFORE INSERT ON "
				     "audit WHEN NEW.action = 'subject.add' "
				     "BEGIN SELECT RAISE(ABORT, 'refused'); "
				     "END",
				     NULL, NULL, NULL),
			SQLITE_OK);
		sqlite3_close(h);
	}
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	assert_int_equal(add(f->r, "Five", "five@example.com", id), RK_ESYS);
	assert_int_equal(add(f->r, "Six", "six@example.com", id), RK_ESYS);
	assert_int_equal(rk_register_commit(f->r), RK_ESYS);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"), 3);
	{
		sqlite3 *h = NULL;
		assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
		assert_int_equal(sqlite3_exec(h, "DROP TRIGGER no_audit", NULL,
					      NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(h);
	}
	assert_int_equal(add(f->r, "Seven", "seven@example.com", id), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"), 4);
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_OK);
}

static void test_read_audit_queue(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1];
	rk_subject *s = NULL;
	int64_t before, after;

	assert_int_equal(add(f->r, "Gamma", "g@example.com", id), RK_OK);
	before = fx_count(f->db, "SELECT count(*) FROM audit");
	/* batch 64: the read waits in the queue */
	assert_int_equal(rk_subject_get(f->r, id, NULL, &s), RK_OK);
	rk_subject_free(s);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"), before);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	after = fx_count(f->db, "SELECT count(*) FROM audit");
	assert_int_equal(after, before + 1);
	/* batch 1: every read commits its own entry before returning */
	rk_register_set_audit_batch(f->r, 1);
	assert_int_equal(rk_subject_get(f->r, id, NULL, &s), RK_OK);
	rk_subject_free(s);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"),
			 after + 1);
	/* a write carries the queued reads with it, in order */
	rk_register_set_audit_batch(f->r, 64);
	assert_int_equal(rk_subject_get(f->r, id, NULL, &s), RK_OK);
	rk_subject_free(s);
	assert_int_equal(add(f->r, "Delta", NULL, id), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"),
			 after + 3);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE "
					 "seq = (SELECT max(seq) - 1 FROM "
					 "audit) AND action = 'subject.show'"),
			 1);
}

struct writer {
	const char *db, *key;
	int n;
	int failures;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;
	rk_register *r = NULL;
	char id[RK_ID_LEN + 1], name[32];
	int i;

	if (rk_register_open(w->db, w->key, &r) != RK_OK) {
		w->failures = w->n;
		rk_register_close(r);
		return NULL;
	}
	for (i = 0; i < w->n; i++) {
		rk_fields *fl = rk_fields_new();
		snprintf(name, sizeof name, "Writer%d", i);
		if (fl == NULL ||
		    rk_fields_add(fl, "last_name", name) != RK_OK ||
		    rk_subject_add(r, "customer", fl, NULL, NULL, id) != RK_OK)
			w->failures++;
		rk_fields_free(fl);
	}
	rk_register_close(r);
	return NULL;
}

static void test_handles_side_by_side(void **state)
{
	struct fx *f = *state;
	struct writer w[2] = {{f->db, f->key, 150, 0}, {f->db, f->key, 150, 0}};
	pthread_t t[2];
	rk_audit_report rep;
	int64_t subjects_before =
		fx_count(f->db, "SELECT count(*) FROM subject");

	assert_int_equal(pthread_create(&t[0], NULL, write_many, &w[0]), 0);
	assert_int_equal(pthread_create(&t[1], NULL, write_many, &w[1]), 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	assert_int_equal(w[0].failures, 0);
	assert_int_equal(w[1].failures, 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"),
			 subjects_before + 300);
	/* customer numbers stay unique under concurrent writers */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM value "
					 "WHERE field = 'customer_number'"),
			 fx_count(f->db, "SELECT count(DISTINCT bidx) FROM "
					 "value WHERE field = "
					 "'customer_number'"));
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_OK);
	assert_true(rep.entries >= 301);
}

static void test_tampered_value(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], sql[256];
	rk_subject *s = NULL;
	sqlite3 *h = NULL;

	assert_int_equal(add(f->r, "Epsilon", "e@example.com", id), RK_OK);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	snprintf(sql, sizeof sql,
		 "UPDATE value SET ciphertext = (SELECT ciphertext FROM value "
		 "WHERE subject_id = '%s' AND field = 'email') WHERE "
		 "subject_id = '%s' AND field = 'last_name'",
		 id, id);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	/* a value moved to another field no longer opens */
	assert_int_equal(rk_subject_get(f->r, id, "customer_relationship", &s),
			 RK_EINTEGRITY);
	assert_null(s);
}

static void test_expiry_after_end(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], want[11];
	rk_subject *s = NULL;
	size_t i, fi, checked = 0;

	/* The relationship began on 2025-06-01 (fixed clock). */
	rk_register_set_clock(f->r, 1748736000);
	assert_int_equal(add(f->r, "Zeta", "z@example.com", id), RK_OK);
	assert_int_equal(rk_subject_end(f->r, id, "2025-05-31", NULL),
			 RK_EINVAL);
	/* An end is recorded once it has happened, not ahead. */
	assert_int_equal(rk_subject_end(f->r, id, "2026-01-31", NULL),
			 RK_EINVAL);
	rk_register_set_clock(f->r, 0);
	assert_int_equal(rk_subject_end(f->r, id, "2026-01-31", NULL), RK_OK);
	/* Ending again needs a date (a correction) or an undo. */
	assert_int_equal(rk_subject_end(f->r, id, NULL, NULL), RK_EINVAL);
	assert_int_equal(rk_subject_get(f->r, id, "customer_relationship", &s),
			 RK_OK);
	assert_string_equal(rk_subject_relationship_end(s), "2026-01-31");
	for (i = 0; i < rk_subject_value_count(s); i++) {
		const rk_value *v = rk_subject_value(s, i);
		const pol_retention *ret;
		fi = policy_field(f->pol, v->field);
		assert_true(fi != POL_NONE);
		ret = &f->pol->retention[f->pol->fields[fi].retention];
		if (ret->from != RET_RELATIONSHIP_END)
			continue;
		assert_int_equal(ident_date_add("2026-01-31", ret->years,
						ret->months, ret->days, want),
				 0);
		assert_non_null(v->expires);
		assert_string_equal(v->expires, want);
		checked++;
	}
	assert_true(checked > 0);
	rk_subject_free(s);
}

/* Many values, each with its expiry: the dates read back right however
 * often the value array grew. */
static void test_many_values(void **state)
{
	struct fx *f = *state;
	rk_fields *fl = rk_fields_new();
	char id[RK_ID_LEN + 1], email[64];
	rk_subject *s = NULL;
	size_t i;

	assert_non_null(fl);
	for (i = 0; i < 40; i++) {
		snprintf(email, sizeof email, "many.%zu@example.com", i);
		assert_int_equal(rk_fields_add(fl, "email", email), RK_OK);
	}
	/* prospects' data expires six months from collection */
	assert_int_equal(rk_subject_add(f->r, "prospect", fl, NULL, NULL, id),
			 RK_OK);
	rk_fields_free(fl);
	assert_int_equal(rk_subject_get(f->r, id, NULL, &s), RK_OK);
	assert_int_equal(rk_subject_value_count(s), 40);
	for (i = 0; i < 40; i++) {
		const char *e = rk_subject_value(s, i)->expires;
		assert_non_null(e);
		assert_int_equal(strlen(e), 10);
		assert_string_equal(e, rk_subject_value(s, 0)->expires);
	}
	rk_subject_free(s);
}

static void test_password(void **state)
{
	struct fx *f = *state;
	rk_fields *fl = rk_fields_new();
	char id[RK_ID_LEN + 1];

	assert_non_null(fl);
	assert_true(rk_field_is_secret(f->r, "password"));
	assert_false(rk_field_is_secret(f->r, "email"));
	assert_int_equal(rk_fields_add(fl, "last_name", "Eta"), RK_OK);
	assert_int_equal(rk_fields_add(fl, "password", "correct horse"), RK_OK);
	/* the password serves the web shop account, not every purpose */
	assert_int_equal(rk_subject_add(f->r, "customer", fl, NULL, NULL, id),
			 RK_EREFUSED);
	assert_int_equal(rk_subject_add(f->r, "customer", fl, NULL,
					"products_services", id),
			 RK_OK);
	rk_fields_free(fl);
	assert_int_equal(rk_subject_check_password(f->r, id, "password",
						   "correct horse",
						   "products_services"),
			 RK_OK);
	assert_int_equal(rk_subject_check_password(f->r, id, "password",
						   "wrong horse",
						   "products_services"),
			 RK_EREFUSED);
	assert_int_equal(rk_subject_check_password(f->r, id, "password",
						   "correct horse",
						   "customer_relationship"),
			 RK_EREFUSED);
}

/* The read floor on a SQLite register: harmless (a file has no replica,
 * and its writes have no WAL position to share); the replica itself is
 * refused. */
static void test_read_floor_sqlite(void **state)
{
	struct fx *f = *state;
	rk_read_floor *fl = NULL;
	char id[RK_ID_LEN + 1];

	assert_int_equal(rk_read_floor_new(&fl), RK_OK);
	assert_true(rk_read_floor_position(fl) == 0);
	assert_int_equal(rk_register_share_read_floor(f->r, fl), RK_OK);
	rk_register_use_read_replica(f->r, 1);
	assert_int_equal(add(f->r, "Lattia", "lattia@example.com", id), RK_OK);
	assert_true(rk_read_floor_position(fl) == 0);
	assert_int_equal(rk_register_set_read_replica(f->r, "postgresql:///x"),
			 RK_EINVAL);
	assert_int_equal(rk_register_share_read_floor(f->r, NULL), RK_OK);
	assert_int_equal(rk_register_share_read_floor(NULL, fl), RK_EINVAL);
	rk_read_floor_free(fl);
	rk_read_floor_free(NULL);
	assert_true(rk_read_floor_position(NULL) == 0);
	/* the lag bound: refused below 0, taken (and without effect) on
	 * SQLite */
	assert_int_equal(rk_register_set_replica_max_lag(f->r, -1), RK_EINVAL);
	assert_int_equal(rk_register_set_replica_max_lag(NULL, 5), RK_EINVAL);
	assert_int_equal(rk_register_set_replica_max_lag(f->r, 5000), RK_OK);
	assert_int_equal(add(f->r, "Katto", "katto@example.com", id), RK_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_and_secret_free),
		cmocka_unit_test_setup_teardown(test_reopen_and_wrong_key,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_purpose_filter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_audit_queue, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handles_side_by_side,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_value, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expiry_after_end, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_values, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_floor_sqlite, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
