/*
 * util.c - context setup, cache opening with messages, small formatters.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"

int
ctl_ctx_plain(struct aivenauth_ctx **ctxp)
{
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;

	*ctxp = NULL;
	if ((st = aivenauth_ctx_new(&ctx)) != AIVENAUTH_OK) {
		ctl_err("cannot initialise the library: %s",
		    aivenauth_strerror(st));
		return exit_code(st);
	}
	aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	if (g.config != NULL)
		st = aivenauth_config_load(ctx, g.config, true);
	else
		st = aivenauth_config_load(ctx, NULL, false);
	if (st != AIVENAUTH_OK) {
		ctl_err("cannot load the configuration%s%s: %s",
		    g.config != NULL ? " " : "",
		    g.config != NULL ? g.config : "", aivenauth_strerror(st));
		aivenauth_ctx_free(ctx);
		return exit_code(st);
	}
	*ctxp = ctx;
	return 0;
}

int
ctl_ctx_new(struct aivenauth_ctx **ctxp)
{
	int rc;

	if ((rc = ctl_ctx_plain(ctxp)) != 0)
		return rc;
	/* Fleet follower: no admin token here, say where to run it; fleet
	 * publisher: a token command first takes the leader key. */
	if ((rc = cli_before(*ctxp)) != 0) {
		aivenauth_ctx_free(*ctxp);
		*ctxp = NULL;
	}
	return rc;
}

int
ctl_cache_open(struct aivenauth_ctx *ctx, unsigned flags)
{
	enum aivenauth_status st;
	const char *dir;

	st = aivenauth_cache_open(ctx, flags);
	if (st == AIVENAUTH_OK)
		return 0;
	dir = aivenauth_config_get(ctx, "cache_dir");
	if (st == AIVENAUTH_ERR_CACHE_MISSING)
		ctl_err("cannot open the cache %s: %s (run `aivenctl sync` "
		    "first)", nn(dir), aivenauth_strerror(st));
	else
		ctl_err("cannot open the cache %s: %s", nn(dir),
		    aivenauth_strerror(st));
	return exit_code(st);
}

const char *
fmt_time(int64_t t, char buf[static 32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "null";
	return buf;
}

char *
join_list(char *const *items, size_t n)
{
	size_t i, len = 1;
	char *s, *p;

	for (i = 0; i < n; i++)
		len += strlen(items[i]) + 2;
	if ((s = malloc(len)) == NULL)
		return NULL;
	p = s;
	*p = '\0';
	for (i = 0; i < n; i++) {
		size_t l = strlen(items[i]);

		if (i > 0) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		memcpy(p, items[i], l);
		p += l;
		*p = '\0';
	}
	return s;
}

bool
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	/* Digits only (a sign only for negative ranges): strtoll would take
	 * leading blanks and '+'. */
	if (s == NULL || !((*s >= '0' && *s <= '9') || (*s == '-' && min < 0)))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

const char *
token_state(const struct aivenauth_token *t, int64_t now, char buf[static 64])
{
	int64_t exp;
	char tb[32];

	/* One word for "can never log in again", as verify and PAM say it:
	 * deleted at the API (no longer listed) or revoked here.  Where it
	 * happened is revoked_by (token_revoked_by). */
	if (t->removed_time != 0)
		return "revoked";
	if (t->revoke_at > now) {
		snprintf(buf, 64, "revoking@%s", fmt_time(t->revoke_at, tb));
		return buf;
	}
	if (t->revoked || t->revoke_at != 0)
		return "revoked";
	exp = aivenauth_token_expiry(t);
	if (exp != 0 && exp <= now)
		return "expired";
	return "active";
}

const char *
token_revoked_by(const struct aivenauth_token *t, int64_t now)
{
	if (t->revoked || (t->revoke_at != 0 && t->revoke_at <= now))
		return "aivenctl";
	if (t->removed_time != 0)
		return "api";
	return NULL;
}

/*
 * A token prefix argument: never longer than a stored prefix can be.  A
 * longer one is most likely a whole token pasted by mistake: refused
 * without echoing it, and never sent to the API.
 */
bool
prefix_arg_ok(const char *p)
{
	size_t n = strlen(p);

	if (n <= AIVENAUTH_PREFIX_MAX)
		return true;
	ctl_err("a token prefix has at most %d characters, this argument has "
	    "%zu (not shown: if it is a whole token, pass its first 12 "
	    "characters, and keep the token out of command lines)",
	    AIVENAUTH_PREFIX_MAX, n);
	return false;
}

int
parse_token_id(struct aivenauth_ctx *ctx, int nargs, char *args[],
    char **store, const char **user, const char **prefix)
{
	char *s, *slash1, *slash2;
	const char *org;

	*store = NULL;
	if (nargs == 2) {
		if ((*store = strdup("")) == NULL)
			return EX_OSERR;
		*user = args[0];
		*prefix = args[1];
	} else if (nargs == 1) {
		/* ORG_ID/USER_ID/PREFIX: ids have no '/', the prefix may. */
		if ((s = strdup(args[0])) == NULL)
			return EX_OSERR;
		*store = s;
		slash1 = strchr(s, '/');
		slash2 = slash1 != NULL ? strchr(slash1 + 1, '/') : NULL;
		if (slash2 == NULL || slash1 == s || slash2 == slash1 + 1 ||
		    slash2[1] == '\0') {
			ctl_err("expected USER_ID PREFIX or ORG_ID/USER_ID/PREFIX");
			return EX_USAGE;
		}
		*slash1 = '\0';
		*slash2 = '\0';
		org = aivenauth_config_get(ctx, "organization_id");
		if (org != NULL && *org != '\0' && strcmp(org, s) != 0) {
			ctl_err("organization %s is not the configured "
			    "organization %s", s, org);
			return EX_USAGE;
		}
		*user = slash1 + 1;
		*prefix = slash2 + 1;
	} else {
		return EX_USAGE;
	}
	if (**user == '\0' || **prefix == '\0') {
		ctl_err("empty user id or token prefix");
		return EX_USAGE;
	}
	if (!prefix_arg_ok(*prefix))
		return EX_USAGE;
	return 0;
}
