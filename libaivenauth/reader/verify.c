/*
 * verify.c - the decision: is this token acceptable, and why (not).
 *
 * The hot path (PAM on every nginx request) is: shape check, one read of
 * the packed state, one B-tree lookup per known prefix length (one in
 * practice), a keyed BLAKE2b and a constant-time compare, then policy on
 * fields read in place from the memory map.  No allocation, no copy of the
 * token.
 */
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/acctmap.h"
#include "base/cache.h"
#include "base/rec.h"
#include "reader/dupnames.h"
#include "reader/learned.h"
#include "reader/reader.h"

static void
sv_copy(char *dst, size_t size, struct sv s)
{
	size_t n = s.n < size - 1 ? s.n : size - 1;

	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

static bool
addr_allowed(const struct tok_view *v, const char *rhost)
{
	unsigned char addr[16];
	struct cidr c;
	struct sv s;
	size_t pos = 0;

	if (v->n_ips == 0)
		return true;    /* no allowlist: unrestricted */
	/* An allowlist and no usable address (none, a hostname): refuse. */
	if (rhost == NULL || !ip_parse(rhost, addr))
		return false;
	while (sv_list_next(v->ips, v->ips_len, &pos, &s))
		if (cidr_parse(s.p, s.n, &c) && cidr_contains(&c, addr))
			return true;
	return false;
}

/* Token scope T covers required S when T == S, T is "all", or S is below
 * T ("user" covers "user:read"). */
static bool
scope_ok(const struct tok_view *v, const char *need)
{
	size_t pos = 0, nl;
	struct sv s;

	if (need == NULL || *need == '\0' || v->n_scopes == 0)
		return true;    /* no scopes on the token: unrestricted */
	nl = strlen(need);
	while (sv_list_next(v->scopes, v->scopes_len, &pos, &s)) {
		if (sv_eq(s, need) || sv_eq(s, "all"))
			return true;
		if (s.n < nl && need[s.n] == ':' && memcmp(s.p, need, s.n) == 0)
			return true;
	}
	return false;
}

static bool
user_ok(const struct tok_view *v, const struct aivenauth_request *req)
{
	if (req->user_match == AIVENAUTH_MATCH_ANY)
		return true;
	if (req->user == NULL)
		return false;
	switch (req->user_match) {
	case AIVENAUTH_MATCH_NAME:
		return v->user_name.n > 0 && sv_eq(v->user_name, req->user);
	case AIVENAUTH_MATCH_ID:
		return v->user_id.n > 0 && sv_eq(v->user_id, req->user);
	case AIVENAUTH_MATCH_EMAIL:
		return v->user_email.n > 0 && sv_eq(v->user_email, req->user);
	case AIVENAUTH_MATCH_ANY:
		return true;
	case AIVENAUTH_MATCH_MAP:
		return false;   /* judged by map_policy() */
	}
	return false;
}

/* What the decision reads, for the checks that look past the token's own
 * record (the other users' names). */
struct view_src {
	struct aivenauth_ctx *ctx;
	MDB_txn *txn;
	const struct cache_state *s;
};

/*
 * user_match=map: the requested account's line must list the token's
 * application user, and the line's options must hold.  Each refusal has
 * its own reason, so the log says which part of the map refused.
 *
 * Listed by exact name only, and another synced user holds that name
 * too (names are display names: an organization admin can create a
 * second "ci-runner"): refused, map-ambiguous-name, since the line cannot
 * say which one it meant.  By id: one user.  By glob: every name like
 * it, whoever holds it, which is what a glob says.
 */
static enum aivenauth_reason
map_policy(const struct tok_view *v, const struct aivenauth_request *req,
    const struct acct_line *line, const struct view_src *src)
{
	enum acct_match how;

	if (line == NULL)
		return AIVENAUTH_REASON_MAP_NO_LINE;
	how = acct_line_lists(line, v->user_name.p, v->user_name.n,
	    v->user_id.p, v->user_id.n);
	if (how == ACCT_MATCH_NONE)
		return AIVENAUTH_REASON_MAP_NOT_LISTED;
	if (how == ACCT_MATCH_NAME && dupnames_held_twice(src->ctx, src->txn,
	    (const char *)v->user_name.p, v->user_name.n))
		return AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME;
	if (!acct_line_from_ok(line, req->rhost))
		return AIVENAUTH_REASON_MAP_FROM;
	if (line->pub.scope != NULL && !scope_ok(v, line->pub.scope))
		return AIVENAUTH_REASON_MAP_SCOPE;
	return AIVENAUTH_ACCEPTED;
}

static int64_t
effective_expiry(const struct tok_view *v)
{
	return v->expiry_time > v->local_expiry ? v->expiry_time : v->local_expiry;
}

/* Everything after the secret matched. */
static enum aivenauth_reason
policy(const struct tok_view *v, const struct aivenauth_request *req,
    const struct acct_line *line, const struct view_src *src, int64_t now)
{
	int64_t exp = effective_expiry(v);
	enum aivenauth_reason r;

	if ((v->flags & TOK_F_REVOKED) || (v->revoke_at != 0 && now >= v->revoke_at))
		return AIVENAUTH_REASON_REVOKED;
	if (exp != 0 && now >= exp)
		return AIVENAUTH_REASON_EXPIRED;
	if (req->user_match == AIVENAUTH_MATCH_MAP) {
		if ((r = map_policy(v, req, line, src)) != AIVENAUTH_ACCEPTED)
			return r;
	} else if (!user_ok(v, req)) {
		return AIVENAUTH_REASON_USER_MISMATCH;
	}
	if (!addr_allowed(v, req->rhost))
		return AIVENAUTH_REASON_ADDRESS;
	if (!scope_ok(v, req->scope))
		return AIVENAUTH_REASON_SCOPE;
	return AIVENAUTH_ACCEPTED;
}

/* What a cache-side follow-up (learning, keep-alive) needs once the read
 * transaction is over. */
struct followup {
	bool learn;            /* not enrolled: ask the API */
	bool keepalive;        /* sliding expiry past half its window */
	int64_t max_age;
	unsigned char h[HASH_BYTES];   /* the token's keyed hash */
};

/*
 * Too old, never synced, or synced "in the future": a sync made while the
 * clock ran ahead must not stay fresh for as long as the clock was off.
 * A little skew between hosts (a fleet) is tolerated.
 */
#define CLOCK_SKEW 300

static bool
is_stale(const struct aivenauth_ctx *ctx, const struct cache_state *s,
    int64_t now)
{
	if (ctx->cfg.max_stale <= 0)
		return false;
	return s->sync_time == 0 || now - s->sync_time > ctx->cfg.max_stale ||
	    s->sync_time - now > CLOCK_SKEW;
}

static enum aivenauth_status
decide(struct aivenauth_ctx *ctx, const char *token, size_t len,
    const struct aivenauth_request *req, const struct acct_line *line,
    int64_t now, struct aivenauth_decision *d, struct followup *f)
{
	unsigned char h[HASH_BYTES];
	enum aivenauth_status st;
	struct cache_state s;
	struct view_src src;
	struct tok_view v;
	MDB_txn *txn;
	MDB_val k, val;
	int64_t exp;
	int rc;

	if ((st = cache_read_current(ctx, &txn, &s)) != AIVENAUTH_OK)
		return st;
	src.ctx = ctx;
	src.txn = txn;
	src.s = &s;
	d->sync_age = s.sync_time != 0 ? now - s.sync_time : -1;
	if (is_stale(ctx, &s, now)) {
		d->reason = AIVENAUTH_REASON_CACHE_STALE;
		goto out;
	}
	rc = token_lookup(ctx->cache, txn, s.prefix_lens, token, len, &k, &val);
	if (rc == MDB_NOTFOUND) {
		d->reason = AIVENAUTH_REASON_UNKNOWN_PREFIX;
		goto out;
	}
	if (rc != 0) {
		st = cache_err(ctx, rc, "looking up a token");
		goto out;
	}
	sv_copy(d->prefix, sizeof(d->prefix), (struct sv){ k.mv_data,
	    (uint32_t)k.mv_size });
	if (!tok_decode(val.mv_data, val.mv_size, &v)) {
		ctx_log(ctx, LOG_ERR, "cache %s: damaged record for token %s",
		    ctx->cache->path, d->prefix);
		st = AIVENAUTH_ERR_CACHE_CORRUPT;
		goto out;
	}
	sv_copy(d->user_id, sizeof(d->user_id), v.user_id);
	sv_copy(d->user_name, sizeof(d->user_name), v.user_name);
	sv_copy(d->user_email, sizeof(d->user_email), v.user_email);
	if (v.removed_time != 0) {
		d->expiry = effective_expiry(&v);
		d->reason = AIVENAUTH_REASON_REVOKED;
		goto out;
	}
	if (ctx->learned != NULL) {
		/* A keep-alive this process made (never written: readers
		 * write nothing) counts until the next sync catches up. */
		int64_t le = learned_expiry(ctx, d->prefix, s.sync_time);

		if (le > v.local_expiry)
			v.local_expiry = le;
	}
	d->expiry = exp = effective_expiry(&v);
	token_hash(ctx->cache->key, token, len, h);
	if (!(v.flags & TOK_F_HASH)) {
		d->reason = AIVENAUTH_REASON_NOT_ENROLLED;
		if (ctx->cfg.online == ONLINE_LEARN) {
			/* Policy first: a token refused anyway (revoked, wrong
			 * user, address) costs no API call. */
			enum aivenauth_reason r = policy(&v, req, line, &src,
			    now);

			if (r != AIVENAUTH_ACCEPTED) {
				d->reason = r;
			} else if (learned_match(ctx, d->prefix, h, now)) {
				d->reason = AIVENAUTH_ACCEPTED;
				d->flags |= AIVENAUTH_DECISION_LEARNED |
				    AIVENAUTH_DECISION_NOT_STORED;
			} else {
				f->learn = true;
				memcpy(f->h, h, sizeof(f->h));
			}
		}
		goto out;
	}
	if (!hash_equal(h, v.hash)) {
		d->reason = AIVENAUTH_REASON_SECRET_MISMATCH;
		goto out;
	}
	d->reason = policy(&v, req, line, &src, now);
	if (d->reason == AIVENAUTH_ACCEPTED && (v.flags & TOK_F_EXTEND) &&
	    v.max_age > 0 && exp != 0 && exp - now < v.max_age / 2 &&
	    ctx->cfg.online == ONLINE_LEARN) {
		f->keepalive = true;
		f->max_age = v.max_age;
		memcpy(f->h, h, sizeof(f->h));
	}
out:
	sodium_memzero(h, sizeof(h));
	/* On success the transaction is kept for the next call (see
	 * cache_read_current); an error ends it. */
	if (st != AIVENAUTH_OK)
		cache_read_end(ctx);
	return st;
}

/*
 * user_match=any: does the account name uid 0?  "root" without asking,
 * then NSS (another name with uid 0: toor, an LDAP alias).  A lookup that
 * fails for another reason than "no such user" cannot tell: refused.
 *
 * NSS is not free (26 us for a name that does not exist, through
 * systemd's module, measured on Debian 12), and nginx auth_pam asks on
 * every request, usually for the same name: the last "not uid 0" answer
 * is kept in the context for UID0_TTL seconds.  A name that becomes uid 0
 * is refused at most that long after, in a long-lived process.
 */
#define UID0_TTL 5

void
reader_uid0_by_name_only(struct aivenauth_ctx *ctx)
{
	ctx->uid0_name_only = true;
}

static bool
names_uid0(struct aivenauth_ctx *ctx, const char *user)
{
	int64_t now = (int64_t)time(NULL);   /* the real clock, not req->now */
	struct passwd pw, *res = NULL;
	char buf[16384];
	int rc;

	if (user == NULL)
		return false;   /* no account at all: nothing to log into */
	if (strcmp(user, "root") == 0)
		return true;
	if (ctx->uid0_name_only)
		return false;
	if (now < ctx->not_uid0_until && strcmp(user, ctx->not_uid0) == 0)
		return false;
	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (rc == 0 && res != NULL && res->pw_uid == 0)
		return true;
	if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF &&
	    rc != EPERM) {
		/* getpwnam_r(3): only those four mean "not found" */
		ctx_log(ctx, LOG_ERR, "cannot tell whether account %.64s is "
		    "uid 0 (getpwnam_r: %s); refused under user_match any",
		    user, strerror(rc));
		return true;
	}
	if (strlen(user) < sizeof(ctx->not_uid0)) {
		memcpy(ctx->not_uid0, user, strlen(user) + 1);
		ctx->not_uid0_until = now + UID0_TTL;
	}
	return false;
}

enum aivenauth_status
aivenauth_verify(struct aivenauth_ctx *ctx, const char *token, size_t len,
    const struct aivenauth_request *req, struct aivenauth_decision *d)
{
	const struct aivenauth_account_map *map = NULL;
	const struct acct_line *line = NULL;
	struct aivenauth_request none = { NULL, AIVENAUTH_MATCH_NAME, NULL, NULL,
	    NULL, 0 };
	struct followup f;
	enum aivenauth_status st;
	int64_t now;

	if (d == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(d, 0, sizeof(*d));
	memset(&f, 0, sizeof(f));
	d->sync_age = -1;
	d->reason = AIVENAUTH_REASON_ERROR;
	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (req == NULL)
		req = &none;
	if (!aivenauth_token_shaped(token, len)) {
		d->reason = AIVENAUTH_REASON_NOT_TOKEN;
		return AIVENAUTH_OK;
	}
	now = req->now != 0 ? req->now : (int64_t)time(NULL);
	if (req->user_match == AIVENAUTH_MATCH_ANY &&
	    names_uid0(ctx, req->user)) {
		/* Root only by name, through an explicit map line: "any
		 * valid token of the organization" must not mean a root
		 * shell.  Before the cache: no token judgement is needed. */
		d->reason = AIVENAUTH_REASON_ROOT_REFUSED;
		return AIVENAUTH_OK;
	}
	if (req->user_match == AIVENAUTH_MATCH_MAP) {
		/* Outside the read transaction: reading and parsing the map
		 * (only when it changed) must not pin the snapshot. */
		if ((st = acctmap_current(ctx, &map)) != AIVENAUTH_OK) {
			d->reason = AIVENAUTH_REASON_MAP_UNAVAILABLE;
			return st;
		}
		line = acctmap_find(map, req->user);
	} else if ((unsigned)req->user_match > AIVENAUTH_MATCH_MAP) {
		return AIVENAUTH_ERR_INVALID;
	}
	if ((st = reader_attach(ctx)) != AIVENAUTH_OK) {
		d->reason = AIVENAUTH_REASON_CACHE_UNAVAILABLE;
		return st;
	}
	if ((st = decide(ctx, token, len, req, line, now, d, &f)) != AIVENAUTH_OK) {
		d->reason = AIVENAUTH_REASON_CACHE_UNAVAILABLE;
		return st;
	}
	if (f.learn) {
		/* Online learning: the API judges the token by itself.  A
		 * secret it refused lately is refused without a call, and the
		 * process asks at a bounded rate (forged logins cost the API
		 * nothing past it).  What it vouches for is kept in this
		 * process's memory only (learned.h). */
		switch (online_gate(f.h, now)) {
		case GATE_REFUSED:
			d->reason = AIVENAUTH_REASON_ONLINE_REJECTED;
			goto done;
		case GATE_LIMITED:
			ctx_log(ctx, LOG_WARNING, "online check of token %s not "
			    "made: over %d API calls a second in this process",
			    d->prefix, RATE_PER_SEC);
			d->reason = AIVENAUTH_REASON_ONLINE_UNAVAILABLE;
			st = AIVENAUTH_ERR_LOCAL_LIMIT;
			goto done;
		case GATE_OPEN:
			break;
		}
		st = aivenauth_api_me(ctx, token, len, d->user_id,
		    d->user_email);
		if (st != AIVENAUTH_OK) {
			/* Only a positive answer vouches (api.c); a refusal
			 * is remembered, an unreachable API is not. */
			d->reason = online_refusal(ctx, st, d->prefix);
			if (d->reason != AIVENAUTH_REASON_ONLINE_UNAVAILABLE) {
				online_refused(f.h, now);
				st = AIVENAUTH_OK;
			}
			goto done;
		}
		learned_put(ctx, d->prefix, f.h, now);
		d->flags |= AIVENAUTH_DECISION_LEARNED | AIVENAUTH_DECISION_NOT_STORED;
		ctx_log(ctx, LOG_NOTICE, "token %s checked online and accepted; "
		    "kept in this process's memory only (enroll it for good with "
		    "'aivenctl token add')", d->prefix);
		d->reason = AIVENAUTH_ACCEPTED;
		goto done;
	}
	if (f.keepalive) {
		/* Sliding expiry: using the token only against the cache never
		 * reaches the API, which would expire it while in daily use.
		 * One bounded call with the token itself slides it there; a
		 * failure is logged, and the decision stands (the token is
		 * still valid for at least another max_age / 2). */
		st = online_gate(f.h, now) == GATE_OPEN ?
		    aivenauth_api_me(ctx, token, len, d->user_id, d->user_email) :
		    AIVENAUTH_ERR_LOCAL_LIMIT;
		if (st == AIVENAUTH_OK) {
			d->flags |= AIVENAUTH_DECISION_EXTENDED;
			d->expiry = now + f.max_age;
			/* Memory only: the next sync brings the API's new
			 * expiry_time. */
			learned_extend(ctx, d->prefix, d->expiry, now);
		} else {
			ctx_log(ctx, LOG_WARNING, "could not refresh the sliding "
			    "expiry of token %s at the API (%s); not extended",
			    d->prefix, aivenauth_strerror(st));
		}
	}
	st = AIVENAUTH_OK;
done:
	sodium_memzero(f.h, sizeof(f.h));
	return st;
}

enum aivenauth_status
aivenauth_recheck(struct aivenauth_ctx *ctx, const char *prefix,
    const char *user_id, int64_t now, struct aivenauth_decision *d)
{
	enum aivenauth_status st;
	struct cache_state s;
	struct tok_view v;
	MDB_txn *txn;
	MDB_val k, val;
	int rc;

	if (d == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(d, 0, sizeof(*d));
	d->sync_age = -1;
	d->reason = AIVENAUTH_REASON_ERROR;
	if (ctx == NULL || prefix == NULL || *prefix == '\0' ||
	    strlen(prefix) > AIVENAUTH_PREFIX_MAX)
		return AIVENAUTH_ERR_INVALID;
	if (now == 0)
		now = (int64_t)time(NULL);
	snprintf(d->prefix, sizeof(d->prefix), "%s", prefix);
	if ((st = reader_attach(ctx)) != AIVENAUTH_OK) {
		d->reason = AIVENAUTH_REASON_CACHE_UNAVAILABLE;
		return st;
	}
	if ((st = cache_read_current(ctx, &txn, &s)) != AIVENAUTH_OK) {
		d->reason = AIVENAUTH_REASON_CACHE_UNAVAILABLE;
		return st;
	}
	d->sync_age = s.sync_time != 0 ? now - s.sync_time : -1;
	if (is_stale(ctx, &s, now)) {
		d->reason = AIVENAUTH_REASON_CACHE_STALE;
		return AIVENAUTH_OK;
	}
	k.mv_data = (void *)prefix;
	k.mv_size = strlen(prefix);
	rc = mdb_get(txn, ctx->cache->tokens, &k, &val);
	if (rc == MDB_NOTFOUND) {
		d->reason = AIVENAUTH_REASON_REVOKED;   /* forgotten since */
		return AIVENAUTH_OK;
	}
	if (rc != 0 || !tok_decode(val.mv_data, val.mv_size, &v)) {
		st = rc != 0 ? cache_err(ctx, rc, "looking up a token") :
		    AIVENAUTH_ERR_CACHE_CORRUPT;
		cache_read_end(ctx);
		d->reason = AIVENAUTH_REASON_CACHE_UNAVAILABLE;
		return st;
	}
	sv_copy(d->user_id, sizeof(d->user_id), v.user_id);
	sv_copy(d->user_name, sizeof(d->user_name), v.user_name);
	sv_copy(d->user_email, sizeof(d->user_email), v.user_email);
	d->expiry = effective_expiry(&v);
	if (v.removed_time != 0 || (v.flags & TOK_F_REVOKED) ||
	    (v.revoke_at != 0 && now >= v.revoke_at))
		d->reason = AIVENAUTH_REASON_REVOKED;
	else if (d->expiry != 0 && now >= d->expiry)
		d->reason = AIVENAUTH_REASON_EXPIRED;
	else if (user_id != NULL && !sv_eq(v.user_id, user_id))
		d->reason = AIVENAUTH_REASON_USER_MISMATCH;
	else
		d->reason = AIVENAUTH_ACCEPTED;
	return AIVENAUTH_OK;
}
