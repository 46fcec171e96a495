/*
 * cmd_register.c: `rekisteri init` and `rekisteri policy check`.
 */
#include <stdio.h>
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

static const char policy_usage[] =
	"usage: rekisteri policy check FILE\n"
	"Validates a policy file; each problem is reported as "
	"file:line:column: message.\n";

int cmd_policy(cli *c, int argc, char **argv)
{
	struct diag_out d = {c->json, 0};
	rk_status st;

	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		fputs(policy_usage, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "check") != 0) {
		if (argc >= 3 && strcmp(argv[2], "--help") == 0) {
			fputs(policy_usage, stdout);
			return 0;
		}
		return cli_error(2, "usage: rekisteri policy check FILE");
	}
	if (d.json)
		printf("{\"file\": "), cli_json_str(stdout, argv[2]),
			printf(", \"problems\": [");
	st = rk_policy_check_file(argv[2], print_diag, &d);
	if (d.json) {
		printf("], \"valid\": %s}\n", st == RK_OK ? "true" : "false");
	} else if (st == RK_OK) {
		printf("%s: valid policy\n", argv[2]);
	} else if (st == RK_EINVAL) {
		fprintf(stderr, "rekisteri: %s: %d problem%s\n", argv[2],
			d.count, d.count == 1 ? "" : "s");
	}
	return (int)st;
}
