/*
 * cmd_token_rotate.c - aivenctl token rotate USER_ID PREFIX [--grace S]:
 * create a replacement with the old token's settings (description, max
 * age, extend_when_used, ip_allowlist, scopes, as cached), store its hash,
 * print it once, then revoke the old token: scheduled at now + S (default
 * GRACE_DEFAULT, a day): verify refuses the old token from then on and
 * `aivenctl sync` deletes it at the API once due; at once with --grace 0
 * (locally, then at the API).
 *
 * A rotate that fails before the replacement exists changes nothing: an
 * API error while creating it leaves the old token as it was (the
 * operator still has a working token, and the cache its last good
 * state).  Once the replacement exists at the API, the old token's
 * revocation (or its schedule) goes into the writer's revocation journal
 * before anything else is written, as `token revoke` does: a full disk
 * cannot leave it valid past its time, even when the replacement could
 * not be stored here (it is printed; `aivenctl token add` enrolls it).
 * The journal is looked at first, so that a full or unreadable journal
 * stops the rotate before anything is created.
 *
 * Why a day by default: "create the new token before revoking the old"
 * only helps if the old one keeps working while its users switch; with no
 * grace a job in flight fails on its next call.  Long enough for a daily
 * job, short enough that a leaked old token does not linger.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"

#define GRACE_DEFAULT INT64_C(86400)

int
cmd_token_rotate(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "grace", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aivenauth_token_spec spec = { 0 };
	struct aivenauth_token old = { 0 };
	struct aivenauth_revocation_journal jr;
	struct aivenauth_ctx *ctx = NULL;
	const char *user_id, *prefix;
	enum aivenauth_status st;
	char *store = NULL, *newp = NULL, tb[32];
	int64_t grace = GRACE_DEFAULT, at = 0;
	bool created, local, api, gone;
	json_t *extra;
	int c, rc, mrc;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "g:h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'g':
			if (!parse_i64(optarg, 0, INT64_C(315360000), &grace)) {
				ctl_err("--grace: not a number of seconds: %s",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage_print(stdout, "token rotate");
			return 0;
		default:
			return opt_error("token rotate", argv);
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_of("token rotate");
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	rc = parse_token_id(ctx, argc - optind, argv + optind, &store,
	    &user_id, &prefix);
	if (rc != 0) {
		if (rc == EX_USAGE)
			usage_of("token rotate");
		goto out;
	}
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDWR)) != 0)
		goto out;
	st = aivenauth_cache_token(ctx, prefix, &old);
	if (st != AIVENAUTH_OK) {
		ctl_err("token %s: %s%s", prefix, aivenauth_strerror(st),
		    st == AIVENAUTH_ERR_NOT_FOUND ? " (run `aivenctl sync` "
		    "if it is new)" : "");
		rc = exit_code(st);
		goto out;
	}
	if (old.user_id == NULL || strcmp(old.user_id, user_id) != 0) {
		ctl_err("token %s belongs to user %s, not %s", prefix,
		    nn(old.user_id), user_id);
		rc = EX_DATAERR;
		goto out;
	}
	if (old.removed_time != 0 || old.revoked || old.revoke_at != 0) {
		ctl_err("token %s is already revoked or being revoked; use "
		    "`aivenctl token create` for a new one", prefix);
		rc = EX_DATAERR;
		goto out;
	}
	spec.description = old.description;
	spec.max_age_seconds = old.max_age_seconds;
	spec.extend_when_used = old.extend_when_used;
	spec.ip_allowlist = (const char *const *)old.ip_allowlist;
	spec.n_ip_allowlist = old.n_ip_allowlist;
	spec.scopes = (const char *const *)old.scopes;
	spec.n_scopes = old.n_scopes;

	if (grace > 0)
		at = (int64_t)time(NULL) + grace;
	/* A journal that could not take the old token's revocation stops
	 * the rotate here, before the replacement exists. */
	st = aivenauth_revocation_journal_info(ctx, &jr);
	if (st == AIVENAUTH_OK && jr.slots != 0 && jr.pending >= jr.slots)
		st = AIVENAUTH_ERR_CACHE_FULL;
	if (st != AIVENAUTH_OK && st != AIVENAUTH_ERR_CACHE_MISSING) {
		ctl_err("the revocation journal cannot take the old token's "
		    "revocation (%s): nothing created, token %s unchanged; %s",
		    aivenauth_strerror(st), prefix, st == AIVENAUTH_ERR_CACHE_FULL ?
		    "the journal is full: free space in cache_dir's file system, "
		    "run `aivenctl sync` (it stores what the journal holds), then "
		    "run this again" : "see `aivenctl doctor`");
		rc = exit_code(st);
		goto out;
	}
	extra = json_pack("{s:s, s:I, s:o}", "old_token_prefix", prefix,
	    "grace_seconds", (json_int_t)grace, "old_revoke_at",
	    at != 0 ? json_time(at) : json_time((int64_t)time(NULL)));
	mrc = token_mint(ctx, user_id, &spec, extra, &created, &newp);
	if (!created) {
		/* Nothing exists that the old token should make way for. */
		if (mrc != 0)
			ctl_err("no replacement was created: token %s unchanged",
			    prefix);
		rc = mrc;
		goto out;
	}
	/*
	 * The replacement exists: the journal first, so that a full disk
	 * cannot lose the old token's revocation (every write stores it, the
	 * sync sends its DELETE once due).
	 */
	st = grace == 0 ? aivenauth_revocation_record(ctx, user_id, prefix) :
	    aivenauth_revocation_schedule(ctx, user_id, prefix, at);
	if (st != AIVENAUTH_OK) {
		ctl_err("the replacement was created (above), but the old token "
		    "%s was NOT revoked: its %srevocation cannot be recorded in "
		    "the revocation journal (%s)%s; revoke it with `aivenctl "
		    "token revoke %s %s`", prefix, grace == 0 ? "" : "scheduled ",
		    aivenauth_strerror(st), grace == 0 ? " and readers refuse to "
		    "decide (cache-unavailable) until the cache can be written" : "",
		    user_id, prefix);
		rc = exit_code(st);
		goto out;
	}
	if (mrc != 0)
		ctl_err("the replacement was created but not stored (above); the "
		    "old token %s is %s all the same (its revocation is recorded)",
		    prefix, grace == 0 ? "revoked" : "refused from the end of its "
		    "grace");
	if (grace == 0) {
		rc = token_revoke_now(ctx, user_id, prefix, &local, &api,
		    &gone);
		if (rc == 0)
			ctl_warn("old token %s revoked", prefix);
		if (mrc != 0)
			rc = mrc;
		goto out;
	}
	st = aivenauth_cache_revoke(ctx, prefix, at);
	if (st != AIVENAUTH_OK) {
		/* The library withdrew the readers: they cannot learn the
		 * time from the journal. */
		ctl_err("token %s: its revocation at %s is recorded in the "
		    "revocation journal, but the cache cannot store it yet "
		    "(%s): readers refuse to decide (cache-unavailable) until "
		    "a write stores it; `aivenctl sync` stores it once there "
		    "is room", prefix, fmt_time(at, tb),
		    aivenauth_strerror(st));
		rc = mrc != 0 ? mrc : exit_code(st);
		goto out;
	}
	ctl_warn("old token %s is refused from %s; `aivenctl sync` deletes "
	    "it at the API once due", prefix, fmt_time(at, tb));
	rc = mrc;
out:
	free(newp);
	aivenauth_token_clear(&old);
	free(store);
	aivenauth_ctx_free(ctx);
	return rc;
}
