/*
 * cache.h - the LMDB environments behind a context and the helpers the
 * readers and writers in apply.c / verify.c / cache_rw.c share.
 *
 * The trust boundary (design.md section 2, docs/DESIGN.md): readers can
 * change nothing.
 *   cache_dir/writer/      0700: the writer's private LMDB environment
 *                          (data.mdb + lock.mdb); only the writer
 *                          (root or the aivenauth user) can reach it.
 *   cache_dir/snapshot.mdb 0640: the published, immutable snapshot; a
 *                          complete LMDB file written aside, fsynced and
 *                          renamed into place, never modified.  Readers
 *                          open it MDB_RDONLY | MDB_NOLOCK (no lock file:
 *                          nothing a reader shares with anyone).
 *   cache_dir/state        0640: the writer's state record (pubstate.h).
 * cache_writer.c owns the writer side (environment, write transactions),
 * publish.c the publication, cache_reader.c the reader side; cache.c what
 * both share.
 *
 * Both environments have the same three named databases:
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
#include "pubstate.h"

/* Last-use metadata alone republished at most this often (seconds). */
#define COSMETIC_PUBLISH_AFTER 900

#define WRITER_DIR "writer"
#define SNAPSHOT_FILE "snapshot.mdb"

#define CACHE_SCHEMA 1
#define CACHE_MIN_MAP (64ULL << 20)
#define CACHE_MAX_READERS 4096
/* How long a token the API stopped listing is remembered as revoked.
 * (Its hash is kept for the shorter config `hash_retention`.) */
#define TOMBSTONE_RETENTION (30 * 86400)

struct cache_state {
	int64_t sync_time;
	uint64_t generation;
	uint64_t prefix_lens;   /* bit n set: some prefix has length n (1..63) */
};

struct shared_env;

struct cache {
	struct shared_env *se;  /* writer: the process's one env for the dir */
	MDB_env *env;           /* what this context reads: the writer's env
	                           (rdwr) or the published snapshot */
	MDB_dbi meta, users, tokens;
	bool rdwr;              /* a writer context */
	pid_t pid;
	MDB_txn *rtxn;          /* reusable read txn (reset between uses) */
	bool rtxn_live;         /* rtxn is active (kept by verify, see
	                           cache_read_current) */
	struct cache_state rstate;  /* "state" as of rtxn, when live */
	unsigned long fork_gen; /* fork generation at open (cache_is_ours) */
	unsigned char key[HASH_KEY_BYTES];
	char *path;              /* cache_dir */
	char *data_path;         /* the LMDB file read: writer/data.mdb or
	                            snapshot.mdb */
	bool map_full;           /* last write hit MDB_MAP_FULL */
	/* writer */
	bool publish;            /* this write changed a record: publish */
	int lockfd;              /* writer/publish.lock, serialises
	                            commit + publish across processes */
	/* both: the state record (reader: read-only map) */
	struct pubstate_map ps;
	/* reader */
	unsigned char snap_id[SNAP_ID_BYTES];   /* of the open snapshot */
	struct cache_state snap_state;          /* as the snapshot carries it */
	dev_t snap_dev;
	ino_t snap_ino;
	bool withdrawn;                         /* the record says: refuse */
};

/* cache.c: shared by both sides. */
struct cache *cache_alloc(struct aivenauth_ctx *ctx, const char *data_name);
void cache_free(struct cache *c);
enum aivenauth_status check_dir(struct aivenauth_ctx *ctx, const char *dir,
    bool create);
/* lstat checks of an LMDB file before LMDB opens it; *exists set. */
enum aivenauth_status check_data_file(struct aivenauth_ctx *ctx,
    const char *path, bool *exists, off_t *size);
/* After LMDB opened it: the file it uses is the one we checked. */
enum aivenauth_status check_env_fd(struct aivenauth_ctx *ctx, MDB_env *env,
    dev_t dev, ino_t ino);
enum aivenauth_status load_env(struct aivenauth_ctx *ctx);
enum aivenauth_status check_size(struct aivenauth_ctx *ctx);
char *path_join(const char *dir, const char *name);
unsigned long fork_generation(void);
/* snapshot id from meta (all zero if none yet) */
void meta_snap_id(struct aivenauth_ctx *ctx, MDB_txn *txn,
    unsigned char id[SNAP_ID_BYTES]);
enum aivenauth_status put_meta(struct aivenauth_ctx *ctx, MDB_txn *txn,
    const char *name, const void *p, size_t n);

/* cache_writer.c */
/* Root creating a file in a directory the aivenauth user owns gives it to
 * that user (fd, or path when fd < 0). */
void cache_adopt(struct aivenauth_ctx *ctx, int fd, const char *path);
enum aivenauth_status writer_open(struct aivenauth_ctx *ctx, bool create);
void writer_close(struct cache *c);
/* cache_reader.c */
enum aivenauth_status reader_open(struct aivenauth_ctx *ctx);
void reader_close(struct cache *c);
/* Reader: take a newer snapshot or state if the writer published one. */
enum aivenauth_status reader_refresh(struct aivenauth_ctx *ctx);
/* publish.c: after a commit (publish lock held). */
enum aivenauth_status publish_after_commit(struct aivenauth_ctx *ctx,
    bool full);
/* Is the published snapshot the writer's latest?  (after a crash between
 * commit and publish it is not) */
bool publish_current(struct aivenauth_ctx *ctx);

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

/*
 * aivenauth_cache_apply() with more work in the same write transaction:
 * after(ctx, txn, arg) runs once the snapshot is merged and the state
 * written (all or nothing: its failure aborts the whole apply).  For a
 * fleet follower: the publisher's hash key and hashes, and its sync time
 * and generation in "state".  after() sets ctx->cache->publish when it
 * changes a record.
 */
enum aivenauth_status cache_apply_ext(struct aivenauth_ctx *ctx,
    const struct aivenauth_snapshot *snap, int64_t now,
    struct aivenauth_apply_stats *stats, write_fn *after, void *after_arg);

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
