/*
 * cmd_actor.c: `rekisteri actor add|list|revoke`.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char actor_usage[] =
	"usage: rekisteri actor add NAME --role ROLE\n"
	"       rekisteri actor list\n"
	"       rekisteri actor revoke NAME\n"
	"add prints the new actor's token once, alone on standard output; "
	"only\n"
	"its hash is kept. The actor then works with --actor NAME and the "
	"token\n"
	"in REKISTERI_TOKEN. Roles come from the policy.\n"
	"list prints one line an actor: name, role, when created and when "
	"revoked\n"
	"(or \"active\"); with --json, a JSON array.\n";

static const char *actor_str(const json_t *a, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(a, key));

	return s != NULL ? s : dflt;
}

/* Widens a column to hold s (up to 64 characters). */
static void widen(int *w, const char *s)
{
	size_t n = strlen(s);

	if (n > (size_t)*w)
		*w = n > 64 ? 64 : (int)n;
}

/* A header, then one aligned line an actor. */
static int print_actors(const char *text)
{
	json_t *arr = json_loads(text, 0, NULL), *a;
	int wname = 4, wrole = 4, wcreated = 7;
	size_t i;

	if (!json_is_array(arr)) {
		json_decref(arr);
		return cli_error(1, "the library returned a damaged list");
	}
	if (json_array_size(arr) == 0) {
		printf("(no actors)\n");
		json_decref(arr);
		return 0;
	}
	json_array_foreach(arr, i, a)
	{
		widen(&wname, actor_str(a, "name", "?"));
		widen(&wrole, actor_str(a, "role", "?"));
		widen(&wcreated, actor_str(a, "created", "?"));
	}
	printf("%-*s  %-*s  %-*s  REVOKED\n", wname, "NAME", wrole, "ROLE",
	       wcreated, "CREATED");
	json_array_foreach(arr, i, a)
	{
		printf("%-*s  %-*s  %-*s  %s\n", wname,
		       actor_str(a, "name", "?"), wrole,
		       actor_str(a, "role", "?"), wcreated,
		       actor_str(a, "created", "?"),
		       actor_str(a, "revoked", "active"));
	}
	json_decref(arr);
	return 0;
}

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
		if (c->json)
			puts(json);
		else
			r = print_actors(json);
		rk_free(json);
		return r;
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
