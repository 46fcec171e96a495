/*
 * route.c: the route table of the HTTP API and the path matcher. The table
 * is the one source of the API: the dispatcher, the limits (which routes
 * take JSON, need a token or a purpose, may read on the read replica) and
 * the OpenAPI document (openapi.c) all read it, so they cannot drift apart.
 */
#include <string.h>

#include "handlers.h"
#include "server.h"

#define A  R_AUTH
#define P  R_PURPOSE
#define J  R_JSON
#define I  R_IDEM
#define M  R_IFMATCH
#define RD R_READY
#define G  R_GROUP
#define RP R_REPLICA

/* clang-format off */
const srv_route srv_routes[] = {
	{SRV_GET, "/healthz", h_healthz, 0, 200, "healthz",
	 "Liveness: the process answers", NULL, "Status", NULL},
	{SRV_GET, "/readyz", h_readyz, 0, 200, "readyz",
	 "Readiness: the register is open and its audit chain verified",
	 NULL, "Status", NULL},
	{SRV_GET, "/metrics", h_metrics, 0, 200, "metrics",
	 "Metrics in the Prometheus text format", NULL, NULL, NULL},
	{SRV_GET, "/v1/openapi.json", h_openapi, 0, 200, "openapi",
	 "This document", NULL, NULL, NULL},

	{SRV_POST, "/v1/subjects", h_subject_add, A | P | J | I | RD | G, 201,
	 "addSubject", "Add a subject", "SubjectNew", "Id", NULL},
	{SRV_GET, "/v1/subjects", h_subject_list, A | RD | RP, 200,
	 "listSubjects", "List subjects (no personal data)", NULL,
	 "SubjectPage", "kind,cursor,limit"},
	{SRV_GET, "/v1/subjects/{id}", h_subject_get, A | P | RD | RP, 200,
	 "getSubject", "A subject as the purpose may see it", NULL,
	 "Subject", NULL},
	{SRV_PATCH, "/v1/subjects/{id}", h_subject_patch, A | P | J | M | RD | G,
	 204, "updateSubject", "Replace the values of the named fields",
	 "SubjectPatch", NULL, NULL},
	{SRV_POST, "/v1/subjects/{id}/end", h_subject_end, A | P | J | RD | G, 200,
	 "endSubject", "Record the end of the relationship", "EndDate",
	 "Done", NULL},
	{SRV_DELETE, "/v1/subjects/{id}/end", h_subject_end_undo,
	 A | P | RD | G, 200, "undoEndSubject",
	 "Take back an end recorded by mistake", NULL, "Done", NULL},
	{SRV_POST, "/v1/subjects/{id}/convert", h_subject_convert,
	 A | P | J | RD | G, 200, "convertSubject", "Change the subject's kind",
	 "Convert", "ConvertResult", NULL},
	{SRV_POST, "/v1/lookup", h_lookup, A | P | J | RD | RP, 200, "lookup",
	 "Find subjects by a lookup field (blind index)", "Lookup", "Ids",
	 NULL},

	{SRV_POST, "/v1/subjects/{id}/records", h_record_add,
	 A | P | J | I | RD | G | R_MULTI, 201, "addRecord",
	 "Add a record (multipart/form-data with parts record and "
	 "attachment for an attachment)", "RecordNew", "RecordId", NULL},
	{SRV_GET, "/v1/subjects/{id}/records", h_record_list, A | P | RD | RP,
	 200, "listRecords", "The subject's records that serve the purpose",
	 NULL, "RecordPage", "type,cursor,limit"},
	{SRV_PUT, "/v1/subjects/{id}/records/{record}", h_record_update,
	 A | P | J | RD | G, 200, "updateRecord", "Rectify a record",
	 "RecordFields", "Done", NULL},
	{SRV_DELETE, "/v1/subjects/{id}/records/{record}", h_record_delete,
	 A | P | RD | G, 200, "deleteRecord", "Erase one record", NULL, "Done",
	 NULL},
	{SRV_GET, "/v1/subjects/{id}/records/{record}/attachment",
	 h_record_attachment, A | P | RD, 200, "getAttachment",
	 "The record's attachment, streamed", NULL, NULL, NULL},
	{SRV_POST, "/v1/cookie-records", h_cookie_record_add,
	 A | P | J | I | RD | G, 201, "addCookieRecord",
	 "Add a record to the subject a cookie is linked to", "CookieRecord",
	 "RecordId", NULL},

	{SRV_POST, "/v1/subjects/{id}/consents", h_consent_add,
	 A | P | J | RD | G, 201, "setConsent", "Give or withdraw a consent",
	 "Consent", "Done", NULL},
	{SRV_GET, "/v1/subjects/{id}/consents", h_consent_history, A | P | RD,
	 200, "consentHistory", "The consent and objection ledger", NULL,
	 "Ledger", NULL},
	{SRV_POST, "/v1/subjects/{id}/objections", h_objection,
	 A | P | J | RD | G, 201, "object",
	 "Record or lift an objection, or compelling grounds", "Objection",
	 "Done", NULL},
	{SRV_GET, "/v1/subjects/{id}/may-contact", h_may_contact, A | P | RD,
	 200, "mayContact", "May the subject be contacted for marketing",
	 NULL, "Decision", "channel,for"},
	{SRV_POST, "/v1/subjects/{id}/cookies", h_cookie_link,
	 A | P | J | RD | G, 201, "linkCookie", "Link a cookie identifier",
	 "Cookie", "Done", NULL},
	{SRV_DELETE, "/v1/subjects/{id}/cookies", h_cookie_reset, A | P | RD | G,
	 200, "resetCookies", "Unlink every identifier (profile=1: and reset "
	 "the profile)", NULL, "CookieReset", "profile"},

	{SRV_GET, "/v1/subjects/{id}/export", h_export, A | P | RD | RP, 200,
	 "exportSubject", "The access report (JSON or HTML)", NULL, NULL,
	 "format,lang"},
	{SRV_POST, "/v1/subjects/{id}/erase", h_erase, A | P | J | RD, 200,
	 "eraseSubject", "Erase the subject, with a receipt", "Erase",
	 "Receipt", NULL},
	{SRV_POST, "/v1/subjects/{id}/restrict", h_restrict, A | P | J | RD | G,
	 200, "restrictSubject", "Restrict processing", "Reason", "Done",
	 NULL},
	{SRV_POST, "/v1/subjects/{id}/unrestrict", h_unrestrict,
	 A | P | J | RD | G, 200, "unrestrictSubject", "Lift the restriction",
	 "Reason", "Done", NULL},
	{SRV_GET, "/v1/subjects/{id}/restriction", h_restriction,
	 A | P | RD, 200, "restriction", "Whether processing is restricted",
	 NULL, "Restriction", NULL},

	{SRV_POST, "/v1/dsr", h_dsr_open, A | P | J | I | RD | G, 201, "openDsr",
	 "Open a data subject request", "DsrNew", "DsrNumber", NULL},
	{SRV_GET, "/v1/dsr", h_dsr_list, A | P | RD, 200, "listDsr",
	 "The requests", NULL, "DsrPage", "all,overdue,due_before,cursor,limit"},
	{SRV_GET, "/v1/dsr/{number}", h_dsr_show, A | P | RD, 200, "showDsr",
	 "One request", NULL, "Dsr", NULL},
	{SRV_POST, "/v1/dsr/{number}/extend", h_dsr_extend, A | P | J | RD | G,
	 200, "extendDsr", "Extend the deadline by two months", "Reason",
	 "Dsr", NULL},
	{SRV_POST, "/v1/dsr/{number}/close", h_dsr_close, A | P | J | RD | G, 200,
	 "closeDsr", "Close a request", "DsrClose", "Dsr", NULL},

	{SRV_GET, "/v1/actors", h_actor_list, A | RD, 200, "listActors",
	 "The actors (administrator)", NULL, "Actors", NULL},
	{SRV_POST, "/v1/actors", h_actor_add, A | J | I | RD, 201, "addActor",
	 "Add an actor; its token is shown once", "ActorNew", "ActorToken",
	 NULL},
	{SRV_DELETE, "/v1/actors/{name}", h_actor_revoke, A | RD, 200,
	 "revokeActor", "Revoke an actor's token", NULL, "Done", NULL},
	{SRV_GET, "/v1/audit/verify", h_audit_verify, A | RD, 200,
	 "auditVerify", "Verify the audit chain and the row MACs", NULL,
	 "AuditReport", NULL},
	{SRV_GET, "/v1/audit/log", h_audit_log, A | RD, 200, "auditLog",
	 "Audit entries in order", NULL, "AuditPage",
	 "subject,cursor,limit"},

	/* the web console and the self-service page (h_console.c) */
	{SRV_GET, "/v1/whoami", h_whoami, A | RD, 200, "whoami",
	 "The signed-in actor, its role's purposes and lookups", NULL, NULL,
	 NULL},
	{SRV_GET, "/v1/notice", h_notice, A | RD, 200, "notice",
	 "The privacy notice in force, as plain text", NULL, NULL, "lang"},
	{SRV_GET, "/v1/retention/dry-run", h_retention_dry_run, A | RD, 200,
	 "retentionDryRun", "What a retention run would delete (counts only)",
	 NULL, NULL, NULL},
	{SRV_POST, "/v1/subjects/{id}/self-service-link", h_selfservice_link,
	 A | P | RD, 201, "selfServiceLink",
	 "Issue a single-use, short-lived self-service link (the secret is "
	 "shown once)", NULL, "SelfLink", NULL},
	{SRV_POST, "/v1/self/session", h_self_session, J | RD | R_LIMITED,
	 201, "selfSession", "Exchange a self-service link's secret, once, "
	 "for a session token", "SelfSecret", "SelfSession", NULL},
	{SRV_DELETE, "/v1/self/session", h_self_end, R_SELF | RD, 200,
	 "selfSignOut", "End the self-service session", NULL, "Done", NULL},
	{SRV_GET, "/v1/self", h_export, R_SELF | RD, 200, "selfReport",
	 "The subject's own access report", NULL, NULL, "format,lang"},
	{SRV_GET, "/v1/self/policy", h_self_policy, R_SELF | RD, 200,
	 "selfPolicy", "The names and labels the page shows (scopes, "
	 "objections, fields)", NULL, NULL, NULL},
	{SRV_GET, "/v1/self/consents", h_consent_history, R_SELF | RD, 200,
	 "selfConsents", "The subject's own consent and objection ledger",
	 NULL, "Ledger", NULL},
	{SRV_POST, "/v1/self/consents", h_consent_add, R_SELF | J | RD, 201,
	 "selfConsent", "Give or withdraw a consent", "Consent", "Done",
	 NULL},
	{SRV_POST, "/v1/self/objections", h_self_objection, R_SELF | J | RD,
	 201, "selfObjection", "Object (prohibit direct marketing) or lift it",
	 "Objection", "Done", NULL},
	{SRV_DELETE, "/v1/self/cookies", h_self_cookie_reset, R_SELF | RD,
	 200, "selfCookieReset", "Reset the cookie profile", NULL,
	 "CookieReset", NULL},
	{SRV_POST, "/v1/self/requests", h_self_request, R_SELF | J | RD, 201,
	 "selfRequest", "Ask for rectification or erasure (opens a request)",
	 "SelfRequest", "Dsr", NULL},
	/* checkpoints and backups (administrator; files in --backup-dir) */
	{SRV_POST, "/v1/audit/checkpoints", h_checkpoint, A | RD, 201,
	 "auditCheckpoint", "Sign the audit chain's head (a checkpoint)",
	 NULL, "Checkpoint", NULL},
	{SRV_POST, "/v1/audit/checkpoints/verify", h_checkpoint_verify,
	 A | J | RD, 200, "auditVerifyCheckpoint",
	 "Verify the chain and that it still holds a checkpoint's entry",
	 "CheckpointText", "CheckpointReport", NULL},
	{SRV_POST, "/v1/backups", h_backup, A | RD, 201, "backup",
	 "An online backup into the server's backup folder", NULL, "Backup",
	 NULL},
	{SRV_POST, "/v1/backups/{name}/restore", h_restore, A | RD, 200,
	 "restore", "Bring a backup's data back (force=1: a trail that does "
	 "not verify is replaced)", NULL, "Done", "force"},
	{SRV_GET, "/v1/backups", h_backup_list, A | RD, 200, "listBackups",
	 "The backups in the server's backup folder: name, size, time "
	 "(administrator)", NULL, "BackupList", NULL},
};
/* clang-format on */

const size_t srv_nroutes = sizeof srv_routes / sizeof srv_routes[0];

unsigned srv_method_of(const char *name)
{
	static const struct {
		const char *name;
		unsigned m;
	} ms[] = {{"GET", SRV_GET},	{"HEAD", SRV_GET},
		  {"POST", SRV_POST},	{"PUT", SRV_PUT},
		  {"PATCH", SRV_PATCH}, {"DELETE", SRV_DELETE}};
	size_t i;

	for (i = 0; i < sizeof ms / sizeof ms[0]; i++)
		if (strcmp(name, ms[i].name) == 0)
			return ms[i].m;
	return 0;
}

const char *srv_method_name(unsigned m)
{
	switch (m) {
	case SRV_GET:
		return "GET";
	case SRV_POST:
		return "POST";
	case SRV_PUT:
		return "PUT";
	case SRV_PATCH:
		return "PATCH";
	case SRV_DELETE:
		return "DELETE";
	default:
		return "-";
	}
}

size_t srv_route_index(const srv_route *rt)
{
	return (size_t)(rt - srv_routes);
}

/* A path parameter: 1..SRV_PARAM_MAX-1 characters of [A-Za-z0-9._-]. */
static int param_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* Whether path fits tmpl; parameters are copied into q when q is given. */
static int fits(const char *tmpl, const char *path, srv_req *q)
{
	const char *t = tmpl, *p = path;
	size_t np = 0;

	while (*t != '\0') {
		if (*t == '{') {
			size_t n = 0;
			const char *end = strchr(t, '}');
			if (end == NULL)
				return 0;
			while (param_char(p[n]))
				n++;
			if (n == 0 || n >= SRV_PARAM_MAX ||
			    np >= SRV_MAX_PARAMS || (p[n] != '/' && p[n]))
				return 0;
			if (q != NULL) {
				memcpy(q->params[np], p, n);
				q->params[np][n] = '\0';
			}
			np++;
			p += n;
			t = end + 1;
			continue;
		}
		if (*t != *p)
			return 0;
		t++;
		p++;
	}
	if (*p != '\0')
		return 0;
	if (q != NULL)
		q->nparams = np;
	return 1;
}

const srv_route *srv_route_match(unsigned method, const char *path, srv_req *q,
				 unsigned *status, unsigned *allow)
{
	size_t i;

	*allow = 0;
	*status = 404;
	if (path == NULL || path[0] != '/')
		return NULL;
	for (i = 0; i < srv_nroutes; i++) {
		if (!fits(srv_routes[i].tmpl, path, NULL))
			continue;
		*allow |= srv_routes[i].method;
		if (srv_routes[i].method == method) {
			fits(srv_routes[i].tmpl, path, q);
			*status = 200;
			return &srv_routes[i];
		}
	}
	if (*allow != 0)
		*status = 405;
	return NULL;
}
