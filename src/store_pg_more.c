/*
 * store_pg_more.c: the PostgreSQL backend's records and attachments,
 * consent ledger, cookie identifiers, actors, administration, erasures and
 * held records, data subject requests and retention (store_pg_int.h).
 * Each statement has a slot of its own from PGX_MORE on.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_pg_int.h"

#define S(n) (PGX_MORE + (n))

/* ---- records and attachments ---- */

#define RECORD_COLS                                                            \
	"SELECT id, type, ciphertext, purposes, legal_basis, source,"          \
	" created_at, expires_at, attachment_size, attachment_type, mac,"      \
	" cookie_hash FROM record"

int pgx_record_insert(store *s, store_record *r)
{
	struct pgq q = {0};

	pgq_text(&q, r->subject_id);
	pgq_text(&q, r->type);
	pgq_blob(&q, r->ct ? (const void *)r->ct : "", r->ctlen);
	pgq_text(&q, r->purposes);
	pgq_text(&q, r->legal_basis);
	pgq_text(&q, r->source);
	pgq_i64(&q, r->created_at);
	pgq_opt(&q, r->expires);
	pgq_i64(&q, r->attachment_size);
	pgq_opt(&q, r->attachment_type);
	pgq_blob(&q, r->mac, SEC_HASH_BYTES);
	pgq_blob(&q, r->cookie_hash, SEC_BIDX_BYTES);
	return pgx_count(s, S(0), "record insert",
			 "INSERT INTO record (subject_id, type, ciphertext,"
			 " purposes, legal_basis, source, created_at,"
			 " expires_at, attachment_size, attachment_type, mac,"
			 " cookie_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
			 " $9, $10, $11, $12) RETURNING id",
			 &q, &r->id);
}

int pgx_record_set_mac(store *s, int64_t id,
		       const unsigned char mac[SEC_HASH_BYTES])
{
	struct pgq q = {0};

	pgq_i64(&q, id);
	pgq_blob(&q, mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(1), "record set mac",
		       "UPDATE record SET mac = $2 WHERE id = $1", &q, 1, NULL);
}

/* One RECORD_COLS row, for the list and the get. */
static int record_row(store *s, const PGresult *res, int i, const char *what,
		      void *ud)
{
	static const unsigned char bad[SEC_BIDX_BYTES];
	const struct pgx_to *w = ud;
	store_record r;
	size_t n;

	memset(&r, 0, sizeof r);
	r.id = pgx_i64(res, i, 0);
	r.subject_id = w->subject_id;
	r.type = pgx_text(res, i, 1);
	r.ct = pgx_blob(res, i, 2, &r.ctlen);
	r.purposes = pgx_text(res, i, 3);
	r.legal_basis = pgx_text(res, i, 4);
	r.source = pgx_text(res, i, 5);
	r.created_at = pgx_i64(res, i, 6);
	r.expires = pgx_text(res, i, 7);
	r.attachment_size = pgx_i64(res, i, 8);
	r.attachment_type = pgx_text(res, i, 9);
	r.mac = pgx_blob_n(res, i, 10, SEC_HASH_BYTES);
	/* A hash of the wrong size reads as present but wrong: the MAC
	 * check refuses the row. */
	if (pgx_blob(res, i, 11, &n) != NULL)
		r.cookie_hash =
			n == SEC_BIDX_BYTES ? pgx_blob(res, i, 11, &n) : bad;
	if (!r.type || !r.ct || !r.purposes || !r.legal_basis || !r.source)
		return pgx_error(s, what, "damaged record row");
	return w->fn.record(w->ud, &r) != 0;
}

int pgx_record_list(store *s, const char *subject_id, const char *type,
		    store_record_fn fn, void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.record = fn, .ud = ud, .subject_id = subject_id};

	pgq_text(&q, subject_id);
	if (!type)
		return pgx_walk(s, S(3), "record list",
				RECORD_COLS
				" WHERE subject_id = $1 ORDER BY id",
				&q, record_row, &w);
	pgq_text(&q, type);
	return pgx_walk(s, S(2), "record list",
			RECORD_COLS " WHERE subject_id = $1 AND"
				    " type = $2 ORDER BY id",
			&q, record_row, &w);
}

int pgx_record_get(store *s, const char *subject_id, int64_t id,
		   store_record_fn fn, void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.record = fn, .ud = ud, .subject_id = subject_id};

	pgq_text(&q, subject_id);
	pgq_i64(&q, id);
	return pgx_one(s, S(4), "record get",
		       RECORD_COLS " WHERE subject_id = $1 AND id = $2", &q,
		       "no such record", record_row, &w);
}

int pgx_record_delete_type(store *s, const char *subject_id, const char *type,
			   int64_t *deleted)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	pgq_text(&q, type);
	return pgx_cmd(s, S(5), "record delete",
		       "DELETE FROM record WHERE subject_id = $1 AND type = $2",
		       &q, 0, deleted);
}

/* The chunk carries its record's subject (the distribution column). */
int pgx_chunk_put(store *s, int64_t record_id, int64_t seq,
		  const unsigned char *ct, size_t len)
{
	struct pgq q = {0};
	int rc;

	pgq_i64(&q, record_id);
	pgq_i64(&q, seq);
	pgq_blob(&q, ct ? (const void *)ct : "", len);
	rc = pgx_cmd(s, S(6), "attachment chunk put",
		     "INSERT INTO attachment_chunk (subject_id, record_id, seq,"
		     " ciphertext) SELECT subject_id, id, $2, $3 FROM record"
		     " WHERE id = $1",
		     &q, 1, NULL);
	return rc == STORE_NOTFOUND ? STORE_ERR : rc;
}

static int chunk_row(store *s, const PGresult *res, int i, const char *what,
		     void *ud)
{
	const struct pgx_to *w = ud;
	size_t n;
	const unsigned char *ct = pgx_blob(res, i, 1, &n);

	if (ct == NULL)
		return pgx_error(s, what, "damaged attachment chunk");
	return w->fn.chunk(w->ud, pgx_i64(res, i, 0), ct, n) != 0;
}

int pgx_chunk_walk(store *s, int64_t record_id, store_chunk_fn fn, void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.chunk = fn, .ud = ud};

	pgq_i64(&q, record_id);
	return pgx_walk(s, S(7), "attachment chunk walk",
			"SELECT seq, ciphertext FROM attachment_chunk"
			" WHERE record_id = $1 ORDER BY seq",
			&q, chunk_row, &w);
}

/* ---- consent and objection ledger ---- */

#define CONSENT_COLS                                                           \
	"SELECT id, subject_id, scope, objection, given, at, channel,"         \
	" policy_version, actor, evidence, mac FROM consent"

int pgx_consent_append(store *s, store_consent *c)
{
	struct pgq q = {0};

	pgq_text(&q, c->subject_id);
	pgq_text(&q, c->scope);
	pgq_i64(&q, c->objection ? 1 : 0);
	pgq_i64(&q, c->given ? 1 : 0);
	pgq_i64(&q, c->at);
	pgq_text(&q, c->channel);
	pgq_i64(&q, c->policy_version);
	pgq_text(&q, c->actor);
	/* No evidence is SQL NULL, not an empty bytea. */
	pgq_blob(&q, c->evidence_ct, c->evidence_len);
	pgq_blob(&q, c->mac, SEC_HASH_BYTES);
	return pgx_count(
		s, S(8), "consent append",
		"INSERT INTO consent (subject_id, scope, objection,"
		" given, at, channel, policy_version, actor, evidence,"
		" mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
		" RETURNING id",
		&q, &c->id);
}

int pgx_consent_set_mac(store *s, int64_t id,
			const unsigned char mac[SEC_HASH_BYTES])
{
	struct pgq q = {0};

	pgq_i64(&q, id);
	pgq_blob(&q, mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(9), "consent set mac",
		       "UPDATE consent SET mac = $2 WHERE id = $1", &q, 1,
		       NULL);
}

/* One CONSENT_COLS row, for the walk and the latest entry. */
static int consent_row(store *s, const PGresult *res, int i, const char *what,
		       void *ud)
{
	const struct pgx_to *w = ud;
	store_consent c;
	int64_t version;

	memset(&c, 0, sizeof c);
	c.id = pgx_i64(res, i, 0);
	c.subject_id = pgx_text(res, i, 1);
	c.scope = pgx_text(res, i, 2);
	c.objection = pgx_i64(res, i, 3) != 0;
	c.given = pgx_i64(res, i, 4) != 0;
	c.at = pgx_i64(res, i, 5);
	c.channel = pgx_text(res, i, 6);
	version = pgx_i64(res, i, 7);
	c.actor = pgx_text(res, i, 8);
	if (!c.subject_id || !c.scope || !c.channel || !c.actor ||
	    version < 0 || version > INT32_MAX)
		return pgx_error(s, what, "damaged ledger entry");
	c.policy_version = (int)version;
	c.evidence_ct = pgx_blob(res, i, 9, &c.evidence_len);
	c.mac = pgx_blob_n(res, i, 10, SEC_HASH_BYTES);
	return w->fn.consent(w->ud, &c) != 0;
}

int pgx_consent_walk(store *s, const char *subject_id, const char *scope,
		     store_consent_fn fn, void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.consent = fn, .ud = ud};

	pgq_text(&q, subject_id);
	if (!scope)
		return pgx_walk(s, S(11), "consent walk",
				CONSENT_COLS " WHERE subject_id = $1"
					     " ORDER BY id",
				&q, consent_row, &w);
	pgq_text(&q, scope);
	return pgx_walk(s, S(10), "consent walk",
			CONSENT_COLS " WHERE subject_id = $1 AND"
				     " scope = $2 ORDER BY id",
			&q, consent_row, &w);
}

int pgx_consent_latest(store *s, const char *subject_id, const char *scope,
		       int objection, store_consent_fn fn, void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.consent = fn, .ud = ud};

	pgq_text(&q, subject_id);
	pgq_text(&q, scope);
	pgq_i64(&q, objection ? 1 : 0);
	return pgx_one(s, S(12), "consent latest",
		       CONSENT_COLS " WHERE subject_id = $1 AND scope = $2"
				    " AND objection = $3"
				    " ORDER BY id DESC LIMIT 1",
		       &q, NULL, consent_row, &w);
}

/* ---- cookie and device identifiers ---- */

int pgx_cookie_link(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		    const char *subject_id, int64_t at,
		    const unsigned char *mac)
{
	struct pgq q = {0};
	int rc;

	if (pgx_subject_must_exist(s, subject_id, "cookie link") != 0)
		return STORE_ERR;
	pgq_blob(&q, hash, SEC_BIDX_BYTES);
	pgq_text(&q, subject_id);
	pgq_i64(&q, at);
	pgq_blob(&q, mac, SEC_HASH_BYTES);
	/* Linking the same pair again refreshes it; an identifier of another
	 * subject is left alone and reported, never moved silently. */
	rc = pgx_cmd(s, S(13), "cookie link",
		     "INSERT INTO cookie (hash, subject_id, linked_at, mac)"
		     " VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO UPDATE"
		     " SET linked_at = excluded.linked_at, mac = excluded.mac"
		     " WHERE cookie.subject_id = excluded.subject_id",
		     &q, 1, NULL);
	if (rc == STORE_NOTFOUND)
		return pgx_error(s, "cookie link",
				 "identifier linked to another subject");
	return rc;
}

struct cookie_resolve {
	char *subject_id;
	int64_t *linked_at;
	unsigned char *mac;
};

static int cookie_resolve_row(store *s, const PGresult *res, int i,
			      const char *what, void *ud)
{
	const struct cookie_resolve *c = ud;
	const unsigned char *m;

	if (pgx_str(res, i, 0, c->subject_id, 33, 0)) {
		c->subject_id[0] = '\0';
		return pgx_error(s, what, "damaged row");
	}
	m = pgx_blob_n(res, i, 1, SEC_HASH_BYTES);
	if (m)
		memcpy(c->mac, m, SEC_HASH_BYTES);
	*c->linked_at = pgx_i64(res, i, 2);
	return 0;
}

int pgx_cookie_resolve(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       char subject_id[33], int64_t *linked_at,
		       unsigned char mac[SEC_HASH_BYTES])
{
	struct pgq q = {0};
	struct cookie_resolve c = {subject_id, linked_at, mac};

	subject_id[0] = '\0';
	*linked_at = 0;
	memset(mac, 0, SEC_HASH_BYTES);
	pgq_blob(&q, hash, SEC_BIDX_BYTES);
	return pgx_one(s, S(14), "cookie resolve",
		       "SELECT subject_id, mac, linked_at FROM cookie"
		       " WHERE hash = $1",
		       &q, "identifier not linked", cookie_resolve_row, &c);
}

static int cookie_row(store *s, const PGresult *res, int i, const char *what,
		      void *ud)
{
	const struct pgx_to *w = ud;
	const unsigned char *h = pgx_blob_n(res, i, 0, SEC_BIDX_BYTES);
	const char *sid = pgx_text(res, i, 1);

	if (h == NULL || sid == NULL)
		return pgx_error(s, what, "damaged row");
	return w->fn.cookie(w->ud, h, sid, pgx_i64(res, i, 3),
			    pgx_blob_n(res, i, 2, SEC_HASH_BYTES)) != 0;
}

int pgx_cookie_walk(store *s, store_cookie_fn fn, void *ud)
{
	struct pgx_to w = {.fn.cookie = fn, .ud = ud};

	return pgx_walk(s, S(15), "cookie walk",
			"SELECT hash, subject_id, mac, linked_at FROM cookie"
			" ORDER BY hash",
			NULL, cookie_row, &w);
}

int pgx_cookie_set_mac(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		       const unsigned char mac[SEC_HASH_BYTES])
{
	struct pgq q = {0};

	pgq_blob(&q, hash, SEC_BIDX_BYTES);
	pgq_blob(&q, mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(16), "cookie set mac",
		       "UPDATE cookie SET mac = $2 WHERE hash = $1", &q, 0,
		       NULL);
}

int pgx_cookie_unlink_subject(store *s, const char *subject_id, int64_t *n)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	return pgx_cmd(s, S(17), "cookie unlink",
		       "DELETE FROM cookie WHERE subject_id = $1", &q, 0, n);
}

/* The records that came through a subject's identifiers until then (by
 * their own columns, under their MACs), then the links made until then (a
 * cookie reset replayed after a restore). */
int pgx_cookie_reset_until(store *s, const char *subject_id, int64_t until,
			   int64_t *records, int64_t *links)
{
	struct pgq q = {0};
	int rc;

	pgq_text(&q, subject_id);
	pgq_i64(&q, until);
	rc = pgx_cmd(s, S(61), "cookie reset records",
		     "DELETE FROM record WHERE subject_id = $1 AND"
		     " cookie_hash IS NOT NULL AND created_at <= $2",
		     &q, 0, records);
	if (rc != 0)
		return rc;
	return pgx_cmd(s, S(62), "cookie reset links",
		       "DELETE FROM cookie WHERE subject_id = $1 AND"
		       " linked_at <= $2",
		       &q, 0, links);
}

/* ---- an empty cookie reset: was a link made since the last reset? ---- */

int pgx_audit_newest_is(store *s, const char *subject, const char *newer,
			const char *older, int64_t *n)
{
	struct pgq q = {0};

	pgq_text(&q, subject);
	pgq_text(&q, newer);
	pgq_text(&q, older);
	return pgx_count(s, S(63), "audit newest",
			 "SELECT count(*) FROM (SELECT action FROM audit"
			 " WHERE subject = $1 AND action IN ($2, $3)"
			 " AND outcome = 'ok' ORDER BY seq DESC LIMIT 1) t"
			 " WHERE action = $2",
			 &q, n);
}

/* ---- actors ---- */

#define ACTOR_COLS                                                             \
	"SELECT name, role, token_hash, created_at, revoked_at, mac"           \
	" FROM actor"

int pgx_actor_insert(store *s, const store_actor *a)
{
	struct pgq q = {0};

	pgq_text(&q, a->name);
	pgq_text(&q, a->role);
	pgq_blob(&q, a->token_hash, sizeof a->token_hash);
	pgq_i64(&q, a->created_at);
	pgq_i64(&q, a->revoked_at);
	pgq_blob(&q, a->has_mac ? a->mac : NULL, sizeof a->mac);
	return pgx_cmd(s, S(18), "actor insert",
		       "INSERT INTO actor (name, role, token_hash, created_at,"
		       " revoked_at, mac) VALUES ($1, $2, $3, $4, $5, $6)",
		       &q, 0, NULL);
}

/* out set: the get (the row lands in *out); else the list (fn). */
struct actor_walk {
	store_actor *out;
	store_actor_fn fn;
	void *ud;
};

/* One ACTOR_COLS row, for the get and the list. */
static int actor_row(store *s, const PGresult *r, int i, const char *what,
		     void *ud)
{
	const struct actor_walk *w = ud;
	store_actor a = {0};
	store_actor *out = w->out ? w->out : &a;
	const unsigned char *h = pgx_blob_n(r, i, 2, sizeof out->token_hash);
	const unsigned char *m = pgx_blob_n(r, i, 5, sizeof out->mac);

	memset(out, 0, sizeof *out);
	if (pgx_str(r, i, 0, out->name, sizeof out->name, 0) != 0 ||
	    pgx_str(r, i, 1, out->role, sizeof out->role, 0) != 0 || !h)
		return pgx_error(s, what, "damaged actor row");
	memcpy(out->token_hash, h, sizeof out->token_hash);
	out->created_at = pgx_i64(r, i, 3);
	out->revoked_at = pgx_i64(r, i, 4);
	if (m != NULL) {
		memcpy(out->mac, m, sizeof out->mac);
		out->has_mac = 1;
	}
	return w->out ? 0 : w->fn(w->ud, out) != 0;
}

int pgx_actor_get(store *s, const char *name, store_actor *out)
{
	struct pgq q = {0};
	struct actor_walk w = {out, NULL, NULL};

	pgq_text(&q, name);
	return pgx_one(s, S(19), "actor get", ACTOR_COLS " WHERE name = $1", &q,
		       "no such actor", actor_row, &w);
}

int pgx_actor_list(store *s, store_actor_fn fn, void *ud)
{
	struct actor_walk w = {NULL, fn, ud};

	return pgx_walk(s, S(20), "actor list", ACTOR_COLS " ORDER BY name",
			NULL, actor_row, &w);
}

int pgx_actor_revoke(store *s, const char *name, int64_t at)
{
	struct pgq q = {0};
	int rc;

	pgq_text(&q, name);
	pgq_i64(&q, at);
	rc = pgx_cmd(s, S(21), "actor revoke",
		     "UPDATE actor SET revoked_at = $2 WHERE name = $1"
		     " AND revoked_at = 0",
		     &q, 1, NULL);
	if (rc == STORE_NOTFOUND)
		pgx_error(s, "actor revoke", "no such active actor");
	return rc;
}

int pgx_actor_set_auth(store *s, const store_actor *a)
{
	struct pgq q = {0};

	pgq_text(&q, a->name);
	pgq_blob(&q, a->token_hash, sizeof a->token_hash);
	pgq_blob(&q, a->has_mac ? a->mac : NULL, sizeof a->mac);
	return pgx_cmd(s, S(22), "actor set mac",
		       "UPDATE actor SET token_hash = $2, mac = $3"
		       " WHERE name = $1",
		       &q, 1, NULL);
}

/* ---- administration ---- */

int pgx_subject_set_key(store *s, const char *id,
			const unsigned char wrapped[SEC_WRAPPED_BYTES])
{
	struct pgq q = {0};

	pgq_text(&q, id);
	pgq_blob(&q, wrapped, SEC_WRAPPED_BYTES);
	return pgx_cmd(s, S(23), "subject set key",
		       "UPDATE subject SET wrapped_key = $2 WHERE id = $1", &q,
		       1, NULL);
}

/* What the foreign keys to subject did before the Citus migration (3 in
 * store_pg.c): the tables kept on the coordinator lose the subject's rows
 * (cookie, selfsvc: ON DELETE CASCADE) or their link to it (dsr,
 * disclosure: ON DELETE SET NULL), in the caller's transaction. */
static const struct {
	int slot;
	const char *sql;
} subject_gone[] = {
	{S(57), "DELETE FROM cookie WHERE subject_id = $1"},
	{S(58), "DELETE FROM selfsvc WHERE subject_id = $1"},
	{S(59), "UPDATE dsr SET subject_id = NULL WHERE subject_id = $1"},
	{S(60), "UPDATE disclosure SET subject_id = NULL"
		" WHERE subject_id = $1"},
};

int pgx_subject_delete(store *s, const char *id)
{
	struct pgq q = {0};
	int rc;

	pgq_text(&q, id);
	rc = pgx_cmd(s, S(24), "subject delete",
		     "DELETE FROM subject WHERE id = $1", &q, 1, NULL);
	for (size_t i = 0;
	     rc == 0 && i < sizeof subject_gone / sizeof subject_gone[0]; i++)
		rc = pgx_cmd(s, subject_gone[i].slot, "subject delete",
			     subject_gone[i].sql, &q, 0, NULL);
	return rc;
}

static int bidx_row(store *s, const PGresult *res, int i, const char *what,
		    void *ud)
{
	const struct pgx_to *w = ud;
	store_value v;

	memset(&v, 0, sizeof v);
	v.rowid = pgx_i64(res, i, 0);
	v.subject_id = w->subject_id;
	v.field = pgx_text(res, i, 1);
	v.ct = pgx_blob(res, i, 2, &v.ctlen);
	if (v.field == NULL || v.ct == NULL)
		return pgx_error(s, what, "bad row");
	return w->fn.value(w->ud, &v) != 0;
}

int pgx_value_bidx_walk(store *s, const char *subject_id, store_value_fn fn,
			void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.value = fn, .ud = ud, .subject_id = subject_id};

	pgq_text(&q, subject_id);
	return pgx_walk(s, S(25), "blind index walk",
			"SELECT id, field, ciphertext FROM value"
			" WHERE subject_id = $1 AND bidx IS NOT NULL"
			" ORDER BY id",
			&q, bidx_row, &w);
}

int pgx_ciphertext_set(store *s, enum store_ct kind, int64_t id, int64_t seq,
		       const unsigned char *ct, size_t len)
{
	static const char *const sql[] = {
		[STORE_CT_VALUE] = "UPDATE value SET ciphertext = $3"
				   " WHERE id = $1 AND $2::bigint IS NOT NULL",
		[STORE_CT_RECORD] = "UPDATE record SET ciphertext = $3"
				    " WHERE id = $1 AND $2::bigint IS NOT NULL",
		[STORE_CT_CHUNK] = "UPDATE attachment_chunk SET ciphertext = $3"
				   " WHERE record_id = $1 AND seq = $2",
		[STORE_CT_EVIDENCE] = "UPDATE consent SET evidence = $3"
				      " WHERE id = $1 AND evidence IS NOT NULL"
				      " AND $2::bigint IS NOT NULL",
	};
	struct pgq q = {0};

	if ((unsigned)kind >= sizeof sql / sizeof sql[0])
		return pgx_error(s, "ciphertext set", "unknown kind");
	pgq_i64(&q, id);
	pgq_i64(&q, seq);
	pgq_blob(&q, ct ? (const void *)ct : "", len);
	return pgx_cmd(s, S(26) + (int)kind, "ciphertext set", sql[kind], &q, 1,
		       NULL);
}

int pgx_value_set_bidx(store *s, int64_t rowid,
		       const unsigned char bidx[SEC_BIDX_BYTES])
{
	struct pgq q = {0};

	pgq_i64(&q, rowid);
	pgq_blob(&q, bidx, SEC_BIDX_BYTES);
	return pgx_cmd(s, S(30), "blind index set",
		       "UPDATE value SET bidx = $2"
		       " WHERE id = $1 AND bidx IS NOT NULL",
		       &q, 0, NULL);
}

/* ---- rights of the data subject ---- */

int pgx_record_set_ct(store *s, const char *subject_id, int64_t id,
		      const unsigned char *ct, size_t len)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	pgq_i64(&q, id);
	pgq_blob(&q, ct ? (const void *)ct : "", len);
	return pgx_cmd(s, S(31), "record set ciphertext",
		       "UPDATE record SET ciphertext = $3"
		       " WHERE subject_id = $1 AND id = $2",
		       &q, 1, NULL);
}

int pgx_record_delete(store *s, const char *subject_id, int64_t id)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	pgq_i64(&q, id);
	return pgx_cmd(s, S(32), "record delete",
		       "DELETE FROM record WHERE subject_id = $1 AND id = $2",
		       &q, 1, NULL);
}

int pgx_record_delete_cookies(store *s, const char *subject_id,
			      int64_t *deleted)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	return pgx_cmd(s, S(33), "record delete by cookie",
		       "DELETE FROM record WHERE subject_id = $1 AND"
		       " cookie_hash IS NOT NULL",
		       &q, 0, deleted);
}

int pgx_subject_set_kind(store *s, const char *id, const char *kind)
{
	struct pgq q = {0};

	pgq_text(&q, id);
	pgq_text(&q, kind);
	return pgx_cmd(s, S(34), "subject set kind",
		       "UPDATE subject SET kind = $2 WHERE id = $1", &q, 1,
		       NULL);
}

int pgx_value_set_expiry_row(store *s, int64_t rowid, const char *expires)
{
	struct pgq q = {0};

	pgq_i64(&q, rowid);
	pgq_opt(&q, expires);
	return pgx_cmd(s, S(35), "value set expiry",
		       "UPDATE value SET expires_at = $2 WHERE id = $1", &q, 1,
		       NULL);
}

/* ---- erasures and held records ---- */

int pgx_erasure_add(store *s, const store_erasure *e)
{
	struct pgq q = {0};

	pgq_blob(&q, e->tag, sizeof e->tag);
	pgq_text(&q, e->erased_on);
	pgq_i64(&q, e->held);
	pgq_blob(&q, e->mac, sizeof e->mac);
	return pgx_cmd(s, S(36), "erasure add",
		       "INSERT INTO erasure (tag, erased_on, held, mac)"
		       " VALUES ($1, $2, $3, $4) ON CONFLICT (tag) DO NOTHING",
		       &q, 0, NULL);
}

struct erasure_get {
	const unsigned char *tag;
	store_erasure *out;
};

static int erasure_get_row(store *s, const PGresult *res, int i,
			   const char *what, void *ud)
{
	const struct erasure_get *g = ud;
	const unsigned char *m = pgx_blob_n(res, i, 2, SEC_HASH_BYTES);

	if (pgx_str(res, i, 0, g->out->erased_on, sizeof g->out->erased_on,
		    0) != 0 ||
	    m == NULL)
		return pgx_error(s, what, "a damaged row");
	memcpy(g->out->tag, g->tag, sizeof g->out->tag);
	g->out->held = pgx_i64(res, i, 1);
	memcpy(g->out->mac, m, sizeof g->out->mac);
	return 0;
}

int pgx_erasure_get(store *s, const unsigned char tag[SEC_HASH_BYTES],
		    store_erasure *out)
{
	struct pgq q = {0};
	unsigned char key[SEC_HASH_BYTES];
	struct erasure_get g = {key, out};

	/* tag may point into out, which is cleared below */
	memcpy(key, tag, sizeof key);
	memset(out, 0, sizeof *out);
	pgq_blob(&q, key, sizeof key);
	return pgx_one(s, S(37), "erasure get",
		       "SELECT erased_on, held, mac FROM erasure"
		       " WHERE tag = $1",
		       &q, NULL, erasure_get_row, &g);
}

int pgx_held_insert(store *s, const store_held *h)
{
	struct pgq q = {0};

	pgq_i64(&q, h->id);
	pgq_text(&q, h->type);
	pgq_text(&q, h->retention);
	pgq_text(&q, h->hold_until);
	pgq_i64(&q, h->created_at);
	pgq_blob(&q, h->wrapped_key, SEC_WRAPPED_BYTES);
	pgq_blob(&q, h->ct ? (const void *)h->ct : "", h->ctlen);
	pgq_i64(&q, h->attachment_size);
	pgq_opt(&q, h->attachment_type);
	pgq_blob(&q, h->mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(38), "held record insert",
		       "INSERT INTO held_record (id, type, retention,"
		       " hold_until, created_at, wrapped_key, ciphertext,"
		       " attachment_size, attachment_type, mac) VALUES ($1,"
		       " $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		       &q, 0, NULL);
}

int pgx_held_chunk_put(store *s, int64_t record_id, int64_t seq,
		       const unsigned char *ct, size_t len)
{
	struct pgq q = {0};

	pgq_i64(&q, record_id);
	pgq_i64(&q, seq);
	pgq_blob(&q, ct ? (const void *)ct : "", len);
	return pgx_cmd(s, S(39), "held chunk put",
		       "INSERT INTO held_chunk (record_id, seq, ciphertext)"
		       " VALUES ($1, $2, $3)",
		       &q, 0, NULL);
}

static int erasure_row(store *s, const PGresult *res, int i, const char *what,
		       void *ud)
{
	const struct pgx_to *w = ud;
	const unsigned char *t = pgx_blob_n(res, i, 0, SEC_HASH_BYTES);
	const unsigned char *m = pgx_blob_n(res, i, 3, SEC_HASH_BYTES);
	store_erasure e;

	(void)s;
	(void)what;
	memset(&e, 0, sizeof e);
	if (t == NULL || m == NULL ||
	    pgx_str(res, i, 1, e.erased_on, sizeof e.erased_on, 0)) {
		/* a damaged row: a zero tag and MAC fail the check */
		memset(&e, 0, sizeof e);
	} else {
		memcpy(e.tag, t, sizeof e.tag);
		memcpy(e.mac, m, sizeof e.mac);
	}
	e.held = pgx_i64(res, i, 2);
	return w->fn.erasure(w->ud, &e) != 0;
}

int pgx_erasure_walk(store *s, store_erasure_fn fn, void *ud)
{
	struct pgx_to w = {.fn.erasure = fn, .ud = ud};

	return pgx_walk(s, S(40), "erasure walk",
			"SELECT tag, erased_on, held, mac FROM"
			" erasure ORDER BY tag",
			NULL, erasure_row, &w);
}

#define HELD_COLS                                                              \
	"SELECT id, type, retention, hold_until, created_at, wrapped_key,"     \
	" ciphertext, attachment_size, attachment_type, mac FROM held_record"

/* strict: a damaged row is an error (the retention run); otherwise it
 * reads with a zero key and MAC, which the check refuses (verify). */
struct held_walk {
	int strict;
	store_held_fn fn;
	void *ud;
};

/* One HELD_COLS row, for the walk and the due records. */
static int held_row(store *s, const PGresult *res, int i, const char *what,
		    void *ud)
{
	static const unsigned char zero[SEC_WRAPPED_BYTES];
	const struct held_walk *w = ud;
	store_held h;

	memset(&h, 0, sizeof h);
	h.id = pgx_i64(res, i, 0);
	h.type = pgx_text(res, i, 1);
	h.retention = pgx_text(res, i, 2);
	h.hold_until = pgx_text(res, i, 3);
	h.created_at = pgx_i64(res, i, 4);
	h.wrapped_key = pgx_blob_n(res, i, 5, SEC_WRAPPED_BYTES);
	h.ct = pgx_blob(res, i, 6, &h.ctlen);
	h.attachment_size = pgx_i64(res, i, 7);
	h.attachment_type = pgx_text(res, i, 8);
	h.mac = pgx_blob_n(res, i, 9, SEC_HASH_BYTES);
	if (w->strict &&
	    (h.type == NULL || h.retention == NULL || h.hold_until == NULL ||
	     h.wrapped_key == NULL || h.mac == NULL))
		return pgx_error(s, what, "a damaged row");
	if (h.wrapped_key == NULL)
		h.wrapped_key = zero;
	if (h.mac == NULL)
		h.mac = zero;
	if (h.ct == NULL)
		h.ct = (const unsigned char *)"";
	return w->fn(w->ud, &h) != 0;
}

int pgx_held_walk(store *s, store_held_fn fn, void *ud)
{
	struct held_walk w = {0, fn, ud};

	return pgx_walk(s, S(41), "held record walk", HELD_COLS " ORDER BY id",
			NULL, held_row, &w);
}

/* ---- data subject requests ---- */

int pgx_dsr_insert(store *s, store_dsr *d)
{
	struct pgq q = {0};

	if (pgx_subject_must_exist(s, d->subject_id, "request insert") != 0)
		return STORE_ERR;
	pgq_opt(&q, d->subject_id);
	pgq_text(&q, d->pseudonym);
	pgq_text(&q, d->type);
	pgq_text(&q, d->received);
	pgq_text(&q, d->due);
	pgq_opt(&q, d->extended_due);
	pgq_blob(&q, d->extend_reason, d->extend_reason_len);
	pgq_opt(&q, d->verified_by);
	pgq_text(&q, d->status);
	pgq_opt(&q, d->outcome);
	pgq_blob(&q, d->reason, d->reason_len);
	pgq_opt(&q, d->closed);
	pgq_text(&q, d->purposes);
	pgq_blob(&q, d->mac, SEC_HASH_BYTES);
	return pgx_count(s, S(42), "request insert",
			 "INSERT INTO dsr (subject_id, pseudonym, type,"
			 " received, due, extended_due, extend_reason,"
			 " verified_by, status, outcome, reason, closed,"
			 " purposes, mac) VALUES ($1, $2, $3, $4, $5, $6, $7,"
			 " $8, $9, $10, $11, $12, $13, $14) RETURNING id",
			 &q, &d->id);
}

int pgx_dsr_update(store *s, const store_dsr *d)
{
	struct pgq q = {0};
	int rc;

	pgq_i64(&q, d->id);
	pgq_opt(&q, d->extended_due);
	pgq_blob(&q, d->extend_reason, d->extend_reason_len);
	pgq_text(&q, d->status);
	pgq_opt(&q, d->outcome);
	pgq_blob(&q, d->reason, d->reason_len);
	pgq_opt(&q, d->closed);
	pgq_blob(&q, d->mac, SEC_HASH_BYTES);
	rc = pgx_cmd(s, S(43), "request update",
		     "UPDATE dsr SET extended_due = $2, extend_reason = $3,"
		     " status = $4, outcome = $5, reason = $6, closed = $7,"
		     " mac = $8 WHERE id = $1",
		     &q, 1, NULL);
	if (rc == STORE_NOTFOUND)
		pgx_error(s, "request update", "no such request");
	return rc;
}

static int dsr_row(store *s, const PGresult *res, int i, const char *what,
		   void *ud)
{
	const struct pgx_to *w = ud;
	store_dsr d;

	memset(&d, 0, sizeof d);
	d.id = pgx_i64(res, i, 0);
	d.subject_id = pgx_text(res, i, 1);
	d.pseudonym = pgx_text(res, i, 2);
	d.type = pgx_text(res, i, 3);
	d.received = pgx_text(res, i, 4);
	d.due = pgx_text(res, i, 5);
	d.extended_due = pgx_text(res, i, 6);
	d.extend_reason = pgx_blob(res, i, 7, &d.extend_reason_len);
	d.verified_by = pgx_text(res, i, 8);
	d.status = pgx_text(res, i, 9);
	d.outcome = pgx_text(res, i, 10);
	d.reason = pgx_blob(res, i, 11, &d.reason_len);
	d.closed = pgx_text(res, i, 12);
	d.purposes = pgx_text(res, i, 13);
	d.mac = pgx_blob_n(res, i, 14, SEC_HASH_BYTES);
	if (!d.pseudonym || !d.type || !d.received || !d.due || !d.status)
		return pgx_error(s, what, "damaged request row");
	return w->fn.dsr(w->ud, &d) != 0;
}

int pgx_dsr_walk(store *s, store_dsr_fn fn, void *ud)
{
	struct pgx_to w = {.fn.dsr = fn, .ud = ud};

	return pgx_walk(
		s, S(44), "request walk",
		"SELECT id, subject_id, pseudonym, type, received, due,"
		" extended_due, extend_reason, verified_by, status, outcome,"
		" reason, closed, purposes, mac FROM dsr ORDER BY id",
		NULL, dsr_row, &w);
}

/* ---- retention, review and confirmation ---- */

int pgx_retention_due(store *s, const char *as_of, store_id_fn fn, void *ud)
{
	struct pgq q = {0};

	pgq_text(&q, as_of);
	return pgx_walk_ids(s, S(45), "retention due",
			    "SELECT subject_id FROM value"
			    " WHERE expires_at IS NOT NULL AND expires_at < $1"
			    " UNION SELECT subject_id FROM record"
			    " WHERE expires_at IS NOT NULL AND expires_at < $1",
			    &q, fn, ud);
}

int pgx_value_delete_row(store *s, const char *subject_id, int64_t rowid)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	pgq_i64(&q, rowid);
	return pgx_cmd(s, S(46), "value delete",
		       "DELETE FROM value WHERE id = $2 AND subject_id = $1",
		       &q, 1, NULL);
}

int pgx_record_set_expiry(store *s, int64_t id, const char *expires,
			  const unsigned char mac[SEC_HASH_BYTES])
{
	struct pgq q = {0};

	pgq_i64(&q, id);
	pgq_opt(&q, expires);
	pgq_blob(&q, mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(47), "record set expiry",
		       "UPDATE record SET expires_at = $2, mac = $3"
		       " WHERE id = $1",
		       &q, 1, NULL);
}

int pgx_cookie_unlink(store *s, const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t *n)
{
	struct pgq q = {0};

	pgq_blob(&q, hash, SEC_BIDX_BYTES);
	pgq_text(&q, subject_id);
	return pgx_cmd(s, S(48), "cookie unlink",
		       "DELETE FROM cookie WHERE hash = $1 AND subject_id = $2",
		       &q, 0, n);
}

int pgx_held_due(store *s, const char *as_of, size_t limit, store_held_fn fn,
		 void *ud)
{
	struct pgq q = {0};
	struct held_walk w = {1, fn, ud};

	pgq_text(&q, as_of);
	if (limit == 0 || limit > (size_t)INT64_MAX)
		pgq_text(&q, NULL);
	else
		pgq_i64(&q, (int64_t)limit);
	return pgx_walk(s, S(49), "held records due",
			HELD_COLS " WHERE hold_until < $1"
				  " ORDER BY hold_until, id LIMIT $2",
			&q, held_row, &w);
}

int pgx_held_delete(store *s, int64_t id)
{
	struct pgq q = {0};

	pgq_i64(&q, id);
	return pgx_cmd(s, S(50), "held record delete",
		       "DELETE FROM held_record WHERE id = $1", &q, 1, NULL);
}

int pgx_value_confirm(store *s, const char *subject_id, const char *field,
		      int64_t at, const char *today, int64_t *n)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	pgq_i64(&q, at);
	pgq_text(&q, today);
	if (field == NULL)
		return pgx_cmd(s, S(51), "value confirm",
			       "UPDATE value SET confirmed_at = $2"
			       " WHERE subject_id = $1 AND (expires_at IS"
			       " NULL OR expires_at >= $3)",
			       &q, 0, n);
	pgq_text(&q, field);
	return pgx_cmd(s, S(52), "value confirm",
		       "UPDATE value SET confirmed_at = $2"
		       " WHERE subject_id = $1 AND (expires_at IS"
		       " NULL OR expires_at >= $3) AND field = $4",
		       &q, 0, n);
}

static int review_row(store *s, const PGresult *res, int i, const char *what,
		      void *ud)
{
	const struct pgx_to *w = ud;
	const char *id = pgx_text(res, i, 0);
	const char *field = pgx_text(res, i, 1);

	if (id == NULL || field == NULL)
		return pgx_error(s, what, "a damaged row");
	return w->fn.review(w->ud, id, field, pgx_i64(res, i, 2)) != 0;
}

int pgx_review_walk(store *s, int64_t before, const char *today,
		    store_review_fn fn, void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.review = fn, .ud = ud};

	pgq_i64(&q, before);
	pgq_text(&q, today);
	return pgx_walk(
		s, S(53), "review",
		"SELECT subject_id, field, MIN(confirmed_at) FROM value"
		" WHERE confirmed_at < $1"
		" AND (expires_at IS NULL OR expires_at >= $2)"
		" GROUP BY subject_id, field ORDER BY subject_id, field",
		&q, review_row, &w);
}

int pgx_cookie_count(store *s, const char *subject_id,
		     const unsigned char *hash, int64_t *n)
{
	struct pgq q = {0};

	pgq_text(&q, subject_id);
	if (!hash)
		return pgx_count(s, S(55), "cookie count",
				 "SELECT count(*) FROM cookie"
				 " WHERE subject_id = $1",
				 &q, n);
	pgq_blob(&q, hash, SEC_BIDX_BYTES);
	return pgx_count(s, S(54), "cookie count",
			 "SELECT count(*) FROM cookie"
			 " WHERE subject_id = $1 AND hash = $2",
			 &q, n);
}

int pgx_bidx_find_live(store *s, const char *field,
		       const unsigned char hash[SEC_BIDX_BYTES],
		       const char *today, store_id_fn fn, void *ud)
{
	struct pgq q = {0};

	pgq_text(&q, field);
	pgq_blob(&q, hash, SEC_BIDX_BYTES);
	pgq_text(&q, today);
	return pgx_walk_ids(
		s, S(56), "blind index find",
		"SELECT v.subject_id, s.pseudonym"
		" FROM value v JOIN subject s ON s.id = v.subject_id"
		" WHERE v.field = $1 AND v.bidx = $2"
		" AND (v.expires_at IS NULL OR v.expires_at >= $3)",
		&q, fn, ud);
}
