/*
 * cmd_fleet.c - aivenctl fleet ...: fleet mode commands (docs/FLEET.md).
 *
 * keygen makes the publisher's Ed25519 pair: the secret key goes to a new
 * 0600 file (never over an existing one, never through a symlink), the
 * public key to stdout, alone on its line, so that a script can pin it in
 * the followers' fleet_public_keys.
 */
#include <stdlib.h>
#include <string.h>

#include "aivenauth_fleet.h"
#include "aivenctl.h"

const struct command fleet_commands[] = {
	{ "keygen", cmd_fleet_keygen, "[--out FILE]",
	  "make the publisher key pair; print the public key" },
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
