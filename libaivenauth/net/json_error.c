/*
 * json_error.c - what an error answer says, for humans and for the few
 * error codes the client acts on.  The body may be the API's JSON, a
 * proxy's HTML page or anything else: the message is cut, cleaned of
 * control characters and never longer than JSON_MSG_MAX.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/internal.h"
#include "net/json.h"
#include "net/json_read.h"

/*
 * Copy text for a log line: whitespace runs collapsed to one space, other
 * control characters replaced by '?', at most max bytes, never cutting a
 * UTF-8 sequence in half.  Returns the bytes written (out NUL-terminated).
 */
static size_t
clean_copy(char *out, size_t outsz, const char *s, size_t n, size_t max)
{
	size_t i, o = 0;
	unsigned char c;
	bool space = true;   /* drops leading blanks */

	if (outsz == 0)
		return 0;
	if (max > outsz - 1)
		max = outsz - 1;
	for (i = 0; i < n && o < max; i++) {
		c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		space = false;
		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (o == max && i < n) {
		/* Truncated: drop a trailing incomplete UTF-8 sequence. */
		size_t j = o, need;
		unsigned char lead;

		while (j > 0 && ((unsigned char)out[j - 1] & 0xc0) == 0x80)
			j--;
		if (j > 0 && ((unsigned char)out[j - 1] & 0x80) != 0) {
			lead = (unsigned char)out[j - 1];
			need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
			if (o - (j - 1) < need)
				o = j - 1;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}

/* Case-insensitive search of needle in s[0..n). */
static const char *
memcasestr(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; k <= n && i <= n - k; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

/*
 * An HTML error page (a proxy's 502, a captive portal): its <title>, else
 * its text with the tags dropped.  Enough for a human to recognise it
 * without echoing a page.
 */
static void
html_message(const char *s, size_t n, char *out, size_t outsz)
{
	const char *t, *e;
	char text[JSON_MSG_MAX + 1];
	size_t i, o = 0;
	bool tag = false;

	t = memcasestr(s, n, "<title>");
	if (t != NULL) {
		t += 7;
		e = memcasestr(t, n - (size_t)(t - s), "</title>");
		if (e != NULL && clean_copy(text, sizeof(text), t,
		    (size_t)(e - t), JSON_MSG_MAX - 20) > 0)
			goto done;
	}
	/* Strip the tags into text, then clean it. */
	{
		char raw[JSON_MSG_MAX * 2];

		for (i = 0; i < n && o < sizeof(raw); i++) {
			if (s[i] == '<')
				tag = true;
			else if (s[i] == '>') {
				tag = false;
				if (o > 0 && o < sizeof(raw))
					raw[o++] = ' ';
			} else if (!tag)
				raw[o++] = s[i];
		}
		if (clean_copy(text, sizeof(text), raw, o, JSON_MSG_MAX - 20) ==
		    0) {
			snprintf(out, outsz, "non-JSON body");
			return;
		}
	}
done:
	snprintf(out, outsz, "%s (HTML body)", text);
}

bool
json_error_has_code(const char *body, size_t len, const char *code)
{
	json_t *root, *v, *e;
	json_error_t jerr;
	bool hit = false;
	size_t i;

	if (body == NULL || len == 0 || code == NULL)
		return false;
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
		return false;
	if (json_is_object(root)) {
		v = json_field(root, "error_code");
		hit = json_is_string(v) && strcmp(json_string_value(v), code) == 0;
		v = json_field(root, "errors");
		if (json_is_array(v))
			json_array_foreach(v, i, e) {
				json_t *c = json_is_object(e) ?
				    json_field(e, "error_code") : NULL;

				if (json_is_string(c) &&
				    strcmp(json_string_value(c), code) == 0)
					hit = true;
			}
	}
	json_decref(root);
	return hit;
}

void
json_error_message(const char *body, size_t len, char *out, size_t outsz)
{
	json_t *root = NULL, *v, *e;
	json_error_t jerr;
	size_t i = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (body == NULL || len == 0)
		return;
	root = json_loadb(body, len, 0, &jerr);
	if (root != NULL && json_is_object(root)) {
		v = json_field(root, "message");
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    clean_copy(out, outsz, json_string_value(v),
		    json_string_length(v), JSON_MSG_MAX) > 0)
			goto out;
		v = json_field(root, "errors");
		e = json_is_array(v) ? json_array_get(v, 0) : NULL;
		v = json_is_object(e) ? json_field(e, "message") : NULL;
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    clean_copy(out, outsz, json_string_value(v),
		    json_string_length(v), JSON_MSG_MAX) > 0)
			goto out;
	}
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i < len && body[i] == '<') {
		html_message(body + i, len - i, out, outsz);
		goto out;
	}
	clean_copy(out, outsz, body + i, len - i, JSON_MSG_MAX);
out:
	json_decref(root);
}
