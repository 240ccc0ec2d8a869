/*
 * cmd_inspect.c - aivenctl inspect PREFIX | USER_ID PREFIX |
 * ORG_ID/USER_ID/PREFIX: everything the cache knows about one token
 * (never its hash): metadata, local state, effective expiry.  The forms
 * with ids are those `token revoke` takes (ORG_ID/USER_ID/PREFIX is the
 * Terraform import id); the token must then be that user's.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"

int
cmd_inspect(int argc, char *argv[])
{
	struct aivenauth_token t = { 0 };
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *prefix, *user = NULL;
	char *store = NULL;
	int64_t now;
	int rc, nargs;

	if ((rc = parse_no_opts("inspect", argc, argv)) >= 0)
		return rc;
	nargs = argc - optind;
	if (nargs < 1 || nargs > 2 || argv[optind][0] == '\0')
		return usage_of("inspect");
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDONLY)) != 0)
		goto out;
	prefix = argv[optind];
	/* One argument: a prefix as it is (a prefix may hold '/'), else the
	 * ORG_ID/USER_ID/PREFIX id.  Two: USER_ID PREFIX. */
	if (nargs == 1 && strchr(prefix, '/') != NULL &&
	    strlen(prefix) <= AIVENAUTH_PREFIX_MAX &&
	    aivenauth_cache_token(ctx, prefix, &t) == AIVENAUTH_OK)
		goto found;
	aivenauth_token_clear(&t);
	if (nargs == 2 || strchr(prefix, '/') != NULL) {
		if ((rc = parse_token_id(ctx, nargs, argv + optind, &store, &user,
		    &prefix)) != 0)
			goto out;
	} else if (!prefix_arg_ok(prefix)) {
		rc = EX_USAGE;
		goto out;
	}
	st = aivenauth_cache_token(ctx, prefix, &t);
	if (st != AIVENAUTH_OK) {
		ctl_err("token %s: %s", prefix, aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	if (user != NULL && (t.user_id == NULL || strcmp(t.user_id, user) != 0)) {
		ctl_err("token %s is not user %s's (it is %s's)", prefix, user,
		    t.user_id != NULL ? t.user_id : "no user");
		rc = EX_DATAERR;
		goto out;
	}
found:
	now = (int64_t)time(NULL);
	if (g.json) {
		json_t *o = json_token(&t, now);

		rc = json_print(o);
		json_decref(o);
	} else {
		print_token_details(&t, now);
	}
out:
	aivenauth_token_clear(&t);
	free(store);
	aivenauth_ctx_free(ctx);
	return rc;
}
