/*
 * cmd_rights.c: `rekisteri erase` (with its receipt), `restrict` and
 * `unrestrict`: the data subject's rights to erasure and to restriction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

#define REASON_MAX 2000

static const char erase_usage[] =
	"usage: rekisteri erase ID [--dry-run]\n"
	"\n"
	"Erases the subject (GDPR Art. 17): its values and blind index "
	"entries,\n"
	"records and attachments, consent ledger, cookie links and its data "
	"key.\n"
	"Records that a law requires to be kept (a retention rule with a "
	"legal\n"
	"hold, such as bookkeeping vouchers) are kept sealed, detached from "
	"the\n"
	"subject, until their period ends. A backup made before the erasure "
	"does\n"
	"not bring the subject back when it is restored.\n"
	"Prints the receipt: what was erased, what was kept, on which legal "
	"ground\n"
	"and until when (--json: the receipt as JSON). --dry-run prints the "
	"same\n"
	"receipt and changes nothing. Only the administrator or a role that "
	"may\n"
	"audit (the data protection lead) may erase.\n";

static const char restrict_usage[] =
	"usage: rekisteri restrict ID (--reason TEXT | --reason-stdin)\n"
	"       rekisteri unrestrict ID (--reason TEXT | --reason-stdin)\n"
	"\n"
	"restrict limits the processing of the subject's data (GDPR Art. 18) "
	"to\n"
	"storage: reads and new records for any purpose but the policy's "
	"legal-claims\n"
	"purpose are refused (exit 4) and may-contact says no; corrections "
	"stay\n"
	"possible. unrestrict lifts it; its reason records that the subject "
	"was\n"
	"told. The reason is kept sealed in the subject's ledger; give one "
	"that\n"
	"holds personal data through --reason-stdin, not on the command "
	"line.\n";

static long long jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static const char *label_en(const json_t *o, const char *key)
{
	const char *s = json_string_value(
		json_object_get(json_object_get(o, key), "en"));

	return s != NULL ? s : "";
}

/* The receipt for a person to read (names from the policy only). */
static void print_receipt(const json_t *rc)
{
	const json_t *er = json_object_get(rc, "erased"), *kept, *v;
	size_t i;

	printf("%s subject %s at %s\n",
	       json_is_true(json_object_get(rc, "dry_run")) ? "Would erase"
							    : "Erased",
	       jstr(rc, "subject"), jstr(rc, "at"));
	printf("erased:\n");
	json_array_foreach(json_object_get(er, "values"), i, v)
	{
		printf("  %lld value(s) of category ", jint(v, "count"));
		cli_print_text(stdout, jstr(v, "category"), 0);
		putchar('\n');
	}
	json_array_foreach(json_object_get(er, "records"), i, v)
	{
		printf("  %lld record(s) of type ", jint(v, "count"));
		cli_print_text(stdout, jstr(v, "type"), 0);
		if (jint(v, "attachments") > 0)
			printf(", %lld with attachments",
			       jint(v, "attachments"));
		putchar('\n');
	}
	printf("  %lld blind index entries, %lld consent ledger entries, "
	       "%lld cookie links\n",
	       jint(er, "blind_index_entries"),
	       jint(er, "consent_ledger_entries"), jint(er, "cookie_links"));
	printf("  the subject's data key: destroyed\n");
	kept = json_object_get(rc, "kept");
	if (json_array_size(kept) == 0)
		printf("kept: nothing\n");
	else
		printf("kept (required by law, sealed, detached from the "
		       "subject):\n");
	json_array_foreach(kept, i, v)
	{
		printf("  %lld record(s) of type ", jint(v, "count"));
		cli_print_text(stdout, jstr(v, "type"), 0);
		printf(" until %s: ", jstr(v, "until"));
		cli_print_text(stdout, label_en(v, "legal_ground"), 0);
		putchar('\n');
	}
	printf("audit trail: %s\n", jstr(rc, "audit_trail"));
	if (json_is_false(json_object_get(rc, "log_cleared")))
		printf("note: the database's write-ahead log could not be "
		       "emptied now (another process reads the register); "
		       "it is emptied at its next checkpoint\n");
}

int cmd_erase(cli *c, int argc, char **argv)
{
	unsigned flags = 0;
	char *receipt = NULL;
	json_t *j = NULL;
	rk_status st;
	int i, r;

	if (cli_wants_help(argc, argv, erase_usage))
		return 0;
	if (argc < 2 || cli_is_option(argv, 1)) {
		fputs(erase_usage, stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--dry-run", NULL) == 1)
			flags |= RK_ERASE_DRY_RUN;
		else
			return cli_error(2, "unexpected argument: see "
					    "rekisteri erase --help");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_erase(c->reg, argv[1], flags, &receipt);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		printf("%s\n", receipt);
	} else {
		j = json_loads(receipt, 0, NULL);
		if (j == NULL)
			r = cli_error(1, "the receipt cannot be read");
		else
			print_receipt(j);
		json_decref(j);
	}
	rk_free(receipt);
	return r;
}

static int read_reason(char *buf, size_t cap)
{
	size_t n = fread(buf, 1, cap - 1, stdin);

	if (ferror(stdin))
		return cli_error(1, "--reason-stdin: cannot read standard "
				    "input");
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n > REASON_MAX)
		return cli_error(2, "a reason is at most %d bytes", REASON_MAX);
	if (strlen(buf) != n)
		return cli_error(2, "--reason-stdin: the reason holds a NUL "
				    "byte");
	return 0;
}

static int restriction(cli *c, int argc, char **argv, int on)
{
	const char *verb = on ? "restrict" : "unrestrict", *reason = NULL;
	char buf[REASON_MAX + 3];
	int i, r, from_stdin = 0;
	rk_status st;

	buf[0] = '\0';
	if (cli_wants_help(argc, argv, restrict_usage))
		return 0;
	if (argc < 2 || cli_is_option(argv, 1)) {
		fputs(restrict_usage, stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--reason", &reason)) != 0) {
			if (r < 0)
				return cli_error(2, "--reason needs a text");
		} else if (cli_opt(argc, argv, &i, "--reason-stdin", NULL) ==
			   1) {
			from_stdin = 1;
		} else {
			return cli_error(2,
					 "unexpected argument: see rekisteri "
					 "%s --help",
					 verb);
		}
	}
	if ((reason == NULL) == !from_stdin)
		return cli_error(2,
				 "%s needs a reason: --reason TEXT or "
				 "--reason-stdin",
				 verb);
	if (from_stdin) {
		r = read_reason(buf, sizeof buf);
		if (r != 0)
			goto out;
		reason = buf;
	}
	r = cli_open(c);
	if (r != 0)
		goto out;
	st = on ? rk_restrict(c->reg, argv[1], reason)
		: rk_unrestrict(c->reg, argv[1], reason);
	if (st != RK_OK) {
		r = cli_status(c, st);
		goto out;
	}
	if (c->json)
		printf("{\"id\": \"%s\", \"restricted\": %s}\n", argv[1],
		       on ? "true" : "false");
	else
		printf("processing of %s %s\n", argv[1],
		       on ? "restricted" : "no longer restricted");
out:
	explicit_bzero(buf, sizeof buf);
	return r;
}

int cmd_restrict(cli *c, int argc, char **argv)
{
	return restriction(c, argc, argv, 1);
}

int cmd_unrestrict(cli *c, int argc, char **argv)
{
	return restriction(c, argc, argv, 0);
}
