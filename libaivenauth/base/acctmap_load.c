/*
 * acctmap_load.c - read the account map safely, and again only when it
 * changed.
 *
 * A long-lived host (sshd's PAM context pool, nginx auth_pam, the SASL
 * responder) must see an edit at its next login without a restart, and a
 * login must not pay for reading and parsing a 10,000-line file that did
 * not change.  So each verify makes one lstat(2) and compares the file's
 * identity with what was read: device, inode (a rename into place), size,
 * mtime and ctime to the nanosecond (an in-place rewrite, a chmod or
 * chown), mode and owner.  File systems stamp times from a coarse clock,
 * so a same-size rewrite within one tick of the last read would look
 * unchanged: a file modified less than RACY_SECONDS before it was read is
 * read again at each use until it is older (git's "racily clean" rule).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "base/acctmap.h"

#define RACY_SECONDS 2

struct acctmap_cache {
	char *path;
	struct stat id;                    /* of what was read */
	bool racy;                         /* modified just before the read */
	struct aivenauth_account_map *map;
	unsigned long reads;
};

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mode == b->st_mode &&
	    a->st_uid == b->st_uid &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static enum aivenauth_status
load(struct aivenauth_ctx *ctx, const char *path,
    struct aivenauth_account_map **mapp, struct stat *sb)
{
	enum aivenauth_status st;
	char *text = NULL;
	size_t len = 0;

	st = read_trusted_st(ctx, path, TRUST_MAP, ACCTMAP_MAX_FILE, &text,
	    &len, sb);
	if (st == AIVENAUTH_OK)
		st = aivenauth_account_map_parse(ctx, path, text, len, mapp);
	free(text);
	return st;
}

enum aivenauth_status
aivenauth_account_map_load(struct aivenauth_ctx *ctx, const char *path,
    struct aivenauth_account_map **mapp)
{
	struct stat sb;

	if (mapp != NULL)
		*mapp = NULL;
	if (ctx == NULL || mapp == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (path == NULL)
		path = ctx->cfg.account_map_file;
	if (path == NULL)
		return AIVENAUTH_ERR_INVALID;
	return load(ctx, path, mapp, &sb);
}

void
acctmap_cache_free(struct aivenauth_ctx *ctx)
{
	struct acctmap_cache *c = ctx->acctmap;

	if (c == NULL)
		return;
	aivenauth_account_map_free(c->map);
	free(c->path);
	free(c);
	ctx->acctmap = NULL;
}

unsigned long
acctmap_reads(const struct aivenauth_ctx *ctx)
{
	return ctx->acctmap != NULL ? ctx->acctmap->reads : 0;
}

enum aivenauth_status
acctmap_current(struct aivenauth_ctx *ctx,
    const struct aivenauth_account_map **out)
{
	const char *path = ctx->cfg.account_map_file;
	struct acctmap_cache *c = ctx->acctmap;
	struct aivenauth_account_map *m = NULL;
	enum aivenauth_status st;
	struct stat sb, now_sb;
	struct timespec now;

	*out = NULL;
	if (path == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (c != NULL && c->map != NULL && !c->racy &&
	    strcmp(c->path, path) == 0 && lstat(path, &now_sb) == 0 &&
	    same_file(&now_sb, &c->id)) {
		*out = c->map;
		return AIVENAUTH_OK;
	}
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return AIVENAUTH_ERR_NOMEM;
		ctx->acctmap = c;
	}
	/* Whatever happens now, the old map is gone: a map that became
	 * unreadable or invalid refuses, it does not keep the last one. */
	aivenauth_account_map_free(c->map);
	c->map = NULL;
	if (c->path == NULL || strcmp(c->path, path) != 0) {
		free(c->path);
		if ((c->path = strdup(path)) == NULL)
			return AIVENAUTH_ERR_NOMEM;
	}
	c->reads++;
	st = load(ctx, path, &m, &sb);
	if (st == AIVENAUTH_ERR_NOT_FOUND) {
		ctx_log(ctx, LOG_ERR, "account map %s does not exist (user_match "
		    "map needs it; see aivenauth-accounts(5))", path);
		st = AIVENAUTH_ERR_CONFIG;
	}
	if (st != AIVENAUTH_OK)
		return st;
	c->map = m;
	c->id = sb;
	clock_gettime(CLOCK_REALTIME, &now);
	/* mtime only: a rewrite moves it; a chmod or chown moves only
	 * ctime, and changes mode or owner, which are compared as such. */
	c->racy = sb.st_mtim.tv_sec + RACY_SECONDS >= now.tv_sec;
	*out = m;
	return AIVENAUTH_OK;
}
