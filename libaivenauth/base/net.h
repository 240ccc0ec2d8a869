/*
 * net.h - the interface between libaivenauth (core) and the network client
 * module aivenauth-net.so.
 *
 * Why a separate module: Linux-PAM dlopens a module and everything it links
 * on every pam_start() and unloads it at pam_end().  Verification needs only
 * LMDB and libsodium; libcurl (and with it OpenSSL, nghttp2, ...) and
 * jansson cost milliseconds to load.  So the core links neither, and loads
 * this module with dlopen() only when a sync, an admin command or an online
 * check needs the API (see netload.c).
 *
 * The module exports one symbol, aivenauth_net_ops_v1.  Records it returns
 * are allocated with malloc() and released by the core with the public
 * aivenauth_*_free() functions.
 */
#ifndef AIVENAUTH_NET_H
#define AIVENAUTH_NET_H

#include "aivenauth.h"
#include "base/etcd.h"

/* 2: me() takes the expected owner and vouches only on a positive answer
 * (a module of ABI 1 took a 403 for a live token: never load one).
 * 3: the etcd table (fleet mode).  4: net_params.proxy. */
#define AIVENAUTH_NET_ABI 4
#define AIVENAUTH_NET_SYMBOL "aivenauth_net_ops_v1"

struct net_params {
	const char *api_url;        /* no trailing '/', validated by config */
	const char *org_id;         /* may be NULL for calls that need none */
	const char *token;          /* credential (admin token, or the token
	                               being checked by me()); not NUL-terminated
	                               necessarily: use token_len */
	size_t token_len;
	const char *ca_file;        /* NULL = system default */
	long timeout_ms;            /* total per request */
	long connect_timeout_ms;
	unsigned max_parallel;      /* sync fan-out bound, >= 1 */
	size_t max_body;            /* response size cap in bytes */
	unsigned max_retries;       /* GET/DELETE retries on 429/502/503/504/conn */
	long retry_cap_ms;          /* cap on one backoff / Retry-After wait */
	/* Logging: msg never contains a secret. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	int log_max_level;
	int *last_http;             /* out: last HTTP status, 0 if none */
	const char *proxy;          /* NULL: no proxy, whatever the environment */
};

struct aivenauth_net_ops {
	unsigned abi;               /* AIVENAUTH_NET_ABI */
	const char *version;        /* AIVENAUTH_VERSION_STRING of the module */

	/* Users, then every user's tokens concurrently; all or nothing.
	 * out->organization_id is left NULL (the core sets it). */
	enum aivenauth_status (*fetch_snapshot)(const struct net_params *p,
	    struct aivenauth_snapshot *out);
	enum aivenauth_status (*users_list)(const struct net_params *p,
	    struct aivenauth_user **users, size_t *n);
	enum aivenauth_status (*user_create)(const struct net_params *p,
	    const char *name, struct aivenauth_user *out);
	enum aivenauth_status (*user_delete)(const struct net_params *p,
	    const char *user_id);
	enum aivenauth_status (*tokens_list)(const struct net_params *p,
	    const char *user_id, struct aivenauth_token **tokens, size_t *n);
	enum aivenauth_status (*token_create)(const struct net_params *p,
	    const char *user_id, const struct aivenauth_token_spec *spec,
	    char **full_token, size_t *full_len, char **prefix);
	enum aivenauth_status (*token_delete)(const struct net_params *p,
	    const char *user_id, const char *prefix);
	/* GET /v1/me with p->token: OK only on 200 with the API's "user"
	 * object about the expected owner (user_id and/or user_email; at
	 * least one non-empty).  UNAUTHORIZED on 401, FORBIDDEN on any 403,
	 * IP_POLICY on a 403 with an IP-policy error_code, MISMATCH on a 200
	 * about another user, BAD_RESPONSE on a body that is not the API's.
	 * Never retried more than once: it sits on a login path. */
	enum aivenauth_status (*me)(const struct net_params *p,
	    const char *user_id, const char *user_email);

	/* Fleet mode: the etcd v3 client (etcd.h). */
	const struct aivenauth_etcd_ops *etcd;
};

#endif /* AIVENAUTH_NET_H */
