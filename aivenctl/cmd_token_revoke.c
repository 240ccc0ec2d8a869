/*
 * cmd_token_revoke.c - aivenctl token revoke USER_ID PREFIX (or Terraform's
 * ORG_ID/USER_ID/PREFIX).
 *
 * Revocation beats availability: the local tombstone is written first, so
 * verify refuses the token on this host even if the API call then fails;
 * the tombstone stays until the API stops listing the token.
 */
#include <stdlib.h>
#include <string.h>

#include "aivenctl.h"

/*
 * Local revoke (now), then the API delete.  A missing cache or a token not
 * in it is a warning: the API call is what matters most then.
 */
int
token_revoke_now(struct aivenauth_ctx *ctx, const char *user_id,
    const char *prefix, bool *local, bool *api)
{
	struct aivenauth_token t = { 0 };
	enum aivenauth_status st;
	int lrc = 0;

	*local = *api = false;
	st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR);
	if (st == AIVENAUTH_OK) {
		st = aivenauth_cache_token(ctx, prefix, &t);
		if (st == AIVENAUTH_OK && t.user_id != NULL &&
		    strcmp(t.user_id, user_id) != 0) {
			ctl_err("token %s belongs to user %s, not %s; nothing "
			    "revoked", prefix, t.user_id, user_id);
			aivenauth_token_clear(&t);
			return EX_DATAERR;
		}
		aivenauth_token_clear(&t);
		if (st == AIVENAUTH_OK)
			st = aivenauth_cache_revoke(ctx, prefix, 0);
		if (st == AIVENAUTH_OK) {
			*local = true;
		} else if (st == AIVENAUTH_ERR_NOT_FOUND) {
			ctl_warn("token %s is not in the local cache; "
			    "revoking it at the API only", prefix);
		} else {
			ctl_err("cannot revoke token %s in the local cache: "
			    "%s", prefix, aivenauth_strerror(st));
			lrc = exit_code(st);
		}
	} else if (st == AIVENAUTH_ERR_CACHE_MISSING) {
		ctl_warn("no local cache; revoking token %s at the API only",
		    prefix);
	} else {
		ctl_err("cannot open the cache to revoke token %s locally: %s",
		    prefix, aivenauth_strerror(st));
		lrc = exit_code(st);
	}

	st = aivenauth_api_token_delete(ctx, user_id, prefix);
	if (st != AIVENAUTH_OK) {
		if (*local)
			ctl_err("token %s revoked locally; the API call failed: "
			    "%s; run again or revoke in the console", prefix,
			    aivenauth_strerror(st));
		else
			ctl_err("token %s: the API call failed: %s; run again "
			    "or revoke in the console", prefix,
			    aivenauth_strerror(st));
		return exit_code(st);
	}
	*api = true;
	return lrc;
}

int
cmd_token_revoke(int argc, char *argv[])
{
	struct aivenauth_ctx *ctx;
	const char *user_id, *prefix;
	bool local, api;
	char *store = NULL;
	int rc;

	if ((rc = parse_no_opts("token revoke", argc, argv)) >= 0)
		return rc;
	if (argc - optind < 1 || argc - optind > 2)
		return usage_of("token revoke");
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	rc = parse_token_id(ctx, argc - optind, argv + optind, &store,
	    &user_id, &prefix);
	if (rc != 0) {
		if (rc == EX_USAGE)
			usage_of("token revoke");
		goto out;
	}
	rc = token_revoke_now(ctx, user_id, prefix, &local, &api);
	if (g.json && (local || api)) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:b}", "token_prefix",
		    prefix, "user_id", user_id, "revoked_locally", local,
		    "revoked_at_api", api);
		int jr = json_print(o);

		json_decref(o);
		if (rc == 0)
			rc = jr;
	} else if (api) {
		printf("Token %s (application user %s) revoked.\n", prefix,
		    user_id);
	}
out:
	free(store);
	aivenauth_ctx_free(ctx);
	return rc;
}
