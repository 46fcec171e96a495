/*
 * bench_retention.c: the cost of a retention run follows what expired,
 * not the size of the register.
 *
 * Builds two registers, a small one (default 100,000 subjects) and a large
 * one (default 1,000,000), with the SAME expiring set: E prospects
 * (default 5,000) collected on day 0, whose data expires six months later.
 * The other subjects are customers whose data does not expire, and one in
 * four a prospect collected later, whose expiry is in the index but after
 * the run's date (so the index holds far more than what expired). Each
 * register is built with the bulk API (rk_register_begin/commit every
 * 10,000 subjects). Then on each, as of the day after the six months:
 *   - a dry run (reads and counts what would go),
 *   - the real run (deletes, re-MACs, audits, checkpoints).
 * Prints the times of both on each register, and the large/small ratio of
 * each (target: at most 1.5). Times are never asserted; a functional
 * failure (an API error, a wrong count) exits 1.
 *
 * Usage: bench_retention [--small N] [--large N] [--expiring E]
 *                        [--dir DIR] [--policy PATH] [--keep]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rekisteri.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif

#define PROG	  "bench_retention"
#define PATH_CAP  4096
#define BULK	  10000L
#define T0	  ((int64_t)1709294400) /* 2024-03-01T12:00:00Z */
#define DAY	  ((int64_t)86400)
#define AS_OF	  "2024-09-02" /* the day after six months */
#define TARGET	  1.5
#define MAX_N	  5000000L
#define DEFAULT_S 100000L
#define DEFAULT_L 1000000L
#define DEFAULT_E 5000L

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static int add(rk_register *reg, const char *kind, long i)
{
	char id[RK_ID_LEN + 1], email[64], last[32];
	rk_fields *f = rk_fields_new();
	rk_status st;

	if (f == NULL)
		return rk_fail("rk_fields_new", RK_ESYS, NULL);
	snprintf(email, sizeof email, "bench%ld@example.com", i);
	snprintf(last, sizeof last, "Sukunimi%ld", i);
	if (rk_fields_add(f, "email", email) != RK_OK ||
	    (strcmp(kind, "customer") == 0 &&
	     rk_fields_add(f, "last_name", last) != RK_OK)) {
		rk_fields_free(f);
		return rk_fail("rk_fields_add", RK_ESYS, NULL);
	}
	st = rk_subject_add(reg, kind, f, NULL, NULL, id);
	rk_fields_free(f);
	return st == RK_OK ? 0 : rk_fail("rk_subject_add", st, reg);
}

/* n subjects: the first e expire, then customers with every fourth a
 * later prospect. */
static int build(rk_register *reg, long n, long e)
{
	rk_status st;
	int late = 0;

	rk_register_set_clock(reg, T0);
	for (long i = 0; i < n; i++) {
		if (i % BULK == 0 && (st = rk_register_begin(reg)) != RK_OK)
			return rk_fail("rk_register_begin", st, reg);
		if (i >= e && !late) {
			/* collected 100 days on: expires after AS_OF */
			rk_register_set_clock(reg, T0 + 100 * DAY);
			late = 1;
		}
		if (add(reg,
			i < e	     ? "prospect"
			: i % 4 == 0 ? "prospect"
				     : "customer",
			i) != 0)
			return 1;
		if ((i + 1) % BULK == 0 || i + 1 == n) {
			if ((st = rk_register_commit(reg)) != RK_OK)
				return rk_fail("rk_register_commit", st, reg);
			if ((i + 1) % 100000 == 0 || i + 1 == n) {
				fprintf(stderr, "\r  built %ld/%ld", i + 1, n);
				fflush(stderr);
			}
		}
	}
	fputc('\n', stderr);
	rk_register_set_clock(reg, T0 + 185 * DAY);
	return 0;
}

static long long deleted_subjects(const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	long long n = -1;

	if (j != NULL)
		n = (long long)json_integer_value(json_object_get(
			json_object_get(j, "subjects"), "deleted"));
	json_decref(j);
	return n;
}

static int timed_run(rk_register *reg, unsigned flags, long e, double *secs)
{
	char *out = NULL;
	double t = now_s();
	rk_status st = rk_retention_run(reg, AS_OF, flags, NULL, NULL, &out);
	long long n;

	*secs = now_s() - t;
	if (st != RK_OK)
		return rk_fail("rk_retention_run", st, reg);
	n = deleted_subjects(out);
	rk_free_secret(out);
	if (n != e) {
		fprintf(stderr, PROG ": %lld subjects went, wanted %ld\n", n,
			e);
		return 1;
	}
	return 0;
}

struct result {
	double build, dry, run;
};

static int one(const char *dir, const char *policy, long n, long e, int keep,
	       struct result *res)
{
	char db[PATH_CAP], key[PATH_CAP], path[PATH_CAP + 8];
	rk_register *reg = NULL;
	rk_status st;
	double t;
	int rc = 1;

	snprintf(db, sizeof db, "%s/retention-%ld.db", dir, n);
	snprintf(key, sizeof key, "%s/retention-%ld.key", dir, n);
	unlink(db);
	unlink(key);
	st = rk_register_init(db, key, policy, &reg);
	if (st != RK_OK)
		return rk_fail("rk_register_init", st, reg);
	fprintf(stderr, "building %ld subjects (%ld expiring)\n", n, e);
	t = now_s();
	if (build(reg, n, e) != 0)
		goto out;
	res->build = now_s() - t;
	/* The file as the run finds it: no WAL left from the build. */
	rk_register_close(reg);
	reg = NULL;
	st = rk_register_open(db, key, &reg);
	if (st != RK_OK) {
		rk_fail("rk_register_open", st, reg);
		goto out;
	}
	rk_register_set_clock(reg, T0 + 185 * DAY);
	if (timed_run(reg, RK_RETENTION_DRY_RUN, e, &res->dry) != 0 ||
	    timed_run(reg, 0, e, &res->run) != 0)
		goto out;
	rc = 0;
out:
	rk_register_close(reg);
	if (!keep) {
		unlink(db);
		unlink(key);
		snprintf(path, sizeof path, "%s-wal", db);
		unlink(path);
		snprintf(path, sizeof path, "%s-shm", db);
		unlink(path);
	}
	return rc;
}

int main(int argc, char **argv)
{
	long small = DEFAULT_S, large = DEFAULT_L, e = DEFAULT_E;
	const char *dir = ".",
		   *policy = RK_SOURCE_DIR "/policies/ocr-factory.json";
	struct result rs, rl;
	int keep = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--keep") == 0) {
			keep = 1;
			continue;
		}
		if (v == NULL)
			goto usage;
		i++;
		if (strcmp(a, "--small") == 0) {
			if (parse_long(v, 1, MAX_N, &small) != 0)
				goto usage;
		} else if (strcmp(a, "--large") == 0) {
			if (parse_long(v, 1, MAX_N, &large) != 0)
				goto usage;
		} else if (strcmp(a, "--expiring") == 0) {
			if (parse_long(v, 1, MAX_N, &e) != 0)
				goto usage;
		} else if (strcmp(a, "--dir") == 0) {
			dir = v;
		} else if (strcmp(a, "--policy") == 0) {
			policy = v;
		} else {
			goto usage;
		}
	}
	if (e > small || small > large)
		goto usage;
	memset(&rs, 0, sizeof rs);
	memset(&rl, 0, sizeof rl);
	if (one(dir, policy, small, e, keep, &rs) != 0 ||
	    one(dir, policy, large, e, keep, &rl) != 0)
		return 1;
	printf("retention run, %ld expiring subjects, as of %s\n", e, AS_OF);
	printf("  %8ld subjects: build %.1f s, dry run %.3f s, run %.3f s\n",
	       small, rs.build, rs.dry, rs.run);
	printf("  %8ld subjects: build %.1f s, dry run %.3f s, run %.3f s\n",
	       large, rl.build, rl.dry, rl.run);
	printf("  ratio large/small: dry run %.2f, run %.2f (target <= %.1f)"
	       "\n",
	       rl.dry / rs.dry, rl.run / rs.run, TARGET);
	return 0;
usage:
	fprintf(stderr,
		"usage: " PROG " [--small N] [--large N] [--expiring E] "
		"[--dir DIR] [--policy PATH] [--keep]\n"
		"  E <= small <= large <= %ld\n",
		MAX_N);
	return 2;
}
