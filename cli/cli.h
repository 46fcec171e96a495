/*
 * cli.h: shared state of the rekisteri command line. The CLI uses only the
 * public API in rekisteri.h.
 */
#ifndef RK_CLI_H
#define RK_CLI_H

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

/* Prints a JSON string literal of s. */
void cli_json_str(FILE *f, const char *s);

int cmd_init(cli *c, int argc, char **argv);
int cmd_policy(cli *c, int argc, char **argv);
int cmd_subject(cli *c, int argc, char **argv);
int cmd_record(cli *c, int argc, char **argv);
int cmd_audit(cli *c, int argc, char **argv);
int cmd_key(cli *c, int argc, char **argv);
int cmd_backup(cli *c, int argc, char **argv);
int cmd_restore(cli *c, int argc, char **argv);
int cmd_consent(cli *c, int argc, char **argv);
int cmd_object(cli *c, int argc, char **argv);
int cmd_may_contact(cli *c, int argc, char **argv);
int cmd_cookie(cli *c, int argc, char **argv);
int cmd_actor(cli *c, int argc, char **argv);

#endif
