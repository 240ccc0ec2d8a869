/*
 * netload.h - load the network client module on demand (see net.h).
 */
#ifndef AIVENAUTH_NETLOAD_H
#define AIVENAUTH_NETLOAD_H

#include "base/internal.h"
#include "base/net.h"

/* Load aivenauth-net.so once per context (and per process). */
enum aivenauth_status net_load(struct aivenauth_ctx *ctx);
void net_unload(struct aivenauth_ctx *ctx);

/*
 * Fill p for a call: timeouts, caps, logging from the context.  With
 * token == NULL the admin token is loaded ($AIVEN_AUTH_TOKEN or
 * api_token_file) into *secret, which the caller must release with
 * net_params_done().
 */
enum aivenauth_status net_params_init(struct aivenauth_ctx *ctx,
    struct net_params *p, const char *token, size_t token_len, bool need_org,
    struct buf *secret);
void net_params_done(struct buf *secret);

#endif
