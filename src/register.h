/*
 * register.h: the register handle shared by the library's modules (never
 * installed). Holds the store, the stored policy, the keys, the caller's
 * actor, the clock and the queue of read audit entries.
 */
#ifndef RK_REGISTER_H
#define RK_REGISTER_H

#include <stdint.h>

#include "rekisteri.h"
#include "policy.h"
#include "store.h"

#define REG_ACTOR_MAX	    64
#define REG_ERR_MAX	    256
#define REG_AUDIT_QUEUE_MAX 1024

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
	unsigned char *akey; /* audit chain key */
	char actor[REG_ACTOR_MAX];
	char err[REG_ERR_MAX];
	int64_t clock; /* fixed "now" in Unix seconds, 0 = real time */
	unsigned audit_batch;
	audit_ev *queue; /* read audit entries not yet committed */
	unsigned nqueue;
	unsigned nqueue_in_txn; /* how many of them the open write took */
	unsigned sp_mark;	/* nqueue_in_txn when an op's savepoint began */
	int in_write;		/* an operation's write is open */
	int bulk;		/* rk_register_begin's transaction is open */
};

/* Sets the handle's error message (printf-like) and returns st. */
rk_status reg_fail(rk_register *r, rk_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Wraps a store failure: "what: <store message>", RK_ESYS. */
rk_status reg_store_fail(rk_register *r, const char *what);

int64_t reg_now(const rk_register *r);
int64_t reg_now_us(const rk_register *r);
void reg_today(const rk_register *r, char out[11]);

/* Write transaction: begins, and on commit also commits the queued read
 * audit entries that audit_write appended inside it. */
rk_status reg_begin_write(rk_register *r);
rk_status reg_commit(rk_register *r);
void reg_rollback(rk_register *r);
/* A consistent read of several statements (nothing to do inside a bulk
 * transaction, which already is one). */
rk_status reg_begin_read(rk_register *r);
void reg_end_read(rk_register *r);

/* Unwraps a subject's data key into guarded memory (caller frees with
 * sec_key_free). RK_EINTEGRITY when the wrap does not open. */
rk_status reg_subject_key(rk_register *r, const store_subject *s,
			  unsigned char **dk_out);

/* audit.c */
void audit_ev_set(audit_ev *ev, const rk_register *r, const char *action,
		  const char *subject, const char *fields, const char *purpose,
		  const char *outcome);
/* Appends ev to the chain inside the open write transaction, after any
 * queued read entries. */
rk_status audit_write(rk_register *r, const audit_ev *ev);
/* Queues a read's entry; commits the queue when it reaches the batch. */
rk_status audit_read(rk_register *r, const audit_ev *ev);
/* Commits the queue in its own write transaction. */
rk_status audit_flush(rk_register *r);

#endif
