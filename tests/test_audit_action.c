/*
 * The audit actions are one table (src/audit_action.c): its names are
 * exactly the actions docs/audit.md lists, and the trail stores the same
 * bytes as before the table, so old registers keep verifying: a register's
 * entries carry the names spelled out here, an objection of the policy's
 * its own name, and the trail verifies.
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

#include "audit_action.h"
#include "register.h"

#include "fixture.h"

#define AUDIT_DOC RK_SOURCE_DIR "/docs/audit.md"

/* Every action docs/audit.md's table names, in its order. */
static size_t doc_actions(char names[][48], size_t cap)
{
	FILE *fp = fopen(AUDIT_DOC, "r");
	char line[1024];
	int in_table = 0;
	size_t n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof line, fp) != NULL) {
		const char *end;
		size_t len;

		if (strncmp(line, "## ", 3) == 0)
			in_table = strncmp(line, "## Actions", 10) == 0;
		if (!in_table || strncmp(line, "| `", 3) != 0)
			continue;
		end = strchr(line + 3, '`');
		assert_non_null(end);
		len = (size_t)(end - (line + 3));
		assert_true(len > 0 && len < 48);
		assert_true(n < cap);
		memcpy(names[n], line + 3, len);
		names[n][len] = '\0';
		n++;
	}
	fclose(fp);
	return n;
}

static void test_table_is_the_documented_set(void **state)
{
	static char doc[256][48];
	size_t n = doc_actions(doc, 256), i, j;
	int seen[AUD_COUNT] = {0};

	(void)state;
	assert_int_equal(n, AUD_COUNT);
	for (i = 0; i < n; i++) {
		audit_action a;

		assert_int_equal(audit_action_find(doc[i], &a), 0);
		assert_string_equal(audit_action_name(a), doc[i]);
		assert_true(audit_action_is(doc[i], a));
		seen[a]++;
	}
	for (j = 0; j < AUD_COUNT; j++)
		assert_int_equal(seen[j], 1);
	assert_int_not_equal(
		audit_action_find("object.NAME", &(audit_action){0}), 0);
	assert_false(audit_action_is(NULL, AUD_SUBJECT_ADD));
	assert_false(audit_action_is("subject.add", AUD_SUBJECT_SHOW));
}

static void test_objection_values(void **state)
{
	size_t oi = 0;
	int lift = 0;

	(void)state;
	assert_false(audit_objection_of(AUD_OBJECT, &oi, &lift));
	assert_true(audit_objection_of(audit_objection(3, 1), &oi, &lift));
	assert_int_equal(oi, 3);
	assert_int_equal(lift, 1);
	assert_true(audit_objection_of(audit_objection(0, 0), &oi, &lift));
	assert_int_equal(oi, 0);
	assert_int_equal(lift, 0);
}

struct trail {
	char rows[64][48];
	size_t n;
};

static int row(void *ud, int ncol, char **val, char **col)
{
	struct trail *t = ud;

	(void)col;
	assert_int_equal(ncol, 1);
	assert_true(t->n < 64);
	snprintf(t->rows[t->n++], sizeof t->rows[0], "%s", val[0]);
	return 0;
}

/* The stored trail of a register written through the API is the names the
 * library always wrote (spelled out here, not taken from the table). */
static void test_trail_keeps_its_bytes(void **state)
{
	static const char *const want[] = {"register.init",
					   "subject.add",
					   "subject.show",
					   "consent.give",
					   "consent.withdraw",
					   "object.direct_marketing",
					   "object.direct_marketing.lift",
					   "object",
					   "object.lift"};
	/* the register is this test's to close and reopen: f->r is left NULL */
	struct fx *f = fx_open("act");
	const char *db = f->db, *key = f->key;
	rk_register *r = f->r;
	char id[RK_ID_LEN + 1];
	rk_subject *s = NULL;
	rk_audit_report rep;
	struct trail t;
	sqlite3 *h = NULL;
	size_t i;

	(void)state;
	f->r = NULL;
	fx_subject(r, "customer", id, "first_name", "Testi", "last_name",
		   "Henkilo", NULL);
	assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_OK);
	rk_subject_free(s);
	assert_int_equal(rk_register_flush(r), RK_OK);
	assert_int_equal(
		rk_consent_set(r, id, "analytics_cookies", 1, "web", NULL),
		RK_OK);
	assert_int_equal(
		rk_consent_set(r, id, "analytics_cookies", 0, "web", NULL),
		RK_OK);
	assert_int_equal(rk_object(r, id, "direct_marketing", "phone", NULL),
			 RK_OK);
	assert_int_equal(
		rk_object_lift(r, id, "direct_marketing", "phone", NULL),
		RK_OK);
	assert_int_equal(rk_object(r, id, "no_such_objection", "phone", NULL),
			 RK_EINVAL);
	assert_int_equal(
		rk_object_lift(r, id, "no_such_objection", "phone", NULL),
		RK_EINVAL);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	rk_register_close(r);

	memset(&t, 0, sizeof t);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
				      "SELECT action FROM audit ORDER BY seq",
				      row, &t, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(t.n, sizeof want / sizeof want[0]);
	for (i = 0; i < t.n; i++)
		assert_string_equal(t.rows[i], want[i]);

	/* A new handle verifies the trail as written. */
	assert_int_equal(rk_register_open(db, key, &r), RK_OK);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	rk_register_close(r);
	fx_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_the_documented_set),
		cmocka_unit_test(test_objection_values),
		cmocka_unit_test(test_trail_keeps_its_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
