/*
 * doctor_fs.c - the file system under cache_dir: is a full disk safe for a
 * revocation there?  (SECURITY.md O1; docs/DESIGN.md "The revocation
 * journal")
 *
 * The writer allocates the revocation journal and the state record in
 * advance so that a revocation made while the disk is full still has
 * room.  That holds where an overwrite stays in place (ext4, XFS, tmpfs).
 * On a copy-on-write file system every overwrite needs a new block: btrfs
 * has a per-file switch (no-copy-on-write, set by the writer on cache_dir
 * and writer/, inherited by the files made there afterwards; files made
 * before keep copy-on-write); ZFS has none.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "doctor.h"

#define BTRFS_MAGIC 0x9123683eL
#define ZFS_MAGIC 0x2fc12fc1L

/* 1: no-copy-on-write set, 0: not set, -1: cannot tell (missing...). */
static int
nocow(const char *dir, const char *name)
{
	char p[4352];
	int fd, fl = 0, r;

	if (snprintf(p, sizeof(p), "%s%s%s", dir, name[0] ? "/" : "", name) >=
	    (int)sizeof(p))
		return -1;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	r = ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 ? (fl & FS_NOCOW_FL) != 0 : -1;
	close(fd);
	return r;
}

void
check_cache_fs(struct doctor *d, struct aivenauth_ctx *ctx)
{
	static const char *const files[] = {
		"", "writer", "writer/revocations", "state", "writer/data.mdb",
		"writer/lock.mdb",
	};
	const char *dir = aivenauth_config_get(ctx, "cache_dir");
	char cow[512] = "";
	struct statfs fs;
	size_t i, n = 0;

	if (dir == NULL || statfs(dir, &fs) != 0)
		return;     /* check_cache_dir says why */
	if ((long)fs.f_type == ZFS_MAGIC) {
		report(d, WARN, "cache-fs", "keep cache_dir on a file system "
		    "that overwrites in place (ext4, XFS), or keep the pool "
		    "from filling (a reservation for this dataset)", "cache_dir "
		    "%s is on ZFS (copy-on-write, no per-file switch): a "
		    "revocation made while the pool is full may not be "
		    "recorded (SECURITY.md O1)", dir);
		return;
	}
	if ((long)fs.f_type != BTRFS_MAGIC)
		return;     /* overwrites in place: nothing to say */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (nocow(dir, files[i]) != 0)
			continue;   /* set, or not there */
		n++;
		snprintf(cow + strlen(cow), sizeof(cow) - strlen(cow), "%s%s",
		    cow[0] ? ", " : "", files[i][0] ? files[i] : ".");
	}
	if (n == 0) {
		report(d, OK, "cache-fs", NULL, "cache_dir %s is on btrfs, "
		    "no-copy-on-write set on its files", dir);
		return;
	}
	report(d, WARN, "cache-fs", "the writer marks cache_dir and writer/ "
	    "no-copy-on-write when it opens them, but a file made before keeps "
	    "copy-on-write: stop aivenauth-sync.timer, recreate the cache "
	    "(`aivenctl sync` into an empty cache_dir) once no revocation is "
	    "pending (aivenctl status), or move cache_dir to ext4/XFS",
	    "cache_dir %s is on btrfs and copy-on-write for: %s; on a full "
	    "disk a revocation may not be recorded (SECURITY.md O1)", dir, cow);
}
