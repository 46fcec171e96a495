/*
 * store_pg_selfsvc.c: self-service links and sessions in the PostgreSQL
 * backend (slots PGX_SELFSVC + 0..15), the same rows as the SQLite
 * backend's: a row is found by the keyed hash of its secret, which itself
 * never reaches the database.
 */
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "store.h"
#include "store_pg_int.h"

#define S(n) (PGX_SELFSVC + (n))
#define SELFSVC_COLS                                                           \
	"SELECT hash, subject_id, kind, created_at, expires_at, used_at, mac"  \
	" FROM selfsvc"

int pgx_selfsvc_insert(store *s, const store_selfsvc *row)
{
	struct pgq q = {0};

	if (pgx_subject_must_exist(s, row->subject_id, "self-service insert"))
		return STORE_ERR;
	pgq_blob(&q, row->hash, SEC_HASH_BYTES);
	pgq_text(&q, row->subject_id);
	pgq_i64(&q, row->kind);
	pgq_i64(&q, row->created_at);
	pgq_i64(&q, row->expires_at);
	pgq_i64(&q, row->used_at);
	pgq_blob(&q, row->mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(0), "self-service insert",
		       "INSERT INTO selfsvc (hash, subject_id, kind,"
		       " created_at, expires_at, used_at, mac) VALUES ($1, $2,"
		       " $3, $4, $5, $6, $7)",
		       &q, 0, NULL);
}

/* out set: the get (the row lands in *out); else the walk (fn). */
struct selfsvc_walk {
	store_selfsvc *out;
	int (*fn)(void *ud, const store_selfsvc *row);
	void *ud;
};

/* One SELFSVC_COLS row, for the get and the walk. */
static int selfsvc_row(store *s, const PGresult *res, int i, const char *what,
		       void *ud)
{
	const struct selfsvc_walk *w = ud;
	store_selfsvc row = {0};
	store_selfsvc *out = w->out ? w->out : &row;
	const unsigned char *h = pgx_blob_n(res, i, 0, SEC_HASH_BYTES);
	const unsigned char *m = pgx_blob_n(res, i, 6, SEC_HASH_BYTES);

	memset(out, 0, sizeof *out);
	if (h == NULL || m == NULL ||
	    pgx_str(res, i, 1, out->subject_id, sizeof out->subject_id, 0) != 0)
		return pgx_error(s, what, "damaged self-service row");
	memcpy(out->hash, h, SEC_HASH_BYTES);
	out->kind = (int)pgx_i64(res, i, 2);
	out->created_at = pgx_i64(res, i, 3);
	out->expires_at = pgx_i64(res, i, 4);
	out->used_at = pgx_i64(res, i, 5);
	memcpy(out->mac, m, SEC_HASH_BYTES);
	return w->out ? 0 : w->fn(w->ud, out) != 0;
}

int pgx_selfsvc_get(store *s, const unsigned char *hash, store_selfsvc *out)
{
	struct pgq q = {0};
	unsigned char h[SEC_HASH_BYTES];
	struct selfsvc_walk w = {out, NULL, NULL};

	/* hash may point into out */
	memcpy(h, hash, sizeof h);
	pgq_blob(&q, h, sizeof h);
	return pgx_one(s, S(1), "self-service get",
		       SELFSVC_COLS " WHERE hash = $1", &q, NULL, selfsvc_row,
		       &w);
}

/* One exchange wins: the row changes only while it is unused. */
int pgx_selfsvc_use(store *s, const unsigned char *hash, int64_t at,
		    const unsigned char *mac)
{
	struct pgq q = {0};

	pgq_blob(&q, hash, SEC_HASH_BYTES);
	pgq_i64(&q, at);
	pgq_blob(&q, mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(2), "self-service use",
		       "UPDATE selfsvc SET used_at = $2, mac = $3"
		       " WHERE hash = $1 AND used_at = 0",
		       &q, 1, NULL);
}

int pgx_selfsvc_count(store *s, const char *subject_id, int kind, int64_t now,
		      int64_t *n)
{
	struct pgq q = {0};

	*n = 0;
	pgq_text(&q, subject_id);
	pgq_i64(&q, kind);
	pgq_i64(&q, now);
	return pgx_count(s, S(3), "self-service count",
			 "SELECT count(*) FROM selfsvc WHERE subject_id = $1"
			 " AND kind = $2 AND used_at = 0 AND expires_at > $3",
			 &q, n);
}

int pgx_selfsvc_purge(store *s, int64_t now, const unsigned char *hash)
{
	struct pgq q = {0};

	if (hash != NULL) {
		pgq_blob(&q, hash, SEC_HASH_BYTES);
		return pgx_cmd(s, S(4), "self-service purge",
			       "DELETE FROM selfsvc WHERE hash = $1", &q, 0,
			       NULL);
	}
	pgq_i64(&q, now);
	return pgx_cmd(s, S(5), "self-service purge",
		       "DELETE FROM selfsvc WHERE expires_at <= $1", &q, 0,
		       NULL);
}

int pgx_selfsvc_walk(store *s, int (*fn)(void *ud, const store_selfsvc *row),
		     void *ud)
{
	struct selfsvc_walk w = {NULL, fn, ud};

	return pgx_walk(s, S(6), "self-service walk",
			SELFSVC_COLS " ORDER BY hash", NULL, selfsvc_row, &w);
}

/* ---- the rows about to go, for their set's pin ---- */

int pgx_selfsvc_select(store *s, const char *subject_id, int64_t now,
		       int (*fn)(void *ud, const store_selfsvc *row), void *ud)
{
	struct pgq q = {0};
	struct selfsvc_walk w = {NULL, fn, ud};

	if (subject_id != NULL) {
		pgq_text(&q, subject_id);
		return pgx_walk(s, S(7), "self-service select",
				SELFSVC_COLS " WHERE subject_id = $1", &q,
				selfsvc_row, &w);
	}
	pgq_i64(&q, now);
	return pgx_walk(s, S(8), "self-service select",
			SELFSVC_COLS " WHERE expires_at <= $1", &q, selfsvc_row,
			&w);
}

/* ---- a link's earlier opens in the trail (through audit_subject) ---- */

int pgx_audit_link_opened(store *s, const char *subject, const char *fields,
			  int64_t *n)
{
	struct pgq q = {0};

	*n = 0;
	pgq_text(&q, subject);
	pgq_text(&q, fields);
	return pgx_count(s, S(9), "self-service opens",
			 "SELECT count(*) FROM audit WHERE subject = $1"
			 " AND action = 'selfservice.open' AND outcome = 'ok'"
			 " AND fields = $2",
			 &q, n);
}
