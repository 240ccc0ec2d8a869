/*
 * cache_open.c - aivenauth_cache_open(): the admin's open of a cache, for
 * writing (the writer's private environment, writer/cache_writer.c) or
 * for reading (the published snapshot, reader/cache_reader.c).
 *
 * It lives with the writer because it is the one place that knows both
 * sides.  A service never calls it: verify attaches the reader itself
 * (reader_attach), so what a service loads (pam_aiven.so) holds no code
 * that could open the writer's environment.
 */
#include "base/cache.h"
#include "reader/reader.h"
#include "writer/writer.h"

enum aivenauth_status
aivenauth_cache_open(struct aivenauth_ctx *ctx, unsigned flags)
{
	bool rdwr = (flags & AIVENAUTH_OPEN_RDWR) != 0;
	bool create = rdwr && (flags & AIVENAUTH_OPEN_CREATE) != 0;

	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (ctx->cache != NULL) {
		/* A writer context reads too; a reader never writes. */
		if (cache_is_ours(ctx->cache) && (ctx->cache->rdwr || !rdwr))
			return AIVENAUTH_OK;
		aivenauth_cache_close(ctx);
	}
	return rdwr ? writer_open(ctx, create) : reader_open(ctx);
}
