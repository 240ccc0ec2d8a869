/*
 * cmd_token_add.c - aivenctl token add USER_ID: enroll a token made
 * elsewhere.  The token is read from stdin (no echo on a terminal); its
 * prefix must be a synced token of USER_ID.
 */
#include <stdlib.h>

#include "aivenctl.h"

int
cmd_token_add(int argc, char *argv[])
{
	char prefix[AIVENAUTH_PREFIX_MAX + 1] = "";
	struct aivenauth_ctx *ctx = NULL;
	enum aivenauth_status st;
	const char *user_id;
	char *tok = NULL;
	size_t len = 0;
	int rc;

	if ((rc = parse_no_opts("token add", argc, argv)) >= 0)
		return rc;
	if (argc - optind != 1 || argv[optind][0] == '\0')
		return usage_of("token add");
	user_id = argv[optind];
	if ((rc = secret_read(&tok, &len)) != 0)
		return rc;
	if (!aivenauth_token_shaped(tok, len)) {
		ctl_err("stdin is not token-shaped (expected %d..%d characters "
		    "of base64)", AIVENAUTH_TOKEN_MIN_LEN,
		    AIVENAUTH_TOKEN_MAX_LEN);
		rc = EX_DATAERR;
		goto out;
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		goto out;
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDWR)) != 0)
		goto out;
	st = aivenauth_cache_enroll(ctx, user_id, tok, len, prefix);
	switch (st) {
	case AIVENAUTH_OK:
		break;
	case AIVENAUTH_ERR_NOT_FOUND:
		ctl_err("no synced token has this token's prefix%s%s; run "
		    "`aivenctl sync` if it is new", prefix[0] != '\0' ?
		    " " : "", prefix);
		rc = exit_code(st);
		goto out;
	case AIVENAUTH_ERR_MISMATCH:
		ctl_err("token %s does not belong to user %s", prefix,
		    user_id);
		rc = exit_code(st);
		goto out;
	default:
		ctl_err("cannot enroll the token: %s", aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:s, s:s, s:b}", "token_prefix",
		    prefix, "user_id", user_id, "enrolled", 1);

		rc = json_print(o);
		json_decref(o);
	} else {
		printf("Token %s of user %s enrolled.\n", prefix, user_id);
	}
out:
	secret_free(tok, len);
	aivenauth_ctx_free(ctx);
	return rc;
}
