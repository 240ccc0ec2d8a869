/*
 * pubstate.h - the published state record: what the writer tells every
 * reader without a system call per verify.
 *
 * cache_dir/state is a small file the writer owns (0640) and updates in
 * place with pwrite() into its allocated page (never a store into a
 * mapping: on a full copy-on-write file system that is a SIGBUS, a pwrite
 * an error); readers map it read-only and see the page-cache copy.  It names the
 * published snapshot (a random id that snapshot.mdb also carries in its
 * meta), the generation of the last good sync and its time.  A reader
 * compares one word (seq) with what it saw last: unchanged means nothing
 * new, which costs a load, not a system call.
 *
 * Torn reads: a seqlock (seq odd while the writer is writing; readers
 * retry when seq moved) plus a keyed checksum over the fields, so a
 * half-written or damaged record is never taken for a good one.  A record
 * that exists but cannot be read (seq still odd after the retries: a
 * writer died mid-write, such as a `token revoke` killed while it withdrew
 * the readers; bad magic, checksum or size) is refused: readers answer
 * cache-unavailable until a writer rewrites it (every writer open does:
 * publish_current() fails on it).  Only a missing record (a cache written
 * by a version before the record existed) lets readers fall back to the
 * sync time the snapshot itself carries and stat() the snapshot.
 */
#ifndef AIVENAUTH_PUBSTATE_H
#define AIVENAUTH_PUBSTATE_H

#include <stdbool.h>
#include <stdint.h>

#define PUBSTATE_MAGIC 0x31545341564941ULL   /* "AIVAST1" */
/* sync_time of a withdrawn record: the writer committed something it could
 * not publish (disk full...); readers refuse to decide until it can. */
#define PUBSTATE_WITHDRAWN INT64_MIN
#define SNAP_ID_BYTES 16

struct pubstate_rec {
	uint64_t magic;
	uint64_t seq;                 /* odd while being written */
	unsigned char snap_id[SNAP_ID_BYTES];
	int64_t sync_time;            /* last good sync (or fleet heartbeat) */
	uint64_t generation;
	int64_t publish_time;         /* when snap_id was published */
	unsigned char check[16];      /* BLAKE2b-128 of the fields above
	                                 but seq, keyed by snap_id */
};

/* What a reader takes from the record. */
struct pubstate {
	unsigned char snap_id[SNAP_ID_BYTES];
	int64_t sync_time;
	uint64_t generation;
	int64_t publish_time;
};

struct pubstate_map {
	volatile struct pubstate_rec *rec;   /* NULL: not mapped */
	size_t len;
	bool writable;
	int fd;                       /* writer: the file (pwrite), kept open */
	uint64_t seen_seq;            /* reader: seq of the last good read */
	struct pubstate last;         /* ... and what it said */
};

/* Map cache_dir/state: readers read-only (fd opened O_NOFOLLOW, regular,
 * owner and mode checked by the caller's rules); the writer creates it
 * (0640) if missing.  Returns 0 or an errno. */
int pubstate_open(struct pubstate_map *m, int dirfd, bool writer);
void pubstate_close(struct pubstate_map *m);

/*
 * Reader: has the record changed since the last good read?  One load.
 * Returns true when m->last may be stale (seq moved), false when
 * m->last is still current.
 */
static inline bool
pubstate_moved(const struct pubstate_map *m)
{
	return m->rec == NULL ||
	    __atomic_load_n(&m->rec->seq, __ATOMIC_ACQUIRE) != m->seen_seq;
}

/* Reader: a consistent copy into m->last.  false: torn for too long,
 * damaged or not mapped (m->last untouched, seen_seq reset).  Waits a
 * bounded time (about 100 ms) for a writer that is mid-update. */
bool pubstate_read(struct pubstate_map *m);

/* Writer: store s (seqlock, checksum, fdatasync).  0 or an errno. */
int pubstate_write(struct pubstate_map *m, const struct pubstate *s);
/* Writer: withdraw the current record (fail closed; needs no disk block:
 * the page is allocated when the file is made).  0 or an errno. */
int pubstate_withdraw(struct pubstate_map *m);
/* The generation of a record withdrawn because a sync (or a follower's
 * apply) fetched a revocation it could not store: only a sync or apply
 * that commits lifts it, not another write (a token command) publishing
 * the view the API contradicted.  Readers see a withdrawn record. */
#define PUBSTATE_UNTIL_SYNC UINT64_MAX
void pubstate_withdraw_until_sync(struct pubstate_map *m);
/* Writer: is the record withdrawn until a sync (as last read)? */
bool pubstate_until_sync(const struct pubstate_map *m);

#endif
