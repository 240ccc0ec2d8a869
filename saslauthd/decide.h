/*
 * decide.h - one saslauthd request to one answer: the service's policy
 * (policy.h), then aivenauth_verify() -- the call pam_aiven makes, on the
 * same published snapshot -- then one log line and the answer bytes.
 */
#ifndef SASLD_DECIDE_H
#define SASLD_DECIDE_H

#include <stddef.h>
#include <sys/types.h>

#include "aivenauth.h"
#include "policy.h"
#include "proto.h"

struct sd_state {
	struct aivenauth_ctx *ctx;      /* cache opened read-only on first use */
	const struct sp_table *policy;
};

/* Who is asking, from SO_PEERCRED (uid -1: unknown). */
struct sd_peer {
	uid_t uid;
	pid_t pid;
};

/*
 * Decide on the request in req (sa_parse() said SA_PARSE_DONE with f) and
 * write the answer to answer (SA_ANSWER_MAX bytes); returns its length.
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
