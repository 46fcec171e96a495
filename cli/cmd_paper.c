/*
 * cmd_paper.c: the controller's paperwork: `rekisteri ropa` (records of
 * processing, GDPR Art. 30), `rekisteri breach open|list|show|update|
 * close|subjects` (the breach register and its 72-hour clock, Art.
 * 33-34) and `rekisteri stats` (anonymous statistics).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

/* The library takes 4000 bytes of text; more tells "too long". */
#define TEXT_CAP 8192

static const char ropa_usage[] =
	"usage: rekisteri ropa [--format md|html|json] [--lang fi|en] "
	"[--out FILE]\n"
	"\n"
	"The record of processing activities (GDPR Art. 30(1)) drawn from "
	"the policy\n"
	"and the register: the controller and its contact person, the "
	"purposes and\n"
	"legal bases, the categories of data subjects and of personal data "
	"with how\n"
	"many subjects, values and records the register holds now (counts "
	"only), the\n"
	"recipients, transfers outside the EU/EEA and their safeguards, the "
	"time\n"
	"limits for erasure and the security measures. --format md "
	"(default), html\n"
	"(one self-contained printable page) or json (also with --json). "
	"--out writes\n"
	"a new file (mode 0600) instead of standard output.\n"
	"Only the administrator and roles that audit may.\n";

static const char breach_usage[] =
	"usage: rekisteri breach open --aware-at TIME --description-stdin\n"
	"              [--category NAME]... [--with-field FIELD] "
	"[--with-record TYPE]\n"
	"              [--from TIME --to TIME]\n"
	"       rekisteri breach list [--all]\n"
	"       rekisteri breach show N\n"
	"       rekisteri breach update N [--dpa-notified-at TIME] "
	"[--risk none|low|high]\n"
	"              [--subjects-notified-at TIME] [--measures-stdin] "
	"[--category NAME]...\n"
	"       rekisteri breach subjects N\n"
	"       rekisteri breach close N\n"
	"\n"
	"The register of personal data breaches (GDPR Art. 33-34). The Data "
	"Protection\n"
	"Ombudsman must be told within 72 hours of awareness, counted in "
	"calendar hours;\n"
	"times are shown in Finnish time with their offset. TIME is "
	"YYYY-MM-DDTHH:MM\n"
	"with Z or an offset (+03:00), or Finnish time without one.\n"
	"open prints the new breach's number alone. The description (and "
	"the measures)\n"
	"is read from standard input: it may hold personal data and is "
	"stored sealed.\n"
	"--category names a data category or record type of the policy. The "
	"affected\n"
	"subjects are those that held a value of --with-field, had a record "
	"of\n"
	"--with-record, or had data collected between --from and --to (all "
	"the\n"
	"conditions given); they are counted when the breach is opened.\n"
	"list shows the open breaches (--all: closed ones too) with the time "
	"left.\n"
	"subjects lists the IDs of the subjects to tell (Art. 34) when the "
	"risk is\n"
	"high. close needs the risk assessed, the Ombudsman told (unless the "
	"risk\n"
	"is none) and, for a high risk, the subjects told.\n"
	"Only the administrator and roles that audit may.\n"
	"With --json every form prints one JSON document.\n";

static const char stats_usage[] =
	"usage: rekisteri stats --by DIM[,DIM...] [--k N] [--format "
	"text|csv|json]\n"
	"\n"
	"Anonymous statistics: counts of subjects over coarse dimensions "
	"only:\n"
	"age_band, gender, region (first two digits of the postal code), "
	"country,\n"
	"kind, product (from purchases) and first_purchase_year; at most "
	"four.\n"
	"Every released cell and total counts at least k subjects (default "
	"the\n"
	"policy's min_cell, 5; never below 3): smaller cells are suppressed "
	"(x), and\n"
	"further cells with them, so that no suppressed cell can be derived "
	"from the\n"
	"totals. Values fewer than k subjects have are counted under "
	"\"other\".\n"
	"Every release is audited. The administrator and roles that work for "
	"the\n"
	"policy's statistics purpose may.\n";

/* ---- ropa --------------------------------------------------------------- */

static int write_new(const char *path, const char *text)
{
	size_t n = strlen(text);
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return cli_create_failed(NULL, errno);
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return cli_error(1, "cannot write the output file");
	}
	if (fwrite(text, 1, n, f) != n || fclose(f) != 0)
		return cli_error(1, "cannot write the output file");
	return 0;
}

int cmd_ropa(cli *c, int argc, char **argv)
{
	const char *format = NULL, *lang = NULL, *out = NULL;
	const cli_optval opts[] = {{"--format", &format, NULL},
				   {"--lang", &lang, NULL},
				   {"--out", &out, NULL},
				   {NULL, NULL, NULL}};
	rk_doc_format fmt = RK_DOC_MARKDOWN;
	char *doc = NULL;
	rk_status st;
	int r;

	if (cli_wants_help(argc, argv, ropa_usage))
		return 0;
	r = cli_opts(argc, argv, 1, opts, NULL, 0, "ropa");
	if (r != 0)
		return r;
	if (c->json)
		fmt = RK_DOC_JSON;
	if (format != NULL) {
		if (strcmp(format, "md") == 0)
			fmt = RK_DOC_MARKDOWN;
		else if (strcmp(format, "html") == 0)
			fmt = RK_DOC_HTML;
		else if (strcmp(format, "json") == 0)
			fmt = RK_DOC_JSON;
		else
			return cli_error(2, "--format is md, html or json");
		if (c->json && fmt != RK_DOC_JSON)
			return cli_error(2, "--json prints JSON: leave out "
					    "--format or give json");
	}
	if (lang != NULL && strcmp(lang, "fi") != 0 && strcmp(lang, "en") != 0)
		return cli_error(2, "--lang is fi or en");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_ropa(c->reg, fmt, lang, &doc);
	if (st != RK_OK)
		return cli_status(c, st);
	if (out != NULL)
		r = write_new(out, doc);
	else
		fputs(doc, stdout);
	if (out == NULL && fmt == RK_DOC_JSON)
		putchar('\n');
	rk_free(doc);
	return r;
}

/* ---- breach ------------------------------------------------------------- */

/* Standard input whole (up to cap - 1 bytes) into buf. */
static int read_stdin(char *buf, size_t cap, const char *what)
{
	size_t n = fread(buf, 1, cap - 1, stdin);

	if (ferror(stdin))
		return cli_error(1, "cannot read the %s from standard input",
				 what);
	if (n == cap - 1 && fgetc(stdin) != EOF)
		return cli_error(2, "the %s is too long", what);
	buf[n] = '\0';
	/* One line end at the very end is the terminal's, not the text's. */
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n == 0)
		return cli_error(2, "the %s on standard input is empty", what);
	if (strlen(buf) != n)
		return cli_error(2, "the %s holds a NUL byte", what);
	return 0;
}

/* Appends name to the comma-separated list cats. */
static int add_cat(char *cats, size_t cap, const char *name)
{
	size_t n = strlen(cats);

	if (n + strlen(name) + 2 > cap)
		return cli_error(2, "too many categories");
	if (n > 0)
		cats[n++] = ',';
	memcpy(cats + n, name, strlen(name) + 1);
	return 0;
}

static void print_breach(const json_t *o)
{
	const json_t *v;
	size_t i;

	printf("%-22s %" JSON_INTEGER_FORMAT "\n",
	       "number:", json_integer_value(json_object_get(o, "number")));
	printf("%-22s %s%s\n", "status:", cli_jstr(o, "status", "?"),
	       json_is_true(json_object_get(o, "overdue")) ? " (overdue)" : "");
	printf("%-22s %s\n", "aware at:", cli_jstr(o, "aware_at", "?"));
	printf("%-22s %s\n", "opened at:", cli_jstr(o, "opened_at", "?"));
	printf("%-22s %s (%s)\n", "deadline:", cli_jstr(o, "deadline", "?"),
	       cli_jstr(o, "deadline_utc", "?"));
	printf("%-22s %s\n", "time left:", cli_jstr(o, "time_left", "-"));
	printf("%-22s %s%s\n",
	       "ombudsman told at:", cli_jstr(o, "dpa_notified_at", "-"),
	       json_is_true(json_object_get(o, "notified_late")) ? " (late)"
								 : "");
	printf("%-22s %s\n", "risk:", cli_jstr(o, "risk", "not assessed"));
	printf("%-22s %s\n",
	       "subjects told at:", cli_jstr(o, "subjects_notified_at", "-"));
	printf("%-22s ", "categories:");
	for (i = 0; i < json_array_size(json_object_get(o, "categories")); i++)
		printf("%s%s", i ? ", " : "",
		       json_string_value(json_array_get(
			       json_object_get(o, "categories"), i)));
	printf("%s\n",
	       json_array_size(json_object_get(o, "categories")) ? "" : "-");
	v = json_object_get(o, "query");
	if (json_is_object(v))
		printf("%-22s field %s, record type %s, from %s to %s\n",
		       "query:", cli_jstr(v, "field", "-"),
		       cli_jstr(v, "record_type", "-"),
		       cli_jstr(v, "from", "-"), cli_jstr(v, "to", "-"));
	if (json_is_integer(json_object_get(o, "affected")))
		printf("%-22s %" JSON_INTEGER_FORMAT " (counted %s)\n",
		       "affected subjects:",
		       json_integer_value(json_object_get(o, "affected")),
		       cli_jstr(o, "counted_at", "?"));
	else
		printf("%-22s -\n", "affected subjects:");
	printf("%-22s %s\n", "closed at:", cli_jstr(o, "closed_at", "-"));
	if (json_object_get(o, "description") != NULL) {
		printf("%-22s ", "description:");
		if (json_is_string(json_object_get(o, "description")))
			cli_print_text(stdout, cli_jstr(o, "description", ""),
				       1);
		printf("\n%-22s ", "measures:");
		if (json_is_string(json_object_get(o, "measures")))
			cli_print_text(stdout, cli_jstr(o, "measures", ""), 1);
		else
			printf("-");
		printf("\n");
	}
}

static void print_list(const json_t *arr)
{
	const json_t *o;
	size_t i;

	if (json_array_size(arr) == 0) {
		printf("(no breaches)\n");
		return;
	}
	printf("%-6s  %-7s  %-25s  %-25s  %-22s  %-4s  %s\n", "NUMBER",
	       "STATUS", "AWARE AT", "DEADLINE", "TIME LEFT", "RISK",
	       "AFFECTED");
	json_array_foreach(arr, i, o)
	{
		char aff[32] = "-";
		const char *left = cli_jstr(o, "time_left", NULL);
		if (json_is_integer(json_object_get(o, "affected")))
			snprintf(aff, sizeof aff, "%" JSON_INTEGER_FORMAT,
				 json_integer_value(
					 json_object_get(o, "affected")));
		if (left == NULL)
			left = json_is_string(
				       json_object_get(o, "dpa_notified_at"))
				       ? "told"
				       : "-";
		printf("%-6" JSON_INTEGER_FORMAT
		       "  %-7s  %-25s  %-25s  %-22s  %-4s  %s\n",
		       json_integer_value(json_object_get(o, "number")),
		       cli_jstr(o, "status", "?"), cli_jstr(o, "aware_at", "?"),
		       cli_jstr(o, "deadline", "?"), left,
		       cli_jstr(o, "risk", "-"), aff);
	}
}

static int print_doc(const cli *c, const char *text, int what)
{
	json_t *o;
	const json_t *v;
	size_t i;

	if (c->json) {
		puts(text);
		return 0;
	}
	o = json_loads(text, 0, NULL);
	if (o == NULL)
		return cli_error(1, "the library returned a damaged document");
	if (what == 'l') {
		print_list(o);
	} else if (what == 's') {
		v = json_object_get(o, "subjects");
		for (i = 0; i < json_array_size(v); i++)
			puts(json_string_value(json_array_get(v, i)));
	} else {
		print_breach(o);
	}
	json_decref(o);
	return 0;
}

static int breach_open(cli *c, int argc, char **argv)
{
	const char *aware = NULL, *cat = NULL, *field = NULL, *type = NULL,
		   *from = NULL, *to = NULL;
	rk_breach_query q = {NULL, NULL, NULL, NULL};
	char cats[1024] = "", *text = NULL;
	int i, r, desc = 0, query = 0;
	int64_t n = 0;
	rk_status st;

	for (i = 2; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--description-stdin", NULL) == 1) {
			desc = 1;
			continue;
		}
		if ((r = cli_opt(argc, argv, &i, "--category", &cat)) != 0) {
			if (r < 0)
				return cli_error(2, "--category needs a name");
			if ((r = add_cat(cats, sizeof cats, cat)) != 0)
				return r;
			continue;
		}
		if ((r = cli_opt(argc, argv, &i, "--aware-at", &aware)) ||
		    (r = cli_opt(argc, argv, &i, "--with-field", &field)) ||
		    (r = cli_opt(argc, argv, &i, "--with-record", &type)) ||
		    (r = cli_opt(argc, argv, &i, "--from", &from)) ||
		    (r = cli_opt(argc, argv, &i, "--to", &to))) {
			if (r < 0)
				return cli_error(2, "%s needs a value",
						 argv[i]);
			continue;
		}
		return cli_error(2, "unexpected argument: see rekisteri "
				    "breach --help");
	}
	if (aware == NULL)
		return cli_error(2, "breach open needs --aware-at TIME");
	if (!desc)
		return cli_error(2, "breach open needs --description-stdin: "
				    "the description may hold personal data "
				    "and never stands on the command line");
	query = field != NULL || type != NULL || from != NULL || to != NULL;
	q.field = field;
	q.record_type = type;
	q.from = from;
	q.to = to;
	text = malloc(TEXT_CAP);
	if (text == NULL)
		return cli_error(1, "out of memory");
	r = read_stdin(text, TEXT_CAP, "description");
	if (r == 0)
		r = cli_open(c);
	if (r != 0)
		goto out;
	st = rk_breach_open(c->reg, aware, text, cats[0] ? cats : NULL,
			    query ? &q : NULL, &n);
	if (st != RK_OK) {
		r = cli_status(c, st);
		goto out;
	}
	if (c->json)
		printf("{\"number\": %" PRId64 "}\n", n);
	else
		printf("%" PRId64 "\n", n);
out:
	explicit_bzero(text, TEXT_CAP);
	free(text);
	return r;
}

static int breach_list(cli *c, int argc, char **argv)
{
	unsigned flags = 0;
	char *json = NULL;
	rk_status st;
	int i, r;

	for (i = 2; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--all", NULL) == 1)
			flags |= RK_BREACH_ALL;
		else if (cli_opt(argc, argv, &i, "--open", NULL) == 1)
			flags &= ~RK_BREACH_ALL;
		else
			return cli_error(2, "unexpected argument: see "
					    "rekisteri breach --help");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_breach_list(c->reg, flags, &json);
	if (st != RK_OK)
		return cli_status(c, st);
	r = print_doc(c, json, 'l');
	rk_free_secret(json);
	return r;
}

/* show, subjects, close: one number. */
static int breach_one(cli *c, int argc, char **argv, int what)
{
	char *json = NULL;
	int64_t n = 0;
	rk_status st;
	int r;

	if (argc != 3)
		return cli_error(2, "usage: rekisteri breach %s N", argv[1]);
	r = cli_number(argv[2], "breach", &n);
	if (r == 0)
		r = cli_open(c);
	if (r != 0)
		return r;
	st = what == 's'   ? rk_breach_subjects(c->reg, n, &json)
	     : what == 'c' ? rk_breach_close(c->reg, n, &json)
			   : rk_breach_show(c->reg, n, &json);
	if (st != RK_OK)
		return cli_status(c, st);
	r = print_doc(c, json, what == 's' ? 's' : 'b');
	rk_free_secret(json);
	return r;
}

static int breach_update(cli *c, int argc, char **argv)
{
	rk_breach_change ch = {NULL, NULL, NULL, NULL, NULL};
	const char *cat = NULL;
	char cats[1024] = "", *text = NULL, *json = NULL;
	int i, r, meas = 0, any_cat = 0;
	int64_t n = 0;
	rk_status st;

	if (argc < 3)
		return cli_error(2, "usage: rekisteri breach update N ...");
	r = cli_number(argv[2], "breach", &n);
	if (r != 0)
		return r;
	for (i = 3; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--measures-stdin", NULL) == 1) {
			meas = 1;
			continue;
		}
		if ((r = cli_opt(argc, argv, &i, "--category", &cat)) != 0) {
			if (r < 0)
				return cli_error(2, "--category needs a name");
			if ((r = add_cat(cats, sizeof cats, cat)) != 0)
				return r;
			any_cat = 1;
			continue;
		}
		if ((r = cli_opt(argc, argv, &i, "--dpa-notified-at",
				 &ch.dpa_notified_at)) ||
		    (r = cli_opt(argc, argv, &i, "--risk", &ch.risk)) ||
		    (r = cli_opt(argc, argv, &i, "--subjects-notified-at",
				 &ch.subjects_notified_at))) {
			if (r < 0)
				return cli_error(2, "%s needs a value",
						 argv[i]);
			continue;
		}
		return cli_error(2, "unexpected argument: see rekisteri "
				    "breach --help");
	}
	if (any_cat)
		ch.categories = cats;
	r = 0;
	if (meas) {
		text = malloc(TEXT_CAP);
		if (text == NULL)
			return cli_error(1, "out of memory");
		r = read_stdin(text, TEXT_CAP, "measures");
		ch.measures = text;
	}
	if (r == 0)
		r = cli_open(c);
	if (r != 0)
		goto out;
	st = rk_breach_update(c->reg, n, &ch, &json);
	if (st != RK_OK) {
		r = cli_status(c, st);
		goto out;
	}
	r = print_doc(c, json, 'b');
out:
	if (text != NULL) {
		explicit_bzero(text, TEXT_CAP);
		free(text);
	}
	rk_free_secret(json);
	return r;
}

int cmd_breach(cli *c, int argc, char **argv)
{
	static const cli_sub subs[] = {{"open", breach_open, NULL, 0},
				       {"list", breach_list, NULL, 0},
				       {"show", NULL, breach_one, 'b'},
				       {"subjects", NULL, breach_one, 's'},
				       {"close", NULL, breach_one, 'c'},
				       {"update", breach_update, NULL, 0},
				       {NULL, NULL, NULL, 0}};

	return cli_subverb(c, argc, argv, subs, breach_usage);
}

/* ---- stats -------------------------------------------------------------- */

static const char *count_text(const json_t *v, char buf[32])
{
	if (!json_is_integer(v))
		return "x";
	snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

/* The total of value of dimension dim, from "totals". */
static const json_t *total_of(const json_t *doc, const char *dim,
			      const char *value)
{
	const json_t *t;
	size_t i;

	const json_t *all = json_object_get(doc, "totals");

	for (i = 0; i < json_array_size(all); i++) {
		t = json_array_get(all, i);
		if (strcmp(cli_jstr(t, "dimension", ""), dim) == 0 &&
		    strcmp(cli_jstr(t, "value", ""), value) == 0)
			return json_object_get(t, "count");
	}
	return NULL;
}

/* Text: a two-dimensional table as rows and columns with their totals;
 * otherwise one line per cell. */
static void stats_text(const json_t *doc)
{
	const json_t *dims = json_object_get(doc, "dimensions");
	const json_t *cells = json_object_get(doc, "cells"), *cl, *v;
	size_t nd = json_array_size(dims), i, j;
	char buf[32];

	printf("k = %" JSON_INTEGER_FORMAT ", counting %s; x = suppressed\n\n",
	       json_integer_value(json_object_get(doc, "k")),
	       cli_jstr(doc, "unit", "subjects"));
	if (nd == 2) {
		const char *d0 = json_string_value(json_array_get(dims, 0));
		const char *d1 = json_string_value(json_array_get(dims, 1));
		const json_t *v0 =
			json_object_get(json_object_get(doc, "values"), d0);
		const json_t *v1 =
			json_object_get(json_object_get(doc, "values"), d1);
		size_t n1 = json_array_size(v1);
		printf("%-20s", d0);
		for (j = 0; j < n1; j++)
			printf(" %12.12s",
			       json_string_value(json_array_get(v1, j)));
		printf(" %12s\n", "total");
		json_array_foreach(v0, i, v)
		{
			const char *rv = json_string_value(v);
			printf("%-20.20s", rv);
			for (j = 0; j < n1; j++) {
				cl = json_array_get(cells, i * n1 + j);
				printf(" %12s",
				       count_text(json_object_get(cl, "count"),
						  buf));
			}
			printf(" %12s\n",
			       count_text(total_of(doc, d0, rv), buf));
		}
		printf("%-20s", "total");
		for (j = 0; j < n1; j++)
			printf(" %12s",
			       count_text(
				       total_of(doc, d1,
						json_string_value(
							json_array_get(v1, j))),
				       buf));
		printf(" %12s\n",
		       count_text(json_object_get(doc, "total"), buf));
		return;
	}
	for (i = 0; i < nd; i++)
		printf("%-20s ", json_string_value(json_array_get(dims, i)));
	printf("%12s\n", "count");
	json_array_foreach(cells, i, cl)
	{
		v = json_object_get(cl, "key");
		for (j = 0; j < json_array_size(v); j++)
			printf("%-20.20s ",
			       json_string_value(json_array_get(v, j)));
		printf("%12s\n", count_text(json_object_get(cl, "count"), buf));
	}
	if (nd > 2) {
		json_array_foreach(json_object_get(doc, "totals"), i, cl)
		{
			printf("total of %s %s: %s\n",
			       cli_jstr(cl, "dimension", ""),
			       cli_jstr(cl, "value", ""),
			       count_text(json_object_get(cl, "count"), buf));
		}
	}
	printf("%-*s %12s\n", (int)(21 * nd - 1), "total",
	       count_text(json_object_get(doc, "total"), buf));
}

/* A CSV field (RFC 4180 quoting). */
static void csv_field(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* CSV: one row per cell, then the totals with "*" in the dimensions they
 * sum over; an empty count is suppressed. */
static void stats_csv(const json_t *doc)
{
	const json_t *dims = json_object_get(doc, "dimensions"), *cl, *v;
	size_t nd = json_array_size(dims), i, j;
	char buf[32];

	json_array_foreach(dims, i, v)
	{
		csv_field(json_string_value(v));
		putchar(',');
	}
	printf("count,status\r\n");
	json_array_foreach(json_object_get(doc, "cells"), i, cl)
	{
		const json_t *n = json_object_get(cl, "count");
		json_array_foreach(json_object_get(cl, "key"), j, v)
		{
			csv_field(json_string_value(v));
			putchar(',');
		}
		printf("%s,%s\r\n",
		       json_is_integer(n) ? count_text(n, buf) : "",
		       json_is_integer(n) ? "released" : "suppressed");
	}
	json_array_foreach(json_object_get(doc, "totals"), i, cl)
	{
		const json_t *n = json_object_get(cl, "count");
		for (j = 0; j < nd; j++) {
			const char *d =
				json_string_value(json_array_get(dims, j));
			if (strcmp(d, cli_jstr(cl, "dimension", "")) == 0)
				csv_field(cli_jstr(cl, "value", ""));
			else
				putchar('*');
			putchar(',');
		}
		printf("%s,%s\r\n",
		       json_is_integer(n) ? count_text(n, buf) : "",
		       json_is_integer(n) ? "released" : "suppressed");
	}
	for (j = 0; j < nd; j++)
		printf("*,");
	v = json_object_get(doc, "total");
	printf("%s,%s\r\n", json_is_integer(v) ? count_text(v, buf) : "",
	       json_is_integer(v) ? "released" : "suppressed");
}

int cmd_stats(cli *c, int argc, char **argv)
{
	const char *by = NULL, *kstr = NULL, *format = NULL;
	const cli_optval opts[] = {{"--by", &by, NULL},
				   {"--k", &kstr, NULL},
				   {"--format", &format, NULL},
				   {NULL, NULL, NULL}};
	char *json = NULL, *end = NULL;
	json_t *doc;
	long k = 0;
	rk_status st;
	int r;

	if (cli_wants_help(argc, argv, stats_usage))
		return 0;
	r = cli_opts(argc, argv, 1, opts, NULL, 0, "stats");
	if (r != 0)
		return r;
	if (by == NULL)
		return cli_error(2, "stats needs --by DIM[,DIM...]");
	if (kstr != NULL) {
		errno = 0;
		k = strtol(kstr, &end, 10);
		if (errno != 0 || end == kstr || *end != '\0' || k < 1 ||
		    k > 1000000)
			return cli_error(2, "--k is a positive integer");
	}
	if (format == NULL)
		format = c->json ? "json" : "text";
	if (strcmp(format, "text") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0)
		return cli_error(2, "--format is text, csv or json");
	if (c->json && strcmp(format, "json") != 0)
		return cli_error(2, "--json prints JSON: leave out --format or "
				    "give json");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_stats(c->reg, by, (int)k, &json);
	if (st != RK_OK)
		return cli_status(c, st);
	if (strcmp(format, "json") == 0) {
		puts(json);
		rk_free(json);
		return 0;
	}
	doc = json_loads(json, 0, NULL);
	rk_free(json);
	if (doc == NULL)
		return cli_error(1, "the library returned a damaged document");
	if (strcmp(format, "csv") == 0)
		stats_csv(doc);
	else
		stats_text(doc);
	json_decref(doc);
	return 0;
}
