/*
 * audit_action.c: the names of the audit actions (audit_action.h), in one
 * table indexed by the enum. These are the bytes the trail stores and its
 * MACs cover: an old register verifies only while they stay the same.
 */
#include <string.h>

#include "audit_action.h"

static const char *const names[AUD_COUNT] = {
	[AUD_REGISTER_INIT] = "register.init",
	[AUD_REGISTER_UPGRADE] = "register.upgrade",
	[AUD_REGISTER_BACKUP] = "register.backup",
	[AUD_REGISTER_MIGRATE] = "register.migrate",
	[AUD_REGISTER_RESTORE] = "register.restore",
	[AUD_BACKUP_LIST] = "backup.list",
	[AUD_SUBJECT_ADD] = "subject.add",
	[AUD_SUBJECT_SHOW] = "subject.show",
	[AUD_SUBJECT_FIND] = "subject.find",
	[AUD_SUBJECT_LIST] = "subject.list",
	[AUD_SUBJECT_UPDATE] = "subject.update",
	[AUD_SUBJECT_CONFIRM] = "subject.confirm",
	[AUD_SUBJECT_REVIEW] = "subject.review",
	[AUD_SUBJECT_CHECK_PASSWORD] = "subject.check_password",
	[AUD_SUBJECT_END] = "subject.end",
	[AUD_SUBJECT_END_CHANGE] = "subject.end.change",
	[AUD_SUBJECT_END_UNDO] = "subject.end.undo",
	[AUD_SUBJECT_CONVERT] = "subject.convert",
	[AUD_SUBJECT_EXPORT] = "subject.export",
	[AUD_SUBJECT_EXPORT_PORTABLE] = "subject.export.portable",
	[AUD_SUBJECT_ERASE] = "subject.erase",
	[AUD_SUBJECT_ERASE_DRY_RUN] = "subject.erase.dry_run",
	[AUD_SUBJECT_RESTRICT] = "subject.restrict",
	[AUD_SUBJECT_UNRESTRICT] = "subject.unrestrict",
	[AUD_RECORD_ADD] = "record.add",
	[AUD_RECORD_LIST] = "record.list",
	[AUD_RECORD_ATTACHMENT] = "record.attachment",
	[AUD_RECORD_UPDATE] = "record.update",
	[AUD_RECORD_DELETE] = "record.delete",
	[AUD_CONSENT_GIVE] = "consent.give",
	[AUD_CONSENT_WITHDRAW] = "consent.withdraw",
	[AUD_CONSENT_STATE] = "consent.state",
	[AUD_CONSENT_HISTORY] = "consent.history",
	[AUD_OBJECT] = "object",
	[AUD_OBJECT_LIFT] = "object.lift",
	[AUD_OBJECT_PURPOSE] = "object.purpose",
	[AUD_OBJECT_PURPOSE_LIFT] = "object.purpose.lift",
	[AUD_OBJECT_PURPOSE_GROUNDS] = "object.purpose.grounds",
	[AUD_MAY_CONTACT] = "may_contact",
	[AUD_COOKIE_LINK] = "cookie.link",
	[AUD_COOKIE_RESET] = "cookie.reset",
	[AUD_DISCLOSE] = "disclose",
	[AUD_DISCLOSURE_LIST] = "disclosure.list",
	[AUD_MARKETING_TRANSFER] = "marketing.transfer",
	[AUD_RETENTION_RUN] = "retention.run",
	[AUD_RETENTION_RUN_DRY_RUN] = "retention.run.dry_run",
	[AUD_RETENTION_DELETE] = "retention.delete",
	[AUD_RETENTION_DELETE_SUBJECT] = "retention.delete_subject",
	[AUD_RETENTION_DELETE_HELD] = "retention.delete_held",
	[AUD_DSR_OPEN] = "dsr.open",
	[AUD_DSR_LIST] = "dsr.list",
	[AUD_DSR_SHOW] = "dsr.show",
	[AUD_DSR_EXTEND] = "dsr.extend",
	[AUD_DSR_CLOSE] = "dsr.close",
	[AUD_BREACH_OPEN] = "breach.open",
	[AUD_BREACH_LIST] = "breach.list",
	[AUD_BREACH_SHOW] = "breach.show",
	[AUD_BREACH_SUBJECTS] = "breach.subjects",
	[AUD_BREACH_UPDATE] = "breach.update",
	[AUD_BREACH_CLOSE] = "breach.close",
	[AUD_POLICY_DIFF] = "policy.diff",
	[AUD_POLICY_APPLY] = "policy.apply",
	[AUD_POLICY_AFFECTED] = "policy.affected",
	[AUD_POLICY_DROP_FIELD] = "policy.drop_field",
	[AUD_STATS_RELEASE] = "stats.release",
	[AUD_ROPA_RENDER] = "ropa.render",
	[AUD_SELFSERVICE_LINK] = "selfservice.link",
	[AUD_SELFSERVICE_OPEN] = "selfservice.open",
	[AUD_SELFSERVICE_AUTHENTICATE] = "selfservice.authenticate",
	[AUD_ACTOR_ADD] = "actor.add",
	[AUD_ACTOR_LIST] = "actor.list",
	[AUD_ACTOR_REVOKE] = "actor.revoke",
	[AUD_ACTOR_AUTHENTICATE] = "actor.authenticate",
	[AUD_AUDIT_LOG] = "audit.log",
	[AUD_AUDIT_VERIFY] = "audit.verify",
	[AUD_AUDIT_CHECKPOINT] = "audit.checkpoint",
	[AUD_AUDIT_JOURNAL] = "audit.journal",
	[AUD_INTEGRITY_VERIFY] = "integrity.verify",
	[AUD_KEY_ROTATE] = "key.rotate",
	[AUD_KEY_REENCRYPT] = "key.reencrypt",
	[AUD_KEY_LIST] = "key.list",
	[AUD_KEY_RETIRE] = "key.retire",
};

const char *audit_action_name(audit_action a)
{
	if ((unsigned)a < AUD_COUNT && names[a] != NULL)
		return names[a];
	return names[AUD_OBJECT];
}

int audit_action_is(const char *name, audit_action a)
{
	return name != NULL && (unsigned)a < AUD_COUNT &&
	       strcmp(name, names[a]) == 0;
}

int audit_action_find(const char *name, audit_action *out)
{
	unsigned i;

	if (name == NULL)
		return -1;
	for (i = 0; i < AUD_COUNT; i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (audit_action)i;
			return 0;
		}
	return -1;
}

audit_action audit_objection(size_t oi, int lift)
{
	return (audit_action)(AUD_COUNT + oi * 2 + (lift ? 1u : 0u));
}

int audit_objection_of(audit_action a, size_t *oi, int *lift)
{
	if ((unsigned)a < AUD_COUNT)
		return 0;
	*oi = ((unsigned)a - AUD_COUNT) / 2;
	*lift = (int)(((unsigned)a - AUD_COUNT) % 2);
	return 1;
}
