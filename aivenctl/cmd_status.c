/*
 * cmd_status.c - aivenctl status: the cache, its counts, whether it is
 * fresh, and the last sync attempt (its time, result and error, from
 * cache_dir/sync-state).  Exit 0 when fresh and the last attempt (if any
 * is recorded) succeeded; EX_TEMPFAIL when fresh but the last attempt
 * failed (state "sync-failing": logins are still decided, a revocation
 * stops reaching this host, and the cache goes stale at max_stale unless
 * a sync succeeds); EX_UNAVAILABLE when stale, never synced or missing
 * (what pam_aiven would answer with PAM_AUTHINFO_UNAVAIL).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"
#include "fleetview.h"
#include "ops.h"

/* The fleet lines of the text output (fleetview.h). */
static void
print_fleet(const struct fleet_view *v)
{
	const struct aivenauth_fleet_status *fs = &v->fs;

	print_kv("fleet:", "%s", fleet_mode_name(v->mode));
	if (v->etcd_st != AIVENAUTH_OK) {
		print_kv("fleet_state:", "%s (%s)", v->state,
		    fleet_strerror(v->etcd_st));
		return;
	}
	print_kv("fleet_leader:", "%s", fs->has_leader ? fs->leader : "none");
	print_kv("fleet_published:", "%" PRIu64, fs->current);
	if (v->mode == FLEET_MODE_FOLLOW)
		print_kv("fleet_applied:", "%" PRIu64 " (%s)", v->applied, v->local);
	if (v->hb_age >= 0)
		print_kv("fleet_heartbeat_age:", "%" PRId64, v->hb_age);
	else
		print_kv("fleet_heartbeat_age:", "null");
	print_kv("fleet_state:", "%s", v->state);
}

/*
 * The revocation journal's overflow mark (writer/revjournal.h): while it
 * is set nothing is published, so readers refuse to decide; say why and
 * the way out.  Needs the writer's rights; silent otherwise.
 */
static void
explain_overflow(struct aivenauth_ctx *ctx)
{
	char names[16 * 160];
	size_t listed;
	bool lost;

	if (aivenauth_revocation_overflow(ctx, &listed, &lost, false) !=
	    AIVENAUTH_OK || (listed == 0 && !lost))
		return;
	if (listed > 0)
		ctl_err("the revocation journal's overflow mark is set: %zu "
		    "revocation(s) found it full and wait for a free slot (%s); "
		    "each is journaled, stored and deleted at the API as soon "
		    "as there is one: free space in the cache's file system and "
		    "run `aivenctl sync`; nothing is published (readers refuse "
		    "to decide) until then", listed,
		    ctl_overflow_named_str(ctx, names, sizeof(names)));
	if (lost)
		ctl_err("the revocation journal's overflow mark is set: at "
		    "least one revocation found it full and could not even be "
		    "named; nothing is published (readers refuse to decide) "
		    "until, once you have confirmed at the API (the Aiven "
		    "console) that every token meant to be revoked is gone, "
		    "`aivenctl token revoke --clear-overflow`");
}

int
cmd_status(int argc, char *argv[])
{
	struct aivenauth_cache_info in;
	struct aivenauth_revocation_journal rj;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st, jst, ust;
	size_t unconf;
	int64_t unconf_oldest;
	const char *state, *ms;
	int64_t now, age = -1, max_stale = 0;
	char b1[32], b2[32];
	const char *prom;       /* --prometheus [FILE] (ops.h) */
	struct fleet_view fv;
	struct sync_state ss;
	bool fleet, have_ss;
	char b3[32];
	int rc;

	if ((rc = prom_parse_opts("status", argc, argv, true, &prom)) >= 0)
		return rc;
	if (optind != argc) {
		ctl_err("status takes no arguments");
		return usage_of("status");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if (prom != NULL) {     /* metrics instead: exit 0 once written */
		rc = metrics_write(ctx, prom);
		goto out;
	}
	ms = aivenauth_config_get(ctx, "max_stale");
	if (ms != NULL && !parse_i64(ms, 0, INT64_MAX, &max_stale))
		max_stale = 0;
	memset(&in, 0, sizeof(in));
	st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDONLY);
	if (st == AIVENAUTH_OK)
		st = aivenauth_cache_info(ctx, &in);
	if (st != AIVENAUTH_OK) {
		const char *dir = aivenauth_config_get(ctx, "cache_dir");

		/* A follower's cache comes from etcd; it refuses sync. */
		if (st == AIVENAUTH_ERR_CACHE_MISSING &&
		    fleet_mode_of(ctx) == FLEET_MODE_FOLLOW)
			ctl_err("cache %s: cache does not exist (run 'aivenctl "
			    "follow --once')", nn(dir));
		else
			ctl_err("cache %s: %s", nn(dir), aivenauth_strerror(st));
		/* Why nothing is published, when that is the reason. */
		explain_overflow(ctx);
		if (g.json) {
			json_t *o = json_pack("{s:o, s:s, s:s}",
			    "cache_path", json_str(dir),
			    "state", st == AIVENAUTH_ERR_CACHE_MISSING ?
			    "missing" : "unavailable",
			    "error", aivenauth_strerror(st));

			(void)json_print(o);
			json_decref(o);
		}
		rc = exit_code(st);
		goto out;
	}
	now = (int64_t)time(NULL);
	if (in.sync_time != 0)
		age = now - in.sync_time;
	if (in.sync_time == 0 || in.generation == 0)
		state = "never-synced";
	else if (max_stale != 0 && age > max_stale)
		state = "stale";
	else
		state = "fresh";
	have_ss = sync_state_read(ctx, &ss);
	/* The exit code is first the cache's, what pam_aiven decides on; the
	 * fleet lines say why a follower's cache is what it is.  A fresh cache
	 * whose last sync failed is not "fresh" with exit 0: it is still
	 * deciding, but on data that stops moving. */
	rc = strcmp(state, "fresh") == 0 ? 0 : EX_UNAVAILABLE;
	if (rc == 0 && have_ss && !ss.success) {
		state = "sync-failing";
		rc = EX_TEMPFAIL;
	}
	if ((fleet = fleet_mode_of(ctx) != FLEET_MODE_OFF))
		fleet_view_read(ctx, max_stale, &fv);
	/* Revocations recorded but not stored yet (a full disk): readable
	 * only with the writer's rights (else "unknown", never 0). */
	jst = aivenauth_revocation_journal_info(ctx, &rj);
	/* Revoked here, the API's DELETE not yet confirmed. */
	ust = unconfirmed_revocations(ctx, &unconf, &unconf_oldest);
	if (g.json) {
		json_t *o = json_pack("{s:o, s:I, s:o, s:I, s:o, s:o, s:o, "
		    "s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		    "cache_path", json_str(in.path),
		    "schema_version", (json_int_t)in.schema_version,
		    "organization_id", json_str(in.organization_id[0] != '\0' ?
		    in.organization_id : NULL),
		    "generation", (json_int_t)in.generation,
		    "created_time", json_time(in.created),
		    "last_sync_time", json_time(in.sync_time),
		    "last_sync_age", age >= 0 ? json_integer(age) :
		    json_null(),
		    "max_stale", (json_int_t)max_stale,
		    "stale", rc == EX_UNAVAILABLE,
		    "state", state,
		    "users", (json_int_t)in.users,
		    "tokens", (json_int_t)in.tokens,
		    "enrolled", (json_int_t)in.enrolled,
		    "revoked", (json_int_t)in.revoked,
		    "pending_revocations", (json_int_t)in.pending_revocations,
		    "map_size", (json_int_t)in.map_size,
		    "file_size", (json_int_t)in.file_size,
		    "fleet", fleet ? fleet_view_json(&fv) : json_null());
		int jr;

		if (o != NULL && json_object_set_new(o, "last_attempt", !have_ss ?
		    json_null() : json_pack("{s:o, s:s, s:i, s:s, s:b}", "time",
		    json_time(ss.time), "result", ss.success ? "ok" : "failed",
		    "exit_code", ss.exit_code, "error", ss.error, "under_unit",
		    ss.unit)) != 0) {
			json_decref(o);
			o = NULL;
		}
		if (o != NULL && json_object_set_new(o,
		    "unconfirmed_revocations", ust != AIVENAUTH_OK ?
		    json_null() : json_pack("{s:I, s:o}", "count",
		    (json_int_t)unconf, "oldest_time", unconf_oldest != 0 ?
		    json_time(unconf_oldest) : json_null())) != 0) {
			json_decref(o);
			o = NULL;
		}
		if (o != NULL && json_object_set_new(o, "revocation_journal",
		    jst != AIVENAUTH_OK ? json_pack("{s:n, s:s}", "pending",
		    "error", aivenauth_strerror(jst)) : json_pack("{s:I, s:I, "
		    "s:I, s:I, s:o}", "pending", (json_int_t)rj.pending,
		    "scheduled", (json_int_t)rj.scheduled, "torn",
		    (json_int_t)rj.torn, "slots", (json_int_t)rj.slots,
		    "oldest_time", rj.oldest != 0 ? json_time(rj.oldest) :
		    json_null())) != 0) {
			json_decref(o);
			o = NULL;
		}
		jr = o != NULL ? json_print(o) : EX_OSERR;

		json_decref(o);
		if (jr != 0)
			rc = jr;
	} else {
		print_kv("cache_path:", "%s", nn(in.path));
		print_kv("schema_version:", "%u", in.schema_version);
		print_kv("organization_id:", "%s", in.organization_id[0] != '\0' ?
		    in.organization_id : "null");
		print_kv("generation:", "%" PRIu64, in.generation);
		print_kv("created_time:", "%s", fmt_time(in.created, b1));
		print_kv("last_sync_time:", "%s", fmt_time(in.sync_time, b2));
		if (age >= 0)
			print_kv("last_sync_age:", "%" PRId64, age);
		else
			print_kv("last_sync_age:", "null");
		print_kv("max_stale:", "%" PRId64, max_stale);
		print_kv("state:", "%s", state);
		/* The last attempt: empty cells when none is recorded. */
		print_kv("last_attempt_time:", "%s", have_ss ?
		    fmt_time(ss.time, b3) : "");
		print_kv("last_attempt:", "%s", !have_ss ? "" : ss.success ?
		    "ok" : "failed");
		print_kv("last_attempt_error:", "%s", have_ss ? ss.error : "");
		print_kv("users:", "%zu", in.users);
		print_kv("tokens:", "%zu", in.tokens);
		print_kv("enrolled:", "%zu", in.enrolled);
		print_kv("revoked:", "%zu", in.revoked);
		print_kv("pending_revocations:", "%zu", in.pending_revocations);
		if (ust == AIVENAUTH_OK)
			print_kv("unconfirmed_revocations:", "%zu", unconf);
		else
			print_kv("unconfirmed_revocations:", "unknown (%s)",
			    aivenauth_strerror(ust));
		if (jst == AIVENAUTH_OK)
			print_kv("journaled_revocations:", "%zu", rj.pending);
		else
			print_kv("journaled_revocations:", "unknown (%s)",
			    aivenauth_strerror(jst));
		print_kv("map_size:", "%" PRIu64, in.map_size);
		print_kv("file_size:", "%" PRIu64, in.file_size);
		if (fleet)
			print_fleet(&fv);
	}
	if (jst == AIVENAUTH_OK && rj.pending > 0)
		ctl_warn("%zu revocation(s) in the revocation journal are not "
		    "stored in the cache yet%s: run `aivenctl sync` (it stores "
		    "them and sends their DELETEs); if it fails with no space, "
		    "free space in cache_dir's file system first", rj.pending,
		    rj.pending >= rj.slots ? " and the journal is full (token "
		    "revoke fails until they are stored)" : "");
	if (jst == AIVENAUTH_OK)
		explain_overflow(ctx);
	if (ust == AIVENAUTH_OK && unconf > 0)
		ctl_warn("%zu token(s) revoked here are still listed by the API "
		    "(their DELETE has not succeeded since %s): this host "
		    "refuses them, but they still work against the API and on "
		    "hosts without this cache; every `aivenctl sync` retries "
		    "(see its log), or revoke them in the console", unconf,
		    fmt_time(unconf_oldest, b1));
	if (fleet && fv.etcd_st != AIVENAUTH_OK)
		ctl_warn("fleet: etcd: %s (the cache keeps its last complete "
		    "generation)", fleet_strerror(fv.etcd_st));
	if (rc == EX_UNAVAILABLE && fleet && fv.mode == FLEET_MODE_FOLLOW)
		ctl_err("the cache is %s; this follower gets its updates from "
		    "the publisher through etcd: check `systemctl status "
		    "aivenauth-follow.service` here and the publisher's sync "
		    "(`aivenctl fleet status`)", state);
	else if (rc == EX_UNAVAILABLE)
		ctl_err("the cache is %s%s", state, strcmp(state, "stale") == 0 ?
		    " (last good sync older than max_stale); run `aivenctl "
		    "sync`" : "; run `aivenctl sync`");
	else if (rc == EX_TEMPFAIL)
		ctl_err("the cache is fresh (last good sync %" PRId64 " s ago) "
		    "but the last sync attempt (%s) failed: %s; logins are "
		    "decided on the last good sync until max_stale, and "
		    "revocations since then do not reach this host%s", age,
		    fmt_time(ss.time, b3), ss.error[0] != '\0' ? ss.error :
		    "unknown error", ss.unit ? " (journalctl -u "
		    "aivenauth-sync.service)" : "");
out:
	aivenauth_ctx_free(ctx);
	return rc;
}
