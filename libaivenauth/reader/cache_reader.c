/*
 * cache_reader.c - the reader's side of the trust boundary: the published
 * snapshot, opened MDB_RDONLY | MDB_NOLOCK, and the writer's state record.
 *
 * A reader (PAM in sshd, nginx, postgres, dovecot; aivenctl verify) needs
 * read permission on two files only the writer can write, and nothing
 * else.  It shares no writable memory with anyone: no lock file, no reader
 * table, no writer mutex.  So a reader, or a member of the readers'
 * group, can delay nothing and change no decision.  The snapshot never
 * changes once renamed into place, so its read transaction stays valid
 * for as long as the state record names it; a new snapshot is noticed by
 * a single load of the record's sequence word (pubstate.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "reader/reader.h"

static enum aivenauth_status
open_snapshot_once(struct aivenauth_ctx *ctx, bool *replaced)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	struct stat lst;
	bool exists;
	off_t size;
	int rc;

	if ((st = check_data_file(ctx, c->data_path, &exists, &size)) !=
	    AIVENAUTH_OK)
		return st;
	if (!exists) {
		char *old = path_join(c->path, "data.mdb");
		bool legacy = old != NULL && access(old, F_OK) == 0;

		free(old);
		if (legacy)
			ctx_log(ctx, LOG_ERR, "cache %s has the old layout (data.mdb "
			    "and lock.mdb shared with readers, which let them change "
			    "decisions) and no published snapshot; run 'aivenctl "
			    "sync' as root or the aivenauth user to convert it",
			    c->path);
		else
			ctx_log(ctx, LOG_ERR, "cache %s has no published snapshot "
			    "(run '%s' to create it)", c->path,
			    cache_create_cmd(ctx));
		return AIVENAUTH_ERR_CACHE_MISSING;
	}
	if (lstat(c->data_path, &lst) != 0)
		return cache_err(ctx, errno, "stat");
	if ((rc = mdb_env_create(&c->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(c->env, 4)) != 0)
		return cache_err(ctx, rc, "creating environment");
	/* MDB_NOLOCK is safe only because the file never changes; MDB_NOTLS:
	 * the transaction belongs to the context, not the thread. */
	rc = mdb_env_open(c->env, c->data_path, MDB_RDONLY | MDB_NOLOCK |
	    MDB_NOSUBDIR | MDB_NOTLS, 0);
	if (rc != 0)
		return cache_err(ctx, rc, "opening the published snapshot");
	{
		struct stat fst;
		int fd;

		/* The writer may have renamed a newer snapshot into place
		 * between our lstat and LMDB's open: that is a retry, not an
		 * unsafe file (the new one is checked the same way). */
		if (mdb_env_get_fd(c->env, &fd) == 0 && fstat(fd, &fst) == 0 &&
		    (fst.st_dev != lst.st_dev || fst.st_ino != lst.st_ino)) {
			*replaced = true;
			return AIVENAUTH_ERR_UNSAFE_FILE;
		}
	}
	if ((st = check_env_fd(ctx, c->env, lst.st_dev, lst.st_ino)) !=
	    AIVENAUTH_OK || (st = check_size(ctx)) != AIVENAUTH_OK ||
	    (st = load_env(ctx)) != AIVENAUTH_OK)
		return st;
	c->snap_dev = lst.st_dev;
	c->snap_ino = lst.st_ino;
	return AIVENAUTH_OK;
}

static void close_snapshot(struct cache *c);

static enum aivenauth_status
open_snapshot(struct aivenauth_ctx *ctx)
{
	enum aivenauth_status st;
	bool replaced;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		replaced = false;
		st = open_snapshot_once(ctx, &replaced);
		if (!replaced)
			return st;
		close_snapshot(ctx->cache);   /* a newer one: open that */
	}
	ctx_log(ctx, LOG_ERR, "cache %s: the snapshot kept changing while it "
	    "was being opened", ctx->cache->path);
	return AIVENAUTH_ERR_CACHE_ACCESS;
}

static void
close_snapshot(struct cache *c)
{
	if (c->rtxn != NULL && c->pid == getpid())
		mdb_txn_abort(c->rtxn);
	c->rtxn = NULL;
	c->rtxn_live = false;
	if (c->env != NULL)
		mdb_env_close(c->env);
	c->env = NULL;
}

/* Is this process in group gid (effective or supplementary)? */
static bool
in_group(gid_t gid)
{
	gid_t groups[256];
	int n, i;

	if (getegid() == gid)
		return true;
	if ((n = getgroups(256, groups)) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * The cache directory refused this process (EACCES): a service user left
 * out of the cache's group is the usual cause, and the service's log is
 * where its administrator looks.  Name the uid, the group and the fix
 * there, not only "Permission denied".  Names through the _r calls: a
 * service may have threads.
 */
static enum aivenauth_status
dir_denied(struct aivenauth_ctx *ctx, const char *dir, const char *what)
{
	char ubuf[1024], gbuf[4096], uname[64], gname[64];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	uid_t uid = geteuid();
	struct stat st;

	if (stat(dir, &st) != 0)
		return cache_err(ctx, EACCES, what);
	if (getpwuid_r(uid, &pw, ubuf, sizeof(ubuf), &pwp) == 0 && pwp != NULL)
		snprintf(uname, sizeof(uname), "%s", pwp->pw_name);
	else
		snprintf(uname, sizeof(uname), "%u", (unsigned)uid);
	if (getgrgid_r(st.st_gid, &gr, gbuf, sizeof(gbuf), &grp) == 0 &&
	    grp != NULL)
		snprintf(gname, sizeof(gname), "%s", grp->gr_name);
	else
		snprintf(gname, sizeof(gname), "%u", (unsigned)st.st_gid);
	if (!in_group(st.st_gid))
		ctx_log(ctx, LOG_ERR, "cache %s: %s: permission denied: this "
		    "process runs as uid %u (%s), which is not in the cache's "
		    "group %s; fix: adduser %s %s, then restart the service (a "
		    "process keeps the groups it started with)", dir, what,
		    (unsigned)uid, uname, gname, uname, gname);
	else
		ctx_log(ctx, LOG_ERR, "cache %s: %s: permission denied: uid %u "
		    "(%s) is in the cache's group %s, but the directory's mode "
		    "is %04o; fix: chmod 2750 %s", dir, what, (unsigned)uid,
		    uname, gname, (unsigned)(st.st_mode & 07777), dir);
	return AIVENAUTH_ERR_CACHE_ACCESS;
}

/* The state record exists but cannot be read as valid (its seq stayed
 * odd: a writer died mid-write, e.g. a `token revoke` killed while it
 * withdrew the readers; or bad magic, checksum or size).  It may have
 * been a withdrawal: fail closed until a writer rewrites it. */
static enum aivenauth_status
unreadable(struct aivenauth_ctx *ctx)
{
	ctx_log(ctx, LOG_ERR, "cache %s: the state record cannot be read (left "
	    "half-written by a writer that was stopped, or damaged); no "
	    "decision until a writer rewrites it (run 'aivenctl sync')",
	    ctx->cache->path);
	return AIVENAUTH_ERR_CACHE_CORRUPT;   /* damaged, not "permission" */
}

/* Map cache_dir/state if it is there.  A missing one is not an error (a
 * cache written by a version before the record existed: the reader then
 * stat()s the snapshot per call, and trusts only the sync time the
 * snapshot carries); one that is there but unreadable is (unreadable()). */
static enum aivenauth_status
map_state(struct aivenauth_ctx *ctx)
{
	struct cache *c = ctx->cache;
	int dfd, e;

	if (c->ps.rec != NULL)
		return AIVENAUTH_OK;
	dfd = open(c->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == EACCES)
		return dir_denied(ctx, c->path, "opening the cache directory");
	if (dfd < 0)
		return cache_err(ctx, errno, "opening the cache directory");
	e = pubstate_open(&c->ps, dfd, false);
	close(dfd);
	if (e == EPERM) {
		ctx_log(ctx, LOG_ERR, "cache %s: the state file is not a regular "
		    "file of root or the aivenauth user writable only by its "
		    "owner; refusing the cache (run 'aivenctl doctor')", c->path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (e == ENODATA || (e == 0 && !pubstate_read(&c->ps)))
		return unreadable(ctx);   /* too short, torn or damaged */
	if (e != 0 && e != ENOENT)
		return cache_err(ctx, e, "mapping the state file");
	return AIVENAUTH_OK;
}

/* The writer committed something it could not publish (a full disk, an
 * I/O error): the snapshot may accept what is revoked.  Fail closed until
 * a publication succeeds. */
static enum aivenauth_status
withdrawn(struct aivenauth_ctx *ctx)
{
	ctx_log(ctx, LOG_ERR, "cache %s: the writer could not publish its last "
	    "change; no decision until it can (run 'aivenctl sync' and see its "
	    "error)", ctx->cache->path);
	return AIVENAUTH_ERR_CACHE_ACCESS;
}

static bool
record_withdrawn(const struct cache *c)
{
	return c->ps.rec != NULL && c->ps.seen_seq != UINT64_MAX &&
	    c->ps.last.sync_time == PUBSTATE_WITHDRAWN;
}

/* The state verify decides on: the snapshot's prefix lengths, and the
 * record's sync time and generation when it speaks of this snapshot. */
static void
compute_state(struct cache *c)
{
	c->rstate = c->snap_state;
	if (c->ps.rec != NULL && c->ps.seen_seq != UINT64_MAX &&
	    c->ps.last.sync_time != PUBSTATE_WITHDRAWN &&
	    sodium_memcmp(c->ps.last.snap_id, c->snap_id, SNAP_ID_BYTES) == 0) {
		c->rstate.sync_time = c->ps.last.sync_time;
		c->rstate.generation = c->ps.last.generation;
	}
}

static const struct cache_side reader_side;

enum aivenauth_status
reader_open(struct aivenauth_ctx *ctx)
{
	enum aivenauth_status st;
	struct cache *c;

	if ((st = check_dir(ctx, ctx->cfg.cache_dir, false)) != AIVENAUTH_OK)
		return st;
	if ((c = cache_alloc(ctx, SNAPSHOT_FILE, &reader_side)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	ctx->cache = c;
	/* State first: a snapshot published in between is then newer than
	 * the record, which the next call notices. */
	if ((st = map_state(ctx)) != AIVENAUTH_OK ||
	    (st = open_snapshot(ctx)) != AIVENAUTH_OK) {
		aivenauth_cache_close(ctx);
		return st;
	}
	compute_state(c);
	if ((c->withdrawn = record_withdrawn(c))) {
		st = withdrawn(ctx);
		aivenauth_cache_close(ctx);
		return st;
	}
	return AIVENAUTH_OK;
}

static void
reader_close(struct cache *c)
{
	close_snapshot(c);
}

static enum aivenauth_status
reopen(struct aivenauth_ctx *ctx)
{
	enum aivenauth_status st;

	close_snapshot(ctx->cache);
	/* Fail closed: a newer snapshot exists and cannot be read, so the
	 * old one must not decide (it may accept a revoked token).  And the
	 * same checks as a first open (reader_open): a long-lived process
	 * (an nginx worker) must not accept what a new one (sshd) refuses,
	 * such as a cache directory made group-writable since it opened, or
	 * a state record writable by others (mapped again: one openat and
	 * mmap per published snapshot). */
	pubstate_close(&ctx->cache->ps);
	if ((st = check_dir(ctx, ctx->cfg.cache_dir, false)) != AIVENAUTH_OK ||
	    (st = map_state(ctx)) != AIVENAUTH_OK ||
	    (st = open_snapshot(ctx)) != AIVENAUTH_OK) {
		close_snapshot(ctx->cache);
		return st;
	}
	compute_state(ctx->cache);
	return AIVENAUTH_OK;
}

static enum aivenauth_status
reader_refresh(struct aivenauth_ctx *ctx)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	struct stat lst;

	if (c->env == NULL)
		return reopen(ctx);   /* an earlier reopen failed */
	if (c->ps.rec != NULL && !pubstate_moved(&c->ps))   /* one load */
		return c->withdrawn ? withdrawn(ctx) : AIVENAUTH_OK;
	if (c->ps.rec == NULL && (st = map_state(ctx)) != AIVENAUTH_OK)
		return st;
	if (c->ps.rec != NULL && !pubstate_read(&c->ps))
		return unreadable(ctx);   /* stays odd, damaged: fail closed */
	if (c->ps.rec != NULL) {
		if ((c->withdrawn = record_withdrawn(c)))
			return withdrawn(ctx);
		if (sodium_memcmp(c->ps.last.snap_id, c->snap_id,
		    SNAP_ID_BYTES) == 0) {
			compute_state(c);   /* a sync that changed nothing */
			return AIVENAUTH_OK;
		}
		return reopen(ctx);
	}
	/* No record at all (a cache from before the record existed): look
	 * at the snapshot itself on every call, and trust only its own
	 * time.  A record that is there but unreadable never gets here. */
	if (lstat(c->data_path, &lst) != 0)
		return cache_err(ctx, errno, "stat");
	if (lst.st_dev != c->snap_dev || lst.st_ino != c->snap_ino)
		return reopen(ctx);
	compute_state(c);
	return AIVENAUTH_OK;
}

/* The snapshot is immutable: its transaction stays good until the state
 * record names another one (one load per call). */
static enum aivenauth_status
reader_read_current(struct aivenauth_ctx *ctx, MDB_txn **txn,
    struct cache_state *s)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;

	if ((st = reader_refresh(ctx)) != AIVENAUTH_OK)
		return st;
	if (!c->rtxn_live) {
		if ((st = cache_read_begin(ctx, txn)) != AIVENAUTH_OK)
			return st;
		c->rtxn_live = true;
	}
	*txn = c->rtxn;
	*s = c->rstate;
	return AIVENAUTH_OK;
}

static const struct cache_side reader_side = {
	.read_current = reader_read_current,
	.close = reader_close,
};

enum aivenauth_status
reader_reopen(struct aivenauth_ctx *ctx)
{
	if (ctx->cache != NULL)
		aivenauth_cache_close(ctx);
	return reader_open(ctx);
}
