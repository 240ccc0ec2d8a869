/*
 * decide.h - one saslauthd request to one answer: the service's policy
 * (policy.h), then aivenauth_verify() -- the call pam_aiven makes, on the
 * same published snapshot -- then one log line and the answer bytes.
 */
#ifndef SASLD_DECIDE_H
#define SASLD_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "aivenauth.h"
#include "policy.h"
#include "proto.h"

/* The fields as C strings, wiped after each decision: one per thread
 * that decides. */
struct sd_scratch {
	char login[SA_LOGIN_MAX + 1];
	char password[SA_PASSWORD_MAX + 1];
	char service[SA_SERVICE_MAX + 1];
	char realm[SA_REALM_MAX + 1];
	char user[SA_LOGIN_MAX + 1 + SA_REALM_MAX + 1];
};

struct sd_state {
	struct aivenauth_ctx *ctx;      /* cache opened read-only on first use */
	const struct sp_table *policy;
	struct sd_scratch *scratch;
	bool worker;                    /* use the policies' wctx, not ctx */
	/* The event loop's side when online learning is on: a token the
	 * cache does not know the hash of (not-enrolled) is not answered
	 * or logged here but handed to the worker (sd_decide returns 0). */
	bool defer_not_enrolled;
};

/* Who is asking, from SO_PEERCRED (uid -1: unknown). */
struct sd_peer {
	uid_t uid;
	pid_t pid;
};

/*
 * Decide on the request in req (sa_parse() said SA_PARSE_DONE with f) and
 * write the answer to answer (SA_ANSWER_MAX bytes); returns its length,
 * or 0 when s->defer_not_enrolled handed the request on (nothing logged).
 * "OK" only for (AIVENAUTH_OK, AIVENAUTH_ACCEPTED).  The password is
 * copied only into a buffer that is wiped before this returns; req itself
 * is the caller's to wipe.
 */
size_t sd_decide(struct sd_state *s, const unsigned char *req,
    const struct sa_fields *f, const struct sd_peer *peer,
    unsigned char *answer);

/* The answer (and log line) for a request that could not be parsed. */
size_t sd_refuse_request(enum sa_parse why, const struct sd_peer *peer,
    unsigned char *answer);

#endif /* SASLD_DECIDE_H */
