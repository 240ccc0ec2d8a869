/*
 * fleet_publish.c - the publisher's side of fleet mode (docs/FLEET.md):
 * take the leader key, turn what the writer's cache holds into one
 * generation and publish it signed, or only a fresh heartbeat when the
 * cache published nothing new since the last generation.
 *
 * The generation is read from the writer's own environment in one read
 * transaction: the users, every token the publisher would accept (a
 * tombstone or a locally revoked token is left out, so a follower's merge
 * turns it into a tombstone there too), each with its hash, and the
 * cache's hash key (in the manifest: the fleet shares it).
 *
 * "Nothing new" is decided by the cache's snapshot id (meta snap_id,
 * which changes exactly when the writer publishes a snapshot to its own
 * readers: a decision could change, or last-use metadata is 15 minutes
 * old) and by etcd's current generation: what this host published last
 * is remembered in cache_dir/writer/fleet-published.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aivenauth_fleet.h"
#include "cache.h"
#include "config_fleet.h"
#include "fleet_etcd.h"
#include "fleet_key.h"
#include "rec.h"

#define PUBLISHED_FILE "fleet-published"
#define PUBLISHED_MAGIC 0x3142505441564941ULL   /* "AIVATPB1" */

struct published {
	uint64_t magic;
	uint64_t generation;
	unsigned char snap_id[SNAP_ID_BYTES];
};

struct aivenauth_fleet_publisher {
	struct aivenauth_ctx *ctx;
	struct fleet_etcd fe;
	unsigned char sk[FLEET_SK_BYTES];
	int64_t lease;
	char id[FLEET_LEADER_MAX + 1];
};

static char *
published_path(struct aivenauth_ctx *ctx)
{
	char *w = path_join(ctx->cfg.cache_dir, WRITER_DIR), *p;

	if (w == NULL)
		return NULL;
	p = path_join(w, PUBLISHED_FILE);
	free(w);
	return p;
}

static void
published_read(struct aivenauth_ctx *ctx, struct published *out)
{
	char *p = published_path(ctx);
	int fd;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return;
	if (read(fd, out, sizeof(*out)) != (ssize_t)sizeof(*out) ||
	    out->magic != PUBLISHED_MAGIC)
		memset(out, 0, sizeof(*out));
	close(fd);
}

/* Atomically: written aside, fsynced, renamed.  A failure costs one
 * needless generation next time, so it is only logged. */
static void
published_write(struct aivenauth_ctx *ctx, const struct published *pb)
{
	char *p = published_path(ctx), *tmp = NULL;
	size_t n;
	int fd;

	if (p == NULL || (tmp = malloc((n = strlen(p)) + 5)) == NULL)
		goto out;
	memcpy(tmp, p, n);
	memcpy(tmp + n, ".tmp", 5);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || write(fd, pb, sizeof(*pb)) != (ssize_t)sizeof(*pb) ||
	    fsync(fd) != 0 || rename(tmp, p) != 0) {
		ctx_log(ctx, LOG_WARNING, "fleet: cannot record the published "
		    "generation in %s: %s", p, strerror(errno));
		if (fd >= 0)
			(void)unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
out:
	free(tmp);
	free(p);
}

static int
user_id_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct aivenauth_user *)e)->user_id);
}

/* What the writer's cache holds, as a generation (one read txn). */
static enum aivenauth_status
gen_from_cache(struct aivenauth_ctx *ctx, struct fleet_gen *g,
    unsigned char snap_id[SNAP_ID_BYTES], int64_t *sync_time)
{
	struct cache *c = ctx->cache;
	enum aivenauth_status st = AIVENAUTH_OK;
	MDB_cursor *cur = NULL;
	struct cache_state s;
	size_t cap_u = 0, cap_t = 0;
	MDB_txn *txn;
	MDB_val k, d;
	int rc;

	memset(g, 0, sizeof(*g));
	if ((st = cache_read_begin(ctx, &txn)) != AIVENAUTH_OK)
		return st;
	if ((st = state_get(ctx, txn, &s)) != AIVENAUTH_OK)
		goto out;
	*sync_time = s.sync_time;
	meta_snap_id(ctx, txn, snap_id);
	memcpy(g->manifest.hash_key, c->key, HASH_KEY_BYTES);
	if ((g->org = strdup(ctx->cfg.organization_id)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	g->snap.organization_id = g->org;

	if ((rc = mdb_cursor_open(txn, c->users, &cur)) != 0) {
		st = cache_err(ctx, rc, "reading users");
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		struct aivenauth_user *u;
		struct sv name, email;

		if (g->snap.n_users == cap_u) {
			cap_u = cap_u ? cap_u * 2 : 64;
			u = realloc(g->snap.users, cap_u * sizeof(*u));
			if (u == NULL) {
				st = AIVENAUTH_ERR_NOMEM;
				goto out;
			}
			g->snap.users = u;
		}
		u = &g->snap.users[g->snap.n_users];
		if (!user_decode(d.mv_data, d.mv_size, u, &name, &email)) {
			ctx_log(ctx, LOG_ERR, "fleet: a damaged user record in "
			    "the cache; not publishing");
			st = AIVENAUTH_ERR_CACHE_CORRUPT;
			goto out;
		}
		g->snap.n_users++;
		u->user_id = sv_dup((struct sv){ k.mv_data, (uint32_t)k.mv_size });
		u->name = sv_dup(name);
		u->email = email.n ? sv_dup(email) : NULL;
		if (u->user_id == NULL || u->name == NULL ||
		    (email.n && u->email == NULL)) {
			st = AIVENAUTH_ERR_NOMEM;
			goto out;
		}
	}
	mdb_cursor_close(cur);
	cur = NULL;

	if ((rc = mdb_cursor_open(txn, c->tokens, &cur)) != 0) {
		st = cache_err(ctx, rc, "reading tokens");
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		struct aivenauth_token t;
		struct tok_view v;
		size_t i = g->snap.n_tokens;

		if (!tok_decode(d.mv_data, d.mv_size, &v)) {
			ctx_log(ctx, LOG_ERR, "fleet: a damaged token record in "
			    "the cache; not publishing");
			st = AIVENAUTH_ERR_CACHE_CORRUPT;
			goto out;
		}
		/* What this host refuses whatever the time, followers must
		 * refuse: leave it out (their merge makes it a tombstone). */
		if (v.removed_time != 0 || (v.flags & TOK_F_REVOKED))
			continue;
		if ((st = tok_to_public(&v, k.mv_data, k.mv_size, &t)) !=
		    AIVENAUTH_OK)
			goto out;
		if (t.user_id == NULL || bsearch(t.user_id, g->snap.users,
		    g->snap.n_users, sizeof(*g->snap.users), user_id_cmp) ==
		    NULL) {
			aivenauth_token_clear(&t);
			continue;
		}
		if (i == cap_t) {
			void *p1, *p2, *p3;

			cap_t = cap_t ? cap_t * 2 : 64;
			p1 = realloc(g->snap.tokens, cap_t * sizeof(*g->snap.tokens));
			if (p1 != NULL)
				g->snap.tokens = p1;
			p2 = realloc(g->has_hash, cap_t * sizeof(*g->has_hash));
			if (p2 != NULL)
				g->has_hash = p2;
			/* Hashes are copied, never moved by realloc with old
			 * bytes left behind: grow into a new block. */
			p3 = calloc(cap_t, HASH_BYTES);
			if (p3 != NULL && g->hashes != NULL) {
				memcpy(p3, g->hashes, i * HASH_BYTES);
				sodium_memzero(g->hashes, i * HASH_BYTES);
			}
			if (p3 != NULL) {
				free(g->hashes);
				g->hashes = p3;
			}
			if (p1 == NULL || p2 == NULL || p3 == NULL) {
				aivenauth_token_clear(&t);
				st = AIVENAUTH_ERR_NOMEM;
				goto out;
			}
		}
		g->snap.tokens[i] = t;
		g->has_hash[i] = (v.flags & TOK_F_HASH) != 0;
		if (g->has_hash[i])
			memcpy(g->hashes[i], v.hash, HASH_BYTES);
		else
			memset(g->hashes[i], 0, HASH_BYTES);
		g->snap.n_tokens++;
	}
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	cache_read_end(ctx);
	if (st != AIVENAUTH_OK)
		fleet_gen_free(g);
	return st;
}

/*
 * Clear gen/G/ before writing generation G there: keys left by someone
 * else (a forged or half-written generation of that number, from whoever
 * could write etcd) would otherwise sit next to ours, and followers would
 * refuse the whole generation for the extra records.  Guarded by the
 * lease like every write of a publish.
 */
static enum aivenauth_status
clear_gen(struct aivenauth_fleet_publisher *p, uint64_t gen)
{
	struct buf leader, from, to;
	enum aivenauth_status st;
	struct etcd_cmp cmp;
	struct etcd_op del;
	bool ok = false;

	buf_init(&leader, FLEET_KEY_MAX, false);
	buf_init(&from, FLEET_KEY_MAX, false);
	buf_init(&to, FLEET_KEY_MAX, false);
	if ((st = fleet_key_leader(p->fe.prefix, &leader)) != AIVENAUTH_OK ||
	    (st = fleet_key_gen(p->fe.prefix, gen, &from)) != AIVENAUTH_OK ||
	    (st = fleet_key_gen(p->fe.prefix, gen + 1, &to)) != AIVENAUTH_OK)
		goto out;
	memset(&cmp, 0, sizeof(cmp));
	cmp.key = leader.data;
	cmp.key_len = leader.len;
	cmp.target = ETCD_CMP_LEASE;
	cmp.result = ETCD_CMP_EQUAL;
	cmp.number = p->lease;
	memset(&del, 0, sizeof(del));
	del.type = ETCD_OP_DELETE;
	del.key = from.data;
	del.key_len = from.len;
	del.range_end = to.data;
	del.range_end_len = to.len;
	st = p->fe.ops->txn(p->fe.c, &cmp, 1, &del, 1, NULL, 0, &ok, NULL);
	if (st == AIVENAUTH_OK && !ok)
		st = AIVENAUTH_ERR_FORBIDDEN;
out:
	buf_free(&leader);
	buf_free(&from);
	buf_free(&to);
	return st;
}

static enum aivenauth_status
publisher_keys(struct aivenauth_ctx *ctx, unsigned char sk[FLEET_SK_BYTES])
{
	unsigned char pk[FLEET_PK_BYTES];

	if (ctx->cfg.fleet.signing_key_file == NULL) {
		ctx_log(ctx, LOG_ERR, "fleet = publish needs "
		    "fleet_signing_key_file (make one with `aivenctl fleet "
		    "keygen`)");
		return AIVENAUTH_ERR_CONFIG;
	}
	return fleet_key_load(ctx, ctx->cfg.fleet.signing_key_file, sk, pk);
}

enum aivenauth_status
aivenauth_fleet_publisher_open(struct aivenauth_ctx *ctx,
    struct aivenauth_fleet_publisher **out, bool *leader,
    char leader_id[AIVENAUTH_FLEET_ID_SIZE])
{
	struct aivenauth_fleet_publisher *p;
	enum aivenauth_status st;
	struct fleet_view v;
	struct fleet_keys none;

	if (ctx == NULL || out == NULL || leader == NULL)
		return AIVENAUTH_ERR_INVALID;
	*out = NULL;
	*leader = false;
	if (leader_id != NULL)
		leader_id[0] = '\0';
	if (ctx->cfg.fleet.mode != FLEET_PUBLISH) {
		ctx_log(ctx, LOG_ERR, "this host is not a fleet publisher "
		    "(fleet = publish)");
		return AIVENAUTH_ERR_CONFIG;
	}
	if (ctx->cfg.organization_id == NULL) {
		ctx_log(ctx, LOG_ERR, "a fleet publisher needs organization_id");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	p->ctx = ctx;
	if ((st = publisher_keys(ctx, p->sk)) != AIVENAUTH_OK)
		goto fail;
	if (gethostname(p->id, sizeof(p->id) - 1) != 0 || p->id[0] == '\0')
		snprintf(p->id, sizeof(p->id), "publisher-%ld", (long)getpid());
	if ((st = fleet_etcd_open(ctx, &p->fe)) != AIVENAUTH_OK)
		goto fail;
	/* The leader key's lease (fleet_lease_ttl, default 60 s): long
	 * enough for a sync of a large organization between keepalives,
	 * short enough for a takeover within a minute. */
	if ((st = fleet_campaign(&p->fe, p->id,
	    fleet_lease_ttl(&ctx->cfg.fleet), leader,
	    &p->lease)) != AIVENAUTH_OK) {
		fleet_etcd_close(&p->fe);
		goto fail;
	}
	if (!*leader) {
		memset(&none, 0, sizeof(none));
		if (leader_id != NULL &&
		    fleet_read_view(&p->fe, &none, NULL, &v) == AIVENAUTH_OK &&
		    v.has_leader)
			snprintf(leader_id, AIVENAUTH_FLEET_ID_SIZE, "%s",
			    v.leader);
		aivenauth_fleet_publisher_close(p);
		return AIVENAUTH_OK;
	}
	ctx_log(ctx, LOG_INFO, "fleet: %s holds the leader key (lease %" PRId64
	    ")", p->id, p->lease);
	if (leader_id != NULL)
		snprintf(leader_id, AIVENAUTH_FLEET_ID_SIZE, "%s", p->id);
	*out = p;
	return AIVENAUTH_OK;
fail:
	sodium_memzero(p->sk, sizeof(p->sk));
	free(p);
	return st;
}

enum aivenauth_status
aivenauth_fleet_publisher_keepalive(struct aivenauth_fleet_publisher *p)
{
	enum aivenauth_status st;
	int64_t ttl = 0;

	if (p == NULL)
		return AIVENAUTH_ERR_INVALID;
	st = p->fe.ops->lease_keepalive(p->fe.c, p->lease, &ttl);
	if (st == AIVENAUTH_ERR_API_NOT_FOUND || (st == AIVENAUTH_OK &&
	    ttl <= 0)) {
		ctx_log(p->ctx, LOG_ERR, "fleet: the leader lease has expired: "
		    "leadership lost, not publishing");
		return AIVENAUTH_ERR_FORBIDDEN;
	}
	return st;
}

enum aivenauth_status
aivenauth_fleet_publisher_publish(struct aivenauth_fleet_publisher *p,
    struct aivenauth_fleet_publish_result *res)
{
	struct aivenauth_ctx *ctx;
	unsigned char snap_id[SNAP_ID_BYTES];
	struct fleet_heartbeat hb;
	enum aivenauth_status st;
	struct published pb;
	struct fleet_keys none;
	struct fleet_view v;
	struct fleet_gen g;
	int64_t sync_time = 0;
	uint64_t gen;

	if (p == NULL || res == NULL)
		return AIVENAUTH_ERR_INVALID;
	ctx = p->ctx;
	memset(res, 0, sizeof(*res));
	res->leader = true;
	if (ctx->cache == NULL || !ctx->cache->rdwr ||
	    !cache_is_ours(ctx->cache)) {
		if ((st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR)) !=
		    AIVENAUTH_OK)
			return st;
	}
	if ((st = aivenauth_fleet_publisher_keepalive(p)) != AIVENAUTH_OK)
		return st;
	if ((st = gen_from_cache(ctx, &g, snap_id, &sync_time)) != AIVENAUTH_OK)
		return st;
	if (sync_time == 0) {
		ctx_log(ctx, LOG_ERR, "fleet: the cache was never synced; "
		    "nothing to publish");
		fleet_gen_free(&g);
		return AIVENAUTH_ERR_CACHE_MISSING;
	}
	memset(&none, 0, sizeof(none));
	if ((st = fleet_read_view(&p->fe, &none, NULL, &v)) != AIVENAUTH_OK) {
		fleet_gen_free(&g);
		return st;
	}
	published_read(ctx, &pb);
	memset(&hb, 0, sizeof(hb));
	hb.last_sync_time = sync_time;
	hb.published_time = (int64_t)time(NULL);
	snprintf(hb.publisher_id, sizeof(hb.publisher_id), "%s", p->id);
	if (v.current != 0 && v.current == pb.generation &&
	    sodium_memcmp(snap_id, pb.snap_id, SNAP_ID_BYTES) == 0) {
		/* The followers have this snapshot: freshness only. */
		st = fleet_publish_heartbeat(&p->fe, p->sk, p->lease,
		    g.snap.organization_id, v.current, &hb);
		res->generation = v.current;
	} else {
		gen = (v.current > pb.generation ? v.current : pb.generation) + 1;
		st = clear_gen(p, gen);
		if (st == AIVENAUTH_OK)
			st = fleet_publish_gen(&p->fe, p->sk, p->lease, gen, &g,
			    &hb);
		if (st == AIVENAUTH_OK) {
			pb.magic = PUBLISHED_MAGIC;
			pb.generation = gen;
			memcpy(pb.snap_id, snap_id, SNAP_ID_BYTES);
			published_write(ctx, &pb);
			res->new_generation = true;
			res->generation = gen;
			res->n_users = g.snap.n_users;
			res->n_tokens = g.snap.n_tokens;
			ctx_log(ctx, LOG_INFO, "fleet: published generation %"
			    PRIu64 " (%zu users, %zu tokens)", gen,
			    g.snap.n_users, g.snap.n_tokens);
		}
	}
	fleet_gen_free(&g);
	if (st == AIVENAUTH_ERR_FORBIDDEN)
		ctx_log(ctx, LOG_ERR, "fleet: the leader key is no longer ours "
		    "(lease lost): nothing more published");
	return st;
}

void
aivenauth_fleet_publisher_close(struct aivenauth_fleet_publisher *p)
{
	if (p == NULL)
		return;
	/* Hand the leader key over now rather than at the lease's TTL: the
	 * timer's next run, here or on another publisher, campaigns again. */
	if (p->lease != 0)
		(void)p->fe.ops->lease_revoke(p->fe.c, p->lease);
	fleet_etcd_close(&p->fe);
	sodium_memzero(p->sk, sizeof(p->sk));
	free(p);
}

enum aivenauth_status
aivenauth_fleet_publish(struct aivenauth_ctx *ctx,
    struct aivenauth_fleet_publish_result *res)
{
	struct aivenauth_fleet_publisher *p;
	enum aivenauth_status st;
	bool leader;

	if (ctx == NULL || res == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(res, 0, sizeof(*res));
	if ((st = aivenauth_fleet_publisher_open(ctx, &p, &leader,
	    res->leader_id)) != AIVENAUTH_OK)
		return st;
	if (!leader)
		return AIVENAUTH_OK;
	st = aivenauth_fleet_publisher_publish(p, res);
	snprintf(res->leader_id, sizeof(res->leader_id), "%s", p->id);
	aivenauth_fleet_publisher_close(p);
	return st;
}
