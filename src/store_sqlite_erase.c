/*
 * store_sqlite_erase.c: erasures and the records kept under a legal hold
 * after them, in the SQLite backend. These tables are not data of a
 * subject: a restore leaves them as they are live.
 */
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	ST_ERASURE_ADD = SQX_ERASE,
	ST_ERASURE_GET,
	ST_HELD_INSERT,
	ST_HELD_CHUNK,
	ST_ERASURE_WALK,
	ST_HELD_WALK
};

int sqx_erasure_add(store *s, const store_erasure *e)
{
	sqlite3_stmt *st = sqx_stmt(
		s, ST_ERASURE_ADD, "erasure add",
		"INSERT INTO erasure (tag, erased_on, held, mac)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tag) DO NOTHING");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_blob(st, 1, e->tag, sizeof e->tag) != SQLITE_OK ||
	    sqx_bind_text(st, 2, e->erased_on) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, e->held) != SQLITE_OK ||
	    sqx_bind_blob(st, 4, e->mac, sizeof e->mac) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "erasure add", "cannot bind");
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, "erasure add", rc);
}

int sqx_erasure_get(store *s, const unsigned char tag[SEC_HASH_BYTES],
		    store_erasure *out)
{
	sqlite3_stmt *st = sqx_stmt(s, ST_ERASURE_GET, "erasure get",
				    "SELECT erased_on, held, mac FROM erasure"
				    " WHERE tag = ?1");
	unsigned char key[SEC_HASH_BYTES];
	int rc, ret = STORE_ERR;

	if (st == NULL)
		return STORE_ERR;
	/* tag may point into out, which is cleared below */
	memcpy(key, tag, sizeof key);
	memset(out, 0, sizeof *out);
	if (sqx_bind_blob(st, 1, key, sizeof key) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "erasure get", "cannot bind");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
	} else if (rc != SQLITE_ROW) {
		sqx_fail(s, "erasure get", rc);
	} else if (sqx_col_str(st, 0, out->erased_on, sizeof out->erased_on,
			       0) != 0 ||
		   sqlite3_column_bytes(st, 2) != SEC_HASH_BYTES) {
		sqx_error(s, "erasure get", "a damaged row");
	} else {
		memcpy(out->tag, key, sizeof out->tag);
		out->held = sqlite3_column_int64(st, 1);
		memcpy(out->mac, sqlite3_column_blob(st, 2), sizeof out->mac);
		ret = 0;
	}
	sqx_done(st);
	return ret;
}

int sqx_held_insert(store *s, const store_held *h)
{
	sqlite3_stmt *st = sqx_stmt(
		s, ST_HELD_INSERT, "held record insert",
		"INSERT INTO held_record (id, type, retention, hold_until,"
		" created_at, wrapped_key, ciphertext, attachment_size,"
		" attachment_type, mac)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, h->id) != SQLITE_OK ||
	    sqx_bind_text(st, 2, h->type) != SQLITE_OK ||
	    sqx_bind_text(st, 3, h->retention) != SQLITE_OK ||
	    sqx_bind_text(st, 4, h->hold_until) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, h->created_at) != SQLITE_OK ||
	    sqx_bind_blob(st, 6, h->wrapped_key, SEC_WRAPPED_BYTES) !=
		    SQLITE_OK ||
	    sqx_bind_blob(st, 7, h->ct, h->ctlen) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, h->attachment_size) != SQLITE_OK ||
	    sqx_bind_opt_text(st, 9, h->attachment_type) != SQLITE_OK ||
	    sqx_bind_blob(st, 10, h->mac, SEC_HASH_BYTES) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "held record insert", "cannot bind");
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, "held record insert", rc);
}

int sqx_held_chunk_put(store *s, int64_t record_id, int64_t seq,
		       const unsigned char *ct, size_t len)
{
	sqlite3_stmt *st = sqx_stmt(s, ST_HELD_CHUNK, "held chunk put",
				    "INSERT INTO held_chunk (record_id, seq,"
				    " ciphertext) VALUES (?1, ?2, ?3)");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, record_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, seq) != SQLITE_OK ||
	    sqx_bind_blob(st, 3, ct, len) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "held chunk put", "cannot bind");
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, "held chunk put", rc);
}

int sqx_erasure_walk(store *s, store_erasure_fn fn, void *ud)
{
	sqlite3_stmt *st = sqx_stmt(s, ST_ERASURE_WALK, "erasure walk",
				    "SELECT tag, erased_on, held, mac FROM"
				    " erasure ORDER BY tag");
	store_erasure e;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof e);
		if (sqlite3_column_bytes(st, 0) != SEC_HASH_BYTES ||
		    sqlite3_column_bytes(st, 3) != SEC_HASH_BYTES ||
		    sqx_col_str(st, 1, e.erased_on, sizeof e.erased_on, 0) !=
			    0) {
			/* a damaged row: a zero tag and MAC fail the check */
			memset(&e, 0, sizeof e);
		} else {
			memcpy(e.tag, sqlite3_column_blob(st, 0), sizeof e.tag);
			memcpy(e.mac, sqlite3_column_blob(st, 3), sizeof e.mac);
		}
		e.held = sqlite3_column_int64(st, 2);
		if (fn(ud, &e) != 0) {
			sqx_done(st);
			return 0;
		}
	}
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, "erasure walk", rc);
}

int sqx_held_walk(store *s, store_held_fn fn, void *ud)
{
	sqlite3_stmt *st = sqx_stmt(
		s, ST_HELD_WALK, "held record walk",
		"SELECT id, type, retention, hold_until, created_at,"
		" wrapped_key, ciphertext, attachment_size, attachment_type,"
		" mac FROM held_record ORDER BY id");
	static const unsigned char zero[SEC_HASH_BYTES];
	unsigned char wk[SEC_WRAPPED_BYTES];
	store_held h;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&h, 0, sizeof h);
		memset(wk, 0, sizeof wk);
		h.id = sqlite3_column_int64(st, 0);
		h.type = sqx_col_text(st, 1);
		h.retention = sqx_col_text(st, 2);
		h.hold_until = sqx_col_text(st, 3);
		h.created_at = sqlite3_column_int64(st, 4);
		if (sqlite3_column_bytes(st, 5) == SEC_WRAPPED_BYTES)
			memcpy(wk, sqlite3_column_blob(st, 5), sizeof wk);
		h.wrapped_key = wk;
		h.ct = sqlite3_column_blob(st, 6);
		h.ctlen = (size_t)sqlite3_column_bytes(st, 6);
		h.attachment_size = sqlite3_column_int64(st, 7);
		h.attachment_type = sqx_col_text(st, 8);
		h.mac = sqlite3_column_bytes(st, 9) == SEC_HASH_BYTES
				? sqlite3_column_blob(st, 9)
				: zero;
		if (fn(ud, &h) != 0) {
			sqx_done(st);
			return 0;
		}
	}
	sqx_done(st);
	return rc == SQLITE_DONE ? 0 : sqx_fail(s, "held record walk", rc);
}
