/*
 * test_disclose.c: disclosures to the policy's recipients (third parties'
 * direct marketing without anyone who prohibited it, is restricted or did
 * not consent; overdue payments only to debt collection; one event's
 * participants; an authority's legal ground; the business transfer), a
 * transfer outside the EU/EEA refused without adequacy or safeguard, the
 * chained disclosure log in the subject's list and access report and
 * outliving an erasure, the own direct-marketing register, and the
 * may-contact decision on a table of cases (917/2014 ss. 200-202, GDPR
 * Art. 21(3)). Runs on real SQLite files with the seed policy.
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

#include "rekisteri.h"

#include "fixture.h"
#define MKT "marketing_communications"

/* A subject with NAME=VALUE pairs (NULL-terminated). */
static int setup(void **state)
{
	*state = fx_open("disclose");
	return 0;
}

static void add(rk_register *r, const char *kind, char id[RK_ID_LEN + 1], ...)
{
	rk_fields *fl = rk_fields_new();
	const char *n, *v;
	va_list ap;

	assert_non_null(fl);
	va_start(ap, id);
	while ((n = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		assert_int_equal(rk_fields_add(fl, n, v), RK_OK);
	}
	va_end(ap);
	assert_int_equal(rk_subject_add(r, kind, fl, NULL, NULL, id), RK_OK);
	rk_fields_free(fl);
}

static void person(rk_register *r, const char *kind, const char *last,
		   char id[RK_ID_LEN + 1])
{
	add(r, kind, id, "first_name", "Testi", "last_name", last, "email",
	    "testi@example.com", "street_address", "Katu 1", "postal_code",
	    "00100", "city", "Helsinki", "phone", "040 123 4567", "hetu",
	    "131052-308T", NULL);
}

static void record(rk_register *r, const char *id, const char *type,
		   const char *json, const char *purpose)
{
	int64_t rec = 0;

	assert_int_equal(
		rk_record_add(r, id, type, json, NULL, NULL, purpose, &rec),
		RK_OK);
}

static void give(rk_register *r, const char *id, const char *scope)
{
	assert_int_equal(rk_consent_set(r, id, scope, 1, "web", NULL), RK_OK);
}

static json_t *disclose(rk_register *r, const char *recipient,
			const char *purpose, const char *event,
			const char *ground, rk_status want,
			rk_disclose_result *res)
{
	rk_disclose_options o;
	char *doc = NULL;
	json_t *j;

	memset(&o, 0, sizeof o);
	o.purpose = purpose;
	o.all_eligible = 1;
	o.event = event;
	o.legal_ground = ground;
	assert_int_equal(rk_disclose(r, recipient, &o, &doc, res), want);
	if (want != RK_OK) {
		assert_null(doc);
		return NULL;
	}
	j = json_loads(doc, 0, NULL);
	assert_non_null(j);
	rk_free_secret(doc);
	return j;
}

static int has_subject(const json_t *doc, const char *id)
{
	const json_t *s;
	size_t i;

	json_array_foreach(json_object_get(doc, "subjects"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "id")), id) ==
		    0)
			return 1;
	}
	return 0;
}

static size_t log_lines(rk_register *r, const char *id)
{
	char *text = NULL;
	json_t *arr;
	size_t n;

	assert_int_equal(rk_disclosure_list(r, id, &text), RK_OK);
	arr = json_loads(text, 0, NULL);
	assert_non_null(arr);
	n = json_array_size(arr);
	json_decref(arr);
	rk_free(text);
	return n;
}

/* ---- third parties' direct marketing -------------------------------------
 */

static void test_third_party_marketing(void **state)
{
	struct fx *f = *state;
	char ok[RK_ID_LEN + 1], prohibited[RK_ID_LEN + 1];
	char restricted[RK_ID_LEN + 1], none[RK_ID_LEN + 1];
	char objected[RK_ID_LEN + 1];
	rk_disclose_result res;
	const json_t *s, *vals;
	char *report = NULL;
	json_t *doc, *rep;

	person(f->r, "customer", "Suostunut", ok);
	give(f->r, ok, "third_party_marketing");
	person(f->r, "customer", "Kieltanyt", prohibited);
	give(f->r, prohibited, "third_party_marketing");
	assert_int_equal(
		rk_object(f->r, prohibited, "direct_marketing", NULL, NULL),
		RK_OK);
	person(f->r, "customer", "Rajoitettu", restricted);
	give(f->r, restricted, "third_party_marketing");
	assert_int_equal(rk_restrict(f->r, restricted, "kiistetty"), RK_OK);
	person(f->r, "customer", "Eisuostumusta", none);
	person(f->r, "customer", "Vastustanut", objected);
	give(f->r, objected, "third_party_marketing");
	assert_int_equal(rk_object_purpose(f->r, objected, MKT, 0, NULL, NULL),
			 RK_OK);

	doc = disclose(f->r, "direct_marketing_partners", MKT, NULL, NULL,
		       RK_OK, &res);
	assert_int_equal(json_array_size(json_object_get(doc, "subjects")), 1);
	assert_true(has_subject(doc, ok));
	assert_false(has_subject(doc, prohibited));
	assert_false(has_subject(doc, restricted));
	assert_false(has_subject(doc, none));
	assert_false(has_subject(doc, objected));
	assert_int_equal(res.disclosed, 1);
	assert_int_equal(res.excluded, 4);
	assert_non_null(strstr(res.excluded_by, "prohibition=1"));
	assert_non_null(strstr(res.excluded_by, "restricted=1"));
	assert_non_null(strstr(res.excluded_by, "no_consent=1"));
	assert_non_null(strstr(res.excluded_by, "objection=1"));
	/* Only what the recipient may receive: name and postal address. */
	s = json_array_get(json_object_get(doc, "subjects"), 0);
	vals = json_object_get(s, "values");
	assert_non_null(json_object_get(vals, "last_name"));
	assert_non_null(json_object_get(vals, "street_address"));
	assert_null(json_object_get(vals, "email"));
	assert_null(json_object_get(vals, "phone"));
	assert_null(json_object_get(vals, "hetu"));
	json_decref(doc);

	/* Named subjects: a prohibited one alone is refused. */
	{
		rk_disclose_options o;
		const char *ids[1] = {prohibited};
		char *text = NULL;

		memset(&o, 0, sizeof o);
		o.purpose = MKT;
		o.subjects = ids;
		o.nsubjects = 1;
		assert_int_equal(rk_disclose(f->r, "direct_marketing_partners",
					     &o, &text, NULL),
				 RK_EREFUSED);
		assert_null(text);
	}
	/* The log: one line, in the subject's list and access report. */
	assert_int_equal(log_lines(f->r, ok), 1);
	assert_int_equal(log_lines(f->r, prohibited), 0);
	assert_int_equal(log_lines(f->r, NULL), 1);
	assert_int_equal(rk_export_json(f->r, ok, "en", &report), RK_OK);
	rep = json_loads(report, 0, NULL);
	rk_free_secret(report);
	assert_non_null(rep);
	s = json_array_get(json_object_get(rep, "disclosures"), 0);
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "recipient")),
			    "direct_marketing_partners");
	assert_string_equal(json_string_value(json_object_get(s, "basis")),
			    "consent:third_party_marketing");
	json_decref(rep);
	assert_int_equal(rk_export_html(f->r, ok, "fi", &report), RK_OK);
	assert_non_null(strstr(report, "Luovutukset"));
	rk_free_secret(report);
}

/* ---- debt collection, events, authorities, a business transfer -----------
 */

static void test_selections(void **state)
{
	struct fx *f = *state;
	char late[RK_ID_LEN + 1], paid[RK_ID_LEN + 1], guest[RK_ID_LEN + 1];
	rk_disclose_result res;
	const json_t *s, *recs;
	json_t *doc;

	person(f->r, "customer", "Myohassa", late);
	record(f->r, late, "payment",
	       "{\"amount\": \"10.00\", \"currency\": \"EUR\", \"method\": "
	       "\"invoice\", \"status\": \"overdue\"}",
	       "orders");
	record(f->r, late, "payment",
	       "{\"amount\": \"20.00\", \"currency\": \"EUR\", \"method\": "
	       "\"invoice\", \"status\": \"paid\"}",
	       "orders");
	person(f->r, "customer", "Maksanut", paid);
	record(f->r, paid, "payment",
	       "{\"amount\": \"30.00\", \"currency\": \"EUR\", \"method\": "
	       "\"card\", \"status\": \"paid\"}",
	       "orders");
	doc = disclose(f->r, "debt_collection", "orders", NULL, NULL, RK_OK,
		       &res);
	assert_true(has_subject(doc, late));
	assert_false(has_subject(doc, paid));
	s = json_array_get(json_object_get(doc, "subjects"), 0);
	recs = json_object_get(s, "records");
	/* Only the overdue payment, only billing data. */
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(recs, 0), "fields"),
			"status")),
		"overdue");
	assert_non_null(json_object_get(json_object_get(s, "values"), "hetu"));
	assert_null(json_object_get(json_object_get(s, "values"), "email"));
	assert_non_null(strstr(res.excluded_by, "not_selected=1"));
	json_decref(doc);
	/* Debt collection is for orders, not for marketing. */
	disclose(f->r, "debt_collection", MKT, NULL, NULL, RK_EREFUSED, NULL);

	/* The participants of one event, names and organisations only. */
	add(f->r, "contact", guest, "first_name", "Vieras", "last_name",
	    "Osallistuja", "organization", "Yritys Oy", "email",
	    "vieras@example.com", NULL);
	record(f->r, guest, "event",
	       "{\"event\": \"Asiakasilta 2025\", \"date\": \"2025-03-01\"}",
	       NULL);
	record(f->r, late, "event",
	       "{\"event\": \"Toinen tilaisuus\", \"date\": \"2025-03-02\"}",
	       NULL);
	disclose(f->r, "event_participants", "customer_relationship", NULL,
		 NULL, RK_EINVAL, NULL);
	doc = disclose(f->r, "event_participants", "customer_relationship",
		       "Asiakasilta 2025", NULL, RK_OK, &res);
	assert_int_equal(json_array_size(json_object_get(doc, "subjects")), 1);
	assert_true(has_subject(doc, guest));
	s = json_array_get(json_object_get(doc, "subjects"), 0);
	assert_non_null(
		json_object_get(json_object_get(s, "values"), "organization"));
	assert_null(json_object_get(json_object_get(s, "values"), "email"));
	assert_int_equal(json_array_size(json_object_get(s, "records")), 0);
	json_decref(doc);

	/* An authority's disclosure records its legal ground. */
	disclose(f->r, "authorities", "misuse_prevention", NULL, NULL,
		 RK_EINVAL, NULL);
	disclose(f->r, "authorities", "misuse_prevention", NULL, "two\nlines",
		 RK_EINVAL, NULL);
	doc = disclose(f->r, "authorities", "misuse_prevention", NULL,
		       "Poliisilaki 872/2011 4 luku 3 §", RK_OK, &res);
	assert_string_equal(
		json_string_value(json_object_get(doc, "legal_ground")),
		"Poliisilaki 872/2011 4 luku 3 §");
	json_decref(doc);
	{
		char *text = NULL;

		assert_int_equal(rk_disclosure_list(f->r, late, &text), RK_OK);
		assert_non_null(strstr(text, "Poliisilaki 872/2011"));
		assert_non_null(strstr(text, "debt_collection"));
		rk_free(text);
	}
	/* A transfer of the business: everything, whatever its purpose. */
	doc = disclose(f->r, "business_acquirer", "customer_relationship", NULL,
		       NULL, RK_OK, &res);
	assert_int_equal(res.disclosed, 3);
	assert_true(has_subject(doc, paid));
	json_decref(doc);
	assert_int_equal(log_lines(f->r, late), 3);
}

/* ---- transfers outside the EU/EEA ----------------------------------------
 */

struct diags {
	int n;
	int line, column;
};

static void diag(void *ud, const char *file, int line, int column,
		 const char *message)
{
	struct diags *d = ud;

	(void)file;
	if (strstr(message, "outside the EU/EEA") != NULL) {
		d->line = line;
		d->column = column;
	}
	d->n++;
}

/* Writes the seed policy with edits: the cloud provider loses its SCC;
 * with countries 0 the lists are dropped too. */
static void write_policy(const char *path, int countries)
{
	json_t *p = json_load_file(POLICY, 0, NULL);
	json_t *cloud;

	assert_non_null(p);
	cloud = json_object_get(json_object_get(p, "recipients"),
				"cloud_services");
	assert_int_equal(json_object_del(cloud, "safeguard"), 0);
	if (!countries)
		assert_int_equal(json_object_del(p, "countries"), 0);
	assert_int_equal(
		json_dump_file(p, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER),
		0);
	json_decref(p);
}

static void test_transfers(void **state)
{
	struct fx *f = *state;
	char path[400], db[400], key[400], id[RK_ID_LEN + 1];
	struct diags d = {0, 0, 0};
	rk_register *r2 = NULL;

	/* The seed: the US provider has SCCs, so the transfer goes. */
	person(f->r, "customer", "Pilvinen", id);
	json_decref(disclose(f->r, "cloud_services", "orders", NULL, NULL,
			     RK_OK, NULL));
	assert_int_equal(log_lines(f->r, id), 1);

	/* Without it, policy check names the recipient's line and column. */
	fx_path(path, sizeof path, f->dir, "nosafe.json");
	write_policy(path, 1);
	assert_int_equal(rk_policy_check_file(path, diag, &d), RK_EINVAL);
	assert_true(d.line > 0 && d.column > 0);

	/* A policy that names no countries cannot judge a transfer: the
	 * disclosure is refused. */
	fx_path(path, sizeof path, f->dir, "nolists.json");
	write_policy(path, 0);
	fx_path(db, sizeof db, f->dir, "r2.db");
	fx_path(key, sizeof key, f->dir, "r2.key");
	assert_int_equal(rk_register_init(db, key, path, &r2), RK_OK);
	person(r2, "customer", "Pilvinen", id);
	disclose(r2, "cloud_services", "orders", NULL, NULL, RK_EREFUSED, NULL);
	assert_non_null(strstr(rk_errmsg(r2), "outside the EU/EEA"));
	assert_int_equal(log_lines(r2, NULL), 0);
	rk_register_close(r2);
}

/* ---- the log: chained, and outliving an erasure --------------------------
 */

static void test_log_integrity(void **state)
{
	struct fx *f = *state;
	char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1], *text = NULL, *receipt = NULL;
	rk_audit_report rep;

	person(f->r, "customer", "Ensimmainen", a);
	person(f->r, "customer", "Toinen", b);
	json_decref(disclose(f->r, "software_providers", "orders", NULL, NULL,
			     RK_OK, NULL));
	assert_int_equal(log_lines(f->r, NULL), 2);
	/* Erasure: the line stays, without the subject's id. */
	assert_int_equal(rk_erase(f->r, a, 0, &receipt), RK_OK);
	rk_free(receipt);
	assert_int_equal(rk_disclosure_list(f->r, NULL, &text), RK_OK);
	assert_non_null(strstr(text, "\"subject\": null"));
	assert_null(strstr(text, a));
	rk_free(text);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_OK);

	/* An edited line, a removed line: refused. */
	fx_exec(f->db,
		"UPDATE disclosure SET recipient = 'authorities' WHERE id = "
		"(SELECT max(id) FROM disclosure)");
	assert_int_equal(rk_disclosure_list(f->r, NULL, &text), RK_EINTEGRITY);
	fx_exec(f->db,
		"UPDATE disclosure SET recipient = 'software_providers'");
	assert_int_equal(log_lines(f->r, NULL), 2);
	fx_exec(f->db, "DELETE FROM disclosure WHERE id = (SELECT max(id) FROM "
		       "disclosure)");
	assert_int_equal(rk_disclosure_list(f->r, b, &text), RK_EINTEGRITY);
	assert_int_equal(rk_export_json(f->r, b, "en", &text), RK_EINTEGRITY);
}

/* ---- the own direct-marketing register ------------------------------------
 */

static void test_marketing_register(void **state)
{
	struct fx *f = *state;
	char id[RK_ID_LEN + 1], no[RK_ID_LEN + 1], *out = NULL;
	rk_subject *s = NULL;
	rk_audit_report rep;
	json_t *j;
	size_t i, n, moved;

	/* A fixed day, so that the relationship can end on it. */
	rk_register_set_clock(f->r, 1767225600); /* 2026-01-01 */
	person(f->r, "customer", "Paattynyt", id);
	assert_int_equal(rk_transfer_to_marketing(f->r, id, &out), RK_EREFUSED);
	assert_null(out);
	assert_int_equal(rk_subject_end(f->r, id, NULL, NULL), RK_OK);
	assert_int_equal(rk_transfer_to_marketing(f->r, id, &out), RK_OK);
	j = json_loads(out, 0, NULL);
	rk_free(out);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "expires")),
			    "2028-01-01");
	/* first and last name, street, postal code, city */
	n = json_array_size(json_object_get(j, "fields"));
	assert_int_equal(n, 5);
	json_decref(j);
	/* The moved values serve marketing only, kept two years from the
	 * transfer; the rest keeps its purposes. */
	assert_int_equal(rk_subject_get(f->r, id, MKT, &s), RK_OK);
	for (i = 0, moved = 0; i < rk_subject_value_count(s); i++) {
		const rk_value *v = rk_subject_value(s, i);

		if (strcmp(v->field, "email") == 0 ||
		    strcmp(v->field, "phone") == 0) {
			assert_string_not_equal(v->purposes, MKT);
			continue;
		}
		assert_string_equal(v->purposes, MKT);
		assert_string_equal(v->legal_basis, "legitimate_interest");
		assert_string_equal(v->expires, "2028-01-01");
		moved++;
	}
	assert_int_equal(moved, 5);
	rk_subject_free(s);
	assert_int_equal(rk_transfer_to_marketing(f->r, id, NULL), RK_EINVAL);
	assert_int_equal(log_lines(f->r, id), 1);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);

	person(f->r, "customer", "Kieltaja", no);
	assert_int_equal(rk_subject_end(f->r, no, NULL, NULL), RK_OK);
	assert_int_equal(rk_object(f->r, no, "direct_marketing", NULL, NULL),
			 RK_OK);
	assert_int_equal(rk_transfer_to_marketing(f->r, no, NULL), RK_EREFUSED);
	assert_int_equal(log_lines(f->r, no), 0);
}

/* ---- may-contact by the law: a table of cases ------------------------------
 */

struct mc_case {
	const char *who;
	const char *channel;
	int third_party;
	const char *recipient;
	const char *category;
	int allowed;
	const char *rule; /* a part of the rule that must decide */
};

static void test_may_contact_table(void **state)
{
	struct fx *f = *state;
	char consumer[RK_ID_LEN + 1], buyer[RK_ID_LEN + 1];
	char contact[RK_ID_LEN + 1], prospect[RK_ID_LEN + 1];
	char objector[RK_ID_LEN + 1], withdrawn[RK_ID_LEN + 1];
	char third[RK_ID_LEN + 1], restricted[RK_ID_LEN + 1];
	char other_src[RK_ID_LEN + 1];
	const struct {
		const char *name;
		const char *id;
	} who[] = {{"consumer", consumer},  {"buyer", buyer},
		   {"contact", contact},    {"prospect", prospect},
		   {"objector", objector},  {"withdrawn", withdrawn},
		   {"third", third},	    {"restricted", restricted},
		   {"other_src", other_src}};
	static const struct mc_case cases[] = {
		{"consumer", "email", 0, NULL, NULL, 0,
		 "consumer needs prior consent"},
		{"consumer", "sms", 0, NULL, NULL, 0,
		 "consumer needs prior consent"},
		{"consumer", "automated_call", 0, NULL, NULL, 0,
		 "automated calls to a consumer need prior consent"},
		{"consumer", "post", 0, NULL, NULL, 1,
		 "allowed unless refused"},
		{"consumer", "phone", 0, NULL, NULL, 1,
		 "allowed unless refused"},
		{"buyer", "email", 0, NULL, "printers", 1,
		 "the same category as bought"},
		{"buyer", "sms", 0, NULL, "printers", 1,
		 "the same category as bought"},
		{"buyer", "email", 0, NULL, "scanners", 0,
		 "bought none of this category"},
		{"buyer", "email", 0, NULL, NULL, 1, "soft opt-in"},
		{"buyer", "automated_call", 0, NULL, "printers", 0,
		 "automated calls"},
		{"buyer", "email", 1, NULL, NULL, 0, "third-party marketing"},
		{"other_src", "email", 0, NULL, "printers", 0,
		 "obtained in connection with a sale"},
		{"contact", "email", 0, NULL, NULL, 1, "business contact"},
		{"contact", "automated_call", 0, NULL, NULL, 1,
		 "business contact"},
		{"prospect", "email", 0, NULL, NULL, 0,
		 "consumer needs prior consent"},
		{"prospect", "post", 0, NULL, NULL, 1,
		 "allowed unless refused"},
		{"objector", "post", 0, NULL, NULL, 0,
		 "objected to processing for direct marketing"},
		{"objector", "email", 0, NULL, "printers", 0, "objected"},
		{"withdrawn", "email", 0, NULL, NULL, 0,
		 "withdrew consent to e-mail marketing"},
		{"withdrawn", "sms", 0, NULL, NULL, 1,
		 "SMS marketing: the subject gave prior consent"},
		{"third", "post", 1, "direct_marketing_partners", NULL, 1,
		 "consent names the third party or its category"},
		{"third", "post", 1, "event_participants", NULL, 0,
		 "no consent of the notice names this third party"},
		{"third", "post", 1, NULL, NULL, 1,
		 "third-party marketing: the subject consented"},
		{"third", "email", 1, "direct_marketing_partners", NULL, 0,
		 "also needs the e-mail consent"},
		{"consumer", "post", 1, "direct_marketing_partners", NULL, 0,
		 "needs a live consent that names the third party"},
		{"restricted", "post", 0, NULL, NULL, 0, "restricted"},
		{"buyer", "post", 0, NULL, NULL, 1, "allowed unless refused"},
	};
	static const char purchase[] =
		"{\"product\": \"Tulostin X\", \"amount\": \"99.00\", "
		"\"currency\": \"EUR\"}";
	rk_contact_options o;
	rk_decision d;
	size_t i, k;

	add(f->r, "customer", consumer, "last_name", "Kuluttaja", "email",
	    "k@example.com", NULL);
	add(f->r, "customer", buyer, "last_name", "Ostaja", "email",
	    "o@example.com", "phone", "040 765 4321", NULL);
	record(f->r, buyer, "purchase", purchase, NULL);
	/* An address from elsewhere (a group company's register) does not
	 * open the existing-customer exception. */
	{
		rk_fields *fl = rk_fields_new();

		assert_int_equal(rk_fields_add(fl, "last_name", "Muualta"),
				 RK_OK);
		assert_int_equal(rk_fields_add(fl, "email", "m@example.com"),
				 RK_OK);
		assert_int_equal(rk_subject_add(f->r, "customer", fl,
						"group_companies", NULL,
						other_src),
				 RK_OK);
		rk_fields_free(fl);
	}
	record(f->r, other_src, "purchase", purchase, NULL);
	add(f->r, "contact", contact, "last_name", "Yhteyshenkilo", "email",
	    "y@example.com", NULL);
	add(f->r, "prospect", prospect, "email", "p@example.com", NULL);
	add(f->r, "customer", objector, "last_name", "Vastustaja", "email",
	    "v@example.com", NULL);
	record(f->r, objector, "purchase", purchase, NULL);
	assert_int_equal(rk_object_purpose(f->r, objector, MKT, 0, NULL, NULL),
			 RK_OK);
	add(f->r, "customer", withdrawn, "last_name", "Peruja", "email",
	    "w@example.com", NULL);
	give(f->r, withdrawn, "email_marketing");
	give(f->r, withdrawn, "sms_marketing");
	assert_int_equal(rk_consent_set(f->r, withdrawn, "email_marketing", 0,
					NULL, NULL),
			 RK_OK);
	add(f->r, "customer", third, "last_name", "Kolmas", NULL);
	give(f->r, third, "third_party_marketing");
	add(f->r, "customer", restricted, "last_name", "Rajattu", NULL);
	assert_int_equal(rk_restrict(f->r, restricted, "kiistetty"), RK_OK);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct mc_case *c = &cases[i];
		const char *id = NULL;

		for (k = 0; k < sizeof who / sizeof who[0]; k++)
			if (strcmp(who[k].name, c->who) == 0)
				id = who[k].id;
		assert_non_null(id);
		memset(&o, 0, sizeof o);
		o.channel = c->channel;
		o.third_party = c->third_party;
		o.recipient = c->recipient;
		o.product_category = c->category;
		assert_int_equal(rk_may_contact_ex(f->r, id, &o, &d), RK_OK);
		if (d.allowed != c->allowed || strstr(d.rule, c->rule) == NULL)
			fail_msg("case %zu (%s, %s): got %s \"%s\"", i, c->who,
				 c->channel, d.allowed ? "yes" : "no", d.rule);
		/* Every decision names its provision; a yes its condition. */
		assert_true(d.law[0] != '\0');
		if (d.allowed)
			assert_non_null(strstr(d.condition, "refuse"));
	}
	/* Without a product category the condition names the categories
	 * bought. */
	memset(&o, 0, sizeof o);
	o.channel = "email";
	assert_int_equal(rk_may_contact_ex(f->r, buyer, &o, &d), RK_OK);
	assert_non_null(strstr(d.condition, "printers"));
	o.product_category = "no_such";
	assert_int_equal(rk_may_contact_ex(f->r, buyer, &o, &d), RK_EINVAL);
	o.product_category = NULL;
	o.recipient = "direct_marketing_partners"; /* not for own */
	assert_int_equal(rk_may_contact_ex(f->r, buyer, &o, &d), RK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_third_party_marketing,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_selections, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_transfers, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_log_integrity, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_marketing_register, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_may_contact_table, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
