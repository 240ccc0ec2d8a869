/*
 * check_cache.c - the LMDB cache: create/reopen, snapshot apply (add,
 * update, remove, tombstones), enroll, revoke, schema and damage refusals,
 * MVCC isolation across processes, map growth, fork.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers/fixture.h"
#include "base/internal.h"
#include "base/cache.h"
#include "base/rec.h"

static bool
tok_removed_time_is_zero(const void *data, size_t size)
{
	struct tok_view v;

	ck_assert(tok_decode(data, size, &v));
	return v.removed_time == 0;
}

static char *dir;
static struct aivenauth_ctx *ctx;
static char tok[3][FX_TOKEN_LEN + 1];
static struct fx_snap snap;

static void
setup(void)
{
	dir = fx_tmpdir();
	ck_assert_ptr_nonnull(dir);
	ctx = fx_ctx(dir);
	ck_assert_ptr_nonnull(ctx);
	fx_token(tok[0], 0);
	fx_token(tok[1], '+');
	fx_token(tok[2], '/');
	fx_snap_init(&snap);
	fx_add_user(&snap, "u1", "alice");
	fx_add_user(&snap, "u2", "bob");
	fx_add_token(&snap, "u1", tok[0]);
	fx_add_token(&snap, "u1", tok[1]);
	fx_add_token(&snap, "u2", tok[2]);
}

static void
teardown(void)
{
	fx_snap_free(&snap);
	aivenauth_ctx_free(ctx);
	fx_rmdir(dir);
	free(dir);
}

static char *
path(const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* An independent context on the same cache (for readers after close). */
static struct aivenauth_ctx *
reader(void)
{
	struct aivenauth_ctx *c;

	ck_assert_int_eq(aivenauth_ctx_new(&c), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(c, "cache_dir", path("cache")),
	    AIVENAUTH_OK);
	return c;
}

START_TEST(create_and_reopen)
{
	struct aivenauth_cache_info info;
	struct aivenauth_ctx *r;
	struct stat st;

	ck_assert_int_eq(aivenauth_cache_info(ctx, &info), AIVENAUTH_OK);
	ck_assert_uint_eq(info.schema_version, 1);
	ck_assert_uint_eq(info.generation, 0);
	ck_assert_int_eq(info.sync_time, 0);
	ck_assert_int_gt(info.created, 0);
	/* The trust boundary's layout: the writer's environment private,
	 * readers' files read-only to the group, no shared lock file. */
	ck_assert_int_eq(stat(path("cache/writer"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(path("cache/writer/data.mdb"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(path("cache/writer/lock.mdb"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(path("cache/snapshot.mdb"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(stat(path("cache/state"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_int_ne(stat(path("cache/lock.mdb"), &st), 0);
	ck_assert_int_ne(stat(path("cache/data.mdb"), &st), 0);
	ck_assert_int_eq(stat(path("cache"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0750);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	aivenauth_cache_close(ctx);
	r = reader();
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_info(r, &info), AIVENAUTH_OK);
	ck_assert_uint_eq(info.generation, 1);
	ck_assert_uint_eq(info.users, 2);
	ck_assert_uint_eq(info.tokens, 3);
	ck_assert_uint_eq(info.enrolled, 0);
	aivenauth_ctx_free(r);
}
END_TEST

START_TEST(apply_counts_and_idempotence)
{
	struct aivenauth_apply_stats s;
	struct aivenauth_token t;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 1000, &s), AIVENAUTH_OK);
	ck_assert_uint_eq(s.users_added, 2);
	ck_assert_uint_eq(s.tokens_added, 3);
	ck_assert_uint_eq(s.generation, 1);
	/* Same snapshot again: nothing rewritten, generation still moves. */
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 2000, &s), AIVENAUTH_OK);
	ck_assert_uint_eq(s.users_added + s.users_updated + s.users_removed, 0);
	ck_assert_uint_eq(s.tokens_added + s.tokens_updated + s.tokens_removed, 0);
	ck_assert_uint_eq(s.generation, 2);
	/* A changed description and user name: updated. */
	free(snap.s.tokens[0].description);
	snap.s.tokens[0].description = strdup("changed");
	free(snap.s.users[1].name);
	snap.s.users[1].name = strdup("robert");
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 3000, &s), AIVENAUTH_OK);
	ck_assert_uint_eq(s.users_updated, 1);
	/* tok[0] (description) and tok[2] (its user's name) changed. */
	ck_assert_uint_eq(s.tokens_updated, 2);
	ck_assert_int_eq(aivenauth_cache_token(ctx, snap.s.tokens[2].prefix, &t),
	    AIVENAUTH_OK);
	ck_assert_str_eq(t.user_name, "robert");
	aivenauth_token_clear(&t);
}
END_TEST

START_TEST(removed_token_becomes_tombstone_then_expires)
{
	struct aivenauth_apply_stats s;
	struct aivenauth_token t;
	char prefix[FX_PREFIX_LEN + 1];
	int64_t t0 = 1700000000;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, t0, &s), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, "u2", tok[2], FX_TOKEN_LEN,
	    prefix), AIVENAUTH_OK);
	/* Drop bob and his token from the API. */
	aivenauth_token_clear(&snap.s.tokens[2]);
	snap.s.n_tokens = 2;
	aivenauth_user_clear(&snap.s.users[1]);
	snap.s.n_users = 1;
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, t0 + 60, &s), AIVENAUTH_OK);
	ck_assert_uint_eq(s.users_removed, 1);
	ck_assert_uint_eq(s.tokens_removed, 1);
	ck_assert_int_eq(aivenauth_cache_token(ctx, prefix, &t), AIVENAUTH_OK);
	ck_assert_int_eq(t.removed_time, t0 + 60);
	/* Refused at once, but the hash is kept for hash_retention (7 days)
	 * so that one short listing loses nothing for good. */
	ck_assert(t.enrolled);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, t0 + 6 * 86400, &s),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, prefix, &t), AIVENAUTH_OK);
	ck_assert(t.enrolled);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, t0 + 8 * 86400, &s),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, prefix, &t), AIVENAUTH_OK);
	ck_assert(!t.enrolled);            /* retention over: the hash went */
	ck_assert_int_eq(t.removed_time, t0 + 60);
	aivenauth_token_clear(&t);
	/* Still remembered after 29 days, forgotten after 31. */
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, t0 + 29 * 86400, &s),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(s.tombstones_expired, 0);
	ck_assert_uint_eq(s.tokens_removed, 0);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, t0 + 31 * 86400, &s),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(s.tombstones_expired, 1);
	ck_assert_int_eq(aivenauth_cache_token(ctx, prefix, &t),
	    AIVENAUTH_ERR_NOT_FOUND);
}
END_TEST

START_TEST(enroll_rules)
{
	struct aivenauth_token t;
	char prefix[AIVENAUTH_PREFIX_MAX + 1];
	char other[FX_TOKEN_LEN + 1];

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, "u2", tok[0], FX_TOKEN_LEN,
	    prefix), AIVENAUTH_ERR_MISMATCH);
	fx_token(other, 'Q');
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, "u1", other, FX_TOKEN_LEN,
	    NULL), AIVENAUTH_ERR_NOT_FOUND);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, "u1", "short", 5, NULL),
	    AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, "u1", tok[1], FX_TOKEN_LEN,
	    prefix), AIVENAUTH_OK);
	ck_assert_int_eq(strncmp(prefix, tok[1], FX_PREFIX_LEN), 0);
	ck_assert_uint_eq(strlen(prefix), FX_PREFIX_LEN);
	ck_assert_int_eq(aivenauth_cache_token(ctx, prefix, &t), AIVENAUTH_OK);
	ck_assert(t.enrolled);
	aivenauth_token_clear(&t);
	/* The hash survives a sync that rewrites the metadata. */
	free(snap.s.tokens[1].description);
	snap.s.tokens[1].description = strdup("new words");
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, prefix, &t), AIVENAUTH_OK);
	ck_assert(t.enrolled);
	ck_assert_str_eq(t.description, "new words");
	aivenauth_token_clear(&t);
}
END_TEST

START_TEST(local_revocation_survives_sync)
{
	struct aivenauth_apply_stats s;
	struct aivenauth_token t;
	char *p = snap.s.tokens[0].prefix;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, p, 0), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, &s), AIVENAUTH_OK);
	ck_assert_uint_eq(s.tokens_updated, 0);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(t.revoked);
	ck_assert_int_eq(t.removed_time, 0);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, "no-such-prefix", 0),
	    AIVENAUTH_ERR_NOT_FOUND);
	ck_assert_int_eq(aivenauth_cache_remove(ctx, p), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_ERR_NOT_FOUND);
}
END_TEST

START_TEST(scheduled_revocation)
{
	struct aivenauth_cache_info info;
	struct aivenauth_token t;
	char *p = snap.s.tokens[0].prefix;
	int64_t at = (int64_t)time(NULL) + 3600;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, p, at), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(!t.revoked);
	ck_assert_int_eq(t.revoke_at, at);
	aivenauth_token_clear(&t);
	/* A later schedule (a second rotate racing the first) never
	 * lengthens the token's life; a sooner one wins. */
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, p, at + 86400), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert_int_eq(t.revoke_at, at);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, p, at - 60), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(!t.revoked);
	ck_assert_int_eq(t.revoke_at, at - 60);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(aivenauth_cache_info(ctx, &info), AIVENAUTH_OK);
	ck_assert_uint_eq(info.pending_revocations, 1);
}
END_TEST

START_TEST(invalid_snapshot_changes_nothing)
{
	struct aivenauth_cache_info before, after;
	struct fx_snap bad;
	char t1[FX_TOKEN_LEN + 1];

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_info(ctx, &before), AIVENAUTH_OK);
	fx_snap_init(&bad);
	fx_add_user(&bad, "u1", "alice");
	fx_token(t1, 0);
	fx_add_token(&bad, "u1", t1);
	fx_add_token(&bad, "u1", t1);              /* duplicate prefix */
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &bad.s, 0, NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	bad.s.n_tokens = 1;
	free(bad.s.tokens[0].user_id);
	bad.s.tokens[0].user_id = strdup("u9");    /* unlisted user */
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &bad.s, 0, NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	bad.s.n_tokens = 2;
	fx_snap_free(&bad);
	ck_assert_int_eq(aivenauth_cache_info(ctx, &after), AIVENAUTH_OK);
	ck_assert_uint_eq(after.generation, before.generation);
	ck_assert_uint_eq(after.tokens, 3);
}
END_TEST

START_TEST(missing_cache)
{
	struct aivenauth_ctx *r;

	ck_assert_int_eq(aivenauth_ctx_new(&r), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(r, "cache_dir", path("nope")),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_CACHE_MISSING);
	ck_assert_int_eq(mkdir(path("nope"), 0750), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_CACHE_MISSING);
	aivenauth_ctx_free(r);
}
END_TEST

START_TEST(unsafe_paths_refused)
{
	struct aivenauth_ctx *r;

	aivenauth_cache_close(ctx);
	ck_assert_int_eq(symlink(path("cache"), path("link")), 0);
	ck_assert_int_eq(aivenauth_ctx_new(&r), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(r, "cache_dir", path("link")),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(aivenauth_config_set(r, "cache_dir", path("cache")),
	    AIVENAUTH_OK);
	ck_assert_int_eq(chmod(path("cache"), 0777), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	/* Group-writable: a group member could swap the snapshot or the
	 * state record under the readers (and, with the first layout, plant a
	 * symlink where the writer opens its lock file). */
	ck_assert_int_eq(chmod(path("cache"), 02770), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDWR),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(path("cache"), 0750), 0);
	/* The writer's directory must be private. */
	ck_assert_int_eq(chmod(path("cache/writer"), 0750), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDWR),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(path("cache/writer"), 0700), 0);
	/* A symlinked lock file is never opened by the writer. */
	ck_assert_int_eq(rename(path("cache/writer/lock.mdb"), path("victim")), 0);
	ck_assert_int_eq(symlink(path("victim"), path("cache/writer/lock.mdb")), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDWR),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(unlink(path("cache/writer/lock.mdb")), 0);
	ck_assert_int_eq(rename(path("victim"), path("cache/writer/lock.mdb")), 0);
	/* A symlinked or group-writable snapshot is refused by readers. */
	ck_assert_int_eq(chmod(path("cache/snapshot.mdb"), 0660), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(path("cache/snapshot.mdb"), 0640), 0);
	ck_assert_int_eq(rename(path("cache/snapshot.mdb"), path("real.mdb")), 0);
	ck_assert_int_eq(symlink(path("real.mdb"), path("cache/snapshot.mdb")), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	/* A state record writable by the group is refused too. */
	ck_assert_int_eq(unlink(path("cache/snapshot.mdb")), 0);
	ck_assert_int_eq(rename(path("real.mdb"), path("cache/snapshot.mdb")), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_OK);
	aivenauth_cache_close(r);
	ck_assert_int_eq(chmod(path("cache/state"), 0660), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(path("cache/state"), 0640), 0);
	/* A second link to the state file made elsewhere (a reader can,
	 * where fs.protected_hardlinks is off) must not deny service. */
	ck_assert_int_eq(link(path("cache/state"), path("state.link")), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_OK);
	ck_assert_int_eq(unlink(path("state.link")), 0);
	aivenauth_cache_close(r);
	/* A directory above cache_dir that others can write: they could put
	 * another cache directory in its place, under every reader.  Sticky
	 * (like /tmp), others cannot rename ours: accepted. */
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDWR),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_OK);
	aivenauth_cache_close(r);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	aivenauth_ctx_free(r);
}
END_TEST

static void
write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_TRUNC | O_CREAT, 0640);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

START_TEST(random_bytes_refused)
{
	unsigned char junk[65536];
	struct aivenauth_ctx *r;
	size_t i;

	aivenauth_cache_close(ctx);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7919 + 13);
	write_file(path("cache/snapshot.mdb"), junk, sizeof(junk));
	r = reader();
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_CACHE_CORRUPT);
	write_file(path("cache/writer/data.mdb"), junk, sizeof(junk));
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDWR),
	    AIVENAUTH_ERR_CACHE_CORRUPT);
	aivenauth_ctx_free(r);
}
END_TEST

START_TEST(truncated_refused)
{
	struct aivenauth_decision d;
	struct aivenauth_ctx *r;
	size_t i;

	/* Enough tokens that the file has pages beyond the first two. */
	for (i = 0; i < 400; i++) {
		char t[FX_TOKEN_LEN + 1];

		fx_token(t, 0);
		fx_add_token(&snap, "u1", t);
	}
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	aivenauth_cache_close(ctx);
	ck_assert_int_eq(truncate(path("cache/snapshot.mdb"), 3 * 4096), 0);
	r = reader();
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_CACHE_CORRUPT);
	/* verify reports the cache as unavailable, and does not crash */
	ck_assert_int_eq(aivenauth_verify(r, tok[0], FX_TOKEN_LEN, NULL, &d),
	    AIVENAUTH_ERR_CACHE_CORRUPT);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_CACHE_UNAVAILABLE);
	aivenauth_ctx_free(r);
}
END_TEST

START_TEST(newer_schema_refused)
{
	struct aivenauth_ctx *r;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t v = 99;
	MDB_val k = { 6, "schema" }, d = { sizeof(v), &v };

	aivenauth_cache_close(ctx);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
	/* The published snapshot as readers find it. */
	ck_assert_int_eq(mdb_env_open(env, path("cache/snapshot.mdb"),
	    MDB_NOSUBDIR | MDB_NOLOCK, 0640), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &d, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	r = reader();
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_CACHE_VERSION);
	aivenauth_ctx_free(r);
}
END_TEST

START_TEST(not_an_aivenauth_cache)
{
	struct aivenauth_ctx *r;
	MDB_env *env;

	ck_assert_int_eq(mkdir(path("plain"), 0750), 0);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, path("plain/snapshot.mdb"),
	    MDB_NOSUBDIR | MDB_NOLOCK, 0640), 0);
	mdb_env_close(env);
	ck_assert_int_eq(aivenauth_ctx_new(&r), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(r, "cache_dir", path("plain")),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_CACHE_CORRUPT);
	aivenauth_ctx_free(r);
}
END_TEST

/*
 * End a forked child with its verdict.  By exec, not exit: under valgrind
 * an exit would run a leak check on the child, which by design leaves the
 * parent's inherited read transaction alone (see cache.c).
 */
static void
child_exit(bool ok)
{
	execl(ok ? "/bin/true" : "/bin/false", ok ? "true" : "false", (char *)NULL);
	_exit(2);
}

/* A read transaction keeps its snapshot while another process commits. */
START_TEST(reader_keeps_view_while_writer_commits)
{
	struct aivenauth_ctx *r;
	MDB_txn *txn;
	MDB_val k, v;
	int status;
	pid_t pid;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	aivenauth_cache_close(ctx);
	r = reader();
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY), AIVENAUTH_OK);
	ck_assert_int_eq(cache_read_begin(r, &txn), AIVENAUTH_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct aivenauth_ctx *w;

		/* Child: a separate process writing: drop every token. */
		aivenauth_ctx_free(r);
		w = reader();
		snap.s.n_tokens = 0;
		child_exit(aivenauth_cache_apply(w, &snap.s, 0, NULL) == AIVENAUTH_OK);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	k.mv_data = snap.s.tokens[0].prefix;
	k.mv_size = strlen(snap.s.tokens[0].prefix);
	ck_assert_int_eq(mdb_get(txn, r->cache->tokens, &k, &v), 0);
	ck_assert(tok_removed_time_is_zero(v.mv_data, v.mv_size));
	/* The next current read sees the writer's new snapshot. */
	cache_read_end(r);
	{
		struct cache_state cs;

		ck_assert_int_eq(cache_read_current(r, &txn, &cs), AIVENAUTH_OK);
	}
	ck_assert_int_eq(mdb_get(txn, r->cache->tokens, &k, &v), 0);
	ck_assert(!tok_removed_time_is_zero(v.mv_data, v.mv_size));
	cache_read_end(r);
	aivenauth_ctx_free(r);
}
END_TEST

/*
 * A long-lived reader (an nginx worker) re-checks on re-open what a first
 * open checks: a cache directory made group-writable after it opened is
 * refused as soon as it opens the next snapshot, as a new process (sshd)
 * refuses it; before, the worker kept accepting on the new snapshot.
 */
START_TEST(long_lived_reader_rechecks_on_reopen)
{
	struct aivenauth_ctx *r, *fresh;
	struct cache_state cs;
	MDB_txn *txn;
	int status;
	pid_t pid;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	aivenauth_cache_close(ctx);
	r = reader();
	ck_assert_int_eq(aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY), AIVENAUTH_OK);
	ck_assert_int_eq(cache_read_current(r, &txn, &cs), AIVENAUTH_OK);
	cache_read_end(r);
	/* A new snapshot (another process writes it), then the directory
	 * becomes group-writable: anyone in the group can now swap it. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct aivenauth_ctx *w;

		aivenauth_ctx_free(r);
		w = reader();
		snap.s.n_tokens = 1;
		child_exit(aivenauth_cache_apply(w, &snap.s, 0, NULL) == AIVENAUTH_OK);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(chmod(path("cache"), 02770), 0);
	fresh = reader();
	ck_assert_int_eq(aivenauth_cache_open(fresh, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	aivenauth_ctx_free(fresh);
	ck_assert_int_eq(cache_read_current(r, &txn, &cs),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	/* And it stays refused (fail closed) until the directory is fixed. */
	ck_assert_int_eq(cache_read_current(r, &txn, &cs),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(path("cache"), 0750), 0);
	ck_assert_int_eq(cache_read_current(r, &txn, &cs), AIVENAUTH_OK);
	cache_read_end(r);
	/* The state record too: made writable by the group, then a new
	 * snapshot: refused by the long-lived reader as by a first open. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct aivenauth_ctx *w;

		aivenauth_ctx_free(r);
		w = reader();
		snap.s.n_tokens = 2;
		child_exit(aivenauth_cache_apply(w, &snap.s, 0, NULL) == AIVENAUTH_OK);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(chmod(path("cache/state"), 0660), 0);
	fresh = reader();
	ck_assert_int_eq(aivenauth_cache_open(fresh, AIVENAUTH_OPEN_RDONLY),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	aivenauth_ctx_free(fresh);
	ck_assert_int_eq(cache_read_current(r, &txn, &cs),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(path("cache/state"), 0640), 0);
	ck_assert_int_eq(cache_read_current(r, &txn, &cs), AIVENAUTH_OK);
	cache_read_end(r);
	aivenauth_ctx_free(r);
}
END_TEST

/* A context opened in a parent works in a forked child (reopened). */
START_TEST(context_after_fork)
{
	struct aivenauth_cache_info info;
	int status;
	pid_t pid;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child_exit(aivenauth_cache_info(ctx, &info) == AIVENAUTH_OK &&
		    info.tokens == 3);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(aivenauth_cache_info(ctx, &info), AIVENAUTH_OK);
	ck_assert_uint_eq(info.tokens, 3);
}
END_TEST

/* Records far bigger than the initial 64 MiB map: it must grow. */
START_TEST(map_grows)
{
	struct aivenauth_cache_info info;
	struct fx_snap big;
	char t[FX_TOKEN_LEN + 1], desc[4001];
	size_t i;

	memset(desc, 'd', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	fx_snap_init(&big);
	fx_add_user(&big, "u1", "alice");
	for (i = 0; i < 24000; i++) {
		struct aivenauth_token *x;

		fx_token(t, 0);
		x = fx_add_token(&big, "u1", t);
		free(x->description);
		x->description = strdup(desc);
	}
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &big.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_info(ctx, &info), AIVENAUTH_OK);
	ck_assert_uint_eq(info.tokens, 24000);
	ck_assert_uint_gt(info.map_size, 64u << 20);
	fx_snap_free(&big);
}
END_TEST

START_TEST(put_token_fills_user_and_respects_revocation)
{
	struct aivenauth_token meta, t;
	struct aivenauth_request req = { "alice", AIVENAUTH_MATCH_NAME, NULL,
	    NULL, NULL, 0 };
	struct aivenauth_decision d;
	char fresh[FX_TOKEN_LEN + 1], prefix[FX_PREFIX_LEN + 1];

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	/* a token created after the last sync: only prefix and user known */
	fx_token(fresh, 'k');
	memcpy(prefix, fresh, FX_PREFIX_LEN);
	prefix[FX_PREFIX_LEN] = '\0';
	memset(&meta, 0, sizeof(meta));
	meta.prefix = prefix;
	meta.user_id = "u1";
	ck_assert_int_eq(aivenauth_cache_put_token(ctx, &meta, fresh, FX_TOKEN_LEN),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, prefix, &t), AIVENAUTH_OK);
	ck_assert_str_eq(t.user_name, "alice");
	ck_assert(t.enrolled);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(aivenauth_verify(ctx, fresh, FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	/* a store never undoes a local revocation */
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, prefix, 0), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_put_token(ctx, &meta, fresh, FX_TOKEN_LEN),
	    AIVENAUTH_ERR_EXISTS);
	ck_assert_int_eq(aivenauth_verify(ctx, fresh, FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_REVOKED);
	/* a token that does not start with its prefix is refused */
	meta.prefix = "zzzzzzzzzzzz";
	ck_assert_int_eq(aivenauth_cache_put_token(ctx, &meta, fresh, FX_TOKEN_LEN),
	    AIVENAUTH_ERR_INVALID);
}
END_TEST

/* Rewriting records with values of another size must keep their keys
 * (mdb_cursor_put(MDB_CURRENT) re-adds the node: the key must not point
 * into the page being rewritten). */
START_TEST(resized_updates_keep_keys)
{
	struct aivenauth_cache_info info;
	struct aivenauth_apply_stats s;
	struct aivenauth_token t;
	char tk[FX_TOKEN_LEN + 1], desc[64];
	size_t i;

	for (i = 0; i < 500; i++) {
		fx_token(tk, 0);
		fx_add_token(&snap, i % 2 ? "u1" : "u2", tk);
	}
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	for (i = 0; i < snap.s.n_tokens; i++) {
		free(snap.s.tokens[i].description);
		snprintf(desc, sizeof(desc), "%.*s", (int)(i % 50), "a longer "
		    "description that changes the size of every record");
		snap.s.tokens[i].description = strdup(desc);
	}
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, &s), AIVENAUTH_OK);
	ck_assert_uint_eq(s.tokens_added, 0);
	ck_assert_uint_eq(s.tokens_removed, 0);
	for (i = 0; i < snap.s.n_tokens; i++) {
		ck_assert_int_eq(aivenauth_cache_token(ctx, snap.s.tokens[i].prefix,
		    &t), AIVENAUTH_OK);
		ck_assert_str_eq(t.description != NULL ? t.description : "",
		    snap.s.tokens[i].description);
		aivenauth_token_clear(&t);
	}
	ck_assert_int_eq(aivenauth_cache_info(ctx, &info), AIVENAUTH_OK);
	ck_assert_uint_eq(info.tokens, snap.s.n_tokens);
}
END_TEST

/* Several contexts on one cache in one process share one environment:
 * closing one never disturbs another's read transaction (LMDB forbids
 * two environments on the same files in a process). */
START_TEST(contexts_share_one_environment)
{
	struct aivenauth_request req = { "alice", AIVENAUTH_MATCH_NAME, NULL,
	    NULL, NULL, 0 };
	struct aivenauth_decision d;
	struct aivenauth_ctx *a, *b;
	int i;

	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, "u1", tok[0], FX_TOKEN_LEN,
	    NULL), AIVENAUTH_OK);
	a = reader();
	ck_assert_int_eq(aivenauth_verify(a, tok[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	for (i = 0; i < 3; i++) {
		/* another context opens and closes the same cache */
		b = reader();
		ck_assert_int_eq(aivenauth_verify(b, tok[0], FX_TOKEN_LEN, &req,
		    &d), AIVENAUTH_OK);
		aivenauth_ctx_free(b);
		ck_assert_int_eq(aivenauth_verify(a, tok[0], FX_TOKEN_LEN, &req,
		    &d), AIVENAUTH_OK);
		ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	}
	/* a write through the (writable) context is seen by the reader */
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, snap.s.tokens[0].prefix, 0),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_verify(a, tok[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_REVOKED);
	aivenauth_ctx_free(a);
}
END_TEST

static Suite *
cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("cache");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, create_and_reopen);
	tcase_add_test(tc, apply_counts_and_idempotence);
	tcase_add_test(tc, removed_token_becomes_tombstone_then_expires);
	tcase_add_test(tc, enroll_rules);
	tcase_add_test(tc, local_revocation_survives_sync);
	tcase_add_test(tc, scheduled_revocation);
	tcase_add_test(tc, invalid_snapshot_changes_nothing);
	tcase_add_test(tc, missing_cache);
	tcase_add_test(tc, unsafe_paths_refused);
	tcase_add_test(tc, random_bytes_refused);
	tcase_add_test(tc, truncated_refused);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, not_an_aivenauth_cache);
	tcase_add_test(tc, reader_keeps_view_while_writer_commits);
	tcase_add_test(tc, long_lived_reader_rechecks_on_reopen);
	tcase_add_test(tc, context_after_fork);
	tcase_add_test(tc, put_token_fills_user_and_respects_revocation);
	tcase_add_test(tc, resized_updates_keep_keys);
	tcase_add_test(tc, contexts_share_one_environment);
	tcase_add_test(tc, map_grows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
