/*
 * ctx.c - the context: creation and teardown (its log is log.c).
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "base/acctmap.h"
#include "base/cache.h"
#include "base/internal.h"
#include "base/netload.h"

const char *
aivenauth_version(void)
{
	return AIVENAUTH_VERSION_STRING;
}

enum aivenauth_status
aivenauth_ctx_new(struct aivenauth_ctx **ctxp)
{
	struct aivenauth_ctx *ctx;

	if (ctxp == NULL)
		return AIVENAUTH_ERR_INVALID;
	*ctxp = NULL;
	/* 0 = initialised now, 1 = already; a PAM module cannot rely on a
	 * constructor having run, so every context asks. */
	if (sodium_init() < 0)
		return AIVENAUTH_ERR_INTERNAL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	config_init_defaults(&ctx->cfg);
	if (ctx->cfg.api_url == NULL || ctx->cfg.cache_dir == NULL ||
	    ctx->cfg.api_token_file == NULL || ctx->cfg.account_map_file == NULL) {
		config_free(&ctx->cfg);
		free(ctx);
		return AIVENAUTH_ERR_NOMEM;
	}
	ctx->log_max = LOG_INFO;
	*ctxp = ctx;
	return AIVENAUTH_OK;
}

void
aivenauth_ctx_free(struct aivenauth_ctx *ctx)
{
	if (ctx == NULL)
		return;
	aivenauth_cache_close(ctx);
	acctmap_cache_free(ctx);
	if (ctx->learned_free != NULL)
		ctx->learned_free(ctx);
	if (ctx->dupnames_free != NULL)
		ctx->dupnames_free(ctx);
	net_unload(ctx);
	config_free(&ctx->cfg);
	free(ctx);
}

int
aivenauth_api_last_http(struct aivenauth_ctx *ctx)
{
	return ctx != NULL ? ctx->last_http : 0;
}
