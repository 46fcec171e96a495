/*
 * disclose.h: the disclosure log as other modules read it (the access
 * report lists a subject's disclosures).
 */
#ifndef RK_DISCLOSE_H
#define RK_DISCLOSE_H

#include "rekisteri.h"
#include "store.h"

struct json_t;

/* The recipient name under which a transfer to the controller's own
 * direct-marketing register is logged: a colon never occurs in a policy's
 * names, so no recipient of the policy can take it. */
#define DISCLOSE_OWN_REGISTER "rk:marketing_register"

/* Subject sub's lines of the disclosure log as a JSON array (the form
 * rk_disclosure_list hands out, with the recipient's label in the
 * language en selects), after the whole log matched its chain. Reads in
 * a snapshot of its own; no access check and no audit: the caller does
 * both. */
rk_status disclose_log_json(rk_register *r, const store_subject *sub, int en,
			    struct json_t **out);

#endif
