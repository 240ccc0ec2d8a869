/*
 * api.c - the operations table the core dlopens (aivenauth_net_ops_v1):
 * one function per API call, on top of http.c (transport, retries) and
 * json.c (bodies).
 *
 * Retry policy, per call:
 *  - GET and DELETE: up to p->max_retries more attempts on connection
 *    errors, 429, 502, 503 and 504 (see http.c for the backoff);
 *  - POST (user and token create): never retried, a retry could create a
 *    second user or mint a second token;
 *  - GET /v1/me: at most one more attempt, and only on a connection error,
 *    because it runs while somebody waits at a login prompt.
 *
 * Lists are complete or fail: every list call asks for limit=999, as
 * Aiven's own Go client does "to get around pagination", and a list that
 * comes back with exactly that many entries, or with any pagination
 * marker (json.c), fails the call.  A sync must never apply a page.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "net/etcd_client.h"
#include "net/http.h"
#include "net/json.h"
#include "base/net.h"

#define PATH_MAX_BYTES 4096
#define REQ_BODY_MAX (256UL << 10)
#define LIST_LIMIT 999
#define STR_(x) #x
#define STR(x) STR_(x)
#define LIST_QUERY "?limit=" STR(LIST_LIMIT)

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Build "/v1/organization/ORG/application-users[/USER[/access-tokens
 * [/PREFIX]]]" with every segment percent-encoded.  Ownership of the
 * string passes to *out.
 */
static enum aivenauth_status
org_path(const struct net_params *p, const char *user, bool tokens,
    const char *prefix, char **out)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct buf b;

	*out = NULL;
	buf_init(&b, PATH_MAX_BYTES, false);
	if (p->org_id == NULL || p->org_id[0] == '\0') {
		net_log(p, LOG_ERR, "organization_id is not set");
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	if ((st = buf_add(&b, "/v1/organization", 16)) != AIVENAUTH_OK ||
	    (st = http_path_add(&b, p->org_id)) != AIVENAUTH_OK ||
	    (st = buf_add(&b, "/application-users", 18)) != AIVENAUTH_OK)
		goto out;
	if (user != NULL && (st = http_path_add(&b, user)) != AIVENAUTH_OK)
		goto out;
	if (tokens && (st = buf_add(&b, "/access-tokens", 14)) != AIVENAUTH_OK)
		goto out;
	if (prefix != NULL && (st = http_path_add(&b, prefix)) != AIVENAUTH_OK)
		goto out;
	if (buf_cstr(&b) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	*out = b.data;
	b.data = NULL;
	st = AIVENAUTH_OK;
out:
	if (st == AIVENAUTH_ERR_INVALID && p->org_id != NULL)
		net_log(p, LOG_ERR, "empty user id or token prefix");
	buf_free(&b);
	return st;
}

/* Run one request on its own client. */
static enum aivenauth_status
run_one(const struct net_params *p, struct http_req *r)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_client c;

	if (p->last_http != NULL)
		*p->last_http = 0;
	if ((st = http_client_init(&c, p)) != AIVENAUTH_OK)
		return st;
	st = http_run(&c, &r, 1);
	http_client_free(&c);
	return st;
}

/* A 2xx whose body we are about to parse must say it is JSON. */
static enum aivenauth_status
want_json(const struct net_params *p, const struct http_req *r)
{
	if (r->json_ctype)
		return AIVENAUTH_OK;
	net_log(p, LOG_ERR, "%s %s: HTTP %ld with a non-JSON Content-Type",
	    r->method, r->path, r->http);
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

static void
bad_body(const struct net_params *p, const struct http_req *r,
    enum aivenauth_status st, const char *err)
{
	if (st == AIVENAUTH_ERR_NOMEM)
		net_log(p, LOG_ERR, "%s %s: out of memory", r->method, r->path);
	else
		net_log(p, LOG_ERR, "%s %s: HTTP %ld: %s: %s",
		    r->method, r->path, r->http, st == AIVENAUTH_ERR_MISMATCH ?
		    "no vouching answer" : "bad response", err);
}

/*
 * A list exactly as long as the limit we asked for may have been cut
 * there.  A longer one comes from a server that ignores the parameter (the
 * documented API: no pagination), so it was not cut at our limit; a page
 * of its own would carry a marker (json.c).
 */
static enum aivenauth_status
list_whole(const struct net_params *p, const struct http_req *r, size_t n)
{
	if (n != LIST_LIMIT)
		return AIVENAUTH_OK;
	net_log(p, LOG_ERR, "%s %s: HTTP %ld: the list has %zu entries, as "
	    "many as limit=%d asks for: it may be incomplete; refusing a "
	    "partial listing", r->method, r->path, r->http, n, LIST_LIMIT);
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

/* GET a list (path taken over): run, and its body said to be JSON; the
 * caller parses r's body and frees r. */
static enum aivenauth_status
list_get(const struct net_params *p, char *path, struct http_req *r)
{
	enum aivenauth_status st;

	http_req_init(r, p, "GET", path);
	r->query = LIST_QUERY;
	if ((st = run_one(p, r)) != AIVENAUTH_OK)
		return st;
	return want_json(p, r);
}

static enum aivenauth_status
users_list(const struct net_params *p, struct aivenauth_user **users,
    size_t *n)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_req r;
	char err[JSON_ERR_SIZE] = "", *path;

	*users = NULL;
	*n = 0;
	if ((st = org_path(p, NULL, false, NULL, &path)) != AIVENAUTH_OK)
		return st;
	if ((st = list_get(p, path, &r)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_users_parse(r.resp.data, r.resp.len, users, n, err,
	    sizeof(err))) != AIVENAUTH_OK)
		bad_body(p, &r, st, err);
	else if ((st = list_whole(p, &r, *n)) != AIVENAUTH_OK) {
		aivenauth_users_free(*users, *n);
		*users = NULL;
		*n = 0;
	}
out:
	http_req_free(&r);
	return st;
}

static enum aivenauth_status
user_create(const struct net_params *p, const char *name,
    struct aivenauth_user *out)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_req r;
	struct buf body;
	char err[JSON_ERR_SIZE] = "", *path = NULL;

	memset(out, 0, sizeof(*out));
	buf_init(&body, REQ_BODY_MAX, false);
	http_req_init(&r, p, "POST", NULL);
	if ((st = json_user_create_build(name, &body, err, sizeof(err))) !=
	    AIVENAUTH_OK) {
		net_log(p, LOG_ERR, "user create: %s", err);
		goto out;
	}
	if ((st = org_path(p, NULL, false, NULL, &path)) != AIVENAUTH_OK)
		goto out;
	r.path = path;
	r.body = &body;
	r.max_retries = 0;
	if ((st = run_one(p, &r)) != AIVENAUTH_OK)
		goto out;
	if ((st = want_json(p, &r)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_user_parse(r.resp.data, r.resp.len, out, err,
	    sizeof(err))) != AIVENAUTH_OK)
		bad_body(p, &r, st, err);
out:
	http_req_free(&r);
	buf_free(&body);
	return st;
}

static enum aivenauth_status
do_delete(const struct net_params *p, char *path)
{
	enum aivenauth_status st;
	struct http_req r;

	http_req_init(&r, p, "DELETE", path);
	r.delete_404_ok = true;
	st = run_one(p, &r);
	http_req_free(&r);
	return st;
}

static enum aivenauth_status
user_delete(const struct net_params *p, const char *user_id)
{
	enum aivenauth_status st;
	char *path;

	if ((st = org_path(p, user_id != NULL ? user_id : "", false, NULL,
	    &path)) != AIVENAUTH_OK)
		return st;
	return do_delete(p, path);
}

static enum aivenauth_status
tokens_list(const struct net_params *p, const char *user_id,
    struct aivenauth_token **tokens, size_t *n)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_req r;
	char err[JSON_ERR_SIZE] = "", *path;

	*tokens = NULL;
	*n = 0;
	if ((st = org_path(p, user_id != NULL ? user_id : "", true, NULL,
	    &path)) != AIVENAUTH_OK)
		return st;
	if ((st = list_get(p, path, &r)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_tokens_parse(r.resp.data, r.resp.len, user_id, tokens,
	    n, err, sizeof(err))) != AIVENAUTH_OK)
		bad_body(p, &r, st, err);
	else if ((st = list_whole(p, &r, *n)) != AIVENAUTH_OK) {
		aivenauth_tokens_free(*tokens, *n);
		*tokens = NULL;
		*n = 0;
	}
out:
	http_req_free(&r);
	return st;
}

static enum aivenauth_status
token_create(const struct net_params *p, const char *user_id,
    const struct aivenauth_token_spec *spec, char **full_token,
    size_t *full_len, char **prefix)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_req r;
	struct buf body;
	char err[JSON_ERR_SIZE] = "", *path = NULL;

	*full_token = NULL;
	*full_len = 0;
	*prefix = NULL;
	buf_init(&body, REQ_BODY_MAX, false);
	http_req_init(&r, p, "POST", NULL);
	if ((st = json_spec_build(spec, &body, err, sizeof(err))) !=
	    AIVENAUTH_OK) {
		net_log(p, LOG_ERR, "token create: %s", err);
		goto out;
	}
	if ((st = org_path(p, user_id != NULL ? user_id : "", true, NULL,
	    &path)) != AIVENAUTH_OK)
		goto out;
	r.path = path;
	r.body = &body;
	r.max_retries = 0;
	r.secret_resp = true;
	if ((st = run_one(p, &r)) != AIVENAUTH_OK)
		goto out;
	if ((st = want_json(p, &r)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_created_parse(r.resp.data, r.resp.len, full_token,
	    full_len, prefix, err, sizeof(err))) != AIVENAUTH_OK)
		bad_body(p, &r, st, err);
out:
	http_req_free(&r);   /* r.resp is a secret buf: wiped */
	buf_free(&body);
	return st;
}

static enum aivenauth_status
token_delete(const struct net_params *p, const char *user_id,
    const char *prefix)
{
	enum aivenauth_status st;
	char *path;

	if ((st = org_path(p, user_id != NULL ? user_id : "", true,
	    prefix != NULL ? prefix : "", &path)) != AIVENAUTH_OK)
		return st;
	return do_delete(p, path);
}

/*
 * Only a positive answer vouches for a token (and makes this host store
 * its hash): HTTP 200 with the API's JSON "user" object, about the
 * application user who owns the prefix in the synced metadata.  401, any
 * 403 (the spec's own example of a failed authentication is a 403
 * "authentication_failed", and a proxy or WAF answers 403 as well), a 200
 * about somebody else, and a body that is not the API's vouch for nothing.
 */
static enum aivenauth_status
me(const struct net_params *p, const char *user_id, const char *user_email)
{
	enum aivenauth_status st;
	struct http_req r;
	char err[JSON_ERR_SIZE] = "";
	char *path;

	if ((user_id == NULL || *user_id == '\0') &&
	    (user_email == NULL || *user_email == '\0')) {
		net_log(p, LOG_ERR, "GET /v1/me: no owner to compare the answer "
		    "with");
		return AIVENAUTH_ERR_INVALID;
	}
	if ((path = strdup("/v1/me")) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	http_req_init(&r, p, "GET", path);
	r.max_retries = p->max_retries > 0 ? 1 : 0;
	r.retry_status = false;
	r.retry_conn_timeout = false;
	st = run_one(p, &r);
	if (st == AIVENAUTH_OK && (st = want_json(p, &r)) == AIVENAUTH_OK &&
	    (st = json_me_check(r.resp.data, r.resp.len, user_id, user_email,
	    err, sizeof(err))) != AIVENAUTH_OK)
		bad_body(p, &r, st, err);
	http_req_free(&r);
	return st;
}

/* ------------------------------------------------------------ snapshot */

struct fetch {
	const struct net_params *p;
	struct http_req *reqs;
	struct aivenauth_user *users;
	struct aivenauth_token **tokens;    /* per user */
	size_t *n_tokens;
};

/* Parse one user's tokens as soon as they arrive, and drop the body. */
static enum aivenauth_status
tokens_done(struct http_req *r, void *arg)
{
	enum aivenauth_status st;
	struct fetch *f = arg;
	size_t i = (size_t)(r - f->reqs);
	char err[JSON_ERR_SIZE] = "";

	if ((st = want_json(f->p, r)) != AIVENAUTH_OK)
		return st;
	st = json_tokens_parse(r->resp.data, r->resp.len, f->users[i].user_id,
	    &f->tokens[i], &f->n_tokens[i], err, sizeof(err));
	if (st != AIVENAUTH_OK)
		bad_body(f->p, r, st, err);
	else
		st = list_whole(f->p, r, f->n_tokens[i]);
	buf_free(&r->resp);
	return st;
}

static enum aivenauth_status
fetch_snapshot(const struct net_params *p, struct aivenauth_snapshot *out)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_client c;
	struct http_req ur, **ptrs = NULL;
	struct fetch f;
	struct aivenauth_token *all = NULL;
	size_t nu = 0, i, j, total = 0, k = 0;
	char err[JSON_ERR_SIZE] = "", *path;
	int64_t t0 = now_ms();
	bool have_client = false;

	memset(&f, 0, sizeof(f));
	f.p = p;
	out->users = NULL;
	out->n_users = 0;
	out->tokens = NULL;
	out->n_tokens = 0;
	if (p->last_http != NULL)
		*p->last_http = 0;
	if ((st = org_path(p, NULL, false, NULL, &path)) != AIVENAUTH_OK)
		return st;
	http_req_init(&ur, p, "GET", path);
	ur.query = LIST_QUERY;
	if ((st = http_client_init(&c, p)) != AIVENAUTH_OK)
		goto out;
	have_client = true;
	{
		struct http_req *one = &ur;

		if ((st = http_run(&c, &one, 1)) != AIVENAUTH_OK)
			goto out;
	}
	if ((st = want_json(p, &ur)) != AIVENAUTH_OK)
		goto out;
	if ((st = json_users_parse(ur.resp.data, ur.resp.len, &f.users, &nu,
	    err, sizeof(err))) != AIVENAUTH_OK) {
		bad_body(p, &ur, st, err);
		goto out;
	}
	if ((st = list_whole(p, &ur, nu)) != AIVENAUTH_OK)
		goto out;
	buf_free(&ur.resp);
	if (nu > 0) {
		f.reqs = calloc(nu, sizeof(*f.reqs));
		ptrs = calloc(nu, sizeof(*ptrs));
		f.tokens = calloc(nu, sizeof(*f.tokens));
		f.n_tokens = calloc(nu, sizeof(*f.n_tokens));
		if (f.reqs == NULL || ptrs == NULL || f.tokens == NULL ||
		    f.n_tokens == NULL) {
			st = AIVENAUTH_ERR_NOMEM;
			goto out;
		}
	}
	for (i = 0; i < nu; i++) {
		if ((st = org_path(p, f.users[i].user_id, true, NULL, &path)) !=
		    AIVENAUTH_OK)
			goto out;
		http_req_init(&f.reqs[i], p, "GET", path);
		f.reqs[i].query = LIST_QUERY;
		f.reqs[i].done = tokens_done;
		f.reqs[i].done_arg = &f;
		ptrs[i] = &f.reqs[i];
	}
	if ((st = http_run(&c, ptrs, nu)) != AIVENAUTH_OK) {
		net_log(p, LOG_ERR, "sync: fetch failed, nothing returned");
		goto out;
	}
	for (i = 0; i < nu; i++)
		total += f.n_tokens[i];
	if (total > 0 && (all = calloc(total, sizeof(*all))) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	/* Move (not copy) each user's tokens into one array. */
	for (i = 0; i < nu; i++) {
		for (j = 0; j < f.n_tokens[i]; j++)
			all[k++] = f.tokens[i][j];
		free(f.tokens[i]);
		f.tokens[i] = NULL;
		f.n_tokens[i] = 0;
	}
	out->users = f.users;
	out->n_users = nu;
	out->tokens = all;
	out->n_tokens = total;
	f.users = NULL;
	net_log(p, LOG_INFO, "fetched %zu users and %zu tokens in %lld ms",
	    nu, total, (long long)(now_ms() - t0));
	st = AIVENAUTH_OK;
out:
	if (f.reqs != NULL) {
		for (i = 0; i < nu; i++)
			http_req_free(&f.reqs[i]);
	}
	if (f.tokens != NULL && f.n_tokens != NULL) {
		for (i = 0; i < nu; i++)
			aivenauth_tokens_free(f.tokens[i], f.n_tokens[i]);
	}
	free(f.reqs);
	free(ptrs);
	free(f.tokens);
	free(f.n_tokens);
	aivenauth_users_free(f.users, nu);
	http_req_free(&ur);
	if (have_client)
		http_client_free(&c);
	return st;
}

__attribute__((visibility("default")))
const struct aivenauth_net_ops aivenauth_net_ops_v1 = {
	.abi = AIVENAUTH_NET_ABI,
	.version = AIVENAUTH_VERSION_STRING,
	.fetch_snapshot = fetch_snapshot,
	.users_list = users_list,
	.user_create = user_create,
	.user_delete = user_delete,
	.tokens_list = tokens_list,
	.token_create = token_create,
	.token_delete = token_delete,
	.me = me,
	.etcd = &etcd_ops,
};
