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

int sqx_dsr_insert(store *s, store_dsr *d)
{
	static const char what[] = "request insert";
	/* An absent reason is SQL NULL, not an empty blob. */
	const struct sqx_arg args[] = {
		SQX_OT(d->subject_id),
		SQX_T(d->pseudonym),
		SQX_T(d->type),
		SQX_T(d->received),
		SQX_T(d->due),
		SQX_OT(d->extended_due),
		SQX_OB(d->extend_reason, d->extend_reason_len),
		SQX_OT(d->verified_by),
		SQX_T(d->status),
		SQX_OT(d->outcome),
		SQX_OB(d->reason, d->reason_len),
		SQX_OT(d->closed),
		SQX_T(d->purposes),
		SQX_OB(d->mac, SEC_HASH_BYTES),
		SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_INSERT, what, sql_insert), what, args,
			&d->id, NULL);
}

int sqx_dsr_update(store *s, const store_dsr *d)
{
	static const char what[] = "request update";
	const struct sqx_arg args[] = {
		SQX_I(d->id),
		SQX_OT(d->extended_due),
		SQX_OB(d->extend_reason, d->extend_reason_len),
		SQX_T(d->status),
		SQX_OT(d->outcome),
		SQX_OB(d->reason, d->reason_len),
		SQX_OT(d->closed),
		SQX_OB(d->mac, SEC_HASH_BYTES),
		SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_UPDATE, what, sql_update), what, args,
			NULL, "no such request");
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
	d->extend_reason = sqx_col_blob(st, 7, &d->extend_reason_len);
	d->verified_by = sqx_col_text(st, 8);
	d->status = sqx_col_text(st, 9);
	d->outcome = sqx_col_text(st, 10);
	d->reason = sqx_col_blob(st, 11, &d->reason_len);
	d->closed = sqx_col_text(st, 12);
	d->purposes = sqx_col_text(st, 13);
	/* A MAC of the wrong size reads as absent: the check refuses it. */
	if (sqlite3_column_bytes(st, 14) == SEC_HASH_BYTES)
		d->mac = sqlite3_column_blob(st, 14);
	if (!d->pseudonym || !d->type || !d->received || !d->due || !d->status)
		return sqx_error(s, "request walk", "damaged request row");
	return 0;
}

struct dsr_walk {
	store_dsr_fn fn;
	void *ud;
};

static int dsr_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct dsr_walk *w = ud;
	store_dsr d;

	if (fill_dsr(s, st, &d))
		return -1;
	return w->fn(w->ud, &d) != 0;
}

int sqx_dsr_walk(store *s, store_dsr_fn fn, void *ud)
{
	static const char what[] = "request walk";
	struct dsr_walk w = {fn, ud};

	return sqx_walk(s, sqx_stmt(s, SL_WALK, what, sql_walk), what, NULL,
			dsr_row, &w);
}
