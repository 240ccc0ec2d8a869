/*
 * bench_verify - library verify vs the floor, in the same process.
 *
 *   bench_verify run DIR [SIZES] [ROUNDS] [OPS]
 *       For each size (default 1000,100000,1000000): build DIR/N (if it is
 *       not there yet: snapshot apply + enroll), then ROUNDS rounds, each
 *       timing OPS random verifies and OPS floor operations (order
 *       alternating per round).  The floor is a bare keyed BLAKE2b of the
 *       token (crypto_generichash, 32-byte key) + one mdb_get of its prefix
 *       in an already-open read txn.  Prints medians and the median of the
 *       per-round ratios.  At the first size it also times what a PAM call
 *       pays around the verify: a fresh context per call (ctx_new +
 *       config_load + env open + verify + ctx_free) vs a reused one.
 *   bench_verify build DIR N TPU [USERDB_TXT]
 *       build a cache of N tokens, TPU per user; optionally write the same
 *       accounts (user, token) as db_load -T input for pam_userdb
 *   bench_verify cold DIR N       one first verify in this fresh process
 *   bench_verify rss DIR N OPS    OPS verifies, then print peak RSS
 *   bench_verify ir DIR N OPS verify|floor
 *       for callgrind: only the OPS operations are collected
 *       (valgrind --tool=callgrind --collect-atstart=no).
 *
 * Output: lines "FIGURE name value" are picked up by tools/run-bench.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <valgrind/callgrind.h>

#include "common.h"

#define POOL 65536

struct pool {
	size_t n;                       /* tokens in the cache */
	size_t tpu;
	char (*tok)[BENCH_TOKEN_LEN + 1];
	char (*user)[32];
};

static void
pool_make(struct pool *p, size_t n, size_t tpu, size_t count, uint64_t seed)
{
	size_t i;

	p->n = n;
	p->tpu = tpu;
	p->tok = malloc(count * sizeof(*p->tok));
	p->user = malloc(count * sizeof(*p->user));
	if (p->tok == NULL || p->user == NULL)
		bench_die("malloc", AIVENAUTH_ERR_NOMEM);
	for (i = 0; i < count; i++) {
		size_t idx = (size_t)(bench_rand(&seed) % n);

		bench_token(idx, p->tok[i]);
		snprintf(p->user[i], sizeof(p->user[i]), "user%07zu", idx / tpu);
	}
}

static volatile uint64_t sink;

static size_t
run_verify(struct aivenauth_ctx *ctx, const struct pool *p, size_t ops,
    size_t start)
{
	struct aivenauth_request req;
	struct aivenauth_decision d;
	size_t i, bad = 0;

	memset(&req, 0, sizeof(req));
	req.user_match = AIVENAUTH_MATCH_NAME;
	req.rhost = "127.0.0.1";
	req.service = "bench";
	for (i = 0; i < ops; i++) {
		size_t j = (start + i) & (POOL - 1);

		req.user = p->user[j];
		if (aivenauth_verify(ctx, p->tok[j], BENCH_TOKEN_LEN, &req, &d) !=
		    AIVENAUTH_OK || d.reason != AIVENAUTH_ACCEPTED)
			bad++;
	}
	return bad;
}

/* The floor: keyed BLAKE2b + one mdb_get in an open read txn. */
static size_t
run_floor(MDB_txn *txn, MDB_dbi dbi, const unsigned char *key,
    const struct pool *p, size_t ops, size_t start)
{
	unsigned char h[32];
	uint64_t acc = 0;
	size_t i, bad = 0;

	for (i = 0; i < ops; i++) {
		size_t j = (start + i) & (POOL - 1);
		MDB_val k = { BENCH_PREFIX_LEN, p->tok[j] }, v;

		crypto_generichash(h, sizeof(h), (const unsigned char *)p->tok[j],
		    BENCH_TOKEN_LEN, key, 32);
		if (mdb_get(txn, dbi, &k, &v) != 0)
			bad++;
		acc += h[0] + v.mv_size;
	}
	sink += acc;
	return bad;
}

static bool
have_cache(const char *dir)
{
	char p[4096];
	struct stat st;

	bench_path(p, sizeof(p), dir, "/snapshot.mdb");
	return stat(p, &st) == 0;
}

static void
ensure_cache(const char *dir, size_t n, size_t tpu)
{
	double apply_s, enroll_s;

	if (have_cache(dir))
		return;
	mkdir(dir, 0750);   /* check_dir wants it to exist or creates it */
	apply_s = bench_build_cache(dir, n, tpu, &enroll_s);
	printf("FIGURE apply_s_%zu %.3f\n", n, apply_s);
	printf("FIGURE enroll_s_%zu %.3f\n", n, enroll_s);
	fflush(stdout);
}

static void
footprint(const char *dir, size_t n)
{
	struct aivenauth_ctx *ctx = bench_ctx(dir);
	char p[4096];
	struct stat st;
	MDB_stat ms;
	MDB_txn *txn;
	int rc;

	if ((rc = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDONLY)) != 0)
		bench_die("cache_open", rc);
	bench_path(p, sizeof(p), dir, "/snapshot.mdb");
	if (stat(p, &st) == 0)
		printf("FIGURE file_bytes_per_token_%zu %.1f\n", n,
		    (double)st.st_size / (double)n);
	if (mdb_txn_begin(ctx->cache->env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_stat(txn, ctx->cache->tokens, &ms) == 0)
			printf("FIGURE tokens_db_bytes_per_token_%zu %.1f\n"
			    "INFO tokens db: %zu entries, depth %u, %zu branch "
			    "%zu leaf %zu overflow pages of %u bytes\n", n,
			    (double)(ms.ms_branch_pages + ms.ms_leaf_pages +
			    ms.ms_overflow_pages) * ms.ms_psize / (double)n,
			    ms.ms_entries, ms.ms_depth, ms.ms_branch_pages,
			    ms.ms_leaf_pages, ms.ms_overflow_pages, ms.ms_psize);
		mdb_txn_abort(txn);
	}
	aivenauth_ctx_free(ctx);
}

static void
bench_size(const char *dir, size_t n, unsigned rounds, size_t ops)
{
	struct aivenauth_ctx *ctx = bench_ctx(dir);
	double *vr = calloc(rounds, sizeof(double));
	double *fr = calloc(rounds, sizeof(double));
	double *rr = calloc(rounds, sizeof(double));
	struct pool p;
	size_t bad = 0, pos = 0;
	unsigned r;
	MDB_txn *txn;

	pool_make(&p, n, 10, POOL, 0x1234 + n);
	/* Warm: opens the env, faults the pages the pool touches in. */
	bad += run_verify(ctx, &p, POOL, 0);
	if (bad != 0) {
		fprintf(stderr, "bench: %zu verifies were not accepted\n", bad);
		exit(1);
	}
	for (r = 0; r < rounds; r++) {
		double t0, tv, tf;
		int rc;

		if ((rc = mdb_txn_begin(ctx->cache->env, NULL, MDB_RDONLY, &txn)) != 0)
			bench_die("txn_begin", rc);
		if (r % 2 == 0) {
			t0 = bench_now();
			bad += run_verify(ctx, &p, ops, pos);
			tv = bench_now() - t0;
			t0 = bench_now();
			bad += run_floor(txn, ctx->cache->tokens, ctx->cache->key, &p,
			    ops, pos);
			tf = bench_now() - t0;
		} else {
			t0 = bench_now();
			bad += run_floor(txn, ctx->cache->tokens, ctx->cache->key, &p,
			    ops, pos);
			tf = bench_now() - t0;
			t0 = bench_now();
			bad += run_verify(ctx, &p, ops, pos);
			tv = bench_now() - t0;
		}
		mdb_txn_abort(txn);
		pos += ops;
		vr[r] = (double)ops / tv;
		fr[r] = (double)ops / tf;
		rr[r] = tv / tf;
	}
	if (bad != 0) {
		fprintf(stderr, "bench: %zu operations failed\n", bad);
		exit(1);
	}
	printf("FIGURE verify_per_s_%zu %.0f\n", n, bench_median(vr, rounds));
	printf("FIGURE floor_per_s_%zu %.0f\n", n, bench_median(fr, rounds));
	printf("FIGURE verify_vs_floor_%zu %.2f\n", n, bench_median(rr, rounds));
	fflush(stdout);
	free(vr);
	free(fr);
	free(rr);
	free(p.tok);
	free(p.user);
	aivenauth_ctx_free(ctx);
}

/*
 * What a PAM call pays around verify today: a fresh context, the config
 * file loaded, the environment opened, per call (A) vs a reused context
 * (B).  C = a fresh context on an already open env is impossible (LMDB
 * allows one env per process per file), so the split is: A - B = ctx +
 * config + env open/close.  D = ctx_new + config_load + ctx_free alone.
 */
static void
bench_ctx_cost(const char *dir, size_t n, unsigned rounds)
{
	struct aivenauth_ctx *keep = bench_ctx(dir);
	double *ra = calloc(rounds, sizeof(double));
	double *rb = calloc(rounds, sizeof(double));
	double *rd = calloc(rounds, sizeof(double));
	struct aivenauth_request req;
	struct aivenauth_decision d;
	char conf[4096];
	struct pool p;
	size_t ops = 2000, i, bad = 0;
	unsigned r;
	FILE *f;

	bench_path(conf, sizeof(conf), dir, ".conf");
	if ((f = fopen(conf, "w")) == NULL)
		bench_die("writing config", -1);
	fprintf(f, "# bench\ncache_dir = %s\nmax_stale = 0\n"
	    "api_url = https://api.aiven.io\n", dir);
	fclose(f);
	chmod(conf, 0644);
	pool_make(&p, n, 10, POOL, 99);
	memset(&req, 0, sizeof(req));
	req.user_match = AIVENAUTH_MATCH_NAME;
	req.rhost = "127.0.0.1";
	for (r = 0; r < rounds; r++) {
		double t0;
		int rc;

		/* LMDB: one open env per file per process (a second one
		 * gets MDB_BAD_RSLOT): the reused context closes while the
		 * fresh ones run. */
		aivenauth_cache_close(keep);
		t0 = bench_now();
		for (i = 0; i < ops; i++) {
			struct aivenauth_ctx *c;

			if ((rc = aivenauth_ctx_new(&c)) != 0 ||
			    (rc = aivenauth_config_load(c, conf, true)) != 0)
				bench_die("fresh ctx", rc);
			req.user = p.user[i];
			if (aivenauth_verify(c, p.tok[i], BENCH_TOKEN_LEN, &req, &d) != 0 ||
			    d.reason != AIVENAUTH_ACCEPTED)
				bad++;
			aivenauth_ctx_free(c);
		}
		ra[r] = (bench_now() - t0) / (double)ops * 1e6;
		req.user = p.user[0];
		if (aivenauth_verify(keep, p.tok[0], BENCH_TOKEN_LEN, &req, &d) != 0)
			bad++;   /* reopen, untimed */
		t0 = bench_now();
		for (i = 0; i < ops; i++) {
			req.user = p.user[i];
			if (aivenauth_verify(keep, p.tok[i], BENCH_TOKEN_LEN, &req, &d) != 0 ||
			    d.reason != AIVENAUTH_ACCEPTED)
				bad++;
		}
		rb[r] = (bench_now() - t0) / (double)ops * 1e6;
		aivenauth_cache_close(keep);
		t0 = bench_now();
		for (i = 0; i < ops; i++) {
			struct aivenauth_ctx *c;

			if ((rc = aivenauth_ctx_new(&c)) != 0 ||
			    (rc = aivenauth_config_load(c, conf, true)) != 0)
				bench_die("fresh ctx", rc);
			aivenauth_ctx_free(c);
		}
		rd[r] = (bench_now() - t0) / (double)ops * 1e6;
	}
	if (bad != 0)
		bench_die("ctx cost: verifies not accepted", -1);
	printf("FIGURE us_verify_fresh_ctx_%zu %.2f\n", n, bench_median(ra, rounds));
	printf("FIGURE us_verify_reused_ctx_%zu %.3f\n", n, bench_median(rb, rounds));
	printf("FIGURE us_ctx_new_config_load_free %.2f\n", bench_median(rd, rounds));
	fflush(stdout);
	unlink(conf);
	free(ra);
	free(rb);
	free(rd);
	free(p.tok);
	free(p.user);
	aivenauth_ctx_free(keep);
}

static int
cmd_build(const char *dir, size_t n, size_t tpu, const char *txt)
{
	char tok[BENCH_TOKEN_LEN + 1];
	double apply_s, enroll_s;
	size_t i;
	FILE *f;

	mkdir(dir, 0750);
	apply_s = bench_build_cache(dir, n, tpu, &enroll_s);
	printf("FIGURE apply_s_%zu %.3f\nFIGURE enroll_s_%zu %.3f\n", n, apply_s,
	    n, enroll_s);
	if (txt == NULL)
		return 0;
	if ((f = fopen(txt, "w")) == NULL)
		bench_die("writing userdb input", -1);
	/* db_load -T: key line, value line; one account per user (tpu 1). */
	for (i = 0; i < n; i += tpu) {
		bench_token(i, tok);
		fprintf(f, "user%07zu\n%s\n", i / tpu, tok);
	}
	return fclose(f) != 0;
}

static int
cmd_cold(const char *dir, size_t n)
{
	struct aivenauth_request req;
	struct aivenauth_decision d;
	struct aivenauth_ctx *ctx;
	char tok[BENCH_TOKEN_LEN + 1], user[32];
	double t0, t1;
	int st;

	bench_token(n / 2, tok);
	snprintf(user, sizeof(user), "user%07zu", n / 2 / 10);
	memset(&req, 0, sizeof(req));
	req.user = user;
	req.rhost = "127.0.0.1";
	t0 = bench_now();
	if ((st = aivenauth_ctx_new(&ctx)) != 0 ||
	    (st = aivenauth_config_set(ctx, "cache_dir", dir)) != 0 ||
	    (st = aivenauth_config_set(ctx, "max_stale", "0")) != 0)
		bench_die("cold ctx", st);
	st = aivenauth_verify(ctx, tok, BENCH_TOKEN_LEN, &req, &d);
	t1 = bench_now();
	if (st != 0 || d.reason != AIVENAUTH_ACCEPTED)
		bench_die("cold verify", st);
	aivenauth_ctx_free(ctx);
	printf("%.1f\n", (t1 - t0) * 1e6);
	return 0;
}

static int
cmd_rss(const char *dir, size_t n, size_t ops)
{
	struct aivenauth_ctx *ctx = bench_ctx(dir);
	struct aivenauth_request req;
	struct aivenauth_decision d;
	char tok[BENCH_TOKEN_LEN + 1], user[32];
	uint64_t seed = 7;
	size_t i, bad = 0;
	long before;
	double t0;

	memset(&req, 0, sizeof(req));
	req.rhost = "127.0.0.1";
	req.user = user;
	bench_token(0, tok);
	snprintf(user, sizeof(user), "user%07zu", (size_t)0);
	bad += aivenauth_verify(ctx, tok, BENCH_TOKEN_LEN, &req, &d) != 0;
	before = bench_status_kb("RssAnon");
	t0 = bench_now();
	for (i = 0; i < ops; i++) {
		size_t idx = (size_t)(bench_rand(&seed) % n);

		bench_token(idx, tok);
		snprintf(user, sizeof(user), "user%07zu", idx / 10);
		if (aivenauth_verify(ctx, tok, BENCH_TOKEN_LEN, &req, &d) != 0 ||
		    d.reason != AIVENAUTH_ACCEPTED)
			bad++;
	}
	if (bad != 0)
		bench_die("rss: verifies not accepted", -1);
	printf("FIGURE rss_verifies %zu\n", ops);
	printf("FIGURE rss_seconds %.2f\n", bench_now() - t0);
	printf("FIGURE rss_vmhwm_kb %ld\n", bench_status_kb("VmHWM"));
	printf("FIGURE rss_anon_kb_before %ld\n", before);
	printf("FIGURE rss_anon_kb_after %ld\n", bench_status_kb("RssAnon"));
	printf("FIGURE rss_file_kb_after %ld\n", bench_status_kb("RssFile"));
	aivenauth_ctx_free(ctx);
	return 0;
}

static int
cmd_ir(const char *dir, size_t n, size_t ops, const char *what)
{
	struct aivenauth_ctx *ctx = bench_ctx(dir);
	struct pool p;
	MDB_txn *txn;
	size_t bad;
	int rc;

	pool_make(&p, n, 10, POOL, 5);
	bad = run_verify(ctx, &p, POOL < ops ? POOL : ops, 0);   /* warm */
	if ((rc = mdb_txn_begin(ctx->cache->env, NULL, MDB_RDONLY, &txn)) != 0)
		bench_die("txn_begin", rc);
	CALLGRIND_ZERO_STATS;
	CALLGRIND_TOGGLE_COLLECT;
	if (strcmp(what, "floor") == 0)
		bad += run_floor(txn, ctx->cache->tokens, ctx->cache->key, &p, ops, 0);
	else
		bad += run_verify(ctx, &p, ops, 0);
	CALLGRIND_TOGGLE_COLLECT;
	mdb_txn_abort(txn);
	aivenauth_ctx_free(ctx);
	return bad != 0;
}

int
main(int argc, char **argv)
{
	char sizes[256] = "1000,100000,1000000", *s, *save = NULL;
	unsigned rounds = 7;
	size_t ops = 200000;
	bool first = true;
	char dir[4096];

	if (sodium_init() < 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && strcmp(argv[1], "build") == 0)
		return cmd_build(argv[2], strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10), argc > 5 ? argv[5] : NULL);
	if (argc >= 4 && strcmp(argv[1], "cold") == 0)
		return cmd_cold(argv[2], strtoul(argv[3], NULL, 10));
	if (argc >= 5 && strcmp(argv[1], "rss") == 0)
		return cmd_rss(argv[2], strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10));
	if (argc >= 6 && strcmp(argv[1], "ir") == 0)
		return cmd_ir(argv[2], strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10), argv[5]);
	if (argc < 3 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: %s run DIR [SIZES] [ROUNDS] [OPS] | cold DIR N | "
		    "rss DIR N OPS | ir DIR N OPS verify|floor\n", argv[0]);
		return 2;
	}
	if (argc > 3)
		snprintf(sizes, sizeof(sizes), "%s", argv[3]);
	if (argc > 4)
		rounds = (unsigned)strtoul(argv[4], NULL, 10);
	if (argc > 5)
		ops = strtoul(argv[5], NULL, 10);
	if (rounds == 0)
		rounds = 1;
	mkdir(argv[2], 0750);
	for (s = strtok_r(sizes, ",", &save); s != NULL;
	    s = strtok_r(NULL, ",", &save)) {
		size_t n = strtoul(s, NULL, 10);

		char num[32];

		snprintf(num, sizeof(num), "/%zu", n);
		bench_path(dir, sizeof(dir), argv[2], num);
		ensure_cache(dir, n, 10);
		footprint(dir, n);
		bench_size(dir, n, rounds, ops);
		if (first) {
			bench_ctx_cost(dir, n, rounds);
			first = false;
		}
	}
	return 0;
}
