/*
 * check_fleet.c - fleet records (fleet_rec.c) and generation assembly
 * (fleet_gen.c): round trips, and every way a record must be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "aivenauth_fleet.h"
#include "fleet/fleet_key.h"
#include "fleet/fleet_rec.h"

#define ORG "org-1"
#define PFX "/aivenauth/"

static unsigned char pk1[FLEET_PK_BYTES], sk1[FLEET_SK_BYTES];
static unsigned char pk2[FLEET_PK_BYTES], sk2[FLEET_SK_BYTES];
static struct fleet_keys keys1;     /* pk1 only */

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	crypto_sign_keypair(pk1, sk1);
	crypto_sign_keypair(pk2, sk2);
	memset(&keys1, 0, sizeof(keys1));
	keys1.n = 1;
	memcpy(keys1.pk[0], pk1, FLEET_PK_BYTES);
}

static char *scopes[] = { "user:read", "project:write" };
static char *ips[] = { "10.0.0.0/8" };

static void
sample_token(struct fleet_rec *r, uint64_t gen)
{
	memset(r, 0, sizeof(*r));
	r->type = FLEET_T_TOKEN;
	r->generation = gen;
	r->org_id = ORG;
	r->token.prefix = "abcdEFGH1234";
	r->token.user_id = "u123";
	r->token.description = "ci runner";
	r->token.create_time = 1700000000;
	r->token.expiry_time = 1800000000;
	r->token.max_age_seconds = 86400;
	r->token.extend_when_used = true;
	r->token.last_used_time = -5;
	r->token.last_ip = "192.0.2.1";
	r->token.scopes = scopes;
	r->token.n_scopes = 2;
	r->token.ip_allowlist = ips;
	r->token.n_ip_allowlist = 1;
	r->has_hash = true;
	memset(r->hash, 0xa5, HASH_BYTES);
}

static void
encode(const unsigned char *sk, const char *key, const struct fleet_rec *r,
    struct buf *out)
{
	buf_init(out, FLEET_VALUE_MAX, false);
	ck_assert_int_eq(fleet_rec_encode(sk, key, strlen(key), r, out),
	    AIVENAUTH_OK);
}

static enum aivenauth_status
decode(const struct buf *v, const char *key, const struct fleet_keys *k,
    struct fleet_rec *out, enum fleet_err *err)
{
	return fleet_rec_decode(v->data, v->len, key, strlen(key), k, ORG, 0,
	    out, err, NULL, 0);
}

START_TEST(test_token_round_trip)
{
	const char *key = PFX "gen/00000000000000000007/t/abcdEFGH1234";
	struct fleet_rec r, d;
	struct buf v, v2;
	enum fleet_err err;

	sample_token(&r, 7);
	encode(sk1, key, &r, &v);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, &err), AIVENAUTH_OK);
	ck_assert_int_eq(err, FLEET_E_NONE);
	ck_assert_int_eq(d.type, FLEET_T_TOKEN);
	ck_assert_uint_eq(d.generation, 7);
	ck_assert_str_eq(d.org_id, ORG);
	ck_assert_str_eq(d.token.prefix, "abcdEFGH1234");
	ck_assert_str_eq(d.token.user_id, "u123");
	ck_assert_str_eq(d.token.description, "ci runner");
	ck_assert_int_eq(d.token.create_time, 1700000000);
	ck_assert_int_eq(d.token.expiry_time, 1800000000);
	ck_assert_int_eq(d.token.max_age_seconds, 86400);
	ck_assert(d.token.extend_when_used);
	ck_assert(!d.token.created_manually);
	ck_assert_int_eq(d.token.last_used_time, -5);
	ck_assert_str_eq(d.token.last_ip, "192.0.2.1");
	ck_assert_ptr_null(d.token.last_user_agent);
	ck_assert_uint_eq(d.token.n_scopes, 2);
	ck_assert_str_eq(d.token.scopes[1], "project:write");
	ck_assert_uint_eq(d.token.n_ip_allowlist, 1);
	ck_assert_str_eq(d.token.ip_allowlist[0], "10.0.0.0/8");
	ck_assert(d.has_hash);
	ck_assert(d.token.enrolled);
	ck_assert_mem_eq(d.hash, r.hash, HASH_BYTES);
	/* Canonical: the decoded record encodes to the same bytes. */
	encode(sk1, key, &d, &v2);
	ck_assert_uint_eq(v.len, v2.len);
	ck_assert_mem_eq(v.data, v2.data, v.len);
	fleet_rec_clear(&d);
	buf_free(&v);
	buf_free(&v2);
}
END_TEST

/*
 * A pending revocation is part of the signed record (a flag): it survives
 * the round trip, changes the content digest (so a delta carries it), and
 * a record without it is byte-identical to one written before the flag
 * existed (flags byte 0x05 here).
 */
START_TEST(test_token_revoked_flag)
{
	const char *key = PFX "gen/00000000000000000007/t/abcdEFGH1234";
	unsigned char d1[FLEET_DIGEST_BYTES], d2[FLEET_DIGEST_BYTES];
	struct fleet_rec r, d;
	struct buf v, live;
	enum fleet_err err;
	size_t i;

	sample_token(&r, 7);
	encode(sk1, key, &r, &live);
	ck_assert_int_eq(fleet_rec_content_digest(&r, d1), AIVENAUTH_OK);
	r.token.revoked = true;
	encode(sk1, key, &r, &v);
	ck_assert_int_eq(fleet_rec_content_digest(&r, d2), AIVENAUTH_OK);
	ck_assert(memcmp(d1, d2, sizeof(d1)) != 0);
	ck_assert_uint_eq(v.len, live.len);
	/* Exactly one byte differs: the flags, 0x05 -> 0x0d. */
	for (i = 0; i < v.len - FLEET_SIG_BYTES; i++)
		if (((unsigned char *)v.data)[i] !=
		    ((unsigned char *)live.data)[i])
			break;
	ck_assert_uint_lt(i, v.len - FLEET_SIG_BYTES);
	ck_assert_uint_eq(((unsigned char *)live.data)[i], 0x05);
	ck_assert_uint_eq(((unsigned char *)v.data)[i], 0x0d);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, &err), AIVENAUTH_OK);
	ck_assert(d.token.revoked);
	ck_assert(d.has_hash);
	fleet_rec_clear(&d);
	ck_assert_int_eq(decode(&live, key, &keys1, &d, &err), AIVENAUTH_OK);
	ck_assert(!d.token.revoked);
	fleet_rec_clear(&d);
	buf_free(&v);
	buf_free(&live);
}
END_TEST

START_TEST(test_other_types_round_trip)
{
	struct fleet_rec r, d;
	struct buf v;

	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_USER;
	r.generation = 3;
	r.org_id = ORG;
	r.user.user_id = "u1";
	r.user.name = "svc";
	r.user.create_time = 42;
	encode(sk1, "k/u", &r, &v);
	ck_assert_int_eq(decode(&v, "k/u", &keys1, &d, NULL), AIVENAUTH_OK);
	ck_assert_str_eq(d.user.user_id, "u1");
	ck_assert_str_eq(d.user.name, "svc");
	ck_assert_ptr_null(d.user.email);
	ck_assert_int_eq(d.user.create_time, 42);
	fleet_rec_clear(&d);
	buf_free(&v);

	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_HEARTBEAT;
	r.generation = 9;
	r.org_id = ORG;
	r.heartbeat.last_sync_time = 1000;
	r.heartbeat.published_time = 1005;
	snprintf(r.heartbeat.publisher_id,
	    sizeof(r.heartbeat.publisher_id), "host-a");
	encode(sk1, "k/hb", &r, &v);
	ck_assert_int_eq(fleet_rec_decode(v.data, v.len, "k/hb", 4, &keys1,
	    ORG, FLEET_T_HEARTBEAT, &d, NULL, NULL, 0), AIVENAUTH_OK);
	ck_assert_uint_eq(d.generation, 9);
	ck_assert_int_eq(d.heartbeat.last_sync_time, 1000);
	ck_assert_int_eq(d.heartbeat.published_time, 1005);
	ck_assert_str_eq(d.heartbeat.publisher_id, "host-a");
	fleet_rec_clear(&d);
	/* Asked for a manifest, given a heartbeat: refused. */
	ck_assert_int_eq(fleet_rec_decode(v.data, v.len, "k/hb", 4, &keys1,
	    ORG, FLEET_T_MANIFEST, &d, NULL, NULL, 0),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	buf_free(&v);
}
END_TEST

/* Every single flipped bit, in every byte of the value, is refused. */
START_TEST(test_flipped_bit_refused)
{
	const char *key = PFX "gen/00000000000000000007/t/abcdEFGH1234";
	struct fleet_rec r, d;
	struct buf v;
	size_t i;
	int bit;

	sample_token(&r, 7);
	encode(sk1, key, &r, &v);
	for (i = 0; i < v.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			v.data[i] ^= (char)(1 << bit);
			ck_assert_msg(decode(&v, key, &keys1, &d, NULL) ==
			    AIVENAUTH_ERR_BAD_RESPONSE,
			    "byte %zu bit %d flipped yet accepted", i, bit);
			v.data[i] ^= (char)(1 << bit);
		}
	}
	/* Truncated at every length, and one byte too many. */
	for (i = 0; i < v.len; i++)
		ck_assert_int_eq(fleet_rec_decode(v.data, i, key, strlen(key),
		    &keys1, ORG, 0, &d, NULL, NULL, 0),
		    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(buf_addc(&v, 0), AIVENAUTH_OK);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	buf_free(&v);
}
END_TEST

START_TEST(test_other_key_refused)
{
	const char *key = PFX "gen/00000000000000000007/t/abcdEFGH1234";
	struct fleet_rec r, d;
	struct buf v;
	enum fleet_err err;

	sample_token(&r, 7);
	encode(sk2, key, &r, &v);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, &err),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(err, FLEET_E_SIGNATURE);
	buf_free(&v);
}
END_TEST

START_TEST(test_unsigned_refused)
{
	const char *key = PFX "gen/00000000000000000007/t/abcdEFGH1234";
	struct fleet_rec r, d;
	struct buf v;
	enum fleet_err err;

	sample_token(&r, 7);
	encode(sk1, key, &r, &v);
	/* The signature zeroed, and the signature cut off. */
	memset(v.data + v.len - FLEET_SIG_BYTES, 0, FLEET_SIG_BYTES);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, &err),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(err, FLEET_E_SIGNATURE);
	v.len -= FLEET_SIG_BYTES;
	ck_assert_int_eq(decode(&v, key, &keys1, &d, &err),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(err, FLEET_E_FORMAT);
	buf_free(&v);
}
END_TEST

START_TEST(test_moved_key_refused)
{
	const char *key = PFX "gen/00000000000000000007/t/abcdEFGH1234";
	struct fleet_rec r, d;
	struct buf v;
	enum fleet_err err;

	sample_token(&r, 7);
	encode(sk1, key, &r, &v);
	ck_assert_int_eq(decode(&v, PFX "gen/00000000000000000008/t/"
	    "abcdEFGH1234", &keys1, &d, &err), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(err, FLEET_E_SIGNATURE);
	ck_assert_int_eq(decode(&v, "/other/gen/00000000000000000007/t/"
	    "abcdEFGH1234", &keys1, &d, &err), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(err, FLEET_E_SIGNATURE);
	buf_free(&v);
}
END_TEST

START_TEST(test_other_org_refused)
{
	struct fleet_rec r, d;
	struct buf v;
	enum fleet_err err;

	sample_token(&r, 7);
	r.org_id = "org-2";
	encode(sk1, "k", &r, &v);
	ck_assert_int_eq(decode(&v, "k", &keys1, &d, &err),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(err, FLEET_E_ORG);
	buf_free(&v);
}
END_TEST

START_TEST(test_rotation_second_key)
{
	struct fleet_keys both;
	char b1[FLEET_PK_B64_SIZE], b2[FLEET_PK_B64_SIZE], text[128], why[200];
	struct fleet_rec r, d;
	struct buf v;

	fleet_pk_b64(pk1, b1);
	fleet_pk_b64(pk2, b2);
	snprintf(text, sizeof(text), "%s , %s", b1, b2);
	ck_assert_msg(fleet_keys_parse(text, &both, why, sizeof(why)), "%s",
	    why);
	ck_assert_uint_eq(both.n, 2);
	sample_token(&r, 7);
	encode(sk2, "k", &r, &v);
	ck_assert_int_eq(decode(&v, "k", &both, &d, NULL), AIVENAUTH_OK);
	fleet_rec_clear(&d);
	buf_free(&v);
	encode(sk1, "k", &r, &v);
	ck_assert_int_eq(decode(&v, "k", &both, &d, NULL), AIVENAUTH_OK);
	fleet_rec_clear(&d);
	buf_free(&v);
}
END_TEST

START_TEST(test_keys_parse_bad)
{
	struct fleet_keys k;
	char b1[FLEET_PK_B64_SIZE], text[256], why[200];

	fleet_pk_b64(pk1, b1);
	ck_assert(fleet_keys_parse(b1, &k, why, sizeof(why)));
	ck_assert_uint_eq(k.n, 1);
	ck_assert_mem_eq(k.pk[0], pk1, FLEET_PK_BYTES);
	ck_assert(!fleet_keys_parse("", &k, why, sizeof(why)));
	ck_assert(!fleet_keys_parse("abc", &k, why, sizeof(why)));
	snprintf(text, sizeof(text), "%s,", b1);
	ck_assert(!fleet_keys_parse(text, &k, why, sizeof(why)));
	snprintf(text, sizeof(text), "%s,%s", b1, b1);
	ck_assert(!fleet_keys_parse(text, &k, why, sizeof(why)));
	ck_assert(strstr(why, "repeats") != NULL);
	snprintf(text, sizeof(text), "%.43s", b1);
	ck_assert(!fleet_keys_parse(text, &k, why, sizeof(why)));
	/* Three keys. */
	{
		char b2[FLEET_PK_B64_SIZE], b3[FLEET_PK_B64_SIZE];
		unsigned char p3[FLEET_PK_BYTES], s3[FLEET_SK_BYTES];

		crypto_sign_keypair(p3, s3);
		fleet_pk_b64(pk2, b2);
		fleet_pk_b64(p3, b3);
		snprintf(text, sizeof(text), "%s,%s,%s", b1, b2, b3);
		ck_assert(!fleet_keys_parse(text, &k, why, sizeof(why)));
	}
}
END_TEST

/* ------------------------------------------------------------ generations */

struct kv {
	char key[256];
	struct buf val;
};

/* The records of a set or of one generation (shallow: static strings). */
#define MAXR 16
struct tgen {
	struct fleet_rec r[MAXR];
	size_t n;
};

static void
t_user(struct tgen *t, const char *id)
{
	struct fleet_rec *r = &t->r[t->n++];

	memset(r, 0, sizeof(*r));
	r->type = FLEET_T_USER;
	r->org_id = ORG;
	r->user.user_id = (char *)id;
	r->user.name = "name";
}

static void
t_token(struct tgen *t, const char *prefix, const char *user,
    const char *desc, bool hash)
{
	struct fleet_rec *r = &t->r[t->n++];

	sample_token(r, 0);
	r->token.prefix = (char *)prefix;
	r->token.user_id = (char *)user;
	r->token.description = (char *)desc;
	r->has_hash = hash;
}

static void
t_removal(struct tgen *t, enum fleet_type kind, const char *id)
{
	struct fleet_rec *r = &t->r[t->n++];

	memset(r, 0, sizeof(*r));
	r->type = FLEET_T_REMOVAL;
	r->org_id = ORG;
	r->removal.kind = kind;
	r->removal.id = (char *)id;
}

/* Counts and set digest of a set, computed as fleet_dset_* define it. */
static void
set_digest(const struct tgen *set, unsigned char out[FLEET_DIGEST_BYTES],
    uint64_t *nu, uint64_t *nt)
{
	struct aivenauth_user users[MAXR];
	struct aivenauth_token tokens[MAXR];
	bool has[MAXR];
	unsigned char hashes[MAXR][HASH_BYTES];
	struct fleet_dset ds;
	struct fleet_gen g;
	size_t i;

	memset(&g, 0, sizeof(g));
	g.snap.users = users;
	g.snap.tokens = tokens;
	g.has_hash = has;
	g.hashes = hashes;
	for (i = 0; i < set->n; i++) {
		const struct fleet_rec *r = &set->r[i];

		if (r->type == FLEET_T_USER) {
			users[g.snap.n_users++] = r->user;
		} else {
			has[g.snap.n_tokens] = r->has_hash;
			memcpy(hashes[g.snap.n_tokens], r->hash, HASH_BYTES);
			tokens[g.snap.n_tokens++] = r->token;
		}
	}
	ck_assert_int_eq(fleet_dset_from_gen(&g, &ds), AIVENAUTH_OK);
	fleet_dset_digest(&ds, out);
	fleet_dset_free(&ds);
	*nu = g.snap.n_users;
	*nt = g.snap.n_tokens;
}

static int
kv_cmp(const void *x, const void *y)
{
	return strcmp(((const struct kv *)x)->key, ((const struct kv *)y)->key);
}

/*
 * Generation gen as a publisher writes it: the records of recs at their
 * keys (sorted), and in out[0] (its key sorts first) the manifest of kind
 * and chain start full, counting recs and describing the whole set `set`,
 * with hash key bytes hk.  Returns the number of pairs.
 */
static size_t
mkgen(uint64_t gen, uint8_t kind, uint64_t full, const struct tgen *recs,
    const struct tgen *set, unsigned char hk, const unsigned char *sk,
    struct kv *out)
{
	struct fleet_digest dg;
	struct fleet_rec r;
	struct buf k;
	size_t n = 1, i;

	for (i = 0; i < recs->n; i++, n++) {
		r = recs->r[i];
		r.generation = gen;
		buf_init(&k, 256, false);
		if (r.type == FLEET_T_USER)
			ck_assert_int_eq(fleet_key_user(PFX, gen, r.user.user_id,
			    &k), AIVENAUTH_OK);
		else if (r.type == FLEET_T_TOKEN)
			ck_assert_int_eq(fleet_key_token(PFX, gen,
			    r.token.prefix, &k), AIVENAUTH_OK);
		else if (r.removal.kind == FLEET_T_USER)
			ck_assert_int_eq(fleet_key_user(PFX, gen, r.removal.id,
			    &k), AIVENAUTH_OK);
		else
			ck_assert_int_eq(fleet_key_token(PFX, gen, r.removal.id,
			    &k), AIVENAUTH_OK);
		snprintf(out[n].key, sizeof(out[n].key), "%s", buf_cstr(&k));
		buf_free(&k);
		encode(sk, out[n].key, &r, &out[n].val);
	}
	qsort(out + 1, n - 1, sizeof(*out), kv_cmp);
	fleet_digest_init(&dg);
	for (i = 1; i < n; i++)
		ck_assert(fleet_digest_add(&dg, out[i].key, strlen(out[i].key),
		    out[i].val.data, out[i].val.len));
	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_MANIFEST;
	r.generation = gen;
	r.org_id = ORG;
	r.manifest.kind = kind;
	r.manifest.base = kind == FLEET_DELTA ? gen - 1 : 0;
	r.manifest.full = full;
	set_digest(set, r.manifest.digest, &r.manifest.n_users,
	    &r.manifest.n_tokens);
	r.manifest.n_records = recs->n;
	fleet_digest_final(&dg, r.manifest.records_digest);
	r.manifest.published_time = 77;
	memset(r.manifest.hash_key, hk, HASH_KEY_BYTES);
	buf_init(&k, 256, false);
	ck_assert_int_eq(fleet_key_manifest(PFX, gen, &k), AIVENAUTH_OK);
	snprintf(out[0].key, sizeof(out[0].key), "%s", buf_cstr(&k));
	buf_free(&k);
	encode(sk, out[0].key, &r, &out[0].val);
	return n;
}

/* The set of generation 4 in the delta tests, and of publish(). */
static void
set4(struct tgen *t)
{
	t->n = 0;
	t_token(t, "tokA", "u1", "ci runner", true);
	t_token(t, "tokB", "u2", "ci runner", false);
	t_user(t, "u1");
	t_user(t, "u2");
}

/* Publish generation gen with two users and one token per user, as a
 * publisher would: a full generation. */
static size_t
publish(uint64_t gen, const unsigned char *sk, struct kv *out)
{
	struct tgen s;

	set4(&s);
	return mkgen(gen, FLEET_FULL, gen, &s, &s, 0, sk, out);
}

static void
kv_free(struct kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_free(&kv[i].val);
}

/* Assemble kv[0..n) except index skip (SIZE_MAX: none). */
static enum aivenauth_status
assemble(uint64_t gen, const struct fleet_keys *k, struct kv *kv, size_t n,
    size_t skip, struct fleet_gen *out, char *why, size_t wn)
{
	struct fleet_gen_builder b;
	enum aivenauth_status st;
	size_t i;

	ck_assert_int_eq(fleet_gen_begin(&b, PFX, gen, k, ORG), AIVENAUTH_OK);
	for (i = 0; i < n; i++) {
		if (i == skip)
			continue;
		st = fleet_gen_add(&b, kv[i].key, strlen(kv[i].key),
		    kv[i].val.data, kv[i].val.len);
		if (st != AIVENAUTH_OK) {
			snprintf(why, wn, "%s", b.why);
			fleet_gen_abort(&b);
			return st;
		}
	}
	st = fleet_gen_finish(&b, out);
	snprintf(why, wn, "%s", b.why);
	return st;
}

START_TEST(test_gen_complete)
{
	struct kv kv[8];
	struct fleet_gen g;
	char why[256];
	size_t n = publish(5, sk1, kv);

	ck_assert_msg(assemble(5, &keys1, kv, n, SIZE_MAX, &g, why,
	    sizeof(why)) == AIVENAUTH_OK, "%s", why);
	ck_assert_uint_eq(g.generation, 5);
	ck_assert_str_eq(g.snap.organization_id, ORG);
	ck_assert_uint_eq(g.snap.n_users, 2);
	ck_assert_uint_eq(g.snap.n_tokens, 2);
	ck_assert_str_eq(g.snap.users[1].user_id, "u2");
	ck_assert_str_eq(g.snap.tokens[0].prefix, "tokA");
	ck_assert(g.has_hash[0]);
	ck_assert(!g.has_hash[1]);
	ck_assert_mem_eq(g.hashes[0], "\xa5\xa5\xa5\xa5", 4);
	ck_assert_int_eq(g.manifest.published_time, 77);
	fleet_gen_free(&g);
	kv_free(kv, n);
}
END_TEST

/* Any record missing (publisher killed mid-publish), the manifest
 * missing, a record of another generation: the generation is refused. */
START_TEST(test_gen_partial_refused)
{
	struct kv kv[8], old[8];
	struct fleet_gen g;
	char why[256];
	size_t n = publish(5, sk1, kv), i;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(assemble(5, &keys1, kv, n, i, &g, why,
		    sizeof(why)), AIVENAUTH_ERR_BAD_RESPONSE);
		ck_assert(why[0] != '\0');
	}
	/* An older generation's record replayed under this generation's
	 * key is a moved record: its signature names the old key. */
	publish(4, sk1, old);
	buf_free(&kv[1].val);
	kv[1].val = old[1].val;
	old[1].val.data = NULL;
	old[1].val.len = 0;
	ck_assert_int_eq(assemble(5, &keys1, kv, n, SIZE_MAX, &g, why,
	    sizeof(why)), AIVENAUTH_ERR_BAD_RESPONSE);
	kv_free(kv, n);
	kv_free(old, n);
}
END_TEST

START_TEST(test_gen_foreign_signer_refused)
{
	struct kv kv[8];
	struct fleet_gen g;
	char why[256];
	size_t n = publish(5, sk2, kv);

	ck_assert_int_eq(assemble(5, &keys1, kv, n, SIZE_MAX, &g, why,
	    sizeof(why)), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert(strstr(why, "signature") != NULL);
	kv_free(kv, n);
}
END_TEST

/* The generation is in what is signed: a follower comparing it with the
 * one it applied can refuse a replay of an older one. */
START_TEST(test_older_generation_detectable)
{
	struct kv kv[8];
	struct fleet_gen g;
	char why[256];
	size_t n = publish(4, sk1, kv);

	ck_assert_int_eq(assemble(4, &keys1, kv, n, SIZE_MAX, &g, why,
	    sizeof(why)), AIVENAUTH_OK);
	ck_assert_uint_lt(g.generation, 5);
	fleet_gen_free(&g);
	/* Asked as generation 5, generation 4's records are refused. */
	ck_assert_int_eq(assemble(5, &keys1, kv, n, SIZE_MAX, &g, why,
	    sizeof(why)), AIVENAUTH_ERR_BAD_RESPONSE);
	kv_free(kv, n);
}
END_TEST

/* ------------------------------------------------------------ deltas */

/* Generation 4 (full), 5 (tokA changed, tokB removed, tokC added) and 6
 * (tokC and user u2 removed), each as a publisher writes it. */
struct chain {
	struct kv g4[8], g5[8], g6[8];
	size_t n4, n5, n6;
	struct tgen s4, s5, s6, d5, d6;
};

static void
chain_make(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	set4(&c->s4);
	c->d5.n = 0;
	t_token(&c->d5, "tokA", "u1", "changed", true);
	t_removal(&c->d5, FLEET_T_TOKEN, "tokB");
	t_token(&c->d5, "tokC", "u1", "new one", true);
	c->s5.n = 0;
	t_token(&c->s5, "tokA", "u1", "changed", true);
	t_token(&c->s5, "tokC", "u1", "new one", true);
	t_user(&c->s5, "u1");
	t_user(&c->s5, "u2");
	c->d6.n = 0;
	t_removal(&c->d6, FLEET_T_TOKEN, "tokC");
	t_removal(&c->d6, FLEET_T_USER, "u2");
	c->s6.n = 0;
	t_token(&c->s6, "tokA", "u1", "changed", true);
	t_user(&c->s6, "u1");
	c->n4 = mkgen(4, FLEET_FULL, 4, &c->s4, &c->s4, 0, sk1, c->g4);
	c->n5 = mkgen(5, FLEET_DELTA, 4, &c->d5, &c->s5, 0, sk1, c->g5);
	c->n6 = mkgen(6, FLEET_DELTA, 4, &c->d6, &c->s6, 0, sk1, c->g6);
}

static void
chain_free(struct chain *c)
{
	kv_free(c->g4, c->n4);
	kv_free(c->g5, c->n5);
	kv_free(c->g6, c->n6);
}

/* What a follower holds after applying generation 4. */
static struct fleet_gen *
base4(struct chain *c, struct fleet_gen *g)
{
	char why[256];

	ck_assert_msg(assemble(4, &keys1, c->g4, c->n4, SIZE_MAX, g, why,
	    sizeof(why)) == AIVENAUTH_OK, "%s", why);
	return g;
}

/* Assemble from..to onto base (may be NULL) from the pairs of up to three
 * lists, in order, leaving out pair `skip` of the first list. */
static enum aivenauth_status
run_chain(uint64_t from, uint64_t to, struct fleet_gen *base,
    struct kv *a, size_t na, size_t skip, struct kv *b, size_t nb,
    struct kv *c, size_t nc, struct fleet_gen *out, char *why, size_t wn,
    uint64_t *read)
{
	struct fleet_gen_builder bl;
	enum aivenauth_status st = AIVENAUTH_OK;
	struct kv *l[3] = { a, b, c };
	size_t n[3] = { na, nb, nc }, i, j;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	ck_assert_int_eq(fleet_gen_begin_chain(&bl, PFX, from, to, &keys1, ORG,
	    base), AIVENAUTH_OK);
	for (j = 0; j < 3 && st == AIVENAUTH_OK; j++) {
		for (i = 0; i < n[j] && st == AIVENAUTH_OK; i++) {
			if (j == 0 && i == skip)
				continue;
			st = fleet_gen_add(&bl, l[j][i].key, strlen(l[j][i].key),
			    l[j][i].val.data, l[j][i].val.len);
		}
	}
	if (read != NULL)
		*read = bl.records_read;
	if (st == AIVENAUTH_OK)
		st = fleet_gen_finish(&bl, out);
	else
		fleet_gen_abort(&bl);
	snprintf(why, wn, "%s", bl.why);
	return st;
}

START_TEST(test_delta_chain_good)
{
	struct fleet_gen base, g;
	struct chain c;
	char why[256];
	uint64_t read = 0;

	chain_make(&c);
	/* A follower behind the chain: the full generation and both deltas,
	 * one range. */
	ck_assert_msg(run_chain(4, 6, NULL, c.g4, c.n4, SIZE_MAX, c.g5, c.n5,
	    c.g6, c.n6, &g, why, sizeof(why), &read) == AIVENAUTH_OK, "%s",
	    why);
	ck_assert_uint_eq(read, c.n4 + c.n5 + c.n6);
	ck_assert_uint_eq(g.generation, 6);
	ck_assert_uint_eq(g.snap.n_tokens, 1);
	ck_assert_uint_eq(g.snap.n_users, 1);
	ck_assert_str_eq(g.snap.tokens[0].prefix, "tokA");
	ck_assert_str_eq(g.snap.tokens[0].description, "changed");
	ck_assert_str_eq(g.snap.users[0].user_id, "u1");
	ck_assert_uint_eq(g.manifest.kind, FLEET_DELTA);
	fleet_gen_free(&g);
	/* A follower at 4: only the deltas, onto what it holds. */
	ck_assert_msg(run_chain(5, 6, base4(&c, &base), c.g5, c.n5, SIZE_MAX,
	    c.g6, c.n6, NULL, 0, &g, why, sizeof(why), &read) ==
	    AIVENAUTH_OK, "%s", why);
	ck_assert_uint_eq(read, c.n5 + c.n6);
	ck_assert_uint_eq(g.snap.n_tokens, 1);
	ck_assert_str_eq(g.snap.tokens[0].description, "changed");
	ck_assert(g.has_hash[0]);
	ck_assert_mem_eq(g.hashes[0], "\xa5\xa5\xa5\xa5", 4);
	fleet_gen_free(&g);
	/* One delta: tokA changed, tokB gone, tokC there with its hash. */
	ck_assert_msg(run_chain(5, 5, base4(&c, &base), c.g5, c.n5, SIZE_MAX,
	    NULL, 0, NULL, 0, &g, why, sizeof(why), NULL) == AIVENAUTH_OK,
	    "%s", why);
	ck_assert_uint_eq(g.snap.n_tokens, 2);
	ck_assert_str_eq(g.snap.tokens[0].prefix, "tokA");
	ck_assert_str_eq(g.snap.tokens[1].prefix, "tokC");
	ck_assert(g.has_hash[1]);
	ck_assert_uint_eq(g.snap.n_users, 2);
	fleet_gen_free(&g);
	chain_free(&c);
}
END_TEST

/* A record of the delta missing, one extra (validly signed for the
 * generation, not in its manifest), one replaced by another validly
 * signed value: refused, whatever the set would be. */
START_TEST(test_delta_records_refused)
{
	struct fleet_gen base, g;
	struct fleet_rec r;
	struct chain c;
	struct kv more[9];
	char why[256];
	size_t i;

	chain_make(&c);
	for (i = 0; i < c.n5; i++) {
		ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), c.g5, c.n5, i,
		    NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
		    AIVENAUTH_ERR_BAD_RESPONSE);
		ck_assert(why[0] != '\0');
	}
	/* Extra: a token tokD, signed for generation 5 at its key. */
	memcpy(more, c.g5, c.n5 * sizeof(*more));
	t_token(&c.d5, "tokD", "u1", "extra", true);
	r = c.d5.r[c.d5.n - 1];
	r.generation = 5;
	snprintf(more[c.n5].key, sizeof(more[c.n5].key), "%s",
	    PFX "gen/00000000000000000005/t/tokD");
	encode(sk1, more[c.n5].key, &r, &more[c.n5].val);
	qsort(more + 1, c.n5, sizeof(*more), kv_cmp);
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), more, c.n5 + 1,
	    SIZE_MAX, NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "records differ") != NULL, "%s", why);
	for (i = 0; i <= c.n5; i++)
		if (strstr(more[i].key, "tokD") != NULL)
			buf_free(&more[i].val);
	/* Replaced: tokC's value by another one, validly signed. */
	memcpy(more, c.g5, c.n5 * sizeof(*more));
	for (i = 1; i < c.n5; i++)
		if (strstr(more[i].key, "tokC") != NULL)
			break;
	ck_assert_uint_lt(i, c.n5);
	r = c.d5.r[2];
	r.generation = 5;
	r.token.description = "replaced";
	encode(sk1, more[i].key, &r, &more[i].val);
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), more, c.n5,
	    SIZE_MAX, NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "records differ") != NULL, "%s", why);
	buf_free(&more[i].val);
	chain_free(&c);
}
END_TEST

/* Deltas a publisher signed yet that do not make a consistent chain:
 * refused. */
START_TEST(test_delta_chain_refused)
{
	struct fleet_gen base, g, g5;
	struct tgen d, bad;
	struct chain c;
	struct kv kv[8];
	char why[256];
	size_t n;

	chain_make(&c);
	/* A removal of a key not in the set. */
	d.n = 0;
	t_removal(&d, FLEET_T_TOKEN, "tokZ");
	n = mkgen(5, FLEET_DELTA, 4, &d, &c.s4, 0, sk1, kv);
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), kv, n, SIZE_MAX,
	    NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "removes t/tokZ") != NULL, "%s", why);
	kv_free(kv, n);
	/* A removal in a full generation. */
	d = c.s4;
	t_removal(&d, FLEET_T_TOKEN, "tokZ");
	n = mkgen(4, FLEET_FULL, 4, &d, &c.s4, 0, sk1, kv);
	ck_assert_int_eq(run_chain(4, 4, NULL, kv, n, SIZE_MAX, NULL, 0, NULL,
	    0, &g, why, sizeof(why), NULL), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "removal in full") != NULL, "%s", why);
	kv_free(kv, n);
	/* Not chaining: a delta read without the set it changes; a
	 * generation missing between the base and the next delta. */
	ck_assert_int_eq(run_chain(5, 5, NULL, c.g5, c.n5, SIZE_MAX, NULL, 0,
	    NULL, 0, &g, why, sizeof(why), NULL), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "delta on 4") != NULL, "%s", why);
	ck_assert_int_eq(run_chain(5, 6, base4(&c, &base), c.g6, c.n6,
	    SIZE_MAX, NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "generation 5 missing") != NULL, "%s", why);
	/* A full generation in the middle of a chain. */
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), c.g4, c.n4,
	    SIZE_MAX, NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	/* Replayed: delta 5 again to a follower that holds 5. */
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), c.g5, c.n5,
	    SIZE_MAX, NULL, 0, NULL, 0, &g5, why, sizeof(why), NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(run_chain(6, 6, &g5, c.g5, c.n5, SIZE_MAX, NULL, 0,
	    NULL, 0, &g, why, sizeof(why), NULL), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "generation 5") != NULL, "%s", why);
	/* The manifest's set digest is not what the records make (same
	 * counts, tokA's content differs). */
	bad.n = 0;
	t_token(&bad, "tokA", "u1", "other", true);
	t_token(&bad, "tokC", "u1", "new one", true);
	t_user(&bad, "u1");
	t_user(&bad, "u2");
	n = mkgen(5, FLEET_DELTA, 4, &c.d5, &bad, 0, sk1, kv);
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), kv, n, SIZE_MAX,
	    NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "set differs from its manifest's digest") !=
	    NULL, "%s", why);
	kv_free(kv, n);
	/* Counts that are not the set's. */
	t_user(&bad, "u3");
	n = mkgen(5, FLEET_DELTA, 4, &c.d5, &bad, 0, sk1, kv);
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), kv, n, SIZE_MAX,
	    NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "counts") != NULL, "%s", why);
	kv_free(kv, n);
	/* A delta that would change the hash key. */
	n = mkgen(5, FLEET_DELTA, 4, &c.d5, &c.s5, 1, sk1, kv);
	ck_assert_int_eq(run_chain(5, 5, base4(&c, &base), kv, n, SIZE_MAX,
	    NULL, 0, NULL, 0, &g, why, sizeof(why), NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "hash key") != NULL, "%s", why);
	kv_free(kv, n);
	chain_free(&c);
}
END_TEST

/* The manifest's chain fields and the removal record round trip, and
 * chain fields that say two things are refused at decode. */
START_TEST(test_delta_records_format)
{
	const char *key = PFX "gen/00000000000000000005/manifest";
	struct fleet_rec r, d;
	struct buf v, v2;

	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_MANIFEST;
	r.generation = 5;
	r.org_id = ORG;
	r.manifest.kind = FLEET_DELTA;
	r.manifest.base = 4;
	r.manifest.full = 2;
	r.manifest.n_records = 3;
	memset(r.manifest.records_digest, 7, FLEET_DIGEST_BYTES);
	encode(sk1, key, &r, &v);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, NULL), AIVENAUTH_OK);
	ck_assert_uint_eq(d.manifest.kind, FLEET_DELTA);
	ck_assert_uint_eq(d.manifest.base, 4);
	ck_assert_uint_eq(d.manifest.full, 2);
	ck_assert_uint_eq(d.manifest.n_records, 3);
	encode(sk1, key, &d, &v2);
	ck_assert_uint_eq(v.len, v2.len);
	ck_assert_mem_eq(v.data, v2.data, v.len);
	fleet_rec_clear(&d);
	buf_free(&v);
	buf_free(&v2);
	r.manifest.base = 3;                /* not the one before */
	encode(sk1, key, &r, &v);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	buf_free(&v);
	r.manifest.base = 4;
	r.manifest.full = 5;                /* a delta starting its chain */
	encode(sk1, key, &r, &v);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	buf_free(&v);
	r.manifest.kind = FLEET_FULL;       /* a full one with a base */
	encode(sk1, key, &r, &v);
	ck_assert_int_eq(decode(&v, key, &keys1, &d, NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	buf_free(&v);
	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_REMOVAL;
	r.generation = 5;
	r.org_id = ORG;
	r.removal.kind = FLEET_T_TOKEN;
	r.removal.id = "a/b";
	encode(sk1, "k", &r, &v);
	ck_assert_int_eq(decode(&v, "k", &keys1, &d, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(d.removal.kind, FLEET_T_TOKEN);
	ck_assert_str_eq(d.removal.id, "a/b");
	fleet_rec_clear(&d);
	buf_free(&v);
}
END_TEST

START_TEST(test_keys_layout)
{
	struct buf b;

	buf_init(&b, 256, false);
	/* Token prefixes are base64: '/' is escaped, never a path step;
	 * '%' too, so that the mapping stays one to one. */
	ck_assert_int_eq(fleet_key_token(PFX, 12, "a/b%c\n", &b),
	    AIVENAUTH_OK);
	ck_assert_str_eq(buf_cstr(&b),
	    "/aivenauth/gen/00000000000000000012/t/a%2Fb%25c%0A");
	b.len = 0;
	ck_assert_int_eq(fleet_key_token(PFX, 12, "", &b),
	    AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(fleet_key_token("/noslash", 12, "ab", &b),
	    AIVENAUTH_ERR_INVALID);
	b.len = 0;
	ck_assert_int_eq(fleet_key_manifest(PFX, 12, &b), AIVENAUTH_OK);
	ck_assert_str_eq(buf_cstr(&b),
	    "/aivenauth/gen/00000000000000000012/manifest");
	buf_free(&b);
}
END_TEST

/* keygen -> load -> sign -> verify with the printed key; a key file that
 * is group-readable or damaged is refused. */
START_TEST(test_key_file)
{
	char dir[] = "/tmp/check_fleet.XXXXXX", path[64], b64[45];
	unsigned char sk[FLEET_SK_BYTES], pk[FLEET_PK_BYTES];
	struct aivenauth_ctx *ctx;
	struct fleet_keys k;
	struct fleet_rec r, d;
	struct buf v;
	char why[200];
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fleet.key", dir);
	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_fleet_keygen(ctx, path, b64), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_fleet_keygen(ctx, path, b64),
	    AIVENAUTH_ERR_EXISTS);
	ck_assert_int_eq(fleet_key_load(ctx, path, sk, pk), AIVENAUTH_OK);
	ck_assert(fleet_keys_parse(b64, &k, why, sizeof(why)));
	ck_assert_mem_eq(k.pk[0], pk, FLEET_PK_BYTES);
	sample_token(&r, 1);
	encode(sk, "k", &r, &v);
	ck_assert_int_eq(decode(&v, "k", &k, &d, NULL), AIVENAUTH_OK);
	fleet_rec_clear(&d);
	buf_free(&v);
	{
		char again[45];

		ck_assert_int_eq(aivenauth_fleet_pubkey(ctx, path, again),
		    AIVENAUTH_OK);
		ck_assert_str_eq(again, b64);
	}
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(fleet_key_load(ctx, path, sk, pk),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(chmod(path, 0600), 0);
	/* The public half replaced by another key's: damaged. */
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	memcpy(sk + 32, pk2, 32);
	{
		char line[100];

		sodium_bin2base64(line, sizeof(line), sk, sizeof(sk),
		    sodium_base64_VARIANT_ORIGINAL);
		fprintf(fp, "%s\n", line);
	}
	fclose(fp);
	ck_assert_int_eq(fleet_key_load(ctx, path, sk, pk),
	    AIVENAUTH_ERR_CONFIG);
	unlink(path);
	rmdir(dir);
	aivenauth_ctx_free(ctx);
}
END_TEST

static Suite *
fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_token_round_trip);
	tcase_add_test(tc, test_token_revoked_flag);
	tcase_add_test(tc, test_other_types_round_trip);
	tcase_add_test(tc, test_flipped_bit_refused);
	tcase_add_test(tc, test_other_key_refused);
	tcase_add_test(tc, test_unsigned_refused);
	tcase_add_test(tc, test_moved_key_refused);
	tcase_add_test(tc, test_other_org_refused);
	tcase_add_test(tc, test_rotation_second_key);
	tcase_add_test(tc, test_keys_parse_bad);
	tcase_add_test(tc, test_gen_complete);
	tcase_add_test(tc, test_gen_partial_refused);
	tcase_add_test(tc, test_gen_foreign_signer_refused);
	tcase_add_test(tc, test_older_generation_detectable);
	tcase_add_test(tc, test_delta_chain_good);
	tcase_add_test(tc, test_delta_records_refused);
	tcase_add_test(tc, test_delta_chain_refused);
	tcase_add_test(tc, test_delta_records_format);
	tcase_add_test(tc, test_keys_layout);
	tcase_add_test(tc, test_key_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fleet_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
