/*
 * cmd_sync.c - aivenctl sync: mirror the organization's application users
 * and tokens into the cache in one write transaction, and send scheduled
 * (rotate --grace) revocations that are due.  A failed fetch changes
 * nothing.
 */
#include <stdlib.h>

#include "aivenctl.h"
#include "ops.h"

int
cmd_sync(int argc, char *argv[])
{
	struct aivenauth_apply_stats s = { 0 };
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *prom;       /* --prometheus FILE (ops.h) */
	int64_t t0 = now_ms();
	unsigned errs;
	int rc, mr;

	if ((rc = prom_parse_opts("sync", argc, argv, false, &prom)) >= 0)
		return rc;
	if (optind != argc) {
		ctl_err("sync takes no arguments");
		return usage_of("sync");
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != 0)
		goto out;
	errs = ctl_log_errors();
	st = aivenauth_sync(ctx, &s);
	sync_state_write(ctx, t0, st);  /* for status --prometheus */
	if (st != AIVENAUTH_OK) {
		/* The library logs the request, the HTTP status and the API
		 * message, and usually "sync failed" itself: say it only if
		 * it did not. */
		if (ctl_log_errors() == errs)
			ctl_err("sync failed: %s; the cache is unchanged",
			    aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I}",
		    "users_added", (json_int_t)s.users_added,
		    "users_updated", (json_int_t)s.users_updated,
		    "users_removed", (json_int_t)s.users_removed,
		    "tokens_added", (json_int_t)s.tokens_added,
		    "tokens_updated", (json_int_t)s.tokens_updated,
		    "tokens_removed", (json_int_t)s.tokens_removed,
		    "tombstones_expired", (json_int_t)s.tombstones_expired,
		    "revocations_sent", (json_int_t)s.revocations_sent,
		    "revocations_failed", (json_int_t)s.revocations_failed,
		    "generation", (json_int_t)s.generation);

		rc = json_print(o);
		json_decref(o);
	} else {
		printf("users: +%zu ~%zu -%zu, tokens: +%zu ~%zu -%zu, "
		    "generation %llu\n", s.users_added, s.users_updated,
		    s.users_removed, s.tokens_added, s.tokens_updated,
		    s.tokens_removed, (unsigned long long)s.generation);
		if (s.revocations_sent != 0)
			printf("revocations sent to the API: %zu\n",
			    s.revocations_sent);
	}
	if (s.revocations_failed != 0)
		ctl_warn("%zu revocation(s) could not be sent to the API; "
		    "they are retried at the next sync", s.revocations_failed);
out:
	/* Metrics after every attempt, failed ones included. */
	if (prom != NULL && (mr = metrics_write(ctx, prom)) != 0 && rc == 0)
		rc = mr;
	aivenauth_ctx_free(ctx);
	return rc;
}
