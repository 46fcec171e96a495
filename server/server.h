/*
 * server.h: the HTTP API server of rekisteri (`rekisteri serve`). Internal to
 * server/; like the CLI it uses only the public API in rekisteri.h.
 *
 * Layers: http.c speaks libmicrohttpd and applies the limits before any
 * handler runs; route.c holds the route table and matches paths; h_*.c are
 * the handlers, which see a transport-free request (srv_req) and fill a
 * response (srv_resp); json.c parses bodies (with a depth limit) and builds
 * answers; limits.c keeps the failed-authentication rate limit and the
 * idempotency keys; log.c the access log and the metrics; openapi.c the
 * OpenAPI document made from the route table.
 */
#ifndef RK_SERVER_H
#define RK_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rekisteri.h"

/* ---- requests, responses, routes ------------------------------------------
 */

enum srv_method {
	SRV_GET = 1,
	SRV_POST = 2,
	SRV_PUT = 4,
	SRV_PATCH = 8,
	SRV_DELETE = 16
};

/* Route flags. */
#define R_AUTH	  0x01u /* a bearer token is needed */
#define R_PURPOSE 0x02u /* the Rekisteri-Purpose header is needed */
#define R_JSON	  0x04u /* the body is a JSON object */
#define R_IDEM	  0x08u /* Idempotency-Key is honoured */
#define R_IFMATCH 0x10u /* If-Match is honoured (ETag of the resource) */
#define R_READY	  0x20u /* answers 503 until the register is ready */
#define R_MULTI	  0x40u /* multipart/form-data accepted beside JSON */
/* a self-service session's token is needed; the subject is the session's
 * (q->params[0]), never the request's */
#define R_SELF 0x80u
/* failures count toward the per-address limit (the link exchange) */
#define R_LIMITED 0x100u

/* The Content-Security-Policy of every answer. */
#define SRV_CSP                                                                \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self'; connect-src 'self'; frame-ancestors 'none'; "         \
	"base-uri 'none'; form-action 'self'"
#define R_GROUP 0x200u /* a write that runs in the writer's group commit */
/* reads and decides nothing: its reads may run on the read replica
 * (serve --read-replica); never a route whose answer decides what a
 * withdrawal must stop, never a write, never audit verify */
#define R_REPLICA 0x400u

#define SRV_MAX_PARAMS 3
#define SRV_PARAM_MAX  72

typedef struct srv_req srv_req;
typedef struct srv_resp srv_resp;
typedef void (*srv_handler)(srv_req *q, srv_resp *r);

typedef struct srv_route {
	unsigned method;
	const char *tmpl; /* "/v1/subjects/{id}" */
	srv_handler fn;
	unsigned flags;
	unsigned ok; /* the status of success */
	const char *op_id;
	const char *summary;
	const char *req_schema;	 /* component schema of the body, or NULL */
	const char *resp_schema; /* component schema of the answer, or NULL */
	const char *query; /* query parameters, comma-separated, or NULL */
} srv_route;

extern const srv_route srv_routes[];
extern const size_t srv_nroutes;

struct srv_req {
	unsigned method;
	const srv_route *route;
	char params[SRV_MAX_PARAMS][SRV_PARAM_MAX];
	size_t nparams;
	json_t *json; /* the parsed body (an object), or NULL */
	const char *purpose;
	const char *if_match;
	const char *actor;   /* authenticated actor's name */
	const char *tmp_dir; /* where attachments pass through */
	/* the query string's values */
	const char *(*arg)(void *ud, const char *name);
	void *arg_ud;
	/* an uploaded attachment (multipart): a file path and media type */
	const char *upload_path;
	const char *upload_type;
	rk_register *reg;
	/* a self-service session's token (R_SELF routes), and the client's
	 * address (for the failure limit) */
	const char *self_token;
	const char *addr;
	/* where backups and checkpoints are kept (--backup-dir), or NULL */
	const char *backup_dir;
};

struct srv_resp {
	unsigned status;
	char *body; /* owned; freed with rk_free_secret when secret */
	size_t len;
	int secret;   /* body holds personal data: wiped when freed */
	int rk_owned; /* body came from the library (rk_free/rk_free_secret) */
	const char *ctype;
	char etag[48];
	char location[160];
	unsigned retry_after;
	int fd; /* a file to stream (attachment), or -1 */
	uint64_t fd_size;
	const char *disposition; /* Content-Disposition, or NULL */
	int page; /* a static file of the web console (cacheable) */
	/* the library's status that srv_fail answered (RK_OK: none), for
	 * the read replica's retry on the primary */
	rk_status rk_st;
};

/* Matches method and path against the table. Returns the route, or NULL
 * with *status 404 (no such path) or 405 (the path exists, not the method;
 * *allow gets the methods that do). Path parameters land in q->params. */
const srv_route *srv_route_match(unsigned method, const char *path, srv_req *q,
				 unsigned *status, unsigned *allow);
unsigned srv_method_of(const char *name);
const char *srv_method_name(unsigned m);
size_t srv_route_index(const srv_route *rt);

/* ---- JSON -----------------------------------------------------------------
 */

#define SRV_JSON_MAX_DEPTH 32

/* Parses a body: a JSON object of at most max_depth nesting, valid UTF-8,
 * no duplicate keys. NULL on failure, with *why a static message. */
json_t *srv_json_parse(const char *buf, size_t len, size_t max_depth,
		       const char **why);
/* Nesting depth of a JSON text (strings skipped); SIZE_MAX if over cap. */
size_t srv_json_depth(const char *buf, size_t len, size_t cap);

/* Answers: r gets status and a compact JSON body of v (v is consumed). */
void srv_reply_json(srv_resp *r, unsigned status, json_t *v);
/* The library's own JSON document (owned, secret or not), as is. */
void srv_reply_doc(srv_resp *r, unsigned status, char *doc, int secret);
/* {"error": {"code": code, "message": msg}}; msg holds no personal data. */
void srv_error(srv_resp *r, unsigned status, const char *code, const char *msg);
/* The error of a failed library call on q->reg: status from st. */
void srv_fail(srv_req *q, srv_resp *r, rk_status st);
unsigned srv_status_of(rk_status st);

/* Getters of body members: NULL / default when absent; *bad set when the
 * member has the wrong type. */
const char *srv_str(const json_t *o, const char *key, int *bad);
int srv_bool(const json_t *o, const char *key, int dflt, int *bad);

/* ---- limits, idempotency --------------------------------------------------
 */

/* Failed authentications per client address, staff tokens and
 * self-service secrets apart: after max in window seconds the address is
 * refused that kind of authentication for window seconds. Returns 0, or
 * the seconds to wait (429). */
void srv_rl_init(unsigned max, unsigned window);
enum srv_rl_bucket { SRV_RL_STAFF, SRV_RL_SELF };
unsigned srv_rl_blocked(const char *addr, enum srv_rl_bucket b);
void srv_rl_fail(const char *addr, enum srv_rl_bucket b);

/* Idempotency keys: per actor and key, the request's digest and the answer.
 * begin: 0 new (go on, then srv_idem_finish or srv_idem_abort), 1 a stored
 * answer copied into r, 2 in progress (409), 3 the same key with another
 * request (409). */
void srv_idem_init(size_t cap, unsigned ttl_seconds);
int srv_idem_begin(const char *actor, const char *key, const char *route,
		   const unsigned char digest[32], srv_resp *r);
void srv_idem_finish(const char *actor, const char *key, const srv_resp *r);
void srv_idem_abort(const char *actor, const char *key);
void srv_idem_free(void);
size_t srv_idem_count(void);

/* ---- log, metrics ---------------------------------------------------------
 */

void srv_metrics_init(void);
void srv_metrics_observe(size_t route, unsigned status, double seconds);
/* The Prometheus text; owned (free). */
char *srv_metrics_text(size_t handles, size_t handles_busy,
		       unsigned audit_batch);
/* One JSON line on stderr. route: the template or "-". */
void srv_access_log(uint64_t rid, const char *method, const char *route,
		    unsigned status, double seconds, uint64_t bytes_in);
void srv_log(const char *level, const char *msg);

/* ---- the read replica (serve --read-replica) ----------------------------
 * Counted in /metrics once enabled: read transactions the standby served,
 * requests of R_REPLICA routes that read only on the primary, and those run
 * again on the primary after a failure on the standby. */
enum srv_replica_event {
	SRV_REPLICA_READS,
	SRV_REPLICA_PRIMARY,
	SRV_REPLICA_RETRY,
	SRV_REPLICA_NEVENTS
};
void srv_replica_enable(void);
int srv_replica_enabled(void);
void srv_replica_count(enum srv_replica_event e, uint64_t n);

/* ---- OpenAPI --------------------------------------------------------------
 */

/* The OpenAPI 3.1 document of the route table; owned (free). */
char *srv_openapi(void);

/* ---- server-wide state the handlers read ----------------------------------
 */

/* A random key of this process that ETags are keyed with. */
extern unsigned char srv_etag_key[32];
/* Writes the ETag ("\"hex\"") of a document into out. */
void srv_etag(const char *doc, size_t len, char out[48]);
/* An If-Match field against an ETag (RFC 9110: "*" or a list of entity
 * tags, compared strongly, so a weak tag never matches): 1 when it
 * matches, 0 when not, -1 when the field is malformed. */
int srv_if_match(const char *field, const char *tag);

/* ---- static files of the web console (static.c) --------------------------
 */

/* Opens the directory the pages are served from; -1 when it cannot. */
int srv_static_init(const char *dir);
void srv_static_close(void);
/* Whether url is in the static space (/console, /me, /assets/...). */
int srv_static_is(const char *url);
/* The file a static URL names inside the web directory (and its media
 * type), or NULL when it names none: a plain name, never a path. */
const char *srv_static_name(const char *url, const char **ctype);
/* Answers a static URL: the file (streamed) or 404. */
void srv_static_serve(const char *url, srv_resp *r);

#endif
