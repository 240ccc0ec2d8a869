/*
 * cmd_token_revoke.c - aivenctl token revoke USER_ID PREFIX (or Terraform's
 * ORG_ID/USER_ID/PREFIX).
 *
 * Revocation beats availability: the revocation is recorded first in the
 * writer's revocation journal (preallocated: a full disk cannot lose it),
 * before the cache is even opened, and the readers refuse to decide until
 * a publication carries it; then the local tombstone is written, so verify refuses the token on this
 * host even if the API call then fails; the tombstone stays until the API
 * stops listing the token.  If the tombstone cannot be written (a full
 * disk) the readers refuse to decide until a write stores it, and every
 * write folds the journal in (libaivenauth/writer/revoke_fold.c).
 *
 * Deletes are idempotent: a token this host knows (in the cache, removed
 * ones included: their tombstones are kept 30 days) that the API answers
 * 404 for is already revoked there -- a second run, a revocation the last
 * sync sent, one revoked in the console.  That is success.  A token
 * neither the cache nor the API knows is an error: most likely a typo.
 */
#include <stdlib.h>
#include <string.h>

#include "aivenctl.h"

/*
 * Journal, local revoke (now), then the API delete.  A missing cache or a token not
 * in it is a warning: the API call is what matters most then.
 */
int
token_revoke_now(struct aivenauth_ctx *ctx, const char *user_id,
    const char *prefix, bool *local, bool *api, bool *gone)
{
	struct aivenauth_token t = { 0 };
	enum aivenauth_status st, ost;
	bool known = false, recorded;
	int lrc = 0;

	*local = *api = *gone = false;
	/*
	 * First the journal, before any LMDB environment is opened: a slot
	 * the writer allocated in advance, so a full disk cannot lose the
	 * revocation, and nothing the open may run into (a damaged
	 * environment, a full copy-on-write disk) comes before it.  The
	 * library withdraws the readers until a publication carries it (the
	 * open below normally does, at once); if even the journal fails,
	 * they stay withdrawn.  From here on every write to the cache stores
	 * it and every sync sends its DELETE until the API stops listing it.
	 */
	st = aivenauth_revocation_record(ctx, user_id, prefix);
	if (st == AIVENAUTH_OK)
		sigbus_note("the revocation is recorded in the revocation "
		    "journal and the readers refuse to decide "
		    "(cache-unavailable) until a write stores it; every sync "
		    "sends its DELETE");
	ost = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR);
	if (st == AIVENAUTH_ERR_CACHE_MISSING && ost == AIVENAUTH_OK)
		st = aivenauth_revocation_record(ctx, user_id, prefix);
	recorded = st == AIVENAUTH_OK;
	sigbus_note(NULL);
	if (!recorded && st != AIVENAUTH_ERR_CACHE_MISSING) {
		ctl_err("cannot record the revocation of token %s in the "
		    "revocation journal (%s): readers refuse to decide "
		    "(cache-unavailable) until %s", prefix,
		    aivenauth_strerror(st), st == AIVENAUTH_ERR_CACHE_FULL ?
		    "it is recorded: free space so that `aivenctl sync` can "
		    "store the pending revocations, then run this command "
		    "again" : "the cache can be written");
		lrc = exit_code(st);
	}
	if (ost == AIVENAUTH_OK) {
		st = aivenauth_cache_token(ctx, prefix, &t);
		known = st == AIVENAUTH_OK;
		if (st == AIVENAUTH_OK && t.user_id != NULL &&
		    strcmp(t.user_id, user_id) != 0) {
			/* (Its journal entry names the wrong owner: the
			 * cache's open dropped it, revoking nothing.) */
			ctl_err("token %s belongs to user %s, not %s; nothing "
			    "revoked", prefix, t.user_id, user_id);
			aivenauth_token_clear(&t);
			return EX_DATAERR;
		}
		aivenauth_token_clear(&t);
	}
	if (ost == AIVENAUTH_OK) {
		st = known ? aivenauth_cache_revoke(ctx, prefix, 0) :
		    AIVENAUTH_ERR_NOT_FOUND;
		if (st == AIVENAUTH_OK) {
			*local = true;
		} else if (st == AIVENAUTH_ERR_NOT_FOUND) {
			ctl_warn("token %s is not in the local cache; "
			    "revoking it at the API only", prefix);
		} else if (recorded) {
			ctl_err("token %s: revocation recorded in the revocation "
			    "journal, but the cache cannot store it yet (%s): "
			    "readers refuse to decide (cache-unavailable) until "
			    "a write stores it; `aivenctl sync` stores it once "
			    "there is room, and sends the DELETE", prefix,
			    aivenauth_strerror(st));
			lrc = exit_code(st);
		} else {
			ctl_err("cannot revoke token %s in the local cache: "
			    "%s", prefix, aivenauth_strerror(st));
			lrc = exit_code(st);
		}
	} else if (ost == AIVENAUTH_ERR_CACHE_MISSING) {
		ctl_warn("no local cache; revoking token %s at the API only",
		    prefix);
	} else {
		ctl_err("cannot open the cache to revoke token %s locally: %s%s",
		    prefix, aivenauth_strerror(ost), recorded ? "; recorded in "
		    "the revocation journal: readers refuse to decide "
		    "(cache-unavailable) until a write to the cache stores it "
		    "(repair the cache, see aivenctl doctor; `aivenctl sync` "
		    "sends the DELETE meanwhile)" : "");
		lrc = exit_code(ost);
	}

	st = aivenauth_api_token_delete(ctx, user_id, prefix);
	if (st == AIVENAUTH_ERR_API_NOT_FOUND && known) {
		*gone = true;
		return lrc;
	}
	if (st == AIVENAUTH_ERR_API_NOT_FOUND) {
		ctl_err("token %s of user %s is known neither to this host's "
		    "cache nor to the API (404): nothing revoked; check the "
		    "user id and the prefix (a typo?)", prefix, user_id);
		return exit_code(st);
	}
	if (st != AIVENAUTH_OK) {
		if (recorded)
			ctl_err("token %s %s; the API call failed: %s; every "
			    "`aivenctl sync` retries the DELETE until the API "
			    "confirms it; run again or revoke in the console",
			    prefix, *local ? "revoked locally" : "revocation "
			    "recorded, not yet stored in the cache",
			    aivenauth_strerror(st));
		else if (*local)
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

/*
 * --clear-overflow: the revocation journal's overflow mark (a revocation
 * that found the journal full) holds every publication back.  The ones it
 * names are journaled as soon as there is a free slot (here first), then
 * stored and DELETEd like any other: never dropped; while one finds no
 * slot, the clear is refused, naming them.  "Lost" (one it could not
 * name) is cleared only here, after the operator confirmed in the console
 * that every token meant to be revoked is gone (review 5, F2).
 */
static int
clear_overflow(void)
{
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	size_t listed = 0, named = 0;
	bool lost = false;
	int rc;

	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	/* What the mark held before: the clear journals the named ones. */
	st = aivenauth_revocation_overflow(ctx, &named, &lost, false);
	if (st == AIVENAUTH_OK)
		st = aivenauth_revocation_overflow(ctx, &listed, NULL, true);
	if (st == AIVENAUTH_ERR_CACHE_MISSING) {
		ctl_err("no local cache: no overflow mark to clear");
		rc = exit_code(st);
	} else if (st == AIVENAUTH_ERR_CACHE_FULL) {
		ctl_err("not cleared: the overflow mark names %zu revocation(s) "
		    "the full revocation journal cannot take yet; they are "
		    "journaled (then stored and deleted at the API) as soon as "
		    "it has room: free space in the cache's file system and run "
		    "'aivenctl sync'.  Named:", listed);
		(void)ctl_overflow_named(ctx, stderr, "  ");
		rc = exit_code(st);
	} else if (st != AIVENAUTH_OK) {
		ctl_err("cannot clear the revocation journal's overflow mark: %s",
		    aivenauth_strerror(st));
		rc = exit_code(st);
	} else if (named == 0 && !lost) {
		printf("No overflow mark set: nothing to clear.\n");
	} else if (!lost) {
		printf("Nothing to clear: the %zu revocation(s) the overflow "
		    "mark named are journaled now (stored and deleted at the API "
		    "by the next 'aivenctl sync', which publishes again).\n",
		    named);
	} else {
		printf("Overflow mark cleared (the revocation(s) it could not "
		    "name%s); run 'aivenctl sync' to publish again.\n", named >
		    0 ? "; the ones it named are journaled, stored and deleted "
		    "at the API by that sync" : "");
	}
	aivenauth_ctx_free(ctx);
	return rc;
}

int
cmd_token_revoke(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "clear-overflow", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aivenauth_ctx *ctx;
	const char *user_id, *prefix;
	bool local, api, gone, clear = false;
	char *store = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'O':
			clear = true;
			break;
		case 'h':
			usage_print(stdout, "token revoke");
			return 0;
		default:
			return opt_error("token revoke", argv);
		}
	}
	if (clear) {
		if (argc - optind != 0)
			return usage_of("token revoke");
		return clear_overflow();
	}
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
	rc = token_revoke_now(ctx, user_id, prefix, &local, &api, &gone);
	if (g.json && (local || api || gone)) {
		/* revoked_at_api: the API no longer has it, by this call or
		 * before it (already_revoked_at_api, only then). */
		json_t *o = json_pack("{s:s, s:s, s:b, s:b}", "token_prefix",
		    prefix, "user_id", user_id, "revoked_locally", local,
		    "revoked_at_api", api || gone);
		int jr;

		if (o != NULL && gone)
			json_object_set_new(o, "already_revoked_at_api",
			    json_true());
		jr = json_print(o);
		json_decref(o);
		if (rc == 0)
			rc = jr;
	} else if (gone) {
		printf("Token %s (application user %s) already revoked at the "
		    "API.\n", prefix, user_id);
	} else if (api) {
		printf("Token %s (application user %s) revoked.\n", prefix,
		    user_id);
	}
out:
	free(store);
	aivenauth_ctx_free(ctx);
	return rc;
}
