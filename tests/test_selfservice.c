/*
 * test_selfservice.c: self-service links and sessions. A link works once
 * and only until it expires (a fixed clock moves past it), the session it
 * gives expires too, only hashes are stored, a row pointed at another
 * subject in the database is an integrity failure, a few live links per
 * subject at most, and the session acts under "(self-service)" on its
 * own subject. Runs on real SQLite files with the seed policy.
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

#include "rekisteri.h"

#define FX_EXTRA char a[RK_ID_LEN + 1], b[RK_ID_LEN + 1];
#include "fixture.h"
#define T0 1767268800 /* 2026-01-01 12:00 UTC */

static void add_subject(rk_register *r, const char *email,
			char id[RK_ID_LEN + 1])
{
	fx_subject(r, "customer", id, "last_name", "Zyxwvutila", "email", email,
		   NULL);
}

static int setup(void **state)
{
	struct fx *f = fx_open("ss");

	rk_register_set_clock(f->r, T0);
	add_subject(f->r, "a@example.com", f->a);
	add_subject(f->r, "b@example.com", f->b);
	*state = f;
	return 0;
}

static void test_once_and_own_subject(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	char id[RK_ID_LEN + 1];
	int64_t exp = 0, sexp = 0;
	char *doc = NULL;

	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(strlen(secret), RK_TOKEN_LEN);
	assert_int_equal(exp, T0 + RK_SELFSERVICE_LINK_TTL);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	assert_int_equal(sexp, T0 + RK_SELFSERVICE_SESSION_TTL);
	assert_string_not_equal(session, secret);
	/* once only */
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EREFUSED);
	assert_string_equal(session, "");
	/* the link's secret is no session */
	assert_int_equal(rk_selfservice_authenticate(f->r, secret, id),
			 RK_EREFUSED);
	/* a fresh handle for the session, as the server has */
	assert_int_equal(rk_selfservice_exchange(f->r, "x", session, &sexp),
			 RK_EREFUSED);
	{
		char s2[RK_TOKEN_LEN + 1];
		assert_int_equal(
			rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			RK_OK);
		assert_int_equal(
			rk_selfservice_exchange(f->r, secret, s2, &sexp),
			RK_OK);
		assert_int_equal(rk_selfservice_authenticate(f->r, s2, id),
				 RK_OK);
	}
	assert_string_equal(id, f->a);
	assert_string_equal(rk_register_actor(f->r), "(self-service)");
	assert_int_equal(rk_export_json(f->r, id, "fi", &doc), RK_OK);
	assert_non_null(strstr(doc, f->a));
	rk_free_secret(doc);
	/* neither secret is stored: only 32-byte hashes */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM selfsvc WHERE "
					 "length(hash) != 32"),
			 0);
	/* an erased subject's links and sessions go with it */
	assert_int_equal(rk_erase(f->r, f->a, 0, &doc), RK_OK);
	rk_free_secret(doc);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM selfsvc"), 0);
}

static void test_expiry(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	char id[RK_ID_LEN + 1];
	int64_t exp = 0, sexp = 0;

	assert_int_equal(
		rk_selfservice_link(f->r, f->a, NULL, 120, secret, &exp),
		RK_OK);
	rk_register_set_clock(f->r, T0 + 120);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EREFUSED);
	/* a session ends when its time is up */
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	rk_register_set_clock(f->r, sexp - 1);
	assert_int_equal(rk_selfservice_authenticate(f->r, session, id), RK_OK);
	rk_register_set_clock(f->r, sexp);
	assert_int_equal(rk_selfservice_authenticate(f->r, session, id),
			 RK_EREFUSED);
	/* ending a session ends it at once */
	rk_register_set_clock(f->r, T0 + 10000);
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	assert_int_equal(rk_selfservice_end(f->r, session), RK_OK);
	assert_int_equal(rk_selfservice_authenticate(f->r, session, id),
			 RK_EREFUSED);
	/* bad lifetimes */
	assert_int_equal(
		rk_selfservice_link(f->r, f->a, NULL, 59, secret, &exp),
		RK_EINVAL);
	assert_int_equal(
		rk_selfservice_link(f->r, f->a, NULL, 86401, secret, &exp),
		RK_EINVAL);
}

static void test_live_limit(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1];
	int64_t exp = 0;
	int i;

	for (i = 0; i < RK_SELFSERVICE_LIVE_MAX; i++)
		assert_int_equal(
			rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			RK_OK);
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_EREFUSED);
	/* another subject is not held back */
	assert_int_equal(rk_selfservice_link(f->r, f->b, NULL, 0, secret, &exp),
			 RK_OK);
	/* expired links no longer count */
	rk_register_set_clock(f->r, T0 + RK_SELFSERVICE_LINK_TTL);
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	/* an unknown subject */
	assert_int_equal(rk_selfservice_link(f->r,
					     "00000000000000000000000000000000",
					     NULL, 0, secret, &exp),
			 RK_ENOTFOUND);
}

/* A link for subject a, exchanged for a session, and the register still
 * verifying. */
static void link_opened(struct fx *f, char secret[RK_TOKEN_LEN + 1],
			char session[RK_TOKEN_LEN + 1])
{
	int64_t exp = 0, sexp = 0;
	rk_audit_report rep;

	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
}

/* `audit verify` fails and names the self-service rows. */
static void verify_names_selfsvc(struct fx *f)
{
	rk_audit_report rep;

	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_EINTEGRITY);
	assert_non_null(strstr(rep.reason, "self-service"));
}

static void test_repointed_row(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	char id[RK_ID_LEN + 1], sql[300];
	int64_t exp = 0, sexp = 0;

	link_opened(f, secret, session);
	/* someone with the database points the session at another subject */
	snprintf(sql, sizeof sql,
		 "UPDATE selfsvc SET subject_id = '%s' WHERE kind = 1", f->b);
	fx_exec(f->db, sql);
	assert_int_equal(rk_selfservice_authenticate(f->r, session, id),
			 RK_EINTEGRITY);
	assert_string_equal(id, "");
	/* and `audit verify` finds it */
	verify_names_selfsvc(f);
	/* or makes a used link new again, with a longer life */
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	fx_exec(f->db, "UPDATE selfsvc SET expires_at = expires_at + 86400 "
		       "WHERE kind = 0 AND used_at = 0");
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EINTEGRITY);
}

/* Someone with the database but not the key makes a spent link unused
 * again: the next exchange fails closed and `audit verify` says why. */
static void test_spent_link_reused(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	int64_t sexp = 0;

	link_opened(f, secret, session);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EREFUSED);
	fx_exec(f->db, "UPDATE selfsvc SET used_at = 0 WHERE kind = 0");
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EINTEGRITY);
	assert_string_equal(session, "");
	verify_names_selfsvc(f);
}

/* ---- the set of rows, pinned ---- */

/* A copy of a link's row taken while it was unused, written back after
 * the link was spent: the row matches its own MAC, the set does not. The
 * link opens nothing, and `audit verify` says why. */
static void test_replayed_row(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	int64_t exp = 0, sexp = 0;

	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	fx_exec(f->db, "CREATE TABLE kept AS SELECT * FROM selfsvc"
		       " WHERE kind = 0");
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EREFUSED);
	fx_exec(f->db, "DELETE FROM selfsvc WHERE hash IN"
		       " (SELECT hash FROM kept);"
		       "INSERT INTO selfsvc SELECT * FROM kept;");
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM selfsvc"
					 " WHERE kind = 0 AND used_at = 0"),
			 1);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EINTEGRITY);
	assert_string_equal(session, "");
	assert_non_null(strstr(rk_errmsg(f->r), "self-service"));
	/* nothing was handed out: the one session is the first one's */
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM selfsvc"
					 " WHERE kind = 1"),
			 1);
	verify_names_selfsvc(f);
	/* the refusal is in the trail as an integrity failure */
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM audit WHERE"
					 " action = 'selfservice.open'"
					 " AND outcome = 'integrity'"),
			 1);
}

/* A row deleted (a session that was ended, put back, is the same case
 * seen from the other side) or a row slipped in: the set shows it. */
static void test_deleted_or_added_row(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	char s2[RK_TOKEN_LEN + 1];
	int64_t exp = 0, sexp = 0;

	link_opened(f, secret, session);
	fx_exec(f->db, "CREATE TABLE kept AS SELECT * FROM selfsvc;"
		       "DELETE FROM selfsvc WHERE kind = 1");
	verify_names_selfsvc(f);
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, s2, &sexp),
			 RK_EINTEGRITY);
	/* the row back where it was: whole again */
	fx_exec(f->db, "INSERT INTO selfsvc SELECT * FROM kept WHERE kind = 1");
	assert_int_equal(rk_selfservice_exchange(f->r, secret, s2, &sexp),
			 RK_OK);
	/* an ended session put back */
	assert_int_equal(rk_selfservice_end(f->r, s2), RK_OK);
	fx_exec(f->db, "DELETE FROM kept;"
		       "INSERT INTO kept SELECT * FROM selfsvc;");
	{
		rk_audit_report rep;
		memset(&rep, 0, sizeof rep);
		assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	}
	/* a row slipped in, with a MAC of its own making */
	fx_exec(f->db, "INSERT INTO selfsvc (hash, subject_id, kind,"
		       " created_at, expires_at, used_at, mac)"
		       " SELECT randomblob(32), subject_id, 1, created_at,"
		       " expires_at, 0, randomblob(32) FROM kept LIMIT 1");
	verify_names_selfsvc(f);
}

/* The pin moves with every write: links spent, expired and purged,
 * sessions ended, a subject erased, and the register verifies after each;
 * a restore ends every link and pins the set anew. */
static void test_pin_follows_writes(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	char bak[FX_PATH], *doc = NULL;
	int64_t exp = 0, sexp = 0;
	rk_audit_report rep;

	link_opened(f, secret, session);
	assert_int_equal(rk_selfservice_end(f->r, session), RK_OK);
	assert_int_equal(
		rk_selfservice_link(f->r, f->b, NULL, 60, secret, &exp), RK_OK);
	fx_path(bak, sizeof bak, f->dir, "b.db");
	assert_int_equal(rk_backup(f->r, bak), RK_OK);
	link_opened(f, secret, session);
	/* past every expiry: the next link purges them all */
	rk_register_set_clock(f->r, T0 + 86400);
	assert_int_equal(rk_selfservice_link(f->r, f->b, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM selfsvc"), 1);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	/* an erased subject's rows leave the set with it */
	link_opened(f, secret, session);
	assert_int_equal(rk_erase(f->r, f->a, 0, &doc), RK_OK);
	rk_free_secret(doc);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	/* a restore: no link of the backup's comes back */
	assert_int_equal(rk_selfservice_link(f->r, f->b, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_restore(f->r, bak), RK_OK);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM selfsvc"), 0);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EREFUSED);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
	/* and new links work (a stays erased: the trail replays it) */
	assert_int_equal(rk_selfservice_link(f->r, f->b, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(f->r, &rep), RK_OK);
}

/* A register back from a backup in a new file: the backup's links and
 * sessions do not come with it (one spent since must not open again), and
 * the set is pinned anew. */
static void test_restore_new_ends_links(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	char bak[FX_PATH], db2[FX_PATH];
	int64_t exp = 0, sexp = 0;
	rk_register *r2 = NULL;
	rk_audit_report rep;

	link_opened(f, secret, session);
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	fx_path(bak, sizeof bak, f->dir, "b.db");
	fx_path(db2, sizeof db2, f->dir, "r2.db");
	assert_int_equal(rk_backup(f->r, bak), RK_OK);
	assert_int_equal(rk_restore_new(db2, f->key, bak, &r2), RK_OK);
	rk_register_set_clock(r2, T0);
	assert_int_equal(fx_count(db2, "SELECT count(*) FROM selfsvc"), 0);
	assert_int_equal(rk_selfservice_exchange(r2, secret, session, &sexp),
			 RK_EREFUSED);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(rk_integrity_verify(r2, &rep), RK_OK);
	assert_int_equal(rk_selfservice_link(r2, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(r2, secret, session, &sexp),
			 RK_OK);
	rk_register_close(r2);
}

/* A register pinned from the start is never bound again from what it
 * holds: the pin removed and the migration's mark put back leave it
 * unpinned, and links fail with integrity. */
static void test_new_register_not_rebound(void **state)
{
	struct fx *f = *state;
	char secret[RK_TOKEN_LEN + 1], session[RK_TOKEN_LEN + 1];
	int64_t exp = 0;

	link_opened(f, secret, session);
	rk_register_close(f->r);
	f->r = NULL;
	fx_exec(f->db, "DELETE FROM meta WHERE key = 'selfsvc_set';"
		       "UPDATE meta SET value = x'01'"
		       " WHERE key = 'selfsvc_set_pending';");
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	rk_register_set_clock(f->r, T0);
	assert_int_equal(fx_count(f->db, "SELECT count(*) FROM meta"
					 " WHERE key = 'selfsvc_set'"),
			 0);
	verify_names_selfsvc(f);
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_EINTEGRITY);
}

struct seen {
	int link, link_refused, open_ok, open_refused;
};

static int seen_one(void *ud, const rk_audit_entry *e)
{
	struct seen *s = ud;

	if (strcmp(e->action, "selfservice.link") == 0) {
		if (strcmp(e->outcome, "ok") == 0)
			s->link++;
		else
			s->link_refused++;
	}
	if (strcmp(e->action, "selfservice.open") == 0 &&
	    strcmp(e->actor, "(self-service)") == 0) {
		if (strcmp(e->outcome, "ok") == 0)
			s->open_ok++;
		else
			s->open_refused++;
	}
	return 0;
}

static void test_role_and_audit(void **state)
{
	struct fx *f = *state;
	char tok[RK_TOKEN_LEN + 1], secret[RK_TOKEN_LEN + 1];
	char session[RK_TOKEN_LEN + 1];
	int64_t exp = 0, sexp = 0;
	struct seen seen = {0, 0, 0, 0};

	assert_int_equal(rk_actor_add(f->r, "mk1", "marketing", tok), RK_OK);
	assert_int_equal(rk_register_authenticate(f->r, "mk1", tok), RK_OK);
	/* a role without the purpose may not issue a link for it */
	assert_int_equal(
		rk_selfservice_link(f->r, f->a, "orders", 0, secret, &exp),
		RK_EREFUSED);
	rk_register_close(f->r);
	assert_int_equal(rk_register_open(f->db, f->key, &f->r), RK_OK);
	rk_register_set_clock(f->r, T0);
	assert_int_equal(rk_selfservice_link(f->r, f->a, NULL, 0, secret, &exp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_OK);
	assert_int_equal(rk_selfservice_exchange(f->r, secret, session, &sexp),
			 RK_EREFUSED);
	assert_int_equal(rk_register_flush(f->r), RK_OK);
	assert_int_equal(rk_audit_log(f->r, NULL, seen_one, &seen), RK_OK);
	assert_int_equal(seen.link, 1);
	assert_int_equal(seen.link_refused, 1);
	assert_int_equal(seen.open_ok, 1);
	assert_int_equal(seen.open_refused, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_once_and_own_subject,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_live_limit, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_spent_link_reused, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_repointed_row, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_role_and_audit, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_replayed_row, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_or_added_row,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pin_follows_writes, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_register_not_rebound,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_new_ends_links,
						setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
