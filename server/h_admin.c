/*
 * h_admin.c: health and readiness, metrics, the OpenAPI document, actors,
 * and the audit trail (verification and the log in pages).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "http.h"

void h_healthz(srv_req *q, srv_resp *r)
{
	(void)q;
	srv_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void h_readyz(srv_req *q, srv_resp *r)
{
	(void)q;
	if (srv_is_draining())
		srv_reply_json(r, 503,
			       json_pack("{s:s}", "status", "shutting down"));
	else if (!srv_is_ready())
		srv_reply_json(r, 503,
			       json_pack("{s:s}", "status", "starting"));
	else
		srv_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

void h_metrics(srv_req *q, srv_resp *r)
{
	size_t total = 0, busy = 0;
	char *s;

	(void)q;
	srv_pool_stats(&total, &busy);
	s = srv_metrics_text(total, busy, srv_audit_batch());
	if (s != NULL) {
		/* the writer stage of group commit */
		uint64_t groups = 0, writes = 0, failed = 0;
		size_t depth = 0, n = strlen(s);
		char extra[640];
		char *ns;
		int k;
		srv_writer_stats(&groups, &writes, &failed, &depth);
		k = snprintf(extra, sizeof extra,
			     "# HELP rekisteri_group_commits_total Group "
			     "commits of the writer.\n"
			     "# TYPE rekisteri_group_commits_total counter\n"
			     "rekisteri_group_commits_total %llu\n"
			     "# HELP rekisteri_group_writes_total Write "
			     "requests run in groups.\n"
			     "# TYPE rekisteri_group_writes_total counter\n"
			     "rekisteri_group_writes_total %llu\n"
			     "# HELP rekisteri_group_failed_total Groups that "
			     "did not commit.\n"
			     "# TYPE rekisteri_group_failed_total counter\n"
			     "rekisteri_group_failed_total %llu\n"
			     "# HELP rekisteri_group_queue Writes waiting for "
			     "the writer.\n"
			     "# TYPE rekisteri_group_queue gauge\n"
			     "rekisteri_group_queue %zu\n",
			     (unsigned long long)groups,
			     (unsigned long long)writes,
			     (unsigned long long)failed, depth);
		ns = k > 0 && (size_t)k < sizeof extra
			     ? realloc(s, n + (size_t)k + 1)
			     : NULL;
		if (ns != NULL) {
			memcpy(ns + n, extra, (size_t)k + 1);
			s = ns;
		}
	}
	if (s == NULL) {
		srv_error(r, 500, "system", "out of memory");
		return;
	}
	r->status = 200;
	r->body = s;
	r->len = strlen(s);
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

void h_openapi(srv_req *q, srv_resp *r)
{
	char *s = srv_openapi();

	(void)q;
	if (s == NULL) {
		srv_error(r, 500, "system", "cannot build the document");
		return;
	}
	r->status = 200;
	r->body = s;
	r->len = strlen(s);
	r->ctype = "application/json";
}

void h_actor_list(srv_req *q, srv_resp *r)
{
	char *doc = NULL;
	rk_status st = rk_actor_list(q->reg, &doc);

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 0);
}

void h_actor_add(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *name = srv_str(q->json, "name", &bad);
	const char *role = srv_str(q->json, "role", &bad);
	char token[RK_TOKEN_LEN + 1];
	rk_status st;
	json_t *v;
	char *s;

	if (bad || name == NULL || role == NULL) {
		srv_error(r, 400, "bad_request",
			  "name and role (strings) are needed");
		return;
	}
	st = rk_actor_add(q->reg, name, role, token);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	v = json_pack("{s:s,s:s,s:s}", "name", name, "role", role, "token",
		      token);
	explicit_bzero(token, sizeof token);
	s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (s == NULL) {
		srv_error(r, 500, "system", "out of memory");
		return;
	}
	/* The token is a secret: its answer is wiped when sent. */
	r->status = 201;
	r->body = s;
	r->len = strlen(s);
	r->secret = 1;
	r->ctype = "application/json";
}

void h_actor_revoke(srv_req *q, srv_resp *r)
{
	rk_status st = rk_actor_revoke(q->reg, q->params[0]);

	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 200);
}

void h_audit_verify(srv_req *q, srv_resp *r)
{
	rk_audit_report a, i;
	rk_status sa, si;

	memset(&a, 0, sizeof a);
	memset(&i, 0, sizeof i);
	sa = rk_audit_verify(q->reg, &a);
	if (sa != RK_OK && sa != RK_EINTEGRITY) {
		srv_fail(q, r, sa);
		return;
	}
	si = rk_integrity_verify(q->reg, &i);
	if (si != RK_OK && si != RK_EINTEGRITY) {
		srv_fail(q, r, si);
		return;
	}
	srv_reply_json(r, 200,
		       json_pack("{s:b,s:b,s:I,s:I,s:I,s:s}", "intact",
				 sa == RK_OK, "rows_intact", si == RK_OK,
				 "entries", (json_int_t)a.entries, "subjects",
				 (json_int_t)i.entries, "first_bad",
				 (json_int_t)a.first_bad, "reason",
				 sa != RK_OK   ? a.reason
				 : si != RK_OK ? i.reason
					       : "intact"));
}

struct log_walk {
	json_t *items;
	int64_t after;
	size_t limit, n;
	int more;
	int64_t last;
};

static json_t *jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static int log_entry(void *ud, const rk_audit_entry *e)
{
	struct log_walk *w = ud;
	char at[80];
	time_t t;
	struct tm tm;

	if (e->seq <= w->after)
		return 0;
	if (w->n == w->limit) {
		w->more = 1;
		return 1;
	}
	t = (time_t)(e->at_us / 1000000);
	gmtime_r(&t, &tm);
	snprintf(at, sizeof at, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long long)(e->at_us % 1000000));
	json_array_append_new(
		w->items,
		json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "seq",
			  (json_int_t)e->seq, "at", at, "actor", jstr(e->actor),
			  "action", jstr(e->action), "subject",
			  jstr(e->subject), "fields", jstr(e->fields),
			  "purpose", jstr(e->purpose), "outcome",
			  jstr(e->outcome)));
	w->last = e->seq;
	w->n++;
	return 0;
}

void h_audit_log(srv_req *q, srv_resp *r)
{
	struct log_walk w;
	char pos[32], cur[96];
	char *end = NULL;
	rk_status st;
	json_t *out;

	memset(&w, 0, sizeof w);
	w.limit = h_limit(q, r);
	if (w.limit == 0 || h_cursor_read(q, r, pos, sizeof pos) != 0)
		return;
	if (pos[0] != '\0') {
		long long v = strtoll(pos, &end, 10);
		if (*end != '\0' || v < 0) {
			srv_error(r, 400, "bad_request",
				  "the cursor is not one of ours");
			return;
		}
		w.after = v;
	}
	w.items = json_array();
	st = rk_audit_log(q->reg, h_arg(q, "subject"), log_entry, &w);
	if (st != RK_OK) {
		json_decref(w.items);
		srv_fail(q, r, st);
		return;
	}
	out = json_pack("{s:o}", "items", w.items);
	if (w.more) {
		snprintf(pos, sizeof pos, "%lld", (long long)w.last);
		h_cursor_make(pos, cur, sizeof cur);
		json_object_set_new(out, "next_cursor", json_string(cur));
	} else {
		json_object_set_new(out, "next_cursor", json_null());
	}
	srv_reply_json(r, 200, out);
}
