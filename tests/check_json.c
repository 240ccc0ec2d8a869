/*
 * check_json.c - the network module's JSON layer (libaivenauth/net/json.c)
 * on fixture bodies from tests/data/api_*: real shapes from the contract,
 * nulls, unknown fields, odd numbers and timestamps, malformed bodies,
 * error bodies, and the token create request body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "internal.h"
#include "net.h"
#include "net/http.h"
#include "net/json.h"

extern const struct aivenauth_net_ops aivenauth_net_ops_v1;

static char err[JSON_ERR_SIZE];

/* Read tests/data/name (from $AIVENAUTH_TOP or "."). */
static char *
fixture(const char *name, size_t *len)
{
	const char *top = getenv("AIVENAUTH_TOP");
	char path[4096];
	FILE *f;
	char *data;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/%s",
	    top != NULL ? top : ".", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

static enum aivenauth_status
users_file(const char *name, struct aivenauth_user **u, size_t *n)
{
	enum aivenauth_status st;
	size_t len;
	char *body = fixture(name, &len);

	err[0] = '\0';
	st = json_users_parse(body, len, u, n, err, sizeof(err));
	free(body);
	return st;
}

static enum aivenauth_status
tokens_file(const char *name, const char *uid, struct aivenauth_token **t,
    size_t *n)
{
	enum aivenauth_status st;
	size_t len;
	char *body = fixture(name, &len);

	err[0] = '\0';
	st = json_tokens_parse(body, len, uid, t, n, err, sizeof(err));
	free(body);
	return st;
}

/* A failing parse must leave the outputs empty and say something. */
static void
users_bad(const char *name, const char *needle)
{
	struct aivenauth_user *u = (void *)1;
	size_t n = 99;

	ck_assert_int_eq(users_file(name, &u, &n), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_ptr_null(u);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(err[0] != '\0', "%s: no error text", name);
	if (needle != NULL)
		ck_assert_msg(strstr(err, needle) != NULL, "%s: \"%s\" lacks %s",
		    name, err, needle);
}

static void
tokens_bad(const char *name, const char *needle)
{
	struct aivenauth_token *t = (void *)1;
	size_t n = 99;

	ck_assert_int_eq(tokens_file(name, "u1", &t, &n),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_ptr_null(t);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(err[0] != '\0', "%s: no error text", name);
	if (needle != NULL)
		ck_assert_msg(strstr(err, needle) != NULL, "%s: \"%s\" lacks %s",
		    name, err, needle);
}

/* ------------------------------------------------------------ users */

START_TEST(users_real_shape)
{
	struct aivenauth_user *u;
	size_t n;

	ck_assert_int_eq(users_file("api_users.json", &u, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(u[0].user_id, "u1abc2345678");
	ck_assert_str_eq(u[0].name, "devops app user");
	ck_assert_str_eq(u[0].email, "app-u1abc2345678@aiven.example");
	ck_assert_int_eq(u[0].create_time, 1776075072);
	ck_assert_str_eq(u[1].user_id, "u2def");
	ck_assert_int_eq(u[1].create_time, 1776075072);   /* +00:00 */
	ck_assert_str_eq(u[2].name, "no create time");
	ck_assert_int_eq(u[2].create_time, 0);
	aivenauth_users_free(u, n);
}
END_TEST

START_TEST(users_nulls)
{
	struct aivenauth_user *u;
	size_t n;

	ck_assert_int_eq(users_file("api_users_nulls.json", &u, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_null(u[0].email);
	ck_assert_int_eq(u[0].create_time, 0);
	aivenauth_users_free(u, n);
}
END_TEST

START_TEST(users_unknown_fields)
{
	struct aivenauth_user *u;
	size_t n;

	ck_assert_int_eq(users_file("api_users_unknown.json", &u, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(u[0].user_id, "u1");
	ck_assert_str_eq(u[0].email, "e@x");
	ck_assert_int_eq(u[0].create_time, 1767323045);
	aivenauth_users_free(u, n);
}
END_TEST

START_TEST(users_empty_list)
{
	struct aivenauth_user *u = (void *)1;
	size_t n = 5;

	ck_assert_int_eq(users_file("api_users_empty.json", &u, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(u);
}
END_TEST

START_TEST(users_bad_shapes)
{
	users_bad("api_users_object.json", "not a list");
	users_bad("api_users_missing_id.json", "user_id");
	users_bad("api_users_missing_name.json", "name");
	users_bad("api_users_id_number.json", "user_id");
	users_bad("api_users_bad_time.json", "create_time");
	users_bad("api_users_item_string.json", "application_users[0]");
	users_bad("api_users_no_list.json", "application_users");
	users_bad("api_users_null_list.json", "application_users");
	users_bad("api_top_array.json", "not an object");
}
END_TEST

START_TEST(users_malformed)
{
	users_bad("api_malformed.json", "invalid JSON");
	users_bad("api_truncated.json", "invalid JSON");
}
END_TEST

START_TEST(users_empty_body)
{
	struct aivenauth_user *u;
	size_t n;

	ck_assert_int_eq(json_users_parse(NULL, 0, &u, &n, err, sizeof(err)),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(json_users_parse("", 0, &u, &n, err, sizeof(err)),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(json_users_parse("   ", 3, &u, &n, err, sizeof(err)),
	    AIVENAUTH_ERR_BAD_RESPONSE);
}
END_TEST

START_TEST(user_created)
{
	struct aivenauth_user u;
	size_t len;
	char *body = fixture("api_user_created.json", &len);

	ck_assert_int_eq(json_user_parse(body, len, &u, err, sizeof(err)),
	    AIVENAUTH_OK);
	ck_assert_str_eq(u.user_id, "u1abc2345678");
	ck_assert_str_eq(u.name, "devops app user");
	ck_assert_int_eq(u.create_time, 1776075072);
	aivenauth_user_clear(&u);
	ck_assert_int_eq(json_user_parse("{\"name\":\"x\"}", 12, &u, err,
	    sizeof(err)), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_ptr_null(u.name);
	free(body);
}
END_TEST

/* A body of n bytes: {"application_users":[{"user_id":"u1","name":"xxx"}]} */
static char *
user_with(const char *id, size_t idlen, size_t namelen, size_t *len)
{
	struct buf b;

	buf_init(&b, 1 << 20, false);
	ck_assert_int_eq(buf_addf(&b, "{\"application_users\":[{\"user_id\":\""),
	    AIVENAUTH_OK);
	if (id != NULL)
		ck_assert_int_eq(buf_add(&b, id, strlen(id)), AIVENAUTH_OK);
	while (idlen-- > 0)
		ck_assert_int_eq(buf_addc(&b, 'i'), AIVENAUTH_OK);
	ck_assert_int_eq(buf_addf(&b, "\",\"name\":\""), AIVENAUTH_OK);
	while (namelen-- > 0)
		ck_assert_int_eq(buf_addc(&b, 'n'), AIVENAUTH_OK);
	ck_assert_int_eq(buf_addf(&b, "\"}]}"), AIVENAUTH_OK);
	*len = b.len;
	return b.data;
}

START_TEST(users_string_caps)
{
	struct aivenauth_user *u;
	size_t n, len;
	char *body;

	body = user_with("u", 0, JSON_TEXT_MAX, &len);
	ck_assert_int_eq(json_users_parse(body, len, &u, &n, err, sizeof(err)),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(strlen(u[0].name), JSON_TEXT_MAX);
	aivenauth_users_free(u, n);
	free(body);

	body = user_with("u", 0, JSON_TEXT_MAX + 1, &len);
	ck_assert_int_eq(json_users_parse(body, len, &u, &n, err, sizeof(err)),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_ptr_nonnull(strstr(err, "name"));
	free(body);

	body = user_with(NULL, JSON_ID_MAX, 1, &len);
	ck_assert_int_eq(json_users_parse(body, len, &u, &n, err, sizeof(err)),
	    AIVENAUTH_OK);
	aivenauth_users_free(u, n);
	free(body);

	body = user_with(NULL, JSON_ID_MAX + 1, 1, &len);
	ck_assert_int_eq(json_users_parse(body, len, &u, &n, err, sizeof(err)),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_ptr_nonnull(strstr(err, "user_id"));
	free(body);

	/* An empty id would address the collection, not the user. */
	body = user_with(NULL, 0, 1, &len);
	ck_assert_int_eq(json_users_parse(body, len, &u, &n, err, sizeof(err)),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	free(body);
}
END_TEST

START_TEST(users_huge_list)
{
	struct aivenauth_user *u;
	struct buf b;
	size_t n, i;
	const size_t count = 20000;

	buf_init(&b, 16 << 20, false);
	ck_assert_int_eq(buf_addf(&b, "{\"application_users\":["), AIVENAUTH_OK);
	for (i = 0; i < count; i++)
		ck_assert_int_eq(buf_addf(&b, "%s{\"user_id\":\"u%zu\",\"name\":"
		    "\"user %zu\",\"user_email\":\"u%zu@example\",\"create_time\":"
		    "\"2026-04-13T10:11:12Z\",\"is_super_admin\":false}",
		    i > 0 ? "," : "", i, i, i), AIVENAUTH_OK);
	ck_assert_int_eq(buf_addf(&b, "]}"), AIVENAUTH_OK);
	ck_assert_int_eq(json_users_parse(b.data, b.len, &u, &n, err,
	    sizeof(err)), AIVENAUTH_OK);
	ck_assert_uint_eq(n, count);
	ck_assert_str_eq(u[count - 1].user_id, "u19999");
	ck_assert_str_eq(u[12345].name, "user 12345");
	aivenauth_users_free(u, n);
	buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ tokens */

START_TEST(tokens_every_field)
{
	struct aivenauth_token *t;
	size_t n;

	ck_assert_int_eq(tokens_file("api_tokens_full.json", "u1abc2345678",
	    &t, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(t[0].prefix, "6JsKDclT3OMQ");
	ck_assert_str_eq(t[0].user_id, "u1abc2345678");
	ck_assert_str_eq(t[0].description, "Integration client Alpha");
	ck_assert_int_eq(t[0].create_time, 1777885200);
	ck_assert_int_eq(t[0].expiry_time, 1777971600);
	ck_assert_int_eq(t[0].max_age_seconds, 86400);
	ck_assert(!t[0].extend_when_used);
	ck_assert(t[0].created_manually);
	ck_assert(!t[0].currently_active);
	ck_assert_uint_eq(t[0].n_ip_allowlist, 2);
	ck_assert_str_eq(t[0].ip_allowlist[0], "192.168.0.0/24");
	ck_assert_str_eq(t[0].ip_allowlist[1], "2001:db8::/32");
	ck_assert_uint_eq(t[0].n_scopes, 1);
	ck_assert_str_eq(t[0].scopes[0], "user:read");
	ck_assert_ptr_null(t[0].last_ip);
	ck_assert_int_eq(t[0].last_used_time, 0);
	ck_assert_ptr_null(t[0].last_user_agent);

	ck_assert_str_eq(t[1].prefix, "XCJ3+bgWywIh");
	ck_assert_ptr_null(t[1].description);
	ck_assert_int_eq(t[1].create_time, 1629127754);
	ck_assert_int_eq(t[1].expiry_time, 1631719754);
	ck_assert_int_eq(t[1].last_used_time, 1629278650);
	ck_assert(t[1].extend_when_used);
	ck_assert(!t[1].created_manually);
	ck_assert(t[1].currently_active);
	ck_assert_str_eq(t[1].last_ip, "192.168.1.1");
	ck_assert_str_eq(t[1].last_user_agent, "aiven-client/2.12.0");
	ck_assert_int_eq(t[1].max_age_seconds, 2592000);
	ck_assert_uint_eq(t[1].n_scopes, 0);
	ck_assert_ptr_null(t[1].scopes);
	aivenauth_tokens_free(t, n);
}
END_TEST

START_TEST(tokens_nulls_everywhere)
{
	struct aivenauth_token *t;
	size_t n;

	ck_assert_int_eq(tokens_file("api_tokens_nulls.json", "u1", &t, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0].prefix, "abc/def+gh==");
	ck_assert_ptr_null(t[0].description);
	ck_assert_int_eq(t[0].expiry_time, 0);
	ck_assert_int_eq(t[0].max_age_seconds, 0);
	ck_assert(!t[0].extend_when_used && !t[0].created_manually);
	ck_assert_uint_eq(t[0].n_scopes + t[0].n_ip_allowlist, 0);
	ck_assert_ptr_null(t[0].last_ip);
	aivenauth_tokens_free(t, n);
}
END_TEST

START_TEST(tokens_minimal_and_no_owner)
{
	struct aivenauth_token *t;
	size_t n;

	ck_assert_int_eq(tokens_file("api_tokens_minimal.json", NULL, &t, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0].prefix, "minimal00001");
	ck_assert_ptr_null(t[0].user_id);
	ck_assert_int_eq(t[0].create_time, 0);
	aivenauth_tokens_free(t, n);
}
END_TEST

START_TEST(tokens_unknown_fields)
{
	struct aivenauth_token *t;
	size_t n;

	ck_assert_int_eq(tokens_file("api_tokens_unknown.json", "u1", &t, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0].prefix, "p1");
	ck_assert_uint_eq(t[0].n_scopes, 1);
	aivenauth_tokens_free(t, n);
}
END_TEST

START_TEST(tokens_float_max_age)
{
	struct aivenauth_token *t;
	size_t n, i;

	ck_assert_int_eq(tokens_file("api_tokens_float.json", "u1", &t, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(t[i].max_age_seconds, 3600);
	aivenauth_tokens_free(t, n);
}
END_TEST

START_TEST(tokens_list_forms)
{
	struct aivenauth_token *t;
	size_t n, i;

	ck_assert_int_eq(tokens_file("api_tokens_lists.json", "u1", &t, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(t[i].n_scopes, 0);
		ck_assert_ptr_null(t[i].scopes);
		ck_assert_uint_eq(t[i].n_ip_allowlist, 0);
		ck_assert_ptr_null(t[i].ip_allowlist);
	}
	ck_assert_uint_eq(t[3].n_scopes, 2);
	ck_assert_str_eq(t[3].scopes[1], "user:write");
	ck_assert_uint_eq(t[3].n_ip_allowlist, 1);
	aivenauth_tokens_free(t, n);
}
END_TEST

START_TEST(tokens_empty_list)
{
	struct aivenauth_token *t = (void *)1;
	size_t n = 3;

	ck_assert_int_eq(tokens_file("api_tokens_empty.json", "u1", &t, &n),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(tokens_wrong_shapes)
{
	tokens_bad("api_tokens_object.json", "\"tokens\" is not a list");
	tokens_bad("api_tokens_no_prefix.json", "token_prefix");
	tokens_bad("api_tokens_empty_prefix.json", "token_prefix");
	tokens_bad("api_tokens_prefix_ctl.json", "token_prefix");
	tokens_bad("api_users.json", "tokens");
	tokens_bad("api_malformed.json", "invalid JSON");
	tokens_bad("api_truncated.json", "invalid JSON");
}
END_TEST

START_TEST(tokens_bad_timestamps)
{
	tokens_bad("api_tokens_bad_time.json", "tokens[0].expiry_time");
	tokens_bad("api_tokens_time_number.json", "last_used_time");
}
END_TEST

START_TEST(tokens_bad_numbers)
{
	tokens_bad("api_tokens_negative.json", "max_age_seconds");
	tokens_bad("api_tokens_fraction.json", "max_age_seconds");
	tokens_bad("api_tokens_age_string.json", "max_age_seconds");
	tokens_bad("api_tokens_age_huge.json", "max_age_seconds");
}
END_TEST

START_TEST(tokens_bad_types)
{
	tokens_bad("api_tokens_bool_string.json", "extend_when_used");
	tokens_bad("api_tokens_scopes_string.json", "scopes");
	tokens_bad("api_tokens_scopes_number.json", "scopes[1]");
}
END_TEST

START_TEST(tokens_prefix_cap)
{
	struct aivenauth_token *t;
	struct buf b;
	size_t n, i;

	for (i = JSON_PREFIX_MAX; i <= JSON_PREFIX_MAX + 1; i++) {
		size_t k;

		buf_init(&b, 4096, false);
		ck_assert_int_eq(buf_addf(&b, "{\"tokens\":[{\"token_prefix\":\""),
		    AIVENAUTH_OK);
		for (k = 0; k < i; k++)
			ck_assert_int_eq(buf_addc(&b, 'p'), AIVENAUTH_OK);
		ck_assert_int_eq(buf_addf(&b, "\"}]}"), AIVENAUTH_OK);
		ck_assert_int_eq(json_tokens_parse(b.data, b.len, "u", &t, &n,
		    err, sizeof(err)), i == JSON_PREFIX_MAX ? AIVENAUTH_OK :
		    AIVENAUTH_ERR_BAD_RESPONSE);
		aivenauth_tokens_free(t, n);
		buf_free(&b);
	}
}
END_TEST

START_TEST(tokens_long_user_agent)
{
	struct aivenauth_token *t;
	struct buf b;
	size_t n, k;

	buf_init(&b, 1 << 20, false);
	ck_assert_int_eq(buf_addf(&b, "{\"tokens\":[{\"token_prefix\":\"p\","
	    "\"last_user_agent\":\""), AIVENAUTH_OK);
	for (k = 0; k < JSON_TEXT_MAX + 1; k++)
		ck_assert_int_eq(buf_addc(&b, 'a'), AIVENAUTH_OK);
	ck_assert_int_eq(buf_addf(&b, "\"}]}"), AIVENAUTH_OK);
	ck_assert_int_eq(json_tokens_parse(b.data, b.len, "u", &t, &n, err,
	    sizeof(err)), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_ptr_nonnull(strstr(err, "last_user_agent"));
	buf_free(&b);
}
END_TEST

START_TEST(tokens_huge_list)
{
	struct aivenauth_token *t;
	struct buf b;
	size_t n, i;
	const size_t count = 10000;

	buf_init(&b, 32 << 20, false);
	ck_assert_int_eq(buf_addf(&b, "{\"tokens\":["), AIVENAUTH_OK);
	for (i = 0; i < count; i++)
		ck_assert_int_eq(buf_addf(&b, "%s{\"token_prefix\":\"p%zu+/=\","
		    "\"max_age_seconds\":%zu.0,\"scopes\":[\"s\"],"
		    "\"expiry_time\":\"2026-05-05T09:00:00.123456Z\"}",
		    i > 0 ? "," : "", i, 600 + i), AIVENAUTH_OK);
	ck_assert_int_eq(buf_addf(&b, "]}"), AIVENAUTH_OK);
	ck_assert_int_eq(json_tokens_parse(b.data, b.len, "uX", &t, &n, err,
	    sizeof(err)), AIVENAUTH_OK);
	ck_assert_uint_eq(n, count);
	ck_assert_str_eq(t[9999].prefix, "p9999+/=");
	ck_assert_int_eq(t[9999].max_age_seconds, 600 + 9999);
	ck_assert_str_eq(t[5000].user_id, "uX");
	aivenauth_tokens_free(t, n);
	buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ create */

START_TEST(created_ok)
{
	char *full, *prefix;
	size_t len, flen;
	char *body = fixture("api_created.json", &len);

	ck_assert_int_eq(json_created_parse(body, len, &full, &flen, &prefix,
	    err, sizeof(err)), AIVENAUTH_OK);
	ck_assert_str_eq(prefix, "6JsKDclT3OMQ");
	ck_assert_str_eq(full,
	    "6JsKDclT3OMQd1V2Fl2aaaaaaaaaaaaaaaaaaaaaaaaaRaraBPg==");
	ck_assert_uint_eq(flen, strlen(full));
	free(full);
	free(prefix);
	free(body);
}
END_TEST

START_TEST(created_extra_fields)
{
	char *full, *prefix;
	size_t len, flen;
	char *body = fixture("api_created_extra.json", &len);

	ck_assert_int_eq(json_created_parse(body, len, &full, &flen, &prefix,
	    err, sizeof(err)), AIVENAUTH_OK);
	ck_assert_str_eq(prefix, "6JsKDclT3OMQ");
	ck_assert_uint_eq(flen, 50);
	free(full);
	free(prefix);
	free(body);
}
END_TEST

START_TEST(created_bad)
{
	static const char *const files[] = { "api_created_no_full.json",
	    "api_created_no_prefix.json", "api_created_null_full.json",
	    "api_created_full_number.json", "api_created_truncated.json",
	    "api_users.json" };
	char *full, *prefix, *body;
	size_t i, len, flen;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		body = fixture(files[i], &len);
		full = prefix = (void *)1;
		flen = 7;
		err[0] = '\0';
		ck_assert_int_eq(json_created_parse(body, len, &full, &flen,
		    &prefix, err, sizeof(err)), AIVENAUTH_ERR_BAD_RESPONSE);
		ck_assert_ptr_null(full);
		ck_assert_ptr_null(prefix);
		ck_assert_uint_eq(flen, 0);
		ck_assert(err[0] != '\0');
		/* The error never quotes the body: it may hold the token. */
		ck_assert_msg(strstr(err, "SECRET") == NULL &&
		    strstr(err, "d1V2") == NULL, "%s: %s", files[i], err);
		free(body);
	}
}
END_TEST

/* ------------------------------------------------------------ errors */

static void
errmsg_file(const char *name, char *out, size_t outsz)
{
	size_t len;
	char *body = fixture(name, &len);

	json_error_message(body, len, out, outsz);
	free(body);
}

START_TEST(error_standard)
{
	char m[JSON_MSG_MAX + 1];

	errmsg_file("api_err_standard.json", m, sizeof(m));
	ck_assert_str_eq(m, "Account does not exist");
	errmsg_file("api_err_401.json", m, sizeof(m));
	ck_assert_str_eq(m, "Missing (expired) db token");
}
END_TEST

START_TEST(error_errors_only)
{
	char m[JSON_MSG_MAX + 1];

	errmsg_file("api_err_errors_only.json", m, sizeof(m));
	ck_assert_str_eq(m, "Permission denied for errors only");
}
END_TEST

START_TEST(error_nonstring_message)
{
	char m[JSON_MSG_MAX + 1];

	errmsg_file("api_err_nonstring.json", m, sizeof(m));
	ck_assert_str_eq(m, "from errors[0]");
	/* No usable message anywhere: the JSON text itself. */
	errmsg_file("api_err_number_only.json", m, sizeof(m));
	ck_assert_str_eq(m, "{\"message\": 12345}");
}
END_TEST

START_TEST(error_html)
{
	char m[JSON_MSG_MAX + 1];

	errmsg_file("api_err_nginx502.html", m, sizeof(m));
	ck_assert_str_eq(m, "502 Bad Gateway (HTML body)");
	errmsg_file("api_err_html_notitle.html", m, sizeof(m));
	ck_assert_msg(strstr(m, "Service Unavailable") != NULL, "%s", m);
	ck_assert_msg(strstr(m, "<") == NULL, "%s", m);
	json_error_message("<html></html>", 13, m, sizeof(m));
	ck_assert_str_eq(m, "non-JSON body");
}
END_TEST

START_TEST(error_text_and_empty)
{
	char m[JSON_MSG_MAX + 1];

	errmsg_file("api_err_text.txt", m, sizeof(m));
	ck_assert_str_eq(m, "unknown error");
	json_error_message("", 0, m, sizeof(m));
	ck_assert_str_eq(m, "");
	json_error_message(NULL, 0, m, sizeof(m));
	ck_assert_str_eq(m, "");
	json_error_message(" \n\t ", 4, m, sizeof(m));
	ck_assert_str_eq(m, "");
}
END_TEST

START_TEST(error_control_chars)
{
	char m[JSON_MSG_MAX + 1];
	size_t i;

	errmsg_file("api_err_ctl.txt", m, sizeof(m));
	for (i = 0; m[i] != '\0'; i++)
		ck_assert_msg((unsigned char)m[i] >= 0x20 && m[i] != 0x7f,
		    "control character at %zu", i);
	ck_assert_str_eq(m, "line one?? line two?[31m");
	/* Inside a JSON message too. */
	json_error_message("{\"message\":\"a\\nb\\u0007c\"}", 25, m, sizeof(m));
	ck_assert_str_eq(m, "a b?c");
}
END_TEST

START_TEST(error_truncated_utf8)
{
	char m[JSON_MSG_MAX + 1], body[2 * JSON_MSG_MAX + 64];
	size_t i, n = 0;

	/* 'a' then 2-byte characters, so that the cap falls mid-character. */
	body[n++] = 'a';
	for (i = 0; i < JSON_MSG_MAX; i++) {
		body[n++] = (char)0xc3;
		body[n++] = (char)0xa9;
	}
	json_error_message(body, n, m, sizeof(m));
	ck_assert_uint_le(strlen(m), JSON_MSG_MAX);
	ck_assert_uint_eq(strlen(m) % 2, 1);     /* 'a' + whole characters */
	ck_assert((unsigned char)m[strlen(m) - 1] == 0xa9);
	/* A small output buffer is respected. */
	json_error_message("{\"message\":\"abcdefghij\"}", 24, m, 5);
	ck_assert_str_eq(m, "abcd");
}
END_TEST

/* ------------------------------------------------------------ spec */

static enum aivenauth_status
build(const struct aivenauth_token_spec *spec, char *out, size_t outsz)
{
	enum aivenauth_status st;
	struct buf b;

	buf_init(&b, 1 << 20, false);
	err[0] = '\0';
	st = json_spec_build(spec, &b, err, sizeof(err));
	if (st == AIVENAUTH_OK)
		snprintf(out, outsz, "%s", buf_cstr(&b));
	buf_free(&b);
	return st;
}

START_TEST(spec_full_body)
{
	static const char *const ips[] = { "192.168.0.0/24", "2001:db8::/32" };
	static const char *const scopes[] = { "user:read" };
	struct aivenauth_token_spec spec = { 0 };
	char out[1024];

	spec.description = "Integration client Alpha";
	spec.max_age_seconds = 86400;
	spec.extend_when_used = true;
	spec.ip_allowlist = ips;
	spec.n_ip_allowlist = 2;
	spec.scopes = scopes;
	spec.n_scopes = 1;
	ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_OK);
	ck_assert_str_eq(out, "{\"description\":\"Integration client Alpha\","
	    "\"max_age_seconds\":86400,\"extend_when_used\":true,"
	    "\"ip_allowlist\":[\"192.168.0.0/24\",\"2001:db8::/32\"],"
	    "\"scopes\":[\"user:read\"]}");
}
END_TEST

START_TEST(spec_minimal_body)
{
	struct aivenauth_token_spec spec = { 0 };
	char out[256];

	ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_OK);
	ck_assert_str_eq(out, "{\"description\":\"\"}");
	spec.description = "quote \" and \\ and \xc3\xa9";
	spec.max_age_seconds = 600;
	ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_OK);
	ck_assert_str_eq(out, "{\"description\":\"quote \\\" and \\\\ and "
	    "\xc3\xa9\",\"max_age_seconds\":600,\"extend_when_used\":false}");
}
END_TEST

START_TEST(spec_extend_needs_max_age)
{
	struct aivenauth_token_spec spec = { 0 };
	char out[256];

	spec.extend_when_used = true;
	ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_ERR_INVALID);
	ck_assert_str_eq(err, "extend_when_used can only be used if "
	    "max_age_seconds is specified");
}
END_TEST

START_TEST(spec_max_age_range)
{
	static const int64_t bad[] = { -1, 1, 599, 315360001, INT64_MAX };
	static const int64_t good[] = { 600, 3600, 315360000 };
	struct aivenauth_token_spec spec = { 0 };
	char out[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		spec.max_age_seconds = bad[i];
		ck_assert_int_eq(build(&spec, out, sizeof(out)),
		    AIVENAUTH_ERR_INVALID);
		ck_assert_ptr_nonnull(strstr(err, "max_age_seconds"));
	}
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		spec.max_age_seconds = good[i];
		ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_OK);
	}
}
END_TEST

START_TEST(spec_description_length)
{
	struct aivenauth_token_spec spec = { 0 };
	char desc[2 * 1001 + 1], out[4096];
	size_t i;

	/* 1000 characters of two bytes each is fine: the limit counts
	 * characters. */
	for (i = 0; i < 1000; i++) {
		desc[2 * i] = (char)0xc3;
		desc[2 * i + 1] = (char)0xa9;
	}
	desc[2000] = '\0';
	spec.description = desc;
	ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_OK);
	desc[2000] = 'x';
	desc[2001] = '\0';
	ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "description"));
	/* Not UTF-8. */
	spec.description = "\xff\xfe";
	ck_assert_int_eq(build(&spec, out, sizeof(out)), AIVENAUTH_ERR_INVALID);
}
END_TEST

START_TEST(spec_list_limits)
{
	const char *many[101];
	struct aivenauth_token_spec spec = { 0 };
	char *out;
	size_t i;

	out = malloc(1 << 16);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = "user:read";
	spec.scopes = many;
	spec.n_scopes = 100;
	ck_assert_int_eq(build(&spec, out, 1 << 16), AIVENAUTH_OK);
	spec.n_scopes = 101;
	ck_assert_int_eq(build(&spec, out, 1 << 16), AIVENAUTH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "scopes"));
	spec.n_scopes = 0;
	spec.ip_allowlist = many;
	spec.n_ip_allowlist = 101;
	ck_assert_int_eq(build(&spec, out, 1 << 16), AIVENAUTH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "ip_allowlist"));
	/* A count without a list, a NULL or empty entry. */
	spec.ip_allowlist = NULL;
	spec.n_ip_allowlist = 1;
	ck_assert_int_eq(build(&spec, out, 1 << 16), AIVENAUTH_ERR_INVALID);
	many[0] = NULL;
	spec.ip_allowlist = many;
	ck_assert_int_eq(build(&spec, out, 1 << 16), AIVENAUTH_ERR_INVALID);
	many[0] = "";
	ck_assert_int_eq(build(&spec, out, 1 << 16), AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(json_spec_build(NULL, NULL, err, sizeof(err)),
	    AIVENAUTH_ERR_INVALID);
	free(out);
}
END_TEST

START_TEST(user_create_body)
{
	struct buf b;

	buf_init(&b, 1 << 16, false);
	ck_assert_int_eq(json_user_create_build("devops \"app\" user", &b, err,
	    sizeof(err)), AIVENAUTH_OK);
	ck_assert_str_eq(buf_cstr(&b), "{\"name\":\"devops \\\"app\\\" user\"}");
	buf_free(&b);
	ck_assert_int_eq(json_user_create_build("", &b, err, sizeof(err)),
	    AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(json_user_create_build(NULL, &b, err, sizeof(err)),
	    AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(json_user_create_build("\xc3", &b, err, sizeof(err)),
	    AIVENAUTH_ERR_INVALID);
	buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ misc */

START_TEST(path_encoding)
{
	struct buf b;

	buf_init(&b, 1024, false);
	ck_assert_int_eq(http_path_add(&b, "XCJ3+bgWywIh/=="), AIVENAUTH_OK);
	ck_assert_int_eq(http_path_add(&b, "a b~._-Z9"), AIVENAUTH_OK);
	ck_assert_int_eq(http_path_add(&b, "\xc3\xa9?#%"), AIVENAUTH_OK);
	ck_assert_str_eq(buf_cstr(&b), "/XCJ3%2BbgWywIh%2F%3D%3D/a%20b~._-Z9"
	    "/%C3%A9%3F%23%25");
	ck_assert_int_eq(http_path_add(&b, ""), AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(http_path_add(&b, NULL), AIVENAUTH_ERR_INVALID);
	buf_free(&b);
}
END_TEST

/* The timestamp forms the API emits, as json.c hands them to ts_parse
 * (this also makes the test link timeparse.o from libaivenauth.a, which
 * the Makefile scans before libaivenauth-net.a). */
START_TEST(timestamp_forms)
{
	int64_t t;

	ck_assert(ts_parse("2021-08-18T09:24:10.298796+00:00", 32, &t));
	ck_assert_int_eq(t, 1629278650);
	ck_assert(ts_parse("2026-04-13T10:11:12Z", 20, &t));
	ck_assert_int_eq(t, 1776075072);
	ck_assert(!ts_parse("2026-04-13", 10, &t));
}
END_TEST

/* json_me_check: only an answer about the expected owner vouches. */
#define ME(body, id, mail) json_me_check(body, strlen(body), id, mail, err, \
	    sizeof(err))
START_TEST(me_owner)
{
	static const char good[] = "{\"user\": {\"user_id\": \"u1abc2345678\", "
	    "\"user\": \"u1abc2345678@app.example\", \"state\": \"active\"}}";

	ck_assert_int_eq(ME(good, "u1abc2345678", "u1abc2345678@app.example"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(ME(good, "u1abc2345678", NULL), AIVENAUTH_OK);
	ck_assert_int_eq(ME(good, NULL, "U1ABC2345678@App.Example"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(ME(good, "u0000000000x", NULL), AIVENAUTH_ERR_MISMATCH);
	ck_assert(strstr(err, "another user") != NULL);
	/* The id matches, the e-mail does not: somebody else. */
	ck_assert_int_eq(ME(good, "u1abc2345678", "other@app.example"),
	    AIVENAUTH_ERR_MISMATCH);
	ck_assert_int_eq(ME(good, "", ""), AIVENAUTH_ERR_INVALID);
	/* Names nobody we can compare: vouches for nobody. */
	ck_assert_int_eq(ME("{\"user\": {}}", "u1abc2345678", "a@b.example"),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(ME("{\"user\": {\"user\": \"a@b.example\"}}",
	    "u1abc2345678", NULL), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(ME("{\"user\": {\"user_id\": 5}}", "u1abc2345678",
	    NULL), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(ME("{\"user\": \"u1abc2345678\"}", "u1abc2345678",
	    NULL), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(ME("{\"ok\": true}", "u1abc2345678", NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(ME("<html>", "u1abc2345678", NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
}
END_TEST
#undef ME

/* A list with any pagination marker is not the whole list. */
START_TEST(lists_paginated)
{
	static const char *const cut[] = {
		"\"next\": \"/v1/x?offset=1\"", "\"next_page\": 2",
		"\"next_cursor\": \"abc\"", "\"cursor\": \"abc\"",
		"\"page\": 1", "\"offset\": 0", "\"has_more\": true",
		"\"more\": true", "\"links\": {\"next\": \"/v1/x\"}",
		"\"total\": 2", "\"total_count\": 5", "\"count\": 0",
		"\"pagination\": {}", "\"total\": \"1\"",
	};
	static const char *const whole[] = {
		"\"next\": null", "\"next\": \"\"", "\"has_more\": false",
		"\"links\": {}", "\"links\": {\"next\": null}", "\"total\": 1",
		"\"count\": 1", "\"self\": \"/v1/x\"",
	};
	char body[512];
	struct aivenauth_token *t;
	struct aivenauth_user *u;
	size_t n, i;

	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		snprintf(body, sizeof(body), "{\"tokens\": [{\"token_prefix\": "
		    "\"abcdefghijkl\"}], %s}", cut[i]);
		ck_assert_msg(json_tokens_parse(body, strlen(body), "u1", &t, &n,
		    err, sizeof(err)) == AIVENAUTH_ERR_BAD_RESPONSE,
		    "accepted as whole: %s", cut[i]);
		ck_assert_msg(strstr(err, "incomplete") != NULL, "%s", err);
		snprintf(body, sizeof(body), "{\"application_users\": [{\"user_id\":"
		    " \"u1\", \"name\": \"n\"}], %s}", cut[i]);
		ck_assert_int_eq(json_users_parse(body, strlen(body), &u, &n, err,
		    sizeof(err)), AIVENAUTH_ERR_BAD_RESPONSE);
	}
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		snprintf(body, sizeof(body), "{\"tokens\": [{\"token_prefix\": "
		    "\"abcdefghijkl\"}], %s}", whole[i]);
		ck_assert_msg(json_tokens_parse(body, strlen(body), "u1", &t, &n,
		    err, sizeof(err)) == AIVENAUTH_OK, "refused: %s: %s",
		    whole[i], err);
		ck_assert_uint_eq(n, 1);
		aivenauth_tokens_free(t, n);
	}
}
END_TEST

/*
 * Aiven's paginated endpoints answer with next, prev, first, last and
 * total_count (limit with cursor or after): each name, alone, in the form
 * that says a page is missing (refused) and in the form of a whole list
 * (accepted); then the full set, cut and whole.
 */
START_TEST(lists_paginated_aiven_style)
{
	static const struct {
		const char *name, *cut, *whole;
	} by_name[] = {
		{ "next", "\"next\": \"/v1/x?limit=999&cursor=YWJj\"",
		    "\"next\": null" },
		{ "prev", "\"prev\": \"/v1/x?limit=999\"", "\"prev\": null" },
		{ "last", "\"first\": \"/v1/x?limit=999\", \"last\": "
		    "\"/v1/x?limit=999&cursor=Zg\"",
		    "\"first\": \"/v1/x?limit=999\", \"last\": "
		    "\"/v1/x?limit=999\"" },
		{ "total_count", "\"total_count\": 2", "\"total_count\": 1" },
		{ "cursor", "\"cursor\": \"YWJj\"", "\"cursor\": null" },
		{ "after", "\"after\": \"abcdefghijkl\"", "\"after\": \"\"" },
		{ "next", "\"next\": \"YWJj\", \"prev\": null, \"first\": \"a\", "
		    "\"last\": \"b\", \"total_count\": 9",
		    "\"next\": null, \"prev\": null, \"first\": \"a\", "
		    "\"last\": \"a\", \"total_count\": 1" },
	};
	static const char *const alone[] = {
		/* One link of the pair says nothing about this page. */
		"\"first\": \"/v1/x?limit=999\"", "\"last\": \"/v1/x?cursor=Zg\"",
		"\"first\": \"a\", \"last\": null",
	};
	char body[512], want[64];
	struct aivenauth_token *t;
	struct aivenauth_user *u;
	size_t n, i;

	for (i = 0; i < sizeof(by_name) / sizeof(by_name[0]); i++) {
		snprintf(body, sizeof(body), "{\"tokens\": [{\"token_prefix\": "
		    "\"abcdefghijkl\"}], %s}", by_name[i].cut);
		ck_assert_msg(json_tokens_parse(body, strlen(body), "u1", &t, &n,
		    err, sizeof(err)) == AIVENAUTH_ERR_BAD_RESPONSE,
		    "accepted as whole: %s", by_name[i].cut);
		snprintf(want, sizeof(want), "\"%s\" in the body",
		    by_name[i].name);
		ck_assert_msg(strstr(err, want) != NULL, "%s: %s", want, err);
		ck_assert_ptr_null(t);
		snprintf(body, sizeof(body), "{\"application_users\": [{\"user_id\":"
		    " \"u1\", \"name\": \"n\"}], %s}", by_name[i].cut);
		ck_assert_int_eq(json_users_parse(body, strlen(body), &u, &n, err,
		    sizeof(err)), AIVENAUTH_ERR_BAD_RESPONSE);
		ck_assert_ptr_null(u);

		snprintf(body, sizeof(body), "{\"tokens\": [{\"token_prefix\": "
		    "\"abcdefghijkl\"}], %s}", by_name[i].whole);
		ck_assert_msg(json_tokens_parse(body, strlen(body), "u1", &t, &n,
		    err, sizeof(err)) == AIVENAUTH_OK, "refused: %s: %s",
		    by_name[i].whole, err);
		ck_assert_uint_eq(n, 1);
		aivenauth_tokens_free(t, n);
	}
	for (i = 0; i < sizeof(alone) / sizeof(alone[0]); i++) {
		snprintf(body, sizeof(body), "{\"application_users\": [{\"user_id\":"
		    " \"u1\", \"name\": \"n\"}], %s}", alone[i]);
		ck_assert_msg(json_users_parse(body, strlen(body), &u, &n, err,
		    sizeof(err)) == AIVENAUTH_OK, "refused: %s: %s", alone[i], err);
		ck_assert_uint_eq(n, 1);
		aivenauth_users_free(u, n);
	}
}
END_TEST

START_TEST(error_codes)
{
	static const char std[] = "{\"message\": \"m\", \"errors\": [{\"status\":"
	    " 403, \"message\": \"m\", \"error_code\": \"permission_denied\"}, "
	    "{\"error_code\": \"client_ip_address_policy_violation\"}]}";

	ck_assert(json_error_has_code(std, strlen(std), "permission_denied"));
	ck_assert(json_error_has_code(std, strlen(std),
	    "client_ip_address_policy_violation"));
	ck_assert(!json_error_has_code(std, strlen(std), "authentication_failed"));
	ck_assert(json_error_has_code("{\"error_code\": \"x\"}", 19, "x"));
	ck_assert(!json_error_has_code("<html>x</html>", 14, "x"));
	ck_assert(!json_error_has_code("", 0, "x"));
	ck_assert(!json_error_has_code("{\"errors\": [1, null]}", 21, "x"));
}
END_TEST

/*
 * The API's error shape: {"message", "errors": [{"message", "status",
 * "error_code"?, "more_info"?, "metadata"?}]}; codes are added over time,
 * so an unknown one (and unknown keys) must not get in the way.
 */
START_TEST(error_shapes_of_the_api)
{
	static const char perm[] = "{\"message\": \"You don't have permission "
	    "to perform this action: ApplicationUsersList\", \"errors\": "
	    "[{\"message\": \"You don't have permission to perform this "
	    "action: ApplicationUsersList\", \"status\": 403, \"error_code\": "
	    "\"permission_denied\"}]}";
	static const char app[] = "{\"message\": \"m\", \"errors\": [{\"message\": "
	    "\"m\", \"status\": 403, \"error_code\": "
	    "\"action_forbidden_for_application_users\"}]}";
	static const char future[] = "{\"message\": \"Something new\", "
	    "\"errors\": [{\"message\": \"Something new\", \"status\": 409, "
	    "\"error_code\": \"a_code_from_next_year\", \"more_info\": "
	    "\"https://docs.example/errors\", \"metadata\": {\"field\": "
	    "[\"x\"], \"n\": 1}}], \"extra\": {}}";
	static const char invalid[] = "{\"errors\": [{\"message\": "
	    "\"Invalid token\", \"status\": 401, \"metadata\": null}]}";
	char m[JSON_MSG_MAX + 1];

	json_error_message(perm, strlen(perm), m, sizeof(m));
	ck_assert_str_eq(m, "You don't have permission to perform this action: "
	    "ApplicationUsersList");
	ck_assert(json_error_has_code(perm, strlen(perm), "permission_denied"));
	ck_assert(json_error_has_code(app, strlen(app),
	    "action_forbidden_for_application_users"));
	ck_assert(!json_error_has_code(app, strlen(app),
	    "client_ip_address_policy_violation"));
	json_error_message(future, strlen(future), m, sizeof(m));
	ck_assert_str_eq(m, "Something new");
	ck_assert(json_error_has_code(future, strlen(future),
	    "a_code_from_next_year"));
	json_error_message(invalid, strlen(invalid), m, sizeof(m));
	ck_assert_str_eq(m, "Invalid token");
}
END_TEST

START_TEST(ops_table)
{
	const struct aivenauth_net_ops *o = &aivenauth_net_ops_v1;

	ck_assert_uint_eq(o->abi, AIVENAUTH_NET_ABI);
	ck_assert_str_eq(o->version, AIVENAUTH_VERSION_STRING);
	ck_assert(o->fetch_snapshot && o->users_list && o->user_create &&
	    o->user_delete && o->tokens_list && o->token_create &&
	    o->token_delete && o->me);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, users_real_shape);
	tcase_add_test(tc, users_nulls);
	tcase_add_test(tc, users_unknown_fields);
	tcase_add_test(tc, users_empty_list);
	tcase_add_test(tc, users_bad_shapes);
	tcase_add_test(tc, users_malformed);
	tcase_add_test(tc, users_empty_body);
	tcase_add_test(tc, user_created);
	tcase_add_test(tc, users_string_caps);
	tcase_add_test(tc, users_huge_list);
	tcase_add_test(tc, tokens_every_field);
	tcase_add_test(tc, tokens_nulls_everywhere);
	tcase_add_test(tc, tokens_minimal_and_no_owner);
	tcase_add_test(tc, tokens_unknown_fields);
	tcase_add_test(tc, tokens_float_max_age);
	tcase_add_test(tc, tokens_list_forms);
	tcase_add_test(tc, tokens_empty_list);
	tcase_add_test(tc, tokens_wrong_shapes);
	tcase_add_test(tc, tokens_bad_timestamps);
	tcase_add_test(tc, tokens_bad_numbers);
	tcase_add_test(tc, tokens_bad_types);
	tcase_add_test(tc, tokens_prefix_cap);
	tcase_add_test(tc, tokens_long_user_agent);
	tcase_add_test(tc, tokens_huge_list);
	tcase_add_test(tc, created_ok);
	tcase_add_test(tc, created_extra_fields);
	tcase_add_test(tc, created_bad);
	tcase_add_test(tc, error_standard);
	tcase_add_test(tc, error_errors_only);
	tcase_add_test(tc, error_nonstring_message);
	tcase_add_test(tc, error_html);
	tcase_add_test(tc, error_text_and_empty);
	tcase_add_test(tc, error_control_chars);
	tcase_add_test(tc, error_truncated_utf8);
	tcase_add_test(tc, spec_full_body);
	tcase_add_test(tc, spec_minimal_body);
	tcase_add_test(tc, spec_extend_needs_max_age);
	tcase_add_test(tc, spec_max_age_range);
	tcase_add_test(tc, spec_description_length);
	tcase_add_test(tc, spec_list_limits);
	tcase_add_test(tc, user_create_body);
	tcase_add_test(tc, path_encoding);
	tcase_add_test(tc, timestamp_forms);
	tcase_add_test(tc, ops_table);
	tcase_add_test(tc, me_owner);
	tcase_add_test(tc, lists_paginated);
	tcase_add_test(tc, lists_paginated_aiven_style);
	tcase_add_test(tc, error_codes);
	tcase_add_test(tc, error_shapes_of_the_api);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
