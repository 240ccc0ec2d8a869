/*
 * etcd.c - an etcd v3 client over the JSON gateway (POST /v3/...), on the
 * network module's HTTP engine (http.c) and etcd_json.c for the bodies.
 *
 * Policy:
 *  - Endpoints are tried in order; a connection failure moves to the next
 *    one, for every request.  A write whose answer was lost is not sent
 *    again (a txn could run twice): the caller re-reads and decides.
 *  - With a user, the client authenticates once and sends the token in
 *    the Authorization header (no scheme word: etcd's convention).  etcd
 *    forgets simple tokens after --auth-token-ttl idle; on "invalid auth
 *    token" (HTTP 401) the client authenticates again, once per request.
 *  - Every answer is capped (max_body); a range is read in pages of
 *    page_size keys, all at the first page's revision, so a prefix of any
 *    size is one consistent snapshot without one huge answer.
 *  - A watch is a streamed answer, one JSON object per line, for at most
 *    max_ms; the caller loops.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "net/etcd_client.h"
#include "net/etcd_json.h"
#include "net/http.h"

#define DEFAULT_MAX_BODY (16UL << 20)
#define DEFAULT_PAGE 500
#define PAGE_MAX 10000
#define ENDPOINTS_MAX 16
#define KEY_MAX (1UL << 20)
#define USER_MAX 128
#define PASSWORD_MAX 4096
/* A request body (etcd refuses more than --max-request-bytes, 1.5 MiB
 * by default, itself). */
#define REQ_MAX (8UL << 20)

struct etcd_client {
	struct net_params np;       /* timeouts, CA, log, caps for http.c */
	char *endpoints[ENDPOINTS_MAX];
	size_t n_endpoints, cur;
	char *user;
	char *password;             /* wiped at close */
	size_t password_len;
	char *token;                /* etcd auth token, wiped */
	size_t token_len;
	struct http_client http;
	bool http_ready;
	int last_http;
};

enum {
	F_IDEMPOTENT = 1,           /* may be sent again after a lost answer */
	F_SECRET = 2,               /* the answer holds a secret */
	F_NOAUTH = 4,               /* authenticate itself */
};

static void
http_reset(struct etcd_client *c)
{
	if (c->http_ready)
		http_client_free(&c->http);
	c->http_ready = false;
}

static enum aivenauth_status
http_ready(struct etcd_client *c, bool with_token)
{
	enum aivenauth_status st;

	if (c->http_ready)
		return AIVENAUTH_OK;
	st = http_client_init_raw(&c->http, &c->np, c->endpoints[c->cur],
	    "etcd_endpoints", with_token ? c->token : NULL,
	    with_token ? c->token_len : 0);
	c->http_ready = st == AIVENAUTH_OK;
	return st;
}

static void
token_drop(struct etcd_client *c)
{
	if (c->token != NULL) {
		sodium_memzero(c->token, c->token_len);
		free(c->token);
	}
	c->token = NULL;
	c->token_len = 0;
}

static enum aivenauth_status authenticate(struct etcd_client *c);

/*
 * POST body to path on the current endpoint, moving to the next one on a
 * connection failure, and authenticating again on a 401.  On success r
 * holds the answer (the caller frees it with http_req_free).
 */
static enum aivenauth_status
post(struct etcd_client *c, const char *path, const struct buf *body,
    unsigned flags, struct http_req *r, http_stream_fn *stream,
    void *stream_arg, long timeout_ms)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_req *rp = r;
	size_t tried = 0;
	bool reauthed = false;
	char *p;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if ((st = http_ready(c, (flags & F_NOAUTH) == 0)) !=
		    AIVENAUTH_OK)
			return st;
		if ((p = strdup(path)) == NULL)
			return AIVENAUTH_ERR_NOMEM;
		http_req_free(r);
		http_req_init(r, &c->np, "POST", p);
		r->body = body;
		r->secret_resp = (flags & F_SECRET) != 0;
		r->retry_lost = (flags & F_IDEMPOTENT) != 0;
		r->max_retries = (flags & F_IDEMPOTENT) != 0 ?
		    c->np.max_retries : 0;
		r->stream = stream;
		r->stream_arg = stream_arg;
		r->timeout_ms = timeout_ms;
		if (c->user != NULL && !reauthed && (flags & F_NOAUTH) == 0)
			r->quiet_http = 401;
		st = http_run(&c->http, &rp, 1);
		if (st == AIVENAUTH_OK)
			return st;
		if (r->http == 401 && c->user != NULL && !reauthed &&
		    (flags & F_NOAUTH) == 0) {
			net_log(&c->np, LOG_INFO, "etcd: auth token refused; "
			    "authenticating again");
			reauthed = true;
			if ((st = authenticate(c)) != AIVENAUTH_OK)
				break;
			continue;
		}
		/* No answer from this endpoint: the next one, if the request
		 * cannot have acted or may act twice. */
		if (r->http == 0 && (st == AIVENAUTH_ERR_NET ||
		    st == AIVENAUTH_ERR_TIMEOUT) && ++tried < c->n_endpoints &&
		    (!r->lost_answer || (flags & F_IDEMPOTENT) != 0)) {
			net_log(&c->np, LOG_WARNING, "etcd %s: no answer; "
			    "trying %s", c->endpoints[c->cur],
			    c->endpoints[(c->cur + 1) % c->n_endpoints]);
			c->cur = (c->cur + 1) % c->n_endpoints;
			http_reset(c);
			continue;
		}
		break;
	}
	return st;
}

static enum aivenauth_status
authenticate(struct etcd_client *c)
{
	enum aivenauth_status st;
	struct http_req r;
	struct buf body;
	char err[ETCD_ERR_SIZE] = "";

	token_drop(c);
	http_reset(c);
	buf_init(&body, PASSWORD_MAX * 6 + USER_MAX * 6 + 64, true);
	if ((st = ej_auth_req(c->user, c->password, c->password_len,
	    &body)) != AIVENAUTH_OK) {
		buf_free(&body);
		return st;
	}
	st = post(c, "/v3/auth/authenticate", &body, F_NOAUTH | F_SECRET |
	    F_IDEMPOTENT, &r, NULL, NULL, 0);
	buf_free(&body);
	http_reset(c);
	if (st == AIVENAUTH_ERR_API_REJECTED) {
		net_log(&c->np, LOG_ERR, "etcd user %s: authentication failed "
		    "(wrong etcd_user or etcd_password_file?)", c->user);
		st = AIVENAUTH_ERR_UNAUTHORIZED;
	}
	if (st == AIVENAUTH_OK && (st = ej_auth_parse(r.resp.data, r.resp.len,
	    &c->token, &c->token_len, err, sizeof(err))) != AIVENAUTH_OK)
		net_log(&c->np, LOG_ERR, "etcd authenticate: %s", err);
	http_req_free(&r);
	return st;
}

static void
client_close(struct etcd_client *c)
{
	size_t i;

	if (c == NULL)
		return;
	http_reset(c);
	token_drop(c);
	if (c->password != NULL) {
		sodium_memzero(c->password, c->password_len);
		free(c->password);
	}
	for (i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->user);
	free(c);
}

static enum aivenauth_status
client_open(const struct etcd_params *p, struct etcd_client **out)
{
	enum aivenauth_status st = AIVENAUTH_ERR_NOMEM;
	struct etcd_client *c;
	const char *s, *e;

	*out = NULL;
	if (p == NULL || p->endpoints == NULL || p->endpoints[0] == '\0') {
		if (p != NULL && p->log != NULL)
			p->log(p->log_arg, LOG_ERR, "etcd_endpoints is not set");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	c->np.ca_file = p->ca_file;
	c->np.timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : 10000;
	c->np.connect_timeout_ms = p->connect_timeout_ms > 0 ?
	    p->connect_timeout_ms : 5000;
	c->np.max_parallel = 1;
	c->np.max_body = p->max_body != 0 ? p->max_body : DEFAULT_MAX_BODY;
	c->np.max_retries = p->max_retries;
	c->np.retry_cap_ms = 2000;
	c->np.log = p->log;
	c->np.log_arg = p->log_arg;
	c->np.log_max_level = p->log_max_level;
	c->np.last_http = &c->last_http;
	for (s = p->endpoints; *s != '\0'; s = *e != '\0' ? e + 1 : e) {
		e = s + strcspn(s, ",");
		if (c->n_endpoints == ENDPOINTS_MAX || e == s) {
			net_log(&c->np, LOG_ERR, "etcd_endpoints: empty or more "
			    "than %d endpoints", ENDPOINTS_MAX);
			st = AIVENAUTH_ERR_CONFIG;
			goto fail;
		}
		if ((c->endpoints[c->n_endpoints] = strndup(s,
		    (size_t)(e - s))) == NULL)
			goto fail;
		c->n_endpoints++;
	}
	if (p->user != NULL) {
		if (strlen(p->user) > USER_MAX || p->password == NULL ||
		    p->password_len == 0 || p->password_len > PASSWORD_MAX) {
			net_log(&c->np, LOG_ERR, "etcd user %s: no password, or "
			    "a password longer than %d bytes", p->user,
			    PASSWORD_MAX);
			st = AIVENAUTH_ERR_CONFIG;
			goto fail;
		}
		if ((c->user = strdup(p->user)) == NULL ||
		    (c->password = malloc(p->password_len)) == NULL)
			goto fail;
		memcpy(c->password, p->password, p->password_len);
		c->password_len = p->password_len;
		if ((st = authenticate(c)) != AIVENAUTH_OK)
			goto fail;
	}
	*out = c;
	return AIVENAUTH_OK;
fail:
	client_close(c);
	return st;
}

static void
bad_answer(struct etcd_client *c, const char *what, const char *err)
{
	net_log(&c->np, LOG_ERR, "etcd %s %s: %s", c->endpoints[c->cur], what,
	    err);
}

static enum aivenauth_status
range(struct etcd_client *c, const char *key, size_t key_len,
    const char *range_end, size_t range_end_len, int64_t rev,
    size_t page_size, etcd_kv_fn *fn, void *arg, int64_t *rev_out)
{
	enum aivenauth_status st;
	struct buf body, from, last;
	struct http_req r;
	char err[ETCD_ERR_SIZE] = "";
	int64_t got = 0;
	size_t n = 0;
	bool more = true;

	if (c == NULL || key == NULL || key_len == 0 || key_len > KEY_MAX ||
	    fn == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (page_size == 0)
		page_size = DEFAULT_PAGE;
	if (page_size > PAGE_MAX)
		page_size = PAGE_MAX;
	buf_init(&body, 4 * KEY_MAX, false);
	buf_init(&from, KEY_MAX + 1, false);
	buf_init(&last, KEY_MAX, false);
	if ((st = buf_add(&from, key, key_len)) != AIVENAUTH_OK)
		goto out;
	while (more) {
		body.len = 0;
		if ((st = ej_range_req(from.data, from.len, range_end,
		    range_end_len, rev, range_end != NULL ? page_size : 0,
		    &body)) != AIVENAUTH_OK)
			goto out;
		st = post(c, "/v3/kv/range", &body, F_IDEMPOTENT, &r, NULL,
		    NULL, 0);
		if (st == AIVENAUTH_OK && (st = ej_range_parse(r.resp.data,
		    r.resp.len, fn, arg, &got, &more, &n, &last, err,
		    sizeof(err))) != AIVENAUTH_OK && err[0] != '\0' &&
		    st == AIVENAUTH_ERR_BAD_RESPONSE)
			bad_answer(c, "range", err);
		http_req_free(&r);
		if (st != AIVENAUTH_OK)
			goto out;
		/* The later pages at the first page's revision. */
		if (rev <= 0)
			rev = got;
		if (more && (n == 0 || range_end == NULL)) {
			bad_answer(c, "range", "\"more\" without keys");
			st = AIVENAUTH_ERR_BAD_RESPONSE;
			goto out;
		}
		/* Next page: just after the last key (key + NUL). */
		from.len = 0;
		if (more && ((st = buf_add(&from, last.data, last.len)) !=
		    AIVENAUTH_OK || (st = buf_addc(&from, '\0')) !=
		    AIVENAUTH_OK))
			goto out;
	}
	if (rev_out != NULL)
		*rev_out = rev;
	st = AIVENAUTH_OK;
out:
	buf_free(&body);
	buf_free(&from);
	buf_free(&last);
	return st;
}

static enum aivenauth_status
simple(struct etcd_client *c, const char *path, const struct buf *body,
    unsigned flags, int64_t *rev_out)
{
	enum aivenauth_status st;
	struct http_req r;
	char err[ETCD_ERR_SIZE] = "";
	int64_t rev = 0;

	st = post(c, path, body, flags, &r, NULL, NULL, 0);
	if (st == AIVENAUTH_OK && (st = ej_header_parse(r.resp.data,
	    r.resp.len, &rev, err, sizeof(err))) != AIVENAUTH_OK)
		bad_answer(c, path, err);
	http_req_free(&r);
	if (st == AIVENAUTH_OK && rev_out != NULL)
		*rev_out = rev;
	return st;
}

static enum aivenauth_status
put(struct etcd_client *c, const char *key, size_t key_len, const void *val,
    size_t val_len, int64_t lease, int64_t *rev_out)
{
	enum aivenauth_status st;
	struct buf body;

	if (c == NULL || key == NULL || key_len == 0 || key_len > KEY_MAX ||
	    (val == NULL && val_len != 0))
		return AIVENAUTH_ERR_INVALID;
	buf_init(&body, REQ_MAX, false);
	if ((st = ej_put_req(key, key_len, val, val_len, lease, &body)) ==
	    AIVENAUTH_OK)
		st = simple(c, "/v3/kv/put", &body, 0, rev_out);
	buf_free(&body);
	return st;
}

static enum aivenauth_status
txn(struct etcd_client *c, const struct etcd_cmp *cmp, size_t n_cmp,
    const struct etcd_op *success, size_t n_success,
    const struct etcd_op *failure, size_t n_failure, bool *succeeded,
    int64_t *rev_out)
{
	enum aivenauth_status st;
	struct http_req r;
	struct buf body;
	char err[ETCD_ERR_SIZE] = "";
	int64_t rev = 0;

	if (c == NULL || succeeded == NULL || n_cmp > ETCD_TXN_MAX_OPS ||
	    n_success > ETCD_TXN_MAX_OPS || n_failure > ETCD_TXN_MAX_OPS)
		return AIVENAUTH_ERR_INVALID;
	*succeeded = false;
	buf_init(&body, REQ_MAX, false);
	if ((st = ej_txn_req(cmp, n_cmp, success, n_success, failure,
	    n_failure, &body)) != AIVENAUTH_OK) {
		buf_free(&body);
		return st;
	}
	st = post(c, "/v3/kv/txn", &body, 0, &r, NULL, NULL, 0);
	buf_free(&body);
	if (st == AIVENAUTH_OK && (st = ej_txn_parse(r.resp.data, r.resp.len,
	    succeeded, &rev, err, sizeof(err))) != AIVENAUTH_OK)
		bad_answer(c, "txn", err);
	http_req_free(&r);
	if (st == AIVENAUTH_OK && rev_out != NULL)
		*rev_out = rev;
	return st;
}

static enum aivenauth_status
lease_call(struct etcd_client *c, const char *path, const char *field,
    int64_t v, unsigned flags, bool in_result, int64_t *id, int64_t *ttl)
{
	enum aivenauth_status st;
	struct http_req r;
	struct buf body;
	char err[ETCD_ERR_SIZE] = "";

	buf_init(&body, 256, false);
	if ((st = ej_lease_req(field, v, &body)) != AIVENAUTH_OK) {
		buf_free(&body);
		return st;
	}
	st = post(c, path, &body, flags, &r, NULL, NULL, 0);
	buf_free(&body);
	if (st == AIVENAUTH_OK && (st = ej_lease_parse(r.resp.data,
	    r.resp.len, in_result, id, ttl, err, sizeof(err))) !=
	    AIVENAUTH_OK)
		bad_answer(c, path, err);
	http_req_free(&r);
	return st;
}

static enum aivenauth_status
lease_grant(struct etcd_client *c, int64_t ttl, int64_t *id,
    int64_t *granted_ttl)
{
	int64_t got_ttl = 0;
	enum aivenauth_status st;

	if (c == NULL || id == NULL || ttl <= 0)
		return AIVENAUTH_ERR_INVALID;
	st = lease_call(c, "/v3/lease/grant", "TTL", ttl, 0, false, id,
	    &got_ttl);
	if (st == AIVENAUTH_OK && granted_ttl != NULL)
		*granted_ttl = got_ttl;
	return st;
}

static enum aivenauth_status
lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl)
{
	enum aivenauth_status st;
	int64_t got_id = 0, got_ttl = 0;

	if (c == NULL || id == 0)
		return AIVENAUTH_ERR_INVALID;
	st = lease_call(c, "/v3/lease/keepalive", "ID", id, F_IDEMPOTENT,
	    true, &got_id, &got_ttl);
	if (st != AIVENAUTH_OK)
		return st;
	if (got_id != id) {
		bad_answer(c, "lease keepalive", "answer for another lease");
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	/* An expired lease is answered with its ID and no TTL. */
	if (got_ttl <= 0) {
		net_log(&c->np, LOG_WARNING, "etcd lease %lld has expired",
		    (long long)id);
		return AIVENAUTH_ERR_API_NOT_FOUND;
	}
	if (ttl != NULL)
		*ttl = got_ttl;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
lease_revoke(struct etcd_client *c, int64_t id)
{
	enum aivenauth_status st;
	struct buf body;

	if (c == NULL || id == 0)
		return AIVENAUTH_ERR_INVALID;
	buf_init(&body, 256, false);
	if ((st = ej_lease_req("ID", id, &body)) == AIVENAUTH_OK)
		st = simple(c, "/v3/lease/revoke", &body, F_IDEMPOTENT, NULL);
	buf_free(&body);
	return st;
}

struct watch_state {
	struct etcd_client *c;
	etcd_watch_fn *fn;
	void *arg;
	struct etcd_watch_end *end;
	struct buf line;
	enum aivenauth_status st;
	char err[ETCD_ERR_SIZE];
};

/* Split the stream into lines, one JSON answer each. */
static bool
watch_data(struct http_req *r, const char *data, size_t n, void *arg)
{
	struct watch_state *w = arg;
	const char *nl;
	size_t k;
	bool stop = false;

	(void)r;
	while (n > 0) {
		nl = memchr(data, '\n', n);
		k = nl != NULL ? (size_t)(nl - data) : n;
		if ((w->st = buf_add(&w->line, data, k)) != AIVENAUTH_OK) {
			snprintf(w->err, sizeof(w->err), "one watch answer "
			    "is larger than %zu bytes", w->line.max);
			return false;
		}
		if (nl == NULL)
			return true;
		data += k + 1;
		n -= k + 1;
		if (w->line.len > 0) {
			w->st = ej_watch_line(w->line.data, w->line.len, w->fn,
			    w->arg, w->end, &stop, w->err, sizeof(w->err));
			/* buf_add frees on overflow: re-arm with the cap. */
			w->line.len = 0;
			if (w->st != AIVENAUTH_OK || stop)
				return false;
		}
	}
	return true;
}

static enum aivenauth_status
watch(struct etcd_client *c, const char *key, size_t key_len,
    const char *range_end, size_t range_end_len, int64_t start_rev,
    long max_ms, etcd_watch_fn *fn, void *arg, struct etcd_watch_end *end)
{
	struct watch_state w;
	enum aivenauth_status st;
	struct http_req r;
	struct buf body;

	if (c == NULL || key == NULL || key_len == 0 || key_len > KEY_MAX ||
	    fn == NULL || end == NULL || max_ms <= 0)
		return AIVENAUTH_ERR_INVALID;
	memset(end, 0, sizeof(*end));
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.fn = fn;
	w.arg = arg;
	w.end = end;
	w.st = AIVENAUTH_OK;
	buf_init(&w.line, c->np.max_body, false);
	buf_init(&body, 4 * KEY_MAX, false);
	if ((st = ej_watch_req(key, key_len, range_end, range_end_len,
	    start_rev, &body)) == AIVENAUTH_OK)
		/* Not resent after it started: the events already handed to
		 * fn would come again.  The caller watches again from
		 * end->revision + 1. */
		st = post(c, "/v3/watch", &body, 0, &r, watch_data, &w, max_ms);
	else
		memset(&r, 0, sizeof(r));
	if (st == AIVENAUTH_OK && w.st != AIVENAUTH_OK) {
		bad_answer(c, "watch", w.err);
		st = w.st;
	}
	http_req_free(&r);
	buf_free(&body);
	buf_free(&w.line);
	return st;
}

const struct aivenauth_etcd_ops etcd_ops = {
	.open = client_open,
	.close = client_close,
	.range = range,
	.put = put,
	.txn = txn,
	.lease_grant = lease_grant,
	.lease_keepalive = lease_keepalive,
	.lease_revoke = lease_revoke,
	.watch = watch,
};
