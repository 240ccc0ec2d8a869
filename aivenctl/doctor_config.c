/*
 * doctor_config.c - the doctor's checks of the configuration: the config
 * file, the admin token file, the aivenauth user and group.
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

void
check_config(struct doctor *d, struct aivenauth_ctx *ctx, const char *path,
    const char *why)
{
	struct stat sb;
	char desc[96], fix[FIX_MAX];
	const char *org;
	bool unsafe = false;

	if (lstat(path, &sb) != 0) {
		report(d, FAIL, "config", "create it, see aivenauth.conf(5) "
		    "(organization_id is required for sync)",
		    "%s: %s", path, strerror(errno));
		return;
	}
	if (S_ISLNK(sb.st_mode) || !S_ISREG(sb.st_mode)) {
		report(d, FAIL, "config", "make it a regular file (aivenauth "
		    "refuses symlinks)", "%s is not a regular file", path);
		return;
	}
	describe(&sb, desc);
	if ((sb.st_mode & 022) != 0) {
		snprintf(fix, sizeof(fix), "chmod go-w %s", path);
		report(d, FAIL, "config", fix, "%s (%s) is writable by group "
		    "or others: aivenauth refuses it", path, desc);
		unsafe = true;
	} else if (sb.st_uid != 0) {
		snprintf(fix, sizeof(fix), "chown root: %s", path);
		report(d, FAIL, "config", fix, "%s (%s) is not owned by root: "
		    "services (pam_aiven in www-data, postgres...) refuse it",
		    path, desc);
		unsafe = true;
	} else if ((sb.st_mode & 004) == 0) {
		snprintf(fix, sizeof(fix), "chmod 0644 %s", path);
		report(d, WARN, "config", fix, "%s (%s) is not world-readable: "
		    "non-root services that verify tokens cannot read it",
		    path, desc);
	} else {
		report(d, OK, "config", NULL, "%s (%s)", path, desc);
	}
	if (why != NULL) {
		unsigned lineno = 0;
		size_t plen = strlen(path);

		/* The file's safety, reported above with its fix, is why it
		 * did not load: one failure, not two. */
		if (unsafe)
			return;
		/* "PATH:N: what": the line to correct.  Otherwise the message
		 * names no line, and the fix does not pretend it does. */
		if (strncmp(why, path, plen) == 0 && why[plen] == ':')
			lineno = (unsigned)strtoul(why + plen + 1, NULL, 10);
		if (lineno != 0)
			snprintf(fix, sizeof(fix), "correct line %u of %s, see "
			    "aivenauth.conf(5)", lineno, path);
		else
			snprintf(fix, sizeof(fix), "see aivenauth.conf(5)");
		report(d, FAIL, "config", fix, "%s does not load: %s", path,
		    why);
		return;
	}
	org = aivenauth_config_get(ctx, "organization_id");
	if (org == NULL || *org == '\0')
		report(d, FAIL, "config", "set organization_id in the config "
		    "file", "organization_id is not set: sync cannot run");
}

void
check_token_file(struct doctor *d, struct aivenauth_ctx *ctx)
{
	const char *path = aivenauth_config_get(ctx, "api_token_file");
	struct stat sb;
	char desc[96], fix[FIX_MAX];

	if (path == NULL)
		return;
	if (d->follower) {
		/* Fleet mode exists so that followers hold no admin token. */
		if (lstat(path, &sb) != 0) {
			report(d, OK, "token", NULL, "no api_token_file (%s): a "
			    "fleet follower needs no Aiven credential", path);
		} else {
			snprintf(fix, sizeof(fix), "shred -u %s (the publisher "
			    "holds the organization-admin token)", path);
			report(d, WARN, "token", fix, "api_token_file %s exists "
			    "on a fleet follower, which never uses it: an "
			    "admin credential on every host is what fleet mode "
			    "avoids", path);
		}
		return;
	}
	if (lstat(path, &sb) != 0) {
		snprintf(fix, sizeof(fix), "install -o %s -m 0600 /dev/null %s "
		    "&& editor %s", SYNC_USER, path, path);
		report(d, FAIL, "token", fix, "api_token_file %s: %s", path,
		    strerror(errno));
		return;
	}
	describe(&sb, desc);
	if (S_ISLNK(sb.st_mode) || !S_ISREG(sb.st_mode)) {
		report(d, FAIL, "token", "make it a regular file",
		    "api_token_file %s is not a regular file", path);
	} else if ((sb.st_mode & 077) != 0) {
		snprintf(fix, sizeof(fix), "chmod 0600 %s", path);
		report(d, FAIL, "token", fix, "api_token_file %s (%s) is "
		    "readable or writable by others: aivenauth refuses it",
		    path, desc);
	} else if (d->sync_uid != (uid_t)-1 && sb.st_uid != d->sync_uid) {
		snprintf(fix, sizeof(fix), "chown %s %s", SYNC_USER, path);
		report(d, FAIL, "token", fix, "api_token_file %s (%s) is not "
		    "owned by %s: the sync service (User=%s) cannot use it",
		    path, desc, SYNC_USER, SYNC_USER);
	} else {
		report(d, OK, "token", NULL, "api_token_file %s (%s)", path,
		    desc);
	}
}

void
check_sync_user(struct doctor *d)
{
	struct passwd *pw = getpwnam(SYNC_USER);
	struct group *gr = getgrnam(SYNC_USER);

	d->sync_uid = pw != NULL ? pw->pw_uid : (uid_t)-1;
	d->sync_gid = gr != NULL ? gr->gr_gid : (gid_t)-1;
	if (pw == NULL || gr == NULL)
		report(d, FAIL, "user", "systemd-sysusers aivenauth.conf, or "
		    "adduser --system --group --home /var/lib/aivenauth "
		    "--no-create-home aivenauth",
		    "no %s %s: the sync service runs as it and readers are in "
		    "its group", pw == NULL ? "user" : "group", SYNC_USER);
	else
		report(d, OK, "user", NULL, "user and group %s (%u:%u)",
		    SYNC_USER, (unsigned)pw->pw_uid, (unsigned)gr->gr_gid);
}
