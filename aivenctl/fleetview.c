/*
 * fleetview.c - what etcd says about the fleet next to what this host
 * applied: the one reading behind the fleet lines of `status`, `fleet
 * status` and `doctor`, so that the three never disagree on what
 * "behind" or "stale" means.
 */
#include <string.h>
#include <time.h>

#include "aivenctl.h"
#include "fleetview.h"

/*
 * The library's status strings name the Aiven API, which the network
 * statuses mostly concern; in a fleet command the same status comes from
 * etcd, and saying "cannot reach the Aiven API" there sends the operator
 * to the wrong server.
 */
const char *
fleet_strerror(enum aivenauth_status st)
{
	switch (st) {
	case AIVENAUTH_ERR_NET:
		return "cannot reach etcd (etcd_endpoints)";
	case AIVENAUTH_ERR_TIMEOUT:
		return "etcd request timed out";
	case AIVENAUTH_ERR_UNAUTHORIZED:
		return "etcd: wrong user or password (etcd_user, "
		    "etcd_password_file)";
	case AIVENAUTH_ERR_FORBIDDEN:
		return "etcd: permission denied, or the leader lease was lost";
	case AIVENAUTH_ERR_API_NOT_FOUND:
		return "etcd: not found (an expired lease)";
	case AIVENAUTH_ERR_API_REJECTED:
		return "etcd rejected the request";
	case AIVENAUTH_ERR_SERVER:
		return "etcd server error";
	case AIVENAUTH_ERR_BAD_RESPONSE:
		return "what etcd holds was refused (signature, format or "
		    "generation: see the message above)";
	default:
		return aivenauth_strerror(st);
	}
}

enum fleet_mode
fleet_mode_of(struct aivenauth_ctx *ctx)
{
	const char *m = aivenauth_config_get(ctx, "fleet");

	if (m != NULL && strcmp(m, "publish") == 0)
		return FLEET_MODE_PUBLISH;
	if (m != NULL && strcmp(m, "follow") == 0)
		return FLEET_MODE_FOLLOW;
	return FLEET_MODE_OFF;
}

const char *
fleet_mode_name(enum fleet_mode m)
{
	return m == FLEET_MODE_PUBLISH ? "publish" :
	    m == FLEET_MODE_FOLLOW ? "follow" : "off";
}

/*
 * The generation this host's cache holds.  On a follower the state
 * record's generation is the fleet generation it applied (fleet_apply.c
 * writes both in one transaction), so a reader sees it without the
 * writer's private directory.
 */
static bool
applied_generation(struct aivenauth_ctx *ctx, uint64_t *gen)
{
	struct aivenauth_cache_info in;
	bool ok;

	/* A follower that never applied has no cache: "applied: none" says
	 * it, without the library's error about the missing directory. */
	memset(&in, 0, sizeof(in));
	aivenauth_set_log(ctx, NULL, NULL, 0);
	ok = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDONLY) == AIVENAUTH_OK &&
	    aivenauth_cache_info(ctx, &in) == AIVENAUTH_OK;
	aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	if (ok)
		*gen = in.generation;
	return ok;
}

void
fleet_view_read(struct aivenauth_ctx *ctx, int64_t max_stale,
    struct fleet_view *v)
{
	memset(v, 0, sizeof(*v));
	v->mode = fleet_mode_of(ctx);
	v->hb_age = -1;
	v->max_stale = max_stale;
	if (v->mode == FLEET_MODE_FOLLOW)
		v->have_applied = applied_generation(ctx, &v->applied);
	v->etcd_st = aivenauth_fleet_status(ctx, &v->fs);
	if (v->etcd_st != AIVENAUTH_OK) {
		v->state = "etcd-unavailable";
		v->local = v->mode == FLEET_MODE_FOLLOW ? "unknown" : NULL;
		return;
	}
	if (v->fs.heartbeat_valid)
		v->hb_age = (int64_t)time(NULL) - v->fs.last_sync_time;
	if (!v->fs.has_heartbeat || v->fs.current == 0)
		v->state = "never-published";
	else if (!v->fs.heartbeat_valid)
		v->state = "unverified";
	else if (max_stale != 0 && v->hb_age > max_stale)
		v->state = "stale";
	else
		v->state = "fresh";
	if (v->mode != FLEET_MODE_FOLLOW)
		v->local = NULL;
	else if (!v->have_applied)
		v->local = "no-cache";
	else if (v->applied < v->fs.current)
		v->local = "behind";
	else if (v->applied > v->fs.current)
		v->local = "ahead";
	else
		v->local = "in-sync";
}

bool
fleet_view_fresh(const struct fleet_view *v)
{
	return v->state != NULL && strcmp(v->state, "fresh") == 0;
}

json_t *
fleet_view_json(const struct fleet_view *v)
{
	const struct aivenauth_fleet_status *fs = &v->fs;
	bool etcd = v->etcd_st == AIVENAUTH_OK;

	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:o, s:b, s:o, "
	    "s:I, s:o, s:o, s:o, s:o, s:o, s:I}",
	    "mode", fleet_mode_name(v->mode),
	    "state", v->state,
	    "local", json_str(v->local),
	    "etcd_error", etcd ? json_null() :
	    json_string(fleet_strerror(v->etcd_st)),
	    "etcd_revision", etcd ? json_integer(fs->revision) : json_null(),
	    "published_generation", (json_int_t)fs->current,
	    "applied_generation", v->mode == FLEET_MODE_FOLLOW &&
	    v->have_applied ? json_integer((json_int_t)v->applied) :
	    json_null(),
	    "heartbeat_valid", fs->heartbeat_valid,
	    "heartbeat_error", json_str(fs->has_heartbeat &&
	    !fs->heartbeat_valid ? fs->heartbeat_error : NULL),
	    "heartbeat_generation", (json_int_t)fs->heartbeat_generation,
	    "leader", json_str(fs->has_leader ? fs->leader : NULL),
	    "publisher_id", json_str(fs->heartbeat_valid ?
	    fs->publisher_id : NULL),
	    "last_sync_time", json_time(fs->last_sync_time),
	    "heartbeat_time", json_time(fs->published_time),
	    "heartbeat_age", v->hb_age >= 0 ? json_integer(v->hb_age) :
	    json_null(),
	    "max_stale", (json_int_t)v->max_stale);
}
