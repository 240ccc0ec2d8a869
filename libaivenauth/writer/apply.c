/*
 * apply.c - make the cache mirror one complete snapshot of the API, in one
 * write transaction.
 *
 * The snapshot is sorted the way LMDB orders keys and merged with a cursor
 * walk over the existing records, so applying n tokens costs O(n log n) for
 * the sort and one pass over the B-tree, and a record is rewritten only
 * when its bytes change (a sync where nothing changed writes only the
 * sync time and generation).
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "writer/dupnames_store.h"
#include "writer/writer.h"
#include "base/rec.h"

/* LMDB's default key order: memcmp over the common length, shorter first. */
static int
keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

static int
user_ptr_cmp(const void *x, const void *y)
{
	const struct aivenauth_user *a = *(const struct aivenauth_user *const *)x;
	const struct aivenauth_user *b = *(const struct aivenauth_user *const *)y;

	return keycmp(a->user_id, strlen(a->user_id), b->user_id,
	    strlen(b->user_id));
}

static int
token_ptr_cmp(const void *x, const void *y)
{
	const struct aivenauth_token *a = *(const struct aivenauth_token *const *)x;
	const struct aivenauth_token *b = *(const struct aivenauth_token *const *)y;

	return keycmp(a->prefix, strlen(a->prefix), b->prefix, strlen(b->prefix));
}

struct apply {
	const struct aivenauth_snapshot *snap;
	const struct aivenauth_user **users;    /* sorted by id */
	const struct aivenauth_token **tokens;  /* sorted by prefix */
	int64_t now;
	struct aivenauth_apply_stats stats;
	uint64_t lens;                          /* prefix lengths present */
	int64_t hash_retention;                 /* config hash_retention */
	bool changed;                           /* a record was written */
	bool decisive;                          /* ... that a decision reads */
	bool decisive_before;                   /* (token_both's undo) */
	bool complete;                          /* do_apply ran to its end:
	                                           ctx->cache->restricts
	                                           says all */
	write_fn *after;                        /* cache_apply_ext: more work
	                                           in the same transaction */
	void *after_arg;
	size_t *user_tokens;                    /* tokens listed per user
	                                           (index of a->users) */
	struct buf enc;
};

/* Index of user id in the sorted users, or -1. */
static ssize_t
user_index(const struct apply *a, const char *id, size_t n)
{
	size_t lo = 0, hi = a->snap->n_users;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = a->users[mid]->user_id;
		int c = keycmp(m, strlen(m), id, n);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static const struct aivenauth_user *
find_user(const struct apply *a, const char *id)
{
	ssize_t i = user_index(a, id, strlen(id));

	return i >= 0 ? a->users[i] : NULL;
}

static bool
str_ok(const char *s, size_t max)
{
	return s == NULL || strlen(s) <= max;
}

static bool
list_ok(char *const *v, size_t n)
{
	size_t i;

	if (n > REC_LIST_MAX || (n > 0 && v == NULL))
		return false;
	for (i = 0; i < n; i++)
		if (v[i] == NULL || strlen(v[i]) > REC_STR_MAX)
			return false;
	return true;
}

/* Refuse a snapshot that would make the cache inconsistent. */
static enum aivenauth_status
validate(struct aivenauth_ctx *ctx, struct apply *a)
{
	const struct aivenauth_snapshot *s = a->snap;
	size_t i, n;
	ssize_t ui;

	for (i = 0; i < s->n_users; i++) {
		const struct aivenauth_user *u = a->users[i];

		n = u->user_id != NULL ? strlen(u->user_id) : 0;
		if (n == 0 || n > AIVENAUTH_ID_MAX || u->name == NULL ||
		    !str_ok(u->name, REC_STR_MAX) || !str_ok(u->email, REC_STR_MAX)) {
			ctx_log(ctx, LOG_ERR, "snapshot: application user #%zu has "
			    "a missing or over-long id, name or email", i);
			return AIVENAUTH_ERR_BAD_RESPONSE;
		}
		if (i > 0 && user_ptr_cmp(&a->users[i - 1], &a->users[i]) == 0) {
			ctx_log(ctx, LOG_ERR, "snapshot: application user %s is "
			    "listed twice", u->user_id);
			return AIVENAUTH_ERR_BAD_RESPONSE;
		}
	}
	for (i = 0; i < s->n_tokens; i++) {
		const struct aivenauth_token *t = a->tokens[i];

		n = t->prefix != NULL ? strlen(t->prefix) : 0;
		if (n == 0 || n > 63 || n > AIVENAUTH_PREFIX_MAX) {
			ctx_log(ctx, LOG_ERR, "snapshot: a token has a missing or "
			    "over-long prefix");
			return AIVENAUTH_ERR_BAD_RESPONSE;
		}
		if (i > 0 && token_ptr_cmp(&a->tokens[i - 1], &a->tokens[i]) == 0) {
			ctx_log(ctx, LOG_ERR, "snapshot: token prefix %s is listed "
			    "twice", t->prefix);
			return AIVENAUTH_ERR_BAD_RESPONSE;
		}
		/* A prefix that begins another one would make lookups
		 * ambiguous (the key order puts it right before). */
		if (i > 0) {
			const char *p = a->tokens[i - 1]->prefix;
			size_t pn = strlen(p);

			if (pn < n && memcmp(p, t->prefix, pn) == 0) {
				ctx_log(ctx, LOG_ERR, "snapshot: token prefix %s "
				    "begins token prefix %s", p, t->prefix);
				return AIVENAUTH_ERR_BAD_RESPONSE;
			}
		}
		if (t->user_id == NULL ||
		    (ui = user_index(a, t->user_id, strlen(t->user_id))) < 0) {
			ctx_log(ctx, LOG_ERR, "snapshot: token %s belongs to an "
			    "application user that is not listed", t->prefix);
			return AIVENAUTH_ERR_BAD_RESPONSE;
		}
		a->user_tokens[ui]++;
		if (!str_ok(t->description, REC_STR_MAX) ||
		    !str_ok(t->last_ip, REC_STR_MAX) ||
		    !str_ok(t->last_user_agent, REC_STR_MAX) ||
		    !list_ok(t->scopes, t->n_scopes) ||
		    !list_ok(t->ip_allowlist, t->n_ip_allowlist)) {
			ctx_log(ctx, LOG_ERR, "snapshot: token %s has an over-long "
			    "field or list", t->prefix);
			return AIVENAUTH_ERR_BAD_RESPONSE;
		}
	}
	return AIVENAUTH_OK;
}

/* Encode the record a listed token should have, given what is stored. */
static enum aivenauth_status
encode_listed(struct apply *a, const struct aivenauth_token *src,
    const struct tok_view *old)
{
	const struct aivenauth_user *u = find_user(a, src->user_id);
	struct aivenauth_token t = *src;
	const unsigned char *hash = NULL;

	t.user_name = u->name;
	t.user_email = u->email;
	t.currently_active = false;
	t.revoked = false;
	t.revoke_at = 0;
	t.removed_time = 0;
	t.local_expiry = 0;
	if (old != NULL) {
		/* Local knowledge survives a sync: the hash, a local
		 * revocation, a scheduled one, an expiry extended by a
		 * keep-alive.  A tombstone listed again (one short or empty
		 * listing) gets back its hash while it still has one (kept
		 * for hash_retention), and stays revoked if it was revoked
		 * here: revocation beats availability. */
		t.revoked = (old->flags & TOK_F_REVOKED) != 0;
		t.revoke_at = old->revoke_at;
		if (old->removed_time == 0)
			t.local_expiry = old->local_expiry;
		/* A real token never changes owner: a listing that moves a
		 * prefix to another user gets no hash (it would let the new
		 * owner log in with the old owner's token). */
		if ((old->flags & TOK_F_HASH) && sv_eq(old->user_id, src->user_id))
			hash = old->hash;
	}
	a->enc.len = 0;
	return tok_encode(&t, hash, &a->enc);
}

static bool
same(const MDB_val *d, const struct buf *b)
{
	return d->mv_size == b->len && memcmp(d->mv_data, b->data, b->len) == 0;
}

/*
 * mdb_cursor_put(MDB_CURRENT) with a value of another size deletes the node
 * and adds it again, reading the key after the delete moved the page's
 * contents: a key that points into the page (as mdb_cursor_get returns it)
 * is then garbage, and the record is re-added under a wrong key.  Pass a
 * copy of the key.
 */
static int
put_current(MDB_cursor *cur, const MDB_val *k, MDB_val *nd)
{
	char kb[512];
	MDB_val kc;

	if (k->mv_size > sizeof(kb))
		return MDB_BAD_VALSIZE;
	memcpy(kb, k->mv_data, k->mv_size);
	kc.mv_size = k->mv_size;
	kc.mv_data = kb;
	return mdb_cursor_put(cur, &kc, nd, MDB_CURRENT);
}

/*
 * The merge walk shared by users and tokens: the sorted snapshot against
 * the stored records, in one cursor pass.  A record on both sides goes to
 * both(), a stored one no longer listed to gone(); new ones are inserted
 * by added() after the walk, so the cursor never sees its own inserts.
 */
struct merge_ops {
	const char *what;
	const char *(*key)(const struct apply *a, size_t i);
	enum aivenauth_status (*both)(struct aivenauth_ctx *ctx, struct apply *a,
	    MDB_cursor *cur, const MDB_val *k, const MDB_val *d, size_t i);
	enum aivenauth_status (*gone)(struct aivenauth_ctx *ctx, struct apply *a,
	    MDB_cursor *cur, const MDB_val *k, const MDB_val *d);
	enum aivenauth_status (*added)(struct aivenauth_ctx *ctx, struct apply *a,
	    MDB_txn *txn, size_t i);
};

static enum aivenauth_status
merge(struct aivenauth_ctx *ctx, MDB_txn *txn, MDB_dbi dbi, size_t n,
    struct apply *a, const struct merge_ops *ops)
{
	enum aivenauth_status st = AIVENAUTH_OK;
	size_t i = 0, *ins, nins = 0, j;
	MDB_cursor *cur;
	const char *key;
	MDB_val k, d;
	int rc, c;

	if ((ins = malloc((n + 1) * sizeof(*ins))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		free(ins);
		return cache_err(ctx, rc, "opening a cursor");
	}
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0 || i < n) {
		key = i < n ? ops->key(a, i) : NULL;
		if (rc == 0 && key != NULL)
			c = keycmp(k.mv_data, k.mv_size, key, strlen(key));
		else
			c = rc == 0 ? -1 : 1;
		if (c > 0) {
			ins[nins++] = i++;
			continue;
		}
		st = c < 0 ? ops->gone(ctx, a, cur, &k, &d) :
		    ops->both(ctx, a, cur, &k, &d, i++);
		if (st != AIVENAUTH_OK)
			goto out;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		st = cache_err(ctx, rc, ops->what);
		goto out;
	}
	for (j = 0; j < nins && st == AIVENAUTH_OK; j++)
		st = ops->added(ctx, a, txn, ins[j]);
out:
	mdb_cursor_close(cur);
	free(ins);
	return st;
}

/* Replace the record under the cursor with a->enc. */
static enum aivenauth_status
replace(struct aivenauth_ctx *ctx, MDB_cursor *cur, const MDB_val *k,
    struct apply *a, const char *what)
{
	MDB_val nd = { a->enc.len, a->enc.data };

	a->changed = true;
	a->decisive_before = a->decisive;
	a->decisive = true;
	return cache_err(ctx, put_current(cur, k, &nd), what);
}

/* Insert a->enc under key. */
static enum aivenauth_status
insert(struct aivenauth_ctx *ctx, MDB_txn *txn, MDB_dbi dbi, const char *key,
    struct apply *a, const char *what)
{
	MDB_val k = { strlen(key), (void *)key }, nd = { a->enc.len, a->enc.data };

	a->changed = true;
	a->decisive = true;
	return cache_err(ctx, mdb_put(txn, dbi, &k, &nd, 0), what);
}

static const char *
user_key(const struct apply *a, size_t i)
{
	return a->users[i]->user_id;
}

static enum aivenauth_status
user_both(struct aivenauth_ctx *ctx, struct apply *a, MDB_cursor *cur,
    const MDB_val *k, const MDB_val *d, size_t i)
{
	enum aivenauth_status st;

	a->enc.len = 0;
	if ((st = user_encode(a->users[i], &a->enc)) != AIVENAUTH_OK ||
	    same(d, &a->enc))
		return st;
	a->stats.users_updated++;
	return replace(ctx, cur, k, a, "writing a user");
}

static enum aivenauth_status
user_gone(struct aivenauth_ctx *ctx, struct apply *a, MDB_cursor *cur,
    const MDB_val *k UNUSED, const MDB_val *d UNUSED)
{
	a->stats.users_removed++;
	a->changed = true;
	a->decisive = true;
	ctx->cache->restricts = true;
	return cache_err(ctx, mdb_cursor_del(cur, 0), "removing a user");
}

static enum aivenauth_status
user_added(struct aivenauth_ctx *ctx, struct apply *a, MDB_txn *txn, size_t i)
{
	enum aivenauth_status st;

	a->enc.len = 0;
	if ((st = user_encode(a->users[i], &a->enc)) != AIVENAUTH_OK)
		return st;
	a->stats.users_added++;
	return insert(ctx, txn, ctx->cache->users, a->users[i]->user_id, a,
	    "writing a user");
}

static const struct merge_ops user_ops = {
	"writing users", user_key, user_both, user_gone, user_added,
};

static enum aivenauth_status
decode_stored(struct aivenauth_ctx *ctx, const MDB_val *k, const MDB_val *d,
    struct tok_view *v)
{
	if (k->mv_size == 0 || k->mv_size > 63 ||
	    !tok_decode(d->mv_data, d->mv_size, v)) {
		ctx_log(ctx, LOG_ERR, "cache %s: damaged token record",
		    ctx->cache->path);
		return AIVENAUTH_ERR_CACHE_CORRUPT;
	}
	return AIVENAUTH_OK;
}

static bool
sv_same(struct sv x, struct sv y)
{
	return x.n == y.n && (x.n == 0 || memcmp(x.p, y.p, x.n) == 0);
}

/* Does the new encoding differ from the stored view in anything verify
 * reads?  (Not: description, create time, last-use time, IP, agent.) */
static bool
decisive_change(const struct tok_view *o, const struct buf *enc)
{
	struct tok_view n;

	if (!tok_decode(enc->data, enc->len, &n))
		return true;
	if (n.flags != o->flags || n.expiry_time != o->expiry_time ||
	    n.max_age != o->max_age || n.revoke_at != o->revoke_at ||
	    n.removed_time != o->removed_time ||
	    n.local_expiry != o->local_expiry ||
	    !sv_same(n.user_id, o->user_id) || !sv_same(n.user_name, o->user_name) ||
	    !sv_same(n.user_email, o->user_email) ||
	    n.n_scopes != o->n_scopes || n.n_ips != o->n_ips ||
	    n.scopes_len != o->scopes_len || n.ips_len != o->ips_len ||
	    (n.scopes_len > 0 && memcmp(n.scopes, o->scopes, n.scopes_len) != 0) ||
	    (n.ips_len > 0 && memcmp(n.ips, o->ips, n.ips_len) != 0))
		return true;
	if ((n.flags & TOK_F_HASH) &&
	    sodium_memcmp(n.hash, o->hash, HASH_BYTES) != 0)
		return true;
	return false;
}

static const char *
token_key(const struct apply *a, size_t i)
{
	return a->tokens[i]->prefix;
}

static enum aivenauth_status
token_both(struct aivenauth_ctx *ctx, struct apply *a, MDB_cursor *cur,
    const MDB_val *k, const MDB_val *d, size_t i)
{
	enum aivenauth_status st;
	struct tok_view v;

	if ((st = decode_stored(ctx, k, d, &v)) != AIVENAUTH_OK ||
	    (st = encode_listed(a, a->tokens[i], &v)) != AIVENAUTH_OK)
		return st;
	a->lens |= (uint64_t)1 << k->mv_size;
	if (same(d, &a->enc))
		return AIVENAUTH_OK;
	if (v.removed_time != 0)
		a->stats.tokens_added++;    /* listed again */
	else
		a->stats.tokens_updated++;
	if ((st = replace(ctx, cur, k, a, "writing a token")) != AIVENAUTH_OK)
		return st;
	/* replace() counted it decisive; only last-use metadata moving (the
	 * admin token's own use, every sync) is not. */
	if (!decisive_change(&v, &a->enc))
		a->decisive = a->decisive_before;
	else if (v.removed_time == 0)
		ctx->cache->restricts = true;   /* it may take something away
		                                   (an expiry, scopes, addresses) */
	return AIVENAUTH_OK;
}

/*
 * A token the API stopped listing is refused at once (a "removed"
 * tombstone: verify says revoked), keeps its hash for hash_retention so
 * that one short or empty listing loses nothing for good (a token made
 * with `token create` was shown once), and is forgotten after
 * TOMBSTONE_RETENTION.
 */
static enum aivenauth_status
token_gone(struct aivenauth_ctx *ctx, struct apply *a, MDB_cursor *cur,
    const MDB_val *k, const MDB_val *d)
{
	struct aivenauth_token t;
	enum aivenauth_status st;
	struct tok_view v;

	if ((st = decode_stored(ctx, k, d, &v)) != AIVENAUTH_OK)
		return st;
	bool keep_hash = (v.flags & TOK_F_HASH) != 0;

	if (v.removed_time == 0 && keep_hash) {
		/* Keep the hash only when the token went with its whole
		 * list (its user unlisted, or listed with no token: what one
		 * empty or cut listing looks like).  A token gone while its
		 * siblings are still listed was deleted: a replayed or stale
		 * listing must not bring it back to life. */
		ssize_t ui = user_index(a, v.user_id.p, v.user_id.n);

		if (ui >= 0 && a->user_tokens[ui] > 0)
			keep_hash = false;
	}
	if (v.removed_time != 0) {
		if (a->now - v.removed_time > TOMBSTONE_RETENTION) {
			a->stats.tombstones_expired++;
			a->changed = true;
			a->decisive = true;
			return cache_err(ctx, mdb_cursor_del(cur, 0),
			    "forgetting a removed token");
		}
		a->lens |= (uint64_t)1 << k->mv_size;
		if (!keep_hash || a->now - v.removed_time <= a->hash_retention)
			return AIVENAUTH_OK;
		keep_hash = false;    /* retention over: drop the hash */
	} else {
		a->stats.tokens_removed++;
		ctx->cache->restricts = true;   /* the API revoked it */
	}
	if ((st = tok_to_public(&v, k->mv_data, k->mv_size, &t)) != AIVENAUTH_OK)
		return st;
	if (t.removed_time == 0)
		t.removed_time = a->now;
	a->enc.len = 0;
	st = tok_encode(&t, keep_hash ? v.hash : NULL, &a->enc);
	aivenauth_token_clear(&t);
	if (st != AIVENAUTH_OK)
		return st;
	a->lens |= (uint64_t)1 << k->mv_size;
	return replace(ctx, cur, k, a, "writing a removed token");
}

static enum aivenauth_status
token_added(struct aivenauth_ctx *ctx, struct apply *a, MDB_txn *txn, size_t i)
{
	enum aivenauth_status st;

	if ((st = encode_listed(a, a->tokens[i], NULL)) != AIVENAUTH_OK)
		return st;
	a->stats.tokens_added++;
	a->lens |= (uint64_t)1 << strlen(a->tokens[i]->prefix);
	return insert(ctx, txn, ctx->cache->tokens, a->tokens[i]->prefix, a,
	    "writing a token");
}

static const struct merge_ops token_ops = {
	"writing tokens", token_key, token_both, token_gone, token_added,
};

static enum aivenauth_status
do_apply(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	struct apply *a = arg;
	enum aivenauth_status st;
	struct cache_state s;
	MDB_val k, d;

	/* A retry after the map grew starts from scratch. */
	memset(&a->stats, 0, sizeof(a->stats));
	a->lens = 0;
	a->changed = false;
	a->decisive = false;
	a->complete = false;
	ctx->cache->restricts = false;
	ctx->cache->applying = true;
	if ((st = state_get(ctx, txn, &s)) != AIVENAUTH_OK ||
	    (st = merge(ctx, txn, ctx->cache->users, a->snap->n_users, a,
	    &user_ops)) != AIVENAUTH_OK ||
	    (st = merge(ctx, txn, ctx->cache->tokens, a->snap->n_tokens, a,
	    &token_ops)) != AIVENAUTH_OK)
		return st;
	/* The repeated names beside the users they describe (SECURITY.md
	 * O4); a cache of an older writer gets them, and publishes them,
	 * at its first sync. */
	if (a->stats.users_added != 0 || a->stats.users_updated != 0 ||
	    a->stats.users_removed != 0 || !dupnames_stored(ctx, txn)) {
		if ((st = dupnames_store(ctx, txn)) != AIVENAUTH_OK)
			return st;
		a->changed = a->decisive = true;
	}
	if (a->snap->organization_id != NULL) {
		MDB_val old;
		size_t n = strlen(a->snap->organization_id);

		k.mv_data = "org_id";
		k.mv_size = 6;
		if (mdb_get(txn, ctx->cache->meta, &k, &old) != 0 ||
		    old.mv_size != n || memcmp(old.mv_data,
		    a->snap->organization_id, n) != 0) {
			d.mv_data = (void *)a->snap->organization_id;
			d.mv_size = n;
			a->changed = a->decisive = true;
			if ((st = cache_err(ctx, mdb_put(txn, ctx->cache->meta,
			    &k, &d, 0), "writing meta")) != AIVENAUTH_OK)
				return st;
		}
	}
	if (s.prefix_lens != a->lens)
		a->changed = a->decisive = true;
	s.sync_time = a->now;
	s.generation++;
	s.prefix_lens = a->lens;
	a->stats.generation = s.generation;
	if ((st = state_put(ctx, txn, &s)) != AIVENAUTH_OK)
		return st;
	/* Nothing a decision reads changed: readers get only the new time
	 * and generation (the state record), not a new snapshot.  Last-use
	 * metadata alone (which moves at every sync) is published at most
	 * every COSMETIC_PUBLISH_AFTER seconds, so `token list` stays
	 * roughly current without a full snapshot per sync. */
	ctx->cache->publish = a->decisive || (a->changed &&
	    (!pubstate_read(&ctx->cache->ps) || a->now -
	    ctx->cache->ps.last.publish_time >= COSMETIC_PUBLISH_AFTER));
	if (a->after != NULL) {
		/* The follower's hashes and times (fleet): it sets publish
		 * itself when it changes a record. */
		if ((st = a->after(ctx, txn, a->after_arg)) != AIVENAUTH_OK)
			return st;
		ctx->cache->publish = ctx->cache->publish || a->decisive;
	}
	a->complete = true;
	return AIVENAUTH_OK;
}

/* A failure of the cache itself (not of what was fetched). */
static bool
storage_failure(enum aivenauth_status st)
{
	switch (st) {
	case AIVENAUTH_ERR_CACHE_FULL:
	case AIVENAUTH_ERR_IO:
	case AIVENAUTH_ERR_CACHE_ACCESS:
	case AIVENAUTH_ERR_CACHE_CORRUPT:
	case AIVENAUTH_ERR_READONLY:
	case AIVENAUTH_ERR_NOMEM:
		return true;
	default:
		return false;
	}
}

enum aivenauth_status
aivenauth_cache_apply(struct aivenauth_ctx *ctx,
    const struct aivenauth_snapshot *snap, int64_t now,
    struct aivenauth_apply_stats *stats)
{
	return cache_apply_ext(ctx, snap, now, stats, NULL, NULL);
}

enum aivenauth_status
cache_apply_ext(struct aivenauth_ctx *ctx,
    const struct aivenauth_snapshot *snap, int64_t now,
    struct aivenauth_apply_stats *stats, write_fn *after, void *after_arg)
{
	struct apply a;
	enum aivenauth_status st;
	size_t i;

	if (ctx == NULL || snap == NULL ||
	    (snap->n_users > 0 && snap->users == NULL) ||
	    (snap->n_tokens > 0 && snap->tokens == NULL))
		return AIVENAUTH_ERR_INVALID;
	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	if (ctx->cache == NULL || !cache_is_ours(ctx->cache) || !ctx->cache->rdwr) {
		st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
		    AIVENAUTH_OPEN_CREATE);
		if (st != AIVENAUTH_OK)
			return st;
	}
	memset(&a, 0, sizeof(a));
	a.snap = snap;
	a.now = now != 0 ? now : (int64_t)time(NULL);
	a.after = after;
	a.after_arg = after_arg;
	a.hash_retention = ctx->cfg.hash_retention;
	a.users = malloc((snap->n_users + 1) * sizeof(*a.users));
	a.user_tokens = calloc(snap->n_users + 1, sizeof(*a.user_tokens));
	a.tokens = malloc((snap->n_tokens + 1) * sizeof(*a.tokens));
	if (a.users == NULL || a.tokens == NULL || a.user_tokens == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < snap->n_users; i++)
		a.users[i] = &snap->users[i];
	for (i = 0; i < snap->n_tokens; i++)
		a.tokens[i] = &snap->tokens[i];
	for (i = 0; i < snap->n_users; i++)
		if (snap->users[i].user_id == NULL)
			break;
	if (i == snap->n_users)
		qsort(a.users, snap->n_users, sizeof(*a.users), user_ptr_cmp);
	for (i = 0; i < snap->n_tokens; i++)
		if (snap->tokens[i].prefix == NULL)
			break;
	if (i == snap->n_tokens)
		qsort(a.tokens, snap->n_tokens, sizeof(*a.tokens), token_ptr_cmp);
	if ((st = validate(ctx, &a)) != AIVENAUTH_OK)
		goto out;
	buf_init(&a.enc, 1 << 20, false);
	st = cache_write(ctx, do_apply, &a);
	buf_free(&a.enc);
	if (st != AIVENAUTH_OK && storage_failure(st) &&
	    (ctx->cache->restricts || !a.complete)) {
		/* The API (or the fleet) took something away -- a revocation,
		 * a removal -- and the cache could not store it (a full
		 * disk...): readers must not keep deciding on the snapshot it
		 * contradicts.  They answer cache-unavailable until a write
		 * stores it (the next sync, or follow step, publishes).
		 * Withdrawing needs no disk block.  A write that failed before
		 * it could tell counts as one that took something away. */
		pubstate_withdraw_until_sync(&ctx->cache->ps);
		ctx_log(ctx, LOG_ERR, "cache %s: a revocation or removal was "
		    "fetched but could not be stored (%s): readers refuse to "
		    "decide until a sync stores it", ctx->cache->path,
		    aivenauth_strerror(st));
	}
	if (st == AIVENAUTH_OK && stats != NULL)
		*stats = a.stats;
out:
	free(a.users);
	free(a.tokens);
	free(a.user_tokens);
	return st;
}
