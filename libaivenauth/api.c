/*
 * api.c - the public Aiven API calls: argument checks, then the network
 * client module does the work (netload.c loads it on first use).
 */
#include <string.h>
#include <syslog.h>

#include "netload.h"

#define CALL(need_org, expr) \
	do { \
		struct net_params p; \
		struct buf secret; \
		enum aivenauth_status st_; \
		if (ctx == NULL) \
			return AIVENAUTH_ERR_INVALID; \
		st_ = net_params_init(ctx, &p, NULL, 0, (need_org), &secret); \
		if (st_ == AIVENAUTH_OK) \
			st_ = (expr); \
		net_params_done(&secret); \
		return st_; \
	} while (0)

enum aivenauth_status
aivenauth_api_users(struct aivenauth_ctx *ctx, struct aivenauth_user **users,
    size_t *n)
{
	if (users == NULL || n == NULL)
		return AIVENAUTH_ERR_INVALID;
	*users = NULL;
	*n = 0;
	CALL(true, ctx->net->users_list(&p, users, n));
}

enum aivenauth_status
aivenauth_api_user_create(struct aivenauth_ctx *ctx, const char *name,
    struct aivenauth_user *out)
{
	if (name == NULL || *name == '\0' || out == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	CALL(true, ctx->net->user_create(&p, name, out));
}

enum aivenauth_status
aivenauth_api_user_delete(struct aivenauth_ctx *ctx, const char *user_id)
{
	if (user_id == NULL || *user_id == '\0')
		return AIVENAUTH_ERR_INVALID;
	CALL(true, ctx->net->user_delete(&p, user_id));
}

enum aivenauth_status
aivenauth_api_tokens(struct aivenauth_ctx *ctx, const char *user_id,
    struct aivenauth_token **tokens, size_t *n)
{
	if (user_id == NULL || *user_id == '\0' || tokens == NULL || n == NULL)
		return AIVENAUTH_ERR_INVALID;
	*tokens = NULL;
	*n = 0;
	CALL(true, ctx->net->tokens_list(&p, user_id, tokens, n));
}

enum aivenauth_status
aivenauth_api_token_create(struct aivenauth_ctx *ctx, const char *user_id,
    const struct aivenauth_token_spec *spec, char **full_token,
    size_t *full_len, char **prefix)
{
	if (user_id == NULL || *user_id == '\0' || spec == NULL ||
	    full_token == NULL || full_len == NULL || prefix == NULL)
		return AIVENAUTH_ERR_INVALID;
	*full_token = NULL;
	*full_len = 0;
	*prefix = NULL;
	CALL(true, ctx->net->token_create(&p, user_id, spec, full_token,
	    full_len, prefix));
}

enum aivenauth_status
aivenauth_api_token_delete(struct aivenauth_ctx *ctx, const char *user_id,
    const char *prefix)
{
	if (user_id == NULL || *user_id == '\0' || prefix == NULL ||
	    *prefix == '\0')
		return AIVENAUTH_ERR_INVALID;
	CALL(true, ctx->net->token_delete(&p, user_id, prefix));
}

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
