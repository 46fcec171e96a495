/*
 * test_auth_cache.c: a handle that authenticated a token takes the same
 * token again with one read, and never past a change: a token revoked by
 * another handle fails at once on the next authentication, by name or bare;
 * another token, or another actor's name, is not taken from the cache.
 * On a handle that asked for it, the cached check's snapshot is the next
 * read's, ended by a write or by rk_register_release, and never reused by
 * the next authentication.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rekisteri.h"

#include "fixture.h"

static void test_revoked_fails_at_once(void **state)
{
	char t1[RK_TOKEN_LEN + 1], t2[RK_TOKEN_LEN + 1];
	struct fx *f = fx_open("auth");
	const char *db = f->db, *key = f->key;
	rk_register *admin = f->r, *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(rk_actor_add(admin, "web", "customer_service", t1),
			 RK_OK);
	assert_int_equal(rk_actor_add(admin, "shop", "customer_service", t2),
			 RK_OK);
	assert_int_equal(rk_register_open(db, key, &a), RK_OK);
	assert_int_equal(rk_register_open(db, key, &b), RK_OK);

	/* full check, then the cached one, by name and bare */
	assert_int_equal(rk_register_authenticate(a, "web", t1), RK_OK);
	assert_int_equal(rk_register_authenticate(a, "web", t1), RK_OK);
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	assert_string_equal(rk_register_actor(a), "web");
	/* the cache names one actor and one token */
	assert_int_equal(rk_register_authenticate(a, "shop", t1), RK_EREFUSED);
	assert_int_equal(rk_register_authenticate(a, "web", t2), RK_EREFUSED);
	assert_int_equal(rk_register_authenticate_token(a, t2), RK_OK);
	assert_string_equal(rk_register_actor(a), "shop");
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	assert_string_equal(rk_register_actor(a), "web");
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);

	/* another handle revokes: the next authentication fails */
	assert_int_equal(rk_actor_revoke(b, "web"), RK_OK);
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_EREFUSED);
	assert_int_equal(rk_register_authenticate(a, "web", t1), RK_EREFUSED);
	/* the other actor still works, cached or not */
	assert_int_equal(rk_register_authenticate(a, "shop", t2), RK_OK);
	assert_int_equal(rk_register_authenticate(a, "shop", t2), RK_OK);
	assert_int_equal(rk_actor_revoke(b, "shop"), RK_OK);
	assert_int_equal(rk_register_authenticate(a, "shop", t2), RK_EREFUSED);

	rk_register_close(a);
	rk_register_close(b);
	fx_close(f); /* and admin */
}

static void add_one(rk_register *r, char id[RK_ID_LEN + 1], const char *mail)
{
	rk_fields *f = rk_fields_new();

	assert_non_null(f);
	assert_int_equal(rk_fields_add(f, "first_name", "Testi"), RK_OK);
	assert_int_equal(rk_fields_add(f, "last_name", "Henkilö"), RK_OK);
	assert_int_equal(rk_fields_add(f, "email", mail), RK_OK);
	assert_int_equal(rk_subject_add(r, "customer", f, NULL,
					"customer_relationship", id),
			 RK_OK);
	rk_fields_free(f);
}

static void test_request_snapshot(void **state)
{
	char t1[RK_TOKEN_LEN + 1], id1[RK_ID_LEN + 1], id2[RK_ID_LEN + 1];
	char id3[RK_ID_LEN + 1];
	struct fx *f = fx_open("auth");
	const char *db = f->db, *key = f->key;
	rk_register *admin = f->r, *a = NULL, *b = NULL;
	rk_subject *s = NULL;

	(void)state;
	assert_int_equal(rk_actor_add(admin, "web", "customer_service", t1),
			 RK_OK);
	assert_int_equal(rk_register_open(db, key, &a), RK_OK);
	assert_int_equal(rk_register_open(db, key, &b), RK_OK);
	rk_register_set_audit_batch(a, 1);
	assert_int_equal(rk_register_authenticate(b, "web", t1), RK_OK);

	/* off (the default): a cached authentication keeps no snapshot */
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	add_one(b, id1, "a1@example.fi");
	assert_int_equal(rk_subject_get(a, id1, "customer_relationship", &s),
			 RK_OK);
	rk_subject_free(s);
	s = NULL;

	/* on: the next read runs in the snapshot of the check, so a subject
	 * added after the check is not there yet */
	rk_register_set_request_snapshot(a, 1);
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	add_one(b, id2, "a2@example.fi");
	assert_int_equal(rk_subject_get(a, id2, "customer_relationship", &s),
			 RK_ENOTFOUND);
	assert_null(s);
	/* the read took it over: the next read is current */
	assert_int_equal(rk_subject_get(a, id2, "customer_relationship", &s),
			 RK_OK);
	rk_subject_free(s);
	s = NULL;

	/* released without a read: the next authentication and read are
	 * current */
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	rk_register_release(a);
	add_one(b, id3, "a3@example.fi");
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	assert_int_equal(rk_subject_get(a, id3, "customer_relationship", &s),
			 RK_OK);
	rk_subject_free(s);
	s = NULL;

	/* a write after the check ends the snapshot and commits */
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	add_one(a, id3, "a4@example.fi");
	assert_int_equal(rk_subject_get(b, id3, "customer_relationship", &s),
			 RK_OK);
	rk_subject_free(s);
	s = NULL;

	/* a kept snapshot never answers the next authentication: a
	 * revocation in between is seen */
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_OK);
	assert_int_equal(rk_actor_revoke(admin, "web"), RK_OK);
	assert_int_equal(rk_register_authenticate_token(a, t1), RK_EREFUSED);
	rk_register_release(a);

	{
		rk_audit_report rep;
		assert_int_equal(rk_audit_verify(admin, &rep), RK_OK);
	}
	rk_register_close(a);
	rk_register_close(b);
	fx_close(f); /* and admin */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoked_fails_at_once),
		cmocka_unit_test(test_request_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
