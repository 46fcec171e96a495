/*
 * test_crash.c: a writer killed with SIGKILL at a random moment loses
 * nothing it was told was committed, leaves no half-written subject, and
 * the audit chain and the database file stay intact (SPEC §3, §5).
 *
 * A forked child adds subjects as fast as it can and reports each ID on a
 * pipe only after the call that committed it returned RK_OK; the parent
 * kills it, then checks the register. Some rounds load in bulk transactions
 * (IDs reported after rk_register_commit); the last round kills the child
 * inside a bulk transaction that it never committed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rekisteri.h"

#include "fixture.h"

/* One reported ID: RK_ID_LEN hex characters and a newline. */
#define LINE	    (RK_ID_LEN + 1)
#define ROUNDS	    12
#define BULK_BATCH  50
#define FINAL_BATCH 200
/* How long the parent waits for a child's first report (its open and first
 * commit), and how long a child that nobody kills goes on. */
#define FIRST_REPORT_MS 15000
#define CHILD_LIMIT_MS	20000
#define SEED		0x5eed2025u

/* A whole batch of IDs goes down the pipe in one write, which a pipe keeps
 * whole (a kill never leaves half of it). */
_Static_assert(BULK_BATCH *LINE <= PIPE_BUF, "a batch fits one pipe write");

enum mode {
	MODE_SINGLE, /* one transaction per subject */
	MODE_BULK,   /* batches of BULK_BATCH in a bulk transaction */
	MODE_HELD    /* one bulk batch, reported as added, never committed */
};

static const char *const mode_name[] = {"single", "bulk", "held"};

enum child_exit {
	CHILD_DONE = 0, /* ran out of time without being killed */
	CHILD_EOPEN = 10,
	CHILD_EADD = 11,
	CHILD_EPIPE = 12,
	CHILD_EBULK = 13
};

/* The register is made and closed: each round's processes open it. */
static int setup(void **state)
{
	struct fx *f = fx_open("crash");

	rk_register_close(f->r);
	f->r = NULL;
	*state = f;
	return 0;
}

/* The IDs read from a child's pipe, as received. */
struct ids {
	char *buf;
	size_t len, cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift32: the same kill delays on every run. */
static uint32_t prng_next(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static void email_of(char *out, size_t size, int round, size_t n)
{
	snprintf(out, size, "crash.%d.%zu@example.com", round, n);
}

static void last_name_of(char *out, size_t size, int round, size_t n)
{
	snprintf(out, size, "Kaatuja-%d-%zu", round, n);
}

/* ---- the child --------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static rk_status child_add(rk_register *r, int round, size_t n,
			   char id[RK_ID_LEN + 1])
{
	char email[96], last[64];
	rk_fields *fl = rk_fields_new();
	rk_status st = RK_ESYS;

	if (fl == NULL)
		return RK_ESYS;
	email_of(email, sizeof email, round, n);
	last_name_of(last, sizeof last, round, n);
	if (rk_fields_add(fl, "first_name", "Testi") != RK_OK ||
	    rk_fields_add(fl, "last_name", last) != RK_OK ||
	    rk_fields_add(fl, "email", email) != RK_OK)
		goto out;
	st = rk_subject_add(r, "customer", fl, NULL, NULL, id);
out:
	rk_fields_free(fl);
	return st;
}

/* Adds subjects until killed; never returns into cmocka. */
_Noreturn static void child_run(const struct fx *f, int round, enum mode mode,
				int wfd)
{
	rk_register *r = NULL;
	char batch[BULK_BATCH * LINE];
	char id[RK_ID_LEN + 1];
	int64_t stop = now_ms() + CHILD_LIMIT_MS;
	size_t n = 0, i;
	int code = CHILD_DONE;

	if (rk_register_open(f->db, f->key, &r) != RK_OK) {
		code = CHILD_EOPEN;
		goto out;
	}
	if (mode == MODE_HELD) {
		if (rk_register_begin(r) != RK_OK) {
			code = CHILD_EBULK;
			goto out;
		}
		for (n = 0; n < FINAL_BATCH; n++) {
			if (child_add(r, round, n, id) != RK_OK) {
				code = CHILD_EADD;
				goto out;
			}
			id[RK_ID_LEN] = '\n';
			if (write_all(wfd, id, LINE) != 0) {
				code = CHILD_EPIPE;
				goto out;
			}
		}
		/* Wait for the kill inside the open transaction; a child that
		 * is never killed commits, which the parent would notice. */
		while (now_ms() < stop)
			usleep(10000);
		if (rk_register_commit(r) != RK_OK)
			code = CHILD_EBULK;
		goto out;
	}
	while (now_ms() < stop) {
		if (mode == MODE_SINGLE) {
			if (child_add(r, round, n, id) != RK_OK) {
				code = CHILD_EADD;
				goto out;
			}
			n++;
			id[RK_ID_LEN] = '\n';
			if (write_all(wfd, id, LINE) != 0) {
				code = CHILD_EPIPE;
				goto out;
			}
			continue;
		}
		if (rk_register_begin(r) != RK_OK) {
			code = CHILD_EBULK;
			goto out;
		}
		for (i = 0; i < BULK_BATCH; i++, n++) {
			if (child_add(r, round, n, id) != RK_OK) {
				code = CHILD_EADD;
				goto out;
			}
			memcpy(batch + i * LINE, id, RK_ID_LEN);
			batch[i * LINE + RK_ID_LEN] = '\n';
		}
		if (rk_register_commit(r) != RK_OK) {
			code = CHILD_EBULK;
			goto out;
		}
		if (write_all(wfd, batch, sizeof batch) != 0) {
			code = CHILD_EPIPE;
			goto out;
		}
	}
out:
	rk_register_close(r);
	close(wfd);
	_exit(code);
}

/* ---- the parent -------------------------------------------------------- */

/* Reads from fd into ids until it holds want bytes, the deadline passes or
 * the pipe ends. Returns 1 at the end of the pipe, else 0. */
static int drain(int fd, struct ids *ids, size_t want, int64_t deadline)
{
	char tmp[4096];

	while (ids->len < want) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t got;
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		assert_true(rc >= 0);
		if (rc == 0)
			return 0;
		got = read(fd, tmp, sizeof tmp);
		if (got < 0 && errno == EINTR)
			continue;
		assert_true(got >= 0);
		if (got == 0)
			return 1;
		if (ids->len + (size_t)got > ids->cap) {
			size_t cap = ids->cap ? ids->cap * 2 : 16384;
			char *nb;
			while (cap < ids->len + (size_t)got)
				cap *= 2;
			nb = realloc(ids->buf, cap);
			assert_non_null(nb);
			ids->buf = nb;
			ids->cap = cap;
		}
		memcpy(ids->buf + ids->len, tmp, (size_t)got);
		ids->len += (size_t)got;
	}
	return 0;
}

/* The n-th reported ID, NUL-terminated in out. */
static void id_at(const struct ids *ids, size_t n, char out[RK_ID_LEN + 1])
{
	assert_true((n + 1) * LINE <= ids->len);
	assert_int_equal(ids->buf[n * LINE + RK_ID_LEN], '\n');
	memcpy(out, ids->buf + n * LINE, RK_ID_LEN);
	out[RK_ID_LEN] = '\0';
}

static int64_t query_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int64_t n;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

static size_t subject_count(const char *db)
{
	int64_t n = query_int(db, "SELECT count(*) FROM subject");

	assert_true(n >= 0);
	return (size_t)n;
}

/* PRAGMA integrity_check answers one row "ok", or rows naming problems. */
static void check_integrity(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	const unsigned char *txt;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	assert_int_equal(
		sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	txt = sqlite3_column_text(s, 0);
	assert_non_null(txt);
	assert_string_equal((const char *)txt, "ok");
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
}

/* What must hold of the whole register after any kill. */
static void check_whole(const char *db)
{
	check_integrity(db);
	/* no half-written subject */
	assert_int_equal(query_int(db, "SELECT count(*) FROM subject s WHERE "
				       "(SELECT count(*) FROM value v WHERE "
				       "v.subject_id = s.id) != 4"),
			 0);
	/* no value without its subject */
	assert_int_equal(query_int(db, "SELECT count(*) FROM value v WHERE "
				       "NOT EXISTS (SELECT 1 FROM subject s "
				       "WHERE s.id = v.subject_id)"),
			 0);
	/* every subject came with its audit entry, and no entry without */
	assert_int_equal(query_int(db, "SELECT count(*) FROM audit WHERE "
				       "action = 'subject.add' AND "
				       "outcome = 'ok'"),
			 query_int(db, "SELECT count(*) FROM subject"));
	/* every customer got a customer number, no number twice */
	assert_int_equal(query_int(db, "SELECT count(*) FROM value WHERE "
				       "field = 'customer_number'"),
			 query_int(db, "SELECT count(*) FROM subject"));
	assert_int_equal(query_int(db, "SELECT count(DISTINCT bidx) FROM "
				       "value WHERE field = 'customer_number'"),
			 query_int(db, "SELECT count(*) FROM subject"));
}

/* A reported subject reads back whole: its three fields and the issued
 * customer number, nothing else. */
static void check_subject(rk_register *r, const char *id, int round, size_t n)
{
	char email[96], last[64];
	rk_subject *s = NULL;
	int seen_first = 0, seen_last = 0, seen_email = 0, seen_cn = 0;
	size_t i;

	email_of(email, sizeof email, round, n);
	last_name_of(last, sizeof last, round, n);
	assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_OK);
	assert_non_null(s);
	assert_string_equal(rk_subject_id(s), id);
	assert_int_equal(rk_subject_value_count(s), 4);
	for (i = 0; i < rk_subject_value_count(s); i++) {
		const rk_value *v = rk_subject_value(s, i);
		if (strcmp(v->field, "first_name") == 0) {
			assert_string_equal(v->value, "Testi");
			seen_first++;
		} else if (strcmp(v->field, "last_name") == 0) {
			assert_string_equal(v->value, last);
			seen_last++;
		} else if (strcmp(v->field, "email") == 0) {
			assert_string_equal(v->value, email);
			seen_email++;
		} else if (strcmp(v->field, "customer_number") == 0) {
			assert_true(strlen(v->value) > 0);
			seen_cn++;
		} else {
			fail_msg("unexpected field %s", v->field);
		}
	}
	assert_int_equal(seen_first, 1);
	assert_int_equal(seen_last, 1);
	assert_int_equal(seen_email, 1);
	assert_int_equal(seen_cn, 1);
	rk_subject_free(s);
}

static void check_find(rk_register *r, const char *id, int round, size_t n)
{
	char email[96];
	rk_list *l = NULL;

	email_of(email, sizeof email, round, n);
	assert_int_equal(rk_subject_find(r, "email", email, NULL, &l), RK_OK);
	assert_int_equal(rk_list_count(l), 1);
	assert_string_equal(rk_list_id(l, 0), id);
	rk_list_free(l);
}

/* Forks a child that writes in mode and reports on a pipe. */
static pid_t spawn(const struct fx *f, int round, enum mode mode, int *rfd)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_run(f, round, mode, p[1]);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* Kills the child, reaps it (it must have died of the kill, not ended on
 * its own) and reads what it reported up to the end of the pipe. */
static void kill_and_reap(pid_t pid, int rfd, struct ids *ids)
{
	int status = 0;

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the writer was not killed but ended with status "
			 "%d (exit code %d)",
			 status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	assert_int_equal(drain(rfd, ids, SIZE_MAX, now_ms() + 10000), 1);
	close(rfd);
	assert_int_equal(ids->len % LINE, 0);
}

static void kill_round(struct fx *f, int round, enum mode mode, uint32_t *rng)
{
	struct ids ids = {NULL, 0, 0};
	rk_register *r = NULL;
	rk_audit_report rep;
	char id[RK_ID_LEN + 1];
	size_t before, after, n, extra, i;
	uint32_t delay = 5 + (prng_next(rng) >> 8) % 76;
	int rfd = -1;
	pid_t pid;

	before = subject_count(f->db);
	pid = spawn(f, round, mode, &rfd);
	/* Time the kill from the first commit, so that it lands mid-stream
	 * however long the child took to open the register. */
	drain(rfd, &ids, LINE, now_ms() + FIRST_REPORT_MS);
	drain(rfd, &ids, SIZE_MAX, now_ms() + delay);
	kill_and_reap(pid, rfd, &ids);
	n = ids.len / LINE;
	after = subject_count(f->db);
	assert_true(after >= before + n);
	extra = after - before - n;
	printf("round %d (%s, killed %" PRIu32 " ms after the first report): "
	       "%zu committed, %zu more committed but not yet reported\n",
	       round, mode_name[mode], delay, n, extra);
	assert_true(n > 0);
	/* Between a commit and its report the kill may land: one subject, or
	 * one whole batch, never a part of one. */
	assert_true(extra == 0 ||
		    extra == (mode == MODE_BULK ? BULK_BATCH : 1));
	if (mode == MODE_BULK)
		assert_int_equal(n % BULK_BATCH, 0);

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	assert_int_equal(rep.first_bad, 0);
	assert_true(rep.entries >= (int64_t)after);
	for (i = 0; i < n; i++) {
		id_at(&ids, i, id);
		check_subject(r, id, round, i);
	}
	id_at(&ids, 0, id);
	check_find(r, id, round, 0);
	id_at(&ids, n / 2, id);
	check_find(r, id, round, n / 2);
	id_at(&ids, n - 1, id);
	check_find(r, id, round, n - 1);
	rk_register_close(r);
	check_whole(f->db);
	free(ids.buf);
}

/* The child adds a batch inside a bulk transaction and is killed before it
 * commits: none of the batch may be there afterwards. */
static void held_round(struct fx *f, int round)
{
	struct ids ids = {NULL, 0, 0};
	rk_register *r = NULL;
	rk_subject *s = NULL;
	rk_list *l = NULL;
	rk_audit_report rep;
	rk_fields *fl = NULL;
	char id[RK_ID_LEN + 1], email[96];
	size_t before, i, n;
	int rfd = -1;
	pid_t pid;

	before = subject_count(f->db);
	pid = spawn(f, round, MODE_HELD, &rfd);
	drain(rfd, &ids, FINAL_BATCH * LINE, now_ms() + CHILD_LIMIT_MS / 2);
	/* The child has added the whole batch and waits to commit it. */
	assert_int_equal(ids.len, FINAL_BATCH * LINE);
	kill_and_reap(pid, rfd, &ids);
	n = ids.len / LINE;
	printf("round %d (held): killed inside a bulk transaction after %zu "
	       "uncommitted adds; %zu subjects before, %zu after\n",
	       round, n, before, subject_count(f->db));
	assert_int_equal(n, FINAL_BATCH);
	assert_int_equal(subject_count(f->db), before);

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	for (i = 0; i < n; i++) {
		id_at(&ids, i, id);
		assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_ENOTFOUND);
		assert_null(s);
		email_of(email, sizeof email, round, i);
		assert_int_equal(rk_subject_find(r, "email", email, NULL, &l),
				 RK_ENOTFOUND);
		rk_list_free(l);
		l = NULL;
	}
	/* The dead writer's lock is gone: the register takes writes. */
	fl = rk_fields_new();
	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "first_name", "Testi"), RK_OK);
	assert_int_equal(rk_fields_add(fl, "last_name", "Jatkaja"), RK_OK);
	assert_int_equal(rk_fields_add(fl, "email", "crash.after@example.com"),
			 RK_OK);
	assert_int_equal(rk_subject_add(r, "customer", fl, NULL, NULL, id),
			 RK_OK);
	rk_fields_free(fl);
	rk_register_close(r);
	assert_int_equal(subject_count(f->db), before + 1);
	check_whole(f->db);
	free(ids.buf);
}

static void test_kill_during_writes(void **state)
{
	struct fx *f = *state;
	uint32_t rng = SEED;
	int round;

	for (round = 1; round <= ROUNDS; round++)
		kill_round(f, round, round % 4 == 3 ? MODE_BULK : MODE_SINGLE,
			   &rng);
	held_round(f, ROUNDS + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_during_writes, setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
