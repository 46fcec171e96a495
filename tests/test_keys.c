/*
 * test_keys.c: master key rotation (and its recovery after a crash at each
 * step), online backups under a running write load, and checked restores
 * that keep erased subjects erased.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "crypto.h"
#include "register.h"
#include "rekisteri.h"
#include "store.h"

#define FX_EXTRA                                                               \
	char keynew[FX_PATH];                                                  \
	char bak[FX_PATH];
#include "fixture.h"

static int setup(void **state)
{
	struct fx *f = fx_open("keys");

	fx_path(f->keynew, sizeof f->keynew, f->dir, "r.key.new");
	fx_path(f->bak, sizeof f->bak, f->dir, "backup.db");
	*state = f;
	return 0;
}

/* A customer with exactly three fields (plus the issued customer number). */
static rk_status add3(rk_register *r, int n, char id[RK_ID_LEN + 1])
{
	char last[32], email[64];

	snprintf(last, sizeof last, "Testinen%d", n);
	snprintf(email, sizeof email, "testi.%d@example.com", n);
	return fx_subject_quiet(r, "customer", id, "first_name", "Testi",
				"last_name", last, "email", email, NULL);
}

static int file_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static int same_file_content(const char *a, const char *b)
{
	char ca[256], cb[256];
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	size_t na, nb;
	int same;

	assert_non_null(fa);
	assert_non_null(fb);
	na = fread(ca, 1, sizeof ca, fa);
	nb = fread(cb, 1, sizeof cb, fb);
	fclose(fa);
	fclose(fb);
	same = na == nb && memcmp(ca, cb, na) == 0;
	return same;
}

/* The subject's values as one "field=value;" string, for comparisons. */
static void values_of(rk_register *r, const char *id, char *out, size_t cap)
{
	rk_subject *s = NULL;
	size_t off = 0;

	assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_OK);
	out[0] = '\0';
	for (size_t i = 0; i < rk_subject_value_count(s); i++) {
		const rk_value *v = rk_subject_value(s, i);
		int n = snprintf(out + off, cap - off, "%s=%s;", v->field,
				 v->value);
		assert_true(n > 0 && (size_t)n < cap - off);
		off += (size_t)n;
	}
	rk_subject_free(s);
}

/* Reads a subject's wrapped data key straight from the database file. */
static void raw_wrapped_key(const char *db, const char *id,
			    unsigned char w[SEC_WRAPPED_BYTES])
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT wrapped_key FROM subject"
					    " WHERE id = ?1",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(s, 0), SEC_WRAPPED_BYTES);
	memcpy(w, sqlite3_column_blob(s, 0), SEC_WRAPPED_BYTES);
	sqlite3_finalize(s);
	sqlite3_close(h);
}

static void expect_intact(rk_register *r)
{
	rk_audit_report rep;

	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	assert_int_equal(rep.first_bad, 0);
}

struct find_action {
	const char *want;
	int64_t seq; /* of the last entry with that action, 0 if none */
};

static int find_action(void *ud, const rk_audit_entry *e)
{
	struct find_action *fa = ud;

	if (strcmp(e->action, fa->want) == 0)
		fa->seq = e->seq;
	return 0;
}

/* After a rotation every value reads as before, lookups work, and the old
 * key opens nothing: neither the register nor any subject key. */
static void test_rotate(void **state)
{
	struct fx *f = *state;
	char ids[3][RK_ID_LEN + 1], before[3][1024], after[1024];
	char old[160];
	unsigned char w[SEC_WRAPPED_BYTES];
	unsigned char *ok = sec_key_alloc(), *nk = sec_key_alloc();
	unsigned char *dk = sec_key_alloc();
	char err[256];
	rk_register *r2 = NULL;
	rk_list *l = NULL;
	struct find_action fa = {"key.rotate", 0};
	int i;

	assert_non_null(ok);
	assert_non_null(nk);
	assert_non_null(dk);
	/* More than one page (500) of subjects, in one bulk transaction. */
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	for (i = 0; i < 1103; i++) {
		char id[RK_ID_LEN + 1];
		assert_int_equal(add3(f->r, i, id), RK_OK);
		if (i == 0 || i == 600 || i == 1102)
			memcpy(ids[i == 0     ? 0
				   : i == 600 ? 1
					      : 2],
			       id, sizeof id);
	}
	assert_int_equal(rk_register_commit(f->r), RK_OK);
	for (i = 0; i < 3; i++)
		values_of(f->r, ids[i], before[i], sizeof before[i]);
	fx_path(old, sizeof old, f->dir, "old.key");
	fx_copy_file(f->key, old);

	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	assert_false(file_exists(f->keynew));
	assert_false(same_file_content(old, f->key));
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"), 1103);
	/* The same handle goes on with the new key. */
	for (i = 0; i < 3; i++) {
		values_of(f->r, ids[i], after, sizeof after);
		assert_string_equal(after, before[i]);
	}
	expect_intact(f->r);

	/* A fresh handle with the new key file. */
	assert_int_equal(rk_register_open(f->db, f->key, &r2), RK_OK);
	for (i = 0; i < 3; i++) {
		values_of(r2, ids[i], after, sizeof after);
		assert_string_equal(after, before[i]);
	}
	assert_int_equal(
		rk_subject_find(r2, "email", "testi.600@example.com", NULL, &l),
		RK_OK);
	assert_int_equal(rk_list_count(l), 1);
	assert_string_equal(rk_list_id(l, 0), ids[1]);
	rk_list_free(l);
	expect_intact(r2);
	assert_int_equal(rk_audit_log(r2, NULL, find_action, &fa), RK_OK);
	assert_true(fa.seq > 0);
	rk_register_close(r2);
	r2 = NULL;

	/* The old key opens nothing. */
	assert_int_equal(rk_register_open(f->db, old, &r2), RK_EINTEGRITY);
	rk_register_close(r2);
	assert_int_equal(sec_keyfile_load(old, ok, err, sizeof err), 0);
	assert_int_equal(sec_keyfile_load(f->key, nk, err, sizeof err), 0);
	for (i = 0; i < 3; i++) {
		raw_wrapped_key(f->db, ids[i], w);
		assert_int_equal(sec_unwrap(ok, ids[i], w, dk), -1);
		assert_int_equal(sec_unwrap(nk, ids[i], w, dk), 0);
	}
	sec_key_free(ok);
	sec_key_free(nk);
	sec_key_free(dk);
}

/* A handle opened before another one rotated the key takes the new key
 * at its next write (it wraps only after that check) or read; the keys it
 * wraps open with the key file. */
static void test_other_handle_follows_rotation(void **state)
{
	struct fx *f = *state;
	rk_register *h2 = NULL, *h3 = NULL;
	char id[RK_ID_LEN + 1], v2[1024], v3[1024];
	int64_t before;

	assert_int_equal(rk_register_open(f->db, f->key, &h2), RK_OK);
	assert_int_equal(add3(h2, 1, id), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h3), RK_OK);
	values_of(h3, id, v3, sizeof v3); /* a read entry, queued */
	before = fx_count(f->db, "SELECT count(*) FROM audit");
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	/* Closing after the rotation still commits the queued entry. */
	rk_register_close(h3);
	h3 = NULL;
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"),
			 before + 2);
	assert_int_equal(add3(h2, 2, id), RK_OK);
	values_of(h2, id, v2, sizeof v2);
	assert_int_equal(rk_register_open(f->db, f->key, &h3), RK_OK);
	values_of(h3, id, v3, sizeof v3);
	assert_string_equal(v2, v3);
	/* a reader opened before a rotation reads on after it */
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	values_of(h3, id, v3, sizeof v3);
	assert_string_equal(v2, v3);
	/* and it can rotate again from the current key */
	assert_int_equal(rk_key_rotate(h2), RK_OK);
	values_of(h2, id, v2, sizeof v2);
	rk_register_close(h2);
	rk_register_close(h3);
	h3 = NULL;
	assert_int_equal(rk_register_open(f->db, f->key, &h3), RK_OK);
	values_of(h3, id, v3, sizeof v3);
	assert_string_equal(v2, v3);
	rk_register_close(h3);
}

/* A reader whose handle was opened before a rotation, reading in the moment
 * after its commit and before its rename (the database on the new key, the
 * key file still the old one, the new key in ".new"), reads and finds
 * subjects; it never reports an integrity failure. */
static void test_reader_between_commit_and_rename(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], before[1024], after[1024], old[160];
	rk_register *h = NULL, *h2 = NULL;
	rk_list *l = NULL;

	assert_int_equal(add3(f->r, 5, id), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	values_of(h, id, before, sizeof before);
	fx_path(old, sizeof old, f->dir, "old.key");
	fx_copy_file(f->key, old);
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	fx_copy_file(f->key, f->keynew);
	fx_copy_file(old, f->key);

	values_of(h, id, after, sizeof after);
	assert_string_equal(after, before);
	assert_int_equal(
		rk_subject_find(h, "email", "testi.5@example.com", NULL, &l),
		RK_OK);
	assert_int_equal(rk_list_count(l), 1);
	rk_list_free(l);
	/* A handle opened now too (it finishes the rename itself). */
	assert_int_equal(rk_register_open(f->db, f->key, &h2), RK_OK);
	values_of(h2, id, after, sizeof after);
	assert_string_equal(after, before);
	rk_register_close(h2);
	rk_register_close(h);
}

struct reader {
	const char *db;
	const char *key;
	const char *id;
	volatile int stop;
	int reads;
	int failures;
	rk_status first;
	char msg[256];
};

static void reader_failed(struct reader *R, rk_register *r, rk_status st)
{
	if (R->failures++ == 0) {
		R->first = st;
		snprintf(R->msg, sizeof R->msg, "%s", rk_errmsg(r));
	}
}

/* Reads and looks up one subject on a long-lived handle, and on a handle
 * opened afresh each time (as separate CLI runs do), until told to stop. */
static void *read_loop(void *arg)
{
	struct reader *R = arg;
	rk_register *r = NULL, *o = NULL;
	rk_subject *s = NULL;
	rk_list *l = NULL;
	rk_status st;

	if (rk_register_open(R->db, R->key, &r) != RK_OK) {
		reader_failed(R, r, RK_ESYS);
		rk_register_close(r);
		return NULL;
	}
	while (!R->stop && R->reads < 100000) {
		st = rk_subject_get(r, R->id, NULL, &s);
		rk_subject_free(s);
		s = NULL;
		if (st != RK_OK)
			reader_failed(R, r, st);
		st = rk_subject_find(r, "email", "testi.3@example.com", NULL,
				     &l);
		rk_list_free(l);
		l = NULL;
		if (st != RK_OK)
			reader_failed(R, r, st);
		st = rk_register_open(R->db, R->key, &o);
		if (st == RK_OK)
			st = rk_subject_get(o, R->id, NULL, &s);
		rk_subject_free(s);
		s = NULL;
		if (st != RK_OK)
			reader_failed(R, o, st);
		rk_register_close(o);
		o = NULL;
		R->reads++;
	}
	rk_register_close(r);
	return NULL;
}

/* Readers running during rotations wait or retry: no false integrity
 * failure, no lookup that misses. */
static void test_readers_during_rotations(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1];
	struct reader R;
	pthread_t t;
	rk_status rot = RK_OK;
	int i;

	assert_int_equal(add3(f->r, 3, id), RK_OK);
	memset(&R, 0, sizeof R);
	R.db = f->db;
	R.key = f->key;
	R.id = id;
	assert_int_equal(pthread_create(&t, NULL, read_loop, &R), 0);
	while (R.reads < 3 && R.failures == 0)
		usleep(1000);
	/* No assertion while the reader runs: it must be joined first. */
	for (i = 0; i < 40 && rot == RK_OK; i++)
		rot = rk_key_rotate(f->r);
	R.stop = 1;
	pthread_join(t, NULL);
	assert_int_equal(rot, RK_OK);
	if (R.failures != 0)
		print_error("%d failed reads, the first (status %d): %s\n",
			    R.failures, (int)R.first, R.msg);
	assert_int_equal(R.failures, 0);
	assert_true(R.reads > 3);
}

/* The public key and the entry a checkpoint file names. */
static int64_t checkpoint_pk(const char *path, unsigned char pk[32])
{
	char text[1024], *p, *q;
	FILE *fp = fopen(path, "r");
	size_t n;
	int64_t seq;

	assert_non_null(fp);
	n = fread(text, 1, sizeof text - 1, fp);
	fclose(fp);
	text[n] = '\0';
	q = strstr(text, "\nseq: ");
	assert_non_null(q);
	seq = strtoll(q + 6, NULL, 10);
	assert_true(seq > 0);
	p = strstr(text, "\nkey: ");
	assert_non_null(p);
	p[6 + 64] = '\0';
	assert_int_equal(sec_unhex(p + 6, pk, 32), 0);
	return seq;
}

/* The checkpoint signing key is replaced by a rotation; the register keeps
 * the old public key, sealed under the master key, with the last entry it
 * could have signed: checkpoints it signed are still recognised as the
 * register's own, and it vouches for nothing newer. */
static void test_rotate_replaces_signing_key(void **state)
{
	struct fx *f = *state;
	char cp[160], cp2[160], id[RK_ID_LEN + 1];
	unsigned char pk1[32], pk2[32];
	rk_audit_report rep;
	rk_register *r2 = NULL;
	int64_t seq1, seq2;

	fx_path(cp, sizeof cp, f->dir, "cp");
	fx_path(cp2, sizeof cp2, f->dir, "cp2");
	assert_int_equal(add3(f->r, 1, id), RK_OK);
	assert_int_equal(rk_audit_checkpoint(f->r, cp), RK_OK);
	seq1 = checkpoint_pk(cp, pk1);
	assert_int_equal(keys_sign_pk_known(f->r, pk1, seq1), 0);
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &r2), RK_OK);
	assert_int_equal(keys_sign_pk_known(r2, pk1, seq1), 1);
	assert_int_equal(rk_audit_checkpoint(r2, cp2), RK_OK);
	seq2 = checkpoint_pk(cp2, pk2);
	assert_memory_not_equal(pk1, pk2, 32);
	assert_int_equal(rk_audit_verify_checkpoint(r2, cp2, &rep), RK_OK);
	/* the old key vouches for nothing after its rotation */
	assert_int_equal(keys_sign_pk_known(r2, pk1, seq2), 0);
	/* once more: both older keys are kept, each with its bound */
	assert_int_equal(rk_key_rotate(r2), RK_OK);
	assert_int_equal(keys_sign_pk_known(r2, pk1, seq1), 1);
	assert_int_equal(keys_sign_pk_known(r2, pk2, seq2), 1);
	assert_int_equal(keys_sign_pk_known(r2, pk2, seq2 + 100), 0);
	rk_register_close(r2);
}

/* The index key is replaced by a rotation and the blind index rebuilt
 * with it: look-ups go on working, the old index key finds nothing, and
 * cookie identifiers linked before the rotation still resolve. */
static void test_rotate_replaces_index_key(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1];
	unsigned char old_ikey[SEC_KEY_BYTES], h[SEC_BIDX_BYTES];
	int64_t rid = 0;
	rk_list *l = NULL;

	assert_int_equal(add3(f->r, 4, id), RK_OK);
	assert_int_equal(rk_cookie_link(f->r, id, "cookie-abc-123"), RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, id, "analytics_cookies", 1, "web", NULL),
		RK_OK);
	memcpy(old_ikey, f->r->ikey, sizeof old_ikey);
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	assert_memory_not_equal(old_ikey, f->r->ikey, sizeof old_ikey);
	assert_int_equal(
		rk_subject_find(f->r, "email", "testi.4@example.com", NULL, &l),
		RK_OK);
	assert_int_equal(rk_list_count(l), 1);
	rk_list_free(l);
	sec_blind_index(old_ikey, "email", "testi.4@example.com", h);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM value"
					 " WHERE bidx IS NOT NULL"),
			 fx_count(f->db, "SELECT count(*) FROM value WHERE"
					 " field IN ('email',"
					 " 'customer_number')"));
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		assert_int_equal(
			sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db,
						    "SELECT count(*) FROM value"
						    " WHERE bidx = ?1",
						    -1, &q, NULL),
				 SQLITE_OK);
		sqlite3_bind_blob(q, 1, h, sizeof h, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	assert_int_equal(
		rk_record_add_by_cookie(f->r, "cookie-abc-123", "browsing",
					"{\"url\": \"https://example.com/\", "
					"\"at\": \"2024-05-01T10:00:00Z\"}",
					"analytics", &rid),
		RK_OK);
	assert_true(rid > 0);
}

/* Crash after the commit, before the rename: the database is on the new
 * key, the key file still holds the old one and the new one is in .new.
 * Opening finishes the rotation. */
static void test_recover_after_commit(void **state)
{
	struct fx *f = *state;
	char old[160], newk[160], id[RK_ID_LEN + 1], before[1024], after[1024];
	rk_register *r2 = NULL;

	assert_int_equal(add3(f->r, 7, id), RK_OK);
	values_of(f->r, id, before, sizeof before);
	fx_path(old, sizeof old, f->dir, "old.key");
	fx_path(newk, sizeof newk, f->dir, "new.key");
	fx_copy_file(f->key, old);
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	rk_register_close(f->r);
	f->r = NULL;
	fx_copy_file(f->key, newk);
	/* The state a crash between steps 2 and 3 leaves behind. */
	fx_copy_file(f->key, f->keynew);
	fx_copy_file(old, f->key);

	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_false(file_exists(f->keynew));
	assert_true(same_file_content(f->key, newk));
	values_of(f->r, id, after, sizeof after);
	assert_string_equal(after, before);
	expect_intact(f->r);
	/* and the old key stays refused */
	assert_int_equal(rk_register_open(f->db, old, &r2), RK_EINTEGRITY);
	rk_register_close(r2);
}

/* Crash before the commit: .new holds a key that wraps nothing. Opening
 * with the (still valid) old key works and removes the stale file. */
static void test_recover_before_commit(void **state)
{
	struct fx *f = *state;
	unsigned char *k = sec_key_alloc();
	char err[256], keep[160], id[RK_ID_LEN + 1];

	assert_non_null(k);
	assert_int_equal(add3(f->r, 8, id), RK_OK);
	rk_register_close(f->r);
	f->r = NULL;
	assert_int_equal(sec_keyfile_create(f->keynew, k, err, sizeof err), 0);
	sec_key_free(k);
	fx_path(keep, sizeof keep, f->dir, "keep.key");
	fx_copy_file(f->key, keep);

	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_false(file_exists(f->keynew));
	assert_true(same_file_content(f->key, keep));
	expect_intact(f->r);
	/* A rotation can run again now. */
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	assert_false(file_exists(f->keynew));
}

/* A .new that matches neither key is left alone, and the wrong key file is
 * refused as usual. */
static void test_recover_leaves_unknown_keys(void **state)
{
	struct fx *f = *state;
	unsigned char *k = sec_key_alloc();
	char err[256], other[160], othernew[170];
	rk_register *r2 = NULL;

	assert_non_null(k);
	fx_path(other, sizeof other, f->dir, "other.key");
	snprintf(othernew, sizeof othernew, "%s.new", other);
	assert_int_equal(sec_keyfile_create(other, k, err, sizeof err), 0);
	assert_int_equal(sec_keyfile_create(othernew, k, err, sizeof err), 0);
	sec_key_free(k);
	assert_int_equal(rk_register_open(f->db, other, &r2), RK_EINTEGRITY);
	rk_register_close(r2);
	assert_true(file_exists(othernew));
	assert_true(file_exists(other));
}

struct loader {
	const char *db;
	const char *key;
	volatile int stop;
	int added;
	int failures;
};

/* Adds subjects on its own handle until told to stop (bounded). */
static void *load(void *arg)
{
	struct loader *L = arg;
	rk_register *r = NULL;
	char id[RK_ID_LEN + 1];

	if (rk_register_open(L->db, L->key, &r) != RK_OK) {
		L->failures = 1;
		rk_register_close(r);
		return NULL;
	}
	while (!L->stop && L->added < 20000) {
		if (add3(r, 100000 + L->added, id) != RK_OK)
			L->failures++;
		else
			L->added++;
	}
	rk_register_close(r);
	return NULL;
}

static void test_backup_under_load_and_restore(void **state)
{
	struct fx *f = *state;
	struct loader L = {f->db, f->key, 0, 0, 0};
	pthread_t t;
	rk_register *b = NULL;
	struct stat sb;
	int64_t nb, i, audit_before;
	char id[RK_ID_LEN + 1];
	rk_subject *s = NULL;
	struct find_action fa = {"register.restore", 0};

	for (i = 0; i < 20; i++)
		assert_int_equal(add3(f->r, (int)i, id), RK_OK);
	assert_int_equal(pthread_create(&t, NULL, load, &L), 0);
	while (L.added < 50 && L.failures == 0)
		usleep(1000);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	L.stop = 1;
	pthread_join(t, NULL);
	assert_int_equal(L.failures, 0);
	assert_int_equal(stat(f->bak, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* The copy is consistent: no subject without its four values. */
	nb = fx_count(f->bak, "SELECT count(*) FROM subject");
	assert_true(nb >= 70);
	assert_int_equal(fx_count(f->bak, "SELECT count(*) FROM subject s WHERE"
					  " (SELECT count(*) FROM value v"
					  " WHERE v.subject_id = s.id) != 4"),
			 0);
	assert_int_equal(rk_register_open(f->bak, f->key, &b), RK_OK);
	expect_intact(b);
	rk_register_close(b);

	/* A backup never overwrites. */
	assert_int_equal(rk_backup(f->r, f->bak), RK_EINVAL);

	/* More writes, then back to the backup's state. */
	for (i = 0; i < 5; i++)
		assert_int_equal(add3(f->r, 500 + (int)i, id), RK_OK);
	assert_true(fx_count(f->db, "SELECT count(*) FROM subject") > nb);
	audit_before = fx_count(f->db, "SELECT count(*) FROM audit");
	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	/* the trail loses nothing: entries made after the backup stay, and
	 * the restore goes on after them */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"),
			 audit_before + 1);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"), nb);
	/* the subject added after the backup is gone */
	assert_int_equal(rk_subject_get(f->r, id, NULL, &s), RK_ENOTFOUND);
	expect_intact(f->r);
	/* the restore is recorded in the chain */
	assert_int_equal(rk_audit_log(f->r, NULL, find_action, &fa), RK_OK);
	assert_true(fa.seq > 0);
	assert_int_equal(rk_register_open(f->db, f->key, &b), RK_OK);
	expect_intact(b);
	rk_register_close(b);
}

/* The customer number a subject was given. */
static long customer_number(rk_register *r, const char *id)
{
	rk_subject *s = NULL;
	long n = -1;

	assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_OK);
	for (size_t i = 0; i < rk_subject_value_count(s); i++)
		if (strcmp(rk_subject_value(s, i)->field, "customer_number") ==
		    0)
			n = strtol(rk_subject_value(s, i)->value, NULL, 10);
	rk_subject_free(s);
	assert_true(n > 0);
	return n;
}

/* A restore brings the data back, not the past: a consent withdrawn, an
 * actor revoked, customer and record numbers handed out since the backup
 * all stay as they are. */
static void test_restore_keeps_what_never_goes_back(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1], c[RK_ID_LEN + 1];
	char token[RK_TOKEN_LEN + 1];
	const char *loc = "{\"latitude\": \"60.17\", \"longitude\": "
			  "\"24.94\", \"recorded_at\": "
			  "\"2026-05-01T12:00:00Z\"}";
	rk_register *h = NULL;
	int64_t r1 = 0, r2 = 0, r3 = 0;
	long nb;
	int given = -1;

	assert_int_equal(add3(f->r, 1, a), RK_OK);
	assert_int_equal(rk_consent_set(f->r, a, "location", 1, "app", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, a, "location", loc, NULL, NULL,
				       "analytics", &r1),
			 RK_OK);
	assert_int_equal(rk_actor_add(f->r, "cs-9", "customer_service", token),
			 RK_OK);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);

	assert_int_equal(rk_consent_set(f->r, a, "location", 0, "app", NULL),
			 RK_OK);
	assert_int_equal(rk_actor_revoke(f->r, "cs-9"), RK_OK);
	assert_int_equal(add3(f->r, 2, b), RK_OK);
	nb = customer_number(f->r, b);
	assert_int_equal(rk_consent_set(f->r, b, "location", 1, "app", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, b, "location", loc, NULL, NULL,
				       "analytics", &r2),
			 RK_OK);

	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	/* b came after the backup: gone */
	assert_int_equal(rk_subject_get(f->r, b, NULL, &(rk_subject *){NULL}),
			 RK_ENOTFOUND);
	/* a's withdrawal stands, and its location data does not come back */
	assert_int_equal(rk_consent_state(f->r, a, "location", &given), RK_OK);
	assert_int_equal(given, 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM record"), 0);
	/* the revoked token stays revoked */
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs-9", token),
			 RK_EREFUSED);
	rk_register_close(h);
	/* numbers handed out are never handed out again */
	assert_int_equal(add3(f->r, 3, c), RK_OK);
	assert_true(customer_number(f->r, c) > nb);
	assert_int_equal(rk_consent_set(f->r, c, "location", 1, "app", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, c, "location", loc, NULL, NULL,
				       "analytics", &r3),
			 RK_OK);
	assert_true(r3 > r2 && r2 > r1);
	expect_intact(f->r);
}

/* What a register looks like from outside, to show that nothing changed. */
struct snapshot {
	int64_t subjects, values, audit;
	char key_id[80];
};

static void snap(const char *db, struct snapshot *s)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	s->subjects = fx_count(db, "SELECT count(*) FROM subject");
	s->values = fx_count(db, "SELECT count(*) FROM value");
	s->audit = fx_count(db, "SELECT count(*) FROM audit");
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT hex(value) FROM meta"
					    " WHERE key = 'master_key_id'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(s->key_id, sizeof s->key_id, "%s",
		 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void expect_same(const struct snapshot *a, const struct snapshot *b)
{
	assert_int_equal(a->subjects, b->subjects);
	assert_int_equal(a->values, b->values);
	assert_string_equal(a->key_id, b->key_id);
}

/* The id of the register's current master key. */
static void current_key_id(const char *db, char out[SEC_KEYID_HEX + 1])
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT value FROM meta"
					    " WHERE key = 'master_key_id'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), SEC_KEYID_HEX);
	memcpy(out, sqlite3_column_blob(st, 0), SEC_KEYID_HEX);
	out[SEC_KEYID_HEX] = '\0';
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* A backup from before a rotation restores on purpose: the old master key
 * is in the keyring, the data keys are wrapped under the current key and
 * the blind index rebuilt. Once that key is retired the backup is refused
 * and the register stays as it was. */
static void test_restore_through_keyring_until_retired(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], late[RK_ID_LEN + 1], oldid[SEC_KEYID_HEX + 1];
	char before[1024], after[1024], *json = NULL;
	struct snapshot s1, s2;
	rk_register *h = NULL;
	rk_subject *s = NULL;
	rk_list *l = NULL;

	assert_int_equal(add3(f->r, 1, id), RK_OK);
	values_of(f->r, id, before, sizeof before);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	current_key_id(f->db, oldid);
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	assert_int_equal(rk_key_list(f->r, &json), RK_OK);
	assert_non_null(strstr(json, oldid));
	assert_non_null(strstr(json, "\"retired\""));
	rk_free(json);
	assert_int_equal(add3(f->r, 2, late), RK_OK);

	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	assert_int_equal(rk_subject_get(f->r, late, NULL, &s), RK_ENOTFOUND);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	values_of(h, id, after, sizeof after);
	assert_string_equal(after, before);
	assert_int_equal(
		rk_subject_find(h, "email", "testi.1@example.com", NULL, &l),
		RK_OK);
	assert_int_equal(rk_list_count(l), 1);
	rk_list_free(l);
	expect_intact(h);
	rk_register_close(h);

	/* Retired: gone for good. */
	assert_int_equal(rk_key_retire(f->r, "nothex"), RK_EINVAL);
	assert_int_equal(rk_key_retire(f->r, "0123456789abcdef"), RK_ENOTFOUND);
	current_key_id(f->db, after);
	assert_int_equal(rk_key_retire(f->r, after), RK_EINVAL);
	assert_int_equal(rk_key_retire(f->r, oldid), RK_OK);
	assert_int_equal(rk_key_list(f->r, &json), RK_OK);
	assert_null(strstr(json, oldid));
	rk_free(json);
	snap(f->db, &s1);
	assert_int_equal(rk_restore(f->r, f->bak), RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "keyring"));
	snap(f->db, &s2);
	expect_same(&s1, &s2);
	expect_intact(f->r);
}

/* Changes one row of a (backup) database file with the sqlite3 library. */
static void tamper(const char *db, const char *sql)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

/* A backup whose values no longer decrypt under their keys (a value moved
 * to another subject, a data key swapped) is refused and nothing changes. */
static void test_restore_refuses_undecryptable(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1], sql[512], bak2[200];
	struct snapshot s1, s2;

	assert_int_equal(add3(f->r, 1, a), RK_OK);
	assert_int_equal(add3(f->r, 2, b), RK_OK);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	fx_path(bak2, sizeof bak2, f->dir, "backup2.db");
	assert_int_equal(rk_backup(f->r, bak2), RK_OK);
	assert_int_equal(add3(f->r, 3, b), RK_OK);
	/* a's last name now sits with b: it was sealed for a */
	snprintf(sql, sizeof sql,
		 "UPDATE value SET ciphertext = (SELECT ciphertext FROM value"
		 " WHERE subject_id = '%s' AND field = 'last_name')"
		 " WHERE subject_id <> '%s' AND field = 'last_name'",
		 a, a);
	tamper(f->bak, sql);
	snap(f->db, &s1);
	assert_int_equal(rk_restore(f->r, f->bak), RK_EINTEGRITY);
	assert_non_null(strstr(rk_errmsg(f->r), "decrypt"));
	assert_null(strstr(rk_errmsg(f->r), "Testinen"));
	snap(f->db, &s2);
	expect_same(&s1, &s2);
	/* the data keys of two subjects swapped */
	tamper(bak2, "UPDATE subject SET wrapped_key = (SELECT wrapped_key"
		     " FROM subject ORDER BY id DESC LIMIT 1)");
	assert_int_equal(rk_restore(f->r, bak2), RK_EINTEGRITY);
	snap(f->db, &s2);
	expect_same(&s1, &s2);
	expect_intact(f->r);
}

/* A live audit trail that does not verify is not replaced silently: the
 * restore is refused and says why; forced, it goes on, keeps a copy of the
 * register as it was and leaves an entry that says so. */
static void test_restore_keeps_broken_trail_as_evidence(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], late[RK_ID_LEN + 1], cmd[300];
	struct snapshot s1, s2;
	struct find_action fa = {"register.restore", 0};
	rk_audit_report rep;
	rk_register *h = NULL;
	int64_t entries;
	const char *copy;

	assert_int_equal(add3(f->r, 1, id), RK_OK);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	assert_int_equal(add3(f->r, 2, late), RK_OK);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	tamper(f->db, "UPDATE audit SET actor = 'someone else' WHERE seq = 2");
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_EINTEGRITY);
	entries = fx_count(f->db, "SELECT count(*) FROM audit");
	snap(f->db, &s1);
	assert_int_equal(rk_restore(f->r, f->bak), RK_EINTEGRITY);
	assert_non_null(strstr(rk_errmsg(f->r), "audit trail"));
	assert_non_null(strstr(rk_errmsg(f->r), "--force"));
	snap(f->db, &s2);
	expect_same(&s1, &s2);
	assert_true(fx_count(f->db, "SELECT count(*) FROM audit") >= entries);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"
					 " WHERE actor = 'someone else'"),
			 1);

	assert_int_equal(rk_restore_ex(f->r, f->bak, RK_RESTORE_FORCE), RK_OK);
	copy = strstr(rk_errmsg(f->r), f->db);
	assert_non_null(copy);
	/* the register as it was, broken trail and all, is kept */
	snprintf(cmd, sizeof cmd, "%s", copy);
	assert_int_equal(fx_count(cmd, "SELECT count(*) FROM audit"
				       " WHERE actor = 'someone else'"),
			 1);
	expect_intact(f->r);
	assert_int_equal(rk_audit_log(f->r, NULL, find_action, &fa), RK_OK);
	assert_true(fa.seq > 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE"
					 " action = 'register.restore' AND"
					 " fields LIKE 'forced%'"),
			 1);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_subject_get(h, late, NULL, &(rk_subject *){NULL}),
			 RK_ENOTFOUND);
	rk_register_close(h);
}

/* A register whose database file is lost comes back from a backup and its
 * key file with one call; an existing file and a wrong key are refused. */
static void test_restore_into_new_file(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], before[1024], after[1024], lost[200];
	char other[200];
	unsigned char *k = sec_key_alloc();
	char err[256];
	rk_register *h = NULL;

	assert_non_null(k);
	assert_int_equal(add3(f->r, 1, id), RK_OK);
	values_of(f->r, id, before, sizeof before);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	rk_register_close(f->r);
	f->r = NULL;
	fx_path(lost, sizeof lost, f->dir, "lost.db");
	assert_int_equal(rename(f->db, lost), 0);

	fx_path(other, sizeof other, f->dir, "other.key");
	assert_int_equal(sec_keyfile_create(other, k, err, sizeof err), 0);
	sec_key_free(k);
	assert_int_equal(rk_restore_new(f->db, other, f->bak, &h), RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(h), "another master key"));
	rk_register_close(h);
	assert_false(file_exists(f->db));
	assert_int_equal(rk_restore_new(lost, f->key, f->bak, &h), RK_EINVAL);
	rk_register_close(h);

	assert_int_equal(rk_restore_new(f->db, f->key, f->bak, &h), RK_OK);
	values_of(h, id, after, sizeof after);
	assert_string_equal(after, before);
	expect_intact(h);
	rk_register_close(h);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE"
					 " action = 'register.restore'"),
			 1);
}

/* Opens a value's ciphertext from the live database with a subject key
 * unwrapped by mk from the wrapped key w: 0 when it opens. */
static int old_key_opens_value(const char *db, const unsigned char *mk,
			       const char *id,
			       const unsigned char w[SEC_WRAPPED_BYTES])
{
	unsigned char *dk = sec_key_alloc(), pt[256];
	sqlite3 *h = NULL;
	sqlite3_stmt *q = NULL;
	int rc = -1;

	assert_non_null(dk);
	if (sec_unwrap(mk, id, w, dk) != 0)
		goto out;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT ciphertext FROM value"
					    " WHERE subject_id = ?1 AND"
					    " field = 'email'",
					    -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true((size_t)sqlite3_column_bytes(q, 0) < sizeof pt);
	rc = sec_open(dk, id, "email", sqlite3_column_blob(q, 0),
		      (size_t)sqlite3_column_bytes(q, 0), pt);
	sqlite3_finalize(q);
	sqlite3_close(h);
out:
	sec_key_free(dk);
	return rc;
}

static void stop_after_first(void *ud, uint64_t done, uint64_t total)
{
	(void)ud;
	(void)total;
	if (done > 0)
		_exit(0); /* a crash after the first batch committed */
}

/* Re-encryption under new data keys: everything still reads, an old master
 * key with an old backup no longer opens today's data (after a plain
 * rotation it still does), and a run that crashed goes on where it
 * stopped. */
static void test_reencrypt(void **state)
{
	struct fx *f = *state;
	char ids[150][RK_ID_LEN + 1], before[1024], after[1024], cp[160];
	char old[160], att[160], out[160], *hist = NULL;
	unsigned char w0[SEC_WRAPPED_BYTES], w1[SEC_WRAPPED_BYTES];
	unsigned char *ok = sec_key_alloc();
	char err[256];
	int64_t rid = 0;
	pid_t pid;
	int status, i;
	FILE *fp;

	assert_non_null(ok);
	assert_int_equal(rk_register_begin(f->r), RK_OK);
	for (i = 0; i < 150; i++)
		assert_int_equal(add3(f->r, i, ids[i]), RK_OK);
	assert_int_equal(rk_register_commit(f->r), RK_OK);
	assert_int_equal(rk_consent_set(f->r, ids[7], "email_marketing", 1,
					"web", "signed the form at the fair"),
			 RK_OK);
	fx_path(att, sizeof att, f->dir, "call.txt");
	fp = fopen(att, "w");
	assert_non_null(fp);
	for (i = 0; i < 20000; i++)
		fputs("recording ", fp);
	fclose(fp);
	assert_int_equal(rk_record_add(f->r, ids[7], "communication",
				       "{\"channel\": \"call\", "
				       "\"direction\": \"inbound\", \"text\": "
				       "\"a call\"}",
				       att, "text/plain", NULL, &rid),
			 RK_OK);
	values_of(f->r, ids[7], before, sizeof before);
	fx_path(old, sizeof old, f->dir, "old.key");
	fx_copy_file(f->key, old);
	assert_int_equal(sec_keyfile_load(old, ok, err, sizeof err), 0);
	raw_wrapped_key(f->db, ids[7], w0); /* what an old backup holds */

	/* A plain rotation re-wraps: the old key with the old wrapped key
	 * still opens today's ciphertext. */
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	assert_int_equal(old_key_opens_value(f->db, ok, ids[7], w0), 0);

	/* Re-encryption that crashes after its first batch... */
	rk_register_close(f->r);
	f->r = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rk_register *c = NULL;
		if (rk_register_open(f->db, f->key, &c) != RK_OK ||
		    rk_key_reencrypt(c, 1, stop_after_first, NULL) != RK_OK)
			_exit(3);
		_exit(4); /* never gets here: more than one batch */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(rk_key_reencrypt_pending(f->r), 1);
	/* ...goes on where it stopped. */
	assert_int_equal(rk_key_reencrypt(f->r, 0, NULL, NULL), RK_OK);
	assert_int_equal(rk_key_reencrypt_pending(f->r), 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE"
					 " action = 'key.reencrypt' AND"
					 " fields = 'resumed'"),
			 1);

	values_of(f->r, ids[7], after, sizeof after);
	assert_string_equal(after, before);
	fx_path(out, sizeof out, f->dir, "out.txt");
	assert_int_equal(rk_record_attachment(f->r, ids[7], rid, out, NULL),
			 RK_OK);
	assert_true(same_file_content(att, out));
	assert_int_equal(rk_consent_history(f->r, ids[7], &hist), RK_OK);
	assert_non_null(strstr(hist, "signed the form at the fair"));
	rk_free(hist);
	/* The old master key with the old backup's wrapped key opens
	 * nothing of today's data, for every subject. */
	assert_int_equal(old_key_opens_value(f->db, ok, ids[7], w0), -1);
	raw_wrapped_key(f->db, ids[7], w1);
	assert_memory_not_equal(w0, w1, sizeof w0);
	expect_intact(f->r);
	fx_path(cp, sizeof cp, f->dir, "cp");
	assert_int_equal(rk_audit_checkpoint(f->r, cp), RK_OK);
	sec_key_free(ok);
}

/* A backup from before a re-encryption still restores: the live consent
 * ledger, which a restore keeps, is sealed again under the data key that
 * the backup brings back, and its evidence still reads. */
static void test_restore_after_reencrypt(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], before[1024], after[1024], *hist = NULL;

	assert_int_equal(add3(f->r, 1, id), RK_OK);
	assert_int_equal(rk_consent_set(f->r, id, "email_marketing", 1, "web",
					"ticked the box on the form"),
			 RK_OK);
	values_of(f->r, id, before, sizeof before);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	assert_int_equal(rk_consent_set(f->r, id, "sms_marketing", 1, "phone",
					"said yes on the phone"),
			 RK_OK);
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	assert_int_equal(rk_key_reencrypt(f->r, 1, NULL, NULL), RK_OK);
	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	values_of(f->r, id, after, sizeof after);
	assert_string_equal(after, before);
	assert_int_equal(rk_consent_history(f->r, id, &hist), RK_OK);
	assert_non_null(strstr(hist, "ticked the box on the form"));
	assert_non_null(strstr(hist, "said yes on the phone"));
	rk_free(hist);
	expect_intact(f->r);
}

/* Garbage and truncated files are refused; nothing changes. */
static void test_restore_refuses_corrupt(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], junk[160], half[160], buf[8192], junk2[160];
	struct snapshot s1, s2;
	FILE *fp;
	int in, out;
	ssize_t n;

	assert_int_equal(add3(f->r, 1, id), RK_OK);
	fx_path(junk, sizeof junk, f->dir, "junk.db");
	fx_path(junk2, sizeof junk2, f->dir, "junk2.db");
	fp = fopen(junk, "wb");
	assert_non_null(fp);
	for (int i = 0; i < 20000; i++)
		fputc((i * 7919) & 0xff, fp);
	fclose(fp);
	snap(f->db, &s1);
	assert_int_not_equal(rk_restore(f->r, junk), RK_OK);
	snap(f->db, &s2);
	expect_same(&s1, &s2);

	/* The first half of a real backup. */
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	fx_path(half, sizeof half, f->dir, "half.db");
	in = open(f->bak, O_RDONLY);
	out = open(half, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(in >= 0 && out >= 0);
	n = read(in, buf, sizeof buf);
	assert_true(n > 4096);
	assert_int_equal(write(out, buf, (size_t)n / 2), n / 2);
	close(in);
	close(out);
	snap(f->db, &s1);
	assert_int_not_equal(rk_restore(f->r, half), RK_OK);
	snap(f->db, &s2);
	expect_same(&s1, &s2);
	/* A page in the middle damaged: the header and schema still read. */
	for (int i = 0; i < 300; i++)
		assert_int_equal(add3(f->r, 10 + i, id), RK_OK);
	assert_int_equal(rk_backup(f->r, junk2), RK_OK);
	{
		int fd = open(junk2, O_RDWR);
		off_t size = lseek(fd, 0, SEEK_END);
		char garbage[4096];
		assert_true(size > 8 * 4096);
		for (size_t k = 0; k < sizeof garbage; k++)
			garbage[k] = (char)(k * 31 + 7);
		assert_int_equal(
			pwrite(fd, garbage, 4096, (size / 4096 / 2) * 4096),
			4096);
		close(fd);
	}
	snap(f->db, &s1);
	assert_int_not_equal(rk_restore(f->r, junk2), RK_OK);
	snap(f->db, &s2);
	expect_same(&s1, &s2);
	assert_int_equal(rk_restore(f->r, "/nonexistent/b.db"), RK_ENOTFOUND);
	expect_intact(f->r);
}

/* A subject erased after the backup stays erased when it is restored,
 * also when the record of erasures lost its row (the verified trail still
 * names the erasure); an edited record of erasures refuses the restore. */
static void test_restore_replays_erasures(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1], va[1024], vb[1024];
	char *receipt = NULL;
	rk_subject *s = NULL;

	assert_int_equal(add3(f->r, 1, a), RK_OK);
	assert_int_equal(add3(f->r, 2, b), RK_OK);
	values_of(f->r, b, vb, sizeof vb);
	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	assert_int_equal(rk_erase(f->r, a, 0, &receipt), RK_OK);
	assert_non_null(strstr(receipt, "\"destroyed\""));
	rk_free(receipt);
	assert_int_equal(rk_subject_get(f->r, a, NULL, &s), RK_ENOTFOUND);
	assert_non_null(strstr(rk_errmsg(f->r), "no such subject"));
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM erasure"), 1);

	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	assert_int_equal(rk_subject_get(f->r, a, NULL, &s), RK_ENOTFOUND);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM value WHERE"
					 " subject_id NOT IN"
					 " (SELECT id FROM subject)"),
			 0);
	values_of(f->r, b, va, sizeof va);
	assert_string_equal(va, vb);
	expect_intact(f->r);

	/* Without its row the record of erasures no longer matches its pin:
	 * refused, but forced with a trail that verifies, the trail's entry
	 * replays it, its row comes back and the record verifies again. */
	tamper(f->db, "DELETE FROM erasure");
	assert_int_equal(rk_restore(f->r, f->bak), RK_EINTEGRITY);
	assert_non_null(strstr(rk_errmsg(f->r), "record of erasures"));
	assert_int_equal(rk_restore_ex(f->r, f->bak, RK_RESTORE_FORCE), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM erasure"), 1);
	assert_int_equal(rk_subject_get(f->r, a, NULL, &s), RK_ENOTFOUND);
	values_of(f->r, b, va, sizeof va);
	assert_string_equal(va, vb);
	expect_intact(f->r);

	/* An erasure row edited without the key is not believed. */
	assert_int_equal(rk_erase(f->r, b, 0, &receipt), RK_OK);
	rk_free(receipt);
	tamper(f->db, "UPDATE erasure SET erased_on = '2000-01-01'");
	assert_int_equal(rk_restore(f->r, f->bak), RK_EINTEGRITY);
	assert_int_equal(rk_subject_get(f->r, b, NULL, &s), RK_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotate, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_other_handle_follows_rotation, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_reader_between_commit_and_rename, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_readers_during_rotations,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_rotate_replaces_signing_key, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rotate_replaces_index_key,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recover_after_commit,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recover_before_commit,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_recover_leaves_unknown_keys, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_backup_under_load_and_restore, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_restore_keeps_what_never_goes_back, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_restore_through_keyring_until_retired, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_restore_refuses_undecryptable, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reencrypt, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_after_reencrypt,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_restore_keeps_broken_trail_as_evidence, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_into_new_file,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_refuses_corrupt,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_replays_erasures,
						setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
