/*
 * cmd_audit.c - aivenctl audit [--unused-days N] [--rotation-days N]:
 * best practices, checked from the cache (the API's metadata as of the
 * last sync), one line per finding with what to do about it.
 *
 *   unused           a token the API has not seen used for N days (its
 *                    last_used_time; never, and created N days ago).
 *                    Logins through aivenauth never reach the API and
 *                    never move it: a token used here all day looks
 *                    unused.  So the finding says where "last used"
 *                    comes from, and its fix is to ask, not to revoke.
 *   no-expiry        a token that never expires (no max_age_seconds)
 *   no-ip-allowlist  a token usable from any address
 *   old              a token older than the rotation age - rotate it
 *   no-tokens        an application user without a live token
 *   duplicate        more than one live token of a user with the same
 *                    description (purpose): one token per purpose
 *   map-unknown-user a line of the local account map names an
 *                    application user the cache does not know
 *   map-empty-glob   a glob of the map matches no application user
 *   map-root         the map lets application users log in as uid 0
 *   map-ambiguous-name  an entry by exact name that several application
 *                    users hold (names are display names): logins by it
 *                    are refused; the finding names the ids to list
 *   map-invalid      the map is unsafe or does not parse (nobody can
 *                    log in through user_match=map)
 *
 * Only live tokens count: revoked, removed, expired and scheduled-for-
 * revocation ones can no longer log in.  The token `aivenctl sync` itself
 * uses (recorded by the last good sync, or read here when this process
 * can) is marked, and no fix tells anyone to revoke it: that would stop
 * every sync.  Exit 0: no findings; 1: findings;
 * otherwise a sysexits code.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mapcheck.h"
#include "ops.h"

#define DAY INT64_C(86400)

struct audit {
	int64_t now;
	int64_t unused_days;
	int64_t rotation_days;
	size_t findings;
	json_t *json;          /* array of findings with --json */
	bool nomem;
	char sync_prefix[AIVENAUTH_PREFIX_MAX + 1];  /* "" if unknown */
};

#define LAST_USED_SOURCE "the API's last_used_time, which logins through " \
	"aivenauth (pam_aiven, aivenctl verify) never move"

static bool
is_sync_token(const struct audit *a, const struct aivenauth_token *t)
{
	return a->sync_prefix[0] != '\0' && t->prefix != NULL &&
	    strcmp(t->prefix, a->sync_prefix) == 0;
}

static bool
live(const struct aivenauth_token *t, int64_t now)
{
	int64_t exp = aivenauth_token_expiry(t);

	return t->removed_time == 0 && !t->revoked && t->revoke_at == 0 &&
	    (exp == 0 || exp > now);
}

static void finding(struct audit *a, const char *check,
    const struct aivenauth_user *u, const struct aivenauth_token *t,
    const char *fix, const char *fmt, ...) PRINTF_LIKE(6, 7);

static void
finding(struct audit *a, const char *check, const struct aivenauth_user *u,
    const struct aivenauth_token *t, const char *fix, const char *fmt, ...)
{
	char msg[512];
	const char *uid = u != NULL ? u->user_id : t->user_id;
	const char *uname = u != NULL ? u->name : t->user_name;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->findings++;
	if (a->json != NULL) {
		json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:b, s:s, s:s}",
		    "check", check, "user_id", json_str(uid),
		    "user_name", json_str(uname),
		    "prefix", json_str(t != NULL ? t->prefix : NULL),
		    "sync_token", t != NULL && is_sync_token(a, t),
		    "message", msg, "fix", fix);

		if (o == NULL || json_array_append_new(a->json, o) != 0)
			a->nomem = true;
		return;
	}
	if (t != NULL)
		print_visible(stdout, "%-16s token %s of %s (%s)%s: %s; fix: %s",
		    check, t->prefix, nn(uname), nn(uid), is_sync_token(a, t) ?
		    " [the sync's own admin token]" : "", msg, fix);
	else
		print_visible(stdout, "%-16s user %s (%s): %s; fix: %s", check,
		    nn(uname), nn(uid), msg, fix);
	putchar('\n');
}

static void
audit_token(struct audit *a, const struct aivenauth_token *t)
{
	char fix[512], tb[32];
	bool sync = is_sync_token(a, t);
	int64_t days;

	if (a->unused_days > 0) {
		/* Never "revoke it" on this alone: the API does not see the
		 * logins this product decides. */
		if (sync)
			snprintf(fix, sizeof(fix), "keep it: aivenctl sync "
			    "authenticates with it (api_token_file)");
		else
			snprintf(fix, sizeof(fix), "ask who uses it before "
			    "revoking: logins through this product do not "
			    "count in last_used_time");
		if (t->last_used_time != 0) {
			days = (a->now - t->last_used_time) / DAY;
			if (days >= a->unused_days)
				finding(a, "unused", NULL, t, fix,
				    "no use seen by the API for %lld days "
				    "(last used %s, from %s)", (long long)days,
				    fmt_time(t->last_used_time, tb),
				    LAST_USED_SOURCE);
		} else if (t->create_time != 0) {
			days = (a->now - t->create_time) / DAY;
			if (days >= a->unused_days)
				finding(a, "unused", NULL, t, fix,
				    "no use seen by the API since it was "
				    "created %lld days ago (from %s)",
				    (long long)days, LAST_USED_SOURCE);
		}
	}
	if (sync) {
		/* Replacing the sync's token is the fix, never revoking it
		 * first: the sync would stop. */
		if (t->expiry_time == 0 && t->max_age_seconds == 0)
			finding(a, "no-expiry", NULL, t, "create a replacement "
			    "with --max-age-seconds N --extend-when-used, put it "
			    "in api_token_file and sync with it before this one "
			    "goes", "never expires");
		if (t->n_ip_allowlist == 0)
			finding(a, "no-ip-allowlist", NULL, t, "create a "
			    "replacement with --ip-allowlist CIDR of the hosts "
			    "that sync, put it in api_token_file and sync with "
			    "it before this one goes", "usable from any address");
		if (a->rotation_days > 0 && t->create_time != 0 &&
		    (days = (a->now - t->create_time) / DAY) >=
		    a->rotation_days)
			finding(a, "old", NULL, t, "create a replacement, put it "
			    "in api_token_file and sync with it before this one "
			    "goes (token rotate would revoke the sync's token)",
			    "created %lld days ago (%s), rotation age is %lld "
			    "days", (long long)days, fmt_time(t->create_time,
			    tb), (long long)a->rotation_days);
		return;
	}
	if (t->expiry_time == 0 && t->max_age_seconds == 0) {
		snprintf(fix, sizeof(fix), "create a replacement with "
		    "--max-age-seconds N [--extend-when-used], then aivenctl "
		    "token revoke %s %s", t->user_id, t->prefix);
		finding(a, "no-expiry", NULL, t, fix, "never expires");
	}
	if (t->n_ip_allowlist == 0) {
		snprintf(fix, sizeof(fix), "create a replacement with "
		    "--ip-allowlist CIDR for the addresses that use it, then "
		    "aivenctl token revoke %s %s", t->user_id, t->prefix);
		finding(a, "no-ip-allowlist", NULL, t, fix,
		    "usable from any address");
	}
	if (a->rotation_days > 0 && t->create_time != 0) {
		days = (a->now - t->create_time) / DAY;
		if (days >= a->rotation_days) {
			snprintf(fix, sizeof(fix), "aivenctl token rotate %s %s "
			    "--grace 86400", t->user_id, t->prefix);
			finding(a, "old", NULL, t, fix,
			    "created %lld days ago (%s), rotation age is %lld "
			    "days", (long long)days,
			    fmt_time(t->create_time, tb),
			    (long long)a->rotation_days);
		}
	}
}

struct map_audit {
	struct audit *a;
	const char *path;
};

static void
map_finding(void *arg, enum mapcheck_kind kind,
    const struct aivenauth_account_entry *e, const char *entry,
    const char *msg)
{
	struct map_audit *ma = arg;
	struct audit *a = ma->a;
	char fix[512];

	if (kind == MAPCHECK_ROOT)
		snprintf(fix, sizeof(fix), "keep root's line only for "
		    "break-glass users, with from= and scope=; remove it "
		    "otherwise (%s:%u)", ma->path, e->line);
	else if (kind == MAPCHECK_AMBIGUOUS)
		snprintf(fix, sizeof(fix), "replace \"%s\" on %s:%u by the "
		    "u-id of the application user meant (aivenctl user list "
		    "shows the ids)", entry, ma->path, e->line);
	else
		snprintf(fix, sizeof(fix), "correct or remove \"%s\" on "
		    "%s:%u, then aivenctl sync if the user is new", entry,
		    ma->path, e->line);
	a->findings++;
	if (a->json != NULL) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:o, s:s, s:s}",
		    "check", mapcheck_name(kind), "account_map", ma->path,
		    "account", e->account, "line", (int)e->line,
		    "entry", json_str(entry), "message", msg, "fix", fix);

		if (o == NULL || json_array_append_new(a->json, o) != 0)
			a->nomem = true;
		return;
	}
	print_visible(stdout, "%-16s account map %s: %s; fix: %s",
	    mapcheck_name(kind), ma->path, msg, fix);
	putchar('\n');
}

/* The local account map: lines naming unknown users, root lines.  No
 * map is no finding (user_match=map is opt-in). */
static void
audit_map(struct audit *a, struct aivenauth_ctx *ctx,
    const struct aivenauth_user *u, size_t nu)
{
	struct map_audit ma = { a, aivenauth_config_get(ctx, "account_map_file") };
	struct aivenauth_account_map *m = NULL;
	enum aivenauth_status st;

	st = aivenauth_account_map_load(ctx, NULL, &m);
	if (st == AIVENAUTH_ERR_NOT_FOUND)
		return;
	if (st != AIVENAUTH_OK) {
		char fix[512], msg[256];

		snprintf(fix, sizeof(fix), "correct %s (the error above names "
		    "the line and column); aivenctl doctor checks it too",
		    ma.path);
		snprintf(msg, sizeof(msg), "cannot be used: %s; user_match=map "
		    "refuses every login", aivenauth_strerror(st));
		a->findings++;
		if (a->json != NULL) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "check",
			    "map-invalid", "account_map", ma.path, "message",
			    msg, "fix", fix);

			if (o == NULL || json_array_append_new(a->json, o) != 0)
				a->nomem = true;
		} else {
			print_visible(stdout, "%-16s account map %s: %s; fix: %s",
			    "map-invalid", ma.path, msg, fix);
			putchar('\n');
		}
		return;
	}
	mapcheck_run(m, u, nu, map_finding, &ma);
	aivenauth_account_map_free(m);
}

/* Tokens of user u (t[] is sorted by prefix, not by user). */
static void
audit_user(struct audit *a, const struct aivenauth_user *u,
    const struct aivenauth_token *t, size_t n)
{
	char fix[512];
	size_t i, j, count = 0;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].user_id, u->user_id) == 0 && live(&t[i], a->now))
			count++;
	if (count == 0) {
		snprintf(fix, sizeof(fix), "delete the user if nothing uses "
		    "it: aivenctl user delete %s", u->user_id);
		finding(a, "no-tokens", u, NULL, fix, "has no live token");
		return;
	}
	/* One line per description shared by more than one live token,
	 * at its first token; the others are listed in the message. */
	for (i = 0; i < n; i++) {
		const char *d = t[i].description != NULL ? t[i].description : "";
		char others[320] = "";
		size_t dup = 0, len = 0;
		bool first = true;

		if (strcmp(t[i].user_id, u->user_id) != 0 || !live(&t[i], a->now))
			continue;
		for (j = 0; j < n; j++) {
			const char *e = t[j].description != NULL ?
			    t[j].description : "";

			if (j == i || strcmp(t[j].user_id, u->user_id) != 0 ||
			    !live(&t[j], a->now) || strcmp(d, e) != 0)
				continue;
			if (j < i)
				first = false;
			dup++;
			if (len < sizeof(others)) {
				int w = snprintf(others + len,
				    sizeof(others) - len, "%s%s",
				    len != 0 ? " " : "", t[j].prefix);

				len += w > 0 ? (size_t)w : 0;
			}
		}
		if (dup == 0 || !first)
			continue;
		snprintf(fix, sizeof(fix), "one token per purpose: keep the "
		    "newest, revoke the others (aivenctl token revoke %s "
		    "PREFIX), or give each a description", u->user_id);
		finding(a, "duplicate", u, &t[i], fix,
		    "%zu live tokens share the description \"%s\" (also %s)",
		    dup + 1, d, others);
	}
}

int
cmd_audit(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "rotation-days", required_argument, NULL, 'r' },
		{ "unused-days", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct audit a = { .unused_days = 90, .rotation_days = 365 };
	struct aivenauth_user *u = NULL;
	struct aivenauth_token *t = NULL;
	struct aivenauth_ctx *ctx = NULL;
	enum aivenauth_status st;
	size_t nu = 0, nt = 0, i, live_tokens = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage_print(stdout, "audit");
			return 0;
		case 'r':
		case 'u':
			if (!parse_i64(optarg, 0, 36500, c == 'r' ?
			    &a.rotation_days : &a.unused_days)) {
				ctl_err("--%s: not a number of days (0-36500): "
				    "%s", c == 'r' ? "rotation-days" :
				    "unused-days", optarg);
				return EX_USAGE;
			}
			break;
		default:
			return opt_error("audit", argv);
		}
	}
	if (optind != argc) {
		ctl_err("audit takes no arguments");
		return usage_of("audit");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDONLY)) != 0)
		goto out;
	if ((st = aivenauth_cache_users(ctx, &u, &nu)) != AIVENAUTH_OK ||
	    (st = aivenauth_cache_tokens(ctx, NULL, &t, &nt)) != AIVENAUTH_OK) {
		ctl_err("cannot read the cache: %s", aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	a.now = (int64_t)time(NULL);
	/* The sync's own token: as its last good run recorded it, or read
	 * here if this process can (root). */
	{
		struct sync_state ss;

		if (sync_state_read(ctx, &ss) && ss.token_prefix[0] != '\0')
			snprintf(a.sync_prefix, sizeof(a.sync_prefix), "%s",
			    ss.token_prefix);
		else
			(void)admin_token_prefix(ctx, t, nt, a.sync_prefix,
			    sizeof(a.sync_prefix));
	}
	if (g.json && (a.json = json_array()) == NULL) {
		rc = EX_OSERR;
		goto out;
	}
	for (i = 0; i < nu; i++)
		audit_user(&a, &u[i], t, nt);
	for (i = 0; i < nt; i++)
		if (live(&t[i], a.now)) {
			live_tokens++;
			audit_token(&a, &t[i]);
		}
	audit_map(&a, ctx, u, nu);
	if (a.nomem) {
		rc = EX_OSERR;
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:O, s:I, s:I, s:I, s:I, s:o, s:s}",
		    "findings", a.json, "users", (json_int_t)nu,
		    "tokens", (json_int_t)live_tokens,
		    "unused_days", (json_int_t)a.unused_days,
		    "rotation_days", (json_int_t)a.rotation_days,
		    "sync_token_prefix", json_str(a.sync_prefix[0] != '\0' ?
		    a.sync_prefix : NULL),
		    "last_used_source", LAST_USED_SOURCE);

		rc = json_print(o);
		json_decref(o);
		if (rc != 0)
			goto out;
	} else if (a.findings == 0) {
		printf("no findings (%zu users, %zu live tokens)\n", nu,
		    live_tokens);
	}
	rc = a.findings != 0 ? 1 : 0;
out:
	json_decref(a.json);
	aivenauth_users_free(u, nu);
	aivenauth_tokens_free(t, nt);
	aivenauth_ctx_free(ctx);
	return rc;
}
