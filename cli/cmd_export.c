/*
 * cmd_export.c: `rekisteri export`, the access report (GDPR Art. 15) as
 * JSON or as a printable HTML page, with the attachments if asked, and
 * the portable export (Art. 20) into a directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char export_usage[] =
	"usage: rekisteri export ID [--format json|html] [--lang fi|en]\n"
	"                           [--with-attachments DIR] [--out FILE]\n"
	"       rekisteri export ID --portable --out DIR\n"
	"\n"
	"The access report (GDPR Art. 15): everything the register holds about "
	"the\n"
	"subject, decrypted, whatever the purpose: the controller and its "
	"contact\n"
	"person, the purposes, categories and sources of the data, every "
	"value and\n"
	"record with its purposes, legal basis, source, times and retention, "
	"the\n"
	"whole consent and objection ledger, the recipients, the retention "
	"rules,\n"
	"the data subject's rights and the supervisory authority. A password "
	"shows\n"
	"only as set. --format json (the default) prints a versioned JSON "
	"document\n"
	"(docs/export.schema.json); --format html a printable page to hand "
	"to the\n"
	"person, with the labels in --lang (fi, the default, or en). --out "
	"writes\n"
	"the report to a new file (mode 0600) instead of standard output.\n"
	"--with-attachments DIR also decrypts every attachment into DIR "
	"(created\n"
	"with mode 0700 when missing) as RECORD.EXT, mode 0600.\n"
	"--portable (Art. 20) writes into DIR what the subject provided on "
	"the\n"
	"basis of consent or contract: subject.json and one TYPE.csv per "
	"record type.\n"
	"No file is ever overwritten. Only a role that sees every purpose and "
	"every\n"
	"category of the policy may export (exit 4 otherwise). The export is "
	"one\n"
	"audit entry, in the trail before anything is printed or written.\n";

/* Writes len bytes of s into a new file path (0600, never over an
 * existing one); removed again when it cannot be written whole. */
static int write_new(const char *path, const char *s, size_t len)
{
	int fd, e;
	size_t off = 0;
	ssize_t k;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return cli_create_failed(path, errno);
	while (off < len) {
		k = write(fd, s + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	if (off < len || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(path);
		return cli_error(1, "cannot write the output file %s: %s", path,
				 strerror(e));
	}
	if (close(fd) != 0) {
		unlink(path);
		return cli_error(1, "cannot write the output file %s", path);
	}
	return 0;
}

static int portable(cli *c, const char *id, const char *dir)
{
	rk_status st;

	st = rk_export_portable(c->reg, id, dir);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs("{\"portable\": true, \"dir\": ", stdout);
		cli_json_str(stdout, dir);
		puts("}");
	} else {
		printf("portable export written to ");
		cli_print_text(stdout, dir, 0);
		putchar('\n');
	}
	return 0;
}

int cmd_export(cli *c, int argc, char **argv)
{
	const char *id = NULL, *format = NULL, *lang = NULL, *dir = NULL;
	const char *out = NULL;
	rk_export_options o;
	char *doc = NULL;
	int i, r, port = 0;
	const cli_optval opts[] = {
		{"--portable", NULL, &port}, {"--format", &format, NULL},
		{"--lang", &lang, NULL},     {"--with-attachments", &dir, NULL},
		{"--out", &out, NULL},	     {NULL, NULL, NULL}};
	const char *pos[1] = {NULL};
	rk_status st;

	for (i = 1; i < argc; i++) {
		if (cli_is_option(argv, i) && (strcmp(argv[i], "--help") == 0 ||
					       strcmp(argv[i], "-h") == 0)) {
			fputs(export_usage, stdout);
			return 0;
		}
	}
	r = cli_opts(argc, argv, 1, opts, pos, 1, "export");
	if (r != 0)
		return r;
	id = pos[0];
	if (id == NULL)
		return cli_error(2, "usage: rekisteri export ID [--format "
				    "json|html] [--lang fi|en] "
				    "[--with-attachments DIR] [--out FILE]");
	if (port &&
	    (out == NULL || format != NULL || lang != NULL || dir != NULL))
		return cli_error(2, "usage: rekisteri export ID --portable "
				    "--out DIR");
	memset(&o, 0, sizeof o);
	if (format == NULL || strcmp(format, "json") == 0)
		o.format = RK_EXPORT_JSON;
	else if (strcmp(format, "html") == 0)
		o.format = RK_EXPORT_HTML;
	else
		return cli_error(2, "--format is json or html");
	if (lang != NULL && strcmp(lang, "fi") != 0 && strcmp(lang, "en") != 0)
		return cli_error(2, "--lang is fi or en");
	if (c->json && o.format == RK_EXPORT_HTML && out == NULL)
		return cli_error(2, "--json with --format html needs --out: "
				    "the page itself is not JSON");
	o.lang = lang;
	o.attachments_dir = dir;
	r = cli_open(c);
	if (r != 0)
		return r;
	if (port)
		return portable(c, id, out);
	st = rk_export(c->reg, id, &o, &doc);
	if (st != RK_OK)
		return cli_status(c, st);
	if (out != NULL) {
		r = write_new(out, doc, strlen(doc));
		rk_free_secret(doc);
		if (r != 0)
			return r;
		if (c->json) {
			fputs("{\"out\": ", stdout);
			cli_json_str(stdout, out);
			printf(", \"format\": \"%s\"}\n",
			       o.format == RK_EXPORT_HTML ? "html" : "json");
		} else {
			printf("export written to ");
			cli_print_text(stdout, out, 0);
			putchar('\n');
		}
		return 0;
	}
	r = fputs(doc, stdout) == EOF || fputc('\n', stdout) == EOF;
	rk_free_secret(doc);
	if (r || fflush(stdout) != 0)
		return cli_error(1,
				 "cannot write the export to standard output");
	return 0;
}
