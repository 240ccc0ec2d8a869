/*
 * cmd_status.c - aivenctl status: the cache, its counts and whether it is
 * fresh.  Exit 0 when fresh; EX_UNAVAILABLE when stale, never synced or
 * missing (what pam_aiven would answer with PAM_AUTHINFO_UNAVAIL).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"
#include "ops.h"

static void kv(const char *k, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
kv(const char *k, const char *fmt, ...)
{
	va_list ap;

	printf("%-21s ", k);
	va_start(ap, fmt);
	vprint_visible(stdout, fmt, ap);
	va_end(ap);
	putchar('\n');
}

int
cmd_status(int argc, char *argv[])
{
	struct aivenauth_cache_info in;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *state, *ms;
	int64_t now, age = -1, max_stale = 0;
	char b1[32], b2[32];
	const char *prom;       /* --prometheus [FILE] (ops.h) */
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

		ctl_err("cache %s: %s", nn(dir), aivenauth_strerror(st));
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
	rc = strcmp(state, "fresh") == 0 ? 0 : EX_UNAVAILABLE;
	if (g.json) {
		json_t *o = json_pack("{s:o, s:I, s:o, s:I, s:o, s:o, s:o, "
		    "s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
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
		    "stale", rc != 0,
		    "state", state,
		    "users", (json_int_t)in.users,
		    "tokens", (json_int_t)in.tokens,
		    "enrolled", (json_int_t)in.enrolled,
		    "revoked", (json_int_t)in.revoked,
		    "pending_revocations", (json_int_t)in.pending_revocations,
		    "map_size", (json_int_t)in.map_size,
		    "file_size", (json_int_t)in.file_size);
		int jr = json_print(o);

		json_decref(o);
		if (jr != 0)
			rc = jr;
	} else {
		kv("cache_path:", "%s", nn(in.path));
		kv("schema_version:", "%u", in.schema_version);
		kv("organization_id:", "%s", in.organization_id[0] != '\0' ?
		    in.organization_id : "null");
		kv("generation:", "%" PRIu64, in.generation);
		kv("created_time:", "%s", fmt_time(in.created, b1));
		kv("last_sync_time:", "%s", fmt_time(in.sync_time, b2));
		if (age >= 0)
			kv("last_sync_age:", "%" PRId64, age);
		else
			kv("last_sync_age:", "null");
		kv("max_stale:", "%" PRId64, max_stale);
		kv("state:", "%s", state);
		kv("users:", "%zu", in.users);
		kv("tokens:", "%zu", in.tokens);
		kv("enrolled:", "%zu", in.enrolled);
		kv("revoked:", "%zu", in.revoked);
		kv("pending_revocations:", "%zu", in.pending_revocations);
		kv("map_size:", "%" PRIu64, in.map_size);
		kv("file_size:", "%" PRIu64, in.file_size);
	}
	if (rc == EX_UNAVAILABLE)
		ctl_err("the cache is %s%s", state, strcmp(state, "stale") == 0 ?
		    " (last good sync older than max_stale); run `aivenctl "
		    "sync`" : "; run `aivenctl sync`");
out:
	aivenauth_ctx_free(ctx);
	return rc;
}
