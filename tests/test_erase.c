/*
 * test_erase.c: erasure and restriction through the public API on real
 * SQLite files with the seed policy. After an erasure no ciphertext of the
 * subject, and not its wrapped data key, is left in the database file or
 * its WAL (byte search of what was stored before); the voucher a legal
 * hold keeps survives, sealed anew; a dry run changes nothing; an old
 * backup restored does not bring the subject back. A restricted subject is
 * read only for the legal-claims purpose.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "rekisteri.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif
#define POLICY	 RK_SOURCE_DIR "/policies/ocr-factory.json"
#define PATH_CAP 4096
#define MARK	 "RKMARK-erasure-3b71c0-plaintext"
#define BLOBS	 256

struct fx {
	char dir[PATH_CAP];
	char db[PATH_CAP];
	char key[PATH_CAP];
	char bak[PATH_CAP];
	char att[PATH_CAP];
	rk_register *r;
	char id[RK_ID_LEN + 1];
	char other[RK_ID_LEN + 1];
};

/* Ciphertexts copied out of the database before an erasure. */
struct blobs {
	unsigned char *v[BLOBS];
	size_t len[BLOBS];
	size_t n;
};

static void path_in(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_CAP);
}

static void add_subject(rk_register *r, const char *last, const char *email,
			char id[RK_ID_LEN + 1])
{
	rk_fields *fl = rk_fields_new();

	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "first_name", MARK), RK_OK);
	assert_int_equal(rk_fields_add(fl, "last_name", last), RK_OK);
	assert_int_equal(rk_fields_add(fl, "email", email), RK_OK);
	assert_int_equal(rk_fields_add(fl, "hetu", "131052-308T"), RK_OK);
	assert_int_equal(rk_subject_add(r, "customer", fl, NULL, NULL, id),
			 RK_OK);
	rk_fields_free(fl);
}

static void add_record(struct fx *f, const char *id, const char *type,
		       const char *json, const char *attach)
{
	int64_t rec = 0;
	rk_status st = rk_record_add(f->r, id, type, json, attach,
				     attach ? "audio/wav" : NULL, NULL, &rec);

	if (st != RK_OK)
		print_error("%s: %s\n", type, rk_errmsg(f->r));
	assert_int_equal(st, RK_OK);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	FILE *a;

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/rk-erase-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	path_in(f->db, f->dir, "r.db");
	path_in(f->key, f->dir, "r.key");
	path_in(f->bak, f->dir, "b.db");
	path_in(f->att, f->dir, "call.wav");
	a = fopen(f->att, "wb");
	assert_non_null(a);
	for (int i = 0; i < 3000; i++)
		fputs(MARK, a);
	fclose(a);
	assert_int_equal(rk_register_init(f->db, f->key, POLICY, &f->r), RK_OK);
	add_subject(f->r, "Poistettava", "poistettava@example.com", f->id);
	add_subject(f->r, "Jatkaja", "jatkaja@example.com", f->other);
	add_record(f, f->id, "payment",
		   "{\"amount\": \"12.50\", \"currency\": \"EUR\", "
		   "\"method\": \"card\", \"card_token\": \"tok_" MARK "\", "
		   "\"card_last4\": \"4242\"}",
		   NULL);
	add_record(f, f->id, "feedback",
		   "{\"kind\": \"complaint\", \"text\": \"" MARK "\"}", NULL);
	add_record(f, f->id, "communication",
		   "{\"channel\": \"call\", \"direction\": \"inbound\", "
		   "\"text\": \"" MARK "\"}",
		   f->att);
	add_record(f, f->other, "feedback",
		   "{\"kind\": \"feedback\", \"text\": \"kiitos\"}", NULL);
	assert_int_equal(rk_consent_set(f->r, f->id, "email_marketing", 1,
					"web", "form " MARK),
			 RK_OK);
	assert_int_equal(rk_cookie_link(f->r, f->id, "cookie-" MARK), RK_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[PATH_CAP + 16];

	rk_register_close(f->r);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void blobs_collect(struct blobs *b, const char *db, const char *sql,
			  const char *id)
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
		assert_true(b->n < BLOBS);
		b->v[b->n] = malloc(n);
		assert_non_null(b->v[b->n]);
		memcpy(b->v[b->n], p, n);
		b->len[b->n++] = n;
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
}

/* Every ciphertext of the subject and its wrapped data key. */
static void subject_blobs(struct blobs *b, const char *db, const char *id)
{
	memset(b, 0, sizeof *b);
	blobs_collect(b, db, "SELECT wrapped_key FROM subject WHERE id = ?1",
		      id);
	blobs_collect(b, db,
		      "SELECT ciphertext FROM value WHERE subject_id = ?1", id);
	blobs_collect(b, db,
		      "SELECT ciphertext FROM record WHERE subject_id = ?1",
		      id);
	blobs_collect(b, db,
		      "SELECT c.ciphertext FROM attachment_chunk c JOIN"
		      " record r ON r.id = c.record_id WHERE r.subject_id = ?1",
		      id);
	blobs_collect(b, db,
		      "SELECT evidence FROM consent WHERE subject_id = ?1", id);
}

static void blobs_free(struct blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
}

static unsigned char *slurp(const char *path, size_t *len)
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
	*len = (size_t)sb.st_size;
	return buf;
}

static int contains(const unsigned char *hay, size_t n, const void *needle,
		    size_t m)
{
	for (size_t i = 0; m > 0 && i + m <= n; i++)
		if (hay[i] == *(const unsigned char *)needle &&
		    memcmp(hay + i, needle, m) == 0)
			return 1;
	return 0;
}

/* Whether any piece of blob b occurs in buf. Long blobs span several
 * pages (overflow pages start with a pointer), so they are looked for
 * piece by piece: PIECE bytes every STRIDE bytes, each piece random
 * ciphertext that cannot occur by chance. */
#define PIECE  32
#define STRIDE 512
static int blob_in(const unsigned char *buf, size_t len, const unsigned char *b,
		   size_t n)
{
	if (n < PIECE)
		return contains(buf, len, b, n);
	for (size_t off = 0; off + PIECE <= n; off += STRIDE)
		if (contains(buf, len, b + off, PIECE))
			return 1;
	return 0;
}

/* How many of the blobs (and the plaintext mark) occur in the file. */
static size_t found_in(const char *path, const struct blobs *b, int *mark)
{
	size_t len, hits = 0;
	unsigned char *buf = slurp(path, &len);

	*mark = 0;
	if (buf == NULL)
		return 0;
	for (size_t i = 0; i < b->n; i++)
		hits += (size_t)blob_in(buf, len, b->v[i], b->len[i]);
	*mark = contains(buf, len, MARK, strlen(MARK));
	free(buf);
	return hits;
}

static int64_t count(const char *db, const char *sql)
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

static void expect_intact(rk_register *r)
{
	rk_audit_report rep;

	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	assert_int_equal(rk_integrity_verify(r, &rep), RK_OK);
}

/* The blobs are there before, so the search can find them; afterwards
 * none is, in the file or its WAL; the voucher is held, the rest gone. */
static void test_erase_leaves_nothing_that_opens(void **state)
{
	struct fx *f = *state;
	char wal[PATH_CAP + 8], *receipt = NULL;
	struct blobs b;
	rk_subject *s = NULL;
	json_t *j, *kept;
	int mark = 0;

	snprintf(wal, sizeof wal, "%s-wal", f->db);
	subject_blobs(&b, f->db, f->id);
	/* wrapped key, 4 values, 3 records, 3 chunks, 1 evidence */
	assert_true(b.n >= 11);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	assert_true(found_in(f->db, &b, &mark) + found_in(wal, &b, &mark) >=
		    b.n);

	assert_int_equal(rk_erase(f->r, f->id, 0, &receipt), RK_OK);
	j = json_loads(receipt, 0, NULL);
	assert_non_null(j);
	kept = json_object_get(j, "kept");
	assert_int_equal(json_array_size(kept), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(kept, 0), "type")),
			    "payment");
	assert_true(json_is_true(json_object_get(j, "log_cleared")));
	assert_null(strstr(receipt, MARK));
	assert_null(strstr(receipt, "Poistettava"));
	json_decref(j);
	rk_free(receipt);

	assert_int_equal(found_in(f->db, &b, &mark), 0);
	assert_false(mark);
	assert_int_equal(found_in(wal, &b, &mark), 0);
	assert_false(mark);
	blobs_free(&b);

	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_ENOTFOUND);
	assert_int_equal(count(f->db, "SELECT count(*) FROM held_record"), 1);
	assert_int_equal(count(f->db, "SELECT count(*) FROM held_record WHERE"
				      " type = 'payment' AND hold_until >"
				      " date('now')"),
			 1);
	assert_int_equal(count(f->db, "SELECT count(*) FROM record"), 1);
	assert_int_equal(count(f->db, "SELECT count(*) FROM cookie"), 0);
	assert_int_equal(count(f->db, "SELECT count(*) FROM consent"), 0);
	assert_int_equal(count(f->db, "SELECT count(*) FROM attachment_chunk"),
			 0);
	/* The other subject is untouched. */
	assert_int_equal(rk_subject_get(f->r, f->other, NULL, &s), RK_OK);
	rk_subject_free(s);
	expect_intact(f->r);
	/* A second erasure says when the first was. */
	assert_int_equal(rk_erase(f->r, f->id, 0, &receipt), RK_ENOTFOUND);
	assert_non_null(strstr(rk_errmsg(f->r), "erased on"));
}

static void test_dry_run_changes_nothing(void **state)
{
	struct fx *f = *state;
	char *receipt = NULL;
	rk_subject *s = NULL;
	json_t *j;

	assert_int_equal(rk_erase(f->r, f->id, RK_ERASE_DRY_RUN, &receipt),
			 RK_OK);
	j = json_loads(receipt, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "dry_run")));
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(j, "erased"), "cookie_links")),
			 1);
	json_decref(j);
	rk_free(receipt);
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	/* the four given and the customer number issued */
	assert_int_equal(rk_subject_value_count(s), 5);
	rk_subject_free(s);
	assert_int_equal(count(f->db, "SELECT count(*) FROM held_record"), 0);
	assert_int_equal(count(f->db, "SELECT count(*) FROM erasure"), 0);
	assert_int_equal(count(f->db, "SELECT count(*) FROM cookie"), 1);
	assert_int_equal(rk_erase(f->r, f->id, 8, &receipt), RK_EINVAL);
}

static void test_old_backup_does_not_resurrect(void **state)
{
	struct fx *f = *state;
	char *receipt = NULL;
	rk_subject *s = NULL;

	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	assert_int_equal(rk_erase(f->r, f->id, 0, &receipt), RK_OK);
	rk_free(receipt);
	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_ENOTFOUND);
	assert_int_equal(rk_subject_get(f->r, f->other, NULL, &s), RK_OK);
	rk_subject_free(s);
	/* The held voucher is not the backup's to take or give back. */
	assert_int_equal(count(f->db, "SELECT count(*) FROM held_record"), 1);
	assert_int_equal(count(f->db, "SELECT count(*) FROM record WHERE"
				      " subject_id NOT IN (SELECT id FROM"
				      " subject)"),
			 0);
	expect_intact(f->r);
}

/* Only the administrator or a role that may audit erases. */
static void test_erase_needs_the_right_role(void **state)
{
	struct fx *f = *state;
	char tok[RK_TOKEN_LEN + 1], *receipt = NULL;
	rk_register *h = NULL;
	rk_subject *s = NULL;

	assert_int_equal(rk_actor_add(f->r, "cs-1", "customer_service", tok),
			 RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs-1", tok), RK_OK);
	assert_int_equal(rk_erase(h, f->id, 0, &receipt), RK_EREFUSED);
	assert_null(receipt);
	assert_int_equal(rk_restrict(h, f->id, "asked by phone"), RK_EREFUSED);
	rk_register_close(h);
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	rk_subject_free(s);
}

static void test_restriction(void **state)
{
	struct fx *f = *state;
	char tok[RK_TOKEN_LEN + 1], *json = NULL;
	rk_register *h = NULL;
	rk_subject *s = NULL;
	rk_decision d;
	rk_fields *fl;
	int on = -1;
	int64_t rec = 0;

	assert_int_equal(rk_restrict(f->r, f->id, NULL), RK_EINVAL);
	assert_int_equal(rk_restrict(f->r, f->id, "accuracy contested"), RK_OK);
	assert_int_equal(rk_restrict(f->r, f->id, "again"), RK_EINVAL);
	assert_int_equal(rk_restricted(f->r, f->id, &on), RK_OK);
	assert_int_equal(on, 1);
	assert_int_equal(
		rk_subject_get(f->r, f->id, "customer_relationship", &s),
		RK_EREFUSED);
	assert_non_null(strstr(rk_errmsg(f->r), "restricted"));
	assert_int_equal(rk_record_list(f->r, f->id, NULL, "orders", &json),
			 RK_EREFUSED);
	assert_int_equal(rk_record_add(f->r, f->id, "feedback",
				       "{\"kind\": \"feedback\", \"text\": "
				       "\"x\"}",
				       NULL, NULL, NULL, &rec),
			 RK_EREFUSED);
	assert_int_equal(rk_may_contact(f->r, f->id, "email", 0, &d), RK_OK);
	assert_int_equal(d.allowed, 0);
	assert_non_null(strstr(d.rule, "restricted"));
	/* The legal-claims purpose of the policy still reads it. */
	assert_int_equal(rk_subject_get(f->r, f->id, "misuse_prevention", &s),
			 RK_OK);
	assert_true(rk_subject_value_count(s) > 0);
	rk_subject_free(s);
	/* Rectification stays possible. */
	fl = rk_fields_new();
	assert_int_equal(rk_fields_add(fl, "last_name", "Korjattu"), RK_OK);
	assert_int_equal(rk_subject_update(f->r, f->id, fl, NULL, NULL), RK_OK);
	rk_fields_free(fl);
	/* Another subject is not touched by it. */
	assert_int_equal(rk_subject_get(f->r, f->other, NULL, &s), RK_OK);
	rk_subject_free(s);
	/* A role without the legal-claims purpose cannot read it at all. */
	assert_int_equal(rk_actor_add(f->r, "cs-2", "customer_service", tok),
			 RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs-2", tok), RK_OK);
	assert_int_equal(rk_subject_get(h, f->id, NULL, &s), RK_EREFUSED);
	rk_register_close(h);
	/* The ledger shows it, with its reason. */
	assert_int_equal(rk_consent_history(f->r, f->id, &json), RK_OK);
	assert_non_null(strstr(json, "rk:restriction"));
	assert_non_null(strstr(json, "accuracy contested"));
	rk_free_secret(json);

	assert_int_equal(rk_unrestrict(f->r, f->id, "subject told"), RK_OK);
	assert_int_equal(rk_restricted(f->r, f->id, &on), RK_OK);
	assert_int_equal(on, 0);
	assert_int_equal(
		rk_subject_get(f->r, f->id, "customer_relationship", &s),
		RK_OK);
	rk_subject_free(s);
	expect_intact(f->r);
}

/* The restriction lives in the chained ledger: removing its entry with
 * the sqlite3 library is caught, not obeyed. */
static void test_restriction_cannot_be_removed_without_the_key(void **state)
{
	struct fx *f = *state;
	sqlite3 *h = NULL;
	rk_subject *s = NULL;

	assert_int_equal(rk_restrict(f->r, f->id, "legal claim pending"),
			 RK_OK);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
				      "DELETE FROM consent WHERE scope ="
				      " 'rk:restriction'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(
		rk_subject_get(f->r, f->id, "customer_relationship", &s),
		RK_EINTEGRITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_erase_leaves_nothing_that_opens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_old_backup_does_not_resurrect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erase_needs_the_right_role,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restriction, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_restriction_cannot_be_removed_without_the_key,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
