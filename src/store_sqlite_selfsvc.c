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
	SL_WALK = SQX_SELFSVC + 6
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
	sqlite3_stmt *st = sqx_stmt(s, SL_INSERT, what, sql_insert);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_blob(st, 1, row->hash, SEC_HASH_BYTES)) !=
		    SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, row->subject_id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, row->kind)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, row->created_at)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, row->expires_at)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 6, row->used_at)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 7, row->mac, SEC_HASH_BYTES)) !=
		    SQLITE_OK) {
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

int sqx_selfsvc_get(store *s, const unsigned char *hash, store_selfsvc *out)
{
	static const char what[] = "self-service get";
	sqlite3_stmt *st = sqx_stmt(s, SL_GET, what, sql_get);
	unsigned char h[SEC_HASH_BYTES];
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	/* hash may point into out */
	memcpy(h, hash, sizeof h);
	memset(out, 0, sizeof *out);
	if ((rc = sqx_bind_blob(st, 1, h, SEC_HASH_BYTES)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sqx_fail(s, what, rc);
		goto out;
	}
	if (sqx_col_str(st, 0, out->subject_id, sizeof out->subject_id, 0) !=
		    0 ||
	    sqlite3_column_bytes(st, 5) != SEC_HASH_BYTES) {
		sqx_error(s, what, "damaged self-service row");
		goto out;
	}
	memcpy(out->hash, h, SEC_HASH_BYTES);
	out->kind = sqlite3_column_int(st, 1);
	out->created_at = sqlite3_column_int64(st, 2);
	out->expires_at = sqlite3_column_int64(st, 3);
	out->used_at = sqlite3_column_int64(st, 4);
	memcpy(out->mac, sqlite3_column_blob(st, 5), SEC_HASH_BYTES);
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_selfsvc_use(store *s, const unsigned char *hash, int64_t at,
		    const unsigned char *mac)
{
	static const char what[] = "self-service use";
	sqlite3_stmt *st = sqx_stmt(s, SL_USE, what, sql_use);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_blob(st, 1, hash, SEC_HASH_BYTES)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, at)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 3, mac, SEC_HASH_BYTES)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	ret = sqlite3_changes(sqx_db(s)) == 1 ? 0 : STORE_NOTFOUND;
out:
	sqx_done(st);
	return ret;
}

int sqx_selfsvc_count(store *s, const char *subject_id, int kind, int64_t now,
		      int64_t *n)
{
	static const char what[] = "self-service count";
	sqlite3_stmt *st = sqx_stmt(s, SL_COUNT, what, sql_count);
	int rc, ret = STORE_ERR;

	*n = 0;
	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, kind)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, now)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqx_fail(s, what, rc);
		goto out;
	}
	*n = sqlite3_column_int64(st, 0);
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_selfsvc_purge(store *s, int64_t now, const unsigned char *hash)
{
	static const char what[] = "self-service purge";
	sqlite3_stmt *st =
		hash != NULL ? sqx_stmt(s, SL_PURGE_ONE, what, sql_purge_one)
			     : sqx_stmt(s, SL_PURGE, what, sql_purge);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	rc = hash != NULL ? sqx_bind_blob(st, 1, hash, SEC_HASH_BYTES)
			  : sqlite3_bind_int64(st, 1, now);
	if (rc != SQLITE_OK) {
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

int sqx_selfsvc_walk(store *s, int (*fn)(void *ud, const store_selfsvc *row),
		     void *ud)
{
	static const char what[] = "self-service walk";
	sqlite3_stmt *st = sqx_stmt(s, SL_WALK, what, sql_walk);
	store_selfsvc row;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof row);
		if (sqlite3_column_bytes(st, 0) != SEC_HASH_BYTES ||
		    sqlite3_column_bytes(st, 6) != SEC_HASH_BYTES ||
		    sqx_col_str(st, 1, row.subject_id, sizeof row.subject_id,
				0) != 0) {
			sqx_error(s, what, "damaged self-service row");
			goto out;
		}
		memcpy(row.hash, sqlite3_column_blob(st, 0), SEC_HASH_BYTES);
		row.kind = sqlite3_column_int(st, 2);
		row.created_at = sqlite3_column_int64(st, 3);
		row.expires_at = sqlite3_column_int64(st, 4);
		row.used_at = sqlite3_column_int64(st, 5);
		memcpy(row.mac, sqlite3_column_blob(st, 6), SEC_HASH_BYTES);
		if (fn(ud, &row) != 0) {
			ret = 0;
			goto out;
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
