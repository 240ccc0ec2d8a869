/*
 * revoke_fold.c - a revocation recorded where a full disk cannot lose it
 * (the journal, revjournal.h), and folded into every write transaction
 * until a commit stores it.
 *
 *   aivenauth_revocation_record()  `token revoke`'s first step: one slot,
 *                                  written and synced; the cache need not
 *                                  open (on a full disk it may not).
 *   revj_fold()                    inside each write transaction (cache_
 *                                  write): every journaled token stored
 *                                  revoked -- the pending revocation the
 *                                  sync sends the DELETE for until the
 *                                  API stops listing the token.
 *   revj_fold_end()                after the commit and its publication
 *                                  (the journal locked until the state
 *                                  record is written): the slots it made
 *                                  durable are freed.
 *
 * The withdrawal of the readers after a revocation could not be stored is
 * lifted only by a publication, which follows a commit; every commit
 * carries every journaled revocation; so the withdrawal is never lifted
 * by a view that still accepts a journaled token.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "base/rec.h"
#include "writer/writer.h"

/* Readers refuse to decide (the revocation is nowhere a publication has
 * carried it yet).  Needs no disk block: a pwrite into the state record's
 * allocated page (base/pubstate.c), no LMDB environment. */
static bool
withdraw_readers(struct aivenauth_ctx *ctx)
{
	struct pubstate_map m;
	int dfd, e;

	if (ctx->cache != NULL && ctx->cache->rdwr && cache_is_ours(ctx->cache))
		e = pubstate_withdraw(&ctx->cache->ps);
	else if ((dfd = open(ctx->cfg.cache_dir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		e = errno;
	else {
		if ((e = pubstate_open(&m, dfd, true)) == 0) {
			e = pubstate_withdraw(&m);
			pubstate_close(&m);
		}
		close(dfd);
	}
	if (e != 0 && e != ENOENT) {
		ctx_log(ctx, LOG_CRIT, "cache %s: readers could not be withdrawn "
		    "(%s): they may accept a revoked token until a write "
		    "publishes (run aivenctl doctor)", ctx->cfg.cache_dir,
		    strerror(e));
		return false;
	}
	return true;
}

static bool
writer_is_open(struct aivenauth_ctx *ctx)
{
	return ctx->cache != NULL && ctx->cache->rdwr &&
	    cache_is_ours(ctx->cache);
}

/* Take (prefix, user) off the overflow list: it is journaled now. */
static bool
over_drop(struct revj *j, const char *user_id, const char *prefix)
{
	size_t i;

	for (i = 0; i < j->hdr.n_over; i++)
		if (strcmp(j->hdr.over[i].prefix, prefix) == 0 &&
		    strcmp(j->hdr.over[i].user_id, user_id) == 0) {
			memmove(&j->hdr.over[i], &j->hdr.over[i + 1],
			    (j->hdr.n_over - i - 1) * sizeof(j->hdr.over[0]));
			j->hdr.n_over--;
			memset(&j->hdr.over[j->hdr.n_over], 0,
			    sizeof(j->hdr.over[0]));
			return true;
		}
	return false;
}

/*
 * Named overflowed revocations into free slots (review 5, F2): journaled,
 * each is stored revoked and DELETEd like any other; it leaves the list
 * only once its slot is durable, so none is ever simply dropped.  Called
 * by every write (revj_fold, revj_fold_end) and by --clear-overflow.  The
 * header gets the new numbers with the list; if that header write fails
 * the slots still carry them (revj_hold_seq writes it before any is freed)
 * and the list names them until a write sees them stored.
 */
static void
over_journal(struct aivenauth_ctx *ctx, struct revj *j)
{
	unsigned char slot[REVJ_SLOT];
	bool moved[REVJ_OVER_MAX];
	struct revj_entry e;
	uint64_t seq = revj_last_seq(j);
	size_t i, k, n = 0, at = 0;

	if (j->fd < 0 || !j->read || j->hdr.n_over == 0)
		return;
	memset(moved, 0, sizeof(moved));
	for (i = 0; i < j->hdr.n_over; i++) {
		for (k = 0; k < REVJ_SLOTS; k++)
			if (j->kind[k] == REVJ_ENTRY && j->e[k].not_before == 0 &&
			    strcmp(j->e[k].prefix, j->hdr.over[i].prefix) == 0 &&
			    strcmp(j->e[k].user_id, j->hdr.over[i].user_id) == 0)
				break;
		if (k < REVJ_SLOTS) {
			moved[i] = true;        /* journaled already */
			n++;
			continue;
		}
		while (at < REVJ_SLOTS && j->kind[at] != REVJ_EMPTY)
			at++;
		if (at == REVJ_SLOTS)
			break;                  /* no room yet: stays named */
		memset(&e, 0, sizeof(e));
		memcpy(e.prefix, j->hdr.over[i].prefix,
		    strlen(j->hdr.over[i].prefix));
		memcpy(e.user_id, j->hdr.over[i].user_id,
		    strlen(j->hdr.over[i].user_id));
		e.time = (int64_t)time(NULL);
		e.seq = ++seq;
		if (!revj_encode(&e, slot) || pwrite(j->fd, slot, REVJ_SLOT,
		    (off_t)(at * REVJ_SLOT)) != REVJ_SLOT) {
			ctx_log(ctx, LOG_WARNING, "revocation journal: token %s "
			    "stays on the overflow list (%s)", e.prefix,
			    strerror(errno));
			break;
		}
		j->kind[at] = REVJ_ENTRY;
		j->e[at] = e;
		moved[i] = true;
		n++;
	}
	if (n == 0 || revj_sync(ctx, j) != AIVENAUTH_OK)
		return;                 /* the list still names every one */
	for (i = j->hdr.n_over; i-- > 0;)
		if (moved[i]) {
			ctx_log(ctx, LOG_NOTICE, "revocation journal: token %s "
			    "of %s journaled from the overflow list",
			    j->hdr.over[i].prefix, j->hdr.over[i].user_id);
			(void)over_drop(j, j->hdr.over[i].user_id,
			    j->hdr.over[i].prefix);
		}
	if (seq > j->hdr.seq)
		j->hdr.seq = seq;
	if (revj_put_hdr(ctx, j) != AIVENAUTH_OK || revj_sync(ctx, j) !=
	    AIVENAUTH_OK)
		ctx_log(ctx, LOG_WARNING, "revocation journal: the overflow "
		    "list not updated; its revocations are journaled all the "
		    "same");
}

/*
 * The journal is full: set the overflow mark (durable, in the header the
 * writer allocated with the slots), listing this revocation if there is
 * room, so that no publication lifts the withdrawal of the readers until
 * it is journaled.  false: not even the mark could be written.
 */
static bool
over_mark(struct aivenauth_ctx *ctx, struct revj *j, const char *user_id,
    const char *prefix)
{
	struct revj_over *o;
	size_t i;

	for (i = 0; i < j->hdr.n_over; i++)
		if (strcmp(j->hdr.over[i].prefix, prefix) == 0 &&
		    strcmp(j->hdr.over[i].user_id, user_id) == 0)
			return true;     /* already listed */
	if (j->hdr.n_over < REVJ_OVER_MAX) {
		o = &j->hdr.over[j->hdr.n_over++];
		memset(o, 0, sizeof(*o));
		memcpy(o->prefix, prefix, strlen(prefix));
		memcpy(o->user_id, user_id, strlen(user_id));
	} else {
		j->hdr.lost = true;
	}
	return revj_put_hdr(ctx, j) == AIVENAUTH_OK &&
	    revj_sync(ctx, j) == AIVENAUTH_OK;
}

/*
 * One slot for (user_id, prefix, not_before), written and synced.  An
 * entry already there for the token stands if it refuses the token no
 * later than this one would; otherwise its slot is rewritten with this
 * one (a `token revoke` of a token whose rotation scheduled it).
 */
static enum aivenauth_status
record_entry(struct aivenauth_ctx *ctx, const char *user_id,
    const char *prefix, int64_t not_before, bool *marked)
{
	unsigned char slot[REVJ_SLOT];
	enum aivenauth_status st;
	struct revj_entry e;
	struct revj j;
	size_t i, free_slot = REVJ_SLOTS;

	if (ctx == NULL || user_id == NULL || prefix == NULL ||
	    *user_id == '\0' || *prefix == '\0' ||
	    strlen(user_id) > AIVENAUTH_ID_MAX ||
	    strlen(prefix) > AIVENAUTH_PREFIX_MAX || not_before < 0)
		return AIVENAUTH_ERR_INVALID;
	memset(&e, 0, sizeof(e));
	memcpy(e.prefix, prefix, strlen(prefix));
	memcpy(e.user_id, user_id, strlen(user_id));
	e.time = (int64_t)time(NULL);
	e.not_before = not_before;
	/* Opened locked: another recorder cannot take the same slot. */
	if ((st = revj_open(ctx, true, &j)) != AIVENAUTH_OK)
		return st;
	for (i = 0; i < REVJ_SLOTS; i++) {
		if (j.kind[i] == REVJ_ENTRY && strcmp(j.e[i].prefix, prefix) == 0 &&
		    strcmp(j.e[i].user_id, user_id) == 0) {
			if (j.e[i].not_before == 0 || (not_before != 0 &&
			    j.e[i].not_before <= not_before)) {
				/* recorded, still pending */
				if (not_before == 0 &&
				    over_drop(&j, user_id, prefix) &&
				    (revj_put_hdr(ctx, &j) != AIVENAUTH_OK ||
				    revj_sync(ctx, &j) != AIVENAUTH_OK))
					ctx_log(ctx, LOG_WARNING, "revocation "
					    "journal: token %s stays on the "
					    "overflow list", prefix);
				revj_close(&j);
				return AIVENAUTH_OK;
			}
			free_slot = i;    /* sooner now: this slot, rewritten */
			break;
		}
		if (j.kind[i] == REVJ_EMPTY && free_slot == REVJ_SLOTS)
			free_slot = i;
	}
	/* A torn slot was never acknowledged (see revjournal.c): reusable
	 * when nothing else is. */
	for (i = 0; free_slot == REVJ_SLOTS && i < REVJ_SLOTS; i++)
		if (j.kind[i] == REVJ_TORN)
			free_slot = i;
	if (free_slot == REVJ_SLOTS) {
		/* A revocation now that nothing records: the overflow mark
		 * (a scheduled one takes nothing away yet: its caller stops). */
		if (not_before == 0 && marked != NULL)
			*marked = over_mark(ctx, &j, user_id, prefix);
		ctx_log(ctx, LOG_ERR, "the revocation journal %s/%s/%s is full "
		    "(%d revocations the cache could not store yet): free space "
		    "in the cache's file system and run `aivenctl sync`%s",
		    ctx->cfg.cache_dir, WRITER_DIR, REVJ_FILE, REVJ_SLOTS,
		    marked != NULL && *marked ? " (overflow mark set)" : "");
		revj_close(&j);
		return AIVENAUTH_ERR_CACHE_FULL;
	}
	e.seq = revj_last_seq(&j) + 1;
	if (!revj_encode(&e, slot)) {
		revj_close(&j);
		return AIVENAUTH_ERR_INVALID;
	}
	if (pwrite(j.fd, slot, REVJ_SLOT, (off_t)(free_slot * REVJ_SLOT)) !=
	    REVJ_SLOT) {
		st = cache_err(ctx, errno, "writing the revocation journal");
		revj_close(&j);
		return st;
	}
	/* The counter: the entry carries it too (revj_last_seq), so a
	 * header that cannot be written loses nothing -- unless it held
	 * this revocation on the overflow list, which then stays (the
	 * readers stay withdrawn: fail closed). */
	j.hdr.seq = e.seq;
	if (not_before == 0)
		(void)over_drop(&j, user_id, prefix);
	if (revj_put_hdr(ctx, &j) != AIVENAUTH_OK)
		ctx_log(ctx, LOG_WARNING, "revocation journal: header not "
		    "updated");
	st = revj_sync(ctx, &j);
	revj_close(&j);
	return st;
}

enum aivenauth_status
aivenauth_revocation_record(struct aivenauth_ctx *ctx, const char *user_id,
    const char *prefix)
{
	enum aivenauth_status st;
	bool marked = false, withdrawn;

	st = record_entry(ctx, user_id, prefix, 0, &marked);
	if (st == AIVENAUTH_OK) {
		/* Recorded before the cache is open (`token revoke` does
		 * that, so that nothing -- a damaged environment, a SIGBUS
		 * in LMDB's mapped lock file on a full copy-on-write disk --
		 * can come between the command and the journal): the readers
		 * refuse to decide until a publication carries it.  Opening
		 * the writer stores it and publishes (writer_open: the record
		 * is withdrawn, so it publishes), which lifts this; if the
		 * open fails, they stay withdrawn. */
		if (!writer_is_open(ctx))
			(void)withdraw_readers(ctx);   /* a failure is logged */
		return st;
	}
	if (st == AIVENAUTH_ERR_CACHE_MISSING || st == AIVENAUTH_ERR_INVALID)
		return st;      /* no cache here: nothing a reader could accept */
	/* Nowhere durable: the readers must not go on accepting it while
	 * the caller tries the cache and the API. */
	/* Say what is true: if even the withdrawal failed (logged above),
	 * the readers go on deciding. */
	withdrawn = withdraw_readers(ctx);
	if (marked)
		ctx_log(ctx, LOG_ERR, "revocation of token %s not recorded in "
		    "the revocation journal (full): %s (overflow mark) until "
		    "it is: free space so that `aivenctl sync` can store the "
		    "pending revocations, then run this revoke again", prefix,
		    withdrawn ? "readers refuse to decide" : "the readers "
		    "could NOT be withdrawn either (they may accept it)");
	else
		ctx_log(ctx, LOG_ERR, "revocation of token %s not recorded in "
		    "the revocation journal (%s): %s until the cache can be "
		    "written", prefix, aivenauth_strerror(st), withdrawn ?
		    "readers refuse to decide" : "the readers could NOT be "
		    "withdrawn either (they may accept it)");
	return st;
}

enum aivenauth_status
aivenauth_revocation_schedule(struct aivenauth_ctx *ctx, const char *user_id,
    const char *prefix, int64_t at)
{
	enum aivenauth_status st;

	if (at <= 0)
		return AIVENAUTH_ERR_INVALID;
	/* Nothing is taken away yet: a failure leaves the readers as they
	 * are, and the caller stops before it tells anyone otherwise. */
	st = record_entry(ctx, user_id, prefix, at, NULL);
	if (st != AIVENAUTH_OK && st != AIVENAUTH_ERR_CACHE_MISSING)
		ctx_log(ctx, LOG_ERR, "scheduled revocation of token %s not "
		    "recorded in the revocation journal (%s)", prefix,
		    aivenauth_strerror(st));
	return st;
}

enum aivenauth_status
aivenauth_revocation_journal_info(struct aivenauth_ctx *ctx,
    struct aivenauth_revocation_journal *out)
{
	enum aivenauth_status st;
	int64_t now = (int64_t)time(NULL);
	struct revj j;
	size_t i;

	if (ctx == NULL || out == NULL)
		return AIVENAUTH_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	out->slots = REVJ_SLOTS;
	if ((st = revj_open(ctx, false, &j)) != AIVENAUTH_OK)
		return st;
	revj_release(&j);   /* unlocked; what was read is kept */
	for (i = 0; j.read && i < REVJ_SLOTS; i++) {
		if (j.kind[i] == REVJ_TORN) {
			out->torn++;
		} else if (j.kind[i] == REVJ_ENTRY) {
			out->pending++;
			if (j.e[i].not_before > now)
				out->scheduled++;
			if (out->oldest == 0 || j.e[i].time < out->oldest)
				out->oldest = j.e[i].time;
		}
	}
	revj_close(&j);
	return AIVENAUTH_OK;
}

/* Does the stored token (view v) carry the journaled revocation e? */
static bool
entry_stored(const struct revj_entry *e, const struct tok_view *v)
{
	if ((v->flags & TOK_F_REVOKED) || v->removed_time != 0)
		return true;
	return e->not_before != 0 && v->revoke_at != 0 &&
	    v->revoke_at <= e->not_before;
}

/* One journaled revocation in this transaction: true when it is stored
 * (or nothing is left to store). */
static enum aivenauth_status
fold_one(struct aivenauth_ctx *ctx, MDB_txn *txn, const struct revj_entry *e,
    bool *done)
{
	struct aivenauth_token ch;
	struct tok_view v;
	MDB_val k, d;
	int64_t now = (int64_t)time(NULL);
	int rc;

	*done = false;
	k.mv_data = (void *)e->prefix;
	k.mv_size = strlen(e->prefix);
	rc = mdb_get(txn, ctx->cache->tokens, &k, &d);
	if (rc == MDB_NOTFOUND) {
		/* Not in the cache: nothing here accepts it.  A sync's apply
		 * has just stored every token the API listed when its fetch
		 * began: for a revocation journaled before that, the API no
		 * longer has it: done.  One journaled since (the token may be
		 * newer than the listing: made in the console after the
		 * fetch) is kept for the next sync, which sends its DELETE;
		 * so is any outside a sync's apply. */
		*done = ctx->cache->applying && e->seq < ctx->cache->fetch_seq;
		return AIVENAUTH_OK;
	}
	if (rc != 0)
		return cache_err(ctx, rc, "looking up a token");
	if (!tok_decode(d.mv_data, d.mv_size, &v))
		return record_corrupt(ctx, "token", &k);
	if (!sv_eq(v.user_id, e->user_id)) {
		/* `token revoke` checks the owner when the cache opens; a
		 * journaled entry it could not check names the wrong user:
		 * the API refuses that DELETE too.  Nothing to store. */
		ctx_log(ctx, LOG_WARNING, "revocation journal: token %s belongs "
		    "to application user %.*s, not %s; not revoked", e->prefix,
		    (int)v.user_id.n, v.user_id.p, e->user_id);
		*done = true;
		return AIVENAUTH_OK;
	}
	*done = true;
	if (entry_stored(e, &v))
		return AIVENAUTH_OK;
	memset(&ch, 0, sizeof(ch));
	if (e->not_before != 0 && e->not_before > now) {
		/* Scheduled: refused from not_before on (verify reads
		 * revoke_at), as aivenauth_cache_revoke(at) stores it. */
		ch.revoked = false;
		ch.revoke_at = e->not_before;
	} else {
		ch.revoked = true;
		ch.revoke_at = e->not_before != 0 ? e->not_before :
		    e->time > 0 ? e->time : now;
	}
	ch.local_expiry = v.local_expiry;
	ctx->cache->publish = true;
	ctx->cache->restricts = true;
	ctx_log(ctx, LOG_NOTICE, "token %s %s from the revocation journal",
	    e->prefix, ch.revoked ? "revoked" : "scheduled for revocation");
	return token_rewrite(ctx, txn, &k, &v, &ch,
	    (v.flags & TOK_F_HASH) ? v.hash : NULL);
}

/* Is the overflowed revocation o stored in this transaction (its token
 * revoked or removed)? */
static bool
over_stored(struct aivenauth_ctx *ctx, MDB_txn *txn, const struct revj_over *o)
{
	struct tok_view v;
	MDB_val k, d;

	k.mv_data = (void *)o->prefix;
	k.mv_size = strlen(o->prefix);
	if (mdb_get(txn, ctx->cache->tokens, &k, &d) != 0 ||
	    !tok_decode(d.mv_data, d.mv_size, &v) || !sv_eq(v.user_id, o->user_id))
		return false;
	return (v.flags & TOK_F_REVOKED) || v.removed_time != 0;
}

enum aivenauth_status
revj_fold(struct aivenauth_ctx *ctx, MDB_txn *txn, struct revj_fold *f)
{
	enum aivenauth_status st;
	size_t i;

	memset(f->done, 0, sizeof(f->done));
	f->n_done = 0;
	ctx->cache->revj_over = false;
	if (f->j.fd < 0) {
		/* Held (locked) from the first attempt to the commit: no
		 * recorder writes a slot while this write reads and frees
		 * them. */
		if ((st = revj_open(ctx, false, &f->j)) != AIVENAUTH_OK)
			return st;
		if (f->j.fd < 0)
			return AIVENAUTH_OK;   /* no journal: nothing pending */
	}
	/* A revocation the full journal could not take: no publication
	 * lifts the readers' withdrawal (publish_after_commit) -- unless
	 * this very transaction stores it (the revoke run again once the
	 * cache has room); then the mark drops it after the commit. */
	over_journal(ctx, &f->j);       /* stored by this very write */
	memset(f->over_done, 0, sizeof(f->over_done));
	f->n_over_done = 0;
	for (i = 0; i < f->j.hdr.n_over; i++)
		if ((f->over_done[i] = over_stored(ctx, txn,
		    &f->j.hdr.over[i])))
			f->n_over_done++;
	ctx->cache->revj_over = f->j.hdr.lost ||
	    f->n_over_done < f->j.hdr.n_over;
	for (i = 0; i < REVJ_SLOTS; i++) {
		if (f->j.kind[i] == REVJ_TORN) {
			ctx_log(ctx, LOG_WARNING, "revocation journal: slot %zu is "
			    "torn (a revocation cut short by a crash, before "
			    "`token revoke` said anything); freed", i);
			f->done[i] = true;
		} else if (f->j.kind[i] == REVJ_ENTRY) {
			if ((st = fold_one(ctx, txn, &f->j.e[i], &f->done[i])) !=
			    AIVENAUTH_OK)
				return st;
		}
		if (f->done[i])
			f->n_done++;
	}
	return AIVENAUTH_OK;
}

void
revj_fold_end(struct aivenauth_ctx *ctx, struct revj_fold *f, bool committed)
{
	enum aivenauth_status st = AIVENAUTH_OK;
	size_t i;

	if (f->j.fd < 0)
		return;
	if (committed && f->n_done > 0) {
		/* The counter never goes backwards (design.md section 2):
		 * before a slot that may hold the largest number given out
		 * is freed, the header must carry that number, durably --
		 * else the next revocation gets it again and a sync that
		 * noted it before its fetch frees that one as "no longer
		 * listed" (review 5, F4).  Cannot: nothing is freed. */
		st = revj_hold_seq(ctx, &f->j);
		for (i = 0; i < REVJ_SLOTS && st == AIVENAUTH_OK; i++)
			if (f->done[i])
				st = revj_clear(ctx, &f->j, i);
		if (st == AIVENAUTH_OK)
			st = revj_sync(ctx, &f->j);
		/* Not freed: the next write folds it again (a no-op). */
		if (st != AIVENAUTH_OK)
			ctx_log(ctx, LOG_WARNING, "revocation journal: stored "
			    "revocations not cleared (%s); the next write "
			    "retries", aivenauth_strerror(st));
	}
	if (committed && f->n_over_done > 0) {
		/* Overflowed revocations this commit stored: off the mark. */
		for (i = f->j.hdr.n_over; i-- > 0;)
			if (f->over_done[i])
				(void)over_drop(&f->j, f->j.hdr.over[i].user_id,
				    f->j.hdr.over[i].prefix);
		if (revj_put_hdr(ctx, &f->j) != AIVENAUTH_OK ||
		    revj_sync(ctx, &f->j) != AIVENAUTH_OK)
			ctx_log(ctx, LOG_WARNING, "revocation journal: the "
			    "overflow mark not updated; the next write retries");
		f->n_over_done = 0;
	}
	/* Slots freed: the named ones still waiting go in (the next write
	 * stores them; this one published nothing while they were named). */
	if (committed)
		over_journal(ctx, &f->j);
	revj_close(&f->j);
	f->n_done = 0;
}

bool
revj_pending(struct aivenauth_ctx *ctx)
{
	enum aivenauth_status st;
	struct tok_view v;
	struct revj j;
	MDB_txn *txn;
	MDB_val k, d;
	bool pending = false;
	size_t i;

	if (revj_open(ctx, false, &j) != AIVENAUTH_OK)
		return false;
	if (j.fd < 0) {
		revj_close(&j);
		return false;
	}
	if ((st = cache_read_begin(ctx, &txn)) != AIVENAUTH_OK) {
		revj_close(&j);
		return true;
	}
	for (i = 0; i < REVJ_SLOTS && !pending; i++) {
		if (j.kind[i] != REVJ_ENTRY)
			continue;
		k.mv_data = j.e[i].prefix;
		k.mv_size = strlen(j.e[i].prefix);
		/* Only a token stored live needs a write (an unknown one
		 * waits for the sync). */
		if (mdb_get(txn, ctx->cache->tokens, &k, &d) == 0 &&
		    tok_decode(d.mv_data, d.mv_size, &v) &&
		    !entry_stored(&j.e[i], &v))
			pending = true;
	}
	cache_read_end(ctx);
	revj_close(&j);
	return pending;
}

enum aivenauth_status
aivenauth_revocation_overflow(struct aivenauth_ctx *ctx, size_t *listed,
    bool *lost, bool clear)
{
	enum aivenauth_status st;
	struct revj j;

	if (ctx == NULL)
		return AIVENAUTH_ERR_INVALID;
	if (listed != NULL)
		*listed = 0;
	if (lost != NULL)
		*lost = false;
	if ((st = revj_open(ctx, false, &j)) != AIVENAUTH_OK)
		return st;
	if (j.fd < 0) {
		revj_close(&j);
		return AIVENAUTH_OK;   /* no journal: no mark */
	}
	if (listed != NULL)
		*listed = j.hdr.n_over;
	if (lost != NULL)
		*lost = j.hdr.lost;
	if (clear && revj_overflowed(&j)) {
		/* Only "lost" (what nothing names) is the operator's to
		 * clear; a named revocation is journaled, never dropped
		 * (review 5, F2).  One that finds no room yet: refused. */
		over_journal(ctx, &j);
		if (listed != NULL)
			*listed = j.hdr.n_over;
		if (j.hdr.n_over > 0) {
			ctx_log(ctx, LOG_INFO, "revocation journal: %zu named "
			    "revocation(s) cannot be journaled yet (no free "
			    "slot): the overflow mark stays until they are",
			    j.hdr.n_over);
			st = AIVENAUTH_ERR_CACHE_FULL;
		} else if (j.hdr.lost) {
			j.hdr.lost = false;
			if ((st = revj_put_hdr(ctx, &j)) == AIVENAUTH_OK)
				st = revj_sync(ctx, &j);
			if (st == AIVENAUTH_OK)
				ctx_log(ctx, LOG_NOTICE, "revocation journal: "
				    "overflow mark (lost) cleared by the "
				    "operator");
		}
	}
	revj_close(&j);
	return st;
}

enum aivenauth_status
aivenauth_revocation_overflow_named(struct aivenauth_ctx *ctx,
    struct aivenauth_revocation_named *out, size_t max, size_t *n)
{
	enum aivenauth_status st;
	struct revj j;
	size_t i;

	if (ctx == NULL || n == NULL || (out == NULL && max > 0))
		return AIVENAUTH_ERR_INVALID;
	*n = 0;
	if ((st = revj_open(ctx, false, &j)) != AIVENAUTH_OK)
		return st;
	for (i = 0; j.fd >= 0 && i < j.hdr.n_over; i++) {
		if (i < max) {
			memset(&out[i], 0, sizeof(out[i]));
			memcpy(out[i].prefix, j.hdr.over[i].prefix,
			    strlen(j.hdr.over[i].prefix));
			memcpy(out[i].user_id, j.hdr.over[i].user_id,
			    strlen(j.hdr.over[i].user_id));
		}
		(*n)++;
	}
	revj_close(&j);
	return AIVENAUTH_OK;
}
