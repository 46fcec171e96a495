/*
 * test_auth_cache.c: a handle that authenticated a token takes the same
 * token again with one read, and never past a change: a token revoked by
 * another handle fails at once on the next authentication, by name or bare;
 * another token, or another actor's name, is not taken from the cache.
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

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif
#define POLICY RK_SOURCE_DIR "/policies/ocr-factory.json"

static void test_revoked_fails_at_once(void **state)
{
	char dir[256], db[300], key[300], cmd[400];
	char t1[RK_TOKEN_LEN + 1], t2[RK_TOKEN_LEN + 1];
	const char *tmp = getenv("TMPDIR");
	rk_register *admin = NULL, *a = NULL, *b = NULL;

	(void)state;
	snprintf(dir, sizeof dir, "%s/rk-auth-XXXXXX",
		 tmp != NULL && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/r.db", dir);
	snprintf(key, sizeof key, "%s/r.key", dir);
	assert_int_equal(rk_register_init(db, key, POLICY, &admin), RK_OK);
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
	rk_register_close(admin);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoked_fails_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
