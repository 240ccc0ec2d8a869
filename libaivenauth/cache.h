/*
 * cache.h - the LMDB environment behind a context (cache.c) and the
 * helpers the readers and writers in apply.c / verify.c / cache_rw.c share.
 *
 * Layout: one environment (cache_dir/data.mdb + lock.mdb) with three named
 * databases:
 *   meta    "schema" u32, "hash_key" 32 bytes, "created" i64, "org_id",
 *           "state" = { sync_time i64, generation u64, prefix_lens u64 }
 *   users   user_id -> user record (rec.h)
 *   tokens  token_prefix -> token record (rec.h)
 * "state" packs what verify needs from meta into one lookup; prefix_lens is
 * a bitmap of the prefix lengths present, so the prefix length stays data
 * from the API rather than a constant.
 */
#ifndef AIVENAUTH_CACHE_H
#define AIVENAUTH_CACHE_H

#include <lmdb.h>

#include "internal.h"

#define CACHE_SCHEMA 1
#define CACHE_MIN_MAP (64ULL << 20)
#define CACHE_MAX_READERS 4096
/* How long a token the API stopped listing is remembered as revoked. */
#define TOMBSTONE_RETENTION (30 * 86400)

struct cache_state {
	int64_t sync_time;
	uint64_t generation;
	uint64_t prefix_lens;   /* bit n set: some prefix has length n (1..63) */
};

struct shared_env;

struct cache {
	struct shared_env *se;  /* the process's one env for this cache dir */
	MDB_env *env;           /* se->env (or our own while opening) */
	MDB_dbi meta, users, tokens;
	bool rdwr;
	pid_t pid;
	MDB_txn *rtxn;          /* reusable read txn (reset between uses) */
	bool rtxn_live;         /* rtxn is active (kept by verify, see
	                           cache_read_current) */
	struct cache_state rstate;  /* "state" as of rtxn, when live */
	unsigned long fork_gen; /* fork generation at open (cache_is_ours) */
	unsigned char key[HASH_KEY_BYTES];
	char *path;
	char *data_path;
	bool map_full;           /* last write hit MDB_MAP_FULL */
};

/* Begin a read transaction (renewing the cached one). */
enum aivenauth_status cache_read_begin(struct aivenauth_ctx *ctx, MDB_txn **txn);
/* End it (reset the cached one); also ends a kept one. */
void cache_read_end(struct aivenauth_ctx *ctx);
/*
 * The verify path: a read transaction on the latest committed snapshot and
 * its "state".  The transaction is kept active after use and reused as
 * long as no writer has committed since (same txnid as the environment's
 * last one), which spares the renew, LMDB's re-lookup of the named
 * databases in a renewed txn, and the state read.  End it with
 * cache_read_end() on error; otherwise it stays until the next call sees a
 * newer commit, or the cache is closed.
 */
enum aivenauth_status cache_read_current(struct aivenauth_ctx *ctx,
    MDB_txn **txn, struct cache_state *s);

/* Was c opened by this process (not inherited across fork())? */
bool cache_is_ours(const struct cache *c);

/* Run fn inside one write transaction, growing the map and retrying when
 * it fills.  fn returns AIVENAUTH_OK to commit; anything else aborts. */
typedef enum aivenauth_status write_fn(struct aivenauth_ctx *ctx, MDB_txn *txn,
    void *arg);
enum aivenauth_status cache_write(struct aivenauth_ctx *ctx, write_fn *fn, void *arg);

/* Map an LMDB/errno code to a status, logging what failed. */
enum aivenauth_status cache_err(struct aivenauth_ctx *ctx, int rc, const char *what);

enum aivenauth_status state_get(struct aivenauth_ctx *ctx, MDB_txn *txn,
    struct cache_state *s);
enum aivenauth_status state_put(struct aivenauth_ctx *ctx, MDB_txn *txn,
    const struct cache_state *s);

/* Find the record of token (by each known prefix length). */
int token_lookup(struct cache *c, MDB_txn *txn, uint64_t prefix_lens,
    const char *token, size_t len, MDB_val *key, MDB_val *val);

#endif
