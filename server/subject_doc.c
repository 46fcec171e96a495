/*
 * subject_doc.c: the answer of GET /v1/subjects/{id}, written straight from
 * the subject's accessors as compact JSON. The same document as
 * rk_subject_json (less its indentation), at a fraction of the cost: no tree
 * of Jansson values built, sorted, dumped and wiped for every read. The
 * buffer holds personal data: it grows by copying and wiping, never by
 * realloc, and is freed with rk_free_secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

struct db {
	char *s;
	size_t len, cap;
	int oom;
	/* the last list of purposes written, and where its JSON is: values
	 * mostly share their list, so it is copied rather than written again
	 * (names from the policy, no personal data) */
	const char *csv_in;
	size_t csv_off, csv_len;
	/* the last number written (times, no personal data) */
	int64_t num_last;
	size_t num_len;
	char num_digits[24];
};

/* Grows the buffer for need more bytes and the closing NUL; -1 when out
 * of memory. */
static int grow(struct db *b, size_t need)
{
	size_t cap;
	char *ns;

	if (b->oom)
		return -1;
	/* a subject's few values fit the first one */
	cap = b->cap ? b->cap : 2048;
	while (cap < b->len + need + 1)
		cap *= 2;
	ns = malloc(cap);
	if (ns == NULL) {
		b->oom = 1;
		return -1;
	}
	if (b->s != NULL) {
		memcpy(ns, b->s, b->len);
		explicit_bzero(b->s, b->cap);
		free(b->s);
	}
	b->s = ns;
	b->cap = cap;
	return 0;
}

/* Room for need more bytes and the closing NUL; -1 when out of memory.
 * Inline: a document makes some seventy of these checks. */
static inline int reserve(struct db *b, size_t need)
{
	if (!b->oom && b->len + need + 1 <= b->cap)
		return 0;
	return grow(b, need);
}

static inline void put(struct db *b, const char *p, size_t n)
{
	if (reserve(b, n) != 0)
		return;
	memcpy(b->s + b->len, p, n);
	b->len += n;
}

/* a string literal, its length known when compiled */
#define LIT(b, s) put((b), (s), sizeof(s) - 1)

/* Whether any of the 8 bytes in w needs escaping in a JSON string: a
 * control character (below 0x20), '"', '\\' or DEL. The usual SWAR tests
 * (a byte below n; a byte equal to c), so that the plain runs of a value
 * are checked a word at a time. */
#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static int needs_escape(uint64_t w)
{
	uint64_t lt = (w - ONES * 0x20) & ~w;
	uint64_t q = w ^ (ONES * '"'), bs = w ^ (ONES * '\\'),
		 del = w ^ (ONES * 0x7f);

	q = (q - ONES) & ~q;
	bs = (bs - ONES) & ~bs;
	del = (del - ONES) & ~del;
	return ((lt | q | bs | del) & HIGHS) != 0;
}

/* n bytes of p as a JSON string: quotes, backslashes and control characters
 * escaped; UTF-8 (checked by the library when stored) passes as it is.
 * Written in place after reserving for the worst case (every byte
 * escaped), so that the loop checks no bounds; words without a byte to
 * escape are copied whole. */
static void str_n(struct db *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *e = p + n;
	char *o;

	if (n > (SIZE_MAX - 2) / 6 || reserve(b, 6 * n + 2) != 0) {
		b->oom = 1;
		return;
	}
	o = b->s + b->len;
	*o++ = '"';
	while (p < e) {
		unsigned char c;
		if (e - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if (!needs_escape(w)) {
				memcpy(o, p, 8);
				o += 8;
				p += 8;
				continue;
			}
		}
		c = (unsigned char)*p++;
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
			*o++ = (char)c;
			continue;
		}
		memcpy(o, "\\u00", 4);
		o[4] = hex[c >> 4];
		o[5] = hex[c & 15];
		o += 6;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->s);
}

/* A JSON string, or null. */
static void str(struct db *b, const char *p)
{
	if (p == NULL)
		LIT(b, "null");
	else
		str_n(b, p, strlen(p));
}

/* in decimal, without printf's format parsing; a value's times are
 * mostly the subject's own, so the last number's digits are kept */
static void num(struct db *b, int64_t v)
{
	char d[24];
	size_t i = sizeof d;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	if (b->num_len > 0 && v == b->num_last) {
		put(b, b->num_digits, b->num_len);
		return;
	}
	do {
		d[--i] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u > 0);
	if (v < 0)
		d[--i] = '-';
	put(b, d + i, sizeof d - i);
	b->num_last = v;
	b->num_len = sizeof d - i;
	memcpy(b->num_digits, d + i, b->num_len);
}

/* "a,b" as ["a","b"]; a name longer than 127 bytes is cut there */
static void csv(struct db *b, const char *p)
{
	const char *in = p;
	int first = 1;
	size_t start = b->len;

	if (p != NULL && b->csv_in != NULL && strcmp(p, b->csv_in) == 0) {
		if (reserve(b, b->csv_len) == 0) {
			memcpy(b->s + b->len, b->s + b->csv_off, b->csv_len);
			b->len += b->csv_len;
		}
		return;
	}
	put(b, "[", 1);
	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e == NULL ? strlen(p) : (size_t)(e - p);
		if (!first)
			put(b, ",", 1);
		str_n(b, p, n < 128 ? n : 127);
		first = 0;
		p = e == NULL ? NULL : e + 1;
	}
	put(b, "]", 1);
	if (!b->oom && in != NULL) {
		b->csv_in = in;
		b->csv_off = start;
		b->csv_len = b->len - start;
	}
}

static void value(struct db *b, const rk_value *v)
{
	LIT(b, "{\"value\":");
	str(b, v->value);
	LIT(b, ",\"category\":");
	str(b, v->category);
	LIT(b, ",\"purposes\":");
	csv(b, v->purposes);
	LIT(b, ",\"legal_basis\":");
	str(b, v->legal_basis);
	LIT(b, ",\"source\":");
	str(b, v->source);
	LIT(b, ",\"collected_at\":");
	num(b, v->collected_at);
	LIT(b, ",\"confirmed_at\":");
	num(b, v->confirmed_at);
	LIT(b, ",\"expires\":");
	str(b, v->expires);
	put(b, "}", 1);
}

char *srv_subject_doc(const rk_subject *s)
{
	struct db b;

	size_t n = rk_subject_value_count(s), i, j;
	int first = 1;

	memset(&b, 0, sizeof b);
	LIT(&b, "{\"id\":");
	str(&b, rk_subject_id(s));
	LIT(&b, ",\"kind\":");
	str(&b, rk_subject_kind(s));
	LIT(&b, ",\"purpose\":");
	str(&b, rk_subject_purpose(s));
	LIT(&b, ",\"created_at\":");
	num(&b, rk_subject_created_at(s));
	LIT(&b, ",\"relationship\":{\"start\":");
	{
		const char *start = rk_subject_relationship_start(s);
		str(&b, start != NULL && start[0] ? start : NULL);
	}
	LIT(&b, ",\"end\":");
	str(&b, rk_subject_relationship_end(s));
	LIT(&b, "},\"fields\":{");
	/* a field's values together, fields in the order first seen (as
	 * rk_subject_json groups them) */
	for (i = 0; i < n; i++) {
		const rk_value *v = rk_subject_value(s, i);
		int seen = 0, vfirst = 1;
		for (j = 0; j < i && !seen; j++)
			seen = strcmp(rk_subject_value(s, j)->field,
				      v->field) == 0;
		if (seen)
			continue;
		if (!first)
			put(&b, ",", 1);
		first = 0;
		str(&b, v->field);
		LIT(&b, ":[");
		for (j = i; j < n; j++) {
			const rk_value *w = rk_subject_value(s, j);
			if (strcmp(w->field, v->field) != 0)
				continue;
			if (!vfirst)
				put(&b, ",", 1);
			vfirst = 0;
			value(&b, w);
		}
		put(&b, "]", 1);
	}
	LIT(&b, "}}");
	if (b.oom) {
		if (b.s != NULL) {
			explicit_bzero(b.s, b.cap);
			free(b.s);
		}
		return NULL;
	}
	b.s[b.len] = '\0'; /* reserve() kept room for it */
	return b.s;
}
