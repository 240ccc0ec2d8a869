/*
 * cmd_token_create.c - aivenctl token create: create a token through the
 * API, store its hash in the cache, print it once.
 *
 * Output: the token alone on one line of stdout (so that
 * TOKEN=$(aivenctl token create U) works) and a warning naming its prefix
 * on stderr; with --json an object with full_token.  This is the only
 * place aivenctl ever prints a full token.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aivenctl.h"

static bool
find_user(struct aivenauth_ctx *ctx, const char *user_id,
    struct aivenauth_user **users, size_t *n, size_t *idx, bool api)
{
	enum aivenauth_status st;
	size_t i;

	aivenauth_users_free(*users, *n);
	*users = NULL;
	*n = 0;
	st = api ? aivenauth_api_users(ctx, users, n) :
	    aivenauth_cache_users(ctx, users, n);
	if (st != AIVENAUTH_OK)
		return false;
	for (i = 0; i < *n; i++)
		if ((*users)[i].user_id != NULL &&
		    strcmp((*users)[i].user_id, user_id) == 0) {
			*idx = i;
			return true;
		}
	return false;
}

int
token_mint(struct aivenauth_ctx *ctx, const char *user_id,
    const struct aivenauth_token_spec *spec, json_t *extra, bool *created,
    char **prefix_out)
{
	struct aivenauth_token meta = { 0 };
	struct aivenauth_user *users = NULL;
	size_t n_users = 0, u = 0;
	enum aivenauth_status st, pst;
	char *full = NULL, *prefix = NULL;
	size_t flen = 0;
	int64_t now;
	int rc = 0;

	*created = false;
	if (prefix_out != NULL)
		*prefix_out = NULL;
	st = aivenauth_api_token_create(ctx, user_id, spec, &full, &flen,
	    &prefix);
	if (st != AIVENAUTH_OK) {
		ctl_err("cannot create a token for %s: %s", user_id,
		    aivenauth_strerror(st));
		json_decref(extra);
		return exit_code(st);
	}
	*created = true;
	now = (int64_t)time(NULL);
	meta.prefix = prefix;
	meta.user_id = (char *)user_id;
	meta.description = (char *)(spec->description != NULL ?
	    spec->description : "");
	meta.create_time = now;
	meta.max_age_seconds = spec->max_age_seconds;
	meta.expiry_time = spec->max_age_seconds != 0 ?
	    now + spec->max_age_seconds : 0;
	meta.extend_when_used = spec->extend_when_used;
	meta.created_manually = true;
	meta.scopes = (char **)spec->scopes;
	meta.n_scopes = spec->n_scopes;
	meta.ip_allowlist = (char **)spec->ip_allowlist;
	meta.n_ip_allowlist = spec->n_ip_allowlist;
	/*
	 * aivenauth_cache_put_token() stores the name and email it is given
	 * and does not look the user up itself; without them verify with
	 * user_match=name refuses the token (user-mismatch) until the next
	 * sync.  So pass them from the cached user, or from the API's list
	 * when the user is newer than the last sync.
	 */
	if (find_user(ctx, user_id, &users, &n_users, &u, false) ||
	    find_user(ctx, user_id, &users, &n_users, &u, true)) {
		meta.user_name = users[u].name;
		meta.user_email = users[u].email;
	}
	pst = aivenauth_cache_put_token(ctx, &meta, full, flen);
	aivenauth_users_free(users, n_users);
	meta.user_name = meta.user_email = NULL;

	if (g.json) {
		json_t *o = json_pack("{s:s%, s:s, s:s, s:s, s:o, s:b, s:o, "
		    "s:o, s:b}",
		    "full_token", full, flen,
		    "token_prefix", prefix,
		    "user_id", user_id,
		    "description", meta.description,
		    "max_age_seconds", json_int_or_null(spec->max_age_seconds),
		    "extend_when_used", spec->extend_when_used,
		    "ip_allowlist", json_strv((char *const *)spec->ip_allowlist,
		    spec->n_ip_allowlist),
		    "scopes", json_strv((char *const *)spec->scopes,
		    spec->n_scopes),
		    "enrolled", pst == AIVENAUTH_OK);

		if (o != NULL && extra != NULL)
			json_object_update(o, extra);
		rc = json_print(o);
		json_decref(o);
	} else {
		ctl_warn("created token %s for %s; this is the only time it "
		    "is shown: store it now", prefix, user_id);
		if (!write_stdout(full, flen) || !write_stdout("\n", 1)) {
			ctl_err("cannot write the token to stdout; revoke "
			    "token %s", prefix);
			rc = EX_IOERR;
		}
	}
	json_decref(extra);
	aivenauth_secret_free(full, flen + 1);
	if (pst != AIVENAUTH_OK) {
		ctl_err("token %s was created at the API but storing its hash "
		    "in the cache failed: %s; enroll it with `aivenctl token "
		    "add %s` (token on stdin)", prefix, aivenauth_strerror(pst),
		    user_id);
		rc = exit_code(pst);
	}
	if (prefix_out != NULL)
		*prefix_out = prefix;
	else
		free(prefix);
	return rc;
}

int
cmd_token_create(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "description", required_argument, NULL, 'd' },
		{ "extend-when-used", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "ip-allowlist", required_argument, NULL, 'i' },
		{ "max-age-seconds", required_argument, NULL, 'm' },
		{ "scope", required_argument, NULL, 's' },
		{ "scopes", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct aivenauth_token_spec spec = { 0 };
	struct aivenauth_ctx *ctx = NULL;
	const char **ips, **scopes;
	bool created;
	int c, rc;

	ips = calloc((size_t)argc + 1, sizeof(*ips));
	scopes = calloc((size_t)argc + 1, sizeof(*scopes));
	if (ips == NULL || scopes == NULL) {
		ctl_err("out of memory");
		rc = EX_OSERR;
		goto out;
	}
	spec.ip_allowlist = ips;
	spec.scopes = scopes;
	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "d:ehi:m:s:",
	    longopts, NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'd':
			spec.description = optarg;
			break;
		case 'e':
			spec.extend_when_used = true;
			break;
		case 'h':
			usage_print(stdout, "token create");
			rc = 0;
			goto out;
		case 'i':
			ips[spec.n_ip_allowlist++] = optarg;
			break;
		case 'm':
			if (!parse_i64(optarg, 1, INT64_MAX / 4,
			    &spec.max_age_seconds)) {
				ctl_err("--max-age-seconds: not a positive "
				    "number of seconds: %s", optarg);
				rc = EX_USAGE;
				goto out;
			}
			break;
		case 's':
			scopes[spec.n_scopes++] = optarg;
			break;
		default:
			rc = opt_error("token create", argv);
			goto out;
		}
	}
	if (argc - optind != 1 || argv[optind][0] == '\0') {
		rc = usage_of("token create");
		goto out;
	}
	if (spec.extend_when_used && spec.max_age_seconds == 0) {
		ctl_err("extend_when_used can only be used if max_age_seconds "
		    "is specified");
		rc = EX_USAGE;
		goto out;
	}
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		goto out;
	/* Open the cache before the API call: a token that cannot be
	 * stored is better not made at all. */
	if ((rc = ctl_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != 0)
		goto out;
	rc = token_mint(ctx, argv[optind], &spec, NULL, &created, NULL);
out:
	aivenauth_ctx_free(ctx);
	free(ips);
	free(scopes);
	return rc;
}
