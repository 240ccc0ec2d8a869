/*
 * fuzz_json.c - libFuzzer target: every parser of the network module's
 * json.h on an arbitrary API body.  The first byte picks the parser; the
 * rest is the body (not NUL-terminated: the parsers take a length).
 * Oracles: no crash / sanitizer report, outputs empty on failure, the error
 * text NUL-terminated and bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aivenauth.h"
#include "net/json.h"

static void
check_err(const char *err, size_t errsz)
{
	if (memchr(err, '\0', errsz) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[JSON_ERR_SIZE];
	const char *body;
	size_t len;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	body = (const char *)data + 1;
	len = size - 1;
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';

	switch (sel % 8) {
	case 0: {
		struct aivenauth_user *u = NULL;
		size_t n = 12345;

		if (json_users_parse(body, len, &u, &n, err, sizeof(err)) != AIVENAUTH_OK) {
			if (u != NULL || n != 0)
				abort();
			check_err(err, sizeof(err));
		} else {
			for (size_t i = 0; i < n; i++)
				if (u[i].user_id == NULL || strlen(u[i].user_id) > JSON_ID_MAX)
					abort();
		}
		aivenauth_users_free(u, n);
		break;
	}
	case 1: {
		struct aivenauth_user u = { 0 };

		if (json_user_parse(body, len, &u, err, sizeof(err)) != AIVENAUTH_OK)
			check_err(err, sizeof(err));
		aivenauth_user_clear(&u);
		break;
	}
	case 2:
	case 3: {
		struct aivenauth_token *t = NULL;
		size_t n = 12345;

		if (json_tokens_parse(body, len, sel % 8 == 2 ? "u0123456789a" : NULL,
		    &t, &n, err, sizeof(err)) != AIVENAUTH_OK) {
			if (t != NULL || n != 0)
				abort();
			check_err(err, sizeof(err));
		} else {
			for (size_t i = 0; i < n; i++)
				if (t[i].prefix == NULL ||
				    strlen(t[i].prefix) > JSON_PREFIX_MAX ||
				    t[i].n_scopes > JSON_LIST_MAX ||
				    t[i].n_ip_allowlist > JSON_LIST_MAX)
					abort();
		}
		aivenauth_tokens_free(t, n);
		break;
	}
	case 4: {
		char *full = NULL, *prefix = NULL;
		size_t flen = 0;

		if (json_created_parse(body, len, &full, &flen, &prefix, err,
		    sizeof(err)) == AIVENAUTH_OK) {
			if (full == NULL || prefix == NULL || strlen(full) != flen)
				abort();
		} else {
			check_err(err, sizeof(err));
		}
		aivenauth_secret_free(full, flen);
		free(prefix);
		break;
	}
	case 5: {
		char msg[JSON_MSG_MAX + 1];

		json_error_message(body, len, msg, sizeof(msg));
		if (strlen(msg) > JSON_MSG_MAX)
			abort();
		for (const char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();   /* control characters must be replaced */
		break;
	}
	case 6: {
		/* The body as a user name to build a create request from. */
		char *name = malloc(len + 1);
		struct buf out;

		if (name == NULL)
			return 0;
		memcpy(name, body, len);
		name[len] = '\0';
		buf_init(&out, 1 << 20, false);
		if (json_user_create_build(name, &out, err, sizeof(err)) != AIVENAUTH_OK)
			check_err(err, sizeof(err));
		buf_free(&out);
		free(name);
		break;
	}
	case 7:
		if (json_me_check(body, len, "u1abc2345678", "a@b.example",
		    err, sizeof(err)) != AIVENAUTH_OK)
			check_err(err, sizeof(err));
		break;
	}
	return 0;
}
