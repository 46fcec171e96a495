/*
 * store_sqlite_consent.c: the consent and objection ledger and the cookie
 * identifiers for the SQLite backend. The ledger is append-only: nothing
 * here updates or deletes a ledger row (erasure removes them with the
 * subject, by cascade). Cookie identifiers are stored only as blind-index
 * hashes. Statements live in the slots SQX_CONSENT + 0..15.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	SL_APPEND = SQX_CONSENT,
	SL_WALK,
	SL_WALK_SCOPE,
	SL_LATEST,
	SL_COOKIE_LINK,
	SL_COOKIE_RESOLVE,
	SL_COOKIE_UNLINK,
	SL_SET_MAC,
	SL_COOKIE_WALK,
	SL_COOKIE_SET_MAC
};

#define CONSENT_COLS                                                           \
	"SELECT id, subject_id, scope, objection, given, at, channel,"         \
	" policy_version, actor, evidence, mac FROM consent"

static int bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

int sqx_consent_append(store *s, store_consent *c)
{
	static const char what[] = "consent append";
	sqlite3_stmt *st = sqx_stmt(s, SL_APPEND, what,
				    "INSERT INTO consent (subject_id, scope,"
				    " objection, given, at, channel,"
				    " policy_version, actor, evidence, mac)"
				    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
				    " ?9, ?10)");
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, c->subject_id)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, c->scope)) != SQLITE_OK ||
	    (rc = bind_int(st, 3, c->objection ? 1 : 0)) != SQLITE_OK ||
	    (rc = bind_int(st, 4, c->given ? 1 : 0)) != SQLITE_OK ||
	    (rc = bind_int(st, 5, c->at)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 6, c->channel)) != SQLITE_OK ||
	    (rc = bind_int(st, 7, c->policy_version)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 8, c->actor)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	/* No evidence is SQL NULL, not an empty blob. */
	rc = c->evidence_ct
		     ? sqx_bind_blob(st, 9, c->evidence_ct, c->evidence_len)
		     : sqlite3_bind_null(st, 9);
	if (rc == SQLITE_OK)
		rc = c->mac ? sqx_bind_blob(st, 10, c->mac, SEC_HASH_BYTES)
			    : sqlite3_bind_null(st, 10);
	if (rc != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	c->id = (int64_t)sqlite3_last_insert_rowid(sqx_db(s));
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_consent_set_mac(store *s, int64_t id,
			const unsigned char mac[SEC_HASH_BYTES])
{
	return sqx_set_mac(s, SL_SET_MAC, "consent set mac",
			   "UPDATE consent SET mac = ?2 WHERE id = ?1", id,
			   mac);
}

/* Fills c from a CONSENT_COLS row; strings point into the statement. */
static int fill_consent(store *s, sqlite3_stmt *st, const char *what,
			store_consent *c)
{
	int64_t version;
	int n;

	memset(c, 0, sizeof *c);
	c->id = (int64_t)sqlite3_column_int64(st, 0);
	c->subject_id = sqx_col_text(st, 1);
	c->scope = sqx_col_text(st, 2);
	c->objection = sqlite3_column_int64(st, 3) != 0;
	c->given = sqlite3_column_int64(st, 4) != 0;
	c->at = (int64_t)sqlite3_column_int64(st, 5);
	c->channel = sqx_col_text(st, 6);
	version = (int64_t)sqlite3_column_int64(st, 7);
	c->actor = sqx_col_text(st, 8);
	if (!c->subject_id || !c->scope || !c->channel || !c->actor ||
	    version < 0 || version > INT32_MAX)
		return sqx_error(s, what, "damaged ledger entry");
	c->policy_version = (int)version;
	if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
		c->evidence_ct = sqlite3_column_blob(st, 9);
		n = sqlite3_column_bytes(st, 9);
		if (n < 0)
			return sqx_error(s, what, "damaged ledger entry");
		c->evidence_len = (size_t)n;
		/* A zero-length blob has no pointer; keep "present". */
		if (!c->evidence_ct)
			c->evidence_ct = (const unsigned char *)"";
	}
	/* A MAC of the wrong size reads as absent: the check refuses it. */
	if (sqlite3_column_bytes(st, 10) == SEC_HASH_BYTES)
		c->mac = sqlite3_column_blob(st, 10);
	return 0;
}

/* Steps a bound ledger query, handing each row to fn. */
static int run_walk(store *s, sqlite3_stmt *st, const char *what,
		    store_consent_fn fn, void *ud, int *seen)
{
	store_consent c;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fill_consent(s, st, what, &c))
			return STORE_ERR;
		if (seen)
			*seen = 1;
		if (fn(ud, &c))
			return 0;
	}
	if (rc != SQLITE_DONE)
		return sqx_fail(s, what, rc);
	return 0;
}

int sqx_consent_walk(store *s, const char *subject_id, const char *scope,
		     store_consent_fn fn, void *ud)
{
	static const char what[] = "consent walk";
	/* Separate statements so the planner seeks on (subject, scope). */
	sqlite3_stmt *st =
		scope ? sqx_stmt(s, SL_WALK_SCOPE, what,
				 CONSENT_COLS " WHERE subject_id = ?1"
					      " AND scope = ?2 ORDER BY id")
		      : sqx_stmt(s, SL_WALK, what,
				 CONSENT_COLS " WHERE subject_id = ?1"
					      " ORDER BY id");
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK ||
	    (scope && (rc = sqx_bind_text(st, 2, scope)) != SQLITE_OK)) {
		sqx_fail(s, what, rc);
		goto out;
	}
	ret = run_walk(s, st, what, fn, ud, NULL);
out:
	sqx_done(st);
	return ret;
}

int sqx_consent_latest(store *s, const char *subject_id, const char *scope,
		       int objection, store_consent_fn fn, void *ud)
{
	static const char what[] = "consent latest";
	sqlite3_stmt *st =
		sqx_stmt(s, SL_LATEST, what,
			 CONSENT_COLS " WHERE subject_id = ?1 AND scope = ?2"
				      " AND objection = ?3"
				      " ORDER BY id DESC LIMIT 1");
	int rc, seen = 0, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, scope)) != SQLITE_OK ||
	    (rc = bind_int(st, 3, objection ? 1 : 0)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	ret = run_walk(s, st, what, fn, ud, &seen);
	if (ret == 0 && !seen)
		ret = STORE_NOTFOUND;
out:
	sqx_done(st);
	return ret;
}

int sqx_cookie_link(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		    const char *subject_id, int64_t at,
		    const unsigned char *mac)
{
	static const char what[] = "cookie link";
	/* Linking the same pair again refreshes it; an identifier of another
	 * subject is left alone and reported, never moved silently. */
	sqlite3_stmt *st = sqx_stmt(s, SL_COOKIE_LINK, what,
				    "INSERT INTO cookie (hash, subject_id,"
				    " linked_at, mac) VALUES (?1, ?2, ?3, ?4)"
				    " ON CONFLICT (hash) DO UPDATE"
				    " SET linked_at = excluded.linked_at,"
				    " mac = excluded.mac"
				    " WHERE subject_id = excluded.subject_id");
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_blob(st, 1, hash, SEC_BIDX_BYTES)) != SQLITE_OK ||
	    (rc = sqx_bind_text(st, 2, subject_id)) != SQLITE_OK ||
	    (rc = bind_int(st, 3, at)) != SQLITE_OK ||
	    (rc = mac ? sqx_bind_blob(st, 4, mac, SEC_HASH_BYTES)
		      : sqlite3_bind_null(st, 4)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	if (sqlite3_changes(sqx_db(s)) == 0) {
		sqx_error(s, what, "identifier linked to another subject");
		goto out;
	}
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_cookie_resolve(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       char subject_id[33], unsigned char mac[SEC_HASH_BYTES])
{
	static const char what[] = "cookie resolve";
	sqlite3_stmt *st = sqx_stmt(s, SL_COOKIE_RESOLVE, what,
				    "SELECT subject_id, mac FROM cookie"
				    " WHERE hash = ?1");
	int rc, ret = STORE_ERR;

	if (!st)
		return STORE_ERR;
	subject_id[0] = '\0';
	memset(mac, 0, SEC_HASH_BYTES);
	if ((rc = sqx_bind_blob(st, 1, hash, SEC_BIDX_BYTES)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqx_error(s, what, "identifier not linked");
		ret = STORE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sqx_fail(s, what, rc);
		goto out;
	}
	if (sqx_col_str(st, 0, subject_id, 33, 0)) {
		sqx_error(s, what, "damaged row");
		subject_id[0] = '\0';
		goto out;
	}
	/* Absent or of another size: zeros, which no check accepts. */
	if (sqlite3_column_bytes(st, 1) == SEC_HASH_BYTES &&
	    sqlite3_column_blob(st, 1) != NULL)
		memcpy(mac, sqlite3_column_blob(st, 1), SEC_HASH_BYTES);
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_cookie_unlink_subject(store *s, const char *subject_id, int64_t *n)
{
	static const char what[] = "cookie unlink";
	sqlite3_stmt *st = sqx_stmt(s, SL_COOKIE_UNLINK, what,
				    "DELETE FROM cookie WHERE subject_id = ?1");
	int rc, ret = STORE_ERR;

	if (n)
		*n = 0;
	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_text(st, 1, subject_id)) != SQLITE_OK) {
		sqx_fail(s, what, rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		sqx_fail(s, what, rc);
		goto out;
	}
	if (n)
		*n = (int64_t)sqlite3_changes64(sqx_db(s));
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

int sqx_cookie_walk(store *s, store_cookie_fn fn, void *ud)
{
	static const char what[] = "cookie walk";
	sqlite3_stmt *st = sqx_stmt(s, SL_COOKIE_WALK, what,
				    "SELECT hash, subject_id, mac FROM cookie"
				    " ORDER BY hash");
	const char *sid;
	int rc, ret = 0;

	if (!st)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sid = sqx_col_text(st, 1);
		if (sqlite3_column_bytes(st, 0) != SEC_BIDX_BYTES ||
		    sqlite3_column_blob(st, 0) == NULL || sid == NULL) {
			ret = sqx_error(s, what, "damaged row");
			break;
		}
		if (fn(ud, sqlite3_column_blob(st, 0), sid,
		       sqlite3_column_bytes(st, 2) == SEC_HASH_BYTES
			       ? sqlite3_column_blob(st, 2)
			       : NULL) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sqx_fail(s, what, rc);
	sqx_done(st);
	return ret;
}

int sqx_cookie_set_mac(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       const unsigned char mac[SEC_HASH_BYTES])
{
	static const char what[] = "cookie set mac";
	sqlite3_stmt *st =
		sqx_stmt(s, SL_COOKIE_SET_MAC, what,
			 "UPDATE cookie SET mac = ?2 WHERE hash = ?1");
	int rc;

	if (!st)
		return STORE_ERR;
	if ((rc = sqx_bind_blob(st, 1, hash, SEC_BIDX_BYTES)) != SQLITE_OK ||
	    (rc = sqx_bind_blob(st, 2, mac, SEC_HASH_BYTES)) != SQLITE_OK) {
		sqx_done(st);
		return sqx_fail(s, what, rc);
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	if (rc != SQLITE_DONE)
		return sqx_fail(s, what, rc);
	return 0;
}
