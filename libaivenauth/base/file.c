/*
 * file.c - open the files the library trusts (config, admin token, the
 * network module) without being steered by whoever else can write to the
 * file system: no symlinks, owner root or us, nobody else may write, and
 * for secrets nobody else may even read.  Every refusal says what is wrong
 * and the command that fixes it, because an admin who has to guess will
 * "fix" it with chmod 777.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "base/internal.h"

#define WALK_PATH_MAX 4096
#define READ_TRIES 3       /* reads of a file that keeps changing */

static const char *
trust_name(enum trust trust)
{
	switch (trust) {
	case TRUST_CONFIG:
		return "config file";
	case TRUST_SECRET:
		return "api token file";
	case TRUST_MODULE:
		return "module";
	case TRUST_MAP:
		return "account map";
	}
	return "file";
}

bool
owner_trusted(uid_t uid, bool service_user)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (uid == 0 || uid == geteuid())
		return true;
	return service_user &&
	    getpwnam_r("aivenauth", &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && res->pw_uid == uid;
}

/* Owner and mode rules shared by files and directories; what names the
 * object in messages ("config file /etc/x", "directory /etc"). */
static enum aivenauth_status
check_stat(struct aivenauth_ctx *ctx, const struct stat *sb, const char *what,
    const char *path, enum trust trust)
{
	unsigned mode = (unsigned)(sb->st_mode & 07777);

	if (!owner_trusted(sb->st_uid, trust == TRUST_SECRET)) {
		ctx_log(ctx, LOG_ERR, "%s %s is owned by uid %u; it must be "
		    "owned by root%s (or the user running this); run: chown root "
		    "%s", what, path, (unsigned)sb->st_uid,
		    trust == TRUST_SECRET ? " or the aivenauth user" : "", path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (mode & S_IWOTH) {
		ctx_log(ctx, LOG_ERR, "%s %s is world-writable (mode %04o); "
		    "run: chmod go-w %s", what, path, mode, path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (mode & S_IWGRP) {
		ctx_log(ctx, LOG_ERR, "%s %s is group-writable (mode %04o); "
		    "run: chmod go-w %s", what, path, mode, path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (trust == TRUST_SECRET && (mode & 077) != 0) {
		ctx_log(ctx, LOG_ERR, "%s %s is %s by group or others "
		    "(mode %04o); run: chmod 600 %s", what, path,
		    (mode & 044) != 0 ? "readable" : "accessible", mode, path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	return AIVENAUTH_OK;
}

/*
 * The directories above a trusted file (OpenSSH's safe_path for
 * authorized_keys): whoever can write to one can rename the file away and
 * put their own, or an older copy, in its place, so each directory up to
 * "/" must be owned by a trusted owner (the file's rule: root or us, and
 * for secrets the aivenauth user) and writable by nobody else.  A sticky
 * directory (/tmp, mode 1777 owned by root) is the exception: there only
 * a file's owner (or the directory's, who is trusted) may rename or
 * remove it, and the file itself must have a trusted owner.
 *
 * lstat(), never stat(): a symlinked directory on the path is not
 * followed here, so the walk sees the link's own directory; the target
 * is walked too, from realpath() of the file's directory (below).  A
 * symlink met on the way must have a trusted owner as well (review 4
 * F6): its owner can repoint it at will (in a sticky group-writable
 * directory, or a world-writable one with protected_symlinks=0, that is
 * someone the directory rule does not trust), choosing which directory
 * the file is read from.  The link's own target is walked the same way
 * (a chain of links, each in its own directory: realpath() alone would
 * skip the links between), at most WALK_LINKS deep.
 */
#define WALK_LINKS 16

static enum aivenauth_status walk_parents_depth(struct aivenauth_ctx *ctx,
    const char *walk, const char *path, const char *what, enum trust trust,
    int depth);

/* The symlink dir (lstat sb) on the path of path: its owner, then where
 * it points, walked from the target itself up. */
static enum aivenauth_status
walk_link(struct aivenauth_ctx *ctx, const char *dir, const struct stat *sb,
    const char *path, const char *what, enum trust trust, int depth)
{
	char target[WALK_PATH_MAX + 1], next[WALK_PATH_MAX + 3];
	const char *slash;
	ssize_t n;
	int len;

	if (!owner_trusted(sb->st_uid, trust == TRUST_SECRET)) {
		ctx_log(ctx, LOG_ERR, "symlink %s on the path of %s %s is owned "
		    "by uid %u: whoever owns it can repoint it; it must be "
		    "owned by root%s (or the user running this); run: chown -h "
		    "root %s", dir, what, path, (unsigned)sb->st_uid,
		    trust == TRUST_SECRET ? " or the aivenauth user" : "", dir);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if (depth >= WALK_LINKS) {
		ctx_log(ctx, LOG_ERR, "%s %s: more than %d symlinks on its "
		    "path", what, path, WALK_LINKS);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if ((n = readlink(dir, target, sizeof(target) - 1)) < 0) {
		ctx_log(ctx, LOG_ERR, "cannot read symlink %s on the path of "
		    "%s %s: %s", dir, what, path, strerror(errno));
		return AIVENAUTH_ERR_IO;
	}
	target[n] = '\0';
	/* "/x" appended: the walk starts at the target itself. */
	slash = strrchr(dir, '/');
	if (target[0] == '/' || slash == NULL)
		len = snprintf(next, sizeof(next), "%s/x", target);
	else
		len = snprintf(next, sizeof(next), "%.*s/%s/x",
		    (int)(slash - dir), dir, target);
	if (len < 0 || (size_t)len >= sizeof(next) || len > WALK_PATH_MAX) {
		ctx_log(ctx, LOG_ERR, "%s %s: the target of symlink %s is "
		    "longer than %d bytes", what, path, dir, WALK_PATH_MAX);
		return AIVENAUTH_ERR_INVALID;
	}
	return walk_parents_depth(ctx, next, path, what, trust, depth + 1);
}

static enum aivenauth_status
walk_parents_depth(struct aivenauth_ctx *ctx, const char *walk,
    const char *path, const char *what, enum trust trust, int depth)
{
	char dir[WALK_PATH_MAX + 1], *slash;
	enum aivenauth_status st;
	struct stat sb;
	unsigned mode;
	size_t n = strlen(walk);

	if (n > WALK_PATH_MAX) {
		ctx_log(ctx, LOG_ERR, "%s %s: path longer than %d bytes",
		    what, path, WALK_PATH_MAX);
		return AIVENAUTH_ERR_INVALID;
	}
	memcpy(dir, walk, n + 1);
	for (;;) {
		if ((slash = strrchr(dir, '/')) == NULL)
			break;     /* relative: realpath() walk covers the rest */
		if (slash == dir) {
			if (dir[1] == '\0')
				break;
			dir[1] = '\0';   /* then check "/" itself */
		} else {
			*slash = '\0';
		}
		if (lstat(dir, &sb) != 0) {
			ctx_log(ctx, LOG_ERR, "cannot check directory %s of %s "
			    "%s: %s", dir, what, path, strerror(errno));
			return AIVENAUTH_ERR_IO;
		}
		if (S_ISLNK(sb.st_mode)) {
			if ((st = walk_link(ctx, dir, &sb, path, what, trust,
			    depth)) != AIVENAUTH_OK)
				return st;
			continue;
		}
		mode = (unsigned)(sb.st_mode & 07777);
		if (!owner_trusted(sb.st_uid, trust == TRUST_SECRET)) {
			ctx_log(ctx, LOG_ERR, "directory %s of %s %s is owned "
			    "by uid %u (mode %04o): whoever owns it can swap "
			    "the file; it must be owned by root%s (or the user "
			    "running this); run: chown root %s", dir, what,
			    path, (unsigned)sb.st_uid, mode,
			    trust == TRUST_SECRET ? " or the aivenauth user" :
			    "", dir);
			return AIVENAUTH_ERR_UNSAFE_FILE;
		}
		if ((mode & 022) != 0 && (mode & S_ISVTX) == 0) {
			ctx_log(ctx, LOG_ERR, "directory %s of %s %s is "
			    "%s-writable without the sticky bit (owner uid %u, "
			    "mode %04o): others can swap the file; run: chmod "
			    "go-w %s", dir, what, path,
			    (mode & S_IWOTH) != 0 ? "world" : "group",
			    (unsigned)sb.st_uid, mode, dir);
			return AIVENAUTH_ERR_UNSAFE_FILE;
		}
	}
	return AIVENAUTH_OK;
}

static enum aivenauth_status
walk_parents(struct aivenauth_ctx *ctx, const char *walk, const char *path,
    const char *what, enum trust trust)
{
	return walk_parents_depth(ctx, walk, path, what, trust, 0);
}

static enum aivenauth_status
check_parents(struct aivenauth_ctx *ctx, const char *path, const char *what,
    enum trust trust)
{
	char dir[WALK_PATH_MAX + 1], *slash, *real;
	enum aivenauth_status st;
	size_t n = strlen(path);

	/* The module is dlopen()ed from the library's own directory, owned
	 * by the package; its rule stays the file's own. */
	if (trust == TRUST_MODULE)
		return AIVENAUTH_OK;
	if ((st = walk_parents(ctx, path, path, what, trust)) != AIVENAUTH_OK)
		return st;
	if (n > WALK_PATH_MAX)
		return AIVENAUTH_ERR_INVALID;
	memcpy(dir, path, n + 1);
	if ((slash = strrchr(dir, '/')) == NULL)
		memcpy(dir, ".", 2);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((real = realpath(dir, NULL)) == NULL) {
		ctx_log(ctx, LOG_ERR, "cannot check directory %s of %s %s: %s",
		    dir, what, path, strerror(errno));
		return AIVENAUTH_ERR_IO;
	}
	/* Same directories as above, unless a symlink or a relative path
	 * led elsewhere: then walk where it really lives.  "/x" is appended
	 * so that the walk starts at real itself. */
	if (strcmp(real, dir) != 0 && strlen(real) + 2 <= WALK_PATH_MAX) {
		snprintf(dir, sizeof(dir), "%s/x", strcmp(real, "/") == 0 ?
		    "" : real);
		st = walk_parents(ctx, dir, path, what, trust);
	} else if (strcmp(real, dir) != 0) {
		ctx_log(ctx, LOG_ERR, "%s %s: its real path %s is longer than "
		    "%d bytes", what, path, real, WALK_PATH_MAX);
		st = AIVENAUTH_ERR_INVALID;
	}
	free(real);
	return st;
}

/*
 * The directories above the cache directory: the rule for secrets' parents
 * (owner root, the caller or the aivenauth user; not group- or
 * world-writable unless sticky).  Whoever can write one of them can put
 * another cache directory in its place -- another snapshot, another state
 * record -- under every reader.
 */
enum aivenauth_status
check_cache_dir_parents(struct aivenauth_ctx *ctx, const char *dir)
{
	return check_parents(ctx, dir, "cache directory", TRUST_SECRET);
}

static enum aivenauth_status
open_error(struct aivenauth_ctx *ctx, const char *what, const char *path,
    int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		/* Whether missing is fine is the caller's call. */
		ctx_log(ctx, LOG_DEBUG, "%s %s does not exist", what, path);
		return AIVENAUTH_ERR_NOT_FOUND;
	case ELOOP:
		ctx_log(ctx, LOG_ERR, "%s %s is a symlink; refusing to follow "
		    "it; name the real file instead", what, path);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	default:
		ctx_log(ctx, LOG_ERR, "cannot open %s %s: %s", what, path,
		    strerror(err));
		return AIVENAUTH_ERR_IO;
	}
}

/* Does the file still look as it did when we started reading it?  An fd
 * keeps its inode, so size and the two times are what can move. */
static bool
unchanged(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * One attempt.  The buffer is size + 2 bytes so that one read past the
 * expected size tells a file that grew under us from one that did not;
 * len + 1 bytes (the data and its NUL) are what the caller has to wipe,
 * nothing was written beyond them.  A file whose byte count or identity
 * moved during the read sets *changed and returns AIVENAUTH_ERR_IO
 * without logging: the caller reads again.
 */
static enum aivenauth_status
read_once(struct aivenauth_ctx *ctx, const char *path, enum trust trust,
    size_t max, char **bufp, size_t *lenp, struct stat *sbp, bool *changed)
{
	enum aivenauth_status st = AIVENAUTH_ERR_INTERNAL;
	const char *what = trust_name(trust);
	char *buf = NULL;
	size_t size = 0, len = 0;
	struct stat sb, after;
	ssize_t r;
	int fd = -1;

	*changed = false;
	/* O_NONBLOCK: a FIFO planted at the path must not hang us in
	 * open(); fstat below refuses it anyway. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK);
	if (fd < 0) {
		st = open_error(ctx, what, path, errno);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		ctx_log(ctx, LOG_ERR, "cannot stat %s %s: %s", what, path,
		    strerror(errno));
		st = AIVENAUTH_ERR_IO;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		ctx_log(ctx, LOG_ERR, "%s %s is not a regular file", what,
		    path);
		st = AIVENAUTH_ERR_UNSAFE_FILE;
		goto out;
	}
	if ((st = check_stat(ctx, &sb, what, path, trust)) != AIVENAUTH_OK)
		goto out;
	if ((st = check_parents(ctx, path, what, trust)) != AIVENAUTH_OK)
		goto out;
	if (sb.st_size < 0 || (uint64_t)sb.st_size > max) {
		ctx_log(ctx, LOG_ERR, "%s %s is too large (%lld bytes, at most "
		    "%zu)", what, path, (long long)sb.st_size, max);
		st = AIVENAUTH_ERR_TOO_LARGE;
		goto out;
	}
	size = (size_t)sb.st_size;
	if ((buf = malloc(size + 2)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	while (len < size + 1) {
		r = read(fd, buf + len, size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ctx_log(ctx, LOG_ERR, "cannot read %s %s: %s", what,
			    path, strerror(errno));
			st = AIVENAUTH_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	/* Fewer or more bytes than fstat said, or size or times moved while
	 * we read: a writer is at work (a rewrite in place truncates, then
	 * writes), and what we hold may be half of one file. */
	if (len != size || fstat(fd, &after) != 0 || !unchanged(&sb, &after)) {
		*changed = true;
		st = AIVENAUTH_ERR_IO;
		goto out;
	}
	buf[len] = '\0';
	if (sbp != NULL)
		*sbp = sb;
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	st = AIVENAUTH_OK;
out:
	if (buf != NULL) {
		if (trust == TRUST_SECRET)
			sodium_memzero(buf, size + 2);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return st;
}

enum aivenauth_status
read_trusted(struct aivenauth_ctx *ctx, const char *path, enum trust trust,
    size_t max, char **bufp, size_t *lenp)
{
	return read_trusted_st(ctx, path, trust, max, bufp, lenp, NULL);
}

/*
 * A file that changed while being read is read again, a bounded number
 * of times: an editor's write is over in microseconds, and a file that
 * keeps changing is refused (never half of it accepted), logged, and
 * read again at the caller's next use.
 */
enum aivenauth_status
read_trusted_st(struct aivenauth_ctx *ctx, const char *path,
    enum trust trust, size_t max, char **bufp, size_t *lenp,
    struct stat *sbp)
{
	enum aivenauth_status st;
	bool changed = false;
	int i;

	if (bufp != NULL)
		*bufp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (path == NULL || bufp == NULL || lenp == NULL)
		return AIVENAUTH_ERR_INVALID;
	for (i = 0; i < READ_TRIES; i++) {
		st = read_once(ctx, path, trust, max, bufp, lenp, sbp,
		    &changed);
		if (!changed)
			return st;
	}
	ctx_log(ctx, LOG_ERR, "%s %s changed while being read, %d times in a "
	    "row; refused until it holds still (install edits by rename: "
	    "write a new file in the same directory, then mv it over)",
	    trust_name(trust), path, READ_TRIES);
	return AIVENAUTH_ERR_IO;
}

enum aivenauth_status
check_trusted_path(struct aivenauth_ctx *ctx, const char *path,
    enum trust trust, bool want_dir)
{
	const char *what = want_dir ? "directory" : trust_name(trust);
	enum aivenauth_status st;
	struct stat sb;

	if (path == NULL)
		return AIVENAUTH_ERR_INVALID;
	/* lstat: the thing itself, the same as O_NOFOLLOW would see. */
	if (lstat(path, &sb) != 0)
		return open_error(ctx, what, path, errno);
	if (S_ISLNK(sb.st_mode))
		return open_error(ctx, what, path, ELOOP);
	if (want_dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) {
		ctx_log(ctx, LOG_ERR, "%s %s is not a %s", what, path,
		    want_dir ? "directory" : "regular file");
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	if ((st = check_stat(ctx, &sb, what, path, trust)) != AIVENAUTH_OK)
		return st;
	return check_parents(ctx, path, what, trust);
}
