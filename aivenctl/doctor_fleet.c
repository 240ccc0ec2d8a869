/*
 * doctor_fleet.c - the fleet checks of `aivenctl doctor` (docs/FLEET.md):
 *
 *   fleet   the role and its keys: a follower pins at least one publisher
 *           key and holds no signing key; a publisher's signing key file
 *           reads, and its public half is among the pinned keys if any
 *           are pinned
 *   etcd    etcd answers with this host's credentials (not with
 *           --offline)
 *   fleet   the publisher's heartbeat verifies against the pinned keys
 *           and is younger than max_stale; a follower holds the
 *           published generation
 *
 * Read only, like the rest of doctor: nothing is written to etcd or the
 * cache.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "doctor.h"
#include "fleetview.h"

/* The sync timer's period: 60 s plus up to 15 s of randomized delay. */
#define TIMER_PERIOD_S 75

/* The keys a follower needs and a publisher signs with. */
static void
check_keys(struct doctor *d, struct aivenauth_ctx *ctx, enum fleet_mode m)
{
	const char *pinned = aivenauth_config_get(ctx, "fleet_public_keys");
	const char *skf = aivenauth_config_get(ctx, "fleet_signing_key_file");
	char pk[AIVENAUTH_FLEET_PK_B64_SIZE], fix[FIX_MAX];
	enum aivenauth_status st;
	struct stat sb;

	if (m == FLEET_MODE_FOLLOW) {
		if (pinned == NULL || *pinned == '\0')
			report(d, FAIL, "fleet", "set fleet_public_keys to the "
			    "public key `aivenctl fleet keygen` printed on the "
			    "publisher", "no fleet_public_keys pinned: this "
			    "follower refuses every generation");
		else
			report(d, OK, "fleet", NULL, "fleet = follow, publisher "
			    "key(s) pinned: %s", pinned);
		if (skf != NULL && lstat(skf, &sb) == 0) {
			snprintf(fix, sizeof(fix), "shred -u %s and unset "
			    "fleet_signing_key_file (only publishers sign)", skf);
			report(d, WARN, "fleet", fix, "the fleet signing key %s "
			    "is on a follower: whoever reads it here can sign "
			    "generations every follower accepts", skf);
		}
		return;
	}
	if (skf == NULL) {
		report(d, FAIL, "fleet", "aivenctl fleet keygen --out "
		    "/etc/aivenauth/fleet.key && chown " SYNC_USER " "
		    "/etc/aivenauth/fleet.key, and set fleet_signing_key_file",
		    "fleet = publish without "
		    "fleet_signing_key_file: nothing can be published");
		return;
	}
	if ((st = aivenauth_fleet_pubkey(ctx, skf, pk)) != AIVENAUTH_OK) {
		snprintf(fix, sizeof(fix), "make %s a regular file, mode 0600, "
		    "owned by root or %s (see the message above)", skf,
		    SYNC_USER);
		report(d, FAIL, "fleet", fix, "fleet_signing_key_file %s: %s",
		    skf, aivenauth_strerror(st));
		return;
	}
	if (pinned != NULL && *pinned != '\0' && strstr(pinned, pk) == NULL) {
		snprintf(fix, sizeof(fix), "add %s to fleet_public_keys here "
		    "and on the followers", pk);
		report(d, FAIL, "fleet", fix, "the public key of %s (%s) is not "
		    "among fleet_public_keys: followers pinning those keys "
		    "refuse what this publisher signs", skf, pk);
		return;
	}
	report(d, OK, "fleet", NULL, "fleet = publish, signing key %s "
	    "(public key %s)", skf, pk);
}

/* What etcd says, against what this host holds. */
static void
check_view(struct doctor *d, struct aivenauth_ctx *ctx, enum fleet_mode m,
    int64_t max_stale, int64_t takeover)
{
	const char *ep = aivenauth_config_get(ctx, "etcd_endpoints");
	const struct aivenauth_fleet_status *fs;
	struct fleet_view v;

	if (d->offline) {
		report(d, OK, "etcd", NULL, "not checked (--offline)");
		return;
	}
	fleet_view_read(ctx, max_stale, &v);
	fs = &v.fs;
	if (v.etcd_st != AIVENAUTH_OK) {
		report(d, FAIL, "etcd", "check etcd_endpoints, etcd_ca_file, "
		    "etcd_user and etcd_password_file (see the message above) "
		    "and that etcd answers", "etcd at %s: %s%s", nn(ep),
		    fleet_strerror(v.etcd_st), m == FLEET_MODE_FOLLOW ?
		    ": this follower keeps its last complete generation until "
		    "max_stale" : ": nothing is published");
		return;
	}
	report(d, OK, "etcd", NULL, "etcd at %s answered (revision %" PRId64
	    ", leader %s)", nn(ep), fs->revision, fs->has_leader ? fs->leader :
	    "none");
	if (fs->follower_can_write == 1)
		report(d, WARN, "etcd", "give this follower an etcd user whose "
		    "role has only read on etcd_prefix (etcd auth enabled)",
		    "this follower's etcd access can write the fleet's prefix "
		    "(etcd auth off, or a read-write role): a compromised "
		    "follower could withhold or delete what every host "
		    "follows, or hold the leader key (it cannot forge a login: "
		    "records are signed)");
	else if (fs->follower_can_write == 0)
		report(d, OK, "etcd", NULL, "this follower's etcd user can read "
		    "the prefix, not write it");
	if (strcmp(v.state, "never-published") == 0) {
		report(d, m == FLEET_MODE_FOLLOW ? FAIL : WARN, "fleet",
		    "runuser -u aivenauth -- aivenctl sync (on the publisher)",
		    "no generation published yet%s", m == FLEET_MODE_FOLLOW ?
		    ": this follower refuses every login" : "");
		return;
	}
	if (strcmp(v.state, "unverified") == 0 && m == FLEET_MODE_FOLLOW) {
		report(d, FAIL, "fleet", "pin the publisher's public key in "
		    "fleet_public_keys", "the heartbeat in etcd is refused: %s",
		    fs->heartbeat_error);
		return;
	}
	if (strcmp(v.state, "unverified") == 0) {
		/* fleet_trust.c: such a publisher never campaigns. */
		report(d, FAIL, "fleet", "if the fleet's publishers sign with "
		    "another key, pin its public key in fleet_public_keys here "
		    "(or use the fleet's fleet_signing_key_file); if what etcd "
		    "holds is not the fleet's, point PREFIXcurrent back at a "
		    "generation you trust", "the heartbeat in etcd is refused "
		    "(%s): this publisher cannot verify the fleet's state, so "
		    "it never takes the leader key (it would publish what the "
		    "followers refuse)", fs->heartbeat_error);
		return;
	}
	if (strcmp(v.state, "stale") == 0)
		report(d, FAIL, "fleet", "check the publisher's "
		    "aivenauth-sync.timer and its journal", "the publisher's "
		    "last good sync (heartbeat from %s) was %" PRId64 " s ago, "
		    "older than max_stale (%" PRId64 " s): logins are refused "
		    "as cache-stale", fs->publisher_id, v.hb_age, max_stale);
	else
		report(d, OK, "fleet", NULL, "heartbeat verified: generation %"
		    PRIu64 " by %s, last good sync %" PRId64 " s ago",
		    fs->current, fs->publisher_id, v.hb_age);
	/* A leader syncs once a timer period: a key held much longer
	 * without a heartbeat is a stuck leader, or one written into etcd
	 * by someone else (the key is not signed), keeping every publisher
	 * on standby. */
	if (fs->has_leader && v.hb_age > takeover)
		report(d, WARN, "fleet", "check the leader's "
		    "aivenauth-sync.timer; if that host is gone, delete the "
		    "leader key (etcdctl del PREFIXleader)", "the leader key "
		    "names %s, but the last heartbeat is %" PRId64 " s old: a "
		    "stuck leader, or a leader key not written by a publisher",
		    fs->leader, v.hb_age);
	if (m != FLEET_MODE_FOLLOW)
		return;
	if (!v.have_applied)
		report(d, FAIL, "fleet", "runuser -u aivenauth -- aivenctl "
		    "follow --once; systemctl enable --now "
		    "aivenauth-follow.service", "no readable cache: generation %"
		    PRIu64 " is published but not applied here", fs->current);
	else if (v.applied > fs->current)
		report(d, FAIL, "fleet", "runuser -u aivenauth -- aivenctl sync "
		    "on the publisher (it publishes past the generation held "
		    "here)", "this follower holds generation %" PRIu64 ", newer "
		    "than the %" PRIu64 " etcd names (etcd lost it?): it refuses "
		    "every generation up to %" PRIu64 " as a replay and its "
		    "freshness no longer moves", v.applied, fs->current,
		    v.applied);
	else if (v.applied < fs->current)
		report(d, WARN, "fleet", "systemctl status "
		    "aivenauth-follow.service", "this follower holds "
		    "generation %" PRIu64 ", etcd publishes %" PRIu64 ": a "
		    "change since is not applied here yet", v.applied,
		    fs->current);
	else
		report(d, OK, "fleet", NULL, "this follower holds the published "
		    "generation %" PRIu64, v.applied);
}

void
check_fleet(struct doctor *d, struct aivenauth_ctx *ctx)
{
	enum fleet_mode m = fleet_mode_of(ctx);
	const char *v;
	int64_t max_stale = 0, ttl = 180, takeover;

	if (m == FLEET_MODE_OFF)
		return;
	/* One value at a time: aivenauth_config_get() may format into one
	 * buffer per context. */
	v = aivenauth_config_get(ctx, "max_stale");
	if (v == NULL || !parse_i64(v, 0, INT64_MAX, &max_stale))
		max_stale = 0;
	v = aivenauth_config_get(ctx, "fleet_lease_ttl");
	if (v == NULL || !parse_i64(v, 1, INT64_MAX, &ttl))
		ttl = 180;
	takeover = ttl + TIMER_PERIOD_S;
	check_keys(d, ctx, m);
	/* A leader that stops is replaced a lease TTL plus one sync timer
	 * period later; a max_stale shorter than that turns every host stale
	 * during an ordinary takeover. */
	if (max_stale != 0 && max_stale < takeover)
		report(d, WARN, "fleet", "set max_stale well above "
		    "the takeover time, e.g. max_stale = 1h", "max_stale = %"
		    PRId64 " s is shorter than a leader takeover (fleet_lease_ttl "
		    "%" PRId64 " s + one timer period, up to %" PRId64 " s): "
		    "logins turn cache-stale whenever the leader stops",
		    max_stale, ttl, takeover);
	if (m == FLEET_MODE_PUBLISH && ttl <= TIMER_PERIOD_S)
		report(d, WARN, "fleet", "set fleet_lease_ttl above 75 s (the "
		    "default is 180)", "fleet_lease_ttl = %" PRId64 " s does not "
		    "outlast the sync timer's period (up to %d s): the key "
		    "lapses between runs and leadership passes from publisher "
		    "to publisher", ttl, TIMER_PERIOD_S);
	check_view(d, ctx, m, max_stale, takeover);
}
