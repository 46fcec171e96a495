/*
 * test_access.c: actors, roles and purpose-bound access, and signed audit
 * checkpoints, through the public API on real SQLite files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "rekisteri.h"

#include "fixture.h"

static int setup(void **state)
{
	struct fx *f = fx_open("access");

	fx_subject(f->r, "customer", f->id, "first_name", "Aino", "last_name",
		   "Accesstest", "email", "aino@example.com", "hetu",
		   "131052-308T", NULL);
	*state = f;
	return 0;
}

/* Opens a second handle acting as a new actor of role. */
static rk_register *as_actor(struct fx *f, const char *name, const char *role)
{
	char token[RK_TOKEN_LEN + 1];
	rk_register *h = NULL;

	assert_int_equal(rk_actor_add(f->r, name, role, token), RK_OK);
	assert_int_equal(strlen(token), RK_TOKEN_LEN);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, name, token), RK_OK);
	rk_register_set_audit_batch(h, 1);
	return h;
}

static const char *value_of(const rk_subject *s, const char *field)
{
	size_t i;

	for (i = 0; i < rk_subject_value_count(s); i++)
		if (strcmp(rk_subject_value(s, i)->field, field) == 0)
			return rk_subject_value(s, i)->value;
	return NULL;
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	char token[RK_TOKEN_LEN + 1], wrong[RK_TOKEN_LEN + 1];
	rk_register *h = NULL;
	FILE *fp;
	char *buf;
	long n;

	assert_int_equal(rk_actor_add(f->r, "cs-1", "customer_service", token),
			 RK_OK);
	assert_int_equal(rk_actor_add(f->r, "cs-1", "billing", wrong),
			 RK_EINVAL);
	assert_int_equal(rk_actor_add(f->r, "x", "no_such_role", wrong),
			 RK_EINVAL);
	assert_int_equal(rk_actor_add(f->r, "Bad Name", "billing", wrong),
			 RK_EINVAL);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	memcpy(wrong, token, sizeof wrong);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	assert_int_equal(rk_register_authenticate(h, "cs-1", wrong),
			 RK_EREFUSED);
	assert_int_equal(rk_register_authenticate(h, "nobody", token),
			 RK_EREFUSED);
	assert_int_equal(rk_register_authenticate(h, "cs-1", token), RK_OK);
	rk_register_close(h);
	/* only the hash is kept: the token is nowhere in the file */
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	fp = fopen(f->db, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	assert_false(fx_contains(buf, (size_t)n, token, strlen(token)));
	free(buf);
	/* refusals of authentication are in the trail */
	assert_true(fx_count(f->db, "SELECT count(*) FROM audit WHERE action = "
				    "'actor.authenticate' AND outcome = "
				    "'refused'") >= 2);
	/* they name who tried; a name that is no actor name is not kept */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE "
					 "action = 'actor.authenticate' AND "
					 "actor = 'nobody'"),
			 1);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE "
				  "action = 'actor.authenticate' AND "
				  "actor = 'cs-1' AND outcome = 'refused'"),
			 1);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(
		rk_register_authenticate(h, "maija@example.com", token),
		RK_EREFUSED);
	rk_register_close(h);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE "
					 "actor LIKE '%example.com%'"),
			 0);
	/* revoked: the token no longer works */
	assert_int_equal(rk_actor_revoke(f->r, "cs-1"), RK_OK);
	assert_int_equal(rk_actor_revoke(f->r, "cs-1"), RK_ENOTFOUND);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs-1", token),
			 RK_EREFUSED);
	rk_register_close(h);
}

/* A token alone finds its actor; a wrong or revoked one is refused. */
static void test_token_alone(void **state)
{
	struct fx *f = *state;
	char cs[RK_TOKEN_LEN + 1], mk[RK_TOKEN_LEN + 1];
	char wrong[RK_TOKEN_LEN + 1];
	rk_register *h = NULL;

	assert_int_equal(rk_actor_add(f->r, "cs-1", "customer_service", cs),
			 RK_OK);
	assert_int_equal(rk_actor_add(f->r, "mk-1", "marketing", mk), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_string_equal(rk_register_actor(h), "operator");
	assert_int_equal(rk_register_authenticate_token(h, mk), RK_OK);
	assert_string_equal(rk_register_actor(h), "mk-1");
	assert_int_equal(rk_register_authenticate_token(h, cs), RK_OK);
	assert_string_equal(rk_register_actor(h), "cs-1");
	memcpy(wrong, cs, sizeof wrong);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	assert_int_equal(rk_register_authenticate_token(h, wrong), RK_EREFUSED);
	assert_int_equal(rk_register_authenticate_token(h, ""), RK_EREFUSED);
	assert_int_equal(rk_register_authenticate_token(h, NULL), RK_EREFUSED);
	assert_int_equal(rk_actor_revoke(f->r, "mk-1"), RK_OK);
	assert_int_equal(rk_register_authenticate_token(h, mk), RK_EREFUSED);
	rk_register_close(h);
}

static void test_marketing_refusals(void **state)
{
	struct fx *f = *state;
	rk_register *m = as_actor(f, "mk-1", "marketing");
	rk_subject *s = NULL;
	rk_list *l = NULL;
	char token[RK_TOKEN_LEN + 1];
	int64_t refused_before =
		fx_count(f->db, "SELECT count(*) FROM audit WHERE outcome = "
				"'refused' AND actor = 'mk-1'");

	/* a purpose outside the role; the refusal names the subject */
	assert_int_equal(rk_subject_get(m, f->id, "customer_relationship", &s),
			 RK_EREFUSED);
	assert_null(s);
	assert_int_equal(rk_register_flush(m), RK_OK);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE "
				  "actor = 'mk-1' AND outcome = 'refused' "
				  "AND action = 'subject.show' AND "
				  "subject IS NOT NULL AND subject = "
				  "(SELECT pseudonym FROM subject)"),
			 1);
	/* asking for a HETU */
	assert_int_equal(rk_subject_find(m, "hetu", "131052-308T",
					 "marketing_communications", &l),
			 RK_EREFUSED);
	assert_null(l);
	/* what marketing may see carries no HETU */
	assert_int_equal(
		rk_subject_get(m, f->id, "marketing_communications", &s),
		RK_OK);
	assert_null(value_of(s, "hetu"));
	assert_non_null(value_of(s, "email"));
	rk_subject_free(s);
	/* a non-admin does not manage actors */
	assert_int_equal(rk_actor_add(m, "mk-2", "marketing", token),
			 RK_EREFUSED);
	rk_register_close(m);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE "
				  "outcome = 'refused' AND actor = 'mk-1'"),
			 refused_before + 3);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE "
				  "outcome = 'refused' AND actor = 'mk-1' "
				  "AND action = 'subject.find' AND purpose "
				  "= 'marketing_communications'"),
			 1);
}

static void test_hetu_masking(void **state)
{
	struct fx *f = *state;
	rk_register *cs = as_actor(f, "cs-2", "customer_service");
	rk_register *bi = as_actor(f, "bi-1", "billing");
	rk_subject *s = NULL;

	assert_int_equal(rk_subject_get(cs, f->id, "customer_relationship", &s),
			 RK_OK);
	assert_string_equal(value_of(s, "hetu"), "131052-****");
	rk_subject_free(s);
	assert_int_equal(rk_subject_get(bi, f->id, "customer_relationship", &s),
			 RK_OK);
	assert_string_equal(value_of(s, "hetu"), "131052-308T");
	rk_subject_free(s);
	rk_register_close(cs);
	rk_register_close(bi);
}

#define ACTION "{\"campaign\": \"Syysale\", \"channel\": \"email\"}"

static void test_direct_marketing_prohibition(void **state)
{
	struct fx *f = *state;
	rk_register *m = as_actor(f, "mk-3", "marketing");
	rk_subject *s = NULL;
	rk_list *l = NULL;
	int64_t rid = 0;

	assert_int_equal(rk_subject_find(m, "email", "aino@example.com",
					 "marketing_communications", &l),
			 RK_OK);
	assert_int_equal(rk_list_count(l), 1);
	rk_list_free(l);
	assert_int_equal(rk_record_add(m, f->id, "marketing_action", ACTION,
				       NULL, NULL, "marketing_communications",
				       &rid),
			 RK_OK);
	assert_int_equal(
		rk_object(f->r, f->id, "direct_marketing", "phone", NULL),
		RK_OK);
	/* nor does marketing record what it did to them any more */
	assert_int_equal(rk_record_add(m, f->id, "marketing_action", ACTION,
				       NULL, NULL, "marketing_communications",
				       &rid),
			 RK_EREFUSED);
	assert_int_equal(
		rk_subject_get(m, f->id, "marketing_communications", &s),
		RK_EREFUSED);
	assert_int_equal(rk_subject_find(m, "email", "aino@example.com",
					 "marketing_communications", &l),
			 RK_ENOTFOUND);
	rk_register_close(m);
	/* customer service still serves the customer */
	assert_int_equal(
		rk_subject_get(f->r, f->id, "customer_relationship", &s),
		RK_OK);
	rk_subject_free(s);
}

static void test_checkpoint(void **state)
{
	struct fx *f = *state;
	char cp[FX_PATH], other_db[FX_PATH], other_key[FX_PATH], sql[128];
	rk_audit_report rep;
	rk_register *o = NULL;
	rk_subject *s = NULL;
	int64_t head;
	FILE *fp;
	char text[1024];
	size_t n;

	fx_path(cp, sizeof cp, f->dir, "cp1");
	/* what an old copy of the file would hold: the head before the
	 * checkpoint */
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	fx_exec(f->db, "CREATE TABLE saved_head AS SELECT value FROM meta "
		       "WHERE key = 'audit_head'");
	assert_int_equal(rk_audit_checkpoint(f->r, cp), RK_OK);
	assert_int_equal(rk_audit_checkpoint(f->r, cp), RK_EINVAL);
	head = fx_count(f->db, "SELECT max(seq) FROM audit");
	assert_int_equal(rk_audit_verify_checkpoint(f->r, cp, &rep), RK_OK);
	/* more entries after the checkpoint are fine */
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	rk_subject_free(s);
	assert_int_equal(rk_audit_verify_checkpoint(f->r, cp, &rep), RK_OK);
	/* cutting the tail: the register's head catches it; with the head
	 * rolled back too (an old copy of the file), the chain alone still
	 * verifies and only the checkpoint does not */
	rk_register_close(f->r);
	f->r = NULL;
	snprintf(sql, sizeof sql, "DELETE FROM audit WHERE seq >= %lld",
		 (long long)head);
	fx_exec(f->db, sql);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	rk_register_set_audit_batch(f->r, 1);
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_EINTEGRITY);
	assert_int_equal(rep.first_bad, head);
	rk_register_close(f->r);
	fx_exec(f->db, "UPDATE meta SET value = (SELECT value FROM "
		       "saved_head) WHERE key = 'audit_head'");
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	rk_register_set_audit_batch(f->r, 1);
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_OK);
	assert_int_equal(rk_audit_verify_checkpoint(f->r, cp, &rep),
			 RK_EINTEGRITY);
	assert_int_equal(rep.first_bad, head);
	/* an altered checkpoint file */
	fp = fopen(cp, "r");
	assert_non_null(fp);
	n = fread(text, 1, sizeof text - 1, fp);
	fclose(fp);
	text[n] = '\0';
	fx_path(cp, sizeof cp, f->dir, "cp2");
	fp = fopen(cp, "w");
	assert_non_null(fp);
	{
		char *h = strstr(text, "hash: ");
		assert_non_null(h);
		h[6] = h[6] == '0' ? '1' : '0';
	}
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(rk_audit_verify_checkpoint(f->r, cp, &rep),
			 RK_EINTEGRITY);
	/* another register's checkpoint */
	fx_path(other_db, sizeof other_db, f->dir, "o.db");
	fx_path(other_key, sizeof other_key, f->dir, "o.key");
	assert_int_equal(rk_register_init(other_db, other_key, POLICY, &o),
			 RK_OK);
	fx_path(cp, sizeof cp, f->dir, "cp3");
	assert_int_equal(rk_audit_checkpoint(o, cp), RK_OK);
	rk_register_close(o);
	assert_int_equal(rk_audit_verify_checkpoint(f->r, cp, &rep),
			 RK_EINTEGRITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tokens, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_token_alone, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_marketing_refusals, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_hetu_masking, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_direct_marketing_prohibition, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint, setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
