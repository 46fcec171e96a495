/*
 * test_integrity.c: the MACs that bind access-deciding rows to the
 * register's row key: how they are framed, that a register written before
 * them is bound once at its first open (and still reads, authenticates and
 * verifies), that it is never bound again from what an attacker left, and
 * that a restore keeps the live ledger pinned.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crypto.h"
#include "register.h"
#include "rekisteri.h"

#define FX_EXTRA                                                               \
	char bak[FX_PATH];                                                     \
	char token[RK_TOKEN_LEN + 1];                                          \
	int64_t version; /* the schema's version before make_old */
#include "fixture.h"
#define PURCHASE                                                               \
	"{\"product\": \"Skanneri\", \"amount\": \"10.00\", \"currency\": "    \
	"\"EUR\"}"

static int setup(void **state)
{
	struct fx *f = fx_open("integ");
	int64_t rec = 0;

	fx_path(f->bak, sizeof f->bak, f->dir, "b.db");
	fx_subject(f->r, "customer", f->id, "first_name", "Aino", "last_name",
		   "Integriteetti", "email", "aino@example.com", NULL);
	assert_int_equal(rk_consent_set(f->r, f->id, "email_marketing", 1,
					"web", "lomake"),
			 RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, f->id, "email_marketing", 0, "web", NULL),
		RK_OK);
	assert_int_equal(rk_record_add(f->r, f->id, "purchase", PURCHASE, NULL,
				       NULL, NULL, &rec),
			 RK_OK);
	assert_int_equal(
		rk_actor_add(f->r, "cs-1", "customer_service", f->token),
		RK_OK);
	assert_int_equal(rk_cookie_link(f->r, f->id, "ck-1"), RK_OK);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	*state = f;
	return 0;
}

/* One member of an audit entry as the chain hashes it: its length (all
 * ones for NULL), then its bytes. */
static size_t put_member(unsigned char *b, size_t off, const char *m)
{
	size_t n = m == NULL ? 0 : strlen(m);
	uint32_t len = m == NULL ? UINT32_MAX : (uint32_t)n;

	b[off] = (unsigned char)(len >> 24);
	b[off + 1] = (unsigned char)(len >> 16);
	b[off + 2] = (unsigned char)(len >> 8);
	b[off + 3] = (unsigned char)len;
	if (n > 0)
		memcpy(b + off + 4, m, n);
	return off + 4 + n;
}

static const char *col_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL
		       ? NULL
		       : (const char *)sqlite3_column_text(st, i);
}

static int64_t rechain(struct fx *f, const unsigned char *akey,
		       unsigned char last[SEC_HASH_BYTES]);

/* The trail as a register from before the MACs and the kept head has it:
 * its init entry carries no binding mark and there is no kept head. The
 * chain is hashed again with the register's own chain key, as that
 * register would have written it. */
static void make_trail_old(struct fx *f)
{
	unsigned char akey[SEC_KEY_BYTES], last[SEC_HASH_BYTES];
	rk_register *r = NULL;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	memcpy(akey, r->akey, sizeof akey);
	rk_register_close(r);
	fx_exec(f->db, "UPDATE audit SET fields = NULL WHERE seq = 1;"
		       "DELETE FROM meta WHERE key = 'audit_head';");
	(void)rechain(f, akey, last);
	sec_wipe(akey, sizeof akey);
}

/* The chain hashed again with the chain key akey, as the register would
 * have written it; last gets the newest entry's hash, and the newest
 * entry's number is returned. */
static int64_t rechain(struct fx *f, const unsigned char *akey,
		       unsigned char last[SEC_HASH_BYTES])
{
	unsigned char prev[SEC_HASH_BYTES] = {0};
	unsigned char h[SEC_HASH_BYTES], msg[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL, *u = NULL;
	int64_t seq = 0;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db,
				   "SELECT seq, at_us, actor, action, subject,"
				   " fields, purpose, outcome FROM audit"
				   " ORDER BY seq",
				   -1, &q, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "UPDATE audit SET prev = ?1,"
					    " hash = ?2 WHERE seq = ?3",
					    -1, &u, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
			 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		char num[48];
		size_t off = 0;
		snprintf(num, sizeof num, "%lld:%lld",
			 (long long)sqlite3_column_int64(q, 0),
			 (long long)sqlite3_column_int64(q, 1));
		off = put_member(msg, off, num);
		for (int i = 2; i < 8; i++)
			off = put_member(msg, off, col_or_null(q, i));
		sec_chain(akey, prev, msg, off, h);
		sqlite3_bind_blob(u, 1, prev, sizeof prev, SQLITE_TRANSIENT);
		sqlite3_bind_blob(u, 2, h, sizeof h, SQLITE_TRANSIENT);
		sqlite3_bind_int64(u, 3, sqlite3_column_int64(q, 0));
		assert_int_equal(sqlite3_step(u), SQLITE_DONE);
		sqlite3_reset(u);
		memcpy(prev, h, sizeof prev);
		seq = sqlite3_column_int64(q, 0);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	sqlite3_close(db);
	memcpy(last, prev, SEC_HASH_BYTES);
	return seq;
}

/* Turns the register back into one written before the MAC columns:
 * schema version 2, no row key, plain token hashes. */
static void make_old(struct fx *f)
{
	unsigned char h[SEC_HASH_BYTES];
	char hex[2 * SEC_HASH_BYTES + 1], sql[512];

	rk_register_close(f->r);
	f->r = NULL;
	f->version = fx_count(f->db, "SELECT max(version) FROM"
				     " schema_migrations");
	make_trail_old(f);
	sec_token_hash(f->token, h);
	sec_hex(h, sizeof h, hex);
	snprintf(sql, sizeof sql,
		 "UPDATE actor SET token_hash = X'%s' WHERE name = 'cs-1'",
		 hex);
	fx_exec(f->db, sql);
	fx_exec(f->db, "ALTER TABLE subject DROP COLUMN vdigest;"
		       "ALTER TABLE subject DROP COLUMN chead;"
		       "ALTER TABLE subject DROP COLUMN rhead;"
		       "ALTER TABLE subject DROP COLUMN mac;"
		       "ALTER TABLE record DROP COLUMN mac;"
		       "ALTER TABLE consent DROP COLUMN mac;"
		       "ALTER TABLE actor DROP COLUMN mac;"
		       "ALTER TABLE cookie DROP COLUMN mac;"
		       "ALTER TABLE subject DROP COLUMN audit_seq;"
		       /* the pseudonym copies of lookup values */
		       "DROP INDEX value_bidx;"
		       "CREATE INDEX value_bidx ON value(field, bidx,"
		       " subject_id, expires_at) WHERE bidx IS NOT NULL;"
		       "ALTER TABLE value DROP COLUMN pseudonym;"
		       /* what the migrations after 4 made */
		       "DROP TABLE held_chunk;"
		       "DROP TABLE held_record;"
		       "DROP TABLE erasure;"
		       "ALTER TABLE record DROP COLUMN cookie_hash;"
		       "DELETE FROM meta WHERE key IN ('row_key',"
		       " 'row_macs_pending', 'actor_set', 'policy_mac',"
		       " 'selfsvc_set', 'selfsvc_set_pending',"
		       " 'subject_set', 'erasure_set', 'held_set');"
		       "DELETE FROM schema_migrations WHERE version >= 3;"
		       /* tables and indexes of later migrations, made
			* again */
		       "DROP INDEX audit_selfsvc_open;"
		       "DROP TABLE dsr;"
		       "DROP TABLE breach;"
		       "DROP TABLE disclosure;"
		       "DROP TABLE selfsvc;");
}

static void reads_as_before_but_consent(struct fx *f);

static void reads_as_before(struct fx *f, rk_register *r)
{
	rk_subject *s = NULL;
	rk_register *h = NULL;
	rk_audit_report rep;
	char *json = NULL;
	int given = -1;

	assert_int_equal(rk_subject_get(r, f->id, NULL, &s), RK_OK);
	assert_int_equal(rk_subject_value_count(s), 4); /* + customer no. */
	rk_subject_free(s);
	assert_int_equal(rk_consent_state(r, f->id, "email_marketing", &given),
			 RK_OK);
	assert_int_equal(given, 0);
	assert_int_equal(rk_consent_history(r, f->id, &json), RK_OK);
	assert_non_null(strstr(json, "lomake"));
	rk_free(json);
	assert_int_equal(rk_record_list(r, f->id, NULL, NULL, &json), RK_OK);
	assert_non_null(strstr(json, "Skanneri"));
	rk_free(json);
	assert_int_equal(rk_register_flush(r), RK_OK);
	assert_int_equal(rk_audit_verify(r, &rep), RK_OK);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs-1", f->token), RK_OK);
	rk_register_close(h);
}

/* The subject, its records and the actor as setup left them. */
static void reads_as_before_but_consent(struct fx *f)
{
	rk_subject *s = NULL;
	rk_register *h = NULL;
	char *json = NULL;

	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_OK);
	assert_int_equal(rk_subject_value_count(s), 4);
	rk_subject_free(s);
	assert_int_equal(rk_record_list(f->r, f->id, NULL, NULL, &json), RK_OK);
	assert_non_null(strstr(json, "Skanneri"));
	rk_free(json);
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_OK);
	assert_int_equal(rk_register_authenticate(h, "cs-1", f->token), RK_OK);
	rk_register_close(h);
}

/* A register from before the MACs opens, is bound once (audited), and
 * reads, authenticates and verifies as it did. */
static void test_old_register_is_bound_at_first_open(void **state)
{
	struct fx *f = *state;
	rk_subject *s = NULL;
	int64_t rec = 0;

	make_old(f);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT max(version) FROM"
					 " schema_migrations"),
			 f->version);
	/* bound, and its sums tagged, once each */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"
					 " WHERE action = 'register.upgrade'"
					 " AND fields = 'row_macs'"),
			 1);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"
					 " WHERE action = 'register.upgrade'"
					 " AND fields = 'sum_tags'"),
			 1);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"
					 " WHERE mac IS NULL"),
			 0);
	reads_as_before(f, f->r);
	/* The identifier's link was bound too. */
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	assert_int_equal(
		rk_record_add_by_cookie(f->r, "ck-1", "browsing",
					"{\"url\": \"https://e.fi/\", "
					"\"at\": \"2025-01-31T12:00:00Z\"}",
					"analytics", &rec),
		RK_OK);
	/* A second open binds nothing again. */
	rk_register_close(f->r);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit"
					 " WHERE action = 'register.upgrade'"),
			 2);
	/* And from now on an edit shows. */
	fx_exec(f->db, "UPDATE value SET legal_basis = 'consent'");
	assert_int_equal(rk_subject_get(f->r, f->id, NULL, &s), RK_EINTEGRITY);
	assert_null(s);
}

/* Once bound, a register whose MACs and row key were removed is not bound
 * again from what it holds: that would bless the attacker's edits. */
static void test_binding_is_not_repeated(void **state)
{
	struct fx *f = *state;
	rk_register *h = NULL;

	make_old(f);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	rk_register_close(f->r);
	f->r = NULL;
	fx_exec(f->db,
		"UPDATE subject SET vdigest = NULL, chead = NULL, rhead = NULL,"
		" mac = NULL;"
		"UPDATE value SET purposes = purposes ||"
		" ',marketing_communications';"
		"DELETE FROM meta WHERE key = 'row_key';"
		"UPDATE meta SET value = x'01'"
		" WHERE key = 'row_macs_pending';");
	assert_int_equal(rk_register_open(f->db, f->key, &h), RK_EINTEGRITY);
	rk_register_close(h);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM subject"
					 " WHERE mac IS NULL"),
			 1);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_EINTEGRITY);
	rk_register_close(f->r);
	f->r = NULL;
}

/* A new register holds its row key from the start, and the key survives a
 * master key rotation (it is re-wrapped with the others). */
static void test_row_key_survives_rotation(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM meta"
					 " WHERE key = 'row_key'"),
			 1);
	assert_int_equal(rk_key_rotate(f->r), RK_OK);
	rk_register_close(f->r);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	reads_as_before(f, f->r);
}

/* A restore brings subject rows back from a backup while the ledger stays
 * live: the rows pin the live ledger again, and an edit of it still
 * shows. */
static void test_restore_repins_the_live_ledger(void **state)
{
	struct fx *f = *state;
	rk_decision d;
	int given = -1;

	assert_int_equal(rk_backup(f->r, f->bak), RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, f->id, "email_marketing", 1, "web", NULL),
		RK_OK);
	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	assert_int_equal(
		rk_consent_state(f->r, f->id, "email_marketing", &given),
		RK_OK);
	assert_int_equal(given, 1);
	assert_int_equal(rk_may_contact(f->r, f->id, "email", 0, &d), RK_OK);
	assert_int_equal(d.allowed, 1);
	fx_exec(f->db, "DELETE FROM consent WHERE id = (SELECT max(id)"
		       " FROM consent)");
	assert_int_equal(rk_may_contact(f->r, f->id, "email", 0, &d),
			 RK_EINTEGRITY);
}

/* The register's file as it is copied to the backup, the register opened
 * (and so brought up to date), a consent given since, and the backup
 * restored: the consent, live in the ledger, stays given. */
static void restores_old_copy(struct fx *f)
{
	char cmd[2 * FX_PATH + 16];
	int given = -1;

	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", f->db, f->bak);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, f->id, "email_marketing", 1, "web", NULL),
		RK_OK);
	assert_int_equal(rk_restore(f->r, f->bak), RK_OK);
	assert_int_equal(
		rk_consent_state(f->r, f->id, "email_marketing", &given),
		RK_OK);
	assert_int_equal(given, 1);
}

/* A backup made before the MACs (schema 2) restores into the register
 * that was bound since: both are bound under the same key. */
static void test_old_backup_restores(void **state)
{
	struct fx *f = *state;

	make_old(f);
	restores_old_copy(f);
	reads_as_before_but_consent(f);
}

/* An old password hash put back (the old password would work again) is
 * refused, like any value rolled back. */
static void test_password_rollback(void **state)
{
	struct fx *f = *state;
	rk_fields *fl = rk_fields_new();
	char sql[1024], hex[600];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "password", "vanha-salasana"),
			 RK_OK);
	assert_int_equal(
		rk_subject_update(f->r, f->id, fl, NULL, "products_services"),
		RK_OK);
	rk_fields_free(fl);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT hex(ciphertext) FROM value"
					    " WHERE field = 'password'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(hex, sizeof hex, "%s",
		 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	fl = rk_fields_new();
	assert_non_null(fl);
	assert_int_equal(rk_fields_add(fl, "password", "uusi-salasana"), RK_OK);
	assert_int_equal(
		rk_subject_update(f->r, f->id, fl, NULL, "products_services"),
		RK_OK);
	rk_fields_free(fl);
	assert_int_equal(rk_subject_check_password(f->r, f->id, "password",
						   "uusi-salasana",
						   "products_services"),
			 RK_OK);
	snprintf(sql, sizeof sql,
		 "UPDATE value SET ciphertext = X'%s' WHERE field = 'password'",
		 hex);
	fx_exec(f->db, sql);
	assert_int_equal(rk_subject_check_password(f->r, f->id, "password",
						   "vanha-salasana",
						   "products_services"),
			 RK_EINTEGRITY);
}

/* The framing of MAC items: boundaries, absence and order all count. */
static void test_mac_framing(void **state)
{
	unsigned char k[SEC_KEY_BYTES], a[SEC_HASH_BYTES], b[SEC_HASH_BYTES];
	sec_mac m;

	(void)state;
	memset(k, 7, sizeof k);
	sec_mac_init(&m, k, "t");
	sec_mac_str(&m, "ab");
	sec_mac_str(&m, "c");
	sec_mac_final(&m, a);
	sec_mac_init(&m, k, "t");
	sec_mac_str(&m, "a");
	sec_mac_str(&m, "bc");
	sec_mac_final(&m, b);
	assert_memory_not_equal(a, b, sizeof a);
	sec_mac_init(&m, k, "t");
	sec_mac_str(&m, NULL);
	sec_mac_final(&m, a);
	sec_mac_init(&m, k, "t");
	sec_mac_str(&m, "");
	sec_mac_final(&m, b);
	assert_memory_not_equal(a, b, sizeof a);
	sec_mac_init(&m, k, "t");
	sec_mac_int(&m, 1);
	sec_mac_final(&m, a);
	sec_mac_init(&m, k, "u");
	sec_mac_int(&m, 1);
	sec_mac_final(&m, b);
	assert_memory_not_equal(a, b, sizeof a);
	k[0] ^= 1;
	sec_mac_init(&m, k, "t");
	sec_mac_int(&m, 1);
	sec_mac_final(&m, b);
	assert_memory_not_equal(a, b, sizeof a);
}

/* ---- the set of self-service rows, bound once for an older register ----
 */

/* The register as one written before the self-service set's pin: its init
 * entry without the pin's mark (the chain and the kept head written again
 * with the chain key), no pin, and its migration's mark to bind one. */
/* The register closed, then edit (SQL) run on its file and the trail
 * chained again with the chain key, its kept head with it: what a register
 * written by an older version would hold. */
static void make_older(struct fx *f, const char *edit)
{
	unsigned char akey[SEC_KEY_BYTES], head[8 + 2 * SEC_HASH_BYTES];
	unsigned char hmsg[sizeof "rekisteri audit head" + 8];
	char hex[2 * sizeof head + 1], sql[300];
	rk_register *r = NULL;
	int64_t seq;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	memcpy(akey, r->akey, sizeof akey);
	rk_register_close(r);
	fx_exec(f->db, edit);
	seq = rechain(f, akey, head + 8);
	/* the kept head as audit.c keeps it: number, hash, keyed tag */
	for (int i = 7; i >= 0; i--, seq >>= 8)
		head[i] = (unsigned char)seq;
	memcpy(hmsg, "rekisteri audit head", sizeof "rekisteri audit head");
	memcpy(hmsg + sizeof "rekisteri audit head", head, 8);
	sec_chain(akey, head + 8, hmsg, sizeof hmsg, head + 8 + SEC_HASH_BYTES);
	sec_hex(head, sizeof head, hex);
	snprintf(sql, sizeof sql,
		 "UPDATE meta SET value = X'%s' WHERE key = 'audit_head'", hex);
	fx_exec(f->db, sql);
	sec_wipe(akey, sizeof akey);
}

static void make_selfsvc_old(struct fx *f)
{
	make_older(f, "UPDATE audit SET fields = 'row_macs' WHERE seq = 1;"
		      "DELETE FROM meta WHERE key = 'selfsvc_set';"
		      "UPDATE meta SET value = x'01'"
		      " WHERE key = 'selfsvc_set_pending';");
}

/* A register from before the sums' tags (each sum alone, no erasure ever,
 * an init entry that says nothing of tags). */
static void make_sums_old(struct fx *f)
{
	make_older(f, "UPDATE audit SET fields = 'row_macs,selfsvc_set'"
		      " WHERE seq = 1;"
		      "UPDATE meta SET value = substr(value, 1, 32)"
		      " WHERE key IN ('subject_set', 'selfsvc_set');"
		      "DELETE FROM meta"
		      " WHERE key IN ('erasure_set', 'held_set');");
}

static int64_t meta_len(struct fx *f, const char *key)
{
	char sql[128];

	snprintf(sql, sizeof sql,
		 "SELECT coalesce(sum(length(value)), 0) FROM meta"
		 " WHERE key = '%s'",
		 key);
	return fx_count(f->db, sql);
}

/* Its sums are tagged at the first open, once and audited, and it works
 * on; a sum put back without its tag afterwards is refused, by writers
 * and by `audit verify`, and is not tagged again. */
static void test_sums_tagged_once(void **state)
{
	static const char *const sums[] = {"subject_set", "erasure_set",
					   "held_set", "selfsvc_set"};
	struct fx *f = *state;
	rk_audit_report rep;
	char sql[160];

	rk_register_close(f->r);
	f->r = NULL;
	make_sums_old(f);
	assert_int_equal(meta_len(f, "subject_set"), SEC_HASH_BYTES);
	assert_int_equal(meta_len(f, "erasure_set"), 0);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++)
		assert_int_equal(meta_len(f, sums[i]), 2 * SEC_HASH_BYTES);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE"
					 " action = 'register.upgrade' AND"
					 " fields = 'sum_tags'"),
			 1);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	assert_int_equal(
		rk_consent_set(f->r, f->id, "email_marketing", 1, "web", NULL),
		RK_OK);
	rk_register_close(f->r);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE"
					 " action = 'register.upgrade' AND"
					 " fields = 'sum_tags'"),
			 1);
	/* each sum without its tag again: an edit now */
	fx_exec(f->db, "CREATE TABLE sums_kept AS SELECT key, value FROM meta"
		       " WHERE key IN ('subject_set', 'erasure_set',"
		       " 'held_set', 'selfsvc_set')");
	for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
		rk_register_close(f->r);
		f->r = NULL;
		snprintf(sql, sizeof sql,
			 "UPDATE meta SET value = substr(value, 1, 32)"
			 " WHERE key = '%s'",
			 sums[i]);
		fx_exec(f->db, sql);
		assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
		assert_int_equal(meta_len(f, sums[i]), SEC_HASH_BYTES);
		memset(&rep, 0, sizeof rep);
		assert_int_equal(rk_integrity_verify(f->r, &rep),
				 RK_EINTEGRITY);
		if (i == 0)
			assert_int_equal(rk_consent_set(f->r, f->id,
							"email_marketing", 0,
							"web", NULL),
					 RK_EINTEGRITY);
		/* its tag back: whole again */
		rk_register_close(f->r);
		f->r = NULL;
		snprintf(sql, sizeof sql,
			 "UPDATE meta SET value = (SELECT value FROM"
			 " sums_kept WHERE key = '%s') WHERE key = '%s'",
			 sums[i], sums[i]);
		fx_exec(f->db, sql);
		assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
		memset(&rep, 0, sizeof rep);
		assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	}
	fx_exec(f->db, "DROP TABLE sums_kept");
	/* none was tagged again */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE"
					 " action = 'register.upgrade' AND"
					 " fields = 'sum_tags'"),
			 1);
}

/* The register's cookie links given MACs of the first form, which bound
 * the identifier to its subject but not the time of the link. */
static void cookies_v1(struct fx *f)
{
	unsigned char rkey[SEC_KEY_BYTES], mac[SEC_HASH_BYTES];
	char hex[2 * SEC_HASH_BYTES + 1], sql[256];
	rk_register *r = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	sec_mac m;
	int n = 0;

	assert_int_equal(rk_register_open(f->db, f->key, &r), RK_OK);
	memcpy(rkey, r->rkey, sizeof rkey);
	rk_register_close(r);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT hex(hash), hash, subject_id"
					    " FROM cookie",
					    -1, &q, NULL),
			 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		sec_mac_init(&m, rkey, "rk-cookie-v1");
		sec_mac_bytes(&m, sqlite3_column_blob(q, 1),
			      (size_t)sqlite3_column_bytes(q, 1));
		sec_mac_str(&m, (const char *)sqlite3_column_text(q, 2));
		sec_mac_final(&m, mac);
		sec_hex(mac, sizeof mac, hex);
		snprintf(sql, sizeof sql,
			 "UPDATE cookie SET mac = X'%s' WHERE hash = X'%s'",
			 hex, (const char *)sqlite3_column_text(q, 0));
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
				 SQLITE_OK);
		n++;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	sec_wipe(rkey, sizeof rkey);
	assert_true(n > 0);
}

static const char browse[] = "{\"url\": \"https://e.fi/\", "
			     "\"at\": \"2025-01-31T12:00:00Z\"}";

/* A register from before the tags with a cookie link ("ck-9", the
 * analytics consent given) whose MAC is of the first form. */
static void make_cookies_old(struct fx *f)
{
	assert_int_equal(rk_consent_set(f->r, f->id, "analytics_cookies", 1,
					"web", NULL),
			 RK_OK);
	assert_int_equal(rk_cookie_link(f->r, f->id, "ck-9"), RK_OK);
	rk_register_close(f->r);
	f->r = NULL;
	cookies_v1(f); /* first: an open would tag what make_sums_old made */
	make_sums_old(f);
}

/* A register from before the tags whose cookie links carry MACs of the
 * first form: they work until the first open tags the sums and gives the
 * links MACs over their time too; a link's MAC of the first form put back
 * afterwards is refused. */
static void test_cookie_links_retagged(void **state)
{
	struct fx *f = *state;
	rk_audit_report rep;
	int64_t rec = 0;

	make_cookies_old(f);
	fx_exec(f->db, "CREATE TABLE v1_kept AS SELECT hash, mac FROM cookie");
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM cookie c JOIN"
					 " v1_kept k USING (hash)"
					 " WHERE c.mac = k.mac"),
			 0);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-9", "browsing",
						 browse, "analytics", &rec),
			 RK_OK);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	/* the first form's MAC put back: an edit now */
	rk_register_close(f->r);
	f->r = NULL;
	fx_exec(f->db, "UPDATE cookie SET mac = (SELECT mac FROM v1_kept"
		       " WHERE v1_kept.hash = cookie.hash);"
		       "DROP TABLE v1_kept");
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-9", "browsing",
						 browse, "analytics", &rec),
			 RK_EINTEGRITY);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_EINTEGRITY);
}

/* A backup from before the tags with such links restores into the
 * register tagged since, and its links get today's MACs. */
static void test_old_cookie_backup_restores(void **state)
{
	struct fx *f = *state;
	rk_audit_report rep;
	int64_t rec = 0;

	make_cookies_old(f);
	restores_old_copy(f);
	assert_int_equal(rk_record_add_by_cookie(f->r, "ck-9", "browsing",
						 browse, "analytics", &rec),
			 RK_OK);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
}

/* A backup made before the tags is read as it was made, and restores into
 * the register tagged since. */
static void test_old_sums_backup_restores(void **state)
{
	struct fx *f = *state;
	rk_audit_report rep;

	rk_register_close(f->r);
	f->r = NULL;
	make_sums_old(f);
	restores_old_copy(f);
	assert_int_equal(meta_len(f, "subject_set"), 2 * SEC_HASH_BYTES);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	/* the backup file was only read */
	assert_int_equal(fx_count(f->bak, "SELECT length(value) FROM meta"
					  " WHERE key = 'subject_set'"),
			 SEC_HASH_BYTES);
	assert_int_equal(fx_count(f->bak, "SELECT count(*) FROM audit WHERE"
					  " action = 'register.upgrade' AND"
					  " fields = 'sum_tags'"),
			 0);
}

static int64_t selfsvc_bindings(struct fx *f)
{
	return fx_count(f->db,
			"SELECT count(*) FROM audit WHERE action ="
			" 'register.upgrade' AND fields = 'selfsvc_set'");
}

/* An older register's links get their set pinned at the first open
 * (audited) and work; the pin removed again later is not bound again:
 * links and `audit verify` fail with integrity. */
static void test_selfsvc_set_bound_once(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	int64_t exp = 0, sexp = 0;
	rk_audit_report rep;

	assert_int_equal(
		rk_selfservice_link(f->r, f->id, NULL, 0, secret, &exp), RK_OK);
	rk_register_close(f->r);
	f->r = NULL;
	make_selfsvc_old(f);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM meta"
					 " WHERE key = 'selfsvc_set'"),
			 0);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(selfsvc_bindings(f), 1);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM meta"
					 " WHERE key = 'selfsvc_set'"),
			 1);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	/* a second open binds nothing */
	rk_register_close(f->r);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(selfsvc_bindings(f), 1);
	/* the pin removed and the mark put back: not bound again */
	rk_register_close(f->r);
	fx_exec(f->db, "DELETE FROM meta WHERE key = 'selfsvc_set';"
		       "UPDATE meta SET value = x'01'"
		       " WHERE key = 'selfsvc_set_pending';");
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	assert_int_equal(selfsvc_bindings(f), 1);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_EINTEGRITY);
	assert_non_null(strstr(rep.reason, "self-service"));
	assert_int_equal(
		rk_selfservice_link(f->r, f->id, NULL, 0, secret, &exp),
		RK_EINTEGRITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_framing),
		cmocka_unit_test_setup_teardown(
			test_old_register_is_bound_at_first_open, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_binding_is_not_repeated,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_row_key_survives_rotation,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_restore_repins_the_live_ledger, setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_password_rollback, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_old_backup_restores, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_sums_tagged_once, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_old_sums_backup_restores,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cookie_links_retagged,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_old_cookie_backup_restores,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_selfsvc_set_bound_once,
						setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
