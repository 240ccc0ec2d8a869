/*
 * dupnames_rec.c - the repeated-names record (dupnames_rec.h): computed
 * by the writer for every write that changes the users, and by a reader
 * only for a snapshot of an older writer that carries none.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "base/dupnames_rec.h"
#include "base/rec.h"

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

static int
cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, DUPNAMES_DIGEST);
}

static void
digest(const char *name, size_t len, unsigned char out[DUPNAMES_DIGEST])
{
	/* Cannot fail with these sizes (16-byte output, no key). */
	(void)crypto_generichash(out, DUPNAMES_DIGEST,
	    (const unsigned char *)name, len, NULL, 0);
}

/*
 * Every user's name, read in place from the memory map (valid while txn
 * is), sorted; a digest of each repeated one (once each), sorted.  One
 * array, one sort: 1.7-2.2 ms for 10,000 users on the 2-CPU test machine,
 * paid by the write, not by a login (docs/PERFORMANCE.md).
 */
enum aivenauth_status
dupnames_compute(struct aivenauth_ctx *ctx, MDB_txn *txn, struct buf *out)
{
	struct aivenauth_user u;
	struct sv name, email, *all = NULL, *np;
	enum aivenauth_status st = AIVENAUTH_ERR_NOMEM;
	unsigned char d[DUPNAMES_DIGEST];
	MDB_cursor *cur = NULL;
	MDB_stat ms;
	MDB_val k, v;
	size_t n = 0, cap = 0, i, start;
	uint64_t users;
	int rc;

	out->len = 0;
	if ((rc = mdb_stat(txn, ctx->cache->users, &ms)) != 0 ||
	    (rc = mdb_cursor_open(txn, ctx->cache->users, &cur)) != 0)
		return cache_err(ctx, rc, "reading users");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (!user_decode(v.mv_data, v.mv_size, &u, &name, &email)) {
			ctx_log(ctx, LOG_ERR, "cache %s: damaged user record",
			    ctx->cache->path);
			st = AIVENAUTH_ERR_CACHE_CORRUPT;
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
	if (rc != MDB_NOTFOUND) {
		st = cache_err(ctx, rc, "reading users");
		goto out;
	}
	users = ms.ms_entries;
	if (buf_add(out, &users, sizeof(users)) != AIVENAUTH_OK)
		goto out;
	if (n > 1)
		qsort(all, n, sizeof(*all), cmp_sv);
	for (i = 1; i < n; i++) {
		/* the second of a run of equal names: one digest per run */
		if (cmp_sv(&all[i], &all[i - 1]) != 0 ||
		    (i > 1 && cmp_sv(&all[i - 1], &all[i - 2]) == 0))
			continue;
		digest(all[i].p, all[i].n, d);
		if (buf_add(out, d, sizeof(d)) != AIVENAUTH_OK)
			goto out;
	}
	start = sizeof(users);
	if (out->len > start)
		qsort(out->data + start, (out->len - start) / DUPNAMES_DIGEST,
		    DUPNAMES_DIGEST, cmp_digest);
	st = AIVENAUTH_OK;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	free(all);
	if (st != AIVENAUTH_OK)
		out->len = 0;
	return st;
}

bool
dupnames_rec_valid(const void *rec, size_t len, uint64_t *users)
{
	if (len < sizeof(*users) || (len - sizeof(*users)) % DUPNAMES_DIGEST != 0)
		return false;
	memcpy(users, rec, sizeof(*users));
	return true;
}

bool
dupnames_rec_has(const void *rec, size_t reclen, const char *name,
    size_t len)
{
	unsigned char d[DUPNAMES_DIGEST];
	const unsigned char *p = (const unsigned char *)rec + sizeof(uint64_t);
	size_t n = (reclen - sizeof(uint64_t)) / DUPNAMES_DIGEST;

	if (n == 0)
		return false;   /* the usual case: nobody shares a name */
	digest(name, len, d);
	return bsearch(d, p, n, DUPNAMES_DIGEST, cmp_digest) != NULL;
}
