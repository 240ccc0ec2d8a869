/*
 * main.c - aivenctl: the admin CLI of aivenauth.
 *
 * Global options come before the command (and are also accepted among the
 * command's own options); the command is looked up in the table below,
 * from which the usage text is generated too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "aivenctl.h"
#include "ops.h"

struct globals g;

static int cmd_help(int argc, char *argv[]);
static int cmd_version(int argc, char *argv[]);

static const struct command commands[] = {
	{ "sync", cmd_sync, "[--prometheus FILE]",
	  "fetch users and tokens from the API into the cache" },
	{ "status", cmd_status, "[--prometheus [FILE]]",
	  "show the cache and whether it is fresh" },
	{ "user", cmd_user, NULL,
	  "list, create or delete application users" },
	{ "token", cmd_token, NULL,
	  "create, add, list, revoke or rotate tokens" },
	{ "inspect", cmd_inspect, "PREFIX",
	  "show everything the cache knows about one token" },
	{ "verify", cmd_verify,
	  "USER [--rhost IP] [--service NAME] [--scope S]\n"
	  "[--user-match name|id|email|any]",
	  "decide on a token read from stdin" },
	{ "audit", cmd_audit, "[--unused-days N] [--rotation-days N]",
	  "check tokens and users against best practices" },
	{ "doctor", cmd_doctor, "[--offline] [--root DIR]",
	  "check this host's installation end to end" },
	{ "fleet", cmd_fleet, NULL,
	  "fleet mode: key pair, status" },
	{ "follow", cmd_follow, "[--once]",
	  "fleet follower: apply what the publisher signed, from etcd" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "", "print this help" },
	{ NULL, NULL, NULL, NULL },
};

static const char exit_codes[] =
    "Exit codes:\n"
    "   0  success (verify: accepted; status: cache fresh)\n"
    "   1  verify: the token was denied; audit: findings; doctor: a check\n"
    "      failed\n"
    "  64  EX_USAGE        bad usage\n"
    "  65  EX_DATAERR      bad input (stdin is not a token, token of another\n"
    "                      user, request rejected by the API)\n"
    "  66  EX_NOINPUT      no such token or user (cache or API)\n"
    "  69  EX_UNAVAILABLE  cache missing, corrupt or stale\n"
    "  70  EX_SOFTWARE     internal error\n"
    "  71  EX_OSERR        out of memory\n"
    "  74  EX_IOERR        I/O error, cache full\n"
    "  75  EX_TEMPFAIL     network error, timeout, HTTP 429 or 5xx: retry\n"
    "  76  EX_PROTOCOL     invalid or oversized API response\n"
    "  77  EX_NOPERM       HTTP 401/403, permission denied, unsafe file mode\n"
    "  78  EX_CONFIG       configuration error, no admin token\n";

bool
global_opt(int c, const char *arg)
{
	switch (c) {
	case 'c':
		g.config = arg;
		return true;
	case 'v':
		g.verbose++;
		return true;
	case GLOBAL_OPT_JSON:
		g.json = true;
		return true;
	default:
		return false;
	}
}

void
usage_line(FILE *fp, const char *prefix, const struct command *c)
{
	const char *p;
	int indent;

	/* A '\n' in the synopsis continues under the first argument. */
	indent = fprintf(fp, "  %s %s%s%s%s", PROG_NAME,
	    prefix != NULL ? prefix : "", prefix != NULL ? " " : "", c->name,
	    c->synopsis[0] != '\0' ? " " : "");
	if (indent < 0)
		indent = 0;
	for (p = c->synopsis; *p != '\0'; p++) {
		if (*p == '\n')
			fprintf(fp, "\n%*s", indent, "");
		else
			fputc(*p, fp);
	}
	fputc('\n', fp);
}

/* The table of a command that has subcommands (synopsis NULL). */
static const struct command *
sub_table(const char *name)
{
	if (strcmp(name, "user") == 0)
		return user_commands;
	if (strcmp(name, "fleet") == 0)
		return fleet_commands;
	return token_commands;
}

static void
usage(FILE *fp)
{
	const struct command *c, *s;

	fprintf(fp, "usage: %s [-c FILE] [--json] [-v] COMMAND [ARGS...]\n\n"
	    "Commands:\n", PROG_NAME);
	for (c = commands; c->name != NULL; c++) {
		if (c->synopsis != NULL) {
			fprintf(fp, "  %-14s %s\n", c->name, c->summary);
			continue;
		}
		for (s = sub_table(c->name); s->name != NULL; s++) {
			char name[32];

			snprintf(name, sizeof(name), "%s %s", c->name, s->name);
			fprintf(fp, "  %-14s %s\n", name, s->summary);
		}
	}
	fprintf(fp, "\nSynopsis:\n");
	for (c = commands; c->name != NULL; c++) {
		if (c->synopsis != NULL) {
			if (strcmp(c->name, "help") != 0 &&
			    strcmp(c->name, "version") != 0)
				usage_line(fp, NULL, c);
			continue;
		}
		for (s = sub_table(c->name); s->name != NULL; s++)
			usage_line(fp, c->name, s);
	}
	fprintf(fp, "\nGlobal options (before or after the command):\n"
	    "  -c, --config FILE  config file (default $AIVENAUTH_CONFIG or\n"
	    "                     " AIVENAUTH_SYSCONFDIR "/aivenauth/aivenauth.conf)\n"
	    "  --json             JSON output (4-space indent, sorted keys)\n"
	    "  -v, --verbose      also notices (-vv: info and debug)\n"
	    "  -h, --help         this help;  --version  the version\n"
	    "\nThe admin API token comes from $AIVEN_AUTH_TOKEN or the config's\n"
	    "api_token_file, never from the command line.  Tokens to add or\n"
	    "verify are read from stdin.\n\n%s", exit_codes);
}

int
usage_of(const char *path)
{
	usage_print(stderr, path);
	return EX_USAGE;
}

void
usage_print(FILE *fp, const char *path)
{
	const struct command *c, *table = commands;
	const char *prefix = NULL, *name = path, *sp = strchr(path, ' ');
	char head[16];

	if (sp != NULL && (size_t)(sp - path) < sizeof(head)) {
		memcpy(head, path, (size_t)(sp - path));
		head[sp - path] = '\0';
		prefix = strcmp(head, "user") == 0 ? "user" :
		    strcmp(head, "fleet") == 0 ? "fleet" : "token";
		table = sub_table(head);
		name = sp + 1;
	}
	for (c = table; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0 && c->synopsis != NULL) {
			fprintf(fp, "usage:\n");
			usage_line(fp, prefix, c);
			break;
		}
}

int
dispatch(const struct command *table, const char *prefix, int argc,
    char *argv[])
{
	const struct command *c;

	if (argc < 1) {
		ctl_err("missing command%s%s", prefix != NULL ? " after " : "",
		    prefix != NULL ? prefix : "");
		fprintf(stderr, "usage:\n");
		for (c = table; c->name != NULL; c++)
			if (c->synopsis != NULL)
				usage_line(stderr, prefix, c);
		return EX_USAGE;
	}
	for (c = table; c->name != NULL; c++)
		if (strcmp(c->name, argv[0]) == 0) {
			static char path[64];
			char mine[64];
			int rc;

			snprintf(path, sizeof(path), "%s%s%s", prefix != NULL ?
			    prefix : "", prefix != NULL ? " " : "", c->name);
			memcpy(mine, path, sizeof(mine));
			ctl_command = path;
			optind = 0;     /* each subcommand restarts getopt */
			rc = c->fn(argc, argv);
			/* Only at the level that named the full command. */
			return strcmp(mine, path) == 0 ?
			    fleet_after_command(mine, rc) : rc;
		}
	ctl_err("unknown command '%s%s%s'", prefix != NULL ? prefix : "",
	    prefix != NULL ? " " : "", argv[0]);
	if (prefix == NULL) {
		usage(stderr);
	} else {
		fprintf(stderr, "usage:\n");
		for (c = table; c->name != NULL; c++)
			usage_line(stderr, prefix, c);
	}
	return EX_USAGE;
}

int
opt_error(const char *path, char *argv[])
{
	if (optopt != 0)
		ctl_err("%s: unknown option or missing argument: -%c", path,
		    optopt);
	else
		ctl_err("%s: unknown option or missing argument: %s", path,
		    argv[optind - 1]);
	return usage_of(path);
}

int
parse_no_opts(const char *path, int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		if (c == 'h') {
			usage_print(stdout, path);
			return 0;
		}
		return opt_error(path, argv);
	}
	return -1;
}

static int
cmd_help(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

static int
cmd_version(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	if (g.json) {
		json_t *o = json_pack("{s:s, s:s}", "version",
		    AIVENAUTH_VERSION_STRING, "library_version",
		    aivenauth_version());

		int rc = json_print(o);

		json_decref(o);
		return rc;
	}
	printf("%s %s (libaivenauth %s)\n", PROG_NAME,
	    AIVENAUTH_VERSION_STRING, aivenauth_version());
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct rlimit nocore = { 0, 0 };
	int c, rc;

	/* aivenctl holds the admin token and the tokens it creates or reads:
	 * no core file, no ptrace or /proc/PID/mem by other processes of the
	 * same user. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	json_init_alloc();
	opterr = 1;
	/* '+': stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+" GLOBAL_SHORTOPTS "h",
	    longopts, NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return cmd_version(0, NULL);
		default:
			fprintf(stderr, "see `%s --help`\n", PROG_NAME);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	argc -= optind;
	argv += optind;
	opterr = 0;     /* subcommands report bad options themselves */
	rc = dispatch(commands, NULL, argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_err("cannot write to stdout");
		if (rc == 0)
			rc = EX_IOERR;
	}
	return rc;
}
