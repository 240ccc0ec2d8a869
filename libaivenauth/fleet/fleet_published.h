/*
 * fleet_published.h - what this publisher remembers of what it published
 * (fleet_published.c), for fleet_publish.c: the generation it reserved
 * or published last and the snapshot it came from, and the set it
 * published last, which the next delta is diffed against.
 */
#ifndef AIVENAUTH_FLEET_PUBLISHED_H
#define AIVENAUTH_FLEET_PUBLISHED_H

#include "base/pubstate.h"
#include "fleet/fleet_rec.h"

#define FLEET_PUBLISHED_MAGIC 0x3142505441564941ULL   /* "AIVATPB1" */
#define FLEET_SET_MAGIC 0x3154455346564941ULL         /* "AIVFSET1" */

/* cache_dir/writer/fleet-published */
struct fleet_published {
	uint64_t magic;
	uint64_t generation;
	unsigned char snap_id[SNAP_ID_BYTES];
};

/*
 * cache_dir/writer/fleet-published-set: the set this host published last
 * (names and content digests, fleet_rec.h), what a delta is diffed
 * against; header then n x (u32 name_len, name, digest).
 */
struct fleet_set_hdr {
	uint64_t magic;
	uint64_t generation;        /* published as */
	uint64_t full;              /* its chain's full generation */
	uint64_t full_records;      /* records of that full generation */
	uint64_t chain_records;     /* records of the deltas since */
	uint64_t n_deltas;
	uint64_t n;
	unsigned char digest[FLEET_DIGEST_BYTES];
};

/* The record, or all zeros (missing, damaged: nothing published). */
void fleet_published_read(struct aivenauth_ctx *ctx,
    struct fleet_published *out);
/* Atomically; a failure is logged (it costs one needless generation). */
void fleet_published_write(struct aivenauth_ctx *ctx,
    const struct fleet_published *pb);

/* The set published last and its header, or false (missing, damaged:
 * publish full). */
bool fleet_published_set_read(struct aivenauth_ctx *ctx,
    struct fleet_set_hdr *h, struct fleet_dset *out);
/* Atomically; a failure is logged (it costs a full generation). */
void fleet_published_set_write(struct aivenauth_ctx *ctx,
    const struct fleet_set_hdr *h, const struct fleet_dset *s);

#endif /* AIVENAUTH_FLEET_PUBLISHED_H */
