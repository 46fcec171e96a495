/*
 * fuzz_ident.c: libFuzzer target for every parser of ident.h.
 *
 * Each input goes through every parser; the contract of ident.h is checked
 * and any broken invariant aborts: a result is NUL-terminated within outsz
 * and never written past it, an accepted value re-parses to itself (the
 * canonical form is a fixed point), parsing in place gives the same answer,
 * a refusal leaves "" and a static message, and the date helpers agree with
 * each other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"

#define OUTSZ	     512
#define GUARD	     32
#define GUARD_BYTE   0xA5
#define SECS_PER_DAY 86400

typedef int (*parser)(const char *in, char *out, size_t outsz,
		      const char **why);

static void check(int cond)
{
	if (!cond)
		abort();
}

static int hetu_strict(const char *in, char *out, size_t outsz,
		       const char **why)
{
	return ident_hetu(in, 0, out, outsz, why);
}

static int hetu_temp(const char *in, char *out, size_t outsz, const char **why)
{
	return ident_hetu(in, 1, out, outsz, why);
}

static int phone_fi(const char *in, char *out, size_t outsz, const char **why)
{
	return ident_phone(in, "358", out, outsz, why);
}

static int phone_nocc(const char *in, char *out, size_t outsz, const char **why)
{
	return ident_phone(in, NULL, out, outsz, why);
}

static int text_64(const char *in, char *out, size_t outsz, const char **why)
{
	return ident_text(in, 64, out, outsz, why);
}

static int text_big(const char *in, char *out, size_t outsz, const char **why)
{
	return ident_text(in, OUTSZ - 1, out, outsz, why);
}

static int text_lines(const char *in, char *out, size_t outsz, const char **why)
{
	return ident_text_lines(in, OUTSZ - 1, out, outsz, why);
}

static const parser parsers[] = {
	hetu_strict,   hetu_temp,	 ident_ytunnus,	    ident_email,
	phone_fi,      phone_nocc,	 ident_postal_code, ident_date,
	ident_country, ident_media_type, text_64,	    text_big,
};

/* An output area with guard bytes after the outsz that the callee gets. */
struct area {
	char b[OUTSZ + GUARD];
};

static void fill(struct area *a)
{
	memset(a->b, GUARD_BYTE, sizeof a->b);
}

static void guard_intact(const struct area *a, size_t outsz)
{
	for (size_t i = outsz; i < sizeof a->b; i++)
		check((unsigned char)a->b[i] == GUARD_BYTE);
}

static int inside(const char *p, const char *base, size_t n)
{
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)base;

	return u >= b && u - b < n;
}

/* Calls p with the given outsz and checks the common contract. */
static int run(parser p, const char *in, size_t inlen, struct area *a,
	       size_t outsz)
{
	const char *why = NULL;
	int rc;

	fill(a);
	rc = p(in, a->b, outsz, &why);
	guard_intact(a, outsz);
	if (rc == 0) {
		check(memchr(a->b, '\0', outsz) != NULL);
		check(a->b[0] != '\0');
	} else {
		check(rc == -1);
		check(a->b[0] == '\0');
		check(why != NULL && why[0] != '\0');
		/* The message is static, never a pointer into the input. */
		check(!inside(why, in, inlen + 1));
		check(!inside(why, a->b, sizeof a->b));
	}
	return rc;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Properties particular to each parser's canonical form. */
static void check_form(parser p, const char *out)
{
	size_t n = strlen(out);

	if (p == hetu_strict || p == hetu_temp) {
		char tmp[OUTSZ];
		const char *why;

		check(n == 11);
		for (size_t i = 0; i < n; i++)
			check(out[i] < 'a' || out[i] > 'z');
		check(hetu_temp(out, tmp, sizeof tmp, &why) == 0);
		check(ident_hetu_birth_date(out, tmp) == 0);
		check(ident_date(tmp, tmp, sizeof tmp, &why) == 0);
	} else if (p == ident_ytunnus) {
		check(n == 9 && out[7] == '-');
		check(all_digits(out, 7) && all_digits(out + 8, 1));
	} else if (p == ident_email) {
		const char *at = strchr(out, '@');

		check(n <= 254 && at != NULL && strchr(at + 1, '@') == NULL);
		for (size_t i = 0; i < n; i++)
			check(out[i] < 'A' || out[i] > 'Z');
	} else if (p == phone_fi || p == phone_nocc) {
		check(out[0] == '+' && n >= 8 && n <= 16);
		check(all_digits(out + 1, n - 1) && out[1] != '0');
	} else if (p == ident_postal_code) {
		check(n == 5 && all_digits(out, 5));
	} else if (p == ident_country) {
		check(n == 2 && ident_country_known(out));
	} else if (p == ident_date) {
		char again[11];
		int y, m, d;

		check(n == 10);
		check(ident_date_add(out, 0, 0, 0, again) == 0);
		check(strcmp(again, out) == 0);
		y = (out[0] - '0') * 1000 + (out[1] - '0') * 100 +
		    (out[2] - '0') * 10 + (out[3] - '0');
		m = (out[5] - '0') * 10 + (out[6] - '0');
		d = (out[8] - '0') * 10 + (out[9] - '0');
		check(ident_date_exists(y, m, d));
		ident_civil_from_days(ident_days_from_civil(y, m, d), &y, &m,
				      &d);
		check(y == (out[0] - '0') * 1000 + (out[1] - '0') * 100 +
				   (out[2] - '0') * 10 + (out[3] - '0'));
	} else if (p == ident_media_type) {
		const char *slash = strchr(out, '/');
		size_t run = 0;

		check(slash != NULL && strchr(slash + 1, '/') == NULL);
		for (size_t i = 0; i < n; i++) {
			check(out[i] < 'A' || out[i] > 'Z');
			run = out[i] >= '0' && out[i] <= '9' ? run + 1 : 0;
			check(run <= 4);
		}
		check(!ident_has_card_number(out) && !ident_has_hetu(out));
	} else {
		check(n <= (p == text_64 ? 64u : OUTSZ - 1u));
		check(out[0] != ' ' && out[n - 1] != ' ');
		for (size_t i = 0; i < n; i++)
			check((unsigned char)out[i] >= 0x20 &&
			      (unsigned char)out[i] != 0x7f);
		/* accepted text holds no card number, nothing invisible */
		check(ident_text_hazard(out) == NULL);
	}
}

static void fuzz_parser(parser p, const char *in, size_t inlen)
{
	static struct area a, b;
	static char inplace[OUTSZ + 1];
	const char *why = NULL;
	size_t n;
	int rc;

	rc = run(p, in, inlen, &a, OUTSZ);
	/* outsz 0 is always an error (and must not write anything). */
	fill(&b);
	check(p(in, b.b, 0, &why) == -1);
	guard_intact(&b, 0);
	if (rc != 0)
		return;
	n = strlen(a.b);
	check_form(p, a.b);
	/* Fixed point: the canonical form parses to itself. */
	check(run(p, a.b, n, &b, OUTSZ) == 0);
	check(strcmp(a.b, b.b) == 0);
	/* Exactly n + 1 bytes suffice; n do not. */
	check(run(p, in, inlen, &b, n + 1) == 0);
	check(strcmp(a.b, b.b) == 0);
	check(run(p, in, inlen, &b, n) == -1);
	/* In place gives the same result. */
	if (inlen < sizeof inplace) {
		memcpy(inplace, in, inlen + 1);
		check(p(inplace, inplace, sizeof inplace, &why) == 0);
		check(strcmp(inplace, a.b) == 0);
	}
	/* An accepted e-mail address holds no combining mark left over. */
	if (p == ident_email)
		for (size_t i = 0; i + 1 < n; i++)
			check(!((unsigned char)a.b[i] == 0xCC ||
				((unsigned char)a.b[i] == 0xCD &&
				 (unsigned char)a.b[i + 1] < 0xB0)));
	/* A strictly valid HETU is valid when temporary codes are allowed. */
	if (p == hetu_strict) {
		check(run(hetu_temp, in, inlen, &b, OUTSZ) == 0);
		check(strcmp(a.b, b.b) == 0);
	}
}

/* Text of several lines: the common contract (its output may be shorter
 * than the input, so it is not held to the n + 1 bytes rule), the
 * canonical form a fixed point, and nothing ident_text_hazard names. */
static void fuzz_lines(const char *in, size_t inlen)
{
	static struct area a, b;
	const char *why = NULL;

	if (run(text_lines, in, inlen, &a, OUTSZ) != 0)
		return;
	check(ident_text_hazard(a.b) == NULL);
	check(run(text_lines, a.b, strlen(a.b), &b, OUTSZ) == 0);
	check(strcmp(a.b, b.b) == 0);
	fill(&b);
	check(text_lines(in, b.b, 0, &why) == -1);
	guard_intact(&b, 0);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

/* The date helpers, driven by the raw bytes. */
static void fuzz_dates(const uint8_t *data, size_t size)
{
	uint64_t u = 0;
	int64_t t;
	char out[11];
	char again[11];
	const char *why;
	int y, m, d;
	int32_t years, months, days;

	for (size_t i = 0; i < size && i < 8; i++)
		u = u << 8 | data[i];
	memcpy(&t, &u, sizeof t);
	ident_date_of(t, out);
	check(memchr(out, '\0', sizeof out) != NULL);
	if (out[0] != '\0') {
		check(ident_date(out, again, sizeof again, &why) == 0);
		y = (out[0] - '0') * 1000 + (out[1] - '0') * 100 +
		    (out[2] - '0') * 10 + (out[3] - '0');
		m = (out[5] - '0') * 10 + (out[6] - '0');
		d = (out[8] - '0') * 10 + (out[9] - '0');
		check(ident_days_from_civil(y, m, d) ==
		      floor_div(t, SECS_PER_DAY));
	}
	/* Days in a range wide enough for every int year round-trip. */
	{
		int64_t z = t % ((int64_t)1 << 39);

		ident_civil_from_days(z, &y, &m, &d);
		check(ident_date_exists(y, m, d));
		check(ident_days_from_civil(y, m, d) == z);
	}
	/* Date arithmetic from the next 12 bytes on the date found above. */
	if (out[0] == '\0' || size < 20)
		return;
	memcpy(&years, data + 8, 4);
	memcpy(&months, data + 12, 4);
	memcpy(&days, data + 16, 4);
	if (ident_date_add(out, years, months, days, again) == 0) {
		check(ident_date(again, again, sizeof again, &why) == 0);
		/* Pure day arithmetic is exact and reversible. */
		if (years == 0 && months == 0 && days != INT32_MIN) {
			char back[11];

			check(ident_date_add(again, 0, 0, -days, back) == 0);
			check(strcmp(back, out) == 0);
		}
	} else {
		check(again[0] == '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	/* Parsers see the input up to its first NUL, as a C caller would. */
	for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++)
		fuzz_parser(parsers[i], in, strlen(in));
	fuzz_lines(in, strlen(in));
	fuzz_dates(data, size);
	free(in);
	return 0;
}
