/*
 * test_consent.c: the consent and objection ledger, the marketing decision
 * (SPEC §4: prior consent for e-mail and SMS, soft opt-in, business
 * contacts, the prohibition that overrides every consent), withdrawal of
 * location consent deleting location data, and cookie identifiers. Runs on
 * real SQLite files with the seed policy; raw sqlite3 reads stand in for
 * someone looking at the database file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "consent.h"
#include "crypto.h"
#include "ledger.h"
#include "policy.h"
#include "register.h"
#include "rekisteri.h"
#include "store.h"

#include "fixture.h"

#define PURCHASE                                                               \
	"{\"product\": \"OCR Pro\", \"amount\": \"49.90\", "                   \
	"\"currency\": \"EUR\"}"
#define LOCATION                                                               \
	"{\"latitude\": \"60.1699\", \"longitude\": \"24.9384\", "             \
	"\"recorded_at\": \"2025-01-31T12:00:00Z\"}"

static const char *const channels[] = {"email", "sms", "phone", "post"};

static int setup(void **state)
{
	*state = fx_open("consent");
	return 0;
}

static void add_kind(rk_register *r, const char *kind, const char *email,
		     char id[RK_ID_LEN + 1])
{
	if (strcmp(kind, "prospect") != 0)
		fx_subject(r, kind, id, "last_name", "Zyxwvutila", "email",
			   email, NULL);
	else
		fx_subject(r, kind, id, "email", email, NULL);
}

static void add_purchase(rk_register *r, const char *id)
{
	int64_t rec = 0;

	assert_int_equal(rk_record_add(r, id, "purchase", PURCHASE, NULL, NULL,
				       NULL, &rec),
			 RK_OK);
	assert_true(rec > 0);
}

static size_t count_rows(const char *db, const char *sql, const char *arg)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	size_t n;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	if (arg != NULL)
		assert_int_equal(
			sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT),
			SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = (size_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

/* The decision for one channel; RK_OK is required either way. */
static rk_decision ask(rk_register *r, const char *id, const char *channel,
		       int third_party)
{
	rk_decision d;

	assert_int_equal(rk_may_contact(r, id, channel, third_party, &d),
			 RK_OK);
	assert_true(d.rule[0] != '\0');
	return d;
}

static json_t *history(rk_register *r, const char *id)
{
	char *text = NULL;
	json_error_t err;
	json_t *j;

	assert_int_equal(rk_consent_history(r, id, &text), RK_OK);
	assert_non_null(text);
	j = json_loads(text, 0, &err);
	rk_free(text);
	assert_non_null(j);
	assert_true(json_is_array(j));
	return j;
}

static const char *str_at(json_t *a, size_t i, const char *key)
{
	json_t *v = json_object_get(json_array_get(a, i), key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void test_ledger_order_and_versions(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1];
	json_t *h, *e;
	int given = -1;

	add_kind(f->r, "customer", "ledger@example.com", id);
	rk_register_set_clock(f->r, 1738324800); /* 2025-01-31T12:00:00Z */
	assert_int_equal(rk_consent_set(f->r, id, "location", 1, "web",
					"Sijainti sallittu sovelluksessa"),
			 RK_OK);
	/* A notice change: later acts remember the version they were
	 * made under. */
	f->r->policy_version = 2;
	rk_register_set_clock(f->r, 1738324801);
	assert_int_equal(rk_consent_set(f->r, id, "location", 0, NULL, NULL),
			 RK_OK);
	rk_register_set_clock(f->r, 1738324802);
	assert_int_equal(
		rk_consent_set(f->r, id, "email_marketing", 1, "phone", NULL),
		RK_OK);
	assert_int_equal(rk_object(f->r, id, "direct_marketing", "phone",
				   "Soitto asiakaspalveluun"),
			 RK_OK);
	f->r->policy_version = 1;
	rk_register_set_clock(f->r, 0);

	h = history(f->r, id);
	assert_int_equal(json_array_size(h), 4);
	assert_string_equal(str_at(h, 0, "at"), "2025-01-31T12:00:00Z");
	assert_string_equal(str_at(h, 0, "kind"), "consent");
	assert_string_equal(str_at(h, 0, "scope"), "location");
	assert_true(
		json_is_true(json_object_get(json_array_get(h, 0), "given")));
	assert_string_equal(str_at(h, 0, "channel"), "web");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(h, 0), "notice_version")),
			 1);
	assert_string_equal(str_at(h, 0, "actor"), "operator");
	assert_string_equal(str_at(h, 0, "evidence"),
			    "Sijainti sallittu sovelluksessa");

	assert_string_equal(str_at(h, 1, "scope"), "location");
	assert_true(
		json_is_false(json_object_get(json_array_get(h, 1), "given")));
	assert_string_equal(str_at(h, 1, "channel"), "cli");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(h, 1), "notice_version")),
			 2);
	assert_true(json_is_null(
		json_object_get(json_array_get(h, 1), "evidence")));
	assert_string_equal(str_at(h, 2, "scope"), "email_marketing");
	e = json_array_get(h, 3);
	assert_string_equal(json_string_value(json_object_get(e, "kind")),
			    "objection");
	assert_string_equal(json_string_value(json_object_get(e, "scope")),
			    "direct_marketing");
	assert_string_equal(json_string_value(json_object_get(e, "evidence")),
			    "Soitto asiakaspalveluun");
	json_decref(h);

	/* The state is the newest entry of each scope. */
	assert_int_equal(rk_consent_state(f->r, id, "location", &given), RK_OK);
	assert_int_equal(given, 0);
	assert_int_equal(rk_consent_state(f->r, id, "email_marketing", &given),
			 RK_OK);
	assert_int_equal(given, 1);
	assert_int_equal(rk_consent_state(f->r, id, "sms_marketing", &given),
			 RK_OK);
	assert_int_equal(given, 0);
	assert_int_equal(rk_consent_state(f->r, id, "direct_marketing", &given),
			 RK_OK);
	assert_int_equal(given, 1);
	assert_int_equal(ledger_objected(f->r, id, "direct_marketing"), 1);
	assert_int_equal(
		ledger_live(f->r, id, policy_scope(f->r->pol, "location")), 0);
	/* Giving a live consent again is another act in the ledger. */
	assert_int_equal(
		rk_consent_set(f->r, id, "email_marketing", 1, "web", NULL),
		RK_OK);
	assert_int_equal(count_rows(f->db,
				    "SELECT count(*) FROM consent"
				    " WHERE subject_id = ?1",
				    id),
			 5);
	assert_int_equal(rk_consent_state(f->r, id, "no_such_scope", &given),
			 RK_EINVAL);
}

static void test_withdraw_and_bad_input(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], big[2100];
	int given = -1;
	size_t before;

	add_kind(f->r, "customer", "withdraw@example.com", id);
	assert_int_equal(
		rk_consent_set(f->r, id, "sms_marketing", 1, "web", NULL),
		RK_OK);
	assert_int_equal(rk_consent_state(f->r, id, "sms_marketing", &given),
			 RK_OK);
	assert_int_equal(given, 1);
	/* Withdrawal is one call, as easy as giving. */
	assert_int_equal(
		rk_consent_set(f->r, id, "sms_marketing", 0, "web", NULL),
		RK_OK);
	assert_int_equal(rk_consent_state(f->r, id, "sms_marketing", &given),
			 RK_OK);
	assert_int_equal(given, 0);

	before = count_rows(f->db, "SELECT count(*) FROM consent", NULL);
	assert_int_equal(
		rk_consent_set(f->r, id, "world_domination", 1, NULL, NULL),
		RK_EINVAL);
	assert_int_equal(
		rk_consent_set(f->r, id, "location", 1, "Web Form", NULL),
		RK_EINVAL);
	assert_int_equal(rk_consent_set(f->r, id, "location", 1, "", NULL),
			 RK_EINVAL);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(rk_consent_set(f->r, id, "location", 1, NULL, big),
			 RK_EINVAL);
	assert_int_equal(
		rk_consent_set(f->r, id, "location", 1, NULL, "bad\001byte"),
		RK_EINVAL);
	assert_int_equal(
		rk_consent_set(f->r, id, "location", 1, NULL, "bad \xc3 utf-8"),
		RK_EINVAL);
	assert_int_equal(rk_object(f->r, id, "email_marketing", NULL, NULL),
			 RK_EINVAL);
	assert_int_equal(rk_consent_set(f->r,
					"0123456789abcdef0123456789abcdef",
					"location", 1, NULL, NULL),
			 RK_ENOTFOUND);
	assert_int_equal(
		rk_consent_set(f->r, "nonsense", "location", 1, NULL, NULL),
		RK_EINVAL);
	/* Bad input changes nothing and says nothing personal. */
	assert_int_equal(
		count_rows(f->db, "SELECT count(*) FROM consent", NULL),
		before);
	assert_null(strstr(rk_errmsg(f->r), "nonsense"));
}

static void test_prohibition_overrides_everything(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1];
	size_t c;
	int tp;

	add_kind(f->r, "customer", "kielto@example.com", id);
	add_purchase(f->r, id);
	assert_int_equal(
		rk_consent_set(f->r, id, "email_marketing", 1, NULL, NULL),
		RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, id, "sms_marketing", 1, NULL, NULL),
		RK_OK);
	assert_int_equal(rk_consent_set(f->r, id, "third_party_marketing", 1,
					NULL, NULL),
			 RK_OK);
	for (c = 0; c < 4; c++)
		for (tp = 0; tp < 2; tp++)
			assert_true(ask(f->r, id, channels[c], tp).allowed);

	assert_int_equal(rk_object(f->r, id, "direct_marketing", "web", NULL),
			 RK_OK);
	for (c = 0; c < 4; c++)
		for (tp = 0; tp < 2; tp++) {
			rk_decision d = ask(f->r, id, channels[c], tp);
			assert_false(d.allowed);
			assert_string_equal(d.rule, "direct-marketing "
						    "prohibition overrides "
						    "every consent");
		}
	/* A consent given later does not lift the prohibition. */
	assert_int_equal(
		rk_consent_set(f->r, id, "email_marketing", 1, NULL, NULL),
		RK_OK);
	for (c = 0; c < 4; c++)
		for (tp = 0; tp < 2; tp++)
			assert_false(ask(f->r, id, channels[c], tp).allowed);
	assert_int_equal(ledger_personalisation_allowed(f->r, id), 0);
}

static void test_soft_opt_in_and_consumers(void **state)
{
	struct fx *f = *state;
	char buyer[RK_ID_LEN + 1], consumer[RK_ID_LEN + 1];
	char prospect[RK_ID_LEN + 1], ended[RK_ID_LEN + 1];
	rk_decision d;

	add_kind(f->r, "customer", "buyer@example.com", buyer);
	add_purchase(f->r, buyer);
	d = ask(f->r, buyer, "email", 0);
	assert_true(d.allowed);
	assert_non_null(strstr(d.rule, "soft opt-in"));
	/* No phone number was obtained with the sale: SMS needs consent. */
	assert_false(ask(f->r, buyer, "sms", 0).allowed);
	/* Soft opt-in covers own products only. */
	assert_false(ask(f->r, buyer, "email", 1).allowed);

	add_kind(f->r, "customer", "consumer@example.com", consumer);
	d = ask(f->r, consumer, "email", 0);
	assert_false(d.allowed);
	assert_string_equal(d.rule,
			    "e-mail marketing to a consumer needs prior "
			    "consent");
	assert_false(ask(f->r, consumer, "sms", 0).allowed);
	assert_true(ask(f->r, consumer, "phone", 0).allowed);
	d = ask(f->r, consumer, "post", 0);
	assert_true(d.allowed);
	assert_string_equal(d.rule, "allowed unless refused");
	/* With prior consent, e-mail is allowed and SMS still is not. */
	assert_int_equal(rk_consent_set(f->r, consumer, "email_marketing", 1,
					"web", NULL),
			 RK_OK);
	assert_true(ask(f->r, consumer, "email", 0).allowed);
	assert_false(ask(f->r, consumer, "sms", 0).allowed);

	add_kind(f->r, "prospect", "prospect@example.com", prospect);
	assert_false(ask(f->r, prospect, "email", 0).allowed);
	assert_true(ask(f->r, prospect, "post", 0).allowed);

	/* Soft opt-in lasts while the relationship does. */
	add_kind(f->r, "customer", "ended@example.com", ended);
	add_purchase(f->r, ended);
	assert_true(ask(f->r, ended, "email", 0).allowed);
	assert_int_equal(rk_subject_end(f->r, ended, NULL, NULL), RK_OK);
	assert_false(ask(f->r, ended, "email", 0).allowed);

	/* Withdrawing e-mail consent refuses e-mail, soft opt-in or not. */
	assert_int_equal(
		rk_consent_set(f->r, buyer, "email_marketing", 0, "web", NULL),
		RK_OK);
	d = ask(f->r, buyer, "email", 0);
	assert_false(d.allowed);
	assert_non_null(strstr(d.rule, "withdrew"));
	/* SMS still needs a phone number obtained with the sale. */
	assert_false(ask(f->r, buyer, "sms", 0).allowed);
}

static void test_business_contact_and_third_party(void **state)
{
	struct fx *f = *state;
	char contact[RK_ID_LEN + 1], cust[RK_ID_LEN + 1];
	rk_decision d;
	size_t c;

	add_kind(f->r, "contact", "buyer@company.example", contact);
	for (c = 0; c < 4; c++) {
		d = ask(f->r, contact, channels[c], 0);
		assert_true(d.allowed);
	}
	d = ask(f->r, contact, "email", 0);
	assert_string_equal(d.rule, "business contact: allowed until refused");
	/* Third parties need consent even for business contacts. */
	assert_false(ask(f->r, contact, "post", 1).allowed);
	assert_int_equal(
		rk_object(f->r, contact, "direct_marketing", NULL, NULL),
		RK_OK);
	for (c = 0; c < 4; c++)
		assert_false(ask(f->r, contact, channels[c], 0).allowed);

	add_kind(f->r, "customer", "third@example.com", cust);
	assert_false(ask(f->r, cust, "post", 1).allowed);
	assert_int_equal(rk_consent_set(f->r, cust, "third_party_marketing", 1,
					NULL, NULL),
			 RK_OK);
	assert_true(ask(f->r, cust, "post", 1).allowed);
	assert_true(ask(f->r, cust, "phone", 1).allowed);
	/* Electronic third-party marketing needs the channel consent too. */
	assert_false(ask(f->r, cust, "email", 1).allowed);
	assert_int_equal(
		rk_consent_set(f->r, cust, "email_marketing", 1, NULL, NULL),
		RK_OK);
	assert_true(ask(f->r, cust, "email", 1).allowed);
	assert_false(ask(f->r, cust, "sms", 1).allowed);

	assert_int_equal(rk_may_contact(f->r, cust, "fax", 0, &d), RK_EINVAL);
	assert_int_equal(rk_may_contact(f->r,
					"0123456789abcdef0123456789abcdef",
					"email", 0, &d),
			 RK_ENOTFOUND);
}

static void test_role_needs_marketing_purpose(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], token[RK_TOKEN_LEN + 1];
	rk_register *r2 = NULL;
	rk_decision d;

	add_kind(f->r, "customer", "role@example.com", id);
	assert_int_equal(rk_actor_add(f->r, "markkinointi", "marketing", token),
			 RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &r2), RK_OK);
	assert_int_equal(rk_register_authenticate(r2, "markkinointi", token),
			 RK_OK);
	assert_int_equal(rk_may_contact(r2, id, "post", 0, &d), RK_OK);
	rk_register_close(r2);
	r2 = NULL;
	assert_int_equal(
		rk_actor_add(f->r, "asiakaspalvelu", "customer_service", token),
		RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &r2), RK_OK);
	assert_int_equal(rk_register_authenticate(r2, "asiakaspalvelu", token),
			 RK_OK);
	/* Customer service does not process for marketing. */
	assert_int_equal(rk_may_contact(r2, id, "post", 0, &d), RK_EREFUSED);
	rk_register_close(r2);
}

/* Up to 4 sealed location records of a subject, as they lie on disk. */
struct sealed {
	unsigned char ct[4][512];
	size_t len[4];
	size_t n;
};

static void sealed_locations(const char *db, const char *id, struct sealed *out)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	memset(out, 0, sizeof *out);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT ciphertext FROM record"
					    " WHERE subject_id = ?1 AND type ="
					    " 'location'",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW && out->n < 4) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0);
		assert_true(n > 0 && n <= sizeof out->ct[0]);
		memcpy(out->ct[out->n], sqlite3_column_blob(s, 0), n);
		out->len[out->n++] = n;
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
}

static void test_location_withdrawal_deletes(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], other[RK_ID_LEN + 1], wal[FX_PATH + 8];
	char *list = NULL;
	struct sealed gone;
	json_t *j;
	int64_t rec = 0;

	add_kind(f->r, "customer", "paikka@example.com", id);
	add_kind(f->r, "customer", "muu@example.com", other);
	/* Location needs a live consent. */
	assert_int_equal(rk_record_add(f->r, id, "location", LOCATION, NULL,
				       NULL, NULL, &rec),
			 RK_EREFUSED);
	assert_int_equal(rk_consent_set(f->r, id, "location", 1, "app", NULL),
			 RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, other, "location", 1, "app", NULL), RK_OK);
	assert_int_equal(rk_record_add(f->r, id, "location", LOCATION, NULL,
				       NULL, "analytics", &rec),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, id, "location", LOCATION, NULL,
				       NULL, "analytics", &rec),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, other, "location", LOCATION, NULL,
				       NULL, "analytics", &rec),
			 RK_OK);
	add_purchase(f->r, id);
	assert_int_equal(count_rows(f->db,
				    "SELECT count(*) FROM record WHERE"
				    " subject_id = ?1 AND type = 'location'",
				    id),
			 2);

	sealed_locations(f->db, id, &gone);
	assert_int_equal(gone.n, 2);
	snprintf(wal, sizeof wal, "%s-wal", f->db);
	assert_true(fx_file_has_bytes(wal, gone.ct[0], gone.len[0]) ||
		    fx_file_has_bytes(f->db, gone.ct[0], gone.len[0]));
	assert_int_equal(rk_consent_set(f->r, id, "location", 0, "app", NULL),
			 RK_OK);
	assert_int_equal(count_rows(f->db,
				    "SELECT count(*) FROM record WHERE"
				    " subject_id = ?1 AND type = 'location'",
				    id),
			 0);
	/* Gone from the disk too, while the handle stays open: not in the
	 * database file (secure_delete) nor in its WAL (checkpointed). */
	for (size_t k = 0; k < gone.n; k++) {
		assert_false(fx_file_has_bytes(f->db, gone.ct[k], gone.len[k]));
		assert_false(fx_file_has_bytes(wal, gone.ct[k], gone.len[k]));
	}
	/* Other data, and other subjects' locations, stay. */
	assert_int_equal(count_rows(f->db,
				    "SELECT count(*) FROM record WHERE"
				    " subject_id = ?1 AND type = 'purchase'",
				    id),
			 1);
	assert_int_equal(count_rows(f->db,
				    "SELECT count(*) FROM record WHERE"
				    " subject_id = ?1 AND type = 'location'",
				    other),
			 1);
	assert_int_equal(
		rk_record_list(f->r, id, "location", "analytics", &list),
		RK_OK);
	j = json_loads(list, 0, NULL);
	rk_free(list);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	assert_int_equal(rk_record_add(f->r, id, "location", LOCATION, NULL,
				       NULL, "analytics", &rec),
			 RK_EREFUSED);
}

static void test_cookies(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], other[RK_ID_LEN + 1], owner[33],
		wal[FX_PATH + 8];
	unsigned char h[SEC_BIDX_BYTES];
	store *st = f->r->st;
	unsigned char mac[SEC_HASH_BYTES];
	int64_t n = -1, rec = 0, at = 0;

	snprintf(wal, sizeof wal, "%s-wal", f->db);

	add_kind(f->r, "customer", "evaste@example.com", id);
	add_kind(f->r, "customer", "toinen@example.com", other);
	assert_int_equal(rk_cookie_link(f->r, id, "ga-1.2.345"), RK_OK);
	assert_int_equal(rk_cookie_link(f->r, id, "device-77"), RK_OK);
	/* The same pair again is fine; another subject's identifier is not
	 * taken over. */
	assert_int_equal(rk_cookie_link(f->r, id, "ga-1.2.345"), RK_OK);
	assert_int_equal(rk_cookie_link(f->r, other, "ga-1.2.345"), RK_EINVAL);
	assert_int_equal(rk_cookie_link(f->r, id, ""), RK_EINVAL);
	assert_int_equal(rk_cookie_link(f->r, id, "bad\nid"), RK_EINVAL);

	sec_blind_index(f->r->ikey, "cookie", "ga-1.2.345", h);
	assert_int_equal(st->vt->cookie_resolve(st, h, owner, &at, mac), 0);
	assert_string_equal(owner, id);
	assert_true(at > 0);
	/* Only 16-byte hashes are stored, never the identifier. */
	assert_int_equal(count_rows(f->db,
				    "SELECT count(*) FROM cookie WHERE"
				    " subject_id = ?1 AND length(hash) = 16",
				    id),
			 2);
	assert_false(fx_file_has(f->db, "ga-1.2.345"));
	assert_false(fx_file_has(wal, "ga-1.2.345"));
	assert_int_equal(
		rk_consent_set(f->r, id, "analytics_cookies", 1, "web", NULL),
		RK_OK);
	assert_int_equal(
		rk_record_add_by_cookie(f->r, "ga-1.2.345", "browsing",
					"{\"url\": \"https://example.com/\", "
					"\"at\": \"2025-01-31T12:00:00Z\"}",
					"analytics", &rec),
		RK_OK);

	assert_int_equal(rk_cookie_reset(f->r, id, &n), RK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(st->vt->cookie_resolve(st, h, owner, &at, mac),
			 STORE_NOTFOUND);
	assert_int_equal(
		rk_record_add_by_cookie(f->r, "ga-1.2.345", "browsing",
					"{\"url\": \"https://example.com/\", "
					"\"at\": \"2025-01-31T12:00:00Z\"}",
					"analytics", &rec),
		RK_ENOTFOUND);
	assert_int_equal(rk_cookie_reset(f->r, id, &n), RK_OK);
	assert_int_equal(n, 0);
	/* After the reset the identifier is free to link again. */
	assert_int_equal(rk_cookie_link(f->r, other, "ga-1.2.345"), RK_OK);
}

static void test_personalisation(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1];

	add_kind(f->r, "customer", "perso@example.com", id);
	assert_int_equal(ledger_personalisation_allowed(f->r, id), 0);
	assert_int_equal(
		rk_consent_set(f->r, id, "personalisation", 1, "web", NULL),
		RK_OK);
	assert_int_equal(ledger_personalisation_allowed(f->r, id), 1);
	assert_int_equal(rk_object(f->r, id, "direct_marketing", "web", NULL),
			 RK_OK);
	assert_int_equal(ledger_personalisation_allowed(f->r, id), 0);
}

static void test_evidence_is_sealed(void **state)
{
	struct fx *f = *state;
	static const char marker[] = "Qwertyl\xc3\xa4inen soitti 040-9876543";
	char id[RK_ID_LEN + 1], wal[FX_PATH + 8], *text = NULL;

	add_kind(f->r, "customer", "sealed@example.com", id);
	assert_int_equal(
		rk_consent_set(f->r, id, "email_marketing", 1, "phone", marker),
		RK_OK);
	assert_int_equal(rk_consent_history(f->r, id, &text), RK_OK);
	assert_non_null(strstr(text, "Qwertyl"));
	rk_free(text);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	snprintf(wal, sizeof wal, "%s-wal", f->db);
	assert_false(fx_file_has(f->db, "Qwertyl"));
	assert_false(fx_file_has(wal, "Qwertyl"));
	assert_false(fx_file_has(f->db, "040-9876543"));
	assert_false(fx_file_has(wal, "040-9876543"));
	rk_register_close(f->r);
	f->r = NULL;
	assert_false(fx_file_has(f->db, "Qwertyl"));
	/* The audit names the scope, never the evidence. */
	assert_int_equal(count_rows(f->db,
				    "SELECT count(*) FROM audit WHERE"
				    " action = 'consent.give'"
				    " AND fields = 'email_marketing'",
				    NULL),
			 1);
}

/* The handle's channel goes to the entries written without one: "cli"
 * by default, the one set after; a bad one is refused and changes
 * nothing; NULL goes back to "cli". */
static void test_handle_channel(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], *json = NULL;

	add_kind(f->r, "customer", "kanava@example.com", id);
	assert_int_equal(rk_restrict(f->r, id, "kiistetty"), RK_OK);
	assert_int_equal(rk_register_set_channel(f->r, "Web Form"), RK_EINVAL);
	assert_int_equal(rk_register_set_channel(f->r, ""), RK_EINVAL);
	assert_int_equal(rk_register_set_channel(f->r, "partner-app_2"), RK_OK);
	assert_int_equal(rk_unrestrict(f->r, id, "tarkistettu"), RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, id, "email_marketing", 1, NULL, NULL),
		RK_OK);
	assert_int_equal(rk_register_set_channel(f->r, NULL), RK_OK);
	assert_int_equal(rk_restrict(f->r, id, "taas"), RK_OK);
	assert_int_equal(rk_consent_history(f->r, id, &json), RK_OK);
	/* in order: cli, partner-app_2 twice, cli */
	{
		const char *p = strstr(json, "\"channel\": \"cli\"");
		assert_non_null(p);
		p = strstr(p + 1, "\"channel\": \"partner-app_2\"");
		assert_non_null(p);
		p = strstr(p + 1, "\"channel\": \"partner-app_2\"");
		assert_non_null(p);
		p = strstr(p + 1, "\"channel\": \"cli\"");
		assert_non_null(p);
	}
	rk_free_secret(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ledger_order_and_versions,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_withdraw_and_bad_input,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_prohibition_overrides_everything, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_soft_opt_in_and_consumers,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_business_contact_and_third_party, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_role_needs_marketing_purpose, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_location_withdrawal_deletes, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cookies, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_personalisation, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_evidence_is_sealed, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_handle_channel, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
