/*
 * cmd_follow.c - aivenctl follow [--once]: a fleet follower's cache kept
 * to what the publisher signed (docs/FLEET.md).
 *
 * follow runs until SIGTERM/SIGINT (aivenauth-follow.service): it reads
 * etcd, applies each new generation all or nothing and each heartbeat's
 * sync time, and retries with backoff on etcd errors, staying on the last
 * complete generation.  --once applies what is there and exits: 0 when a
 * generation was applied or nothing was new, a sysexits code otherwise.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "aivenauth_fleet.h"
#include "aivenctl.h"
#include "fleetview.h"

static volatile int stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
print_result(const struct aivenauth_fleet_follow_result *r)
{
	if (g.json) {
		json_t *o = json_pack("{s:I, s:I, s:b, s:b, s:I, s:b, s:b, s:o, "
		    "s:I, s:o}",
		    "applied_before", (json_int_t)r->applied_before,
		    "applied", (json_int_t)r->applied,
		    "new_generation", r->new_generation,
		    "delta", r->delta,
		    "records_read", (json_int_t)r->records_read,
		    "state_updated", r->state_updated,
		    "none_published", r->none_published,
		    "sync_time", json_time(r->sync_time),
		    "etcd_revision", (json_int_t)r->revision,
		    "leader", json_str(r->leader[0] != '\0' ? r->leader : NULL));

		(void)json_print(o);
		json_decref(o);
		return;
	}
	if (r->none_published)
		printf("no generation published yet\n");
	else if (r->new_generation)
		printf("applied generation %llu (was %llu; %s, %llu records "
		    "read)\n", (unsigned long long)r->applied,
		    (unsigned long long)r->applied_before, r->delta ? "delta" :
		    "full", (unsigned long long)r->records_read);
	else
		printf("generation %llu is current%s\n",
		    (unsigned long long)r->applied, r->state_updated ?
		    "; sync time updated from the heartbeat" : "");
}

static void
report(void *arg, const struct aivenauth_fleet_follow_result *r)
{
	(void)arg;
	if (r->new_generation)
		ctl_note("applied generation %llu",
		    (unsigned long long)r->applied);
}

int
cmd_follow(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aivenauth_fleet_follow_result r;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	struct sigaction sa;
	bool once = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		if (c == '1') {
			once = true;
		} else if (c == 'h') {
			usage_print(stdout, "follow");
			return 0;
		} else {
			return opt_error("follow", argv);
		}
	}
	if (optind != argc) {
		ctl_err("follow takes no arguments");
		return usage_of("follow");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if (fleet_mode_of(ctx) != FLEET_MODE_FOLLOW) {
		ctl_err("follow: this host is not a fleet follower (set fleet = "
		    "follow, etcd_endpoints and fleet_public_keys)");
		aivenauth_ctx_free(ctx);
		return EX_CONFIG;
	}
	if (once) {
		st = aivenauth_fleet_follow_once(ctx, &r);
		if (st == AIVENAUTH_OK) {
			print_result(&r);
		} else {
			ctl_err("follow: %s; the cache keeps generation %llu",
			    r.replay_refused ? "an older generation was "
			    "refused (replay)" : st == AIVENAUTH_ERR_BAD_RESPONSE ?
			    "what etcd holds was refused (see above)" :
			    fleet_strerror(st),
			    (unsigned long long)r.applied_before);
			rc = exit_code(st);
		}
		aivenauth_ctx_free(ctx);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	st = aivenauth_fleet_follow_run(ctx, &stop_requested, report, NULL);
	if (st != AIVENAUTH_OK) {
		ctl_err("follow: %s", fleet_strerror(st));
		rc = exit_code(st);
	}
	aivenauth_ctx_free(ctx);
	return rc;
}
