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
 * and, for `aivenctl COMMAND --help`, each option with its meaning and
 * default.  main() hands the table to cli.c; nothing else refers to it.
 */
#include "aivenctl.h"
#include "ops.h"

static const struct command user_commands[] = {
	{ "list", cmd_user_list, "[--cached]",
	  "list application users (API, or the cache with --cached)",
	  NULL, 0,
	  "  --cached           read the cache, not the API (default: the API,\n"
	  "                     with the admin token)\n" },
	{ "create", cmd_user_create, "NAME",
	  "create an application user", NULL, CMD_ADMIN,
	  "  NAME               the application user's name (what PAM matches\n"
	  "                     with user_match=name)\n" },
	{ "delete", cmd_user_delete, "USER_ID",
	  "delete an application user (its tokens are revoked locally "
	  "first)", NULL, CMD_ADMIN | CMD_PUBLISHES,
	  "  USER_ID            the user's id (`aivenctl user list`), not its "
	  "name\n" },
	{ NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

static const struct command token_commands[] = {
	{ "create", cmd_token_create,
	  "USER_ID [--description D] [--max-age-seconds N]\n"
	  "[--extend-when-used] [--ip-allowlist CIDR]... "
	  "[--scope S]...",
	  "create a token, store its hash, print it once",
	  NULL, CMD_ADMIN | CMD_PUBLISHES,
	  "  --description D       what the token is for (default: none)\n"
	  "  --max-age-seconds N   expires N seconds after creation (default:\n"
	  "                        never; audit flags that)\n"
	  "  --extend-when-used    each use moves the expiry N seconds on\n"
	  "                        (default: off)\n"
	  "  --ip-allowlist CIDR   usable only from these addresses; repeat for\n"
	  "                        more (default: any address)\n"
	  "  --scope S             an API scope; repeat for more (default: the\n"
	  "                        user's full permissions)\n" },
	{ "add", cmd_token_add, "USER_ID",
	  "enroll an existing token read from stdin",
	  NULL, CMD_ADMIN | CMD_PUBLISHES,
	  "  USER_ID            the token's user; the token is read from stdin\n"
	  "                     (a terminal: without echo), never from argv\n" },
	{ "list", cmd_token_list, "[USER_ID]",
	  "list the tokens in the cache", NULL, 0,
	  "  USER_ID            only this user's tokens (default: all)\n" },
	{ "revoke", cmd_token_revoke,
	  "USER_ID PREFIX | ORG_ID/USER_ID/PREFIX | --clear-overflow",
	  "revoke a token: locally first, then at the API",
	  NULL, CMD_ADMIN | CMD_PUBLISHES,
	  "  USER_ID PREFIX          the token's user id and prefix\n"
	  "  ORG_ID/USER_ID/PREFIX   the same as one word (Terraform's import "
	  "id)\n"
	  "  --clear-overflow        clear the revocation journal's overflow "
	  "mark\n"
	  "                          (after confirming in the console)\n" },
	{ "rotate", cmd_token_rotate,
	  "USER_ID PREFIX | ORG_ID/USER_ID/PREFIX [--grace SECONDS]",
	  "replace a token with a new one, revoke the old after a grace",
	  NULL, CMD_ADMIN | CMD_PUBLISHES,
	  "  --grace SECONDS    the old token keeps working this long after the\n"
	  "                     new one exists, so that jobs in flight can switch\n"
	  "                     (default: 86400, one day; the first sync after\n"
	  "                     it deletes the old one at the API); 0 revokes\n"
	  "                     the old token at once\n" },
	{ NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

static const struct command fleet_commands[] = {
	{ "keygen", cmd_fleet_keygen, "[--out FILE]",
	  "make the publisher key pair; print the public key", NULL, 0,
	  "  --out FILE         where the secret key goes, a new file, 0600\n"
	  "                     (default: the config's fleet_signing_key_file)\n" },
	{ "resign", cmd_fleet_resign, "",
	  "a publisher gives up the leader key (maintenance, handover)",
	  NULL, 0, NULL },
	{ "status", cmd_fleet_status, "",
	  "leader, published generation and heartbeat, from etcd", NULL, 0,
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct command ctl_commands[] = {
	{ "sync", cmd_sync, "[--prometheus FILE]",
	  "fetch users and tokens from the API into the cache",
	  NULL, CMD_ADMIN,
	  "  --prometheus FILE  also write node_exporter metrics to FILE after\n"
	  "                     the attempt, failed ones included (default: "
	  "none)\n" },
	{ "status", cmd_status, "[--prometheus [FILE]]",
	  "show the cache and whether it is fresh", NULL, 0,
	  "  --prometheus [FILE]  node_exporter metrics instead, to FILE or\n"
	  "                       stdout (default: the key: value lines)\n" },
	{ "user", NULL, NULL,
	  "list, create or delete application users", user_commands, 0,
	  NULL },
	{ "token", NULL, NULL,
	  "create, add, list, revoke or rotate tokens", token_commands, 0,
	  NULL },
	{ "inspect", cmd_inspect,
	  "PREFIX | USER_ID PREFIX | ORG_ID/USER_ID/PREFIX",
	  "show everything the cache knows about one token", NULL, 0,
	  "  PREFIX                  the token's prefix (as `token list` "
	  "shows)\n"
	  "  USER_ID PREFIX          ... and the user it must belong to\n"
	  "  ORG_ID/USER_ID/PREFIX   the same as one word (Terraform's import "
	  "id)\n" },
	{ "verify", cmd_verify,
	  "USER [--rhost IP] [--service NAME] [--scope S]\n"
	  "[--user-match name|id|email|map|any] [--account-map FILE]",
	  "decide on a token read from stdin", NULL, 0,
	  "  USER               the login name PAM would get\n"
	  "  --rhost IP         the client address, for ip_allowlist (default:\n"
	  "                     none: a token with an allowlist is refused)\n"
	  "  --service NAME     the PAM service name in the log (default:\n"
	  "                     aivenctl)\n"
	  "  --scope S          a scope the token must carry (default: none)\n"
	  "  --user-match M     how USER must match the token's user: name, id,\n"
	  "                     email, map or any (default: name; any never\n"
	  "                     admits uid 0)\n"
	  "  --account-map FILE the local account map for --user-match map\n"
	  "                     (default: config account_map_file)\n" },
	{ "audit", cmd_audit, "[--unused-days N] [--rotation-days N]",
	  "check tokens and users against best practices", NULL, 0,
	  "  --unused-days N    flag tokens the API has not seen used for N\n"
	  "                     days (default: 90; 0: off)\n"
	  "  --rotation-days N  flag tokens older than N days (default: 365;\n"
	  "                     0: off)\n" },
	{ "doctor", cmd_doctor, "[--offline] [--root DIR]",
	  "check this host's installation end to end", NULL, 0,
	  "  --offline          no API or etcd request (default: ask them)\n"
	  "  --root DIR         read /etc/pam.d, /etc/default, /etc/ssh and\n"
	  "                     /etc/dovecot under DIR (default: /)\n"
	  "Exit 0: no fail (warnings allowed); 1: a check failed; 64 and up:\n"
	  "the doctor could not run.\n" },
	{ "fleet", NULL, NULL,
	  "fleet mode: key pair, status", fleet_commands, 0, NULL },
	{ "follow", cmd_follow, "[--once]",
	  "fleet follower: apply what the publisher signed, from etcd",
	  NULL, 0,
	  "  --once             apply what etcd has now and exit (default: keep\n"
	  "                     watching)\n" },
	{ "version", cmd_version, "", "print the version", NULL, 0, NULL },
	{ "help", cmd_help, "[COMMAND [SUBCOMMAND]]",
	  "print this help, or a command's", NULL, 0, NULL },
	{ NULL, NULL, NULL, NULL, NULL, 0, NULL },
};
