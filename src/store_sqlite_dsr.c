/*
 * store_sqlite_dsr.c: data subject requests in the SQLite backend (slots
 * SQX_DSR + 0..7). A row holds the subject's id (NULL once it is erased),
 * its pseudonym, names, dates, sealed reasons and its MAC; values travel as
 * bound parameters only.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	SL_INSERT = SQX_DSR + 0,
	SL_UPDATE = SQX_DSR + 1,
	SL_WALK = SQX_DSR + 2
};

static const char sql_insert[] =
	"INSERT INTO dsr (subject_id, pseudonym, type, received, due,"
	" extended_due, extend_reason, verified_by, status, outcome, reason,"
	" closed, purposes, mac)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
static const char sql_update[] =
	"UPDATE dsr SET extended_due = ?2, extend_reason = ?3, status = ?4,"
	" outcome = ?5, reason = ?6, closed = ?7, mac = ?8 WHERE id = ?1";
static const char sql_walk[] =
	"SELECT id, subject_id, pseudonym, type, received, due, extended_due,"
	" extend_reason, verified_by, status, outcome, reason, closed,"
	" purposes, mac FROM dsr ORDER BY id";

/* NULL or a blob: an absent reason is SQL NULL, not an empty blob. */
static int bind_opt_blob(sqlite3_stmt *st, int i, const unsigned char *v,
			 size_t n)
{
	return v ? sqx_bind_blob(st, i, v, n) : sqlite3_bind_null(st, i);
}

int sqx_dsr_insert(store *s, store_dsr *d)
{
	static const char what[] = "request insert";
	sqlite3_stmt *st = sqx_stmt(s, SL_INSERT, what, sql_insert);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_opt_text(st, 1, d->subject_id)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, d->pseudonym)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 3, d->type)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 4, d->received)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 5, d->due)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 6, d->extended_due)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 7, d->extend_reason,
				d->extend_reason_len)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 8, d->verified_by)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 9, d->status)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 10, d->outcome)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 11, d->reason, d->reason_len)) !=
		    SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 12, d->closed)) != SQLITE_OK ||
	    (rc = d->purposes ? sqx_bind_text(st, 13, d->purposes)
			      : sqlite3_bind_null(st, 13)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 14, d->mac, SEC_HASH_BYTES)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	d->id = (int64_t)sqlite3_last_insert_rowid(sqx_db(s));
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_dsr_update(store *s, const store_dsr *d)
{
	static const char what[] = "request update";
	sqlite3_stmt *st = sqx_stmt(s, SL_UPDATE, what, sql_update);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, d->id)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 2, d->extended_due)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 3, d->extend_reason,
				d->extend_reason_len)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 4, d->status)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 5, d->outcome)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 6, d->reason, d->reason_len)) !=
		    SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 7, d->closed)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 8, d->mac, SEC_HASH_BYTES)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	if (sqlite3_changes(sqx_db(s)) == 0) {
		sqx_error(s, what, "no such request");
		ret = STORE_NOTFOUND;
		goto out;
	}
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

/* A blob column, or NULL with *n = 0 when SQL NULL. A zero-length blob has
 * no pointer; it reads as present (and fails to open). */
static const unsigned char *col_blob(sqlite3_stmt *st, int col, size_t *n)
{
	const unsigned char *p;
	int len;

	*n = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(st, col);
	len = sqlite3_column_bytes(st, col);
	if (len <= 0)
		return (const unsigned char *)"";
	*n = (size_t)len;
	return p;
}

/* Fills d from a row of sql_walk; strings point into the statement. */
static int fill_dsr(store *s, sqlite3_stmt *st, store_dsr *d)
{
	memset(d, 0, sizeof *d);
	d->id = (int64_t)sqlite3_column_int64(st, 0);
	d->subject_id = sqx_col_text(st, 1);
	d->pseudonym = sqx_col_text(st, 2);
	d->type = sqx_col_text(st, 3);
	d->received = sqx_col_text(st, 4);
	d->due = sqx_col_text(st, 5);
	d->extended_due = sqx_col_text(st, 6);
	d->extend_reason = col_blob(st, 7, &d->extend_reason_len);
	d->verified_by = sqx_col_text(st, 8);
	d->status = sqx_col_text(st, 9);
	d->outcome = sqx_col_text(st, 10);
	d->reason = col_blob(st, 11, &d->reason_len);
	d->closed = sqx_col_text(st, 12);
	d->purposes = sqx_col_text(st, 13);
	/* A MAC of the wrong size reads as absent: the check refuses it. */
	if (sqlite3_column_bytes(st, 14) == SEC_HASH_BYTES)
		d->mac = sqlite3_column_blob(st, 14);
	if (!d->pseudonym || !d->type || !d->received || !d->due || !d->status)
		return sqx_error(s, "request walk", "damaged request row");
	return 0;
}

int sqx_dsr_walk(store *s, store_dsr_fn fn, void *ud)
{
	static const char what[] = "request walk";
	sqlite3_stmt *st = sqx_stmt(s, SL_WALK, what, sql_walk);
	store_dsr d;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fill_dsr(s, st, &d))
			goto out;
		if (fn(ud, &d)) {
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
