/*
 * store_sqlite_notice.c: what the notice and policy changes need from the
 * SQLite backend: stored policy versions, how many stored rows use a
 * policy name (so that a change never orphans data), the subjects holding
 * a field, and the ledger entries of a scope. Statements live in the slots
 * SQX_NOTICE + 0..7.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	SN_POLICY_GET = SQX_NOTICE,
	SN_POLICY_WALK,
	SN_USAGE,
	SN_FIELD_SUBJECTS,
	SN_SCOPE_WALK
};

/* ',' || csv || ',' holds ',' || name || ',': a name in a stored list. */
#define IN_CSV(col) "instr(',' || " col " || ',', ',' || ?2 || ',') > 0"

int sqx_policy_get(store *s, int version, char **text, int64_t *created_at)
{
	static const char what[] = "policy get";
	sqlite3_stmt *st = sqx_stmt(s, SN_POLICY_GET, what,
				    "SELECT body, created_at FROM"
				    " policy_version WHERE version = ?1");
	const char *t;
	size_t n;
	int rc, ret = STORE_ERR;

	*text = NULL;
	if (!st)
		return STORE_ERR;
	if ((rc = sqlite3_bind_int(st, 1, version)) != SQLITE_OK) {
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
	t = sqx_col_text(st, 0);
	if (t == NULL) {
		sqx_error(s, what, "damaged policy row");
		goto out;
	}
	n = (size_t)sqlite3_column_bytes(st, 0);
	*text = malloc(n + 1);
	if (*text == NULL) {
		sqx_error(s, what, "out of memory");
		goto out;
	}
	memcpy(*text, t, n);
	(*text)[n] = '\0';
	if (created_at != NULL)
		*created_at = (int64_t)sqlite3_column_int64(st, 1);
	ret = 0;
out:
	sqx_done(st);
	return ret;
}

struct policy_walk {
	store_policy_fn fn;
	void *ud;
};

static int policy_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct policy_walk *w = ud;
	sqlite3_int64 v = sqlite3_column_int64(st, 0);

	if (v < 0 || v > INT32_MAX) {
		sqx_error(s, "policy walk", "damaged policy row");
		return -1;
	}
	return w->fn(w->ud, (int)v, (int64_t)sqlite3_column_int64(st, 1)) != 0;
}

int sqx_policy_walk(store *s, store_policy_fn fn, void *ud)
{
	static const char what[] = "policy walk";
	struct policy_walk w = {fn, ud};

	return sqx_walk(s,
			sqx_stmt(s, SN_POLICY_WALK, what,
				 "SELECT version, created_at FROM"
				 " policy_version ORDER BY version"),
			what, NULL, policy_row, &w);
}

int sqx_usage_count(store *s, enum store_use what_use, const char *name,
		    int64_t *n)
{
	static const char what[] = "usage count";
	/* One statement: CASE evaluates only the branch asked for. */
	sqlite3_stmt *st = sqx_stmt(
		s, SN_USAGE, what,
		"SELECT CASE ?1"
		" WHEN 0 THEN (SELECT count(*) FROM value WHERE field = ?2)"
		" WHEN 1 THEN (SELECT count(*) FROM record WHERE type = ?2)"
		" + (SELECT count(*) FROM held_record WHERE type = ?2)"
		" WHEN 2 THEN (SELECT count(*) FROM consent WHERE scope = ?2"
		" AND objection = 0)"
		" WHEN 3 THEN (SELECT count(*) FROM consent WHERE scope = ?2"
		" AND objection = 1)"
		" WHEN 4 THEN (SELECT count(*) FROM subject WHERE kind = ?2)"
		" WHEN 5 THEN (SELECT count(*) FROM actor WHERE role = ?2"
		" AND revoked_at = 0)"
		" WHEN 6 THEN (SELECT count(*) FROM value WHERE " IN_CSV(
			"purposes") ")"
				    " + (SELECT count(*) FROM record "
				    "WHERE " IN_CSV(
					    "purposes") ")"
							" WHEN 7 THEN (SELECT "
							"count(*) FROM value "
							"WHERE legal_basis"
							" = ?2) + (SELECT "
							"count(*) FROM record "
							"WHERE legal_basis"
							" = ?2)"
							" WHEN 8 THEN (SELECT "
							"count(*) FROM value "
							"WHERE source = ?2)"
							" + (SELECT count(*) "
							"FROM record WHERE "
							"source = ?2)"
							" END");
	const struct sqx_arg args[] = {SQX_I(what_use), SQX_T(name),
				       SQX_ARGS_END};

	return sqx_count(s, st, what, args, n);
}

/* Subjects holding a field: the id alone, so not sqx_id_row (which passes
 * over rows without a pseudonym). */
static int field_subject_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct sqx_ids *w = ud;
	const char *id = sqx_col_text(st, 0);

	if (id == NULL) {
		sqx_error(s, "field subjects", "damaged value row");
		return -1;
	}
	return w->fn(w->ud, id, NULL) != 0;
}

int sqx_field_subjects(store *s, const char *field, store_id_fn fn, void *ud)
{
	static const char what[] = "field subjects";
	struct sqx_ids w = {fn, ud};
	const struct sqx_arg args[] = {SQX_T(field), SQX_ARGS_END};

	return sqx_walk(s,
			sqx_stmt(s, SN_FIELD_SUBJECTS, what,
				 "SELECT DISTINCT subject_id FROM value"
				 " WHERE field = ?1 ORDER BY subject_id"),
			what, args, field_subject_row, &w);
}

struct scope_walk {
	const char *scope;
	int objection;
	store_consent_fn fn;
	void *ud;
};

static int scope_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct scope_walk *w = ud;
	sqlite3_int64 v = sqlite3_column_int64(st, 3);
	store_consent c;

	memset(&c, 0, sizeof c);
	c.subject_id = sqx_col_text(st, 0);
	c.scope = w->scope;
	c.objection = w->objection;
	c.given = sqlite3_column_int64(st, 1) != 0;
	c.at = (int64_t)sqlite3_column_int64(st, 2);
	if (c.subject_id == NULL || v < 0 || v > INT32_MAX) {
		sqx_error(s, "scope walk", "damaged ledger entry");
		return -1;
	}
	c.policy_version = (int)v;
	return w->fn(w->ud, &c) != 0;
}

int sqx_scope_walk(store *s, const char *scope, int objection,
		   store_consent_fn fn, void *ud)
{
	static const char what[] = "scope walk";
	struct scope_walk w = {scope, objection ? 1 : 0, fn, ud};
	const struct sqx_arg args[] = {SQX_T(scope), SQX_I(w.objection),
				       SQX_ARGS_END};

	return sqx_walk(s,
			sqx_stmt(s, SN_SCOPE_WALK, what,
				 "SELECT subject_id, given, at,"
				 " policy_version FROM consent"
				 " WHERE scope = ?1 AND objection = ?2"
				 " ORDER BY subject_id, id"),
			what, args, scope_row, &w);
}
