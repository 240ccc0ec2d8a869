/*
 * fixture.h - test helpers shared by the Check suites: temporary cache
 * directories, random Aiven-shaped tokens, snapshots built in memory.
 */
#ifndef AIVENAUTH_TEST_FIXTURE_H
#define AIVENAUTH_TEST_FIXTURE_H

#include <stddef.h>

#include "aivenauth.h"

#define FX_TOKEN_LEN 372
#define FX_PREFIX_LEN 12

/* A random 372-character base64 token ending in "==" (like Aiven's),
 * NUL-terminated; buf must hold FX_TOKEN_LEN + 1 bytes.  The first
 * character is forced to `first` unless it is 0 (to make prefixes with
 * '+' or '/'). */
void fx_token(char *buf, char first);

/* mkdtemp under /tmp; returns a malloc'ed path. */
char *fx_tmpdir(void);
/* rm -rf a directory made by fx_tmpdir (refuses other paths). */
void fx_rmdir(const char *dir);

/* A context whose cache_dir is dir/cache, opened read-write (created). */
struct aivenauth_ctx *fx_ctx(const char *dir);

/* Snapshot builder: users u0..u(n-1) named "user<i>", tokens appended. */
struct fx_snap {
	struct aivenauth_snapshot s;
	size_t cap_users, cap_tokens;
};
void fx_snap_init(struct fx_snap *f);
struct aivenauth_user *fx_add_user(struct fx_snap *f, const char *id,
    const char *name);
/* Adds token metadata for `token` (prefix = first FX_PREFIX_LEN chars). */
struct aivenauth_token *fx_add_token(struct fx_snap *f, const char *user_id,
    const char *token);
void fx_strv(char ***v, size_t *n, const char *a, const char *b);
void fx_snap_free(struct fx_snap *f);

/* Log capture: every message appended to a buffer, newline-separated. */
struct fx_log {
	char buf[16384];
	size_t len;
};
void fx_log_fn(void *arg, int level, const char *msg);

#endif
