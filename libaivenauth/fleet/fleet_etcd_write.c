/*
 * fleet_etcd.c - the fleet's protocols on etcd (fleet_etcd.h; the key
 * layout is in fleet_rec.h, the whole story in docs/FLEET.md).
 *
 * Every write of a publisher is a txn guarded by "the leader key is bound
 * to my lease": a publisher whose lease lapsed (paused, partitioned) and
 * that a second publisher replaced cannot write one more record, so two
 * publishers never publish at once.  A generation becomes visible only
 * when `current` moves to it, in the txn that also writes its heartbeat,
 * after all its records and its manifest are in: a publisher killed
 * midway leaves an orphan generation no follower reads as current (and
 * if one did, the manifest would not match).
 *
 * A follower reads a chain of generations in one range at one revision:
 * the deltas after the set it holds when current's chain starts at or
 * before it, else the chain from its full generation (fleet_gen.c checks
 * that they chain and that every manifest matches).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "fleet/fleet_etcd.h"
#include "base/netload.h"

#define PASSWORD_FILE_MAX 4096
#define BATCH_BYTES (1024 * 1024)   /* under etcd's 1.5 MiB request cap */
#define BATCH_OPS (ETCD_TXN_MAX_OPS - 1)
#define GEN_TEXT_MAX 24

static void
etcd_log(void *arg, int level, const char *msg)
{
	ctx_log(arg, level, "%s", msg);
}

/* The etcd password: one line, blanks around it dropped. */
static enum aivenauth_status
read_password(struct aivenauth_ctx *ctx, const char *path, struct buf *out)
{
	enum aivenauth_status st;
	char *data = NULL;
	size_t len = 0, s, e;

	if ((st = read_trusted(ctx, path, TRUST_SECRET, PASSWORD_FILE_MAX,
	    &data, &len)) != AIVENAUTH_OK)
		return st;
	for (s = 0; s < len && strchr(" \t\r\n", data[s]) != NULL; s++)
		;
	for (e = len; e > s && strchr(" \t\r\n", data[e - 1]) != NULL; e--)
		;
	buf_init(out, PASSWORD_FILE_MAX, true);
	if (e == s || memchr(data + s, '\n', e - s) != NULL) {
		ctx_log(ctx, LOG_ERR, "etcd_password_file %s: expected one "
		    "line holding the password", path);
		st = AIVENAUTH_ERR_CONFIG;
	} else {
		st = buf_add(out, data + s, e - s);
	}
	aivenauth_secret_free(data, len + 1);
	if (st != AIVENAUTH_OK)
		buf_free(out);
	return st;
}

enum aivenauth_status
fleet_etcd_open(struct aivenauth_ctx *ctx, struct fleet_etcd *fe)
{
	const struct config *c = &ctx->cfg;
	const struct fleet_config *f = &c->fleet;
	struct etcd_params p;
	enum aivenauth_status st;
	struct buf pw;

	memset(fe, 0, sizeof(*fe));
	fe->ctx = ctx;
	fe->prefix = f->etcd_prefix != NULL ? f->etcd_prefix :
	    FLEET_DEFAULT_PREFIX;
	buf_init(&pw, 0, true);
	if (f->etcd_endpoints == NULL) {
		ctx_log(ctx, LOG_ERR, "etcd_endpoints is not set in %s",
		    c->source != NULL ? c->source : "the configuration");
		return AIVENAUTH_ERR_CONFIG;
	}
	if (f->etcd_user != NULL && f->etcd_password_file == NULL) {
		ctx_log(ctx, LOG_ERR, "etcd_user is set but "
		    "etcd_password_file is not");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((st = net_load(ctx)) != AIVENAUTH_OK)
		return st;
	if (ctx->net->etcd == NULL) {
		ctx_log(ctx, LOG_ERR, "the network client module has no etcd "
		    "client");
		return AIVENAUTH_ERR_NET_UNAVAILABLE;
	}
	fe->ops = ctx->net->etcd;
	if (f->etcd_user != NULL &&
	    (st = read_password(ctx, f->etcd_password_file, &pw)) !=
	    AIVENAUTH_OK)
		return st;
	memset(&p, 0, sizeof(p));
	p.endpoints = f->etcd_endpoints;
	p.ca_file = f->etcd_ca_file;
	p.user = f->etcd_user;
	p.password = pw.data;
	p.password_len = pw.len;
	p.timeout_ms = c->timeout * 1000;
	p.connect_timeout_ms = (c->connect_timeout < c->timeout ?
	    c->connect_timeout : c->timeout) * 1000;
	p.max_retries = 2;
	p.log = etcd_log;
	p.log_arg = ctx;
	p.log_max_level = ctx->log_fn != NULL ? ctx->log_max : -1;
	st = fe->ops->open(&p, &fe->c);
	buf_free(&pw);
	return st;
}

void
fleet_etcd_close(struct fleet_etcd *fe)
{
	if (fe->ops != NULL && fe->c != NULL)
		fe->ops->close(fe->c);
	fe->c = NULL;
}

/* ------------------------------------------------------------ reading */

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

/*
 * Can this client write the prefix?  A txn whose compare never holds
 * (the leader key's create_revision below 0) with a put in the branch
 * that is never taken: etcd checks the permissions of both branches
 * before it evaluates anything, so a read-only user gets "permission
 * denied" and a writer gets an untaken branch.  Nothing is written.
 */
enum aivenauth_status
fleet_probe_write(struct fleet_etcd *fe, bool *can_write)
{
	enum aivenauth_status st;
	struct etcd_cmp cmp;
	struct etcd_op put;
	struct buf key;
	bool ok = true;
	int saved;

	*can_write = false;
	buf_init(&key, FLEET_KEY_MAX, false);
	if ((st = fleet_key_leader(fe->prefix, &key)) != AIVENAUTH_OK)
		goto out;
	memset(&cmp, 0, sizeof(cmp));
	cmp.key = key.data;
	cmp.key_len = key.len;
	cmp.target = ETCD_CMP_CREATE;
	cmp.result = ETCD_CMP_LESS;
	cmp.number = 0;
	memset(&put, 0, sizeof(put));
	put.type = ETCD_OP_PUT;
	put.key = key.data;
	put.key_len = key.len;
	put.value = "probe";
	put.value_len = 5;
	/* A read-only follower's etcd answers 403 here: that is the answer
	 * hoped for, not an error to print ("permission denied" on a healthy
	 * follower reads as broken RBAC).  The client's own log is muted for
	 * this one request; any other failure is said below. */
	saved = fe->ctx->log_max;
	fe->ctx->log_max = -1;
	st = fe->ops->txn(fe->c, &cmp, 1, &put, 1, NULL, 0, &ok, NULL);
	fe->ctx->log_max = saved;
	if (st != AIVENAUTH_OK && st != AIVENAUTH_ERR_FORBIDDEN)
		ctx_log(fe->ctx, LOG_NOTICE, "etcd: the write probe (can this "
		    "host write the prefix?) failed: %s", aivenauth_strerror(st));
	if (st == AIVENAUTH_OK && ok) {
		ctx_log(fe->ctx, LOG_ERR, "etcd: a compare that cannot hold "
		    "held: the write probe wrote the leader key");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
	} else if (st == AIVENAUTH_OK) {
		*can_write = true;
	} else if (st == AIVENAUTH_ERR_FORBIDDEN) {
		st = AIVENAUTH_OK;      /* read-only: what a follower should be */
	}
out:
	buf_free(&key);
	return st;
}

/* ------------------------------------------------------------ publishing */

enum aivenauth_status
fleet_campaign(struct fleet_etcd *fe, const char *id, int64_t ttl,
    bool *leader, int64_t *lease)
{
	enum aivenauth_status st;
	struct etcd_cmp cmp;
	struct etcd_op put;
	struct buf key;
	int64_t l = 0;
	bool ok = false;

	*leader = false;
	*lease = 0;
	if (id == NULL || id[0] == '\0' || strlen(id) > FLEET_LEADER_MAX)
		return AIVENAUTH_ERR_INVALID;
	buf_init(&key, FLEET_KEY_MAX, false);
	if ((st = fleet_key_leader(fe->prefix, &key)) != AIVENAUTH_OK ||
	    (st = fe->ops->lease_grant(fe->c, ttl, &l, NULL)) != AIVENAUTH_OK)
		goto out;
	memset(&cmp, 0, sizeof(cmp));
	cmp.key = key.data;
	cmp.key_len = key.len;
	cmp.target = ETCD_CMP_CREATE;
	cmp.result = ETCD_CMP_EQUAL;
	memset(&put, 0, sizeof(put));
	put.type = ETCD_OP_PUT;
	put.key = key.data;
	put.key_len = key.len;
	put.value = id;
	put.value_len = strlen(id);
	put.lease = l;
	st = fe->ops->txn(fe->c, &cmp, 1, &put, 1, NULL, 0, &ok, NULL);
	if (st == AIVENAUTH_OK && ok) {
		*leader = true;
		*lease = l;
	} else {
		/* Not ours: let the lease go now rather than at its TTL. */
		(void)fe->ops->lease_revoke(fe->c, l);
	}
out:
	buf_free(&key);
	return st;
}

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
