/*
 * handlers.h: the handlers of the route table (h_*.c) and what they share.
 */
#ifndef RK_SERVER_HANDLERS_H
#define RK_SERVER_HANDLERS_H

#include "server.h"

/* health, metrics, OpenAPI, actors, audit (h_admin.c) */
void h_healthz(srv_req *q, srv_resp *r);
void h_readyz(srv_req *q, srv_resp *r);
void h_metrics(srv_req *q, srv_resp *r);
void h_openapi(srv_req *q, srv_resp *r);
void h_actor_list(srv_req *q, srv_resp *r);
void h_actor_add(srv_req *q, srv_resp *r);
void h_actor_revoke(srv_req *q, srv_resp *r);
void h_audit_verify(srv_req *q, srv_resp *r);
void h_audit_log(srv_req *q, srv_resp *r);

/* subjects (h_subjects.c) */
void h_subject_add(srv_req *q, srv_resp *r);
void h_subject_list(srv_req *q, srv_resp *r);
void h_subject_get(srv_req *q, srv_resp *r);
void h_subject_patch(srv_req *q, srv_resp *r);
void h_subject_end(srv_req *q, srv_resp *r);
void h_subject_end_undo(srv_req *q, srv_resp *r);
void h_subject_convert(srv_req *q, srv_resp *r);
void h_lookup(srv_req *q, srv_resp *r);

/* records (h_records.c) */
void h_record_add(srv_req *q, srv_resp *r);
void h_record_list(srv_req *q, srv_resp *r);
void h_record_update(srv_req *q, srv_resp *r);
void h_record_delete(srv_req *q, srv_resp *r);
void h_record_attachment(srv_req *q, srv_resp *r);
void h_cookie_record_add(srv_req *q, srv_resp *r);

/* consents, objections, may-contact, cookies (h_consents.c) */
void h_consent_add(srv_req *q, srv_resp *r);
void h_consent_history(srv_req *q, srv_resp *r);
void h_objection(srv_req *q, srv_resp *r);
void h_may_contact(srv_req *q, srv_resp *r);
void h_cookie_link(srv_req *q, srv_resp *r);
void h_cookie_reset(srv_req *q, srv_resp *r);

/* the data subject's rights (h_rights.c) */
void h_export(srv_req *q, srv_resp *r);
void h_erase(srv_req *q, srv_resp *r);
void h_restrict(srv_req *q, srv_resp *r);
void h_unrestrict(srv_req *q, srv_resp *r);
void h_restriction(srv_req *q, srv_resp *r);
void h_dsr_open(srv_req *q, srv_resp *r);
void h_dsr_list(srv_req *q, srv_resp *r);
void h_dsr_show(srv_req *q, srv_resp *r);
void h_dsr_extend(srv_req *q, srv_resp *r);
void h_dsr_close(srv_req *q, srv_resp *r);

/* the web console and the self-service page (h_console.c) */
void h_whoami(srv_req *q, srv_resp *r);
void h_self_policy(srv_req *q, srv_resp *r);
void h_notice(srv_req *q, srv_resp *r);
void h_retention_dry_run(srv_req *q, srv_resp *r);
void h_selfservice_link(srv_req *q, srv_resp *r);
void h_self_session(srv_req *q, srv_resp *r);
void h_self_end(srv_req *q, srv_resp *r);
void h_self_objection(srv_req *q, srv_resp *r);
void h_self_cookie_reset(srv_req *q, srv_resp *r);
void h_self_request(srv_req *q, srv_resp *r);
/* checkpoints, backups, restores (h_backup.c) */
void h_checkpoint(srv_req *q, srv_resp *r);
void h_checkpoint_verify(srv_req *q, srv_resp *r);
void h_backup(srv_req *q, srv_resp *r);
void h_restore(srv_req *q, srv_resp *r);
void h_backup_list(srv_req *q, srv_resp *r);

/* The subject as compact JSON (subject_doc.c): rk_subject_json's document
 * without its indentation; owned, personal data (rk_free_secret); NULL when
 * out of memory. */
char *srv_subject_doc(const rk_subject *s);

/* ---- shared by the handlers (h_util.c) ------------------------------------
 */

#define PAGE_DEFAULT 100
#define PAGE_MAX     1000

/* A query parameter, or NULL. */
const char *h_arg(srv_req *q, const char *name);
/* The page size from ?limit= (default PAGE_DEFAULT); 0 after a 400. */
size_t h_limit(srv_req *q, srv_resp *r);
/* An opaque cursor of a position (an ID or a number as text). */
void h_cursor_make(const char *pos, char *out, size_t cap);
/* The position in ?cursor=, or "" when none; -1 after a 400. */
int h_cursor_read(srv_req *q, srv_resp *r, char *pos, size_t cap);
/* 400 for a body member of the wrong type. */
void h_bad_member(srv_resp *r, const char *key);
/* A path parameter that is a positive integer; -1 after a 404. */
int64_t h_number(srv_req *q, srv_resp *r, size_t i);
/* {"done": true} */
void h_done(srv_resp *r, unsigned status);
/* Pages through a JSON array doc (owned, freed here) by the integer key
 * key: items after the cursor's position, at most limit; answers
 * {"items": [...], "next_cursor": ...}. */
void h_page_array(srv_req *q, srv_resp *r, char *doc, const char *key,
		  int secret);
/* Builds rk_fields from a JSON object of name: string | [strings]; NULL
 * after a 400/422 answer. */
rk_fields *h_fields(const json_t *obj, srv_resp *r);

/* ---- server state read by handlers (main.c) -------------------------------
 */

int srv_is_ready(void);
int srv_is_draining(void);
void srv_pool_stats(size_t *total, size_t *busy);
unsigned srv_audit_batch(void);

#endif
