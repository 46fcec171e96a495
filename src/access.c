/*
 * access.c: who may process what. Roles come from the policy: the purposes
 * a role may process for and the categories of data it may see. Every call
 * that touches personal data asks access_check for its purpose; a refusal
 * is audited like any other processing attempt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "ident.h"
#include "integrity.h"
#include "ledger.h"
#include "policy.h"
#include "register.h"
#include "store.h"

rk_status access_check(rk_register *r, size_t pu, audit_action action,
		       const char *subject_id)
{
	const pol_role *role;
	store_subject sub;
	const char *pseudonym = NULL;
	size_t i;

	if (r->role == POL_NONE)
		return RK_OK;
	role = &r->pol->roles[r->role];
	for (i = 0; i < role->npurposes; i++)
		if (role->purposes[i] == pu)
			return RK_OK;
	/* The trail names whom the refused call was aimed at. */
	if (subject_id != NULL && reg_valid_id(subject_id) &&
	    r->st->vt->subject_get(r->st, subject_id, &sub) == 0)
		pseudonym = sub.pseudonym;
	reg_fail(r, RK_EREFUSED, "role %s may not process for purpose %s",
		 role->name,
		 pu < r->pol->npurposes ? r->pol->purposes[pu].name : "(none)");
	reg_audit_attempt(r, action, pseudonym,
			  pu < r->pol->npurposes ? r->pol->purposes[pu].name
						 : NULL,
			  RK_EREFUSED);
	return RK_EREFUSED;
}

int access_sees_category(const rk_register *r, size_t cat)
{
	const pol_role *role;
	size_t i;

	if (r->role == POL_NONE)
		return 1;
	role = &r->pol->roles[r->role];
	for (i = 0; i < role->ncategories; i++)
		if (role->categories[i] == cat)
			return 1;
	return 0;
}

int access_sees_whole(const rk_register *r, size_t fi)
{
	const policy *p = r->pol;

	if (r->role == POL_NONE)
		return 1;
	/* Only a HETU is shown masked (its date part) to roles without
	 * unmasked_hetu; every other field is shown whole or not at all. */
	return p->fields[fi].type != PT_HETU || p->roles[r->role].unmasked_hetu;
}

/* ---- actors ----------------------------------------------------------------
 */

#define ACTOR_NAME_MAX 63

/* Actor names appear in every audit entry: short, plain, never personal
 * data by design (use staff IDs or service names). */
static int valid_actor_name(const char *name)
{
	size_t i, n = name == NULL ? 0 : strlen(name);

	if (n == 0 || n > ACTOR_NAME_MAX || strcmp(name, "operator") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

rk_status access_admin(rk_register *r, audit_action action, const char *what)
{
	/* The administrator is the operator's role: whoever holds the
	 * master key. */
	if (r->role == POL_NONE || r->role == r->pol->settings.operator_role)
		return RK_OK;
	reg_fail(r, RK_EREFUSED, "only the administrator may %s", what);
	reg_audit_attempt(r, action, NULL, NULL, RK_EREFUSED);
	return RK_EREFUSED;
}

rk_status rk_actor_add(rk_register *r, const char *name, const char *role,
		       char token_out[RK_TOKEN_LEN + 1])
{
	store_actor a, old;
	char token[SEC_TOKEN_LEN + 1] = "";
	size_t ri;
	rk_status st;
	audit_ev ev;
	int rc;

	_Static_assert(RK_TOKEN_LEN == SEC_TOKEN_LEN, "token length");
	token_out[0] = '\0';
	st = access_admin(r, AUD_ACTOR_ADD, "manage actors");
	if (st != RK_OK)
		return st;
	if (!valid_actor_name(name))
		return reg_fail(r, RK_EINVAL,
				"an actor name is 1-63 characters a-z, 0-9, "
				"'.', '-' or '_' (and not \"operator\")");
	ri = role == NULL ? POL_NONE : policy_role(r->pol, role);
	if (ri == POL_NONE)
		return reg_fail(r, RK_EINVAL,
				"unknown role: the policy declares the roles");
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	rc = r->st->vt->actor_get(r->st, name, &old);
	if (rc == 0) {
		st = reg_fail(r, RK_EINVAL, "actor %s exists already", name);
		goto out;
	}
	if (rc != STORE_NOTFOUND) {
		st = reg_store_fail(r, "cannot read actors");
		goto out;
	}
	memset(&a, 0, sizeof a);
	memcpy(a.name, name, strlen(name) + 1);
	snprintf(a.role, sizeof a.role, "%s", r->pol->roles[ri].name);
	sec_token_new(token);
	integ_token_hash(r, token, a.token_hash);
	a.created_at = reg_now(r);
	integ_actor_mac(r, &a, a.mac);
	a.has_mac = 1;
	/* The set is checked before it grows, so that adding an actor never
	 * re-pins rows edited before. */
	st = integ_actor_check(r, NULL);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->actor_insert(r->st, &a) != 0) {
		st = reg_store_fail(r, "cannot store the actor");
		goto out;
	}
	st = integ_actors_pin(r);
	if (st != RK_OK)
		goto out;
	{
		/* Which actor got which role: names of staff IDs, no data. */
		char what[128];
		snprintf(what, sizeof what, "%s:%s", a.name, a.role);
		audit_ev_set(&ev, r, AUD_ACTOR_ADD, NULL, what, NULL, "ok");
	}
	st = audit_write(r, &ev);
	if (st == RK_OK)
		st = reg_commit(r);
	if (st == RK_OK)
		memcpy(token_out, token, sizeof token);
out:
	if (st != RK_OK)
		reg_rollback(r);
	sec_wipe(token, sizeof token);
	return st;
}

struct actor_json {
	json_t *arr;
	int failed;
};

static void iso_time(int64_t t, char out[24])
{
	char d[11];
	int64_t s = t % 86400;

	if (s < 0)
		s += 86400;
	ident_date_of(t, d);
	snprintf(out, 24, "%sT%02d:%02d:%02dZ", d, (int)(s / 3600),
		 (int)(s / 60 % 60), (int)(s % 60));
}

static int actor_one(void *ud, const store_actor *a)
{
	struct actor_json *aj = ud;
	json_t *o = json_object();
	char when[24];

	if (o == NULL) {
		aj->failed = 1;
		return 1;
	}
	iso_time(a->created_at, when);
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "role", json_string(a->role));
	json_object_set_new(o, "created", json_string(when));
	if (a->revoked_at != 0) {
		iso_time(a->revoked_at, when);
		json_object_set_new(o, "revoked", json_string(when));
	} else {
		json_object_set_new(o, "revoked", json_null());
	}
	json_array_append_new(aj->arr, o);
	return 0;
}

rk_status rk_actor_list(rk_register *r, char **json_out)
{
	struct actor_json aj = {NULL, 0};
	rk_status st;
	audit_ev ev;

	*json_out = NULL;
	st = access_admin(r, AUD_ACTOR_LIST, "manage actors");
	if (st != RK_OK)
		return st;
	aj.arr = json_array();
	if (aj.arr == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	/* The rows shown are the ones checked: one snapshot. */
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	st = integ_actor_check(r, NULL);
	if (st == RK_OK && r->st->vt->actor_list(r->st, actor_one, &aj) != 0)
		st = reg_store_fail(r, "cannot list actors");
	reg_end_read(r);
	if (st == RK_EINTEGRITY)
		reg_audit_attempt(r, AUD_ACTOR_LIST, NULL, NULL, st);
	if (st != RK_OK)
		goto out;
	if (aj.failed) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	*json_out = json_dumps(aj.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (*json_out == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	audit_ev_set(&ev, r, AUD_ACTOR_LIST, NULL, NULL, NULL, "ok");
	st = audit_read(r, &ev);
out:
	json_decref(aj.arr);
	if (st != RK_OK) {
		free(*json_out);
		*json_out = NULL;
	}
	return st;
}

rk_status rk_actor_revoke(rk_register *r, const char *name)
{
	rk_status st;
	store_actor a;
	audit_ev ev;
	int rc;

	st = access_admin(r, AUD_ACTOR_REVOKE, "manage actors");
	if (st != RK_OK)
		return st;
	if (!valid_actor_name(name))
		return reg_fail(r, RK_EINVAL, "not an actor name");
	st = reg_begin_write(r);
	if (st != RK_OK)
		return st;
	st = integ_actor_check(r, NULL);
	if (st != RK_OK)
		goto out;
	rc = r->st->vt->actor_revoke(r->st, name, reg_now(r));
	if (rc == STORE_NOTFOUND) {
		st = reg_fail(r, RK_ENOTFOUND, "no such active actor");
		goto out;
	}
	if (rc == 0)
		rc = r->st->vt->actor_get(r->st, name, &a);
	if (rc != 0) {
		st = reg_store_fail(r, "cannot revoke the actor");
		goto out;
	}
	integ_actor_mac(r, &a, a.mac);
	a.has_mac = 1;
	if (r->st->vt->actor_set_auth(r->st, &a) != 0) {
		st = reg_store_fail(r, "cannot revoke the actor");
		goto out;
	}
	st = integ_actors_pin(r);
	if (st != RK_OK)
		goto out;
	audit_ev_set(&ev, r, AUD_ACTOR_REVOKE, NULL, name, NULL, "ok");
	st = audit_write(r, &ev);
	if (st == RK_OK)
		st = reg_commit(r);
out:
	if (st != RK_OK)
		reg_rollback(r);
	return st;
}

/* An actor's row, after it and the set of actor rows matched their MACs
 * (in one snapshot): a forged, edited or un-revoked row is an integrity
 * failure, not merely a wrong token. RK_ENOTFOUND when there is none. */
static rk_status load_actor(rk_register *r, const char *name, store_actor *a,
			    unsigned char pin[SEC_HASH_BYTES], int *pinned)
{
	rk_status st = reg_begin_read(r);
	int rc;

	*pinned = 0;
	if (st != RK_OK)
		return st;
	rc = r->st->vt->actor_get(r->st, name, a);
	if (rc == STORE_NOTFOUND)
		st = RK_ENOTFOUND;
	else if (rc != 0)
		st = reg_store_fail(r, "cannot read actors");
	else
		st = integ_actor_check(r, a);
	/* the pin that check verified, in its snapshot */
	if (st == RK_OK && integ_actor_set_pin(r, pin) == 0)
		*pinned = 1;
	reg_end_read(r);
	return st;
}

/* A cached authentication of the same token (its plain hash h) and, when
 * actor is not NULL, the same actor, while the register's actor set is the
 * one it was checked against: the handle acts as that actor again. */
static int auth_cache_hit(rk_register *r, const char *actor,
			  const unsigned char h[SEC_HASH_BYTES])
{
	unsigned char pin[SEC_HASH_BYTES];
	int rc, keep;

	/* never a snapshot left from an earlier request */
	reg_drop_kept_read(r);
	keep = r->keep_auth_read && !r->bulk && !r->group;
	if (!r->auth_cached || r->auth_policy != r->policy_version ||
	    sec_memcmp(h, r->auth_token_plain, SEC_HASH_BYTES) != 0 ||
	    (actor != NULL && strcmp(actor, r->auth_actor) != 0) ||
	    reg_begin_read(r) != RK_OK)
		return 0;
	rc = integ_actor_set_pin(r, pin);
	if (rc != 0 || sec_memcmp(pin, r->auth_pin, sizeof pin) != 0) {
		reg_end_read(r);
		r->auth_cached = 0;
		return 0;
	}
	/* The snapshot that proved the actor stays open for the request's
	 * first read (reg_begin_read takes it over), when the handle asked. */
	if (keep)
		r->read_kept = 1;
	else
		reg_end_read(r);
	memcpy(r->actor, r->auth_actor, sizeof r->actor);
	r->role = r->auth_role;
	r->authenticated = 1;
	return 1;
}

rk_status rk_register_authenticate(rk_register *r, const char *actor,
				   const char *token)
{
	store_actor a;
	unsigned char h[SEC_HASH_BYTES], plain[SEC_HASH_BYTES];
	unsigned char pin[SEC_HASH_BYTES];
	int pinned = 0;
	size_t ri;
	rk_status st;

	if (!valid_actor_name(actor) || token == NULL ||
	    strlen(token) != SEC_TOKEN_LEN)
		goto refused;
	/* The cache compares the plain hash; the keyed one that the actor
	 * row holds is made only when the cache does not answer (every
	 * request of a server authenticates). */
	sec_token_hash(token, plain);
	if (auth_cache_hit(r, actor, plain)) {
		sec_wipe(plain, sizeof plain);
		return RK_OK;
	}
	integ_token_hash(r, token, h);
	st = load_actor(r, actor, &a, pin, &pinned);
	if (st == RK_ENOTFOUND)
		goto refused;
	if (st != RK_OK) {
		if (st == RK_EINTEGRITY)
			reg_audit_attempt(r, AUD_ACTOR_AUTHENTICATE, NULL, NULL,
					  st);
		return st;
	}
	if (sec_memcmp(h, a.token_hash, sizeof h) != 0 || a.revoked_at != 0)
		goto refused;
	ri = policy_role(r->pol, a.role);
	if (ri == POL_NONE)
		return reg_fail(r, RK_EREFUSED,
				"the actor's role is no longer in the policy");
	memcpy(r->actor, a.name, strlen(a.name) + 1);
	r->role = ri;
	r->authenticated = 1;
	r->auth_cached = pinned;
	if (pinned) {
		r->auth_policy = r->policy_version;
		r->auth_role = ri;
		memcpy(r->auth_actor, r->actor, sizeof r->auth_actor);
		memcpy(r->auth_token_plain, plain, sizeof plain);
		memcpy(r->auth_pin, pin, sizeof pin);
	}
	sec_wipe(h, sizeof h);
	sec_wipe(plain, sizeof plain);
	return RK_OK;
refused:
	/* The same answer whether the name or the token was wrong. The
	 * trail names who tried: a name that is not an actor's name at all
	 * (it may be anything typed) is not repeated. */
	{
		char saved[REG_ACTOR_MAX];
		memcpy(saved, r->actor, sizeof saved);
		snprintf(r->actor, sizeof r->actor, "%s",
			 valid_actor_name(actor) ? actor
						 : "(not an actor name)");
		reg_fail(r, RK_EREFUSED,
			 "unknown actor, wrong token or revoked actor");
		reg_audit_attempt(r, AUD_ACTOR_AUTHENTICATE, NULL, NULL,
				  RK_EREFUSED);
		memcpy(r->actor, saved, sizeof saved);
	}
	return RK_EREFUSED;
}

struct token_find {
	rk_register *r;
	unsigned char h[SEC_HASH_BYTES];
	char name[REG_ACTOR_MAX];
	int found;
};

static int token_one(void *ud, const store_actor *a)
{
	struct token_find *t = ud;

	/* Every row is compared, so the time does not say which matched. */
	if (sec_memcmp(t->h, a->token_hash, sizeof t->h) == 0 && !t->found) {
		snprintf(t->name, sizeof t->name, "%s", a->name);
		t->found = 1;
	}
	return 0;
}

rk_status rk_register_authenticate_token(rk_register *r, const char *token)
{
	struct token_find t;
	rk_status st;
	int rc;

	memset(&t, 0, sizeof t);
	t.r = r;
	if (token == NULL || strlen(token) != SEC_TOKEN_LEN)
		return rk_register_authenticate(r, NULL, token);
	sec_token_hash(token, t.h);
	if (auth_cache_hit(r, NULL, t.h)) {
		sec_wipe(t.h, sizeof t.h);
		return RK_OK;
	}
	integ_token_hash(r, token, t.h); /* the rows hold the keyed hash */
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	rc = r->st->vt->actor_list(r->st, token_one, &t);
	reg_end_read(r);
	sec_wipe(t.h, sizeof t.h);
	if (rc != 0)
		return reg_store_fail(r, "cannot read actors");
	/* The named path checks the row, its MAC, revocation and role, and
	 * audits a refusal. */
	return rk_register_authenticate(r, t.found ? t.name : NULL, token);
}

const char *rk_register_actor(const rk_register *r)
{
	return r->actor;
}

int access_dm_excluded(rk_register *r, size_t pu, const char *subject_id)
{
	const policy *p = r->pol;
	int marketing =
		(p->marketing.purpose != POL_NONE &&
		 pu == p->marketing.purpose) ||
		(r->role != POL_NONE && policy_marketing_role(p, r->role));

	if (!marketing || p->marketing.prohibition == POL_NONE)
		return 0;
	return ledger_objected(r, subject_id,
			       p->objections[p->marketing.prohibition].name);
}

int access_handles_rights(const rk_register *r)
{
	/* The data protection lead answers the subjects' requests: the role
	 * that may audit, and the administrator. */
	return r->role == POL_NONE ||
	       r->role == r->pol->settings.operator_role ||
	       r->pol->roles[r->role].audit;
}

rk_status access_rights(rk_register *r, audit_action action, const char *what)
{
	if (access_handles_rights(r))
		return RK_OK;
	reg_fail(r, RK_EREFUSED,
		 "only the administrator or a role that may audit may %s",
		 what);
	reg_audit_attempt(r, action, NULL, NULL, RK_EREFUSED);
	return RK_EREFUSED;
}

rk_status access_dm_check(rk_register *r, size_t pu, const char *subject_id)
{
	int ex = access_dm_excluded(r, pu, subject_id);

	if (ex < 0)
		return ledger_err(ex);
	if (ex > 0)
		return reg_fail(
			r, RK_EREFUSED,
			"the subject has a direct-marketing prohibition");
	return RK_OK;
}
