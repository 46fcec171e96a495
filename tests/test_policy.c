/*
 * test_policy.c: the policy loader (src/policy.c) and the position finder
 * (src/jsonpos.c). Fixtures live in tests/data/policy; each is minimal.json
 * with one or a few deliberate faults, and the positions asserted here are
 * those of the faults in those files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"
#include "policy.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif

#define DATA	 RK_SOURCE_DIR "/tests/data/policy/"
#define SEED	 RK_SOURCE_DIR "/policies/ocr-factory.json"
#define MAXDIAGS 64

typedef struct diag {
	int line, column;
	char file[256];
	char msg[512];
} diag;

typedef struct diags {
	diag d[MAXDIAGS];
	size_t n;
} diags;

static void collect(void *ud, const char *file, int line, int column,
		    const char *message)
{
	diags *ds = ud;

	if (ds->n < MAXDIAGS) {
		diag *d = &ds->d[ds->n];

		d->line = line;
		d->column = column;
		snprintf(d->file, sizeof d->file, "%s", file);
		snprintf(d->msg, sizeof d->msg, "%s", message);
	}
	ds->n++;
}

static void dump(const diags *ds)
{
	size_t i;

	for (i = 0; i < ds->n && i < MAXDIAGS; i++)
		print_message("  %s:%d:%d: %s\n", ds->d[i].file, ds->d[i].line,
			      ds->d[i].column, ds->d[i].msg);
}

/* Whether a diagnostic at line:column contains text. */
static int has(const diags *ds, int line, int column, const char *text)
{
	size_t i;

	for (i = 0; i < ds->n && i < MAXDIAGS; i++)
		if (ds->d[i].line == line && ds->d[i].column == column &&
		    strstr(ds->d[i].msg, text) != NULL)
			return 1;
	dump(ds);
	return 0;
}

static int has_text(const diags *ds, const char *text)
{
	size_t i;

	for (i = 0; i < ds->n && i < MAXDIAGS; i++)
		if (strstr(ds->d[i].msg, text) != NULL)
			return 1;
	dump(ds);
	return 0;
}

static policy *load(const char *name, diags *ds)
{
	char path[512];

	memset(ds, 0, sizeof *ds);
	snprintf(path, sizeof path, "%s%s", DATA, name);
	return policy_load_file(path, collect, ds, NULL);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The file at path with the one occurrence of from replaced by to. */
static char *patched_file(const char *path, const char *from, const char *to)
{
	char *base = slurp(path), *hit, *out;
	size_t lb = strlen(base), lf = strlen(from), lt = strlen(to), pre;

	hit = strstr(base, from);
	assert_non_null(hit);
	assert_null(strstr(hit + 1, from));
	pre = (size_t)(hit - base);
	out = malloc(lb - lf + lt + 1);
	assert_non_null(out);
	memcpy(out, base, pre);
	memcpy(out + pre, to, lt);
	memcpy(out + pre + lt, hit + lf, lb - pre - lf + 1);
	free(base);
	return out;
}

static char *patched(const char *from, const char *to)
{
	return patched_file(DATA "minimal.json", from, to);
}

/* Parses base with one replacement; expects failure naming msg. */
static void expect_problem_in(const char *base, const char *from,
			      const char *to, const char *msg)
{
	char *text = patched_file(base, from, to);
	diags ds;
	policy *p;

	memset(&ds, 0, sizeof ds);
	p = policy_parse(text, strlen(text), "t.json", collect, &ds);
	if (p != NULL || !has_text(&ds, msg))
		print_message("expected \"%s\" after replacing \"%s\"\n", msg,
			      from);
	assert_null(p);
	assert_true(has_text(&ds, msg));
	free(text);
}

static void expect_problem(const char *from, const char *to, const char *msg)
{
	expect_problem_in(DATA "minimal.json", from, to, msg);
}

/* ---- the seed policy ---- */

static void test_seed_loads_clean(void **state)
{
	diags ds;
	char *text = NULL;
	policy *p;

	(void)state;
	memset(&ds, 0, sizeof ds);
	p = policy_load_file(SEED, collect, &ds, &text);
	dump(&ds);
	assert_non_null(p);
	assert_int_equal(ds.n, 0);
	assert_non_null(text);
	assert_non_null(strstr(text, "rekisteri_policy"));
	free(text);
	policy_free(p);
}

static void test_seed_names(void **state)
{
	static const char *const fields[] = {"first_name",
					     "last_name",
					     "email",
					     "phone",
					     "street_address",
					     "postal_code",
					     "city",
					     "country",
					     "gender",
					     "birth_date",
					     "hetu",
					     "customer_number",
					     "organization",
					     "business_id",
					     "job_title",
					     "username",
					     "password",
					     "marketing_id",
					     NULL};
	static const char *const purposes[] = {"customer_relationship",
					       "products_services",
					       "orders",
					       "analytics",
					       "marketing_communications",
					       "feedback_research",
					       "misuse_prevention",
					       NULL};
	static const char *const bases[] = {"consent", "contract",
					    "legal_obligation",
					    "legitimate_interest", NULL};
	static const char *const records[] = {
		"purchase",	 "payment",  "product_use", "feedback",
		"event",	 "location", "browsing",    "marketing_action",
		"communication", NULL};
	static const char *const scopes[] = {
		"location",	   "email_marketing",
		"sms_marketing",   "third_party_marketing",
		"personalisation", NULL};
	static const char *const roles[] = {"customer_service",
					    "marketing",
					    "billing",
					    "dpo",
					    "admin",
					    NULL};
	static const struct {
		const char *type, *field;
	} rfields[] = {
		{"purchase", "product"},      {"purchase", "amount"},
		{"purchase", "currency"},     {"purchase", "warranty_until"},
		{"payment", "amount"},	      {"payment", "currency"},
		{"payment", "method"},	      {"payment", "invoice_number"},
		{"payment", "due_date"},      {"payment", "status"},
		{"payment", "card_token"},    {"payment", "card_brand"},
		{"payment", "card_last4"},    {"payment", "card_expiry"},
		{"location", "latitude"},     {"location", "longitude"},
		{"location", "recorded_at"},  {"browsing", "ip"},
		{"browsing", "user_agent"},   {"browsing", "url"},
		{"browsing", "referrer"},     {"browsing", "at"},
		{"feedback", "kind"},	      {"feedback", "text"},
		{"event", "event"},	      {"event", "date"},
		{"communication", "channel"}, {"communication", "direction"},
		{"communication", "text"},
	};
	diags ds;
	policy *p = NULL;
	size_t i;

	(void)state;
	memset(&ds, 0, sizeof ds);
	p = policy_load_file(SEED, collect, &ds, NULL);
	assert_non_null(p);
	for (i = 0; fields[i] != NULL; i++)
		assert_int_not_equal(policy_field(p, fields[i]), POL_NONE);
	for (i = 0; purposes[i] != NULL; i++)
		assert_int_equal(policy_purpose(p, purposes[i]), i);
	for (i = 0; bases[i] != NULL; i++)
		assert_int_not_equal(policy_basis(p, bases[i]), POL_NONE);
	for (i = 0; records[i] != NULL; i++)
		assert_int_not_equal(policy_record_type(p, records[i]),
				     POL_NONE);
	for (i = 0; scopes[i] != NULL; i++)
		assert_int_not_equal(policy_scope(p, scopes[i]), POL_NONE);
	for (i = 0; roles[i] != NULL; i++)
		assert_int_not_equal(policy_role(p, roles[i]), POL_NONE);
	for (i = 0; i < sizeof rfields / sizeof rfields[0]; i++) {
		size_t rt = policy_record_type(p, rfields[i].type);

		assert_int_not_equal(rt, POL_NONE);
		assert_int_not_equal(policy_record_field(&p->record_types[rt],
							 rfields[i].field),
				     POL_NONE);
	}
	assert_int_equal(p->npurposes, 7);
	assert_int_equal(p->nbases, 4);
	assert_int_equal(p->nrecord_types, 9);
	assert_int_equal(p->nscopes, 7);
	assert_int_equal(p->nfields, 18);
	assert_int_not_equal(policy_objection(p, "direct_marketing"), POL_NONE);
	assert_int_not_equal(policy_kind(p, "customer"), POL_NONE);
	assert_int_not_equal(policy_kind(p, "prospect"), POL_NONE);
	assert_int_not_equal(policy_kind(p, "contact"), POL_NONE);
	policy_free(p);
}

static void test_seed_content(void **state)
{
	policy *p = policy_load_file(SEED, NULL, NULL, NULL);
	const pol_field *f;
	const pol_record_type *rt;
	const pol_retention *r;
	size_t i, us_scc = 0;

	(void)state;
	assert_non_null(p);
	assert_int_equal(p->format, 1);
	assert_string_equal(p->controller.name, "OCR Factory Oy");
	assert_string_equal(p->controller.address,
			    "Finnoonlaaksontie 7, 02270 Espoo");
	assert_string_equal(p->controller.business_id, "3154631-3");
	assert_string_equal(p->responsible.name, "Miia Klärich");
	assert_string_equal(p->responsible.email, "miia@ocrfactory.fi");
	assert_non_null(strstr(p->register_name.fi, "asiakastietorekisteri"));
	assert_non_null(p->register_name.en);
	assert_int_equal(p->settings.allow_temporary_hetu, 0);
	assert_int_equal(p->settings.derive_sex_from_hetu, 0);
	assert_int_equal(p->settings.default_purpose,
			 policy_purpose(p, "customer_relationship"));
	assert_string_equal(p->settings.country_code, "358");
	assert_int_equal(p->settings.customer_number_start, 100001);

	f = &p->fields[policy_field(p, "email")];
	assert_int_equal(f->type, PT_EMAIL);
	assert_true(f->lookup && f->multiple);
	f = &p->fields[policy_field(p, "phone")];
	assert_true(f->lookup && f->multiple);
	f = &p->fields[policy_field(p, "hetu")];
	assert_int_equal(f->type, PT_HETU);
	assert_true(f->lookup);
	assert_int_equal(f->category, policy_category(p, "identifiers"));
	assert_int_equal(f->basis, policy_basis(p, "legal_obligation"));
	assert_int_equal(f->retention, policy_retention(p, "kyc"));
	f = &p->fields[policy_field(p, "customer_number")];
	assert_int_equal(f->type, PT_CUSTOMER_NUMBER);
	assert_true(f->lookup);
	f = &p->fields[policy_field(p, "username")];
	assert_int_equal(f->type, PT_TEXT);
	assert_true(f->lookup);
	assert_int_equal(p->fields[policy_field(p, "password")].type,
			 PT_PASSWORD);
	f = &p->fields[policy_field(p, "gender")];
	assert_int_equal(f->type, PT_ENUM);
	assert_true(f->nvalues >= 2);
	f = &p->fields[policy_field(p, "marketing_id")];
	assert_int_equal(f->consent, policy_scope(p, "personalisation"));
	assert_true(policy_basis_is_consent(p, f->basis));

	rt = &p->record_types[policy_record_type(p, "location")];
	assert_int_equal(rt->consent, policy_scope(p, "location"));
	assert_true(policy_basis_is_consent(p, rt->basis));
	/* Record fields inherit their record type's rules. */
	f = &rt->fields[policy_record_field(rt, "latitude")];
	assert_int_equal(f->type, PT_LATITUDE);
	assert_true(f->required);
	assert_int_equal(f->basis, rt->basis);
	assert_int_equal(f->consent, rt->consent);
	assert_int_equal(f->category, POL_NONE);
	assert_int_equal(f->npurposes, rt->npurposes);
	assert_int_equal(rt->npc, 0);
	/* Browsing data: legitimate interest, but marketing use needs the
	 * personalisation consent. */
	rt = &p->record_types[policy_record_type(p, "browsing")];
	assert_int_equal(rt->consent, POL_NONE);
	assert_false(policy_basis_is_consent(p, rt->basis));
	assert_int_equal(rt->npc, 2);
	assert_int_equal(
		policy_record_purpose_consent(
			rt, policy_purpose(p, "marketing_communications")),
		policy_scope(p, "personalisation"));
	/* Analytics cookies need consent too (917/2014 s. 205). */
	assert_int_equal(policy_record_purpose_consent(
				 rt, policy_purpose(p, "analytics")),
			 policy_scope(p, "analytics_cookies"));
	assert_int_equal(policy_record_purpose_consent(NULL, 0), POL_NONE);
	rt = &p->record_types[policy_record_type(p, "communication")];
	assert_true(rt->attachment);
	assert_true(rt->max_attachment > 0);
	f = &rt->fields[policy_record_field(rt, "channel")];
	assert_int_equal(f->type, PT_ENUM);
	assert_int_equal(f->nvalues, 4);
	rt = &p->record_types[policy_record_type(p, "feedback")];
	f = &rt->fields[policy_record_field(rt, "kind")];
	assert_int_equal(f->nvalues, 2);
	assert_string_equal(f->values[0], "feedback");
	assert_string_equal(f->values[1], "complaint");
	rt = &p->record_types[policy_record_type(p, "payment")];
	assert_int_equal(rt->fields[policy_record_field(rt, "card_last4")].type,
			 PT_CARD_LAST4);
	assert_int_equal(rt->fields[policy_record_field(rt, "card_token")].type,
			 PT_CARD_TOKEN);

	r = &p->retention[policy_retention(p, "kyc")];
	assert_int_equal(r->from, RET_RELATIONSHIP_END);
	assert_int_equal(r->years, 5);
	r = &p->retention[policy_retention(p, "prospect")];
	assert_int_equal(r->from, RET_COLLECTION);
	assert_int_equal(r->months, 6);
	r = &p->retention[policy_retention(p, "bookkeeping")];
	assert_int_equal(r->from, RET_FISCAL_YEAR_END);
	assert_int_equal(r->years, 10);
	assert_true(r->legal_hold);
	r = &p->retention[policy_retention(p, "bookkeeping_vouchers")];
	assert_int_equal(r->from, RET_CALENDAR_YEAR_END);
	assert_int_equal(r->years, 6);
	assert_true(r->legal_hold);
	assert_int_not_equal(policy_retention(p, "statutory"), POL_NONE);
	assert_int_equal(p->kinds[policy_kind(p, "prospect")].retention,
			 policy_retention(p, "prospect"));

	for (i = 0; i < p->nrecipients; i++)
		if (strcmp(p->recipients[i].country, "US") == 0 &&
		    p->recipients[i].safeguard != NULL &&
		    strcmp(p->recipients[i].safeguard, "scc") == 0)
			us_scc++;
	assert_true(us_scc >= 1);
	assert_true(p->nrecipients >= 10);
	assert_int_equal(p->bases[policy_basis(p, "consent")].gdpr[2], '1');
	assert_true(p->roles[policy_role(p, "dpo")].unmasked_hetu);
	assert_false(p->roles[policy_role(p, "marketing")].unmasked_hetu);
	assert_true(p->nsections >= 14);
	for (i = 0; i < p->nsections; i++) {
		assert_non_null(p->sections[i].title.fi);
		assert_non_null(p->sections[i].body.en);
	}
	assert_string_equal(p->sections[p->nsections - 1].key, "changes");
	policy_free(p);
}

/* ---- lookups ---- */

static void test_lookups(void **state)
{
	policy *p = load("minimal.json", &(diags){0});
	size_t email, mk, cr, rt;
	int t;

	(void)state;
	assert_non_null(p);
	email = policy_field(p, "email");
	mk = policy_purpose(p, "marketing");
	cr = policy_purpose(p, "customer_relationship");
	assert_int_equal(cr, 0);
	assert_int_equal(mk, 1);
	assert_int_equal(email, 1);
	assert_true(policy_field_serves(p, email, mk));
	assert_false(policy_field_serves(p, policy_field(p, "last_name"), mk));
	assert_false(policy_field_serves(p, POL_NONE, mk));
	assert_false(policy_field_serves(NULL, 0, 0));
	assert_int_equal(policy_field(p, "nope"), POL_NONE);
	assert_int_equal(policy_field(p, NULL), POL_NONE);
	assert_int_equal(policy_purpose(NULL, "marketing"), POL_NONE);
	assert_int_equal(policy_basis(p, "consent"), 1);
	assert_true(policy_basis_is_consent(p, 1));
	assert_false(policy_basis_is_consent(p, 0));
	assert_false(policy_basis_is_consent(p, POL_NONE));
	assert_int_equal(policy_source(p, "data_subject"), 0);
	assert_int_equal(policy_kind(p, "contact"), 2);
	assert_int_equal(policy_scope(p, "email_marketing"), 0);
	assert_int_equal(policy_category(p, "contact"), 0);
	assert_int_equal(policy_retention(p, "relationship"), 0);
	assert_int_equal(policy_role(p, "dpo"), POL_NONE);
	assert_int_equal(policy_recipient(p, "x"), POL_NONE);
	assert_int_equal(policy_objection(p, "direct_marketing"), POL_NONE);
	rt = policy_record_type(p, "purchase");
	assert_int_equal(rt, 0);
	assert_int_equal(policy_record_field(&p->record_types[rt], "product"),
			 0);
	assert_int_equal(policy_record_field(&p->record_types[rt], "x"),
			 POL_NONE);
	assert_int_equal(policy_record_field(NULL, "x"), POL_NONE);
	/* Defaults when "settings" is absent. */
	assert_int_equal(p->settings.default_purpose, 0);
	assert_string_equal(p->settings.country_code, "358");
	assert_int_equal(p->settings.customer_number_start, 100001);
	assert_int_equal(p->kinds[0].nrequired, 1);
	assert_int_equal(p->kinds[0].required[0], policy_field(p, "last_name"));
	assert_int_equal(p->kinds[1].retention, POL_NONE);
	assert_null(p->purposes[0].description.fi);
	assert_null(p->controller.email);

	for (t = PT_TEXT; t <= PT_LONGITUDE; t++)
		assert_string_not_equal(policy_type_name((pol_type)t),
					"unknown");
	assert_string_equal(policy_type_name(PT_TEXT), "text");
	assert_string_equal(policy_type_name(PT_CUSTOMER_NUMBER),
			    "customer_number");
	assert_string_equal(policy_type_name(PT_LONGITUDE), "longitude");
	assert_string_equal(policy_type_name((pol_type)99), "unknown");
	policy_free(p);
	policy_free(NULL);
}

/* ---- diagnostics with positions ---- */

static void test_minimal_clean(void **state)
{
	diags ds;
	policy *p = load("minimal.json", &ds);

	(void)state;
	dump(&ds);
	assert_non_null(p);
	assert_int_equal(ds.n, 0);
	policy_free(p);
}

static void test_syntax_error(void **state)
{
	diags ds;
	policy *p = load("syntax_error.json", &ds);

	(void)state;
	assert_null(p);
	assert_int_equal(ds.n, 1);
	/* The comma after "rekisteri_policy": 1 is missing; the next key is
	 * where the parser notices. */
	assert_true(has(&ds, 3, 3, "syntax error"));
	assert_non_null(strstr(ds.d[0].file, "syntax_error.json"));
}

static void test_typo_key(void **state)
{
	diags ds;
	policy *p = load("typo_key.json", &ds);

	(void)state;
	assert_null(p);
	assert_int_equal(ds.n, 1);
	/* Column 236 counts characters: the line holds "ä" and "ö". */
	assert_true(has(&ds, 32, 236,
			"unknown key \"lookpu\" (did you mean \"lookup\"?)"));
}

static void test_undeclared_purpose(void **state)
{
	diags ds;
	policy *p = load("undeclared_ref.json", &ds);

	(void)state;
	assert_null(p);
	assert_int_equal(ds.n, 1);
	assert_true(has(&ds, 32, 140, "unknown purpose \"marketting\""));
	assert_true(has(&ds, 32, 140, "did you mean \"marketing\""));
}

static void test_purpose_consents_positions(void **state)
{
	diags ds;
	policy *p = load("purpose_consents.json", &ds);

	(void)state;
	assert_null(p);
	assert_int_equal(ds.n, 3);
	/* A declared purpose that the type does not serve: at the key. */
	assert_true(has(&ds, 47, 9,
			"purpose \"marketing\" is not one of the record "
			"type's \"purposes\""));
	/* An undeclared scope: at the value. */
	assert_true(has(&ds, 48, 34,
			"unknown consent scope \"emial_marketing\" (did you "
			"mean \"email_marketing\"?)"));
	/* An undeclared purpose: at the key. */
	assert_true(has(&ds, 49, 9,
			"unknown purpose \"marketting\" (did you mean "
			"\"marketing\"?)"));
	/* Sorted by position. */
	assert_int_equal(ds.d[0].line, 47);
	assert_int_equal(ds.d[2].line, 49);
}

static void test_bad_ytunnus(void **state)
{
	diags ds;
	policy *p = load("bad_ytunnus.json", &ds);

	(void)state;
	assert_null(p);
	assert_int_equal(ds.n, 1);
	assert_true(has(&ds, 6, 20, "invalid Y-tunnus"));
	/* The value itself is never echoed. */
	assert_null(strstr(ds.d[0].msg, "3154631"));
}

static void test_missing_key(void **state)
{
	diags ds;
	policy *p = load("missing_key.json", &ds);

	(void)state;
	assert_null(p);
	assert_int_equal(ds.n, 1);
	/* At the enclosing object: the retention rule's "{". */
	assert_true(has(&ds, 25, 21, "missing required key \"period\""));
}

static void test_duplicate_key(void **state)
{
	diags ds;
	policy *p = load("duplicate_key.json", &ds);

	(void)state;
	assert_null(p);
	assert_int_equal(ds.n, 1);
	assert_true(has(&ds, 37, 5, "duplicate key \"customer\""));
}

static void test_many_errors(void **state)
{
	diags ds;
	policy *p = load("many_errors.json", &ds);
	size_t i;

	(void)state;
	assert_null(p);
	assert_true(has(&ds, 3, 3, "unknown key \"purpoes\""));
	assert_true(has(&ds, 7, 20, "invalid Y-tunnus"));
	assert_true(has(&ds, 26, 115, "\"period\" must be an ISO 8601"));
	assert_true(has(&ds, 33, 140, "unknown purpose \"marketting\""));
	assert_true(has(&ds, 35, 20, "missing subject kind \"contact\""));
	assert_true(has(&ds, 38, 26, "missing required key \"en\""));
	assert_true(has(&ds, 48, 72, "did you mean \"text\""));
	assert_int_equal(ds.n, 7);
	/* Reported in the order of the text. */
	for (i = 1; i < ds.n; i++)
		assert_true(ds.d[i - 1].line < ds.d[i].line ||
			    (ds.d[i - 1].line == ds.d[i].line &&
			     ds.d[i - 1].column <= ds.d[i].column));
}

static void test_empty_and_not_object(void **state)
{
	diags ds;
	policy *p;

	(void)state;
	p = load("empty.json", &ds);
	assert_null(p);
	assert_true(has(&ds, 1, 1, "empty"));
	p = load("not_object.json", &ds);
	assert_null(p);
	assert_true(has(&ds, 1, 1, "must be a JSON object"));

	memset(&ds, 0, sizeof ds);
	assert_null(policy_parse(NULL, 0, NULL, collect, &ds));
	assert_int_equal(ds.n, 1);
	assert_string_equal(ds.d[0].file, "policy");
	memset(&ds, 0, sizeof ds);
	assert_null(policy_parse(" \n\t ", 4, "w.json", collect, &ds));
	assert_true(has(&ds, 1, 1, "empty"));
	memset(&ds, 0, sizeof ds);
	assert_null(policy_parse("\"x\"", 3, "s.json", collect, &ds));
	assert_int_equal(ds.n, 1);
	memset(&ds, 0, sizeof ds);
	assert_null(policy_parse("{}", 2, "o.json", collect, &ds));
	assert_true(has(&ds, 1, 1, "missing required key \"controller\""));
	assert_true(has_text(&ds, "missing required key \"rekisteri_policy\""));
	/* No callback: still no crash, still NULL. */
	assert_null(policy_parse("{", 1, "x", NULL, NULL));
}

static void test_syntax_positions(void **state)
{
	static const struct {
		const char *text;
		int line, column;
		const char *msg;
	} cases[] = {
		{"{\"a\": tru}", 1, 7, "invalid token"},
		{"{\"a\": }", 1, 7, "unexpected token"},
		{"{\n  \"ä\": 1,\n  \"ä\": 2\n}", 3, 3, "duplicate key \"ä\""},
		{"{\"a\": \"open", 1, 7, "unterminated string"},
		{"{\"a\": 1", 1, 8, "unexpected end of input"},
		{"{\"a\": 1} x", 1, 10, "after the end"},
		{"{\"a\": \"\xff\"}", 1, 8, "invalid UTF-8"},
		{"{\"a\" 1}", 1, 6, "expected ':'"},
		{"{\"a\": \"\\u0000\"}", 1, 7, "\\u0000"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		diags ds;

		memset(&ds, 0, sizeof ds);
		assert_null(policy_parse(cases[i].text, strlen(cases[i].text),
					 "s.json", collect, &ds));
		if (!has(&ds, cases[i].line, cases[i].column, cases[i].msg))
			print_message("case %zu\n", i);
		assert_true(
			has(&ds, cases[i].line, cases[i].column, cases[i].msg));
	}
}

static void test_no_values_in_messages(void **state)
{
	diags ds;
	char *text = patched("\"dpo@example.fi\"", "\"Matti Meikäläinen\"");
	size_t i;

	(void)state;
	memset(&ds, 0, sizeof ds);
	assert_null(policy_parse(text, strlen(text), "t.json", collect, &ds));
	assert_true(has_text(&ds, "invalid e-mail address"));
	for (i = 0; i < ds.n; i++)
		assert_null(strstr(ds.d[i].msg, "Meik"));
	free(text);
	/* Jansson quotes the text near a syntax error; we do not. */
	memset(&ds, 0, sizeof ds);
	assert_null(
		policy_parse("{\"a\": \"131052-308T", 18, "t", collect, &ds));
	assert_int_equal(ds.n, 1);
	assert_null(strstr(ds.d[0].msg, "131052"));
}

static void test_load_file_errors(void **state)
{
	diags ds;
	char *text = (char *)1;

	(void)state;
	memset(&ds, 0, sizeof ds);
	assert_null(policy_load_file(DATA "does-not-exist.json", collect, &ds,
				     &text));
	assert_null(text);
	assert_int_equal(ds.n, 1);
	assert_int_equal(ds.d[0].line, 0);
	assert_true(has_text(&ds, "cannot read"));
	memset(&ds, 0, sizeof ds);
	assert_null(policy_load_file(NULL, collect, &ds, NULL));
	assert_int_equal(ds.n, 1);
	/* A file that reads but does not parse still hands back its text. */
	memset(&ds, 0, sizeof ds);
	assert_null(
		policy_load_file(DATA "bad_ytunnus.json", collect, &ds, &text));
	assert_non_null(text);
	free(text);
}

/* ---- each rule, one at a time ---- */

/* What the register's rules act on is named by the policy, never by the
 * code: the operator's role, the direct-marketing designations, the kind
 * that gets customer numbers. */
static void test_designations(void **state)
{
	policy *p = policy_load_file(SEED, NULL, NULL, NULL);

	(void)state;
	assert_non_null(p);
	assert_int_equal(p->settings.operator_role, policy_role(p, "admin"));
	assert_int_equal(p->marketing.purpose,
			 policy_purpose(p, "marketing_communications"));
	assert_true(policy_marketing_role(p, policy_role(p, "marketing")));
	assert_false(policy_marketing_role(p, policy_role(p, "billing")));
	assert_int_equal(p->marketing.prohibition,
			 policy_objection(p, "direct_marketing"));
	assert_int_equal(p->marketing.email_consent,
			 policy_scope(p, "email_marketing"));
	assert_int_equal(p->marketing.sms_consent,
			 policy_scope(p, "sms_marketing"));
	assert_int_equal(p->marketing.third_party_consent,
			 policy_scope(p, "third_party_marketing"));
	assert_int_equal(p->marketing.personalisation_consent,
			 policy_scope(p, "personalisation"));
	assert_int_equal(p->marketing.customer_kind,
			 policy_kind(p, "customer"));
	assert_int_equal(p->marketing.contact_kind, policy_kind(p, "contact"));
	assert_int_equal(p->marketing.sale_record,
			 policy_record_type(p, "purchase"));
	assert_true(p->kinds[policy_kind(p, "customer")].customer_number);
	assert_false(p->kinds[policy_kind(p, "prospect")].customer_number);
	policy_free(p);

	/* policy check reports what is missing or wrong */
	expect_problem_in(SEED,
			  "\"customer_number_start\": 100001,\n    "
			  "\"operator_role\": \"admin\"",
			  "\"customer_number_start\": 100001", "operator_role");
	expect_problem_in(SEED, "\"operator_role\": \"admin\"",
			  "\"operator_role\": \"root\"", "unknown role");
	expect_problem_in(SEED, "\"prohibition\": \"direct_marketing\"",
			  "\"prohibition\": \"marketing_ban\"",
			  "unknown objection");
	expect_problem_in(SEED, "\"sale_record_type\": \"purchase\"",
			  "\"sale_record_type\": \"sale\"",
			  "unknown record type");
	expect_problem_in(SEED, "\"email_consent\": \"email_marketing\"",
			  "\"email_consent\": \"direct_marketing\"",
			  "unknown consent scope");
	expect_problem_in(SEED,
			  "\"roles\": [\"marketing\", "
			  "\"processor_marketing\"]",
			  "\"roles\": \"marketing\"", "must be an array");
}

static void test_rules(void **state)
{
	(void)state;
	expect_problem("\"rekisteri_policy\": 1", "\"rekisteri_policy\": 2",
		       "unsupported policy format");
	expect_problem("\"3154631-3\"", "\"3154631\"", "invalid Y-tunnus");
	/* the register's own Y-tunnus check, in its canonical form: a
	 * check digit that is wrong, an old 6-digit body, spaces */
	expect_problem("\"3154631-3\"", "\"3154631-4\"", "invalid Y-tunnus");
	expect_problem("\"3154631-3\"", "\"154631-3\"", "invalid Y-tunnus");
	expect_problem("\"3154631-3\"", "\" 3154631-3\"", "invalid Y-tunnus");
	expect_problem("\"3154631-3\"", "3154631", "must be a string");
	expect_problem("\"P0D\"", "\"PT1H\"", "ISO 8601 period");
	expect_problem("\"P0D\"", "\"P1D1Y\"", "ISO 8601 period");
	expect_problem("\"from\": \"relationship_end\"", "\"from\": \"end\"",
		       "\"from\" must be one of");
	expect_problem("{\"fi\": \"Sukunimi\", \"en\": \"Last name\"}",
		       "{\"fi\": \"Sukunimi\"}", "missing required key \"en\"");
	expect_problem("{\"fi\": \"Sukunimi\", \"en\": \"Last name\"}",
		       "{\"fi\": \"Sukunimi\", \"en\": \"\"}",
		       "\"en\" must not be empty");
	expect_problem("{\"fi\": \"Sukunimi\", \"en\": \"Last name\"}",
		       "{\"fi\": \"Sukunimi\", \"en\": \"x\", \"sv\": \"y\"}",
		       "unknown key \"sv\"");
	expect_problem(
		"\"label\": {\"fi\": \"Sukunimi\", \"en\": \"Last name\"}",
		"\"label\": \"Sukunimi\"",
		"must be an object with \"fi\" and \"en\"");
	expect_problem("\"last_name\": {", "\"Last-Name\": {", "invalid name");
	expect_problem("\"type\": \"email\"", "\"type\": \"emial\"",
		       "did you mean \"email\"");
	expect_problem("\"type\": \"email\"", "\"type\": \"password\"",
		       "lookup is not supported for type password");
	expect_problem("\"type\": \"email\"", "\"type\": \"enum\"",
		       "needs \"values\"");
	expect_problem("\"type\": \"email\"",
		       "\"type\": \"enum\", \"values\": [\"a\", \"a\"]",
		       "duplicate enum value \"a\"");
	expect_problem("\"type\": \"email\"",
		       "\"type\": \"email\", \"values\": [\"a\"]",
		       "allowed only with type enum");
	expect_problem("\"lookup\": true", "\"lookup\": 1",
		       "\"lookup\" must be true or false");
	expect_problem("\"category\": \"contact\", \"purposes\": "
		       "[\"customer_relationship\", \"marketing\"]",
		       "\"category\": \"kontact\", \"purposes\": "
		       "[\"customer_relationship\", \"marketing\"]",
		       "unknown category \"kontact\"");
	expect_problem("\"legal_basis\": \"contract\", \"source\": "
		       "\"data_subject\", \"retention\": \"relationship\", "
		       "\"lookup\"",
		       "\"legal_basis\": \"consent\", \"source\": "
		       "\"data_subject\", \"retention\": \"relationship\", "
		       "\"lookup\"",
		       "needs a \"consent\" scope");
	expect_problem("\"purposes\": [\"marketing\"]}", "\"purposes\": []}",
		       "must name at least one purpose");
	expect_problem("\"required\": [\"last_name\"]",
		       "\"required\": [\"last_name\", \"last_name\"]",
		       "duplicate field \"last_name\"");
	expect_problem("\"required\": [\"last_name\"]",
		       "\"required\": [\"surname\"]",
		       "unknown field \"surname\"");
	expect_problem("\"prospect\": {\"label\"", "\"prospekt\": {\"label\"",
		       "missing subject kind \"prospect\"");
	expect_problem("\"email\": \"dpo@example.fi\"", "\"email\": 5",
		       "\"email\" must be a string");
	expect_problem("\"type\": \"text\", \"required\": true",
		       "\"type\": \"hetu\", \"required\": true",
		       "not allowed in a record");
	expect_problem("\"retention\": \"relationship\",\n      \"fields\"",
		       "\"retention\": \"relationship\",\n      "
		       "\"max_attachment_bytes\": 5,\n      \"fields\"",
		       "needs \"attachment\": true");
	expect_problem(
		"\"retention\": \"relationship\",\n      \"fields\"",
		"\"retention\": \"relationship\",\n      "
		"\"purpose_consents\": [\"marketing\"],\n      \"fields\"",
		"\"purpose_consents\" must be an object");
	expect_problem(
		"\"retention\": \"relationship\",\n      \"fields\"",
		"\"retention\": \"relationship\",\n      "
		"\"purpose_consents\": {\"customer_relationship\": 1},"
		"\n      \"fields\"",
		"the value of \"customer_relationship\" must be the name "
		"of a consent scope");
	expect_problem(
		"\"retention\": \"relationship\",\n      \"fields\"",
		"\"retention\": \"relationship\",\n      "
		"\"purpose_consents\": {\"customer_relationship\": "
		"\"email_marketing\"},\n      \"fields\"",
		"consent scope \"email_marketing\" does not cover purpose "
		"\"customer_relationship\"");
	expect_problem("\"retention\": \"relationship\",\n      \"fields\"",
		       "\"retention\": \"relationship\",\n      "
		       "\"purpose_consent\": {},\n      \"fields\"",
		       "unknown key \"purpose_consent\" (did you mean "
		       "\"purpose_consents\"?)");
	expect_problem("\"fields\": {\n        \"product\"",
		       "\"fields\": {},\n        \"x\": {\"product\"",
		       "must declare at least one item");
	expect_problem("\"gdpr\": \"6(1)(b)\"", "\"gdpr\": \"6.1.b\"",
		       "article reference");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"settings\": "
		       "{\"default_purpose\": \"sales\"},",
		       "unknown purpose \"sales\"");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"settings\": "
		       "{\"phone_country_code\": \"+358\"},",
		       "phone_country_code");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"settings\": "
		       "{\"customer_number_start\": 0},",
		       "customer_number_start");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"recipients\": {\"r\": "
		       "{\"label\": {\"fi\": \"a\", \"en\": \"b\"}, \"kind\": "
		       "\"controller\", \"country\": \"FI\", \"purposes\": "
		       "[\"marketing\"]}},",
		       "\"kind\" must be one of processor, third_party, "
		       "authority");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"recipients\": {\"r\": "
		       "{\"label\": {\"fi\": \"a\", \"en\": \"b\"}, \"kind\": "
		       "\"processor\", \"country\": \"us\", \"purposes\": "
		       "[\"marketing\"]}},",
		       "ISO 3166-1 alpha-2");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"recipients\": {\"r\": "
		       "{\"label\": {\"fi\": \"a\", \"en\": \"b\"}, \"kind\": "
		       "\"processor\", \"country\": \"US\", \"safeguard\": "
		       "\"contract\", \"purposes\": [\"marketing\"]}},",
		       "\"safeguard\" must be one of scc, bcr, adequacy");
	expect_problem(
		"\"rekisteri_policy\": 1,",
		"\"rekisteri_policy\": 1, \"roles\": {\"r\": "
		"{\"label\": {\"fi\": \"a\", \"en\": \"b\"}, \"purposes\": "
		"[\"marketing\"], \"categories\": [\"kontakt\"]}},",
		"unknown category \"kontakt\"");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"notice\": [{\"key\": \"a\", "
		       "\"title\": {\"fi\": \"a\", \"en\": \"b\"}, \"body\": "
		       "{\"fi\": \"a\", \"en\": \"b\"}}, {\"key\": \"a\", "
		       "\"title\": {\"fi\": \"a\", \"en\": \"b\"}, \"body\": "
		       "{\"fi\": \"a\", \"en\": \"b\"}}],",
		       "duplicate section key \"a\"");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"notice\": [1],",
		       "a notice section must be an object");
	expect_problem("\"rekisteri_policy\": 1,",
		       "\"rekisteri_policy\": 1, \"x\": 1,",
		       "unknown key \"x\"");
}

static void test_valid_variants(void **state)
{
	char *text = patched(
		"\"rekisteri_policy\": 1,",
		"\"rekisteri_policy\": 1, \"settings\": "
		"{\"allow_temporary_hetu\": "
		"true, \"derive_sex_from_hetu\": true, \"default_purpose\": "
		"\"marketing\", \"phone_country_code\": \"46\", "
		"\"customer_number_start\": 5}, \"objections\": "
		"{\"direct_marketing\": {\"label\": {\"fi\": \"a\", \"en\": "
		"\"b\"}}}, \"recipients\": {\"r\": {\"label\": {\"fi\": \"a\", "
		"\"en\": \"b\"}, \"kind\": \"authority\", \"country\": \"SE\", "
		"\"safeguard\": \"adequacy\", \"purposes\": "
		"[\"marketing\"]}},");
	diags ds;
	policy *p;

	(void)state;
	memset(&ds, 0, sizeof ds);
	p = policy_parse(text, strlen(text), "v.json", collect, &ds);
	dump(&ds);
	assert_non_null(p);
	assert_true(p->settings.allow_temporary_hetu);
	assert_true(p->settings.derive_sex_from_hetu);
	assert_int_equal(p->settings.default_purpose, 1);
	assert_string_equal(p->settings.country_code, "46");
	assert_int_equal(p->settings.customer_number_start, 5);
	assert_int_equal(p->recipients[0].kind, RCP_AUTHORITY);
	assert_string_equal(p->recipients[0].country, "SE");
	assert_string_equal(p->recipients[0].safeguard, "adequacy");
	assert_int_equal(policy_objection(p, "direct_marketing"), 0);
	policy_free(p);
	free(text);
}

static void test_purpose_consents_valid(void **state)
{
	char *text = patched(
		"\"purposes\": [\"customer_relationship\"],\n      "
		"\"legal_basis\": \"contract\",\n      \"source\": "
		"\"data_subject\",\n      \"retention\": \"relationship\",",
		"\"purposes\": [\"customer_relationship\", \"marketing\"],\n"
		"      \"legal_basis\": \"contract\",\n      \"source\": "
		"\"data_subject\",\n      \"retention\": \"relationship\",\n"
		"      \"purpose_consents\": {\"marketing\": "
		"\"email_marketing\"},");
	diags ds;
	const pol_record_type *rt;
	policy *p;

	(void)state;
	memset(&ds, 0, sizeof ds);
	p = policy_parse(text, strlen(text), "v.json", collect, &ds);
	dump(&ds);
	assert_non_null(p);
	assert_int_equal(ds.n, 0);
	rt = &p->record_types[policy_record_type(p, "purchase")];
	assert_int_equal(rt->npc, 1);
	assert_int_equal(rt->pc_purposes[0], policy_purpose(p, "marketing"));
	assert_int_equal(rt->pc_scopes[0], policy_scope(p, "email_marketing"));
	assert_int_equal(policy_record_purpose_consent(
				 rt, policy_purpose(p, "marketing")),
			 policy_scope(p, "email_marketing"));
	assert_int_equal(
		policy_record_purpose_consent(
			rt, policy_purpose(p, "customer_relationship")),
		POL_NONE);
	/* The type's own consent rule is not touched by it. */
	assert_int_equal(rt->consent, POL_NONE);
	policy_free(p);
	free(text);

	/* An empty object is allowed and means nothing. */
	text = patched("\"retention\": \"relationship\",\n      \"fields\"",
		       "\"retention\": \"relationship\",\n      "
		       "\"purpose_consents\": {},\n      \"fields\"");
	memset(&ds, 0, sizeof ds);
	p = policy_parse(text, strlen(text), "v.json", collect, &ds);
	dump(&ds);
	assert_non_null(p);
	assert_int_equal(p->record_types[0].npc, 0);
	policy_free(p);
	free(text);
}

/* ---- jsonpos ---- */

static void test_jsonpos(void **state)
{
	static const char text[] = "{\n"
				   "  \"a\": [1, {\"b\\u00e4\": true}],\n"
				   "  \"\xc3\xa4\xc3\xa4\": {\"x\": \"y\"},\n"
				   "  \"s\": \"with \\\" quote\", \"t\": 2\n"
				   "}";
	size_t len = sizeof text - 1;
	jsonpos_seg path[3];
	int line, col;

	(void)state;
	path[0] = (jsonpos_seg){"a", 0};
	path[1] = (jsonpos_seg){NULL, 1};
	path[2] = (jsonpos_seg){"b\xc3\xa4", 0};
	assert_int_equal(jsonpos_locate(text, len, path, 3, 0, &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 24);
	assert_int_equal(jsonpos_locate(text, len, path, 3, 1, &line, &col), 0);
	assert_int_equal(col, 13);
	assert_int_equal(jsonpos_locate(text, len, path, 2, 0, &line, &col), 0);
	assert_int_equal(col, 12);
	/* Columns count characters: "ää" is two. */
	path[0] = (jsonpos_seg){"\xc3\xa4\xc3\xa4", 0};
	path[1] = (jsonpos_seg){"x", 0};
	assert_int_equal(jsonpos_locate(text, len, path, 2, 0, &line, &col), 0);
	assert_int_equal(line, 3);
	assert_int_equal(col, 15);
	path[0] = (jsonpos_seg){"t", 0};
	assert_int_equal(jsonpos_locate(text, len, path, 1, 1, &line, &col), 0);
	assert_int_equal(line, 4);
	assert_int_equal(col, 25);
	/* Not found: the deepest value found. */
	path[0] = (jsonpos_seg){"a", 0};
	path[1] = (jsonpos_seg){NULL, 7};
	assert_int_equal(jsonpos_locate(text, len, path, 2, 0, &line, &col),
			 -1);
	assert_int_equal(line, 2);
	assert_int_equal(col, 8);
	path[0] = (jsonpos_seg){"zz", 0};
	assert_int_equal(jsonpos_locate(text, len, path, 1, 0, &line, &col),
			 -1);
	assert_int_equal(line, 1);
	assert_int_equal(col, 1);
	/* Truncated text never reads past len. */
	path[0] = (jsonpos_seg){"s", 0};
	assert_int_equal(jsonpos_locate(text, 40, path, 1, 0, &line, &col), -1);
	assert_int_equal(jsonpos_locate("", 0, path, 1, 0, &line, &col), -1);
	assert_int_equal(line, 1);
	assert_int_equal(col, 1);
	jsonpos_offset(text, len, len + 10, &line, &col);
	assert_int_equal(line, 5);
	assert_int_equal(col, 2);
}

static void test_jsonpos_tokens(void **state)
{
	static const char text[] = "{\"key\\\"x\": tru, \"\xc3\xa4"
				   "bc";
	size_t len = sizeof text - 1;
	char buf[8];

	(void)state;
	assert_int_equal(jsonpos_token_start(text, len, 5), 1);
	assert_int_equal(jsonpos_token_start(text, len, 13), 11);
	assert_int_equal(jsonpos_token_start(text, len, 11), 11);
	assert_int_equal(jsonpos_token_start(text, len, 10), 10);
	assert_int_equal(jsonpos_token_start(text, len, 999), len);
	assert_true(jsonpos_unterminated_string(text, len, 16));
	assert_false(jsonpos_unterminated_string(text, len, 1));
	assert_false(jsonpos_unterminated_string(text, len, 0));
	assert_int_equal(jsonpos_string_at(text, len, 1, buf, sizeof buf), 0);
	assert_string_equal(buf, "key\"x");
	assert_int_equal(jsonpos_string_at(text, len, 16, buf, sizeof buf), 0);
	assert_string_equal(buf, "\xc3\xa4"
				 "bc");
	/* Truncation keeps whole characters. */
	assert_int_equal(jsonpos_string_at(text, len, 16, buf, 3), 0);
	assert_string_equal(buf, "\xc3\xa4");
	assert_int_equal(jsonpos_string_at(text, len, 16, buf, 2), 0);
	assert_string_equal(buf, "");
	assert_int_equal(jsonpos_string_at(text, len, 0, buf, sizeof buf), -1);
	assert_string_equal(buf, "");
	assert_int_equal(
		jsonpos_string_at("\"\\ud83d\\ude00\"", 14, 0, buf, sizeof buf),
		0);
	assert_string_equal(buf, "\xf0\x9f\x98\x80");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_loads_clean),
		cmocka_unit_test(test_seed_names),
		cmocka_unit_test(test_seed_content),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_minimal_clean),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_typo_key),
		cmocka_unit_test(test_undeclared_purpose),
		cmocka_unit_test(test_purpose_consents_positions),
		cmocka_unit_test(test_bad_ytunnus),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_empty_and_not_object),
		cmocka_unit_test(test_syntax_positions),
		cmocka_unit_test(test_no_values_in_messages),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_designations),
		cmocka_unit_test(test_valid_variants),
		cmocka_unit_test(test_purpose_consents_valid),
		cmocka_unit_test(test_jsonpos),
		cmocka_unit_test(test_jsonpos_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
