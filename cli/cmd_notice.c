/*
 * cmd_notice.c: `rekisteri notice`, the privacy notice rendered from the
 * stored policy (any stored version) or from a policy file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char notice_usage[] =
	"usage: rekisteri notice [--lang fi|en] [--format text|md|html]\n"
	"                        [--version N | --policy FILE] [--out FILE]\n"
	"The privacy notice (rekisteriseloste) rendered from the policy the "
	"register\nstores: the current version, or notice version N (every "
	"version is kept),\nor a policy file that is not stored yet "
	"(--policy). Finnish by default.\nHTML is one self-contained, "
	"printable page. --out writes a new file (never\noverwrites); with "
	"--json the output is {\"version\", \"lang\", \"format\",\n"
	"\"notice\"} or, with --out, {\"out\", \"version\", \"lang\", "
	"\"format\"}.\n";

static void print_diag(void *ud, const char *file, int line, int column,
		       const char *message)
{
	(void)ud;
	fprintf(stderr, "%s:%d:%d: %s\n", file, line, column, message);
}

/* A new file (never overwritten), mode 0600 like every file the register
 * writes. */
static int write_out(const char *path, const char *s)
{
	FILE *f = fopen(path, "wx");
	size_t n = strlen(s);

	if (f == NULL)
		return cli_create_failed(path, errno);
	if (fwrite(s, 1, n, f) != n || fflush(f) != 0) {
		fclose(f);
		remove(path);
		return cli_error(1, "cannot write the output file %s", path);
	}
	if (fclose(f) != 0) {
		remove(path);
		return cli_error(1, "cannot write the output file %s", path);
	}
	return 0;
}

static int parse_version(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_notice(cli *c, int argc, char **argv)
{
	const char *lang = "fi", *format = "text", *vs = NULL, *out = NULL,
		   *file = NULL;
	rk_notice_format fmt;
	char *doc = NULL;
	int version = 0, i, r;
	rk_status st;

	for (i = 1; i < argc; i++) {
		if (!cli_is_option(argv, i))
			return cli_error(2, "notice takes no operands; see "
					    "rekisteri notice --help");
		if (strcmp(argv[i], "--help") == 0) {
			fputs(notice_usage, stdout);
			return 0;
		}
		if ((r = cli_opt(argc, argv, &i, "--lang", &lang)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--format", &format)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--version", &vs)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--policy", &file)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--out", &out)) != 0) {
			if (r < 0)
				return cli_error(2, "%s needs a value",
						 argv[i]);
			continue;
		}
		return cli_error(2,
				 "unknown option %s; see rekisteri notice "
				 "--help",
				 argv[i]);
	}
	if (strcmp(lang, "fi") != 0 && strcmp(lang, "en") != 0)
		return cli_error(2, "--lang is fi or en");
	if (strcmp(format, "text") == 0)
		fmt = RK_NOTICE_TEXT;
	else if (strcmp(format, "md") == 0)
		fmt = RK_NOTICE_MD;
	else if (strcmp(format, "html") == 0)
		fmt = RK_NOTICE_HTML;
	else
		return cli_error(2, "--format is text, md or html");
	if (vs != NULL && parse_version(vs, &version) != 0)
		return cli_error(2, "--version is a notice version, 1 or more");
	if (vs != NULL && file != NULL)
		return cli_error(2,
				 "--version and --policy exclude each other");
	if (file != NULL) {
		st = rk_notice_render_file(file, lang, fmt, print_diag, NULL,
					   &doc);
		if (st != RK_OK)
			return cli_error((int)st, "%s: %s", file,
					 st == RK_EINVAL
						 ? "not a valid policy; see "
						   "rekisteri policy check"
						 : rk_status_name(st));
	} else {
		if ((r = cli_open(c)) != 0)
			return r;
		st = rk_notice_render(c->reg, version, lang, fmt, &doc);
		if (st != RK_OK)
			return cli_status(c, st);
		if (version == 0)
			version = rk_register_policy_version(c->reg);
	}
	r = 0;
	if (out != NULL) {
		r = write_out(out, doc);
		if (r == 0 && c->json) {
			fputs("{\"out\": ", stdout);
			cli_json_str(stdout, out);
			printf(", \"version\": %d, \"lang\": \"%s\", "
			       "\"format\": "
			       "\"%s\"}\n",
			       version, lang, format);
		}
	} else if (c->json) {
		printf("{\"version\": %d, \"lang\": \"%s\", \"format\": "
		       "\"%s\", \"notice\": ",
		       version, lang, format);
		cli_json_str(stdout, doc);
		fputs("}\n", stdout);
	} else {
		fputs(doc, stdout);
	}
	rk_free(doc);
	return r;
}
