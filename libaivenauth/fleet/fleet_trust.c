/*
 * fleet_trust.c - a publisher campaigns for the leader key only if it can
 * verify the fleet's current generation with its own pinned keys
 * (design.md section 2, docs/FLEET.md "Leader election").
 *
 * A standby that signs with a key the fleet does not use (another key
 * pair, fleet_public_keys not naming the leader's) would otherwise take
 * the key when the leader resigns or its lease lapses, publish "its"
 * generation past the fleet's under a key every follower refuses, and
 * keep the rightful publisher out with its lease renewals: revocations
 * made after the takeover would reach no follower until max_stale made
 * them all answer "unavailable".  It cannot build on what it cannot
 * verify either (the hashes, the pending revocations of the fleet's
 * state).  So it stays on standby and says why.
 *
 * The holder of the key (resuming its lease) is not asked: what it finds
 * there that does not verify is a writer of etcd's, and it publishes past
 * it (fleet_catch_up).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "fleet/fleet_etcd.h"
#include "fleet/fleet_key.h"

/*
 * The keys a generation must verify against: fleet_public_keys; on a
 * standby publisher (fleet = publish, following the leader so that a
 * takeover publishes with the fleet's hash key and every enrolled hash)
 * without pinned keys, its own public key, the fleet sharing one signing
 * key.
 */
enum aivenauth_status
fleet_follower_keys(struct aivenauth_ctx *ctx, struct fleet_keys *keys)
{
	unsigned char sk[FLEET_SK_BYTES];
	enum aivenauth_status st;
	char why[160];

	memset(keys, 0, sizeof(*keys));
	if (ctx->cfg.fleet.mode != FLEET_FOLLOW &&
	    ctx->cfg.fleet.mode != FLEET_PUBLISH) {
		ctx_log(ctx, LOG_ERR, "this host is not in a fleet "
		    "(fleet = follow or publish)");
		return AIVENAUTH_ERR_CONFIG;
	}
	if (ctx->cfg.organization_id == NULL) {
		ctx_log(ctx, LOG_ERR, "a fleet follower needs organization_id");
		return AIVENAUTH_ERR_CONFIG;
	}
	if (ctx->cfg.fleet.public_keys == NULL &&
	    ctx->cfg.fleet.mode == FLEET_PUBLISH &&
	    ctx->cfg.fleet.signing_key_file != NULL) {
		st = fleet_key_load(ctx, ctx->cfg.fleet.signing_key_file, sk,
		    keys->pk[0]);
		sodium_memzero(sk, sizeof(sk));
		if (st == AIVENAUTH_OK)
			keys->n = 1;
		return st;
	}
	if (ctx->cfg.fleet.public_keys == NULL) {
		ctx_log(ctx, LOG_ERR, "a fleet follower needs fleet_public_keys "
		    "(the publisher's `aivenctl fleet keygen` prints it)");
		return AIVENAUTH_ERR_CONFIG;
	}
	if (!fleet_keys_parse(ctx->cfg.fleet.public_keys, keys, why,
	    sizeof(why))) {
		ctx_log(ctx, LOG_ERR, "fleet_public_keys: %s", why);
		return AIVENAUTH_ERR_CONFIG;
	}
	return AIVENAUTH_OK;
}

enum aivenauth_status
fleet_may_lead(struct aivenauth_ctx *ctx, struct fleet_etcd *fe)
{
	struct fleet_manifest m;
	struct fleet_keys keys, none;
	struct fleet_view v;
	enum aivenauth_status st;
	enum fleet_err err = FLEET_E_NONE;
	char why[160] = "";

	if ((st = fleet_follower_keys(ctx, &keys)) != AIVENAUTH_OK)
		return st;
	memset(&none, 0, sizeof(none));
	if ((st = fleet_read_view(fe, &none, NULL, &v)) != AIVENAUTH_OK)
		return st;
	if (v.current == 0)
		return AIVENAUTH_OK;            /* nothing published yet */
	st = fleet_read_manifest_why(fe, &keys, ctx->cfg.organization_id,
	    v.current, v.revision, &m, &err, why, sizeof(why));
	if (st == AIVENAUTH_OK)
		return AIVENAUTH_OK;
	if (st != AIVENAUTH_ERR_BAD_RESPONSE)
		return st;                      /* etcd: retried next run */
	if (err == FLEET_E_NONE)
		return AIVENAUTH_OK;            /* no manifest: nothing to
		                                   build on, published past */
	ctx_log(ctx, LOG_ERR, "fleet: the fleet's current generation %" PRIu64
	    " does not verify against this publisher's keys (%s): not taking "
	    "the leader key, staying on standby.  If the fleet's publishers "
	    "sign with another key, pin its public key in fleet_public_keys "
	    "here (or give this host the fleet's fleet_signing_key_file); if "
	    "generation %" PRIu64 " is not the fleet's, point %scurrent back "
	    "at the last generation you trust", v.current, why, v.current,
	    fe->prefix);
	return AIVENAUTH_ERR_CONFIG;
}
