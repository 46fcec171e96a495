/*
 * test_rights.c: rights of the data subject through the public API on real
 * SQLite files with the seed policy: rectification of a record (validated as
 * in add, the old ciphertext gone from the database file and its WAL, the
 * chain still verifying, an edited row still caught), erasure of one record
 * with its attachment, lifting the direct-marketing prohibition, objecting
 * to legitimate-interest processing for one purpose (and the controller's
 * compelling grounds, which only the operator or the data protection lead
 * may record), a cookie profile reset that deletes what came through the
 * identifiers, and a prospect becoming a customer (customer number, expiry,
 * HETU only for the kinds the policy allows).
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "rekisteri.h"

#include "fixture.h"

static int setup(void **state)
{
	struct fx *f = fx_open("rights");

	fx_subject(f->r, "customer", f->id, "last_name", "Oikeuksinen",
		   "gender", "female", NULL);
	*state = f;
	return 0;
}

static const char purchase[] =
	"{\"product\": \"Skanneri RKX-1\", \"amount\": \"129.90\", "
	"\"currency\": \"EUR\"}";
static const char purchase2[] =
	"{\"product\": \"Skanneri RKX-2\", \"amount\": \"139.90\", "
	"\"currency\": \"EUR\"}";
static const char feedback[] =
	"{\"kind\": \"feedback\", \"text\": \"Hyvä palvelu\"}";
static const char browse[] =
	"{\"url\": \"https://example.com/tuotteet\", \"at\": "
	"\"2024-05-01T10:00:00Z\"}";

/* The ciphertext of record rid as stored (malloc'd). */
static unsigned char *record_ct(const char *db, int64_t rid, size_t *len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	unsigned char *ct;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(
				 h,
				 "SELECT ciphertext FROM record WHERE id = ?1",
				 -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(s, 1, rid);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	*len = (size_t)sqlite3_column_bytes(s, 0);
	ct = malloc(*len);
	assert_non_null(ct);
	memcpy(ct, sqlite3_column_blob(s, 0), *len);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return ct;
}

static json_t *records(rk_register *r, const char *id, const char *purpose)
{
	char *text = NULL;
	json_t *a;

	assert_int_equal(rk_record_list(r, id, NULL, purpose, &text), RK_OK);
	a = json_loads(text, 0, NULL);
	rk_free_secret(text);
	assert_non_null(a);
	return a;
}

static int has_value(rk_register *r, const char *id, const char *purpose,
		     const char *field)
{
	rk_subject *s = NULL;
	size_t i;
	int found = 0;

	assert_int_equal(rk_subject_get(r, id, purpose, &s), RK_OK);
	for (i = 0; i < rk_subject_value_count(s); i++)
		if (strcmp(rk_subject_value(s, i)->field, field) == 0)
			found = 1;
	rk_subject_free(s);
	return found;
}

struct audit_find {
	const char *action;
	const char *needle;
	int found;
};

static int audit_one(void *ud, const rk_audit_entry *e)
{
	struct audit_find *a = ud;

	if (strcmp(e->action, a->action) == 0 && e->fields != NULL &&
	    strstr(e->fields, a->needle) != NULL)
		a->found = 1;
	return 0;
}

/* Rectification validates as add does, replaces the fields, leaves the old
 * ciphertext nowhere in the files, audits names only, and keeps the chain
 * verifying; an edit of the row with the sqlite3 shell is still caught. */
static void test_update(void **state)
{
	struct fx *f = *state;
	char wal[FX_PATH + 8];
	unsigned char *old;
	size_t oldlen;
	int64_t rid = 0;
	json_t *a;
	struct audit_find af = {"record.update", "product", 0};
	char *text = NULL;

	snprintf(wal, sizeof wal, "%s-wal", f->db);
	assert_int_equal(rk_record_add(f->r, f->id, "purchase", purchase, NULL,
				       NULL, NULL, &rid),
			 RK_OK);
	old = record_ct(f->db, rid, &oldlen);
	assert_true(fx_file_has_bytes(f->db, old, oldlen) ||
		    fx_file_has_bytes(wal, old, oldlen));
	/* validated exactly as in add */
	assert_int_equal(
		rk_record_update(f->r, f->id, rid,
				 "{\"product\": \"4111 1111 1111 1111\", "
				 "\"amount\": \"1.00\", \"currency\": \"EUR\"}",
				 NULL),
		RK_EINVAL);
	assert_int_equal(rk_record_update(f->r, f->id, rid,
					  "{\"product\": \"x\"}", NULL),
			 RK_EINVAL); /* amount is required */
	assert_int_equal(rk_record_update(f->r, f->id, rid,
					  "{\"colour\": \"red\"}", NULL),
			 RK_EINVAL);
	assert_int_equal(
		rk_record_update(f->r, f->id, rid + 100, purchase2, NULL),
		RK_ENOTFOUND);
	/* a record serves its type's purposes only */
	assert_int_equal(
		rk_record_update(f->r, f->id, rid, purchase2, "analytics"),
		RK_EREFUSED);
	assert_int_equal(rk_record_update(f->r, f->id, rid, purchase2, NULL),
			 RK_OK);
	a = records(f->r, f->id, NULL);
	assert_int_equal(json_array_size(a), 1);
	text = json_dumps(a, 0);
	assert_non_null(strstr(text, "RKX-2"));
	assert_null(strstr(text, "RKX-1"));
	free(text);
	json_decref(a);
	/* the old ciphertext is gone from the file and its WAL */
	assert_false(fx_file_has_bytes(f->db, old, oldlen));
	assert_false(fx_file_has_bytes(wal, old, oldlen));
	free(old);
	fx_verify_ok(f->r);
	assert_int_equal(rk_audit_log(f->r, NULL, audit_one, &af), RK_OK);
	assert_true(af.found);
	/* an edit of the rectified row is still caught */
	fx_exec(f->db, "UPDATE record SET purposes = 'analytics'");
	assert_int_equal(rk_record_list(f->r, f->id, NULL, NULL, &text),
			 RK_EINTEGRITY);
	assert_null(text);
}

/* The ciphertext of the subject's value of field (malloc'd). */
static unsigned char *value_ct(const char *db, const char *field, size_t *len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	unsigned char *ct;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT ciphertext FROM value "
					    "WHERE field = ?1",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(s, 1, field, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	*len = (size_t)sqlite3_column_bytes(s, 0);
	ct = malloc(*len);
	assert_non_null(ct);
	memcpy(ct, sqlite3_column_blob(s, 0), *len);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return ct;
}

/* Rectifying a subject's field leaves its old value nowhere either. */
static void test_subject_update_leaves_nothing(void **state)
{
	struct fx *f = *state;
	rk_fields *fl = rk_fields_new();
	char wal[FX_PATH + 8];
	unsigned char *old;
	size_t oldlen;

	snprintf(wal, sizeof wal, "%s-wal", f->db);
	old = value_ct(f->db, "last_name", &oldlen);
	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "last_name", "Oikaistu"), RK_OK);
	assert_int_equal(rk_subject_update(f->r, f->id, fl, NULL, NULL), RK_OK);
	rk_fields_free(fl);
	assert_false(fx_file_has_bytes(f->db, old, oldlen));
	assert_false(fx_file_has_bytes(wal, old, oldlen));
	free(old);
	fx_verify_ok(f->r);
}

/* An old row put back over the rectified one (its old MAC with it) does
 * not match the chain the subject row pins. */
static void test_update_rollback_caught(void **state)
{
	struct fx *f = *state;
	char *text = NULL;
	int64_t rid = 0;

	assert_int_equal(rk_record_add(f->r, f->id, "purchase", purchase, NULL,
				       NULL, NULL, &rid),
			 RK_OK);
	fx_exec(f->db, "CREATE TABLE saved AS SELECT * FROM record");
	assert_int_equal(rk_record_update(f->r, f->id, rid, purchase2, NULL),
			 RK_OK);
	fx_exec(f->db, "UPDATE record SET ciphertext = (SELECT ciphertext "
		       "FROM saved), mac = (SELECT mac FROM saved)");
	assert_int_equal(rk_record_list(f->r, f->id, NULL, NULL, &text),
			 RK_EINTEGRITY);
}

/* Deleting one record takes its attachment with it; the rest stays. */
static void test_delete(void **state)
{
	struct fx *f = *state;
	char path[FX_PATH];
	FILE *fp;
	int64_t r1 = 0, r2 = 0;
	json_t *a;
	struct audit_find af = {"record.delete", "record:", 0};

	fx_path(path, sizeof path, f->dir, "call.txt");
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("puhelun tallenne", fp);
	fclose(fp);
	assert_int_equal(rk_record_add(f->r, f->id, "communication",
				       "{\"channel\": \"call\", \"direction\": "
				       "\"inbound\", \"text\": \"soitto\"}",
				       path, "text/plain", NULL, &r1),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id, "purchase", purchase, NULL,
				       NULL, NULL, &r2),
			 RK_OK);
	assert_true(fx_count(f->db, "SELECT count(*) FROM "
				    "attachment_chunk") > 0);
	assert_int_equal(rk_record_delete(f->r, f->id, r1, NULL), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM "
					 "attachment_chunk"),
			 0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM record"), 1);
	assert_int_equal(rk_record_delete(f->r, f->id, r1, NULL), RK_ENOTFOUND);
	a = records(f->r, f->id, NULL);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	fx_verify_ok(f->r);
	assert_int_equal(rk_audit_log(f->r, NULL, audit_one, &af), RK_OK);
	assert_true(af.found);
	/* a deleted record put back with the sqlite3 shell is caught */
	fx_exec(f->db, "UPDATE record SET id = id + 1000");
	{
		char *text = NULL;
		assert_int_equal(rk_record_list(f->r, f->id, NULL, NULL, &text),
				 RK_EINTEGRITY);
	}
}

/* The subject lifts the direct-marketing prohibition: a "lifted" entry is
 * appended, nothing deleted, and the marketing decision follows the
 * consents again. */
static void test_lift(void **state)
{
	struct fx *f = *state;
	rk_decision d;
	char *text = NULL;
	json_t *h;

	assert_int_equal(
		rk_object(f->r, f->id, "direct_marketing", "web", NULL), RK_OK);
	assert_int_equal(rk_may_contact(f->r, f->id, "post", 0, &d), RK_OK);
	assert_false(d.allowed);
	assert_int_equal(
		rk_object_lift(f->r, f->id, "direct_marketing", "web", NULL),
		RK_OK);
	assert_int_equal(rk_may_contact(f->r, f->id, "post", 0, &d), RK_OK);
	assert_true(d.allowed);
	/* e-mail still needs its consent: the consents decide again */
	assert_int_equal(rk_may_contact(f->r, f->id, "email", 0, &d), RK_OK);
	assert_false(d.allowed);
	assert_int_equal(
		rk_consent_set(f->r, f->id, "email_marketing", 1, "web", NULL),
		RK_OK);
	assert_int_equal(rk_may_contact(f->r, f->id, "email", 0, &d), RK_OK);
	assert_true(d.allowed);
	assert_int_equal(rk_object_lift(f->r, f->id, "no_such", NULL, NULL),
			 RK_EINVAL);
	assert_int_equal(rk_consent_history(f->r, f->id, &text), RK_OK);
	h = json_loads(text, 0, NULL);
	rk_free_secret(text);
	assert_int_equal(json_array_size(h), 3); /* object, lift, consent */
	assert_true(
		json_is_false(json_object_get(json_array_get(h, 1), "given")));
	json_decref(h);
	fx_verify_ok(f->r);
}

/* An objection for one purpose withholds the legitimate-interest values
 * and records read for it, not for other purposes; compelling grounds
 * bring them back, and only the operator or the data protection lead may
 * record them. */
static void test_purpose_objection(void **state)
{
	struct fx *f = *state;
	const char *cr = "customer_relationship", *fr = "feedback_research";
	char token[RK_TOKEN_LEN + 1], token2[RK_TOKEN_LEN + 1];
	rk_register *cs = NULL, *dpo = NULL;
	int64_t rid = 0;
	char *text = NULL;
	json_t *a;

	assert_int_equal(rk_record_add(f->r, f->id, "feedback", feedback, NULL,
				       NULL, NULL, &rid),
			 RK_OK);
	assert_true(has_value(f->r, f->id, cr, "gender"));
	assert_int_equal(rk_object_purpose(f->r, f->id, "no_such_purpose", 0,
					   NULL, NULL),
			 RK_EINVAL);
	assert_int_equal(rk_object_purpose(f->r, f->id, cr, 0, "web", NULL),
			 RK_OK);
	/* withheld for the purpose objected to ... */
	assert_false(has_value(f->r, f->id, cr, "gender"));
	assert_true(has_value(f->r, f->id, cr, "last_name")); /* contract */
	a = records(f->r, f->id, cr);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	/* ... not for another */
	assert_true(has_value(f->r, f->id, "analytics", "gender"));
	a = records(f->r, f->id, fr);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	/* customer service may not record compelling grounds */
	assert_int_equal(rk_actor_add(f->r, "cs-1", "customer_service", token),
			 RK_OK);
	assert_int_equal(rk_actor_add(f->r, "dpo-1", "dpo", token2), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &cs), RK_OK);
	assert_int_equal(rk_register_authenticate(cs, "cs-1", token), RK_OK);
	assert_int_equal(rk_object_grounds(cs, f->id, cr, "reskontra"),
			 RK_EREFUSED);
	rk_register_close(cs);
	assert_false(has_value(f->r, f->id, cr, "gender"));
	/* the reason is required */
	assert_int_equal(rk_object_grounds(f->r, f->id, cr, ""), RK_EINVAL);
	/* no objection for the purpose: nothing to override */
	assert_int_equal(rk_object_grounds(f->r, f->id, fr, "x"), RK_EINVAL);
	/* the data protection lead may */
	assert_int_equal(rk_register_open(f->db, f->key, &dpo), RK_OK);
	assert_int_equal(rk_register_authenticate(dpo, "dpo-1", token2), RK_OK);
	assert_int_equal(
		rk_object_grounds(dpo, f->id, cr, "laskujen perintä on kesken"),
		RK_OK);
	rk_register_close(dpo);
	assert_true(has_value(f->r, f->id, cr, "gender"));
	a = records(f->r, f->id, cr);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	/* a new objection needs new grounds */
	assert_int_equal(rk_object_purpose(f->r, f->id, cr, 0, "web", NULL),
			 RK_OK);
	assert_false(has_value(f->r, f->id, cr, "gender"));
	/* lifted: back again */
	assert_int_equal(rk_object_purpose(f->r, f->id, cr, 1, "web", NULL),
			 RK_OK);
	assert_true(has_value(f->r, f->id, cr, "gender"));
	assert_int_equal(rk_consent_history(f->r, f->id, &text), RK_OK);
	assert_non_null(strstr(text, "purpose:customer_relationship"));
	assert_non_null(strstr(text, "compelling_grounds"));
	rk_free_secret(text);
	fx_verify_ok(f->r);
}

/* A reset deletes exactly the records that came through the identifiers
 * it unlinks. */
static void test_cookie_reset(void **state)
{
	struct fx *f = *state;
	int64_t rid = 0, n = -1, m = -1;
	json_t *a;

	assert_int_equal(rk_cookie_link(f->r, f->id, "ck-rights-1"), RK_OK);
	assert_int_equal(rk_cookie_link(f->r, f->id, "ck-rights-2"), RK_OK);
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-rights-1",
						 "browsing", browse,
						 "analytics", &rid),
			 RK_OK);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-rights-2",
						 "browsing", browse,
						 "analytics", &rid),
			 RK_OK);
	/* added to the subject directly: stays */
	assert_int_equal(rk_record_add(f->r, f->id, "browsing", browse, NULL,
				       NULL, "analytics", &rid),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id, "purchase", purchase, NULL,
				       NULL, NULL, &rid),
			 RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM record WHERE "
					 "cookie_hash IS NOT NULL"),
			 2);
	assert_int_equal(rk_cookie_reset_ex(f->r, f->id, &n, &m), RK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(m, 2);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM record"), 2);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM record WHERE "
					 "cookie_hash IS NOT NULL"),
			 0);
	a = records(f->r, f->id, "analytics");
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	fx_verify_ok(f->r);
	/* nothing left to reset */
	assert_int_equal(rk_cookie_reset_ex(f->r, f->id, &n, &m), RK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(m, 0);
}

/* The cookie hash is under the record's MAC: clearing it (so that a reset
 * would keep the record) is caught. */
static void test_cookie_hash_bound(void **state)
{
	struct fx *f = *state;
	int64_t rid = 0;
	char *text = NULL;

	assert_int_equal(rk_cookie_link(f->r, f->id, "ck-rights-3"), RK_OK);
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-rights-3",
						 "browsing", browse,
						 "analytics", &rid),
			 RK_OK);
	fx_exec(f->db, "UPDATE record SET cookie_hash = NULL");
	assert_int_equal(rk_record_list(f->r, f->id, NULL, "analytics", &text),
			 RK_EINTEGRITY);
}

static const char *value_expires(rk_register *r, const char *id,
				 const char *field, char out[16])
{
	rk_subject *s = NULL;
	size_t i;
	const char *res = NULL;

	assert_int_equal(rk_subject_get(r, id, NULL, &s), RK_OK);
	for (i = 0; i < rk_subject_value_count(s); i++) {
		const rk_value *v = rk_subject_value(s, i);
		if (strcmp(v->field, field) == 0) {
			snprintf(out, 16, "%s", v->expires ? v->expires : "");
			res = out;
		}
	}
	rk_subject_free(s);
	return res;
}

/* A prospect becomes a customer: a customer number, the customer's
 * retention, and a HETU only where the policy allows it. */
static void test_convert(void **state)
{
	struct fx *f = *state;
	rk_fields *fl = rk_fields_new();
	char id[RK_ID_LEN + 1], other[RK_ID_LEN + 1], exp[16];
	rk_convert_result res;

	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "email", "prospekti@example.com"),
			 RK_OK);
	assert_int_equal(rk_subject_add(f->r, "prospect", fl, NULL, NULL, id),
			 RK_OK);
	rk_fields_free(fl);
	/* a HETU is not held for a prospect (policy "kinds") */
	fl = rk_fields_new();
	assert_int_equal(rk_fields_add(fl, "hetu", "131052-308T"), RK_OK);
	assert_int_equal(rk_subject_update(f->r, id, fl, NULL, NULL),
			 RK_EREFUSED);
	assert_null(strstr(rk_errmsg(f->r), "308T"));
	assert_non_null(strstr(rk_errmsg(f->r), "hetu"));
	assert_non_null(strstr(rk_errmsg(f->r), "prospect"));
	assert_int_equal(rk_fields_add(fl, "last_name", "Kontakti"), RK_OK);
	assert_int_equal(rk_subject_add(f->r, "contact", fl, NULL, NULL, other),
			 RK_EREFUSED); /* nor for a business contact */
	/* prospects' values expire */
	assert_non_null(value_expires(f->r, id, "email", exp));
	assert_true(exp[0] != '\0');
	/* a customer needs a last name */
	assert_int_equal(
		rk_subject_convert(f->r, id, "customer", 0, NULL, &res),
		RK_EINVAL);
	assert_int_equal(rk_subject_convert(f->r, id, "nobody", 0, NULL, &res),
			 RK_EINVAL);
	{
		rk_fields *ln = rk_fields_new();
		assert_int_equal(rk_fields_add(ln, "last_name", "Prospekti"),
				 RK_OK);
		assert_int_equal(rk_subject_update(f->r, id, ln, NULL, NULL),
				 RK_OK);
		rk_fields_free(ln);
	}
	assert_int_equal(
		rk_subject_convert(f->r, id, "customer", 0, NULL, &res), RK_OK);
	assert_true(res.customer_number_issued);
	assert_int_equal(res.expiry_changed, 2);
	assert_non_null(value_expires(f->r, id, "customer_number", exp));
	assert_non_null(value_expires(f->r, id, "email", exp));
	assert_string_equal(exp, ""); /* open while the relationship goes on */
	assert_int_equal(
		rk_subject_convert(f->r, id, "customer", 0, NULL, &res),
		RK_EINVAL); /* already one */
	/* now a HETU may be held */
	rk_fields_free(fl);
	fl = rk_fields_new();
	assert_int_equal(rk_fields_add(fl, "hetu", "131052-308T"), RK_OK);
	assert_int_equal(rk_subject_update(f->r, id, fl, NULL, NULL), RK_OK);
	rk_fields_free(fl);
	fx_verify_ok(f->r);
	/* back to a prospect: refused while it holds the HETU ... */
	assert_int_equal(
		rk_subject_convert(f->r, id, "prospect", 0, NULL, &res),
		RK_EREFUSED);
	assert_true(has_value(f->r, id, NULL, "hetu"));
	/* ... unless it drops it */
	assert_int_equal(rk_subject_convert(f->r, id, "prospect",
					    RK_CONVERT_DROP_DISALLOWED, NULL,
					    &res),
			 RK_OK);
	assert_string_equal(res.dropped, "hetu");
	assert_false(res.customer_number_issued);
	assert_false(has_value(f->r, id, NULL, "hetu"));
	assert_non_null(value_expires(f->r, id, "email", exp));
	assert_true(exp[0] != '\0');
	fx_verify_ok(f->r);
	/* the kind is under the row's MAC */
	fx_exec(f->db, "UPDATE subject SET kind = 'customer' WHERE kind = "
		       "'prospect'");
	{
		rk_subject *s = NULL;
		assert_int_equal(rk_subject_get(f->r, id, NULL, &s),
				 RK_EINTEGRITY);
	}
}

static void no_diag(void *ud, const char *file, int line, int column,
		    const char *message)
{
	int *n = ud;

	(void)file;
	(void)message;
	assert_true(line > 0 && column > 0);
	(*n)++;
}

/* "kinds" names subject kinds of the policy; an unknown one is an error
 * with its place. */
static void test_policy_kinds(void **state)
{
	struct fx *f = *state;
	char path[FX_PATH], *text;
	FILE *fp;
	long sz;
	char *at;
	int n = 0;

	fp = fopen(POLICY, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	sz = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)sz + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)sz, fp), (size_t)sz);
	fclose(fp);
	at = strstr(text, "\"kinds\": [\"customer\"]");
	assert_non_null(at);
	memcpy(at, "\"kinds\": [\"cust0mer\"]", 21);
	fx_path(path, sizeof path, f->dir, "bad.json");
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fwrite(text, 1, (size_t)sz, fp);
	fclose(fp);
	free(text);
	assert_int_equal(rk_policy_check_file(path, no_diag, &n), RK_EINVAL);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(rk_policy_check_file(POLICY, no_diag, &n), RK_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_update, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_subject_update_leaves_nothing, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_update_rollback_caught,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_lift, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_purpose_objection, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_cookie_reset, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_cookie_hash_bound, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_convert, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_kinds, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
