/*
 * h_util.c: what the handlers share: query parameters, page sizes, opaque
 * cursors, paging of the library's JSON arrays, field lists.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

const char *h_arg(srv_req *q, const char *name)
{
	return q->arg != NULL ? q->arg(q->arg_ud, name) : NULL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

size_t h_limit(srv_req *q, srv_resp *r)
{
	const char *s = h_arg(q, "limit");
	uint64_t v;

	if (s == NULL)
		return PAGE_DEFAULT;
	if (parse_u64(s, PAGE_MAX, &v) != 0 || v == 0) {
		srv_error(r, 400, "bad_request", "limit is 1-1000");
		return 0;
	}
	return (size_t)v;
}

/* Cursors are opaque to clients: "c1:" and the position, base64url. */
void h_cursor_make(const char *pos, char *out, size_t cap)
{
	char plain[SRV_PARAM_MAX + 4];
	int n = snprintf(plain, sizeof plain, "c1:%s", pos);

	out[0] = '\0';
	if (n < 0 || (size_t)n >= sizeof plain ||
	    sodium_base64_encoded_len(
		    (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > cap)
		return;
	sodium_bin2base64(out, cap, (const unsigned char *)plain, (size_t)n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int h_cursor_read(srv_req *q, srv_resp *r, char *pos, size_t cap)
{
	const char *c = h_arg(q, "cursor");
	unsigned char plain[SRV_PARAM_MAX + 4];
	size_t n = 0, i;

	pos[0] = '\0';
	if (c == NULL || c[0] == '\0')
		return 0;
	if (strlen(c) > 2 * sizeof plain ||
	    sodium_base642bin(plain, sizeof plain - 1, c, strlen(c), NULL, &n,
			      NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n < 4 || memcmp(plain, "c1:", 3) != 0 || n - 3 >= cap)
		goto bad;
	for (i = 3; i < n; i++)
		if (!((plain[i] >= '0' && plain[i] <= '9') ||
		      (plain[i] >= 'a' && plain[i] <= 'z')))
			goto bad;
	memcpy(pos, plain + 3, n - 3);
	pos[n - 3] = '\0';
	return 0;
bad:
	srv_error(r, 400, "bad_request", "the cursor is not one of ours");
	return -1;
}

void h_bad_member(srv_resp *r, const char *key)
{
	char msg[128];

	snprintf(msg, sizeof msg, "member %s has the wrong type", key);
	srv_error(r, 400, "bad_request", msg);
}

int64_t h_number(srv_req *q, srv_resp *r, size_t i)
{
	uint64_t v;

	if (i >= q->nparams || parse_u64(q->params[i], INT64_MAX, &v) != 0 ||
	    v == 0) {
		srv_error(r, 404, "not_found", "no such number");
		return -1;
	}
	return (int64_t)v;
}

void h_done(srv_resp *r, unsigned status)
{
	srv_reply_json(r, status, json_pack("{s:b}", "done", 1));
}

void h_page_array(srv_req *q, srv_resp *r, char *doc, const char *key,
		  int secret)
{
	char pos[32], cur[96];
	json_t *arr = NULL, *items = NULL, *out = NULL, *it;
	json_error_t err;
	size_t limit, i, n = 0;
	json_int_t after = 0, last = 0;
	uint64_t v;
	int more = 0;

	limit = h_limit(q, r);
	if (limit == 0 || h_cursor_read(q, r, pos, sizeof pos) != 0)
		goto out;
	if (pos[0] != '\0') {
		if (parse_u64(pos, INT64_MAX, &v) != 0) {
			srv_error(r, 400, "bad_request",
				  "the cursor is not one of ours");
			goto out;
		}
		after = (json_int_t)v;
	}
	arr = json_loads(doc, 0, &err);
	items = json_array();
	if (!json_is_array(arr) || items == NULL) {
		srv_error(r, 500, "system", "cannot read the list");
		goto out;
	}
	json_array_foreach(arr, i, it)
	{
		json_int_t k = json_integer_value(json_object_get(it, key));
		if (k <= after)
			continue;
		if (n == limit) {
			more = 1;
			break;
		}
		json_array_append(items, it);
		last = k;
		n++;
	}
	out = json_pack("{s:O}", "items", items);
	if (more) {
		snprintf(pos, sizeof pos, "%lld", (long long)last);
		h_cursor_make(pos, cur, sizeof cur);
		json_object_set_new(out, "next_cursor", json_string(cur));
	} else {
		json_object_set_new(out, "next_cursor", json_null());
	}
	{
		/* The page may hold personal data: the dump is wiped too. */
		char *s = json_dumps(out, JSON_COMPACT);
		if (s == NULL) {
			srv_error(r, 500, "system", "cannot build the answer");
			goto out;
		}
		r->status = 200;
		r->body = s;
		r->len = strlen(s);
		r->secret = secret;
		r->rk_owned = 0;
		r->ctype = "application/json";
	}
out:
	json_decref(out);
	json_decref(items);
	json_decref(arr);
	if (secret)
		rk_free_secret(doc);
	else
		rk_free(doc);
}

rk_fields *h_fields(const json_t *obj, srv_resp *r)
{
	rk_fields *f;
	const char *name;
	json_t *v, *e;
	size_t i;

	if (!json_is_object(obj)) {
		srv_error(r, 400, "bad_request",
			  "fields must be an object of name: value");
		return NULL;
	}
	f = rk_fields_new();
	if (f == NULL) {
		srv_error(r, 500, "system", "out of memory");
		return NULL;
	}
	json_object_foreach((json_t *)obj, name, v)
	{
		if (json_is_string(v)) {
			if (strlen(json_string_value(v)) !=
				    json_string_length(v) ||
			    rk_fields_add(f, name, json_string_value(v)) !=
				    RK_OK)
				goto bad;
			continue;
		}
		if (!json_is_array(v))
			goto bad;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) ||
			    strlen(json_string_value(e)) !=
				    json_string_length(e) ||
			    rk_fields_add(f, name, json_string_value(e)) !=
				    RK_OK)
				goto bad;
		}
	}
	return f;
bad:
	rk_fields_free(f);
	srv_error(r, 400, "bad_request",
		  "each field is a string or a list of strings");
	return NULL;
}
