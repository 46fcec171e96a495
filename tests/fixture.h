/*
 * fixture.h: what the cmocka tests share, so that each keeps only what is
 * its own: a register on the seed policy in a scratch folder under TMPDIR
 * (removed again with all it holds), subjects added from field/value
 * pairs, and the look-ups the tests make past the library: sqlite3 counts
 * and statements on the database file, whole files read back and byte
 * searches in them, the ciphertexts a subject has in the file.
 *
 * Header only, static inline: each test is one executable of its own and
 * uses what it needs. Include after <cmocka.h>. A test whose fixture holds
 * more than the common members defines FX_EXTRA (member declarations)
 * before including this header.
 */
#ifndef RK_TEST_FIXTURE_H
#define RK_TEST_FIXTURE_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rekisteri.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif
#ifndef POLICY
#define POLICY RK_SOURCE_DIR "/policies/ocr-factory.json"
#endif
/* Room for a path under TMPDIR (mkdtemp's folder and a file name in it). */
#define FX_PATH 1024
/* out = dir/name, which must fit. */
static inline void fx_path(char *out, size_t cap, const char *dir,
			   const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < cap);
}

/* A new folder "<TMPDIR>/rk-<tag>-XXXXXX" in dir (FX_PATH bytes). */
static inline void fx_scratch(char dir[FX_PATH], const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(dir, FX_PATH, "%s/rk-%s-XXXXXX",
			 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", tag);

	assert_true(n > 0 && n < FX_PATH);
	assert_non_null(mkdtemp(dir));
}

/* Removes the folder and everything in it. */
static inline void fx_rm_tree(const char *dir)
{
	int status = -1;
	pid_t pid;

	/* rm itself, without a shell: a quote in TMPDIR stays a name */
	assert_true(dir != NULL && dir[0] != '\0');
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
		_exit(127);
	}
	assert_true(waitpid(pid, &status, 0) == pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- the database file, past the library ------------------------------ */

/* The first column of the first row of sql (a count or a number). */
static inline int64_t fx_count(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int64_t n;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

/* Runs sql (one or more statements), which must succeed. */
static inline void fx_exec(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	char *err = NULL;
	int rc;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	rc = sqlite3_exec(h, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		print_error("%s: %s\n", sql, err != NULL ? err : "?");
	sqlite3_free(err);
	sqlite3_close(h);
	assert_int_equal(rc, SQLITE_OK);
}

/* ---- files ------------------------------------------------------------ */

/* The whole file (malloc'd, one NUL byte after it) and its length in
 * *len; NULL when it cannot be opened (a WAL not there). */
static inline unsigned char *fx_slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0)
		return NULL;
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	close(fd);
	buf[sb.st_size] = '\0';
	*len = (size_t)sb.st_size;
	return buf;
}

/* Whether the m bytes at needle occur in the n at hay (memmem is a GNU
 * extension). */
static inline int fx_contains(const void *hay, size_t n, const void *needle,
			      size_t m)
{
	const unsigned char *h = hay;

	for (size_t i = 0; m > 0 && i + m <= n; i++)
		if (h[i] == *(const unsigned char *)needle &&
		    memcmp(h + i, needle, m) == 0)
			return 1;
	return 0;
}

/* Whether the m bytes at needle occur in the file (a missing file holds
 * nothing). */
static inline int fx_file_has_bytes(const char *path, const void *needle,
				    size_t m)
{
	size_t len;
	unsigned char *buf = fx_slurp(path, &len);
	int found;

	if (buf == NULL)
		return 0;
	found = fx_contains(buf, len, needle, m);
	free(buf);
	return found;
}

static inline int fx_file_has(const char *path, const char *needle)
{
	return fx_file_has_bytes(path, needle, strlen(needle));
}

static inline void fx_copy_file(const char *from, const char *to)
{
	char buf[4096];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

/* ---- what a subject left in the file ------------------------------------ */

#define FX_BLOBS 256
struct fx_blobs {
	unsigned char *v[FX_BLOBS];
	size_t len[FX_BLOBS];
	size_t n;
};

/* Adds the non-empty blobs of the first column of sql (bound ?1 = id). */
static inline void fx_blobs_collect(struct fx_blobs *b, const char *db,
				    const char *sql, const char *id)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(s, 0);
		size_t n = (size_t)sqlite3_column_bytes(s, 0);

		if (p == NULL || n == 0)
			continue;
		assert_true(b->n < FX_BLOBS);
		b->v[b->n] = malloc(n);
		assert_non_null(b->v[b->n]);
		memcpy(b->v[b->n], p, n);
		b->len[b->n++] = n;
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
}

static inline void fx_blobs_free(struct fx_blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
	b->n = 0;
}

/* Whether any piece of blob b occurs in buf. Long blobs span several
 * pages (overflow pages start with a pointer), so they are looked for
 * piece by piece: FX_PIECE bytes every FX_STRIDE bytes, each piece random
 * ciphertext that cannot occur by chance. */
#define FX_PIECE  32
#define FX_STRIDE 512
static inline int fx_blob_in(const unsigned char *buf, size_t len,
			     const unsigned char *b, size_t n)
{
	if (n < FX_PIECE)
		return fx_contains(buf, len, b, n);
	for (size_t off = 0; off + FX_PIECE <= n; off += FX_STRIDE)
		if (fx_contains(buf, len, b + off, FX_PIECE))
			return 1;
	return 0;
}

/* How many of the blobs occur in the file at path (missing: none). */
static inline size_t fx_blobs_in_file(const char *path,
				      const struct fx_blobs *b)
{
	size_t len, hits = 0;
	unsigned char *buf = fx_slurp(path, &len);

	if (buf == NULL)
		return 0;
	for (size_t i = 0; i < b->n; i++)
		hits += (size_t)fx_blob_in(buf, len, b->v[i], b->len[i]);
	free(buf);
	return hits;
}

/* ---- the register fixture ---------------------------------------------- */

/* A test of a layer below the register (the store) defines
 * FX_NO_REGISTER and keeps its own fixture struct. */
#ifndef FX_NO_REGISTER
#ifndef FX_EXTRA
#define FX_EXTRA
#endif

struct fx {
	char dir[FX_PATH]; /* the scratch folder, removed at teardown */
	char db[FX_PATH];  /* dir/r.db */
	char key[FX_PATH]; /* dir/r.key */
	rk_register *r;	   /* open on db, or NULL */
	char id[RK_ID_LEN + 1];
	FX_EXTRA
};

/* A scratch folder with the register's paths in it, nothing made yet. */
static inline struct fx *fx_paths(const char *tag)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	fx_scratch(f->dir, tag);
	fx_path(f->db, sizeof f->db, f->dir, "r.db");
	fx_path(f->key, sizeof f->key, f->dir, "r.key");
	return f;
}

/* A new register on the policy file (NULL: the seed policy), open in
 * f->r. */
static inline struct fx *fx_open_policy(const char *tag, const char *file)
{
	struct fx *f = fx_paths(tag);

	assert_int_equal(rk_register_init(f->db, f->key,
					  file != NULL ? file : POLICY, &f->r),
			 RK_OK);
	return f;
}

static inline struct fx *fx_open(const char *tag)
{
	return fx_open_policy(tag, NULL);
}

/* Closes the register (if open), removes the folder, frees f. */
static inline void fx_close(struct fx *f)
{
	rk_register_close(f->r);
	f->r = NULL;
	fx_rm_tree(f->dir);
	free(f);
}

static inline int fx_teardown(void **state)
{
	fx_close(*state);
	return 0;
}

/* Adds a subject of kind from the field/value pairs in ap, which end at a
 * NULL field (a pair with a NULL field ends the list early, so an optional
 * field can be left out by a condition). strict: the fields must be
 * accepted (asserted); otherwise nothing is asserted, for threads and
 * forked children, and the first refusal is returned. */
static inline rk_status fx_subject_va(rk_register *r, const char *kind,
				      char id[RK_ID_LEN + 1], int strict,
				      va_list ap)
{
	rk_fields *fl = rk_fields_new();
	const char *field;
	rk_status st = fl != NULL ? RK_OK : RK_ESYS;

	if (strict)
		assert_non_null(fl);
	while (st == RK_OK && (field = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);

		st = rk_fields_add(fl, field, value);
		if (strict)
			assert_int_equal(st, RK_OK);
	}
	if (st == RK_OK)
		st = rk_subject_add(r, kind, fl, NULL, NULL, id);
	rk_fields_free(fl);
	return st;
}

/* The fields must be accepted; the subject's own status is returned. */
static inline rk_status fx_subject_try(rk_register *r, const char *kind,
				       char id[RK_ID_LEN + 1], ...)
{
	rk_status st;
	va_list ap;

	va_start(ap, id);
	st = fx_subject_va(r, kind, id, 1, ap);
	va_end(ap);
	return st;
}

/* Asserts nothing: the first refusal (of a field or the subject). */
static inline rk_status fx_subject_quiet(rk_register *r, const char *kind,
					 char id[RK_ID_LEN + 1], ...)
{
	rk_status st;
	va_list ap;

	va_start(ap, id);
	st = fx_subject_va(r, kind, id, 0, ap);
	va_end(ap);
	return st;
}

/* As fx_subject_try, and the subject must be added. */
#define fx_subject(r, kind, id, ...)                                           \
	assert_int_equal(fx_subject_try((r), (kind), (id), __VA_ARGS__), RK_OK)

/* The audit trail and the row MACs verify. */
static inline void fx_verify_ok(rk_register *r)
{
	rk_audit_report rep;

	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	assert_int_equal(rk_integrity_verify(r, &rep), RK_OK);
}

#endif /* FX_NO_REGISTER */

#endif
