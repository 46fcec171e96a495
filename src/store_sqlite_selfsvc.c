/*
 * store_sqlite_selfsvc.c: self-service links and sessions in the SQLite
 * backend (slots SQX_SELFSVC + 0..15). A row is found by the keyed hash of
 * its secret; the secret itself never reaches the database.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	SL_INSERT = SQX_SELFSVC + 0,
	SL_GET = SQX_SELFSVC + 1,
	SL_USE = SQX_SELFSVC + 2,
	SL_COUNT = SQX_SELFSVC + 3,
	SL_PURGE = SQX_SELFSVC + 4,
	SL_PURGE_ONE = SQX_SELFSVC + 5,
	SL_WALK = SQX_SELFSVC + 6,
	SL_SELECT_SUBJECT = SQX_SELFSVC + 7,
	SL_SELECT_EXPIRED = SQX_SELFSVC + 8,
	SL_OPENED = SQX_SELFSVC + 9
};

static const char sql_insert[] =
	"INSERT INTO selfsvc (hash, subject_id, kind, created_at, expires_at,"
	" used_at, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_get[] =
	"SELECT subject_id, kind, created_at, expires_at, used_at, mac"
	" FROM selfsvc WHERE hash = ?1";
static const char sql_use[] =
	"UPDATE selfsvc SET used_at = ?2, mac = ?3 WHERE hash = ?1"
	" AND used_at = 0";
static const char sql_count[] =
	"SELECT count(*) FROM selfsvc WHERE subject_id = ?1 AND kind = ?2"
	" AND used_at = 0 AND expires_at > ?3";
static const char sql_purge[] = "DELETE FROM selfsvc WHERE expires_at <= ?1";
static const char sql_purge_one[] = "DELETE FROM selfsvc WHERE hash = ?1";
static const char sql_walk[] =
	"SELECT hash, subject_id, kind, created_at, expires_at, used_at, mac"
	" FROM selfsvc ORDER BY hash";

int sqx_selfsvc_insert(store *s, const store_selfsvc *row)
{
	static const char what[] = "self-service insert";
	const struct sqx_arg args[] = {SQX_B(row->hash, SEC_HASH_BYTES),
				       SQX_T(row->subject_id),
				       SQX_I(row->kind),
				       SQX_I(row->created_at),
				       SQX_I(row->expires_at),
				       SQX_I(row->used_at),
				       SQX_B(row->mac, SEC_HASH_BYTES),
				       SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_INSERT, what, sql_insert), what, args,
			NULL, NULL);
}

/* Fills row from the columns subject_id .. mac, which start at column o
 * (sql_get: 0, sql_walk: 1, after the hash). */
static int fill(store *s, sqlite3_stmt *st, int o, store_selfsvc *row,
		const char *what)
{
	if (sqx_col_str(st, o, row->subject_id, sizeof row->subject_id, 0) !=
		    0 ||
	    sqlite3_column_bytes(st, o + 5) != SEC_HASH_BYTES) {
		sqx_error(s, what, "damaged self-service row");
		return -1;
	}
	row->kind = sqlite3_column_int(st, o + 1);
	row->created_at = sqlite3_column_int64(st, o + 2);
	row->expires_at = sqlite3_column_int64(st, o + 3);
	row->used_at = sqlite3_column_int64(st, o + 4);
	memcpy(row->mac, sqlite3_column_blob(st, o + 5), SEC_HASH_BYTES);
	return 0;
}

static int get_row(store *s, sqlite3_stmt *st, void *ud)
{
	return fill(s, st, 0, ud, "self-service get");
}

int sqx_selfsvc_get(store *s, const unsigned char *hash, store_selfsvc *out)
{
	static const char what[] = "self-service get";
	unsigned char h[SEC_HASH_BYTES];
	const struct sqx_arg args[] = {SQX_B(h, SEC_HASH_BYTES), SQX_ARGS_END};
	int ret;

	/* hash may point into out */
	memcpy(h, hash, sizeof h);
	memset(out, 0, sizeof *out);
	ret = sqx_one(s, sqx_stmt(s, SL_GET, what, sql_get), what, args, NULL,
		      get_row, out);
	if (ret == 0)
		memcpy(out->hash, h, SEC_HASH_BYTES);
	return ret;
}

int sqx_selfsvc_use(store *s, const unsigned char *hash, int64_t at,
		    const unsigned char *mac)
{
	static const char what[] = "self-service use";
	const struct sqx_arg args[] = {SQX_B(hash, SEC_HASH_BYTES), SQX_I(at),
				       SQX_B(mac, SEC_HASH_BYTES),
				       SQX_ARGS_END};

	/* The hash is the key: no change means no unused row. */
	return sqx_exec(s, sqx_stmt(s, SL_USE, what, sql_use), what, args, NULL,
			"");
}

int sqx_selfsvc_count(store *s, const char *subject_id, int kind, int64_t now,
		      int64_t *n)
{
	static const char what[] = "self-service count";
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_I(kind),
				       SQX_I(now), SQX_ARGS_END};

	return sqx_count(s, sqx_stmt(s, SL_COUNT, what, sql_count), what, args,
			 n);
}

int sqx_selfsvc_purge(store *s, int64_t now, const unsigned char *hash)
{
	static const char what[] = "self-service purge";
	const struct sqx_arg one[] = {SQX_B(hash, SEC_HASH_BYTES),
				      SQX_ARGS_END};
	const struct sqx_arg old[] = {SQX_I(now), SQX_ARGS_END};

	if (hash != NULL)
		return sqx_exec(s,
				sqx_stmt(s, SL_PURGE_ONE, what, sql_purge_one),
				what, one, NULL, NULL);
	return sqx_exec(s, sqx_stmt(s, SL_PURGE, what, sql_purge), what, old,
			NULL, NULL);
}

struct walk {
	int (*fn)(void *ud, const store_selfsvc *row);
	void *ud;
};

static int walk_row(store *s, sqlite3_stmt *st, void *ud)
{
	static const char what[] = "self-service walk";
	struct walk *w = ud;
	store_selfsvc row;

	memset(&row, 0, sizeof row);
	if (sqlite3_column_bytes(st, 0) != SEC_HASH_BYTES) {
		sqx_error(s, what, "damaged self-service row");
		return -1;
	}
	if (fill(s, st, 1, &row, what) != 0)
		return -1;
	memcpy(row.hash, sqlite3_column_blob(st, 0), SEC_HASH_BYTES);
	return w->fn(w->ud, &row) != 0;
}

int sqx_selfsvc_walk(store *s, int (*fn)(void *ud, const store_selfsvc *row),
		     void *ud)
{
	static const char what[] = "self-service walk";
	struct walk w = {fn, ud};

	return sqx_walk(s, sqx_stmt(s, SL_WALK, what, sql_walk), what, NULL,
			walk_row, &w);
}

/* ---- the rows about to go, for their set's pin ---- */

static const char sql_select_subject[] =
	"SELECT hash, subject_id, kind, created_at, expires_at, used_at, mac"
	" FROM selfsvc WHERE subject_id = ?1";
static const char sql_select_expired[] =
	"SELECT hash, subject_id, kind, created_at, expires_at, used_at, mac"
	" FROM selfsvc WHERE expires_at <= ?1";

int sqx_selfsvc_select(store *s, const char *subject_id, int64_t now,
		       int (*fn)(void *ud, const store_selfsvc *row), void *ud)
{
	static const char what[] = "self-service select";
	struct walk w = {fn, ud};
	const struct sqx_arg subj[] = {SQX_T(subject_id), SQX_ARGS_END};
	const struct sqx_arg old[] = {SQX_I(now), SQX_ARGS_END};

	if (subject_id != NULL)
		return sqx_walk(s,
				sqx_stmt(s, SL_SELECT_SUBJECT, what,
					 sql_select_subject),
				what, subj, walk_row, &w);
	return sqx_walk(
		s, sqx_stmt(s, SL_SELECT_EXPIRED, what, sql_select_expired),
		what, old, walk_row, &w);
}

/* ---- a link's earlier opens in the trail ---- */

/* The terms of the partial index audit_selfsvc_open (migration 16) are
 * spelled as it has them, so that SQLite uses it. */
static const char sql_opened[] =
	"SELECT count(*) FROM audit WHERE action = 'selfservice.open'"
	" AND outcome = 'ok' AND fields = ?2 AND subject = ?1";

int sqx_audit_link_opened(store *s, const char *subject, const char *fields,
			  int64_t *n)
{
	static const char what[] = "self-service opens";
	const struct sqx_arg args[] = {SQX_T(subject), SQX_T(fields),
				       SQX_ARGS_END};

	return sqx_count(s, sqx_stmt(s, SL_OPENED, what, sql_opened), what,
			 args, n);
}
