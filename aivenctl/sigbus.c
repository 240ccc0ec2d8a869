/*
 * sigbus.c - a true last word when a write into a mapped file fails.
 *
 * On a full copy-on-write file system (btrfs, ZFS) a store into a mapped
 * page that needs a new block kills the process with SIGBUS: LMDB maps
 * its lock file and environment.  Without a handler the operator reads
 * "Bus error" and nothing else.  The handler says what it most likely
 * is, and what the command had already made durable (sigbus_note: e.g.
 * `token revoke` once the revocation is journaled), then exits 74.
 * Only async-signal-safe calls (write, _exit).
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "aivenctl.h"

static const char *volatile note;

static void
on_sigbus(int sig)
{
	static const char head[] = "aivenctl: SIGBUS: a write into a mapped "
	    "file failed: the file system holding cache_dir is probably full "
	    "(copy-on-write: btrfs, ZFS; run aivenctl doctor)\n";
	const char *n = note;

	(void)sig;
	(void)!write(2, head, sizeof(head) - 1);
	if (n != NULL) {
		(void)!write(2, "aivenctl: ", 10);
		(void)!write(2, n, strlen(n));
		(void)!write(2, "\n", 1);
	}
	_exit(EX_IOERR);
}

void
sigbus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGBUS, &sa, NULL);
}

void
sigbus_note(const char *msg)
{
	note = msg;
}
