/*
 * stats.c: anonymous statistics (rk_stats). The register's values are
 * decrypted here, each mapped at once to a coarse class (an age band, the
 * first two digits of a postal code, ...) and wiped; only the counts of
 * the classes leave, after the disclosure control of stats_sdc.c.
 *
 * The policy's "statistics" section names the purpose the statistics
 * serve (who may release them) and the fields they may be drawn from:
 * further processing for a statistical purpose (GDPR Art. 5(1)(b), 89)
 * that the policy declares, whatever purposes the data was collected for.
 * Subjects whose processing is restricted, or who objected to the
 * statistics purpose (Art. 21(6)), are left out.
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
#include "stats.h"
#include "store.h"

#define PAGE	     512
#define LABEL_MAX    208 /* a product name of up to 200 bytes */
#define UNKNOWN	     "(unknown)"
#define NONE	     "(none)"
#define OTHER	     "(other)"
#define K_FLOOR	     3
#define PRODUCTS_MAX 64 /* distinct products counted per subject */
#define DIM_NAMES_HELP                                                         \
	"age_band, gender, region, country, kind, product or "                 \
	"first_purchase_year"

enum dim {
	D_AGE,
	D_GENDER,
	D_REGION,
	D_COUNTRY,
	D_KIND,
	D_PRODUCT,
	D_FIRST_YEAR,
	D_COUNT
};

static const char *const dim_names[D_COUNT] = {
	"age_band",	      "gender", "region", "country", "kind", "product",
	"first_purchase_year"};

/* Age bands: the lower bound of each; the last is open. */
static const int band_from[] = {0, 18, 30, 40, 50, 60, 70};
static const char *const band_names[] = {"0-17",  "18-29", "30-39", "40-49",
					 "50-59", "60-69", "70+"};
#define NBANDS (sizeof band_from / sizeof band_from[0])

/* One dimension's classes as seen in the data: names (owned), how many
 * subjects have each, and the index each is released under. */
struct dict {
	char **names;
	int64_t *subjects;
	size_t *slot;
	size_t n, cap;
	/* released values in order */
	char **out;
	size_t nout;
};

/* One subject's classes: an index into the dict per dimension; for the
 * product, a set. */
struct srow {
	size_t v[STATS_DIMS_MAX];
	size_t *prod;
	size_t nprod;
};

struct job {
	rk_register *r;
	size_t ndims;
	enum dim dims[STATS_DIMS_MAX];
	int pdim; /* the product's place among dims, or -1 */
	struct dict dict[STATS_DIMS_MAX];
	struct srow *rows;
	size_t nrows, rcap;
	char today[11];
	/* a page of subjects being read */
	store_subject *page;
	size_t npage;
};

static void dict_free(struct dict *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		sec_wipe(d->names[i], strlen(d->names[i]));
		free(d->names[i]);
	}
	free(d->names);
	free(d->subjects);
	free(d->slot);
	free(d->out);
	memset(d, 0, sizeof *d);
}

/* The index of name in d, added when new; (size_t)-1 when memory ran
 * out. Dictionaries are small (coarse classes), so a scan will do. */
static size_t dict_id(struct dict *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->names[i], name) == 0)
			return i;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		char **nn = realloc(d->names, cap * sizeof *nn);
		int64_t *ns;
		if (nn == NULL)
			return (size_t)-1;
		d->names = nn;
		ns = realloc(d->subjects, cap * sizeof *ns);
		if (ns == NULL)
			return (size_t)-1;
		d->subjects = ns;
		d->cap = cap;
	}
	d->names[d->n] = strdup(name);
	if (d->names[d->n] == NULL)
		return (size_t)-1;
	d->subjects[d->n] = 0;
	return d->n++;
}

/* ---- the classes of one subject -------------------------------------------
 */

/* The age band on today of someone born on birth (YYYY-MM-DD). */
static const char *age_band(const char *birth, const char *today)
{
	int by, bm, bd, ty, tm, td, age;
	size_t i;

	if (strlen(birth) != 10 || strlen(today) != 10)
		return UNKNOWN;
	by = (birth[0] - '0') * 1000 + (birth[1] - '0') * 100 +
	     (birth[2] - '0') * 10 + (birth[3] - '0');
	bm = (birth[5] - '0') * 10 + (birth[6] - '0');
	bd = (birth[8] - '0') * 10 + (birth[9] - '0');
	ty = (today[0] - '0') * 1000 + (today[1] - '0') * 100 +
	     (today[2] - '0') * 10 + (today[3] - '0');
	tm = (today[5] - '0') * 10 + (today[6] - '0');
	td = (today[8] - '0') * 10 + (today[9] - '0');
	age = ty - by - ((tm < bm || (tm == bm && td < bd)) ? 1 : 0);
	if (age < 0)
		return UNKNOWN;
	for (i = NBANDS; i-- > 0;)
		if (age >= band_from[i])
			return band_names[i];
	return UNKNOWN;
}

struct first_value {
	char *pt; /* the first value, decrypted (wipe) */
	size_t len;
	const unsigned char *dk;
	const char *subject_id;
	rk_register *r;
	rk_status st;
};

static int take_first(void *ud, const store_value *v)
{
	struct first_value *f = ud;

	if (v->ctlen < SEC_SEAL_OVERHEAD)
		goto bad;
	f->len = v->ctlen - SEC_SEAL_OVERHEAD;
	f->pt = malloc(f->len + 1);
	if (f->pt == NULL) {
		f->st = reg_fail(f->r, RK_ESYS, "out of memory");
		return 1;
	}
	if (sec_open(f->dk, f->subject_id, v->field, v->ct, v->ctlen,
		     (unsigned char *)f->pt) != 0) {
		free(f->pt);
		f->pt = NULL;
		goto bad;
	}
	f->pt[f->len] = '\0';
	return 1;
bad:
	f->st = reg_fail(f->r, RK_EINTEGRITY,
			 "a stored value does not decrypt: the database was "
			 "altered or damaged");
	return 1;
}

/* The first value of field fi of the subject, decrypted into *out (NULL
 * when it has none; wipe and free). */
static rk_status first_value(rk_register *r, const store_subject *sub,
			     const unsigned char *dk, size_t fi, char **out)
{
	struct first_value f;

	*out = NULL;
	memset(&f, 0, sizeof f);
	f.dk = dk;
	f.subject_id = sub->id;
	f.r = r;
	f.st = RK_OK;
	if (r->st->vt->value_list(r->st, sub->id, r->pol->fields[fi].name,
				  take_first, &f) != 0) {
		free(f.pt);
		return reg_store_fail(r, "cannot read the values");
	}
	if (f.st != RK_OK) {
		reg_free_secret(f.pt);
		return f.st;
	}
	*out = f.pt;
	return RK_OK;
}

/* The class of a single-valued dimension for the subject into cls. */
static rk_status class_of(struct job *j, enum dim d, const store_subject *sub,
			  const unsigned char *dk, char cls[LABEL_MAX])
{
	const policy *p = j->r->pol;
	char *v = NULL, birth[11];
	rk_status st = RK_OK;

	snprintf(cls, LABEL_MAX, "%s", UNKNOWN);
	switch (d) {
	case D_KIND:
		snprintf(cls, LABEL_MAX, "%s", sub->kind);
		return RK_OK;
	case D_AGE:
		if (p->statistics.birth_date != POL_NONE) {
			st = first_value(j->r, sub, dk,
					 p->statistics.birth_date, &v);
			if (st == RK_OK && v != NULL)
				snprintf(cls, LABEL_MAX, "%s",
					 age_band(v, j->today));
		}
		if (st == RK_OK && v == NULL &&
		    p->statistics.hetu != POL_NONE) {
			st = first_value(j->r, sub, dk, p->statistics.hetu, &v);
			if (st == RK_OK && v != NULL &&
			    ident_hetu_birth_date(v, birth) == 0)
				snprintf(cls, LABEL_MAX, "%s",
					 age_band(birth, j->today));
		}
		break;
	case D_GENDER:
		st = first_value(j->r, sub, dk, p->statistics.gender, &v);
		if (st == RK_OK && v != NULL && strlen(v) < LABEL_MAX)
			snprintf(cls, LABEL_MAX, "%s", v[0] == '(' ? OTHER : v);
		break;
	case D_REGION:
		st = first_value(j->r, sub, dk, p->statistics.postal_code, &v);
		if (st == RK_OK && v != NULL && strlen(v) >= 2 && v[0] >= '0' &&
		    v[0] <= '9' && v[1] >= '0' && v[1] <= '9')
			snprintf(cls, LABEL_MAX, "%c%c", v[0], v[1]);
		break;
	case D_COUNTRY:
		st = first_value(j->r, sub, dk, p->statistics.country, &v);
		if (st == RK_OK && v != NULL && strlen(v) == 2)
			snprintf(cls, LABEL_MAX, "%s", v);
		break;
	default:
		break;
	}
	reg_free_secret(v);
	return st;
}

struct purchases {
	rk_register *r;
	const store_subject *sub;
	const unsigned char *dk;
	struct dict *pd; /* the product dictionary, or NULL */
	size_t prod[PRODUCTS_MAX];
	size_t nprod;
	int64_t first; /* the earliest record's time, 0: none */
	rk_status st;
};

static int one_purchase(void *ud, const store_record *rec)
{
	struct purchases *pu = ud;
	const policy *p = pu->r->pol;
	const pol_record_type *rt =
		&p->record_types[p->statistics.product_record];
	unsigned char *pt = NULL;
	size_t len, id, i;
	char ad[96];
	json_t *o = NULL;
	const char *name;

	if (pu->first == 0 || rec->created_at < pu->first)
		pu->first = rec->created_at;
	if (pu->pd == NULL)
		return 0;
	if (rec->ctlen < SEC_SEAL_OVERHEAD ||
	    snprintf(ad, sizeof ad, "record:%s", rec->type) >= (int)sizeof ad)
		goto bad;
	len = rec->ctlen - SEC_SEAL_OVERHEAD;
	pt = malloc(len + 1);
	if (pt == NULL) {
		pu->st = reg_fail(pu->r, RK_ESYS, "out of memory");
		return 1;
	}
	if (sec_open(pu->dk, pu->sub->id, ad, rec->ct, rec->ctlen, pt) != 0)
		goto bad;
	o = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, NULL);
	name = json_string_value(json_object_get(
		o, rt->fields[p->statistics.product_field].name));
	if (o != NULL && name != NULL && strlen(name) < LABEL_MAX) {
		id = dict_id(pu->pd, name[0] == '(' ? OTHER : name);
		if (id == (size_t)-1) {
			pu->st = reg_fail(pu->r, RK_ESYS, "out of memory");
			goto out;
		}
		for (i = 0; i < pu->nprod && pu->prod[i] != id; i++)
			;
		if (i == pu->nprod && pu->nprod < PRODUCTS_MAX)
			pu->prod[pu->nprod++] = id;
	}
	goto out;
bad:
	pu->st = reg_fail(pu->r, RK_EINTEGRITY,
			  "a stored record does not decrypt: the database was "
			  "altered or damaged");
out:
	json_free_secret(o);
	if (pt != NULL) {
		sec_wipe(pt, len + 1);
		free(pt);
	}
	return pu->st != RK_OK;
}

static int needs_key(const struct job *j)
{
	size_t i;

	for (i = 0; i < j->ndims; i++)
		if (j->dims[i] != D_KIND && j->dims[i] != D_FIRST_YEAR)
			return 1;
	return 0;
}

/* Reads one subject's classes into a new row (none when it is left out). */
static rk_status read_subject(struct job *j, const store_subject *row)
{
	rk_register *r = j->r;
	const policy *p = r->pol;
	unsigned char *dk = NULL;
	struct purchases pu;
	struct srow *sr;
	store_subject sub;
	char cls[LABEL_MAX];
	rk_status st;
	size_t i, want_rec = 0;
	int x;

	memset(&pu, 0, sizeof pu);
	/* The whole subject is checked against its MACs: what is counted is
	 * what the register wrote. */
	st = integ_subject_verify(r, row->id);
	if (st != RK_OK)
		return st;
	if (r->st->vt->subject_get(r->st, row->id, &sub) != 0)
		return reg_store_fail(r, "cannot read a subject");
	x = ledger_restricted(r, &sub);
	if (x == 0 && p->statistics.purpose != POL_NONE)
		x = ledger_purpose_objected(r, &sub, p->statistics.purpose);
	if (x < 0)
		return ledger_err(x);
	if (x > 0)
		return RK_OK;
	if (needs_key(j)) {
		st = reg_subject_key(r, &sub, &dk);
		if (st != RK_OK)
			return st;
	}
	if (j->nrows == j->rcap) {
		size_t cap = j->rcap ? j->rcap * 2 : 256;
		struct srow *nr = realloc(j->rows, cap * sizeof *nr);
		if (nr == NULL) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		j->rows = nr;
		j->rcap = cap;
	}
	sr = &j->rows[j->nrows];
	memset(sr, 0, sizeof *sr);
	for (i = 0; i < j->ndims; i++)
		if (j->dims[i] == D_PRODUCT || j->dims[i] == D_FIRST_YEAR)
			want_rec = 1;
	if (want_rec) {
		pu.r = r;
		pu.sub = &sub;
		pu.dk = dk;
		pu.pd = j->pdim >= 0 ? &j->dict[j->pdim] : NULL;
		pu.st = RK_OK;
		if (r->st->vt->record_list(
			    r->st, sub.id,
			    p->record_types[p->statistics.product_record].name,
			    one_purchase, &pu) != 0) {
			st = pu.st != RK_OK
				     ? pu.st
				     : reg_store_fail(r, "cannot read records");
			goto out;
		}
		if (pu.st != RK_OK) {
			st = pu.st;
			goto out;
		}
	}
	for (i = 0; i < j->ndims; i++) {
		size_t id;
		if (j->dims[i] == D_PRODUCT) {
			if (pu.nprod == 0) {
				id = dict_id(&j->dict[i], NONE);
				if (id == (size_t)-1)
					goto oom;
				pu.prod[pu.nprod++] = id;
			}
			sr->prod = malloc(pu.nprod * sizeof *sr->prod);
			if (sr->prod == NULL)
				goto oom;
			memcpy(sr->prod, pu.prod, pu.nprod * sizeof *sr->prod);
			sr->nprod = pu.nprod;
			continue;
		}
		if (j->dims[i] == D_FIRST_YEAR) {
			char day[11];
			if (pu.first == 0) {
				snprintf(cls, sizeof cls, "%s", NONE);
			} else {
				ident_date_of(pu.first, day);
				snprintf(cls, sizeof cls, "%.4s", day);
			}
		} else {
			st = class_of(j, j->dims[i], &sub, dk, cls);
			if (st != RK_OK)
				goto out;
		}
		id = dict_id(&j->dict[i], cls);
		sec_wipe(cls, sizeof cls);
		if (id == (size_t)-1)
			goto oom;
		sr->v[i] = id;
	}
	j->nrows++;
	goto out;
oom:
	free(sr->prod);
	st = reg_fail(r, RK_ESYS, "out of memory");
out:
	sec_key_free(dk);
	return st;
}

static int page_one(void *ud, const store_subject *s)
{
	struct job *j = ud;

	j->page[j->npage++] = *s;
	return 0;
}

/* Every subject, a page at a time (the walk's statement is done before
 * each subject is read). */
static rk_status read_all(struct job *j)
{
	rk_register *r = j->r;
	char after[33] = "";
	rk_status st;
	size_t i;

	j->page = malloc(PAGE * sizeof *j->page);
	if (j->page == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	for (;;) {
		j->npage = 0;
		if (r->st->vt->subject_list(r->st, NULL,
					    after[0] ? after : NULL, PAGE,
					    page_one, j) != 0)
			return reg_store_fail(r, "cannot list the subjects");
		for (i = 0; i < j->npage; i++) {
			st = read_subject(j, &j->page[i]);
			if (st != RK_OK)
				return st;
		}
		if (j->npage < PAGE)
			return RK_OK;
		memcpy(after, j->page[j->npage - 1].id, sizeof after);
	}
}

/* ---- the table --------------------------------------------------------------
 */

static int is_fixed_last(const char *s)
{
	return strcmp(s, UNKNOWN) == 0 || strcmp(s, NONE) == 0;
}

/* Order of released values: age bands in their order, the policy's enum
 * values in theirs, the rest by name; "other", then "unknown"/"none"
 * last. */
static int rank_of(const struct job *j, size_t di, const char *s)
{
	const policy *p = j->r->pol;
	size_t i;

	if (strcmp(s, OTHER) == 0)
		return 1000000;
	if (is_fixed_last(s))
		return 1000001;
	if (j->dims[di] == D_AGE) {
		for (i = 0; i < NBANDS; i++)
			if (strcmp(s, band_names[i]) == 0)
				return (int)i;
	}
	if (j->dims[di] == D_GENDER) {
		const pol_field *f = &p->fields[p->statistics.gender];
		for (i = 0; i < f->nvalues; i++)
			if (strcmp(s, f->values[i]) == 0)
				return (int)i;
	}
	return 0;
}

static const struct job *sort_job;
static size_t sort_dim;

static int cmp_values(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int rx = rank_of(sort_job, sort_dim, x),
	    ry = rank_of(sort_job, sort_dim, y);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x, y);
}

/* Counts the subjects of each class and gives each its released slot:
 * a class of fewer than k subjects goes under "other" (its name is never
 * released); "unknown" and "none" keep theirs, being no one's value. */
static rk_status assign_slots(struct job *j, size_t di, int k)
{
	struct dict *d = &j->dict[di];
	size_t i, r, nother = 0;
	int has_other = 0;

	for (r = 0; r < j->nrows; r++) {
		const struct srow *sr = &j->rows[r];
		if (j->dims[di] == D_PRODUCT)
			for (i = 0; i < sr->nprod; i++)
				d->subjects[sr->prod[i]]++;
		else
			d->subjects[sr->v[di]]++;
	}
	d->slot = calloc(d->n + 1, sizeof *d->slot);
	d->out = calloc(d->n + 1, sizeof *d->out);
	if (d->slot == NULL || d->out == NULL)
		return reg_fail(j->r, RK_ESYS, "out of memory");
	for (i = 0; i < d->n; i++) {
		if (is_fixed_last(d->names[i]) ||
		    (d->subjects[i] >= k && strcmp(d->names[i], OTHER) != 0))
			d->out[d->nout++] = d->names[i];
		else
			nother++;
	}
	if (nother > 0) {
		static char other[] = OTHER;
		d->out[d->nout++] = other;
		has_other = 1;
	}
	sort_job = j;
	sort_dim = di;
	qsort(d->out, d->nout, sizeof *d->out, cmp_values);
	for (i = 0; i < d->n; i++) {
		const char *name = d->names[i];
		int rare = !is_fixed_last(name) &&
			   (d->subjects[i] < k || strcmp(name, OTHER) == 0);
		for (r = 0; r < d->nout; r++)
			if (rare ? has_other && strcmp(d->out[r], OTHER) == 0
				 : d->out[r] == name)
				break;
		d->slot[i] = r;
	}
	return RK_OK;
}

/* Adds subject row sr to the cells (each product it bought is a cell of
 * its own), to the totals' subjects and to the grand total's. */
static void count_row(struct job *j, stats_table *t, const struct srow *sr)
{
	size_t combo[STATS_DIMS_MAX], seen[STATS_DIMS_MAX][PRODUCTS_MAX + 1];
	size_t nseen[STATS_DIMS_MAX] = {0}, i, d, n = 1, c;

	for (d = 0; d < j->ndims; d++) {
		nseen[d] = 0;
		if (j->dims[d] == D_PRODUCT) {
			/* Two rare products both fall under "other". */
			for (i = 0; i < sr->nprod; i++) {
				size_t s = j->dict[d].slot[sr->prod[i]], x;
				for (x = 0; x < nseen[d] && seen[d][x] != s;
				     x++)
					;
				if (x == nseen[d])
					seen[d][nseen[d]++] = s;
			}
		} else {
			seen[d][nseen[d]++] = j->dict[d].slot[sr->v[d]];
		}
		n *= nseen[d];
		if (j->ndims >= 2)
			for (i = 0; i < nseen[d]; i++)
				t->subjects[stats_total_item(t, d,
							     seen[d][i])]++;
	}
	t->subjects[stats_grand_item(t)]++;
	for (i = 0; i < n; i++) {
		size_t rest = i;
		for (d = j->ndims; d-- > 0;) {
			combo[d] = seen[d][rest % nseen[d]];
			rest /= nseen[d];
		}
		c = 0;
		for (d = 0; d < j->ndims; d++)
			c = c * t->nvals[d] + combo[d];
		t->count[c]++;
		t->subjects[c]++;
	}
}

/* "YYYY-MM-DDTHH:MM:SSZ" of Unix time t. */
static void utc_time(int64_t t, char out[32])
{
	char day[11];
	int64_t sod = t % 86400;

	if (sod < 0)
		sod += 86400;
	ident_date_of(t, day);
	snprintf(out, 32, "%sT%02d:%02d:%02dZ", day, (int)(sod / 3600),
		 (int)(sod / 60 % 60), (int)(sod % 60));
}

static json_t *count_json(const stats_table *t, size_t item)
{
	return t->sup[item] != STATS_RELEASED ? json_null()
					      : json_integer(t->count[item]);
}

static rk_status table_json(struct job *j, const stats_table *t, int k,
			    json_t **out)
{
	json_t *doc = json_object(), *dims = json_array(),
	       *vals = json_object();
	json_t *cells = json_array(), *totals = json_array(), *a;
	char when[32];
	int64_t now = reg_now(j->r);
	size_t d, i, c, prim = 0, sec = 0;
	int bad = doc == NULL || dims == NULL || vals == NULL ||
		  cells == NULL || totals == NULL;

	for (i = 0; i < t->nitems; i++) {
		prim += t->sup[i] == STATS_PRIMARY;
		sec += t->sup[i] == STATS_SECONDARY;
	}
	for (d = 0; !bad && d < j->ndims; d++) {
		bad |= json_array_append_new(
			       dims, json_string(dim_names[j->dims[d]])) != 0;
		a = json_array();
		for (i = 0; a != NULL && i < j->dict[d].nout; i++)
			bad |= json_array_append_new(
				       a, json_string(j->dict[d].out[i])) != 0;
		bad |= a == NULL ||
		       json_object_set_new(vals, dim_names[j->dims[d]], a) != 0;
	}
	for (c = 0; !bad && c < t->ncells; c++) {
		json_t *key = json_array(), *o;
		for (d = 0; key != NULL && d < j->ndims; d++)
			bad |= json_array_append_new(
				       key,
				       json_string(
					       j->dict[d].out[stats_cell_value(
						       t, c, d)])) != 0;
		o = key ? json_pack("{s:o, s:o}", "key", key, "count",
				    count_json(t, c))
			: NULL;
		bad |= o == NULL || json_array_append_new(cells, o) != 0;
	}
	for (d = 0; !bad && j->ndims >= 2 && d < j->ndims; d++)
		for (i = 0; !bad && i < t->nvals[d]; i++) {
			json_t *o = json_pack(
				"{s:s, s:s, s:o}", "dimension",
				dim_names[j->dims[d]], "value",
				j->dict[d].out[i], "count",
				count_json(t, stats_total_item(t, d, i)));
			bad |= o == NULL ||
			       json_array_append_new(totals, o) != 0;
		}
	utc_time(now, when);
	if (!bad)
		bad |= json_object_set_new(doc, "dimensions", dims) != 0;
	else
		json_decref(dims);
	dims = NULL;
	if (!bad) {
		bad |= json_object_set_new(doc, "k", json_integer(k)) != 0 ||
		       json_object_set_new(
			       doc, "unit",
			       json_string(j->pdim >= 0
						   ? "subject-product pairs"
						   : "subjects")) != 0 ||
		       json_object_set_new(doc, "released_at",
					   json_string(when)) != 0 ||
		       json_object_set_new(doc, "values", vals) != 0;
		vals = NULL;
		bad |= json_object_set_new(doc, "cells", cells) != 0;
		cells = NULL;
		bad |= json_object_set_new(doc, "totals", totals) != 0;
		totals = NULL;
		bad |= json_object_set_new(
			       doc, "total",
			       count_json(t, stats_grand_item(t))) != 0 ||
		       json_object_set_new(doc, "suppressed",
					   json_pack("{s:I, s:I}", "primary",
						     (json_int_t)prim,
						     "secondary",
						     (json_int_t)sec)) != 0;
	}
	json_decref(vals);
	json_decref(cells);
	json_decref(totals);
	if (bad) {
		json_decref(doc);
		return reg_fail(j->r, RK_ESYS, "out of memory");
	}
	*out = doc;
	return RK_OK;
}

/* ---- the call ---------------------------------------------------------------
 */

/* Whether the policy lets dimension d be drawn. */
static int dim_available(const policy *p, enum dim d)
{
	switch (d) {
	case D_AGE:
		return p->statistics.birth_date != POL_NONE ||
		       p->statistics.hetu != POL_NONE;
	case D_GENDER:
		return p->statistics.gender != POL_NONE;
	case D_REGION:
		return p->statistics.postal_code != POL_NONE;
	case D_COUNTRY:
		return p->statistics.country != POL_NONE;
	case D_KIND:
		return 1;
	case D_PRODUCT:
		return p->statistics.product_field != POL_NONE;
	case D_FIRST_YEAR:
		return p->statistics.product_record != POL_NONE;
	default:
		return 0;
	}
}

static rk_status parse_dims(rk_register *r, const char *spec, struct job *j)
{
	const char *s = spec, *e;
	size_t i, n;

	j->pdim = -1;
	if (spec == NULL || spec[0] == '\0')
		return reg_fail(r, RK_EINVAL,
				"name the dimensions: " DIM_NAMES_HELP);
	while (*s != '\0') {
		e = strchr(s, ',');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		for (i = 0; i < D_COUNT; i++)
			if (strlen(dim_names[i]) == n &&
			    strncmp(dim_names[i], s, n) == 0)
				break;
		/* The unknown name is not repeated: it may be anything. */
		if (i == D_COUNT)
			return reg_fail(r, RK_EINVAL,
					"unknown dimension: the dimensions "
					"are " DIM_NAMES_HELP);
		if (j->ndims == STATS_DIMS_MAX)
			return reg_fail(r, RK_EINVAL,
					"at most %d dimensions at a time",
					STATS_DIMS_MAX);
		for (n = 0; n < j->ndims; n++)
			if (j->dims[n] == (enum dim)i)
				return reg_fail(r, RK_EINVAL,
						"dimension %s is named twice",
						dim_names[i]);
		if (!dim_available(r->pol, (enum dim)i))
			return reg_fail(r, RK_EINVAL,
					"dimension %s: the policy's "
					"\"statistics\" section names no "
					"field for it",
					dim_names[i]);
		if (i == D_PRODUCT)
			j->pdim = (int)j->ndims;
		j->dims[j->ndims++] = (enum dim)i;
		if (e == NULL)
			break;
		s = e + 1;
		if (*s == '\0')
			return reg_fail(r, RK_EINVAL,
					"a dimension list does not end in a "
					"comma");
	}
	return RK_OK;
}

/* The administrator, and roles whose purposes include the statistics
 * purpose. */
static rk_status may_release(rk_register *r)
{
	const policy *p = r->pol;
	size_t i;

	if (r->role == POL_NONE || r->role == p->settings.operator_role)
		return RK_OK;
	for (i = 0; p->statistics.purpose != POL_NONE &&
		    i < p->roles[r->role].npurposes;
	     i++)
		if (p->roles[r->role].purposes[i] == p->statistics.purpose)
			return RK_OK;
	reg_fail(r, RK_EREFUSED,
		 "role %s may not release statistics: the administrator and "
		 "roles that work for the statistics purpose may",
		 p->roles[r->role].name);
	reg_audit_attempt(r, AUD_STATS_RELEASE, NULL,
			  p->statistics.purpose != POL_NONE
				  ? p->purposes[p->statistics.purpose].name
				  : NULL,
			  RK_EREFUSED);
	return RK_EREFUSED;
}

rk_status rk_stats(rk_register *r, const char *dims, int k, char **json_out)
{
	struct job j;
	stats_table t;
	size_t nvals[STATS_DIMS_MAX] = {0}, i, row;
	json_t *doc = NULL;
	char fields[256];
	const char *purpose;
	audit_ev ev;
	rk_status st;

	memset(&j, 0, sizeof j);
	memset(&t, 0, sizeof t);
	if (json_out == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the statistics");
	*json_out = NULL;
	st = may_release(r);
	if (st != RK_OK)
		return st;
	purpose = r->pol->statistics.purpose != POL_NONE
			  ? r->pol->purposes[r->pol->statistics.purpose].name
			  : NULL;
	j.r = r;
	st = parse_dims(r, dims, &j);
	if (st == RK_OK && k == 0)
		k = r->pol->statistics.min_cell;
	if (st == RK_OK && k < K_FLOOR)
		st = reg_fail(r, RK_EINVAL,
			      "k is at least %d: smaller cells would single "
			      "people out",
			      K_FLOOR);
	else if (st == RK_OK && k < r->pol->statistics.min_cell)
		st = reg_fail(r, RK_EINVAL,
			      "k is at least %d: the policy's min_cell",
			      r->pol->statistics.min_cell);
	if (st != RK_OK)
		goto out;
	reg_today(r, j.today);
	st = reg_begin_read(r);
	if (st != RK_OK)
		goto out;
	st = read_all(&j);
	reg_end_read(r);
	if (st != RK_OK)
		goto out;
	for (i = 0; i < j.ndims; i++) {
		/* A dimension nobody has a value of still has its class. */
		if (j.dict[i].n == 0 &&
		    dict_id(&j.dict[i],
			    j.dims[i] == D_PRODUCT || j.dims[i] == D_FIRST_YEAR
				    ? NONE
				    : UNKNOWN) == (size_t)-1) {
			st = reg_fail(r, RK_ESYS, "out of memory");
			goto out;
		}
		st = assign_slots(&j, i, k);
		if (st != RK_OK)
			goto out;
		nvals[i] = j.dict[i].nout;
	}
	if (stats_table_init(&t, j.ndims, nvals) != 0) {
		st = reg_fail(r, RK_EINVAL,
			      "the table would have more than %d cells: "
			      "choose fewer dimensions",
			      STATS_CELLS_MAX);
		goto out;
	}
	for (row = 0; row < j.nrows; row++)
		count_row(&j, &t, &j.rows[row]);
	stats_sum(&t);
	if (stats_suppress(&t, k) != 0) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = table_json(&j, &t, k, &doc);
	if (st != RK_OK)
		goto out;
	*json_out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (*json_out == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* The release is logged before it leaves: what, with which k. */
	fields[0] = '\0';
	for (i = 0; i < j.ndims; i++)
		csv_add(fields, sizeof fields, dim_names[j.dims[i]]);
	{
		char kk[16];
		snprintf(kk, sizeof kk, "k=%d", k);
		csv_add(fields, sizeof fields, kk);
	}
	audit_ev_set(&ev, r, AUD_STATS_RELEASE, NULL, fields, purpose, "ok");
	st = audit_read(r, &ev);
out:
	if (st != RK_OK) {
		if (st != RK_ESYS && st != RK_EREFUSED)
			reg_audit_attempt(r, AUD_STATS_RELEASE, NULL, purpose,
					  st);
		free(*json_out);
		*json_out = NULL;
	}
	json_decref(doc);
	stats_table_free(&t);
	for (i = 0; i < j.nrows; i++)
		free(j.rows[i].prod);
	free(j.rows);
	free(j.page);
	for (i = 0; i < STATS_DIMS_MAX; i++)
		dict_free(&j.dict[i]);
	return st;
}
