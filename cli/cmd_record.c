/*
 * cmd_record.c: `rekisteri record add|list|attachment|update|delete`,
 * relationship
 * records. The record's fields come as a JSON object on standard input, so
 * that its personal data never stands on a command line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

#define STDIN_MAX (1024 * 1024)

static const char record_usage[] =
	"usage: rekisteri record add ID|--cookie COOKIE_ID --type TYPE "
	"[--attach FILE]\n"
	"                            [--attach-type MEDIA/TYPE] [--purpose "
	"PURPOSE]\n"
	"       rekisteri record list ID [--type TYPE] [--purpose PURPOSE]\n"
	"       rekisteri record attachment ID RECORD --out FILE [--purpose "
	"PURPOSE]\n"
	"       rekisteri record update ID RECORD [--purpose PURPOSE] < JSON\n"
	"       rekisteri record delete ID RECORD [--purpose PURPOSE]\n"
	"\n"
	"add reads the record's fields as one JSON object (at most 1 MiB) on "
	"standard\n"
	"input and prints the new record's number. --cookie adds it for the "
	"subject\n"
	"that a cookie or device identifier is linked to; --cookie - reads "
	"the\n"
	"identifier from the first line of standard input, before the JSON. "
	"A\n"
	"field given as \"\" or null is left out. Amounts (decimal fields) "
	"are\n"
	"given as strings (\"129.90\") or integers: a JSON number with a "
	"fraction\n"
	"may lose digits and is refused. A full card number, in any field and "
	"in\n"
	"any digits or grouping, is refused: give the payment provider's token "
	"and\n"
	"the last four digits.\n"
	"list prints the records that serve the purpose (default: the "
	"policy's\n"
	"default purpose). attachment writes a record's attachment to a new "
	"file\n"
	"(mode 0600; an existing file is refused). Text in the list is "
	"escaped\n"
	"(\\n, \\t, \\u202e ...) so that it cannot forge lines of the "
	"output.\n"
	"update rectifies or completes a record: the new JSON object of all "
	"its\n"
	"fields on standard input, validated as in add, replaces the stored "
	"one\n"
	"(a field left out is removed); the old fields are kept nowhere. "
	"delete\n"
	"erases one record and its attachment. Both are audited with the "
	"record's\n"
	"number and the field names, never the values.\n";

/* Reads all of standard input (at most STDIN_MAX bytes) as a string. */
static int read_stdin(char **out, const char *verb)
{
	char *buf = malloc(STDIN_MAX + 2);
	size_t n = 0, k;
	int rc = 0;

	*out = NULL;
	if (buf == NULL)
		return cli_error(1, "out of memory");
	while (n <= STDIN_MAX) {
		k = fread(buf + n, 1, STDIN_MAX + 1 - n, stdin);
		if (k == 0)
			break;
		n += k;
	}
	if (ferror(stdin))
		rc = cli_error(1, "cannot read standard input: %s",
			       strerror(errno));
	else if (n > STDIN_MAX)
		rc = cli_error(2, "the record on standard input is larger "
				  "than 1 MiB");
	else if (n == 0)
		rc = cli_error(2,
			       "record %s reads the record's JSON object on "
			       "standard input",
			       verb);
	else if (memchr(buf, '\0', n) != NULL)
		rc = cli_error(2, "the record on standard input holds a NUL "
				  "byte");
	if (rc != 0) {
		memset(buf, 0, n);
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* The record holds personal data: wiped where the compiler cannot drop
 * the wipe as a dead store before free. */
static void free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The longest cookie or device identifier read from standard input. */
#define COOKIE_MAX 200

static int rec_add(cli *c, int argc, char **argv)
{
	const char *id = NULL, *cookie = NULL, *type = NULL, *attach = NULL;
	const char *attach_type = NULL, *purpose = NULL;
	const cli_optval opts[] = {{"--cookie", &cookie, NULL},
				   {"--type", &type, NULL},
				   {"--attach-type", &attach_type, NULL},
				   {"--attach", &attach, NULL},
				   {"--purpose", &purpose, NULL},
				   {NULL, NULL, NULL}};
	const char *pos[1] = {NULL};
	char cookie_buf[COOKIE_MAX + 2];
	char *json = NULL;
	int64_t rid = 0;
	rk_status st;
	int r;

	r = cli_opts(argc, argv, 2, opts, pos, 1, "record");
	if (r != 0)
		return r;
	id = pos[0];
	if ((id == NULL) == (cookie == NULL) || type == NULL)
		return cli_error(2, "usage: rekisteri record add ID|--cookie "
				    "COOKIE_ID --type TYPE (JSON on standard "
				    "input)");
	if (cookie != NULL && (attach != NULL || attach_type != NULL))
		return cli_error(2, "an attachment goes with a subject ID, not "
				    "with --cookie");
	r = cli_open(c);
	if (r != 0)
		return r;
	/* "--cookie -": the identifier is the first line of standard input,
	 * so that it never stands on a command line. */
	if (cookie != NULL && strcmp(cookie, "-") == 0) {
		r = cli_read_line(cookie_buf, sizeof cookie_buf, "--cookie");
		if (r != 0)
			return r;
		cookie = cookie_buf;
	}
	r = read_stdin(&json, "add");
	if (r != 0) {
		explicit_bzero(cookie_buf, sizeof cookie_buf);
		return r;
	}
	if (cookie != NULL)
		st = rk_record_add_by_cookie(c->reg, cookie, type, json,
					     purpose, &rid);
	else
		st = rk_record_add(c->reg, id, type, json, attach, attach_type,
				   purpose, &rid);
	free_secret(json);
	explicit_bzero(cookie_buf, sizeof cookie_buf);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		printf("{\"id\": %" PRId64 "}\n", rid);
	else
		printf("%" PRId64 "\n", rid);
	return 0;
}

static void print_time(json_int_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* Prints one field value (a string, or an array of them), escaped: a
 * stored text never forges lines of the list. */
static void print_value(const char *name, const json_t *v)
{
	size_t i;
	const json_t *e;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			printf("  %-13s ", i == 0 ? name : "");
			cli_print_text(stdout,
				       json_string_value(e)
					       ? json_string_value(e)
					       : "?",
				       0);
			putchar('\n');
		}
		return;
	}
	printf("  %-13s ", name);
	cli_print_text(stdout,
		       json_string_value(v) ? json_string_value(v) : "?", 0);
	putchar('\n');
}

/* One block per record: its metadata, then its fields. */
static int print_records(const char *text)
{
	json_t *arr = json_loads(text, 0, NULL), *rec, *p, *f, *att, *v;
	size_t i, k;
	const char *name;
	char when[32];

	if (!json_is_array(arr)) {
		json_decref(arr);
		return cli_error(1, "the library returned a damaged list");
	}
	if (json_array_size(arr) == 0)
		printf("(no records serve this purpose)\n");
	json_array_foreach(arr, i, rec)
	{
		if (i > 0)
			putchar('\n');
		print_time(
			json_integer_value(json_object_get(rec, "created_at")),
			when);
		printf("record %" JSON_INTEGER_FORMAT "  %s\n",
		       json_integer_value(json_object_get(rec, "id")),
		       str_or(rec, "type", "?"));
		printf("  %-13s %s\n", "created", when);
		printf("  %-13s %s\n", "expires",
		       str_or(rec, "expires", "open"));
		printf("  %-13s ", "purposes");
		p = json_object_get(rec, "purposes");
		json_array_foreach(p, k, v)
		{
			printf("%s%s", k ? ", " : "",
			       json_string_value(v) ? json_string_value(v)
						    : "?");
		}
		putchar('\n');
		printf("  %-13s %s, source %s\n", "legal basis",
		       str_or(rec, "legal_basis", "?"),
		       str_or(rec, "source", "?"));
		att = json_object_get(rec, "attachment");
		if (json_is_object(att))
			printf("  %-13s %" JSON_INTEGER_FORMAT " bytes, %s\n",
			       "attachment",
			       json_integer_value(json_object_get(att, "size")),
			       str_or(att, "type", "type not given"));
		f = json_object_get(rec, "fields");
		json_object_foreach(f, name, v)
		{
			print_value(name, v);
		}
	}
	json_decref(arr);
	return 0;
}

static int rec_list(cli *c, int argc, char **argv)
{
	const char *id = NULL, *type = NULL, *purpose = NULL;
	const cli_optval opts[] = {{"--type", &type, NULL},
				   {"--purpose", &purpose, NULL},
				   {NULL, NULL, NULL}};
	const char *pos[1] = {NULL};
	char *json = NULL;
	rk_status st;
	int r;

	r = cli_opts(argc, argv, 2, opts, pos, 1, "record");
	if (r != 0)
		return r;
	id = pos[0];
	if (id == NULL)
		return cli_error(2, "usage: rekisteri record list ID [--type "
				    "TYPE] [--purpose PURPOSE]");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_record_list(c->reg, id, type, purpose, &json);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		puts(json);
	else
		r = print_records(json);
	/* The list holds personal data. */
	rk_free_secret(json);
	return r;
}

static int rec_attachment(cli *c, int argc, char **argv)
{
	const char *id = NULL, *num = NULL, *out = NULL, *purpose = NULL;
	const cli_optval opts[] = {{"--out", &out, NULL},
				   {"--purpose", &purpose, NULL},
				   {NULL, NULL, NULL}};
	const char *pos[2] = {NULL};
	char *end = NULL;
	long long rid;
	rk_status st;
	int r;

	r = cli_opts(argc, argv, 2, opts, pos, 2, "record");
	if (r != 0)
		return r;
	id = pos[0];
	num = pos[1];
	if (id == NULL || num == NULL || out == NULL)
		return cli_error(2, "usage: rekisteri record attachment ID "
				    "RECORD --out FILE");
	errno = 0;
	rid = strtoll(num, &end, 10);
	if (end == num || *end != '\0' || errno != 0 || rid <= 0)
		return cli_error(2, "RECORD is a record number, as record add "
				    "printed it");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_record_attachment(c->reg, id, (int64_t)rid, out, purpose);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		printf("{\"record\": %lld, \"out\": ", rid);
		cli_json_str(stdout, out);
		puts("}");
	} else {
		printf("attachment of record %lld written\n", rid);
	}
	return 0;
}

/* record update ID RECORD (JSON on standard input) and record delete ID
 * RECORD. */
static int rec_change(cli *c, int argc, char **argv, int del)
{
	const char *id = NULL, *num = NULL, *purpose = NULL;
	const cli_optval opts[] = {{"--purpose", &purpose, NULL},
				   {NULL, NULL, NULL}};
	const char *pos[2] = {NULL};
	const char *verb = del ? "delete" : "update";
	char *json = NULL, *end = NULL;
	long long rid;
	rk_status st;
	int r;

	r = cli_opts(argc, argv, 2, opts, pos, 2, "record");
	if (r != 0)
		return r;
	id = pos[0];
	num = pos[1];
	if (id == NULL || num == NULL)
		return cli_error(2, "usage: rekisteri record %s ID RECORD%s",
				 verb, del ? "" : " < JSON");
	errno = 0;
	rid = strtoll(num, &end, 10);
	if (end == num || *end != '\0' || errno != 0 || rid <= 0)
		return cli_error(2, "RECORD is a record number, as record add "
				    "printed it");
	if (!del && (r = read_stdin(&json, verb)) != 0)
		return r;
	r = cli_open(c);
	if (r != 0)
		goto out;
	st = del ? rk_record_delete(c->reg, id, (int64_t)rid, purpose)
		 : rk_record_update(c->reg, id, (int64_t)rid, json, purpose);
	if (st != RK_OK) {
		r = cli_status(c, st);
		goto out;
	}
	if (c->json)
		printf("{\"id\": \"%s\", \"record\": %lld, \"%s\": true}\n", id,
		       rid, del ? "deleted" : "updated");
	else
		printf("record %lld %s\n", rid, del ? "deleted" : "updated");
out:
	free_secret(json);
	return r;
}

int cmd_record(cli *c, int argc, char **argv)
{
	static const cli_sub subs[] = {{"add", rec_add, NULL, 0},
				       {"list", rec_list, NULL, 0},
				       {"attachment", rec_attachment, NULL, 0},
				       {"update", NULL, rec_change, 0},
				       {"delete", NULL, rec_change, 1},
				       {NULL, NULL, NULL, 0}};

	return cli_subverb(c, argc, argv, subs, record_usage);
}
