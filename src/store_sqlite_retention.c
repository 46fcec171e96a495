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
	ST_COOKIE_COUNT_H
};

/* Both halves seek on their partial index (expires_at < ?1 implies NOT
 * NULL; said outright so the planner never has to infer it). */
static const char sql_due[] =
	"SELECT subject_id FROM value"
	" WHERE expires_at IS NOT NULL AND expires_at < ?1"
	" UNION SELECT subject_id FROM record"
	" WHERE expires_at IS NOT NULL AND expires_at < ?1";

static int step_changes(store *s, sqlite3_stmt *st, const char *what,
			int notfound, int64_t *n)
{
	int rc = sqlite3_step(st);
	int64_t c;

	if (rc != SQLITE_DONE)
		return sqx_fail(s, what, rc);
	c = (int64_t)sqlite3_changes64(sqx_db(s));
	if (n != NULL)
		*n = c;
	if (notfound && c == 0) {
		sqx_error(s, what, "no such row");
		return STORE_NOTFOUND;
	}
	return 0;
}

int sqx_retention_due(store *s, const char *as_of, store_id_fn fn, void *ud)
{
	const char *what = "retention due";
	sqlite3_stmt *st = sqx_stmt(s, ST_DUE, what, sql_due);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, as_of) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, what, "cannot bind");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sqx_col_text(st, 0);
		if (id == NULL) {
			sqx_done(st);
			return sqx_error(s, what, "a damaged row");
		}
		if (fn(ud, id, NULL) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, what, rc);
}

int sqx_value_delete_row(store *s, const char *subject_id, int64_t rowid)
{
	const char *what = "value delete";
	sqlite3_stmt *st =
		sqx_stmt(s, ST_VALUE_DELETE, what,
			 "DELETE FROM value WHERE id = ?2 AND subject_id = ?1");
	int ret;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, subject_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, rowid) != SQLITE_OK)
		ret = sqx_error(s, what, "cannot bind");
	else
		ret = step_changes(s, st, what, 1, NULL);
	sqx_done(st);
	return ret;
}

int sqx_record_set_expiry(store *s, int64_t id, const char *expires,
			  const unsigned char mac[SEC_HASH_BYTES])
{
	const char *what = "record set expiry";
	sqlite3_stmt *st = sqx_stmt(
		s, ST_RECORD_SET_EXPIRY, what,
		"UPDATE record SET expires_at = ?2, mac = ?3 WHERE id = ?1");
	int ret;

	if (st == NULL)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
	    sqx_bind_opt_text(st, 2, expires) != SQLITE_OK ||
	    sqx_bind_blob(st, 3, mac, SEC_HASH_BYTES) != SQLITE_OK)
		ret = sqx_error(s, what, "cannot bind");
	else
		ret = step_changes(s, st, what, 1, NULL);
	sqx_done(st);
	return ret;
}

int sqx_cookie_unlink(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t *n)
{
	const char *what = "cookie unlink";
	sqlite3_stmt *st = sqx_stmt(
		s, ST_COOKIE_UNLINK, what,
		"DELETE FROM cookie WHERE hash = ?1 AND subject_id = ?2");
	int ret;

	if (n != NULL)
		*n = 0;
	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_blob(st, 1, hash, SEC_BIDX_BYTES) != SQLITE_OK ||
	    sqx_bind_text(st, 2, subject_id) != SQLITE_OK)
		ret = sqx_error(s, what, "cannot bind");
	else
		ret = step_changes(s, st, what, 0, n);
	sqx_done(st);
	return ret;
}

int sqx_held_due(store *s, const char *as_of, size_t limit, store_held_fn fn,
		 void *ud)
{
	const char *what = "held records due";
	sqlite3_stmt *st = sqx_stmt(
		s, ST_HELD_DUE, what,
		"SELECT id, type, retention, hold_until, created_at,"
		" wrapped_key, ciphertext, attachment_size, attachment_type,"
		" mac FROM held_record WHERE hold_until < ?1"
		" ORDER BY hold_until, id LIMIT ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, as_of) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, limit == 0 ? -1 : (sqlite3_int64)limit) !=
		    SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, what, "cannot bind");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
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
		if (h.type == NULL || h.retention == NULL ||
		    h.hold_until == NULL ||
		    sqlite3_column_bytes(st, 5) != SEC_WRAPPED_BYTES ||
		    sqlite3_column_bytes(st, 9) != SEC_HASH_BYTES) {
			sqx_done(st);
			return sqx_error(s, what, "a damaged row");
		}
		if (h.ct == NULL)
			h.ct = (const unsigned char *)"";
		if (fn(ud, &h) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, what, rc);
}

int sqx_held_delete(store *s, int64_t id)
{
	const char *what = "held record delete";
	sqlite3_stmt *st = sqx_stmt(s, ST_HELD_DELETE, what,
				    "DELETE FROM held_record WHERE id = ?1");
	int ret;

	if (st == NULL)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		ret = sqx_error(s, what, "cannot bind");
	else
		ret = step_changes(s, st, what, 1, NULL);
	sqx_done(st);
	return ret;
}

int sqx_value_confirm(store *s, const char *subject_id, const char *field,
		      int64_t at, const char *today, int64_t *n)
{
	const char *what = "value confirm";
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
	int ret;

	if (n != NULL)
		*n = 0;
	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, subject_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, at) != SQLITE_OK ||
	    sqx_bind_text(st, 3, today) != SQLITE_OK ||
	    (field != NULL && sqx_bind_text(st, 4, field) != SQLITE_OK))
		ret = sqx_error(s, what, "cannot bind");
	else
		ret = step_changes(s, st, what, 0, n);
	sqx_done(st);
	return ret;
}

int sqx_review_walk(store *s, int64_t before, const char *today,
		    store_review_fn fn, void *ud)
{
	const char *what = "review";
	/* A scan of the values: the review is an occasional task of the
	 * data protection lead, and an index on confirmation times would
	 * cost every insert of the register. */
	sqlite3_stmt *st = sqx_stmt(
		s, ST_REVIEW, what,
		"SELECT subject_id, field, MIN(confirmed_at)"
		" FROM value"
		" WHERE confirmed_at < ?1"
		" AND (expires_at IS NULL OR expires_at >= ?2)"
		" GROUP BY subject_id, field ORDER BY subject_id, field");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, before) != SQLITE_OK ||
	    sqx_bind_text(st, 2, today) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, what, "cannot bind");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sqx_col_text(st, 0);
		const char *field = sqx_col_text(st, 1);
		if (id == NULL || field == NULL) {
			sqx_done(st);
			return sqx_error(s, what, "a damaged row");
		}
		if (fn(ud, id, field, sqlite3_column_int64(st, 2)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, what, rc);
}

int sqx_bidx_find_live(store *s, const char *field,
		       const unsigned char hash[SEC_BIDX_BYTES],
		       const char *today, store_id_fn fn, void *ud)
{
	const char *what = "blind index find";
	sqlite3_stmt *st =
		sqx_stmt(s, ST_BIDX_FIND_LIVE, what,
			 "SELECT v.subject_id, s.pseudonym"
			 " FROM value v JOIN subject s ON s.id = v.subject_id"
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
	sqlite3_stmt *st =
		hash == NULL ? sqx_stmt(s, ST_COOKIE_COUNT, what,
					"SELECT count(*) FROM cookie"
					" WHERE subject_id = ?1")
			     : sqx_stmt(s, ST_COOKIE_COUNT_H, what,
					"SELECT count(*) FROM cookie"
					" WHERE subject_id = ?1 AND hash = ?2");
	int rc;

	*n = 0;
	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, subject_id) != SQLITE_OK ||
	    (hash != NULL &&
	     sqx_bind_blob(st, 2, hash, SEC_BIDX_BYTES) != SQLITE_OK)) {
		sqx_done(st);
		return sqx_error(s, what, "cannot bind");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqx_done(st);
	return rc == SQLITE_ROW ? 0 : sqx_fail(s, what, rc);
}
