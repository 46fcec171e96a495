/*
 * test_breach.c: the breach register and its 72-hour clock.
 *
 * The deadline is 72 calendar hours after awareness, shown in Finnish time
 * with its offset: across the change to summer time in March (2026-03-29)
 * and back in October (2026-10-25), the wall clock moves by 71 or 73 hours
 * while the deadline stays 72 real hours on; the time left and "overdue"
 * under a fixed clock; Finnish times that are skipped or repeated by a
 * change are refused without an offset. Then the register: the affected
 * subjects counted by a query and listed for a high risk, what closing
 * needs, who may, the sealed description, and rows edited behind the
 * register's back (RK_EINTEGRITY).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ident.h"
#include "rekisteri.h"

#define FX_EXTRA char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1];
#include "fixture.h"

/* Unix time of a UTC wall time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return ident_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static void add_subject(rk_register *r, const char *email,
			char id[RK_ID_LEN + 1])
{
	fx_subject(r, "customer", id, "last_name", "Vuoto",
		   email != NULL ? "email" : NULL, email, NULL);
}

static int setup(void **state)
{
	struct fx *f = fx_open("breach");

	rk_register_set_clock(f->r, utc(2026, 3, 1, 10, 0));
	add_subject(f->r, "a@example.com", f->a);
	add_subject(f->r, NULL, f->b);
	*state = f;
	return 0;
}

static json_t *show(rk_register *r, int64_t n)
{
	char *text = NULL;
	json_t *o;

	assert_int_equal(rk_breach_show(r, n, &text), RK_OK);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	rk_free_secret(text);
	return o;
}

static const char *s_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(null)";
}

static int64_t open_at(struct fx *f, const char *aware)
{
	int64_t n = 0;

	assert_int_equal(rk_breach_open(f->r, aware, "A laptop was lost.", NULL,
					NULL, &n),
			 RK_OK);
	return n;
}

/* ---- the clock --------------------------------------------------------------
 */

static void test_deadline_march(void **state)
{
	struct fx *f = *state;
	json_t *o;
	int64_t n;

	/* 72 h after 2026-03-27T12:00+02:00 is 2026-03-30T13:00+03:00:
	 * the clocks went forward on Sunday 29 March at 03:00 */
	rk_register_set_clock(f->r, utc(2026, 3, 28, 10, 0));
	n = open_at(f, "2026-03-27T12:00");
	o = show(f->r, n);
	assert_string_equal(s_of(o, "aware_at"), "2026-03-27T12:00+02:00");
	assert_string_equal(s_of(o, "deadline"), "2026-03-30T13:00+03:00");
	assert_string_equal(s_of(o, "deadline_utc"), "2026-03-30T10:00Z");
	assert_string_equal(s_of(o, "time_left"), "48 h 0 min");
	assert_int_equal(json_integer_value(json_object_get(o, "seconds_left")),
			 48 * 3600);
	assert_false(json_is_true(json_object_get(o, "overdue")));
	json_decref(o);
	/* after the change: 2026-03-29T12:00+03:00 is 09:00Z, 25 h left
	 * (the wall clock says 25 h too: 12:00 to 13:00 the next day) */
	rk_register_set_clock(f->r, utc(2026, 3, 29, 9, 0));
	o = show(f->r, n);
	assert_string_equal(s_of(o, "time_left"), "25 h 0 min");
	json_decref(o);
	/* the same instant given with its offset or in UTC */
	n = open_at(f, "2026-03-27T10:00Z");
	o = show(f->r, n);
	assert_string_equal(s_of(o, "deadline"), "2026-03-30T13:00+03:00");
	json_decref(o);
	n = open_at(f, "2026-03-27T12:00+02:00");
	o = show(f->r, n);
	assert_string_equal(s_of(o, "deadline_utc"), "2026-03-30T10:00Z");
	json_decref(o);
	/* awareness just before the change: 2026-03-29T02:30+02:00 */
	n = open_at(f, "2026-03-29T02:30");
	o = show(f->r, n);
	assert_string_equal(s_of(o, "aware_at"), "2026-03-29T02:30+02:00");
	assert_string_equal(s_of(o, "deadline"), "2026-04-01T03:30+03:00");
	json_decref(o);
}

static void test_deadline_october(void **state)
{
	struct fx *f = *state;
	json_t *o;
	int64_t n;

	/* the clocks went back on Sunday 25 October at 04:00 (to 03:00):
	 * 72 h after 2026-10-23T12:00+03:00 is 2026-10-26T11:00+02:00 */
	rk_register_set_clock(f->r, utc(2026, 10, 24, 9, 0));
	n = open_at(f, "2026-10-23T12:00");
	o = show(f->r, n);
	assert_string_equal(s_of(o, "aware_at"), "2026-10-23T12:00+03:00");
	assert_string_equal(s_of(o, "deadline"), "2026-10-26T11:00+02:00");
	assert_string_equal(s_of(o, "deadline_utc"), "2026-10-26T09:00Z");
	assert_string_equal(s_of(o, "time_left"), "48 h 0 min");
	json_decref(o);
	/* awareness in the repeated hour, told apart by the offset */
	rk_register_set_clock(f->r, utc(2026, 10, 26, 0, 0));
	n = open_at(f, "2026-10-25T03:30+03:00");
	o = show(f->r, n);
	assert_string_equal(s_of(o, "deadline"), "2026-10-28T02:30+02:00");
	json_decref(o);
	n = open_at(f, "2026-10-25T03:30+02:00");
	o = show(f->r, n);
	assert_string_equal(s_of(o, "aware_at"), "2026-10-25T03:30+02:00");
	assert_string_equal(s_of(o, "deadline"), "2026-10-28T03:30+02:00");
	json_decref(o);
}

static void test_ambiguous_and_skipped(void **state)
{
	struct fx *f = *state;
	int64_t n = 0;

	rk_register_set_clock(f->r, utc(2026, 11, 1, 0, 0));
	/* 03:30 on 25 October 2026 comes twice; on 29 March it never does */
	assert_int_equal(
		rk_breach_open(f->r, "2026-10-25T03:30", "x", NULL, NULL, &n),
		RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "comes twice"));
	assert_int_equal(
		rk_breach_open(f->r, "2026-03-29T03:30", "x", NULL, NULL, &n),
		RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "does not exist"));
	assert_int_equal(
		rk_breach_open(f->r, "2026-02-30T10:00Z", "x", NULL, NULL, &n),
		RK_EINVAL);
	assert_int_equal(rk_breach_open(f->r, "yesterday", "x", NULL, NULL, &n),
			 RK_EINVAL);
	/* not in the future */
	assert_int_equal(
		rk_breach_open(f->r, "2026-11-01T00:01Z", "x", NULL, NULL, &n),
		RK_EINVAL);
	assert_int_equal(n, 0);
}

static void test_overdue_and_late(void **state)
{
	struct fx *f = *state;
	rk_breach_change c = {NULL, NULL, NULL, NULL, NULL};
	char *text = NULL;
	json_t *o, *arr;
	int64_t n;

	rk_register_set_clock(f->r, utc(2026, 3, 27, 10, 0));
	n = open_at(f, "2026-03-27T12:00");
	/* 2 h 5 min after the deadline */
	rk_register_set_clock(f->r, utc(2026, 3, 30, 12, 5));
	o = show(f->r, n);
	assert_true(json_is_true(json_object_get(o, "overdue")));
	assert_string_equal(s_of(o, "time_left"), "overdue by 2 h 5 min");
	assert_int_equal(json_integer_value(json_object_get(o, "seconds_left")),
			 -(2 * 3600 + 300));
	json_decref(o);
	assert_int_equal(rk_breach_list(f->r, 0, &text), RK_OK);
	arr = json_loads(text, 0, NULL);
	rk_free_secret(text);
	assert_int_equal(json_array_size(arr), 1);
	assert_true(json_is_true(
		json_object_get(json_array_get(arr, 0), "overdue")));
	json_decref(arr);
	/* told now: no longer overdue, but late */
	c.dpa_notified_at = "2026-03-30T15:00";
	assert_int_equal(rk_breach_update(f->r, n, &c, NULL), RK_OK);
	o = show(f->r, n);
	assert_false(json_is_true(json_object_get(o, "overdue")));
	assert_true(json_is_true(json_object_get(o, "notified_late")));
	assert_true(json_is_null(json_object_get(o, "time_left")));
	assert_string_equal(s_of(o, "dpa_notified_at"),
			    "2026-03-30T15:00+03:00");
	json_decref(o);
	/* a notice before awareness is refused */
	c.dpa_notified_at = "2026-03-20T10:00Z";
	assert_int_equal(rk_breach_update(f->r, n, &c, NULL), RK_EINVAL);
}

/* ---- the register -----------------------------------------------------------
 */

static void test_query_and_close(void **state)
{
	struct fx *f = *state;
	rk_breach_query q = {"email", NULL, NULL, NULL};
	rk_breach_change c = {NULL, NULL, NULL, NULL, NULL};
	char *text = NULL;
	json_t *o;
	int64_t n = 0;

	rk_register_set_clock(f->r, utc(2026, 3, 2, 10, 0));
	assert_int_equal(rk_breach_open(f->r, "2026-03-02T08:00Z",
					"Mailing list leaked.", "contact,name",
					&q, &n),
			 RK_OK);
	o = show(f->r, n);
	/* only the subject with an e-mail address */
	assert_int_equal(json_integer_value(json_object_get(o, "affected")), 1);
	assert_string_equal(s_of(o, "description"), "Mailing list leaked.");
	assert_int_equal(json_array_size(json_object_get(o, "categories")), 2);
	json_decref(o);
	/* a subject added later was not affected */
	{
		char later[RK_ID_LEN + 1];
		rk_register_set_clock(f->r, utc(2026, 3, 3, 10, 0));
		add_subject(f->r, "late@example.com", later);
	}
	/* the subjects are told only of a high risk */
	assert_int_equal(rk_breach_subjects(f->r, n, &text), RK_EINVAL);
	assert_int_equal(rk_breach_close(f->r, n, NULL), RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "risk"));
	c.risk = "high";
	assert_int_equal(rk_breach_update(f->r, n, &c, NULL), RK_OK);
	assert_int_equal(rk_breach_subjects(f->r, n, &text), RK_OK);
	o = json_loads(text, 0, NULL);
	rk_free_secret(text);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 1);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(o, "subjects"), 0)),
			    f->a);
	json_decref(o);
	/* closing needs the Ombudsman told and the subjects told */
	assert_int_equal(rk_breach_close(f->r, n, NULL), RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "Ombudsman"));
	c.risk = NULL;
	c.dpa_notified_at = "2026-03-03T09:00Z";
	assert_int_equal(rk_breach_update(f->r, n, &c, NULL), RK_OK);
	assert_int_equal(rk_breach_close(f->r, n, NULL), RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "subjects"));
	c.dpa_notified_at = NULL;
	c.subjects_notified_at = "2026-03-03T09:30Z";
	c.measures = "Passwords reset; the list was taken down.";
	assert_int_equal(rk_breach_update(f->r, n, &c, NULL), RK_OK);
	assert_int_equal(rk_breach_close(f->r, n, &text), RK_OK);
	o = json_loads(text, 0, NULL);
	rk_free_secret(text);
	assert_string_equal(s_of(o, "status"), "closed");
	assert_string_equal(s_of(o, "measures"),
			    "Passwords reset; the list was taken down.");
	json_decref(o);
	/* closed: no more changes; the list of open ones is empty */
	assert_int_equal(rk_breach_update(f->r, n, &c, NULL), RK_EINVAL);
	assert_int_equal(rk_breach_list(f->r, 0, &text), RK_OK);
	assert_string_equal(text, "[]");
	rk_free_secret(text);
	assert_int_equal(rk_breach_show(f->r, 99, &text), RK_ENOTFOUND);
	/* bad input */
	assert_int_equal(rk_breach_open(f->r, "2026-03-02T08:00Z", "x",
					"no_such_category", NULL, &n),
			 RK_EINVAL);
	q.field = "no_such_field";
	assert_int_equal(
		rk_breach_open(f->r, "2026-03-02T08:00Z", "x", NULL, &q, &n),
		RK_EINVAL);
	assert_int_equal(rk_breach_open(f->r, "2026-03-02T08:00Z",
					"HETU 131052-308T leaked", NULL, NULL,
					&n),
			 RK_EINVAL);
	assert_null(strstr(rk_errmsg(f->r), "131052"));
}

static void test_time_range(void **state)
{
	struct fx *f = *state;
	rk_breach_query q = {NULL, NULL, "2026-03-01T09:00Z",
			     "2026-03-01T11:00Z"};
	int64_t n = 0;
	json_t *o;

	rk_register_set_clock(f->r, utc(2026, 3, 5, 10, 0));
	assert_int_equal(
		rk_breach_open(f->r, "2026-03-04T10:00Z", "x", NULL, &q, &n),
		RK_OK);
	o = show(f->r, n);
	/* both subjects' data was collected at 10:00 on 1 March */
	assert_int_equal(json_integer_value(json_object_get(o, "affected")), 2);
	json_decref(o);
	q.from = "2026-03-02T00:00Z";
	q.to = "2026-03-03T00:00Z";
	assert_int_equal(
		rk_breach_open(f->r, "2026-03-04T10:00Z", "x", NULL, &q, &n),
		RK_OK);
	o = show(f->r, n);
	assert_int_equal(json_integer_value(json_object_get(o, "affected")), 0);
	json_decref(o);
	q.to = NULL;
	assert_int_equal(
		rk_breach_open(f->r, "2026-03-04T10:00Z", "x", NULL, &q, &n),
		RK_EINVAL);
}

static void test_tamper_and_seal(void **state)
{
	struct fx *f = *state;
	char *text = NULL, cmd[1400];
	int64_t n = open_at(f, "2026-02-28T10:00Z");

	(void)n;
	/* the description is not in the file in the clear */
	rk_register_close(f->r);
	f->r = NULL;
	snprintf(cmd, sizeof cmd, "cat '%s'* | grep -qa 'laptop was lost'",
		 f->db);
	assert_int_not_equal(system(cmd), 0);
	/* the deadline moved by an edit of the row */
	fx_exec(f->db, "UPDATE breach SET aware_at = aware_at + 86400");
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(rk_breach_list(f->r, 0, &text), RK_EINTEGRITY);
	fx_exec(f->db, "UPDATE breach SET aware_at = aware_at - 86400");
	assert_int_equal(rk_breach_list(f->r, 0, &text), RK_OK);
	rk_free_secret(text);
	/* a breach removed */
	fx_exec(f->db, "DELETE FROM breach");
	assert_int_equal(rk_breach_list(f->r, 0, &text), RK_EINTEGRITY);
}

static void test_who_may(void **state)
{
	struct fx *f = *state;
	char token[RK_TOKEN_LEN + 1], *text = NULL;
	rk_register *h = NULL;
	int64_t n = 0;

	assert_int_equal(rk_actor_add(f->r, "cs", "customer_service", token),
			 RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs", token), RK_OK);
	assert_int_equal(
		rk_breach_open(h, "2026-02-28T10:00Z", "x", NULL, NULL, &n),
		RK_EREFUSED);
	assert_int_equal(rk_breach_list(h, 0, &text), RK_EREFUSED);
	assert_int_equal(rk_ropa(h, RK_DOC_JSON, NULL, &text), RK_EREFUSED);
	rk_register_close(h);
	assert_int_equal(rk_actor_add(f->r, "dp", "dpo", token), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "dp", token), RK_OK);
	assert_int_equal(
		rk_breach_open(h, "2026-02-28T10:00Z", "x", NULL, NULL, &n),
		RK_OK);
	assert_int_equal(rk_breach_list(h, 0, &text), RK_OK);
	rk_free_secret(text);
	rk_register_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deadline_march, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_deadline_october, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ambiguous_and_skipped,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_overdue_and_late, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_query_and_close, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_time_range, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_and_seal, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_who_may, setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
