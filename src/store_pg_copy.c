/*
 * store_pg_copy.c: the COPY load path of a bulk transaction
 * (rk_register_begin .. rk_register_commit) on PostgreSQL.
 *
 * A bulk load through INSERT pays a round trip to the server per row
 * (about eight a subject). While the store is in bulk mode, the rows of
 * subject, value and audit are instead buffered here in COPY's binary
 * format and sent with COPY ... FROM STDIN: before any other statement
 * runs on the connection (so that every read inside the transaction sees
 * them: store_pg.c's pgx_query has them sent first), before a
 * savepoint and at commit. The rows are the very bytes the INSERTs would
 * have bound (ciphertexts, hashes, MACs computed above the store), so the
 * audit chain and the row MACs are what they would have been.
 *
 * A value row needs its id at once (store_value.rowid): ids come in blocks
 * from the table's identity sequence, as an INSERT would take them.
 * Counters (counter_next) are kept here while the bulk transaction holds
 * the writer lock and written back at each flush.
 *
 * Nothing here is plaintext: only what the INSERTs would carry.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store.h"
#include "store_pg_int.h"

#define ERR_MAX 128

/* What is buffered is sent once it reaches this many bytes, so that a
 * load of millions of subjects does not hold them all in memory. */
#define FLUSH_BYTES (8u << 20)
/* Value ids taken from the sequence at a time: first small (a bulk of a
 * few rows wastes few numbers), then larger. */
#define IDS_FIRST 64
#define IDS_MAX	  65536
#define NCOUNTERS 8
#define KEY_MAX	  128

enum { T_SUBJECT, T_VALUE, T_AUDIT, T_N };

/* In the order they are sent: a value's subject goes before it. */
static const char *const copy_sql[T_N] = {
	"COPY subject (id, kind, pseudonym, wrapped_key, created_at,"
	" rel_start, rel_end, vdigest, chead, rhead, mac, audit_seq)"
	" FROM STDIN (FORMAT binary)",
	"COPY value (id, subject_id, field, ciphertext, purposes,"
	" legal_basis, source, collected_at, confirmed_at, expires_at, bidx)"
	" FROM STDIN (FORMAT binary)",
	"COPY audit (seq, at_us, actor, action, subject, fields, purpose,"
	" outcome, prev, hash) FROM STDIN (FORMAT binary)",
};

struct buf {
	unsigned char *p;
	size_t n, cap;
	int64_t rows;
};

struct counter {
	char key[KEY_MAX];
	int64_t val;
	int dirty;
};

struct pgx_copy {
	int on;	      /* bulk mode: inserts are buffered */
	int flushing; /* statements of the flush itself run through */
	int oom;      /* a row could not be buffered: the bulk is spoiled */
	struct buf t[T_N];
	int64_t id_next, id_end; /* value ids in hand: [next, end) */
	int64_t id_block;
	struct counter ctr[NCOUNTERS];
	int nctr;
	int64_t added; /* rows buffered since the reset */
	char err[ERR_MAX];
};

/* Sets the error ("bulk copy: problem", no values); returns STORE_ERR. */
static int fail(struct pgx_copy *c, const char *problem)
{
	snprintf(c->err, sizeof c->err, "bulk copy: %s", problem);
	return STORE_ERR;
}

const char *pgx_copy_err(const struct pgx_copy *c)
{
	return c != NULL ? c->err : "bulk copy: out of memory";
}

int64_t pgx_copy_rows(const struct pgx_copy *c)
{
	return c != NULL ? c->added : 0;
}

struct pgx_copy *pgx_copy_new(void)
{
	return calloc(1, sizeof(struct pgx_copy));
}

void pgx_copy_free(struct pgx_copy *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < T_N; i++)
		free(c->t[i].p);
	free(c);
}

/* Forgets every buffered row and cached counter (a rollback, a new
 * transaction) and leaves bulk mode. */
void pgx_copy_reset(struct pgx_copy *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < T_N; i++) {
		c->t[i].n = 0;
		c->t[i].rows = 0;
	}
	c->on = c->flushing = c->oom = 0;
	c->id_next = c->id_end = 0;
	c->id_block = 0;
	c->nctr = 0;
	c->added = 0;
}

int pgx_copy_active(const struct pgx_copy *c)
{
	return c != NULL && c->on && !c->flushing;
}

int pgx_copy_pending(const struct pgx_copy *c)
{
	if (!pgx_copy_active(c))
		return 0;
	if (c->oom)
		return 1;
	for (int i = 0; i < T_N; i++)
		if (c->t[i].rows > 0)
			return 1;
	for (int i = 0; i < c->nctr; i++)
		if (c->ctr[i].dirty)
			return 1;
	return 0;
}

void pgx_copy_start(struct pgx_copy *c)
{
	if (c != NULL)
		c->on = 1;
}

/* ---- the binary format ---- */

static int grow(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 65536;
	unsigned char *p;

	if (b->n + more <= b->cap)
		return 0;
	while (cap < b->n + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void put_be(struct buf *b, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		b->p[b->n++] = (unsigned char)(v >> (8 * i));
}

/* A field: its length (-1 for NULL) and its bytes. The caller grew the
 * buffer for it. */
static void put_field(struct buf *b, const void *v, size_t n)
{
	if (v == NULL) {
		put_be(b, 0xffffffffu, 4);
		return;
	}
	put_be(b, (uint64_t)n, 4);
	if (n > 0)
		memcpy(b->p + b->n, v, n);
	b->n += n;
}

static size_t text_len(const char *v)
{
	return v ? strlen(v) : 0;
}

/* A row being built: its fields, then add_row. */
struct row {
	int n;
	const void *v[12];
	size_t len[12];
	unsigned char num[12][8];
};

static void r_text(struct row *r, const char *v)
{
	r->v[r->n] = v;
	r->len[r->n++] = text_len(v);
}

static void r_opt(struct row *r, const char *v)
{
	r_text(r, v && *v ? v : NULL);
}

static void r_blob(struct row *r, const void *v, size_t n)
{
	r->v[r->n] = v == NULL ? NULL : n == 0 ? "" : v;
	r->len[r->n++] = n;
}

static void r_i64(struct row *r, int64_t v)
{
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--, u >>= 8)
		r->num[r->n][i] = (unsigned char)(u & 0xff);
	r->v[r->n] = r->num[r->n];
	r->len[r->n++] = 8;
}

static const unsigned char copy_header[19] = {
	'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
	0,   0,	  0,   0,   0,	 0,   0,    0,	  0};

static int add_row(struct pgx_copy *c, PGconn *conn, int table,
		   const struct row *r)
{
	struct buf *b = &c->t[table];
	size_t need = 2 + sizeof copy_header;

	for (int i = 0; i < r->n; i++) {
		if (r->len[i] > (size_t)INT32_MAX)
			return fail(c, "a field is too large");
		need += 4 + r->len[i];
	}
	if (grow(b, need) != 0) {
		/* The row is lost: the transaction must not commit. */
		c->oom = 1;
		return fail(c, "out of memory");
	}
	if (b->n == 0) {
		memcpy(b->p, copy_header, sizeof copy_header);
		b->n = sizeof copy_header;
	}
	put_be(b, (uint64_t)r->n, 2);
	for (int i = 0; i < r->n; i++)
		put_field(b, r->v[i], r->len[i]);
	b->rows++;
	c->added++;
	if (b->n >= FLUSH_BYTES)
		return pgx_copy_flush(c, conn);
	return 0;
}

/* ---- sending ---- */

static int copy_table(struct pgx_copy *c, PGconn *conn, int table)
{
	struct buf *b = &c->t[table];
	PGresult *res;
	int ok = 0;
	const unsigned char trailer[2] = {0xff, 0xff};

	if (b->rows == 0)
		return 0;
	res = PQexec(conn, copy_sql[table]);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		PQclear(res);
		goto out;
	}
	PQclear(res);
	if (grow(b, sizeof trailer) != 0) {
		(void)PQputCopyEnd(conn, "out of memory");
	} else {
		memcpy(b->p + b->n, trailer, sizeof trailer);
		b->n += sizeof trailer;
		/* libpq takes at most INT_MAX a call. */
		for (size_t off = 0; off < b->n;) {
			size_t k = b->n - off;

			if (k > (1u << 30))
				k = 1u << 30;
			if (PQputCopyData(conn, (const char *)b->p + off,
					  (int)k) != 1)
				break;
			off += k;
		}
		(void)PQputCopyEnd(conn, NULL);
	}
	ok = 1;
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			ok = 0;
		PQclear(res);
	}
out:
	b->n = 0;
	b->rows = 0;
	if (!ok) {
		/* The server's message could quote a value (a key that
		 * was there already): it is not passed on. */
		return fail(c, "the server refused the buffered rows");
	}
	return 0;
}

/* Bound parameters (text results): no value is ever in the SQL. */
static int run(PGconn *conn, const char *sql, int n, const char *const *v,
	       const int *len, const int *fmt, PGresult **out)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, v, len, fmt, 0);
	ExecStatusType es = PQresultStatus(res);

	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		PQclear(res);
		return STORE_ERR;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

static int write_counters(struct pgx_copy *c, PGconn *conn)
{
	for (int i = 0; i < c->nctr; i++) {
		unsigned char b[8];
		uint64_t u = (uint64_t)c->ctr[i].val;
		const char *v[2] = {c->ctr[i].key, (const char *)b};
		const int len[2] = {0, (int)sizeof b}, fmt[2] = {0, 1};

		if (!c->ctr[i].dirty)
			continue;
		for (size_t k = sizeof b; k-- > 0; u >>= 8)
			b[k] = (unsigned char)(u & 0xff);
		if (run(conn,
			"INSERT INTO meta (key, value) VALUES ($1, $2)"
			" ON CONFLICT (key) DO UPDATE SET value = "
			"EXCLUDED.value",
			2, v, len, fmt, NULL) != 0)
			return fail(c, "cannot keep a counter");
		c->ctr[i].dirty = 0;
	}
	return 0;
}

int pgx_copy_flush(struct pgx_copy *c, PGconn *conn)
{
	int rc = 0;

	if (!pgx_copy_pending(c))
		return 0;
	if (c->oom) {
		pgx_copy_reset(c);
		return fail(c, "rows of the bulk transaction were lost "
			       "(out of memory): roll it back");
	}
	c->flushing = 1;
	for (int t = 0; t < T_N && rc == 0; t++)
		rc = copy_table(c, conn, t);
	if (rc == 0)
		rc = write_counters(c, conn);
	c->flushing = 0;
	if (rc != 0) {
		/* The transaction failed on the server: nothing buffered
		 * can follow it. */
		for (int t = 0; t < T_N; t++)
			c->t[t].n = (size_t)(c->t[t].rows = 0);
		c->nctr = 0;
	}
	return rc;
}

/* ---- the rows ---- */

int pgx_copy_subject(struct pgx_copy *c, PGconn *conn, const store_subject *sub)
{
	struct row r;
	const unsigned char *mac[4] = {sub->vdigest, sub->chead, sub->rhead,
				       sub->mac};

	r.n = 0;
	r_text(&r, sub->id);
	r_text(&r, sub->kind);
	r_text(&r, sub->pseudonym);
	r_blob(&r, sub->wrapped_key, sizeof sub->wrapped_key);
	r_i64(&r, sub->created_at);
	r_opt(&r, sub->rel_start);
	r_opt(&r, sub->rel_end);
	for (int k = 0; k < 4; k++)
		r_blob(&r, sub->has_mac ? mac[k] : NULL, SEC_HASH_BYTES);
	r_i64(&r, sub->audit_seq);
	return add_row(c, conn, T_SUBJECT, &r);
}

/* The next value id: the identity sequence's, a block at a time. One
 * nextval per row would cost a round trip, and a nextval of thousands of
 * numbers in one statement is slow (each logs the sequence): the block is
 * taken by moving the sequence past it. No other writer can take numbers
 * between the two calls: value rows are written only under the writer
 * lock, which the bulk transaction holds. */
static int value_id(struct pgx_copy *c, PGconn *conn, int64_t *id)
{
	PGresult *res = NULL;
	char n[24];
	const char *v[1] = {n};
	int64_t last = 0;

	if (c->id_next < c->id_end) {
		*id = c->id_next++;
		return 0;
	}
	c->id_block = c->id_block == 0		  ? IDS_FIRST
		      : c->id_block * 2 > IDS_MAX ? IDS_MAX
						  : c->id_block * 2;
	snprintf(n, sizeof n, "%lld", (long long)c->id_block);
	if (run(conn,
		"SELECT setval(pg_get_serial_sequence('value', 'id'),"
		" nextval(pg_get_serial_sequence('value', 'id'))"
		" + $1::bigint - 1)",
		1, v, NULL, NULL, &res) != 0)
		return fail(c, "cannot take value ids");
	if (PQntuples(res) == 1)
		last = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (last < c->id_block)
		return fail(c, "no value ids from the sequence");
	c->id_next = last - c->id_block + 1;
	c->id_end = last + 1;
	*id = c->id_next++;
	return 0;
}

int pgx_copy_value(struct pgx_copy *c, PGconn *conn, store_value *v)
{
	struct row r;
	int64_t id = 0;

	if (value_id(c, conn, &id) != 0)
		return STORE_ERR;
	r.n = 0;
	r_i64(&r, id);
	r_text(&r, v->subject_id);
	r_text(&r, v->field);
	r_blob(&r, v->ct ? (const void *)v->ct : "", v->ctlen);
	r_text(&r, v->purposes);
	r_text(&r, v->legal_basis);
	r_text(&r, v->source);
	r_i64(&r, v->collected_at);
	r_i64(&r, v->confirmed_at);
	r_opt(&r, v->expires);
	r_blob(&r, v->bidx, SEC_BIDX_BYTES);
	if (add_row(c, conn, T_VALUE, &r) != 0)
		return STORE_ERR;
	v->rowid = id;
	return 0;
}

int pgx_copy_audit(struct pgx_copy *c, PGconn *conn, const store_audit *a)
{
	struct row r;

	r.n = 0;
	r_i64(&r, a->seq);
	r_i64(&r, a->at_us);
	r_text(&r, a->actor);
	r_text(&r, a->action);
	r_text(&r, a->subject);
	r_text(&r, a->fields);
	r_text(&r, a->purpose);
	r_text(&r, a->outcome);
	r_blob(&r, a->prev, sizeof a->prev);
	r_blob(&r, a->hash, sizeof a->hash);
	return add_row(c, conn, T_AUDIT, &r);
}

/* ---- counters ---- */

int pgx_copy_counter_next(struct pgx_copy *c, const char *key, int64_t *out)
{

	if (!pgx_copy_active(c))
		return STORE_NOTFOUND;
	for (int i = 0; i < c->nctr; i++) {
		if (strcmp(c->ctr[i].key, key) != 0)
			continue;
		if (c->ctr[i].val == INT64_MAX)
			return fail(c, "a counter overflowed");
		*out = ++c->ctr[i].val;
		c->ctr[i].dirty = 1;
		return 0;
	}
	return STORE_NOTFOUND;
}

void pgx_copy_counter_seen(struct pgx_copy *c, const char *key, int64_t val)
{

	if (!pgx_copy_active(c) || c->nctr >= NCOUNTERS ||
	    strlen(key) >= KEY_MAX)
		return;
	snprintf(c->ctr[c->nctr].key, KEY_MAX, "%s", key);
	c->ctr[c->nctr].val = val;
	c->ctr[c->nctr].dirty = 0;
	c->nctr++;
}

void pgx_copy_counters_forget(struct pgx_copy *c)
{

	if (c != NULL)
		c->nctr = 0;
}

/* ---- a table's rows streamed by COPY (store_copy.c) ----
 * A restore or a migration into PostgreSQL sends each table's rows with
 * one COPY in the binary format above instead of an INSERT (a round trip)
 * per row. The caller started the COPY; rows go to libpq as the buffer
 * fills, so a table of any size needs STREAM_BYTES of memory here. */

#define STREAM_BYTES (1u << 20)

struct pgx_stream {
	PGconn *conn;
	struct buf b;
	int failed; /* libpq refused data or memory ran out */
};

/* Hands what is buffered to libpq. */
static int stream_send(struct pgx_stream *st)
{
	if (st->b.n > 0 &&
	    PQputCopyData(st->conn, (const char *)st->b.p, (int)st->b.n) != 1)
		st->failed = 1;
	st->b.n = 0;
	return st->failed ? -1 : 0;
}

struct pgx_stream *pgx_stream_new(PGconn *conn)
{
	struct pgx_stream *st = calloc(1, sizeof *st);

	if (st == NULL)
		return NULL;
	st->conn = conn;
	if (grow(&st->b, STREAM_BYTES + sizeof copy_header) != 0) {
		free(st);
		return NULL;
	}
	memcpy(st->b.p, copy_header, sizeof copy_header);
	st->b.n = sizeof copy_header;
	return st;
}

int pgx_stream_row(struct pgx_stream *st, int nfields)
{
	if (st->failed)
		return -1;
	if (st->b.n >= STREAM_BYTES && stream_send(st) != 0)
		return -1;
	if (grow(&st->b, 2) != 0) {
		st->failed = 1;
		return -1;
	}
	put_be(&st->b, (uint64_t)nfields, 2);
	return 0;
}

int pgx_stream_field(struct pgx_stream *st, const void *v, size_t n)
{
	if (st->failed)
		return -1;
	if (n > (size_t)INT32_MAX - 8 || grow(&st->b, 4 + n) != 0) {
		st->failed = 1;
		return -1;
	}
	put_field(&st->b, v == NULL ? NULL : n == 0 ? "" : v, n);
	return 0;
}

int pgx_stream_i64(struct pgx_stream *st, int64_t v)
{
	unsigned char b[8];
	uint64_t u = (uint64_t)v;

	for (size_t k = sizeof b; k-- > 0; u >>= 8)
		b[k] = (unsigned char)(u & 0xff);
	return pgx_stream_field(st, b, sizeof b);
}

PGresult *pgx_stream_end(struct pgx_stream *st, int abandon)
{
	const unsigned char trailer[2] = {0xff, 0xff};
	PGresult *res, *out = NULL;

	if (st == NULL)
		return NULL;
	if (!abandon && !st->failed && grow(&st->b, sizeof trailer) == 0) {
		memcpy(st->b.p + st->b.n, trailer, sizeof trailer);
		st->b.n += sizeof trailer;
		if (stream_send(st) == 0)
			(void)PQputCopyEnd(st->conn, NULL);
		else
			abandon = 1;
	} else {
		abandon = 1;
	}
	/* the server drops every row of an abandoned COPY */
	if (abandon)
		(void)PQputCopyEnd(st->conn, "copy abandoned");
	/* The COPY's result; the first failure if there are several. */
	while ((res = PQgetResult(st->conn)) != NULL) {
		if (out == NULL || (PQresultStatus(out) == PGRES_COMMAND_OK &&
				    PQresultStatus(res) != PGRES_COMMAND_OK)) {
			PQclear(out);
			out = res;
		} else {
			PQclear(res);
		}
	}
	free(st->b.p);
	free(st);
	return out;
}
