/*
 * http.h - requests to the Aiven API over libcurl.
 *
 * One engine serves both a single call and the sync fan-out: a client owns
 * a multi handle (its connection cache is what makes 10,000 requests cheap)
 * and a bounded pool of easy handles; http_run() drives a batch of requests
 * with at most max_parallel in flight, each retried by its own policy, with
 * waiting retries never blocking the other transfers.
 */
#ifndef AIVENAUTH_NET_HTTP_H
#define AIVENAUTH_NET_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/internal.h"
#include "base/net.h"

struct http_req;

/* Called when a request has succeeded (2xx, or a DELETE counted done);
 * anything but AIVENAUTH_OK aborts the batch with that status. */
typedef enum aivenauth_status http_done_fn(struct http_req *r, void *arg);
/* Called with each piece of a 2xx body as it arrives (instead of keeping
 * it in resp); false stops the transfer, which then counts as done. */
typedef bool http_stream_fn(struct http_req *r, const char *data, size_t n,
    void *arg);

struct http_req {
	/* Set by the caller (http_req_init() gives the defaults). */
	const char *method;         /* "GET", "POST" or "DELETE" */
	char *path;                 /* percent-encoded, "/v1/..."; owned */
	const char *query;          /* "?k=v" appended to the URL (not to
	                               logs), static; NULL = none */
	const struct buf *body;     /* request body (POST), or NULL */
	unsigned max_retries;       /* further attempts after the first */
	bool retry_status;          /* retry 429, 502, 503, 504 */
	bool retry_lost;            /* retry failures after the request may
	                               have been sent (reset, no answer) */
	bool retry_conn_timeout;    /* retry a timeout while connecting */
	bool delete_404_ok;         /* 404 after a lost answer = done */
	bool secret_resp;           /* the response holds a secret */
	http_done_fn *done;
	void *done_arg;
	http_stream_fn *stream;     /* a streamed answer (etcd watch), or NULL;
	                               reaching timeout_ms after a 2xx is then
	                               the normal end, not an error */
	void *stream_arg;
	long timeout_ms;            /* 0 = p->timeout_ms */
	long quiet_http;            /* this HTTP status is the caller's to
	                               handle: logged at debug level only */

	/* Results. */
	enum aivenauth_status st;
	long http;                  /* last HTTP status, 0 if none */
	bool json_ctype;            /* Content-Type absent or *json* */
	struct buf resp;            /* body of the last attempt */
	unsigned attempts;

	/* Engine state. */
	bool lost_answer;           /* an attempt may have reached the API */
	bool too_large;
	bool nomem;
	bool stream_stopped;        /* the stream callback said stop */
	void *easy;                 /* CURL * while in flight */
	int64_t due_ms;             /* monotonic time a retry may start */
};

struct http_slot;

struct http_client {
	const struct net_params *p;
	void *multi;                /* CURLM * */
	struct curl_slist *hdrs;       /* Authorization, Accept */
	struct curl_slist *hdrs_json;  /* the same plus Content-Type */
	struct buf base;            /* api_url, no trailing '/' */
	const char *protocols;      /* "https", or "http" for loopback */
	struct http_slot *slots;
	unsigned n_slots;
	uint64_t rng;               /* backoff jitter, not a secret */
};

/* Prepare a client for p (checks the URL scheme, builds the headers). */
enum aivenauth_status http_client_init(struct http_client *c,
    const struct net_params *p);
/*
 * The same for a service other than the Aiven API (etcd): base is its URL
 * (the same https-or-loopback rule), what names it in messages, and auth
 * is the whole value of the Authorization header (NULL: none).
 */
enum aivenauth_status http_client_init_raw(struct http_client *c,
    const struct net_params *p, const char *base, const char *what,
    const char *auth, size_t auth_len);
void http_client_free(struct http_client *c);

/* A GET with the default retry policy; path is taken over (freed by
 * http_req_free even on failure). */
void http_req_init(struct http_req *r, const struct net_params *p,
    const char *method, char *path);
void http_req_free(struct http_req *r);

/*
 * Run reqs[0..n) with at most c->n_slots in flight.  Returns AIVENAUTH_OK
 * when every request succeeded (each done callback returned OK), else the
 * first failure's status, having logged it with method, path and HTTP
 * status; the other transfers are then stopped.  Each r->st is set.
 */
enum aivenauth_status http_run(struct http_client *c, struct http_req **reqs,
    size_t n);

/* Append "/" and seg percent-encoded (RFC 3986 unreserved kept). */
enum aivenauth_status http_path_add(struct buf *b, const char *seg);

/* Log through p->log if level is enabled; never pass a secret. */
void net_log(const struct net_params *p, int level, const char *fmt, ...)
    PRINTF(3, 4);

#endif /* AIVENAUTH_NET_HTTP_H */
