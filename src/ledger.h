/*
 * ledger.h: the consent and objection ledger as the deciding modules ask
 * it. Every answer comes from the newest ledger entry for the scope or
 * objection: the ledger is append-only, so the past stays provable and the
 * present is always its last line. The writes are consent.c's.
 */
#ifndef RK_LEDGER_H
#define RK_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "rekisteri.h"
#include "store.h"

struct policy;

/* What the queries below return for a ledger that does not match its MACs
 * (-1 is any other failure); ledger_err gives the status of either. */
#define LEDGER_EINTEGRITY (-2)
static inline rk_status ledger_err(int v)
{
	return v == LEDGER_EINTEGRITY ? RK_EINTEGRITY : RK_ESYS;
}

/* Ledger names of the objections to processing for a purpose (GDPR Art.
 * 21(1)), of the controller's compelling legitimate grounds against one,
 * and of a restriction of processing (Art. 18): a colon never occurs in a
 * policy's names, so these never meet a scope or objection of the policy. */
#define LEDGER_PURPOSE_PREFIX "purpose:"
#define LEDGER_GROUNDS_PREFIX "grounds:"
#define LEDGER_RESTRICTION    "rk:restriction"
/* A cookie reset (rk_cookie_reset): in the ledger so that it outlives a
 * restore, which then unlinks what a backup brings back from before it. */
#define LEDGER_COOKIE_RESET "rk:cookie_reset"
#define LEDGER_NAME_MAX	    64

enum ledger_state { LEDGER_NONE, LEDGER_GIVEN, LEDGER_WITHDRAWN };

/* The newest entry's state for name (a scope, or an objection when
 * objection is set), after the subject row and the whole ledger matched
 * their MACs; -1 on a store error, LEDGER_EINTEGRITY on a mismatch, with
 * the handle's message set. name NULL (an item the policy does not name)
 * is LEDGER_NONE. */
int ledger_state(rk_register *r, const char *subject_id, const char *name,
		 int objection);

/* prefix followed by purpose into out; -1 when it does not fit. */
int ledger_name(char out[LEDGER_NAME_MAX], const char *prefix,
		const char *purpose);

/* The name of the policy's direct-marketing prohibition, or NULL. */
const char *ledger_prohibition(const struct policy *p);

/* 1 when the newest entry for consent scope index scope gives it; 0 when
 * there is none or it was withdrawn; -1 on a store error or
 * LEDGER_EINTEGRITY, with the handle's message set. Call inside one read or
 * write, so that the subject row and the ledger come from one snapshot. */
int ledger_live(rk_register *r, const char *subject_id, size_t scope);

/* 1 when the newest entry for the objection named objection (the policy's
 * direct-marketing prohibition, say) is active; 0 when none, lifted or
 * objection is NULL; -1 on a store error, with the handle's message set. */
int ledger_objected(rk_register *r, const char *subject_id,
		    const char *objection);

/* 1 when content may be personalised for the subject: a live consent of
 * the scope the policy's marketing section names for personalisation, and
 * no direct-marketing prohibition; 0 when not; -1 on a store error. */
int ledger_personalisation_allowed(rk_register *r, const char *subject_id);

/* Whether the legal basis named basis (as a value or record row holds it)
 * is one the subject may object to for a purpose (GDPR Art. 21(1)): the
 * policy's basis whose article is 6(1)(f), legitimate interest. */
int ledger_basis_objectable(const struct policy *p, const char *basis);

enum ledger_purpose {
	LEDGER_PURPOSE_FREE,
	LEDGER_PURPOSE_OBJECTED,
	LEDGER_PURPOSE_OVERRIDDEN /* compelling grounds recorded after it */
};

/* The state of the objection to processing for purpose index pu (an enum
 * ledger_purpose), or -1 / LEDGER_EINTEGRITY. */
int ledger_purpose_state(rk_register *r, const store_subject *sub, size_t pu);

/* 1 when data on such a basis is withheld from purpose index pu for the
 * subject: an objection for pu is in force and no compelling legitimate
 * grounds were recorded after it; 0 when not; -1 or LEDGER_EINTEGRITY.
 * sub is the subject row as loaded and checked in the same read or write. */
int ledger_purpose_objected(rk_register *r, const store_subject *sub,
			    size_t pu);

/* 1 when the subject's processing is restricted now, 0 when not; -1 or
 * LEDGER_EINTEGRITY. sub is the row as loaded in this read or write (its
 * ledger is checked against the head it pins). */
int ledger_restricted(rk_register *r, const store_subject *sub);

/* The time of the newest entry of name (an objection when objection is
 * set) into *at: 1 when there is one, 0 when none, -1 or LEDGER_EINTEGRITY
 * as ledger_state (the subject row and the whole ledger checked first). */
int ledger_last_at(rk_register *r, const char *subject_id, const char *name,
		   int objection, int64_t *at);

/* What a restore asks of one subject's ledger, read in one walk (the
 * subject row and the whole ledger checked first): the newest cookie
 * reset's time (has_reset 0 when none), whether a reset came after the
 * entry whose MAC is since (the backup's head of the ledger, all zeros for
 * an empty one; reset_since, 1 too when since is not in the ledger) and,
 * for each of the policy's scopes, whether its newest consent entry gives
 * it (live, nscopes bytes that the caller provides). 0, or -1 /
 * LEDGER_EINTEGRITY as ledger_state. */
struct ledger_view {
	int has_reset;
	int64_t reset_at;
	unsigned char *live;
	const unsigned char *since; /* SEC_HASH_BYTES, set by the caller */
	int reset_since;
};
int ledger_view_read(rk_register *r, const char *subject_id,
		     struct ledger_view *v);

/* ledger_restricted (when want_restricted) and ledger_purpose_objected
 * for purpose index pu in one walk of the ledger, for a subject's read:
 * *objected is left 0 when the subject is restricted. 0, or -1 /
 * LEDGER_EINTEGRITY with the handle's message set. */
int ledger_read_flags(rk_register *r, const store_subject *sub, size_t pu,
		      int want_restricted, int *restricted, int *objected);

#endif
