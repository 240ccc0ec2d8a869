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
#include "fleet_key.h"
#include "fleet_rec.h"

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

/* Publish generation gen with two users and one token per user, as a
 * publisher would: records in key order, then the manifest. */
static size_t
publish(uint64_t gen, const unsigned char *sk, struct kv *out)
{
	const char *users[] = { "u1", "u2" };
	const char *prefixes[] = { "tokA", "tokB" };
	struct fleet_digest dg;
	struct fleet_rec r;
	struct buf k;
	size_t n = 0, i;

	fleet_digest_init(&dg);
	/* "manifest" < "t/" < "u/": the manifest key comes first in a range,
	 * but its digest covers the records, so it is written last. */
	n = 1;
	for (i = 0; i < 2; i++) {
		sample_token(&r, gen);
		r.token.prefix = (char *)prefixes[i];
		r.token.user_id = (char *)users[i];
		r.has_hash = i == 0;
		buf_init(&k, 256, false);
		ck_assert_int_eq(fleet_key_token(PFX, gen, prefixes[i], &k),
		    AIVENAUTH_OK);
		snprintf(out[n].key, sizeof(out[n].key), "%s", buf_cstr(&k));
		buf_free(&k);
		encode(sk, out[n].key, &r, &out[n].val);
		ck_assert(fleet_digest_add(&dg, out[n].key, strlen(out[n].key),
		    out[n].val.data, out[n].val.len));
		n++;
	}
	for (i = 0; i < 2; i++) {
		memset(&r, 0, sizeof(r));
		r.type = FLEET_T_USER;
		r.generation = gen;
		r.org_id = ORG;
		r.user.user_id = (char *)users[i];
		r.user.name = "name";
		buf_init(&k, 256, false);
		ck_assert_int_eq(fleet_key_user(PFX, gen, users[i], &k),
		    AIVENAUTH_OK);
		snprintf(out[n].key, sizeof(out[n].key), "%s", buf_cstr(&k));
		buf_free(&k);
		encode(sk, out[n].key, &r, &out[n].val);
		ck_assert(fleet_digest_add(&dg, out[n].key, strlen(out[n].key),
		    out[n].val.data, out[n].val.len));
		n++;
	}
	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_MANIFEST;
	r.generation = gen;
	r.org_id = ORG;
	r.manifest.n_users = 2;
	r.manifest.n_tokens = 2;
	r.manifest.published_time = 77;
	fleet_digest_final(&dg, r.manifest.digest);
	buf_init(&k, 256, false);
	ck_assert_int_eq(fleet_key_manifest(PFX, gen, &k), AIVENAUTH_OK);
	snprintf(out[0].key, sizeof(out[0].key), "%s", buf_cstr(&k));
	buf_free(&k);
	encode(sk, out[0].key, &r, &out[0].val);
	return n;
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
