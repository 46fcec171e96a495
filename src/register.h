/*
 * register.h: the register handle shared by the library's modules (never
 * installed). Holds the store, the stored policy, the keys, the caller's
 * actor, the clock and the queue of read audit entries.
 */
#ifndef RK_REGISTER_H
#define RK_REGISTER_H

#include <stdint.h>

#include "rekisteri.h"
#include "audit_action.h"
#include "policy.h"
#include "store.h"

#define REG_ACTOR_MAX	    64
#define REG_ERR_MAX	    256
#define REG_AUDIT_BATCH_MAX 1024

/* The register keys that meta holds wrapped by the master key, and the
 * associated data that binds each to its role; the master key's id. */
#define META_KEY_ID	"master_key_id"
#define META_INDEX_KEY	"index_key"
#define AD_INDEX_KEY	"register:index-key"
#define META_COOKIE_KEY "cookie_key"
#define AD_COOKIE_KEY	"register:cookie-key"
#define META_AUDIT_KEY	"audit_key"
#define AD_AUDIT_KEY	"register:audit-key"
#define META_SIGN_KEY	"audit_sign_key"
#define AD_SIGN_KEY	"register:audit-sign-key"
#define META_ROW_KEY	"row_key"
/* The audit trail's kept head (audit.c). */
#define META_HEAD  "audit_head"
#define AD_ROW_KEY "register:row-key"

/* A forced restore's fields when they say the trail came from the backup. */
#define AUDIT_TRAIL_FROM_BACKUP "audit_trail_from_backup"

/* One audit event before it gets its place in the chain. Fixed-size copies:
 * names of fields and purposes only, never values. */
typedef struct audit_ev {
	int64_t at_us;
	char actor[REG_ACTOR_MAX];
	char action[40];
	char subject[33]; /* pseudonym or "" */
	char fields[512]; /* comma-separated names, or "" */
	char purpose[64]; /* or "" */
	char outcome[16];
} audit_ev;

struct rk_register {
	store *st;
	policy *pol;
	int policy_version;
	unsigned char *mk;   /* master key: wraps the keys below */
	unsigned char *ikey; /* blind index key */
	unsigned char *ckey; /* hashes cookie identifiers (kept by rotation) */
	unsigned char *akey; /* audit chain key */
	unsigned char *rkey; /* row key: MACs of access-deciding rows */
	char key_path[4096]; /* the master key's file (rotation, restore) */
	/* the database file (restore keeps a copy; the audit journal lives
	 * beside it) */
	char db_path[4096];
	char actor[REG_ACTOR_MAX];
	/* the actor's role in the policy; POL_NONE: unrestricted */
	size_t role;
	int authenticated; /* the actor proved itself with a token */
	char err[REG_ERR_MAX];
	int64_t clock; /* fixed "now" in Unix seconds, 0 = real time */
	unsigned audit_batch;
	audit_ev *queue; /* read audit entries not yet committed */
	unsigned nqueue;
	unsigned queue_cap; /* grows: a bulk transaction keeps its entries */
	unsigned nqueue_in_txn; /* how many of them the open write took */
	/* Inside a bulk transaction: the store's change count when the
	 * current operation began, and whether an operation failed after it
	 * had written (then the whole transaction must roll back). */
	int64_t op_changes;
	int bulk_spoiled;
	int in_write; /* an operation's write is open */
	/* The chain's head as this write transaction left it: read once per
	 * transaction instead of once per entry. */
	int head_valid;
	int64_t head_seq;
	unsigned char head_hash[SEC_HASH_BYTES];
	int bulk; /* rk_register_begin's transaction is open */
	/* Read entries not yet in the chain are written here before the
	 * data leaves (created on the first such read); jseq numbers them. */
	struct ajournal *aj;
	uint64_t jseq;
	/* The chain's head moved in this transaction: the kept head must be
	 * written before it commits. */
	int head_dirty;
	/* A register without a kept head may take the trail's last entry
	 * as its head: at init and at the one-time upgrade only. */
	int head_adopt;
	/* The register's sum over its subject rows (integrity.c), read once
	 * per write transaction and written back when it commits. */
	int set_valid, set_dirty;
	unsigned char set_acc[SEC_HASH_BYTES];
	/* The trail was seen to show that the pinned sums carry their tags
	 * (integrity.c): a sum without one is then an edit. */
	int sums_tagged;
	/* The last commit of queued read entries failed without taking a
	 * new key (a busy or unwritable register). */
	int flush_failed;
	/* The audit key before a rotation in the open transaction: put
	 * back if it rolls back, dropped when it commits. */
	unsigned char *akey_prev;
	/* ---- group commit (rk_register_group_begin) ----
	 * One write transaction for many operations, each in a savepoint.
	 * The handle's view of the transaction (the chain's head, the subject
	 * rows' sum, the queued entries carried) when each savepoint began:
	 * an operation rolled back to its savepoint puts it back. Level 0 is
	 * an operation's, level 1 a bulk transaction's inside the group. */
	int group;
	int group_spoiled; /* a savepoint could not be undone */
	int group_scrub;   /* an operation owes a WAL checkpoint */
	int group_policy;  /* the policy version when the group began */
	/* A savepoint undone took back a policy change: txn.c reads the
	 * policy in force again before the call returns. */
	int policy_undone;
	struct reg_snap {
		int head_valid, head_dirty, set_valid, set_dirty;
		int64_t head_seq;
		unsigned char head_hash[SEC_HASH_BYTES];
		unsigned char set_acc[SEC_HASH_BYTES];
		unsigned nqueue_in_txn;
		int policy_version;
	} snap[2];
	/* ---- the last successful authentication (access.c) ----
	 * The same token on the handle's next authentication costs one read
	 * (the actor set's pin) instead of a walk over every actor with its
	 * MACs. It is reused only while the stored pin is the one checked
	 * with it, in the same snapshot: any change of an actor (a
	 * revocation too) or of the row key changes the pin, and then the
	 * whole check runs again. */
	int auth_cached;
	int auth_policy; /* the policy version it was made under */
	size_t auth_role;
	char auth_actor[REG_ACTOR_MAX];
	/* the token's plain hash (sec_token_hash): a hit costs no keyed
	 * hash, and the pin still changes with the row key */
	unsigned char auth_token_plain[SEC_HASH_BYTES];
	unsigned char auth_pin[SEC_HASH_BYTES];

	/* ---- the snapshot of a cached authentication (access.c) ----
	 * The read that checked the cached pin stays open, so that the
	 * request's own first read (reg_begin_read) runs in it instead of
	 * opening another: one snapshot, one lock round, and the data read
	 * is the data the actor set was checked against. Any other begin
	 * ends it first (reg_drop_kept_read); rk_register_release ends it
	 * when the caller is done with the request. Only on a handle that
	 * asked for it (rk_register_set_request_snapshot): an application
	 * that authenticates once and reads later must not read old data. */
	int keep_auth_read;
	int read_kept;

	/* ---- the channel of ledger entries given none (consent.c) ----
	 * rk_register_set_channel; "" is the command line's "cli". */
	char channel[33];

	/* ---- speed: keyed hash states (crypto.h sec_kst) ----
	 * Made from akey (the chain, the journal's and the head's MACs) and
	 * ikey (blind indexes) on first use and whenever those change;
	 * reg_free wipes them. */
	sec_kst *kst_akey;
	sec_kst *kst_ikey;
};

/* register.c: ends the read that a cached authentication kept open, if any;
 * every begin other than reg_begin_read's calls it first. */
void reg_drop_kept_read(rk_register *r);

/* Sets the handle's error message (printf-like) and returns st. */
rk_status reg_fail(rk_register *r, rk_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Wraps a store failure: "what: <store message>", RK_ESYS. */
rk_status reg_store_fail(rk_register *r, const char *what);

int64_t reg_now(const rk_register *r);
int64_t reg_now_us(const rk_register *r);
void reg_today(const rk_register *r, char out[11]);

/* Write transaction: begins (keys_load.c: with the handle's keys current),
 * and on commit (txn.c) also commits the queued read audit entries that
 * audit_write appended inside it, the trail's kept head and the subject
 * rows' sum. reg_rollback (txn.c) undoes it and reads the policy in force
 * again when the write had changed it. */
rk_status reg_begin_write(rk_register *r);
rk_status reg_commit(rk_register *r);
void reg_rollback(rk_register *r);

/* register.c: the plain store transaction under reg_begin_write and
 * reg_commit, for the layers that compose them (keys_load.c, audit.c,
 * integrity.c, txn.c). reg_txn_begin opens an operation's write: inside a
 * bulk transaction nothing, inside a group a savepoint, otherwise a store
 * transaction (*fresh set: the caller checks the keys). */
rk_status reg_txn_begin(rk_register *r, int *fresh);
/* Begins the store transaction of a bulk transaction or group. */
rk_status reg_txn_open_outer(rk_register *r);
/* The end of an operation's write inside a bulk transaction (nothing) or
 * a group (its savepoint released): 1 and *st; 0 when a store transaction
 * is to commit. */
int reg_txn_nested_end(rk_register *r, rk_status *st);
/* Commits the store transaction when st is RK_OK (the steps before the
 * commit succeeded), else rolls it back; the read entries it carried
 * leave the queue only when it commits. */
rk_status reg_txn_end(rk_register *r, rk_status st);
/* Rolls the store transaction back (the whole bulk or group). */
void reg_txn_abort(rk_register *r);
/* reg_rollback without reading the policy again: for the trail's and the
 * row MACs' own writes, which never change the policy. */
void reg_txn_rollback(rk_register *r);
/* Group savepoints at level 0 (an operation) or 1 (a bulk transaction). */
rk_status reg_group_op_begin(rk_register *r, int level);
rk_status reg_group_op_end(rk_register *r, int level);
void reg_group_op_undo(rk_register *r, int level);
/* A consistent read of several statements (nothing to do inside a bulk
 * transaction, which already is one). */
rk_status reg_begin_read(rk_register *r);
void reg_end_read(rk_register *r);

/* keys_load.c: unwraps a subject's data key into guarded memory (caller frees
 * with sec_key_free). RK_EINTEGRITY when the wrap does not open. */
rk_status reg_subject_key(rk_register *r, const store_subject *s,
			  unsigned char **dk_out);

/* A register key (SEC_KEY_BYTES) wrapped by the master key in meta under
 * name, bound to ad. Loading a missing one is RK_EINTEGRITY. */
rk_status reg_store_key(rk_register *r, const char *name, const char *ad,
			const unsigned char *key);
rk_status reg_load_key(rk_register *r, const char *name, const char *ad,
		       unsigned char **out);

/* register.c: whether id is a subject ID (32 lowercase hex digits). */
int reg_valid_id(const char *id);
/* integrity.c: reads a subject row and checks it against its MAC:
 * RK_EINVAL for a malformed ID, RK_ENOTFOUND, RK_EINTEGRITY. */
rk_status reg_load_subject(rk_register *r, const char *id, store_subject *sub);

/* op.c: what the operations on a subject's data share (below). */
/* The longest value a field may hold, and a text's length when its field
 * declares none. */
#define REG_VALUE_MAX	     4096
#define REG_TEXT_DEFAULT_MAX 200
/* A subject to process for purpose index pu: it exists, is not kept from
 * that purpose by a direct-marketing prohibition, and its data key is
 * unwrapped into *dk (free with sec_key_free). */
rk_status reg_subject_for(rk_register *r, const char *id, size_t pu,
			  store_subject *sub, unsigned char **dk);
/* op.c: reg_subject_for inside a new read snapshot (*reading set once it
 * is open; the caller ends it), so that the row and what it pins are read
 * together. */
rk_status reg_read_subject(rk_register *r, const char *id, size_t pu,
			   store_subject *sub, unsigned char **dk,
			   int *reading);
/* reg_subject_for for a rectification (GDPR Art. 16), which a
 * restriction of processing does not hold up. */
rk_status reg_subject_to_rectify(rk_register *r, const char *id, size_t pu,
				 store_subject *sub, unsigned char **dk);
/* op.c: reg_subject_for for a read of the subject's values, which also
 * needs ledger_purpose_objected: both from one walk of the ledger
 * (ledger_read_flags); *objected as that gives it. */
rk_status reg_subject_for_read(rk_register *r, const char *id, size_t pu,
			       store_subject *sub, unsigned char **dk,
			       int *objected);
/* Purpose by name (NULL: the policy's default) as an index. */
rk_status reg_resolve_purpose(rk_register *r, const char *purpose, size_t *pu);
/* Validates and normalises one value of field f (any pol_type) into out;
 * RK_EINVAL names the field but never quotes the value. */
rk_status value_normalise(rk_register *r, const pol_field *f, const char *in,
			  char *out, size_t outsz);
/* value_normalise into the first bytes of out (cap bytes) that the result
 * needs, as far as a caller can tell in advance: *used is how many bytes of
 * out may have been written, the part to wipe. Same result and error. */
rk_status value_normalise_fit(rk_register *r, const pol_field *f,
			      const char *in, char *out, size_t cap,
			      size_t *used);
/* Expiry (YYYY-MM-DD) under retention rule ri of something collected at
 * collected for a relationship that ended on rel_end ("" if ongoing);
 * out is "" while open-ended. */
void reg_expiry(const rk_register *r, size_t ri, int64_t collected,
		const char *rel_end, char out[11]);
/* A record's fields are sealed under the subject's data key with
 * associated data naming its type (reg_record_ad: -1 when it does not
 * fit); reg_record_open decrypts a stored record's fields into a JSON
 * object (personal data: free with json_free_secret). No access check and
 * no audit: the caller does both. */
#define REG_RECORD_AD_MAX 96
struct json_t;
int reg_record_ad(char *out, size_t cap, const char *type);
rk_status reg_record_open(rk_register *r, const store_subject *sub,
			  const unsigned char *dk, const store_record *rec,
			  struct json_t **out);
/* audit.c: queues an audit entry for a call that failed or was refused,
 * keeping the handle's error message. */
void reg_audit_attempt(rk_register *r, audit_action action,
		       const char *pseudonym, const char *purpose,
		       rk_status st);
/* RK_EINVAL "unknown <what>: the policy declares ...": the unknown name
 * itself is never repeated (it may be personal data typed by mistake). */
rk_status reg_unknown_field(rk_register *r, const char *what,
			    const pol_field *fields, size_t n);
rk_status reg_unknown_named(rk_register *r, const char *what,
			    const pol_named *items, size_t n);
/* Comma-separated name lists (audit fields, stored purposes). */
int csv_has(const char *csv, const char *name);
void csv_add(char *buf, size_t cap, const char *name);
/* csv_add without its search for name: for a caller that knows it is not
 * there yet. */
void csv_append(char *buf, size_t cap, const char *name);
/* The names of csv as a new JSON array of strings; NULL when memory runs
 * out. */
struct json_t *csv_json(const char *csv);
/* register.c: wipes a NUL-terminated heap string and frees it; NULL
 * allowed. */
void reg_free_secret(char *s);
/* A free text of the controller's (a reason, a description), normalised
 * into a new *out (lines of at most max bytes, no HETU or card number);
 * RK_EINVAL names what, never quotes the text. */
rk_status reg_text_check(rk_register *r, const char *what, const char *in,
			 size_t max, char **out);
/* op.c: j as the library hands JSON out (indented, keys in order) into a
 * new *out; RK_ESYS when memory runs out. */
rk_status reg_json_out(rk_register *r, const struct json_t *j, char **out);
/* op.c: a stored value of subject sid opened with its data key dk into a
 * new NUL-terminated *pt of *len bytes (wipe and free); *pt stays NULL on
 * failure: RK_EINTEGRITY when it is damaged or does not decrypt, RK_ESYS
 * when memory runs out. */
rk_status reg_value_open(rk_register *r, const unsigned char *dk,
			 const char *sid, const store_value *v,
			 unsigned char **pt, size_t *len);
/* op.c: the end of an operation that hands out JSON read from the register.
 * With st RK_OK, j goes into *json_out and the read is audited (action,
 * subject, fields, "ok"): nothing leaves without its entry. On a failure,
 * before (st) or here, the attempt is audited against subject unless the
 * system failed (RK_ESYS), and *json_out is wiped and cleared. The
 * outcome. */
/* op.c: the end of a write begun with reg_begin_write that went well: its
 * entry (action, subject, fields, purpose, "ok") into the trail inside the
 * transaction, then the commit. The outcome (on failure the caller rolls
 * back, for example with reg_write_failed). */
rk_status reg_write_commit(rk_register *r, audit_action action,
			   const char *subject, const char *fields,
			   const char *purpose);
/* op.c: the end of a write that failed: rolled back, and the attempt
 * audited (as reg_audit_attempt). */
void reg_write_failed(rk_register *r, audit_action action,
		      const char *pseudonym, const char *purpose, rk_status st);
rk_status reg_read_out(rk_register *r, rk_status st, audit_action action,
		       const char *subject, const char *fields,
		       const struct json_t *j, char **json_out);

/* access.c: may the handle's actor process for purpose pu? RK_OK, or
 * RK_EREFUSED after auditing the refusal, which names the subject the call
 * was aimed at (subject_id may be NULL). */
rk_status access_check(rk_register *r, size_t pu, audit_action action,
		       const char *subject_id);
/* 1 when the subject prohibited direct marketing and the call is
 * marketing (purpose marketing_communications or the marketing role): such
 * a subject is not shown; 0 otherwise; -1 on a store error. */
int access_dm_excluded(rk_register *r, size_t pu, const char *subject_id);
/* The same as a status: RK_EREFUSED (message set) when excluded. */
rk_status access_dm_check(rk_register *r, size_t pu, const char *subject_id);
/* Work for the administrator only (actors, keys, backups): RK_OK, or
 * RK_EREFUSED "only the administrator may <what>" after auditing it. */
rk_status access_admin(rk_register *r, audit_action action, const char *what);
/* The data subjects' rights (erasure, restriction, requests) are
 * exercised by the administrator or a role that may audit (the data
 * protection lead); a refusal is audited under action. */
rk_status access_rights(rk_register *r, audit_action action, const char *what);
/* Whether the actor handles the subjects' rights (no audit entry). */
int access_handles_rights(const rk_register *r);
/* Whether the actor's role may see values of category index cat. */
int access_sees_category(const rk_register *r, size_t cat);
/* Whether the actor's role sees the values of field index fi whole (not
 * masked). A role that sees a field only masked may not look subjects up by
 * it either: each answer would tell whether a guess was right. */
int access_sees_whole(const rk_register *r, size_t fi);

/* open.c: rk_register_open without (recover 0) or with the recovery
 * of an interrupted key rotation; without it for backups being checked. */
rk_status reg_open(const char *db_path, const char *key_path, int recover,
		   rk_register **out);
/* A handle with no register behind it, to carry an error message. */
rk_register *reg_blank(void);
/* register.c: a handle on the store at db_path with master key key and
 * nothing else loaded (no policy, keys or checks): for reading what the
 * master key seals (the keyring). Free with reg_free. */
rk_status reg_open_bare(const char *db_path, const unsigned char *key,
			rk_register **out);
/* register.c: closes the store and frees the handle, committing nothing
 * (rk_register_close first rolls back and flushes). */
void reg_free(rk_register *r);
/* register.c, for open.c: whether a path exists; the key file's and the
 * database's paths kept in the handle (the latter made absolute). */
int reg_path_exists(const char *path);
rk_status reg_set_key_path(rk_register *r, const char *key_path);
rk_status reg_set_db_path(rk_register *r, const char *db_path);
/* The register at db_path opened with the master key key (a retired one
 * from the keyring, for a backup): no key file, no recovery. */
rk_status reg_open_key(const char *db_path, const unsigned char *key,
		       rk_register **out);
/* integrity.c: (re)loads the newest stored policy into r->pol and
 * r->policy_version; on failure the handle keeps its old policy. */
rk_status reg_load_policy(rk_register *r);
/* reg_load_policy, keeping the actor's role by name (indexes may differ
 * between versions); an actor whose role the new policy lost falls back
 * to none and is refused what needs one. */
rk_status reg_reload_policy(rk_register *r);

/* keys_load.c: at open, with the store open and r->mk loaded from key_path:
 * when "<key_path>.new" exists, finishes the rotation the database already
 * committed (the new key replaces the key file and r->mk) or removes the
 * stale key of one that never committed. Decides under the write lock. */
rk_status keys_recover(rk_register *r, const char *key_path);
/* keys_load.c: at the start of every write transaction and whenever a wrapped
 * key does not open, so that a handle never uses a master key that another
 * handle rotated away: RK_OK when the handle's keys are current, also after
 * taking the rotation's new master key (from the key file or its ".new")
 * and the register keys it wraps. RK_EINTEGRITY when the key file does not
 * hold the register's master key. */
rk_status keys_check_current(rk_register *r);
/* keys_load.c: 1 when pk is the public key of a checkpoint signing key that a
 * rotation retired and seq is an audit entry it could have signed (one
 * made before that rotation), 0 otherwise: old checkpoints still verify,
 * and the old key vouches for nothing newer. */
int keys_sign_pk_known(rk_register *r, const unsigned char *pk, int64_t seq);
/* keys_load.c: for readers that found nothing: 1 when the handle's keys were
 * rotated elsewhere and it took the new ones (the read is worth trying
 * again), 0 otherwise. */
int keys_refresh(rk_register *r);

/* audit.c */
void audit_ev_set(audit_ev *ev, const rk_register *r, audit_action action,
		  const char *subject, const char *fields, const char *purpose,
		  const char *outcome);
/* Appends ev to the chain inside the open write transaction, after any
 * queued read entries. */
rk_status audit_write(rk_register *r, const audit_ev *ev);
/* A read's audit, fail-closed: no data leaves unless its entry is either
 * committed (batch 1) or written to the handle's journal (larger batches;
 * the journal is taken into the chain with the batch, or by the next
 * handle after a crash). audit_read_begin makes room (committing a full
 * batch, and failing when that fails); audit_queue takes an entry (also
 * inside a walk); audit_read_end commits them at batch 1. Only when all
 * three succeed may the read hand out its data. audit_read does the three
 * for one entry. */
rk_status audit_read_begin(rk_register *r, unsigned *mark);
rk_status audit_queue(rk_register *r, const audit_ev *ev);
rk_status audit_read_end(rk_register *r, unsigned mark);
rk_status audit_read(rk_register *r, const audit_ev *ev);
/* Appends the queued read entries to the open write transaction. */
rk_status audit_carry_queue(rk_register *r);
/* Writes the chain's head (under its MAC) into the open write transaction
 * when entries were appended; called before every commit. */
rk_status audit_keep_head(rk_register *r);
/* After a commit: empties the journal when the queue is empty. */
void audit_journal_settled(rk_register *r);
/* Inside a key rotation's write transaction: a new segment of the chain
 * under a fresh audit key, stored wrapped by kek (the master key from this
 * commit on); the old key is kept, sealed under the new one, to verify
 * the entries before. */
rk_status audit_rotate_key(rk_register *r, const unsigned char *kek);
/* Inside a write: the number the trail's next entry will have (a lower
 * bound for this write's own entry); 0 when the head does not load. */
int64_t audit_next_seq(rk_register *r);
/* The number of the last entry as the register's kept head says (0 when
 * there is none yet); RK_EINTEGRITY when the head was altered. */
rk_status audit_kept_seq(rk_register *r, int64_t *seq);
/* Inside a write whose restore replaced the whole trail (forced): the
 * restored trail's last entry is the head from now on. */
rk_status audit_adopt_trail(rk_register *r);
/* Whether key is this register's chain key now or was one of an earlier
 * segment (a backup from before a rotation holds such a key). */
int audit_key_known(rk_register *r, const unsigned char *key);
/* The chain alone, inside the caller's transaction: every entry follows the
 * one before it under its key (no kept head is asked for). */
rk_status audit_chain_intact(rk_register *r);
/* The chain as audit_chain_intact, and it holds the entry where the kept
 * head (or this transaction's head) says it ends: a trail emptied or cut
 * before it is not whole. For a decision the trail alone can make (was
 * this done before?), which an emptied trail must not answer "no". */
rk_status audit_trail_whole(rk_register *r);
/* Takes the entries of journals left by stopped handles into the chain. */
rk_status audit_take_orphans(rk_register *r);
/* rk_audit_verify without the role check, for the library's own use. */
rk_status audit_verify_chain(rk_register *r, rk_audit_report *rep);
/* Commits the queue in its own write transaction. */
rk_status audit_flush(rk_register *r);
/* The commit of a write of the trail alone (reg_commit's place in audit.c
 * and below). audit_commit_steps writes what every commit carries (the
 * queued read entries, the kept head); audit_commit_end commits (st
 * RK_OK) or rolls back, and empties the journal once the queue is. */
rk_status audit_commit(rk_register *r);
rk_status audit_commit_steps(rk_register *r);
rk_status audit_commit_end(rk_register *r, rk_status st);
/* May the actor read, verify or checkpoint the audit trail (a role with
 * "audit": true)? RK_OK, or RK_EREFUSED after auditing the refusal. */
rk_status audit_may_read(rk_register *r, audit_action action);

/* register.c, group commit: after an operation that replaced or deleted
 * values, moves the WAL's pages out (best effort); inside a group the
 * checkpoint waits until the group commits. */
void reg_wal_scrub(rk_register *r);

/* ---- retention (subject.c, used by retention.c) ---- */
/* The retention rule of a field's values for a kind of subject (index,
 * or POL_NONE): the kind's own rule (prospects) wins over the field's. */
size_t reg_value_rule(const policy *p, size_t kind, size_t field);

#endif
