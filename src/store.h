/*
 * store.h: the storage interface. The only files that know SQL are the
 * backends (store_sqlite.c; a PostgreSQL backend implements the same table).
 * The store sees only ciphertext, blind-index hashes, names of fields and
 * policy items, dates and pseudonyms: never plaintext personal data.
 *
 * All functions return 0 on success, STORE_NOTFOUND where documented, and
 * STORE_ERR on failure with a message (no data values) in store_errmsg().
 * One store handle serves one thread at a time. Writes happen between
 * store_begin(s, 1) and store_commit; a busy database is waited for (up to
 * the backend's busy timeout) rather than failed.
 */
#ifndef RK_STORE_H
#define RK_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define STORE_ERR      (-1)
#define STORE_NOTFOUND 1

typedef struct store store;

typedef struct store_subject {
	char id[33];
	char kind[32];
	char pseudonym[33];
	unsigned char wrapped_key[SEC_WRAPPED_BYTES];
	int64_t created_at; /* Unix seconds */
	char rel_start[11]; /* YYYY-MM-DD, "" if none */
	char rel_end[11];   /* YYYY-MM-DD, "" while ongoing */
	/* What binds the row and the rows that hang on it to the register's
	 * row key (integrity.c): a MAC over the subject's values in order,
	 * the heads of the chains of its consent ledger and of its records,
	 * and a MAC over this row (but the wrapped key, which its own wrap
	 * authenticates). */
	unsigned char vdigest[SEC_HASH_BYTES];
	unsigned char chead[SEC_HASH_BYTES];
	unsigned char rhead[SEC_HASH_BYTES];
	unsigned char mac[SEC_HASH_BYTES];
	int has_mac; /* 0: a row from before the MACs (or emptied) */
	/* The audit entry the row's last write came no earlier than (the
	 * trail's next entry then), under the row's MAC. */
	int64_t audit_seq;
} store_subject;

typedef struct store_value {
	int64_t rowid; /* set by the store on insert and list */
	const char *subject_id;
	const char *field;
	const unsigned char *ct; /* sealed value */
	size_t ctlen;
	const char *purposes; /* comma-separated purpose names */
	const char *legal_basis;
	const char *source;
	int64_t collected_at;
	int64_t confirmed_at;
	const char *expires; /* YYYY-MM-DD or NULL */
	/* blind index of a lookup field's normalised value
	 * (SEC_BIDX_BYTES), or NULL; found with bidx_find */
	const unsigned char *bidx;
	/* the subject's pseudonym, copied onto a lookup value's row so that
	 * a look-up names the subject without reading its row (NULL: none;
	 * a backend may leave it out) */
	const char *pseudonym;
} store_value;

typedef struct store_audit {
	int64_t seq; /* 1, 2, ... assigned by the caller */
	int64_t at_us;
	const char *actor;
	const char *action;
	const char *subject; /* pseudonym or NULL */
	const char *fields;  /* or NULL */
	const char *purpose; /* or NULL */
	const char *outcome;
	unsigned char prev[SEC_HASH_BYTES];
	unsigned char hash[SEC_HASH_BYTES];
	/* Read back only: a value is stored otherwise than it was written
	 * (SQLite: text as a BLOB or with a NUL inside, a time not an
	 * integer), so it reads as the hashed string but SQL compares it
	 * otherwise: `audit verify` counts the entry as altered. */
	int altered;
} store_audit;

typedef struct store_record {
	int64_t id; /* set by the store on insert */
	const char *subject_id;
	const char *type;	 /* record type of the policy */
	const unsigned char *ct; /* sealed JSON object of the record's fields */
	size_t ctlen;
	const char *purposes; /* comma-separated */
	const char *legal_basis;
	const char *source;
	int64_t created_at;
	const char *expires;	     /* YYYY-MM-DD or NULL */
	int64_t attachment_size;     /* plaintext bytes, -1 = none */
	const char *attachment_type; /* media type (no file names), or NULL */
	/* MAC over the row with its id (SEC_HASH_BYTES), NULL when absent */
	const unsigned char *mac;
	/* The blind index hash (SEC_BIDX_BYTES) of the cookie or device
	 * identifier the record came through (rk_record_add_by_cookie), or
	 * NULL for a record added to the subject directly. */
	const unsigned char *cookie_hash;
} store_record;

typedef struct store_consent {
	int64_t id; /* set by the store on append */
	const char *subject_id;
	const char *scope;   /* consent scope or objection name */
	int objection;	     /* 1: an objection (e.g. direct_marketing) */
	int given;	     /* 1 given / objected, 0 withdrawn / lifted */
	int64_t at;	     /* Unix seconds */
	const char *channel; /* e.g. "web", "phone", "cli" */
	int policy_version;  /* notice version it was given under */
	const char *actor;
	const unsigned char *evidence_ct; /* sealed evidence text, or NULL */
	size_t evidence_len;
	/* Chain MAC over the previous entry's and this row (SEC_HASH_BYTES),
	 * NULL when absent */
	const unsigned char *mac;
} store_consent;

/* ---- self-service links and sessions (selfservice.c) ----
 * A row per link or session: only the keyed hash of its secret is kept;
 * mac binds hash, subject, kind and times to the row key. */
typedef struct store_selfsvc {
	unsigned char hash[SEC_HASH_BYTES];
	char subject_id[33];
	int kind; /* 0 a link, 1 a session */
	int64_t created_at, expires_at;
	int64_t used_at; /* a link exchanged; 0 while unused */
	unsigned char mac[SEC_HASH_BYTES];
} store_selfsvc;

typedef struct store_actor {
	char name[64];
	char role[49]; /* policy names are at most 48 characters */
	unsigned char token_hash[SEC_HASH_BYTES];
	int64_t created_at;
	int64_t revoked_at;		   /* 0 while active */
	unsigned char mac[SEC_HASH_BYTES]; /* over the row */
	int has_mac;
} store_actor;

/* An erasure as the register remembers it: no ID, no pseudonym. */
typedef struct store_erasure {
	unsigned char tag[SEC_HASH_BYTES]; /* keyed hash of the subject ID */
	char erased_on[11];		   /* YYYY-MM-DD */
	int64_t held;			   /* records kept under a legal hold */
	unsigned char mac[SEC_HASH_BYTES]; /* over the row, row key */
} store_erasure;

/* A record that a law requires the controller to keep after its subject
 * was erased: detached from the subject, sealed under a key of its own. */
typedef struct store_held {
	int64_t id; /* the record's number, kept */
	const char *type;
	const char *retention;	/* the rule that holds it */
	const char *hold_until; /* YYYY-MM-DD: the retention run deletes it */
	int64_t created_at;
	const unsigned char *wrapped_key; /* SEC_WRAPPED_BYTES */
	const unsigned char *ct;
	size_t ctlen;
	int64_t attachment_size; /* -1 = none */
	const char *attachment_type;
	const unsigned char *mac; /* SEC_HASH_BYTES, over the row */
} store_held;

typedef int (*store_erasure_fn)(void *ud, const store_erasure *e);
typedef int (*store_held_fn)(void *ud, const store_held *h);

/* Callbacks: returning non-zero stops the walk (the walk then returns 0).
 * Pointers handed to a callback are valid only during the call. */
typedef int (*store_value_fn)(void *ud, const store_value *v);
typedef int (*store_subject_fn)(void *ud, const store_subject *s);
typedef int (*store_id_fn)(void *ud, const char *subject_id,
			   const char *pseudonym);
typedef int (*store_audit_fn)(void *ud, const store_audit *a);
typedef int (*store_record_fn)(void *ud, const store_record *r);
typedef int (*store_chunk_fn)(void *ud, int64_t seq, const unsigned char *ct,
			      size_t len);
typedef int (*store_consent_fn)(void *ud, const store_consent *c);
typedef int (*store_actor_fn)(void *ud, const store_actor *a);
/* mac: the link's MAC (SEC_HASH_BYTES), NULL when absent */
typedef int (*store_cookie_fn)(void *ud,
			       const unsigned char hash[SEC_BIDX_BYTES],
			       const char *subject_id, int64_t linked_at,
			       const unsigned char *mac);

/* A data subject request (GDPR Art. 12(3)). Strings point into the store
 * during a walk; optional ones are NULL when absent. */
typedef struct store_dsr {
	int64_t id;		/* set by the store on insert */
	const char *subject_id; /* NULL once the subject is gone */
	const char *pseudonym;	/* the subject's audit pseudonym */
	const char *type;	/* access, erasure, ... */
	const char *received;	/* YYYY-MM-DD */
	const char *due;	/* YYYY-MM-DD */
	const char *extended_due;
	const unsigned char *extend_reason; /* sealed, or NULL */
	size_t extend_reason_len;
	const char *verified_by;
	const char *status; /* "open" or "closed" */
	const char *outcome;
	const unsigned char *reason; /* sealed, or NULL */
	size_t reason_len;
	const char *closed;
	/* comma-separated purposes of the subject's data at receipt */
	const char *purposes;
	/* MAC over the row (SEC_HASH_BYTES), NULL when absent */
	const unsigned char *mac;
} store_dsr;

typedef int (*store_dsr_fn)(void *ud, const store_dsr *d);
typedef int (*store_held_fn)(void *ud, const store_held *h);
typedef int (*store_review_fn)(void *ud, const char *subject_id,
			       const char *field, int64_t confirmed_at);

/* ---- the controller's paperwork (store_sqlite_paper.c) ---- */
/* What count_by counts: subjects per kind, values per field, records per
 * type, records kept under a legal hold per type. */
enum store_count {
	STORE_COUNT_KIND,
	STORE_COUNT_FIELD,
	STORE_COUNT_RECORD,
	STORE_COUNT_HELD
};
/* name: the kind, field or type; rows: how many; subjects: how many
 * distinct subjects hold them (rows for kinds; 0 for held records). */
typedef int (*store_count_fn)(void *ud, const char *name, int64_t rows,
			      int64_t subjects);

/* A personal data breach (GDPR Art. 33-34). Times are Unix seconds (UTC);
 * 0 where absent. Strings point into the store during a walk. */
typedef struct store_breach {
	int64_t id; /* given by the caller (a counter) */
	int64_t aware_at;
	int64_t opened_at;
	const unsigned char *description; /* sealed */
	size_t description_len;
	const char *categories; /* comma-separated names, or NULL */
	/* the query that chose the affected subjects (has_query 0: none) */
	int has_query;
	const char *q_field; /* or NULL */
	const char *q_type;  /* or NULL */
	int has_range;
	int64_t q_from, q_to;
	int64_t counted_at; /* when the query was counted */
	int64_t affected;   /* subjects it chose then; -1 without a query */
	const char *risk;   /* "none", "low", "high", or NULL */
	int64_t dpa_notified_at;
	int64_t subjects_notified_at;
	const unsigned char *measures; /* sealed, or NULL */
	size_t measures_len;
	const char *status; /* "open" or "closed" */
	int64_t closed_at;
	const unsigned char *mac; /* SEC_HASH_BYTES, NULL when absent */
} store_breach;

typedef int (*store_breach_fn)(void *ud, const store_breach *b);

/* A stored policy version (policy_walk). */
typedef int (*store_policy_fn)(void *ud, int version, int64_t created_at);

/* What stored rows refer to by a policy name (usage_count). */
enum store_use {
	STORE_USE_FIELD,       /* values of a field */
	STORE_USE_RECORD_TYPE, /* records (and held records) of a type */
	STORE_USE_SCOPE,       /* ledger entries of a consent scope */
	STORE_USE_OBJECTION,   /* ledger entries of an objection */
	STORE_USE_KIND,	       /* subjects of a kind */
	STORE_USE_ROLE,	       /* active actors of a role */
	STORE_USE_PURPOSE,     /* values and records stored for a purpose */
	STORE_USE_BASIS,       /* values and records on a legal basis */
	STORE_USE_SOURCE       /* values and records from a source */
};

/* One line of the disclosure log: what went where, when and why, for one
 * subject. No personal data: names of fields and record types, counts,
 * the recipient, the purpose, the legal ground. Strings point into the
 * store during a walk; optional ones are NULL when absent. */
typedef struct store_disclosure {
	int64_t id;    /* given by the caller (the chain's next number) */
	int64_t batch; /* one disclosure act; the id of its first line */
	const char *subject_id; /* NULL once the subject is gone */
	const char *pseudonym;
	const char *recipient;
	const char *recipient_kind;
	const char *country;
	const char *safeguard;
	const char *purpose;
	int64_t at; /* Unix seconds */
	const char *actor;
	const char *fields;	  /* comma-separated, or NULL */
	const char *record_types; /* comma-separated, or NULL */
	int64_t records;
	const char *legal_ground;
	const char *basis;	  /* why this subject was eligible */
	const unsigned char *mac; /* SEC_HASH_BYTES, NULL when absent */
} store_disclosure;

typedef int (*store_disclosure_fn)(void *ud, const store_disclosure *d);

/* The places where ciphertext sealed with a subject's data key lives. */
enum store_ct {
	STORE_CT_VALUE,	   /* id: the value's rowid */
	STORE_CT_RECORD,   /* id: the record */
	STORE_CT_CHUNK,	   /* id: the record, seq: the chunk */
	STORE_CT_EVIDENCE, /* id: the consent ledger entry */
};

/* A position in the primary's WAL that handles share (replica.c's
 * rk_read_floor): raised by their writes, waited for by their reads on a
 * standby; 0: no write yet. A write whose position could not be learned
 * counts in lost; until settled catches up (a read asks the primary where
 * its WAL ends, which is past every write counted before it asked), reads
 * stay on the primary. */
typedef struct store_floor {
	_Atomic uint64_t pos;
	_Atomic uint64_t lost, settled;
} store_floor;

struct store_vt {
	void (*close)(store *s);
	const char *(*errmsg)(const store *s);
	int (*begin)(store *s, int write);
	int (*commit)(store *s);
	int (*rollback)(store *s);
	/* Rows inserted, changed or deleted through this handle since it
	 * opened (never decreases). */
	int64_t (*changes)(store *s);

	/* meta: small named blobs (keys wrapped by the master key, counters) */
	/* STORE_NOTFOUND when absent; STORE_ERR when the value is larger than
	 * bufsz (*len then holds its size). */
	int (*meta_get)(store *s, const char *key, unsigned char *buf,
			size_t bufsz, size_t *len);
	int (*meta_set)(store *s, const char *key, const unsigned char *val,
			size_t len);
	/* Increments the integer counter name (absent = start - 1) and
	 * returns the new value. Needs an open write transaction. */
	int (*counter_next)(store *s, const char *name, int64_t start,
			    int64_t *out);

	int (*policy_put)(store *s, int version, const char *text,
			  int64_t created_at);
	/* Latest version; *text is malloc'd, caller frees. */
	int (*policy_latest)(store *s, int *version, char **text);

	int (*subject_insert)(store *s, const store_subject *sub);
	int (*subject_get)(store *s, const char *id,
			   store_subject *out); /* STORE_NOTFOUND */
	/* rel_end NULL or "" makes the relationship ongoing again;
	 * STORE_NOTFOUND when there is no such subject. */
	int (*subject_set_end)(store *s, const char *id, const char *rel_end);
	/* Stores sub's vdigest, chead, rhead and mac; STORE_NOTFOUND when there
	 * is no such subject. */
	int (*subject_set_auth)(store *s, const store_subject *sub);
	/* Subjects ordered by id, after after_id (NULL: from the start), of
	 * kind (NULL: all), at most limit (0: all). */
	int (*subject_list)(store *s, const char *kind, const char *after_id,
			    size_t limit, store_subject_fn fn, void *ud);

	int (*value_insert)(store *s, store_value *v); /* sets v->rowid */
	/* Values of a subject in insertion order (field NULL: all fields). */
	int (*value_list)(store *s, const char *subject_id, const char *field,
			  store_value_fn fn, void *ud);
	/* *n (when not NULL): how many values went. */
	int (*value_delete_field)(store *s, const char *subject_id,
				  const char *field, int64_t *n);
	int (*value_set_expiry)(store *s, const char *subject_id,
				const char *field, const char *expires);

	/* Subjects with a value of field whose blind index is hash, with
	 * their pseudonyms; a subject with that value twice comes twice. */
	int (*bidx_find)(store *s, const char *field,
			 const unsigned char hash[SEC_BIDX_BYTES],
			 store_id_fn fn, void *ud);

	int (*audit_append)(store *s, const store_audit *a);
	/* The newest entry; STORE_NOTFOUND when the trail is empty. String
	 * members of out point into a buffer in the store handle and live
	 * until the next audit_last or close. */
	int (*audit_last)(store *s, store_audit *out);
	/* Entries in seq order from seq from_seq on (subject NULL: all). */
	int (*audit_walk)(store *s, int64_t from_seq, const char *subject,
			  store_audit_fn fn, void *ud);

	/* ---- relationship records and their attachments ---- */
	int (*record_insert)(store *s, store_record *r); /* sets r->id */
	int (*record_set_mac)(store *s, int64_t id,
			      const unsigned char mac[SEC_HASH_BYTES]);
	/* Records of a subject in insertion order (type NULL: all types). */
	int (*record_list)(store *s, const char *subject_id, const char *type,
			   store_record_fn fn, void *ud);
	/* One record of a subject; STORE_NOTFOUND when absent. */
	int (*record_get)(store *s, const char *subject_id, int64_t id,
			  store_record_fn fn, void *ud);
	/* Deletes a subject's records of a type (and their attachments);
	 * *deleted gets the count. */
	int (*record_delete_type)(store *s, const char *subject_id,
				  const char *type, int64_t *deleted);
	/* Attachments are stored as sealed chunks numbered from 0. */
	int (*chunk_put)(store *s, int64_t record_id, int64_t seq,
			 const unsigned char *ct, size_t len);
	int (*chunk_walk)(store *s, int64_t record_id, store_chunk_fn fn,
			  void *ud);

	/* ---- consent and objection ledger (append only) ---- */
	int (*consent_append)(store *s, store_consent *c); /* sets c->id */
	/* STORE_NOTFOUND when there is no such entry. */
	int (*consent_set_mac)(store *s, int64_t id,
			       const unsigned char mac[SEC_HASH_BYTES]);
	/* Entries of a subject in order (scope NULL: all scopes). */
	int (*consent_walk)(store *s, const char *subject_id, const char *scope,
			    store_consent_fn fn, void *ud);
	/* The newest entry of a subject for scope; STORE_NOTFOUND if none. */
	int (*consent_latest)(store *s, const char *subject_id,
			      const char *scope, int objection,
			      store_consent_fn fn, void *ud);

	/* ---- cookie and device identifiers (by blind index hash) ---- */
	/* mac (SEC_HASH_BYTES) binds the identifier to the subject. */
	int (*cookie_link)(store *s, const unsigned char hash[SEC_BIDX_BYTES],
			   const char *subject_id, int64_t at,
			   const unsigned char *mac);
	/* The subject a live identifier is linked to, when, and the link's
	 * MAC (zeros when absent); STORE_NOTFOUND. */
	int (*cookie_resolve)(store *s,
			      const unsigned char hash[SEC_BIDX_BYTES],
			      char subject_id[33], int64_t *linked_at,
			      unsigned char mac[SEC_HASH_BYTES]);
	/* Every link, in hash order. */
	int (*cookie_walk)(store *s, store_cookie_fn fn, void *ud);
	int (*cookie_set_mac)(store *s,
			      const unsigned char hash[SEC_BIDX_BYTES],
			      const unsigned char mac[SEC_HASH_BYTES]);
	/* Unlinks every identifier of a subject; *n gets the count. */
	int (*cookie_unlink_subject)(store *s, const char *subject_id,
				     int64_t *n);

	/* ---- actors ---- */
	int (*actor_insert)(store *s, const store_actor *a);
	int (*actor_get)(store *s, const char *name,
			 store_actor *out); /* STORE_NOTFOUND */
	int (*actor_list)(store *s, store_actor_fn fn, void *ud);
	int (*actor_revoke)(store *s, const char *name, int64_t at);
	/* Stores a's token_hash and mac; STORE_NOTFOUND when absent. */
	int (*actor_set_auth)(store *s, const store_actor *a);

	/* ---- administration ---- */
	/* STORE_NOTFOUND when there is no such subject. */
	int (*subject_set_key)(store *s, const char *id,
			       const unsigned char wrapped[SEC_WRAPPED_BYTES]);
	/* A consistent online copy of the whole database into a new file
	 * (refuses an existing path), while other handles go on writing. */
	int (*backup_to)(store *s, const char *path);
	/* Inside an open write transaction: checks the database at path
	 * (integrity, foreign keys, the same schema) and replaces every
	 * table's rows with its rows (but the audit table's when
	 * keep_audit). The caller commits or rolls back, so a failed or
	 * interrupted restore changes nothing. */
	int (*restore_from)(store *s, const char *path, int keep_audit);
	/* Moves the WAL into the database file and truncates it; STORE_ERR
	 * also when other connections kept it from completing. */
	int (*checkpoint)(store *s);
	/* Deletes a subject; ON DELETE CASCADE removes its values, blind
	 * indexes, records, consents and cookies with it. STORE_NOTFOUND when
	 * there is no such subject. */
	int (*subject_delete)(store *s, const char *id);
	/* on 1: every later commit of this handle is durable when it returns
	 * (its log is synced); on 0: the default, where a commit may be lost
	 * to a power cut until the next sync (it is never torn). Set outside
	 * a transaction. */
	int (*set_durable)(store *s, int on);
	/* Values of a subject that carry a blind index (rowid, field, ct). */
	int (*value_bidx_walk)(store *s, const char *subject_id,
			       store_value_fn fn, void *ud);
	/* Replaces one ciphertext (re-encryption under a new data key);
	 * STORE_NOTFOUND when there is no such row. */
	int (*ciphertext_set)(store *s, enum store_ct kind, int64_t id,
			      int64_t seq, const unsigned char *ct, size_t len);
	/* Replaces a value's blind index (only where it has one). */
	int (*value_set_bidx)(store *s, int64_t rowid,
			      const unsigned char bidx[SEC_BIDX_BYTES]);

	/* ---- erasures and what a law keeps after them ---- */
	/* Remembers an erasure by tag (a keyed hash of the subject's ID,
	 * SEC_HASH_BYTES); an existing tag is left as it is. */
	int (*erasure_add)(store *s, const store_erasure *e);
	/* The erasure with that tag; STORE_NOTFOUND when none. */
	int (*erasure_get)(store *s, const unsigned char tag[SEC_HASH_BYTES],
			   store_erasure *out);
	/* A record kept under a legal hold after its subject was erased,
	 * and the chunks of its attachment. */
	int (*held_insert)(store *s, const store_held *h);
	int (*held_chunk_put)(store *s, int64_t record_id, int64_t seq,
			      const unsigned char *ct, size_t len);
	/* Every erasure, and every held record (without its chunks), in
	 * key order. */
	int (*erasure_walk)(store *s, store_erasure_fn fn, void *ud);
	int (*held_walk)(store *s, store_held_fn fn, void *ud);
	/* ---- rights of the data subject: rectification, erasure of one
	 * record, a profile reset, a change of kind ---- */
	/* Replaces the ciphertext of one record of a subject (rectification);
	 * STORE_NOTFOUND when the subject has no such record. */
	int (*record_set_ct)(store *s, const char *subject_id, int64_t id,
			     const unsigned char *ct, size_t len);
	/* Deletes one record of a subject with its attachment chunks;
	 * STORE_NOTFOUND when the subject has no such record. */
	int (*record_delete)(store *s, const char *subject_id, int64_t id);
	/* Deletes the subject's records that came through a cookie or
	 * device identifier (their cookie_hash is set); *deleted gets the
	 * count. */
	int (*record_delete_cookies)(store *s, const char *subject_id,
				     int64_t *deleted);
	/* Sets a subject's kind; STORE_NOTFOUND when there is no such
	 * subject. */
	int (*subject_set_kind)(store *s, const char *id, const char *kind);
	/* Sets one value row's expiry (NULL: open-ended); STORE_NOTFOUND. */
	int (*value_set_expiry_row)(store *s, int64_t rowid,
				    const char *expires);
	/* ---- data subject requests (kept after the subject is erased:
	 * the subject's id goes, its pseudonym stays) ---- */
	int (*dsr_insert)(store *s, store_dsr *d); /* sets d->id */
	/* Stores d's extension, status, outcome, reasons, closing date and
	 * MAC (the rest never changes); STORE_NOTFOUND when absent. */
	int (*dsr_update)(store *s, const store_dsr *d);
	/* Every request in id order. */
	int (*dsr_walk)(store *s, store_dsr_fn fn, void *ud);
	/* ---- retention, review and confirmation ---- */
	/* Each subject (once; pseudonym NULL) with a value or record whose
	 * expiry is before as_of (YYYY-MM-DD), found through the expiry
	 * indexes: the cost follows what expired. */
	int (*retention_due)(store *s, const char *as_of, store_id_fn fn,
			     void *ud);
	/* Deletes one value row of a subject; STORE_NOTFOUND. */
	int (*value_delete_row)(store *s, const char *subject_id,
				int64_t rowid);
	/* Sets a record's expiry (NULL: open-ended) and its new MAC;
	 * STORE_NOTFOUND. */
	int (*record_set_expiry)(store *s, int64_t id, const char *expires,
				 const unsigned char mac[SEC_HASH_BYTES]);
	/* Unlinks one identifier from the subject (when linked to it);
	 * *n gets 0 or 1. */
	int (*cookie_unlink)(store *s, const unsigned char hash[SEC_BIDX_BYTES],
			     const char *subject_id, int64_t *n);
	/* Held records whose hold_until is before as_of, oldest first, at
	 * most limit (0: all); and the delete of one (its chunks go with
	 * it), STORE_NOTFOUND. */
	int (*held_due)(store *s, const char *as_of, size_t limit,
			store_held_fn fn, void *ud);
	int (*held_delete)(store *s, int64_t id);
	/* Sets confirmed_at of a subject's values that have not expired
	 * (expires_at NULL or not before today) of field (NULL: all);
	 * *n gets the count. */
	int (*value_confirm)(store *s, const char *subject_id,
			     const char *field, int64_t at, const char *today,
			     int64_t *n);
	/* Each (subject, field) with a value confirmed before before (Unix
	 * seconds) that has not expired by today, ordered by subject and
	 * field, with the oldest confirmation. */
	int (*review_walk)(store *s, int64_t before, const char *today,
			   store_review_fn fn, void *ud);
	/* The number of identifiers linked to a subject (hash NULL), or
	 * whether hash is linked to it (0 or 1). */
	int (*cookie_count)(store *s, const char *subject_id,
			    const unsigned char *hash, int64_t *n);
	/* bidx_find without values that expired before today. */
	int (*bidx_find_live)(store *s, const char *field,
			      const unsigned char hash[SEC_BIDX_BYTES],
			      const char *today, store_id_fn fn, void *ud);
	/* ---- the controller's paperwork: counts for the records of
	 * processing, the breach register ---- */
	/* Counts by kind, field or type, in name order (no values read). */
	int (*count_by)(store *s, enum store_count what, store_count_fn fn,
			void *ud);
	int (*breach_insert)(store *s, const store_breach *b);
	/* Stores every column but id, aware_at, opened_at and the query;
	 * STORE_NOTFOUND when absent. */
	int (*breach_update)(store *s, const store_breach *b);
	/* Every breach in id order. */
	int (*breach_walk)(store *s, store_breach_fn fn, void *ud);
	/* The subjects created no later than asof that hold a value of field
	 * (NULL: no such condition) and have a record of type (NULL: none),
	 * the value collected and the record created within [from, to] when
	 * has_range; with neither field nor type, those with any value or
	 * record in the range (all subjects without a range). In id order. */
	int (*breach_match)(store *s, const char *field, const char *type,
			    int has_range, int64_t from, int64_t to,
			    int64_t asof, store_id_fn fn, void *ud);

	/* ---- notice versions and policy changes (store_sqlite_notice.c) ----
	 */
	/* One stored policy version: *text malloc'd (caller frees), and when
	 * it was stored; STORE_NOTFOUND when there is no such version. */
	int (*policy_get)(store *s, int version, char **text,
			  int64_t *created_at);
	/* Every stored version in order; fn returning non-zero stops. */
	int (*policy_walk)(store *s, store_policy_fn fn, void *ud);
	/* How many stored rows use name as what (enum store_use). */
	int (*usage_count)(store *s, enum store_use what, const char *name,
			   int64_t *n);
	/* The subjects that hold values of field, in ID order (pseudonym
	 * NULL). */
	int (*field_subjects)(store *s, const char *field, store_id_fn fn,
			      void *ud);
	/* Every ledger entry of scope (objection 0/1) ordered by subject and
	 * then entry: subject_id, scope, objection, given, at and
	 * policy_version are set. */
	int (*scope_walk)(store *s, const char *scope, int objection,
			  store_consent_fn fn, void *ud);
	/* ---- the disclosure log (kept after the subject is erased: the
	 * subject's id goes, its pseudonym stays) ---- */
	int (*disclosure_insert)(store *s, const store_disclosure *d);
	/* Every line in id order (pseudonym NULL: all). */
	int (*disclosure_walk)(store *s, const char *pseudonym,
			       store_disclosure_fn fn, void *ud);
	/* Replaces a value row's purposes, legal basis and expiry (the
	 * own direct-marketing register); STORE_NOTFOUND when absent. */
	int (*value_repurpose)(store *s, int64_t rowid, const char *purposes,
			       const char *legal_basis, const char *expires);
	/* ---- self-service links and sessions (selfservice.c) ---- */
	int (*selfsvc_insert)(store *s, const store_selfsvc *row);
	/* The row of a hash; STORE_NOTFOUND when there is none. */
	int (*selfsvc_get)(store *s, const unsigned char *hash,
			   store_selfsvc *out);
	/* Marks an unused row used at at, with mac its MAC as used;
	 * STORE_NOTFOUND when it is absent or was used already (one
	 * exchange wins). */
	int (*selfsvc_use)(store *s, const unsigned char *hash, int64_t at,
			   const unsigned char *mac);
	/* Rows of kind for the subject that are unused and live at now. */
	int (*selfsvc_count)(store *s, const char *subject_id, int kind,
			     int64_t now, int64_t *n);
	/* Drops the rows that expired by now, or only the row of hash when
	 * it is given (a session that ended). */
	int (*selfsvc_purge)(store *s, int64_t now, const unsigned char *hash);
	/* Every row; fn returning non-zero stops. */
	int (*selfsvc_walk)(store *s,
			    int (*fn)(void *ud, const store_selfsvc *row),
			    void *ud);
	/* How many successful opens of a link (its keyed ID in fields) the
	 * trail holds for the subject (pseudonym): a link's row put back as
	 * unused still shows as opened there. Found through an index (a
	 * partial one on SQLite), not by a walk of the trail. */
	int (*audit_link_opened)(store *s, const char *subject,
				 const char *fields, int64_t *n);
	/* ---- savepoints inside the open write transaction: a group commit
	 * runs each operation in one, so that a failing operation undoes
	 * only itself. level 0 is an operation's, level 1 one nested in it
	 * (a bulk transaction inside a group). rollback undoes what was
	 * written since the savepoint and ends it; release keeps it. ---- */
	int (*savepoint)(store *s, int level);
	int (*savepoint_release)(store *s, int level);
	int (*savepoint_rollback)(store *s, int level);
	/* ---- speed: n (1..STORE_AUDIT_MANY) audit entries in order, as n
	 * audit_append calls would add them, in fewer statements (the flush
	 * of a batch of read entries). ---- */
	int (*audit_append_many)(store *s, const store_audit *a, size_t n);
	/* ---- bulk loading ---- on 1, inside the open write transaction:
	 * the inserts of a bulk transaction (rk_register_begin) may be
	 * buffered by the backend and sent in one go (PostgreSQL: COPY);
	 * a backend sends them before anything reads and at commit, so
	 * callers see no difference but speed. The mode ends with the
	 * transaction; on 0 sends what waits and ends it. */
	int (*bulk)(store *s, int on);
	/* ---- read replica ---- read transactions (begin(s, 0)) may run on
	 * the streaming-replication standby at url (NULL: none) when it has
	 * replayed this handle's own writes; writes, and reads while it is
	 * down or behind, run on the primary. An unreachable standby is no
	 * error (reads go to the primary); a server that is not a standby
	 * is. Backends without replicas refuse a url. */
	int (*read_replica)(store *s, const char *url);
	/* How many read transactions the replica served. */
	int64_t (*replica_reads)(store *s);
	/* ---- a cookie reset replayed (after a restore) ---- the records
	 * that came through a subject's identifiers made at or before until
	 * (by the records' own columns), then the links made at or before
	 * until; *records and *links get the counts. */
	int (*cookie_reset_until)(store *s, const char *subject_id,
				  int64_t until, int64_t *records,
				  int64_t *links);
	/* ---- self-service rows about to go (their set's pin follows
	 * them, integrity.c) ---- the rows of subject_id when it is given,
	 * else the rows that expired by now; fn returning non-zero stops. */
	int (*selfsvc_select)(store *s, const char *subject_id, int64_t now,
			      int (*fn)(void *ud, const store_selfsvc *row),
			      void *ud);
	/* ---- read-your-writes across handles (replica.c) ---- with a
	 * floor (NULL: none), every committed write raises it to the
	 * primary's WAL position after the commit, and a read goes to the
	 * standby only when it has replayed up to the floor as well as up
	 * to this handle's own last write. Backends without replicas keep
	 * nothing. */
	void (*read_floor)(store *s, store_floor *floor);
	/* on = 0: read transactions stay on the primary though a replica
	 * is set (its connection kept); 1 (the default): they may go to it.
	 * Takes effect at the next begin. */
	void (*replica_use)(store *s, int on);
	/* ---- checkpoints off the request path ---- pages > 0: this
	 * connection's commits no longer copy the log back into the database
	 * themselves once it holds pages pages; they only note that a
	 * checkpoint is owed, for whoever calls checkpoint_owed (a server's
	 * checkpointer thread). 0: the backend's own checkpoints again.
	 * Backends without such a log do nothing. */
	int (*defer_checkpoints)(store *s, int pages);
	/* When one is owed (noted by any connection of this process): a
	 * checkpoint that waits for no reader or writer; *ran gets 1 when it
	 * ran. */
	int (*checkpoint_owed)(store *s, int *ran);
	/* ---- look-up speed ---- How many lookup values carry a copy of
	 * their subject's pseudonym that differs from the subject's row
	 * (the copy names the subject in a look-up's audit entry, so one
	 * edited in the file would misname it). Backends whose look-ups
	 * read the subject's row instead say 0. */
	int (*value_pseudonym_mismatch)(store *s, int64_t *n);
	/* Reads go to the read replica only while the last transaction it
	 * replayed committed at most ms milliseconds ago (0: no bound). */
	void (*replica_max_lag)(store *s, int64_t ms);
	/* ---- an empty cookie reset ---- *n gets 1 when the newest entry
	 * of the trail naming subject (a pseudonym) with outcome "ok" among
	 * the actions newer and older is newer, else 0 (also when there is
	 * neither). */
	int (*audit_newest_is)(store *s, const char *subject, const char *newer,
			       const char *older, int64_t *n);
};

/* The most entries one audit_append_many call takes. */
#define STORE_AUDIT_MANY 16

struct store {
	const struct store_vt *vt;
};

/* Opens the SQLite backend. create: 1 makes a new database and refuses an
 * existing file; 0 opens an existing one and refuses a missing file. Runs
 * the numbered migrations. err gets a message when NULL is returned. */
store *store_sqlite_open(const char *path, int create, char *err,
			 size_t errlen);
/* The SQLite backend's schema version (its number of migrations): a backup
 * file must be at it to be restored row for row on PostgreSQL. */
int64_t store_sqlite_schema_version(void);

/* ---- PostgreSQL backend (store_pg*.c) ---- */
/* Whether db names a PostgreSQL database (postgresql:// or postgres://)
 * rather than a SQLite file. */
int store_is_url(const char *db);
/* Opens the PostgreSQL backend at a libpq connection URL. create: 1 makes
 * the schema in a database that holds no register yet; 0 needs one. Runs
 * its own numbered migrations. */
store *store_pg_open(const char *url, int create, char *err, size_t errlen);
/* store_pg_open for a URL, store_sqlite_open for anything else. */
store *store_open(const char *db, int create, char *err, size_t errlen);
/* Copies every row of the register database from into a new one, to
 * (created; one that holds a register is refused), SQLite or PostgreSQL on
 * either side, with the ids and the counters that hand them out. *rows
 * gets how many rows went. -1 with a message (no data) in err. */
int store_copy(const char *from, const char *to, int64_t *rows, char *err,
	       size_t errlen);

#endif
