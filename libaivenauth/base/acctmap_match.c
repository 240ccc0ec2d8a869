/*
 * acctmap_match.c - query a parsed local account map (acctmap.c): find an
 * account's line (binary search of the sorted lines), and say whether it
 * lists an application user (by id, exact name or glob) and admits a
 * client address.  This is what a login runs; parsing is not.
 */
#include <stdlib.h>
#include <string.h>

#include "base/acctmap.h"

#define ID_HEX 11      /* "u" + 11 hex digits: the API's user ids */

bool
aivenauth_account_user_is_id(const char *e)
{
	size_t i;

	if (e == NULL || e[0] != 'u')
		return false;
	for (i = 1; i <= ID_HEX; i++)
		if (!((e[i] >= '0' && e[i] <= '9') || (e[i] >= 'a' && e[i] <= 'f')))
			return false;
	return e[ID_HEX + 1] == '\0';
}

bool
aivenauth_account_user_is_glob(const char *e)
{
	return e != NULL && strpbrk(e, "*?") != NULL;
}

/* '*' any run, '?' one byte; iterative with one backtrack point, so a
 * pattern of many stars costs O(pattern x name), never exponential. */
static bool
glob_match(const char *pat, const char *s, size_t n)
{
	const char *star = NULL;
	size_t i = 0, mark = 0;

	while (i < n) {
		if (*pat == '*') {
			star = pat++;
			mark = i;
		} else if (*pat != '\0' && (*pat == '?' || *pat == s[i])) {
			pat++;
			i++;
		} else if (star != NULL) {
			pat = star + 1;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/* The whole line is looked at: the strongest match wins, so a user
 * listed both by name and by id is listed by id. */
enum acct_match
acct_line_lists(const struct acct_line *l, const char *name, size_t nlen,
    const char *id, size_t idlen)
{
	enum acct_match best = ACCT_MATCH_NONE;
	size_t i;

	for (i = 0; i < l->pub.n_users; i++) {
		const char *u = l->pub.users[i];

		if (aivenauth_account_user_is_id(u)) {
			if (idlen == strlen(u) && memcmp(u, id, idlen) == 0)
				return ACCT_MATCH_ID;
		} else if (aivenauth_account_user_is_glob(u)) {
			if (nlen > 0 && glob_match(u, name, nlen))
				best = ACCT_MATCH_GLOB;
		} else if (nlen > 0 && nlen == strlen(u) &&
		    memcmp(u, name, nlen) == 0) {
			if (best == ACCT_MATCH_NONE)
				best = ACCT_MATCH_NAME;
		}
	}
	return best;
}

bool
aivenauth_account_entry_lists(const struct aivenauth_account_entry *e,
    const char *user_name, const char *user_id)
{
	if (e == NULL)
		return false;
	/* pub is the first member of struct acct_line */
	return ACCT_MATCH_NONE != acct_line_lists(
	    (const struct acct_line *)(const void *)e,
	    user_name != NULL ? user_name : "",
	    user_name != NULL ? strlen(user_name) : 0,
	    user_id != NULL ? user_id : "", user_id != NULL ? strlen(user_id) : 0);
}

bool
acct_line_from_ok(const struct acct_line *l, const char *rhost)
{
	unsigned char addr[16];
	size_t i;

	if (l->n_from == 0)
		return true;
	if (rhost == NULL || !ip_parse(rhost, addr))
		return false;
	for (i = 0; i < l->n_from; i++)
		if (cidr_contains(&l->from[i], addr))
			return true;
	return false;
}

static int
cmp_key(const void *key, const void *elem)
{
	const struct acct_line *l = *(const struct acct_line *const *)elem;

	return strcmp((const char *)key, l->pub.account);
}

const struct acct_line *
acctmap_find(const struct aivenauth_account_map *m, const char *account)
{
	struct acct_line *const *hit;

	if (m == NULL || account == NULL || m->n == 0)
		return NULL;
	hit = bsearch(account, m->sorted, m->n, sizeof(*m->sorted), cmp_key);
	return hit != NULL ? *hit : NULL;
}

size_t
aivenauth_account_map_count(const struct aivenauth_account_map *m)
{
	return m != NULL ? m->n : 0;
}

const struct aivenauth_account_entry *
aivenauth_account_map_entry(const struct aivenauth_account_map *m, size_t i)
{
	return m != NULL && i < m->n ? &m->lines[i].pub : NULL;
}

const struct aivenauth_account_entry *
aivenauth_account_map_find(const struct aivenauth_account_map *m,
    const char *account)
{
	const struct acct_line *l = acctmap_find(m, account);

	return l != NULL ? &l->pub : NULL;
}
