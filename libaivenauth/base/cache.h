/*
 * cache.h - the LMDB environment behind a context, and what the reader
 * (reader/) and the writer (writer/) share: the checks before LMDB sees a
 * file, the named databases, the state, read transactions.
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
 * writer/cache_writer.c owns the writer side (environment, write
 * transactions), writer/publish.c the publication, reader/cache_reader.c
 * the reader side; base/cache.c what both share.  The side that opened a
 * cache says how to read its latest data and how to close it (struct
 * cache_side): the code here never names a side, so the reader and the
 * writer depend on this and never on each other.
 *
 * Both environments have the same three named databases:
 *   meta    "schema" u32, "hash_key" 32 bytes, "created" i64, "org_id",
 *           "state" = { sync_time i64, generation u64, prefix_lens u64 }
 *           "dup_names" the repeated application user names
 *           (base/dupnames_rec.h; absent in data of an older writer)
 *   users   user_id -> user record (rec.h)
 *   tokens  token_prefix -> token record (rec.h)
 * "state" packs what verify needs from meta into one lookup; prefix_lens is
 * a bitmap of the prefix lengths present, so the prefix length stays data
 * from the API rather than a constant.
 */
#ifndef AIVENAUTH_CACHE_H
#define AIVENAUTH_CACHE_H

#include <lmdb.h>

#include "base/internal.h"
#include "base/pubstate.h"

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
struct cache;

/* What the side that opened a cache does for the parts both share. */
struct cache_side {
	/* The latest data this side decides on: a read transaction and
	 * its state (see cache_read_current). */
	enum aivenauth_status (*read_current)(struct aivenauth_ctx *ctx,
	    MDB_txn **txn, struct cache_state *s);
	/* Release the side's environment and files. */
	void (*close)(struct cache *c);
};

struct cache {
	const struct cache_side *side;  /* reader_open or writer_open */
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
	bool applying;           /* this write is a sync's or a follower's
	                            apply: it may lift a withdrawal until
	                            a sync (pubstate.h) */
	uint64_t fetch_seq;      /* a sync: one past the revocation
	                            journal's last sequence number when its
	                            fetch began; 0: no fetch, frees nothing
	                            (writer/revoke_fold.c) */
	bool revj_over;          /* this write saw the journal's overflow
	                            mark: publish nothing (publish.c) */
	bool restricts;          /* ... took away something a reader
	                            accepts (a revocation, a removal): if
	                            it is lost, readers fail closed
	                            (writer/apply.c) */
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

/* base/cache.c */
struct cache *cache_alloc(struct aivenauth_ctx *ctx, const char *data_name,
    const struct cache_side *side);
void cache_free(struct cache *c);
enum aivenauth_status check_dir(struct aivenauth_ctx *ctx, const char *dir,
    bool create);
/* The command that makes this host's cache ("aivenctl sync", or on a
 * fleet follower "aivenctl follow --once"), for messages. */
const char *cache_create_cmd(const struct aivenauth_ctx *ctx);
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

/* A record that does not decode: logged (key size only), CACHE_CORRUPT. */
enum aivenauth_status record_corrupt(struct aivenauth_ctx *ctx,
    const char *what, const MDB_val *k);

/* Map an LMDB/errno code to a status, logging what failed. */
enum aivenauth_status cache_err(struct aivenauth_ctx *ctx, int rc, const char *what);

enum aivenauth_status state_get(struct aivenauth_ctx *ctx, MDB_txn *txn,
    struct cache_state *s);

/* Find the record of token (by each known prefix length). */
int token_lookup(struct cache *c, MDB_txn *txn, uint64_t prefix_lens,
    const char *token, size_t len, MDB_val *key, MDB_val *val);

#endif
