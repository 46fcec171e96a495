/*
 * integrity.h: binds the columns that decide access to the register's row
 * key, so that a database edited without the key is refused on read
 * (RK_EINTEGRITY) instead of being believed.
 *
 * What is bound where:
 *  - a subject row carries a MAC over its id, kind, pseudonym, dates, the
 *    digest of its values and the head of its consent ledger's chain (not
 *    the wrapped data key: its own wrap binds it to the subject);
 *  - the values digest is a MAC over every value row of the subject in
 *    order (field, ciphertext, purposes, legal basis, source, times,
 *    expiry, blind index): a value edited, added, removed, or put back from
 *    an older copy no longer matches the digest the subject row pins;
 *  - each consent ledger row carries a MAC chained over the previous one's;
 *    the subject row pins the newest, so an edit, a reorder or a removed
 *    newest row breaks the chain or its head;
 *  - each record row carries a MAC over its id, subject, type, ciphertext,
 *    purposes, basis, source, times, expiry, attachment description and
 *    the cookie identifier's hash it came through (when it did),
 *    and the subject row pins the head of a chain over its records' MACs,
 *    so a record removed or put back shows too;
 *  - each actor row carries a keyed token hash and a MAC over name, role,
 *    token hash, creation and revocation; meta "actor_set" pins the set of
 *    actor rows, so an older copy of a row (un-revoked) does not match.
 *  - each cookie link carries a MAC over the identifier's hash and its
 *    subject, so a profile is never moved to another subject;
 *  - meta "policy_mac" pins the newest stored policy and its version.
 * The row key is a register key in meta wrapped by the master key (rotation
 * re-wraps it like the others).
 */
#ifndef RK_INTEGRITY_H
#define RK_INTEGRITY_H

#include <jansson.h>

#include "crypto.h"
#include "register.h"
#include "store.h"

/* At init: makes and stores the row key (inside the write), pins the empty
 * set of actors. */
rk_status integ_create(rk_register *r);
/* The init entry of a register whose rows were bound from the start
 * (fields INIT_BOUND): the upgrade never binds such a register again. */
#define INIT_BOUND "row_macs"
/* At open, with the other keys and the policy loaded: loads the row key,
 * or, on the first open after the schema gained the MAC columns, makes it
 * and binds every existing row as it is now (audited). */
rk_status integ_open(rk_register *r, int *upgrade_needed);
/* The first open after the MAC columns came (*upgrade_needed above): binds
 * every existing row in a write of its own, outside any read. */
rk_status integ_upgrade(rk_register *r);

/* The newest stored policy (version and text) is pinned in meta, so that
 * an edited policy row, or an older one left newest, is not loaded. Pin
 * inside the write that stores a new version. */
rk_status integ_policy_pin(rk_register *r, int version, const char *text);
rk_status integ_policy_check(rk_register *r, int version, const char *text);

/* Inside a write: the register's sum over its subjects follows a row whose
 * MAC changed from old_mac to new_mac (NULL: the row is new, or gone). */
rk_status integ_set_change(rk_register *r, const char *id,
			   const unsigned char *old_mac,
			   const unsigned char *new_mac);
/* Inside a write: the sum computed anew from the rows as they are (after a
 * restore replaced them; at init). */
rk_status integ_set_rebuild(rk_register *r);
/* The commit of a write: the queued read entries, the kept head and the
 * subject rows' sum written, then the store's commit (integ_commit_txn
 * for a whole bulk transaction or group; integ_commit for an operation's
 * write, which inside those only ends). reg_commit (txn.c) is integ_commit
 * for the layers above. */
rk_status integ_commit(rk_register *r);
rk_status integ_commit_txn(rk_register *r);
/* Before a commit: writes the sum when the transaction changed it. */
rk_status integ_set_flush(rk_register *r);

/* The subject row's MAC (from its columns, vdigest and chead included). */
void integ_subject_mac(const rk_register *r, const store_subject *s,
		       unsigned char out[SEC_HASH_BYTES]);
/* RK_OK when the row's MAC is present and right, else RK_EINTEGRITY. */
rk_status integ_subject_check(rk_register *r, const store_subject *s);

/* The values digest, fed with the rows in the order value_list gives. */
void integ_values_begin(const rk_register *r, const char *subject_id,
			sec_mac *m);
void integ_values_add(sec_mac *m, const store_value *v);
/* Finishes m and compares with s->vdigest: RK_OK or RK_EINTEGRITY. */
rk_status integ_values_end(rk_register *r, const store_subject *s, sec_mac *m);

/* Inside a write: recomputes s's values digest from its stored rows and
 * stores it with a new row MAC (s->chead as it is in s). It trusts the
 * rows as they are: a writer that changes values checks them first
 * (integ_values_verify), or an edit made outside the register is bound. */
rk_status integ_subject_repin(rk_register *r, store_subject *s);
/* Inside a write that changed no value: a new row MAC over s as it is,
 * its values digest the pinned one (a value edited outside the register
 * still fails against it). */
rk_status integ_subject_reseal(rk_register *r, store_subject *s);
/* Checks subject id's row, values, consent ledger and records against
 * their MACs (call inside one read or write): RK_OK or RK_EINTEGRITY. A
 * re-encryption checks a subject with it before it re-seals and rebinds. */
rk_status integ_subject_verify(rk_register *r, const char *id);
/* The row and its values digest only (what a blind index rebuild
 * touches; after a restore the live ledger is fitted separately). */
rk_status integ_values_verify(rk_register *r, const store_subject *s);
/* Inside a write: binds everything of subject s as it is stored now
 * (values, consent chain, records, the row itself). For the upgrade and for
 * a re-encryption that already checked what it re-sealed. */
rk_status integ_subject_rebind(rk_register *r, store_subject *s);

/* The chain MAC of consent row c after the row whose MAC is prev. */
/* Inside a write, after a restore brought subject id's row back from a
 * backup while its ledger stayed the live one: the live ledger must match
 * its chain and extend what the restored row pinned; the row then pins the
 * live ledger's newest entry. */
rk_status integ_subject_rehead(rk_register *r, const char *id);

void integ_consent_mac(const rk_register *r,
		       const unsigned char prev[SEC_HASH_BYTES],
		       const store_consent *c,
		       unsigned char out[SEC_HASH_BYTES]);
/* Walks subject s's whole ledger in order, checking the chain and that it
 * ends at s->chead; fn sees each entry (of scope, or all when NULL) as it
 * is checked, so a caller acts on what it gathered only after RK_OK. */
rk_status integ_consent_walk(rk_register *r, const store_subject *s,
			     const char *scope, store_consent_fn fn, void *ud);

void integ_record_mac(const rk_register *r, const store_record *rec,
		      unsigned char out[SEC_HASH_BYTES]);
/* 0 when rec's MAC is present and right (for use inside walks). */
int integ_record_ok(const rk_register *r, const store_record *rec);
/* Inside a write, after record_insert set rec->id: stores its MAC and
 * moves subject s's records chain on to it (s as loaded in this write). */
rk_status integ_record_bind(rk_register *r, store_subject *s,
			    store_record *rec);
/* Walks every record of s in order, checking each MAC and that their chain
 * ends at s->rhead (a record removed, added or put back shows); fn sees
 * those of type (all when NULL) as they are checked, so a caller acts on
 * what it gathered only after RK_OK. */
rk_status integ_records_walk(rk_register *r, const store_subject *s,
			     const char *type, store_record_fn fn, void *ud);
/* Inside a write, after records of s were deleted: recomputes s->rhead
 * from the rest (each checked against its MAC); integ_subject_repin then
 * stores it. A record removed outside the register is not seen here: the
 * caller walks the chain against the pinned head first
 * (integ_records_walk), or the removal is bound. */
rk_status integ_records_repin(rk_register *r, store_subject *s);

/* The MAC that binds a cookie or device identifier (its blind index hash)
 * to the subject it is linked to and to when it was linked. */
void integ_cookie_mac(const rk_register *r,
		      const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t linked_at,
		      unsigned char out[SEC_HASH_BYTES]);
/* RK_OK when mac is that MAC (or, while the trail shows the sums not yet
 * tagged, the first form's, which did not bind the time), else
 * RK_EINTEGRITY. */
rk_status integ_cookie_check(rk_register *r,
			     const unsigned char hash[SEC_BIDX_BYTES],
			     const char *subject_id, int64_t linked_at,
			     const unsigned char mac[SEC_HASH_BYTES]);
/* Inside a write: the links whose MAC is of the first form get the
 * current one (at the sums' tagging, and after a restore of a backup from
 * before it). */
rk_status integ_cookies_retag(rk_register *r);

/* The stored form of an actor's token: keyed by the row key. */
void integ_token_hash(const rk_register *r, const char *token,
		      unsigned char out[SEC_HASH_BYTES]);
void integ_actor_mac(const rk_register *r, const store_actor *a,
		     unsigned char out[SEC_HASH_BYTES]);
/* Checks a's MAC and that the stored set of actors is the pinned one:
 * RK_OK or RK_EINTEGRITY (a NULL a checks the set only). */
rk_status integ_actor_check(rk_register *r, const store_actor *a);
/* The actor set's stored pin, read in the caller's snapshot (after
 * integ_actor_check in the same one: the pin that check verified). 0, or
 * -1 when there is none. */
int integ_actor_set_pin(rk_register *r, unsigned char out[SEC_HASH_BYTES]);
/* Inside a write, after an actor was added or changed: re-pins the set. */
rk_status integ_actors_pin(rk_register *r);

/* Erasures are remembered by a keyed hash of the subject's ID, so the
 * register can tell a restored subject that was erased since without
 * keeping the ID; the row carries a MAC. */
void integ_erasure_tag(const rk_register *r, const char *subject_id,
		       unsigned char out[SEC_HASH_BYTES]);
void integ_erasure_mac(const rk_register *r, const store_erasure *e,
		       unsigned char out[SEC_HASH_BYTES]);
/* A record held after its subject's erasure: the MAC over its row, and
 * the key (SEC_KEY_BYTES, derived from the row key, so that rotation,
 * which re-wraps the row key, keeps it) that wraps the record's own key. */
void integ_held_mac(const rk_register *r, const store_held *h,
		    unsigned char out[SEC_HASH_BYTES]);
void integ_held_kek(const rk_register *r, unsigned char *out);
/* Inside a write: the pinned sets follow an erasure row written, and a held
 * record added (add 1) or deleted (add 0; h as it was stored). */
rk_status integ_erasure_pin(rk_register *r, const store_erasure *e);
rk_status integ_held_pin(rk_register *r, const store_held *h, int add);
/* Every erasure row / held record row matches its MAC and the set the
 * register pinned: RK_OK or RK_EINTEGRITY. */
rk_status integ_erasures_verify(rk_register *r);
rk_status integ_held_verify(rk_register *r);
/* Inside a write: pins the erasure rows as they are (each checked against
 * its MAC), after a forced restore replayed the ones the trail names. */
rk_status integ_erasures_rebuild(rk_register *r);

/* Inside a write: deletes subject sub (its row MAC checked by the caller)
 * with everything that hangs on it (ON DELETE CASCADE), takes it out of
 * the register's set of subjects, and remembers the deletion by the
 * subject's erasure tag (dated today, with held records kept under a
 * legal hold), so that a restored backup does not bring it back. *cookies
 * (may be NULL) gets the number of identifier links removed. Erasure and
 * the retention run both delete through here. */
rk_status integ_subject_forget(rk_register *r, const store_subject *sub,
			       const char today[11], int64_t held,
			       int64_t *cookies);

/* ---- the breach register (breach.c) ---- */
/* The MAC over a breach row (every column, sealed texts as stored). */
void integ_breach_mac(const rk_register *r, const store_breach *b,
		      unsigned char out[SEC_HASH_BYTES]);

/* The controller's own texts that may name people (reasons of requests,
 * breach descriptions): sealed under a key derived from the row key for
 * ctx, bound to field and to the row as "<kind>:<id>", so they outlive any
 * subject's key and survive rotations. *ct is malloc'd. integ_text_json
 * opens one as a JSON string (json null when ct is NULL); NULL with *st set
 * when it does not open (RK_EINTEGRITY "<damaged>: ..." when it is not
 * text). */
rk_status integ_text_seal(rk_register *r, const char *ctx, const char *kind,
			  int64_t id, const char *field, const char *text,
			  unsigned char **ct, size_t *len);
json_t *integ_text_json(rk_register *r, const char *ctx, const char *kind,
			int64_t id, const char *field, const unsigned char *ct,
			size_t len, const char *damaged, rk_status *st);

/* The disclosure log's chain MAC of line d after the line whose MAC is
 * prev, and the pin of its newest line (id 0: empty). */
void integ_disclosure_mac(const rk_register *r, const unsigned char *prev,
			  const store_disclosure *d,
			  unsigned char out[SEC_HASH_BYTES]);
rk_status integ_disclosure_head(rk_register *r, int64_t *id,
				unsigned char mac[SEC_HASH_BYTES]);
/* The pin of the set of breaches (set: the MAC over the set as breach.c
 * computes it), written inside the breach's write before its audit entry,
 * and checked: RK_EINTEGRITY when it does not match, or is missing while
 * there are rows; *from (may be NULL) gets the pin's trail number, 0 for
 * a pin from before those. */
rk_status integ_breach_pin_write(rk_register *r,
				 const unsigned char set[SEC_HASH_BYTES]);
rk_status integ_breach_pin_check(rk_register *r,
				 const unsigned char set[SEC_HASH_BYTES],
				 int have_rows, int64_t *from);
/* The same for the set of data subject requests (dsr.c). */
rk_status integ_dsr_pin_write(rk_register *r,
			      const unsigned char set[SEC_HASH_BYTES]);
rk_status integ_dsr_pin_check(rk_register *r,
			      const unsigned char set[SEC_HASH_BYTES],
			      int have_rows, int64_t *from);
/* The MAC over a request row (every column but the subject's id, which
 * erasure clears), and the MAC over the set of them (n rows, each by its
 * number and MAC, in order). */
void integ_dsr_mac(const rk_register *r, const store_dsr *d,
		   unsigned char out[SEC_HASH_BYTES]);
void integ_dsr_set_begin(const rk_register *r, sec_mac *m, int64_t n);
void integ_dsr_set_add(sec_mac *m, int64_t id,
		       const unsigned char mac[SEC_HASH_BYTES]);
/* The disclosure log, the breach register and the requests against their
 * MACs and pins
 * and against the audit trail, which records every line and every breach
 * written (for `audit verify`): RK_OK or RK_EINTEGRITY. */
rk_status integ_logs_verify(rk_register *r);

/* ---- self-service links and sessions (selfservice.c) ---- */
/* The MAC over a self-service row (its hash, subject, kind and times),
 * and every row against it (for `audit verify`): RK_OK or RK_EINTEGRITY. */
void integ_selfsvc_mac(const rk_register *r, const store_selfsvc *row,
		       unsigned char out[SEC_HASH_BYTES]);
rk_status integ_selfsvc_verify(rk_register *r);
/* A link's ID in the trail: "link:" and the hex of a keyed hash of the
 * link's row hash (the ID tells nothing of the secret or the person), which
 * its successful open names in fields. */
void integ_selfsvc_link_id(const rk_register *r, const unsigned char *hash,
			   char out[AUDIT_LINK_ID_LEN + 1]);

/* ---- the set of self-service rows ----
 * meta "selfsvc_set" pins the live rows: a keyed sum of a term per row
 * over its hash and its row MAC (so over whether it was used). A row put
 * back as it was before it was spent, deleted or slipped in changes the
 * sum. Every insert, use and purge moves the pin in the same write. */
/* The init entry of a register whose self-service set was pinned from the
 * start (and whose rows were bound from the start, as INIT_BOUND says). */
#define INIT_BOUND_SS "row_macs,selfsvc_set"
/* The same, and whose pinned sums carried their tags from the start (the
 * init entry of every register made since). */
#define INIT_BOUND_TAGS "row_macs,selfsvc_set,sum_tags"
/* Inside a write: gone (may be NULL) left the set and added (may be NULL)
 * joined it. An unpinned set refuses a row added (RK_EINTEGRITY). */
rk_status integ_selfsvc_pin(rk_register *r, const store_selfsvc *gone,
			    const store_selfsvc *added);
/* Inside a write, before their delete: the rows of subject_id (when given)
 * or those that expired by now leave the pinned set. */
rk_status integ_selfsvc_unpin(rk_register *r, const char *subject_id,
			      int64_t now);
/* The set against its pin, and with each_row every row against its MAC
 * (`audit verify`; a link's use checks its own row only, one keyed hash a
 * row less): RK_OK or RK_EINTEGRITY. */
rk_status integ_selfsvc_set_check(rk_register *r, int each_row);
/* Inside a write: pins the rows as they are (each checked against its
 * MAC): at init, at the one-time upgrade, after a restore. */
rk_status integ_selfsvc_rebind(rk_register *r);
/* At open: a register from before the pin (marked by its migration) gets
 * it once, audited; one whose trail shows the pin was bound before is left
 * unpinned, and links then fail with RK_EINTEGRITY. */
rk_status integ_selfsvc_open(rk_register *r);

/* ---- the tags of the pinned sums ----
 * Every pinned sum (subjects, erasures, held records, self-service rows)
 * is stored with a keyed tag over its name and value. A register from
 * before the tags takes them once, at its first open with the key,
 * recorded as `register.upgrade` with the fields "sum_tags"; from then on
 * (or from an init whose fields are INIT_BOUND_TAGS) a sum without its
 * tag is an edit. A backup from before the tags is read as it was made.
 * integ_sums_bind: inside a write, when the trail shows no tagging (a
 * restore that put a backup's trail in place): tags what has none and
 * records it. integ_sums_open: at open, once. */
rk_status integ_sums_bind(rk_register *r);
rk_status integ_sums_open(rk_register *r);
/* *legacy 1 when the register (a backup being checked) is from before the
 * tags: its trail shows none. */
rk_status integ_sums_legacy(rk_register *r, int *legacy);

/* ---- a backup's set of subjects (restore) ----
 * integ_set_check: the subject rows as they are (their sum in sum) match
 * the set the register pinned; RK_EINTEGRITY when one was removed, added
 * or put back. integ_set_sum: only the sum, for a later comparison. */
rk_status integ_set_check(rk_register *r, unsigned char sum[SEC_HASH_BYTES]);
rk_status integ_set_sum(rk_register *r, unsigned char sum[SEC_HASH_BYTES]);
/* Every identifier's link under its MAC (what a restore copied). */
rk_status integ_cookies_verify(rk_register *r);

#endif
