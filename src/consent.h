/*
 * consent.h: the consent and objection ledger's writers for the other
 * modules (its reads are ledger.h's).
 */
#ifndef RK_CONSENT_H
#define RK_CONSENT_H

#include <stddef.h>

#include "rekisteri.h"
#include "store.h"

/* Inside a write, after a restore brought back subjects from a backup
 * while the ledger stayed live: first makes each subject row pin its live
 * ledger again (integ_subject_rehead), then deletes the records and values
 * that rest on a consent which does not live now (data from before a
 * withdrawal), and replays the cookie resets (each from after the ledger
 * head the backup's row pinned unlinks every identifier that came back,
 * whatever the link's time says). */
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
