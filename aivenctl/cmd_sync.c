/*
 * cmd_sync.c - aivenctl sync: mirror the organization's application users
 * and tokens into the cache in one write transaction, and send scheduled
 * (rotate --grace) revocations that are due.  A failed fetch changes
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "aivenauth_fleet.h"
#include "aivenctl.h"
#include "fleetview.h"
#include "ops.h"

/*
 * A standby publisher follows the leader: it applies the fleet's
 * generation like a follower, so that when it takes over it publishes
 * with the fleet's hash key and every hash the leader enrolled (a token
 * created on the leader would otherwise lose its hash at the takeover),
 * and its own logins see the leader's changes.  No API call.
 */
static int
standby_follow(struct aivenauth_ctx *ctx, const char *leader)
{
	struct aivenauth_fleet_follow_result r;
	enum aivenauth_status st;

	if (!g.json) {
		print_visible(stdout, "not the leader (leader: %s); nothing "
		    "synced", leader[0] != '\0' ? leader : "unknown");
		putchar('\n');
	}
	st = aivenauth_fleet_follow_once(ctx, &r);
	if (st != AIVENAUTH_OK) {
		ctl_err("sync: standby: cannot follow the leader's generation: "
		    "%s (pin the leader's public key in fleet_public_keys if it "
		    "signs with another key)", fleet_strerror(st));
		return exit_code(st);
	}
	if (g.json) {
		json_t *o = json_pack("{s:b, s:o, s:I, s:b, s:b}",
		    "leader", 0, "leader_id", json_str(leader[0] != '\0' ?
		    leader : NULL), "applied_generation", (json_int_t)r.applied,
		    "new_generation", r.new_generation,
		    "none_published", r.none_published);
		int jr = o != NULL ? json_print(o) : EX_OSERR;

		json_decref(o);
		return jr;
	}
	if (r.none_published)
		printf("standby: no generation published yet\n");
	else if (r.new_generation)
		printf("standby: applied generation %llu\n",
		    (unsigned long long)r.applied);
	else
		printf("standby: generation %llu is current\n",
		    (unsigned long long)r.applied);
	return 0;
}

int
cmd_sync(int argc, char *argv[])
{
	struct aivenauth_apply_stats s = { 0 };
	struct aivenauth_fleet_publisher *pub = NULL;
	struct aivenauth_fleet_publish_result pr;
	char leader[AIVENAUTH_FLEET_ID_SIZE];
	bool is_leader = false;
	int fleet_rc = 0;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *prom;       /* --prometheus FILE (ops.h) */
	int64_t t0 = now_ms();
	unsigned errs;
	int rc, mr;

	if ((rc = prom_parse_opts("sync", argc, argv, false, &prom)) >= 0)
		return rc;
	if (optind != argc) {
		ctl_err("sync takes no arguments");
		return usage_of("sync");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	/* A publisher syncs only while it holds the leader key: one host's
	 * API load, whatever the number of publishers. */
	if (fleet_mode_of(ctx) == FLEET_MODE_PUBLISH) {
		st = aivenauth_fleet_publisher_open(ctx, &pub, &is_leader,
		    leader);
		if (st == AIVENAUTH_ERR_CONFIG) {
			/* A publisher that cannot verify the fleet's current
			 * generation (a key not pinned here), or one missing
			 * its key: it neither leads nor syncs (said above). */
			ctl_err("sync: this publisher does not campaign for "
			    "the fleet's leader key (its configuration, see "
			    "above); nothing synced, nothing published");
			rc = exit_code(st);
			goto out;
		} else if (st != AIVENAUTH_OK) {
			/* etcd unreachable: who leads is unknown.  This host's
			 * own cache still gets its sync (its logins keep
			 * working); the fleet gets nothing, and the exit code
			 * says so. */
			ctl_warn("sync: cannot campaign for the fleet's leader "
			    "key: %s; syncing this host only, publishing "
			    "nothing", fleet_strerror(st));
			fleet_rc = exit_code(st);
		} else if (!is_leader) {
			rc = standby_follow(ctx, leader);
			goto out;
		}
	}
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != 0) {
		/* The API client does not need the cache: the revocations in
		 * the revocation journal are sent all the same (the library
		 * does that when it cannot open the cache). */
		memset(&s, 0, sizeof(s));
		if (aivenauth_sync(ctx, &s) != AIVENAUTH_OK &&
		    s.revocations_sent + s.revocations_failed > 0)
			ctl_warn("the cache cannot be opened; journaled "
			    "revocations sent to the API: %zu, failed: %zu "
			    "(retried at the next sync)", s.revocations_sent,
			    s.revocations_failed);
		goto out;
	}
	errs = ctl_log_errors();
	st = aivenauth_sync(ctx, &s);
	sync_state_write(ctx, t0, st);  /* for status --prometheus */
	if (st != AIVENAUTH_OK) {
		/* The library logs the request, the HTTP status and the API
		 * message, and usually "sync failed" itself: say it only if
		 * it did not. */
		if (ctl_log_errors() == errs)
			ctl_err("sync failed: %s; the cache is unchanged",
			    aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I}",
		    "users_added", (json_int_t)s.users_added,
		    "users_updated", (json_int_t)s.users_updated,
		    "users_removed", (json_int_t)s.users_removed,
		    "tokens_added", (json_int_t)s.tokens_added,
		    "tokens_updated", (json_int_t)s.tokens_updated,
		    "tokens_removed", (json_int_t)s.tokens_removed,
		    "tombstones_expired", (json_int_t)s.tombstones_expired,
		    "revocations_sent", (json_int_t)s.revocations_sent,
		    "revocations_failed", (json_int_t)s.revocations_failed,
		    "generation", (json_int_t)s.generation);

		rc = json_print(o);
		json_decref(o);
	} else {
		printf("users: +%zu ~%zu -%zu, tokens: +%zu ~%zu -%zu, "
		    "generation %llu\n", s.users_added, s.users_updated,
		    s.users_removed, s.tokens_added, s.tokens_updated,
		    s.tokens_removed, (unsigned long long)s.generation);
		if (s.revocations_sent != 0)
			printf("revocations sent to the API: %zu\n",
			    s.revocations_sent);
	}
	if (s.revocations_failed != 0)
		ctl_warn("%zu revocation(s) could not be sent to the API; "
		    "they are retried at the next sync", s.revocations_failed);
	if (pub != NULL) {
		st = aivenauth_fleet_publisher_publish(pub, &pr);
		if (st != AIVENAUTH_OK) {
			ctl_err("sync: synced here, but not published to the "
			    "fleet: %s", fleet_strerror(st));
			rc = exit_code(st);
		} else if (!g.json) {
			if (pr.new_generation)
				printf("fleet: published generation %llu (%s, "
				    "%zu records; %zu users, %zu tokens)\n",
				    (unsigned long long)pr.generation,
				    pr.delta ? "delta" : "full", pr.n_records,
				    pr.n_users, pr.n_tokens);
			else
				printf("fleet: heartbeat for generation %llu\n",
				    (unsigned long long)pr.generation);
		}
	}
	if (rc == 0)
		rc = fleet_rc;
out:
	aivenauth_fleet_publisher_close(pub);
	/* Metrics after every attempt, failed ones included. */
	if (prom != NULL && (mr = metrics_write(ctx, prom)) != 0 && rc == 0)
		rc = mr;
	aivenauth_ctx_free(ctx);
	return rc;
}
