/*
 * doctor_revjournal.c - the doctor's check of the writer's revocation
 * journal (cache_dir/writer/revocations; libaivenauth/writer/
 * revjournal.h, SECURITY.md O1): the file the writer can always record a
 * revocation in, even on a full disk -- as long as it is private,
 * allocated in full, and not full of revocations the cache could not
 * store.
 *
 *   fail  the file is not a private regular file of the writer (the
 *         writer refuses it: `token revoke` cannot record anything), it
 *         cannot be read, or every slot is taken (`token revoke` fails)
 *   warn  revocations recorded but not stored in the cache yet (a full
 *         disk); not allocated yet; cannot be checked as this user;
 *         tokens revoked here that the API still lists (their DELETE
 *         keeps failing: refused here, still valid at the API)
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"

#define JOURNAL "revocations"

/* The command that stores what the journal holds. */
static const char *
store_fix(const struct doctor *d, const char *dir, char fix[static FIX_MAX])
{
	snprintf(fix, FIX_MAX, "free space in the file system of %s (df -h "
	    "%s), then %saivenctl sync (it stores the journaled revocations "
	    "and sends their DELETEs)", dir, dir, d->sync_uid != (uid_t)-1 ?
	    "runuser -u aivenauth -- " : "");
	return fix;
}

/* The file itself: what the writer checks before it writes a slot. */
static bool
check_file(struct doctor *d, const char *dir, const char *path)
{
	char desc[96], fix[FIX_MAX], own[32];
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		if (errno == EACCES)
			report(d, WARN, "revocations", "run aivenctl doctor as "
			    "root or aivenauth", "%s: cannot be checked as this "
			    "user (%s)", path, strerror(errno));
		else if (errno == ENOENT)
			report(d, WARN, "revocations", store_fix(d, dir, fix),
			    "%s does not exist yet: the writer makes it (allocated "
			    "in full) when it opens the cache; until then a "
			    "revocation made while the disk is full is not "
			    "recorded", path);
		else
			report(d, FAIL, "revocations", "check the file system",
			    "%s: %s", path, strerror(errno));
		return false;
	}
	describe(&sb, desc);
	if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		snprintf(fix, sizeof(fix), "rm %s (not a journal; the next "
		    "aivenctl sync makes a new one)", path);
		report(d, FAIL, "revocations", fix, "%s (%s) is not a regular "
		    "file with one link: the writer refuses it, and `token "
		    "revoke` cannot record a revocation", path, desc);
		return false;
	}
	if (sb.st_uid != 0 && (d->sync_uid == (uid_t)-1 ||
	    sb.st_uid != d->sync_uid)) {
		snprintf(fix, sizeof(fix), "chown %s %s && chmod 0600 %s",
		    d->sync_uid != (uid_t)-1 ? SYNC_USER : "root", path, path);
		report(d, FAIL, "revocations", fix, "%s (%s) is owned by %s, "
		    "neither %s nor root: the writer refuses it, and `token "
		    "revoke` cannot record a revocation", path, desc,
		    owner_name(sb.st_uid, own), SYNC_USER);
		return false;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(fix, sizeof(fix), "chmod 0600 %s", path);
		report(d, FAIL, "revocations", fix, "%s (%s) is open to group "
		    "or others (must be 0600): the writer refuses it, and "
		    "`token revoke` cannot record a revocation", path, desc);
		return false;
	}
	/* Its size is the library's business (it grows the file to its
	 * slots when it opens it); what matters here is that every byte of
	 * it owns a disk block, so that recording needs none. */
	if (sb.st_size == 0 || (int64_t)sb.st_blocks * 512 < sb.st_size)
		report(d, WARN, "revocations", store_fix(d, dir, fix), "%s "
		    "(%s) is not allocated in full (%" PRId64 " of %" PRId64
		    " bytes): on a full disk a revocation may not be recorded; "
		    "the writer allocates it when it opens the cache", path,
		    desc, (int64_t)sb.st_blocks * 512, (int64_t)sb.st_size);
	return true;
}

static void
check_journal(struct doctor *d, struct aivenauth_ctx *ctx)
{
	const char *dir = aivenauth_config_get(ctx, "cache_dir");
	struct aivenauth_revocation_journal rj;
	enum aivenauth_status st;
	char path[4352], fix[FIX_MAX], tb[32], names[16 * 160];
	size_t listed;
	bool lost;
	struct stat sb;

	if (dir == NULL || d->follower)
		return;         /* a follower runs no token command */
	snprintf(path, sizeof(path), "%s/writer", dir);
	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return;         /* no cache yet: the cache checks say so */
	snprintf(path, sizeof(path), "%s/writer/%s", dir, JOURNAL);
	if (!check_file(d, dir, path))
		return;
	st = aivenauth_revocation_journal_info(ctx, &rj);
	if (st != AIVENAUTH_OK) {
		report(d, st == AIVENAUTH_ERR_CACHE_ACCESS ? WARN : FAIL,
		    "revocations", st == AIVENAUTH_ERR_CACHE_ACCESS ? "run "
		    "aivenctl doctor as root or aivenauth" : "see the error "
		    "above; fix the file's owner and mode (chmod 0600)",
		    "%s: cannot be read: %s", path, aivenauth_strerror(st));
		return;
	}
	if (aivenauth_revocation_overflow(ctx, &listed, &lost, false) !=
	    AIVENAUTH_OK) {
		listed = 0;
		lost = false;
	}
	if (listed > 0)
		report(d, FAIL, "revocations", store_fix(d, dir, fix),
		    "%s: overflow mark set: %zu revocation(s) found the journal "
		    "full and wait for a free slot (%s); each is journaled, "
		    "stored and deleted at the API once there is one; nothing "
		    "is published (readers answer cache-unavailable) until "
		    "then", path, listed,
		    ctl_overflow_named_str(ctx, names, sizeof(names)));
	if (lost)
		report(d, FAIL, "revocations", "confirm at the API (the Aiven "
		    "console) that every token meant to be revoked is gone, "
		    "then aivenctl token revoke --clear-overflow", "%s: "
		    "overflow mark set: at least one revocation found the "
		    "journal full and could not even be named; nothing is "
		    "published (readers answer cache-unavailable) until the "
		    "mark is cleared", path);
	if (rj.pending >= rj.slots)
		report(d, FAIL, "revocations", store_fix(d, dir, fix), "%s: "
		    "full, %zu revocations recorded that the cache could not "
		    "store (oldest %s): `token revoke` fails until they are "
		    "stored", path, rj.pending, fmt_time(rj.oldest, tb));
	else if (rj.pending > 0)
		report(d, WARN, "revocations", store_fix(d, dir, fix), "%s: "
		    "%zu revocation(s) recorded, not yet stored in the cache "
		    "or confirmed by the API (oldest %s; %zu of %zu slots "
		    "free)", path, rj.pending, fmt_time(rj.oldest, tb),
		    rj.slots - rj.pending, rj.slots);
	else
		report(d, OK, "revocations", NULL, "%s: none pending (%zu "
		    "slots, allocated)%s", path, rj.slots, rj.torn > 0 ?
		    "; a slot torn by a crash is freed by the next write" : "");
}

/* Revoked here, still listed by the API at the last sync. */
static void
check_unconfirmed(struct doctor *d, struct aivenauth_ctx *ctx)
{
	enum aivenauth_status st;
	size_t n;
	int64_t oldest;
	char tb[32];

	if (d->follower)
		return;         /* the publisher sends the DELETEs */
	if ((st = unconfirmed_revocations(ctx, &n, &oldest)) != AIVENAUTH_OK)
		return;         /* no cache: the cache checks say so */
	if (n > 0)
		report(d, WARN, "revocations", "check the API and the sync's "
		    "log (`aivenctl sync -v`), or revoke them in the Aiven "
		    "console", "%zu token(s) revoked here are still listed by "
		    "the API (DELETE not confirmed since %s): refused here, "
		    "still valid at the API", n, fmt_time(oldest, tb));
	else
		report(d, OK, "revocations", NULL, "every revocation made here "
		    "is confirmed by the API");
}

void
check_revjournal(struct doctor *d, struct aivenauth_ctx *ctx)
{
	check_journal(d, ctx);
	check_unconfirmed(d, ctx);
}
