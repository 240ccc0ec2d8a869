/*
 * fleet_probe.c - how long a change on the fleet publisher takes to reach
 * every follower's cache (docs/FLEET.md "Numbers", tools/run-bench section
 * `fleet`, driven by bench/fleet.sh).
 *
 *   bench_fleet_probe ready CONFDIR FROM TO TIMEOUT_S
 *       wait until followers FROM..TO (CONFDIR/fI.conf) each have a cache
 *       that opens read-only and was synced (applied a generation).
 *   bench_fleet_probe trials AIVENCTL PUBCONF USER_ID CONFDIR N TRIALS
 *                            TIMEOUT_S TAG LOG
 *       TRIALS times: `aivenctl token create USER_ID` on the publisher,
 *       then, once every follower accepts the new token,
 *       `aivenctl token revoke USER_ID PREFIX`.  For each command: the
 *       time from just before it is spawned to the first verify on each
 *       follower's cache that accepts (create) or refuses (revoke), and the
 *       command's own run time (its API call, local write and publish: the
 *       floor of the same run).  Prints per-trial lines and FIGURE lines.
 *
 * Only the public API: one context per follower config
 * (aivenauth_config_load + aivenauth_cache_open read-only), aivenauth_verify
 * in a loop.  A reader notices a new snapshot with one load per verify, so
 * a sweep of every follower costs about N microseconds; the loop sleeps
 * POLL_US between sweeps so that the prober takes little of the CPUs the
 * followers need.  Nothing here knows how the fleet lays out etcd: only
 * the commands and the caches' decisions are observed.
 *
 * The new token never touches a file: it is read from the command's stdout
 * (aivenctl writes it with write(2) as soon as it is stored locally, before
 * it publishes), kept in memory and wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aivenauth.h"

extern char **environ;

#define POLL_US 1000L         /* between sweeps over every follower */
#define SETTLE_MS 500L        /* quiet time between two commands */
#define MAX_FOLLOWERS 1000

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000L, (us % 1000000L) * 1000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
probe_log(void *arg, int level, const char *msg)
{
	(void)arg;
	fprintf(stderr, "fleet_probe: lib[%d]: %s\n", level, msg);
}

static long
num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "fleet_probe: bad number '%s'\n", s);
		exit(64);
	}
	return v;
}

static struct aivenauth_ctx *
follower_ctx(const char *dir, long i, bool quiet)
{
	struct aivenauth_ctx *ctx;
	char path[4096];

	snprintf(path, sizeof(path), "%s/f%ld.conf", dir, i);
	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK)
		return NULL;
	if (!quiet)
		aivenauth_set_log(ctx, probe_log, NULL, 3 /* LOG_ERR */);
	if (aivenauth_config_load(ctx, path, true) != AIVENAUTH_OK ||
	    aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDONLY) != AIVENAUTH_OK) {
		aivenauth_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
cmd_ready(int argc, char **argv)
{
	long from, to, i;
	double deadline;

	if (argc != 6)
		return 64;
	from = num(argv[3], 1, MAX_FOLLOWERS);
	to = num(argv[4], from, MAX_FOLLOWERS);
	deadline = now_ms() + 1e3 * (double)num(argv[5], 1, 3600);
	for (i = from; i <= to; i++) {
		for (;;) {
			struct aivenauth_cache_info info;
			struct aivenauth_ctx *ctx = follower_ctx(argv[2], i, true);
			bool ok = ctx != NULL &&
			    aivenauth_cache_info(ctx, &info) == AIVENAUTH_OK &&
			    info.sync_time != 0;

			aivenauth_ctx_free(ctx);
			if (ok)
				break;
			if (now_ms() > deadline) {
				fprintf(stderr, "fleet_probe: follower %ld not "
				    "ready\n", i);
				return 1;
			}
			sleep_us(20000);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- trials */

struct run {
	pid_t pid;
	int out;                /* the command's stdout, or -1 */
	double t0, cmd_ms;      /* cmd_ms < 0 while it runs */
	int status;
};

static bool
spawn(struct run *r, char *const argv[], bool want_stdout, const char *log)
{
	posix_spawn_file_actions_t fa;
	int p[2] = { -1, -1 }, rc;

	if (want_stdout && pipe(p) != 0)
		return false;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (want_stdout) {
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_addclose(&fa, p[0]);
		posix_spawn_file_actions_addclose(&fa, p[1]);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, log,
		    O_WRONLY | O_CREAT | O_APPEND, 0600);
	}
	posix_spawn_file_actions_addopen(&fa, 2, log,
	    O_WRONLY | O_CREAT | O_APPEND, 0600);
	r->cmd_ms = -1;
	r->out = -1;
	r->t0 = now_ms();
	rc = posix_spawn(&r->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (want_stdout) {
		close(p[1]);
		r->out = p[0];
	}
	if (rc != 0) {
		fprintf(stderr, "fleet_probe: spawn %s: %s\n", argv[0],
		    strerror(rc));
		return false;
	}
	return true;
}

static void
reap(struct run *r, bool block)
{
	int st;

	if (r->cmd_ms >= 0)
		return;
	if (waitpid(r->pid, &st, block ? 0 : WNOHANG) == r->pid) {
		r->cmd_ms = now_ms() - r->t0;
		r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r->out >= 0) {
			close(r->out);
			r->out = -1;
		}
	}
}

/* The first line of the command's stdout (the token), without a newline. */
static size_t
read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t k = read(fd, buf + n, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return n;
}

struct samples {
	double *v;
	size_t n, cap;
};

static void
add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL) {
			perror("fleet_probe: realloc");
			exit(1);
		}
	}
	s->v[s->n++] = x;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p of them at or below. */
static double
pct(struct samples *s, double p)
{
	size_t k;

	if (s->n == 0)
		return -1;
	qsort(s->v, s->n, sizeof(*s->v), dcmp);
	k = (size_t)ceil(p * (double)s->n);
	return s->v[k == 0 ? 0 : k - 1];
}

struct kind {
	const char *name;
	struct samples each, last, first, cmd;
	size_t missed;
};

/*
 * Poll every follower until each one's decision on tok is the wanted one
 * (accepted, or a refusal with a decision made), or timeout.  Returns how
 * many never got there.
 */
static size_t
poll_all(struct aivenauth_ctx **ctx, long n, const char *tok, size_t len,
    bool want_accept, struct run *r, double timeout_ms, struct kind *k,
    char *prefix)
{
	static bool done[MAX_FOLLOWERS + 1];
	const struct aivenauth_request req = { .user_match = AIVENAUTH_MATCH_ANY };
	double first = -1, last = -1;
	long pending = n, i;
	size_t errors = 0;

	memset(done, 0, sizeof(done));
	while (pending > 0 && now_ms() - r->t0 < timeout_ms) {
		for (i = 1; i <= n; i++) {
			struct aivenauth_decision d;
			enum aivenauth_status st;
			bool hit;

			if (done[i])
				continue;
			st = aivenauth_verify(ctx[i], tok, len, &req, &d);
			if (st != AIVENAUTH_OK) {
				errors++;
				continue;
			}
			hit = want_accept ? d.reason == AIVENAUTH_ACCEPTED :
			    d.reason != AIVENAUTH_ACCEPTED;
			if (!hit)
				continue;
			if (prefix != NULL && prefix[0] == '\0')
				snprintf(prefix, AIVENAUTH_PREFIX_MAX + 1, "%s",
				    d.prefix);
			{
				double t = now_ms() - r->t0;

				add(&k->each, t);
				if (first < 0)
					first = t;
				last = t;
			}
			done[i] = true;
			pending--;
		}
		reap(r, false);
		if (pending > 0)
			sleep_us(POLL_US);
	}
	reap(r, true);
	if (pending == 0) {
		add(&k->last, last);
		add(&k->first, first);
	}
	add(&k->cmd, r->cmd_ms);
	if (errors > 0)
		printf("note %s: %zu verify calls made no decision (cache "
		    "being replaced?)\n", k->name, errors);
	printf("trial %s: command %.0f ms (exit %d), first follower %.0f ms, "
	    "last %.0f ms, %ld of %ld never\n", k->name, r->cmd_ms, r->status,
	    first, last, pending, n);
	fflush(stdout);
	k->missed += (size_t)pending;
	return (size_t)pending;
}

static void
kind_free(struct kind *k)
{
	free(k->each.v);
	free(k->last.v);
	free(k->first.v);
	free(k->cmd.v);
}

static void
figures(const char *tag, struct kind *k)
{
	double cmd = pct(&k->cmd, 0.5), p50 = pct(&k->each, 0.5);

	printf("FIGURE fleet_%s_%s_cmd_ms %.0f\n", tag, k->name, cmd);
	printf("FIGURE fleet_%s_%s_p50_ms %.0f\n", tag, k->name, p50);
	printf("FIGURE fleet_%s_%s_p99_ms %.0f\n", tag, k->name,
	    pct(&k->each, 0.99));
	printf("FIGURE fleet_%s_%s_first_p50_ms %.0f\n", tag, k->name,
	    pct(&k->first, 0.5));
	printf("FIGURE fleet_%s_%s_last_p50_ms %.0f\n", tag, k->name,
	    pct(&k->last, 0.5));
	printf("FIGURE fleet_%s_%s_last_p99_ms %.0f\n", tag, k->name,
	    pct(&k->last, 0.99));
	printf("FIGURE fleet_%s_%s_p50_vs_cmd %.2f\n", tag, k->name,
	    cmd > 0 ? p50 / cmd : 0);
	printf("FIGURE fleet_%s_%s_samples %zu\n", tag, k->name, k->each.n);
	if (k->missed > 0)
		printf("FIGURE fleet_%s_%s_missed %zu\n", tag, k->name,
		    k->missed);
}

static int
cmd_trials(int argc, char **argv)
{
	static struct aivenauth_ctx *ctx[MAX_FOLLOWERS + 1];
	struct kind create = { .name = "create" }, revoke = { .name = "revoke" };
	const char *ctl, *pub, *uid, *dir, *tag, *log;
	long n, trials, t, i;
	double timeout_ms;
	size_t bad = 0;

	if (argc != 11)
		return 64;
	ctl = argv[2];
	pub = argv[3];
	uid = argv[4];
	dir = argv[5];
	n = num(argv[6], 1, MAX_FOLLOWERS);
	trials = num(argv[7], 1, 1000);
	timeout_ms = 1e3 * (double)num(argv[8], 1, 3600);
	tag = argv[9];
	log = argv[10];
	for (i = 1; i <= n; i++)
		if ((ctx[i] = follower_ctx(dir, i, false)) == NULL) {
			fprintf(stderr, "fleet_probe: follower %ld: cannot "
			    "open its cache\n", i);
			return 1;
		}
	for (t = 1; t <= trials; t++) {
		char tok[AIVENAUTH_TOKEN_MAX_LEN + 2];
		char prefix[AIVENAUTH_PREFIX_MAX + 1] = "";
		char *cargv[] = { (char *)ctl, "-c", (char *)pub, "token",
		    "create", (char *)uid, "--description", "fleet bench", NULL };
		struct run r;
		size_t len;

		if (!spawn(&r, cargv, true, log))
			return 1;
		len = read_line(r.out, tok, sizeof(tok));
		if (!aivenauth_token_shaped(tok, len)) {
			reap(&r, true);
			fprintf(stderr, "fleet_probe: token create printed no "
			    "token (exit %d); see %s\n", r.status, log);
			return 1;
		}
		bad += poll_all(ctx, n, tok, len, true, &r, timeout_ms, &create,
		    prefix);
		if (r.status != 0 || prefix[0] == '\0') {
			fprintf(stderr, "fleet_probe: token create exit %d%s; "
			    "see %s\n", r.status, prefix[0] == '\0' ?
			    ", no follower accepted it" : "", log);
			sodium_memzero(tok, sizeof(tok));
			return 1;
		}
		sleep_us(SETTLE_MS * 1000L);
		{
			char *rargv[] = { (char *)ctl, "-c", (char *)pub,
			    "token", "revoke", (char *)uid, prefix, NULL };

			if (!spawn(&r, rargv, false, log)) {
				sodium_memzero(tok, sizeof(tok));
				return 1;
			}
			bad += poll_all(ctx, n, tok, len, false, &r, timeout_ms,
			    &revoke, NULL);
		}
		sodium_memzero(tok, sizeof(tok));
		if (r.status != 0) {
			fprintf(stderr, "fleet_probe: token revoke exit %d; see "
			    "%s\n", r.status, log);
			return 1;
		}
		sleep_us(SETTLE_MS * 1000L);
	}
	figures(tag, &revoke);
	figures(tag, &create);
	for (i = 1; i <= n; i++)
		aivenauth_ctx_free(ctx[i]);
	kind_free(&revoke);
	kind_free(&create);
	return bad == 0 ? 0 : 2;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	if (argc >= 2 && strcmp(argv[1], "ready") == 0)
		return cmd_ready(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "trials") == 0)
		return cmd_trials(argc, argv);
	fprintf(stderr, "usage: bench_fleet_probe ready CONFDIR FROM TO "
	    "TIMEOUT_S\n       bench_fleet_probe trials AIVENCTL PUBCONF "
	    "USER_ID CONFDIR N TRIALS TIMEOUT_S TAG LOG\n");
	return 64;
}
