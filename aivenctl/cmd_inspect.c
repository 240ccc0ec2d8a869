/*
 * cmd_inspect.c - aivenctl inspect PREFIX: everything the cache knows
 * about one token (never its hash): metadata, local state, effective
 * expiry.
 */
#include <time.h>

#include "aivenctl.h"

int
cmd_inspect(int argc, char *argv[])
{
	struct aivenauth_token t = { 0 };
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	int64_t now;
	int rc;

	if ((rc = parse_no_opts("inspect", argc, argv)) >= 0)
		return rc;
	if (argc - optind != 1 || argv[optind][0] == '\0')
		return usage_of("inspect");
	if (!prefix_arg_ok(argv[optind]))
		return EX_USAGE;
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDONLY)) != 0)
		goto out;
	st = aivenauth_cache_token(ctx, argv[optind], &t);
	if (st != AIVENAUTH_OK) {
		ctl_err("token %s: %s", argv[optind], aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	now = (int64_t)time(NULL);
	if (g.json) {
		json_t *o = json_token(&t, now);

		rc = json_print(o);
		json_decref(o);
	} else {
		print_token_details(&t, now);
	}
	aivenauth_token_clear(&t);
out:
	aivenauth_ctx_free(ctx);
	return rc;
}
