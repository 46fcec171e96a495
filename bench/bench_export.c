/*
 * bench_export.c: the access report of one subject against reading the
 * same rows from SQLite without decryption, in the same run on the same
 * file.
 *
 * Builds a register with one customer who has every basic field of the
 * example policy, a consent ledger and N relationship records (default
 * 1,000) of several types, then measures:
 *   - rk_export_json: the whole report (decryption, MAC checks of every
 *     row, the document, its one audit entry committed: read audit batch
 *     1, as the command line runs it), the median of R runs;
 *   - the baseline: a raw SELECT of the same subject, value, record and
 *     consent rows (ciphertext and every column) through a plain sqlite3
 *     connection, the median of R runs.
 * Prints both, their ratio and the goal (under 50 ms for the report).
 * Times are never asserted; a functional failure exits 1.
 *
 * Usage: bench_export [--records N] [--runs R] [--dir DIR] [--policy PATH]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rekisteri.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif

#define PROG	     "bench_export"
#define DEFAULT_N    1000L
#define MAX_N	     100000L
#define DEFAULT_RUNS 9L
#define MAX_RUNS     101L
#define GOAL_MS	     50.0
#define PATH_CAP     4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int rk_fail(const char *call, rk_status st, const rk_register *reg)
{
	fprintf(stderr, PROG ": %s: %s: %s\n", call, rk_status_name(st),
		reg != NULL ? rk_errmsg(reg) : "");
	return 1;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static const char *const fields[][2] = {
	{"first_name", "Maija"},
	{"last_name", "Meikäläinen"},
	{"email", "maija@example.com"},
	{"email", "m.meikalainen@example.com"},
	{"phone", "040 123 4567"},
	{"street_address", "Esimerkkikatu 1 A 2"},
	{"postal_code", "00100"},
	{"city", "Helsinki"},
	{"country", "FI"},
	{"gender", "female"},
	{"birth_date", "1952-10-13"},
	{"hetu", "131052-308T"},
	{"organization", "Esimerkki Oy"},
	{"business_id", "3154631-3"},
	{"job_title", "Ostopäällikkö"},
	{"username", "maija"},
};

/* The i-th record: one of several types, each with its purpose. */
static void record_of(long i, char *json, size_t cap, const char **type,
		      const char **purpose)
{
	switch (i % 6) {
	case 0:
		*type = "purchase";
		*purpose = NULL;
		snprintf(json, cap,
			 "{\"product\": \"Skanneri %ld\", \"quantity\": %ld, "
			 "\"amount\": \"%ld.90\", \"currency\": \"EUR\", "
			 "\"order_number\": \"T-%ld\", \"warranty_until\": "
			 "\"2028-12-01\"}",
			 i, 1 + i % 3, 10 + i % 500, i);
		break;
	case 1:
		*type = "payment";
		*purpose = NULL;
		snprintf(json, cap,
			 "{\"amount\": \"%ld.90\", \"currency\": \"EUR\", "
			 "\"method\": \"card\", \"invoice_number\": \"L-%ld\", "
			 "\"status\": \"paid\", \"card_token\": \"tok_%06ld\", "
			 "\"card_brand\": \"visa\", \"card_last4\": \"4242\", "
			 "\"card_expiry\": \"12/29\"}",
			 10 + i % 500, i, i);
		break;
	case 2:
		*type = "product_use";
		*purpose = NULL;
		snprintf(json, cap,
			 "{\"product\": \"Skanneri\", \"feature\": \"OCR "
			 "%ld\", \"at\": \"2025-01-%02ldT12:00:00Z\"}",
			 i, 1 + i % 28);
		break;
	case 3:
		*type = "feedback";
		*purpose = NULL;
		snprintf(json, cap,
			 "{\"kind\": \"feedback\", \"text\": \"Palaute numero "
			 "%ld: tuote toimi hyvin, kiitos.\\nToinen rivi.\"}",
			 i);
		break;
	case 4:
		*type = "event";
		*purpose = NULL;
		snprintf(json, cap,
			 "{\"event\": \"Koulutus %ld\", \"date\": "
			 "\"2025-02-%02ld\", \"kind\": \"training\"}",
			 i, 1 + i % 28);
		break;
	default:
		*type = "location";
		*purpose = "products_services";
		snprintf(json, cap,
			 "{\"latitude\": \"60.%04ld\", \"longitude\": "
			 "\"24.%04ld\", \"recorded_at\": "
			 "\"2025-01-31T12:00:00Z\"}",
			 i % 10000, (i * 7) % 10000);
		break;
	}
}

static int build(rk_register *reg, long n, char id[RK_ID_LEN + 1])
{
	rk_fields *f = rk_fields_new();
	char json[512];
	const char *type, *purpose;
	int64_t rid;
	rk_status st;
	size_t i;

	if (f == NULL)
		return 1;
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (rk_fields_add(f, fields[i][0], fields[i][1]) != RK_OK) {
			rk_fields_free(f);
			return 1;
		}
	st = rk_subject_add(reg, "customer", f, NULL, NULL, id);
	rk_fields_free(f);
	if (st != RK_OK)
		return rk_fail("rk_subject_add", st, reg);
	st = rk_consent_set(reg, id, "location", 1, "web", "bench");
	if (st == RK_OK)
		st = rk_consent_set(reg, id, "email_marketing", 1, "web", NULL);
	if (st == RK_OK)
		st = rk_consent_set(reg, id, "email_marketing", 0, "phone",
				    NULL);
	if (st != RK_OK)
		return rk_fail("rk_consent_set", st, reg);
	st = rk_register_begin(reg);
	if (st != RK_OK)
		return rk_fail("rk_register_begin", st, reg);
	for (long k = 0; k < n; k++) {
		record_of(k, json, sizeof json, &type, &purpose);
		st = rk_record_add(reg, id, type, json, NULL, NULL, purpose,
				   &rid);
		if (st != RK_OK) {
			rk_register_rollback(reg);
			return rk_fail("rk_record_add", st, reg);
		}
	}
	st = rk_register_commit(reg);
	if (st != RK_OK)
		return rk_fail("rk_register_commit", st, reg);
	return 0;
}

/* Every column of the subject's rows, as the export reads them, without
 * decryption; returns the bytes touched (so nothing is optimised out), or
 * -1. */
static long long raw_read(sqlite3 *db, const char *id)
{
	static const char *const sql[] = {
		"SELECT id, kind, pseudonym, wrapped_key, created_at, "
		"rel_start, rel_end FROM subject WHERE id = ?1",
		"SELECT id, field, ciphertext, purposes, legal_basis, source, "
		"collected_at, confirmed_at, expires_at, bidx FROM value "
		"WHERE subject_id = ?1 ORDER BY id",
		"SELECT id, type, ciphertext, purposes, legal_basis, source, "
		"created_at, expires_at, attachment_size, attachment_type "
		"FROM record WHERE subject_id = ?1 ORDER BY id",
		"SELECT id, scope, objection, given, at, channel, "
		"policy_version, actor, evidence FROM consent WHERE "
		"subject_id = ?1 ORDER BY id",
	};
	long long bytes = 0;
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	for (size_t q = 0; q < sizeof sql / sizeof sql[0]; q++) {
		if (sqlite3_prepare_v2(db, sql[q], -1, &s, NULL) != SQLITE_OK ||
		    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) !=
			    SQLITE_OK) {
			sqlite3_finalize(s);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			for (int c = 0; c < sqlite3_column_count(s); c++) {
				(void)sqlite3_column_blob(s, c);
				bytes += sqlite3_column_bytes(s, c);
			}
		sqlite3_finalize(s);
		s = NULL;
		if (rc != SQLITE_DONE) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return bytes;
}

int main(int argc, char **argv)
{
	const char *dir = ".",
		   *policy = RK_SOURCE_DIR "/policies/ocr-factory.json";
	char db[PATH_CAP], key[PATH_CAP], id[RK_ID_LEN + 1];
	long n = DEFAULT_N, runs = DEFAULT_RUNS;
	double *t_exp = NULL, *t_raw = NULL, t0, me, mr;
	rk_register *reg = NULL;
	sqlite3 *raw = NULL;
	char *doc = NULL;
	size_t doc_len = 0;
	long long bytes = 0;
	rk_status st;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, MAX_N, &n) != 0)
				goto usage;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, MAX_RUNS, &runs) != 0)
				goto usage;
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
			policy = argv[++i];
		} else {
			goto usage;
		}
	}
	if (snprintf(db, sizeof db, "%s/bench-export.db", dir) >=
		    (int)sizeof db ||
	    snprintf(key, sizeof key, "%s/bench-export.db.key", dir) >=
		    (int)sizeof key)
		goto usage;
	/* a fresh register each run */
	unlink(db);
	unlink(key);
	{
		char side[PATH_CAP + 8];
		snprintf(side, sizeof side, "%s-wal", db);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", db);
		unlink(side);
	}
	t_exp = calloc((size_t)runs, sizeof *t_exp);
	t_raw = calloc((size_t)runs, sizeof *t_raw);
	if (t_exp == NULL || t_raw == NULL)
		goto out;
	st = rk_register_init(db, key, policy, &reg);
	if (st != RK_OK) {
		rk_fail("rk_register_init", st, reg);
		goto out;
	}
	t0 = now_s();
	if (build(reg, n, id) != 0)
		goto out;
	printf("setup: 1 subject, %zu values, %ld records, 3 ledger entries "
	       "in %.2f s\n",
	       sizeof fields / sizeof fields[0] + 1, n, now_s() - t0);
	/* every read commits its audit entry, as the command line does */
	rk_register_set_audit_batch(reg, 1);
	if (sqlite3_open_v2(db, &raw, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, PROG ": cannot open the database\n");
		goto out;
	}
	sqlite3_busy_timeout(raw, 5000);
	/* one warm-up of each, so both read from a warm page cache */
	st = rk_export_json(reg, id, "fi", &doc);
	if (st != RK_OK) {
		rk_fail("rk_export_json", st, reg);
		goto out;
	}
	doc_len = strlen(doc);
	rk_free_secret(doc);
	doc = NULL;
	if (raw_read(raw, id) < 0)
		goto out;
	for (long r = 0; r < runs; r++) {
		t0 = now_s();
		st = rk_export_json(reg, id, "fi", &doc);
		t_exp[r] = now_s() - t0;
		if (st != RK_OK) {
			rk_fail("rk_export_json", st, reg);
			goto out;
		}
		if (strlen(doc) != doc_len) {
			fprintf(stderr, PROG ": the export changed between "
					     "runs\n");
			goto out;
		}
		rk_free_secret(doc);
		doc = NULL;
		t0 = now_s();
		bytes = raw_read(raw, id);
		t_raw[r] = now_s() - t0;
		if (bytes < 0) {
			fprintf(stderr, PROG ": raw read failed: %s\n",
				sqlite3_errmsg(raw));
			goto out;
		}
	}
	me = median(t_exp, (size_t)runs) * 1e3;
	mr = median(t_raw, (size_t)runs) * 1e3;
	printf("export (JSON, %zu bytes): median %.2f ms of %ld runs "
	       "(goal < %.0f ms: %s)\n",
	       doc_len, me, runs, GOAL_MS, me < GOAL_MS ? "met" : "NOT met");
	printf("raw SELECT of the same rows (%lld bytes, no decryption): "
	       "median %.3f ms\n",
	       bytes, mr);
	printf("ratio export / raw: %.1fx\n", mr > 0 ? me / mr : 0.0);
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: " PROG " [--records N] [--runs R] [--dir DIR] "
			"[--policy PATH]\n");
	rc = 2;
out:
	rk_free_secret(doc);
	sqlite3_close(raw);
	rk_register_close(reg);
	free(t_exp);
	free(t_raw);
	return rc;
}
