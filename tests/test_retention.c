/*
 * test_retention.c: the retention run, the review list and confirmation
 * through the public API on real SQLite files with the seed policy, the
 * clock moved with rk_register_set_clock and the run's as_of. Prospects go
 * six months after collection, KYC data five years after the relationship
 * ends, relationship data, browsing and location at its end, vouchers six
 * years from the end of the year in which the financial year ended (a
 * voucher held after an erasure too), and nothing a day earlier; what goes
 * leaves no ciphertext in the file or its WAL; the trail and the rows
 * verify after every run; a dry run changes nothing; the report holds no
 * value; a run killed between batches is run again and finishes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "rekisteri.h"

#include "fixture.h"
#define PATH_CAP 4096
#define MARK	 "RKMARK-retention-5d21e9"
/* 2024-03-01T12:00:00Z */
#define T0  ((int64_t)1709294400)
#define DAY ((int64_t)86400)

/* Browsing and location serve the products and services, not the
 * relationship itself. */
static int setup_policy(void **state, const char *policy)
{
	struct fx *f = fx_open_policy("retention", policy);

	rk_register_set_clock(f->r, T0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_policy(state, NULL);
}

static void add_subject(rk_register *r, const char *kind, const char *email,
			char id[RK_ID_LEN + 1])
{
	fx_subject(r, kind, id, "first_name", MARK, "last_name", "Sailyttaja",
		   "email", email,
		   strcmp(kind, "customer") == 0 ? "hetu" : NULL, "131052-308T",
		   NULL);
}

static const char *purpose_of(const char *type)
{
	return strcmp(type, "browsing") == 0 || strcmp(type, "location") == 0
		       ? "products_services"
		       : NULL;
}

static void add_record(rk_register *r, const char *id, const char *type,
		       const char *json)
{
	int64_t rec = 0;
	rk_status st = rk_record_add(r, id, type, json, NULL, NULL,
				     purpose_of(type), &rec);

	if (st != RK_OK)
		print_error("%s: %s\n", type, rk_errmsg(r));
	assert_int_equal(st, RK_OK);
}

static void text_of(const char *db, const char *sql, char *out, size_t cap)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, cap, "%s",
			 (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(h);
}

/* How many of the blobs occur in the database file and its WAL. */
static size_t found(const struct fx *f, const struct fx_blobs *b)
{
	char wal[PATH_CAP + 8];

	snprintf(wal, sizeof wal, "%s-wal", f->db);
	return fx_blobs_in_file(f->db, b) + fx_blobs_in_file(wal, b);
}

/* Runs the retention as of as_of and returns the report (caller frees);
 * the trail and rows verify afterwards. */
static json_t *run(struct fx *f, const char *as_of, int dry)
{
	char *out = NULL;
	json_t *j;
	/* The tests move the day ahead: a real run says it means that. */
	rk_status st = rk_retention_run(
		f->r, as_of, dry ? RK_RETENTION_DRY_RUN : RK_RETENTION_EARLY,
		NULL, NULL, &out);

	if (st != RK_OK)
		print_error("retention: %s\n", rk_errmsg(f->r));
	assert_int_equal(st, RK_OK);
	assert_non_null(out);
	/* No value of any subject is in the report. */
	assert_null(strstr(out, MARK));
	assert_null(strstr(out, "@example.com"));
	assert_null(strstr(out, "131052"));
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	rk_free_secret(out);
	fx_verify_ok(f->r);
	return j;
}

static long long deleted(const json_t *rep, const char *what)
{
	return (long long)json_integer_value(
		json_object_get(json_object_get(rep, "deleted"), what));
}

static long long subjects(const json_t *rep, const char *what)
{
	return (long long)json_integer_value(
		json_object_get(json_object_get(rep, "subjects"), what));
}

static long long rule_count(const json_t *rep, const char *rule,
			    const char *what)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(rep, "rules"), i, v)
	{
		const char *n = json_string_value(json_object_get(v, "rule"));
		if (n != NULL && strcmp(n, rule) == 0)
			return (long long)json_integer_value(
				json_object_get(v, what));
	}
	return 0;
}

static int exists(struct fx *f, const char *id)
{
	rk_subject *s = NULL;
	rk_status st = rk_subject_get(f->r, id, NULL, &s);

	rk_subject_free(s);
	assert_true(st == RK_OK || st == RK_ENOTFOUND);
	return st == RK_OK;
}

static size_t values_shown(struct fx *f, const char *id)
{
	rk_subject *s = NULL;
	size_t n;

	assert_int_equal(rk_subject_get(f->r, id, NULL, &s), RK_OK);
	n = rk_subject_value_count(s);
	rk_subject_free(s);
	return n;
}

static rk_status find_email(struct fx *f, const char *email)
{
	rk_list *l = NULL;
	rk_status st = rk_subject_find(f->r, "email", email, NULL, &l);

	rk_list_free(l);
	return st;
}

/* ---- prospects ----------------------------------------------------------- */

static void test_prospect_six_months(void **state)
{
	struct fx *f = *state;
	char p[RK_ID_LEN + 1], c[RK_ID_LEN + 1], sql[256];
	struct fx_blobs b;
	json_t *rep;

	memset(&b, 0, sizeof b);
	add_subject(f->r, "prospect", "prospekti@example.com", p);
	add_subject(f->r, "customer", "asiakas@example.com", c);
	fx_blobs_collect(&b, f->db,
			 "SELECT wrapped_key FROM subject WHERE id = ?1", p);
	fx_blobs_collect(&b, f->db,
			 "SELECT ciphertext FROM value WHERE subject_id = ?1",
			 p);
	assert_true(b.n >= 4);
	assert_int_equal(found(f, &b), b.n); /* the search can find them */

	/* Collected 2024-03-01: kept through 2024-09-01. */
	rep = run(f, "2024-09-01", 0);
	assert_int_equal(deleted(rep, "values"), 0);
	assert_int_equal(subjects(rep, "deleted"), 0);
	json_decref(rep);
	assert_true(exists(f, p));

	/* The day after, before any run: not shown, not found. */
	rk_register_set_clock(f->r, T0 + 185 * DAY); /* 2024-09-02 */
	assert_int_equal(values_shown(f, p), 0);
	assert_int_equal(find_email(f, "prospekti@example.com"), RK_ENOTFOUND);
	assert_int_equal(find_email(f, "asiakas@example.com"), RK_OK);

	rep = run(f, "2024-09-02", 1);
	assert_int_equal(subjects(rep, "deleted"), 1);
	assert_int_equal(rule_count(rep, "prospect", "values"), 3);
	json_decref(rep);
	assert_true(exists(f, p)); /* the dry run changed nothing */
	assert_int_equal(found(f, &b), b.n);

	rep = run(f, NULL, 0); /* today by the clock: 2024-09-02 */
	assert_int_equal(subjects(rep, "deleted"), 1);
	assert_int_equal(deleted(rep, "values"), 3);
	assert_int_equal(rule_count(rep, "prospect", "values"), 3);
	assert_true(json_is_true(json_object_get(rep, "log_cleared")));
	json_decref(rep);
	assert_false(exists(f, p));
	assert_true(exists(f, c));
	assert_int_equal(found(f, &b), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM value WHERE subject_id = '%s'", p);
	assert_int_equal(fx_count(f->db, sql), 0);
	/* Audited: the subject's entry and the run's. */
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE action"
				  " = 'retention.delete_subject'"),
			 1);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE action"
				  " = 'retention.run'"),
			 2);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE action"
				  " = 'retention.delete_subject' AND"
				  " fields = 'prospect'"),
			 1);
	/* Remembered like an erasure. */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM erasure"), 1);
	/* Nothing more to do. */
	rep = run(f, NULL, 0);
	assert_int_equal(subjects(rep, "changed"), 0);
	json_decref(rep);
	fx_blobs_free(&b);
}

/* ---- a customer whose relationship ends ---------------------------------- */

static void test_customer_after_the_end(void **state)
{
	struct fx *f = *state;
	char c[RK_ID_LEN + 1], sql[256], d[16];
	struct fx_blobs email, kyc, rel;
	char *list = NULL;
	json_t *rep;

	memset(&email, 0, sizeof email);
	memset(&kyc, 0, sizeof kyc);
	memset(&rel, 0, sizeof rel);
	add_subject(f->r, "customer", "loppuva@example.com", c);
	assert_int_equal(
		rk_consent_set(f->r, c, "location", 1, "web", "form " MARK),
		RK_OK);
	add_record(f->r, c, "browsing",
		   "{\"url\": \"https://example.com/" MARK "\", "
		   "\"at\": \"2024-03-01T12:00:00Z\"}");
	add_record(f->r, c, "location",
		   "{\"latitude\": \"60.1699\", \"longitude\": \"24.9384\", "
		   "\"recorded_at\": \"2024-03-01T12:00:00Z\"}");
	add_record(f->r, c, "purchase",
		   "{\"product\": \"" MARK "\", \"amount\": \"10.00\", "
		   "\"currency\": \"EUR\"}");
	add_record(f->r, c, "payment",
		   "{\"amount\": \"10.00\", \"currency\": \"EUR\", "
		   "\"method\": \"invoice\"}");
	/* Added during the relationship: no expiry yet, but vouchers. */
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM record WHERE subject_id = '%s' AND "
		 "expires_at IS NULL",
		 c);
	assert_int_equal(fx_count(f->db, sql), 2);
	text_of(f->db, "SELECT expires_at FROM record WHERE type = 'purchase'",
		d, sizeof d);
	assert_string_equal(d, "2030-12-31");

	/* The end, and its undo, move the records' expiry too. */
	rk_register_set_clock(f->r, T0 + 122 * DAY); /* 2024-07-01 */
	assert_int_equal(rk_subject_end(f->r, c, "2024-06-30", NULL), RK_OK);
	assert_int_equal(fx_count(f->db, sql), 0);
	assert_int_equal(rk_subject_end_undo(f->r, c, NULL), RK_OK);
	assert_int_equal(fx_count(f->db, sql), 2);
	fx_verify_ok(f->r);
	assert_int_equal(rk_subject_end(f->r, c, "2024-06-30", NULL), RK_OK);
	text_of(f->db, "SELECT expires_at FROM record WHERE type = 'browsing'",
		d, sizeof d);
	assert_string_equal(d, "2024-06-30");
	fx_verify_ok(f->r);

	fx_blobs_collect(
		&email, f->db,
		"SELECT ciphertext FROM value WHERE subject_id = ?1 AND"
		" field = 'email'",
		c);
	fx_blobs_collect(
		&rel, f->db,
		"SELECT ciphertext FROM record WHERE subject_id = ?1 AND"
		" type IN ('browsing', 'location')",
		c);
	fx_blobs_collect(
		&kyc, f->db,
		"SELECT ciphertext FROM value WHERE subject_id = ?1 AND"
		" field IN ('first_name', 'hetu')",
		c);
	assert_int_equal(found(f, &email), 1);
	assert_int_equal(found(f, &rel), 2);

	/* Expired but not yet run: not listed, not found. */
	assert_int_equal(
		rk_record_list(f->r, c, NULL, "products_services", &list),
		RK_OK);
	assert_null(strstr(list, "\"browsing\""));
	assert_null(strstr(list, "latitude"));
	assert_non_null(strstr(list, "purchase"));
	rk_free_secret(list);
	assert_int_equal(find_email(f, "loppuva@example.com"), RK_ENOTFOUND);

	/* The end day itself keeps everything. */
	rep = run(f, "2024-06-30", 0);
	assert_int_equal(subjects(rep, "changed"), 0);
	json_decref(rep);
	rep = run(f, "2024-07-01", 0);
	assert_int_equal(subjects(rep, "changed"), 1);
	assert_int_equal(subjects(rep, "deleted"), 0);
	assert_int_equal(rule_count(rep, "relationship", "values"), 1);
	assert_int_equal(rule_count(rep, "relationship", "records"), 2);
	json_decref(rep);
	assert_int_equal(found(f, &email), 0);
	assert_int_equal(found(f, &rel), 0);
	assert_int_equal(found(f, &kyc), kyc.n);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE action"
				  " = 'retention.delete' AND fields ="
				  " 'relationship'"),
			 1);

	/* KYC: five years after the end. */
	rep = run(f, "2029-06-30", 0);
	assert_int_equal(subjects(rep, "changed"), 0);
	json_decref(rep);
	rep = run(f, "2029-07-01", 0);
	assert_int_equal(rule_count(rep, "kyc", "values"), 4);
	/* The vouchers are left: the subject stays. */
	assert_int_equal(subjects(rep, "deleted"), 0);
	json_decref(rep);
	assert_int_equal(found(f, &kyc), 0);

	/* Vouchers: six years from the end of 2024. */
	rep = run(f, "2030-12-31", 0);
	assert_int_equal(subjects(rep, "changed"), 0);
	json_decref(rep);
	rep = run(f, "2031-01-01", 0);
	assert_int_equal(rule_count(rep, "bookkeeping_vouchers", "records"), 2);
	assert_int_equal(subjects(rep, "deleted"), 1);
	assert_int_equal(deleted(rep, "consent_ledger_entries"), 1);
	json_decref(rep);
	assert_false(exists(f, c));
	fx_blobs_free(&email);
	fx_blobs_free(&kyc);
	fx_blobs_free(&rel);
}

/* ---- cookie links go with the last record that came through them --------- */

static void test_cookie_link_goes_with_its_records(void **state)
{
	struct fx *f = *state;
	char c[RK_ID_LEN + 1];
	int64_t rec = 0;
	json_t *rep;

	add_subject(f->r, "customer", "keksi@example.com", c);
	assert_int_equal(rk_cookie_link(f->r, c, "cookie-" MARK), RK_OK);
	assert_int_equal(
		rk_record_add_by_cookie(f->r, "cookie-" MARK, "browsing",
					"{\"url\": \"https://example.com/a\", "
					"\"at\": \"2024-03-01T12:00:00Z\"}",
					"products_services", &rec),
		RK_OK);
	rk_register_set_clock(f->r, T0 + 10 * DAY);
	assert_int_equal(rk_subject_end(f->r, c, NULL, NULL), RK_OK);
	rep = run(f, "2024-03-11", 0);
	assert_int_equal(subjects(rep, "changed"), 0);
	json_decref(rep);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM cookie"), 1);
	rep = run(f, "2024-03-12", 0);
	assert_int_equal(deleted(rep, "cookie_links"), 1);
	assert_int_equal(deleted(rep, "records"), 1);
	json_decref(rep);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM cookie"), 0);
	assert_true(exists(f, c));
}

/* ---- a voucher held after an erasure ---------------------------------------
 */

static void test_held_voucher(void **state)
{
	struct fx *f = *state;
	char c[RK_ID_LEN + 1], *receipt = NULL;
	struct fx_blobs b;
	json_t *rep;

	memset(&b, 0, sizeof b);
	add_subject(f->r, "customer", "pidetty@example.com", c);
	add_record(f->r, c, "payment",
		   "{\"amount\": \"5.00\", \"currency\": \"EUR\", "
		   "\"method\": \"invoice\", \"invoice_number\": \"" MARK
		   "\"}");
	rk_register_set_clock(f->r, T0 + DAY);
	assert_int_equal(rk_erase(f->r, c, 0, &receipt), RK_OK);
	rk_free_secret(receipt);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 1);
	fx_blobs_collect(&b, f->db,
			 "SELECT ciphertext FROM held_record WHERE ?1 = ?1", c);
	assert_int_equal(found(f, &b), 1);

	rep = run(f, "2030-12-31", 0);
	assert_int_equal(deleted(rep, "held_records"), 0);
	json_decref(rep);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 1);
	rep = run(f, "2031-01-01", 1);
	assert_int_equal(deleted(rep, "held_records"), 1);
	json_decref(rep);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 1);
	rep = run(f, "2031-01-01", 0);
	assert_int_equal(deleted(rep, "held_records"), 1);
	assert_int_equal(
		rule_count(rep, "bookkeeping_vouchers", "held_records"), 1);
	json_decref(rep);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 0);
	assert_int_equal(found(f, &b), 0);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE action"
				  " = 'retention.delete_held'"),
			 1);
	fx_blobs_free(&b);
}

/* A held row whose date was moved without the key is not acted on. */
static void test_held_date_tampered(void **state)
{
	struct fx *f = *state;
	char c[RK_ID_LEN + 1], *receipt = NULL, *out = NULL;
	sqlite3 *h = NULL;

	add_subject(f->r, "customer", "muokattu@example.com", c);
	add_record(f->r, c, "payment",
		   "{\"amount\": \"5.00\", \"currency\": \"EUR\", "
		   "\"method\": \"invoice\"}");
	assert_int_equal(rk_erase(f->r, c, 0, &receipt), RK_OK);
	rk_free_secret(receipt);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
				      "UPDATE held_record SET hold_until ="
				      " '2000-01-01'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(rk_retention_run(f->r, NULL, 0, NULL, NULL, &out),
			 RK_EINTEGRITY);
	assert_null(out);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 1);
}

/* ---- the financial year
 * ------------------------------------------------------ */

static int setup_fy(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_CAP];
	json_t *p;
	int rc;

	snprintf(path, sizeof path, "%s/rk-fy-policy-%ld.json",
		 tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
	p = json_load_file(POLICY, 0, NULL);
	assert_non_null(p);
	assert_int_equal(json_object_set_new(json_object_get(p, "settings"),
					     "financial_year_end",
					     json_string("06-30")),
			 0);
	assert_int_equal(json_dump_file(p, path, JSON_INDENT(1)), 0);
	json_decref(p);
	rc = setup_policy(state, path);
	unlink(path);
	return rc;
}

static void test_financial_year(void **state)
{
	struct fx *f = *state;
	char c[RK_ID_LEN + 1], d[16];

	add_subject(f->r, "customer", "tilikausi@example.com", c);
	/* 2024-03-01 falls in the year ending 2024-06-30: vouchers from the
	 * end of 2024. */
	add_record(f->r, c, "payment",
		   "{\"amount\": \"1.00\", \"currency\": \"EUR\", "
		   "\"method\": \"invoice\"}");
	text_of(f->db, "SELECT expires_at FROM record ORDER BY id DESC", d,
		sizeof d);
	assert_string_equal(d, "2030-12-31");
	/* 2024-08-01 falls in the year ending 2025-06-30. */
	rk_register_set_clock(f->r, T0 + 153 * DAY);
	add_record(f->r, c, "payment",
		   "{\"amount\": \"2.00\", \"currency\": \"EUR\", "
		   "\"method\": \"invoice\"}");
	text_of(f->db, "SELECT expires_at FROM record ORDER BY id DESC", d,
		sizeof d);
	assert_string_equal(d, "2031-12-31");
}

/* A financial year end that not every year has, or no date, is refused. */
static void test_financial_year_checked(void **state)
{
	const char *tmp = getenv("TMPDIR");
	const char *bad[] = {"02-29", "13-01", "12-32", "1231", "12-31x"};
	char path[PATH_CAP], db[PATH_CAP], key[PATH_CAP];
	rk_register *r = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *p = json_load_file(POLICY, 0, NULL);

		assert_non_null(p);
		snprintf(path, sizeof path, "%s/rk-fy-bad-%ld.json",
			 tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
		snprintf(db, sizeof db, "%s/rk-fy-bad-%ld.db",
			 tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
		snprintf(key, sizeof key, "%s/rk-fy-bad-%ld.key",
			 tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
		assert_int_equal(
			json_object_set_new(json_object_get(p, "settings"),
					    "financial_year_end",
					    json_string(bad[i])),
			0);
		assert_int_equal(json_dump_file(p, path, 0), 0);
		json_decref(p);
		assert_int_not_equal(rk_register_init(db, key, path, &r),
				     RK_OK);
		rk_register_close(r);
		r = NULL;
		unlink(path);
		unlink(db);
		unlink(key);
	}
}

/* ---- a run killed between batches ------------------------------------------
 */

static void kill_after_first(void *ud, uint64_t done, uint64_t total)
{
	(void)ud;
	if (done > 0 && done < total)
		raise(SIGKILL);
}

static void test_killed_run_finishes(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], email[64];
	int status = 0;
	pid_t pid;
	int64_t left;
	json_t *rep;

	assert_int_equal(rk_register_begin(f->r), RK_OK);
	for (int i = 0; i < 150; i++) {
		snprintf(email, sizeof email, "p%d@example.com", i);
		add_subject(f->r, "prospect", email, id);
	}
	assert_int_equal(rk_register_commit(f->r), RK_OK);
	rk_register_close(f->r);
	f->r = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *r = NULL;
		char *out = NULL;

		if (rk_register_open(f->db, f->key, &r) != RK_OK)
			_exit(10);
		if (rk_retention_run(r, "2025-01-01", RK_RETENTION_EARLY,
				     kill_after_first, NULL, &out) != RK_OK)
			_exit(11);
		_exit(12); /* never killed */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	left = fx_count(f->db, "SELECT count(*) FROM subject");
	assert_true(left > 0 && left < 150); /* whole batches went */
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	fx_verify_ok(f->r);
	rep = run(f, "2025-01-01", 0);
	assert_int_equal(subjects(rep, "deleted"), left);
	json_decref(rep);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"), 0);
}

/* ---- only those who may
 * ------------------------------------------------------ */

static void test_refused_for_customer_service(void **state)
{
	struct fx *f = *state;
	char tok[RK_TOKEN_LEN + 1], *out = NULL;
	rk_register *h = NULL;

	assert_int_equal(rk_actor_add(f->r, "cs-1", "customer_service", tok),
			 RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs-1", tok), RK_OK);
	assert_int_equal(rk_retention_run(h, NULL, 0, NULL, NULL, &out),
			 RK_EREFUSED);
	assert_null(out);
	assert_int_equal(rk_retention_run(h, NULL, RK_RETENTION_DRY_RUN, NULL,
					  NULL, &out),
			 RK_EREFUSED);
	rk_register_close(h);
}

/* ---- review and confirm
 * -------------------------------------------------------- */

static void test_review_and_confirm(void **state)
{
	struct fx *f = *state;
	char c[RK_ID_LEN + 1], d[RK_ID_LEN + 1], *out = NULL;
	const char *only[] = {"email"};
	size_t n = 0;
	json_t *j, *subj;

	add_subject(f->r, "customer", "vanha@example.com", c);
	rk_register_set_clock(f->r, T0 + 400 * DAY);
	add_subject(f->r, "customer", "uusi@example.com", d);
	rk_register_set_clock(f->r, T0 + 800 * DAY);

	assert_int_equal(rk_review(f->r, "2y", &out), RK_OK);
	assert_null(strstr(out, MARK));
	assert_null(strstr(out, "@example.com"));
	j = json_loads(out, 0, NULL);
	rk_free_secret(out);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	subj = json_array_get(json_object_get(j, "subjects"), 0);
	assert_string_equal(json_string_value(json_object_get(subj, "subject")),
			    c);
	assert_true(json_array_size(json_object_get(subj, "fields")) >= 4);
	json_decref(j);

	assert_int_equal(rk_review(f->r, "399d", &out), RK_OK);
	j = json_loads(out, 0, NULL);
	rk_free_secret(out);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 2);
	json_decref(j);
	assert_int_equal(rk_review(f->r, "2x", &out), RK_EINVAL);

	/* One field, then all. */
	assert_int_equal(rk_subject_confirm(f->r, c, only, 1, NULL, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rk_review(f->r, "2y", &out), RK_OK);
	j = json_loads(out, 0, NULL);
	rk_free_secret(out);
	subj = json_array_get(json_object_get(j, "subjects"), 0);
	assert_non_null(subj);
	{
		const json_t *fv;
		size_t i;

		json_array_foreach(json_object_get(subj, "fields"), i, fv)
		{
			assert_string_not_equal(
				json_string_value(json_object_get(fv, "field")),
				"email");
		}
	}
	json_decref(j);
	assert_int_equal(rk_subject_confirm(f->r, c, NULL, 0, NULL, &n), RK_OK);
	assert_true(n >= 3);
	assert_int_equal(rk_review(f->r, "2y", &out), RK_OK);
	j = json_loads(out, 0, NULL);
	rk_free_secret(out);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM audit WHERE action"
				  " = 'subject.confirm'"),
			 2);
	fx_verify_ok(f->r);
}

/* A day after today deletes data before its time: a real run refuses it
 * unless told it is meant, and changes nothing; a dry run may look ahead. */
static void test_early_refused(void **state)
{
	struct fx *f = *state;
	char p[RK_ID_LEN + 1];
	char *out = NULL;
	json_t *rep;

	add_subject(f->r, "prospect", "prospekti@example.com", p);
	assert_int_equal(
		rk_retention_run(f->r, "2025-03-01", 0, NULL, NULL, &out),
		RK_EINVAL);
	assert_null(out);
	assert_non_null(strstr(rk_errmsg(f->r), "--dry-run"));
	assert_true(exists(f, p));
	assert_int_equal(values_shown(f, p) > 0, 1);
	rep = run(f, "2025-03-01", 1);
	assert_int_equal(subjects(rep, "deleted"), 1);
	json_decref(rep);
	assert_true(exists(f, p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_early_refused, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_prospect_six_months, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_customer_after_the_end,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_cookie_link_goes_with_its_records, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_held_voucher, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_held_date_tampered, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_financial_year, setup_fy,
						fx_teardown),
		cmocka_unit_test(test_financial_year_checked),
		cmocka_unit_test_setup_teardown(test_killed_run_finishes, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_refused_for_customer_service, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_review_and_confirm, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
