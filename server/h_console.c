/*
 * h_console.c: what the web console and the self-service page need beyond
 * the other routes: the signed-in actor's role (whoami), the notice, the
 * retention dry run, and the self-service link, its exchange and the
 * subject's own calls (/v1/self/...). A self-service session acts on its
 * own subject only: http.c puts the session's subject into q->params[0]
 * and the /v1/self routes take no ID from the request.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "http.h"

/* Links issued per actor: at most LINKS_MAX in LINKS_WINDOW seconds, so a
 * stolen staff token cannot mint links in bulk (the library keeps its own
 * cap of live links per subject). In memory: a restart forgets. */
#define LINKS_MAX    20
#define LINKS_WINDOW 600
#define LINKS_ACTORS 64

static struct {
	char actor[72];
	time_t start;
	unsigned n;
} link_rate[LINKS_ACTORS];
static pthread_mutex_t link_mu = PTHREAD_MUTEX_INITIALIZER;

/* 0 when the actor may issue one more link now (counted), else the
 * seconds to wait. */
static unsigned link_take(const char *actor)
{
	time_t now = time(NULL);
	size_t i, slot = 0;
	unsigned wait = 0;

	pthread_mutex_lock(&link_mu);
	for (i = 0; i < LINKS_ACTORS; i++) {
		if (strcmp(link_rate[i].actor, actor) == 0) {
			slot = i;
			break;
		}
		/* else the oldest (or an empty) slot is reused */
		if (link_rate[i].start < link_rate[slot].start)
			slot = i;
	}
	if (strcmp(link_rate[slot].actor, actor) != 0 ||
	    now - link_rate[slot].start >= LINKS_WINDOW) {
		snprintf(link_rate[slot].actor, sizeof link_rate[slot].actor,
			 "%s", actor);
		link_rate[slot].start = now;
		link_rate[slot].n = 0;
	}
	if (link_rate[slot].n >= LINKS_MAX)
		wait = (unsigned)(LINKS_WINDOW - (now - link_rate[slot].start));
	else
		link_rate[slot].n++;
	pthread_mutex_unlock(&link_mu);
	return wait;
}

static void iso(int64_t t, char out[24])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

void h_whoami(srv_req *q, srv_resp *r)
{
	char *doc = NULL;
	rk_status st = rk_register_whoami(q->reg, &doc);

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 0);
}

/* What the person's own page needs of the policy: names and labels, never
 * what the session could do on the operator's handle (look-ups, audit,
 * rights, purposes). */
void h_self_policy(srv_req *q, srv_resp *r)
{
	static const char *const keep[] = {"scopes", "objections",   "fields",
					   "kinds",  "record_types", "bases",
					   "sources"};
	char *doc = NULL, *out;
	json_t *all, *page;
	size_t i;
	rk_status st = rk_register_whoami(q->reg, &doc);

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	all = json_loads(doc, 0, NULL);
	rk_free_secret(doc);
	page = json_object();
	for (i = 0;
	     all != NULL && page != NULL && i < sizeof keep / sizeof *keep;
	     i++) {
		json_t *v = json_object_get(all, keep[i]);
		if (v != NULL)
			json_object_set(page, keep[i], v);
	}
	out = page != NULL ? json_dumps(page, JSON_COMPACT) : NULL;
	json_decref(all);
	json_decref(page);
	if (out == NULL) {
		srv_error(r, 500, "system", "out of memory");
		return;
	}
	srv_reply_doc(r, 200, out, 0);
}

void h_notice(srv_req *q, srv_resp *r)
{
	const char *lang = h_arg(q, "lang");
	char *doc = NULL;
	rk_status st;

	if (lang != NULL && strcmp(lang, "fi") != 0 &&
	    strcmp(lang, "en") != 0) {
		srv_error(r, 400, "bad_request", "?lang= is fi or en");
		return;
	}
	st = rk_notice_render(q->reg, 0, lang, RK_NOTICE_TEXT, &doc);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 0);
	r->ctype = "text/plain; charset=utf-8";
}

void h_retention_dry_run(srv_req *q, srv_resp *r)
{
	char *doc = NULL;
	rk_status st = rk_retention_run(q->reg, NULL, RK_RETENTION_DRY_RUN,
					NULL, NULL, &doc);

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	/* counts and rule names only */
	srv_reply_doc(r, 200, doc, 0);
}

void h_selfservice_link(srv_req *q, srv_resp *r)
{
	char secret[RK_TOKEN_LEN + 1], when[24], path[64];
	int64_t expires = 0;
	unsigned wait;
	rk_status st;

	wait = link_take(q->actor != NULL ? q->actor : "");
	if (wait > 0) {
		r->retry_after = wait;
		srv_error(r, 429, "rate_limited",
			  "too many self-service links from this actor");
		return;
	}
	st = rk_selfservice_link(q->reg, q->params[0], q->purpose, 0, secret,
				 &expires);
	if (st == RK_EREFUSED &&
	    strstr(rk_errmsg(q->reg), "unused self-service links") != NULL) {
		r->retry_after = 60;
		srv_error(r, 429, "rate_limited", rk_errmsg(q->reg));
		return;
	}
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	iso(expires, when);
	/* The secret goes after '#': a browser never sends the fragment,
	 * so it reaches no access log or proxy. */
	snprintf(path, sizeof path, "/me#%s", secret);
	srv_reply_json(r, 201,
		       json_pack("{s:s,s:s,s:s}", "secret", secret, "path",
				 path, "expires", when));
	r->secret = 1;
	explicit_bzero(secret, sizeof secret);
	explicit_bzero(path, sizeof path);
}

void h_self_session(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *secret = srv_str(q->json, "secret", &bad);
	char session[RK_TOKEN_LEN + 1], when[24];
	int64_t expires = 0;
	rk_register *reg;
	rk_status st;

	if (bad || secret == NULL) {
		srv_error(r, 400, "bad_request", "secret (a string) is needed");
		return;
	}
	reg = srv_pool_get();
	if (reg == NULL) {
		srv_error(r, 503, "unavailable", "no register handle");
		return;
	}
	st = rk_selfservice_exchange(reg, secret, session, &expires);
	if (st == RK_EREFUSED) {
		/* guessing secrets counts like wrong tokens */
		srv_rl_fail(q->addr, SRV_RL_SELF);
		srv_error(r, 410, "link_expired",
			  "the link was used already or has expired");
	} else if (st != RK_OK) {
		q->reg = reg;
		srv_fail(q, r, st);
		q->reg = NULL;
	} else {
		iso(expires, when);
		srv_reply_json(r, 201,
			       json_pack("{s:s,s:s}", "token", session,
					 "expires", when));
		r->secret = 1;
	}
	explicit_bzero(session, sizeof session);
	srv_pool_put(reg);
}

void h_self_end(srv_req *q, srv_resp *r)
{
	rk_status st = rk_selfservice_end(q->reg, q->self_token);

	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 200);
}

void h_self_objection(srv_req *q, srv_resp *r)
{
	/* Compelling grounds are the controller's to record, not the
	 * subject's. */
	if (json_object_get(q->json, "compelling_grounds") != NULL) {
		srv_error(r, 400, "bad_request",
			  "compelling_grounds is not for the subject");
		return;
	}
	h_objection(q, r);
}

void h_self_cookie_reset(srv_req *q, srv_resp *r)
{
	int64_t unlinked = 0, deleted = 0;
	rk_status st;

	/* The subject's own page: the ledger entry says so. */
	st = rk_cookie_reset_via(q->reg, q->params[0], "web", &unlinked,
				 &deleted);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_json(r, 200,
		       json_pack("{s:I,s:I}", "unlinked", (json_int_t)unlinked,
				 "records_deleted", (json_int_t)deleted));
}

/* The number of the subject's open request of type, 0 when there is
 * none, -1 on a failure (message in the handle). */
static int64_t open_request(rk_register *reg, const char *id, const char *type)
{
	char *list = NULL;
	json_t *a, *v;
	size_t i;
	int64_t n = 0;

	if (rk_dsr_list(reg, 0, NULL, &list) != RK_OK)
		return -1;
	a = json_loads(list, 0, NULL);
	rk_free_secret(list);
	if (!json_is_array(a)) {
		json_decref(a);
		return -1;
	}
	json_array_foreach(a, i, v)
	{
		const char *s =
			json_string_value(json_object_get(v, "subject"));
		const char *t = json_string_value(json_object_get(v, "type"));
		if (s != NULL && t != NULL && strcmp(s, id) == 0 &&
		    strcmp(t, type) == 0) {
			n = json_integer_value(json_object_get(v, "number"));
			break;
		}
	}
	json_decref(a);
	return n;
}

void h_self_request(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *type = srv_str(q->json, "type", &bad);
	int64_t number = 0;
	char *doc = NULL;
	rk_status st;
	int open_before;

	/* The subject may ask for these from its page; an access report it
	 * can read there at once. */
	if (bad || type == NULL ||
	    (strcmp(type, "rectification") != 0 &&
	     strcmp(type, "erasure") != 0)) {
		srv_error(r, 400, "bad_request",
			  "type is rectification or erasure");
		return;
	}
	/* One open request of a type at a time: each opens a legal deadline,
	 * and asking again is answered with the one already open. */
	number = open_request(q->reg, q->params[0], type);
	open_before = number > 0;
	if (number < 0) {
		srv_fail(q, r, RK_ESYS);
		return;
	}
	st = number > 0 ? RK_OK
			: rk_dsr_open(q->reg, q->params[0], type, NULL,
				      "self-service", &number);
	if (st == RK_OK)
		st = rk_dsr_show(q->reg, number, &doc);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, open_before ? 200 : 201, doc, 1);
}
