/*
 * writer.h - the writer's side of the trust boundary: its private LMDB
 * environment (cache_dir/writer/, 0700), write transactions, the
 * publication of immutable snapshots, the sync and the admin's API calls.
 * Only aivenctl (root or the aivenauth user) and the fleet code run it;
 * no service loads it.
 */
#ifndef AIVENAUTH_WRITER_H
#define AIVENAUTH_WRITER_H

#include "base/cache.h"
#include "writer/revjournal.h"

/* nocow.c: no copy-on-write on fd (a directory: for the files made in
 * it; a file: only while empty), where the file system has it. */
void nocow_set(struct aivenauth_ctx *ctx, int fd);

/* cache_writer.c */
enum aivenauth_status writer_open(struct aivenauth_ctx *ctx, bool create);
/* Root creating a file in a directory the aivenauth user owns gives it to
 * that user (fd, or path when fd < 0). */
void cache_adopt(struct aivenauth_ctx *ctx, int fd, const char *path);
enum aivenauth_status put_meta(struct aivenauth_ctx *ctx, MDB_txn *txn,
    const char *name, const void *p, size_t n);
enum aivenauth_status state_put(struct aivenauth_ctx *ctx, MDB_txn *txn,
    const struct cache_state *s);

/* Run fn inside one write transaction, growing the map and retrying when
 * it fills.  fn returns AIVENAUTH_OK to commit; anything else aborts. */
typedef enum aivenauth_status write_fn(struct aivenauth_ctx *ctx, MDB_txn *txn,
    void *arg);
enum aivenauth_status cache_write(struct aivenauth_ctx *ctx, write_fn *fn, void *arg);

/* cache_write.c: re-encode the token record under k (view v) with the
 * local fields of changes (revoked, revoke_at, local_expiry) and hash. */
struct tok_view;
enum aivenauth_status token_rewrite(struct aivenauth_ctx *ctx, MDB_txn *txn,
    MDB_val *k, const struct tok_view *v,
    const struct aivenauth_token *changes, const unsigned char *hash);

/* revoke_fold.c: the revocation journal (revjournal.h) in every write.
 * revj_fold runs inside the transaction, after its work: each journaled
 * revocation is stored (its token revoked) in it.  revj_fold_end after
 * the publication (committed) or the abort: frees the slots the commit
 * made durable, releases the journal -- held until the state record is
 * written, so no revocation journaled after the commit is withdrawn and
 * then lifted by this publication. */
struct revj_fold {
	struct revj j;
	bool done[REVJ_SLOTS];
	size_t n_done;
	bool over_done[REVJ_OVER_MAX];  /* overflowed ones this write stores */
	size_t n_over_done;
};
enum aivenauth_status revj_fold(struct aivenauth_ctx *ctx, MDB_txn *txn,
    struct revj_fold *f);
void revj_fold_end(struct aivenauth_ctx *ctx, struct revj_fold *f,
    bool committed);
/* A journaled revocation of a token the cache stores live (a revoke that
 * died between its journal slot and its commit): writer_open stores it. */
bool revj_pending(struct aivenauth_ctx *ctx);

/* publish.c: after a commit (publish lock held). */
enum aivenauth_status publish_after_commit(struct aivenauth_ctx *ctx,
    bool full);
/* Is the published snapshot the writer's latest?  (after a crash between
 * commit and publish it is not) */
bool publish_current(struct aivenauth_ctx *ctx);

/*
 * aivenauth_cache_apply() with more work in the same write transaction:
 * after(ctx, txn, arg) runs once the snapshot is merged and the state
 * written (all or nothing: its failure aborts the whole apply).  For a
 * fleet follower: the publisher's hash key and hashes, and its sync time
 * and generation in "state".  after() sets ctx->cache->publish when it
 * changes a record.  (apply.c)
 */
enum aivenauth_status cache_apply_ext(struct aivenauth_ctx *ctx,
    const struct aivenauth_snapshot *snap, int64_t now,
    struct aivenauth_apply_stats *stats, write_fn *after, void *after_arg);

#endif
