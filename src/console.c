/*
 * console.c: what a user interface needs to know about the signed-in actor
 * (rk_register_whoami): its role's purposes, the fields it may look
 * subjects up by, and the policy's names with their labels. All of it comes
 * from the policy, so the console names nothing itself.
 */
#include <jansson.h>

#include "policy.h"
#include "register.h"

static json_t *label(const pol_text *t)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "fi", t->fi ? json_string(t->fi) : json_null());
	json_object_set_new(o, "en", t->en ? json_string(t->en) : json_null());
	return o;
}

static json_t *item(const char *name, const pol_text *t)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "label", label(t));
	return o;
}

/* A field as a form needs it: its type, the values an enum takes and the
 * longest text; a record field also whether it must be given. */
static json_t *form_field(const pol_field *f, int record)
{
	json_t *o = item(f->name, &f->label), *v;
	size_t i;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "type", json_string(policy_type_name(f->type)));
	if (record)
		json_object_set_new(o, "required", json_boolean(f->required));
	json_object_set_new(o, "multiline", json_boolean(f->multiline));
	if (f->max_len > 0)
		json_object_set_new(o, "max_length",
				    json_integer((json_int_t)f->max_len));
	if (f->type == PT_ENUM) {
		v = json_array();
		for (i = 0; i < f->nvalues; i++)
			json_array_append_new(v, json_string(f->values[i]));
		json_object_set_new(o, "values", v);
	}
	return o;
}

/* A subject's field for the forms that add a person or a value: also the
 * kinds that may hold it (absent: every kind) and the consent it needs. */
static json_t *subject_field(const policy *p, const pol_field *f)
{
	json_t *o = form_field(f, 0), *v;
	size_t i;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "category",
			    json_string(p->categories[f->category].name));
	json_object_set_new(o, "multiple", json_boolean(f->multiple));
	v = json_array();
	for (i = 0; i < f->npurposes; i++)
		json_array_append_new(
			v, json_string(p->purposes[f->purposes[i]].name));
	json_object_set_new(o, "purposes", v);
	if (f->past)
		json_object_set_new(o, "past", json_true());
	if (f->nkinds > 0) {
		v = json_array();
		for (i = 0; i < f->nkinds; i++)
			json_array_append_new(
				v, json_string(p->kinds[f->kinds[i]].name));
		json_object_set_new(o, "kinds", v);
	}
	if (f->consent != POL_NONE)
		json_object_set_new(o, "consent",
				    json_string(p->scopes[f->consent].name));
	return o;
}

/* A kind with the fields a subject of it must be given, of those the role
 * sees: a field it may not see is not named to it, even here (a person of
 * that kind is then refused by the server, as any other missing field). */
static json_t *kind_item(const rk_register *r, const pol_kind *k)
{
	const policy *p = r->pol;
	json_t *o = item(k->name, &k->label), *v = json_array();
	size_t i;

	for (i = 0; i < k->nrequired; i++)
		if (access_sees_category(r, p->fields[k->required[i]].category))
			json_array_append_new(
				v, json_string(p->fields[k->required[i]].name));
	json_object_set_new(o, "required", v);
	json_object_set_new(o, "customer_number",
			    json_boolean(k->customer_number));
	return o;
}

static int role_has(const rk_register *r, size_t pu)
{
	const pol_role *role;
	size_t i;

	if (r->role == POL_NONE)
		return 1;
	role = &r->pol->roles[r->role];
	for (i = 0; i < role->npurposes; i++)
		if (role->purposes[i] == pu)
			return 1;
	return 0;
}

rk_status rk_register_whoami(rk_register *r, char **json_out)
{
	const policy *p = r->pol;
	json_t *o = json_object(), *a;
	rk_status st = RK_OK;
	size_t i;

	*json_out = NULL;
	if (o == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	json_object_set_new(o, "actor", json_string(r->actor));
	json_object_set_new(o, "role",
			    r->role == POL_NONE
				    ? json_null()
				    : json_string(p->roles[r->role].name));
	a = json_array();
	for (i = 0; i < p->npurposes; i++)
		if (role_has(r, i))
			json_array_append_new(a, item(p->purposes[i].name,
						      &p->purposes[i].label));
	json_object_set_new(o, "purposes", a);
	json_object_set_new(
		o, "default_purpose",
		json_string(p->purposes[p->settings.default_purpose].name));
	/* A field seen only masked is no lookup key: each answer would tell
	 * whether a guess was right (access_sees_whole). */
	a = json_array();
	for (i = 0; i < p->nfields; i++) {
		json_t *f;
		if (!p->fields[i].lookup || !access_sees_whole(r, i) ||
		    !access_sees_category(r, p->fields[i].category))
			continue;
		f = item(p->fields[i].name, &p->fields[i].label);
		json_object_set_new(f, "hetu",
				    json_boolean(p->fields[i].type == PT_HETU));
		json_array_append_new(a, f);
	}
	json_object_set_new(o, "lookup", a);
	json_object_set_new(
		o, "audit",
		json_boolean(r->role == POL_NONE || p->roles[r->role].audit));
	json_object_set_new(o, "rights",
			    json_boolean(access_handles_rights(r)));
	a = json_array();
	for (i = 0; i < p->nscopes; i++)
		json_array_append_new(
			a, item(p->scopes[i].name, &p->scopes[i].label));
	json_object_set_new(o, "scopes", a);
	a = json_array();
	for (i = 0; i < p->nobjections; i++)
		json_array_append_new(a, item(p->objections[i].name,
					      &p->objections[i].label));
	json_object_set_new(o, "objections", a);
	a = json_array();
	for (i = 0; i < p->nrecord_types; i++) {
		const pol_record_type *rt = &p->record_types[i];
		json_t *rf = json_array(), *it = item(rt->name, &rt->label);
		size_t k;
		for (k = 0; k < rt->nfields; k++)
			json_array_append_new(rf,
					      form_field(&rt->fields[k], 1));
		json_object_set_new(it, "fields", rf);
		json_object_set_new(it, "attachment",
				    json_boolean(rt->attachment));
		json_array_append_new(a, it);
	}
	json_object_set_new(o, "record_types", a);
	a = json_array();
	for (i = 0; i < p->nkinds; i++)
		json_array_append_new(a, kind_item(r, &p->kinds[i]));
	json_object_set_new(o, "kinds", a);
	/* labels of the names a subject's values carry */
	a = json_array();
	for (i = 0; i < p->nfields; i++)
		if (access_sees_category(r, p->fields[i].category))
			json_array_append_new(a,
					      subject_field(p, &p->fields[i]));
	json_object_set_new(o, "fields", a);
	a = json_array();
	for (i = 0; i < p->nbases; i++)
		json_array_append_new(
			a, item(p->bases[i].name, &p->bases[i].label));
	json_object_set_new(o, "bases", a);
	a = json_array();
	for (i = 0; i < p->nsources; i++)
		json_array_append_new(
			a, item(p->sources[i].name, &p->sources[i].label));
	json_object_set_new(o, "sources", a);
	*json_out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*json_out == NULL)
		st = reg_fail(r, RK_ESYS, "out of memory");
	json_decref(o);
	return st;
}
