/*
 * learned.h - what online checks teach a verifying process, kept in its
 * memory only: readers never write the cache (the trust boundary).
 *
 *   - learned hashes: a token the API vouched for (GET /v1/me, positive
 *     answer about the prefix's owner) is accepted from memory afterwards,
 *     per context, for LEARN_TTL, at most LEARN_MAX tokens;
 *   - keep-alive extensions: a sliding-expiry token refreshed at the API
 *     is valid here until now + max_age, until the next sync brings the
 *     API's own expiry;
 *   - a negative cache and a rate limit, per process: a secret the API
 *     refused is refused without a call for NEG_TTL, and the process makes
 *     at most RATE_BURST calls at once and RATE_PER_SEC a second after
 *     that; past the limit the decision is online-unavailable (never
 *     success).
 * In a forking server (sshd) all of this lives as long as the connection's
 * process; in a long-lived one (nginx, dovecot, postgres with pooled
 * contexts) as long as the worker.  To make a token known for good, enroll
 * it with `aivenctl token add`.
 */
#ifndef AIVENAUTH_LEARNED_H
#define AIVENAUTH_LEARNED_H

#include "base/internal.h"

#define LEARN_MAX 64
#define LEARN_TTL 3600
#define NEG_MAX 256
#define NEG_TTL 300
#define RATE_BURST 5
#define RATE_PER_SEC 1

/* Does ctx hold a learned hash for prefix equal to h?  (constant time) */
bool learned_match(struct aivenauth_ctx *ctx, const char *prefix,
    const unsigned char h[HASH_BYTES], int64_t now);
void learned_put(struct aivenauth_ctx *ctx, const char *prefix,
    const unsigned char h[HASH_BYTES], int64_t now);
/* Local keep-alive expiry for prefix (0 = none), until a sync later than
 * the extension brings the API's own expiry (which then decides, even if
 * it is earlier: the API may have expired or shortened the token). */
int64_t learned_expiry(struct aivenauth_ctx *ctx, const char *prefix,
    int64_t sync_time);
void learned_extend(struct aivenauth_ctx *ctx, const char *prefix,
    int64_t expiry, int64_t now);
void learned_free(struct aivenauth_ctx *ctx);

enum online_gate {
	GATE_OPEN,       /* ask the API */
	GATE_REFUSED,    /* this secret was refused lately: refuse, no call */
	GATE_LIMITED,    /* over the rate limit: no call, unavailable */
};
/* h: the token's keyed hash.  Takes one call from the budget if open. */
enum online_gate online_gate(const unsigned char h[HASH_BYTES], int64_t now);
void online_refused(const unsigned char h[HASH_BYTES], int64_t now);
/* Tests: forget the process-wide state. */
void online_gate_reset(void);

#endif
