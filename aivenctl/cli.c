/*
 * cli.c - the command line around the commands: global options, the
 * dispatch through the command table (commands.c, handed over by main()),
 * the usage text generated from it, and the hooks that run around a
 * command (fleet_hooks.c) without the commands knowing.
 *
 * Global options come before the command, and are also accepted among the
 * command's own options.  Nothing here names a command: the table is data,
 * so the commands depend on this file and never the reverse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aivenctl.h"
#include "base/suggest.h"

struct globals g;

static const struct command *top;         /* the table main() runs */
static const struct cli_hooks *hooks;
static const struct command *current;     /* the command being run */
static char current_path[64];             /* "token create" */

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

static void
usage(FILE *fp)
{
	const struct command *c, *s;

	fprintf(fp, "usage: %s [-c FILE] [--json] [-v] COMMAND [ARGS...]\n\n"
	    "Commands:\n", PROG_NAME);
	for (c = top; c->name != NULL; c++) {
		if (c->sub == NULL) {
			fprintf(fp, "  %-14s %s\n", c->name, c->summary);
			continue;
		}
		for (s = c->sub; s->name != NULL; s++) {
			char name[32];

			snprintf(name, sizeof(name), "%s %s", c->name, s->name);
			fprintf(fp, "  %-14s %s\n", name, s->summary);
		}
	}
	fprintf(fp, "\nSynopsis:\n");
	for (c = top; c->name != NULL; c++) {
		if (c->sub == NULL) {
			if (c->synopsis[0] != '\0')
				usage_line(fp, NULL, c);
			continue;
		}
		for (s = c->sub; s->name != NULL; s++)
			usage_line(fp, c->name, s);
	}
	fprintf(fp, "\nGlobal options (before or after the command):\n"
	    "  -c, --config FILE  config file (default $AIVENAUTH_CONFIG or\n"
	    "                     " AIVENAUTH_SYSCONFDIR "/aivenauth/aivenauth.conf)\n"
	    "  --json             JSON output (4-space indent, sorted keys)\n"
	    "  -v, --verbose      also notices (-vv: info and debug)\n"
	    "  -h, --help         this help;  --version  the version\n"
	    "\n`%s help COMMAND` (or `%s COMMAND --help`) lists a command's\n"
	    "options with their meaning and default.\n"
	    "\nThe admin API token comes from $AIVEN_AUTH_TOKEN or the config's\n"
	    "api_token_file, never from the command line.  Tokens to add or\n"
	    "verify are read from stdin.\n\n%s", PROG_NAME, PROG_NAME,
	    exit_codes);
}

/* The command named by path ("token rotate"), and the name of the group
 * that owns it in *prefix (NULL at the top). */
static const struct command *
find_path(const char *path, const char **prefix)
{
	const struct command *c, *table = top;
	const char *name = path, *sp = strchr(path, ' ');
	char head[16];

	*prefix = NULL;
	if (sp != NULL && (size_t)(sp - path) < sizeof(head)) {
		memcpy(head, path, (size_t)(sp - path));
		head[sp - path] = '\0';
		for (c = top; c->name != NULL; c++)
			if (c->sub != NULL && strcmp(c->name, head) == 0)
				break;
		if (c->name == NULL)
			return NULL;
		*prefix = c->name;
		table = c->sub;
		name = sp + 1;
	}
	for (c = table; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0 && c->sub == NULL)
			return c;
	return NULL;
}

static void
global_options(FILE *fp)
{
	fprintf(fp, "Global options (before or after the command):\n"
	    "  -c, --config FILE  config file (default $AIVENAUTH_CONFIG or\n"
	    "                     " AIVENAUTH_SYSCONFDIR "/aivenauth/aivenauth.conf)\n"
	    "  --json             JSON output (4-space indent, sorted keys)\n"
	    "  -v, --verbose      also notices (-vv: info and debug)\n"
	    "  -h, --help         help\n");
}

/* A bad usage: the synopsis and where the whole help is. */
int
usage_of(const char *path)
{
	const struct command *c;
	const char *prefix;

	if ((c = find_path(path, &prefix)) != NULL) {
		fprintf(stderr, "usage:\n");
		usage_line(stderr, prefix, c);
		fprintf(stderr, "see `%s help %s`\n", PROG_NAME, path);
	}
	return EX_USAGE;
}

/* -h: synopsis, what it does, each option with its meaning and default. */
void
usage_print(FILE *fp, const char *path)
{
	const struct command *c;
	const char *prefix;

	if ((c = find_path(path, &prefix)) == NULL)
		return;
	fprintf(fp, "usage:\n");
	usage_line(fp, prefix, c);
	fprintf(fp, "\n%s%s%s: %s.\n", prefix != NULL ? prefix : "",
	    prefix != NULL ? " " : "", c->name, c->summary);
	if (c->options != NULL)
		fprintf(fp, "\nOptions and arguments:\n%s", c->options);
	fputc('\n', fp);
	global_options(fp);
	fprintf(fp, "\nSee aivenctl(8) for the details and the exit codes.\n");
}

/* The subcommands of a group ("aivenctl token --help"). */
static void
group_help(FILE *fp, const struct command *grp)
{
	const struct command *s;

	fprintf(fp, "usage: %s %s SUBCOMMAND [ARGS...]\n\n%s.\n\n"
	    "Subcommands:\n", PROG_NAME, grp->name, grp->summary);
	for (s = grp->sub; s->name != NULL; s++)
		fprintf(fp, "  %-8s %s\n", s->name, s->summary);
	fprintf(fp, "\nSynopsis:\n");
	for (s = grp->sub; s->name != NULL; s++)
		usage_line(fp, grp->name, s);
	fprintf(fp, "\n`%s help %s SUBCOMMAND` (or `%s %s SUBCOMMAND "
	    "--help`) lists its options.\n", PROG_NAME, grp->name, PROG_NAME,
	    grp->name);
}

static bool
is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 ||
	    strcmp(a, "help") == 0;
}

/* "unknown command" with the nearest command of the table, if close. */
static void
unknown(const struct command *table, const char *prefix, const char *word)
{
	const struct command *c;
	struct suggest sg;
	const char *best;

	suggest_init(&sg, word, strlen(word));
	for (c = table; c->name != NULL; c++)
		suggest_consider(&sg, c->name);
	best = suggest_best(&sg);
	if (best != NULL)
		ctl_err("unknown command '%s%s%s' (did you mean '%s%s%s'?)",
		    prefix != NULL ? prefix : "", prefix != NULL ? " " : "",
		    word, prefix != NULL ? prefix : "", prefix != NULL ? " " :
		    "", best);
	else
		ctl_err("unknown command '%s%s%s'", prefix != NULL ? prefix :
		    "", prefix != NULL ? " " : "", word);
}

/* Run argv[0] from table (prefix: the command that owns the table, for
 * messages and usage), down to the command that does the work. */
static int
dispatch(const struct command *table, const char *prefix, int argc,
    char *argv[])
{
	const struct command *c;
	int rc;

	if (argc < 1) {
		ctl_err("missing command%s%s", prefix != NULL ? " after " : "",
		    prefix != NULL ? prefix : "");
		fprintf(stderr, "usage:\n");
		for (c = table; c->name != NULL; c++)
			if (c->sub == NULL)
				usage_line(stderr, prefix, c);
		return EX_USAGE;
	}
	for (c = table; c->name != NULL; c++) {
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		if (c->sub != NULL && argc >= 2 && is_help(argv[1])) {
			group_help(stdout, c);
			return 0;
		}
		if (c->sub != NULL)
			return dispatch(c->sub, c->name, argc - 1, argv + 1);
		snprintf(current_path, sizeof(current_path), "%s%s%s",
		    prefix != NULL ? prefix : "", prefix != NULL ? " " : "",
		    c->name);
		current = c;
		optind = 0;     /* each command restarts getopt */
		rc = c->fn(argc, argv);
		if (hooks != NULL && hooks->after != NULL)
			rc = hooks->after(c, current_path, rc);
		return rc;
	}
	unknown(table, prefix, argv[0]);
	if (prefix == NULL) {
		fprintf(stderr, "see `%s --help`\n", PROG_NAME);
	} else {
		fprintf(stderr, "usage:\n");
		for (c = table; c->name != NULL; c++)
			usage_line(stderr, prefix, c);
	}
	return EX_USAGE;
}

int
cli_before(struct aivenauth_ctx *ctx)
{
	if (hooks == NULL || hooks->before == NULL || current == NULL)
		return 0;
	return hooks->before(ctx, current, current_path);
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

/* help [COMMAND [SUBCOMMAND]]: the whole help, a group's, a command's. */
int
cmd_help(int argc, char *argv[])
{
	const struct command *c, *s;
	char path[64];
	int i;

	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-' && !is_help(argv[i])) {
			ctl_err("help takes command names, not options");
			return usage_of("help");
		}
	if (argc < 2 || is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	for (c = top; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			break;
	if (c->name == NULL) {
		unknown(top, NULL, argv[1]);
		return EX_USAGE;
	}
	if (c->sub == NULL || argc < 3) {
		if (c->sub != NULL)
			group_help(stdout, c);
		else
			usage_print(stdout, c->name);
		return argc > 3 || (c->sub == NULL && argc > 2) ?
		    (ctl_err("help: too many names"), EX_USAGE) : 0;
	}
	for (s = c->sub; s->name != NULL; s++)
		if (strcmp(s->name, argv[2]) == 0)
			break;
	if (s->name == NULL) {
		unknown(c->sub, c->name, argv[2]);
		return EX_USAGE;
	}
	snprintf(path, sizeof(path), "%s %s", c->name, s->name);
	usage_print(stdout, path);
	return argc > 3 ? (ctl_err("help: too many names"), EX_USAGE) : 0;
}

int
cli_run(const struct command *table, const struct cli_hooks *h, int argc,
    char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	top = table;
	hooks = h;
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
		case 'V': {
			/* The same as the command "version", from the table. */
			char version[] = "version", *v[] = { version, NULL };

			return dispatch(top, NULL, 1, v);
		}
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
	opterr = 0;     /* commands report bad options themselves */
	rc = dispatch(top, NULL, argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_err("cannot write to stdout");
		if (rc == 0)
			rc = EX_IOERR;
	}
	return rc;
}
