/*
 * aivenauth_fleet.h - the fleet mode entry points (docs/FLEET.md): keys,
 * the publisher, the follower and the fleet's status.  Installed next to
 * aivenauth.h; part of the AIVENAUTH_1 symbol version like the rest.
 */
#ifndef AIVENAUTH_FLEET_H
#define AIVENAUTH_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aivenauth.h"

/* Base64 of an Ed25519 public key, NUL included. */
#define AIVENAUTH_FLEET_PK_B64_SIZE 45

/*
 * Make a publisher key pair: the secret key (base64 of libsodium's 64-byte
 * Ed25519 secret key, one line) goes to a NEW file at path, created 0600
 * with O_CREAT|O_EXCL|O_NOFOLLOW (an existing file or a symlink there is
 * an error, never overwritten or followed); the public key, to pin in the
 * followers' fleet_public_keys, is written to pk_b64.
 * AIVENAUTH_ERR_EXISTS if path exists.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_keygen(
    struct aivenauth_ctx *ctx, const char *path,
    char pk_b64[AIVENAUTH_FLEET_PK_B64_SIZE]) AIVENAUTH_WUR;

/* The public key of the secret key file at path (checked like the API
 * token file). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_pubkey(
    struct aivenauth_ctx *ctx, const char *path,
    char pk_b64[AIVENAUTH_FLEET_PK_B64_SIZE]) AIVENAUTH_WUR;

/* What the fleet's etcd says (aivenauth_fleet_status). */
struct aivenauth_fleet_status {
	int64_t revision;               /* etcd revision read at */
	bool has_leader;
	char leader[256];               /* the leading publisher's id */
	uint64_t current;               /* published generation, 0 = none */
	bool has_heartbeat;
	bool heartbeat_valid;           /* signed by a pinned key, this org */
	char heartbeat_error[160];      /* why not, if has_heartbeat */
	uint64_t heartbeat_generation;
	int64_t last_sync_time;         /* the publisher's last good sync */
	int64_t published_time;
	char publisher_id[256];
	/* On a follower: may its etcd user write the prefix (found without
	 * writing)?  1 yes (it should not), 0 no, -1 not checked. */
	int follower_can_write;
};

/*
 * Read the leader key, the current generation and the heartbeat from the
 * fleet's etcd (etcd_* config keys) and verify the heartbeat against
 * fleet_public_keys (on a publisher without them: the public half of
 * fleet_signing_key_file) and organization_id when set.  AIVENAUTH_OK
 * when etcd answered, whatever the heartbeat; *out says the rest.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_status(
    struct aivenauth_ctx *ctx, struct aivenauth_fleet_status *out)
    AIVENAUTH_WUR;

/* ------------------------------------------------------------ publisher */

#define AIVENAUTH_FLEET_ID_SIZE 256

struct aivenauth_fleet_publish_result {
	bool leader;                /* this host held the leader key */
	char leader_id[AIVENAUTH_FLEET_ID_SIZE];   /* who leads ("" unknown) */
	bool new_generation;        /* a generation (else only a heartbeat) */
	uint64_t generation;        /* published, or the heartbeat's */
	size_t n_users, n_tokens;   /* of a new generation */
	bool delta;                 /* it holds only what changed */
	size_t n_records;           /* records it holds (puts, removals) */
};

/* A publisher holding (or not) the leader key. */
struct aivenauth_fleet_publisher;

/*
 * Take the leader key (fleet = publish): resume the lease an earlier run
 * of this host holds, else campaign with a new one.  The lease outlives
 * the run (aivenauth_fleet_publisher_close keeps it; the next run here
 * resumes it) so that one publisher leads until it stops running for a
 * whole TTL or resigns.  Runs of one host are serialised: open waits for
 * another run's close.  *leader false: another publisher leads (leader_id
 * names it when etcd says), *out is NULL and nothing may be synced or
 * published here.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_publisher_open(
    struct aivenauth_ctx *ctx, struct aivenauth_fleet_publisher **out,
    bool *leader, char leader_id[AIVENAUTH_FLEET_ID_SIZE]) AIVENAUTH_WUR;
/* Keep the lease alive; AIVENAUTH_ERR_FORBIDDEN once it is lost. */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_publisher_keepalive(
    struct aivenauth_fleet_publisher *p) AIVENAUTH_WUR;
/*
 * Publish what the writer's cache holds: a new generation if the cache
 * published a snapshot since the generation etcd names (or etcd names
 * another one), else a fresh heartbeat; both signed, both guarded by the
 * lease.  The heartbeat's last_sync_time is the cache's sync time.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_publisher_publish(
    struct aivenauth_fleet_publisher *p,
    struct aivenauth_fleet_publish_result *res) AIVENAUTH_WUR;
/* End this run (the lease is kept) and free. */
AIVENAUTH_EXPORT void aivenauth_fleet_publisher_close(
    struct aivenauth_fleet_publisher *p);
/*
 * Give up the leader key if this host holds it (revoke its lease): the
 * next campaign, here or on another publisher, wins it.  *resigned false:
 * this host did not hold it (leader_id names the holder, "" none); another
 * publisher's key is never touched.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_resign(
    struct aivenauth_ctx *ctx, bool *resigned,
    char leader_id[AIVENAUTH_FLEET_ID_SIZE]) AIVENAUTH_WUR;
/* open + publish + close: after a local write (token create, revoke). */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_publish(
    struct aivenauth_ctx *ctx, struct aivenauth_fleet_publish_result *res)
    AIVENAUTH_WUR;

/* ------------------------------------------------------------ follower */

struct aivenauth_fleet_follow_result {
	uint64_t applied_before;    /* fleet generation applied before */
	uint64_t applied;           /* ... and after */
	bool new_generation;        /* a generation was applied */
	bool state_updated;         /* the heartbeat's sync time written */
	bool replay_refused;        /* etcd named an older generation */
	bool none_published;        /* etcd has no generation yet */
	int64_t sync_time;          /* the publisher's last good sync */
	int64_t revision;           /* etcd revision read at */
	char leader[AIVENAUTH_FLEET_ID_SIZE];
	uint64_t records_read;      /* fleet records read and verified */
	bool delta;                 /* applied as deltas on what was held */
};

/*
 * One follower step (fleet = follow): read the fleet's etcd, verify
 * everything against fleet_public_keys, apply a newer generation all or
 * nothing (or refuse it), and write the heartbeat's sync time as this
 * cache's.  A refused generation or heartbeat changes nothing here:
 * AIVENAUTH_ERR_BAD_RESPONSE.
 */
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_follow_once(
    struct aivenauth_ctx *ctx, struct aivenauth_fleet_follow_result *res)
    AIVENAUTH_WUR;

/*
 * Follow until *stop becomes non-zero: one step, then watch etcd from the
 * revision read and apply each new generation or heartbeat as it comes;
 * re-read everything after a compaction; on errors retry with backoff
 * (1 s doubling to 30 s), staying on the last complete generation.
 * report (may be NULL) is called after every successful step.
 */
typedef void aivenauth_fleet_follow_report(void *arg,
    const struct aivenauth_fleet_follow_result *res);
AIVENAUTH_EXPORT enum aivenauth_status aivenauth_fleet_follow_run(
    struct aivenauth_ctx *ctx, volatile int *stop,
    aivenauth_fleet_follow_report *report, void *arg) AIVENAUTH_WUR;

#endif /* AIVENAUTH_FLEET_H */
