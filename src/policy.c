/*
 * policy.c: loads and validates the policy (docs/policy.md).
 *
 * Jansson parses the text; this file walks the tree in a fixed order so that
 * declarations are known before they are referred to, and reports every
 * problem it finds. Each problem is located by re-scanning the text for the
 * JSON path being validated (jsonpos.c); the problems are sorted by position
 * before they are handed to the caller, so the output reads top to bottom.
 * Messages name keys and the names of policy items, never other values.
 */
#include "policy.h"

#include "ident.h"
#include "jsonpos.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN	      48
#define SHOWN_MAX	      64 /* bytes of a name quoted in a message */
#define SHOWN_BUF	      (SHOWN_MAX + 4)
#define SUGGEST_MAX	      64 /* longer words get no suggestion */
#define MAX_POLICY_BYTES      (16u * 1024u * 1024u)
#define MAX_DIAGS	      500 /* each costs a scan of the text */
#define MAX_FIELD_LEN	      (1024 * 1024)
#define MAX_ATTACHMENT	      (1024LL * 1024 * 1024)
#define DEFAULT_ATTACHMENT    (10u * 1024u * 1024u)
#define DEFAULT_CUSTOMER_NO   100001L
#define MAX_CUSTOMER_NO_START 999999999999LL

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Namespaces of names; the first ones can be referred to. */
enum ns {
	NS_PURPOSE,
	NS_BASIS,
	NS_SOURCE,
	NS_CATEGORY,
	NS_RETENTION,
	NS_FIELD,
	NS_KIND,
	NS_SCOPE,
	NS_RECORD_TYPE,
	NS_OBJECTION,
	NS_RECIPIENT,
	NS_ROLE,
	NS_COUNT
};

static const char *const ns_what[NS_COUNT] = {
	"purpose",	  "legal basis", "source",	 "category",
	"retention rule", "field",	 "subject kind", "consent scope",
	"record type",	  "objection",	 "recipient",	 "role"};

typedef struct diag_item {
	int line, column;
	size_t seq; /* keeps the report order among equal positions */
	char *msg;
} diag_item;

typedef struct ctx {
	const char *text;
	size_t len;
	const char *file;
	pol_diag_fn fn;
	void *ud;
	jsonpos_seg path[JSONPOS_MAX_DEPTH];
	size_t depth;
	diag_item *diags;
	size_t ndiags, cap;
	size_t dropped; /* problems beyond MAX_DIAGS */
	int failed;
	int oom;
	policy *p;
	/* A section that is missing or broken has been reported; references
	 * into it are then not checked, to avoid a cascade of noise. */
	int ns_ok[NS_COUNT];
} ctx;

typedef void (*item_fn)(ctx *c, json_t *obj, void *elem);

static const char *const type_names[] = {"text",	"email",
					 "phone",	"postal_code",
					 "date",	"hetu",
					 "business_id", "country",
					 "enum",	"customer_number",
					 "password",	"decimal",
					 "integer",	"timestamp",
					 "url",		"ip",
					 "card_token",	"card_last4",
					 "card_expiry", "latitude",
					 "longitude",	NULL};

/* ---- diagnostics ---- */

/* strdup is POSIX, not C17. */
static char *dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static void emit(ctx *c, int line, int column, const char *msg)
{
	if (c->fn != NULL)
		c->fn(c->ud, c->file, line, column, msg);
}

static void add_diag(ctx *c, int line, int column, const char *msg)
{
	diag_item *d;
	char *copy;

	c->failed = 1;
	if (c->ndiags == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;

		d = realloc(c->diags, ncap * sizeof *d);
		if (d == NULL)
			goto direct;
		c->diags = d;
		c->cap = ncap;
	}
	copy = dupstr(msg);
	if (copy == NULL)
		goto direct;
	d = &c->diags[c->ndiags];
	d->line = line;
	d->column = column;
	d->seq = c->ndiags;
	d->msg = copy;
	c->ndiags++;
	return;
direct:
	/* Out of memory: better unsorted than lost. */
	c->oom = 1;
	emit(c, line, column, msg);
}

/* The format is checked at every caller of the variadic reporters; the
 * attribute (archetype printf, no variadic arguments of its own) lets the
 * compiler see that fmt is such a checked format. */
PRINTF_LIKE(3, 0)
static void vreport(ctx *c, int at_key, const char *fmt, va_list ap)
{
	char msg[640];
	int line, column;
	size_t depth =
		c->depth < JSONPOS_MAX_DEPTH ? c->depth : JSONPOS_MAX_DEPTH;

	c->failed = 1;
	if (c->ndiags >= MAX_DIAGS) {
		c->dropped++;
		return;
	}
	vsnprintf(msg, sizeof msg, fmt, ap);
	jsonpos_locate(c->text, c->len, c->path, depth, at_key, &line, &column);
	add_diag(c, line, column, msg);
}

/* Reports at the value of the current path. */
PRINTF_LIKE(2, 3) static void report(ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, 0, fmt, ap);
	va_end(ap);
}

/* Reports at the key of the current path's last member. */
PRINTF_LIKE(2, 3) static void report_key(ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, 1, fmt, ap);
	va_end(ap);
}

/* Reports at the key (at_key) or the value of the current path. */
PRINTF_LIKE(3, 4)
static void report_at(ctx *c, int at_key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, at_key, fmt, ap);
	va_end(ap);
}

static void push_key(ctx *c, const char *key)
{
	if (c->depth < JSONPOS_MAX_DEPTH) {
		c->path[c->depth].key = key;
		c->path[c->depth].index = 0;
	}
	c->depth++;
}

static void push_index(ctx *c, size_t index)
{
	if (c->depth < JSONPOS_MAX_DEPTH) {
		c->path[c->depth].key = NULL;
		c->path[c->depth].index = index;
	}
	c->depth++;
}

static void pop(ctx *c)
{
	if (c->depth > 0)
		c->depth--;
}

/* Reports at the value of member key of the current object. */
PRINTF_LIKE(3, 4)
static void report_in(ctx *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	push_key(c, key);
	va_start(ap, fmt);
	vreport(c, 0, fmt, ap);
	va_end(ap);
	pop(c);
}

static int diag_cmp(const void *a, const void *b)
{
	const diag_item *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void flush_diags(ctx *c)
{
	size_t i;

	if (c->ndiags > 1)
		qsort(c->diags, c->ndiags, sizeof *c->diags, diag_cmp);
	for (i = 0; i < c->ndiags; i++) {
		emit(c, c->diags[i].line, c->diags[i].column, c->diags[i].msg);
		free(c->diags[i].msg);
	}
	free(c->diags);
	c->diags = NULL;
	c->ndiags = c->cap = 0;
	if (c->dropped > 0) {
		char msg[80];

		snprintf(msg, sizeof msg, "%zu more problems not shown",
			 c->dropped);
		emit(c, 0, 0, msg);
	}
	if (c->oom)
		emit(c, 0, 0, "out of memory");
}

/* A name as it may appear in a message: quotes, backslashes and control
 * characters become '?', long names are cut at a character boundary. */
static const char *shown(const char *s, char buf[SHOWN_BUF])
{
	size_t i = 0;

	while (i < SHOWN_MAX && s[i] != '\0') {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
				 ? '?'
				 : (char)ch;
		i++;
	}
	if (s[i] != '\0') {
		while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
			i--;
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Optimal string alignment distance; SIZE_MAX for long words. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t rows[3][SUGGEST_MAX + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *tmp;
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return SIZE_MAX;
	memset(rows, 0, sizeof rows);
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		tmp = prev2;
		prev2 = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb];
}

typedef struct suggester {
	const char *word;
	const char *best;
	size_t bestd;
} suggester;

static void consider(suggester *s, const char *cand)
{
	size_t d, len = strlen(s->word), limit = len <= 4 ? 1 : 2;

	if (cand == NULL)
		return;
	d = edit_distance(s->word, cand);
	if (d <= limit && d < len && d < s->bestd) {
		s->best = cand;
		s->bestd = d;
	}
}

/* Formats " (did you mean \"x\"?)" or "". */
static const char *suggestion(const suggester *s, char *buf, size_t size)
{
	char sb[SHOWN_BUF];

	if (s->best == NULL) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, size, " (did you mean \"%s\"?)", shown(s->best, sb));
	return buf;
}

/* ---- memory ---- */

static void *xcalloc(ctx *c, size_t n, size_t size)
{
	void *m = calloc(n, size);

	if (m == NULL) {
		c->oom = 1;
		c->failed = 1;
	}
	return m;
}

static char *xstrdup(ctx *c, const char *s)
{
	char *d = dupstr(s);

	if (d == NULL) {
		c->oom = 1;
		c->failed = 1;
	}
	return d;
}

static void free_text(pol_text *t)
{
	free(t->fi);
	free(t->en);
}

static void free_named(pol_named *n)
{
	free(n->name);
	free_text(&n->label);
	free_text(&n->description);
	free(n->gdpr);
	free_text(&n->interests);
}

static void free_field(pol_field *f)
{
	size_t i;

	free(f->name);
	free_text(&f->label);
	free_text(&f->description);
	free(f->purposes);
	free(f->kinds);
	for (i = 0; i < f->nvalues; i++)
		free(f->values[i]);
	free(f->values);
}

static void free_named_array(pol_named *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free_named(&a[i]);
	free(a);
}

void policy_free(policy *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	free(p->controller.name);
	free(p->controller.address);
	free(p->controller.business_id);
	free(p->controller.email);
	free(p->responsible.name);
	free(p->responsible.email);
	free_text(&p->register_name);
	free_text(&p->supervisory.name);
	free(p->supervisory.address);
	free(p->supervisory.url);
	free_named_array(p->purposes, p->npurposes);
	free_named_array(p->bases, p->nbases);
	free_named_array(p->sources, p->nsources);
	free_named_array(p->categories, p->ncategories);
	free_named_array(p->objections, p->nobjections);
	for (i = 0; i < p->nretention; i++) {
		free(p->retention[i].name);
		free_text(&p->retention[i].label);
		free_text(&p->retention[i].description);
		free_text(&p->retention[i].criteria);
	}
	free(p->retention);
	for (i = 0; i < p->nfields; i++)
		free_field(&p->fields[i]);
	free(p->fields);
	for (i = 0; i < p->nkinds; i++) {
		free(p->kinds[i].name);
		free_text(&p->kinds[i].label);
		free_text(&p->kinds[i].description);
		free(p->kinds[i].required);
	}
	free(p->kinds);
	free(p->marketing.roles);
	for (i = 0; i < p->nrecord_types; i++) {
		pol_record_type *rt = &p->record_types[i];

		free(rt->name);
		free_text(&rt->label);
		free_text(&rt->description);
		free(rt->purposes);
		free(rt->pc_purposes);
		free(rt->pc_scopes);
		for (j = 0; j < rt->nfields; j++)
			free_field(&rt->fields[j]);
		free(rt->fields);
	}
	free(p->record_types);
	for (i = 0; i < p->nscopes; i++) {
		free(p->scopes[i].name);
		free_text(&p->scopes[i].label);
		free_text(&p->scopes[i].description);
		free(p->scopes[i].purposes);
		free(p->scopes[i].recipients);
	}
	free(p->scopes);
	for (i = 0; i < p->nrecipients; i++) {
		free(p->recipients[i].name);
		free_text(&p->recipients[i].label);
		free_text(&p->recipients[i].description);
		free(p->recipients[i].safeguard);
		free(p->recipients[i].purposes);
		free(p->recipients[i].fields);
		free(p->recipients[i].categories);
		free(p->recipients[i].record_types);
		for (j = 0; j < p->recipients[i].select.nvalues; j++)
			free(p->recipients[i].select.values[j]);
		free(p->recipients[i].select.values);
	}
	free(p->recipients);
	free(p->marketing.sale_sources);
	free(p->marketing.register_fields);
	free(p->countries.eu_eea);
	free(p->countries.adequacy);
	for (i = 0; i < p->nproduct_categories; i++) {
		free(p->product_categories[i].name);
		free_text(&p->product_categories[i].label);
		free_text(&p->product_categories[i].description);
		for (j = 0; j < p->product_categories[i].nproducts; j++)
			free(p->product_categories[i].products[j]);
		free(p->product_categories[i].products);
	}
	free(p->product_categories);
	for (i = 0; i < p->nroles; i++) {
		free(p->roles[i].name);
		free_text(&p->roles[i].label);
		free_text(&p->roles[i].description);
		free(p->roles[i].purposes);
		free(p->roles[i].categories);
	}
	free(p->roles);
	for (i = 0; i < p->nsections; i++) {
		free(p->sections[i].key);
		free_text(&p->sections[i].title);
		free_text(&p->sections[i].body);
		free_text(&p->sections[i].chapter);
	}
	free(p->sections);
	for (i = 0; i < PR_COUNT; i++)
		free_text(&p->rights[i]);
	free(p);
}

/* ---- names and lookups ---- */

static size_t ns_count(const policy *p, enum ns ns)
{
	switch (ns) {
	case NS_PURPOSE:
		return p->npurposes;
	case NS_BASIS:
		return p->nbases;
	case NS_SOURCE:
		return p->nsources;
	case NS_CATEGORY:
		return p->ncategories;
	case NS_RETENTION:
		return p->nretention;
	case NS_FIELD:
		return p->nfields;
	case NS_KIND:
		return p->nkinds;
	case NS_SCOPE:
		return p->nscopes;
	case NS_RECORD_TYPE:
		return p->nrecord_types;
	case NS_OBJECTION:
		return p->nobjections;
	case NS_RECIPIENT:
		return p->nrecipients;
	case NS_ROLE:
		return p->nroles;
	case NS_COUNT:
		break;
	}
	return 0;
}

static const char *ns_name(const policy *p, enum ns ns, size_t i)
{
	switch (ns) {
	case NS_PURPOSE:
		return p->purposes[i].name;
	case NS_BASIS:
		return p->bases[i].name;
	case NS_SOURCE:
		return p->sources[i].name;
	case NS_CATEGORY:
		return p->categories[i].name;
	case NS_RETENTION:
		return p->retention[i].name;
	case NS_FIELD:
		return p->fields[i].name;
	case NS_KIND:
		return p->kinds[i].name;
	case NS_SCOPE:
		return p->scopes[i].name;
	case NS_RECORD_TYPE:
		return p->record_types[i].name;
	case NS_OBJECTION:
		return p->objections[i].name;
	case NS_RECIPIENT:
		return p->recipients[i].name;
	case NS_ROLE:
		return p->roles[i].name;
	case NS_COUNT:
		break;
	}
	return NULL;
}

static size_t lookup(const policy *p, enum ns ns, const char *name)
{
	size_t i, n;

	if (p == NULL || name == NULL)
		return POL_NONE;
	n = ns_count(p, ns);
	for (i = 0; i < n; i++) {
		const char *s = ns_name(p, ns, i);

		if (s != NULL && strcmp(s, name) == 0)
			return i;
	}
	return POL_NONE;
}

size_t policy_purpose(const policy *p, const char *name)
{
	return lookup(p, NS_PURPOSE, name);
}

size_t policy_basis(const policy *p, const char *name)
{
	return lookup(p, NS_BASIS, name);
}

size_t policy_source(const policy *p, const char *name)
{
	return lookup(p, NS_SOURCE, name);
}

size_t policy_field(const policy *p, const char *name)
{
	return lookup(p, NS_FIELD, name);
}

size_t policy_kind(const policy *p, const char *name)
{
	return lookup(p, NS_KIND, name);
}

size_t policy_record_type(const policy *p, const char *name)
{
	return lookup(p, NS_RECORD_TYPE, name);
}

size_t policy_scope(const policy *p, const char *name)
{
	return lookup(p, NS_SCOPE, name);
}

size_t policy_role(const policy *p, const char *name)
{
	return lookup(p, NS_ROLE, name);
}

size_t policy_category(const policy *p, const char *name)
{
	return lookup(p, NS_CATEGORY, name);
}

size_t policy_retention(const policy *p, const char *name)
{
	return lookup(p, NS_RETENTION, name);
}

size_t policy_objection(const policy *p, const char *name)
{
	return lookup(p, NS_OBJECTION, name);
}

size_t policy_recipient(const policy *p, const char *name)
{
	return lookup(p, NS_RECIPIENT, name);
}

size_t policy_record_field(const pol_record_type *rt, const char *name)
{
	size_t i;

	if (rt == NULL || name == NULL)
		return POL_NONE;
	for (i = 0; i < rt->nfields; i++)
		if (rt->fields[i].name != NULL &&
		    strcmp(rt->fields[i].name, name) == 0)
			return i;
	return POL_NONE;
}

size_t policy_record_purpose_consent(const pol_record_type *rt, size_t purpose)
{
	size_t i;

	if (rt == NULL)
		return POL_NONE;
	for (i = 0; i < rt->npc; i++)
		if (rt->pc_purposes[i] == purpose)
			return rt->pc_scopes[i];
	return POL_NONE;
}

int policy_field_serves(const policy *p, size_t f, size_t pu)
{
	size_t i;

	if (p == NULL || f >= p->nfields)
		return 0;
	for (i = 0; i < p->fields[f].npurposes; i++)
		if (p->fields[f].purposes[i] == pu)
			return 1;
	return 0;
}

int policy_basis_is_consent(const policy *p, size_t b)
{
	const pol_named *n;

	if (p == NULL || b >= p->nbases)
		return 0;
	n = &p->bases[b];
	return (n->name != NULL && strcmp(n->name, "consent") == 0) ||
	       (n->gdpr != NULL && strcmp(n->gdpr, "6(1)(a)") == 0);
}

int policy_field_kind_ok(const policy *p, size_t f, size_t ki)
{
	size_t i;

	if (p == NULL || f >= p->nfields)
		return 0;
	if (p->fields[f].kinds == NULL)
		return 1;
	for (i = 0; i < p->fields[f].nkinds; i++)
		if (p->fields[f].kinds[i] == ki)
			return 1;
	return 0;
}

const char *policy_type_name(pol_type t)
{
	size_t i = (size_t)t;

	if (i >= sizeof type_names / sizeof type_names[0] - 1)
		return "unknown";
	return type_names[i];
}

/* ---- value checks ---- */

static int is_identifier(const char *s)
{
	size_t i;

	if (s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		char ch = s[i];

		if (i >= NAME_MAX_LEN)
			return 0;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_'))
			return 0;
	}
	return 1;
}

/* Y-tunnus NNNNNNN-T: weights 7,9,10,5,8,4,2; r = sum mod 11; r = 1 is
 * never issued, r = 0 gives 0, else 11 - r. */
/* The one Y-tunnus check (ident.c), and the policy writes it in its
 * canonical form NNNNNNN-T. */
static int ytunnus_ok(const char *s)
{
	char canon[16];
	const char *why = NULL;

	return ident_ytunnus(s, canon, sizeof canon, &why) == 0 &&
	       strcmp(canon, s) == 0;
}

/* A plausible address: one @, something before it, a dotted domain after
 * it, no spaces or control characters. The register checks stored
 * addresses more strictly; this only catches slips in the policy. */
static int email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *dot;
	size_t i;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    strlen(s) > 254)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	dot = strrchr(at + 1, '.');
	return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

/* ISO 8601 duration, date part only: P[nY][nM][nD], at least one part, in
 * that order, up to four digits each. */
static int parse_period(const char *s, int *y, int *m, int *d)
{
	static const char units[] = "YMD";
	int *out[3];
	size_t u = 0;
	int any = 0;

	out[0] = y;
	out[1] = m;
	out[2] = d;
	*y = *m = *d = 0;
	if (*s++ != 'P')
		return -1;
	while (*s != '\0') {
		int v = 0, nd = 0;

		while (*s >= '0' && *s <= '9') {
			if (++nd > 4)
				return -1;
			v = v * 10 + (*s - '0');
			s++;
		}
		if (nd == 0)
			return -1;
		while (u < 3 && units[u] != *s)
			u++;
		if (u == 3)
			return -1;
		*out[u++] = v;
		s++;
		any = 1;
	}
	return any ? 0 : -1;
}

/* "6(1)(a)", "9(2)(j)", "6", "17(3)": an article, optional paragraph and
 * optional point. */
static int gdpr_ok(const char *s)
{
	size_t i = 0, n = 0;

	while (s[i] >= '0' && s[i] <= '9' && n < 3) {
		i++;
		n++;
	}
	if (n == 0)
		return 0;
	if (s[i] == '(' && s[i + 1] >= '0' && s[i + 1] <= '9') {
		i++;
		for (n = 0; s[i] >= '0' && s[i] <= '9' && n < 3; n++)
			i++;
		if (s[i++] != ')')
			return 0;
	}
	if (s[i] == '(' && s[i + 1] >= 'a' && s[i + 1] <= 'z' &&
	    s[i + 2] == ')')
		i += 3;
	return s[i] == '\0';
}

static int lookup_type_ok(pol_type t)
{
	return t == PT_EMAIL || t == PT_PHONE || t == PT_HETU ||
	       t == PT_CUSTOMER_NUMBER || t == PT_TEXT || t == PT_BUSINESS_ID;
}

/* ---- generic members ---- */

static int in_list(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static void check_keys(ctx *c, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		suggester s = {key, NULL, SIZE_MAX};
		char kb[SHOWN_BUF], sb[SHOWN_BUF + 32];
		size_t i;

		if (in_list(key, allowed))
			continue;
		for (i = 0; allowed[i] != NULL; i++)
			consider(&s, allowed[i]);
		push_key(c, key);
		report_key(c, "unknown key \"%s\"%s", shown(key, kb),
			   suggestion(&s, sb, sizeof sb));
		pop(c);
	}
}

/* Checks the current path's key (an item's name) as an identifier. */
static void check_name(ctx *c, const char *name)
{
	if (!is_identifier(name)) {
		char nb[SHOWN_BUF];

		report_key(c,
			   "invalid name \"%s\": use a-z, 0-9 and _, start "
			   "with a letter, at most %d characters",
			   shown(name, nb), NAME_MAX_LEN);
	}
}

static json_t *member(ctx *c, json_t *obj, const char *key, int required)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL && required)
		report(c, "missing required key \"%s\"", key);
	return v;
}

static void get_string(ctx *c, json_t *obj, const char *key, int required,
		       char **out)
{
	json_t *v = member(c, obj, key, required);

	if (v == NULL)
		return;
	push_key(c, key);
	if (!json_is_string(v))
		report(c, "\"%s\" must be a string", key);
	else if (json_string_length(v) == 0)
		report(c, "\"%s\" must not be empty", key);
	else
		*out = xstrdup(c, json_string_value(v));
	pop(c);
}

static void get_bool(ctx *c, json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return;
	if (!json_is_boolean(v))
		report_in(c, key, "\"%s\" must be true or false", key);
	else
		*out = json_is_true(v);
}

static int get_int(ctx *c, json_t *obj, const char *key, int required,
		   long long min, long long max, long long *out)
{
	json_t *v = member(c, obj, key, required);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		report_in(c, key, "\"%s\" must be an integer from %lld to %lld",
			  key, min, max);
		return 0;
	}
	*out = json_integer_value(v);
	return 1;
}

/* A string from a fixed list; *out is its index. */
static int get_choice(ctx *c, json_t *obj, const char *key, int required,
		      const char *const *choices, int *out)
{
	json_t *v = member(c, obj, key, required);
	char list[400];
	size_t i, used = 0;
	suggester s = {"", NULL, SIZE_MAX};

	if (v == NULL)
		return 0;
	if (json_is_string(v)) {
		for (i = 0; choices[i] != NULL; i++) {
			if (strcmp(json_string_value(v), choices[i]) == 0) {
				*out = (int)i;
				return 1;
			}
		}
		s.word = json_string_value(v);
	}
	list[0] = '\0';
	for (i = 0; choices[i] != NULL && used < sizeof list; i++) {
		int n = snprintf(list + used, sizeof list - used, "%s%s",
				 i ? ", " : "", choices[i]);

		if (n < 0)
			break;
		used += (size_t)n;
		consider(&s, choices[i]);
	}
	/* A near miss is pointed at; otherwise the whole list is shown. */
	if (s.best != NULL) {
		char sb[SHOWN_BUF + 32];

		report_in(c, key, "\"%s\" has an unknown value%s", key,
			  suggestion(&s, sb, sizeof sb));
	} else {
		report_in(c, key, "\"%s\" must be one of %s", key, list);
	}
	return 0;
}

/* Resolves name in namespace ns; an unknown name is reported at the current
 * path's key (at_key) or value. */
static void resolve_at(ctx *c, enum ns ns, const char *name, int at_key,
		       size_t *out)
{
	suggester s = {name, NULL, SIZE_MAX};
	char nb[SHOWN_BUF], sb[SHOWN_BUF + 32];
	size_t i, n;

	*out = POL_NONE;
	if (!c->ns_ok[ns])
		return;
	*out = lookup(c->p, ns, name);
	if (*out != POL_NONE)
		return;
	n = ns_count(c->p, ns);
	for (i = 0; i < n; i++)
		consider(&s, ns_name(c->p, ns, i));
	report_at(c, at_key, "unknown %s \"%s\"%s", ns_what[ns],
		  shown(name, nb), suggestion(&s, sb, sizeof sb));
}

static void resolve(ctx *c, enum ns ns, const char *name, size_t *out)
{
	resolve_at(c, ns, name, 0, out);
}

static void get_ref(ctx *c, json_t *obj, const char *key, enum ns ns,
		    int required, size_t *out)
{
	json_t *v = member(c, obj, key, required);

	*out = POL_NONE;
	if (v == NULL)
		return;
	push_key(c, key);
	if (!json_is_string(v))
		report(c, "\"%s\" must be the name of a %s", key, ns_what[ns]);
	else
		resolve(c, ns, json_string_value(v), out);
	pop(c);
}

static void get_ref_list(ctx *c, json_t *obj, const char *key, enum ns ns,
			 int required, int nonempty, size_t **out, size_t *n)
{
	json_t *v = member(c, obj, key, required), *e;
	size_t i, k, cnt = 0, *arr;
	char nb[SHOWN_BUF];

	if (v == NULL)
		return;
	push_key(c, key);
	if (!json_is_array(v)) {
		report(c, "\"%s\" must be an array of %s names", key,
		       ns_what[ns]);
		goto out;
	}
	if (json_array_size(v) == 0) {
		if (nonempty)
			report(c, "\"%s\" must name at least one %s", key,
			       ns_what[ns]);
		goto out;
	}
	arr = xcalloc(c, json_array_size(v), sizeof *arr);
	if (arr == NULL)
		goto out;
	*out = arr;
	json_array_foreach(v, i, e)
	{
		size_t idx;

		push_index(c, i);
		if (!json_is_string(e)) {
			report(c, "expected the name of a %s", ns_what[ns]);
		} else {
			int dup = 0;

			resolve(c, ns, json_string_value(e), &idx);
			for (k = 0; k < cnt && idx != POL_NONE; k++)
				dup |= arr[k] == idx;
			if (dup)
				report(c, "duplicate %s \"%s\"", ns_what[ns],
				       shown(json_string_value(e), nb));
			else if (idx != POL_NONE)
				arr[cnt++] = idx;
		}
		pop(c);
	}
	*n = cnt;
out:
	pop(c);
}

static const char *const text_keys[] = {"fi", "en", NULL};

/* A text in both languages: {"fi": "...", "en": "..."}. */
static void get_text(ctx *c, json_t *obj, const char *key, int required,
		     pol_text *out)
{
	json_t *v = member(c, obj, key, required);

	if (v == NULL)
		return;
	push_key(c, key);
	if (!json_is_object(v)) {
		report(c,
		       "\"%s\" must be an object with \"fi\" and \"en\" "
		       "texts",
		       key);
	} else {
		check_keys(c, v, text_keys);
		get_string(c, v, "fi", 1, &out->fi);
		get_string(c, v, "en", 1, &out->en);
	}
	pop(c);
}

/* An object of named items: {"name": {...}, ...}, in declaration order.
 * Returns the array (elements of elsize bytes whose first member is the
 * char *name) and its length in *n. ns < 0: names not referred to. */
static void *get_map(ctx *c, json_t *parent, const char *key, int required,
		     int nonempty, size_t elsize, int ns, item_fn fn, size_t *n)
{
	json_t *v = member(c, parent, key, required), *item;
	const char *name;
	char *arr = NULL, nb[SHOWN_BUF];
	size_t i = 0;

	*n = 0;
	if (v == NULL) {
		if (!required && ns >= 0)
			c->ns_ok[ns] = 1;
		return NULL;
	}
	push_key(c, key);
	if (!json_is_object(v)) {
		report(c, "\"%s\" must be an object of named items", key);
		goto out;
	}
	if (json_object_size(v) == 0) {
		if (nonempty)
			report(c, "\"%s\" must declare at least one item", key);
		if (ns >= 0)
			c->ns_ok[ns] = 1;
		goto out;
	}
	arr = xcalloc(c, json_object_size(v), elsize);
	if (arr == NULL)
		goto out;
	json_object_foreach(v, name, item)
	{
		void *elem = arr + i * elsize;
		char **namep = elem;

		*namep = xstrdup(c, name);
		*n = ++i;
		push_key(c, name);
		check_name(c, name);
		if (!json_is_object(item))
			report(c, "\"%s\" must be an object", shown(name, nb));
		else
			fn(c, item, elem);
		pop(c);
	}
	if (ns >= 0)
		c->ns_ok[ns] = 1;
out:
	pop(c);
	return arr;
}

/* ---- items ---- */

static const char *const named_keys[] = {"label", "description", NULL};

static void item_named(ctx *c, json_t *obj, void *elem)
{
	pol_named *it = elem;

	check_keys(c, obj, named_keys);
	get_text(c, obj, "label", 1, &it->label);
	get_text(c, obj, "description", 0, &it->description);
}

static void item_basis(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {"label", "description", "gdpr",
					   "interests", NULL};
	pol_named *it = elem;

	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &it->label);
	get_text(c, obj, "description", 0, &it->description);
	get_text(c, obj, "interests", 0, &it->interests);
	get_string(c, obj, "gdpr", 0, &it->gdpr);
	if (it->gdpr != NULL && !gdpr_ok(it->gdpr))
		report_in(c, "gdpr",
			  "\"gdpr\" must be an article reference such as "
			  "\"6(1)(a)\"");
}

static void item_source(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {"label", "description",
					   "provided_by_subject", NULL};
	pol_named *it = elem;

	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &it->label);
	get_text(c, obj, "description", 0, &it->description);
	get_bool(c, obj, "provided_by_subject", &it->provided_by_subject);
}

static void item_retention(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {"label",  "description", "from",
					   "period", "legal_hold",  "criteria",
					   NULL};
	static const char *const froms[] = {"collection", "relationship_end",
					    "fiscal_year_end",
					    "calendar_year_end", NULL};
	pol_retention *it = elem;
	char *period = NULL;
	int from;

	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &it->label);
	get_text(c, obj, "description", 0, &it->description);
	get_text(c, obj, "criteria", 0, &it->criteria);
	if (get_choice(c, obj, "from", 1, froms, &from))
		it->from = (pol_ret_from)from;
	get_string(c, obj, "period", 1, &period);
	if (period != NULL &&
	    parse_period(period, &it->years, &it->months, &it->days) != 0)
		report_in(c, "period",
			  "\"period\" must be an ISO 8601 period PnYnMnD "
			  "such as \"P5Y\" or \"P6M\"");
	free(period);
	get_bool(c, obj, "legal_hold", &it->legal_hold);
}

static void get_values(ctx *c, json_t *obj, pol_field *f)
{
	json_t *v = json_object_get(obj, "values"), *e;
	char nb[SHOWN_BUF];
	size_t i, k;

	if (v == NULL)
		return;
	push_key(c, "values");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		report(c, "\"values\" must be a non-empty array of names");
		goto out;
	}
	f->values = xcalloc(c, json_array_size(v), sizeof *f->values);
	if (f->values == NULL)
		goto out;
	json_array_foreach(v, i, e)
	{
		const char *s;
		int dup = 0;

		push_index(c, i);
		if (!json_is_string(e) ||
		    !is_identifier(json_string_value(e))) {
			report(c, "an enum value must be a name: a-z, 0-9 and "
				  "_, starting with a letter");
			pop(c);
			continue;
		}
		s = json_string_value(e);
		for (k = 0; k < f->nvalues; k++)
			dup |= strcmp(f->values[k], s) == 0;
		if (dup) {
			report(c, "duplicate enum value \"%s\"", shown(s, nb));
		} else {
			f->values[f->nvalues] = xstrdup(c, s);
			if (f->values[f->nvalues] != NULL)
				f->nvalues++;
		}
		pop(c);
	}
out:
	pop(c);
}

static void parse_field(ctx *c, json_t *obj, pol_field *f, int record)
{
	static const char *const field_keys[] = {
		"label",    "description", "type",     "category",
		"purposes", "legal_basis", "source",   "retention",
		"consent",  "lookup",	   "multiple", "max_length",
		"values",   "multiline",   "past",     "kinds",
		NULL};
	static const char *const record_field_keys[] = {
		"label",    "description", "type",   "required",
		"multiple", "max_length",  "values", "multiline",
		"past",	    NULL};
	long long maxlen;
	int type = -1;

	f->category = f->basis = f->source = f->retention = f->consent =
		POL_NONE;
	check_keys(c, obj, record ? record_field_keys : field_keys);
	get_text(c, obj, "label", 1, &f->label);
	get_text(c, obj, "description", 0, &f->description);
	if (get_choice(c, obj, "type", 1, type_names, &type))
		f->type = (pol_type)type;
	if (!record) {
		get_ref(c, obj, "category", NS_CATEGORY, 1, &f->category);
		get_ref_list(c, obj, "purposes", NS_PURPOSE, 1, 1, &f->purposes,
			     &f->npurposes);
		get_ref(c, obj, "legal_basis", NS_BASIS, 1, &f->basis);
		get_ref(c, obj, "source", NS_SOURCE, 1, &f->source);
		get_ref(c, obj, "retention", NS_RETENTION, 1, &f->retention);
		get_ref(c, obj, "consent", NS_SCOPE, 0, &f->consent);
		get_bool(c, obj, "lookup", &f->lookup);
	} else {
		get_bool(c, obj, "required", &f->required);
	}
	get_bool(c, obj, "multiple", &f->multiple);
	get_bool(c, obj, "multiline", &f->multiline);
	get_bool(c, obj, "past", &f->past);
	if (get_int(c, obj, "max_length", 0, 1, MAX_FIELD_LEN, &maxlen))
		f->max_len = (size_t)maxlen;
	get_values(c, obj, f);

	if (type < 0)
		return;
	if (f->type == PT_ENUM && json_object_get(obj, "values") == NULL)
		report(c, "a field of type enum needs \"values\"");
	if (f->multiline && f->type != PT_TEXT)
		report_in(c, "multiline",
			  "\"multiline\" is allowed only with type text");
	if (f->past && f->type != PT_DATE)
		report_in(c, "past", "\"past\" is allowed only with type date");
	if (f->type != PT_ENUM && json_object_get(obj, "values") != NULL)
		report_in(c, "values",
			  "\"values\" is allowed only with type enum");
	if (f->lookup && !lookup_type_ok(f->type))
		report_in(c, "lookup", "lookup is not supported for type %s",
			  type_names[type]);
	if (f->multiple &&
	    (f->type == PT_PASSWORD || f->type == PT_CUSTOMER_NUMBER))
		report_in(c, "multiple", "a %s field cannot be multiple",
			  type_names[type]);
	if (record && (f->type == PT_PASSWORD ||
		       f->type == PT_CUSTOMER_NUMBER || f->type == PT_HETU))
		report_in(c, "type", "type %s is not allowed in a record",
			  type_names[type]);
	if (!record && f->consent == POL_NONE &&
	    policy_basis_is_consent(c->p, f->basis))
		report(c, "legal basis \"consent\" needs a \"consent\" scope");
}

static void item_field(ctx *c, json_t *obj, void *elem)
{
	parse_field(c, obj, elem, 0);
}

static void item_record_field(ctx *c, json_t *obj, void *elem)
{
	parse_field(c, obj, elem, 1);
}

static void item_kind(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {"label",	      "description",
					   "required",	      "retention",
					   "customer_number", NULL};
	pol_kind *k = elem;

	k->retention = POL_NONE;
	check_keys(c, obj, keys);
	get_bool(c, obj, "customer_number", &k->customer_number);
	get_text(c, obj, "label", 1, &k->label);
	get_text(c, obj, "description", 0, &k->description);
	get_ref_list(c, obj, "required", NS_FIELD, 0, 0, &k->required,
		     &k->nrequired);
	get_ref(c, obj, "retention", NS_RETENTION, 0, &k->retention);
}

/* The fields' "kinds" lists name subject kinds, which are declared after
 * the fields: resolved once the kinds are known. A kind whose required
 * fields it may not hold could never be added. */
static void parse_field_kinds(ctx *c, json_t *root)
{
	policy *p = c->p;
	json_t *fields = json_object_get(root, "fields"), *obj;
	const char *name;
	size_t i = 0, k, r;

	if (!json_is_object(fields) || p->fields == NULL)
		return;
	push_key(c, "fields");
	json_object_foreach(fields, name, obj)
	{
		pol_field *f;

		if (i >= p->nfields)
			break;
		f = &p->fields[i++];
		if (!json_is_object(obj) ||
		    json_object_get(obj, "kinds") == NULL)
			continue;
		push_key(c, name);
		get_ref_list(c, obj, "kinds", NS_KIND, 0, 1, &f->kinds,
			     &f->nkinds);
		pop(c);
	}
	pop(c);
	if (!c->ns_ok[NS_KIND] || !c->ns_ok[NS_FIELD])
		return;
	push_key(c, "subject_kinds");
	for (k = 0; k < p->nkinds; k++)
		for (r = 0; r < p->kinds[k].nrequired; r++) {
			size_t fi = p->kinds[k].required[r];

			if (!policy_field_kind_ok(p, fi, k)) {
				push_key(c, p->kinds[k].name);
				report_in(c, "required",
					  "kind \"%s\" requires field \"%s\", "
					  "whose \"kinds\" do not include it",
					  p->kinds[k].name, p->fields[fi].name);
				pop(c);
			}
		}
	pop(c);
}

static int scope_covers(const policy *p, size_t scope, size_t pu)
{
	size_t i;

	for (i = 0; i < p->scopes[scope].npurposes; i++)
		if (p->scopes[scope].purposes[i] == pu)
			return 1;
	return 0;
}

/* "purpose_consents": {"purpose": "scope", ...}: using the record type's
 * data for a purpose that is a key needs a live consent in the scope. Each
 * key is one of the type's own purposes, each value a declared scope whose
 * purposes include the key. Called after the type's purposes are read. */
static void get_purpose_consents(ctx *c, json_t *obj, pol_record_type *rt)
{
	json_t *v = json_object_get(obj, "purpose_consents"), *sv;
	json_t *pv = json_object_get(obj, "purposes");
	const char *key;
	char kb[SHOWN_BUF], sb[SHOWN_BUF];
	/* With a broken "purposes" list (reported there), membership is not
	 * checked, to avoid a cascade. */
	int purposes_ok =
		json_is_array(pv) && rt->npurposes == json_array_size(pv);
	size_t pu, sc, i;

	if (v == NULL)
		return;
	push_key(c, "purpose_consents");
	if (!json_is_object(v)) {
		report(c, "\"purpose_consents\" must be an object of purpose "
			  "names to consent scope names");
		goto out;
	}
	if (json_object_size(v) == 0)
		goto out;
	rt->pc_purposes = xcalloc(c, json_object_size(v), sizeof(size_t));
	rt->pc_scopes = xcalloc(c, json_object_size(v), sizeof(size_t));
	if (rt->pc_purposes == NULL || rt->pc_scopes == NULL)
		goto out;
	json_object_foreach(v, key, sv)
	{
		int member_ok = 0;

		push_key(c, key);
		resolve_at(c, NS_PURPOSE, key, 1, &pu);
		if (pu != POL_NONE && purposes_ok) {
			for (i = 0; i < rt->npurposes; i++)
				member_ok |= rt->purposes[i] == pu;
			if (!member_ok)
				report_key(c,
					   "purpose \"%s\" is not one of the "
					   "record type's \"purposes\"",
					   shown(key, kb));
		}
		sc = POL_NONE;
		if (!json_is_string(sv))
			report(c,
			       "the value of \"%s\" must be the name of a "
			       "consent scope",
			       shown(key, kb));
		else
			resolve(c, NS_SCOPE, json_string_value(sv), &sc);
		if (pu != POL_NONE && sc != POL_NONE &&
		    !scope_covers(c->p, sc, pu))
			report(c,
			       "consent scope \"%s\" does not cover purpose "
			       "\"%s\"",
			       shown(c->p->scopes[sc].name, sb),
			       shown(key, kb));
		else if (member_ok && sc != POL_NONE) {
			rt->pc_purposes[rt->npc] = pu;
			rt->pc_scopes[rt->npc] = sc;
			rt->npc++;
		}
		pop(c);
	}
out:
	pop(c);
}

static void item_record_type(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {"label",	 "description",
					   "purposes",	 "legal_basis",
					   "source",	 "retention",
					   "consent",	 "purpose_consents",
					   "attachment", "max_attachment_bytes",
					   "fields",	 "notice_with",
					   NULL};
	pol_record_type *rt = elem;
	long long maxatt = 0;
	size_t i;

	rt->basis = rt->retention = rt->consent = rt->source = POL_NONE;
	/* resolved once every record type is known (parse_notice_with) */
	rt->notice_with = POL_NONE;
	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &rt->label);
	get_text(c, obj, "description", 0, &rt->description);
	get_ref_list(c, obj, "purposes", NS_PURPOSE, 1, 1, &rt->purposes,
		     &rt->npurposes);
	get_ref(c, obj, "legal_basis", NS_BASIS, 1, &rt->basis);
	get_ref(c, obj, "source", NS_SOURCE, 1, &rt->source);
	get_ref(c, obj, "retention", NS_RETENTION, 1, &rt->retention);
	get_ref(c, obj, "consent", NS_SCOPE, 0, &rt->consent);
	get_purpose_consents(c, obj, rt);
	get_bool(c, obj, "attachment", &rt->attachment);
	if (get_int(c, obj, "max_attachment_bytes", 0, 1, MAX_ATTACHMENT,
		    &maxatt) &&
	    !rt->attachment)
		report_in(c, "max_attachment_bytes",
			  "\"max_attachment_bytes\" needs \"attachment\": "
			  "true");
	if (rt->attachment)
		rt->max_attachment =
			maxatt > 0 ? (size_t)maxatt : DEFAULT_ATTACHMENT;
	rt->fields = get_map(c, obj, "fields", 1, !rt->attachment,
			     sizeof *rt->fields, -1, item_record_field,
			     &rt->nfields);
	if (rt->consent == POL_NONE && policy_basis_is_consent(c->p, rt->basis))
		report(c, "legal basis \"consent\" needs a \"consent\" scope");
	/* Record fields carry their record type's rules, so code that handles
	 * a pol_field need not know where it came from. */
	for (i = 0; i < rt->nfields; i++) {
		pol_field *f = &rt->fields[i];

		f->basis = rt->basis;
		f->retention = rt->retention;
		f->source = rt->source;
		f->consent = rt->consent;
		f->category = POL_NONE;
		if (rt->npurposes > 0) {
			f->purposes =
				xcalloc(c, rt->npurposes, sizeof *f->purposes);
			if (f->purposes == NULL)
				break;
			memcpy(f->purposes, rt->purposes,
			       rt->npurposes * sizeof *f->purposes);
			f->npurposes = rt->npurposes;
		}
	}
}

static void item_scope(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {"label", "description", "purposes",
					   "recipients", NULL};
	pol_scope *s = elem;

	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &s->label);
	get_text(c, obj, "description", 0, &s->description);
	get_ref_list(c, obj, "purposes", NS_PURPOSE, 1, 1, &s->purposes,
		     &s->npurposes);
}

/* A list of names that are not references: {"values": ["overdue"]}. */
static void get_name_list(ctx *c, json_t *obj, const char *key, int ident,
			  char ***out, size_t *n)
{
	json_t *v = json_object_get(obj, key), *e;
	size_t i;

	if (v == NULL)
		return;
	push_key(c, key);
	if (!json_is_array(v) || json_array_size(v) == 0) {
		report(c, "\"%s\" must be a non-empty array of strings", key);
		goto out;
	}
	*out = xcalloc(c, json_array_size(v), sizeof **out);
	if (*out == NULL)
		goto out;
	json_array_foreach(v, i, e)
	{
		push_index(c, i);
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > 200 ||
		    (ident && !is_identifier(json_string_value(e))))
			report(c, ident ? "expected a name: a-z, 0-9 and _, "
					  "starting with a letter"
					: "expected a non-empty string of at "
					  "most 200 bytes");
		else if (((*out)[*n] = xstrdup(c, json_string_value(e))) !=
			 NULL)
			(*n)++;
		pop(c);
	}
out:
	pop(c);
}

/* "select": {"record_type": R, "field": F, "values": [...]} or
 * {"record_type": R, "field": F, "given": true}. */
static void get_select(ctx *c, json_t *obj, pol_select *sel)
{
	static const char *const keys[] = {"record_type", "field", "values",
					   "given", NULL};
	json_t *v = json_object_get(obj, "select");
	char *field = NULL;
	char nb[SHOWN_BUF];

	sel->record_type = sel->field = POL_NONE;
	if (v == NULL)
		return;
	push_key(c, "select");
	if (!json_is_object(v)) {
		report(c, "\"select\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	get_ref(c, v, "record_type", NS_RECORD_TYPE, 1, &sel->record_type);
	get_string(c, v, "field", 1, &field);
	get_name_list(c, v, "values", 0, &sel->values, &sel->nvalues);
	get_bool(c, v, "given", &sel->given);
	if (field != NULL && sel->record_type != POL_NONE) {
		sel->field = policy_record_field(
			&c->p->record_types[sel->record_type], field);
		if (sel->field == POL_NONE)
			report_in(c, "field",
				  "record type \"%s\" has no field \"%s\"",
				  c->p->record_types[sel->record_type].name,
				  shown(field, nb));
	}
	if ((sel->nvalues > 0) == (sel->given != 0))
		report(c, "\"select\" needs either \"values\" or \"given\": "
			  "true");
out:
	free(field);
	pop(c);
}

int policy_country_in_eu_eea(const policy *p, const char *cc)
{
	/* A policy without its own list uses the EU/EEA of today. */
	if (p->countries.neu_eea == 0)
		return cc != NULL && ident_country_in_eea(cc);
	for (size_t i = 0; cc != NULL && i < p->countries.neu_eea; i++)
		if (strcmp(p->countries.eu_eea[i], cc) == 0)
			return 1;
	return 0;
}

int policy_country_adequate(const policy *p, const char *cc)
{
	for (size_t i = 0; cc != NULL && i < p->countries.nadequacy; i++)
		if (strcmp(p->countries.adequacy[i], cc) == 0)
			return 1;
	return 0;
}

static int safeguard_recorded(const pol_recipient *rc)
{
	/* "adequacy" is no safeguard of its own: the country must have it. */
	return rc->safeguard != NULL && strcmp(rc->safeguard, "adequacy") != 0;
}

int policy_transfer_ok(const policy *p, size_t ri)
{
	const pol_recipient *rc;

	if (ri >= p->nrecipients)
		return 0;
	rc = &p->recipients[ri];
	return policy_country_in_eu_eea(p, rc->country) ||
	       policy_country_adequate(p, rc->country) ||
	       safeguard_recorded(rc);
}

static void item_recipient(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {
		"label",      "description", "kind",
		"country",    "safeguard",   "purposes",
		"fields",     "categories",  "record_types",
		"everything", "select",	     "legal_ground",
		NULL};
	static const char *const kinds[] = {"processor", "third_party",
					    "authority", NULL};
	static const char *const safeguards[] = {"scc", "bcr", "adequacy",
						 NULL};
	pol_recipient *r = elem;
	json_t *v;
	int k;

	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &r->label);
	get_text(c, obj, "description", 0, &r->description);
	if (get_choice(c, obj, "kind", 1, kinds, &k))
		r->kind = (pol_recipient_kind)k;
	v = member(c, obj, "country", 1);
	if (v != NULL) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (ident_country_known(s))
			memcpy(r->country, s, 3);
		else
			report_in(c, "country",
				  "\"country\" must be an assigned ISO 3166-1 "
				  "alpha-2 code in upper case, such as \"FI\"");
	}
	if (get_choice(c, obj, "safeguard", 0, safeguards, &k))
		r->safeguard = xstrdup(c, safeguards[k]);
	get_ref_list(c, obj, "purposes", NS_PURPOSE, 1, 1, &r->purposes,
		     &r->npurposes);
	get_ref_list(c, obj, "fields", NS_FIELD, 0, 0, &r->fields, &r->nfields);
	get_ref_list(c, obj, "categories", NS_CATEGORY, 0, 0, &r->categories,
		     &r->ncategories);
	get_ref_list(c, obj, "record_types", NS_RECORD_TYPE, 0, 0,
		     &r->record_types, &r->nrecord_types);
	get_bool(c, obj, "everything", &r->everything);
	get_select(c, obj, &r->select);
	r->legal_ground = r->kind == RCP_AUTHORITY;
	get_bool(c, obj, "legal_ground", &r->legal_ground);
	if (r->everything &&
	    (r->nfields || r->ncategories || r->nrecord_types ||
	     r->select.record_type != POL_NONE))
		report_in(c, "everything",
			  "\"everything\" takes no \"fields\", "
			  "\"categories\", \"record_types\" or \"select\"");
	/* A transfer outside the EU/EEA (GDPR Chapter V) needs an adequacy
	 * decision for the country or a recorded safeguard. */
	if (r->country[0] != '\0' && c->p->countries.present &&
	    !policy_country_in_eu_eea(c->p, r->country) &&
	    !policy_country_adequate(c->p, r->country) &&
	    !safeguard_recorded(r))
		report_in(c, "country",
			  "recipient \"%s\" is in %s, outside the EU/EEA "
			  "without an adequacy decision: it needs a "
			  "\"safeguard\" (scc or bcr)",
			  r->name, r->country);
	else if (r->safeguard != NULL &&
		 strcmp(r->safeguard, "adequacy") == 0 &&
		 c->p->countries.present &&
		 !policy_country_adequate(c->p, r->country))
		report_in(c, "safeguard",
			  "\"safeguard\": \"adequacy\" but %s is not among "
			  "the countries with an adequacy decision",
			  r->country);
}

/* "countries": {"eu_eea": [...], "adequacy": [...]}. */
static void get_country_list(ctx *c, json_t *obj, const char *key,
			     char (**out)[3], size_t *n)
{
	json_t *v = member(c, obj, key, 1), *e;
	size_t i, k;

	if (v == NULL)
		return;
	push_key(c, key);
	if (!json_is_array(v)) {
		report(c, "\"%s\" must be an array of country codes", key);
		goto out;
	}
	*out = xcalloc(c, json_array_size(v) + 1, sizeof **out);
	if (*out == NULL)
		goto out;
	json_array_foreach(v, i, e)
	{
		const char *s = json_is_string(e) ? json_string_value(e) : "";
		int dup = 0;

		push_index(c, i);
		for (k = 0; k < *n; k++)
			dup |= strcmp((*out)[k], s) == 0;
		if (!ident_country_known(s))
			report(c, "expected an assigned ISO 3166-1 alpha-2 "
				  "code in upper case, such as \"FI\"");
		else if (dup)
			report(c, "duplicate country \"%s\"", s);
		else
			memcpy((*out)[(*n)++], s, 3);
		pop(c);
	}
out:
	pop(c);
}

static void parse_countries(ctx *c, json_t *root)
{
	static const char *const keys[] = {"eu_eea", "adequacy", NULL};
	json_t *v = json_object_get(root, "countries");
	policy *p = c->p;
	size_t i;

	if (v == NULL)
		return;
	push_key(c, "countries");
	if (!json_is_object(v)) {
		report(c, "\"countries\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	get_country_list(c, v, "eu_eea", &p->countries.eu_eea,
			 &p->countries.neu_eea);
	/* The list says which of the member states the notice names; a
	 * country that is not one would let transfers out without a
	 * safeguard. */
	for (i = 0; i < p->countries.neu_eea; i++)
		if (!ident_country_in_eea(p->countries.eu_eea[i]))
			report_in(c, "eu_eea",
				  "%s is not a member state of the EU/EEA: "
				  "a transfer there needs an adequacy "
				  "decision or a safeguard",
				  p->countries.eu_eea[i]);
	get_country_list(c, v, "adequacy", &p->countries.adequacy,
			 &p->countries.nadequacy);
	for (i = 0; i < p->countries.nadequacy; i++)
		if (policy_country_in_eu_eea(p, p->countries.adequacy[i]))
			report_in(c, "adequacy",
				  "%s is in the EU/EEA: it needs no adequacy "
				  "decision",
				  p->countries.adequacy[i]);
	p->countries.present = 1;
out:
	pop(c);
}

static void item_product_category(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {"label", "description", "products",
					   NULL};
	pol_product_category *pc = elem;

	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &pc->label);
	get_text(c, obj, "description", 0, &pc->description);
	get_name_list(c, obj, "products", 0, &pc->products, &pc->nproducts);
	if (json_object_get(obj, "products") == NULL)
		report(c, "missing required key \"products\"");
}

size_t policy_product_category(const policy *p, const char *product)
{
	size_t i, j;

	for (i = 0; product != NULL && i < p->nproduct_categories; i++)
		for (j = 0; j < p->product_categories[i].nproducts; j++)
			if (strcmp(p->product_categories[i].products[j],
				   product) == 0)
				return i;
	return POL_NONE;
}

size_t policy_product_category_named(const policy *p, const char *name)
{
	for (size_t i = 0; name != NULL && i < p->nproduct_categories; i++)
		if (strcmp(p->product_categories[i].name, name) == 0)
			return i;
	return POL_NONE;
}

int policy_scope_names(const policy *p, size_t sc, size_t ri)
{
	if (sc >= p->nscopes)
		return 0;
	for (size_t i = 0; i < p->scopes[sc].nrecipients; i++)
		if (p->scopes[sc].recipients[i] == ri)
			return 1;
	return 0;
}

int policy_recipient_field(const policy *p, size_t ri, size_t f)
{
	const pol_recipient *rc;
	size_t i;

	if (ri >= p->nrecipients || f >= p->nfields)
		return 0;
	rc = &p->recipients[ri];
	if (rc->everything)
		return 1;
	for (i = 0; i < rc->nfields; i++)
		if (rc->fields[i] == f)
			return 1;
	for (i = 0; i < rc->ncategories; i++)
		if (rc->categories[i] == p->fields[f].category)
			return 1;
	return 0;
}

int policy_recipient_record_type(const policy *p, size_t ri, size_t rt)
{
	const pol_recipient *rc;

	if (ri >= p->nrecipients || rt >= p->nrecord_types)
		return 0;
	rc = &p->recipients[ri];
	if (rc->everything)
		return 1;
	for (size_t i = 0; i < rc->nrecord_types; i++)
		if (rc->record_types[i] == rt)
			return 1;
	return 0;
}

/* Consent scopes' "recipients", read once the recipients are declared;
 * a third party that receives for direct marketing must be named by a
 * scope (its consent is what allows it). */
static void parse_scope_recipients(ctx *c, json_t *root)
{
	json_t *scopes = json_object_get(root, "consent_scopes"), *obj;
	policy *p = c->p;
	size_t i, k, ri, sc;

	if (json_is_object(scopes) && p->scopes != NULL) {
		push_key(c, "consent_scopes");
		for (k = 0; k < p->nscopes; k++) {
			pol_scope *s = &p->scopes[k];

			obj = json_object_get(scopes, s->name);
			if (!json_is_object(obj) ||
			    json_object_get(obj, "recipients") == NULL)
				continue;
			push_key(c, s->name);
			get_ref_list(c, obj, "recipients", NS_RECIPIENT, 0, 1,
				     &s->recipients, &s->nrecipients);
			pop(c);
		}
		pop(c);
	}
	if (!c->ns_ok[NS_RECIPIENT] || p->marketing.purpose == POL_NONE)
		return;
	push_key(c, "recipients");
	for (ri = 0; ri < p->nrecipients; ri++) {
		const pol_recipient *rc = &p->recipients[ri];
		int serves = 0, named = 0;

		if (rc->kind != RCP_THIRD_PARTY)
			continue;
		for (i = 0; i < rc->npurposes; i++)
			serves |= rc->purposes[i] == p->marketing.purpose;
		for (sc = 0; sc < p->nscopes; sc++)
			named |= policy_scope_names(p, sc, ri);
		if (serves && !named) {
			push_key(c, rc->name);
			report_in(c, "purposes",
				  "third party \"%s\" receives data for direct "
				  "marketing, but no consent scope names it in "
				  "its \"recipients\"",
				  rc->name);
			pop(c);
		}
	}
	pop(c);
}

static void item_role(ctx *c, json_t *obj, void *elem)
{
	static const char *const keys[] = {
		"label",	 "description", "purposes", "categories",
		"unmasked_hetu", "audit",	NULL};
	pol_role *r = elem;

	check_keys(c, obj, keys);
	get_text(c, obj, "label", 1, &r->label);
	get_text(c, obj, "description", 0, &r->description);
	get_ref_list(c, obj, "purposes", NS_PURPOSE, 1, 1, &r->purposes,
		     &r->npurposes);
	get_ref_list(c, obj, "categories", NS_CATEGORY, 1, 0, &r->categories,
		     &r->ncategories);
	get_bool(c, obj, "unmasked_hetu", &r->unmasked_hetu);
	get_bool(c, obj, "audit", &r->audit);
}

/* ---- top-level sections ---- */

static void parse_controller(ctx *c, json_t *root)
{
	static const char *const keys[] = {"name", "address", "business_id",
					   "email", NULL};
	json_t *v = member(c, root, "controller", 1);
	policy *p = c->p;

	if (v == NULL)
		return;
	push_key(c, "controller");
	if (!json_is_object(v)) {
		report(c, "\"controller\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	get_string(c, v, "name", 1, &p->controller.name);
	get_string(c, v, "address", 1, &p->controller.address);
	get_string(c, v, "business_id", 1, &p->controller.business_id);
	if (p->controller.business_id != NULL &&
	    !ytunnus_ok(p->controller.business_id))
		report_in(c, "business_id",
			  "invalid Y-tunnus in \"business_id\": expected "
			  "NNNNNNN-T with a valid check digit");
	get_string(c, v, "email", 0, &p->controller.email);
	if (p->controller.email != NULL && !email_ok(p->controller.email))
		report_in(c, "email", "invalid e-mail address in \"email\"");
out:
	pop(c);
}

static void parse_responsible(ctx *c, json_t *root)
{
	static const char *const keys[] = {"name", "email", NULL};
	json_t *v = member(c, root, "responsible", 1);
	policy *p = c->p;

	if (v == NULL)
		return;
	push_key(c, "responsible");
	if (!json_is_object(v)) {
		report(c, "\"responsible\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	get_string(c, v, "name", 1, &p->responsible.name);
	get_string(c, v, "email", 1, &p->responsible.email);
	if (p->responsible.email != NULL && !email_ok(p->responsible.email))
		report_in(c, "email", "invalid e-mail address in \"email\"");
out:
	pop(c);
}

/* A web address shown to people: http(s), no spaces, quotes or controls. */
static int url_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n > 2048 ||
	    (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= 0x20 || ch == 0x7f || ch == '"' || ch == '<' ||
		    ch == '>' || ch == '\\' || ch == '`')
			return 0;
	}
	return n > 8;
}

/* The supervisory authority (optional): where a data subject may lodge a
 * complaint (GDPR Art. 77), named in every access report. */
static void parse_supervisory(ctx *c, json_t *root)
{
	static const char *const keys[] = {"name", "address", "url", NULL};
	json_t *v = json_object_get(root, "supervisory_authority");
	policy *p = c->p;

	if (v == NULL)
		return;
	push_key(c, "supervisory_authority");
	if (!json_is_object(v)) {
		report(c, "\"supervisory_authority\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	get_text(c, v, "name", 1, &p->supervisory.name);
	get_string(c, v, "address", 1, &p->supervisory.address);
	get_string(c, v, "url", 0, &p->supervisory.url);
	if (p->supervisory.url != NULL && !url_ok(p->supervisory.url))
		report_in(c, "url",
			  "\"url\" must be an http or https address without "
			  "spaces or quotes");
	p->supervisory.present = 1;
out:
	pop(c);
}

/* settings.financial_year_end: "MM-DD", a day every year has (not 02-29),
 * so that each year's financial year ends on the same date. */
static void parse_fy_end(ctx *c, json_t *v)
{
	json_t *fy = json_object_get(v, "financial_year_end");
	const char *s;
	int ok, m = 0, d = 0;

	if (fy == NULL)
		return;
	s = json_is_string(fy) ? json_string_value(fy) : "";
	ok = strlen(s) == 5 && s[2] == '-';
	for (int i = 0; ok && i < 5; i++)
		ok = i == 2 || (s[i] >= '0' && s[i] <= '9');
	if (ok) {
		m = (s[0] - '0') * 10 + (s[1] - '0');
		d = (s[3] - '0') * 10 + (s[4] - '0');
		ok = m >= 1 && m <= 12 && d >= 1 &&
		     ident_date_exists(2001, m, d);
	}
	if (!ok) {
		report_in(c, "financial_year_end",
			  "\"financial_year_end\" must be the last day of "
			  "the financial year as \"MM-DD\" (a day every "
			  "year has), such as \"12-31\"");
		return;
	}
	c->p->settings.fy_month = m;
	c->p->settings.fy_day = d;
}

static void parse_settings(ctx *c, json_t *root)
{
	static const char *const keys[] = {
		"allow_temporary_hetu",	 "derive_sex_from_hetu",
		"default_purpose",	 "phone_country_code",
		"customer_number_start", "operator_role",
		"legal_claims_purpose",	 "financial_year_end",
		"security_section",	 NULL};
	json_t *v = json_object_get(root, "settings"), *cc;
	policy *p = c->p;
	long long start;

	memcpy(p->settings.country_code, "358", 4);
	p->settings.customer_number_start = DEFAULT_CUSTOMER_NO;
	p->settings.default_purpose = p->npurposes > 0 ? 0 : POL_NONE;
	p->settings.operator_role = POL_NONE;
	p->settings.legal_claims_purpose = POL_NONE;
	p->settings.fy_month = 12;
	p->settings.fy_day = 31;
	if (v == NULL) {
		if (p->nroles > 0)
			report(c,
			       "\"settings\" must name the \"operator_role\": "
			       "the role of whoever holds the master key");
		return;
	}
	push_key(c, "settings");
	if (!json_is_object(v)) {
		report(c, "\"settings\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	get_bool(c, v, "allow_temporary_hetu",
		 &p->settings.allow_temporary_hetu);
	get_bool(c, v, "derive_sex_from_hetu",
		 &p->settings.derive_sex_from_hetu);
	if (json_object_get(v, "default_purpose") != NULL)
		get_ref(c, v, "default_purpose", NS_PURPOSE, 0,
			&p->settings.default_purpose);
	cc = json_object_get(v, "phone_country_code");
	if (cc != NULL) {
		const char *s = json_is_string(cc) ? json_string_value(cc) : "";
		size_t n = strlen(s), i;
		int ok = n >= 1 && n <= 3 && s[0] != '0';

		for (i = 0; i < n && ok; i++)
			ok = s[i] >= '0' && s[i] <= '9';
		if (ok)
			memcpy(p->settings.country_code, s, n + 1);
		else
			report_in(c, "phone_country_code",
				  "\"phone_country_code\" must be a calling "
				  "code of 1-3 digits without +, such as "
				  "\"358\"");
	}
	if (get_int(c, v, "customer_number_start", 0, 1, MAX_CUSTOMER_NO_START,
		    &start))
		p->settings.customer_number_start = (long)start;
	/* Whoever holds the master key can open everything; the policy says
	 * which of its roles that is, so that the notice and the register
	 * agree on it. */
	if (p->nroles > 0)
		get_ref(c, v, "operator_role", NS_ROLE, 1,
			&p->settings.operator_role);
	else if (json_object_get(v, "operator_role") != NULL)
		report_in(c, "operator_role",
			  "\"operator_role\" names a role, and the policy "
			  "declares none");
	if (json_object_get(v, "legal_claims_purpose") != NULL)
		get_ref(c, v, "legal_claims_purpose", NS_PURPOSE, 0,
			&p->settings.legal_claims_purpose);
	parse_fy_end(c, v);
out:
	pop(c);
}

/* The "marketing" section: which purpose, roles, objection, scopes, kinds
 * and record type the direct-marketing rules act on. */
static void parse_marketing(ctx *c, json_t *root)
{
	static const char *const keys[] = {"purpose",
					   "roles",
					   "prohibition",
					   "email_consent",
					   "sms_consent",
					   "third_party_consent",
					   "personalisation_consent",
					   "customer_kind",
					   "business_contact_kind",
					   "sale_record_type",
					   "sale_product_field",
					   "sale_sources",
					   "email_field",
					   "sms_field",
					   "automated_call_consent",
					   "register_fields",
					   "register_retention",
					   "register_legal_basis",
					   NULL};
	json_t *v = json_object_get(root, "marketing");
	policy *p = c->p;
	char *pf = NULL;
	char nb[SHOWN_BUF];

	p->marketing.purpose = p->marketing.prohibition = POL_NONE;
	p->marketing.email_consent = p->marketing.sms_consent = POL_NONE;
	p->marketing.third_party_consent = POL_NONE;
	p->marketing.personalisation_consent = POL_NONE;
	p->marketing.customer_kind = p->marketing.contact_kind = POL_NONE;
	p->marketing.sale_record = POL_NONE;
	p->marketing.sale_product_field = POL_NONE;
	p->marketing.email_field = p->marketing.sms_field = POL_NONE;
	p->marketing.automated_call_consent = POL_NONE;
	p->marketing.register_retention = p->marketing.register_basis =
		POL_NONE;
	if (v == NULL)
		return;
	push_key(c, "marketing");
	if (!json_is_object(v)) {
		report(c, "\"marketing\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	get_ref(c, v, "purpose", NS_PURPOSE, 1, &p->marketing.purpose);
	get_ref_list(c, v, "roles", NS_ROLE, 0, 0, &p->marketing.roles,
		     &p->marketing.nroles);
	get_ref(c, v, "prohibition", NS_OBJECTION, 1,
		&p->marketing.prohibition);
	get_ref(c, v, "email_consent", NS_SCOPE, 0,
		&p->marketing.email_consent);
	get_ref(c, v, "sms_consent", NS_SCOPE, 0, &p->marketing.sms_consent);
	get_ref(c, v, "third_party_consent", NS_SCOPE, 0,
		&p->marketing.third_party_consent);
	get_ref(c, v, "personalisation_consent", NS_SCOPE, 0,
		&p->marketing.personalisation_consent);
	get_ref(c, v, "customer_kind", NS_KIND, 0, &p->marketing.customer_kind);
	get_ref(c, v, "business_contact_kind", NS_KIND, 0,
		&p->marketing.contact_kind);
	get_ref(c, v, "sale_record_type", NS_RECORD_TYPE, 0,
		&p->marketing.sale_record);
	get_string(c, v, "sale_product_field", 0, &pf);
	if (pf != NULL && p->marketing.sale_record == POL_NONE)
		report_in(c, "sale_product_field",
			  "\"sale_product_field\" needs \"sale_record_type\"");
	else if (pf != NULL) {
		p->marketing.sale_product_field = policy_record_field(
			&p->record_types[p->marketing.sale_record], pf);
		if (p->marketing.sale_product_field == POL_NONE)
			report_in(
				c, "sale_product_field",
				"record type \"%s\" has no field \"%s\"",
				p->record_types[p->marketing.sale_record].name,
				shown(pf, nb));
	}
	free(pf);
	get_ref_list(c, v, "sale_sources", NS_SOURCE, 0, 0,
		     &p->marketing.sale_sources, &p->marketing.nsale_sources);
	get_ref(c, v, "email_field", NS_FIELD, 0, &p->marketing.email_field);
	get_ref(c, v, "sms_field", NS_FIELD, 0, &p->marketing.sms_field);
	get_ref(c, v, "automated_call_consent", NS_SCOPE, 0,
		&p->marketing.automated_call_consent);
	get_ref_list(c, v, "register_fields", NS_FIELD, 0, 1,
		     &p->marketing.register_fields,
		     &p->marketing.nregister_fields);
	get_ref(c, v, "register_retention", NS_RETENTION, 0,
		&p->marketing.register_retention);
	get_ref(c, v, "register_legal_basis", NS_BASIS, 0,
		&p->marketing.register_basis);
	if ((p->marketing.nregister_fields > 0) !=
		    (p->marketing.register_retention != POL_NONE) ||
	    (p->marketing.nregister_fields > 0) !=
		    (p->marketing.register_basis != POL_NONE))
		report(c, "\"register_fields\", \"register_retention\" and "
			  "\"register_legal_basis\" go together");
	for (size_t i = 0; i < p->marketing.nregister_fields; i++)
		if (p->marketing.purpose != POL_NONE &&
		    !policy_field_serves(p, p->marketing.register_fields[i],
					 p->marketing.purpose))
			report_in(c, "register_fields",
				  "field \"%s\" does not serve the marketing "
				  "purpose",
				  p->fields[p->marketing.register_fields[i]]
					  .name);
out:
	pop(c);
}

int policy_marketing_role(const policy *p, size_t ro)
{
	for (size_t i = 0; i < p->marketing.nroles; i++)
		if (p->marketing.roles[i] == ro)
			return 1;
	return 0;
}

static void parse_notice(ctx *c, json_t *root)
{
	static const char *const keys[] = {"key",     "title",	    "body",
					   "chapter", "subsection", NULL};
	json_t *v = json_object_get(root, "notice"), *e;
	policy *p = c->p;
	char nb[SHOWN_BUF];
	size_t i, k;

	if (v == NULL)
		return;
	push_key(c, "notice");
	if (!json_is_array(v)) {
		report(c, "\"notice\" must be an array of sections");
		goto out;
	}
	if (json_array_size(v) == 0)
		goto out;
	p->sections = xcalloc(c, json_array_size(v), sizeof *p->sections);
	if (p->sections == NULL)
		goto out;
	json_array_foreach(v, i, e)
	{
		pol_section *s = &p->sections[p->nsections++];

		push_index(c, i);
		if (!json_is_object(e)) {
			report(c, "a notice section must be an object");
			pop(c);
			continue;
		}
		check_keys(c, e, keys);
		get_string(c, e, "key", 1, &s->key);
		if (s->key != NULL) {
			int dup = 0;

			for (k = 0; k + 1 < p->nsections; k++)
				dup |= p->sections[k].key != NULL &&
				       strcmp(p->sections[k].key, s->key) == 0;
			if (!is_identifier(s->key))
				report_in(c, "key",
					  "invalid section key: use a-z, 0-9 "
					  "and _, start with a letter, at "
					  "most %d characters",
					  NAME_MAX_LEN);
			else if (dup)
				report_in(c, "key",
					  "duplicate section key \"%s\"",
					  shown(s->key, nb));
		}
		get_text(c, e, "title", 1, &s->title);
		get_text(c, e, "body", 0, &s->body);
		get_text(c, e, "chapter", 0, &s->chapter);
		get_bool(c, e, "subsection", &s->subsection);
		if (s->subsection && s->chapter.fi != NULL)
			report_in(c, "subsection",
				  "a section is either a \"subsection\" or "
				  "opens a \"chapter\", not both");
		pop(c);
	}
out:
	pop(c);
}

static void parse_paperwork(ctx *c, json_t *root);
/* ---- additions: the notice's grouping of record types, the rights ---- */

const char *const policy_right_names[PR_COUNT] = {
	"access",      "rectification", "erasure",	   "restriction",
	"portability", "objection",	"withdraw_consent"};

/* "notice_with": an earlier record type the notice lists this one with. */
static void parse_notice_with(ctx *c, json_t *root)
{
	json_t *types = json_object_get(root, "record_types"), *item, *v;
	policy *p = c->p;
	const char *name;
	size_t i = 0, k;

	if (!json_is_object(types) || !c->ns_ok[NS_RECORD_TYPE])
		return;
	push_key(c, "record_types");
	json_object_foreach(types, name, item)
	{
		if (i >= p->nrecord_types)
			break;
		v = json_object_get(item, "notice_with");
		if (v != NULL) {
			push_key(c, name);
			k = json_is_string(v) ? policy_record_type(
							p, json_string_value(v))
					      : POL_NONE;
			if (k == POL_NONE || k >= i)
				report_in(c, "notice_with",
					  "\"notice_with\" must name a record "
					  "type declared before this one");
			else
				p->record_types[i].notice_with = k;
			pop(c);
		}
		i++;
	}
	pop(c);
}

static void parse_rights(ctx *c, json_t *root)
{
	static const char *const keys[] = {"access",	       "rectification",
					   "erasure",	       "restriction",
					   "portability",      "objection",
					   "withdraw_consent", NULL};
	json_t *v = json_object_get(root, "rights");
	size_t i;

	if (v == NULL)
		return;
	push_key(c, "rights");
	if (!json_is_object(v)) {
		report(c, "\"rights\" must be an object of texts");
	} else {
		check_keys(c, v, keys);
		for (i = 0; i < PR_COUNT; i++)
			get_text(c, v, policy_right_names[i], 0,
				 &c->p->rights[i]);
	}
	pop(c);
}

static void parse_root(ctx *c, json_t *root)
{
	static const char *const keys[] = {"rekisteri_policy",
					   "controller",
					   "responsible",
					   "register_name",
					   "supervisory_authority",
					   "settings",
					   "purposes",
					   "legal_bases",
					   "sources",
					   "categories",
					   "retention",
					   "fields",
					   "subject_kinds",
					   "record_types",
					   "consent_scopes",
					   "objections",
					   "recipients",
					   "roles",
					   "marketing",
					   "notice",
					   "statistics",
					   "rights",
					   "countries",
					   "product_categories",
					   NULL};
	static const char *const kinds_needed[] = {"customer", "prospect",
						   "contact", NULL};
	policy *p = c->p;
	long long format;

	check_keys(c, root, keys);
	if (json_object_get(root, "rekisteri_policy") != NULL &&
	    !json_is_integer(json_object_get(root, "rekisteri_policy")))
		report_in(c, "rekisteri_policy",
			  "\"rekisteri_policy\" must be the format number 1");
	else if (get_int(c, root, "rekisteri_policy", 1, LLONG_MIN, LLONG_MAX,
			 &format) &&
		 format != 1)
		report_in(c, "rekisteri_policy",
			  "unsupported policy format: this version reads "
			  "format 1");
	p->format = 1;
	parse_controller(c, root);
	parse_responsible(c, root);
	get_text(c, root, "register_name", 1, &p->register_name);
	parse_supervisory(c, root);

	/* Declarations first, then what refers to them. */
	p->purposes = get_map(c, root, "purposes", 1, 1, sizeof *p->purposes,
			      NS_PURPOSE, item_named, &p->npurposes);
	p->bases = get_map(c, root, "legal_bases", 1, 1, sizeof *p->bases,
			   NS_BASIS, item_basis, &p->nbases);
	p->sources = get_map(c, root, "sources", 1, 1, sizeof *p->sources,
			     NS_SOURCE, item_source, &p->nsources);
	p->categories =
		get_map(c, root, "categories", 1, 1, sizeof *p->categories,
			NS_CATEGORY, item_named, &p->ncategories);
	p->retention = get_map(c, root, "retention", 1, 1, sizeof *p->retention,
			       NS_RETENTION, item_retention, &p->nretention);
	p->scopes = get_map(c, root, "consent_scopes", 0, 0, sizeof *p->scopes,
			    NS_SCOPE, item_scope, &p->nscopes);
	p->fields = get_map(c, root, "fields", 1, 1, sizeof *p->fields,
			    NS_FIELD, item_field, &p->nfields);
	p->kinds = get_map(c, root, "subject_kinds", 1, 1, sizeof *p->kinds,
			   NS_KIND, item_kind, &p->nkinds);
	parse_field_kinds(c, root);
	p->record_types =
		get_map(c, root, "record_types", 0, 0, sizeof *p->record_types,
			NS_RECORD_TYPE, item_record_type, &p->nrecord_types);
	p->objections =
		get_map(c, root, "objections", 0, 0, sizeof *p->objections,
			NS_OBJECTION, item_named, &p->nobjections);
	parse_countries(c, root);
	p->recipients =
		get_map(c, root, "recipients", 0, 0, sizeof *p->recipients,
			NS_RECIPIENT, item_recipient, &p->nrecipients);
	p->product_categories =
		get_map(c, root, "product_categories", 0, 0,
			sizeof *p->product_categories, -1,
			item_product_category, &p->nproduct_categories);
	p->roles = get_map(c, root, "roles", 0, 0, sizeof *p->roles, NS_ROLE,
			   item_role, &p->nroles);
	parse_notice_with(c, root);
	parse_notice(c, root);
	parse_rights(c, root);
	parse_settings(c, root);
	parse_marketing(c, root);
	parse_paperwork(c, root);
	parse_scope_recipients(c, root);

	if (c->ns_ok[NS_KIND]) {
		size_t i;

		push_key(c, "subject_kinds");
		for (i = 0; kinds_needed[i] != NULL; i++)
			if (policy_kind(p, kinds_needed[i]) == POL_NONE)
				report(c, "missing subject kind \"%s\"",
				       kinds_needed[i]);
		pop(c);
	}
}

/* ---- syntax errors ---- */

/* Jansson's own messages may quote the text near the error, which could be
 * personal data; only these fixed phrases are passed on. */
static const char *syntax_message(const json_error_t *e)
{
	static const struct {
		const char *prefix, *msg;
	} known[] = {
		{"unexpected newline", "line break inside a string"},
		{"control character", "control character inside a string"},
		{"invalid escape", "invalid escape in a string"},
		{"invalid Unicode", "invalid \\u escape in a string"},
		{"invalid token", "invalid token"},
		{"unexpected token", "unexpected token"},
		{"string or '}' expected", "expected a key in quotes or '}'"},
		{"':' expected", "expected ':'"},
		{"'}' expected", "expected ',' or '}'"},
		{"']' expected", "expected ',' or ']'"},
		{"'[' or '{' expected", "expected a JSON object"},
	};
	size_t i;

	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strncmp(e->text, known[i].prefix,
			    strlen(known[i].prefix)) == 0)
			return known[i].msg;
	return "invalid JSON";
}

static void syntax_error(ctx *c, const json_error_t *e)
{
	size_t pos = e->position < 0 ? 0 : (size_t)e->position, off;
	char msg[SHOWN_BUF + 80], key[SHOWN_MAX * 4 + 1], nb[SHOWN_BUF];
	const char *m;
	int line, column;

	if (pos > c->len)
		pos = c->len;
	/* Jansson's position is just past the offending token; point at the
	 * token's first character instead. */
	off = pos > 0 ? jsonpos_token_start(c->text, c->len, pos - 1) : 0;
	switch (json_error_code(e)) {
	case json_error_invalid_utf8:
		m = "invalid UTF-8";
		off = pos;
		break;
	case json_error_premature_end_of_input:
		if (jsonpos_unterminated_string(c->text, c->len, off)) {
			m = "unterminated string";
		} else {
			m = "unexpected end of input";
			off = pos;
		}
		break;
	case json_error_end_of_input_expected:
		m = "unexpected text after the end of the policy";
		break;
	case json_error_duplicate_key:
		jsonpos_string_at(c->text, c->len, off, key, sizeof key);
		snprintf(msg, sizeof msg, "duplicate key \"%s\"",
			 shown(key, nb));
		m = msg;
		break;
	case json_error_stack_overflow:
		m = "nested too deeply";
		break;
	case json_error_numeric_overflow:
		m = "number out of range";
		break;
	case json_error_null_character:
	case json_error_null_byte_in_key:
		m = "\\u0000 is not allowed in strings";
		break;
	case json_error_out_of_memory:
		m = "out of memory";
		break;
	case json_error_invalid_syntax:
		snprintf(msg, sizeof msg, "syntax error: %s",
			 syntax_message(e));
		m = msg;
		break;
	default:
		m = "invalid JSON";
		break;
	}
	jsonpos_offset(c->text, c->len, off, &line, &column);
	add_diag(c, line, column, m);
}

/* ---- entry points ---- */

policy *policy_parse(const char *text, size_t len, const char *filename,
		     pol_diag_fn diag, void *ud)
{
	ctx c;
	json_t *root = NULL;
	json_error_t err;
	policy *p = NULL;
	size_t i;

	memset(&c, 0, sizeof c);
	c.text = text != NULL ? text : "";
	c.len = text != NULL ? len : 0;
	c.file = filename != NULL ? filename : "policy";
	c.fn = diag;
	c.ud = ud;

	for (i = 0; i < c.len && (c.text[i] == ' ' || c.text[i] == '\t' ||
				  c.text[i] == '\n' || c.text[i] == '\r');
	     i++)
		;
	if (i == c.len) {
		add_diag(&c, 1, 1, "the policy is empty");
		goto out;
	}
	root = json_loadb(c.text, c.len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		syntax_error(&c, &err);
		goto out;
	}
	if (!json_is_object(root)) {
		report(&c, "the policy must be a JSON object");
		goto out;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		c.oom = 1;
		c.failed = 1;
		goto out;
	}
	c.p = p;
	parse_root(&c, root);
out:
	json_decref(root);
	if (c.failed) {
		policy_free(p);
		p = NULL;
	}
	flush_diags(&c);
	return p;
}

policy *policy_load_file(const char *path, pol_diag_fn diag, void *ud,
			 char **text_out)
{
	FILE *f = NULL;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;
	policy *p = NULL;
	const char *why = NULL;

	if (text_out != NULL)
		*text_out = NULL;
	if (path == NULL) {
		if (diag != NULL)
			diag(ud, "policy", 0, 0, "no policy file given");
		return NULL;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		why = strerror(errno);
		goto out;
	}
	for (;;) {
		if (cap - len < 4096 + 1) {
			cap = cap ? cap * 2 : 16384;
			nbuf = realloc(buf, cap);
			if (nbuf == NULL) {
				why = "out of memory";
				goto out;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (len > MAX_POLICY_BYTES) {
			why = "the file is larger than 16 MiB";
			goto out;
		}
		if (n == 0) {
			if (ferror(f)) {
				why = "read error";
				goto out;
			}
			break;
		}
	}
	if (buf == NULL) {
		why = "out of memory";
		goto out;
	}
	buf[len] = '\0';
	p = policy_parse(buf, len, path, diag, ud);
	if (text_out != NULL) {
		*text_out = buf;
		buf = NULL;
	}
out:
	if (why != NULL && diag != NULL) {
		char msg[200];

		snprintf(msg, sizeof msg, "cannot read the policy: %s", why);
		diag(ud, path, 0, 0, msg);
	}
	if (f != NULL)
		fclose(f);
	free(buf);
	return p;
}

/* ---- the controller's paperwork: records of processing, statistics ------
 */

/* A field named under key of the "statistics" section, of one of the
 * types allowed (PT_TEXT ends the list), that needs no consent: anonymous
 * statistics are further processing for a statistical purpose (GDPR Art.
 * 5(1)(b), 89), which a withdrawn consent would not allow. */
static void stats_field(ctx *c, json_t *v, const char *key,
			const pol_type *types, size_t *out)
{
	const pol_field *f;
	size_t i;

	*out = POL_NONE;
	if (json_object_get(v, key) == NULL)
		return;
	get_ref(c, v, key, NS_FIELD, 0, out);
	if (*out == POL_NONE)
		return;
	f = &c->p->fields[*out];
	for (i = 0; types[i] != PT_TEXT && types[i] != f->type; i++)
		;
	if (types[i] != f->type) {
		report_in(c, key,
			  "\"%s\" names a field of type %s, which "
			  "this dimension cannot use",
			  key, policy_type_name(f->type));
		*out = POL_NONE;
	} else if (f->consent != POL_NONE) {
		report_in(c, key,
			  "\"%s\" names a field that needs a consent: "
			  "statistics use no such field",
			  key);
		*out = POL_NONE;
	}
}

static void parse_paperwork(ctx *c, json_t *root)
{
	static const char *const keys[] = {
		"purpose",	    "min_cell",
		"birth_date_field", "hetu_field",
		"gender_field",	    "postal_code_field",
		"country_field",    "product_record_type",
		"product_field",    NULL};
	static const pol_type t_date[] = {PT_DATE, PT_TEXT};
	static const pol_type t_hetu[] = {PT_HETU, PT_TEXT};
	static const pol_type t_enum[] = {PT_ENUM, PT_TEXT};
	static const pol_type t_postal[] = {PT_POSTAL_CODE, PT_TEXT};
	static const pol_type t_country[] = {PT_COUNTRY, PT_TEXT};
	json_t *set = json_object_get(root, "settings");
	json_t *v = json_object_get(root, "statistics"), *sec;
	policy *p = c->p;
	long long k;
	size_t i;

	p->security_section = POL_NONE;
	p->statistics.purpose = POL_NONE;
	p->statistics.min_cell = 5;
	p->statistics.birth_date = p->statistics.hetu = POL_NONE;
	p->statistics.gender = p->statistics.postal_code = POL_NONE;
	p->statistics.country = POL_NONE;
	p->statistics.product_record = p->statistics.product_field = POL_NONE;
	sec = json_is_object(set) ? json_object_get(set, "security_section")
				  : NULL;
	if (sec != NULL) {
		push_key(c, "settings");
		for (i = 0; json_is_string(sec) && i < p->nsections; i++)
			if (p->sections[i].key != NULL &&
			    strcmp(p->sections[i].key,
				   json_string_value(sec)) == 0)
				p->security_section = i;
		if (p->security_section == POL_NONE)
			report_in(c, "security_section",
				  "\"security_section\" must be the key of a "
				  "section of the \"notice\"");
		pop(c);
	}
	if (v == NULL)
		return;
	push_key(c, "statistics");
	if (!json_is_object(v)) {
		report(c, "\"statistics\" must be an object");
		goto out;
	}
	check_keys(c, v, keys);
	if (json_object_get(v, "purpose") != NULL)
		get_ref(c, v, "purpose", NS_PURPOSE, 0, &p->statistics.purpose);
	/* k below 3 would release cells of one or two people. */
	if (get_int(c, v, "min_cell", 0, 3, 1000, &k))
		p->statistics.min_cell = (int)k;
	stats_field(c, v, "birth_date_field", t_date,
		    &p->statistics.birth_date);
	stats_field(c, v, "hetu_field", t_hetu, &p->statistics.hetu);
	stats_field(c, v, "gender_field", t_enum, &p->statistics.gender);
	stats_field(c, v, "postal_code_field", t_postal,
		    &p->statistics.postal_code);
	stats_field(c, v, "country_field", t_country, &p->statistics.country);
	if (json_object_get(v, "product_record_type") != NULL)
		get_ref(c, v, "product_record_type", NS_RECORD_TYPE, 0,
			&p->statistics.product_record);
	if (p->statistics.product_record != POL_NONE) {
		const pol_record_type *rt =
			&p->record_types[p->statistics.product_record];
		json_t *pf = json_object_get(v, "product_field");

		if (rt->consent != POL_NONE)
			report_in(c, "product_record_type",
				  "\"product_record_type\" names a record "
				  "type that needs a consent: statistics use "
				  "no such records");
		if (!json_is_string(pf))
			report_in(c, "product_field",
				  "\"product_field\" must name a text field of "
				  "the \"product_record_type\"");
		else
			p->statistics.product_field =
				policy_record_field(rt, json_string_value(pf));
		if (json_is_string(pf) &&
		    (p->statistics.product_field == POL_NONE ||
		     rt->fields[p->statistics.product_field].type != PT_TEXT)) {
			report_in(c, "product_field",
				  "\"product_field\" must name a text field of "
				  "the \"product_record_type\"");
			p->statistics.product_field = POL_NONE;
		}
		if (rt->consent != POL_NONE)
			p->statistics.product_record =
				p->statistics.product_field = POL_NONE;
	} else if (json_object_get(v, "product_field") != NULL) {
		report_in(
			c, "product_field",
			"\"product_field\" needs the \"product_record_type\"");
	}
out:
	pop(c);
}

/* ---- what the notice needs and the policy leaves out (warnings) ----
 */

size_t policy_purpose_bases(const policy *p, size_t pu, size_t *out, size_t cap)
{
	size_t n = 0, b, i;

	for (b = 0; b < p->nbases && n < cap; b++) {
		int used = 0;

		for (i = 0; i < p->nfields && !used; i++)
			used = p->fields[i].basis == b &&
			       policy_field_serves(p, i, pu);
		for (i = 0; i < p->nrecord_types && !used; i++) {
			const pol_record_type *rt = &p->record_types[i];
			size_t k;

			for (k = 0; k < rt->npurposes && !used; k++)
				used = rt->basis == b && rt->purposes[k] == pu;
		}
		if (used)
			out[n++] = b;
	}
	return n;
}

static int basis_used(const policy *p, size_t b)
{
	size_t i;

	for (i = 0; i < p->nfields; i++)
		if (p->fields[i].basis == b)
			return 1;
	for (i = 0; i < p->nrecord_types; i++)
		if (p->record_types[i].basis == b)
			return 1;
	return 0;
}

size_t policy_warnings(const policy *p, const char *text, size_t len,
		       const char *filename, pol_diag_fn warn, void *ud)
{
	ctx c;
	size_t i, n, bases[1];
	char nb[SHOWN_BUF];

	memset(&c, 0, sizeof c);
	c.text = text != NULL ? text : "";
	c.len = text != NULL ? len : 0;
	c.file = filename != NULL ? filename : "policy";
	c.fn = warn;
	c.ud = ud;
	push_key(&c, "purposes");
	for (i = 0; i < p->npurposes; i++)
		if (policy_purpose_bases(p, i, bases, 1) == 0) {
			push_key(&c, p->purposes[i].name);
			report_key(&c,
				   "purpose \"%s\" has no legal basis: no "
				   "field or record type serves it (GDPR "
				   "Art. "
				   "13(1)(c))",
				   shown(p->purposes[i].name, nb));
			pop(&c);
		}
	pop(&c);
	push_key(&c, "legal_bases");
	for (i = 0; i < p->nbases; i++)
		if (p->bases[i].gdpr != NULL &&
		    strcmp(p->bases[i].gdpr, "6(1)(f)") == 0 &&
		    p->bases[i].interests.fi == NULL && basis_used(p, i)) {
			push_key(&c, p->bases[i].name);
			report_key(&c,
				   "legal basis \"%s\" (legitimate "
				   "interest) "
				   "is used but states no "
				   "\"interests\": the "
				   "notice must say which legitimate "
				   "interests are pursued (GDPR Art. "
				   "13(1)(d))",
				   shown(p->bases[i].name, nb));
			pop(&c);
		}
	pop(&c);
	if (!p->supervisory.present)
		report(&c, "no \"supervisory_authority\": the notice must "
			   "tell of the right to lodge a complaint with a "
			   "supervisory authority (GDPR Art. 13(2)(d), "
			   "77)");
	/* At the "rights" key when the policy has one, else at the top.
	 */
	for (i = 0, n = 0; i < PR_COUNT; i++)
		n |= p->rights[i].fi != NULL;
	if (n)
		push_key(&c, "rights");
	for (i = 0; i < PR_COUNT; i++) {
		if ((i != PR_PORTABILITY && i != PR_RESTRICTION) ||
		    p->rights[i].fi != NULL)
			continue;
		report_at(&c, n != 0,
			  "no \"rights\".\"%s\": the notice must tell of "
			  "the right to %s (GDPR Art. 13(2)(b))",
			  policy_right_names[i],
			  i == PR_PORTABILITY ? "data portability"
					      : "restriction of processing");
	}
	if (n)
		pop(&c);
	push_key(&c, "retention");
	for (i = 0; i < p->nretention; i++)
		if (p->retention[i].from == RET_RELATIONSHIP_END &&
		    p->retention[i].criteria.fi == NULL) {
			push_key(&c, p->retention[i].name);
			report_key(&c,
				   "retention rule \"%s\" is counted from "
				   "the "
				   "end of the relationship but states no "
				   "\"criteria\": the notice must say how "
				   "the period is determined (GDPR Art. "
				   "13(2)(a))",
				   shown(p->retention[i].name, nb));
			pop(&c);
		}
	pop(&c);
	n = c.ndiags + c.dropped;
	flush_diags(&c);
	return n;
}
