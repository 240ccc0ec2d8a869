/*
 * cmd_follow.c - aivenctl follow [--once]: a fleet follower's cache kept
 * to what the publisher signed (docs/FLEET.md), and the fleet hooks of the
 * other commands: a follower refuses what needs the admin token, a
 * publisher publishes right after a local write.
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

const char *ctl_command;

/* What needs the organization-admin token (refused on a follower), and
 * what writes this host's cache and then publishes on a publisher. */
static const char *const admin_commands[] = {
	"sync", "token create", "token add", "token revoke", "token rotate",
	"user create", "user delete", NULL,
};
static const char *const publishing_commands[] = {
	"token create", "token add", "token revoke", "token rotate",
	"user delete", NULL,
};

static bool
listed(const char *const *list, const char *cmd)
{
	for (; cmd != NULL && *list != NULL; list++)
		if (strcmp(*list, cmd) == 0)
			return true;
	return false;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static bool
fleet_is(struct aivenauth_ctx *ctx, const char *mode)
{
	const char *m = aivenauth_config_get(ctx, "fleet");

	return m != NULL && strcmp(m, mode) == 0;
}

bool
fleet_is_publisher(struct aivenauth_ctx *ctx)
{
	return fleet_is(ctx, "publish");
}

/*
 * After a token or user command on a publisher.  Published whatever the
 * command's result but a usage or configuration error: a revocation whose
 * API call failed still wrote its local tombstone (revocation beats
 * availability), and publishing a cache that did not change writes only a
 * heartbeat.
 */
/*
 * A token or user command on a publisher takes the leader key BEFORE it
 * changes anything, and keeps it (with this host's fleet lock: the
 * timer's sync waits) until it has published: a change made on a standby
 * publisher would never reach the fleet (the leader publishes its own
 * view) and a token created there would live on this host only.  So on a
 * standby the command is refused, naming the leader.  With etcd
 * unreachable it goes on (a revocation beats availability) and says the
 * change is not published.
 */
static struct aivenauth_ctx *held_ctx;
static struct aivenauth_fleet_publisher *held;
static enum aivenauth_status held_st;  /* why held is NULL */

static int
take_leader(struct aivenauth_ctx *ctx, const char *cmd)
{
	char leader[AIVENAUTH_FLEET_ID_SIZE];
	enum aivenauth_status st;
	bool is_leader = false;

	(void)ctx;
	if (held_ctx != NULL)
		return 0;       /* the command's second context */
	ctl_command = NULL;     /* no hooks for this context */
	if (ctl_ctx_new(&held_ctx) != 0) {
		ctl_command = cmd;
		return 0;
	}
	ctl_command = cmd;
	st = aivenauth_fleet_publisher_open(held_ctx, &held, &is_leader,
	    leader);
	if (st != AIVENAUTH_OK) {
		ctl_warn("%s: cannot take the fleet's leader key: %s; going on "
		    "here only, the change is not published to the fleet: "
		    "this host's next sync publishes it if it still leads; "
		    "else run the command again on the leader (a created "
		    "token: `aivenctl token add` there, the token on stdin)",
		    cmd, fleet_strerror(st));
		held_st = st;
		return 0;
	}
	if (!is_leader) {
		ctl_err("%s: this publisher is on standby: %s holds the fleet's "
		    "leader key; run `aivenctl %s` there (or `aivenctl fleet "
		    "resign` there first to hand the key over)", cmd,
		    leader[0] != '\0' ? leader : "another publisher", cmd);
		aivenauth_ctx_free(held_ctx);
		held_ctx = NULL;
		return EX_TEMPFAIL;
	}
	return 0;
}

int
fleet_before_command(struct aivenauth_ctx *ctx, const char *cmd)
{
	if (listed(admin_commands, cmd) && fleet_is(ctx, "follow")) {
		ctl_err("%s: this host is a fleet follower (fleet = follow) and "
		    "holds no Aiven credential; run `aivenctl %s` on the "
		    "publisher, whose change reaches this host through etcd",
		    cmd, cmd);
		return EX_CONFIG;
	}
	if (listed(publishing_commands, cmd) && fleet_is(ctx, "publish"))
		return take_leader(ctx, cmd);
	return 0;
}

int
fleet_after_command(const char *cmd, int rc)
{
	struct aivenauth_fleet_publish_result r;
	enum aivenauth_status st;
	int prc = 0;

	if (!listed(publishing_commands, cmd) || held_ctx == NULL)
		return rc;
	if (held == NULL) {
		/* etcd was unreachable: said before the command ran; the exit
		 * code says the fleet did not get the change. */
		if (rc != EX_USAGE && rc != EX_CONFIG)
			prc = exit_code(held_st);
	} else if (rc == EX_USAGE || rc == EX_CONFIG) {
		/* Nothing was changed. */
	} else if ((st = aivenauth_fleet_publisher_publish(held, &r)) !=
	    AIVENAUTH_OK) {
		ctl_warn("%s: done here, but not published to the fleet: %s; "
		    "this host's next sync publishes it if it still leads; "
		    "else run the command again on the leader (a created "
		    "token: `aivenctl token add` there, the token on stdin)",
		    cmd, fleet_strerror(st));
		prc = exit_code(st);
	} else {
		ctl_note("%s: published to the fleet as generation %llu%s", cmd,
		    (unsigned long long)r.generation, !r.new_generation ? "" :
		    r.delta ? " (delta)" : " (full)");
	}
	aivenauth_fleet_publisher_close(held);
	held = NULL;
	aivenauth_ctx_free(held_ctx);
	held_ctx = NULL;
	return rc != 0 ? rc : prc;
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
	if (!fleet_is(ctx, "follow")) {
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
