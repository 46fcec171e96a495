/*
 * consent.c: the consent and objection ledger, the marketing decision and
 * the cookie identifiers linked to a subject.
 *
 * The ledger is append-only: every act (give, withdraw, object) is a new
 * entry with its time, channel, notice version and actor, so what a subject
 * agreed to under which notice stays provable; the state of a scope is its
 * newest entry. Evidence may hold personal data and is sealed with the
 * subject's key. Withdrawing a consent deletes the records that depended on
 * it in the same transaction, so they are unusable at once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "consent.h"
#include "crypto.h"
#include "ident.h"
#include "integrity.h"
#include "ledger.h"
#include "json_secret.h"
#include "policy.h"
#include "record.h"
#include "register.h"
#include "store.h"

#define CHANNEL_MAX    32
#define EVIDENCE_MAX   2000
#define COOKIE_MAX     200
#define NAMES_MAX      256
#define EVIDENCE_FIELD "consent:evidence"
#define COOKIE_FIELD   "cookie"

/* The names of what the policy's "marketing" section designates (NULL
 * when it names none): the rules below act on these, never on names. */
static const char *mk_scope(const policy *p, size_t scope)
{
	return scope == POL_NONE ? NULL : p->scopes[scope].name;
}

static int mk_kind_is(const policy *p, const char *kind, size_t ki)
{
	return ki != POL_NONE && strcmp(kind, p->kinds[ki].name) == 0;
}

/* ---- validation -----------------------------------------------------------
 */

/* NULL means the command line; otherwise 1..32 of [a-z0-9_-], because the
 * channel is stored and shown in the clear. */
static rk_status check_channel(rk_register *r, const char **channel)
{
	const char *c = *channel;
	size_t i, n;

	if (c == NULL) {
		/* the handle's own channel (rk_register_set_channel) */
		*channel = r->channel[0] != '\0' ? r->channel : "cli";
		return RK_OK;
	}
	n = strlen(c);
	for (i = 0; i < n; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') ||
		      (c[i] >= '0' && c[i] <= '9') || c[i] == '_' ||
		      c[i] == '-'))
			break;
	if (n == 0 || n > CHANNEL_MAX || i < n)
		return reg_fail(r, RK_EINVAL,
				"a channel is 1 to 32 characters a-z, 0-9, _ "
				"and - (e.g. web, phone, cli)");
	return RK_OK;
}

/* Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF): the
 * history is JSON, which carries only valid text. */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned long cp;

	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1fu;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0fu;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07u;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Evidence is optional free text (a form's wording, a call note). */
static rk_status check_evidence(rk_register *r, const char *ev, size_t *len)
{
	size_t i, n = ev == NULL ? 0 : strlen(ev);
	const char *why;

	*len = n;
	if (n == 0)
		return RK_OK;
	if (n > EVIDENCE_MAX)
		return reg_fail(r, RK_EINVAL, "evidence is at most %d bytes",
				EVIDENCE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ev[i];
		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') ||
		    c == 0x7f)
			return reg_fail(r, RK_EINVAL,
					"evidence holds a control character");
	}
	if (!utf8_ok((const unsigned char *)ev, n))
		return reg_fail(r, RK_EINVAL, "evidence is not valid UTF-8");
	/* The rules of every stored text: no card number, nothing that hides
	 * or reorders what a reader sees. */
	why = ident_text_hazard(ev);
	if (why != NULL)
		return reg_fail(r, RK_EINVAL, "evidence: %s", why);
	return RK_OK;
}

/* Names the declared items so that the caller can fix the call; never
 * echoes the (possibly personal) input. */
static rk_status unknown_name(rk_register *r, const char *what,
			      const pol_named *items, size_t n)
{
	char names[NAMES_MAX] = "";
	size_t i;

	for (i = 0; i < n; i++)
		csv_add(names, sizeof names, items[i].name);
	if (n == 0)
		return reg_fail(r, RK_EINVAL, "the policy declares no %s",
				what);
	return reg_fail(r, RK_EINVAL, "unknown %s: the policy declares %s",
			what, names);
}

static rk_status unknown_scope(rk_register *r)
{
	const policy *p = r->pol;
	char names[NAMES_MAX] = "";
	size_t i;

	for (i = 0; i < p->nscopes; i++)
		csv_add(names, sizeof names, p->scopes[i].name);
	if (p->nscopes == 0)
		return reg_fail(r, RK_EINVAL,
				"the policy declares no consent scopes");
	return reg_fail(r, RK_EINVAL,
			"unknown consent scope: the policy declares %s", names);
}

/* ---- writing the ledger ---------------------------------------------------
 */

/* Deletes the subject's records whose type, and field values whose field,
 * rests on consent scope, so that they stop being usable the moment the
 * consent goes. *gone (when not NULL): how many rows went, so that a
 * caller repins only when something did. */
static rk_status purge_scope(rk_register *r, const char *subject_id,
			     size_t scope, int64_t *gone)
{
	const policy *p = r->pol;
	int64_t n, sum = 0;
	size_t i;

	for (i = 0; i < p->nrecord_types; i++) {
		if (p->record_types[i].consent != scope)
			continue;
		n = 0;
		if (r->st->vt->record_delete_type(r->st, subject_id,
						  p->record_types[i].name,
						  &n) != 0)
			return reg_store_fail(r, "cannot delete the records "
						 "that needed the consent");
		sum += n;
	}
	for (i = 0; i < p->nfields; i++) {
		if (p->fields[i].consent != scope)
			continue;
		n = 0;
		if (r->st->vt->value_delete_field(r->st, subject_id,
						  p->fields[i].name, &n) != 0)
			return reg_store_fail(r, "cannot delete the values "
						 "that needed the consent");
		sum += n;
	}
	if (gone != NULL)
		*gone = sum;
	return RK_OK;
}

struct ledger_act {
	const char *name; /* scope or objection */
	size_t scope;	  /* scope index, or POL_NONE for an objection */
	int objection;
	int given;
	const char *channel;
	const char *evidence;
	audit_action action;
	/* Compelling grounds against the objection for this purpose (index),
	 * which must be in force; POL_NONE for every other entry. */
	size_t grounds_pu;
};

/* Appends an entry to the subject's ledger, chained to the head its row
 * pins, and moves sub's head on (the caller repins the row). Inside a
 * write. */
static rk_status ledger_append(rk_register *r, store_subject *sub,
			       const char *name, int objection, int given,
			       const char *channel, const unsigned char *ct,
			       size_t ctlen)
{
	unsigned char mac[SEC_HASH_BYTES];
	store_consent c;

	memset(&c, 0, sizeof c);
	c.subject_id = sub->id;
	c.scope = name;
	c.objection = objection;
	c.given = given;
	c.at = reg_now(r);
	c.channel = channel;
	c.policy_version = r->policy_version;
	c.actor = r->actor;
	c.evidence_ct = ct;
	c.evidence_len = ctlen;
	integ_consent_mac(r, sub->chead, &c, mac);
	c.mac = mac;
	if (r->st->vt->consent_append(r->st, &c) != 0)
		return reg_store_fail(r, "cannot record in the consent ledger");
	memcpy(sub->chead, mac, sizeof sub->chead);
	return RK_OK;
}

static rk_status ledger_write(rk_register *r, const char *id,
			      const struct ledger_act *a)
{
	size_t pu = r->pol->settings.default_purpose;
	const char *purpose = r->pol->purposes[pu].name;
	const char *channel = a->channel;
	store_subject sub;
	unsigned char *dk = NULL, *ct = NULL;
	size_t elen = 0;
	rk_status st;

	sub.pseudonym[0] = '\0';
	st = check_channel(r, &channel);
	if (st == RK_OK)
		st = check_evidence(r, a->evidence, &elen);
	if (st == RK_OK)
		st = reg_load_subject(r, id, &sub);
	if (st != RK_OK)
		goto out;
	/* Before the write: a refusal queues its own audit entry. */
	if (access_check(r, pu, a->action, sub.id) != RK_OK)
		return RK_EREFUSED;
	if (elen > 0) {
		st = reg_subject_key(r, &sub, &dk);
		if (st != RK_OK)
			goto out;
		ct = malloc(elen + SEC_SEAL_OVERHEAD);
		if (ct == NULL) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		if (sec_seal(dk, sub.id, EVIDENCE_FIELD,
			     (const unsigned char *)a->evidence, elen,
			     ct) != 0) {
			st = reg_fail(r, RK_ESYS, "cannot seal the evidence");
			goto out;
		}
	}
	st = reg_begin_write(r);
	/* Read again inside the write: the subject may have been erased. */
	if (st == RK_OK)
		st = reg_load_subject(r, id, &sub);
	/* A withdrawal purges values and records and pins what is left
	 * anew: the values must be the bound ones and the records the
	 * pinned chain (checked before the ledger moves sub's head). */
	if (st == RK_OK && !a->objection && !a->given) {
		st = integ_values_verify(r, &sub);
		if (st == RK_OK)
			st = integ_records_walk(r, &sub, NULL, NULL, NULL);
	}
	if (st != RK_OK)
		goto out;
	if (a->grounds_pu != POL_NONE) {
		int ps = ledger_purpose_state(r, &sub, a->grounds_pu);
		if (ps < 0) {
			st = ledger_err(ps); /* it set the message */
			goto out;
		}
		if (ps == LEDGER_PURPOSE_FREE) {
			st = reg_fail(r, RK_EINVAL,
				      "the subject has no objection for "
				      "purpose %s in force: there is nothing "
				      "for compelling grounds to override",
				      r->pol->purposes[a->grounds_pu].name);
			goto out;
		}
	}
	/* Chained to the head the subject row pins, which then pins this. */
	st = ledger_append(r, &sub, a->name, a->objection, a->given, channel,
			   ct, ct != NULL ? elen + SEC_SEAL_OVERHEAD : 0);
	if (st != RK_OK)
		goto out;
	if (!a->objection && !a->given) {
		st = purge_scope(r, sub.id, a->scope, NULL);
		if (st == RK_OK)
			st = integ_records_repin(r, &sub);
		if (st == RK_OK)
			st = integ_subject_repin(r, &sub);
	} else {
		st = integ_subject_reseal(r, &sub);
	}
	if (st != RK_OK)
		goto out;
	st = reg_write_commit(r, a->action, sub.pseudonym, a->name, purpose);
	/* Deleted pages still sit in the WAL until a checkpoint moves them
	 * out; do it now (best effort: a reader elsewhere may hold it up,
	 * and then SQLite's own checkpoints finish the job). */
	if (st == RK_OK && !a->objection && !a->given && !r->bulk)
		reg_wal_scrub(r);
out:
	if (st != RK_OK)
		reg_write_failed(r, a->action,
				 sub.pseudonym[0] ? sub.pseudonym : NULL,
				 purpose, st);
	sec_key_free(dk);
	free(ct);
	return st;
}

rk_status rk_consent_set(rk_register *r, const char *id, const char *scope,
			 int given, const char *channel, const char *evidence)
{
	struct ledger_act a;
	audit_action action = given ? AUD_CONSENT_GIVE : AUD_CONSENT_WITHDRAW;
	size_t si = scope == NULL ? POL_NONE : policy_scope(r->pol, scope);
	rk_status st;

	if (si == POL_NONE) {
		st = unknown_scope(r);
		reg_audit_attempt(r, action, NULL, NULL, st);
		return st;
	}
	a.name = r->pol->scopes[si].name;
	a.scope = si;
	a.objection = 0;
	a.given = given != 0;
	a.channel = channel;
	a.evidence = evidence;
	a.action = action;
	a.grounds_pu = POL_NONE;
	return ledger_write(r, id, &a);
}

/* An objection of the policy recorded (lift 0) or lifted (lift 1). */
static rk_status object_named(rk_register *r, const char *id,
			      const char *objection, int lift,
			      const char *channel, const char *evidence)
{
	struct ledger_act a;
	size_t oi = objection == NULL ? POL_NONE
				      : policy_objection(r->pol, objection);
	rk_status st;

	if (oi == POL_NONE) {
		st = unknown_name(r, "objection", r->pol->objections,
				  r->pol->nobjections);
		reg_audit_attempt(r, lift ? AUD_OBJECT_LIFT : AUD_OBJECT, NULL,
				  NULL, st);
		return st;
	}
	a.name = r->pol->objections[oi].name;
	a.scope = POL_NONE;
	a.objection = 1;
	/* Lifting appends a "lifted" entry; nothing is ever deleted. */
	a.given = !lift;
	a.channel = channel;
	a.evidence = evidence;
	/* Audited under the objection's own name. */
	a.action = audit_objection(oi, lift);
	a.grounds_pu = POL_NONE;
	return ledger_write(r, id, &a);
}

rk_status rk_object_lift(rk_register *r, const char *id, const char *objection,
			 const char *channel, const char *evidence)
{
	return object_named(r, id, objection, 1, channel, evidence);
}

/* Whether the actor may record compelling grounds: the operator, or a
 * role that the policy lets read the audit trail (the data protection
 * lead), since they answer for the balancing test. */
static int may_record_grounds(const rk_register *r)
{
	return r->role == POL_NONE ||
	       r->role == r->pol->settings.operator_role ||
	       r->pol->roles[r->role].audit;
}

static rk_status object_purpose(rk_register *r, const char *id,
				const char *purpose, int what,
				const char *channel, const char *evidence)
{
	static const audit_action actions[] = {AUD_OBJECT_PURPOSE,
					       AUD_OBJECT_PURPOSE_LIFT,
					       AUD_OBJECT_PURPOSE_GROUNDS};
	audit_action action = actions[what];
	char name[LEDGER_NAME_MAX];
	struct ledger_act a;
	size_t pu = POL_NONE;
	rk_status st;

	/* NULL would mean the default purpose: an objection names one. */
	if (purpose == NULL)
		st = reg_fail(r, RK_EINVAL, "an objection names its purpose");
	else
		st = reg_resolve_purpose(r, purpose, &pu);
	if (st == RK_OK && ledger_name(name,
				       what == 2 ? LEDGER_GROUNDS_PREFIX
						 : LEDGER_PURPOSE_PREFIX,
				       r->pol->purposes[pu].name) != 0)
		st = reg_fail(r, RK_EINVAL, "the purpose's name is too long");
	if (st == RK_OK && what == 2 &&
	    (evidence == NULL || evidence[0] == '\0'))
		st = reg_fail(r, RK_EINVAL,
			      "compelling grounds need their reason (the "
			      "balancing test's outcome)");
	if (st == RK_OK && what == 2 && !may_record_grounds(r))
		st = reg_fail(r, RK_EREFUSED,
			      "role %s may not record compelling grounds: "
			      "only the operator or a role that audits "
			      "(the data protection lead) may",
			      r->pol->roles[r->role].name);
	if (st != RK_OK) {
		reg_audit_attempt(
			r, action, NULL,
			pu == POL_NONE ? NULL : r->pol->purposes[pu].name, st);
		return st;
	}
	a.name = name;
	a.scope = POL_NONE;
	a.objection = 1;
	a.given = what != 1;
	a.channel = channel;
	a.evidence = evidence;
	a.action = action;
	a.grounds_pu = what == 2 ? pu : POL_NONE;
	return ledger_write(r, id, &a);
}

rk_status rk_object_purpose(rk_register *r, const char *id, const char *purpose,
			    int lift, const char *channel, const char *evidence)
{
	return object_purpose(r, id, purpose, lift ? 1 : 0, channel, evidence);
}

rk_status rk_object_grounds(rk_register *r, const char *id, const char *purpose,
			    const char *reason)
{
	return object_purpose(r, id, purpose, 2, NULL, reason);
}

rk_status rk_object(rk_register *r, const char *id, const char *objection,
		    const char *channel, const char *evidence)
{
	return object_named(r, id, objection, 0, channel, evidence);
}

/* RK_EREFUSED while subject sub's processing is restricted, unless
 * rights_ok and the actor handles the subjects' rights. */
static rk_status refuse_restricted(rk_register *r, const store_subject *sub,
				   int rights_ok)
{
	int v;

	if (rights_ok && access_handles_rights(r))
		return RK_OK;
	v = ledger_restricted(r, sub);
	if (v < 0)
		return ledger_err(v);
	if (v > 0)
		return reg_fail(r, RK_EREFUSED,
				"the subject's processing is restricted (GDPR "
				"Art. 18): its data is only stored until the "
				"restriction is lifted");
	return RK_OK;
}

/* ---- reading the ledger ---------------------------------------------------
 */

/* Loads the subject and checks the actor's role for purpose pu; on a
 * refusal access_check has audited it and *audited is set. */
static rk_status load_checked(rk_register *r, const char *id, size_t pu,
			      audit_action action, store_subject *sub,
			      int *audited)
{
	rk_status st = reg_load_subject(r, id, sub);

	*audited = 0;
	if (st != RK_OK)
		return st;
	st = access_check(r, pu, action, sub->id);
	if (st != RK_OK)
		*audited = 1;
	return st;
}

struct hist {
	rk_register *r;
	const store_subject *sub;
	const unsigned char *dk;
	json_t *arr;
	rk_status st;
};

/* The evidence as JSON: its decrypted text, or null. */
static json_t *evidence_json(struct hist *h, const store_consent *c)
{
	unsigned char *pt;
	size_t len;
	json_t *j;

	if (c->evidence_ct == NULL)
		return json_null();
	if (c->evidence_len < SEC_SEAL_OVERHEAD) {
		h->st = reg_fail(h->r, RK_EINTEGRITY,
				 "a consent's evidence is damaged");
		return NULL;
	}
	len = c->evidence_len - SEC_SEAL_OVERHEAD;
	pt = malloc(len + 1);
	if (pt == NULL) {
		h->st = reg_fail(h->r, RK_ESYS, "out of memory");
		return NULL;
	}
	if (sec_open(h->dk, h->sub->id, EVIDENCE_FIELD, c->evidence_ct,
		     c->evidence_len, pt) != 0) {
		free(pt);
		h->st = reg_fail(h->r, RK_EINTEGRITY,
				 "a consent's evidence does not decrypt: the "
				 "database was altered or damaged");
		return NULL;
	}
	j = json_stringn((const char *)pt, len);
	sec_wipe(pt, len);
	free(pt);
	if (j == NULL)
		h->st = reg_fail(h->r, RK_EINTEGRITY,
				 "a consent's evidence is not valid text");
	return j;
}

static int hist_one(void *ud, const store_consent *c)
{
	struct hist *h = ud;
	json_t *o, *ev;
	const char *kind = c->objection ? "objection" : "consent";
	char at[32];
	int bad = 0;

	ev = evidence_json(h, c);
	if (ev == NULL)
		return 1;
	o = json_object();
	if (o == NULL) {
		json_free_secret(ev);
		h->st = reg_fail(h->r, RK_ESYS, "out of memory");
		return 1;
	}
	ident_iso_utc(c->at, at);
	bad |= json_object_set_new(o, "at", json_string(at));
	/* The controller's compelling grounds against an objection for a
	 * purpose are an entry of their own kind; an objection for a purpose
	 * is an objection whose scope names it ("purpose:P"). */
	if (c->objection && strncmp(c->scope, LEDGER_GROUNDS_PREFIX,
				    strlen(LEDGER_GROUNDS_PREFIX)) == 0)
		kind = "compelling_grounds";
	/* A cookie reset is a thing the register did, not an objection in
	 * force: readers tell it by its kind, not by the reserved name. */
	else if (c->objection && strcmp(c->scope, LEDGER_COOKIE_RESET) == 0)
		kind = "action";
	bad |= json_object_set_new(o, "kind", json_string(kind));
	bad |= json_object_set_new(o, "scope", json_string(c->scope));
	bad |= json_object_set_new(o, "given", json_boolean(c->given));
	bad |= json_object_set_new(o, "channel", json_string(c->channel));
	bad |= json_object_set_new(o, "notice_version",
				   json_integer(c->policy_version));
	bad |= json_object_set_new(o, "actor", json_string(c->actor));
	bad |= json_object_set_new(o, "evidence", ev);
	bad |= json_array_append_new(h->arr, o);
	if (bad) {
		h->st = reg_fail(h->r, RK_ESYS, "out of memory");
		return 1;
	}
	return 0;
}

rk_status rk_consent_history(rk_register *r, const char *id, char **json_out)
{
	size_t pu = r->pol->settings.default_purpose;
	const char *purpose = r->pol->purposes[pu].name;
	struct hist h;
	store_subject sub;
	unsigned char *dk = NULL;
	char *text = NULL;
	audit_ev ev;
	rk_status st;
	int audited = 0;

	*json_out = NULL;
	memset(&h, 0, sizeof h);
	sub.pseudonym[0] = '\0';
	st = load_checked(r, id, pu, AUD_CONSENT_HISTORY, &sub, &audited);
	if (st == RK_OK)
		st = reg_subject_key(r, &sub, &dk);
	if (st != RK_OK)
		goto out;
	h.r = r;
	h.sub = &sub;
	h.dk = dk;
	h.arr = json_array();
	h.st = RK_OK;
	if (h.arr == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* The subject row again, in the same snapshot as its ledger. */
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	st = reg_load_subject(r, id, &sub);
	/* The ledger holds evidence and the restriction's own reason: while
	 * restricted, only those who handle the subject's rights read it. */
	if (st == RK_OK)
		st = refuse_restricted(r, &sub, 1);
	if (st == RK_OK)
		st = integ_consent_walk(r, &sub, NULL, hist_one, &h);
	reg_end_read(r);
	if (st == RK_OK)
		st = h.st;
	if (st != RK_OK)
		goto out;
	text = json_dumps(h.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	audit_ev_set(&ev, r, AUD_CONSENT_HISTORY, sub.pseudonym, NULL, purpose,
		     "ok");
	/* No read without its audit entry. */
	st = audit_read(r, &ev);
	if (st == RK_OK) {
		*json_out = text;
		text = NULL;
	}
out:
	if (st != RK_OK && st != RK_ESYS && !audited)
		reg_audit_attempt(r, AUD_CONSENT_HISTORY,
				  sub.pseudonym[0] ? sub.pseudonym : NULL,
				  purpose, st);
	reg_free_secret(text);
	json_free_secret(h.arr); /* the evidence is personal data */
	sec_key_free(dk);
	return st;
}

rk_status rk_consent_state(rk_register *r, const char *id, const char *scope,
			   int *given)
{
	size_t pu = r->pol->settings.default_purpose;
	const char *purpose = r->pol->purposes[pu].name;
	size_t si, oi = POL_NONE;
	const char *name = NULL;
	store_subject sub;
	audit_ev ev;
	rk_status st;
	int audited = 0, s;

	*given = 0;
	sub.pseudonym[0] = '\0';
	/* An objection's name asks whether the objection is in force. */
	si = scope == NULL ? POL_NONE : policy_scope(r->pol, scope);
	if (si == POL_NONE && scope != NULL)
		oi = policy_objection(r->pol, scope);
	if (si != POL_NONE)
		name = r->pol->scopes[si].name;
	else if (oi != POL_NONE)
		name = r->pol->objections[oi].name;
	if (name == NULL) {
		st = unknown_scope(r);
		goto out;
	}
	st = load_checked(r, id, pu, AUD_CONSENT_STATE, &sub, &audited);
	if (st != RK_OK)
		goto out;
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	s = ledger_state(r, sub.id, name, si == POL_NONE);
	reg_end_read(r);
	if (s < 0) {
		st = ledger_err(s);
		goto out;
	}
	audit_ev_set(&ev, r, AUD_CONSENT_STATE, sub.pseudonym, name, purpose,
		     "ok");
	st = audit_read(r, &ev);
	if (st == RK_OK)
		*given = s == LEDGER_GIVEN;
out:
	if (st != RK_OK && st != RK_ESYS && !audited)
		reg_audit_attempt(r, AUD_CONSENT_STATE,
				  sub.pseudonym[0] ? sub.pseudonym : NULL,
				  purpose, st);
	return st;
}

/* ---- the marketing decision -----------------------------------------------
 */

enum channel { CH_EMAIL, CH_SMS, CH_PHONE, CH_POST, CH_AUTO, CH_COUNT };

static const char *const channel_names[CH_COUNT] = {"email", "sms", "phone",
						    "post", "automated_call"};

/* Provisions the rules rest on (Act 917/2014 on electronic communications
 * services; GDPR). */
#define LAW_OBJECTION	"GDPR Art. 21(2)-(3)"
#define LAW_RESTRICTION "GDPR Art. 18"
#define LAW_CONSENT	"917/2014 s. 200(1)"
#define LAW_EXISTING	"917/2014 s. 200(2)"
#define LAW_BUSINESS	"917/2014 s. 202"
#define LAW_THIRD	"917/2014 s. 200(1); GDPR Art. 6(1)(a)"
#define COND_OPT_OUT                                                           \
	"each message must offer a free, easy way to refuse further "          \
	"messages"

/* The facts the decision uses. */
struct mc_opts {
	enum channel ch;
	int third_party;
	size_t recipient; /* POL_NONE: not named */
	size_t category;  /* product category, POL_NONE: not named */
};

static int decide(rk_decision *out, int allowed, const char *rule)
{
	out->allowed = allowed;
	snprintf(out->rule, sizeof out->rule, "%s", rule);
	return 0;
}

/* decide, with the provision and the condition of a "yes". */
static void decide_law(rk_decision *out, int allowed, const char *rule,
		       const char *law, const char *condition)
{
	decide(out, allowed, rule);
	snprintf(out->law, sizeof out->law, "%s", law);
	snprintf(out->condition, sizeof out->condition, "%s",
		 condition != NULL ? condition : "");
}

/* What the subject bought: whether any sale record exists, and the
 * product categories of the products the records name. */
struct bought {
	rk_register *r;
	const store_subject *sub;
	const unsigned char *dk;
	int found;
	unsigned char *cats; /* one mark per product category */
	rk_status st;
};

static int bought_one(void *ud, const store_record *rec)
{
	struct bought *b = ud;
	const policy *p = b->r->pol;
	const pol_record_type *rt = &p->record_types[p->marketing.sale_record];
	json_t *plain = NULL;
	const char *product;
	size_t pc;

	b->found = 1;
	if (b->cats == NULL || p->marketing.sale_product_field == POL_NONE)
		return 0;
	b->st = reg_record_open(b->r, b->sub, b->dk, rec, &plain);
	if (b->st != RK_OK)
		return 1;
	product = json_string_value(json_object_get(
		plain, rt->fields[p->marketing.sale_product_field].name));
	pc = policy_product_category(p, product);
	if (pc != POL_NONE)
		b->cats[pc] = 1;
	json_free_secret(plain);
	return 0;
}

/* Whether the subject holds a value of field fi whose source means it was
 * obtained in connection with a sale (policy "sale_sources"). */
struct sale_addr {
	const policy *p;
	int found;
};

static int sale_addr_one(void *ud, const store_value *v)
{
	struct sale_addr *a = ud;
	size_t s = policy_source(a->p, v->source);

	for (size_t i = 0; s != POL_NONE && i < a->p->marketing.nsale_sources;
	     i++)
		if (a->p->marketing.sale_sources[i] == s)
			a->found = 1;
	return 0;
}

/* The existing-customer exception (917/2014 s. 200(2)): a customer whose
 * relationship goes on, who bought from us, whose address for the channel
 * was obtained in connection with the sale, for own products similar to
 * those bought (the same product category), while the customer has not
 * refused (the caller checked that). Decides either way. */
static rk_status soft_opt_in(rk_register *r, const store_subject *sub,
			     const struct mc_opts *o, rk_decision *out)
{
	const policy *p = r->pol;
	const char *consumer =
		o->ch == CH_EMAIL
			? "e-mail marketing to a consumer needs prior consent"
			: "SMS marketing to a consumer needs prior consent";
	size_t field = o->ch == CH_EMAIL ? p->marketing.email_field
					 : p->marketing.sms_field;
	struct bought b;
	struct sale_addr sa = {p, 0};
	unsigned char *dk = NULL;
	char today[11], cats[120] = "", cond[256];
	rk_status st = RK_OK;
	size_t i;

	memset(&b, 0, sizeof b);
	if (!mk_kind_is(p, sub->kind, p->marketing.customer_kind) ||
	    p->marketing.sale_record == POL_NONE) {
		decide_law(out, 0, consumer, LAW_CONSENT, NULL);
		return RK_OK;
	}
	reg_today(r, today);
	/* An end date still in the future has not ended it yet. */
	if (sub->rel_end[0] != '\0' && strcmp(sub->rel_end, today) <= 0) {
		decide_law(out, 0, consumer, LAW_CONSENT, NULL);
		return RK_OK;
	}
	if (p->nproduct_categories > 0 &&
	    p->marketing.sale_product_field != POL_NONE) {
		b.cats = calloc(p->nproduct_categories, 1);
		if (b.cats == NULL)
			return reg_fail(r, RK_ESYS, "out of memory");
		st = reg_subject_key(r, sub, &dk);
		if (st != RK_OK)
			goto out;
	}
	b.r = r;
	b.sub = sub;
	b.dk = dk;
	b.st = RK_OK;
	st = integ_records_walk(r, sub,
				p->record_types[p->marketing.sale_record].name,
				bought_one, &b);
	if (st == RK_OK)
		st = b.st;
	if (st != RK_OK)
		goto out;
	if (!b.found) {
		decide_law(out, 0, consumer, LAW_CONSENT, NULL);
		goto out;
	}
	/* The address must come from the sale, not from elsewhere. */
	if (field != POL_NONE && p->marketing.nsale_sources > 0) {
		if (r->st->vt->value_list(r->st, sub->id, p->fields[field].name,
					  sale_addr_one, &sa) != 0) {
			st = reg_store_fail(r, "cannot read the values");
			goto out;
		}
		if (!sa.found) {
			decide_law(out, 0,
				   "existing-customer exception: no address "
				   "for the channel obtained in connection "
				   "with a sale; prior consent is needed",
				   LAW_EXISTING, NULL);
			goto out;
		}
	}
	if (b.cats == NULL) {
		decide_law(out, 1,
			   "soft opt-in: own similar products to an existing "
			   "customer who has not objected",
			   LAW_EXISTING, COND_OPT_OUT);
		goto out;
	}
	for (i = 0; i < p->nproduct_categories; i++)
		if (b.cats[i])
			csv_add(cats, sizeof cats,
				p->product_categories[i].name);
	if (o->category != POL_NONE && !b.cats[o->category]) {
		decide_law(out, 0,
			   "existing-customer exception covers only own "
			   "products similar to those bought: the customer "
			   "bought none of this category",
			   LAW_EXISTING, NULL);
		goto out;
	}
	if (o->category != POL_NONE) {
		decide_law(out, 1,
			   "soft opt-in: own similar products (the same "
			   "category as bought) to an existing customer who "
			   "has not objected",
			   LAW_EXISTING, COND_OPT_OUT);
		goto out;
	}
	snprintf(cond, sizeof cond,
		 "only own products of the categories bought (%s); %s",
		 cats[0] ? cats : "none named by the policy", COND_OPT_OUT);
	decide_law(out, cats[0] != '\0',
		   cats[0] ? "soft opt-in: own similar products to an "
			     "existing customer who has not objected"
			   : "existing-customer exception covers only own "
			     "similar products: the products bought are in "
			     "no category of the policy",
		   LAW_EXISTING, cats[0] ? cond : NULL);
out:
	free(b.cats);
	sec_key_free(dk);
	return st;
}

/* The scope whose consent allows the channel's electronic marketing. */
static size_t channel_scope(const policy *p, enum channel ch)
{
	switch (ch) {
	case CH_EMAIL:
		return p->marketing.email_consent;
	case CH_SMS:
		return p->marketing.sms_consent;
	case CH_AUTO:
		return p->marketing.automated_call_consent;
	default:
		return POL_NONE;
	}
}

/* A third party's marketing: a live consent that names the third party
 * or its category (the policy's scopes with "recipients"; without a
 * recipient named, the third-party consent scope of the marketing
 * section). *given gets whether one lives; *named whether any scope
 * names it. */
static rk_status third_party_consent(rk_register *r, const store_subject *sub,
				     size_t ri, int *given, int *named)
{
	const policy *p = r->pol;
	size_t sc;
	int s;

	*given = *named = 0;
	for (sc = 0; sc < p->nscopes; sc++) {
		if (ri != POL_NONE ? !policy_scope_names(p, sc, ri)
				   : sc != p->marketing.third_party_consent)
			continue;
		*named = 1;
		s = ledger_state(r, sub->id, p->scopes[sc].name, 0);
		if (s < 0)
			return ledger_err(s);
		if (s == LEDGER_GIVEN)
			*given = 1;
	}
	return RK_OK;
}

/* The rules in order; the first that applies decides. */
static rk_status may_contact_rules(rk_register *r, const store_subject *sub,
				   const struct mc_opts *o, rk_decision *out)
{
	enum channel ch = o->ch;
	int electronic = ch == CH_EMAIL || ch == CH_SMS || ch == CH_AUTO;
	const policy *p = r->pol;
	const char *scope = mk_scope(p, channel_scope(p, ch));
	int s, tp, named;
	rk_status st;

	s = ledger_objected(r, sub->id, ledger_prohibition(p));
	if (s < 0)
		return ledger_err(s);
	if (s) {
		decide_law(out, 0,
			   "direct-marketing prohibition overrides every "
			   "consent",
			   LAW_OBJECTION, NULL);
		return RK_OK;
	}
	/* An objection to processing for direct marketing works as the
	 * prohibition does (Art. 21(3)), whatever grounds are recorded. */
	if (p->marketing.purpose != POL_NONE) {
		char name[LEDGER_NAME_MAX];

		if (ledger_name(name, LEDGER_PURPOSE_PREFIX,
				p->purposes[p->marketing.purpose].name) != 0)
			return reg_fail(r, RK_ESYS,
					"a purpose's name is too long");
		s = ledger_state(r, sub->id, name, 1);
		if (s < 0)
			return ledger_err(s);
		if (s == LEDGER_GIVEN) {
			decide_law(out, 0,
				   "the subject objected to processing for "
				   "direct marketing",
				   LAW_OBJECTION, NULL);
			return RK_OK;
		}
	}
	if (o->third_party) {
		st = third_party_consent(r, sub, o->recipient, &tp, &named);
		if (st != RK_OK)
			return st;
		if (!tp) {
			decide_law(out, 0,
				   o->recipient == POL_NONE
					   ? "third-party marketing needs the "
					     "subject's consent to disclosure "
					     "for direct marketing"
				   : named ? "third-party marketing needs a "
					     "live consent that names the "
					     "third party or its category"
					   : "no consent of the notice names "
					     "this third party or its "
					     "category",
				   LAW_THIRD, NULL);
			return RK_OK;
		}
		if (electronic) {
			s = ledger_state(r, sub->id, scope, 0);
			if (s < 0)
				return ledger_err(s);
			if (s != LEDGER_GIVEN) {
				decide_law(out, 0,
					   ch == CH_EMAIL
						   ? "third-party e-mail "
						     "marketing also needs "
						     "the e-mail consent"
					   : ch == CH_SMS
						   ? "third-party SMS "
						     "marketing also needs "
						     "consent to SMS marketing"
						   : "third-party automated "
						     "calls also need consent "
						     "to automated calls",
					   LAW_CONSENT, NULL);
				return RK_OK;
			}
		}
		decide_law(out, 1,
			   o->recipient == POL_NONE
				   ? "third-party marketing: the subject "
				     "consented to it"
				   : "third-party marketing: the subject's "
				     "consent names the third party or its "
				     "category",
			   LAW_THIRD, COND_OPT_OUT);
		return RK_OK;
	}
	s = LEDGER_NONE;
	if (electronic) {
		s = ledger_state(r, sub->id, scope, 0);
		if (s < 0)
			return ledger_err(s);
		/* A withdrawn consent refuses the channel, for business
		 * contacts and the existing-customer exception alike. */
		if (s == LEDGER_WITHDRAWN) {
			decide_law(out, 0,
				   ch == CH_EMAIL
					   ? "the subject withdrew consent to "
					     "e-mail marketing"
				   : ch == CH_SMS
					   ? "the subject withdrew consent to "
					     "SMS marketing"
					   : "the subject withdrew consent to "
					     "automated calls",
				   LAW_CONSENT, NULL);
			return RK_OK;
		}
	}
	if (mk_kind_is(p, sub->kind, p->marketing.contact_kind)) {
		decide_law(out, 1, "business contact: allowed until refused",
			   LAW_BUSINESS,
			   "only marketing that concerns the contact's work "
			   "role; " COND_OPT_OUT);
		return RK_OK;
	}
	if (!electronic) {
		decide_law(out, 1, "allowed unless refused", LAW_OBJECTION,
			   "the subject may refuse at any time, free of "
			   "charge");
		return RK_OK;
	}
	if (s == LEDGER_GIVEN) {
		decide_law(out, 1,
			   ch == CH_EMAIL ? "e-mail marketing: the subject "
					    "gave prior consent"
			   : ch == CH_SMS ? "SMS marketing: the subject gave "
					    "prior consent"
					  : "automated calls: the subject gave "
					    "prior consent",
			   LAW_CONSENT, COND_OPT_OUT);
		return RK_OK;
	}
	/* The existing-customer exception covers electronic mail (e-mail,
	 * SMS), not automated calling systems. */
	if (ch == CH_AUTO) {
		decide_law(out, 0,
			   "automated calls to a consumer need prior consent",
			   LAW_CONSENT, NULL);
		return RK_OK;
	}
	return soft_opt_in(r, sub, o, out);
}

rk_status rk_may_contact_ex(rk_register *r, const char *id,
			    const rk_contact_options *opt, rk_decision *out)
{
	size_t pu = r->pol->marketing.purpose;
	const char *purpose = pu == POL_NONE ? NULL : r->pol->purposes[pu].name;
	store_subject sub;
	struct mc_opts o;
	audit_ev ev;
	rk_status st;
	int audited = 0, reading = 0, i;

	memset(out, 0, sizeof *out);
	memset(&o, 0, sizeof o);
	sub.pseudonym[0] = '\0';
	o.ch = CH_COUNT;
	o.recipient = o.category = POL_NONE;
	for (i = 0; opt != NULL && opt->channel != NULL && i < CH_COUNT; i++)
		if (strcmp(opt->channel, channel_names[i]) == 0)
			o.ch = (enum channel)i;
	if (o.ch == CH_COUNT) {
		st = reg_fail(r, RK_EINVAL,
			      "channel must be email, sms, phone, post or "
			      "automated_call");
		goto out;
	}
	o.third_party = opt->third_party != 0;
	if (opt->recipient != NULL) {
		o.recipient = policy_recipient(r->pol, opt->recipient);
		if (o.recipient == POL_NONE ||
		    r->pol->recipients[o.recipient].kind != RCP_THIRD_PARTY ||
		    !o.third_party) {
			st = reg_fail(r, RK_EINVAL,
				      "a recipient is named only for a third "
				      "party's marketing, and must be a third "
				      "party of the policy");
			goto out;
		}
	}
	if (opt->product_category != NULL) {
		o.category = policy_product_category_named(
			r->pol, opt->product_category);
		if (o.category == POL_NONE) {
			st = reg_fail(r, RK_EINVAL,
				      "unknown product category: see the "
				      "policy's \"product_categories\"");
			goto out;
		}
	}
	if (pu == POL_NONE) {
		/* Nothing may be done for a purpose the notice never told the
		 * subject about. */
		st = reg_load_subject(r, id, &sub);
		if (st == RK_OK)
			decide(out, 0,
			       "the notice declares no marketing purpose");
	} else {
		st = load_checked(r, id, pu, AUD_MAY_CONTACT, &sub, &audited);
		if (st == RK_OK)
			st = reg_begin_read(r);
		if (st == RK_OK) {
			reading = 1;
			i = ledger_restricted(r, &sub);
			if (i < 0)
				st = ledger_err(i);
			else if (i > 0)
				decide_law(out, 0,
					   "processing is restricted (GDPR "
					   "Art. 18): no marketing",
					   LAW_RESTRICTION, NULL);
			else
				st = may_contact_rules(r, &sub, &o, out);
		}
	}
	if (reading)
		reg_end_read(r);
	if (st != RK_OK)
		goto out;
	audit_ev_set(&ev, r, AUD_MAY_CONTACT, sub.pseudonym,
		     channel_names[o.ch], purpose, "ok");
	st = audit_read(r, &ev);
out:
	if (st != RK_OK) {
		memset(out, 0, sizeof *out);
		if (st != RK_ESYS && !audited)
			reg_audit_attempt(r, AUD_MAY_CONTACT,
					  sub.pseudonym[0] ? sub.pseudonym
							   : NULL,
					  purpose, st);
	}
	return st;
}

rk_status rk_may_contact(rk_register *r, const char *id, const char *channel,
			 int third_party, rk_decision *out)
{
	rk_contact_options o;

	memset(&o, 0, sizeof o);
	o.channel = channel;
	o.third_party = third_party;
	return rk_may_contact_ex(r, id, &o, out);
}

/* ---- cookie and device identifiers ----------------------------------------
 */

static rk_status check_cookie(rk_register *r, const char *cookie_id)
{
	size_t i, n = cookie_id == NULL ? 0 : strlen(cookie_id);

	if (n == 0 || n > COOKIE_MAX)
		return reg_fail(r, RK_EINVAL,
				"a cookie or device identifier is 1 to %d "
				"bytes",
				COOKIE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)cookie_id[i];
		if (c < 0x20 || c == 0x7f)
			return reg_fail(r, RK_EINVAL,
					"a cookie or device identifier holds "
					"no control characters");
	}
	return RK_OK;
}

rk_status rk_cookie_link(rk_register *r, const char *id, const char *cookie_id)
{
	size_t pu = r->pol->settings.default_purpose;
	const char *purpose = r->pol->purposes[pu].name;
	unsigned char h[SEC_BIDX_BYTES];
	char owner[33];
	unsigned char mac[SEC_HASH_BYTES];
	int64_t at = 0, now = reg_now(r);
	store_subject sub;
	rk_status st;
	int audited = 0, rc;

	sub.pseudonym[0] = '\0';
	st = check_cookie(r, cookie_id);
	if (st == RK_OK)
		st = load_checked(r, id, pu, AUD_COOKIE_LINK, &sub, &audited);
	if (st != RK_OK)
		goto out;
	/* Only the keyed hash is stored, the same the records resolve. */
	sec_blind_index(r->ckey, COOKIE_FIELD, cookie_id, h);
	st = reg_begin_write(r);
	if (st == RK_OK)
		st = reg_load_subject(r, id, &sub);
	/* A restricted subject's data is only stored: no new profile. */
	if (st == RK_OK)
		st = refuse_restricted(r, &sub, 0);
	if (st != RK_OK)
		goto out;
	rc = r->st->vt->cookie_resolve(r->st, h, owner, &at, mac);
	if (rc != 0 && rc != STORE_NOTFOUND) {
		st = reg_store_fail(r, "cannot read the identifiers");
		goto out;
	}
	if (rc == 0) {
		st = integ_cookie_check(r, h, owner, at, mac);
		if (st != RK_OK)
			goto out;
	}
	/* Moving a profile between people would merge their data. */
	if (rc == 0 && strcmp(owner, sub.id) != 0) {
		st = reg_fail(r, RK_EINVAL,
			      "identifier already linked to another subject");
		goto out;
	}
	integ_cookie_mac(r, h, sub.id, now, mac);
	if (r->st->vt->cookie_link(r->st, h, sub.id, now, mac) != 0) {
		st = reg_store_fail(r, "cannot link the identifier");
		goto out;
	}
	st = reg_write_commit(r, AUD_COOKIE_LINK, sub.pseudonym, COOKIE_FIELD,
			      purpose);
out:
	if (st != RK_OK) {
		reg_rollback(r);
		if (!audited)
			reg_audit_attempt(r, AUD_COOKIE_LINK,
					  sub.pseudonym[0] ? sub.pseudonym
							   : NULL,
					  purpose, st);
	}
	return st;
}

rk_status rk_cookie_reset_ex(rk_register *r, const char *id, int64_t *unlinked,
			     int64_t *deleted)
{
	return rk_cookie_reset_via(r, id, NULL, unlinked, deleted);
}

rk_status rk_cookie_reset_via(rk_register *r, const char *id,
			      const char *channel, int64_t *unlinked,
			      int64_t *deleted)
{
	size_t pu = r->pol->settings.default_purpose;
	const char *purpose = r->pol->purposes[pu].name;
	store_subject sub;
	rk_status st;
	char what[NAMES_MAX];
	int64_t n = 0, m = 0;
	int audited = 0, entry = 1;

	if (unlinked != NULL)
		*unlinked = 0;
	if (deleted != NULL)
		*deleted = 0;
	/* Bad input, before anything is read. */
	st = check_channel(r, &channel);
	if (st != RK_OK)
		return st;
	sub.pseudonym[0] = '\0';
	st = load_checked(r, id, pu, AUD_COOKIE_RESET, &sub, &audited);
	if (st == RK_OK)
		st = reg_begin_write(r);
	if (st == RK_OK)
		st = reg_load_subject(r, id, &sub);
	/* The records as the subject row pins them, before any goes: the
	 * chain is then moved on from what was checked. */
	if (st == RK_OK)
		st = integ_records_walk(r, &sub, NULL, NULL, NULL);
	if (st != RK_OK)
		goto out;
	/* What was collected under the identifiers leaves the profile with
	 * them ("clearing resets the profile"): first the records that came
	 * through an identifier linked now, then the links. */
	if (r->st->vt->record_delete_cookies(r->st, sub.id, &m) != 0) {
		st = reg_store_fail(r, "cannot delete the records collected "
				       "under the identifiers");
		goto out;
	}
	if (r->st->vt->cookie_unlink_subject(r->st, sub.id, &n) != 0) {
		st = reg_store_fail(r, "cannot unlink the identifiers");
		goto out;
	}
	/* In the ledger, which a restore keeps: what a backup brings back
	 * from before this reset is unlinked again (consent_purge_unconsented).
	 * A reset that found nothing after an earlier one adds no entry: no
	 * link outlived that one, so it already covers what a backup could
	 * bring back, and repeated resets cannot grow the ledger every read
	 * of the subject walks. */
	if (n == 0 && m == 0) {
		int64_t at = 0;
		int rc = ledger_last_at(r, sub.id, LEDGER_COOKIE_RESET, 1, &at);
		if (rc < 0)
			st = ledger_err(rc);
		entry = rc == 0;
	}
	/* Only when no link was made since that reset: one made after it and
	 * gone without a reset (a restore of an older backup, retention)
	 * still stands in any backup taken while it did, and the earlier
	 * entry, older than the link, would not unlink it there. */
	if (st == RK_OK && !entry) {
		int64_t since = 0;
		if (r->st->vt->audit_newest_is(
			    r->st, sub.pseudonym,
			    audit_action_name(AUD_COOKIE_RESET),
			    audit_action_name(AUD_COOKIE_LINK), &since) != 0)
			st = reg_store_fail(r, "cannot read the audit trail");
		entry = since == 0;
	}
	if (st == RK_OK && entry)
		st = ledger_append(r, &sub, LEDGER_COOKIE_RESET, 1, 1, channel,
				   NULL, 0);
	if (st == RK_OK && m > 0)
		st = integ_records_repin(r, &sub);
	if (st == RK_OK)
		st = integ_subject_reseal(r, &sub);
	if (st != RK_OK)
		goto out;
	snprintf(what, sizeof what,
		 "%s,identifiers:%" PRId64 ",records:%" PRId64, COOKIE_FIELD, n,
		 m);
	st = reg_write_commit(r, AUD_COOKIE_RESET, sub.pseudonym, what,
			      purpose);
	/* The deleted records' pages leave the WAL (best effort). */
	if (st == RK_OK && m > 0 && !r->bulk)
		reg_wal_scrub(r);
	if (st == RK_OK && unlinked != NULL)
		*unlinked = n;
	if (st == RK_OK && deleted != NULL)
		*deleted = m;
out:
	if (st != RK_OK) {
		reg_rollback(r);
		if (!audited)
			reg_audit_attempt(r, AUD_COOKIE_RESET,
					  sub.pseudonym[0] ? sub.pseudonym
							   : NULL,
					  purpose, st);
	}
	return st;
}

rk_status rk_cookie_reset(rk_register *r, const char *id, int64_t *unlinked)
{
	return rk_cookie_reset_ex(r, id, unlinked, NULL);
}

/* ---- after a restore ---------------------------------------------------- */

/* The subject's values digest after purge_scope removed some. */
static rk_status repin(rk_register *r, const char *subject_id)
{
	store_subject sub;
	rk_status st = reg_load_subject(r, subject_id, &sub);

	if (st == RK_OK)
		st = integ_records_repin(r, &sub);
	return st == RK_OK ? integ_subject_repin(r, &sub) : st;
}

struct unconsented {
	char (*ids)[RK_ID_LEN + 1];
	size_t n, cap;
};

static int collect_id(void *ud, const store_subject *s)
{
	struct unconsented *u = ud;

	if (u->n == u->cap)
		return 1;
	memcpy(u->ids[u->n++], s->id, RK_ID_LEN + 1);
	return 0;
}

/* Whether any record type or field rests on scope index sc. */
static int scope_binds_data(const policy *p, size_t sc)
{
	size_t i;

	for (i = 0; i < p->nrecord_types; i++)
		if (p->record_types[i].consent == sc)
			return 1;
	for (i = 0; i < p->nfields; i++)
		if (p->fields[i].consent == sc)
			return 1;
	return 0;
}

/* A cookie reset since the backup is done again: the links from before it
 * and the records that came through them go. A reset the backup's ledger
 * head does not reach takes every link that came back, all of them from
 * before it, whatever their times say. */
static rk_status cookie_reset_replay(rk_register *r, const char *id,
				     const struct ledger_view *v)
{
	int64_t recs = 0, links = 0;
	int64_t until = v->reset_since ? INT64_MAX : v->reset_at;

	if (!v->has_reset)
		return RK_OK;
	if (r->st->vt->cookie_reset_until(r->st, id, until, &recs, &links) != 0)
		return reg_store_fail(r, "cannot unlink the identifiers a "
					 "cookie reset had unlinked");
	return recs > 0 ? repin(r, id) : RK_OK;
}

rk_status consent_purge_unconsented(rk_register *r)
{
	const policy *p = r->pol;
	struct unconsented u = {NULL, 0, 256};
	struct ledger_view v = {0, 0, NULL, NULL, 0};
	/* each subject's head of the ledger as the backup pinned it */
	unsigned char(*heads)[SEC_HASH_BYTES] = NULL;
	char after[RK_ID_LEN + 1] = "";
	store_subject sub;
	rk_status st = RK_OK;
	size_t i, sc;
	int64_t gone = 0;
	int rc;

	if (!r->in_write)
		return reg_fail(r, RK_ESYS, "consent purge outside a write");
	u.ids = calloc(u.cap, sizeof *u.ids);
	heads = calloc(u.cap, sizeof *heads);
	v.live = calloc(p->nscopes + 1, 1);
	if (u.ids == NULL || heads == NULL || v.live == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	do {
		u.n = 0;
		if (r->st->vt->subject_list(r->st, NULL,
					    after[0] ? after : NULL, u.cap,
					    collect_id, &u) != 0) {
			st = reg_store_fail(r, "cannot list subjects");
			break;
		}
		/* The subjects came back from the backup, their ledgers
		 * stayed live: each row pins its live ledger again, after
		 * the backup's pin is kept to tell what came since. */
		for (i = 0; st == RK_OK && i < u.n; i++) {
			st = reg_load_subject(r, u.ids[i], &sub);
			if (st == RK_OK)
				memcpy(heads[i], sub.chead, SEC_HASH_BYTES);
		}
		for (i = 0; st == RK_OK && i < u.n; i++)
			st = integ_subject_rehead(r, u.ids[i]);
		/* Then one walk of each ledger tells both what to replay and
		 * what data rests on a consent no longer given. */
		for (i = 0; st == RK_OK && i < u.n; i++) {
			v.since = heads[i];
			rc = ledger_view_read(r, u.ids[i], &v);
			if (rc < 0) {
				st = ledger_err(rc);
				break;
			}
			st = cookie_reset_replay(r, u.ids[i], &v);
			for (sc = 0; st == RK_OK && sc < p->nscopes; sc++) {
				if (!scope_binds_data(p, sc) || v.live[sc])
					continue;
				st = purge_scope(r, u.ids[i], sc, &gone);
				/* nothing went: the pins hold as they are */
				if (st == RK_OK && gone > 0)
					st = repin(r, u.ids[i]);
			}
		}
		if (u.n > 0)
			memcpy(after, u.ids[u.n - 1], RK_ID_LEN + 1);
	} while (st == RK_OK && u.n == u.cap);
out:
	free(u.ids);
	free(heads);
	free(v.live);
	return st;
}

/* ---- restriction of processing (GDPR Art. 18) ----------------------------
 *
 * A restriction is an entry of the ledger under a name no policy item can
 * have, so that it is chained, bound to the row key and kept through a
 * restore like every objection, and its history stays provable: restricted
 * (given 1), lifted (given 0), the reason sealed as evidence. */

static rk_status restriction_write(rk_register *r, const char *id, int on,
				   const char *reason)
{
	audit_action action =
		on ? AUD_SUBJECT_RESTRICT : AUD_SUBJECT_UNRESTRICT;
	struct ledger_act a;
	store_subject sub;
	rk_status st;
	int now;

	st = access_rights(r, action,
			   on ? "restrict processing" : "lift a restriction");
	if (st != RK_OK)
		return st;
	if (reason == NULL || reason[0] == '\0') {
		st = reg_fail(r, RK_EINVAL,
			      "a reason is needed (it is kept sealed in the "
			      "subject's ledger and shown in the access "
			      "report)");
		reg_audit_attempt(r, action, NULL, NULL, st);
		return st;
	}
	st = reg_begin_read(r);
	if (st == RK_OK) {
		st = reg_load_subject(r, id, &sub);
		now = st == RK_OK ? ledger_restricted(r, &sub) : 0;
		reg_end_read(r);
		if (st == RK_OK && now < 0)
			st = ledger_err(now);
		else if (st == RK_OK && now == on)
			st = reg_fail(r, RK_EINVAL,
				      on ? "the subject's processing is "
					   "restricted already"
					 : "the subject's processing is not "
					   "restricted");
	}
	if (st != RK_OK) {
		reg_audit_attempt(r, action, NULL, NULL, st);
		return st;
	}
	memset(&a, 0, sizeof a);
	a.name = LEDGER_RESTRICTION;
	a.scope = POL_NONE;
	a.grounds_pu = POL_NONE;
	a.objection = 1;
	a.given = on;
	a.channel = NULL;
	a.evidence = reason;
	a.action = action;
	return ledger_write(r, id, &a);
}

rk_status rk_restrict(rk_register *r, const char *id, const char *reason)
{
	return restriction_write(r, id, 1, reason);
}

rk_status rk_unrestrict(rk_register *r, const char *id, const char *reason)
{
	return restriction_write(r, id, 0, reason);
}

rk_status rk_restricted(rk_register *r, const char *id, int *restricted)
{
	store_subject sub;
	rk_status st;
	int v = 0;

	if (restricted == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the answer");
	*restricted = 0;
	st = reg_begin_read(r);
	if (st != RK_OK)
		return st;
	st = reg_load_subject(r, id, &sub);
	if (st == RK_OK) {
		v = ledger_restricted(r, &sub);
		if (v < 0)
			st = ledger_err(v);
	}
	reg_end_read(r);
	if (st == RK_OK)
		*restricted = v;
	return st;
}

/* ---- for the access report (export.c) ------------------------------------ */

rk_status consent_ledger_json(rk_register *r, const store_subject *sub,
			      const unsigned char *dk, json_t **out)
{
	struct hist h;
	rk_status st;

	*out = NULL;
	memset(&h, 0, sizeof h);
	h.r = r;
	h.sub = sub;
	h.dk = dk;
	h.st = RK_OK;
	h.arr = json_array();
	if (h.arr == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	st = integ_consent_walk(r, sub, NULL, hist_one, &h);
	if (st == RK_OK)
		st = h.st;
	if (st != RK_OK) {
		json_free_secret(h.arr);
		return st;
	}
	*out = h.arr;
	return RK_OK;
}

/* ---- the handle's channel (rk_register_set_channel) ----------------------
 *
 * Entries written without a channel argument (a restriction, a consent
 * given with none) name the way in that the handle serves: an application
 * on the API is not the command line. */

rk_status rk_register_set_channel(rk_register *r, const char *channel)
{
	const char *c = channel;
	rk_status st;

	if (r == NULL)
		return RK_EINVAL;
	if (c == NULL) {
		r->channel[0] = '\0';
		return RK_OK;
	}
	st = check_channel(r, &c);
	if (st != RK_OK)
		return st;
	snprintf(r->channel, sizeof r->channel, "%s", c);
	return RK_OK;
}
