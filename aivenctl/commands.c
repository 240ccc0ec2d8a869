/*
 * commands.c - every aivenctl command in one table: its name, the
 * function (one file per command), the synopsis and summary the usage
 * text is made of, and what it needs around it in fleet mode:
 *
 *   CMD_ADMIN      needs the organization admin token: refused on a fleet
 *                  follower, which holds no Aiven credential
 *   CMD_PUBLISHES  changes what the fleet sees: on a publisher, takes the
 *                  leader key before it changes anything and publishes
 *                  after (fleet_hooks.c)
 *
 * main() hands the table to cli.c; nothing else refers to it.
 */
#include "aivenctl.h"
#include "ops.h"

static const struct command user_commands[] = {
	{ "list", cmd_user_list, "[--cached]",
	  "list application users (API, or the cache with --cached)",
	  NULL, 0 },
	{ "create", cmd_user_create, "NAME",
	  "create an application user", NULL, CMD_ADMIN },
	{ "delete", cmd_user_delete, "USER_ID",
	  "delete an application user (its tokens are revoked locally "
	  "first)", NULL, CMD_ADMIN | CMD_PUBLISHES },
	{ NULL, NULL, NULL, NULL, NULL, 0 },
};

static const struct command token_commands[] = {
	{ "create", cmd_token_create,
	  "USER_ID [--description D] [--max-age-seconds N]\n"
	  "[--extend-when-used] [--ip-allowlist CIDR]... "
	  "[--scope S]...",
	  "create a token, store its hash, print it once",
	  NULL, CMD_ADMIN | CMD_PUBLISHES },
	{ "add", cmd_token_add, "USER_ID",
	  "enroll an existing token read from stdin",
	  NULL, CMD_ADMIN | CMD_PUBLISHES },
	{ "list", cmd_token_list, "[USER_ID]",
	  "list the tokens in the cache", NULL, 0 },
	{ "revoke", cmd_token_revoke, "USER_ID PREFIX | ORG_ID/USER_ID/PREFIX",
	  "revoke a token: locally first, then at the API",
	  NULL, CMD_ADMIN | CMD_PUBLISHES },
	{ "rotate", cmd_token_rotate,
	  "USER_ID PREFIX | ORG_ID/USER_ID/PREFIX [--grace SECONDS]",
	  "replace a token with a new one, revoke the old after a grace",
	  NULL, CMD_ADMIN | CMD_PUBLISHES },
	{ NULL, NULL, NULL, NULL, NULL, 0 },
};

static const struct command fleet_commands[] = {
	{ "keygen", cmd_fleet_keygen, "[--out FILE]",
	  "make the publisher key pair; print the public key", NULL, 0 },
	{ "resign", cmd_fleet_resign, "",
	  "a publisher gives up the leader key (maintenance, handover)",
	  NULL, 0 },
	{ "status", cmd_fleet_status, "",
	  "leader, published generation and heartbeat, from etcd", NULL, 0 },
	{ NULL, NULL, NULL, NULL, NULL, 0 },
};

const struct command ctl_commands[] = {
	{ "sync", cmd_sync, "[--prometheus FILE]",
	  "fetch users and tokens from the API into the cache",
	  NULL, CMD_ADMIN },
	{ "status", cmd_status, "[--prometheus [FILE]]",
	  "show the cache and whether it is fresh", NULL, 0 },
	{ "user", NULL, NULL,
	  "list, create or delete application users", user_commands, 0 },
	{ "token", NULL, NULL,
	  "create, add, list, revoke or rotate tokens", token_commands, 0 },
	{ "inspect", cmd_inspect, "PREFIX | USER_ID PREFIX | ORG_ID/USER_ID/PREFIX",
	  "show everything the cache knows about one token", NULL, 0 },
	{ "verify", cmd_verify,
	  "USER [--rhost IP] [--service NAME] [--scope S]\n"
	  "[--user-match name|id|email|any]",
	  "decide on a token read from stdin", NULL, 0 },
	{ "audit", cmd_audit, "[--unused-days N] [--rotation-days N]",
	  "check tokens and users against best practices", NULL, 0 },
	{ "doctor", cmd_doctor, "[--offline] [--root DIR]",
	  "check this host's installation end to end", NULL, 0 },
	{ "fleet", NULL, NULL,
	  "fleet mode: key pair, status", fleet_commands, 0 },
	{ "follow", cmd_follow, "[--once]",
	  "fleet follower: apply what the publisher signed, from etcd",
	  NULL, 0 },
	{ "version", cmd_version, "", "print the version", NULL, 0 },
	{ "help", cmd_help, "", "print this help", NULL, 0 },
	{ NULL, NULL, NULL, NULL, NULL, 0 },
};
