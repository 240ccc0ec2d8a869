/*
 * config_fleet.c - validation of the fleet keys (docs/FLEET.md).
 *
 * The same stance as the rest of the config: a mistake is an error that
 * says what is expected, never a silent default.  An etcd endpoint is
 * held to api_url's rule (https://, plain http:// only to loopback): the
 * etcd password and the published hashes cross that connection.  Public
 * keys are decoded here, so a follower with a typo in its pinned key
 * fails at start-up, not at its first apply.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config_fleet.h"
#include "base/pinned_keys.h"

#define ENDPOINTS_MAX_BYTES 8192

static enum aivenauth_status
replace(char **field, char *p)
{
	if (p == NULL)
		return AIVENAUTH_ERR_NOMEM;
	free(*field);
	*field = p;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
set_path(char **field, const char *key, const char *v, char *why, size_t wn)
{
	if (v[0] != '/' || strlen(v) > 4096 || config_has_ctrl(v)) {
		snprintf(why, wn, "bad value for %s: expected an absolute path "
		    "of at most 4096 bytes without control characters", key);
		return AIVENAUTH_ERR_CONFIG;
	}
	return replace(field, strdup(v));
}

/* Each endpoint validated like api_url; stored joined by ",". */
static enum aivenauth_status
set_endpoints(struct fleet_config *f, const char *key, const char *v,
    char *why, size_t wn)
{
	enum aivenauth_status st = AIVENAUTH_OK;
	struct buf out;
	const char *p = v, *e, *s;
	char *one = NULL, *url = NULL;
	size_t n;
	unsigned count = 0;

	if (strlen(v) > ENDPOINTS_MAX_BYTES) {
		snprintf(why, wn, "%s is longer than %d bytes", key,
		    ENDPOINTS_MAX_BYTES);
		return AIVENAUTH_ERR_CONFIG;
	}
	buf_init(&out, ENDPOINTS_MAX_BYTES + 1, false);
	for (;;) {
		e = p + strcspn(p, ",");
		s = p;
		while (s < e && isblank((unsigned char)*s))
			s++;
		n = (size_t)(e - s);
		while (n > 0 && isblank((unsigned char)s[n - 1]))
			n--;
		if (n == 0) {
			snprintf(why, wn, "bad value for %s: empty endpoint "
			    "(expected URL[,URL...])", key);
			st = AIVENAUTH_ERR_CONFIG;
			goto out;
		}
		if (++count > FLEET_ENDPOINTS_MAX) {
			snprintf(why, wn, "%s: more than %d endpoints", key,
			    FLEET_ENDPOINTS_MAX);
			st = AIVENAUTH_ERR_CONFIG;
			goto out;
		}
		if ((one = strndup(s, n)) == NULL) {
			st = AIVENAUTH_ERR_NOMEM;
			goto out;
		}
		if ((st = config_set_url(&url, key, one, why, wn)) !=
		    AIVENAUTH_OK)
			goto out;
		if ((out.len > 0 && (st = buf_addc(&out, ',')) !=
		    AIVENAUTH_OK) ||
		    (st = buf_add(&out, url, strlen(url))) != AIVENAUTH_OK)
			goto out;
		free(one);
		one = NULL;
		if (*e == '\0')
			break;
		p = e + 1;
	}
	st = replace(&f->etcd_endpoints, strdup(buf_cstr(&out)));
out:
	free(one);
	free(url);
	buf_free(&out);
	return st;
}

/* "/name/" of printable characters without blanks: the prefix is both a
 * key and the RBAC grant ("--prefix=true readwrite /aivenauth/"). */
static enum aivenauth_status
set_prefix(struct fleet_config *f, const char *key, const char *v,
    char *why, size_t wn)
{
	size_t n = strlen(v), i;

	for (i = 0; i < n; i++)
		if (!isgraph((unsigned char)v[i]))
			break;
	if (n < 3 || n > FLEET_PREFIX_MAX || i != n || v[0] != '/' ||
	    v[n - 1] != '/') {
		snprintf(why, wn, "bad value for %s: expected a key prefix "
		    "that starts and ends with '/' (e.g. /aivenauth/), 3..%d "
		    "printable characters without blanks", key,
		    FLEET_PREFIX_MAX);
		return AIVENAUTH_ERR_CONFIG;
	}
	return replace(&f->etcd_prefix, strdup(v));
}

static enum aivenauth_status
set_user(struct fleet_config *f, const char *key, const char *v, char *why,
    size_t wn)
{
	size_t n = strlen(v), i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("._@-", v[i]))
			break;
	if (n > FLEET_USER_MAX || i != n) {
		snprintf(why, wn, "bad value for %s: expected 1..%d characters "
		    "of A-Z a-z 0-9 . _ @ -", key, FLEET_USER_MAX);
		return AIVENAUTH_ERR_CONFIG;
	}
	return replace(&f->etcd_user, strdup(v));
}

static enum aivenauth_status
set_keys(struct fleet_config *f, const char *key, const char *v, char *why,
    size_t wn)
{
	char b64[FLEET_MAX_KEYS][FLEET_PK_B64_SIZE], msg[200], out[100];
	struct fleet_keys k;

	if (!fleet_keys_parse(v, &k, msg, sizeof(msg))) {
		snprintf(why, wn, "bad value for %s: %s", key, msg);
		return AIVENAUTH_ERR_CONFIG;
	}
	fleet_pk_b64(k.pk[0], b64[0]);
	if (k.n == 2)
		fleet_pk_b64(k.pk[1], b64[1]);
	snprintf(out, sizeof(out), "%s%s%s", b64[0], k.n == 2 ? "," : "",
	    k.n == 2 ? b64[1] : "");
	return replace(&f->public_keys, strdup(out));
}

enum aivenauth_status
fleet_config_set(struct fleet_config *f, const char *key, const char *v,
    char *why, size_t wn)
{
	if (strcmp(key, "fleet") == 0) {
		if (strcmp(v, "off") == 0)
			f->mode = FLEET_OFF;
		else if (strcmp(v, "publish") == 0)
			f->mode = FLEET_PUBLISH;
		else if (strcmp(v, "follow") == 0)
			f->mode = FLEET_FOLLOW;
		else {
			snprintf(why, wn, "bad value for fleet: expected off, "
			    "publish or follow");
			return AIVENAUTH_ERR_CONFIG;
		}
		return AIVENAUTH_OK;
	}
	if (strcmp(key, "etcd_endpoints") == 0)
		return set_endpoints(f, key, v, why, wn);
	if (strcmp(key, "etcd_prefix") == 0)
		return set_prefix(f, key, v, why, wn);
	if (strcmp(key, "etcd_ca_file") == 0)
		return set_path(&f->etcd_ca_file, key, v, why, wn);
	if (strcmp(key, "etcd_user") == 0)
		return set_user(f, key, v, why, wn);
	if (strcmp(key, "etcd_password_file") == 0)
		return set_path(&f->etcd_password_file, key, v, why, wn);
	if (strcmp(key, "fleet_signing_key_file") == 0)
		return set_path(&f->signing_key_file, key, v, why, wn);
	if (strcmp(key, "fleet_public_keys") == 0)
		return set_keys(f, key, v, why, wn);
	if (strcmp(key, "fleet_lease_ttl") == 0) {
		/* Below 5 s a keepalive every TTL/3 races etcd's own lease
		 * granularity; above an hour a dead leader stalls the fleet's
		 * updates for longer than any max_stale worth having. */
		int64_t s;
		enum aivenauth_status st = config_parse_seconds(key, v,
		    FLEET_LEASE_TTL_MIN, FLEET_LEASE_TTL_MAX, &s, why, wn);

		if (st == AIVENAUTH_OK)
			f->lease_ttl = s;
		return st;
	}
	snprintf(why, wn, "internal error: %s is not a fleet key", key);
	return AIVENAUTH_ERR_INTERNAL;
}

const char *
fleet_config_get(const struct fleet_config *f, const char *key)
{
	static const char *const modes[] = { "off", "publish", "follow" };

	if (strcmp(key, "fleet") == 0)
		return (unsigned)f->mode < 3 ? modes[f->mode] : NULL;
	if (strcmp(key, "etcd_endpoints") == 0)
		return f->etcd_endpoints;
	if (strcmp(key, "etcd_prefix") == 0)
		return f->etcd_prefix != NULL ? f->etcd_prefix :
		    FLEET_DEFAULT_PREFIX;
	if (strcmp(key, "etcd_ca_file") == 0)
		return f->etcd_ca_file;
	if (strcmp(key, "etcd_user") == 0)
		return f->etcd_user;
	if (strcmp(key, "etcd_password_file") == 0)
		return f->etcd_password_file;
	if (strcmp(key, "fleet_signing_key_file") == 0)
		return f->signing_key_file;
	if (strcmp(key, "fleet_public_keys") == 0)
		return f->public_keys;
	return NULL;
}

int64_t
fleet_lease_ttl(const struct fleet_config *f)
{
	return f->lease_ttl != 0 ? f->lease_ttl : FLEET_LEASE_TTL_DEFAULT;
}

static bool
dup(char **dst, const char *src)
{
	*dst = NULL;
	return src == NULL || (*dst = strdup(src)) != NULL;
}

bool
fleet_config_copy(struct fleet_config *dst, const struct fleet_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->mode = src->mode;
	dst->lease_ttl = src->lease_ttl;
	if (dup(&dst->etcd_endpoints, src->etcd_endpoints) &&
	    dup(&dst->etcd_prefix, src->etcd_prefix) &&
	    dup(&dst->etcd_ca_file, src->etcd_ca_file) &&
	    dup(&dst->etcd_user, src->etcd_user) &&
	    dup(&dst->etcd_password_file, src->etcd_password_file) &&
	    dup(&dst->signing_key_file, src->signing_key_file) &&
	    dup(&dst->public_keys, src->public_keys))
		return true;
	fleet_config_free(dst);
	return false;
}

void
fleet_config_free(struct fleet_config *f)
{
	free(f->etcd_endpoints);
	free(f->etcd_prefix);
	free(f->etcd_ca_file);
	free(f->etcd_user);
	free(f->etcd_password_file);
	free(f->signing_key_file);
	free(f->public_keys);
	memset(f, 0, sizeof(*f));
}
