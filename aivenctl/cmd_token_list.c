/*
 * cmd_token_list.c - aivenctl token list [USER_ID]: the tokens in the
 * cache, with their local state.
 */
#include <stdlib.h>
#include <time.h>

#include "aivenctl.h"

int
cmd_token_list(int argc, char *argv[])
{
	static const char *const hdr[] = {
		"PREFIX", "USER_NAME", "USER_ID", "DESCRIPTION", "EXPIRY_TIME",
		"LAST_USED_TIME", "ENROLLED", "STATE",
	};
	struct aivenauth_token *t = NULL;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *user_id = NULL;
	size_t n = 0, i;
	int64_t now;
	int rc;

	if ((rc = parse_no_opts("token list", argc, argv)) >= 0)
		return rc;
	if (argc - optind > 1)
		return usage_of("token list");
	if (argc - optind == 1)
		user_id = argv[optind];
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDONLY)) != 0)
		goto out;
	if ((st = aivenauth_cache_tokens(ctx, user_id, &t, &n)) !=
	    AIVENAUTH_OK) {
		ctl_err("cannot list tokens: %s", aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	now = (int64_t)time(NULL);
	if (g.json) {
		json_t *a = json_array();

		for (i = 0; a != NULL && i < n; i++)
			if (json_array_append_new(a, json_token(&t[i], now))) {
				json_decref(a);
				a = NULL;
			}
		rc = json_print(a);
		json_decref(a);
	} else {
		struct table *tb = table_new(8, hdr);

		for (i = 0; tb != NULL && i < n; i++) {
			char b1[32], b2[32], sb[64];
			const char *row[] = {
				t[i].prefix, t[i].user_name, t[i].user_id,
				t[i].description,
				aivenauth_token_expiry(&t[i]) != 0 ?
				fmt_time(aivenauth_token_expiry(&t[i]), b1) :
				NULL,
				t[i].last_used_time != 0 ?
				fmt_time(t[i].last_used_time, b2) : NULL,
				t[i].enrolled ? "true" : "false",
				token_state(&t[i], now, sb),
			};

			if (!table_add(tb, row)) {
				table_free(tb);
				tb = NULL;
			}
		}
		if (tb == NULL) {
			ctl_err("out of memory");
			rc = EX_OSERR;
		} else {
			table_print(tb, stdout);
			table_free(tb);
		}
	}
	aivenauth_tokens_free(t, n);
out:
	aivenauth_ctx_free(ctx);
	return rc;
}
