/*
 * h_records.c: relationship records: add (JSON, or multipart with an
 * attachment), list in pages, rectify, delete, and the attachment streamed
 * out.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"

/* The record's fields as the library takes them (a JSON object text);
 * owned, wipe with rk_free_secret... it is plain malloc: wiped by caller. */
static char *fields_text(srv_req *q, srv_resp *r)
{
	json_t *f = json_object_get(q->json, "fields");
	char *s;

	if (!json_is_object(f)) {
		srv_error(r, 400, "bad_request",
			  "fields (an object) is needed");
		return NULL;
	}
	s = json_dumps(f, JSON_COMPACT);
	if (s == NULL)
		srv_error(r, 500, "system", "out of memory");
	return s;
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void h_record_add(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *type = srv_str(q->json, "type", &bad);
	char *fields;
	int64_t rid = 0;
	rk_status st;

	if (bad || type == NULL) {
		srv_error(r, 400, "bad_request", "type (a string) is needed");
		return;
	}
	fields = fields_text(q, r);
	if (fields == NULL)
		return;
	st = rk_record_add(q->reg, q->params[0], type, fields, q->upload_path,
			   q->upload_path != NULL ? q->upload_type : NULL,
			   q->purpose, &rid);
	wipe_free(fields);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	snprintf(r->location, sizeof r->location, "/v1/subjects/%s/records",
		 q->params[0]);
	srv_reply_json(r, 201, json_pack("{s:I}", "record", (json_int_t)rid));
}

void h_cookie_record_add(srv_req *q, srv_resp *r)
{
	int bad = 0;
	const char *type = srv_str(q->json, "type", &bad);
	const char *cookie = srv_str(q->json, "cookie", &bad);
	char *fields;
	int64_t rid = 0;
	rk_status st;

	if (bad || type == NULL || cookie == NULL) {
		srv_error(r, 400, "bad_request",
			  "cookie and type (strings) are needed");
		return;
	}
	fields = fields_text(q, r);
	if (fields == NULL)
		return;
	st = rk_record_add_by_cookie(q->reg, cookie, type, fields, q->purpose,
				     &rid);
	wipe_free(fields);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_json(r, 201, json_pack("{s:I}", "record", (json_int_t)rid));
}

void h_record_list(srv_req *q, srv_resp *r)
{
	char *doc = NULL;
	rk_status st = rk_record_list(q->reg, q->params[0], h_arg(q, "type"),
				      q->purpose, &doc);

	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	h_page_array(q, r, doc, "id", 1);
}

void h_record_update(srv_req *q, srv_resp *r)
{
	int64_t rid = h_number(q, r, 1);
	char *fields;
	rk_status st;

	if (rid < 0)
		return;
	fields = fields_text(q, r);
	if (fields == NULL)
		return;
	st = rk_record_update(q->reg, q->params[0], rid, fields, q->purpose);
	wipe_free(fields);
	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 200);
}

void h_record_delete(srv_req *q, srv_resp *r)
{
	int64_t rid = h_number(q, r, 1);
	rk_status st;

	if (rid < 0)
		return;
	st = rk_record_delete(q->reg, q->params[0], rid, q->purpose);
	if (st != RK_OK)
		srv_fail(q, r, st);
	else
		h_done(r, 200);
}

void h_record_attachment(srv_req *q, srv_resp *r)
{
	char dir[4096], path[4200];
	int64_t rid = h_number(q, r, 1);
	struct stat sb;
	rk_status st;
	int fd = -1, n;

	if (rid < 0)
		return;
	/* The library writes the plaintext into a new file; it lives in a
	 * private directory only until it is opened, and is streamed from
	 * the open descriptor. */
	n = snprintf(dir, sizeof dir, "%s/rk-att-XXXXXX", q->tmp_dir);
	if (n < 0 || (size_t)n >= sizeof dir || mkdtemp(dir) == NULL) {
		srv_error(r, 500, "system",
			  "cannot make a temporary directory");
		return;
	}
	snprintf(path, sizeof path, "%s/a", dir);
	st = rk_record_attachment(q->reg, q->params[0], rid, path, q->purpose);
	if (st == RK_OK)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	rmdir(dir);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		srv_error(r, 500, "system", "cannot read the attachment");
		return;
	}
	r->status = 200;
	r->fd = fd;
	r->fd_size = (uint64_t)sb.st_size;
	r->ctype = "application/octet-stream";
	r->disposition = "attachment";
}
