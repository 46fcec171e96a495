/*
 * main.c: the rekisteri command line: global options, verb dispatch, exit
 * codes (those of rk_status), and the helpers every verb shares.
 */
/* fopencookie: the held output grows in a buffer that wipes what it leaves. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>

#include "cli.h"
#include "serve.h"

static const char usage[] =
	"usage: rekisteri [--db PATH] [--key-file PATH] [--actor NAME] "
	"[--json]\n"
	"                 [--read-replica URL] VERB ...\n"
	"\n"
	"verbs:\n"
	"  init [--policy FILE]              create a register and its key\n"
	"  policy check FILE                 validate a policy file\n"
	"  policy diff FILE | policy apply FILE [--drop-field F]...\n"
	"  policy versions | policy affected  notice versions, who to ask "
	"again\n"
	"  notice [--lang fi|en] [--format text|md|html] [--version N]\n"
	"         [--policy FILE] [--out FILE]  the privacy notice\n"
	"  subject add --kind KIND [--field NAME=VALUE]... [--source S]\n"
	"              [--password-stdin] [--purpose P]\n"
	"  subject show ID [--purpose P]\n"
	"  subject find --by FIELD VALUE [--purpose P]\n"
	"  subject update ID --field NAME=VALUE... [--source S]\n"
	"              [--password-stdin] [--purpose P]\n"
	"  subject end ID [--date YYYY-MM-DD] [--purpose P]\n"
	"  subject convert ID --kind KIND [--drop-disallowed]\n"
	"  subject list [--kind KIND] [--after ID] [--limit N]\n"
	"  subject confirm ID [--field NAME]...  the values were checked\n"
	"  record add ID|--cookie COOKIE_ID --type TYPE [--attach FILE]\n"
	"             [--attach-type MEDIA/TYPE] [--purpose P] < JSON\n"
	"  record list ID [--type TYPE] [--purpose P]\n"
	"  record attachment ID RECORD --out FILE [--purpose P]\n"
	"  record update ID RECORD [--purpose P] < JSON\n"
	"  record delete ID RECORD [--purpose P]\n"
	"  consent give|withdraw ID SCOPE [--channel C] [--evidence-stdin]\n"
	"  consent history ID\n"
	"  object ID direct_marketing [--lift]  the direct-marketing "
	"prohibition\n"
	"  object ID --purpose P [--lift | --compelling-grounds]\n"
	"  may-contact ID --channel email|sms|phone|post|automated_call\n"
	"              [--for own|third-party] [--recipient R] "
	"[--product-category C]\n"
	"  cookie link ID COOKIE_ID | cookie reset ID\n"
	"  erase ID [--dry-run]              erasure with a receipt\n"
	"  restrict|unrestrict ID --reason TEXT|--reason-stdin\n"
	"  export ID [--format json|html] [--lang fi|en] "
	"[--with-attachments DIR]\n"
	"            [--out FILE]           the access report (GDPR Art. 15)\n"
	"  export ID --portable --out DIR   data portability (GDPR Art. 20)\n"
	"  dsr open ID TYPE [--received DATE] [--verified-by METHOD]\n"
	"  dsr list [--overdue] [--due-before DATE] [--open|--all]\n"
	"  dsr show N | dsr extend N --reason R\n"
	"  dsr close N --outcome done|refused [--reason R]\n"
	"  retention run [--as-of DATE] [--dry-run]  delete what expired\n"
	"  review [--older-than DURATION]    values not confirmed for long\n"
	"  ropa [--format md|html|json] [--lang fi|en]  records of "
	"processing\n"
	"  breach open --aware-at TIME --description-stdin [--category C]...\n"
	"              [--with-field F] [--with-record T] [--from TIME --to "
	"TIME]\n"
	"  breach list [--all] | breach show N | breach subjects N\n"
	"  breach update N [--dpa-notified-at TIME] [--risk none|low|high]\n"
	"              [--subjects-notified-at TIME] [--measures-stdin]\n"
	"  breach close N                    the breach register, 72-hour "
	"clock\n"
	"  stats --by DIM[,DIM...] [--k N] [--format text|csv|json]\n"
	"  disclose RECIPIENT --purpose P [--subject ID]... [--all-eligible]\n"
	"           [--event E] [--legal-ground TEXT] [--format json|csv] "
	"[--out FILE]\n"
	"  disclosure list [--subject ID]    the disclosure log\n"
	"  transfer-to-marketing ID          to the own direct-marketing "
	"register\n"
	"  audit verify [--checkpoint FILE] | audit checkpoint FILE\n";
/* In two parts: one string literal may hold at most 4095 characters. */
static const char usage2[] =
	"  audit log [--subject ID]\n"
	"  actor add NAME --role ROLE | actor list | actor revoke NAME\n"
	"  key rotate [--reencrypt]          new master, index and signing "
	"keys\n"
	"  key reencrypt [--restart] | key list | key retire KEYID\n"
	"  serve [--listen ADDR:PORT]... [--threads N] [--tls-cert F "
	"--tls-key F]\n"
	"        [--insecure-listen]         the HTTP API (see serve --help)\n"
	"  backup FILE                       online copy\n"
	"  migrate --to DB                   move to PostgreSQL or SQLite\n"
	"  restore [--force] FILE | restore --into NEW.db FILE\n"
	"  version\n"
	"\n"
	"The register is --db, else $REKISTERI_DB, else ./rekisteri.db; its "
	"master key\n"
	"--key-file, else $REKISTERI_KEY_FILE, else <db>.key. Each verb has "
	"--help.\n"
	"A --db of postgresql://... (or postgres://) is a PostgreSQL database; "
	"it needs\n--key-file or $REKISTERI_KEY_FILE. --read-replica (or "
	"$REKISTERI_READ_REPLICA)\nnames a standby of it that subject "
	"show/find/list, record list, export and\nstats read from; writes "
	"and the audit trail stay on the primary.\n"
	"Without --actor (or $REKISTERI_ACTOR) you act as the operator who "
	"holds the\n"
	"master key, in the policy's admin role; an actor proves itself with "
	"its\n"
	"token in $REKISTERI_TOKEN.\n"
	"Exit codes: 0 done, 1 system failure, 2 bad usage or input, 3 not "
	"found,\n"
	"4 refused by policy, 5 integrity failure.\n";

static const char version_usage[] =
	"usage: rekisteri version\n"
	"Prints the version of rekisteri; with --json, {\"version\": "
	"\"X.Y.Z\"}.\n";

/* What a verb gets for --help or -h anywhere among its options. */
static char help_arg[] = "--help";

/* Index in the verb's argv from which every argument is an operand: the
 * place of a "--" (removed), else none. */
static int operands_from = INT_MAX;

/* While a verb runs on the read replica, its error is held back: the verb
 * runs again on the primary when the replica's answer failed (see
 * main), and only the answer that counts is shown. */
static int hold_errors;
static char held_error[512];

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	if (hold_errors) {
		va_start(ap, fmt);
		vsnprintf(held_error, sizeof held_error, fmt, ap);
		va_end(ap);
		return code;
	}
	fputs("rekisteri: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_status(const cli *c, rk_status st)
{
	const char *msg = c->reg != NULL ? rk_errmsg(c->reg) : "";

	return cli_error((int)st, "%s", msg[0] ? msg : rk_status_name(st));
}

int cli_paths(cli *c)
{
	const char *env;

	if (c->db == NULL) {
		env = getenv("REKISTERI_DB");
		c->db = env != NULL && env[0] ? env : "rekisteri.db";
	}
	if (c->key == NULL) {
		env = getenv("REKISTERI_KEY_FILE");
		if (env != NULL && env[0]) {
			c->key = env;
		} else if (strncmp(c->db, "postgresql://", 13) == 0 ||
			   strncmp(c->db, "postgres://", 11) == 0) {
			/* A database URL has no folder to keep a key in. */
			return cli_error(2, "a PostgreSQL register needs "
					    "--key-file or REKISTERI_KEY_FILE");
		} else {
			int n = snprintf(c->keybuf, sizeof c->keybuf, "%s.key",
					 c->db);
			if (n < 0 || (size_t)n >= sizeof c->keybuf)
				return cli_error(2, "the database path is too "
						    "long");
			c->key = c->keybuf;
		}
	}
	if (c->actor == NULL) {
		env = getenv("REKISTERI_ACTOR");
		c->actor = env != NULL && env[0] ? env : NULL;
	}
	return 0;
}

int cli_open(cli *c)
{
	rk_status st;
	int rc = cli_paths(c);

	if (rc != 0)
		return rc;
	st = rk_register_open(c->db, c->key, &c->reg);
	if (st != RK_OK)
		return cli_status(c, st);
	/* A command prints only what the trail already shows. */
	rk_register_set_audit_batch(c->reg, 1);
	if (c->actor != NULL) {
		/* Secrets never come from the command line. */
		const char *token = getenv("REKISTERI_TOKEN");
		if (token == NULL || token[0] == '\0')
			return cli_error(2,
					 "acting as an actor needs its token "
					 "in REKISTERI_TOKEN");
		st = rk_register_authenticate(c->reg, c->actor, token);
		if (st != RK_OK)
			return cli_status(c, st);
	}
	if (c->replica != NULL && c->replica_ok) {
		st = rk_register_set_read_replica(c->reg, c->replica);
		if (st != RK_OK)
			return cli_status(c, st);
	}
	return 0;
}

int cli_is_option(char **argv, int i)
{
	/* A lone "-" is an operand: standard input. */
	return i < operands_from && argv[i][0] == '-' && argv[i][1] != '\0';
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (*i >= operands_from || strncmp(a, name, n) != 0)
		return 0;
	if (val == NULL)
		return a[n] == '\0' ? 1 : 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* ---- shared parsing: one copy for every verb group ---- */

/* One option of opts at argv[*i]: 1 matched, 0 not, -1 value missing. */
static int one_opt(int argc, char **argv, int *i, const cli_optval *opts)
{
	const cli_optval *o;
	int r;

	for (o = opts; o->name != NULL; o++) {
		if (o->flag != NULL) {
			if (cli_opt(argc, argv, i, o->name, NULL) == 1) {
				*o->flag = 1;
				return 1;
			}
			continue;
		}
		r = cli_opt(argc, argv, i, o->name, o->val);
		if (r != 0)
			return r;
	}
	return 0;
}

int cli_opts(int argc, char **argv, int first, const cli_optval *opts,
	     const char **pos, size_t npos, const char *verb)
{
	size_t k;
	int i, r;

	for (i = first; i < argc; i++) {
		r = one_opt(argc, argv, &i, opts);
		if (r < 0)
			return cli_error(2, "%s needs a value", argv[i]);
		if (r > 0)
			continue;
		for (k = 0; k < npos && pos[k] != NULL; k++)
			;
		if (k < npos && !cli_is_option(argv, i)) {
			pos[k] = argv[i];
			continue;
		}
		return cli_error(2,
				 "unexpected argument: see rekisteri "
				 "%s --help",
				 verb);
	}
	return 0;
}

int cli_wants_help(int argc, char **argv, const char *text)
{
	for (int i = 1; i < argc; i++)
		if (cli_is_option(argv, i) && strcmp(argv[i], "--help") == 0) {
			fputs(text, stdout);
			return 1;
		}
	return 0;
}

int cli_subverb(cli *c, int argc, char **argv, const cli_sub *subs,
		const char *usage_text)
{
	const cli_sub *s;

	if (cli_wants_help(argc, argv, usage_text))
		return 0;
	for (s = subs; argc >= 2 && s->name != NULL; s++)
		if (strcmp(argv[1], s->name) == 0)
			return s->run != NULL
				       ? s->run(c, argc, argv)
				       : s->run_arg(c, argc, argv, s->arg);
	fputs(usage_text, stderr);
	return 2;
}

int cli_create_failed(const char *path, int e)
{
	int code = e == EEXIST || e == ENOENT || e == EACCES ? 2 : 1;
	const char *why = e == EEXIST ? "it exists already; refusing to "
					"overwrite it"
				      : strerror(e);

	if (path == NULL)
		return cli_error(code, "cannot create the output file: %s",
				 why);
	return cli_error(code, "cannot create the output file %s: %s", path,
			 why);
}

int cli_number(const char *s, const char *what, int64_t *n)
{
	char *end = NULL;
	long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return cli_error(2, "a %s number is a positive integer", what);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v <= 0)
		return cli_error(2, "a %s number is a positive integer", what);
	*n = (int64_t)v;
	return 0;
}

const char *cli_jstr(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* ---- the read replica's retry: one output, the same input ----
 * A verb that reads on the standby may run again on the primary
 * (replica_again). So that the retry neither repeats what the first run
 * printed nor finds standard input consumed, the first run's standard
 * output is held in memory (never in a file: it may be personal data) and
 * shown only if that run is the one that counts, and what cli_read_line
 * took from standard input is kept and given to the retry again. */
static struct {
	FILE *real; /* stdout while the output is held */
	char *out;  /* the held output */
	size_t outlen, outcap;
	char in[4096]; /* what the first run read from standard input */
	size_t inlen, inpos;
	int recording, replaying, in_lost;
} rr;

static int in_getc(void)
{
	int ch;

	if (rr.replaying && rr.inpos < rr.inlen)
		return (unsigned char)rr.in[rr.inpos++];
	ch = getchar();
	if (rr.recording && ch != EOF) {
		if (rr.inlen < sizeof rr.in)
			rr.in[rr.inlen++] = (char)ch;
		else
			rr.in_lost = 1; /* too long to give again */
	}
	return ch;
}

/* The held output's writer. open_memstream would free the buffers it
 * outgrows without wiping them; this one wipes each before letting it go. */
static ssize_t hold_write(void *cookie, const char *buf, size_t n)
{
	size_t cap;
	char *np;

	(void)cookie;
	if (n > SIZE_MAX / 4 - rr.outlen)
		return 0;
	if (rr.outlen + n > rr.outcap) {
		cap = rr.outcap > 0 ? rr.outcap : 4096;
		while (cap < rr.outlen + n)
			cap *= 2;
		np = malloc(cap);
		if (np == NULL)
			return 0; /* the stream's error: the output is not shown
				   */
		if (rr.out != NULL) {
			memcpy(np, rr.out, rr.outlen);
			explicit_bzero(rr.out, rr.outcap);
			free(rr.out);
		}
		rr.out = np;
		rr.outcap = cap;
	}
	memcpy(rr.out + rr.outlen, buf, n);
	rr.outlen += n;
	return (ssize_t)n;
}

/* Standard output goes into memory until out_release. glibc's stdout is
 * a variable the program may set; the verbs write through it. */
static void out_hold(void)
{
	static const cookie_io_functions_t io = {.write = hold_write};
	FILE *m;

	if (fflush(stdout) != 0)
		return;
	m = fopencookie(NULL, "w", io);
	if (m == NULL)
		return;
	/* Unbuffered: stdio keeps no copy of its own that it frees unwiped. */
	if (setvbuf(m, NULL, _IONBF, 0) != 0) {
		(void)fclose(m);
		return;
	}
	rr.real = stdout;
	stdout = m;
}

/* Back to the real standard output; the held output is written there
 * (show) or wiped. */
static void out_release(int show)
{
	FILE *m = stdout;

	if (rr.real == NULL)
		return;
	stdout = rr.real;
	rr.real = NULL;
	if (fclose(m) != 0)
		show = 0; /* out of memory: what was held is incomplete */
	if (show && rr.outlen > 0)
		(void)fwrite(rr.out, 1, rr.outlen, stdout);
	if (rr.out != NULL)
		explicit_bzero(rr.out, rr.outcap);
	free(rr.out);
	rr.out = NULL;
	rr.outlen = rr.outcap = 0;
}

int cli_read_line(char *buf, size_t cap, const char *what)
{
	size_t n = 0;
	int ch = EOF, nul = 0;

	while (n + 1 < cap && (ch = in_getc()) != EOF && ch != '\n') {
		nul |= ch == '\0';
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	if (ferror(stdin)) {
		explicit_bzero(buf, cap);
		return cli_error(1, "%s: cannot read standard input", what);
	}
	if (n + 1 == cap && (ch = in_getc()) != '\n' && ch != EOF) {
		/* Not the whole line: nothing of it is used. */
		explicit_bzero(buf, cap);
		return cli_error(2, "%s: the value is longer than %zu bytes",
				 what, cap - 1);
	}
	if (n == 0 && ch == EOF)
		return cli_error(2, "%s: no value on standard input", what);
	if (nul) {
		explicit_bzero(buf, cap);
		return cli_error(2, "%s: the value holds a NUL byte", what);
	}
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

int cli_input_file(const char *path, const char *what)
{
	struct stat sb;
	int e;

	if (stat(path, &sb) != 0) {
		e = errno;
		return cli_error(e == ENOENT || e == ENOTDIR || e == EACCES ||
						 e == ELOOP || e == ENAMETOOLONG
					 ? 2
					 : 1,
				 "cannot read the %s %s: %s", what, path,
				 strerror(e));
	}
	if (S_ISDIR(sb.st_mode))
		return cli_error(2, "the %s %s is a directory", what, path);
	return 0;
}

/* Code points that a terminal acts on, or that hide or reorder text, rather
 * than show as themselves: C1 controls, the bidirectional marks,
 * embeddings, overrides and isolates, the zero-width and invisible format
 * characters, and the line and paragraph separators. */
static int is_hidden(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || cp == 0x61c ||
	       cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
	       (cp >= 0xfff9 && cp <= 0xfffb) ||
	       (cp >= 0xe0000 && cp <= 0xe007f);
}

void cli_print_text(FILE *f, const char *s, int quoted)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t len, k;

	if (quoted)
		fputc('"', f);
	while (*p != '\0') {
		if (*p == '\\' || (quoted && *p == '"')) {
			fprintf(f, "\\%c", *p++);
			continue;
		}
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			fputs(*p == '\n'   ? "\\n"
			      : *p == '\r' ? "\\r"
					   : "\\t",
			      f);
			p++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", (unsigned)*p++);
			continue;
		}
		if (*p < 0x80) {
			fputc(*p++, f);
			continue;
		}
		/* A UTF-8 sequence: its length from the lead byte (1: not a
		 * lead byte). */
		len = *p >= 0xf5   ? 1
		      : *p >= 0xf0 ? 4
		      : *p >= 0xe0 ? 3
		      : *p >= 0xc2 ? 2
				   : 1;
		cp = len == 4 ? *p & 0x07u : len == 3 ? *p & 0x0fu : *p & 0x1fu;
		for (k = 1; k < len && (p[k] & 0xc0) == 0x80; k++)
			cp = cp << 6 | (p[k] & 0x3fu);
		if (len == 1 || k < len) {
			/* not UTF-8: shown as the byte it is */
			fprintf(f, "\\x%02x", (unsigned)*p++);
			continue;
		}
		if (is_hidden(cp))
			fprintf(f, "\\u%04lx", cp);
		else
			fwrite(p, 1, len, f);
		p += len;
	}
	if (quoted)
		fputc('"', f);
}

void cli_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The arguments that name a file a verb reads or writes. A missing one (or
 * one in a missing directory, for a file to write) is bad input (exit 2)
 * whichever verb it is given to, so it is checked here, once, before the
 * verb runs; the verb's own error stays for what the check cannot see (a
 * file removed in between, one that cannot be parsed). */
static const struct input_file {
	const char *verb;
	const char *sub; /* the second word, or NULL */
	const char *opt; /* the option that names it, or NULL ... */
	int operand;	 /* ... the operand's place (0 = the verb) */
	const char *what;
	int output; /* written, not read: its directory must exist */
} input_files[] = {
	{"init", NULL, "--policy", 0, "policy file", 0},
	{"policy", "check", NULL, 2, "policy file", 0},
	{"record", "add", "--attach", 0, "attachment", 0},
	{"restore", NULL, NULL, 1, "backup", 0},
	{"audit", "verify", "--checkpoint", 0, "checkpoint file", 0},
	{"record", "attachment", "--out", 0, "output file", 1},
	{"backup", NULL, NULL, 1, "backup", 1},
	{"audit", "checkpoint", NULL, 2, "checkpoint file", 1},
	{"export", NULL, "--out", 0, "output file", 1},
	{"export", NULL, "--with-attachments", 0, "attachment directory", 1},
	{"ropa", NULL, "--out", 0, "output file", 1},
	{"notice", NULL, "--policy", 0, "policy file", 0},
	{"notice", NULL, "--out", 0, "output file", 1},
	{"policy", "diff", NULL, 2, "policy file", 0},
	{"policy", "apply", NULL, 2, "policy file", 0},
};

/* 0 when the directory that path would be created in exists; else 2 after
 * an error naming what. */
static int output_dir(const char *path, const char *what)
{
	char dir[CLI_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 0 : (size_t)(slash - path);
	struct stat sb;

	if (slash == NULL)
		return 0; /* the working directory */
	if (n >= sizeof dir)
		return cli_error(2, "the %s path is too long", what);
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (n == 0)
		return 0; /* the root */
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cli_error(2,
				 "cannot write the %s %s: its directory "
				 "does not exist",
				 what, path);
	return 0;
}

/* The check of one file argument. */
static int check_file(const struct input_file *in, const char *path)
{
	return in->output ? output_dir(path, in->what)
			  : cli_input_file(path, in->what);
}

static int check_input_files(int argc, char **argv)
{
	const char *v = NULL;
	size_t k;
	int i, rc;

	for (k = 0; k < sizeof input_files / sizeof input_files[0]; k++) {
		const struct input_file *in = &input_files[k];
		if (strcmp(argv[0], in->verb) != 0 ||
		    (in->sub != NULL &&
		     (argc < 2 || strcmp(argv[1], in->sub) != 0)))
			continue;
		if (in->opt == NULL) {
			if (in->operand < argc &&
			    !cli_is_option(argv, in->operand) &&
			    (rc = check_file(in, argv[in->operand])) != 0)
				return rc;
			continue;
		}
		for (i = 1; i < argc; i++)
			if (cli_opt(argc, argv, &i, in->opt, &v) == 1 &&
			    (rc = check_file(in, v)) != 0)
				return rc;
	}
	return 0;
}

static int version(cli *c, int argc, char **argv)
{
	if (argc >= 2 && cli_is_option(argv, 1) &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(version_usage, stdout);
		return 0;
	}
	if (argc != 1)
		return cli_error(2, "usage: rekisteri version");
	if (c->json)
		printf("{\"version\": \"%s\"}\n", rk_version());
	else
		printf("rekisteri %s\n", rk_version());
	return 0;
}

/* The HTTP API server (server/): it holds the master key for the actors
 * who reach the register through it, so it runs as the operator. */
static int serve(cli *c, int argc, char **argv)
{
	int rc = cli_paths(c);

	if (rc != 0)
		return rc;
	if (c->actor != NULL && argc >= 2 && strcmp(argv[1], "--help") != 0)
		return cli_error(2, "serve runs as the operator who holds the "
				    "master key: no --actor");
	/* the global --read-replica: serve decides per route what reads
	 * there */
	return rk_serve_main(c->db, c->key, c->replica, argc, argv);
}

/* The verbs and the functions that run them (each prints its own usage
 * for "VERB --help"). */
static const struct verb {
	const char *name;
	int (*run)(cli *c, int argc, char **argv);
} verbs[] = {
	{"version", version},
	{"--version", version},
	{"init", cmd_init},
	{"policy", cmd_policy},
	{"subject", cmd_subject},
	{"record", cmd_record},
	{"key", cmd_key},
	{"backup", cmd_backup},
	{"restore", cmd_restore},
	{"audit", cmd_audit},
	{"consent", cmd_consent},
	{"object", cmd_object},
	{"may-contact", cmd_may_contact},
	{"cookie", cmd_cookie},
	{"actor", cmd_actor},
	{"erase", cmd_erase},
	{"restrict", cmd_restrict},
	{"unrestrict", cmd_unrestrict},
	{"export", cmd_export},
	{"dsr", cmd_dsr},
	{"retention", cmd_retention},
	{"review", cmd_review},
	{"ropa", cmd_ropa},
	{"breach", cmd_breach},
	{"stats", cmd_stats},
	{"notice", cmd_notice},
	{"disclose", cmd_disclose},
	{"disclosure", cmd_disclosure},
	{"transfer-to-marketing", cmd_transfer_to_marketing},
	{"serve", serve},
	{"migrate", cmd_migrate},
};

/* ---- the read replica ----
 * Only verbs that read and decide nothing read from the standby: a
 * decision that a withdrawal must stop (may-contact, disclose, marketing)
 * and every write stay on the primary, as does audit verify (it checks
 * the primary's trail). */
static const char *const replica_verbs[][2] = {
	{"subject", "show"}, {"subject", "find"}, {"subject", "list"},
	{"record", "list"},  {"export", NULL},	  {"stats", NULL},
};

static void replica_setup(cli *c, int nrest, char **rest)
{
	const char *env = getenv("REKISTERI_READ_REPLICA");

	if (c->replica == NULL && env != NULL && env[0])
		c->replica = env;
	if (c->replica == NULL)
		return;
	for (size_t k = 0; k < sizeof replica_verbs / sizeof replica_verbs[0];
	     k++)
		if (strcmp(rest[0], replica_verbs[k][0]) == 0 &&
		    (replica_verbs[k][1] == NULL ||
		     (nrest > 1 && strcmp(rest[1], replica_verbs[k][1]) == 0)))
			c->replica_ok = 1;
	hold_errors = c->replica_ok;
	if (c->replica_ok) {
		out_hold();
		rr.recording = 1;
	}
}

/* A verb that failed (system or integrity) after reading on the standby
 * runs once more on the primary: a standby behind the primary (a key the
 * primary rotated, rows it moved) must not be reported as tampering. */
static int replica_again(cli *c, const struct verb *v, int nrest, char **rest,
			 int rc)
{
	int used = c->reg != NULL && rk_register_replica_reads(c->reg) > 0;
	/* only when the first run's output was held and its input kept */
	int again = c->replica_ok && used && (rc == 1 || rc == 5) &&
		    rr.real != NULL && !rr.in_lost;

	hold_errors = 0;
	rr.recording = 0;
	out_release(!again);
	if (again) {
		rk_register_close(c->reg);
		c->reg = NULL;
		c->replica_ok = 0;
		held_error[0] = '\0';
		rr.replaying = 1;
		rr.inpos = 0;
		rc = v->run(c, nrest, rest);
	} else if (held_error[0] != '\0') {
		cli_error(rc, "%s", held_error);
	}
	rr.replaying = 0;
	explicit_bzero(rr.in, sizeof rr.in);
	return rc;
}

int main(int argc, char **argv)
{
	cli c;
	char **rest;
	int nrest = 0, i, rc, r;
	const char *v = NULL;

	memset(&c, 0, sizeof c);
	rest = calloc((size_t)argc + 1, sizeof *rest);
	if (rest == NULL)
		return cli_error(1, "out of memory");
	/* Global options may stand before or after the verb. */
	for (i = 1; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--db", &v)) != 0) {
			if (r < 0) {
				free(rest);
				return cli_error(2, "--db needs a path");
			}
			c.db = v;
		} else if ((r = cli_opt(argc, argv, &i, "--key-file", &v)) !=
			   0) {
			if (r < 0) {
				free(rest);
				return cli_error(2, "--key-file needs a path");
			}
			c.key = v;
		} else if ((r = cli_opt(argc, argv, &i, "--actor", &v)) != 0) {
			if (r < 0) {
				free(rest);
				return cli_error(2, "--actor needs a name");
			}
			c.actor = v;
		} else if ((r = cli_opt(argc, argv, &i, "--read-replica",
					&v)) != 0) {
			if (r < 0) {
				free(rest);
				return cli_error(2, "--read-replica needs a "
						    "postgresql:// URL");
			}
			c.replica = v;
		} else if (cli_opt(argc, argv, &i, "--json", NULL) == 1) {
			c.json = 1;
		} else if (strcmp(argv[i], "--") == 0) {
			/* Everything after -- is an operand of the verb, even
			 * when it starts with a dash. */
			operands_from = nrest;
			for (i++; i < argc; i++)
				rest[nrest++] = argv[i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	if (nrest == 0 || strcmp(rest[0], "--help") == 0 ||
	    strcmp(rest[0], "-h") == 0 || strcmp(rest[0], "help") == 0) {
		fputs(usage, nrest == 0 ? stderr : stdout);
		fputs(usage2, nrest == 0 ? stderr : stdout);
		free(rest);
		return nrest == 0 ? 2 : 0;
	}
	/* --help (or -h) anywhere among the options asks for the verb's help,
	 * whatever else stands beside it: each verb prints its usage for
	 * "VERB --help". */
	for (i = 1; i < nrest && i < operands_from; i++)
		if (strcmp(rest[i], "--help") == 0 ||
		    strcmp(rest[i], "-h") == 0) {
			rest[1] = help_arg;
			nrest = 2;
			break;
		}
	if (nrest >= 2 && strcmp(rest[1], "--help") != 0 &&
	    strcmp(rest[1], "-h") != 0 &&
	    (rc = check_input_files(nrest, rest)) != 0) {
		free(rest);
		return rc;
	}
	rc = -1;
	replica_setup(&c, nrest, rest);
	for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
		if (strcmp(rest[0], verbs[k].name) == 0) {
			rc = verbs[k].run(&c, nrest, rest);
			rc = replica_again(&c, &verbs[k], nrest, rest, rc);
			break;
		}
	/* not repeated: it may be anything typed */
	if (rc < 0)
		rc = cli_error(2, "unknown verb: see rekisteri --help");
	rk_register_close(c.reg);
	free(rest);
	return rc;
}
