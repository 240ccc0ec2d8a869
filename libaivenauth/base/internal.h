/*
 * internal.h - definitions shared by the files of libaivenauth.  Nothing
 * here is exported (libaivenauth.map keeps only aivenauth_*).
 */
#ifndef AIVENAUTH_INTERNAL_H
#define AIVENAUTH_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aivenauth.h"

#define UNUSED __attribute__((unused))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ config */

enum online_mode {
	ONLINE_OFF = 0,
	ONLINE_LEARN = 1,
};

/* Fleet mode (docs/FLEET.md); validated by config_fleet.c. */
enum fleet_mode {
	FLEET_OFF = 0,
	FLEET_PUBLISH = 1,
	FLEET_FOLLOW = 2,
};

struct fleet_config {
	enum fleet_mode mode;
	char *etcd_endpoints;      /* comma-separated, each validated like
	                              api_url, no trailing '/'; NULL unset */
	char *etcd_prefix;         /* starts and ends with '/'; NULL = the
	                              default, FLEET_DEFAULT_PREFIX */
	char *etcd_ca_file;
	char *etcd_user;
	char *etcd_password_file;
	char *signing_key_file;
	char *public_keys;         /* "KEY[,KEY]" as validated */
	int64_t lease_ttl;         /* leader lease, seconds; 0 = the default,
	                              FLEET_LEASE_TTL_DEFAULT */
};
#define FLEET_DEFAULT_PREFIX "/aivenauth/"
#define FLEET_LEASE_TTL_DEFAULT 180
#define FLEET_LEASE_TTL_MIN 5
#define FLEET_LEASE_TTL_MAX 3600

#define CONFIG_DEFAULT_PATH AIVENAUTH_SYSCONFDIR "/aivenauth/aivenauth.conf"
#define CONFIG_MAX_FILE 65536      /* bytes */
#define TOKEN_FILE_MAX 4096        /* bytes of an admin token file */

struct config {
	char *api_url;             /* no trailing slash */
	char *organization_id;     /* NULL until set */
	char *api_token_file;
	char *cache_dir;
	char *ca_file;             /* NULL = system default */
	char *proxy;               /* NULL = none (never the environment's) */
	int64_t max_stale;         /* seconds, 0 = never stale */
	long timeout;              /* seconds, total per request */
	long connect_timeout;      /* seconds */
	unsigned max_parallel;     /* sync fan-out */
	enum online_mode online;
	int64_t hash_retention;    /* seconds a removed token keeps its hash */
	char *account_map_file;    /* the local account map (base/acctmap.c) */
	struct fleet_config fleet;
	char *source;              /* file the config came from, or NULL */
	char getbuf[32];           /* aivenauth_config_get() number text */
};

void config_init_defaults(struct config *c);
void config_free(struct config *c);

/* ------------------------------------------------------------ context */

struct cache;
struct acctmap_cache;
struct dupnames;

struct aivenauth_ctx {
	struct config cfg;
	aivenauth_log_fn *log_fn;
	void *log_arg;
	int log_max;
	struct cache *cache;
	struct learned *learned;                /* online learning's memory
	                                           (reader/learned.c) */
	void (*learned_free)(struct aivenauth_ctx *ctx);  /* set with it */
	struct dupnames *dupnames;              /* names several users hold,
	                                           per cache version
	                                           (reader/dupnames.c) */
	void (*dupnames_free)(struct aivenauth_ctx *ctx);  /* set with it */
	struct acctmap_cache *acctmap;          /* the account map as last
	                                           read (base/acctmap_load.c) */
	/* user_match any: the last account NSS said is not uid 0, and until
	 * when that is believed (reader/verify.c names_uid0) */
	char not_uid0[AIVENAUTH_NAME_MAX + 1];
	int64_t not_uid0_until;
	bool uid0_name_only;        /* reader_uid0_by_name_only() */
	const struct aivenauth_net_ops *net;   /* loaded on first API use */
	void *net_handle;                       /* dlopen handle */
	int last_http;
};

/* Log through the context's callback; never pass a secret. */
void ctx_log(struct aivenauth_ctx *ctx, int level, const char *fmt, ...) PRINTF(3, 4);
void ctx_vlog(struct aivenauth_ctx *ctx, int level, const char *fmt, va_list ap);
bool ctx_log_enabled(const struct aivenauth_ctx *ctx, int level);

/* ------------------------------------------------------------ files */

/* How open_trusted() judges a file. */
enum trust {
	TRUST_CONFIG,  /* regular, owner root/euid, not group/world-writable */
	TRUST_SECRET,  /* as CONFIG, and no group/world bits at all */
	TRUST_MODULE,  /* as CONFIG (a shared object we are about to dlopen) */
	TRUST_MAP,     /* as CONFIG (the local account map, base/acctmap.c) */
};

/*
 * Open a trusted file read-only: O_NOFOLLOW (no symlink), regular file,
 * owner and mode checked per `trust`, size <= max.  Reads it whole into a
 * NUL-terminated buffer (*buf, *len) which the caller frees (with
 * aivenauth_secret_free() for TRUST_SECRET).  On failure the reason is
 * logged with the path and a fix.
 */
enum aivenauth_status read_trusted(struct aivenauth_ctx *ctx, const char *path,
    enum trust trust, size_t max, char **buf, size_t *len);
/* The same, also giving the fstat() of what was read (its identity:
 * dev, ino, size, times), for a caller that re-reads only on change. */
struct stat;
enum aivenauth_status read_trusted_st(struct aivenauth_ctx *ctx,
    const char *path, enum trust trust, size_t max, char **buf, size_t *len,
    struct stat *sb);
/*
 * May a file owned by uid be trusted?  Root and the caller always; with
 * service_user, also the dedicated "aivenauth" user, which runs the sync
 * timer and owns the cache and the admin token file.
 */
bool owner_trusted(uid_t uid, bool service_user);
/* The directories above cache_dir (base/file.c): trusted like secrets'. */
enum aivenauth_status check_cache_dir_parents(struct aivenauth_ctx *ctx,
    const char *dir);
/* Check (without opening) a path that will be dlopen()ed or used as a dir. */
enum aivenauth_status check_trusted_path(struct aivenauth_ctx *ctx,
    const char *path, enum trust trust, bool want_dir);

/* ------------------------------------------------------------ buffer */

/* A growable buffer with a hard cap (curl's dynbuf idea). */
struct buf {
	char *data;
	size_t len;
	size_t cap;                /* allocated */
	size_t max;                /* hard limit */
	bool secret;               /* wipe on growth and free */
};

void buf_init(struct buf *b, size_t max, bool secret);
/* Append; on exceeding max returns AIVENAUTH_ERR_TOO_LARGE and frees. */
enum aivenauth_status buf_add(struct buf *b, const void *p, size_t n);
enum aivenauth_status buf_addc(struct buf *b, char c);
enum aivenauth_status buf_addf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
/* NUL-terminate (not counted in len); returns data or NULL on error. */
char *buf_cstr(struct buf *b);
void buf_free(struct buf *b);

/* ------------------------------------------------------------ time */

/*
 * Parse an RFC 3339 timestamp as the API emits them: "2026-04-13T10:11:12Z",
 * with optional fraction (".345678"), 'Z' or a "+hh:mm"/"-hh:mm" offset;
 * 't'/'z' and a space for 'T' accepted.  Fractions are truncated to whole
 * seconds.  Returns false on anything else (out-of-range fields included).
 */
bool ts_parse(const char *s, size_t len, int64_t *out);
/* Format as "YYYY-MM-DDThh:mm:ssZ" into buf (>= 21 bytes). */
void ts_format(int64_t t, char *buf, size_t size);

/* ------------------------------------------------------------ CIDR */

struct cidr {
	unsigned char addr[16];    /* IPv4 stored as ::ffff:a.b.c.d */
	unsigned bits;             /* prefix length over 128 bits */
};

/* "10.0.0.0/8", "2001:db8::/32", "192.0.2.1" (= /32), "::1" (= /128). */
bool cidr_parse(const char *s, size_t len, struct cidr *out);
/* An IP literal (IPv4, IPv6, IPv4-mapped IPv6); no hostnames. */
bool ip_parse(const char *s, unsigned char addr[16]);
bool cidr_contains(const struct cidr *c, const unsigned char addr[16]);

/* ------------------------------------------------------------ records */

/* Deep copies; return false on allocation failure (dst left cleared). */
bool user_copy(struct aivenauth_user *dst, const struct aivenauth_user *src);
bool token_copy(struct aivenauth_token *dst, const struct aivenauth_token *src);
char *xstrdup_or_null(const char *s);
/* Free n strings and the vector (NULL-safe). */
void strv_free(char **v, size_t n);

/* ------------------------------------------------------------ secrets */

/* Constant-time equality of two 32-byte hashes (sodium_memcmp). */
bool hash_equal(const unsigned char *a, const unsigned char *b);
#define HASH_BYTES 32
#define HASH_KEY_BYTES 32
void token_hash(const unsigned char key[HASH_KEY_BYTES], const char *token,
    size_t len, unsigned char out[HASH_BYTES]);

#endif /* AIVENAUTH_INTERNAL_H */
