/*
 * json_read.h - strict field readers over jansson values, for the network
 * module's JSON files (json.c, json_error.c, etcd_json.c).  Every reader
 * treats an absent field and a JSON null alike, and on failure writes a
 * one-line explanation "WHERE.KEY: what is wrong" into err.
 */
#ifndef AIVENAUTH_NET_JSON_READ_H
#define AIVENAUTH_NET_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/internal.h"

void json_seterr(char *err, size_t errsz, const char *fmt, ...) PRINTF(3, 4);

/*
 * Parse a body that must be a JSON object.  what names it in messages
 * ("body", "answer").  For a body holding a secret, jansson's error text
 * is not quoted: it may contain a piece of the input ("near '...'").
 */
enum aivenauth_status json_load_object(const char *body, size_t len,
    const char *what, bool secret, json_t **root, char *err, size_t errsz);

/* The value of key, or NULL if absent or null. */
json_t *json_field(json_t *obj, const char *key);
/* Any C0 control character or DEL in s[0..n). */
bool json_has_ctl(const char *s, size_t n);

/* String flavours: how strictly a string field is checked. */
#define STR_REQUIRED 0x1    /* absent or null is an error */
#define STR_ID 0x2          /* non-empty, no control characters */

/* A string of at most max bytes (strdup'ed into *out; NULL if absent). */
enum aivenauth_status json_get_str(json_t *obj, const char *where,
    const char *key, size_t max, unsigned flags, char **out, char *err,
    size_t errsz);
/* An RFC 3339 timestamp (0 if absent). */
enum aivenauth_status json_get_time(json_t *obj, const char *where,
    const char *key, int64_t *out, char *err, size_t errsz);
/* A non-negative whole number, written as an integer or a real. */
enum aivenauth_status json_get_count(json_t *obj, const char *where,
    const char *key, int64_t *out, char *err, size_t errsz);
enum aivenauth_status json_get_bool(json_t *obj, const char *where,
    const char *key, bool *out, char *err, size_t errsz);
/* A list of short strings; absent, null and [] all give (NULL, 0). */
enum aivenauth_status json_get_strv(json_t *obj, const char *where,
    const char *key, char ***out, size_t *nout, char *err, size_t errsz);

#endif
