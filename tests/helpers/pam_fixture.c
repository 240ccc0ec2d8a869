/*
 * pam_fixture.c - see pam_fixture.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers/pam_fixture.h"

void
pf_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

void
pf_xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		pf_die("path or text too long");
}

void
pf_write_file(const char *path, const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(path, "w");

	if (f == NULL)
		pf_die("%s: %s", path, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) != 0)
		pf_die("%s: %s", path, strerror(errno));
	chmod(path, 0644);
}

void
pf_rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[PATH_MAX];

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		pf_xsnprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		pf_rm_rf(sub);
	}
	closedir(d);
	rmdir(path);
}

void
pf_mkdtemp(char *buf, size_t size, const char *tag)
{
	pf_xsnprintf(buf, size, "/tmp/%s.XXXXXX", tag);
	if (mkdtemp(buf) == NULL)
		pf_die("mkdtemp: %s", strerror(errno));
	chmod(buf, 0755);
}

void
pf_module_path(char *buf, size_t size)
{
	const char *b = getenv("AIVENAUTH_BUILD");
	char rb[PATH_MAX];

	if (b == NULL || *b == '\0')
		b = "./build";
	if (realpath(b, rb) == NULL)
		pf_die("AIVENAUTH_BUILD %s: %s", b, strerror(errno));
	pf_xsnprintf(buf, size, "%s/pam_aiven.so", rb);
	if (access(buf, R_OK) != 0)
		pf_die("%s: %s", buf, strerror(errno));
}

void
pf_service(const char *dir, const char *name, const char *module,
    const char *auth_args, const char *acct_args)
{
	char path[PATH_MAX];

	pf_xsnprintf(path, sizeof(path), "%s/%s", dir, name);
	pf_write_file(path,
	    "auth     required  %s %s\n"
	    "account  required  %s %s\n"
	    "session  required  " PF_PAM_PERMIT "\n"
	    "password required  " PF_PAM_DENY "\n",
	    module, auth_args, module, acct_args);
}

void
pf_service_other(const char *dir)
{
	char path[PATH_MAX];

	pf_xsnprintf(path, sizeof(path), "%s/other", dir);
	pf_write_file(path, "auth required " PF_PAM_DENY "\n"
	    "account required " PF_PAM_DENY "\n"
	    "password required " PF_PAM_DENY "\n"
	    "session required " PF_PAM_DENY "\n");
}

void
pf_tokens(char (*tokens)[FX_TOKEN_LEN + 1], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fx_token(tokens[i], 0);
}

char *
pf_prefix(const char *token, char *buf)
{
	memcpy(buf, token, FX_PREFIX_LEN);
	buf[FX_PREFIX_LEN] = '\0';
	return buf;
}

int
pf_conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	struct pf_conv_state *cs = appdata;
	struct pam_response *r;
	int i;

	if (n <= 0 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return n <= 0 ? PAM_CONV_ERR : PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_ERROR_MSG)
			cs->errors++;
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		cs->prompts++;
		if (cs->answer == NULL || (r[i].resp = strdup(cs->answer)) == NULL) {
			while (i-- > 0)
				free(r[i].resp);
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

void
pf_no_delay(int retval, unsigned usec, void *appdata)
{
	(void)retval;
	(void)usec;
	(void)appdata;
}

static const char *const pf_user_names[] = { "alice", "bob", "nobody" };

static char *
pf_strdup(const char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		pf_die("out of memory");
	return d;
}

void
pf_cache_build(const struct pf_cache *c)
{
	struct aivenauth_ctx *ctx = NULL;
	struct aivenauth_apply_stats stats;
	struct fx_snap f;
	enum aivenauth_status st;
	int64_t now = c->now != 0 ? c->now : (int64_t)time(NULL);
	char id[64], email[128], p[FX_PREFIX_LEN + 1];
	size_t i;

	if (c->n_users > sizeof(pf_user_names) / sizeof(pf_user_names[0]))
		pf_die("pf_cache_build: %zu users", c->n_users);
	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK)
		pf_die("aivenauth_ctx_new");
	if (aivenauth_config_set(ctx, "cache_dir", c->dir) != AIVENAUTH_OK)
		pf_die("config_set cache_dir");
	st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR | AIVENAUTH_OPEN_CREATE);
	if (st != AIVENAUTH_OK)
		pf_die("cache_open %s: %s", c->dir, aivenauth_strerror(st));

	fx_snap_init(&f);
	for (i = 0; i < c->n_users; i++) {
		struct aivenauth_user *u;

		pf_xsnprintf(id, sizeof(id), "u-%s", pf_user_names[i]);
		pf_xsnprintf(email, sizeof(email), "%s@example.com", pf_user_names[i]);
		u = fx_add_user(&f, id, pf_user_names[i]);
		free(u->email);
		u->email = pf_strdup(email);
		u->create_time = now - 86400;
	}
	for (i = 0; i < c->n_toks; i++) {
		const struct pf_tok *s = &c->toks[i];
		struct aivenauth_token *t;

		if (s->user_id == NULL)
			continue;
		t = fx_add_token(&f, s->user_id, s->token);
		free(t->description);
		t->description = pf_strdup(c->description);
		t->create_time = now - 3600 * 2;
		t->created_manually = false;
		t->currently_active = true;
		if (s->allow[0] != NULL)
			fx_strv(&t->ip_allowlist, &t->n_ip_allowlist, s->allow[0],
			    s->allow[1]);
		if (s->scope != NULL)
			fx_strv(&t->scopes, &t->n_scopes, s->scope, NULL);
		if (s->expired) {
			t->expiry_time = now - 3600;
			t->max_age_seconds = 3600;
		}
	}
	f.s.organization_id = c->org_id;
	st = aivenauth_cache_apply(ctx, &f.s, now, &stats);
	if (st != AIVENAUTH_OK)
		pf_die("cache_apply: %s", aivenauth_strerror(st));
	fx_snap_free(&f);

	for (i = 0; i < c->n_toks; i++) {
		const struct pf_tok *s = &c->toks[i];

		if (s->user_id == NULL || s->unenrolled)
			continue;
		st = aivenauth_cache_enroll(ctx, s->user_id, s->token,
		    FX_TOKEN_LEN, NULL);
		if (st != AIVENAUTH_OK)
			pf_die("cache_enroll %zu: %s", i, aivenauth_strerror(st));
	}
	for (i = 0; i < c->n_toks; i++) {
		if (!c->toks[i].revoked)
			continue;
		st = aivenauth_cache_revoke(ctx, pf_prefix(c->toks[i].token, p), 0);
		if (st != AIVENAUTH_OK)
			pf_die("cache_revoke: %s", aivenauth_strerror(st));
	}
	aivenauth_ctx_free(ctx);
}
