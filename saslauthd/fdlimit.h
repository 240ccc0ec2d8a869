/*
 * fdlimit.h - how many connections fit RLIMIT_NOFILE.
 *
 * A connection holds a descriptor from accept() to close.  If the table
 * (--max-connections) has more slots than there are descriptors, idle
 * clients use up the descriptors before they fill the table: accept()
 * fails with EMFILE and a new client is refused instead of evicting the
 * oldest idle connection (loop.h) -- idle clients would starve everyone.
 * So the cap is what the limit leaves, after
 *   - what is open when the cap is set (stdio, the listening sockets,
 *     the cache snapshot, anything inherited), counted by the caller;
 *   - what the responder opens later, named by the caller: the event
 *     loop's epoll and signalfd, its spare descriptor, the syslog socket,
 *     and with online learning the worker's eventfd, its snapshot and
 *     libcurl's sockets (SL_FD_LATER, SL_FD_WORKER), one snapshot per
 *     library context not yet attached;
 *   - a slack proportional to the limit (1/16, at least 4) for what
 *     cannot be counted: a snapshot reopened after a sync while the old
 *     one is still open, an account map being re-read, a CA bundle,
 *     libraries' own descriptors.
 * A cap asked for is never raised, only lowered to fit.  Pure: the unit
 * tests call it with any numbers.
 */
#ifndef SASLD_FDLIMIT_H
#define SASLD_FDLIMIT_H

/* RLIMIT_NOFILE at RLIM_INFINITY. */
#define SL_FD_UNLIMITED (~0ULL)
/* Opened after the count: epoll, signalfd, the spare, the syslog socket. */
#define SL_FD_LATER 4
/* The online worker's: its eventfd, its snapshot, libcurl's connection
 * and resolver sockets, a CA bundle being read. */
#define SL_FD_WORKER 8
#define SL_FD_SLACK_MIN 4
#define SL_FD_SLACK_DIV 16

/* Descriptors kept for the responder's own use at this limit, besides
 * in_use and later. */
unsigned sl_fd_slack(unsigned long long limit);

/*
 * The connection cap: want, or less so that in_use + later + slack + cap
 * stays within limit; at least 1 (then the out-of-descriptors path of the
 * loop answers).  Never more than want.
 */
unsigned sl_conn_cap(unsigned want, unsigned long long limit, unsigned in_use,
    unsigned later);

#endif /* SASLD_FDLIMIT_H */
