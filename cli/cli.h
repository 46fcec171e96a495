/*
 * cli.h: shared state of the rekisteri command line. The CLI uses only the
 * public API in rekisteri.h.
 */
#ifndef RK_CLI_H
#define RK_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "rekisteri.h"

#define CLI_PATH_MAX 4096

typedef struct cli {
	const char *db;	   /* --db, REKISTERI_DB, ./rekisteri.db */
	const char *key;   /* --key-file, REKISTERI_KEY_FILE, <db>.key */
	const char *actor; /* --actor, REKISTERI_ACTOR */
	int json;
	char keybuf[CLI_PATH_MAX];
	rk_register *reg;
	/* --read-replica, REKISTERI_READ_REPLICA: set on the handle only for
	 * the verbs that only read (replica_ok, main.c) */
	const char *replica;
	int replica_ok;
} cli;

/* Prints "rekisteri: message" on standard error and returns code. */
int cli_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Reports a failed library call: its message, or the status name. */
int cli_status(const cli *c, rk_status st);
/* Resolves the paths and opens the register (actor set); exit code. */
int cli_open(cli *c);
/* Resolves the database and key file paths without opening. */
int cli_paths(cli *c);

/* Whether arg is --name or --name=...; *val gets the value (the next
 * argument, consumed through *i) when the option takes one. Returns 1 when
 * matched and well-formed, 0 when not this option, -1 when its value is
 * missing. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **val);

/* Whether argv[i] is an option: it starts with a dash, is not a lone "-"
 * (standard input) and does not stand after a "--". */
int cli_is_option(char **argv, int i);

/* Reads one line of standard input into buf (cap bytes), without its line
 * end: a value that must not stand on a command line. 0, or the exit code
 * after an error that names what. A longer line is refused. */
int cli_read_line(char *buf, size_t cap, const char *what);

/* 0 when path names a file that can be read; else the exit code (2: it is
 * missing, a directory or not allowed) after an error naming what. */
int cli_input_file(const char *path, const char *what);

/* Prints a JSON string literal of s. */
void cli_json_str(FILE *f, const char *s);

/* Prints text for a person to read: line ends, tabs, control characters,
 * backslashes and the characters that hide or reorder text (bidirectional
 * controls, zero-width and invisible characters) are escaped (\n, \x1b,
 * \u202e), so that stored text can never forge lines or columns of the
 * output. quoted: in double quotes, with '"' escaped. */
void cli_print_text(FILE *f, const char *s, int quoted);

/* ---- shared parsing (main.c) ---- */

/* An option for cli_opts: its name ("--format") and where its value goes,
 * or for an option without a value (flag set) the int it sets to 1. A list
 * ends with a NULL name. */
typedef struct cli_optval {
	const char *name;
	const char **val;
	int *flag;
} cli_optval;

/* Parses argv[first..] as the options of opts and up to npos operands
 * (pos[0], pos[1], ... in order; they must be NULL on entry): 0, or exit
 * code 2 after "--x needs a value" or "unexpected argument: see rekisteri
 * VERB --help". */
int cli_opts(int argc, char **argv, int first, const cli_optval *opts,
	     const char **pos, size_t npos, const char *verb);

/* --help anywhere after the verb (as an option, not an operand): prints
 * text (the usage) on standard output and returns 1; else 0. */
int cli_wants_help(int argc, char **argv, const char *text);

/* A sub-verb of a verb group ("subject add"): run, or run_arg called with
 * arg for the sub-verbs that share one function. A table ends with a NULL
 * name. */
typedef struct cli_sub {
	const char *name;
	int (*run)(cli *c, int argc, char **argv);
	int (*run_arg)(cli *c, int argc, char **argv, int arg);
	int arg;
} cli_sub;

/* Runs the sub-verb argv[1] of subs. --help anywhere prints usage (exit
 * 0); a missing or unknown sub-verb prints it on standard error (exit
 * 2). */
int cli_subverb(cli *c, int argc, char **argv, const cli_sub *subs,
		const char *usage_text);

/* Reports a new output file that could not be created (errno e): "it
 * exists already" or the system's reason, with path when it is not NULL.
 * The exit code: 2 when it exists, is missing or is not allowed, else 1. */
int cli_create_failed(const char *path, int e);

/* A positive decimal number (a request's or a breach's, what names it)
 * into *n: 0, or exit code 2 after "a WHAT number is a positive integer". */
int cli_number(const char *s, const char *what, int64_t *n);

struct json_t;
/* The string under key in the JSON object o, or dflt. */
const char *cli_jstr(const struct json_t *o, const char *key, const char *dflt);

int cmd_init(cli *c, int argc, char **argv);
int cmd_policy(cli *c, int argc, char **argv);
int cmd_subject(cli *c, int argc, char **argv);
int cmd_record(cli *c, int argc, char **argv);
int cmd_audit(cli *c, int argc, char **argv);
int cmd_key(cli *c, int argc, char **argv);
int cmd_backup(cli *c, int argc, char **argv);
int cmd_migrate(cli *c, int argc, char **argv);
int cmd_restore(cli *c, int argc, char **argv);
int cmd_consent(cli *c, int argc, char **argv);
int cmd_object(cli *c, int argc, char **argv);
int cmd_may_contact(cli *c, int argc, char **argv);
int cmd_cookie(cli *c, int argc, char **argv);
int cmd_actor(cli *c, int argc, char **argv);
int cmd_erase(cli *c, int argc, char **argv);
int cmd_restrict(cli *c, int argc, char **argv);
int cmd_unrestrict(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_dsr(cli *c, int argc, char **argv);
int cmd_retention(cli *c, int argc, char **argv);
int cmd_review(cli *c, int argc, char **argv);
/* cmd_paper.c */
int cmd_ropa(cli *c, int argc, char **argv);
int cmd_breach(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_notice(cli *c, int argc, char **argv);
int cmd_disclose(cli *c, int argc, char **argv);
int cmd_disclosure(cli *c, int argc, char **argv);
int cmd_transfer_to_marketing(cli *c, int argc, char **argv);

#endif
