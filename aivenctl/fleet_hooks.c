/*
 * fleet_hooks.c - what runs around a command in fleet mode, so that the
 * commands themselves need not know (the flags are in commands.c):
 *
 *   - on a follower, a command that needs the admin token (CMD_ADMIN)
 *     says where to run it and exits EX_CONFIG;
 *   - on a publisher, a command that changes what the fleet sees
 *     (CMD_PUBLISHES) takes the leader key before it changes anything
 *     (EX_TEMPFAIL on a standby, naming the leader) and publishes after.
 *
 * The before hook runs when the command makes its context (ctl_ctx_new,
 * once its own options, -c among them, are parsed); the after hook when
 * it returns (cli.c).
 */
#include <string.h>

#include "aivenauth_fleet.h"
#include "aivenctl.h"
#include "fleetview.h"

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
take_leader(const char *cmd)
{
	char leader[AIVENAUTH_FLEET_ID_SIZE];
	enum aivenauth_status st;
	bool is_leader = false;

	if (held_ctx != NULL)
		return 0;       /* the command's second context */
	if (ctl_ctx_plain(&held_ctx) != 0)
		return 0;
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

static int
fleet_before_command(struct aivenauth_ctx *ctx, const struct command *c,
    const char *cmd)
{
	enum fleet_mode m = fleet_mode_of(ctx);

	if ((c->flags & CMD_ADMIN) && m == FLEET_MODE_FOLLOW) {
		ctl_err("%s: this host is a fleet follower (fleet = follow) and "
		    "holds no Aiven credential; run `aivenctl %s` on the "
		    "publisher, whose change reaches this host through etcd",
		    cmd, cmd);
		return EX_CONFIG;
	}
	if ((c->flags & CMD_PUBLISHES) && m == FLEET_MODE_PUBLISH)
		return take_leader(cmd);
	return 0;
}

static int
fleet_after_command(const struct command *c, const char *cmd, int rc)
{
	struct aivenauth_fleet_publish_result r;
	enum aivenauth_status st;
	int prc = 0;

	if (!(c->flags & CMD_PUBLISHES) || held_ctx == NULL)
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

const struct cli_hooks fleet_hooks = {
	.before = fleet_before_command,
	.after = fleet_after_command,
};
