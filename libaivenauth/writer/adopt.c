/*
 * adopt.c - a file the writer creates in the cache directory belongs to
 * the directory's owner and group: when root runs aivenctl in a cache the
 * aivenauth user owns (the sync timer's), the timer's next run must still
 * be able to write what root created, and readers (the directory's group)
 * to read it.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "writer/writer.h"

/*
 * New files take the cache directory's group (the readers' group: the
 * README's root:aivenauth 0750), whatever the writer's own group is, so a
 * publication never locks the services out.  Root creating files in a
 * directory the aivenauth user owns (the timer runs as aivenauth, an admin
 * as root) also hands them to that owner, or the next timer run could not
 * write.
 */
void
cache_adopt(struct aivenauth_ctx *ctx, int fd, const char *path)
{
	struct stat dst, fst;
	uid_t uid = (uid_t)-1;
	int rc;

	if (stat(ctx->cfg.cache_dir, &dst) != 0)
		return;
	if (geteuid() == 0 && dst.st_uid != 0)
		uid = dst.st_uid;
	rc = fd >= 0 ? fstat(fd, &fst) : path != NULL ? lstat(path, &fst) : -1;
	if (rc != 0 || ((uid == (uid_t)-1 || fst.st_uid == uid) &&
	    fst.st_gid == dst.st_gid))
		return;
	if ((fd >= 0 && fchown(fd, uid, dst.st_gid) != 0) ||
	    (fd < 0 && lchown(path, uid, dst.st_gid) != 0))
		ctx_log(ctx, LOG_WARNING, "cache %s: cannot give a new file the "
		    "directory's owner and group (uid %d, gid %u): %s",
		    ctx->cfg.cache_dir, (int)uid, (unsigned)dst.st_gid,
		    strerror(errno));
}
