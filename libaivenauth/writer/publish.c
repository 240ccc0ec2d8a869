/*
 * publish.c - hand what the writer committed to the readers.
 *
 * A change that could alter a decision (any record written) publishes a
 * new snapshot: a compact copy of the writer's environment written to
 * snapshot.mdb.new (O_EXCL, no symlink followed), fsynced, renamed over
 * snapshot.mdb, the directory fsynced; then the state record names it.
 * Readers holding the old file keep reading it until they see the record
 * move: a rename never changes a file anyone has open.  A sync that
 * changed nothing only updates the state record (its time and
 * generation): a few bytes, no snapshot.
 *
 * Called with the publish lock held (cache_write), so publications never
 * cross.  A crash between the commit and the rename leaves the writer
 * ahead of the readers; the next writer open notices (the record names
 * another snapshot id than the writer's meta) and publishes again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "writer/writer.h"

#define SNAPSHOT_TMP SNAPSHOT_FILE ".new"

/* The writer's committed meta: snapshot id and state. */
static enum aivenauth_status
writer_meta(struct aivenauth_ctx *ctx, unsigned char id[SNAP_ID_BYTES],
    struct cache_state *s)
{
	enum aivenauth_status st;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(ctx->cache->env, NULL, MDB_RDONLY, &txn)) != 0)
		return cache_err(ctx, rc, "beginning a read transaction");
	meta_snap_id(ctx, txn, id);
	st = state_get(ctx, txn, s);
	mdb_txn_abort(txn);
	return st;
}

static enum aivenauth_status
write_snapshot(struct aivenauth_ctx *ctx)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st = AIVENAUTH_OK;
	int dfd, fd, rc;

	dfd = open(c->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return cache_err(ctx, errno, "opening the cache directory");
	/* A leftover of a publication that died: ours to remove (the
	 * directory is writable by the writer only, and we hold the lock). */
	if (unlinkat(dfd, SNAPSHOT_TMP, 0) != 0 && errno != ENOENT) {
		st = cache_err(ctx, errno, "removing " SNAPSHOT_TMP);
		goto out;
	}
	fd = openat(dfd, SNAPSHOT_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		st = cache_err(ctx, errno, "creating " SNAPSHOT_TMP);
		goto out;
	}
	rc = mdb_env_copyfd2(c->env, fd, MDB_CP_COMPACT);
	if (rc == 0 && fsync(fd) != 0)
		rc = errno;
	if (rc == 0 && fchmod(fd, 0640) != 0)
		rc = errno;
	if (rc == 0)
		cache_adopt(ctx, fd, NULL);
	if (close(fd) != 0 && rc == 0)
		rc = errno;
	if (rc == 0 && renameat(dfd, SNAPSHOT_TMP, dfd, SNAPSHOT_FILE) != 0)
		rc = errno;
	if (rc != 0) {
		(void)unlinkat(dfd, SNAPSHOT_TMP, 0);
		st = cache_err(ctx, rc, "publishing the snapshot");
		goto out;
	}
	/* The rename must reach the disk before the record names it. */
	if (fsync(dfd) != 0)
		st = cache_err(ctx, errno, "syncing the cache directory");
out:
	close(dfd);
	return st;
}

enum aivenauth_status
publish_after_commit(struct aivenauth_ctx *ctx, bool full)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	struct cache_state s;
	struct pubstate ps;

	if (c->revj_over) {
		/* A revocation the full journal could not take (its overflow
		 * mark): what this write publishes may accept it. */
		pubstate_withdraw(&c->ps);
		ctx_log(ctx, LOG_WARNING, "cache %s: committed, not published: "
		    "a revocation could not be recorded (the revocation "
		    "journal's overflow mark is set): readers refuse to decide "
		    "until it is recorded (run the `aivenctl token revoke` "
		    "again) or the mark is cleared (`aivenctl token revoke "
		    "--clear-overflow`)", c->path);
		return AIVENAUTH_OK;
	}
	if (!c->applying && pubstate_read(&c->ps) &&
	    pubstate_until_sync(&c->ps)) {
		/* A sync fetched a revocation it could not store: what this
		 * write publishes would still accept it.  Committed; readers
		 * stay withdrawn until a sync (or follow step) stores it. */
		ctx_log(ctx, LOG_WARNING, "cache %s: committed, not published: "
		    "readers refuse to decide until a sync stores the "
		    "revocation the last one could not (run aivenctl sync, or "
		    "aivenctl follow --once on a follower)", c->path);
		return AIVENAUTH_OK;
	}
	if (!full && !publish_current(ctx))
		full = true;
	memset(&ps, 0, sizeof(ps));
	if ((st = writer_meta(ctx, ps.snap_id, &s)) != AIVENAUTH_OK)
		return st;
	if (full) {
		if ((st = write_snapshot(ctx)) != AIVENAUTH_OK) {
			/* Fail closed: the old snapshot may accept what this
			 * change revoked.  Withdrawing needs no new disk block
			 * (what a reader holding deleted snapshots open may
			 * have used up). */
			pubstate_withdraw(&c->ps);
			ctx_log(ctx, LOG_ERR, "cache %s: committed, but not "
			    "published: readers refuse to decide until the next "
			    "aivenctl command publishes it", c->path);
			return st;
		}
		ps.publish_time = (int64_t)time(NULL);
	} else {
		ps.publish_time = c->ps.last.publish_time;
	}
	ps.sync_time = s.sync_time;
	ps.generation = s.generation;
	pubstate_write(&c->ps, &ps);
	/* The writer reads its own map back: that is what readers see. */
	if (!pubstate_read(&c->ps) ||
	    sodium_memcmp(c->ps.last.snap_id, ps.snap_id, SNAP_ID_BYTES) != 0) {
		ctx_log(ctx, LOG_ERR, "cache %s: the state record did not read "
		    "back", c->path);
		pubstate_withdraw(&c->ps);
		return AIVENAUTH_ERR_IO;
	}
	return AIVENAUTH_OK;
}

bool
publish_current(struct aivenauth_ctx *ctx)
{
	struct cache *c = ctx->cache;
	unsigned char id[SNAP_ID_BYTES], zero[SNAP_ID_BYTES] = { 0 };
	struct cache_state s;
	struct stat st;
	char *snap;
	bool ok;

	if (writer_meta(ctx, id, &s) != AIVENAUTH_OK ||
	    sodium_memcmp(id, zero, sizeof(id)) == 0 || !pubstate_read(&c->ps))
		return false;
	if ((snap = path_join(c->path, SNAPSHOT_FILE)) == NULL)
		return false;
	ok = lstat(snap, &st) == 0 && S_ISREG(st.st_mode);
	free(snap);
	return ok && c->ps.last.sync_time != PUBSTATE_WITHDRAWN &&
	    sodium_memcmp(c->ps.last.snap_id, id, sizeof(id)) == 0;
}
