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
	sqlite3_stmt *st = sqx_stmt(s, ST_ACTOR_INSERT, "actor insert",
				    "INSERT INTO actor (name, role, "
				    "token_hash, created_at, revoked_at, mac)"
				    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, a->name) != SQLITE_OK ||
	    sqx_bind_text(st, 2, a->role) != SQLITE_OK ||
	    sqx_bind_blob(st, 3, a->token_hash, sizeof a->token_hash) !=
		    SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, a->created_at) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, a->revoked_at) != SQLITE_OK ||
	    (a->has_mac ? sqx_bind_blob(st, 6, a->mac, sizeof a->mac)
			: sqlite3_bind_null(st, 6)) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "actor insert", "cannot bind");
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	if (rc != SQLITE_DONE)
		return sqx_fail(s, "actor insert", rc);
	return 0;
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

int sqx_actor_get(store *s, const char *name, store_actor *out)
{
	sqlite3_stmt *st = sqx_stmt(s, ST_ACTOR_GET, "actor get",
				    ACTOR_COLS " WHERE name = ?1");
	int rc, ret = STORE_ERR;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, name) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "actor get", "cannot bind");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = STORE_NOTFOUND;
	else if (rc != SQLITE_ROW)
		ret = sqx_fail(s, "actor get", rc);
	else if (fill_actor(st, out) != 0)
		ret = sqx_error(s, "actor get", "damaged actor row");
	else
		ret = 0;
	sqx_done(st);
	if (ret == STORE_NOTFOUND)
		sqx_error(s, "actor get", "no such actor");
	return ret;
}

int sqx_actor_list(store *s, store_actor_fn fn, void *ud)
{
	sqlite3_stmt *st = sqx_stmt(s, ST_ACTOR_LIST, "actor list",
				    ACTOR_COLS " ORDER BY name");
	store_actor a;
	int rc, ret = 0;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fill_actor(st, &a) != 0) {
			ret = sqx_error(s, "actor list", "damaged actor row");
			break;
		}
		if (fn(ud, &a) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sqx_fail(s, "actor list", rc);
	sqx_done(st);
	return ret;
}

int sqx_actor_revoke(store *s, const char *name, int64_t at)
{
	sqlite3_stmt *st =
		sqx_stmt(s, ST_ACTOR_REVOKE, "actor revoke",
			 "UPDATE actor SET revoked_at = ?2 WHERE name = ?1"
			 " AND revoked_at = 0");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, name) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, at) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "actor revoke", "cannot bind");
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	if (rc != SQLITE_DONE)
		return sqx_fail(s, "actor revoke", rc);
	if (sqlite3_changes(sqx_db(s)) == 0) {
		sqx_error(s, "actor revoke", "no such active actor");
		return STORE_NOTFOUND;
	}
	return 0;
}

int sqx_actor_set_auth(store *s, const store_actor *a)
{
	sqlite3_stmt *st = sqx_stmt(s, ST_ACTOR_SET_MAC, "actor set mac",
				    "UPDATE actor SET token_hash = ?2, mac = ?3"
				    " WHERE name = ?1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (sqx_bind_text(st, 1, a->name) != SQLITE_OK ||
	    sqx_bind_blob(st, 2, a->token_hash, sizeof a->token_hash) !=
		    SQLITE_OK ||
	    sqx_bind_blob(st, 3, a->mac, sizeof a->mac) != SQLITE_OK) {
		sqx_done(st);
		return sqx_error(s, "actor set mac", "cannot bind");
	}
	rc = sqlite3_step(st);
	sqx_done(st);
	if (rc != SQLITE_DONE)
		return sqx_fail(s, "actor set mac", rc);
	if (sqlite3_changes(sqx_db(s)) == 0) {
		sqx_error(s, "actor set mac", "no such actor");
		return STORE_NOTFOUND;
	}
	return 0;
}
