/*
 * cmd_migrate.c: rekisteri migrate --to DB, moving a register between
 * SQLite and PostgreSQL (rk_register_migrate).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char migrate_usage[] =
	"usage: rekisteri migrate --to DB\n"
	"Copies the register into DB, a new SQLite file or a postgresql://\n"
	"URL of a database that holds no register, with its keys, notice\n"
	"versions, consent ledger and audit trail, as stored (nothing is\n"
	"decrypted on the way); then opens the copy with the same key file\n"
	"and verifies its audit chain and row MACs. The register's own trail\n"
	"records the move. Stop other writers first: what they commit during\n"
	"the move may be missing from the copy. Needs the administrator.\n";

int cmd_migrate(cli *c, int argc, char **argv)
{
	const char *to = NULL;
	int64_t rows = 0;
	rk_status st;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *v = NULL;

		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(migrate_usage, stdout);
			return 0;
		}
		r = cli_opt(argc, argv, &i, "--to", &v);
		if (r == 1 && to == NULL) {
			to = v;
			continue;
		}
		fputs(migrate_usage, stderr);
		return 2;
	}
	if (to == NULL || to[0] == '\0') {
		fputs(migrate_usage, stderr);
		return 2;
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_register_migrate(c->reg, to, &rows);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs("{\"migrated_to\": ", stdout);
		cli_json_str(stdout, to);
		printf(", \"rows\": %" PRId64 ", \"verified\": true}\n", rows);
	} else {
		printf("register moved to %s: %" PRId64 " rows, verified with "
		       "the key file %s\n",
		       to, rows, c->key);
	}
	return 0;
}
