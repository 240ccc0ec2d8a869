/*
 * ctxpool.c - keep ready contexts across PAM conversations.
 *
 * Why: libpam loads the module at pam_start and would unload it at pam_end;
 * the module is linked -z nodelete so that it stays, and with it this
 * pool.  A fresh context per call costs a config read and parse and an
 * LMDB open (mmap, lock file, reader slot): ~56-88 us against ~1 us for a
 * reused one (docs/PERFORMANCE.md), twice per conversation (auth and
 * account), in hosts that call PAM on every request (nginx auth_pam).
 *
 * Safety:
 *  - key = the exact module arguments (they may override config keys), so
 *    two services with different arguments never share a context;
 *  - the config file and the cache's state record are stat()ed on every
 *    acquire: another config inode, size, mtime or ctime, or another
 *    state file (a removed and re-created cache) means the context is
 *    rebuilt, so an edited config or a re-created cache is seen at once.
 *    New snapshots of the same cache need no rebuild: the context sees
 *    them through the state record it maps (libaivenauth/base/pubstate.h),
 *    and keeps what online learning taught it;
 *  - a context is leased to one caller at a time (threads get their own);
 *  - a context made before fork() is never used after it (the child makes
 *    its own; LMDB environments must not cross fork), and the pool lock is
 *    held across fork so a child never inherits it locked;
 *  - between conversations a context holds no read snapshot
 *    (aivenauth_cache_idle), so an idle worker does not pin old pages.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "ctxpool.h"

#define POOL_SLOTS 8
#define DEFAULT_CONFIG AIVENAUTH_SYSCONFDIR "/aivenauth/aivenauth.conf"

struct stamp {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct slot {
	char *key;              /* module arguments, '\n'-joined */
	struct aivenauth_ctx *ctx;
	pid_t pid;
	bool busy;
	char *config_path;
	char *data_path;        /* cache_dir/state */
	struct stamp config, data;
};

static struct slot pool[POOL_SLOTS];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void
fork_prepare(void)
{
	pthread_mutex_lock(&pool_lock);
}

static void
fork_release(void)
{
	pthread_mutex_unlock(&pool_lock);
}

static void
pool_init(void)
{
	(void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

static void
stamp_of(const char *path, struct stamp *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (path == NULL || stat(path, &st) != 0)
		return;
	s->exists = true;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	s->ctime = st.st_ctim;
}

/* The state record is written in place on every sync: only another file
 * (the cache removed and made again) calls for a new context. */
static void
identity_of(const char *path, struct stamp *s)
{
	stamp_of(path, s);
	s->size = 0;
	memset(&s->mtime, 0, sizeof(s->mtime));
	memset(&s->ctime, 0, sizeof(s->ctime));
}

static bool
stamp_eq(const struct stamp *a, const struct stamp *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static char *
join_args(int argc, const char **argv)
{
	size_t n = 1;
	char *k, *p;
	int i;

	for (i = 0; i < argc; i++)
		n += (argv[i] != NULL ? strlen(argv[i]) : 0) + 1;
	if ((k = malloc(n)) == NULL)
		return NULL;
	p = k;
	for (i = 0; i < argc; i++) {
		size_t l = argv[i] != NULL ? strlen(argv[i]) : 0;

		memcpy(p, argv[i] != NULL ? argv[i] : "", l);
		p += l;
		*p++ = '\n';
	}
	*p = '\0';
	return k;
}

/* The file aivenauth_config_load() reads for these options. */
static const char *
config_path(const struct pa_opts *o)
{
	const char *env;

	if (o->config_file != NULL)
		return o->config_file;
	env = secure_getenv("AIVENAUTH_CONFIG");
	return env != NULL && *env != '\0' ? env : DEFAULT_CONFIG;
}

static void
slot_clear(struct slot *s, struct aivenauth_ctx **to_free)
{
	*to_free = s->ctx;
	free(s->key);
	free(s->config_path);
	free(s->data_path);
	memset(s, 0, sizeof(*s));
}

static char *
data_path_of(struct aivenauth_ctx *ctx)
{
	const char *dir = aivenauth_config_get(ctx, "cache_dir");
	size_t n;
	char *p;

	if (dir == NULL)
		return NULL;
	n = strlen(dir) + sizeof("/state");
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/state", dir);
	return p;
}

/* A fresh context, with the arguments' config applied. */
static int
make_ctx(pam_handle_t *pamh, int flags, int argc, const char **argv,
    struct pa_opts *o, struct aivenauth_ctx **ctxp)
{
	enum aivenauth_status st;
	int rc;

	*ctxp = NULL;
	st = aivenauth_ctx_new(ctxp);
	if (st != AIVENAUTH_OK) {
		pam_syslog(pamh, LOG_CRIT, "cannot make a context: %s",
		    aivenauth_strerror(st));
		return st == AIVENAUTH_ERR_NOMEM ? PAM_BUF_ERR : PAM_SERVICE_ERR;
	}
	rc = pa_opts_parse(pamh, flags, argc, argv, *ctxp, o);
	if (rc != PAM_SUCCESS) {
		aivenauth_ctx_free(*ctxp);
		*ctxp = NULL;
	}
	return rc;
}

int
pa_ctx_acquire(pam_handle_t *pamh, int flags, int argc, const char **argv,
    struct pa_opts *o, struct pa_lease *l)
{
	struct aivenauth_ctx *stale = NULL, *evicted = NULL;
	struct stamp cfg_now, data_now;
	pid_t pid = getpid();
	char *key;
	int i, rc, free_slot = -1;

	l->ctx = NULL;
	l->slot = -1;
	/* The arguments are checked on every call, pooled or not. */
	if ((rc = pa_opts_parse(pamh, flags, argc, argv, NULL, o)) != PAM_SUCCESS)
		return rc;
	if ((key = join_args(argc, argv)) == NULL)
		return PAM_BUF_ERR;
	(void)pthread_once(&pool_once, pool_init);
	stamp_of(config_path(o), &cfg_now);

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < POOL_SLOTS; i++) {
		struct slot *s = &pool[i];

		if (s->key == NULL) {
			/* busy without a key: reserved by a caller making its
			 * context right now */
			if (!s->busy && free_slot < 0)
				free_slot = i;
			continue;
		}
		if (s->pid != pid) {
			struct aivenauth_ctx *inherited;

			/* Made before fork(): never used in this process.
			 * Freeing it is safe in the child (see cache.c). */
			slot_clear(s, &inherited);
			aivenauth_ctx_free(inherited);
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (s->busy || strcmp(s->key, key) != 0)
			continue;
		identity_of(s->data_path, &data_now);
		if (stamp_eq(&s->config, &cfg_now) && stamp_eq(&s->data, &data_now)) {
			s->busy = true;
			l->ctx = s->ctx;
			l->slot = i;
			break;
		}
		/* Config edited or cache re-created: rebuild. */
		slot_clear(s, &stale);
		if (free_slot < 0)
			free_slot = i;
		break;
	}
	if (l->ctx == NULL && free_slot < 0) {
		/* Full: evict the first idle slot. */
		for (i = 0; i < POOL_SLOTS; i++) {
			if (!pool[i].busy) {
				slot_clear(&pool[i], &evicted);
				free_slot = i;
				break;
			}
		}
	}
	if (l->ctx == NULL && free_slot >= 0) {
		/* Reserve it while the context is being made. */
		pool[free_slot].busy = true;
		pool[free_slot].pid = pid;
	}
	pthread_mutex_unlock(&pool_lock);
	aivenauth_ctx_free(stale);
	aivenauth_ctx_free(evicted);

	if (l->ctx != NULL) {
		free(key);
		pa_opts_set_log(pamh, l->ctx, o);
		return PAM_SUCCESS;
	}
	rc = make_ctx(pamh, flags, argc, argv, o, &l->ctx);
	if (free_slot < 0) {
		free(key);
		return rc;      /* unpooled: freed at release */
	}
	pthread_mutex_lock(&pool_lock);
	if (rc == PAM_SUCCESS) {
		struct slot *s = &pool[free_slot];

		s->key = key;
		s->ctx = l->ctx;
		s->config = cfg_now;
		s->config_path = strdup(config_path(o));
		s->data_path = data_path_of(l->ctx);
		identity_of(s->data_path, &s->data);
		if (s->config_path == NULL || s->data_path == NULL) {
			/* Cannot watch it: do not keep it (freed at release). */
			s->ctx = NULL;
			slot_clear(s, &stale);
		} else {
			l->slot = free_slot;
		}
		key = NULL;
	} else {
		memset(&pool[free_slot], 0, sizeof(pool[free_slot]));
	}
	pthread_mutex_unlock(&pool_lock);
	free(key);
	return rc;
}

void
pa_ctx_release(struct pa_lease *l)
{
	if (l->ctx == NULL)
		return;
	/* No dangling pamh in the callback; no snapshot pinned while idle. */
	aivenauth_set_log(l->ctx, NULL, NULL, 0);
	aivenauth_cache_idle(l->ctx);
	if (l->slot < 0) {
		aivenauth_ctx_free(l->ctx);
	} else {
		pthread_mutex_lock(&pool_lock);
		pool[l->slot].busy = false;
		pthread_mutex_unlock(&pool_lock);
	}
	l->ctx = NULL;
	l->slot = -1;
}
