/*
 * rename_pause.c - LD_PRELOAD for it_publish_lifts.sh (review 5, F3): a
 * renameat() onto "snapshot.mdb" (the publication's rename, after the
 * commit) first creates $R5_PAUSED and waits until $R5_GO exists.  Deterministic: the
 * test waits for conditions, never for time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
renameat(int od, const char *o, int nd, const char *n)
{
	static int (*real)(int, const char *, int, const char *);
	const char *paused = getenv("R5_PAUSED"), *go = getenv("R5_GO");
	int fd;

	if (real == NULL)
		real = (int (*)(int, const char *, int, const char *))
		    dlsym(RTLD_NEXT, "renameat");
	if (paused != NULL && go != NULL && strcmp(n, "snapshot.mdb") == 0) {
		if ((fd = open(paused, O_WRONLY | O_CREAT, 0600)) >= 0)
			close(fd);
		while (access(go, F_OK) != 0)
			usleep(20000);
	}
	return real(od, o, nd, n);
}
