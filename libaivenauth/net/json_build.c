/*
 * json_build.c - request bodies for the Aiven API: a token create spec,
 * checked client-side against the API's documented limits before it is
 * sent (aiven-api.md §3), and an application user create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/internal.h"
#include "net/json.h"
#include "net/json_read.h"

/* Characters of UTF-8 text (json_string() has already checked it). */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static enum aivenauth_status
add_strv(json_t *obj, const char *key, const char *const *v, size_t n,
    char *err, size_t errsz)
{
	json_t *a, *s;
	size_t i;

	if (n == 0)
		return AIVENAUTH_OK;
	if (v == NULL) {
		json_seterr(err, errsz, "%s: %zu entries but no list", key, n);
		return AIVENAUTH_ERR_INVALID;
	}
	if (n > SPEC_LIST_MAX) {
		json_seterr(err, errsz, "%s: at most %d entries allowed, %zu given",
		    key, SPEC_LIST_MAX, n);
		return AIVENAUTH_ERR_INVALID;
	}
	if ((a = json_array()) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	if (json_object_set_new(obj, key, a) != 0)
		return AIVENAUTH_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL || v[i][0] == '\0' ||
		    strlen(v[i]) > JSON_ITEM_MAX) {
			json_seterr(err, errsz, "%s[%zu]: empty or longer than %d bytes",
			    key, i, JSON_ITEM_MAX);
			return AIVENAUTH_ERR_INVALID;
		}
		if ((s = json_string(v[i])) == NULL) {
			json_seterr(err, errsz, "%s[%zu]: not valid UTF-8", key, i);
			return AIVENAUTH_ERR_INVALID;
		}
		if (json_array_append_new(a, s) != 0)
			return AIVENAUTH_ERR_NOMEM;
	}
	return AIVENAUTH_OK;
}

/* Serialise obj compactly into out. */
static enum aivenauth_status
dump(json_t *obj, struct buf *out)
{
	enum aivenauth_status st;
	char *s;

	if ((s = json_dumps(obj, JSON_COMPACT)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	st = buf_add(out, s, strlen(s));
	free(s);
	return st;
}

enum aivenauth_status
json_spec_build(const struct aivenauth_token_spec *spec, struct buf *out,
    char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *obj = NULL, *s;
	const char *desc;

	if (spec == NULL) {
		json_seterr(err, errsz, "no token spec");
		return AIVENAUTH_ERR_INVALID;
	}
	desc = spec->description != NULL ? spec->description : "";
	if (spec->max_age_seconds != 0 &&
	    (spec->max_age_seconds < SPEC_MAX_AGE_MIN ||
	    spec->max_age_seconds > SPEC_MAX_AGE_MAX)) {
		json_seterr(err, errsz, "max_age_seconds must be between %d and %d "
		    "(10 years)", SPEC_MAX_AGE_MIN, SPEC_MAX_AGE_MAX);
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if (spec->extend_when_used && spec->max_age_seconds == 0) {
		json_seterr(err, errsz, "extend_when_used can only be used if "
		    "max_age_seconds is specified");
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if ((obj = json_object()) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	if ((s = json_string(desc)) == NULL) {
		json_seterr(err, errsz, "description is not valid UTF-8");
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if (json_object_set_new(obj, "description", s) != 0) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	if (utf8_chars(desc) > SPEC_DESCRIPTION_MAX) {
		json_seterr(err, errsz, "description is longer than %d characters",
		    SPEC_DESCRIPTION_MAX);
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if (spec->max_age_seconds != 0) {
		if (json_object_set_new(obj, "max_age_seconds",
		    json_integer(spec->max_age_seconds)) != 0 ||
		    json_object_set_new(obj, "extend_when_used",
		    json_boolean(spec->extend_when_used)) != 0) {
			st = AIVENAUTH_ERR_NOMEM;
			goto out;
		}
	}
	if ((st = add_strv(obj, "ip_allowlist", spec->ip_allowlist,
	    spec->n_ip_allowlist, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = add_strv(obj, "scopes", spec->scopes, spec->n_scopes, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	st = dump(obj, out);
out:
	json_decref(obj);
	return st;
}

enum aivenauth_status
json_user_create_build(const char *name, struct buf *out, char *err,
    size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *obj = NULL, *s;

	if (name == NULL || name[0] == '\0' || strlen(name) > JSON_TEXT_MAX) {
		json_seterr(err, errsz, "user name empty or longer than %d bytes",
		    JSON_TEXT_MAX);
		return AIVENAUTH_ERR_INVALID;
	}
	if ((s = json_string(name)) == NULL) {
		json_seterr(err, errsz, "user name is not valid UTF-8");
		return AIVENAUTH_ERR_INVALID;
	}
	if ((obj = json_object()) == NULL) {
		json_decref(s);
		return AIVENAUTH_ERR_NOMEM;
	}
	if (json_object_set_new(obj, "name", s) != 0) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	st = dump(obj, out);
out:
	json_decref(obj);
	return st;
}
