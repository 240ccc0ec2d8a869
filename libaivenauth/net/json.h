/*
 * json.h - the Aiven API's JSON bodies to and from records.  json.c (and
 * etcd_json.c, for etcd's gateway) are the only files of the network module
 * that know the JSON library (jansson), so the choice stays local.
 *
 * Every parser takes the raw body (not necessarily NUL-terminated) and, on
 * failure, writes a one-line explanation into err (errsz bytes, always
 * NUL-terminated).  The explanation never contains a secret.  Unknown fields
 * are ignored at every level; an absent field and a JSON null are the same.
 * Outputs are left empty on failure.
 */
#ifndef AIVENAUTH_NET_JSON_H
#define AIVENAUTH_NET_JSON_H

#include <stddef.h>

#include "base/internal.h"

#define JSON_ERR_SIZE 256

/* Caps on what a body may carry (AIVENAUTH_ERR_BAD_RESPONSE beyond). */
#define JSON_ID_MAX AIVENAUTH_ID_MAX            /* user_id */
#define JSON_PREFIX_MAX AIVENAUTH_PREFIX_MAX    /* token_prefix */
#define JSON_TEXT_MAX 4096      /* name, email, description, user agent */
#define JSON_ITEM_MAX 256       /* one scope, one CIDR, last_ip */
#define JSON_LIST_MAX 1024      /* scopes / ip_allowlist entries */

/* Client-side limits of a token create request (aiven-api.md §3). */
#define SPEC_DESCRIPTION_MAX 1000   /* characters */
#define SPEC_MAX_AGE_MIN 600
#define SPEC_MAX_AGE_MAX 315360000
#define SPEC_LIST_MAX 100

/* Longest message json_error_message() produces (bytes, without NUL). */
#define JSON_MSG_MAX 200

/* {"application_users": [AppUser...]} */
enum aivenauth_status json_users_parse(const char *body, size_t len,
    struct aivenauth_user **users, size_t *n, char *err, size_t errsz);
/* One AppUser at top level (the create response). */
enum aivenauth_status json_user_parse(const char *body, size_t len,
    struct aivenauth_user *u, char *err, size_t errsz);
/* {"tokens": [Token...]}; every token's user_id is set to user_id (may be
 * NULL: left NULL). */
enum aivenauth_status json_tokens_parse(const char *body, size_t len,
    const char *user_id, struct aivenauth_token **tokens, size_t *n,
    char *err, size_t errsz);
/*
 * {"full_token": ..., "token_prefix": ...}.  The body holds a secret: the
 * full token is copied into *full (malloc, NUL-terminated, *full_len bytes;
 * release with a wipe) and jansson's copy is wiped before it is freed.
 * Parse errors never quote the body.
 */
enum aivenauth_status json_created_parse(const char *body, size_t len,
    char **full, size_t *full_len, char **prefix, char *err, size_t errsz);

/*
 * The 200 answer of GET /v1/me: an object whose "user" is an object about
 * the expected owner -- user.user_id equal to user_id and user.user (the
 * e-mail) equal to user_email, for each of the two that both sides have,
 * and at least one compared.  _MISMATCH if it names someone else,
 * _BAD_RESPONSE for anything else (a proxy's or captive portal's page):
 * neither is the API vouching for the token.
 */
enum aivenauth_status json_me_check(const char *body, size_t len,
    const char *user_id, const char *user_email, char *err, size_t errsz);

/* Validate a token spec client-side and build the create request body. */
enum aivenauth_status json_spec_build(const struct aivenauth_token_spec *spec,
    struct buf *out, char *err, size_t errsz);
/* {"name": name} */
enum aivenauth_status json_user_create_build(const char *name,
    struct buf *out, char *err, size_t errsz);

/*
 * The message of an error response, for humans: top-level "message" if it
 * is a string, else errors[0].message, else the body itself (an HTML page
 * reduced to its title or first text), trimmed, control characters
 * replaced, at most JSON_MSG_MAX bytes.  "" for an empty body.  out must be
 * at least JSON_MSG_MAX + 1 bytes.
 */
void json_error_message(const char *body, size_t len, char *out, size_t outsz);

/* Does an error body carry this error_code (top level or in errors[])? */
bool json_error_has_code(const char *body, size_t len, const char *code);

#endif /* AIVENAUTH_NET_JSON_H */
