/*
 * log.c - the context's log: every message of the library goes through
 * the caller's callback (aivenauth_set_log), never to a terminal or
 * syslog of the library's own choosing.  Callers never pass a secret.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/internal.h"

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
