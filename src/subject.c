/*
 * subject.c: subjects and their field values. Every value is validated
 * against the policy, normalised, sealed with the subject's own data key and
 * stored with its purposes, legal basis, source, collection time and expiry;
 * lookup fields also get a blind index entry. Reads return only what serves
 * the caller's purpose.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "ident.h"
#include "integrity.h"
#include "json_secret.h"
#include "ledger.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define NAMES_MAX 512

struct rk_fields {
	char **names;
	char **values;
	size_t n, cap;
};

typedef struct subj_val {
	rk_value pub;
	char *field;
	char *value;
	char *purposes;
	char *basis;
	char *source;
	char *category;
	char expires[11];
	char *blk; /* the strings above are in it (get_one) */
	size_t blen;
} subj_val;

/* what a read shows in place of a password's hash */
#define PASSWORD_SHOWN "(argon2id)"

struct rk_subject {
	char id[RK_ID_LEN + 1];
	char kind[32];
	char purpose[64];
	int64_t created_at;
	char rel_start[11];
	char rel_end[11];
	subj_val *vals;
	size_t n, cap;
};

typedef struct list_item {
	char id[RK_ID_LEN + 1];
	char kind[32];
	char start[11];
	char end[11];
} list_item;

struct rk_list {
	list_item *items;
	size_t n, cap;
};

/* ---- rk_fields ----------------------------------------------------------- */

rk_fields *rk_fields_new(void)
{
	return calloc(1, sizeof(rk_fields));
}

rk_status rk_fields_add(rk_fields *f, const char *name, const char *value)
{
	char *n, *v;

	if (f == NULL || name == NULL || value == NULL)
		return RK_EINVAL;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		char **nn = realloc(f->names, cap * sizeof *nn);
		if (nn == NULL)
			return RK_ESYS;
		f->names = nn;
		nn = realloc(f->values, cap * sizeof *nn);
		if (nn == NULL)
			return RK_ESYS;
		f->values = nn;
		f->cap = cap;
	}
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		reg_free_secret(v);
		return RK_ESYS;
	}
	f->names[f->n] = n;
	f->values[f->n] = v;
	f->n++;
	return RK_OK;
}

void rk_fields_free(rk_fields *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->names[i]);
		reg_free_secret(f->values[i]);
	}
	free(f->names);
	free(f->values);
	free(f);
}

/* ---- helpers --------------------------------------------------------------
 */

/* The list as csv_add would build it, without its search of the list for
 * every name (a value is sealed per field on every add): a purpose listed
 * twice is left out by its index. */
static void field_purposes(const policy *p, const pol_field *f, char *buf,
			   size_t cap)
{
	size_t i, j;

	buf[0] = '\0';
	for (i = 0; i < f->npurposes; i++) {
		for (j = 0; j < i && f->purposes[j] != f->purposes[i]; j++)
			;
		if (j == i)
			csv_append(buf, cap, p->purposes[f->purposes[i]].name);
	}
}

/* The expiry of a value, or "" while open-ended. */
static void expiry_of(const rk_register *r, size_t kind, size_t field,
		      int64_t collected, const char *rel_end, char out[11])
{
	reg_expiry(r, reg_value_rule(r->pol, kind, field), collected, rel_end,
		   out);
}

typedef struct pending {
	size_t field;
	char *value; /* normalised; a password is its hash */
} pending;

typedef struct pendings {
	pending *v;
	size_t n;
} pendings;

static void pendings_free(pendings *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		reg_free_secret(ps->v[i].value);
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

/* Validates every NAME=VALUE against the policy before anything is written.
 * for_update allows an empty value (removal). */
static rk_status validate(rk_register *r, const rk_fields *in, int for_update,
			  pendings *ps)
{
	const policy *p = r->pol;
	char *buf = NULL;
	size_t i, j, fi, used = 0, wipe = 0;
	rk_status st = RK_OK;

	ps->v = calloc(in == NULL || in->n == 0 ? 1 : in->n, sizeof *ps->v);
	buf = malloc(REG_VALUE_MAX);
	if (ps->v == NULL || buf == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	for (i = 0; in != NULL && i < in->n; i++) {
		fi = policy_field(p, in->names[i]);
		if (fi == POL_NONE) {
			st = reg_unknown_field(r, "field", p->fields,
					       p->nfields);
			goto out;
		}
		if (p->fields[fi].type == PT_CUSTOMER_NUMBER) {
			st = reg_fail(r, RK_EINVAL,
				      "field %s is issued by the register",
				      p->fields[fi].name);
			goto out;
		}
		if (!p->fields[fi].multiple)
			for (j = 0; j < i; j++)
				if (strcmp(in->names[j], in->names[i]) == 0) {
					st = reg_fail(r, RK_EINVAL,
						      "field %s holds one "
						      "value only",
						      p->fields[fi].name);
					goto out;
				}
		/* An empty value is no value: in an update it removes the
		 * field, in an add it is left out (a form's empty box). */
		if (in->values[i][0] == '\0') {
			if (!for_update)
				continue;
			ps->v[ps->n].field = fi;
			ps->v[ps->n].value = NULL;
			ps->n++;
			continue;
		}
		st = value_normalise_fit(r, &p->fields[fi], in->values[i], buf,
					 REG_VALUE_MAX, &used);
		if (used > wipe)
			wipe = used;
		if (st != RK_OK)
			goto out;
		if (p->fields[fi].type == PT_PASSWORD) {
			char hash[SEC_PWHASH_BYTES];
			if (sec_pwhash(buf, hash) != 0) {
				st = reg_fail(r, RK_ESYS,
					      "cannot hash a password");
				goto out;
			}
			sec_wipe(buf, strlen(buf));
			memcpy(buf, hash, strlen(hash) + 1);
			if (strlen(hash) + 1 > wipe)
				wipe = strlen(hash) + 1;
		}
		ps->v[ps->n].field = fi;
		ps->v[ps->n].value = strdup(buf);
		if (ps->v[ps->n].value == NULL) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		ps->n++;
	}
out:
	if (buf != NULL) {
		/* What any value wrote (value_normalise_fit) */
		sec_wipe(buf, wipe);
		free(buf);
	}
	if (st != RK_OK)
		pendings_free(ps);
	return st;
}

/* A field is written or used for a purpose only when it serves that purpose
 * and the actor's role may see its category. */
static rk_status check_field_access(rk_register *r, size_t pu, size_t fi)
{
	const policy *p = r->pol;

	if (policy_field_serves(p, fi, pu) &&
	    access_sees_category(r, p->fields[fi].category))
		return RK_OK;
	return reg_fail(r, RK_EREFUSED,
			"field %s is not processed for purpose %s in this "
			"role",
			p->fields[fi].name, p->purposes[pu].name);
}

/* A field that rests on consent takes a value only while the subject's
 * consent lives (a new subject has given none yet). */
static rk_status check_field_consent(rk_register *r, const char *subject_id,
				     size_t fi)
{
	const pol_field *f = &r->pol->fields[fi];
	int live;

	if (f->consent == POL_NONE)
		return RK_OK;
	live = subject_id == NULL ? 0 : ledger_live(r, subject_id, f->consent);
	if (live < 0)
		return ledger_err(live);
	if (live == 0)
		return reg_fail(r, RK_EREFUSED,
				"field %s needs the subject's consent %s: "
				"record the consent first",
				f->name, r->pol->scopes[f->consent].name);
	return RK_OK;
}

/* A field that the policy lets only some kinds of subject hold (a HETU
 * where identifying the person is needed, Tietosuojalaki 29 §). */
static rk_status check_field_kind(rk_register *r, size_t fi, size_t ki)
{
	const policy *p = r->pol;

	if (ki == POL_NONE || policy_field_kind_ok(p, fi, ki))
		return RK_OK;
	return reg_fail(r, RK_EREFUSED,
			"field %s is not held for a %s: the policy allows it "
			"only for some kinds of subject",
			p->fields[fi].name, p->kinds[ki].name);
}

/* One value sealed and described, ready for value_insert; v's strings and
 * blobs point into the struct, which therefore never moves. */
typedef struct sealed {
	store_value v;
	unsigned char *ct;
	unsigned char ctbuf[256];
	char purposes[NAMES_MAX];
	char expires[11];
	unsigned char bidx[SEC_BIDX_BYTES];
} sealed;

static void sealed_free(sealed *sv)
{
	if (sv->ct != NULL && sv->ct != sv->ctbuf)
		free(sv->ct);
	sv->ct = NULL;
}

/* Seals one value (and makes its blind index) of subject sub. */
static rk_status seal_value(rk_register *r, const store_subject *sub,
			    const unsigned char *dk, size_t kind, size_t fi,
			    const char *value, const char *source, sealed *sv)
{
	const policy *p = r->pol;
	const pol_field *f = &p->fields[fi];
	size_t len = strlen(value);
	int64_t now = reg_now(r);

	memset(&sv->v, 0, sizeof sv->v);
	sv->ct = sv->ctbuf;
	if (len + SEC_SEAL_OVERHEAD > sizeof sv->ctbuf) {
		sv->ct = malloc(len + SEC_SEAL_OVERHEAD);
		if (sv->ct == NULL)
			return reg_fail(r, RK_ESYS, "out of memory");
	}
	if (sec_seal(dk, sub->id, f->name, (const unsigned char *)value, len,
		     sv->ct) != 0)
		return reg_fail(r, RK_ESYS, "cannot seal a value");
	field_purposes(p, f, sv->purposes, sizeof sv->purposes);
	expiry_of(r, kind, fi, now, sub->rel_end, sv->expires);
	sv->v.subject_id = sub->id;
	sv->v.field = f->name;
	sv->v.ct = sv->ct;
	sv->v.ctlen = len + SEC_SEAL_OVERHEAD;
	sv->v.purposes = sv->purposes;
	sv->v.legal_basis = p->bases[f->basis].name;
	sv->v.source = source != NULL ? source : p->sources[f->source].name;
	sv->v.collected_at = now;
	sv->v.confirmed_at = now;
	sv->v.expires = sv->expires[0] ? sv->expires : NULL;
	if (f->lookup) {
		sec_blind_index_ks(&r->kst_ikey, r->ikey, f->name, value,
				   sv->bidx);
		sv->v.bidx = sv->bidx;
		sv->v.pseudonym = sub->pseudonym;
	}
	return RK_OK;
}

/* Seals and stores one value of an existing subject; the caller re-pins
 * the subject's values digest afterwards. */
static rk_status put_value(rk_register *r, const store_subject *sub,
			   const unsigned char *dk, size_t kind, size_t fi,
			   const char *value, const char *source)
{
	sealed *sv = malloc(sizeof *sv);
	rk_status st;

	if (sv == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	sv->ct = NULL;
	st = seal_value(r, sub, dk, kind, fi, value, source, sv);
	if (st == RK_OK && r->st->vt->value_insert(r->st, &sv->v) != 0)
		st = reg_store_fail(r, "cannot store a value");
	sealed_free(sv);
	free(sv);
	return st;
}

static rk_status check_source(rk_register *r, const char *source)
{
	if (source != NULL && policy_source(r->pol, source) == POL_NONE)
		return reg_unknown_named(r, "source", r->pol->sources,
					 r->pol->nsources);
	return RK_OK;
}

static size_t issued_field(const policy *p)
{
	size_t i;

	for (i = 0; i < p->nfields; i++)
		if (p->fields[i].type == PT_CUSTOMER_NUMBER)
			return i;
	return POL_NONE;
}

/* The next number of the register's own numbering, as text. */
static rk_status issue_number(rk_register *r, char nbuf[24])
{
	int64_t num;

	if (r->st->vt->counter_next(r->st, "customer_number",
				    r->pol->settings.customer_number_start,
				    &num) != 0)
		return reg_store_fail(r, "cannot issue a customer number");
	snprintf(nbuf, 24, "%" PRId64, num);
	return RK_OK;
}

/* ---- add ------------------------------------------------------------------
 */

rk_status rk_subject_add(rk_register *r, const char *kind,
			 const rk_fields *fields, const char *source,
			 const char *purpose, char id_out[RK_ID_LEN + 1])
{
	const policy *p = r->pol;
	pendings ps = {NULL, 0};
	store_subject sub;
	unsigned char *dk = NULL;
	char names[NAMES_MAX] = "";
	size_t ki, i, j, cn, pu = POL_NONE, nsealed = 0;
	sealed *sv = NULL;
	sec_mac vd;
	rk_status st;

	id_out[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_ADD, NULL);
	if (st != RK_OK)
		return st;
	ki = kind == NULL ? POL_NONE : policy_kind(p, kind);
	if (ki == POL_NONE) {
		st = reg_fail(r, RK_EINVAL,
			      "unknown kind of subject: the policy declares "
			      "customer, prospect and contact");
		goto out;
	}
	st = check_source(r, source);
	if (st == RK_OK)
		st = validate(r, fields, 0, &ps);
	if (st != RK_OK)
		goto out;
	for (i = 0; i < p->kinds[ki].nrequired; i++) {
		size_t need = p->kinds[ki].required[i];
		for (j = 0; j < ps.n && ps.v[j].field != need; j++)
			;
		if (j == ps.n) {
			st = reg_fail(r, RK_EINVAL,
				      "field %s is required for a %s",
				      p->fields[need].name, p->kinds[ki].name);
			goto out;
		}
	}
	for (i = 0; i < ps.n; i++) {
		st = check_field_access(r, pu, ps.v[i].field);
		if (st == RK_OK)
			st = check_field_kind(r, ps.v[i].field, ki);
		if (st == RK_OK)
			st = check_field_consent(r, NULL, ps.v[i].field);
		if (st != RK_OK)
			goto out;
	}
	memset(&sub, 0, sizeof sub);
	sec_random_id(sub.id);
	snprintf(sub.kind, sizeof sub.kind, "%s", p->kinds[ki].name);
	sub.created_at = reg_now(r);
	reg_today(r, sub.rel_start);
	/* Wrapped under the write lock, after the check that the master key
	 * is still the current one. */
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	dk = sec_key_new();
	if (dk == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_wrap(r->mk, sub.id, dk, sub.wrapped_key) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot wrap a subject key");
		goto out;
	}
	sec_pseudonym(dk, sub.pseudonym);
	/* Every value is sealed before the subject row goes in, so that the
	 * row carries the digest of its values from the start (one insert,
	 * no update). */
	/* Not zeroed: seal_value sets what is used. */
	sv = malloc((ps.n + 1) * sizeof *sv);
	if (sv == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	for (i = 0; i < ps.n; i++) {
		st = seal_value(r, &sub, dk, ki, ps.v[i].field, ps.v[i].value,
				source, &sv[nsealed++]);
		if (st != RK_OK)
			goto out;
		csv_add(names, sizeof names, p->fields[ps.v[i].field].name);
	}
	cn = issued_field(p);
	if (cn != POL_NONE && p->kinds[ki].customer_number) {
		char nbuf[24];
		st = issue_number(r, nbuf);
		if (st != RK_OK)
			goto out;
		st = seal_value(r, &sub, dk, ki, cn, nbuf,
				p->sources[p->fields[cn].source].name,
				&sv[nsealed++]);
		if (st != RK_OK)
			goto out;
		csv_add(names, sizeof names, p->fields[cn].name);
	}
	integ_values_begin(r, sub.id, &vd);
	for (i = 0; i < nsealed; i++)
		integ_values_add(&vd, &sv[i].v);
	sec_mac_final(&vd, sub.vdigest);
	memset(sub.chead, 0, sizeof sub.chead); /* an empty ledger */
	memset(sub.rhead, 0, sizeof sub.rhead); /* and no records */
	sub.audit_seq = audit_next_seq(r);
	integ_subject_mac(r, &sub, sub.mac);
	sub.has_mac = 1;
	if (r->st->vt->subject_insert(r->st, &sub) != 0) {
		st = reg_store_fail(r, "cannot store the subject");
		goto out;
	}
	st = integ_set_change(r, sub.id, NULL, sub.mac);
	if (st != RK_OK)
		goto out;
	for (i = 0; i < nsealed; i++)
		if (r->st->vt->value_insert(r->st, &sv[i].v) != 0) {
			st = reg_store_fail(r, "cannot store a value");
			goto out;
		}
	st = reg_write_commit(r, AUD_SUBJECT_ADD, sub.pseudonym, names,
			      p->purposes[pu].name);
	if (st == RK_OK)
		memcpy(id_out, sub.id, RK_ID_LEN + 1);
out:
	if (st != RK_OK)
		reg_write_failed(r, AUD_SUBJECT_ADD, NULL,
				 pu == POL_NONE ? NULL : p->purposes[pu].name,
				 st);
	for (i = 0; sv != NULL && i < nsealed; i++)
		sealed_free(&sv[i]);
	free(sv);
	sec_key_free(dk);
	pendings_free(&ps);
	return st;
}

/* ---- get ------------------------------------------------------------------
 */

struct get_state {
	rk_register *r;
	rk_subject *s;
	const store_subject *sub;
	const unsigned char *dk;
	const char *purpose;
	int objected; /* an objection withholds legitimate-interest values */
	char today[11];
	char names[NAMES_MAX];
	sec_mac vd; /* every row counts, shown or not */
	rk_status st;
};

static int get_one(void *ud, const store_value *v)
{
	struct get_state *g = ud;
	const policy *p = g->r->pol;
	rk_subject *s = g->s;
	size_t fi = policy_field(p, v->field);
	subj_val *sv;
	const char *cat;
	size_t len, vcap, lf, lp, lb, ls, lc;

	integ_values_add(&g->vd, v);

	/* Only what was collected for this purpose, and not past its time. */
	if (fi == POL_NONE || !csv_has(v->purposes, g->purpose) ||
	    !access_sees_category(g->r, p->fields[fi].category))
		return 0;
	if (v->expires != NULL && strcmp(v->expires, g->today) < 0)
		return 0;
	if (g->objected && ledger_basis_objectable(p, v->legal_basis))
		return 0;
	if (v->ctlen < SEC_SEAL_OVERHEAD) {
		g->st = reg_fail(g->r, RK_EINTEGRITY,
				 "a stored value is "
				 "damaged");
		return 1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		subj_val *nv = realloc(s->vals, cap * sizeof *nv);
		if (nv == NULL) {
			g->st = reg_fail(g->r, RK_ESYS, "out of memory");
			return 1;
		}
		s->vals = nv;
		s->cap = cap;
	}
	sv = &s->vals[s->n];
	memset(sv, 0, sizeof *sv);
	len = v->ctlen - SEC_SEAL_OVERHEAD;
	cat = p->categories[p->fields[fi].category].name;
	if (cat == NULL)
		cat = "";
	/* One block per value: the value (room for what replaces a
	 * password's hash), then its field, purposes, basis, source and
	 * category, so that a read allocates once per value, not six times;
	 * wiped whole when freed. */
	vcap = len + 1 > sizeof PASSWORD_SHOWN ? len + 1
					       : sizeof PASSWORD_SHOWN;
	lf = strlen(v->field) + 1;
	lp = strlen(v->purposes) + 1;
	lb = strlen(v->legal_basis) + 1;
	ls = strlen(v->source) + 1;
	lc = strlen(cat) + 1;
	sv->blen = vcap + lf + lp + lb + ls + lc;
	sv->blk = malloc(sv->blen);
	if (sv->blk == NULL) {
		g->st = reg_fail(g->r, RK_ESYS, "out of memory");
		return 1;
	}
	sv->value = sv->blk;
	if (sec_open(g->dk, g->sub->id, v->field, v->ct, v->ctlen,
		     (unsigned char *)sv->value) != 0) {
		sec_wipe(sv->blk, sv->blen);
		free(sv->blk);
		g->st = reg_fail(g->r, RK_EINTEGRITY,
				 "a stored value does not decrypt: the "
				 "database was altered or damaged");
		return 1;
	}
	sv->value[len] = '\0';
	if (p->fields[fi].type == PT_PASSWORD) {
		/* The hash never leaves the library. */
		sec_wipe(sv->value, vcap);
		memcpy(sv->value, PASSWORD_SHOWN, sizeof PASSWORD_SHOWN);
	} else if (p->fields[fi].type == PT_HETU && len == 11 &&
		   g->r->role != POL_NONE &&
		   !p->roles[g->r->role].unmasked_hetu) {
		/* The date part is enough to tell people apart at the desk. */
		memcpy(sv->value + 7, "****", 4);
	}
	sv->field = memcpy(sv->blk + vcap, v->field, lf);
	sv->purposes = memcpy(sv->field + lf, v->purposes, lp);
	sv->basis = memcpy(sv->purposes + lp, v->legal_basis, lb);
	sv->source = memcpy(sv->basis + lb, v->source, ls);
	sv->category = memcpy(sv->source + ls, cat, lc);
	s->n++;
	if (v->expires != NULL)
		snprintf(sv->expires, sizeof sv->expires, "%s", v->expires);
	sv->pub.field = sv->field;
	sv->pub.value = sv->value;
	sv->pub.category = sv->category;
	sv->pub.purposes = sv->purposes;
	sv->pub.legal_basis = sv->basis;
	sv->pub.source = sv->source;
	sv->pub.collected_at = v->collected_at;
	sv->pub.confirmed_at = v->confirmed_at;
	/* pub.expires points into the array, which may still move: it is
	 * set once the walk is done. */
	csv_add(g->names, sizeof g->names, v->field);
	return 0;
}

static void copy_cut(char *dst, size_t cap, const char *src);

rk_status rk_subject_get(rk_register *r, const char *id, const char *purpose,
			 rk_subject **out)
{
	struct get_state g;
	store_subject sub;
	rk_subject *s = NULL;
	unsigned char *dk = NULL;
	size_t pu;
	rk_status st;
	audit_ev ev;
	int reading = 0;

	*out = NULL;
	memset(&g, 0, sizeof g);
	sub.pseudonym[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_SHOW, id);
	if (st != RK_OK)
		return st;
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	reading = 1;
	st = reg_subject_for_read(r, id, pu, &sub, &dk, &g.objected);
	if (st != RK_OK)
		goto out;
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	memcpy(s->id, sub.id, sizeof s->id);
	copy_cut(s->kind, sizeof s->kind, sub.kind);
	copy_cut(s->purpose, sizeof s->purpose, r->pol->purposes[pu].name);
	s->created_at = sub.created_at;
	memcpy(s->rel_start, sub.rel_start, sizeof s->rel_start);
	memcpy(s->rel_end, sub.rel_end, sizeof s->rel_end);
	g.r = r;
	g.s = s;
	g.sub = &sub;
	g.dk = dk;
	g.purpose = s->purpose;
	g.st = RK_OK;
	reg_today(r, g.today);
	integ_values_begin(r, sub.id, &g.vd);
	if (r->st->vt->value_list(r->st, sub.id, NULL, get_one, &g) != 0) {
		st = reg_store_fail(r, "cannot read the values");
		sec_wipe(&g.vd, sizeof g.vd);
		goto out;
	}
	st = g.st;
	if (st == RK_OK)
		st = integ_values_end(r, &sub, &g.vd);
	else
		sec_wipe(&g.vd, sizeof g.vd);
	if (st != RK_OK)
		goto out;
	for (size_t i = 0; i < s->n; i++)
		s->vals[i].pub.expires =
			s->vals[i].expires[0] ? s->vals[i].expires : NULL;
	reg_end_read(r);
	reading = 0;
	audit_ev_set(&ev, r, AUD_SUBJECT_SHOW, sub.pseudonym, g.names,
		     s->purpose, "ok");
	/* No read without its audit entry. */
	st = audit_read(r, &ev);
	if (st == RK_OK) {
		*out = s;
		s = NULL;
	}
out:
	if (reading)
		reg_end_read(r);
	if (st != RK_OK && st != RK_ESYS)
		reg_audit_attempt(
			r, AUD_SUBJECT_SHOW,
			sub.pseudonym[0] ? sub.pseudonym : NULL,
			pu == POL_NONE ? NULL : r->pol->purposes[pu].name, st);
	sec_key_free(dk);
	rk_subject_free(s);
	return st;
}

/* ---- find -----------------------------------------------------------------
 */

/* src (NULL: "") cut to fit dst, as snprintf "%s" would, without its
 * format parsing: a look-up fills four of these per subject found. */
static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = src == NULL ? 0 : strnlen(src, cap - 1);

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static rk_status list_push(rk_register *r, rk_list *l, const char *id,
			   const char *kind, const char *start, const char *end)
{
	list_item *it;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		list_item *ni = realloc(l->items, cap * sizeof *ni);
		if (ni == NULL)
			return reg_fail(r, RK_ESYS, "out of memory");
		l->items = ni;
		l->cap = cap;
	}
	it = &l->items[l->n++];
	copy_cut(it->id, sizeof it->id, id);
	copy_cut(it->kind, sizeof it->kind, kind);
	copy_cut(it->start, sizeof it->start, start);
	copy_cut(it->end, sizeof it->end, end);
	return RK_OK;
}

struct find_state {
	rk_register *r;
	rk_list *l;
	const char *field;
	const char *purpose;
	size_t pu;
	rk_status st;
};

static int find_one(void *ud, const char *subject_id, const char *pseudonym)
{
	struct find_state *fs = ud;
	audit_ev ev;
	int ex;
	size_t i;

	/* One subject may hold the same value twice (e-mail, phone). */
	for (i = 0; i < fs->l->n; i++)
		if (strcmp(fs->l->items[i].id, subject_id) == 0)
			return 0;
	ex = access_dm_excluded(fs->r, fs->pu, subject_id);

	if (ex < 0) {
		fs->st = ledger_err(ex);
		return 1;
	}
	if (ex > 0)
		return 0; /* marketing never sees who prohibited it */

	fs->st = list_push(fs->r, fs->l, subject_id, NULL, NULL, NULL);
	if (fs->st != RK_OK)
		return 1;
	audit_ev_set(&ev, fs->r, AUD_SUBJECT_FIND, pseudonym, fs->field,
		     fs->purpose, "ok");
	/* Queued only: the walk must not write while it reads. */
	fs->st = audit_queue(fs->r, &ev);
	return fs->st != RK_OK;
}

rk_status rk_subject_find(rk_register *r, const char *field, const char *value,
			  const char *purpose, rk_list **out)
{
	const policy *p = r->pol;
	struct find_state fs;
	char norm[REG_VALUE_MAX], today[11];
	unsigned char h[SEC_BIDX_BYTES];
	rk_list *l = NULL;
	size_t fi, pu = POL_NONE, nused = 1;
	unsigned mark;
	rk_status st;

	*out = NULL;
	norm[0] = '\0';
	fi = field == NULL ? POL_NONE : policy_field(p, field);
	if (fi == POL_NONE || !p->fields[fi].lookup) {
		st = reg_fail(r, RK_EINVAL,
			      "subjects are found by a lookup field of the "
			      "policy (email, phone, hetu, customer_number, "
			      "username)");
		goto out;
	}
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_FIND, NULL);
	if (st != RK_OK)
		return st;
	if (!policy_field_serves(p, fi, pu) ||
	    !access_sees_category(r, p->fields[fi].category)) {
		st = reg_fail(r, RK_EREFUSED,
			      "field %s does not serve purpose %s for this "
			      "role",
			      p->fields[fi].name, p->purposes[pu].name);
		goto out;
	}
	/* A masked HETU differs from the whole one by a few characters: a
	 * lookup per guess would recover it. */
	if (!access_sees_whole(r, fi)) {
		st = reg_fail(r, RK_EREFUSED,
			      "role %s sees field %s only masked, so it may "
			      "not look subjects up by it",
			      p->roles[r->role].name, p->fields[fi].name);
		goto out;
	}
	st = value_normalise_fit(r, &p->fields[fi], value == NULL ? "" : value,
				 norm, sizeof norm, &nused);
	if (st != RK_OK)
		goto out;
	sec_blind_index_ks(&r->kst_ikey, r->ikey, p->fields[fi].name, norm, h);
	l = calloc(1, sizeof *l);
	if (l == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	fs.r = r;
	fs.l = l;
	fs.field = p->fields[fi].name;
	fs.purpose = p->purposes[pu].name;
	fs.pu = pu;
	fs.st = RK_OK;
	st = audit_read_begin(r, &mark);
	if (st != RK_OK)
		goto out;
	reg_today(r, today);
	if (r->st->vt->bidx_find_live(r->st, p->fields[fi].name, h, today,
				      find_one, &fs) != 0) {
		st = reg_store_fail(r, "cannot search");
		goto out;
	}
	st = fs.st;
	/* The blind index was rebuilt by a key rotation elsewhere: look
	 * again with the new index key. */
	if (st == RK_OK && l->n == 0 && keys_refresh(r)) {
		sec_blind_index_ks(&r->kst_ikey, r->ikey, p->fields[fi].name,
				   norm, h);
		if (r->st->vt->bidx_find_live(r->st, p->fields[fi].name, h,
					      today, find_one, &fs) != 0) {
			st = reg_store_fail(r, "cannot search");
			goto out;
		}
		st = fs.st;
	}
	if (st == RK_OK && l->n == 0)
		st = reg_fail(r, RK_ENOTFOUND, "no subject matches");
	if (st == RK_OK)
		st = audit_read_end(r, mark);
	if (st == RK_OK) {
		*out = l;
		l = NULL;
	}
out:
	sec_wipe(norm, nused);
	if (st != RK_OK && st != RK_ESYS)
		reg_audit_attempt(r, AUD_SUBJECT_FIND, NULL,
				  pu == POL_NONE ? NULL : p->purposes[pu].name,
				  st);
	rk_list_free(l);
	return st;
}

/* ---- update and end --------------------------------------------------------
 */

/* A value an update's field held before: opened, so that a value sent
 * again unchanged is left as it is (its source, collection time, expiry
 * and confirmation with it) rather than written anew as collected now. */
struct old_value {
	int64_t rowid;
	unsigned char *pt;
	size_t ptlen;
	size_t field;
	int kept;
};

struct hidden_state {
	const char *purpose;
	size_t hidden;
	/* the values of the fields the update replaces */
	rk_register *r;
	const store_subject *sub;
	const unsigned char *dk;
	size_t field;
	struct old_value *old;
	size_t nold, capold;
	int failed;
};

static void old_values_free(struct hidden_state *hs)
{
	for (size_t i = 0; i < hs->nold; i++) {
		sec_wipe(hs->old[i].pt, hs->old[i].ptlen);
		free(hs->old[i].pt);
	}
	free(hs->old);
	hs->old = NULL;
	hs->nold = hs->capold = 0;
}

/* Counts a value the purpose does not show (its purposes lack it) and
 * keeps the others, opened. */
static int hidden_one(void *ud, const store_value *v)
{
	struct hidden_state *hs = ud;
	struct old_value *o;

	if (!csv_has(v->purposes, hs->purpose)) {
		hs->hidden++;
		return 0;
	}
	if (v->ctlen < SEC_SEAL_OVERHEAD)
		goto bad;
	if (hs->nold == hs->capold) {
		size_t cap = hs->capold ? 2 * hs->capold : 8;
		o = realloc(hs->old, cap * sizeof *o);
		if (o == NULL)
			goto bad;
		hs->old = o;
		hs->capold = cap;
	}
	o = &hs->old[hs->nold];
	o->ptlen = v->ctlen - SEC_SEAL_OVERHEAD;
	o->pt = malloc(o->ptlen + 1);
	if (o->pt == NULL)
		goto bad;
	if (sec_open(hs->dk, hs->sub->id, v->field, v->ct, v->ctlen, o->pt) !=
	    0) {
		free(o->pt);
		goto bad;
	}
	o->rowid = v->rowid;
	o->field = hs->field;
	o->kept = 0;
	hs->nold++;
	return 0;
bad:
	/* out of memory, or a value that does not open: the update stops */
	hs->failed = 1;
	return 1;
}

/* The first not yet kept old value of field fi equal to value, or NULL. */
static struct old_value *old_match(struct hidden_state *hs, size_t fi,
				   const char *value)
{
	size_t n = strlen(value);

	for (size_t i = 0; i < hs->nold; i++) {
		struct old_value *o = &hs->old[i];
		if (o->field == fi && !o->kept && o->ptlen == n &&
		    sec_memcmp(o->pt, value, n) == 0)
			return o;
	}
	return NULL;
}

rk_status rk_subject_update(rk_register *r, const char *id,
			    const rk_fields *fields, const char *source,
			    const char *purpose)
{
	const policy *p = r->pol;
	pendings ps = {NULL, 0};
	store_subject sub;
	unsigned char *dk = NULL;
	char names[NAMES_MAX] = "";
	size_t ki, i, j, k, pu = POL_NONE;
	struct hidden_state hs;
	rk_status st;

	memset(&hs, 0, sizeof hs);
	sub.pseudonym[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_UPDATE, id);
	if (st != RK_OK)
		return st;
	if (fields == NULL || fields->n == 0) {
		st = reg_fail(r, RK_EINVAL,
			      "nothing to update: give --field "
			      "NAME=VALUE");
		goto out;
	}
	st = check_source(r, source);
	if (st == RK_OK)
		st = validate(r, fields, 1, &ps);
	if (st != RK_OK)
		goto out;
	st = reg_begin_write(r);
	/* Marketing does not process a subject who prohibited it, not even
	 * to correct the data. */
	if (st == RK_OK)
		st = reg_subject_to_rectify(r, id, pu, &sub, &dk);
	/* The values are re-pinned after the change, kept ones and other
	 * fields' with them: one edited without the key must be caught
	 * first, not blessed. */
	if (st == RK_OK)
		st = integ_values_verify(r, &sub);
	if (st != RK_OK)
		goto out;
	/* Correcting a restricted subject is allowed; removing what it may
	 * need for a claim is not. */
	for (i = 0; i < ps.n; i++)
		if (ps.v[i].value == NULL) {
			int v = ledger_restricted(r, &sub);
			if (v < 0)
				st = ledger_err(v);
			else if (v > 0)
				st = reg_fail(r, RK_EREFUSED,
					      "the subject's processing is "
					      "restricted (GDPR Art. 18): its "
					      "values are corrected, not "
					      "removed, until the restriction "
					      "is lifted");
			if (st != RK_OK)
				goto out;
			break;
		}
	/* Everything is checked before the first change, so a refused
	 * update changes nothing (inside a bulk transaction too). */
	ki = policy_kind(p, sub.kind);
	for (i = 0; i < ps.n; i++) {
		size_t fi = ps.v[i].field;
		st = check_field_access(r, pu, fi);
		if (st == RK_OK && ps.v[i].value != NULL)
			st = check_field_kind(r, fi, ki);
		if (st == RK_OK && ps.v[i].value != NULL)
			st = check_field_consent(r, sub.id, fi);
		if (st != RK_OK)
			goto out;
		if (ps.v[i].value == NULL && ki != POL_NONE)
			for (k = 0; k < p->kinds[ki].nrequired; k++)
				if (p->kinds[ki].required[k] == fi) {
					st = reg_fail(r, RK_EINVAL,
						      "field %s is required "
						      "for a %s",
						      p->fields[fi].name,
						      sub.kind);
					goto out;
				}
	}
	/* A field's values are replaced whole: not one that this purpose
	 * does not show (stored for other purposes, say before a policy
	 * change), which the caller never saw. */
	hs.purpose = p->purposes[pu].name;
	hs.r = r;
	hs.sub = &sub;
	hs.dk = dk;
	for (i = 0; i < ps.n; i++) {
		size_t fi = ps.v[i].field;
		for (j = 0; j < i && ps.v[j].field != fi; j++)
			;
		if (j < i)
			continue;
		hs.field = fi;
		if (r->st->vt->value_list(r->st, sub.id, p->fields[fi].name,
					  hidden_one, &hs) != 0 ||
		    hs.failed) {
			st = hs.failed ? reg_fail(r, RK_EINTEGRITY,
						  "a value of field %s does "
						  "not open",
						  p->fields[fi].name)
				       : reg_store_fail(r, "cannot read the "
							   "values");
			goto out;
		}
		if (hs.hidden > 0) {
			st = reg_fail(r, RK_EREFUSED,
				      "field %s holds a value that purpose %s "
				      "does not show (it was collected for "
				      "other purposes): change it under a "
				      "purpose that shows it",
				      p->fields[fi].name, p->purposes[pu].name);
			goto out;
		}
	}
	/* The field's new values: one it holds already stays as it is, the
	 * others are written; then the old values not sent again go. */
	for (i = 0; i < ps.n; i++) {
		size_t fi = ps.v[i].field;
		struct old_value *o;
		for (j = 0; j < i && ps.v[j].field != fi; j++)
			;
		if (j == i)
			csv_add(names, sizeof names, p->fields[fi].name);
		if (ps.v[i].value == NULL)
			continue;
		o = old_match(&hs, fi, ps.v[i].value);
		if (o != NULL) {
			o->kept = 1;
			continue;
		}
		st = put_value(r, &sub, dk, ki, fi, ps.v[i].value, source);
		if (st != RK_OK)
			goto out;
	}
	for (i = 0; i < hs.nold; i++)
		if (!hs.old[i].kept &&
		    r->st->vt->value_delete_row(r->st, sub.id,
						hs.old[i].rowid) != 0) {
			st = reg_store_fail(r, "cannot update");
			goto out;
		}
	st = integ_subject_repin(r, &sub);
	if (st != RK_OK)
		goto out;
	st = reg_write_commit(r, AUD_SUBJECT_UPDATE, sub.pseudonym, names,
			      p->purposes[pu].name);
	/* The replaced values' pages leave the WAL now (best effort), so
	 * that no old value stays behind (secure_delete zeroes them in the
	 * database file). */
	if (st == RK_OK && !r->bulk)
		reg_wal_scrub(r);
out:
	if (st != RK_OK)
		reg_write_failed(r, AUD_SUBJECT_UPDATE,
				 sub.pseudonym[0] ? sub.pseudonym : NULL,
				 pu == POL_NONE ? NULL : p->purposes[pu].name,
				 st);
	sec_key_free(dk);
	pendings_free(&ps);
	old_values_free(&hs);
	return st;
}

/* ---- records follow the end of the relationship ---- */

struct rec_exp {
	int64_t id;
	char expires[11];
	unsigned char mac[SEC_HASH_BYTES];
};

struct follow_state {
	rk_register *r;
	const char *end;
	struct rec_exp *v;
	size_t n, cap;
	rk_status st;
};

static int follow_one(void *ud, const store_record *rec)
{
	struct follow_state *fs = ud;
	const policy *p = fs->r->pol;
	size_t ti = policy_record_type(p, rec->type), ri;
	store_record nr;
	char exp[11];

	ri = ti == POL_NONE ? POL_NONE : p->record_types[ti].retention;
	if (ri == POL_NONE || p->retention[ri].from != RET_RELATIONSHIP_END)
		return 0;
	reg_expiry(fs->r, ri, rec->created_at, fs->end, exp);
	if (strcmp(exp, rec->expires != NULL ? rec->expires : "") == 0)
		return 0;
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		struct rec_exp *nv = realloc(fs->v, cap * sizeof *nv);
		if (nv == NULL) {
			fs->st = reg_fail(fs->r, RK_ESYS, "out of memory");
			return 1;
		}
		fs->v = nv;
		fs->cap = cap;
	}
	/* The expiry is under the row's MAC: the new MAC is made here,
	 * while the row is at hand, and stored after the walk. */
	nr = *rec;
	nr.expires = exp[0] ? exp : NULL;
	fs->v[fs->n].id = rec->id;
	memcpy(fs->v[fs->n].expires, exp, sizeof exp);
	integ_record_mac(fs->r, &nr, fs->v[fs->n].mac);
	fs->n++;
	return 0;
}

/* Inside the write of an end (end "" when it is taken back): the expiry
 * of every record of sub whose rule runs from the end, re-MACed, and the
 * records' chain head in sub moved on (the caller repins the row). */
static rk_status records_follow_end(rk_register *r, store_subject *sub,
				    const char *end)
{
	struct follow_state fs;
	rk_status st;

	memset(&fs, 0, sizeof fs);
	fs.r = r;
	fs.end = end;
	fs.st = RK_OK;
	st = integ_records_walk(r, sub, NULL, follow_one, &fs);
	if (st == RK_OK)
		st = fs.st;
	for (size_t i = 0; st == RK_OK && i < fs.n; i++)
		if (r->st->vt->record_set_expiry(
			    r->st, fs.v[i].id,
			    fs.v[i].expires[0] ? fs.v[i].expires : NULL,
			    fs.v[i].mac) != 0)
			st = reg_store_fail(r, "cannot set a record's expiry");
	if (st == RK_OK && fs.n > 0)
		st = integ_records_repin(r, sub);
	free(fs.v);
	return st;
}

/* Records the end of the relationship (date NULL: today), corrects an end
 * recorded before (a date given again), or takes it back (undo): an end
 * given by mistake must not stand for ever, since it starts retention
 * periods that lead to erasure. */
static rk_status subject_end(rk_register *r, const char *id, const char *date,
			     int undo, const char *purpose)
{
	const policy *p = r->pol;
	audit_action action = undo ? AUD_SUBJECT_END_UNDO : AUD_SUBJECT_END;
	store_subject sub;
	char end[11] = "", exp[11], today[11];
	const char *why = NULL;
	size_t ki, fi, pu = POL_NONE;
	rk_status st;

	sub.pseudonym[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, action, id);
	if (st != RK_OK)
		return st;
	reg_today(r, today);
	if (undo)
		end[0] = '\0';
	else if (date == NULL)
		memcpy(end, today, sizeof end);
	else if (ident_date(date, end, sizeof end, &why) != 0)
		st = reg_fail(r, RK_EINVAL, "end date: %s", why);
	else if (strcmp(end, today) > 0)
		st = reg_fail(r, RK_EINVAL,
			      "the end date is in the future: record the end "
			      "when the relationship has ended");
	if (st == RK_OK)
		st = reg_begin_write(r);
	if (st == RK_OK)
		st = reg_load_subject(r, id, &sub);
	if (st == RK_OK)
		st = access_dm_check(r, pu, sub.id);
	/* The expiries change and the values digest is computed anew: the
	 * values must be the bound ones first. */
	if (st == RK_OK)
		st = integ_values_verify(r, &sub);
	if (st != RK_OK)
		goto out;
	if (undo && sub.rel_end[0] == '\0') {
		st = reg_fail(r, RK_EINVAL, "the relationship has not ended");
		goto out;
	}
	if (!undo && sub.rel_end[0] != '\0' && date == NULL) {
		st = reg_fail(r, RK_EINVAL,
			      "the relationship has ended already: give "
			      "--date to correct the date, or --undo if it "
			      "has not ended");
		goto out;
	}
	if (!undo && sub.rel_end[0] != '\0')
		action = AUD_SUBJECT_END_CHANGE;
	if (!undo && sub.rel_start[0] != '\0' &&
	    strcmp(end, sub.rel_start) < 0) {
		st = reg_fail(r, RK_EINVAL,
			      "the end date is before the relationship began");
		goto out;
	}
	if (r->st->vt->subject_set_end(r->st, sub.id, undo ? NULL : end) != 0) {
		st = reg_store_fail(r, "cannot record the end");
		goto out;
	}
	/* Retention periods that run from the end start now, move with a
	 * corrected end, and are open again when the end is taken back: for
	 * every field whose rule says so (a field without values changes no
	 * row). */
	ki = policy_kind(p, sub.kind);
	for (fi = 0; fi < p->nfields; fi++) {
		size_t ri = reg_value_rule(p, ki, fi);
		if (ri == POL_NONE ||
		    p->retention[ri].from != RET_RELATIONSHIP_END)
			continue;
		expiry_of(r, ki, fi, reg_now(r), end, exp);
		if (exp[0] == '\0' && !undo)
			continue;
		if (r->st->vt->value_set_expiry(r->st, sub.id,
						p->fields[fi].name,
						exp[0] ? exp : NULL) != 0) {
			st = reg_store_fail(r, "cannot set an expiry");
			goto out;
		}
	}
	/* Records whose rule runs from the end follow it the same way. */
	st = records_follow_end(r, &sub, end);
	if (st != RK_OK)
		goto out;
	memcpy(sub.rel_end, end, sizeof sub.rel_end);
	st = integ_subject_repin(r, &sub);
	if (st != RK_OK)
		goto out;
	st = reg_write_commit(r, action, sub.pseudonym, NULL,
			      p->purposes[pu].name);
out:
	if (st != RK_OK)
		reg_write_failed(
			r, action, sub.pseudonym[0] ? sub.pseudonym : NULL,
			pu == POL_NONE ? NULL : p->purposes[pu].name, st);
	return st;
}

rk_status rk_subject_end(rk_register *r, const char *id, const char *date,
			 const char *purpose)
{
	return subject_end(r, id, date, 0, purpose);
}

rk_status rk_subject_end_undo(rk_register *r, const char *id,
			      const char *purpose)
{
	return subject_end(r, id, NULL, 1, purpose);
}

/* ---- change of kind --------------------------------------------------------
 */

/* One stored value as a change of kind needs it. */
struct conv_val {
	int64_t rowid;
	size_t field; /* POL_NONE: a field the policy no longer has */
	int64_t collected_at;
	char expires[11];
};

struct conv_state {
	const policy *p;
	struct conv_val *v;
	size_t n, cap;
	sec_mac vd;
	int oom;
};

static int conv_one(void *ud, const store_value *v)
{
	struct conv_state *cs = ud;
	struct conv_val *cv;

	integ_values_add(&cs->vd, v);
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 16;
		struct conv_val *nv = realloc(cs->v, cap * sizeof *nv);
		if (nv == NULL) {
			cs->oom = 1;
			return 1;
		}
		cs->v = nv;
		cs->cap = cap;
	}
	cv = &cs->v[cs->n++];
	cv->rowid = v->rowid;
	cv->field = policy_field(cs->p, v->field);
	cv->collected_at = v->collected_at;
	cv->expires[0] = '\0';
	if (v->expires != NULL)
		snprintf(cv->expires, sizeof cv->expires, "%s", v->expires);
	return 0;
}

static int conv_has(const struct conv_state *cs, size_t fi)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (cs->v[i].field == fi)
			return 1;
	return 0;
}

rk_status rk_subject_convert(rk_register *r, const char *id, const char *kind,
			     unsigned flags, const char *purpose,
			     rk_convert_result *res)
{
	const policy *p = r->pol;
	struct conv_state cs;
	store_subject sub;
	unsigned char *dk = NULL;
	char names[NAMES_MAX] = "", dropped[NAMES_MAX] = "", exp[11];
	size_t nk, i, cn, pu = POL_NONE, changed = 0;
	int issued = 0;
	rk_status st;

	memset(&cs, 0, sizeof cs);
	cs.p = p;
	sub.pseudonym[0] = '\0';
	if (res != NULL)
		memset(res, 0, sizeof *res);
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_CONVERT, id);
	if (st != RK_OK)
		return st;
	nk = kind == NULL ? POL_NONE : policy_kind(p, kind);
	if (nk == POL_NONE) {
		for (i = 0; i < p->nkinds; i++)
			csv_add(names, sizeof names, p->kinds[i].name);
		st = reg_fail(r, RK_EINVAL,
			      "unknown kind of subject: the policy declares %s",
			      names);
		goto out;
	}
	st = reg_begin_write(r);
	if (st == RK_OK)
		st = reg_subject_for(r, id, pu, &sub, &dk);
	if (st != RK_OK)
		goto out;
	if (strcmp(sub.kind, p->kinds[nk].name) == 0) {
		st = reg_fail(r, RK_EINVAL, "the subject is a %s already",
			      p->kinds[nk].name);
		goto out;
	}
	/* The values as the subject row pins them. */
	integ_values_begin(r, sub.id, &cs.vd);
	if (r->st->vt->value_list(r->st, sub.id, NULL, conv_one, &cs) != 0 ||
	    cs.oom) {
		sec_wipe(&cs.vd, sizeof cs.vd);
		st = cs.oom ? reg_fail(r, RK_ESYS, "out of memory")
			    : reg_store_fail(r, "cannot read the values");
		goto out;
	}
	st = integ_values_end(r, &sub, &cs.vd);
	if (st != RK_OK)
		goto out;
	/* What the new kind may not hold (Tietosuojalaki 29 §: a HETU only
	 * where the policy needs it) is refused, or dropped when asked. */
	for (i = 0; i < cs.n; i++) {
		size_t fi = cs.v[i].field;
		if (fi != POL_NONE && !policy_field_kind_ok(p, fi, nk) &&
		    !csv_has(dropped, p->fields[fi].name))
			csv_add(dropped, sizeof dropped, p->fields[fi].name);
	}
	if (dropped[0] != '\0' && !(flags & RK_CONVERT_DROP_DISALLOWED)) {
		st = reg_fail(r, RK_EREFUSED,
			      "a %s may not hold field(s) %s: delete them "
			      "first, or convert with --drop-disallowed",
			      p->kinds[nk].name, dropped);
		goto out;
	}
	cn = issued_field(p);
	for (i = 0; i < p->kinds[nk].nrequired; i++) {
		size_t need = p->kinds[nk].required[i];
		if (need == cn && p->kinds[nk].customer_number)
			continue; /* issued below */
		if (!conv_has(&cs, need) ||
		    csv_has(dropped, p->fields[need].name)) {
			st = reg_fail(r, RK_EINVAL,
				      "field %s is required for a %s: add it "
				      "first",
				      p->fields[need].name, p->kinds[nk].name);
			goto out;
		}
	}
	for (i = 0; i < p->nfields; i++)
		if (csv_has(dropped, p->fields[i].name) &&
		    r->st->vt->value_delete_field(
			    r->st, sub.id, p->fields[i].name, NULL) != 0) {
			st = reg_store_fail(r, "cannot delete a value");
			goto out;
		}
	if (r->st->vt->subject_set_kind(r->st, sub.id, p->kinds[nk].name) !=
	    0) {
		st = reg_store_fail(r, "cannot change the subject's kind");
		goto out;
	}
	snprintf(sub.kind, sizeof sub.kind, "%s", p->kinds[nk].name);
	/* Each value's time under the new kind's rule, from when it was
	 * collected (or from the relationship's end), as add and end set it. */
	for (i = 0; i < cs.n; i++) {
		size_t fi = cs.v[i].field;
		if (fi == POL_NONE || csv_has(dropped, p->fields[fi].name))
			continue;
		expiry_of(r, nk, fi, cs.v[i].collected_at, sub.rel_end, exp);
		if (strcmp(exp, cs.v[i].expires) == 0)
			continue;
		if (r->st->vt->value_set_expiry_row(r->st, cs.v[i].rowid,
						    exp[0] ? exp : NULL) != 0) {
			st = reg_store_fail(r, "cannot set an expiry");
			goto out;
		}
		changed++;
	}
	snprintf(names, sizeof names, "kind:%s", p->kinds[nk].name);
	if (cn != POL_NONE && p->kinds[nk].customer_number &&
	    !conv_has(&cs, cn)) {
		char nbuf[24];
		st = issue_number(r, nbuf);
		if (st != RK_OK)
			goto out;
		st = put_value(r, &sub, dk, nk, cn, nbuf,
			       p->sources[p->fields[cn].source].name);
		if (st != RK_OK)
			goto out;
		csv_add(names, sizeof names, p->fields[cn].name);
		issued = 1;
	}
	for (i = 0; i < p->nfields; i++)
		if (csv_has(dropped, p->fields[i].name)) {
			char d[NAMES_MAX];
			snprintf(d, sizeof d, "dropped:%s", p->fields[i].name);
			csv_add(names, sizeof names, d);
		}
	/* The kind is under the row's MAC; the digest covers the expiries. */
	st = integ_subject_repin(r, &sub);
	if (st != RK_OK)
		goto out;
	st = reg_write_commit(r, AUD_SUBJECT_CONVERT, sub.pseudonym, names,
			      p->purposes[pu].name);
	if (st == RK_OK && dropped[0] != '\0' && !r->bulk)
		reg_wal_scrub(r);
	if (st == RK_OK && res != NULL) {
		res->customer_number_issued = issued;
		res->expiry_changed = changed;
		/* Names of fields: a list longer than the result holds is
		 * cut (the audit entry has it whole). */
		size_t n = strlen(dropped);
		if (n >= sizeof res->dropped)
			n = sizeof res->dropped - 1;
		memcpy(res->dropped, dropped, n);
		res->dropped[n] = '\0';
	}
out:
	if (st != RK_OK)
		reg_write_failed(r, AUD_SUBJECT_CONVERT,
				 sub.pseudonym[0] ? sub.pseudonym : NULL,
				 pu == POL_NONE ? NULL : p->purposes[pu].name,
				 st);
	free(cs.v);
	sec_key_free(dk);
	return st;
}

/* ---- list -----------------------------------------------------------------
 */

struct list_state {
	rk_register *r;
	rk_list *l;
	rk_status st;
};

static int list_one(void *ud, const store_subject *s)
{
	struct list_state *ls = ud;

	ls->st = integ_subject_check(ls->r, s);
	if (ls->st != RK_OK)
		return 1;
	ls->st = list_push(ls->r, ls->l, s->id, s->kind, s->rel_start,
			   s->rel_end);
	return ls->st != RK_OK;
}

rk_status rk_subject_list(rk_register *r, const char *kind,
			  const char *after_id, size_t limit, rk_list **out)
{
	struct list_state ls;
	rk_list *l;
	rk_status st;
	audit_ev ev;

	*out = NULL;
	/* No personal data, but who is in the register is processing too:
	 * for roles of the default purpose (customer relationship). */
	st = access_check(r, r->pol->settings.default_purpose, AUD_SUBJECT_LIST,
			  NULL);
	if (st != RK_OK)
		return st;
	if (kind != NULL && policy_kind(r->pol, kind) == POL_NONE)
		return reg_fail(r, RK_EINVAL, "unknown kind of subject");
	if (after_id != NULL && !reg_valid_id(after_id))
		return reg_fail(r, RK_EINVAL, "not a subject ID");
	l = calloc(1, sizeof *l);
	if (l == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	ls.r = r;
	ls.l = l;
	ls.st = RK_OK;
	if (r->st->vt->subject_list(r->st, kind, after_id, limit, list_one,
				    &ls) != 0) {
		st = reg_store_fail(r, "cannot list subjects");
		goto out;
	}
	st = ls.st;
	if (st != RK_OK)
		goto out;
	audit_ev_set(&ev, r, AUD_SUBJECT_LIST, NULL, NULL, NULL, "ok");
	st = audit_read(r, &ev);
out:
	if (st == RK_OK)
		*out = l;
	else
		rk_list_free(l);
	return st;
}

/* ---- passwords ------------------------------------------------------------
 */

struct pw_state {
	rk_register *r;
	const store_subject *sub;
	const unsigned char *dk;
	const char *password;
	const char *field;
	int matched, seen;
	sec_mac vd;
	rk_status st;
};

/* Walks every value (the digest needs them all) and checks the first
 * password of the field that matches; a later one is only counted. */
static int pw_one(void *ud, const store_value *v)
{
	struct pw_state *ps = ud;
	char hash[SEC_PWHASH_BYTES];
	size_t len;

	integ_values_add(&ps->vd, v);
	if (strcmp(v->field, ps->field) != 0 || ps->matched)
		return 0;

	if (v->ctlen < SEC_SEAL_OVERHEAD ||
	    v->ctlen - SEC_SEAL_OVERHEAD >= sizeof hash ||
	    sec_open(ps->dk, ps->sub->id, v->field, v->ct, v->ctlen,
		     (unsigned char *)hash) != 0) {
		ps->st = reg_fail(ps->r, RK_EINTEGRITY,
				  "a stored password hash does not decrypt");
		return 1;
	}
	len = v->ctlen - SEC_SEAL_OVERHEAD;
	hash[len] = '\0';
	ps->seen = 1;
	if (sec_pwverify(hash, ps->password) == 0)
		ps->matched = 1;
	sec_wipe(hash, sizeof hash);
	return 0;
}

rk_status rk_subject_check_password(rk_register *r, const char *id,
				    const char *field, const char *password,
				    const char *purpose)
{
	const policy *p = r->pol;
	struct pw_state ps;
	store_subject sub;
	unsigned char *dk = NULL;
	size_t fi, pu = POL_NONE;
	rk_status st;
	audit_ev ev;
	int reading = 0;

	sub.pseudonym[0] = '\0';
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_CHECK_PASSWORD, id);
	if (st != RK_OK)
		return st;
	fi = field == NULL ? POL_NONE : policy_field(p, field);
	if (fi == POL_NONE || p->fields[fi].type != PT_PASSWORD ||
	    password == NULL) {
		st = reg_fail(r, RK_EINVAL, "not a password field");
		goto out;
	}
	st = check_field_access(r, pu, fi);
	if (st != RK_OK)
		goto out;
	/* The subject row and its values from one snapshot: the row pins
	 * their digest. */
	st = reg_read_subject(r, id, pu, &sub, &dk, &reading);
	if (st != RK_OK)
		goto out;
	memset(&ps, 0, sizeof ps);
	ps.r = r;
	ps.sub = &sub;
	ps.dk = dk;
	ps.password = password;
	ps.field = p->fields[fi].name;
	integ_values_begin(r, sub.id, &ps.vd);
	if (r->st->vt->value_list(r->st, sub.id, NULL, pw_one, &ps) != 0) {
		st = reg_store_fail(r, "cannot read the password");
		sec_wipe(&ps.vd, sizeof ps.vd);
		goto out;
	}
	st = ps.st;
	if (st == RK_OK)
		st = integ_values_end(r, &sub, &ps.vd);
	else
		sec_wipe(&ps.vd, sizeof ps.vd);
	reg_end_read(r);
	reading = 0;
	if (st == RK_OK && !ps.seen)
		st = reg_fail(r, RK_ENOTFOUND, "no password is set");
	else if (st == RK_OK && !ps.matched)
		st = reg_fail(r, RK_EREFUSED, "the password does not match");
	if (st == RK_OK) {
		audit_ev_set(&ev, r, AUD_SUBJECT_CHECK_PASSWORD, sub.pseudonym,
			     p->fields[fi].name, p->purposes[pu].name, "ok");
		st = audit_read(r, &ev);
	}
out:
	if (reading)
		reg_end_read(r);
	if (st != RK_OK && st != RK_ESYS)
		reg_audit_attempt(r, AUD_SUBJECT_CHECK_PASSWORD,
				  sub.pseudonym[0] ? sub.pseudonym : NULL,
				  pu == POL_NONE ? NULL : p->purposes[pu].name,
				  st);
	sec_key_free(dk);
	return st;
}

/* ---- accessors ------------------------------------------------------------
 */

const char *rk_subject_id(const rk_subject *s)
{
	return s->id;
}

const char *rk_subject_kind(const rk_subject *s)
{
	return s->kind;
}

const char *rk_subject_purpose(const rk_subject *s)
{
	return s->purpose;
}

int64_t rk_subject_created_at(const rk_subject *s)
{
	return s->created_at;
}

const char *rk_subject_relationship_start(const rk_subject *s)
{
	return s->rel_start[0] ? s->rel_start : NULL;
}

const char *rk_subject_relationship_end(const rk_subject *s)
{
	return s->rel_end[0] ? s->rel_end : NULL;
}

size_t rk_subject_value_count(const rk_subject *s)
{
	return s->n;
}

const rk_value *rk_subject_value(const rk_subject *s, size_t i)
{
	return i < s->n ? &s->vals[i].pub : NULL;
}

char *rk_subject_json(const rk_subject *s)
{
	json_t *root, *fields, *rel;
	char *text = NULL;
	size_t i;

	root = json_object();
	fields = json_object();
	rel = json_object();
	if (root == NULL || fields == NULL || rel == NULL)
		goto out;
	json_object_set_new(root, "id", json_string(s->id));
	json_object_set_new(root, "kind", json_string(s->kind));
	json_object_set_new(root, "purpose", json_string(s->purpose));
	json_object_set_new(root, "created_at",
			    json_integer((json_int_t)s->created_at));
	json_object_set_new(rel, "start",
			    s->rel_start[0] ? json_string(s->rel_start)
					    : json_null());
	json_object_set_new(rel, "end",
			    s->rel_end[0] ? json_string(s->rel_end)
					  : json_null());
	json_object_set(root, "relationship", rel);
	for (i = 0; i < s->n; i++) {
		const rk_value *v = &s->vals[i].pub;
		json_t *arr = json_object_get(fields, v->field);
		json_t *o = json_object();
		if (o == NULL)
			goto out;
		if (arr == NULL) {
			arr = json_array();
			json_object_set_new(fields, v->field, arr);
		}
		json_object_set_new(o, "value", json_string(v->value));
		json_object_set_new(o, "category", json_string(v->category));
		json_object_set_new(o, "purposes", csv_json(v->purposes));
		json_object_set_new(o, "legal_basis",
				    json_string(v->legal_basis));
		json_object_set_new(o, "source", json_string(v->source));
		json_object_set_new(o, "collected_at",
				    json_integer((json_int_t)v->collected_at));
		json_object_set_new(o, "confirmed_at",
				    json_integer((json_int_t)v->confirmed_at));
		json_object_set_new(o, "expires",
				    v->expires ? json_string(v->expires)
					       : json_null());
		json_array_append_new(arr, o);
	}
	json_object_set(root, "fields", fields);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	/* The values were personal data: wipe Jansson's copies. */
	json_decref(rel);
	json_free_secret(fields);
	json_free_secret(root);
	return text;
}

void rk_subject_free(rk_subject *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		sec_wipe(s->vals[i].blk, s->vals[i].blen);
		free(s->vals[i].blk);
	}
	free(s->vals);
	free(s);
}

size_t rk_list_count(const rk_list *l)
{
	return l->n;
}

const char *rk_list_id(const rk_list *l, size_t i)
{
	return i < l->n ? l->items[i].id : NULL;
}

const char *rk_list_kind(const rk_list *l, size_t i)
{
	return i < l->n && l->items[i].kind[0] ? l->items[i].kind : NULL;
}

const char *rk_list_start(const rk_list *l, size_t i)
{
	return i < l->n && l->items[i].start[0] ? l->items[i].start : NULL;
}

const char *rk_list_end(const rk_list *l, size_t i)
{
	return i < l->n && l->items[i].end[0] ? l->items[i].end : NULL;
}

void rk_list_free(rk_list *l)
{
	if (l == NULL)
		return;
	free(l->items);
	free(l);
}

int rk_field_is_secret(const rk_register *r, const char *field)
{
	size_t fi = field == NULL ? POL_NONE : policy_field(r->pol, field);

	return fi != POL_NONE && r->pol->fields[fi].type == PT_PASSWORD;
}

/* ---- confirmation of values (the accuracy promise) ----------------------
 */

rk_status rk_subject_confirm(rk_register *r, const char *id,
			     const char *const *fields, size_t nfields,
			     const char *purpose, size_t *confirmed)
{
	const policy *p = r->pol;
	store_subject sub;
	char names[NAMES_MAX] = "", today[11];
	size_t pu = POL_NONE, total = 0;
	rk_status st;
	int open = 0;

	sub.pseudonym[0] = '\0';
	if (confirmed != NULL)
		*confirmed = 0;
	st = reg_resolve_purpose(r, purpose, &pu);
	if (st != RK_OK)
		goto out;
	st = access_check(r, pu, AUD_SUBJECT_CONFIRM, id);
	if (st != RK_OK)
		return st;
	if (nfields > 0 && fields == NULL) {
		st = reg_fail(r, RK_EINVAL, "no fields given");
		goto out;
	}
	/* Named fields are checked before anything changes. */
	for (size_t i = 0; i < nfields; i++) {
		size_t fi = policy_field(p, fields[i]);
		if (fi == POL_NONE) {
			st = reg_unknown_field(r, "field", p->fields,
					       p->nfields);
			goto out;
		}
		st = check_field_access(r, pu, fi);
		if (st != RK_OK)
			goto out;
	}
	reg_today(r, today);
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	open = 1;
	st = reg_load_subject(r, id, &sub);
	if (st == RK_OK)
		st = access_dm_check(r, pu, sub.id);
	/* The digest is made anew below: what it pins now must hold. */
	if (st == RK_OK)
		st = integ_values_verify(r, &sub);
	if (st != RK_OK)
		goto out;
	for (size_t fi = 0; fi < p->nfields; fi++) {
		int64_t n = 0;
		size_t k = 0;

		if (nfields > 0) {
			for (k = 0; k < nfields; k++)
				if (strcmp(fields[k], p->fields[fi].name) == 0)
					break;
			if (k == nfields)
				continue;
		} else if (!policy_field_serves(p, fi, pu) ||
			   !access_sees_category(r, p->fields[fi].category)) {
			continue; /* all: those this role may handle */
		}
		if (r->st->vt->value_confirm(r->st, sub.id, p->fields[fi].name,
					     reg_now(r), today, &n) != 0) {
			st = reg_store_fail(r, "cannot confirm");
			goto out;
		}
		if (n > 0) {
			total += (size_t)n;
			csv_add(names, sizeof names, p->fields[fi].name);
		}
	}
	if (total == 0) {
		st = reg_fail(r, RK_ENOTFOUND,
			      "the subject has no value to confirm%s",
			      nfields > 0 ? " in those fields" : "");
		goto out;
	}
	st = integ_subject_repin(r, &sub);
	if (st != RK_OK)
		goto out;
	st = reg_write_commit(r, AUD_SUBJECT_CONFIRM, sub.pseudonym, names,
			      p->purposes[pu].name);
	open = 0;
	if (st == RK_OK && confirmed != NULL)
		*confirmed = total;
out:
	if (open)
		reg_rollback(r);
	if (st != RK_OK)
		reg_audit_attempt(r, AUD_SUBJECT_CONFIRM,
				  sub.pseudonym[0] ? sub.pseudonym : NULL,
				  pu == POL_NONE ? NULL : p->purposes[pu].name,
				  st);
	return st;
}
