/*
 * dupnames.c - the names more than one synced application user holds,
 * per cache version (dupnames.h).
 *
 * The version is what identifies the data a read transaction sees: the
 * LMDB environment (a new snapshot is a new one), its transaction id and
 * the state's generation.  Any change of those and the list is built
 * again, from the same transaction the decision reads, so the answer is
 * never about other data than the token's record.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/rec.h"
#include "reader/dupnames.h"

struct dupnames {
	MDB_env *env;
	size_t txnid;
	uint64_t generation;
	bool valid;
	char **names;            /* sorted; each held by 2+ users */
	size_t n;
	unsigned long builds;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
clear(struct dupnames *dn)
{
	size_t i;

	for (i = 0; i < dn->n; i++)
		free(dn->names[i]);
	free(dn->names);
	dn->names = NULL;
	dn->n = 0;
	dn->valid = false;
}

void
dupnames_free(struct aivenauth_ctx *ctx)
{
	if (ctx->dupnames == NULL)
		return;
	clear(ctx->dupnames);
	free(ctx->dupnames);
	ctx->dupnames = NULL;
}

unsigned long
dupnames_builds(const struct aivenauth_ctx *ctx)
{
	return ctx->dupnames != NULL ? ctx->dupnames->builds : 0;
}

/* Every user's name, sorted; then the repeated ones kept (once each). */
static bool
build(struct aivenauth_ctx *ctx, MDB_txn *txn, struct dupnames *dn)
{
	struct aivenauth_user u;
	struct sv name, email;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char **all = NULL, **dups = NULL, **np;
	const char *prev;
	size_t n = 0, cap = 0, i, out = 0;
	bool ok = false;
	int rc;

	clear(dn);
	dn->builds++;
	if (mdb_cursor_open(txn, ctx->cache->users, &cur) != 0)
		goto out;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (!user_decode(v.mv_data, v.mv_size, &u, &name, &email)) {
			ctx_log(ctx, LOG_ERR, "cache %s: damaged user record; "
			    "map entries by name are refused",
			    ctx->cache->path);
			goto out;
		}
		if (n == cap) {
			cap = cap != 0 ? cap * 2 : 64;
			if ((np = realloc(all, cap * sizeof(*all))) == NULL)
				goto out;
			all = np;
		}
		if ((all[n] = strndup((const char *)name.p, name.n)) == NULL)
			goto out;
		n++;
	}
	if (rc != MDB_NOTFOUND)
		goto out;
	if (n > 1)
		qsort(all, n, sizeof(*all), cmp_str);
	/* Keep the repeated names, once each, moved into dups (the rest
	 * is freed below).  prev stays valid: a moved name is not freed. */
	if (n > 0 && (dups = malloc(n * sizeof(*dups))) == NULL)
		goto out;
	prev = n > 0 ? all[0] : NULL;
	for (i = 1; i < n; i++) {
		char *nm = all[i];
		bool same = strcmp(nm, prev) == 0;

		/* An empty name is no name: a map entry never matches it. */
		if (same && nm[0] != '\0' &&
		    (out == 0 || strcmp(dups[out - 1], nm) != 0)) {
			dups[out++] = nm;
			all[i] = NULL;
		}
		prev = nm;
	}
	ok = true;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	for (i = 0; i < n; i++)
		free(all[i]);
	free(all);
	if (ok) {
		dn->names = dups;
		dn->n = out;
		dn->valid = true;
	} else {
		for (i = 0; i < out; i++)
			free(dups[i]);
		free(dups);
	}
	return ok;
}

bool
dupnames_held_twice(struct aivenauth_ctx *ctx, MDB_txn *txn,
    const struct cache_state *s, const char *name, size_t len)
{
	struct dupnames *dn = ctx->dupnames;
	MDB_env *env = mdb_txn_env(txn);
	size_t lo, hi, mid;
	int c;

	if (dn == NULL) {
		if ((dn = calloc(1, sizeof(*dn))) == NULL)
			goto refuse;
		ctx->dupnames = dn;
		ctx->dupnames_free = dupnames_free;
	}
	if (!dn->valid || dn->env != env || dn->txnid != mdb_txn_id(txn) ||
	    dn->generation != s->generation) {
		if (!build(ctx, txn, dn))
			goto refuse;
		dn->env = env;
		dn->txnid = mdb_txn_id(txn);
		dn->generation = s->generation;
	}
	lo = 0;
	hi = dn->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(name, dn->names[mid], len);
		if (c == 0 && dn->names[mid][len] != '\0')
			c = -1;     /* name is a proper prefix: it sorts first */
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
refuse:
	ctx_log(ctx, LOG_ERR, "cannot tell whether an application user name "
	    "is held by several users (out of memory or a damaged cache); "
	    "refused");
	return true;
}
