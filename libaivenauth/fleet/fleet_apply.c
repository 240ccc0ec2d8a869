/*
 * fleet_apply.c - the follower's side of fleet mode (docs/FLEET.md): what
 * fleet_follow_step read and verified is applied to this host's cache by
 * the writer, exactly as a sync applies what it fetched, in one write
 * transaction (cache_apply_ext): the merge of users and tokens, then in
 * the same transaction the publisher's hash key and exactly its set of
 * hashes, its last good sync time and the fleet generation.  All or
 * nothing; a generation not newer than the one applied is refused inside
 * that transaction (meta "fleet_gen"), so two followers racing on one
 * cache cannot apply an older one over a newer one either.
 *
 * Between generations the publisher's heartbeat moves only the sync time:
 * a write whose only change is the state record (publish = false), so
 * readers see the new freshness without a new snapshot.
 *
 * fleet_follow.c drives the steps (one, or the watch loop); a publisher
 * takes one step when it takes the leader key (fleet_catch_up).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "aivenauth_fleet.h"
#include "base/cache.h"
#include "writer/writer.h"
#include "fleet/fleet_etcd.h"
#include "fleet/fleet_key.h"
#include "base/rec.h"

struct follow_apply {
	const struct fleet_gen *g;
	size_t *order;              /* g's tokens sorted by prefix */
	int64_t sync_time;
	bool key_changed;
	bool replay;
	struct buf enc;
};

static enum aivenauth_status
meta_u64(struct aivenauth_ctx *ctx, MDB_txn *txn, const char *name,
    uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc;

	*out = 0;
	rc = mdb_get(txn, ctx->cache->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return AIVENAUTH_OK;
	if (rc != 0)
		return cache_err(ctx, rc, "reading meta");
	if (v.mv_size != sizeof(*out)) {
		ctx_log(ctx, LOG_ERR, "cache %s: bad %s record", ctx->cache->path,
		    name);
		return AIVENAUTH_ERR_CACHE_CORRUPT;
	}
	memcpy(out, v.mv_data, sizeof(*out));
	return AIVENAUTH_OK;
}

/* qsort/bsearch have no context argument: the generation they compare
 * in, per thread. */
static _Thread_local const struct fleet_gen *sort_gen;

static int
order_cmp(const void *x, const void *y)
{
	return strcmp(sort_gen->snap.tokens[*(const size_t *)x].prefix,
	    sort_gen->snap.tokens[*(const size_t *)y].prefix);
}

static _Thread_local const struct fleet_gen *find_gen;

static int
find_cmp(const void *key, const void *e)
{
	return strcmp(key, find_gen->snap.tokens[*(const size_t *)e].prefix);
}

/* One change to make after the cursor walk (a put moves pages). */
struct pending {
	char *key;
	size_t klen;
	struct buf val;
};

static void
pending_free(struct pending *p, size_t n)
{
	size_t i;

	for (i = 0; p != NULL && i < n; i++) {
		free(p[i].key);
		buf_free(&p[i].val);
	}
	free(p);
}

/* Every token's hash, revocation schedule and keep-alive expiry exactly as
 * the publisher has them; a token it did not publish keeps no hash (the
 * hash key may have changed under it). */
static enum aivenauth_status
set_tokens(struct aivenauth_ctx *ctx, MDB_txn *txn, struct follow_apply *fa)
{
	const struct fleet_gen *g = fa->g;
	enum aivenauth_status st = AIVENAUTH_OK;
	struct pending *pend = NULL;
	size_t n_pend = 0, cap = 0, i;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, ctx->cache->tokens, &cur)) != 0)
		return cache_err(ctx, rc, "reading tokens");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 &&
	    st == AIVENAUTH_OK; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const unsigned char *hash = NULL;
		struct aivenauth_token t;
		struct tok_view v;
		char pfx[AIVENAUTH_PREFIX_MAX + 1];
		size_t *hit = NULL;

		if (!tok_decode(d.mv_data, d.mv_size, &v) ||
		    k.mv_size > AIVENAUTH_PREFIX_MAX) {
			st = AIVENAUTH_ERR_CACHE_CORRUPT;
			ctx_log(ctx, LOG_ERR, "fleet: a damaged token record in "
			    "the cache");
			break;
		}
		memcpy(pfx, k.mv_data, k.mv_size);
		pfx[k.mv_size] = '\0';
		if (v.removed_time == 0) {
			find_gen = g;
			hit = bsearch(pfx, fa->order, g->snap.n_tokens,
			    sizeof(*fa->order), find_cmp);
		}
		if ((st = tok_to_public(&v, k.mv_data, k.mv_size, &t)) !=
		    AIVENAUTH_OK)
			break;
		if (hit != NULL) {
			const struct aivenauth_token *pt = &g->snap.tokens[*hit];

			/* A revocation stands until the API confirms it (the
			 * token leaves the published set: a tombstone, by the
			 * merge): a generation that lists the token as live
			 * (another publisher's, whose sync saw the API still
			 * listing it) never clears one held here, nor moves a
			 * scheduled one later.  The leader sends the DELETE. */
			t.revoked = pt->revoked || (v.flags & TOK_F_REVOKED);
			if ((v.flags & TOK_F_REVOKED) && !pt->revoked)
				ctx_log(ctx, LOG_WARNING, "fleet: generation %"
				    PRIu64 " lists token %s as live, but it is "
				    "revoked here and the API has not confirmed "
				    "the delete: it stays revoked (the leader "
				    "sends the DELETE)", g->generation, pfx);
			t.revoke_at = pt->revoke_at;
			if (v.revoke_at != 0 && (t.revoke_at == 0 ||
			    v.revoke_at < t.revoke_at))
				t.revoke_at = v.revoke_at;
			t.local_expiry = pt->local_expiry;
			if (g->has_hash[*hit])
				hash = g->hashes[*hit];
		}
		/* Something a reader accepted taken away (a revocation, a
		 * hash dropped or replaced, an earlier end): if this write is
		 * lost, readers fail closed (writer/apply.c). */
		if ((t.revoked && !(v.flags & TOK_F_REVOKED)) ||
		    ((v.flags & TOK_F_HASH) && (hash == NULL ||
		    sodium_memcmp(hash, v.hash, HASH_BYTES) != 0)) ||
		    t.revoke_at != v.revoke_at ||
		    t.local_expiry < v.local_expiry)
			ctx->cache->restricts = true;
		fa->enc.len = 0;
		st = tok_encode(&t, hash, &fa->enc);
		aivenauth_token_clear(&t);
		if (st != AIVENAUTH_OK)
			break;
		if (fa->enc.len == d.mv_size &&
		    sodium_memcmp(fa->enc.data, d.mv_data, d.mv_size) == 0)
			continue;
		if (n_pend == cap) {
			struct pending *np;

			cap = cap ? cap * 2 : 16;
			if ((np = realloc(pend, cap * sizeof(*np))) == NULL) {
				st = AIVENAUTH_ERR_NOMEM;
				break;
			}
			pend = np;
		}
		buf_init(&pend[n_pend].val, 1 << 20, true);
		if ((pend[n_pend].key = malloc(k.mv_size + 1)) == NULL) {
			st = AIVENAUTH_ERR_NOMEM;
			break;
		}
		memcpy(pend[n_pend].key, k.mv_data, k.mv_size);
		pend[n_pend].klen = k.mv_size;
		n_pend++;
		st = buf_add(&pend[n_pend - 1].val, fa->enc.data, fa->enc.len);
	}
	mdb_cursor_close(cur);
	if (st == AIVENAUTH_OK && rc != 0 && rc != MDB_NOTFOUND)
		st = cache_err(ctx, rc, "reading tokens");
	for (i = 0; st == AIVENAUTH_OK && i < n_pend; i++) {
		MDB_val pk = { pend[i].klen, pend[i].key };
		MDB_val pv = { pend[i].val.len, pend[i].val.data };

		rc = mdb_put(txn, ctx->cache->tokens, &pk, &pv, 0);
		if (rc == MDB_MAP_FULL)
			ctx->cache->map_full = true;
		st = cache_err(ctx, rc, "writing a token");
	}
	if (st == AIVENAUTH_OK && n_pend > 0)
		ctx->cache->publish = true;
	pending_free(pend, n_pend);
	return st;
}

/* After the merge, in the same transaction (cache_apply_ext). */
static enum aivenauth_status
after_merge(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	struct follow_apply *fa = arg;
	enum aivenauth_status st;
	struct cache_state s;
	uint64_t applied, gen = fa->g->generation;
	MDB_val k = { 8, "hash_key" }, v;
	int rc;

	fa->key_changed = false;
	fa->replay = false;
	if ((st = meta_u64(ctx, txn, FLEET_GEN_META, &applied)) != AIVENAUTH_OK)
		return st;
	if (gen <= applied) {
		ctx_log(ctx, LOG_ERR, "fleet: generation %" PRIu64 " is not newer "
		    "than the %" PRIu64 " applied here: refused", gen, applied);
		fa->replay = true;
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	rc = mdb_get(txn, ctx->cache->meta, &k, &v);
	if (rc != 0)
		return cache_err(ctx, rc, "reading the hash key");
	if (v.mv_size != HASH_KEY_BYTES || sodium_memcmp(v.mv_data,
	    fa->g->manifest.hash_key, HASH_KEY_BYTES) != 0) {
		if ((st = put_meta(ctx, txn, "hash_key", fa->g->manifest.hash_key,
		    HASH_KEY_BYTES)) != AIVENAUTH_OK)
			return st;
		fa->key_changed = true;
		ctx->cache->publish = true;
		ctx->cache->restricts = true;   /* every hash is replaced */
	}
	if ((st = set_tokens(ctx, txn, fa)) != AIVENAUTH_OK ||
	    (st = state_get(ctx, txn, &s)) != AIVENAUTH_OK)
		return st;
	/* Freshness is the publisher's: max_stale means what it means there. */
	s.sync_time = fa->sync_time;
	s.generation = gen;
	if ((st = state_put(ctx, txn, &s)) != AIVENAUTH_OK)
		return st;
	/* The set digest of what the cache now holds: the next delta is
	 * applied onto the cache only if it still makes this digest. */
	if ((st = put_meta(ctx, txn, FLEET_SET_META, fa->g->manifest.digest,
	    FLEET_DIGEST_BYTES)) != AIVENAUTH_OK)
		return st;
	return put_meta(ctx, txn, FLEET_GEN_META, &gen, sizeof(gen));
}

/*
 * fleet_base_fn: the set this cache holds at generation gen, read back
 * from the cache (users, tokens and hashes exactly as the apply wrote
 * them), accepted only if it makes the set digest recorded with gen's
 * apply.  A cache from before set digests were recorded, or one that
 * differs in any way, is no base: the step reads the chain whole.
 */
static enum aivenauth_status
follower_base(void *arg, uint64_t gen, struct fleet_gen *out)
{
	struct aivenauth_ctx *ctx = arg;
	unsigned char snap_id[SNAP_ID_BYTES], d[FLEET_DIGEST_BYTES];
	struct fleet_held held;
	struct fleet_dset ds;
	enum aivenauth_status st;
	int64_t sync_time;

	if ((st = fleet_gen_from_cache(ctx, out, snap_id, &sync_time, &held)) !=
	    AIVENAUTH_OK)
		return st;
	if (held.generation != gen || !held.has_set) {
		ctx_log(ctx, LOG_NOTICE, "fleet: no set digest recorded for "
		    "generation %" PRIu64 ": reading the generation whole", gen);
		fleet_gen_free(out);
		return AIVENAUTH_ERR_CACHE_MISSING;
	}
	if ((st = fleet_dset_from_gen(out, &ds)) != AIVENAUTH_OK) {
		fleet_gen_free(out);
		return st;
	}
	fleet_dset_digest(&ds, d);
	fleet_dset_free(&ds);
	if (sodium_memcmp(d, held.set_digest, sizeof(d)) != 0) {
		ctx_log(ctx, LOG_WARNING, "fleet: the cache does not hold the "
		    "set of generation %" PRIu64 ": reading the generation "
		    "whole", gen);
		fleet_gen_free(out);
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	out->generation = gen;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
ensure_writer(struct aivenauth_ctx *ctx)
{
	if (ctx->cache != NULL && ctx->cache->rdwr && cache_is_ours(ctx->cache))
		return AIVENAUTH_OK;
	if (ctx->cache != NULL)
		aivenauth_cache_close(ctx);
	return aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE);
}

/* The fleet generation applied here (0: none). */
static enum aivenauth_status
applied_gen(struct aivenauth_ctx *ctx, uint64_t *out, int64_t *sync_time,
    unsigned char set[FLEET_DIGEST_BYTES], bool *has_set)
{
	MDB_val k = { strlen(FLEET_SET_META), FLEET_SET_META }, v;
	enum aivenauth_status st;
	struct cache_state s;
	MDB_txn *txn;

	*has_set = false;
	if ((st = cache_read_begin(ctx, &txn)) != AIVENAUTH_OK)
		return st;
	st = meta_u64(ctx, txn, FLEET_GEN_META, out);
	if (st == AIVENAUTH_OK && (st = state_get(ctx, txn, &s)) == AIVENAUTH_OK)
		*sync_time = s.sync_time;
	if (st == AIVENAUTH_OK && mdb_get(txn, ctx->cache->meta, &k, &v) == 0 &&
	    v.mv_size == FLEET_DIGEST_BYTES) {
		memcpy(set, v.mv_data, FLEET_DIGEST_BYTES);
		*has_set = true;
	}
	cache_read_end(ctx);
	return st;
}

static enum aivenauth_status
apply_gen(struct aivenauth_ctx *ctx, const struct fleet_gen *g,
    int64_t sync_time)
{
	struct aivenauth_apply_stats stats;
	struct follow_apply fa;
	enum aivenauth_status st;
	size_t i;

	memset(&fa, 0, sizeof(fa));
	fa.g = g;
	fa.sync_time = sync_time;
	if ((fa.order = malloc((g->snap.n_tokens + 1) * sizeof(*fa.order))) ==
	    NULL)
		return AIVENAUTH_ERR_NOMEM;
	for (i = 0; i < g->snap.n_tokens; i++)
		fa.order[i] = i;
	sort_gen = g;
	qsort(fa.order, g->snap.n_tokens, sizeof(*fa.order), order_cmp);
	buf_init(&fa.enc, 1 << 20, true);
	st = cache_apply_ext(ctx, &g->snap, 0, &stats, after_merge, &fa);
	buf_free(&fa.enc);
	free(fa.order);
	if (st == AIVENAUTH_OK && fa.key_changed) {
		/* The writer context still holds the old hash key (loaded at
		 * open, shared by the process's writer contexts): reopen so
		 * that whatever this process hashes next uses the fleet's. */
		aivenauth_cache_close(ctx);
		st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR);
	}
	if (st == AIVENAUTH_OK)
		ctx_log(ctx, LOG_INFO, "fleet: applied generation %" PRIu64
		    " (users +%zu ~%zu -%zu, tokens +%zu ~%zu -%zu)",
		    g->generation, stats.users_added, stats.users_updated,
		    stats.users_removed, stats.tokens_added,
		    stats.tokens_updated, stats.tokens_removed);
	return st;
}

/* Heartbeat only: the state record moves, no snapshot is published. */
static enum aivenauth_status
state_only(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	const int64_t *sync_time = arg;
	enum aivenauth_status st;
	struct cache_state s;

	if ((st = state_get(ctx, txn, &s)) != AIVENAUTH_OK)
		return st;
	s.sync_time = *sync_time;
	ctx->cache->publish = false;
	return state_put(ctx, txn, &s);
}

/* One step on an open etcd client (fleet_etcd.h). */
enum aivenauth_status
fleet_apply_step(struct aivenauth_ctx *ctx, struct fleet_etcd *fe,
    const struct fleet_keys *keys, struct aivenauth_fleet_follow_result *res)
{
	unsigned char held_set[FLEET_DIGEST_BYTES];
	struct fleet_update u;
	enum aivenauth_status st;
	int64_t sync_time = 0;
	uint64_t applied = 0;
	bool has_set = false, vouch;

	memset(res, 0, sizeof(*res));
	if ((st = ensure_writer(ctx)) != AIVENAUTH_OK ||
	    (st = applied_gen(ctx, &applied, &sync_time, held_set,
	    &has_set)) != AIVENAUTH_OK)
		return st;
	res->applied_before = res->applied = applied;
	res->sync_time = sync_time;
	st = fleet_follow_step_base(fe, keys, ctx->cfg.organization_id,
	    applied, follower_base, ctx, &u);
	res->records_read = u.records_read;
	if (st != AIVENAUTH_OK) {
		fleet_update_free(&u);
		return st;
	}
	res->revision = u.view.revision;
	snprintf(res->leader, sizeof(res->leader), "%s", u.view.has_leader ?
	    u.view.leader : "");
	switch (u.result) {
	case FLEET_NONE_PUBLISHED:
		res->none_published = true;
		break;
	case FLEET_REPLAY:
		res->replay_refused = true;
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		break;
	case FLEET_NEW_GEN:
		/* Freshness only from the heartbeat of exactly this set: a
		 * current pointed (it is unsigned) at an older generation, or
		 * at a number a dead publish left behind, is applied with the
		 * freshness this cache had, and goes stale. */
		vouch = u.view.hb_generation == u.gen.generation &&
		    sodium_memcmp(u.view.hb.set_digest, u.gen.manifest.digest,
		    FLEET_DIGEST_BYTES) == 0;
		if (!vouch)
			ctx_log(ctx, LOG_WARNING, "fleet: the heartbeat (generation %"
			    PRIu64 ") does not vouch for generation %" PRIu64
			    " as read: applied without moving freshness",
			    u.view.hb_generation, u.gen.generation);
		st = apply_gen(ctx, &u.gen, vouch ? u.view.hb.last_sync_time :
		    sync_time);
		if (st == AIVENAUTH_OK) {
			res->new_generation = true;
			res->delta = u.delta;
			res->applied = u.gen.generation;
			res->sync_time = vouch ? u.view.hb.last_sync_time :
			    sync_time;
		}
		break;
	case FLEET_NOTHING_NEW:
		/* Only a heartbeat of the generation applied here, and of the
		 * very set applied (a number can be reused), vouches for it;
		 * only a newer sync time moves freshness forward. */
		if (u.view.hb_generation == applied && has_set &&
		    sodium_memcmp(u.view.hb.set_digest, held_set,
		    FLEET_DIGEST_BYTES) != 0) {
			ctx_log(ctx, LOG_WARNING, "fleet: the heartbeat of "
			    "generation %" PRIu64 " vouches for another set than "
			    "the one applied here: freshness not moved (the "
			    "publisher's next generation replaces it)", applied);
		} else if (u.view.hb_generation == applied && has_set &&
		    u.view.hb.last_sync_time > sync_time) {
			int64_t t = u.view.hb.last_sync_time;

			st = cache_write(ctx, state_only, &t);
			if (st == AIVENAUTH_OK) {
				res->state_updated = true;
				res->sync_time = t;
			}
		}
		break;
	}
	fleet_update_free(&u);
	return st;
}

enum aivenauth_status
fleet_catch_up(struct aivenauth_ctx *ctx, struct fleet_etcd *fe,
    bool *trusted)
{
	struct aivenauth_fleet_follow_result res;
	struct fleet_keys keys;
	enum aivenauth_status st;

	*trusted = false;
	if ((st = fleet_follower_keys(ctx, &keys)) != AIVENAUTH_OK)
		return st;
	st = fleet_apply_step(ctx, fe, &keys, &res);
	if (st == AIVENAUTH_OK) {
		*trusted = true;
		if (res.new_generation)
			ctx_log(ctx, LOG_NOTICE, "fleet: took over at generation %"
			    PRIu64 " (was %" PRIu64 " here): publishing on top "
			    "of it", res.applied, res.applied_before);
	} else if (res.replay_refused) {
		ctx_log(ctx, LOG_WARNING, "fleet: etcd's current generation is "
		    "older than the %" PRIu64 " this cache holds (etcd lost "
		    "it?): publishing past it", res.applied_before);
		st = AIVENAUTH_OK;
	} else if (st == AIVENAUTH_ERR_BAD_RESPONSE) {
		/* Forged, or signed by a publisher whose key is not pinned
		 * here: not built on, and its number not trusted either (a
		 * writer of etcd could otherwise push the next generation to
		 * the end of the range). */
		ctx_log(ctx, LOG_WARNING, "fleet: what etcd holds does not "
		    "verify against this publisher's keys (see above): "
		    "publishing a full generation past it without building on "
		    "it (another publisher's key belongs in fleet_public_keys)");
		st = AIVENAUTH_OK;
	}
	return st;
}

struct mark {
	uint64_t gen;
	const unsigned char *digest;
};

static enum aivenauth_status
mark_fn(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	const struct mark *m = arg;
	enum aivenauth_status st;
	uint64_t held;

	ctx->cache->publish = false;
	if ((st = meta_u64(ctx, txn, FLEET_GEN_META, &held)) != AIVENAUTH_OK)
		return st;
	if (m->gen <= held)
		return AIVENAUTH_OK;
	if ((st = put_meta(ctx, txn, FLEET_SET_META, m->digest,
	    FLEET_DIGEST_BYTES)) != AIVENAUTH_OK)
		return st;
	return put_meta(ctx, txn, FLEET_GEN_META, &m->gen, sizeof(m->gen));
}

enum aivenauth_status
fleet_mark_published(struct aivenauth_ctx *ctx, uint64_t gen,
    const unsigned char *set_digest)
{
	struct mark m = { gen, set_digest };

	return cache_write(ctx, mark_fn, &m);
}
