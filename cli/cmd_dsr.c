/*
 * cmd_dsr.c: `rekisteri dsr open|list|show|extend|close`: data subject
 * requests and their deadlines (GDPR Art. 12(3)).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/* The library takes 1000 bytes; one more tells "too long". */
#define REASON_MAX 1001

static const char dsr_usage[] =
	"usage: rekisteri dsr open ID TYPE [--received DATE] "
	"[--verified-by METHOD]\n"
	"       rekisteri dsr list [--overdue] [--due-before DATE] "
	"[--open|--all]\n"
	"       rekisteri dsr show N\n"
	"       rekisteri dsr extend N --reason R\n"
	"       rekisteri dsr close N --outcome done|refused [--reason R]\n"
	"\n"
	"Data subject requests and their deadlines (GDPR Art. 12(3)). TYPE is "
	"access,\n"
	"rectification, erasure, restriction, objection or portability. A "
	"request is\n"
	"due one month from receipt (the same day of the next month, or its "
	"last day),\n"
	"moved to the next working day over weekends, Finnish public "
	"holidays,\n"
	"Midsummer Eve and Christmas Eve.\n"
	"open prints the new request's number alone; --received defaults to "
	"today,\n"
	"--verified-by names how the requester's identity was checked "
	"(e.g.\n"
	"strong-auth, id-card).\n"
	"list prints the open requests (--all: closed ones too), one a line;\n"
	"--overdue only the open ones whose deadline is before today;\n"
	"--due-before DATE those whose deadline is before DATE.\n"
	"show prints one request with its reasons.\n"
	"extend adds two further months, once, while the first month runs; "
	"its\n"
	"reason is needed. close records the outcome; a refusal needs its "
	"reason.\n"
	"Closing an erasure, rectification or restriction lists the "
	"recipients to\n"
	"tell (Art. 19). A reason may hold personal data: --reason - reads it "
	"from\n"
	"standard input (one line) instead of the command line; it is stored "
	"sealed.\n"
	"Only the administrator and roles that audit may keep requests.\n"
	"With --json every form prints one JSON document.\n";

/* --reason R, or "-" for one line of standard input. */
static int get_reason(const char *arg, char *buf, size_t cap,
		      const char **reason)
{
	int rc;

	if (arg == NULL || strcmp(arg, "-") != 0) {
		*reason = arg;
		return 0;
	}
	rc = cli_read_line(buf, cap, "reason");
	if (rc != 0)
		return rc;
	*reason = buf;
	return 0;
}

static void print_list(const json_t *arr)
{
	const json_t *o;
	size_t i;

	if (json_array_size(arr) == 0) {
		printf("(no requests)\n");
		return;
	}
	printf("%-6s  %-13s  %-7s  %-10s  %-10s  %-10s  %-10s  %s\n", "NUMBER",
	       "TYPE", "STATUS", "RECEIVED", "DUE", "EXTENDED", "CLOSED",
	       "SUBJECT");
	json_array_foreach(arr, i, o)
	{
		const char *status = cli_jstr(o, "status", "?");
		if (json_is_true(json_object_get(o, "overdue")))
			status = "overdue";
		else if (strcmp(status, "closed") == 0)
			status = cli_jstr(o, "outcome", "closed");
		printf("%-6" JSON_INTEGER_FORMAT
		       "  %-13s  %-7s  %-10s  %-10s  %-10s  %-10s  %s\n",
		       json_integer_value(json_object_get(o, "number")),
		       cli_jstr(o, "type", "?"), status,
		       cli_jstr(o, "received", "?"), cli_jstr(o, "due", "?"),
		       cli_jstr(o, "extended_due", "-"),
		       cli_jstr(o, "closed", "-"),
		       cli_jstr(o, "subject", "(erased)"));
	}
}

static void print_reason(const char *label, const json_t *o, const char *key)
{
	const char *s = cli_jstr(o, key, NULL);

	printf("%-14s ", label);
	if (s == NULL)
		printf("-");
	else
		cli_print_text(stdout, s, 1);
	printf("\n");
}

static void print_request(const json_t *o)
{
	printf("%-14s %" JSON_INTEGER_FORMAT "\n",
	       "number:", json_integer_value(json_object_get(o, "number")));
	printf("%-14s %s\n", "type:", cli_jstr(o, "type", "?"));
	printf("%-14s %s%s\n", "status:", cli_jstr(o, "status", "?"),
	       json_is_true(json_object_get(o, "overdue")) ? " (overdue)" : "");
	printf("%-14s %s\n", "subject:", cli_jstr(o, "subject", "(erased)"));
	printf("%-14s %s\n", "pseudonym:", cli_jstr(o, "pseudonym", "?"));
	printf("%-14s %s\n", "received:", cli_jstr(o, "received", "?"));
	printf("%-14s %s\n", "due:", cli_jstr(o, "due", "?"));
	printf("%-14s %s\n", "extended due:", cli_jstr(o, "extended_due", "-"));
	printf("%-14s %s\n", "verified by:", cli_jstr(o, "verified_by", "-"));
	print_reason("extended for:", o, "extend_reason");
	printf("%-14s %s\n", "outcome:", cli_jstr(o, "outcome", "-"));
	print_reason("reason:", o, "reason");
	printf("%-14s %s\n", "closed:", cli_jstr(o, "closed", "-"));
}

static void print_recipients(const json_t *o)
{
	const json_t *arr = json_object_get(o, "recipients"), *e;
	size_t i;

	if (!json_is_array(arr))
		return;
	printf("recipients to tell (Art. 19)%s:%s\n",
	       strcmp(cli_jstr(o, "recipients_basis", ""), "all") == 0
		       ? ", all (the purposes cannot be told)"
		       : "",
	       json_array_size(arr) == 0 ? " none" : "");
	json_array_foreach(arr, i, e)
	{
		printf("  %-32s  %-11s  %s\n", cli_jstr(e, "name", "?"),
		       cli_jstr(e, "kind", "?"), cli_jstr(e, "country", "?"));
	}
}

/* Prints a request document: as it is with --json, else read and shown. */
static int print_doc(const cli *c, const char *text, int what)
{
	json_t *o;

	if (c->json) {
		puts(text);
		return 0;
	}
	o = json_loads(text, 0, NULL);
	if (o == NULL)
		return cli_error(1, "the library returned a damaged document");
	if (what == 'l')
		print_list(o);
	else
		print_request(o);
	if (what == 'c')
		print_recipients(o);
	json_decref(o);
	return 0;
}

static int dsr_open(cli *c, int argc, char **argv)
{
	const char *received = NULL, *method = NULL;
	const cli_optval opts[] = {{"--received", &received, NULL},
				   {"--verified-by", &method, NULL},
				   {NULL, NULL, NULL}};
	int64_t n = 0;
	rk_status st;
	int r;

	if (argc < 4 || cli_is_option(argv, 2) || cli_is_option(argv, 3))
		return cli_error(2, "usage: rekisteri dsr open ID TYPE "
				    "[--received DATE] [--verified-by METHOD]");
	r = cli_opts(argc, argv, 4, opts, NULL, 0, "dsr");
	if (r == 0)
		r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_dsr_open(c->reg, argv[2], argv[3], received, method, &n);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		printf("{\"number\": %" PRId64 "}\n", n);
	else
		printf("%" PRId64 "\n", n);
	return 0;
}

static int dsr_list(cli *c, int argc, char **argv)
{
	const char *before = NULL;
	unsigned flags = 0;
	int i, r, open = 0;
	char *json = NULL;
	rk_status st;

	for (i = 2; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--overdue", NULL) == 1) {
			flags |= RK_DSR_OVERDUE;
		} else if (cli_opt(argc, argv, &i, "--all", NULL) == 1) {
			flags |= RK_DSR_ALL;
		} else if (cli_opt(argc, argv, &i, "--open", NULL) == 1) {
			open = 1;
		} else if ((r = cli_opt(argc, argv, &i, "--due-before",
					&before)) != 0) {
			if (r < 0)
				return cli_error(2, "--due-before needs a "
						    "date");
		} else {
			return cli_error(2, "unexpected argument: see "
					    "rekisteri dsr --help");
		}
	}
	if (open && (flags & RK_DSR_ALL))
		return cli_error(2, "--open and --all exclude each other");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_dsr_list(c->reg, flags, before, &json);
	if (st != RK_OK)
		return cli_status(c, st);
	r = print_doc(c, json, 'l');
	rk_free_secret(json);
	return r;
}

static int dsr_show(cli *c, int argc, char **argv)
{
	char *json = NULL;
	int64_t n = 0;
	rk_status st;
	int r;

	if (argc != 3)
		return cli_error(2, "usage: rekisteri dsr show N");
	r = cli_number(argv[2], "request", &n);
	if (r != 0)
		return r;
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_dsr_show(c->reg, n, &json);
	if (st != RK_OK)
		return cli_status(c, st);
	r = print_doc(c, json, 's');
	rk_free_secret(json);
	return r;
}

static int dsr_change(cli *c, int argc, char **argv, int close)
{
	const char *reason_arg = NULL, *outcome = NULL, *reason = NULL;
	cli_optval opts[] = {{"--reason", &reason_arg, NULL},
			     {"--outcome", &outcome, NULL},
			     {NULL, NULL, NULL}};
	char buf[REASON_MAX + 1];
	char *json = NULL;
	int64_t n = 0;
	rk_status st;
	int r;

	if (argc < 3)
		return cli_error(2, close ? "usage: rekisteri dsr close N "
					    "--outcome done|refused [--reason "
					    "R]"
					  : "usage: rekisteri dsr extend N "
					    "--reason R");
	r = cli_number(argv[2], "request", &n);
	if (r != 0)
		return r;
	/* --outcome only for close: the list ends before it for extend. */
	opts[1].name = close ? "--outcome" : NULL;
	r = cli_opts(argc, argv, 3, opts, NULL, 0, "dsr");
	if (r != 0)
		return r;
	if (!close && reason_arg == NULL)
		return cli_error(2, "dsr extend needs --reason R");
	if (close && outcome == NULL)
		return cli_error(2, "dsr close needs --outcome done|refused");
	r = get_reason(reason_arg, buf, sizeof buf, &reason);
	if (r == 0)
		r = cli_open(c);
	if (r != 0)
		goto out;
	st = close ? rk_dsr_close(c->reg, n, outcome, reason, &json)
		   : rk_dsr_extend(c->reg, n, reason, &json);
	if (st != RK_OK) {
		r = cli_status(c, st);
		goto out;
	}
	r = print_doc(c, json, close ? 'c' : 's');
out:
	explicit_bzero(buf, sizeof buf);
	rk_free_secret(json);
	return r;
}

int cmd_dsr(cli *c, int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"open", dsr_open, NULL, 0},	{"list", dsr_list, NULL, 0},
		{"show", dsr_show, NULL, 0},	{"extend", NULL, dsr_change, 0},
		{"close", NULL, dsr_change, 1}, {NULL, NULL, NULL, 0}};

	return cli_subverb(c, argc, argv, subs, dsr_usage);
}
