/*
 * mapcheck.h - what `aivenctl audit`, `doctor` and `inspect` say about
 * the local account map (aivenauth-accounts(5)), in one place.
 */
#ifndef AIVENCTL_MAPCHECK_H
#define AIVENCTL_MAPCHECK_H

#include "aivenctl.h"

enum mapcheck_kind {
	MAPCHECK_UNKNOWN_USER,  /* a name or id no synced user has */
	MAPCHECK_EMPTY_GLOB,    /* a glob no synced user's name matches */
	MAPCHECK_ROOT,          /* application users mapped to uid 0 */
	MAPCHECK_AMBIGUOUS,     /* an exact name several synced users hold:
	                           logins by it are refused (verify's
	                           map-ambiguous-name) */
};

/* One finding: the line, the entry concerned (NULL for MAPCHECK_ROOT) and
 * a sentence without the file name. */
typedef void mapcheck_fn(void *arg, enum mapcheck_kind kind,
    const struct aivenauth_account_entry *e, const char *entry,
    const char *msg);

/* Check every line against the synced users (u, nu; u NULL: the user
 * checks are skipped) and for root.  Returns the number of findings. */
size_t mapcheck_run(const struct aivenauth_account_map *m,
    const struct aivenauth_user *u, size_t nu, mapcheck_fn *fn, void *arg);

/* Does the account name uid 0 on this host (root, or another name with
 * uid 0)? */
bool mapcheck_is_root(const char *account);

/* Does the line list the user only by exact name (no id, no glob of the
 * line matches)?  Such a line refuses the user when several synced users
 * hold the name (verify's map-ambiguous-name). */
bool mapcheck_by_name_only(const struct aivenauth_account_entry *e,
    const char *name, const char *id);
/* How many of the synced users (u, nu) hold name. */
size_t mapcheck_name_holders(const char *name, const struct aivenauth_user *u,
    size_t nu);

/* The check's stable name ("map-unknown-user", ...). */
const char *mapcheck_name(enum mapcheck_kind kind);

#endif
