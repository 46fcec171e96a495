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
	const struct sqx_arg args[] = {SQX_T(r->subject_id),
				       SQX_T(r->type),
				       SQX_B(r->ct, r->ctlen),
				       SQX_T(r->purposes),
				       SQX_T(r->legal_basis),
				       SQX_T(r->source),
				       SQX_I(r->created_at),
				       SQX_OT(r->expires),
				       SQX_I(r->attachment_size),
				       SQX_OT(r->attachment_type),
				       SQX_OB(r->mac, SEC_HASH_BYTES),
				       SQX_OB(r->cookie_hash, SEC_BIDX_BYTES),
				       SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_INSERT, what, sql_insert), what, args,
			&r->id, NULL);
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

struct record_walk {
	const char *what;
	const char *subject_id;
	store_record_fn fn;
	void *ud;
	int found;
};

static int record_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct record_walk *w = ud;
	store_record r;

	if (fill_record(s, st, w->what, w->subject_id, &r))
		return -1;
	w->found = 1;
	return w->fn(w->ud, &r) != 0;
}

/* Runs a record query bound to (subject_id, type or id) and hands each row
 * to fn; *found (may be NULL) says whether there was one. */
static int walk_records(store *s, int slot, const char *what, const char *sql,
			const char *subject_id, const char *type, int64_t id,
			store_record_fn fn, void *ud, int *found)
{
	struct record_walk w = {what, subject_id, fn, ud, 0};
	struct sqx_arg args[] = {SQX_T(subject_id), SQX_ARGS_END, SQX_ARGS_END};
	int ret;

	if (type)
		args[1] = SQX_T(type);
	else if (slot == SL_GET)
		args[1] = SQX_I(id);
	ret = sqx_walk(s, sqx_stmt(s, slot, what, sql), what, args, record_row,
		       &w);
	if (found)
		*found = w.found;
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
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_T(type),
				       SQX_ARGS_END};

	/* sqlite3_changes counts the records, not the cascaded chunks. */
	return sqx_exec_changes(s, sqx_stmt(s, SL_DEL_TYPE, what, sql_del_type),
				what, args, NULL, deleted);
}

int sqx_chunk_put(store *s, int64_t record_id, int64_t seq,
		  const unsigned char *ct, size_t len)
{
	const char *what = "attachment chunk put";
	const struct sqx_arg args[] = {SQX_I(record_id), SQX_I(seq),
				       SQX_B(ct, len), SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_CHUNK_PUT, what, sql_chunk_put), what,
			args, NULL, NULL);
}

struct chunk_walk {
	store_chunk_fn fn;
	void *ud;
};

static int chunk_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct chunk_walk *w = ud;
	const unsigned char *ct = sqlite3_column_blob(st, 1);
	int n = sqlite3_column_bytes(st, 1);

	/* A NULL blob pointer is an empty blob or out of memory. */
	if (sqlite3_column_type(st, 1) != SQLITE_BLOB || n < 0 ||
	    (!ct && n > 0)) {
		sqx_error(s, "attachment chunk walk",
			  "damaged attachment chunk");
		return -1;
	}
	return w->fn(w->ud, sqlite3_column_int64(st, 0),
		     ct ? ct : (const unsigned char *)"", (size_t)n) != 0;
}

int sqx_chunk_walk(store *s, int64_t record_id, store_chunk_fn fn, void *ud)
{
	const char *what = "attachment chunk walk";
	struct chunk_walk w = {fn, ud};
	const struct sqx_arg args[] = {SQX_I(record_id), SQX_ARGS_END};

	return sqx_walk(s, sqx_stmt(s, SL_CHUNK_WALK, what, sql_chunk_walk),
			what, args, chunk_row, &w);
}

/* ---- rights of the data subject ------------------------------------------ */

static const char sql_set_ct[] =
	"UPDATE record SET ciphertext = ?3 WHERE subject_id = ?1 AND id = ?2";
/* Chunks go with their record (ON DELETE CASCADE); secure_delete zeroes
 * the freed cells and pages. */
static const char sql_delete[] =
	"DELETE FROM record WHERE subject_id = ?1 AND id = ?2";
/* By the record's own column, under its MAC, not through the links, which
 * no set pins: a link deleted by hand would keep its records. */
static const char sql_del_cookies[] =
	"DELETE FROM record WHERE subject_id = ?1 AND cookie_hash IS NOT NULL";
/* The subject and value rows live in store_sqlite.c's tables; these two
 * writes serve the rights above and keep their statements here. */
static const char sql_set_kind[] = "UPDATE subject SET kind = ?2 WHERE id = ?1";
static const char sql_set_expiry_row[] =
	"UPDATE value SET expires_at = ?2 WHERE id = ?1";

int sqx_record_set_ct(store *s, const char *subject_id, int64_t id,
		      const unsigned char *ct, size_t len)
{
	const char *what = "record set ciphertext";
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_I(id),
				       SQX_B(ct, len), SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_SET_CT, what, sql_set_ct), what, args,
			NULL, "no such row");
}

int sqx_record_delete(store *s, const char *subject_id, int64_t id)
{
	const char *what = "record delete";
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_I(id),
				       SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_DELETE, what, sql_delete), what, args,
			NULL, "no such row");
}

int sqx_record_delete_cookies(store *s, const char *subject_id,
			      int64_t *deleted)
{
	const char *what = "record delete by cookie";
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_ARGS_END};

	if (deleted)
		*deleted = 0;
	return sqx_exec_changes(
		s, sqx_stmt(s, SL_DEL_COOKIES, what, sql_del_cookies), what,
		args, NULL, deleted);
}

int sqx_subject_set_kind(store *s, const char *id, const char *kind)
{
	const char *what = "subject set kind";
	const struct sqx_arg args[] = {SQX_T(id), SQX_T(kind), SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_SET_KIND, what, sql_set_kind), what,
			args, NULL, "no such row");
}

int sqx_value_set_expiry_row(store *s, int64_t rowid, const char *expires)
{
	const char *what = "value set expiry";
	const struct sqx_arg args[] = {SQX_I(rowid), SQX_OT(expires),
				       SQX_ARGS_END};

	return sqx_exec(
		s, sqx_stmt(s, SL_SET_EXPIRY_ROW, what, sql_set_expiry_row),
		what, args, NULL, "no such row");
}
