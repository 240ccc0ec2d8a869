/*
 * fuzz_fleet.c - libFuzzer target: the fleet record decoder (fleet_rec.c)
 * and the generation assembly (fleet_gen.c) on arbitrary bytes, as a
 * hostile etcd (or anyone who can write to it) would hand them to a
 * follower.
 *
 * A random input never carries a valid signature, so most of the decoder
 * would stay unreached.  The first byte selects the mode:
 *   0  decode the rest as it is (the path a forger reaches)
 *   1  sign the rest with the target's fixed key, then decode: the body
 *      parser sees every shape a buggy publisher could sign; whatever it
 *      accepts must re-encode to the same bytes (the format is canonical)
 *   2  the rest is a list of (u16 key length, key, u16 value length,
 *      value) pairs, each value signed for its key, fed to a generation
 *      builder (generation 1 alone)
 *   3  the same, as deltas 2..3 onto a base held at generation 1 (one
 *      user, one token with its hash): removals, the merge, the chain
 *   4  the same, as a chain 1..3 with no base
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fleet/fleet_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "/aivenauth/gen/00000000000000000001/t/fuzzprefix12"
#define ORG "org-fuzz"

static unsigned char pk[FLEET_PK_BYTES], sk[FLEET_SK_BYTES];
static struct fleet_keys keys;

static void
init(void)
{
	static int done;
	unsigned char seed[crypto_sign_SEEDBYTES] = { 1 };

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(pk, sk, seed);
	keys.n = 1;
	memcpy(keys.pk[0], pk, FLEET_PK_BYTES);
	done = 1;
}

/* What fleet_rec.c signs: domain, key, record (kept in step by hand). */
static uint8_t *
sign(const char *key, size_t klen, const uint8_t *rec, size_t n,
    size_t *out_len)
{
	static const char dom[] = "aivenauth-fleet-v1";
	size_t mlen = sizeof(dom) + 4 + klen + n;
	uint8_t *m = malloc(mlen ? mlen : 1), *out = malloc(n + 64);
	size_t i;

	if (m == NULL || out == NULL)
		abort();
	memcpy(m, dom, sizeof(dom));
	for (i = 0; i < 4; i++)
		m[sizeof(dom) + i] = (uint8_t)(klen >> (8 * i));
	memcpy(m + sizeof(dom) + 4, key, klen);
	if (n > 0)
		memcpy(m + sizeof(dom) + 4 + klen, rec, n);
	if (n > 0)
		memcpy(out, rec, n);
	crypto_sign_detached(out + n, NULL, m, mlen, sk);
	free(m);
	*out_len = n + 64;
	return out;
}

static void
decode_checked(const uint8_t *v, size_t n, const char *key, size_t klen)
{
	struct fleet_rec r;
	struct buf again;

	if (fleet_rec_decode(v, n, key, klen, &keys, NULL, 0, &r, NULL, NULL,
	    0) != AIVENAUTH_OK)
		return;
	buf_init(&again, FLEET_VALUE_MAX, false);
	if (fleet_rec_encode(sk, key, klen, &r, &again) != AIVENAUTH_OK ||
	    again.len != n || memcmp(again.data, v, n) != 0)
		abort();    /* accepted yet not canonical */
	buf_free(&again);
	fleet_rec_clear(&r);
}

/* A follower's set at generation 1: user u1, token fuzzprefix12. */
static bool
make_base(struct fleet_gen *g)
{
	memset(g, 0, sizeof(*g));
	g->generation = 1;
	g->org = strdup(ORG);
	g->snap.organization_id = g->org;
	g->snap.users = calloc(1, sizeof(*g->snap.users));
	g->snap.tokens = calloc(1, sizeof(*g->snap.tokens));
	g->has_hash = calloc(1, sizeof(*g->has_hash));
	g->hashes = calloc(1, HASH_BYTES);
	if (g->org == NULL || g->snap.users == NULL || g->snap.tokens == NULL ||
	    g->has_hash == NULL || g->hashes == NULL)
		goto fail;
	g->snap.n_users = 1;
	g->snap.n_tokens = 1;
	if ((g->snap.users[0].user_id = strdup("u1")) == NULL ||
	    (g->snap.users[0].name = strdup("svc")) == NULL ||
	    (g->snap.tokens[0].prefix = strdup("fuzzprefix12")) == NULL ||
	    (g->snap.tokens[0].user_id = strdup("u1")) == NULL)
		goto fail;
	g->has_hash[0] = true;
	memset(g->hashes[0], 0xa5, HASH_BYTES);
	return true;
fail:
	fleet_gen_free(g);
	return false;
}

static void
gen_mode(const uint8_t *d, size_t n, int mode)
{
	struct fleet_gen_builder b;
	struct fleet_gen g, base;
	size_t pos = 0, kl, vl, sl;
	uint8_t *sv;
	char key[FLEET_KEY_MAX];
	enum aivenauth_status st;

	if (mode == 3) {
		if (!make_base(&base))
			return;
		st = fleet_gen_begin_chain(&b, "/aivenauth/", 2, 3, &keys, ORG,
		    &base);
	} else if (mode == 4) {
		st = fleet_gen_begin_chain(&b, "/aivenauth/", 1, 3, &keys, ORG,
		    NULL);
	} else {
		st = fleet_gen_begin(&b, "/aivenauth/", 1, &keys, ORG);
	}
	if (st != AIVENAUTH_OK)
		return;
	while (pos + 2 <= n) {
		kl = (size_t)d[pos] | (size_t)d[pos + 1] << 8;
		pos += 2;
		if (kl > sizeof(key) || pos + kl + 2 > n)
			break;
		memcpy(key, d + pos, kl);
		pos += kl;
		vl = (size_t)d[pos] | (size_t)d[pos + 1] << 8;
		pos += 2;
		if (pos + vl > n)
			break;
		sv = sign(key, kl, d + pos, vl, &sl);
		pos += vl;
		if (fleet_gen_add(&b, key, kl, sv, sl) != AIVENAUTH_OK) {
			free(sv);
			fleet_gen_abort(&b);
			return;
		}
		free(sv);
	}
	if (fleet_gen_finish(&b, &g) == AIVENAUTH_OK)
		fleet_gen_free(&g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *d, *sv;
	size_t sl;

	init();
	if (size == 0)
		return 0;
	/* An exact-size heap copy, so ASan sees any overread. */
	if ((d = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(d, data + 1, size - 1);
	switch (data[0] % 5) {
	case 0:
		decode_checked(d, size - 1, KEY, strlen(KEY));
		break;
	case 1:
		sv = sign(KEY, strlen(KEY), d, size - 1, &sl);
		decode_checked(sv, sl, KEY, strlen(KEY));
		free(sv);
		break;
	default:
		gen_mode(d, size - 1, data[0] % 5);
	}
	free(d);
	return 0;
}
