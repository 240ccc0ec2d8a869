/*
 * buf.c - growable buffer with a hard size cap.  Every HTTP body and every
 * piece of text built from outside input goes through one, so no input can
 * make the library allocate without bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/internal.h"

void
buf_init(struct buf *b, size_t max, bool secret)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->secret = secret;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		if (b->secret)
			sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Make room for n more bytes plus a NUL. */
static enum aivenauth_status
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	char *p;

	if (n > b->max || b->len > b->max - n) {
		buf_free(b);
		return AIVENAUTH_ERR_TOO_LARGE;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return AIVENAUTH_OK;
	ncap = b->cap != 0 ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->secret) {
		/* realloc could leave a copy of the secret behind. */
		if ((p = malloc(ncap)) == NULL)
			return AIVENAUTH_ERR_NOMEM;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			sodium_memzero(b->data, b->cap);
			free(b->data);
		}
	} else if ((p = realloc(b->data, ncap)) == NULL) {
		return AIVENAUTH_ERR_NOMEM;
	}
	b->data = p;
	b->cap = ncap;
	return AIVENAUTH_OK;
}

enum aivenauth_status
buf_add(struct buf *b, const void *p, size_t n)
{
	enum aivenauth_status st;

	if ((st = buf_reserve(b, n)) != AIVENAUTH_OK)
		return st;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return AIVENAUTH_OK;
}

enum aivenauth_status
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum aivenauth_status
buf_addf(struct buf *b, const char *fmt, ...)
{
	enum aivenauth_status st;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return AIVENAUTH_ERR_INVALID;
	if ((st = buf_reserve(b, (size_t)n)) != AIVENAUTH_OK)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return AIVENAUTH_OK;
}

char *
buf_cstr(struct buf *b)
{
	if (b->data == NULL && buf_reserve(b, 0) != AIVENAUTH_OK)
		return NULL;
	b->data[b->len] = '\0';
	return b->data;
}

/* A secret the library handed out (aivenauth.h): wiped, then freed. */
void
aivenauth_secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}
