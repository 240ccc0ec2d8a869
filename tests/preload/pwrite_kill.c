/*
 * pwrite_kill.c - LD_PRELOAD fault injection for it_withdraw_torn.sh
 * (review 5, F1): the Nth pwrite into a file whose path ends in
 * $R5_KILL_SUFFIX (e.g. "/cache/state") kills the process with SIGKILL
 * before it is done -- what a power loss, the OOM killer or a Ctrl-C at
 * that instant leaves behind.
 * R5_KILL_AT=N (1-based).  Nothing else is changed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int count;

static int
matches(int fd)
{
	const char *suf = getenv("R5_KILL_SUFFIX");
	char p[64], t[PATH_MAX];
	ssize_t n;
	size_t ls;

	if (suf == NULL)
		return 0;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if ((n = readlink(p, t, sizeof(t) - 1)) <= 0)
		return 0;
	t[n] = '\0';
	ls = strlen(suf);
	return (size_t)n >= ls && strcmp(t + n - ls, suf) == 0;
}

static void
maybe_die(int fd)
{
	const char *at = getenv("R5_KILL_AT");

	if (at != NULL && matches(fd) && ++count == strtol(at, NULL, 10))
		raise(SIGKILL);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t, off_t))
		    dlsym(RTLD_NEXT, "pwrite");
	maybe_die(fd);
	return real(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t, off_t))
		    dlsym(RTLD_NEXT, "pwrite64");
	maybe_die(fd);
	return real(fd, buf, n, off);
}
