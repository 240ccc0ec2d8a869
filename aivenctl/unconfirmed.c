/*
 * unconfirmed.c - revocations this host made that the API has not
 * confirmed: tokens revoked here (token revoke, user delete, a rotation
 * whose grace ran out) that the API still listed at the last sync, i.e.
 * whose DELETE has not succeeded yet.  Readers refuse them; but the token
 * still works against the API itself and on hosts that do not share this
 * cache, so an operator must be able to see, and monitoring to alert on,
 * a DELETE that keeps failing.  The same rule the sync uses to choose
 * what to send (writer/sync.c send_revocations).
 */
#include <stdlib.h>
#include <time.h>

#include "aivenctl.h"

enum aivenauth_status
unconfirmed_revocations(struct aivenauth_ctx *ctx, size_t *count,
    int64_t *oldest)
{
	struct aivenauth_token *t = NULL;
	enum aivenauth_status st;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, i;

	*count = 0;
	*oldest = 0;
	if ((st = aivenauth_cache_tokens(ctx, NULL, &t, &n)) != AIVENAUTH_OK)
		return st;
	for (i = 0; i < n; i++) {
		if (t[i].removed_time != 0)
			continue;       /* the API no longer lists it: done */
		if (!t[i].revoked && (t[i].revoke_at == 0 ||
		    t[i].revoke_at > now))
			continue;       /* live, or its grace still running */
		(*count)++;
		if (t[i].revoke_at != 0 && (*oldest == 0 ||
		    t[i].revoke_at < *oldest))
			*oldest = t[i].revoke_at;
	}
	aivenauth_tokens_free(t, n);
	return AIVENAUTH_OK;
}
