/*
 * store_pg_int.h: what the PostgreSQL backend's files share (never used
 * outside store_pg*.c). store_pg.c owns the connection, the schema and its
 * migrations, the transactions and the core tables; the other files
 * implement groups of vtable entries with statements in their own slots.
 *
 * Statements are prepared once per connection (PQprepare) and run with
 * bound parameters only (PQexecPrepared): text parameters in text format,
 * ciphertexts and hashes as binary bytea. Results come back in binary
 * format, so that bytea needs no unescaping and integers are exact.
 */
#ifndef RK_STORE_PG_INT_H
#define RK_STORE_PG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store.h"

/* Statement slots of each file. */
enum pgx_slot_base {
	PGX_CORE = 0,	   /* store_pg.c: 0-47 */
	PGX_MORE = 48,	   /* store_pg_more.c: 48-127 */
	PGX_PAPER = 128,   /* store_pg_paper.c: 128-191 */
	PGX_SELFSVC = 192, /* store_pg_selfsvc.c: 192-207 */
	PGX_ADMIN = 208,   /* store_pg_admin.c: 208-239 */
	PGX_SLOTS = 240
};

/* Bound parameters of one statement. */
#define PGQ_MAX 24
struct pgq {
	int n;
	int bad; /* too many parameters */
	const char *v[PGQ_MAX];
	int len[PGQ_MAX];
	int fmt[PGQ_MAX];
	char num[PGQ_MAX][24];
};

/* NULL binds SQL NULL. */
void pgq_text(struct pgq *q, const char *v);
/* NULL or "" binds SQL NULL (optional dates and names). */
void pgq_opt(struct pgq *q, const char *v);
/* Binary bytea; v NULL binds SQL NULL, n 0 an empty bytea. */
void pgq_blob(struct pgq *q, const void *v, size_t n);
void pgq_i64(struct pgq *q, int64_t v);

/* Runs the statement of slot (prepared from sql on first use on this
 * connection) with q's parameters; the result (rows or a command's), or
 * NULL with the store's error set. The caller PQclear()s it. */
PGresult *pgx_query(store *s, int slot, const char *what, const char *sql,
		    const struct pgq *q);
/* The same for a write; *n (may be NULL) gets the rows it changed.
 * STORE_NOTFOUND when notfound is set and no row changed. */
int pgx_cmd(store *s, int slot, const char *what, const char *sql,
	    const struct pgq *q, int notfound, int64_t *n);
/* Sets the store's error "what: problem"; returns STORE_ERR. */
int pgx_error(store *s, const char *what, const char *problem);
/* Whom a walk hands its rows to: the caller's callback (the member of
 * the walk's row type: a row function reads the member its walk set), its
 * ud, and the subject the rows belong to when they do not carry it. */
struct pgx_to {
	union {
		store_id_fn id;
		store_value_fn value;
		store_record_fn record;
		store_chunk_fn chunk;
		store_consent_fn consent;
		store_cookie_fn cookie;
		store_erasure_fn erasure;
		store_dsr_fn dsr;
		store_review_fn review;
		store_count_fn count;
		store_breach_fn breach;
		store_policy_fn policy;
		store_disclosure_fn disclosure;
	} fn;
	void *ud;
	const char *subject_id;
};
/* One row of a walk (row i of r): 0 goes on, 1 ends the walk (not an
 * error), STORE_ERR fails it (the row function has set the error). */
typedef int (*pgx_row_fn)(store *s, const PGresult *r, int i, const char *what,
			  void *ud);
/* Runs the statement (as pgx_query) and hands each row to row: one place
 * for "run, check, walk, clear". 0 or STORE_ERR. */
int pgx_walk(store *s, int slot, const char *what, const char *sql,
	     const struct pgq *q, pgx_row_fn row, void *ud);
/* Runs the statement for at most one row: STORE_NOTFOUND when there is
 * none (with the error "what: none" when none is set), else row's verdict
 * on the first row (0 or STORE_ERR). */
int pgx_one(store *s, int slot, const char *what, const char *sql,
	    const struct pgq *q, const char *none, pgx_row_fn row, void *ud);
/* Runs a query of one integer (a count, or a new row's id by RETURNING)
 * into *n (0 without a row). */
int pgx_count(store *s, int slot, const char *what, const char *sql,
	      const struct pgq *q, int64_t *n);
/* Runs a query whose rows are (subject id, pseudonym) or (subject id)
 * and hands each to fn (pseudonym NULL with one column); STORE_ERR on a
 * damaged row. */
int pgx_walk_ids(store *s, int slot, const char *what, const char *sql,
		 const struct pgq *q, store_id_fn fn, void *ud);
/* A vtable entry this backend does not implement yet. */
int pgx_unsupported(store *s, const char *what);

/* Binary result columns. An integer column of another width than
 * BIGINT, INTEGER or SMALLINT reads as 0. */
int64_t pgx_i64(const PGresult *r, int row, int col);
/* Text of a column, NULL when SQL NULL (binary text is terminated). */
const char *pgx_text(const PGresult *r, int row, int col);
/* Bytes of a bytea column, NULL when SQL NULL (never NULL when empty). */
const unsigned char *pgx_blob(const PGresult *r, int row, int col, size_t *n);
/* The column when it holds exactly n bytes, else NULL. */
const unsigned char *pgx_blob_n(const PGresult *r, int row, int col, size_t n);
/* Copies a text column into a fixed buffer; too long is an error (-1);
 * NULL reads as "" when nullable. */
int pgx_str(const PGresult *r, int row, int col, char *dst, size_t dstsz,
	    int nullable);

/* store_pg_more.c: records, consents, cookies, actors, administration,
 * erasures, requests, retention */
int pgx_record_insert(store *s, store_record *r);
int pgx_record_set_mac(store *s, int64_t id,
		       const unsigned char mac[SEC_HASH_BYTES]);
int pgx_record_list(store *s, const char *subject_id, const char *type,
		    store_record_fn fn, void *ud);
int pgx_record_get(store *s, const char *subject_id, int64_t id,
		   store_record_fn fn, void *ud);
int pgx_record_delete_type(store *s, const char *subject_id, const char *type,
			   int64_t *deleted);
int pgx_chunk_put(store *s, int64_t record_id, int64_t seq,
		  const unsigned char *ct, size_t len);
int pgx_chunk_walk(store *s, int64_t record_id, store_chunk_fn fn, void *ud);
int pgx_consent_append(store *s, store_consent *c);
int pgx_consent_set_mac(store *s, int64_t id,
			const unsigned char mac[SEC_HASH_BYTES]);
int pgx_consent_walk(store *s, const char *subject_id, const char *scope,
		     store_consent_fn fn, void *ud);
int pgx_consent_latest(store *s, const char *subject_id, const char *scope,
		       int objection, store_consent_fn fn, void *ud);
int pgx_cookie_link(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		    const char *subject_id, int64_t at,
		    const unsigned char *mac);
int pgx_cookie_resolve(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       char subject_id[33], int64_t *linked_at,
		       unsigned char mac[SEC_HASH_BYTES]);
int pgx_cookie_walk(store *s, store_cookie_fn fn, void *ud);
int pgx_cookie_set_mac(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       const unsigned char mac[SEC_HASH_BYTES]);
int pgx_cookie_unlink_subject(store *s, const char *subject_id, int64_t *n);
int pgx_audit_newest_is(store *s, const char *subject, const char *newer,
			const char *older, int64_t *n);
int pgx_cookie_reset_until(store *s, const char *subject_id, int64_t until,
			   int64_t *records, int64_t *links);
int pgx_actor_insert(store *s, const store_actor *a);
int pgx_actor_get(store *s, const char *name, store_actor *out);
int pgx_actor_list(store *s, store_actor_fn fn, void *ud);
int pgx_actor_revoke(store *s, const char *name, int64_t at);
int pgx_actor_set_auth(store *s, const store_actor *a);
int pgx_subject_set_key(store *s, const char *id,
			const unsigned char wrapped[SEC_WRAPPED_BYTES]);
/* Deletes the subject and does what the foreign keys of the
 * coordinator-local tables did (cookie, selfsvc, dsr, disclosure). */
int pgx_subject_delete(store *s, const char *id);
/* The subject id (NULL or "" pass) names a subject; else STORE_ERR with
 * "what: no such subject". */
int pgx_subject_must_exist(store *s, const char *id, const char *what);
int pgx_ciphertext_set(store *s, enum store_ct kind, int64_t id, int64_t seq,
		       const unsigned char *ct, size_t len);
int pgx_value_bidx_walk(store *s, const char *subject_id, store_value_fn fn,
			void *ud);
int pgx_value_set_bidx(store *s, int64_t rowid,
		       const unsigned char bidx[SEC_BIDX_BYTES]);
int pgx_record_set_ct(store *s, const char *subject_id, int64_t id,
		      const unsigned char *ct, size_t len);
int pgx_record_delete(store *s, const char *subject_id, int64_t id);
int pgx_record_delete_cookies(store *s, const char *subject_id,
			      int64_t *deleted);
int pgx_subject_set_kind(store *s, const char *id, const char *kind);
int pgx_value_set_expiry_row(store *s, int64_t rowid, const char *expires);
int pgx_erasure_add(store *s, const store_erasure *e);
int pgx_erasure_get(store *s, const unsigned char tag[SEC_HASH_BYTES],
		    store_erasure *out);
int pgx_held_insert(store *s, const store_held *h);
int pgx_held_chunk_put(store *s, int64_t record_id, int64_t seq,
		       const unsigned char *ct, size_t len);
int pgx_erasure_walk(store *s, store_erasure_fn fn, void *ud);
int pgx_held_walk(store *s, store_held_fn fn, void *ud);
int pgx_dsr_insert(store *s, store_dsr *d);
int pgx_dsr_update(store *s, const store_dsr *d);
int pgx_dsr_walk(store *s, store_dsr_fn fn, void *ud);
int pgx_retention_due(store *s, const char *as_of, store_id_fn fn, void *ud);
int pgx_value_delete_row(store *s, const char *subject_id, int64_t rowid);
int pgx_record_set_expiry(store *s, int64_t id, const char *expires,
			  const unsigned char mac[SEC_HASH_BYTES]);
int pgx_cookie_unlink(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t *n);
int pgx_held_due(store *s, const char *as_of, size_t limit, store_held_fn fn,
		 void *ud);
int pgx_held_delete(store *s, int64_t id);
int pgx_value_confirm(store *s, const char *subject_id, const char *field,
		      int64_t at, const char *today, int64_t *n);
int pgx_review_walk(store *s, int64_t before, const char *today,
		    store_review_fn fn, void *ud);
int pgx_cookie_count(store *s, const char *subject_id,
		     const unsigned char *hash, int64_t *n);
int pgx_bidx_find_live(store *s, const char *field,
		       const unsigned char hash[SEC_BIDX_BYTES],
		       const char *today, store_id_fn fn, void *ud);

/* store_pg_paper.c: counts, breaches, notice versions, disclosures */
int pgx_count_by(store *s, enum store_count what, store_count_fn fn, void *ud);
int pgx_breach_insert(store *s, const store_breach *b);
int pgx_breach_update(store *s, const store_breach *b);
int pgx_breach_walk(store *s, store_breach_fn fn, void *ud);
int pgx_breach_match(store *s, const char *field, const char *type,
		     int has_range, int64_t from, int64_t to, int64_t asof,
		     store_id_fn fn, void *ud);
int pgx_policy_get(store *s, int version, char **text, int64_t *created_at);
int pgx_policy_walk(store *s, store_policy_fn fn, void *ud);
int pgx_usage_count(store *s, enum store_use what, const char *name,
		    int64_t *n);
int pgx_field_subjects(store *s, const char *field, store_id_fn fn, void *ud);
int pgx_scope_walk(store *s, const char *scope, int objection,
		   store_consent_fn fn, void *ud);
int pgx_disclosure_insert(store *s, const store_disclosure *d);
int pgx_disclosure_walk(store *s, const char *pseudonym, store_disclosure_fn fn,
			void *ud);
int pgx_value_repurpose(store *s, int64_t rowid, const char *purposes,
			const char *legal_basis, const char *expires);

/* store_pg_selfsvc.c */
int pgx_selfsvc_insert(store *s, const store_selfsvc *row);
int pgx_selfsvc_get(store *s, const unsigned char *hash, store_selfsvc *out);
int pgx_selfsvc_use(store *s, const unsigned char *hash, int64_t at,
		    const unsigned char *mac);
int pgx_selfsvc_count(store *s, const char *subject_id, int kind, int64_t now,
		      int64_t *n);
int pgx_selfsvc_purge(store *s, int64_t now, const unsigned char *hash);
int pgx_audit_link_opened(store *s, const char *subject, const char *fields,
			  int64_t *n);
int pgx_selfsvc_select(store *s, const char *subject_id, int64_t now,
		       int (*fn)(void *ud, const store_selfsvc *row), void *ud);
int pgx_selfsvc_walk(store *s, int (*fn)(void *ud, const store_selfsvc *row),
		     void *ud);

/* store_pg_admin.c: backups into a SQLite file, restores from one,
 * checkpoints */
int pgx_backup_to(store *s, const char *path);
int pgx_restore_from(store *s, const char *path, int keep_audit);
int pgx_checkpoint(store *s);
/* store_pg.c: the handle's connection, for the admin file's copier. */
PGconn *pgx_conn(store *s);
/* ---- store_pg_copy.c: the COPY load path of a bulk transaction ----
 * While a bulk transaction is open (vt->bulk), subject, value and audit
 * rows are buffered and sent by COPY on conn before any other statement,
 * before a savepoint and at commit (store_pg.c calls pgx_copy_flush). A
 * leaf below store_pg.c: it knows libpq, not the store's handle. On
 * STORE_ERR, pgx_copy_err says what failed (never a value). */
struct pgx_copy;
struct pgx_copy *pgx_copy_new(void);
void pgx_copy_free(struct pgx_copy *c);
/* Drops what is buffered and leaves bulk mode (rollback, begin). */
void pgx_copy_reset(struct pgx_copy *c);
/* Starts buffering (until the reset). */
void pgx_copy_start(struct pgx_copy *c);
/* Buffering now (bulk mode and not inside a flush). */
int pgx_copy_active(const struct pgx_copy *c);
/* Rows or counters wait to be sent. */
int pgx_copy_pending(const struct pgx_copy *c);
/* Rows buffered since the reset (they count as changed rows). */
int64_t pgx_copy_rows(const struct pgx_copy *c);
const char *pgx_copy_err(const struct pgx_copy *c);
/* Sends what is buffered (0 when nothing is). */
int pgx_copy_flush(struct pgx_copy *c, PGconn *conn);
int pgx_copy_subject(struct pgx_copy *c, PGconn *conn,
		     const store_subject *sub);
int pgx_copy_value(struct pgx_copy *c, PGconn *conn, store_value *v);
int pgx_copy_audit(struct pgx_copy *c, PGconn *conn, const store_audit *a);
/* A counter held while buffering: 0 and *out the next number, or
 * STORE_NOTFOUND when it is not held (read it, then counter_seen). */
int pgx_copy_counter_next(struct pgx_copy *c, const char *key, int64_t *out);
void pgx_copy_counter_seen(struct pgx_copy *c, const char *key, int64_t val);
void pgx_copy_counters_forget(struct pgx_copy *c);

/* ---- store_pg_copy.c: a table's rows streamed by COPY ----
 * For store_copy.c (restore, migrate into PostgreSQL), the one user of
 * this header outside store_pg*.c. After `COPY t (cols) FROM STDIN
 * (FORMAT binary)` answered PGRES_COPY_IN on conn: a row is
 * pgx_stream_row and then each of its fields; pgx_stream_end finishes
 * the COPY (abandon: the server keeps none of it), frees the stream and
 * returns the COPY's result (NULL when there is none; PQclear it). The
 * row functions return -1 once libpq refused data or memory ran out: end
 * the stream then. */
struct pgx_stream;
struct pgx_stream *pgx_stream_new(PGconn *conn);
int pgx_stream_row(struct pgx_stream *st, int nfields);
/* v NULL: SQL NULL; the bytes as the column's binary form (text, bytea) */
int pgx_stream_field(struct pgx_stream *st, const void *v, size_t n);
int pgx_stream_i64(struct pgx_stream *st, int64_t v); /* a BIGINT */
PGresult *pgx_stream_end(struct pgx_stream *st, int abandon);

#endif
