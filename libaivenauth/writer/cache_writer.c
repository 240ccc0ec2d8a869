/*
 * cache_writer.c - the writer's side of the trust boundary: its private
 * LMDB environment (cache_dir/writer/, mode 0700) and write transactions,
 * each followed by a publication (publish.c) under one lock.
 *
 * Only the writer (aivenctl as root or the aivenauth user) can reach
 * writer/: the lock file, whose shared memory decides which snapshot
 * LMDB readers see and who holds the writer mutex, is nobody else's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "writer/writer.h"

/*
 * One writer environment per cache directory per process, shared by every
 * writer context that opens it.  LMDB forbids opening one environment
 * twice in a process: closing the second would clear the first's reader
 * slots (they carry the same pid) and drop its fcntl locks.
 */
struct shared_env {
	struct shared_env *next;
	dev_t dev;
	ino_t ino;
	pid_t pid;
	MDB_env *env;
	MDB_dbi meta, users, tokens;
	unsigned char key[HASH_KEY_BYTES];
	unsigned refs;
};

static struct shared_env *envs;
static pthread_mutex_t envs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t envs_once = PTHREAD_ONCE_INIT;

static void
envs_lock_prepare(void)
{
	pthread_mutex_lock(&envs_lock);
}

static void
envs_lock_release(void)
{
	pthread_mutex_unlock(&envs_lock);
}

static void
envs_hook(void)
{
	/* Never inherit the registry lock held by another thread. */
	(void)pthread_atfork(envs_lock_prepare, envs_lock_release,
	    envs_lock_release);
}

/* Drop one reference (registry lock held); close on the last. */
static void
shared_env_put(struct shared_env *se)
{
	struct shared_env **pp;

	if (--se->refs > 0)
		return;
	for (pp = &envs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == se) {
			*pp = se->next;
			break;
		}
	}
	/* Safe in a forked child too: it clears only getpid()'s slots. */
	mdb_env_close(se->env);
	sodium_memzero(se->key, sizeof(se->key));
	free(se);
}

static void
writer_close(struct cache *c)
{
	if (c->se != NULL) {
		pthread_mutex_lock(&envs_lock);
		shared_env_put(c->se);
		pthread_mutex_unlock(&envs_lock);
	} else if (c->env != NULL) {
		mdb_env_close(c->env);
	}
	c->se = NULL;
	c->env = NULL;
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
}

enum aivenauth_status
put_meta(struct aivenauth_ctx *ctx, MDB_txn *txn, const char *name,
    const void *p, size_t n)
{
	MDB_val k = { strlen(name), (void *)name }, v = { n, (void *)p };

	return cache_err(ctx, mdb_put(txn, ctx->cache->meta, &k, &v, 0),
	    "writing meta");
}

enum aivenauth_status
state_put(struct aivenauth_ctx *ctx, MDB_txn *txn, const struct cache_state *s)
{
	return put_meta(ctx, txn, "state", s, sizeof(*s));
}

/* A writer reads its own environment: the transaction it kept is the
 * latest while nobody has committed since. */
static enum aivenauth_status
writer_read_current(struct aivenauth_ctx *ctx, MDB_txn **txn,
    struct cache_state *s)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	MDB_envinfo info;

	if (c->rtxn_live) {
		/* The meta page's txnid: nothing committed since our snapshot
		 * means it is the latest one, as a renew would give. */
		if (mdb_env_info(c->env, &info) == 0 &&
		    info.me_last_txnid == mdb_txn_id(c->rtxn)) {
			*txn = c->rtxn;
			*s = c->rstate;
			return AIVENAUTH_OK;
		}
	}
	if ((st = cache_read_begin(ctx, txn)) != AIVENAUTH_OK)
		return st;
	if ((st = state_get(ctx, *txn, s)) != AIVENAUTH_OK) {
		cache_read_end(ctx);
		return st;
	}
	c->rstate = *s;
	c->rtxn_live = true;
	return AIVENAUTH_OK;
}

static const struct cache_side writer_side = {
	.read_current = writer_read_current,
	.close = writer_close,
};

/* A fresh environment: databases, schema, key, empty state. */
static enum aivenauth_status
init_env(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg UNUSED)
{
	struct cache *c = ctx->cache;
	struct cache_state s = { 0, 0, 0 };
	uint32_t schema = CACHE_SCHEMA;
	int64_t now = (int64_t)time(NULL);
	enum aivenauth_status st;
	MDB_val v;
	int rc;

	if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &c->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "users", MDB_CREATE, &c->users)) != 0 ||
	    (rc = mdb_dbi_open(txn, "tokens", MDB_CREATE, &c->tokens)) != 0)
		return cache_err(ctx, rc, "creating databases");
	/* Another writer may have initialised it between our checks. */
	if (mdb_get(txn, c->meta, &(MDB_val){ 6, "schema" }, &v) == 0)
		return AIVENAUTH_OK;
	randombytes_buf(c->key, sizeof(c->key));
	if ((st = put_meta(ctx, txn, "schema", &schema, sizeof(schema))) != AIVENAUTH_OK ||
	    (st = put_meta(ctx, txn, "hash_key", c->key, sizeof(c->key))) != AIVENAUTH_OK ||
	    (st = put_meta(ctx, txn, "created", &now, sizeof(now))) != AIVENAUTH_OK ||
	    (st = state_put(ctx, txn, &s)) != AIVENAUTH_OK)
		return st;
	ctx_log(ctx, LOG_NOTICE, "created cache %s", c->path);
	return AIVENAUTH_OK;
}

/*
 * The writer's directory: created 0700, or converted from the first
 * layout (data.mdb and a group-writable lock.mdb right in cache_dir).
 */
static enum aivenauth_status
writer_dir(struct aivenauth_ctx *ctx, const char *wdir, bool create)
{
	struct cache *c = ctx->cache;
	char *old = NULL, *oldlock = NULL, *dst = NULL;
	enum aivenauth_status st = AIVENAUTH_OK;
	struct stat st_;
	bool legacy;

	if (lstat(wdir, &st_) == 0) {
		if (S_ISLNK(st_.st_mode) || !S_ISDIR(st_.st_mode)) {
			ctx_log(ctx, LOG_ERR, "cache writer directory %s is %s; "
			    "refusing it", wdir, S_ISLNK(st_.st_mode) ? "a symlink" :
			    "not a directory");
			return AIVENAUTH_ERR_UNSAFE_FILE;
		}
		if ((st_.st_mode & 077) != 0 || !owner_trusted(st_.st_uid, true)) {
			ctx_log(ctx, LOG_ERR, "cache writer directory %s must be "
			    "private to the writer (mode 0700, owner root or "
			    "aivenauth; it is %04o, uid %u); run: chmod 0700 %s",
			    wdir, (unsigned)(st_.st_mode & 07777),
			    (unsigned)st_.st_uid, wdir);
			return AIVENAUTH_ERR_UNSAFE_FILE;
		}
		return AIVENAUTH_OK;
	}
	if (errno != ENOENT)
		return cache_err(ctx, errno, "stat");
	old = path_join(c->path, "data.mdb");
	oldlock = path_join(c->path, "lock.mdb");
	dst = path_join(wdir, "data.mdb");
	if (old == NULL || oldlock == NULL || dst == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	legacy = lstat(old, &st_) == 0;
	if (!legacy && !create) {
		ctx_log(ctx, LOG_ERR, "cache %s does not exist yet (run 'aivenctl "
		    "sync' to create it)", c->path);
		st = AIVENAUTH_ERR_CACHE_MISSING;
		goto out;
	}
	/* Not a link of any kind, and ours: the conversion renames and
	 * chmods it (a hard link would hand us someone else's file). */
	if (legacy && (S_ISLNK(st_.st_mode) || !S_ISREG(st_.st_mode) ||
	    st_.st_nlink != 1 || !owner_trusted(st_.st_uid, true) ||
	    (st_.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
		ctx_log(ctx, LOG_ERR, "cache file %s is not a regular file of "
		    "root or aivenauth with one link, writable by its owner "
		    "only; refusing to convert it", old);
		st = AIVENAUTH_ERR_UNSAFE_FILE;
		goto out;
	}
	if (mkdir(wdir, 0700) != 0) {
		st = cache_err(ctx, errno, "creating the writer directory");
		goto out;
	}
	cache_adopt(ctx, -1, wdir);
	if (legacy) {
		/* The old lock file is dropped, never reused: readers' group
		 * could write it. */
		if (rename(old, dst) != 0) {
			st = cache_err(ctx, errno, "moving data.mdb into writer/");
			goto out;
		}
		(void)chmod(dst, 0600);
		(void)unlink(oldlock);
		ctx_log(ctx, LOG_NOTICE, "cache %s converted to the private "
		    "writer layout (readers now read %s/%s only)", c->path,
		    c->path, SNAPSHOT_FILE);
	}
out:
	free(old);
	free(oldlock);
	free(dst);
	return st;
}

static enum aivenauth_status
open_env(struct aivenauth_ctx *ctx, const char *wdir, bool *fresh)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	struct stat lst;
	char *lock;
	bool exists, lock_ok = true;
	off_t size = 0;
	uint64_t map;
	int rc;

	if ((st = check_data_file(ctx, c->data_path, &exists, &size)) !=
	    AIVENAUTH_OK)
		return st;
	if ((lock = path_join(wdir, "lock.mdb")) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	if (lstat(lock, &lst) == 0 && (S_ISLNK(lst.st_mode) ||
	    !S_ISREG(lst.st_mode)))
		lock_ok = false;
	free(lock);
	if (!lock_ok) {
		ctx_log(ctx, LOG_ERR, "cache %s/lock.mdb is not a regular file; "
		    "refusing it", wdir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (exists && lstat(c->data_path, &lst) != 0)
		return cache_err(ctx, errno, "stat");
	if ((rc = mdb_env_create(&c->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(c->env, 4)) != 0 ||
	    (rc = mdb_env_set_maxreaders(c->env, CACHE_MAX_READERS)) != 0)
		return cache_err(ctx, rc, "creating environment");
	map = (uint64_t)size * 2;
	if (map < CACHE_MIN_MAP)
		map = CACHE_MIN_MAP;
	if ((rc = mdb_env_set_mapsize(c->env, (size_t)map)) != 0)
		return cache_err(ctx, rc, "setting map size");
	rc = mdb_env_open(c->env, wdir, MDB_NOTLS, 0600);
	if (rc != 0) {
		if (rc == EACCES) {
			ctx_log(ctx, LOG_ERR, "cache %s is not writable by this "
			    "process (uid %u)", c->path, (unsigned)geteuid());
			return AIVENAUTH_ERR_READONLY;
		}
		return cache_err(ctx, rc, "opening the writer environment");
	}
	if (exists && ((st = check_env_fd(ctx, c->env, lst.st_dev,
	    lst.st_ino)) != AIVENAUTH_OK || (st = check_size(ctx)) != AIVENAUTH_OK))
		return st;
	if (!exists) {
		char *l = path_join(wdir, "lock.mdb");

		cache_adopt(ctx, -1, c->data_path);
		if (l != NULL)
			cache_adopt(ctx, -1, l);
		free(l);
	}
	*fresh = !exists;
	return AIVENAUTH_OK;
}

static void
nocow_dirs(struct aivenauth_ctx *ctx, const char *wdir)
{
	const char *d[2] = { ctx->cfg.cache_dir, wdir };
	int i, fd;

	for (i = 0; i < 2; i++) {
		fd = open(d[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			nocow_set(ctx, fd);
			close(fd);
		}
	}
}

enum aivenauth_status
writer_open(struct aivenauth_ctx *ctx, bool create)
{
	enum aivenauth_status st;
	struct shared_env *se;
	struct stat wst;
	struct cache *c;
	char *wdir = NULL, *lock = NULL;
	bool fresh = false;
	int dfd, dead = 0, e;

	(void)pthread_once(&envs_once, envs_hook);
	if ((st = check_dir(ctx, ctx->cfg.cache_dir, create)) != AIVENAUTH_OK)
		return st;
	if ((c = cache_alloc(ctx, WRITER_DIR "/data.mdb", &writer_side)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	ctx->cache = c;
	c->rdwr = true;
	wdir = path_join(c->path, WRITER_DIR);
	lock = wdir != NULL ? path_join(wdir, "publish.lock") : NULL;
	if (lock == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto fail;
	}
	if ((st = writer_dir(ctx, wdir, create)) != AIVENAUTH_OK)
		goto fail;
	/* No copy-on-write for what is made in them from now on (btrfs;
	 * nocow.c): the journal, the state record, the environment. */
	nocow_dirs(ctx, wdir);
	if (lstat(wdir, &wst) != 0) {
		st = cache_err(ctx, errno, "stat");
		goto fail;
	}
	c->lockfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (c->lockfd < 0) {
		e = errno;
		if (e == EACCES || e == EROFS) {
			ctx_log(ctx, LOG_ERR, "cache %s is not writable by this "
			    "process (uid %u)", c->path, (unsigned)geteuid());
			st = AIVENAUTH_ERR_READONLY;
		} else {
			st = cache_err(ctx, e, "opening the publish lock");
		}
		goto fail;
	}
	cache_adopt(ctx, c->lockfd, NULL);
	if ((dfd = open(c->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		st = cache_err(ctx, errno, "opening the cache directory");
		goto fail;
	}
	e = pubstate_open(&c->ps, dfd, true);
	close(dfd);
	if (e != 0) {
		if (e == EPERM)
			ctx_log(ctx, LOG_ERR, "cache %s/state is not a regular file "
			    "of root or aivenauth writable only by its owner; remove "
			    "it and run 'aivenctl sync'", c->path);
		st = e == EPERM ? AIVENAUTH_ERR_UNSAFE_FILE :
		    cache_err(ctx, e, "opening the state file");
		goto fail;
	}
	{
		char *sp = path_join(c->path, "state");

		if (sp != NULL)
			cache_adopt(ctx, -1, sp);
		free(sp);
	}
	pthread_mutex_lock(&envs_lock);
	for (se = envs; se != NULL; se = se->next)
		if (se->dev == wst.st_dev && se->ino == wst.st_ino &&
		    se->pid == c->pid)
			break;
	if (se != NULL) {
		se->refs++;
		c->se = se;
		c->env = se->env;
		c->meta = se->meta;
		c->users = se->users;
		c->tokens = se->tokens;
		memcpy(c->key, se->key, sizeof(c->key));
		pthread_mutex_unlock(&envs_lock);
		goto opened;
	}
	if ((st = open_env(ctx, wdir, &fresh)) != AIVENAUTH_OK)
		goto fail_locked;
	/* A writer clears reader slots left by processes that died mid-read
	 * (only writers read this environment). */
	mdb_reader_check(c->env, &dead);
	if (dead > 0)
		ctx_log(ctx, LOG_INFO, "cleared %d stale reader slot(s)", dead);
	if (fresh && (st = cache_write(ctx, init_env, NULL)) != AIVENAUTH_OK)
		goto fail_locked;
	if ((st = load_env(ctx)) != AIVENAUTH_OK)
		goto fail_locked;
	if ((se = calloc(1, sizeof(*se))) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto fail_locked;
	}
	se->dev = wst.st_dev;
	se->ino = wst.st_ino;
	se->pid = c->pid;
	se->env = c->env;
	se->meta = c->meta;
	se->users = c->users;
	se->tokens = c->tokens;
	se->refs = 1;
	memcpy(se->key, c->key, sizeof(se->key));
	se->next = envs;
	envs = se;
	c->se = se;
	pthread_mutex_unlock(&envs_lock);
opened:
	/* The revocation journal owns its blocks before the disk can fill. */
	if ((st = revj_ensure(ctx)) != AIVENAUTH_OK)
		ctx_log(ctx, LOG_WARNING, "cache %s: cannot allocate the "
		    "revocation journal (%s): a revocation made while the disk "
		    "is full may not be recorded", c->path,
		    aivenauth_strerror(st));
	/* Readers must see what the writer has: after a crash between a
	 * commit and its publication, after a conversion, a revocation left
	 * in the journal, or the first time. */
	if ((!publish_current(ctx) || revj_pending(ctx)) &&
	    (st = cache_write(ctx, NULL, NULL)) != AIVENAUTH_OK) {
		if (st != AIVENAUTH_ERR_CACHE_FULL && st != AIVENAUTH_ERR_IO)
			goto fail;
		/* The disk is full: readers must not decide on what they have
		 * (it may lack a revocation); the writer goes on, so that a
		 * sync still sends the pending DELETEs. */
		pubstate_withdraw(&c->ps);
		ctx_log(ctx, LOG_WARNING, "cache %s: cannot store what is "
		    "pending (%s): readers refuse to decide until a write "
		    "succeeds", c->path, aivenauth_strerror(st));
	}
	free(wdir);
	free(lock);
	return AIVENAUTH_OK;
fail_locked:
	pthread_mutex_unlock(&envs_lock);
fail:
	free(wdir);
	free(lock);
	aivenauth_cache_close(ctx);
	return st;
}

enum aivenauth_status
cache_write(struct aivenauth_ctx *ctx, write_fn *fn, void *arg)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	MDB_envinfo info;
	MDB_txn *txn;
	unsigned char id[SNAP_ID_BYTES];
	struct revj_fold fold;
	int rc, tries;

	if (c == NULL || !c->rdwr) {
		ctx_log(ctx, LOG_ERR, "cache is open read-only; this needs write "
		    "access");
		return AIVENAUTH_ERR_READONLY;
	}
	cache_read_end(ctx);
	/* Commit and publication under one lock: two writers' publications
	 * never cross (an older snapshot renamed over a newer one). */
	while (flock(c->lockfd, LOCK_EX) != 0)
		if (errno != EINTR)
			return cache_err(ctx, errno, "taking the publish lock");
	fold.j.fd = -1;
	for (tries = 0; tries < 16; tries++) {
		if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0) {
			if (rc == MDB_MAP_RESIZED &&
			    mdb_env_set_mapsize(c->env, 0) == 0)
				continue;
			st = cache_err(ctx, rc, "beginning a write transaction");
			goto out;
		}
		c->map_full = false;
		/* Every write publishes unless it says nothing changed (apply:
		 * a sync that changed no record updates only the state). */
		c->publish = true;
		c->applying = false;
		st = fn != NULL ? fn(ctx, txn, arg) : AIVENAUTH_OK;
		/* Every commit carries every journaled revocation: none is
		 * lifted from the readers' view by a write that lacks it. */
		if (st == AIVENAUTH_OK)
			st = revj_fold(ctx, txn, &fold);
		if (st == AIVENAUTH_OK && c->publish) {
			randombytes_buf(id, sizeof(id));
			st = put_meta(ctx, txn, "snap_id", id, sizeof(id));
		}
		if (st != AIVENAUTH_OK) {
			mdb_txn_abort(txn);
			if (!c->map_full)
				goto out;
			rc = MDB_MAP_FULL;
		} else if ((rc = mdb_txn_commit(txn)) == 0) {
			/* The journal stays locked through the publication: a
			 * `token revoke` that journaled and withdrew the readers
			 * after this commit (so what it publishes lacks its
			 * revocation) would otherwise see its withdrawal lifted
			 * by this state-record write.  Held, the revoke journals
			 * after the publication, and withdraws after it. */
			st = publish_after_commit(ctx, c->publish);
			revj_fold_end(ctx, &fold, true);
			goto out;
		}
		if (rc != MDB_MAP_FULL) {
			/* Nothing changed: readers still see what the writer
			 * has (a lost revocation is withdrawn by its caller,
			 * aivenauth_cache_revoke). */
			st = cache_err(ctx, rc, "committing");
			goto out;
		}
		/* The map filled: double it and redo the whole transaction
		 * (LMDB cannot grow the map inside one). */
		if (c->rtxn != NULL) {
			mdb_txn_abort(c->rtxn);
			c->rtxn = NULL;
		}
		if (mdb_env_info(c->env, &info) != 0 ||
		    info.me_mapsize > ((size_t)1 << 40) ||
		    (rc = mdb_env_set_mapsize(c->env, info.me_mapsize * 2)) != 0) {
			ctx_log(ctx, LOG_ERR, "cache map cannot grow further");
			st = AIVENAUTH_ERR_CACHE_FULL;
			goto out;
		}
		ctx_log(ctx, LOG_INFO, "cache map grown to %zu MiB",
		    info.me_mapsize * 2 >> 20);
	}
	st = AIVENAUTH_ERR_CACHE_FULL;
out:
	revj_fold_end(ctx, &fold, false);
	(void)flock(c->lockfd, LOCK_UN);
	return st;
}
