/*
 * fleet_gen.c - the set digest, and the assembly of what a follower applies from the (key, value) pairs of a
 * chain of generations (a full one, or the set the follower holds, then
 * deltas), verified all or nothing: a follower applies a set only if every
 * record verifies and each signed manifest vouches for exactly its
 * generation's records and for the whole set they make, so a publisher
 * killed mid-publish (records written, manifest not) leaves a generation
 * followers refuse rather than half-apply.
 *
 * Why the set is a sorted array merged with each delta: the set digest is
 * over names in order, a range returns each generation's records in that
 * order, so one merge per generation is O(set + delta) with no index.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fleet/fleet_rec.h"

#define GEN_DIGITS 20

/* ------------------------------------------------------------ sets */

/* One user or token of a set (rec owned), or a removal (rec NULL; only
 * among a generation's records, never in the set). */
struct fleet_ent {
	char *name;
	uint32_t name_len;
	unsigned char cd[FLEET_DIGEST_BYTES];
	struct fleet_rec *rec;
};

static int
name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static void
ent_free(struct fleet_ent *e)
{
	free(e->name);
	if (e->rec != NULL) {
		fleet_rec_clear(e->rec);
		free(e->rec);
	}
	memset(e, 0, sizeof(*e));
}

static void
ents_free(struct fleet_ent *e, size_t n)
{
	size_t i;

	for (i = 0; e != NULL && i < n; i++)
		ent_free(&e[i]);
	free(e);
}

static int
sent_cmp(const void *x, const void *y)
{
	const struct fleet_sent *a = x, *b = y;

	return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int
ent_cmp(const void *x, const void *y)
{
	const struct fleet_ent *a = x, *b = y;

	return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* The record of user or token i of g (i < n_users: a user), shallow. */
static void
gen_rec(const struct fleet_gen *g, size_t i, struct fleet_rec *r)
{
	memset(r, 0, sizeof(*r));
	if (i < g->snap.n_users) {
		r->type = FLEET_T_USER;
		r->user = g->snap.users[i];
		return;
	}
	i -= g->snap.n_users;
	r->type = FLEET_T_TOKEN;
	r->token = g->snap.tokens[i];
	r->has_hash = g->has_hash != NULL && g->has_hash[i];
	if (r->has_hash)
		memcpy(r->hash, g->hashes[i], HASH_BYTES);
}

void
fleet_dset_free(struct fleet_dset *s)
{
	size_t i;

	for (i = 0; s->e != NULL && i < s->n; i++)
		free(s->e[i].name);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

enum aivenauth_status
fleet_dset_from_gen(const struct fleet_gen *g, struct fleet_dset *out)
{
	size_t n = g->snap.n_users + g->snap.n_tokens, i;
	enum aivenauth_status st = AIVENAUTH_OK;
	struct fleet_rec r;
	struct buf nm;

	memset(out, 0, sizeof(*out));
	if ((out->e = calloc(n > 0 ? n : 1, sizeof(*out->e))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	buf_init(&nm, FLEET_KEY_MAX, false);
	for (i = 0; i < n && st == AIVENAUTH_OK; i++) {
		gen_rec(g, i, &r);
		nm.len = 0;
		st = fleet_name(r.type, r.type == FLEET_T_USER ? r.user.user_id :
		    r.token.prefix, &nm);
		if (st == AIVENAUTH_OK)
			st = fleet_rec_content_digest(&r, out->e[i].cd);
		sodium_memzero(r.hash, sizeof(r.hash));
		if (st != AIVENAUTH_OK)
			break;
		if ((out->e[i].name = malloc(nm.len + 1)) == NULL) {
			st = AIVENAUTH_ERR_NOMEM;
			break;
		}
		memcpy(out->e[i].name, nm.data, nm.len);
		out->e[i].name[nm.len] = '\0';
		out->e[i].name_len = (uint32_t)nm.len;
		out->e[i].idx = i;
		out->n = i + 1;
	}
	buf_free(&nm);
	if (st == AIVENAUTH_OK) {
		qsort(out->e, out->n, sizeof(*out->e), sent_cmp);
		for (i = 1; i < out->n; i++)
			if (sent_cmp(&out->e[i - 1], &out->e[i]) == 0)
				st = AIVENAUTH_ERR_INVALID;     /* two of one id */
	}
	if (st != AIVENAUTH_OK)
		fleet_dset_free(out);
	return st;
}

void
fleet_dset_digest(const struct fleet_dset *s,
    unsigned char out[FLEET_DIGEST_BYTES])
{
	struct fleet_digest d;
	size_t i;

	fleet_digest_init(&d);
	for (i = 0; i < s->n; i++)
		(void)fleet_digest_add(&d, s->e[i].name, s->e[i].name_len,
		    s->e[i].cd, FLEET_DIGEST_BYTES);
	fleet_digest_final(&d, out);
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
	ents_free(b->set, b->n_set);
	ents_free(b->ch, b->n_ch);
	free(b->org_copy);
	b->set = b->ch = NULL;
	b->n_set = b->n_ch = b->cap_set = b->cap_ch = 0;
	b->org_copy = NULL;
	sodium_memzero(&b->rd, sizeof(b->rd));
	sodium_memzero(b->hash_key, sizeof(b->hash_key));
	b->have_manifest = false;
}

static enum aivenauth_status
fail(struct fleet_gen_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum aivenauth_status
fail(struct fleet_gen_builder *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->why, sizeof(b->why), fmt, ap);
	va_end(ap);
	return AIVENAUTH_ERR_BAD_RESPONSE;
}

/* The follower's set at base->generation becomes the builder's (moved:
 * the strings change owner, nothing is copied but the hashes). */
static enum aivenauth_status
set_from_base(struct fleet_gen_builder *b, struct fleet_gen *base)
{
	size_t n = base->snap.n_users + base->snap.n_tokens, i;
	enum aivenauth_status st = AIVENAUTH_OK;
	struct fleet_dset ds;
	struct fleet_ent *e;

	if ((st = fleet_dset_from_gen(base, &ds)) != AIVENAUTH_OK)
		return st;
	if ((e = calloc(n > 0 ? n : 1, sizeof(*e))) == NULL) {
		fleet_dset_free(&ds);
		return AIVENAUTH_ERR_NOMEM;
	}
	/* Allocate everything first, then move: no half-moved base. */
	for (i = 0; i < n; i++) {
		if ((e[i].rec = calloc(1, sizeof(*e[i].rec))) == NULL) {
			st = AIVENAUTH_ERR_NOMEM;
			break;
		}
	}
	if (st != AIVENAUTH_OK) {
		ents_free(e, n);
		fleet_dset_free(&ds);
		return st;
	}
	for (i = 0; i < n; i++) {
		const struct fleet_sent *s = &ds.e[i];

		gen_rec(base, s->idx, e[i].rec);
		e[i].name = s->name;
		e[i].name_len = s->name_len;
		ds.e[i].name = NULL;
		memcpy(e[i].cd, s->cd, FLEET_DIGEST_BYTES);
	}
	/* The records own the strings now: empty the base's structs. */
	memset(base->snap.users, 0, base->snap.n_users *
	    sizeof(*base->snap.users));
	memset(base->snap.tokens, 0, base->snap.n_tokens *
	    sizeof(*base->snap.tokens));
	fleet_dset_free(&ds);
	b->set = e;
	b->n_set = b->cap_set = n;
	b->at = base->generation;
	memcpy(b->hash_key, base->manifest.hash_key, HASH_KEY_BYTES);
	return AIVENAUTH_OK;
}

enum aivenauth_status
fleet_gen_begin_chain(struct fleet_gen_builder *b, const char *prefix,
    uint64_t from, uint64_t to, const struct fleet_keys *keys,
    const char *org, struct fleet_gen *base)
{
	enum aivenauth_status st = AIVENAUTH_OK;

	memset(b, 0, sizeof(*b));
	if (prefix == NULL || keys == NULL || org == NULL || org[0] == '\0' ||
	    from == 0 || to < from || (base != NULL &&
	    base->generation + 1 != from))
		st = AIVENAUTH_ERR_INVALID;
	else if ((b->org_copy = strdup(org)) == NULL)
		st = AIVENAUTH_ERR_NOMEM;
	else if (base != NULL)
		st = set_from_base(b, base);
	if (base != NULL)
		fleet_gen_free(base);
	if (st != AIVENAUTH_OK) {
		fleet_gen_abort(b);
		return st;
	}
	b->prefix = prefix;
	b->from = from;
	b->to = to;
	b->keys = keys;
	b->org = org;
	return AIVENAUTH_OK;
}

enum aivenauth_status
fleet_gen_begin(struct fleet_gen_builder *b, const char *prefix,
    uint64_t gen, const struct fleet_keys *keys, const char *org)
{
	return fleet_gen_begin_chain(b, prefix, gen, gen, keys, org, NULL);
}

/* The generation's records are all in: check them against its manifest,
 * make the set they describe, check that against the manifest too. */
static enum aivenauth_status
end_gen(struct fleet_gen_builder *b)
{
	unsigned char d[FLEET_DIGEST_BYTES];
	struct fleet_digest sd;
	struct fleet_ent *ns;
	uint64_t nu = 0, nt = 0;
	size_t i, j, k;

	fleet_digest_final(&b->rd, d);
	if (b->n_ch != b->cm.n_records ||
	    sodium_memcmp(d, b->cm.records_digest, sizeof(d)) != 0)
		return fail(b, "generation %" PRIu64 "'s records differ from "
		    "its manifest (missing, extra or replaced)", b->cur);
	if (b->cm.kind == FLEET_FULL) {
		for (j = 0; j < b->n_ch; j++)   /* fleet_gen_add refused them */
			if (b->ch[j].rec == NULL)
				return fail(b, "a removal in full generation %"
				    PRIu64, b->cur);
		ents_free(b->set, b->n_set);
		b->set = b->ch;
		b->n_set = b->n_ch;
		b->cap_set = b->cap_ch;
		b->ch = NULL;
		b->n_ch = b->cap_ch = 0;
		memcpy(b->hash_key, b->cm.hash_key, HASH_KEY_BYTES);
	} else {
		/* Every removal must name something there (checked before
		 * anything moves, so that a refusal leaves both lists whole). */
		for (j = 0; j < b->n_ch; j++) {
			if (b->ch[j].rec == NULL && bsearch(&b->ch[j], b->set,
			    b->n_set, sizeof(*b->set), ent_cmp) == NULL)
				return fail(b, "generation %" PRIu64 " removes %s, "
				    "which the set it changes does not hold",
				    b->cur, b->ch[j].name);
		}
		if ((ns = calloc(b->n_set + b->n_ch + 1, sizeof(*ns))) == NULL)
			return AIVENAUTH_ERR_NOMEM;
		for (i = j = k = 0; i < b->n_set || j < b->n_ch;) {
			int c = i == b->n_set ? 1 : j == b->n_ch ? -1 :
			    ent_cmp(&b->set[i], &b->ch[j]);

			if (c < 0) {
				ns[k++] = b->set[i++];
				continue;
			}
			if (c == 0)
				ent_free(&b->set[i++]);
			if (b->ch[j].rec != NULL)
				ns[k++] = b->ch[j];
			else
				ent_free(&b->ch[j]);
			memset(&b->ch[j++], 0, sizeof(*b->ch));
		}
		free(b->set);
		b->set = ns;
		b->n_set = k;
		b->cap_set = b->n_set + b->n_ch + 1;
		b->n_ch = 0;
	}
	fleet_digest_init(&sd);
	for (i = 0; i < b->n_set; i++) {
		if (b->set[i].rec->type == FLEET_T_USER)
			nu++;
		else
			nt++;
		(void)fleet_digest_add(&sd, b->set[i].name, b->set[i].name_len,
		    b->set[i].cd, FLEET_DIGEST_BYTES);
	}
	fleet_digest_final(&sd, d);
	if (nu != b->cm.n_users || nt != b->cm.n_tokens)
		return fail(b, "generation %" PRIu64 "'s set counts differ from "
		    "its manifest", b->cur);
	if (sodium_memcmp(d, b->cm.digest, sizeof(d)) != 0)
		return fail(b, "generation %" PRIu64 "'s set differs from its "
		    "manifest's digest", b->cur);
	b->at = b->cur;
	return AIVENAUTH_OK;
}

/* "PREFIX gen/" + 20 digits + "/": the generation, and where the leaf
 * starts. */
static bool
parse_key(const struct fleet_gen_builder *b, const char *key, size_t len,
    uint64_t *gen, size_t *leaf)
{
	size_t pl = strlen(b->prefix), i;
	uint64_t v = 0;

	if (len < pl + 4 + 20 + 2 || memcmp(key, b->prefix, pl) != 0 ||
	    memcmp(key + pl, "gen/", 4) != 0 || key[pl + 24] != '/')
		return false;
	for (i = pl + 4; i < pl + 24; i++) {
		if (key[i] < '0' || key[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(key[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(key[i] - '0');
	}
	*gen = v;
	*leaf = pl + 25;
	return true;
}

static enum aivenauth_status
push_ch(struct fleet_gen_builder *b, const char *name, size_t nlen,
    struct fleet_rec *r)
{
	struct fleet_ent *e;

	if (b->n_ch == b->cap_ch) {
		size_t cap = b->cap_ch ? b->cap_ch * 2 : 16;

		if ((e = realloc(b->ch, cap * sizeof(*e))) == NULL)
			return AIVENAUTH_ERR_NOMEM;
		b->ch = e;
		b->cap_ch = cap;
	}
	e = &b->ch[b->n_ch];
	memset(e, 0, sizeof(*e));
	if (r->type != FLEET_T_REMOVAL &&
	    fleet_rec_content_digest(r, e->cd) != AIVENAUTH_OK)
		return AIVENAUTH_ERR_INVALID;
	if ((e->name = malloc(nlen + 1)) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	memcpy(e->name, name, nlen);
	e->name[nlen] = '\0';
	e->name_len = (uint32_t)nlen;
	if (r->type != FLEET_T_REMOVAL) {
		if ((e->rec = malloc(sizeof(*e->rec))) == NULL) {
			free(e->name);
			return AIVENAUTH_ERR_NOMEM;
		}
		*e->rec = *r;
		memset(r, 0, sizeof(*r));   /* moved */
	}
	b->n_ch++;
	return AIVENAUTH_OK;
}

enum aivenauth_status
fleet_gen_add(struct fleet_gen_builder *b, const char *key, size_t key_len,
    const void *val, size_t val_len)
{
	enum aivenauth_status st;
	enum fleet_type want;
	struct fleet_rec r;
	struct buf exp;
	const char *leaf;
	uint64_t gen = 0;
	size_t lo = 0, ll;
	char why[160];

	b->records_read++;
	if (!parse_key(b, key, key_len, &gen, &lo))
		return fail(b, "key outside the generations' prefix");
	leaf = key + lo;
	ll = key_len - lo;
	if (gen < b->from || gen > b->to || gen < b->cur)
		return fail(b, "key of generation %" PRIu64 ", outside %" PRIu64
		    "..%" PRIu64 " or out of order", gen, b->from, b->to);
	if (gen != b->cur) {
		uint64_t next = b->cur == 0 ? b->from : b->cur + 1;

		if (b->cur != 0 && (st = end_gen(b)) != AIVENAUTH_OK)
			return st;
		if (gen != next)
			return fail(b, "generation %" PRIu64 " missing from the "
			    "chain", next);
		b->cur = gen;
		b->have_manifest = false;
		fleet_digest_init(&b->rd);
	}
	if (ll == 8 && memcmp(leaf, "manifest", 8) == 0)
		want = FLEET_T_MANIFEST;
	else if (ll > 2 && memcmp(leaf, "u/", 2) == 0)
		want = FLEET_T_USER;
	else if (ll > 2 && memcmp(leaf, "t/", 2) == 0)
		want = FLEET_T_TOKEN;
	else
		return fail(b, "key of an unknown kind in the generation");
	/* The manifest sorts first: a record before it means none. */
	if (!b->have_manifest && want != FLEET_T_MANIFEST)
		return fail(b, "generation %" PRIu64 " without a manifest "
		    "(incomplete publish)", gen);
	if ((st = fleet_rec_decode(val, val_len, key, key_len, b->keys, b->org,
	    want == FLEET_T_MANIFEST ? want : 0, &r, NULL, why,
	    sizeof(why))) != AIVENAUTH_OK) {
		fail(b, "%s", why);
		return st;
	}
	buf_init(&exp, FLEET_KEY_MAX, false);
	if (r.generation != gen) {
		st = fail(b, "record of another generation");
		goto out;
	}
	if (want == FLEET_T_MANIFEST) {
		if (b->have_manifest)
			st = fail(b, "two manifests");
		else if (b->at == 0 && r.manifest.kind != FLEET_FULL)
			st = fail(b, "generation %" PRIu64 " is a delta on %"
			    PRIu64 ", which is not held here", gen,
			    r.manifest.base);
		else if (b->at != 0 && (r.manifest.kind != FLEET_DELTA ||
		    r.manifest.base != b->at))
			st = fail(b, "generation %" PRIu64 " does not chain on "
			    "%" PRIu64, gen, b->at);
		else if (b->at != 0 && sodium_memcmp(r.manifest.hash_key,
		    b->hash_key, HASH_KEY_BYTES) != 0)
			st = fail(b, "delta generation %" PRIu64 " changes the "
			    "hash key (only a full generation may)", gen);
		else {
			b->cm = r.manifest;
			b->have_manifest = true;
			st = AIVENAUTH_OK;
		}
		goto out;
	}
	if (r.type != want && r.type != FLEET_T_REMOVAL) {
		st = fail(b, "record of an unexpected type for its key");
		goto out;
	}
	if (r.type == FLEET_T_REMOVAL && b->cm.kind == FLEET_FULL) {
		st = fail(b, "a removal in full generation %" PRIu64, gen);
		goto out;
	}
	/* The key must be the one the record's own id names. */
	if ((st = fleet_key_leaf(b->prefix, gen, r.type == FLEET_T_REMOVAL ?
	    r.removal.kind : r.type, r.type == FLEET_T_USER ? r.user.user_id :
	    r.type == FLEET_T_TOKEN ? r.token.prefix : r.removal.id, &exp)) !=
	    AIVENAUTH_OK || exp.len != key_len ||
	    memcmp(exp.data, key, key_len) != 0) {
		st = fail(b, "record id does not match its key");
		goto out;
	}
	if (!fleet_digest_add(&b->rd, key, key_len, val, val_len)) {
		st = fail(b, "keys not in increasing order");
		goto out;
	}
	st = push_ch(b, leaf, ll, &r);
	if (st == AIVENAUTH_ERR_INVALID)
		st = fail(b, "a record that cannot be re-encoded");
out:
	fleet_rec_clear(&r);
	buf_free(&exp);
	return st;
}

enum aivenauth_status
fleet_gen_finish(struct fleet_gen_builder *b, struct fleet_gen *out)
{
	enum aivenauth_status st = AIVENAUTH_ERR_NOMEM;
	struct fleet_gen *g = out;
	size_t i, nu = 0, nt = 0;

	memset(out, 0, sizeof(*out));
	if (b->cur == 0) {
		st = fail(b, "generation %" PRIu64 " without a manifest "
		    "(incomplete publish)", b->from);
		goto fail;
	}
	if ((st = end_gen(b)) != AIVENAUTH_OK)
		goto fail;
	if (b->at != b->to) {
		st = fail(b, "generation %" PRIu64 " missing from the chain",
		    b->at + 1);
		goto fail;
	}
	st = AIVENAUTH_ERR_NOMEM;
	g->generation = b->to;
	g->manifest = b->cm;
	if ((g->org = strdup(b->org)) == NULL)
		goto fail;
	g->snap.organization_id = g->org;
	for (i = 0; i < b->n_set; i++) {
		if (b->set[i].rec->type == FLEET_T_USER)
			nu++;
		else
			nt++;
	}
	if ((g->snap.users = calloc(nu + 1, sizeof(*g->snap.users))) == NULL ||
	    (g->snap.tokens = calloc(nt + 1, sizeof(*g->snap.tokens))) ==
	    NULL || (g->has_hash = calloc(nt + 1, sizeof(*g->has_hash))) ==
	    NULL || (g->hashes = calloc(nt + 1, HASH_BYTES)) == NULL)
		goto fail;
	for (i = 0; i < b->n_set; i++) {
		struct fleet_rec *r = b->set[i].rec;

		if (r->type == FLEET_T_USER) {
			g->snap.users[g->snap.n_users++] = r->user;
			memset(&r->user, 0, sizeof(r->user));
		} else {
			g->has_hash[g->snap.n_tokens] = r->has_hash;
			memcpy(g->hashes[g->snap.n_tokens], r->hash, HASH_BYTES);
			g->snap.tokens[g->snap.n_tokens++] = r->token;
			memset(&r->token, 0, sizeof(r->token));
		}
	}
	fleet_gen_abort(b);
	return AIVENAUTH_OK;
fail:
	fleet_gen_free(out);
	fleet_gen_abort(b);
	return st;
}
