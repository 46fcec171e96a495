/*
 * store_sqlite_paper.c: the controller's paperwork in the SQLite backend
 * (slots SQX_PAPER + 0..15): counts for the records of processing (no
 * value is read, only rows counted) and the breach register. Values travel
 * as bound parameters only.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	SL_COUNT_KIND = SQX_PAPER + 0,
	SL_COUNT_FIELD = SQX_PAPER + 1,
	SL_COUNT_RECORD = SQX_PAPER + 2,
	SL_COUNT_HELD = SQX_PAPER + 3,
	SL_B_INSERT = SQX_PAPER + 4,
	SL_B_UPDATE = SQX_PAPER + 5,
	SL_B_WALK = SQX_PAPER + 6,
	SL_B_MATCH = SQX_PAPER + 7
};

static const struct {
	int slot;
	const char *sql;
} counts[] = {
	[STORE_COUNT_KIND] = {SL_COUNT_KIND,
			      "SELECT kind, count(*), count(*) FROM subject"
			      " GROUP BY kind ORDER BY kind"},
	[STORE_COUNT_FIELD] = {SL_COUNT_FIELD,
			       "SELECT field, count(*), count(DISTINCT"
			       " subject_id) FROM value GROUP BY field"
			       " ORDER BY field"},
	[STORE_COUNT_RECORD] = {SL_COUNT_RECORD,
				"SELECT type, count(*), count(DISTINCT"
				" subject_id) FROM record GROUP BY type"
				" ORDER BY type"},
	[STORE_COUNT_HELD] = {SL_COUNT_HELD,
			      "SELECT type, count(*), 0 FROM held_record"
			      " GROUP BY type ORDER BY type"},
};

int sqx_count_by(store *s, enum store_count what, store_count_fn fn, void *ud)
{
	static const char name[] = "count";
	sqlite3_stmt *st;
	int rc, ret = STORE_ERR;

	if ((size_t)what >= sizeof counts / sizeof counts[0])
		return sqx_error(s, name, "unknown count");
	st = sqx_stmt(s, counts[what].slot, name, counts[what].sql);
	if (!st)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *n = sqx_col_text(st, 0);
		if (n == NULL)
			continue;
		if (fn(ud, n, (int64_t)sqlite3_column_int64(st, 1),
		       (int64_t)sqlite3_column_int64(st, 2))) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		sqx_fail(s, name, rc);
		goto out;
	}
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

/* ---- breaches ------------------------------------------------------------ */

static const char sql_b_insert[] =
	"INSERT INTO breach (id, aware_at, opened_at, description, categories,"
	" has_query, q_field, q_type, has_range, q_from, q_to, counted_at,"
	" affected, risk, dpa_notified_at, subjects_notified_at, measures,"
	" status, closed_at, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	" ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
static const char sql_b_update[] =
	"UPDATE breach SET description = ?4, categories = ?5,"
	" counted_at = ?12, affected = ?13, risk = ?14,"
	" dpa_notified_at = ?15, subjects_notified_at = ?16, measures = ?17,"
	" status = ?18, closed_at = ?19, mac = ?20 WHERE id = ?1";
static const char sql_b_walk[] =
	"SELECT id, aware_at, opened_at, description, categories, has_query,"
	" q_field, q_type, has_range, q_from, q_to, counted_at, affected,"
	" risk, dpa_notified_at, subjects_notified_at, measures, status,"
	" closed_at, mac FROM breach ORDER BY id";
/* One statement for every form of the query: breaches are rare and the
 * plan seeks on the subject's indexes in each EXISTS. */
static const char sql_b_match[] =
	"SELECT s.id, s.pseudonym FROM subject s WHERE s.created_at <= ?6"
	" AND (?1 IS NULL OR EXISTS (SELECT 1 FROM value v"
	"  WHERE v.subject_id = s.id AND v.field = ?1 AND v.collected_at <= ?6"
	"  AND (?3 = 0 OR v.collected_at BETWEEN ?4 AND ?5)))"
	" AND (?2 IS NULL OR EXISTS (SELECT 1 FROM record r"
	"  WHERE r.subject_id = s.id AND r.type = ?2 AND r.created_at <= ?6"
	"  AND (?3 = 0 OR r.created_at BETWEEN ?4 AND ?5)))"
	" AND (?1 IS NOT NULL OR ?2 IS NOT NULL OR ?3 = 0"
	"  OR EXISTS (SELECT 1 FROM value v WHERE v.subject_id = s.id"
	"   AND v.collected_at BETWEEN ?4 AND ?5)"
	"  OR EXISTS (SELECT 1 FROM record r WHERE r.subject_id = s.id"
	"   AND r.created_at BETWEEN ?4 AND ?5))"
	" ORDER BY s.id";

static int bind_opt_blob(sqlite3_stmt *st, int i, const unsigned char *v,
			 size_t n)
{
	return v ? sqx_bind_blob(st, i, v, n) : sqlite3_bind_null(st, i);
}

/* 0 binds NULL: an absent time. */
static int bind_time(sqlite3_stmt *st, int i, int64_t t)
{
	return t != 0 ? sqlite3_bind_int64(st, i, t) : sqlite3_bind_null(st, i);
}

static int bind_breach(sqlite3_stmt *st, const store_breach *b)
{
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, b->id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, b->aware_at)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, b->opened_at)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 4, b->description, b->description_len)) !=
		    SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 5, b->categories)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 6, b->has_query)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 7, b->q_field)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 8, b->q_type)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 9, b->has_range)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 10, b->q_from)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 11, b->q_to)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 12, b->counted_at)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 13, b->affected)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 14, b->risk)) != SQLITE_OK ||
	    (rc = bind_time(st, 15, b->dpa_notified_at)) != SQLITE_OK ||
	    (rc = bind_time(st, 16, b->subjects_notified_at)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 17, b->measures, b->measures_len)) !=
		    SQLITE_OK ||
	    (rc = sqx_bind_text(st, 18, b->status)) != SQLITE_OK ||
	    (rc = bind_time(st, 19, b->closed_at)) != SQLITE_OK ||
	    (rc = bind_opt_blob(st, 20, b->mac, SEC_HASH_BYTES)) != SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

static int breach_write(store *s, int slot, const char *what, const char *sql,
			const store_breach *b, int update)
{
	sqlite3_stmt *st = sqx_stmt(s, slot, what, sql);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	rc = bind_breach(st, b);
	if (rc != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	if (update && sqlite3_changes(sqx_db(s)) == 0) {
		sqx_error(s, what, "no such breach");
		ret = STORE_NOTFOUND;
		goto out;
	}
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_breach_insert(store *s, const store_breach *b)
{
	return breach_write(s, SL_B_INSERT, "breach insert", sql_b_insert, b,
			    0);
}

int sqx_breach_update(store *s, const store_breach *b)
{
	return breach_write(s, SL_B_UPDATE, "breach update", sql_b_update, b,
			    1);
}

/* A blob column, or NULL with *n = 0 when SQL NULL; a zero-length blob
 * reads as present (and then fails to open). */
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

int sqx_breach_walk(store *s, store_breach_fn fn, void *ud)
{
	static const char what[] = "breach walk";
	sqlite3_stmt *st = sqx_stmt(s, SL_B_WALK, what, sql_b_walk);
	store_breach b;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&b, 0, sizeof b);
		b.id = (int64_t)sqlite3_column_int64(st, 0);
		b.aware_at = (int64_t)sqlite3_column_int64(st, 1);
		b.opened_at = (int64_t)sqlite3_column_int64(st, 2);
		b.description = col_blob(st, 3, &b.description_len);
		b.categories = sqx_col_text(st, 4);
		b.has_query = sqlite3_column_int(st, 5);
		b.q_field = sqx_col_text(st, 6);
		b.q_type = sqx_col_text(st, 7);
		b.has_range = sqlite3_column_int(st, 8);
		b.q_from = (int64_t)sqlite3_column_int64(st, 9);
		b.q_to = (int64_t)sqlite3_column_int64(st, 10);
		b.counted_at = (int64_t)sqlite3_column_int64(st, 11);
		b.affected = (int64_t)sqlite3_column_int64(st, 12);
		b.risk = sqx_col_text(st, 13);
		b.dpa_notified_at = (int64_t)sqlite3_column_int64(st, 14);
		b.subjects_notified_at = (int64_t)sqlite3_column_int64(st, 15);
		b.measures = col_blob(st, 16, &b.measures_len);
		b.status = sqx_col_text(st, 17);
		b.closed_at = (int64_t)sqlite3_column_int64(st, 18);
		/* A MAC of the wrong size reads as absent: the check
		 * refuses it. */
		if (sqlite3_column_bytes(st, 19) == SEC_HASH_BYTES)
			b.mac = sqlite3_column_blob(st, 19);
		if (b.description == NULL || b.status == NULL) {
			sqx_error(s, what, "damaged breach row");
			goto out;
		}
		if (fn(ud, &b)) {
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

int sqx_breach_match(store *s, const char *field, const char *type,
		     int has_range, int64_t from, int64_t to, int64_t asof,
		     store_id_fn fn, void *ud)
{
	static const char what[] = "breach query";
	sqlite3_stmt *st = sqx_stmt(s, SL_B_MATCH, what, sql_b_match);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_opt_text(st, 1, field)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 2, type)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, has_range ? 1 : 0)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, from)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, to)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 6, asof)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sqx_col_text(st, 0);
		const char *ps = sqx_col_text(st, 1);
		if (id == NULL || ps == NULL)
			continue;
		if (fn(ud, id, ps)) {
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
