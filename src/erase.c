/*
 * erase.c: erasure of a subject (GDPR Art. 17) with its receipt.
 *
 * One write transaction: the subject's rows are checked against their MACs,
 * the records a law requires the controller to keep (a retention rule with
 * a legal hold whose period still runs) are sealed again under keys of their
 * own into held_record, detached from the subject, and then the subject row
 * goes, and with it (ON DELETE CASCADE) its values and blind index entries,
 * records, attachments, ledger and cookie links, and its wrapped data key:
 * no copy of its ciphertext opens any more, and its audit pseudonym, derived
 * from that key, can no longer be linked to anyone. The erasure is
 * remembered by a keyed hash of the ID, so that a restore replays it.
 *
 * A held record's key is wrapped under a key derived from the row key with
 * associated data "held:<record number>"; the record is sealed with subject
 * "held:<number>" and field "record:<type>", each attachment chunk with
 * field "attachment:<number>:<seq>" (":last" on the final chunk).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "crypto.h"
#include "integrity.h"
#include "ledger.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define AD_MAX	     256
#define HELD_MAX     ((size_t)1 << 20)
#define CHUNK_MAX_CT ((size_t)64 * 1024 + SEC_SEAL_OVERHEAD)
#define NAMES_MAX    512 /* an audit entry's field names */

/* What a record of the subject is, gathered while its chain is checked. */
struct erec {
	int64_t id;
	size_t type;	/* record type, or POL_NONE (unknown to the policy) */
	size_t rule;	/* retention rule, or POL_NONE */
	char until[11]; /* held until, "" when not held */
	int64_t created_at;
	int64_t att_size;
	char att_type[128];
	char type_name[64];
	unsigned char *ct; /* copied only for a held record */
	size_t ctlen;
};

struct erase_state {
	rk_register *r;
	char today[11];
	struct erec *recs;
	size_t nrecs, cap;
	size_t *per_category; /* values by category */
	size_t values, bidx, uncategorised;
	size_t ledger, cookies, attachments;
	rk_status st;
};

static void erase_state_free(struct erase_state *e)
{
	for (size_t i = 0; i < e->nrecs; i++) {
		if (e->recs[i].ct != NULL)
			sec_wipe(e->recs[i].ct, e->recs[i].ctlen);
		free(e->recs[i].ct);
	}
	free(e->recs);
	free(e->per_category);
}

static void copy_name(char *dst, size_t cap, const char *src)
{
	size_t n = src == NULL ? 0 : strlen(src);

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A record's hold: the date its rule keeps it until when that rule is a
 * legal hold and the date is still ahead, else "". The erasure ends the
 * relationship, so a rule that runs from its end runs from today. */
static void hold_until(struct erase_state *e, const store_record *rec,
		       struct erec *x)
{
	const policy *p = e->r->pol;

	x->until[0] = '\0';
	if (x->type == POL_NONE)
		return;
	x->rule = p->record_types[x->type].retention;
	if (x->rule == POL_NONE || !p->retention[x->rule].legal_hold)
		return;
	if (rec->expires != NULL && rec->expires[0] != '\0')
		copy_name(x->until, sizeof x->until, rec->expires);
	else
		reg_expiry(e->r, x->rule, rec->created_at, e->today, x->until);
	if (strcmp(x->until, e->today) <= 0)
		x->until[0] = '\0';
}

static int rec_one(void *ud, const store_record *rec)
{
	struct erase_state *e = ud;
	struct erec *x;

	if (e->nrecs == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct erec *v = cap > HELD_MAX
					 ? NULL
					 : realloc(e->recs, cap * sizeof *v);
		if (v == NULL) {
			e->st = reg_fail(e->r, RK_ESYS, "out of memory");
			return 1;
		}
		e->recs = v;
		e->cap = cap;
	}
	x = &e->recs[e->nrecs];
	memset(x, 0, sizeof *x);
	x->id = rec->id;
	x->type = policy_record_type(e->r->pol, rec->type);
	x->rule = POL_NONE;
	x->created_at = rec->created_at;
	x->att_size = rec->attachment_size;
	copy_name(x->type_name, sizeof x->type_name, rec->type);
	copy_name(x->att_type, sizeof x->att_type, rec->attachment_type);
	hold_until(e, rec, x);
	if (x->until[0] != '\0') {
		x->ct = malloc(rec->ctlen > 0 ? rec->ctlen : 1);
		if (x->ct == NULL) {
			e->st = reg_fail(e->r, RK_ESYS, "out of memory");
			return 1;
		}
		memcpy(x->ct, rec->ct, rec->ctlen);
		x->ctlen = rec->ctlen;
	}
	if (rec->attachment_size >= 0)
		e->attachments++;
	e->nrecs++;
	return 0;
}

static int value_one(void *ud, const store_value *v)
{
	struct erase_state *e = ud;
	size_t fi = policy_field(e->r->pol, v->field);

	e->values++;
	if (v->bidx != NULL)
		e->bidx++;
	if (fi == POL_NONE)
		e->uncategorised++;
	else
		e->per_category[e->r->pol->fields[fi].category]++;
	return 0;
}

static int ledger_one(void *ud, const store_consent *c)
{
	struct erase_state *e = ud;

	(void)c;
	e->ledger++;
	return 0;
}

struct cookie_count {
	const char *sid;
	size_t n;
};

static int cookie_one(void *ud, const unsigned char hash[SEC_BIDX_BYTES],
		      const char *subject_id, int64_t linked_at,
		      const unsigned char *mac)
{
	struct cookie_count *c = ud;

	(void)hash;
	(void)linked_at;
	(void)mac;
	if (strcmp(subject_id, c->sid) == 0)
		c->n++;
	return 0;
}

/* Everything of the subject, counted and checked against its MACs; the
 * held records' ciphertexts copied. Inside the write (or a read for a dry
 * run). */
static rk_status gather(struct erase_state *e, const store_subject *sub,
			int dry)
{
	rk_register *r = e->r;
	struct cookie_count cc = {sub->id, 0};
	rk_status st;

	e->per_category = calloc(r->pol->ncategories + 1, sizeof(size_t));
	if (e->per_category == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	st = integ_subject_verify(r, sub->id);
	if (st == RK_OK)
		st = integ_records_walk(r, sub, NULL, rec_one, e);
	if (st == RK_OK)
		st = e->st;
	if (st == RK_OK &&
	    r->st->vt->value_list(r->st, sub->id, NULL, value_one, e) != 0)
		st = reg_store_fail(r, "cannot read the subject's values");
	if (st == RK_OK)
		st = integ_consent_walk(r, sub, NULL, ledger_one, e);
	/* The real run counts the links as it removes them. */
	if (st == RK_OK && dry) {
		if (r->st->vt->cookie_walk(r->st, cookie_one, &cc) != 0)
			st = reg_store_fail(r, "cannot read the cookie links");
		e->cookies = cc.n;
	}
	return st;
}

/* ---- sealing what is held ------------------------------------------------
 */

struct chunk_copy {
	rk_register *r;
	int64_t id;
	unsigned char **ct;
	size_t *len;
	size_t n, cap;
	rk_status st;
};

static int chunk_one(void *ud, int64_t seq, const unsigned char *ct, size_t len)
{
	struct chunk_copy *c = ud;

	if (seq != (int64_t)c->n || len > CHUNK_MAX_CT || c->n == c->cap) {
		c->st = reg_fail(c->r, RK_EINTEGRITY,
				 "a held record's attachment is damaged");
		return 1;
	}
	c->ct[c->n] = malloc(len > 0 ? len : 1);
	if (c->ct[c->n] == NULL) {
		c->st = reg_fail(c->r, RK_ESYS, "out of memory");
		return 1;
	}
	memcpy(c->ct[c->n], ct, len);
	c->len[c->n] = len;
	c->n++;
	return 0;
}

/* Opens ct (sealed for subject sid under field ad) and seals it again
 * under hk for the held record hsub, field had. */
static rk_status reseal(rk_register *r, const unsigned char *dk,
			const char *sid, const char *ad,
			const unsigned char *hk, const char *hsub,
			const char *had, const unsigned char *ct, size_t len,
			unsigned char **out)
{
	unsigned char *pt;
	size_t n;

	*out = NULL;
	if (len < SEC_SEAL_OVERHEAD)
		return reg_fail(r, RK_EINTEGRITY, "a held record is damaged");
	n = len - SEC_SEAL_OVERHEAD;
	pt = malloc(n > 0 ? n : 1);
	*out = malloc(len);
	if (pt == NULL || *out == NULL) {
		free(pt);
		free(*out);
		*out = NULL;
		return reg_fail(r, RK_ESYS, "out of memory");
	}
	if (sec_open(dk, sid, ad, ct, len, pt) != 0) {
		free(pt);
		free(*out);
		*out = NULL;
		return reg_fail(r, RK_EINTEGRITY,
				"a record to be held does not decrypt under "
				"its subject's key");
	}
	if (sec_seal(hk, hsub, had, pt, n, *out) != 0) {
		sec_wipe(pt, n);
		free(pt);
		free(*out);
		*out = NULL;
		return reg_fail(r, RK_ESYS, "cannot seal a held record");
	}
	sec_wipe(pt, n);
	free(pt);
	return RK_OK;
}

/* The attachment of held record x, each chunk opened and sealed again
 * under hk (the chunk ADs bind the record number, which is kept). */
static rk_status hold_chunks(rk_register *r, const unsigned char *dk,
			     const char *sid, const unsigned char *hk,
			     const char *hsub, int64_t hid,
			     const struct erec *x)
{
	struct chunk_copy c;
	char ad[AD_MAX], had[AD_MAX];
	unsigned char *out = NULL;
	rk_status st = RK_OK;
	size_t want;

	if (x->att_size < 0)
		return RK_OK;
	want = x->att_size == 0 ? 1 : (size_t)((x->att_size + 65535) / 65536);
	memset(&c, 0, sizeof c);
	c.r = r;
	c.id = x->id;
	c.st = RK_OK;
	c.cap = want;
	c.ct = calloc(want, sizeof *c.ct);
	c.len = calloc(want, sizeof *c.len);
	if (c.ct == NULL || c.len == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (r->st->vt->chunk_walk(r->st, x->id, chunk_one, &c) != 0) {
		st = reg_store_fail(r, "cannot read an attachment");
		goto out;
	}
	st = c.st;
	if (st == RK_OK && c.n != want)
		st = reg_fail(r, RK_EINTEGRITY,
			      "a held record's attachment is damaged");
	for (size_t i = 0; st == RK_OK && i < c.n; i++) {
		const char *last = i + 1 == c.n ? ":last" : "";

		snprintf(ad, sizeof ad, "attachment:%" PRId64 ":%zu%s", x->id,
			 i, last);
		snprintf(had, sizeof had, "attachment:%" PRId64 ":%zu%s", hid,
			 i, last);
		st = reseal(r, dk, sid, ad, hk, hsub, had, c.ct[i], c.len[i],
			    &out);
		if (st == RK_OK &&
		    r->st->vt->held_chunk_put(r->st, hid, (int64_t)i, out,
					      c.len[i]) != 0)
			st = reg_store_fail(r, "cannot keep a held attachment");
		free(out);
		out = NULL;
	}
out:
	for (size_t i = 0; i < c.n; i++)
		free(c.ct[i]);
	free(c.ct);
	free(c.len);
	return st;
}

static rk_status hold_one(rk_register *r, const unsigned char *dk,
			  const char *sid, const struct erec *x)
{
	unsigned char *hk = sec_key_alloc(), *kek = sec_key_alloc();
	unsigned char w[SEC_WRAPPED_BYTES], mac[SEC_HASH_BYTES];
	unsigned char *ct = NULL;
	char hsub[48], ad[AD_MAX];
	store_held h;
	int64_t hid = 0;
	rk_status st;

	if (hk == NULL || kek == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	/* A number and a day of their own: the record's number and its
	 * creation time to the microsecond would match the entries of the
	 * erased subject's pseudonym in the trail. */
	if (r->st->vt->counter_next(r->st, "held_record", 1, &hid) != 0) {
		st = reg_store_fail(r, "cannot number a held record");
		goto out;
	}
	snprintf(hsub, sizeof hsub, "held:%" PRId64, hid);
	snprintf(ad, sizeof ad, "record:%s", x->type_name);
	sec_random(hk, SEC_KEY_BYTES);
	integ_held_kek(r, kek);
	if (sec_wrap(kek, hsub, hk, w) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot wrap a held record's key");
		goto out;
	}
	st = reseal(r, dk, sid, ad, hk, hsub, ad, x->ct, x->ctlen, &ct);
	if (st != RK_OK)
		goto out;
	memset(&h, 0, sizeof h);
	h.id = hid;
	h.type = x->type_name;
	h.retention = r->pol->retention[x->rule].name;
	h.hold_until = x->until;
	h.created_at = x->created_at - x->created_at % 86400;
	h.wrapped_key = w;
	h.ct = ct;
	h.ctlen = x->ctlen;
	h.attachment_size = x->att_size;
	h.attachment_type = x->att_type[0] ? x->att_type : NULL;
	integ_held_mac(r, &h, mac);
	h.mac = mac;
	if (r->st->vt->held_insert(r->st, &h) != 0) {
		st = reg_store_fail(r, "cannot keep a held record");
		goto out;
	}
	st = integ_held_pin(r, &h, 1);
	if (st == RK_OK)
		st = hold_chunks(r, dk, sid, hk, hsub, hid, x);
out:
	sec_key_free(hk);
	sec_key_free(kek);
	free(ct);
	return st;
}

/* ---- the receipt ----------------------------------------------------------
 */

static int set_text(json_t *o, const char *key, const pol_text *t)
{
	json_t *l = json_object();

	if (l == NULL)
		return -1;
	if (t->fi != NULL && json_object_set_new(l, "fi", json_string(t->fi)))
		goto bad;
	if (t->en != NULL && json_object_set_new(l, "en", json_string(t->en)))
		goto bad;
	return json_object_set_new(o, key, l);
bad:
	json_decref(l);
	return -1;
}

static json_t *erased_records(const struct erase_state *e, int held)
{
	const policy *p = e->r->pol;
	json_t *arr = json_array();
	int bad = arr == NULL;

	/* One line per record type (and per rule and date when held). */
	for (size_t i = 0; !bad && i < e->nrecs; i++) {
		const struct erec *x = &e->recs[i];
		size_t n = 0, att = 0, j;
		json_t *o;

		if ((x->until[0] != '\0') != held)
			continue;
		for (j = 0; j < i; j++)
			if ((e->recs[j].until[0] != '\0') == held &&
			    strcmp(e->recs[j].type_name, x->type_name) == 0 &&
			    strcmp(e->recs[j].until, x->until) == 0)
				break;
		if (j < i)
			continue;
		for (j = i; j < e->nrecs; j++)
			if ((e->recs[j].until[0] != '\0') == held &&
			    strcmp(e->recs[j].type_name, x->type_name) == 0 &&
			    strcmp(e->recs[j].until, x->until) == 0) {
				n++;
				att += e->recs[j].att_size >= 0;
			}
		o = json_object();
		bad = o == NULL;
		bad = bad ||
		      json_object_set_new(o, "type", json_string(x->type_name));
		if (!bad && x->type != POL_NONE)
			bad = set_text(o, "label",
				       &p->record_types[x->type].label) != 0;
		bad = bad || json_object_set_new(o, "count",
						 json_integer((json_int_t)n));
		bad = bad || json_object_set_new(o, "attachments",
						 json_integer((json_int_t)att));
		if (!bad && held) {
			const pol_retention *ru = &p->retention[x->rule];
			bad = json_object_set_new(o, "until",
						  json_string(x->until)) ||
			      json_object_set_new(o, "retention",
						  json_string(ru->name)) ||
			      set_text(o, "legal_ground", &ru->label) ||
			      (ru->description.fi != NULL &&
			       set_text(o, "why", &ru->description));
		}
		if (o != NULL && (bad || json_array_append_new(arr, o) != 0)) {
			bad = 1;
		}
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *erased_values(const struct erase_state *e)
{
	const policy *p = e->r->pol;
	json_t *arr = json_array();
	int bad = arr == NULL;

	for (size_t c = 0; !bad && c <= p->ncategories; c++) {
		size_t n = c < p->ncategories ? e->per_category[c]
					      : e->uncategorised;
		json_t *o;

		if (n == 0)
			continue;
		o = json_object();
		bad = o == NULL ||
		      json_object_set_new(
			      o, "category",
			      c < p->ncategories
				      ? json_string(p->categories[c].name)
				      : json_null()) ||
		      (c < p->ncategories &&
		       set_text(o, "label", &p->categories[c].label)) ||
		      json_object_set_new(o, "count",
					  json_integer((json_int_t)n)) ||
		      json_array_append_new(arr, o);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static rk_status receipt(struct erase_state *e, const char *id, int dry,
			 int wal_cleared, char **out)
{
	json_t *root = json_object(), *erased = json_object(), *v, *rec, *kept;
	char at[32];
	time_t t = (time_t)reg_now(e->r);
	struct tm tm;
	int bad = root == NULL || erased == NULL;
	size_t held = 0;

	for (size_t i = 0; i < e->nrecs; i++)
		held += e->recs[i].until[0] != '\0';
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(at, sizeof at, "1970-01-01T00:00:00Z");
	v = erased_values(e);
	rec = erased_records(e, 0);
	kept = erased_records(e, 1);
	bad = bad || v == NULL || rec == NULL || kept == NULL;
	bad = bad ||
	      json_object_set_new(root, "receipt", json_string("erasure")) ||
	      json_object_set_new(root, "version", json_integer(1)) ||
	      json_object_set_new(root, "subject", json_string(id)) ||
	      json_object_set_new(root, "dry_run", json_boolean(dry)) ||
	      json_object_set_new(root, "at", json_string(at));
	bad = bad || json_object_set_new(erased, "values", v);
	v = NULL;
	bad = bad || json_object_set_new(erased, "records", rec);
	rec = NULL;
	bad = bad ||
	      json_object_set_new(erased, "value_count",
				  json_integer((json_int_t)e->values)) ||
	      json_object_set_new(
		      erased, "record_count",
		      json_integer((json_int_t)(e->nrecs - held))) ||
	      json_object_set_new(erased, "attachments",
				  json_integer((json_int_t)e->attachments)) ||
	      json_object_set_new(erased, "blind_index_entries",
				  json_integer((json_int_t)e->bidx)) ||
	      json_object_set_new(erased, "consent_ledger_entries",
				  json_integer((json_int_t)e->ledger)) ||
	      json_object_set_new(erased, "cookie_links",
				  json_integer((json_int_t)e->cookies)) ||
	      json_object_set_new(erased, "data_key",
				  json_string("destroyed")) ||
	      json_object_set_new(root, "erased", erased);
	erased = NULL;
	bad = bad || json_object_set_new(root, "kept", kept);
	kept = NULL;
	bad = bad ||
	      json_object_set_new(
		      root, "audit_trail",
		      json_string("kept: its entries name the subject by a "
				  "pseudonym that can no longer be linked to "
				  "anyone")) ||
	      json_object_set_new(root, "log_cleared",
				  dry ? json_null()
				      : json_boolean(wal_cleared));
	json_decref(v);
	json_decref(rec);
	json_decref(kept);
	json_decref(erased);
	if (!bad)
		*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (bad || *out == NULL)
		return reg_fail(e->r, RK_ESYS, "out of memory");
	return RK_OK;
}

/* The names of the categories and record types erased, for the audit
 * entry (names only). */
static void audit_names(const struct erase_state *e, char *buf, size_t cap)
{
	const policy *p = e->r->pol;

	buf[0] = '\0';
	for (size_t c = 0; c < p->ncategories; c++)
		if (e->per_category[c] > 0)
			csv_add(buf, cap, p->categories[c].name);
	for (size_t i = 0; i < e->nrecs; i++)
		csv_add(buf, cap, e->recs[i].type_name);
}

/* ---- the erasure ----------------------------------------------------------
 */

static rk_status erase_rows(struct erase_state *e, const store_subject *sub,
			    const unsigned char *dk)
{
	rk_register *r = e->r;
	int64_t n = 0, held = 0;
	rk_status st = RK_OK;

	for (size_t i = 0; st == RK_OK && i < e->nrecs; i++)
		if (e->recs[i].until[0] != '\0')
			st = hold_one(r, dk, sub->id, &e->recs[i]);
	if (st != RK_OK)
		return st;
	for (size_t i = 0; i < e->nrecs; i++)
		held += e->recs[i].until[0] != '\0';
	st = integ_subject_forget(r, sub, e->today, held, &n);
	e->cookies = (size_t)n;
	return st;
}

/* RK_ENOTFOUND for an ID the register erased, with the date. */
static rk_status not_found(rk_register *r, const char *id)
{
	store_erasure er;
	unsigned char mac[SEC_HASH_BYTES];
	unsigned char tag[SEC_HASH_BYTES];

	integ_erasure_tag(r, id, tag);
	if (r->st->vt->erasure_get(r->st, tag, &er) == 0) {
		integ_erasure_mac(r, &er, mac);
		if (sec_memcmp(mac, er.mac, sizeof mac) == 0)
			return reg_fail(r, RK_ENOTFOUND,
					"the subject was erased on %s",
					er.erased_on);
	}
	return reg_fail(r, RK_ENOTFOUND, "no such subject");
}

rk_status rk_erase(rk_register *r, const char *id, unsigned flags,
		   char **receipt_json)
{
	const int dry = (flags & RK_ERASE_DRY_RUN) != 0;
	audit_action action =
		dry ? AUD_SUBJECT_ERASE_DRY_RUN : AUD_SUBJECT_ERASE;
	struct erase_state e;
	store_subject sub;
	unsigned char *dk = NULL;
	char names[NAMES_MAX];
	audit_ev ev;
	rk_status st;
	int open = 0, cleared = 0, done = 0;

	memset(&e, 0, sizeof e);
	e.r = r;
	e.st = RK_OK;
	sub.pseudonym[0] = '\0';
	if (receipt_json == NULL)
		return reg_fail(r, RK_EINVAL, "no place for the receipt");
	*receipt_json = NULL;
	st = access_rights(r, action, "erase subjects");
	if (st != RK_OK)
		return st;
	if ((flags & ~RK_ERASE_DRY_RUN) != 0) {
		st = reg_fail(r, RK_EINVAL, "unknown erase flags");
		goto out;
	}
	if (r->bulk || r->group) {
		st = reg_fail(r, RK_EINVAL,
			      "commit or roll back the bulk or group "
			      "transaction "
			      "before an erasure");
		goto out;
	}
	reg_today(r, e.today);
	st = dry ? reg_begin_read(r) : reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	open = 1;
	st = reg_load_subject(r, id, &sub);
	if (st == RK_ENOTFOUND)
		st = not_found(r, id);
	if (st == RK_OK)
		st = gather(&e, &sub, dry);
	/* A subject may ask for restriction instead of erasure (Art.
	 * 18(1)(b)), or to keep the data for a claim: lifting it is a
	 * decision of its own, not a side effect. */
	if (st == RK_OK && !dry) {
		int v = ledger_restricted(r, &sub);
		if (v < 0)
			st = ledger_err(v);
		else if (v > 0)
			st = reg_fail(r, RK_EREFUSED,
				      "the subject's processing is restricted: "
				      "lift the restriction first (unrestrict) "
				      "if erasure is what the subject now asks "
				      "for");
	}
	if (st == RK_OK && !dry) {
		st = reg_subject_key(r, &sub, &dk);
		if (st == RK_OK)
			st = erase_rows(&e, &sub, dk);
	}
	if (st != RK_OK)
		goto out;
	audit_names(&e, names, sizeof names);
	audit_ev_set(&ev, r, action, sub.pseudonym, names, NULL, "ok");
	if (dry) {
		reg_end_read(r);
		open = 0;
		st = audit_read(r, &ev);
	} else {
		st = audit_write(r, &ev);
		if (st != RK_OK)
			goto out; /* rolled back there: no erasure unaudited */
		st = reg_commit(r);
		open = 0;
		done = st == RK_OK;
		/* The deleted pages were zeroed (secure_delete), but older
		 * copies of them, the wrapped data key among them, stay in
		 * the write-ahead log until a checkpoint empties it. */
		if (st == RK_OK)
			cleared = r->st->vt->checkpoint(r->st) == 0;
	}
	if (st == RK_OK) {
		st = receipt(&e, sub.id, dry, cleared, receipt_json);
		if (st != RK_OK && done)
			reg_fail(r, st,
				 "the subject was erased, but its receipt "
				 "could not be made: out of memory");
	}
out:
	if (open) {
		if (dry)
			reg_end_read(r);
		else
			reg_rollback(r);
	}
	if (st != RK_OK && !done)
		reg_audit_attempt(r, action,
				  sub.pseudonym[0] ? sub.pseudonym : NULL, NULL,
				  st);
	sec_key_free(dk);
	erase_state_free(&e);
	return st;
}
