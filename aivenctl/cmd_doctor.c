/*
 * cmd_doctor.c - aivenctl doctor [--offline] [--root DIR]: check this host
 * end to end, one line per finding ("ok", "warn" or "fail", what was seen
 * and, unless ok, the fix):
 *
 *   config    the config file: present, regular, owner root, not
 *             writable by others, readable by services, valid
 *   token     api_token_file: present, owned by the sync user, 0600
 *   user      the aivenauth user and group exist
 *   cache     cache_dir, snapshot.mdb, state, writer/: owner, group,
 *             modes; the first layout (a lock.mdb shared with readers)
 *   group     service users that exist (www-data, postgres, nginx) are
 *             in the cache's group, or they cannot verify
 *   fresh     the last good sync vs max_stale, and the last attempt
 *   api       the API answers the admin token (skipped with --offline;
 *             run as the token file's owner when started as root)
 *   pam       services in /etc/pam.d that use pam_aiven (read only)
 *   saslauthd -c in /etc/default/saslauthd* (its cache outlives a
 *             revocation)
 *   dovecot   auth_cache_size in /etc/dovecot (the same)
 *   fleet     with fleet = publish or follow: the keys, etcd, the
 *             publisher's heartbeat, a follower caught up (doctor_fleet.c)
 *
 * Nothing is changed.  --root DIR reads /etc/pam.d, /etc/default and
 * /etc/dovecot under DIR (an image or a chroot).  Exit 0: no "fail";
 * 1: at least one "fail"; otherwise a sysexits code.
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
#include "fleetview.h"
#include "ops.h"

#define LINE_MAX_LEN 4096

void
report(struct doctor *d, enum level lv, const char *check, const char *fix,
    const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warn", "fail" };
	char msg[FIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lv == OK)
		d->n_ok++;
	else if (lv == WARN)
		d->n_warn++;
	else
		d->n_fail++;
	if (d->json != NULL) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "level",
		    names[lv], "check", check, "message", msg, "fix",
		    json_str(lv != OK ? fix : NULL));

		if (o == NULL || json_array_append_new(d->json, o) != 0)
			d->nomem = true;
		return;
	}
	/* Messages quote files, configs and etcd values: never raw. */
	if (lv == OK || fix == NULL)
		print_visible(stdout, "%-4s  %-9s %s", names[lv], check, msg);
	else
		print_visible(stdout, "%-4s  %-9s %s; fix: %s", names[lv],
		    check, msg, fix);
	putchar('\n');
}

static const char *
owner_name(uid_t uid, char buf[static 32])
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, 32, "%s", pw->pw_name);
	else
		snprintf(buf, 32, "%u", (unsigned)uid);
	return buf;
}

static const char *
group_name(gid_t gid, char buf[static 32])
{
	struct group *gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, 32, "%s", gr->gr_name);
	else
		snprintf(buf, 32, "%u", (unsigned)gid);
	return buf;
}

/* "owner:group mode" of a file for messages. */
static const char *
describe(const struct stat *sb, char buf[static 96])
{
	char o[32], gname[32];

	snprintf(buf, 96, "%s:%s %04o", owner_name(sb->st_uid, o),
	    group_name(sb->st_gid, gname), (unsigned)(sb->st_mode & 07777));
	return buf;
}

static void
check_config(struct doctor *d, struct aivenauth_ctx *ctx, const char *path,
    bool loaded)
{
	struct stat sb;
	char desc[96], fix[FIX_MAX];
	const char *org;

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
	} else if (sb.st_uid != 0) {
		snprintf(fix, sizeof(fix), "chown root: %s", path);
		report(d, FAIL, "config", fix, "%s (%s) is not owned by root: "
		    "services (pam_aiven in www-data, postgres...) refuse it",
		    path, desc);
	} else if ((sb.st_mode & 004) == 0) {
		snprintf(fix, sizeof(fix), "chmod 0644 %s", path);
		report(d, WARN, "config", fix, "%s (%s) is not world-readable: "
		    "non-root services that verify tokens cannot read it",
		    path, desc);
	} else {
		report(d, OK, "config", NULL, "%s (%s)", path, desc);
	}
	if (!loaded) {
		report(d, FAIL, "config", "correct the line named above",
		    "%s is invalid (see the message above)", path);
		return;
	}
	org = aivenauth_config_get(ctx, "organization_id");
	if (org == NULL || *org == '\0')
		report(d, FAIL, "config", "set organization_id in the config "
		    "file", "organization_id is not set: sync cannot run");
}

static void
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

static void
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

/* One file of the cache: expected mode bits and group. */
static void
check_cache_file(struct doctor *d, const char *dir, const char *name,
    mode_t want, gid_t gid)
{
	char path[4096], desc[96], fix[FIX_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &sb) != 0) {
		report(d, FAIL, "cache", "runuser -u aivenauth -- aivenctl sync",
		    "%s: %s", path, strerror(errno));
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
		report(d, FAIL, "cache", "runuser -u aivenauth -- aivenctl sync",
		    "%s: %s", path, strerror(errno));
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

static void
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
		    "by group or others", dir, desc);
	} else if (d->sync_uid != (uid_t)-1 && sb.st_uid != d->sync_uid &&
	    sb.st_uid != 0) {
		snprintf(fix, sizeof(fix), "chown -R %s:%s %s", SYNC_USER,
		    SYNC_USER, dir);
		report(d, FAIL, "cache", fix, "cache_dir %s (%s) is owned by "
		    "neither %s nor root: readers refuse it", dir, desc,
		    SYNC_USER);
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

static void
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

static void
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
		report(d, FAIL, "fresh", d->follower ? "systemctl enable --now "
		    "aivenauth-follow.service" : "runuser -u aivenauth -- "
		    "aivenctl sync; systemctl enable --now aivenauth-sync.timer",
		    "cannot read the cache: %s", aivenauth_strerror(st));
		return;
	}
	if (sync_state_read(ctx, &ss) && !ss.success)
		report(d, WARN, "fresh", "journalctl -u aivenauth-sync.service",
		    "the last sync attempt (%s) failed: %s",
		    fmt_time(ss.time, tb), ss.error[0] != '\0' ? ss.error :
		    "unknown error");
	if (in.sync_time == 0 || in.generation == 0) {
		report(d, FAIL, "fresh", d->follower ? "runuser -u aivenauth "
		    "-- aivenctl follow --once" : "runuser -u aivenauth -- "
		    "aivenctl sync", "the cache was never synced: every login "
		    "is refused");
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

/*
 * The API check runs in a child: as root with a token file owned by the
 * sync user it switches to that user, whose file the library then trusts
 * (root must not trust a file another user can rewrite).  Its exit status
 * is the aivenauth_status.
 */
static void
check_api(struct doctor *d, const char *config, struct aivenauth_ctx *pctx)
{
	const char *path = aivenauth_config_get(pctx, "api_token_file");
	const char *url = aivenauth_config_get(pctx, "api_url");
	struct aivenauth_ctx *ctx = NULL;
	struct aivenauth_user *u = NULL;
	enum aivenauth_status st;
	struct stat sb;
	size_t n = 0;
	pid_t pid;
	int ws;

	if (d->offline) {
		report(d, OK, "api", NULL, "not checked (--offline)");
		return;
	}
	if (d->follower) {
		report(d, OK, "api", NULL, "not checked: a fleet follower makes "
		    "no API call to sync");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		report(d, FAIL, "api", "retry", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		if (geteuid() == 0 && getenv("AIVEN_AUTH_TOKEN") == NULL &&
		    path != NULL && stat(path, &sb) == 0 && sb.st_uid != 0) {
			struct passwd *pw = getpwuid(sb.st_uid);

			if (pw == NULL || setgroups(0, NULL) != 0 ||
			    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
				_exit(AIVENAUTH_ERR_CONFIG);
		}
		st = aivenauth_ctx_new(&ctx);
		if (st == AIVENAUTH_OK) {
			aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
			st = aivenauth_config_load(ctx, config, config != NULL);
		}
		if (st == AIVENAUTH_OK)
			st = aivenauth_api_users(ctx, &u, &n);
		aivenauth_users_free(u, n);
		aivenauth_ctx_free(ctx);
		fflush(stderr);
		_exit(st);
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	st = WIFEXITED(ws) ? (enum aivenauth_status)WEXITSTATUS(ws) :
	    AIVENAUTH_ERR_INTERNAL;
	if (st == AIVENAUTH_OK)
		report(d, OK, "api", NULL, "%s accepts the admin token",
		    nn(url));
	else
		report(d, FAIL, "api", st == AIVENAUTH_ERR_UNAUTHORIZED ||
		    st == AIVENAUTH_ERR_FORBIDDEN ? "put a valid organization "
		    "admin application token in api_token_file" :
		    st == AIVENAUTH_ERR_NO_CREDENTIALS ||
		    st == AIVENAUTH_ERR_UNSAFE_FILE ||
		    st == AIVENAUTH_ERR_CONFIG ? "see the token line above" :
		    "check api_url, DNS, proxy and firewall; retry",
		    "%s: %s", nn(url), aivenauth_strerror(st));
}

/* Next whitespace-separated word of *p (PAM: [..] brackets kept whole). */
static char *
next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	w = s;
	if (*s == '[') {
		while (*s != '\0' && *s != ']')
			s++;
		if (*s == ']')
			s++;
	}
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

static void
check_pam_file(struct doctor *d, const char *path, const char *service,
    unsigned *n_services)
{
	char line[LINE_MAX_LEN], uses[256] = "", fix[FIX_MAX];
	bool auth = false, account = false, optional = false;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *type, *control, *module, *hash;

		line[strcspn(line, "\r\n")] = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		if (strstr(line, "pam_aiven") == NULL)
			continue;
		type = next_word(&p);
		control = next_word(&p);
		module = next_word(&p);
		if (type == NULL || control == NULL || module == NULL)
			continue;
		if (*type == '-')
			type++;
		if (strstr(module, "pam_aiven") == NULL)
			continue;
		if (strcmp(type, "auth") == 0) {
			auth = true;
			if (strcmp(control, "optional") == 0)
				optional = true;
		} else if (strcmp(type, "account") == 0) {
			account = true;
		}
		if (strlen(uses) + strlen(type) + strlen(control) + 4 <
		    sizeof(uses))
			snprintf(uses + strlen(uses), sizeof(uses) -
			    strlen(uses), "%s%s %s", uses[0] != '\0' ? ", " :
			    "", type, control);
	}
	fclose(fp);
	if (uses[0] == '\0')
		return;
	(*n_services)++;
	if (strcmp(service, "dovecot") == 0)
		d->dovecot_pam = true;
	if (optional) {
		report(d, WARN, "pam", "use required, requisite, sufficient or "
		    "[success=done default=die ...]", "%s: auth optional "
		    "pam_aiven: a refused token does not fail the stack (%s)",
		    path, uses);
	} else if (auth && !account) {
		snprintf(fix, sizeof(fix), "add `account required "
		    "pam_aiven.so` to %s", path);
		report(d, WARN, "pam", fix, "%s: no account line: a token "
		    "revoked after authentication is not re-checked (%s)",
		    path, uses);
	} else {
		report(d, OK, "pam", NULL, "%s: %s", path, uses);
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
check_pam(struct doctor *d)
{
	char dir[4096], path[4096 + 256];
	unsigned n = 0;
	struct dirent *de;
	struct stat sb;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/etc/pam.d", d->root);
	if ((dp = opendir(dir)) == NULL) {
		report(d, WARN, "pam", "see pam_aiven(8)", "%s: %s", dir,
		    strerror(errno));
		return;
	}
	/* readdir order is arbitrary; collect and sort for stable output. */
	{
		char **names = NULL;
		size_t cnt = 0, cap = 0, i;

		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (cnt == cap) {
				char **nn2 = realloc(names, (cap = cap * 2 + 16) *
				    sizeof(*names));

				if (nn2 == NULL)
					break;
				names = nn2;
			}
			if ((names[cnt] = strdup(de->d_name)) == NULL)
				break;
			cnt++;
		}
		closedir(dp);
		qsort(names, cnt, sizeof(*names), cmp_names);
		for (i = 0; i < cnt; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				check_pam_file(d, path, names[i], &n);
			free(names[i]);
		}
		free(names);
	}
	if (n == 0)
		report(d, WARN, "pam", "add pam_aiven to the service's file in "
		    "/etc/pam.d, see pam_aiven(8)", "no PAM service in %s uses "
		    "pam_aiven", dir);
}

/*
 * saslauthd's -c caches credentials (hashed) for its -t timeout: a token
 * revoked in Aiven keeps working through it.  Flags in OPTIONS may be
 * grouped ("-cm /run/saslauthd"); letters after one that takes an argument
 * are that argument.
 */
static bool
sasl_cache_flag(const char *opts)
{
	static const char with_arg[] = "amnOstr";
	char buf[LINE_MAX_LEN], *p = buf, *w;

	snprintf(buf, sizeof(buf), "%s", opts);
	while ((w = next_word(&p)) != NULL) {
		if (w[0] != '-' || w[1] == '-' || w[1] == '\0')
			continue;
		for (w++; *w != '\0'; w++) {
			if (*w == 'c')
				return true;
			if (strchr(with_arg, *w) != NULL)
				break;
		}
	}
	return false;
}

static void
check_saslauthd(struct doctor *d)
{
	char dir[4096], path[4096 + 256], line[LINE_MAX_LEN], fix[FIX_MAX];
	struct dirent *de;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/etc/default", d->root);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		bool cache = false, seen = false;
		FILE *fp;

		if (strncmp(de->d_name, "saslauthd", 9) != 0 ||
		    strchr(de->d_name, '~') != NULL ||
		    strstr(de->d_name, ".dpkg-") != NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			char *v = line;

			while (*v == ' ' || *v == '\t')
				v++;
			if (strncmp(v, "OPTIONS=", 8) != 0)
				continue;
			v += 8;
			v[strcspn(v, "\r\n")] = '\0';
			/* Drop the shell quotes. */
			for (char *q = v; *q != '\0'; q++)
				if (*q == '"' || *q == '\'')
					*q = ' ';
			seen = true;
			if (sasl_cache_flag(v))
				cache = true;
		}
		fclose(fp);
		if (!seen)
			continue;
		snprintf(fix, sizeof(fix), "remove -c from OPTIONS in %s and "
		    "restart saslauthd", path);
		if (cache)
			report(d, FAIL, "saslauthd", fix, "%s: saslauthd -c caches "
			    "credentials: a revoked token keeps working until "
			    "the entry expires", path);
		else
			report(d, OK, "saslauthd", NULL, "%s: no credential "
			    "cache (-c)", path);
	}
	closedir(dp);
}

/* auth_cache_size = N in one dovecot file ("0" = off). */
static void
check_dovecot_file(struct doctor *d, const char *path)
{
	char line[LINE_MAX_LEN], fix[FIX_MAX];
	unsigned lineno = 0;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *k = line, *v, *e, *hash;

		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		while (*k == ' ' || *k == '\t')
			k++;
		if (strncmp(k, "auth_cache_size", 15) != 0)
			continue;
		v = k + 15;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strcspn(v, " \t\r\n");
		*e = '\0';
		if (*v == '\0' || strcmp(v, "0") == 0 || strcmp(v, "0k") == 0 ||
		    strcmp(v, "0M") == 0) {
			report(d, OK, "dovecot", NULL, "%s:%u: auth_cache_size "
			    "= %s (no cache)", path, lineno, *v != '\0' ? v : "0");
			continue;
		}
		snprintf(fix, sizeof(fix), "set auth_cache_size = 0 in %s "
		    "(or a short auth_cache_ttl) and reload dovecot", path);
		report(d, d->dovecot_pam ? FAIL : WARN, "dovecot", fix,
		    "%s:%u: auth_cache_size = %s: dovecot caches successful "
		    "logins, a revoked token keeps working for auth_cache_ttl",
		    path, lineno, v);
	}
	fclose(fp);
}

static void
check_dovecot(struct doctor *d)
{
	char path[4096 + 256], dir[4096];
	struct dirent **list = NULL;
	int n, i;

	snprintf(path, sizeof(path), "%s/etc/dovecot/dovecot.conf", d->root);
	check_dovecot_file(d, path);
	snprintf(dir, sizeof(dir), "%s/etc/dovecot/conf.d", d->root);
	if ((n = scandir(dir, &list, NULL, alphasort)) < 0)
		return;
	for (i = 0; i < n; i++) {
		size_t l = strlen(list[i]->d_name);

		if (l > 5 && strcmp(list[i]->d_name + l - 5, ".conf") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    list[i]->d_name);
			check_dovecot_file(d, path);
		}
		free(list[i]);
	}
	free(list);
}

int
cmd_doctor(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "offline", no_argument, NULL, 'o' },
		{ "root", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor d = { .root = "" };
	struct aivenauth_ctx *ctx = NULL;
	enum aivenauth_status st;
	const char *config;
	char defpath[4096];
	bool loaded;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage_print(stdout, "doctor");
			return 0;
		case 'o':
			d.offline = true;
			break;
		case 'r':
			d.root = strcmp(optarg, "/") == 0 ? "" : optarg;
			break;
		default:
			return opt_error("doctor", argv);
		}
	}
	if (optind != argc) {
		ctl_err("doctor takes no arguments");
		return usage_of("doctor");
	}
	if ((st = aivenauth_ctx_new(&ctx)) != AIVENAUTH_OK) {
		ctl_err("cannot initialise the library: %s",
		    aivenauth_strerror(st));
		return exit_code(st);
	}
	aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	config = g.config != NULL ? g.config : secure_getenv("AIVENAUTH_CONFIG");
	if (config == NULL || *config == '\0') {
		snprintf(defpath, sizeof(defpath), "%s/aivenauth/aivenauth.conf",
		    AIVENAUTH_SYSCONFDIR);
		config = NULL;
	}
	st = aivenauth_config_load(ctx, config, false);
	loaded = st == AIVENAUTH_OK;
	if (!loaded) {
		/* Go on with the defaults. */
		aivenauth_ctx_free(ctx);
		ctx = NULL;
		if ((st = aivenauth_ctx_new(&ctx)) != AIVENAUTH_OK) {
			rc = exit_code(st);
			goto out;
		}
		aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	}
	if (g.json && (d.json = json_array()) == NULL) {
		rc = EX_OSERR;
		goto out;
	}
	d.follower = loaded && fleet_mode_of(ctx) == FLEET_MODE_FOLLOW;
	check_config(&d, ctx, config != NULL ? config : defpath, loaded);
	check_sync_user(&d);
	check_token_file(&d, ctx);
	check_cache_dir(&d, ctx);
	check_groups(&d);
	check_fresh(&d, ctx);
	if (loaded)
		check_api(&d, config, ctx);
	check_pam(&d);
	check_saslauthd(&d);
	check_dovecot(&d);
	if (loaded)
		check_fleet(&d, ctx);
	if (d.nomem) {
		rc = EX_OSERR;
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:O, s:i, s:i, s:i}", "checks", d.json,
		    "ok", (int)d.n_ok, "warn", (int)d.n_warn, "fail",
		    (int)d.n_fail);

		rc = json_print(o);
		json_decref(o);
		if (rc != 0)
			goto out;
	} else {
		printf("%u ok, %u warn, %u fail\n", d.n_ok, d.n_warn, d.n_fail);
	}
	rc = d.n_fail != 0 ? 1 : 0;
out:
	json_decref(d.json);
	aivenauth_ctx_free(ctx);
	return rc;
}
