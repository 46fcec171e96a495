/*
 * test_dsr.c: data subject requests and their deadlines (GDPR Art. 12(3)).
 *
 * The calendar: every day of 2025, 2026 and 2027 as a day of receipt, its
 * one-month and three-month deadlines checked against a computation of
 * this file's own (Gauss's Easter algorithm, Sakamoto's weekday, its own
 * month arithmetic and day walk; the library uses the anonymous Gregorian
 * algorithm and day numbers), plus hand-derived vectors for the days
 * where deadlines go wrong (month ends, Easter, Midsummer, Christmas, the
 * turn of the year, All Saints' Day).
 *
 * The register: one extension only and only within the first month, a
 * refusal needs its reason, the overdue list under a fixed clock, who may
 * keep requests, the recipients told on closing, requests outliving their
 * subject, sealed reasons, and rows edited behind the register's back
 * (exit 5). Runs on real SQLite files with the seed policy.
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
#include "register.h"
#include "rekisteri.h"
#include "store.h"

#define FX_EXTRA char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1];
#include "fixture.h"

/* ---- an independent calendar ----------------------------------------------
 */

static int t_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int t_dim(int y, int m)
{
	static const int n[12] = {31, 28, 31, 30, 31, 30,
				  31, 31, 30, 31, 30, 31};
	return m == 2 && t_leap(y) ? 29 : n[m - 1];
}

/* Sakamoto's method: 0 Sunday .. 6 Saturday. */
static int t_weekday(int y, int m, int d)
{
	static const int t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
	if (m < 3)
		y -= 1;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* Gauss's Easter algorithm for the Gregorian calendar, with its two
 * exceptions (April 26 -> 19, April 25 -> 18). */
static void t_easter(int y, int *m, int *d)
{
	int a = y % 19, b = y % 4, c = y % 7, k = y / 100;
	int p = (13 + 8 * k) / 25, q = k / 4;
	int M = (15 - p + k - q) % 30, N = (4 + k - q) % 7;
	int dd = (19 * a + M) % 30;
	int e = (2 * b + 4 * c + 6 * dd + N) % 7;
	int day = 22 + dd + e;

	if (dd == 29 && e == 6) {
		*m = 4;
		*d = 19;
		return;
	}
	if (dd == 28 && e == 6 && (11 * M + 11) % 30 < 19) {
		*m = 4;
		*d = 18;
		return;
	}
	if (day <= 31) {
		*m = 3;
		*d = day;
	} else {
		*m = 4;
		*d = day - 31;
	}
}

/* Day of the year, 1-based. */
static int t_yday(int y, int m, int d)
{
	int i, n = d;

	for (i = 1; i < m; i++)
		n += t_dim(y, i);
	return n;
}

/* Whether y-m-d is a day on which no time limit ends (5 § of 150/1930),
 * weekends included. */
static int t_closed(int y, int m, int d)
{
	int wd = t_weekday(y, m, d), em, ed, off;

	if (wd == 0 || wd == 6)
		return 1;
	if ((m == 1 && (d == 1 || d == 6)) || (m == 5 && d == 1) ||
	    (m == 12 && (d == 6 || d == 24 || d == 25 || d == 26)))
		return 1;
	if (m == 6 && d >= 19 && d <= 25 && wd == 5) /* Midsummer Eve */
		return 1;
	t_easter(y, &em, &ed);
	off = t_yday(y, m, d) - t_yday(y, em, ed);
	/* Good Friday, Easter Monday, Ascension; Easter and Whitsunday are
	 * Sundays, Midsummer Day and All Saints' Day Saturdays. */
	return off == -2 || off == 1 || off == 39;
}

static void t_next_day(int *y, int *m, int *d)
{
	if (++*d > t_dim(*y, *m)) {
		*d = 1;
		if (++*m > 12) {
			*m = 1;
			++*y;
		}
	}
}

/* The deadline: months on, clamped to the month's end, then walked
 * forward to a working day. */
static void t_due(int y, int m, int d, int months, char out[32])
{
	int mm = m - 1 + months;

	y += mm / 12;
	m = mm % 12 + 1;
	if (d > t_dim(y, m))
		d = t_dim(y, m);
	while (t_closed(y, m, d))
		t_next_day(&y, &m, &d);
	snprintf(out, 32, "%04d-%02d-%02d", y, m, d);
}

/* ---- the calendar ---------------------------------------------------------
 */

static void test_easter_known(void **state)
{
	static const struct {
		int y, m, d;
	} v[] = {
		/* The three years the deadlines below are checked over. */
		{2025, 4, 20},
		{2026, 4, 5},
		{2027, 3, 28},
		/* Others known from almanacs: the earliest and latest
		 * possible dates, and the years Gauss's exceptions hit. */
		{2024, 3, 31},
		{2019, 4, 21},
		{2038, 4, 25},
		{2285, 3, 22},
		{1981, 4, 19},
		{1954, 4, 18},
		{2000, 4, 23},
	};
	size_t i;
	int m, d, y;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(ident_easter(v[i].y, &m, &d), 0);
		assert_int_equal(m, v[i].m);
		assert_int_equal(d, v[i].d);
	}
	/* Two algorithms agree over the whole range the library takes. */
	for (y = 1583; y <= 9999; y++) {
		int gm, gd;
		assert_int_equal(ident_easter(y, &m, &d), 0);
		t_easter(y, &gm, &gd);
		if (m != gm || d != gd)
			fail_msg("Easter %d: %d-%d, Gauss says %d-%d", y, m, d,
				 gm, gd);
	}
	assert_int_equal(ident_easter(1582, &m, &d), -1);
	assert_int_equal(ident_easter(10000, &m, &d), -1);
}

static void test_holidays_2025(void **state)
{
	(void)state;
	/* Each kind on its 2025 date (Easter 2025-04-20). */
	assert_int_equal(ident_fi_holiday(2025, 1, 1), IDENT_FI_NEW_YEAR);
	assert_int_equal(ident_fi_holiday(2025, 1, 6), IDENT_FI_EPIPHANY);
	assert_int_equal(ident_fi_holiday(2025, 4, 18), IDENT_FI_GOOD_FRIDAY);
	assert_int_equal(ident_fi_holiday(2025, 4, 20), IDENT_FI_EASTER_SUNDAY);
	assert_int_equal(ident_fi_holiday(2025, 4, 21), IDENT_FI_EASTER_MONDAY);
	assert_int_equal(ident_fi_holiday(2025, 5, 1), IDENT_FI_MAY_DAY);
	assert_int_equal(ident_fi_holiday(2025, 5, 29), IDENT_FI_ASCENSION);
	assert_int_equal(ident_fi_holiday(2025, 6, 8), IDENT_FI_WHITSUNDAY);
	assert_int_equal(ident_fi_holiday(2025, 6, 20), IDENT_FI_MIDSUMMER_EVE);
	assert_int_equal(ident_fi_holiday(2025, 6, 21), IDENT_FI_MIDSUMMER_DAY);
	assert_int_equal(ident_fi_holiday(2025, 11, 1), IDENT_FI_ALL_SAINTS);
	assert_int_equal(ident_fi_holiday(2025, 12, 6), IDENT_FI_INDEPENDENCE);
	assert_int_equal(ident_fi_holiday(2025, 12, 24),
			 IDENT_FI_CHRISTMAS_EVE);
	assert_int_equal(ident_fi_holiday(2025, 12, 25),
			 IDENT_FI_CHRISTMAS_DAY);
	assert_int_equal(ident_fi_holiday(2025, 12, 26), IDENT_FI_ST_STEPHEN);
	/* Not holidays: Holy Saturday, New Year's Eve, a Saturday in June
	 * that is not Midsummer Day, a day that does not exist. */
	assert_int_equal(ident_fi_holiday(2025, 4, 19), 0);
	assert_int_equal(ident_fi_holiday(2025, 12, 31), 0);
	assert_int_equal(ident_fi_holiday(2025, 6, 28), 0);
	assert_int_equal(ident_fi_holiday(2025, 2, 29), 0);
	assert_string_equal(ident_fi_holiday_name(IDENT_FI_GOOD_FRIDAY),
			    "Good Friday");
	assert_null(ident_fi_holiday_name(0));
	/* Moving ones in other years: All Saints' Day on 31 October 2026
	 * and 6 November 2027, Midsummer Eve on 19 and 25 June. */
	assert_int_equal(ident_fi_holiday(2026, 10, 31), IDENT_FI_ALL_SAINTS);
	assert_int_equal(ident_fi_holiday(2027, 11, 6), IDENT_FI_ALL_SAINTS);
	assert_int_equal(ident_fi_holiday(2026, 6, 19), IDENT_FI_MIDSUMMER_EVE);
	assert_int_equal(ident_fi_holiday(2027, 6, 25), IDENT_FI_MIDSUMMER_EVE);
	assert_int_equal(ident_fi_holiday(2027, 6, 26), IDENT_FI_MIDSUMMER_DAY);
	/* Working days. */
	assert_true(ident_fi_working_day(2025, 12, 31));
	assert_true(ident_fi_working_day(2025, 4, 22));
	assert_false(ident_fi_working_day(2025, 4, 19)); /* a Saturday */
	assert_false(ident_fi_working_day(2025, 6, 20));
	assert_false(ident_fi_working_day(2025, 2, 30));
	assert_int_equal(ident_weekday(2025, 1, 31), 5); /* Friday */
	assert_int_equal(ident_weekday(1970, 1, 1), 4);	 /* Thursday */
}

/* Every day of 2025-2027: the library's holidays and working days against
 * this file's, and both deadlines of a request received that day. */
static void test_every_day(void **state)
{
	int y, m, d, n = 0;
	char rec[32], got[11], want[32];

	(void)state;
	for (y = 2025; y <= 2027; y++)
		for (m = 1; m <= 12; m++)
			for (d = 1; d <= t_dim(y, m); d++) {
				int wd = t_weekday(y, m, d);
				int closed = t_closed(y, m, d);
				assert_int_equal(ident_fi_working_day(y, m, d),
						 !closed);
				/* A holiday on a weekday closes it. */
				if (wd != 0 && wd != 6)
					assert_int_equal(
						ident_fi_holiday(y, m, d) != 0,
						closed);
				snprintf(rec, sizeof rec, "%04d-%02d-%02d", y,
					 m, d);
				t_due(y, m, d, 1, want);
				assert_int_equal(ident_due_date(rec, 1, got),
						 0);
				if (strcmp(got, want) != 0)
					fail_msg("received %s: due %s, want %s",
						 rec, got, want);
				t_due(y, m, d, 3, want);
				assert_int_equal(ident_due_date(rec, 3, got),
						 0);
				if (strcmp(got, want) != 0)
					fail_msg("received %s: extended %s, "
						 "want %s",
						 rec, got, want);
				n++;
			}
	assert_int_equal(n, 365 * 3);
}

static void test_due_vectors(void **state)
{
	static const struct {
		const char *received;
		int months;
		const char *due;
	} v[] = {
		/* SPEC: no 31 February, so the month's last day, a Friday. */
		{"2025-01-31", 1, "2025-02-28"},
		/* Leap year: 29 February, a Thursday. */
		{"2024-01-31", 1, "2024-02-29"},
		/* Lands on Holy Saturday 2025-04-19: Easter Sunday and Easter
		 * Monday follow, so Tuesday 22 April. */
		{"2025-03-19", 1, "2025-04-22"},
		/* Lands on Good Friday 2025-04-18: four days closed. */
		{"2025-03-18", 1, "2025-04-22"},
		/* 2024: Good Friday 29 March (Easter 31 March). */
		{"2024-02-29", 1, "2024-04-02"},
		/* Ascension Day 2025-05-29, a Thursday: Friday 30 May. */
		{"2025-04-29", 1, "2025-05-30"},
		/* May Day 2025, a Thursday. */
		{"2025-04-01", 1, "2025-05-02"},
		/* Midsummer Eve 2025-06-20 (Friday), Midsummer Day, Sunday:
		 * Monday 23 June. */
		{"2025-05-20", 1, "2025-06-23"},
		/* Midsummer Eve 2026-06-19. */
		{"2026-05-19", 1, "2026-06-22"},
		/* Christmas Eve 2025 is a Wednesday: closed through Sunday
		 * 28 December, five days. */
		{"2025-11-24", 1, "2025-12-29"},
		/* Christmas Eve 2026, a Thursday: Monday 28 December. */
		{"2026-11-24", 1, "2026-12-28"},
		/* New Year's Day 2026, a Thursday: Friday 2 January. */
		{"2025-12-01", 1, "2026-01-02"},
		/* New Year's Day 2027, a Friday: Monday 4 January. */
		{"2026-12-01", 1, "2027-01-04"},
		/* New Year's Eve is a working day: 2029-12-29 is a Saturday,
		 * the 30th a Sunday, so Monday 31 December. */
		{"2029-11-29", 1, "2029-12-31"},
		/* 31 January 2026 is a Saturday: Monday 2 February. */
		{"2025-12-31", 1, "2026-02-02"},
		/* Epiphany 2027, a Wednesday. */
		{"2026-12-06", 1, "2027-01-07"},
		/* All Saints' Day 2025-11-01 (Saturday): Monday 3 November. */
		{"2025-10-01", 1, "2025-11-03"},
		/* All Saints' Day 2027-11-06. */
		{"2027-10-06", 1, "2027-11-08"},
		/* Independence Day 2027, a Monday. */
		{"2027-11-06", 1, "2027-12-07"},
		/* 30 November 2025 is a Sunday (31 October + 1 month,
		 * clamped). */
		{"2025-10-31", 1, "2025-12-01"},
		/* Extensions: three months from receipt. */
		{"2025-01-31", 3, "2025-04-30"},
		{"2025-01-19", 3, "2025-04-22"}, /* Holy Saturday */
		{"2025-11-30", 3, "2026-03-02"}, /* 2026-02-28 Saturday */
		/* D.M.YYYY is a date too. */
		{"31.1.2025", 1, "2025-02-28"},
	};
	char out[11];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(
			ident_due_date(v[i].received, v[i].months, out), 0);
		if (strcmp(out, v[i].due) != 0)
			fail_msg("received %s + %d: %s, want %s", v[i].received,
				 v[i].months, out, v[i].due);
	}
	assert_int_equal(ident_due_date("2025-02-30", 1, out), -1);
	assert_string_equal(out, "");
	assert_int_equal(ident_due_date("1500-01-01", 1, out), -1);
	assert_int_equal(ident_due_date("9999-12-01", 1, out), -1);
	assert_int_equal(ident_due_date("2025-01-01", -1, out), -1);
	assert_int_equal(ident_due_date(NULL, 1, out), -1);
}

/* ---- the register ---------------------------------------------------------
 */

static int64_t noon(int y, int m, int d)
{
	return ident_days_from_civil(y, m, d) * 86400 + 12 * 3600;
}

static void add_subject(rk_register *r, const char *email,
			char id[RK_ID_LEN + 1])
{
	fx_subject(r, "customer", id, "last_name", "Zyxwvutila", "email", email,
		   NULL);
}

static int setup(void **state)
{
	struct fx *f = fx_open("dsr");

	rk_register_set_clock(f->r, noon(2025, 3, 4));
	add_subject(f->r, "a@example.com", f->a);
	add_subject(f->r, "b@example.com", f->b);
	*state = f;
	return 0;
}

static json_t *load_json(char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	rk_free_secret(text);
	return j;
}

/* The numbers in a list, as "1,3," */
static void numbers(rk_register *r, unsigned flags, const char *before,
		    char *out, size_t cap)
{
	char *text = NULL;
	json_t *arr, *o;
	size_t i, n = 0;

	assert_int_equal(rk_dsr_list(r, flags, before, &text), RK_OK);
	arr = load_json(text);
	out[0] = '\0';
	json_array_foreach(arr, i, o)
	{
		n += (size_t)snprintf(
			out + n, cap - n, "%" JSON_INTEGER_FORMAT ",",
			json_integer_value(json_object_get(o, "number")));
		assert_true(n < cap);
	}
	json_decref(arr);
}

static void test_open_and_show(void **state)
{
	struct fx *f = *state;
	int64_t n = 0;
	char *text = NULL;
	json_t *o;

	assert_int_equal(rk_dsr_open(f->r, f->a, "erasure", "2025-01-31",
				     "strong-auth", &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rk_dsr_show(f->r, n, &text), RK_OK);
	o = load_json(text);
	assert_string_equal(json_string_value(json_object_get(o, "type")),
			    "erasure");
	assert_string_equal(json_string_value(json_object_get(o, "subject")),
			    f->a);
	assert_string_equal(json_string_value(json_object_get(o, "received")),
			    "2025-01-31");
	assert_string_equal(json_string_value(json_object_get(o, "due")),
			    "2025-02-28");
	assert_true(json_is_null(json_object_get(o, "extended_due")));
	assert_string_equal(
		json_string_value(json_object_get(o, "verified_by")),
		"strong-auth");
	/* Due 2025-02-28, today 2025-03-04. */
	assert_true(json_is_true(json_object_get(o, "overdue")));
	json_decref(o);

	/* Received today by default. */
	assert_int_equal(rk_dsr_open(f->r, f->b, "access", NULL, NULL, &n),
			 RK_OK);
	assert_int_equal(rk_dsr_show(f->r, n, &text), RK_OK);
	o = load_json(text);
	assert_string_equal(json_string_value(json_object_get(o, "received")),
			    "2025-03-04");
	assert_string_equal(json_string_value(json_object_get(o, "due")),
			    "2025-04-04");
	json_decref(o);

	/* Bad input changes nothing. */
	assert_int_equal(rk_dsr_open(f->r, f->a, "complaint", NULL, NULL, &n),
			 RK_EINVAL);
	assert_int_equal(
		rk_dsr_open(f->r, f->a, "access", "2025-03-05", NULL, &n),
		RK_EINVAL); /* tomorrow */
	assert_int_equal(
		rk_dsr_open(f->r, f->a, "access", "2025-02-30", NULL, &n),
		RK_EINVAL);
	assert_int_equal(
		rk_dsr_open(f->r, f->a, "access", NULL, "Passport 123", &n),
		RK_EINVAL);
	assert_int_equal(rk_dsr_open(f->r, "0123456789abcdef0123456789abcdef",
				     "access", NULL, NULL, &n),
			 RK_ENOTFOUND);
	assert_int_equal(rk_dsr_open(f->r, "nope", "access", NULL, NULL, &n),
			 RK_EINVAL);
	assert_int_equal(rk_dsr_show(f->r, 99, &text), RK_ENOTFOUND);
	assert_int_equal(rk_dsr_show(f->r, 0, &text), RK_EINVAL);
	{
		char got[64];
		numbers(f->r, RK_DSR_ALL, NULL, got, sizeof got);
		assert_string_equal(got, "1,2,");
	}
}

static void test_extend_rules(void **state)
{
	struct fx *f = *state;
	int64_t late = 0, ontime = 0;
	char *text = NULL;
	json_t *o;

	/* Today 2025-03-04. Due 2025-03-03 (a Monday): the first month
	 * has ended. */
	assert_int_equal(
		rk_dsr_open(f->r, f->a, "access", "2025-02-03", NULL, &late),
		RK_OK);
	/* Due 2025-03-04, today: the first month still runs. */
	assert_int_equal(rk_dsr_open(f->r, f->a, "portability", "2025-02-04",
				     NULL, &ontime),
			 RK_OK);
	assert_int_equal(rk_dsr_extend(f->r, late, "many requests", NULL),
			 RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "first month"));
	/* A reason is needed. */
	assert_int_equal(rk_dsr_extend(f->r, ontime, NULL, NULL), RK_EINVAL);
	assert_int_equal(rk_dsr_extend(f->r, ontime, "", NULL), RK_EINVAL);
	/* No HETU in a reason. */
	assert_int_equal(
		rk_dsr_extend(f->r, ontime, "asks for 131052-308T", NULL),
		RK_EINVAL);
	assert_int_equal(rk_dsr_extend(f->r, ontime, "many requests", &text),
			 RK_OK);
	o = load_json(text);
	/* 2025-05-04 is a Sunday. */
	assert_string_equal(
		json_string_value(json_object_get(o, "extended_due")),
		"2025-05-05");
	assert_string_equal(json_string_value(json_object_get(o, "deadline")),
			    "2025-05-05");
	assert_string_equal(
		json_string_value(json_object_get(o, "extend_reason")),
		"many requests");
	json_decref(o);
	/* Only once, even while the first month runs. */
	assert_int_equal(rk_dsr_extend(f->r, ontime, "again", NULL), RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "once"));
	assert_int_equal(rk_dsr_extend(f->r, 99, "x", NULL), RK_ENOTFOUND);
	/* A closed request is not extended. */
	assert_int_equal(rk_dsr_close(f->r, late, "done", NULL, NULL), RK_OK);
	assert_int_equal(rk_dsr_extend(f->r, late, "late", NULL), RK_EINVAL);
}

static void test_close_rules(void **state)
{
	struct fx *f = *state;
	int64_t n = 0, m = 0;
	char *text = NULL;
	json_t *o, *rc;

	assert_int_equal(rk_dsr_open(f->r, f->a, "access", NULL, NULL, &n),
			 RK_OK);
	/* A refusal needs its reason. */
	assert_int_equal(rk_dsr_close(f->r, n, "refused", NULL, NULL),
			 RK_EINVAL);
	assert_int_equal(rk_dsr_close(f->r, n, "refused", "", NULL), RK_EINVAL);
	assert_int_equal(rk_dsr_close(f->r, n, "maybe", "x", NULL), RK_EINVAL);
	assert_int_equal(rk_dsr_close(f->r, n, NULL, NULL, NULL), RK_EINVAL);
	assert_int_equal(rk_dsr_close(f->r, n, "refused",
				      "manifestly unfounded: Zyxwvutila asked "
				      "the same yesterday",
				      &text),
			 RK_OK);
	o = load_json(text);
	assert_string_equal(json_string_value(json_object_get(o, "status")),
			    "closed");
	assert_string_equal(json_string_value(json_object_get(o, "outcome")),
			    "refused");
	assert_string_equal(json_string_value(json_object_get(o, "closed")),
			    "2025-03-04");
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")),
			       "manifestly"));
	/* An access request tells no recipients. */
	assert_true(json_is_null(json_object_get(o, "recipients")));
	json_decref(o);
	assert_int_equal(rk_dsr_close(f->r, n, "done", NULL, NULL), RK_EINVAL);

	/* Erasure: the recipients whose purposes overlap the data's. */
	assert_int_equal(rk_dsr_open(f->r, f->b, "erasure", NULL, NULL, &m),
			 RK_OK);
	assert_int_equal(rk_dsr_close(f->r, m, "done", NULL, &text), RK_OK);
	o = load_json(text);
	rc = json_object_get(o, "recipients");
	assert_true(json_is_array(rc));
	assert_true(json_array_size(rc) > 0);
	assert_true(json_array_size(rc) <= f->r->pol->nrecipients);
	assert_string_equal(
		json_string_value(json_object_get(o, "recipients_basis")),
		"purposes");
	assert_non_null(json_string_value(
		json_object_get(json_array_get(rc, 0), "country")));
	json_decref(o);

	/* The reason is sealed: not in the database file or its log. */
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	assert_false(fx_file_has(f->db, "manifestly"));
	{
		char wal[FX_PATH + 8];
		snprintf(wal, sizeof wal, "%s-wal", f->db);
		assert_false(fx_file_has(wal, "manifestly"));
	}
}

static void test_overdue_fixed_clock(void **state)
{
	struct fx *f = *state;
	char got[64];
	int64_t n = 0;

	/* Today 2025-03-04. */
	assert_int_equal(
		rk_dsr_open(f->r, f->a, "access", "2025-02-03", NULL, &n),
		RK_OK); /* 1: due 2025-03-03, late */
	assert_int_equal(
		rk_dsr_open(f->r, f->a, "erasure", "2025-02-04", NULL, &n),
		RK_OK); /* 2: due today, not late */
	assert_int_equal(
		rk_dsr_open(f->r, f->b, "objection", "2025-01-10", NULL, &n),
		RK_OK); /* 3: due 2025-02-10, late, closed below */
	assert_int_equal(
		rk_dsr_open(f->r, f->b, "restriction", "2025-02-04", NULL, &n),
		RK_OK); /* 4: due today, extended to 2025-05-05 */
	assert_int_equal(rk_dsr_close(f->r, 3, "done", NULL, NULL), RK_OK);
	assert_int_equal(rk_dsr_extend(f->r, 4, "complex", NULL), RK_OK);

	numbers(f->r, RK_DSR_OVERDUE, NULL, got, sizeof got);
	assert_string_equal(got, "1,");
	numbers(f->r, 0, NULL, got, sizeof got);
	assert_string_equal(got, "1,2,4,");
	numbers(f->r, RK_DSR_ALL, NULL, got, sizeof got);
	assert_string_equal(got, "1,2,3,4,");
	/* The deadline before a date: 1 (03-03), 2 (03-04); 4 runs to
	 * 05-05. */
	numbers(f->r, 0, "2025-03-05", got, sizeof got);
	assert_string_equal(got, "1,2,");
	numbers(f->r, 0, "2025-03-04", got, sizeof got);
	assert_string_equal(got, "1,");
	{
		char *text = NULL;
		assert_int_equal(rk_dsr_list(f->r, 0, "soon", &text),
				 RK_EINVAL);
		assert_null(text);
	}

	/* The next day 2 is late too. */
	rk_register_set_clock(f->r, noon(2025, 3, 5));
	numbers(f->r, RK_DSR_OVERDUE, NULL, got, sizeof got);
	assert_string_equal(got, "1,2,");
	/* On the extended deadline 4 is not late, the day after it is. */
	rk_register_set_clock(f->r, noon(2025, 5, 5));
	numbers(f->r, RK_DSR_OVERDUE, NULL, got, sizeof got);
	assert_string_equal(got, "1,2,");
	rk_register_set_clock(f->r, noon(2025, 5, 6));
	numbers(f->r, RK_DSR_OVERDUE, NULL, got, sizeof got);
	assert_string_equal(got, "1,2,4,");
}

/* A second handle on the register acting as an actor of role. */
static rk_register *as_actor(struct fx *f, const char *name, const char *role)
{
	char token[RK_TOKEN_LEN + 1];
	rk_register *h = NULL;

	assert_int_equal(rk_actor_add(f->r, name, role, token), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	rk_register_set_audit_batch(h, 1);
	assert_int_equal(rk_register_authenticate(h, name, token), RK_OK);
	return h;
}

struct seen {
	int refused_open, ok_list;
};

static int audit_one(void *ud, const rk_audit_entry *e)
{
	struct seen *s = ud;

	if (strcmp(e->action, "dsr.open") == 0 &&
	    strcmp(e->outcome, "refused") == 0 && e->subject != NULL)
		s->refused_open++;
	if (strcmp(e->action, "dsr.list") == 0 && strcmp(e->outcome, "ok") == 0)
		s->ok_list++;
	return 0;
}

static void test_who_may(void **state)
{
	struct fx *f = *state;
	rk_register *cs = as_actor(f, "cs1", "customer_service");
	rk_register *lead = as_actor(f, "lead", "dpo");
	struct seen s = {0, 0};
	char *text = NULL;
	int64_t n = 0;

	assert_int_equal(rk_dsr_open(cs, f->a, "access", NULL, NULL, &n),
			 RK_EREFUSED);
	assert_int_equal(rk_dsr_list(cs, 0, NULL, &text), RK_EREFUSED);
	assert_int_equal(rk_dsr_show(cs, 1, &text), RK_EREFUSED);
	assert_int_equal(rk_dsr_extend(cs, 1, "x", NULL), RK_EREFUSED);
	assert_int_equal(rk_dsr_close(cs, 1, "done", NULL, NULL), RK_EREFUSED);
	/* The data protection lead's role audits: it may. */
	assert_int_equal(rk_dsr_open(lead, f->a, "access", NULL, NULL, &n),
			 RK_OK);
	assert_int_equal(rk_dsr_list(lead, 0, NULL, &text), RK_OK);
	rk_free_secret(text);
	assert_int_equal(rk_dsr_close(lead, n, "done", NULL, NULL), RK_OK);
	/* The refusal is in the trail, naming the subject. */
	assert_int_equal(rk_register_flush(cs), RK_OK);
	assert_int_equal(rk_audit_log(f->r, NULL, audit_one, &s), RK_OK);
	assert_int_equal(s.refused_open, 1);
	assert_int_equal(s.ok_list, 1);
	rk_register_close(cs);
	rk_register_close(lead);
}

static void test_tampering(void **state)
{
	struct fx *f = *state;
	char *text = NULL;
	int64_t n = 0;
	char sql[256];

	assert_int_equal(
		rk_dsr_open(f->r, f->a, "erasure", "2025-02-03", NULL, &n),
		RK_OK);
	assert_int_equal(rk_dsr_open(f->r, f->b, "access", NULL, NULL, &n),
			 RK_OK);
	assert_int_equal(rk_dsr_extend(f->r, 2, "complex", NULL), RK_OK);
	/* A later due date written with the sqlite3 shell. */
	fx_exec(f->db, "UPDATE dsr SET due = '2025-12-31' WHERE id = 1");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_EINTEGRITY);
	assert_int_equal(rk_dsr_show(f->r, 2, &text), RK_EINTEGRITY);
	assert_int_equal(rk_dsr_close(f->r, 2, "done", NULL, NULL),
			 RK_EINTEGRITY);
	fx_exec(f->db, "UPDATE dsr SET due = '2025-03-03' WHERE id = 1");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_OK);
	rk_free_secret(text);
	/* An overdue request hidden by closing it. */
	fx_exec(f->db, "UPDATE dsr SET status = 'closed' WHERE id = 1");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_EINTEGRITY);
	fx_exec(f->db, "UPDATE dsr SET status = 'open' WHERE id = 1");
	/* Another extended deadline, or the extension's reason swapped. */
	fx_exec(f->db, "UPDATE dsr SET extended_due = '2026-01-01' WHERE id "
		       "= 2");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_EINTEGRITY);
	fx_exec(f->db, "UPDATE dsr SET extended_due = '2025-06-04' WHERE id "
		       "= 2");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_OK);
	rk_free_secret(text);
	/* A request moved to another subject. */
	snprintf(sql, sizeof sql,
		 "UPDATE dsr SET subject_id = '%s' WHERE id = 1", f->b);
	fx_exec(f->db, sql);
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_EINTEGRITY);
	snprintf(sql, sizeof sql,
		 "UPDATE dsr SET subject_id = '%s' WHERE id = 1", f->a);
	fx_exec(f->db, sql);
	/* A request removed. */
	fx_exec(f->db, "CREATE TABLE keep AS SELECT * FROM dsr WHERE id = 1;"
		       "DELETE FROM dsr WHERE id = 1");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_EINTEGRITY);
	fx_exec(f->db, "INSERT INTO dsr SELECT * FROM keep; DROP TABLE keep");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_OK);
	rk_free_secret(text);
	/* An old copy of a row put back (before the extension). */
	fx_exec(f->db, "UPDATE dsr SET extended_due = NULL, extend_reason = "
		       "NULL WHERE id = 2");
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_EINTEGRITY);
}

static void test_outlives_subject(void **state)
{
	struct fx *f = *state;
	char *text = NULL, pseudonym[33];
	store_subject sub;
	int64_t n = 0, m = 0;
	json_t *o, *arr;

	assert_int_equal(rk_dsr_open(f->r, f->a, "erasure", NULL, NULL, &n),
			 RK_OK);
	assert_int_equal(rk_dsr_open(f->r, f->b, "access", NULL, NULL, &m),
			 RK_OK);
	assert_int_equal(f->r->st->vt->subject_get(f->r->st, f->a, &sub), 0);
	memcpy(pseudonym, sub.pseudonym, sizeof pseudonym);
	/* Erasure deletes the subject row (foreign keys on: the request's
	 * subject goes to NULL). */
	assert_int_equal(f->r->st->vt->begin(f->r->st, 1), 0);
	assert_int_equal(f->r->st->vt->subject_delete(f->r->st, f->a), 0);
	assert_int_equal(f->r->st->vt->commit(f->r->st), 0);
	assert_int_equal(rk_dsr_list(f->r, 0, NULL, &text), RK_OK);
	arr = load_json(text);
	assert_int_equal(json_array_size(arr), 2);
	o = json_array_get(arr, 0);
	assert_true(json_is_null(json_object_get(o, "subject")));
	assert_string_equal(json_string_value(json_object_get(o, "pseudonym")),
			    pseudonym);
	json_decref(arr);
	/* Closing it still tells the recipients, from the purposes the
	 * data served when the request came. */
	assert_int_equal(rk_dsr_close(f->r, n, "done", NULL, &text), RK_OK);
	o = load_json(text);
	assert_string_equal(
		json_string_value(json_object_get(o, "recipients_basis")),
		"purposes");
	assert_true(json_array_size(json_object_get(o, "recipients")) > 0);
	json_decref(o);
	/* A subject row deleted with the sqlite3 shell (foreign keys off):
	 * the request keeps a dangling id and still lists. */
	{
		char sql[128];
		snprintf(sql, sizeof sql, "DELETE FROM subject WHERE id = '%s'",
			 f->b);
		fx_exec(f->db, sql);
	}
	assert_int_equal(rk_dsr_show(f->r, m, &text), RK_OK);
	o = load_json(text);
	assert_true(json_is_null(json_object_get(o, "subject")));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_easter_known),
		cmocka_unit_test(test_holidays_2025),
		cmocka_unit_test(test_every_day),
		cmocka_unit_test(test_due_vectors),
		cmocka_unit_test_setup_teardown(test_open_and_show, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_extend_rules, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_close_rules, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_overdue_fixed_clock, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_who_may, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_tampering, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_outlives_subject, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
