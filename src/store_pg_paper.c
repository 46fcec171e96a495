/*
 * store_pg_paper.c: the PostgreSQL backend's paperwork: counts for the
 * records of processing, the breach register, notice versions and what
 * stored rows use of a policy, and the disclosure log (store_pg_int.h).
 * Each statement has a slot of its own from PGX_PAPER on.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_pg_int.h"

#define S(n) (PGX_PAPER + (n))

/* ---- counts ---- */

static int count_row(store *s, const PGresult *res, int i, const char *what,
		     void *ud)
{
	const struct pgx_to *w = ud;
	const char *name = pgx_text(res, i, 0);

	if (name == NULL)
		return pgx_error(s, what, "damaged row");
	return w->fn.count(w->ud, name, pgx_i64(res, i, 1),
			   pgx_i64(res, i, 2)) != 0;
}

int pgx_count_by(store *s, enum store_count what, store_count_fn fn, void *ud)
{
	static const char *const sql[] = {
		[STORE_COUNT_KIND] = "SELECT kind, count(*), count(*) FROM"
				     " subject GROUP BY kind ORDER BY kind",
		[STORE_COUNT_FIELD] = "SELECT field, count(*), count(DISTINCT"
				      " subject_id) FROM value GROUP BY field"
				      " ORDER BY field",
		[STORE_COUNT_RECORD] = "SELECT type, count(*), count(DISTINCT"
				       " subject_id) FROM record GROUP BY type"
				       " ORDER BY type",
		[STORE_COUNT_HELD] = "SELECT type, count(*), 0::bigint FROM"
				     " held_record GROUP BY type ORDER BY type",
	};
	struct pgx_to w = {.fn.count = fn, .ud = ud};

	if ((unsigned)what >= sizeof sql / sizeof sql[0])
		return pgx_error(s, "count", "unknown count");
	return pgx_walk(s, S(0) + (int)what, "count", sql[what], NULL,
			count_row, &w);
}

/* ---- breaches ---- */

/* 0 binds NULL: an absent time. */
static void q_time(struct pgq *q, int64_t t)
{
	if (t != 0)
		pgq_i64(q, t);
	else
		pgq_text(q, NULL);
}

static void q_breach(struct pgq *q, const store_breach *b)
{
	pgq_i64(q, b->id);
	pgq_i64(q, b->aware_at);
	pgq_i64(q, b->opened_at);
	pgq_blob(q, b->description ? (const void *)b->description : "",
		 b->description_len);
	pgq_opt(q, b->categories);
	pgq_i64(q, b->has_query);
	pgq_opt(q, b->q_field);
	pgq_opt(q, b->q_type);
	pgq_i64(q, b->has_range);
	pgq_i64(q, b->q_from);
	pgq_i64(q, b->q_to);
	pgq_i64(q, b->counted_at);
	pgq_i64(q, b->affected);
	pgq_opt(q, b->risk);
	q_time(q, b->dpa_notified_at);
	q_time(q, b->subjects_notified_at);
	pgq_blob(q, b->measures, b->measures_len);
	pgq_text(q, b->status);
	q_time(q, b->closed_at);
	pgq_blob(q, b->mac, SEC_HASH_BYTES);
}

int pgx_breach_insert(store *s, const store_breach *b)
{
	struct pgq q = {0};

	q_breach(&q, b);
	return pgx_cmd(s, S(4), "breach insert",
		       "INSERT INTO breach (id, aware_at, opened_at,"
		       " description, categories, has_query, q_field, q_type,"
		       " has_range, q_from, q_to, counted_at, affected, risk,"
		       " dpa_notified_at, subjects_notified_at, measures,"
		       " status, closed_at, mac) VALUES ($1, $2, $3, $4, $5,"
		       " $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
		       " $17, $18, $19, $20)",
		       &q, 0, NULL);
}

/* Only what may change: id, aware_at, opened_at and the query stay. */
int pgx_breach_update(store *s, const store_breach *b)
{
	struct pgq q = {0};
	int rc;

	pgq_i64(&q, b->id);
	pgq_blob(&q, b->description ? (const void *)b->description : "",
		 b->description_len);
	pgq_opt(&q, b->categories);
	pgq_i64(&q, b->counted_at);
	pgq_i64(&q, b->affected);
	pgq_opt(&q, b->risk);
	q_time(&q, b->dpa_notified_at);
	q_time(&q, b->subjects_notified_at);
	pgq_blob(&q, b->measures, b->measures_len);
	pgq_text(&q, b->status);
	q_time(&q, b->closed_at);
	pgq_blob(&q, b->mac, SEC_HASH_BYTES);
	rc = pgx_cmd(s, S(5), "breach update",
		     "UPDATE breach SET description = $2, categories = $3,"
		     " counted_at = $4, affected = $5, risk = $6,"
		     " dpa_notified_at = $7, subjects_notified_at = $8,"
		     " measures = $9, status = $10, closed_at = $11,"
		     " mac = $12 WHERE id = $1",
		     &q, 1, NULL);
	if (rc == STORE_NOTFOUND)
		pgx_error(s, "breach update", "no such breach");
	return rc;
}

static int breach_row(store *s, const PGresult *res, int i, const char *what,
		      void *ud)
{
	const struct pgx_to *w = ud;
	store_breach b;

	memset(&b, 0, sizeof b);
	b.id = pgx_i64(res, i, 0);
	b.aware_at = pgx_i64(res, i, 1);
	b.opened_at = pgx_i64(res, i, 2);
	b.description = pgx_blob(res, i, 3, &b.description_len);
	b.categories = pgx_text(res, i, 4);
	b.has_query = (int)pgx_i64(res, i, 5);
	b.q_field = pgx_text(res, i, 6);
	b.q_type = pgx_text(res, i, 7);
	b.has_range = (int)pgx_i64(res, i, 8);
	b.q_from = pgx_i64(res, i, 9);
	b.q_to = pgx_i64(res, i, 10);
	b.counted_at = pgx_i64(res, i, 11);
	b.affected = pgx_i64(res, i, 12);
	b.risk = pgx_text(res, i, 13);
	b.dpa_notified_at = pgx_i64(res, i, 14);
	b.subjects_notified_at = pgx_i64(res, i, 15);
	b.measures = pgx_blob(res, i, 16, &b.measures_len);
	b.status = pgx_text(res, i, 17);
	b.closed_at = pgx_i64(res, i, 18);
	b.mac = pgx_blob_n(res, i, 19, SEC_HASH_BYTES);
	if (b.description == NULL || b.status == NULL)
		return pgx_error(s, what, "damaged breach row");
	return w->fn.breach(w->ud, &b) != 0;
}

int pgx_breach_walk(store *s, store_breach_fn fn, void *ud)
{
	struct pgx_to w = {.fn.breach = fn, .ud = ud};

	return pgx_walk(
		s, S(6), "breach walk",
		"SELECT id, aware_at, opened_at, description, categories,"
		" has_query, q_field, q_type, has_range, q_from, q_to,"
		" counted_at, affected, risk, dpa_notified_at,"
		" subjects_notified_at, measures, status, closed_at, mac"
		" FROM breach ORDER BY id",
		NULL, breach_row, &w);
}

int pgx_breach_match(store *s, const char *field, const char *type,
		     int has_range, int64_t from, int64_t to, int64_t asof,
		     store_id_fn fn, void *ud)
{
	struct pgq q = {0};

	pgq_opt(&q, field);
	pgq_opt(&q, type);
	pgq_i64(&q, has_range ? 1 : 0);
	pgq_i64(&q, from);
	pgq_i64(&q, to);
	pgq_i64(&q, asof);
	return pgx_walk_ids(
		s, S(7), "breach match",
		"SELECT s.id, s.pseudonym FROM subject s"
		" WHERE s.created_at <= $6::bigint"
		" AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM value v"
		"  WHERE v.subject_id = s.id AND v.field = $1::text"
		"  AND v.collected_at <= $6::bigint AND ($3::bigint = 0 OR"
		"  v.collected_at BETWEEN $4::bigint AND $5::bigint)))"
		" AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM record r"
		"  WHERE r.subject_id = s.id AND r.type = $2::text"
		"  AND r.created_at <= $6::bigint AND ($3::bigint = 0 OR"
		"  r.created_at BETWEEN $4::bigint AND $5::bigint)))"
		" AND ($1::text IS NOT NULL OR $2::text IS NOT NULL OR"
		"  $3::bigint = 0"
		"  OR EXISTS (SELECT 1 FROM value v WHERE v.subject_id = s.id"
		"   AND v.collected_at BETWEEN $4::bigint AND $5::bigint)"
		"  OR EXISTS (SELECT 1 FROM record r WHERE r.subject_id = s.id"
		"   AND r.created_at BETWEEN $4::bigint AND $5::bigint))"
		" ORDER BY s.id",
		&q, fn, ud);
}

/* ---- notice versions and policy changes ---- */

struct policy_get {
	char **text;
	int64_t *created_at;
};

static int policy_get_row(store *s, const PGresult *res, int i,
			  const char *what, void *ud)
{
	const struct policy_get *g = ud;
	const char *t = pgx_text(res, i, 0);

	if (t == NULL)
		return pgx_error(s, what, "damaged policy row");
	*g->text = strdup(t);
	if (*g->text == NULL)
		return pgx_error(s, what, "out of memory");
	if (g->created_at)
		*g->created_at = pgx_i64(res, i, 1);
	return 0;
}

int pgx_policy_get(store *s, int version, char **text, int64_t *created_at)
{
	struct pgq q = {0};
	struct policy_get g = {text, created_at};

	pgq_i64(&q, version);
	return pgx_one(s, S(8), "policy get",
		       "SELECT body, created_at FROM policy_version"
		       " WHERE version = $1",
		       &q, "no such version", policy_get_row, &g);
}

static int policy_row(store *s, const PGresult *res, int i, const char *what,
		      void *ud)
{
	const struct pgx_to *w = ud;
	int64_t v = pgx_i64(res, i, 0);

	if (v < 0 || v > INT32_MAX)
		return pgx_error(s, what, "damaged policy row");
	return w->fn.policy(w->ud, (int)v, pgx_i64(res, i, 1)) != 0;
}

int pgx_policy_walk(store *s, store_policy_fn fn, void *ud)
{
	struct pgx_to w = {.fn.policy = fn, .ud = ud};

	return pgx_walk(s, S(9), "policy walk",
			"SELECT version, created_at FROM"
			" policy_version ORDER BY version",
			NULL, policy_row, &w);
}

/* ',' || csv || ',' holds ',' || name || ',': a name in a stored list. */
#define IN_CSV(col) "strpos(',' || " col " || ',', ',' || $2 || ',') > 0"

int pgx_usage_count(store *s, enum store_use what, const char *name, int64_t *n)
{
	struct pgq q = {0};

	*n = 0;
	pgq_i64(&q, (int64_t)what);
	pgq_text(&q, name);
	return pgx_count(
		s, S(10), "usage count",
		"SELECT CASE $1::bigint"
		" WHEN 0 THEN (SELECT count(*) FROM value WHERE field = $2)"
		" WHEN 1 THEN (SELECT count(*) FROM record WHERE type = $2)"
		" + (SELECT count(*) FROM held_record WHERE type = $2)"
		" WHEN 2 THEN (SELECT count(*) FROM consent WHERE scope = $2"
		" AND objection = 0)"
		" WHEN 3 THEN (SELECT count(*) FROM consent WHERE scope = $2"
		" AND objection = 1)"
		" WHEN 4 THEN (SELECT count(*) FROM subject WHERE kind = $2)"
		" WHEN 5 THEN (SELECT count(*) FROM actor WHERE role = $2"
		" AND revoked_at = 0)"
		" WHEN 6 THEN (SELECT count(*) FROM value WHERE " IN_CSV(
			"purposes") ")"
				    " + (SELECT count(*) FROM record "
				    "WHERE " IN_CSV(
					    "purposes") ")"
							" WHEN 7 THEN (SELECT "
							"count(*) FROM value"
							" WHERE legal_basis = "
							"$2) + (SELECT count(*)"
							" FROM record WHERE "
							"legal_basis = $2)"
							" WHEN 8 THEN (SELECT "
							"count(*) FROM value"
							" WHERE source = $2) + "
							"(SELECT count(*)"
							" FROM record WHERE "
							"source = $2)"
							" END",
		&q, n);
}

int pgx_field_subjects(store *s, const char *field, store_id_fn fn, void *ud)
{
	struct pgq q = {0};

	pgq_text(&q, field);
	return pgx_walk_ids(s, S(11), "field subjects",
			    "SELECT DISTINCT subject_id FROM value"
			    " WHERE field = $1 ORDER BY subject_id",
			    &q, fn, ud);
}

struct scope_walk {
	const char *scope;
	int objection;
	store_consent_fn fn;
	void *ud;
};

static int scope_row(store *s, const PGresult *res, int i, const char *what,
		     void *ud)
{
	const struct scope_walk *w = ud;
	int64_t v = pgx_i64(res, i, 3);
	store_consent c;

	memset(&c, 0, sizeof c);
	c.subject_id = pgx_text(res, i, 0);
	c.scope = w->scope;
	c.objection = w->objection ? 1 : 0;
	c.given = pgx_i64(res, i, 1) != 0;
	c.at = pgx_i64(res, i, 2);
	if (c.subject_id == NULL || v < 0 || v > INT32_MAX)
		return pgx_error(s, what, "damaged ledger entry");
	c.policy_version = (int)v;
	return w->fn(w->ud, &c) != 0;
}

int pgx_scope_walk(store *s, const char *scope, int objection,
		   store_consent_fn fn, void *ud)
{
	struct pgq q = {0};
	struct scope_walk w = {scope, objection, fn, ud};

	pgq_text(&q, scope);
	pgq_i64(&q, objection ? 1 : 0);
	return pgx_walk(s, S(12), "scope walk",
			"SELECT subject_id, given, at, policy_version"
			" FROM consent WHERE scope = $1 AND objection = $2"
			" ORDER BY subject_id, id",
			&q, scope_row, &w);
}

/* ---- the disclosure log ---- */

int pgx_disclosure_insert(store *s, const store_disclosure *d)
{
	struct pgq q = {0};

	if (pgx_subject_must_exist(s, d->subject_id, "disclosure insert") != 0)
		return STORE_ERR;
	pgq_i64(&q, d->id);
	pgq_i64(&q, d->batch);
	pgq_opt(&q, d->subject_id);
	pgq_text(&q, d->pseudonym);
	pgq_text(&q, d->recipient);
	pgq_text(&q, d->recipient_kind);
	pgq_text(&q, d->country);
	pgq_opt(&q, d->safeguard);
	pgq_text(&q, d->purpose);
	pgq_i64(&q, d->at);
	pgq_text(&q, d->actor);
	pgq_opt(&q, d->fields);
	pgq_opt(&q, d->record_types);
	pgq_i64(&q, d->records);
	pgq_opt(&q, d->legal_ground);
	pgq_opt(&q, d->basis);
	pgq_blob(&q, d->mac, SEC_HASH_BYTES);
	return pgx_cmd(s, S(13), "disclosure insert",
		       "INSERT INTO disclosure (id, batch, subject_id,"
		       " pseudonym, recipient, recipient_kind, country,"
		       " safeguard, purpose, at, actor, fields, record_types,"
		       " records, legal_ground, basis, mac) VALUES ($1, $2,"
		       " $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
		       " $15, $16, $17)",
		       &q, 0, NULL);
}

#define DISCLOSURE_COLS                                                        \
	"SELECT id, batch, subject_id, pseudonym, recipient, recipient_kind,"  \
	" country, safeguard, purpose, at, actor, fields, record_types,"       \
	" records, legal_ground, basis, mac FROM disclosure"

static int disclosure_row(store *s, const PGresult *res, int i,
			  const char *what, void *ud)
{
	const struct pgx_to *w = ud;
	store_disclosure d;

	memset(&d, 0, sizeof d);
	d.id = pgx_i64(res, i, 0);
	d.batch = pgx_i64(res, i, 1);
	d.subject_id = pgx_text(res, i, 2);
	d.pseudonym = pgx_text(res, i, 3);
	d.recipient = pgx_text(res, i, 4);
	d.recipient_kind = pgx_text(res, i, 5);
	d.country = pgx_text(res, i, 6);
	d.safeguard = pgx_text(res, i, 7);
	d.purpose = pgx_text(res, i, 8);
	d.at = pgx_i64(res, i, 9);
	d.actor = pgx_text(res, i, 10);
	d.fields = pgx_text(res, i, 11);
	d.record_types = pgx_text(res, i, 12);
	d.records = pgx_i64(res, i, 13);
	d.legal_ground = pgx_text(res, i, 14);
	d.basis = pgx_text(res, i, 15);
	d.mac = pgx_blob_n(res, i, 16, SEC_HASH_BYTES);
	if (!d.pseudonym || !d.recipient || !d.recipient_kind || !d.country ||
	    !d.purpose || !d.actor)
		return pgx_error(s, what, "damaged log row");
	return w->fn.disclosure(w->ud, &d) != 0;
}

int pgx_disclosure_walk(store *s, const char *pseudonym, store_disclosure_fn fn,
			void *ud)
{
	struct pgq q = {0};
	struct pgx_to w = {.fn.disclosure = fn, .ud = ud};

	if (!pseudonym)
		return pgx_walk(s, S(15), "disclosure walk",
				DISCLOSURE_COLS " ORDER BY id", NULL,
				disclosure_row, &w);
	pgq_text(&q, pseudonym);
	return pgx_walk(s, S(14), "disclosure walk",
			DISCLOSURE_COLS " WHERE pseudonym = $1"
					" ORDER BY id",
			&q, disclosure_row, &w);
}

int pgx_value_repurpose(store *s, int64_t rowid, const char *purposes,
			const char *legal_basis, const char *expires)
{
	struct pgq q = {0};

	pgq_i64(&q, rowid);
	pgq_text(&q, purposes);
	pgq_text(&q, legal_basis);
	pgq_opt(&q, expires);
	return pgx_cmd(s, S(16), "value repurpose",
		       "UPDATE value SET purposes = $2, legal_basis = $3,"
		       " expires_at = $4 WHERE id = $1",
		       &q, 1, NULL);
}
