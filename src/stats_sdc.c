/*
 * stats_sdc.c: the disclosure control of anonymous statistics (stats.h):
 * primary suppression of small cells and secondary suppression until no
 * suppressed item can be derived from what is released.
 *
 * What an attacker has: the released counts and the equations that tie
 * them (each total is the sum of its cells). With the released counts
 * substituted, the equations become a linear system over the suppressed
 * items; an item is determined exactly when its unit vector lies in the
 * row space of that system, which the reduced row echelon form tells: its
 * column is a pivot and the pivot's row has nothing in the free columns.
 * That covers every derivation by subtraction (row, column and grand
 * totals, and any chain of them) and more. The coefficients are small
 * integers and the systems small (one equation per total), so double
 * precision with a tolerance is exact enough.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define EPS 1e-9

int stats_table_init(stats_table *t, size_t ndims, const size_t *nvals)
{
	size_t i, cells = 1, totals = 0;

	memset(t, 0, sizeof *t);
	if (ndims == 0 || ndims > STATS_DIMS_MAX)
		return -1;
	for (i = 0; i < ndims; i++) {
		if (nvals[i] == 0 || nvals[i] > STATS_CELLS_MAX)
			return -1;
		cells *= nvals[i];
		if (cells > STATS_CELLS_MAX)
			return -1;
		totals += nvals[i];
		t->nvals[i] = nvals[i];
	}
	t->ndims = ndims;
	t->ncells = cells;
	t->nitems = cells + (ndims >= 2 ? totals : 0) + 1;
	t->count = calloc(t->nitems, sizeof *t->count);
	t->subjects = calloc(t->nitems, sizeof *t->subjects);
	t->sup = calloc(t->nitems, 1);
	if (t->count == NULL || t->subjects == NULL || t->sup == NULL) {
		stats_table_free(t);
		return -1;
	}
	return 0;
}

void stats_table_free(stats_table *t)
{
	free(t->count);
	free(t->subjects);
	free(t->sup);
	memset(t, 0, sizeof *t);
}

size_t stats_total_item(const stats_table *t, size_t d, size_t v)
{
	size_t i, at = t->ncells;

	for (i = 0; i < d; i++)
		at += t->nvals[i];
	return at + v;
}

size_t stats_grand_item(const stats_table *t)
{
	return t->nitems - 1;
}

size_t stats_cell_value(const stats_table *t, size_t c, size_t d)
{
	size_t i, stride = 1;

	for (i = t->ndims; i-- > d + 1;)
		stride *= t->nvals[i];
	return (c / stride) % t->nvals[d];
}

/* ---- the equations: one per total -----------------------------------------
 */

/* Equation e (0 .. neq-1): the totals in item order, the grand total
 * last. */
static size_t n_equations(const stats_table *t)
{
	return t->nitems - t->ncells;
}

static size_t eq_item(const stats_table *t, size_t e)
{
	return t->ncells + e;
}

/* Whether cell c is a term of equation e. */
static int eq_has_cell(const stats_table *t, size_t e, size_t c)
{
	size_t item = eq_item(t, e), d, at = t->ncells;

	if (item == stats_grand_item(t))
		return 1;
	for (d = 0; d < t->ndims; d++) {
		if (item < at + t->nvals[d])
			return stats_cell_value(t, c, d) == item - at;
		at += t->nvals[d];
	}
	return 0;
}

void stats_sum(stats_table *t)
{
	size_t e, c, neq = n_equations(t);

	for (e = 0; e < neq; e++) {
		int64_t sum = 0;
		for (c = 0; c < t->ncells; c++)
			if (eq_has_cell(t, e, c))
				sum += t->count[c];
		t->count[eq_item(t, e)] = sum;
	}
}

void stats_sum_subjects(stats_table *t)
{
	memcpy(t->subjects, t->count, t->nitems * sizeof *t->count);
}

/* ---- which suppressed items are determined --------------------------------
 */

/* Marks in det[] (one per item) the suppressed items that the released
 * ones determine. 0, or -1 when memory ran out. */
static int determined_set(const stats_table *t, unsigned char *det)
{
	size_t neq = n_equations(t), nvar = 0, i, e, c, row, col, r2;
	size_t *var_of = NULL, *item_of = NULL, *pivot_row = NULL;
	double *m = NULL;
	int ret = -1;

	memset(det, 0, t->nitems);
	var_of = malloc(t->nitems * sizeof *var_of);
	item_of = malloc(t->nitems * sizeof *item_of);
	if (var_of == NULL || item_of == NULL)
		goto out;
	for (i = 0; i < t->nitems; i++) {
		var_of[i] = (size_t)-1;
		if (t->sup[i] != STATS_RELEASED) {
			var_of[i] = nvar;
			item_of[nvar++] = i;
		}
	}
	if (nvar == 0) {
		ret = 0;
		goto out;
	}
	m = calloc(neq * nvar, sizeof *m);
	pivot_row = malloc(nvar * sizeof *pivot_row);
	if (m == NULL || pivot_row == NULL)
		goto out;
	/* total - sum of its cells = 0, over the suppressed items only */
	for (e = 0; e < neq; e++) {
		double *rowp = m + e * nvar;
		size_t ti = eq_item(t, e);
		if (var_of[ti] != (size_t)-1)
			rowp[var_of[ti]] = 1.0;
		for (c = 0; c < t->ncells; c++)
			if (var_of[c] != (size_t)-1 && eq_has_cell(t, e, c))
				rowp[var_of[c]] = -1.0;
	}
	/* Gauss-Jordan elimination with partial pivoting. */
	row = 0;
	for (col = 0; col < nvar; col++) {
		size_t best = row;
		double bv = 0.0;
		pivot_row[col] = (size_t)-1;
		if (row >= neq)
			continue;
		for (r2 = row; r2 < neq; r2++)
			if (fabs(m[r2 * nvar + col]) > bv) {
				bv = fabs(m[r2 * nvar + col]);
				best = r2;
			}
		if (bv < EPS)
			continue;
		if (best != row)
			for (i = 0; i < nvar; i++) {
				double tmp = m[row * nvar + i];
				m[row * nvar + i] = m[best * nvar + i];
				m[best * nvar + i] = tmp;
			}
		{
			double pv = m[row * nvar + col];
			for (i = 0; i < nvar; i++)
				m[row * nvar + i] /= pv;
		}
		for (r2 = 0; r2 < neq; r2++) {
			double f = m[r2 * nvar + col];
			if (r2 == row || fabs(f) < EPS)
				continue;
			for (i = 0; i < nvar; i++)
				m[r2 * nvar + i] -= f * m[row * nvar + i];
		}
		pivot_row[col] = row++;
	}
	/* A pivot whose row has nothing in the free columns is fixed. */
	for (col = 0; col < nvar; col++) {
		int alone = 1;
		if (pivot_row[col] == (size_t)-1)
			continue;
		for (i = 0; i < nvar && alone; i++)
			if (pivot_row[i] == (size_t)-1 &&
			    fabs(m[pivot_row[col] * nvar + i]) > EPS)
				alone = 0;
		if (alone)
			det[item_of[col]] = 1;
	}
	ret = 0;
out:
	free(var_of);
	free(item_of);
	free(pivot_row);
	free(m);
	return ret;
}

int stats_determined(const stats_table *t, size_t i)
{
	unsigned char *det = malloc(t->nitems);
	int ret;

	if (det == NULL)
		return -1;
	ret = determined_set(t, det);
	if (ret == 0)
		ret = i < t->nitems && det[i];
	free(det);
	return ret;
}

/* ---- choosing what else to suppress ---------------------------------------
 */

/* Whether item i is a term of equation e (a cell of it, or its total). */
static int eq_has_item(const stats_table *t, size_t e, size_t i)
{
	if (i == eq_item(t, e))
		return 1;
	return i < t->ncells && eq_has_cell(t, e, i);
}

/* The released cell with the smallest count in the equations marked in
 * eqs, else a released total among them; (size_t)-1 when none. Small
 * cells are chosen so that as little as possible is hidden. */
static size_t pick(const stats_table *t, const unsigned char *eqs)
{
	size_t e, c, best = (size_t)-1, neq = n_equations(t);

	for (c = 0; c < t->ncells; c++) {
		if (t->sup[c] != STATS_RELEASED)
			continue;
		for (e = 0; e < neq; e++)
			if (eqs[e] && eq_has_cell(t, e, c))
				break;
		if (e < neq &&
		    (best == (size_t)-1 || t->count[c] < t->count[best]))
			best = c;
	}
	if (best != (size_t)-1)
		return best;
	for (e = 0; e < neq; e++)
		if (eqs[e] && t->sup[eq_item(t, e)] == STATS_RELEASED &&
		    (best == (size_t)-1 ||
		     t->count[eq_item(t, e)] < t->count[best]))
			best = eq_item(t, e);
	return best;
}

/* The item to suppress so that item x is no longer determined: one of the
 * equations that hold x, else of the equations that share a suppressed
 * item with those, else the smallest released item. */
static size_t pick_for(const stats_table *t, size_t x, unsigned char *eqs,
		       unsigned char *near)
{
	size_t e, e2, i, neq = n_equations(t), got;

	memset(eqs, 0, neq);
	for (e = 0; e < neq; e++)
		eqs[e] = (unsigned char)eq_has_item(t, e, x);
	got = pick(t, eqs);
	if (got != (size_t)-1)
		return got;
	memcpy(near, eqs, neq);
	for (e = 0; e < neq; e++) {
		if (!eqs[e])
			continue;
		for (i = 0; i < t->nitems; i++) {
			if (t->sup[i] == STATS_RELEASED ||
			    !eq_has_item(t, e, i))
				continue;
			for (e2 = 0; e2 < neq; e2++)
				if (eq_has_item(t, e2, i))
					near[e2] = 1;
		}
	}
	got = pick(t, near);
	if (got != (size_t)-1)
		return got;
	for (i = 0; i < t->nitems; i++)
		if (t->sup[i] == STATS_RELEASED &&
		    (got == (size_t)-1 || t->count[i] < t->count[got]))
			got = i;
	return got;
}

/* Rule (2): in a released total the suppressed items count 0 items or at
 * least k, so that a total does not pin them to a small range (a
 * suppressed part of 0 would tell that every item in it is 0). Returns
 * how many items it suppressed. */
static size_t widen(stats_table *t, int k, unsigned char *eqs)
{
	size_t e, c, neq = n_equations(t), n = 0;

	for (e = 0; e < neq; e++) {
		size_t ti = eq_item(t, e), nsup = 0, got;
		int64_t sum = 0;
		if (t->sup[ti] != STATS_RELEASED)
			continue;
		for (c = 0; c < t->ncells; c++)
			if (t->sup[c] != STATS_RELEASED &&
			    eq_has_cell(t, e, c)) {
				nsup++;
				sum += t->count[c];
			}
		if (nsup == 0 || sum >= k)
			continue;
		memset(eqs, 0, neq);
		eqs[e] = 1;
		got = pick(t, eqs);
		if (got == (size_t)-1)
			got = ti;
		t->sup[got] = STATS_SECONDARY;
		n++;
	}
	return n;
}

int stats_suppress(stats_table *t, int k)
{
	size_t i, neq = n_equations(t), n;
	unsigned char *det = NULL, *eqs = NULL, *near = NULL;
	int ret = -1;

	for (i = 0; i < t->nitems; i++)
		t->sup[i] = t->subjects[i] < k ? STATS_PRIMARY : STATS_RELEASED;
	det = malloc(t->nitems);
	eqs = malloc(neq);
	near = malloc(neq);
	if (det == NULL || eqs == NULL || near == NULL)
		goto out;
	/* Each round suppresses at least one more item, and once all are
	 * suppressed nothing is determined: every equation has a total of
	 * its own, so it ends. */
	for (;;) {
		if (widen(t, k, eqs) > 0)
			continue;
		if (determined_set(t, det) != 0)
			goto out;
		n = 0;
		for (i = 0; i < t->nitems; i++) {
			size_t got;
			if (!det[i])
				continue;
			got = pick_for(t, i, eqs, near);
			if (got == (size_t)-1)
				break;
			t->sup[got] = STATS_SECONDARY;
			n++;
			/* One at a time: the next may be free already. */
			break;
		}
		if (n == 0)
			break;
	}
	ret = 0;
out:
	free(det);
	free(eqs);
	free(near);
	return ret;
}
