/*
 * http.c: libmicrohttpd's access handler. Everything a request must pass
 * before a handler runs is checked here, in order: shutdown, method and
 * route, framing (one Content-Length, not beside Transfer-Encoding), size,
 * media type, readiness, the failed-authentication rate limit; then, with the
 * body in, JSON (depth, duplicates), purpose, token, idempotency key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

struct ctx {
	srv_job job; /* first: the writer hands it back */
	uint64_t rid;
	struct timespec t0;
	const srv_route *route;
	unsigned status; /* of the answer, for the log */
	int queued;
	srv_req q;
	srv_resp r;
	char *body;
	size_t len, cap, limit;
	uint64_t bytes_in;
	int too_big;
	/* multipart */
	struct MHD_PostProcessor *pp;
	int upfd;
	char updir[4096], uppath[4200], uptype[128];
	uint64_t upsize;
	int bad_part;
	int bad_encoding; /* a part in a Content-Transfer-Encoding */
	/* the attachment's bytes as they pass, for the idempotency digest:
	 * a replay with another file is another request */
	crypto_generichash_state uphash;
	char addr[SRV_ADDR_LEN];
	struct MHD_Connection *conn;
	/* the credential and idempotency key between prepare() and the
	 * handle that runs the request (the token is wiped once used) */
	char name[72], token[96], key[130];
	const char *idem;
	int idem_on;
	/* group commit: 1 while the writer has the request, 2 when it is
	 * answered (the connection resumed) */
	atomic_int job_state;
};

static const srv_config *cfg;
static atomic_ullong next_rid;
static uint64_t rid_base;
static atomic_uint inflight;

void http_init(const srv_config *c)
{
	cfg = c;
	randombytes_buf(&rid_base, sizeof rid_base);
	/* the low 24 bits count; the rest tells processes apart */
	rid_base &= ~(uint64_t)0xffffff;
}

unsigned http_inflight(void)
{
	return atomic_load(&inflight);
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- answers --------------------------------------------------------------
 */

static void free_secret_str(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void free_rk_secret(void *p)
{
	rk_free_secret(p);
}

static void free_rk(void *p)
{
	rk_free(p);
}

static enum MHD_Result queue(struct ctx *x)
{
	srv_resp *r = &x->r;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char rid[24];

	if (r->status == 0)
		srv_error(r, 500, "system", "no answer");
	if (r->fd >= 0) {
		resp = MHD_create_response_from_fd((uint64_t)r->fd_size, r->fd);
		if (resp != NULL)
			r->fd = -1; /* MHD closes it */
	} else if (r->body != NULL && r->len > 0) {
		void (*fr)(void *) =
			r->rk_owned ? (r->secret ? free_rk_secret : free_rk)
				    : (r->secret ? free_secret_str : free);
		resp = MHD_create_response_from_buffer_with_free_callback(
			r->len, r->body, fr);
		if (resp != NULL)
			r->body = NULL; /* MHD frees it */
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL)
		return MHD_NO;
	if (r->ctype != NULL && r->status != 204)
		MHD_add_response_header(resp, "Content-Type", r->ctype);
	if (r->etag[0])
		MHD_add_response_header(resp, "ETag", r->etag);
	if (r->location[0])
		MHD_add_response_header(resp, "Location", r->location);
	if (r->disposition != NULL)
		MHD_add_response_header(resp, "Content-Disposition",
					r->disposition);
	if (r->retry_after) {
		char ra[16];
		snprintf(ra, sizeof ra, "%u", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate",
					"Bearer realm=\"rekisteri\"");
	if (r->status == 405 && x->q.method != 0) {
		char allow[64] = "";
		unsigned m;
		for (m = SRV_GET; m <= SRV_DELETE; m <<= 1)
			if (x->q.method & m) {
				if (allow[0])
					strncat(allow, ", ",
						sizeof allow - strlen(allow) -
							1);
				strncat(allow, srv_method_name(m),
					sizeof allow - strlen(allow) - 1);
			}
		MHD_add_response_header(resp, "Allow", allow);
	}
	snprintf(rid, sizeof rid, "%016llx", (unsigned long long)x->rid);
	MHD_add_response_header(resp, "X-Request-Id", rid);
	/* Answers hold personal data: no cache keeps them. The pages hold
	 * none, but must be checked again so an update shows at once. */
	MHD_add_response_header(resp, "Cache-Control",
				r->page ? "no-cache" : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* Every answer, pages and JSON alike: no inline script or style, no
	 * framing, no referrer (a self-service link must not leak). */
	MHD_add_response_header(resp, "Content-Security-Policy", SRV_CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (srv_is_draining())
		MHD_add_response_header(resp, "Connection", "close");
	ret = MHD_queue_response(x->conn, r->status, resp);
	MHD_destroy_response(resp);
	x->status = r->status;
	x->queued = 1;
	return ret;
}

static enum MHD_Result fail(struct ctx *x, unsigned status, const char *code,
			    const char *msg)
{
	srv_error(&x->r, status, code, msg);
	return queue(x);
}

/* ---- headers --------------------------------------------------------------
 */

struct hdr_count {
	unsigned content_length, transfer_encoding, authorization;
};

static enum MHD_Result count_hdr(void *cls, enum MHD_ValueKind kind,
				 const char *key, const char *value)
{
	struct hdr_count *h = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, "Content-Length") == 0)
		h->content_length++;
	else if (strcasecmp(key, "Transfer-Encoding") == 0)
		h->transfer_encoding++;
	else if (strcasecmp(key, "Authorization") == 0)
		h->authorization++;
	return MHD_YES;
}

static const char *hdr(struct ctx *x, const char *name)
{
	return MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, name);
}

static const char *query_arg(void *ud, const char *name)
{
	struct ctx *x = ud;

	return MHD_lookup_connection_value(x->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

/* Whether ctype is the media type want (case-insensitive, parameters
 * allowed after ';'). */
static int media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	if (ctype == NULL)
		return 0;
	while (*ctype == ' ')
		ctype++;
	return strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static void client_addr(struct ctx *x)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		x->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(x->addr, sizeof x->addr, "?");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a =
			(const struct sockaddr_in *)(const void *)
				ci->client_addr;
		inet_ntop(AF_INET, &a->sin_addr, x->addr, sizeof x->addr);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a =
			(const struct sockaddr_in6 *)(const void *)
				ci->client_addr;
		inet_ntop(AF_INET6, &a->sin6_addr, x->addr, sizeof x->addr);
	}
}

/* ---- the client behind a trusted proxy ------------------------------------
 */

int srv_addr_norm(const char *s, size_t n, char out[SRV_ADDR_LEN])
{
	char in[SRV_ADDR_LEN];
	struct in_addr v4;
	struct in6_addr v6;

	if (n == 0 || n >= sizeof in)
		return -1;
	memcpy(in, s, n);
	in[n] = '\0';
	if (inet_pton(AF_INET, in, &v4) == 1)
		return inet_ntop(AF_INET, &v4, out, SRV_ADDR_LEN) != NULL ? 0
									  : -1;
	if (inet_pton(AF_INET6, in, &v6) != 1)
		return -1;
	/* ::ffff:a.b.c.d is the IPv4 client a.b.c.d */
	if (IN6_IS_ADDR_V4MAPPED(&v6)) {
		memcpy(&v4, &v6.s6_addr[12], sizeof v4);
		return inet_ntop(AF_INET, &v4, out, SRV_ADDR_LEN) != NULL ? 0
									  : -1;
	}
	return inet_ntop(AF_INET6, &v6, out, SRV_ADDR_LEN) != NULL ? 0 : -1;
}

static int proxy_trusted(const char *a)
{
	size_t i;

	/* a dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d */
	if (strncmp(a, "::ffff:", 7) == 0 && strchr(a + 7, '.') != NULL)
		a += 7;
	for (i = 0; i < cfg->ntrusted_proxies; i++)
		if (strcmp(cfg->trusted_proxies[i], a) == 0)
			return 1;
	return 0;
}

/* The last X-Forwarded-For header: a proxy that adds a header of its own
 * rather than appending to the client's puts it last. */
static enum MHD_Result last_xff(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") == 0)
		*(const char **)cls = value;
	return MHD_YES;
}

/* Behind --trusted-proxy, the client is the right-most address of
 * X-Forwarded-For that is not itself a trusted proxy: what is left of it
 * the client wrote, and is not believed. An entry that is no address
 * ends the walk at the last address believed. The failed-authentication
 * limit and /metrics' loopback rule then see the client, not the
 * proxy, so one client's guesses do not lock out everyone behind it. */
static void forwarded_addr(struct ctx *x)
{
	const char *v = NULL, *start, *end, *s, *e;
	char a[SRV_ADDR_LEN];

	if (cfg->ntrusted_proxies == 0 || !proxy_trusted(x->addr))
		return;
	MHD_get_connection_values(x->conn, MHD_HEADER_KIND, last_xff, &v);
	if (v == NULL)
		return;
	end = v + strlen(v);
	while (end > v) {
		start = end;
		while (start > v && start[-1] != ',')
			start--;
		for (s = start; s < end && (*s == ' ' || *s == '\t'); s++)
			;
		for (e = end; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		if (srv_addr_norm(s, (size_t)(e - s), a) != 0)
			return;
		snprintf(x->addr, sizeof x->addr, "%s", a);
		if (!proxy_trusted(a))
			return;
		end = start > v ? start - 1 : v;
	}
}

/* ---- bodies ---------------------------------------------------------------
 */

static int append(struct ctx *x, const char *data, size_t n)
{
	if (x->len + n > x->limit) {
		x->too_big = 1;
		return -1;
	}
	if (x->len + n + 1 > x->cap) {
		size_t ncap = x->cap ? x->cap : 1024;
		char *nb;
		while (ncap < x->len + n + 1)
			ncap *= 2;
		nb = malloc(ncap);
		if (nb == NULL)
			return -1;
		/* grown by copy, so the old buffer can be wiped */
		if (x->body != NULL) {
			memcpy(nb, x->body, x->len);
			explicit_bzero(x->body, x->cap);
			free(x->body);
		}
		x->body = nb;
		x->cap = ncap;
	}
	memcpy(x->body + x->len, data, n);
	x->len += n;
	x->body[x->len] = '\0';
	return 0;
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind,
			       const char *key, const char *filename,
			       const char *content_type,
			       const char *transfer_encoding, const char *data,
			       uint64_t off, size_t size)
{
	struct ctx *x = cls;

	(void)kind;
	(void)filename;
	/* Parts are taken as they are: a part in another transfer encoding
	 * (base64, quoted-printable) would be stored undecoded. */
	if (transfer_encoding != NULL && transfer_encoding[0] != '\0' &&
	    strcasecmp(transfer_encoding, "binary") != 0 &&
	    strcasecmp(transfer_encoding, "8bit") != 0 &&
	    strcasecmp(transfer_encoding, "7bit") != 0) {
		x->bad_encoding = 1;
		return MHD_NO;
	}
	if (strcmp(key, "record") == 0) {
		if (size > 0 && append(x, data, size) != 0)
			return MHD_NO;
		return MHD_YES;
	}
	if (strcmp(key, "attachment") != 0) {
		x->bad_part = 1;
		return MHD_YES;
	}
	/* A second attachment part would be appended to the first and
	 * stored as one file: refused. */
	if (x->upfd >= 0 && off == 0 && x->upsize > 0) {
		x->bad_part = 1;
		return MHD_NO;
	}
	if (x->upfd < 0) {
		int n = snprintf(x->updir, sizeof x->updir, "%s/rk-up-XXXXXX",
				 cfg->tmp_dir);
		if (n < 0 || (size_t)n >= sizeof x->updir ||
		    mkdtemp(x->updir) == NULL) {
			x->updir[0] = '\0';
			return MHD_NO;
		}
		snprintf(x->uppath, sizeof x->uppath, "%s/a", x->updir);
		x->upfd = open(x->uppath,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (x->upfd < 0)
			return MHD_NO;
		snprintf(x->uptype, sizeof x->uptype, "%s",
			 content_type != NULL ? content_type
					      : "application/octet-stream");
		crypto_generichash_init(&x->uphash, NULL, 0, 32);
	}
	if (x->upsize + size > cfg->max_upload) {
		x->too_big = 1;
		return MHD_NO;
	}
	crypto_generichash_update(&x->uphash, (const unsigned char *)data,
				  size);
	while (size > 0) {
		ssize_t w = write(x->upfd, data, size);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MHD_NO;
		data += w;
		size -= (size_t)w;
		x->upsize += (uint64_t)w;
	}
	return MHD_YES;
}

/* ---- the request ----------------------------------------------------------
 */

static int purpose_ok(const char *p)
{
	size_t n = 0;

	for (; p[n] != '\0'; n++)
		if (!((p[n] >= 'a' && p[n] <= 'z') ||
		      (p[n] >= '0' && p[n] <= '9') || p[n] == '_' ||
		      p[n] == '-'))
			return 0;
	return n > 0 && n < 64;
}

static int key_ok(const char *k)
{
	size_t n = 0;

	for (; k[n] != '\0'; n++)
		if (k[n] < 0x21 || k[n] > 0x7e)
			return 0;
	return n > 0 && n <= 128;
}

/* Splits the credential: "TOKEN" (the actor found by its token),
 * "NAME:TOKEN", or a token with the actor in Rekisteri-Actor. 0 when a
 * token is there; name is "" for a bare token. */
static int credential(struct ctx *x, char *name, size_t ncap, char *token,
		      size_t tcap)
{
	const char *a = hdr(x, "Authorization");
	const char *colon, *actor;
	size_t n;

	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return -1;
	a += 7;
	while (*a == ' ')
		a++;
	colon = strrchr(a, ':');
	if (colon != NULL) {
		n = (size_t)(colon - a);
		if (n == 0 || n >= ncap || strlen(colon + 1) >= tcap)
			return -1;
		memcpy(name, a, n);
		name[n] = '\0';
		/* its length checked above: copied whole */
		memcpy(token, colon + 1, strlen(colon + 1) + 1);
		return 0;
	}
	actor = hdr(x, "Rekisteri-Actor");
	if ((actor != NULL && strlen(actor) >= ncap) || strlen(a) >= tcap)
		return -1;
	/* A bare token names its actor itself (name left empty). */
	if (actor != NULL)
		memcpy(name, actor, strlen(actor) + 1);
	else
		name[0] = '\0';
	memcpy(token, a, strlen(a) + 1);
	return 0;
}

static void digest_of(struct ctx *x, unsigned char out[32])
{
	crypto_generichash_state st;
	size_t i;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)x->route->tmpl,
				  strlen(x->route->tmpl) + 1);
	for (i = 0; i < x->q.nparams; i++)
		crypto_generichash_update(&st,
					  (const unsigned char *)x->q.params[i],
					  strlen(x->q.params[i]) + 1);
	if (x->q.purpose != NULL)
		crypto_generichash_update(&st,
					  (const unsigned char *)x->q.purpose,
					  strlen(x->q.purpose) + 1);
	if (x->body != NULL)
		crypto_generichash_update(&st, (const unsigned char *)x->body,
					  x->len);
	/* A multipart request differs from the same record as JSON, and
	 * from the same record with another attachment or media type. */
	if (x->pp != NULL) {
		unsigned char att[32];
		crypto_generichash_update(&st, (const unsigned char *)"\0mp",
					  3);
		if (x->uppath[0]) {
			crypto_generichash_final(&x->uphash, att, sizeof att);
			crypto_generichash_update(&st, att, sizeof att);
			crypto_generichash_update(
				&st, (const unsigned char *)x->uptype,
				strlen(x->uptype) + 1);
		}
	}
	crypto_generichash_final(&st, out, 32);
}

/* ---- the Host check and the metrics' guard ------------------------------
 */

/* Whether the Host header names a host of --allowed-host (any when none
 * is given). A page of another site that a DNS name rebound to this
 * server's address sends its own name: it does not reach the console. */
static int host_ok(struct ctx *x)
{
	const char *h, *end;
	size_t i, n;

	if (cfg->nallowed_hosts == 0)
		return 1;
	h = hdr(x, "Host");
	if (h == NULL)
		return 0;
	/* "[v6]:port", "[v6]", "name:port" or "name": the port is not
	 * compared. */
	end = h[0] == '[' ? strchr(h, ']') : strchr(h, ':');
	if (h[0] == '[') {
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return 0;
		end++;
	}
	n = end != NULL ? (size_t)(end - h) : strlen(h);
	for (i = 0; i < cfg->nallowed_hosts; i++) {
		const char *a = cfg->allowed_hosts[i];
		size_t an = strlen(a);
		if (an == n && strncasecmp(a, h, n) == 0)
			return 1;
		/* an IPv6 name given without its brackets */
		if (h[0] == '[' && an + 2 == n &&
		    strncasecmp(a, h + 1, an) == 0)
			return 1;
	}
	return 0;
}

static int addr_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 ||
	       strncmp(a, "::ffff:127.", 11) == 0;
}

/* /metrics: with --metrics-token-file its bearer token (compared in
 * constant time); without, clients on loopback only. 0 when allowed, else
 * the status to answer. */
static unsigned metrics_refused(struct ctx *x)
{
	const char *a;
	size_t n, want;

	if (cfg->metrics_token == NULL)
		return addr_loopback(x->addr) ? 0 : 403;
	a = hdr(x, "Authorization");
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 401;
	a += 7;
	while (*a == ' ')
		a++;
	n = strlen(a);
	want = strlen(cfg->metrics_token);
	if (n != want || sodium_memcmp(a, cfg->metrics_token, n) != 0)
		return 401;
	return 0;
}

static enum MHD_Result first_call(struct ctx *x, const char *url,
				  const char *method)
{
	struct hdr_count hc = {0, 0, 0};
	unsigned status = 0, allow = 0, m = srv_method_of(method);
	const char *cl, *ctype;
	int has_body;

	client_addr(x);
	forwarded_addr(x);
	x->q.arg = query_arg;
	x->q.arg_ud = x;
	x->q.tmp_dir = cfg->tmp_dir;
	x->q.addr = x->addr;
	x->q.backup_dir = cfg->backup_dir;
	x->limit = cfg->max_body;
	if (!host_ok(x))
		return fail(x, 421, "misdirected_request",
			    "this server does not serve that host name");
	if (m == 0) {
		srv_error(&x->r, 405, "method_not_allowed",
			  "the method is not supported");
		return queue(x);
	}
	if (srv_static_is(url)) {
		if (m != SRV_GET) {
			x->q.method = SRV_GET;
			return fail(x, 405, "method_not_allowed",
				    "the resource does not take this method");
		}
		srv_static_serve(url, &x->r);
		return queue(x);
	}
	x->route = srv_route_match(m, url, &x->q, &status, &allow);
	if (x->route == NULL) {
		if (status == 405) {
			x->q.method = allow;
			return fail(x, 405, "method_not_allowed",
				    "the resource does not take this method");
		}
		return fail(x, 404, "not_found", "no such resource");
	}
	x->q.method = m;
	x->q.route = x->route;
	if (x->route->fn == h_metrics) {
		unsigned ms,
			wait = cfg->metrics_token != NULL
				       ? srv_rl_blocked(x->addr, SRV_RL_STAFF)
				       : 0;
		if (wait > 0) {
			x->r.retry_after = wait;
			return fail(x, 429, "rate_limited",
				    "too many failed authentications from "
				    "this address");
		}
		ms = metrics_refused(x);
		if (ms == 401) {
			srv_rl_fail(x->addr, SRV_RL_STAFF);
			return fail(x, 401, "unauthorized",
				    "the metrics need their token: "
				    "Authorization: Bearer TOKEN");
		}
		if (ms != 0)
			return fail(x, 403, "forbidden",
				    "the metrics are served to loopback "
				    "clients only (or with "
				    "--metrics-token-file)");
	}
	if (srv_is_draining() && (x->route->flags & R_READY))
		return fail(x, 503, "shutting_down",
			    "the server is shutting down");
	/* Framing: two lengths, or a length beside chunked coding, could
	 * be read differently by a proxy in front (request smuggling). */
	MHD_get_connection_values(x->conn, MHD_HEADER_KIND, count_hdr, &hc);
	if (hc.content_length > 1 ||
	    (hc.content_length == 1 && hc.transfer_encoding > 0) ||
	    hc.transfer_encoding > 1 || hc.authorization > 1)
		return fail(x, 400, "bad_request",
			    "conflicting or repeated framing or "
			    "authorization headers");
	cl = hdr(x, "Content-Length");
	has_body = (cl != NULL && strcmp(cl, "0") != 0) ||
		   hc.transfer_encoding > 0;
	ctype = hdr(x, "Content-Type");
	if (has_body && (x->route->flags & R_JSON)) {
		if ((x->route->flags & R_MULTI) &&
		    media_is(ctype, "multipart/form-data")) {
			x->limit = cfg->max_body;
			x->pp = MHD_create_post_processor(x->conn, 16384,
							  on_part, x);
			if (x->pp == NULL)
				return fail(x, 400, "bad_request",
					    "a malformed multipart body");
		} else if (!media_is(ctype, "application/json")) {
			return fail(x, 415, "unsupported_media_type",
				    "the body must be application/json");
		}
	}
	if (cl != NULL) {
		char *end = NULL;
		unsigned long long v;
		errno = 0;
		v = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0')
			return fail(x, 400, "bad_request",
				    "a malformed Content-Length");
		if (v > (x->pp != NULL ? cfg->max_upload + cfg->max_body
				       : cfg->max_body))
			return fail(x, 413, "too_large",
				    "the body is too large");
	}
	if (!has_body && (x->route->flags & R_JSON) &&
	    (m == SRV_POST || m == SRV_PUT || m == SRV_PATCH))
		return fail(x, 400, "bad_request",
			    "a JSON object body is needed");
	if ((x->route->flags & R_READY) && !srv_is_ready())
		return fail(x, 503, "not_ready", "the register is not ready");
	if (x->route->flags & (R_AUTH | R_SELF | R_LIMITED)) {
		unsigned wait = srv_rl_blocked(
			x->addr, (x->route->flags & (R_SELF | R_LIMITED))
					 ? SRV_RL_SELF
					 : SRV_RL_STAFF);
		if (wait > 0) {
			x->r.retry_after = wait;
			return fail(x, 429, "rate_limited",
				    "too many failed authentications from "
				    "this address");
		}
	}
	return MHD_YES;
}

/* A self-service route: the session's token proves the subject, and the
 * subject's ID becomes the one path parameter the handler reads. */
static void run_self(struct ctx *x)
{
	char name[72], token[96], id[RK_ID_LEN + 1];
	rk_status st;

	if (credential(x, name, sizeof name, token, sizeof token) != 0 ||
	    name[0] != '\0') {
		explicit_bzero(token, sizeof token);
		srv_error(&x->r, 401, "unauthorized",
			  "a session is needed: Authorization: Bearer TOKEN");
		return;
	}
	x->q.reg = srv_pool_get();
	if (x->q.reg == NULL) {
		explicit_bzero(token, sizeof token);
		srv_error(&x->r, 503, "unavailable", "no register handle");
		return;
	}
	st = rk_selfservice_authenticate(x->q.reg, token, id);
	if (st == RK_EREFUSED) {
		srv_rl_fail(x->addr, SRV_RL_SELF);
		srv_error(&x->r, 401, "unauthorized",
			  "the session has ended; open a new link");
	} else if (st != RK_OK) {
		srv_fail(&x->q, &x->r, st);
	} else {
		snprintf(x->q.params[0], sizeof x->q.params[0], "%s", id);
		x->q.nparams = 1;
		x->q.self_token = token;
		x->q.actor = "(self-service)";
		x->route->fn(&x->q, &x->r);
	}
	x->q.self_token = NULL;
	explicit_bzero(token, sizeof token);
	explicit_bzero(id, sizeof id);
	srv_pool_put(x->q.reg);
	x->q.reg = NULL;
}

/* Before a handle is needed: the body, purpose, If-Match, idempotency key
 * and credential. 0 to go on; -1 when x->r holds the answer. */
static int prepare(struct ctx *x)
{
	const char *why = NULL;

	/* A chunked body may turn out empty: no object is not {}. */
	if ((x->route->flags & R_JSON) && x->len == 0 &&
	    (x->q.method == SRV_POST || x->q.method == SRV_PUT ||
	     x->q.method == SRV_PATCH)) {
		srv_error(&x->r, 400, "bad_request",
			  "a JSON object body is needed");
		return -1;
	}
	if (x->route->flags & R_JSON && x->len > 0) {
		x->q.json =
			srv_json_parse(x->body, x->len, cfg->max_depth, &why);
		if (x->q.json == NULL) {
			srv_error(&x->r, 400, "bad_request", why);
			return -1;
		}
	}
	if (x->route->flags & R_PURPOSE) {
		x->q.purpose = hdr(x, "Rekisteri-Purpose");
		if (x->q.purpose == NULL || !purpose_ok(x->q.purpose)) {
			srv_error(&x->r, 400, "purpose_required",
				  "the header Rekisteri-Purpose must name "
				  "the purpose of the processing");
			return -1;
		}
	}
	x->q.if_match =
		(x->route->flags & R_IFMATCH) ? hdr(x, "If-Match") : NULL;
	if (x->route->flags & R_IDEM) {
		x->idem = hdr(x, "Idempotency-Key");
		if (x->idem != NULL && !key_ok(x->idem)) {
			srv_error(&x->r, 400, "bad_request",
				  "Idempotency-Key is 1-128 visible ASCII "
				  "characters");
			return -1;
		}
	}
	if (!(x->route->flags & R_AUTH))
		return 0;
	if (credential(x, x->name, sizeof x->name, x->token, sizeof x->token) !=
	    0) {
		explicit_bzero(x->token, sizeof x->token);
		srv_error(&x->r, 401, "unauthorized",
			  "a token is needed: Authorization: Bearer "
			  "TOKEN");
		return -1;
	}
	return 0;
}

static void resp_clear(srv_resp *r);

/* A route that reads and decides nothing (R_REPLICA) on a server with a
 * read replica. The authentication ran on the primary (a revoked token
 * stops at once, whatever the standby lags); its kept snapshot ends, so
 * that the handler's reads begin anew and may run on the standby. The
 * library sends them there only when the standby replayed every write
 * of this server (the handles share one floor: main.c). A system or
 * integrity failure after a read there runs once more on the primary and
 * only that answer counts: a standby behind a key rotation or a row the
 * primary moved is not tampering. */
static void run_replica(struct ctx *x, rk_register *reg)
{
	int64_t used = rk_register_replica_reads(reg);

	rk_register_release(reg);
	rk_register_use_read_replica(reg, 1);
	x->route->fn(&x->q, &x->r);
	rk_register_use_read_replica(reg, 0);
	used = rk_register_replica_reads(reg) - used;
	if (used <= 0) {
		srv_replica_count(SRV_REPLICA_PRIMARY, 1);
		return;
	}
	srv_replica_count(SRV_REPLICA_READS, (uint64_t)used);
	if (x->r.rk_st != RK_ESYS && x->r.rk_st != RK_EINTEGRITY)
		return;
	srv_replica_count(SRV_REPLICA_RETRY, 1);
	rk_register_release(reg);
	resp_clear(&x->r);
	x->route->fn(&x->q, &x->r);
}

/* On a register handle: authentication, the idempotency key, the handler.
 * The idempotency key's answer is kept by the caller (srv_idem_finish),
 * once the answer is final. */
static void run_on(struct ctx *x, rk_register *reg)
{
	unsigned char dg[32];
	rk_status st;

	x->q.reg = reg;
	/* Every request proves itself again: a revoked token stops at the
	 * next request. */
	st = x->name[0] != '\0'
		     ? rk_register_authenticate(reg, x->name, x->token)
		     : rk_register_authenticate_token(reg, x->token);
	explicit_bzero(x->token, sizeof x->token);
	if (st == RK_OK) {
		/* cut to x->name, as snprintf would */
		const char *an = rk_register_actor(reg);
		size_t n = strnlen(an, sizeof x->name - 1);
		memcpy(x->name, an, n);
		x->name[n] = '\0';
	}
	if (st == RK_EREFUSED) {
		srv_rl_fail(x->addr, SRV_RL_STAFF);
		srv_error(&x->r, 401, "unauthorized",
			  "unknown actor, wrong token or revoked actor");
		goto out;
	}
	if (st != RK_OK) {
		srv_fail(&x->q, &x->r, st);
		goto out;
	}
	x->q.actor = x->name;
	if (x->idem != NULL) {
		int rc;
		snprintf(x->key, sizeof x->key, "%s", x->idem);
		digest_of(x, dg);
		rc = srv_idem_begin(x->name, x->key, x->route->tmpl, dg, &x->r);
		if (rc == 1)
			goto out; /* the first answer again */
		if (rc == 2) {
			srv_error(&x->r, 409, "conflict",
				  "a request with this Idempotency-Key is "
				  "in progress");
			goto out;
		}
		if (rc == 3) {
			srv_error(&x->r, 409, "idempotency_key_reused",
				  "this Idempotency-Key was used for another "
				  "request");
			goto out;
		}
		x->idem_on = 1;
	}
	if (x->upfd >= 0) {
		x->q.upload_path = x->uppath;
		x->q.upload_type = x->uptype;
	}
	if ((x->route->flags & R_REPLICA) && srv_replica_enabled())
		run_replica(x, reg);
	else
		x->route->fn(&x->q, &x->r);
out:
	/* no snapshot of this request's left open on the pooled handle */
	rk_register_release(reg);
	x->q.reg = NULL;
}

static void run(struct ctx *x)
{
	rk_register *reg;

	if (prepare(x) != 0)
		return;
	/* A self-service route proves the session, not an actor: never
	 * without it. */
	if (x->route->flags & R_SELF) {
		run_self(x);
		return;
	}
	if (!(x->route->flags & R_AUTH)) {
		x->route->fn(&x->q, &x->r);
		return;
	}
	reg = srv_pool_get();
	if (reg == NULL) {
		explicit_bzero(x->token, sizeof x->token);
		srv_error(&x->r, 503, "unavailable", "no register handle");
		return;
	}
	run_on(x, reg);
	if (x->idem_on)
		srv_idem_finish(x->name, x->key, &x->r);
	srv_pool_put(reg);
}

/* ---- group commit: the writer runs the request ----------------------------
 */

static void resp_clear(srv_resp *r)
{
	if (r->body != NULL) {
		if (r->rk_owned)
			rk_free_secret(r->body);
		else
			free_secret_str(r->body);
	}
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof *r);
	r->fd = -1;
}

static void job_run(srv_job *j, rk_register *reg)
{
	run_on((struct ctx *)(void *)j, reg);
}

static void job_done(srv_job *j, rk_register *reg, rk_status commit)
{
	struct ctx *x = (struct ctx *)(void *)j;

	(void)reg;
	explicit_bzero(x->token, sizeof x->token);
	if (commit != RK_OK &&
	    (x->r.status == 0 || (x->r.status >= 200 && x->r.status < 300))) {
		/* Not durable, not visible: the success is withdrawn. */
		resp_clear(&x->r);
		srv_error(&x->r, 500, "system",
			  "the write could not be committed; nothing of it "
			  "was stored");
	}
	if (x->idem_on)
		srv_idem_finish(x->name, x->key, &x->r);
	atomic_store(&x->job_state, 2);
	MHD_resume_connection(x->conn);
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn,
				const char *url, const char *method,
				const char *version, const char *upload_data,
				size_t *upload_data_size, void **con_cls)
{
	struct ctx *x = *con_cls;

	(void)cls;
	(void)version;
	if (x == NULL) {
		x = calloc(1, sizeof *x);
		if (x == NULL)
			return MHD_NO;
		x->conn = conn;
		x->upfd = -1;
		x->r.fd = -1;
		x->rid = rid_base | (atomic_fetch_add(&next_rid, 1) & 0xffffff);
		clock_gettime(CLOCK_MONOTONIC, &x->t0);
		atomic_fetch_add(&inflight, 1);
		*con_cls = x;
		return first_call(x, url, method);
	}
	if (atomic_load(&x->job_state) == 2) {
		atomic_store(&x->job_state, 3);
		return queue(x); /* the writer answered it */
	}
	if (atomic_load(&x->job_state) == 1)
		return MHD_YES; /* still with the writer */
	if (x->queued) {
		/* answered early: the rest of the body is dropped */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		x->bytes_in += *upload_data_size;
		if (x->pp != NULL) {
			if (!x->too_big &&
			    MHD_post_process(x->pp, upload_data,
					     *upload_data_size) != MHD_YES &&
			    !x->too_big)
				x->bad_part = 1;
		} else if (!x->too_big) {
			append(x, upload_data, *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (x->too_big)
		return fail(x, 413, "too_large", "the body is too large");
	if (x->bad_encoding)
		return fail(x, 415, "unsupported_media_type",
			    "multipart parts are sent as they are (binary): "
			    "Content-Transfer-Encoding is not supported");
	if (x->bad_part)
		return fail(x, 400, "bad_request",
			    "multipart parts are record (JSON) and one "
			    "attachment");
	if (x->upfd >= 0 && close(x->upfd) != 0) {
		x->upfd = -1;
		return fail(x, 500, "system", "cannot keep the upload");
	}
	if (x->upfd >= 0)
		x->upfd = INT32_MAX; /* closed; the path stays until done */
	if ((x->route->flags & R_GROUP) && srv_writer_on()) {
		if (prepare(x) != 0)
			return queue(x);
		/* Suspended before it is queued: the writer may resume it at
		 * once. The answer is queued when MHD calls again. */
		x->job.run = job_run;
		x->job.done = job_done;
		atomic_store(&x->job_state, 1);
		MHD_suspend_connection(conn);
		if (srv_writer_submit(&x->job) != 0) {
			explicit_bzero(x->token, sizeof x->token);
			srv_error(&x->r, 503, "shutting_down",
				  "the server is shutting down");
			atomic_store(&x->job_state, 2);
			MHD_resume_connection(conn);
		}
		return MHD_YES;
	}
	run(x);
	return queue(x);
}

void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		       enum MHD_RequestTerminationCode toe)
{
	struct ctx *x = *con_cls;
	double secs;

	(void)cls;
	(void)conn;
	if (x == NULL)
		return;
	secs = elapsed(&x->t0);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !x->queued)
		x->status = 499; /* the client went away */
	srv_metrics_observe(x->route != NULL ? srv_route_index(x->route)
					     : (size_t)-1,
			    x->status, secs);
	srv_access_log(x->rid, x->q.method ? srv_method_name(x->q.method) : "-",
		       x->route != NULL ? x->route->tmpl : "-", x->status, secs,
		       x->bytes_in);
	if (x->pp != NULL)
		MHD_destroy_post_processor(x->pp);
	if (x->upfd >= 0 && x->upfd != INT32_MAX)
		close(x->upfd);
	if (x->uppath[0])
		unlink(x->uppath);
	if (x->updir[0])
		rmdir(x->updir);
	json_decref(x->q.json);
	if (x->body != NULL) {
		explicit_bzero(x->body, x->cap);
		free(x->body);
	}
	if (x->r.body != NULL) {
		if (x->r.rk_owned)
			rk_free_secret(x->r.body);
		else
			free_secret_str(x->r.body);
	}
	if (x->r.fd >= 0)
		close(x->r.fd);
	free(x);
	*con_cls = NULL;
	atomic_fetch_sub(&inflight, 1);
}
