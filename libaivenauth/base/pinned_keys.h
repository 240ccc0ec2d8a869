/*
 * pinned_keys.h - the fleet's pinned Ed25519 public keys as the config
 * names them (fleet_public_keys = KEY[,KEY]).  In the foundation because
 * the config parser validates them on every host, a service's included;
 * what they verify is fleet/fleet_rec.c.
 */
#ifndef AIVENAUTH_PINNED_KEYS_H
#define AIVENAUTH_PINNED_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define FLEET_PK_BYTES 32
#define FLEET_MAX_KEYS 2            /* pinned keys: two during a rotation */
/* Base64 (original alphabet, padded) of a public key, NUL included. */
#define FLEET_PK_B64_SIZE 45

struct fleet_keys {
	unsigned n;
	unsigned char pk[FLEET_MAX_KEYS][FLEET_PK_BYTES];
};

/* Parse "KEY[,KEY]": base64 (original alphabet, padded) Ed25519 public
 * keys, blanks around commas ignored.  false (why set) on anything else,
 * on more than FLEET_MAX_KEYS, and on a repeated key. */
bool fleet_keys_parse(const char *text, struct fleet_keys *out, char *why,
    size_t wn);
void fleet_pk_b64(const unsigned char pk[FLEET_PK_BYTES],
    char out[FLEET_PK_B64_SIZE]);

#endif
