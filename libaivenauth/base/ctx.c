/*
 * ctx.c - the context: creation, logging, teardown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

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
	    ctx->cfg.api_token_file == NULL) {
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
	if (ctx->learned_free != NULL)
		ctx->learned_free(ctx);
	net_unload(ctx);
	config_free(&ctx->cfg);
	free(ctx);
}

void
aivenauth_set_log(struct aivenauth_ctx *ctx, aivenauth_log_fn *fn, void *arg,
    int max_level)
{
	if (ctx == NULL)
		return;
	ctx->log_fn = fn;
	ctx->log_arg = arg;
	ctx->log_max = max_level;
}

bool
ctx_log_enabled(const struct aivenauth_ctx *ctx, int level)
{
	return ctx != NULL && ctx->log_fn != NULL && level <= ctx->log_max;
}

void
ctx_vlog(struct aivenauth_ctx *ctx, int level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (!ctx_log_enabled(ctx, level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	ctx->log_fn(ctx->log_arg, level, msg);
}

void
ctx_log(struct aivenauth_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

int
aivenauth_api_last_http(struct aivenauth_ctx *ctx)
{
	return ctx != NULL ? ctx->last_http : 0;
}

void
aivenauth_secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}
