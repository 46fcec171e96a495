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

#define FX_EXTRA                                                               \
	char bak[FX_PATH];                                                     \
	char att[FX_PATH];                                                     \
	char other[RK_ID_LEN + 1];
#include "fixture.h"
#define PATH_CAP 4096
#define MARK	 "RKMARK-erasure-3b71c0-plaintext"

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

static void add_subject(rk_register *r, const char *last, const char *email,
			char id[RK_ID_LEN + 1])
{
	fx_subject(r, "customer", id, "first_name", MARK, "last_name", last,
		   "email", email, "hetu", "131052-308T", NULL);
}

static int setup(void **state)
{
	struct fx *f = fx_open("erase");
	FILE *a;

	fx_path(f->bak, sizeof f->bak, f->dir, "b.db");
	fx_path(f->att, sizeof f->att, f->dir, "call.wav");
	a = fopen(f->att, "wb");
	assert_non_null(a);
	for (int i = 0; i < 3000; i++)
		fputs(MARK, a);
	fclose(a);
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

/* Every ciphertext of the subject and its wrapped data key. */
static void subject_blobs(struct fx_blobs *b, const char *db, const char *id)
{
	memset(b, 0, sizeof *b);
	fx_blobs_collect(b, db, "SELECT wrapped_key FROM subject WHERE id = ?1",
			 id);
	fx_blobs_collect(b, db,
			 "SELECT ciphertext FROM value WHERE subject_id = ?1",
			 id);
	fx_blobs_collect(b, db,
			 "SELECT ciphertext FROM record WHERE subject_id = ?1",
			 id);
	fx_blobs_collect(
		b, db,
		"SELECT c.ciphertext FROM attachment_chunk c JOIN"
		" record r ON r.id = c.record_id WHERE r.subject_id = ?1",
		id);
	fx_blobs_collect(b, db,
			 "SELECT evidence FROM consent WHERE subject_id = ?1",
			 id);
}

/* How many of the blobs (and the plaintext mark) occur in the file. */
static size_t found_in(const char *path, const struct fx_blobs *b, int *mark)
{
	*mark = fx_file_has(path, MARK);
	return fx_blobs_in_file(path, b);
}

/* The blobs are there before, so the search can find them; afterwards
 * none is, in the file or its WAL; the voucher is held, the rest gone. */
static void test_erase_leaves_nothing_that_opens(void **state)
{
	struct fx *f = *state;
	char wal[PATH_CAP + 8], *receipt = NULL;
	struct fx_blobs b;
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
	fx_blobs_free(&b);

	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_ENOTFOUND);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 1);
	assert_int_equal(fx_count(f->db,
				  "SELECT count(*) FROM held_record WHERE"
				  " type = 'payment' AND hold_until >"
				  " date('now')"),
			 1);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM record"), 1);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM cookie"), 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM consent"), 0);
	assert_int_equal(
		fx_count(f->db, "SELECT count(*) FROM attachment_chunk"), 0);
	/* The other subject is untouched. */
	assert_int_equal(rk_subject_get(f->r, f->other, NULL, &s), RK_OK);
	rk_subject_free(s);
	fx_verify_ok(f->r);
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
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM erasure"), 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM cookie"), 1);
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
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM held_record"),
			 1);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM record WHERE"
					 " subject_id NOT IN (SELECT id FROM"
					 " subject)"),
			 0);
	fx_verify_ok(f->r);
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
	fx_verify_ok(f->r);
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
			test_erase_leaves_nothing_that_opens, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_old_backup_does_not_resurrect, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_erase_needs_the_right_role,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restriction, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_restriction_cannot_be_removed_without_the_key,
			setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
