/*
 * proto.h - the saslauthd socket protocol (Cyrus SASL's ipc_unix.c), as
 * libsasl2's client speaks it: one request per connection, four counted
 * strings (16-bit big-endian length, then the bytes, no NUL) in the order
 * login, password, service, realm; one counted answer ("OK" or "NO",
 * optionally a space and a short text); then the server closes.
 *
 * The parser is a pure function over the bytes received so far, so the
 * event loop can call it after every read and the fuzzer can call it on
 * anything.
 */
#ifndef SASLD_PROTO_H
#define SASLD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps per field.  libsasl2 refuses a whole request over 8192-30 bytes and
 * its LOGIN mechanism caps user and password at 1024; a token is at most
 * AIVENAUTH_TOKEN_MAX_LEN (1024).  Service names are short words ("smtp"),
 * realms are domain names (253). */
#define SA_LOGIN_MAX 1024
#define SA_PASSWORD_MAX 2048
#define SA_SERVICE_MAX 64
#define SA_REALM_MAX 256
/* The whole request: four fields and their four length words. */
#define SA_REQUEST_MAX (8 + SA_LOGIN_MAX + SA_PASSWORD_MAX + SA_SERVICE_MAX + \
    SA_REALM_MAX)
/* Longest answer text (the reply is 2 + 2 + this at most). */
#define SA_ANSWER_TEXT_MAX 120
#define SA_ANSWER_MAX (2 + 2 + 1 + SA_ANSWER_TEXT_MAX)

enum sa_field { SA_LOGIN = 0, SA_PASSWORD, SA_SERVICE, SA_REALM, SA_NFIELDS };

enum sa_parse {
	SA_PARSE_MORE = 0,      /* a valid beginning: read on */
	SA_PARSE_DONE,          /* four fields, nothing after them */
	SA_PARSE_TOO_LONG,      /* a field over its cap */
	SA_PARSE_BAD,           /* a NUL inside a field, or bytes after the
	                           fourth field */
};

/* Where the fields are in the bytes parsed (valid with SA_PARSE_DONE). */
struct sa_fields {
	size_t off[SA_NFIELDS];
	size_t len[SA_NFIELDS];
};

/* Cap of field f (SA_LOGIN_MAX ...). */
size_t sa_field_max(enum sa_field f);
/* "login", "password", "service", "realm". */
const char *sa_field_name(enum sa_field f);

/*
 * Judge buf[0..n): SA_PARSE_MORE while it is a valid prefix of a request,
 * SA_PARSE_DONE when it is exactly one request (out filled), otherwise why
 * not.  A field over its cap is refused as soon as its length word is in,
 * before its bytes are read.  An empty field is valid (libsasl2 sends an
 * empty realm).
 */
enum sa_parse sa_parse(const unsigned char *buf, size_t n,
    struct sa_fields *out);

/*
 * Encode the answer: "OK" or "NO", then " text" if text is not empty (cut
 * to SA_ANSWER_TEXT_MAX, control bytes replaced), as one counted string in
 * out (SA_ANSWER_MAX bytes).  Returns the number of bytes.
 */
size_t sa_answer(unsigned char *out, bool ok, const char *text);

#endif /* SASLD_PROTO_H */
