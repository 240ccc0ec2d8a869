/*
 * aivenauth.h - verify Aiven application-user tokens against a local cache.
 *
 * libaivenauth keeps an LMDB cache of an Aiven organization's application
 * users and tokens (metadata from the Aiven API plus a keyed BLAKE2b hash of
 * each token this host has seen), and decides whether a presented token is
 * acceptable, always with a reason.
 *
 * Conventions that hold for every function below:
 *
 *  - Every function that can fail returns enum aivenauth_status; AIVENAUTH_OK
 *    (0) is success.  Details of a failure (file and line of a bad config,
 *    HTTP status and API message, LMDB error) go to the log callback set with
 *    aivenauth_set_log(); the library never prints.
 *  - A struct aivenauth_ctx is not thread-safe: use one per thread, or lock
 *    around it.  Different contexts may be used concurrently.  A context must
 *    not be used across fork(): the child must make its own (the cache
 *    handle is re-opened automatically if a child does use it, but memory
 *    and descriptors of the parent's handle are then left to the parent).
 *  - Pointers returned inside structs are owned by the struct and released by
 *    the matching *_clear / *_free function.  Strings the caller passes are
 *    copied when the library keeps them.
 *  - Secrets (tokens, the admin API token) are never logged, never written
 *    to the cache in clear, and wiped from library memory after use.
 *  - The enums only grow: values are appended, never renumbered or removed.
 */
#ifndef AIVENAUTH_H
#define AIVENAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define AIVENAUTH_EXPORT __attribute__((visibility("default")))
#define AIVENAUTH_WUR __attribute__((warn_unused_result))
#else
#define AIVENAUTH_EXPORT
#define AIVENAUTH_WUR
#endif

#define AIVENAUTH_VERSION_STRING "0.1.0"

/* Bounds of what the library accepts as token-shaped (see
 * aivenauth_token_shaped()).  Real Aiven tokens are ~372 characters. */
#define AIVENAUTH_TOKEN_MIN_LEN 32
#define AIVENAUTH_TOKEN_MAX_LEN 1024
/* Longest token prefix and user id kept in a struct aivenauth_decision. */
#define AIVENAUTH_PREFIX_MAX 64
#define AIVENAUTH_ID_MAX 64
#define AIVENAUTH_NAME_MAX 256

/*
 * Status codes.  Append only.
 */
enum aivenauth_status {
	AIVENAUTH_OK = 0,
	AIVENAUTH_ERR_NOMEM = 1,          /* out of memory */
	AIVENAUTH_ERR_INVALID = 2,        /* invalid argument or input */
	AIVENAUTH_ERR_CONFIG = 3,         /* config file or value invalid */
	AIVENAUTH_ERR_IO = 4,             /* system I/O error (errno logged) */
	AIVENAUTH_ERR_UNSAFE_FILE = 5,    /* symlink, wrong owner or mode */
	AIVENAUTH_ERR_NOT_FOUND = 6,      /* no such user/token in the cache */
	AIVENAUTH_ERR_CACHE_MISSING = 7,  /* cache directory or file missing */
	AIVENAUTH_ERR_CACHE_CORRUPT = 8,  /* cache unreadable or damaged */
	AIVENAUTH_ERR_CACHE_VERSION = 9,  /* cache written by a newer version */
	AIVENAUTH_ERR_READONLY = 10,      /* write needed, cache opened read-only
	                                     or not writable by this process */
	AIVENAUTH_ERR_CACHE_FULL = 11,    /* disk full, or map cannot grow */
	AIVENAUTH_ERR_CACHE_ACCESS = 12,  /* permission denied on the cache */
	AIVENAUTH_ERR_NET = 13,           /* connection, DNS or TLS failure */
	AIVENAUTH_ERR_TIMEOUT = 14,       /* API request exceeded `timeout` */
	AIVENAUTH_ERR_UNAUTHORIZED = 15,  /* API said 401: bad or expired token */
	AIVENAUTH_ERR_FORBIDDEN = 16,     /* API said 403: no permission */
	AIVENAUTH_ERR_API_NOT_FOUND = 17, /* API said 404 */
	AIVENAUTH_ERR_API_REJECTED = 18,  /* API said 400/409/other 4xx */
	AIVENAUTH_ERR_RATE_LIMITED = 19,  /* API said 429, retries exhausted */
	AIVENAUTH_ERR_SERVER = 20,        /* API said 5xx, retries exhausted */
	AIVENAUTH_ERR_BAD_RESPONSE = 21,  /* API body invalid or inconsistent */
	AIVENAUTH_ERR_TOO_LARGE = 22,     /* a size cap was exceeded */
	AIVENAUTH_ERR_NO_CREDENTIALS = 23,/* no admin API token available */
	AIVENAUTH_ERR_NET_UNAVAILABLE = 24,/* the network client cannot load */
	AIVENAUTH_ERR_INTERNAL = 25,      /* a bug: please report */
	AIVENAUTH_ERR_EXISTS = 26,        /* already present */
	AIVENAUTH_ERR_MISMATCH = 27,      /* token does not belong to that user */
	AIVENAUTH_ERR_IP_POLICY = 28,     /* API said 403 with an IP-policy
	                                     error_code: caller's address refused */
	AIVENAUTH_ERR_LOCAL_LIMIT = 29,   /* this process's online checks are
	                                     over their rate limit (no call) */
};

/* A static, human-readable description of a status ("cache is missing"). */
AIVENAUTH_EXPORT const char *aivenauth_strerror(enum aivenauth_status st);

/*
 * Why a token was accepted or refused.  Append only.
 */
enum aivenauth_reason {
	AIVENAUTH_ACCEPTED = 0,
	AIVENAUTH_REASON_NOT_TOKEN = 1,        /* not token-shaped */
	AIVENAUTH_REASON_UNKNOWN_PREFIX = 2,   /* no synced token has its prefix */
	AIVENAUTH_REASON_SECRET_MISMATCH = 3,  /* prefix known, secret differs */
	AIVENAUTH_REASON_NOT_ENROLLED = 4,     /* prefix known, hash never seen
	                                          on this host */
	AIVENAUTH_REASON_REVOKED = 5,          /* revoked (locally, or no longer
	                                          listed by the API) */
	AIVENAUTH_REASON_EXPIRED = 6,
	AIVENAUTH_REASON_USER_MISMATCH = 7,    /* token is another user's */
	AIVENAUTH_REASON_ADDRESS = 8,          /* client address not in the
	                                          token's ip_allowlist */
	AIVENAUTH_REASON_SCOPE = 9,            /* required scope missing */
	AIVENAUTH_REASON_CACHE_STALE = 10,     /* last good sync older than
	                                          max_stale */
	AIVENAUTH_REASON_CACHE_UNAVAILABLE = 11,/* cache missing/corrupt/locked */
	AIVENAUTH_REASON_ONLINE_REJECTED = 12, /* online check: no vouching
	                                          answer (401, any 403, a 200
	                                          about another user) */
	AIVENAUTH_REASON_ONLINE_UNAVAILABLE = 13,/* online check could not reach
	                                          the API */
	AIVENAUTH_REASON_ERROR = 14,           /* internal error or no memory */
	AIVENAUTH_REASON_ONLINE_IP_POLICY = 15,/* online check: the API refused
	                                          this host's address (403 with
	                                          an IP-policy error_code) */
	/* user_match MAP (the local account map, aivenauth-accounts(5)): */
	AIVENAUTH_REASON_MAP_NO_LINE = 16,     /* the requested local account
	                                          has no line in the map */
	AIVENAUTH_REASON_MAP_NOT_LISTED = 17,  /* the token's application user
	                                          is not listed on its line */
	AIVENAUTH_REASON_MAP_FROM = 18,        /* client address missing or
	                                          outside the line's from= */
	AIVENAUTH_REASON_MAP_SCOPE = 19,       /* token lacks the line's scope= */
	AIVENAUTH_REASON_MAP_UNAVAILABLE = 20, /* map missing, unsafe or invalid
	                                          (status AIVENAUTH_ERR_CONFIG
	                                          or _UNSAFE_FILE; logged with
	                                          file:line:column) */
	AIVENAUTH_REASON_ROOT_REFUSED = 21,    /* user_match ANY and the account
	                                          is uid 0 (root, or a name
	                                          resolving to uid 0) */
	AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME = 22,/* the line lists the token's
	                                          application user only by a
	                                          name several synced users
	                                          hold (list it by u-id) */
};

/* Stable machine name of a reason ("unknown-prefix"), for logs and --json. */
AIVENAUTH_EXPORT const char *aivenauth_reason_name(enum aivenauth_reason r);
/* A sentence for humans ("the token's prefix is not known to this host"). */
AIVENAUTH_EXPORT const char *aivenauth_reason_text(enum aivenauth_reason r);

/* "0.1.0": the version of the library actually loaded. */
AIVENAUTH_EXPORT const char *aivenauth_version(void);

/*
 * Context: config, cache handle, log callback.
 */
struct aivenauth_ctx;

/* Create a context with default config values.  Calls sodium_init(). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_ctx_new(struct aivenauth_ctx **ctxp);
/* Close the cache and free everything; NULL is ignored. */
AIVENAUTH_EXPORT void aivenauth_ctx_free(struct aivenauth_ctx *ctx);

/*
 * Log callback.  level is a syslog(3) priority (LOG_ERR .. LOG_DEBUG);
 * messages above max_level are not formatted at all.  msg is valid only
 * during the call, has no trailing newline and never contains a secret.
 * Without a callback the library is silent.
 */
typedef void aivenauth_log_fn(void *arg, int level, const char *msg);
AIVENAUTH_EXPORT void aivenauth_set_log(struct aivenauth_ctx *ctx,
    aivenauth_log_fn *fn, void *arg, int max_level);

/*
 * Config.  Keys and defaults are those of aivenauth.conf(5):
 * api_url, organization_id, api_token_file, cache_dir, max_stale, timeout,
 * connect_timeout, ca_file, online, max_parallel, proxy.
 *
 * aivenauth_config_load() reads a file (path NULL: $AIVENAUTH_CONFIG if the
 * process is not setuid, else /etc/aivenauth/aivenauth.conf).  The file must
 * be a regular file, not a symlink, owned by root or the caller, not group-
 * or world-writable.  Errors name the file and line.  A missing default file
 * is not an error when must_exist is false.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_config_load(
    struct aivenauth_ctx *ctx, const char *path, bool must_exist) AIVENAUTH_WUR;
/* Set one key (validated as in the file).  Later calls override earlier
 * ones and the file. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_config_set(
    struct aivenauth_ctx *ctx, const char *key, const char *value) AIVENAUTH_WUR;
/* True if key is a config key (used by PAM to route module arguments). */
AIVENAUTH_EXPORT bool aivenauth_config_is_key(const char *key);
/* The i-th config key (from 0), NULL past the last: for callers that take
 * config keys among words of their own and say "did you mean". */
AIVENAUTH_EXPORT const char *aivenauth_config_key_at(size_t i);
/* The current value as text (numbers in decimal); owned by ctx, valid until
 * the next config call.  NULL for an unknown key or an unset optional key. */
AIVENAUTH_EXPORT const char *aivenauth_config_get(struct aivenauth_ctx *ctx,
    const char *key);

/*
 * Cache.
 */
#define AIVENAUTH_OPEN_RDONLY 0x0 /* readers: PAM, verify, list */
#define AIVENAUTH_OPEN_RDWR 0x1   /* writers: sync, enroll, revoke */
#define AIVENAUTH_OPEN_CREATE 0x2 /* with RDWR: create dir/env if missing */

/*
 * Open the cache at config `cache_dir`.  AIVENAUTH_OPEN_RDONLY opens the
 * published snapshot (cache_dir/snapshot.mdb, immutable, MDB_NOLOCK) and
 * the writer's state record (cache_dir/state): a reader shares nothing
 * writable with anyone and never blocks.  AIVENAUTH_OPEN_RDWR opens the
 * writer's private environment (cache_dir/writer/, 0700); every write
 * publishes what it changed before it returns.  The directory must not be
 * a symlink, nor group- or world-writable; the files must be regular,
 * writable by their owner only, owned by root or the aivenauth user.  A file that is
 * truncated, not an LMDB environment or has the wrong schema is refused:
 * AIVENAUTH_ERR_CACHE_CORRUPT / _CACHE_VERSION; a missing one:
 * AIVENAUTH_ERR_CACHE_MISSING; EACCES: AIVENAUTH_ERR_CACHE_ACCESS.
 * Opening again with the same flags is a no-op.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_open(
    struct aivenauth_ctx *ctx, unsigned flags) AIVENAUTH_WUR;
AIVENAUTH_EXPORT void aivenauth_cache_close(struct aivenauth_ctx *ctx);
/*
 * Verify keeps its read transaction between calls while the state record
 * names the same snapshot (one memory load per call, no system call).
 * aivenauth_cache_idle() ends it (a long-lived process about to go idle);
 * cheap, the next verify renews it.
 */
AIVENAUTH_EXPORT void aivenauth_cache_idle(struct aivenauth_ctx *ctx);

struct aivenauth_cache_info {
	const char *path;           /* owned by ctx */
	unsigned schema_version;
	uint64_t generation;        /* last good sync, 0 = never synced */
	int64_t sync_time;          /* unix time of last good sync, 0 = never */
	int64_t created;            /* unix time the cache was created */
	size_t users;
	size_t tokens;              /* listed by the API (not tombstones) */
	size_t enrolled;            /* tokens whose hash this host knows */
	size_t revoked;             /* local tombstones and removed tokens */
	size_t pending_revocations; /* rotate grace not yet due at the API */
	uint64_t map_size;          /* bytes reserved for the map */
	uint64_t file_size;         /* bytes of the LMDB file read (a reader:
	                               snapshot.mdb; a writer: writer/data.mdb) */
	char organization_id[AIVENAUTH_ID_MAX + 1];
};
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_info(
    struct aivenauth_ctx *ctx, struct aivenauth_cache_info *info) AIVENAUTH_WUR;

/*
 * Records.  Times are unix seconds; 0 means absent (never used, never
 * expires...).  These structs may grow at the end: allocate them only
 * through the library or zero them with {0} before passing them in.
 */
struct aivenauth_user {
	char *user_id;
	char *name;
	char *email;
	int64_t create_time;
};

struct aivenauth_token {
	char *prefix;
	char *user_id;
	char *user_name;        /* denormalised from the user, cache only */
	char *user_email;       /* ditto */
	char *description;
	int64_t create_time;
	int64_t expiry_time;    /* from the API: the floor of the expiry */
	int64_t max_age_seconds;
	bool extend_when_used;
	bool created_manually;
	bool currently_active;  /* API listing only */
	char **scopes;
	size_t n_scopes;
	char **ip_allowlist;
	size_t n_ip_allowlist;
	int64_t last_used_time;
	char *last_ip;
	char *last_user_agent;
	/* local state, cache only */
	bool enrolled;          /* this host knows the token's hash */
	bool revoked;           /* local tombstone (aivenctl token revoke) */
	int64_t revoke_at;      /* scheduled revocation (rotate --grace) */
	int64_t removed_time;   /* no longer listed by the API since */
	int64_t local_expiry;   /* expiry extended by a keep-alive call */
};

AIVENAUTH_EXPORT void aivenauth_user_clear(struct aivenauth_user *u);
AIVENAUTH_EXPORT void aivenauth_token_clear(struct aivenauth_token *t);
AIVENAUTH_EXPORT void aivenauth_users_free(struct aivenauth_user *u, size_t n);
AIVENAUTH_EXPORT void aivenauth_tokens_free(struct aivenauth_token *t, size_t n);
/* Effective expiry: max(expiry_time, local_expiry); 0 = never. */
AIVENAUTH_EXPORT int64_t aivenauth_token_expiry(const struct aivenauth_token *t);

/* Lists from the cache, sorted by id / prefix.  Free with *_free(). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_users(
    struct aivenauth_ctx *ctx, struct aivenauth_user **users, size_t *n) AIVENAUTH_WUR;
/* user_id NULL: every token.  Removed tokens (tombstones) are included,
 * with removed_time set. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_tokens(
    struct aivenauth_ctx *ctx, const char *user_id,
    struct aivenauth_token **tokens, size_t *n) AIVENAUTH_WUR;
/* One token by prefix; AIVENAUTH_ERR_NOT_FOUND if absent.  Clear *out
 * with aivenauth_token_clear(). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_token(
    struct aivenauth_ctx *ctx, const char *prefix,
    struct aivenauth_token *out) AIVENAUTH_WUR;

/*
 * Writes (cache opened AIVENAUTH_OPEN_RDWR).  Each is one LMDB write
 * transaction: it commits whole or not at all.
 */
struct aivenauth_snapshot {
	const char *organization_id;
	struct aivenauth_user *users;
	size_t n_users;
	struct aivenauth_token *tokens;  /* user_id must name a listed user */
	size_t n_tokens;
};

struct aivenauth_apply_stats {
	size_t users_added, users_updated, users_removed;
	size_t tokens_added, tokens_updated, tokens_removed;
	size_t tombstones_expired;      /* removed tokens forgotten for good */
	size_t revocations_sent;        /* by aivenauth_sync(): local revocations
	                                   and due rotations sent to the API */
	size_t revocations_failed;      /* ... that failed (retried next sync) */
	uint64_t generation;            /* after the apply */
};

/*
 * Make the cache mirror a complete snapshot: new users/tokens added,
 * changed metadata updated, users/tokens not in the snapshot removed (a
 * removed token loses its hash and stays as a "removed" tombstone so that
 * verify can say "revoked" for 30 days).  Hashes, local revocations and
 * local expiry extensions of listed tokens are kept.  Records are rewritten
 * only when they change.  Bumps the generation and the sync time (now;
 * 0 = time(NULL)).  Invalid snapshots (duplicate prefix, token of an unlisted
 * user, over-long fields) are refused whole: AIVENAUTH_ERR_BAD_RESPONSE.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_apply(
    struct aivenauth_ctx *ctx, const struct aivenauth_snapshot *snap,
    int64_t now, struct aivenauth_apply_stats *stats) AIVENAUTH_WUR;

/*
 * Learn the hash of a token whose metadata is synced.  The token's prefix
 * must be a synced token of user_id (AIVENAUTH_ERR_NOT_FOUND if no such
 * prefix, AIVENAUTH_ERR_MISMATCH if another user's).  prefix_out, if not
 * NULL, receives the prefix (AIVENAUTH_PREFIX_MAX + 1 bytes).
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_enroll(
    struct aivenauth_ctx *ctx, const char *user_id, const char *token,
    size_t len, char *prefix_out) AIVENAUTH_WUR;

/*
 * Store a token just created through the API: its metadata (meta->prefix,
 * meta->user_id required; the rest as known) and its hash.  A user the
 * cache does not hold yet (created since the last sync) is stored too when
 * meta->user_name is given (with meta->user_email).  A later sync replaces
 * the metadata with the API's and keeps the hash.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_put_token(
    struct aivenauth_ctx *ctx, const struct aivenauth_token *meta,
    const char *token, size_t len) AIVENAUTH_WUR;

/*
 * Revoke locally: at <= now (or 0) revokes at once; a later time schedules
 * it (verify refuses from then on; aivenauth_sync() calls the API when due).
 * A schedule only ever moves sooner: a later time than the one the token
 * already has keeps the earlier one.
 * The tombstone survives syncs until the API stops listing the token.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_revoke(
    struct aivenauth_ctx *ctx, const char *prefix, int64_t at) AIVENAUTH_WUR;
/*
 * Record a revocation where a full disk cannot lose it: the writer's
 * revocation journal (cache_dir/writer/revocations, allocated in full when
 * the writer opens the cache; one slot written and synced).  Call it
 * before aivenauth_cache_revoke() and the API call: from then on every
 * write to the cache stores the token revoked, and aivenauth_sync() sends
 * the DELETE until the API stops listing the token.  Needs no open cache.
 * AIVENAUTH_ERR_CACHE_MISSING when this host has no cache.  On any other
 * failure the readers are withdrawn (they answer cache-unavailable) and
 * AIVENAUTH_ERR_CACHE_FULL (journal full), _IO, ... is returned.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_revocation_record(
    struct aivenauth_ctx *ctx, const char *user_id, const char *prefix)
    AIVENAUTH_WUR;
/*
 * The revocation journal's overflow mark: set when a revocation found the
 * journal full; while it is set the writer publishes nothing (readers
 * answer cache-unavailable).  *listed: how many such revocations it names
 * (each is taken off when it is journaled -- run its revoke again -- or
 * when a write stores it revoked); *lost: one could not even be named.
 * Every write journals the named ones as soon as there is a free slot
 * (then they are stored and DELETEd like any other revocation).  With
 * clear: the named ones are journaled first; if any still finds no slot,
 * AIVENAUTH_ERR_CACHE_FULL and nothing is cleared (*listed: how many
 * remain); else "lost" is cleared (the operator confirmed at the API what
 * nothing could name) and the next sync publishes again.  No journal: no
 * mark.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_revocation_overflow(
    struct aivenauth_ctx *ctx, size_t *listed, bool *lost, bool clear)
    AIVENAUTH_WUR;
/* A revocation the overflow mark names (prefixes are public identifiers,
 * never a token). */
struct aivenauth_revocation_named {
	char user_id[AIVENAUTH_ID_MAX + 1];
	char prefix[AIVENAUTH_PREFIX_MAX + 1];
};
/* The first max of them into out; *n: how many there are. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_revocation_overflow_named(
    struct aivenauth_ctx *ctx, struct aivenauth_revocation_named *out,
    size_t max, size_t *n) AIVENAUTH_WUR;
/*
 * A scheduled revocation in the same journal (`aivenctl token rotate` with
 * a grace): the token is refused from `at` (> 0) on.  Every write to the
 * cache stores it as aivenauth_cache_revoke(ctx, prefix, at) would, the
 * sync sends the DELETE once it is due, and a writer that cannot store it
 * (a full disk) withdraws the readers, so a full disk never leaves the
 * token valid past `at`.  Call it before creating the replacement; on
 * failure nothing changed (the readers are left as they are) and the
 * caller must stop: AIVENAUTH_ERR_CACHE_FULL when the journal is full.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_revocation_schedule(
    struct aivenauth_ctx *ctx, const char *user_id, const char *prefix,
    int64_t at) AIVENAUTH_WUR;
/* What the revocation journal holds (`aivenctl status`, `doctor`). */
struct aivenauth_revocation_journal {
	size_t slots;           /* its capacity */
	size_t pending;         /* revocations recorded, not yet stored in
	                         * the cache, or stored for a token the cache
	                         * lacks (the sync waits for the API) */
	size_t scheduled;       /* of those, refused only from a later time */
	size_t torn;            /* slots a crash cut short (freed by the next
	                         * write) */
	int64_t oldest;         /* when the oldest pending one was recorded */
};
/* AIVENAUTH_OK with all counts 0 when there is no journal yet;
 * AIVENAUTH_ERR_CACHE_MISSING without a cache; _UNSAFE_FILE, _CACHE_ACCESS, _IO
 * when it cannot be read (needs the writer's rights). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_revocation_journal_info(
    struct aivenauth_ctx *ctx, struct aivenauth_revocation_journal *out)
    AIVENAUTH_WUR;
/* Forget a token entirely (hash and metadata). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_cache_remove(
    struct aivenauth_ctx *ctx, const char *prefix) AIVENAUTH_WUR;

/*
 * Verification.
 */
enum aivenauth_user_match {
	AIVENAUTH_MATCH_NAME = 0,  /* PAM user == application user name */
	AIVENAUTH_MATCH_ID = 1,    /* PAM user == application user id */
	AIVENAUTH_MATCH_EMAIL = 2, /* PAM user == application user email */
	AIVENAUTH_MATCH_ANY = 3,   /* any user: the token alone decides,
	                              except that it never admits uid 0 (the
	                              name root or any name resolving to uid 0:
	                              AIVENAUTH_REASON_ROOT_REFUSED) */
	AIVENAUTH_MATCH_MAP = 4,   /* the local account map: the PAM user is a
	                              local account, and the token's application
	                              user must be listed on its line (config
	                              account_map_file; see below) */
};

struct aivenauth_request {
	const char *user;          /* PAM user; NULL only with MATCH_ANY */
	enum aivenauth_user_match user_match;
	const char *rhost;         /* client address (IPv4/IPv6 literal), or NULL */
	const char *service;       /* PAM service, for logs; may be NULL */
	const char *scope;         /* required scope, or NULL */
	int64_t now;               /* 0 = time(NULL) */
};

#define AIVENAUTH_DECISION_LEARNED 0x1      /* vouched for online (now, or
                                               earlier in this process) */
#define AIVENAUTH_DECISION_NOT_STORED 0x2   /* always with LEARNED: kept in
                                               this process's memory only;
                                               verify never writes */
#define AIVENAUTH_DECISION_EXTENDED 0x4     /* sliding expiry refreshed */

struct aivenauth_decision {
	enum aivenauth_reason reason;
	unsigned flags;
	char prefix[AIVENAUTH_PREFIX_MAX + 1];    /* "" if not token-shaped */
	char user_id[AIVENAUTH_ID_MAX + 1];       /* the token's user, if known */
	char user_name[AIVENAUTH_NAME_MAX + 1];   /* truncated for display */
	char user_email[AIVENAUTH_NAME_MAX + 1];
	int64_t expiry;                           /* effective; 0 = never */
	int64_t sync_age;                         /* seconds; -1 = never */
};

/* True if token looks like an Aiven token: base64 alphabet ('=' only as
 * trailing padding), AIVENAUTH_TOKEN_MIN_LEN..AIVENAUTH_TOKEN_MAX_LEN. */
AIVENAUTH_EXPORT bool aivenauth_token_shaped(const char *token, size_t len);

/*
 * Decide on a token.  Opens the cache read-only if it is not open.
 * Returns AIVENAUTH_OK when a decision was made (d->reason says which);
 * otherwise the status says why none could be (cache missing/corrupt,
 * online check failed, no memory) and d->reason is CACHE_UNAVAILABLE,
 * ONLINE_UNAVAILABLE or ERROR.  Only d->reason == AIVENAUTH_ACCEPTED with
 * AIVENAUTH_OK means accept.
 *
 * Order: shape, cache freshness (max_stale), prefix, record, constant-time
 * hash compare, then policy: revoked, expired, user, address, scope.  With
 * `online = learn`, a synced but never-seen token is checked against the
 * API (GET /v1/me with the token itself) and its hash stored if the cache
 * can be written, and a sliding-expiry token past half its window is
 * refreshed at the API the same way.  The token is not copied except into
 * a buffer that is wiped.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_verify(
    struct aivenauth_ctx *ctx, const char *token, size_t len,
    const struct aivenauth_request *req, struct aivenauth_decision *d) AIVENAUTH_WUR;

/*
 * Re-check, without its secret, a token that was accepted earlier: the
 * PAM account phase (libpam wipes PAM_AUTHTOK after authentication) and
 * long-lived sessions.  One lookup by prefix: the cache is still fresh
 * (max_stale), the token still listed (else REVOKED), not revoked, not
 * expired at `now` (0 = time(NULL)), and still user_id's (else
 * USER_MISMATCH).  Return values as for aivenauth_verify().
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_recheck(
    struct aivenauth_ctx *ctx, const char *prefix, const char *user_id,
    int64_t now, struct aivenauth_decision *d) AIVENAUTH_WUR;

/*
 * The Aiven API (loaded on first use from the network client module, so a
 * process that only verifies never loads libcurl, OpenSSL or jansson).
 * The admin token comes from $AIVEN_AUTH_TOKEN (not in setuid processes) or
 * config api_token_file (regular file, owner root or caller, mode 0600 or
 * stricter).  Non-2xx answers map to the AIVENAUTH_ERR_* of the API; the
 * status and message are logged, and aivenauth_api_last_http() returns the
 * last HTTP status (0 if none).
 */
AIVENAUTH_EXPORT int aivenauth_api_last_http(struct aivenauth_ctx *ctx);

/* List the organization's application users and all their tokens
 * (concurrently, at most max_parallel at a time), then apply the snapshot
 * in one write; also send due scheduled revocations.  Any failed request
 * leaves the cache untouched. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_sync(struct aivenauth_ctx *ctx,
    struct aivenauth_apply_stats *stats) AIVENAUTH_WUR;

AIVENAUTH_EXPORT enum aivenauth_status aivenauth_api_users(
    struct aivenauth_ctx *ctx, struct aivenauth_user **users, size_t *n) AIVENAUTH_WUR;
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_api_user_create(
    struct aivenauth_ctx *ctx, const char *name, struct aivenauth_user *out) AIVENAUTH_WUR;
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_api_user_delete(
    struct aivenauth_ctx *ctx, const char *user_id) AIVENAUTH_WUR;
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_api_tokens(
    struct aivenauth_ctx *ctx, const char *user_id,
    struct aivenauth_token **tokens, size_t *n) AIVENAUTH_WUR;

struct aivenauth_token_spec {
	const char *description;          /* may be NULL = "" */
	int64_t max_age_seconds;          /* 0 = never expires */
	bool extend_when_used;            /* needs max_age_seconds */
	const char *const *ip_allowlist;
	size_t n_ip_allowlist;
	const char *const *scopes;
	size_t n_scopes;
};
/* Create a token.  Never retried blindly (a retry could mint a duplicate).
 * *full_token (NUL-terminated, *full_len bytes) must be released with
 * aivenauth_secret_free(); *prefix with free(). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_api_token_create(
    struct aivenauth_ctx *ctx, const char *user_id,
    const struct aivenauth_token_spec *spec, char **full_token,
    size_t *full_len, char **prefix) AIVENAUTH_WUR;
/* Delete a token; a 404 after a retried request counts as done. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_api_token_delete(
    struct aivenauth_ctx *ctx, const char *user_id, const char *prefix) AIVENAUTH_WUR;
/* GET /v1/me with token as credential.  Only a positive answer vouches:
 * AIVENAUTH_OK means HTTP 200 with the API's JSON "user" object about the
 * expected owner (user_id and/or user_email as synced; NULL or "" = not
 * known, at least one must be).  Otherwise: _UNAUTHORIZED (401),
 * _FORBIDDEN (any 403), _IP_POLICY (403 with an IP-policy error_code),
 * _MISMATCH (200 about another user), _BAD_RESPONSE (not the API's body),
 * or a transport status. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_api_me(struct aivenauth_ctx *ctx,
    const char *token, size_t len, const char *user_id,
    const char *user_email) AIVENAUTH_WUR;

/*
 * The local account map (aivenauth-accounts(5)): one line per local
 * account, then the application users allowed to log into it (names,
 * u... ids, name globs with * and ?), then options from=CIDR[,CIDR...]
 * and scope=S.
 *
 * aivenauth_verify() with AIVENAUTH_MATCH_MAP reads the file named by the
 * config key account_map_file itself, and reads it again only when it
 * changed (one lstat(2) per verify: device, inode, size, mode, owner,
 * mtime and ctime; an edit made within the last two seconds is re-read
 * until it is older, so a same-size rewrite in one clock tick is seen).
 * The functions below are for tools (inspect, audit, doctor) and for
 * services that check the map at start-up.
 */
struct aivenauth_account_map;

struct aivenauth_account_entry {
	const char *account;        /* the local account, as written */
	unsigned line;              /* 1-based line in the file */
	const char *const *users;   /* names, u... ids, globs, as written */
	size_t n_users;
	const char *from;           /* "CIDR[,CIDR...]" as written, or NULL */
	const char *scope;          /* scope=S, or NULL */
};

/*
 * Read and parse a map (path NULL: config account_map_file), opened like
 * the config: no symlink, a regular file owned by root or the caller, not
 * group- or world-writable.  Any mistake refuses the whole map, logged as
 * "FILE:LINE:COLUMN: what" (AIVENAUTH_ERR_CONFIG); an unsafe file
 * AIVENAUTH_ERR_UNSAFE_FILE; a missing one AIVENAUTH_ERR_NOT_FOUND (not
 * logged at LOG_ERR: whether that matters is the caller's call).
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_account_map_load(
    struct aivenauth_ctx *ctx, const char *path,
    struct aivenauth_account_map **mapp) AIVENAUTH_WUR;
/* Parse text (name is used in messages); same rules, no file. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_account_map_parse(
    struct aivenauth_ctx *ctx, const char *name, const char *text,
    size_t len, struct aivenauth_account_map **mapp) AIVENAUTH_WUR;
AIVENAUTH_EXPORT void aivenauth_account_map_free(struct aivenauth_account_map *map);
/* Lines in file order: i < aivenauth_account_map_count(). */
AIVENAUTH_EXPORT size_t aivenauth_account_map_count(
    const struct aivenauth_account_map *map);
AIVENAUTH_EXPORT const struct aivenauth_account_entry *aivenauth_account_map_entry(
    const struct aivenauth_account_map *map, size_t i);
/* The line of a local account (exact, case-sensitive), or NULL. */
AIVENAUTH_EXPORT const struct aivenauth_account_entry *aivenauth_account_map_find(
    const struct aivenauth_account_map *map, const char *account);
/* Does the line list this application user (by id, exact name, or a
 * glob on the name)?  Options (from=, scope=) are not judged here. */
AIVENAUTH_EXPORT bool aivenauth_account_entry_lists(
    const struct aivenauth_account_entry *e, const char *user_name,
    const char *user_id);
/* Is this entry written as an application user id ("u" + hex digits)? */
AIVENAUTH_EXPORT bool aivenauth_account_user_is_id(const char *entry);
/* Is this entry a glob (contains * or ?)? */
AIVENAUTH_EXPORT bool aivenauth_account_user_is_glob(const char *entry);

/* Wipe len bytes at p, then free(p).  NULL is ignored. */
AIVENAUTH_EXPORT void aivenauth_secret_free(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* AIVENAUTH_H */
