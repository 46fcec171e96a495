/*
 * subject_doc.c: the answer of GET /v1/subjects/{id}, written straight from
 * the subject's accessors as compact JSON. The same document as
 * rk_subject_json (less its indentation), at a fraction of the cost: no tree
 * of Jansson values built, sorted, dumped and wiped for every read. The
 * buffer holds personal data: it grows by copying and wiping, never by
 * realloc, and is freed with rk_free_secret.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

struct db {
	char *s;
	size_t len, cap;
	int oom;
};

static void grow(struct db *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *ns;

	while (cap < b->len + need + 1)
		cap *= 2;
	ns = malloc(cap);
	if (ns == NULL) {
		b->oom = 1;
		return;
	}
	if (b->s != NULL) {
		memcpy(ns, b->s, b->len);
		explicit_bzero(b->s, b->cap);
		free(b->s);
	}
	b->s = ns;
	b->cap = cap;
}

static void put(struct db *b, const char *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap)
		grow(b, n);
	if (b->oom)
		return;
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void lit(struct db *b, const char *p)
{
	put(b, p, strlen(p));
}

/* A JSON string (or null): quotes, backslashes and control characters
 * escaped; UTF-8 (checked by the library when stored) passes as it is. */
static void str(struct db *b, const char *p)
{
	const char *run;

	if (p == NULL) {
		lit(b, "null");
		return;
	}
	put(b, "\"", 1);
	for (run = p; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[8];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(b, run, (size_t)(p - run));
		snprintf(esc, sizeof esc, "\\u%04x", c);
		put(b, esc, 6);
		run = p + 1;
	}
	put(b, run, (size_t)(p - run));
	put(b, "\"", 1);
}

static void num(struct db *b, int64_t v)
{
	char n[24];
	int k = snprintf(n, sizeof n, "%" PRId64, v);

	if (k > 0)
		put(b, n, (size_t)k);
}

/* "a,b" as ["a","b"] */
static void csv(struct db *b, const char *p)
{
	char part[128];
	int first = 1;

	put(b, "[", 1);
	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e == NULL ? strlen(p) : (size_t)(e - p);
		if (n >= sizeof part)
			n = sizeof part - 1;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!first)
			put(b, ",", 1);
		str(b, part);
		first = 0;
		p = e == NULL ? NULL : e + 1;
	}
	put(b, "]", 1);
}

static void value(struct db *b, const rk_value *v)
{
	lit(b, "{\"value\":");
	str(b, v->value);
	lit(b, ",\"category\":");
	str(b, v->category);
	lit(b, ",\"purposes\":");
	csv(b, v->purposes);
	lit(b, ",\"legal_basis\":");
	str(b, v->legal_basis);
	lit(b, ",\"source\":");
	str(b, v->source);
	lit(b, ",\"collected_at\":");
	num(b, v->collected_at);
	lit(b, ",\"confirmed_at\":");
	num(b, v->confirmed_at);
	lit(b, ",\"expires\":");
	str(b, v->expires);
	put(b, "}", 1);
}

char *srv_subject_doc(const rk_subject *s)
{
	struct db b = {NULL, 0, 0, 0};
	size_t n = rk_subject_value_count(s), i, j;
	int first = 1;

	lit(&b, "{\"id\":");
	str(&b, rk_subject_id(s));
	lit(&b, ",\"kind\":");
	str(&b, rk_subject_kind(s));
	lit(&b, ",\"purpose\":");
	str(&b, rk_subject_purpose(s));
	lit(&b, ",\"created_at\":");
	num(&b, rk_subject_created_at(s));
	lit(&b, ",\"relationship\":{\"start\":");
	{
		const char *start = rk_subject_relationship_start(s);
		str(&b, start != NULL && start[0] ? start : NULL);
	}
	lit(&b, ",\"end\":");
	str(&b, rk_subject_relationship_end(s));
	lit(&b, "},\"fields\":{");
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
		lit(&b, ":[");
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
	lit(&b, "}}");
	if (b.oom) {
		if (b.s != NULL) {
			explicit_bzero(b.s, b.cap);
			free(b.s);
		}
		return NULL;
	}
	return b.s;
}
