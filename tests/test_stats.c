/*
 * test_stats.c: anonymous statistics.
 *
 * The disclosure control (stats.h) on tables of this file's own, fixed and
 * random, of one to four dimensions: no released cell or total counts
 * fewer than k subjects, and an attacker of this file's own who tries
 * every derivation by subtraction (a total minus its known cells, a cell
 * from a total whose other terms are known, the grand total from the
 * totals of any one dimension and back, repeated until nothing more
 * follows) recovers no suppressed cell or total.
 *
 * Then rk_stats on a register with the seed policy: the released JSON
 * document passes the same checks, rare values go under "(other)",
 * refused roles and bad k are refused, and every release is audited.
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

#include "ident.h"
#include "rekisteri.h"
#include "stats.h"

#include "fixture.h"

/* ---- the attacker ----------------------------------------------------------
 */

/* A table as the attacker sees it: the shape, the released counts, and
 * which items are known. Items in stats.h's order. */
struct seen {
	size_t ndims, nvals[STATS_DIMS_MAX], ncells, nitems;
	long long *val;
	int *known;
};

/* Value of dimension d of cell c (row-major), computed here. */
static size_t t_value(const struct seen *s, size_t c, size_t d)
{
	size_t i;

	for (i = s->ndims - 1; i > d; i--)
		c /= s->nvals[i];
	return c % s->nvals[d];
}

static size_t t_total(const struct seen *s, size_t d, size_t v)
{
	size_t i, at = s->ncells;

	for (i = 0; i < d; i++)
		at += s->nvals[i];
	return at + v;
}

/* One equation: total = sum of terms. Applies it when exactly one of
 * its items is unknown; returns 1 when it derived something. */
static int apply_eq(struct seen *s, size_t total, const size_t *terms,
		    size_t nterms)
{
	size_t i, unknown = (size_t)-1, nunk = 0;
	long long sum = 0;

	if (!s->known[total]) {
		unknown = total;
		nunk++;
	}
	for (i = 0; i < nterms; i++) {
		if (s->known[terms[i]])
			sum += s->val[terms[i]];
		else {
			unknown = terms[i];
			nunk++;
		}
	}
	if (nunk != 1)
		return 0;
	if (unknown == total)
		s->val[total] = sum;
	else
		s->val[unknown] = s->val[total] - sum;
	s->known[unknown] = 1;
	return 1;
}

/* Every derivation by subtraction until nothing more follows. */
static void attack(struct seen *s)
{
	size_t *terms = malloc((s->ncells + 64) * sizeof *terms);
	size_t d, v, c, n, grand = s->nitems - 1;
	int more = 1;

	assert_non_null(terms);
	while (more) {
		more = 0;
		/* the grand total is the sum of all cells */
		for (c = 0; c < s->ncells; c++)
			terms[c] = c;
		more |= apply_eq(s, grand, terms, s->ncells);
		if (s->ndims < 2)
			continue;
		for (d = 0; d < s->ndims; d++) {
			/* each total is the sum of its cells */
			for (v = 0; v < s->nvals[d]; v++) {
				n = 0;
				for (c = 0; c < s->ncells; c++)
					if (t_value(s, c, d) == v)
						terms[n++] = c;
				more |= apply_eq(s, t_total(s, d, v), terms, n);
			}
			/* the grand total is the sum of one dimension's */
			for (v = 0; v < s->nvals[d]; v++)
				terms[v] = t_total(s, d, v);
			more |= apply_eq(s, grand, terms, s->nvals[d]);
		}
		/* a row of a two-dimensional slice: the cells of value v of
		 * d and value w of e sum to nothing released, so only the
		 * above applies */
	}
	free(terms);
}

/* Checks a released table: every released item counts at least k (per
 * subjects), and the attacker recovers nothing suppressed. */
static void check_released(const stats_table *t, int k)
{
	struct seen s;
	size_t i;

	memset(&s, 0, sizeof s);
	s.ndims = t->ndims;
	memcpy(s.nvals, t->nvals, sizeof s.nvals);
	s.ncells = t->ncells;
	s.nitems = t->nitems;
	s.val = calloc(s.nitems, sizeof *s.val);
	s.known = calloc(s.nitems, sizeof *s.known);
	assert_non_null(s.val);
	assert_non_null(s.known);
	for (i = 0; i < t->nitems; i++) {
		if (t->sup[i] == STATS_RELEASED) {
			if (t->subjects[i] < k)
				fail_msg("item %zu released with %lld < k %d",
					 i, (long long)t->subjects[i], k);
			s.known[i] = 1;
			s.val[i] = t->count[i];
		}
	}
	attack(&s);
	for (i = 0; i < t->nitems; i++)
		if (t->sup[i] != STATS_RELEASED && s.known[i])
			fail_msg("suppressed item %zu (count %lld) derived "
				 "by subtraction",
				 i, (long long)t->count[i]);
	/* The library's own, stronger test agrees. */
	for (i = 0; i < t->nitems; i++)
		if (t->sup[i] != STATS_RELEASED)
			assert_int_equal(stats_determined(t, i), 0);
	free(s.val);
	free(s.known);
}

/* ---- tables -----------------------------------------------------------------
 */

static void run(size_t ndims, const size_t *nvals, const long long *cells,
		int k, stats_table *t)
{
	size_t c;

	assert_int_equal(stats_table_init(t, ndims, nvals), 0);
	for (c = 0; c < t->ncells; c++)
		t->count[c] = cells[c];
	stats_sum(t);
	stats_sum_subjects(t);
	assert_int_equal(stats_suppress(t, k), 0);
	check_released(t, k);
}

static void test_one_dimension(void **state)
{
	const size_t n[] = {3};
	const long long cells[] = {3, 10, 12};
	stats_table t;

	(void)state;
	run(1, n, cells, 5, &t);
	/* the small cell and one more, so that the total minus the
	 * released cells does not give it; the total stays */
	assert_int_equal(t.sup[0], STATS_PRIMARY);
	assert_int_equal(t.sup[1], STATS_SECONDARY);
	assert_int_equal(t.sup[2], STATS_RELEASED);
	assert_int_equal(t.sup[stats_grand_item(&t)], STATS_RELEASED);
	stats_table_free(&t);
}

static void test_one_dimension_all_large(void **state)
{
	const size_t n[] = {4};
	const long long cells[] = {5, 6, 7, 100};
	stats_table t;
	size_t i;

	(void)state;
	run(1, n, cells, 5, &t);
	for (i = 0; i < t.nitems; i++)
		assert_int_equal(t.sup[i], STATS_RELEASED);
	stats_table_free(&t);
}

static void test_two_dimensions(void **state)
{
	/* 3 x 3 with one small cell: it and at least one more in its row
	 * and in its column go, and the row and column totals stay */
	const size_t n[] = {3, 3};
	const long long cells[] = {2, 20, 30, 15, 25, 35, 40, 45, 50};
	stats_table t;
	size_t c, row0 = 0, col0 = 0;

	(void)state;
	run(2, n, cells, 5, &t);
	assert_int_equal(t.sup[0], STATS_PRIMARY);
	for (c = 0; c < t.ncells; c++) {
		if (t.sup[c] == STATS_RELEASED)
			continue;
		row0 += stats_cell_value(&t, c, 0) == 0;
		col0 += stats_cell_value(&t, c, 1) == 0;
	}
	assert_true(row0 >= 2);
	assert_true(col0 >= 2);
	assert_int_equal(t.sup[stats_total_item(&t, 0, 0)], STATS_RELEASED);
	assert_int_equal(t.sup[stats_grand_item(&t)], STATS_RELEASED);
	stats_table_free(&t);
}

static void test_small_total(void **state)
{
	/* a whole row is small: its total is suppressed and must not come
	 * back as the grand total minus the other rows */
	const size_t n[] = {3, 2};
	const long long cells[] = {1, 1, 10, 12, 20, 30};
	stats_table t;

	(void)state;
	run(2, n, cells, 5, &t);
	assert_int_not_equal(t.sup[stats_total_item(&t, 0, 0)], STATS_RELEASED);
	stats_table_free(&t);
}

static void test_zeros(void **state)
{
	/* empty cells are suppressed like small ones: 0 is fewer than k */
	const size_t n[] = {2, 3};
	const long long cells[] = {0, 9, 9, 9, 0, 9};
	stats_table t;

	(void)state;
	run(2, n, cells, 3, &t);
	assert_int_not_equal(t.sup[0], STATS_RELEASED);
	assert_int_not_equal(t.sup[4], STATS_RELEASED);
	stats_table_free(&t);
}

/* A small pseudo-random generator of this file (reproducible). */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned next(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void test_random_tables(void **state)
{
	size_t round, d, c, released = 0, suppressed = 0;

	(void)state;
	for (round = 0; round < 400; round++) {
		size_t ndims = 1 + next(3), nvals[STATS_DIMS_MAX], cells = 1;
		long long *v;
		int k = 3 + (int)next(5);
		stats_table t;

		for (d = 0; d < ndims; d++) {
			nvals[d] = 1 + next(ndims == 1 ? 9 : 5);
			cells *= nvals[d];
		}
		v = malloc(cells * sizeof *v);
		assert_non_null(v);
		for (c = 0; c < cells; c++) {
			/* many small cells, some zeros, some large */
			unsigned kind = next(4);
			v[c] = kind == 0   ? 0
			       : kind == 1 ? (long long)next((unsigned)k)
			       : kind == 2 ? (long long)k + next(5)
					   : (long long)next(60);
		}
		run(ndims, nvals, v, k, &t);
		for (c = 0; c < t.nitems; c++) {
			released += t.sup[c] == STATS_RELEASED;
			suppressed += t.sup[c] != STATS_RELEASED;
		}
		stats_table_free(&t);
		free(v);
	}
	/* The tables were not all hidden (the test could not fail then). */
	assert_true(released > 100);
	assert_true(suppressed > 100);
}

static void test_four_dimensions(void **state)
{
	const size_t n[] = {2, 3, 2, 2};
	long long v[24];
	stats_table t;
	size_t c;

	(void)state;
	for (c = 0; c < 24; c++)
		v[c] = c % 5 == 0 ? 2 : (long long)(6 + c);
	run(4, n, v, 5, &t);
	stats_table_free(&t);
}

static void test_too_large(void **state)
{
	const size_t n[] = {200, 200};
	stats_table t;

	(void)state;
	assert_int_equal(stats_table_init(&t, 2, n), -1);
}

/* ---- the register -----------------------------------------------------------
 */

static void add(rk_register *r, const char *kind, const char *gender,
		const char *birth, const char *postal, const char *product)
{
	rk_fields *fl = rk_fields_new();
	char id[RK_ID_LEN + 1], json[256];
	int64_t rec = 0;

	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "last_name", "Tilasto"), RK_OK);
	if (gender != NULL)
		assert_int_equal(rk_fields_add(fl, "gender", gender), RK_OK);
	if (birth != NULL)
		assert_int_equal(rk_fields_add(fl, "birth_date", birth), RK_OK);
	if (postal != NULL)
		assert_int_equal(rk_fields_add(fl, "postal_code", postal),
				 RK_OK);
	assert_int_equal(rk_subject_add(r, kind, fl, NULL, NULL, id), RK_OK);
	rk_fields_free(fl);
	if (product != NULL) {
		snprintf(json, sizeof json,
			 "{\"product\": \"%s\", \"amount\": \"1.00\", "
			 "\"currency\": \"EUR\"}",
			 product);
		assert_int_equal(rk_record_add(r, id, "purchase", json, NULL,
					       NULL, NULL, &rec),
				 RK_OK);
	}
}

static int setup(void **state)
{
	struct fx *f = fx_open("stats");
	static const char *const genders[] = {"female", "male", "other"};
	char birth[16], postal[8];
	int i;

	rk_register_set_clock(f->r, ident_days_from_civil(2026, 6, 1) * 86400);
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	for (i = 0; i < 60; i++) {
		snprintf(birth, sizeof birth, "%d-0%d-1%d", 1940 + (i * 7) % 66,
			 1 + i % 9, i % 10);
		snprintf(postal, sizeof postal, "%02d100", (i * 3) % 7);
		add(f->r, i % 5 == 0 ? "prospect" : "customer",
		    i % 11 == 0 ? NULL : genders[(i * 5) % 7 == 0 ? 2 : i % 2],
		    birth, postal,
		    i % 4 == 0	 ? "Lukulaite"
		    : i % 4 == 1 ? "Skanneri"
		    : i == 2	 ? "Erikoistilaus Virtanen"
				 : NULL);
	}
	assert_int_equal(rk_register_commit(f->r), RK_OK);
	*state = f;
	return 0;
}

/* The released document as a table for the attacker: shape from
 * "values", cells in order, totals, the grand total. */
static void check_doc(const char *text, int k)
{
	json_t *doc = json_loads(text, 0, NULL), *dims, *vals, *v;
	struct seen s;
	size_t d, i, n = 0;

	assert_non_null(doc);
	memset(&s, 0, sizeof s);
	dims = json_object_get(doc, "dimensions");
	vals = json_object_get(doc, "values");
	s.ndims = json_array_size(dims);
	s.ncells = 1;
	for (d = 0; d < s.ndims; d++) {
		s.nvals[d] = json_array_size(json_object_get(
			vals, json_string_value(json_array_get(dims, d))));
		s.ncells *= s.nvals[d];
		n += s.nvals[d];
	}
	s.nitems = s.ncells + (s.ndims >= 2 ? n : 0) + 1;
	assert_int_equal(json_array_size(json_object_get(doc, "cells")),
			 s.ncells);
	s.val = calloc(s.nitems, sizeof *s.val);
	s.known = calloc(s.nitems, sizeof *s.known);
	assert_non_null(s.val);
	assert_non_null(s.known);
	n = 0;
	json_array_foreach(json_object_get(doc, "cells"), i, v)
	{
		json_t *c = json_object_get(v, "count");
		s.known[n] = json_is_integer(c);
		s.val[n++] = json_integer_value(c);
	}
	json_array_foreach(json_object_get(doc, "totals"), i, v)
	{
		json_t *c = json_object_get(v, "count");
		s.known[n] = json_is_integer(c);
		s.val[n++] = json_integer_value(c);
	}
	v = json_object_get(doc, "total");
	s.known[n] = json_is_integer(v);
	s.val[n++] = json_integer_value(v);
	assert_int_equal(n, s.nitems);
	for (i = 0; i < s.nitems; i++)
		if (s.known[i] && s.val[i] < k)
			fail_msg("a released count %lld < k %d", s.val[i], k);
	{
		int *was = malloc(s.nitems * sizeof *was);
		assert_non_null(was);
		memcpy(was, s.known, s.nitems * sizeof *was);
		attack(&s);
		for (i = 0; i < s.nitems; i++)
			if (!was[i] && s.known[i])
				fail_msg("suppressed item %zu derived", i);
		free(was);
	}
	free(s.val);
	free(s.known);
	json_decref(doc);
}

static void test_register_stats(void **state)
{
	static const char *const specs[] = {
		"gender",
		"age_band",
		"region",
		"kind",
		"product",
		"first_purchase_year",
		"age_band,gender",
		"region,gender",
		"gender,kind",
		"product,gender",
		"age_band,gender,kind",
		"age_band,gender,region,kind",
	};
	struct fx *f = *state;
	char *json = NULL;
	size_t i;

	for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		assert_int_equal(rk_stats(f->r, specs[i], 0, &json), RK_OK);
		check_doc(json, 5);
		rk_free(json);
		assert_int_equal(rk_stats(f->r, specs[i], 8, &json), RK_OK);
		check_doc(json, 8);
		rk_free(json);
	}
}

static void test_rare_values_hidden(void **state)
{
	struct fx *f = *state;
	char *json = NULL;

	/* one subject bought the special order: its name never leaves */
	assert_int_equal(rk_stats(f->r, "product", 0, &json), RK_OK);
	assert_null(strstr(json, "Virtanen"));
	assert_non_null(strstr(json, "Lukulaite"));
	assert_non_null(strstr(json, "\"(other)\""));
	assert_non_null(strstr(json, "subject-product pairs"));
	rk_free(json);
	/* the released 1-D gender counts: no value under k */
	assert_int_equal(rk_stats(f->r, "gender", 0, &json), RK_OK);
	check_doc(json, 5);
	rk_free(json);
}

struct audit_seen {
	int releases;
	char fields[512];
};

static int audit_one(void *ud, const rk_audit_entry *e)
{
	struct audit_seen *s = ud;

	if (strcmp(e->action, "stats.release") == 0 &&
	    strcmp(e->outcome, "ok") == 0) {
		s->releases++;
		snprintf(s->fields, sizeof s->fields, "%s",
			 e->fields ? e->fields : "");
	}
	return 0;
}

static void test_refusals_and_audit(void **state)
{
	struct fx *f = *state;
	char token[RK_TOKEN_LEN + 1], *json = NULL;
	struct audit_seen seen = {0, ""};
	rk_register *h = NULL;

	assert_int_equal(rk_stats(f->r, "gender", 2, &json), RK_EINVAL);
	assert_int_equal(rk_stats(f->r, "gender", 4, &json), RK_EINVAL);
	assert_int_equal(rk_stats(f->r, "shoe_size", 0, &json), RK_EINVAL);
	assert_int_equal(rk_stats(f->r, "gender,gender", 0, &json), RK_EINVAL);
	assert_int_equal(rk_stats(f->r, "", 0, &json), RK_EINVAL);
	assert_null(json);
	assert_int_equal(rk_stats(f->r, "gender,kind", 6, &json), RK_OK);
	rk_free(json);
	assert_int_equal(rk_audit_log(f->r, NULL, audit_one, &seen), RK_OK);
	assert_int_equal(seen.releases, 1);
	assert_string_equal(seen.fields, "gender,kind,k=6");

	/* customer service does not work for the statistics purpose */
	assert_int_equal(rk_actor_add(f->r, "cs", "customer_service", token),
			 RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs", token), RK_OK);
	assert_int_equal(rk_stats(h, "gender", 0, &json), RK_EREFUSED);
	rk_register_close(h);
	/* marketing does (analytics) */
	assert_int_equal(rk_actor_add(f->r, "mk", "marketing", token), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "mk", token), RK_OK);
	assert_int_equal(rk_stats(h, "gender", 0, &json), RK_OK);
	rk_free(json);
	rk_register_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_dimension),
		cmocka_unit_test(test_one_dimension_all_large),
		cmocka_unit_test(test_two_dimensions),
		cmocka_unit_test(test_small_total),
		cmocka_unit_test(test_zeros),
		cmocka_unit_test(test_random_tables),
		cmocka_unit_test(test_four_dimensions),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test_setup_teardown(test_register_stats, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_rare_values_hidden, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_refusals_and_audit, setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
