/*
 * h_subjects.c: subjects: add, list, read (with its ETag), update (If-Match),
 * end of the relationship, change of kind, and look-up by a lookup field.
 */
#include <string.h>

#include "handlers.h"

void h_subject_add(srv_req *q, srv_resp *r)
{
	char id[RK_ID_LEN + 1];
	int bad = 0;
	const char *kind = srv_str(q->json, "kind", &bad);
	const char *source = srv_str(q->json, "source", &bad);
	rk_fields *f;
	rk_status st;

	if (bad || kind == NULL) {
		srv_error(r, 400, "bad_request",
			  "kind (a string) and fields (an object) are needed");
		return;
	}
	f = h_fields(json_object_get(q->json, "fields"), r);
	if (f == NULL)
		return;
	st = rk_subject_add(q->reg, kind, f, source, q->purpose, id);
	rk_fields_free(f);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	snprintf(r->location, sizeof r->location, "/v1/subjects/%s", id);
	srv_reply_json(r, 201, json_pack("{s:s}", "id", id));
}

void h_subject_list(srv_req *q, srv_resp *r)
{
	char after[SRV_PARAM_MAX], cur[160];
	const char *kind = h_arg(q, "kind");
	size_t limit = h_limit(q, r), n, i;
	rk_list *l = NULL;
	json_t *items, *out;
	rk_status st;

	if (limit == 0 || h_cursor_read(q, r, after, sizeof after) != 0)
		return;
	st = rk_subject_list(q->reg, kind, after[0] ? after : NULL, limit + 1,
			     &l);
	if (st != RK_OK && st != RK_ENOTFOUND) {
		srv_fail(q, r, st);
		return;
	}
	items = json_array();
	n = l != NULL ? rk_list_count(l) : 0;
	for (i = 0; i < n && i < limit; i++) {
		const char *end = rk_list_end(l, i);
		json_array_append_new(
			items,
			json_pack("{s:s,s:s,s:s,s:s?}", "id", rk_list_id(l, i),
				  "kind", rk_list_kind(l, i), "start",
				  rk_list_start(l, i), "end", end));
	}
	out = json_pack("{s:o}", "items", items);
	if (n > limit) {
		h_cursor_make(rk_list_id(l, limit - 1), cur, sizeof cur);
		json_object_set_new(out, "next_cursor", json_string(cur));
	} else {
		json_object_set_new(out, "next_cursor", json_null());
	}
	rk_list_free(l);
	srv_reply_json(r, 200, out);
}

/* The subject as the purpose sees it, as JSON (owned, secret); NULL after
 * an error answer. */
static char *subject_doc(srv_req *q, srv_resp *r)
{
	rk_subject *s = NULL;
	rk_status st = rk_subject_get(q->reg, q->params[0], q->purpose, &s);
	char *doc;

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return NULL;
	}
	doc = srv_subject_doc(s);
	rk_subject_free(s);
	if (doc == NULL)
		srv_error(r, 500, "system", "cannot build the answer");
	return doc;
}

void h_subject_get(srv_req *q, srv_resp *r)
{
	char *doc = subject_doc(q, r);

	if (doc == NULL)
		return;
	srv_etag(doc, strlen(doc), r->etag);
	srv_reply_doc(r, 200, doc, 1);
}

void h_subject_patch(srv_req *q, srv_resp *r)
{
	int bad = 0, in_txn = 0;
	const char *source = srv_str(q->json, "source", &bad);
	rk_fields *f = NULL;
	rk_status st;

	if (bad) {
		h_bad_member(r, "source");
		return;
	}
	f = h_fields(json_object_get(q->json, "fields"), r);
	if (f == NULL)
		return;
	{
		/* A restricted subject is refused with or without If-Match:
		 * the read that refuses it is the library's, audited. */
		int restricted = 0;
		st = rk_restricted(q->reg, q->params[0], &restricted);
		if (st != RK_OK) {
			srv_fail(q, r, st);
			goto out;
		}
		if (restricted) {
			char *doc = subject_doc(q, r);
			if (doc != NULL) {
				rk_free_secret(doc);
				srv_error(r, 403, "refused",
					  "the subject's processing is "
					  "restricted");
			}
			goto out;
		}
	}
	if (q->if_match != NULL && srv_if_match(q->if_match, "") < 0) {
		srv_error(r, 400, "bad_request",
			  "If-Match is neither * nor a list of entity tags");
		goto out;
	}
	if (q->if_match != NULL) {
		/* Read, compare and write in one write transaction, so that
		 * no other clerk's update can come in between. */
		char tag[48];
		char *doc;
		st = rk_register_begin(q->reg);
		if (st != RK_OK) {
			srv_fail(q, r, st);
			goto out;
		}
		in_txn = 1;
		doc = subject_doc(q, r);
		if (doc == NULL)
			goto out;
		srv_etag(doc, strlen(doc), tag);
		rk_free_secret(doc);
		if (srv_if_match(q->if_match, tag) != 1) {
			srv_error(r, 412, "precondition_failed",
				  "the subject changed since it was read "
				  "(If-Match does not match its ETag)");
			goto out;
		}
	}
	st = rk_subject_update(q->reg, q->params[0], f, source, q->purpose);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		goto out;
	}
	if (in_txn) {
		in_txn = 0;
		st = rk_register_commit(q->reg);
		if (st != RK_OK) {
			srv_fail(q, r, st);
			goto out;
		}
	}
	r->status = 204;
out:
	if (in_txn)
		rk_register_rollback(q->reg);
	rk_fields_free(f);
}

void h_subject_end(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *date = srv_str(q->json, "date", &bad);
	rk_status st;

	if (bad) {
		h_bad_member(r, "date");
		return;
	}
	st = rk_subject_end(q->reg, q->params[0], date, q->purpose);
	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 200);
}

void h_subject_end_undo(srv_req *q, srv_resp *r)
{
	rk_status st = rk_subject_end_undo(q->reg, q->params[0], q->purpose);

	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 200);
}

void h_subject_convert(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *kind = srv_str(q->json, "kind", &bad);
	int drop = srv_bool(q->json, "drop_disallowed", 0, &bad);
	rk_convert_result res;
	rk_status st;

	if (bad || kind == NULL) {
		srv_error(r, 400, "bad_request",
			  "kind (a string) is needed; drop_disallowed is a "
			  "boolean");
		return;
	}
	memset(&res, 0, sizeof res);
	st = rk_subject_convert(q->reg, q->params[0], kind,
				drop ? RK_CONVERT_DROP_DISALLOWED : 0u,
				q->purpose, &res);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_json(r, 200,
		       json_pack("{s:b,s:I,s:s}", "customer_number_issued",
				 res.customer_number_issued, "expiry_changed",
				 (json_int_t)res.expiry_changed, "dropped",
				 res.dropped));
}

void h_lookup(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *by = srv_str(q->json, "by", &bad);
	const char *value = srv_str(q->json, "value", &bad);
	rk_list *l = NULL;
	json_t *ids;
	size_t i, n;
	rk_status st;

	if (bad || by == NULL || value == NULL) {
		srv_error(r, 400, "bad_request",
			  "by and value (strings) are needed");
		return;
	}
	st = rk_subject_find(q->reg, by, value, q->purpose, &l);
	if (st != RK_OK && st != RK_ENOTFOUND) {
		srv_fail(q, r, st);
		return;
	}
	ids = json_array();
	n = l != NULL ? rk_list_count(l) : 0;
	for (i = 0; i < n; i++)
		json_array_append_new(ids, json_string(rk_list_id(l, i)));
	rk_list_free(l);
	srv_reply_json(r, 200, json_pack("{s:o}", "ids", ids));
}
