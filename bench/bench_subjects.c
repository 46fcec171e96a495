/*
 * bench_subjects.c: rekisteri against a plaintext SQLite baseline, in the
 * same run on the same machine.
 *
 * Generates N fictional customers (deterministic), then measures:
 *   - insert, one commit per subject: rk_subject_add per subject, versus raw
 *     SQLite with one transaction per subject;
 *   - insert, bulk: rk_register_begin, N x rk_subject_add,
 *     rk_register_commit, versus raw SQLite with all rows in one transaction;
 *   - lookup by e-mail: rk_subject_find, with the default read audit batch
 *     (64) and with batch 1, versus a SELECT on the raw lookup table.
 *
 * The raw baseline uses the same pragmas (WAL, synchronous=NORMAL,
 * foreign_keys=ON, temp_store=MEMORY, cache_size 32 MiB,
 * wal_autocheckpoint 4000) and an equivalent
 * schema in plaintext: one subject row, one value row per field (including the
 * customer number the register issues) and lookup rows for the lookup fields.
 * Prepared statements.
 *
 * Each insert phase also prints its ratio by CPU time (the thread's, its
 * system calls included, its waits for the disk not), which other
 * processes' disk writes do not move as they move the rates.
 *
 * Prints one line per measurement (rates, ratio, target) and exits 0; a
 * functional failure (API error, wrong lookup result) exits 1. Rates are
 * never asserted.
 *
 * On a shared machine the rates swing from run to run: --rounds R repeats
 * each insert phase R times (new files each round on both sides, the side
 * that goes first alternating) and the batch-64 look-ups R times (each
 * round right after a raw round), and reports the median ratios; the
 * insert figures are the median round's. --skip-commit leaves out the slow
 * one-commit-per-subject phase (which also leaves the disk busy for the
 * next). The sizes are taken at the end: each round adds its look-ups'
 * audit entries to the bulk file.
 *
 * Usage: bench_subjects [--n N] [--dir DIR] [--policy PATH] [--keep]
 *                       [--rounds R] [--skip-commit]
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rekisteri.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif

#define PROG	      "bench_subjects"
#define DEFAULT_N     100000L
#define MAX_N	      1000000L /* phones stay unique up to 10^7 */
#define LOOKUP_MAX    20000L
#define WARMUP	      1000L
#define SEED	      UINT64_C(0x726b2d62656e6368) /* "rk-bench" */
#define CN_START      1000L
#define TARGET_INSERT 50.0
/* One commit per subject: each pays for its audit entry and head, so the
 * bar is set against raw SQLite doing one commit per row too. */
#define TARGET_COMMIT 70.0
#define TARGET_LOOKUP 40.0
#define RAW_PURPOSES  "customer_relationship,billing"
#define RAW_BASIS     "contract"
#define RAW_SOURCE    "data_subject"
#define PATH_MAX_LEN  4096

typedef struct person {
	char first[32];
	char last[48];
	char email[128];
	char phone[24];	     /* as given: "040 1234567" */
	char phone_e164[24]; /* "+358401234567" */
	char postal[8];
	const char *city;
	char raw_id[RK_ID_LEN + 1];
	char cn[24]; /* customer number in the raw baseline */
} person;

typedef struct name_pair {
	const char *display;
	const char *ascii;
} name_pair;

static const name_pair first_names[] = {
	{"Aino", "aino"},     {"Eino", "eino"},		{"Väinö", "vaino"},
	{"Helmi", "helmi"},   {"Onni", "onni"},		{"Aada", "aada"},
	{"Leo", "leo"},	      {"Sofia", "sofia"},	{"Elias", "elias"},
	{"Olivia", "olivia"}, {"Juho", "juho"},		{"Emma", "emma"},
	{"Matti", "matti"},   {"Liisa", "liisa"},	{"Pekka", "pekka"},
	{"Kaisa", "kaisa"},   {"Jussi", "jussi"},	{"Sanna", "sanna"},
	{"Ilmari", "ilmari"}, {"Tuulikki", "tuulikki"},
};

static const name_pair last_names[] = {
	{"Korhonen", "korhonen"}, {"Virtanen", "virtanen"},
	{"Mäkinen", "makinen"},	  {"Nieminen", "nieminen"},
	{"Mäkelä", "makela"},	  {"Hämäläinen", "hamalainen"},
	{"Laine", "laine"},	  {"Heikkinen", "heikkinen"},
	{"Koskinen", "koskinen"}, {"Järvinen", "jarvinen"},
	{"Lehtonen", "lehtonen"}, {"Lehtinen", "lehtinen"},
	{"Saarinen", "saarinen"}, {"Salminen", "salminen"},
	{"Heinonen", "heinonen"}, {"Niemi", "niemi"},
	{"Heikkilä", "heikkila"}, {"Kinnunen", "kinnunen"},
	{"Salonen", "salonen"},	  {"Turunen", "turunen"},
};

static const char *const cities[] = {
	"Helsinki",    "Espoo", "Tampere",   "Vantaa",
	"Oulu",	       "Turku", "Jyväskylä", "Lahti",
	"Kuopio",      "Pori",	"Joensuu",   "Lappeenranta",
	"Hämeenlinna", "Vaasa", "Seinäjoki", "Rovaniemi",
};

static const char *const mobile_prefixes[] = {"040", "041", "044", "045",
					      "050"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers --------------------------------------------------------------
 */

static uint64_t rng_state = SEED;

/* splitmix64: small, fast and good enough for test data. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t rng_below(size_t n)
{
	return (size_t)(rng_next() % (uint64_t)n);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: on a machine that others share, steadier than
 * wall time (a round that loses the CPU to another process for a while
 * is not charged for it). */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex_id(char out[RK_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < RK_ID_LEN; i += 16) {
		uint64_t r = rng_next();
		size_t j;
		for (j = 0; j < 16; j++) {
			out[i + j] = hex[r & 0xf];
			r >>= 4;
		}
	}
	out[RK_ID_LEN] = '\0';
}

static int rk_fail(const char *call, rk_status st, const rk_register *reg)
{
	fprintf(stderr, "%s: %s: %s (%d): %s\n", PROG, call, rk_status_name(st),
		(int)st, reg != NULL ? rk_errmsg(reg) : "");
	return -1;
}

static int sq_fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, "%s: raw sqlite: %s: %s\n", PROG, what,
		db != NULL ? sqlite3_errmsg(db) : "cannot open");
	return -1;
}

static int join_path(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outsz) {
		fprintf(stderr, "%s: path too long: %s/%s\n", PROG, dir, name);
		return -1;
	}
	return 0;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- data -----------------------------------------------------------------
 */

static person *make_people(size_t n)
{
	person *pp = calloc(n, sizeof *pp);
	size_t i;

	if (pp == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		person *p = &pp[i];
		const name_pair *f =
			&first_names[rng_below(COUNT(first_names))];
		const name_pair *l = &last_names[rng_below(COUNT(last_names))];
		const char *pre =
			mobile_prefixes[rng_below(COUNT(mobile_prefixes))];
		/* i -> i * 7919 + 1234567 mod 10^7 is a bijection (7919 is
		 * prime to 10), so the subscriber numbers are unique. */
		unsigned long sub =
			(unsigned long)((i * 7919u + 1234567u) % 10000000u);

		snprintf(p->first, sizeof p->first, "%s", f->display);
		snprintf(p->last, sizeof p->last, "%s", l->display);
		snprintf(p->email, sizeof p->email, "%s.%s.%zu@example.com",
			 f->ascii, l->ascii, i);
		snprintf(p->phone, sizeof p->phone, "%s %07lu", pre, sub);
		snprintf(p->phone_e164, sizeof p->phone_e164, "+358%s%07lu",
			 pre + 1, sub);
		snprintf(p->postal, sizeof p->postal, "%05lu",
			 (unsigned long)(100 + rng_below(99900)));
		p->city = cities[rng_below(COUNT(cities))];
		hex_id(p->raw_id);
		snprintf(p->cn, sizeof p->cn, "%ld", CN_START + (long)i);
	}
	return pp;
}

/* ---- raw SQLite baseline --------------------------------------------------
 */

typedef struct raw_db {
	sqlite3 *db;
	sqlite3_stmt *begin, *commit, *ins_subject, *ins_value, *ins_lookup;
	sqlite3_stmt *find;
} raw_db;

static const char raw_schema[] =
	"CREATE TABLE subject ("
	" id TEXT NOT NULL PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" rel_start TEXT);"
	"CREATE TABLE value ("
	" id INTEGER PRIMARY KEY,"
	" subject_id TEXT NOT NULL REFERENCES subject(id),"
	" field TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" purposes TEXT NOT NULL,"
	" legal_basis TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" collected_at INTEGER NOT NULL,"
	" confirmed_at INTEGER NOT NULL,"
	" expires_at TEXT);"
	"CREATE INDEX value_subject_field ON value(subject_id, field);"
	"CREATE TABLE lookup ("
	" field TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" subject_id TEXT NOT NULL,"
	" PRIMARY KEY (field, value, subject_id)) WITHOUT ROWID;";

static int raw_prepare(raw_db *r, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
			       NULL) != SQLITE_OK)
		return sq_fail(r->db, "prepare");
	return 0;
}

static int raw_pragma_is(raw_db *r, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		ok = v != NULL && strcmp((const char *)v, want) == 0;
	}
	sqlite3_finalize(st);
	if (!ok) {
		fprintf(stderr, "%s: raw sqlite: %s did not give %s\n", PROG,
			sql, want);
		return -1;
	}
	return 0;
}

static void raw_close(raw_db *r)
{
	sqlite3_finalize(r->begin);
	sqlite3_finalize(r->commit);
	sqlite3_finalize(r->ins_subject);
	sqlite3_finalize(r->ins_value);
	sqlite3_finalize(r->ins_lookup);
	sqlite3_finalize(r->find);
	sqlite3_close(r->db);
	memset(r, 0, sizeof *r);
}

static int raw_open(raw_db *r, const char *path)
{
	int rc = -1;

	memset(r, 0, sizeof *r);
	if (sqlite3_open_v2(path, &r->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		sq_fail(r->db, "open");
		goto out;
	}
	if (sqlite3_exec(r->db,
			 "PRAGMA synchronous = NORMAL;"
			 "PRAGMA foreign_keys = ON;"
			 /* the register's own cache settings, so that
			  * neither side gets more memory than the other */
			 "PRAGMA temp_store = MEMORY;"
			 "PRAGMA cache_size = -32768;"
			 /* and its checkpoint interval */
			 "PRAGMA wal_autocheckpoint = 4000",
			 NULL, NULL, NULL) != SQLITE_OK) {
		sq_fail(r->db, "pragmas");
		goto out;
	}
	if (raw_pragma_is(r, "PRAGMA journal_mode = WAL", "wal") ||
	    raw_pragma_is(r, "PRAGMA foreign_keys", "1"))
		goto out;
	if (sqlite3_exec(r->db, raw_schema, NULL, NULL, NULL) != SQLITE_OK) {
		sq_fail(r->db, "schema");
		goto out;
	}
	if (raw_prepare(r, &r->begin, "BEGIN IMMEDIATE") ||
	    raw_prepare(r, &r->commit, "COMMIT") ||
	    raw_prepare(r, &r->ins_subject,
			"INSERT INTO subject (id, kind, created_at, rel_start)"
			" VALUES (?1, ?2, ?3, ?4)") ||
	    raw_prepare(r, &r->ins_value,
			"INSERT INTO value (subject_id, field, value, "
			"purposes, legal_basis, source, collected_at, "
			"confirmed_at, expires_at)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, NULL)") ||
	    raw_prepare(r, &r->ins_lookup,
			"INSERT INTO lookup (field, value, subject_id)"
			" VALUES (?1, ?2, ?3)") ||
	    raw_prepare(r, &r->find,
			"SELECT subject_id FROM lookup"
			" WHERE field = 'email' AND value = ?1"))
		goto out;
	rc = 0;
out:
	if (rc != 0)
		raw_close(r);
	return rc;
}

static int raw_step_done(raw_db *r, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(r->db, what);
	return 0;
}

static int raw_value(raw_db *r, const char *sid, const char *field,
		     const char *value, int64_t now)
{
	sqlite3_stmt *st = r->ins_value;

	sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, RAW_PURPOSES, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, RAW_BASIS, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, RAW_SOURCE, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	return raw_step_done(r, st, "insert value");
}

static int raw_lookup(raw_db *r, const char *sid, const char *field,
		      const char *value)
{
	sqlite3_stmt *st = r->ins_lookup;

	sqlite3_bind_text(st, 1, field, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sid, -1, SQLITE_STATIC);
	return raw_step_done(r, st, "insert lookup");
}

/* The same rows as rk_subject_add writes for one customer, in plaintext. */
static int raw_insert_one(raw_db *r, const person *p, int cn_lookup,
			  const char *today)
{
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *st = r->ins_subject;

	sqlite3_bind_text(st, 1, p->raw_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, "customer", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, today, -1, SQLITE_STATIC);
	if (raw_step_done(r, st, "insert subject") ||
	    raw_value(r, p->raw_id, "first_name", p->first, now) ||
	    raw_value(r, p->raw_id, "last_name", p->last, now) ||
	    raw_value(r, p->raw_id, "email", p->email, now) ||
	    raw_value(r, p->raw_id, "phone", p->phone_e164, now) ||
	    raw_value(r, p->raw_id, "postal_code", p->postal, now) ||
	    raw_value(r, p->raw_id, "city", p->city, now) ||
	    raw_value(r, p->raw_id, "customer_number", p->cn, now) ||
	    raw_lookup(r, p->raw_id, "email", p->email) ||
	    raw_lookup(r, p->raw_id, "phone", p->phone_e164))
		return -1;
	if (cn_lookup && raw_lookup(r, p->raw_id, "customer_number", p->cn))
		return -1;
	return 0;
}

/* Inserts everyone: one transaction per subject, or all in one. */
static int raw_insert_all(raw_db *r, const person *pp, size_t n, int bulk,
			  int cn_lookup, double *secs, double *cpu)
{
	char today[RK_DATE_LEN + 1];
	time_t t = time(NULL);
	struct tm tm;
	double t0;
	size_t i;

	gmtime_r(&t, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	*cpu = cpu_s();
	t0 = now_s();
	if (bulk && raw_step_done(r, r->begin, "begin"))
		return -1;
	for (i = 0; i < n; i++) {
		if (!bulk && raw_step_done(r, r->begin, "begin"))
			return -1;
		if (raw_insert_one(r, &pp[i], cn_lookup, today))
			return -1;
		if (!bulk && raw_step_done(r, r->commit, "commit"))
			return -1;
	}
	if (bulk && raw_step_done(r, r->commit, "commit"))
		return -1;
	*secs = now_s() - t0;
	*cpu = cpu_s() - *cpu;
	return 0;
}

static int raw_find(raw_db *r, const person *p)
{
	sqlite3_stmt *st = r->find;
	int rc, ok;

	sqlite3_bind_text(st, 1, p->email, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	ok = rc == SQLITE_ROW &&
	     strcmp((const char *)sqlite3_column_text(st, 0), p->raw_id) == 0 &&
	     sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	if (!ok) {
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sq_fail(r->db, "lookup");
		fprintf(stderr,
			"%s: raw sqlite: lookup by e-mail did not return "
			"exactly subject %s\n",
			PROG, p->raw_id);
		return -1;
	}
	return 0;
}

static int raw_find_all(raw_db *r, const person *pp, const size_t *pick,
			size_t m, double *secs, double *cpu)
{
	double t0 = now_s(), c0 = cpu_s();
	size_t i;

	for (i = 0; i < m; i++)
		if (raw_find(r, &pp[pick[i]]))
			return -1;
	*secs = now_s() - t0;
	*cpu = cpu_s() - c0;
	return 0;
}

/* ---- rekisteri ------------------------------------------------------------
 */

static int rk_open_new(const char *dir, const char *db, const char *key,
		       const char *policy, rk_register **out)
{
	char dbp[PATH_MAX_LEN], keyp[PATH_MAX_LEN];
	rk_register *reg = NULL;
	rk_status st;

	*out = NULL;
	if (join_path(dbp, sizeof dbp, dir, db) ||
	    join_path(keyp, sizeof keyp, dir, key))
		return -1;
	st = rk_register_init(dbp, keyp, policy, &reg);
	if (st != RK_OK) {
		rk_fail("rk_register_init", st, reg);
		rk_register_close(reg);
		return -1;
	}
	st = rk_register_set_actor(reg, "bench");
	if (st != RK_OK) {
		rk_fail("rk_register_set_actor", st, reg);
		rk_register_close(reg);
		return -1;
	}
	*out = reg;
	return 0;
}

static int rk_add_one(rk_register *reg, const person *p, char id[RK_ID_LEN + 1])
{
	rk_fields *f = rk_fields_new();
	rk_status st = RK_OK;
	int rc = -1;

	if (f == NULL) {
		fprintf(stderr, "%s: rk_fields_new: out of memory\n", PROG);
		return -1;
	}
	if ((st = rk_fields_add(f, "first_name", p->first)) != RK_OK ||
	    (st = rk_fields_add(f, "last_name", p->last)) != RK_OK ||
	    (st = rk_fields_add(f, "email", p->email)) != RK_OK ||
	    (st = rk_fields_add(f, "phone", p->phone)) != RK_OK ||
	    (st = rk_fields_add(f, "postal_code", p->postal)) != RK_OK ||
	    (st = rk_fields_add(f, "city", p->city)) != RK_OK) {
		rk_fail("rk_fields_add", st, NULL);
		goto out;
	}
	st = rk_subject_add(reg, "customer", f, NULL, NULL, id);
	if (st != RK_OK) {
		rk_fail("rk_subject_add", st, reg);
		goto out;
	}
	rc = 0;
out:
	rk_fields_free(f);
	return rc;
}

static int rk_insert_all(rk_register *reg, const person *pp, size_t n, int bulk,
			 char (*ids)[RK_ID_LEN + 1], double *secs, double *cpu)
{
	double t0 = now_s(), c0 = cpu_s();
	rk_status st;
	size_t i;

	if (bulk && (st = rk_register_begin(reg)) != RK_OK)
		return rk_fail("rk_register_begin", st, reg);
	for (i = 0; i < n; i++) {
		if (rk_add_one(reg, &pp[i], ids[i])) {
			if (bulk)
				rk_register_rollback(reg);
			return -1;
		}
	}
	if (bulk && (st = rk_register_commit(reg)) != RK_OK)
		return rk_fail("rk_register_commit", st, reg);
	*secs = now_s() - t0;
	*cpu = cpu_s() - c0;
	return 0;
}

static int rk_find_one(rk_register *reg, const person *p, const char *id)
{
	rk_list *l = NULL;
	rk_status st;
	int rc = -1;

	st = rk_subject_find(reg, "email", p->email, NULL, &l);
	if (st != RK_OK) {
		rk_fail("rk_subject_find", st, reg);
		goto out;
	}
	if (rk_list_count(l) != 1 || strcmp(rk_list_id(l, 0), id) != 0) {
		fprintf(stderr,
			"%s: rk_subject_find: found %zu subjects, expected "
			"exactly the one added (%s)\n",
			PROG, rk_list_count(l), id);
		goto out;
	}
	rc = 0;
out:
	rk_list_free(l);
	return rc;
}

static int rk_find_all(rk_register *reg, const person *pp,
		       char (*ids)[RK_ID_LEN + 1], const size_t *pick, size_t m,
		       double *secs, double *cpu)
{
	double t0 = now_s(), c0 = cpu_s();
	rk_status st;
	size_t i;

	for (i = 0; i < m; i++)
		if (rk_find_one(reg, &pp[pick[i]], ids[pick[i]]))
			return -1;
	/* The queued audit entries are part of the cost of the reads. */
	st = rk_register_flush(reg);
	if (st != RK_OK)
		return rk_fail("rk_register_flush", st, reg);
	*secs = now_s() - t0;
	*cpu = cpu_s() - c0;
	return 0;
}

/* Whether the policy gives customer_number a blind index (so the raw
 * baseline writes the same lookup rows). */
static int rk_cn_is_lookup(rk_register *reg, int *out)
{
	rk_list *l = NULL;
	rk_status st = rk_subject_find(reg, "customer_number", "1", NULL, &l);

	rk_list_free(l);
	if (st == RK_OK || st == RK_ENOTFOUND) {
		*out = 1;
		return 0;
	}
	if (st == RK_EINVAL) {
		*out = 0;
		return 0;
	}
	return rk_fail("rk_subject_find (customer_number probe)", st, reg);
}

/* ---- report ---------------------------------------------------------------
 */

static void report(const char *name, double ours, double raw, double target)
{
	double ratio = raw > 0 ? 100.0 * ours / raw : 0.0;

	printf("%-34s rekisteri %.0f/s  raw sqlite %.0f/s  ratio %.1f%%  "
	       "(target >= %.0f%%: %s)\n",
	       name, ours, raw, ratio, target,
	       ratio >= target ? "meets" : "below");
}

/* The same ratio by this thread's CPU time (its system calls included,
 * its waits for the disk not): steadier than the wall-clock rate on a
 * machine whose disk other processes keep busy. Not held to the target. */
static void report_cpu(double ours, double raw, size_t n)
{
	printf("  by CPU time: ratio %.1f%% (rekisteri %.1f us, raw sqlite "
	       "%.1f us per subject)\n",
	       ours > 0 ? 100.0 * raw / ours : 0.0, 1e6 * ours / (double)n,
	       1e6 * raw / (double)n);
}

static long long file_size(const char *dir, const char *name)
{
	char path[PATH_MAX_LEN];
	struct stat sb;

	if (join_path(path, sizeof path, dir, name) || stat(path, &sb) != 0)
		return -1;
	return (long long)sb.st_size;
}

static void print_size(const char *dir, const char *name)
{
	char wal[256];
	long long sz = file_size(dir, name), wsz;

	snprintf(wal, sizeof wal, "%s-wal", name);
	wsz = file_size(dir, wal);
	printf("size %-22s %lld bytes (%.1f MiB)", name, sz,
	       (double)sz / 1048576.0);
	if (wsz > 0)
		printf("  + wal %lld bytes", wsz);
	printf("\n");
}

/* Row counts of every table, to show that both sides hold the same rows. */
static void print_rows(const char *dir, const char *name)
{
	char path[PATH_MAX_LEN];
	sqlite3 *db = NULL;
	sqlite3_stmt *tabs = NULL;

	if (join_path(path, sizeof path, dir, name))
		return;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT name FROM sqlite_schema WHERE type = "
			       "'table' AND name NOT LIKE 'sqlite_%'"
			       " ORDER BY name",
			       -1, &tabs, NULL) != SQLITE_OK) {
		printf("rows %-22s (cannot read: %s)\n", name,
		       db != NULL ? sqlite3_errmsg(db) : "open");
		goto out;
	}
	printf("rows %-22s", name);
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tabs, 0);
		char *sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", t);
		sqlite3_stmt *cnt = NULL;

		if (sql != NULL &&
		    sqlite3_prepare_v2(db, sql, -1, &cnt, NULL) == SQLITE_OK &&
		    sqlite3_step(cnt) == SQLITE_ROW)
			printf(" %s=%lld", t,
			       (long long)sqlite3_column_int64(cnt, 0));
		sqlite3_finalize(cnt);
		sqlite3_free(sql);
	}
	printf("\n");
out:
	sqlite3_finalize(tabs);
	sqlite3_close(db);
}

/* Removes the files of dir whose names start with prefix ("" for all):
 * an earlier round's database, its log, its key file and whatever else the
 * register keeps beside it under that name. */
static void remove_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX_LEN];
	size_t n = strlen(prefix);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    strncmp(e->d_name, prefix, n) != 0)
			continue;
		if (join_path(path, sizeof path, dir, e->d_name) == 0 &&
		    unlink(path) != 0)
			fprintf(stderr, "%s: cannot remove %s: %s\n", PROG,
				path, strerror(errno));
	}
	closedir(d);
}

static void remove_dir(const char *dir)
{
	remove_prefix(dir, "");
	if (rmdir(dir) != 0)
		fprintf(stderr, "%s: cannot remove %s: %s\n", PROG, dir,
			strerror(errno));
}

/* Sorts a few doubles in place (insertion sort: at most 99 rounds). */
static void sort_few(double *v, long n)
{
	for (long j = 1; j < n; j++)
		for (long a = j; a > 0 && v[a - 1] > v[a]; a--) {
			double t = v[a];
			v[a] = v[a - 1];
			v[a - 1] = t;
		}
}

/* One insert phase, one commit per subject or bulk, R times: each round
 * inserts everyone into new files on both sides, the side that goes first
 * alternating, so that the disk's and the machine's swings fall on both.
 * The last round's files stay (the bulk ones stay open for the look-ups);
 * the earlier rounds' are removed. Prints each round when R > 1 and the
 * medians; returns the median round's times through t_raw and t_rk. */
static int insert_rounds(const char *dir, const char *policy, const person *pp,
			 size_t n, int bulk, int cn_lookup, long rounds,
			 char (*ids)[RK_ID_LEN + 1], raw_db *raw_keep,
			 rk_register **reg_keep, double *t_raw, double *t_rk,
			 double *c_raw, double *c_rk)
{
	const char *tag = bulk ? "bulk" : "per-commit";
	double ratios[99] = {0}, cratios[99] = {0}, tr[99] = {0}, to[99] = {0},
	       cr[99] = {0}, co[99] = {0};
	char rawn[64], rkn[64], keyn[64], rawp[PATH_MAX_LEN];
	long j, med = 0;

	for (j = 0; j < rounds; j++) {
		int last = j == rounds - 1, side;
		raw_db raw;
		rk_register *reg = NULL;

		memset(&raw, 0, sizeof raw);
		if (last) {
			snprintf(rawn, sizeof rawn, "raw-%s.db", tag);
			snprintf(rkn, sizeof rkn, "rk-%s.db", tag);
			snprintf(keyn, sizeof keyn, "rk-%s.key", tag);
		} else {
			snprintf(rawn, sizeof rawn, "round%ld-raw-%s.db", j,
				 tag);
			snprintf(rkn, sizeof rkn, "round%ld-rk-%s.db", j, tag);
			snprintf(keyn, sizeof keyn, "round%ld-rk-%s.key", j,
				 tag);
		}
		for (side = 0; side < 2; side++) {
			if ((side == 0) == (j % 2 == 0)) {
				if (join_path(rawp, sizeof rawp, dir, rawn) ||
				    raw_open(&raw, rawp) ||
				    raw_insert_all(&raw, pp, n, bulk, cn_lookup,
						   &tr[j], &cr[j])) {
					raw_close(&raw);
					rk_register_close(reg);
					return -1;
				}
			} else if (rk_open_new(dir, rkn, keyn, policy, &reg) ||
				   rk_insert_all(reg, pp, n, bulk, ids, &to[j],
						 &co[j])) {
				raw_close(&raw);
				rk_register_close(reg);
				return -1;
			}
		}
		if (last && bulk) {
			*raw_keep = raw;
			*reg_keep = reg;
		} else {
			raw_close(&raw);
			rk_register_close(reg);
		}
		if (!last) {
			snprintf(rawn, sizeof rawn, "round%ld-", j);
			remove_prefix(dir, rawn);
		}
		ratios[j] = tr[j] / to[j];
		cratios[j] = co[j] > 0 ? cr[j] / co[j] : 0;
		if (rounds > 1) {
			printf("  round %ld: %s insert ratio %.1f%% (by CPU "
			       "time %.1f%%: %.1f us vs raw %.1f us)\n",
			       j + 1, tag, 100.0 * ratios[j],
			       100.0 * cratios[j], 1e6 * co[j] / (double)n,
			       1e6 * cr[j] / (double)n);
			fflush(stdout);
		}
	}
	/* the round whose wall-clock ratio is the median */
	{
		double sorted[99];

		memcpy(sorted, ratios, (size_t)rounds * sizeof *sorted);
		sort_few(sorted, rounds);
		for (j = 0; j < rounds; j++)
			if (ratios[j] == sorted[rounds / 2])
				med = j;
		sort_few(cratios, rounds);
		if (rounds > 1)
			printf("  median by CPU time: %s insert ratio "
			       "%.1f%%\n",
			       tag, 100.0 * cratios[rounds / 2]);
	}
	*t_raw = tr[med];
	*t_rk = to[med];
	*c_raw = cr[med];
	*c_rk = co[med];
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--n N] [--dir DIR] [--policy PATH] [--keep]\n"
		"  --n N        subjects to add (default %ld, at most %ld)\n"
		"  --dir DIR    make the scratch directory under DIR "
		"(default /tmp)\n"
		"  --policy P   policy file (default %s)\n"
		"  --keep       keep the scratch directory\n"
		"  --rounds R   measure each insert phase and the look-ups R "
		"times,\n"
		"               alternating with the raw baseline, and print "
		"each\n"
		"               ratio and the median (default 1)\n"
		"  --skip-commit  leave out the one-commit-per-subject "
		"insert\n",
		PROG, DEFAULT_N, MAX_N,
		RK_SOURCE_DIR "/policies/ocr-factory.json");
}

/* ---- main -----------------------------------------------------------------
 */

int main(int argc, char **argv)
{
	const char *policy = RK_SOURCE_DIR "/policies/ocr-factory.json";
	const char *parent = "/tmp";
	char dir[PATH_MAX_LEN] = "";
	long nl = DEFAULT_N;
	int keep = 0, rc = 1, cn_lookup = 0, made_dir = 0, skip_commit = 0, i;
	long rounds = 1;
	size_t n, m, k, warm;
	person *pp = NULL;
	size_t *pick = NULL, *wpick = NULL;
	char(*ids_a)[RK_ID_LEN + 1] = NULL;
	char(*ids_b)[RK_ID_LEN + 1] = NULL;
	rk_register *reg = NULL;
	raw_db raw_b;
	double t_ra = 0, t_rb = 0, t_oa = 0, t_ob = 0;
	double c_ra = 0, c_rb = 0, c_oa = 0, c_ob = 0;
	double t_rf = 0, t_of64 = 0, t_of1 = 0, t0;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	rk_status st;

	memset(&raw_b, 0, sizeof raw_b);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, MAX_N, &nl)) {
				fprintf(stderr,
					"%s: --n wants a number from 1 to "
					"%ld\n",
					PROG, MAX_N);
				return 2;
			}
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			parent = argv[++i];
		} else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
			policy = argv[++i];
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 99, &rounds)) {
				fprintf(stderr, "%s: --rounds wants 1 to 99\n",
					PROG);
				return 2;
			}
		} else if (strcmp(argv[i], "--skip-commit") == 0) {
			skip_commit = 1;
		} else if (strcmp(argv[i], "--keep") == 0) {
			keep = 1;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	n = (size_t)nl;
	m = n < (size_t)LOOKUP_MAX ? n : (size_t)LOOKUP_MAX;
	warm = m < (size_t)WARMUP ? m : (size_t)WARMUP;

	if (join_path(dir, sizeof dir, parent, "rk-bench-XXXXXX"))
		return 1;
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", PROG, dir,
			strerror(errno));
		return 1;
	}
	made_dir = 1;

	printf("%s: rekisteri %s, sqlite %s\n", PROG, rk_version(),
	       sqlite3_libversion());
	printf("N %zu  lookups M %zu  nproc %ld\n", n, m, nproc);
	printf("dir %s\npolicy %s\n", dir, policy);
	fflush(stdout);

	pp = make_people(n);
	pick = calloc(m > 0 ? m : 1, sizeof *pick);
	wpick = calloc(warm > 0 ? warm : 1, sizeof *wpick);
	ids_a = calloc(n, sizeof *ids_a);
	ids_b = calloc(n, sizeof *ids_b);
	if (pp == NULL || pick == NULL || wpick == NULL || ids_a == NULL ||
	    ids_b == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		goto out;
	}
	/* M distinct subjects in random order (partial Fisher-Yates), and
	 * a separate random sample for the warm-up. */
	{
		size_t *perm = malloc(n * sizeof *perm);
		if (perm == NULL) {
			fprintf(stderr, "%s: out of memory\n", PROG);
			goto out;
		}
		for (k = 0; k < n; k++)
			perm[k] = k;
		for (k = 0; k < m; k++) {
			size_t j = k + rng_below(n - k), t = perm[k];
			perm[k] = perm[j];
			perm[j] = t;
			pick[k] = perm[k];
		}
		free(perm);
		for (k = 0; k < warm; k++)
			wpick[k] = rng_below(n);
	}

	/* Whether the raw baseline needs customer_number lookup rows. */
	if (rk_open_new(dir, "probe.db", "probe.key", policy, &reg) ||
	    rk_cn_is_lookup(reg, &cn_lookup))
		goto out;
	rk_register_close(reg);
	reg = NULL;

	/* (a) one commit per subject. */
	if (!skip_commit) {
		if (insert_rounds(dir, policy, pp, n, 0, cn_lookup, rounds,
				  ids_a, NULL, NULL, &t_ra, &t_oa, &c_ra,
				  &c_oa))
			goto out;
		report("insert, one commit per subject:", (double)n / t_oa,
		       (double)n / t_ra, TARGET_COMMIT);
		report_cpu(c_oa, c_ra, n);
		fflush(stdout);
	}

	/* (b) bulk: everything in one transaction. */
	if (insert_rounds(dir, policy, pp, n, 1, cn_lookup, rounds, ids_b,
			  &raw_b, &reg, &t_rb, &t_ob, &c_rb, &c_ob))
		goto out;
	report("insert, bulk (one transaction):", (double)n / t_ob,
	       (double)n / t_rb, TARGET_INSERT);
	report_cpu(c_ob, c_rb, n);
	fflush(stdout);

	/* Lookups by e-mail on the bulk-loaded databases; a short untimed
	 * warm-up first on both sides so neither pays for a cold cache. */
	for (k = 0; k < warm; k++)
		if (raw_find(&raw_b, &pp[wpick[k]]) ||
		    rk_find_one(reg, &pp[wpick[k]], ids_b[wpick[k]]))
			goto out;
	st = rk_register_flush(reg);
	if (st != RK_OK) {
		rk_fail("rk_register_flush", st, reg);
		goto out;
	}
	rk_register_set_audit_batch(reg, 64);
	/* Rounds alternate the two sides so a change in the machine's load
	 * falls on both; the figure is the median ratio. */
	{
		double ratios[99], cratios[99], rf, of, rcpu, oc;
		long j, a;
		for (j = 0; j < rounds; j++) {
			if (raw_find_all(&raw_b, pp, pick, m, &rf, &rcpu) ||
			    rk_find_all(reg, pp, ids_b, pick, m, &of, &oc))
				goto out;
			ratios[j] = rf / of;
			cratios[j] = oc > 0 ? rcpu / oc : 0;
			if (rounds > 1)
				printf("  round %ld: lookup ratio %.1f%% (by "
				       "CPU "
				       "time %.1f%%: %.2f us vs raw %.2f us)\n",
				       j + 1, 100.0 * ratios[j],
				       100.0 * cratios[j], 1e6 * oc / (double)m,
				       1e6 * rcpu / (double)m);
			/* insertion sort: few rounds */
			for (a = j; a > 0 && ratios[a - 1] > ratios[a]; a--) {
				double t = ratios[a];
				ratios[a] = ratios[a - 1];
				ratios[a - 1] = t;
			}
			for (a = j; a > 0 && cratios[a - 1] > cratios[a]; a--) {
				double t = cratios[a];
				cratios[a] = cratios[a - 1];
				cratios[a - 1] = t;
			}
			if (j == 0 || rounds == 1) {
				t_rf = rf;
				t_of64 = of;
			}
		}
		if (rounds > 1) {
			/* the median round's ratio, on the first round's
			 * raw rate */
			t_of64 = t_rf / ratios[rounds / 2];
			printf("  median by CPU time: lookup ratio %.1f%%\n",
			       100.0 * cratios[rounds / 2]);
		}
	}
	report("lookup by email, audit batch 64:", (double)m / t_of64,
	       (double)m / t_rf, TARGET_LOOKUP);
	fflush(stdout);
	rk_register_set_audit_batch(reg, 1);
	if (rk_find_all(reg, pp, ids_b, pick, m, &t_of1, &t0))
		goto out;
	/* The target is for look-ups with audit batching; batch 1 (each
	 * read's entry committed before the answer) is shown beside it. */
	printf("%-34s rekisteri %.0f/s  raw sqlite %.0f/s  ratio %.1f%%  "
	       "(no target: for comparison)\n",
	       "lookup by email, audit batch 1:", (double)m / t_of1,
	       (double)m / t_rf, 100.0 * t_rf / t_of1);

	t0 = now_s();
	rk_register_close(reg);
	reg = NULL;
	raw_close(&raw_b);
	printf("time insert per commit: rekisteri %.2f s  raw %.2f s\n", t_oa,
	       t_ra);
	printf("time insert bulk:       rekisteri %.2f s  raw %.2f s\n", t_ob,
	       t_rb);
	printf("time lookup:            rekisteri %.2f s (batch 64) %.2f s "
	       "(batch 1)  raw %.2f s\n",
	       t_of64, t_of1, t_rf);
	printf("time close:             %.2f s\n", now_s() - t0);
	print_size(dir, "rk-per-commit.db");
	print_size(dir, "raw-per-commit.db");
	print_size(dir, "rk-bulk.db");
	print_size(dir, "raw-bulk.db");
	{
		long long ours = file_size(dir, "rk-bulk.db"),
			  raw = file_size(dir, "raw-bulk.db");
		if (ours > 0 && raw > 0)
			printf("size ratio (bulk files): rekisteri %.2fx raw "
			       "sqlite\n",
			       (double)ours / (double)raw);
	}
	print_rows(dir, "rk-per-commit.db");
	print_rows(dir, "raw-per-commit.db");
	print_rows(dir, "rk-bulk.db");
	print_rows(dir, "raw-bulk.db");
	rc = 0;
out:
	rk_register_close(reg);
	raw_close(&raw_b);
	if (made_dir) {
		if (keep)
			printf("kept %s\n", dir);
		else
			remove_dir(dir);
	}
	free(pp);
	free(pick);
	free(wpick);
	free(ids_a);
	free(ids_b);
	return rc;
}
