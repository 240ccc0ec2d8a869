/*
 * doctor_accounts.c - the doctor's checks of the local account map
 * (aivenauth-accounts(5)): the map named by account_map_file and every
 * map a PAM service names with account_map= (read only).
 *
 *   accounts  present where user_match=map needs it; safe (no symlink,
 *             owner, mode) and valid, else the library's own message with
 *             FILE:LINE:COLUMN; lines naming application users the cache
 *             does not know; names several users hold (refused at
 *             login: map-ambiguous-name; the ids are named); lines that
 *             map application users to uid 0
 *
 * The PAM lines themselves (user_match=any and the rest) are
 * doctor_pam.c's; this file only reads which maps they name.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "doctor.h"
#include "mapcheck.h"

#define MAX_MAPS 16
#define ERRS_MAX 2048

struct map_use {
	char path[PATH_MAX];
	char service[256];      /* first PAM service that uses it with
	                           user_match=map, or "" */
};

struct capture {
	char buf[ERRS_MAX];
	size_t len;
};

static void
capture_fn(void *arg, int level, const char *msg)
{
	struct capture *c = arg;
	int n;

	if (level > LOG_WARNING)
		return;
	n = snprintf(c->buf + c->len, sizeof(c->buf) - c->len, "%s%s",
	    c->len != 0 ? "; " : "", msg);
	if (n > 0 && (size_t)n < sizeof(c->buf) - c->len)
		c->len += (size_t)n;
}

static void
add_use(struct map_use *u, size_t *n, const char *path, const char *service)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp(u[i].path, path) == 0) {
			if (u[i].service[0] == '\0' && service != NULL)
				snprintf(u[i].service, sizeof(u[i].service),
				    "%s", service);
			return;
		}
	}
	if (*n == MAX_MAPS)
		return;
	snprintf(u[*n].path, sizeof(u[*n].path), "%s", path);
	snprintf(u[*n].service, sizeof(u[*n].service), "%s",
	    service != NULL ? service : "");
	(*n)++;
}

/* Which maps the PAM services of root/etc/pam.d use (user_match=map,
 * account_map= or account_map_file=; the default otherwise). */
static void
scan_pam(struct doctor *d, const char *def, struct map_use *u, size_t *n)
{
	char dir[PATH_MAX], path[PATH_MAX * 2], line[LINE_MAX_LEN];
	struct dirent *e;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/etc/pam.d", d->root);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			char *p = line, *w, *hash, map[PATH_MAX] = "";
			bool uses_map = false, ours = false;

			line[strcspn(line, "\r\n")] = '\0';
			if ((hash = strchr(line, '#')) != NULL)
				*hash = '\0';
			while ((w = next_word(&p)) != NULL) {
				if (strstr(w, "pam_aiven") != NULL)
					ours = true;
				else if (ours && strcmp(w, "user_match=map") == 0)
					uses_map = true;
				else if (ours && strncmp(w, "account_map=", 12) == 0)
					snprintf(map, sizeof(map), "%s", w + 12);
				else if (ours && strncmp(w, "account_map_file=", 17) == 0)
					snprintf(map, sizeof(map), "%s", w + 17);
			}
			if (uses_map) {
				char rooted[PATH_MAX * 2];

				if (map[0] != '\0' && d->root[0] != '\0')
					snprintf(rooted, sizeof(rooted), "%s%s",
					    d->root, map);
				else
					snprintf(rooted, sizeof(rooted), "%s",
					    map[0] != '\0' ? map : def);
				add_use(u, n, rooted, e->d_name);
			}
		}
		fclose(fp);
	}
	closedir(dp);
}

struct finding_ctx {
	struct doctor *d;
	const char *path;
};

static void
map_finding(void *arg, enum mapcheck_kind kind,
    const struct aivenauth_account_entry *e, const char *entry,
    const char *msg)
{
	struct finding_ctx *f = arg;
	char fix[FIX_MAX];

	if (kind == MAPCHECK_ROOT)
		snprintf(fix, sizeof(fix), "keep a root line only for "
		    "break-glass users, narrowed with from= and scope=; "
		    "otherwise remove line %u of %s", e->line, f->path);
	else if (kind == MAPCHECK_AMBIGUOUS)
		snprintf(fix, sizeof(fix), "replace \"%s\" on line %u of %s "
		    "by the u-id of the application user meant (aivenctl user "
		    "list shows the ids)", entry, e->line, f->path);
	else
		snprintf(fix, sizeof(fix), "correct or remove the entry on "
		    "line %u of %s (aivenctl user list shows the names and "
		    "ids; aivenctl sync if the user is new)", e->line, f->path);
	report(f->d, WARN, "accounts", fix, "%s: %s", f->path, msg);
}

static void
check_one(struct doctor *d, struct aivenauth_ctx *ctx,
    const struct map_use *u, const struct aivenauth_user *users, size_t nu,
    bool have_users)
{
	struct aivenauth_account_map *m = NULL;
	struct capture cap = { .len = 0 };
	struct finding_ctx f = { d, u->path };
	enum aivenauth_status st;
	char fix[FIX_MAX];
	size_t findings;

	cap.buf[0] = '\0';
	aivenauth_set_log(ctx, capture_fn, &cap, LOG_WARNING);
	st = aivenauth_account_map_load(ctx, u->path, &m);
	aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	if (st == AIVENAUTH_ERR_NOT_FOUND) {
		if (u->service[0] != '\0') {
			snprintf(fix, sizeof(fix), "write the map (see "
			    "aivenauth-accounts(5)): install -m 0644 -o root "
			    "/dev/null %s, then one line per local account",
			    u->path);
			report(d, FAIL, "accounts", fix, "%s does not exist and "
			    "PAM service %s uses user_match=map: every login "
			    "through it is refused", u->path, u->service);
		} else {
			report(d, OK, "accounts", NULL, "no account map at %s "
			    "(only user_match=map uses one)", u->path);
		}
		return;
	}
	if (st != AIVENAUTH_OK) {
		snprintf(fix, sizeof(fix), "correct %s as the message says; "
		    "until then user_match=map refuses every login", u->path);
		report(d, FAIL, "accounts", fix, "%s", cap.len != 0 ? cap.buf :
		    aivenauth_strerror(st));
		return;
	}
	findings = mapcheck_run(m, have_users ? users : NULL, nu, map_finding,
	    &f);
	if (findings == 0)
		report(d, OK, "accounts", NULL, "%s: %zu line%s, valid, every "
		    "application user named is known%s", u->path,
		    aivenauth_account_map_count(m),
		    aivenauth_account_map_count(m) == 1 ? "" : "s",
		    have_users ? "" : " (not checked: cache unreadable)");
	aivenauth_account_map_free(m);
}

void
check_accounts(struct doctor *d, struct aivenauth_ctx *ctx)
{
	const char *def = aivenauth_config_get(ctx, "account_map_file");
	struct map_use uses[MAX_MAPS];
	struct aivenauth_user *users = NULL;
	bool have_users = false;
	size_t n = 0, nu = 0, i;

	if (def == NULL)
		return;
	add_use(uses, &n, def, NULL);
	scan_pam(d, def, uses, &n);
	/* The synced users, to name the entries nobody has.  Quietly
	 * without them: the cache checks report an unreadable cache. */
	aivenauth_set_log(ctx, NULL, NULL, 0);
	if (aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDONLY) == AIVENAUTH_OK &&
	    aivenauth_cache_users(ctx, &users, &nu) == AIVENAUTH_OK)
		have_users = true;
	aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	for (i = 0; i < n; i++)
		check_one(d, ctx, &uses[i], users, nu, have_users);
	aivenauth_users_free(users, nu);
}
