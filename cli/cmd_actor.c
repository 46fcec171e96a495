/*
 * cmd_actor.c: `rekisteri actor add|list|revoke`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char actor_usage[] =
	"usage: rekisteri actor add NAME --role ROLE\n"
	"       rekisteri actor list\n"
	"       rekisteri actor revoke NAME\n"
	"add prints the new actor's token once, alone on standard output; "
	"only\n"
	"its hash is kept. The actor then works with --actor NAME and the "
	"token\n"
	"in REKISTERI_TOKEN. Roles come from the policy.\n";

int cmd_actor(cli *c, int argc, char **argv)
{
	const char *role = NULL;
	char token[RK_TOKEN_LEN + 1];
	char *json = NULL;
	rk_status st;
	int i, r;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			fputs(actor_usage, stdout);
			return 0;
		}
	if (argc >= 3 && strcmp(argv[1], "add") == 0) {
		for (i = 3; i < argc; i++) {
			r = cli_opt(argc, argv, &i, "--role", &role);
			if (r < 0)
				return cli_error(2, "--role needs a role");
			if (r == 0)
				return cli_error(2, "unexpected argument");
		}
		if (role == NULL)
			return cli_error(2, "actor add needs --role ROLE");
		r = cli_open(c);
		if (r != 0)
			return r;
		st = rk_actor_add(c->reg, argv[2], role, token);
		if (st != RK_OK)
			return cli_status(c, st);
		if (c->json)
			printf("{\"name\": \"%s\", \"token\": \"%s\"}\n",
			       argv[2], token);
		else
			printf("%s\n", token);
		explicit_bzero(token, sizeof token);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		r = cli_open(c);
		if (r != 0)
			return r;
		st = rk_actor_list(c->reg, &json);
		if (st != RK_OK)
			return cli_status(c, st);
		puts(json);
		rk_free(json);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "revoke") == 0) {
		r = cli_open(c);
		if (r != 0)
			return r;
		st = rk_actor_revoke(c->reg, argv[2]);
		if (st != RK_OK)
			return cli_status(c, st);
		if (c->json)
			printf("{\"name\": \"%s\", \"revoked\": true}\n",
			       argv[2]);
		else
			printf("revoked %s\n", argv[2]);
		return 0;
	}
	fputs(actor_usage, stderr);
	return 2;
}
