/*
 * h_rights.c: the data subject's rights: the access report, erasure with its
 * receipt, restriction, and the register of requests (dsr).
 */
#include <string.h>

#include "handlers.h"

void h_export(srv_req *q, srv_resp *r)
{
	const char *format = h_arg(q, "format");
	const char *lang = h_arg(q, "lang");
	char *doc = NULL;
	int html;
	rk_status st;

	if (format == NULL || strcmp(format, "json") == 0) {
		html = 0;
	} else if (strcmp(format, "html") == 0) {
		html = 1;
	} else {
		srv_error(r, 400, "bad_request", "?format= is json or html");
		return;
	}
	st = html ? rk_export_html(q->reg, q->params[0], lang, &doc)
		  : rk_export_json(q->reg, q->params[0], lang, &doc);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 1);
	if (html)
		r->ctype = "text/html; charset=utf-8";
}

void h_erase(srv_req *q, srv_resp *r)
{
	int bad = 0;
	int dry = srv_bool(q->json, "dry_run", 0, &bad);
	char *receipt = NULL;
	rk_status st;

	if (bad) {
		h_bad_member(r, "dry_run");
		return;
	}
	st = rk_erase(q->reg, q->params[0], dry ? RK_ERASE_DRY_RUN : 0u,
		      &receipt);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	/* The receipt holds no value, only categories and counts. */
	srv_reply_doc(r, 200, receipt, 0);
}

static void restriction(srv_req *q, srv_resp *r, int on)
{
	int bad = 0;
	const char *reason = srv_str(q->json, "reason", &bad);
	rk_status st;

	if (bad || reason == NULL) {
		srv_error(r, 400, "bad_request", "reason (a string) is needed");
		return;
	}
	st = on ? rk_restrict(q->reg, q->params[0], reason)
		: rk_unrestrict(q->reg, q->params[0], reason);
	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 200);
}

void h_restrict(srv_req *q, srv_resp *r)
{
	restriction(q, r, 1);
}

void h_unrestrict(srv_req *q, srv_resp *r)
{
	restriction(q, r, 0);
}

void h_restriction(srv_req *q, srv_resp *r)
{
	int restricted = 0;
	rk_status st = rk_restricted(q->reg, q->params[0], &restricted);

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_json(r, 200, json_pack("{s:b}", "restricted", restricted));
}

void h_dsr_open(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *subject = srv_str(q->json, "subject", &bad);
	const char *type = srv_str(q->json, "type", &bad);
	const char *received = srv_str(q->json, "received", &bad);
	const char *verified = srv_str(q->json, "verified_by", &bad);
	int64_t number = 0;
	rk_status st;

	if (bad || subject == NULL || type == NULL) {
		srv_error(r, 400, "bad_request",
			  "subject and type (strings) are needed");
		return;
	}
	st = rk_dsr_open(q->reg, subject, type, received, verified, &number);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	snprintf(r->location, sizeof r->location, "/v1/dsr/%lld",
		 (long long)number);
	srv_reply_json(r, 201,
		       json_pack("{s:I}", "number", (json_int_t)number));
}

void h_dsr_list(srv_req *q, srv_resp *r)
{
	const char *all = h_arg(q, "all");
	const char *overdue = h_arg(q, "overdue");
	unsigned flags = 0;
	char *doc = NULL;
	rk_status st;

	if (all != NULL && strcmp(all, "1") == 0)
		flags |= RK_DSR_ALL;
	if (overdue != NULL && strcmp(overdue, "1") == 0)
		flags |= RK_DSR_OVERDUE;
	st = rk_dsr_list(q->reg, flags, h_arg(q, "due_before"), &doc);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	h_page_array(q, r, doc, "number", 1);
}

void h_dsr_show(srv_req *q, srv_resp *r)
{
	int64_t n = h_number(q, r, 0);
	char *doc = NULL;
	rk_status st;

	if (n < 0)
		return;
	st = rk_dsr_show(q->reg, n, &doc);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 1);
}

void h_dsr_extend(srv_req *q, srv_resp *r)
{
	int64_t n = h_number(q, r, 0);
	int bad = 0;
	const char *reason = srv_str(q->json, "reason", &bad);
	char *doc = NULL;
	rk_status st;

	if (n < 0)
		return;
	if (bad || reason == NULL) {
		srv_error(r, 400, "bad_request", "reason (a string) is needed");
		return;
	}
	st = rk_dsr_extend(q->reg, n, reason, &doc);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 1);
}

void h_dsr_close(srv_req *q, srv_resp *r)
{
	int64_t n = h_number(q, r, 0);
	int bad = 0;
	const char *outcome = srv_str(q->json, "outcome", &bad);
	const char *reason = srv_str(q->json, "reason", &bad);
	char *doc = NULL;
	rk_status st;

	if (n < 0)
		return;
	if (bad || outcome == NULL) {
		srv_error(r, 400, "bad_request",
			  "outcome (a string) is needed; reason is a string");
		return;
	}
	st = rk_dsr_close(q->reg, n, outcome, reason, &doc);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 1);
}
