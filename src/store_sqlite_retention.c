/*
 * store_sqlite_retention.c: what the retention run, the review list and
 * the confirmation of values need from the SQLite backend. The run finds
 * what expired through the partial indexes on the expiry columns, so its
 * cost follows what expired, not the size of the register.
 */
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	ST_DUE = SQX_RETENTION,
	ST_VALUE_DELETE,
	ST_RECORD_SET_EXPIRY,
	ST_COOKIE_UNLINK,
	ST_HELD_DUE,
	ST_HELD_DELETE,
	ST_CONFIRM_ALL,
	ST_CONFIRM_FIELD,
	ST_REVIEW,
	ST_BIDX_FIND_LIVE,
	ST_COOKIE_COUNT,
	ST_COOKIE_COUNT_H,
	ST_PSEUDONYM_MISMATCH
};

/* Both halves seek on their partial index (expires_at < ?1 implies NOT
 * NULL; said outright so the planner never has to infer it). */
static const char sql_due[] =
	"SELECT subject_id FROM value"
	" WHERE expires_at IS NOT NULL AND expires_at < ?1"
	" UNION SELECT subject_id FROM record"
	" WHERE expires_at IS NOT NULL AND expires_at < ?1";

/* Rows of (subject id) alone: a damaged one fails the walk. */
static int due_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct sqx_ids *w = ud;
	const char *id = sqx_col_text(st, 0);

	if (id == NULL) {
		sqx_error(s, "retention due", "a damaged row");
		return -1;
	}
	return w->fn(w->ud, id, NULL) != 0;
}

int sqx_retention_due(store *s, const char *as_of, store_id_fn fn, void *ud)
{
	const char *what = "retention due";
	struct sqx_ids w = {fn, ud};
	const struct sqx_arg args[] = {SQX_T(as_of), SQX_ARGS_END};

	return sqx_walk(s, sqx_stmt(s, ST_DUE, what, sql_due), what, args,
			due_row, &w);
}

int sqx_value_delete_row(store *s, const char *subject_id, int64_t rowid)
{
	const char *what = "value delete";
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_I(rowid),
				       SQX_ARGS_END};

	return sqx_exec(
		s,
		sqx_stmt(s, ST_VALUE_DELETE, what,
			 "DELETE FROM value WHERE id = ?2 AND subject_id = ?1"),
		what, args, NULL, "no such row");
}

int sqx_record_set_expiry(store *s, int64_t id, const char *expires,
			  const unsigned char mac[SEC_HASH_BYTES])
{
	const char *what = "record set expiry";
	const struct sqx_arg args[] = {SQX_I(id), SQX_OT(expires),
				       SQX_B(mac, SEC_HASH_BYTES),
				       SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_RECORD_SET_EXPIRY, what,
				 "UPDATE record SET expires_at = ?2, mac = ?3 "
				 "WHERE id = ?1"),
			what, args, NULL, "no such row");
}

int sqx_cookie_unlink(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t *n)
{
	const char *what = "cookie unlink";
	const struct sqx_arg args[] = {SQX_B(hash, SEC_BIDX_BYTES),
				       SQX_T(subject_id), SQX_ARGS_END};

	if (n != NULL)
		*n = 0;
	return sqx_exec_changes(s,
				sqx_stmt(s, ST_COOKIE_UNLINK, what,
					 "DELETE FROM cookie WHERE hash = ?1 "
					 "AND subject_id = ?2"),
				what, args, NULL, n);
}

struct held_due_walk {
	store_held_fn fn;
	void *ud;
};

static int held_due_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct held_due_walk *w = ud;
	store_held h;

	memset(&h, 0, sizeof h);
	h.id = sqlite3_column_int64(st, 0);
	h.type = sqx_col_text(st, 1);
	h.retention = sqx_col_text(st, 2);
	h.hold_until = sqx_col_text(st, 3);
	h.created_at = sqlite3_column_int64(st, 4);
	h.wrapped_key = sqlite3_column_blob(st, 5);
	h.ct = sqlite3_column_blob(st, 6);
	h.ctlen = (size_t)sqlite3_column_bytes(st, 6);
	h.attachment_size = sqlite3_column_int64(st, 7);
	h.attachment_type = sqx_col_text(st, 8);
	h.mac = sqlite3_column_blob(st, 9);
	if (h.type == NULL || h.retention == NULL || h.hold_until == NULL ||
	    sqlite3_column_bytes(st, 5) != SEC_WRAPPED_BYTES ||
	    sqlite3_column_bytes(st, 9) != SEC_HASH_BYTES) {
		sqx_error(s, "held records due", "a damaged row");
		return -1;
	}
	if (h.ct == NULL)
		h.ct = (const unsigned char *)"";
	return w->fn(w->ud, &h) != 0;
}

int sqx_held_due(store *s, const char *as_of, size_t limit, store_held_fn fn,
		 void *ud)
{
	const char *what = "held records due";
	struct held_due_walk w = {fn, ud};
	const struct sqx_arg args[] = {
		SQX_T(as_of), SQX_I(limit == 0 ? -1 : (sqlite3_int64)limit),
		SQX_ARGS_END};

	return sqx_walk(
		s,
		sqx_stmt(s, ST_HELD_DUE, what,
			 "SELECT id, type, retention, hold_until, created_at,"
			 " wrapped_key, ciphertext, attachment_size,"
			 " attachment_type, mac FROM held_record"
			 " WHERE hold_until < ?1 ORDER BY hold_until, id LIMIT "
			 "?2"),
		what, args, held_due_row, &w);
}

int sqx_held_delete(store *s, int64_t id)
{
	const char *what = "held record delete";
	const struct sqx_arg args[] = {SQX_I(id), SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_HELD_DELETE, what,
				 "DELETE FROM held_record WHERE id = ?1"),
			what, args, NULL, "no such row");
}

int sqx_value_confirm(store *s, const char *subject_id, const char *field,
		      int64_t at, const char *today, int64_t *n)
{
	const char *what = "value confirm";
	/* The all-fields form has no ?4. */
	struct sqx_arg args[] = {SQX_T(subject_id), SQX_I(at), SQX_T(today),
				 SQX_ARGS_END, SQX_ARGS_END};
	sqlite3_stmt *st =
		field == NULL
			? sqx_stmt(s, ST_CONFIRM_ALL, what,
				   "UPDATE value SET confirmed_at = ?2"
				   " WHERE subject_id = ?1 AND (expires_at IS"
				   " NULL OR expires_at >= ?3)")
			: sqx_stmt(s, ST_CONFIRM_FIELD, what,
				   "UPDATE value SET confirmed_at = ?2"
				   " WHERE subject_id = ?1 AND (expires_at IS"
				   " NULL OR expires_at >= ?3) AND field = ?4");

	if (n != NULL)
		*n = 0;
	if (field != NULL)
		args[3] = SQX_T(field);
	return sqx_exec_changes(s, st, what, args, NULL, n);
}

struct review_walk {
	store_review_fn fn;
	void *ud;
};

static int review_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct review_walk *w = ud;
	const char *id = sqx_col_text(st, 0);
	const char *field = sqx_col_text(st, 1);

	if (id == NULL || field == NULL) {
		sqx_error(s, "review", "a damaged row");
		return -1;
	}
	return w->fn(w->ud, id, field, sqlite3_column_int64(st, 2)) != 0;
}

int sqx_review_walk(store *s, int64_t before, const char *today,
		    store_review_fn fn, void *ud)
{
	const char *what = "review";
	struct review_walk w = {fn, ud};
	const struct sqx_arg args[] = {SQX_I(before), SQX_T(today),
				       SQX_ARGS_END};

	/* A scan of the values: the review is an occasional task of the
	 * data protection lead, and an index on confirmation times would
	 * cost every insert of the register. */
	return sqx_walk(s,
			sqx_stmt(s, ST_REVIEW, what,
				 "SELECT subject_id, field, MIN(confirmed_at)"
				 " FROM value"
				 " WHERE confirmed_at < ?1"
				 " AND (expires_at IS NULL OR expires_at >= ?2)"
				 " GROUP BY subject_id, field ORDER BY "
				 "subject_id, field"),
			what, args, review_row, &w);
}

int sqx_bidx_find_live(store *s, const char *field,
		       const unsigned char hash[SEC_BIDX_BYTES],
		       const char *today, store_id_fn fn, void *ud)
{
	const char *what = "blind index find";
	sqlite3_stmt *st =
		sqx_stmt(s, ST_BIDX_FIND_LIVE, what,
			 "SELECT v.subject_id, " VALUE_PSEUDONYM " FROM value v"
			 " WHERE v.field = ?1 AND v.bidx = ?2"
			 " AND (v.expires_at IS NULL OR v.expires_at >= ?3)");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, field) != SQLITE_OK ||
	    sqx_bind_blob(st, 2, hash, SEC_BIDX_BYTES) != SQLITE_OK ||
	    sqx_bind_text(st, 3, today) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, what, "cannot bind");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sqx_col_text(st, 0);
		const char *ps = sqx_col_text(st, 1);
		if (id == NULL || ps == NULL) {
			sqx_done(st);
			return sqx_error(s, what, "a damaged row");
		}
		if (fn(ud, id, ps) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, what, rc);
}

int sqx_cookie_count(store *s, const char *subject_id,
		     const unsigned char *hash, int64_t *n)
{
	const char *what = "cookie count";
	/* The form without a hash has no ?2. */
	struct sqx_arg args[] = {SQX_T(subject_id), SQX_ARGS_END, SQX_ARGS_END};

	if (hash != NULL)
		args[1] = SQX_B(hash, SEC_BIDX_BYTES);
	return sqx_count(
		s,
		hash == NULL ? sqx_stmt(s, ST_COOKIE_COUNT, what,
					"SELECT count(*) FROM cookie"
					" WHERE subject_id = ?1")
			     : sqx_stmt(s, ST_COOKIE_COUNT_H, what,
					"SELECT count(*) FROM cookie"
					" WHERE subject_id = ?1 AND hash = ?2"),
		what, args, n);
}

/* ---- look-up speed: the pseudonym copies of lookup values ---- */

int sqx_value_pseudonym_mismatch(store *s, int64_t *n)
{
	const char *what = "pseudonym check";
	const struct sqx_arg args[] = {SQX_ARGS_END};

	return sqx_count(s,
			 sqx_stmt(s, ST_PSEUDONYM_MISMATCH, what,
				  "SELECT count(*) FROM value v"
				  " LEFT JOIN subject s ON s.id = v.subject_id"
				  " WHERE v.pseudonym IS NOT NULL"
				  " AND (s.pseudonym IS NULL"
				  " OR v.pseudonym <> s.pseudonym)"),
			 what, args, n);
}
