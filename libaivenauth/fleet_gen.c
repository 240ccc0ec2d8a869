/*
 * fleet_gen.c - the etcd key layout of a fleet and the assembly of one
 * published generation from its (key, value) pairs, verified all or
 * nothing: a follower applies a generation only if every record verifies
 * and the signed manifest vouches for exactly the set it read, so a
 * publisher killed mid-publish (records written, manifest not) leaves a
 * generation followers refuse rather than half-apply.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fleet_rec.h"

#define GEN_DIGITS 20

/* ------------------------------------------------------------ keys */

static enum aivenauth_status
key_base(const char *prefix, struct buf *out)
{
	size_t n;

	if (prefix == NULL || (n = strlen(prefix)) == 0 ||
	    prefix[n - 1] != '/')
		return AIVENAUTH_ERR_INVALID;
	return buf_add(out, prefix, n);
}

static enum aivenauth_status
key_fixed(const char *prefix, const char *name, struct buf *out)
{
	enum aivenauth_status st;

	if ((st = key_base(prefix, out)) != AIVENAUTH_OK)
		return st;
	return buf_add(out, name, strlen(name));
}

enum aivenauth_status
fleet_key_leader(const char *prefix, struct buf *out)
{
	return key_fixed(prefix, "leader", out);
}

enum aivenauth_status
fleet_key_current(const char *prefix, struct buf *out)
{
	return key_fixed(prefix, "current", out);
}

enum aivenauth_status
fleet_key_heartbeat(const char *prefix, struct buf *out)
{
	return key_fixed(prefix, "heartbeat", out);
}

enum aivenauth_status
fleet_key_gen(const char *prefix, uint64_t gen, struct buf *out)
{
	enum aivenauth_status st;

	if ((st = key_base(prefix, out)) != AIVENAUTH_OK)
		return st;
	return buf_addf(out, "gen/%020" PRIu64 "/", gen);
}

enum aivenauth_status
fleet_key_manifest(const char *prefix, uint64_t gen, struct buf *out)
{
	enum aivenauth_status st;

	if ((st = fleet_key_gen(prefix, gen, out)) != AIVENAUTH_OK)
		return st;
	return buf_add(out, "manifest", 8);
}

/*
 * An id or prefix as a key segment.  Token prefixes are base64 and may
 * hold '/' (Aiven's tokens do): '/', '%' and control characters are
 * written %XX, so that a segment never makes another key's path and the
 * mapping stays one to one (the follower recomputes the key from the
 * record's own id and compares).
 */
static enum aivenauth_status
key_leaf(const char *prefix, uint64_t gen, const char *kind,
    const char *id, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	enum aivenauth_status st;
	const unsigned char *p;
	char esc[3];

	if (id == NULL || id[0] == '\0' || strlen(id) > FLEET_STR_MAX)
		return AIVENAUTH_ERR_INVALID;
	if ((st = fleet_key_gen(prefix, gen, out)) != AIVENAUTH_OK ||
	    (st = buf_add(out, kind, strlen(kind))) != AIVENAUTH_OK)
		return st;
	for (p = (const unsigned char *)id; *p != '\0' && st == AIVENAUTH_OK;
	    p++) {
		if (*p == '/' || *p == '%' || *p < 0x20 || *p == 0x7f) {
			esc[0] = '%';
			esc[1] = hex[*p >> 4];
			esc[2] = hex[*p & 15];
			st = buf_add(out, esc, 3);
		} else {
			st = buf_add(out, (const char *)p, 1);
		}
	}
	return st;
}

enum aivenauth_status
fleet_key_user(const char *prefix, uint64_t gen, const char *user_id,
    struct buf *out)
{
	return key_leaf(prefix, gen, "u/", user_id, out);
}

enum aivenauth_status
fleet_key_token(const char *prefix, uint64_t gen, const char *token_prefix,
    struct buf *out)
{
	return key_leaf(prefix, gen, "t/", token_prefix, out);
}

/* ------------------------------------------------------------ generations */

void
fleet_gen_free(struct fleet_gen *g)
{
	if (g == NULL)
		return;
	aivenauth_users_free(g->snap.users, g->snap.n_users);
	aivenauth_tokens_free(g->snap.tokens, g->snap.n_tokens);
	if (g->hashes != NULL)
		sodium_memzero(g->hashes, g->snap.n_tokens * HASH_BYTES);
	free(g->hashes);
	free(g->has_hash);
	free(g->org);
	memset(g, 0, sizeof(*g));
}

void
fleet_gen_abort(struct fleet_gen_builder *b)
{
	fleet_gen_free(&b->g);
	sodium_memzero(&b->digest, sizeof(b->digest));
	b->have_manifest = false;
}

enum aivenauth_status
fleet_gen_begin(struct fleet_gen_builder *b, const char *prefix,
    uint64_t gen, const struct fleet_keys *keys, const char *org)
{
	memset(b, 0, sizeof(*b));
	if (prefix == NULL || keys == NULL || org == NULL || org[0] == '\0')
		return AIVENAUTH_ERR_INVALID;
	b->prefix = prefix;
	b->generation = gen;
	b->keys = keys;
	b->org = org;
	b->g.generation = gen;
	fleet_digest_init(&b->digest);
	if ((b->g.org = strdup(org)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	b->g.snap.organization_id = b->g.org;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
fail(struct fleet_gen_builder *b, const char *detail)
{
	snprintf(b->why, sizeof(b->why), "%s", detail);
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

/* Grow the parallel token arrays (tokens, has_hash, hashes) together. */
static bool
grow_tokens(struct fleet_gen_builder *b)
{
	struct fleet_gen *g = &b->g;
	size_t cap = b->cap_tokens ? b->cap_tokens * 2 : 16;
	struct aivenauth_token *t;
	unsigned char (*h)[HASH_BYTES];
	bool *hh;

	if ((t = realloc(g->snap.tokens, cap * sizeof(*t))) == NULL)
		return false;
	g->snap.tokens = t;
	/* Hashes are moved by hand: realloc would leave an unwiped copy. */
	if ((h = calloc(cap, HASH_BYTES)) == NULL)
		return false;
	if (g->hashes != NULL) {
		memcpy(h, g->hashes, g->snap.n_tokens * HASH_BYTES);
		sodium_memzero(g->hashes, g->snap.n_tokens * HASH_BYTES);
		free(g->hashes);
	}
	g->hashes = h;
	if ((hh = realloc(g->has_hash, cap * sizeof(*hh))) == NULL)
		return false;
	g->has_hash = hh;
	b->cap_tokens = cap;
	return true;
}

enum aivenauth_status
fleet_gen_add(struct fleet_gen_builder *b, const char *key, size_t key_len,
    const void *val, size_t val_len)
{
	struct fleet_gen *g = &b->g;
	enum aivenauth_status st;
	enum fleet_type want;
	struct fleet_rec r;
	struct buf base, exp;
	struct aivenauth_user *u;
	const char *leaf;
	size_t blen;
	char why[160];

	buf_init(&base, FLEET_KEY_MAX, false);
	buf_init(&exp, FLEET_KEY_MAX, false);
	if ((st = fleet_key_gen(b->prefix, b->generation, &base)) !=
	    AIVENAUTH_OK)
		goto out;
	blen = base.len;
	if (key_len <= blen + 2 || memcmp(key, base.data, blen) != 0) {
		st = fail(b, "key outside the generation's prefix");
		goto out;
	}
	leaf = key + blen;
	if (key_len - blen == 8 && memcmp(leaf, "manifest", 8) == 0)
		want = FLEET_T_MANIFEST;
	else if (memcmp(leaf, "u/", 2) == 0)
		want = FLEET_T_USER;
	else if (memcmp(leaf, "t/", 2) == 0)
		want = FLEET_T_TOKEN;
	else {
		st = fail(b, "key of an unknown kind in the generation");
		goto out;
	}
	if ((st = fleet_rec_decode(val, val_len, key, key_len, b->keys, b->org,
	    want, &r, NULL, why, sizeof(why))) != AIVENAUTH_OK) {
		fail(b, why);
		goto out;
	}
	if (r.generation != b->generation) {
		st = fail(b, "record of another generation");
		goto out_rec;
	}
	if (want == FLEET_T_MANIFEST) {
		if (b->have_manifest) {
			st = fail(b, "two manifests");
			goto out_rec;
		}
		g->manifest = r.manifest;
		b->have_manifest = true;
		st = AIVENAUTH_OK;
		goto out_rec;
	}
	/* The key must be the one the record's own id names. */
	if ((st = (want == FLEET_T_USER ? fleet_key_user(b->prefix,
	    b->generation, r.user.user_id, &exp) : fleet_key_token(b->prefix,
	    b->generation, r.token.prefix, &exp))) != AIVENAUTH_OK ||
	    exp.len != key_len || memcmp(exp.data, key, key_len) != 0) {
		st = fail(b, "record id does not match its key");
		goto out_rec;
	}
	if (!fleet_digest_add(&b->digest, key, key_len, val, val_len)) {
		st = fail(b, "keys not in increasing order");
		goto out_rec;
	}
	st = AIVENAUTH_ERR_NOMEM;
	if (want == FLEET_T_USER) {
		if (g->snap.n_users == b->cap_users) {
			size_t cap = b->cap_users ? b->cap_users * 2 : 16;

			if ((u = realloc(g->snap.users, cap * sizeof(*u))) ==
			    NULL)
				goto out_rec;
			g->snap.users = u;
			b->cap_users = cap;
		}
		g->snap.users[g->snap.n_users++] = r.user;
		memset(&r.user, 0, sizeof(r.user));
	} else {
		if (g->snap.n_tokens == b->cap_tokens && !grow_tokens(b))
			goto out_rec;
		g->has_hash[g->snap.n_tokens] = r.has_hash;
		memcpy(g->hashes[g->snap.n_tokens], r.hash, HASH_BYTES);
		g->snap.tokens[g->snap.n_tokens++] = r.token;
		memset(&r.token, 0, sizeof(r.token));
	}
	st = AIVENAUTH_OK;
out_rec:
	fleet_rec_clear(&r);
out:
	buf_free(&base);
	buf_free(&exp);
	return st;
}

enum aivenauth_status
fleet_gen_finish(struct fleet_gen_builder *b, struct fleet_gen *out)
{
	unsigned char digest[FLEET_DIGEST_BYTES];
	struct fleet_gen *g = &b->g;

	memset(out, 0, sizeof(*out));
	fleet_digest_final(&b->digest, digest);
	if (!b->have_manifest) {
		fleet_gen_abort(b);
		return fail(b, "generation without a manifest "
		    "(incomplete publish)");
	}
	if (g->manifest.n_users != g->snap.n_users ||
	    g->manifest.n_tokens != g->snap.n_tokens) {
		fleet_gen_abort(b);
		return fail(b, "generation's record count differs from "
		    "its manifest (partial or padded)");
	}
	if (sodium_memcmp(digest, g->manifest.digest, sizeof(digest)) != 0) {
		fleet_gen_abort(b);
		return fail(b, "generation's records differ from its "
		    "manifest's digest");
	}
	*out = *g;
	memset(g, 0, sizeof(*g));
	fleet_gen_abort(b);
	return AIVENAUTH_OK;
}
