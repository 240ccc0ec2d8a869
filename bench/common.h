/*
 * bench/common.h - helpers shared by the benchmarks (header only: every
 * bench/NAME.c is its own program).
 *
 * Tokens are deterministic functions of their index, so a cache built by
 * one program can be verified by another without storing 370 MB of
 * secrets: token i = 12-character prefix (a bijection of i, so prefixes
 * are unique and spread over the key space like random ones) + 360
 * pseudo-random base64 characters.  User of token i = i / tokens_per_user,
 * named "user%07zu".
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "aivenauth.h"
#include "base/cache.h"
#include "base/internal.h"
#include "base/rec.h"
#include "writer/writer.h"

#include "token.h"

static int
bench_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double
bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void
bench_die(const char *what, int st)
{
	fprintf(stderr, "bench: %s failed: %d (%s)\n", what, st,
	    st >= 0 ? aivenauth_strerror((enum aivenauth_status)st) : "");
	exit(1);
}

static void
bench_log(void *arg, int level, const char *msg)
{
	(void)arg;
	fprintf(stderr, "bench: lib[%d]: %s\n", level, msg);
}

/* A context on cache_dir dir, logging errors to stderr, never stale. */
static inline struct aivenauth_ctx *
bench_ctx(const char *dir)
{
	struct aivenauth_ctx *ctx;
	int st;

	if ((st = aivenauth_ctx_new(&ctx)) != AIVENAUTH_OK)
		bench_die("ctx_new", st);
	aivenauth_set_log(ctx, bench_log, NULL, 3 /* LOG_ERR */);
	if ((st = aivenauth_config_set(ctx, "cache_dir", dir)) != AIVENAUTH_OK ||
	    (st = aivenauth_config_set(ctx, "max_stale", "0")) != AIVENAUTH_OK)
		bench_die("config_set", st);
	return ctx;
}

struct bench_snap {
	struct aivenauth_snapshot s;
	char (*uid)[32];
	char (*uname)[32];
	char (*prefix)[BENCH_PREFIX_LEN + 1];
};

static inline void
bench_snap_make(struct bench_snap *b, size_t n, size_t tpu, int64_t now)
{
	size_t nu = (n + tpu - 1) / tpu, i;
	char tok[BENCH_TOKEN_LEN + 1];

	memset(b, 0, sizeof(*b));
	b->s.organization_id = "org1234567890a";
	b->s.users = calloc(nu, sizeof(*b->s.users));
	b->s.tokens = calloc(n, sizeof(*b->s.tokens));
	b->uid = calloc(nu, sizeof(*b->uid));
	b->uname = calloc(nu, sizeof(*b->uname));
	b->prefix = calloc(n, sizeof(*b->prefix));
	if (!b->s.users || !b->s.tokens || !b->uid || !b->uname || !b->prefix)
		bench_die("calloc", AIVENAUTH_ERR_NOMEM);
	b->s.n_users = nu;
	b->s.n_tokens = n;
	for (i = 0; i < nu; i++) {
		snprintf(b->uid[i], sizeof(b->uid[i]), "u%012zx", i);
		snprintf(b->uname[i], sizeof(b->uname[i]), "user%07zu", i);
		b->s.users[i].user_id = b->uid[i];
		b->s.users[i].name = b->uname[i];
		b->s.users[i].create_time = now - 86400;
	}
	for (i = 0; i < n; i++) {
		struct aivenauth_token *t = &b->s.tokens[i];

		bench_token(i, tok);
		memcpy(b->prefix[i], tok, BENCH_PREFIX_LEN);
		b->prefix[i][BENCH_PREFIX_LEN] = '\0';
		t->prefix = b->prefix[i];
		t->user_id = b->uid[i / tpu];
		t->description = "bench";
		t->create_time = now - 3600;
		t->currently_active = true;
	}
}

static inline void
bench_snap_free(struct bench_snap *b)
{
	free(b->s.users);
	free(b->s.tokens);
	free(b->uid);
	free(b->uname);
	free(b->prefix);
}

/* Enroll tokens [lo, hi) in one write transaction, as
 * aivenauth_cache_enroll() does for one (decode, re-encode with the hash). */
struct bench_enroll {
	size_t lo, hi;
};

static enum aivenauth_status
bench_enroll_fn(struct aivenauth_ctx *ctx, MDB_txn *txn, void *arg)
{
	const struct bench_enroll *e = arg;
	char tok[BENCH_TOKEN_LEN + 1];
	unsigned char h[HASH_BYTES];
	enum aivenauth_status st = AIVENAUTH_OK;
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20, false);
	for (i = e->lo; i < e->hi && st == AIVENAUTH_OK; i++) {
		struct aivenauth_token t;
		struct tok_view v;
		MDB_val k = { BENCH_PREFIX_LEN, tok }, val;
		int rc;

		bench_token(i, tok);
		if ((rc = mdb_get(txn, ctx->cache->tokens, &k, &val)) != 0)
			return cache_err(ctx, rc, "bench: reading a token");
		if (!tok_decode(val.mv_data, val.mv_size, &v))
			return AIVENAUTH_ERR_CACHE_CORRUPT;
		if ((st = tok_to_public(&v, tok, BENCH_PREFIX_LEN, &t)) != AIVENAUTH_OK)
			break;
		token_hash(ctx->cache->key, tok, BENCH_TOKEN_LEN, h);
		b.len = 0;
		st = tok_encode(&t, h, &b);
		aivenauth_token_clear(&t);
		if (st != AIVENAUTH_OK)
			break;
		val.mv_data = b.data;
		val.mv_size = b.len;
		if ((rc = mdb_put(txn, ctx->cache->tokens, &k, &val, 0)) != 0) {
			if (rc == MDB_MAP_FULL)
				ctx->cache->map_full = true;
			st = cache_err(ctx, rc, "bench: writing a token");
		}
	}
	buf_free(&b);
	return st;
}

/*
 * Build a cache of n enrolled tokens, tpu per user, in dir (created).
 * Returns the seconds the snapshot apply took (figure 5).
 */
static inline double
bench_build_cache(const char *dir, size_t n, size_t tpu, double *enroll_s)
{
	struct aivenauth_apply_stats stats;
	struct aivenauth_ctx *ctx = bench_ctx(dir);
	struct bench_snap b;
	int64_t now = (int64_t)time(NULL);
	double t0, apply_s;
	size_t lo;
	int st;

	bench_snap_make(&b, n, tpu, now);
	if ((st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR |
	    AIVENAUTH_OPEN_CREATE)) != AIVENAUTH_OK)
		bench_die("cache_open rdwr", st);
	t0 = bench_now();
	if ((st = aivenauth_cache_apply(ctx, &b.s, now, &stats)) != AIVENAUTH_OK)
		bench_die("cache_apply", st);
	apply_s = bench_now() - t0;
	if (stats.tokens_added != n)
		bench_die("cache_apply count", -1);
	bench_snap_free(&b);
	t0 = bench_now();
	for (lo = 0; lo < n; lo += 250000) {
		struct bench_enroll e = { lo, lo + 250000 < n ? lo + 250000 : n };

		if ((st = cache_write(ctx, bench_enroll_fn, &e)) != AIVENAUTH_OK)
			bench_die("enroll batch", st);
	}
	if (enroll_s != NULL)
		*enroll_s = bench_now() - t0;
	aivenauth_ctx_free(ctx);
	return apply_s;
}

/* out = a + b, or die if it does not fit. */
static inline void
bench_path(char *out, size_t size, const char *a, const char *b)
{
	int r = snprintf(out, size, "%s%s", a, b);

	if (r < 0 || (size_t)r >= size)
		bench_die("path too long", -1);
}

/* Value of a "Key:   N kB" line of /proc/self/status, in kB. */
static inline long
bench_status_kb(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

#endif
