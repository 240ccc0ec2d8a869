/*
 * cache_write.c - the small writes: enroll a hash, store a created token,
 * revoke, remove.  The snapshot apply lives in apply.c, the reads in
 * reader/cache_read.c.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "base/rec.h"
#include "writer/dupnames_store.h"
#include "writer/writer.h"

static enum aivenauth_status
need_rdwr(struct aivenauth_ctx *ctx)
{
	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (ctx->cache != NULL && cache_is_ours(ctx->cache) && ctx->cache->rdwr)
		return AIVENAUTH_OK;
	return aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR);
}

/* Re-encode a token record from its view with changed local fields. */
enum aivenauth_status
token_rewrite(struct aivenauth_ctx *ctx, MDB_txn *txn, MDB_val *k,
    const struct tok_view *v, const struct aivenauth_token *changes,
    const unsigned char *hash)
{
	struct aivenauth_token t;
	enum aivenauth_status st;
	struct buf b;
	MDB_val d;

	if ((st = tok_to_public(v, k->mv_data, k->mv_size, &t)) != AIVENAUTH_OK)
		return st;
	t.revoked = changes->revoked;
	t.revoke_at = changes->revoke_at;
	t.local_expiry = changes->local_expiry;
	buf_init(&b, 1 << 20, false);
	st = tok_encode(&t, hash, &b);
	aivenauth_token_clear(&t);
	if (st != AIVENAUTH_OK)
		return st;
	d.mv_data = b.data;
	d.mv_size = b.len;
	st = cache_err(ctx, mdb_put(txn, ctx->cache->tokens, k, &d, 0),
	    "writing a token");
	buf_free(&b);
	return st;
}

struct enroll_arg {
	const char *user_id;
	const char *token;
	size_t len;
	char *prefix_out;
};

static enum aivenauth_status
do_enroll(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	struct enroll_arg *a = arg;
	unsigned char h[HASH_BYTES];
	struct aivenauth_token ch;
	enum aivenauth_status st;
	struct cache_state s;
	struct tok_view v;
	MDB_val k, d;
	int rc;

	if ((st = state_get(ctx, txn, &s)) != AIVENAUTH_OK)
		return st;
	rc = token_lookup(ctx->cache, txn, s.prefix_lens, a->token, a->len, &k, &d);
	if (rc == MDB_NOTFOUND) {
		ctx_log(ctx, LOG_ERR, "no synced token has this token's prefix "
		    "(run 'aivenctl sync' first, or check the token)");
		return AIVENAUTH_ERR_NOT_FOUND;
	}
	if (rc != 0)
		return cache_err(ctx, rc, "looking up a token");
	if (!tok_decode(d.mv_data, d.mv_size, &v))
		return record_corrupt(ctx, "token", &k);
	if (a->prefix_out != NULL && k.mv_size <= AIVENAUTH_PREFIX_MAX) {
		memcpy(a->prefix_out, k.mv_data, k.mv_size);
		a->prefix_out[k.mv_size] = '\0';
	}
	if (a->user_id != NULL && !sv_eq(v.user_id, a->user_id)) {
		ctx_log(ctx, LOG_ERR, "token %.*s belongs to application user %.*s, "
		    "not %s", (int)k.mv_size, (const char *)k.mv_data,
		    (int)v.user_id.n, v.user_id.p, a->user_id);
		return AIVENAUTH_ERR_MISMATCH;
	}
	if (v.removed_time != 0) {
		ctx_log(ctx, LOG_ERR, "token %.*s is no longer listed by the API "
		    "(revoked)", (int)k.mv_size, (const char *)k.mv_data);
		return AIVENAUTH_ERR_NOT_FOUND;
	}
	token_hash(ctx->cache->key, a->token, a->len, h);
	memset(&ch, 0, sizeof(ch));
	ch.revoked = (v.flags & TOK_F_REVOKED) != 0;
	ch.revoke_at = v.revoke_at;
	ch.local_expiry = v.local_expiry;
	st = token_rewrite(ctx, txn, &k, &v, &ch, h);
	sodium_memzero(h, sizeof(h));
	return st;
}

enum aivenauth_status
aivenauth_cache_enroll(struct aivenauth_ctx *ctx, const char *user_id,
    const char *token, size_t len, char *prefix_out)
{
	struct enroll_arg a = { user_id, token, len, prefix_out };
	enum aivenauth_status st;

	if (token == NULL || user_id == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (prefix_out != NULL)
		prefix_out[0] = '\0';
	if (!aivenauth_token_shaped(token, len)) {
		ctx_log(ctx, LOG_ERR, "input is not shaped like an Aiven token");
		return AIVENAUTH_ERR_INVALID;
	}
	if ((st = need_rdwr(ctx)) != AIVENAUTH_OK)
		return st;
	return cache_write(ctx, do_enroll, &a);
}

/* Set bit len in the prefix-length bitmap. */
static enum aivenauth_status
note_prefix_len(struct aivenauth_ctx *ctx, MDB_txn *txn, size_t len)
{
	enum aivenauth_status st;
	struct cache_state s;

	if ((st = state_get(ctx, txn, &s)) != AIVENAUTH_OK)
		return st;
	if (len == 0 || len > 63)
		return AIVENAUTH_ERR_INVALID;
	if (s.prefix_lens & ((uint64_t)1 << len))
		return AIVENAUTH_OK;
	s.prefix_lens |= (uint64_t)1 << len;
	return state_put(ctx, txn, &s);
}

struct put_arg {
	const struct aivenauth_token *meta;
	const char *token;
	size_t len;
};

static enum aivenauth_status
do_put(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	struct put_arg *a = arg;
	unsigned char h[HASH_BYTES];
	struct aivenauth_token t;
	enum aivenauth_status st;
	size_t plen = strlen(a->meta->prefix);
	char *uname = NULL, *uemail = NULL;
	struct buf b;
	MDB_val k, d;
	int rc;

	if (plen >= a->len || memcmp(a->meta->prefix, a->token, plen) != 0) {
		ctx_log(ctx, LOG_ERR, "token does not start with its prefix %s",
		    a->meta->prefix);
		return AIVENAUTH_ERR_INVALID;
	}
	k.mv_data = (void *)a->meta->prefix;
	k.mv_size = plen;
	rc = mdb_get(txn, ctx->cache->tokens, &k, &d);
	if (rc == 0) {
		struct tok_view v;

		/* Revocation beats availability: never let a store undo a
		 * local revocation or a removal on a reused prefix. */
		if (!tok_decode(d.mv_data, d.mv_size, &v))
			return record_corrupt(ctx, "token", &k);
		if ((v.flags & TOK_F_REVOKED) || v.revoke_at != 0 ||
		    v.removed_time != 0) {
			ctx_log(ctx, LOG_ERR, "token %s is revoked on this host; "
			    "refusing to store it again", a->meta->prefix);
			return AIVENAUTH_ERR_EXISTS;
		}
	} else if (rc != MDB_NOTFOUND) {
		return cache_err(ctx, rc, "looking up a token");
	}
	t = *a->meta;
	t.revoked = false;
	t.revoke_at = 0;
	t.removed_time = 0;
	t.local_expiry = 0;
	t.currently_active = false;
	/* Verify matches on the user's name and email, which the record
	 * carries: take them from the synced user when the caller has not. */
	MDB_val uk = { strlen(t.user_id), (void *)t.user_id }, ud;

	rc = mdb_get(txn, ctx->cache->users, &uk, &ud);
	if (rc == MDB_NOTFOUND && t.user_name != NULL) {
		/* A user created since the last sync (the caller found it at
		 * the API): record it now, as the caller names it, so that a
		 * fleet leader publishes the token at once (a generation
		 * carries only tokens whose user it carries).  The next sync
		 * replaces it with the API's record, or removes it. */
		struct aivenauth_user nu;

		memset(&nu, 0, sizeof(nu));
		nu.user_id = t.user_id;
		nu.name = t.user_name;
		nu.email = t.user_email;
		buf_init(&b, 1 << 20, false);
		st = user_encode(&nu, &b);
		if (st == AIVENAUTH_OK) {
			d.mv_data = b.data;
			d.mv_size = b.len;
			st = cache_err(ctx, mdb_put(txn, ctx->cache->users, &uk,
			    &d, 0), "storing a user");
		}
		/* it may hold a name another user holds (SECURITY.md O4) */
		if (st == AIVENAUTH_OK)
			st = dupnames_store(ctx, txn);
		buf_free(&b);
		if (st != AIVENAUTH_OK)
			return st;
	} else if (rc != 0 && rc != MDB_NOTFOUND) {
		return cache_err(ctx, rc, "looking up a user");
	}
	if (t.user_name == NULL || t.user_email == NULL) {
		struct aivenauth_user u;
		struct sv name, email;

		if (rc == 0 &&
		    user_decode(ud.mv_data, ud.mv_size, &u, &name, &email)) {
			if (t.user_name == NULL && (t.user_name = uname =
			    sv_dup(name)) == NULL)
				return AIVENAUTH_ERR_NOMEM;
			if (t.user_email == NULL && email.n > 0 &&
			    (t.user_email = uemail = sv_dup(email)) == NULL) {
				free(uname);
				return AIVENAUTH_ERR_NOMEM;
			}
		}
	}
	token_hash(ctx->cache->key, a->token, a->len, h);
	buf_init(&b, 1 << 20, false);
	st = tok_encode(&t, h, &b);
	sodium_memzero(h, sizeof(h));
	free(uname);
	free(uemail);
	if (st != AIVENAUTH_OK)
		goto out;
	d.mv_data = b.data;
	d.mv_size = b.len;
	if ((st = cache_err(ctx, mdb_put(txn, ctx->cache->tokens, &k, &d, 0),
	    "storing a token")) != AIVENAUTH_OK)
		goto out;
	st = note_prefix_len(ctx, txn, plen);
out:
	buf_free(&b);
	return st;
}

enum aivenauth_status
aivenauth_cache_put_token(struct aivenauth_ctx *ctx,
    const struct aivenauth_token *meta, const char *token, size_t len)
{
	struct put_arg a = { meta, token, len };
	enum aivenauth_status st;

	if (meta == NULL || meta->prefix == NULL || meta->user_id == NULL ||
	    token == NULL || strlen(meta->prefix) > AIVENAUTH_PREFIX_MAX ||
	    *meta->prefix == '\0')
		return AIVENAUTH_ERR_INVALID;
	if (!aivenauth_token_shaped(token, len)) {
		ctx_log(ctx, LOG_ERR, "refusing to store a token that is not "
		    "token-shaped");
		return AIVENAUTH_ERR_INVALID;
	}
	if ((st = need_rdwr(ctx)) != AIVENAUTH_OK)
		return st;
	return cache_write(ctx, do_put, &a);
}

struct revoke_arg {
	const char *prefix;
	int64_t at;
	bool remove;
};

static enum aivenauth_status
do_revoke(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	struct revoke_arg *a = arg;
	struct aivenauth_token ch;
	struct tok_view v;
	MDB_val k, d;
	int64_t now = (int64_t)time(NULL);
	int rc;

	k.mv_data = (void *)a->prefix;
	k.mv_size = strlen(a->prefix);
	rc = mdb_get(txn, ctx->cache->tokens, &k, &d);
	if (rc == MDB_NOTFOUND) {
		ctx_log(ctx, LOG_NOTICE, "no token with prefix %s in the cache",
		    a->prefix);
		return AIVENAUTH_ERR_NOT_FOUND;
	}
	if (rc != 0)
		return cache_err(ctx, rc, "looking up a token");
	if (a->remove)
		return cache_err(ctx, mdb_del(txn, ctx->cache->tokens, &k, NULL),
		    "removing a token");
	if (!tok_decode(d.mv_data, d.mv_size, &v))
		return record_corrupt(ctx, "token", &k);
	memset(&ch, 0, sizeof(ch));
	ch.local_expiry = v.local_expiry;
	if (a->at <= now) {
		ch.revoked = true;
		ch.revoke_at = now;
	} else {
		ch.revoked = (v.flags & TOK_F_REVOKED) != 0;
		/* A scheduled revocation only ever comes sooner: two rotates
		 * racing, or a caller naming a later time, never give a
		 * token a longer life than it was already told it had. */
		ch.revoke_at = ch.revoked || (v.revoke_at != 0 &&
		    v.revoke_at < a->at) ? v.revoke_at : a->at;
	}
	/* Keep the hash: verify then says "revoked" for the right token and
	 * "secret mismatch" for a forged one with the same prefix. */
	return token_rewrite(ctx, txn, &k, &v, &ch,
	    (v.flags & TOK_F_HASH) ? v.hash : NULL);
}

enum aivenauth_status
aivenauth_cache_revoke(struct aivenauth_ctx *ctx, const char *prefix, int64_t at)
{
	struct revoke_arg a = { prefix, at, false };
	enum aivenauth_status st;

	if (prefix == NULL || *prefix == '\0')
		return AIVENAUTH_ERR_INVALID;
	if ((st = need_rdwr(ctx)) != AIVENAUTH_OK)
		return st;
	st = cache_write(ctx, do_revoke, &a);
	if (st != AIVENAUTH_OK && st != AIVENAUTH_ERR_NOT_FOUND) {
		/* Revocation beats availability: a revocation this host could
		 * not record (a full disk...) must not leave readers
		 * accepting the token; they refuse to decide until a write
		 * succeeds. */
		pubstate_withdraw(&ctx->cache->ps);
		ctx_log(ctx, LOG_ERR, "revocation of token %s not stored in "
		    "the cache: readers refuse to decide until a write stores "
		    "it", prefix);
	}
	return st;
}

enum aivenauth_status
aivenauth_cache_remove(struct aivenauth_ctx *ctx, const char *prefix)
{
	struct revoke_arg a = { prefix, 0, true };
	enum aivenauth_status st;

	if (prefix == NULL || *prefix == '\0')
		return AIVENAUTH_ERR_INVALID;
	if ((st = need_rdwr(ctx)) != AIVENAUTH_OK)
		return st;
	return cache_write(ctx, do_revoke, &a);
}
