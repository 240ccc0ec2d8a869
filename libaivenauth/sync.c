/*
 * sync.c - aivenauth_sync(): send due revocations, fetch the complete
 * snapshot (users, then every user's tokens in parallel), apply it in one
 * write.  A failed fetch changes nothing in the cache.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "netload.h"

/* Tokens revoked here (aivenctl token revoke whose API call failed, or a
 * rotation whose grace has run out) that the API still lists: delete them
 * at the API now.  Failures are logged and retried at the next sync. */
static void
send_revocations(struct aivenauth_ctx *ctx, const struct net_params *p,
    struct aivenauth_apply_stats *stats, size_t *failed)
{
	struct aivenauth_token *t = NULL;
	enum aivenauth_status st;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, i;

	if (aivenauth_cache_tokens(ctx, NULL, &t, &n) != AIVENAUTH_OK)
		return;
	for (i = 0; i < n; i++) {
		if (t[i].removed_time != 0 || t[i].user_id == NULL)
			continue;
		if (!t[i].revoked && (t[i].revoke_at == 0 || t[i].revoke_at > now))
			continue;
		st = ctx->net->token_delete(p, t[i].user_id, t[i].prefix);
		if (st == AIVENAUTH_OK || st == AIVENAUTH_ERR_API_NOT_FOUND) {
			stats->revocations_sent++;
			ctx_log(ctx, LOG_NOTICE, "revoked token %s of %s at the API",
			    t[i].prefix, t[i].user_id);
		} else {
			(*failed)++;
			ctx_log(ctx, LOG_WARNING, "could not revoke token %s at the "
			    "API (%s); will retry at the next sync", t[i].prefix,
			    aivenauth_strerror(st));
		}
	}
	aivenauth_tokens_free(t, n);
}

enum aivenauth_status
aivenauth_sync(struct aivenauth_ctx *ctx, struct aivenauth_apply_stats *stats)
{
	struct aivenauth_snapshot snap;
	struct aivenauth_apply_stats local;
	enum aivenauth_status st;
	struct net_params p;
	struct buf secret;
	size_t sent, failed = 0;

	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	memset(&snap, 0, sizeof(snap));
	if ((st = net_params_init(ctx, &p, NULL, 0, true, &secret)) != AIVENAUTH_OK)
		goto out;
	if ((st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != AIVENAUTH_OK)
		goto out;
	send_revocations(ctx, &p, stats, &failed);
	sent = stats->revocations_sent;
	if ((st = ctx->net->fetch_snapshot(&p, &snap)) != AIVENAUTH_OK) {
		ctx_log(ctx, LOG_ERR, "sync failed: %s; the cache is unchanged",
		    aivenauth_strerror(st));
		goto out;
	}
	snap.organization_id = ctx->cfg.organization_id;
	st = aivenauth_cache_apply(ctx, &snap, 0, stats);
	stats->revocations_sent = sent;
	stats->revocations_failed = failed;
	if (st == AIVENAUTH_OK)
		ctx_log(ctx, LOG_INFO, "sync: %zu users, %zu tokens, generation %llu",
		    snap.n_users, snap.n_tokens,
		    (unsigned long long)stats->generation);
out:
	aivenauth_users_free(snap.users, snap.n_users);
	aivenauth_tokens_free(snap.tokens, snap.n_tokens);
	net_params_done(&secret);
	return st;
}
