/*
 * test_record.c: relationship records through the public API on real
 * SQLite files, with the seed policy: every record type stored, listed and
 * refused when malformed; card numbers refused anywhere; location only with
 * a live consent; browsing used for marketing only with a live
 * personalisation consent; attachments streamed in sealed chunks,
 * byte-identical on the way out, absent from the database file and its WAL in
 * plaintext, and refused when tampered with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "rekisteri.h"

#define FX_EXTRA char id2[RK_ID_LEN + 1];
#include "fixture.h"

static int setup(void **state)
{
	struct fx *f = fx_open("rec");

	fx_subject(f->r, "customer", f->id, "first_name", "Testi", "last_name",
		   "Asiakas", NULL);
	fx_subject(f->r, "customer", f->id2, "first_name", "Testi", "last_name",
		   "Toinen", NULL);
	*state = f;
	return 0;
}
#define MISSING_ID "0123456789abcdef0123456789abcdef"
/* A distinctive 32-byte run planted in attachments and texts, searched for
 * in the database files afterwards. */
#define MARK "RKMARK-7f3a9c2e-plaintext-run-01"

static int64_t nrecords(const struct fx *f)
{
	return fx_count(f->db, "SELECT count(*) FROM record");
}

static int64_t nchunks(const struct fx *f)
{
	return fx_count(f->db, "SELECT count(*) FROM attachment_chunk");
}

/* The records of the subject for a purpose (and type), parsed. */
static json_t *list(struct fx *f, const char *id, const char *type,
		    const char *purpose)
{
	char *text = NULL;
	json_t *j;

	assert_int_equal(rk_record_list(f->r, id, type, purpose, &text), RK_OK);
	assert_non_null(text);
	j = json_loads(text, 0, NULL);
	rk_free(text);
	assert_true(json_is_array(j));
	return j;
}

static const char *field_of(const json_t *rec, const char *name)
{
	return json_string_value(
		json_object_get(json_object_get(rec, "fields"), name));
}

/* One record type of the seed policy: a purpose it serves, a valid record
 * and four malformed ones. */
struct sample {
	const char *type;
	const char *purpose;
	const char *good;
	const char *missing; /* a required field left out */
	const char *bad;     /* a value its field's type refuses */
	const char *wrong;   /* a value of the wrong JSON type */
	const char *check_field, *check_value; /* normalised in the list */
};

static const struct sample samples[] = {
	{"purchase", "orders",
	 "{\"product\": \"Tulostin X\", \"quantity\": 2, \"amount\": "
	 "\"129.90\", \"currency\": \"EUR\", \"order_number\": \"T-1001\", "
	 "\"warranty_until\": \"1.5.2027\"}",
	 "{\"product\": \"Tulostin X\", \"currency\": \"EUR\"}",
	 "{\"product\": \"Tulostin X\", \"amount\": \"kallis\", \"currency\": "
	 "\"EUR\"}",
	 "{\"product\": true, \"amount\": 1, \"currency\": \"EUR\"}",
	 "warranty_until", "2027-05-01"},
	{"payment", "orders",
	 "{\"amount\": \"129.90\", \"currency\": \"EUR\", \"method\": "
	 "\"card\", "
	 "\"status\": \"paid\", \"card_token\": \"tok_1NqZ8x2eZvKYlo2C\", "
	 "\"card_brand\": \"visa\", \"card_last4\": \"1111\", "
	 "\"card_expiry\": \"08/27\", \"invoice_number\": \"INV-2024-001\", "
	 "\"due_date\": \"2024-06-01\"}",
	 "{\"amount\": \"10\", \"currency\": \"EUR\"}",
	 "{\"amount\": \"10\", \"currency\": \"EUR\", \"method\": "
	 "\"bitcoin\"}",
	 "{\"amount\": {\"value\": 10}, \"currency\": \"EUR\", \"method\": "
	 "\"cash\"}",
	 "amount", "129.90"},
	{"product_use", "products_services",
	 "{\"product\": \"Skanneri\", \"feature\": \"OCR\", \"at\": "
	 "\"2024-05-01T10:00:00Z\"}",
	 "{\"feature\": \"OCR\"}",
	 "{\"product\": \"Skanneri\", \"at\": \"eilen\"}",
	 "{\"product\": [\"Skanneri\"]}", "product", "Skanneri"},
	{"feedback", "feedback_research",
	 "{\"kind\": \"complaint\", \"text\": \"Laite ei käynnisty.\", "
	 "\"product\": \"Skanneri\", \"at\": \"2024-05-01T10:00:00+03:00\"}",
	 "{\"kind\": \"feedback\"}",
	 "{\"kind\": \"praise\", \"text\": \"Hyvä\"}",
	 "{\"kind\": \"feedback\", \"text\": null}", "text",
	 "Laite ei käynnisty."},
	{"event", "customer_relationship",
	 "{\"event\": \"Koulutuspäivä\", \"date\": \"1.2.2024\", \"kind\": "
	 "\"training\"}",
	 "{\"event\": \"Koulutuspäivä\"}",
	 "{\"event\": \"Koulutuspäivä\", \"date\": \"2024-02-30\"}",
	 "{\"event\": \"Koulutuspäivä\", \"date\": false}", "date",
	 "2024-02-01"},
	{"location", "products_services",
	 "{\"latitude\": 60.1699, \"longitude\": \"24.9384\", \"recorded_at\": "
	 "\"2024-05-01T10:00:00Z\"}",
	 "{\"latitude\": 60.1699, \"longitude\": 24.9384}",
	 "{\"latitude\": 91.5, \"longitude\": 24.9384, \"recorded_at\": "
	 "\"2024-05-01T10:00:00Z\"}",
	 "{\"latitude\": [60], \"longitude\": 24.9384, \"recorded_at\": "
	 "\"2024-05-01T10:00:00Z\"}",
	 "latitude", "60.1699"},
	{"browsing", "analytics",
	 "{\"ip\": \"2001:DB8::1\", \"user_agent\": \"Mozilla/5.0\", \"url\": "
	 "\"https://example.com/tuotteet?id=5\", \"referrer\": "
	 "\"https://www.example.org/\", \"at\": \"2024-05-01T10:00:00Z\"}",
	 "{\"ip\": \"192.0.2.1\", \"url\": \"https://example.com/\"}",
	 "{\"ip\": \"999.1.1.1\", \"url\": \"https://example.com/\", \"at\": "
	 "\"2024-05-01T10:00:00Z\"}",
	 "{\"url\": 5, \"at\": \"2024-05-01T10:00:00Z\", \"ip\": {}}", "ip",
	 "2001:db8::1"},
	{"marketing_action", "marketing_communications",
	 "{\"campaign\": \"Kevät 2024\", \"channel\": \"email\", \"response\": "
	 "\"clicked\", \"details\": \"uutiskirje\", \"at\": "
	 "\"2024-05-01T10:00:00Z\"}",
	 "{\"channel\": \"email\"}",
	 "{\"campaign\": \"Kevät\", \"channel\": \"pigeon\"}",
	 "{\"campaign\": \"Kevät\", \"channel\": true}", "campaign",
	 "Kevät 2024"},
	{"communication", "customer_relationship",
	 "{\"channel\": \"email\", \"direction\": \"inbound\", \"text\": "
	 "\"Hei, tilaukseni viivästyi.\", \"at\": \"2024-05-01T10:00:00Z\"}",
	 "{\"channel\": \"email\"}",
	 "{\"channel\": \"email\", \"direction\": \"sideways\"}",
	 "{\"channel\": \"email\", \"direction\": null}", "direction",
	 "inbound"},
};

#define NSAMPLES (sizeof samples / sizeof samples[0])

static void give_location_consent(struct fx *f, const char *id)
{
	assert_int_equal(rk_consent_set(f->r, id, "location", 1, "web", NULL),
			 RK_OK);
}

static void test_every_type_stored_and_listed(void **state)
{
	struct fx *f = *state;
	rk_audit_report rep;
	int64_t rid, prev = 0;
	json_t *arr, *rec;
	size_t i;

	give_location_consent(f, f->id);
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	for (i = 0; i < NSAMPLES; i++) {
		const struct sample *s = &samples[i];
		assert_int_equal(rk_record_add(f->r, f->id, s->type, s->good,
					       NULL, NULL, s->purpose, &rid),
				 RK_OK);
		assert_true(rid > prev);
		prev = rid;
		arr = list(f, f->id, s->type, s->purpose);
		assert_int_equal(json_array_size(arr), 1);
		rec = json_array_get(arr, 0);
		assert_int_equal(json_integer_value(json_object_get(rec, "id")),
				 rid);
		assert_string_equal(
			json_string_value(json_object_get(rec, "type")),
			s->type);
		assert_non_null(field_of(rec, s->check_field));
		assert_string_equal(field_of(rec, s->check_field),
				    s->check_value);
		assert_true(json_is_array(json_object_get(rec, "purposes")));
		assert_non_null(
			json_string_value(json_object_get(rec, "legal_basis")));
		assert_non_null(
			json_string_value(json_object_get(rec, "source")));
		assert_true(json_is_null(json_object_get(rec, "attachment")));
		assert_true(json_integer_value(
				    json_object_get(rec, "created_at")) > 0);
		json_decref(arr);
	}
	assert_int_equal(nrecords(f), (int64_t)NSAMPLES);
	/* The record's own source and basis, from the policy. */
	arr = list(f, f->id, "location", "analytics");
	rec = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(rec, "source")),
			    "service_use");
	assert_string_equal(
		json_string_value(json_object_get(rec, "legal_basis")),
		"consent");
	json_decref(arr);
	/* Payments are vouchers: kept six years from the end of the year. */
	arr = list(f, f->id, "payment", "orders");
	assert_true(json_is_string(
		json_object_get(json_array_get(arr, 0), "expires")));
	assert_string_equal(field_of(json_array_get(arr, 0), "card_last4"),
			    "1111");
	json_decref(arr);
	assert_int_equal(rk_audit_verify(f->r, &rep), RK_OK);
}

static void expect_invalid(struct fx *f, const char *type, const char *json,
			   const char *purpose, const char *absent)
{
	int64_t before = nrecords(f), rid = 99;

	assert_int_equal(rk_record_add(f->r, f->id, type, json, NULL, NULL,
				       purpose, &rid),
			 RK_EINVAL);
	assert_int_equal(rid, 0);
	assert_true(rk_errmsg(f->r)[0] != '\0');
	if (absent != NULL)
		assert_null(strstr(rk_errmsg(f->r), absent));
	assert_int_equal(nrecords(f), before);
}

static void test_malformed_refused(void **state)
{
	struct fx *f = *state;
	char unknown[1024];
	size_t i, n;

	give_location_consent(f, f->id);
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	for (i = 0; i < NSAMPLES; i++) {
		const struct sample *s = &samples[i];
		expect_invalid(f, s->type, s->missing, s->purpose, NULL);
		assert_non_null(strstr(rk_errmsg(f->r), "required"));
		expect_invalid(f, s->type, s->bad, s->purpose, NULL);
		expect_invalid(f, s->type, s->wrong, s->purpose, NULL);
		/* The good record plus a field the type does not have. */
		n = strlen(s->good);
		assert_true(n + 32 < sizeof unknown);
		memcpy(unknown, s->good, n - 1);
		memcpy(unknown + n - 1, ", \"shoe_size\": \"44\"}", 21);
		/* refused, the unknown name not repeated (it could be
		 * anything typed), the fields that would do listed */
		expect_invalid(f, s->type, unknown, s->purpose, "shoe_size");
		assert_non_null(strstr(rk_errmsg(f->r), "unknown field"));
	}
	/* Values that were refused are not echoed. */
	expect_invalid(f, "feedback", "{\"kind\": \"praise\", \"text\": \"x\"}",
		       NULL, "praise");
	expect_invalid(f, "purchase", "[1, 2]", NULL, NULL);
	expect_invalid(f, "purchase", "\"just text\"", NULL, NULL);
	expect_invalid(f, "purchase", "{\"product\": \"a\",", NULL, NULL);
	expect_invalid(
		f, "purchase",
		"{\"product\": \"a\", \"product\": \"b\", \"amount\": 1, "
		"\"currency\": \"EUR\"}",
		NULL, NULL);
	expect_invalid(f, "purchase", "", NULL, NULL);
	expect_invalid(f, "no_such_type", "{}", NULL, NULL);
	expect_invalid(f, "browsing",
		       "{\"url\": \"javascript:alert(1)\", \"at\": "
		       "\"2024-05-01T10:00:00Z\"}",
		       "analytics", "javascript");
	expect_invalid(f, "browsing",
		       "{\"url\": \"https://example.com/\", \"at\": "
		       "\"2024-05-01T25:00:00Z\"}",
		       "analytics", NULL);
	expect_invalid(f, "location",
		       "{\"latitude\": 60, \"longitude\": 180.5, "
		       "\"recorded_at\": \"2024-05-01T10:00:00Z\"}",
		       "analytics", NULL);
	/* An attachment on a type that takes none. */
	fx_path(unknown, sizeof unknown, f->dir, "receipt.pdf");
	fclose(fopen(unknown, "wb"));
	assert_int_equal(rk_record_add(f->r, f->id, "purchase", samples[0].good,
				       unknown, NULL, NULL, NULL),
			 RK_EINVAL);
	assert_non_null(strstr(rk_errmsg(f->r), "no attachment"));
	assert_int_equal(nrecords(f), 0);
	assert_int_equal(nchunks(f), 0);
}

static void test_card_numbers(void **state)
{
	struct fx *f = *state;
	static const char *const refused[][2] = {
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_token\": \"4111 1111 1111 "
		 "1111\"}"},
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_token\": 4111111111111111}"},
		/* digits only but failing Luhn: still not a token */
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_token\": \"4111111111111112\"}"},
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"invoice_number\": "
		 "\"5500-0000-0000-0004\"}"},
		{"feedback", "{\"kind\": \"complaint\", \"text\": \"Kortilta "
			     "4111-1111-1111-1111 veloitettiin kahdesti\"}"},
		{"purchase", "{\"product\": \"Tulostin\", \"amount\": 1, "
			     "\"currency\": \"EUR\", \"order_number\": \"T-77 "
			     "3782 822463 10005\"}"},
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_last4\": \"41111\"}"},
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_last4\": \"41a1\"}"},
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_expiry\": \"13/27\"}"},
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_expiry\": \"8/27\"}"},
		{"payment",
		 "{\"amount\": 1, \"currency\": \"EUR\", \"method\": "
		 "\"card\", \"card_expiry\": \"00/27\"}"},
	};
	size_t i;
	int64_t rid = 0;
	json_t *arr;

	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		expect_invalid(f, refused[i][0], refused[i][1], NULL, "4111");
		assert_null(strstr(rk_errmsg(f->r), "5500"));
		if (i < 6)
			assert_non_null(
				strstr(rk_errmsg(f->r), "never stored"));
	}
	/* Token, last four and expiry are what is kept; 16 digits that fail
	 * the Luhn check are not a card number, and long IDs are not. */
	assert_int_equal(
		rk_record_add(f->r, f->id, "payment",
			      "{\"amount\": \"59.00\", \"currency\": \"EUR\", "
			      "\"method\": \"card\", \"card_token\": "
			      "\"pm_1Nq-Z8x2eZvKYlo2C\", \"card_last4\": "
			      "\"4242\", \"card_expiry\": \"12/29\", "
			      "\"invoice_number\": \"1234 5678 9012 3456\"}",
			      NULL, NULL, NULL, &rid),
		RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id, "feedback",
				       "{\"kind\": \"feedback\", \"text\": "
				       "\"Viite 12345678901234567890123 ok\"}",
				       NULL, NULL, NULL, &rid),
			 RK_OK);
	/* A complaint of several lines keeps its lines; a one-line field
	 * does not take a line break. */
	assert_int_equal(rk_record_add(f->r, f->id, "feedback",
				       "{\"kind\": \"complaint\", \"text\": "
				       "\"Hei,\\r\\nlaite ei käynnisty.\\n"
				       "Terveisin A\"}",
				       NULL, NULL, "feedback_research", &rid),
			 RK_OK);
	arr = list(f, f->id, "feedback", "feedback_research");
	{
		size_t k;
		int seen = 0;
		for (k = 0; k < json_array_size(arr); k++) {
			const char *t =
				field_of(json_array_get(arr, k), "text");
			if (t != NULL &&
			    strcmp(t,
				   "Hei,\nlaite ei käynnisty.\nTerveisin A") ==
				    0)
				seen = 1;
		}
		assert_true(seen);
	}
	json_decref(arr);
	/* a card number in groups over several lines of a complaint */
	expect_invalid(f, "feedback",
		       "{\"kind\": \"complaint\", \"text\": \"Kortti:\\n"
		       "4111\\n1111\\n1111\\n1111\"}",
		       "feedback_research", "4111");
	expect_invalid(f, "feedback",
		       "{\"kind\": \"complaint\", \"text\": \"Kortti "
		       "4111.1111.1111.1111\"}",
		       "feedback_research", "4111");
	/* a token never has spaces (a spaced number is a card number) */
	expect_invalid(f, "payment",
		       "{\"amount\": \"1.00\", \"currency\": \"EUR\", "
		       "\"method\": \"card\", \"card_token\": \"tok 123\"}",
		       NULL, "tok 123");
	assert_non_null(strstr(rk_errmsg(f->r), "card token"));
	expect_invalid(f, "purchase",
		       "{\"product\": \"Rivi\\nkaksi\", \"amount\": \"1\", "
		       "\"currency\": \"EUR\"}",
		       NULL, "Rivi");
	arr = list(f, f->id, "payment", "orders");
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(field_of(json_array_get(arr, 0), "card_token"),
			    "pm_1Nq-Z8x2eZvKYlo2C");
	assert_string_equal(field_of(json_array_get(arr, 0), "card_expiry"),
			    "12/29");
	json_decref(arr);
}

struct audit_find {
	const char *action, *outcome;
	int seen;
};

static int find_audit(void *ud, const rk_audit_entry *e)
{
	struct audit_find *a = ud;

	if (strcmp(e->action, a->action) == 0 &&
	    strcmp(e->outcome, a->outcome) == 0)
		a->seen++;
	return 0;
}

static const char location_json[] =
	"{\"latitude\": 60.1699, \"longitude\": 24.9384, \"recorded_at\": "
	"\"2024-05-01T10:00:00Z\"}";

static void test_location_needs_consent(void **state)
{
	struct fx *f = *state;
	struct audit_find af = {"record.add", "refused", 0};
	int64_t rid = 7;
	json_t *arr;

	assert_int_equal(rk_record_add(f->r, f->id, "location", location_json,
				       NULL, NULL, "analytics", &rid),
			 RK_EREFUSED);
	assert_int_equal(rid, 0);
	assert_non_null(strstr(rk_errmsg(f->r), "consent"));
	assert_int_equal(nrecords(f), 0);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	assert_int_equal(rk_audit_log(f->r, NULL, find_audit, &af), RK_OK);
	assert_true(af.seen >= 1);

	give_location_consent(f, f->id);
	assert_int_equal(rk_record_add(f->r, f->id, "location", location_json,
				       NULL, NULL, "analytics", &rid),
			 RK_OK);
	arr = list(f, f->id, "location", "analytics");
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	/* The consent of one subject does not serve another. */
	assert_int_equal(rk_record_add(f->r, f->id2, "location", location_json,
				       NULL, NULL, "analytics", &rid),
			 RK_EREFUSED);

	/* Withdrawn: stored location data is unusable at once, and new
	 * records are refused again. */
	assert_int_equal(
		rk_consent_set(f->r, f->id, "location", 0, "web", NULL), RK_OK);
	arr = list(f, f->id, "location", "analytics");
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(rk_record_add(f->r, f->id, "location", location_json,
				       NULL, NULL, "analytics", &rid),
			 RK_EREFUSED);
}

/* Writes n pseudo-random bytes with MARK planted in the middle. */
static void write_random(const char *path, size_t n, uint32_t seed)
{
	unsigned char *b = malloc(n);
	uint32_t x = seed;
	FILE *fp;
	size_t i;

	assert_non_null(b);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)(x >> 24);
	}
	if (n > 2 * sizeof MARK)
		memcpy(b + n / 2, MARK, sizeof MARK - 1);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	free(b);
}

static int same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int ca, cb, same = fa != NULL && fb != NULL;

	while (same) {
		ca = fgetc(fa);
		cb = fgetc(fb);
		if (ca != cb)
			same = 0;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa != NULL)
		fclose(fa);
	if (fb != NULL)
		fclose(fb);
	return same;
}

static const char comm_json[] =
	"{\"channel\": \"call\", \"direction\": \"inbound\", \"text\": \"" MARK
	"\"}";

static void test_attachment_round_trip(void **state)
{
	struct fx *f = *state;
	char in[FX_PATH + 8], out[FX_PATH + 8], wal[FX_PATH + 8];
	int64_t rid = 0;
	struct stat sb;
	json_t *arr, *att;

	fx_path(in, sizeof in, f->dir, "call.ogg");
	fx_path(out, sizeof out, f->dir, "out.ogg");
	snprintf(wal, sizeof wal, "%s-wal", f->db);
	write_random(in, 300 * 1024 + 123, 0x9e3779b9u);
	assert_true(fx_file_has(in, MARK));
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       in, "Audio/Ogg", NULL, &rid),
			 RK_OK);
	assert_int_equal(nchunks(f), 5);

	arr = list(f, f->id, NULL, NULL);
	assert_int_equal(json_array_size(arr), 1);
	att = json_object_get(json_array_get(arr, 0), "attachment");
	assert_true(json_is_object(att));
	assert_int_equal(json_integer_value(json_object_get(att, "size")),
			 300 * 1024 + 123);
	assert_string_equal(json_string_value(json_object_get(att, "type")),
			    "audio/ogg");
	json_decref(arr);

	assert_int_equal(rk_record_attachment(f->r, f->id, rid, out, NULL),
			 RK_OK);
	assert_true(same_file(in, out));
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* An existing file is never overwritten. */
	assert_int_equal(rk_record_attachment(f->r, f->id, rid, out, NULL),
			 RK_EINVAL);
	assert_true(same_file(in, out));
	/* Another subject cannot reach the record. */
	unlink(out);
	assert_int_equal(rk_record_attachment(f->r, f->id2, rid, out, NULL),
			 RK_ENOTFOUND);
	assert_int_equal(access(out, F_OK), -1);

	/* Neither the attachment nor the record's text is in plaintext in
	 * the database or its WAL, before or after a checkpoint. */
	assert_false(fx_file_has(f->db, MARK));
	assert_false(fx_file_has(wal, MARK));
	rk_register_close(f->r);
	f->r = NULL;
	assert_false(fx_file_has(f->db, MARK));
	assert_false(fx_file_has(wal, MARK));
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);

	/* An empty attachment round-trips too. */
	fclose(fopen(in, "wb"));
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       in, NULL, NULL, &rid),
			 RK_OK);
	unlink(out);
	assert_int_equal(rk_record_attachment(f->r, f->id, rid, out, NULL),
			 RK_OK);
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_size, 0);
}

static void test_attachment_limits(void **state)
{
	struct fx *f = *state;
	char big[FX_PATH + 8], small[FX_PATH + 8], out[FX_PATH + 8];
	int64_t rid = 5;
	int fd;

	/* One byte over the seed's 100 MiB limit for communication, as a
	 * sparse file: refused from its size, before anything is read. */
	fx_path(big, sizeof big, f->dir, "big.wav");
	fd = open(big, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)104857600 + 1), 0);
	close(fd);
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       big, NULL, NULL, &rid),
			 RK_EINVAL);
	assert_int_equal(rid, 0);
	assert_non_null(strstr(rk_errmsg(f->r), "at most"));
	assert_int_equal(nrecords(f), 0);
	assert_int_equal(nchunks(f), 0);

	fx_path(small, sizeof small, f->dir, "small.bin");
	write_random(small, 1000, 7);
	/* Not a regular file, a missing file, a bad media type. */
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       f->dir, NULL, NULL, &rid),
			 RK_EINVAL);
	fx_path(out, sizeof out, f->dir, "none");
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       out, NULL, NULL, &rid),
			 RK_EINVAL);
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       small, "audio", NULL, &rid),
			 RK_EINVAL);
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       small, "audio/ogg; x=1", NULL, &rid),
			 RK_EINVAL);
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       NULL, "audio/ogg", NULL, &rid),
			 RK_EINVAL);
	/* A bad record with a good attachment writes no chunk either. */
	assert_int_equal(rk_record_add(f->r, f->id, "communication",
				       "{\"channel\": \"call\"}", small, NULL,
				       NULL, &rid),
			 RK_EINVAL);
	assert_int_equal(nrecords(f), 0);
	assert_int_equal(nchunks(f), 0);
	/* No attachment: RK_ENOTFOUND, and no output file. */
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       NULL, NULL, NULL, &rid),
			 RK_OK);
	assert_int_equal(rk_record_attachment(f->r, f->id, rid, out, NULL),
			 RK_ENOTFOUND);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(
		rk_record_attachment(f->r, f->id, rid + 1000, out, NULL),
		RK_ENOTFOUND);
}

/* Adds a 200 KB attachment (four chunks) and returns the record's ID. */
static int64_t add_attached(struct fx *f, const char *in, uint32_t seed)
{
	int64_t rid = 0;

	write_random(in, 200 * 1024, seed);
	assert_int_equal(rk_record_add(f->r, f->id, "communication", comm_json,
				       in, "audio/wav", NULL, &rid),
			 RK_OK);
	return rid;
}

static void expect_tampered(struct fx *f, int64_t rid, const char *out)
{
	assert_int_equal(rk_record_attachment(f->r, f->id, rid, out, NULL),
			 RK_EINTEGRITY);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_tampered_chunks(void **state)
{
	struct fx *f = *state;
	char in[FX_PATH + 8], out[FX_PATH + 8], sql[512];
	int64_t a, b, c, d, e;

	fx_path(in, sizeof in, f->dir, "in.wav");
	fx_path(out, sizeof out, f->dir, "out.wav");
	a = add_attached(f, in, 1);
	b = add_attached(f, in, 2);
	c = add_attached(f, in, 3);
	d = add_attached(f, in, 4);
	e = add_attached(f, in, 5);

	/* Two chunks swapped. */
	snprintf(sql, sizeof sql,
		 "UPDATE attachment_chunk SET seq = -1 WHERE record_id = "
		 "%" PRId64 " AND seq = 0;"
		 "UPDATE attachment_chunk SET seq = 0 WHERE record_id = "
		 "%" PRId64 " AND seq = 1;"
		 "UPDATE attachment_chunk SET seq = 1 WHERE record_id = "
		 "%" PRId64 " AND seq = -1;",
		 a, a, a);
	fx_exec(f->db, sql);
	expect_tampered(f, a, out);

	/* A chunk taken from another record, in the same place. */
	snprintf(sql, sizeof sql,
		 "UPDATE attachment_chunk SET ciphertext = (SELECT ciphertext "
		 "FROM attachment_chunk WHERE record_id = %" PRId64
		 " AND seq = 2) WHERE record_id = %" PRId64 " AND seq = 2;",
		 c, b);
	fx_exec(f->db, sql);
	expect_tampered(f, b, out);

	/* The tail cut off, with the recorded size made to match. */
	snprintf(sql, sizeof sql,
		 "DELETE FROM attachment_chunk WHERE record_id = %" PRId64
		 " AND seq = 3; UPDATE record SET attachment_size = 196608 "
		 "WHERE id = %" PRId64 ";",
		 c, c);
	fx_exec(f->db, sql);
	expect_tampered(f, c, out);

	/* The recorded size changed alone. */
	snprintf(sql, sizeof sql,
		 "UPDATE record SET attachment_size = attachment_size - 1 "
		 "WHERE id = %" PRId64 ";",
		 d);
	fx_exec(f->db, sql);
	expect_tampered(f, d, out);

	/* The untouched record still reads. */
	assert_int_equal(rk_record_attachment(f->r, f->id, e, out, NULL),
			 RK_OK);
	assert_true(same_file(in, out));
}

static void test_list_by_purpose(void **state)
{
	struct fx *f = *state;
	int64_t rid;
	json_t *arr;
	char *text = NULL;

	assert_int_equal(rk_record_add(f->r, f->id, "purchase", samples[0].good,
				       NULL, NULL, NULL, &rid),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id, "marketing_action",
				       samples[7].good, NULL, NULL,
				       "marketing_communications", &rid),
			 RK_OK);
	/* A record is added only for a purpose its type serves. */
	assert_int_equal(rk_record_add(f->r, f->id, "purchase", samples[0].good,
				       NULL, NULL, "feedback_research", &rid),
			 RK_EREFUSED);
	assert_int_equal(rk_record_add(f->r, f->id, "purchase", samples[0].good,
				       NULL, NULL, "world_domination", &rid),
			 RK_EINVAL);

	arr = list(f, f->id, NULL, "orders");
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(arr, 0), "type")),
			    "purchase");
	json_decref(arr);
	arr = list(f, f->id, NULL, "marketing_communications");
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(arr, 0), "type")),
			    "marketing_action");
	json_decref(arr);
	arr = list(f, f->id, NULL, "misuse_prevention");
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	arr = list(f, f->id, "purchase", "analytics");
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	arr = list(f, f->id, NULL, "products_services");
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	/* The other subject has none. */
	arr = list(f, f->id2, NULL, "orders");
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(
		rk_record_list(f->r, f->id, "no_such_type", NULL, &text),
		RK_EINVAL);
	assert_null(text);
}

static void test_missing_subject(void **state)
{
	struct fx *f = *state;
	char out[FX_PATH + 8], *text = NULL;
	int64_t rid = 3;

	fx_path(out, sizeof out, f->dir, "o");
	assert_int_equal(rk_record_add(f->r, MISSING_ID, "purchase",
				       samples[0].good, NULL, NULL, NULL, &rid),
			 RK_ENOTFOUND);
	assert_int_equal(rid, 0);
	assert_int_equal(rk_record_add(f->r, "nonsense", "purchase",
				       samples[0].good, NULL, NULL, NULL, &rid),
			 RK_EINVAL);
	assert_int_equal(rk_record_list(f->r, MISSING_ID, NULL, NULL, &text),
			 RK_ENOTFOUND);
	assert_int_equal(rk_record_attachment(f->r, MISSING_ID, 1, out, NULL),
			 RK_ENOTFOUND);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(nrecords(f), 0);
}

static void test_by_cookie(void **state)
{
	struct fx *f = *state;
	static const char browse[] =
		"{\"url\": \"https://example.com/\", \"at\": "
		"\"2024-05-01T10:00:00Z\"}";
	int64_t rid = 0, n = 0;
	json_t *arr;

	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-4242", "browsing",
						 browse, "analytics", &rid),
			 RK_ENOTFOUND);
	assert_non_null(strstr(rk_errmsg(f->r), "linked to no subject"));
	assert_int_equal(rk_cookie_link(f->r, f->id, "ck-4242"), RK_OK);
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-4242", "browsing",
						 browse, "analytics", &rid),
			 RK_OK);
	assert_true(rid > 0);
	arr = list(f, f->id, "browsing", "analytics");
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	arr = list(f, f->id2, "browsing", "analytics");
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(rk_record_add_by_cookie(f->r, "", "browsing", browse,
						 "analytics", &rid),
			 RK_EINVAL);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck\n1", "browsing",
						 browse, "analytics", &rid),
			 RK_EINVAL);
	/* After a reset the old identifier reaches nobody, and what came
	 * through it left the profile with it. */
	assert_int_equal(rk_cookie_reset(f->r, f->id, &n), RK_OK);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-4242", "browsing",
						 browse, "analytics", &rid),
			 RK_ENOTFOUND);
	assert_int_equal(nrecords(f), 0);
}

/* Browsing data is stored on legitimate interest, but using it for
 * marketing (personalised content, targeted ads) needs a live
 * personalisation consent and no direct-marketing prohibition. */
static void test_browsing_purpose_consent(void **state)
{
	struct fx *f = *state;
	static const char browse[] =
		"{\"url\": \"https://example.com/tuotteet\", \"at\": "
		"\"2024-05-01T10:00:00Z\"}";
	static const char mkt[] = "marketing_communications";
	struct audit_find add_refused = {"record.add", "refused", 0};
	struct audit_find att_refused = {"record.attachment", "refused", 0};
	char out[FX_PATH + 8];
	int64_t rid = 5, r1, r2, r3;
	json_t *arr;

	fx_path(out, sizeof out, f->dir, "o");
	/* Analytics cookies need consent (917/2014 s. 205): without one,
	 * browsing is not stored for analytics; with it, it is. */
	assert_int_equal(rk_record_add(f->r, f->id, "browsing", browse, NULL,
				       NULL, "analytics", &r1),
			 RK_EREFUSED);
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id, "browsing", browse, NULL,
				       NULL, "analytics", &r1),
			 RK_OK);
	arr = list(f, f->id, NULL, "analytics");
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	/* Not for marketing: left out of the list, refused one by one. */
	arr = list(f, f->id, NULL, mkt);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	arr = list(f, f->id, "browsing", mkt);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(rk_record_attachment(f->r, f->id, r1, out, mkt),
			 RK_EREFUSED);
	assert_non_null(strstr(rk_errmsg(f->r), "personalisation"));
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(rk_record_add(f->r, f->id, "browsing", browse, NULL,
				       NULL, mkt, &rid),
			 RK_EREFUSED);
	assert_int_equal(rid, 0);
	assert_non_null(strstr(rk_errmsg(f->r), "personalisation"));
	assert_null(strstr(rk_errmsg(f->r), "example.com"));
	assert_int_equal(nrecords(f), 1);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	assert_int_equal(rk_audit_log(f->r, NULL, find_audit, &add_refused),
			 RK_OK);
	assert_true(add_refused.seen >= 1);
	assert_int_equal(rk_audit_log(f->r, NULL, find_audit, &att_refused),
			 RK_OK);
	assert_true(att_refused.seen >= 1);

	/* With the consent: all of it, and new records for marketing. */
	assert_int_equal(
		rk_consent_set(f->r, f->id, "personalisation", 1, "web", NULL),
		RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id, "browsing", browse, NULL,
				       NULL, mkt, &r2),
			 RK_OK);
	arr = list(f, f->id, NULL, mkt);
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(arr, 0), "type")),
			    "browsing");
	json_decref(arr);
	/* Past the consent check: a browsing record has no attachment. */
	assert_int_equal(rk_record_attachment(f->r, f->id, r1, out, mkt),
			 RK_ENOTFOUND);
	assert_non_null(strstr(rk_errmsg(f->r), "no attachment"));
	/* One subject's consent does not serve another. */
	assert_int_equal(rk_consent_set(f->r, f->id2, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id2, "browsing", browse, NULL,
				       NULL, "analytics", &r3),
			 RK_OK);
	arr = list(f, f->id2, NULL, mkt);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);

	/* A direct-marketing prohibition stops it at once. */
	assert_int_equal(
		rk_object(f->r, f->id, "direct_marketing", "web", NULL), RK_OK);
	{
		/* marketing does not see the subject at all any more */
		char *text = NULL;
		assert_int_equal(rk_record_list(f->r, f->id, NULL, mkt, &text),
				 RK_EREFUSED);
		assert_null(text);
	}
	assert_int_equal(rk_record_attachment(f->r, f->id, r1, out, mkt),
			 RK_EREFUSED);
	assert_non_null(strstr(rk_errmsg(f->r), "prohibition"));
	assert_int_equal(rk_record_add(f->r, f->id, "browsing", browse, NULL,
				       NULL, mkt, &rid),
			 RK_EREFUSED);
	/* Analytics is untouched by it. */
	arr = list(f, f->id, "browsing", "analytics");
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);

	/* So does a withdrawal. */
	assert_int_equal(
		rk_consent_set(f->r, f->id2, "personalisation", 1, "web", NULL),
		RK_OK);
	arr = list(f, f->id2, NULL, mkt);
	assert_int_equal(json_array_size(arr), 1);
	json_decref(arr);
	assert_int_equal(
		rk_consent_set(f->r, f->id2, "personalisation", 0, "web", NULL),
		RK_OK);
	arr = list(f, f->id2, NULL, mkt);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(rk_record_attachment(f->r, f->id2, r3, out, mkt),
			 RK_EREFUSED);
	assert_int_equal(rk_record_add(f->r, f->id2, "browsing", browse, NULL,
				       NULL, mkt, &rid),
			 RK_EREFUSED);
	assert_int_equal(nrecords(f), 3);
	assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_every_type_stored_and_listed, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_refused, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_card_numbers, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_location_needs_consent,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_attachment_round_trip,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_attachment_limits, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_tampered_chunks, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_list_by_purpose, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_missing_subject, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_by_cookie, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_browsing_purpose_consent,
						setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
