/*
 * fleet_status.c - aivenauth_fleet_status(): what `aivenctl fleet status`
 * shows, read from etcd and verified like a follower would verify it.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "aivenauth_fleet.h"
#include "fleet/fleet_etcd.h"
#include "fleet/fleet_key.h"

/* The keys to verify with: the pinned ones, or on a publisher that pins
 * none, its own. */
static enum aivenauth_status
status_keys(struct aivenauth_ctx *ctx, struct fleet_keys *k, char *why,
    size_t wn)
{
	const struct fleet_config *f = &ctx->cfg.fleet;
	unsigned char sk[FLEET_SK_BYTES];
	enum aivenauth_status st;

	memset(k, 0, sizeof(*k));
	if (f->public_keys != NULL) {
		/* Validated when set; a failure here is a bug. */
		return fleet_keys_parse(f->public_keys, k, why, wn) ?
		    AIVENAUTH_OK : AIVENAUTH_ERR_INTERNAL;
	}
	if (f->signing_key_file != NULL) {
		st = fleet_key_load(ctx, f->signing_key_file, sk, k->pk[0]);
		sodium_memzero(sk, sizeof(sk));
		if (st == AIVENAUTH_OK)
			k->n = 1;
		else
			snprintf(why, wn, "cannot read fleet_signing_key_file");
		return st;
	}
	snprintf(why, wn, "no fleet_public_keys pinned");
	return AIVENAUTH_ERR_CONFIG;
}

enum aivenauth_status
aivenauth_fleet_status(struct aivenauth_ctx *ctx,
    struct aivenauth_fleet_status *out)
{
	enum aivenauth_status st;
	struct fleet_keys keys;
	struct fleet_etcd fe;
	struct fleet_view v;
	char why[128] = "";
	bool have_keys;

	if (ctx == NULL || out == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	have_keys = status_keys(ctx, &keys, why, sizeof(why)) == AIVENAUTH_OK;
	if ((st = fleet_etcd_open(ctx, &fe)) != AIVENAUTH_OK)
		return st;
	st = fleet_read_view(&fe, &keys, ctx->cfg.organization_id, &v);
	out->follower_can_write = -1;
	if (st == AIVENAUTH_OK && ctx->cfg.fleet.mode == FLEET_FOLLOW) {
		bool w = false;

		if (fleet_probe_write(&fe, &w) == AIVENAUTH_OK)
			out->follower_can_write = w ? 1 : 0;
	}
	fleet_etcd_close(&fe);
	if (st != AIVENAUTH_OK)
		return st;
	out->revision = v.revision;
	out->has_leader = v.has_leader;
	snprintf(out->leader, sizeof(out->leader), "%s", v.leader);
	out->current = v.current;
	out->has_heartbeat = v.has_heartbeat;
	if (v.has_heartbeat && !have_keys) {
		snprintf(out->heartbeat_error, sizeof(out->heartbeat_error),
		    "not verified: %s", why);
	} else if (v.has_heartbeat && v.hb_status != AIVENAUTH_OK) {
		snprintf(out->heartbeat_error, sizeof(out->heartbeat_error),
		    "%s", v.hb_why);
	} else if (v.has_heartbeat) {
		out->heartbeat_valid = true;
		out->heartbeat_generation = v.hb_generation;
		out->last_sync_time = v.hb.last_sync_time;
		out->published_time = v.hb.published_time;
		snprintf(out->publisher_id, sizeof(out->publisher_id), "%s",
		    v.hb.publisher_id);
	}
	return AIVENAUTH_OK;
}
