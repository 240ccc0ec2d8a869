/*
 * fleet_from_cache.c - what the writer's cache holds, as a fleet
 * generation: the users, the tokens with their enrolled hashes and their
 * pending revocations, the sync time, and the generation and set digest
 * this cache last applied or published.  The publisher builds what it
 * publishes from it; a follower builds the base its deltas apply onto.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <sodium.h>

#include "base/cache.h"
#include "base/rec.h"
#include "fleet/fleet_etcd.h"
#include "writer/writer.h"

static int
user_id_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct aivenauth_user *)e)->user_id);
}

static void
held_read(struct aivenauth_ctx *ctx, MDB_txn *txn, struct fleet_held *h)
{
	MDB_val k = { strlen(FLEET_GEN_META), FLEET_GEN_META }, v;

	memset(h, 0, sizeof(*h));
	if (mdb_get(txn, ctx->cache->meta, &k, &v) == 0 &&
	    v.mv_size == sizeof(h->generation))
		memcpy(&h->generation, v.mv_data, sizeof(h->generation));
	k.mv_size = strlen(FLEET_SET_META);
	k.mv_data = FLEET_SET_META;
	if (mdb_get(txn, ctx->cache->meta, &k, &v) == 0 &&
	    v.mv_size == FLEET_DIGEST_BYTES) {
		memcpy(h->set_digest, v.mv_data, FLEET_DIGEST_BYTES);
		h->has_set = true;
	}
}

/* What the writer's cache holds, as a generation (one read txn). */
enum aivenauth_status
fleet_gen_from_cache(struct aivenauth_ctx *ctx, struct fleet_gen *g,
    unsigned char *snap_id, int64_t *sync_time, struct fleet_held *held)
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
	if (held != NULL)
		held_read(ctx, txn, held);
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
		/* A token the API stopped listing: left out (a follower's
		 * merge makes it a tombstone there too).  A token revoked here
		 * that the API still lists (its DELETE failed, or is due):
		 * published with its revocation flag, so that every follower,
		 * the standby and the next leader keep refusing it, and the
		 * next leader sends the DELETE (the flag survives its sync,
		 * apply.c).  Its hash goes along: verify then says "revoked"
		 * for it, "secret mismatch" for a forgery of the prefix. */
		if (v.removed_time != 0)
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


size_t
fleet_gen_journal(struct aivenauth_ctx *ctx, struct fleet_gen *g)
{
	struct revj j;
	int64_t now = (int64_t)time(NULL);
	size_t i, t, n = 0;

	if (revj_open(ctx, false, &j) != AIVENAUTH_OK)
		return 0;
	revj_release(&j);   /* unlocked; what was read is kept */
	for (i = 0; j.read && i < REVJ_SLOTS; i++) {
		if (j.kind[i] != REVJ_ENTRY)
			continue;
		for (t = 0; t < g->snap.n_tokens; t++) {
			struct aivenauth_token *tk = &g->snap.tokens[t];

			if (strcmp(tk->prefix, j.e[i].prefix) != 0)
				continue;
			if (!tk->revoked && tk->user_id != NULL &&
			    strcmp(tk->user_id, j.e[i].user_id) == 0) {
				int64_t at = j.e[i].not_before != 0 ?
				    j.e[i].not_before : j.e[i].time;

				/* A rotation's scheduled one: refused from
				 * then on (revoke_at), revoked once due. */
				if (j.e[i].not_before != 0 &&
				    ((tk->revoke_at != 0 && tk->revoke_at <= at) ||
				    at > now)) {
					if (tk->revoke_at == 0 || tk->revoke_at > at) {
						tk->revoke_at = at;
						n++;
					}
					break;
				}
				tk->revoked = true;
				if (tk->revoke_at == 0 || tk->revoke_at > at)
					tk->revoke_at = at;
				ctx_log(ctx, LOG_NOTICE, "fleet: token %s published "
				    "revoked from the revocation journal (the "
				    "cache could not store it yet)", tk->prefix);
				n++;
			}
			break;
		}
	}
	revj_close(&j);
	return n;
}
