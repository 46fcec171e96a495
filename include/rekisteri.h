/*
 * rekisteri.h: the public API of librekisteri, a customer data register that
 * enforces its privacy notice.
 *
 * Contract in brief:
 * - Every fallible call returns an rk_status. The handle keeps the last error
 *   message (rk_errmsg); messages never contain personal data.
 * - A register handle serves one thread at a time. Several handles may be open
 *   on the same register, in one process or many; a busy database is waited
 *   for, not failed.
 * - Every read and write of personal data names its actor
 * (rk_register_set_actor) and purpose, and leaves an audit entry. Writes commit
 * their entry in the same transaction as the change. Reads fail closed: no
 * read hands out data unless its entry is committed or, when entries are
 * committed in groups (rk_register_set_audit_batch), written to the
 * handle's audit journal beside the database first. rk_register_close and
 * every write commit the queue; a journal that could not be committed is
 * taken into the trail by the next handle that opens the register.
 * - Ownership: whatever rk_x_new/rk_x_get/... hands out is freed by the
 *   matching rk_x_free; strings returned by accessors are borrowed from their
 *   object and live as long as it does.
 */
#ifndef REKISTERI_H
#define REKISTERI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RK_API	     __attribute__((visibility("default")))
#define RK_NODISCARD __attribute__((warn_unused_result))
#else
#define RK_API
#define RK_NODISCARD
#endif

/* Status codes; the CLI uses them as its exit codes. */
typedef enum rk_status {
	RK_OK = 0,
	RK_ESYS = 1,	  /* failure of the system: I/O, database, memory */
	RK_EINVAL = 2,	  /* bad usage or invalid input; nothing was changed */
	RK_ENOTFOUND = 3, /* no such subject, field or entry */
	RK_EREFUSED = 4,  /* refused by policy */
	RK_EINTEGRITY = 5 /* audit chain broken, decryption failed, wrong key */
} rk_status;

/* Length of a subject ID (hex) without its terminating NUL. */
#define RK_ID_LEN 32
/* Length of a calendar date "YYYY-MM-DD" without its NUL. */
#define RK_DATE_LEN 10

typedef struct rk_register rk_register;
typedef struct rk_fields rk_fields;
typedef struct rk_subject rk_subject;
typedef struct rk_list rk_list;

/* The version this header belongs to; rk_version() tells the library's,
 * which a program linked against a shared library may find newer. */
#define RK_VERSION_MAJOR  0
#define RK_VERSION_MINOR  1
#define RK_VERSION_PATCH  0
#define RK_VERSION_STRING "0.1.0"
/* Major * 10000 + minor * 100 + patch, for #if comparisons. */
#define RK_VERSION_NUMBER                                                      \
	(RK_VERSION_MAJOR * 10000 + RK_VERSION_MINOR * 100 + RK_VERSION_PATCH)

RK_API const char *rk_version(void);
RK_API const char *rk_status_name(rk_status st);
/* Frees memory that the library handed out as a plain string. */
RK_API void rk_free(void *p);
/* Wipes and frees a string that holds personal data: every JSON document
 * the library hands out about a subject (rk_subject_json, rk_record_list,
 * rk_consent_history, and the like). NULL is allowed. */
RK_API void rk_free_secret(char *s);

/* ---- Policy -------------------------------------------------------------- */

/* Called once per problem found in a policy file. message holds no input
 * values beyond names of keys and references. */
typedef void (*rk_diag_fn)(void *ud, const char *file, int line, int column,
			   const char *message);

/* Validates a policy file. Returns RK_OK when it is valid, RK_EINVAL when it
 * has problems (each reported through diag), RK_ESYS when it can't be read. */
RK_API RK_NODISCARD rk_status rk_policy_check_file(const char *path,
						   rk_diag_fn diag, void *ud);

/* ---- Register ------------------------------------------------------------ */

/* Creates a new register at db_path with a new master key written to key_path
 * (mode 0600) and the policy file as notice version 1. Never overwrites: an
 * existing database or key file is refused. On success *out is an open
 * handle. On failure *out may still hold a handle that carries the error
 * message (rk_errmsg); close it with rk_register_close either way. */
RK_API RK_NODISCARD rk_status rk_register_init(const char *db_path,
					       const char *key_path,
					       const char *policy_path,
					       rk_register **out);

/* Opens an existing register. A key file readable by group or others is
 * refused. *out follows the same rule as in rk_register_init. */
RK_API RK_NODISCARD rk_status rk_register_open(const char *db_path,
					       const char *key_path,
					       rk_register **out);

/* Commits queued audit entries, wipes keys and closes. NULL is allowed. */
RK_API void rk_register_close(rk_register *reg);

/* The message of the last failed call on this handle ("" if none). */
RK_API const char *rk_errmsg(const rk_register *reg);

/* Names the operator who holds the master key in audit entries of later
 * calls (default "operator"); the operator acts in the policy's admin role.
 * Staff and services act as actors instead (rk_register_authenticate),
 * whose names cannot be changed afterwards (RK_EREFUSED). */
RK_API RK_NODISCARD rk_status rk_register_set_actor(rk_register *reg,
						    const char *actor);

/* Read audit entries are committed in groups of up to n (default 64; at
 * most 1024). With n > 1 each read's entry is first written to the
 * handle's journal file ("<db>-audit-<id>.j", mode 0600), and a read that
 * finds a full group commits it before handing anything out: a register
 * whose trail cannot be written refuses reads after at most one group, and
 * a read whose entry cannot be journalled fails. n = 1: every read commits
 * its own entry before it returns, and fails (RK_ESYS) when it cannot. */
RK_API void rk_register_set_audit_batch(rk_register *reg, unsigned n);

/* Commits queued read audit entries now. */
RK_API RK_NODISCARD rk_status rk_register_flush(rk_register *reg);

/* Fixes "now" (Unix seconds, UTC, years 1970-9999) for later calls; 0, or a
 * time outside that range, returns to the real clock. For reproducible
 * tests and retention runs "as of" a date. */
RK_API void rk_register_set_clock(rk_register *reg, int64_t unix_seconds);

/* Groups the writes that follow into one transaction until
 * rk_register_commit, for bulk loads. A write refused for its input (every
 * call checks its input before it writes) changes nothing and the others
 * stay. A write that fails part-way (I/O, database) spoils the transaction:
 * later writes are refused and rk_register_commit rolls everything back and
 * returns RK_ESYS. rk_register_rollback undoes it all. Reads inside it see
 * its writes. */
RK_API RK_NODISCARD rk_status rk_register_begin(rk_register *reg);
RK_API RK_NODISCARD rk_status rk_register_commit(rk_register *reg);
RK_API void rk_register_rollback(rk_register *reg);

/* The notice version the register runs on now. */
RK_API int rk_register_policy_version(const rk_register *reg);

/* ---- Field values for add and update --------------------------------------
 */

RK_API rk_fields *rk_fields_new(void);
/* Appends NAME=VALUE; a multi-valued field may be added several times. An
 * empty value in an update removes the field. Copies both strings. */
RK_API RK_NODISCARD rk_status rk_fields_add(rk_fields *f, const char *name,
					    const char *value);
/* Wipes the copied values and frees. NULL is allowed. */
RK_API void rk_fields_free(rk_fields *f);

/* ---- Subjects ------------------------------------------------------------ */

/* Every call below that processes personal data takes the purpose it
 * processes for (NULL = the policy's default purpose); the actor's role must
 * be allowed that purpose, else RK_EREFUSED (audited). */

/* Adds a subject of kind "customer", "prospect" or "contact" (as the policy
 * declares). source NULL means each field's default source. Validates every
 * value against the policy; on any problem nothing is written. Writes the new
 * ID (RK_ID_LEN hex characters and a NUL) to id_out. */
RK_API RK_NODISCARD rk_status rk_subject_add(rk_register *reg, const char *kind,
					     const rk_fields *fields,
					     const char *source,
					     const char *purpose,
					     char id_out[RK_ID_LEN + 1]);

/* Reads a subject for a purpose: only the values that serve that purpose
 * and whose category the actor's role may see are returned; a HETU is
 * masked (DDMMYY-****) unless the role needs it whole. For direct
 * marketing, a subject who prohibited it is refused (RK_EREFUSED). */
RK_API RK_NODISCARD rk_status rk_subject_get(rk_register *reg, const char *id,
					     const char *purpose,
					     rk_subject **out);

/* Finds subjects by a lookup field (email, phone, hetu, customer_number,
 * username, ...) through the blind index. An empty list is RK_ENOTFOUND. */
RK_API RK_NODISCARD rk_status rk_subject_find(rk_register *reg,
					      const char *field,
					      const char *value,
					      const char *purpose,
					      rk_list **out);

/* Replaces the values of each named field (all values given for a
 * multi-valued field replace its old ones; an empty value removes it). A
 * value the field already holds, sent again unchanged, stays as it is: its
 * source, collection time, expiry and confirmation do not change, and
 * source applies to the new values only.
 * RK_EREFUSED (nothing changes) when a named field holds a value that
 * purpose does not show (stored for other purposes): the caller never saw
 * it, so it is changed under a purpose that shows it. */
RK_API RK_NODISCARD rk_status rk_subject_update(rk_register *reg,
						const char *id,
						const rk_fields *fields,
						const char *source,
						const char *purpose);

/* Records that the relationship ended on date (YYYY-MM-DD or D.M.YYYY;
 * NULL = today) and starts the retention periods that run from its end. A
 * date in the future or before the relationship began is refused
 * (RK_EINVAL). When an end is recorded already, a date corrects it (the
 * retention periods move with it; audited as "subject.end.change") and
 * NULL is refused. */
RK_API RK_NODISCARD rk_status rk_subject_end(rk_register *reg, const char *id,
					     const char *date,
					     const char *purpose);

/* Takes back an end recorded by mistake: the relationship goes on and the
 * retention periods that ran from its end are open again (audited as
 * "subject.end.undo"). RK_EINVAL when no end is recorded. */
RK_API RK_NODISCARD rk_status rk_subject_end_undo(rk_register *reg,
						  const char *id,
						  const char *purpose);

/* Lists subjects (no personal data: ID, kind, relationship dates) after
 * after_id (NULL = from the start), at most limit (0 = no limit). */
RK_API RK_NODISCARD rk_status rk_subject_list(rk_register *reg,
					      const char *kind,
					      const char *after_id,
					      size_t limit, rk_list **out);

/* Whether a field of the register's policy holds a secret (a password):
 * such values must not come from a command line. */
RK_API int rk_field_is_secret(const rk_register *reg, const char *field);

/* Checks a password against the Argon2id hash kept for a password field. */
RK_API RK_NODISCARD rk_status rk_subject_check_password(rk_register *reg,
							const char *id,
							const char *field,
							const char *password,
							const char *purpose);

/* One stored value as read for a purpose. Strings are borrowed. */
typedef struct rk_value {
	const char *field;
	const char *value; /* a password field reads as "(argon2id)" */
	const char *category;
	const char *purposes; /* comma-separated */
	const char *legal_basis;
	const char *source;
	int64_t collected_at; /* Unix seconds */
	int64_t confirmed_at; /* Unix seconds */
	const char *expires;  /* YYYY-MM-DD, or NULL while open-ended */
} rk_value;

RK_API const char *rk_subject_id(const rk_subject *s);
RK_API const char *rk_subject_kind(const rk_subject *s);
RK_API const char *rk_subject_purpose(const rk_subject *s);
RK_API int64_t rk_subject_created_at(const rk_subject *s);
RK_API const char *rk_subject_relationship_start(const rk_subject *s);
/* NULL while the relationship goes on. */
RK_API const char *rk_subject_relationship_end(const rk_subject *s);
RK_API size_t rk_subject_value_count(const rk_subject *s);
RK_API const rk_value *rk_subject_value(const rk_subject *s, size_t i);
/* The subject as one JSON document; owned, and it holds personal data:
 * free with rk_free_secret. */
RK_API char *rk_subject_json(const rk_subject *s);
/* Wipes the plaintext values and frees. NULL is allowed. */
RK_API void rk_subject_free(rk_subject *s);

/* A list of subjects: IDs with kind and relationship dates. */
RK_API size_t rk_list_count(const rk_list *l);
RK_API const char *rk_list_id(const rk_list *l, size_t i);
RK_API const char *rk_list_kind(const rk_list *l, size_t i);
RK_API const char *rk_list_start(const rk_list *l, size_t i);
RK_API const char *rk_list_end(const rk_list *l, size_t i); /* or NULL */
RK_API void rk_list_free(rk_list *l);

/* ---- Audit --------------------------------------------------------------- */

typedef struct rk_audit_entry {
	int64_t seq;
	int64_t at_us; /* Unix microseconds */
	const char *actor;
	const char *action;  /* e.g. "subject.show" */
	const char *subject; /* the subject's pseudonym, or NULL */
	const char *fields;  /* comma-separated field names, or NULL */
	const char *purpose; /* or NULL */
	const char *outcome; /* "ok", "refused", "invalid", "notfound" */
} rk_audit_entry;

typedef struct rk_audit_report {
	int64_t entries;   /* entries checked */
	int64_t first_bad; /* seq of the first bad entry, 0 if none */
	char reason[160];  /* what is wrong with it */
} rk_audit_report;

/* Verifies the whole hash chain. RK_OK when intact; RK_EINTEGRITY with the
 * first bad entry named in the report when an entry was edited, removed or
 * reordered. */
RK_API RK_NODISCARD rk_status rk_audit_verify(rk_register *reg,
					      rk_audit_report *report);

/* Checks every row that decides access against the MACs of the register's
 * row key: each subject with its values, consent ledger and records, the
 * actors, and the stored policy. RK_OK when all match; RK_EINTEGRITY when
 * something was edited without the key, with report->reason saying what
 * (never any data); report->entries counts the subjects checked. The same
 * role as rk_audit_verify is needed. */
RK_API RK_NODISCARD rk_status rk_integrity_verify(rk_register *reg,
						  rk_audit_report *report);

typedef int (*rk_audit_fn)(void *ud, const rk_audit_entry *e);

/* Calls fn for each entry in order (for one subject if subject_id is not
 * NULL); fn returning non-zero stops the walk. */
RK_API RK_NODISCARD rk_status rk_audit_log(rk_register *reg,
					   const char *subject_id,
					   rk_audit_fn fn, void *ud);

/* ---- Relationship records (record types of the policy) ----------------- */

/* Adds a record of type for subject id. json is a JSON object of the
 * record's fields, each validated against the record type; a full card
 * number is refused. attachment_path (may be NULL) names a file streamed in
 * sealed chunks, at most the type's size limit; attachment_type is its
 * media type (may be NULL). A type that needs a consent is refused
 * (RK_EREFUSED) without a live one. *record_id gets the record's number. */
RK_API RK_NODISCARD rk_status rk_record_add(rk_register *reg, const char *id,
					    const char *type, const char *json,
					    const char *attachment_path,
					    const char *attachment_type,
					    const char *purpose,
					    int64_t *record_id);
/* The same for the subject that a cookie or device identifier is linked
 * to; RK_ENOTFOUND when it is linked to nobody (for example after a reset). */
RK_API RK_NODISCARD rk_status rk_record_add_by_cookie(
	rk_register *reg, const char *cookie_id, const char *type,
	const char *json, const char *purpose, int64_t *record_id);
/* The subject's records (type NULL: all) that serve purpose, as a JSON
 * array; *json_out is owned, and it holds personal data: free with
 * rk_free_secret. */
RK_API RK_NODISCARD rk_status rk_record_list(rk_register *reg, const char *id,
					     const char *type,
					     const char *purpose,
					     char **json_out);
/* Decrypts a record's attachment into a new file out_path (mode 0600;
 * an existing file is refused). */
RK_API RK_NODISCARD rk_status rk_record_attachment(rk_register *reg,
						   const char *id,
						   int64_t record_id,
						   const char *out_path,
						   const char *purpose);

/* ---- Consents, objections, marketing decisions, cookies ------------------ */

/* Appends to the consent ledger: scope given (given=1) or withdrawn
 * (given=0), through channel (e.g. "web", "phone"), under the current notice
 * version, with optional evidence text (sealed). Withdrawing location
 * consent deletes the subject's stored location records. */
RK_API RK_NODISCARD rk_status rk_consent_set(rk_register *reg, const char *id,
					     const char *scope, int given,
					     const char *channel,
					     const char *evidence);
/* The whole ledger of a subject (consents and objections) as a JSON array
 * in order; owned, and it holds personal data (the evidence): free with
 * rk_free_secret. */
RK_API RK_NODISCARD rk_status rk_consent_history(rk_register *reg,
						 const char *id,
						 char **json_out);
/* Whether scope is live now (the last ledger entry gives it). */
RK_API RK_NODISCARD rk_status rk_consent_state(rk_register *reg, const char *id,
					       const char *scope, int *given);
/* Records an objection of the policy (e.g. "direct_marketing", the
 * direct-marketing prohibition): from then on it overrides every consent. */
RK_API RK_NODISCARD rk_status rk_object(rk_register *reg, const char *id,
					const char *objection,
					const char *channel,
					const char *evidence);

typedef struct rk_decision {
	int allowed;	/* 1 yes, 0 no */
	char rule[160]; /* the rule that decided, in English */
	/* The provision the rule rests on (e.g. "917/2014 s. 200(2)"), and
	 * what every message sent under a "yes" must do (e.g. offer a free,
	 * easy opt-out), or "" (rk_may_contact_ex fills both). */
	char law[64];
	char condition[200];
} rk_decision;

/* May the controller contact subject id through channel ("email", "sms",
 * "phone", "post") for its own marketing (third_party 0) or for a third
 * party's (1)? RK_OK with the decision filled either way. */
RK_API RK_NODISCARD rk_status rk_may_contact(rk_register *reg, const char *id,
					     const char *channel,
					     int third_party, rk_decision *out);
/* Links a cookie or device identifier to a subject. */
RK_API RK_NODISCARD rk_status rk_cookie_link(rk_register *reg, const char *id,
					     const char *cookie_id);
/* Unlinks every identifier of the subject, so browsing under them no longer
 * reaches the profile, and deletes the records that came through them
 * (as rk_cookie_reset_ex, which also gives their count); *unlinked gets
 * how many identifiers (may be NULL). The reset is
 * an entry of the subject's ledger ("rk:cookie_reset"), so a restore of a
 * backup from before it unlinks what the backup brings back. */
RK_API RK_NODISCARD rk_status rk_cookie_reset(rk_register *reg, const char *id,
					      int64_t *unlinked);

/* ---- Actors, keys, backups ----------------------------------------------- */

/* Length of an actor's token without its NUL. */
#define RK_TOKEN_LEN 43

/* Adds an actor with a role of the policy; token_out gets its token, shown
 * once: only its hash is stored. */
RK_API RK_NODISCARD rk_status rk_actor_add(rk_register *reg, const char *name,
					   const char *role,
					   char token_out[RK_TOKEN_LEN + 1]);
/* Actors as a JSON array (name, role, created, revoked); owned. */
RK_API RK_NODISCARD rk_status rk_actor_list(rk_register *reg, char **json_out);
RK_API RK_NODISCARD rk_status rk_actor_revoke(rk_register *reg,
					      const char *name);
/* Acts as actor from now on, proven by its token; RK_EREFUSED for a wrong
 * or revoked token. Without it the handle acts as the operator who holds
 * the master key, in the administrator's role. */
RK_API RK_NODISCARD rk_status rk_register_authenticate(rk_register *reg,
						       const char *actor,
						       const char *token);
/* The same with the token alone (as a server receives it in
 * "Authorization: Bearer TOKEN"): the actor is the one whose token it is.
 * Tokens are random, so two actors never share one. */
RK_API RK_NODISCARD rk_status rk_register_authenticate_token(rk_register *reg,
							     const char *token);
/* The name the handle acts as now: an actor's, or the operator's. */
RK_API const char *rk_register_actor(const rk_register *reg);

/* Makes a new master key and replaces the key file with it, durably and so
 * that a crash or power cut at any moment leaves a register that opens with
 * the old or the new key file. The register's own keys are replaced too: a
 * new blind index key (the index is rebuilt), a new checkpoint signing key
 * (the old public key is kept, so old checkpoints still verify) and a new
 * audit chain key (a new segment of the trail; the earlier chain keys are
 * kept sealed under it). The row MAC key, the cookie identifier key and the
 * subjects' data keys are re-wrapped, not replaced (see rk_key_reencrypt
 * for the data keys). The
 * old master key goes into the register's keyring, sealed under the new
 * one, so that backups made under it can still be restored (until
 * rk_key_retire). The old key file itself no longer opens the register;
 * with a backup made under it, it opens that backup, and the data keys in
 * that backup still open today's data of the subjects in it (values
 * written since included) until rk_key_reencrypt. */
RK_API RK_NODISCARD rk_status rk_key_rotate(rk_register *reg);
/* Progress of a long operation: done of total units (subjects). */
typedef void (*rk_progress_fn)(void *ud, uint64_t done, uint64_t total);
/* Gives every subject a new random data key and re-encrypts all of its
 * data (values, records, attachments, consent evidence) under it, a batch
 * of subjects per transaction; the progress is kept in the database, so a
 * run that was interrupted goes on where it stopped when called again
 * (restart 0), or starts over with all subjects (restart 1). Afterwards no
 * key file or backup from before the run decrypts the data as it is now
 * (what a backup held, its key file still opens). fn (may be NULL) is
 * called after each batch. */
RK_API RK_NODISCARD rk_status rk_key_reencrypt(rk_register *reg, int restart,
					       rk_progress_fn fn, void *ud);
/* 1 when a re-encryption was interrupted and waits to be finished. */
RK_API int rk_key_reencrypt_pending(rk_register *reg);
/* The id of the master key the handle holds (public: it names the key,
 * it does not reveal it). */
#define RK_KEY_ID_LEN 16
RK_API void rk_key_id(rk_register *reg, char out[RK_KEY_ID_LEN + 1]);
/* The master keys as a JSON array (owned): the current key, then the
 * retired ones in the keyring: [{"id": "...", "state": "current"},
 * {"id": "...", "state": "retired", "retired_at": UNIX}, ...]. */
RK_API RK_NODISCARD rk_status rk_key_list(rk_register *reg, char **json_out);
/* Destroys the retired master key key_id (as rk_key_list shows it) from
 * the keyring: backups made under it no longer restore. RK_ENOTFOUND when
 * no retired key has that id; the current key cannot be retired. */
RK_API RK_NODISCARD rk_status rk_key_retire(rk_register *reg,
					    const char *key_id);
/* A consistent online copy of the register into a new file path. */
RK_API RK_NODISCARD rk_status rk_backup(rk_register *reg, const char *path);
/* Checks the backup at path and brings its data back (subjects, values,
 * records, attachments, cookie links). The backup must be of this register,
 * made under its master key or a retired one still in its keyring (see
 * rk_key_rotate), have an intact audit chain, and every ciphertext it
 * brings back must decrypt under its subject's key; the data keys are then
 * wrapped under the current master key and the blind index rebuilt. What
 * must never go back stays live: keys and counters, notice versions,
 * actors, the consent ledger (data of a consent withdrawn since is deleted
 * again), erasures and the audit trail. A live audit trail that does not
 * verify is evidence: the restore is refused (RK_EINTEGRITY) unless flags
 * has RK_RESTORE_FORCE; then a copy of the register as it is is written
 * beside its database file, the backup's trail replaces the live one, the
 * restore's audit entry says so, and rk_errmsg names the copy. Nothing
 * changes on failure. rk_restore is rk_restore_ex with flags 0. */
#define RK_RESTORE_FORCE 1u
RK_API RK_NODISCARD rk_status rk_restore(rk_register *reg, const char *path);
RK_API RK_NODISCARD rk_status rk_restore_ex(rk_register *reg, const char *path,
					    unsigned flags);
/* A register whose database was lost, back from a backup: checks the backup
 * (made under the master key in key_path, intact audit chain, every
 * ciphertext decrypting, its rows as rk_integrity_verify holds them) and
 * copies it into the new file db_path (an
 * existing file is refused), then opens it and records the restore. *out
 * is the open register, or on failure a handle that only carries the
 * error message (close it either way); nothing is left at db_path then.
 * What happened after the backup is not in it: subjects erased since come
 * back and must be erased again. */
RK_API RK_NODISCARD rk_status rk_restore_new(const char *db_path,
					     const char *key_path,
					     const char *backup_path,
					     rk_register **out);

/* Signs the audit chain's head with the register's Ed25519 audit signing
 * key and writes the checkpoint to a new file path. */
RK_API RK_NODISCARD rk_status rk_audit_checkpoint(rk_register *reg,
						  const char *path);
/* rk_audit_verify, and also that the chain still holds the entry that the
 * checkpoint at path signed (a cut tail is detected). */
RK_API RK_NODISCARD rk_status rk_audit_verify_checkpoint(
	rk_register *reg, const char *path, rk_audit_report *report);

/* ---- The data subject's rights: restriction, erasure ---------------------
 */

/* Restricts the processing of subject id (GDPR Art. 18): from then on its
 * data is only stored. Reads and new records for any purpose but the
 * policy's legal-claims purpose (settings.legal_claims_purpose) are refused
 * (RK_EREFUSED, audited), may-contact answers no, no cookie identifier is
 * linked, the consent history is read only by those who handle the
 * subjects' rights, and the subject is not erased; rectification
 * (rk_subject_update) stays possible, but not the removal of a value. reason
 * (required; sealed in the subject's ledger, shown in its consent history and
 * access report) says why. rk_unrestrict lifts it, with the reason (for example
 * that the subject was told). Only the administrator or a role that may audit.
 */
RK_API RK_NODISCARD rk_status rk_restrict(rk_register *reg, const char *id,
					  const char *reason);
RK_API RK_NODISCARD rk_status rk_unrestrict(rk_register *reg, const char *id,
					    const char *reason);
/* Whether subject id's processing is restricted now (no audit entry: the
 * answer holds no personal data). */
RK_API RK_NODISCARD rk_status rk_restricted(rk_register *reg, const char *id,
					    int *restricted);

/* rk_erase flags */
#define RK_ERASE_DRY_RUN 1u

/* Erases subject id (GDPR Art. 17): its values and their blind index
 * entries, records and attachments, consent ledger and evidence, cookie
 * links and its row go, and with the row its data key, so that no copy of
 * the data that an older page of the database file may hold opens any
 * more, and the pseudonym that names the subject in the audit trail can no
 * longer be linked to anyone. A backup made before still opens under the
 * master key it was made under (until rk_key_retire of that key after a
 * rotation); restoring it replays the erasure. What a law requires the
 * controller to keep (records whose retention rule is a legal hold, such as
 * bookkeeping vouchers, while their period runs) is kept sealed under a key
 * of its own, detached from the subject, until that period ends. The
 * erasure is remembered (by a keyed hash of the ID, not the ID), so a
 * backup made before it and restored later does not bring the subject
 * back. *receipt_json (owned; free with rk_free) gets the receipt: what was
 * erased by category and record type, what was kept, on which legal ground
 * and until when, never any value. RK_ERASE_DRY_RUN: the same receipt,
 * nothing changed. Only the administrator or a role that may audit; a
 * subject whose rows fail their MACs is not erased (RK_EINTEGRITY). */
RK_API RK_NODISCARD rk_status rk_erase(rk_register *reg, const char *id,
				       unsigned flags, char **receipt_json);
/* ---- Rights of the data subject: rectification, objection, profile
 * reset, change of kind ------------------------------------------------ */

/* Rectifies or completes record record_id of subject id: json is the new
 * JSON object of the record's fields, validated against the record's type
 * exactly as rk_record_add validates it (a full card number or a HETU is
 * refused), and it replaces the stored fields whole (a field left out is
 * removed). The old fields are kept nowhere: the sealed row is overwritten
 * (SQLite runs with secure_delete) and the write-ahead log is checkpointed
 * after the commit (best effort). The record must serve purpose;
 * RK_ENOTFOUND when the subject has no such record. Audited as
 * "record.update" with the record's number and the names of the fields
 * that changed, never their values. The attachment stays as it is. */
RK_API RK_NODISCARD rk_status rk_record_update(rk_register *reg, const char *id,
					       int64_t record_id,
					       const char *json,
					       const char *purpose);
/* Deletes record record_id of subject id and its attachment (erasure of
 * one record); the record must serve purpose. Audited as "record.delete"
 * with the record's number, type and field names. RK_ENOTFOUND when the
 * subject has no such record. */
RK_API RK_NODISCARD rk_status rk_record_delete(rk_register *reg, const char *id,
					       int64_t record_id,
					       const char *purpose);

/* Lifts an objection recorded with rk_object (the subject lifts the
 * direct-marketing prohibition, say): appends a "lifted" entry to the
 * ledger, deleting nothing; from then on the objection no longer
 * excludes the subject, and rk_may_contact follows the consents again. */
RK_API RK_NODISCARD rk_status rk_object_lift(rk_register *reg, const char *id,
					     const char *objection,
					     const char *channel,
					     const char *evidence);
/* Records the subject's objection to processing based on legitimate
 * interest (a legal basis whose "gdpr" article is 6(1)(f)) for purpose
 * (GDPR Art. 21(1)), or lifts it (lift 1). While it is in force, values
 * and records on such a basis are withheld whenever they are read for
 * that purpose (rk_subject_get, rk_record_list, rk_record_attachment);
 * other purposes are not affected. A purpose the policy does not declare
 * is RK_EINVAL. The ledger names the entry "purpose:PURPOSE" (no policy
 * name holds a colon). */
RK_API RK_NODISCARD rk_status rk_object_purpose(rk_register *reg,
						const char *id,
						const char *purpose, int lift,
						const char *channel,
						const char *evidence);
/* Records the controller's compelling legitimate grounds that override
 * the subject's objection for purpose (Art. 21(1)); reason (required,
 * sealed like evidence) says why. From then on the objection no longer
 * withholds anything, until the subject objects again. Only the operator
 * or a role whose policy entry has "audit" (the data protection lead) may
 * record them (else RK_EREFUSED); RK_EINVAL when no objection for purpose
 * is in force. The ledger names the entry "grounds:PURPOSE". */
RK_API RK_NODISCARD rk_status rk_object_grounds(rk_register *reg,
						const char *id,
						const char *purpose,
						const char *reason);

/* rk_cookie_reset that also resets the profile: the records that came
 * through the identifiers it unlinks (rk_record_add_by_cookie) are deleted
 * in the same transaction; records added to the subject directly stay.
 * *unlinked and *deleted (each may be NULL) get the counts. */
RK_API RK_NODISCARD rk_status rk_cookie_reset_ex(rk_register *reg,
						 const char *id,
						 int64_t *unlinked,
						 int64_t *deleted);

/* rk_subject_convert's flags: delete the values of fields that the new
 * kind may not hold (the policy's per-field "kinds"), instead of refusing. */
#define RK_CONVERT_DROP_DISALLOWED 1u

typedef struct rk_convert_result {
	int customer_number_issued; /* 1: the new kind issued one */
	size_t expiry_changed;	    /* values whose expiry changed */
	char dropped[256]; /* fields whose values were deleted, or "" */
} rk_convert_result;

/* Changes subject id to kind (a prospect becomes a customer): issues a
 * customer number when the new kind has them and the subject has none,
 * and recomputes the expiry of every value under the new kind's retention
 * rule. When the subject holds a field that the new kind may not hold
 * (e.g. a HETU on a prospect), RK_EREFUSED unless flags has
 * RK_CONVERT_DROP_DISALLOWED, which deletes those values. A field the new
 * kind requires and the subject lacks is RK_EINVAL. Audited as
 * "subject.convert". out may be NULL. */
RK_API RK_NODISCARD rk_status
rk_subject_convert(rk_register *reg, const char *id, const char *kind,
		   unsigned flags, const char *purpose, rk_convert_result *out);
/* ---- Access report and data portability (GDPR Art. 15 and 20) ----------- */

/* The version of the access report's JSON document ("version" in it, with
 * "schema": "rekisteri-export"; described by docs/export.schema.json) and
 * of the portable export's subject.json ("schema": "rekisteri-portable").
 * A new key is added within a version; a key renamed, removed or changed
 * in meaning makes a new one. */
#define RK_EXPORT_VERSION 1

typedef enum rk_export_format {
	RK_EXPORT_JSON = 0, /* the versioned JSON document */
	RK_EXPORT_HTML = 1  /* one printable, self-contained HTML page */
} rk_export_format;

typedef struct rk_export_options {
	rk_export_format format;
	/* "fi" or "en" (NULL: "fi"): the language of the labels (from the
	 * policy) and of the fixed texts */
	const char *lang;
	/* NULL, or a directory (created with mode 0700 when missing) into
	 * which every attachment is decrypted as "<record>.<ext>" (mode
	 * 0600; the extension from a fixed list of media types, else
	 * "bin"). Existing files are never overwritten: the export is
	 * refused (RK_EINVAL) before anything is read when one is there. */
	const char *attachments_dir;
} rk_export_options;

/* The access report of subject id: everything the register holds about
 * the subject, whatever the purpose, decrypted (a password only as "set",
 * never its hash; a HETU whole), with the controller, its contact person
 * and the supervisory authority, the purposes, categories and sources of
 * the data, every value and record with its purposes, legal basis,
 * source, times and expiry, the whole consent and objection ledger, the
 * recipients whose purposes meet those of the data (with country and the
 * safeguard of a transfer outside the EU/EEA), the retention rules, and
 * the data subject's rights. Only a role that sees every purpose and
 * every category of the policy may export (else RK_EREFUSED, audited).
 * The read is one audit entry ("subject.export"), committed before
 * anything is handed out or written. *doc_out (may be NULL when only
 * attachments are wanted) is owned and holds personal data: free with
 * rk_free_secret. */
RK_API RK_NODISCARD rk_status rk_export(rk_register *reg, const char *id,
					const rk_export_options *opts,
					char **doc_out);
/* rk_export as JSON, or as HTML, in lang; no attachments. */
RK_API RK_NODISCARD rk_status rk_export_json(rk_register *reg, const char *id,
					     const char *lang, char **json_out);
RK_API RK_NODISCARD rk_status rk_export_html(rk_register *reg, const char *id,
					     const char *lang, char **html_out);
/* rk_export with only the attachments written into dir. */
RK_API RK_NODISCARD rk_status rk_export_attachments(rk_register *reg,
						    const char *id,
						    const char *dir);

/* Data portability: writes into dir (created 0700 when missing) what the
 * subject provided (a source the policy marks provided_by_subject) on the
 * basis of consent or contract: "subject.json" (the fields, each name with
 * its value, or a list of values for a multi-valued field) and one
 * "<record type>.csv" per record type with such records (a header row of
 * the type's field names, RFC 4180 quoting, UTF-8, CRLF line ends; a
 * list's elements one a line in their cell). Files are mode 0600 and
 * never overwrite an existing one (RK_EINVAL before anything is read). The
 * same role as rk_export is needed; audited as one entry
 * ("subject.export.portable"). */
RK_API RK_NODISCARD rk_status rk_export_portable(rk_register *reg,
						 const char *id,
						 const char *dir);
/* ---- Data subject requests (GDPR Art. 12(3)) ------------------------------
 */

/* The register of the requests data subjects make: "access" (Art. 15),
 * "rectification" (16), "erasure" (17), "restriction" (18), "portability"
 * (20) and "objection" (21). A request is due one month from receipt (the
 * same day of the next month, or that month's last day when it has no such
 * day), moved to the next working day when that day is a Saturday, a
 * Sunday, a Finnish public holiday, May Day, Independence Day, Midsummer
 * Eve or Christmas Eve (act 150/1930, 5 §). It may be extended once, by two
 * further months (three months from receipt, moved the same way), while
 * the first month runs.
 *
 * Only the operator (the policy's admin role) and roles with "audit": true
 * may keep this register; others are refused (RK_EREFUSED, audited). Every
 * call is audited ("dsr.open", "dsr.extend", "dsr.close", "dsr.list",
 * "dsr.show"), naming the subject by its pseudonym. A request outlives its
 * subject: after erasure it names the subject by pseudonym only. Requests
 * are bound to the register's row key: a request edited, removed or put
 * back without the key is refused on every call (RK_EINTEGRITY). Reasons
 * are at most 1000 bytes of text without a HETU or card number, sealed in
 * the database.
 *
 * A request as JSON: {"number", "subject" (the ID, or null once the
 * subject is gone), "pseudonym", "type", "status" ("open" or "closed"),
 * "received", "due", "extended_due" (or null), "deadline" (the extended due
 * date when there is one, else the due date), "overdue" (open and the
 * deadline before today), "verified_by", "outcome" ("done", "refused" or
 * null), "closed"}; dates are YYYY-MM-DD. */

/* Opens a request of type for subject id, received on received
 * (YYYY-MM-DD or D.M.YYYY; NULL = today; never in the future), the
 * requester's identity verified by verified_by (a method: 1-32 characters
 * a-z, 0-9, '-', '_'; may be NULL). *number gets the request's number. */
RK_API RK_NODISCARD rk_status rk_dsr_open(rk_register *reg, const char *id,
					  const char *type,
					  const char *received,
					  const char *verified_by,
					  int64_t *number);

/* Flags of rk_dsr_list. Without RK_DSR_ALL only open requests are listed. */
#define RK_DSR_ALL     1u /* closed requests too */
#define RK_DSR_OVERDUE 2u /* only open ones whose deadline is before today */

/* The requests in number order as a JSON array of requests (no reasons);
 * due_before (a date; may be NULL) keeps those whose deadline is before
 * it. *json_out is owned: free with rk_free_secret. */
RK_API RK_NODISCARD rk_status rk_dsr_list(rk_register *reg, unsigned flags,
					  const char *due_before,
					  char **json_out);

/* One request as a JSON object, with "extend_reason" and "reason" (text or
 * null). *json_out is owned and may hold personal data: free with
 * rk_free_secret. RK_ENOTFOUND when there is no such request. */
RK_API RK_NODISCARD rk_status rk_dsr_show(rk_register *reg, int64_t number,
					  char **json_out);

/* Extends the deadline of an open request by two further months, for
 * reason (needed). RK_EINVAL when the request is closed, was extended
 * already, or its first month has ended (today is after its due date).
 * json_out (may be NULL) gets the request as rk_dsr_show gives it. */
RK_API RK_NODISCARD rk_status rk_dsr_extend(rk_register *reg, int64_t number,
					    const char *reason,
					    char **json_out);

/* Closes an open request today with outcome "done" or "refused"; a
 * refusal needs its reason (Art. 12(4)), which is optional otherwise.
 * json_out (may be NULL) gets the request as rk_dsr_show gives it; for an
 * erasure, rectification or restriction also "recipients", the recipients
 * of the policy to tell (Art. 19: [{"name", "kind", "country"}]), those
 * whose purposes overlap the purposes of the subject's data when the
 * request was opened (and now, while the subject is there), and
 * "recipients_basis": "purposes", or "all" when that cannot be told (both
 * null for the other types). */
RK_API RK_NODISCARD rk_status rk_dsr_close(rk_register *reg, int64_t number,
					   const char *outcome,
					   const char *reason, char **json_out);

/* ---- retention, review and confirmation --------------------------------
 *
 * The retention run applies the policy's retention rules: every value and
 * record whose expiry is before as_of (YYYY-MM-DD or D.M.YYYY; NULL =
 * today by the register's clock) is deleted with its ciphertext (a record
 * with its attachment), unless its rule is a legal hold whose own period
 * has not ended; records held after an erasure go when their hold ends;
 * an identifier link goes with the last record that came through it; a
 * subject whose every value and record has gone is deleted whole, with its
 * consent ledger, links and data key, and remembered like an erasure (a
 * restore does not bring it back). The consent ledger is otherwise kept as
 * long as its subject: it is the evidence of consents and objections.
 * The run works in batches of subjects, each one transaction, so an
 * interrupted run changes whole subjects only and is simply run again; the
 * write-ahead log is checkpointed at the end. Its cost follows what
 * expired, not the register's size. Audited: "retention.delete" (or
 * "retention.delete_subject") per subject with the rule names,
 * "retention.delete_held" per batch of held records, and "retention.run"
 * once. Only the operator or a role that may audit may run it.
 *
 * *report_json (owned, free with rk_free_secret; it holds no personal
 * data) is {"report": "retention", "version": 1, "as_of", "at", "dry_run",
 * "subjects": {"examined", "changed", "deleted"}, "deleted": {"values",
 * "records", "attachments", "held_records", "consent_ledger_entries",
 * "cookie_links", "kept_by_legal_hold"}, "rules": [{"rule", "label",
 * "legal_hold", "values", "records", "attachments", "held_records",
 * "kept_by_legal_hold"}], "categories": [{"category", "values"}],
 * "record_types": [{"type", "records", "held_records", "attachments"}],
 * "consent_ledger", "batches", "log_cleared"}. With RK_RETENTION_DRY_RUN
 * the same report of what would go, and nothing changes. fn (may be NULL)
 * is called after each batch with the subjects done and due. */
#define RK_RETENTION_DRY_RUN 1u
/* as_of after today deletes data before its time and ends legal holds
 * early: a run that is not a dry run refuses it (RK_EINVAL) unless this
 * flag says that is meant. */
#define RK_RETENTION_EARLY 2u
RK_API RK_NODISCARD rk_status rk_retention_run(rk_register *reg,
					       const char *as_of,
					       unsigned flags,
					       rk_progress_fn fn, void *ud,
					       char **report_json);

/* The review list: subjects with values not confirmed for older_than
 * ("2y", "18m", "6w", "400d"; NULL = "2y"), values that expired left out,
 * only fields the caller's role may see: {"older_than", "confirmed_before",
 * "count", "subjects": [{"subject", "kind", "fields": [{"field",
 * "confirmed", "age_days"}]}]} (IDs and field names, never values; owned,
 * free with rk_free_secret). Audited per subject ("subject.review"). */
RK_API RK_NODISCARD rk_status rk_review(rk_register *reg,
					const char *older_than,
					char **json_out);

/* Records that the subject confirmed its values (the accuracy promise):
 * the values of fields[0..nfields) (nfields 0: every field the role may
 * handle for purpose) that have not expired get confirmed_at = now.
 * *confirmed (may be NULL) gets the number of values. RK_ENOTFOUND when
 * there is no such value. Audited ("subject.confirm"). */
RK_API RK_NODISCARD rk_status
rk_subject_confirm(rk_register *reg, const char *id, const char *const *fields,
		   size_t nfields, const char *purpose, size_t *confirmed);
/* ---- The controller's paperwork: records of processing (GDPR Art. 30),
 * the breach register (Art. 33-34), anonymous statistics ------------------
 */

/* The forms of a document the library renders. */
typedef enum rk_doc_format {
	RK_DOC_JSON = 0,     /* one JSON document */
	RK_DOC_MARKDOWN = 1, /* Markdown text */
	RK_DOC_HTML = 2	     /* one self-contained, printable HTML page */
} rk_doc_format;

/* The records of processing activities (Art. 30(1)) drawn from the
 * stored policy and the register: the controller and its contact person,
 * the supervisory authority, the purposes (with the legal bases of the
 * data that serve each), the categories of data subjects (subject kinds,
 * with how many subjects each has now), the categories of personal data
 * (the policy's categories with their fields, and the record types, with
 * how many values or records and subjects hold them now), the recipients
 * and the transfers outside the EU/EEA with their safeguards, the
 * retention rules, and the security measures (the policy's section named
 * by settings "security_section", and those the register itself takes).
 * Only counts are read; nothing is decrypted. lang is "fi" or "en" (NULL:
 * "fi"). The administrator and roles with "audit": true may (else
 * RK_EREFUSED, audited); audited as "ropa.render". *doc_out is owned:
 * free with rk_free. */
RK_API RK_NODISCARD rk_status rk_ropa(rk_register *reg, rk_doc_format format,
				      const char *lang, char **doc_out);

/* The breach register. A breach is opened when the controller became
 * aware of it; the Data Protection Ombudsman must be told within 72
 * hours of that (Art. 33(1)), counted in calendar hours between UTC
 * instants and shown in Finnish time (Europe/Helsinki, with its offset,
 * so that a change of daylight saving time in between is counted right).
 * Times are given as ISO 8601 "YYYY-MM-DDTHH:MM[:SS]" with "Z" or an
 * offset "+HH:MM", or without one in Finnish time (refused when that
 * local time is skipped or repeated by a change of daylight saving time);
 * never in the future of the register's clock.
 *
 * The affected subjects are chosen by a query, counted when the breach is
 * opened, and listed for the notification of the subjects (Art. 34) when
 * the risk is high: the subjects that existed then and held a value of a
 * field, had a record of a type, or had data collected within a time
 * range (the conditions given must all hold).
 *
 * The description and the measures may hold personal data: they are text
 * of at most 4000 bytes without a HETU or card number, stored sealed.
 * Every row is bound to the register's row key and the set of breaches is
 * pinned, so a breach edited, removed or put back without the key is
 * refused (RK_EINTEGRITY). Only the administrator and roles with "audit":
 * true may keep the register (else RK_EREFUSED); every call is audited
 * ("breach.open", "breach.update", "breach.close", "breach.list",
 * "breach.show", "breach.subjects").
 *
 * A breach as JSON: {"number", "status" ("open" or "closed"), "aware_at",
 * "opened_at", "deadline" (aware_at + 72 h), "deadline_utc",
 * "seconds_left" (to the deadline from now; negative when it has passed),
 * "time_left" ("71 h 30 min", or "overdue by 2 h 5 min"), "overdue" (the
 * Ombudsman not told and the deadline passed), "dpa_notified_at",
 * "notified_late" (told after the deadline), "risk" ("none", "low",
 * "high" or null), "subjects_notified_at", "categories" (array of
 * names), "query" ({"field", "record_type", "from", "to"} or null),
 * "affected" (integer or null), "counted_at", "closed_at"}; times are
 * Finnish local time with the offset, "deadline_utc" ends in "Z". */
typedef struct rk_breach_query {
	const char *field;	 /* subjects with a value of this field */
	const char *record_type; /* subjects with a record of this type */
	const char *from, *to;	 /* a time range (both or neither) */
} rk_breach_query;

/* Opens a breach the controller became aware of at aware_at, described by
 * description; categories (comma-separated names of the policy's data
 * categories or record types; may be NULL) says what data it concerns;
 * query (may be NULL) chooses the affected subjects. *number gets the
 * breach's number. */
RK_API RK_NODISCARD rk_status rk_breach_open(
	rk_register *reg, const char *aware_at, const char *description,
	const char *categories, const rk_breach_query *query, int64_t *number);

#define RK_BREACH_ALL 1u /* closed breaches too */

/* The breaches in number order as a JSON array (no texts). */
RK_API RK_NODISCARD rk_status rk_breach_list(rk_register *reg, unsigned flags,
					     char **json_out);

/* One breach as a JSON object with "description" and "measures" (text or
 * null). *json_out may hold personal data: free with rk_free_secret.
 * RK_ENOTFOUND when there is no such breach. */
RK_API RK_NODISCARD rk_status rk_breach_show(rk_register *reg, int64_t number,
					     char **json_out);

/* What rk_breach_update changes: each member NULL leaves it as it is. */
typedef struct rk_breach_change {
	const char *dpa_notified_at;	  /* the Ombudsman was told */
	const char *risk;		  /* "none", "low" or "high" */
	const char *subjects_notified_at; /* the subjects were told */
	const char *measures;		  /* replaces the measures text */
	const char *categories;		  /* replaces the categories */
} rk_breach_change;

/* Records what was done about an open breach. RK_EINVAL when it is
 * closed, when a time is before the awareness, or when the subjects are
 * said to be told while the risk is not high. json_out (may be NULL) gets
 * the breach as rk_breach_show gives it. */
RK_API RK_NODISCARD rk_status rk_breach_update(rk_register *reg, int64_t number,
					       const rk_breach_change *change,
					       char **json_out);

/* Closes an open breach: its risk must be assessed, the Ombudsman told
 * unless the risk is "none" (unlikely to result in a risk, Art. 33(1)),
 * and the subjects told when it is "high" (Art. 34); else RK_EINVAL,
 * naming what is missing. */
RK_API RK_NODISCARD rk_status rk_breach_close(rk_register *reg, int64_t number,
					      char **json_out);

/* The subjects to notify of a breach whose risk is high (Art. 34):
 * {"number", "count", "subjects": [ID, ...]} (IDs for the mailing, no
 * values). RK_EINVAL when the risk is not high or the breach has no
 * query. Free with rk_free_secret. */
RK_API RK_NODISCARD rk_status rk_breach_subjects(rk_register *reg,
						 int64_t number,
						 char **json_out);

/* Anonymous statistics: counts of subjects over coarse dimensions only,
 * dims comma-separated (at most 4, each once) from "age_band" (from the
 * birth date, else the HETU: 0-17, 18-29, 30-39, ..., 70+), "gender",
 * "region" (the first two digits of the postal code), "country", "kind",
 * "product" (of the subject's purchases: the policy's statistics section
 * names the record type and field; a subject counts once in each product
 * it bought, and the totals then count subject-product pairs) and
 * "first_purchase_year". A subject without the datum counts under
 * "unknown" (or "none"); a value that fewer than k subjects have at all is
 * counted under "other", so that no rare value is named.
 *
 * Every released cell and total counts at least k subjects (k 0: the
 * policy's "min_cell", default 5; never below 3 nor below the policy's,
 * else RK_EINVAL). Smaller cells are suppressed, and further cells (or
 * totals) with them, until no suppressed cell or total can be derived
 * from what is released (the cells, the totals of each value of each
 * dimension, and the grand total) by any sum or difference. Subjects
 * whose processing is restricted or who objected to the statistics
 * purpose are not counted. Values are decrypted inside the library; only
 * the counts leave. Who may: the administrator and roles whose purposes
 * include the policy's statistics purpose (else RK_EREFUSED). Every
 * release is audited ("stats.release", with the dimensions and k).
 *
 * *json_out (free with rk_free): {"dimensions": [...], "k", "unit"
 * ("subjects" or "subject-product pairs"), "released_at", "values":
 * {dim: [values in order]}, "cells": [{"key": [value per dimension],
 * "count": integer or null when suppressed}], "totals": [{"dimension",
 * "value", "count"}] (only with two or more dimensions), "total",
 * "suppressed": {"primary", "secondary"}}. */
RK_API RK_NODISCARD rk_status rk_stats(rk_register *reg, const char *dims,
				       int k, char **json_out);
/* ---- The privacy notice, its versions and policy changes ---------------- */

/* The notice is rendered from the stored policy (every version is kept):
 * the controller, the person responsible and the register's name, then the
 * policy's notice sections in order, each with the list the policy's items
 * make (purposes, legal bases, data, sources, recipients, retention, ...),
 * and the data subject's rights with the right to complain. */
typedef enum rk_notice_format {
	RK_NOTICE_TEXT = 0, /* plain UTF-8 text */
	RK_NOTICE_MD = 1,   /* Markdown */
	RK_NOTICE_HTML = 2  /* one self-contained page: no script, no links
			       to fetch, inline style, printable */
} rk_notice_format;

/* Renders notice version (0: the current one) in lang ("fi" or "en"; NULL
 * is "fi"). The version's text is checked against the MAC the register
 * keeps for it (RK_EINTEGRITY when it was altered). RK_ENOTFOUND when
 * there is no such version. *out is owned: free with rk_free. */
RK_API RK_NODISCARD rk_status rk_notice_render(rk_register *reg, int version,
					       const char *lang,
					       rk_notice_format format,
					       char **out);

/* Renders the notice of a policy file that is not (yet) stored, e.g. to
 * read a change before applying it. Problems in the file are reported
 * through diag (may be NULL) and give RK_EINVAL. *out: free with rk_free. */
RK_API RK_NODISCARD rk_status rk_notice_render_file(const char *policy_path,
						    const char *lang,
						    rk_notice_format format,
						    rk_diag_fn diag, void *ud,
						    char **out);

/* rk_policy_check_file, and also what a notice must say and the file
 * leaves out (GDPR Art. 13/14: a purpose without a legal basis, legitimate
 * interest without the interests, no supervisory authority, no portability
 * or restriction right, retention without its criteria), each reported
 * through warn (may be NULL) at its place. Warnings do not make the file
 * invalid: the result is as rk_policy_check_file's. *nwarnings (may be
 * NULL) gets their number. */
RK_API RK_NODISCARD rk_status rk_policy_check_file_warn(const char *path,
							rk_diag_fn diag,
							rk_diag_fn warn,
							void *ud,
							size_t *nwarnings);

/* The stored notice versions as a JSON array [{"version", "stored" (ISO
 * 8601 UTC), "current" (bool)}]. *json_out: free with rk_free. */
RK_API RK_NODISCARD rk_status rk_policy_versions(rk_register *reg,
						 char **json_out);

/* What changing to the policy file at path would change, in words, and
 * whether it could be applied. *json_out (free with rk_free):
 * {"from_version", "to_version", "changes": [{"item", "name", "change",
 * "text"}], "blockers": [{"item", "name", "count", "text"}], "unchanged"
 * (bool)}. change is one of added, removed, reworded, widened, narrowed,
 * changed, shortened, lengthened; text says it in a sentence. The
 * administrator only. */
RK_API RK_NODISCARD rk_status rk_policy_diff(rk_register *reg, const char *path,
					     char **json_out);

/* Stores the policy file at path as the next notice version (the older
 * ones stay readable) and loads it into the handle. Refused (RK_EREFUSED,
 * nothing changed) when it would orphan stored data: a removed field that
 * holds values, unless it is named in drop_fields (its values are then
 * deleted, audited per subject); a removed record type with records; a
 * removed consent scope or objection with ledger entries; a removed subject
 * kind with subjects; a removed role with active actors; a removed
 * purpose, legal basis or source that stored data names; a field whose
 * type changes while it holds values. Consents keep the version they were
 * given under. *json_out (may be NULL; free with rk_free_secret) gets the
 * rk_policy_diff object with "version" (the new one) and "affected":
 * {"subjects": [IDs], "consents": [{"subject", "scope", "given_under"}]}:
 * the subjects whose live consent was given under an older text of a scope
 * whose text or reach (its purposes, their text, the data and recipients
 * they use) changed; they need to be asked again. The administrator only;
 * audited. */
RK_API RK_NODISCARD rk_status rk_policy_apply(rk_register *reg,
					      const char *path,
					      const char *const *drop_fields,
					      size_t ndrop, char **json_out);

/* The subjects who need to be asked again now: a live consent given under
 * a version older than the last change of its scope's text or reach.
 * *json_out as "affected" above (free with rk_free_secret). The
 * administrator only; audited. */
RK_API RK_NODISCARD rk_status rk_policy_affected(rk_register *reg,
						 char **json_out);
/* ---- Disclosures, transfers, the own direct-marketing register,
 * marketing decisions by the law ----------------------------------------- */

/* The version of the disclosure document ("schema": "rekisteri-disclosure",
 * "version" in it). */
#define RK_DISCLOSE_VERSION 1

typedef enum rk_disclose_format {
	RK_DISCLOSE_JSON = 0, /* one JSON document */
	/* CSV (RFC 4180, UTF-8, CRLF): a header row "subject,type,record,
	 * name,value" and a row per value ("field" as its type, "" as its
	 * record) and per record field (the record type and number) */
	RK_DISCLOSE_CSV = 1
} rk_disclose_format;

typedef struct rk_disclose_options {
	const char *purpose; /* required: one of the recipient's purposes */
	/* the subjects named (nsubjects of them), or all_eligible: every
	 * subject of the register that qualifies; exactly one of the two */
	const char *const *subjects;
	size_t nsubjects;
	int all_eligible;
	/* the value of the recipient's "select" with "given" (the event
	 * whose participants are disclosed to each other); NULL otherwise */
	const char *event;
	/* the legal ground of an authority's request (recipients with
	 * "legal_ground"; needed there, refused elsewhere): one line of at
	 * most 200 bytes that cites a law, kept in the log in the clear */
	const char *legal_ground;
	rk_disclose_format format;
} rk_disclose_options;

typedef struct rk_disclose_result {
	int64_t batch;	  /* the disclosure's number in the log; 0: none */
	size_t disclosed; /* subjects in the document */
	size_t excluded;  /* subjects left out */
	/* why they were left out: "reason=count" comma-separated, reasons
	 * "prohibition", "restricted", "objection", "no_consent",
	 * "not_selected", "nothing" (no data the recipient may receive) */
	char excluded_by[256];
} rk_disclose_result;

/* Discloses to recipient (a recipient of the policy) for purpose exactly
 * what it may receive: of each subject, the values of the fields and
 * categories the recipient's policy entry names that serve the purpose,
 * are not expired, not withheld by an objection and not waiting for a
 * consent, and the records of the types it names (only the matching ones
 * of a "select"); everything, whatever its purpose, for a recipient with
 * "everything" (a transfer of the business). A password never leaves.
 * Refused (RK_EREFUSED, audited) when the recipient is outside the EU/EEA
 * in a country without an adequacy decision and without a recorded
 * safeguard, when purpose is not one of its purposes, or when the actor's
 * role may not process for it or see a category the recipient may
 * receive. Left out: a restricted subject (unless purpose is the policy's
 * legal-claims purpose); for the marketing purpose, a subject with the
 * direct-marketing prohibition or an objection to it, and, for a third
 * party, one without a live consent of a scope that names the recipient;
 * with a "select", a subject without a matching record. A subject named
 * that does not exist is RK_ENOTFOUND (nothing is disclosed); when every
 * subject named is left out the call is refused (RK_EREFUSED). Each
 * subject disclosed gets a line in the disclosure log (what went: field
 * names, record types and count; where: recipient, country, safeguard;
 * when; why: purpose, legal ground, the rule it qualified under) and an
 * audit entry ("disclose"), in one write. *doc_out (owned; personal
 * data: free with rk_free_secret) gets the document; res may be NULL. */
RK_API RK_NODISCARD rk_status rk_disclose(rk_register *reg,
					  const char *recipient,
					  const rk_disclose_options *opts,
					  char **doc_out,
					  rk_disclose_result *res);

/* The disclosure log (of subject id, or all when NULL) as a JSON array of
 * {"number", "batch", "subject" (the ID, or null once the subject is
 * gone), "pseudonym", "recipient", "recipient_kind", "country",
 * "safeguard", "purpose", "at" (ISO 8601 UTC), "actor", "fields",
 * "record_types" (arrays of names), "records", "legal_ground", "basis"}
 * in order. The log is chained under the register's row key: a line
 * edited, removed or put back is RK_EINTEGRITY. Needs a role that may
 * audit, or the administrator; audited ("disclosure.list"). *json_out is
 * owned: free with rk_free. */
RK_API RK_NODISCARD rk_status rk_disclosure_list(rk_register *reg,
						 const char *id,
						 char **json_out);

/* Moves what marketing may keep of subject id into the controller's own
 * direct-marketing register after the relationship ended: the values of
 * the fields the policy's marketing section names ("register_fields") are
 * re-purposed to the marketing purpose alone, on "register_legal_basis",
 * kept by "register_retention" counted from today; the rest of the
 * subject's data keeps its own purposes and expiry. Refused (RK_EREFUSED)
 * while the relationship goes on, for a subject with the direct-marketing
 * prohibition, an objection to marketing, or a restriction, and when the
 * subject was moved already. Logged in the disclosure log (recipient
 * "rk:marketing_register", kind "controller") and audited
 * ("marketing.transfer"). json_out (may be NULL; owned, free with rk_free)
 * gets {"subject", "fields" (moved), "expires", "retention"}. Only the
 * administrator, a role that audits, or a marketing role of the policy. */
RK_API RK_NODISCARD rk_status rk_transfer_to_marketing(rk_register *reg,
						       const char *id,
						       char **json_out);

typedef struct rk_contact_options {
	/* "email", "sms", "phone", "post" or "automated_call" */
	const char *channel;
	int third_party; /* 1: a third party's marketing */
	/* the third party (a recipient of the policy); NULL: the policy's
	 * third-party consent scope is asked */
	const char *recipient;
	/* the product category (policy "product_categories") the message
	 * markets; NULL: not known, and the existing-customer exception
	 * answers with the categories the customer bought */
	const char *product_category;
} rk_contact_options;

/* rk_may_contact with the facts the law uses (917/2014 ss. 200-202, GDPR
 * Art. 21(3)): the channel, whose marketing, which product category. The
 * decision names its rule, the provision and what each message must
 * offer. RK_EINVAL for an unknown channel, recipient or category. */
RK_API RK_NODISCARD rk_status rk_may_contact_ex(rk_register *reg,
						const char *id,
						const rk_contact_options *o,
						rk_decision *out);

/* ---- the web console and the self-service page -----------------------
 *
 * What the console shows a signed-in actor, and the data subject's own
 * page: staff issue a single-use, short-lived link for one subject; its
 * secret is exchanged once for a short-lived session that acts on that
 * subject only. Only keyed hashes of the secrets are stored. */

/* The handle's actor and what its role may do, for a user interface: *
 * *json_out (owned, free with rk_free; no personal data) is {"actor",
 * "role" (or null for the operator), "purposes": [{"name", "label": {"fi",
 * "en"}}] the role may process for, "default_purpose", "lookup": [{"name",
 * "label", "hetu"}] the fields it may look subjects up by, "audit" (may read
 * the audit trail), "rights" (handles the subjects' requests), "scopes",
 * "objections", "record_types" (each also with its "fields"), "kinds",
 * "fields" (those the role may see), "bases", "sources" (each [{"name",
 * "label"}])}. */
RK_API RK_NODISCARD rk_status rk_register_whoami(rk_register *reg,
						 char **json_out);

#define RK_SELFSERVICE_LINK_TTL	   900	/* seconds a link lives by default */
#define RK_SELFSERVICE_SESSION_TTL 1800 /* seconds a session lives */
#define RK_SELFSERVICE_LIVE_MAX	   3	/* unused live links per subject */

/* Issues a self-service link for subject id (the actor's role must be
 * allowed purpose, NULL: the default, and handle the subjects' rights: the
 * administrator or a role that may audit, since the link opens all of the
 * subject's data; others get RK_EREFUSED): secret_out gets its secret,
 * shown once; it lives ttl_seconds (0: RK_SELFSERVICE_LINK_TTL; 60-86400) and
 * is good for one exchange. RK_EREFUSED when the subject has
 * RK_SELFSERVICE_LIVE_MAX unused live links already. Audited as
 * "selfservice.link". */
RK_API RK_NODISCARD rk_status
rk_selfservice_link(rk_register *reg, const char *id, const char *purpose,
		    unsigned ttl_seconds, char secret_out[RK_TOKEN_LEN + 1],
		    int64_t *expires_out);
/* Exchanges a link's secret, once, for a session token that lives
 * RK_SELFSERVICE_SESSION_TTL seconds (*expires_out: Unix seconds).
 * RK_EREFUSED for a used, expired or unknown link (the same answer for
 * each). Audited as "selfservice.open", a refusal too. */
RK_API RK_NODISCARD rk_status rk_selfservice_exchange(
	rk_register *reg, const char *link_secret,
	char session_out[RK_TOKEN_LEN + 1], int64_t *expires_out);
/* Acts as the data subject of a live session from now on: id_out gets the
 * subject's ID, and the calls made on the handle are audited under the
 * actor "(self-service)". The caller must act on id_out only. RK_EREFUSED
 * for an ended or unknown session (audited); RK_EINTEGRITY (audited) when the
 * register's self-service rows are not the set it pinned (a signed-out
 * session's row written back, say). */
RK_API RK_NODISCARD rk_status rk_selfservice_authenticate(
	rk_register *reg, const char *session, char id_out[RK_ID_LEN + 1]);
/* Ends a session (signing out): its token no longer works. */
RK_API RK_NODISCARD rk_status rk_selfservice_end(rk_register *reg,
						 const char *session);
/* ---- group commit --------------------------------------------------------
 *
 * A server that takes writes from many clients at once can let them share
 * one commit: rk_register_group_begin opens one write transaction on the
 * handle, the writes that follow (any rk_* call that writes) each run in a
 * savepoint of it, and rk_register_group_commit commits them all at once,
 * with the database's log synced to disk (one sync for the group).
 *
 * - A write that fails inside the group undoes only itself (its savepoint);
 *   the other writes of the group stay. Its refusal is audited as usual.
 * - The audit entries of all the group's calls go into the same
 *   transaction, chained in the order of the calls.
 * - Nothing of the group is visible to other handles, nor durable, before
 *   rk_register_group_commit returns RK_OK; when that fails (RK_ESYS), or
 *   after rk_register_group_rollback, none of it is: a caller answers
 *   "done" for a call of the group only after the commit succeeded.
 * - Reads inside a group see its writes; their audit entries are journalled
 *   first (as with an audit batch above 1) and committed with the group.
 * - rk_register_begin inside a group opens a bulk transaction nested in
 *   it (rk_register_commit keeps it in the group, rk_register_rollback
 *   undoes only it). Erasure, retention runs, backups, restores,
 *   checkpoints and key work are refused inside a group (RK_EINVAL).
 * - The handle holds the register's write lock while the group is open:
 *   keep groups short. rk_register_close rolls back an open group. */
RK_API RK_NODISCARD rk_status rk_register_group_begin(rk_register *reg);
RK_API RK_NODISCARD rk_status rk_register_group_commit(rk_register *reg);
RK_API void rk_register_group_rollback(rk_register *reg);
/* ---- Moving a register (SQLite and PostgreSQL) ----------------------------
 */

/* Copies the register into the new database to_db (a SQLite file that must
 * not exist, or a postgresql:// URL of a database that holds no register),
 * with its keys, notice versions, consent ledger, audit trail and every
 * other row as stored (nothing is opened on the way), then opens the copy
 * with the same key file and verifies its audit chain and row MACs. The
 * source's trail records the move. *rows (may be NULL) gets how many rows
 * went. Writes committed by other handles during the move may be missing
 * from the copy: stop them first. Needs the administrator's role. */
RK_API RK_NODISCARD rk_status rk_register_migrate(rk_register *reg,
						  const char *to_db,
						  int64_t *rows);

/* ---- Listing backups (the server's backup folder) -------------------------
 */

/* RK_OK when the handle's actor may make, restore and so also list backups
 * (the administrator); RK_EREFUSED otherwise, with the refusal audited as
 * `backup.list`. Lets a caller that keeps backups in a folder of its own
 * (the HTTP server's --backup-dir) ask before it lists the folder. */
RK_API RK_NODISCARD rk_status rk_backup_list_allowed(rk_register *reg);
/* ---- Read replica (PostgreSQL) --------------------------------------------
 */

/* Lets read transactions of this handle run on a streaming-replication
 * standby of the register's PostgreSQL database, at url (a postgresql://
 * URL; NULL or "" turns it off). Every write, every audit entry (also
 * those of reads) and every read inside a write stays on the primary. A
 * read goes to the standby only when it has replayed what this handle
 * wrote, so the handle reads its own writes; it may still miss what other
 * handles committed in the last replay lag. While the standby cannot be
 * reached or is behind, reads run on the primary. RK_EINVAL for a SQLite
 * register, a server that is not a standby, or inside a transaction. */
RK_API RK_NODISCARD rk_status rk_register_set_read_replica(rk_register *reg,
							   const char *url);
/* How many read transactions of this handle the standby served. */
RK_API int64_t rk_register_replica_reads(const rk_register *reg);

/* ---- Ending a request on a kept handle -----------------------------------
 */

/* With on = 1 (default 0), a repeated authentication with the same token (a
 * server's next request on a pooled handle) keeps the read snapshot it
 * checked the actor set in open for the handle's next read: the request
 * reads in the snapshot its actor was proven in, at the cost of one
 * snapshot instead of two. Writes, bulk and group transactions end it
 * first. For handles that serve one short request at a time: the caller
 * ends every request with rk_register_release. */
RK_API void rk_register_set_request_snapshot(rk_register *reg, int on);
/* Ends that snapshot if no read took it over (an open snapshot would hold
 * back the log's checkpoint and show the next request old data). Harmless
 * when there is none. */
RK_API void rk_register_release(rk_register *reg);

/* ---- The handle's channel for the consent ledger -------------------------
 */

/* The channel recorded in the consent ledger for the entries this handle
 * writes without a channel argument: rk_restrict and rk_unrestrict, and
 * rk_consent_set, rk_object and the others when their channel is NULL.
 * Validated like those channels (1 to 32 characters a-z, 0-9, _ and -);
 * NULL goes back to the default, "cli". An application on the API sets
 * its own (the HTTP server's handles say "api"). RK_EINVAL for a channel
 * not of that form (the handle's channel stays as it was). */
RK_API RK_NODISCARD rk_status rk_register_set_channel(rk_register *reg,
						      const char *channel);

/* ---- Read replica: read-your-writes across handles (PostgreSQL) ----------
 */

/* A floor that several handles share (a server's pool of handles and its
 * writer): every write that a handle sharing it commits raises the floor
 * to the primary's WAL position after the commit, and a read transaction
 * of any handle sharing it goes to that handle's standby
 * (rk_register_set_read_replica) only when the standby has replayed up to
 * the floor. So a client that wrote through one handle reads its write
 * through any other. Handles in different threads may share one floor
 * (it is one atomic number). A write whose position could not be learned
 * (the primary's connection lost right after the commit) keeps the reads
 * of every sharing handle on the primary until the floor is freed. */
typedef struct rk_read_floor rk_read_floor;

/* A new floor at 0 (no write yet). RK_ESYS when out of memory. */
RK_API RK_NODISCARD rk_status rk_read_floor_new(rk_read_floor **out);
/* Frees the floor; NULL is harmless. Only after every handle that shares
 * it is closed or has left it. */
RK_API void rk_read_floor_free(rk_read_floor *floor);
/* The floor's position: the primary's WAL position (pg_lsn as a 64-bit
 * number) after the last write of the handles sharing it; 0 before any
 * write, UINT64_MAX while a write's position is unknown (until a read
 * learns where the primary's WAL ends; reads stay on the primary). */
RK_API uint64_t rk_read_floor_position(const rk_read_floor *floor);
/* Lets the handle share floor (NULL: leave it). Its writes raise the floor
 * from now on, with or without a replica set on this handle (a handle that
 * only writes shares it too); its reads on a standby wait for it. Harmless
 * on a SQLite register (it has no replica). RK_EINVAL for a NULL handle. */
RK_API RK_NODISCARD rk_status
rk_register_share_read_floor(rk_register *reg, rk_read_floor *floor);
/* With on = 0, the handle's read transactions run on the primary though a
 * read replica is set (the standby's connection is kept); on = 1 (the
 * default) lets them go to the standby again. Takes effect at the next
 * read transaction. For a caller that decides per request what may be read
 * on a standby (a server: not the authentication, not a decision). */
RK_API void rk_register_use_read_replica(rk_register *reg, int on);

/* ---- Cookie reset with its channel ---------------------------------------
 */

/* rk_cookie_reset_ex with the channel the reset came through (as
 * rk_consent_set's: 1 to 32 of a-z, 0-9, _ and -, e.g. "web", "api"), kept
 * in the ledger entry that records the reset; NULL means the handle's
 * channel (rk_register_set_channel; "cli" unless set). */
RK_API RK_NODISCARD rk_status rk_cookie_reset_via(rk_register *reg,
						  const char *id,
						  const char *channel,
						  int64_t *unlinked,
						  int64_t *deleted);

/* ---- Checkpoints off the request path ------------------------------------
 */

/* With pages > 0, this handle's commits (writes, and the batches of read
 * audit entries) no longer copy the database's log back into it themselves
 * once the log holds that many pages (a copy and two syncs, tens of
 * milliseconds, in the middle of a request): they note that a checkpoint is
 * owed, and rk_register_checkpoint_owed on any handle of the process runs
 * it. For a server whose workers should not wait for the disk; it must
 * then call rk_register_checkpoint_owed often (a thread of its own). A
 * commit that finds the log past three times pages (and past 12,000
 * pages) copies the rest itself
 * while new writers wait (when writes come in faster than the thread's
 * copies, the log would otherwise never start anew). 0
 * (default): the handle's commits checkpoint as usual. Nothing to do on
 * PostgreSQL, whose checkpoints are its own. */
RK_API RK_NODISCARD rk_status rk_register_defer_checkpoints(rk_register *reg,
							    int pages);
/* Runs the checkpoint a deferring handle noted as owed, if any, without
 * waiting for readers or writers (what they still use stays in the log for
 * the next one); *ran (may be NULL) gets 1 when one ran. On a handle that
 * is in no transaction; RK_EINVAL otherwise. */
RK_API RK_NODISCARD rk_status rk_register_checkpoint_owed(rk_register *reg,
							  int *ran);

/* ---- Bounded staleness on a read replica ---------------------------------
 */

/* With ms > 0, a read goes to the handle's read replica only while the
 * last transaction the standby replayed committed at most ms milliseconds
 * ago (by the standby's clock), besides having replayed the read floor: a
 * change made by another process, which the floor cannot know of (an
 * erasure through the command line, say), shows there within ms or the
 * read runs on the primary. A primary with no recent commit makes every
 * read run on it. 0 (default): no bound. RK_EINVAL when ms < 0. Nothing to
 * do on SQLite. */
RK_API RK_NODISCARD rk_status rk_register_set_replica_max_lag(rk_register *reg,
							      int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
