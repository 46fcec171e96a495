/*
 * ledger.c: what the consent and objection ledger says now, for the modules
 * that decide on it (access, subjects, records, disclosures, statistics).
 * Only reads: the writes are consent.c's. Every answer is the newest entry
 * of its name, after the subject row and the whole ledger matched their
 * MACs, so an entry removed or edited behind the library's back shows.
 */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "integrity.h"
#include "ledger.h"
#include "policy.h"
#include "register.h"
#include "store.h"

/* The GDPR article of the basis a subject may object to. */
#define GDPR_LEGITIMATE_INTEREST "6(1)(f)"

struct latest {
	int objection;
	int found;
	int given;
	int64_t at;
};

/* Sees the entries of one name in order: the last one seen is the state. */
static int latest_one(void *ud, const store_consent *c)
{
	struct latest *l = ud;

	if ((c->objection != 0) == (l->objection != 0)) {
		l->found = 1;
		l->given = c->given;
		l->at = c->at;
	}
	return 0;
}

/* The newest entry of name (a scope, or an objection), after the subject
 * row and the whole ledger matched their MACs (a newest entry removed or
 * edited shows): 0 none, 1 withdrawn or lifted, 2 given, its time in *at;
 * -1 on a store error, LEDGER_EINTEGRITY on a mismatch, with the handle's
 * message set. */
static int ledger_newest(rk_register *r, const char *subject_id,
			 const char *name, int objection, int64_t *at)
{
	struct latest l = {objection, 0, 0, 0};
	store_subject sub;
	rk_status st = reg_load_subject(r, subject_id, &sub);

	*at = 0;
	if (st == RK_OK)
		st = integ_consent_walk(r, &sub, name, latest_one, &l);
	if (st != RK_OK)
		return st == RK_EINTEGRITY ? LEDGER_EINTEGRITY : -1;
	if (!l.found)
		return 0;
	*at = l.at;
	return l.given ? 2 : 1;
}

int ledger_state(rk_register *r, const char *subject_id, const char *name,
		 int objection)
{
	int64_t at;
	int rc;

	/* An item the policy does not name has never been given. */
	if (name == NULL)
		return LEDGER_NONE;
	rc = ledger_newest(r, subject_id, name, objection, &at);
	if (rc <= 0)
		return rc == 0 ? LEDGER_NONE : rc;
	return rc == 2 ? LEDGER_GIVEN : LEDGER_WITHDRAWN;
}

int ledger_last_at(rk_register *r, const char *subject_id, const char *name,
		   int objection, int64_t *at)
{
	int rc = ledger_newest(r, subject_id, name, objection, at);

	return rc <= 0 ? rc : 1;
}

struct view_walk {
	const policy *p;
	struct ledger_view *v;
	int past; /* the walk is past the entry v->since names */
};

static int view_one(void *ud, const store_consent *c)
{
	struct view_walk *w = ud;
	size_t k;

	if (c->objection) {
		if (strcmp(c->scope, LEDGER_COOKIE_RESET) == 0) {
			w->v->has_reset = 1;
			w->v->reset_at = c->at;
			w->v->reset_since |= w->past;
		}
	} else {
		k = policy_scope(w->p, c->scope);
		if (k != POL_NONE)
			w->v->live[k] = c->given ? 1 : 0;
	}
	if (!w->past && c->mac != NULL &&
	    sec_memcmp(c->mac, w->v->since, SEC_HASH_BYTES) == 0)
		w->past = 1;
	return 0;
}

int ledger_view_read(rk_register *r, const char *subject_id,
		     struct ledger_view *v)
{
	static const unsigned char empty[SEC_HASH_BYTES];
	struct view_walk w = {r->pol, v, 0};
	store_subject sub;
	rk_status st;

	v->has_reset = 0;
	v->reset_at = 0;
	v->reset_since = 0;
	/* an empty ledger then: every entry is from after it */
	w.past = sec_memcmp(v->since, empty, SEC_HASH_BYTES) == 0;
	memset(v->live, 0, r->pol->nscopes);
	st = reg_load_subject(r, subject_id, &sub);
	if (st == RK_OK)
		st = integ_consent_walk(r, &sub, NULL, view_one, &w);
	if (st != RK_OK)
		return st == RK_EINTEGRITY ? LEDGER_EINTEGRITY : -1;
	/* The backup's head not in the live ledger (which is append-only):
	 * nothing tells which reset came after it, so each did. */
	if (!w.past)
		v->reset_since = v->has_reset;
	return 0;
}

int ledger_live(rk_register *r, const char *subject_id, size_t scope)
{
	int s;

	if (scope >= r->pol->nscopes)
		return 0;
	s = ledger_state(r, subject_id, r->pol->scopes[scope].name, 0);
	return s < 0 ? s : s == LEDGER_GIVEN;
}

int ledger_objected(rk_register *r, const char *subject_id,
		    const char *objection)
{
	int s;

	if (objection == NULL)
		return 0;
	s = ledger_state(r, subject_id, objection, 1);
	return s < 0 ? s : s == LEDGER_GIVEN;
}

const char *ledger_prohibition(const policy *p)
{
	return p->marketing.prohibition == POL_NONE
		       ? NULL
		       : p->objections[p->marketing.prohibition].name;
}

int ledger_personalisation_allowed(rk_register *r, const char *subject_id)
{
	size_t si = r->pol->marketing.personalisation_consent;
	int live, obj;

	if (si == POL_NONE)
		return 0;
	live = ledger_live(r, subject_id, si);
	if (live != 1)
		return live;
	/* A direct-marketing prohibition covers targeted content too. */
	obj = ledger_objected(r, subject_id, ledger_prohibition(r->pol));
	return obj < 0 ? obj : !obj;
}

/* ---- objections to processing for a purpose (Art. 21(1)) ----------------
 */

int ledger_basis_objectable(const policy *p, const char *basis)
{
	size_t b = basis == NULL ? POL_NONE : policy_basis(p, basis);

	return b != POL_NONE && p->bases[b].gdpr != NULL &&
	       strcmp(p->bases[b].gdpr, GDPR_LEGITIMATE_INTEREST) == 0;
}

static int any_objectable(const policy *p)
{
	size_t i;

	for (i = 0; i < p->nbases; i++)
		if (ledger_basis_objectable(p, p->bases[i].name))
			return 1;
	return 0;
}

int ledger_name(char out[LEDGER_NAME_MAX], const char *prefix,
		const char *purpose)
{
	int n = snprintf(out, LEDGER_NAME_MAX, "%s%s", prefix, purpose);

	return n < 0 || n >= LEDGER_NAME_MAX ? -1 : 0;
}

struct purpose_walk {
	char obj[LEDGER_NAME_MAX];
	char grounds[LEDGER_NAME_MAX];
	int objected;
	int overridden;
};

/* In order: an objection or its lifting starts afresh (grounds recorded
 * against an earlier objection do not answer a new one); grounds count
 * only against an objection in force. */
static int purpose_one(void *ud, const store_consent *c)
{
	struct purpose_walk *w = ud;

	if (!c->objection)
		return 0;
	if (strcmp(c->scope, w->obj) == 0) {
		w->objected = c->given != 0;
		w->overridden = 0;
	} else if (strcmp(c->scope, w->grounds) == 0 && c->given) {
		w->overridden = w->objected;
	}
	return 0;
}

int ledger_purpose_state(rk_register *r, const store_subject *sub, size_t pu)
{
	static const unsigned char empty[SEC_HASH_BYTES];
	struct purpose_walk w;
	rk_status st;

	if (pu >= r->pol->npurposes)
		return LEDGER_PURPOSE_FREE;
	/* An empty ledger (the subject row pins its head) holds none. */
	if (sec_memcmp(sub->chead, empty, sizeof empty) == 0)
		return LEDGER_PURPOSE_FREE;
	memset(&w, 0, sizeof w);
	if (ledger_name(w.obj, LEDGER_PURPOSE_PREFIX,
			r->pol->purposes[pu].name) != 0 ||
	    ledger_name(w.grounds, LEDGER_GROUNDS_PREFIX,
			r->pol->purposes[pu].name) != 0) {
		reg_fail(r, RK_ESYS, "a purpose's name is too long");
		return -1;
	}
	st = integ_consent_walk(r, sub, NULL, purpose_one, &w);
	if (st != RK_OK)
		return st == RK_EINTEGRITY ? LEDGER_EINTEGRITY : -1;
	if (!w.objected)
		return LEDGER_PURPOSE_FREE;
	return w.overridden ? LEDGER_PURPOSE_OVERRIDDEN
			    : LEDGER_PURPOSE_OBJECTED;
}

int ledger_purpose_objected(rk_register *r, const store_subject *sub, size_t pu)
{
	int s;

	/* Nothing rests on a basis one may object to: nothing to withhold,
	 * and no ledger to read. */
	if (!any_objectable(r->pol))
		return 0;
	s = ledger_purpose_state(r, sub, pu);
	return s < 0 ? s : s == LEDGER_PURPOSE_OBJECTED;
}

int ledger_restricted(rk_register *r, const store_subject *sub)
{
	static const unsigned char empty[SEC_HASH_BYTES];
	struct latest l = {1, 0, 0, 0};
	rk_status st;

	/* No ledger at all: nothing to read (most subjects, most reads). */
	if (sec_memcmp(sub->chead, empty, sizeof empty) == 0)
		return 0;
	st = integ_consent_walk(r, sub, LEDGER_RESTRICTION, latest_one, &l);
	if (st != RK_OK)
		return st == RK_EINTEGRITY ? LEDGER_EINTEGRITY : -1;
	return l.found && l.given;
}

/* ---- a subject's read: restriction and objection in one walk ------------
 */

struct read_walk {
	int want_restricted, want_objected;
	struct latest restr;
	struct purpose_walk purpose;
};

static int read_one(void *ud, const store_consent *c)
{
	struct read_walk *w = ud;

	if (w->want_restricted && strcmp(c->scope, LEDGER_RESTRICTION) == 0)
		latest_one(&w->restr, c);
	if (w->want_objected)
		purpose_one(&w->purpose, c);
	return 0;
}

int ledger_read_flags(rk_register *r, const store_subject *sub, size_t pu,
		      int want_restricted, int *restricted, int *objected)
{
	static const unsigned char empty[SEC_HASH_BYTES];
	struct read_walk w;
	int bad_name = 0;
	rk_status st;

	*restricted = 0;
	*objected = 0;
	/* An empty ledger (the subject row pins its head) holds neither:
	 * known before the policy's bases are looked at. */
	if (sec_memcmp(sub->chead, empty, sizeof empty) == 0)
		return 0;
	memset(&w, 0, sizeof w);
	w.restr.objection = 1;
	w.want_restricted = want_restricted;
	w.want_objected = any_objectable(r->pol) && pu < r->pol->npurposes;
	if (!w.want_restricted && !w.want_objected)
		return 0;
	if (w.want_objected &&
	    (ledger_name(w.purpose.obj, LEDGER_PURPOSE_PREFIX,
			 r->pol->purposes[pu].name) != 0 ||
	     ledger_name(w.purpose.grounds, LEDGER_GROUNDS_PREFIX,
			 r->pol->purposes[pu].name) != 0)) {
		bad_name = 1; /* failed as ledger_purpose_state does, later */
		w.want_objected = 0;
	}
	st = integ_consent_walk(r, sub, NULL, read_one, &w);
	if (st != RK_OK)
		return st == RK_EINTEGRITY ? LEDGER_EINTEGRITY : -1;
	*restricted = w.restr.found && w.restr.given;
	if (*restricted)
		return 0;
	if (bad_name) {
		reg_fail(r, RK_ESYS, "a purpose's name is too long");
		return -1;
	}
	*objected = w.purpose.objected && !w.purpose.overridden;
	return 0;
}
