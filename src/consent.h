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

/* 1 when the newest entry for consent scope index scope gives it; 0 when
 * there is none or it was withdrawn; -1 on a store error, with the handle's
 * message set. */
int consent_live(rk_register *r, const char *subject_id, size_t scope);

/* 1 when the newest entry for the objection named objection (e.g.
 * "direct_marketing") is active; 0 when none or lifted; -1 on a store
 * error, with the handle's message set. */
int consent_objected(rk_register *r, const char *subject_id,
		     const char *objection);

/* 1 when content may be personalised for the subject: a live
 * "personalisation" consent and no direct-marketing prohibition; 0 when
 * not; -1 on a store error, with the handle's message set. */
int consent_personalisation_allowed(rk_register *r, const char *subject_id);

/* Inside a write: deletes, for every subject, the records and values that
 * rest on a consent which does not live now (after a restore brought back
 * data from before a withdrawal). */
rk_status consent_purge_unconsented(rk_register *r);

#endif
