/*
 * dupnames_store.h - keep the repeated-names record (base/dupnames_rec.h)
 * right: every write transaction that adds, renames or removes a user
 * calls dupnames_store before it commits.
 */
#ifndef AIVENAUTH_DUPNAMES_STORE_H
#define AIVENAUTH_DUPNAMES_STORE_H

#include <lmdb.h>

#include "base/cache.h"

/* Work out the record from the users of txn and store it in meta. */
enum aivenauth_status dupnames_store(struct aivenauth_ctx *ctx, MDB_txn *txn);
/* Does the data of txn have a record yet (a cache of an older writer)? */
bool dupnames_stored(struct aivenauth_ctx *ctx, MDB_txn *txn);

#endif
