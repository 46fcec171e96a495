/*
 * cmd_retention.c: `rekisteri retention run` (deletes what the policy's
 * retention rules no longer allow to keep) and `rekisteri review` (values
 * not confirmed for a long time).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char retention_usage[] =
	"usage: rekisteri retention run [--as-of YYYY-MM-DD] [--dry-run] "
	"[--allow-early]\n"
	"\n"
	"Applies the policy's retention rules: deletes (not hides) every "
	"value and\n"
	"record whose retention period ended before the date (default: "
	"today),\n"
	"with attachments; records kept under a legal hold (bookkeeping) stay "
	"until\n"
	"their own period ends; records held after an erasure go when their "
	"hold\n"
	"ends; a cookie link goes with the last record that came through it; "
	"a\n"
	"subject with no value or record left is deleted whole, with its "
	"consent\n"
	"ledger (kept until then as the evidence of consents and objections), "
	"and\n"
	"a restored backup does not bring it back. Works in batches; an "
	"interrupted\n"
	"run is simply run again. Prints a report by rule, category and "
	"record type\n"
	"with counts, never values (--json: the report as JSON). --dry-run "
	"reports\n"
	"what would go and changes nothing. --as-of acts as if it were that "
	"day:\n"
	"a date after today would delete data before its time, so it is "
	"refused\n"
	"without --dry-run (look ahead) or --allow-early (mean it). A "
	"progress bar shows when standard error is a "
	"terminal.\n"
	"Only the administrator or a role that may audit may run it. "
	"Audited.\n";

static const char review_usage[] =
	"usage: rekisteri review [--older-than DURATION]\n"
	"\n"
	"Lists the subjects with values not confirmed for DURATION (default "
	"2y;\n"
	"a number and y, m, w or d: 2y, 18m, 400d), with the field names and "
	"when\n"
	"each was last confirmed, never the values, so that they can be "
	"checked\n"
	"with the subject (rekisteri subject confirm ID) or removed. Values "
	"that\n"
	"have expired are left out (the retention run deletes them). "
	"Audited.\n";

static void progress_bar(void *ud, uint64_t done, uint64_t total)
{
	int width = 40, filled;

	(void)ud;
	filled = total == 0 ? width : (int)((done * (uint64_t)width) / total);
	fputs("\rretention [", stderr);
	for (int i = 0; i < width; i++)
		fputc(i < filled ? '#' : ' ', stderr);
	fprintf(stderr, "] %llu/%llu subjects", (unsigned long long)done,
		(unsigned long long)total);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

static long long jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *jname(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(none)";
}

static void print_report(const json_t *rep)
{
	const json_t *sub = json_object_get(rep, "subjects");
	const json_t *del = json_object_get(rep, "deleted"), *v;
	int dry = json_is_true(json_object_get(rep, "dry_run"));
	size_t i;

	printf("Retention run as of %s%s\n",
	       json_string_value(json_object_get(rep, "as_of")),
	       dry ? " (dry run: nothing was deleted)" : "");
	printf("subjects: %lld examined, %lld changed, %lld deleted whole\n",
	       jint(sub, "examined"), jint(sub, "changed"),
	       jint(sub, "deleted"));
	printf("%s: %lld values, %lld records, %lld attachments, %lld held "
	       "records,\n  %lld consent ledger entries, %lld cookie links\n",
	       dry ? "would delete" : "deleted", jint(del, "values"),
	       jint(del, "records"), jint(del, "attachments"),
	       jint(del, "held_records"), jint(del, "consent_ledger_entries"),
	       jint(del, "cookie_links"));
	if (jint(del, "kept_by_legal_hold") > 0)
		printf("kept by a legal hold although expired: %lld\n",
		       jint(del, "kept_by_legal_hold"));
	json_array_foreach(json_object_get(rep, "rules"), i, v)
	{
		printf("  rule ");
		cli_print_text(stdout, jname(v, "rule"), 0);
		printf(": %lld values, %lld records, %lld held records%s\n",
		       jint(v, "values"), jint(v, "records"),
		       jint(v, "held_records"),
		       json_is_true(json_object_get(v, "legal_hold"))
			       ? " (legal hold)"
			       : "");
	}
	json_array_foreach(json_object_get(rep, "categories"), i, v)
	{
		printf("  category ");
		cli_print_text(stdout, jname(v, "category"), 0);
		printf(": %lld values\n", jint(v, "values"));
	}
	json_array_foreach(json_object_get(rep, "record_types"), i, v)
	{
		printf("  record type ");
		cli_print_text(stdout, jname(v, "type"), 0);
		printf(": %lld records, %lld held records, %lld attachments\n",
		       jint(v, "records"), jint(v, "held_records"),
		       jint(v, "attachments"));
	}
	if (!dry && !json_is_true(json_object_get(rep, "log_cleared")))
		printf("note: the write-ahead log could not be checkpointed "
		       "(another process holds the register); it is on the "
		       "next run\n");
}

static int run(cli *c, int argc, char **argv)
{
	const char *as_of = NULL;
	char *out = NULL;
	unsigned flags = 0;
	rk_status st;
	json_t *rep;
	int i, r, tty;

	for (i = 2; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--dry-run", NULL) == 1) {
			flags |= RK_RETENTION_DRY_RUN;
			continue;
		}
		if (cli_opt(argc, argv, &i, "--allow-early", NULL) == 1) {
			flags |= RK_RETENTION_EARLY;
			continue;
		}
		r = cli_opt(argc, argv, &i, "--as-of", &as_of);
		if (r < 0)
			return cli_error(2, "--as-of needs a date");
		if (r == 0)
			return cli_error(2, "unexpected argument; see "
					    "rekisteri retention --help");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	tty = isatty(STDERR_FILENO);
	st = rk_retention_run(c->reg, as_of, flags, tty ? progress_bar : NULL,
			      NULL, &out);
	if (st != RK_OK) {
		if (tty)
			fputc('\n', stderr);
		return cli_status(c, st);
	}
	if (c->json) {
		printf("%s\n", out);
	} else {
		rep = json_loads(out, 0, NULL);
		if (rep == NULL) {
			rk_free_secret(out);
			return cli_error(1, "cannot read the report");
		}
		print_report(rep);
		json_decref(rep);
	}
	rk_free_secret(out);
	return 0;
}

int cmd_retention(cli *c, int argc, char **argv)
{
	static const cli_sub subs[] = {{"run", run, NULL, 0},
				       {NULL, NULL, NULL, 0}};

	return cli_subverb(c, argc, argv, subs, retention_usage);
}

int cmd_review(cli *c, int argc, char **argv)
{
	const char *older = NULL;
	char *out = NULL;
	json_t *doc, *s, *f;
	size_t i, j;
	rk_status st;
	int k, r;

	for (k = 1; k < argc; k++) {
		if (cli_is_option(argv, k) && strcmp(argv[k], "--help") == 0) {
			fputs(review_usage, stdout);
			return 0;
		}
	}
	for (k = 1; k < argc; k++) {
		r = cli_opt(argc, argv, &k, "--older-than", &older);
		if (r < 0)
			return cli_error(2, "--older-than needs a duration");
		if (r == 0)
			return cli_error(2, "unexpected argument; see "
					    "rekisteri review --help");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_review(c->reg, older, &out);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		printf("%s\n", out);
		rk_free_secret(out);
		return 0;
	}
	doc = json_loads(out, 0, NULL);
	rk_free_secret(out);
	if (doc == NULL)
		return cli_error(1, "cannot read the list");
	printf("%lld subject(s) with values not confirmed since %s:\n",
	       jint(doc, "count"),
	       json_string_value(json_object_get(doc, "confirmed_before")));
	json_array_foreach(json_object_get(doc, "subjects"), i, s)
	{
		printf("%s", json_string_value(json_object_get(s, "subject")));
		json_array_foreach(json_object_get(s, "fields"), j, f)
		{
			printf(" ");
			cli_print_text(stdout, jname(f, "field"), 0);
			printf("(%s, %lld days)",
			       json_string_value(
				       json_object_get(f, "confirmed")),
			       jint(f, "age_days"));
		}
		putchar('\n');
	}
	json_decref(doc);
	return 0;
}
