/*
 * revjournal.h - the writer's revocation journal (cache_dir/writer/
 * revocations, 0600): where `aivenctl token revoke` records a revocation
 * before anything else, in a file that already owns its disk blocks, so
 * that a full file system (which any local user with write access to it
 * can cause) cannot lose it (design.md section 2, "A revocation stands
 * until the API confirms it"; docs/DESIGN.md "The revocation journal").
 *
 * REVJ_SLOTS fixed slots of REVJ_SLOT bytes, then two copies of a header
 * (REVJ_HDR bytes each), all allocated in full when the writer opens its
 * environment (and marked no-copy-on-write where the file system has
 * that: on btrfs an overwrite would otherwise need a new block).  A slot
 * is written with one pwrite and an fdatasync; it carries a checksum, so a
 * slot torn by a power loss reads as torn, never as another token.  A slot
 * is all zero when free.
 *
 * Each entry carries a sequence number, from a counter kept in the header
 * (and never below the largest entry's: no slot is freed before the header
 * durably carries its number, revj_hold_seq; review 5, F4): a sync notes the counter before
 * its fetch, and only an entry at or below it may be freed because the
 * API no longer lists its token (an entry made after the fetch began is
 * about a token the listing may simply predate).
 *
 * The header also holds the overflow mark: a revocation that found the
 * journal full is listed there (up to REVJ_OVER_MAX; beyond that "lost" is
 * set), and while the mark is set no publication lifts the withdrawal of
 * the readers.  A listed one is never dropped: every write (and
 * --clear-overflow) journals it into a free slot as soon as there is one,
 * then takes it off (review 5, F2); "lost" goes only by `aivenctl token
 * revoke --clear-overflow`, refused while a listed one finds no slot.  The two copies alternate (the newer good one wins),
 * so a header torn by a crash leaves the older one; none readable but
 * some written reads as "lost" (fail closed).
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
#define REVJ_SLOTS 1024
#define REVJ_HDR 4096           /* one page per header copy */
#define REVJ_HDR_OFF ((off_t)REVJ_SLOT * REVJ_SLOTS)
#define REVJ_SIZE (REVJ_SLOT * REVJ_SLOTS + 2 * REVJ_HDR)
#define REVJ_MAGIC 0x314a5652u  /* "RVJ1" */
#define REVJ_HMAGIC 0x31485652u /* "RVH1" */
#define REVJ_OVER_MAX 16

struct revj_entry {
	char prefix[AIVENAUTH_PREFIX_MAX + 1];
	char user_id[AIVENAUTH_ID_MAX + 1];
	int64_t time;
	/* 0: revoke now.  Else a scheduled revocation (`token rotate` with
	 * a grace): the token is refused from this time on; every write
	 * stores it as such (revoke_at), the sync sends the DELETE once due. */
	int64_t not_before;
	uint64_t seq;           /* 0: written before sequence numbers */
};

struct revj_over {
	char prefix[AIVENAUTH_PREFIX_MAX + 1];
	char user_id[AIVENAUTH_ID_MAX + 1];
};

struct revj_hdr {
	uint64_t gen;           /* header writes: the newer copy wins */
	uint64_t seq;           /* last sequence number given out */
	bool lost;              /* an overflow that could not be listed */
	size_t n_over;
	struct revj_over over[REVJ_OVER_MAX];
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
/* A header copy: REVJ_ENTRY (good), REVJ_EMPTY (never written), REVJ_TORN. */
void revj_hdr_encode(const struct revj_hdr *h, unsigned char copy[REVJ_HDR]);
enum revj_kind revj_hdr_decode(const unsigned char copy[REVJ_HDR],
    struct revj_hdr *h);

/* The whole journal as read (the arrays on the heap: REVJ_SLOTS of them). */
struct revj {
	int fd;                 /* -1: no journal (none pending), or released */
	bool read;              /* kind/e/hdr hold what was read */
	enum revj_kind *kind;
	struct revj_entry *e;
	struct revj_hdr hdr;
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
/* Write j->hdr (gen + 1) into the older copy; the caller syncs. */
enum aivenauth_status revj_put_hdr(struct aivenauth_ctx *ctx, struct revj *j);
/* The largest sequence number given out (header or any entry). */
uint64_t revj_last_seq(const struct revj *j);
/* Before any slot is freed: if an entry carries a larger number than the
 * header, write and sync the header with it (the counter never goes
 * backwards).  Not OK: free nothing. */
enum aivenauth_status revj_hold_seq(struct aivenauth_ctx *ctx, struct revj *j);
/* Is the overflow mark set? */
static inline bool
revj_overflowed(const struct revj *j)
{
	return j->hdr.lost || j->hdr.n_over > 0;
}
/* Unlock and close the file, keep what was read. */
void revj_release(struct revj *j);
/* Release and free. */
void revj_close(struct revj *j);

#endif
