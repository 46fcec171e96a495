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

/* Inside a write, after a restore brought back subjects from a backup
 * while the ledger stayed live: first makes each subject row pin its live
 * ledger again (integ_subject_rehead), then deletes the records and values
 * that rest on a consent which does not live now (data from before a
 * withdrawal). */
rk_status consent_purge_unconsented(rk_register *r);

/* For the access report (export.c): subject sub's whole ledger, checked
 * against its chain, as the JSON array rk_consent_history hands out
 * (evidence decrypted with dk: free with json_free_secret). Call inside
 * one read. No access check and no audit: the caller does both. */
struct store_subject;
struct json_t;
rk_status consent_ledger_json(rk_register *r, const struct store_subject *sub,
			      const unsigned char *dk, struct json_t **out);

#endif
