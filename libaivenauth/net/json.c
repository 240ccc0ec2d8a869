/*
 * json.c - the Aiven API's bodies (jansson) to records: application users,
 * tokens, the token create answer and /v1/me.  The field readers are in
 * json_read.c, the request builders in json_build.c, error bodies in
 * json_error.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "base/internal.h"
#include "net/json.h"
#include "net/json_read.h"

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
		if ((v = json_field(root, present[i])) != NULL &&
		    !json_is_false(v) && !(json_is_string(v) &&
		    json_string_length(v) == 0))
			return present[i];
	for (i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++)
		if (json_is_true(json_field(root, truthy[i])))
			return truthy[i];
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		v = json_field(root, totals[i]);
		if (v != NULL && (!json_is_integer(v) ||
		    json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) != (uint64_t)count))
			return totals[i];
	}
	/* Both links, and they differ: more than one page.  One alone says
	 * nothing about this page (a next or total_count would). */
	first = json_field(root, "first");
	last = json_field(root, "last");
	if (first != NULL && last != NULL && !json_equal(first, last))
		return "last";
	v = json_field(root, "links");
	if (json_is_object(v) && json_field(v, "next") != NULL)
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

	*list = json_field(root, key);
	if (*list == NULL) {
		json_seterr(err, errsz, "no \"%s\" list in the body", key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (!json_is_array(*list)) {
		json_seterr(err, errsz, "\"%s\" is not a list", key);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((m = page_marker(root, json_array_size(*list))) != NULL) {
		json_seterr(err, errsz, "the \"%s\" list is incomplete (the API "
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
		json_seterr(err, errsz, "%s: not an object", where);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((st = json_get_str(o, where, "user_id", JSON_ID_MAX,
	    STR_REQUIRED | STR_ID, &u->user_id, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_str(o, where, "name", JSON_TEXT_MAX, STR_REQUIRED,
	    &u->name, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_str(o, where, "user_email", JSON_TEXT_MAX, 0,
	    &u->email, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_time(o, where, "create_time", &u->create_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	st = AIVENAUTH_OK;
out:
	if (st != AIVENAUTH_OK)
		aivenauth_user_clear(u);
	return st;
}

/* One entry of a list response, parsed into item (cleared on failure). */
typedef enum aivenauth_status item_fn(json_t *o, const char *where,
    void *item, const void *arg, char *err, size_t errsz);
typedef void items_free_fn(void *items, size_t n);

/*
 * A list response {"KEY": [ENTRY...]}: each entry parsed by fn into an
 * array of item_size-byte records (*out, *n); all or nothing.
 */
static enum aivenauth_status
list_parse(const char *body, size_t len, const char *key, size_t item_size,
    item_fn *fn, items_free_fn *items_free, const void *arg, void **out,
    size_t *n, char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *root = NULL, *list, *e;
	char *v = NULL;
	size_t i, got = 0;
	char where[64];

	*out = NULL;
	*n = 0;
	if ((st = json_load_object(body, len, "body", false, &root, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = get_list(root, key, &list, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if (json_array_size(list) > 0 &&
	    (v = calloc(json_array_size(list), item_size)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(list, i, e) {
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if ((st = fn(e, where, v + i * item_size, arg, err, errsz)) !=
		    AIVENAUTH_OK)
			goto out;
		got++;
	}
	*out = v;
	*n = got;
	v = NULL;
	st = AIVENAUTH_OK;
out:
	items_free(v, got);
	json_decref(root);
	return st;
}

static enum aivenauth_status
user_item(json_t *o, const char *where, void *item, const void *arg,
    char *err, size_t errsz)
{
	(void)arg;
	return user_from(o, where, item, err, errsz);
}

static void
users_free(void *items, size_t n)
{
	aivenauth_users_free(items, n);
}

enum aivenauth_status
json_users_parse(const char *body, size_t len, struct aivenauth_user **users,
    size_t *n, char *err, size_t errsz)
{
	void *v;
	enum aivenauth_status st;

	st = list_parse(body, len, "application_users", sizeof(**users),
	    user_item, users_free, NULL, &v, n, err, errsz);
	*users = v;
	return st;
}

enum aivenauth_status
json_user_parse(const char *body, size_t len, struct aivenauth_user *u,
    char *err, size_t errsz)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	json_t *root = NULL;

	memset(u, 0, sizeof(*u));
	if ((st = json_load_object(body, len, "body", false, &root, err,
	    errsz)) != AIVENAUTH_OK)
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
		json_seterr(err, errsz, "%s: not an object", where);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if ((st = json_get_str(o, where, "token_prefix", JSON_PREFIX_MAX,
	    STR_REQUIRED | STR_ID, &t->prefix, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_str(o, where, "description", JSON_TEXT_MAX, 0,
	    &t->description, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_time(o, where, "create_time", &t->create_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_time(o, where, "expiry_time", &t->expiry_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_count(o, where, "max_age_seconds", &t->max_age_seconds,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_bool(o, where, "extend_when_used", &t->extend_when_used,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_bool(o, where, "created_manually", &t->created_manually,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_bool(o, where, "currently_active", &t->currently_active,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_strv(o, where, "scopes", &t->scopes, &t->n_scopes, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_strv(o, where, "ip_allowlist", &t->ip_allowlist,
	    &t->n_ip_allowlist, err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_time(o, where, "last_used_time", &t->last_used_time, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_str(o, where, "last_ip", JSON_ITEM_MAX, 0, &t->last_ip,
	    err, errsz)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_get_str(o, where, "last_user_agent", JSON_TEXT_MAX, 0,
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

static enum aivenauth_status
token_item(json_t *o, const char *where, void *item, const void *arg,
    char *err, size_t errsz)
{
	return token_from(o, where, arg, item, err, errsz);
}

static void
tokens_free(void *items, size_t n)
{
	aivenauth_tokens_free(items, n);
}

enum aivenauth_status
json_tokens_parse(const char *body, size_t len, const char *user_id,
    struct aivenauth_token **tokens, size_t *n, char *err, size_t errsz)
{
	void *v;
	enum aivenauth_status st;

	st = list_parse(body, len, "tokens", sizeof(**tokens), token_item,
	    tokens_free, user_id, &v, n, err, errsz);
	*tokens = v;
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
		json_seterr(err, errsz, "/v1/me: no synced user id or e-mail to "
		    "compare the answer with");
		return AIVENAUTH_ERR_INVALID;
	}
	if ((st = json_load_object(body, len, "body", false, &root, err,
	    errsz)) != AIVENAUTH_OK)
		return st;
	user = json_field(root, "user");
	if (!json_is_object(user)) {
		json_seterr(err, errsz, "/v1/me response: \"user\" missing or not "
		    "an object");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	id = json_field(user, "user_id");
	mail = json_field(user, "user");
	if ((id != NULL && !json_is_string(id)) ||
	    (mail != NULL && !json_is_string(mail))) {
		json_seterr(err, errsz, "/v1/me response: user.user_id or user.user "
		    "is not a string");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	/* Every field both sides know must agree, and at least one must be
	 * compared: an answer that names nobody vouches for nobody. */
	if ((!have_id || id == NULL) && (!have_mail || mail == NULL)) {
		json_seterr(err, errsz, "/v1/me response names no user id or e-mail "
		    "to compare with the token's owner");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	if ((have_id && id != NULL &&
	    strcmp(json_string_value(id), user_id) != 0) ||
	    (have_mail && mail != NULL &&
	    !str_caseeq(json_string_value(mail), user_email))) {
		json_seterr(err, errsz, "/v1/me answered about another user, not "
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
	if ((st = json_load_object(body, len, "body", true, &root, err,
	    errsz)) != AIVENAUTH_OK)
		goto out;
	v = json_field(root, "full_token");
	if (v == NULL || !json_is_string(v)) {
		json_seterr(err, errsz, "token create response: \"full_token\" "
		    "missing or not a string");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	n = json_string_length(v);
	if (n == 0 || n > AIVENAUTH_TOKEN_MAX_LEN ||
	    json_has_ctl(json_string_value(v), n)) {
		json_seterr(err, errsz, "token create response: \"full_token\" is "
		    "empty, longer than %d bytes or has control characters",
		    AIVENAUTH_TOKEN_MAX_LEN);
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	if ((st = json_get_str(root, "token create response", "token_prefix",
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
