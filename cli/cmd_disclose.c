/*
 * cmd_disclose.c: `rekisteri disclose`, `disclosure list` and
 * `transfer-to-marketing`: disclosures to the policy's recipients, their
 * log, and the own direct-marketing register.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char disclose_usage[] =
	"usage: rekisteri disclose RECIPIENT --purpose P [--subject ID]... "
	"[--all-eligible]\n"
	"                 [--event EVENT] [--legal-ground TEXT] "
	"[--format json|csv]\n"
	"                 [--out FILE]\n"
	"\n"
	"Produces exactly what RECIPIENT (a recipient of the policy) may "
	"receive for\n"
	"purpose P, of the subjects named (--subject, repeated) or of every "
	"subject\n"
	"that qualifies (--all-eligible), and logs per subject what went "
	"where, when\n"
	"and why (see disclosure list). Subjects who may not be disclosed "
	"are left\n"
	"out: for direct marketing those with the prohibition, an objection "
	"or\n"
	"(for a third party) without a consent that names the recipient; "
	"restricted\n"
	"subjects; with the recipient's selection, those without a matching "
	"record\n"
	"(overdue payments, the participants of --event EVENT). A recipient "
	"outside\n"
	"the EU/EEA without an adequacy decision or a recorded safeguard is "
	"refused\n"
	"(exit 4). An authority's disclosure records --legal-ground TEXT "
	"(one line\n"
	"citing the law). The document (JSON, or CSV: subject,type,record,"
	"name,value)\n"
	"goes to --out FILE (created with mode 0600, never overwritten) or "
	"standard\n"
	"output; a summary goes to standard error (with --json and --out, a "
	"JSON\n"
	"summary to standard output).\n";

static const char disclosure_usage[] =
	"usage: rekisteri disclosure list [--subject ID]\n"
	"\n"
	"Prints the disclosure log (of one subject with --subject), one line "
	"a\n"
	"subject disclosed: number, time, recipient, country, purpose, what "
	"went,\n"
	"the ground, and the subject (or its pseudonym once erased). The log "
	"is\n"
	"checked against its chain first. With --json, a JSON array. Only "
	"the\n"
	"administrator and roles that audit may read it.\n";

static const char transfer_usage[] =
	"usage: rekisteri transfer-to-marketing ID\n"
	"\n"
	"After the relationship ended, moves what marketing may keep (the "
	"policy's\n"
	"marketing register_fields) into the controller's own "
	"direct-marketing\n"
	"register: those values serve only the marketing purpose from then "
	"on and\n"
	"are kept by the register's own retention rule, counted from today. "
	"Refused\n"
	"(exit 4) while the relationship goes on and for a subject with the\n"
	"direct-marketing prohibition, an objection to marketing or a "
	"restriction.\n"
	"Logged in the disclosure log and audited. Prints the fields moved "
	"and\n"
	"their new expiry; with --json, a JSON document.\n";

/* Creates the --out file (0600) before anything is disclosed: an existing
 * file is refused, and nothing goes to the log for a document that could
 * not be kept. */
static int create_out(const char *path, int *fd)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd < 0)
		return cli_error(errno == EEXIST ? 2 : 1,
				 "--out: cannot create the file (%s)",
				 errno == EEXIST ? "it exists; nothing is "
						   "overwritten"
						 : strerror(errno));
	return 0;
}

/* Writes text into the file created; on failure it is removed. */
static int write_out(const char *path, int fd, const char *text)
{
	size_t n = strlen(text), off = 0;

	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(path);
			return cli_error(1, "--out: cannot write the file");
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		unlink(path);
		return cli_error(1, "--out: cannot write the file");
	}
	return 0;
}

int cmd_disclose(cli *c, int argc, char **argv)
{
	const char *purpose = NULL, *event = NULL, *ground = NULL;
	const char *format = NULL, *out = NULL, *v;
	const char **subjects = NULL;
	rk_disclose_options o;
	rk_disclose_result res;
	char *doc = NULL;
	size_t n = 0;
	rk_status st;
	int i, r, all = 0, rc = 0, fd = -1;

	if (cli_wants_help(argc, argv, disclose_usage))
		return 0;
	if (argc < 2 || cli_is_option(argv, 1)) {
		fputs(disclose_usage, stderr);
		return 2;
	}
	subjects = calloc((size_t)argc, sizeof *subjects);
	if (subjects == NULL)
		return cli_error(1, "out of memory");
	for (i = 2; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--subject", &v)) != 0) {
			if (r < 0) {
				rc = cli_error(2, "%s needs a value", argv[i]);
				goto done;
			}
			subjects[n++] = v;
		} else if ((r = cli_opt(argc, argv, &i, "--purpose",
					&purpose)) != 0 ||
			   (r = cli_opt(argc, argv, &i, "--event", &event)) !=
				   0 ||
			   (r = cli_opt(argc, argv, &i, "--legal-ground",
					&ground)) != 0 ||
			   (r = cli_opt(argc, argv, &i, "--format", &format)) !=
				   0 ||
			   (r = cli_opt(argc, argv, &i, "--out", &out)) != 0) {
			if (r < 0) {
				rc = cli_error(2, "%s needs a value", argv[i]);
				goto done;
			}
		} else if (cli_is_option(argv, i) &&
			   strcmp(argv[i], "--all-eligible") == 0) {
			all = 1;
		} else {
			rc = cli_error(2, "unexpected argument: see rekisteri "
					  "disclose --help");
			goto done;
		}
	}
	if (purpose == NULL) {
		rc = cli_error(2, "disclose needs --purpose P");
		goto done;
	}
	if ((n > 0) == all) {
		rc = cli_error(2, "name the subjects (--subject ID) or give "
				  "--all-eligible, one of the two");
		goto done;
	}
	memset(&o, 0, sizeof o);
	if (format == NULL || strcmp(format, "json") == 0)
		o.format = RK_DISCLOSE_JSON;
	else if (strcmp(format, "csv") == 0)
		o.format = RK_DISCLOSE_CSV;
	else {
		rc = cli_error(2, "--format is json or csv");
		goto done;
	}
	o.purpose = purpose;
	o.subjects = subjects;
	o.nsubjects = n;
	o.all_eligible = all;
	o.event = event;
	o.legal_ground = ground;
	rc = cli_open(c);
	if (rc != 0)
		goto done;
	if (out != NULL) {
		rc = create_out(out, &fd);
		if (rc != 0)
			goto done;
	}
	st = rk_disclose(c->reg, argv[1], &o, &doc, &res);
	if (st != RK_OK) {
		rc = cli_status(c, st);
		goto done;
	}
	if (out != NULL) {
		rc = write_out(out, fd, doc);
		fd = -1;
		if (rc != 0)
			goto done;
	} else {
		fputs(doc, stdout);
		if (o.format == RK_DISCLOSE_JSON)
			fputc('\n', stdout);
	}
	if (c->json && out != NULL) {
		printf("{\"batch\": %lld, \"disclosed\": %zu, \"excluded\": "
		       "%zu, \"excluded_by\": ",
		       (long long)res.batch, res.disclosed, res.excluded);
		cli_json_str(stdout, res.excluded_by);
		puts("}");
	} else {
		fprintf(stderr,
			"disclosed %zu subjects to %s (log number %lld); left "
			"out %zu%s%s%s\n",
			res.disclosed, argv[1], (long long)res.batch,
			res.excluded, res.excluded ? " (" : "", res.excluded_by,
			res.excluded ? ")" : "");
	}
done:
	if (fd >= 0) {
		close(fd);
		unlink(out);
	}
	rk_free_secret(doc);
	free(subjects);
	return rc;
}

/* Names of an array, comma-separated (a comma first unless first). */
static void print_names(const json_t *arr, int first)
{
	for (size_t j = 0; j < json_array_size(arr); j++) {
		printf("%s%s", first && j == 0 ? "" : ",",
		       json_string_value(json_array_get(arr, j)));
	}
}

static void print_log(const json_t *arr)
{
	const json_t *e;
	size_t i;

	if (json_array_size(arr) == 0) {
		printf("(no disclosures)\n");
		return;
	}
	json_array_foreach(arr, i, e)
	{
		printf("%lld  %s  %s  %s  %s  ",
		       (long long)json_integer_value(
			       json_object_get(e, "number")),
		       cli_jstr(e, "at", "?"), cli_jstr(e, "recipient", "?"),
		       cli_jstr(e, "country", "-")[0]
			       ? cli_jstr(e, "country", "-")
			       : "-",
		       cli_jstr(e, "purpose", "?"));
		print_names(json_object_get(e, "fields"), 1);
		print_names(json_object_get(e, "record_types"),
			    json_array_size(json_object_get(e, "fields")) == 0);
		printf("  ");
		cli_print_text(
			stdout,
			cli_jstr(e, "legal_ground", cli_jstr(e, "basis", "-")),
			0);
		printf("  %s\n",
		       cli_jstr(e, "subject", cli_jstr(e, "pseudonym", "?")));
	}
}

int cmd_disclosure(cli *c, int argc, char **argv)
{
	const char *id = NULL;
	char *json = NULL;
	json_t *arr;
	rk_status st;
	int i, r;

	if (cli_wants_help(argc, argv, disclosure_usage))
		return 0;
	if (argc < 2 || strcmp(argv[1], "list") != 0) {
		fputs(disclosure_usage, stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--subject", &id)) != 0) {
			if (r < 0)
				return cli_error(2, "%s needs a value",
						 argv[i]);
		} else {
			return cli_error(2, "unexpected argument: see "
					    "rekisteri disclosure --help");
		}
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_disclosure_list(c->reg, id, &json);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		puts(json);
	} else {
		arr = json_loads(json, 0, NULL);
		if (arr == NULL) {
			rk_free(json);
			return cli_error(1, "the library returned a damaged "
					    "document");
		}
		print_log(arr);
		json_decref(arr);
	}
	rk_free(json);
	return 0;
}

int cmd_transfer_to_marketing(cli *c, int argc, char **argv)
{
	char *json = NULL;
	json_t *o;
	rk_status st;
	int r;

	if (cli_wants_help(argc, argv, transfer_usage))
		return 0;
	if (argc != 2 || cli_is_option(argv, 1)) {
		fputs(transfer_usage, stderr);
		return 2;
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_transfer_to_marketing(c->reg, argv[1], &json);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		puts(json);
	} else {
		o = json_loads(json, 0, NULL);
		printf("moved to the direct-marketing register: ");
		print_names(json_object_get(o, "fields"), 1);
		printf("; kept until %s (%s)\n", cli_jstr(o, "expires", "-"),
		       cli_jstr(o, "retention", "?"));
		json_decref(o);
	}
	rk_free(json);
	return 0;
}
