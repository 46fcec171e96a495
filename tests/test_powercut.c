/*
 * test_powercut.c: a power cut at any moment of `key rotate` leaves a
 * register that opens with one of the two keys.
 *
 * A power cut keeps only what was synced. This test stands between the
 * library and the kernel: it replaces fsync, fdatasync and rename (SQLite
 * and the key file code call them through the dynamic linker, which finds
 * these first), notes how much of the database's write-ahead log was synced,
 * and at every sync and around every rename copies what a power cut at that
 * moment would leave: the database file, the log cut back to its synced
 * length, and the key files. Every copy must then open, read its subjects
 * and verify its audit trail.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rekisteri.h"

#include "fixture.h"

#define MAX_SNAPS 64

static struct {
	int armed;
	int dbfd; /* held open until every handle closed: see snapshot */
	char dir[PATH_MAX];
	char db[PATH_MAX + 16];
	char wal[PATH_MAX + 16];
	char key[PATH_MAX + 16];
	char keynew[PATH_MAX + 16];
	off_t wal_synced;
	int nsnap;
} g;

static void copy_range(int in, const char *to, off_t len)
{
	char buf[8192];
	off_t off = 0;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (out < 0)
		abort();
	while (off < len) {
		size_t want = (size_t)(len - off) < sizeof buf
				      ? (size_t)(len - off)
				      : sizeof buf;
		ssize_t n = pread(in, buf, want, off);
		if (n <= 0 || write(out, buf, (size_t)n) != n)
			abort();
		off += n;
	}
	if (close(out) != 0)
		abort();
}

/* Copies path (whole, or its first limit bytes when limit >= 0) to
 * dir/name if it exists. */
static void copy_if_there(const char *path, const char *dir, const char *name,
			  off_t limit)
{
	char to[PATH_MAX + 64];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &sb) != 0)
		abort();
	snprintf(to, sizeof to, "%s/%s", dir, name);
	copy_range(fd, to,
		   limit >= 0 && limit < sb.st_size ? limit : sb.st_size);
	close(fd);
}

/* What a power cut now would leave. The database file is read through a
 * descriptor opened before SQLite's: closing one of our own would drop
 * SQLite's POSIX locks on it. In WAL mode SQLite writes that file only in
 * checkpoints, which sync it. The log keeps only its synced part; key
 * files are synced before they are renamed into place, and a rename whose
 * directory was not synced yet is modelled by the copies before and after
 * it. */
static void snapshot(void)
{
	char dir[PATH_MAX + 32], to[PATH_MAX + 64];
	struct stat sb;

	if (g.nsnap == MAX_SNAPS)
		return;
	snprintf(dir, sizeof dir, "%s/cut%02d", g.dir, g.nsnap++);
	if (mkdir(dir, 0700) != 0 || fstat(g.dbfd, &sb) != 0)
		abort();
	snprintf(to, sizeof to, "%s/r.db", dir);
	copy_range(g.dbfd, to, sb.st_size);
	copy_if_there(g.wal, dir, "r.db-wal", g.wal_synced);
	copy_if_there(g.key, dir, "r.key", -1);
	copy_if_there(g.keynew, dir, "r.key.new", -1);
}

static void note_sync(int fd)
{
	char link[64], path[PATH_MAX];
	struct stat sb;
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return;
	path[n] = '\0';
	if (strcmp(path, g.wal) == 0 && fstat(fd, &sb) == 0)
		g.wal_synced = sb.st_size;
	snapshot();
}

int fsync(int fd)
{
	int rc = (int)syscall(SYS_fsync, fd);

	if (rc == 0 && g.armed)
		note_sync(fd);
	return rc;
}

int fdatasync(int fd)
{
	int rc = (int)syscall(SYS_fdatasync, fd);

	if (rc == 0 && g.armed)
		note_sync(fd);
	return rc;
}

int rename(const char *from, const char *to)
{
	int rc;

	if (g.armed)
		snapshot();
	rc = renameat(AT_FDCWD, from, AT_FDCWD, to);
	if (rc == 0 && g.armed)
		snapshot();
	return rc;
}

static rk_status add_customer(rk_register *r, int n, char id[RK_ID_LEN + 1])
{
	char email[64];

	snprintf(email, sizeof email, "virta.%d@example.com", n);
	return fx_subject_quiet(r, "customer", id, "first_name", "Testi",
				"last_name", "Virtanen", "email", email, NULL);
}

static void expect_email(rk_register *r, const char *id, int n)
{
	rk_subject *s = NULL;
	char want[64];
	int seen = 0;

	snprintf(want, sizeof want, "virta.%d@example.com", n);
	assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_OK);
	for (size_t i = 0; i < rk_subject_value_count(s); i++)
		if (strcmp(rk_subject_value(s, i)->field, "email") == 0) {
			assert_string_equal(rk_subject_value(s, i)->value,
					    want);
			seen = 1;
		}
	rk_subject_free(s);
	assert_true(seen);
}

static void test_power_cut_during_rotation(void **state)
{
	char ids[3][RK_ID_LEN + 1], late[RK_ID_LEN + 1], tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	rk_register *r = NULL;
	rk_audit_report rep;
	int i, cuts;

	(void)state;
	snprintf(tmpl, sizeof tmpl, "%s/rk-cut-XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, g.dir));
	snprintf(g.db, sizeof g.db, "%s/r.db", g.dir);
	snprintf(g.wal, sizeof g.wal, "%s/r.db-wal", g.dir);
	snprintf(g.key, sizeof g.key, "%s/r.key", g.dir);
	snprintf(g.keynew, sizeof g.keynew, "%s/r.key.new", g.dir);

	/* Subjects in the database file itself: closing the last handle
	 * checkpoints the log into it. */
	if (rk_register_init(g.db, g.key, POLICY, &r) != RK_OK)
		fail_msg("init: %s", rk_errmsg(r));
	for (i = 0; i < 3; i++)
		assert_int_equal(add_customer(r, i, ids[i]), RK_OK);
	rk_register_close(r);
	g.dbfd = open(g.db, O_RDONLY | O_CLOEXEC);
	assert_true(g.dbfd >= 0);

	/* One more in the log only, not synced; then the rotation. */
	assert_int_equal(rk_register_open(g.db, g.key, &r), RK_OK);
	assert_int_equal(add_customer(r, 9, late), RK_OK);
	g.wal_synced = 0;
	g.armed = 1;
	assert_int_equal(rk_key_rotate(r), RK_OK);
	snapshot(); /* and a cut right after it returned */
	g.armed = 0;
	rk_register_close(r);
	close(g.dbfd);

	cuts = g.nsnap;
	assert_true(cuts >= 3);
	for (i = 0; i < cuts; i++) {
		char db[PATH_MAX + 48], key[PATH_MAX + 48];
		rk_status st;

		snprintf(db, sizeof db, "%s/cut%02d/r.db", g.dir, i);
		snprintf(key, sizeof key, "%s/cut%02d/r.key", g.dir, i);
		st = rk_register_open(db, key, &r);
		if (st != RK_OK)
			print_error("power cut %d of %d: %s\n", i, cuts,
				    rk_errmsg(r));
		assert_int_equal(st, RK_OK);
		for (int k = 0; k < 3; k++)
			expect_email(r, ids[k], k);
		assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
		rk_register_close(r);
		r = NULL;
	}
	fx_rm_tree(g.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_cut_during_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
