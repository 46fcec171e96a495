/*
 * store_sqlite_disclose.c: the disclosure log in the SQLite backend (slots
 * SQX_DISCLOSE + 0..15), and the re-purposing of value rows that a
 * transfer to the own direct-marketing register does. A log row holds the
 * subject's id (NULL once it is erased), its pseudonym, names, counts and
 * its MAC; values travel as bound parameters only.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	SL_INSERT = SQX_DISCLOSE + 0,
	SL_WALK = SQX_DISCLOSE + 1,
	SL_WALK_ONE = SQX_DISCLOSE + 2,
	SL_REPURPOSE = SQX_DISCLOSE + 3
};

static const char sql_insert[] =
	"INSERT INTO disclosure (id, batch, subject_id, pseudonym, recipient,"
	" recipient_kind, country, safeguard, purpose, at, actor, fields,"
	" record_types, records, legal_ground, basis, mac)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	" ?15, ?16, ?17)";
#define COLUMNS                                                                \
	"SELECT id, batch, subject_id, pseudonym, recipient, recipient_kind,"  \
	" country, safeguard, purpose, at, actor, fields, record_types,"       \
	" records, legal_ground, basis, mac FROM disclosure"
static const char sql_walk[] = COLUMNS " ORDER BY id";
static const char sql_walk_one[] = COLUMNS " WHERE pseudonym = ?1 ORDER BY id";
static const char sql_repurpose[] =
	"UPDATE value SET purposes = ?2, legal_basis = ?3, expires_at = ?4"
	" WHERE id = ?1";

int sqx_disclosure_insert(store *s, const store_disclosure *d)
{
	static const char what[] = "disclosure insert";
	const struct sqx_arg args[] = {SQX_I(d->id),
				       SQX_I(d->batch),
				       SQX_OT(d->subject_id),
				       SQX_T(d->pseudonym),
				       SQX_T(d->recipient),
				       SQX_T(d->recipient_kind),
				       SQX_T(d->country),
				       SQX_OT(d->safeguard),
				       SQX_T(d->purpose),
				       SQX_I(d->at),
				       SQX_T(d->actor),
				       SQX_OT(d->fields),
				       SQX_OT(d->record_types),
				       SQX_I(d->records),
				       SQX_OT(d->legal_ground),
				       SQX_OT(d->basis),
				       SQX_B(d->mac, SEC_HASH_BYTES),
				       SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_INSERT, what, sql_insert), what, args,
			NULL, NULL);
}

/* Fills d from a row; strings point into the statement. */
static int fill(store *s, sqlite3_stmt *st, store_disclosure *d)
{
	memset(d, 0, sizeof *d);
	d->id = (int64_t)sqlite3_column_int64(st, 0);
	d->batch = (int64_t)sqlite3_column_int64(st, 1);
	d->subject_id = sqx_col_text(st, 2);
	d->pseudonym = sqx_col_text(st, 3);
	d->recipient = sqx_col_text(st, 4);
	d->recipient_kind = sqx_col_text(st, 5);
	d->country = sqx_col_text(st, 6);
	d->safeguard = sqx_col_text(st, 7);
	d->purpose = sqx_col_text(st, 8);
	d->at = (int64_t)sqlite3_column_int64(st, 9);
	d->actor = sqx_col_text(st, 10);
	d->fields = sqx_col_text(st, 11);
	d->record_types = sqx_col_text(st, 12);
	d->records = (int64_t)sqlite3_column_int64(st, 13);
	d->legal_ground = sqx_col_text(st, 14);
	d->basis = sqx_col_text(st, 15);
	/* A MAC of the wrong size reads as absent: the check refuses it. */
	if (sqlite3_column_bytes(st, 16) == SEC_HASH_BYTES)
		d->mac = sqlite3_column_blob(st, 16);
	if (!d->pseudonym || !d->recipient || !d->recipient_kind ||
	    !d->country || !d->purpose || !d->actor)
		return sqx_error(s, "disclosure walk", "damaged log row");
	return 0;
}

struct disclosure_walk {
	store_disclosure_fn fn;
	void *ud;
};

static int disclosure_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct disclosure_walk *w = ud;
	store_disclosure d;

	if (fill(s, st, &d))
		return -1;
	return w->fn(w->ud, &d) != 0;
}

int sqx_disclosure_walk(store *s, const char *pseudonym, store_disclosure_fn fn,
			void *ud)
{
	static const char what[] = "disclosure walk";
	struct disclosure_walk w = {fn, ud};
	const struct sqx_arg one[] = {SQX_T(pseudonym), SQX_ARGS_END};

	if (pseudonym == NULL)
		return sqx_walk(s, sqx_stmt(s, SL_WALK, what, sql_walk), what,
				NULL, disclosure_row, &w);
	return sqx_walk(s, sqx_stmt(s, SL_WALK_ONE, what, sql_walk_one), what,
			one, disclosure_row, &w);
}

int sqx_value_repurpose(store *s, int64_t rowid, const char *purposes,
			const char *legal_basis, const char *expires)
{
	static const char what[] = "value repurpose";
	const struct sqx_arg args[] = {SQX_I(rowid), SQX_T(purposes),
				       SQX_T(legal_basis), SQX_OT(expires),
				       SQX_ARGS_END};

	return sqx_exec(s, sqx_stmt(s, SL_REPURPOSE, what, sql_repurpose), what,
			args, NULL, "");
}
