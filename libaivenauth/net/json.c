/*
 * json.c - Aiven API bodies (jansson) to and from records.
 *
 * The API's schema grows over time and its optional fields come back absent
 * or null interchangeably (aiven-api.md §10), so every reader here ignores
 * unknown keys and treats null as absent.  What a field we know does carry
 * is checked strictly, though: a wrong type, an unparsable timestamp or an
 * over-long string fails the whole body, because a sync must never apply a
 * half-understood snapshot.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "internal.h"
#include "json.h"

/* Largest double that is exactly representable and fits in an int64_t. */
#define INT_AS_REAL_MAX 9007199254740992.0

static void PRINTF(3, 4)
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/*
 * Parse a body.  For a body holding a secret, jansson's error text is not
 * quoted: it may contain a piece of the input ("near '...'").
 */
static enum aivenauth_status
load(const char *body, size_t len, bool secret, json_t **root, char *err,
    size_t errsz)
{
	json_error_t jerr;

	*root = NULL;
	if (body == NULL || len == 0) {
		seterr(err, errsz, "empty body where JSON was expected");
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	*root = json_loadb(body, len, 0, &jerr);
	if (*root == NULL) {
		if (secret)
			seterr(err, errsz, "invalid JSON at line %d column %d",
			    jerr.line, jerr.column);
		else
			seterr(err, errsz, "invalid JSON at line %d column %d: %s",
			    jerr.line, jerr.column, jerr.text);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (!json_is_object(*root)) {
		seterr(err, errsz, "JSON body is not an object");
		json_decref(*root);
		*root = NULL;
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	return AIVENAUTH_OK;
}

/* The value of key, or NULL if absent or null. */
static json_t *
field(json_t *obj, const char *key)
{
	json_t *v;

	v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static bool
has_ctl(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* String flavours: how strictly a string field is checked. */
#define STR_REQUIRED 0x1    /* absent or null is an error */
#define STR_ID 0x2          /* non-empty, no control characters */

static enum aivenauth_status
get_str(json_t *obj, const char *where, const char *key, size_t max,
    unsigned flags, char **out, char *err, size_t errsz)
{
	json_t *v;
	size_t n;

	*out = NULL;
	v = field(obj, key);
	if (v == NULL) {
		if ((flags & STR_REQUIRED) == 0)
			return AIVENAUTH_OK;
		seterr(err, errsz, "%s: required field \"%s\" missing", where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (!json_is_string(v)) {
		seterr(err, errsz, "%s.%s: not a string", where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	n = json_string_length(v);
	if (n > max) {
		seterr(err, errsz, "%s.%s: longer than %zu bytes", where, key, max);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((flags & STR_ID) != 0 &&
	    (n == 0 || has_ctl(json_string_value(v), n))) {
		seterr(err, errsz, "%s.%s: empty or has control characters",
		    where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	/* jansson refuses "\u0000" (no JSON_ALLOW_NUL), so strdup is exact. */
	if ((*out = strdup(json_string_value(v))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
get_time(json_t *obj, const char *where, const char *key, int64_t *out,
    char *err, size_t errsz)
{
	json_t *v;

	*out = 0;
	v = field(obj, key);
	if (v == NULL)
		return AIVENAUTH_OK;
	if (!json_is_string(v)) {
		seterr(err, errsz, "%s.%s: timestamp is not a string", where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (json_string_length(v) > 64 ||
	    !ts_parse(json_string_value(v), json_string_length(v), out)) {
		seterr(err, errsz, "%s.%s: unparsable timestamp", where, key);
		*out = 0;
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	return AIVENAUTH_OK;
}

/* A non-negative whole number, written as an integer or a real. */
static enum aivenauth_status
get_count(json_t *obj, const char *where, const char *key, int64_t *out,
    char *err, size_t errsz)
{
	json_t *v;
	double d;

	*out = 0;
	v = field(obj, key);
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
	seterr(err, errsz, "%s.%s: not a non-negative whole number", where, key);
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

static enum aivenauth_status
get_bool(json_t *obj, const char *where, const char *key, bool *out,
    char *err, size_t errsz)
{
	json_t *v;

	*out = false;
	v = field(obj, key);
	if (v == NULL)
		return AIVENAUTH_OK;
	if (!json_is_boolean(v)) {
		seterr(err, errsz, "%s.%s: not a boolean", where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	*out = json_is_true(v);
	return AIVENAUTH_OK;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A list of strings; absent, null and [] all give (NULL, 0). */
static enum aivenauth_status
get_strv(json_t *obj, const char *where, const char *key, char ***out,
    size_t *nout, char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *v, *e;
	char **vec = NULL;
	size_t i, n = 0, len;

	*out = NULL;
	*nout = 0;
	v = field(obj, key);
	if (v == NULL)
		return AIVENAUTH_OK;
	if (!json_is_array(v)) {
		seterr(err, errsz, "%s.%s: not a list", where, key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (json_array_size(v) == 0)
		return AIVENAUTH_OK;
	if (json_array_size(v) > JSON_LIST_MAX) {
		seterr(err, errsz, "%s.%s: more than %d entries", where, key,
		    JSON_LIST_MAX);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((vec = calloc(json_array_size(v), sizeof(*vec))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			seterr(err, errsz, "%s.%s[%zu]: not a string", where, key, i);
			st = AIVENAUTH_ERR_BAD_RESPONSE;
			goto out;
		}
		len = json_string_length(e);
		if (len > JSON_ITEM_MAX || has_ctl(json_string_value(e), len)) {
			seterr(err, errsz, "%s.%s[%zu]: too long or has control "
			    "characters", where, key, i);
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

/*
 * A list response that says it is one page of several.  The API documents
 * no pagination for these lists, but a list cut at a page boundary would
 * make a sync drop real tokens and their hashes: any marker a paginating
 * API would send fails the body.  Aiven's own paginated endpoints (limit
 * with cursor or after) answer with next, prev, first, last and
 * total_count: a next or prev link says there is another page, a last
 * unlike first says there is more than one, a total_count other than what
 * came says some is missing.  One page that holds everything (next and
 * prev null, first == last, total_count == the count) is whole.  Names
 * other APIs use (a cursor, a page number, more-to-come, links.next) count
 * too.  Returns the marker, or NULL.
 */
static const char *
page_marker(json_t *root, size_t count)
{
	static const char *const present[] = {
		"next", "prev", "after", "next_page", "next_url",
		"next_cursor", "next_token", "next_page_token", "cursor",
		"page", "offset", "pagination",
	};
	static const char *const truthy[] = { "has_more", "more", "truncated" };
	static const char *const totals[] = { "total", "total_count", "count" };
	json_t *v, *first, *last;
	size_t i;

	for (i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		if ((v = field(root, present[i])) != NULL &&
		    !json_is_false(v) && !(json_is_string(v) &&
		    json_string_length(v) == 0))
			return present[i];
	for (i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++)
		if (json_is_true(field(root, truthy[i])))
			return truthy[i];
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		v = field(root, totals[i]);
		if (v != NULL && (!json_is_integer(v) ||
		    json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) != (uint64_t)count))
			return totals[i];
	}
	/* Both links, and they differ: more than one page.  One alone says
	 * nothing about this page (a next or total_count would). */
	first = field(root, "first");
	last = field(root, "last");
	if (first != NULL && last != NULL && !json_equal(first, last))
		return "last";
	v = field(root, "links");
	if (json_is_object(v) && field(v, "next") != NULL)
		return "links.next";
	return NULL;
}

/* The wrapper list of a list response: required, must be an array, and
 * must be the whole list. */
static enum aivenauth_status
get_list(json_t *root, const char *key, json_t **list, char *err,
    size_t errsz)
{
	const char *m;

	*list = field(root, key);
	if (*list == NULL) {
		seterr(err, errsz, "no \"%s\" list in the body", key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (!json_is_array(*list)) {
		seterr(err, errsz, "\"%s\" is not a list", key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((m = page_marker(root, json_array_size(*list))) != NULL) {
		seterr(err, errsz, "the \"%s\" list is incomplete (the API "
		    "paginated it: \"%s\" in the body); refusing a partial "
		    "listing", key, m);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	return AIVENAUTH_OK;
}

static enum aivenauth_status
user_from(json_t *o, const char *where, struct aivenauth_user *u, char *err,
    size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;

	memset(u, 0, sizeof(*u));
	if (!json_is_object(o)) {
		seterr(err, errsz, "%s: not an object", where);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((st = get_str(o, where, "user_id", JSON_ID_MAX,
	    STR_REQUIRED | STR_ID, &u->user_id, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_str(o, where, "name", JSON_TEXT_MAX, STR_REQUIRED,
	    &u->name, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_str(o, where, "user_email", JSON_TEXT_MAX, 0,
	    &u->email, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_time(o, where, "create_time", &u->create_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	st = AIVENAUTH_OK;
out:
	if (st != AIVENAUTH_OK)
		aivenauth_user_clear(u);
	return st;
}

enum aivenauth_status
json_users_parse(const char *body, size_t len, struct aivenauth_user **users,
    size_t *n, char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *root = NULL, *list, *e;
	struct aivenauth_user *v = NULL;
	size_t i, got = 0;
	char where[48];

	*users = NULL;
	*n = 0;
	if ((st = load(body, len, false, &root, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_list(root, "application_users", &list, err, errsz)) !=
	    AIVENAUTH_OK)
		goto out;
	if (json_array_size(list) > 0 &&
	    (v = calloc(json_array_size(list), sizeof(*v))) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(list, i, e) {
		snprintf(where, sizeof(where), "application_users[%zu]", i);
		if ((st = user_from(e, where, &v[i], err, errsz)) != AIVENAUTH_OK)
			goto out;
		got++;
	}
	*users = v;
	*n = got;
	v = NULL;
	st = AIVENAUTH_OK;
out:
	aivenauth_users_free(v, got);
	json_decref(root);
	return st;
}

enum aivenauth_status
json_user_parse(const char *body, size_t len, struct aivenauth_user *u,
    char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *root = NULL;

	memset(u, 0, sizeof(*u));
	if ((st = load(body, len, false, &root, err, errsz)) != AIVENAUTH_OK)
		goto out;
	st = user_from(root, "application user", u, err, errsz);
out:
	json_decref(root);
	return st;
}

static enum aivenauth_status
token_from(json_t *o, const char *where, const char *user_id,
    struct aivenauth_token *t, char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(o)) {
		seterr(err, errsz, "%s: not an object", where);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((st = get_str(o, where, "token_prefix", JSON_PREFIX_MAX,
	    STR_REQUIRED | STR_ID, &t->prefix, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_str(o, where, "description", JSON_TEXT_MAX, 0,
	    &t->description, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_time(o, where, "create_time", &t->create_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_time(o, where, "expiry_time", &t->expiry_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_count(o, where, "max_age_seconds", &t->max_age_seconds,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_bool(o, where, "extend_when_used", &t->extend_when_used,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_bool(o, where, "created_manually", &t->created_manually,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_bool(o, where, "currently_active", &t->currently_active,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_strv(o, where, "scopes", &t->scopes, &t->n_scopes, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_strv(o, where, "ip_allowlist", &t->ip_allowlist,
	    &t->n_ip_allowlist, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_time(o, where, "last_used_time", &t->last_used_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_str(o, where, "last_ip", JSON_ITEM_MAX, 0, &t->last_ip,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_str(o, where, "last_user_agent", JSON_TEXT_MAX, 0,
	    &t->last_user_agent, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if (user_id != NULL && (t->user_id = strdup(user_id)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	st = AIVENAUTH_OK;
out:
	if (st != AIVENAUTH_OK)
		aivenauth_token_clear(t);
	return st;
}

enum aivenauth_status
json_tokens_parse(const char *body, size_t len, const char *user_id,
    struct aivenauth_token **tokens, size_t *n, char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *root = NULL, *list, *e;
	struct aivenauth_token *v = NULL;
	size_t i, got = 0;
	char where[32];

	*tokens = NULL;
	*n = 0;
	if ((st = load(body, len, false, &root, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_list(root, "tokens", &list, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if (json_array_size(list) > 0 &&
	    (v = calloc(json_array_size(list), sizeof(*v))) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(list, i, e) {
		snprintf(where, sizeof(where), "tokens[%zu]", i);
		if ((st = token_from(e, where, user_id, &v[i], err, errsz)) !=
		    AIVENAUTH_OK)
			goto out;
		got++;
	}
	*tokens = v;
	*n = got;
	v = NULL;
	st = AIVENAUTH_OK;
out:
	aivenauth_tokens_free(v, got);
	json_decref(root);
	return st;
}

/* ASCII case-insensitive equality (e-mail addresses as the API spells
 * them may differ in case from what was synced). */
static bool
str_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	return *a == *b;
}

enum aivenauth_status
json_me_check(const char *body, size_t len, const char *user_id,
    const char *user_email, char *err, size_t errsz)
{
	enum aivenauth_status st;
	json_t *root = NULL, *user, *id, *mail;
	bool have_id = user_id != NULL && *user_id != '\0';
	bool have_mail = user_email != NULL && *user_email != '\0';

	if (!have_id && !have_mail) {
		seterr(err, errsz, "/v1/me: no synced user id or e-mail to "
		    "compare the answer with");
		return AIVENAUTH_ERR_INVALID;
	}
	if ((st = load(body, len, false, &root, err, errsz)) != AIVENAUTH_OK)
		return st;
	user = field(root, "user");
	if (!json_is_object(user)) {
		seterr(err, errsz, "/v1/me response: \"user\" missing or not "
		    "an object");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	id = field(user, "user_id");
	mail = field(user, "user");
	if ((id != NULL && !json_is_string(id)) ||
	    (mail != NULL && !json_is_string(mail))) {
		seterr(err, errsz, "/v1/me response: user.user_id or user.user "
		    "is not a string");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	/* Every field both sides know must agree, and at least one must be
	 * compared: an answer that names nobody vouches for nobody. */
	if ((!have_id || id == NULL) && (!have_mail || mail == NULL)) {
		seterr(err, errsz, "/v1/me response names no user id or e-mail "
		    "to compare with the token's owner");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	if ((have_id && id != NULL &&
	    strcmp(json_string_value(id), user_id) != 0) ||
	    (have_mail && mail != NULL &&
	    !str_caseeq(json_string_value(mail), user_email))) {
		seterr(err, errsz, "/v1/me answered about another user, not "
		    "the token's owner %s", have_id ? user_id : user_email);
		st = AIVENAUTH_ERR_MISMATCH;
		goto out;
	}
	st = AIVENAUTH_OK;
out:
	json_decref(root);
	return st;
}

enum aivenauth_status
json_created_parse(const char *body, size_t len, char **full,
    size_t *full_len, char **prefix, char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *root = NULL, *v;
	char *copy = NULL;
	size_t n = 0;

	*full = NULL;
	*full_len = 0;
	*prefix = NULL;
	if ((st = load(body, len, true, &root, err, errsz)) != AIVENAUTH_OK)
		goto out;
	v = field(root, "full_token");
	if (v == NULL || !json_is_string(v)) {
		seterr(err, errsz, "token create response: \"full_token\" "
		    "missing or not a string");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	n = json_string_length(v);
	if (n == 0 || n > AIVENAUTH_TOKEN_MAX_LEN ||
	    has_ctl(json_string_value(v), n)) {
		seterr(err, errsz, "token create response: \"full_token\" is "
		    "empty, longer than %d bytes or has control characters",
		    AIVENAUTH_TOKEN_MAX_LEN);
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	if ((st = get_str(root, "token create response", "token_prefix",
	    JSON_PREFIX_MAX, STR_REQUIRED | STR_ID, prefix, err, errsz)) !=
	    AIVENAUTH_OK)
		goto out;
	if ((copy = malloc(n + 1)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	memcpy(copy, json_string_value(v), n);
	copy[n] = '\0';
	*full = copy;
	*full_len = n;
	copy = NULL;
	st = AIVENAUTH_OK;
out:
	if (st != AIVENAUTH_OK) {
		free(*prefix);
		*prefix = NULL;
	}
	if (root != NULL) {
		/*
		 * jansson frees strings without wiping them; wipe the token's
		 * bytes in place first (the string is ours: refcount 1).
		 */
		v = json_object_get(root, "full_token");
		if (json_is_string(v))
			sodium_memzero((char *)json_string_value(v),
			    json_string_length(v));
		json_decref(root);
	}
	return st;
}

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
		seterr(err, errsz, "%s: %zu entries but no list", key, n);
		return AIVENAUTH_ERR_INVALID;
	}
	if (n > SPEC_LIST_MAX) {
		seterr(err, errsz, "%s: at most %d entries allowed, %zu given",
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
			seterr(err, errsz, "%s[%zu]: empty or longer than %d bytes",
			    key, i, JSON_ITEM_MAX);
			return AIVENAUTH_ERR_INVALID;
		}
		if ((s = json_string(v[i])) == NULL) {
			seterr(err, errsz, "%s[%zu]: not valid UTF-8", key, i);
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
		seterr(err, errsz, "no token spec");
		return AIVENAUTH_ERR_INVALID;
	}
	desc = spec->description != NULL ? spec->description : "";
	if (spec->max_age_seconds != 0 &&
	    (spec->max_age_seconds < SPEC_MAX_AGE_MIN ||
	    spec->max_age_seconds > SPEC_MAX_AGE_MAX)) {
		seterr(err, errsz, "max_age_seconds must be between %d and %d "
		    "(10 years)", SPEC_MAX_AGE_MIN, SPEC_MAX_AGE_MAX);
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if (spec->extend_when_used && spec->max_age_seconds == 0) {
		seterr(err, errsz, "extend_when_used can only be used if "
		    "max_age_seconds is specified");
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if ((obj = json_object()) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	if ((s = json_string(desc)) == NULL) {
		seterr(err, errsz, "description is not valid UTF-8");
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if (json_object_set_new(obj, "description", s) != 0) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	if (utf8_chars(desc) > SPEC_DESCRIPTION_MAX) {
		seterr(err, errsz, "description is longer than %d characters",
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
		seterr(err, errsz, "user name empty or longer than %d bytes",
		    JSON_TEXT_MAX);
		return AIVENAUTH_ERR_INVALID;
	}
	if ((s = json_string(name)) == NULL) {
		seterr(err, errsz, "user name is not valid UTF-8");
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

/*
 * Copy text for a log line: whitespace runs collapsed to one space, other
 * control characters replaced by '?', at most max bytes, never cutting a
 * UTF-8 sequence in half.  Returns the bytes written (out NUL-terminated).
 */
static size_t
clean_copy(char *out, size_t outsz, const char *s, size_t n, size_t max)
{
	size_t i, o = 0;
	unsigned char c;
	bool space = true;   /* drops leading blanks */

	if (outsz == 0)
		return 0;
	if (max > outsz - 1)
		max = outsz - 1;
	for (i = 0; i < n && o < max; i++) {
		c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		space = false;
		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (o == max && i < n) {
		/* Truncated: drop a trailing incomplete UTF-8 sequence. */
		size_t j = o, need;
		unsigned char lead;

		while (j > 0 && ((unsigned char)out[j - 1] & 0xc0) == 0x80)
			j--;
		if (j > 0 && ((unsigned char)out[j - 1] & 0x80) != 0) {
			lead = (unsigned char)out[j - 1];
			need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
			if (o - (j - 1) < need)
				o = j - 1;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}

/* Case-insensitive search of needle in s[0..n). */
static const char *
memcasestr(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; k <= n && i <= n - k; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

/*
 * An HTML error page (a proxy's 502, a captive portal): its <title>, else
 * its text with the tags dropped.  Enough for a human to recognise it
 * without echoing a page.
 */
static void
html_message(const char *s, size_t n, char *out, size_t outsz)
{
	const char *t, *e;
	char text[JSON_MSG_MAX + 1];
	size_t i, o = 0;
	bool tag = false;

	t = memcasestr(s, n, "<title>");
	if (t != NULL) {
		t += 7;
		e = memcasestr(t, n - (size_t)(t - s), "</title>");
		if (e != NULL && clean_copy(text, sizeof(text), t,
		    (size_t)(e - t), JSON_MSG_MAX - 20) > 0)
			goto done;
	}
	/* Strip the tags into text, then clean it. */
	{
		char raw[JSON_MSG_MAX * 2];

		for (i = 0; i < n && o < sizeof(raw); i++) {
			if (s[i] == '<')
				tag = true;
			else if (s[i] == '>') {
				tag = false;
				if (o > 0 && o < sizeof(raw))
					raw[o++] = ' ';
			} else if (!tag)
				raw[o++] = s[i];
		}
		if (clean_copy(text, sizeof(text), raw, o, JSON_MSG_MAX - 20) ==
		    0) {
			snprintf(out, outsz, "non-JSON body");
			return;
		}
	}
done:
	snprintf(out, outsz, "%s (HTML body)", text);
}

bool
json_error_has_code(const char *body, size_t len, const char *code)
{
	json_t *root, *v, *e;
	json_error_t jerr;
	bool hit = false;
	size_t i;

	if (body == NULL || len == 0 || code == NULL)
		return false;
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
		return false;
	if (json_is_object(root)) {
		v = field(root, "error_code");
		hit = json_is_string(v) && strcmp(json_string_value(v), code) == 0;
		v = field(root, "errors");
		if (json_is_array(v))
			json_array_foreach(v, i, e) {
				json_t *c = json_is_object(e) ?
				    field(e, "error_code") : NULL;

				if (json_is_string(c) &&
				    strcmp(json_string_value(c), code) == 0)
					hit = true;
			}
	}
	json_decref(root);
	return hit;
}

void
json_error_message(const char *body, size_t len, char *out, size_t outsz)
{
	json_t *root = NULL, *v, *e;
	json_error_t jerr;
	size_t i = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (body == NULL || len == 0)
		return;
	root = json_loadb(body, len, 0, &jerr);
	if (root != NULL && json_is_object(root)) {
		v = field(root, "message");
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    clean_copy(out, outsz, json_string_value(v),
		    json_string_length(v), JSON_MSG_MAX) > 0)
			goto out;
		v = field(root, "errors");
		e = json_is_array(v) ? json_array_get(v, 0) : NULL;
		v = json_is_object(e) ? field(e, "message") : NULL;
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    clean_copy(out, outsz, json_string_value(v),
		    json_string_length(v), JSON_MSG_MAX) > 0)
			goto out;
	}
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i < len && body[i] == '<') {
		html_message(body + i, len - i, out, outsz);
		goto out;
	}
	clean_copy(out, outsz, body + i, len - i, JSON_MSG_MAX);
out:
	json_decref(root);
}
