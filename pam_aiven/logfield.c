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

bool
pa_token_run(const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		run = b64_char((unsigned char)s[i]) ? run + 1 : 0;
		if (run >= PA_TOKEN_RUN)
			return true;
	}
	return false;
}

const char *
pa_log_field(const char *s, char *buf, size_t size)
{
	size_t i, len;

	if (s == NULL || *s == '\0')
		return "-";
	len = strlen(s);
	if (pa_token_run(s, len)) {
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
