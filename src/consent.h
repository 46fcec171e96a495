/*
 * consent.h: the consent and objection ledger as the other modules ask it.
 * Every answer comes from the newest ledger entry for the scope or
 * objection: the ledger is append-only, so the past stays provable and the
 * present is always its last line.
 */
#ifndef RK_CONSENT_H
#define RK_CONSENT_H

#include <stddef.h>

#include "rekisteri.h"
#include "store.h"

/* What the queries below return for a ledger that does not match its MACs
 * (-1 is any other failure); consent_err gives the status of either. */
#define CONSENT_EINTEGRITY (-2)
static inline rk_status consent_err(int v)
{
	return v == CONSENT_EINTEGRITY ? RK_EINTEGRITY : RK_ESYS;
}

/* 1 when the newest entry for consent scope index scope gives it; 0 when
 * there is none or it was withdrawn; -1 on a store error or
 * CONSENT_EINTEGRITY, with the handle's message set. The subject row and
 * the whole ledger are checked against their MACs: call inside one read or
 * write, so that both come from the same snapshot. */
int consent_live(rk_register *r, const char *subject_id, size_t scope);

/* 1 when the newest entry for the objection named objection (the policy's
 * direct-marketing prohibition, say) is active; 0 when none, lifted or
 * objection is NULL; -1 on a store error, with the handle's message set. */
int consent_objected(rk_register *r, const char *subject_id,
		     const char *objection);

/* 1 when content may be personalised for the subject: a live consent of
 * the scope the policy's marketing section names for personalisation, and
 * no direct-marketing prohibition; 0 when not; -1 on a store error, with
 * the handle's message set. */
int consent_personalisation_allowed(rk_register *r, const char *subject_id);

struct store_subject;
struct policy;

/* Whether the legal basis named basis (as a value or record row holds it)
 * is one the subject may object to for a purpose (GDPR Art. 21(1)): the
 * policy's basis whose article is 6(1)(f), legitimate interest. */
int consent_basis_objectable(const struct policy *p, const char *basis);

/* 1 when data on such a basis is withheld from purpose index pu for the
 * subject: an objection for pu is in force and no compelling legitimate
 * grounds were recorded after it; 0 when not; -1 on a store error or
 * CONSENT_EINTEGRITY, with the handle's message set. sub is the subject
 * row as loaded and checked in the same read or write. */
int consent_purpose_objected(rk_register *r, const struct store_subject *sub,
			     size_t pu);

/* Inside a write, after a restore brought back subjects from a backup
 * while the ledger stayed live: first makes each subject row pin its live
 * ledger again (integ_subject_rehead), then deletes the records and values
 * that rest on a consent which does not live now (data from before a
 * withdrawal). */
rk_status consent_purge_unconsented(rk_register *r);

/* The ledger name of a restriction of processing (GDPR Art. 18): policy
 * names cannot hold a colon, so no scope or objection can take it. */
#define CONSENT_RESTRICTION "rk:restriction"

/* 1 when the subject's processing is restricted now, 0 when not; -1 or
 * CONSENT_EINTEGRITY as above. sub is the row as loaded in this read or
 * write (its ledger is checked against the head it pins). */
int consent_restricted(rk_register *r, const store_subject *sub);
/* For the access report (export.c): subject sub's whole ledger, checked
 * against its chain, as the JSON array rk_consent_history hands out
 * (evidence decrypted with dk: free with json_free_secret). Call inside
 * one read. No access check and no audit: the caller does both. */
struct store_subject;
struct json_t;
rk_status consent_ledger_json(rk_register *r, const struct store_subject *sub,
			      const unsigned char *dk, struct json_t **out);

#endif
