/*
 * loop.h - aivenauth-saslauthd's event loop: one thread, epoll, every
 * socket non-blocking, so no client can hold up another.
 *
 * libsasl2 reads and writes with no timeout: a responder that stalls
 * stalls every smtpd or slapd process that asked.  So liveness is a
 * correctness property here:
 *  - a connection is only ever read when epoll says it is readable, and
 *    only as much as the request's caps allow (proto.h);
 *  - every connection has a deadline (accept time + timeout); a client
 *    that has not sent a whole request by then is dropped;
 *  - connections are kept in accept order, which is deadline order, so
 *    the next deadline is the list's head (no timer structure);
 *  - at the connection cap, a new client evicts the oldest connection
 *    rather than wait: idle clients can fill the table, never block it;
 *  - the cap fits RLIMIT_NOFILE (fdlimit.h), so idle clients fill the
 *    table before they use up the descriptors;
 *  - out of descriptors all the same (taken elsewhere), a new client
 *    evicts the oldest connection still waiting on its client; with none
 *    to evict, a spare descriptor is given up to accept the client and
 *    answer it "NO", so the readable listener never makes the loop spin;
 *  - what may wait on the network (online learning: decide returned 0)
 *    goes to one worker thread, and its answer comes back through an
 *    eventfd: the loop itself never waits for the API.
 */
#ifndef SASLD_LOOP_H
#define SASLD_LOOP_H

#include <stddef.h>

#include "decide.h"
#include "proto.h"

/* Decide on a complete request; write the answer, return its length
 * (0 from the loop's decide: hand the request to the worker's). */
typedef size_t sl_decide_fn(void *arg, const unsigned char *req,
    const struct sa_fields *f, const struct sd_peer *peer,
    unsigned char *answer);
/* Answer a request that sa_parse() refused (why). */
typedef size_t sl_refuse_fn(void *arg, enum sa_parse why,
    const struct sd_peer *peer, unsigned char *answer);
/* Called when the loop goes idle (no connection left), before it blocks. */
typedef void sl_idle_fn(void *arg);

struct sl_loop_opts {
	const int *listen_fds;      /* non-blocking listening unix sockets */
	size_t n_listen;
	unsigned max_conns;         /* connection table size */
	unsigned timeout_ms;        /* per-connection deadline */
	sl_decide_fn *decide;
	sl_refuse_fn *refuse;
	sl_idle_fn *idle;           /* may be NULL */
	void *arg;
	sl_decide_fn *worker;       /* NULL: no worker; decide never returns 0 */
	void *worker_arg;           /* the worker thread's own */
};

/* Counters, for the end-of-run line and the tests' --stats. */
struct sl_stats {
	unsigned long long accepted, answered, refused_bad, timed_out, evicted,
	    evicted_fd, dropped, deferred, fd_exhausted;
};

/*
 * Run until SIGTERM or SIGINT (blocked by the caller before any thread
 * exists, then read here through a signalfd).  Returns 0 after a clean
 * stop, -1 if the loop could not be set up (logged).
 */
int sl_run(const struct sl_loop_opts *o, struct sl_stats *stats);

#endif /* SASLD_LOOP_H */
