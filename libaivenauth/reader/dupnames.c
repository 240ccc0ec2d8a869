/*
 * dupnames.c - is a name held by more than one synced user, in the data
 * a decision reads (dupnames.h).
 *
 * The answer comes from the repeated-names record the writer stores beside
 * the users (base/dupnames_rec.h): one lookup and one binary search in the
 * decision's own read transaction, so it can never describe other data
 * than the token's record, whatever the process kept from earlier logins.
 *
 * A snapshot published by an older writer has no such record (until the
 * next write that changes a user, which any sync that changes one is).
 * Then the reader makes the record itself, in the same transaction, and
 * keeps it for the logins that follow keyed on the snapshot's random id
 * (meta "snap_id", new at every publication) read from that transaction —
 * never on what the process's memory looks like (an environment's address
 * is reused, a compact copy's transaction id is always 1).  A snapshot
 * without an id is never kept.  Refusing name entries outright would lock
 * out every map by name for the length of an upgrade; the pass is the
 * behaviour those hosts already had, and it is logged once per snapshot.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/dupnames_rec.h"
#include "reader/dupnames.h"

struct dupnames {
	unsigned char snap_id[SNAP_ID_BYTES];   /* what rec describes */
	bool valid;
	struct buf rec;         /* made here for a snapshot without one */
	unsigned long builds;
};

void
dupnames_free(struct aivenauth_ctx *ctx)
{
	if (ctx->dupnames == NULL)
		return;
	buf_free(&ctx->dupnames->rec);
	free(ctx->dupnames);
	ctx->dupnames = NULL;
}

unsigned long
dupnames_builds(const struct aivenauth_ctx *ctx)
{
	return ctx->dupnames != NULL ? ctx->dupnames->builds : 0;
}

static const unsigned char no_id[SNAP_ID_BYTES];

/* The record made here, for data that carries none (or a wrong one). */
static bool
fallback(struct aivenauth_ctx *ctx, MDB_txn *txn, const char *why,
    const char *name, size_t len, bool *held)
{
	struct dupnames *dn = ctx->dupnames;
	unsigned char id[SNAP_ID_BYTES];

	if (dn == NULL) {
		if ((dn = calloc(1, sizeof(*dn))) == NULL)
			return false;
		buf_init(&dn->rec, DUPNAMES_MAX, false);
		ctx->dupnames = dn;
		ctx->dupnames_free = dupnames_free;
	}
	meta_snap_id(ctx, txn, id);
	if (!dn->valid || memcmp(id, no_id, sizeof(id)) == 0 ||
	    memcmp(id, dn->snap_id, sizeof(id)) != 0) {
		dn->valid = false;
		dn->builds++;
		ctx_log(ctx, LOG_NOTICE, "cache %s %s: working out the "
		    "repeated application user names in this process (the "
		    "next sync that changes a user stores them)",
		    ctx->cache->path, why);
		if (dupnames_compute(ctx, txn, &dn->rec) != AIVENAUTH_OK)
			return false;
		memcpy(dn->snap_id, id, sizeof(id));
		dn->valid = memcmp(id, no_id, sizeof(id)) != 0;
	}
	*held = dupnames_rec_has(dn->rec.data, dn->rec.len, name, len);
	return true;
}

bool
dupnames_held_twice(struct aivenauth_ctx *ctx, MDB_txn *txn,
    const char *name, size_t len)
{
	MDB_val k = { sizeof(DUPNAMES_KEY) - 1, DUPNAMES_KEY }, v;
	MDB_stat ms;
	uint64_t users;
	bool held = true;
	int rc;

	rc = mdb_get(txn, ctx->cache->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		if (!fallback(ctx, txn, "carries no repeated-names record "
		    "(written by an older aivenauth)", name, len, &held))
			goto refuse;
		return held;
	}
	if (rc != 0)
		goto refuse;
	if (!dupnames_rec_valid(v.mv_data, v.mv_size, &users)) {
		ctx_log(ctx, LOG_ERR, "cache %s: damaged repeated-names record",
		    ctx->cache->path);
		goto refuse;
	}
	if (mdb_stat(txn, ctx->cache->users, &ms) != 0)
		goto refuse;
	if (ms.ms_entries != users) {
		/* Not made for these users: never trusted, redone. */
		if (!fallback(ctx, txn, "has a repeated-names record made for "
		    "other users", name, len, &held))
			goto refuse;
		return held;
	}
	return dupnames_rec_has(v.mv_data, v.mv_size, name, len);
refuse:
	ctx_log(ctx, LOG_ERR, "cannot tell whether an application user name "
	    "is held by several users (out of memory or a damaged cache); "
	    "refused");
	return true;
}
