/*
 * overflow_named.c - the revocations the revocation journal's overflow
 * mark names, one line each (status, doctor, token revoke
 * --clear-overflow): the operator confirms these at the API by name
 * (review 5, F2).  A prefix is a public identifier, never a token.
 */
#include <stdio.h>

#include "aivenctl.h"

size_t
ctl_overflow_named(struct aivenauth_ctx *ctx, FILE *out, const char *indent)
{
	struct aivenauth_revocation_named nm[16];
	size_t i, n = 0;

	if (aivenauth_revocation_overflow_named(ctx, nm, 16, &n) !=
	    AIVENAUTH_OK)
		return 0;
	for (i = 0; i < n && i < 16; i++)
		fprintf(out, "%sapplication user %s, token %s\n", indent,
		    nm[i].user_id, nm[i].prefix);
	if (n > 16)
		fprintf(out, "%s(and %zu more)\n", indent, n - 16);
	return n;
}

const char *
ctl_overflow_named_str(struct aivenauth_ctx *ctx, char *buf, size_t len)
{
	struct aivenauth_revocation_named nm[16];
	size_t i, n = 0, at = 0;
	int w;

	if (len == 0)
		return "";
	buf[0] = '\0';
	if (aivenauth_revocation_overflow_named(ctx, nm, 16, &n) !=
	    AIVENAUTH_OK)
		return buf;
	for (i = 0; i < n && i < 16 && at < len; i++) {
		w = snprintf(buf + at, len - at, "%stoken %s of %s",
		    i > 0 ? ", " : "", nm[i].prefix, nm[i].user_id);
		if (w < 0)
			break;
		at += (size_t)w;
	}
	if (n > 16 && at < len)
		(void)snprintf(buf + at, len - at, " and %zu more", n - 16);
	return buf;
}
