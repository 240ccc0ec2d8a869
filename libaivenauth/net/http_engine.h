/*
 * http_engine.h - what http_client.c (which sets a client up) and http.c
 * (which runs its requests) share, inside the network module only.
 */
#ifndef AIVENAUTH_NET_HTTP_ENGINE_H
#define AIVENAUTH_NET_HTTP_ENGINE_H

#include <stdint.h>

#include <curl/curl.h>

#include "net/http.h"

#define URL_MAX 8192

/* One easy handle of the pool, and the request it carries. */
struct http_slot {
	CURL *easy;
	struct http_req *req;       /* in flight, or NULL */
	struct buf url;
	char errbuf[CURL_ERROR_SIZE];
};

/* CLOCK_MONOTONIC in milliseconds: retry deadlines, backoff jitter seed. */
int64_t http_mono_ms(void);

#endif
