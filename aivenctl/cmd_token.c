/*
 * cmd_token.c - aivenctl token ...: the token sub-dispatch table.
 */
#include "aivenctl.h"

const struct command token_commands[] = {
	{ "create", cmd_token_create,
	  "USER_ID [--description D] [--max-age-seconds N]\n"
	  "[--extend-when-used] [--ip-allowlist CIDR]... "
	  "[--scope S]...",
	  "create a token, store its hash, print it once" },
	{ "add", cmd_token_add, "USER_ID",
	  "enroll an existing token read from stdin" },
	{ "list", cmd_token_list, "[USER_ID]",
	  "list the tokens in the cache" },
	{ "revoke", cmd_token_revoke, "USER_ID PREFIX | ORG_ID/USER_ID/PREFIX",
	  "revoke a token: locally first, then at the API" },
	{ "rotate", cmd_token_rotate,
	  "USER_ID PREFIX [--grace SECONDS]",
	  "replace a token with a new one, revoke the old after a grace" },
	{ NULL, NULL, NULL, NULL },
};

int
cmd_token(int argc, char *argv[])
{
	return dispatch(token_commands, "token", argc - 1, argv + 1);
}
