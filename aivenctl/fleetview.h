/*
 * fleetview.h - the fleet as `status`, `fleet status` and `doctor` show
 * it (fleetview.c).
 */
#ifndef AIVENCTL_FLEETVIEW_H
#define AIVENCTL_FLEETVIEW_H

#include "aivenauth_fleet.h"
#include "aivenctl.h"

enum fleet_mode { FLEET_MODE_OFF, FLEET_MODE_PUBLISH, FLEET_MODE_FOLLOW };

enum fleet_mode fleet_mode_of(struct aivenauth_ctx *ctx);
/* aivenauth_strerror() worded for a status that came from etcd. */
const char *fleet_strerror(enum aivenauth_status st);
const char *fleet_mode_name(enum fleet_mode m);

struct fleet_view {
	enum fleet_mode mode;
	enum aivenauth_status etcd_st;  /* of aivenauth_fleet_status */
	struct aivenauth_fleet_status fs;
	bool have_applied;              /* a follower's cache was readable */
	uint64_t applied;               /* ... and holds this generation */
	int64_t hb_age;                 /* s since the publisher's last good
	                                   sync, -1 unknown */
	int64_t max_stale;
	/* The fleet: "fresh", "stale" (the heartbeat older than max_stale),
	 * "unverified" (heartbeat refused), "never-published",
	 * "etcd-unavailable". */
	const char *state;
	/* This follower (NULL elsewhere): "in-sync", "behind" (not on the
	 * published generation), "ahead" (holds a newer one than etcd names:
	 * etcd lost it, and every generation up to the one held is refused
	 * as a replay), "no-cache", "unknown" (etcd unavailable). */
	const char *local;
};

/* Read etcd (the network module) and, on a follower, the cache. */
void fleet_view_read(struct aivenauth_ctx *ctx, int64_t max_stale,
    struct fleet_view *v);
bool fleet_view_fresh(const struct fleet_view *v);
/* The view as a JSON object (NULL without memory). */
json_t *fleet_view_json(const struct fleet_view *v);

#endif /* AIVENCTL_FLEETVIEW_H */
