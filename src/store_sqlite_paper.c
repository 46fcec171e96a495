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

struct count_walk {
	store_count_fn fn;
	void *ud;
};

static int count_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct count_walk *w = ud;
	const char *n = sqx_col_text(st, 0);

	(void)s;
	if (n == NULL)
		return 0;
	return w->fn(w->ud, n, (int64_t)sqlite3_column_int64(st, 1),
		     (int64_t)sqlite3_column_int64(st, 2)) != 0;
}

int sqx_count_by(store *s, enum store_count what, store_count_fn fn, void *ud)
{
	static const char name[] = "count";
	struct count_walk w = {fn, ud};

	if ((size_t)what >= sizeof counts / sizeof counts[0])
		return sqx_error(s, name, "unknown count");
	return sqx_walk(s,
			sqx_stmt(s, counts[what].slot, name, counts[what].sql),
			name, NULL, count_row, &w);
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

/* The parameters of sql_b_insert and sql_b_update, ?1 to ?20. */
static int breach_write(store *s, int slot, const char *what, const char *sql,
			const store_breach *b, const char *none)
{
	const struct sqx_arg args[] = {
		SQX_I(b->id),
		SQX_I(b->aware_at),
		SQX_I(b->opened_at),
		SQX_B(b->description, b->description_len),
		SQX_OT(b->categories),
		SQX_I(b->has_query),
		SQX_OT(b->q_field),
		SQX_OT(b->q_type),
		SQX_I(b->has_range),
		SQX_I(b->q_from),
		SQX_I(b->q_to),
		SQX_I(b->counted_at),
		SQX_I(b->affected),
		SQX_OT(b->risk),
		SQX_OTM(b->dpa_notified_at),
		SQX_OTM(b->subjects_notified_at),
		SQX_OB(b->measures, b->measures_len),
		SQX_T(b->status),
		SQX_OTM(b->closed_at),
		SQX_OB(b->mac, SEC_HASH_BYTES),
		SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, slot, what, sql), what, args, NULL,
			none);
}

int sqx_breach_insert(store *s, const store_breach *b)
{
	return breach_write(s, SL_B_INSERT, "breach insert", sql_b_insert, b,
			    NULL);
}

int sqx_breach_update(store *s, const store_breach *b)
{
	return breach_write(s, SL_B_UPDATE, "breach update", sql_b_update, b,
			    "no such breach");
}

struct breach_walk {
	store_breach_fn fn;
	void *ud;
};

static int breach_row(store *s, sqlite3_stmt *st, void *ud)
{
	static const char what[] = "breach walk";
	struct breach_walk *w = ud;
	store_breach b;

	memset(&b, 0, sizeof b);
	b.id = (int64_t)sqlite3_column_int64(st, 0);
	b.aware_at = (int64_t)sqlite3_column_int64(st, 1);
	b.opened_at = (int64_t)sqlite3_column_int64(st, 2);
	b.description = sqx_col_blob(st, 3, &b.description_len);
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
	b.measures = sqx_col_blob(st, 16, &b.measures_len);
	b.status = sqx_col_text(st, 17);
	b.closed_at = (int64_t)sqlite3_column_int64(st, 18);
	/* A MAC of the wrong size reads as absent: the check refuses it. */
	if (sqlite3_column_bytes(st, 19) == SEC_HASH_BYTES)
		b.mac = sqlite3_column_blob(st, 19);
	if (b.description == NULL || b.status == NULL) {
		sqx_error(s, what, "damaged breach row");
		return -1;
	}
	return w->fn(w->ud, &b) != 0;
}

int sqx_breach_walk(store *s, store_breach_fn fn, void *ud)
{
	static const char what[] = "breach walk";
	struct breach_walk w = {fn, ud};

	return sqx_walk(s, sqx_stmt(s, SL_B_WALK, what, sql_b_walk), what, NULL,
			breach_row, &w);
}

int sqx_breach_match(store *s, const char *field, const char *type,
		     int has_range, int64_t from, int64_t to, int64_t asof,
		     store_id_fn fn, void *ud)
{
	static const char what[] = "breach query";
	struct sqx_ids w = {fn, ud};
	const struct sqx_arg args[] = {
		SQX_OT(field), SQX_OT(type), SQX_I(has_range ? 1 : 0),
		SQX_I(from),   SQX_I(to),    SQX_I(asof),
		SQX_ARGS_END};

	return sqx_walk(s, sqx_stmt(s, SL_B_MATCH, what, sql_b_match), what,
			args, sqx_id_row, &w);
}
