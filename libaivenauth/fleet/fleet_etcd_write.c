/*
 * fleet_etcd_write.c - how a publisher writes a generation, or only a
 * fresh heartbeat, to etcd (fleet_etcd.h; the key layout is in
 * fleet_rec.h, the whole story in docs/FLEET.md).
 *
 * Every write of a publisher is a txn guarded by "the leader key is bound
 * to my lease": a publisher whose lease lapsed (paused, partitioned) and
 * that a second publisher replaced cannot write one more record, so two
 * publishers never publish at once.  A generation becomes visible only
 * when `current` moves to it, in the txn that also writes its heartbeat,
 * after all its records and its manifest are in: a publisher killed
 * midway leaves an orphan generation no follower reads as current (and
 * if one did, the manifest would not match).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "fleet/fleet_etcd.h"

#define BATCH_BYTES (1024 * 1024)   /* under etcd's 1.5 MiB request cap */
#define BATCH_OPS (ETCD_TXN_MAX_OPS - 1)
#define GEN_TEXT_MAX 24

/* A batch of puts, all or none, only while the leader key is ours. */
struct batch {
	struct fleet_etcd *fe;
	struct etcd_cmp guard;
	struct etcd_op ops[ETCD_TXN_MAX_OPS];
	size_t n, bytes;
};

static enum aivenauth_status
batch_flush(struct batch *b)
{
	enum aivenauth_status st;
	bool ok = false;

	if (b->n == 0)
		return AIVENAUTH_OK;
	st = b->fe->ops->txn(b->fe->c, &b->guard, 1, b->ops, b->n, NULL, 0,
	    &ok, NULL);
	b->n = 0;
	b->bytes = 0;
	if (st == AIVENAUTH_OK && !ok) {
		ctx_log(b->fe->ctx, LOG_ERR, "fleet: the leader key is no "
		    "longer bound to our lease: another publisher leads; "
		    "publish stopped");
		return AIVENAUTH_ERR_FORBIDDEN;
	}
	return st;
}

struct rec_kv {
	struct buf key, val;
};

static int
rec_kv_cmp(const void *a, const void *b)
{
	const struct rec_kv *x = a, *y = b;
	size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = memcmp(x->key.data, y->key.data, n);

	if (c != 0)
		return c;
	return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

static void
rec_kvs_free(struct rec_kv *r, size_t n)
{
	size_t i;

	for (i = 0; r != NULL && i < n; i++) {
		buf_free(&r[i].key);
		buf_free(&r[i].val);
	}
	free(r);
}

/* Record idx of g (users first, then tokens) at its key in gen. */
static enum aivenauth_status
encode_one(struct fleet_etcd *fe, const unsigned char *sk, uint64_t gen,
    const struct fleet_gen *g, size_t idx, struct rec_kv *kv)
{
	const struct aivenauth_snapshot *s = &g->snap;
	enum aivenauth_status st;
	struct fleet_rec r;

	memset(&r, 0, sizeof(r));
	r.generation = gen;
	r.org_id = (char *)s->organization_id;
	buf_init(&kv->key, FLEET_KEY_MAX, false);
	buf_init(&kv->val, FLEET_VALUE_MAX, true);
	if (idx < s->n_users) {
		r.type = FLEET_T_USER;
		r.user = s->users[idx];
		st = fleet_key_user(fe->prefix, gen, r.user.user_id, &kv->key);
	} else {
		size_t t = idx - s->n_users;

		r.type = FLEET_T_TOKEN;
		r.token = s->tokens[t];
		r.has_hash = g->has_hash != NULL && g->has_hash[t];
		if (r.has_hash)
			memcpy(r.hash, g->hashes[t], HASH_BYTES);
		st = fleet_key_token(fe->prefix, gen, r.token.prefix, &kv->key);
	}
	if (st == AIVENAUTH_OK)
		st = fleet_rec_encode(sk, kv->key.data, kv->key.len, &r,
		    &kv->val);
	sodium_memzero(r.hash, sizeof(r.hash));
	return st;
}

/* "u/ID" or "t/PREFIX" (escaped as in a key) back to its kind and id. */
static enum aivenauth_status
name_parse(const char *name, size_t n, enum fleet_type *kind, struct buf *id)
{
	static const char hex[] = "0123456789ABCDEF";
	enum aivenauth_status st = AIVENAUTH_OK;
	const char *h, *l;
	size_t i;

	if (n < 3 || name[1] != '/' || (name[0] != 'u' && name[0] != 't'))
		return AIVENAUTH_ERR_INVALID;
	*kind = name[0] == 'u' ? FLEET_T_USER : FLEET_T_TOKEN;
	for (i = 2; i < n && st == AIVENAUTH_OK; i++) {
		if (name[i] != '%') {
			st = buf_addc(id, name[i]);
			continue;
		}
		if (i + 2 >= n || (h = memchr(hex, name[i + 1], 16)) == NULL ||
		    (l = memchr(hex, name[i + 2], 16)) == NULL)
			return AIVENAUTH_ERR_INVALID;
		st = buf_addc(id, (char)((h - hex) << 4 | (l - hex)));
		i += 2;
	}
	if (st == AIVENAUTH_OK)
		st = buf_addc(id, '\0');
	return st;
}

/* A removal record for the user or token `name` names. */
static enum aivenauth_status
encode_removal(struct fleet_etcd *fe, const unsigned char *sk, uint64_t gen,
    const char *org, const struct fleet_sent *e, struct rec_kv *kv)
{
	enum aivenauth_status st;
	struct fleet_rec r;
	struct buf id;

	memset(&r, 0, sizeof(r));
	buf_init(&kv->key, FLEET_KEY_MAX, false);
	buf_init(&kv->val, FLEET_VALUE_MAX, false);
	buf_init(&id, FLEET_STR_MAX + 1, false);
	r.type = FLEET_T_REMOVAL;
	r.generation = gen;
	r.org_id = (char *)org;
	if ((st = name_parse(e->name, e->name_len, &r.removal.kind, &id)) ==
	    AIVENAUTH_OK) {
		r.removal.id = id.data;
		st = r.removal.kind == FLEET_T_USER ? fleet_key_user(fe->prefix,
		    gen, id.data, &kv->key) : fleet_key_token(fe->prefix, gen,
		    id.data, &kv->key);
	}
	if (st == AIVENAUTH_OK)
		st = fleet_rec_encode(sk, kv->key.data, kv->key.len, &r,
		    &kv->val);
	buf_free(&id);
	return st;
}

/*
 * The records generation gen stores: every user and token of g (full,
 * old == NULL), or those whose content digest differs from old's or that
 * old does not have, plus a removal for each name of old that g lacks
 * (delta).  Sorted by key.
 */
static enum aivenauth_status
encode_records(struct fleet_etcd *fe, const unsigned char *sk, uint64_t gen,
    const struct fleet_gen *g, const struct fleet_dset *set,
    const struct fleet_dset *old, struct rec_kv **out, size_t *n_out)
{
	size_t cap = set->n + (old != NULL ? old->n : 0), i, j, k = 0;
	enum aivenauth_status st = AIVENAUTH_OK;
	struct rec_kv *kv;

	*out = NULL;
	*n_out = 0;
	if ((kv = calloc(cap > 0 ? cap : 1, sizeof(*kv))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	for (i = j = 0; st == AIVENAUTH_OK && (i < set->n ||
	    (old != NULL && j < old->n));) {
		const struct fleet_sent *a = i < set->n ? &set->e[i] : NULL;
		const struct fleet_sent *o = old != NULL && j < old->n ?
		    &old->e[j] : NULL;
		int c = a == NULL ? 1 : o == NULL ? -1 : memcmp(a->name, o->name,
		    (a->name_len < o->name_len ? a->name_len : o->name_len) + 1);

		if (c > 0) {                            /* gone: a removal */
			st = encode_removal(fe, sk, gen, g->snap.organization_id,
			    o, &kv[k++]);
			j++;
			continue;
		}
		if (c == 0) {
			j++;
			if (sodium_memcmp(a->cd, o->cd, FLEET_DIGEST_BYTES) == 0) {
				i++;                    /* unchanged */
				continue;
			}
		}
		st = encode_one(fe, sk, gen, g, a->idx, &kv[k++]);
		i++;
	}
	if (st != AIVENAUTH_OK) {
		ctx_log(fe->ctx, LOG_ERR, "fleet: cannot encode record %zu of "
		    "generation %" PRIu64 ": %s", k, gen,
		    aivenauth_strerror(st));
		rec_kvs_free(kv, k);
		return st;
	}
	qsort(kv, k, sizeof(*kv), rec_kv_cmp);
	*out = kv;
	*n_out = k;
	return AIVENAUTH_OK;
}

static void
guard_init(struct batch *b, struct fleet_etcd *fe, const struct buf *leader,
    int64_t lease)
{
	memset(b, 0, sizeof(*b));
	b->fe = fe;
	b->guard.key = leader->data;
	b->guard.key_len = leader->len;
	b->guard.target = ETCD_CMP_LEASE;
	b->guard.result = ETCD_CMP_EQUAL;
	b->guard.number = lease;
}

static void
op_put(struct etcd_op *op, const struct buf *k, const struct buf *v)
{
	memset(op, 0, sizeof(*op));
	op->type = ETCD_OP_PUT;
	op->key = k->data;
	op->key_len = k->len;
	op->value = v->data;
	op->value_len = v->len;
}

static enum aivenauth_status
encode_hb(struct fleet_etcd *fe, const unsigned char *sk, const char *org,
    uint64_t gen, const struct fleet_heartbeat *hb, struct buf *key,
    struct buf *val)
{
	enum aivenauth_status st;
	struct fleet_rec r;

	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_HEARTBEAT;
	r.generation = gen;
	r.org_id = (char *)org;
	r.heartbeat = *hb;
	if ((st = fleet_key_heartbeat(fe->prefix, key)) != AIVENAUTH_OK)
		return st;
	return fleet_rec_encode(sk, key->data, key->len, &r, val);
}

enum aivenauth_status
fleet_publish_gen(struct fleet_etcd *fe, const unsigned char sk[FLEET_SK_BYTES],
    int64_t lease, uint64_t gen, const struct fleet_gen *g,
    const struct fleet_heartbeat *hb)
{
	return fleet_publish_set(fe, sk, lease, gen, gen, g, NULL, hb, NULL,
	    NULL);
}

enum aivenauth_status
fleet_publish_set(struct fleet_etcd *fe, const unsigned char sk[FLEET_SK_BYTES],
    int64_t lease, uint64_t gen, uint64_t full, const struct fleet_gen *g,
    const struct fleet_dset *old, const struct fleet_heartbeat *hb,
    struct fleet_dset *set_out, size_t *n_records)
{
	const char *org = g->snap.organization_id;
	struct buf leader, mkey, mval, ckey, cval, hkey, hval, dfrom, dto;
	bool delta = full != gen;
	struct rec_kv *kv = NULL;
	struct fleet_dset set;
	struct fleet_digest dg;
	struct fleet_heartbeat hb_set;
	struct fleet_rec m;
	enum aivenauth_status st;
	struct batch *b;
	uint64_t bound;
	size_t n = 0, i;

	if (set_out != NULL)
		memset(set_out, 0, sizeof(*set_out));
	if (n_records != NULL)
		*n_records = 0;
	memset(&set, 0, sizeof(set));
	if (org == NULL || gen == 0 || lease == 0 || hb == NULL ||
	    full == 0 || full > gen || (delta != (old != NULL)))
		return AIVENAUTH_ERR_INVALID;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	buf_init(&leader, FLEET_KEY_MAX, false);
	buf_init(&mkey, FLEET_KEY_MAX, false);
	buf_init(&mval, FLEET_VALUE_MAX, false);
	buf_init(&ckey, FLEET_KEY_MAX, false);
	buf_init(&cval, GEN_TEXT_MAX, false);
	buf_init(&hkey, FLEET_KEY_MAX, false);
	buf_init(&hval, FLEET_VALUE_MAX, false);
	buf_init(&dfrom, FLEET_KEY_MAX, false);
	buf_init(&dto, FLEET_KEY_MAX, false);
	if ((st = fleet_key_leader(fe->prefix, &leader)) != AIVENAUTH_OK)
		goto out;
	if ((st = fleet_dset_from_gen(g, &set)) != AIVENAUTH_OK) {
		ctx_log(fe->ctx, LOG_ERR, "fleet: cannot publish generation %"
		    PRIu64 ": %s", gen, st == AIVENAUTH_ERR_INVALID ?
		    "two records of one id, or a field out of bounds" :
		    aivenauth_strerror(st));
		goto out;
	}
	if ((st = encode_records(fe, sk, gen, g, &set, old, &kv, &n)) !=
	    AIVENAUTH_OK)
		goto out;
	guard_init(b, fe, &leader, lease);

	/* 1. The records, in key order (the records digest's order). */
	fleet_digest_init(&dg);
	for (i = 0; i < n; i++) {
		if (!fleet_digest_add(&dg, kv[i].key.data, kv[i].key.len,
		    kv[i].val.data, kv[i].val.len)) {
			st = AIVENAUTH_ERR_INVALID;
			goto out;
		}
		if (b->n == BATCH_OPS || (b->n > 0 && b->bytes +
		    kv[i].val.len + kv[i].key.len > BATCH_BYTES)) {
			if ((st = batch_flush(b)) != AIVENAUTH_OK)
				goto out;
		}
		op_put(&b->ops[b->n++], &kv[i].key, &kv[i].val);
		b->bytes += kv[i].key.len + kv[i].val.len;
	}
	if ((st = batch_flush(b)) != AIVENAUTH_OK)
		goto out;

	/* 2. The manifest: the chain, the whole set's counts and digest,
	 *    this generation's records' count and digest. */
	memset(&m, 0, sizeof(m));
	m.type = FLEET_T_MANIFEST;
	m.generation = gen;
	m.org_id = (char *)org;
	m.manifest.kind = delta ? FLEET_DELTA : FLEET_FULL;
	m.manifest.base = delta ? gen - 1 : 0;
	m.manifest.full = full;
	m.manifest.n_users = g->snap.n_users;
	m.manifest.n_tokens = g->snap.n_tokens;
	fleet_dset_digest(&set, m.manifest.digest);
	m.manifest.n_records = n;
	fleet_digest_final(&dg, m.manifest.records_digest);
	m.manifest.published_time = hb->published_time;
	memcpy(m.manifest.hash_key, g->manifest.hash_key, HASH_KEY_BYTES);
	if ((st = fleet_key_manifest(fe->prefix, gen, &mkey)) != AIVENAUTH_OK ||
	    (st = fleet_rec_encode(sk, mkey.data, mkey.len, &m, &mval)) !=
	    AIVENAUTH_OK)
		goto out;
	op_put(&b->ops[b->n++], &mkey, &mval);
	if ((st = batch_flush(b)) != AIVENAUTH_OK)
		goto out;

	/* 3. current and the heartbeat in one txn, and the generations no
	 *    follower needs dropped: those before the chain's full one, and
	 *    (a new full one) before the previous generation, which a
	 *    follower may still be reading at its revision. */
	/* The generation's heartbeat vouches for exactly this set. */
	hb_set = *hb;
	memcpy(hb_set.set_digest, m.manifest.digest, FLEET_DIGEST_BYTES);
	if ((st = fleet_key_current(fe->prefix, &ckey)) != AIVENAUTH_OK ||
	    (st = buf_addf(&cval, "%" PRIu64, gen)) != AIVENAUTH_OK ||
	    (st = encode_hb(fe, sk, org, gen, &hb_set, &hkey, &hval)) !=
	    AIVENAUTH_OK)
		goto out;
	op_put(&b->ops[b->n++], &ckey, &cval);
	op_put(&b->ops[b->n++], &hkey, &hval);
	bound = full < gen - 1 ? full : gen - 1;
	if (bound > 0) {
		if ((st = buf_add(&dfrom, fe->prefix, strlen(fe->prefix))) !=
		    AIVENAUTH_OK || (st = buf_add(&dfrom, "gen/", 4)) !=
		    AIVENAUTH_OK ||
		    (st = fleet_key_gen(fe->prefix, bound, &dto)) !=
		    AIVENAUTH_OK)
			goto out;
		memset(&b->ops[b->n], 0, sizeof(b->ops[b->n]));
		b->ops[b->n].type = ETCD_OP_DELETE;
		b->ops[b->n].key = dfrom.data;
		b->ops[b->n].key_len = dfrom.len;
		b->ops[b->n].range_end = dto.data;
		b->ops[b->n].range_end_len = dto.len;
		b->n++;
	}
	st = batch_flush(b);
	if (st == AIVENAUTH_OK && n_records != NULL)
		*n_records = n;
	if (st == AIVENAUTH_OK && set_out != NULL) {
		*set_out = set;
		memset(&set, 0, sizeof(set));
	}
out:
	fleet_dset_free(&set);
	rec_kvs_free(kv, n);
	buf_free(&leader);
	buf_free(&mkey);
	buf_free(&mval);
	buf_free(&ckey);
	buf_free(&cval);
	buf_free(&hkey);
	buf_free(&hval);
	buf_free(&dfrom);
	buf_free(&dto);
	free(b);
	return st;
}

enum aivenauth_status
fleet_publish_heartbeat(struct fleet_etcd *fe,
    const unsigned char sk[FLEET_SK_BYTES], int64_t lease, const char *org,
    uint64_t gen, const struct fleet_heartbeat *hb)
{
	struct buf leader, hkey, hval;
	enum aivenauth_status st;
	struct batch *b;

	if (org == NULL || lease == 0 || hb == NULL)
		return AIVENAUTH_ERR_INVALID;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	buf_init(&leader, FLEET_KEY_MAX, false);
	buf_init(&hkey, FLEET_KEY_MAX, false);
	buf_init(&hval, FLEET_VALUE_MAX, false);
	if ((st = fleet_key_leader(fe->prefix, &leader)) == AIVENAUTH_OK &&
	    (st = encode_hb(fe, sk, org, gen, hb, &hkey, &hval)) ==
	    AIVENAUTH_OK) {
		guard_init(b, fe, &leader, lease);
		op_put(&b->ops[b->n++], &hkey, &hval);
		st = batch_flush(b);
	}
	buf_free(&leader);
	buf_free(&hkey);
	buf_free(&hval);
	free(b);
	return st;
}

/*
 * Clear gen/G/ before writing generation G there: keys left by someone
 * else (a forged or half-written generation of that number, from whoever
 * could write etcd) would otherwise sit next to ours, and followers would
 * refuse the whole generation for the extra records.  Guarded by the
 * lease like every write of a publish.
 */
enum aivenauth_status
fleet_clear_gen(struct fleet_etcd *fe, int64_t lease, uint64_t gen)
{
	struct buf leader, from, to;
	enum aivenauth_status st;
	struct etcd_cmp cmp;
	struct etcd_op del;
	bool ok = false;

	buf_init(&leader, FLEET_KEY_MAX, false);
	buf_init(&from, FLEET_KEY_MAX, false);
	buf_init(&to, FLEET_KEY_MAX, false);
	if ((st = fleet_key_leader(fe->prefix, &leader)) != AIVENAUTH_OK ||
	    (st = fleet_key_gen(fe->prefix, gen, &from)) != AIVENAUTH_OK ||
	    (st = fleet_key_gen(fe->prefix, gen + 1, &to)) != AIVENAUTH_OK)
		goto out;
	memset(&cmp, 0, sizeof(cmp));
	cmp.key = leader.data;
	cmp.key_len = leader.len;
	cmp.target = ETCD_CMP_LEASE;
	cmp.result = ETCD_CMP_EQUAL;
	cmp.number = lease;
	memset(&del, 0, sizeof(del));
	del.type = ETCD_OP_DELETE;
	del.key = from.data;
	del.key_len = from.len;
	del.range_end = to.data;
	del.range_end_len = to.len;
	st = fe->ops->txn(fe->c, &cmp, 1, &del, 1, NULL, 0, &ok, NULL);
	if (st == AIVENAUTH_OK && !ok)
		st = AIVENAUTH_ERR_FORBIDDEN;
out:
	buf_free(&leader);
	buf_free(&from);
	buf_free(&to);
	return st;
}
