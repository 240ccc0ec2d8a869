/*
 * learned.c - online learning's memory (see learned.h for the rules).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "reader/learned.h"

struct learn_entry {
	char prefix[AIVENAUTH_PREFIX_MAX + 1];
	unsigned char hash[HASH_BYTES];
	bool has_hash;
	int64_t learned_at;
	int64_t local_expiry;
	int64_t extended_at;     /* when local_expiry was set */
	int64_t used;            /* for eviction: least recently touched */
};

struct learned {
	struct learn_entry e[LEARN_MAX];
};

static struct learn_entry *
find(struct aivenauth_ctx *ctx, const char *prefix, bool create, int64_t now)
{
	struct learned *l = ctx->learned;
	struct learn_entry *victim = NULL;
	size_t i;

	if (l == NULL) {
		if (!create || (l = calloc(1, sizeof(*l))) == NULL)
			return NULL;
		ctx->learned = l;
		ctx->learned_free = learned_free;
	}
	for (i = 0; i < LEARN_MAX; i++) {
		if (l->e[i].prefix[0] != '\0' &&
		    strcmp(l->e[i].prefix, prefix) == 0)
			return &l->e[i];
		/* A free slot, else the least recently used one. */
		if (l->e[i].prefix[0] == '\0') {
			if (victim == NULL || victim->prefix[0] != '\0')
				victim = &l->e[i];
		} else if (victim == NULL || (victim->prefix[0] != '\0' &&
		    l->e[i].used < victim->used)) {
			victim = &l->e[i];
		}
	}
	if (!create || strlen(prefix) > AIVENAUTH_PREFIX_MAX)
		return NULL;
	sodium_memzero(victim, sizeof(*victim));
	memcpy(victim->prefix, prefix, strlen(prefix) + 1);
	victim->used = now;
	return victim;
}

bool
learned_match(struct aivenauth_ctx *ctx, const char *prefix,
    const unsigned char h[HASH_BYTES], int64_t now)
{
	struct learn_entry *e = find(ctx, prefix, false, now);

	if (e == NULL || !e->has_hash)
		return false;
	if (now - e->learned_at > LEARN_TTL || now < e->learned_at) {
		e->has_hash = false;     /* ask again */
		sodium_memzero(e->hash, sizeof(e->hash));
		return false;
	}
	e->used = now;
	return hash_equal(h, e->hash);
}

void
learned_put(struct aivenauth_ctx *ctx, const char *prefix,
    const unsigned char h[HASH_BYTES], int64_t now)
{
	struct learn_entry *e = find(ctx, prefix, true, now);

	if (e == NULL)
		return;
	memcpy(e->hash, h, HASH_BYTES);
	e->has_hash = true;
	e->learned_at = now;
	e->used = now;
}

int64_t
learned_expiry(struct aivenauth_ctx *ctx, const char *prefix,
    int64_t sync_time)
{
	struct learn_entry *e;

	if (ctx->learned == NULL)
		return 0;
	e = find(ctx, prefix, false, 0);
	if (e == NULL || e->local_expiry == 0)
		return 0;
	if (sync_time > e->extended_at) {
		e->local_expiry = 0;     /* the sync knows better now */
		return 0;
	}
	return e->local_expiry;
}

void
learned_extend(struct aivenauth_ctx *ctx, const char *prefix, int64_t expiry,
    int64_t now)
{
	struct learn_entry *e = find(ctx, prefix, true, now);

	if (e != NULL && expiry > e->local_expiry) {
		e->local_expiry = expiry;
		e->extended_at = now;
	}
}

void
learned_free(struct aivenauth_ctx *ctx)
{
	if (ctx->learned != NULL) {
		sodium_memzero(ctx->learned, sizeof(*ctx->learned));
		free(ctx->learned);
		ctx->learned = NULL;
	}
}

/* ------------------------------------------------ process-wide gate */

static struct {
	pthread_mutex_t lock;
	unsigned char neg[NEG_MAX][HASH_BYTES];
	int64_t neg_at[NEG_MAX];
	unsigned neg_next;
	int64_t bucket_at;      /* last refill */
	unsigned bucket;        /* calls left */
	bool started;
} gate = { .lock = PTHREAD_MUTEX_INITIALIZER };
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

/* Never inherit the gate's lock held by another thread across fork (the
 * child would hang at its first online check). */
static void
gate_prepare(void)
{
	pthread_mutex_lock(&gate.lock);
}

static void
gate_release(void)
{
	pthread_mutex_unlock(&gate.lock);
}

static void
gate_hook(void)
{
	(void)pthread_atfork(gate_prepare, gate_release, gate_release);
}

enum online_gate
online_gate(const unsigned char h[HASH_BYTES], int64_t now)
{
	enum online_gate g = GATE_OPEN;
	unsigned i;

	(void)pthread_once(&gate_once, gate_hook);
	pthread_mutex_lock(&gate.lock);
	for (i = 0; i < NEG_MAX; i++) {
		if (gate.neg_at[i] != 0 && now >= gate.neg_at[i] &&
		    now - gate.neg_at[i] < NEG_TTL &&
		    sodium_memcmp(gate.neg[i], h, HASH_BYTES) == 0) {
			g = GATE_REFUSED;
			goto out;
		}
	}
	if (!gate.started || now < gate.bucket_at) {
		gate.started = true;
		gate.bucket = RATE_BURST;
		gate.bucket_at = now;
	} else if (now > gate.bucket_at) {
		int64_t add = (now - gate.bucket_at) * RATE_PER_SEC;

		gate.bucket = add >= RATE_BURST || gate.bucket + add >= RATE_BURST ?
		    RATE_BURST : gate.bucket + (unsigned)add;
		gate.bucket_at = now;
	}
	if (gate.bucket == 0)
		g = GATE_LIMITED;
	else
		gate.bucket--;
out:
	pthread_mutex_unlock(&gate.lock);
	return g;
}

void
online_refused(const unsigned char h[HASH_BYTES], int64_t now)
{
	(void)pthread_once(&gate_once, gate_hook);
	pthread_mutex_lock(&gate.lock);
	memcpy(gate.neg[gate.neg_next], h, HASH_BYTES);
	gate.neg_at[gate.neg_next] = now;
	gate.neg_next = (gate.neg_next + 1) % NEG_MAX;
	pthread_mutex_unlock(&gate.lock);
}

void
online_gate_reset(void)
{
	pthread_mutex_lock(&gate.lock);
	sodium_memzero(gate.neg, sizeof(gate.neg));
	memset(gate.neg_at, 0, sizeof(gate.neg_at));
	gate.neg_next = 0;
	gate.started = false;
	pthread_mutex_unlock(&gate.lock);
}
