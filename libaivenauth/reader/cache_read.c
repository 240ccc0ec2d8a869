/*
 * cache_read.c - reading records out of the cache: counts and state
 * (aivenauth_cache_info), the users, the tokens, one token.  What aivenctl
 * status, list and inspect show; the decision itself is verify.c, the
 * writes writer/cache_write.c.
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
#include "reader/reader.h"

static enum aivenauth_status
need_open(struct aivenauth_ctx *ctx)
{
	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	return reader_attach(ctx);
}

/* Call fn for every record of dbi, in key order, inside txn. */
typedef enum aivenauth_status walk_fn(struct aivenauth_ctx *ctx,
    const MDB_val *k, const MDB_val *d, void *arg);

static enum aivenauth_status
walk(struct aivenauth_ctx *ctx, MDB_txn *txn, MDB_dbi dbi, const char *what,
    walk_fn *fn, void *arg)
{
	enum aivenauth_status st = AIVENAUTH_OK;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return cache_err(ctx, rc, "opening a cursor");
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0)
		if ((st = fn(ctx, &k, &d, arg)) != AIVENAUTH_OK)
			break;
	if (st == AIVENAUTH_OK && rc != MDB_NOTFOUND)
		st = cache_err(ctx, rc, what);
	mdb_cursor_close(cur);
	return st;
}

/* Room for one more element: returns the (maybe moved) array, or NULL
 * with the old array intact when memory runs out. */
static void *
grow(void *arr, size_t *cap, size_t cnt, size_t size)
{
	void *tmp;
	size_t ncap;

	if (cnt < *cap)
		return arr;
	ncap = *cap != 0 ? *cap * 2 : 16;
	if ((tmp = realloc(arr, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return tmp;
}

struct count_arg {
	struct aivenauth_cache_info *info;
	int64_t now;
};

static enum aivenauth_status
count_token(struct aivenauth_ctx *ctx, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct count_arg *a = arg;
	struct tok_view v;

	if (!tok_decode(d->mv_data, d->mv_size, &v))
		return record_corrupt(ctx, "token", k);
	if (v.removed_time != 0 || (v.flags & TOK_F_REVOKED) != 0 ||
	    (v.revoke_at != 0 && v.revoke_at <= a->now)) {
		a->info->revoked++;
		return AIVENAUTH_OK;
	}
	a->info->tokens++;
	if (v.flags & TOK_F_HASH)
		a->info->enrolled++;
	if (v.revoke_at != 0)
		a->info->pending_revocations++;
	return AIVENAUTH_OK;
}

enum aivenauth_status
aivenauth_cache_info(struct aivenauth_ctx *ctx, struct aivenauth_cache_info *info)
{
	struct count_arg a = { info, (int64_t)time(NULL) };
	enum aivenauth_status st;
	struct cache_state s;
	MDB_envinfo ei;
	MDB_stat ms;
	MDB_txn *txn;
	MDB_val k, d;
	struct stat fst;

	if (info == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(info, 0, sizeof(*info));
	if ((st = need_open(ctx)) != AIVENAUTH_OK)
		return st;
	info->path = ctx->cache->path;
	info->schema_version = CACHE_SCHEMA;
	if (mdb_env_info(ctx->cache->env, &ei) == 0)
		info->map_size = ei.me_mapsize;
	if (stat(ctx->cache->data_path, &fst) == 0)
		info->file_size = (uint64_t)fst.st_size;
	/* The state verify decides on (a reader: the published record's
	 * sync time and generation). */
	if ((st = cache_read_current(ctx, &txn, &s)) != AIVENAUTH_OK)
		return st;
	info->generation = s.generation;
	info->sync_time = s.sync_time;
	k.mv_data = "created";
	k.mv_size = 7;
	if (mdb_get(txn, ctx->cache->meta, &k, &d) == 0 && d.mv_size == 8)
		memcpy(&info->created, d.mv_data, 8);
	k.mv_data = "org_id";
	k.mv_size = 6;
	if (mdb_get(txn, ctx->cache->meta, &k, &d) == 0 &&
	    d.mv_size <= AIVENAUTH_ID_MAX) {
		memcpy(info->organization_id, d.mv_data, d.mv_size);
		info->organization_id[d.mv_size] = '\0';
	}
	if (mdb_stat(txn, ctx->cache->users, &ms) == 0)
		info->users = ms.ms_entries;
	st = walk(ctx, txn, ctx->cache->tokens, "reading tokens", count_token, &a);
	cache_read_end(ctx);
	return st;
}

struct users_arg {
	struct aivenauth_user *out;
	size_t cnt, cap;
};

static enum aivenauth_status
collect_user(struct aivenauth_ctx *ctx, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct users_arg *a = arg;
	struct aivenauth_user *u;
	struct sv name, email;

	if ((u = grow(a->out, &a->cap, a->cnt, sizeof(*a->out))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	a->out = u;
	u = &a->out[a->cnt];
	if (!user_decode(d->mv_data, d->mv_size, u, &name, &email))
		return record_corrupt(ctx, "user", k);
	a->cnt++;   /* from here on, the free covers it */
	u->user_id = sv_dup((struct sv){ k->mv_data, (uint32_t)k->mv_size });
	u->name = sv_dup(name);
	u->email = email.n ? sv_dup(email) : NULL;
	if (u->user_id == NULL || u->name == NULL || (email.n && u->email == NULL))
		return AIVENAUTH_ERR_NOMEM;
	return AIVENAUTH_OK;
}

enum aivenauth_status
aivenauth_cache_users(struct aivenauth_ctx *ctx, struct aivenauth_user **users,
    size_t *n)
{
	struct users_arg a = { NULL, 0, 0 };
	enum aivenauth_status st;
	MDB_txn *txn;

	if (users == NULL || n == NULL)
		return AIVENAUTH_ERR_INVALID;
	*users = NULL;
	*n = 0;
	if ((st = need_open(ctx)) != AIVENAUTH_OK ||
	    (st = cache_read_begin(ctx, &txn)) != AIVENAUTH_OK)
		return st;
	st = walk(ctx, txn, ctx->cache->users, "reading users", collect_user, &a);
	cache_read_end(ctx);
	if (st != AIVENAUTH_OK) {
		aivenauth_users_free(a.out, a.cnt);
		return st;
	}
	*users = a.out;
	*n = a.cnt;
	return AIVENAUTH_OK;
}

struct tokens_arg {
	const char *user_id;
	struct aivenauth_token *out;
	size_t cnt, cap;
};

static enum aivenauth_status
collect_token(struct aivenauth_ctx *ctx, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct tokens_arg *a = arg;
	struct aivenauth_token *t;
	enum aivenauth_status st;
	struct tok_view v;

	if (!tok_decode(d->mv_data, d->mv_size, &v))
		return record_corrupt(ctx, "token", k);
	if (a->user_id != NULL && !sv_eq(v.user_id, a->user_id))
		return AIVENAUTH_OK;
	if ((t = grow(a->out, &a->cap, a->cnt, sizeof(*a->out))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	a->out = t;
	if ((st = tok_to_public(&v, k->mv_data, k->mv_size, &a->out[a->cnt])) !=
	    AIVENAUTH_OK)
		return st;
	a->cnt++;
	return AIVENAUTH_OK;
}

enum aivenauth_status
aivenauth_cache_tokens(struct aivenauth_ctx *ctx, const char *user_id,
    struct aivenauth_token **tokens, size_t *n)
{
	struct tokens_arg a = { user_id, NULL, 0, 0 };
	enum aivenauth_status st;
	MDB_txn *txn;

	if (tokens == NULL || n == NULL)
		return AIVENAUTH_ERR_INVALID;
	*tokens = NULL;
	*n = 0;
	if ((st = need_open(ctx)) != AIVENAUTH_OK ||
	    (st = cache_read_begin(ctx, &txn)) != AIVENAUTH_OK)
		return st;
	st = walk(ctx, txn, ctx->cache->tokens, "reading tokens", collect_token,
	    &a);
	cache_read_end(ctx);
	if (st != AIVENAUTH_OK) {
		aivenauth_tokens_free(a.out, a.cnt);
		return st;
	}
	*tokens = a.out;
	*n = a.cnt;
	return AIVENAUTH_OK;
}

enum aivenauth_status
aivenauth_cache_token(struct aivenauth_ctx *ctx, const char *prefix,
    struct aivenauth_token *out)
{
	enum aivenauth_status st;
	struct tok_view v;
	MDB_txn *txn;
	MDB_val k, d;
	int rc;

	if (prefix == NULL || out == NULL || *prefix == '\0')
		return AIVENAUTH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if ((st = need_open(ctx)) != AIVENAUTH_OK ||
	    (st = cache_read_begin(ctx, &txn)) != AIVENAUTH_OK)
		return st;
	k.mv_data = (void *)prefix;
	k.mv_size = strlen(prefix);
	rc = mdb_get(txn, ctx->cache->tokens, &k, &d);
	if (rc == MDB_NOTFOUND)
		st = AIVENAUTH_ERR_NOT_FOUND;
	else if (rc != 0)
		st = cache_err(ctx, rc, "reading a token");
	else if (!tok_decode(d.mv_data, d.mv_size, &v))
		st = record_corrupt(ctx, "token", &k);
	else
		st = tok_to_public(&v, prefix, k.mv_size, out);
	cache_read_end(ctx);
	return st;
}
