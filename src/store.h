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

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define STORE_ERR      (-1)
#define STORE_NOTFOUND 1

#define STORE_SP_BEGIN	 0
#define STORE_SP_RELEASE 1
#define STORE_SP_UNDO	 2

typedef struct store store;

typedef struct store_subject {
	char id[33];
	char kind[32];
	char pseudonym[33];
	unsigned char wrapped_key[SEC_WRAPPED_BYTES];
	int64_t created_at; /* Unix seconds */
	char rel_start[11]; /* YYYY-MM-DD, "" if none */
	char rel_end[11];   /* YYYY-MM-DD, "" while ongoing */
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
} store_audit;

/* Callbacks: returning non-zero stops the walk (the walk then returns 0).
 * Pointers handed to a callback are valid only during the call. */
typedef int (*store_value_fn)(void *ud, const store_value *v);
typedef int (*store_subject_fn)(void *ud, const store_subject *s);
typedef int (*store_id_fn)(void *ud, const char *subject_id,
			   const char *pseudonym);
typedef int (*store_audit_fn)(void *ud, const store_audit *a);

struct store_vt {
	void (*close)(store *s);
	const char *(*errmsg)(const store *s);
	int (*begin)(store *s, int write);
	int (*commit)(store *s);
	int (*rollback)(store *s);
	/* Inside a write transaction: STORE_SP_BEGIN sets a savepoint,
	 * STORE_SP_RELEASE keeps what followed it, STORE_SP_UNDO undoes it
	 * (and releases it). Savepoints do not nest here. */
	int (*savepoint)(store *s, int op);

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
	/* Subjects ordered by id, after after_id (NULL: from the start), of
	 * kind (NULL: all), at most limit (0: all). */
	int (*subject_list)(store *s, const char *kind, const char *after_id,
			    size_t limit, store_subject_fn fn, void *ud);

	int (*value_insert)(store *s, store_value *v); /* sets v->rowid */
	/* Values of a subject in insertion order (field NULL: all fields). */
	int (*value_list)(store *s, const char *subject_id, const char *field,
			  store_value_fn fn, void *ud);
	int (*value_delete_field)(store *s, const char *subject_id,
				  const char *field);
	int (*value_set_expiry)(store *s, const char *subject_id,
				const char *field, const char *expires);

	/* Inserting an existing (field, hash, subject) is a no-op. */
	int (*bidx_insert)(store *s, const char *field,
			   const unsigned char hash[SEC_BIDX_BYTES],
			   const char *subject_id);
	/* Subjects whose field has this hash, with their pseudonyms. */
	int (*bidx_find)(store *s, const char *field,
			 const unsigned char hash[SEC_BIDX_BYTES],
			 store_id_fn fn, void *ud);
	int (*bidx_delete_field)(store *s, const char *subject_id,
				 const char *field);

	int (*audit_append)(store *s, const store_audit *a);
	/* The newest entry; STORE_NOTFOUND when the trail is empty. String
	 * members of out point into a buffer in the store handle and live
	 * until the next audit_last or close. */
	int (*audit_last)(store *s, store_audit *out);
	/* Entries in seq order from seq from_seq on (subject NULL: all). */
	int (*audit_walk)(store *s, int64_t from_seq, const char *subject,
			  store_audit_fn fn, void *ud);
};

struct store {
	const struct store_vt *vt;
};

/* Opens the SQLite backend. create: 1 makes a new database and refuses an
 * existing file; 0 opens an existing one and refuses a missing file. Runs
 * the numbered migrations. err gets a message when NULL is returned. */
store *store_sqlite_open(const char *path, int create, char *err,
			 size_t errlen);

#endif
