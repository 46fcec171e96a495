/*
 * cmd_subject.c: `rekisteri subject
 * add|show|find|update|end|convert|list|confirm`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char subject_usage[] =
	"usage: rekisteri subject add --kind customer|prospect|contact "
	"[--field NAME=VALUE]...\n"
	"                             [--field-stdin NAME]... [--source "
	"SOURCE]\n"
	"                             [--password-stdin]\n"
	"       rekisteri subject show ID [--purpose PURPOSE]\n"
	"       rekisteri subject find --by FIELD VALUE|- [--purpose "
	"PURPOSE]\n"
	"       rekisteri subject update ID [--field NAME=VALUE]... "
	"[--field-stdin NAME]...\n"
	"                             [--source SOURCE] [--password-stdin]\n"
	"       rekisteri subject end ID [--date YYYY-MM-DD | --undo]\n"
	"       rekisteri subject convert ID --kind KIND [--drop-disallowed]\n"
	"       rekisteri subject list [--kind KIND] [--after ID] [--limit N]\n"
	"       rekisteri subject confirm ID [--field NAME]...\n"
	"\n"
	"Each verb takes --purpose PURPOSE: what the data is processed for\n"
	"(default: the policy's default purpose); the actor's role must allow "
	"it.\n"
	"add prints the new subject's ID. show prints only the values that "
	"serve\n"
	"the purpose (default: the policy's default purpose). find prints the\n"
	"matching IDs, one a line, and exits 3 when none matches; a role that "
	"sees\n"
	"the field only masked (HETU) may not find by it. An empty VALUE in "
	"update\n"
	"removes the field; in add it is the same as no value.\n"
	"\n"
	"Identifiers and secrets need not stand on the command line, where "
	"every\n"
	"local user can read them: --field-stdin NAME reads the value of NAME "
	"as one\n"
	"line of standard input (several read one line each, in order), "
	"find's\n"
	"VALUE - reads it so, and passwords are read only so "
	"(--password-stdin\n"
	"or --field-stdin with the password field).\n"
	"end records the end of the relationship (default: today; not in the\n"
	"future). Given again with --date it corrects the date; --undo takes "
	"back\n"
	"an end given by mistake. Both are audited.\n"
	"convert changes the subject's kind (a prospect becomes a customer): "
	"a\n"
	"customer number is issued when the new kind has them, and every "
	"value's\n"
	"retention follows the new kind's rule. A field the new kind may not "
	"hold\n"
	"(the policy's \"kinds\", e.g. a HETU only for customers) refuses the "
	"change\n"
	"(exit 4) unless --drop-disallowed, which deletes those values. "
	"Audited.\n"
	"confirm records that the subject confirmed its values are right "
	"(all the\n"
	"role may handle for the purpose, or those of each --field): they "
	"leave the\n"
	"review list (rekisteri review). Audited.\n"
	"Use -- before an operand that starts with a dash.\n";

/* Parses the NAME=VALUE options shared by add and update. */
struct edit_opts {
	rk_fields *fields;
	const char *source;
	const char *kind;
	const char *purpose;
	int password_stdin;
	int nfields;
};

/* The longest value read from standard input (the library's limit). */
#define STDIN_VALUE_MAX 4096

/* Reads the value of field name as one line of standard input. */
static int field_from_stdin(rk_fields *f, const char *name, const char *opt)
{
	char buf[STDIN_VALUE_MAX + 2];
	int rc;

	rc = cli_read_line(buf, sizeof buf, opt);
	if (rc == 0 && rk_fields_add(f, name, buf) != RK_OK)
		rc = cli_error(1, "out of memory");
	/* Do not leave the value in a stack buffer. */
	explicit_bzero(buf, sizeof buf);
	return rc;
}

static int parse_edit(cli *c, int argc, char **argv, int first,
		      struct edit_opts *o, int allow_kind)
{
	const char *v = NULL;
	int i, r;

	for (i = first; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--field", &v)) != 0) {
			const char *eq;
			char name[64];
			size_t n;
			if (r < 0)
				return cli_error(2, "--field needs NAME=VALUE");
			eq = strchr(v, '=');
			n = eq == NULL ? 0 : (size_t)(eq - v);
			if (eq == NULL || n == 0 || n >= sizeof name)
				return cli_error(2, "--field needs NAME=VALUE");
			memcpy(name, v, n);
			name[n] = '\0';
			if (rk_field_is_secret(c->reg, name))
				return cli_error(2,
						 "field %s is a secret: give "
						 "it with --password-stdin, "
						 "not on the command line",
						 name);
			if (rk_fields_add(o->fields, name, eq + 1) != RK_OK)
				return cli_error(1, "out of memory");
			o->nfields++;
		} else if ((r = cli_opt(argc, argv, &i, "--purpose", &v)) !=
			   0) {
			if (r < 0)
				return cli_error(2,
						 "--purpose needs a purpose");
			o->purpose = v;
		} else if ((r = cli_opt(argc, argv, &i, "--source", &v)) != 0) {
			if (r < 0)
				return cli_error(2, "--source needs a name");
			o->source = v;
		} else if (allow_kind &&
			   (r = cli_opt(argc, argv, &i, "--kind", &v)) != 0) {
			if (r < 0)
				return cli_error(2, "--kind needs a kind");
			o->kind = v;
		} else if ((r = cli_opt(argc, argv, &i, "--field-stdin", &v)) !=
			   0) {
			if (r < 0 || v[0] == '\0')
				return cli_error(2, "--field-stdin needs a "
						    "field name");
			r = field_from_stdin(o->fields, v, "--field-stdin");
			if (r != 0)
				return r;
			o->nfields++;
		} else if (cli_opt(argc, argv, &i, "--password-stdin", NULL) ==
			   1) {
			if (o->password_stdin++)
				return cli_error(2, "--password-stdin is given "
						    "once");
			r = field_from_stdin(o->fields, "password",
					     "--password-stdin");
			if (r != 0)
				return r;
			o->nfields++;
		} else {
			return cli_error(2, "unexpected argument: see "
					    "rekisteri subject --help");
		}
	}
	return 0;
}

static int sub_add(cli *c, int argc, char **argv)
{
	struct edit_opts o;
	char id[RK_ID_LEN + 1];
	rk_status st;
	int r;

	memset(&o, 0, sizeof o);
	r = cli_open(c);
	if (r != 0)
		return r;
	o.fields = rk_fields_new();
	if (o.fields == NULL)
		return cli_error(1, "out of memory");
	r = parse_edit(c, argc, argv, 2, &o, 1);
	if (r == 0 && o.kind == NULL)
		r = cli_error(2, "subject add needs --kind "
				 "customer|prospect|contact");
	if (r == 0) {
		st = rk_subject_add(c->reg, o.kind, o.fields, o.source,
				    o.purpose, id);
		if (st != RK_OK)
			r = cli_status(c, st);
		else if (c->json)
			printf("{\"id\": \"%s\"}\n", id);
		else
			printf("%s\n", id);
	}
	rk_fields_free(o.fields);
	return r;
}

static int sub_update(cli *c, int argc, char **argv)
{
	struct edit_opts o;
	rk_status st;
	int r;

	if (argc < 3 || cli_is_option(argv, 2))
		return cli_error(2,
				 "usage: rekisteri subject update ID --field "
				 "NAME=VALUE...");
	memset(&o, 0, sizeof o);
	r = cli_open(c);
	if (r != 0)
		return r;
	o.fields = rk_fields_new();
	if (o.fields == NULL)
		return cli_error(1, "out of memory");
	r = parse_edit(c, argc, argv, 3, &o, 0);
	if (r == 0 && o.nfields == 0)
		r = cli_error(2, "subject update needs --field NAME=VALUE");
	if (r == 0) {
		st = rk_subject_update(c->reg, argv[2], o.fields, o.source,
				       o.purpose);
		if (st != RK_OK)
			r = cli_status(c, st);
		else if (c->json)
			printf("{\"id\": \"%s\", \"updated\": true}\n",
			       argv[2]);
		else
			printf("updated %s\n", argv[2]);
	}
	rk_fields_free(o.fields);
	return r;
}

static void print_date(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int sub_show(cli *c, int argc, char **argv)
{
	const char *purpose = NULL;
	rk_subject *s = NULL;
	rk_status st;
	size_t i, n;
	int r;

	if (argc < 3 || cli_is_option(argv, 2))
		return cli_error(2, "usage: rekisteri subject show ID "
				    "[--purpose PURPOSE]");
	for (int k = 3; k < argc; k++) {
		r = cli_opt(argc, argv, &k, "--purpose", &purpose);
		if (r < 0)
			return cli_error(2, "--purpose needs a purpose");
		if (r == 0)
			return cli_error(2, "unexpected argument: see "
					    "rekisteri subject --help");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_subject_get(c->reg, argv[2], purpose, &s);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		char *text = rk_subject_json(s);
		if (text == NULL) {
			rk_subject_free(s);
			return cli_error(1, "out of memory");
		}
		puts(text);
		/* The document holds personal data. */
		rk_free_secret(text);
	} else {
		const char *end = rk_subject_relationship_end(s);
		const char *start = rk_subject_relationship_start(s);
		printf("subject       %s\n", rk_subject_id(s));
		printf("kind          %s\n", rk_subject_kind(s));
		printf("purpose       %s\n", rk_subject_purpose(s));
		printf("relationship  %s .. %s\n", start ? start : "-",
		       end ? end : "ongoing");
		n = rk_subject_value_count(s);
		if (n == 0)
			printf("(no values serve this purpose)\n");
		for (i = 0; i < n; i++) {
			const rk_value *v = rk_subject_value(s, i);
			char when[32];
			print_date(v->collected_at, when);
			/* The value is escaped: stored text never forges
			 * lines of this output. */
			printf("%-16s ", v->field);
			cli_print_text(stdout, v->value, 0);
			printf("\n    basis %s, source %s, collected %s, "
			       "expires "
			       "%s\n",
			       v->legal_basis, v->source, when,
			       v->expires ? v->expires : "open");
		}
	}
	rk_subject_free(s);
	return 0;
}

static void print_list(const cli *c, const rk_list *l, int full)
{
	size_t i, n = rk_list_count(l);

	if (c->json) {
		fputs("[", stdout);
		for (i = 0; i < n; i++) {
			printf("%s{\"id\": \"%s\"", i ? ", " : "",
			       rk_list_id(l, i));
			if (full) {
				const char *e = rk_list_end(l, i);
				const char *s = rk_list_start(l, i);
				printf(", \"kind\": \"%s\", \"start\": ",
				       rk_list_kind(l, i));
				if (s)
					cli_json_str(stdout, s);
				else
					fputs("null", stdout);
				fputs(", \"end\": ", stdout);
				if (e)
					cli_json_str(stdout, e);
				else
					fputs("null", stdout);
			}
			putchar('}');
		}
		puts("]");
		return;
	}
	for (i = 0; i < n; i++) {
		if (full) {
			const char *e = rk_list_end(l, i);
			const char *s = rk_list_start(l, i);
			printf("%s\t%s\t%s\t%s\n", rk_list_id(l, i),
			       rk_list_kind(l, i), s ? s : "-",
			       e ? e : "ongoing");
		} else {
			printf("%s\n", rk_list_id(l, i));
		}
	}
}

static int sub_find(cli *c, int argc, char **argv)
{
	const char *by = NULL, *purpose = NULL, *value = NULL;
	char buf[STDIN_VALUE_MAX + 2];
	rk_list *l = NULL;
	rk_status st;
	int i, r;

	buf[0] = '\0';
	for (i = 2; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--by", &by)) != 0) {
			if (r < 0)
				return cli_error(2, "--by needs a field");
		} else if ((r = cli_opt(argc, argv, &i, "--purpose",
					&purpose)) != 0) {
			if (r < 0)
				return cli_error(2,
						 "--purpose needs a purpose");
		} else if (cli_is_option(argv, i)) {
			return cli_error(2, "unexpected option: see rekisteri "
					    "subject --help (-- ends the "
					    "options)");
		} else if (value == NULL) {
			value = argv[i];
		} else {
			return cli_error(2, "subject find takes one VALUE");
		}
	}
	if (by == NULL || value == NULL)
		return cli_error(2, "usage: rekisteri subject find --by FIELD "
				    "VALUE|-");
	r = cli_open(c);
	if (r != 0)
		return r;
	/* "-": the value is read from standard input, so that it never
	 * stands on a command line. */
	if (strcmp(value, "-") == 0) {
		r = cli_read_line(buf, sizeof buf, "subject find");
		if (r != 0)
			return r;
		value = buf;
	}
	st = rk_subject_find(c->reg, by, value, purpose, &l);
	explicit_bzero(buf, sizeof buf);
	if (st == RK_ENOTFOUND && c->json) {
		puts("[]");
		return 3;
	}
	if (st != RK_OK)
		return cli_status(c, st);
	print_list(c, l, 0);
	rk_list_free(l);
	return 0;
}

static int sub_end(cli *c, int argc, char **argv)
{
	const char *date = NULL, *purpose = NULL;
	rk_status st;
	int i, r, undo = 0;

	if (argc < 3 || cli_is_option(argv, 2))
		return cli_error(2, "usage: rekisteri subject end ID [--date "
				    "YYYY-MM-DD | --undo]");
	for (i = 3; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--undo", NULL) == 1) {
			undo = 1;
			continue;
		}
		if ((r = cli_opt(argc, argv, &i, "--date", &date)) == 0)
			r = cli_opt(argc, argv, &i, "--purpose", &purpose);
		if (r < 0)
			return cli_error(2, "%s needs a value", argv[i]);
		if (r == 0)
			return cli_error(2, "unexpected argument");
	}
	if (undo && date != NULL)
		return cli_error(2, "--undo takes no --date");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = undo ? rk_subject_end_undo(c->reg, argv[2], purpose)
		  : rk_subject_end(c->reg, argv[2], date, purpose);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		printf("{\"id\": \"%s\", \"ended\": %s}\n", argv[2],
		       undo ? "false" : "true");
	else if (undo)
		printf("relationship of %s goes on: its end was taken back\n",
		       argv[2]);
	else
		printf("relationship of %s ended\n", argv[2]);
	return 0;
}

static int sub_convert(cli *c, int argc, char **argv)
{
	const char *kind = NULL, *purpose = NULL;
	rk_convert_result res;
	unsigned flags = 0;
	rk_status st;
	int i, r;

	if (argc < 3 || cli_is_option(argv, 2))
		return cli_error(2,
				 "usage: rekisteri subject convert ID --kind "
				 "KIND [--drop-disallowed]");
	for (i = 3; i < argc; i++) {
		if (cli_opt(argc, argv, &i, "--drop-disallowed", NULL) == 1) {
			flags |= RK_CONVERT_DROP_DISALLOWED;
			continue;
		}
		if ((r = cli_opt(argc, argv, &i, "--kind", &kind)) == 0)
			r = cli_opt(argc, argv, &i, "--purpose", &purpose);
		if (r < 0)
			return cli_error(2, "%s needs a value", argv[i]);
		if (r == 0)
			return cli_error(2, "unexpected argument: see "
					    "rekisteri subject --help");
	}
	if (kind == NULL)
		return cli_error(2, "subject convert needs --kind KIND");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_subject_convert(c->reg, argv[2], kind, flags, purpose, &res);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		printf("{\"id\": \"%s\", \"kind\": ", argv[2]);
		cli_json_str(stdout, kind);
		printf(", \"customer_number_issued\": %s, "
		       "\"expiry_changed\": %zu, \"dropped\": [",
		       res.customer_number_issued ? "true" : "false",
		       res.expiry_changed);
		for (const char *p = res.dropped; *p != '\0';) {
			size_t n = strcspn(p, ",");
			char name[sizeof res.dropped];
			memcpy(name, p, n);
			name[n] = '\0';
			if (p != res.dropped)
				fputs(", ", stdout);
			cli_json_str(stdout, name);
			p += n + (p[n] == ',');
		}
		puts("]}");
	} else {
		printf("%s is now a %s", argv[2], kind);
		if (res.customer_number_issued)
			printf("; a customer number was issued");
		printf("; the expiry of %zu value%s changed",
		       res.expiry_changed, res.expiry_changed == 1 ? "" : "s");
		if (res.dropped[0] != '\0')
			printf("; dropped: %s", res.dropped);
		putchar('\n');
	}
	return 0;
}

static int sub_list(cli *c, int argc, char **argv)
{
	const char *kind = NULL, *after = NULL, *limit = NULL;
	unsigned long lim = 0;
	rk_list *l = NULL;
	rk_status st;
	int i, r;

	for (i = 2; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--kind", &kind)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--after", &after)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--limit", &limit)) != 0) {
			if (r < 0)
				return cli_error(2, "%s needs a value",
						 argv[i]);
		} else {
			return cli_error(2, "unexpected argument");
		}
	}
	if (limit != NULL) {
		char *end = NULL;
		lim = strtoul(limit, &end, 10);
		if (end == limit || *end != '\0' || limit[0] == '-' ||
		    lim > 10000000UL)
			return cli_error(2, "--limit needs a number");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_subject_list(c->reg, kind, after, (size_t)lim, &l);
	if (st != RK_OK)
		return cli_status(c, st);
	print_list(c, l, 1);
	rk_list_free(l);
	return 0;
}

#define CONFIRM_FIELDS_MAX 64

static int sub_confirm(cli *c, int argc, char **argv)
{
	const char *fields[CONFIRM_FIELDS_MAX], *purpose = NULL, *v = NULL;
	size_t nf = 0, n = 0;
	rk_status st;
	int i, r;

	if (argc < 3 || cli_is_option(argv, 2))
		return cli_error(2, "usage: rekisteri subject confirm ID "
				    "[--field NAME]...");
	for (i = 3; i < argc; i++) {
		r = cli_opt(argc, argv, &i, "--field", &v);
		if (r == 1) {
			if (nf == CONFIRM_FIELDS_MAX)
				return cli_error(2, "too many --field");
			fields[nf++] = v;
			continue;
		}
		if (r == 0)
			r = cli_opt(argc, argv, &i, "--purpose", &purpose);
		if (r < 0)
			return cli_error(2, "%s needs a value", argv[i]);
		if (r == 0)
			return cli_error(2, "unexpected argument");
	}
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_subject_confirm(c->reg, argv[2], nf > 0 ? fields : NULL, nf,
				purpose, &n);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		printf("{\"id\": \"%s\", \"confirmed\": %zu}\n", argv[2], n);
	else
		printf("%zu value(s) of %s confirmed\n", n, argv[2]);
	return 0;
}

int cmd_subject(cli *c, int argc, char **argv)
{
	static const cli_sub subs[] = {{"add", sub_add, NULL, 0},
				       {"show", sub_show, NULL, 0},
				       {"find", sub_find, NULL, 0},
				       {"update", sub_update, NULL, 0},
				       {"end", sub_end, NULL, 0},
				       {"list", sub_list, NULL, 0},
				       {"convert", sub_convert, NULL, 0},
				       {"confirm", sub_confirm, NULL, 0},
				       {NULL, NULL, NULL, 0}};

	return cli_subverb(c, argc, argv, subs, subject_usage);
}
