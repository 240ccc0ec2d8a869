/*
 * revjournal.h - the writer's revocation journal (cache_dir/writer/
 * revocations, 0600): where `aivenctl token revoke` records a revocation
 * before anything else, in a file that already owns its disk blocks, so
 * that a full file system (which any local user with write access to it
 * can cause) cannot lose it (design.md section 2, "A revocation stands
 * until the API confirms it"; docs/DESIGN.md "The revocation journal").
 *
 * REVJ_SLOTS fixed slots of REVJ_SLOT bytes, allocated in full when the
 * writer opens its environment.  A slot is written with one pwrite and an
 * fdatasync; it carries a checksum, so a slot torn by a power loss reads
 * as torn, never as another token.  A slot is all zero when free.
 *
 * Every write transaction folds the journal in (revoke_fold.c): each
 * entry's token is stored revoked (the pending-revocation tombstone the
 * sync sends the DELETE for) in the same transaction, and the slot is
 * cleared once that commit is durable.  So no commit -- and no
 * publication, which is what lifts a withdrawal of the readers -- lacks a
 * journaled revocation.  Readers never read the journal.
 */
#ifndef AIVENAUTH_REVJOURNAL_H
#define AIVENAUTH_REVJOURNAL_H

#include <stdint.h>

#include "base/internal.h"

#define REVJ_FILE "revocations"
#define REVJ_SLOT 512           /* one disk sector: written whole or not */
#define REVJ_SLOTS 64
#define REVJ_SIZE (REVJ_SLOT * REVJ_SLOTS)
#define REVJ_MAGIC 0x314a5652u  /* "RVJ1" */

struct revj_entry {
	char prefix[AIVENAUTH_PREFIX_MAX + 1];
	char user_id[AIVENAUTH_ID_MAX + 1];
	int64_t time;
	/* 0: revoke now.  Else a scheduled revocation (`token rotate` with
	 * a grace): the token is refused from this time on; every write
	 * stores it as such (revoke_at), the sync sends the DELETE once due. */
	int64_t not_before;
};

enum revj_kind {
	REVJ_EMPTY,     /* all zero: free */
	REVJ_ENTRY,     /* a revocation, checksum good */
	REVJ_TORN,      /* anything else: a write cut short by a crash */
};

/* The codec (pure; tests/check_revjournal.c). */
bool revj_encode(const struct revj_entry *e, unsigned char slot[REVJ_SLOT]);
enum revj_kind revj_decode(const unsigned char slot[REVJ_SLOT],
    struct revj_entry *e);

/* The whole journal as read. */
struct revj {
	int fd;                 /* -1: no journal (none pending) */
	enum revj_kind kind[REVJ_SLOTS];
	struct revj_entry e[REVJ_SLOTS];
};

/*
 * Open (create = make it, allocated in full, if missing), lock (flock,
 * exclusive: between recorders, and against a write that folds and frees
 * slots; held until revj_close) and read it.
 * A missing journal without create is an empty one (fd -1).  The writer
 * directory and the file are checked like the rest of writer/.
 */
enum aivenauth_status revj_open(struct aivenauth_ctx *ctx, bool create,
    struct revj *j);
/* Make sure it exists, allocated (writer_open). */
enum aivenauth_status revj_ensure(struct aivenauth_ctx *ctx);
/* Free slot i: zeros, one pwrite; the caller syncs (revj_sync). */
enum aivenauth_status revj_clear(struct aivenauth_ctx *ctx, struct revj *j,
    size_t i);
enum aivenauth_status revj_sync(struct aivenauth_ctx *ctx, struct revj *j);
void revj_close(struct revj *j);

#endif
