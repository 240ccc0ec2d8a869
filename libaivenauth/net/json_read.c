/*
 * json_read.c - reading the fields of a JSON body strictly, shared by the
 * API's bodies (json.c) and etcd's (etcd_json.c).
 *
 * The API's schema grows over time and its optional fields come back absent
 * or null interchangeably (aiven-api.md §10), so every reader here ignores
 * unknown keys and treats null as absent.  What a field we know does carry
 * is checked strictly, though: a wrong type, an unparsable timestamp or an
 * over-long string fails the whole body, because a sync must never apply a
 * half-understood snapshot.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/internal.h"
#include "net/json.h"
#include "net/json_read.h"

/* Largest double that is exactly representable and fits in an int64_t. */
#define INT_AS_REAL_MAX 9007199254740992.0

void
json_seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

enum aivenauth_status
json_load_object(const char *body, size_t len, const char *what, bool secret,
    json_t **root, char *err, size_t errsz)
{
	json_error_t jerr;

	*root = NULL;
	if (body == NULL || len == 0) {
		json_seterr(err, errsz, "empty %s where JSON was expected", what);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	*root = json_loadb(body, len, 0, &jerr);
	if (*root == NULL) {
		if (secret)
			json_seterr(err, errsz, "invalid JSON at line %d column %d",
			    jerr.line, jerr.column);
		else
			json_seterr(err, errsz, "invalid JSON at line %d column "
			    "%d: %s", jerr.line, jerr.column, jerr.text);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (!json_is_object(*root)) {
		json_seterr(err, errsz, "JSON %s is not an object", what);
		json_decref(*root);
		*root = NULL;
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	return AIVENAUTH_OK;
}

json_t *
json_field(json_t *obj, const char *key)
{
	json_t *v;

	v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

bool
json_has_ctl(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/*
 * The one shape every reader starts with: *v is the field, NULL when it is
 * absent or null (not an error); a field of another type than want (a
 * boolean is JSON_TRUE or JSON_FALSE) is an error naming what was
 * expected.
 */
static enum aivenauth_status
typed(json_t *obj, const char *where, const char *key, json_type want,
    const char *what, json_t **v, char *err, size_t errsz)
{
	json_type got;

	*v = json_field(obj, key);
	if (*v == NULL)
		return AIVENAUTH_OK;
	got = json_typeof(*v);
	if (got == want || (want == JSON_TRUE && got == JSON_FALSE))
		return AIVENAUTH_OK;
	json_seterr(err, errsz, "%s.%s: %s", where, key, what);
	*v = NULL;
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

enum aivenauth_status
json_get_str(json_t *obj, const char *where, const char *key, size_t max,
    unsigned flags, char **out, char *err, size_t errsz)
{
	enum aivenauth_status st;
	json_t *v;
	size_t n;

	*out = NULL;
	if ((st = typed(obj, where, key, JSON_STRING, "not a string", &v, err,
	    errsz)) != AIVENAUTH_OK)
		return st;
	if (v == NULL) {
		if ((flags & STR_REQUIRED) == 0)
			return AIVENAUTH_OK;
		json_seterr(err, errsz, "%s: required field \"%s\" missing",
		    where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	n = json_string_length(v);
	if (n > max) {
		json_seterr(err, errsz, "%s.%s: longer than %zu bytes", where,
		    key, max);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((flags & STR_ID) != 0 &&
	    (n == 0 || json_has_ctl(json_string_value(v), n))) {
		json_seterr(err, errsz, "%s.%s: empty or has control characters",
		    where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	/* jansson refuses "\u0000" (no JSON_ALLOW_NUL), so strdup is exact. */
	if ((*out = strdup(json_string_value(v))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	return AIVENAUTH_OK;
}

enum aivenauth_status
json_get_time(json_t *obj, const char *where, const char *key, int64_t *out,
    char *err, size_t errsz)
{
	enum aivenauth_status st;
	json_t *v;

	*out = 0;
	if ((st = typed(obj, where, key, JSON_STRING, "timestamp is not a "
	    "string", &v, err, errsz)) != AIVENAUTH_OK || v == NULL)
		return st;
	if (json_string_length(v) > 64 ||
	    !ts_parse(json_string_value(v), json_string_length(v), out)) {
		json_seterr(err, errsz, "%s.%s: unparsable timestamp", where, key);
		*out = 0;
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	return AIVENAUTH_OK;
}

enum aivenauth_status
json_get_count(json_t *obj, const char *where, const char *key, int64_t *out,
    char *err, size_t errsz)
{
	json_t *v;
	double d;

	*out = 0;
	v = json_field(obj, key);
	if (v == NULL)
		return AIVENAUTH_OK;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			goto bad;
		*out = (int64_t)json_integer_value(v);
		return AIVENAUTH_OK;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!isfinite(d) || d < 0 || d > INT_AS_REAL_MAX || floor(d) != d)
			goto bad;
		*out = (int64_t)d;
		return AIVENAUTH_OK;
	}
bad:
	json_seterr(err, errsz, "%s.%s: not a non-negative whole number", where,
	    key);
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

enum aivenauth_status
json_get_bool(json_t *obj, const char *where, const char *key, bool *out,
    char *err, size_t errsz)
{
	enum aivenauth_status st;
	json_t *v;

	*out = false;
	if ((st = typed(obj, where, key, JSON_TRUE, "not a boolean", &v, err,
	    errsz)) != AIVENAUTH_OK || v == NULL)
		return st;
	*out = json_is_true(v);
	return AIVENAUTH_OK;
}

enum aivenauth_status
json_get_strv(json_t *obj, const char *where, const char *key, char ***out,
    size_t *nout, char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *v, *e;
	char **vec = NULL;
	size_t i, n = 0, len;

	*out = NULL;
	*nout = 0;
	if ((st = typed(obj, where, key, JSON_ARRAY, "not a list", &v, err,
	    errsz)) != AIVENAUTH_OK || v == NULL || json_array_size(v) == 0)
		return st;
	if (json_array_size(v) > JSON_LIST_MAX) {
		json_seterr(err, errsz, "%s.%s: more than %d entries", where, key,
		    JSON_LIST_MAX);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((vec = calloc(json_array_size(v), sizeof(*vec))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			json_seterr(err, errsz, "%s.%s[%zu]: not a string", where,
			    key, i);
			st = AIVENAUTH_ERR_BAD_RESPONSE;
			goto out;
		}
		len = json_string_length(e);
		if (len > JSON_ITEM_MAX ||
		    json_has_ctl(json_string_value(e), len)) {
			json_seterr(err, errsz, "%s.%s[%zu]: too long or has "
			    "control characters", where, key, i);
			st = AIVENAUTH_ERR_BAD_RESPONSE;
			goto out;
		}
		if ((vec[n] = strdup(json_string_value(e))) == NULL) {
			st = AIVENAUTH_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	*out = vec;
	*nout = n;
	vec = NULL;
	st = AIVENAUTH_OK;
out:
	strv_free(vec, n);
	return st;
}
