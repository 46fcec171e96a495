/*
 * audit_action.h: the actions the audit trail records, as one enum with one
 * table of their names (audit_action.c). The trail stores the names, so a
 * name never changes once written; docs/audit.md lists them all (the test
 * audit_actions reads the table).
 */
#ifndef RK_AUDIT_ACTION_H
#define RK_AUDIT_ACTION_H

#include <stddef.h>

typedef enum audit_action {
	AUD_REGISTER_INIT,
	AUD_REGISTER_UPGRADE,
	AUD_REGISTER_BACKUP,
	AUD_REGISTER_MIGRATE,
	AUD_REGISTER_RESTORE,
	AUD_BACKUP_LIST,
	AUD_SUBJECT_ADD,
	AUD_SUBJECT_SHOW,
	AUD_SUBJECT_FIND,
	AUD_SUBJECT_LIST,
	AUD_SUBJECT_UPDATE,
	AUD_SUBJECT_CONFIRM,
	AUD_SUBJECT_REVIEW,
	AUD_SUBJECT_CHECK_PASSWORD,
	AUD_SUBJECT_END,
	AUD_SUBJECT_END_CHANGE,
	AUD_SUBJECT_END_UNDO,
	AUD_SUBJECT_CONVERT,
	AUD_SUBJECT_EXPORT,
	AUD_SUBJECT_EXPORT_PORTABLE,
	AUD_SUBJECT_ERASE,
	AUD_SUBJECT_ERASE_DRY_RUN,
	AUD_SUBJECT_RESTRICT,
	AUD_SUBJECT_UNRESTRICT,
	AUD_RECORD_ADD,
	AUD_RECORD_LIST,
	AUD_RECORD_ATTACHMENT,
	AUD_RECORD_UPDATE,
	AUD_RECORD_DELETE,
	AUD_CONSENT_GIVE,
	AUD_CONSENT_WITHDRAW,
	AUD_CONSENT_STATE,
	AUD_CONSENT_HISTORY,
	AUD_OBJECT,
	AUD_OBJECT_LIFT,
	AUD_OBJECT_PURPOSE,
	AUD_OBJECT_PURPOSE_LIFT,
	AUD_OBJECT_PURPOSE_GROUNDS,
	AUD_MAY_CONTACT,
	AUD_COOKIE_LINK,
	AUD_COOKIE_RESET,
	AUD_DISCLOSE,
	AUD_DISCLOSURE_LIST,
	AUD_MARKETING_TRANSFER,
	AUD_RETENTION_RUN,
	AUD_RETENTION_RUN_DRY_RUN,
	AUD_RETENTION_DELETE,
	AUD_RETENTION_DELETE_SUBJECT,
	AUD_RETENTION_DELETE_HELD,
	AUD_DSR_OPEN,
	AUD_DSR_LIST,
	AUD_DSR_SHOW,
	AUD_DSR_EXTEND,
	AUD_DSR_CLOSE,
	AUD_BREACH_OPEN,
	AUD_BREACH_LIST,
	AUD_BREACH_SHOW,
	AUD_BREACH_SUBJECTS,
	AUD_BREACH_UPDATE,
	AUD_BREACH_CLOSE,
	AUD_POLICY_DIFF,
	AUD_POLICY_APPLY,
	AUD_POLICY_AFFECTED,
	AUD_POLICY_DROP_FIELD,
	AUD_STATS_RELEASE,
	AUD_ROPA_RENDER,
	AUD_SELFSERVICE_LINK,
	AUD_SELFSERVICE_OPEN,
	AUD_SELFSERVICE_AUTHENTICATE,
	AUD_ACTOR_ADD,
	AUD_ACTOR_LIST,
	AUD_ACTOR_REVOKE,
	AUD_ACTOR_AUTHENTICATE,
	AUD_AUDIT_LOG,
	AUD_AUDIT_VERIFY,
	AUD_AUDIT_CHECKPOINT,
	AUD_AUDIT_JOURNAL,
	AUD_INTEGRITY_VERIFY,
	AUD_KEY_ROTATE,
	AUD_KEY_REENCRYPT,
	AUD_KEY_LIST,
	AUD_KEY_RETIRE,
	AUD_COUNT
} audit_action;

/* The stored name of a (never NULL: an action past the table, such as an
 * objection of the policy's, answers "object"; audit_ev_set spells those
 * with the policy's name). */
const char *audit_action_name(audit_action a);
/* 1 when name (from the trail, may be NULL) is the name of a, else 0. */
int audit_action_is(const char *name, audit_action a);
/* The action whose name is name: 0 and *out, or -1 when no action of the
 * table has that name (an objection of the policy's has none). */
int audit_action_find(const char *name, audit_action *out);

/* An objection that the policy names (index oi) is audited under its own
 * name, "object.NAME", or "object.NAME.lift" when lifted: the policy's
 * names are data, so these actions are values past AUD_COUNT that carry
 * the index, and audit_ev_set spells them from the handle's policy. */
audit_action audit_objection(size_t oi, int lift);
/* For such a value: 1 and its index and lift, else 0. */
int audit_objection_of(audit_action a, size_t *oi, int *lift);

/* The fields of a successful AUD_SELFSERVICE_OPEN: the link's keyed ID,
 * "link:" and 32 hex digits (integ_selfsvc_link_id); a link opens once. */
#define AUDIT_LINK_ID_LEN (5 + 32)

#endif
