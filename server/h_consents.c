/*
 * h_consents.c: the consent ledger, objections (the direct-marketing
 * prohibition, purpose objections, compelling grounds), the marketing
 * decision and cookie identifiers.
 */
#include <string.h>

#include "handlers.h"

void h_consent_add(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *scope = srv_str(q->json, "scope", &bad);
	const char *channel = srv_str(q->json, "channel", &bad);
	const char *evidence = srv_str(q->json, "evidence", &bad);
	int given = srv_bool(q->json, "given", -1, &bad);
	rk_status st;

	if (bad || scope == NULL || given < 0) {
		srv_error(r, 400, "bad_request",
			  "scope (a string) and given (a boolean) are needed; "
			  "channel and evidence are strings");
		return;
	}
	/* The ledger shows how a change came; the library's own default
	 * names the command line. */
	if (channel == NULL)
		channel = "api";
	st = rk_consent_set(q->reg, q->params[0], scope, given, channel,
			    evidence);
	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 201);
}

void h_consent_history(srv_req *q, srv_resp *r)
{
	char *doc = NULL;
	rk_status st = rk_consent_history(q->reg, q->params[0], &doc);

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_doc(r, 200, doc, 1);
}

void h_objection(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *objection = srv_str(q->json, "objection", &bad);
	const char *purpose = srv_str(q->json, "purpose", &bad);
	const char *channel = srv_str(q->json, "channel", &bad);
	const char *evidence = srv_str(q->json, "evidence", &bad);
	const char *grounds = srv_str(q->json, "compelling_grounds", &bad);
	int lift = srv_bool(q->json, "lift", 0, &bad);
	rk_status st;

	if (bad || (objection == NULL) == (purpose == NULL) ||
	    (grounds != NULL && (purpose == NULL || lift))) {
		srv_error(r, 400, "bad_request",
			  "either objection or purpose (a string) is needed; "
			  "lift is a boolean; compelling_grounds goes with "
			  "purpose");
		return;
	}
	if (channel == NULL)
		channel = "api";
	if (objection != NULL)
		st = lift ? rk_object_lift(q->reg, q->params[0], objection,
					   channel, evidence)
			  : rk_object(q->reg, q->params[0], objection, channel,
				      evidence);
	else if (grounds != NULL)
		st = rk_object_grounds(q->reg, q->params[0], purpose, grounds);
	else
		st = rk_object_purpose(q->reg, q->params[0], purpose, lift,
				       channel, evidence);
	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 201);
}

void h_may_contact(srv_req *q, srv_resp *r)
{
	const char *channel = h_arg(q, "channel");
	const char *whom = h_arg(q, "for");
	rk_decision d;
	rk_status st;
	int third;

	if (channel == NULL) {
		srv_error(r, 400, "bad_request", "?channel= is needed");
		return;
	}
	if (whom == NULL || strcmp(whom, "own") == 0) {
		third = 0;
	} else if (strcmp(whom, "third-party") == 0) {
		third = 1;
	} else {
		srv_error(r, 400, "bad_request", "?for= is own or third-party");
		return;
	}
	memset(&d, 0, sizeof d);
	st = rk_may_contact(q->reg, q->params[0], channel, third, &d);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_json(
		r, 200,
		json_pack("{s:b,s:s}", "allowed", d.allowed, "rule", d.rule));
}

void h_cookie_link(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *cookie = srv_str(q->json, "cookie", &bad);
	rk_status st;

	if (bad || cookie == NULL) {
		srv_error(r, 400, "bad_request", "cookie (a string) is needed");
		return;
	}
	st = rk_cookie_link(q->reg, q->params[0], cookie);
	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 201);
}

void h_cookie_reset(srv_req *q, srv_resp *r)
{
	const char *profile = h_arg(q, "profile");
	int64_t unlinked = 0, deleted = 0;
	rk_status st;

	if (profile != NULL && strcmp(profile, "1") != 0 &&
	    strcmp(profile, "0") != 0) {
		srv_error(r, 400, "bad_request", "?profile= is 0 or 1");
		return;
	}
	/* The ledger entry names the channel, as a consent's does. A reset
	 * always resets the profile: ?profile= is taken for the clients
	 * written when it chose, and the count is always given. */
	st = rk_cookie_reset_via(q->reg, q->params[0], "api", &unlinked,
				 &deleted);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_json(r, 200,
		       json_pack("{s:I,s:I}", "unlinked", (json_int_t)unlinked,
				 "records_deleted", (json_int_t)deleted));
}
