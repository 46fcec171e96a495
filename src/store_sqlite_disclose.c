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
	sqlite3_stmt *st = sqx_stmt(s, SL_INSERT, what, sql_insert);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, d->id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, d->batch)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 3, d->subject_id)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 4, d->pseudonym)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 5, d->recipient)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 6, d->recipient_kind)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 7, d->country)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 8, d->safeguard)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 9, d->purpose)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 10, d->at)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 11, d->actor)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 12, d->fields)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 13, d->record_types)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 14, d->records)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 15, d->legal_ground)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 16, d->basis)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 17, d->mac, SEC_HASH_BYTES)) != SQLITE_OK) {
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

int sqx_disclosure_walk(store *s, const char *pseudonym, store_disclosure_fn fn,
			void *ud)
{
	static const char what[] = "disclosure walk";
	sqlite3_stmt *st =
		pseudonym ? sqx_stmt(s, SL_WALK_ONE, what, sql_walk_one)
			  : sqx_stmt(s, SL_WALK, what, sql_walk);
	store_disclosure d;
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if (pseudonym != NULL &&
	    (rc = sqx_bind_text(st, 1, pseudonym)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fill(s, st, &d))
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

int sqx_value_repurpose(store *s, int64_t rowid, const char *purposes,
			const char *legal_basis, const char *expires)
{
	static const char what[] = "value repurpose";
	sqlite3_stmt *st = sqx_stmt(s, SL_REPURPOSE, what, sql_repurpose);
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int64(st, 1, rowid)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, purposes)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 3, legal_basis)) != SQLITE_OK ||
	    (rc = sqx_bind_opt_text(st, 4, expires)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	ret = sqlite3_changes(sqx_db(s)) == 0 ? STORE_NOTFOUND : 0;
out:
	sqx_done(st);
	return ret;
}
