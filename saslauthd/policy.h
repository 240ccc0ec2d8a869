/*
 * policy.h - what aivenauth-saslauthd asks of a token, per SASL service.
 *
 * The policy file (default /etc/aivenauth/saslauthd.conf, see
 * aivenauth-saslauthd(8)) has one line per SASL service name: the name
 * (or "*" for every service without a line of its own), then options
 * written like pam_aiven's arguments:
 *
 *   # service  options
 *   *          user_match=name realm=rejoin
 *   smtp       user_match=email scope=smtp
 *   ldap       realm=list realms=example.com,example.org
 *   imap       user_match=map account_map=/etc/aivenauth/accounts.imap
 *
 * A line stands alone: an option it does not name takes the built-in
 * default, not the "*" line's value (a service's policy can be read off
 * its own line).  Without a file, or without a "*" line, every service
 * gets the built-in default: user_match=name realm=rejoin, no scope --
 * the PAM module's default.
 */
#ifndef SASLD_POLICY_H
#define SASLD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "aivenauth.h"
#include "proto.h"

/* What becomes of the realm libsasl2 split off the user name. */
enum sp_realm {
	SP_REALM_REJOIN = 0,    /* match login@realm (login if no realm) */
	SP_REALM_IGNORE,        /* match login; the realm is dropped */
	SP_REALM_LIST,          /* the realm must be listed; match login */
};

#define SP_REALMS_MAX 32

struct sp_policy {
	char service[SA_SERVICE_MAX + 1];     /* "*" for the default */
	enum aivenauth_user_match user_match;
	char *scope;                          /* required scope, or NULL */
	enum sp_realm realm;
	char *realms[SP_REALMS_MAX];          /* SP_REALM_LIST: lower-case;
	                                         "" stands for "no realm" */
	size_t n_realms;
	char *account_map;                    /* user_match=map: this map
	                                         file, not the config's
	                                         account_map_file; or NULL */
	struct aivenauth_ctx *ctx;            /* set by the caller for a
	                                         policy with its own map (a
	                                         context per map file); NULL =
	                                         the responder's context */
	struct aivenauth_ctx *wctx;           /* the same for the online
	                                         worker thread, or NULL */
	unsigned line;                        /* in the file; 0 = built in */
};

struct sp_table {
	struct sp_policy *p;
	size_t n;
	struct sp_policy def;                 /* "*" or the built-in default */
};

#define SP_DEFAULT_FILE AIVENAUTH_SYSCONFDIR "/aivenauth/saslauthd.conf"

/*
 * Parse policy text (name for messages) into t (zeroed, or filled by an
 * earlier call: its old contents are freed on success).  On an error, false with
 * "NAME:LINE: what is wrong" in err; the table is left empty.
 */
bool sp_parse(const char *text, size_t len, const char *name,
    struct sp_table *t, char *err, size_t errsize);

/*
 * Load the policy file path (NULL: SP_DEFAULT_FILE, which may be absent)
 * with the library's rules for a config file (no symlink, owner root or
 * us, not group- or world-writable).  Errors go to err.
 */
bool sp_load(struct aivenauth_ctx *ctx, const char *path,
    struct sp_table *t, char *err, size_t errsize);

void sp_free(struct sp_table *t);

/* The policy for a service name (never NULL). */
const struct sp_policy *sp_lookup(const struct sp_table *t,
    const char *service);

/* Is realm (may be "") allowed by an SP_REALM_LIST policy? */
bool sp_realm_listed(const struct sp_policy *p, const char *realm);

const char *sp_realm_name(enum sp_realm r);

#endif /* SASLD_POLICY_H */
