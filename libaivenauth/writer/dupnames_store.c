/*
 * dupnames_store.c - the writer's side of the repeated-names record
 * (dupnames_store.h): computed in the transaction that changed the users,
 * so a snapshot never carries users and a record that disagree.
 */
#include <stdint.h>

#include "base/dupnames_rec.h"
#include "writer/dupnames_store.h"

enum aivenauth_status
dupnames_store(struct aivenauth_ctx *ctx, MDB_txn *txn)
{
	MDB_val k = { sizeof(DUPNAMES_KEY) - 1, DUPNAMES_KEY }, v;
	enum aivenauth_status st;
	struct buf b;

	buf_init(&b, DUPNAMES_MAX, false);
	if ((st = dupnames_compute(ctx, txn, &b)) == AIVENAUTH_OK) {
		v.mv_size = b.len;
		v.mv_data = b.data;
		st = cache_err(ctx, mdb_put(txn, ctx->cache->meta, &k, &v, 0),
		    "writing meta");
	}
	buf_free(&b);
	return st;
}

bool
dupnames_stored(struct aivenauth_ctx *ctx, MDB_txn *txn)
{
	MDB_val k = { sizeof(DUPNAMES_KEY) - 1, DUPNAMES_KEY }, v;

	return mdb_get(txn, ctx->cache->meta, &k, &v) == 0;
}
