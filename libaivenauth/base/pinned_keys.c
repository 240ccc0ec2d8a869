/*
 * pinned_keys.c - parse and print the fleet's pinned public keys
 * (pinned_keys.h).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base/pinned_keys.h"

void
fleet_pk_b64(const unsigned char pk[FLEET_PK_BYTES],
    char out[FLEET_PK_B64_SIZE])
{
	sodium_bin2base64(out, FLEET_PK_B64_SIZE, pk, FLEET_PK_BYTES,
	    sodium_base64_VARIANT_ORIGINAL);
}

bool
fleet_keys_parse(const char *text, struct fleet_keys *out, char *why,
    size_t wn)
{
	const char *p = text, *e, *s;
	unsigned char pk[FLEET_PK_BYTES];
	size_t bin_len, n;
	const char *end;
	unsigned i;

	memset(out, 0, sizeof(*out));
	if (text == NULL || text[0] == '\0') {
		snprintf(why, wn, "no public key given");
		return false;
	}
	for (;;) {
		e = p + strcspn(p, ",");
		s = p;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		n = (size_t)(e - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n != FLEET_PK_B64_SIZE - 1 ||
		    sodium_base642bin(pk, sizeof(pk), s, n, NULL, &bin_len,
		    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    bin_len != FLEET_PK_BYTES || end != s + n) {
			snprintf(why, wn, "key %u is not a base64 Ed25519 "
			    "public key (44 characters, as `aivenctl fleet "
			    "keygen` prints)", out->n + 1);
			return false;
		}
		if (out->n == FLEET_MAX_KEYS) {
			snprintf(why, wn, "more than %d keys (two are enough "
			    "for a rotation)", FLEET_MAX_KEYS);
			return false;
		}
		for (i = 0; i < out->n; i++) {
			if (memcmp(out->pk[i], pk, FLEET_PK_BYTES) == 0) {
				snprintf(why, wn, "key %u repeats key %u",
				    out->n + 1, i + 1);
				return false;
			}
		}
		memcpy(out->pk[out->n++], pk, FLEET_PK_BYTES);
		if (*e == '\0')
			break;
		p = e + 1;
	}
	return true;
}
