/*
 * proto.c - parse a saslauthd request, encode the answer (proto.h).
 *
 * Nothing here allocates or keeps state: the caller owns the bytes (and
 * wipes them: the password is among them).
 */
#include <string.h>

#include "proto.h"

static const size_t field_max[SA_NFIELDS] = {
	[SA_LOGIN] = SA_LOGIN_MAX,
	[SA_PASSWORD] = SA_PASSWORD_MAX,
	[SA_SERVICE] = SA_SERVICE_MAX,
	[SA_REALM] = SA_REALM_MAX,
};

static const char *const field_name[SA_NFIELDS] = {
	[SA_LOGIN] = "login",
	[SA_PASSWORD] = "password",
	[SA_SERVICE] = "service",
	[SA_REALM] = "realm",
};

size_t
sa_field_max(enum sa_field f)
{
	return (unsigned)f < SA_NFIELDS ? field_max[f] : 0;
}

const char *
sa_field_name(enum sa_field f)
{
	return (unsigned)f < SA_NFIELDS ? field_name[f] : "?";
}

enum sa_parse
sa_parse(const unsigned char *buf, size_t n, struct sa_fields *out)
{
	struct sa_fields f;
	size_t pos = 0, len;
	int i;

	memset(&f, 0, sizeof(f));
	for (i = 0; i < SA_NFIELDS; i++) {
		if (n - pos < 2)
			return SA_PARSE_MORE;
		len = ((size_t)buf[pos] << 8) | buf[pos + 1];
		pos += 2;
		/* Refused on the length word: an oversized field is never
		 * read, let alone buffered. */
		if (len > field_max[i])
			return SA_PARSE_TOO_LONG;
		if (n - pos < len)
			return SA_PARSE_MORE;
		/* The fields become C strings: an embedded NUL would make
		 * the login or service the server checks differ from what
		 * was sent. */
		if (len > 0 && memchr(buf + pos, '\0', len) != NULL)
			return SA_PARSE_BAD;
		f.off[i] = pos;
		f.len[i] = len;
		pos += len;
	}
	/* One request per connection: anything after it is not libsasl2. */
	if (pos != n)
		return SA_PARSE_BAD;
	if (out != NULL)
		*out = f;
	return SA_PARSE_DONE;
}

size_t
sa_answer(unsigned char *out, bool ok, const char *text)
{
	size_t n = 2, i;

	memcpy(out + 2, ok ? "OK" : "NO", 2);
	if (text != NULL && *text != '\0') {
		out[2 + n++] = ' ';
		for (i = 0; text[i] != '\0' && i < SA_ANSWER_TEXT_MAX; i++) {
			unsigned char c = (unsigned char)text[i];

			out[2 + n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
		}
	}
	out[0] = (unsigned char)(n >> 8);
	out[1] = (unsigned char)(n & 0xff);
	return 2 + n;
}
