/*
 * doctor_cache.c - the doctor's checks of the cache: the directory, the
 * published snapshot and state, the writer's private directory, the first
 * layout; the service users in the cache's group; freshness.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "ops.h"

/*
 * The command that syncs by hand: as the aivenauth user when there is one
 * (the files stay its own), else as root.  timer: and enable the timer.
 */
static const char *
sync_fix(const struct doctor *d, bool timer)
{
	if (d->sync_uid == (uid_t)-1)
		return timer ? "systemd-sysusers aivenauth.conf (the aivenauth "
		    "user), runuser -u aivenauth -- aivenctl sync; systemctl "
		    "enable --now aivenauth-sync.timer" : "systemd-sysusers "
		    "aivenauth.conf (the aivenauth user), runuser -u aivenauth "
		    "-- aivenctl sync";
	return timer ? "runuser -u aivenauth -- aivenctl sync; systemctl "
	    "enable --now aivenauth-sync.timer" : "runuser -u aivenauth -- "
	    "aivenctl sync";
}

/* One file of the cache: expected mode bits and group. */
static void
check_cache_file(struct doctor *d, const char *dir, const char *name,
    mode_t want, gid_t gid)
{
	char path[4096], desc[96], fix[FIX_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &sb) != 0) {
		report(d, FAIL, "cache", d->cache_fix[0] != '\0' ?
		    d->cache_fix : sync_fix(d, false), "%s: %s", path,
		    strerror(errno));
		return;
	}
	describe(&sb, desc);
	if (!S_ISREG(sb.st_mode)) {
		report(d, FAIL, "cache", "remove it and sync again",
		    "%s is not a regular file", path);
	} else if ((sb.st_mode & 022) != 0) {
		snprintf(fix, sizeof(fix), "chmod go-w %s", path);
		report(d, FAIL, "cache", fix, "%s (%s) is writable by group or "
		    "others: a reader could change decisions (readers refuse "
		    "it)", path, desc);
	} else if (gid != (gid_t)-1 && sb.st_gid != gid) {
		snprintf(fix, sizeof(fix), "chgrp %s %s && chmod g+s %s",
		    SYNC_USER, path, dir);
		report(d, WARN, "cache", fix, "%s (%s) is not in group %s: "
		    "services in that group cannot use it", path, desc,
		    SYNC_USER);
	} else if ((sb.st_mode & want) != want) {
		snprintf(fix, sizeof(fix), "chmod %04o %s", (unsigned)want,
		    path);
		report(d, FAIL, "cache", fix, "%s (%s) lacks mode %04o: "
		    "services in group %s cannot %s it", path, desc,
		    (unsigned)want, SYNC_USER, (want & 020) != 0 ?
		    "register as readers in" : "read");
	} else if ((sb.st_mode & 007) != 0) {
		snprintf(fix, sizeof(fix), "chmod o= %s", path);
		report(d, WARN, "cache", fix, "%s (%s) is accessible to "
		    "others: token metadata is not public", path, desc);
	} else {
		report(d, OK, "cache", NULL, "%s (%s)", path, desc);
	}
}

/*
 * The first layout kept the writer's LMDB environment in cache_dir with
 * lock.mdb 0660 for the readers' group: any member could map it, pin
 * readers to an old snapshot (a revoked token accepted again) and hold the
 * writer mutex.  A writer run converts it; until then it is a failure.
 */
static void
check_old_layout(struct doctor *d, const char *dir)
{
	char path[4096], fix[FIX_MAX];
	struct stat sb;
	static const char *const old[] = { "lock.mdb", "data.mdb" };
	size_t i;

	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, old[i]);
		if (lstat(path, &sb) != 0)
			continue;
		snprintf(fix, sizeof(fix), "runuser -u aivenauth -- aivenctl "
		    "sync (converts it)%s", i == 0 ? "; then rm " : "");
		if (i == 0)
			snprintf(fix + strlen(fix), sizeof(fix) - strlen(fix),
			    "%s", path);
		report(d, FAIL, "cache", fix, "%s: the old layout, where readers "
		    "share the writer's LMDB lock file and can change decisions",
		    path);
	}
}

/* writer/: the writer's private environment, 0700. */
static void
check_writer_dir(struct doctor *d, const char *dir)
{
	char path[4096], desc[96], fix[FIX_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/writer", dir);
	if (lstat(path, &sb) != 0) {
		report(d, FAIL, "cache", d->cache_fix[0] != '\0' ?
		    d->cache_fix : sync_fix(d, false), "%s: %s", path,
		    strerror(errno));
		return;
	}
	describe(&sb, desc);
	if (!S_ISDIR(sb.st_mode)) {
		report(d, FAIL, "cache", "remove it and sync again",
		    "%s is not a directory", path);
	} else if ((sb.st_mode & 077) != 0) {
		snprintf(fix, sizeof(fix), "chmod 0700 %s", path);
		report(d, FAIL, "cache", fix, "%s (%s) is open to group or "
		    "others: the writer's environment must be private (the "
		    "writer refuses it)", path, desc);
	} else if (d->sync_uid != (uid_t)-1 && sb.st_uid != d->sync_uid &&
	    sb.st_uid != 0) {
		snprintf(fix, sizeof(fix), "chown -R %s %s", SYNC_USER, path);
		report(d, FAIL, "cache", fix, "%s (%s) is owned by neither %s "
		    "nor root", path, desc, SYNC_USER);
	} else {
		report(d, OK, "cache", NULL, "%s (%s): private to the writer",
		    path, desc);
	}
}

void
check_cache_dir(struct doctor *d, struct aivenauth_ctx *ctx)
{
	const char *dir = aivenauth_config_get(ctx, "cache_dir");
	char desc[96], fix[FIX_MAX];
	struct stat sb;
	gid_t gid;

	if (dir == NULL)
		return;
	if (lstat(dir, &sb) != 0) {
		report(d, FAIL, "cache", "systemd-tmpfiles --create "
		    "aivenauth.conf && runuser -u aivenauth -- aivenctl sync",
		    "cache_dir %s: %s", dir, strerror(errno));
		return;
	}
	describe(&sb, desc);
	if (!S_ISDIR(sb.st_mode)) {
		report(d, FAIL, "cache", "make cache_dir a real directory "
		    "(aivenauth refuses symlinks)", "cache_dir %s is not a "
		    "directory", dir);
		return;
	}
	if ((sb.st_mode & 022) != 0) {
		snprintf(fix, sizeof(fix), "chmod 2750 %s", dir);
		report(d, FAIL, "cache", fix, "cache_dir %s (%s) is writable "
		    "by group or others: readers and the sync refuse it", dir,
		    desc);
		snprintf(d->cache_fix, sizeof(d->cache_fix), "%s", fix);
	} else if (d->sync_uid != (uid_t)-1 && sb.st_uid != d->sync_uid &&
	    sb.st_uid != 0) {
		snprintf(fix, sizeof(fix), "chown -R %s:%s %s", SYNC_USER,
		    SYNC_USER, dir);
		report(d, FAIL, "cache", fix, "cache_dir %s (%s) is owned by "
		    "neither %s nor root: readers refuse it", dir, desc,
		    SYNC_USER);
		snprintf(d->cache_fix, sizeof(d->cache_fix), "%s", fix);
	} else if (d->sync_uid != (uid_t)-1 && sb.st_uid != d->sync_uid) {
		snprintf(fix, sizeof(fix), "chown -R %s:%s %s", SYNC_USER,
		    SYNC_USER, dir);
		report(d, WARN, "cache", fix, "cache_dir %s (%s) is not owned "
		    "by %s: the sync service cannot write it", dir, desc,
		    SYNC_USER);
	} else if (d->sync_gid != (gid_t)-1 && sb.st_gid != d->sync_gid) {
		snprintf(fix, sizeof(fix), "chgrp -R %s %s && chmod 2750 %s",
		    SYNC_USER, dir, dir);
		report(d, WARN, "cache", fix, "cache_dir %s (%s) is not in "
		    "group %s", dir, desc, SYNC_USER);
	} else if ((sb.st_mode & 07777) != 02750) {
		snprintf(fix, sizeof(fix), "chmod 2750 %s", dir);
		report(d, WARN, "cache", fix, "cache_dir %s (%s): expected "
		    "2750 (setgid, group read, nothing for others)", dir, desc);
	} else {
		report(d, OK, "cache", NULL, "cache_dir %s (%s)", dir, desc);
	}
	gid = d->sync_gid != (gid_t)-1 ? d->sync_gid : sb.st_gid;
	check_old_layout(d, dir);
	check_writer_dir(d, dir);
	check_cache_file(d, dir, "snapshot.mdb", 0640, gid);
	check_cache_file(d, dir, "state", 0640, gid);
}

void
check_groups(struct doctor *d)
{
	static const char *const services[] = { "www-data", "postgres",
	    "nginx" };
	char fix[FIX_MAX];
	size_t i;
	struct group *gr;

	if (d->sync_gid == (gid_t)-1)
		return;
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		struct passwd *pw = getpwnam(services[i]);
		bool member = false;
		char **m;

		if (pw == NULL)
			continue;
		if (pw->pw_gid == d->sync_gid)
			member = true;
		gr = getgrgid(d->sync_gid);
		for (m = gr != NULL ? gr->gr_mem : NULL; !member && m != NULL &&
		    *m != NULL; m++)
			if (strcmp(*m, services[i]) == 0)
				member = true;
		snprintf(fix, sizeof(fix), "adduser %s %s, then restart the "
		    "service", services[i], SYNC_USER);
		if (member)
			report(d, OK, "group", NULL, "%s is in group %s",
			    services[i], SYNC_USER);
		else
			report(d, WARN, "group", fix, "%s is not in group %s: "
			    "pam_aiven in its processes cannot read the cache",
			    services[i], SYNC_USER);
	}
}

void
check_fresh(struct doctor *d, struct aivenauth_ctx *ctx)
{
	struct aivenauth_cache_info in;
	struct sync_state ss;
	enum aivenauth_status st;
	const char *ms = aivenauth_config_get(ctx, "max_stale");
	int64_t max_stale = 0, age, now = (int64_t)time(NULL);
	char tb[32];

	if (ms == NULL || !parse_i64(ms, 0, INT64_MAX, &max_stale))
		max_stale = 0;
	memset(&in, 0, sizeof(in));
	st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDONLY);
	if (st == AIVENAUTH_OK)
		st = aivenauth_cache_info(ctx, &in);
	if (st != AIVENAUTH_OK) {
		/* Syncing cannot help while cache_dir itself is refused: the
		 * sync refuses it too (exit 77). */
		report(d, FAIL, "fresh", d->cache_fix[0] != '\0' ?
		    d->cache_fix : d->follower ? "systemctl enable --now "
		    "aivenauth-follow.service" : sync_fix(d, true),
		    "cannot read the cache: %s", aivenauth_strerror(st));
		return;
	}
	if (sync_state_read(ctx, &ss) && !ss.success)
		report(d, WARN, "fresh", ss.unit ? "journalctl -u "
		    "aivenauth-sync.service" : "it was run by hand, not by "
		    "aivenauth-sync.service: run it again with -v to see why",
		    "the last sync attempt (%s) failed: %s",
		    fmt_time(ss.time, tb), ss.error[0] != '\0' ? ss.error :
		    "unknown error");
	if (in.sync_time == 0 || in.generation == 0) {
		report(d, FAIL, "fresh", d->cache_fix[0] != '\0' ?
		    d->cache_fix : d->follower ? "runuser -u aivenauth "
		    "-- aivenctl follow --once" : sync_fix(d, false),
		    "the cache was never synced: every login is refused");
		return;
	}
	age = now - in.sync_time;
	if (max_stale != 0 && age > max_stale)
		report(d, FAIL, "fresh", d->follower ? "systemctl status "
		    "aivenauth-follow.service here, and the publisher's "
		    "aivenauth-sync.timer" : "systemctl status "
		    "aivenauth-sync.timer aivenauth-sync.service",
		    "last good sync %s, %" PRId64
		    " s ago, older than max_stale (%" PRId64 " s): logins are "
		    "refused as cache-stale", fmt_time(in.sync_time, tb), age,
		    max_stale);
	else if (age > 600)
		report(d, WARN, "fresh", "systemctl status aivenauth-sync.timer",
		    "last good sync %" PRId64 " s ago: a revoked token keeps "
		    "working here until the next sync", age);
	else
		report(d, OK, "fresh", NULL, "last good sync %" PRId64 " s ago "
		    "(max_stale %" PRId64 "), %zu users, %zu tokens, %zu "
		    "enrolled", age, max_stale, in.users, in.tokens,
		    in.enrolled);
}
