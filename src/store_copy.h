/*
 * store_copy.h: the table walk of store_copy.c, shared by the whole-register
 * copy (store_copy, `migrate --to`) and the PostgreSQL backend's backup and
 * restore (store_pg_admin.c). Store files only: it speaks both backends'
 * SQL on connections whose transactions the caller holds.
 */
#ifndef RK_STORE_COPY_H
#define RK_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <sqlite3.h>

/* One end of a copy: a SQLite or a PostgreSQL connection (the other NULL),
 * inside a transaction the caller began and ends. */
struct copy_side {
	sqlite3 *db;
	PGconn *pg;
};

/* The register's tables, parents before children. */
extern const char *const copy_tables[];
extern const size_t copy_ntables;

/* 0 when every table of from is one the copier knows; -1 with a message
 * in err. */
int copy_known_tables(const struct copy_side *from, char *err, size_t errlen);
/* Empties the named tables of to, children first (names in copy_tables
 * order). */
int copy_clear(const struct copy_side *to, const char *const *names, size_t n,
	       char *err, size_t errlen);
/* Copies every row of each named table (parents first) from from into to,
 * column by column by name, with its id; *rows (may be NULL) gets the
 * number of rows. -1 with a message (never a value) in err. */
int copy_rows(const struct copy_side *from, const struct copy_side *to,
	      const char *const *names, size_t n, int64_t *rows, char *err,
	      size_t errlen);
/* Sets to's id counters (identity sequences or AUTOINCREMENT) to from's. */
int copy_counters(const struct copy_side *from, const struct copy_side *to,
		  char *err, size_t errlen);

#endif
