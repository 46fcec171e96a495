/*
 * store_sqlite_int.h: what the SQLite backend's files share (never used
 * outside store_sqlite*.c). store_sqlite.c owns the handle, the schema and
 * its migrations; the other files implement groups of vtable entries with
 * statements cached in their own slots.
 */
#ifndef RK_STORE_SQLITE_INT_H
#define RK_STORE_SQLITE_INT_H

#include <stddef.h>

#include <sqlite3.h>

#include "store.h"

/* Statement slots of each file. */
enum sqx_slot_base {
	SQX_RECORD = 0,	    /* store_sqlite_record.c: 0-15 */
	SQX_CONSENT = 16,   /* store_sqlite_consent.c: 16-31 */
	SQX_ACCESS = 32,    /* store_sqlite_access.c: 32-47 */
	SQX_ADMIN = 48,	    /* store_sqlite_admin.c: 48-63 */
	SQX_ERASE = 64,	    /* store_sqlite_erase.c: 64-71 */
	SQX_DSR = 72,	    /* store_sqlite_dsr.c: 72-79 */
	SQX_RETENTION = 80, /* store_sqlite_retention.c: 80-95 */
	SQX_DISCLOSE = 96,  /* store_sqlite_disclose.c: 96-111 */
	SQX_PAPER = 112,    /* store_sqlite_paper.c: 112-127 */
	SQX_NOTICE = 128,   /* store_sqlite_notice.c: 128-135 */
	SQX_SELFSVC = 136,  /* store_sqlite_selfsvc.c: 136-151 */
	SQX_GROUP = 152,    /* store_sqlite_group.c: 152-167 */
	SQX_SLOTS = 168
};

sqlite3 *sqx_db(store *s);
/* The statement cached in slot, prepared from sql on first use; NULL with
 * the store's error set on failure or when it is still running (a callback
 * re-entered its own walk). */
sqlite3_stmt *sqx_stmt(store *s, int slot, const char *what, const char *sql);
/* Runs sql, an "UPDATE ... SET mac = ?2 WHERE id = ?1", from slot:
 * STORE_NOTFOUND when no row has that id. */
int sqx_set_mac(store *s, int slot, const char *what, const char *sql,
		int64_t id, const unsigned char mac[SEC_HASH_BYTES]);
/* Whether a checkpoint that empties the WAL is owed (store_sqlite.c
 * retries it after commits and at close). */
void sqx_scrub_set(store *s, int owed);
/* Resets and unbinds a statement after use. */
void sqx_done(sqlite3_stmt *st);
/* Sets the store's error from an SQLite result code; returns STORE_ERR. */
int sqx_fail(store *s, const char *what, int rc);
/* Sets the store's error "what: problem"; returns STORE_ERR. */
int sqx_error(store *s, const char *what, const char *problem);
/* Bindings that stay valid until sqx_done (SQLITE_STATIC). An empty or
 * NULL optional text binds NULL; a zero-length blob stays a blob. */
int sqx_bind_text(sqlite3_stmt *st, int i, const char *v);
int sqx_bind_opt_text(sqlite3_stmt *st, int i, const char *v);
int sqx_bind_blob(sqlite3_stmt *st, int i, const void *v, size_t n);
/* Copies a text column into a fixed buffer; too long is an error (-1). */
int sqx_col_str(sqlite3_stmt *st, int col, char *dst, size_t dstsz,
		int nullable);
/* Text of a column, NULL when SQL NULL. */
const char *sqx_col_text(sqlite3_stmt *st, int col);

/* store_sqlite_record.c */
int sqx_record_insert(store *s, store_record *r);
int sqx_record_set_mac(store *s, int64_t id,
		       const unsigned char mac[SEC_HASH_BYTES]);
int sqx_record_list(store *s, const char *subject_id, const char *type,
		    store_record_fn fn, void *ud);
int sqx_record_get(store *s, const char *subject_id, int64_t id,
		   store_record_fn fn, void *ud);
int sqx_record_delete_type(store *s, const char *subject_id, const char *type,
			   int64_t *deleted);
int sqx_chunk_put(store *s, int64_t record_id, int64_t seq,
		  const unsigned char *ct, size_t len);
int sqx_chunk_walk(store *s, int64_t record_id, store_chunk_fn fn, void *ud);
int sqx_record_set_ct(store *s, const char *subject_id, int64_t id,
		      const unsigned char *ct, size_t len);
int sqx_record_delete(store *s, const char *subject_id, int64_t id);
int sqx_record_delete_cookies(store *s, const char *subject_id,
			      int64_t *deleted);
int sqx_subject_set_kind(store *s, const char *id, const char *kind);
int sqx_value_set_expiry_row(store *s, int64_t rowid, const char *expires);

/* store_sqlite_consent.c */
int sqx_consent_append(store *s, store_consent *c);
int sqx_consent_set_mac(store *s, int64_t id,
			const unsigned char mac[SEC_HASH_BYTES]);
int sqx_consent_walk(store *s, const char *subject_id, const char *scope,
		     store_consent_fn fn, void *ud);
int sqx_consent_latest(store *s, const char *subject_id, const char *scope,
		       int objection, store_consent_fn fn, void *ud);
int sqx_cookie_link(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		    const char *subject_id, int64_t at,
		    const unsigned char *mac);
int sqx_cookie_resolve(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       char subject_id[33], int64_t *linked_at,
		       unsigned char mac[SEC_HASH_BYTES]);
int sqx_cookie_walk(store *s, store_cookie_fn fn, void *ud);
int sqx_cookie_set_mac(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       const unsigned char mac[SEC_HASH_BYTES]);
int sqx_cookie_unlink_subject(store *s, const char *subject_id, int64_t *n);
int sqx_audit_newest_is(store *s, const char *subject, const char *newer,
			const char *older, int64_t *n);
int sqx_cookie_reset_until(store *s, const char *subject_id, int64_t until,
			   int64_t *records, int64_t *links);

/* store_sqlite_access.c */
int sqx_actor_insert(store *s, const store_actor *a);
int sqx_actor_get(store *s, const char *name, store_actor *out);
int sqx_actor_list(store *s, store_actor_fn fn, void *ud);
int sqx_actor_revoke(store *s, const char *name, int64_t at);
int sqx_actor_set_auth(store *s, const store_actor *a);

/* store_sqlite_admin.c */
int sqx_subject_set_key(store *s, const char *id,
			const unsigned char wrapped[SEC_WRAPPED_BYTES]);
int sqx_backup_to(store *s, const char *path);
int sqx_restore_from(store *s, const char *path, int keep_audit);
int sqx_checkpoint(store *s);
int sqx_subject_delete(store *s, const char *id);
int sqx_set_durable(store *s, int on);
int sqx_ciphertext_set(store *s, enum store_ct kind, int64_t id, int64_t seq,
		       const unsigned char *ct, size_t len);
int sqx_value_bidx_walk(store *s, const char *subject_id, store_value_fn fn,
			void *ud);
int sqx_value_set_bidx(store *s, int64_t rowid,
		       const unsigned char bidx[SEC_BIDX_BYTES]);

/* store_sqlite_erase.c */
int sqx_erasure_add(store *s, const store_erasure *e);
int sqx_erasure_get(store *s, const unsigned char tag[SEC_HASH_BYTES],
		    store_erasure *out);
int sqx_held_insert(store *s, const store_held *h);
int sqx_held_chunk_put(store *s, int64_t record_id, int64_t seq,
		       const unsigned char *ct, size_t len);
int sqx_erasure_walk(store *s, store_erasure_fn fn, void *ud);
int sqx_held_walk(store *s, store_held_fn fn, void *ud);
/* store_sqlite_dsr.c */
int sqx_dsr_insert(store *s, store_dsr *d);
int sqx_dsr_update(store *s, const store_dsr *d);
int sqx_dsr_walk(store *s, store_dsr_fn fn, void *ud);
/* store_sqlite_retention.c */
int sqx_retention_due(store *s, const char *as_of, store_id_fn fn, void *ud);
int sqx_value_delete_row(store *s, const char *subject_id, int64_t rowid);
int sqx_record_set_expiry(store *s, int64_t id, const char *expires,
			  const unsigned char mac[SEC_HASH_BYTES]);
int sqx_cookie_unlink(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t *n);
int sqx_held_due(store *s, const char *as_of, size_t limit, store_held_fn fn,
		 void *ud);
int sqx_held_delete(store *s, int64_t id);
int sqx_value_confirm(store *s, const char *subject_id, const char *field,
		      int64_t at, const char *today, int64_t *n);
int sqx_review_walk(store *s, int64_t before, const char *today,
		    store_review_fn fn, void *ud);
int sqx_cookie_count(store *s, const char *subject_id,
		     const unsigned char *hash, int64_t *n);
int sqx_bidx_find_live(store *s, const char *field,
		       const unsigned char hash[SEC_BIDX_BYTES],
		       const char *today, store_id_fn fn, void *ud);
/* store_sqlite_paper.c */
int sqx_count_by(store *s, enum store_count what, store_count_fn fn, void *ud);
int sqx_breach_insert(store *s, const store_breach *b);
int sqx_breach_update(store *s, const store_breach *b);
int sqx_breach_walk(store *s, store_breach_fn fn, void *ud);
int sqx_breach_match(store *s, const char *field, const char *type,
		     int has_range, int64_t from, int64_t to, int64_t asof,
		     store_id_fn fn, void *ud);
/* store_sqlite_notice.c */
int sqx_policy_get(store *s, int version, char **text, int64_t *created_at);
int sqx_policy_walk(store *s, store_policy_fn fn, void *ud);
int sqx_usage_count(store *s, enum store_use what, const char *name,
		    int64_t *n);
int sqx_field_subjects(store *s, const char *field, store_id_fn fn, void *ud);
int sqx_scope_walk(store *s, const char *scope, int objection,
		   store_consent_fn fn, void *ud);
/* store_sqlite_disclose.c */
int sqx_disclosure_insert(store *s, const store_disclosure *d);
int sqx_disclosure_walk(store *s, const char *pseudonym, store_disclosure_fn fn,
			void *ud);
int sqx_value_repurpose(store *s, int64_t rowid, const char *purposes,
			const char *legal_basis, const char *expires);
/* store_sqlite_selfsvc.c */
int sqx_selfsvc_insert(store *s, const store_selfsvc *row);
int sqx_selfsvc_get(store *s, const unsigned char *hash, store_selfsvc *out);
int sqx_selfsvc_use(store *s, const unsigned char *hash, int64_t at,
		    const unsigned char *mac);
int sqx_selfsvc_count(store *s, const char *subject_id, int kind, int64_t now,
		      int64_t *n);
int sqx_selfsvc_purge(store *s, int64_t now, const unsigned char *hash);
int sqx_audit_link_opened(store *s, const char *subject, const char *fields,
			  int64_t *n);
int sqx_selfsvc_select(store *s, const char *subject_id, int64_t now,
		       int (*fn)(void *ud, const store_selfsvc *row), void *ud);
int sqx_selfsvc_walk(store *s, int (*fn)(void *ud, const store_selfsvc *row),
		     void *ud);

/* store_sqlite_group.c: savepoints inside the open write transaction, for
 * the operations of a group commit */
int sqx_savepoint(store *s, int level);
int sqx_savepoint_release(store *s, int level);
int sqx_savepoint_rollback(store *s, int level);

/* ---- table-driven statements (store_sqlite.c) ----
 * A statement's parameters as a list, ?1 first, ended by SQX_END: one
 * binder and one row walk for every table instead of one per function. */
enum sqx_kind {
	SQX_END = 0,
	SQX_TEXT,     /* NULL binds NULL */
	SQX_OPT_TEXT, /* NULL or "" binds NULL (optional dates) */
	SQX_INT64,
	SQX_OPT_TIME, /* 0 binds NULL: an absent time */
	SQX_BLOB,     /* a zero-length blob stays a blob */
	SQX_OPT_BLOB  /* NULL binds NULL */
};
struct sqx_arg {
	enum sqx_kind kind;
	const void *p; /* text or blob */
	int64_t i;     /* SQX_INT64 */
	size_t n;      /* blob length */
};
#define SQX_T(v)       ((struct sqx_arg){SQX_TEXT, (v), 0, 0})
#define SQX_OT(v)      ((struct sqx_arg){SQX_OPT_TEXT, (v), 0, 0})
#define SQX_I(v)       ((struct sqx_arg){SQX_INT64, NULL, (int64_t)(v), 0})
#define SQX_OTM(v)     ((struct sqx_arg){SQX_OPT_TIME, NULL, (int64_t)(v), 0})
#define SQX_B(v, len)  ((struct sqx_arg){SQX_BLOB, (v), 0, (len)})
#define SQX_OB(v, len) ((struct sqx_arg){SQX_OPT_BLOB, (v), 0, (len)})
#define SQX_ARGS_END   ((struct sqx_arg){SQX_END, NULL, 0, 0})

/* Binds args to st: SQLITE_OK or the first failing result code. */
int sqx_bind_args(sqlite3_stmt *st, const struct sqx_arg *args);
/* Runs st (NULL: already reported) once with args, for a change. rowid
 * (may be NULL) gets the new row's id; with none set, a change of no row is
 * STORE_NOTFOUND with the error "what: none" (none "": no error text).
 * Resets st. 0, STORE_ERR or STORE_NOTFOUND. */
int sqx_exec(store *s, sqlite3_stmt *st, const char *what,
	     const struct sqx_arg *args, int64_t *rowid, const char *none);
/* sqx_exec for a change of many rows: *changed (may be NULL) gets how many
 * rows it changed, as SQLite counts them (not cascaded rows). */
int sqx_exec_changes(store *s, sqlite3_stmt *st, const char *what,
		     const struct sqx_arg *args, const char *none,
		     int64_t *changed);
/* One row of a walk: 0 goes on, 1 ends the walk (not an error), -1 fails it
 * (the row function has set the store's error). */
typedef int (*sqx_row_fn)(store *s, sqlite3_stmt *st, void *ud);
/* Runs st (NULL: already reported) with args and hands each row to row.
 * Resets st. 0 or STORE_ERR. */
int sqx_walk(store *s, sqlite3_stmt *st, const char *what,
	     const struct sqx_arg *args, sqx_row_fn row, void *ud);
/* Runs st with args for at most one row: STORE_NOTFOUND when there is
 * none (with the error "what: none" when none is set), else row's verdict
 * on it (-1: STORE_ERR). */
int sqx_one(store *s, sqlite3_stmt *st, const char *what,
	    const struct sqx_arg *args, const char *none, sqx_row_fn row,
	    void *ud);
/* Runs st with args, a query of one integer (a count), into *n. */
int sqx_count(store *s, sqlite3_stmt *st, const char *what,
	      const struct sqx_arg *args, int64_t *n);
/* The row function of walks whose rows are (subject id, pseudonym): ud is
 * a struct sqx_ids; rows with a NULL in either are passed over. */
struct sqx_ids {
	store_id_fn fn;
	void *ud;
};
int sqx_id_row(store *s, sqlite3_stmt *st, void *ud);
/* A blob column, or NULL with *n = 0 when SQL NULL. A zero-length blob has
 * no pointer; it reads as present (and fails to open). */
const unsigned char *sqx_col_blob(sqlite3_stmt *st, int col, size_t *n);

/* ---- look-up speed ---- */
/* What a look-up selects as the subject's pseudonym from "value v": the
 * copy in the blind index, or where there is none the subject's row. */
#define VALUE_PSEUDONYM                                                        \
	"coalesce(v.pseudonym, (SELECT s.pseudonym FROM subject s"             \
	" WHERE s.id = v.subject_id))"
int sqx_value_pseudonym_mismatch(store *s, int64_t *n);

#endif
