/*
 * selfservice.c: the data subject's own page. Staff issue a single-use,
 * short-lived link for one subject; the page exchanges its secret once for
 * a short-lived session, and the session acts on that subject only. Only
 * keyed hashes of the secrets are stored (the row key, a context of its
 * own), each row under a MAC, so a database writer can neither read a
 * secret nor point a session at another subject.
 */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "integrity.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define CTX_SELFSVC_HASH "rk-selfsvc-token-v1"

/* The actor named in the audit trail for what the subject does: not a
 * valid actor name, so no staff actor can be confused with it. */
#define SELF_ACTOR "(self-service)"

static void ss_hash(const rk_register *r, const char *secret,
		    unsigned char out[SEC_HASH_BYTES])
{
	sec_mac m;

	sec_mac_init(&m, r->rkey, CTX_SELFSVC_HASH);
	sec_mac_str(&m, secret);
	sec_mac_final(&m, out);
}

/* The row of secret, of kind, live at now and with an intact MAC:
 * RK_OK, or RK_EREFUSED (unknown, used, expired) without a message;
 * RK_EINTEGRITY for a row that does not match its MAC. */
static rk_status ss_find(rk_register *r, const char *secret, int kind,
			 store_selfsvc *row)
{
	unsigned char mac[SEC_HASH_BYTES];
	int rc;

	if (secret == NULL || strlen(secret) != SEC_TOKEN_LEN)
		return RK_EREFUSED;
	ss_hash(r, secret, row->hash);
	rc = r->st->vt->selfsvc_get(r->st, row->hash, row);
	if (rc == STORE_NOTFOUND)
		return RK_EREFUSED;
	if (rc != 0)
		return reg_store_fail(r, "cannot read self-service links");
	integ_selfsvc_mac(r, row, mac);
	if (sec_memcmp(mac, row->mac, sizeof mac) != 0)
		return reg_fail(r, RK_EINTEGRITY,
				"a self-service row does not match its MAC");
	if (row->kind != kind || row->expires_at <= reg_now(r) ||
	    (kind == 0 && row->used_at != 0))
		return RK_EREFUSED;
	return RK_OK;
}

rk_status rk_selfservice_link(rk_register *r, const char *id,
			      const char *purpose, unsigned ttl_seconds,
			      char secret_out[RK_TOKEN_LEN + 1],
			      int64_t *expires_out)
{
	char secret[SEC_TOKEN_LEN + 1] = "";
	store_selfsvc row;
	store_subject sub;
	int64_t live = 0, now = reg_now(r);
	size_t pu;
	rk_status st;

	secret_out[0] = '\0';
	*expires_out = 0;
	if (ttl_seconds == 0)
		ttl_seconds = RK_SELFSERVICE_LINK_TTL;
	if (ttl_seconds < 60 || ttl_seconds > 86400)
		return reg_fail(r, RK_EINVAL,
				"a link lives 60 to 86400 seconds");
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		return st;
	st = access_check(r, pu, AUD_SELFSERVICE_LINK, id);
	if (st != RK_OK)
		return st;
	/* A link opens all of the subject's data, whole, and acts in the
	 * subject's name: only those who answer the subjects' requests may
	 * hand one out, never a role that sees less itself. */
	st = access_rights(r, AUD_SELFSERVICE_LINK,
			   "issue a self-service link (it opens all of the "
			   "subject's data)");
	if (st != RK_OK)
		return st;
	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	st = reg_load_subject(r, id, &sub);
	if (st != RK_OK)
		goto out;
	/* The expired rows leave the pinned set before they go. */
	st = integ_selfsvc_unpin(r, NULL, now);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->selfsvc_purge(r->st, now, NULL) != 0 ||
	    r->st->vt->selfsvc_count(r->st, id, 0, now, &live) != 0) {
		st = reg_store_fail(r, "cannot read self-service links");
		goto out;
	}
	/* A few live links per subject at most: a link is a key to the
	 * subject's data, and staff should not scatter them. */
	if (live >= RK_SELFSERVICE_LIVE_MAX) {
		st = reg_fail(r, RK_EREFUSED,
			      "the subject has %d unused self-service links "
			      "already; wait until they expire",
			      RK_SELFSERVICE_LIVE_MAX);
		reg_rollback(r);
		reg_audit_attempt(r, AUD_SELFSERVICE_LINK, sub.pseudonym,
				  r->pol->purposes[pu].name, st);
		return st;
	}
	memset(&row, 0, sizeof row);
	sec_token_new(secret);
	ss_hash(r, secret, row.hash);
	snprintf(row.subject_id, sizeof row.subject_id, "%s", sub.id);
	row.kind = 0;
	row.created_at = now;
	row.expires_at = now + (int64_t)ttl_seconds;
	integ_selfsvc_mac(r, &row, row.mac);
	if (r->st->vt->selfsvc_insert(r->st, &row) != 0) {
		st = reg_store_fail(r, "cannot store the self-service link");
		goto out;
	}
	st = integ_selfsvc_pin(r, NULL, &row);
	if (st != RK_OK)
		goto out;
	st = reg_write_commit(r, AUD_SELFSERVICE_LINK, sub.pseudonym, NULL,
			      r->pol->purposes[pu].name);
	if (st == RK_OK) {
		memcpy(secret_out, secret, sizeof secret);
		*expires_out = row.expires_at;
	}
out:
	if (st != RK_OK)
		reg_rollback(r);
	sec_wipe(secret, sizeof secret);
	return st;
}

/* A failed use of a link or session, audited under the self-service actor:
 * whoever tried, it was not the handle's last actor. */
static void audit_self_attempt(rk_register *r, rk_status st,
			       audit_action action)
{
	char saved[REG_ACTOR_MAX];

	memcpy(saved, r->actor, sizeof saved);
	snprintf(r->actor, sizeof r->actor, "%s", SELF_ACTOR);
	reg_audit_attempt(r, action, NULL, NULL, st);
	memcpy(r->actor, saved, sizeof saved);
}

rk_status rk_selfservice_exchange(rk_register *r, const char *link_secret,
				  char session_out[RK_TOKEN_LEN + 1],
				  int64_t *expires_out)
{
	char session[SEC_TOKEN_LEN + 1] = "";
	char link_id[AUDIT_LINK_ID_LEN + 1];
	store_selfsvc link, spent, row;
	store_subject sub;
	int64_t now = reg_now(r), opened = 0;
	audit_ev ev;
	rk_status st;
	int rc;

	session_out[0] = '\0';
	*expires_out = 0;
	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	memset(&link, 0, sizeof link);
	st = ss_find(r, link_secret, 0, &link);
	if (st == RK_EREFUSED)
		goto refused;
	/* The row alone cannot tell a spent link written back as it was
	 * unused: the set of rows as pinned can. */
	if (st == RK_OK)
		st = integ_selfsvc_set_check(r, 0);
	if (st == RK_EINTEGRITY)
		goto integrity;
	if (st != RK_OK)
		goto out;
	st = reg_load_subject(r, link.subject_id, &sub);
	if (st == RK_ENOTFOUND)
		goto refused; /* erased since the link was issued */
	if (st != RK_OK)
		goto out;
	/* Nor the set, when both were put back from a copy taken while the
	 * link was unused: the trail, which goes on, names its open. */
	integ_selfsvc_link_id(r, link.hash, link_id);
	if (r->st->vt->audit_link_opened(r->st, sub.pseudonym, link_id,
					 &opened) != 0) {
		st = reg_store_fail(r, "cannot read the audit trail");
		goto out;
	}
	if (opened != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the audit trail shows this self-service link "
			      "opened before: its row was put back as unused");
		goto integrity;
	}
	/* One exchange wins, even when two race with the same link; the
	 * row is spent under a MAC that binds when. */
	spent = link;
	spent.used_at = now > 0 ? now : 1;
	integ_selfsvc_mac(r, &spent, spent.mac);
	rc = r->st->vt->selfsvc_use(r->st, spent.hash, spent.used_at,
				    spent.mac);
	if (rc == STORE_NOTFOUND)
		goto refused;
	if (rc != 0) {
		st = reg_store_fail(r, "cannot use the self-service link");
		goto out;
	}
	st = integ_selfsvc_pin(r, &link, &spent);
	if (st != RK_OK)
		goto out;
	memset(&row, 0, sizeof row);
	sec_token_new(session);
	ss_hash(r, session, row.hash);
	memcpy(row.subject_id, link.subject_id, sizeof row.subject_id);
	row.kind = 1;
	row.created_at = now;
	row.expires_at = now + RK_SELFSERVICE_SESSION_TTL;
	integ_selfsvc_mac(r, &row, row.mac);
	if (r->st->vt->selfsvc_insert(r->st, &row) != 0) {
		st = reg_store_fail(r, "cannot store the self-service session");
		goto out;
	}
	st = integ_selfsvc_pin(r, NULL, &row);
	if (st != RK_OK)
		goto out;
	{
		char saved[REG_ACTOR_MAX];
		memcpy(saved, r->actor, sizeof saved);
		snprintf(r->actor, sizeof r->actor, "%s", SELF_ACTOR);
		audit_ev_set(&ev, r, AUD_SELFSERVICE_OPEN, sub.pseudonym,
			     link_id, NULL, "ok");
		memcpy(r->actor, saved, sizeof saved);
	}
	st = audit_write(r, &ev);
	if (st == RK_OK)
		st = reg_commit(r);
	if (st == RK_OK) {
		memcpy(session_out, session, sizeof session);
		*expires_out = row.expires_at;
	}
	goto out;
refused:
	reg_rollback(r);
	st = reg_fail(r, RK_EREFUSED,
		      "the link was used already or has expired");
	audit_self_attempt(r, st, AUD_SELFSERVICE_OPEN);
	sec_wipe(session, sizeof session);
	return st;
integrity:
	/* Nothing handed out; audited as the other integrity failures,
	 * with the message kept. */
	reg_rollback(r);
	audit_self_attempt(r, st, AUD_SELFSERVICE_OPEN);
	sec_wipe(session, sizeof session);
	return st;
out:
	if (st != RK_OK)
		reg_rollback(r);
	sec_wipe(session, sizeof session);
	return st;
}

rk_status rk_selfservice_authenticate(rk_register *r, const char *session,
				      char id_out[RK_ID_LEN + 1])
{
	store_selfsvc row;
	rk_status st;

	id_out[0] = '\0';
	memset(&row, 0, sizeof row);
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	st = ss_find(r, session, 1, &row);
	/* A signed-out session's row written back has its valid MAC: only
	 * the pinned set tells it is not a row the register holds. */
	if (st == RK_OK)
		st = integ_selfsvc_set_check(r, 0);
	reg_end_read(r);
	if (st == RK_EINTEGRITY) {
		audit_self_attempt(r, st, AUD_SELFSERVICE_AUTHENTICATE);
		return st;
	}
	if (st == RK_EREFUSED) {
		reg_fail(r, RK_EREFUSED,
			 "the self-service session has ended or is unknown");
		reg_audit_attempt(r, AUD_SELFSERVICE_AUTHENTICATE, NULL, NULL,
				  RK_EREFUSED);
		return RK_EREFUSED;
	}
	if (st != RK_OK)
		return st;
	/* The subject acts on its own data with the operator's reach; the
	 * caller passes no other subject's ID (the server takes the ID from
	 * here, never from the request). */
	snprintf(r->actor, sizeof r->actor, "%s", SELF_ACTOR);
	r->role = POL_NONE;
	r->authenticated = 1;
	snprintf(id_out, RK_ID_LEN + 1, "%s", row.subject_id);
	return RK_OK;
}

rk_status rk_selfservice_end(rk_register *r, const char *session)
{
	unsigned char h[SEC_HASH_BYTES];
	store_selfsvc row;
	rk_status st;
	int rc;

	if (session == NULL || strlen(session) != SEC_TOKEN_LEN)
		return reg_fail(r, RK_EINVAL, "not a session");
	memset(&row, 0, sizeof row);
	ss_hash(r, session, h);
	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	/* The row leaves the pinned set as it goes. */
	rc = r->st->vt->selfsvc_get(r->st, h, &row);
	if (rc == 0)
		st = integ_selfsvc_pin(r, &row, NULL);
	else if (rc != STORE_NOTFOUND)
		st = reg_store_fail(r, "cannot read self-service links");
	if (st == RK_OK && r->st->vt->selfsvc_purge(r->st, 0, h) != 0)
		st = reg_store_fail(r, "cannot end the session");
	if (st != RK_OK) {
		reg_rollback(r);
		return st;
	}
	return reg_commit(r);
}

/* ---- audit verify ---- */
