/*
 * dupnames.c - what the repeated-names record costs (docs/PERFORMANCE.md,
 * "The local account map": SECURITY.md O4, review 4 F1).
 *
 *   bench_dupnames DIR USERS ROUNDS
 *
 * Builds a cache of USERS users (one token each) in DIR, then times,
 * ROUNDS times each: the writer's pass that works the record out (paid by
 * a write that adds, renames or removes a user), and the reader's answer
 * at a login by name (one meta lookup, one users count, one digest and a
 * binary search), both in a read transaction of the cache.  Medians.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "base/dupnames_rec.h"
#include "reader/dupnames.h"

int
main(int argc, char **argv)
{
	struct aivenauth_ctx *ctx;
	struct buf rec;
	char cache[4096];
	size_t n, rounds, r;
	double *t_pass, *t_login;
	MDB_txn *txn;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_dupnames DIR USERS ROUNDS\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	rounds = strtoul(argv[3], NULL, 10);
	if (n == 0 || rounds == 0)
		return 2;
	bench_path(cache, sizeof(cache), argv[1], "/cache");
	(void)bench_build_cache(cache, n, 1, NULL);
	ctx = bench_ctx(cache);
	if ((rc = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR)) != AIVENAUTH_OK)
		bench_die("cache_open", rc);
	t_pass = calloc(rounds, sizeof(double));
	t_login = calloc(rounds, sizeof(double));
	if (t_pass == NULL || t_login == NULL)
		bench_die("calloc", -1);
	buf_init(&rec, DUPNAMES_MAX, false);
	if ((rc = mdb_txn_begin(ctx->cache->env, NULL, MDB_RDONLY, &txn)) != 0)
		bench_die("txn_begin", rc);
	for (r = 0; r < rounds; r++) {
		double t0 = bench_now();

		if ((rc = dupnames_compute(ctx, txn, &rec)) != AIVENAUTH_OK)
			bench_die("dupnames_compute", rc);
		t_pass[r] = bench_now() - t0;
		t0 = bench_now();
		if (dupnames_held_twice(ctx, txn, "user0000001", 11))
			bench_die("user0000001 held twice?", -1);
		t_login[r] = bench_now() - t0;
	}
	if (dupnames_builds(ctx) != 0)
		bench_die("the reader made a pass (no record stored?)", -1);
	mdb_txn_abort(txn);
	printf("FIGURE dupnames_writer_pass_ms_%zu %.3f\n", n,
	    bench_median(t_pass, rounds) * 1e3);
	printf("FIGURE dupnames_login_lookup_us_%zu %.3f\n", n,
	    bench_median(t_login, rounds) * 1e6);
	buf_free(&rec);
	free(t_pass);
	free(t_login);
	aivenauth_ctx_free(ctx);
	return 0;
}
