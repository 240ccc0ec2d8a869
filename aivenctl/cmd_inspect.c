/*
 * cmd_inspect.c - aivenctl inspect PREFIX | USER_ID PREFIX |
 * ORG_ID/USER_ID/PREFIX: everything the cache knows about one token
 * (never its hash): metadata, local state, effective expiry, and the local
 * accounts the local account map lets it log into on this host
 * (user_match=map; the line's from= and scope= shown, they are judged at
 * login; a line listing the token's user only by a name several users
 * hold is shown as refused, map-ambiguous-name, as verify decides).  The forms with ids are those `token revoke` takes
 * (ORG_ID/USER_ID/PREFIX is the Terraform import id); the token must then
 * be that user's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"
#include "mapcheck.h"

/* As print_token_details() aligns its lines. */
static void
kv_line(const char *k, const char *v)
{
	printf("%-22s ", k);
	fput_visible(v, stdout);
	putchar('\n');
}

/* Listed on e, but refused at login: only by a name several synced
 * users hold (map-ambiguous-name), so inspect agrees with verify. */
static bool
ambiguous(const struct aivenauth_account_entry *e,
    const struct aivenauth_token *t, bool name_shared)
{
	return name_shared && mapcheck_by_name_only(e, t->user_name,
	    t->user_id);
}

/* "deploy, backup (from=10.0.0.0/8), root (scope=x)" */
static char *
accounts_text(const struct aivenauth_account_map *m,
    const struct aivenauth_token *t, bool name_shared)
{
	char *out = NULL;
	size_t len = 0, i;
	FILE *fp = open_memstream(&out, &len);

	if (fp == NULL)
		return NULL;
	for (i = 0; i < aivenauth_account_map_count(m); i++) {
		const struct aivenauth_account_entry *e =
		    aivenauth_account_map_entry(m, i);

		if (!aivenauth_account_entry_lists(e, t->user_name, t->user_id))
			continue;
		if (ambiguous(e, t, name_shared)) {
			fprintf(fp, "%s%s (refused: map-ambiguous-name, list "
			    "%s on line %u)", ftell(fp) > 0 ? ", " : "",
			    e->account, t->user_id != NULL ? t->user_id : "the "
			    "u-id", e->line);
			continue;
		}
		fprintf(fp, "%s%s", ftell(fp) > 0 ? ", " : "", e->account);
		if (e->from != NULL || e->scope != NULL)
			fprintf(fp, " (%s%s%s%s%s)", e->from != NULL ? "from=" : "",
			    e->from != NULL ? e->from : "",
			    e->from != NULL && e->scope != NULL ? " " : "",
			    e->scope != NULL ? "scope=" : "",
			    e->scope != NULL ? e->scope : "");
	}
	if (ftell(fp) == 0)
		fputs("none", fp);
	if (fclose(fp) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static json_t *
accounts_json(const struct aivenauth_account_map *m,
    const struct aivenauth_token *t, bool name_shared)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < aivenauth_account_map_count(m); i++) {
		const struct aivenauth_account_entry *e =
		    aivenauth_account_map_entry(m, i);

		if (!aivenauth_account_entry_lists(e, t->user_name, t->user_id))
			continue;
		json_array_append_new(a, json_pack("{s:s, s:i, s:o, s:o, s:o}",
		    "account", e->account, "line", (int)e->line,
		    "from", json_str(e->from), "scope", json_str(e->scope),
		    "refused", json_str(ambiguous(e, t, name_shared) ?
		    "map-ambiguous-name" : NULL)));
	}
	return a;
}

/* The map's part of the output (text, or two keys of the JSON object).
 * No map: said, not an error; a broken one: said (the library logged
 * where), and the exit code is unchanged: the token was inspected. */
static void
show_accounts(struct aivenauth_ctx *ctx, const struct aivenauth_token *t,
    json_t *o)
{
	const char *path = aivenauth_config_get(ctx, "account_map_file");
	struct aivenauth_account_map *m = NULL;
	enum aivenauth_status st = aivenauth_account_map_load(ctx, NULL, &m);
	struct aivenauth_user *users = NULL;
	char buf[4352 + 96], *txt;
	bool name_shared = false;
	size_t nu = 0;

	/* The cache is open (the token came from it); without the users
	 * list nothing is marked, as before. */
	if (st == AIVENAUTH_OK &&
	    aivenauth_cache_users(ctx, &users, &nu) == AIVENAUTH_OK)
		name_shared = mapcheck_name_holders(t->user_name, users, nu) > 1;
	aivenauth_users_free(users, nu);

	if (o != NULL) {
		json_object_set_new(o, "account_map", json_str(path));
		json_object_set_new(o, "local_accounts", st == AIVENAUTH_OK ?
		    accounts_json(m, t, name_shared) : json_null());
		if (st != AIVENAUTH_OK)
			json_object_set_new(o, "account_map_error", json_str(
			    st == AIVENAUTH_ERR_NOT_FOUND ? "not found" :
			    aivenauth_strerror(st)));
	} else if (st == AIVENAUTH_OK) {
		txt = accounts_text(m, t, name_shared);
		kv_line("local_accounts:", txt != NULL ? txt : "?");
		free(txt);
	} else {
		if (st == AIVENAUTH_ERR_NOT_FOUND)
			snprintf(buf, sizeof(buf), "none (no account map at %s)",
			    path);
		else
			snprintf(buf, sizeof(buf), "unknown (account map %s: %s)",
			    path, aivenauth_strerror(st));
		kv_line("local_accounts:", buf);
	}
	aivenauth_account_map_free(m);
}

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

		if (o != NULL)
			show_accounts(ctx, &t, o);
		rc = json_print(o);
		json_decref(o);
	} else {
		print_token_details(&t, now);
		show_accounts(ctx, &t, NULL);
	}
out:
	aivenauth_token_clear(&t);
	free(store);
	aivenauth_ctx_free(ctx);
	return rc;
}
