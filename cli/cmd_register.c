/*
 * cmd_register.c: `rekisteri init` and `rekisteri policy check`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef RK_POLICY_DIR
#define RK_POLICY_DIR "/usr/local/share/rekisteri/policies"
#endif

static const char init_usage[] =
	"usage: rekisteri init [--policy FILE]\n"
	"Creates a new register (--db) and its master key (--key-file, mode "
	"0600)\n"
	"from the policy, stored as notice version 1. Never overwrites.\n"
	"Default policy: ./policies/ocr-factory.json, else " RK_POLICY_DIR
	"/ocr-factory.json.\n";

int cmd_init(cli *c, int argc, char **argv)
{
	const char *policy = NULL;
	rk_status st;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(init_usage, stdout);
			return 0;
		}
		r = cli_opt(argc, argv, &i, "--policy", &policy);
		if (r < 0)
			return cli_error(2, "--policy needs a file");
		if (r == 0)
			return cli_error(2, "init: unexpected argument: see "
					    "rekisteri init --help");
	}
	if (policy == NULL) {
		policy = "policies/ocr-factory.json";
		if (access(policy, R_OK) != 0)
			policy = RK_POLICY_DIR "/ocr-factory.json";
	}
	r = cli_paths(c);
	if (r != 0)
		return r;
	st = rk_register_init(c->db, c->key, policy, &c->reg);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		printf("{\"db\": ");
		cli_json_str(stdout, c->db);
		printf(", \"key_file\": ");
		cli_json_str(stdout, c->key);
		printf(", \"notice_version\": %d}\n",
		       rk_register_policy_version(c->reg));
	} else {
		printf("created register %s with key file %s (notice version "
		       "%d)\nkeep the key file safe: without it the data "
		       "cannot be read\n",
		       c->db, c->key, rk_register_policy_version(c->reg));
	}
	return 0;
}

struct diag_out {
	int json;
	int count;
	int warnings;
	FILE *wf; /* --json: the warnings' objects, printed after */
};

static void print_diag(void *ud, const char *file, int line, int column,
		       const char *message)
{
	struct diag_out *d = ud;

	if (d->json) {
		printf("%s{\"file\": ", d->count ? ", " : "");
		cli_json_str(stdout, file);
		printf(", \"line\": %d, \"column\": %d, \"message\": ", line,
		       column);
		cli_json_str(stdout, message);
		putchar('}');
	} else {
		fprintf(stderr, "%s:%d:%d: %s\n", file, line, column, message);
	}
	d->count++;
}

/* What a notice must say and the policy leaves out: "file:line:column:
 * warning: ..." on standard error, or the JSON's "warnings" array. */
static void print_warning(void *ud, const char *file, int line, int column,
			  const char *message)
{
	struct diag_out *d = ud;

	if (d->json && d->wf != NULL) {
		fprintf(d->wf, "%s{\"file\": ", d->warnings ? ", " : "");
		cli_json_str(d->wf, file);
		fprintf(d->wf,
			", \"line\": %d, \"column\": %d, \"message\": ", line,
			column);
		cli_json_str(d->wf, message);
		fputc('}', d->wf);
	} else if (!d->json) {
		fprintf(stderr, "%s:%d:%d: warning: %s\n", file, line, column,
			message);
	}
	d->warnings++;
}

static const char policy_usage[] =
	"usage: rekisteri policy check FILE\n"
	"       rekisteri policy diff FILE\n"
	"       rekisteri policy apply FILE [--drop-field F]...\n"
	"       rekisteri policy versions | rekisteri policy affected\n"
	"check validates a policy file; each problem is reported as "
	"file:line:column:\nmessage, and what a notice must say (GDPR Art. "
	"13/14) and the file leaves\nout as a warning (exit 0). diff says "
	"what changing the register's policy to\nFILE would change and what "
	"would block it. apply stores FILE as the next\nnotice version "
	"(the older ones are kept: rekisteri notice --version N), unless\n"
	"it would orphan stored data (exit 4; --drop-field F deletes the "
	"values of a\nremoved field F), and lists the subjects whose consent "
	"was given under an\nolder text of a changed scope: they need to be "
	"asked again (with --json, their\nIDs for a mailing). versions lists "
	"the notice versions; affected lists who\nstill needs to be asked "
	"again. diff, apply and affected are the\nadministrator's.\n";
static int policy_check(cli *c, const char *path)
{
	struct diag_out d = {c->json, 0, 0, NULL};
	char *wbuf = NULL;
	size_t wlen = 0, nw = 0;
	rk_status st;

	if (d.json) {
		d.wf = open_memstream(&wbuf, &wlen);
		if (d.wf == NULL)
			return cli_error(1, "out of memory");
		printf("{\"file\": "), cli_json_str(stdout, path),
			printf(", \"problems\": [");
	}
	st = rk_policy_check_file_warn(path, print_diag, print_warning, &d,
				       &nw);
	if (d.json) {
		fclose(d.wf);
		printf("], \"warnings\": [%s], \"valid\": %s}\n",
		       wbuf != NULL ? wbuf : "",
		       st == RK_OK ? "true" : "false");
		free(wbuf);
	} else if (st == RK_OK) {
		printf("%s: valid policy", path);
		if (nw > 0)
			printf(" (%zu warning%s)", nw, nw == 1 ? "" : "s");
		putchar('\n');
	} else if (st == RK_EINVAL) {
		fprintf(stderr, "rekisteri: %s: %d problem%s\n", path, d.count,
			d.count == 1 ? "" : "s");
	}
	return (int)st;
}

/* The diff's sentences, one a line. */
static void print_changes(const char *json)
{
	const char *p = json;

	/* The library's JSON has one "text": "..." per change; shown
	 * through cli_print_text so nothing in it can forge lines. */
	while ((p = strstr(p, "\"text\": \"")) != NULL) {
		char line[2048];
		size_t n = 0;
		p += 9;
		while (*p != '\0' && *p != '"' && n + 1 < sizeof line) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			line[n++] = *p++;
		}
		line[n] = '\0';
		fputs("  ", stdout);
		cli_print_text(stdout, line, 0);
		putchar('\n');
	}
}

/* The IDs of the "subjects" array, one a line. */
static size_t print_ids(const char *json)
{
	const char *p = strstr(json, "\"subjects\": [");
	size_t n = 0;

	if (p == NULL)
		return 0;
	p += 13;
	while (*p != '\0' && *p != ']') {
		const char *q;
		if (*p != '"') {
			p++;
			continue;
		}
		q = strchr(p + 1, '"');
		if (q == NULL)
			break;
		printf("  %.*s\n", (int)(q - p - 1), p + 1);
		n++;
		p = q + 1;
	}
	return n;
}

static int policy_change(cli *c, int argc, char **argv)
{
	const char *drop[64], *v = NULL, *path = NULL;
	size_t ndrop = 0;
	char *out = NULL;
	int apply = strcmp(argv[1], "apply") == 0, r;
	rk_status st;

	for (int i = 2; i < argc; i++) {
		if (!cli_is_option(argv, i)) {
			if (path != NULL)
				return cli_error(2,
						 "usage: rekisteri policy "
						 "%s FILE",
						 argv[1]);
			path = argv[i];
			continue;
		}
		if (apply &&
		    (r = cli_opt(argc, argv, &i, "--drop-field", &v)) != 0) {
			if (r < 0)
				return cli_error(2, "--drop-field needs a "
						    "field");
			if (ndrop == sizeof drop / sizeof *drop)
				return cli_error(2, "too many --drop-field");
			drop[ndrop++] = v;
			continue;
		}
		return cli_error(2,
				 "unknown option %s; see rekisteri policy "
				 "--help",
				 argv[i]);
	}
	if (path == NULL)
		return cli_error(2, "usage: rekisteri policy %s FILE", argv[1]);
	if ((r = cli_open(c)) != 0)
		return r;
	st = apply ? rk_policy_apply(c->reg, path, drop, ndrop, &out)
		   : rk_policy_diff(c->reg, path, &out);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		fputs(out, stdout);
		putchar('\n');
	} else {
		if (apply)
			printf("stored as notice version %d\n",
			       rk_register_policy_version(c->reg));
		if (strstr(out, "\"changes\": []") != NULL)
			puts(apply ? "nothing else changed" : "no changes");
		else {
			puts("changes:");
			print_changes(strstr(out, "\"changes\""));
		}
		if (!apply && strstr(out, "\"blockers\": []") == NULL) {
			const char *b = strstr(out, "\"blockers\"");
			puts("apply would be refused:");
			print_changes(b);
		}
		if (apply) {
			puts("to be asked again (consent given under an older "
			     "text):");
			if (print_ids(out) == 0)
				puts("  nobody");
		}
	}
	rk_free_secret(out);
	return 0;
}

int cmd_policy(cli *c, int argc, char **argv)
{
	char *out = NULL;
	rk_status st;
	int r;

	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		fputs(policy_usage, stdout);
		return 0;
	}
	for (int i = 2; i < argc; i++)
		if (cli_is_option(argv, i) && strcmp(argv[i], "--help") == 0) {
			fputs(policy_usage, stdout);
			return 0;
		}
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return policy_check(c, argv[2]);
	if (argc >= 2 &&
	    (strcmp(argv[1], "diff") == 0 || strcmp(argv[1], "apply") == 0))
		return policy_change(c, argc, argv);
	if (argc == 2 && (strcmp(argv[1], "versions") == 0 ||
			  strcmp(argv[1], "affected") == 0)) {
		int versions = strcmp(argv[1], "versions") == 0;
		if ((r = cli_open(c)) != 0)
			return r;
		st = versions ? rk_policy_versions(c->reg, &out)
			      : rk_policy_affected(c->reg, &out);
		if (st != RK_OK)
			return cli_status(c, st);
		if (c->json || versions) {
			fputs(out, stdout);
			putchar('\n');
		} else if (print_ids(out) == 0) {
			puts("nobody needs to be asked again");
		}
		rk_free_secret(out);
		return 0;
	}
	return cli_error(2, "usage: rekisteri policy check|diff|apply FILE, "
			    "policy versions, policy affected");
}
