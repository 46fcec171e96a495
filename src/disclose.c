/*
 * disclose.c: disclosures to the policy's recipients, their log, and the
 * transfer of what marketing may keep into the controller's own
 * direct-marketing register.
 *
 * A disclosure hands a recipient exactly what its policy entry says it may
 * receive for one of its purposes, of the subjects who qualify, and writes
 * per subject what went where, when and why into the disclosure log, with
 * an audit entry, in one write. A transfer outside the EU/EEA needs an
 * adequacy decision for the country or a recorded safeguard, else it is
 * refused.
 *
 * The log holds no personal data (field and record type names, counts,
 * the recipient, the purpose, the legal ground) and outlives the subject:
 * erasure sets its subject_id to NULL and the pseudonym stays. Each line
 * carries a MAC under the row key chained over the previous line's, and
 * meta "disclosure_head" pins the newest line's number and MAC, so a line
 * edited, removed, reordered or put back shows. Every read of the log
 * checks the whole chain: its cost grows with the log.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "crypto.h"
#include "disclose.h"
#include "ident.h"
#include "integrity.h"
#include "json_secret.h"
#include "ledger.h"
#include "policy.h"
#include "record.h"
#include "register.h"
#include "store.h"

#define META_DISCLOSE_HEAD "disclosure_head"
#define DOC_SCHEMA	   "rekisteri-disclosure"
#define KIND_CONTROLLER	   "controller"
#define GROUND_MAX	   200
#define EVENT_MAX	   200
#define NAMES_MAX	   512
#define BASIS_MAX	   128
#define EXCLUDE_REASONS	   6
#define MSG_ALTERED                                                            \
	"the database was altered without the key; see the audit log and "     \
	"restore a backup"

static const char *const kind_names[] = {"processor", "third_party",
					 "authority"};

static const char *const exclude_names[EXCLUDE_REASONS] = {
	"prohibition", "restricted",   "objection",
	"no_consent",  "not_selected", "nothing"};
enum exclude {
	EX_PROHIBITION,
	EX_RESTRICTED,
	EX_OBJECTION,
	EX_NO_CONSENT,
	EX_NOT_SELECTED,
	EX_NOTHING,
	EX_NONE
};

static int put(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) != 0;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static rk_status altered(rk_register *r, const char *what)
{
	return reg_fail(r, RK_EINTEGRITY, "%s: %s", what, MSG_ALTERED);
}

/* ---- the log's chain ------------------------------------------------------
 */

static void row_mac(const rk_register *r, const unsigned char *prev,
		    const store_disclosure *d,
		    unsigned char out[SEC_HASH_BYTES])
{
	integ_disclosure_mac(r, prev, d, out);
}

struct head {
	int64_t id; /* 0: the log is empty */
	unsigned char mac[SEC_HASH_BYTES];
};

static rk_status head_get(rk_register *r, struct head *h)
{
	memset(h, 0, sizeof *h);
	return integ_disclosure_head(r, &h->id, h->mac);
}

static rk_status head_set(rk_register *r, const struct head *h)
{
	unsigned char buf[8 + SEC_HASH_BYTES];
	uint64_t v = (uint64_t)h->id;
	int i;

	for (i = 7; i >= 0; i--) {
		buf[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	memcpy(buf + 8, h->mac, SEC_HASH_BYTES);
	if (r->st->vt->meta_set(r->st, META_DISCLOSE_HEAD, buf, sizeof buf) !=
	    0)
		return reg_store_fail(r, "cannot pin the disclosure log");
	return RK_OK;
}

/* One pass over the whole log: the chain is checked line by line, and
 * the lines of pseudonym (all when NULL) are turned into JSON. */
struct walk {
	rk_register *r;
	const char *pseudonym;
	const char *subject_id; /* the subject the pseudonym is, or NULL */
	int en;
	unsigned char prev[SEC_HASH_BYTES];
	int64_t last;
	json_t *arr;
	int64_t found_own; /* lines of the own register for pseudonym */
	rk_status st;
};

static const char *recipient_label(const rk_register *r, const char *name,
				   int en)
{
	size_t ri = policy_recipient(r->pol, name);

	if (ri == POL_NONE)
		return NULL;
	return en ? r->pol->recipients[ri].label.en
		  : r->pol->recipients[ri].label.fi;
}

static json_t *line_json(struct walk *w, const store_disclosure *d)
{
	json_t *o = json_object();
	const char *subject = NULL;
	store_subject sub;
	char at[32];
	int bad = 0;

	if (o == NULL)
		return NULL;
	/* The id column is outside the MAC: it is shown only when the row
	 * it names is still the subject the pseudonym is. */
	if (w->subject_id != NULL)
		subject = w->subject_id;
	else if (d->subject_id != NULL &&
		 w->r->st->vt->subject_get(w->r->st, d->subject_id, &sub) ==
			 0 &&
		 strcmp(sub.pseudonym, d->pseudonym) == 0)
		subject = d->subject_id;
	ident_iso_utc(d->at, at);
	bad |= put(o, "number", json_integer(d->id));
	bad |= put(o, "batch", json_integer(d->batch));
	bad |= put(o, "subject", str_or_null(subject));
	bad |= put(o, "pseudonym", json_string(d->pseudonym));
	bad |= put(o, "recipient", json_string(d->recipient));
	bad |= put(o, "recipient_label",
		   str_or_null(recipient_label(w->r, d->recipient, w->en)));
	bad |= put(o, "recipient_kind", json_string(d->recipient_kind));
	bad |= put(o, "country", json_string(d->country));
	bad |= put(o, "safeguard", str_or_null(d->safeguard));
	bad |= put(o, "purpose", json_string(d->purpose));
	bad |= put(o, "at", json_string(at));
	bad |= put(o, "actor", json_string(d->actor));
	bad |= put(o, "fields", csv_json(d->fields));
	bad |= put(o, "record_types", csv_json(d->record_types));
	bad |= put(o, "records", json_integer(d->records));
	bad |= put(o, "legal_ground", str_or_null(d->legal_ground));
	bad |= put(o, "basis", str_or_null(d->basis));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int walk_one(void *ud, const store_disclosure *d)
{
	struct walk *w = ud;
	unsigned char want[SEC_HASH_BYTES];
	json_t *o;

	if (d->mac == NULL || d->id <= w->last) {
		w->st = altered(w->r, "a line of the disclosure log is "
				      "damaged");
		return 1;
	}
	row_mac(w->r, w->prev, d, want);
	if (sec_memcmp(want, d->mac, SEC_HASH_BYTES) != 0) {
		w->st = altered(w->r, "a line of the disclosure log does not "
				      "match its MAC");
		return 1;
	}
	memcpy(w->prev, d->mac, SEC_HASH_BYTES);
	w->last = d->id;
	if (w->pseudonym != NULL && strcmp(w->pseudonym, d->pseudonym) != 0)
		return 0;
	if (strcmp(d->recipient, DISCLOSE_OWN_REGISTER) == 0)
		w->found_own++;
	if (w->arr == NULL)
		return 0;
	o = line_json(w, d);
	if (o == NULL || json_array_append_new(w->arr, o) != 0) {
		w->st = reg_fail(w->r, RK_ESYS, "out of memory");
		return 1;
	}
	return 0;
}

/* Inside a read or write: checks the whole chain against the pin and
 * gathers the lines of pseudonym (all when NULL) into w->arr (when it is
 * not NULL). *h gets the pin. */
static rk_status log_walk(rk_register *r, struct walk *w, struct head *h)
{
	rk_status st = head_get(r, h);

	if (st != RK_OK)
		return st;
	w->r = r;
	w->st = RK_OK;
	memset(w->prev, 0, sizeof w->prev);
	w->last = 0;
	if (r->st->vt->disclosure_walk(r->st, NULL, walk_one, w) != 0)
		return w->st != RK_OK
			       ? w->st
			       : reg_store_fail(r, "cannot read the disclosure "
						   "log");
	if (w->st != RK_OK)
		return w->st;
	if (w->last != h->id ||
	    (h->id != 0 && sec_memcmp(w->prev, h->mac, SEC_HASH_BYTES) != 0))
		return altered(r, "the disclosure log is not the one the "
				  "register pinned (a line was removed, added "
				  "or put back)");
	return RK_OK;
}

rk_status disclose_log_json(rk_register *r, const store_subject *sub, int en,
			    json_t **out)
{
	struct walk w;
	struct head h;
	rk_status st;

	*out = NULL;
	memset(&w, 0, sizeof w);
	w.pseudonym = sub->pseudonym;
	w.subject_id = sub->id;
	w.en = en;
	w.arr = json_array();
	if (w.arr == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	st = reg_begin_read(r);
	if (st == RK_OK) {
		st = log_walk(r, &w, &h);
		reg_end_read(r);
	}
	if (st != RK_OK) {
		json_decref(w.arr);
		return st;
	}
	*out = w.arr;
	return RK_OK;
}

rk_status rk_disclosure_list(rk_register *r, const char *id, char **json_out)
{
	store_subject sub;
	struct walk w;
	struct head h;
	audit_ev ev;
	rk_status st;
	int reading = 0;

	*json_out = NULL;
	memset(&w, 0, sizeof w);
	sub.pseudonym[0] = '\0';
	st = access_rights(r, AUD_DISCLOSURE_LIST, "read the disclosure log");
	if (st != RK_OK)
		return st;
	w.arr = json_array();
	if (w.arr == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	w.en = 1;
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	reading = 1;
	if (id != NULL) {
		st = reg_load_subject(r, id, &sub);
		if (st != RK_OK)
			goto out;
		w.pseudonym = sub.pseudonym;
		w.subject_id = sub.id;
	}
	st = log_walk(r, &w, &h);
	if (st != RK_OK)
		goto out;
	reg_end_read(r);
	reading = 0;
	audit_ev_set(&ev, r, AUD_DISCLOSURE_LIST,
		     id != NULL ? sub.pseudonym : NULL, NULL, NULL, "ok");
	st = audit_read(r, &ev);
	if (st != RK_OK)
		goto out;
	*json_out = json_dumps(w.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (*json_out == NULL)
		st = reg_fail(r, RK_ESYS, "out of memory");
out:
	if (reading)
		reg_end_read(r);
	if (st != RK_OK && st != RK_ESYS && st != RK_EREFUSED)
		reg_audit_attempt(r, AUD_DISCLOSURE_LIST,
				  sub.pseudonym[0] ? sub.pseudonym : NULL, NULL,
				  st);
	json_decref(w.arr);
	return st;
}

/* ---- what a recipient may receive of one subject -------------------------
 */

struct dctx {
	rk_register *r;
	const pol_recipient *rc;
	size_t ri, pu;
	int marketing; /* the purpose is direct marketing */
	const char *event;
	char today[11];
	unsigned char *scope_live; /* per scope, for the subject at hand */
	int prohibited, objected;
};

/* One subject as gathered. */
struct subj {
	struct dctx *d;
	const store_subject *sub;
	const unsigned char *dk;
	json_t *values;	 /* {field: value or [values]} */
	json_t *records; /* [{id, type, created_at, fields}] */
	char fields[NAMES_MAX];
	char types[NAMES_MAX];
	int64_t nrecords;
	int selected;
	sec_mac vd;
	rk_status st;
};

static int expired(const struct dctx *d, const char *expires)
{
	return expires != NULL && expires[0] != '\0' &&
	       strcmp(expires, d->today) < 0;
}

/* Whether data on basis with purposes csv may go for the purpose: it
 * serves it (everything goes on a transfer of the business) and no
 * objection withholds it. */
static int serves(const struct dctx *d, const char *purposes, const char *basis)
{
	const policy *p = d->r->pol;

	if (!d->rc->everything && !csv_has(purposes, p->purposes[d->pu].name))
		return 0;
	return !(d->objected && ledger_basis_objectable(p, basis));
}

static int scope_ok(const struct dctx *d, size_t sc)
{
	if (sc == POL_NONE)
		return 1;
	if (!d->scope_live[sc])
		return 0;
	/* Targeting yields to the prohibition (as records do elsewhere). */
	return sc != d->r->pol->marketing.personalisation_consent ||
	       !d->prohibited;
}

static int value_one(void *ud, const store_value *v)
{
	struct subj *s = ud;
	const struct dctx *d = s->d;
	const policy *p = d->r->pol;
	size_t fi = policy_field(p, v->field), len;
	unsigned char *pt = NULL;
	json_t *val, *have;

	integ_values_add(&s->vd, v);
	if (s->st != RK_OK || fi == POL_NONE ||
	    !policy_recipient_field(p, d->ri, fi) ||
	    p->fields[fi].type == PT_PASSWORD || expired(d, v->expires) ||
	    !serves(d, v->purposes, v->legal_basis) ||
	    !scope_ok(d, p->fields[fi].consent))
		return 0;
	s->st = reg_value_open(d->r, s->dk, s->sub->id, v, &pt, &len);
	if (s->st != RK_OK)
		return 0;
	val = json_stringn((const char *)pt, len);
	if (val == NULL) {
		s->st = reg_fail(d->r, RK_EINTEGRITY,
				 "a stored value is not valid text");
		goto out;
	}
	have = json_object_get(s->values, v->field);
	if (!p->fields[fi].multiple) {
		if (json_object_set_new(s->values, v->field, val) != 0)
			s->st = reg_fail(d->r, RK_ESYS, "out of memory");
	} else {
		if (have == NULL) {
			have = json_array();
			if (have == NULL ||
			    json_object_set_new(s->values, v->field, have) !=
				    0) {
				json_free_secret(val);
				s->st = reg_fail(d->r, RK_ESYS,
						 "out of memory");
				goto out;
			}
		}
		if (json_array_append_new(have, val) != 0)
			s->st = reg_fail(d->r, RK_ESYS, "out of memory");
	}
	csv_add(s->fields, sizeof s->fields, v->field);
out:
	sec_wipe(pt, len + 1);
	free(pt);
	return 0;
}

/* Whether record fields plain match the recipient's selection. */
static int selected(const struct dctx *d, const pol_record_type *rt,
		    const json_t *plain)
{
	const pol_select *sel = &d->rc->select;
	const char *v = json_string_value(
		json_object_get(plain, rt->fields[sel->field].name));
	size_t i;

	if (v == NULL)
		return 0;
	if (sel->given)
		return d->event != NULL && strcmp(v, d->event) == 0;
	for (i = 0; i < sel->nvalues; i++)
		if (strcmp(v, sel->values[i]) == 0)
			return 1;
	return 0;
}

static int record_one(void *ud, const store_record *rec)
{
	struct subj *s = ud;
	const struct dctx *d = s->d;
	const policy *p = d->r->pol;
	size_t ti = policy_record_type(p, rec->type);
	const pol_record_type *rt;
	json_t *plain = NULL, *o = NULL;
	int sel_type, allowed, bad = 0;
	char at[32];

	if (s->st != RK_OK)
		return 1;
	if (ti == POL_NONE)
		return 0;
	rt = &p->record_types[ti];
	sel_type = d->rc->select.record_type == ti;
	allowed = policy_recipient_record_type(p, d->ri, ti) &&
		  !expired(d, rec->expires) &&
		  serves(d, rec->purposes, rec->legal_basis) &&
		  scope_ok(d, rt->consent) &&
		  scope_ok(d, policy_record_purpose_consent(rt, d->pu));
	if (!sel_type && !allowed)
		return 0;
	s->st = reg_record_open(d->r, s->sub, s->dk, rec, &plain);
	if (s->st != RK_OK)
		return 1;
	if (sel_type) {
		/* Only the matching records of the selection's type go. */
		if (!selected(d, rt, plain))
			goto out;
		s->selected = 1;
	}
	if (!allowed)
		goto out;
	o = json_object();
	if (o == NULL)
		goto oom;
	ident_iso_utc(rec->created_at, at);
	bad |= put(o, "id", json_integer(rec->id));
	bad |= put(o, "type", json_string(rec->type));
	bad |= put(o, "created_at", json_string(at));
	bad |= put(o, "fields", plain);
	plain = NULL;
	if (bad || json_array_append_new(s->records, o) != 0) {
		o = NULL;
		goto oom;
	}
	o = NULL;
	s->nrecords++;
	csv_add(s->types, sizeof s->types, rec->type);
	goto out;
oom:
	s->st = reg_fail(d->r, RK_ESYS, "out of memory");
out:
	json_free_secret(o);
	json_free_secret(plain);
	return s->st != RK_OK;
}

/* Whether the subject qualifies; *basis gets the rule it qualified under,
 * *ex the reason it did not (EX_NONE when it did). Loads the ledger's
 * states into d->scope_live. */
static rk_status qualify(struct dctx *d, const store_subject *sub,
			 enum exclude *ex, char basis[BASIS_MAX])
{
	rk_register *r = d->r;
	const policy *p = r->pol;
	size_t sc;
	int v;

	*ex = EX_NONE;
	basis[0] = '\0';
	v = ledger_restricted(r, sub);
	if (v < 0)
		return ledger_err(v);
	if (v > 0 && d->pu != p->settings.legal_claims_purpose) {
		*ex = EX_RESTRICTED;
		return RK_OK;
	}
	v = p->marketing.prohibition == POL_NONE
		    ? 0
		    : ledger_objected(
			      r, sub->id,
			      p->objections[p->marketing.prohibition].name);
	if (v < 0)
		return ledger_err(v);
	d->prohibited = v;
	v = ledger_purpose_objected(r, sub, d->pu);
	if (v < 0)
		return ledger_err(v);
	d->objected = v;
	for (sc = 0; sc < p->nscopes; sc++) {
		v = ledger_live(r, sub->id, sc);
		if (v < 0)
			return ledger_err(v);
		d->scope_live[sc] = (unsigned char)v;
	}
	if (d->marketing && d->prohibited) {
		*ex = EX_PROHIBITION;
		return RK_OK;
	}
	if (d->marketing && d->objected) {
		*ex = EX_OBJECTION;
		return RK_OK;
	}
	if (d->marketing && d->rc->kind == RCP_THIRD_PARTY) {
		/* A third party's own marketing: a live consent that names
		 * it (or its category). */
		for (sc = 0; sc < p->nscopes; sc++)
			if (policy_scope_names(p, sc, d->ri) &&
			    d->scope_live[sc]) {
				snprintf(basis, BASIS_MAX, "consent:%s",
					 p->scopes[sc].name);
				return RK_OK;
			}
		*ex = EX_NO_CONSENT;
		return RK_OK;
	}
	if (d->rc->select.record_type != POL_NONE)
		snprintf(basis, BASIS_MAX, "select:%s.%s",
			 p->record_types[d->rc->select.record_type].name,
			 p->record_types[d->rc->select.record_type]
				 .fields[d->rc->select.field]
				 .name);
	else if (d->rc->everything)
		snprintf(basis, BASIS_MAX, "everything");
	else if (d->rc->legal_ground)
		snprintf(basis, BASIS_MAX, "legal_ground");
	else
		snprintf(basis, BASIS_MAX, "purpose:%s",
			 p->purposes[d->pu].name);
	return RK_OK;
}

/* Gathers what the recipient may receive of subject sub (loaded and
 * checked in this write). *obj_out is NULL when the subject is left out
 * (*ex says why). */
static rk_status gather(struct dctx *d, const store_subject *sub,
			json_t **obj_out, enum exclude *ex,
			char basis[BASIS_MAX], struct subj *s)
{
	rk_register *r = d->r;
	unsigned char *dk = NULL;
	json_t *o = NULL;
	rk_status st;
	int bad = 0;

	*obj_out = NULL;
	memset(s, 0, sizeof *s);
	st = qualify(d, sub, ex, basis);
	if (st != RK_OK || *ex != EX_NONE)
		return st;
	st = reg_subject_key(r, sub, &dk);
	if (st != RK_OK)
		return st;
	s->d = d;
	s->sub = sub;
	s->dk = dk;
	s->st = RK_OK;
	s->values = json_object();
	s->records = json_array();
	if (s->values == NULL || s->records == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	integ_values_begin(r, sub->id, &s->vd);
	if (r->st->vt->value_list(r->st, sub->id, NULL, value_one, s) != 0) {
		sec_wipe(&s->vd, sizeof s->vd);
		st = reg_store_fail(r, "cannot read the values");
		goto out;
	}
	st = s->st;
	if (st == RK_OK)
		st = integ_values_end(r, sub, &s->vd);
	else
		sec_wipe(&s->vd, sizeof s->vd);
	if (st != RK_OK)
		goto out;
	st = integ_records_walk(r, sub, NULL, record_one, s);
	if (s->st != RK_OK)
		st = s->st;
	if (st != RK_OK)
		goto out;
	if (d->rc->select.record_type != POL_NONE && !s->selected) {
		*ex = EX_NOT_SELECTED;
		goto out;
	}
	if (json_object_size(s->values) == 0 &&
	    json_array_size(s->records) == 0) {
		*ex = EX_NOTHING;
		goto out;
	}
	o = json_object();
	if (o == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	bad |= put(o, "id", json_string(sub->id));
	bad |= put(o, "values", s->values);
	s->values = NULL;
	bad |= put(o, "records", s->records);
	s->records = NULL;
	if (bad) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	*obj_out = o;
	o = NULL;
out:
	json_free_secret(o);
	json_free_secret(s->values);
	json_free_secret(s->records);
	s->values = s->records = NULL;
	sec_key_free(dk);
	return st;
}

/* ---- the disclosure -------------------------------------------------------
 */

/* The actor's role must be allowed the purpose and see every category
 * the recipient may receive (a HETU whole). The administrator and roles
 * that audit may disclose whatever the policy allows. */
static rk_status may_disclose(rk_register *r, size_t ri, size_t pu)
{
	const policy *p = r->pol;
	size_t f;
	rk_status st;

	if (r->role == POL_NONE || r->role == p->settings.operator_role ||
	    p->roles[r->role].audit)
		return RK_OK;
	st = access_check(r, pu, AUD_DISCLOSE, NULL);
	if (st != RK_OK)
		return st;
	for (f = 0; f < p->nfields; f++)
		if (policy_recipient_field(p, ri, f) &&
		    (!access_sees_category(r, p->fields[f].category) ||
		     !access_sees_whole(r, f))) {
			reg_fail(r, RK_EREFUSED,
				 "role %s may not disclose to %s: it does not "
				 "see category %s",
				 p->roles[r->role].name, p->recipients[ri].name,
				 p->categories[p->fields[f].category].name);
			reg_audit_attempt(r, AUD_DISCLOSE, NULL,
					  p->purposes[pu].name, RK_EREFUSED);
			return RK_EREFUSED;
		}
	return RK_OK;
}

/* After reg_fail set the message: the refusal is audited. */
static rk_status refused(rk_register *r, size_t pu)
{
	reg_audit_attempt(r, AUD_DISCLOSE, NULL,
			  pu == POL_NONE ? NULL : r->pol->purposes[pu].name,
			  RK_EREFUSED);
	return RK_EREFUSED;
}

/* Checks everything about the call that needs no subject. */
static rk_status check_call(rk_register *r, const char *recipient,
			    const rk_disclose_options *o, size_t *ri_out,
			    size_t *pu_out, char ground[GROUND_MAX * 2])
{
	const policy *p = r->pol;
	const pol_recipient *rc;
	const char *why = NULL;
	size_t ri, pu, i;
	int serves_pu = 0;

	*ri_out = *pu_out = POL_NONE;
	ground[0] = '\0';
	ri = recipient == NULL ? POL_NONE : policy_recipient(p, recipient);
	if (ri == POL_NONE)
		return reg_fail(r, RK_EINVAL,
				"unknown recipient: the policy declares the "
				"recipients");
	rc = &p->recipients[ri];
	if (o == NULL || o->purpose == NULL)
		return reg_fail(r, RK_EINVAL, "a disclosure needs its purpose");
	pu = policy_purpose(p, o->purpose);
	if (pu == POL_NONE)
		return reg_fail(r, RK_EINVAL,
				"unknown purpose: the policy declares the "
				"purposes");
	if ((o->nsubjects > 0) == (o->all_eligible != 0))
		return reg_fail(r, RK_EINVAL,
				"name the subjects or ask for all eligible "
				"ones (one of the two)");
	if (o->format != RK_DISCLOSE_JSON && o->format != RK_DISCLOSE_CSV)
		return reg_fail(r, RK_EINVAL, "the format is JSON or CSV");
	if (rc->select.given && (o->event == NULL || o->event[0] == '\0' ||
				 strlen(o->event) > EVENT_MAX))
		return reg_fail(r, RK_EINVAL,
				"recipient %s receives the participants of one "
				"event: name it (at most %d bytes)",
				rc->name, EVENT_MAX);
	if (!rc->select.given && o->event != NULL)
		return reg_fail(r, RK_EINVAL, "recipient %s takes no event",
				rc->name);
	if (rc->legal_ground) {
		if (o->legal_ground == NULL)
			return reg_fail(r, RK_EINVAL,
					"a disclosure to %s records its legal "
					"ground: give it",
					rc->name);
		if (strlen(o->legal_ground) > GROUND_MAX ||
		    ident_text_lines(o->legal_ground, GROUND_MAX, ground,
				     GROUND_MAX * 2, &why) != 0 ||
		    strchr(ground, '\n') != NULL || ground[0] == '\0')
			return reg_fail(r, RK_EINVAL,
					"the legal ground is one line of at "
					"most %d bytes that cites a law%s%s",
					GROUND_MAX, why ? ": " : "",
					why ? why : "");
	} else if (o->legal_ground != NULL) {
		return reg_fail(r, RK_EINVAL,
				"recipient %s records no legal ground",
				rc->name);
	}
	for (i = 0; i < rc->npurposes; i++)
		serves_pu |= rc->purposes[i] == pu;
	*pu_out = pu;
	if (!serves_pu) {
		reg_fail(r, RK_EREFUSED,
			 "recipient %s does not receive data for purpose %s",
			 rc->name, p->purposes[pu].name);
		return refused(r, pu);
	}
	/* GDPR Chapter V: outside the EU/EEA only with an adequacy decision
	 * or a recorded safeguard. */
	if (!policy_transfer_ok(p, ri)) {
		reg_fail(r, RK_EREFUSED,
			 "a transfer to %s (%s) is not allowed: the country is "
			 "outside the EU/EEA, has no adequacy decision and the "
			 "policy records no safeguard",
			 rc->name, rc->country);
		return refused(r, pu);
	}
	if (!rc->everything && rc->nfields == 0 && rc->ncategories == 0 &&
	    rc->nrecord_types == 0) {
		reg_fail(r, RK_EREFUSED,
			 "the policy names nothing that %s may receive",
			 rc->name);
		return refused(r, pu);
	}
	*ri_out = ri;
	return may_disclose(r, ri, pu);
}

struct ids {
	char (*id)[33];
	size_t n, cap;
	rk_status st;
	rk_register *r;
};

static int collect_id(void *ud, const store_subject *s)
{
	struct ids *l = ud;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char(*n)[33] = realloc(l->id, cap * sizeof *n);

		if (n == NULL) {
			l->st = reg_fail(l->r, RK_ESYS, "out of memory");
			return 1;
		}
		l->id = n;
		l->cap = cap;
	}
	memcpy(l->id[l->n++], s->id, 33);
	return 0;
}

/* The document as JSON, or its CSV form. */
static int csv_cell(char **buf, size_t *len, size_t *cap, const char *s,
		    int first)
{
	/* quotes, a comma, the NUL and room for a CRLF after it */
	size_t need = strlen(s) * 2 + 6, i;
	char *b;
	int quote = strpbrk(s, ",\"\r\n") != NULL;

	if (*len + need + 1 > *cap) {
		size_t nc = (*cap + need + 1) * 2;

		b = malloc(nc);
		if (b == NULL)
			return -1;
		memcpy(b, *buf, *len);
		sec_wipe(*buf, *cap);
		free(*buf);
		*buf = b;
		*cap = nc;
	}
	b = *buf;
	if (!first)
		b[(*len)++] = ',';
	if (quote)
		b[(*len)++] = '"';
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"')
			b[(*len)++] = '"';
		b[(*len)++] = s[i];
	}
	if (quote)
		b[(*len)++] = '"';
	b[*len] = '\0';
	return 0;
}

static int csv_row(char **buf, size_t *len, size_t *cap, const char *subject,
		   const char *type, const char *record, const char *name,
		   const char *value)
{
	if (csv_cell(buf, len, cap, subject, 1) ||
	    csv_cell(buf, len, cap, type, 0) ||
	    csv_cell(buf, len, cap, record, 0) ||
	    csv_cell(buf, len, cap, name, 0) ||
	    csv_cell(buf, len, cap, value, 0))
		return -1;
	/* CRLF (RFC 4180): csv_cell keeps room for it */
	if (*len + 3 > *cap)
		return -1;
	memcpy(*buf + *len, "\r\n", 3);
	*len += 2;
	return 0;
}

static char *to_csv(const json_t *subjects)
{
	size_t cap = 256, len = 0, i, j;
	char *buf = malloc(cap), num[32];
	const json_t *s, *v, *e, *rec;
	const char *key, *k2;
	int bad = 0;

	if (buf == NULL)
		return NULL;
	buf[0] = '\0';
	bad |= csv_row(&buf, &len, &cap, "subject", "type", "record", "name",
		       "value");
	json_array_foreach(subjects, i, s)
	{
		const char *id = json_string_value(json_object_get(s, "id"));

		json_object_foreach((json_t *)json_object_get(s, "values"), key,
				    v)
		{
			if (json_is_string(v))
				bad |= csv_row(&buf, &len, &cap, id, "field",
					       "", key, json_string_value(v));
			for (j = 0; j < json_array_size(v); j++) {
				e = json_array_get(v, j);
				bad |= csv_row(&buf, &len, &cap, id, "field",
					       "", key,
					       json_string_value(e)
						       ? json_string_value(e)
						       : "");
			}
		}
		json_array_foreach(json_object_get(s, "records"), j, rec)
		{
			const char *type =
				json_string_value(json_object_get(rec, "type"));

			snprintf(
				num, sizeof num, "%" JSON_INTEGER_FORMAT,
				json_integer_value(json_object_get(rec, "id")));
			json_object_foreach(
				(json_t *)json_object_get(rec, "fields"), k2, v)
			{
				char *text =
					json_is_string(v)
						? NULL
						: json_dumps(
							  v,
							  JSON_ENCODE_ANY |
								  JSON_COMPACT);

				bad |= csv_row(&buf, &len, &cap, id, type, num,
					       k2,
					       text ? text
					       : json_string_value(v)
						       ? json_string_value(v)
						       : "");
				if (text != NULL) {
					sec_wipe(text, strlen(text));
					free(text);
				}
			}
		}
	}
	if (bad) {
		sec_wipe(buf, cap);
		free(buf);
		return NULL;
	}
	return buf;
}

static json_t *document(const rk_register *r, const struct dctx *d,
			int64_t batch, int64_t at, const char *ground,
			json_t *subjects)
{
	json_t *doc = json_object(), *rcp = json_object();
	char when[32];
	int bad = doc == NULL || rcp == NULL;

	if (bad) {
		json_decref(doc);
		json_decref(rcp);
		json_decref(subjects);
		return NULL;
	}
	ident_iso_utc(at, when);
	bad |= put(rcp, "name", json_string(d->rc->name));
	bad |= put(rcp, "kind", json_string(kind_names[d->rc->kind]));
	bad |= put(rcp, "country", json_string(d->rc->country));
	bad |= put(rcp, "safeguard", str_or_null(d->rc->safeguard));
	bad |= put(doc, "schema", json_string(DOC_SCHEMA));
	bad |= put(doc, "version", json_integer(RK_DISCLOSE_VERSION));
	bad |= put(doc, "batch", json_integer(batch));
	bad |= put(doc, "controller", str_or_null(r->pol->controller.name));
	bad |= put(doc, "recipient", rcp);
	bad |= put(doc, "purpose", json_string(r->pol->purposes[d->pu].name));
	bad |= put(doc, "legal_ground", str_or_null(ground[0] ? ground : NULL));
	bad |= put(doc, "event", str_or_null(d->event));
	bad |= put(doc, "disclosed_at", json_string(when));
	bad |= put(doc, "subjects", subjects);
	if (bad) {
		json_free_secret(doc);
		return NULL;
	}
	return doc;
}

static void excluded_text(const size_t counts[EXCLUDE_REASONS], char *out,
			  size_t cap)
{
	size_t used = 0, i;
	int n;

	out[0] = '\0';
	for (i = 0; i < EXCLUDE_REASONS; i++) {
		if (counts[i] == 0)
			continue;
		n = snprintf(out + used, cap - used, "%s%s=%zu",
			     used ? "," : "", exclude_names[i], counts[i]);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

rk_status rk_disclose(rk_register *r, const char *recipient,
		      const rk_disclose_options *o, char **doc_out,
		      rk_disclose_result *res)
{
	const policy *p = r->pol;
	struct dctx d;
	struct ids ids;
	struct head h;
	struct subj s;
	size_t ri, pu, i, counts[EXCLUDE_REASONS] = {0}, ndisclosed = 0;
	char ground[GROUND_MAX * 2], basis[BASIS_MAX];
	char names[NAMES_MAX * 2];
	json_t *subjects = NULL, *doc = NULL, *obj;
	store_subject sub;
	enum exclude ex;
	int64_t batch = 0, at;
	audit_ev ev;
	rk_status st;
	int writing = 0;

	*doc_out = NULL;
	if (res != NULL)
		memset(res, 0, sizeof *res);
	memset(&d, 0, sizeof d);
	memset(&ids, 0, sizeof ids);
	st = check_call(r, recipient, o, &ri, &pu, ground);
	if (st != RK_OK)
		return st;
	d.r = r;
	d.ri = ri;
	d.rc = &p->recipients[ri];
	d.pu = pu;
	d.marketing = pu == p->marketing.purpose;
	d.event = d.rc->select.given ? o->event : NULL;
	reg_today(r, d.today);
	d.scope_live = calloc(p->nscopes + 1, 1);
	subjects = json_array();
	if (d.scope_live == NULL || subjects == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	for (i = 0; i < o->nsubjects; i++)
		if (o->subjects[i] == NULL || !reg_valid_id(o->subjects[i])) {
			st = reg_fail(r, RK_EINVAL,
				      "not a subject ID: IDs are 32 "
				      "hexadecimal characters");
			goto out;
		}
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	writing = 1;
	if (o->all_eligible) {
		ids.r = r;
		ids.st = RK_OK;
		if (r->st->vt->subject_list(r->st, NULL, NULL, 0, collect_id,
					    &ids) != 0) {
			st = ids.st != RK_OK
				     ? ids.st
				     : reg_store_fail(r,
						      "cannot list subjects");
			goto out;
		}
	}
	st = head_get(r, &h);
	if (st != RK_OK)
		goto out;
	at = reg_now(r);
	for (i = 0; i < (o->all_eligible ? ids.n : o->nsubjects); i++) {
		const char *id = o->all_eligible ? ids.id[i] : o->subjects[i];
		store_disclosure line;

		st = reg_load_subject(r, id, &sub);
		if (st != RK_OK)
			goto out;
		st = gather(&d, &sub, &obj, &ex, basis, &s);
		if (st != RK_OK)
			goto out;
		if (obj == NULL) {
			counts[ex]++;
			if (!o->all_eligible)
				reg_audit_attempt(
					r, AUD_DISCLOSE, sub.pseudonym,
					p->purposes[pu].name, RK_EREFUSED);
			continue;
		}
		if (json_array_append_new(subjects, obj) != 0) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		memset(&line, 0, sizeof line);
		line.id = h.id + 1;
		if (batch == 0)
			batch = line.id;
		line.batch = batch;
		line.subject_id = sub.id;
		line.pseudonym = sub.pseudonym;
		line.recipient = d.rc->name;
		line.recipient_kind = kind_names[d.rc->kind];
		line.country = d.rc->country;
		line.safeguard = d.rc->safeguard;
		line.purpose = p->purposes[pu].name;
		line.at = at;
		line.actor = r->actor;
		line.fields = s.fields[0] ? s.fields : NULL;
		line.record_types = s.types[0] ? s.types : NULL;
		line.records = s.nrecords;
		line.legal_ground = ground[0] ? ground : NULL;
		line.basis = basis;
		row_mac(r, h.mac, &line, h.mac);
		line.mac = h.mac;
		h.id = line.id;
		if (r->st->vt->disclosure_insert(r->st, &line) != 0) {
			st = reg_store_fail(r, "cannot write the disclosure "
					       "log");
			goto out;
		}
		names[0] = '\0';
		snprintf(names, sizeof names, "%s%s%s", s.fields,
			 s.fields[0] && s.types[0] ? "," : "", s.types);
		audit_ev_set(&ev, r, AUD_DISCLOSE, sub.pseudonym, names,
			     p->purposes[pu].name, "ok");
		st = audit_write(r, &ev);
		if (st != RK_OK)
			goto out;
		ndisclosed++;
	}
	if (!o->all_eligible && ndisclosed == 0) {
		st = reg_fail(r, RK_EREFUSED,
			      "every subject named is left out of a disclosure "
			      "to %s",
			      d.rc->name);
		goto out;
	}
	if (ndisclosed > 0) {
		st = head_set(r, &h);
		if (st != RK_OK)
			goto out;
	}
	doc = document(r, &d, batch, at, ground, subjects);
	subjects = NULL;
	if (doc == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (o->format == RK_DISCLOSE_CSV)
		*doc_out = to_csv(json_object_get(doc, "subjects"));
	else
		*doc_out =
			json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (*doc_out == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = reg_commit(r);
	writing = 0;
	if (st != RK_OK) {
		reg_free_secret(*doc_out);
		*doc_out = NULL;
		goto out;
	}
	if (res != NULL) {
		res->batch = batch;
		res->disclosed = ndisclosed;
		for (i = 0; i < EXCLUDE_REASONS; i++)
			res->excluded += counts[i];
		excluded_text(counts, res->excluded_by,
			      sizeof res->excluded_by);
	}
out:
	if (writing)
		reg_rollback(r);
	if (st != RK_OK && st != RK_ESYS)
		reg_audit_attempt(r, AUD_DISCLOSE, NULL, p->purposes[pu].name,
				  st);
	json_free_secret(doc);
	json_free_secret(subjects);
	free(d.scope_live);
	free(ids.id);
	return st;
}

/* ---- the own direct-marketing register ------------------------------------
 */

struct keep {
	rk_register *r;
	const char *today;
	int64_t *rows;
	size_t n, cap;
	char fields[NAMES_MAX];
	const unsigned char *scope_live;
	sec_mac vd;
	rk_status st;
};

static int keep_one(void *ud, const store_value *v)
{
	struct keep *k = ud;
	const policy *p = k->r->pol;
	size_t fi = policy_field(p, v->field), i;
	int listed = 0;

	integ_values_add(&k->vd, v);
	if (k->st != RK_OK || fi == POL_NONE)
		return 0;
	for (i = 0; i < p->marketing.nregister_fields; i++)
		listed |= p->marketing.register_fields[i] == fi;
	if (!listed ||
	    (v->expires != NULL && strcmp(v->expires, k->today) < 0) ||
	    (p->fields[fi].consent != POL_NONE &&
	     !k->scope_live[p->fields[fi].consent]))
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		int64_t *n = realloc(k->rows, cap * sizeof *n);

		if (n == NULL) {
			k->st = reg_fail(k->r, RK_ESYS, "out of memory");
			return 1;
		}
		k->rows = n;
		k->cap = cap;
	}
	k->rows[k->n++] = v->rowid;
	csv_add(k->fields, sizeof k->fields, v->field);
	return 0;
}

static rk_status may_transfer(rk_register *r)
{
	if (r->role == POL_NONE || r->role == r->pol->settings.operator_role ||
	    r->pol->roles[r->role].audit ||
	    policy_marketing_role(r->pol, r->role))
		return RK_OK;
	reg_fail(r, RK_EREFUSED,
		 "role %s may not move data to the direct-marketing register",
		 r->pol->roles[r->role].name);
	reg_audit_attempt(r, AUD_MARKETING_TRANSFER, NULL, NULL, RK_EREFUSED);
	return RK_EREFUSED;
}

rk_status rk_transfer_to_marketing(rk_register *r, const char *id,
				   char **json_out)
{
	const policy *p = r->pol;
	size_t pu = p->marketing.purpose, ri = p->marketing.register_retention;
	store_subject sub;
	struct keep k;
	struct walk w;
	struct head h;
	store_disclosure line;
	unsigned char *live = NULL;
	char today[11], expires[11] = "";
	json_t *o = NULL;
	audit_ev ev;
	rk_status st;
	size_t i, sc;
	int writing = 0, v;

	if (json_out != NULL)
		*json_out = NULL;
	memset(&k, 0, sizeof k);
	memset(&w, 0, sizeof w);
	sub.pseudonym[0] = '\0';
	st = may_transfer(r);
	if (st != RK_OK)
		return st;
	if (pu == POL_NONE || p->marketing.nregister_fields == 0)
		return reg_fail(r, RK_EINVAL,
				"the policy names no own direct-marketing "
				"register (marketing \"register_fields\")");
	live = calloc(p->nscopes + 1, 1);
	if (live == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	reg_today(r, today);
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	writing = 1;
	st = reg_load_subject(r, id, &sub);
	if (st != RK_OK)
		goto out;
	if (sub.rel_end[0] == '\0' || strcmp(sub.rel_end, today) > 0) {
		st = reg_fail(r, RK_EREFUSED,
			      "the relationship has not ended: data moves to "
			      "the direct-marketing register only after it");
		goto out;
	}
	v = ledger_restricted(r, &sub);
	if (v == 0 && p->marketing.prohibition != POL_NONE)
		v = ledger_objected(
			r, sub.id,
			p->objections[p->marketing.prohibition].name);
	if (v == 0)
		v = ledger_purpose_objected(r, &sub, pu);
	if (v < 0) {
		st = ledger_err(v);
		goto out;
	}
	if (v > 0) {
		st = reg_fail(r, RK_EREFUSED,
			      "the subject prohibited or objected to direct "
			      "marketing, or is restricted: nothing moves");
		goto out;
	}
	for (sc = 0; sc < p->nscopes; sc++) {
		v = ledger_live(r, sub.id, sc);
		if (v < 0) {
			st = ledger_err(v);
			goto out;
		}
		live[sc] = (unsigned char)v;
	}
	w.pseudonym = sub.pseudonym;
	st = log_walk(r, &w, &h);
	if (st != RK_OK)
		goto out;
	if (w.found_own > 0) {
		st = reg_fail(r, RK_EINVAL,
			      "the subject is in the direct-marketing register "
			      "already");
		goto out;
	}
	k.r = r;
	k.today = today;
	k.scope_live = live;
	k.st = RK_OK;
	integ_values_begin(r, sub.id, &k.vd);
	if (r->st->vt->value_list(r->st, sub.id, NULL, keep_one, &k) != 0) {
		sec_wipe(&k.vd, sizeof k.vd);
		st = reg_store_fail(r, "cannot read the values");
		goto out;
	}
	st = k.st;
	if (st == RK_OK)
		st = integ_values_end(r, &sub, &k.vd);
	else
		sec_wipe(&k.vd, sizeof k.vd);
	if (st != RK_OK)
		goto out;
	if (k.n == 0) {
		st = reg_fail(r, RK_EREFUSED,
			      "the subject holds nothing that the "
			      "direct-marketing register may keep");
		goto out;
	}
	/* The register's own retention runs from the transfer. */
	reg_expiry(r, ri, reg_now(r), sub.rel_end, expires);
	for (i = 0; i < k.n; i++)
		if (r->st->vt->value_repurpose(
			    r->st, k.rows[i], p->purposes[pu].name,
			    p->bases[p->marketing.register_basis].name,
			    expires[0] ? expires : NULL) != 0) {
			st = reg_store_fail(r, "cannot move a value");
			goto out;
		}
	st = integ_subject_repin(r, &sub);
	if (st != RK_OK)
		goto out;
	memset(&line, 0, sizeof line);
	line.id = h.id + 1;
	line.batch = line.id;
	line.subject_id = sub.id;
	line.pseudonym = sub.pseudonym;
	line.recipient = DISCLOSE_OWN_REGISTER;
	line.recipient_kind = KIND_CONTROLLER;
	line.country = "";
	line.purpose = p->purposes[pu].name;
	line.at = reg_now(r);
	line.actor = r->actor;
	line.fields = k.fields;
	line.basis = p->bases[p->marketing.register_basis].name;
	row_mac(r, h.mac, &line, h.mac);
	line.mac = h.mac;
	h.id = line.id;
	if (r->st->vt->disclosure_insert(r->st, &line) != 0) {
		st = reg_store_fail(r, "cannot write the disclosure log");
		goto out;
	}
	st = head_set(r, &h);
	if (st != RK_OK)
		goto out;
	audit_ev_set(&ev, r, AUD_MARKETING_TRANSFER, sub.pseudonym, k.fields,
		     p->purposes[pu].name, "ok");
	st = audit_write(r, &ev);
	if (st != RK_OK)
		goto out;
	if (json_out != NULL) {
		int bad = 0;

		o = json_object();
		bad |= o == NULL;
		if (!bad) {
			bad |= put(o, "subject", json_string(sub.id));
			bad |= put(o, "fields", csv_json(k.fields));
			bad |= put(o, "expires",
				   str_or_null(expires[0] ? expires : NULL));
			bad |= put(o, "retention",
				   json_string(p->retention[ri].name));
		}
		if (!bad)
			*json_out = json_dumps(o, JSON_INDENT(2) |
							  JSON_PRESERVE_ORDER);
		if (*json_out == NULL) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
	}
	st = reg_commit(r);
	writing = 0;
	if (st != RK_OK && json_out != NULL) {
		free(*json_out);
		*json_out = NULL;
	}
out:
	if (writing)
		reg_rollback(r);
	if (st != RK_OK && st != RK_ESYS)
		reg_audit_attempt(r, AUD_MARKETING_TRANSFER,
				  sub.pseudonym[0] ? sub.pseudonym : NULL,
				  pu == POL_NONE ? NULL : p->purposes[pu].name,
				  st);
	json_decref(o);
	free(k.rows);
	free(live);
	return st;
}
