/*
 * fleet_publish.c - the publisher's side of fleet mode (docs/FLEET.md):
 * take the leader key, turn what the writer's cache holds into one
 * generation and publish it signed — a delta on the one it published last
 * when it can trust that diff (cache_dir/writer/fleet-published-set, and
 * current's manifest saying the same), else a full one — or only a fresh
 * heartbeat when the cache published nothing new since the last
 * generation.
 *
 * The generation is read from the writer's own environment in one read
 * transaction: the users, every token the API lists (a tombstone is left
 * out, so a follower's merge turns it into a tombstone there too; a
 * revocation the API has not confirmed yet is published as such), each
 * with its hash, and the cache's hash key (in the manifest: the fleet
 * shares it).
 *
 * "Nothing new" is decided by the cache's snapshot id (meta snap_id,
 * which changes exactly when the writer publishes a snapshot to its own
 * readers: a decision could change, or last-use metadata is 15 minutes
 * old) and by etcd's current generation: what this host published last
 * is remembered in cache_dir/writer/fleet-published (fleet_published.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aivenauth_fleet.h"
#include "base/cache.h"
#include "writer/writer.h"
#include "base/config_fleet.h"
#include "fleet/fleet_etcd.h"
#include "fleet/fleet_key.h"
#include "fleet/fleet_lead.h"
#include "fleet/fleet_published.h"
#include "base/rec.h"

/* When a delta chain is rolled over into a new full generation: a
 * follower behind the chain's start reads the full one and every delta,
 * so the deltas' records are kept under a quarter of the full's (plus a
 * floor that costs nothing), and the chain under 64 generations (one
 * range, and a bounded walk for a follower catching up). */
#define CHAIN_MAX_DELTAS 64
#define CHAIN_MIN_RECORDS 64


struct aivenauth_fleet_publisher {
	struct aivenauth_ctx *ctx;
	struct fleet_etcd fe;
	unsigned char sk[FLEET_SK_BYTES];
	unsigned char pk[FLEET_PK_BYTES];
	int64_t lease;
	int lock_fd;            /* writer/fleet.lock, held while open */
	char id[FLEET_LEADER_MAX + 1];
};


/* How many records a delta from old to new would hold. */
static size_t
diff_count(const struct fleet_dset *nw, const struct fleet_dset *old)
{
	size_t i = 0, j = 0, n = 0;

	while (i < nw->n || j < old->n) {
		int c = i == nw->n ? 1 : j == old->n ? -1 :
		    strcmp(nw->e[i].name, old->e[j].name);

		if (c == 0 && sodium_memcmp(nw->e[i].cd, old->e[j].cd,
		    FLEET_DIGEST_BYTES) == 0) {
			i++;
			j++;
			continue;
		}
		n++;
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	return n;
}


static enum aivenauth_status
publisher_keys(struct aivenauth_ctx *ctx, unsigned char sk[FLEET_SK_BYTES],
    unsigned char pk[FLEET_PK_BYTES])
{
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
	bool trusted;

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
	p->lock_fd = -1;
	if ((st = publisher_keys(ctx, p->sk, p->pk)) != AIVENAUTH_OK)
		goto fail;
	if (gethostname(p->id, sizeof(p->id) - 1) != 0 || p->id[0] == '\0')
		snprintf(p->id, sizeof(p->id), "publisher-%ld", (long)getpid());
	/* The writer's directory holds the lock and the lease; one run of
	 * this host at a time from here to close. */
	if ((st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != AIVENAUTH_OK ||
	    (st = fleet_lead_lock(ctx, &p->lock_fd)) != AIVENAUTH_OK)
		goto fail;
	if ((st = fleet_etcd_open(ctx, &p->fe)) != AIVENAUTH_OK)
		goto fail;
	/* The leader key's lease (fleet_lease_ttl, default 180 s: kept
	 * across runs, fleet_lead.c, so longer than the sync timer's period,
	 * 60 s plus up to 15 s of randomized delay, with room for a missed
	 * run; a takeover after the leader stopped takes at most this plus
	 * one period). */
	if ((st = fleet_lead_take(ctx, &p->fe, p->id,
	    fleet_lease_ttl(&ctx->cfg.fleet), leader, &p->lease,
	    leader_id != NULL ? leader_id : p->id,
	    leader_id != NULL ? AIVENAUTH_FLEET_ID_SIZE : 0)) != AIVENAUTH_OK) {
		fleet_etcd_close(&p->fe);
		goto fail;
	}
	if (!*leader) {
		p->lease = 0;
		aivenauth_fleet_publisher_close(p);
		return AIVENAUTH_OK;
	}
	/* Build on what the fleet holds (another publisher may have led
	 * since this cache last published or followed). */
	if ((st = fleet_catch_up(ctx, &p->fe, &trusted)) != AIVENAUTH_OK) {
		*leader = false;
		aivenauth_fleet_publisher_close(p);
		return st;
	}
	*out = p;
	return AIVENAUTH_OK;
fail:
	fleet_lead_unlock(p->lock_fd);
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

/*
 * Can the next generation be a delta on current?  Only if this host
 * published current (its set file says so, and current's manifest, signed
 * with our key, carries the set digest and chain start we recorded), the
 * hash key did not change, and the chain is short enough.  Anything else
 * (first run, another publisher published since, the file lost) makes it
 * a full generation.  *changes: the records a delta would hold.
 */
static bool
delta_ok(struct aivenauth_fleet_publisher *p, const struct fleet_gen *g,
    const struct fleet_view *v, const struct fleet_set_hdr *h,
    const struct fleet_dset *old, size_t *changes)
{
	struct fleet_manifest m;
	struct fleet_dset nw;
	struct fleet_keys ours;
	size_t limit;

	*changes = 0;
	if (v->current == 0 || h->generation != v->current) {
		ctx_log(p->ctx, LOG_INFO, "fleet: full generation: generation %"
		    PRIu64 " is not the one this host published last", v->current);
		return false;
	}
	memset(&ours, 0, sizeof(ours));
	ours.n = 1;
	memcpy(ours.pk[0], p->pk, FLEET_PK_BYTES);
	if (fleet_read_manifest(&p->fe, &ours, g->snap.organization_id,
	    v->current, v->revision, &m) != AIVENAUTH_OK ||
	    m.full != h->full || sodium_memcmp(m.digest, h->digest,
	    FLEET_DIGEST_BYTES) != 0 || sodium_memcmp(m.hash_key,
	    g->manifest.hash_key, HASH_KEY_BYTES) != 0) {
		ctx_log(p->ctx, LOG_INFO, "fleet: full generation: generation %"
		    PRIu64 "'s manifest is not the set this host published, or "
		    "the hash key changed", v->current);
		return false;
	}
	if (fleet_dset_from_gen(g, &nw) != AIVENAUTH_OK)
		return false;
	*changes = diff_count(&nw, old);
	fleet_dset_free(&nw);
	limit = h->full_records / 4 > CHAIN_MIN_RECORDS ? h->full_records / 4 :
	    CHAIN_MIN_RECORDS;
	if (h->n_deltas + 1 < CHAIN_MAX_DELTAS &&
	    h->chain_records + *changes <= limit)
		return true;
	ctx_log(p->ctx, LOG_INFO, "fleet: full generation: the chain from %"
	    PRIu64 " would hold %" PRIu64 " deltas, %" PRIu64 " records (at most "
	    "%d, %zu)", h->full, h->n_deltas + 1, h->chain_records + *changes,
	    CHAIN_MAX_DELTAS - 1, limit);
	return false;
}

/*
 * A number another run already signed a manifest under (this host's
 * publish that died before moving current, or the old leader's generation
 * that a writer of etcd hid by moving current back before a takeover) is
 * never signed again: followers holding that generation would take the
 * new one's heartbeats for theirs.  Only manifests that verify count (the
 * pinned keys, and this publisher's own): a writer of etcd cannot push the
 * number up with garbage.
 */
static uint64_t
skip_taken(struct aivenauth_fleet_publisher *p, const char *org, uint64_t gen)
{
	struct fleet_manifest m;
	struct fleet_keys k;
	char why[160];
	int i;

	memset(&k, 0, sizeof(k));
	if (p->ctx->cfg.fleet.public_keys != NULL)
		(void)fleet_keys_parse(p->ctx->cfg.fleet.public_keys, &k, why,
		    sizeof(why));
	if (k.n < FLEET_MAX_KEYS) {
		memcpy(k.pk[k.n], p->pk, FLEET_PK_BYTES);
		k.n++;
	}
	for (i = 0; i < 64; i++) {
		if (fleet_read_manifest(&p->fe, &k, org, gen, 0, &m) !=
		    AIVENAUTH_OK)
			break;
		ctx_log(p->ctx, LOG_NOTICE, "fleet: generation %" PRIu64 " already "
		    "has a signed manifest in etcd: publishing past it", gen);
		gen++;
	}
	return gen;
}

static enum aivenauth_status
publish_gen(struct aivenauth_fleet_publisher *p, const struct fleet_gen *g,
    const struct fleet_view *v, struct fleet_published *pb,
    const struct fleet_heartbeat *hb, const unsigned char *snap_id,
    uint64_t held_gen, struct aivenauth_fleet_publish_result *res)
{
	struct aivenauth_ctx *ctx = p->ctx;
	struct fleet_dset old, set;
	enum aivenauth_status st;
	struct fleet_set_hdr h, nh;
	size_t changes = 0, n = 0;
	uint64_t gen;
	bool delta;

	/* Past everything a follower could hold that this host can vouch
	 * for: the generation its cache holds (the one it published, or the
	 * verified current it caught up on when it took the key: so never
	 * below a verified current) and the last number it reserved.  etcd's
	 * current is unsigned and is not counted (re-read here it may have
	 * been moved since the catch-up).  An absurd number is refused, not
	 * wrapped. */
	gen = held_gen > pb->generation ? held_gen : pb->generation;
	if (gen >= UINT64_MAX / 2) {
		ctx_log(ctx, LOG_ERR, "fleet: generation %" PRIu64 " is not a "
		    "plausible predecessor (etcd's current says %" PRIu64 "): "
		    "not publishing; reset the fleet's etcd prefix", gen,
		    v->current);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	gen++;
	gen = skip_taken(p, g->snap.organization_id, gen);
	memset(&h, 0, sizeof(h));
	delta = fleet_published_set_read(ctx, &h, &old);
	if (!delta)
		ctx_log(ctx, LOG_INFO, "fleet: full generation: no record of the "
		    "set published last");
	delta = delta && delta_ok(p, g, v, &h, &old, &changes);
	if (delta && changes != 0 && gen != v->current + 1) {
		/* A delta is on gen - 1, which must be current. */
		ctx_log(ctx, LOG_INFO, "fleet: full generation: %" PRIu64 " does "
		    "not follow current %" PRIu64 " (a number reserved by a "
		    "publish that did not finish, or taken)", gen, v->current);
		delta = false;          /* old is freed below */
	}
	if (delta && changes == 0) {
		/* Nothing the followers hold changed (the snapshot moved for
		 * something not published): freshness only, for that set. */
		struct fleet_heartbeat hb2 = *hb;

		fleet_dset_digest(&old, hb2.set_digest);
		fleet_dset_free(&old);
		st = fleet_publish_heartbeat(&p->fe, p->sk, p->lease,
		    g->snap.organization_id, v->current, &hb2);
		if (st == AIVENAUTH_OK) {
			memcpy(pb->snap_id, snap_id, SNAP_ID_BYTES);
			fleet_published_write(ctx, pb);
		}
		res->generation = v->current;
		return st;
	}
	if (!delta)
		fleet_dset_free(&old);
	/* Reserve the number before the first record: a publish that dies
	 * after its manifest but before current moves leaves a complete,
	 * signed generation under it, and a second one signed under the
	 * same number would let whoever writes etcd swap the two. */
	pb->magic = FLEET_PUBLISHED_MAGIC;
	pb->generation = gen;
	memset(pb->snap_id, 0, SNAP_ID_BYTES);
	fleet_published_write(ctx, pb);
	st = fleet_clear_gen(&p->fe, p->lease, gen);
	if (st == AIVENAUTH_OK)
		st = fleet_publish_set(&p->fe, p->sk, p->lease, gen,
		    delta ? h.full : gen, g, delta ? &old : NULL, hb, &set, &n);
	fleet_dset_free(&old);
	if (st != AIVENAUTH_OK)
		return st;
	pb->magic = FLEET_PUBLISHED_MAGIC;
	pb->generation = gen;
	memcpy(pb->snap_id, snap_id, SNAP_ID_BYTES);
	fleet_published_write(ctx, pb);
	memset(&nh, 0, sizeof(nh));
	nh.magic = FLEET_SET_MAGIC;
	nh.generation = gen;
	nh.full = delta ? h.full : gen;
	nh.full_records = delta ? h.full_records : n;
	nh.chain_records = delta ? h.chain_records + n : 0;
	nh.n_deltas = delta ? h.n_deltas + 1 : 0;
	nh.n = set.n;
	fleet_dset_digest(&set, nh.digest);
	fleet_published_set_write(ctx, &nh, &set);
	fleet_dset_free(&set);
	/* The cache holds what it published: a later catch-up (after another
	 * publisher led) applies only what is newer. */
	if (fleet_mark_published(ctx, gen, nh.digest) != AIVENAUTH_OK)
		ctx_log(ctx, LOG_WARNING, "fleet: cannot record generation %"
		    PRIu64 " in the cache; the next run reads it back", gen);
	res->new_generation = true;
	res->generation = gen;
	res->n_users = g->snap.n_users;
	res->n_tokens = g->snap.n_tokens;
	res->delta = delta;
	res->n_records = n;
	if (delta)
		ctx_log(ctx, LOG_INFO, "fleet: published generation %" PRIu64
		    " (delta on %" PRIu64 ": %zu records; %zu users, %zu "
		    "tokens)", gen, gen - 1, n, g->snap.n_users,
		    g->snap.n_tokens);
	else
		ctx_log(ctx, LOG_INFO, "fleet: published generation %" PRIu64
		    " (full: %zu users, %zu tokens)", gen, g->snap.n_users,
		    g->snap.n_tokens);
	return AIVENAUTH_OK;
}

enum aivenauth_status
aivenauth_fleet_publisher_publish(struct aivenauth_fleet_publisher *p,
    struct aivenauth_fleet_publish_result *res)
{
	struct aivenauth_ctx *ctx;
	unsigned char snap_id[SNAP_ID_BYTES];
	struct fleet_heartbeat hb;
	enum aivenauth_status st;
	struct fleet_published pb;
	struct fleet_keys none;
	struct fleet_view v;
	struct fleet_held held;
	struct fleet_gen g;
	int64_t sync_time = 0;
	size_t journaled;

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
	if ((st = fleet_gen_from_cache(ctx, &g, snap_id, &sync_time,
	    &held)) != AIVENAUTH_OK)
		return st;
	if (sync_time == 0) {
		ctx_log(ctx, LOG_ERR, "fleet: the cache was never synced; "
		    "nothing to publish");
		fleet_gen_free(&g);
		return AIVENAUTH_ERR_CACHE_MISSING;
	}
	/* A revocation `token revoke` journaled but could not store (a full
	 * disk) is published all the same: the snapshot id has not moved,
	 * so the followers would otherwise get only a heartbeat. */
	journaled = fleet_gen_journal(ctx, &g);
	memset(&none, 0, sizeof(none));
	if ((st = fleet_read_view(&p->fe, &none, NULL, &v)) != AIVENAUTH_OK) {
		fleet_gen_free(&g);
		return st;
	}
	fleet_published_read(ctx, &pb);
	memset(&hb, 0, sizeof(hb));
	hb.last_sync_time = sync_time;
	hb.published_time = (int64_t)time(NULL);
	snprintf(hb.publisher_id, sizeof(hb.publisher_id), "%s", p->id);
	if (v.current != 0 && v.current == pb.generation && journaled == 0 &&
	    sodium_memcmp(snap_id, pb.snap_id, SNAP_ID_BYTES) == 0) {
		/* The followers have this snapshot: freshness only, for the
		 * set it holds (the same as the one published). */
		struct fleet_dset cur;

		if (held.has_set && held.generation == v.current) {
			memcpy(hb.set_digest, held.set_digest, FLEET_DIGEST_BYTES);
		} else if ((st = fleet_dset_from_gen(&g, &cur)) == AIVENAUTH_OK) {
			fleet_dset_digest(&cur, hb.set_digest);
			fleet_dset_free(&cur);
		} else {
			fleet_gen_free(&g);
			return st;
		}
		st = fleet_publish_heartbeat(&p->fe, p->sk, p->lease,
		    g.snap.organization_id, v.current, &hb);
		res->generation = v.current;
	} else {
		st = publish_gen(p, &g, &v, &pb, &hb, snap_id, held.generation,
		    res);
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
	/* The lease is kept (fleet_lead.c): the next run here resumes it. */
	fleet_etcd_close(&p->fe);
	fleet_lead_unlock(p->lock_fd);
	sodium_memzero(p->sk, sizeof(p->sk));
	free(p);
}

enum aivenauth_status
aivenauth_fleet_resign(struct aivenauth_ctx *ctx, bool *resigned,
    char leader_id[AIVENAUTH_FLEET_ID_SIZE])
{
	struct fleet_keys none;
	enum aivenauth_status st;
	struct fleet_etcd fe;
	struct fleet_view v;
	char id[FLEET_LEADER_MAX + 1] = "";
	int64_t stored;
	int fd = -1;

	if (ctx == NULL || resigned == NULL || leader_id == NULL)
		return AIVENAUTH_ERR_INVALID;
	*resigned = false;
	leader_id[0] = '\0';
	if (ctx->cfg.fleet.mode != FLEET_PUBLISH) {
		ctx_log(ctx, LOG_ERR, "this host is not a fleet publisher "
		    "(fleet = publish)");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != AIVENAUTH_OK ||
	    (st = fleet_lead_lock(ctx, &fd)) != AIVENAUTH_OK)
		return st;
	if ((st = fleet_etcd_open(ctx, &fe)) != AIVENAUTH_OK) {
		fleet_lead_unlock(fd);
		return st;
	}
	/* Only a lease this host holds (its name, this boot): never another
	 * publisher's key, nor the original's from a copied cache. */
	if (gethostname(id, sizeof(id) - 1) != 0 || id[0] == '\0')
		snprintf(id, sizeof(id), "publisher-%ld", (long)getpid());
	stored = fleet_lead_stored(ctx, id);
	memset(&none, 0, sizeof(none));
	st = fleet_read_view(&fe, &none, NULL, &v);
	if (st == AIVENAUTH_OK && v.has_leader)
		snprintf(leader_id, AIVENAUTH_FLEET_ID_SIZE, "%s", v.leader);
	if (st == AIVENAUTH_OK && stored != 0 && v.has_leader &&
	    v.leader_lease == stored && strcmp(v.leader, id) == 0) {
		if ((st = fleet_lead_resign(ctx, &fe, stored)) == AIVENAUTH_OK) {
			*resigned = true;
			ctx_log(ctx, LOG_INFO, "fleet: gave up the leader key "
			    "(lease %" PRId64 ")", stored);
		}
	} else if (st == AIVENAUTH_OK && stored != 0) {
		fleet_lead_store(ctx, 0, id);   /* lapsed or taken over */
	}
	fleet_etcd_close(&fe);
	fleet_lead_unlock(fd);
	return st;
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
