/*
 * backup.c: online backups; checked restores (of this register's backups,
 * also those made under a retired master key still in the keyring); a lost
 * register brought back from its backup into a new file.
 *
 * A restore refuses, and changes nothing, unless the backup is of this
 * register, its audit chain verifies and every ciphertext it brings back
 * decrypts; a live audit trail that does not verify is kept as evidence
 * unless the restore is forced, and then a copy of the register as it was
 * stays beside it.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consent.h"
#include "crypto.h"
#include "integrity.h"
#include "keys_int.h"
#include "policy.h"
#include "register.h"
#include "store.h"

#define MSG_ANOTHER_KEY                                                        \
	"the backup was made under a master key that this register does "      \
	"not hold (neither the current one nor a retired one in its "          \
	"keyring: it was retired, or the backup is of another register); it "  \
	"opens only with the key file that was valid when it was made; "       \
	"nothing was restored"

/* ---- backup ---- */

rk_status rk_backup(rk_register *r, const char *path)
{
	struct stat sb;
	rk_status st;

	st = access_admin(r, AUD_REGISTER_BACKUP, "make backups");
	if (st != RK_OK)
		return st;
	if (path == NULL || path[0] == '\0')
		return reg_fail(r, RK_EINVAL, "a backup file name is needed");
	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk or group "
				"transaction "
				"before a backup");
	if (lstat(path, &sb) == 0)
		return reg_fail(r, RK_EINVAL,
				"%s exists already: a backup never overwrites "
				"a file",
				path);
	if (errno != ENOENT)
		return reg_fail(r, RK_ESYS, "cannot check %s: %s", path,
				strerror(errno));
	/* The reads this handle made so far go into the copy too. */
	st = rk_register_flush(r);
	if (st != RK_OK)
		return st;
	if (r->st->vt->backup_to(r->st, path) != 0)
		return reg_store_fail(r, "cannot make the backup");
	/* The entry is written after the copy, so the backup ends just
	 * before it; the live trail records that the backup was made. A
	 * backup whose entry cannot be written is removed. */
	st = reg_begin_write(r);
	if (st == RK_OK) {
		st = reg_write_commit(r, AUD_REGISTER_BACKUP, NULL, NULL, NULL);
		if (st != RK_OK) /* a failed commit is undone too */
			reg_rollback(r);
	}
	if (st != RK_OK)
		(void)unlink(path);
	return st;
}

/* ---- restore ---- */

/* The pseudonyms of the subjects the trail says were erased (by an
 * erasure or by retention, which deletes a whole subject the same way),
 * sorted; and whether it shows a restore after entry `after` (the
 * backup's last). */
struct erased_set {
	char (*v)[33];
	size_t n, cap;
	int oom;
	int64_t after;
	int restored;
};

static int erased_one(void *ud, const store_audit *a)
{
	struct erased_set *e = ud;

	if (a->seq > e->after && strcmp(a->outcome, "ok") == 0 &&
	    audit_action_is(a->action, AUD_REGISTER_RESTORE))
		e->restored = 1;
	if (a->subject == NULL ||
	    !(audit_action_is(a->action, AUD_SUBJECT_ERASE) ||
	      audit_action_is(a->action, AUD_RETENTION_DELETE_SUBJECT)) ||
	    strcmp(a->outcome, "ok") != 0 || strlen(a->subject) != 32)
		return 0;
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		char(*v)[33] = realloc(e->v, cap * sizeof *v);
		if (v == NULL) {
			e->oom = 1;
			return 1;
		}
		e->v = v;
		e->cap = cap;
	}
	memcpy(e->v[e->n++], a->subject, 33);
	return 0;
}

static int cmp_pseudonym(const void *a, const void *b)
{
	return memcmp(a, b, 33);
}

/* Whether a restored subject row was erased since: the live register
 * remembers the erasure (by a keyed hash of the ID; *erased 1), or the
 * trail, which verified, holds its erasure entry (*erased 2). RK_EINTEGRITY
 * when the record of erasures was edited. */
static rk_status was_erased(rk_register *r, const store_subject *s,
			    const struct erased_set *trail, int *erased)
{
	unsigned char mac[SEC_HASH_BYTES];
	store_erasure er;
	int rc;

	*erased = 0;
	integ_erasure_tag(r, s->id, er.tag);
	rc = r->st->vt->erasure_get(r->st, er.tag, &er);
	if (rc == 0) {
		integ_erasure_mac(r, &er, mac);
		if (sec_memcmp(mac, er.mac, sizeof mac) != 0)
			return reg_fail(r, RK_EINTEGRITY,
					"the register's record of erasures "
					"was altered; nothing was restored");
		*erased = 1;
	} else if (rc != STORE_NOTFOUND) {
		return reg_store_fail(r, "cannot read the record of erasures");
	}
	if (!*erased && trail->n > 0 &&
	    bsearch(s->pseudonym, trail->v, trail->n, sizeof trail->v[0],
		    cmp_pseudonym) != NULL)
		*erased = 2;
	return RK_OK;
}

static rk_status remember_erasure(rk_register *r, const char *id)
{
	store_erasure er;

	memset(&er, 0, sizeof er);
	integ_erasure_tag(r, id, er.tag);
	reg_today(r, er.erased_on);
	integ_erasure_mac(r, &er, er.mac);
	if (r->st->vt->erasure_add(r->st, &er) != 0)
		return reg_store_fail(r, "cannot remember an erasure");
	return integ_erasure_pin(r, &er);
}

/* The live trail's erasures, read before the restore replaces anything:
 * a forced restore puts the backup's trail in place of a broken one, and
 * the erasures made since the backup must outlive it. The entries are not
 * verified (the trail may be broken): one that names a subject can only
 * erase more, never bring anyone back. */
static rk_status live_erasures(rk_register *r, struct erased_set *trail)
{
	if (r->st->vt->audit_walk(r->st, 1, NULL, erased_one, trail) != 0 ||
	    trail->oom)
		return trail->oom ? reg_fail(r, RK_ESYS, "out of memory")
				  : reg_store_fail(r, "cannot read the trail");
	if (trail->n > 1)
		qsort(trail->v, trail->n, sizeof trail->v[0], cmp_pseudonym);
	return RK_OK;
}

struct live_keys;
static const struct live_key *live_find(const struct live_keys *lk,
					const char *id);

/* How a restore decides who stays erased (replay_erasures). */
struct replay {
	const struct erased_set *trail; /* the live trail's, read before */
	const struct live_keys *live;	/* the live register's subjects */
	int trail_goes_on;		/* the live trail stays (not forced) */
	int keep_out_absent;		/* see replay_erasures */
};

/* The trail that goes on names each erasure the restore made again, when
 * it does not already: the one it replaced, or the record of erasures, may
 * have been the only place that did. */
static rk_status replay_entry(rk_register *r, const struct replay *rp,
			      const store_subject *s)
{
	audit_ev ev;

	if (rp->trail_goes_on && rp->trail->n > 0 &&
	    bsearch(s->pseudonym, rp->trail->v, rp->trail->n,
		    sizeof rp->trail->v[0], cmp_pseudonym) != NULL)
		return RK_OK;
	audit_ev_set(&ev, r, AUD_SUBJECT_ERASE, s->pseudonym,
		     "replayed_by_restore", NULL, "ok");
	return audit_write(r, &ev);
}

/* Subjects erased since the backup (by the live register's record of
 * erasures or its trail) are erased again in what it restored (inside the
 * restore's write, before anything is fitted to the keys).
 * So is every subject the live register no longer holds (keep_out_absent):
 * only an erasure or retention takes one away, and without the key their
 * record can be rolled back whole and the trail's entries cut (a broken
 * trail's, or its end with its head), so a restore does not bring a
 * person back on their word alone. The exception is a live trail that
 * verifies and shows a restore since the backup was made: that restore
 * took away the subjects made after its own backup, and restoring a newer
 * backup after it brings them back. */
static rk_status replay_erasures(rk_register *r, store_subject *rows,
				 const struct replay *rp)
{
	char after[sizeof rows->id] = "";
	struct keys_page pg;
	rk_status st = RK_OK;
	int erased;

	for (;;) {
		pg.rows = rows;
		pg.n = 0;
		if (r->st->vt->subject_list(
			    r->st, NULL, after[0] ? after : NULL, ROTATE_PAGE,
			    keys_collect, &pg) != 0) {
			st = reg_store_fail(r, "cannot list subjects");
			goto out;
		}
		for (size_t i = 0; i < pg.n; i++) {
			st = was_erased(r, &rows[i], rp->trail, &erased);
			if (st != RK_OK)
				goto out;
			if (!erased && rp->keep_out_absent &&
			    live_find(rp->live, rows[i].id) == NULL)
				erased = 3;
			if (erased &&
			    r->st->vt->subject_delete(r->st, rows[i].id) != 0) {
				st = reg_store_fail(r, "cannot replay an "
						       "erasure");
				goto out;
			}
			/* Known only from the trail: remembered again. */
			if (erased == 2)
				st = remember_erasure(r, rows[i].id);
			if (st == RK_OK && erased)
				st = replay_entry(r, rp, &rows[i]);
			if (st != RK_OK)
				goto out;
		}
		if (pg.n < ROTATE_PAGE)
			break;
		memcpy(after, rows[pg.n - 1].id, sizeof after);
	}
out:
	return st;
}

/* The master key id a backup file was made under ("" if unreadable). */
static rk_status backup_key_id(rk_register *r, const char *path,
			       char kid[SEC_KEYID_HEX + 1])
{
	char err[REG_ERR_MAX] = "";
	unsigned char buf[64];
	size_t len = 0;
	store *bs;
	int rc;

	kid[0] = '\0';
	bs = store_sqlite_open(path, 0, err, sizeof err);
	if (bs == NULL)
		return reg_fail(r, RK_EINVAL,
				"%s is not a usable rekisteri backup: %s; "
				"nothing was restored",
				path, err);
	rc = bs->vt->meta_get(bs, META_KEY_ID, buf, sizeof buf, &len);
	bs->vt->close(bs);
	if (rc != 0 || len != SEC_KEYID_HEX)
		return reg_fail(r, RK_EINVAL,
				"%s is not a rekisteri backup; nothing was "
				"restored",
				path);
	memcpy(kid, buf, len);
	kid[len] = '\0';
	return RK_OK;
}

/* The rows of b's subject rows[i] as integrity verify holds them: its
 * values under their digest, its records under their chain. */
static rk_status rows_verify(rk_register *b, const store_subject *row)
{
	rk_status st = integ_values_verify(b, row);

	if (st == RK_OK)
		st = integ_records_walk(b, row, NULL, NULL, NULL);
	return st;
}

static rk_status rows_fail(rk_register *r, rk_register *b, rk_status st)
{
	if (st == RK_EINTEGRITY)
		return reg_fail(r, st,
				"the backup's rows were altered without the "
				"key (%s); nothing was restored",
				rk_errmsg(b));
	return reg_fail(r, st,
			"the backup cannot be checked (%s); nothing was "
			"restored",
			rk_errmsg(b));
}

/* Every subject of b, in one walk: its data key opens with b's master key
 * and every ciphertext with the data key; and what a restore takes in is
 * as b's MACs pin it (rows_verify, then the identifiers' links), since it
 * would come in altered otherwise and the register fail its own verify
 * after a restore that said it was done. Not what stays live or is ended
 * (ledgers, actors, self-service rows). rows: a page of scratch rows. */
static rk_status backup_walk(rk_register *r, rk_register *b,
			     store_subject *rows)
{
	char after[sizeof rows->id] = "";
	unsigned char *dk = NULL;
	struct keys_page pg;
	rk_status st;

	for (;;) {
		pg.rows = rows;
		pg.n = 0;
		if (b->st->vt->subject_list(
			    b->st, NULL, after[0] ? after : NULL, ROTATE_PAGE,
			    keys_collect, &pg) != 0)
			return reg_fail(r, RK_EINVAL,
					"the backup's subjects cannot be read; "
					"nothing was restored");
		for (size_t i = 0; i < pg.n; i++) {
			st = reg_subject_key(b, &rows[i], &dk);
			if (st == RK_OK)
				st = keys_subject_decrypts(b, rows[i].id, dk);
			sec_key_free(dk);
			dk = NULL;
			if (st != RK_OK)
				return reg_fail(
					r, st == RK_ESYS ? st : RK_EINTEGRITY,
					"the backup's data does not "
					"decrypt under its keys (%s); "
					"nothing was restored",
					rk_errmsg(b));
			st = rows_verify(b, &rows[i]);
			if (st != RK_OK)
				return rows_fail(r, b, st);
		}
		if (pg.n < ROTATE_PAGE)
			break;
		memcpy(after, rows[pg.n - 1].id, sizeof after);
	}
	st = integ_cookies_verify(b);
	return st == RK_OK ? RK_OK : rows_fail(r, b, st);
}

/* A lookup value's copy of its subject's pseudonym names the subject in a
 * look-up's audit entry, and no MAC covers it (integrity verify compares it
 * with the subject's row): a backup whose copies were edited would bring
 * back look-ups audited under another person's pseudonym. */
static rk_status copies_match(rk_register *r, store *s)
{
	int64_t bad = 0;

	if (s->vt->value_pseudonym_mismatch(s, &bad) != 0)
		return reg_fail(r, RK_EINVAL,
				"the backup's lookup values cannot be read; "
				"nothing was restored");
	if (bad != 0)
		return reg_fail(r, RK_EINTEGRITY,
				"a lookup value in the backup names another "
				"pseudonym than its subject's (the file was "
				"altered without the key); nothing was "
				"restored");
	return RK_OK;
}

/* The backup pins its set of subjects as the register does: a person
 * deleted from the file with all their rows (no key needed) would otherwise
 * come back as never there, their live ledger dropped with them, and the
 * live pin is rebuilt from what came back. sum gets the set's sum. */
static rk_status backup_set_check(rk_register *r, rk_register *b,
				  unsigned char *sum)
{
	rk_status st = integ_set_check(b, sum);

	if (st == RK_EINTEGRITY)
		return reg_fail(r, st,
				"the backup's subjects are not the set it "
				"pinned (one was removed or added without the "
				"key); nothing was restored");
	if (st != RK_OK)
		return reg_fail(r, st,
				"the backup's subjects cannot be read; nothing "
				"was restored");
	return RK_OK;
}

/* The backup at path: made under this register's master key or a retired
 * one in its keyring (bmk gets that key), of this register (the same audit
 * chain key), loadable, its audit chain intact and all its data
 * decrypting. *same_ikey: whether its blind index key is today's; bset
 * gets the sum of its set of subjects, checked against its pin. Reads
 * only. */
static rk_status check_backup(rk_register *r, const char *path,
			      unsigned char *bmk, store_subject *rows,
			      int *same_ikey, unsigned char *bset, int *legacy,
			      int64_t *bseq)
{
	char kid[SEC_KEYID_HEX + 1], cur[SEC_KEYID_HEX + 1];
	struct ring g = {NULL, 0};
	rk_register *b = NULL;
	rk_audit_report rep;
	rk_status st;
	long i;

	st = backup_key_id(r, path, kid);
	if (st != RK_OK)
		return st;
	sec_key_id(r->mk, cur);
	if (strcmp(kid, cur) == 0) {
		memcpy(bmk, r->mk, SEC_KEY_BYTES);
	} else {
		st = reg_begin_read(r);
		if (st != RK_OK)
			return st;
		st = keys_ring_load(r, r->mk, &g);
		reg_end_read(r);
		if (st != RK_OK)
			return st;
		i = keys_ring_find(&g, kid);
		if (i >= 0)
			memcpy(bmk,
			       keys_ring_entry(&g, (size_t)i) + SEC_KEYID_HEX +
				       8,
			       SEC_KEY_BYTES);
		keys_ring_free(&g);
		if (i < 0)
			return reg_fail(r, RK_EINVAL, "%s", MSG_ANOTHER_KEY);
	}
	st = reg_open_key(path, bmk, &b);
	if (st != RK_OK) {
		st = reg_fail(r, st, "the backup does not open: %s",
			      rk_errmsg(b));
		goto out;
	}
	if (!audit_key_known(r, b->akey)) {
		st = reg_fail(r, RK_EINVAL,
			      "the backup is of another register; nothing "
			      "was restored");
		goto out;
	}
	*same_ikey = b->ikey != NULL && r->ikey != NULL &&
		     sec_memcmp(b->ikey, r->ikey, SEC_KEY_BYTES) == 0;
	st = audit_verify_chain(b, &rep);
	*bseq = rep.entries; /* its last entry: they are numbered from 1 */
	if (st != RK_OK) {
		st = reg_fail(r, st,
			      "the backup's audit trail does not verify: %s; "
			      "nothing was restored",
			      st == RK_EINTEGRITY ? rep.reason : rk_errmsg(b));
		goto out;
	}
	st = backup_walk(r, b, rows);
	if (st == RK_OK)
		st = copies_match(r, b->st);
	if (st == RK_OK)
		st = backup_set_check(r, b, bset);
	if (st == RK_OK)
		st = integ_sums_legacy(b, legacy);
out:
	rk_register_close(b);
	return st;
}

/* After a restore, the restored register must still be this one. */
static rk_status check_restored_keys(rk_register *r)
{
	char stored[SEC_KEYID_HEX + 1], kid[SEC_KEYID_HEX + 1];
	unsigned char *ik = NULL, *ak = NULL;
	rk_status st;

	if (keys_stored_id(r, stored) != 0)
		return reg_store_fail(r, "cannot read the restored register");
	sec_key_id(r->mk, kid);
	if (strcmp(stored, kid) != 0)
		return reg_fail(r, RK_EINTEGRITY, "%s", MSG_ANOTHER_KEY);
	st = reg_load_key(r, META_INDEX_KEY, AD_INDEX_KEY, &ik);
	if (st == RK_OK)
		st = reg_load_key(r, META_AUDIT_KEY, AD_AUDIT_KEY, &ak);
	if (st == RK_OK && (sec_memcmp(ik, r->ikey, SEC_KEY_BYTES) != 0 ||
			    sec_memcmp(ak, r->akey, SEC_KEY_BYTES) != 0))
		st = reg_fail(r, RK_EINVAL,
			      "the backup is of another register; nothing "
			      "was restored");
	sec_key_free(ik);
	sec_key_free(ak);
	return st;
}

/* The live subjects' wrapped data keys, by id, as they were before the
 * restore replaced the rows: the consent ledger, which stays live, is
 * sealed with them. */
struct live_key {
	char id[33];
	unsigned char w[SEC_WRAPPED_BYTES];
};

struct live_keys {
	struct live_key *v;
	size_t n, cap;
	int oom;
};

static int live_one(void *ud, const store_subject *s)
{
	struct live_keys *lk = ud;

	if (lk->n == lk->cap) {
		size_t cap = lk->cap ? lk->cap * 2 : 256;
		struct live_key *v = realloc(lk->v, cap * sizeof *v);
		if (v == NULL) {
			lk->oom = 1;
			return 1;
		}
		lk->v = v;
		lk->cap = cap;
	}
	memcpy(lk->v[lk->n].id, s->id, sizeof s->id);
	memcpy(lk->v[lk->n].w, s->wrapped_key, SEC_WRAPPED_BYTES);
	lk->n++;
	return 0;
}

static const struct live_key *live_find(const struct live_keys *lk,
					const char *id)
{
	size_t lo = 0, hi = lk->n;

	while (lo < hi) { /* subject_list gives them ordered by id */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(lk->v[mid].id, id);
		if (c == 0)
			return &lk->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The live ledgers stay through a restore and each restored row is re-pinned
 * to the head its ledger ends in now: a ledger cut back to the head a backup
 * pins (its newest entries deleted without the key) would pass that re-pin
 * and the cut, e.g. a cookie reset or a withdrawal, would be undone
 * unseen. So each live row must pin its live ledger before anything goes. */
static rk_status live_ledgers_verify(rk_register *r, const struct live_keys *lk)
{
	store_subject sub;
	rk_status st = RK_OK;
	size_t i;

	for (i = 0; st == RK_OK && i < lk->n; i++) {
		st = reg_load_subject(r, lk->v[i].id, &sub);
		if (st == RK_OK)
			st = integ_consent_walk(r, &sub, NULL, NULL, NULL);
	}
	return st;
}

/* The subject's consent ledger stays live through a restore, sealed under
 * its live data key: when a re-encryption since the backup changed that
 * key, the ledger's evidence is sealed again under dk, the restored one. */
static rk_status reseal_live_evidence(rk_register *r, const char *sid,
				      const unsigned char *dk,
				      const struct live_keys *lk)
{
	const struct live_key *k = live_find(lk, sid);
	unsigned char *ldk;
	rk_status st = RK_OK;

	if (k == NULL)
		return RK_OK; /* not live: its ledger went with it */
	ldk = sec_key_alloc();
	if (ldk == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	if (sec_unwrap(r->mk, sid, k->w, ldk) == 0 &&
	    sec_memcmp(ldk, dk, SEC_KEY_BYTES) != 0)
		st = keys_reseal_evidence(r, sid, dk, ldk);
	sec_key_free(ldk);
	return st;
}

/* What the restore brought back, checked and fitted to today's keys:
 * every subject's data key opens with the backup's master key bmk and is
 * wrapped again under the current one, every ciphertext opens, and the
 * blind index is rebuilt with the current index key. A backup made under
 * today's keys needs neither: its wraps and indexes are today's, and its
 * values are checked against their digest instead (the file may have
 * changed since check_backup read it). Inside the write. */
static rk_status fit_restored(rk_register *r, const unsigned char *bmk,
			      const struct live_keys *lk, store_subject *rows,
			      int same_ikey)
{
	int same_mk = sec_memcmp(bmk, r->mk, SEC_KEY_BYTES) == 0;
	char after[sizeof rows->id] = "";
	unsigned char w[SEC_WRAPPED_BYTES];
	unsigned char *dk = sec_key_alloc();
	struct keys_page pg;
	rk_status st = RK_OK;

	if (dk == NULL)
		return reg_fail(r, RK_ESYS, "out of memory");
	for (;;) {
		pg.rows = rows;
		pg.n = 0;
		if (r->st->vt->subject_list(
			    r->st, NULL, after[0] ? after : NULL, ROTATE_PAGE,
			    keys_collect, &pg) != 0) {
			st = reg_store_fail(r, "cannot list subjects");
			break;
		}
		for (size_t i = 0; st == RK_OK && i < pg.n; i++) {
			if (sec_unwrap(bmk, rows[i].id, rows[i].wrapped_key,
				       dk) != 0) {
				st = reg_fail(r, RK_EINTEGRITY,
					      "a restored subject's data key "
					      "does not open");
				break;
			}
			st = reseal_live_evidence(r, rows[i].id, dk, lk);
			if (st == RK_OK)
				st = keys_subject_decrypts(r, rows[i].id, dk);
			/* the records as the checked row pins them */
			if (st == RK_OK)
				st = integ_records_walk(r, &rows[i], NULL, NULL,
							NULL);
			if (st == RK_OK && same_ikey)
				st = integ_values_verify(r, &rows[i]);
			else if (st == RK_OK)
				st = keys_rebuild_bidx(r, &rows[i], dk,
						       r->ikey);
			if (same_mk)
				continue;
			if (st == RK_OK &&
			    sec_wrap(r->mk, rows[i].id, dk, w) != 0)
				st = reg_fail(r, RK_ESYS,
					      "cannot wrap a subject key");
			if (st == RK_OK && r->st->vt->subject_set_key(
						   r->st, rows[i].id, w) != 0)
				st = reg_store_fail(r, "cannot store a subject "
						       "key");
		}
		if (st != RK_OK || pg.n < ROTATE_PAGE)
			break;
		memcpy(after, rows[pg.n - 1].id, sizeof after);
	}
	sec_key_free(dk);
	if (st == RK_OK)
		st = integ_cookies_verify(r);
	if (st == RK_OK)
		return copies_match(r, r->st);
	if (st == RK_EINTEGRITY)
		st = reg_fail(r, st,
			      "what the backup brings back does not decrypt "
			      "(%s); nothing was restored",
			      r->err);
	return st;
}

/* The actor's role by name in the restored policy (indexes may differ). */
static void reload_policy(rk_register *r, rk_status *st)
{
	char role[64] = "";
	size_t n;

	if (r->role != POL_NONE) {
		n = strlen(r->pol->roles[r->role].name);
		if (n < sizeof role)
			memcpy(role, r->pol->roles[r->role].name, n + 1);
	}
	*st = reg_load_policy(r);
	if (*st != RK_OK)
		return;
	if (role[0] != '\0') {
		r->role = policy_role(r->pol, role);
		/* Only an administrator restores; keep that role if the
		 * restored policy lost the actor's own. */
		if (r->role == POL_NONE)
			r->role = r->pol->settings.operator_role;
	}
}

/* Before a forced restore replaces a broken live trail: a copy of the
 * register as it is, beside it, so that no evidence is lost. A PostgreSQL
 * register has no file to sit beside: its copy goes beside its key file
 * (named without the key's ".key"). */
static rk_status keep_live_copy(rk_register *r, char *out, size_t cap)
{
	const char *base = r->db_path;
	size_t len = strlen(base);
	int n;

	if (store_is_url(base)) {
		base = r->key_path;
		len = strlen(base);
		if (len > 4 && strcmp(base + len - 4, ".key") == 0)
			len -= 4;
	}
	n = snprintf(out, cap, "%.*s.before-restore-%lld", (int)len, base,
		     (long long)reg_now_us(r));
	if (len == 0 || n < 0 || (size_t)n >= cap)
		return reg_fail(r, RK_EINVAL,
				"cannot name a copy of the register");
	if (r->st->vt->backup_to(r->st, out) != 0)
		return reg_store_fail(r, "cannot keep a copy of the register "
					 "before replacing its audit trail");
	return RK_OK;
}

rk_status rk_restore(rk_register *r, const char *path)
{
	return rk_restore_ex(r, path, 0);
}

rk_status rk_restore_ex(rk_register *r, const char *path, unsigned flags)
{
	unsigned char *bmk = NULL;
	char stored[SEC_KEYID_HEX + 1], kid[SEC_KEYID_HEX + 1];
	char copy[sizeof r->db_path + 64] = "", trail[REG_ERR_MAX] = "";
	store_subject *rows = NULL;
	struct live_keys live = {NULL, 0, 0, 0};
	struct erased_set erased = {NULL, 0, 0, 0, 0, 0};
	struct replay rp;
	rk_audit_report rep;
	struct stat sb;
	audit_ev ev;
	rk_status st;
	unsigned char bset[SEC_HASH_BYTES], have[SEC_HASH_BYTES];
	int committed = 0, keep_audit = 1, rebuild = 0, same_ikey = 0;
	int legacy = 0;

	st = access_admin(r, AUD_REGISTER_RESTORE, "restore backups");
	if (st != RK_OK)
		return st;
	r->err[0] = '\0'; /* after a forced restore: what it replaced */
	if (path == NULL || path[0] == '\0')
		return reg_fail(r, RK_EINVAL, "a backup file name is needed");
	if ((flags & ~(unsigned)RK_RESTORE_FORCE) != 0)
		return reg_fail(r, RK_EINVAL, "unknown restore flags");
	if (r->bulk || r->group)
		return reg_fail(r, RK_EINVAL,
				"commit or roll back the bulk or group "
				"transaction "
				"before a restore");
	if (stat(path, &sb) != 0)
		return reg_fail(r, errno == ENOENT ? RK_ENOTFOUND : RK_ESYS,
				"cannot read %s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return reg_fail(r, RK_EINVAL, "%s is not a file", path);
	bmk = sec_key_alloc();
	rows = calloc(ROTATE_PAGE, sizeof *rows);
	if (bmk == NULL || rows == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	st = check_backup(r, path, bmk, rows, &same_ikey, bset, &legacy,
			  &erased.after);
	if (st != RK_OK)
		goto out;
	/* The live trail is evidence: one that does not verify is not
	 * replaced unless the operator insists, and then a copy of the
	 * register as it is stays beside it. */
	st = audit_verify_chain(r, &rep);
	if (st == RK_EINTEGRITY) {
		snprintf(trail, sizeof trail, "%s", rep.reason);
		if (!(flags & RK_RESTORE_FORCE)) {
			st = reg_fail(r, RK_EINTEGRITY,
				      "the register's audit trail does not "
				      "verify (%s): a restore would replace "
				      "it, so nothing was restored; find out "
				      "what happened first, or restore with "
				      "--force (a copy of the register as it "
				      "is now is kept)",
				      trail);
			goto out;
		}
		keep_audit = 0;
		st = keep_live_copy(r, copy, sizeof copy);
	}
	if (st != RK_OK)
		goto out;
	st = reg_begin_write(r);
	if (st != RK_OK)
		goto out;
	if (keys_stored_id(r, stored) != 0) {
		st = reg_store_fail(r, "cannot read the register");
		goto out;
	}
	sec_key_id(r->mk, kid);
	if (strcmp(stored, kid) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "the master key was rotated since this handle "
			      "opened the register: open it again");
		goto out;
	}
	/* The record of erasures decides who stays erased: it must be the
	 * one the register pinned, forced restore or not. */
	st = integ_erasures_verify(r);
	/* Forced, with a trail that verifies: the trail names every erasure,
	 * the replay puts their rows back and the set is pinned anew. */
	if (st == RK_EINTEGRITY && (flags & RK_RESTORE_FORCE) && keep_audit) {
		rebuild = 1;
		st = RK_OK;
	}
	if (st != RK_OK) {
		st = reg_fail(r, st,
			      "the register's record of erasures does not "
			      "match what it pinned (rows were removed or "
			      "edited without the key); a restore could bring "
			      "erased subjects back, so nothing was restored "
			      "(--force restores when the audit trail "
			      "verifies: its entries replay the erasures)");
		goto out;
	}
	if (r->st->vt->subject_list(r->st, NULL, NULL, 0, live_one, &live) !=
		    0 ||
	    live.oom) {
		st = live.oom ? reg_fail(r, RK_ESYS, "out of memory")
			      : reg_store_fail(r, "cannot list subjects");
		goto out;
	}
	/* Forced: the operator insists, as with a trail that fails. */
	st = live_ledgers_verify(r, &live);
	if (st == RK_EINTEGRITY && !(flags & RK_RESTORE_FORCE)) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "a subject's consent ledger does not match what "
			      "its row pinned (entries were removed or edited "
			      "without the key); a restore would hide that and "
			      "undo them, so nothing was restored; find out "
			      "what happened first, or restore with --force");
		goto out;
	}
	if (st == RK_EINTEGRITY)
		st = RK_OK;
	if (st != RK_OK)
		goto out;
	st = live_erasures(r, &erased);
	if (st != RK_OK)
		goto out;
	rp.trail = &erased;
	rp.live = &live;
	rp.trail_goes_on = keep_audit;
	rp.keep_out_absent = !(keep_audit && erased.restored);
	if (r->st->vt->restore_from(r->st, path, keep_audit) != 0) {
		st = reg_fail(r, RK_EINTEGRITY,
			      "cannot restore: %s; nothing was changed",
			      r->st->vt->errmsg(r->st));
		goto out;
	}
	/* A trail replaced by the backup's ends where the backup's did. */
	st = keep_audit ? RK_OK : audit_adopt_trail(r);
	if (st == RK_OK)
		st = check_restored_keys(r);
	/* A backup from before the sums' tags brings links whose MACs do
	 * not bind their time; it was checked so, and they get today's. */
	if (st == RK_OK && legacy)
		st = integ_cookies_retag(r);
	/* The rows that came are the set that was checked (the file may
	 * have changed since). */
	if (st == RK_OK)
		st = integ_set_sum(r, have);
	if (st == RK_OK && sec_memcmp(have, bset, sizeof have) != 0)
		st = reg_fail(r, RK_EINTEGRITY,
			      "the backup's subjects changed while it was "
			      "restored; nothing was restored");
	if (st == RK_OK)
		st = replay_erasures(r, rows, &rp);
	if (st == RK_OK && rebuild)
		st = integ_erasures_rebuild(r);
	/* What came back is checked where it now lies (the file may have
	 * changed since it was checked) and fitted to today's keys. */
	if (st == RK_OK)
		st = fit_restored(r, bmk, &live, rows, same_ikey);
	/* Data of a consent withdrawn since the backup goes again. */
	if (st == RK_OK)
		st = consent_purge_unconsented(r);
	if (st == RK_OK)
		st = keys_reencrypt_reset(r);
	/* The subject rows are the backup's now: the register's record of
	 * its subjects is taken from them, as they were checked above. */
	if (st == RK_OK)
		st = integ_set_rebuild(r);
	/* A restore ends every self-service link and session (the subjects'
	 * delete took them): a link spent since the backup must not come
	 * back, and the set is pinned anew, empty. */
	if (st == RK_OK &&
	    r->st->vt->selfsvc_purge(r->st, INT64_MAX, NULL) != 0)
		st = reg_store_fail(r, "cannot end the self-service links");
	if (st == RK_OK)
		st = integ_selfsvc_rebind(r);
	/* A backup's trail from before the sums' tags does not show the
	 * live register's: it says so again. */
	if (st == RK_OK && !keep_audit)
		st = integ_sums_bind(r);
	if (st != RK_OK)
		goto out;
	/* The live trail, which already holds the backup's entries, goes on
	 * with the restore; a broken one was replaced by the backup's only
	 * because it was forced, and the entry says so. */
	audit_ev_set(&ev, r, AUD_REGISTER_RESTORE, NULL,
		     !keep_audit ? "forced," AUDIT_TRAIL_FROM_BACKUP
				   ",live_copy_kept"
		     : rebuild ? "forced,erasures_from_audit_trail"
			       : NULL,
		     NULL, "ok");
	st = audit_write(r, &ev);
	if (st != RK_OK)
		goto out;
	st = reg_commit(r);
	if (st != RK_OK)
		goto out;
	committed = 1;
	reload_policy(r, &st);
	/* Old pages leave the WAL (erased subjects' too). Readers in other
	 * processes may delay it; it then completes later by itself. */
	(void)r->st->vt->checkpoint(r->st);
	if (st == RK_OK && !keep_audit)
		reg_fail(r, RK_OK,
			 "the audit trail did not verify (%s) and was replaced "
			 "by the backup's; the register as it was is kept in "
			 "%s",
			 trail, copy);
out:
	if (!committed) {
		reg_rollback(r);
		if (st != RK_OK)
			reg_audit_attempt(r, AUD_REGISTER_RESTORE, NULL, NULL,
					  st);
		if (copy[0] != '\0')
			(void)unlink(copy); /* nothing was replaced after all */
	}
	sec_key_free(bmk);
	free(rows);
	free(live.v);
	free(erased.v);
	return st;
}

/* ---- a lost register back from its backup ---- */

static void remove_db(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[KEYS_PATH_MAX + 64];

	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
		if (snprintf(p, sizeof p, "%s%s", path, sfx[i]) < (int)sizeof p)
			(void)unlink(p);
}

rk_status rk_restore_new(const char *db_path, const char *key_path,
			 const char *backup_path, rk_register **out)
{
	char err[REG_ERR_MAX] = "", kid[SEC_KEYID_HEX + 1];
	char bkid[SEC_KEYID_HEX + 1], tmp[KEYS_PATH_MAX + 32];
	unsigned char *mk = NULL;
	store_subject *rows = NULL;
	rk_register *r = NULL, *b = NULL;
	rk_audit_report rep;
	struct stat sb;
	rk_status st;
	int made = 0;

	*out = NULL;
	/* A handle for the messages until the register exists. */
	r = reg_blank();
	if (r == NULL)
		return RK_ESYS;
	if (db_path == NULL || key_path == NULL || backup_path == NULL ||
	    db_path[0] == '\0' || strlen(db_path) >= KEYS_PATH_MAX) {
		st = reg_fail(r, RK_EINVAL,
			      "a database path, key file and backup are "
			      "needed");
		goto out;
	}
	if (lstat(db_path, &sb) == 0 || errno != ENOENT) {
		st = reg_fail(r, RK_EINVAL,
			      "%s exists already: a register is restored "
			      "into a new file only",
			      db_path);
		goto out;
	}
	if (stat(backup_path, &sb) != 0) {
		st = reg_fail(r, errno == ENOENT ? RK_ENOTFOUND : RK_ESYS,
			      "cannot read %s: %s", backup_path,
			      strerror(errno));
		goto out;
	}
	if (sec_init() != 0) {
		st = reg_fail(r, RK_ESYS, "cannot initialise cryptography");
		goto out;
	}
	mk = sec_key_alloc();
	rows = calloc(ROTATE_PAGE, sizeof *rows);
	if (mk == NULL || rows == NULL) {
		st = reg_fail(r, RK_ESYS, "out of memory");
		goto out;
	}
	if (sec_keyfile_load(key_path, mk, err, sizeof err) != 0) {
		st = reg_fail(r, RK_EINVAL, "%s", err);
		goto out;
	}
	st = backup_key_id(r, backup_path, bkid);
	if (st != RK_OK)
		goto out;
	sec_key_id(mk, kid);
	if (strcmp(kid, bkid) != 0) {
		st = reg_fail(r, RK_EINVAL,
			      "the backup was made under another master key: "
			      "it opens only with the key file that was valid "
			      "when it was made; nothing was restored");
		goto out;
	}
	st = reg_open_key(backup_path, mk, &b);
	if (st == RK_OK) {
		st = audit_verify_chain(b, &rep);
		if (st == RK_EINTEGRITY)
			reg_fail(b, st, "its audit trail does not verify: %s",
				 rep.reason);
	}
	if (st == RK_OK)
		st = backup_walk(r, b, rows);
	else
		st = reg_fail(r, st,
			      "the backup is not usable: %s; nothing "
			      "was restored",
			      rk_errmsg(b));
	if (st == RK_OK)
		st = copies_match(r, b->st);
	if (st == RK_OK) {
		unsigned char sum[SEC_HASH_BYTES];
		st = backup_set_check(r, b, sum);
	}
	if (st != RK_OK)
		goto out;
	/* Made under a name of its own and given db_path only when whole:
	 * a restore killed half-way leaves no file in the way of the next
	 * try. */
	{
		char rnd[33];
		int n;
		sec_random_id(rnd);
		n = snprintf(tmp, sizeof tmp, "%s.restoring-%.16s", db_path,
			     rnd);
		if (n < 0 || (size_t)n >= sizeof tmp) {
			st = reg_fail(r, RK_EINVAL,
				      "the database path is too long");
			goto out;
		}
	}
	if (b->st->vt->backup_to(b->st, tmp) != 0) {
		st = reg_fail(r, RK_ESYS, "cannot write %s: %s", db_path,
			      b->st->vt->errmsg(b->st));
		goto out;
	}
	made = 1;
	rk_register_close(b);
	b = NULL;
	rk_register_close(r);
	r = NULL;
	st = reg_open(tmp, key_path, 1, &r);
	if (st == RK_OK)
		st = reg_begin_write(r);
	if (st == RK_OK) {
		/* The backup's self-service links and sessions end, as in a
		 * restore in place: one spent since must not open again. */
		if (r->st->vt->selfsvc_purge(r->st, INT64_MAX, NULL) != 0)
			st = reg_store_fail(r, "cannot end the self-service "
					       "links");
		if (st == RK_OK)
			st = integ_selfsvc_rebind(r);
		if (st == RK_OK)
			st = reg_write_commit(r, AUD_REGISTER_RESTORE, NULL,
					      "new_register", NULL);
		if (st != RK_OK) /* a failed commit is undone too */
			reg_rollback(r);
	}
	if (st == RK_OK) {
		/* Closed first, so that its log is folded into the file. */
		rk_register_close(r);
		r = NULL;
		if (link(tmp, db_path) != 0) {
			int e = errno;
			r = reg_blank();
			st = reg_fail(r, e == EEXIST ? RK_EINVAL : RK_ESYS,
				      "cannot create %s: %s", db_path,
				      strerror(e));
			goto out;
		}
		remove_db(tmp);
		made = 0;
		st = reg_open(db_path, key_path, 1, &r);
	}
out:
	if (st != RK_OK && made) {
		char msg[REG_ERR_MAX];
		snprintf(msg, sizeof msg, "%s", r != NULL ? r->err : "");
		rk_register_close(r);
		r = NULL;
		remove_db(tmp);
		r = reg_blank();
		if (r != NULL)
			reg_fail(r, st, "%s", msg);
	}
	rk_register_close(b);
	sec_key_free(mk);
	free(rows);
	*out = r;
	return st;
}

/* ---- listing backups ---- */

/* Only the role that makes backups sees which exist: their names and times
 * tell when the register was copied. */
rk_status rk_backup_list_allowed(rk_register *r)
{
	return access_admin(r, AUD_BACKUP_LIST, "list backups");
}
