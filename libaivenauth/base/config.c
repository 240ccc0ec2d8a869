/*
 * config.c - aivenauth.conf(5): defaults, the file parser and the
 * key/value setters shared by the file, aivenctl and PAM arguments.
 *
 * The format is deliberately poor: "key = value" lines, blank lines and
 * full-line '#' comments.  There are no inline comments, so a '#' inside a
 * value is part of it (a path or URL may legitimately contain one, and a
 * silently truncated value is worse than an error).  Every mistake is an
 * error naming the file and line, and a file with any mistake changes
 * nothing: a half-applied config is how a host ends up trusting the wrong
 * API or never going stale.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/config_fleet.h"
#include "base/internal.h"
#include "base/suggest.h"

#define LINE_MAX_BYTES 4096        /* longest line, newline excluded */
#define PATH_MAX_BYTES 4096        /* longest path value */
#define ORG_ID_MAX 64
#define MAX_STALE_MAX 315360000    /* ten years */
#define TIMEOUT_MAX 300
#define MAX_PARALLEL_MAX 64
#define WHY_MAX 256                /* a validation message */

#define DEFAULT_API_URL "https://api.aiven.io"
#define DEFAULT_TOKEN_FILE AIVENAUTH_SYSCONFDIR "/aivenauth/api-token"
#define DEFAULT_CACHE_DIR "/var/lib/aivenauth"
#define DEFAULT_ACCOUNT_MAP AIVENAUTH_SYSCONFDIR "/aivenauth/accounts"

enum key_id {
	K_API_URL,
	K_ORGANIZATION_ID,
	K_API_TOKEN_FILE,
	K_CACHE_DIR,
	K_CA_FILE,
	K_MAX_STALE,
	K_TIMEOUT,
	K_CONNECT_TIMEOUT,
	K_MAX_PARALLEL,
	K_ONLINE,
	K_HASH_RETENTION,
	K_FLEET,
	K_ETCD_ENDPOINTS,
	K_ETCD_PREFIX,
	K_ETCD_CA_FILE,
	K_ETCD_USER,
	K_ETCD_PASSWORD_FILE,
	K_FLEET_SIGNING_KEY_FILE,
	K_FLEET_PUBLIC_KEYS,
	K_FLEET_LEASE_TTL,
	K_PROXY,
	K_ACCOUNT_MAP_FILE,
	K_COUNT,
};

static const char *const key_names[K_COUNT] = {
	[K_API_URL] = "api_url",
	[K_ORGANIZATION_ID] = "organization_id",
	[K_API_TOKEN_FILE] = "api_token_file",
	[K_CACHE_DIR] = "cache_dir",
	[K_CA_FILE] = "ca_file",
	[K_MAX_STALE] = "max_stale",
	[K_TIMEOUT] = "timeout",
	[K_CONNECT_TIMEOUT] = "connect_timeout",
	[K_MAX_PARALLEL] = "max_parallel",
	[K_ONLINE] = "online",
	[K_HASH_RETENTION] = "hash_retention",
	[K_FLEET] = "fleet",
	[K_ETCD_ENDPOINTS] = "etcd_endpoints",
	[K_ETCD_PREFIX] = "etcd_prefix",
	[K_ETCD_CA_FILE] = "etcd_ca_file",
	[K_ETCD_USER] = "etcd_user",
	[K_ETCD_PASSWORD_FILE] = "etcd_password_file",
	[K_FLEET_SIGNING_KEY_FILE] = "fleet_signing_key_file",
	[K_FLEET_PUBLIC_KEYS] = "fleet_public_keys",
	[K_FLEET_LEASE_TTL] = "fleet_lease_ttl",
	[K_PROXY] = "proxy",
	[K_ACCOUNT_MAP_FILE] = "account_map_file",
};

void
config_init_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	/* ctx_new checks the three strings for NULL (allocation failure). */
	c->api_url = strdup(DEFAULT_API_URL);
	c->api_token_file = strdup(DEFAULT_TOKEN_FILE);
	c->cache_dir = strdup(DEFAULT_CACHE_DIR);
	c->account_map_file = strdup(DEFAULT_ACCOUNT_MAP);
	c->max_stale = 86400;
	c->timeout = 10;
	c->connect_timeout = 5;
	c->max_parallel = 16;
	c->online = ONLINE_OFF;
	c->hash_retention = 7 * 86400;
}

void
config_free(struct config *c)
{
	free(c->api_url);
	free(c->organization_id);
	free(c->api_token_file);
	free(c->cache_dir);
	free(c->ca_file);
	free(c->proxy);
	free(c->account_map_file);
	free(c->source);
	fleet_config_free(&c->fleet);
	memset(c, 0, sizeof(*c));
}

static bool
dup_field(char **dst, const char *src)
{
	if (src == NULL) {
		*dst = NULL;
		return true;
	}
	*dst = strdup(src);
	return *dst != NULL;
}

/* A deep copy, so a file can be parsed on top of the current settings
 * without touching them until it has proved valid. */
static bool
config_copy(struct config *dst, const struct config *src)
{
	*dst = *src;
	dst->api_url = dst->organization_id = dst->api_token_file = NULL;
	dst->cache_dir = dst->ca_file = dst->proxy = dst->source = NULL;
	dst->account_map_file = NULL;
	if (!fleet_config_copy(&dst->fleet, &src->fleet) ||
	    !dup_field(&dst->api_url, src->api_url) ||
	    !dup_field(&dst->organization_id, src->organization_id) ||
	    !dup_field(&dst->api_token_file, src->api_token_file) ||
	    !dup_field(&dst->cache_dir, src->cache_dir) ||
	    !dup_field(&dst->ca_file, src->ca_file) ||
	    !dup_field(&dst->proxy, src->proxy) ||
	    !dup_field(&dst->account_map_file, src->account_map_file) ||
	    !dup_field(&dst->source, src->source)) {
		config_free(dst);
		return false;
	}
	return true;
}

static int
key_lookup(const char *key)
{
	int i;

	for (i = 0; i < K_COUNT; i++)
		if (strcmp(key, key_names[i]) == 0)
			return i;
	return -1;
}

bool
aivenauth_config_is_key(const char *key)
{
	return key != NULL && key_lookup(key) >= 0;
}

void
config_keys_suggest(struct suggest *s)
{
	int i;

	for (i = 0; i < K_COUNT; i++)
		suggest_consider(s, key_names[i]);
}

static const char *
key_suggest(const char *key)
{
	struct suggest s;

	suggest_init(&s, key, strlen(key));
	config_keys_suggest(&s);
	return suggest_best(&s);
}

static enum aivenauth_status
set_api_url(struct config *c, const char *v, char *why, size_t wn)
{
	return config_set_url(&c->api_url, "api_url", v, why, wn);
}

static enum aivenauth_status
set_org(struct config *c, const char *v, char *why, size_t wn)
{
	size_t len = strlen(v), i;
	char buf[80];

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '_' && v[i] != '-')
			break;
	if (len > ORG_ID_MAX || i != len) {
		snprintf(why, wn, "bad value for organization_id \"%s\": "
		    "expected 1..%d characters of A-Z a-z 0-9 _ -",
		    config_shown(v, buf, sizeof(buf)), ORG_ID_MAX);
		return AIVENAUTH_ERR_CONFIG;
	}
	return config_replace_str(&c->organization_id, v, len);
}

static enum aivenauth_status
set_path(char **field, const char *key, const char *v, char *why, size_t wn)
{
	size_t len = strlen(v);
	char buf[80];

	if (v[0] != '/' || len > PATH_MAX_BYTES || config_has_ctrl(v)) {
		snprintf(why, wn, "bad value for %s \"%s\": expected an "
		    "absolute path of at most %d bytes without control "
		    "characters", key, config_shown(v, buf, sizeof(buf)),
		    PATH_MAX_BYTES);
		return AIVENAUTH_ERR_CONFIG;
	}
	return config_replace_str(field, v, len);
}

static enum aivenauth_status
set_proxy(struct config *c, const char *v, char *why, size_t wn)
{
	static const char *const schemes[] = { "http://", "https://",
	    "socks5h://" };
	size_t len = strlen(v), i;
	char buf[80], *dup;
	bool scheme = false;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(v, schemes[i], strlen(schemes[i])) == 0 &&
		    len > strlen(schemes[i]))
			scheme = true;
	for (i = 0; i < len && scheme; i++)
		if (v[i] <= ' ' || v[i] == 0x7f || v[i] == '@')
			scheme = false;
	if (!scheme || len > URL_MAX_BYTES) {
		snprintf(why, wn, "bad value for proxy \"%s\": expected "
		    "http://host:port, https://host:port or socks5h://host:port "
		    "(no credentials)", config_shown(v, buf, sizeof(buf)));
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((dup = strdup(v)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	free(c->proxy);
	c->proxy = dup;
	return AIVENAUTH_OK;
}

/* Validate v for key k and store it in c; on error c is unchanged and why
 * says what is wrong (without a file/line prefix). */
static enum aivenauth_status
set_value(struct config *c, enum key_id k, const char *v, char *why,
    size_t wn)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	unsigned long u;
	int64_t s;
	char buf[80];

	if (v[0] == '\0') {
		snprintf(why, wn, "empty value for %s", key_names[k]);
		return AIVENAUTH_ERR_CONFIG;
	}
	switch (k) {
	case K_API_URL:
		st = set_api_url(c, v, why, wn);
		break;
	case K_ORGANIZATION_ID:
		st = set_org(c, v, why, wn);
		break;
	case K_API_TOKEN_FILE:
		st = set_path(&c->api_token_file, key_names[k], v, why, wn);
		break;
	case K_CACHE_DIR:
		st = set_path(&c->cache_dir, key_names[k], v, why, wn);
		break;
	case K_CA_FILE:
		st = set_path(&c->ca_file, key_names[k], v, why, wn);
		break;
	case K_ACCOUNT_MAP_FILE:
		st = set_path(&c->account_map_file, key_names[k], v, why, wn);
		break;
	case K_PROXY:
		st = set_proxy(c, v, why, wn);
		break;
	case K_MAX_STALE:
		st = config_parse_seconds(key_names[k], v, 0, MAX_STALE_MAX, &s, why,
		    wn);
		if (st == AIVENAUTH_OK)
			c->max_stale = s;
		break;
	case K_HASH_RETENTION:
		/* How long a token the API stops listing keeps its hash in
		 * its tombstone: one empty or short listing must not lose
		 * what was enrolled (a created token was shown once). */
		st = config_parse_seconds(key_names[k], v, 0, 400 * 86400, &s, why, wn);
		if (st == AIVENAUTH_OK)
			c->hash_retention = s;
		break;
	case K_TIMEOUT:
	case K_CONNECT_TIMEOUT:
		st = config_parse_seconds(key_names[k], v, 1, TIMEOUT_MAX, &s, why,
		    wn);
		if (st == AIVENAUTH_OK && k == K_TIMEOUT)
			c->timeout = (long)s;
		else if (st == AIVENAUTH_OK)
			c->connect_timeout = (long)s;
		break;
	case K_MAX_PARALLEL:
		st = config_parse_count(key_names[k], v, 1, MAX_PARALLEL_MAX, &u, why,
		    wn);
		if (st == AIVENAUTH_OK)
			c->max_parallel = (unsigned)u;
		break;
	case K_ONLINE:
		if (strcmp(v, "off") == 0) {
			c->online = ONLINE_OFF;
			st = AIVENAUTH_OK;
		} else if (strcmp(v, "learn") == 0) {
			c->online = ONLINE_LEARN;
			st = AIVENAUTH_OK;
		} else {
			snprintf(why, wn, "bad value for online \"%s\": "
			    "expected off or learn", config_shown(v, buf, sizeof(buf)));
			st = AIVENAUTH_ERR_CONFIG;
		}
		break;
	case K_FLEET:
	case K_ETCD_ENDPOINTS:
	case K_ETCD_PREFIX:
	case K_ETCD_CA_FILE:
	case K_ETCD_USER:
	case K_ETCD_PASSWORD_FILE:
	case K_FLEET_SIGNING_KEY_FILE:
	case K_FLEET_PUBLIC_KEYS:
	case K_FLEET_LEASE_TTL:
		st = fleet_config_set(&c->fleet, key_names[k], v, why, wn);
		break;
	case K_COUNT:
		break;
	}
	if (st == AIVENAUTH_ERR_NOMEM)
		snprintf(why, wn, "out of memory");
	return st;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Parse the text of a whole file into c (a scratch copy). */
static enum aivenauth_status
parse_text(struct aivenauth_ctx *ctx, struct config *c, const char *path,
    const char *text, size_t len)
{
	unsigned seen[K_COUNT] = { 0 }, lineno = 0;
	char line[LINE_MAX_BYTES + 1], why[WHY_MAX], buf[80];
	const char *p = text, *nl, *sugg;
	char *key, *val, *eq;
	size_t n;
	int k;
	enum aivenauth_status st;

	while (p < text + len) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(text + len - p));
		n = (size_t)((nl != NULL ? nl : text + len) - p);
		if (n > LINE_MAX_BYTES) {
			ctx_log(ctx, LOG_ERR, "%s:%u: line longer than %d bytes",
			    path, lineno, LINE_MAX_BYTES);
			return AIVENAUTH_ERR_CONFIG;
		}
		if (memchr(p, '\0', n) != NULL) {
			ctx_log(ctx, LOG_ERR, "%s:%u: NUL byte in line; "
			    "is this a text file?", path, lineno);
			return AIVENAUTH_ERR_CONFIG;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + 1;
		key = trim(line);
		if (key[0] == '\0' || key[0] == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			ctx_log(ctx, LOG_ERR, "%s:%u: missing '=' (expected "
			    "\"key = value\")", path, lineno);
			return AIVENAUTH_ERR_CONFIG;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (key[0] == '\0') {
			ctx_log(ctx, LOG_ERR, "%s:%u: empty key before '='",
			    path, lineno);
			return AIVENAUTH_ERR_CONFIG;
		}
		if ((k = key_lookup(key)) < 0) {
			sugg = key_suggest(key);
			ctx_log(ctx, LOG_ERR, "%s:%u: unknown key \"%s\"%s%s%s",
			    path, lineno, config_shown(key, buf, sizeof(buf)),
			    sugg != NULL ? " (did you mean \"" : "",
			    sugg != NULL ? sugg : "", sugg != NULL ? "\"?)" : "");
			return AIVENAUTH_ERR_CONFIG;
		}
		if (seen[k] != 0) {
			ctx_log(ctx, LOG_ERR, "%s:%u: duplicate key \"%s\" "
			    "(first set on line %u)", path, lineno, key,
			    seen[k]);
			return AIVENAUTH_ERR_CONFIG;
		}
		seen[k] = lineno;
		if ((st = set_value(c, (enum key_id)k, val, why,
		    sizeof(why))) != AIVENAUTH_OK) {
			ctx_log(ctx, LOG_ERR, "%s:%u: %s", path, lineno, why);
			return st;
		}
	}
	return AIVENAUTH_OK;
}

enum aivenauth_status
aivenauth_config_load(struct aivenauth_ctx *ctx, const char *path,
    bool must_exist)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct config tmp;
	bool explicit = true, have_tmp = false;
	char *text = NULL;
	size_t len = 0;

	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	/* secure_getenv: a setuid caller must not be steered to a file of
	 * the invoking user's choosing. */
	if (path == NULL)
		path = secure_getenv("AIVENAUTH_CONFIG");
	if (path == NULL || path[0] == '\0') {
		path = CONFIG_DEFAULT_PATH;
		explicit = false;
	}
	st = read_trusted(ctx, path, TRUST_CONFIG, CONFIG_MAX_FILE, &text,
	    &len);
	if (st == AIVENAUTH_ERR_NOT_FOUND) {
		if (!explicit && !must_exist) {
			st = AIVENAUTH_OK;
			goto out;
		}
		ctx_log(ctx, LOG_ERR, "config file %s does not exist", path);
		st = AIVENAUTH_ERR_CONFIG;
		goto out;
	}
	if (st != AIVENAUTH_OK)
		goto out;
	if (!config_copy(&tmp, &ctx->cfg)) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	have_tmp = true;
	if ((st = parse_text(ctx, &tmp, path, text, len)) != AIVENAUTH_OK)
		goto out;
	free(tmp.source);
	if ((tmp.source = strdup(path)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	config_free(&ctx->cfg);
	ctx->cfg = tmp;
	have_tmp = false;
	st = AIVENAUTH_OK;
out:
	if (have_tmp)
		config_free(&tmp);
	free(text);
	return st;
}

enum aivenauth_status
aivenauth_config_set(struct aivenauth_ctx *ctx, const char *key,
    const char *value)
{
	char why[WHY_MAX], buf[80];
	const char *sugg;
	enum aivenauth_status st;
	int k;

	if (ctx == NULL || key == NULL || value == NULL)
		return AIVENAUTH_ERR_INVALID;
	if ((k = key_lookup(key)) < 0) {
		sugg = key_suggest(key);
		ctx_log(ctx, LOG_ERR, "config: unknown key \"%s\"%s%s%s",
		    config_shown(key, buf, sizeof(buf)),
		    sugg != NULL ? " (did you mean \"" : "",
		    sugg != NULL ? sugg : "", sugg != NULL ? "\"?)" : "");
		return AIVENAUTH_ERR_CONFIG;
	}
	st = set_value(&ctx->cfg, (enum key_id)k, value, why, sizeof(why));
	if (st != AIVENAUTH_OK)
		ctx_log(ctx, LOG_ERR, "config: %s", why);
	return st;
}

const char *
aivenauth_config_get(struct aivenauth_ctx *ctx, const char *key)
{
	struct config *c;
	int k;

	if (ctx == NULL || key == NULL || (k = key_lookup(key)) < 0)
		return NULL;
	c = &ctx->cfg;
	switch ((enum key_id)k) {
	case K_API_URL:
		return c->api_url;
	case K_ORGANIZATION_ID:
		return c->organization_id;
	case K_API_TOKEN_FILE:
		return c->api_token_file;
	case K_CACHE_DIR:
		return c->cache_dir;
	case K_CA_FILE:
		return c->ca_file;
	case K_ACCOUNT_MAP_FILE:
		return c->account_map_file;
	case K_PROXY:
		return c->proxy;
	case K_MAX_STALE:
		snprintf(c->getbuf, sizeof(c->getbuf), "%" PRId64,
		    c->max_stale);
		return c->getbuf;
	case K_TIMEOUT:
		snprintf(c->getbuf, sizeof(c->getbuf), "%ld", c->timeout);
		return c->getbuf;
	case K_CONNECT_TIMEOUT:
		snprintf(c->getbuf, sizeof(c->getbuf), "%ld",
		    c->connect_timeout);
		return c->getbuf;
	case K_MAX_PARALLEL:
		snprintf(c->getbuf, sizeof(c->getbuf), "%u", c->max_parallel);
		return c->getbuf;
	case K_ONLINE:
		return c->online == ONLINE_LEARN ? "learn" : "off";
	case K_HASH_RETENTION:
		snprintf(c->getbuf, sizeof(c->getbuf), "%" PRId64,
		    c->hash_retention);
		return c->getbuf;
	case K_FLEET:
	case K_ETCD_ENDPOINTS:
	case K_ETCD_PREFIX:
	case K_ETCD_CA_FILE:
	case K_ETCD_USER:
	case K_ETCD_PASSWORD_FILE:
	case K_FLEET_SIGNING_KEY_FILE:
	case K_FLEET_PUBLIC_KEYS:
		return fleet_config_get(&c->fleet, key_names[k]);
	case K_FLEET_LEASE_TTL:
		snprintf(c->getbuf, sizeof(c->getbuf), "%" PRId64,
		    fleet_lease_ttl(&c->fleet));
		return c->getbuf;
	case K_COUNT:
		break;
	}
	return NULL;
}
