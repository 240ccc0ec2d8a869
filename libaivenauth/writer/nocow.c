/*
 * nocow.c - no copy-on-write for the writer's files where the file system
 * has it (btrfs: FS_NOCOW_FL, "chattr +C").
 *
 * Why: on a copy-on-write file system an overwrite needs a new block, so
 * the blocks the writer allocates in advance (the revocation journal, the
 * state record) would not save a revocation on a full disk, and a write
 * into a mapped page that cannot get a block kills the process (SIGBUS).
 * With the flag, btrfs overwrites in place.  Set on cache_dir and writer/
 * (new files inherit it) and on a file while it is still empty (the only
 * time btrfs takes it).  Elsewhere (ext4, tmpfs, XFS) the ioctl fails or
 * changes nothing, which is fine: they overwrite in place anyway.  ZFS has
 * no such flag (aivenctl doctor warns, doctor_fs.c).
 */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <syslog.h>

#include "writer/writer.h"

void
nocow_set(struct aivenauth_ctx *ctx, int fd)
{
	int fl = 0;

	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) != 0 || (fl & FS_NOCOW_FL))
		return;     /* no such flags here, or already set */
	fl |= FS_NOCOW_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &fl) != 0)
		ctx_log(ctx, LOG_DEBUG, "cache %s: no-copy-on-write not set",
		    ctx->cfg.cache_dir);
}
