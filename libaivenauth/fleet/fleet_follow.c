/*
 * fleet_follow.c - the follower's driver (docs/FLEET.md, "Follower's
 * apply protocol"): one step for `aivenctl follow --once`, or the loop of
 * `aivenctl follow`: a step (read at one revision, apply what is new,
 * fleet_apply.c), then a watch on the heartbeat key until something
 * changes, and on any failure a fresh connection after a backoff, staying
 * on the generation applied meanwhile.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "aivenauth_fleet.h"
#include "fleet/fleet_etcd.h"

#define WATCH_MS 30000L
#define BACKOFF_MIN_MS 1000L
#define BACKOFF_MAX_MS 30000L

enum aivenauth_status
aivenauth_fleet_follow_once(struct aivenauth_ctx *ctx,
    struct aivenauth_fleet_follow_result *res)
{
	struct fleet_keys keys;
	struct fleet_etcd fe;
	enum aivenauth_status st;

	if (ctx == NULL || res == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(res, 0, sizeof(*res));
	if ((st = fleet_follower_keys(ctx, &keys)) != AIVENAUTH_OK ||
	    (st = fleet_etcd_open(ctx, &fe)) != AIVENAUTH_OK)
		return st;
	st = fleet_apply_step(ctx, &fe, &keys, res);
	fleet_etcd_close(&fe);
	return st;
}

static void
sleep_ms(long ms, volatile int *stop)
{
	struct timespec ts;

	/* In slices, so that a stop request is seen within 200 ms. */
	while (ms > 0 && !*stop) {
		long slice = ms < 200 ? ms : 200;

		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !*stop)
			;
		ms -= slice;
	}
}

enum aivenauth_status
aivenauth_fleet_follow_run(struct aivenauth_ctx *ctx, volatile int *stop,
    aivenauth_fleet_follow_report *report, void *arg)
{
	struct aivenauth_fleet_follow_result res;
	struct fleet_keys keys;
	struct fleet_change ch;
	struct fleet_etcd fe;
	enum aivenauth_status st;
	long backoff = BACKOFF_MIN_MS;
	int64_t rev;
	bool open_ = false;

	if (ctx == NULL || stop == NULL)
		return AIVENAUTH_ERR_INVALID;
	if ((st = fleet_follower_keys(ctx, &keys)) != AIVENAUTH_OK)
		return st;
	while (!*stop) {
		if (!open_) {
			if ((st = fleet_etcd_open(ctx, &fe)) != AIVENAUTH_OK) {
				if (st == AIVENAUTH_ERR_CONFIG ||
				    st == AIVENAUTH_ERR_UNSAFE_FILE ||
				    st == AIVENAUTH_ERR_NET_UNAVAILABLE)
					return st;
				goto retry;
			}
			open_ = true;
		}
		/* 1-4: read at one revision, apply what is new. */
		st = fleet_apply_step(ctx, &fe, &keys, &res);
		if (st != AIVENAUTH_OK && !res.replay_refused)
			goto retry;
		if (report != NULL)
			(*report)(arg, &res);
		backoff = BACKOFF_MIN_MS;
		rev = res.revision;
		/* 5: watch from R+1; a change of current or heartbeat is read
		 * again as a whole step (at a new revision: the step verifies
		 * it all), a compaction too (6). */
		for (;;) {
			if (*stop)
				break;
			st = fleet_watch(&fe, rev + 1, WATCH_MS, &ch);
			if (st != AIVENAUTH_OK)
				goto retry;
			if (ch.kind == FLEET_CH_TIMEOUT) {
				if (ch.revision > rev)
					rev = ch.revision;
				continue;
			}
			if (ch.kind == FLEET_CH_COMPACTED)
				ctx_log(ctx, LOG_NOTICE, "fleet: watch revision "
				    "compacted; reading everything again");
			break;
		}
		continue;
retry:
		if (open_) {
			fleet_etcd_close(&fe);
			open_ = false;
		}
		ctx_log(ctx, LOG_WARNING, "fleet: %s; retrying in %ld ms, staying "
		    "on the generation applied", aivenauth_strerror(st), backoff);
		sleep_ms(backoff, stop);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
		    backoff * 2;
	}
	if (open_)
		fleet_etcd_close(&fe);
	return AIVENAUTH_OK;
}
