/*
 * netload.c - find, check and dlopen the network client module.
 *
 * Where: next to the code that runs (dladdr), in aivenauth/aivenauth-net.so
 * (so a build tree and an installed tree both work without any environment
 * variable, which a setuid or PAM host must not be steered by), then the
 * compiled-in AIVENAUTH_NET_DEFAULT.  The module is checked like any
 * trusted file (owner root or us, not writable by others) before dlopen,
 * and loaded RTLD_NODELETE: libcurl and OpenSSL register process-wide state
 * that must not be unmapped under them.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "base/netload.h"

/* Response size cap: 10,000 users with long names is ~5 MiB. */
#define NET_MAX_BODY (32u << 20)
#define NET_MAX_RETRIES 4

static void
net_log(void *arg, int level, const char *msg)
{
	ctx_log(arg, level, "%s", msg);
}

static bool
module_path(char *out, size_t size)
{
	Dl_info info;
	char tmp[PATH_MAX];
	struct stat st;

	if (dladdr((void *)module_path, &info) != 0 && info.dli_fname != NULL &&
	    strlen(info.dli_fname) < sizeof(tmp)) {
		memcpy(tmp, info.dli_fname, strlen(info.dli_fname) + 1);
		if ((size_t)snprintf(out, size, "%s/aivenauth/aivenauth-net.so",
		    dirname(tmp)) < size && stat(out, &st) == 0)
			return true;
	}
	return (size_t)snprintf(out, size, "%s", AIVENAUTH_NET_DEFAULT) < size;
}

enum aivenauth_status
net_load(struct aivenauth_ctx *ctx)
{
	const struct aivenauth_net_ops *ops;
	enum aivenauth_status st;
	char path[PATH_MAX];
	void *h;

	if (ctx->net != NULL)
		return AIVENAUTH_OK;
	if (!module_path(path, sizeof(path))) {
		ctx_log(ctx, LOG_ERR, "network client module path too long");
		return AIVENAUTH_ERR_NET_UNAVAILABLE;
	}
	if ((st = check_trusted_path(ctx, path, TRUST_MODULE, false)) != AIVENAUTH_OK) {
		ctx_log(ctx, LOG_ERR, "cannot use the network client module %s "
		    "(is aivenauth fully installed?)", path);
		return AIVENAUTH_ERR_NET_UNAVAILABLE;
	}
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
		ctx_log(ctx, LOG_ERR, "cannot load the network client module: %s",
		    dlerror());
		return AIVENAUTH_ERR_NET_UNAVAILABLE;
	}
	ops = dlsym(h, AIVENAUTH_NET_SYMBOL);
	if (ops == NULL || ops->abi != AIVENAUTH_NET_ABI) {
		ctx_log(ctx, LOG_ERR, "network client module %s is %s", path,
		    ops == NULL ? "not an aivenauth module" :
		    "from another aivenauth version");
		dlclose(h);
		return AIVENAUTH_ERR_NET_UNAVAILABLE;
	}
	ctx->net = ops;
	ctx->net_handle = h;
	return AIVENAUTH_OK;
}

void
net_unload(struct aivenauth_ctx *ctx)
{
	/* RTLD_NODELETE: dropping our reference is all there is to do. */
	if (ctx->net_handle != NULL)
		dlclose(ctx->net_handle);
	ctx->net = NULL;
	ctx->net_handle = NULL;
}

/* The admin token: $AIVEN_AUTH_TOKEN (the avn convention; ignored in
 * setuid processes by secure_getenv) or the api_token_file. */
static enum aivenauth_status
admin_token(struct aivenauth_ctx *ctx, struct buf *secret)
{
	enum aivenauth_status st;
	const char *env;
	char *data = NULL;
	size_t len = 0, s, e;

	/* A fleet follower holds no Aiven credential by design (FLEET.md). */
	if (ctx->cfg.fleet.mode == FLEET_FOLLOW) {
		ctx_log(ctx, LOG_ERR, "this host is a fleet follower (fleet = "
		    "follow): it holds no admin API token; run this on the "
		    "publisher");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((env = secure_getenv("AIVEN_AUTH_TOKEN")) != NULL && *env != '\0') {
		data = (char *)env;
		len = strlen(env);
	} else {
		st = read_trusted(ctx, ctx->cfg.api_token_file, TRUST_SECRET,
		    TOKEN_FILE_MAX, &data, &len);
		if (st == AIVENAUTH_ERR_NOT_FOUND) {
			ctx_log(ctx, LOG_ERR, "no admin API token: %s does not exist "
			    "and AIVEN_AUTH_TOKEN is not set", ctx->cfg.api_token_file);
			return AIVENAUTH_ERR_NO_CREDENTIALS;
		}
		if (st != AIVENAUTH_OK)
			return st;
	}
	for (s = 0; s < len && (data[s] == ' ' || data[s] == '\t' ||
	    data[s] == '\n' || data[s] == '\r'); s++)
		;
	for (e = len; e > s && (data[e - 1] == ' ' || data[e - 1] == '\t' ||
	    data[e - 1] == '\n' || data[e - 1] == '\r'); e--)
		;
	buf_init(secret, TOKEN_FILE_MAX, true);
	st = e > s ? buf_add(secret, data + s, e - s) : AIVENAUTH_ERR_NO_CREDENTIALS;
	if (data != env)
		aivenauth_secret_free(data, len + 1);
	if (st == AIVENAUTH_ERR_NO_CREDENTIALS)
		ctx_log(ctx, LOG_ERR, "the admin API token is empty");
	if (st == AIVENAUTH_OK && memchr(secret->data, '\n', secret->len) != NULL) {
		ctx_log(ctx, LOG_ERR, "the admin API token file holds more than "
		    "one line");
		st = AIVENAUTH_ERR_NO_CREDENTIALS;
	}
	if (st != AIVENAUTH_OK)
		buf_free(secret);
	return st;
}

enum aivenauth_status
net_params_init(struct aivenauth_ctx *ctx, struct net_params *p,
    const char *token, size_t token_len, bool need_org, struct buf *secret)
{
	const struct config *c = &ctx->cfg;
	enum aivenauth_status st;

	buf_init(secret, 0, true);
	memset(p, 0, sizeof(*p));
	if (need_org && c->organization_id == NULL) {
		ctx_log(ctx, LOG_ERR, "organization_id is not set in %s",
		    c->source != NULL ? c->source : "the configuration");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((st = net_load(ctx)) != AIVENAUTH_OK)
		return st;
	if (token == NULL) {
		if ((st = admin_token(ctx, secret)) != AIVENAUTH_OK)
			return st;
		token = secret->data;
		token_len = secret->len;
	}
	p->api_url = c->api_url;
	p->org_id = c->organization_id;
	p->token = token;
	p->token_len = token_len;
	p->ca_file = c->ca_file;
	p->proxy = c->proxy;
	p->timeout_ms = c->timeout * 1000;
	p->connect_timeout_ms = (c->connect_timeout < c->timeout ?
	    c->connect_timeout : c->timeout) * 1000;
	p->max_parallel = c->max_parallel;
	p->max_body = NET_MAX_BODY;
	p->max_retries = NET_MAX_RETRIES;
	p->retry_cap_ms = 10000;
	p->log = net_log;
	p->log_arg = ctx;
	p->log_max_level = ctx->log_fn != NULL ? ctx->log_max : -1;
	p->last_http = &ctx->last_http;
	ctx->last_http = 0;
	return AIVENAUTH_OK;
}

void
net_params_done(struct buf *secret)
{
	buf_free(secret);
}
