/*
 * hdr_eio.c - LD_PRELOAD for tests/it_revoke_seq.sh (review 5, F4), built
 * by that script (never linked into a test binary, as tests/helpers/*.c
 * are): a pwrite into the revocation journal's header area (offset >=
 * 1024 * 512) fails with EIO, as a bad sector or a full copy-on-write file
 * system would make it fail; the slot writes are untouched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int
is_hdr(int fd, off_t off)
{
	static const char suf[] = "/writer/revocations";
	char p[64], t[PATH_MAX];
	ssize_t n;

	if (off < (off_t)1024 * 512)
		return 0;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if ((n = readlink(p, t, sizeof(t) - 1)) <= 0)
		return 0;
	t[n] = '\0';
	return (size_t)n >= sizeof(suf) - 1 &&
	    strcmp(t + n - (sizeof(suf) - 1), suf) == 0;
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t, off_t))
		    dlsym(RTLD_NEXT, "pwrite");
	if (is_hdr(fd, off)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}
