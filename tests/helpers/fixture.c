/*
 * fixture.c - see fixture.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fixture.h"

void
fx_token(char *buf, char first)
{
	unsigned char raw[277];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(buf, FX_TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_ORIGINAL);
	if (first != 0)
		buf[0] = first;
}

char *
fx_tmpdir(void)
{
	char tmpl[] = "/tmp/aivenauth-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d != NULL ? strdup(d) : NULL;
}

void
fx_rmdir(const char *dir)
{
	char cmd[512];

	if (dir == NULL || strncmp(dir, "/tmp/aivenauth-test.", 20) != 0 ||
	    strchr(dir, '\'') != NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

struct aivenauth_ctx *
fx_ctx(const char *dir)
{
	struct aivenauth_ctx *ctx;
	char path[512];

	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK)
		return NULL;
	snprintf(path, sizeof(path), "%s/cache", dir);
	if (aivenauth_config_set(ctx, "cache_dir", path) != AIVENAUTH_OK ||
	    aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR | AIVENAUTH_OPEN_CREATE) !=
	    AIVENAUTH_OK) {
		aivenauth_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void
fx_snap_init(struct fx_snap *f)
{
	memset(f, 0, sizeof(*f));
}

struct aivenauth_user *
fx_add_user(struct fx_snap *f, const char *id, const char *name)
{
	struct aivenauth_user *u;
	char email[256];

	if (f->s.n_users == f->cap_users) {
		f->cap_users = f->cap_users ? f->cap_users * 2 : 8;
		f->s.users = realloc(f->s.users, f->cap_users * sizeof(*u));
	}
	u = &f->s.users[f->s.n_users++];
	memset(u, 0, sizeof(*u));
	snprintf(email, sizeof(email), "%s@app-users.example", id);
	u->user_id = strdup(id);
	u->name = strdup(name);
	u->email = strdup(email);
	u->create_time = 1700000000;
	return u;
}

struct aivenauth_token *
fx_add_token(struct fx_snap *f, const char *user_id, const char *token)
{
	struct aivenauth_token *t;

	if (f->s.n_tokens == f->cap_tokens) {
		f->cap_tokens = f->cap_tokens ? f->cap_tokens * 2 : 8;
		f->s.tokens = realloc(f->s.tokens, f->cap_tokens * sizeof(*t));
	}
	t = &f->s.tokens[f->s.n_tokens++];
	memset(t, 0, sizeof(*t));
	t->prefix = strndup(token, FX_PREFIX_LEN);
	t->user_id = strdup(user_id);
	t->description = strdup("test token");
	t->create_time = 1700000000;
	t->created_manually = true;
	return t;
}

void
fx_strv(char ***v, size_t *n, const char *a, const char *b)
{
	*n = b != NULL ? 2 : 1;
	*v = calloc(*n, sizeof(**v));
	(*v)[0] = strdup(a);
	if (b != NULL)
		(*v)[1] = strdup(b);
}

void
fx_snap_free(struct fx_snap *f)
{
	aivenauth_users_free(f->s.users, f->s.n_users);
	aivenauth_tokens_free(f->s.tokens, f->s.n_tokens);
	memset(f, 0, sizeof(*f));
}

void
fx_log_fn(void *arg, int level, const char *msg)
{
	struct fx_log *l = arg;
	int n;

	(void)level;
	n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%s\n", msg);
	if (n > 0 && (size_t)n < sizeof(l->buf) - l->len)
		l->len += (size_t)n;
}
