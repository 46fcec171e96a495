/*
 * store_sqlite_access.c: actors of the SQLite backend. A token is never
 * stored, only its hash.
 */
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"

enum {
	ST_ACTOR_INSERT = SQX_ACCESS,
	ST_ACTOR_GET,
	ST_ACTOR_LIST,
	ST_ACTOR_REVOKE,
	ST_ACTOR_SET_MAC
};

#define ACTOR_COLS                                                             \
	"SELECT name, role, token_hash, created_at, revoked_at, mac"           \
	" FROM actor"

int sqx_actor_insert(store *s, const store_actor *a)
{
	static const char what[] = "actor insert";
	const struct sqx_arg args[] = {
		SQX_T(a->name),
		SQX_T(a->role),
		SQX_B(a->token_hash, sizeof a->token_hash),
		SQX_I(a->created_at),
		SQX_I(a->revoked_at),
		SQX_OB(a->has_mac ? a->mac : NULL, sizeof a->mac),
		SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_ACTOR_INSERT, what,
				 "INSERT INTO actor (name, role, "
				 "token_hash, created_at, revoked_at, mac)"
				 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
			what, args, NULL, NULL);
}

/* Copies the current row; -1 when a column is damaged. */
static int fill_actor(sqlite3_stmt *st, store_actor *out)
{
	const void *h = sqlite3_column_blob(st, 2);
	const void *m;

	memset(out, 0, sizeof *out);
	if (sqx_col_str(st, 0, out->name, sizeof out->name, 0) != 0 ||
	    sqx_col_str(st, 1, out->role, sizeof out->role, 0) != 0 ||
	    h == NULL ||
	    sqlite3_column_bytes(st, 2) != (int)sizeof out->token_hash)
		return -1;
	memcpy(out->token_hash, h, sizeof out->token_hash);
	out->created_at = sqlite3_column_int64(st, 3);
	out->revoked_at = sqlite3_column_int64(st, 4);
	/* A MAC of the wrong size is kept as absent: the check refuses it. */
	m = sqlite3_column_blob(st, 5);
	if (m != NULL && sqlite3_column_bytes(st, 5) == (int)sizeof out->mac) {
		memcpy(out->mac, m, sizeof out->mac);
		out->has_mac = 1;
	}
	return 0;
}

static int actor_get_row(store *s, sqlite3_stmt *st, void *ud)
{
	if (fill_actor(st, ud) != 0) {
		sqx_error(s, "actor get", "damaged actor row");
		return -1;
	}
	return 0;
}

int sqx_actor_get(store *s, const char *name, store_actor *out)
{
	static const char what[] = "actor get";
	const struct sqx_arg args[] = {SQX_T(name), SQX_ARGS_END};

	return sqx_one(
		s,
		sqx_stmt(s, ST_ACTOR_GET, what, ACTOR_COLS " WHERE name = ?1"),
		what, args, "no such actor", actor_get_row, out);
}

struct actor_walk {
	store_actor_fn fn;
	void *ud;
};

static int actor_row(store *s, sqlite3_stmt *st, void *ud)
{
	struct actor_walk *w = ud;
	store_actor a;

	if (fill_actor(st, &a) != 0) {
		sqx_error(s, "actor list", "damaged actor row");
		return -1;
	}
	return w->fn(w->ud, &a) != 0;
}

int sqx_actor_list(store *s, store_actor_fn fn, void *ud)
{
	static const char what[] = "actor list";
	struct actor_walk w = {fn, ud};

	return sqx_walk(
		s,
		sqx_stmt(s, ST_ACTOR_LIST, what, ACTOR_COLS " ORDER BY name"),
		what, NULL, actor_row, &w);
}

int sqx_actor_revoke(store *s, const char *name, int64_t at)
{
	static const char what[] = "actor revoke";
	const struct sqx_arg args[] = {SQX_T(name), SQX_I(at), SQX_ARGS_END};

	return sqx_exec(
		s,
		sqx_stmt(s, ST_ACTOR_REVOKE, what,
			 "UPDATE actor SET revoked_at = ?2 WHERE name = ?1"
			 " AND revoked_at = 0"),
		what, args, NULL, "no such active actor");
}

int sqx_actor_set_auth(store *s, const store_actor *a)
{
	static const char what[] = "actor set mac";
	const struct sqx_arg args[] = {
		SQX_T(a->name), SQX_B(a->token_hash, sizeof a->token_hash),
		SQX_B(a->mac, sizeof a->mac), SQX_ARGS_END};

	return sqx_exec(s,
			sqx_stmt(s, ST_ACTOR_SET_MAC, what,
				 "UPDATE actor SET token_hash = ?2, mac = ?3"
				 " WHERE name = ?1"),
			what, args, NULL, "no such actor");
}
