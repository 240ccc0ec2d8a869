/*
 * sync.c - aivenauth_sync(): fetch the complete snapshot (users, then every
 * user's tokens in parallel), send the revocations that are due, apply the
 * snapshot in one write.  A failed fetch changes nothing in the cache.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "base/netload.h"
#include "writer/writer.h"

static int
prefix_cmp(const void *a, const void *b)
{
	const struct aivenauth_token *x = a, *y = b;

	return strcmp(x->prefix, y->prefix);
}

/* One pending revocation the API still lists: DELETE it; once deleted,
 * drop it from the snapshot so this very sync records it as removed. */
static void
send_one(struct aivenauth_ctx *ctx, const struct net_params *p,
    struct aivenauth_snapshot *snap, struct aivenauth_apply_stats *stats,
    const char *user_id, const char *prefix)
{
	struct aivenauth_token key, *hit;
	enum aivenauth_status st;
	size_t j;

	memset(&key, 0, sizeof(key));
	key.prefix = (char *)prefix;
	hit = bsearch(&key, snap->tokens, snap->n_tokens, sizeof(*snap->tokens),
	    prefix_cmp);
	if (hit == NULL)
		return;     /* already gone at the API */
	if (hit->user_id == NULL || strcmp(hit->user_id, user_id) != 0) {
		ctx_log(ctx, LOG_WARNING, "token %s is listed for another "
		    "application user than %s; its revocation is not sent",
		    prefix, user_id);
		return;
	}
	st = ctx->net->token_delete(p, user_id, prefix);
	if (st != AIVENAUTH_OK && st != AIVENAUTH_ERR_API_NOT_FOUND) {
		stats->revocations_failed++;
		ctx_log(ctx, LOG_WARNING, "could not revoke token %s at the API "
		    "(%s); it stays revoked here and the next sync retries",
		    prefix, aivenauth_strerror(st));
		return;
	}
	stats->revocations_sent++;
	ctx_log(ctx, LOG_NOTICE, "revoked token %s of %s at the API", prefix,
	    user_id);
	j = (size_t)(hit - snap->tokens);
	aivenauth_token_clear(hit);
	memmove(hit, hit + 1, (snap->n_tokens - j - 1) * sizeof(*hit));
	snap->n_tokens--;
}

/* A journaled revocation the API must hear of now: not a rotation's
 * scheduled one whose grace still runs. */
static bool
due(const struct revj_entry *e, int64_t now)
{
	return e->not_before == 0 || e->not_before <= now;
}

static bool
tried(const struct revj *j, const char *prefix, int64_t now)
{
	size_t i;

	for (i = 0; i < REVJ_SLOTS; i++)
		if (j->kind[i] == REVJ_ENTRY && due(&j->e[i], now) &&
		    strcmp(j->e[i].prefix, prefix) == 0)
			return true;
	return false;
}

/*
 * Tokens revoked on this host (an `aivenctl token revoke` whose API call
 * failed, a rotation whose grace has run out) that the API still lists:
 * delete them at the API now, and drop each deleted one from the snapshot
 * so this very sync records it as removed.  Failures are logged and retried
 * at the next sync; the local revocation holds meanwhile.
 */
static enum aivenauth_status
send_revocations(struct aivenauth_ctx *ctx, const struct net_params *p,
    struct aivenauth_snapshot *snap, struct aivenauth_apply_stats *stats)
{
	struct aivenauth_token *t = NULL;
	enum aivenauth_status st;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, i;

	struct revj j;

	if ((st = aivenauth_cache_tokens(ctx, NULL, &t, &n)) != AIVENAUTH_OK)
		return st;
	qsort(snap->tokens, snap->n_tokens, sizeof(*snap->tokens), prefix_cmp);
	/* The journal's first: a revocation `token revoke` recorded but
	 * could not store (a full disk) is not revoked in the cache yet, and
	 * the API must hear of it all the same.  (The apply that follows
	 * stores it revoked, and frees its slot.) */
	if ((st = revj_open(ctx, false, &j)) != AIVENAUTH_OK) {
		aivenauth_tokens_free(t, n);
		return st;
	}
	revj_release(&j);   /* a copy is enough: the DELETE is idempotent */
	for (i = 0; j.read && i < REVJ_SLOTS; i++) {
		if (j.kind[i] != REVJ_ENTRY || !due(&j.e[i], now))
			continue;
		send_one(ctx, p, snap, stats, j.e[i].user_id, j.e[i].prefix);
	}
	for (i = 0; i < n; i++) {
		if (t[i].removed_time != 0 || t[i].user_id == NULL)
			continue;
		if (!t[i].revoked && (t[i].revoke_at == 0 || t[i].revoke_at > now))
			continue;
		if (j.read && tried(&j, t[i].prefix, now))
			continue;   /* sent (or tried) from the journal */
		send_one(ctx, p, snap, stats, t[i].user_id, t[i].prefix);
	}
	revj_close(&j);
	aivenauth_tokens_free(t, n);
	return AIVENAUTH_OK;
}

/*
 * The cache cannot be opened (damaged, a full copy-on-write disk...): the
 * API client does not need it, so the journaled revocations' DELETEs are
 * sent all the same (a 404 is a success: already gone).  The journal
 * keeps them; a sync that opens the cache frees them.
 */
static void
send_journal_only(struct aivenauth_ctx *ctx, const struct net_params *p,
    struct aivenauth_apply_stats *stats)
{
	enum aivenauth_status st;
	struct revj j;
	size_t i;

	if (revj_open(ctx, false, &j) != AIVENAUTH_OK || !j.read) {
		revj_close(&j);
		return;
	}
	revj_release(&j);
	for (i = 0; i < REVJ_SLOTS; i++) {
		if (j.kind[i] != REVJ_ENTRY || !due(&j.e[i], (int64_t)time(NULL)))
			continue;
		st = ctx->net->token_delete(p, j.e[i].user_id, j.e[i].prefix);
		if (st == AIVENAUTH_OK || st == AIVENAUTH_ERR_API_NOT_FOUND) {
			stats->revocations_sent++;
			ctx_log(ctx, LOG_NOTICE, "revoked token %s of %s at the "
			    "API (from the revocation journal; the cache could "
			    "not be opened)", j.e[i].prefix, j.e[i].user_id);
		} else {
			stats->revocations_failed++;
			ctx_log(ctx, LOG_WARNING, "could not revoke token %s at "
			    "the API (%s); the next sync retries", j.e[i].prefix,
			    aivenauth_strerror(st));
		}
	}
	revj_close(&j);
}

/* One past the journal's last sequence number, before the fetch: entries
 * below it may be freed by this sync's apply when the API does not list
 * their token (revoke_fold.c).  Unreadable: 0, none at all. */
static uint64_t
journal_seq(struct aivenauth_ctx *ctx)
{
	struct revj j;
	uint64_t s = 0;

	if (revj_open(ctx, false, &j) == AIVENAUTH_OK && j.read)
		s = revj_last_seq(&j) + 1;
	revj_close(&j);
	return s;
}

enum aivenauth_status
aivenauth_sync(struct aivenauth_ctx *ctx, struct aivenauth_apply_stats *stats)
{
	struct aivenauth_snapshot snap;
	struct aivenauth_apply_stats local, rev;
	enum aivenauth_status st;
	struct net_params p;
	struct buf secret;

	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	memset(&rev, 0, sizeof(rev));
	memset(&snap, 0, sizeof(snap));
	if ((st = net_params_init(ctx, &p, NULL, 0, true, &secret)) != AIVENAUTH_OK)
		goto out;
	if ((st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != AIVENAUTH_OK) {
		if (st != AIVENAUTH_ERR_CACHE_MISSING)
			send_journal_only(ctx, &p, &rev);
		stats->revocations_sent = rev.revocations_sent;
		stats->revocations_failed = rev.revocations_failed;
		goto out;
	}
	/* One past the last number: an entry below it was journaled before
	 * this fetch.  0 (no sync's fetch: a follower's or standby's apply)
	 * lets no entry go, not even one written before sequence numbers
	 * (seq 0; review 5). */
	ctx->cache->fetch_seq = journal_seq(ctx);
	if ((st = ctx->net->fetch_snapshot(&p, &snap)) != AIVENAUTH_OK) {
		ctx_log(ctx, LOG_ERR, "sync failed: %s; the cache is unchanged",
		    aivenauth_strerror(st));
		goto out;
	}
	if ((st = send_revocations(ctx, &p, &snap, &rev)) != AIVENAUTH_OK)
		goto out;
	snap.organization_id = ctx->cfg.organization_id;
	st = aivenauth_cache_apply(ctx, &snap, 0, stats);
	stats->revocations_sent = rev.revocations_sent;
	stats->revocations_failed = rev.revocations_failed;
	if (st == AIVENAUTH_OK)
		ctx_log(ctx, LOG_INFO, "sync: %zu users, %zu tokens, generation %llu",
		    snap.n_users, snap.n_tokens,
		    (unsigned long long)stats->generation);
out:
	if (ctx->cache != NULL)
		ctx->cache->fetch_seq = 0;
	aivenauth_users_free(snap.users, snap.n_users);
	aivenauth_tokens_free(snap.tokens, snap.n_tokens);
	net_params_done(&secret);
	return st;
}
