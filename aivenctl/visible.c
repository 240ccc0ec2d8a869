/*
 * visible.c - text from the API (user names, descriptions, user agents,
 * error messages) made safe for the admin's terminal.
 *
 * Whoever can create an application user in the organization chooses its
 * name and its tokens' descriptions; printed raw, an ESC sequence there can
 * retitle the window, rewrite earlier lines of a `token list` (hide a
 * token, forge a "revoked"), or on some terminals worse.  Every text
 * output goes through here: C0 controls, DEL and invalid UTF-8 bytes are
 * shown as \xHH, C1 controls and bidirectional overrides (which reorder
 * what is shown) as \uHHHH, a backslash as \\ (so that a name cannot fake
 * an escape).  Valid UTF-8 otherwise passes.  JSON output does not come
 * here: jansson escapes it, exactly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aivenctl.h"

/* Length of the valid UTF-8 sequence at s (its code point in *cp), or 0.
 * Overlong forms, surrogates and values past U+10FFFF are invalid. */
static size_t
utf8_seq(const unsigned char *s, unsigned *cp)
{
	size_t n, i;
	unsigned c = s[0], min;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; c &= 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; c &= 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points that are valid but must not reach a terminal as such. */
static bool
hidden_cp(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||       /* C1 controls (CSI...) */
	    cp == 0x200e || cp == 0x200f ||         /* LRM, RLM */
	    (cp >= 0x202a && cp <= 0x202e) ||       /* embeddings, overrides */
	    (cp >= 0x2066 && cp <= 0x2069);         /* isolates */
}

/* Render s into out (size at least 1); returns the length the whole
 * rendering needs, as snprintf does. */
static size_t
render(const char *s, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0, n;
	char piece[16];
	unsigned cp;

	while (*p != '\0') {
		const char *add = piece;
		size_t alen;

		if (*p == '\\') {
			add = "\\\\";
			alen = 2;
			n = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			alen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
			n = 1;
		} else if (*p < 0x80) {
			add = (const char *)p;
			alen = n = 1;
		} else if ((n = utf8_seq(p, &cp)) == 0) {
			alen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
			n = 1;
		} else if (hidden_cp(cp)) {
			alen = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", cp);
		} else {
			add = (const char *)p;
			alen = n;
		}
		if (len + alen < size)
			memcpy(out + len, add, alen);
		len += alen;
		p += n;
	}
	out[len < size ? len : size - 1] = '\0';
	return len;
}

char *
visible_dup(const char *s)
{
	char one[1];
	size_t need = render(s, one, sizeof(one));
	char *out = malloc(need + 1);

	if (out != NULL)
		render(s, out, need + 1);
	return out;
}

void
fput_visible(const char *s, FILE *fp)
{
	char buf[512];
	size_t need = render(s, buf, sizeof(buf));
	char *big;

	if (need < sizeof(buf)) {
		fputs(buf, fp);
		return;
	}
	if ((big = visible_dup(s)) != NULL) {
		fputs(big, fp);
		free(big);
	} else {
		fputs("(unprintable: out of memory)", fp);
	}
}

void
vprint_visible(FILE *fp, const char *fmt, va_list ap)
{
	char buf[1024], *big = NULL;
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf) && (big = malloc((size_t)n + 1)) != NULL)
		vsnprintf(big, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	if (n >= 0)
		fput_visible(big != NULL ? big : buf, fp);
	free(big);
}

void
print_visible(FILE *fp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_visible(fp, fmt, ap);
	va_end(ap);
}

/* "key:                  value" of the text outputs (status, fleet
 * status): the value through the visible-text filter. */
void
print_kv(const char *k, const char *fmt, ...)
{
	va_list ap;

	printf("%-21s ", k);
	va_start(ap, fmt);
	vprint_visible(stdout, fmt, ap);
	va_end(ap);
	putchar('\n');
}
