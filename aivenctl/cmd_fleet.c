/*
 * cmd_fleet.c - aivenctl fleet ...: fleet mode commands (docs/FLEET.md).
 *
 * keygen makes the publisher's Ed25519 pair: the secret key goes to a new
 * 0600 file (never over an existing one, never through a symlink), the
 * public key to stdout, alone on its line, so that a script can pin it in
 * the followers' fleet_public_keys.
 *
 * status reads what the fleet's etcd says (leader, published generation,
 * heartbeat) and verifies the heartbeat as a follower would: exit 0 when
 * a verified heartbeat says the publisher synced within max_stale, else
 * EX_UNAVAILABLE, what a follower's logins would then get.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenauth_fleet.h"
#include "fleetview.h"
#include "aivenctl.h"

int
cmd_fleet_keygen(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char pk[AIVENAUTH_FLEET_PK_B64_SIZE];
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *out = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "o:h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		if (c == 'o') {
			out = optarg;
		} else if (c == 'h') {
			usage_print(stdout, "fleet keygen");
			return 0;
		} else {
			return opt_error("fleet keygen", argv);
		}
	}
	if (optind != argc) {
		ctl_err("fleet keygen takes no arguments");
		return usage_of("fleet keygen");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if (out == NULL)
		out = aivenauth_config_get(ctx, "fleet_signing_key_file");
	if (out == NULL) {
		ctl_err("fleet keygen: give --out FILE, or set "
		    "fleet_signing_key_file in the config");
		aivenauth_ctx_free(ctx);
		return EX_USAGE;
	}
	st = aivenauth_fleet_keygen(ctx, out, pk);
	if (st != AIVENAUTH_OK) {
		rc = exit_code(st);
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:s, s:s}", "public_key", pk,
		    "secret_key_file", out);

		rc = json_print(o);
		json_decref(o);
	} else {
		printf("%s\n", pk);
		ctl_note("secret key written to %s (mode 0600); pin the public "
		    "key above in the followers' fleet_public_keys", out);
	}
out:
	aivenauth_ctx_free(ctx);
	return rc;
}

int
cmd_fleet_status(int argc, char *argv[])
{
	const struct aivenauth_fleet_status *fs;
	struct aivenauth_ctx *ctx;
	struct fleet_view v;
	int64_t max_stale = 0;
	const char *ms;
	char b1[32], b2[32];
	int rc, jr;

	if ((rc = parse_no_opts("fleet status", argc, argv)) >= 0)
		return rc;
	if (optind != argc) {
		ctl_err("fleet status takes no arguments");
		return usage_of("fleet status");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	ms = aivenauth_config_get(ctx, "max_stale");
	if (ms != NULL && !parse_i64(ms, 0, INT64_MAX, &max_stale))
		max_stale = 0;
	fleet_view_read(ctx, max_stale, &v);
	fs = &v.fs;
	if (v.etcd_st != AIVENAUTH_OK) {
		ctl_err("fleet status: %s", fleet_strerror(v.etcd_st));
		rc = exit_code(v.etcd_st);
		goto out;
	}
	/* The exit code is the fleet's (the publisher's heartbeat); whether
	 * this follower caught up is the "this host" line. */
	rc = fleet_view_fresh(&v) ? 0 : EX_UNAVAILABLE;
	if (g.json) {
		json_t *o = fleet_view_json(&v);

		jr = o != NULL ? json_print(o) : EX_OSERR;
		json_decref(o);
		if (jr != 0)
			rc = jr;
		goto out;
	}
	print_kv("this host:", "%s", fleet_mode_name(v.mode));
	print_kv("etcd revision:", "%" PRId64, fs->revision);
	print_kv("leader:", "%s", fs->has_leader ? fs->leader : "none (no publisher "
	    "holds the leader key)");
	print_kv("published generation:", "%" PRIu64, fs->current);
	if (v.mode == FLEET_MODE_FOLLOW && v.have_applied)
		print_kv("applied generation:", "%" PRIu64 " (%s)", v.applied, v.local);
	else if (v.mode == FLEET_MODE_FOLLOW)
		print_kv("applied generation:", "none (no readable cache)");
	if (!fs->has_heartbeat)
		print_kv("heartbeat:", "none");
	else if (!fs->heartbeat_valid)
		print_kv("heartbeat:", "REFUSED: %s", fs->heartbeat_error);
	else {
		print_kv("heartbeat:", "verified, generation %" PRIu64 ", publisher "
		    "%s", fs->heartbeat_generation, fs->publisher_id);
		print_kv("last good sync:", "%s (%" PRId64 " s ago)",
		    fmt_time(fs->last_sync_time, b1), v.hb_age);
		print_kv("heartbeat written:", "%s", fmt_time(fs->published_time, b2));
	}
	print_kv("state:", "%s", v.state);
	if (v.mode == FLEET_MODE_PUBLISH && fs->has_heartbeat &&
	    !fs->heartbeat_valid)
		printf("this publisher cannot verify the fleet's state, so it "
		    "never takes the leader key: pin the leader's public key in "
		    "fleet_public_keys here (or use the fleet's "
		    "fleet_signing_key_file)\n");
out:
	aivenauth_ctx_free(ctx);
	return rc;
}

/*
 * The leader key stays with its publisher across runs (docs/FLEET.md):
 * resign hands it over now, e.g. before maintenance, instead of a whole
 * lease TTL after the host stopped.  Another host's key is not touched.
 */
int
cmd_fleet_resign(int argc, char *argv[])
{
	char leader[AIVENAUTH_FLEET_ID_SIZE];
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	bool resigned = false;
	int rc;

	if ((rc = parse_no_opts("fleet resign", argc, argv)) >= 0)
		return rc;
	if (optind != argc) {
		ctl_err("fleet resign takes no arguments");
		return usage_of("fleet resign");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if ((st = aivenauth_fleet_resign(ctx, &resigned, leader)) !=
	    AIVENAUTH_OK) {
		ctl_err("fleet resign: %s", fleet_strerror(st));
		rc = exit_code(st);
	} else if (g.json) {
		json_t *o = json_pack("{s:b, s:o}", "resigned", resigned,
		    "leader", json_str(resigned || leader[0] == '\0' ? NULL :
		    leader));
		int jr = o != NULL ? json_print(o) : EX_OSERR;

		json_decref(o);
		rc = jr;
	} else if (resigned) {
		printf("gave up the leader key\n");
	} else {
		print_visible(stdout, "not the leader (leader: %s); nothing to "
		    "resign", leader[0] != '\0' ? leader : "none");
		putchar('\n');
	}
	aivenauth_ctx_free(ctx);
	return rc;
}
