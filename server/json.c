/*
 * json.c: request bodies in (a depth limit before the parser sees them) and
 * JSON answers out, the error shape, and the mapping of library statuses to
 * HTTP statuses.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

unsigned char srv_etag_key[32];

size_t srv_json_depth(const char *buf, size_t len, size_t cap)
{
	size_t depth = 0, max = 0, i;
	int in_str = 0, esc = 0;

	for (i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
			if (max > cap)
				return SIZE_MAX;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

json_t *srv_json_parse(const char *buf, size_t len, size_t max_depth,
		       const char **why)
{
	json_error_t err;
	json_t *v;

	*why = NULL;
	if (len == 0) {
		*why = "the body is empty: a JSON object is expected";
		return NULL;
	}
	if (srv_json_depth(buf, len, max_depth) == SIZE_MAX) {
		*why = "the JSON body is nested too deeply";
		return NULL;
	}
	/* Jansson checks UTF-8 and refuses a NUL inside strings unless
	 * asked; duplicate keys are refused so that no two readers can see
	 * different values. */
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL) {
		*why = "the body is not valid JSON";
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		*why = "the body must be a JSON object";
		return NULL;
	}
	return v;
}

void srv_reply_json(srv_resp *r, unsigned status, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	r->status = status;
	if (s == NULL) {
		srv_error(r, 500, "internal", "cannot build the answer");
		return;
	}
	free(r->body);
	r->body = s;
	r->len = strlen(s);
	r->rk_owned = 0;
	r->ctype = "application/json";
}

void srv_reply_doc(srv_resp *r, unsigned status, char *doc, int secret)
{
	r->status = status;
	r->body = doc;
	r->len = strlen(doc);
	r->secret = secret;
	r->rk_owned = 1;
	r->ctype = "application/json";
}

void srv_error(srv_resp *r, unsigned status, const char *code, const char *msg)
{
	json_t *v = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
			      msg);
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;

	json_decref(v);
	if (r->body != NULL) {
		if (r->rk_owned)
			rk_free_secret(r->body);
		else
			free(r->body);
	}
	r->body = s;
	r->len = s != NULL ? strlen(s) : 0;
	r->secret = 0;
	r->rk_owned = 0;
	r->status = status;
	r->ctype = "application/json";
	r->etag[0] = '\0';
	r->location[0] = '\0';
}

unsigned srv_status_of(rk_status st)
{
	switch (st) {
	case RK_OK:
		return 200;
	case RK_EINVAL:
		return 422;
	case RK_ENOTFOUND:
		return 404;
	case RK_EREFUSED:
		return 403;
	case RK_EINTEGRITY:
	case RK_ESYS:
	default:
		return 500;
	}
}

void srv_fail(srv_req *q, srv_resp *r, rk_status st)
{
	static const char *const codes[] = {
		"ok", "system", "invalid", "not_found", "refused", "integrity",
	};
	const char *msg = q->reg != NULL ? rk_errmsg(q->reg) : "";
	unsigned i = (unsigned)st;

	/* The library's messages never hold personal data (only field
	 * names), so they are passed on. */
	srv_error(r, srv_status_of(st), i < 6 ? codes[i] : "system",
		  msg[0] ? msg : rk_status_name(st));
	r->rk_st = st;
}

const char *srv_str(const json_t *o, const char *key, int *bad)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	/* A NUL inside would cut the value short unseen. */
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

int srv_bool(const json_t *o, const char *key, int dflt, int *bad)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return dflt;
	if (!json_is_boolean(v)) {
		*bad = 1;
		return dflt;
	}
	return json_is_true(v);
}

static const char *ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int srv_if_match(const char *field, const char *tag)
{
	size_t tl = strlen(tag);
	const char *p = ows(field), *s;
	int found = 0, any = 0, weak;

	if (*p == '*')
		return *ows(p + 1) == '\0' ? 1 : -1;
	for (;;) {
		/* empty list elements are allowed, and ignored */
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		weak = p[0] == 'W' && p[1] == '/';
		if (weak)
			p += 2;
		if (*p != '"')
			return -1;
		s = p++;
		/* etagc: any visible character but '"', or obs-text */
		for (; *p != '"'; p++)
			if ((unsigned char)*p < 0x21 || *p == 0x7f)
				return -1;
		p++;
		if (!weak && (size_t)(p - s) == tl && memcmp(s, tag, tl) == 0)
			found = 1;
		any = 1;
		p = ows(p);
		if (*p != ',' && *p != '\0')
			return -1;
	}
	return any ? found : -1;
}

void srv_etag(const char *doc, size_t len, char out[48])
{
	unsigned char h[16];
	char hex[33];

	/* Keyed, so that an ETag seen in a log tells nothing about the
	 * values it was made from. SipHash (a keyed PRF, 128 bits out) hashes
	 * a subject's document in about half of BLAKE2b's instructions, and
	 * every read of a subject pays it. */
	_Static_assert(sizeof srv_etag_key >=
			       crypto_shorthash_siphashx24_KEYBYTES,
		       "ETag key");
	_Static_assert(sizeof h == crypto_shorthash_siphashx24_BYTES, "ETag");
	crypto_shorthash_siphashx24(h, (const unsigned char *)doc, len,
				    srv_etag_key);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	out[0] = '"';
	memcpy(out + 1, hex, 32);
	out[33] = '"';
	out[34] = '\0';
}
