/*
 * dupnames_rec.h - the repeated-names record: which application user
 * names more than one user in a cache holds (SECURITY.md O4).
 *
 * The writer works it out whenever a write adds, renames or removes a
 * user (writer/apply.c, writer/cache_write.c) and stores it in meta under
 * DUPNAMES_KEY, in the same transaction as the users; a snapshot is a copy
 * of that data, so the record always describes the users beside it.  A
 * reader answers "is this name held twice?" with one lookup and one binary
 * search in the transaction of its decision (reader/dupnames.c).
 *
 * Layout: u64 (host order, like "state") the number of records in the
 * users database when it was computed, then one DUPNAMES_DIGEST-byte
 * BLAKE2b digest per repeated name, sorted by memcmp.  The count lets a
 * reader notice a record that does not describe the users beside it (a
 * write path that forgot it): it then does the pass itself.  A digest
 * collision could only make a name look repeated: a refusal, never an
 * admission.
 */
#ifndef AIVENAUTH_DUPNAMES_REC_H
#define AIVENAUTH_DUPNAMES_REC_H

#include <lmdb.h>

#include "base/cache.h"

#define DUPNAMES_KEY "dup_names"
#define DUPNAMES_DIGEST 16
/* A cap on the record (a million repeated names); bigger is refused. */
#define DUPNAMES_MAX (8 + ((size_t)1 << 20) * DUPNAMES_DIGEST)

/* The record for the users of txn into out (replacing its contents);
 * logs and fails on a damaged user record or no memory. */
enum aivenauth_status dupnames_compute(struct aivenauth_ctx *ctx,
    MDB_txn *txn, struct buf *out);
/* Is rec (len bytes) well-formed?  *users: the count it was made for. */
bool dupnames_rec_valid(const void *rec, size_t len, uint64_t *users);
/* Is name (len bytes) in the well-formed record rec? */
bool dupnames_rec_has(const void *rec, size_t reclen, const char *name,
    size_t len);

#endif
