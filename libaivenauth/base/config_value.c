/*
 * config_value.c - the value rules every config key shares (config.c's
 * keys, config_fleet.c's): a URL the admin token may be sent to, a
 * DURATION, a count, no control characters, and how a value is quoted
 * back in a message without echoing a token or an escape sequence.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config_value.h"

/* Text of a value fit for a log line: bounded, control characters shown
 * as '?' so a hostile file cannot write escape sequences to a terminal. */
const char *
config_shown(const char *v, char *out, size_t size)
{
	size_t i;

	/* A token pasted into the wrong line is still a secret: show only
	 * what is logged of any token, its first 12 characters. */
	if (aivenauth_token_shaped(v, strlen(v))) {
		snprintf(out, size, "%.12s...(token-shaped, not shown)", v);
		return out;
	}
	for (i = 0; v[i] != '\0' && i + 4 < size; i++)
		out[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	if (v[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

bool
config_has_ctrl(const char *v)
{
	for (; *v != '\0'; v++)
		if (iscntrl((unsigned char)*v))
			return true;
	return false;
}

enum aivenauth_status
config_replace_str(char **field, const char *v, size_t n)
{
	char *p;

	if ((p = strndup(v, n)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	free(*field);
	*field = p;
	return AIVENAUTH_OK;
}

static bool
url_host_ok(const char *h, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	if (h[0] == '[') {
		/* An IPv6 literal; inet_pton later is curl's business. */
		if (n < 3 || h[n - 1] != ']')
			return false;
		for (i = 1; i < n - 1; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' &&
			    h[i] != '.')
				return false;
		return true;
	}
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return false;
	return true;
}

/*
 * https://host[:port][/path], or http:// to a loopback literal only (the
 * simulator and tests): the admin token must never cross a network in
 * clear.  Userinfo, queries and fragments are refused because the library
 * appends paths to this base and would silently produce nonsense.
 */
enum aivenauth_status
config_set_url(char **field, const char *key, const char *v, char *why,
    size_t wn)
{
	const char *host, *end, *port, *p;
	size_t len = strlen(v), hlen, i;
	bool plain;
	char buf[80];
	long pn;
	char *pe;
	enum aivenauth_status st;

	if (len > URL_MAX_BYTES) {
		snprintf(why, wn, "%s is longer than %d bytes", key,
		    URL_MAX_BYTES);
		return AIVENAUTH_ERR_CONFIG;
	}
	for (i = 0; i < len; i++) {
		if (v[i] <= ' ' || v[i] == 0x7f || strchr("@?#\\", v[i])) {
			snprintf(why, wn, "bad value for %s \"%s\": "
			    "whitespace, control characters, '@', '?', '#' "
			    "and '\\' are not allowed", key,
			    config_shown(v, buf, sizeof(buf)));
			return AIVENAUTH_ERR_CONFIG;
		}
	}
	if (strncasecmp(v, "https://", 8) == 0) {
		plain = false;
		host = v + 8;
	} else if (strncasecmp(v, "http://", 7) == 0) {
		plain = true;
		host = v + 7;
	} else {
		snprintf(why, wn, "bad value for %s \"%s\": expected "
		    "https://host[:port][/path]", key,
		    config_shown(v, buf, sizeof(buf)));
		return AIVENAUTH_ERR_CONFIG;
	}
	end = host + strcspn(host, "/");
	/* The port colon is the last one, and not inside [v6]. */
	port = NULL;
	for (p = end; p > host; p--) {
		if (p[-1] == ']')
			break;
		if (p[-1] == ':') {
			port = p - 1;
			break;
		}
	}
	hlen = (size_t)((port != NULL ? port : end) - host);
	if (!url_host_ok(host, hlen)) {
		snprintf(why, wn, "bad value for %s \"%s\": missing or "
		    "invalid host name", key, config_shown(v, buf, sizeof(buf)));
		return AIVENAUTH_ERR_CONFIG;
	}
	if (port != NULL) {
		errno = 0;
		pn = port + 1 < end && isdigit((unsigned char)port[1]) ?
		    strtol(port + 1, &pe, 10) : -1;
		if (pn < 1 || pn > 65535 || errno != 0 || pe != end) {
			snprintf(why, wn, "bad value for %s \"%s\": "
			    "invalid port (expected 1..65535)", key,
			    config_shown(v, buf, sizeof(buf)));
			return AIVENAUTH_ERR_CONFIG;
		}
	}
	if (plain && !((hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
	    (hlen == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (hlen == 5 && strncmp(host, "[::1]", 5) == 0))) {
		snprintf(why, wn, "bad value for %s \"%s\": plain http:// "
		    "is allowed only to 127.0.0.1, localhost or [::1]; "
		    "use https://", key, config_shown(v, buf, sizeof(buf)));
		return AIVENAUTH_ERR_CONFIG;
	}
	/* Callers append "/v1/..."; a trailing slash would double it. */
	while (len > 0 && v[len - 1] == '/')
		len--;
	if ((st = config_replace_str(field, v, len)) != AIVENAUTH_OK)
		return st;
	/* The scheme in lower case, whatever case the file used. */
	for (i = 0; i < (plain ? 4u : 5u); i++)
		(*field)[i] = (char)tolower((unsigned char)(*field)[i]);
	return AIVENAUTH_OK;
}

/*
 * Seconds, with an optional unit suffix s, m, h or d ("24h").  Only digits
 * may start the number: strtoll alone would take " 5", "+5" and "-5".
 */
enum aivenauth_status
config_parse_seconds(const char *key, const char *v, int64_t min, int64_t max,
    int64_t *out, char *why, size_t wn)
{
	long long n, mult = 1;
	char *end, buf[80];

	if (!isdigit((unsigned char)v[0]))
		goto bad;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno == ERANGE)
		goto range;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		goto bad;
	}
	if (*end != '\0' && end[1] != '\0')
		goto bad;
	if (n > max / mult || n * mult < min)
		goto range;
	*out = n * mult;
	return AIVENAUTH_OK;
bad:
	snprintf(why, wn, "bad value for %s \"%s\": expected a whole number "
	    "of seconds, optionally with a unit s, m, h or d (e.g. 30, 5m, "
	    "24h)", key, config_shown(v, buf, sizeof(buf)));
	return AIVENAUTH_ERR_CONFIG;
range:
	snprintf(why, wn, "%s = %s is out of range (%" PRId64 "..%" PRId64
	    " seconds)", key, config_shown(v, buf, sizeof(buf)), min, max);
	return AIVENAUTH_ERR_CONFIG;
}

enum aivenauth_status
config_parse_count(const char *key, const char *v, unsigned long min,
    unsigned long max, unsigned long *out, char *why, size_t wn)
{
	unsigned long n;
	char *end, buf[80];

	if (!isdigit((unsigned char)v[0]))
		goto bad;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end != '\0')
		goto bad;
	if (errno == ERANGE || n < min || n > max) {
		snprintf(why, wn, "%s = %s is out of range (%lu..%lu)", key,
		    config_shown(v, buf, sizeof(buf)), min, max);
		return AIVENAUTH_ERR_CONFIG;
	}
	*out = n;
	return AIVENAUTH_OK;
bad:
	snprintf(why, wn, "bad value for %s \"%s\": expected a whole number "
	    "%lu..%lu", key, config_shown(v, buf, sizeof(buf)), min, max);
	return AIVENAUTH_ERR_CONFIG;
}

/*
 * proxy = URL: the one way to send API calls through a proxy (the
 * environment's https_proxy and friends are never used: inside PAM they
 * are the caller's).  No credentials ('@'): they would be a secret in a
 * file that is not one.
 */
