/*
 * etcd.h - the etcd v3 client of the network module (net/etcd.c), as the
 * core sees it: plain C types, no JSON, no libcurl.  The module talks to
 * etcd's JSON gateway (POST /v3/...), so libcurl and jansson, already
 * there for the Aiven API, are the whole client (design.md §6).
 *
 * Keys and values are byte strings (etcd allows any bytes); the module
 * base64-encodes them for the gateway.  Revisions, lease ids and TTLs are
 * int64.  Every call returns enum aivenauth_status:
 *   AIVENAUTH_ERR_NET / _TIMEOUT     no endpoint answered in time
 *   AIVENAUTH_ERR_UNAUTHORIZED       authentication failed (wrong password)
 *   AIVENAUTH_ERR_FORBIDDEN          etcd said "permission denied" (RBAC)
 *   AIVENAUTH_ERR_API_NOT_FOUND      no such lease
 *   AIVENAUTH_ERR_API_REJECTED       any other refusal (the message is
 *                                    logged), e.g. a compacted revision
 *   AIVENAUTH_ERR_BAD_RESPONSE       an answer that is not etcd's
 *   AIVENAUTH_ERR_TOO_LARGE          an answer over max_body
 * and logs the reason through the params' log callback.
 */
#ifndef AIVENAUTH_ETCD_H
#define AIVENAUTH_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aivenauth.h"

struct etcd_params {
	const char *endpoints;      /* "URL[,URL...]" validated by config */
	const char *ca_file;        /* NULL = system default */
	const char *user;           /* NULL = no etcd authentication */
	const char *password;       /* with user; not necessarily NUL-ended */
	size_t password_len;
	long timeout_ms;            /* one request (a watch has its own) */
	long connect_timeout_ms;
	size_t max_body;            /* cap on one answer; 0 = 16 MiB */
	unsigned max_retries;       /* reads: retries on connection errors */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	int log_max_level;
};

struct etcd_kv {
	const char *key;            /* not NUL-terminated: key_len */
	size_t key_len;
	const unsigned char *value;
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

/* Called for each key of a range, in key order.  The kv is valid only
 * during the call.  Anything but AIVENAUTH_OK stops the range with it. */
typedef enum aivenauth_status etcd_kv_fn(void *arg, const struct etcd_kv *kv);

enum etcd_event_type {
	ETCD_EV_PUT = 0,
	ETCD_EV_DELETE = 1,
};

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;          /* a DELETE has key and mod_revision */
};

/*
 * Called for each watch answer: its events (n may be 0: a progress
 * notification or the "created" answer) and the answer's header.revision
 * (the store's revision then, NOT a resume point: etcd may still owe
 * older events).  Return false to stop.
 */
typedef bool etcd_watch_fn(void *arg, const struct etcd_event *ev, size_t n,
    int64_t revision);

struct etcd_watch_end {
	int64_t revision;           /* highest mod_revision of the events
	                               delivered, 0 if none: watch again from
	                               it + 1 (or from start_rev if 0) */
	int64_t compact_revision;   /* > 0: start_revision was compacted:
	                               re-read the prefix, then watch again
	                               from the read's revision + 1 */
	bool canceled;              /* etcd canceled the watch (compaction,
	                               permission); reason says why */
	char reason[160];
};

enum etcd_cmp_target {
	ETCD_CMP_VERSION = 0,
	ETCD_CMP_CREATE = 1,        /* create_revision (0 = key absent) */
	ETCD_CMP_MOD = 2,           /* mod_revision */
	ETCD_CMP_VALUE = 3,
	ETCD_CMP_LEASE = 4,
};

enum etcd_cmp_result {
	ETCD_CMP_EQUAL = 0,
	ETCD_CMP_GREATER = 1,
	ETCD_CMP_LESS = 2,
	ETCD_CMP_NOT_EQUAL = 3,
};

struct etcd_cmp {
	const char *key;
	size_t key_len;
	enum etcd_cmp_target target;
	enum etcd_cmp_result result;
	int64_t number;             /* VERSION, CREATE, MOD, LEASE */
	const void *value;          /* VALUE */
	size_t value_len;
};

enum etcd_op_type {
	ETCD_OP_PUT = 0,
	ETCD_OP_DELETE = 1,         /* key, or [key, range_end) */
};

struct etcd_op {
	enum etcd_op_type type;
	const char *key;
	size_t key_len;
	const void *value;          /* PUT */
	size_t value_len;
	int64_t lease;              /* PUT: 0 = none */
	const char *range_end;      /* DELETE: NULL = the key alone */
	size_t range_end_len;
};

/* etcd's own limit (--max-txn-ops, default 128) is the caller's to keep;
 * the client refuses more than this. */
#define ETCD_TXN_MAX_OPS 128

struct etcd_client;

struct aivenauth_etcd_ops {
	/* Connect nothing yet; authenticate if p->user is set.  The client
	 * keeps a copy of the password (wiped at close) to authenticate
	 * again when etcd drops the token ("invalid auth token"). */
	enum aivenauth_status (*open)(const struct etcd_params *p,
	    struct etcd_client **out);
	void (*close)(struct etcd_client *c);

	/*
	 * Read [key, range_end) (range_end NULL: the key alone) at revision
	 * rev (0: the latest), page_size keys per request (0: 500), every
	 * page at the revision of the first, so the whole read is one
	 * consistent snapshot however large.  fn gets each kv in key order;
	 * *rev_out (may be NULL) is the revision read.
	 */
	enum aivenauth_status (*range)(struct etcd_client *c, const char *key,
	    size_t key_len, const char *range_end, size_t range_end_len,
	    int64_t rev, size_t page_size, etcd_kv_fn *fn, void *arg,
	    int64_t *rev_out);
	enum aivenauth_status (*put)(struct etcd_client *c, const char *key,
	    size_t key_len, const void *val, size_t val_len, int64_t lease,
	    int64_t *rev_out);
	/* If every compare holds, run success[], else failure[]; *succeeded
	 * says which.  Never retried after the request may have been sent. */
	enum aivenauth_status (*txn)(struct etcd_client *c,
	    const struct etcd_cmp *cmp, size_t n_cmp,
	    const struct etcd_op *success, size_t n_success,
	    const struct etcd_op *failure, size_t n_failure, bool *succeeded,
	    int64_t *rev_out);

	enum aivenauth_status (*lease_grant)(struct etcd_client *c, int64_t ttl,
	    int64_t *id, int64_t *granted_ttl);
	/* AIVENAUTH_ERR_API_NOT_FOUND once the lease has expired. */
	enum aivenauth_status (*lease_keepalive)(struct etcd_client *c,
	    int64_t id, int64_t *ttl);
	enum aivenauth_status (*lease_revoke)(struct etcd_client *c, int64_t id);

	/*
	 * Watch [key, range_end) from start_rev (0: from now) for at most
	 * max_ms (then AIVENAUTH_OK: watch again from end->revision + 1,
	 * or start_rev if no event came),
	 * calling fn for each answer, until fn returns false, or etcd
	 * cancels the watch: then end->canceled, and after a compaction
	 * end->compact_revision > 0 (AIVENAUTH_OK: the caller must re-read).
	 * A stream that breaks is not resent (its events would come twice):
	 * the error is returned and end->revision still says how far the
	 * events went.
	 */
	enum aivenauth_status (*watch)(struct etcd_client *c, const char *key,
	    size_t key_len, const char *range_end, size_t range_end_len,
	    int64_t start_rev, long max_ms, etcd_watch_fn *fn, void *arg,
	    struct etcd_watch_end *end);
};

/*
 * The range_end of every key starting with prefix: the prefix with its
 * last byte + 1 (a 0xff last byte is dropped and the carry goes left).
 * out has room for len bytes; returns the length, 0 if there is no end
 * (all bytes 0xff: then use "\0", etcd's "to the end").
 */
static inline size_t
etcd_prefix_end(const char *prefix, size_t len, char *out)
{
	size_t i;

	for (i = len; i > 0; i--) {
		if ((unsigned char)prefix[i - 1] != 0xff) {
			for (size_t j = 0; j + 1 < i; j++)
				out[j] = prefix[j];
			out[i - 1] = (char)((unsigned char)prefix[i - 1] + 1);
			return i;
		}
	}
	return 0;
}

#endif /* AIVENAUTH_ETCD_H */
