/*
 * test_store.c: the SQLite store on a real file in a fresh directory under
 * /tmp. Raw sqlite3 connections stand in for tampering and for other
 * processes; two threads with their own handles test locking.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define FX_NO_REGISTER
#include "fixture.h"

struct fx {
	char dir[FX_PATH];
	char path[FX_PATH];
	store *s;
};

/* A fresh directory and a freshly created store in it. */
static int setup(void **state)
{
	char err[256] = "";
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	fx_scratch(f->dir, "store");
	fx_path(f->path, sizeof f->path, f->dir, "reg.db");
	f->s = store_sqlite_open(f->path, 1, err, sizeof err);
	if (!f->s)
		fail_msg("create failed: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->s)
		f->s->vt->close(f->s);
	fx_rm_tree(f->dir);
	free(f);
	return 0;
}

static store *reopen(const char *path)
{
	char err[256] = "";
	store *s = store_sqlite_open(path, 0, err, sizeof err);

	if (!s)
		fail_msg("open failed: %s", err);
	return s;
}

/* A raw connection, as another program (or an attacker) would have. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(
		sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
		SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int file_mode(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (int)(sb.st_mode & 0777);
}

static int exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static void mk_subject(store_subject *sub, const char *id, const char *kind,
		       const char *pseudonym, int64_t created)
{
	memset(sub, 0, sizeof *sub);
	snprintf(sub->id, sizeof sub->id, "%s", id);
	snprintf(sub->kind, sizeof sub->kind, "%s", kind);
	snprintf(sub->pseudonym, sizeof sub->pseudonym, "%s", pseudonym);
	for (size_t i = 0; i < sizeof sub->wrapped_key; i++)
		sub->wrapped_key[i] = (unsigned char)(i ^ (size_t)id[0]);
	sub->created_at = created;
}

static void insert_subject(store *s, const char *id, const char *kind,
			   const char *pseudonym)
{
	store_subject sub;

	mk_subject(&sub, id, kind, pseudonym, 1700000000);
	assert_int_equal(s->vt->subject_insert(s, &sub), 0);
}

/* ---- open, create, file mode, migrations ---- */

static void test_create_refuses_existing(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	char other[160];
	store *s;
	FILE *fp;

	/* the register made by setup */
	s = store_sqlite_open(f->path, 1, err, sizeof err);
	assert_null(s);
	assert_non_null(strstr(err, "exists"));
	/* ... and the refusal left it intact */
	f->s->vt->close(f->s);
	f->s = reopen(f->path);

	/* a non-database file is not overwritten either */
	fx_path(other, sizeof other, f->dir, "notes.txt");
	fp = fopen(other, "w");
	assert_non_null(fp);
	fputs("keep me", fp);
	fclose(fp);
	err[0] = '\0';
	assert_null(store_sqlite_open(other, 1, err, sizeof err));
	assert_non_null(strstr(err, "exists"));
	fp = fopen(other, "r");
	assert_non_null(fp);
	assert_non_null(fgets(err, sizeof err, fp));
	fclose(fp);
	assert_string_equal(err, "keep me");
}

static void test_open_refuses_missing(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	char missing[160];

	fx_path(missing, sizeof missing, f->dir, "missing.db");
	assert_null(store_sqlite_open(missing, 0, err, sizeof err));
	assert_non_null(strstr(err, "does not exist"));
	assert_false(exists(missing));
}

static void test_open_refuses_foreign_database(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	char other[160], sql[256];
	sqlite3 *db = NULL;

	fx_path(other, sizeof other, f->dir, "other.db");
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_sqlite_open(other, 0, err, sizeof err));
	assert_non_null(strstr(err, "not a rekisteri database"));
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
	assert_int_equal(fx_count(other, sql), 1); /* nothing was added */
}

static void test_file_mode_0600(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	char path[160], wal[180], shm[180];
	mode_t old;
	store *s;

	/* umask 0 would leave 0644/0666 for anyone relying on it */
	old = umask(0);
	fx_path(path, sizeof path, f->dir, "open.db");
	s = store_sqlite_open(path, 1, err, sizeof err);
	umask(old);
	if (!s)
		fail_msg("create failed: %s", err);
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->meta_set(s, "k", (const unsigned char *)"v", 1),
			 0);
	assert_int_equal(s->vt->commit(s), 0);
	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(shm, sizeof shm, "%s-shm", path);
	assert_int_equal(file_mode(path), 0600);
	assert_true(exists(wal)); /* WAL mode is on */
	assert_int_equal(file_mode(wal), 0600);
	assert_int_equal(file_mode(shm), 0600);
	s->vt->close(s);
	assert_int_equal(file_mode(path), 0600);
}

static void test_migrations(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	f->s->vt->close(f->s);
	f->s = NULL;
	/* Later migrations are appended: at least these, each once. */
	long version = fx_count(f->path, "SELECT max(version) FROM "
					 "schema_migrations");
	assert_true(version >= 5);
	/* the requests' table (GDPR Art. 12(3)) */
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM sqlite_master"
					   " WHERE name = 'dsr'"),
			 1);
	/* a record remembers the cookie identifier it came through */
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM"
					   " pragma_table_info('record')"
					   " WHERE name = 'cookie_hash'"),
			 1);
	/* erasures and the records held after them */
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM sqlite_master"
					   " WHERE name IN ('erasure',"
					   " 'held_record', 'held_chunk')"),
			 3);
	/* migration 4: the audit entry a subject's last write came after */
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM"
					   " pragma_table_info('subject')"
					   " WHERE name = 'audit_seq'"),
			 1);
	/* migration 3: the MAC columns of the rows that decide access */
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM"
					   " pragma_table_info('subject')"
					   " WHERE name IN ('vdigest', 'chead',"
					   " 'rhead', 'mac')"),
			 4);
	assert_int_equal(fx_count(f->path,
				  "SELECT count(*) FROM"
				  " pragma_table_info('record'),"
				  " pragma_table_info('consent') c,"
				  " pragma_table_info('actor') a"
				  " WHERE pragma_table_info.name = 'mac'"
				  " AND c.name = 'mac' AND a.name = 'mac'"),
			 1);
	/* migration 2: records, attachments, consents, cookies, actors */
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM sqlite_master"
					   " WHERE type = 'table' AND name IN"
					   " ('record', 'attachment_chunk',"
					   " 'consent', 'cookie', 'actor')"),
			 5);
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM sqlite_master"
					   " WHERE name IN ('meta',"
					   " 'policy_version', 'subject',"
					   " 'value', 'value_bidx', 'audit',"
					   " 'value_expires')"),
			 7);
	/* journal mode WAL persists in the file */
	{
		sqlite3 *db = raw_open(f->path);
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode",
						    -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
				    "wal");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}

	/* a reopen does not migrate again */
	f->s = reopen(f->path);
	f->s->vt->close(f->s);
	f->s = NULL;
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM "
					   "schema_migrations"),
			 version);

	/* a schema from the future is refused, not used */
	fx_exec(f->path, "INSERT INTO schema_migrations VALUES (999, 0)");
	assert_null(store_sqlite_open(f->path, 0, err, sizeof err));
	assert_non_null(strstr(err, "newer"));
	assert_non_null(strstr(err, "999"));
}

/* ---- meta and counters ---- */

static void test_meta(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	const unsigned char v1[] = {0, 1, 2, 0xff, 0};
	const unsigned char v2[] = {9, 8};
	unsigned char buf[16];
	size_t len = 0;

	assert_int_equal(s->vt->meta_get(s, "k", buf, sizeof buf, &len),
			 STORE_NOTFOUND);
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->meta_set(s, "k", v1, sizeof v1), 0);
	assert_int_equal(s->vt->meta_set(s, "empty", NULL, 0), 0);
	assert_int_equal(s->vt->commit(s), 0);

	assert_int_equal(s->vt->meta_get(s, "k", buf, sizeof buf, &len), 0);
	assert_int_equal(len, sizeof v1);
	assert_memory_equal(buf, v1, sizeof v1);
	len = 99;
	assert_int_equal(s->vt->meta_get(s, "empty", buf, sizeof buf, &len), 0);
	assert_int_equal(len, 0);

	/* too small a buffer is an error that reports the size */
	assert_int_equal(s->vt->meta_get(s, "k", buf, 4, &len), STORE_ERR);
	assert_int_equal(len, sizeof v1);
	assert_non_null(strstr(s->vt->errmsg(s), "buffer"));

	/* overwrite */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->meta_set(s, "k", v2, sizeof v2), 0);
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(s->vt->meta_get(s, "k", buf, sizeof buf, &len), 0);
	assert_int_equal(len, sizeof v2);
	assert_memory_equal(buf, v2, sizeof v2);
}

static void test_counter(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	unsigned char raw[8];
	size_t len = 0;
	int64_t v = 0;

	/* a read-modify-write outside a transaction would race */
	assert_int_equal(s->vt->counter_next(s, "cust", 1000, &v), STORE_ERR);

	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->counter_next(s, "cust", 1000, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(s->vt->counter_next(s, "cust", 1000, &v), 0);
	assert_int_equal(v, 1001);
	assert_int_equal(s->vt->counter_next(s, "other", -5, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(s->vt->commit(s), 0);

	/* stored as 8 bytes big-endian under "counter:<name>" */
	assert_int_equal(
		s->vt->meta_get(s, "counter:cust", raw, sizeof raw, &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(raw[6], 0x03);
	assert_int_equal(raw[7], 0xe9); /* 1001 */

	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->counter_next(s, "cust", 1000, &v), 0);
	assert_int_equal(v, 1002);
	assert_int_equal(s->vt->rollback(s), 0);

	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->counter_next(s, "cust", 1000, &v), 0);
	assert_int_equal(v, 1002); /* the rolled-back value is reissued */
	assert_int_equal(s->vt->counter_next(s, "other", -5, &v), 0);
	assert_int_equal(v, -4);
	assert_int_equal(s->vt->commit(s), 0);
}

static void test_changes(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	int64_t c0, c1;
	unsigned char buf[4];
	size_t len;

	/* reads change nothing, each written row counts, rollbacks do not
	 * take the count back */
	c0 = s->vt->changes(s);
	assert_int_equal(s->vt->meta_get(s, "a", buf, sizeof buf, &len),
			 STORE_NOTFOUND);
	assert_int_equal(s->vt->changes(s), c0);
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->meta_set(s, "a", (const unsigned char *)"1", 1),
			 0);
	assert_int_equal(s->vt->meta_set(s, "b", (const unsigned char *)"2", 1),
			 0);
	c1 = s->vt->changes(s);
	assert_int_equal(c1, c0 + 2);
	assert_int_equal(s->vt->rollback(s), 0);
	assert_int_equal(s->vt->changes(s), c1);
	assert_int_equal(s->vt->meta_get(s, "a", buf, sizeof buf, &len),
			 STORE_NOTFOUND);
}

/* ---- policy ---- */

static void test_policy(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	char *text = NULL;
	int version = 0;

	assert_int_equal(s->vt->policy_latest(s, &version, &text),
			 STORE_NOTFOUND);
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->policy_put(s, 2, "{\"v\":2}", 200), 0);
	assert_int_equal(s->vt->policy_put(s, 1, "{\"v\":1}", 100), 0);
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(s->vt->policy_latest(s, &version, &text), 0);
	assert_int_equal(version, 2);
	assert_string_equal(text, "{\"v\":2}");
	free(text);

	/* a version is written once */
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->policy_put(s, 2, "{}", 300), STORE_ERR);
	assert_int_equal(s->vt->rollback(s), 0);
}

/* ---- subjects ---- */

struct ids {
	char id[8][33];
	int n;
	int stop_after;
};

static int collect_subject(void *ud, const store_subject *sub)
{
	struct ids *c = ud;

	assert_true(c->n < 8);
	snprintf(c->id[c->n], sizeof c->id[0], "%s", sub->id);
	c->n++;
	return c->stop_after && c->n >= c->stop_after;
}

static void test_subject(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	store_subject in, out, dup;
	struct ids c;

	mk_subject(&in, "s3", "person", "P3", 1700000003);
	snprintf(in.rel_start, sizeof in.rel_start, "2024-01-31");
	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->subject_insert(s, &in), 0);
	insert_subject(s, "s1", "person", "P1");
	insert_subject(s, "s5", "company", "P5");
	insert_subject(s, "s2", "company", "P2");
	insert_subject(s, "s4", "person", "P4");
	/* IDs are unique, and the message names no value */
	mk_subject(&dup, "s3", "person", "P9", 1);
	assert_int_equal(s->vt->subject_insert(s, &dup), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "UNIQUE"));
	assert_null(strstr(s->vt->errmsg(s), "P9"));
	assert_null(strstr(s->vt->errmsg(s), "s3"));
	assert_int_equal(s->vt->commit(s), 0);

	assert_int_equal(s->vt->subject_get(s, "s3", &out), 0);
	assert_string_equal(out.id, "s3");
	assert_string_equal(out.kind, "person");
	assert_string_equal(out.pseudonym, "P3");
	assert_memory_equal(out.wrapped_key, in.wrapped_key,
			    sizeof in.wrapped_key);
	assert_int_equal(out.created_at, 1700000003);
	assert_string_equal(out.rel_start, "2024-01-31");
	assert_string_equal(out.rel_end, "");
	assert_int_equal(s->vt->subject_get(s, "nope", &out), STORE_NOTFOUND);
	/* "" is stored as NULL */
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM subject WHERE"
					   " rel_end IS NULL"),
			 5);
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM subject WHERE"
					   " rel_start IS NULL"),
			 4);

	memset(&c, 0, sizeof c);
	assert_int_equal(
		s->vt->subject_list(s, NULL, NULL, 0, collect_subject, &c), 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.id[0], "s1");
	assert_string_equal(c.id[4], "s5");

	memset(&c, 0, sizeof c);
	assert_int_equal(
		s->vt->subject_list(s, "company", NULL, 0, collect_subject, &c),
		0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.id[0], "s2");
	assert_string_equal(c.id[1], "s5");

	memset(&c, 0, sizeof c);
	assert_int_equal(
		s->vt->subject_list(s, NULL, "s2", 2, collect_subject, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.id[0], "s3");
	assert_string_equal(c.id[1], "s4");

	memset(&c, 0, sizeof c);
	assert_int_equal(
		s->vt->subject_list(s, "person", "s1", 0, collect_subject, &c),
		0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.id[0], "s3");
	assert_string_equal(c.id[1], "s4");

	/* a callback that stops ends the walk without error */
	memset(&c, 0, sizeof c);
	c.stop_after = 1;
	assert_int_equal(
		s->vt->subject_list(s, NULL, NULL, 0, collect_subject, &c), 0);
	assert_int_equal(c.n, 1);

	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->subject_set_end(s, "s3", "2025-06-30"), 0);
	assert_int_equal(s->vt->subject_set_end(s, "nope", "2025-06-30"),
			 STORE_NOTFOUND);
	assert_int_equal(s->vt->subject_set_end(s, "s3", "2025-06-30T00:00"),
			 STORE_ERR);
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(s->vt->subject_get(s, "s3", &out), 0);
	assert_string_equal(out.rel_end, "2025-06-30");
}

static void test_subject_damage(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	store_subject out;

	assert_int_equal(s->vt->begin(s, 1), 0);
	insert_subject(s, "k1", "person", "PK1");
	insert_subject(s, "k2", "person", "PK2");
	assert_int_equal(s->vt->commit(s), 0);

	fx_exec(f->path, "UPDATE subject SET wrapped_key = x'0102'"
			 " WHERE id = 'k1'");
	assert_int_equal(s->vt->subject_get(s, "k1", &out), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "damaged subject key"));

	/* longer than the struct field: an error, never a truncation */
	fx_exec(f->path, "UPDATE subject SET kind ="
			 " 'abcdefghijklmnopqrstuvwxyz0123456789'"
			 " WHERE id = 'k2'");
	assert_int_equal(s->vt->subject_get(s, "k2", &out), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "damaged"));
}

/* A callback that re-enters the walk it is called from is refused. */
static int reenter(void *ud, const store_subject *sub)
{
	store *s = ud;
	struct ids c;

	(void)sub;
	memset(&c, 0, sizeof c);
	assert_int_equal(
		s->vt->subject_list(s, NULL, NULL, 0, collect_subject, &c),
		STORE_ERR);
	return 1;
}

static void test_reentry_refused(void **state)
{
	struct fx *f = *state;
	store *s = f->s;

	assert_int_equal(s->vt->begin(s, 1), 0);
	insert_subject(s, "r1", "person", "PR1");
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(s->vt->subject_list(s, NULL, NULL, 0, reenter, s), 0);
}

/* ---- values ---- */

struct vals {
	int64_t rowid[8];
	char field[8][16];
	char expires[8][12];
	int n;
};

static int collect_value(void *ud, const store_value *v)
{
	struct vals *c = ud;

	assert_true(c->n < 8);
	c->rowid[c->n] = v->rowid;
	snprintf(c->field[c->n], sizeof c->field[0], "%s", v->field);
	snprintf(c->expires[c->n], sizeof c->expires[0], "%s",
		 v->expires ? v->expires : "-");
	c->n++;
	return 0;
}

static int check_first_value(void *ud, const store_value *v)
{
	(void)ud;
	assert_string_equal(v->subject_id, "v1");
	assert_string_equal(v->field, "email");
	assert_int_equal(v->ctlen, 5);
	assert_memory_equal(v->ct, "\x01\x02\x00\x03\x04", 5);
	assert_string_equal(v->purposes, "customer,marketing");
	assert_string_equal(v->legal_basis, "contract");
	assert_string_equal(v->source, "subject");
	assert_int_equal(v->collected_at, 111);
	assert_int_equal(v->confirmed_at, 222);
	assert_null(v->expires);
	return 1;
}

static store_value mk_value(const char *subject, const char *field,
			    const char *expires)
{
	store_value v;

	memset(&v, 0, sizeof v);
	v.subject_id = subject;
	v.field = field;
	v.ct = (const unsigned char *)"\x01\x02\x00\x03\x04";
	v.ctlen = 5;
	v.purposes = "customer,marketing";
	v.legal_basis = "contract";
	v.source = "subject";
	v.collected_at = 111;
	v.confirmed_at = 222;
	v.expires = expires;
	return v;
}

static void test_value(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	store_value v[4];
	struct vals c;

	v[0] = mk_value("v1", "email", NULL);
	v[1] = mk_value("v1", "phone", "2030-01-01");
	v[2] = mk_value("v1", "email", NULL);
	v[3] = mk_value("v2", "email", NULL);
	assert_int_equal(s->vt->begin(s, 1), 0);
	insert_subject(s, "v1", "person", "PV1");
	insert_subject(s, "v2", "person", "PV2");
	for (int i = 0; i < 4; i++)
		assert_int_equal(s->vt->value_insert(s, &v[i]), 0);
	assert_true(v[0].rowid > 0);
	assert_true(v[1].rowid > v[0].rowid);
	assert_true(v[2].rowid > v[1].rowid);
	/* foreign keys are enforced on the store's connection */
	v[3] = mk_value("ghost", "email", NULL);
	assert_int_equal(s->vt->value_insert(s, &v[3]), STORE_ERR);
	assert_non_null(strstr(s->vt->errmsg(s), "FOREIGN KEY"));
	assert_int_equal(s->vt->commit(s), 0);

	assert_int_equal(
		s->vt->value_list(s, "v1", NULL, check_first_value, NULL), 0);
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->value_list(s, "v1", NULL, collect_value, &c),
			 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.rowid[0], v[0].rowid);
	assert_int_equal(c.rowid[2], v[2].rowid);
	assert_string_equal(c.field[1], "phone");
	assert_string_equal(c.expires[1], "2030-01-01");

	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->value_list(s, "v1", "email", collect_value, &c),
			 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.field[0], "email");
	assert_string_equal(c.field[1], "email");

	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(
		s->vt->value_set_expiry(s, "v1", "email", "2026-02-28"), 0);
	assert_int_equal(s->vt->commit(s), 0);
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->value_list(s, "v1", NULL, collect_value, &c),
			 0);
	assert_string_equal(c.expires[0], "2026-02-28");
	assert_string_equal(c.expires[1], "2030-01-01");
	assert_string_equal(c.expires[2], "2026-02-28");
	/* the other subject's email is untouched */
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->value_list(s, "v2", NULL, collect_value, &c),
			 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.expires[0], "-");

	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->value_delete_field(s, "v1", "email", NULL), 0);
	assert_int_equal(s->vt->commit(s), 0);
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->value_list(s, "v1", NULL, collect_value, &c),
			 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.field[0], "phone");
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM value"), 2);
}

/* ---- blind index ---- */

struct found {
	char id[4][33];
	char pseudonym[4][33];
	int n;
};

static int collect_found(void *ud, const char *id, const char *pseudonym)
{
	struct found *c = ud;

	assert_true(c->n < 4);
	snprintf(c->id[c->n], sizeof c->id[0], "%s", id);
	snprintf(c->pseudonym[c->n], sizeof c->pseudonym[0], "%s", pseudonym);
	c->n++;
	return 0;
}

static void insert_indexed(store *s, const char *subject, const char *field,
			   const unsigned char h[SEC_BIDX_BYTES])
{
	store_value v = mk_value(subject, field, NULL);

	v.bidx = h;
	assert_int_equal(s->vt->value_insert(s, &v), 0);
}

static void test_bidx(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	unsigned char h1[SEC_BIDX_BYTES], h2[SEC_BIDX_BYTES];
	struct found c;
	int64_t n_del = -1;

	memset(h1, 0xa1, sizeof h1);
	memset(h2, 0xb2, sizeof h2);
	assert_int_equal(s->vt->begin(s, 1), 0);
	insert_subject(s, "b1", "person", "PB1");
	insert_subject(s, "b2", "person", "PB2");
	/* the blind index rides on the value rows; b1 has the same e-mail
	 * twice and so comes twice (the caller folds them) */
	insert_indexed(s, "b2", "email", h1);
	insert_indexed(s, "b1", "email", h1);
	insert_indexed(s, "b1", "email", h1);
	insert_indexed(s, "b1", "phone", h1);
	insert_indexed(s, "b2", "email", h2);
	assert_int_equal(s->vt->commit(s), 0);

	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->bidx_find(s, "email", h1, collect_found, &c),
			 0);
	/* in index order: by subject */
	assert_int_equal(c.n, 3);
	assert_string_equal(c.id[0], "b1");
	assert_string_equal(c.pseudonym[0], "PB1");
	assert_string_equal(c.id[1], "b1");
	assert_string_equal(c.id[2], "b2");
	assert_string_equal(c.pseudonym[2], "PB2");

	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->bidx_find(s, "phone", h2, collect_found, &c),
			 0);
	assert_int_equal(c.n, 0);

	assert_int_equal(s->vt->begin(s, 1), 0);
	assert_int_equal(s->vt->value_delete_field(s, "b1", "email", &n_del),
			 0);
	assert_int_equal(n_del, 2); /* the two e-mail values of b1 */
	assert_int_equal(s->vt->value_delete_field(s, "b1", "email", &n_del),
			 0);
	assert_int_equal(n_del, 0);
	assert_int_equal(s->vt->commit(s), 0);
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->bidx_find(s, "email", h1, collect_found, &c),
			 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.id[0], "b2");
	/* the other field of b1 stays */
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->bidx_find(s, "phone", h1, collect_found, &c),
			 0);
	assert_int_equal(c.n, 1);
}

static void test_cascade(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	unsigned char h[SEC_BIDX_BYTES];
	store_value v = mk_value("c1", "email", NULL);
	store_value w = mk_value("c2", "email", NULL);
	struct vals c;

	memset(h, 0x11, sizeof h);
	assert_int_equal(s->vt->begin(s, 1), 0);
	insert_subject(s, "c1", "person", "PC1");
	insert_subject(s, "c2", "person", "PC2");
	v.bidx = h;
	assert_int_equal(s->vt->value_insert(s, &v), 0);
	assert_int_equal(s->vt->value_insert(s, &w), 0);
	assert_int_equal(s->vt->commit(s), 0);

	fx_exec(f->path, "PRAGMA foreign_keys = ON;"
			 "DELETE FROM subject WHERE id = 'c1'");
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->value_list(s, "c1", NULL, collect_value, &c),
			 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM value"), 1);
	assert_int_equal(fx_count(f->path, "SELECT count(*) FROM value WHERE "
					   "bidx IS NOT NULL"),
			 0);
}

/* ---- audit ---- */

static store_audit mk_audit(int64_t seq, const char *subject)
{
	store_audit a;

	memset(&a, 0, sizeof a);
	a.seq = seq;
	a.at_us = 1000 * seq;
	a.actor = "alice";
	a.action = seq % 2 ? "subject.read" : "subject.write";
	a.subject = subject;
	a.fields = subject ? "email,phone" : NULL;
	a.purpose = subject ? "customer" : NULL;
	a.outcome = "ok";
	memset(a.prev, (int)(seq - 1), sizeof a.prev);
	memset(a.hash, (int)seq, sizeof a.hash);
	return a;
}

struct seqs {
	int64_t seq[8];
	int n;
	int stop_after;
};

static int collect_audit(void *ud, const store_audit *a)
{
	struct seqs *c = ud;
	store_audit want = mk_audit(a->seq, a->subject);

	assert_true(c->n < 8);
	assert_memory_equal(a->prev, want.prev, sizeof a->prev);
	assert_memory_equal(a->hash, want.hash, sizeof a->hash);
	assert_string_equal(a->action, want.action);
	c->seq[c->n++] = a->seq;
	return c->stop_after && c->n >= c->stop_after;
}

static void test_audit(void **state)
{
	struct fx *f = *state;
	store *s = f->s;
	const char *subj[6] = {NULL, "PA", "PB", "PA", NULL, "PA"};
	store_audit a, last, last2;
	struct seqs c;

	assert_int_equal(s->vt->audit_last(s, &last), STORE_NOTFOUND);
	assert_int_equal(s->vt->begin(s, 1), 0);
	for (int i = 1; i <= 5; i++) {
		a = mk_audit(i, subj[i]);
		assert_int_equal(s->vt->audit_append(s, &a), 0);
	}
	a = mk_audit(5, "PB"); /* seq is unique */
	assert_int_equal(s->vt->audit_append(s, &a), STORE_ERR);
	assert_int_equal(s->vt->commit(s), 0);

	assert_int_equal(s->vt->audit_last(s, &last), 0);
	assert_int_equal(last.seq, 5);
	assert_int_equal(last.at_us, 5000);
	assert_string_equal(last.actor, "alice");
	assert_string_equal(last.action, "subject.read");
	assert_string_equal(last.subject, "PA");
	assert_string_equal(last.fields, "email,phone");
	assert_string_equal(last.purpose, "customer");
	assert_string_equal(last.outcome, "ok");
	a = mk_audit(5, "PA");
	assert_memory_equal(last.prev, a.prev, sizeof a.prev);
	assert_memory_equal(last.hash, a.hash, sizeof a.hash);

	/* its strings outlive other calls on the handle */
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->audit_walk(s, 1, NULL, collect_audit, &c), 0);
	assert_string_equal(last.actor, "alice");
	assert_string_equal(last.subject, "PA");
	assert_int_equal(c.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(c.seq[i], i + 1);

	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->audit_walk(s, 3, NULL, collect_audit, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seq[0], 3);

	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->audit_walk(s, 1, "PA", collect_audit, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seq[0], 1);
	assert_int_equal(c.seq[1], 3);
	assert_int_equal(c.seq[2], 5);

	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->audit_walk(s, 2, "PA", collect_audit, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.seq[0], 3);
	assert_int_equal(c.seq[1], 5);

	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	assert_int_equal(s->vt->audit_walk(s, 1, NULL, collect_audit, &c), 0);
	assert_int_equal(c.n, 2);

	/* a NULL subject, fields and purpose come back NULL */
	assert_int_equal(s->vt->begin(s, 1), 0);
	a = mk_audit(6, NULL);
	assert_int_equal(s->vt->audit_append(s, &a), 0);
	assert_int_equal(s->vt->commit(s), 0);
	assert_int_equal(s->vt->audit_last(s, &last2), 0);
	assert_int_equal(last2.seq, 6);
	assert_null(last2.subject);
	assert_null(last2.fields);
	assert_null(last2.purpose);
	assert_string_equal(last2.outcome, "ok");

	/* a hash of the wrong size stops the walk with an error */
	fx_exec(f->path, "UPDATE audit SET hash = x'00' WHERE seq = 4");
	memset(&c, 0, sizeof c);
	assert_int_equal(s->vt->audit_walk(s, 1, NULL, collect_audit, &c),
			 STORE_ERR);
	assert_int_equal(c.n, 3);
	assert_non_null(strstr(s->vt->errmsg(s), "damaged"));
	fx_exec(f->path, "UPDATE audit SET prev = zeroblob(31) WHERE seq = 6");
	assert_int_equal(s->vt->audit_last(s, &last), STORE_ERR);
}

/* ---- concurrency ---- */

static void test_reader_does_not_block_writer(void **state)
{
	struct fx *f = *state;
	store *a = f->s, *b = reopen(f->path);
	unsigned char buf[4];
	size_t len;

	assert_int_equal(a->vt->begin(a, 0), 0);
	assert_int_equal(a->vt->meta_get(a, "x", buf, sizeof buf, &len),
			 STORE_NOTFOUND);
	/* a holds a read snapshot; b writes and commits at once */
	assert_int_equal(b->vt->begin(b, 1), 0);
	assert_int_equal(b->vt->meta_set(b, "x", (const unsigned char *)"1", 1),
			 0);
	assert_int_equal(b->vt->commit(b), 0);
	/* a still sees its snapshot until it ends the read */
	assert_int_equal(a->vt->meta_get(a, "x", buf, sizeof buf, &len),
			 STORE_NOTFOUND);
	assert_int_equal(a->vt->rollback(a), 0);
	assert_int_equal(a->vt->meta_get(a, "x", buf, sizeof buf, &len), 0);
	b->vt->close(b);
}

struct writer {
	store *s;
	atomic_int begun;
	/* set by the first writer just before its commit: the second's
	 * begin may return only after it (no clock: these machines are
	 * shared, and a late thread start is not a failure) */
	atomic_int committing;
	int rc_begin, rc_set, rc_commit;
	int began_after_commit;
};

static void *second_writer(void *arg)
{
	struct writer *w = arg;

	w->rc_begin = w->s->vt->begin(w->s, 1);
	w->began_after_commit = atomic_load(&w->committing);
	atomic_store(&w->begun, 1);
	w->rc_set = w->s->vt->meta_set(w->s, "second",
				       (const unsigned char *)"2", 1);
	w->rc_commit = w->s->vt->commit(w->s);
	return NULL;
}

static void test_writer_waits_for_writer(void **state)
{
	struct fx *f = *state;
	store *a = f->s;
	struct writer w;
	struct timespec pause = {0, 300 * 1000 * 1000};
	unsigned char buf[4];
	size_t len;
	pthread_t t;

	memset(&w, 0, sizeof w);
	w.s = reopen(f->path);
	atomic_init(&w.begun, 0);
	atomic_init(&w.committing, 0);
	assert_int_equal(a->vt->begin(a, 1), 0);
	assert_int_equal(
		a->vt->meta_set(a, "first", (const unsigned char *)"1", 1), 0);
	assert_int_equal(pthread_create(&t, NULL, second_writer, &w), 0);
	nanosleep(&pause, NULL);
	/* still waiting on the lock, not failed */
	assert_int_equal(atomic_load(&w.begun), 0);
	atomic_store(&w.committing, 1);
	assert_int_equal(a->vt->commit(a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc_begin, 0);
	assert_int_equal(w.rc_set, 0);
	assert_int_equal(w.rc_commit, 0);
	assert_true(w.began_after_commit);
	assert_int_equal(a->vt->meta_get(a, "first", buf, sizeof buf, &len), 0);
	assert_int_equal(a->vt->meta_get(a, "second", buf, sizeof buf, &len),
			 0);
	w.s->vt->close(w.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_refuses_existing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_missing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_open_refuses_foreign_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_mode_0600, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migrations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subject_damage, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reentry_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bidx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reader_does_not_block_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_waits_for_writer,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
