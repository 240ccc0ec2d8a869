/*
 * cmd_verify.c - aivenctl verify USER: decide on a token read from stdin,
 * exactly as pam_aiven would.
 *
 * Output: "accepted" or "denied: <reason-name>: <reason text>", then
 * token_prefix, user_id, user_name and expiry_time lines.  With
 * --user-match map, USER is the local account and the map is
 * account_map_file (or --account-map FILE), read as pam_aiven reads it.  Exit 0 accepted,
 * 1 denied, EX_UNAVAILABLE when the cache is stale (PAM answers
 * PAM_AUTHINFO_UNAVAIL then), other codes when no decision could be made.
 */
#include <stdlib.h>
#include <string.h>

#include "aivenctl.h"

static bool
parse_match(const char *s, enum aivenauth_user_match *m)
{
	if (strcmp(s, "name") == 0)
		*m = AIVENAUTH_MATCH_NAME;
	else if (strcmp(s, "id") == 0)
		*m = AIVENAUTH_MATCH_ID;
	else if (strcmp(s, "email") == 0)
		*m = AIVENAUTH_MATCH_EMAIL;
	else if (strcmp(s, "any") == 0)
		*m = AIVENAUTH_MATCH_ANY;
	else if (strcmp(s, "map") == 0)
		*m = AIVENAUTH_MATCH_MAP;
	else
		return false;
	return true;
}

int
cmd_verify(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "rhost", required_argument, NULL, 'r' },
		{ "scope", required_argument, NULL, 's' },
		{ "service", required_argument, NULL, 'S' },
		{ "user-match", required_argument, NULL, 'u' },
		{ "account-map", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct aivenauth_request req = { 0 };
	struct aivenauth_decision d;
	struct aivenauth_ctx *ctx = NULL;
	enum aivenauth_status st;
	const char *line, *map = NULL;
	char *tok = NULL, tb[32];
	size_t len = 0;
	int c, rc;

	req.user_match = AIVENAUTH_MATCH_NAME;
	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "hr:s:S:u:m:",
	    longopts, NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage_print(stdout, "verify");
			return 0;
		case 'r':
			req.rhost = optarg;
			break;
		case 's':
			req.scope = optarg;
			break;
		case 'S':
			req.service = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		case 'u':
			if (!parse_match(optarg, &req.user_match)) {
				ctl_err("--user-match: expected name, id, "
				    "email, map or any, not '%s'", optarg);
				return EX_USAGE;
			}
			break;
		default:
			return opt_error("verify", argv);
		}
	}
	if (argc - optind == 1)
		req.user = argv[optind];
	else if (!(argc - optind == 0 && req.user_match == AIVENAUTH_MATCH_ANY))
		return usage_of("verify");
	if (req.service == NULL)
		req.service = PROG_NAME;
	if ((rc = ctl_ctx_new(&ctx)) != 0)
		return rc;
	if (map != NULL && aivenauth_config_set(ctx, "account_map_file", map) !=
	    AIVENAUTH_OK) {
		rc = EX_USAGE;
		goto out;
	}
	if ((rc = secret_read(&tok, &len)) != 0)
		goto out;
	memset(&d, 0, sizeof(d));
	st = aivenauth_verify(ctx, tok, len, &req, &d);
	secret_free(tok, len);
	tok = NULL;

	if (st != AIVENAUTH_OK && d.reason == AIVENAUTH_ACCEPTED)
		d.reason = AIVENAUTH_REASON_ERROR;   /* never "accepted" then */
	if (st != AIVENAUTH_OK) {
		ctl_err("no decision could be made: %s",
		    aivenauth_strerror(st));
		rc = exit_code(st);
	} else if (d.reason == AIVENAUTH_ACCEPTED) {
		rc = 0;
	} else if (d.reason == AIVENAUTH_REASON_CACHE_STALE ||
	    d.reason == AIVENAUTH_REASON_CACHE_UNAVAILABLE) {
		rc = EX_UNAVAILABLE;
	} else if (d.reason == AIVENAUTH_REASON_ONLINE_UNAVAILABLE) {
		rc = EX_TEMPFAIL;
	} else if (d.reason == AIVENAUTH_REASON_ERROR) {
		rc = EX_SOFTWARE;
	} else if (d.reason == AIVENAUTH_REASON_MAP_UNAVAILABLE) {
		rc = EX_CONFIG;
	} else {
		rc = EXIT_DENIED;
	}
	if (g.json) {
		json_t *o = json_pack("{s:s, s:b, s:s, s:s, s:o, s:o, s:o, "
		    "s:o, s:o, s:o, s:b, s:b}",
		    "decision", rc == 0 ? "accepted" : "denied",
		    "accepted", rc == 0,
		    "reason", aivenauth_reason_name(d.reason),
		    "reason_text", aivenauth_reason_text(d.reason),
		    "token_prefix", json_str(d.prefix[0] != '\0' ?
		    d.prefix : NULL),
		    "user_id", json_str(d.user_id[0] != '\0' ?
		    d.user_id : NULL),
		    "user_name", json_str(d.user_name[0] != '\0' ?
		    d.user_name : NULL),
		    "user_email", json_str(d.user_email[0] != '\0' ?
		    d.user_email : NULL),
		    "expiry_time", json_time(d.expiry),
		    "sync_age", d.sync_age >= 0 ? json_integer(d.sync_age) :
		    json_null(),
		    "learned", (d.flags & AIVENAUTH_DECISION_LEARNED) != 0,
		    "extended", (d.flags & AIVENAUTH_DECISION_EXTENDED) != 0);
		int jr = json_print(o);

		json_decref(o);
		if (jr != 0)
			rc = jr;
	} else {
		if (rc == 0)
			line = "accepted";
		else
			line = "denied";
		if (rc == 0)
			printf("%s\n", line);
		else
			printf("%s: %s: %s\n", line,
			    aivenauth_reason_name(d.reason),
			    aivenauth_reason_text(d.reason));
		printf("token_prefix: %s\n", d.prefix[0] != '\0' ? d.prefix :
		    "null");
		print_visible(stdout, "user_id: %s", d.user_id[0] != '\0' ?
		    d.user_id : "null");
		putchar('\n');
		print_visible(stdout, "user_name: %s", d.user_name[0] != '\0' ?
		    d.user_name : "null");
		putchar('\n');
		printf("expiry_time: %s\n", fmt_time(d.expiry, tb));
	}
out:
	secret_free(tok, len);
	aivenauth_ctx_free(ctx);
	return rc;
}
