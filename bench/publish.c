/*
 * publish.c - what a publication costs (docs/PERFORMANCE.md, section 7).
 *
 *   bench_publish DIR N ROUNDS
 *
 * Builds a cache of N enrolled tokens in DIR, then alternates, ROUNDS
 * times: a sync that changed nothing (the same snapshot applied again:
 * only the state record moves), a sync where one token changed (one
 * description: a full snapshot is published), and the floor of any
 * full-file publication: writing the same number of bytes to a new file
 * and fsyncing it.  Prints medians, the ratio of a one-token publication
 * to that floor, and the bytes each kind of sync hands to write(2)
 * (/proc/self/io wchar: the in-process copy thread included).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static long long
wchar(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "wchar:", 6) == 0)
			v = strtoll(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The floor: a new file of `size` bytes, written in 1 MiB blocks, fsynced,
 * renamed over another (what any full-file publication must do). */
static double
floor_write(const char *dir, off_t size)
{
	static char blk[1 << 20];
	char tmp[4096], dst[4096];
	double t0 = bench_now();
	off_t done = 0;
	int fd;

	bench_path(tmp, sizeof(tmp), dir, "/floor.new");
	bench_path(dst, sizeof(dst), dir, "/floor");
	memset(blk, 0x5a, sizeof(blk));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640)) < 0)
		bench_die("floor open", -1);
	while (done < size) {
		size_t n = size - done < (off_t)sizeof(blk) ?
		    (size_t)(size - done) : sizeof(blk);

		if (write(fd, blk, n) != (ssize_t)n)
			bench_die("floor write", -1);
		done += (off_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, dst) != 0)
		bench_die("floor fsync", -1);
	return bench_now() - t0;
}

int
main(int argc, char **argv)
{
	struct aivenauth_ctx *ctx;
	struct bench_snap b;
	struct stat st;
	char cache[4096], snapf[4096];
	size_t n, rounds, r;
	double *t_same, *t_one, *t_floor, apply_s;
	long long w0, w_same = 0, w_one = 0;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_publish DIR N ROUNDS\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	rounds = strtoul(argv[3], NULL, 10);
	if (n == 0 || rounds == 0)
		return 2;
	bench_path(cache, sizeof(cache), argv[1], "/cache");
	apply_s = bench_build_cache(cache, n, 10, NULL);
	printf("FIGURE publish_first_apply_s_%zu %.3f\n", n, apply_s);
	bench_path(snapf, sizeof(snapf), cache, "/snapshot.mdb");
	ctx = bench_ctx(cache);
	if ((rc = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR)) != AIVENAUTH_OK)
		bench_die("cache_open", rc);
	bench_snap_make(&b, n, 10, now);
	t_same = calloc(rounds, sizeof(double));
	t_one = calloc(rounds, sizeof(double));
	t_floor = calloc(rounds, sizeof(double));
	if (t_same == NULL || t_one == NULL || t_floor == NULL)
		bench_die("calloc", -1);
	for (r = 0; r < rounds; r++) {
		double t0;

		/* One token changed in what a decision reads (its expiry):
		 * a new snapshot is published.  (A description or last-use
		 * change alone is not published at once.) */
		b.s.tokens[0].expiry_time = now + 365 * 86400 + (int64_t)r;
		w0 = wchar();
		t0 = bench_now();
		if ((rc = aivenauth_cache_apply(ctx, &b.s, now + (int64_t)r * 2,
		    NULL)) != AIVENAUTH_OK)
			bench_die("apply one", rc);
		t_one[r] = bench_now() - t0;
		w_one = wchar() - w0;
		/* The same again: nothing changed, only the state record. */
		w0 = wchar();
		t0 = bench_now();
		if ((rc = aivenauth_cache_apply(ctx, &b.s, now + (int64_t)r * 2 + 1,
		    NULL)) != AIVENAUTH_OK)
			bench_die("apply same", rc);
		t_same[r] = bench_now() - t0;
		w_same = wchar() - w0;
		if (stat(snapf, &st) != 0)
			bench_die("stat snapshot", -1);
		t_floor[r] = floor_write(argv[1], st.st_size);
	}
	/* medians sort the arrays: take them after the last use */
	printf("FIGURE snapshot_bytes_%zu %lld\n", n, (long long)st.st_size);
	printf("FIGURE sync_unchanged_ms_%zu %.2f\n", n, median(t_same, rounds) * 1e3);
	printf("FIGURE sync_unchanged_wchar_%zu %lld\n", n, w_same);
	printf("FIGURE sync_one_changed_ms_%zu %.1f\n", n, median(t_one, rounds) * 1e3);
	printf("FIGURE sync_one_changed_wchar_%zu %lld\n", n, w_one);
	printf("FIGURE floor_write_fsync_ms_%zu %.1f\n", n, median(t_floor, rounds) * 1e3);
	{
		/* The publication alone: a changed sync less an unchanged one
		 * (the same merge walk), against the floor. */
		double pub = median(t_one, rounds) - median(t_same, rounds);

		if (pub < 0)
			pub = 0;
		printf("FIGURE publish_only_ms_%zu %.1f\n", n, pub * 1e3);
		printf("FIGURE publish_vs_floor_%zu %.2f\n", n,
		    pub / median(t_floor, rounds));
	}
	bench_snap_free(&b);
	aivenauth_ctx_free(ctx);
	free(t_same);
	free(t_one);
	free(t_floor);
	return 0;
}
