/*
 * cmd_admin.c: `rekisteri key rotate|reencrypt|list|retire`,
 * `rekisteri backup FILE` and `rekisteri restore [--force] [--into DB] FILE`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char key_usage[] =
	"usage: rekisteri key rotate [--reencrypt]\n"
	"       rekisteri key reencrypt [--restart]\n"
	"       rekisteri key list\n"
	"       rekisteri key retire KEYID\n"
	"\n"
	"rotate     makes a new master key and replaces the key file with it "
	"(a power\n"
	"           cut at any moment leaves a register that opens with the "
	"old or the\n"
	"           new key file). The blind index key and the checkpoint "
	"signing key\n"
	"           are replaced too (old checkpoints still verify); the audit "
	"chain key,\n"
	"           the cookie identifier key and the subjects' data keys are "
	"re-wrapped.\n"
	"           The old master key is kept in the register's keyring, "
	"sealed under\n"
	"           the new one, so that backups made under it still restore.\n"
	"           --reencrypt: then re-encrypt as `key reencrypt` does.\n"
	"reencrypt  gives every subject a new data key and re-encrypts its "
	"data; an\n"
	"           interrupted run goes on where it stopped (--restart: from "
	"the\n"
	"           beginning). A progress bar shows when standard error is a "
	"terminal.\n"
	"list       the current master key and the retired ones in the "
	"keyring.\n"
	"retire     destroys a retired master key: backups made under it no "
	"longer\n"
	"           restore.\n"
	"\n"
	"What an old key file still opens after a plain rotation: not this "
	"register.\n"
	"With a backup made under it, that backup; and as every subject keeps "
	"its data\n"
	"key, with a copy of today's database also today's data of the "
	"subjects that\n"
	"were in that backup, values written since included (not subjects "
	"added since,\n"
	"not the blind index, not newer checkpoints). The audit chain key and "
	"the cookie\n"
	"identifier key are kept as they are. After `key reencrypt` an old key "
	"file with\n"
	"an old backup opens only what that backup holds.\n";

static const char backup_usage[] =
	"usage: rekisteri backup FILE\n"
	"Writes a consistent copy of the register to the new file FILE (mode "
	"0600;\n"
	"an existing file is refused) while others go on writing. The copy "
	"holds\n"
	"only ciphertext and wrapped keys: it opens with the master key file "
	"valid\n"
	"now, and this register restores it for as long as that key is in its "
	"keyring.\n"
	"Keep the key file apart from the backups.\n";

static const char restore_usage[] =
	"usage: rekisteri restore [--force] FILE\n"
	"       rekisteri restore --into NEW.db FILE\n"
	"Checks the backup FILE (of this register, made under its master key "
	"or "
	"a\n"
	"retired one in its keyring, intact file, intact audit trail, every "
	"value\n"
	"decrypting, its rows as integrity verify holds them) and brings its "
	"data\n"
	"back. What must never go back stays: keys and counters, actors, the "
	"consent\n"
	"ledger (withdrawals since stand), erasures and the audit trail. On "
	"any "
	"problem\n"
	"nothing is changed.\n"
	"A live audit trail that does not verify is evidence: the restore is "
	"refused.\n"
	"--force goes on anyway: a copy of the register as it is stays beside "
	"its\n"
	"database file, the backup's trail replaces the broken one and the "
	"restore's\n"
	"audit entry says so.\n"
	"--into NEW.db: the register's database file was lost. Makes a new "
	"register\n"
	"at NEW.db from FILE and the key file that was valid when FILE was "
	"made\n"
	"(--key-file, else $REKISTERI_KEY_FILE, else NEW.db.key). Subjects "
	"erased\n"
	"after the backup come back and must be erased again.\n";

/* --help anywhere after the verb; 1 when printed. */
static int wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 1;
		}
	return 0;
}

/* A progress bar on standard error, only when it is a terminal. */
static void progress_bar(void *ud, uint64_t done, uint64_t total)
{
	int width = 40, filled;

	(void)ud;
	filled = total == 0 ? width : (int)((done * (uint64_t)width) / total);
	fputs("\rre-encrypting [", stderr);
	for (int i = 0; i < width; i++)
		fputc(i < filled ? '#' : ' ', stderr);
	fprintf(stderr, "] %llu/%llu", (unsigned long long)done,
		(unsigned long long)total);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

static int reencrypt(cli *c, int restart)
{
	rk_status st;
	int tty = isatty(STDERR_FILENO);

	st = rk_key_reencrypt(c->reg, restart, tty ? progress_bar : NULL, NULL);
	if (st != RK_OK) {
		if (tty)
			fputc('\n', stderr);
		cli_status(c, st);
		if (rk_key_reencrypt_pending(c->reg))
			fputs("rekisteri: what was done is kept; run rekisteri "
			      "key reencrypt to go on\n",
			      stderr);
		return (int)st;
	}
	return 0;
}

static int key_rotate(cli *c, int argc, char **argv)
{
	char oldid[RK_KEY_ID_LEN + 1], newid[RK_KEY_ID_LEN + 1];
	int re = 0, r;
	rk_status st;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--reencrypt") == 0)
			re = 1;
		else
			return cli_error(2, "key rotate takes only "
					    "--reencrypt; see rekisteri key "
					    "--help");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	rk_key_id(c->reg, oldid);
	st = rk_key_rotate(c->reg);
	if (st != RK_OK)
		return cli_status(c, st);
	rk_key_id(c->reg, newid);
	if (re) {
		r = reencrypt(c, 1);
		if (r != 0)
			return r;
	}
	if (c->json) {
		fputs("{\"rotated\": true, \"key_file\": ", stdout);
		cli_json_str(stdout, c->key);
		printf(", \"key_id\": \"%s\", \"retired_key_id\": \"%s\", "
		       "\"replaced\": [\"master_key\", \"index_key\", "
		       "\"signing_key\", \"audit_key\"], \"rewrapped\": "
		       "[\"row_key\", \"cookie_key\"%s], \"reencrypted\": %s, "
		       "\"old_key_file_opens\": \"%s\"}\n",
		       newid, oldid, re ? "" : ", \"data_keys\"",
		       re ? "true" : "false",
		       re ? "backups made under it, only as they were"
			  : "backups made under it, and through their data "
			    "keys today's data of the subjects in them");
		return 0;
	}
	printf("master key rotated: %s holds the new key %s; the old key %s "
	       "is kept in the register's keyring\n",
	       c->key, newid, oldid);
	printf("replaced: the master key, the blind index key, the checkpoint "
	       "signing key (old checkpoints still verify), the audit chain "
	       "key (a new segment of the trail begins)\n");
	if (re) {
		printf("re-encrypted: every subject's data under a new data "
		       "key\n");
		printf("the old key file no longer opens this register; with "
		       "a backup made under it, it opens that backup's data as "
		       "it was then, nothing newer\n");
	} else {
		printf("re-wrapped, not replaced: the row MAC key, the "
		       "cookie identifier key, every subject's data key\n");
		printf("the old key file no longer opens this register; with "
		       "a backup made under it, it still decrypts today's data "
		       "of the subjects in that backup, values written since "
		       "included (each subject kept its data key): run "
		       "rekisteri key reencrypt to end that\n");
	}
	printf("backups made under %s restore until rekisteri key retire %s\n",
	       oldid, oldid);
	return 0;
}

static int key_list(cli *c)
{
	json_t *arr;
	json_error_t jerr;
	char *text = NULL;
	size_t i;
	json_t *k;
	rk_status st;
	int r = cli_open(c);

	if (r != 0)
		return r;
	st = rk_key_list(c->reg, &text);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		printf("{\"keys\": %s}\n", text);
		rk_free(text);
		return 0;
	}
	arr = json_loads(text, 0, &jerr);
	rk_free(text);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return cli_error(1, "cannot read the key list");
	}
	json_array_foreach(arr, i, k)
	{
		const char *id = json_string_value(json_object_get(k, "id"));
		const char *state =
			json_string_value(json_object_get(k, "state"));
		json_t *at = json_object_get(k, "retired_at");
		printf("%s  %s", id ? id : "?", state ? state : "?");
		if (json_is_integer(at))
			printf("  retired at %lld (Unix time)",
			       (long long)json_integer_value(at));
		putchar('\n');
	}
	json_decref(arr);
	return 0;
}

static int key_retire(cli *c, int argc, char **argv)
{
	rk_status st;
	int r;

	if (argc != 3)
		return cli_error(2, "key retire needs one KEYID (see rekisteri "
				    "key list)");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_key_retire(c->reg, argv[2]);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		printf("{\"retired\": \"%s\"}\n", argv[2]);
	else
		printf("master key %s destroyed: backups made under it no "
		       "longer restore\n",
		       argv[2]);
	return 0;
}

int cmd_key(cli *c, int argc, char **argv)
{
	int r;

	if (wants_help(argc, argv, key_usage))
		return 0;
	if (argc < 2) {
		fputs(key_usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "rotate") == 0)
		return key_rotate(c, argc, argv);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return key_list(c);
	if (strcmp(argv[1], "retire") == 0)
		return key_retire(c, argc, argv);
	if (strcmp(argv[1], "reencrypt") == 0 &&
	    (argc == 2 || (argc == 3 && strcmp(argv[2], "--restart") == 0))) {
		r = cli_open(c);
		if (r != 0)
			return r;
		r = reencrypt(c, argc == 3);
		if (r != 0)
			return r;
		if (c->json)
			puts("{\"reencrypted\": true}");
		else
			puts("every subject's data is re-encrypted under a new "
			     "data key");
		return 0;
	}
	fputs(key_usage, stderr);
	return 2;
}

int cmd_backup(cli *c, int argc, char **argv)
{
	rk_status st;
	int r;

	if (wants_help(argc, argv, backup_usage))
		return 0;
	if (argc != 2) {
		fputs(backup_usage, stderr);
		return 2;
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_backup(c->reg, argv[1]);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs("{\"backup\": ", stdout);
		cli_json_str(stdout, argv[1]);
		puts("}");
	} else {
		printf("backup written to %s\n", argv[1]);
	}
	return 0;
}

/* restore --into: a new register from a backup. */
static int restore_into(cli *c, const char *into, const char *file)
{
	rk_status st;
	int r;

	if (c->db != NULL && strcmp(c->db, into) != 0)
		return cli_error(2, "--into names the new database: give it "
				    "instead of --db");
	c->db = into;
	r = cli_paths(c);
	if (r != 0)
		return r;
	st = rk_restore_new(c->db, c->key, file, &c->reg);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs("{\"restored\": ", stdout);
		cli_json_str(stdout, file);
		fputs(", \"into\": ", stdout);
		cli_json_str(stdout, c->db);
		puts("}");
	} else {
		printf("register restored from %s into %s (key file %s); "
		       "subjects erased after the backup must be erased "
		       "again\n",
		       file, c->db, c->key);
	}
	return 0;
}

int cmd_restore(cli *c, int argc, char **argv)
{
	const char *file = NULL, *into = NULL, *v = NULL;
	unsigned flags = 0;
	rk_status st;
	int r;

	if (wants_help(argc, argv, restore_usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			flags |= RK_RESTORE_FORCE;
		} else if ((r = cli_opt(argc, argv, &i, "--into", &v)) != 0) {
			if (r < 0)
				return cli_error(2, "--into needs a path");
			into = v;
		} else if (file == NULL) {
			file = argv[i];
		} else {
			fputs(restore_usage, stderr);
			return 2;
		}
	}
	if (file == NULL || (into != NULL && flags != 0)) {
		fputs(restore_usage, stderr);
		return 2;
	}
	if (into != NULL)
		return restore_into(c, into, file);
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_restore_ex(c->reg, file, flags);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs("{\"restored\": ", stdout);
		cli_json_str(stdout, file);
		if ((flags & RK_RESTORE_FORCE) && rk_errmsg(c->reg)[0]) {
			fputs(", \"note\": ", stdout);
			cli_json_str(stdout, rk_errmsg(c->reg));
		}
		puts("}");
	} else {
		printf("register restored from %s\n", file);
		if ((flags & RK_RESTORE_FORCE) && rk_errmsg(c->reg)[0])
			printf("%s\n", rk_errmsg(c->reg));
	}
	return 0;
}
