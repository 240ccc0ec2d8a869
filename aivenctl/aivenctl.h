/*
 * aivenctl.h - shared declarations of the aivenctl admin CLI.
 *
 * aivenctl uses only the public API of libaivenauth (aivenauth.h).  Each
 * subcommand lives in cmd_<name>.c and returns a sysexits(3) exit code.
 */
#ifndef AIVENCTL_H
#define AIVENCTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <getopt.h>
#include <sysexits.h>

#include <jansson.h>

#include "aivenauth.h"

#define PROG_NAME "aivenctl"

/* Exit code of `verify` when the token was refused. */
#define EXIT_DENIED 1

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Global options: before the command, or after it among its own options. */
struct globals {
	const char *config;   /* -c FILE, --config FILE */
	bool json;            /* --json */
	int verbose;          /* -v, -vv */
};
extern struct globals g;

/*
 * Long options every subcommand accepts next to its own; short "c:v".
 * GLOBAL_OPT_JSON is the value of --json.
 */
#define GLOBAL_OPT_JSON 0x100
#define GLOBAL_SHORTOPTS "c:v"
#define GLOBAL_LONGOPTS \
	{ "config", required_argument, NULL, 'c' }, \
	{ "json", no_argument, NULL, GLOBAL_OPT_JSON }, \
	{ "verbose", no_argument, NULL, 'v' }
/* Apply a global option seen by a subcommand's getopt_long; false if c is
 * not one. */
bool global_opt(int c, const char *arg);

/* What a command needs around it in fleet mode (commands.c says which
 * command has which; fleet_hooks.c does it). */
#define CMD_ADMIN     0x1   /* needs the admin token: refused on a follower */
#define CMD_PUBLISHES 0x2   /* changes what the fleet sees: on a publisher,
                               leader key first, publish after */

/* A command table entry (commands.c). */
struct command {
	const char *name;
	int (*fn)(int argc, char *argv[]);     /* NULL when sub is set */
	const char *synopsis;   /* arguments, as in the man page (sub: NULL) */
	const char *summary;
	const struct command *sub;             /* its subcommands */
	unsigned flags;                        /* CMD_* */
	/* For --help: one line per option or operand, its meaning and its
	 * default; NULL if it has none of its own. */
	const char *options;
};
extern const struct command ctl_commands[];

/* cli.c: what runs around a command, without the command knowing. */
struct cli_hooks {
	/* When the command makes its context (ctl_ctx_new): 0 to go on,
	 * else the exit code. */
	int (*before)(struct aivenauth_ctx *ctx, const struct command *c,
	    const char *path);
	/* When it returned rc: the exit code. */
	int (*after)(const struct command *c, const char *path, int rc);
};
extern const struct cli_hooks fleet_hooks;    /* fleet_hooks.c */
/* Parse the global options, run the command argv names from table with
 * hooks around it; the exit code. */
int cli_run(const struct command *table, const struct cli_hooks *hooks,
    int argc, char *argv[]);
/* The before hook of the command being run (util.c, ctl_ctx_new). */
int cli_before(struct aivenauth_ctx *ctx);
void usage_line(FILE *fp, const char *prefix, const struct command *c);
/* Print "usage: aivenctl PREFIX SYNOPSIS" of the named command and return
 * EX_USAGE. */
int usage_of(const char *path);
/* The same usage on fp, for -h. */
void usage_print(FILE *fp, const char *path);
/* Report a bad option (getopt '?') of command path; returns EX_USAGE. */
int opt_error(const char *path, char *argv[]);
/* Parse a command that has only the global options: -1 = go on with the
 * operands at argv[optind..], else the exit code (0 after -h). */
int parse_no_opts(const char *path, int argc, char *argv[]);

/* Commands. */
int cmd_sync(int argc, char *argv[]);
int cmd_status(int argc, char *argv[]);
int cmd_user_list(int argc, char *argv[]);
int cmd_user_create(int argc, char *argv[]);
int cmd_user_delete(int argc, char *argv[]);
int cmd_token_create(int argc, char *argv[]);
int cmd_token_add(int argc, char *argv[]);
int cmd_token_list(int argc, char *argv[]);
int cmd_token_revoke(int argc, char *argv[]);
int cmd_token_rotate(int argc, char *argv[]);
int cmd_inspect(int argc, char *argv[]);
int cmd_verify(int argc, char *argv[]);
int cmd_fleet_keygen(int argc, char *argv[]);
int cmd_fleet_status(int argc, char *argv[]);
int cmd_fleet_resign(int argc, char *argv[]);
int cmd_follow(int argc, char *argv[]);
int cmd_version(int argc, char *argv[]);
int cmd_help(int argc, char *argv[]);

/* overflow_named.c: the revocations the journal's overflow mark names,
 * one line each on out (after indent); returns how many. */
size_t ctl_overflow_named(struct aivenauth_ctx *ctx, FILE *out,
    const char *indent);
/* The same as one "token P of U, ..." string in buf ("" if none). */
const char *ctl_overflow_named_str(struct aivenauth_ctx *ctx, char *buf,
    size_t len);
/* msg.c: "aivenctl: ..." on stderr. */
void ctl_err(const char *fmt, ...) PRINTF_LIKE(1, 2);
void ctl_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void ctl_note(const char *fmt, ...) PRINTF_LIKE(1, 2);   /* with -v */
void ctl_log(void *arg, int level, const char *msg);
int ctl_log_level(void);
/* Number of LOG_ERR (or worse) messages the library has logged so far. */
unsigned ctl_log_errors(void);    /* LOG_WARNING, LOG_INFO (-v), LOG_DEBUG (-vv) */

/* exitcode.c: the one mapping of library status to exit code. */
int exit_code(enum aivenauth_status st);

/* util.c */
/* New context with the log callback and the config loaded, and the
 * command's before hook run (fleet_hooks.c); on failure prints why and
 * returns the exit code (0 = ok). */
int ctl_ctx_new(struct aivenauth_ctx **ctxp);
/* The same without the hook: a context a hook itself needs. */
int ctl_ctx_plain(struct aivenauth_ctx **ctxp);
/* Open the cache; on failure prints why (naming the cache dir) and returns
 * the exit code. */
int ctl_cache_open(struct aivenauth_ctx *ctx, unsigned flags);
/* RFC 3339 UTC "YYYY-MM-DDThh:mm:ssZ", or "null" for 0. */
const char *fmt_time(int64_t t, char buf[static 32]);
/* Items joined by ", " ("" for none); malloc'd, NULL on no memory. */
char *join_list(char *const *items, size_t n);
bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Token state: active, expired, revoking@TIME, revoked (here, or deleted
 * at the API: the word verify and PAM use). */
const char *token_state(const struct aivenauth_token *t, int64_t now,
    char buf[static 64]);
/* Who revoked it: "api" (no longer listed: deleted in the console, by
 * another tool...), "aivenctl" (token revoke / rotate here), NULL if not
 * revoked. */
const char *token_revoked_by(const struct aivenauth_token *t, int64_t now);
/* unconfirmed.c: tokens revoked here that the API still listed at the
 * last sync (their DELETE not yet confirmed); *oldest is when the oldest
 * was revoked (0 if none or unknown). */
enum aivenauth_status unconfirmed_revocations(struct aivenauth_ctx *ctx,
    size_t *count, int64_t *oldest);
/* Split "USER_ID PREFIX" or "ORG_ID/USER_ID/PREFIX" arguments.  Returns
 * 0 or an exit code (message printed).  *user and *prefix point into
 * malloc'd *store (free it). */
/* A token prefix argument of sane length (else refused, not echoed). */
bool prefix_arg_ok(const char *p);
int parse_token_id(struct aivenauth_ctx *ctx, int nargs, char *args[],
    char **store, const char **user, const char **prefix);
/* String or "null" for display. */
static inline const char *
nn(const char *s)
{
	return s != NULL ? s : "null";
}

/* visible.c: text for a terminal.  Control characters, DEL, invalid
 * UTF-8 (\xHH), C1 controls and bidi overrides (\uHHHH) and backslash (\\)
 * rendered visibly; every text output of API-supplied strings goes through
 * these (JSON output does not: jansson escapes it). */
char *visible_dup(const char *s);    /* malloc'd, NULL on no memory */
void fput_visible(const char *s, FILE *fp);
/* printf, rendered (a newline in the result is shown as \x0a: print it
 * apart). */
void print_kv(const char *k, const char *fmt, ...) PRINTF_LIKE(2, 3);
void print_visible(FILE *fp, const char *fmt, ...) PRINTF_LIKE(2, 3);
void vprint_visible(FILE *fp, const char *fmt, va_list ap)
    PRINTF_LIKE(2, 0);

/* table.c: avn-style table (cells rendered by visible_dup). */
struct table;
struct table *table_new(size_t ncols, const char *const headers[]);
/* Copies the cells; NULL prints "null".  false on no memory. */
bool table_add(struct table *t, const char *const cells[]);
void table_print(const struct table *t, FILE *fp);
void table_free(struct table *t);

/* jsonout.c */
/* Make jansson wipe what it frees (it may hold a token). */
void json_init_alloc(void);
/* Print pretty (4-space indent, sorted keys) with a newline; 0 or
 * EX_IOERR/EX_OSERR. Goes through a wiped buffer, not stdio. */
int json_print(json_t *v);
json_t *json_str(const char *s);          /* null for NULL */
json_t *json_time(int64_t t);             /* RFC 3339 string, null for 0 */
json_t *json_int_or_null(int64_t v);      /* null for 0 */
json_t *json_strv(char *const *v, size_t n);
json_t *json_user(const struct aivenauth_user *u);
json_t *json_token(const struct aivenauth_token *t, int64_t now);
/* key: value lines for one token (inspect, rotate). */
void print_token_details(const struct aivenauth_token *t, int64_t now);
/* Write all bytes to fd 1; false on error. */
bool write_stdout(const char *p, size_t len);

/* secret.c */
#define SECRET_READ_MAX (64 * 1024)
/* Read a token from stdin (no echo on a terminal; one trailing newline
 * stripped).  Returns 0 or an exit code (message printed).  Release with
 * secret_free(). */
int secret_read(char **buf, size_t *len);
void secret_free(char *buf, size_t len);
void secret_wipe(void *p, size_t len);

/* cmd_token_create.c: create through the API, store the hash, print the
 * token once.  extra (may be NULL, stolen) adds JSON keys.  *stored says
 * whether the hash reached the cache.  Returns 0 or an exit code; when the
 * API refused nothing was printed. */
int token_mint(struct aivenauth_ctx *ctx, const char *user_id,
    const struct aivenauth_token_spec *spec, json_t *extra, bool *created,
    char **prefix_out);
/* cmd_token_revoke.c: revoke locally now, then at the API; prints what
 * failed.  *local / *api say what was done; *gone that the API no longer
 * had a token this host knows (404: already revoked there, success).
 * Returns 0 or an exit code. */
/* sigbus.c: a message instead of "Bus error" (a full copy-on-write disk);
 * note: what the command had made durable by then (a literal). */
void sigbus_install(void);
void sigbus_note(const char *msg);
int token_revoke_now(struct aivenauth_ctx *ctx, const char *user_id,
    const char *prefix, bool *local, bool *api, bool *gone);

#endif /* AIVENCTL_H */
