/*
 * store_copy.c: copies a register's database into a new one, SQLite or
 * PostgreSQL on either side (store_copy in store.h). A store file: it
 * knows the SQL of both backends. Rows travel as they are stored (sealed
 * values, wrapped keys, MACs, the audit chain), never opened, with their
 * ids: the row MACs and the chains cover them. Identity sequences and
 * SQLite's AUTOINCREMENT counters go along, so that a number is never
 * given twice after the move either.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store.h"
#include "store_copy.h"
#include "store_pg_int.h"

#define NCOL_MAX 32

/* Parents before children. */
const char *const copy_tables[] = {
	"meta",	      "policy_version",
	"subject",    "value",
	"record",     "attachment_chunk",
	"consent",    "cookie",
	"actor",      "audit",
	"erasure",    "held_record",
	"held_chunk", "dsr",
	"breach",     "disclosure",
	"selfsvc",
};
#define NTABLES (sizeof copy_tables / sizeof copy_tables[0])
const size_t copy_ntables = NTABLES;
/* Tables whose ids a sequence (PostgreSQL) or AUTOINCREMENT hands out. */
static const char *const counted[] = {"value", "record", "consent", "dsr"};

enum ctype { C_NULL, C_INT, C_TEXT, C_BLOB };

struct cell {
	enum ctype t;
	int64_t i;
	const void *p;
	size_t n;
};

struct copier {
	struct copy_side from, to;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int errf(struct copier *c,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int pg_ok(struct copier *c, PGresult *r, const char *what)
{
	ExecStatusType es = PQresultStatus(r);
	const char *m, *state;

	if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK)
		return 0;
	/* the primary message only: the detail may quote a value, and so
	 * may the primary message of a data exception (class 22) */
	m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (state != NULL && strncmp(state, "22", 2) == 0)
		m = "invalid data";
	return errf(c, "%s: %.160s", what, m ? m : "PostgreSQL error");
}

static int pg_exec(struct copier *c, PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	int rc = pg_ok(c, r, "copy");

	PQclear(r);
	return rc;
}

static int sq_exec(struct copier *c, sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return errf(c, "copy: %s", sqlite3_errmsg(db));
	return 0;
}

/* ---- reading a table ---- */

/* A source table being read: all its rows (PostgreSQL) or a statement
 * stepped row by row (SQLite). */
struct src {
	PGresult *res;
	sqlite3_stmt *st;
	int ncol, nrows, r;
	char cols[NCOL_MAX][64];
};

/* The source's SELECT. attachment_chunk: PostgreSQL's carries the subject
 * SQLite's does not; a PostgreSQL target gets it (from the chunk's record
 * when the source is SQLite), a SQLite target does not. The columns are
 * named the same on both. */
static void select_sql(const struct copier *c, const char *table, char *sel,
		       size_t cap)
{
	if (strcmp(table, "attachment_chunk") != 0)
		snprintf(sel, cap, "SELECT * FROM %s", table);
	else if (c->to.pg == NULL)
		snprintf(sel, cap,
			 "SELECT record_id, seq, ciphertext"
			 " FROM attachment_chunk");
	else if (c->from.pg != NULL)
		snprintf(sel, cap,
			 "SELECT subject_id, record_id, seq, ciphertext"
			 " FROM attachment_chunk");
	else
		snprintf(sel, cap,
			 "SELECT r.subject_id AS subject_id, k.record_id AS"
			 " record_id, k.seq AS seq, k.ciphertext AS ciphertext"
			 " FROM attachment_chunk k JOIN record r ON r.id ="
			 " k.record_id");
}

static int src_open(struct copier *c, const char *table, struct src *in)
{
	char sel[256];

	memset(in, 0, sizeof *in);
	select_sql(c, table, sel, sizeof sel);
	if (c->from.pg != NULL) {
		in->res = PQexecParams(c->from.pg, sel, 0, NULL, NULL, NULL,
				       NULL, 1);
		if (pg_ok(c, in->res, "copy") != 0)
			return -1;
		in->ncol = PQnfields(in->res);
		in->nrows = PQntuples(in->res);
	} else {
		if (sqlite3_prepare_v2(c->from.db, sel, -1, &in->st, NULL) !=
		    SQLITE_OK)
			return errf(c, "copy: %s", sqlite3_errmsg(c->from.db));
		in->ncol = sqlite3_column_count(in->st);
	}
	if (in->ncol > NCOL_MAX)
		return errf(c, "copy: table %s has too many columns", table);
	for (int i = 0; i < in->ncol; i++) {
		const char *name = in->res ? PQfname(in->res, i)
					   : sqlite3_column_name(in->st, i);

		if (name == NULL || strlen(name) >= sizeof in->cols[i])
			return errf(c, "copy: a column of %s", table);
		memcpy(in->cols[i], name, strlen(name) + 1);
	}
	return 0;
}

static void src_close(struct src *in)
{
	PQclear(in->res);
	sqlite3_finalize(in->st);
	memset(in, 0, sizeof *in);
}

/* A PostgreSQL source's row r into cells. */
static int pg_cells(struct copier *c, const char *table, struct src *in,
		    struct cell *row)
{
	for (int i = 0; i < in->ncol; i++) {
		struct cell *k = &row[i];
		const unsigned char *p =
			(const unsigned char *)PQgetvalue(in->res, in->r, i);
		int n = PQgetlength(in->res, in->r, i);
		Oid t = PQftype(in->res, i);

		memset(k, 0, sizeof *k);
		if (PQgetisnull(in->res, in->r, i)) {
			k->t = C_NULL;
		} else if (t == 20 && n == 8) { /* int8 */
			uint64_t u = 0;

			for (int b = 0; b < 8; b++)
				u = u << 8 | p[b];
			k->t = C_INT;
			k->i = (int64_t)u;
		} else if (t == 17 || t == 25) { /* bytea, text */
			k->t = t == 17 ? C_BLOB : C_TEXT;
			k->p = p;
			k->n = (size_t)n;
		} else {
			return errf(c,
				    "copy: %s.%s has a type the copy does not "
				    "know",
				    table, in->cols[i]);
		}
	}
	return 0;
}

/* A SQLite source's current row into cells. */
static int sq_cells(struct copier *c, const char *table, struct src *in,
		    struct cell *row)
{
	for (int i = 0; i < in->ncol; i++) {
		struct cell *k = &row[i];

		memset(k, 0, sizeof *k);
		switch (sqlite3_column_type(in->st, i)) {
		case SQLITE_INTEGER:
			k->t = C_INT;
			k->i = sqlite3_column_int64(in->st, i);
			break;
		case SQLITE_TEXT:
			k->t = C_TEXT;
			k->p = sqlite3_column_text(in->st, i);
			k->n = (size_t)sqlite3_column_bytes(in->st, i);
			break;
		case SQLITE_BLOB:
			k->t = C_BLOB;
			k->p = sqlite3_column_blob(in->st, i);
			k->n = (size_t)sqlite3_column_bytes(in->st, i);
			break;
		case SQLITE_NULL:
			k->t = C_NULL;
			break;
		default:
			return errf(c, "copy: %s.%s holds a float", table,
				    in->cols[i]);
		}
	}
	return 0;
}

/* The next row into cells: 1, 0 at the end, -1 on an error. */
static int src_next(struct copier *c, const char *table, struct src *in,
		    struct cell *row)
{
	int s;

	if (in->res != NULL) {
		if (in->r >= in->nrows)
			return 0;
		if (pg_cells(c, table, in, row) != 0)
			return -1;
		in->r++;
		return 1;
	}
	s = sqlite3_step(in->st);
	if (s == SQLITE_DONE)
		return 0;
	if (s != SQLITE_ROW)
		return errf(c, "copy: %s", sqlite3_errmsg(c->from.db));
	return sq_cells(c, table, in, row) != 0 ? -1 : 1;
}

/* ---- writing into SQLite: an INSERT a row ---- */

/* Appends a then b to sql at *off; -1 when it does not fit. */
static int append(char *sql, size_t cap, size_t *off, const char *a,
		  const char *b)
{
	int n = snprintf(sql + *off, cap - *off, "%s%s", a, b);

	if (n < 0 || (size_t)n >= cap - *off)
		return -1;
	*off += (size_t)n;
	return 0;
}

/* "HEAD table (col, ...)" then, with marks, " VALUES (?, ...)", then
 * tail: the INSERT of a SQLite target, the COPY of a PostgreSQL one. */
static int table_sql(const char *head, const char *table, char (*cols)[64],
		     int ncol, int marks, const char *tail, char *sql,
		     size_t cap)
{
	size_t off = 0;

	if (append(sql, cap, &off, head, table) != 0 ||
	    append(sql, cap, &off, " (", "") != 0)
		return -1;
	for (int i = 0; i < ncol; i++)
		if (append(sql, cap, &off, i ? ", " : "", cols[i]) != 0)
			return -1;
	if (append(sql, cap, &off, ")", marks ? " VALUES (" : "") != 0)
		return -1;
	for (int i = 0; marks && i < ncol; i++)
		if (append(sql, cap, &off, i ? ", " : "", "?") != 0)
			return -1;
	return append(sql, cap, &off, marks ? ")" : "", tail);
}

static int put_row(struct copier *c, sqlite3_stmt *ins, const struct cell *row,
		   int ncol)
{
	for (int i = 0; i < ncol; i++) {
		int rc = SQLITE_OK;

		if (row[i].t == C_INT)
			rc = sqlite3_bind_int64(ins, i + 1, row[i].i);
		else if (row[i].t == C_TEXT)
			rc = sqlite3_bind_text(ins, i + 1, row[i].p,
					       (int)row[i].n, SQLITE_STATIC);
		else if (row[i].t == C_BLOB)
			rc = row[i].n == 0
				     ? sqlite3_bind_zeroblob(ins, i + 1, 0)
				     : sqlite3_bind_blob(ins, i + 1, row[i].p,
							 (int)row[i].n,
							 SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(ins, i + 1);
		if (rc != SQLITE_OK)
			return errf(c, "copy: %s", sqlite3_errmsg(c->to.db));
	}
	if (sqlite3_step(ins) != SQLITE_DONE) {
		errf(c, "copy: %s", sqlite3_errmsg(c->to.db));
		sqlite3_reset(ins);
		return -1;
	}
	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	return 0;
}

static int copy_into_sqlite(struct copier *c, const char *table, struct src *in,
			    int64_t *rows)
{
	char sql[2048];
	struct cell row[NCOL_MAX];
	sqlite3_stmt *ins = NULL;
	int rc = -1, got;

	if (table_sql("INSERT INTO ", table, in->cols, in->ncol, 1, "", sql,
		      sizeof sql) != 0)
		return errf(c, "copy: table %s: statement too long", table);
	if (sqlite3_prepare_v2(c->to.db, sql, -1, &ins, NULL) != SQLITE_OK) {
		errf(c, "copy: table %s: %s", table, sqlite3_errmsg(c->to.db));
		goto out;
	}
	while ((got = src_next(c, table, in, row)) == 1) {
		if (put_row(c, ins, row, in->ncol) != 0)
			goto out;
		(*rows)++;
	}
	rc = got;
out:
	sqlite3_finalize(ins);
	return rc;
}

/* ---- writing into PostgreSQL: one COPY a table ---- */

enum { OID_BYTEA = 17, OID_INT8 = 20, OID_TEXT = 25 };

/* The target's type of each source column (its oid); a column the target
 * lacks is an error that names it. */
static int target_types(struct copier *c, const char *table,
			const struct src *in, Oid *types)
{
	const char *v[1] = {table};
	PGresult *r = PQexecParams(c->to.pg,
				   "SELECT attname, atttypid FROM pg_attribute"
				   " WHERE attrelid = to_regclass($1) AND"
				   " attnum > 0 AND NOT attisdropped",
				   1, NULL, v, NULL, NULL, 0);
	int rc = pg_ok(c, r, "copy");

	for (int i = 0; rc == 0 && i < in->ncol; i++) {
		int k = 0, n = PQntuples(r);

		while (k < n && strcmp(PQgetvalue(r, k, 0), in->cols[i]) != 0)
			k++;
		if (k == n)
			rc = errf(c, "copy: the target's %s has no column %s",
				  table, in->cols[i]);
		else
			types[i] = (Oid)strtoul(PQgetvalue(r, k, 1), NULL, 10);
	}
	PQclear(r);
	return rc;
}

/* One cell in the binary form of the target column's type. A number
 * becomes the text of its digits where a text (or bytea) is wanted, as it
 * did when bound as a text parameter. */
static int stream_cell(struct copier *c, struct pgx_stream *st,
		       const struct cell *k, Oid type, const char *table,
		       const char *col)
{
	char num[24];
	int rc;

	if (type != OID_INT8 && type != OID_TEXT && type != OID_BYTEA)
		return errf(c, "copy: %s.%s has a type the copy does not know",
			    table, col);
	if (type == OID_INT8 && k->t != C_INT && k->t != C_NULL)
		return errf(c, "copy: %s.%s holds no number", table, col);
	if (k->t == C_NULL) {
		rc = pgx_stream_field(st, NULL, 0);
	} else if (type == OID_INT8) {
		rc = pgx_stream_i64(st, k->i);
	} else if (k->t == C_INT) {
		int n = snprintf(num, sizeof num, "%lld", (long long)k->i);

		rc = pgx_stream_field(st, num, (size_t)n);
	} else {
		rc = pgx_stream_field(st, k->p, k->n);
	}
	if (rc != 0)
		return errf(c, "copy: table %s: the rows could not be sent",
			    table);
	return 0;
}

static int copy_into_pg(struct copier *c, const char *table, struct src *in,
			int64_t *rows)
{
	char sql[2048];
	struct cell row[NCOL_MAX];
	Oid types[NCOL_MAX];
	struct pgx_stream *st = NULL;
	PGresult *res;
	int rc = -1, got;

	if (target_types(c, table, in, types) != 0)
		return -1;
	/* the names are the target's own: target_types found each */
	if (table_sql("COPY ", table, in->cols, in->ncol, 0,
		      " FROM STDIN (FORMAT binary)", sql, sizeof sql) != 0)
		return errf(c, "copy: table %s: statement too long", table);
	res = PQexec(c->to.pg, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		if (pg_ok(c, res, "copy") == 0)
			errf(c, "copy: table %s: no COPY", table);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	st = pgx_stream_new(c->to.pg);
	if (st == NULL) {
		errf(c, "copy: out of memory");
		(void)PQputCopyEnd(c->to.pg, "out of memory");
		while ((res = PQgetResult(c->to.pg)) != NULL)
			PQclear(res);
		return -1;
	}
	while ((got = src_next(c, table, in, row)) == 1) {
		if (pgx_stream_row(st, in->ncol) != 0) {
			errf(c, "copy: table %s: the rows could not be sent",
			     table);
			goto out;
		}
		for (int i = 0; i < in->ncol; i++)
			if (stream_cell(c, st, &row[i], types[i], table,
					in->cols[i]) != 0)
				goto out;
		(*rows)++;
	}
	if (got != 0)
		goto out;
	res = pgx_stream_end(st, 0);
	st = NULL;
	if (res == NULL)
		errf(c, "copy: table %s: the server did not answer", table);
	else
		rc = pg_ok(c, res, "copy");
	PQclear(res);
out:
	if (st != NULL) /* the error is set: the server drops the rows */
		PQclear(pgx_stream_end(st, 1));
	return rc;
}

static int copy_table(struct copier *c, const char *table, int64_t *rows)
{
	struct src in;
	int rc;

	*rows = 0;
	if (src_open(c, table, &in) != 0)
		rc = -1;
	else if (c->to.pg != NULL)
		rc = copy_into_pg(c, table, &in, rows);
	else
		rc = copy_into_sqlite(c, table, &in, rows);
	src_close(&in);
	return rc;
}

/* ---- counters ---- */

/* The highest number a table's counter gave out (0: none). */
static int counter_of(struct copier *c, const char *table, int64_t *v)
{
	char sql[256];

	*v = 0;
	if (c->from.pg != NULL) {
		PGresult *r;

		snprintf(sql, sizeof sql,
			 "SELECT CASE WHEN is_called THEN last_value ELSE 0"
			 " END FROM %s_id_seq",
			 table);
		r = PQexec(c->from.pg, sql);
		if (pg_ok(c, r, "copy") != 0) {
			PQclear(r);
			return -1;
		}
		*v = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
		PQclear(r);
	} else {
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof sql,
			 "SELECT max(coalesce((SELECT seq FROM sqlite_sequence"
			 " WHERE name = '%s'), 0), coalesce((SELECT max(id)"
			 " FROM %s), 0))",
			 table, table);
		if (sqlite3_prepare_v2(c->from.db, sql, -1, &st, NULL) !=
			    SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW) {
			/* no sqlite_sequence yet: the table's max id */
			sqlite3_finalize(st);
			st = NULL;
			snprintf(sql, sizeof sql,
				 "SELECT coalesce(max(id), 0) FROM %s", table);
			if (sqlite3_prepare_v2(c->from.db, sql, -1, &st,
					       NULL) != SQLITE_OK ||
			    sqlite3_step(st) != SQLITE_ROW) {
				sqlite3_finalize(st);
				return errf(c, "copy: %s",
					    sqlite3_errmsg(c->from.db));
			}
		}
		*v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return 0;
}

static int set_counter(struct copier *c, const char *table, int64_t v)
{
	char sql[256];

	if (v <= 0)
		return 0;
	if (c->to.pg != NULL) {
		snprintf(sql, sizeof sql,
			 "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
			 " %lld, true)",
			 table, (long long)v);
		return pg_exec(c, c->to.pg, sql);
	}
	/* Only AUTOINCREMENT tables have a row there; the others take
	 * max(id) + 1, which the copied rows already give. */
	if (strcmp(table, "record") != 0 && strcmp(table, "dsr") != 0)
		return 0;
	snprintf(sql, sizeof sql,
		 "DELETE FROM sqlite_sequence WHERE name = '%s';"
		 " INSERT INTO sqlite_sequence (name, seq) VALUES ('%s', %lld)",
		 table, table, (long long)v);
	return sq_exec(c, c->to.db, sql);
}

/* ---- checks ---- */

/* Every table of the source is one the copy knows. */
static int known_tables(struct copier *c)
{
	const char *sql =
		c->from.pg
			? "SELECT tablename FROM pg_catalog.pg_tables WHERE"
			  " schemaname = current_schema() AND tablename <>"
			  " 'schema_version'"
			: "SELECT name FROM sqlite_master WHERE type ="
			  " 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
			  " AND name <> 'schema_migrations'";
	PGresult *r = NULL;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (c->from.pg) {
		r = PQexec(c->from.pg, sql);
		if (pg_ok(c, r, "copy") != 0) {
			PQclear(r);
			return -1;
		}
	} else if (sqlite3_prepare_v2(c->from.db, sql, -1, &st, NULL) !=
		   SQLITE_OK) {
		return errf(c, "copy: %s", sqlite3_errmsg(c->from.db));
	}
	for (int i = 0; rc == 0; i++) {
		const char *name;
		size_t k;

		if (r) {
			if (i >= PQntuples(r))
				break;
			name = PQgetvalue(r, i, 0);
		} else {
			if (sqlite3_step(st) != SQLITE_ROW)
				break;
			name = (const char *)sqlite3_column_text(st, 0);
		}
		for (k = 0; name && k < NTABLES; k++)
			if (strcmp(name, copy_tables[k]) == 0)
				break;
		if (name == NULL || k == NTABLES)
			rc = errf(c,
				  "copy: the source has a table (%.64s) this "
				  "program cannot copy",
				  name ? name : "?");
	}
	PQclear(r);
	sqlite3_finalize(st);
	return rc;
}

static int open_side(struct copier *c, const char *db, int target,
		     struct copy_side *sd)
{
	char err[256] = "";

	if (target) {
		/* the target's schema, at this program's version; a
		 * database that holds a register is refused there */
		store *s = store_open(db, 1, err, sizeof err);

		if (s == NULL)
			return errf(c, "%s", err);
		s->vt->close(s);
	}
	if (store_is_url(db)) {
		sd->pg = PQconnectdb(db);
		if (PQstatus(sd->pg) != CONNECTION_OK)
			return errf(c, "cannot connect to PostgreSQL");
		return pg_exec(c, sd->pg,
			       target ? "BEGIN"
				      : "BEGIN ISOLATION LEVEL REPEATABLE READ"
					" READ ONLY");
	}
	if (sqlite3_open_v2(db, &sd->db,
			    target ? SQLITE_OPEN_READWRITE
				   : SQLITE_OPEN_READONLY,
			    NULL) != SQLITE_OK)
		return errf(c, "cannot open %s", db);
	sqlite3_busy_timeout(sd->db, 10000);
	return sq_exec(c, sd->db, target ? "BEGIN IMMEDIATE" : "BEGIN");
}

/* ---- the walk, on connections the caller holds ---- */

static void copier_init(struct copier *c, const struct copy_side *from,
			const struct copy_side *to, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (from)
		c->from = *from;
	if (to)
		c->to = *to;
	c->err = err;
	c->errlen = errlen;
}

int copy_known_tables(const struct copy_side *from, char *err, size_t errlen)
{
	struct copier c;

	copier_init(&c, from, NULL, err, errlen);
	return known_tables(&c);
}

int copy_clear(const struct copy_side *to, const char *const *names, size_t n,
	       char *err, size_t errlen)
{
	struct copier c;

	copier_init(&c, NULL, to, err, errlen);
	for (size_t i = n; i-- > 0;) {
		char del[64];
		int k = snprintf(del, sizeof del, "DELETE FROM %s", names[i]);

		if (k < 0 || (size_t)k >= sizeof del)
			return errf(&c, "copy: a table name is too long");
		if (c.to.pg ? pg_exec(&c, c.to.pg, del)
			    : sq_exec(&c, c.to.db, del))
			return -1;
	}
	return 0;
}

int copy_rows(const struct copy_side *from, const struct copy_side *to,
	      const char *const *names, size_t n, int64_t *rows, char *err,
	      size_t errlen)
{
	struct copier c;
	int64_t k = 0, total = 0;

	copier_init(&c, from, to, err, errlen);
	for (size_t i = 0; i < n; i++) {
		if (copy_table(&c, names[i], &k) != 0)
			return -1;
		total += k;
	}
	if (rows)
		*rows = total;
	return 0;
}

int copy_counters(const struct copy_side *from, const struct copy_side *to,
		  char *err, size_t errlen)
{
	struct copier c;
	int64_t v = 0;

	copier_init(&c, from, to, err, errlen);
	for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++)
		if (counter_of(&c, counted[i], &v) != 0 ||
		    set_counter(&c, counted[i], v) != 0)
			return -1;
	return 0;
}

/* ---- the whole copy ---- */

int store_copy(const char *from, const char *to, int64_t *rows, char *err,
	       size_t errlen)
{
	struct copier c;
	int rc = -1;

	copier_init(&c, NULL, NULL, err, errlen);
	if (open_side(&c, from, 0, &c.from) != 0 ||
	    open_side(&c, to, 1, &c.to) != 0 ||
	    copy_known_tables(&c.from, err, errlen) != 0)
		goto out;
	/* What the target's migrations wrote (a marker in meta) makes way
	 * for the source's rows. */
	if (copy_clear(&c.to, copy_tables, NTABLES, err, errlen) != 0 ||
	    copy_rows(&c.from, &c.to, copy_tables, NTABLES, rows, err,
		      errlen) != 0 ||
	    copy_counters(&c.from, &c.to, err, errlen) != 0)
		goto out;
	if (c.to.pg ? pg_exec(&c, c.to.pg, "COMMIT")
		    : sq_exec(&c, c.to.db, "COMMIT"))
		goto out;
	rc = 0;
out:
	/* an unfinished target transaction is rolled back as it closes */
	PQfinish(c.from.pg);
	PQfinish(c.to.pg);
	sqlite3_close(c.from.db);
	sqlite3_close(c.to.db);
	return rc;
}
