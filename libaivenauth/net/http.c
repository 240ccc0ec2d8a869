/*
 * http.c - the libcurl side of the network module: one engine (a multi
 * handle, a bounded pool of easy handles, a retry queue) for single calls
 * and for the sync fan-out alike.
 *
 * Why one engine: a sync lists every user's tokens, and an organization
 * can have 10,000 users.  Reusing connections (the multi handle's cache)
 * and keeping max_parallel transfers in flight is what makes that take
 * seconds, not minutes; a retry waiting out a Retry-After must not hold up
 * the other transfers, so waiting requests sit in a queue, not in a sleep.
 *
 * Setting a client up (headers, scheme, the pool) is http_client.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "net/http.h"
#include "net/http_engine.h"
#include "net/json.h"

#define USER_AGENT "aivenauth/" AIVENAUTH_VERSION_STRING
#define BACKOFF_BASE_MS 200
#define POLL_MAX_MS 1000

enum outcome {
	OUTCOME_DONE,
	OUTCOME_RETRY,
	OUTCOME_FAIL,
};

void
net_log(const struct net_params *p, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (p == NULL || p->log == NULL || level > p->log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->log(p->log_arg, level, msg);
}

int64_t
http_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_req *r = arg;
	enum aivenauth_status st;
	size_t n = size * nmemb;
	long code = 0;

	if (r->stream != NULL && r->easy != NULL) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code <= 299) {
			if (r->stream(r, ptr, n, r->stream_arg))
				return n;
			r->stream_stopped = true;
			return 0;
		}
	}
	st = buf_add(&r->resp, ptr, n);
	if (st == AIVENAUTH_ERR_TOO_LARGE)
		r->too_large = true;
	else if (st != AIVENAUTH_OK)
		r->nomem = true;
	return st == AIVENAUTH_OK ? n : 0;
}

#define SET(opt, val) \
	do { \
		if (curl_easy_setopt(e, opt, val) != CURLE_OK) \
			goto out; \
	} while (0)

static enum aivenauth_status
start(struct http_client *c, struct http_slot *s, struct http_req *r)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	const struct net_params *p = c->p;
	size_t max = r->resp.max;
	CURL *e;

	if (s->easy == NULL) {
		if ((s->easy = curl_easy_init()) == NULL)
			return AIVENAUTH_ERR_NOMEM;
		buf_init(&s->url, URL_MAX, false);
	} else {
		curl_easy_reset(s->easy);
	}
	e = s->easy;
	s->url.len = 0;
	if ((st = buf_add(&s->url, c->base.data, c->base.len)) !=
	    AIVENAUTH_OK ||
	    (st = buf_add(&s->url, r->path, strlen(r->path))) != AIVENAUTH_OK ||
	    (r->query != NULL && (st = buf_add(&s->url, r->query,
	    strlen(r->query))) != AIVENAUTH_OK))
		return st;
	st = AIVENAUTH_ERR_INTERNAL;
	buf_free(&r->resp);
	buf_init(&r->resp, max, r->secret_resp);
	r->too_large = r->nomem = r->stream_stopped = false;
	r->easy = e;
	r->http = 0;
	r->json_ctype = false;
	s->errbuf[0] = '\0';

	SET(CURLOPT_URL, buf_cstr(&s->url));
	SET(CURLOPT_PROTOCOLS_STR, c->protocols);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, c->protocols);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms :
	    p->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
	if (p->ca_file != NULL)
		SET(CURLOPT_CAINFO, p->ca_file);
	SET(CURLOPT_USERAGENT, USER_AGENT);
	/* The environment never chooses a proxy (https_proxy, http_proxy,
	 * ALL_PROXY, NO_PROXY: inside PAM they are the caller's): "" turns
	 * libcurl's environment lookup off, and an explicit NOPROXY of ""
	 * keeps NO_PROXY from exempting a host from the configured proxy. */
	SET(CURLOPT_PROXY, p->proxy != NULL ? p->proxy : "");
	SET(CURLOPT_NOPROXY, "");
	SET(CURLOPT_HTTPHEADER, r->body != NULL ? c->hdrs_json : c->hdrs);
	SET(CURLOPT_ERRORBUFFER, s->errbuf);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, r);
	if (r->stream == NULL)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_PRIVATE, s);
	if (strcmp(r->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(r->body != NULL ? r->body->len : 0));
		SET(CURLOPT_POSTFIELDS, r->body != NULL && r->body->data != NULL ?
		    r->body->data : "");
	} else if (strcmp(r->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		goto out;
	s->req = r;
	st = AIVENAUTH_OK;
out:
	if (st != AIVENAUTH_OK)
		net_log(p, LOG_ERR, "%s %s: cannot set up the request",
		    r->method, r->path);
	return st;
}

#undef SET

static enum aivenauth_status
map_status(long code)
{
	if (code == 401)
		return AIVENAUTH_ERR_UNAUTHORIZED;
	if (code == 403)
		return AIVENAUTH_ERR_FORBIDDEN;
	if (code == 404)
		return AIVENAUTH_ERR_API_NOT_FOUND;
	if (code == 429)
		return AIVENAUTH_ERR_RATE_LIMITED;
	if (code >= 500 && code <= 599)
		return AIVENAUTH_ERR_SERVER;
	if (code >= 400 && code <= 499)
		return AIVENAUTH_ERR_API_REJECTED;
	return AIVENAUTH_ERR_BAD_RESPONSE;   /* 1xx, 3xx (not followed) */
}

/* Retry-After in ms (seconds or an HTTP date), capped; -1 if none. */
static long
retry_after_ms(const struct http_client *c, CURL *e)
{
	struct curl_header *h;
	const char *v;
	char *end;
	long long secs;
	time_t t, now;
	long cap = c->p->retry_cap_ms > 0 ? c->p->retry_cap_ms : 0;

	if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK || h->value == NULL)
		return -1;
	v = h->value;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		secs = strtoll(v, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != '\0')
			return -1;
		if (errno != 0 || secs > cap / 1000 + 1)
			return cap;
		return secs * 1000 > cap ? cap : (long)secs * 1000;
	}
	t = curl_getdate(v, NULL);
	if (t == -1)
		return -1;
	now = time(NULL);
	if (t <= now)
		return 0;
	if (t - now > cap / 1000 + 1)
		return cap;
	return (long)(t - now) * 1000 > cap ? cap : (long)(t - now) * 1000;
}

/* 200 ms x 2^(attempt-1) plus up to a quarter of jitter, capped. */
static long
backoff_ms(struct http_client *c, unsigned attempt)
{
	long cap = c->p->retry_cap_ms > 0 ? c->p->retry_cap_ms : 0;
	long d = BACKOFF_BASE_MS;
	unsigned i;

	for (i = 1; i < attempt && d < cap; i++)
		d *= 2;
	c->rng = c->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	d += (long)((c->rng >> 33) % (uint64_t)(d / 4 + 1));
	return d > cap ? cap : d;
}

/* Failures after which the request may have reached the API. */
static bool
lost_answer_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* Failures before anything was sent: always safe to retry. */
static bool
connect_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* Judge one finished attempt: done, retry later, or failed for good. */
static enum outcome
finish(struct http_client *c, struct http_slot *s, struct http_req *r,
    CURLcode rc)
{
	const struct net_params *p = c->p;
	char detail[JSON_MSG_MAX + 64], msg[JSON_MSG_MAX + 1];
	bool retryable = false;
	long code = 0, after = -1, delay;
	int lvl;
	curl_off_t total = 0;
	char *ct = NULL;

	r->attempts++;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	r->http = code;
	if (p->last_http != NULL)
		*p->last_http = (int)code;
	/* A stream ends when its reader has had enough, or at its time. */
	if (r->stream != NULL && code >= 200 && code <= 299 &&
	    ((rc == CURLE_WRITE_ERROR && r->stream_stopped) ||
	    rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_OK)) {
		r->st = AIVENAUTH_OK;
		return OUTCOME_DONE;
	}
	if (rc == CURLE_OK) {
		curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ct);
		r->json_ctype = ct == NULL || strcasestr(ct, "json") != NULL;
		if (code >= 200 && code <= 299) {
			r->st = AIVENAUTH_OK;
			return OUTCOME_DONE;
		}
		if (code == 404 && r->delete_404_ok && r->lost_answer) {
			net_log(p, LOG_INFO, "%s %s: HTTP 404 after an earlier "
			    "attempt got no answer: counted as done", r->method,
			    r->path);
			r->st = AIVENAUTH_OK;
			return OUTCOME_DONE;
		}
		r->st = map_status(code);
		/* A 403 for the caller's address is not a verdict on the
		 * token (or a missing permission): name it, so the log and
		 * the decision say why.  Codes from the API's catalogue. */
		if (code == 403 && (json_error_has_code(r->resp.data,
		    r->resp.len, "client_ip_address_policy_violation") ||
		    json_error_has_code(r->resp.data, r->resp.len,
		    "api_client_ip_allowlist_blocks_caller")))
			r->st = AIVENAUTH_ERR_IP_POLICY;
		/* A 5xx may come after the API acted (e.g. a proxy timeout). */
		if (code >= 500)
			r->lost_answer = true;
		if (r->retry_status && (code == 429 || code == 502 ||
		    code == 503 || code == 504)) {
			retryable = true;
			after = retry_after_ms(c, s->easy);
		}
		json_error_message(r->resp.data, r->resp.len, msg, sizeof(msg));
		if (msg[0] != '\0')
			snprintf(detail, sizeof(detail), "HTTP %ld: %s", code, msg);
		else
			snprintf(detail, sizeof(detail), "HTTP %ld (empty body)",
			    code);
	} else if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		r->st = AIVENAUTH_ERR_TOO_LARGE;
		snprintf(detail, sizeof(detail), "response larger than %zu bytes",
		    r->resp.max);
	} else if (r->nomem || rc == CURLE_OUT_OF_MEMORY) {
		r->st = AIVENAUTH_ERR_NOMEM;
		snprintf(detail, sizeof(detail), "out of memory");
	} else {
		if (rc == CURLE_OPERATION_TIMEDOUT) {
			r->st = AIVENAUTH_ERR_TIMEOUT;
			/*
			 * The total timeout is final (retrying would multiply
			 * the caller's wait); a connect timeout fires earlier
			 * and nothing was sent, so it may be retried.
			 */
			curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total);
			if (p->connect_timeout_ms < p->timeout_ms &&
			    total < (curl_off_t)p->timeout_ms * 1000 - 50000)
				retryable = r->retry_conn_timeout;
			else
				r->lost_answer = true;
		} else if (connect_error(rc)) {
			r->st = AIVENAUTH_ERR_NET;
			retryable = true;
		} else if (lost_answer_error(rc)) {
			r->st = AIVENAUTH_ERR_NET;
			r->lost_answer = true;
			retryable = r->retry_lost;
		} else {
			r->st = AIVENAUTH_ERR_NET;
		}
		snprintf(detail, sizeof(detail), "%s", s->errbuf[0] != '\0' ?
		    s->errbuf : curl_easy_strerror(rc));
	}
	if (retryable && r->attempts <= r->max_retries) {
		delay = after >= 0 ? after : backoff_ms(c, r->attempts);
		r->due_ms = http_mono_ms() + delay;
		net_log(p, LOG_WARNING, "%s %s: %s; retry %u of %u in %ld ms",
		    r->method, r->path, detail, r->attempts, r->max_retries,
		    delay);
		return OUTCOME_RETRY;
	}
	/* A DELETE's 404 is the caller's to judge (already gone, or a
	 * typo): a notice here, not an error. */
	lvl = r->delete_404_ok && r->st == AIVENAUTH_ERR_API_NOT_FOUND ?
	    LOG_NOTICE : LOG_ERR;
	if (r->attempts > 1)
		net_log(p, lvl, "%s %s: %s (after %u attempts)", r->method,
		    r->path, detail, r->attempts);
	else
		net_log(p, r->quiet_http != 0 && code == r->quiet_http ?
		    LOG_DEBUG : lvl, "%s %s: %s", r->method, r->path, detail);
	return OUTCOME_FAIL;
}

/* Take a waiting retry that is due, if any. */
static struct http_req *
take_due(struct http_req **wait, size_t *nwait, int64_t now)
{
	struct http_req *r;
	size_t i;

	for (i = 0; i < *nwait; i++) {
		if (wait[i]->due_ms <= now) {
			r = wait[i];
			wait[i] = wait[--*nwait];
			return r;
		}
	}
	return NULL;
}

static void
stop_all(struct http_client *c)
{
	unsigned i;

	for (i = 0; i < c->n_slots; i++) {
		if (c->slots[i].req != NULL) {
			curl_multi_remove_handle(c->multi, c->slots[i].easy);
			c->slots[i].req = NULL;
		}
	}
}

enum aivenauth_status
http_run(struct http_client *c, struct http_req **reqs, size_t n)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	struct http_req **wait = NULL, *r;
	struct http_slot *s;
	size_t next = 0, nwait = 0, i;
	unsigned running = 0, k;
	int64_t now, soonest;
	CURLMsg *msg;
	CURLMcode mc;
	CURLcode rc;
	bool finished;
	int still, left;
	long tmo;

	if (n == 0)
		return AIVENAUTH_OK;
	if ((wait = calloc(n, sizeof(*wait))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		reqs[i]->st = AIVENAUTH_ERR_INTERNAL;
		reqs[i]->attempts = 0;
		reqs[i]->lost_answer = false;
	}
	for (;;) {
		now = http_mono_ms();
		for (k = 0; k < c->n_slots; k++) {
			if (c->slots[k].req != NULL)
				continue;
			r = take_due(wait, &nwait, now);
			if (r == NULL && next < n)
				r = reqs[next++];
			if (r == NULL)
				break;
			if ((st = start(c, &c->slots[k], r)) != AIVENAUTH_OK) {
				r->st = st;
				goto out;
			}
			running++;
		}
		if (running == 0 && nwait == 0 && next == n)
			break;
		if ((mc = curl_multi_perform(c->multi, &still)) != CURLM_OK) {
			net_log(c->p, LOG_ERR, "curl_multi_perform: %s",
			    curl_multi_strerror(mc));
			st = AIVENAUTH_ERR_INTERNAL;
			goto out;
		}
		finished = false;
		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			rc = msg->data.result;
			s = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&s);
			if (s == NULL || s->req == NULL)
				continue;
			r = s->req;
			curl_multi_remove_handle(c->multi, s->easy);
			s->req = NULL;
			running--;
			finished = true;
			switch (finish(c, s, r, rc)) {
			case OUTCOME_DONE:
				if (r->done != NULL &&
				    (st = r->done(r, r->done_arg)) != AIVENAUTH_OK) {
					r->st = st;
					goto out;
				}
				break;
			case OUTCOME_RETRY:
				wait[nwait++] = r;
				break;
			case OUTCOME_FAIL:
				st = r->st;
				goto out;
			}
		}
		if (finished)
			continue;
		tmo = POLL_MAX_MS;
		if (nwait > 0 && running < c->n_slots) {
			soonest = wait[0]->due_ms;
			for (i = 1; i < nwait; i++)
				if (wait[i]->due_ms < soonest)
					soonest = wait[i]->due_ms;
			soonest -= http_mono_ms();
			tmo = soonest < 0 ? 0 : soonest < tmo ? (long)soonest : tmo;
		}
		if (running == 0) {
			sleep_ms(tmo);
			continue;
		}
		if ((mc = curl_multi_poll(c->multi, NULL, 0, (int)tmo, NULL)) !=
		    CURLM_OK) {
			net_log(c->p, LOG_ERR, "curl_multi_poll: %s",
			    curl_multi_strerror(mc));
			st = AIVENAUTH_ERR_INTERNAL;
			goto out;
		}
	}
	st = AIVENAUTH_OK;
out:
	stop_all(c);
	free(wait);
	return st;
}
