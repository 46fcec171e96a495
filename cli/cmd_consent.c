/*
 * cmd_consent.c: `rekisteri consent give|withdraw|history`, `object`,
 * `may-contact` and `cookie link|reset`: the consent ledger, the
 * direct-marketing prohibition, the marketing decision and cookie profiles.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/* The library's limit is 2000 bytes; one more byte tells "too long". */
#define EVIDENCE_MAX 2000

static const char consent_usage[] =
	"usage: rekisteri consent give ID SCOPE [--channel C] "
	"[--evidence-stdin]\n"
	"       rekisteri consent withdraw ID SCOPE [--channel C] "
	"[--evidence-stdin]\n"
	"       rekisteri consent history ID\n"
	"\n"
	"give and withdraw append to the subject's consent ledger under the "
	"current\n"
	"notice version. SCOPE is a consent scope of the policy (location,\n"
	"email_marketing, sms_marketing, third_party_marketing, "
	"personalisation).\n"
	"Withdrawing a consent deletes the records that needed it (location "
	"data).\n"
	"--channel names how the subject said it (web, phone, ...; default "
	"cli);\n"
	"--evidence-stdin reads up to 2000 bytes of evidence (stored "
	"encrypted).\n"
	"history prints the whole ledger, one line an entry: time, kind, "
	"scope,\n"
	"given or withdrawn (objected or lifted), channel, notice version, "
	"actor\n"
	"and evidence; with --json, a JSON array.\n";

static const char object_usage[] =
	"usage: rekisteri object ID OBJECTION [--lift] [--channel C] "
	"[--evidence-stdin]\n"
	"       rekisteri object ID --purpose P [--lift] [--channel C] "
	"[--evidence-stdin]\n"
	"       rekisteri object ID --purpose P --compelling-grounds < "
	"REASON\n"
	"\n"
	"Records an objection of the policy; `object ID direct_marketing` is "
	"the\n"
	"direct-marketing prohibition (suoramarkkinointikielto): from then on "
	"it\n"
	"overrides every consent. --lift appends a \"lifted\" entry (the "
	"subject\n"
	"lifts it; nothing is deleted): may-contact follows the consents "
	"again.\n"
	"--purpose P records the subject's objection to processing for "
	"purpose P\n"
	"of data whose legal basis is legitimate interest (GDPR Art. 21(1)): "
	"such\n"
	"values and records are no longer shown when read for P. P must be a "
	"purpose\n"
	"of the policy. --compelling-grounds records the controller's "
	"compelling\n"
	"legitimate grounds that override the objection, with the reason read "
	"from\n"
	"standard input (up to 2000 bytes, stored encrypted); only the "
	"operator or\n"
	"a role that audits (the data protection lead) may. The ledger names "
	"these\n"
	"entries purpose:P and grounds:P (see consent history).\n";

static const char may_contact_usage[] =
	"usage: rekisteri may-contact ID --channel "
	"email|sms|phone|post|automated_call\n"
	"       [--for own|third-party] [--recipient R] [--product-category "
	"C]\n"
	"\n"
	"Prints \"yes: RULE\" and exits 0, or \"no: RULE\" and exits 4; RULE "
	"is the\n"
	"rule that decided, followed by the provision (law: ...) and what "
	"each\n"
	"message must offer (condition: ...). --for third-party asks for a "
	"third\n"
	"party's marketing (default: own); --recipient R names the third "
	"party (a\n"
	"recipient of the policy), whose marketing needs a consent that names "
	"it or\n"
	"its category. --product-category C (the policy's product_categories) "
	"is the\n"
	"category of the products marketed: the existing-customer exception "
	"covers\n"
	"only own products similar to those the customer bought. Automated "
	"calls\n"
	"need prior consent like e-mail. --json prints {\"allowed\": BOOL, "
	"\"rule\":\n"
	"\"...\", \"law\": \"...\", \"condition\": \"...\"}.\n";

static const char cookie_usage[] =
	"usage: rekisteri cookie link ID COOKIE_ID\n"
	"       rekisteri cookie reset ID\n"
	"\n"
	"link ties a cookie or device identifier to the subject (only a keyed "
	"hash\n"
	"of it is stored); an identifier linked to another subject is "
	"refused.\n"
	"COOKIE_ID - reads the identifier from standard input.\n"
	"reset unlinks every identifier of the subject, so browsing under "
	"them no\n"
	"longer reaches the profile, and deletes the records that came "
	"through\n"
	"those identifiers (record add --cookie); records added to the "
	"subject\n"
	"directly stay. It prints \"unlinked N identifiers, deleted M "
	"records\".\n";

/* Reads the evidence text from standard input into buf (EVIDENCE_MAX + 2
 * bytes); a final newline is dropped. */
static int read_evidence(char *buf, size_t cap)
{
	size_t n = fread(buf, 1, cap - 1, stdin);

	if (ferror(stdin))
		return cli_error(1, "--evidence-stdin: cannot read standard "
				    "input");
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n > EVIDENCE_MAX)
		return cli_error(2,
				 "--evidence-stdin: evidence is at most %d "
				 "bytes",
				 EVIDENCE_MAX);
	if (strlen(buf) != n)
		return cli_error(2, "--evidence-stdin: evidence holds a NUL "
				    "byte");
	return 0;
}

/* The options shared by consent give|withdraw and object. */
struct ledger_opts {
	const char *channel;
	int evidence_stdin;
};

static int parse_ledger_opts(int argc, char **argv, int first,
			     struct ledger_opts *o, const char *verb)
{
	int i, r;

	for (i = first; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--channel", &o->channel)) !=
		    0) {
			if (r < 0)
				return cli_error(2, "--channel needs a name");
		} else if (cli_opt(argc, argv, &i, "--evidence-stdin", NULL) ==
			   1) {
			o->evidence_stdin = 1;
		} else {
			return cli_error(2,
					 "unexpected argument: see rekisteri "
					 "%s --help",
					 verb);
		}
	}
	return 0;
}

static int consent_set(cli *c, int argc, char **argv, int given)
{
	struct ledger_opts o = {NULL, 0};
	char evidence[EVIDENCE_MAX + 3];
	rk_status st;
	int r;

	if (argc < 4 || cli_is_option(argv, 2) || cli_is_option(argv, 3))
		return cli_error(2,
				 "usage: rekisteri consent %s ID SCOPE "
				 "[--channel C] [--evidence-stdin]",
				 argv[1]);
	r = parse_ledger_opts(argc, argv, 4, &o, "consent");
	if (r != 0)
		return r;
	evidence[0] = '\0';
	if (o.evidence_stdin && (r = read_evidence(evidence, sizeof evidence)))
		goto out;
	r = cli_open(c);
	if (r != 0)
		goto out;
	st = rk_consent_set(c->reg, argv[2], argv[3], given, o.channel,
			    evidence[0] ? evidence : NULL);
	if (st != RK_OK) {
		r = cli_status(c, st);
		goto out;
	}
	if (c->json) {
		printf("{\"id\": \"%s\", \"scope\": ", argv[2]);
		cli_json_str(stdout, argv[3]);
		printf(", \"given\": %s, \"notice_version\": %d}\n",
		       given ? "true" : "false",
		       rk_register_policy_version(c->reg));
	} else {
		printf("%s consent %s for %s (notice version %d)\n", argv[3],
		       given ? "given" : "withdrawn", argv[2],
		       rk_register_policy_version(c->reg));
	}
out:
	/* The evidence may name people: do not leave it on the stack. */
	explicit_bzero(evidence, sizeof evidence);
	return r;
}

static const char *hist_str(const json_t *e, const char *key)
{
	const char *s = json_string_value(json_object_get(e, key));

	return s != NULL ? s : "?";
}

/* What the entry did: given or withdrawn, for an objection objected or
 * lifted. */
static const char *hist_state(const json_t *e)
{
	int given = json_is_true(json_object_get(e, "given"));

	if (strcmp(hist_str(e, "kind"), "compelling_grounds") == 0)
		return "recorded";
	if (strcmp(hist_str(e, "kind"), "objection") == 0)
		return given ? "objected" : "lifted";
	return given ? "given" : "withdrawn";
}

static void hist_notice(const json_t *e, char out[32])
{
	snprintf(out, 32, "notice v%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(e, "notice_version")));
}

/* Widens a column to hold s (up to 64 characters). */
static void widen(int *w, const char *s)
{
	size_t n = strlen(s);

	if (n > (size_t)*w)
		*w = n > 64 ? 64 : (int)n;
}

/* One aligned line an entry under a header; the evidence, quoted, last. */
static int print_history(const char *text)
{
	json_t *arr = json_loads(text, 0, NULL), *e, *ev;
	int wat = 4, wkind = 4, wscope = 5, wstate = 5, wch = 7, wnot = 6;
	int wact = 5;
	char notice[32];
	size_t i;

	if (!json_is_array(arr)) {
		json_decref(arr);
		return cli_error(1, "the library returned a damaged ledger");
	}
	if (json_array_size(arr) == 0) {
		printf("(no consents or objections recorded)\n");
		goto out;
	}
	json_array_foreach(arr, i, e)
	{
		hist_notice(e, notice);
		widen(&wat, hist_str(e, "at"));
		widen(&wkind, hist_str(e, "kind"));
		widen(&wscope, hist_str(e, "scope"));
		widen(&wstate, hist_state(e));
		widen(&wch, hist_str(e, "channel"));
		widen(&wnot, notice);
		widen(&wact, hist_str(e, "actor"));
	}
	printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  EVIDENCE\n", wat,
	       "TIME", wkind, "KIND", wscope, "SCOPE", wstate, "STATE", wch,
	       "CHANNEL", wnot, "NOTICE", wact, "ACTOR");
	json_array_foreach(arr, i, e)
	{
		ev = json_object_get(e, "evidence");
		hist_notice(e, notice);
		printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  ", wat,
		       hist_str(e, "at"), wkind, hist_str(e, "kind"), wscope,
		       hist_str(e, "scope"), wstate, hist_state(e), wch,
		       hist_str(e, "channel"), wnot, notice);
		if (json_is_string(ev)) {
			printf("%-*s  ", wact, hist_str(e, "actor"));
			cli_print_text(stdout, json_string_value(ev), 1);
			putchar('\n');
		} else {
			printf("%s\n", hist_str(e, "actor"));
		}
	}
out:
	/* Jansson's copies of the evidence name people: wipe them before
	 * they are freed. */
	json_array_foreach(arr, i, e)
	{
		ev = json_object_get(e, "evidence");
		if (json_is_string(ev))
			explicit_bzero((char *)json_string_value(ev),
				       json_string_length(ev));
	}
	json_decref(arr);
	return 0;
}

static int consent_history(cli *c, int argc, char **argv)
{
	char *text = NULL;
	rk_status st;
	int r;

	if (argc != 3 || cli_is_option(argv, 2))
		return cli_error(2, "usage: rekisteri consent history ID");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_consent_history(c->reg, argv[2], &text);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		puts(text);
	else
		r = print_history(text);
	/* The ledger holds the evidence. */
	rk_free_secret(text);
	return r;
}

int cmd_consent(cli *c, int argc, char **argv)
{
	static const cli_sub subs[] = {{"give", NULL, consent_set, 1},
				       {"withdraw", NULL, consent_set, 0},
				       {"history", consent_history, NULL, 0},
				       {NULL, NULL, NULL, 0}};

	return cli_subverb(c, argc, argv, subs, consent_usage);
}

int cmd_object(cli *c, int argc, char **argv)
{
	struct ledger_opts o = {NULL, 0};
	const char *objection = NULL, *purpose = NULL;
	char evidence[EVIDENCE_MAX + 3];
	int lift = 0, grounds = 0;
	rk_status st;
	int i, r;

	if (cli_wants_help(argc, argv, object_usage))
		return 0;
	if (argc < 3 || cli_is_option(argv, 1)) {
		fputs(object_usage, stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--channel", &o.channel)) !=
			    0 ||
		    (r = cli_opt(argc, argv, &i, "--purpose", &purpose)) != 0) {
			if (r < 0)
				return cli_error(2, "%s needs a value",
						 argv[i]);
		} else if (cli_opt(argc, argv, &i, "--evidence-stdin", NULL) ==
			   1) {
			o.evidence_stdin = 1;
		} else if (cli_opt(argc, argv, &i, "--lift", NULL) == 1) {
			lift = 1;
		} else if (cli_opt(argc, argv, &i, "--compelling-grounds",
				   NULL) == 1) {
			grounds = 1;
		} else if (!cli_is_option(argv, i) && objection == NULL) {
			objection = argv[i];
		} else {
			return cli_error(2, "unexpected argument: see "
					    "rekisteri object --help");
		}
	}
	if ((objection == NULL) == (purpose == NULL))
		return cli_error(2,
				 "object names an OBJECTION of the policy or "
				 "--purpose P, not both");
	if (grounds && (purpose == NULL || lift))
		return cli_error(2,
				 "--compelling-grounds goes with --purpose P "
				 "(and without --lift)");
	if (grounds && o.channel != NULL)
		return cli_error(2, "--compelling-grounds takes no --channel: "
				    "the controller records them");
	evidence[0] = '\0';
	/* The grounds' reason always comes on standard input. */
	if ((o.evidence_stdin || grounds) &&
	    (r = read_evidence(evidence, sizeof evidence)))
		goto out;
	r = cli_open(c);
	if (r != 0)
		goto out;
	if (grounds)
		st = rk_object_grounds(c->reg, argv[1], purpose, evidence);
	else if (purpose != NULL)
		st = rk_object_purpose(c->reg, argv[1], purpose, lift,
				       o.channel,
				       evidence[0] ? evidence : NULL);
	else if (lift)
		st = rk_object_lift(c->reg, argv[1], objection, o.channel,
				    evidence[0] ? evidence : NULL);
	else
		st = rk_object(c->reg, argv[1], objection, o.channel,
			       evidence[0] ? evidence : NULL);
	if (st != RK_OK) {
		r = cli_status(c, st);
		goto out;
	}
	if (c->json) {
		printf("{\"id\": \"%s\", ", argv[1]);
		if (purpose != NULL) {
			printf("\"purpose\": ");
			cli_json_str(stdout, purpose);
		} else {
			printf("\"objection\": ");
			cli_json_str(stdout, objection);
		}
		if (grounds)
			printf(", \"compelling_grounds\": true");
		else
			printf(", \"active\": %s", lift ? "false" : "true");
		printf(", \"notice_version\": %d}\n",
		       rk_register_policy_version(c->reg));
	} else if (grounds) {
		printf("compelling grounds for purpose %s recorded for %s\n",
		       purpose, argv[1]);
	} else if (purpose != NULL) {
		printf("objection to processing for purpose %s %s for %s\n",
		       purpose, lift ? "lifted" : "recorded", argv[1]);
	} else {
		printf("objection %s %s for %s\n", objection,
		       lift ? "lifted" : "recorded", argv[1]);
	}
out:
	explicit_bzero(evidence, sizeof evidence);
	return r;
}

int cmd_may_contact(cli *c, int argc, char **argv)
{
	const char *channel = NULL, *for_whom = NULL, *recipient = NULL;
	const char *category = NULL;
	rk_contact_options o;
	rk_decision d;
	rk_status st;
	int i, r, third_party;

	if (cli_wants_help(argc, argv, may_contact_usage))
		return 0;
	if (argc < 2 || cli_is_option(argv, 1)) {
		fputs(may_contact_usage, stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if ((r = cli_opt(argc, argv, &i, "--channel", &channel)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--for", &for_whom)) != 0 ||
		    (r = cli_opt(argc, argv, &i, "--recipient", &recipient)) !=
			    0 ||
		    (r = cli_opt(argc, argv, &i, "--product-category",
				 &category)) != 0) {
			if (r < 0)
				return cli_error(2, "%s needs a value",
						 argv[i]);
		} else {
			return cli_error(2, "unexpected argument: see "
					    "rekisteri may-contact --help");
		}
	}
	if (channel == NULL)
		return cli_error(2, "may-contact needs --channel "
				    "email|sms|phone|post|automated_call");
	if (for_whom == NULL || strcmp(for_whom, "own") == 0)
		third_party = 0;
	else if (strcmp(for_whom, "third-party") == 0)
		third_party = 1;
	else
		return cli_error(2, "--for is own or third-party");
	r = cli_open(c);
	if (r != 0)
		return r;
	memset(&o, 0, sizeof o);
	o.channel = channel;
	o.third_party = third_party;
	o.recipient = recipient;
	o.product_category = category;
	st = rk_may_contact_ex(c->reg, argv[1], &o, &d);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json) {
		printf("{\"allowed\": %s, \"rule\": ",
		       d.allowed ? "true" : "false");
		cli_json_str(stdout, d.rule);
		printf(", \"law\": ");
		cli_json_str(stdout, d.law);
		printf(", \"condition\": ");
		cli_json_str(stdout, d.condition);
		puts("}");
	} else {
		printf("%s: %s\n", d.allowed ? "yes" : "no", d.rule);
		if (d.law[0])
			printf("law: %s\n", d.law);
		if (d.condition[0])
			printf("condition: %s\n", d.condition);
	}
	/* "No" is the policy refusing the contact. */
	return d.allowed ? 0 : (int)RK_EREFUSED;
}

/* The longest cookie or device identifier read from standard input. */
#define COOKIE_MAX 200

static int cookie_link(cli *c, int argc, char **argv)
{
	char buf[COOKIE_MAX + 2];
	const char *cookie;
	rk_status st;
	int r;

	if (argc != 4 || cli_is_option(argv, 2) || cli_is_option(argv, 3))
		return cli_error(2, "usage: rekisteri cookie link ID "
				    "COOKIE_ID|-");
	r = cli_open(c);
	if (r != 0)
		return r;
	cookie = argv[3];
	/* "-": read from standard input, never seen in the process list. */
	if (strcmp(cookie, "-") == 0) {
		r = cli_read_line(buf, sizeof buf, "cookie link");
		if (r != 0)
			return r;
		cookie = buf;
	}
	st = rk_cookie_link(c->reg, argv[2], cookie);
	explicit_bzero(buf, sizeof buf);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		printf("{\"id\": \"%s\", \"linked\": true}\n", argv[2]);
	else
		printf("identifier linked to %s\n", argv[2]);
	return 0;
}

static int cookie_reset(cli *c, int argc, char **argv)
{
	int64_t n = 0, m = 0;
	rk_status st;
	int r;

	if (argc != 3 || cli_is_option(argv, 2))
		return cli_error(2, "usage: rekisteri cookie reset ID");
	r = cli_open(c);
	if (r != 0)
		return r;
	st = rk_cookie_reset_ex(c->reg, argv[2], &n, &m);
	if (st != RK_OK)
		return cli_status(c, st);
	if (c->json)
		printf("{\"id\": \"%s\", \"unlinked\": %" PRId64
		       ", \"deleted_records\": %" PRId64 "}\n",
		       argv[2], n, m);
	else
		printf("unlinked %" PRId64 " identifier%s, deleted %" PRId64
		       " record%s of %s\n",
		       n, n == 1 ? "" : "s", m, m == 1 ? "" : "s", argv[2]);
	return 0;
}

int cmd_cookie(cli *c, int argc, char **argv)
{
	static const cli_sub subs[] = {{"link", cookie_link, NULL, 0},
				       {"reset", cookie_reset, NULL, 0},
				       {NULL, NULL, NULL, 0}};

	return cli_subverb(c, argc, argv, subs, cookie_usage);
}
