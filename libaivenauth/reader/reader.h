/*
 * reader.h - the reader's side of the trust boundary: what a service
 * (pam_aiven in sshd, nginx, postgres; the SASL responder) can do.  It
 * reads the published snapshot and the state record, decides, and may
 * ask the API about the presented token (online = learn); it can change
 * nothing.  Nothing here depends on writer/ or fleet/: pam_aiven.so is
 * linked from base/ and reader/ alone.
 */
#ifndef AIVENAUTH_READER_H
#define AIVENAUTH_READER_H

#include "base/cache.h"

/* Open the published snapshot and map the state record (cache_reader.c). */
enum aivenauth_status reader_open(struct aivenauth_ctx *ctx);
/* Close whatever ctx has open (a cache inherited across fork() included)
 * and open the snapshot. */
enum aivenauth_status reader_reopen(struct aivenauth_ctx *ctx);

/*
 * Make sure ctx has a cache this process opened: the one it has (a
 * writer context reads its own environment), else the published
 * snapshot.  The verify path's open: one compare when already open.
 */
static inline enum aivenauth_status
reader_attach(struct aivenauth_ctx *ctx)
{
	if (ctx->cache != NULL && cache_is_ours(ctx->cache))
		return AIVENAUTH_OK;
	return reader_reopen(ctx);
}

/*
 * user_match=any refuses uid 0 by name only ("root"), without asking NSS:
 * for a program that decides inside one event loop (the SASL responder),
 * where a name lookup over LDAP or SSSD would hold every other client, and
 * whose logins name a mailbox, an SMTP identity or an LDAP entry rather
 * than a Unix account.  (verify.c)
 */
void reader_uid0_by_name_only(struct aivenauth_ctx *ctx);

/*
 * The reason an online check (aivenauth_api_me, status st != OK) refused a
 * token, logged with why: ONLINE_REJECTED for 401, any 403 and a 200 about
 * another user, ONLINE_IP_POLICY for a 403 with an IP-policy error_code,
 * ONLINE_UNAVAILABLE for everything else (unreachable, 5xx, a body that
 * is not the API's).  (online.c)
 */
enum aivenauth_reason online_refusal(struct aivenauth_ctx *ctx,
    enum aivenauth_status st, const char *prefix);

#endif
