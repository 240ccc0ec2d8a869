/*
 * stress.c - crash-consistency and concurrency driver for the cache
 * (tools/run-stress, tests/it_resources.sh).  Links libaivenauth.a.
 *
 *   stress writer DIR N         apply snapshots A, B, A, B... forever (to be
 *                               killed -9 at random instants).  A = common +
 *                               N A-only tokens, B = common + N B-only; the
 *                               generation's parity says which is current
 *                               (odd = A).  Prints "ready" after the first
 *                               apply (gen 1 = A, common[0] enrolled).
 *   stress check DIR N          after a kill: open read-only, read the
 *                               generation, verify common[0] (accepted) and
 *                               8 A-only + 8 B-only tokens: all must agree
 *                               with the generation's snapshot.  Exit 0 ok,
 *                               1 wrong answer (a mix), 2 error.
 *   stress concurrency DIR SECONDS READERS
 *                               readers verify in a loop while a writer
 *                               revokes tokens one by one and re-applies
 *                               growing snapshots; wrong answers, reader
 *                               errors and the max verify latency (during
 *                               writes) are reported.  Exit 0 iff zero wrong
 *                               answers and zero errors.
 *   stress snapshots DIR PUBLICATIONS IDLE
 *                               today's reader path: IDLE long-lived readers
 *                               sit on the snapshot they mapped while the
 *                               writer publishes PUBLICATIONS snapshots (one
 *                               revocation each); readers are killed -9
 *                               mid-check; each reader that wakes must refuse
 *                               every revocation so far.  Reports the
 *                               unlinked snapshots (and bytes) the idle
 *                               readers hold: at most one each, none once
 *                               they verified again.
 *   stress grow DIR MAX         apply snapshots of 1, 10, ... MAX tokens
 *                               (the map grows from 64 MiB); each must list
 *                               exactly n tokens and verify one of them.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "aivenauth.h"

#define TOKLEN 372
#define ORG "org0123456789"

static void
die(const char *what, enum aivenauth_status st)
{
	fprintf(stderr, "stress: %s: %s\n", what, aivenauth_strerror(st));
	exit(2);
}

/* Token i of set s ('A', 'B', 'C' common, 'R' revocable, 'N' new):
 * 277 deterministic random bytes in base64, like Aiven's. */
static void
mktok(char out[TOKLEN + 1], char s, unsigned i)
{
	unsigned char seed[randombytes_SEEDBYTES] = { 0 }, raw[277];

	seed[0] = (unsigned char)s;
	memcpy(seed + 1, &i, sizeof(i));
	randombytes_buf_deterministic(raw, sizeof(raw), seed);
	sodium_bin2base64(out, TOKLEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_ORIGINAL);
}

struct snap {
	struct aivenauth_snapshot s;
	char (*toks)[TOKLEN + 1];
};

static void
snap_add(struct snap *sn, char set, unsigned i)
{
	struct aivenauth_token *t = &sn->s.tokens[sn->s.n_tokens];
	char tmp[TOKLEN + 1];
	char *tok = sn->toks != NULL ? sn->toks[sn->s.n_tokens] : tmp;

	mktok(tok, set, i);
	memset(t, 0, sizeof(*t));
	t->prefix = strndup(tok, 12);
	t->user_id = strdup(i % 2 ? "u00000000001" : "u00000000002");
	t->description = strdup("stress token with a description of some length");
	t->create_time = 1700000000;
	t->created_manually = true;
	sn->s.n_tokens++;
}

static void
snap_init(struct snap *sn, size_t cap)
{
	static struct aivenauth_user users[2] = {
		{ "u00000000001", "alice", "alice@example.invalid", 1700000000 },
		{ "u00000000002", "bob", "bob@example.invalid", 1700000000 },
	};

	memset(sn, 0, sizeof(*sn));
	sn->s.organization_id = ORG;
	sn->s.users = users;
	sn->s.n_users = 2;
	sn->s.tokens = calloc(cap, sizeof(*sn->s.tokens));
	sn->toks = cap <= 100000 ? calloc(cap, sizeof(*sn->toks)) : NULL;
	if (sn->s.tokens == NULL || (cap <= 100000 && sn->toks == NULL))
		exit(2);
}

static void
snap_free(struct snap *sn)
{
	aivenauth_tokens_free(sn->s.tokens, sn->s.n_tokens);
	free(sn->toks);
}

/* common: 64 tokens; then N of set A or B */
static void
snap_ab(struct snap *sn, char set, unsigned n)
{
	unsigned i;

	snap_init(sn, 64 + n);
	for (i = 0; i < 64; i++)
		snap_add(sn, 'C', i);
	for (i = 0; i < n; i++)
		snap_add(sn, set, i);
}

/* Errors of the library reach stderr (a failing run says why). */
static void
log_err(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	fprintf(stderr, "aivenauth: %s\n", msg);
}

static struct aivenauth_ctx *
open_ctx(const char *dir, unsigned flags)
{
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	char path[4096];

	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK)
		exit(2);
	aivenauth_set_log(ctx, log_err, NULL, 3);   /* LOG_ERR */
	snprintf(path, sizeof(path), "%s", dir);
	if (aivenauth_config_set(ctx, "cache_dir", path) != AIVENAUTH_OK ||
	    aivenauth_config_set(ctx, "max_stale", "0") != AIVENAUTH_OK)
		exit(2);
	if ((st = aivenauth_cache_open(ctx, flags)) != AIVENAUTH_OK)
		die("open", st);
	return ctx;
}

static enum aivenauth_reason
verify(struct aivenauth_ctx *ctx, const char *tok, enum aivenauth_status *st)
{
	struct aivenauth_request req = { NULL, AIVENAUTH_MATCH_ANY, NULL, NULL,
		NULL, 0 };
	struct aivenauth_decision d;

	*st = aivenauth_verify(ctx, tok, TOKLEN, &req, &d);
	return d.reason;
}

static int
cmd_writer(const char *dir, unsigned n)
{
	struct aivenauth_ctx *ctx = open_ctx(dir, AIVENAUTH_OPEN_RDWR | AIVENAUTH_OPEN_CREATE);
	struct aivenauth_apply_stats stats;
	enum aivenauth_status st;
	struct aivenauth_cache_info info;
	struct snap a, b;
	char tok[TOKLEN + 1];

	snap_ab(&a, 'A', n);
	snap_ab(&b, 'B', n);
	if ((st = aivenauth_cache_info(ctx, &info)) != AIVENAUTH_OK)
		die("info", st);
	if (info.generation == 0) {
		if ((st = aivenauth_cache_apply(ctx, &a.s, 0, &stats)) != AIVENAUTH_OK)
			die("apply", st);
		mktok(tok, 'C', 0);
		if ((st = aivenauth_cache_enroll(ctx, "u00000000002", tok, TOKLEN, NULL)) != AIVENAUTH_OK)
			die("enroll", st);
		info.generation = stats.generation;
	}
	printf("ready %llu\n", (unsigned long long)info.generation);
	fflush(stdout);
	for (uint64_t g = info.generation + 1;; g++) {
		if ((st = aivenauth_cache_apply(ctx, g % 2 ? &a.s : &b.s, 0, &stats)) != AIVENAUTH_OK)
			die("apply", st);
		if (stats.generation != g) {
			fprintf(stderr, "stress: generation %llu, expected %llu\n",
			    (unsigned long long)stats.generation, (unsigned long long)g);
			return 1;
		}
	}
}

static int
cmd_check(const char *dir, unsigned n)
{
	struct aivenauth_ctx *ctx = open_ctx(dir, AIVENAUTH_OPEN_RDONLY);
	struct aivenauth_cache_info info;
	enum aivenauth_status st;
	enum aivenauth_reason r;
	char tok[TOKLEN + 1];
	unsigned i, bad = 0;
	bool is_a;

	if ((st = aivenauth_cache_info(ctx, &info)) != AIVENAUTH_OK)
		die("info", st);
	is_a = info.generation % 2 == 1;
	mktok(tok, 'C', 0);
	r = verify(ctx, tok, &st);
	if (st != AIVENAUTH_OK)
		die("verify", st);
	if (r != AIVENAUTH_ACCEPTED) {
		fprintf(stderr, "common token: %s\n", aivenauth_reason_name(r));
		bad++;
	}
	for (i = 0; i < 16; i++) {
		char set = i < 8 ? 'A' : 'B';
		unsigned k = (i % 8) * (n / 8) + (unsigned)(info.generation % (n / 8 ? n / 8 : 1));
		bool listed = (set == 'A') == is_a;

		mktok(tok, set, k % n);
		r = verify(ctx, tok, &st);
		if (st != AIVENAUTH_OK)
			die("verify", st);
		/* listed: metadata without a hash; not listed: a tombstone */
		if ((listed && r != AIVENAUTH_REASON_NOT_ENROLLED) ||
		    (!listed && r != AIVENAUTH_REASON_REVOKED &&
		     !(info.generation == 1 && r == AIVENAUTH_REASON_UNKNOWN_PREFIX))) {
			fprintf(stderr, "gen %llu: %c token %u: %s\n",
			    (unsigned long long)info.generation, set, k % n,
			    aivenauth_reason_name(r));
			bad++;
		}
	}
	printf("generation %llu (%c) tokens %zu %s\n", (unsigned long long)info.generation,
	    is_a ? 'A' : 'B', info.tokens, bad ? "MIXED" : "consistent");
	aivenauth_ctx_free(ctx);
	return bad ? 1 : 0;
}

/* ------------------------------------------------------------ concurrency */

#define NREV 4096
struct shared {
	_Atomic long revoked_upto;     /* tokens R0..R(upto-1) revoked & committed */
	_Atomic int writing;           /* a write transaction is open */
	_Atomic int stop;
	_Atomic long reads, wrong, errors, commits;
	_Atomic long max_ns, max_ns_writing;
};

static long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void
amax(_Atomic long *m, long v)
{
	long cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

static void
reader(const char *dir, struct shared *sh, unsigned id)
{
	struct aivenauth_ctx *ctx = open_ctx(dir, AIVENAUTH_OPEN_RDONLY);
	char tok[TOKLEN + 1];
	enum aivenauth_status st;
	enum aivenauth_reason r;
	unsigned long k = id;

	while (!atomic_load(&sh->stop)) {
		long upto = atomic_load(&sh->revoked_upto), t0, dt;
		int w;
		bool untouched = k % 2 == 0;
		long j = untouched ? (long)(k % 64) : (long)(k % NREV);

		mktok(tok, untouched ? 'C' : 'R', (unsigned)j);
		w = atomic_load(&sh->writing);
		t0 = now_ns();
		r = verify(ctx, tok, &st);
		dt = now_ns() - t0;
		w |= atomic_load(&sh->writing);
		atomic_fetch_add(&sh->reads, 1);
		amax(&sh->max_ns, dt);
		if (w)
			amax(&sh->max_ns_writing, dt);
		if (st != AIVENAUTH_OK) {
			if (atomic_fetch_add(&sh->errors, 1) < 3)
				fprintf(stderr, "reader %u: verify: %s\n", id,
				    aivenauth_strerror(st));
		} else if (untouched && r != AIVENAUTH_ACCEPTED) {
			fprintf(stderr, "reader %u: untouched C%ld refused: %s\n",
			    id, j, aivenauth_reason_name(r));
			atomic_fetch_add(&sh->wrong, 1);
		} else if (!untouched && j < upto && r != AIVENAUTH_REASON_REVOKED) {
			fprintf(stderr, "reader %u: R%ld revoked before this read "
			    "(upto %ld) answered %s\n", id, j, upto,
			    aivenauth_reason_name(r));
			atomic_fetch_add(&sh->wrong, 1);
		} else if (!untouched && r != AIVENAUTH_REASON_REVOKED &&
		    r != AIVENAUTH_ACCEPTED) {
			atomic_fetch_add(&sh->wrong, 1);
		}
		k += 7;
	}
	aivenauth_ctx_free(ctx);
	_exit(0);
}

static int
cmd_concurrency(const char *dir, int seconds, int nreaders)
{
	struct aivenauth_ctx *w = open_ctx(dir, AIVENAUTH_OPEN_RDWR | AIVENAUTH_OPEN_CREATE);
	struct aivenauth_apply_stats stats;
	enum aivenauth_status st;
	struct shared *sh;
	struct snap sn;
	pid_t pids[64];
	unsigned i, extra = 0;
	long end, applies = 0;
	int status, rc = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		exit(2);
	memset(sh, 0, sizeof(*sh));
	/* C0..C63 and R0..R(NREV-1), all enrolled */
	snap_init(&sn, 64 + NREV);
	for (i = 0; i < 64; i++)
		snap_add(&sn, 'C', i);
	for (i = 0; i < NREV; i++)
		snap_add(&sn, 'R', i);
	if ((st = aivenauth_cache_apply(w, &sn.s, 0, &stats)) != AIVENAUTH_OK)
		die("apply", st);
	for (i = 0; i < sn.s.n_tokens; i++)
		if ((st = aivenauth_cache_enroll(w, sn.s.tokens[i].user_id, sn.toks[i],
		    TOKLEN, NULL)) != AIVENAUTH_OK)
			die("enroll", st);
	snap_free(&sn);
	if (nreaders > 64)
		nreaders = 64;
	for (i = 0; i < (unsigned)nreaders; i++)
		if ((pids[i] = fork()) == 0)
			reader(dir, sh, i);
	end = now_ns() + (long)seconds * 1000000000L;
	for (long j = 0; now_ns() < end && j < NREV; j++) {
		char tok[TOKLEN + 1], pfx[13];

		/* revoke R_j: from the commit on, every new read refuses it */
		mktok(tok, 'R', (unsigned)j);
		snprintf(pfx, sizeof(pfx), "%.12s", tok);
		atomic_store(&sh->writing, 1);
		st = aivenauth_cache_revoke(w, pfx, 0);
		atomic_store(&sh->writing, 0);
		if (st != AIVENAUTH_OK)
			die("revoke", st);
		atomic_store(&sh->revoked_upto, j + 1);
		atomic_fetch_add(&sh->commits, 1);
		/* every 16 revocations, a whole snapshot: all listed, plus
		 * new tokens added (the writer's big transactions) */
		if (j % 16 == 15) {
			extra += 256;
			snap_init(&sn, 64 + NREV + extra);
			for (i = 0; i < 64; i++)
				snap_add(&sn, 'C', i);
			for (i = 0; i < NREV; i++)
				snap_add(&sn, 'R', i);
			for (i = 0; i < extra; i++)
				snap_add(&sn, 'N', i);
			atomic_store(&sh->writing, 1);
			st = aivenauth_cache_apply(w, &sn.s, 0, &stats);
			atomic_store(&sh->writing, 0);
			if (st != AIVENAUTH_OK)
				die("apply", st);
			atomic_fetch_add(&sh->commits, 1);
			applies++;
			snap_free(&sn);
		}
	}
	atomic_store(&sh->stop, 1);
	for (i = 0; i < (unsigned)nreaders; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "reader %u died (status %d)\n", i, status);
			rc = 1;
		}
	}
	printf("readers %d, reads %ld, commits %ld (revocations %ld, snapshots %ld "
	    "of up to %u tokens), wrong answers %ld, reader errors %ld, "
	    "max verify latency %.3f ms (%.3f ms during writes)\n",
	    nreaders, atomic_load(&sh->reads), atomic_load(&sh->commits),
	    atomic_load(&sh->revoked_upto), applies, 64 + NREV + extra,
	    atomic_load(&sh->wrong), atomic_load(&sh->errors),
	    atomic_load(&sh->max_ns) / 1e6, atomic_load(&sh->max_ns_writing) / 1e6);
	if (atomic_load(&sh->wrong) || atomic_load(&sh->errors) || atomic_load(&sh->reads) == 0)
		rc = 1;
	aivenauth_ctx_free(w);
	return rc;
}

/* ------------------------------------------------------------ old snapshots */

/*
 * Readers open the immutable snapshot without a lock file: nothing of
 * theirs can pin the writer or fill a table.  What an idle reader does
 * hold is the snapshot it last mapped, after the writer has renamed a
 * newer one into place (an unlinked file, still on disk).  This counts
 * those files, by inode, over the given pids' open descriptors.
 */
static int
held_unlinked(const pid_t *pids, int n, long long *bytes)
{
	unsigned long long inos[256];
	int i, k, held = 0;

	*bytes = 0;
	for (i = 0; i < n; i++) {
		char fddir[64], link[4096], path[4352];
		struct dirent *e;
		struct stat sb;
		ssize_t len;
		DIR *d;

		snprintf(fddir, sizeof(fddir), "/proc/%d/fd", (int)pids[i]);
		if ((d = opendir(fddir)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			snprintf(path, sizeof(path), "%s/%s", fddir, e->d_name);
			len = readlink(path, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (strstr(link, "snapshot.mdb") == NULL ||
			    strstr(link, "(deleted)") == NULL ||
			    stat(path, &sb) != 0)
				continue;
			for (k = 0; k < held; k++)
				if (inos[k] == (unsigned long long)sb.st_ino)
					break;
			if (k == held && held < (int)(sizeof(inos) / sizeof(inos[0]))) {
				inos[held++] = (unsigned long long)sb.st_ino;
				*bytes += (long long)sb.st_size;
			}
		}
		closedir(d);
	}
	return held;
}

/* One reader: C0 accepted, R0..R(upto-1) refused as revoked; the number
 * of wrong answers (errors count as wrong). */
static long
check_upto(struct aivenauth_ctx *ctx, long upto)
{
	char tok[TOKLEN + 1];
	enum aivenauth_status st;
	enum aivenauth_reason r;
	long j, wrong = 0;

	mktok(tok, 'C', 0);
	r = verify(ctx, tok, &st);
	if (st != AIVENAUTH_OK || r != AIVENAUTH_ACCEPTED)
		wrong++;
	for (j = 0; j < upto; j++) {
		mktok(tok, 'R', (unsigned)j);
		r = verify(ctx, tok, &st);
		if (st != AIVENAUTH_OK || r != AIVENAUTH_REASON_REVOKED) {
			if (wrong < 3)
				fprintf(stderr, "R%ld after %ld revocations: %s\n",
				    j, upto, st != AIVENAUTH_OK ?
				    aivenauth_strerror(st) :
				    aivenauth_reason_name(r));
			wrong++;
		}
	}
	return wrong;
}

/* An idle reader: verify when told (a long: how many are revoked), answer
 * the wrong count, sit idle in between holding what it mapped. */
static void
idle_reader(const char *dir, int cmd, int res)
{
	struct aivenauth_ctx *ctx = open_ctx(dir, AIVENAUTH_OPEN_RDONLY);
	long upto, wrong;

	while (read(cmd, &upto, sizeof(upto)) == sizeof(upto)) {
		wrong = check_upto(ctx, upto);
		if (write(res, &wrong, sizeof(wrong)) != sizeof(wrong))
			break;
	}
	aivenauth_ctx_free(ctx);
	_exit(0);
}

static int
cmd_snapshots(const char *dir, int pubs, int nidle)
{
	struct aivenauth_ctx *w = open_ctx(dir, AIVENAUTH_OPEN_RDWR | AIVENAUTH_OPEN_CREATE);
	struct aivenauth_apply_stats stats;
	enum aivenauth_status st;
	int cmd[64][2], res[64][2], i, status, held, held_max = 0, kills = 0;
	long wrong = 0, upto = 0, x;
	long long bytes, bytes_max = 0;
	pid_t idle[64];
	struct snap sn;

	if (nidle > 64)
		nidle = 64;
	if (pubs > NREV)
		pubs = NREV;
	snap_init(&sn, 64 + (unsigned)pubs);
	for (i = 0; i < 64; i++)
		snap_add(&sn, 'C', (unsigned)i);
	for (i = 0; i < pubs; i++)
		snap_add(&sn, 'R', (unsigned)i);
	if ((st = aivenauth_cache_apply(w, &sn.s, 0, &stats)) != AIVENAUTH_OK)
		die("apply", st);
	for (i = 0; i < (int)sn.s.n_tokens; i++)
		if ((st = aivenauth_cache_enroll(w, sn.s.tokens[i].user_id,
		    sn.toks[i], TOKLEN, NULL)) != AIVENAUTH_OK)
			die("enroll", st);
	snap_free(&sn);
	for (i = 0; i < nidle; i++) {
		if (pipe(cmd[i]) != 0 || pipe(res[i]) != 0)
			exit(2);
		if ((idle[i] = fork()) == 0) {
			int k;

			/* only its own ends: the others' must see EOF */
			for (k = 0; k < i; k++) {
				close(cmd[k][1]);
				close(res[k][0]);
			}
			close(cmd[i][1]);
			close(res[i][0]);
			idle_reader(dir, cmd[i][0], res[i][1]);
		}
		close(cmd[i][0]);
		close(res[i][1]);
		/* each maps the snapshot of now, then sits on it */
		if (write(cmd[i][1], &upto, sizeof(upto)) != sizeof(upto) ||
		    read(res[i][0], &x, sizeof(x)) != sizeof(x))
			exit(2);
		wrong += x;
	}
	for (upto = 1; upto <= pubs; upto++) {
		char tok[TOKLEN + 1], pfx[13];

		/* a publication: R(upto-1) revoked, a new snapshot renamed
		 * over the one the idle readers hold */
		mktok(tok, 'R', (unsigned)(upto - 1));
		snprintf(pfx, sizeof(pfx), "%.12s", tok);
		if ((st = aivenauth_cache_revoke(w, pfx, 0)) != AIVENAUTH_OK)
			die("revoke", st);
		held = held_unlinked(idle, nidle, &bytes);
		if (held > held_max)
			held_max = held;
		if (bytes > bytes_max)
			bytes_max = bytes;
		if (held > nidle) {
			fprintf(stderr, "%d unlinked snapshots held by %d "
			    "readers\n", held, nidle);
			wrong++;
		}
		/* every 8th: a reader killed -9 in the middle of its checks */
		if (upto % 8 == 0) {
			pid_t p = fork();

			if (p == 0) {
				struct aivenauth_ctx *r = open_ctx(dir,
				    AIVENAUTH_OPEN_RDONLY);

				for (;;)
					(void)check_upto(r, upto);
			}
			usleep((useconds_t)(randombytes_uniform(2000)));
			kill(p, SIGKILL);
			waitpid(p, &status, 0);
			kills++;
		}
		/* every 16th: one idle reader wakes and must see it all */
		if (upto % 16 == 0) {
			i = (int)((upto / 16) % nidle);
			if (write(cmd[i][1], &upto, sizeof(upto)) != sizeof(upto) ||
			    read(res[i][0], &x, sizeof(x)) != sizeof(x))
				exit(2);
			wrong += x;
		}
	}
	upto = pubs;
	/* A fresh reader after the killed ones: every revocation refused. */
	if (fork() == 0) {
		struct aivenauth_ctx *r = open_ctx(dir, AIVENAUTH_OPEN_RDONLY);

		_exit(check_upto(r, upto) == 0 ? 0 : 1);
	}
	wait(&status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		wrong++;
	/* Every idle reader wakes: all refused, and each lets go of the old
	 * snapshot it held. */
	for (i = 0; i < nidle; i++) {
		if (write(cmd[i][1], &upto, sizeof(upto)) != sizeof(upto) ||
		    read(res[i][0], &x, sizeof(x)) != sizeof(x))
			exit(2);
		wrong += x;
	}
	held = held_unlinked(idle, nidle, &bytes);
	printf("%d publications (one revocation each), %d idle readers, %d "
	    "readers killed -9: wrong decisions %ld; unlinked snapshots held "
	    "by idle readers: at most %d (%lld bytes), %d (%lld bytes) once "
	    "they verified again\n", pubs, nidle, kills, wrong, held_max,
	    bytes_max, held, bytes);
	for (i = 0; i < nidle; i++) {
		close(cmd[i][1]);
		close(res[i][0]);
		waitpid(idle[i], &status, 0);
	}
	aivenauth_ctx_free(w);
	/* held_max == 0 would mean the count sees nothing: the check could
	 * not fail. */
	return wrong == 0 && held == 0 && held_max >= 1 && held_max <= nidle ?
	    0 : 1;
}

/* Map growth: snapshots of 1, 10, ... max tokens applied in turn. */
static int
cmd_grow(const char *dir, unsigned max)
{
	struct aivenauth_ctx *ctx = open_ctx(dir, AIVENAUTH_OPEN_RDWR | AIVENAUTH_OPEN_CREATE);
	struct aivenauth_apply_stats stats;
	struct aivenauth_cache_info info;
	enum aivenauth_status st;
	enum aivenauth_reason r;
	char tok[TOKLEN + 1];
	int rc = 0;

	for (unsigned n = 1; n <= max; n *= 10) {
		struct snap sn;
		long t0 = now_ns();

		snap_init(&sn, n);
		for (unsigned i = 0; i < n; i++)
			snap_add(&sn, 'G', i);
		st = aivenauth_cache_apply(ctx, &sn.s, 0, &stats);
		snap_free(&sn);
		if (st != AIVENAUTH_OK)
			die("apply", st);
		mktok(tok, 'G', n - 1);
		if (aivenauth_cache_enroll(ctx, (n - 1) % 2 ? "u00000000001" :
		    "u00000000002", tok, TOKLEN, NULL) != AIVENAUTH_OK)
			die("enroll", AIVENAUTH_ERR_INTERNAL);
		r = verify(ctx, tok, &st);
		if ((st = aivenauth_cache_info(ctx, &info)) != AIVENAUTH_OK)
			die("info", st);
		printf("%8u tokens: apply+enroll %.2f s, map %llu MiB, file %llu MiB, "
		    "listed %zu, verify %s\n", n, (now_ns() - t0) / 1e9,
		    (unsigned long long)(info.map_size >> 20),
		    (unsigned long long)(info.file_size >> 20), info.tokens,
		    aivenauth_reason_name(r));
		if (info.tokens != n || r != AIVENAUTH_ACCEPTED)
			rc = 1;
	}
	aivenauth_ctx_free(ctx);
	return rc;
}

/* A whole number argument, 0..INT_MAX; anything else ends the run. */
static int
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX) {
		fprintf(stderr, "stress: bad number \"%s\"\n", s);
		exit(64);
	}
	return (int)v;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "writer") == 0)
		return cmd_writer(argv[2], (unsigned)num(argv[3]));
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2], (unsigned)num(argv[3]));
	if (argc == 5 && strcmp(argv[1], "concurrency") == 0)
		return cmd_concurrency(argv[2], num(argv[3]), num(argv[4]));
	if (argc == 5 && strcmp(argv[1], "snapshots") == 0)
		return cmd_snapshots(argv[2], num(argv[3]), num(argv[4]));
	if (argc == 4 && strcmp(argv[1], "grow") == 0)
		return cmd_grow(argv[2], (unsigned)num(argv[3]));
	fprintf(stderr, "usage: see stress.c\n");
	return 64;
}
