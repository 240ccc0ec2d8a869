/*
 * fleet_etcd.h - the fleet's protocols on etcd (docs/FLEET.md), in the
 * core: what a publisher writes and a follower reads, built on the
 * network module's etcd client (etcd.h) and the signed records
 * (fleet_rec.h).  Only the follower and the publisher call these, so only
 * they load the network module; the login path never does.
 *
 * The connection: fleet_etcd_conn.c; reading and the watch:
 * fleet_etcd_read.c; publishing: fleet_etcd_write.c; the leader key:
 * fleet_lead.h.
 */
#ifndef AIVENAUTH_FLEET_ETCD_H
#define AIVENAUTH_FLEET_ETCD_H

#include "base/etcd.h"
#include "fleet/fleet_rec.h"

struct fleet_etcd {
	struct aivenauth_ctx *ctx;
	const struct aivenauth_etcd_ops *ops;
	struct etcd_client *c;
	const char *prefix;         /* etcd_prefix, ends in '/' */
};

/*
 * Connect as the config says: etcd_endpoints, etcd_ca_file, etcd_user
 * with the password of etcd_password_file (read like the API token file:
 * TRUST_SECRET; surrounding blanks and one line only), timeout and
 * connect_timeout.  Loads the network module.
 */
enum aivenauth_status fleet_etcd_open(struct aivenauth_ctx *ctx,
    struct fleet_etcd *fe);
void fleet_etcd_close(struct fleet_etcd *fe);

/* Whether this client may write the prefix, found without writing
 * (aivenctl doctor on a follower: it should not). */
enum aivenauth_status fleet_probe_write(struct fleet_etcd *fe,
    bool *can_write);

/* ------------------------------------------ reading (fleet_etcd_read.c) */

#define FLEET_LEADER_MAX 255

/* What the fleet's fixed keys say, read at one revision. */
struct fleet_view {
	int64_t revision;               /* etcd revision of the read */
	bool has_leader;
	char leader[FLEET_LEADER_MAX + 1];  /* the leader key's value */
	int64_t leader_lease;
	uint64_t current;               /* published generation, 0 = none */
	bool has_heartbeat;
	enum aivenauth_status hb_status;    /* AIVENAUTH_OK: verified */
	char hb_why[160];               /* why it was refused */
	struct fleet_heartbeat hb;      /* when hb_status is OK */
	uint64_t hb_generation;
};

/*
 * Read leader, current and heartbeat at one revision; verify the
 * heartbeat against keys (org: NULL accepts any organization).  A missing
 * key is not an error (has_* false, current 0); a current that is not a
 * decimal number is AIVENAUTH_ERR_BAD_RESPONSE.
 */
enum aivenauth_status fleet_read_view(struct fleet_etcd *fe,
    const struct fleet_keys *keys, const char *org, struct fleet_view *v);

/*
 * Read generation gen at revision rev (0: the latest) and verify it all or
 * nothing (fleet_gen_finish).  On success *out is what the cache writer
 * takes; why (may be NULL) says what was refused.
 */
enum aivenauth_status fleet_read_gen(struct fleet_etcd *fe,
    const struct fleet_keys *keys, const char *org, uint64_t gen,
    int64_t rev, struct fleet_gen *out, char *why, size_t wn);

/* The manifest of generation gen at revision rev (0: the latest),
 * verified; AIVENAUTH_ERR_BAD_RESPONSE if missing or refused. */
enum aivenauth_status fleet_read_manifest(struct fleet_etcd *fe,
    const struct fleet_keys *keys, const char *org, uint64_t gen,
    int64_t rev, struct fleet_manifest *m);
/* The same; *err (may be NULL) says why it was refused: FLEET_E_NONE
 * when there is no manifest at all, and why (may be NULL) in words. */
enum aivenauth_status fleet_read_manifest_why(struct fleet_etcd *fe,
    const struct fleet_keys *keys, const char *org, uint64_t gen,
    int64_t rev, struct fleet_manifest *m, enum fleet_err *err, char *why,
    size_t wn);

/* One follower step (fleet_follow_step). */
enum fleet_step_result {
	FLEET_NOTHING_NEW = 0,      /* current is the generation applied */
	FLEET_NEW_GEN,              /* gen holds the newer generation, verified */
	FLEET_REPLAY,               /* current names an older generation than
	                               the one applied: refused (logged) */
	FLEET_NONE_PUBLISHED,       /* no current yet */
};

struct fleet_update {
	enum fleet_step_result result;
	struct fleet_view view;     /* as read; view.hb verified */
	struct fleet_gen gen;       /* FLEET_NEW_GEN: for the cache writer */
	uint64_t records_read;      /* records read and verified for it */
	bool delta;                 /* gen = the caller's base + deltas */
};

/*
 * The set a follower holds at generation gen (its cache, see
 * fleet_gen_from_cache), as the base of the deltas after it: AIVENAUTH_OK
 * only if it is exactly the set the publisher signed for gen (its set
 * digest is the one recorded at apply); anything else makes the step read
 * the chain from its full generation.
 */
typedef enum aivenauth_status fleet_base_fn(void *arg, uint64_t gen,
    struct fleet_gen *out);

/*
 * What `aivenctl follow --once` does before writing: read the view at the
 * latest revision, require a verified heartbeat (else
 * AIVENAUTH_ERR_BAD_RESPONSE: freshness cannot be vouched for), and if
 * current is newer than applied, read and verify that generation at the
 * view's revision (AIVENAUTH_ERR_BAD_RESPONSE if refused: keep what is
 * applied).  The caller applies u->gen (all or nothing) and records
 * u->view.hb.last_sync_time as its sync time.  Release with
 * fleet_update_free.
 */
enum aivenauth_status fleet_follow_step(struct fleet_etcd *fe,
    const struct fleet_keys *keys, const char *org, uint64_t applied,
    struct fleet_update *u);
/*
 * The same, reading only what changed when it can: if current's manifest
 * is a delta whose chain starts at or before applied, and base_fn gives
 * the set held at applied, only the deltas applied+1..current are read
 * (one range at the view's revision) and applied onto it (u->delta);
 * else, or if those are refused, the chain from its full generation.
 */
enum aivenauth_status fleet_follow_step_base(struct fleet_etcd *fe,
    const struct fleet_keys *keys, const char *org, uint64_t applied,
    fleet_base_fn *base_fn, void *base_arg, struct fleet_update *u);
void fleet_update_free(struct fleet_update *u);

/*
 * fleet_apply.c, for a publisher.  fleet_catch_up: right after taking the
 * leader key, apply the fleet's current generation if it is newer than
 * the one this cache holds (another publisher led meanwhile), so that
 * what is published next builds on it: the fleet's hash key, every hash
 * it carries.  A current older than this cache's (etcd lost it) is
 * published past; one that does not verify is neither built on nor
 * trusted (*trusted false: its number must not count).  Else an error
 * reading etcd or the cache.  fleet_mark_published: record in the cache, in
 * one write transaction and without a snapshot, that generation gen with
 * set digest set_digest is what it holds.
 */
enum aivenauth_status fleet_catch_up(struct aivenauth_ctx *ctx,
    struct fleet_etcd *fe, bool *trusted);
/* fleet_apply.c: one follower step on an open client: read what is new
 * (fleet_follow_step_base, from the set this cache holds) and apply it,
 * or move only the freshness; res says what happened. */
struct aivenauth_fleet_follow_result;
enum aivenauth_status fleet_apply_step(struct aivenauth_ctx *ctx,
    struct fleet_etcd *fe, const struct fleet_keys *keys,
    struct aivenauth_fleet_follow_result *res);
/* The keys a generation must verify against here: fleet_public_keys; on a
 * publisher that pins none, its own public key. */
enum aivenauth_status fleet_follower_keys(struct aivenauth_ctx *ctx,
    struct fleet_keys *keys);
/*
 * fleet_trust.c: may this publisher campaign for the leader key?  Only if
 * it can verify the fleet's current generation with those keys (or there
 * is none to verify: no current, or a current naming no manifest).  A
 * publisher that cannot would publish under a key the followers refuse,
 * and hold the key against the one they trust: AIVENAUTH_ERR_CONFIG,
 * logged with what to do.
 */
enum aivenauth_status fleet_may_lead(struct aivenauth_ctx *ctx,
    struct fleet_etcd *fe);
enum aivenauth_status fleet_mark_published(struct aivenauth_ctx *ctx,
    uint64_t gen, const unsigned char *set_digest);

/* What woke a follower's watch (fleet_watch). */
enum fleet_change_kind {
	FLEET_CH_TIMEOUT = 0,       /* nothing within max_ms: watch again */
	FLEET_CH_CURRENT,           /* current moved: read that generation */
	FLEET_CH_HEARTBEAT,         /* a new heartbeat: verify, freshen */
	FLEET_CH_COMPACTED,         /* from_rev was compacted: read the view
	                               and the generation again */
};

struct fleet_change {
	enum fleet_change_kind kind;
	int64_t revision;           /* of the event (TIMEOUT: of the last
	                               event delivered); watch again from
	                               revision + 1 */
	uint64_t current;           /* FLEET_CH_CURRENT: the new generation */
};

/*
 * Watch the heartbeat key from from_rev for at most max_ms; return at its
 * first change (FLEET_CH_HEARTBEAT: the txn that moves current writes the
 * new generation's heartbeat as well, so this is also how a new
 * generation is noticed), on compaction, or at max_ms.  Only that one key
 * is watched: no record of a generation is streamed to a follower.
 * (FLEET_CH_CURRENT is kept for a watch that sees current itself.)
 */
enum aivenauth_status fleet_watch(struct fleet_etcd *fe, int64_t from_rev,
    long max_ms, struct fleet_change *out);

/* --------------------------------------- publishing (fleet_etcd_write.c) */

/*
 * Publish generation gen of g (snap, has_hash, hashes; org from
 * g->snap.organization_id), signed with sk, as the holder of the leader
 * key with lease: every record (txns of at most ETCD_TXN_MAX_OPS - 1 puts,
 * each guarded by "the leader key's lease is ours"), then the manifest,
 * then in one guarded txn: current = gen and the heartbeat.  A publisher
 * that lost the lease midway stops (AIVENAUTH_ERR_FORBIDDEN) and followers
 * never see the half-written generation as current.
 */
enum aivenauth_status fleet_publish_gen(struct fleet_etcd *fe,
    const unsigned char sk[FLEET_SK_BYTES], int64_t lease, uint64_t gen,
    const struct fleet_gen *g, const struct fleet_heartbeat *hb);
/*
 * The same, as a full generation (full == gen, old NULL) or as a delta on
 * gen - 1 whose chain starts at full (old: the names and content digests
 * of the set published as gen - 1): only the users and tokens that are
 * new or changed since old, and a removal record for each one gone.  The
 * manifest covers the whole set g.  The txn that moves current also drops
 * the generations before min(full, gen - 1).  On success *set_out (may be
 * NULL) is g's set (fleet_dset_free), *n_records the records written.
 */
enum aivenauth_status fleet_publish_set(struct fleet_etcd *fe,
    const unsigned char sk[FLEET_SK_BYTES], int64_t lease, uint64_t gen,
    uint64_t full, const struct fleet_gen *g, const struct fleet_dset *old,
    const struct fleet_heartbeat *hb, struct fleet_dset *set_out,
    size_t *n_records);

/* Empty gen/G/ (keys someone else left there) before generation G is
 * written there, guarded by the lease like a publish. */
enum aivenauth_status fleet_clear_gen(struct fleet_etcd *fe, int64_t lease,
    uint64_t gen);

/* Write a fresh heartbeat for the current generation, guarded by the
 * lease like a publish. */
enum aivenauth_status fleet_publish_heartbeat(struct fleet_etcd *fe,
    const unsigned char sk[FLEET_SK_BYTES], int64_t lease,
    const char *org, uint64_t gen, const struct fleet_heartbeat *hb);

#endif /* AIVENAUTH_FLEET_ETCD_H */
