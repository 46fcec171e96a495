/*
 * test_store_pg.c: the PostgreSQL store against a real server. It needs
 * RK_TEST_PG_URL, the URL of an empty database (tests/pg-suite.sh gives it
 * one on its throwaway cluster); without it every test is skipped. The
 * contract checked is store.h's: NOTFOUND where documented, empty versus
 * NULL blobs, ids set on insert, walks in order, the audit walk across its
 * pages, the refusal to init a database twice, backups into a SQLite
 * file and restores from one (a failed restore changes nothing), the
 * read floor that handles share (raised by committed writes only).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store.h"

static const char *url(void)
{
	const char *u = getenv("RK_TEST_PG_URL");

	return u != NULL && u[0] ? u : NULL;
}

static store *opened(int create)
{
	char err[256] = "";
	store *s = store_open(url(), create, err, sizeof err);

	if (s == NULL)
		fail_msg("open failed: %s", err);
	return s;
}

static void test_is_url(void **state)
{
	(void)state;
	assert_true(store_is_url("postgresql:///x?host=/run"));
	assert_true(store_is_url("postgres://u@h/db"));
	assert_false(store_is_url("reg.db"));
	assert_false(store_is_url("/var/lib/postgresql.db"));
	assert_false(store_is_url(NULL));
}

/* create, meta, counters, policy; a second init is refused. */
static void test_meta(void **state)
{
	store *s;
	char err[256] = "";
	unsigned char buf[16];
	size_t len = 0;
	int64_t n = 0;
	char *text = NULL;
	int v = 0;

	(void)state;
	if (url() == NULL)
		skip();
	s = opened(1);
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->meta_get(s, "k", buf, sizeof buf, &len),
			 STORE_NOTFOUND);
	assert_int_equal(s->vt->meta_set(s, "k", (const unsigned char *)"", 0),
			 0);
	assert_int_equal(s->vt->meta_get(s, "k", buf, sizeof buf, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(
		s->vt->meta_set(s, "k", (const unsigned char *)"abc", 3), 0);
	assert_int_equal(s->vt->meta_get(s, "k", buf, 2, &len), STORE_ERR);
	assert_int_equal(len, 3);
	assert_int_equal(s->vt->counter_next(s, "c", 100, &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(s->vt->counter_next(s, "c", 100, &n), 0);
	assert_int_equal(n, 101);
	assert_int_equal(s->vt->policy_latest(s, &v, &text), STORE_NOTFOUND);
	assert_int_equal(s->vt->policy_put(s, 1, "{\"v\": 1}", 5), 0);
	assert_int_equal(s->vt->policy_put(s, 2, "{\"v\": 2}", 6), 0);
	assert_int_equal(s->vt->policy_latest(s, &v, &text), 0);
	assert_int_equal(v, 2);
	assert_string_equal(text, "{\"v\": 2}");
	free(text);
	assert_int_equal(s->vt->commit(s), 0);
	assert_true(s->vt->changes(s) >= 4);
	s->vt->close(s);
	/* the database holds a register now: init refuses it */
	assert_null(store_open(url(), 1, err, sizeof err));
	assert_non_null(strstr(err, "holds a register"));
}

struct seen {
	int n;
	int64_t last;
	int ordered;
	int empty_ct;
	int bidx;
};

static int on_value(void *ud, const store_value *v)
{
	struct seen *w = ud;

	w->ordered &= v->rowid > w->last;
	w->last = v->rowid;
	w->empty_ct += v->ct != NULL && v->ctlen == 0;
	w->bidx += v->bidx != NULL;
	w->n++;
	return 0;
}

static int on_audit(void *ud, const store_audit *a)
{
	struct seen *w = ud;

	w->ordered &= a->seq == w->last + 1;
	w->last = a->seq;
	w->n++;
	return 0;
}

static int on_id(void *ud, const char *id, const char *pseudonym)
{
	struct seen *w = ud;

	(void)pseudonym;
	w->n += strcmp(id, "s1") == 0;
	return 0;
}

static int on_consent(void *ud, const store_consent *c)
{
	struct seen *w = ud;

	w->n++;
	w->last = c->given;
	w->empty_ct += c->evidence_ct != NULL;
	return 0;
}

/* subjects, values, blind index, records, consents, cookies, audit */
static void test_rows(void **state)
{
	store *s;
	store_subject sub, got;
	store_value val;
	store_record rec;
	store_consent con;
	store_audit a;
	struct seen w;
	unsigned char bidx[SEC_BIDX_BYTES], mac[SEC_HASH_BYTES];
	char sid[33];
	int64_t id1, n = 0, at = 0;

	(void)state;
	if (url() == NULL)
		skip();
	s = opened(0);
	assert_int_equal(s->vt->begin(s, 1), 0);
	memset(&sub, 0, sizeof sub);
	snprintf(sub.id, sizeof sub.id, "s1");
	snprintf(sub.kind, sizeof sub.kind, "k");
	snprintf(sub.pseudonym, sizeof sub.pseudonym, "p1");
	memset(sub.wrapped_key, 7, sizeof sub.wrapped_key);
	sub.created_at = 42;
	sub.has_mac = 1;
	memset(sub.mac, 9, sizeof sub.mac);
	sub.audit_seq = 3;
	assert_int_equal(s->vt->subject_insert(s, &sub), 0);
	assert_int_equal(s->vt->subject_get(s, "nobody", &got), STORE_NOTFOUND);
	assert_int_equal(s->vt->subject_get(s, "s1", &got), 0);
	assert_memory_equal(got.wrapped_key, sub.wrapped_key,
			    sizeof sub.wrapped_key);
	assert_true(got.has_mac);
	assert_int_equal(got.audit_seq, 3);
	assert_string_equal(got.rel_end, "");
	assert_int_equal(s->vt->subject_set_end(s, "nobody", "2026-01-01"),
			 STORE_NOTFOUND);

	memset(&val, 0, sizeof val);
	memset(bidx, 5, sizeof bidx);
	val.subject_id = "s1";
	val.field = "f";
	val.ct = (const unsigned char *)"";
	val.ctlen = 0;
	val.purposes = "a,b";
	val.legal_basis = "contract";
	val.source = "data_subject";
	val.bidx = bidx;
	assert_int_equal(s->vt->value_insert(s, &val), 0);
	id1 = val.rowid;
	val.bidx = NULL;
	val.ct = (const unsigned char *)"xyz";
	val.ctlen = 3;
	assert_int_equal(s->vt->value_insert(s, &val), 0);
	assert_true(val.rowid > id1);
	memset(&w, 0, sizeof w);
	w.ordered = 1;
	assert_int_equal(s->vt->value_list(s, "s1", NULL, on_value, &w), 0);
	assert_int_equal(w.n, 2);
	assert_true(w.ordered);
	assert_int_equal(w.empty_ct, 1); /* an empty ciphertext is not NULL */
	assert_int_equal(w.bidx, 1);
	memset(&w, 0, sizeof w);
	assert_int_equal(s->vt->bidx_find(s, "f", bidx, on_id, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(s->vt->usage_count(s, STORE_USE_PURPOSE, "b", &n), 0);
	assert_int_equal(n, 2);

	memset(&rec, 0, sizeof rec);
	rec.subject_id = "s1";
	rec.type = "t";
	rec.ct = (const unsigned char *)"r";
	rec.ctlen = 1;
	rec.purposes = "a";
	rec.legal_basis = "contract";
	rec.source = "controller";
	rec.attachment_size = -1;
	n = s->vt->changes(s);
	assert_int_equal(s->vt->record_insert(s, &rec), 0);
	assert_true(rec.id > 0);
	/* an insert that returns its id counts as a change */
	assert_int_equal(s->vt->changes(s), n + 1);
	assert_int_equal(
		s->vt->chunk_put(s, rec.id, 0, (const unsigned char *)"c0", 2),
		0);
	assert_int_equal(s->vt->chunk_put(s, rec.id + 1000, 0,
					  (const unsigned char *)"c0", 2),
			 STORE_ERR);
	memset(mac, 1, sizeof mac);
	assert_int_equal(s->vt->record_set_mac(s, rec.id + 1000, mac),
			 STORE_NOTFOUND);

	memset(&con, 0, sizeof con);
	con.subject_id = "s1";
	con.scope = "sc";
	con.given = 1;
	con.channel = "web";
	con.policy_version = 1;
	con.actor = "op";
	assert_int_equal(s->vt->consent_append(s, &con), 0);
	con.given = 0;
	con.evidence_ct = (const unsigned char *)"";
	assert_int_equal(s->vt->consent_append(s, &con), 0);
	memset(&w, 0, sizeof w);
	w.last = -1;
	assert_int_equal(
		s->vt->consent_latest(s, "s1", "sc", 0, on_consent, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.last, 0);
	assert_int_equal(w.empty_ct, 1);
	assert_int_equal(
		s->vt->consent_latest(s, "s1", "sc", 1, on_consent, &w),
		STORE_NOTFOUND);

	assert_int_equal(s->vt->cookie_link(s, bidx, "s1", 1, mac), 0);
	assert_int_equal(s->vt->cookie_link(s, bidx, "s1", 2, mac), 0);
	assert_int_equal(s->vt->cookie_resolve(s, bidx, sid, &at, mac), 0);
	assert_string_equal(sid, "s1");
	assert_int_equal(at, 2); /* linked again: the later time */

	/* more entries than one page of the audit walk */
	memset(&a, 0, sizeof a);
	a.actor = "op";
	a.action = "test";
	a.outcome = "ok";
	for (int64_t i = 1; i <= 4100; i++) {
		a.seq = i;
		assert_int_equal(s->vt->audit_append(s, &a), 0);
	}
	a.seq = 4100; /* a fork: the same seq twice */
	assert_int_equal(s->vt->audit_append(s, &a), STORE_ERR);
	assert_int_equal(s->vt->rollback(s), 0);
	/* the failed statement took the transaction with it: nothing stays */
	assert_int_equal(s->vt->subject_get(s, "s1", &got), STORE_NOTFOUND);

	assert_int_equal(s->vt->begin(s, 1), 0);
	for (int64_t i = 1; i <= 4100; i++) {
		a.seq = i;
		assert_int_equal(s->vt->audit_append(s, &a), 0);
	}
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(s->vt->begin(s, 0), 0);
	memset(&w, 0, sizeof w);
	w.ordered = 1;
	assert_int_equal(s->vt->audit_walk(s, 1, NULL, on_audit, &w), 0);
	assert_int_equal(w.n, 4100);
	assert_true(w.ordered);
	assert_int_equal(s->vt->audit_last(s, &a), 0);
	assert_int_equal(a.seq, 4100);
	assert_string_equal(a.outcome, "ok");
	assert_int_equal(s->vt->commit(s), 0);
	s->vt->close(s);
}

/* The server ends the handle's session (a restart, a failover): the next
 * transaction connects again, with its statements prepared anew. */
static void test_reconnect(void **state)
{
	store *s;
	PGconn *c;
	PGresult *r;
	int v = 0;
	char *text = NULL;

	(void)state;
	if (url() == NULL)
		skip();
	s = opened(0);
	assert_int_equal(s->vt->begin(s, 0), 0);
	assert_int_equal(s->vt->policy_latest(s, &v, &text), 0);
	free(text);
	assert_int_equal(s->vt->commit(s), 0);
	c = PQconnectdb(url());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "SELECT count(pg_terminate_backend(pid)) FROM"
		      " pg_stat_activity WHERE datname = current_database()"
		      " AND pid <> pg_backend_pid()");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "1");
	PQclear(r);
	PQfinish(c);
	assert_int_equal(s->vt->begin(s, 1), 0);
	text = NULL;
	assert_int_equal(s->vt->policy_latest(s, &v, &text), 0);
	assert_int_equal(v, 2);
	free(text);
	assert_int_equal(s->vt->commit(s), 0);
	s->vt->close(s);
}

/* ---- the COPY path of a bulk transaction (store_pg_copy.c) ---- */

static void bulk_subject(store_subject *sub, const char *id)
{
	memset(sub, 0, sizeof *sub);
	snprintf(sub->id, sizeof sub->id, "%s", id);
	snprintf(sub->kind, sizeof sub->kind, "k");
	snprintf(sub->pseudonym, sizeof sub->pseudonym, "p-%s", id);
	memset(sub->wrapped_key, 3, sizeof sub->wrapped_key);
	sub->created_at = 7;
	sub->has_mac = 1;
	memset(sub->vdigest, 1, sizeof sub->vdigest);
	memset(sub->mac, 2, sizeof sub->mac);
	sub->audit_seq = 11;
}

struct bulk_vals {
	int n;
	int64_t rowid[8];
	size_t ctlen[8];
	int has_bidx[8];
};

static int bulk_val(void *ud, const store_value *v)
{
	struct bulk_vals *b = ud;

	if (b->n < 8) {
		b->rowid[b->n] = v->rowid;
		b->ctlen[b->n] = v->ctlen;
		b->has_bidx[b->n] = v->bidx != NULL;
	}
	b->n++;
	return 0;
}

static int bulk_audit(void *ud, const store_audit *a)
{
	int64_t *last = ud;

	*last = a->seq;
	return 0;
}

static int64_t bulk_count(const char *sql)
{
	PGconn *c = PQconnectdb(url());
	PGresult *r;
	int64_t n = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	PQfinish(c);
	return n;
}

/* Rows buffered by a bulk transaction are read back inside it (a read
 * sends them first), keep the ids the store handed out, count as changes,
 * and reach the tables at commit; a rollback leaves nothing; a buffered
 * row the server refuses fails the commit. */
static void test_bulk_copy(void **state)
{
	store *s;
	store_subject sub, got;
	store_value val;
	store_audit a, last;
	struct bulk_vals bv;
	unsigned char bidx[SEC_BIDX_BYTES];
	int64_t ids[3], ch0, c1 = 0, c2 = 0, walked = 0, base_seq;
	char id[33];

	(void)state;
	if (url() == NULL)
		skip();
	s = opened(0);
	assert_int_equal(s->vt->begin(s, 1), 0);
	memset(&last, 0, sizeof last);
	assert_true(s->vt->audit_last(s, &last) != STORE_ERR);
	base_seq = last.seq;
	assert_int_equal(s->vt->bulk(s, 1), 0);
	ch0 = s->vt->changes(s);
	bulk_subject(&sub, "bulk1");
	assert_int_equal(s->vt->subject_insert(s, &sub), 0);
	memset(&val, 0, sizeof val);
	memset(bidx, 4, sizeof bidx);
	val.subject_id = "bulk1";
	val.field = "f";
	val.purposes = "a";
	val.legal_basis = "contract";
	val.source = "data_subject";
	val.collected_at = val.confirmed_at = 5;
	for (int i = 0; i < 3; i++) {
		val.ct = (const unsigned char *)"sealed";
		val.ctlen = (size_t)i; /* 0: an empty, not NULL, ciphertext */
		val.bidx = i == 1 ? bidx : NULL;
		assert_int_equal(s->vt->value_insert(s, &val), 0);
		ids[i] = val.rowid;
		assert_true(ids[i] > 0);
		if (i > 0)
			assert_true(ids[i] > ids[i - 1]);
	}
	memset(&a, 0, sizeof a);
	a.seq = base_seq + 1;
	a.at_us = 1;
	a.actor = "t";
	a.action = "bulk";
	a.subject = "p-bulk1";
	a.outcome = "ok";
	memset(a.hash, 6, sizeof a.hash);
	assert_int_equal(s->vt->audit_append(s, &a), 0);
	/* buffered rows count as written (reg_rollback asks) */
	assert_int_equal(s->vt->changes(s) - ch0, 5);
	/* nothing has reached the table yet: the read sends it first */
	assert_int_equal(
		bulk_count("SELECT count(*) FROM subject WHERE id = 'bulk1'"),
		0);
	assert_int_equal(s->vt->subject_get(s, "bulk1", &got), 0);
	assert_int_equal(got.audit_seq, 11);
	memset(&bv, 0, sizeof bv);
	assert_int_equal(s->vt->value_list(s, "bulk1", NULL, bulk_val, &bv), 0);
	assert_int_equal(bv.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(bv.rowid[i], ids[i]);
		assert_int_equal(bv.ctlen[i], (size_t)i);
		assert_int_equal(bv.has_bidx[i], i == 1);
	}
	assert_int_equal(
		s->vt->audit_walk(s, base_seq + 1, NULL, bulk_audit, &walked),
		0);
	assert_int_equal(walked, base_seq + 1);
	assert_int_equal(s->vt->counter_next(s, "bulk", 1, &c1), 0);
	assert_int_equal(s->vt->counter_next(s, "bulk", 1, &c2), 0);
	assert_int_equal(c2, c1 + 1);
	/* many more rows than one block of ids, after the read */
	for (int i = 2; i < 300; i++) {
		snprintf(id, sizeof id, "bulk%d", i);
		bulk_subject(&sub, id);
		assert_int_equal(s->vt->subject_insert(s, &sub), 0);
		val.subject_id = id;
		val.bidx = NULL;
		assert_int_equal(s->vt->value_insert(s, &val), 0);
	}
	assert_int_equal(s->vt->counter_next(s, "bulk", 1, &c1), 0);
	assert_int_equal(c1, c2 + 1);
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(
		bulk_count(
			"SELECT count(*) FROM subject WHERE id LIKE 'bulk%'"),
		299);
	assert_int_equal(bulk_count("SELECT count(*) FROM value WHERE"
				    " subject_id LIKE 'bulk%'"),
			 3 + 298);
	assert_int_equal(bulk_count("SELECT count(DISTINCT id) FROM value"),
			 bulk_count("SELECT count(*) FROM value"));
	/* the counter was written back with the rows */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->counter_next(s, "bulk", 1, &c2), 0);
	assert_int_equal(c2, c1 + 1);
	assert_int_equal(s->vt->commit(s), 0);

	/* a rollback leaves nothing of what was buffered */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->bulk(s, 1), 0);
	bulk_subject(&sub, "gone");
	assert_int_equal(s->vt->subject_insert(s, &sub), 0);
	assert_int_equal(s->vt->rollback(s), 0);
	assert_int_equal(
		bulk_count("SELECT count(*) FROM subject WHERE id = 'gone'"),
		0);

	/* a row the server refuses (an id there already) fails the commit,
	 * and none of the bulk stays */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->bulk(s, 1), 0);
	bulk_subject(&sub, "fresh");
	assert_int_equal(s->vt->subject_insert(s, &sub), 0);
	bulk_subject(&sub, "bulk1");
	assert_int_equal(s->vt->subject_insert(s, &sub), 0);
	assert_int_equal(s->vt->commit(s), STORE_ERR);
	assert_null(strstr(s->vt->errmsg(s), "bulk1"));
	assert_int_equal(
		bulk_count("SELECT count(*) FROM subject WHERE id = 'fresh'"),
		0);
	/* the handle goes on */
	assert_int_equal(s->vt->begin(s, 0), 0);
	assert_int_equal(s->vt->subject_get(s, "bulk1", &got), 0);
	assert_int_equal(s->vt->rollback(s), 0);
	s->vt->close(s);
}

/* ---- the schema's readiness for distribution by subject (Citus) ----
 * Every table whose primary key does not lead with the subject's id must
 * be one of the tables docs/postgresql.md lists as reference or
 * coordinator-local tables, or one of those it lists as still needing
 * schema work: a new table that hangs on a subject and forgets the
 * subject id fails here. */
/* The foreign keys from the coordinator-local tables to subject. */
#define LOCAL_FKEYS                                                            \
	"SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND"           \
	" confrelid = 'subject'::regclass AND conrelid::regclass::text IN"     \
	" ('cookie', 'disclosure', 'dsr', 'selfsvc')"

static void test_citus_schema(void **state)
{
	static const char *const allowed[] = {
		/* reference tables, or local on the coordinator */
		"actor", "audit", "breach", "erasure", "held_chunk",
		"held_record", "meta", "policy_version", "schema_version",
		/* found by a hash, or outliving their subject: local on
		 * the coordinator, without a foreign key to subject */
		"cookie", "disclosure", "dsr", "selfsvc"};
	PGconn *c;
	PGresult *r;
	int n;

	(void)state;
	if (url() == NULL)
		skip();
	c = PQconnectdb(url());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "SELECT t.relname FROM pg_class t JOIN pg_namespace ns"
		      " ON ns.oid = t.relnamespace WHERE ns.nspname ="
		      " current_schema() AND t.relkind = 'r' AND NOT EXISTS"
		      " (SELECT 1 FROM pg_index i JOIN pg_attribute a ON"
		      " a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
		      " WHERE i.indrelid = t.oid AND i.indisprimary AND"
		      " a.attname = CASE t.relname WHEN 'subject' THEN 'id'"
		      " ELSE 'subject_id' END) ORDER BY 1");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		const char *t = PQgetvalue(r, i, 0);
		int ok = 0;

		for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
			ok |= strcmp(t, allowed[k]) == 0;
		if (!ok)
			fail_msg("table %s hangs on no subject id in its "
				 "primary key",
				 t);
	}
	PQclear(r);
	/* the subject tables themselves are there and pass */
	r = PQexec(c, "SELECT count(*) FROM pg_class WHERE relname IN"
		      " ('subject', 'value', 'record', 'attachment_chunk',"
		      " 'consent') AND relkind = 'r'");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "5");
	PQclear(r);
	/* a local table cannot keep a foreign key to the distributed
	 * subject: none of them has one */
	r = PQexec(c, LOCAL_FKEYS);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	PQfinish(c);
}

/* ---- backup and restore ---- */

/* The new value's id. */
static int64_t add_subject(store *s, const char *id, const char *field)
{
	store_subject sub;
	store_value val;

	memset(&sub, 0, sizeof sub);
	snprintf(sub.id, sizeof sub.id, "%s", id);
	snprintf(sub.kind, sizeof sub.kind, "k");
	snprintf(sub.pseudonym, sizeof sub.pseudonym, "p-%s", id);
	memset(sub.wrapped_key, 3, sizeof sub.wrapped_key);
	sub.created_at = 7;
	assert_int_equal(s->vt->subject_insert(s, &sub), 0);
	memset(&val, 0, sizeof val);
	val.subject_id = id;
	val.field = field;
	val.ct = (const unsigned char *)"sealed";
	val.ctlen = 6;
	val.purposes = "a";
	val.legal_basis = "contract";
	val.source = "data_subject";
	assert_int_equal(s->vt->value_insert(s, &val), 0);
	return val.rowid;
}

static int has_subject(store *s, const char *id)
{
	store_subject got;
	int rc;

	assert_int_equal(s->vt->begin(s, 0), 0);
	rc = s->vt->subject_get(s, id, &got);
	assert_int_equal(s->vt->commit(s), 0);
	assert_true(rc == 0 || rc == STORE_NOTFOUND);
	return rc == 0;
}

static int64_t last_seq(store *s)
{
	store_audit a;

	assert_int_equal(s->vt->begin(s, 0), 0);
	assert_int_equal(s->vt->audit_last(s, &a), 0);
	assert_int_equal(s->vt->commit(s), 0);
	return a.seq;
}

static void sql_on(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void pg_sql(const char *sql)
{
	PGconn *c = PQconnectdb(url());
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(c);
}

static void copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[4096];
	size_t n;

	assert_non_null(a);
	assert_non_null(b);
	while ((n = fread(buf, 1, sizeof buf, a)) > 0)
		assert_int_equal(fwrite(buf, 1, n, b), n);
	fclose(a);
	assert_int_equal(fclose(b), 0);
}

static void test_backup_restore(void **state)
{
	char dir[512], path[600], bad[600], err[256] = "";
	const char *tmp = getenv("TMPDIR");
	store *s, *b;
	store_record rec;
	store_value val;
	store_audit a;
	struct stat sb;
	int64_t rec_before, val_live;

	(void)state;
	if (url() == NULL)
		skip();
	snprintf(dir, sizeof dir, "%s/rk-pgbk-XXXXXX",
		 tmp != NULL && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/b.db", dir);
	snprintf(bad, sizeof bad, "%s/bad.db", dir);
	s = opened(0);

	/* what the backup holds: a subject with a value and a record */
	assert_int_equal(s->vt->begin(s, 1), 0);
	add_subject(s, "s2", "f");
	memset(&rec, 0, sizeof rec);
	rec.subject_id = "s2";
	rec.type = "t";
	rec.ct = (const unsigned char *)"r";
	rec.ctlen = 1;
	rec.purposes = "a";
	rec.legal_basis = "contract";
	rec.source = "controller";
	rec.attachment_size = -1;
	assert_int_equal(s->vt->record_insert(s, &rec), 0);
	assert_int_equal(
		s->vt->chunk_put(s, rec.id, 0, (const unsigned char *)"c0", 2),
		0);
	assert_int_equal(s->vt->commit(s), 0);
	rec_before = rec.id;

	/* a table the copier does not know: refused, and no file is left */
	pg_sql("CREATE TABLE stray (x BIGINT)");
	assert_int_equal(s->vt->backup_to(s, path), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "stray"));
	assert_int_not_equal(stat(path, &sb), 0);
	pg_sql("DROP TABLE stray");

	assert_int_equal(s->vt->backup_to(s, path), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* never over an existing file, which stays as it was */
	assert_int_equal(s->vt->backup_to(s, path), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "exists"));
	/* the file is a SQLite register with the rows and the trail */
	b = store_sqlite_open(path, 0, err, sizeof err);
	if (b == NULL)
		fail_msg("the backup does not open: %s", err);
	assert_int_equal(b->vt->begin(b, 0), 0);
	assert_int_equal(b->vt->audit_last(b, &a), 0);
	assert_int_equal(a.seq, 4100);
	assert_int_equal(b->vt->commit(b), 0);
	b->vt->close(b);
	assert_true(has_subject(s, "s2") == 1);

	/* the live register moves on: s2 goes, s3 comes, the trail grows */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->subject_delete(s, "s2"), 0);
	val_live = add_subject(s, "s3", "g");
	memset(&a, 0, sizeof a);
	a.seq = 4101;
	a.actor = "op";
	a.action = "test";
	a.outcome = "ok";
	assert_int_equal(s->vt->audit_append(s, &a), 0);
	assert_int_equal(s->vt->commit(s), 0);

	/* a restore outside a write transaction is refused */
	assert_int_equal(s->vt->restore_from(s, path, 1), STORE_ERR);
	/* a damaged file is refused before anything changes */
	copy_file(path, bad);
	{
		FILE *f = fopen(bad, "r+b");
		assert_non_null(f);
		/* every page but the first (the schema) */
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		long end = ftell(f);
		assert_true(end > 4096);
		assert_int_equal(fseek(f, 4096, SEEK_SET), 0);
		for (long i = 4096; i < end; i++)
			fputc(0x5a, f);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->restore_from(s, bad, 1), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "damaged"));
	assert_int_equal(s->vt->rollback(s), 0);
	/* one that fails half-way (its cookie table lost a column, so the
	 * subjects, values and records went in first): the rollback leaves
	 * the register as it was */
	unlink(bad);
	copy_file(path, bad);
	sql_on(bad, "ALTER TABLE cookie RENAME COLUMN linked_at TO linked");
	sql_on(bad, "INSERT INTO cookie (hash, subject_id, linked) VALUES"
		    " (x'00', 's2', 1)");
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->restore_from(s, bad, 1), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "linked"));
	assert_int_equal(s->vt->rollback(s), 0);
	assert_true(has_subject(s, "s3") == 1);
	assert_true(has_subject(s, "s2") == 0);
	assert_int_equal(last_seq(s), 4101);

	/* the real restore: the backup's subjects, the live trail kept */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->restore_from(s, path, 1), 0);
	assert_int_equal(s->vt->commit(s), 0);
	assert_true(has_subject(s, "s2") == 1);
	assert_true(has_subject(s, "s3") == 0);
	assert_int_equal(last_seq(s), 4101);
	/* the counters go on past every id handed out, never back */
	assert_int_equal(s->vt->begin(s, 1), 0);
	memset(&val, 0, sizeof val);
	val.subject_id = "s2";
	val.field = "h";
	val.ct = (const unsigned char *)"x";
	val.ctlen = 1;
	val.purposes = "a";
	val.legal_basis = "contract";
	val.source = "data_subject";
	assert_int_equal(s->vt->value_insert(s, &val), 0);
	assert_true(val.rowid > val_live);
	rec.id = 0;
	assert_int_equal(s->vt->record_insert(s, &rec), 0);
	assert_true(rec.id > rec_before);
	assert_int_equal(s->vt->commit(s), 0);

	/* keep_audit 0: the trail is the backup's */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->restore_from(s, path, 0), 0);
	assert_int_equal(s->vt->audit_last(s, &a), 0);
	assert_int_equal(a.seq, 4100);
	assert_int_equal(s->vt->rollback(s), 0);
	assert_int_equal(last_seq(s), 4101);

	/* nothing to fold: an honest "not done", never a false success */
	assert_int_equal(s->vt->checkpoint(s), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "VACUUM"));
	s->vt->close(s);
	unlink(bad);
	unlink(path);
	rmdir(dir);
}

/* ---- the coordinator-local tables: what their foreign keys did ---- */

static int pg_count(const char *sql)
{
	PGconn *c = PQconnectdb(url());
	PGresult *r;
	int n;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	n = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return n;
}

static int count_dsr(void *ud, const store_dsr *d)
{
	int *n = ud;

	if (strcmp(d->pseudonym, "p-loc1") == 0) {
		assert_string_equal(d->type, "access");
		n[0]++;
		n[1] += d->subject_id != NULL;
	}
	return 0;
}

static int count_disclosure(void *ud, const store_disclosure *d)
{
	int *n = ud;

	assert_string_equal(d->recipient, "r");
	n[0]++;
	n[1] += d->subject_id != NULL;
	return 0;
}

/* The rows of subject loc1 in the four tables are as expected: links in
 * cookie and selfsvc (0-2); its dsr and disclosure rows and how many of
 * them still name it. */
static void local_rows(store *s, const unsigned char *hash, int links, int dsr,
		       int dsr_named, int disc, int disc_named)
{
	char sid[33];
	unsigned char mac[SEC_HASH_BYTES];
	int64_t at = 0;
	store_selfsvc row;
	int d[2] = {0, 0}, x[2] = {0, 0}, n;

	assert_int_equal(s->vt->begin(s, 0), 0);
	n = (s->vt->cookie_resolve(s, hash, sid, &at, mac) == 0) +
	    (s->vt->selfsvc_get(s, hash, &row) == 0);
	assert_int_equal(s->vt->dsr_walk(s, count_dsr, d), 0);
	assert_int_equal(
		s->vt->disclosure_walk(s, "p-loc1", count_disclosure, x), 0);
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(n, links);
	assert_int_equal(d[0], dsr);
	assert_int_equal(d[1], dsr_named);
	assert_int_equal(x[0], disc);
	assert_int_equal(x[1], disc_named);
}

/* A register from before the Citus migration (its foreign keys in place,
 * its schema one version back) migrates when opened and reads the same;
 * then a subject's deletion does what the keys did (cascade, set null),
 * and an insert naming no subject is refused as the keys refused it. */
static void test_citus_local(void **state)
{
	unsigned char hash[SEC_HASH_BYTES], mac[SEC_HASH_BYTES];
	store_selfsvc ss;
	store_dsr d;
	store_disclosure x;
	store *s;

	(void)state;
	if (url() == NULL)
		skip();
	memset(hash, 0x4c, sizeof hash);
	memset(mac, 0x4d, sizeof mac);
	s = opened(0);
	assert_int_equal(s->vt->begin(s, 1), 0);
	add_subject(s, "loc1", "f");
	assert_int_equal(s->vt->cookie_link(s, hash, "loc1", 5, mac), 0);
	memset(&ss, 0, sizeof ss);
	memcpy(ss.hash, hash, sizeof hash);
	snprintf(ss.subject_id, sizeof ss.subject_id, "loc1");
	ss.expires_at = 99;
	memcpy(ss.mac, mac, sizeof mac);
	assert_int_equal(s->vt->selfsvc_insert(s, &ss), 0);
	memset(&d, 0, sizeof d);
	d.subject_id = "loc1";
	d.pseudonym = "p-loc1";
	d.type = "access";
	d.received = "2026-01-01";
	d.due = "2026-02-01";
	d.status = "open";
	d.purposes = "a";
	d.mac = mac;
	assert_int_equal(s->vt->dsr_insert(s, &d), 0);
	memset(&x, 0, sizeof x);
	x.id = 901;
	x.batch = 901;
	x.subject_id = "loc1";
	x.pseudonym = "p-loc1";
	x.recipient = "r";
	x.recipient_kind = "k";
	x.country = "FI";
	x.purpose = "a";
	x.actor = "op";
	x.mac = mac;
	assert_int_equal(s->vt->disclosure_insert(s, &x), 0);
	assert_int_equal(s->vt->commit(s), 0);
	s->vt->close(s);

	/* the register as the migration before this one left it: the
	 * foreign keys in place, the schema back at the Citus migration's
	 * start (version 3, shipped: its number stays); the migrations after
	 * it run again, as they can (the self-service pin's mark is kept
	 * once) */
	pg_sql("ALTER TABLE cookie ADD FOREIGN KEY (subject_id)"
	       " REFERENCES subject(id) ON DELETE CASCADE;"
	       "ALTER TABLE selfsvc ADD FOREIGN KEY (subject_id)"
	       " REFERENCES subject(id) ON DELETE CASCADE;"
	       "ALTER TABLE dsr ADD FOREIGN KEY (subject_id)"
	       " REFERENCES subject(id) ON DELETE SET NULL;"
	       "ALTER TABLE disclosure ADD FOREIGN KEY (subject_id)"
	       " REFERENCES subject(id) ON DELETE SET NULL;"
	       "UPDATE schema_version SET version = 3");
	assert_int_equal(pg_count(LOCAL_FKEYS), 4);
	s = opened(0); /* migrates */
	assert_int_equal(pg_count(LOCAL_FKEYS), 0);
	/* what was there reads the same */
	local_rows(s, hash, 2, 1, 1, 1, 1);

	/* a link to no subject is refused, and changes nothing */
	assert_int_equal(s->vt->begin(s, 1), 0);
	d.subject_id = "nobody";
	assert_int_equal(s->vt->dsr_insert(s, &d), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "no such subject"));
	assert_int_equal(s->vt->rollback(s), 0);
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->cookie_link(s, mac, "nobody", 5, mac),
			 STORE_ERR);
	assert_int_equal(s->vt->rollback(s), 0);
	assert_int_equal(s->vt->begin(s, 1), 0);
	x.id = 902;
	x.subject_id = "nobody";
	assert_int_equal(s->vt->disclosure_insert(s, &x), STORE_ERR);
	assert_int_equal(s->vt->rollback(s), 0);
	assert_int_equal(s->vt->begin(s, 1), 0);
	snprintf(ss.subject_id, sizeof ss.subject_id, "nobody");
	memset(ss.hash, 0x11, sizeof ss.hash);
	assert_int_equal(s->vt->selfsvc_insert(s, &ss), STORE_ERR);
	assert_int_equal(s->vt->rollback(s), 0);
	/* a request without a subject needs none */
	assert_int_equal(s->vt->begin(s, 1), 0);
	d.subject_id = NULL;
	assert_int_equal(s->vt->dsr_insert(s, &d), 0);
	assert_int_equal(s->vt->rollback(s), 0);

	/* the subject goes: its cookie and self-service rows with it, its
	 * request and disclosure stay, no longer naming it */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->subject_delete(s, "loc1"), 0);
	assert_int_equal(s->vt->commit(s), 0);
	local_rows(s, hash, 0, 1, 0, 1, 0);
	s->vt->close(s);
}

/* A read floor two handles share: a committed write of either raises it
 * to where the primary's WAL ended after the commit (no replica needed),
 * a read or a rolled-back write leaves it, and it never goes down. */
static void test_read_floor(void **state)
{
	store *a, *b;
	store_floor fl;
	uint64_t p1, p2;
	char lsn[24];
	const char *param = lsn;
	PGconn *c;
	PGresult *r;

	(void)state;
	if (url() == NULL)
		skip();
	atomic_init(&fl.pos, 0);
	a = opened(0);
	b = opened(0);
	a->vt->read_floor(a, &fl);
	b->vt->read_floor(b, &fl);
	assert_int_equal(a->vt->begin(a, 0), 0);
	assert_int_equal(a->vt->rollback(a), 0);
	assert_true(atomic_load(&fl.pos) == 0);
	assert_int_equal(a->vt->begin(a, 1), 0);
	assert_int_equal(
		a->vt->meta_set(a, "floor", (const unsigned char *)"a", 1), 0);
	assert_int_equal(a->vt->commit(a), 0);
	p1 = atomic_load(&fl.pos);
	assert_true(p1 > 0 && p1 != UINT64_MAX);
	assert_int_equal(b->vt->begin(b, 1), 0);
	assert_int_equal(
		b->vt->meta_set(b, "floor", (const unsigned char *)"b", 1), 0);
	assert_int_equal(b->vt->commit(b), 0);
	p2 = atomic_load(&fl.pos);
	assert_true(p2 > p1 && p2 != UINT64_MAX);
	/* the position is the server's: it has written at least that far */
	snprintf(lsn, sizeof lsn, "%X/%X", (unsigned)(p2 >> 32),
		 (unsigned)(p2 & 0xffffffffu));
	c = PQconnectdb(url());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexecParams(c, "SELECT $1::pg_lsn <= pg_current_wal_insert_lsn()",
			 1, NULL, &param, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	PQfinish(c);
	/* a write rolled back is nothing to wait for */
	assert_int_equal(a->vt->begin(a, 1), 0);
	assert_int_equal(
		a->vt->meta_set(a, "floor", (const unsigned char *)"c", 1), 0);
	assert_int_equal(a->vt->rollback(a), 0);
	assert_true(atomic_load(&fl.pos) == p2);
	a->vt->read_floor(a, NULL);
	b->vt->read_floor(b, NULL);
	a->vt->close(a);
	b->vt->close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_url),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_read_floor),
		cmocka_unit_test(test_backup_restore),
		cmocka_unit_test(test_bulk_copy),
		cmocka_unit_test(test_citus_schema),
		cmocka_unit_test(test_citus_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
