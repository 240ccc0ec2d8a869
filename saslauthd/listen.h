/*
 * listen.h - the responder's listening sockets: bound by itself
 * (--listen PATH, hosts without systemd and tests) or handed over by
 * systemd socket activation.
 */
#ifndef SASLD_LISTEN_H
#define SASLD_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SLN_MAX 8

/*
 * Bind a unix stream socket at path with mode and, if gid is not -1, that
 * group; listen.  An existing socket at path is replaced (a stale one from
 * a killed run); anything else there is refused.  Returns the fd
 * (non-blocking, close-on-exec) or -1 with the reason in err.
 */
int sln_bind(const char *path, mode_t mode, gid_t gid, char *err,
    size_t errsize);

/*
 * systemd's socket activation protocol (sd_listen_fds(3)), by hand:
 * LISTEN_PID must be this process and LISTEN_FDS the count of fds from 3
 * on.  Each must be a listening unix stream socket; they are made
 * non-blocking and close-on-exec, and LISTEN_* are removed from the
 * environment.  Returns the count (0: not activated) or -1 (err).
 */
int sln_from_systemd(int *fds, size_t max, char *err, size_t errsize);

#endif /* SASLD_LISTEN_H */
