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
#include "aivenctl.h"

const struct command fleet_commands[] = {
	{ "keygen", cmd_fleet_keygen, "[--out FILE]",
	  "make the publisher key pair; print the public key" },
	{ "status", cmd_fleet_status, "",
	  "leader, published generation and heartbeat, from etcd" },
	{ NULL, NULL, NULL, NULL },
};

int
cmd_fleet(int argc, char *argv[])
{
	return dispatch(fleet_commands, "fleet", argc - 1, argv + 1);
}

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

static void kv(const char *k, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
kv(const char *k, const char *fmt, ...)
{
	va_list ap;

	printf("%-21s ", k);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int
cmd_fleet_status(int argc, char *argv[])
{
	struct aivenauth_fleet_status fs;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	int64_t now, age = -1, max_stale = 0;
	const char *state, *ms;
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
	if ((st = aivenauth_fleet_status(ctx, &fs)) != AIVENAUTH_OK) {
		ctl_err("fleet status: %s", aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	now = (int64_t)time(NULL);
	if (fs.heartbeat_valid)
		age = now - fs.last_sync_time;
	if (!fs.has_heartbeat || fs.current == 0)
		state = "never-published";
	else if (!fs.heartbeat_valid)
		state = "unverified";
	else if (max_stale != 0 && age > max_stale)
		state = "stale";
	else
		state = "fresh";
	rc = strcmp(state, "fresh") == 0 ? 0 : EX_UNAVAILABLE;
	if (g.json) {
		json_t *o = json_pack("{s:I, s:o, s:I, s:s, s:b, s:o, s:I, "
		    "s:o, s:o, s:o, s:I}",
		    "etcd_revision", (json_int_t)fs.revision,
		    "leader", json_str(fs.has_leader ? fs.leader : NULL),
		    "published_generation", (json_int_t)fs.current,
		    "state", state,
		    "heartbeat_valid", fs.heartbeat_valid,
		    "heartbeat_error", json_str(fs.has_heartbeat &&
		    !fs.heartbeat_valid ? fs.heartbeat_error : NULL),
		    "heartbeat_generation", (json_int_t)fs.heartbeat_generation,
		    "publisher_id", json_str(fs.heartbeat_valid ?
		    fs.publisher_id : NULL),
		    "last_sync_time", json_time(fs.last_sync_time),
		    "heartbeat_time", json_time(fs.published_time),
		    "max_stale", (json_int_t)max_stale);
		jr = json_print(o);
		json_decref(o);
		if (jr != 0)
			rc = jr;
		goto out;
	}
	kv("etcd revision:", "%" PRId64, fs.revision);
	kv("leader:", "%s", fs.has_leader ? fs.leader : "none (no publisher "
	    "holds the leader key)");
	kv("published generation:", "%" PRIu64, fs.current);
	if (!fs.has_heartbeat)
		kv("heartbeat:", "none");
	else if (!fs.heartbeat_valid)
		kv("heartbeat:", "REFUSED: %s", fs.heartbeat_error);
	else {
		kv("heartbeat:", "verified, generation %" PRIu64 ", publisher "
		    "%s", fs.heartbeat_generation, fs.publisher_id);
		kv("last good sync:", "%s (%" PRId64 " s ago)",
		    fmt_time(fs.last_sync_time, b1), age);
		kv("heartbeat written:", "%s", fmt_time(fs.published_time, b2));
	}
	kv("state:", "%s", state);
out:
	aivenauth_ctx_free(ctx);
	return rc;
}
