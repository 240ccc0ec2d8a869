/*
 * online.c - the reader's one network call: GET /v1/me with the presented
 * token itself (online = learn, and the sliding-expiry keep-alive), and
 * what each refusal means.  Only a positive answer about the prefix's
 * synced owner vouches (docs/DESIGN.md, "Online learning"); the network
 * module is loaded on first use (base/netload.c).
 */
#include <string.h>
#include <syslog.h>

#include "base/netload.h"
#include "reader/reader.h"

enum aivenauth_status
aivenauth_api_me(struct aivenauth_ctx *ctx, const char *token, size_t len,
    const char *user_id, const char *user_email)
{
	struct net_params p;
	struct buf none;
	enum aivenauth_status st;

	if (ctx == NULL || token == NULL || len == 0 ||
	    ((user_id == NULL || *user_id == '\0') &&
	    (user_email == NULL || *user_email == '\0')))
		return AIVENAUTH_ERR_INVALID;
	if ((st = net_params_init(ctx, &p, token, len, false, &none)) == AIVENAUTH_OK)
		st = ctx->net->me(&p, user_id, user_email);
	net_params_done(&none);
	return st;
}

enum aivenauth_reason
online_refusal(struct aivenauth_ctx *ctx, enum aivenauth_status st,
    const char *prefix)
{
	switch (st) {
	case AIVENAUTH_ERR_UNAUTHORIZED:
		ctx_log(ctx, LOG_NOTICE, "online check of token %s: the API "
		    "does not accept it (401); nothing learned", prefix);
		return AIVENAUTH_REASON_ONLINE_REJECTED;
	case AIVENAUTH_ERR_FORBIDDEN:
		ctx_log(ctx, LOG_WARNING, "online check of token %s: the API "
		    "answered 403; a 403 vouches for nothing (a forged secret "
		    "gets one too, and the API may not let application tokens "
		    "read /v1/me at all); nothing learned: enroll the token "
		    "with 'aivenctl token add'", prefix);
		return AIVENAUTH_REASON_ONLINE_REJECTED;
	case AIVENAUTH_ERR_IP_POLICY:
		ctx_log(ctx, LOG_WARNING, "online check of token %s: the API "
		    "refused the call from this host's address (IP policy: "
		    "the token's ip_allowlist or the organization's); nothing "
		    "learned", prefix);
		return AIVENAUTH_REASON_ONLINE_IP_POLICY;
	case AIVENAUTH_ERR_MISMATCH:
		ctx_log(ctx, LOG_WARNING, "online check of token %s: the API "
		    "answered about another user than the token's owner; "
		    "nothing learned", prefix);
		return AIVENAUTH_REASON_ONLINE_REJECTED;
	default:
		ctx_log(ctx, LOG_ERR, "online check of token %s failed: %s; "
		    "nothing learned", prefix, aivenauth_strerror(st));
		return AIVENAUTH_REASON_ONLINE_UNAVAILABLE;
	}
}
