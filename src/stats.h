/*
 * stats.h: the disclosure control of anonymous statistics (stats.c),
 * apart from the register so that tests can run it on tables of their own.
 *
 * A table of n dimensions has a cell for every combination of values and,
 * with two or more dimensions, a total for every value of every dimension
 * (the sum of the cells with that value), and a grand total (the sum of
 * all cells). Each item has the count it publishes and the number of
 * distinct subjects behind it (the same unless a subject counts in several
 * cells); the k rule is about the subjects.
 */
#ifndef RK_STATS_H
#define RK_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_DIMS_MAX	4
#define STATS_CELLS_MAX 20000

/* Why an item is not released. */
enum { STATS_RELEASED = 0, STATS_PRIMARY = 1, STATS_SECONDARY = 2 };

typedef struct stats_table {
	size_t ndims;
	size_t nvals[STATS_DIMS_MAX];
	size_t ncells; /* the product of nvals */
	/* Items: cells [0, ncells) in row-major order (the last dimension
	 * varies fastest), then the totals of dimension 0's values, of
	 * dimension 1's, ... (none with one dimension), then the grand
	 * total. */
	size_t nitems;
	int64_t *count;
	int64_t *subjects;
	unsigned char *sup;
} stats_table;

/* A zeroed table of the given shape: 0, or -1 when it is too large
 * (STATS_CELLS_MAX) or memory ran out. */
int stats_table_init(stats_table *t, size_t ndims, const size_t *nvals);
void stats_table_free(stats_table *t);
/* The item of the total of value v of dimension d (ndims >= 2). */
size_t stats_total_item(const stats_table *t, size_t d, size_t v);
size_t stats_grand_item(const stats_table *t);
/* Value of dimension d of cell c. */
size_t stats_cell_value(const stats_table *t, size_t c, size_t d);
/* Sets every total's count to the sum of its cells (subjects are the
 * caller's; stats_sum_subjects sets them to the counts). */
void stats_sum(stats_table *t);
void stats_sum_subjects(stats_table *t);

/* Suppresses every item with fewer than k subjects (primary), then further
 * items (secondary) until (1) no suppressed item is determined by the
 * released ones: no sum or difference of the released counts gives it,
 * and (2) in every released total the suppressed items together count 0
 * items or at least k. 0, or -1 when memory ran out. */
int stats_suppress(stats_table *t, int k);

/* 1 when suppressed item i is determined by the released items (the unit
 * vector of i lies in the row space of the totals' equations over the
 * suppressed items), 0 when not, -1 when memory ran out. */
int stats_determined(const stats_table *t, size_t i);

#endif
