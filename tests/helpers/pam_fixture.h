/*
 * pam_fixture.h - fixture code shared by the PAM suites (check_pam.c:
 * pam_start_confdir; check_pamtest.c: pam_wrapper + libpamtest): fatal
 * errors, files and service files, the module's path, a scratch
 * directory, a conversation function, and a cache built from a table of
 * tokens (through fixture.h's snapshot builder and token maker).
 */
#ifndef AIVENAUTH_TEST_PAM_FIXTURE_H
#define AIVENAUTH_TEST_PAM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <security/pam_appl.h>

#include "aivenauth.h"
#include "helpers/fixture.h"

#define PF_SEC "/usr/lib/x86_64-linux-gnu/security"
#define PF_PAM_PERMIT PF_SEC "/pam_permit.so"
#define PF_PAM_DENY PF_SEC "/pam_deny.so"
#define PF_PAM_SET_ITEMS "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so"

/* Print "<program>: <message>" on stderr and exit 2. */
void pf_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* snprintf that dies on truncation. */
void pf_xsnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write a file (mode 0644), or die. */
void pf_write_file(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* rm -rf, for the suites' scratch directories. */
void pf_rm_rf(const char *path);

/* mkdtemp("/tmp/<tag>.XXXXXX") into buf, mode 0755 (service users and
 * pam_wrapper copies must traverse it), or die. */
void pf_mkdtemp(char *buf, size_t size, const char *tag);
/* Absolute path of pam_aiven.so: $AIVENAUTH_BUILD (default ./build), or
 * die if it is not readable. */
void pf_module_path(char *buf, size_t size);

/* Service file dir/name in the usual four-line shape: pam_aiven.so with
 * auth_args for auth and acct_args for account, pam_permit for session,
 * pam_deny for password. */
void pf_service(const char *dir, const char *name, const char *module,
    const char *auth_args, const char *acct_args);
/* dir/other: pam_deny for every type. */
void pf_service_other(const char *dir);

/* Random tokens (fixture.h's fx_token: 372-character base64). */
void pf_tokens(char (*tokens)[FX_TOKEN_LEN + 1], size_t n);
/* The first FX_PREFIX_LEN characters of token, in buf. */
char *pf_prefix(const char *token, char *buf);

/* Conversation: every prompt is answered with `answer` (NULL: the
 * conversation fails); prompts and error messages are counted. */
struct pf_conv_state {
	const char *answer;
	int prompts;
	int errors;
};
int pf_conv_fn(int n, const struct pam_message **msg,
    struct pam_response **resp, void *appdata);
/* PAM_FAIL_DELAY callback that does nothing (no 2 s delays in tests). */
void pf_no_delay(int retval, unsigned usec, void *appdata);

/* One token of a cache built by pf_cache_build(). */
struct pf_tok {
	const char *token;      /* FX_TOKEN_LEN characters */
	const char *user_id;    /* NULL: not in the cache at all */
	bool unenrolled;        /* synced, but its hash is never stored */
	bool revoked;           /* revoked locally after the sync */
	bool expired;           /* max age 3600, expired an hour before now */
	const char *allow[2];   /* ip_allowlist (NULL-padded) */
	const char *scope;      /* one scope, or NULL */
};
/* The cache: users u-alice, u-bob, u-nobody (the first n_users of them;
 * name, "<name>@example.com", made a day before now), the tokens (made two
 * hours before now, currently active, with `description`), applied as one
 * sync at `now` (0: time(NULL)), hashes enrolled, revocations applied. */
struct pf_cache {
	const char *dir;
	const char *org_id;
	const char *description;
	size_t n_users;
	int64_t now;
	const struct pf_tok *toks;
	size_t n_toks;
};
void pf_cache_build(const struct pf_cache *c);

#endif
