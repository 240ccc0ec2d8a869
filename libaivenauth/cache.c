/*
 * cache.c - open, check and close the LMDB environment; transactions.
 *
 * Readers (PAM in sshd, nginx workers, postgres backends) open the
 * environment MDB_RDONLY and never block on the writer: LMDB's MVCC gives
 * each read transaction the last committed snapshot.  aivenctl is the only
 * writer.  Before LMDB sees the files we check them ourselves, because
 * LMDB would happily follow a symlink, use a world-writable file, or map a
 * truncated file and die of SIGBUS on the first read past its end.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cache.h"

enum aivenauth_status
cache_err(struct aivenauth_ctx *ctx, int rc, const char *what)
{
	enum aivenauth_status st;

	switch (rc) {
	case MDB_SUCCESS:
		return AIVENAUTH_OK;
	case ENOMEM:
		st = AIVENAUTH_ERR_NOMEM;
		break;
	case ENOENT:
		st = AIVENAUTH_ERR_CACHE_MISSING;
		break;
	case EACCES:
	case EPERM:
		st = AIVENAUTH_ERR_CACHE_ACCESS;
		break;
	case EROFS:
		st = AIVENAUTH_ERR_READONLY;
		break;
	case MDB_MAP_FULL:
		/* Not an error yet: cache_write() grows the map and retries. */
		if (ctx->cache != NULL)
			ctx->cache->map_full = true;
		return AIVENAUTH_ERR_CACHE_FULL;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		st = AIVENAUTH_ERR_CACHE_FULL;
		break;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
		st = AIVENAUTH_ERR_CACHE_CORRUPT;
		break;
	case MDB_READERS_FULL:
		/* Not a disk problem: every reader slot is held by a live
		 * process (dead ones are cleared by each writer open). */
		ctx_log(ctx, LOG_ERR, "cache %s: %s: all %d LMDB reader slots "
		    "are in use by running processes", ctx->cache != NULL &&
		    ctx->cache->path != NULL ? ctx->cache->path : ctx->cfg.cache_dir,
		    what, CACHE_MAX_READERS);
		return AIVENAUTH_ERR_CACHE_ACCESS;
	default:
		st = AIVENAUTH_ERR_IO;
		break;
	}
	if (rc == EIO) {
		/* LMDB 0.9 reports a short write (what a full disk gives) as
		 * EIO, losing ENOSPC: say so when the file system is full. */
		struct statvfs sv;
		const char *dir = ctx->cache != NULL && ctx->cache->path != NULL ?
		    ctx->cache->path : ctx->cfg.cache_dir;

		if (dir != NULL && statvfs(dir, &sv) == 0 && sv.f_bavail == 0) {
			ctx_log(ctx, LOG_ERR, "cache %s: %s: no space left on the "
			    "file system (short write)", dir, what);
			return AIVENAUTH_ERR_CACHE_FULL;
		}
	}
	ctx_log(ctx, LOG_ERR, "cache %s: %s: %s",
	    ctx->cache != NULL && ctx->cache->path != NULL ? ctx->cache->path :
	    ctx->cfg.cache_dir, what, mdb_strerror(rc));
	return st;
}

static enum aivenauth_status
check_dir(struct aivenauth_ctx *ctx, const char *dir, bool create)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT && create) {
			/* 0750: group aivenauth reads, nobody else. */
			if (mkdir(dir, 0750) != 0) {
				int e = errno;

				ctx_log(ctx, LOG_ERR, "cannot create cache directory %s: "
				    "%s", dir, e == ENOENT ? "its parent directory does "
				    "not exist" : strerror(e));
				return e == EACCES ? AIVENAUTH_ERR_CACHE_ACCESS :
				    e == ENOENT ? AIVENAUTH_ERR_CACHE_MISSING :
				    AIVENAUTH_ERR_IO;
			}
			return AIVENAUTH_OK;
		}
		if (errno == ENOENT) {
			ctx_log(ctx, LOG_ERR, "cache directory %s does not exist "
			    "(run 'aivenctl sync' to create it)", dir);
			return AIVENAUTH_ERR_CACHE_MISSING;
		}
		ctx_log(ctx, LOG_ERR, "cache directory %s: %s", dir, strerror(errno));
		return errno == EACCES ? AIVENAUTH_ERR_CACHE_ACCESS : AIVENAUTH_ERR_IO;
	}
	if (S_ISLNK(st.st_mode)) {
		ctx_log(ctx, LOG_ERR, "cache directory %s is a symlink; refusing to "
		    "follow it (point cache_dir at the real directory)", dir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (!S_ISDIR(st.st_mode)) {
		ctx_log(ctx, LOG_ERR, "cache directory %s is not a directory", dir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if ((st.st_mode & S_IWOTH) != 0) {
		ctx_log(ctx, LOG_ERR, "cache directory %s is world-writable (mode "
		    "%04o); run: chmod o-w %s", dir, (unsigned)(st.st_mode & 07777), dir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (!owner_trusted(st.st_uid, true)) {
		ctx_log(ctx, LOG_ERR, "cache directory %s is owned by uid %u; it must "
		    "be owned by root or the aivenauth user; run: chown aivenauth %s",
		    dir, (unsigned)st.st_uid, dir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	return AIVENAUTH_OK;
}

/* data.mdb: regular, not a symlink, not world-writable.  Sets *exists. */
static enum aivenauth_status
check_data_file(struct aivenauth_ctx *ctx, const char *path, bool *exists,
    off_t *size)
{
	struct stat st;

	*exists = false;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return AIVENAUTH_OK;
		ctx_log(ctx, LOG_ERR, "cache file %s: %s", path, strerror(errno));
		return errno == EACCES ? AIVENAUTH_ERR_CACHE_ACCESS : AIVENAUTH_ERR_IO;
	}
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
		ctx_log(ctx, LOG_ERR, "cache file %s is %s; refusing it", path,
		    S_ISLNK(st.st_mode) ? "a symlink" : "not a regular file");
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if ((st.st_mode & S_IWOTH) != 0 || !owner_trusted(st.st_uid, true)) {
		ctx_log(ctx, LOG_ERR, "cache file %s is world-writable or has an "
		    "untrusted owner (uid %u, mode %04o); run: chown aivenauth %s && "
		    "chmod 0640 %s", path, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777), path, path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	*exists = true;
	*size = st.st_size;
	return AIVENAUTH_OK;
}

/*
 * Fork detection without a getpid() system call per verify: a child
 * handler bumps a generation counter; a cache remembers the generation it
 * was opened in.  If the handler cannot be registered, getpid() it is.
 */
static volatile unsigned long fork_gen;
static bool fork_hooked;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void
fork_child(void)
{
	fork_gen++;
}

/*
 * One LMDB environment per cache directory per process, shared by every
 * context that opens it.  LMDB forbids opening one environment twice in a
 * process: closing the second would clear the first's reader slots (they
 * carry the same pid) and drop its fcntl locks, after which a writer may
 * reuse pages a live read transaction still uses.  Contexts on one cache
 * in one process are common: the PAM module's pool keeps one per module
 * argument set, and several services may point at the same cache.
 */
struct shared_env {
	struct shared_env *next;
	dev_t dev;
	ino_t ino;
	pid_t pid;
	MDB_env *env;
	MDB_dbi meta, users, tokens;
	unsigned char key[HASH_KEY_BYTES];
	bool rdwr;
	unsigned refs;
};

static struct shared_env *envs;
static pthread_mutex_t envs_lock = PTHREAD_MUTEX_INITIALIZER;

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
fork_hook(void)
{
	fork_hooked = pthread_atfork(NULL, NULL, fork_child) == 0;
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

bool
cache_is_ours(const struct cache *c)
{
	if (!fork_hooked)
		return c->pid == getpid();
	return c->fork_gen == fork_gen;
}

static void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	/*
	 * After fork() the child shares the parent's reader table (it lives in
	 * the mapped lock file): aborting the inherited read transaction would
	 * clear the *parent's* reader slot, so a child leaves it alone (its
	 * small struct is leaked once).  mdb_env_close() only clears slots of
	 * getpid() and drops no lock the child holds, so closing is safe and
	 * returns the child's descriptors and mapping.
	 */
	if (c->rtxn != NULL && c->pid == getpid())
		mdb_txn_abort(c->rtxn);
	if (c->se != NULL) {
		pthread_mutex_lock(&envs_lock);
		shared_env_put(c->se);
		pthread_mutex_unlock(&envs_lock);
	} else if (c->env != NULL) {
		mdb_env_close(c->env);
	}
	sodium_memzero(c->key, sizeof(c->key));
	free(c->path);
	free(c->data_path);
	free(c);
}

void
aivenauth_cache_close(struct aivenauth_ctx *ctx)
{
	if (ctx == NULL)
		return;
	cache_free(ctx->cache);
	ctx->cache = NULL;
}

static enum aivenauth_status
get_meta(struct aivenauth_ctx *ctx, MDB_txn *txn, const char *name, MDB_val *v)
{
	MDB_val k = { strlen(name), (void *)name };
	int rc;

	rc = mdb_get(txn, ctx->cache->meta, &k, v);
	if (rc == MDB_NOTFOUND) {
		ctx_log(ctx, LOG_ERR, "cache %s: meta key '%s' missing: not an "
		    "aivenauth cache, or damaged", ctx->cache->path, name);
		return AIVENAUTH_ERR_CACHE_CORRUPT;
	}
	return cache_err(ctx, rc, "reading meta");
}

static enum aivenauth_status
put_meta(struct aivenauth_ctx *ctx, MDB_txn *txn, const char *name,
    const void *p, size_t n)
{
	MDB_val k = { strlen(name), (void *)name }, v = { n, (void *)p };

	return cache_err(ctx, mdb_put(txn, ctx->cache->meta, &k, &v, 0),
	    "writing meta");
}

enum aivenauth_status
state_get(struct aivenauth_ctx *ctx, MDB_txn *txn, struct cache_state *s)
{
	enum aivenauth_status st;
	MDB_val v;

	if ((st = get_meta(ctx, txn, "state", &v)) != AIVENAUTH_OK)
		return st;
	if (v.mv_size != sizeof(*s)) {
		ctx_log(ctx, LOG_ERR, "cache %s: meta 'state' has size %zu",
		    ctx->cache->path, v.mv_size);
		return AIVENAUTH_ERR_CACHE_CORRUPT;
	}
	memcpy(s, v.mv_data, sizeof(*s));
	return AIVENAUTH_OK;
}

enum aivenauth_status
state_put(struct aivenauth_ctx *ctx, MDB_txn *txn, const struct cache_state *s)
{
	return put_meta(ctx, txn, "state", s, sizeof(*s));
}

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

/* Open the named databases, check the schema, load the hash key. */
static enum aivenauth_status
load_env(struct aivenauth_ctx *ctx)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	struct cache_state s;
	uint32_t schema;
	MDB_txn *txn;
	MDB_val v;
	int rc;

	if ((rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0)
		return cache_err(ctx, rc, "beginning a read transaction");
	if ((rc = mdb_dbi_open(txn, "meta", 0, &c->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "users", 0, &c->users)) != 0 ||
	    (rc = mdb_dbi_open(txn, "tokens", 0, &c->tokens)) != 0) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND) {
			ctx_log(ctx, LOG_ERR, "cache %s is an LMDB environment but "
			    "not an aivenauth cache", c->path);
			return AIVENAUTH_ERR_CACHE_CORRUPT;
		}
		return cache_err(ctx, rc, "opening databases");
	}
	if ((st = get_meta(ctx, txn, "schema", &v)) != AIVENAUTH_OK)
		goto fail;
	if (v.mv_size != sizeof(schema)) {
		st = AIVENAUTH_ERR_CACHE_CORRUPT;
		ctx_log(ctx, LOG_ERR, "cache %s: bad schema record", c->path);
		goto fail;
	}
	memcpy(&schema, v.mv_data, sizeof(schema));
	if (schema > CACHE_SCHEMA) {
		ctx_log(ctx, LOG_ERR, "cache %s has schema %u, newer than this "
		    "aivenauth %s understands (%u); upgrade aivenauth, or remove the "
		    "cache and run 'aivenctl sync'", c->path, schema,
		    AIVENAUTH_VERSION_STRING, CACHE_SCHEMA);
		st = AIVENAUTH_ERR_CACHE_VERSION;
		goto fail;
	}
	if (schema < 1) {
		st = AIVENAUTH_ERR_CACHE_CORRUPT;
		ctx_log(ctx, LOG_ERR, "cache %s: invalid schema %u", c->path, schema);
		goto fail;
	}
	if ((st = get_meta(ctx, txn, "hash_key", &v)) != AIVENAUTH_OK)
		goto fail;
	if (v.mv_size != sizeof(c->key)) {
		st = AIVENAUTH_ERR_CACHE_CORRUPT;
		ctx_log(ctx, LOG_ERR, "cache %s: bad hash key record", c->path);
		goto fail;
	}
	memcpy(c->key, v.mv_data, sizeof(c->key));
	if ((st = state_get(ctx, txn, &s)) != AIVENAUTH_OK)
		goto fail;
	/* Committing a read txn keeps the dbi handles for the env. */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return cache_err(ctx, rc, "opening databases");
	return AIVENAUTH_OK;
fail:
	mdb_txn_abort(txn);
	return st;
}

/* A data.mdb shorter than its own meta page says is truncated: mapping it
 * would end in SIGBUS inside the host process (sshd, nginx...). */
static enum aivenauth_status
check_size(struct aivenauth_ctx *ctx)
{
	struct cache *c = ctx->cache;
	MDB_envinfo info;
	MDB_stat mst;
	struct stat st;

	if (mdb_env_info(c->env, &info) != 0 || mdb_env_stat(c->env, &mst) != 0)
		return AIVENAUTH_ERR_CACHE_CORRUPT;
	if (stat(c->data_path, &st) != 0)
		return cache_err(ctx, errno, "stat");
	if ((uint64_t)st.st_size < ((uint64_t)info.me_last_pgno + 1) * mst.ms_psize) {
		ctx_log(ctx, LOG_ERR, "cache file %s is truncated (%lld bytes, needs "
		    "%llu); remove it and run 'aivenctl sync'", c->data_path,
		    (long long)st.st_size,
		    (unsigned long long)(info.me_last_pgno + 1) * mst.ms_psize);
		return AIVENAUTH_ERR_CACHE_CORRUPT;
	}
	return AIVENAUTH_OK;
}

static char *
path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

enum aivenauth_status
aivenauth_cache_open(struct aivenauth_ctx *ctx, unsigned flags)
{
	bool rdwr = (flags & AIVENAUTH_OPEN_RDWR) != 0;
	bool create = rdwr && (flags & AIVENAUTH_OPEN_CREATE) != 0;
	enum aivenauth_status st;
	struct shared_env *se;
	struct stat dst;
	struct cache *c;
	bool exists;
	off_t size = 0;
	char *lock;
	int rc;

	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (ctx->cache != NULL) {
		if (ctx->cache->pid == getpid() && (ctx->cache->rdwr || !rdwr))
			return AIVENAUTH_OK;
		aivenauth_cache_close(ctx);
	}
	if ((st = check_dir(ctx, ctx->cfg.cache_dir, create)) != AIVENAUTH_OK)
		return st;
	if (stat(ctx->cfg.cache_dir, &dst) != 0)
		return cache_err(ctx, errno, "stat");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	ctx->cache = c;
	(void)pthread_once(&fork_once, fork_hook);
	c->fork_gen = fork_gen;
	c->pid = getpid();
	c->path = strdup(ctx->cfg.cache_dir);
	c->data_path = path_join(ctx->cfg.cache_dir, "data.mdb");
	if (c->path == NULL || c->data_path == NULL) {
		free(c->path);
		free(c->data_path);
		free(c);
		ctx->cache = NULL;
		return AIVENAUTH_ERR_NOMEM;
	}
	if ((st = check_data_file(ctx, c->data_path, &exists, &size)) != AIVENAUTH_OK)
		goto fail_unlocked;
	/* The registry lock is held while opening, so two threads never open
	 * one cache twice. */
	pthread_mutex_lock(&envs_lock);
	for (se = envs; se != NULL; se = se->next)
		if (se->dev == dst.st_dev && se->ino == dst.st_ino &&
		    se->pid == c->pid)
			break;
	if (se != NULL) {
		if (rdwr && !se->rdwr) {
			pthread_mutex_unlock(&envs_lock);
			ctx_log(ctx, LOG_ERR, "cache %s is open read-only in this "
			    "process (not writable by uid %u)", c->path,
			    (unsigned)geteuid());
			st = AIVENAUTH_ERR_READONLY;
			goto fail_unlocked;
		}
		se->refs++;
		c->se = se;
		c->env = se->env;
		c->meta = se->meta;
		c->users = se->users;
		c->tokens = se->tokens;
		c->rdwr = se->rdwr;
		memcpy(c->key, se->key, sizeof(c->key));
		pthread_mutex_unlock(&envs_lock);
		return AIVENAUTH_OK;
	}
	/* A process that may write the cache gets a writable environment
	 * even for reading: the environment is shared, and LMDB cannot turn
	 * a read-only one into a writable one while it is in use (online
	 * learning needs to write from a verifying process). */
	c->rdwr = rdwr || (exists && access(c->data_path, W_OK) == 0 &&
	    access(c->path, W_OK) == 0);
	rdwr = c->rdwr;
	if (!exists && !create) {
		ctx_log(ctx, LOG_ERR, "cache %s has no data.mdb (run 'aivenctl sync' "
		    "to create it)", c->path);
		st = AIVENAUTH_ERR_CACHE_MISSING;
		goto fail;
	}
	if ((rc = mdb_env_create(&c->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(c->env, 4)) != 0 ||
	    (rc = mdb_env_set_maxreaders(c->env, CACHE_MAX_READERS)) != 0) {
		st = cache_err(ctx, rc, "creating environment");
		goto fail;
	}
	if (rdwr) {
		uint64_t map = (uint64_t)size * 2;

		if (map < CACHE_MIN_MAP)
			map = CACHE_MIN_MAP;
		if ((rc = mdb_env_set_mapsize(c->env, (size_t)map)) != 0) {
			st = cache_err(ctx, rc, "setting map size");
			goto fail;
		}
	}
	/* MDB_NOTLS: read transactions belong to the context, not the
	 * thread, so several contexts can live in one thread (a PAM host). */
	rc = mdb_env_open(c->env, c->path, MDB_NOTLS | (rdwr ? 0 : MDB_RDONLY),
	    0640);
	if (rc != 0) {
		if (rc == EACCES && rdwr)
			ctx_log(ctx, LOG_ERR, "cache %s is not writable by this "
			    "process (uid %u)", c->path, (unsigned)geteuid());
		st = cache_err(ctx, rc, "opening environment");
		if (rc == EACCES && rdwr)
			st = AIVENAUTH_ERR_READONLY;
		goto fail;
	}
	if (exists && (st = check_size(ctx)) != AIVENAUTH_OK)
		goto fail;
	if (flags & AIVENAUTH_OPEN_RDWR) {
		/* A writer clears reader slots left by processes that died
		 * mid-read (not every reader that happens to be writable). */
		int dead = 0;

		mdb_reader_check(c->env, &dead);
		if (dead > 0)
			ctx_log(ctx, LOG_INFO, "cleared %d stale reader slot(s)", dead);
	}
	if (!exists) {
		if ((st = cache_write(ctx, init_env, NULL)) != AIVENAUTH_OK)
			goto fail;
		/* Readers in group aivenauth need rw on lock.mdb, r on data.mdb. */
		if ((lock = path_join(c->path, "lock.mdb")) != NULL) {
			(void)chmod(lock, 0660);
			free(lock);
		}
		(void)chmod(c->data_path, 0640);
	}
	if ((st = load_env(ctx)) != AIVENAUTH_OK)
		goto fail;
	if ((se = calloc(1, sizeof(*se))) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto fail;
	}
	se->dev = dst.st_dev;
	se->ino = dst.st_ino;
	se->pid = c->pid;
	se->env = c->env;
	se->meta = c->meta;
	se->users = c->users;
	se->tokens = c->tokens;
	se->rdwr = c->rdwr;
	se->refs = 1;
	memcpy(se->key, c->key, sizeof(se->key));
	se->next = envs;
	envs = se;
	c->se = se;
	pthread_mutex_unlock(&envs_lock);
	return AIVENAUTH_OK;
fail:
	pthread_mutex_unlock(&envs_lock);
fail_unlocked:
	aivenauth_cache_close(ctx);
	return st;
}

enum aivenauth_status
cache_read_begin(struct aivenauth_ctx *ctx, MDB_txn **txn)
{
	struct cache *c = ctx->cache;
	int rc, tries;

	if (c->rtxn_live) {
		mdb_txn_reset(c->rtxn);
		c->rtxn_live = false;
	}
	for (tries = 0; tries < 3; tries++) {
		if (c->rtxn != NULL)
			rc = mdb_txn_renew(c->rtxn);
		else
			rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &c->rtxn);
		if (rc == 0) {
			*txn = c->rtxn;
			return AIVENAUTH_OK;
		}
		if (rc == MDB_BAD_RSLOT && c->rtxn != NULL) {
			/* Our reader slot was taken from us (another copy of
			 * LMDB in this process closed an environment on these
			 * files: e.g. a program that links libaivenauth and
			 * also runs pam_aiven, which carries its own copy).
			 * Aborting would write to a slot that may now be
			 * someone else's: leave the old txn, take a new one. */
			ctx_log(ctx, LOG_WARNING, "cache %s: reader slot lost; "
			    "taking a new one", c->path);
			c->rtxn = NULL;
			continue;
		}
		if (rc != MDB_MAP_RESIZED)
			break;
		/* The writer grew the map: adopt the new size (no txn may be
		 * live in this env while we do). */
		if (c->rtxn != NULL) {
			mdb_txn_abort(c->rtxn);
			c->rtxn = NULL;
		}
		if ((rc = mdb_env_set_mapsize(c->env, 0)) != 0)
			break;
	}
	if (c->rtxn != NULL && rc != 0) {
		mdb_txn_abort(c->rtxn);
		c->rtxn = NULL;
	}
	return cache_err(ctx, rc, "beginning a read transaction");
}

void
aivenauth_cache_idle(struct aivenauth_ctx *ctx)
{
	if (ctx != NULL && ctx->cache != NULL && cache_is_ours(ctx->cache))
		cache_read_end(ctx);
}

void
cache_read_end(struct aivenauth_ctx *ctx)
{
	if (ctx->cache != NULL && ctx->cache->rtxn != NULL) {
		mdb_txn_reset(ctx->cache->rtxn);
		ctx->cache->rtxn_live = false;
	}
}

enum aivenauth_status
cache_read_current(struct aivenauth_ctx *ctx, MDB_txn **txn,
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

enum aivenauth_status
cache_write(struct aivenauth_ctx *ctx, write_fn *fn, void *arg)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st;
	MDB_envinfo info;
	MDB_txn *txn;
	int rc, tries;

	if (c == NULL || !c->rdwr) {
		ctx_log(ctx, LOG_ERR, "cache is open read-only; this needs write "
		    "access");
		return AIVENAUTH_ERR_READONLY;
	}
	cache_read_end(ctx);
	for (tries = 0; tries < 16; tries++) {
		if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0) {
			if (rc == MDB_MAP_RESIZED &&
			    mdb_env_set_mapsize(c->env, 0) == 0)
				continue;
			return cache_err(ctx, rc, "beginning a write transaction");
		}
		c->map_full = false;
		st = fn(ctx, txn, arg);
		if (st != AIVENAUTH_OK) {
			mdb_txn_abort(txn);
			if (!c->map_full)
				return st;
			rc = MDB_MAP_FULL;
		} else if ((rc = mdb_txn_commit(txn)) == 0) {
			return AIVENAUTH_OK;
		}
		if (rc != MDB_MAP_FULL)
			return cache_err(ctx, rc, "committing");
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
			return AIVENAUTH_ERR_CACHE_FULL;
		}
		ctx_log(ctx, LOG_INFO, "cache map grown to %zu MiB",
		    info.me_mapsize * 2 >> 20);
	}
	return AIVENAUTH_ERR_CACHE_FULL;
}

int
token_lookup(struct cache *c, MDB_txn *txn, uint64_t prefix_lens,
    const char *token, size_t len, MDB_val *key, MDB_val *val)
{
	unsigned n;
	int rc = MDB_NOTFOUND;

	for (n = 1; n < 64 && (prefix_lens >> n) != 0; n++) {
		if ((prefix_lens & ((uint64_t)1 << n)) == 0 || n > len)
			continue;
		key->mv_size = n;
		key->mv_data = (void *)token;
		rc = mdb_get(txn, c->tokens, key, val);
		if (rc != MDB_NOTFOUND)
			return rc;
	}
	return rc;
}
