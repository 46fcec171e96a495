/*
 * store_sqlite_record.c: relationship records and their attachment chunks
 * in the SQLite backend (slots SQX_RECORD + 0..15). The rows hold only
 * ciphertext, names of policy items, dates and sizes. Values travel as bound
 * parameters only.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	SL_INSERT = SQX_RECORD + 0,
	SL_LIST = SQX_RECORD + 1,
	SL_LIST_T = SQX_RECORD + 2,
	SL_GET = SQX_RECORD + 3,
	SL_DEL_TYPE = SQX_RECORD + 4,
	SL_CHUNK_PUT = SQX_RECORD + 5,
	SL_CHUNK_WALK = SQX_RECORD + 6,
	SL_SET_MAC = SQX_RECORD + 7,
	SL_SET_CT = SQX_RECORD + 8,
	SL_DELETE = SQX_RECORD + 9,
	SL_DEL_COOKIES = SQX_RECORD + 10,
	SL_SET_KIND = SQX_RECORD + 11,
	SL_SET_EXPIRY_ROW = SQX_RECORD + 12
};

#define RECORD_COLS                                                            \
	"SELECT id, type, ciphertext, purposes, legal_basis, source,"          \
	" created_at, expires_at, attachment_size, attachment_type, mac,"      \
	" cookie_hash FROM record"

/* Separate statements for "all types" and "one type", so that the planner
 * seeks on the (subject_id, type) index either way. */
static const char sql_insert[] =
	"INSERT INTO record (subject_id, type, ciphertext, purposes,"
	" legal_basis, source, created_at, expires_at, attachment_size,"
	" attachment_type, mac, cookie_hash)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char sql_set_mac[] = "UPDATE record SET mac = ?2 WHERE id = ?1";
static const char sql_list[] = RECORD_COLS " WHERE subject_id = ?1 ORDER BY id";
static const char sql_list_t[] =
	RECORD_COLS " WHERE subject_id = ?1 AND type = ?2 ORDER BY id";
static const char sql_get[] = RECORD_COLS " WHERE subject_id = ?1 AND id = ?2";
/* Chunks go with their record (ON DELETE CASCADE, foreign keys on). */
static const char sql_del_type[] =
	"DELETE FROM record WHERE subject_id = ?1 AND type = ?2";
static const char sql_chunk_put[] =
	"INSERT INTO attachment_chunk (record_id, seq, ciphertext)"
	" VALUES (?1, ?2, ?3)";
static const char sql_chunk_walk[] =
	"SELECT seq, ciphertext FROM attachment_chunk WHERE record_id = ?1"
	" ORDER BY seq";

int sqx_record_insert(store *s, store_record *r)
{
	const char *what = "record insert";
	sqlite3_stmt *st = sqx_stmt(s, SL_INSERT, what, sql_insert);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, r->subject_id)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, r->type)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 3, r->ct, r->ctlen)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 4, r->purposes)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 5, r->legal_basis)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 6, r->source)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 7, r->created_at)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 8, r->expires)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 9, r->attachment_size)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 10, r->attachment_type)) != SQLITE_OK ||
	    (rc = r->mac ? sqx_bind_blob(st, 11, r->mac, SEC_HASH_BYTES)
			 : sqlite3_bind_null(st, 11)) != SQLITE_OK ||
	    (rc = r->cookie_hash ? sqx_bind_blob(st, 12, r->cookie_hash,
						 SEC_BIDX_BYTES)
				 : sqlite3_bind_null(st, 12)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	r->id = sqlite3_last_insert_rowid(sqx_db(s));
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_record_set_mac(store *s, int64_t id,
		       const unsigned char mac[SEC_HASH_BYTES])
{
	return sqx_set_mac(s, SL_SET_MAC, "record set mac", sql_set_mac, id,
			   mac);
}

/* Fills r from a RECORD_COLS row; strings point into the statement. */
static int fill_record(store *s, sqlite3_stmt *st, const char *what,
		       const char *subject_id, store_record *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	r->subject_id = subject_id;
	r->type = sqx_col_text(st, 1);
	r->ct = sqlite3_column_blob(st, 2);
	r->ctlen = (size_t)sqlite3_column_bytes(st, 2);
	r->purposes = sqx_col_text(st, 3);
	r->legal_basis = sqx_col_text(st, 4);
	r->source = sqx_col_text(st, 5);
	r->created_at = sqlite3_column_int64(st, 6);
	r->expires = sqx_col_text(st, 7);
	r->attachment_size = sqlite3_column_int64(st, 8);
	r->attachment_type = sqx_col_text(st, 9);
	/* A MAC of the wrong size reads as absent: the check refuses it. */
	if (sqlite3_column_bytes(st, 10) == SEC_HASH_BYTES)
		r->mac = sqlite3_column_blob(st, 10);
	/* A hash of the wrong size reads as present but wrong: the MAC
	 * check refuses the row (it covers the hash). */
	if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
		static const unsigned char bad[SEC_BIDX_BYTES];
		r->cookie_hash = sqlite3_column_bytes(st, 11) == SEC_BIDX_BYTES
					 ? sqlite3_column_blob(st, 11)
					 : bad;
		if (r->cookie_hash == NULL)
			r->cookie_hash = bad;
	}
	if (!r->type || !r->ct || !r->purposes || !r->legal_basis || !r->source)
		return sqx_error(s, what, "damaged record row");
	return 0;
}

/* Runs a record query bound to (subject_id, text or id) and hands each row
 * to fn. */
static int walk_records(store *s, int slot, const char *what, const char *sql,
			const char *subject_id, const char *type, int64_t id,
			store_record_fn fn, void *ud, int *found)
{
	sqlite3_stmt *st = sqx_stmt(s, slot, what, sql);
	store_record r;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	rc = sqx_bind_text(st, 1, subject_id);
	if (rc == SQLITE_OK && type)
		rc = sqx_bind_text(st, 2, type);
	else if (rc == SQLITE_OK && slot == SL_GET)
		rc = sqlite3_bind_int64(st, 2, id);
	if (rc != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fill_record(s, st, what, subject_id, &r))
			goto out;
		if (found)
			*found = 1;
		if (fn(ud, &r)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_record_list(store *s, const char *subject_id, const char *type,
		    store_record_fn fn, void *ud)
{
	if (type)
		return walk_records(s, SL_LIST_T, "record list", sql_list_t,
				    subject_id, type, 0, fn, ud, NULL);
	return walk_records(s, SL_LIST, "record list", sql_list, subject_id,
			    NULL, 0, fn, ud, NULL);
}

int sqx_record_get(store *s, const char *subject_id, int64_t id,
		   store_record_fn fn, void *ud)
{
	int found = 0;

	if (walk_records(s, SL_GET, "record get", sql_get, subject_id, NULL, id,
			 fn, ud, &found))
		return STORE_ERR;
	if (!found) {
		sqx_error(s, "record get", "no such record");
		return STORE_NOTFOUND;
	}
	return 0;
}

int sqx_record_delete_type(store *s, const char *subject_id, const char *type,
			   int64_t *deleted)
{
	const char *what = "record delete";
	sqlite3_stmt *st = sqx_stmt(s, SL_DEL_TYPE, what, sql_del_type);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, type)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	/* sqlite3_changes counts the records, not the cascaded chunks. */
	if (deleted)
		*deleted = (int64_t)sqlite3_changes64(sqx_db(s));
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_chunk_put(store *s, int64_t record_id, int64_t seq,
		  const unsigned char *ct, size_t len)
{
	const char *what = "attachment chunk put";
	sqlite3_stmt *st = sqx_stmt(s, SL_CHUNK_PUT, what, sql_chunk_put);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, record_id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, seq)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 3, ct, len)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_chunk_walk(store *s, int64_t record_id, store_chunk_fn fn, void *ud)
{
	const char *what = "attachment chunk walk";
	sqlite3_stmt *st = sqx_stmt(s, SL_CHUNK_WALK, what, sql_chunk_walk);
	const unsigned char *ct;
	int rc, ret = STORE_ERR;
	int n;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, record_id)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ct = sqlite3_column_blob(st, 1);
		n = sqlite3_column_bytes(st, 1);
		/* A NULL blob pointer is an empty blob or out of memory. */
		if (sqlite3_column_type(st, 1) != SQLITE_BLOB || n < 0 ||
		    (!ct && n > 0)) {
			sqx_error(s, what, "damaged attachment chunk");
			goto out;
		}
		if (fn(ud, sqlite3_column_int64(st, 0),
		       ct ? ct : (const unsigned char *)"", (size_t)n)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

/* ---- rights of the data subject ------------------------------------------ */

static const char sql_set_ct[] =
	"UPDATE record SET ciphertext = ?3 WHERE subject_id = ?1 AND id = ?2";
/* Chunks go with their record (ON DELETE CASCADE); secure_delete zeroes
 * the freed cells and pages. */
static const char sql_delete[] =
	"DELETE FROM record WHERE subject_id = ?1 AND id = ?2";
static const char sql_del_cookies[] =
	"DELETE FROM record WHERE subject_id = ?1 AND cookie_hash IN"
	" (SELECT hash FROM cookie WHERE subject_id = ?1)";
/* The subject and value rows live in store_sqlite.c's tables; these two
 * writes serve the rights above and keep their statements here. */
static const char sql_set_kind[] = "UPDATE subject SET kind = ?2 WHERE id = ?1";
static const char sql_set_expiry_row[] =
	"UPDATE value SET expires_at = ?2 WHERE id = ?1";

/* Steps a bound write; STORE_NOTFOUND when it changed no row (if
 * notfound is set), *changed gets the count. */
static int step_write(store *s, sqlite3_stmt *st, const char *what,
		      int notfound, int64_t *changed)
{
	int rc = sqlite3_step(st);
	int64_t n;

	if (rc != SQLITE_DONE)
		return sqx_fail(s, what, rc);
	n = (int64_t)sqlite3_changes64(sqx_db(s));
	if (changed)
		*changed = n;
	if (notfound && n == 0) {
		sqx_error(s, what, "no such row");
		return STORE_NOTFOUND;
	}
	return 0;
}

int sqx_record_set_ct(store *s, const char *subject_id, int64_t id,
		      const unsigned char *ct, size_t len)
{
	const char *what = "record set ciphertext";
	sqlite3_stmt *st = sqx_stmt(s, SL_SET_CT, what, sql_set_ct);
	int rc, ret;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, id)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 3, ct, len)) != SQLITE_OK)
		ret = sqx_fail(s, what, rc);
	else
		ret = step_write(s, st, what, 1, NULL);
	sqx_done(st);
	return ret;
}

int sqx_record_delete(store *s, const char *subject_id, int64_t id)
{
	const char *what = "record delete";
	sqlite3_stmt *st = sqx_stmt(s, SL_DELETE, what, sql_delete);
	int rc, ret;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, id)) != SQLITE_OK)
		ret = sqx_fail(s, what, rc);
	else
		ret = step_write(s, st, what, 1, NULL);
	sqx_done(st);
	return ret;
}

int sqx_record_delete_cookies(store *s, const char *subject_id,
			      int64_t *deleted)
{
	const char *what = "record delete by cookie";
	sqlite3_stmt *st = sqx_stmt(s, SL_DEL_COOKIES, what, sql_del_cookies);
	int rc, ret;

	if (deleted)
		*deleted = 0;
	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK)
		ret = sqx_fail(s, what, rc);
	else
		ret = step_write(s, st, what, 0, deleted);
	sqx_done(st);
	return ret;
}

int sqx_subject_set_kind(store *s, const char *id, const char *kind)
{
	const char *what = "subject set kind";
	sqlite3_stmt *st = sqx_stmt(s, SL_SET_KIND, what, sql_set_kind);
	int rc, ret;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, id)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, kind)) != SQLITE_OK)
		ret = sqx_fail(s, what, rc);
	else
		ret = step_write(s, st, what, 1, NULL);
	sqx_done(st);
	return ret;
}

int sqx_value_set_expiry_row(store *s, int64_t rowid, const char *expires)
{
	const char *what = "value set expiry";
	sqlite3_stmt *st =
		sqx_stmt(s, SL_SET_EXPIRY_ROW, what, sql_set_expiry_row);
	int rc, ret;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, rowid)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 2, expires)) != SQLITE_OK)
		ret = sqx_fail(s, what, rc);
	else
		ret = step_write(s, st, what, 1, NULL);
	sqx_done(st);
	return ret;
}
