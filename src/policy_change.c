/*
 * policy_change.c: changing the policy the register enforces. A change is
 * a new notice version (the older ones are kept and stay renderable); the
 * diff says in words what changed; apply refuses what would orphan stored
 * data unless told what to do with it, and lists the subjects whose
 * consent was given under an older text of a scope whose text or reach
 * changed: they need to be asked again. Consents keep the version they
 * were given under (the ledger is never rewritten).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "integrity.h"
#include "notice.h"

#define BLOCKERS_SHOWN 3
#define REASON_MAX     1024

/* ---- comparing two policies ---- */

static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int text_eq(const pol_text *a, const pol_text *b)
{
	return str_eq(a->fi, b->fi) && str_eq(a->en, b->en);
}

static int named_eq(const pol_named *a, const pol_named *b)
{
	return text_eq(&a->label, &b->label) &&
	       text_eq(&a->description, &b->description) &&
	       str_eq(a->gdpr, b->gdpr) &&
	       text_eq(&a->interests, &b->interests) &&
	       a->provided_by_subject == b->provided_by_subject;
}

__attribute__((format(printf, 5, 6))) static void
note(json_t *arr, const char *item, const char *name, const char *change,
     const char *fmt, ...)
{
	char text[REASON_MAX];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:s, s:s, s:s}", "item", item, "name", name,
		      "change", change, "text", text);
	if (o != NULL)
		json_array_append_new(arr, o);
}

/* Names in a that b lacks, comma-separated, into out. */
static void names_missing(char *out, size_t cap, const char *const *a,
			  size_t na, const char *const *b, size_t nb)
{
	size_t i, k;

	out[0] = '\0';
	for (i = 0; i < na; i++) {
		int found = 0;
		for (k = 0; k < nb && !found; k++)
			found = strcmp(a[i], b[k]) == 0;
		if (!found)
			csv_add(out, cap, a[i]);
	}
}

/* What serves a purpose (by name): fields, record types, recipients. */
typedef struct reach {
	const char **v;
	size_t n;
} reach;

static void reach_of(const policy *p, size_t pu, reach *fields, reach *types,
		     reach *rcps)
{
	size_t i, k;

	fields->n = types->n = rcps->n = 0;
	for (i = 0; i < p->nfields; i++)
		if (policy_field_serves(p, i, pu))
			fields->v[fields->n++] = p->fields[i].name;
	for (i = 0; i < p->nrecord_types; i++)
		for (k = 0; k < p->record_types[i].npurposes; k++)
			if (p->record_types[i].purposes[k] == pu) {
				types->v[types->n++] = p->record_types[i].name;
				break;
			}
	for (i = 0; i < p->nrecipients; i++)
		for (k = 0; k < p->recipients[i].npurposes; k++)
			if (p->recipients[i].purposes[k] == pu) {
				rcps->v[rcps->n++] = p->recipients[i].name;
				break;
			}
}

typedef struct reaches {
	reach f, t, r;
} reaches;

static int reaches_alloc(reaches *x, const policy *p)
{
	x->f.v = calloc(p->nfields + 1, sizeof *x->f.v);
	x->t.v = calloc(p->nrecord_types + 1, sizeof *x->t.v);
	x->r.v = calloc(p->nrecipients + 1, sizeof *x->r.v);
	return x->f.v && x->t.v && x->r.v ? 0 : -1;
}

static void reaches_free(reaches *x)
{
	free(x->f.v);
	free(x->t.v);
	free(x->r.v);
}

/* How purpose name changed from o to n: 0 not at all, 1 widened or
 * reworded (a consent given for it no longer covers what it is used
 * for). When words is given, the changes are noted there. */
static int purpose_change(const policy *o, const policy *n, const char *name,
			  json_t *words)
{
	size_t po = policy_purpose(o, name), pn = policy_purpose(n, name);
	reaches a = {0}, b = {0};
	char wf[2048], wt[2048], wr[2048], nf[2048], nt[2048], nr[2048];
	int changed = 0;

	if (po == POL_NONE || pn == POL_NONE)
		return po != pn;
	if (!text_eq(&o->purposes[po].label, &n->purposes[pn].label) ||
	    !text_eq(&o->purposes[po].description,
		     &n->purposes[pn].description)) {
		changed = 1;
		if (words)
			note(words, "purpose", name, "reworded",
			     "purpose %s is described in new words", name);
	}
	if (reaches_alloc(&a, o) != 0 || reaches_alloc(&b, n) != 0) {
		reaches_free(&a);
		reaches_free(&b);
		return 1; /* cannot tell: count it as changed */
	}
	reach_of(o, po, &a.f, &a.t, &a.r);
	reach_of(n, pn, &b.f, &b.t, &b.r);
	names_missing(wf, sizeof wf, b.f.v, b.f.n, a.f.v, a.f.n);
	names_missing(wt, sizeof wt, b.t.v, b.t.n, a.t.v, a.t.n);
	names_missing(wr, sizeof wr, b.r.v, b.r.n, a.r.v, a.r.n);
	names_missing(nf, sizeof nf, a.f.v, a.f.n, b.f.v, b.f.n);
	names_missing(nt, sizeof nt, a.t.v, a.t.n, b.t.v, b.t.n);
	names_missing(nr, sizeof nr, a.r.v, a.r.n, b.r.v, b.r.n);
	if (wf[0] || wt[0] || wr[0]) {
		changed = 1;
		if (words)
			note(words, "purpose", name, "widened",
			     "purpose %s is widened:%s%s%s%s%s%s", name,
			     wf[0] ? " it now also uses the fields " : "", wf,
			     wt[0] ? "; it now also uses the record types "
				   : "",
			     wt, wr[0] ? "; data for it now also goes to " : "",
			     wr);
	}
	if (words && (nf[0] || nt[0] || nr[0]))
		note(words, "purpose", name, "narrowed",
		     "purpose %s is narrowed:%s%s%s%s%s%s", name,
		     nf[0] ? " it no longer uses the fields " : "", nf,
		     nt[0] ? "; it no longer uses the record types " : "", nt,
		     nr[0] ? "; data for it no longer goes to " : "", nr);
	reaches_free(&a);
	reaches_free(&b);
	return changed;
}

/* Whether a consent given in scope name under o covers less than the scope
 * means under n: its words, its purposes (and theirs) or the data that
 * needs it changed. */
static int scope_changed(const policy *o, const policy *n, const char *name)
{
	size_t so = policy_scope(o, name), sn = policy_scope(n, name), i, k;

	if (so == POL_NONE || sn == POL_NONE)
		return so != sn;
	if (!text_eq(&o->scopes[so].label, &n->scopes[sn].label) ||
	    !text_eq(&o->scopes[so].description, &n->scopes[sn].description))
		return 1;
	for (i = 0; i < n->scopes[sn].npurposes; i++) {
		const char *pname = n->purposes[n->scopes[sn].purposes[i]].name;
		int had = 0;
		for (k = 0; k < o->scopes[so].npurposes; k++)
			had |= strcmp(o->purposes[o->scopes[so].purposes[k]]
					      .name,
				      pname) == 0;
		if (!had || purpose_change(o, n, pname, NULL))
			return 1;
	}
	/* Data that newly rests on this consent. */
	for (i = 0; i < n->nfields; i++)
		if (n->fields[i].consent == sn) {
			size_t fo = policy_field(o, n->fields[i].name);
			if (fo == POL_NONE || o->fields[fo].consent != so)
				return 1;
		}
	for (i = 0; i < n->nrecord_types; i++)
		if (n->record_types[i].consent == sn) {
			size_t to =
				policy_record_type(o, n->record_types[i].name);
			if (to == POL_NONE || o->record_types[to].consent != so)
				return 1;
		}
	return 0;
}

static long period_days(const pol_retention *r)
{
	return (long)r->years * 365 + (long)r->months * 30 + r->days;
}

static void period_str(const pol_retention *r, char out[32])
{
	snprintf(out, 32, "P%dY%dM%dD", r->years, r->months, r->days);
}

static void retention_words(json_t *w, const char *item, const char *name,
			    const pol_retention *a, const pol_retention *b)
{
	char pa[32], pb[32];

	period_str(a, pa);
	period_str(b, pb);
	if (a->from != b->from)
		note(w, item, name, "changed",
		     "%s %s: the retention period now starts from another "
		     "event (%s %s, was %s %s)",
		     item, name, b->name, pb, a->name, pa);
	else if (period_days(b) < period_days(a))
		note(w, item, name, "shortened",
		     "%s %s: retention shortened from %s to %s", item, name, pa,
		     pb);
	else if (period_days(b) > period_days(a))
		note(w, item, name, "lengthened",
		     "%s %s: retention lengthened from %s to %s", item, name,
		     pa, pb);
}

/* Added, removed and reworded items of one kind, by name. */
static void named_words(json_t *w, const char *item, const pol_named *a,
			size_t na, const pol_named *b, size_t nb)
{
	size_t i, k;

	for (i = 0; i < nb; i++) {
		for (k = 0; k < na && strcmp(a[k].name, b[i].name) != 0; k++)
			;
		if (k == na)
			note(w, item, b[i].name, "added", "new %s %s", item,
			     b[i].name);
		else if (!named_eq(&a[k], &b[i]))
			note(w, item, b[i].name, "reworded",
			     "%s %s is described in new words", item,
			     b[i].name);
	}
	for (i = 0; i < na; i++) {
		for (k = 0; k < nb && strcmp(a[i].name, b[k].name) != 0; k++)
			;
		if (k == nb)
			note(w, item, a[i].name, "removed", "%s %s removed",
			     item, a[i].name);
	}
}

static void purposes_csv(const policy *p, const size_t *v, size_t n,
			 const char **out, size_t *nout)
{
	for (size_t i = 0; i < n; i++)
		out[i] = p->purposes[v[i]].name;
	*nout = n;
}

/* The purposes a field or record type gained or lost. */
static void purpose_set_words(json_t *w, const char *item, const char *name,
			      const policy *o, const size_t *vo, size_t no,
			      const policy *n, const size_t *vn, size_t nn)
{
	const char *a[256], *b[256];
	size_t na, nb;
	char more[2048], less[2048];

	if (no > 256 || nn > 256)
		return;
	purposes_csv(o, vo, no, a, &na);
	purposes_csv(n, vn, nn, b, &nb);
	names_missing(more, sizeof more, b, nb, a, na);
	names_missing(less, sizeof less, a, na, b, nb);
	if (more[0])
		note(w, item, name, "widened", "%s %s is now also used for %s",
		     item, name, more);
	if (less[0])
		note(w, item, name, "narrowed",
		     "%s %s is no longer used for %s", item, name, less);
}

static void diff_words(const policy *o, const policy *n, json_t *w)
{
	size_t i, k;

	if (!str_eq(o->controller.name, n->controller.name) ||
	    !str_eq(o->controller.address, n->controller.address) ||
	    !str_eq(o->controller.business_id, n->controller.business_id) ||
	    !str_eq(o->controller.email, n->controller.email))
		note(w, "controller", "controller", "changed",
		     "the controller's details changed");
	if (!str_eq(o->responsible.name, n->responsible.name) ||
	    !str_eq(o->responsible.email, n->responsible.email))
		note(w, "responsible", "responsible", "changed",
		     "the person responsible for register matters changed");
	if (!text_eq(&o->register_name, &n->register_name))
		note(w, "register_name", "register_name", "reworded",
		     "the register's name changed");
	if (o->supervisory.present != n->supervisory.present ||
	    !text_eq(&o->supervisory.name, &n->supervisory.name) ||
	    !str_eq(o->supervisory.address, n->supervisory.address) ||
	    !str_eq(o->supervisory.url, n->supervisory.url))
		note(w, "supervisory_authority", "supervisory_authority",
		     "changed", "the supervisory authority's details changed");
	/* Purposes: added, removed, then how each kept one changed. */
	for (i = 0; i < n->npurposes; i++)
		if (policy_purpose(o, n->purposes[i].name) == POL_NONE)
			note(w, "purpose", n->purposes[i].name, "added",
			     "new purpose %s", n->purposes[i].name);
	for (i = 0; i < o->npurposes; i++)
		if (policy_purpose(n, o->purposes[i].name) == POL_NONE)
			note(w, "purpose", o->purposes[i].name, "removed",
			     "purpose %s removed", o->purposes[i].name);
	for (i = 0; i < n->npurposes; i++)
		(void)purpose_change(o, n, n->purposes[i].name, w);
	named_words(w, "legal basis", o->bases, o->nbases, n->bases, n->nbases);
	named_words(w, "source", o->sources, o->nsources, n->sources,
		    n->nsources);
	named_words(w, "category", o->categories, o->ncategories, n->categories,
		    n->ncategories);
	named_words(w, "objection", o->objections, o->nobjections,
		    n->objections, n->nobjections);
	/* Fields. */
	for (i = 0; i < n->nfields; i++) {
		const pol_field *b = &n->fields[i];
		size_t fo = policy_field(o, b->name);
		const pol_field *a;

		if (fo == POL_NONE) {
			note(w, "field", b->name, "added", "new field %s",
			     b->name);
			continue;
		}
		a = &o->fields[fo];
		if (a->type != b->type)
			note(w, "field", b->name, "changed",
			     "field %s changes type from %s to %s", b->name,
			     policy_type_name(a->type),
			     policy_type_name(b->type));
		purpose_set_words(w, "field", b->name, o, a->purposes,
				  a->npurposes, n, b->purposes, b->npurposes);
		if (strcmp(o->bases[a->basis].name, n->bases[b->basis].name))
			note(w, "field", b->name, "changed",
			     "field %s now rests on legal basis %s (was %s)",
			     b->name, n->bases[b->basis].name,
			     o->bases[a->basis].name);
		retention_words(w, "field", b->name,
				&o->retention[a->retention],
				&n->retention[b->retention]);
		if (!text_eq(&a->label, &b->label) ||
		    !text_eq(&a->description, &b->description))
			note(w, "field", b->name, "reworded",
			     "field %s is described in new words", b->name);
	}
	for (i = 0; i < o->nfields; i++)
		if (policy_field(n, o->fields[i].name) == POL_NONE)
			note(w, "field", o->fields[i].name, "removed",
			     "field %s removed", o->fields[i].name);
	/* Record types. */
	for (i = 0; i < n->nrecord_types; i++) {
		const pol_record_type *b = &n->record_types[i];
		size_t to = policy_record_type(o, b->name);
		const pol_record_type *a;

		if (to == POL_NONE) {
			note(w, "record type", b->name, "added",
			     "new record type %s", b->name);
			continue;
		}
		a = &o->record_types[to];
		purpose_set_words(w, "record type", b->name, o, a->purposes,
				  a->npurposes, n, b->purposes, b->npurposes);
		if (strcmp(o->bases[a->basis].name, n->bases[b->basis].name))
			note(w, "record type", b->name, "changed",
			     "record type %s now rests on legal basis %s (was "
			     "%s)",
			     b->name, n->bases[b->basis].name,
			     o->bases[a->basis].name);
		retention_words(w, "record type", b->name,
				&o->retention[a->retention],
				&n->retention[b->retention]);
		for (k = 0; k < b->nfields; k++)
			if (policy_record_field(a, b->fields[k].name) ==
			    POL_NONE)
				note(w, "record type", b->name, "widened",
				     "record type %s has a new field %s",
				     b->name, b->fields[k].name);
		for (k = 0; k < a->nfields; k++)
			if (policy_record_field(b, a->fields[k].name) ==
			    POL_NONE)
				note(w, "record type", b->name, "narrowed",
				     "record type %s no longer has field %s",
				     b->name, a->fields[k].name);
	}
	for (i = 0; i < o->nrecord_types; i++)
		if (policy_record_type(n, o->record_types[i].name) == POL_NONE)
			note(w, "record type", o->record_types[i].name,
			     "removed", "record type %s removed",
			     o->record_types[i].name);
	/* Retention rules themselves. */
	for (i = 0; i < n->nretention; i++) {
		size_t ro = policy_retention(o, n->retention[i].name);
		if (ro == POL_NONE)
			note(w, "retention rule", n->retention[i].name, "added",
			     "new retention rule %s", n->retention[i].name);
		else
			retention_words(w, "retention rule",
					n->retention[i].name, &o->retention[ro],
					&n->retention[i]);
	}
	for (i = 0; i < o->nretention; i++)
		if (policy_retention(n, o->retention[i].name) == POL_NONE)
			note(w, "retention rule", o->retention[i].name,
			     "removed", "retention rule %s removed",
			     o->retention[i].name);
	/* Consent scopes. */
	for (i = 0; i < n->nscopes; i++) {
		const pol_scope *b = &n->scopes[i];
		size_t so = policy_scope(o, b->name);
		if (so == POL_NONE) {
			note(w, "consent scope", b->name, "added",
			     "new consent scope %s", b->name);
			continue;
		}
		purpose_set_words(
			w, "consent scope", b->name, o, o->scopes[so].purposes,
			o->scopes[so].npurposes, n, b->purposes, b->npurposes);
		if (!text_eq(&o->scopes[so].label, &b->label) ||
		    !text_eq(&o->scopes[so].description, &b->description))
			note(w, "consent scope", b->name, "reworded",
			     "consent scope %s is described in new words",
			     b->name);
	}
	for (i = 0; i < o->nscopes; i++)
		if (policy_scope(n, o->scopes[i].name) == POL_NONE)
			note(w, "consent scope", o->scopes[i].name, "removed",
			     "consent scope %s removed", o->scopes[i].name);
	/* Subject kinds. */
	for (i = 0; i < n->nkinds; i++)
		if (policy_kind(o, n->kinds[i].name) == POL_NONE)
			note(w, "subject kind", n->kinds[i].name, "added",
			     "new subject kind %s", n->kinds[i].name);
	for (i = 0; i < o->nkinds; i++)
		if (policy_kind(n, o->kinds[i].name) == POL_NONE)
			note(w, "subject kind", o->kinds[i].name, "removed",
			     "subject kind %s removed", o->kinds[i].name);
	/* Recipients and the countries data goes to. */
	for (i = 0; i < n->nrecipients; i++) {
		const pol_recipient *b = &n->recipients[i];
		size_t ro = policy_recipient(o, b->name);
		int known = 0;

		for (k = 0; k < o->nrecipients; k++)
			known |= strcmp(o->recipients[k].country, b->country) ==
				 0;
		if (!known)
			note(w, "country", b->country, "added",
			     "personal data now goes to a new country, %s "
			     "(recipient %s)",
			     b->country, b->name);
		if (ro == POL_NONE) {
			note(w, "recipient", b->name, "added",
			     "new recipient %s in %s", b->name, b->country);
			continue;
		}
		if (strcmp(o->recipients[ro].country, b->country) != 0)
			note(w, "recipient", b->name, "changed",
			     "recipient %s is now in %s (was %s)", b->name,
			     b->country, o->recipients[ro].country);
		if (!str_eq(o->recipients[ro].safeguard, b->safeguard))
			note(w, "recipient", b->name, "changed",
			     "recipient %s: the transfer safeguard changed",
			     b->name);
		purpose_set_words(w, "recipient", b->name, o,
				  o->recipients[ro].purposes,
				  o->recipients[ro].npurposes, n, b->purposes,
				  b->npurposes);
	}
	for (i = 0; i < o->nrecipients; i++)
		if (policy_recipient(n, o->recipients[i].name) == POL_NONE)
			note(w, "recipient", o->recipients[i].name, "removed",
			     "recipient %s removed", o->recipients[i].name);
	/* Roles. */
	for (i = 0; i < n->nroles; i++) {
		size_t ro = policy_role(o, n->roles[i].name);
		if (ro == POL_NONE)
			note(w, "role", n->roles[i].name, "added",
			     "new role %s", n->roles[i].name);
		else
			purpose_set_words(
				w, "role", n->roles[i].name, o,
				o->roles[ro].purposes, o->roles[ro].npurposes,
				n, n->roles[i].purposes, n->roles[i].npurposes);
	}
	for (i = 0; i < o->nroles; i++)
		if (policy_role(n, o->roles[i].name) == POL_NONE)
			note(w, "role", o->roles[i].name, "removed",
			     "role %s removed", o->roles[i].name);
	/* The notice's prose and the rights it states. */
	for (i = 0; i < n->nsections; i++) {
		for (k = 0; k < o->nsections &&
			    strcmp(o->sections[k].key, n->sections[i].key);
		     k++)
			;
		if (k == o->nsections)
			note(w, "notice section", n->sections[i].key, "added",
			     "new notice section %s", n->sections[i].key);
		else if (!text_eq(&o->sections[k].title,
				  &n->sections[i].title) ||
			 !text_eq(&o->sections[k].body, &n->sections[i].body))
			note(w, "notice section", n->sections[i].key,
			     "reworded", "notice section %s is reworded",
			     n->sections[i].key);
	}
	for (i = 0; i < o->nsections; i++) {
		for (k = 0; k < n->nsections &&
			    strcmp(o->sections[i].key, n->sections[k].key);
		     k++)
			;
		if (k == n->nsections)
			note(w, "notice section", o->sections[i].key, "removed",
			     "notice section %s removed", o->sections[i].key);
	}
	for (i = 0; i < PR_COUNT; i++)
		if (!text_eq(&o->rights[i], &n->rights[i]))
			note(w, "right", policy_right_names[i],
			     n->rights[i].fi
				     ? (o->rights[i].fi ? "reworded" : "added")
				     : "removed",
			     "the notice's text on the right %s changed",
			     policy_right_names[i]);
}

/* ---- what stored data would be orphaned ---- */

/* One blocker when stored rows use name: "<item> <name> <verb> <n>
 * <what>". */
static rk_status blocker(rk_register *r, json_t *bl, enum store_use use,
			 const char *item, const char *name, const char *verb,
			 const char *what)
{
	int64_t n = 0;
	char text[REASON_MAX];
	json_t *o;

	if (r->st->vt->usage_count(r->st, use, name, &n) != 0)
		return reg_store_fail(r, "cannot count the stored data");
	if (n == 0)
		return RK_OK;
	snprintf(text, sizeof text, "%s %s %s %lld %s", item, name, verb,
		 (long long)n, what);
	o = json_pack("{s:s, s:s, s:I, s:s}", "item", item, "name", name,
		      "count", (json_int_t)n, "text", text);
	if (o != NULL)
		json_array_append_new(bl, o);
	return RK_OK;
}

static int dropping(const char *const *drop, size_t ndrop, const char *f)
{
	for (size_t i = 0; i < ndrop; i++)
		if (strcmp(drop[i], f) == 0)
			return 1;
	return 0;
}

/* Removed items that stored rows still use (fields in drop excepted: the
 * caller deleted their values first). */
static rk_status find_blockers(rk_register *r, const policy *o, const policy *n,
			       const char *const *drop, size_t ndrop,
			       json_t *bl)
{
	rk_status st = RK_OK;
	size_t i;

	for (i = 0; st == RK_OK && i < o->nfields; i++) {
		const char *f = o->fields[i].name;
		size_t fn = policy_field(n, f);
		if (fn == POL_NONE && !dropping(drop, ndrop, f))
			st = blocker(r, bl, STORE_USE_FIELD, "field", f,
				     "is removed but holds",
				     "values (--drop-field deletes them)");
		else if (fn != POL_NONE &&
			 n->fields[fn].type != o->fields[i].type)
			st = blocker(r, bl, STORE_USE_FIELD, "field", f,
				     "changes type but holds",
				     "values of the old type");
	}
	/* Every other kind of name the same way: removed, yet stored rows use
	 * it. */
#define REMOVED(arr, cnt, find, use, item, what)                               \
	for (i = 0; st == RK_OK && i < o->cnt; i++) {                          \
		if (find(n, o->arr[i].name) == POL_NONE)                       \
			st = blocker(r, bl, use, item, o->arr[i].name,         \
				     "is removed but has", what);              \
	}
	REMOVED(record_types, nrecord_types, policy_record_type,
		STORE_USE_RECORD_TYPE, "record type", "records")
	REMOVED(scopes, nscopes, policy_scope, STORE_USE_SCOPE, "consent scope",
		"ledger entries")
	REMOVED(objections, nobjections, policy_objection, STORE_USE_OBJECTION,
		"objection", "ledger entries")
	REMOVED(kinds, nkinds, policy_kind, STORE_USE_KIND, "subject kind",
		"subjects")
	REMOVED(roles, nroles, policy_role, STORE_USE_ROLE, "role",
		"active actors")
	REMOVED(purposes, npurposes, policy_purpose, STORE_USE_PURPOSE,
		"purpose", "stored values and records")
	REMOVED(bases, nbases, policy_basis, STORE_USE_BASIS, "legal basis",
		"stored values and records")
	REMOVED(sources, nsources, policy_source, STORE_USE_SOURCE, "source",
		"stored values and records")
#undef REMOVED
	return st;
}

/* ---- whom a change affects ---- */

struct affect {
	json_t *consents; /* [{"subject", "scope", "given_under"}] */
	json_t *seen;	  /* subject IDs as keys */
	const char *scope;
	int before; /* a live consent under a version before this is stale */
	char cur[33];
	int given, version;
	int failed;
};

static void affect_flush(struct affect *a)
{
	json_t *o;

	if (a->cur[0] != '\0' && a->given && a->version < a->before) {
		o = json_pack("{s:s, s:s, s:i}", "subject", a->cur, "scope",
			      a->scope, "given_under", a->version);
		if (o == NULL || json_array_append_new(a->consents, o) != 0 ||
		    json_object_set_new(a->seen, a->cur, json_true()) != 0)
			a->failed = 1;
	}
	a->cur[0] = '\0';
}

/* Entries come by subject, then in order: the last one of a subject is its
 * current state. */
static int affect_entry(void *ud, const store_consent *c)
{
	struct affect *a = ud;

	if (strcmp(a->cur, c->subject_id) != 0) {
		affect_flush(a);
		snprintf(a->cur, sizeof a->cur, "%s", c->subject_id);
	}
	a->given = c->given;
	a->version = c->policy_version;
	return 0;
}

static rk_status affect_scope(rk_register *r, struct affect *a,
			      const char *scope, int before)
{
	a->scope = scope;
	a->before = before;
	a->cur[0] = '\0';
	if (r->st->vt->scope_walk(r->st, scope, 0, affect_entry, a) != 0)
		return reg_store_fail(r, "cannot read the consent ledger");
	affect_flush(a);
	if (a->failed)
		return reg_fail(r, RK_ESYS, "out of memory");
	return RK_OK;
}

static json_t *affect_result(struct affect *a)
{
	json_t *ids = json_array(), *v;
	const char *k;
	json_t *res;

	if (ids == NULL)
		return NULL;
	json_object_foreach(a->seen, k, v)
	{
		(void)v;
		json_array_append_new(ids, json_string(k));
	}
	res = json_pack("{s:o, s:O}", "subjects", ids, "consents", a->consents);
	return res;
}

static int affect_init(struct affect *a)
{
	memset(a, 0, sizeof *a);
	a->consents = json_array();
	a->seen = json_object();
	return a->consents && a->seen ? 0 : -1;
}

static void affect_free(struct affect *a)
{
	json_decref(a->consents);
	json_decref(a->seen);
}

/* ---- the verbs ---- */

static void diag_count(void *ud, const char *file, int line, int column,
		       const char *message)
{
	(void)file;
	(void)line;
	(void)column;
	(void)message;
	++*(int *)ud;
}

/* The file's policy and text, or RK_EINVAL naming the number of problems. */
static rk_status load_new(rk_register *r, const char *path, policy **p,
			  char **text)
{
	int problems = 0;

	*p = policy_load_file(path, diag_count, &problems, text);
	if (*p == NULL) {
		free(*text);
		*text = NULL;
		return reg_fail(r, RK_EINVAL,
				"the new policy has %d problem%s: see "
				"rekisteri policy check",
				problems, problems == 1 ? "" : "s");
	}
	return RK_OK;
}

/* The current stored policy, checked against its MAC. */
static rk_status load_current(rk_register *r, policy **p, char **text,
			      int *version)
{
	int64_t stored;
	int current;
	rk_status st =
		notice_load_version(r, 0, text, version, &stored, &current);

	if (st != RK_OK)
		return st;
	*p = policy_parse(*text, strlen(*text), "stored policy", NULL, NULL);
	if (*p == NULL) {
		free(*text);
		*text = NULL;
		return reg_fail(r, RK_EINTEGRITY,
				"the stored policy does not load");
	}
	return RK_OK;
}

static json_t *diff_doc(int from, const policy *o, const policy *n,
			int unchanged)
{
	json_t *doc = json_pack("{s:i, s:i, s:[], s:[], s:b}", "from_version",
				from, "to_version", from + 1, "changes",
				"blockers", "unchanged", unchanged);

	if (doc != NULL && !unchanged)
		diff_words(o, n, json_object_get(doc, "changes"));
	return doc;
}

rk_status rk_policy_diff(rk_register *r, const char *path, char **json_out)
{
	policy *o = NULL, *n = NULL;
	char *otext = NULL, *ntext = NULL;
	json_t *doc = NULL;
	int v = 0;
	rk_status st;

	if (json_out == NULL)
		return RK_EINVAL;
	*json_out = NULL;
	if (r == NULL || r->st == NULL || path == NULL)
		return RK_EINVAL;
	st = access_admin(r, AUD_POLICY_DIFF, "compare policies");
	if (st != RK_OK)
		return st;
	st = load_new(r, path, &n, &ntext);
	if (st != RK_OK)
		return st;
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	st = load_current(r, &o, &otext, &v);
	if (st == RK_OK) {
		doc = diff_doc(v, o, n, strcmp(otext, ntext) == 0);
		if (doc == NULL)
			st = reg_fail(r, RK_ESYS, "out of memory");
	}
	if (st == RK_OK)
		st = find_blockers(r, o, n, NULL, 0,
				   json_object_get(doc, "blockers"));
	reg_end_read(r);
	if (st == RK_OK)
		st = reg_json_out(r, doc, json_out);
out:
	json_decref(doc);
	policy_free(o);
	policy_free(n);
	free(otext);
	free(ntext);
	return st;
}

struct ids {
	char (*v)[33];
	size_t n, cap;
	int oom;
};

static int collect_id(void *ud, const char *id, const char *pseudonym)
{
	struct ids *x = ud;

	(void)pseudonym;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		void *nv = realloc(x->v, cap * sizeof *x->v);
		if (nv == NULL) {
			x->oom = 1;
			return 1;
		}
		x->v = nv;
		x->cap = cap;
	}
	snprintf(x->v[x->n++], 33, "%s", id);
	return 0;
}

/* Deletes every value of removed field f, subject by subject, each change
 * re-pinned and audited. */
static rk_status drop_field(rk_register *r, const char *f)
{
	struct ids x = {0};
	store_subject sub;
	audit_ev ev;
	char fields[96];
	rk_status st = RK_OK;

	if (r->st->vt->field_subjects(r->st, f, collect_id, &x) != 0) {
		st = reg_store_fail(r, "cannot find the field's values");
		goto out;
	}
	if (x.oom) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	snprintf(fields, sizeof fields, "dropped:%s", f);
	for (size_t i = 0; st == RK_OK && i < x.n; i++) {
		st = reg_load_subject(r, x.v[i], &sub);
		/* The digest is computed anew after the delete: the values
		 * that stay must be the bound ones. */
		if (st == RK_OK)
			st = integ_values_verify(r, &sub);
		if (st != RK_OK)
			break;
		if (r->st->vt->value_delete_field(r->st, sub.id, f, NULL) !=
		    0) {
			st = reg_store_fail(r, "cannot delete a value");
			break;
		}
		st = integ_subject_repin(r, &sub);
		if (st != RK_OK)
			break;
		audit_ev_set(&ev, r, AUD_POLICY_DROP_FIELD, sub.pseudonym,
			     fields, NULL, "ok");
		st = audit_write(r, &ev);
	}
out:
	free(x.v);
	return st;
}

rk_status rk_policy_apply(rk_register *r, const char *path,
			  const char *const *drop, size_t ndrop,
			  char **json_out)
{
	policy *o = NULL, *n = NULL;
	char *otext = NULL, *ntext = NULL, fields[64];
	json_t *doc = NULL, *bl, *aff = NULL;
	struct affect a;
	int v = 0, committed = 0;
	size_t i;
	rk_status st;

	if (json_out != NULL)
		*json_out = NULL;
	if (r == NULL || r->st == NULL || path == NULL ||
	    (ndrop > 0 && drop == NULL))
		return RK_EINVAL;
	if (affect_init(&a) != 0) {
		affect_free(&a);
		return reg_fail(r, RK_ESYS, "out of memory");
	}
	st = access_admin(r, AUD_POLICY_APPLY, "change the policy");
	if (st != RK_OK)
		goto out;
	st = load_new(r, path, &n, &ntext);
	if (st != RK_OK)
		goto out;
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	st = load_current(r, &o, &otext, &v);
	if (st != RK_OK)
		goto out;
	for (i = 0; i < ndrop; i++)
		if (drop[i] == NULL || policy_field(o, drop[i]) == POL_NONE ||
		    policy_field(n, drop[i]) != POL_NONE) {
			st = reg_fail(r, RK_EINVAL,
				      "--drop-field names a field that the "
				      "new policy removes; the %s one does "
				      "not",
				      drop[i] == NULL ? "empty" : "given");
			goto out;
		}
	doc = diff_doc(v, o, n, strcmp(otext, ntext) == 0);
	if (doc == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (strcmp(otext, ntext) == 0) {
		st = reg_fail(r, RK_EINVAL,
			      "the policy is the same as notice version %d: "
			      "nothing to apply",
			      v);
		goto out;
	}
	for (i = 0; st == RK_OK && i < ndrop; i++)
		st = drop_field(r, drop[i]);
	if (st != RK_OK)
		goto out;
	bl = json_object_get(doc, "blockers");
	st = find_blockers(r, o, n, drop, ndrop, bl);
	if (st != RK_OK)
		goto out;
	if (json_array_size(bl) > 0) {
		char why[REASON_MAX * 2] = "";
		size_t at = 0;
		for (i = 0; i < json_array_size(bl) && i < BLOCKERS_SHOWN;
		     i++) {
			int w = snprintf(
				why + at, sizeof why - at, "%s%s",
				i ? "; " : "",
				json_string_value(json_object_get(
					json_array_get(bl, i), "text")));
			if (w < 0 || (size_t)w >= sizeof why - at)
				break;
			at += (size_t)w;
		}
		st = reg_fail(r, RK_EREFUSED,
			      "the new policy would orphan stored data: %s%s",
			      why,
			      json_array_size(bl) > BLOCKERS_SHOWN
				      ? "; and more (see policy diff)"
				      : "");
		goto out;
	}
	/* Every version keeps a MAC of its own; the newest is also pinned
	 * as the policy the register enforces. */
	st = notice_pin_version(r, v, otext);
	if (st == RK_OK &&
	    r->st->vt->policy_put(r->st, v + 1, ntext, reg_now(r)) != 0)
		st = reg_store_fail(r, "cannot store the policy");
	if (st == RK_OK)
		st = notice_pin_version(r, v + 1, ntext);
	if (st == RK_OK)
		st = integ_policy_pin(r, v + 1, ntext);
	for (i = 0; st == RK_OK && i < n->nscopes; i++)
		if (scope_changed(o, n, n->scopes[i].name))
			st = affect_scope(r, &a, n->scopes[i].name, v + 1);
	if (st != RK_OK)
		goto out;
	snprintf(fields, sizeof fields, "version:%d", v + 1);
	st = reg_write_commit(r, AUD_POLICY_APPLY, NULL, fields, NULL);
	if (st != RK_OK)
		goto out;
	committed = 1;
	/* The handle enforces the new policy from here on. */
	st = reg_reload_policy(r);
	if (st != RK_OK)
		goto out;
	aff = affect_result(&a);
	if (aff == NULL || json_object_set_new(doc, "affected", aff) != 0 ||
	    json_object_set_new(doc, "version", json_integer(v + 1)) != 0) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (json_out != NULL)
		st = reg_json_out(r, doc, json_out);
out:
	if (!committed && r != NULL && r->st != NULL) {
		reg_rollback(r);
		if (st != RK_OK)
			reg_audit_attempt(r, AUD_POLICY_APPLY, NULL, NULL, st);
	}
	affect_free(&a);
	json_decref(doc);
	policy_free(o);
	policy_free(n);
	free(otext);
	free(ntext);
	return st;
}

struct vlist {
	int64_t *when;
	int *version;
	size_t n, cap;
	int oom;
};

static int take_version(void *ud, int version, int64_t created_at)
{
	struct vlist *l = ud;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int *nv = realloc(l->version, cap * sizeof *nv);
		if (nv == NULL) {
			l->oom = 1;
			return 1;
		}
		l->version = nv;
		int64_t *nw = realloc(l->when, cap * sizeof *nw);
		if (nw == NULL) {
			l->oom = 1;
			return 1;
		}
		l->when = nw;
		l->cap = cap;
	}
	l->version[l->n] = version;
	l->when[l->n++] = created_at;
	return 0;
}

rk_status rk_policy_versions(rk_register *r, char **json_out)
{
	struct vlist l = {0};
	json_t *arr = NULL;
	rk_status st = RK_OK;
	size_t i;

	if (json_out == NULL)
		return RK_EINVAL;
	*json_out = NULL;
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	if (r->st->vt->policy_walk(r->st, take_version, &l) != 0)
		st = reg_store_fail(r, "cannot list the notice versions");
	else if (l.oom || (arr = json_array()) == NULL)
		st = reg_fail(r, RK_ESYS, "out of memory");
	for (i = 0; st == RK_OK && i < l.n; i++) {
		char when[32] = "";
		time_t t = (time_t)l.when[i];
		struct tm tm;

		if (gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_array_append_new(arr,
				      json_pack("{s:i, s:s, s:b}", "version",
						l.version[i], "stored", when,
						"current", i + 1 == l.n));
	}
	if (st == RK_OK)
		st = reg_json_out(r, arr, json_out);
	json_decref(arr);
	free(l.version);
	free(l.when);
	return st;
}

rk_status rk_policy_affected(rk_register *r, char **json_out)
{
	struct vlist l = {0};
	policy **ps = NULL;
	struct affect a;
	json_t *res = NULL;
	audit_ev ev;
	size_t i, s;
	rk_status st;

	if (json_out == NULL)
		return RK_EINVAL;
	*json_out = NULL;
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	if (affect_init(&a) != 0) {
		affect_free(&a);
		return reg_fail(r, RK_ESYS, "out of memory");
	}
	st = access_admin(r, AUD_POLICY_AFFECTED, "list whom a change affects");
	if (st != RK_OK)
		goto out;
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	if (r->st->vt->policy_walk(r->st, take_version, &l) != 0)
		st = reg_store_fail(r, "cannot list the notice versions");
	else if (l.oom || l.n == 0 || (ps = calloc(l.n, sizeof *ps)) == NULL)
		st = reg_fail(r, RK_ESYS, "cannot list the notice versions");
	for (i = 0; st == RK_OK && i < l.n; i++) {
		char *text = NULL;
		int64_t when;
		int vv, cur;
		st = notice_load_version(r, l.version[i], &text, &vv, &when,
					 &cur);
		if (st != RK_OK)
			break;
		ps[i] = policy_parse(text, strlen(text), "stored policy", NULL,
				     NULL);
		free(text);
		if (ps[i] == NULL)
			st = reg_fail(r, RK_EINTEGRITY,
				      "notice version %d does not load",
				      l.version[i]);
	}
	/* Each scope of the current policy: the last version that changed
	 * what it means; a live consent older than that is stale. */
	for (s = 0; st == RK_OK && s < (l.n ? ps[l.n - 1]->nscopes : 0); s++) {
		const char *name = ps[l.n - 1]->scopes[s].name;
		int last = 0;
		for (i = 1; i < l.n; i++)
			if (scope_changed(ps[i - 1], ps[i], name))
				last = l.version[i];
		if (last > 0)
			st = affect_scope(r, &a, name, last);
	}
	reg_end_read(r);
	if (st != RK_OK)
		goto out;
	res = affect_result(&a);
	if (res == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* A list of subjects leaves the register: audited first. */
	audit_ev_set(&ev, r, AUD_POLICY_AFFECTED, NULL, "", NULL, "ok");
	st = audit_read(r, &ev);
	if (st == RK_OK)
		st = reg_json_out(r, res, json_out);
out:
	for (i = 0; ps != NULL && i < l.n; i++)
		policy_free(ps[i]);
	free(ps);
	free(l.version);
	free(l.when);
	json_decref(res);
	affect_free(&a);
	return st;
}
