/*
 * fleet_rec.c - encode, sign, decode and verify fleet records
 * (fleet_rec.h has the format and why it is signed).
 *
 * Decoding reads through a cursor that refuses to step past the value, so
 * a hostile etcd (or anyone who can write to it) can make a record be
 * refused, never be read out of bounds.  The signature is checked before
 * anything is allocated: only bytes the publisher signed reach the parser
 * of the body.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fleet/fleet_rec.h"

static const char MAGIC[4] = { 'A', 'V', 'F', '1' };
static const char DOMAIN[] = "aivenauth-fleet-v1";   /* NUL signed too */
#define HDR_FIXED 16                /* magic, version, type, zero, gen */
#define TOK_F_EXTEND 0x01
#define TOK_F_MANUAL 0x02
#define TOK_F_HASH 0x04
/* A revocation the API has not confirmed yet (a pending DELETE): every
 * follower refuses the token, and whichever publisher leads sends the
 * DELETE (docs/FLEET.md, "A revocation stands until the API confirms
 * it").  A record without it is byte-identical to what version 2 wrote
 * before the flag existed, so content digests do not move; a follower
 * that predates it refuses the generation (an unknown flag), failing
 * closed. */
#define TOK_F_REVOKED 0x08
#define TOK_F_ALL 0x0f

/* ------------------------------------------------------------ writing */

/* n bytes of v, little-endian (the record format's integers). */
static enum aivenauth_status
put_le(struct buf *b, uint64_t v, int n)
{
	unsigned char x[8];
	int i;

	for (i = 0; i < n; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	return buf_add(b, x, (size_t)n);
}

static enum aivenauth_status
put_u16(struct buf *b, uint16_t v)
{
	return put_le(b, v, 2);
}

static enum aivenauth_status
put_u32(struct buf *b, uint32_t v)
{
	return put_le(b, v, 4);
}

static enum aivenauth_status
put_u64(struct buf *b, uint64_t v)
{
	return put_le(b, v, 8);
}

static enum aivenauth_status
put_str(struct buf *b, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	enum aivenauth_status st;

	if (n > FLEET_STR_MAX)
		return AIVENAUTH_ERR_INVALID;
	if ((st = put_u32(b, (uint32_t)n)) != AIVENAUTH_OK)
		return st;
	return n > 0 ? buf_add(b, s, n) : AIVENAUTH_OK;
}

static enum aivenauth_status
put_list(struct buf *b, char *const *v, size_t n)
{
	enum aivenauth_status st;
	size_t i;

	if (n > FLEET_LIST_MAX)
		return AIVENAUTH_ERR_INVALID;
	if ((st = put_u32(b, (uint32_t)n)) != AIVENAUTH_OK)
		return st;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL || v[i][0] == '\0')
			return AIVENAUTH_ERR_INVALID;
		if ((st = put_str(b, v[i])) != AIVENAUTH_OK)
			return st;
	}
	return AIVENAUTH_OK;
}

static bool
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static enum aivenauth_status
body_encode(const struct fleet_rec *r, struct buf *b)
{
	const struct aivenauth_token *t = &r->token;
	enum aivenauth_status st = AIVENAUTH_OK;
	unsigned char flags = 0;

#define P(x) do { if ((st = (x)) != AIVENAUTH_OK) return st; } while (0)
	switch (r->type) {
	case FLEET_T_USER:
		if (!nonempty(r->user.user_id))
			return AIVENAUTH_ERR_INVALID;
		P(put_str(b, r->user.user_id));
		P(put_str(b, r->user.name));
		P(put_str(b, r->user.email));
		P(put_u64(b, (uint64_t)r->user.create_time));
		break;
	case FLEET_T_TOKEN:
		if (!nonempty(t->prefix) || !nonempty(t->user_id))
			return AIVENAUTH_ERR_INVALID;
		flags = (t->extend_when_used ? TOK_F_EXTEND : 0) |
		    (t->created_manually ? TOK_F_MANUAL : 0) |
		    (r->has_hash ? TOK_F_HASH : 0) |
		    (t->revoked ? TOK_F_REVOKED : 0);
		P(put_str(b, t->prefix));
		P(put_str(b, t->user_id));
		P(put_str(b, t->description));
		P(buf_addc(b, (char)flags));
		P(put_u64(b, (uint64_t)t->create_time));
		P(put_u64(b, (uint64_t)t->expiry_time));
		P(put_u64(b, (uint64_t)t->max_age_seconds));
		P(put_u64(b, (uint64_t)t->last_used_time));
		P(put_u64(b, (uint64_t)t->revoke_at));
		P(put_u64(b, (uint64_t)t->local_expiry));
		P(put_str(b, t->last_ip));
		P(put_str(b, t->last_user_agent));
		P(put_list(b, t->scopes, t->n_scopes));
		P(put_list(b, t->ip_allowlist, t->n_ip_allowlist));
		if (r->has_hash)
			P(buf_add(b, r->hash, HASH_BYTES));
		break;
	case FLEET_T_MANIFEST:
		P(buf_addc(b, (char)r->manifest.kind));
		P(put_u64(b, r->manifest.base));
		P(put_u64(b, r->manifest.full));
		P(put_u64(b, r->manifest.n_users));
		P(put_u64(b, r->manifest.n_tokens));
		P(buf_add(b, r->manifest.digest, FLEET_DIGEST_BYTES));
		P(put_u64(b, r->manifest.n_records));
		P(buf_add(b, r->manifest.records_digest, FLEET_DIGEST_BYTES));
		P(put_u64(b, (uint64_t)r->manifest.published_time));
		P(buf_add(b, r->manifest.hash_key, HASH_KEY_BYTES));
		break;
	case FLEET_T_HEARTBEAT:
		if (r->heartbeat.publisher_id[0] == '\0' ||
		    memchr(r->heartbeat.publisher_id, '\0',
		    sizeof(r->heartbeat.publisher_id)) == NULL)
			return AIVENAUTH_ERR_INVALID;
		P(put_u64(b, (uint64_t)r->heartbeat.last_sync_time));
		P(put_u64(b, (uint64_t)r->heartbeat.published_time));
		P(put_str(b, r->heartbeat.publisher_id));
		P(buf_add(b, r->heartbeat.set_digest, FLEET_DIGEST_BYTES));
		break;
	case FLEET_T_REMOVAL:
		if ((r->removal.kind != FLEET_T_USER &&
		    r->removal.kind != FLEET_T_TOKEN) ||
		    !nonempty(r->removal.id))
			return AIVENAUTH_ERR_INVALID;
		P(buf_addc(b, (char)r->removal.kind));
		P(put_str(b, r->removal.id));
		break;
	default:
		return AIVENAUTH_ERR_INVALID;
	}
#undef P
	return st;
}

/* The byte string a signature covers: domain, key, the signed bytes. */
static enum aivenauth_status
signed_msg(const char *key, size_t key_len, const void *rec, size_t n,
    struct buf *m)
{
	enum aivenauth_status st;

	if ((st = buf_add(m, DOMAIN, sizeof(DOMAIN))) != AIVENAUTH_OK ||
	    (st = put_u32(m, (uint32_t)key_len)) != AIVENAUTH_OK ||
	    (st = buf_add(m, key, key_len)) != AIVENAUTH_OK ||
	    (st = buf_add(m, rec, n)) != AIVENAUTH_OK)
		return st;
	return AIVENAUTH_OK;
}

enum aivenauth_status
fleet_rec_encode(const unsigned char sk[FLEET_SK_BYTES], const char *key,
    size_t key_len, const struct fleet_rec *r, struct buf *out)
{
	enum aivenauth_status st;
	struct buf rec, body, m;
	unsigned char sig[FLEET_SIG_BYTES];
	size_t org_len;

	if (sk == NULL || key == NULL || key_len == 0 ||
	    key_len > FLEET_KEY_MAX || r == NULL || out == NULL ||
	    !nonempty(r->org_id) || (org_len = strlen(r->org_id)) >
	    FLEET_ORG_MAX)
		return AIVENAUTH_ERR_INVALID;
	/* A hash is secret-ish (never logged): wipe the scratch copies. */
	buf_init(&rec, FLEET_VALUE_MAX, true);
	buf_init(&body, FLEET_VALUE_MAX, true);
	buf_init(&m, FLEET_VALUE_MAX + FLEET_KEY_MAX + 64, true);
	if ((st = body_encode(r, &body)) != AIVENAUTH_OK)
		goto out;
	if ((st = buf_add(&rec, MAGIC, sizeof(MAGIC))) != AIVENAUTH_OK ||
	    (st = buf_addc(&rec, FLEET_VERSION)) != AIVENAUTH_OK ||
	    (st = buf_addc(&rec, (char)r->type)) != AIVENAUTH_OK ||
	    (st = put_u16(&rec, 0)) != AIVENAUTH_OK ||
	    (st = put_u64(&rec, r->generation)) != AIVENAUTH_OK ||
	    (st = put_u16(&rec, (uint16_t)org_len)) != AIVENAUTH_OK ||
	    (st = buf_add(&rec, r->org_id, org_len)) != AIVENAUTH_OK ||
	    (st = put_u32(&rec, (uint32_t)body.len)) != AIVENAUTH_OK ||
	    (st = buf_add(&rec, body.data, body.len)) != AIVENAUTH_OK)
		goto out;
	if ((st = signed_msg(key, key_len, rec.data, rec.len, &m)) !=
	    AIVENAUTH_OK)
		goto out;
	crypto_sign_detached(sig, NULL, (const unsigned char *)m.data, m.len,
	    sk);
	if ((st = buf_add(&rec, sig, sizeof(sig))) != AIVENAUTH_OK)
		goto out;
	if (rec.len > FLEET_VALUE_MAX) {
		st = AIVENAUTH_ERR_TOO_LARGE;
		goto out;
	}
	st = buf_add(out, rec.data, rec.len);
out:
	buf_free(&rec);
	buf_free(&body);
	buf_free(&m);
	return st == AIVENAUTH_ERR_TOO_LARGE ? AIVENAUTH_ERR_INVALID : st;
}

/* ------------------------------------------------------------ reading */

struct cur {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static const unsigned char *
take(struct cur *c, size_t n)
{
	const unsigned char *p;

	if (c->bad || n > c->left) {
		c->bad = true;
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

static uint64_t
get_le(struct cur *c, size_t n)
{
	const unsigned char *p = take(c, n);
	uint64_t v = 0;
	size_t i;

	if (p == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t
get_i64(struct cur *c)
{
	return (int64_t)get_le(c, 8);
}

/* A string: NULL for an empty one (*s left NULL), else a copy. */
static bool
get_str(struct cur *c, char **s, bool required)
{
	uint32_t n = (uint32_t)get_le(c, 4);
	const unsigned char *p;

	*s = NULL;
	if (c->bad || n > FLEET_STR_MAX || (n == 0 && required)) {
		c->bad = true;
		return false;
	}
	if (n == 0)
		return true;
	if ((p = take(c, n)) == NULL || memchr(p, '\0', n) != NULL) {
		c->bad = true;
		return false;
	}
	if ((*s = strndup((const char *)p, n)) == NULL) {
		c->bad = true;
		return false;
	}
	return true;
}

static bool
get_list(struct cur *c, char ***v, size_t *n)
{
	uint32_t k = (uint32_t)get_le(c, 4), i;

	*v = NULL;
	*n = 0;
	if (c->bad || k > FLEET_LIST_MAX) {
		c->bad = true;
		return false;
	}
	if (k == 0)
		return true;
	if ((*v = calloc(k, sizeof(**v))) == NULL) {
		c->bad = true;
		return false;
	}
	for (i = 0; i < k; i++) {
		*n = i;
		if (!get_str(c, &(*v)[i], true))
			return false;
	}
	*n = k;
	return true;
}

static bool
body_decode(struct cur *c, struct fleet_rec *r)
{
	struct aivenauth_token *t = &r->token;
	const unsigned char *p;
	char *id = NULL;
	unsigned flags;

	switch (r->type) {
	case FLEET_T_USER:
		get_str(c, &r->user.user_id, true);
		get_str(c, &r->user.name, false);
		get_str(c, &r->user.email, false);
		r->user.create_time = get_i64(c);
		break;
	case FLEET_T_TOKEN:
		get_str(c, &t->prefix, true);
		get_str(c, &t->user_id, true);
		get_str(c, &t->description, false);
		p = take(c, 1);
		flags = p != NULL ? *p : 0;
		if ((flags & ~(unsigned)TOK_F_ALL) != 0)
			c->bad = true;
		t->extend_when_used = (flags & TOK_F_EXTEND) != 0;
		t->created_manually = (flags & TOK_F_MANUAL) != 0;
		r->has_hash = (flags & TOK_F_HASH) != 0;
		t->revoked = (flags & TOK_F_REVOKED) != 0;
		t->enrolled = r->has_hash;
		t->create_time = get_i64(c);
		t->expiry_time = get_i64(c);
		t->max_age_seconds = get_i64(c);
		t->last_used_time = get_i64(c);
		t->revoke_at = get_i64(c);
		t->local_expiry = get_i64(c);
		get_str(c, &t->last_ip, false);
		get_str(c, &t->last_user_agent, false);
		get_list(c, &t->scopes, &t->n_scopes);
		get_list(c, &t->ip_allowlist, &t->n_ip_allowlist);
		if (r->has_hash && (p = take(c, HASH_BYTES)) != NULL)
			memcpy(r->hash, p, HASH_BYTES);
		break;
	case FLEET_T_MANIFEST:
		p = take(c, 1);
		r->manifest.kind = p != NULL ? *p : 0;
		r->manifest.base = get_le(c, 8);
		r->manifest.full = get_le(c, 8);
		/* The chain fields say one thing only: a full generation
		 * starts its own chain, a delta changes the one before. */
		if (r->manifest.kind == FLEET_FULL ? r->manifest.base != 0 ||
		    r->manifest.full != r->generation :
		    r->manifest.kind == FLEET_DELTA ? r->generation < 2 ||
		    r->manifest.base != r->generation - 1 ||
		    r->manifest.full == 0 || r->manifest.full > r->manifest.base :
		    true)
			c->bad = true;
		r->manifest.n_users = get_le(c, 8);
		r->manifest.n_tokens = get_le(c, 8);
		if ((p = take(c, FLEET_DIGEST_BYTES)) != NULL)
			memcpy(r->manifest.digest, p, FLEET_DIGEST_BYTES);
		r->manifest.n_records = get_le(c, 8);
		if ((p = take(c, FLEET_DIGEST_BYTES)) != NULL)
			memcpy(r->manifest.records_digest, p,
			    FLEET_DIGEST_BYTES);
		r->manifest.published_time = get_i64(c);
		if ((p = take(c, HASH_KEY_BYTES)) != NULL)
			memcpy(r->manifest.hash_key, p, HASH_KEY_BYTES);
		break;
	case FLEET_T_HEARTBEAT:
		r->heartbeat.last_sync_time = get_i64(c);
		r->heartbeat.published_time = get_i64(c);
		if (get_str(c, &id, true) && strlen(id) <= FLEET_PUBLISHER_MAX)
			memcpy(r->heartbeat.publisher_id, id, strlen(id) + 1);
		else
			c->bad = true;
		free(id);
		if ((p = take(c, FLEET_DIGEST_BYTES)) != NULL)
			memcpy(r->heartbeat.set_digest, p, FLEET_DIGEST_BYTES);
		break;
	case FLEET_T_REMOVAL:
		p = take(c, 1);
		r->removal.kind = p != NULL ? (enum fleet_type)*p : 0;
		if (r->removal.kind != FLEET_T_USER &&
		    r->removal.kind != FLEET_T_TOKEN)
			c->bad = true;
		get_str(c, &r->removal.id, true);
		break;
	default:
		c->bad = true;
	}
	return !c->bad && c->left == 0;
}

void
fleet_rec_clear(struct fleet_rec *r)
{
	if (r == NULL)
		return;
	free(r->org_id);
	aivenauth_user_clear(&r->user);
	aivenauth_token_clear(&r->token);
	free(r->removal.id);
	sodium_memzero(r, sizeof(*r));
}

static enum aivenauth_status
refuse(enum fleet_err e, enum fleet_err *err, char *why, size_t wn,
    const char *msg)
{
	if (err != NULL)
		*err = e;
	if (why != NULL && wn > 0)
		snprintf(why, wn, "%s", msg);
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

enum aivenauth_status
fleet_rec_decode(const void *val, size_t len, const char *key,
    size_t key_len, const struct fleet_keys *keys, const char *expect_org,
    enum fleet_type expect_type, struct fleet_rec *out, enum fleet_err *err,
    char *why, size_t wn)
{
	enum aivenauth_status st;
	struct cur c = { val, len, false };
	const unsigned char *hdr, *org, *sig;
	uint32_t body_len;
	uint16_t org_len;
	struct buf m;
	size_t signed_len;
	unsigned i;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (err != NULL)
		*err = FLEET_E_NONE;
	if (why != NULL && wn > 0)
		why[0] = '\0';
	if (val == NULL || key == NULL || keys == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (len > FLEET_VALUE_MAX || key_len > FLEET_KEY_MAX)
		return refuse(FLEET_E_FORMAT, err, why, wn, "record too large");
	if ((hdr = take(&c, HDR_FIXED)) == NULL)
		return refuse(FLEET_E_FORMAT, err, why, wn, "record truncated");
	if (memcmp(hdr, MAGIC, sizeof(MAGIC)) != 0 || hdr[4] != FLEET_VERSION)
		return refuse(FLEET_E_VERSION, err, why, wn,
		    "not a fleet record of version 2");
	if (hdr[5] < FLEET_T_USER || hdr[5] > FLEET_T_REMOVAL ||
	    hdr[6] != 0 || hdr[7] != 0)
		return refuse(FLEET_E_VERSION, err, why, wn,
		    "unknown record type");
	org_len = (uint16_t)get_le(&c, 2);
	org = take(&c, org_len);
	body_len = (uint32_t)get_le(&c, 4);
	if (c.bad || org_len == 0 || org_len > FLEET_ORG_MAX ||
	    memchr(org, '\0', org_len) != NULL || body_len > c.left ||
	    c.left - body_len != FLEET_SIG_BYTES)
		return refuse(FLEET_E_FORMAT, err, why, wn,
		    "record fields do not add up to its size");
	signed_len = len - FLEET_SIG_BYTES;
	sig = (const unsigned char *)val + signed_len;

	/* Verify before parsing the body: the parser sees signed bytes only. */
	buf_init(&m, FLEET_VALUE_MAX + FLEET_KEY_MAX + 64, true);
	if ((st = signed_msg(key, key_len, val, signed_len, &m)) !=
	    AIVENAUTH_OK) {
		buf_free(&m);
		return st;
	}
	for (i = 0; i < keys->n && i < FLEET_MAX_KEYS && !ok; i++)
		ok = crypto_sign_verify_detached(sig,
		    (const unsigned char *)m.data, m.len, keys->pk[i]) == 0;
	buf_free(&m);
	if (!ok)
		return refuse(FLEET_E_SIGNATURE, err, why, wn, keys->n == 0 ?
		    "no fleet public key pinned" :
		    "signature does not verify against a pinned fleet key "
		    "(forged, damaged, or moved from another key)");
	if (expect_org != NULL && (strlen(expect_org) != org_len ||
	    memcmp(expect_org, org, org_len) != 0))
		return refuse(FLEET_E_ORG, err, why, wn,
		    "record of another organization");
	if (expect_type != 0 && hdr[5] != (unsigned char)expect_type)
		return refuse(FLEET_E_TYPE, err, why, wn,
		    "record of an unexpected type for its key");

	out->type = (enum fleet_type)hdr[5];
	for (i = 0; i < 8; i++)
		out->generation |= (uint64_t)hdr[8 + i] << (8 * i);
	if ((out->org_id = strndup((const char *)org, org_len)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	c.left = body_len;          /* the signature is not body */
	if (!body_decode(&c, out)) {
		fleet_rec_clear(out);
		/* Signed yet malformed: a publisher bug, still refused. */
		return refuse(FLEET_E_FORMAT, err, why, wn,
		    "signed record with a malformed body");
	}
	return AIVENAUTH_OK;
}

enum aivenauth_status
fleet_rec_content_digest(const struct fleet_rec *r,
    unsigned char out[FLEET_DIGEST_BYTES])
{
	crypto_generichash_state h;
	enum aivenauth_status st;
	unsigned char t;
	struct buf body;

	if (r == NULL || (r->type != FLEET_T_USER && r->type != FLEET_T_TOKEN))
		return AIVENAUTH_ERR_INVALID;
	buf_init(&body, FLEET_VALUE_MAX, true);
	if ((st = body_encode(r, &body)) == AIVENAUTH_OK) {
		t = (unsigned char)r->type;
		crypto_generichash_init(&h, NULL, 0, FLEET_DIGEST_BYTES);
		crypto_generichash_update(&h, &t, 1);
		crypto_generichash_update(&h, (const unsigned char *)body.data,
		    body.len);
		crypto_generichash_final(&h, out, FLEET_DIGEST_BYTES);
		sodium_memzero(&h, sizeof(h));
	}
	buf_free(&body);
	return st;
}

/* ------------------------------------------------------------ digest */

void
fleet_digest_init(struct fleet_digest *d)
{
	memset(d, 0, sizeof(*d));
	crypto_generichash_init(&d->state, NULL, 0, FLEET_DIGEST_BYTES);
}

static int
key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

bool
fleet_digest_add(struct fleet_digest *d, const char *key, size_t key_len,
    const void *val, size_t val_len)
{
	unsigned char n[4];
	int i;

	if (key_len == 0 || key_len > FLEET_KEY_MAX || val_len >
	    FLEET_VALUE_MAX)
		return false;
	if (d->any && key_cmp(d->last_key, d->last_len, key, key_len) >= 0)
		return false;
	for (i = 0; i < 4; i++)
		n[i] = (unsigned char)(key_len >> (8 * i));
	crypto_generichash_update(&d->state, n, 4);
	crypto_generichash_update(&d->state, (const unsigned char *)key,
	    key_len);
	for (i = 0; i < 4; i++)
		n[i] = (unsigned char)(val_len >> (8 * i));
	crypto_generichash_update(&d->state, n, 4);
	crypto_generichash_update(&d->state, val, val_len);
	memcpy(d->last_key, key, key_len);
	d->last_len = key_len;
	d->any = true;
	d->count++;
	return true;
}

void
fleet_digest_final(struct fleet_digest *d,
    unsigned char out[FLEET_DIGEST_BYTES])
{
	crypto_generichash_final(&d->state, out, FLEET_DIGEST_BYTES);
}
