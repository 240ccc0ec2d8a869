/*
 * listen.c - listening sockets (listen.h).
 *
 * Socket activation is done by hand rather than with libsystemd: the
 * protocol is two environment variables and a fixed first fd, and a
 * reader that sits in the mail and LDAP path should load no more code
 * than it needs (docs/DESIGN.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

#define SD_LISTEN_FDS_START 3

/*
 * Does a process listen on the socket at sa?  A stale socket left by a
 * crash refuses the connection (ECONNREFUSED) and may be replaced; a live
 * one belongs to another instance, which unlinking would cut off from
 * every new client while it keeps running.
 */
static bool
socket_live(const struct sockaddr_un *sa)
{
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	/* EAGAIN: its backlog is full, so it is very much alive. */
	rc = rc == 0 || errno == EAGAIN || errno == EINPROGRESS;
	close(fd);
	return rc;
}

int
sln_bind(const char *path, mode_t mode, gid_t gid, char *err, size_t errsize)
{
	struct sockaddr_un sa;
	struct stat sb;
	mode_t old;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errsize, "%s: socket path longer than %zu bytes",
		    path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errsize, "%s exists and is not a socket; "
			    "refusing to replace it", path);
			return -1;
		}
		if (socket_live(&sa)) {
			snprintf(err, errsize, "%s: another process is listening "
			    "on this socket (a second instance?); refusing to "
			    "take it over", path);
			return -1;
		}
		if (unlink(path) != 0) {
			snprintf(err, errsize, "cannot remove the old socket %s: %s",
			    path, strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsize, "socket: %s", strerror(errno));
		return -1;
	}
	/* Nobody may connect before mode and group are right. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		snprintf(err, errsize, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	/* By path, without following a symlink swapped in since bind. */
	if ((gid != (gid_t)-1 && lchown(path, (uid_t)-1, gid) != 0) ||
	    fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW) != 0) {
		snprintf(err, errsize, "%s: cannot set %s: %s", path,
		    gid != (gid_t)-1 ? "group and mode" : "mode", strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errsize, "listen %s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

static bool
parse_uint(const char *s, unsigned long *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0';
}

int
sln_from_systemd(int *fds, size_t max, char *err, size_t errsize)
{
	unsigned long pid, n, i;
	int fd, type, acc, fl;
	socklen_t len;
	struct sockaddr_un sa;

	if (!parse_uint(getenv("LISTEN_PID"), &pid) || pid != (unsigned long)getpid())
		return 0;
	if (!parse_uint(getenv("LISTEN_FDS"), &n) || n == 0)
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n > max) {
		snprintf(err, errsize, "systemd passed %lu sockets; at most %zu",
		    n, max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + (int)i;
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
		    type != SOCK_STREAM) {
			snprintf(err, errsize, "fd %d from systemd is not a stream "
			    "socket (ListenStream= in the .socket unit)", fd);
			return -1;
		}
		len = sizeof(acc);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 ||
		    !acc) {
			snprintf(err, errsize, "fd %d from systemd is not listening "
			    "(Accept=no in the .socket unit)", fd);
			return -1;
		}
		len = sizeof(sa);
		if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
		    sa.sun_family != AF_UNIX) {
			snprintf(err, errsize, "fd %d from systemd is not a unix "
			    "socket", fd);
			return -1;
		}
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
			snprintf(err, errsize, "fd %d: fcntl: %s", fd, strerror(errno));
			return -1;
		}
		fds[i] = fd;
	}
	return (int)n;
}
