/*
 * aivenauth_fleet.h - the fleet mode entry points aivenctl uses
 * (docs/FLEET.md).  Not installed yet: the interface is young and only the
 * in-tree CLI calls it.
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

#endif /* AIVENAUTH_FLEET_H */
