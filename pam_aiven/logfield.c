/*
 * logfield.c - caller-controlled strings for log lines.
 *
 * A client chooses the user name (and often rhost and the service's
 * idea of either); a client that puts its token there, whole or with a
 * character more, must not find it in syslog.  aivenauth_token_shaped()
 * answers only for the whole string, so a run of base64 characters long
 * enough to be a piece of a token is what is refused here.
 */
#include <stdio.h>
#include <string.h>

#include "logfield.h"

static bool
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* A path's '/' separates its names: "/etc/aivenauth/saslauthd" is three
 * short names, not one run of 24; a token's own '/' come one in 64
 * characters or so, leaving runs far longer than PA_TOKEN_RUN. */
static bool
token_run(const char *s, size_t n, bool path)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		run = b64_char((unsigned char)s[i]) && !(path && s[i] == '/') ?
		    run + 1 : 0;
		if (run >= PA_TOKEN_RUN)
			return true;
	}
	return false;
}

bool
pa_token_run(const char *s, size_t n)
{
	return token_run(s, n, false);
}

static const char *
show(const char *s, char *buf, size_t size, bool path)
{
	size_t i, len;

	if (s == NULL || *s == '\0')
		return "-";
	len = strlen(s);
	if (token_run(s, len, path)) {
		snprintf(buf, size, "(token-shaped,not-logged,len=%zu)", len);
		return buf;
	}
	for (i = 0; s[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ?
		    (char)c : '?';
	}
	if (s[i] != '\0' && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	buf[i] = '\0';
	return buf;
}

const char *
pa_log_field(const char *s, char *buf, size_t size)
{
	return show(s, buf, size, false);
}

const char *
pa_log_path(const char *s, char *buf, size_t size)
{
	return show(s, buf, size, true);
}
