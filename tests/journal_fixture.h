/*
 * journal_fixture.h: what the tests of the audit journal share on top of
 * fixture.h: a register with one subject, closed, the look-ups in its
 * trail and the journal file surgery. Included by one test file each.
 */
#ifndef RK_JOURNAL_FIXTURE_H
#define RK_JOURNAL_FIXTURE_H

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define AJ_MAX_TEST 8192

/* A register with one subject, closed: the tests open it as they need. */
static inline int setup(void **state)
{
	struct fx *f = fx_open("aj");

	fx_subject(f->r, "customer", f->id, "first_name", "Testi", "last_name",
		   "Henkilo", NULL);
	rk_register_close(f->r);
	f->r = NULL;
	*state = f;
	return 0;
}

/* count(*) of sql, as a long. */
static inline long count_sql(const char *db, const char *sql)
{
	return (long)fx_count(db, sql);
}

static inline long shows(const struct fx *f, const char *outcome)
{
	char sql[200];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM audit WHERE action = 'subject.show' "
		 "AND outcome = '%s'",
		 outcome);
	return count_sql(f->db, sql);
}

/* The journal files beside the register; the first one's path in path. */
static inline int journals(const struct fx *f, char *path, size_t cap)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "r.db-audit-", 11) != 0 || len < 2 ||
		    strcmp(de->d_name + len - 2, ".j") != 0)
			continue;
		if (n++ == 0 && path != NULL)
			snprintf(path, cap, "%s/%s", f->dir, de->d_name);
	}
	closedir(d);
	return n;
}

static inline rk_status show(rk_register *r, const char *id)
{
	rk_subject *s = (rk_subject *)(uintptr_t)1;
	rk_status st = rk_subject_get(r, id, NULL, &s);

	if (st != RK_OK)
		assert_null(s); /* nothing handed out */
	rk_subject_free(s);
	return st;
}

static inline void verify_ok(const struct fx *f)
{
	rk_register *r = NULL;
	rk_audit_report rep;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	rk_register_close(r);
}

/* Reads in a process that is killed before it commits them. */
static inline void reads_then_die(const struct fx *f, int n)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *r = NULL;
		if (rk_register_open(f->db, f->key, &r) != RK_OK)
			_exit(2);
		rk_register_set_audit_batch(r, 64);
		for (int i = 0; i < n; i++)
			if (show(r, f->id) != RK_OK)
				_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static inline void flip_byte(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_not_equal(c, EOF);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_not_equal(fputc(c ^ 0x20, fp), EOF);
	fclose(fp);
}

/* The offsets of the journal's records (its length prefixes), up to the
 * zero length that ends it; offs[n] is where the end is. */
static inline int records(const char *path, long offs[], int max)
{
	FILE *fp = fopen(path, "rb");
	unsigned char len[4];
	long off = 0;
	int n = 0;

	assert_non_null(fp);
	while (n < max && fread(len, 1, 4, fp) == 4) {
		long rl = (long)len[0] << 24 | (long)len[1] << 16 |
			  (long)len[2] << 8 | len[3];
		if (rl == 0)
			break;
		offs[n++] = off;
		off += rl;
		assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	}
	fclose(fp);
	offs[n] = off;
	return n;
}

/* Reads len bytes at off into buf. */
static inline void get_bytes(const char *path, long off, void *buf, size_t len)
{
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
}

/* Writes len bytes of buf at off. */
static inline void put_bytes(const char *path, long off, const void *buf,
			     size_t len)
{
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

static inline long journal_damage(const struct fx *f)
{
	return count_sql(f->db, "SELECT count(*) FROM audit WHERE action = "
				"'audit.journal' AND outcome = 'integrity'");
}

#endif
