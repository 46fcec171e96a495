/*
 * cmd_admin.c: `rekisteri key rotate`, `rekisteri backup FILE` and
 * `rekisteri restore FILE`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char key_usage[] =
	"usage: rekisteri key rotate\n"
	"Makes a new master key, re-wraps every subject key and the "
	"register's own\n"
	"keys with it (the data is not re-encrypted) and replaces the key "
	"file.\n"
	"Copies of the old key file open nothing afterwards; backups made "
	"before\n"
	"the rotation open only with the old key file.\n";

static const char backup_usage[] =
	"usage: rekisteri backup FILE\n"
	"Writes a consistent copy of the register to the new file FILE (mode "
	"0600;\n"
	"an existing file is refused) while others go on writing. The copy "
	"holds\n"
	"only ciphertext and wrapped keys: it opens only with the master key "
	"file\n"
	"valid now. Keep the key file apart from the backups.\n";

static const char restore_usage[] =
	"usage: rekisteri restore FILE\n"
	"Checks the backup FILE (same master key, intact file, intact audit "
	"trail)\n"
	"and brings its data back. What must never go back stays: keys and\n"
	"counters, actors, the consent ledger (withdrawals since stand), "
	"erasures\n"
	"and the audit trail. On any problem nothing is changed.\n";

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

int cmd_key(cli *c, int argc, char **argv)
{
	rk_status st;
	int r;

	if (wants_help(argc, argv, key_usage))
		return 0;
	if (argc != 2 || strcmp(argv[1], "rotate") != 0) {
		fputs(key_usage, stderr);
		return 2;
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_key_rotate(c->reg);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs("{\"rotated\": true, \"key_file\": ", stdout);
		cli_json_str(stdout, c->key);
		puts("}");
	} else {
		printf("master key rotated: %s holds the new key; copies of "
		       "the old key file no longer open the register\n",
		       c->key);
	}
	return 0;
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

int cmd_restore(cli *c, int argc, char **argv)
{
	rk_status st;
	int r;

	if (wants_help(argc, argv, restore_usage))
		return 0;
	if (argc != 2) {
		fputs(restore_usage, stderr);
		return 2;
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_restore(c->reg, argv[1]);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs("{\"restored\": ", stdout);
		cli_json_str(stdout, argv[1]);
		puts("}");
	} else {
		printf("register restored from %s\n", argv[1]);
	}
	return 0;
}
