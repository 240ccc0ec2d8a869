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

#include "cache.h"
#include "rec.h"

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
	struct buf enc;
};

static const struct aivenauth_user *
find_user(const struct apply *a, const char *id)
{
	struct aivenauth_user key = { (char *)id, NULL, NULL, 0 };
	const struct aivenauth_user *kp = &key, **hit;

	hit = bsearch(&kp, a->users, a->snap->n_users, sizeof(*a->users),
	    user_ptr_cmp);
	return hit != NULL ? *hit : NULL;
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
		if (t->user_id == NULL || find_user(a, t->user_id) == NULL) {
			ctx_log(ctx, LOG_ERR, "snapshot: token %s belongs to an "
			    "application user that is not listed", t->prefix);
			return AIVENAUTH_ERR_BAD_RESPONSE;
		}
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
	if (old != NULL && old->removed_time == 0) {
		/* Local knowledge survives a sync: the hash, a local
		 * revocation (until the API stops listing the token), a
		 * scheduled one, an expiry extended by a keep-alive. */
		t.revoked = (old->flags & TOK_F_REVOKED) != 0;
		t.revoke_at = old->revoke_at;
		t.local_expiry = old->local_expiry;
		if (old->flags & TOK_F_HASH)
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

static enum aivenauth_status
apply_users(struct aivenauth_ctx *ctx, MDB_txn *txn, struct apply *a)
{
	const struct aivenauth_snapshot *s = a->snap;
	enum aivenauth_status st = AIVENAUTH_OK;
	MDB_cursor *cur;
	MDB_val k, d, nd;
	size_t i = 0, *ins = NULL, nins = 0, j;
	int rc, c;

	if ((ins = malloc((s->n_users + 1) * sizeof(*ins))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	if ((rc = mdb_cursor_open(txn, ctx->cache->users, &cur)) != 0) {
		free(ins);
		return cache_err(ctx, rc, "opening a cursor");
	}
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0 || i < s->n_users) {
		const struct aivenauth_user *u = i < s->n_users ? a->users[i] : NULL;

		if (rc == 0 && u != NULL)
			c = keycmp(k.mv_data, k.mv_size, u->user_id,
			    strlen(u->user_id));
		else
			c = rc == 0 ? -1 : 1;
		if (c < 0) {            /* no longer listed */
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			a->stats.users_removed++;
		} else if (c > 0) {     /* new: insert after the walk */
			ins[nins++] = i++;
			continue;
		} else {
			a->enc.len = 0;
			if ((st = user_encode(u, &a->enc)) != AIVENAUTH_OK)
				goto out;
			if (!same(&d, &a->enc)) {
				nd.mv_size = a->enc.len;
				nd.mv_data = a->enc.data;
				if ((rc = put_current(cur, &k, &nd)) != 0)
					break;
				a->stats.users_updated++;
			}
			i++;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		st = cache_err(ctx, rc, "writing users");
		goto out;
	}
	for (j = 0; j < nins; j++) {
		const struct aivenauth_user *u = a->users[ins[j]];

		a->enc.len = 0;
		if ((st = user_encode(u, &a->enc)) != AIVENAUTH_OK)
			goto out;
		k.mv_data = u->user_id;
		k.mv_size = strlen(u->user_id);
		nd.mv_size = a->enc.len;
		nd.mv_data = a->enc.data;
		if ((st = cache_err(ctx, mdb_put(txn, ctx->cache->users, &k, &nd, 0),
		    "writing a user")) != AIVENAUTH_OK)
			goto out;
		a->stats.users_added++;
	}
out:
	mdb_cursor_close(cur);
	free(ins);
	return st;
}

/* A token the API stopped listing: drop the hash, remember the removal. */
static enum aivenauth_status
tombstone(struct aivenauth_ctx *ctx, struct apply *a, MDB_cursor *cur,
    MDB_val *k, const struct tok_view *v, uint64_t *lens)
{
	struct aivenauth_token t;
	enum aivenauth_status st;
	MDB_val nd;
	int rc;

	if (v->removed_time != 0) {
		if (a->now - v->removed_time > TOMBSTONE_RETENTION) {
			a->stats.tombstones_expired++;
			return cache_err(ctx, mdb_cursor_del(cur, 0),
			    "forgetting a removed token");
		}
		*lens |= (uint64_t)1 << k->mv_size;
		return AIVENAUTH_OK;
	}
	if ((st = tok_to_public(v, k->mv_data, k->mv_size, &t)) != AIVENAUTH_OK)
		return st;
	t.removed_time = a->now;
	a->enc.len = 0;
	st = tok_encode(&t, NULL, &a->enc);
	aivenauth_token_clear(&t);
	if (st != AIVENAUTH_OK)
		return st;
	nd.mv_size = a->enc.len;
	nd.mv_data = a->enc.data;
	if ((rc = put_current(cur, k, &nd)) != 0)
		return cache_err(ctx, rc, "writing a removed token");
	a->stats.tokens_removed++;
	*lens |= (uint64_t)1 << k->mv_size;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
apply_tokens(struct aivenauth_ctx *ctx, MDB_txn *txn, struct apply *a,
    uint64_t *lens)
{
	const struct aivenauth_snapshot *s = a->snap;
	enum aivenauth_status st = AIVENAUTH_OK;
	MDB_cursor *cur;
	struct tok_view v;
	MDB_val k, d, nd;
	size_t i = 0, *ins = NULL, nins = 0, j;
	int rc, c;

	if ((ins = malloc((s->n_tokens + 1) * sizeof(*ins))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	if ((rc = mdb_cursor_open(txn, ctx->cache->tokens, &cur)) != 0) {
		free(ins);
		return cache_err(ctx, rc, "opening a cursor");
	}
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0 || i < s->n_tokens) {
		const struct aivenauth_token *t = i < s->n_tokens ? a->tokens[i] : NULL;

		if (rc == 0 && t != NULL)
			c = keycmp(k.mv_data, k.mv_size, t->prefix, strlen(t->prefix));
		else
			c = rc == 0 ? -1 : 1;
		if (c > 0) {
			ins[nins++] = i++;
			continue;
		}
		if (k.mv_size == 0 || k.mv_size > 63 ||
		    !tok_decode(d.mv_data, d.mv_size, &v)) {
			ctx_log(ctx, LOG_ERR, "cache %s: damaged token record",
			    ctx->cache->path);
			st = AIVENAUTH_ERR_CACHE_CORRUPT;
			goto out;
		}
		if (c < 0) {
			if ((st = tombstone(ctx, a, cur, &k, &v, lens)) != AIVENAUTH_OK)
				goto out;
		} else {
			if ((st = encode_listed(a, t, &v)) != AIVENAUTH_OK)
				goto out;
			if (!same(&d, &a->enc)) {
				nd.mv_size = a->enc.len;
				nd.mv_data = a->enc.data;
				if ((rc = put_current(cur, &k, &nd)) != 0)
					break;
				if (v.removed_time != 0)
					a->stats.tokens_added++;
				else
					a->stats.tokens_updated++;
			}
			*lens |= (uint64_t)1 << k.mv_size;
			i++;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		st = cache_err(ctx, rc, "writing tokens");
		goto out;
	}
	for (j = 0; j < nins; j++) {
		const struct aivenauth_token *t = a->tokens[ins[j]];

		if ((st = encode_listed(a, t, NULL)) != AIVENAUTH_OK)
			goto out;
		k.mv_data = t->prefix;
		k.mv_size = strlen(t->prefix);
		nd.mv_size = a->enc.len;
		nd.mv_data = a->enc.data;
		if ((st = cache_err(ctx, mdb_put(txn, ctx->cache->tokens, &k, &nd, 0),
		    "writing a token")) != AIVENAUTH_OK)
			goto out;
		*lens |= (uint64_t)1 << k.mv_size;
		a->stats.tokens_added++;
	}
out:
	mdb_cursor_close(cur);
	free(ins);
	return st;
}

static enum aivenauth_status
do_apply(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	struct apply *a = arg;
	enum aivenauth_status st;
	struct cache_state s;
	uint64_t lens = 0;
	MDB_val k, d;

	/* A retry after the map grew starts from scratch. */
	memset(&a->stats, 0, sizeof(a->stats));
	if ((st = state_get(ctx, txn, &s)) != AIVENAUTH_OK ||
	    (st = apply_users(ctx, txn, a)) != AIVENAUTH_OK ||
	    (st = apply_tokens(ctx, txn, a, &lens)) != AIVENAUTH_OK)
		return st;
	if (a->snap->organization_id != NULL) {
		k.mv_data = "org_id";
		k.mv_size = 6;
		d.mv_data = (void *)a->snap->organization_id;
		d.mv_size = strlen(a->snap->organization_id);
		if ((st = cache_err(ctx, mdb_put(txn, ctx->cache->meta, &k, &d, 0),
		    "writing meta")) != AIVENAUTH_OK)
			return st;
	}
	s.sync_time = a->now;
	s.generation++;
	s.prefix_lens = lens;
	a->stats.generation = s.generation;
	return state_put(ctx, txn, &s);
}

enum aivenauth_status
aivenauth_cache_apply(struct aivenauth_ctx *ctx,
    const struct aivenauth_snapshot *snap, int64_t now,
    struct aivenauth_apply_stats *stats)
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
	if (ctx->cache == NULL || ctx->cache->pid != getpid() || !ctx->cache->rdwr) {
		st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
		    AIVENAUTH_OPEN_CREATE);
		if (st != AIVENAUTH_OK)
			return st;
	}
	memset(&a, 0, sizeof(a));
	a.snap = snap;
	a.now = now != 0 ? now : (int64_t)time(NULL);
	a.users = malloc((snap->n_users + 1) * sizeof(*a.users));
	a.tokens = malloc((snap->n_tokens + 1) * sizeof(*a.tokens));
	if (a.users == NULL || a.tokens == NULL) {
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
	if (st == AIVENAUTH_OK && stats != NULL)
		*stats = a.stats;
out:
	free(a.users);
	free(a.tokens);
	return st;
}
