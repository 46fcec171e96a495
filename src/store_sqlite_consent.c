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
	SL_COOKIE_SET_MAC,
	SL_COOKIE_UNTIL_RECORDS,
	SL_COOKIE_UNTIL_LINKS,
	SL_AUDIT_NEWEST_IS
};

#define CONSENT_COLS                                                           \
	"SELECT id, subject_id, scope, objection, given, at, channel,"         \
	" policy_version, actor, evidence, mac FROM consent"

int sqx_consent_append(store *s, store_consent *c)
{
	static const char what[] = "consent append";
	/* No evidence is SQL NULL, not an empty blob. */
	const struct sqx_arg args[] = {SQX_T(c->subject_id),
				       SQX_T(c->scope),
				       SQX_I(c->objection ? 1 : 0),
				       SQX_I(c->given ? 1 : 0),
				       SQX_I(c->at),
				       SQX_T(c->channel),
				       SQX_I(c->policy_version),
				       SQX_T(c->actor),
				       SQX_OB(c->evidence_ct, c->evidence_len),
				       SQX_OB(c->mac, SEC_HASH_BYTES),
				       SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, SL_APPEND, what,
				 "INSERT INTO consent (subject_id, scope,"
				 " objection, given, at, channel,"
				 " policy_version, actor, evidence, mac)"
				 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
				 " ?9, ?10)"),
			what, args, &c->id, NULL);
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

struct consent_walk {
	const char *what;
	store_consent_fn fn;
	void *ud;
	int seen;
};

static int consent_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct consent_walk *w = ud;
	store_consent c;

	if (fill_consent(s, st, w->what, &c))
		return -1;
	w->seen = 1;
	return w->fn(w->ud, &c) != 0;
}

int sqx_consent_walk(store *s, const char *subject_id, const char *scope,
		     store_consent_fn fn, void *ud)
{
	static const char what[] = "consent walk";
	struct consent_walk w = {what, fn, ud, 0};
	/* The all-scopes form has no ?2. */
	struct sqx_arg args[] = {SQX_T(subject_id), SQX_ARGS_END, SQX_ARGS_END};
	/* Separate statements so the planner seeks on (subject, scope). */
	sqlite3_stmt *st =
		scope ? sqx_stmt(s, SL_WALK_SCOPE, what,
				 CONSENT_COLS " WHERE subject_id = ?1"
					      " AND scope = ?2 ORDER BY id")
		      : sqx_stmt(s, SL_WALK, what,
				 CONSENT_COLS " WHERE subject_id = ?1"
					      " ORDER BY id");

	if (scope)
		args[1] = SQX_T(scope);
	return sqx_walk(s, st, what, args, consent_row, &w);
}

int sqx_consent_latest(store *s, const char *subject_id, const char *scope,
		       int objection, store_consent_fn fn, void *ud)
{
	static const char what[] = "consent latest";
	struct consent_walk w = {what, fn, ud, 0};
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_T(scope),
				       SQX_I(objection ? 1 : 0), SQX_ARGS_END};
	int ret = sqx_walk(s,
			   sqx_stmt(s, SL_LATEST, what,
				    CONSENT_COLS
				    " WHERE subject_id = ?1 AND scope = ?2"
				    " AND objection = ?3"
				    " ORDER BY id DESC LIMIT 1"),
			   what, args, consent_row, &w);

	return ret == 0 && !w.seen ? STORE_NOTFOUND : ret;
}

int sqx_cookie_link(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		    const char *subject_id, int64_t at,
		    const unsigned char *mac)
{
	static const char what[] = "cookie link";
	const struct sqx_arg args[] = {
		SQX_B(hash, SEC_BIDX_BYTES), SQX_T(subject_id), SQX_I(at),
		SQX_OB(mac, SEC_HASH_BYTES), SQX_ARGS_END};
	int64_t n = 0;
	/* Linking the same pair again refreshes it; an identifier of another
	 * subject is left alone and reported, never moved silently. */
	int ret = sqx_exec_changes(
		s,
		sqx_stmt(s, SL_COOKIE_LINK, what,
			 "INSERT INTO cookie (hash, subject_id,"
			 " linked_at, mac) VALUES (?1, ?2, ?3, ?4)"
			 " ON CONFLICT (hash) DO UPDATE"
			 " SET linked_at = excluded.linked_at,"
			 " mac = excluded.mac"
			 " WHERE subject_id = excluded.subject_id"),
		what, args, NULL, &n);

	if (ret == 0 && n == 0)
		ret = sqx_error(s, what,
				"identifier linked to another subject");
	return ret;
}

struct resolved {
	char *subject_id;
	int64_t *linked_at;
	unsigned char *mac;
};

static int resolve_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct resolved *o = ud;

	if (sqx_col_str(st, 0, o->subject_id, 33, 0)) {
		sqx_error(s, "cookie resolve", "damaged row");
		o->subject_id[0] = '\0';
		return -1;
	}
	/* Absent or of another size: zeros, which no check accepts. */
	if (sqlite3_column_bytes(st, 1) == SEC_HASH_BYTES &&
	    sqlite3_column_blob(st, 1) != NULL)
		memcpy(o->mac, sqlite3_column_blob(st, 1), SEC_HASH_BYTES);
	*o->linked_at = sqlite3_column_int64(st, 2);
	return 0;
}

int sqx_cookie_resolve(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       char subject_id[33], int64_t *linked_at,
		       unsigned char mac[SEC_HASH_BYTES])
{
	static const char what[] = "cookie resolve";
	sqlite3_stmt *st = sqx_stmt(s, SL_COOKIE_RESOLVE, what,
				    "SELECT subject_id, mac, linked_at"
				    " FROM cookie WHERE hash = ?1");
	const struct sqx_arg args[] = {SQX_B(hash, SEC_BIDX_BYTES),
				       SQX_ARGS_END};
	struct resolved o = {subject_id, linked_at, mac};

	if (!st)
		return STORE_ERR;
	subject_id[0] = '\0';
	*linked_at = 0;
	memset(mac, 0, SEC_HASH_BYTES);
	return sqx_one(s, st, what, args, "identifier not linked", resolve_row,
		       &o);
}

int sqx_cookie_unlink_subject(store *s, const char *subject_id, int64_t *n)
{
	static const char what[] = "cookie unlink";
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_ARGS_END};

	if (n)
		*n = 0;
	return sqx_exec_changes(
		s,
		sqx_stmt(s, SL_COOKIE_UNLINK, what,
			 "DELETE FROM cookie WHERE subject_id = ?1"),
		what, args, NULL, n);
}

struct cookie_walk {
	store_cookie_fn fn;
	void *ud;
};

static int cookie_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct cookie_walk *w = ud;
	const char *sid = sqx_col_text(st, 1);

	if (sqlite3_column_bytes(st, 0) != SEC_BIDX_BYTES ||
	    sqlite3_column_blob(st, 0) == NULL || sid == NULL) {
		sqx_error(s, "cookie walk", "damaged row");
		return -1;
	}
	return w->fn(w->ud, sqlite3_column_blob(st, 0), sid,
		     sqlite3_column_int64(st, 3),
		     sqlite3_column_bytes(st, 2) == SEC_HASH_BYTES
			     ? sqlite3_column_blob(st, 2)
			     : NULL) != 0;
}

int sqx_cookie_walk(store *s, store_cookie_fn fn, void *ud)
{
	static const char what[] = "cookie walk";
	struct cookie_walk w = {fn, ud};

	return sqx_walk(s,
			sqx_stmt(s, SL_COOKIE_WALK, what,
				 "SELECT hash, subject_id, mac, linked_at"
				 " FROM cookie ORDER BY hash"),
			what, NULL, cookie_row, &w);
}

int sqx_cookie_set_mac(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       const unsigned char mac[SEC_HASH_BYTES])
{
	static const char what[] = "cookie set mac";
	const struct sqx_arg args[] = {SQX_B(hash, SEC_BIDX_BYTES),
				       SQX_B(mac, SEC_HASH_BYTES),
				       SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, SL_COOKIE_SET_MAC, what,
				 "UPDATE cookie SET mac = ?2 WHERE hash = ?1"),
			what, args, NULL, NULL);
}

/* ---- a cookie reset replayed after a restore ---- */

int sqx_cookie_reset_until(store *s, const char *subject_id, int64_t until,
			   int64_t *records, int64_t *links)
{
	static const char wr[] = "cookie reset records",
			  wl[] = "cookie reset links";
	const struct sqx_arg args[] = {SQX_T(subject_id), SQX_I(until),
				       SQX_ARGS_END};
	int rc;

	rc = sqx_exec_changes(
		s,
		sqx_stmt(s, SL_COOKIE_UNTIL_RECORDS, wr,
			 "DELETE FROM record WHERE subject_id = ?1 AND"
			 " cookie_hash IS NOT NULL AND created_at <= ?2"),
		wr, args, NULL, records);
	if (rc != 0)
		return rc;
	return sqx_exec_changes(
		s,
		sqx_stmt(s, SL_COOKIE_UNTIL_LINKS, wl,
			 "DELETE FROM cookie WHERE subject_id = ?1 AND"
			 " linked_at <= ?2"),
		wl, args, NULL, links);
}

/* ---- an empty cookie reset: was a link made since the last reset? ---- */

int sqx_audit_newest_is(store *s, const char *subject, const char *newer,
			const char *older, int64_t *n)
{
	static const char what[] = "audit newest";
	const struct sqx_arg args[] = {SQX_T(subject), SQX_T(newer),
				       SQX_T(older), SQX_ARGS_END};

	/* Backwards from the end of the trail to the first match: a reset
	 * repeated soon after the last one reads little. */
	return sqx_count(s,
			 sqx_stmt(s, SL_AUDIT_NEWEST_IS, what,
				  "SELECT count(*) FROM (SELECT action FROM"
				  " audit WHERE subject = ?1 AND action IN"
				  " (?2, ?3) AND outcome = 'ok' ORDER BY seq"
				  " DESC LIMIT 1) WHERE action = ?2"),
			 what, args, n);
}
