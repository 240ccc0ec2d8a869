/*
 * mapcheck.c - see mapcheck.h.  The map holds names, not ids, so an
 * application user renamed or deleted in Aiven leaves a line that admits
 * nobody (or, worse, whoever takes the name next): say so.  A name two
 * users hold admits neither (verify refuses it, map-ambiguous-name): say
 * which ids hold it.  And a line for root is legitimate but worth a
 * second look every time.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "mapcheck.h"

const char *
mapcheck_name(enum mapcheck_kind kind)
{
	switch (kind) {
	case MAPCHECK_UNKNOWN_USER:
		return "map-unknown-user";
	case MAPCHECK_EMPTY_GLOB:
		return "map-empty-glob";
	case MAPCHECK_ROOT:
		return "map-root";
	case MAPCHECK_AMBIGUOUS:
		return "map-ambiguous-name";
	}
	return "map";
}

bool
mapcheck_is_root(const char *account)
{
	struct passwd *pw;

	if (strcmp(account, "root") == 0)
		return true;
	pw = getpwnam(account);
	return pw != NULL && pw->pw_uid == 0;
}

/* Is entry (a name, an id or a glob) matched by some synced user? */
static bool
known(const char *entry, const struct aivenauth_user *u, size_t nu)
{
	struct aivenauth_account_entry one = { 0 };
	const char *users[1] = { entry };
	size_t i;

	one.users = users;
	one.n_users = 1;
	for (i = 0; i < nu; i++)
		if (aivenauth_account_entry_lists(&one, u[i].name, u[i].user_id))
			return true;
	return false;
}

/* An exact-name entry (not an id, not a glob) several users hold: the
 * ids, comma-separated, into ids; how many hold it. */
static size_t
holders(const char *entry, const struct aivenauth_user *u, size_t nu,
    char *ids, size_t size)
{
	size_t i, count = 0, len = 0;
	int w;

	ids[0] = '\0';
	if (aivenauth_account_user_is_id(entry) ||
	    aivenauth_account_user_is_glob(entry))
		return 0;
	for (i = 0; i < nu; i++) {
		if (u[i].name == NULL || strcmp(u[i].name, entry) != 0)
			continue;
		count++;
		w = snprintf(ids + len, size - len, "%s%s", len != 0 ? ", " : "",
		    u[i].user_id);
		if (w > 0 && (size_t)w < size - len)
			len += (size_t)w;
	}
	return count;
}

bool
mapcheck_by_name_only(const struct aivenauth_account_entry *e,
    const char *name, const char *id)
{
	struct aivenauth_account_entry one = { 0 };
	const char *users[1];
	size_t j;

	if (!aivenauth_account_entry_lists(e, name, id))
		return false;
	one.users = users;
	one.n_users = 1;
	for (j = 0; j < e->n_users; j++) {
		if (!aivenauth_account_user_is_id(e->users[j]) &&
		    !aivenauth_account_user_is_glob(e->users[j]))
			continue;
		users[0] = e->users[j];
		if (aivenauth_account_entry_lists(&one, name, id))
			return false;
	}
	return true;
}

size_t
mapcheck_name_holders(const char *name, const struct aivenauth_user *u,
    size_t nu)
{
	size_t i, count = 0;

	for (i = 0; name != NULL && name[0] != '\0' && i < nu; i++)
		if (u[i].name != NULL && strcmp(u[i].name, name) == 0)
			count++;
	return count;
}

size_t
mapcheck_run(const struct aivenauth_account_map *m,
    const struct aivenauth_user *u, size_t nu, mapcheck_fn *fn, void *arg)
{
	size_t i, j, n = 0, count;
	char msg[512], ids[256];

	for (i = 0; i < aivenauth_account_map_count(m); i++) {
		const struct aivenauth_account_entry *e =
		    aivenauth_account_map_entry(m, i);

		if (mapcheck_is_root(e->account)) {
			snprintf(msg, sizeof(msg), "line %u maps %zu application "
			    "user entr%s to %s, which is uid 0: a valid token of "
			    "%s is a root login", e->line, e->n_users,
			    e->n_users == 1 ? "y" : "ies", e->account,
			    e->n_users == 1 ? "it" : "any of them");
			fn(arg, MAPCHECK_ROOT, e, NULL, msg);
			n++;
		}
		for (j = 0; u != NULL && j < e->n_users; j++) {
			const char *x = e->users[j];
			bool glob = aivenauth_account_user_is_glob(x);

			if ((count = holders(x, u, nu, ids, sizeof(ids))) > 1) {
				snprintf(msg, sizeof(msg), "line %u (%s): name "
				    "\"%s\" is held by %zu application users "
				    "(%s): names are display names, so logins by "
				    "it are refused (map-ambiguous-name); list the "
				    "one meant by its u-id", e->line, e->account,
				    x, count, ids);
				fn(arg, MAPCHECK_AMBIGUOUS, e, x, msg);
				n++;
				continue;
			}
			if (known(x, u, nu))
				continue;
			if (glob)
				snprintf(msg, sizeof(msg), "line %u (%s): glob "
				    "\"%s\" matches no application user of the "
				    "cache", e->line, e->account, x);
			else
				snprintf(msg, sizeof(msg), "line %u (%s): %s "
				    "\"%s\" is not an application user of the "
				    "cache (deleted, renamed, or a typo; whoever "
				    "is given the name later gets the line)",
				    e->line, e->account,
				    aivenauth_account_user_is_id(x) ? "id" :
				    "name", x);
			fn(arg, glob ? MAPCHECK_EMPTY_GLOB :
			    MAPCHECK_UNKNOWN_USER, e, x, msg);
			n++;
		}
	}
	return n;
}
