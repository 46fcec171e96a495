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

/* The coefficient of item i in equation e: +1 for its total, -1 for each
 * of its cells, 0 otherwise. */
static double coef(const stats_table *t, size_t e, size_t i)
{
	if (i == eq_item(t, e))
		return 1.0;
	return i < t->ncells && eq_has_cell(t, e, i) ? -1.0 : 0.0;
}

/* Marks in det[] (one per item) the suppressed items that the released
 * ones determine. When reveal is not NULL (one per item), it marks the
 * released items that a derivation of the first such item uses: the
 * elimination
 * carries the identity beside the system, so the pivot row of a
 * determined item says which equations combine into it, and a released
 * item whose terms do not cancel in that combination is one the
 * derivation needs. 0, or -1 when memory ran out. */
static int determined_set(const stats_table *t, unsigned char *det,
			  unsigned char *reveal)
{
	size_t neq = n_equations(t), nvar = 0, w, i, e, row, col, r2;
	size_t *var_of = NULL, *item_of = NULL, *pivot_row = NULL;
	double *m = NULL;
	int ret = -1, found = 0;

	memset(det, 0, t->nitems);
	if (reveal != NULL)
		memset(reveal, 0, t->nitems);
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
	w = nvar + neq;
	m = calloc(neq * w, sizeof *m);
	pivot_row = malloc(nvar * sizeof *pivot_row);
	if (m == NULL || pivot_row == NULL)
		goto out;
	/* total - sum of its cells = 0, over the suppressed items only;
	 * then the identity */
	for (e = 0; e < neq; e++) {
		double *rowp = m + e * w;
		for (i = 0; i < nvar; i++)
			rowp[i] = coef(t, e, item_of[i]);
		rowp[nvar + e] = 1.0;
	}
	/* Gauss-Jordan elimination with partial pivoting, pivots in the
	 * suppressed items' columns only. */
	row = 0;
	for (col = 0; col < nvar; col++) {
		size_t best = row;
		double bv = 0.0, pv;
		pivot_row[col] = (size_t)-1;
		if (row >= neq)
			continue;
		for (r2 = row; r2 < neq; r2++)
			if (fabs(m[r2 * w + col]) > bv) {
				bv = fabs(m[r2 * w + col]);
				best = r2;
			}
		if (bv < EPS)
			continue;
		if (best != row)
			for (i = 0; i < w; i++) {
				double tmp = m[row * w + i];
				m[row * w + i] = m[best * w + i];
				m[best * w + i] = tmp;
			}
		pv = m[row * w + col];
		for (i = 0; i < w; i++)
			m[row * w + i] /= pv;
		for (r2 = 0; r2 < neq; r2++) {
			double f = m[r2 * w + col];
			if (r2 == row || fabs(f) < EPS)
				continue;
			for (i = 0; i < w; i++)
				m[r2 * w + i] -= f * m[row * w + i];
		}
		pivot_row[col] = row++;
	}
	/* A pivot whose row has nothing in the free columns is fixed. */
	for (col = 0; col < nvar; col++) {
		int alone = 1;
		const double *pr;
		if (pivot_row[col] == (size_t)-1)
			continue;
		pr = m + pivot_row[col] * w;
		for (i = 0; i < nvar && alone; i++)
			if (pivot_row[i] == (size_t)-1 && fabs(pr[i]) > EPS)
				alone = 0;
		if (!alone)
			continue;
		det[item_of[col]] = 1;
		if (reveal == NULL || found)
			continue;
		found = 1;
		for (i = 0; i < t->nitems; i++) {
			double c = 0.0;
			if (t->sup[i] != STATS_RELEASED)
				continue;
			for (e = 0; e < neq; e++)
				if (fabs(pr[nvar + e]) > EPS)
					c += pr[nvar + e] * coef(t, e, i);
			if (fabs(c) > EPS)
				reveal[i] = 1;
		}
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
	ret = determined_set(t, det, NULL);
	if (ret == 0)
		ret = i < t->nitems && det[i];
	free(det);
	return ret;
}

/* ---- choosing what else to suppress ---------------------------------------
 */

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

/* Whether a goes before b as the item to suppress: a cell before a total
 * (a total hides more), then the smaller count. */
static int better(const stats_table *t, size_t a, size_t b)
{
	if (b == (size_t)-1)
		return 1;
	if ((a < t->ncells) != (b < t->ncells))
		return a < t->ncells;
	return t->count[a] < t->count[b];
}

#define TRIALS 8

/* Of the released items marked in cand, the one to suppress so that item
 * x is no longer determined: the best (above) of those that do it alone,
 * trying the TRIALS best; else the best of all. */
static int choose(stats_table *t, size_t x, unsigned char *cand,
		  unsigned char *det, size_t *out)
{
	size_t i, n, first = (size_t)-1;

	*out = (size_t)-1;
	for (n = 0; n < TRIALS; n++) {
		size_t best = (size_t)-1;
		for (i = 0; i < t->nitems; i++)
			if (cand[i] && better(t, i, best))
				best = i;
		if (best == (size_t)-1)
			break;
		if (first == (size_t)-1)
			first = best;
		cand[best] = 0;
		t->sup[best] = STATS_SECONDARY;
		if (determined_set(t, det, NULL) != 0) {
			t->sup[best] = STATS_RELEASED;
			return -1;
		}
		t->sup[best] = STATS_RELEASED;
		if (!det[x]) {
			*out = best;
			return 0;
		}
	}
	*out = first;
	return 0;
}

int stats_suppress(stats_table *t, int k)
{
	size_t i, neq = n_equations(t), got;
	unsigned char *det = NULL, *eqs = NULL, *cand = NULL;
	int ret = -1;

	for (i = 0; i < t->nitems; i++)
		t->sup[i] = t->subjects[i] < k ? STATS_PRIMARY : STATS_RELEASED;
	det = malloc(t->nitems);
	cand = malloc(t->nitems);
	eqs = malloc(neq);
	if (det == NULL || eqs == NULL || cand == NULL)
		goto out;
	/* Each round suppresses one more item, and once all are suppressed
	 * nothing is determined (every equation has a total of its own,
	 * found in no other), so it ends. */
	for (;;) {
		if (widen(t, k, eqs) > 0)
			continue;
		if (determined_set(t, det, cand) != 0)
			goto out;
		for (i = 0; i < t->nitems && !det[i]; i++)
			;
		if (i == t->nitems)
			break;
		if (choose(t, i, cand, det, &got) != 0)
			goto out;
		/* A derivation that uses no released item cannot be: take
		 * the smallest released item then, to be sure to end. */
		if (got == (size_t)-1)
			for (i = 0; i < t->nitems; i++)
				if (t->sup[i] == STATS_RELEASED &&
				    better(t, i, got))
					got = i;
		if (got == (size_t)-1)
			break;
		t->sup[got] = STATS_SECONDARY;
	}
	ret = 0;
out:
	free(det);
	free(cand);
	free(eqs);
	return ret;
}
