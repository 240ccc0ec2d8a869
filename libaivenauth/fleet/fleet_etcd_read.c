/*
 * fleet_etcd_read.c - what a follower (and `aivenctl fleet status`, and a
 * publisher catching up) reads of the fleet in etcd (fleet_etcd.h; the key
 * layout is in fleet_rec.h, the whole story in docs/FLEET.md): the fixed
 * keys at one revision, a generation's manifest, a chain of generations,
 * one follower step, and the watch on the heartbeat key that wakes it.
 *
 * A follower reads a chain of generations in one range at one revision:
 * the deltas after the set it holds when current's chain starts at or
 * before it, else the chain from its full generation (fleet_gen.c checks
 * that they chain and that every manifest matches).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "fleet/fleet_etcd.h"

struct one {
	struct buf val;
	bool found;
	int64_t lease;
};

static enum aivenauth_status
one_kv(void *arg, const struct etcd_kv *kv)
{
	struct one *o = arg;

	o->found = true;
	o->lease = kv->lease;
	o->val.len = 0;
	return buf_add(&o->val, kv->value, kv->value_len);
}

static enum aivenauth_status
get_one(struct fleet_etcd *fe, enum aivenauth_status (*keyfn)(const char *,
    struct buf *), int64_t rev, struct one *o, struct buf *key,
    int64_t *rev_out)
{
	enum aivenauth_status st;

	key->len = 0;
	o->found = false;
	o->lease = 0;
	o->val.len = 0;
	if ((st = keyfn(fe->prefix, key)) != AIVENAUTH_OK)
		return st;
	return fe->ops->range(fe->c, key->data, key->len, NULL, 0, rev, 0,
	    one_kv, o, rev_out);
}

static bool
parse_gen(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

enum aivenauth_status
fleet_read_view(struct fleet_etcd *fe, const struct fleet_keys *keys,
    const char *org, struct fleet_view *v)
{
	enum aivenauth_status st;
	struct fleet_rec r;
	struct buf key;
	struct one o;
	size_t n;

	memset(v, 0, sizeof(*v));
	buf_init(&key, FLEET_KEY_MAX, false);
	buf_init(&o.val, FLEET_VALUE_MAX, false);
	if ((st = get_one(fe, fleet_key_current, 0, &o, &key,
	    &v->revision)) != AIVENAUTH_OK)
		goto out;
	if (o.found && !parse_gen(o.val.data, o.val.len, &v->current)) {
		ctx_log(fe->ctx, LOG_ERR, "etcd %s: not a generation number",
		    buf_cstr(&key));
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		goto out;
	}
	if ((st = get_one(fe, fleet_key_leader, v->revision, &o, &key,
	    NULL)) != AIVENAUTH_OK)
		goto out;
	if (o.found) {
		v->has_leader = true;
		v->leader_lease = o.lease;
		n = o.val.len < FLEET_LEADER_MAX ? o.val.len : FLEET_LEADER_MAX;
		memcpy(v->leader, o.val.data, n);
		v->leader[n] = '\0';
	}
	if ((st = get_one(fe, fleet_key_heartbeat, v->revision, &o, &key,
	    NULL)) != AIVENAUTH_OK)
		goto out;
	if (o.found) {
		v->has_heartbeat = true;
		v->hb_status = fleet_rec_decode(o.val.data, o.val.len, key.data,
		    key.len, keys, org, FLEET_T_HEARTBEAT, &r, NULL, v->hb_why,
		    sizeof(v->hb_why));
		if (v->hb_status == AIVENAUTH_OK) {
			v->hb = r.heartbeat;
			v->hb_generation = r.generation;
			fleet_rec_clear(&r);
		}
	}
	st = AIVENAUTH_OK;
out:
	buf_free(&key);
	buf_free(&o.val);
	return st;
}

static enum aivenauth_status
gen_kv(void *arg, const struct etcd_kv *kv)
{
	return fleet_gen_add(arg, kv->key, kv->key_len, kv->value,
	    kv->value_len);
}

/* Generations from..to at revision rev, in one range, onto base (NULL:
 * from must be full). */
static enum aivenauth_status
read_range(struct fleet_etcd *fe, const struct fleet_keys *keys,
    const char *org, uint64_t from, uint64_t to, int64_t rev,
    struct fleet_gen *base, struct fleet_gen *out, char *why, size_t wn,
    uint64_t *records_read)
{
	struct fleet_gen_builder b;
	enum aivenauth_status st;
	struct buf key, end;

	memset(out, 0, sizeof(*out));
	if (why != NULL && wn > 0)
		why[0] = '\0';
	buf_init(&key, FLEET_KEY_MAX, false);
	buf_init(&end, FLEET_KEY_MAX, false);
	if ((st = fleet_key_gen(fe->prefix, from, &key)) != AIVENAUTH_OK ||
	    (st = fleet_key_gen(fe->prefix, to + 1, &end)) != AIVENAUTH_OK) {
		if (base != NULL)
			fleet_gen_free(base);
		goto out;
	}
	if ((st = fleet_gen_begin_chain(&b, fe->prefix, from, to, keys, org,
	    base)) != AIVENAUTH_OK)
		goto out;
	st = fe->ops->range(fe->c, key.data, key.len, end.data, end.len, rev, 0,
	    gen_kv, &b, NULL);
	if (records_read != NULL)
		*records_read += b.records_read;
	if (st == AIVENAUTH_OK)
		st = fleet_gen_finish(&b, out);
	else
		fleet_gen_abort(&b);
	if (st == AIVENAUTH_ERR_BAD_RESPONSE && b.why[0] != '\0' &&
	    why != NULL)
		snprintf(why, wn, "%s", b.why);
out:
	buf_free(&key);
	buf_free(&end);
	return st;
}

/* The manifest of gen at rev, verified (its chain fields say where the
 * generation's chain starts). */
enum aivenauth_status
fleet_read_manifest(struct fleet_etcd *fe, const struct fleet_keys *keys,
    const char *org, uint64_t gen, int64_t rev, struct fleet_manifest *m)
{
	return fleet_read_manifest_why(fe, keys, org, gen, rev, m, NULL, NULL,
	    0);
}

enum aivenauth_status
fleet_read_manifest_why(struct fleet_etcd *fe, const struct fleet_keys *keys,
    const char *org, uint64_t gen, int64_t rev, struct fleet_manifest *m,
    enum fleet_err *err, char *why, size_t wn)
{
	enum aivenauth_status st;
	struct fleet_rec r;
	struct buf key;
	struct one o;

	memset(m, 0, sizeof(*m));
	if (err != NULL)
		*err = FLEET_E_NONE;
	if (wn > 0)
		why[0] = '\0';
	buf_init(&key, FLEET_KEY_MAX, false);
	buf_init(&o.val, FLEET_VALUE_MAX, false);
	o.found = false;
	if ((st = fleet_key_manifest(fe->prefix, gen, &key)) == AIVENAUTH_OK &&
	    (st = fe->ops->range(fe->c, key.data, key.len, NULL, 0, rev, 0,
	    one_kv, &o, NULL)) == AIVENAUTH_OK) {
		if (!o.found) {
			st = AIVENAUTH_ERR_BAD_RESPONSE;
			if (wn > 0)
				snprintf(why, wn, "no manifest");
		} else if ((st = fleet_rec_decode(o.val.data, o.val.len,
		    key.data, key.len, keys, org, FLEET_T_MANIFEST, &r, err,
		    why, wn)) == AIVENAUTH_OK) {
			if (r.generation == gen) {
				*m = r.manifest;
			} else {
				st = AIVENAUTH_ERR_BAD_RESPONSE;
				if (err != NULL)
					*err = FLEET_E_FORMAT;
				if (wn > 0)
					snprintf(why, wn, "the manifest names "
					    "another generation");
			}
			fleet_rec_clear(&r);
		}
	}
	buf_free(&key);
	buf_free(&o.val);
	return st;
}

enum aivenauth_status
fleet_read_gen(struct fleet_etcd *fe, const struct fleet_keys *keys,
    const char *org, uint64_t gen, int64_t rev, struct fleet_gen *out,
    char *why, size_t wn)
{
	struct fleet_manifest m;
	enum aivenauth_status st;
	char w[256];
	uint64_t from = gen;

	memset(out, 0, sizeof(*out));
	if ((st = fleet_read_manifest(fe, keys, org, gen, rev, &m)) == AIVENAUTH_OK)
		from = m.full;
	else if (st != AIVENAUTH_ERR_BAD_RESPONSE)
		return st;
	/* A refused or missing manifest: the range says why. */
	st = read_range(fe, keys, org, from, gen, rev, NULL, out, w, sizeof(w),
	    NULL);
	if (st == AIVENAUTH_ERR_BAD_RESPONSE) {
		ctx_log(fe->ctx, LOG_ERR, "fleet generation %" PRIu64 " refused: "
		    "%s", gen, w[0] != '\0' ? w : "unreadable");
		if (why != NULL && wn > 0)
			snprintf(why, wn, "%s", w);
	}
	return st;
}

enum aivenauth_status
fleet_follow_step(struct fleet_etcd *fe, const struct fleet_keys *keys,
    const char *org, uint64_t applied, struct fleet_update *u)
{
	return fleet_follow_step_base(fe, keys, org, applied, NULL, NULL, u);
}

enum aivenauth_status
fleet_follow_step_base(struct fleet_etcd *fe, const struct fleet_keys *keys,
    const char *org, uint64_t applied, fleet_base_fn *base_fn, void *base_arg,
    struct fleet_update *u)
{
	struct fleet_view *v = &u->view;
	struct fleet_manifest m;
	enum aivenauth_status st, mst;
	struct fleet_gen base;
	uint64_t from;
	char why[256];

	memset(u, 0, sizeof(*u));
	if ((st = fleet_read_view(fe, keys, org, v)) != AIVENAUTH_OK)
		return st;
	if (v->current == 0) {
		u->result = FLEET_NONE_PUBLISHED;
		return AIVENAUTH_OK;
	}
	if (!v->has_heartbeat || v->hb_status != AIVENAUTH_OK) {
		ctx_log(fe->ctx, LOG_ERR, "fleet: heartbeat %s%s",
		    v->has_heartbeat ? "refused: " : "missing",
		    v->has_heartbeat ? v->hb_why : "");
		return AIVENAUTH_ERR_BAD_RESPONSE;
	}
	if (v->current == applied) {
		u->result = FLEET_NOTHING_NEW;
		return AIVENAUTH_OK;
	}
	if (v->current < applied) {
		ctx_log(fe->ctx, LOG_ERR, "fleet: etcd names generation %"
		    PRIu64 " as current, older than the %" PRIu64 " applied "
		    "here: refused (a replay, or a publisher that lost its "
		    "state)", v->current, applied);
		u->result = FLEET_REPLAY;
		return AIVENAUTH_OK;
	}
	/* The current manifest says where its chain starts (full F). */
	mst = fleet_read_manifest(fe, keys, org, v->current, v->revision, &m);
	if (mst != AIVENAUTH_OK && mst != AIVENAUTH_ERR_BAD_RESPONSE)
		return mst;
	u->records_read++;
	from = mst == AIVENAUTH_OK ? m.full : v->current;
	/* Up to date with the chain: only the deltas after what is held. */
	if (mst == AIVENAUTH_OK && m.kind == FLEET_DELTA && applied > 0 &&
	    m.full <= applied && base_fn != NULL &&
	    (*base_fn)(base_arg, applied, &base) == AIVENAUTH_OK) {
		st = read_range(fe, keys, org, applied + 1, v->current,
		    v->revision, &base, &u->gen, why, sizeof(why),
		    &u->records_read);
		if (st == AIVENAUTH_OK) {
			u->delta = true;
			u->result = FLEET_NEW_GEN;
			return AIVENAUTH_OK;
		}
		if (st != AIVENAUTH_ERR_BAD_RESPONSE)
			return st;
		ctx_log(fe->ctx, LOG_WARNING, "fleet: deltas %" PRIu64 "..%"
		    PRIu64 " refused (%s): reading generation %" PRIu64
		    " whole", applied + 1, v->current, why, v->current);
	}
	st = read_range(fe, keys, org, from, v->current, v->revision, NULL,
	    &u->gen, why, sizeof(why), &u->records_read);
	if (st == AIVENAUTH_ERR_BAD_RESPONSE)
		ctx_log(fe->ctx, LOG_ERR, "fleet generation %" PRIu64 " refused: "
		    "%s", v->current, why[0] != '\0' ? why : "unreadable");
	if (st != AIVENAUTH_OK)
		return st;
	u->result = FLEET_NEW_GEN;
	return AIVENAUTH_OK;
}

void
fleet_update_free(struct fleet_update *u)
{
	fleet_gen_free(&u->gen);
	memset(u, 0, sizeof(*u));
}

struct watch_arg {
	struct buf current, heartbeat;
	struct fleet_change *out;
	bool bad;
};

static bool
watch_ev(void *arg, const struct etcd_event *ev, size_t n, int64_t rev)
{
	struct watch_arg *w = arg;
	bool hb = false;
	size_t i;

	(void)rev;      /* not a resume point (etcd.h) */
	for (i = 0; i < n; i++) {
		const struct etcd_kv *kv = &ev[i].kv;

		if (ev[i].type == ETCD_EV_PUT && kv->key_len == w->current.len &&
		    memcmp(kv->key, w->current.data, kv->key_len) == 0) {
			if (!parse_gen((const char *)kv->value, kv->value_len,
			    &w->out->current)) {
				w->bad = true;
				return false;
			}
			w->out->kind = FLEET_CH_CURRENT;
			w->out->revision = kv->mod_revision;
			return false;
		}
		if (ev[i].type == ETCD_EV_PUT &&
		    kv->key_len == w->heartbeat.len &&
		    memcmp(kv->key, w->heartbeat.data, kv->key_len) == 0) {
			hb = true;
			w->out->revision = kv->mod_revision;
		}
	}
	if (hb) {
		w->out->kind = FLEET_CH_HEARTBEAT;
		return false;
	}
	return true;
}

enum aivenauth_status
fleet_watch(struct fleet_etcd *fe, int64_t from_rev, long max_ms,
    struct fleet_change *out)
{
	struct etcd_watch_end end;
	enum aivenauth_status st;
	struct watch_arg w;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.out = out;
	buf_init(&w.current, FLEET_KEY_MAX, false);
	buf_init(&w.heartbeat, FLEET_KEY_MAX, false);
	/* The heartbeat key alone.  The txn that moves current writes the
	 * heartbeat of the new generation too, so a heartbeat event is all a
	 * follower needs to notice a generation (the step then reads current
	 * and the records at one revision).  Watching a range around
	 * current would also stream every record of every generation to
	 * every follower ('c' < 'g' < 'h'), which it then reads again: the
	 * fleet bench measured 2.2 times the bytes and twice etcd's CPU. */
	if ((st = fleet_key_current(fe->prefix, &w.current)) != AIVENAUTH_OK ||
	    (st = fleet_key_heartbeat(fe->prefix, &w.heartbeat)) !=
	    AIVENAUTH_OK)
		goto out;
	st = fe->ops->watch(fe->c, w.heartbeat.data, w.heartbeat.len, NULL, 0,
	    from_rev, max_ms, watch_ev, &w, &end);
	if (st != AIVENAUTH_OK)
		goto out;
	if (w.bad) {
		ctx_log(fe->ctx, LOG_ERR, "etcd %s: not a generation number",
		    buf_cstr(&w.current));
		st = AIVENAUTH_ERR_BAD_RESPONSE;
	} else if (end.canceled && end.compact_revision > 0) {
		ctx_log(fe->ctx, LOG_NOTICE, "fleet: etcd compacted revision "
		    "%lld away (now %lld): reading everything again",
		    (long long)from_rev, (long long)end.compact_revision);
		out->kind = FLEET_CH_COMPACTED;
		out->revision = end.compact_revision;
	} else if (end.canceled) {
		ctx_log(fe->ctx, LOG_ERR, "fleet: etcd canceled the watch: %s",
		    end.reason);
		st = strstr(end.reason, "permission") != NULL ?
		    AIVENAUTH_ERR_FORBIDDEN : AIVENAUTH_ERR_API_REJECTED;
	} else if (out->kind == FLEET_CH_TIMEOUT) {
		/* Resume after the last event delivered, or where we began. */
		out->revision = end.revision > 0 ? end.revision :
		    from_rev > 0 ? from_rev - 1 : 0;
	}
out:
	buf_free(&w.current);
	buf_free(&w.heartbeat);
	return st;
}
