/*
 * fuzz_router.c: libFuzzer target for the HTTP API server's router and its
 * JSON body parser (server/route.c, server/json.c).
 *
 * Input: a method byte, a path up to the first newline, then a body. The
 * contract is checked and any broken invariant aborts: a matched route has
 * the method asked for and its template re-matches the path; parameters are
 * non-empty, bounded and of the allowed characters; a 405 names methods of
 * routes that fit; the path line read as an If-Match field matches only a
 * tag it names or "*"; an accepted body is an object no deeper than the limit,
 * and a refusal gives a static message; a static URL names one plain file
 * of the web directory or none.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

static int param_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned methods[] = {SRV_GET, SRV_POST, SRV_PUT,
					   SRV_PATCH, SRV_DELETE};
	char path[512];
	const uint8_t *nl;
	size_t plen, i, k;
	unsigned status = 0, allow = 0, method;
	const srv_route *rt;
	srv_req q;
	const char *why = NULL;
	json_t *v;

	if (size == 0)
		return 0;
	method = methods[data[0] % 5];
	data++;
	size--;
	nl = memchr(data, '\n', size);
	plen = nl != NULL ? (size_t)(nl - data) : size;
	if (plen >= sizeof path)
		plen = sizeof path - 1;
	memcpy(path, data, plen);
	path[plen] = '\0';
	memset(&q, 0, sizeof q);
	rt = srv_route_match(method, path, &q, &status, &allow);
	if (rt != NULL) {
		check(status == 200 && rt->method == method);
		/* (a NUL byte in the line ends the path: a URL reaches
		 * the router as libmicrohttpd's C string) */
		check(q.nparams <= SRV_MAX_PARAMS);
		for (i = 0; i < q.nparams; i++) {
			size_t n = strlen(q.params[i]);
			check(n > 0 && n < SRV_PARAM_MAX);
			for (k = 0; k < n; k++)
				check(param_char(q.params[i][k]));
		}
		check(srv_route_index(rt) < srv_nroutes);
	} else {
		check(status == 404 || status == 405);
		check((status == 405) == (allow != 0));
		check((allow & method) == 0);
	}
	/* The web console's files: a servable URL names one plain file of
	 * the directory (no '/', no leading dot, no ".."), of a known type. */
	if (srv_static_is(path)) {
		const char *ctype = NULL;
		const char *name = srv_static_name(path, &ctype);
		if (name != NULL) {
			check(ctype != NULL);
			check(strchr(name, '/') == NULL && name[0] != '.' &&
			      strstr(name, "..") == NULL && name[0] != '\0');
		}
	} else {
		const char *ctype = NULL;
		check(srv_static_name(path, &ctype) == NULL);
	}
	/* The path line as an If-Match field: a match names the tag or is
	 * "*", a weak form of it never matches, anything accepted has a tag
	 * or a star. */
	{
		static const char tag[] = "\"0123abcd\"";
		int m = srv_if_match(path, tag);
		check(m >= -1 && m <= 1);
		if (m == 1)
			check(strstr(path, tag) != NULL || strchr(path, '*'));
		if (m >= 0)
			check(strchr(path, '"') != NULL || strchr(path, '*'));
		check(srv_if_match(tag, tag) == 1);
		check(srv_if_match("W/\"0123abcd\"", tag) == 0);
	}
	if (nl != NULL) {
		const char *body = (const char *)nl + 1;
		/* from the newline, not from plen: a long line was cut */
		size_t blen = size - (size_t)(nl - data) - 1;
		v = srv_json_parse(body, blen, SRV_JSON_MAX_DEPTH, &why);
		if (v != NULL) {
			check(json_is_object(v) && why == NULL);
			check(srv_json_depth(body, blen, SIZE_MAX - 1) <=
			      SRV_JSON_MAX_DEPTH);
			{
				int bad = 0;
				(void)srv_str(v, "kind", &bad);
				(void)srv_bool(v, "lift", 0, &bad);
			}
			json_decref(v);
		} else {
			check(why != NULL && why[0] != '\0');
		}
	}
	return 0;
}
