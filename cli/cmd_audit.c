/*
 * cmd_audit.c: `rekisteri audit verify` and `rekisteri audit log`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char audit_usage[] =
	"usage: rekisteri audit verify [--checkpoint FILE]\n"
	"       rekisteri audit checkpoint FILE\n"
	"       rekisteri audit log [--subject ID]\n"
	"verify checks the whole hash chain and names the first entry that "
	"was\n"
	"edited, removed or reordered (exit 5); with a checkpoint it also\n"
	"detects a cut tail. checkpoint signs the chain's head (Ed25519) into\n"
	"a new FILE. log shows who processed what,\n"
	"for which purpose and when; subjects appear by pseudonym.\n";

static void print_time(FILE *f, int64_t at_us)
{
	time_t t = (time_t)(at_us / 1000000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "%s.%06" PRId64 "Z", buf, at_us % 1000000);
}

struct log_out {
	int json;
	int count;
};

static void json_field(const char *name, const char *v)
{
	printf(", \"%s\": ", name);
	if (v == NULL)
		fputs("null", stdout);
	else
		cli_json_str(stdout, v);
}

static int print_entry(void *ud, const rk_audit_entry *e)
{
	struct log_out *lo = ud;

	if (lo->json) {
		printf("%s{\"seq\": %" PRId64 ", \"at\": \"",
		       lo->count ? ",\n " : "", e->seq);
		print_time(stdout, e->at_us);
		putchar('"');
		json_field("actor", e->actor);
		json_field("action", e->action);
		json_field("subject", e->subject);
		json_field("fields", e->fields);
		json_field("purpose", e->purpose);
		json_field("outcome", e->outcome);
		putchar('}');
	} else {
		printf("%" PRId64 "\t", e->seq);
		print_time(stdout, e->at_us);
		printf("\t%s\t%s\t%s\t%s\t%s\t%s\n", e->actor, e->action,
		       e->subject ? e->subject : "-",
		       e->purpose ? e->purpose : "-",
		       e->fields ? e->fields : "-", e->outcome);
	}
	lo->count++;
	return 0;
}

int cmd_audit(cli *c, int argc, char **argv)
{
	const char *subject = NULL;
	rk_audit_report rep, rows;
	rk_status st;
	int i, r;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    (argc > 2 && strcmp(argv[2], "--help") == 0)) {
		fputs(audit_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "checkpoint") == 0) {
		if (argc != 3)
			return cli_error(2, "usage: rekisteri audit checkpoint "
					    "FILE");
		r = cli_open(c);
		if (r != 0)
			return r;
		st = rk_audit_checkpoint(c->reg, argv[2]);
		if (st != RK_OK)
			return cli_status(c, st);
		if (c->json) {
			printf("{\"checkpoint\": ");
			cli_json_str(stdout, argv[2]);
			puts("}");
		} else {
			printf("signed checkpoint written to %s\n", argv[2]);
		}
		return 0;
	}
	if (strcmp(argv[1], "verify") == 0) {
		const char *cp = NULL;
		for (i = 2; i < argc; i++) {
			r = cli_opt(argc, argv, &i, "--checkpoint", &cp);
			if (r <= 0)
				return cli_error(2, "usage: rekisteri audit "
						    "verify [--checkpoint "
						    "FILE]");
		}
		r = cli_open(c);
		if (r != 0)
			return r;
		/* The rows that decide access first: an edited one is not
		 * "intact" even when the trail is. */
		st = rk_integrity_verify(c->reg, &rows);
		if (st != RK_OK && st != RK_EINTEGRITY)
			return cli_status(c, st);
		if (st == RK_EINTEGRITY) {
			if (c->json) {
				printf("{\"intact\": false, \"rows_intact\": "
				       "false, \"reason\": ");
				cli_json_str(stdout, rows.reason);
				puts("}");
			}
			return cli_error(5, "register rows altered: %s",
					 rows.reason);
		}
		st = cp != NULL ? rk_audit_verify_checkpoint(c->reg, cp, &rep)
				: rk_audit_verify(c->reg, &rep);
		if (st != RK_OK && st != RK_EINTEGRITY)
			return cli_status(c, st);
		if (st == RK_EINTEGRITY && rep.first_bad == 0)
			return cli_status(c, st);
		if (st != RK_OK && st != RK_EINTEGRITY)
			return cli_status(c, st);
		if (c->json) {
			printf("{\"intact\": %s, \"rows_intact\": true, "
			       "\"subjects\": %" PRId64
			       ", \"entries\": %" PRId64
			       ", \"first_bad\": %" PRId64 ", \"reason\": ",
			       st == RK_OK ? "true" : "false", rows.entries,
			       rep.entries, rep.first_bad);
			cli_json_str(stdout, rep.reason);
			puts("}");
		} else if (st == RK_OK) {
			printf("audit trail intact: %" PRId64 " entries\n"
			       "register rows intact: %" PRId64 " subjects\n",
			       rep.entries, rows.entries);
		}
		if (st != RK_OK)
			return cli_error(5,
					 "audit trail broken: %s (entries "
					 "before it verify)",
					 rep.reason);
		return 0;
	}
	if (strcmp(argv[1], "log") == 0) {
		struct log_out lo = {c->json, 0};
		for (i = 2; i < argc; i++) {
			r = cli_opt(argc, argv, &i, "--subject", &subject);
			if (r < 0)
				return cli_error(2, "--subject needs an ID");
			if (r == 0)
				return cli_error(2, "audit log: unexpected "
						    "argument");
		}
		r = cli_open(c);
		if (r != 0)
			return r;
		if (c->json)
			fputs("[", stdout);
		st = rk_audit_log(c->reg, subject, print_entry, &lo);
		if (c->json)
			fputs("]\n", stdout);
		if (st != RK_OK)
			return cli_status(c, st);
		return 0;
	}
	return cli_error(2, "unknown audit verb: see rekisteri audit --help");
}
