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
	static const char what[] = "erasure add";
	const struct sqx_arg args[] = {
		SQX_B(e->tag, sizeof e->tag), SQX_T(e->erased_on),
		SQX_I(e->held), SQX_B(e->mac, sizeof e->mac), SQX_ARGS_END};

	return sqx_exec(
		s,
		sqx_stmt(s, ST_ERASURE_ADD, what,
			 "INSERT INTO erasure (tag, erased_on, held, mac)"
			 " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tag) DO "
			 "NOTHING"),
		what, args, NULL, NULL);
}

static int erasure_get_row(store *s, sqlite3_stmt *st, void *ud)
{
	store_erasure *out = ud;

	if (sqx_col_str(st, 0, out->erased_on, sizeof out->erased_on, 0) != 0 ||
	    sqlite3_column_bytes(st, 2) != SEC_HASH_BYTES) {
		sqx_error(s, "erasure get", "a damaged row");
		return -1;
	}
	out->held = sqlite3_column_int64(st, 1);
	memcpy(out->mac, sqlite3_column_blob(st, 2), sizeof out->mac);
	return 0;
}

int sqx_erasure_get(store *s, const unsigned char tag[SEC_HASH_BYTES],
		    store_erasure *out)
{
	static const char what[] = "erasure get";
	unsigned char key[SEC_HASH_BYTES];
	const struct sqx_arg args[] = {SQX_B(key, sizeof key), SQX_ARGS_END};
	int ret;

	/* tag may point into out, which is cleared below */
	memcpy(key, tag, sizeof key);
	memset(out, 0, sizeof *out);
	ret = sqx_one(s,
		      sqx_stmt(s, ST_ERASURE_GET, what,
			       "SELECT erased_on, held, mac FROM erasure"
			       " WHERE tag = ?1"),
		      what, args, NULL, erasure_get_row, out);
	if (ret == 0)
		memcpy(out->tag, key, sizeof out->tag);
	return ret;
}

int sqx_held_insert(store *s, const store_held *h)
{
	static const char what[] = "held record insert";
	const struct sqx_arg args[] = {SQX_I(h->id),
				       SQX_T(h->type),
				       SQX_T(h->retention),
				       SQX_T(h->hold_until),
				       SQX_I(h->created_at),
				       SQX_B(h->wrapped_key, SEC_WRAPPED_BYTES),
				       SQX_B(h->ct, h->ctlen),
				       SQX_I(h->attachment_size),
				       SQX_OT(h->attachment_type),
				       SQX_B(h->mac, SEC_HASH_BYTES),
				       SQX_ARGS_END};

	return sqx_exec(
		s,
		sqx_stmt(s, ST_HELD_INSERT, what,
			 "INSERT INTO held_record (id, type, retention,"
			 " hold_until, created_at, wrapped_key, ciphertext,"
			 " attachment_size, attachment_type, mac)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
		what, args, NULL, NULL);
}

int sqx_held_chunk_put(store *s, int64_t record_id, int64_t seq,
		       const unsigned char *ct, size_t len)
{
	static const char what[] = "held chunk put";
	const struct sqx_arg args[] = {SQX_I(record_id), SQX_I(seq),
				       SQX_B(ct, len), SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_HELD_CHUNK, what,
				 "INSERT INTO held_chunk (record_id, seq,"
				 " ciphertext) VALUES (?1, ?2, ?3)"),
			what, args, NULL, NULL);
}

struct erasure_walk {
	store_erasure_fn fn;
	void *ud;
};

static int erasure_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct erasure_walk *w = ud;
	store_erasure e;

	(void)s;
	memset(&e, 0, sizeof e);
	if (sqlite3_column_bytes(st, 0) != SEC_HASH_BYTES ||
	    sqlite3_column_bytes(st, 3) != SEC_HASH_BYTES ||
	    sqx_col_str(st, 1, e.erased_on, sizeof e.erased_on, 0) != 0) {
		/* a damaged row: a zero tag and MAC fail the check */
		memset(&e, 0, sizeof e);
	} else {
		memcpy(e.tag, sqlite3_column_blob(st, 0), sizeof e.tag);
		memcpy(e.mac, sqlite3_column_blob(st, 3), sizeof e.mac);
	}
	e.held = sqlite3_column_int64(st, 2);
	return w->fn(w->ud, &e) != 0;
}

int sqx_erasure_walk(store *s, store_erasure_fn fn, void *ud)
{
	static const char what[] = "erasure walk";
	struct erasure_walk w = {fn, ud};

	return sqx_walk(s,
			sqx_stmt(s, ST_ERASURE_WALK, what,
				 "SELECT tag, erased_on, held, mac FROM"
				 " erasure ORDER BY tag"),
			what, NULL, erasure_row, &w);
}

struct held_walk {
	store_held_fn fn;
	void *ud;
};

static int held_row(store *s, sqlite3_stmt *st, void *ud)
{
	static const unsigned char zero[SEC_HASH_BYTES];
	struct held_walk *w = ud;
	unsigned char wk[SEC_WRAPPED_BYTES];
	store_held h;

	(void)s;
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
	return w->fn(w->ud, &h) != 0;
}

int sqx_held_walk(store *s, store_held_fn fn, void *ud)
{
	static const char what[] = "held record walk";
	struct held_walk w = {fn, ud};

	return sqx_walk(
		s,
		sqx_stmt(s, ST_HELD_WALK, what,
			 "SELECT id, type, retention, hold_until, created_at,"
			 " wrapped_key, ciphertext, attachment_size,"
			 " attachment_type, mac FROM held_record ORDER BY id"),
		what, NULL, held_row, &w);
}
