/*
 * dupnames.h - which application user names more than one synced user
 * holds (SECURITY.md O4).  A name is a display name: an organization admin
 * can create a second "ci-runner", so a map entry by exact name must not
 * admit either of two users holding it (map-ambiguous-name).
 *
 * The users database is keyed by id, with no index by name: the writer
 * stores the set of repeated names beside the users whenever a write
 * changes them (base/dupnames_rec.h), and a login costs one lookup and one
 * binary search in the transaction of its decision.
 */
#ifndef AIVENAUTH_DUPNAMES_H
#define AIVENAUTH_DUPNAMES_H

#include <lmdb.h>

#include "base/cache.h"

/* Is name (not NUL-terminated) held by more than one user in the data of
 * txn?  Anything that prevents telling (no memory, a damaged record) is
 * logged and answers true: fail closed. */
bool dupnames_held_twice(struct aivenauth_ctx *ctx, MDB_txn *txn,
    const char *name, size_t len);
/* Passes over the users this context made itself (tests): only for data
 * without a record, once per published snapshot. */
unsigned long dupnames_builds(const struct aivenauth_ctx *ctx);
void dupnames_free(struct aivenauth_ctx *ctx);

#endif
