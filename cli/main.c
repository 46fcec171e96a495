/*
 * main.c: the rekisteri command line: global options, verb dispatch, exit
 * codes (those of rk_status), and the helpers every verb shares.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: rekisteri [--db PATH] [--key-file PATH] [--actor NAME] "
	"[--json] VERB ...\n"
	"\n"
	"verbs:\n"
	"  init [--policy FILE]              create a register and its key\n"
	"  policy check FILE                 validate a policy file\n"
	"  subject add --kind KIND [--field NAME=VALUE]... [--source S]\n"
	"              [--password-stdin] [--purpose P]\n"
	"  subject show ID [--purpose P]\n"
	"  subject find --by FIELD VALUE [--purpose P]\n"
	"  subject update ID --field NAME=VALUE... [--source S]\n"
	"              [--password-stdin] [--purpose P]\n"
	"  subject end ID [--date YYYY-MM-DD] [--purpose P]\n"
	"  subject list [--kind KIND] [--after ID] [--limit N]\n"
	"  record add ID|--cookie COOKIE_ID --type TYPE [--attach FILE]\n"
	"             [--attach-type MEDIA/TYPE] [--purpose P] < JSON\n"
	"  record list ID [--type TYPE] [--purpose P]\n"
	"  record attachment ID RECORD --out FILE [--purpose P]\n"
	"  consent give|withdraw ID SCOPE [--channel C] [--evidence-stdin]\n"
	"  consent history ID\n"
	"  object ID direct_marketing        the direct-marketing prohibition\n"
	"  may-contact ID --channel email|sms|phone|post [--for "
	"own|third-party]\n"
	"  cookie link ID COOKIE_ID | cookie reset ID\n"
	"  audit verify [--checkpoint FILE] | audit checkpoint FILE\n"
	"  audit log [--subject ID]\n"
	"  actor add NAME --role ROLE | actor list | actor revoke NAME\n"
	"  key rotate [--reencrypt]          new master, index and signing "
	"keys\n"
	"  key reencrypt [--restart] | key list | key retire KEYID\n"
	"  backup FILE                       online copy\n"
	"  restore [--force] FILE | restore --into NEW.db FILE\n"
	"  version\n"
	"\n"
	"The register is --db, else $REKISTERI_DB, else ./rekisteri.db; its "
	"master key\n"
	"--key-file, else $REKISTERI_KEY_FILE, else <db>.key. Each verb has "
	"--help.\n"
	"Without --actor (or $REKISTERI_ACTOR) you act as the operator who "
	"holds the\n"
	"master key, in the policy's admin role; an actor proves itself with "
	"its\n"
	"token in $REKISTERI_TOKEN.\n"
	"Exit codes: 0 done, 1 system failure, 2 bad usage or input, 3 not "
	"found,\n"
	"4 refused by policy, 5 integrity failure.\n";

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("rekisteri: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_status(const cli *c, rk_status st)
{
	const char *msg = c->reg != NULL ? rk_errmsg(c->reg) : "";

	return cli_error((int)st, "%s", msg[0] ? msg : rk_status_name(st));
}

int cli_paths(cli *c)
{
	const char *env;

	if (c->db == NULL) {
		env = getenv("REKISTERI_DB");
		c->db = env != NULL && env[0] ? env : "rekisteri.db";
	}
	if (c->key == NULL) {
		env = getenv("REKISTERI_KEY_FILE");
		if (env != NULL && env[0]) {
			c->key = env;
		} else {
			int n = snprintf(c->keybuf, sizeof c->keybuf, "%s.key",
					 c->db);
			if (n < 0 || (size_t)n >= sizeof c->keybuf)
				return cli_error(2, "the database path is too "
						    "long");
			c->key = c->keybuf;
		}
	}
	if (c->actor == NULL) {
		env = getenv("REKISTERI_ACTOR");
		c->actor = env != NULL && env[0] ? env : NULL;
	}
	return 0;
}

int cli_open(cli *c)
{
	rk_status st;
	int rc = cli_paths(c);

	if (rc != 0)
		return rc;
	st = rk_register_open(c->db, c->key, &c->reg);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->actor != NULL) {
		/* Secrets never come from the command line. */
		const char *token = getenv("REKISTERI_TOKEN");
		if (token == NULL || token[0] == '\0')
			return cli_error(2,
					 "acting as an actor needs its token "
					 "in REKISTERI_TOKEN");
		st = rk_register_authenticate(c->reg, c->actor, token);
		if (st != RK_OK)
			return cli_status(c, st);
	}
	return 0;
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (val == NULL)
		return a[n] == '\0' ? 1 : 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

void cli_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int main(int argc, char **argv)
{
	cli c;
	char **rest;
	int nrest = 0, i, rc, r;
	const char *v = NULL;

	memset(&c, 0, sizeof c);
	rest = calloc((size_t)argc + 1, sizeof *rest);
	if (rest == NULL)
		return cli_error(1, "out of memory");
	/* Global options may stand before or after the verb. */
	for (i = 1; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--db", &v)) != 0) {
			if (r < 0) {
				free(rest);
				return cli_error(2, "--db needs a path");
			}
			c.db = v;
		} else if ((r = cli_opt(argc, argv, &i, "--key-file", &v)) !=
			   0) {
			if (r < 0) {
				free(rest);
				return cli_error(2, "--key-file needs a path");
			}
			c.key = v;
		} else if ((r = cli_opt(argc, argv, &i, "--actor", &v)) != 0) {
			if (r < 0) {
				free(rest);
				return cli_error(2, "--actor needs a name");
			}
			c.actor = v;
		} else if (cli_opt(argc, argv, &i, "--json", NULL) == 1) {
			c.json = 1;
		} else if (strcmp(argv[i], "--") == 0) {
			/* Everything after -- is an argument of the verb. */
			for (; i < argc; i++)
				rest[nrest++] = argv[i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	if (nrest == 0 || strcmp(rest[0], "--help") == 0 ||
	    strcmp(rest[0], "-h") == 0 || strcmp(rest[0], "help") == 0) {
		fputs(usage, nrest == 0 ? stderr : stdout);
		free(rest);
		return nrest == 0 ? 2 : 0;
	}
	if (strcmp(rest[0], "version") == 0 ||
	    strcmp(rest[0], "--version") == 0) {
		printf("rekisteri %s\n", rk_version());
		rc = 0;
	} else if (strcmp(rest[0], "init") == 0) {
		rc = cmd_init(&c, nrest, rest);
	} else if (strcmp(rest[0], "policy") == 0) {
		rc = cmd_policy(&c, nrest, rest);
	} else if (strcmp(rest[0], "subject") == 0) {
		rc = cmd_subject(&c, nrest, rest);
	} else if (strcmp(rest[0], "record") == 0) {
		rc = cmd_record(&c, nrest, rest);
	} else if (strcmp(rest[0], "key") == 0) {
		rc = cmd_key(&c, nrest, rest);
	} else if (strcmp(rest[0], "backup") == 0) {
		rc = cmd_backup(&c, nrest, rest);
	} else if (strcmp(rest[0], "restore") == 0) {
		rc = cmd_restore(&c, nrest, rest);
	} else if (strcmp(rest[0], "audit") == 0) {
		rc = cmd_audit(&c, nrest, rest);
	} else if (strcmp(rest[0], "consent") == 0) {
		rc = cmd_consent(&c, nrest, rest);
	} else if (strcmp(rest[0], "object") == 0) {
		rc = cmd_object(&c, nrest, rest);
	} else if (strcmp(rest[0], "may-contact") == 0) {
		rc = cmd_may_contact(&c, nrest, rest);
	} else if (strcmp(rest[0], "cookie") == 0) {
		rc = cmd_cookie(&c, nrest, rest);
	} else if (strcmp(rest[0], "actor") == 0) {
		rc = cmd_actor(&c, nrest, rest);
	} else {
		/* not repeated: it may be anything typed */
		rc = cli_error(2, "unknown verb: see rekisteri --help");
	}
	rk_register_close(c.reg);
	free(rest);
	return rc;
}
