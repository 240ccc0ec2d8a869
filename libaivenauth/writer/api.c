/*
 * api.c - the admin's Aiven API calls (with the organization admin
 * token): argument checks, then the network client module does the work
 * (base/netload.c loads it on first use).  The one call a reader makes,
 * GET /v1/me with the presented token, is reader/online.c.
 */
#include <string.h>
#include <syslog.h>

#include "base/netload.h"

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
