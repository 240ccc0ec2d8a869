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
	struct sv *names;        /* sorted (cmp_sv); each held by 2+ users;
	                            p allocated here */
	size_t n;
	unsigned long builds;
};

/* Byte order, then length: the order of the names' bytes as the cache
 * holds them (a name is compared as bytes everywhere in the map). */
static int
cmp_sv(const void *a, const void *b)
{
	const struct sv *x = a, *y = b;
	uint32_t n = x->n < y->n ? x->n : y->n;
	int c = n > 0 ? memcmp(x->p, y->p, n) : 0;

	if (c != 0)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static void
clear(struct dupnames *dn)
{
	size_t i;

	for (i = 0; i < dn->n; i++)
		free((char *)dn->names[i].p);
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

/*
 * Every user's name, sorted, then the repeated ones copied out (once
 * each).  The names are read in place from the memory map (valid while
 * txn is): one array, one sort, a copy only of the few repeated ones.
 * Measured on the 2-CPU test machine: 1.7-2.2 ms for 10,000 users (tens
 * of microseconds for a typical organization's few dozen), paid by the
 * first login by name after each sync, per context; the logins after it
 * cost a binary search (by name and by id measured equal, 4.2-4.6 us a
 * verify, in the same run).
 */
static bool
build(struct aivenauth_ctx *ctx, MDB_txn *txn, struct dupnames *dn)
{
	struct aivenauth_user u;
	struct sv name, email, *all = NULL, *dups = NULL, *np;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t n = 0, cap = 0, i, out = 0;
	bool ok = false;
	char *copy;
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
		if (name.n == 0)
			continue;    /* no name: a map entry never matches it */
		if (n == cap) {
			cap = cap != 0 ? cap * 2 : 64;
			if ((np = realloc(all, cap * sizeof(*all))) == NULL)
				goto out;
			all = np;
		}
		all[n++] = name;
	}
	if (rc != MDB_NOTFOUND)
		goto out;
	if (n > 1)
		qsort(all, n, sizeof(*all), cmp_sv);
	for (i = 1; i < n; i++) {
		if (cmp_sv(&all[i], &all[i - 1]) != 0 ||
		    (out > 0 && cmp_sv(&all[i], &dups[out - 1]) == 0))
			continue;
		if (out == 0 && (dups = malloc(n * sizeof(*dups))) == NULL)
			goto out;
		if ((copy = malloc(all[i].n)) == NULL)
			goto out;
		memcpy(copy, all[i].p, all[i].n);
		dups[out].p = copy;
		dups[out].n = all[i].n;
		out++;
	}
	ok = true;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	free(all);
	if (ok) {
		dn->names = dups;
		dn->n = out;
		dn->valid = true;
	} else {
		for (i = 0; i < out; i++)
			free((char *)dups[i].p);
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
	struct sv key = { name, (uint32_t)len };

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
	return dn->n > 0 && bsearch(&key, dn->names, dn->n, sizeof(*dn->names),
	    cmp_sv) != NULL;
refuse:
	ctx_log(ctx, LOG_ERR, "cannot tell whether an application user name "
	    "is held by several users (out of memory or a damaged cache); "
	    "refused");
	return true;
}
