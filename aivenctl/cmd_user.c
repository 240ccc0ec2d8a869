/*
 * cmd_user.c - aivenctl user list | create | delete: application users
 * through the API (`user list --cached` reads the cache instead).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"

static int
print_users(const struct aivenauth_user *u, size_t n, bool one)
{
	static const char *const hdr[] = {
		"NAME", "USER_EMAIL", "USER_ID", "CREATE_TIME",
	};
	struct table *t;
	size_t i;
	int rc;

	if (g.json) {
		json_t *v;

		if (one) {
			v = json_user(&u[0]);
		} else {
			v = json_array();
			for (i = 0; v != NULL && i < n; i++)
				if (json_array_append_new(v,
				    json_user(&u[i])) != 0) {
					json_decref(v);
					v = NULL;
				}
		}
		rc = json_print(v);
		json_decref(v);
		return rc;
	}
	if ((t = table_new(4, hdr)) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		char b[32];
		const char *row[] = {
			u[i].name, u[i].email, u[i].user_id,
			u[i].create_time != 0 ? fmt_time(u[i].create_time, b) :
			NULL,
		};

		if (!table_add(t, row)) {
			table_free(t);
			goto nomem;
		}
	}
	table_print(t, stdout);
	table_free(t);
	return 0;
nomem:
	ctl_err("out of memory");
	return EX_OSERR;
}

int
cmd_user_list(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "cached", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aivenauth_user *users = NULL;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	bool cached = false;
	size_t n = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'C':
			cached = true;
			break;
		case 'h':
			usage_print(stdout, "user list");
			return 0;
		default:
			return opt_error("user list", argv);
		}
	}
	if (optind != argc)
		return usage_of("user list");
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if (cached) {
		if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDONLY)) != 0)
			goto out;
		st = aivenauth_cache_users(ctx, &users, &n);
	} else {
		st = aivenauth_api_users(ctx, &users, &n);
	}
	if (st != AIVENAUTH_OK) {
		ctl_err("cannot list application users%s: %s",
		    cached ? " in the cache" : "", aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	rc = print_users(users, n, false);
	aivenauth_users_free(users, n);
out:
	aivenauth_ctx_free(ctx);
	return rc;
}

int
cmd_user_create(int argc, char *argv[])
{
	struct aivenauth_user u = { 0 };
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	int rc;

	if ((rc = parse_no_opts("user create", argc, argv)) >= 0)
		return rc;
	if (argc - optind != 1 || argv[optind][0] == '\0')
		return usage_of("user create");
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	st = aivenauth_api_user_create(ctx, argv[optind], &u);
	if (st != AIVENAUTH_OK) {
		ctl_err("cannot create application user '%s': %s",
		    argv[optind], aivenauth_strerror(st));
		rc = exit_code(st);
	} else {
		rc = print_users(&u, 1, true);
		aivenauth_user_clear(&u);
	}
	aivenauth_ctx_free(ctx);
	return rc;
}

/* Does the cache know this user (listed at the last sync)? */
static bool
user_cached(struct aivenauth_ctx *ctx, const char *user_id)
{
	struct aivenauth_user *u = NULL;
	size_t n = 0, i;
	bool hit = false;

	if (aivenauth_cache_users(ctx, &u, &n) != AIVENAUTH_OK)
		return false;
	for (i = 0; i < n && !hit; i++)
		hit = u[i].user_id != NULL && strcmp(u[i].user_id, user_id) == 0;
	aivenauth_users_free(u, n);
	return hit;
}

/*
 * Revocation beats availability: the user's tokens are journaled and
 * tombstoned in the local cache before the API is asked to delete the user
 * (and with it its tokens).  A missing cache is not an error here.  *known: the cache knows
 * the user, or holds a token of it (removed tokens' tombstones included,
 * kept 30 days) -- what makes a 404 from the API "already deleted" rather
 * than a typo.
 */
/* Not revoked yet: not revoked here (a revoked token has revoke_at set
 * to when it was revoked, so `revoked` alone says it), not past a
 * scheduled revocation; a scheduled revocation still running counts as
 * live.  (Counting revoked ones spent journal slots on tokens already
 * refused: review 4, F3.) */
static bool
live(const struct aivenauth_token *t, int64_t now)
{
	return t->removed_time == 0 && !t->revoked &&
	    (t->revoke_at == 0 || t->revoke_at > now);
}

static int
revoke_user_tokens(struct aivenauth_ctx *ctx, const char *user_id,
    size_t *count, bool *known)
{
	struct aivenauth_token *t = NULL;
	enum aivenauth_status st, lst;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, i;

	*count = 0;
	*known = false;
	st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR);
	if (st == AIVENAUTH_ERR_CACHE_MISSING)
		return 0;
	if (st == AIVENAUTH_OK)
		st = aivenauth_cache_tokens(ctx, user_id, &t, &n);
	if (st == AIVENAUTH_OK)
		*known = n > 0 || user_cached(ctx, user_id);
	lst = st;       /* the list: without it there is nothing to revoke */
	/*
	 * Each live token into the revocation journal, as `token revoke`
	 * does, then its tombstone: a full disk cannot lose one (the next
	 * write stores what the journal holds, the sync sends the DELETEs).
	 * Once a tombstone cannot be stored (the commit is what a full disk
	 * makes fail) the rest are still journaled, only no longer stored
	 * one by one.  One token at a time, so that each commit frees its
	 * slot again and a user with more tokens than the journal has slots
	 * never fills it on a healthy disk (review 4, F3).  If recording
	 * fails, the library withdraws the readers.
	 */
	for (i = 0; lst == AIVENAUTH_OK && i < n; i++) {
		enum aivenauth_status jst, rst;

		if (!live(&t[i], now))
			continue;
		if ((jst = aivenauth_revocation_record(ctx, user_id,
		    t[i].prefix)) != AIVENAUTH_OK)
			ctl_err("cannot record the revocation of token %s (%s): "
			    "readers refuse to decide (cache-unavailable) until "
			    "the cache can be written", t[i].prefix,
			    aivenauth_strerror(jst));
		if (st != AIVENAUTH_OK)
			continue;
		if ((rst = aivenauth_cache_revoke(ctx, t[i].prefix, 0)) ==
		    AIVENAUTH_OK)
			(*count)++;
		else
			st = rst;
	}
	aivenauth_tokens_free(t, n);
	if (st != AIVENAUTH_OK) {
		ctl_err("cannot revoke the tokens of %s in the local cache: "
		    "%s", user_id, aivenauth_strerror(st));
		return exit_code(st);
	}
	return 0;
}

int
cmd_user_delete(int argc, char *argv[])
{
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *user_id;
	size_t revoked = 0;
	bool known, gone = false;
	int rc, lrc;

	if ((rc = parse_no_opts("user delete", argc, argv)) >= 0)
		return rc;
	if (argc - optind != 1 || argv[optind][0] == '\0')
		return usage_of("user delete");
	user_id = argv[optind];
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	lrc = revoke_user_tokens(ctx, user_id, &revoked, &known);
	st = aivenauth_api_user_delete(ctx, user_id);
	if (st == AIVENAUTH_ERR_API_NOT_FOUND && known) {
		gone = true;    /* idempotent: deleted before (or elsewhere) */
	} else if (st == AIVENAUTH_ERR_API_NOT_FOUND) {
		ctl_err("application user %s is known neither to this host's "
		    "cache nor to the API (404): nothing deleted; check the "
		    "user id (a typo?)", user_id);
		rc = exit_code(st);
		goto out;
	} else if (st != AIVENAUTH_OK) {
		ctl_err("%s%zu token(s) of %s revoked locally; the API call "
		    "failed: %s; run again or delete the user in the console",
		    lrc != 0 ? "not all " : "", revoked, user_id,
		    aivenauth_strerror(st));
		rc = exit_code(st);
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:s, s:b, s:I}", "user_id", user_id,
		    "deleted", 1, "tokens_revoked_locally",
		    (json_int_t)revoked);

		if (o != NULL && gone)
			json_object_set_new(o, "already_deleted_at_api",
			    json_true());
		rc = json_print(o);
		json_decref(o);
	} else if (gone) {
		printf("Application user %s already deleted at the API.\n",
		    user_id);
	} else {
		printf("Application user %s deleted.\n", user_id);
	}
	if (rc == 0)
		rc = lrc;
out:
	aivenauth_ctx_free(ctx);
	return rc;
}
