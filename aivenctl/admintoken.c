/*
 * admintoken.c - which synced token is the one `aivenctl sync` itself
 * authenticates with, so that `audit` never tells anyone to revoke it.
 *
 * The sync's run knows (it reads the token): it records the prefix in
 * cache_dir/sync-state, where a non-root audit finds it.  An audit run as
 * a user that can read the token itself (root) matches it directly.  Only
 * the prefix ever leaves this file: the token is wiped after the match.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops.h"

/* Constant time in the prefix's length: the prefix is public, the
 * token's head is not. */
static bool
head_equals(const char *tok, size_t len, const char *prefix)
{
	size_t n = strlen(prefix), i;
	unsigned char diff = 0;

	if (n == 0 || n > len)
		return false;
	for (i = 0; i < n; i++)
		diff |= (unsigned char)(tok[i] ^ prefix[i]);
	return diff == 0;
}

/* The admin token as the library takes it: $AIVEN_AUTH_TOKEN, else
 * api_token_file (not followed if a symlink).  Length in *len; the
 * buffer (AIVENAUTH_TOKEN_MAX_LEN + 2 bytes) is the caller's to wipe. */
static bool
read_admin_token(struct aivenauth_ctx *ctx, char *buf, size_t size,
    size_t *len)
{
	const char *env = secure_getenv("AIVEN_AUTH_TOKEN");
	const char *path;
	ssize_t n;
	size_t got = 0;
	int fd;

	*len = 0;
	if (env != NULL && *env != '\0') {
		got = strlen(env);
		if (got >= size)
			return false;
		memcpy(buf, env, got);
		*len = got;
		return true;
	}
	path = aivenauth_config_get(ctx, "api_token_file");
	if (path == NULL || (fd = open(path, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return false;
	while (got < size && (n = read(fd, buf + got, size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' ||
	    buf[got - 1] == ' '))
		got--;
	*len = got;
	return got != 0 && got < size;
}

bool
admin_token_prefix(struct aivenauth_ctx *ctx,
    const struct aivenauth_token *t, size_t n, char *out, size_t outsize)
{
	char buf[AIVENAUTH_TOKEN_MAX_LEN + 2];
	size_t len, i, best = 0;
	bool found = false;

	if (read_admin_token(ctx, buf, sizeof(buf), &len)) {
		/* The longest prefix that heads the token: prefixes of
		 * different lengths may nest. */
		for (i = 0; i < n; i++) {
			if (t[i].prefix == NULL || strlen(t[i].prefix) <= best ||
			    !head_equals(buf, len, t[i].prefix))
				continue;
			best = strlen(t[i].prefix);
			snprintf(out, outsize, "%s", t[i].prefix);
			found = true;
		}
	}
	secret_wipe(buf, sizeof(buf));
	return found;
}
