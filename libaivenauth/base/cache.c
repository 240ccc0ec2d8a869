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

#include "base/cache.h"

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

enum aivenauth_status
record_corrupt(struct aivenauth_ctx *ctx, const char *what, const MDB_val *k)
{
	ctx_log(ctx, LOG_ERR, "cache %s: damaged %s record (key of %zu bytes)",
	    ctx->cache->path, what, k->mv_size);
	return AIVENAUTH_ERR_CACHE_CORRUPT;
}

/* What makes a cache here: a follower's comes from etcd, and it refuses
 * `aivenctl sync`. */
const char *
cache_create_cmd(const struct aivenauth_ctx *ctx)
{
	return ctx->cfg.fleet.mode == FLEET_FOLLOW ? "aivenctl follow --once" :
	    "aivenctl sync";
}

enum aivenauth_status
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
			return check_cache_dir_parents(ctx, dir);
		}
		if (errno == ENOENT) {
			ctx_log(ctx, LOG_ERR, "cache directory %s does not exist "
			    "(run '%s' to create it)", dir, cache_create_cmd(ctx));
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
	/* Group-writable too: whoever can write the directory can replace
	 * the snapshot or the state record under the readers. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		ctx_log(ctx, LOG_ERR, "cache directory %s is %s-writable (mode "
		    "%04o); run: chmod go-w %s", dir, (st.st_mode & S_IWOTH) ?
		    "world" : "group", (unsigned)(st.st_mode & 07777), dir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (!owner_trusted(st.st_uid, true)) {
		ctx_log(ctx, LOG_ERR, "cache directory %s is owned by uid %u; it must "
		    "be owned by root or the aivenauth user; run: chown aivenauth %s",
		    dir, (unsigned)st.st_uid, dir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	/* And every directory above it: a safe directory inside one that
	 * others can write is not safe. */
	return check_cache_dir_parents(ctx, dir);
}

/* An LMDB file: regular, not a symlink, writable by its owner only, owner
 * root or the writer.  Sets *exists. */
enum aivenauth_status
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
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    !owner_trusted(st.st_uid, true)) {
		ctx_log(ctx, LOG_ERR, "cache file %s is group- or world-writable or "
		    "has an untrusted owner (uid %u, mode %04o); run: chown aivenauth "
		    "%s && chmod 0640 %s", path, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777), path, path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	*exists = true;
	*size = st.st_size;
	return AIVENAUTH_OK;
}

enum aivenauth_status
check_env_fd(struct aivenauth_ctx *ctx, MDB_env *env, dev_t dev, ino_t ino)
{
	struct stat st;
	int fd;

	/* LMDB opens by path and follows symlinks: make sure the file it
	 * maps is the one checked above (no swap in between). */
	if (mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &st) != 0 ||
	    st.st_dev != dev || st.st_ino != ino) {
		ctx_log(ctx, LOG_ERR, "cache file %s changed while it was being "
		    "opened; refusing it", ctx->cache->data_path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	return AIVENAUTH_OK;
}

void
meta_snap_id(struct aivenauth_ctx *ctx, MDB_txn *txn,
    unsigned char id[SNAP_ID_BYTES])
{
	MDB_val k = { 7, "snap_id" }, v;

	memset(id, 0, SNAP_ID_BYTES);
	if (mdb_get(txn, ctx->cache->meta, &k, &v) == 0 &&
	    v.mv_size == SNAP_ID_BYTES)
		memcpy(id, v.mv_data, SNAP_ID_BYTES);
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

static void
fork_hook(void)
{
	fork_hooked = pthread_atfork(NULL, NULL, fork_child) == 0;
}

unsigned long
fork_generation(void)
{
	(void)pthread_once(&fork_once, fork_hook);
	return fork_gen;
}

bool
cache_is_ours(const struct cache *c)
{
	if (!fork_hooked)
		return c->pid == getpid();
	return c->fork_gen == fork_gen;
}

struct cache *
cache_alloc(struct aivenauth_ctx *ctx, const char *data_name,
    const struct cache_side *side)
{
	struct cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->side = side;
	c->lockfd = -1;
	c->fork_gen = fork_generation();
	c->pid = getpid();
	c->path = strdup(ctx->cfg.cache_dir);
	c->data_path = path_join(ctx->cfg.cache_dir, data_name);
	if (c->path == NULL || c->data_path == NULL) {
		free(c->path);
		free(c->data_path);
		free(c);
		return NULL;
	}
	return c;
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	/*
	 * After fork() a writer's child shares the parent's reader table (it
	 * lives in the mapped lock file): aborting the inherited read
	 * transaction would clear the *parent's* reader slot, so a child
	 * leaves it alone (its small struct is leaked once).  Readers have no
	 * lock file (MDB_NOLOCK), but the same rule costs them nothing.
	 */
	if (c->rtxn != NULL && c->pid == getpid())
		mdb_txn_abort(c->rtxn);
	c->rtxn = NULL;
	if (c->side != NULL)
		c->side->close(c);
	pubstate_close(&c->ps);
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

/* Open the named databases, check the schema, load the hash key. */
enum aivenauth_status
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
	c->snap_state = s;
	meta_snap_id(ctx, txn, c->snap_id);
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
enum aivenauth_status
check_size(struct aivenauth_ctx *ctx)
{
	struct cache *c = ctx->cache;
	MDB_envinfo info;
	MDB_stat mst;
	struct stat st;
	int fd;

	if (mdb_env_info(c->env, &info) != 0 || mdb_env_stat(c->env, &mst) != 0)
		return AIVENAUTH_ERR_CACHE_CORRUPT;
	/* The file LMDB maps, not whatever the path names now. */
	if (mdb_env_get_fd(c->env, &fd) != 0 || fstat(fd, &st) != 0)
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

char *
path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
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
		/* A published snapshot never grows (readers never see this). */
		if (rc != MDB_MAP_RESIZED || !c->rdwr)
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
	return ctx->cache->side->read_current(ctx, txn, s);
}

int
token_lookup(struct cache *c, MDB_txn *txn, uint64_t prefix_lens,
    const char *token, size_t len, MDB_val *key, MDB_val *val)
{
	uint64_t m = prefix_lens & ~(uint64_t)1;
	unsigned n;
	int rc = MDB_NOTFOUND;

	if (len < 63)
		m &= ((uint64_t)1 << (len + 1)) - 1;   /* lengths <= len */
	/* Longest known length first: the most specific record decides, so
	 * a short prefix (a tombstone, say) never shadows a longer one. */
	while (m != 0) {
		n = 63 - (unsigned)__builtin_clzll(m);
		m &= ~((uint64_t)1 << n);
		key->mv_size = n;
		key->mv_data = (void *)token;
		rc = mdb_get(txn, c->tokens, key, val);
		if (rc != MDB_NOTFOUND)
			return rc;
	}
	return rc;
}
