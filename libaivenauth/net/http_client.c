/*
 * http_client.c - setting up a client of the network module's HTTP
 * engine: libcurl's global state, the URL's scheme (https, or http to
 * loopback only), the headers that carry the credential (wiped when
 * freed), the pool of easy handles, and a request's defaults.  The engine
 * that runs requests is http.c.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <curl/curl.h>
#include <sodium.h>

#include "net/http.h"
#include "net/http_engine.h"

#define MAX_SLOTS 256               /* sanity bound on max_parallel */
#define DEFAULT_MAX_BODY (64UL << 20)

/*
 * libcurl 7.88's curl_global_init() is not thread-safe, and the module may
 * be entered from several threads (each with its own context) at once.
 */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static bool keylog_refused;

/*
 * libcurl's own memory, wiped when it is given back.  curl composes each
 * request -- the Authorization header with the token in it -- in buffers
 * of its own and frees them as they are: a token checked online by
 * pam_aiven or aivenauth-saslauthd stayed whole in freed heap (found by
 * scanning the responder's memory: docs/SECURITY.md O5).  Every block
 * curl frees or moves is zeroed first.  curl_global_init_mem() only takes
 * effect if this is the process's first initialisation of libcurl: a host
 * that set libcurl up itself keeps its own allocator.  (A host that
 * initialises libcurl after us gets these too: slower frees, nothing
 * worse; they stay valid, as the module is loaded RTLD_NODELETE.)
 */
static void
wipe_free(void *ptr)
{
	if (ptr != NULL)
		sodium_memzero(ptr, malloc_usable_size(ptr));
	free(ptr);
}

static void *
wipe_malloc(size_t size)
{
	return malloc(size);
}

static void *
wipe_calloc(size_t nmemb, size_t size)
{
	return calloc(nmemb, size);
}

/* Never realloc(3): it would free the old block unwiped. */
static void *
wipe_realloc(void *ptr, size_t size)
{
	size_t have;
	void *n;

	if (ptr == NULL)
		return malloc(size);
	have = malloc_usable_size(ptr);
	if (size <= have && size > 0)
		return ptr;
	if ((n = malloc(size > 0 ? size : 1)) == NULL)
		return NULL;
	memcpy(n, ptr, have < size ? have : size);
	wipe_free(ptr);
	return n;
}

static char *
wipe_strdup(const char *s)
{
	return strdup(s);
}

/*
 * SSLKEYLOGFILE: Debian 12's libcurl (7.88, OpenSSL) reads it in
 * curl_global_init() with plain getenv(), opens (creates) that file for
 * appending there and then, and writes every TLS session secret to it.
 * Inside PAM the environment is the caller's (su, sudo: an unprivileged
 * user's): a file created as root wherever the user says, and the keys of
 * calls that carry a token.  A library cannot take the variable out of
 * its host's environment (unsetenv is not thread-safe and not ours to
 * do), and past curl_global_init nothing turns the log off, so the client
 * is not started at all while the variable is set, in any process: fail
 * closed, and say why.  getenv, not secure_getenv: the question is what
 * libcurl would see.  (A host that initialised libcurl itself has chosen
 * for its own process; nothing here can change that.)
 */
static void
global_init(void)
{
	const char *kl = getenv("SSLKEYLOGFILE");

	if (kl != NULL && *kl != '\0') {
		keylog_refused = true;
		global_rc = CURLE_FAILED_INIT;
		return;
	}
	global_rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc,
	    wipe_free, wipe_realloc, wipe_strdup, wipe_calloc);
}

enum aivenauth_status
http_path_add(struct buf *b, const char *seg)
{
	static const char hex[] = "0123456789ABCDEF";
	enum aivenauth_status st;
	unsigned char c;
	char esc[3];

	if (seg == NULL || seg[0] == '\0')
		return AIVENAUTH_ERR_INVALID;
	if ((st = buf_addc(b, '/')) != AIVENAUTH_OK)
		return st;
	for (; *seg != '\0'; seg++) {
		c = (unsigned char)*seg;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			st = buf_addc(b, (char)c);
		} else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 0xf];
			st = buf_add(b, esc, sizeof(esc));
		}
		if (st != AIVENAUTH_OK)
			return st;
	}
	return AIVENAUTH_OK;
}

void
http_req_init(struct http_req *r, const struct net_params *p,
    const char *method, char *path)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = path;
	r->max_retries = p->max_retries;
	r->retry_status = true;
	r->retry_lost = true;
	r->retry_conn_timeout = true;
	r->st = AIVENAUTH_ERR_INTERNAL;
	buf_init(&r->resp, p->max_body != 0 ? p->max_body : DEFAULT_MAX_BODY,
	    false);
}

void
http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	free(r->path);
	r->path = NULL;
	buf_free(&r->resp);
}

/* Only loopback may be spoken to in clear: the test simulator. */
static enum aivenauth_status
pick_protocol(struct http_client *c, const char *url, const char *what)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INVALID;
	CURLU *u = NULL;
	char *host = NULL;

	if (strncasecmp(url, "https://", 8) == 0) {
		c->protocols = "https";
		return AIVENAUTH_OK;
	}
	if (strncasecmp(url, "http://", 7) != 0)
		goto out;
	if ((u = curl_url()) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcmp(host, "127.0.0.1") == 0 ||
	    strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0) {
		c->protocols = "http";
		st = AIVENAUTH_OK;
	}
out:
	if (st == AIVENAUTH_ERR_INVALID)
		net_log(c->p, LOG_ERR, "%s %s: must be https:// (plain "
		    "http:// only to 127.0.0.1, localhost or ::1)", what, url);
	curl_free(host);
	curl_url_cleanup(u);
	return st;
}

static void
slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *s;

	for (s = l; s != NULL; s = s->next)
		if (s->data != NULL)
			sodium_memzero(s->data, strlen(s->data));
	curl_slist_free_all(l);
}

/* Append a header, wiping curl's copy later (it may hold the token). */
static enum aivenauth_status
hdr_add(struct curl_slist **l, const char *h)
{
	struct curl_slist *n;

	if ((n = curl_slist_append(*l, h)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	*l = n;
	return AIVENAUTH_OK;
}

/* scheme: "aivenv1 " for the Aiven API, "" for etcd; cred NULL: no
 * Authorization header. */
static enum aivenauth_status
build_headers(struct http_client *c, const char *what, const char *scheme,
    const char *cred, size_t cred_len, bool required)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	const struct net_params *p = c->p;
	struct buf auth;
	size_t i;

	buf_init(&auth, 64 + AIVENAUTH_TOKEN_MAX_LEN, true);
	if ((required || cred != NULL) && (cred == NULL || cred_len == 0 ||
	    cred_len > AIVENAUTH_TOKEN_MAX_LEN)) {
		net_log(p, LOG_ERR, "%s missing or longer than %d bytes", what,
		    AIVENAUTH_TOKEN_MAX_LEN);
		st = AIVENAUTH_ERR_INVALID;
		goto out;
	}
	/* A control character would let the token end the header early. */
	for (i = 0; cred != NULL && i < cred_len; i++) {
		if ((unsigned char)cred[i] < 0x21 ||
		    (unsigned char)cred[i] == 0x7f) {
			net_log(p, LOG_ERR, "%s contains a space or a "
			    "control character", what);
			st = AIVENAUTH_ERR_INVALID;
			goto out;
		}
	}
	if (cred != NULL) {
		if ((st = buf_add(&auth, "Authorization: ", 15)) !=
		    AIVENAUTH_OK ||
		    (st = buf_add(&auth, scheme, strlen(scheme))) !=
		    AIVENAUTH_OK ||
		    (st = buf_add(&auth, cred, cred_len)) != AIVENAUTH_OK ||
		    (st = hdr_add(&c->hdrs, buf_cstr(&auth))) != AIVENAUTH_OK ||
		    (st = hdr_add(&c->hdrs_json, buf_cstr(&auth))) !=
		    AIVENAUTH_OK)
			goto out;
	}
	if ((st = hdr_add(&c->hdrs, "Accept: application/json")) !=
	    AIVENAUTH_OK ||
	    (st = hdr_add(&c->hdrs_json, "Accept: application/json")) !=
	    AIVENAUTH_OK ||
	    (st = hdr_add(&c->hdrs_json, "Content-Type: application/json")) !=
	    AIVENAUTH_OK ||
	    (st = hdr_add(&c->hdrs_json, "Expect:")) != AIVENAUTH_OK)
		goto out;
	st = AIVENAUTH_OK;
out:
	buf_free(&auth);
	return st;
}

static enum aivenauth_status
client_init(struct http_client *c, const struct net_params *p,
    const char *base, const char *what, const char *scheme, const char *cred,
    size_t cred_len, bool cred_required)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	unsigned n;

	memset(c, 0, sizeof(*c));
	c->p = p;
	buf_init(&c->base, URL_MAX, false);
	pthread_once(&global_once, global_init);
	if (keylog_refused) {
		net_log(p, LOG_ERR, "SSLKEYLOGFILE is set in this process's "
		    "environment: libcurl would write the TLS keys of API calls "
		    "to that file; no API call is made (unset it)");
		return AIVENAUTH_ERR_NET;
	}
	if (global_rc != CURLE_OK) {
		net_log(p, LOG_ERR, "curl_global_init: %s",
		    curl_easy_strerror(global_rc));
		return AIVENAUTH_ERR_NET;
	}
	if (base == NULL || base[0] == '\0') {
		net_log(p, LOG_ERR, "%s is not set", what);
		return AIVENAUTH_ERR_INVALID;
	}
	if ((st = buf_add(&c->base, base, strlen(base))) !=
	    AIVENAUTH_OK)
		goto out;
	/* Tolerate a trailing '/' (aiven-api.md §10.11). */
	while (c->base.len > 0 && c->base.data[c->base.len - 1] == '/')
		c->base.data[--c->base.len] = '\0';
	if ((st = pick_protocol(c, buf_cstr(&c->base), what)) != AIVENAUTH_OK)
		goto out;
	if ((st = build_headers(c, cred_required ? "API token" : "auth token",
	    scheme, cred, cred_len, cred_required)) != AIVENAUTH_OK)
		goto out;
	n = p->max_parallel;
	if (n == 0)
		n = 1;
	if (n > MAX_SLOTS)
		n = MAX_SLOTS;
	if ((c->slots = calloc(n, sizeof(*c->slots))) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	c->n_slots = n;
	if ((c->multi = curl_multi_init()) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)n);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)n);
	c->rng = (uint64_t)http_mono_ms() * 6364136223846793005ULL ^
	    (uint64_t)(uintptr_t)c;
	st = AIVENAUTH_OK;
out:
	if (st != AIVENAUTH_OK)
		http_client_free(c);
	return st;
}

enum aivenauth_status
http_client_init(struct http_client *c, const struct net_params *p)
{
	return client_init(c, p, p->api_url, "api_url", "aivenv1 ", p->token,
	    p->token_len, true);
}

enum aivenauth_status
http_client_init_raw(struct http_client *c, const struct net_params *p,
    const char *base, const char *what, const char *auth, size_t auth_len)
{
	return client_init(c, p, base, what, "", auth, auth_len, false);
}

void
http_client_free(struct http_client *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_slots; i++) {
		if (c->slots[i].easy != NULL) {
			if (c->slots[i].req != NULL && c->multi != NULL)
				curl_multi_remove_handle(c->multi,
				    c->slots[i].easy);
			curl_easy_cleanup(c->slots[i].easy);
		}
		buf_free(&c->slots[i].url);
	}
	free(c->slots);
	c->slots = NULL;
	c->n_slots = 0;
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	slist_wipe_free(c->hdrs);
	slist_wipe_free(c->hdrs_json);
	c->hdrs = c->hdrs_json = NULL;
	buf_free(&c->base);
}
