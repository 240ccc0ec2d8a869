/*
 * fleet_rec.h - the records a fleet publisher writes to etcd and a
 * follower verifies: users, tokens (with the enrolled hash), removals (in
 * a delta generation), the manifest of a generation and the heartbeat,
 * each signed with the publisher's Ed25519 key (docs/FLEET.md).
 *
 * Why signatures on top of etcd's RBAC and TLS: whoever can write the
 * prefix could otherwise publish a hash of a secret of their choosing and
 * log in on every follower.  A follower trusts a record only if it
 * verifies against a pinned public key, over a byte string that names the
 * etcd key it was read from (a record moved to another key fails), the
 * organization and the generation.
 *
 * Encoding (all integers little-endian, canonical: one byte string per
 * record, so a re-encoding of a decoded record is byte-identical):
 *
 *   "AVF1"  u8 version(2)  u8 type  u16 zero  u64 generation
 *   u16 org_len  org  u32 body_len  body  sig[64]
 *
 * The signature is crypto_sign_detached over
 *   "aivenauth-fleet-v1" NUL  u32 key_len  key  (every byte before sig)
 * Strings are u32 length + bytes, no NUL inside; lists are u32 count +
 * strings.  Decoders check every length against the value and refuse
 * trailing bytes.
 */
#ifndef AIVENAUTH_FLEET_REC_H
#define AIVENAUTH_FLEET_REC_H

#include <sodium.h>

#include "base/internal.h"
#include "base/pinned_keys.h"

/* Version 2: the manifest carries the publisher's hash key (FLEET.md,
 * "The hash key"). */
#define FLEET_VERSION 2
#define FLEET_SK_BYTES 64
#define FLEET_SIG_BYTES 64
#define FLEET_DIGEST_BYTES 32
#define FLEET_KEY_MAX 1024          /* longest etcd key a record may name */
#define FLEET_ORG_MAX 64
#define FLEET_STR_MAX 4096
#define FLEET_LIST_MAX 100
#define FLEET_VALUE_MAX (64 * 1024) /* one record, encoded */

enum fleet_type {
	FLEET_T_USER = 1,
	FLEET_T_TOKEN = 2,
	FLEET_T_MANIFEST = 3,
	FLEET_T_HEARTBEAT = 4,
	FLEET_T_REMOVAL = 5,        /* a delta: this user or token is gone */
};

/* A generation is a whole set, or the changes to the one before. */
enum fleet_kind {
	FLEET_FULL = 1,
	FLEET_DELTA = 2,
};

/* Why a record was refused (the status is AIVENAUTH_ERR_BAD_RESPONSE). */
enum fleet_err {
	FLEET_E_NONE = 0,
	FLEET_E_FORMAT,             /* malformed, truncated, trailing bytes */
	FLEET_E_VERSION,            /* unknown magic, version or type */
	FLEET_E_SIGNATURE,          /* no pinned key verifies it */
	FLEET_E_ORG,                /* another organization's record */
	FLEET_E_TYPE,               /* not the type the caller expected */
};

/*
 * kind FULL: base 0, full = the generation.  kind DELTA: base = the
 * generation - 1 (the one it changes), full = the full generation its
 * chain starts at.  n_users, n_tokens and digest are those of the WHOLE
 * resulting set (fleet_set_digest), n_records and records_digest those
 * of the records stored under this generation (fleet_digest of their
 * keys and values), so that a missing, extra or replaced record refuses
 * it either way.
 */
struct fleet_manifest {
	uint8_t kind;
	uint64_t base, full;
	uint64_t n_users, n_tokens;
	unsigned char digest[FLEET_DIGEST_BYTES];   /* the whole set */
	uint64_t n_records;
	unsigned char records_digest[FLEET_DIGEST_BYTES];
	int64_t published_time;
	/* The publisher's cache hash key: the fleet shares it, so that a
	 * published hash is the hash a follower computes (docs/FLEET.md). */
	unsigned char hash_key[HASH_KEY_BYTES];
};

#define FLEET_PUBLISHER_MAX 255
struct fleet_heartbeat {
	int64_t last_sync_time;     /* last good Aiven sync of the publisher */
	int64_t published_time;     /* when this heartbeat was written */
	char publisher_id[FLEET_PUBLISHER_MAX + 1];
	/* The set digest of the generation it vouches for (its manifest's
	 * digest): a heartbeat names a number, and a number alone can be
	 * reused (a publish that died before moving current) or chosen by a
	 * writer of etcd (current is unsigned), so a follower takes
	 * freshness only from a heartbeat of exactly the set it holds. */
	unsigned char set_digest[FLEET_DIGEST_BYTES];
};

/*
 * One record, decoded (owns its strings) or to encode.  token.user_name
 * and token.user_email, the local state fields other than revoked (a
 * revocation the API has not confirmed: a flag), revoke_at and
 * local_expiry, and currently_active are not part of the format.
 */
struct fleet_rec {
	enum fleet_type type;
	uint64_t generation;
	char *org_id;
	struct aivenauth_user user;            /* FLEET_T_USER */
	struct aivenauth_token token;          /* FLEET_T_TOKEN */
	bool has_hash;                         /* FLEET_T_TOKEN */
	unsigned char hash[HASH_BYTES];
	struct fleet_manifest manifest;        /* FLEET_T_MANIFEST */
	struct fleet_heartbeat heartbeat;      /* FLEET_T_HEARTBEAT */
	struct {                               /* FLEET_T_REMOVAL */
		enum fleet_type kind;          /* FLEET_T_USER or _TOKEN */
		char *id;                      /* user id or token prefix */
	} removal;
};

/* Release what a decode allocated; wipes the hash. */
void fleet_rec_clear(struct fleet_rec *r);

/*
 * Encode r and sign it for etcd key `key` with sk (crypto_sign secret key,
 * 64 bytes).  r->org_id must be set.  out is appended to.
 * AIVENAUTH_ERR_INVALID for a field out of bounds.
 */
enum aivenauth_status fleet_rec_encode(const unsigned char sk[FLEET_SK_BYTES],
    const char *key, size_t key_len, const struct fleet_rec *r,
    struct buf *out);

/*
 * Decode the value read from etcd key `key`: check the format, then the
 * signature against every pinned key, then (if expect_org is not NULL)
 * the organization, then (if expect_type != 0) the type.  On success *out
 * owns what it holds (fleet_rec_clear); on failure *out is cleared, *err
 * (may be NULL) says why and why (may be NULL) a line for humans.
 */
enum aivenauth_status fleet_rec_decode(const void *val, size_t len,
    const char *key, size_t key_len, const struct fleet_keys *keys,
    const char *expect_org, enum fleet_type expect_type,
    struct fleet_rec *out, enum fleet_err *err, char *why, size_t wn);

/*
 * The content digest of a user or token record: BLAKE2b-256 over the type
 * byte and the body, i.e. without generation, organization or signature,
 * so that the same user or token has the same digest in every generation
 * (the set digest is built from these).  AIVENAUTH_ERR_INVALID for
 * another type or a field out of bounds.
 */
enum aivenauth_status fleet_rec_content_digest(const struct fleet_rec *r,
    unsigned char out[FLEET_DIGEST_BYTES]);

/*
 * The manifest digest of a generation: BLAKE2b-256 over, for each user and
 * token record of the generation in strictly increasing etcd key order,
 * u32 key_len, key, u32 value_len, value.  The manifest itself is not
 * part of it.  fleet_digest_add refuses a key not after the previous one.
 */
struct fleet_digest {
	crypto_generichash_state state;
	char last_key[FLEET_KEY_MAX];
	size_t last_len;
	bool any;
	uint64_t count;
};
void fleet_digest_init(struct fleet_digest *d);
bool fleet_digest_add(struct fleet_digest *d, const char *key, size_t key_len,
    const void *val, size_t val_len);
void fleet_digest_final(struct fleet_digest *d,
    unsigned char out[FLEET_DIGEST_BYTES]);

/*
 * The set digest of a generation's WHOLE resulting set (full or delta):
 * fleet_digest over, for each user and token in increasing name order,
 * (name, content digest), where the name is the key without
 * "PREFIX gen/G/" ("u/USER_ID", "t/TOKEN_PREFIX", escaped like the key).
 * Nothing in it depends on the generation or a signature, so a follower
 * can compute it from what it holds plus a delta, and a publisher can
 * diff its sets by name and content digest.
 */
struct fleet_gen;
struct fleet_sent {
	char *name;
	uint32_t name_len;
	unsigned char cd[FLEET_DIGEST_BYTES];
	size_t idx;                 /* fleet_dset_from_gen: users first, then
	                               tokens: idx < n_users is a user */
};
struct fleet_dset {
	struct fleet_sent *e;       /* sorted by name, no duplicates */
	size_t n;
};
/* The names and content digests of g's users and tokens, sorted. */
enum aivenauth_status fleet_dset_from_gen(const struct fleet_gen *g,
    struct fleet_dset *out);
void fleet_dset_digest(const struct fleet_dset *s,
    unsigned char out[FLEET_DIGEST_BYTES]);
void fleet_dset_free(struct fleet_dset *s);
/* Append the name of a user (FLEET_T_USER) or token to out. */
enum aivenauth_status fleet_name(enum fleet_type kind, const char *id,
    struct buf *out);

/* ------------------------------------------------------------ keys */

/*
 * The etcd key layout under prefix (which ends in '/'), see docs/FLEET.md:
 *   PREFIX leader                         lease-bound, the publisher's id
 *   PREFIX current                        decimal generation (a pointer)
 *   PREFIX heartbeat                      signed heartbeat
 *   PREFIX gen/GGGGGGGGGGGGGGGGGGGG/       one generation (20 digits, so
 *   PREFIX gen/G.../manifest               keys sort by number)
 *   PREFIX gen/G.../t/TOKEN_PREFIX
 *   PREFIX gen/G.../u/USER_ID
 * The manifest sorts before "t/" and "u/" ('m' < 't' < 'u').
 */
enum aivenauth_status fleet_key_leader(const char *prefix, struct buf *out);
enum aivenauth_status fleet_key_current(const char *prefix, struct buf *out);
enum aivenauth_status fleet_key_heartbeat(const char *prefix, struct buf *out);
enum aivenauth_status fleet_key_gen(const char *prefix, uint64_t gen,
    struct buf *out);
enum aivenauth_status fleet_key_manifest(const char *prefix, uint64_t gen,
    struct buf *out);
/* PREFIX/gen/<gen>/u/ID or .../t/ID, for a record of kind (fleet_name). */
enum aivenauth_status fleet_key_leaf(const char *prefix, uint64_t gen,
    enum fleet_type kind, const char *id, struct buf *out);
enum aivenauth_status fleet_key_user(const char *prefix, uint64_t gen,
    const char *user_id, struct buf *out);
enum aivenauth_status fleet_key_token(const char *prefix, uint64_t gen,
    const char *token_prefix, struct buf *out);

/* ------------------------------------------------------------ generations */

/*
 * What a follower hands to the cache writer for one generation: the
 * snapshot (users, tokens; organization_id points into org) and, parallel
 * to snap.tokens, whether the publisher knew each token's hash and the
 * hash.  Everything in it has been verified.
 */
struct fleet_gen {
	uint64_t generation;
	char *org;
	struct aivenauth_snapshot snap;
	bool *has_hash;                         /* n_tokens */
	unsigned char (*hashes)[HASH_BYTES];    /* n_tokens */
	struct fleet_manifest manifest;
};
void fleet_gen_free(struct fleet_gen *g);

/*
 * Assemble what a follower applies from the (key, value) pairs of a range
 * of generations from..to, given in etcd key order (as one range returns
 * them): fleet_gen_begin (from = to = gen, no base: one full generation)
 * or fleet_gen_begin_chain, then fleet_gen_add for each pair, then
 * fleet_gen_finish.
 *
 * Without a base, generation `from` must be a full one; with a base (the
 * set the follower holds at from - 1, moved into the builder), it must be
 * a delta on it.  Every later generation must be a delta on the one
 * before (base = generation - 1), with the hash key of the set it
 * changes.  Each generation must start with its manifest; its records
 * must match the manifest's n_records and records_digest, and the set
 * they make must match its counts and set digest.  A removal must name
 * something in the set; a full generation holds no removal.  Anything
 * else (a record of another generation, a signature failing, a key
 * outside the layout, a generation missing from the chain) refuses the
 * whole range.
 */
struct fleet_ent;
struct fleet_gen_builder {
	const struct fleet_keys *keys;
	const char *org;
	const char *prefix;
	uint64_t from, to;
	uint64_t cur;               /* generation being read (0: none yet) */
	uint64_t at;                /* generation the set is at (0: none) */
	bool have_manifest;         /* of cur */
	struct fleet_manifest cm;   /* cur's manifest */
	struct fleet_digest rd;     /* cur's records */
	struct fleet_ent *set;      /* sorted by name */
	size_t n_set, cap_set;
	struct fleet_ent *ch;       /* cur's records, in key order */
	size_t n_ch, cap_ch;
	unsigned char hash_key[HASH_KEY_BYTES];
	char *org_copy;
	uint64_t records_read;      /* values decoded and verified */
	char why[256];
};
enum aivenauth_status fleet_gen_begin(struct fleet_gen_builder *b,
    const char *prefix, uint64_t gen, const struct fleet_keys *keys,
    const char *org);
/* base (may be NULL: from must be full) is moved into the builder and
 * emptied, whatever the result; base->generation must be from - 1. */
enum aivenauth_status fleet_gen_begin_chain(struct fleet_gen_builder *b,
    const char *prefix, uint64_t from, uint64_t to,
    const struct fleet_keys *keys, const char *org, struct fleet_gen *base);
enum aivenauth_status fleet_gen_add(struct fleet_gen_builder *b,
    const char *key, size_t key_len, const void *val, size_t val_len);
/* On success *out owns the resulting set at generation `to` with to's
 * manifest (fleet_gen_free); the builder is emptied either way.  b->why
 * says what was wrong. */
enum aivenauth_status fleet_gen_finish(struct fleet_gen_builder *b,
    struct fleet_gen *out);
void fleet_gen_abort(struct fleet_gen_builder *b);

/*
 * What a fleet's generation looks like in the writer's cache, in one
 * read transaction (fleet_publish.c): the users, every token but the
 * tombstones (a revocation the API has not confirmed carries its flag)
 * whose user is listed, each with its hash, and the cache's hash key; the
 * cache's snapshot id and sync time.  A publisher publishes it; a
 * follower, whose cache holds exactly the set it applied, takes it as the
 * base of a delta (after checking its set digest).
 */
/* A follower's meta: the fleet generation applied and the set digest of
 * its manifest, written in the apply's transaction. */
#define FLEET_GEN_META "fleet_gen"
#define FLEET_SET_META "fleet_set"
struct fleet_held {
	uint64_t generation;        /* meta fleet_gen (0: none) */
	bool has_set;
	unsigned char set_digest[FLEET_DIGEST_BYTES];   /* meta fleet_set */
};
/* held (may be NULL) is read in the same transaction. */
enum aivenauth_status fleet_gen_from_cache(struct aivenauth_ctx *ctx,
    struct fleet_gen *g, unsigned char *snap_id /* SNAP_ID_BYTES */,
    int64_t *sync_time, struct fleet_held *held);
/*
 * The publisher's journaled revocations (writer/revjournal.h) that its
 * cache could not store yet (a full disk): each such token of g marked
 * revoked, so the fleet refuses it too and the next leader sends the
 * DELETE.  Returns how many it marked (0 when the cache has them all).
 */
size_t fleet_gen_journal(struct aivenauth_ctx *ctx, struct fleet_gen *g);

#endif /* AIVENAUTH_FLEET_REC_H */
