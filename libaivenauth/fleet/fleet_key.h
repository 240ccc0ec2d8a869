/*
 * fleet_key.h - loading the publisher's signing key (fleet_key.c).
 */
#ifndef AIVENAUTH_FLEET_KEY_H
#define AIVENAUTH_FLEET_KEY_H

#include "fleet/fleet_rec.h"

/* Read the key file made by aivenauth_fleet_keygen() (checked like the
 * API token file: TRUST_SECRET).  sk is wiped on failure; pk may be NULL. */
enum aivenauth_status fleet_key_load(struct aivenauth_ctx *ctx,
    const char *path, unsigned char sk[FLEET_SK_BYTES],
    unsigned char pk[FLEET_PK_BYTES]);

#endif /* AIVENAUTH_FLEET_KEY_H */
