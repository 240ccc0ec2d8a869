/*
 * hash.c - keyed BLAKE2b-256 of tokens and constant-time comparison.
 *
 * Tokens are ~370 characters of randomness, so a slow password hash would
 * add cost (nginx calls PAM on every request) and no strength; the per-cache
 * random key makes a leaked cache useless for checking guesses anywhere
 * else, and keeps equal tokens from hashing equally across hosts.
 */
#include <sodium.h>

#include "base/internal.h"

void
token_hash(const unsigned char key[HASH_KEY_BYTES], const char *token,
    size_t len, unsigned char out[HASH_BYTES])
{
	/* Cannot fail with these sizes (32-byte output and key). */
	(void)crypto_generichash(out, HASH_BYTES, (const unsigned char *)token,
	    len, key, HASH_KEY_BYTES);
}

bool
hash_equal(const unsigned char *a, const unsigned char *b)
{
	return sodium_memcmp(a, b, HASH_BYTES) == 0;
}
