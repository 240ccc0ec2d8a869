/*
 * fleet_lead.c - a publisher's hold on the leader key (docs/FLEET.md,
 * "Leader election"): the election (fleet_campaign: the key taken with a
 * lease in one txn) and keeping the key across runs.
 *
 * The sync timer starts one short run a minute.  If each run gave the
 * leader key back when it ended, every publisher would lead in turn: each
 * would sync from the API (the API load of N publishers, not one) and
 * publish its own view, so the fleet's generations would alternate
 * between publishers.  So the key stays with its holder: the lease's TTL
 * spans several timer periods, the lease id is kept in
 * cache_dir/writer/fleet-lease, and the next run on the same host resumes
 * it (the leader key still bound to that lease, a keepalive that
 * succeeds) instead of campaigning.  Another publisher takes over only
 * when the holder stopped running for a whole TTL, or resigned
 * (`aivenctl fleet resign`).
 *
 * Two runs on the same host (the timer's sync and a token command) share
 * the lease, and etcd's lease guard cannot tell them apart; an exclusive
 * flock on cache_dir/writer/fleet.lock, held from taking the key to the
 * end of the run, keeps them from publishing at the same time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "base/cache.h"
#include "writer/writer.h"
#include "fleet/fleet_lead.h"

#define LEASE_FILE "fleet-lease"
#define LOCK_FILE "fleet.lock"
#define LEASE_MAGIC 0x3245534541455641ULL   /* "AVEASE2" */
#define BOOT_ID_MAX 40

/*
 * The lease, and who may resume it: this host name, this boot and this
 * very writer directory (device and inode).  A cache directory copied (a
 * restored backup, a cloned VM, a second publisher provisioned by rsync,
 * even on the same machine) carries the file along; without the binding
 * both copies would resume the same lease, pass the same guard and
 * publish at once, and either could resign the other.  After a reboot
 * the lease is not resumed either (the old one lapses within its TTL;
 * then the host campaigns again).
 */
struct lease_rec {
	uint64_t magic;
	int64_t lease;
	char host[FLEET_LEADER_MAX + 1];
	char boot_id[BOOT_ID_MAX + 1];
	uint64_t dir_dev, dir_ino;      /* cache_dir/writer: a copy differs */
};

static void
writer_identity(struct aivenauth_ctx *ctx, uint64_t *dev, uint64_t *ino)
{
	char *w = path_join(ctx->cfg.cache_dir, WRITER_DIR);
	struct stat sb;

	*dev = *ino = 0;
	if (w != NULL && lstat(w, &sb) == 0) {
		*dev = (uint64_t)sb.st_dev;
		*ino = (uint64_t)sb.st_ino;
	}
	free(w);
}

/* /proc/sys/kernel/random/boot_id, "" if unreadable. */
static void
boot_id(char out[BOOT_ID_MAX + 1])
{
	ssize_t n;
	int fd;

	out[0] = '\0';
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, BOOT_ID_MAX);
	close(fd);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

char *
fleet_writer_path(struct aivenauth_ctx *ctx, const char *name)
{
	char *w = path_join(ctx->cfg.cache_dir, WRITER_DIR), *p;

	if (w == NULL)
		return NULL;
	p = path_join(w, name);
	free(w);
	return p;
}

bool
fleet_writer_file_put(struct aivenauth_ctx *ctx, const char *name,
    const void *data, size_t len)
{
	char *p = fleet_writer_path(ctx, name), *tmp = NULL;
	bool ok = false;
	size_t n;
	int fd = -1, e = ENOMEM;

	if (p == NULL || (tmp = malloc((n = strlen(p)) + 5)) == NULL)
		goto out;
	memcpy(tmp, p, n);
	memcpy(tmp + n, ".tmp", 5);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0)
		cache_adopt(ctx, fd, NULL);     /* root's run: the timer's file */
	ok = fd >= 0 && write(fd, data, len) == (ssize_t)len &&
	    fsync(fd) == 0 && rename(tmp, p) == 0;
	e = errno;
	if (!ok && fd >= 0)
		(void)unlink(tmp);
	if (fd >= 0)
		close(fd);
out:
	if (!ok)
		ctx_log(ctx, LOG_WARNING, "fleet: cannot write %s: %s",
		    p != NULL ? p : name, strerror(e));
	free(tmp);
	free(p);
	return ok;
}

enum aivenauth_status
fleet_lead_lock(struct aivenauth_ctx *ctx, int *fd)
{
	char *p = fleet_writer_path(ctx, LOCK_FILE);
	int e;

	*fd = -1;
	if (p == NULL)
		return AIVENAUTH_ERR_NOMEM;
	*fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd >= 0)
		cache_adopt(ctx, *fd, NULL);    /* root's run: the timer's file */
	if (*fd < 0) {
		e = errno;
		free(p);
		if (e == ELOOP) {
			ctx_log(ctx, LOG_ERR, "fleet: writer/" LOCK_FILE " is a "
			    "symlink: refused");
			return AIVENAUTH_ERR_UNSAFE_FILE;
		}
		return cache_err(ctx, e, "opening writer/" LOCK_FILE);
	}
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		e = errno;
		close(*fd);
		*fd = -1;
		free(p);
		return cache_err(ctx, e, "locking writer/" LOCK_FILE);
	}
	free(p);
	return AIVENAUTH_OK;
}

void
fleet_lead_unlock(int fd)
{
	if (fd >= 0)
		close(fd);      /* drops the flock */
}

int64_t
fleet_lead_stored(struct aivenauth_ctx *ctx, const char *id)
{
	char *p = fleet_writer_path(ctx, LEASE_FILE), boot[BOOT_ID_MAX + 1];
	uint64_t dev, ino;
	struct lease_rec r;
	int fd;

	if (p == NULL)
		return 0;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return 0;
	memset(&r, 0, sizeof(r));
	if (read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r) ||
	    r.magic != LEASE_MAGIC)
		r.lease = 0;
	close(fd);
	r.host[sizeof(r.host) - 1] = '\0';
	r.boot_id[sizeof(r.boot_id) - 1] = '\0';
	boot_id(boot);
	writer_identity(ctx, &dev, &ino);
	if (r.lease != 0 && (strcmp(r.host, id) != 0 ||
	    strcmp(r.boot_id, boot) != 0 || r.dir_dev != dev ||
	    r.dir_ino != ino)) {
		ctx_log(ctx, LOG_NOTICE, "fleet: the leader lease recorded here "
		    "was taken by %s in another boot or on another machine (a "
		    "reboot, or a copied cache directory): not resumed", r.host);
		return 0;
	}
	return r.lease;
}

/* Atomically; a failure only costs the next run a campaign (it finds the
 * key held by its own old lease and waits for the TTL), so it is logged. */
void
fleet_lead_store(struct aivenauth_ctx *ctx, int64_t lease, const char *id)
{
	struct lease_rec r;
	char *p;

	if (lease == 0) {
		if ((p = fleet_writer_path(ctx, LEASE_FILE)) != NULL)
			(void)unlink(p);
		free(p);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.magic = LEASE_MAGIC;
	r.lease = lease;
	snprintf(r.host, sizeof(r.host), "%s", id != NULL ? id : "");
	boot_id(r.boot_id);
	writer_identity(ctx, &r.dir_dev, &r.dir_ino);
	(void)fleet_writer_file_put(ctx, LEASE_FILE, &r, sizeof(r));
}

/* The election itself: one txn on etcd (fleet_lead.h). */
enum aivenauth_status
fleet_campaign(struct fleet_etcd *fe, const char *id, int64_t ttl,
    bool *leader, int64_t *lease)
{
	enum aivenauth_status st;
	struct etcd_cmp cmp;
	struct etcd_op put;
	struct buf key;
	int64_t l = 0;
	bool ok = false;

	*leader = false;
	*lease = 0;
	if (id == NULL || id[0] == '\0' || strlen(id) > FLEET_LEADER_MAX)
		return AIVENAUTH_ERR_INVALID;
	buf_init(&key, FLEET_KEY_MAX, false);
	if ((st = fleet_key_leader(fe->prefix, &key)) != AIVENAUTH_OK ||
	    (st = fe->ops->lease_grant(fe->c, ttl, &l, NULL)) != AIVENAUTH_OK)
		goto out;
	memset(&cmp, 0, sizeof(cmp));
	cmp.key = key.data;
	cmp.key_len = key.len;
	cmp.target = ETCD_CMP_CREATE;
	cmp.result = ETCD_CMP_EQUAL;
	memset(&put, 0, sizeof(put));
	put.type = ETCD_OP_PUT;
	put.key = key.data;
	put.key_len = key.len;
	put.value = id;
	put.value_len = strlen(id);
	put.lease = l;
	st = fe->ops->txn(fe->c, &cmp, 1, &put, 1, NULL, 0, &ok, NULL);
	if (st == AIVENAUTH_OK && ok) {
		*leader = true;
		*lease = l;
	} else {
		/* Not ours: let the lease go now rather than at its TTL. */
		(void)fe->ops->lease_revoke(fe->c, l);
	}
out:
	buf_free(&key);
	return st;
}

enum aivenauth_status
fleet_lead_take(struct aivenauth_ctx *ctx, struct fleet_etcd *fe,
    const char *id, int64_t ttl, bool *leader, int64_t *lease,
    char *leader_id, size_t leader_id_size)
{
	struct fleet_keys none;
	enum aivenauth_status st;
	struct fleet_view v;
	int64_t stored = fleet_lead_stored(ctx, id), left = 0;

	*leader = false;
	*lease = 0;
	if (leader_id_size != 0)
		leader_id[0] = '\0';
	memset(&none, 0, sizeof(none));
	if ((st = fleet_read_view(fe, &none, NULL, &v)) != AIVENAUTH_OK)
		return st;
	/* Ours from an earlier run: resume it.  The keepalive proves the
	 * lease is alive; every publish txn is guarded by it anyway. */
	if (stored != 0 && v.has_leader && v.leader_lease == stored &&
	    strcmp(v.leader, id) == 0) {
		st = fe->ops->lease_keepalive(fe->c, stored, &left);
		if (st == AIVENAUTH_OK && left > 0) {
			ctx_log(ctx, LOG_INFO, "fleet: %s still holds the leader "
			    "key (lease %" PRId64 ", resumed)", id, stored);
			*leader = true;
			*lease = stored;
			snprintf(leader_id, leader_id_size, "%s", id);
			return AIVENAUTH_OK;
		}
		if (st != AIVENAUTH_OK && st != AIVENAUTH_ERR_API_NOT_FOUND)
			return st;
		/* It lapsed since the read: etcd deleted the key with it. */
		fleet_lead_store(ctx, 0, id);
		stored = 0;
		if ((st = fleet_read_view(fe, &none, NULL, &v)) != AIVENAUTH_OK)
			return st;
	}
	if (stored != 0 && !(v.has_leader && v.leader_lease == stored))
		fleet_lead_store(ctx, 0, id);   /* lapsed, or taken over */
	if (v.has_leader) {
		snprintf(leader_id, leader_id_size, "%s", v.leader);
		if (strcmp(v.leader, id) == 0)
			ctx_log(ctx, LOG_NOTICE, "fleet: the leader key names "
			    "this host (%s) but is bound to a lease this run "
			    "does not hold: this host before a reboot (it lapses "
			    "within the TTL), another host with the same name, "
			    "or a writer of etcd", id);
		return AIVENAUTH_OK;
	}
	/* A publisher that cannot verify what the fleet holds never takes
	 * the key (fleet_trust.c). */
	if ((st = fleet_may_lead(ctx, fe)) != AIVENAUTH_OK)
		return st;
	if ((st = fleet_campaign(fe, id, ttl, leader, lease)) != AIVENAUTH_OK)
		return st;
	if (*leader) {
		fleet_lead_store(ctx, *lease, id);
		snprintf(leader_id, leader_id_size, "%s", id);
		ctx_log(ctx, LOG_INFO, "fleet: %s holds the leader key (lease %"
		    PRId64 ", TTL %" PRId64 " s)", id, *lease, ttl);
	} else if (fleet_read_view(fe, &none, NULL, &v) == AIVENAUTH_OK &&
	    v.has_leader) {
		snprintf(leader_id, leader_id_size, "%s", v.leader);
	}
	return AIVENAUTH_OK;
}

enum aivenauth_status
fleet_lead_resign(struct aivenauth_ctx *ctx, struct fleet_etcd *fe,
    int64_t lease)
{
	enum aivenauth_status st = AIVENAUTH_OK;

	if (lease != 0)
		st = fe->ops->lease_revoke(fe->c, lease);
	if (st == AIVENAUTH_ERR_API_NOT_FOUND)
		st = AIVENAUTH_OK;      /* lapsed already: nothing held */
	if (st == AIVENAUTH_OK)
		fleet_lead_store(ctx, 0, NULL);
	return st;
}
