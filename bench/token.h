/*
 * bench/token.h - deterministic benchmark tokens (see common.h); no
 * library dependency, so the PAM harness (bench/pam/) can use it too.
 */
#ifndef BENCH_TOKEN_H
#define BENCH_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_TOKEN_LEN 372
#define BENCH_PREFIX_LEN 12

static const char bench_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static inline uint64_t
bench_mix64(uint64_t x)     /* splitmix64 finaliser: a bijection */
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline uint64_t
bench_rand(uint64_t *s)     /* splitmix64 */
{
	*s += 0x9e3779b97f4a7c15ULL;
	return bench_mix64(*s);
}

/* out: BENCH_TOKEN_LEN + 1 bytes. */
static inline void
bench_token(size_t i, char *out)
{
	uint64_t x = bench_mix64((uint64_t)i ^ 0x5eedULL), s = x;
	size_t k = 0, j;

	for (j = 0; j < 11; j++)
		out[k++] = bench_b64[(x >> (6 * j)) & 63];
	out[k++] = bench_b64[(i * 7) & 63];
	while (k < BENCH_TOKEN_LEN) {
		uint64_t r = bench_rand(&s);

		for (j = 0; j < 10 && k < BENCH_TOKEN_LEN; j++)
			out[k++] = bench_b64[(r >> (6 * j)) & 63];
	}
	out[k] = '\0';
}

static inline double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
