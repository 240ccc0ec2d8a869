/*
 * check_revjournal.c - the revocation journal (libaivenauth/writer/
 * revjournal.c, revoke_fold.c; SECURITY.md O1): the slot codec (round
 * trip, checksum, torn slots), a full journal, and the fold: a journaled
 * revocation is stored by the next write of any kind and its slot freed;
 * one naming the wrong user revokes nothing; a torn slot is freed, never
 * guessed at.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers/fixture.h"
#include "base/internal.h"
#include "base/cache.h"
#include "writer/revjournal.h"

static struct revj_entry
entry(const char *prefix, const char *user)
{
	struct revj_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.prefix, sizeof(e.prefix), "%s", prefix);
	snprintf(e.user_id, sizeof(e.user_id), "%s", user);
	e.time = 1700000000;
	return e;
}

START_TEST(codec_round_trip)
{
	unsigned char slot[REVJ_SLOT];
	struct revj_entry e = entry("ab+/cd=efGH1", "u4c1d2e3f"), d;

	ck_assert(revj_encode(&e, slot));
	ck_assert_int_eq(revj_decode(slot, &d), REVJ_ENTRY);
	ck_assert_str_eq(d.prefix, e.prefix);
	ck_assert_str_eq(d.user_id, e.user_id);
	ck_assert_int_eq(d.time, e.time);
	memset(slot, 0, sizeof(slot));
	ck_assert_int_eq(revj_decode(slot, &d), REVJ_EMPTY);
	/* Longest fields fit; longer, or empty, are refused. */
	memset(e.prefix, 'p', AIVENAUTH_PREFIX_MAX);
	memset(e.user_id, 'u', AIVENAUTH_ID_MAX);
	ck_assert(revj_encode(&e, slot));
	ck_assert_int_eq(revj_decode(slot, &d), REVJ_ENTRY);
	ck_assert_uint_eq(strlen(d.prefix), AIVENAUTH_PREFIX_MAX);
	e = entry("", "u1");
	ck_assert(!revj_encode(&e, slot));
	e = entry("abc", "");
	ck_assert(!revj_encode(&e, slot));
	/* A scheduled one carries its time; a slot written before that
	 * field existed (zero there) is "now". */
	e = entry("abc", "u1");
	e.not_before = 1800000000;
	ck_assert(revj_encode(&e, slot));
	ck_assert_int_eq(revj_decode(slot, &d), REVJ_ENTRY);
	ck_assert_int_eq(d.not_before, 1800000000);
	e.not_before = 0;
	ck_assert(revj_encode(&e, slot));
	ck_assert_int_eq(revj_decode(slot, &d), REVJ_ENTRY);
	ck_assert_int_eq(d.not_before, 0);
	e.not_before = -1;
	ck_assert(!revj_encode(&e, slot));
}
END_TEST

START_TEST(codec_torn_and_checksum)
{
	unsigned char slot[REVJ_SLOT], copy[REVJ_SLOT];
	struct revj_entry e = entry("ABCDEFGHIJKL", "u1"), d;
	size_t i;

	ck_assert(revj_encode(&e, slot));
	/* Any one bit flipped anywhere: torn, never another entry. */
	for (i = 0; i < REVJ_SLOT; i++) {
		memcpy(copy, slot, sizeof(copy));
		copy[i] ^= 0x10;
		ck_assert_int_eq(revj_decode(copy, &d), REVJ_TORN);
		ck_assert_str_eq(d.prefix, "");
	}
	/* A write cut short (the first half written, the rest still zero,
	 * or the tail of an old slot): torn. */
	memset(copy, 0, sizeof(copy));
	memcpy(copy, slot, REVJ_SLOT / 2);
	ck_assert_int_eq(revj_decode(copy, &d), REVJ_TORN);
	memset(copy, 0, sizeof(copy));
	memcpy(copy + REVJ_SLOT / 2, slot + REVJ_SLOT / 2, REVJ_SLOT / 2);
	ck_assert_int_eq(revj_decode(copy, &d), REVJ_TORN);
}
END_TEST

static char *dir;
static struct aivenauth_ctx *ctx;
static char tok[2][FX_TOKEN_LEN + 1];
static struct fx_snap snap;

static void
setup(void)
{
	dir = fx_tmpdir();
	ck_assert_ptr_nonnull(dir);
	ctx = fx_ctx(dir);
	ck_assert_ptr_nonnull(ctx);
	fx_token(tok[0], 0);
	fx_token(tok[1], '+');
	fx_snap_init(&snap);
	fx_add_user(&snap, "u1", "alice");
	fx_add_user(&snap, "u2", "bob");
	fx_add_token(&snap, "u1", tok[0]);
	fx_add_token(&snap, "u2", tok[1]);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL),
	    AIVENAUTH_OK);
}

static void
teardown(void)
{
	fx_snap_free(&snap);
	aivenauth_ctx_free(ctx);
	fx_rmdir(dir);
	free(dir);
	dir = NULL;
}

/* A sync's apply whose fetch began when the journal's last sequence
 * number was fetch_seq (sync.c sets it so). */
static void
sync_apply(uint64_t fetch_seq)
{
	ck_assert_int_eq(aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR),
	    AIVENAUTH_OK);
	ctx->cache->fetch_seq = fetch_seq;
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL),
	    AIVENAUTH_OK);
	ctx->cache->fetch_seq = 0;
}

static char *
jpath(void)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/cache/writer/%s", dir, REVJ_FILE);
	return p;
}

/* How many slots hold an entry, read from the file itself. */
static int
entries(void)
{
	unsigned char slot[REVJ_SLOT];
	struct revj_entry e;
	int fd = open(jpath(), O_RDONLY), n = 0, i;

	ck_assert_int_ge(fd, 0);
	for (i = 0; i < REVJ_SLOTS; i++) {
		ck_assert_int_eq(pread(fd, slot, sizeof(slot), i * REVJ_SLOT),
		    REVJ_SLOT);
		n += revj_decode(slot, &e) == REVJ_ENTRY;
	}
	close(fd);
	return n;
}

START_TEST(journal_preallocated)
{
	struct stat st;

	/* Made in full when the writer opened the cache. */
	ck_assert_int_eq(stat(jpath(), &st), 0);
	ck_assert_int_eq(st.st_size, REVJ_SIZE);
	ck_assert_int_ge(st.st_blocks * 512, REVJ_SIZE);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(entries(), 0);
}
END_TEST

START_TEST(journal_full)
{
	char p[32];
	int i;

	for (i = 0; i < REVJ_SLOTS; i++) {
		snprintf(p, sizeof(p), "pfx%09d", i);
		ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", p),
		    AIVENAUTH_OK);
	}
	ck_assert_int_eq(entries(), REVJ_SLOTS);
	/* The same one again takes no slot. */
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "pfx000000007"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "one-too-many"),
	    AIVENAUTH_ERR_CACHE_FULL);
	ck_assert_int_eq(entries(), REVJ_SLOTS);
	/* A sync's apply whose fetch began after all of them: none is
	 * listed, so the API confirms them all; the slots are free again. */
	sync_apply(UINT64_MAX);
	/* ... but the one that found it full, named by the overflow mark,
	 * is journaled into a freed slot (review 5, F2). */
	ck_assert_int_eq(entries(), 1);
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "one-too-many"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(entries(), 1);
}
END_TEST

/* What a reader decides for token i (a fresh reader process's view). */
static enum aivenauth_reason
decide(int i)
{
	struct aivenauth_ctx *r = fx_ctx(dir);
	struct aivenauth_decision d;
	enum aivenauth_reason why;

	ck_assert_ptr_nonnull(r);
	memset(&d, 0, sizeof(d));
	aivenauth_cache_close(r);   /* fx_ctx opened it as the writer */
	if (aivenauth_cache_open(r, AIVENAUTH_OPEN_RDONLY) != AIVENAUTH_OK) {
		aivenauth_ctx_free(r);
		return AIVENAUTH_REASON_CACHE_UNAVAILABLE;
	}
	if (aivenauth_verify(r, tok[i], FX_TOKEN_LEN, NULL, &d) !=
	    AIVENAUTH_OK && d.reason == AIVENAUTH_ACCEPTED)
		d.reason = AIVENAUTH_REASON_CACHE_UNAVAILABLE;
	why = d.reason;
	aivenauth_ctx_free(r);
	return why;
}

static void
fill_journal(void)
{
	char p[32];
	int i;

	for (i = 0; i < REVJ_SLOTS; i++) {
		snprintf(p, sizeof(p), "pfx%09d", i);
		ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", p),
		    AIVENAUTH_OK);
	}
}

/* SECURITY.md O1 (review r2): a revocation the full journal cannot take
 * sets the overflow mark; no write publishes (readers stay withdrawn)
 * until it is journaled, once a slot is free. */
START_TEST(overflow_mark_holds_withdrawal)
{
	char *q = snap.s.tokens[1].prefix;
	struct aivenauth_token t;
	size_t listed;
	bool lost;

	ck_assert_int_eq(decide(1), AIVENAUTH_REASON_NOT_ENROLLED);
	fill_journal();
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u2", q),
	    AIVENAUTH_ERR_CACHE_FULL);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert_uint_eq(listed, 1);
	ck_assert(!lost);
	ck_assert_int_eq(decide(1), AIVENAUTH_REASON_CACHE_UNAVAILABLE);
	/* Writes of any kind, a sync that frees every slot: still
	 * withdrawn, the mark names q. */
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, snap.s.tokens[0].prefix,
	    (int64_t)time(NULL) + 3600), AIVENAUTH_OK);
	sync_apply(UINT64_MAX);
	/* The slots it freed: q journaled from the list at once (review
	 * 5, F2: never dropped), stored by the next write (which then
	 * publishes: nothing is left unrecorded). */
	ck_assert_int_eq(entries(), 1);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert_uint_eq(listed, 0);
	/* Run again: journaled already, nothing changes. */
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u2", q),
	    AIVENAUTH_OK);
	ck_assert_int_eq(entries(), 1);
	sync_apply(0);
	ck_assert_int_eq(aivenauth_cache_token(ctx, q, &t), AIVENAUTH_OK);
	ck_assert(t.revoked);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(decide(0), AIVENAUTH_REASON_NOT_ENROLLED);
}
END_TEST

/* More overflowed revocations than the header can name: "lost", cleared
 * only by the operator. */
START_TEST(overflow_lost_cleared_by_operator)
{
	char p[32];
	size_t listed;
	bool lost;
	int i;

	fill_journal();
	for (i = 0; i <= REVJ_OVER_MAX; i++) {
		snprintf(p, sizeof(p), "over%08d", i);
		ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", p),
		    AIVENAUTH_ERR_CACHE_FULL);
	}
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert_uint_eq(listed, REVJ_OVER_MAX);
	ck_assert(lost);
	ck_assert_int_eq(decide(0), AIVENAUTH_REASON_CACHE_UNAVAILABLE);
	sync_apply(UINT64_MAX);
	ck_assert_int_eq(decide(0), AIVENAUTH_REASON_CACHE_UNAVAILABLE);
	for (i = 0; i < REVJ_OVER_MAX; i++) {
		snprintf(p, sizeof(p), "over%08d", i);
		ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", p),
		    AIVENAUTH_OK);
	}
	sync_apply(UINT64_MAX);
	ck_assert_int_eq(decide(0), AIVENAUTH_REASON_CACHE_UNAVAILABLE);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    true), AIVENAUTH_OK);
	ck_assert(lost);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert(!lost);
	ck_assert_uint_eq(listed, 0);
	sync_apply(0);
	ck_assert_int_eq(decide(0), AIVENAUTH_REASON_NOT_ENROLLED);
}
END_TEST

/* Both header copies damaged: fail closed (an overflow mark may have
 * been there). */
START_TEST(header_damaged_fails_closed)
{
	unsigned char junk[REVJ_HDR];
	bool lost;
	size_t listed;
	int fd;

	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "somepfx"),
	    AIVENAUTH_OK);
	memset(junk, 0x5a, sizeof(junk));
	fd = open(jpath(), O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), REVJ_HDR_OFF),
	    REVJ_HDR);
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), REVJ_HDR_OFF +
	    REVJ_HDR), REVJ_HDR);
	close(fd);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert(lost);
	/* One copy good again (a torn write of the other): the good one. */
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, NULL, NULL, true),
	    AIVENAUTH_OK);
	fd = open(jpath(), O_WRONLY);
	ck_assert_int_eq(pwrite(fd, junk, 100, REVJ_HDR_OFF), 100);
	ck_assert_int_eq(pwrite(fd, junk, 100, REVJ_HDR_OFF + REVJ_HDR), 100);
	close(fd);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert(lost);   /* both torn again */
}
END_TEST

/* SECURITY.md O1 (review r3): a sync's apply frees a journaled revocation
 * of a token it does not list only when it was journaled before the
 * sync's fetch began; one journaled during the sync waits for the next
 * one (whose listing may show the token, and whose DELETE it sends). */
START_TEST(sync_frees_only_entries_older_than_its_fetch)
{
	struct revj j;
	uint64_t before;

	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "oldpfx000001"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(revj_open(ctx, false, &j), AIVENAUTH_OK);
	before = revj_last_seq(&j);
	revj_close(&j);
	ck_assert_uint_ge(before, 1);
	/* Made in the console after the fetch, revoked here at once. */
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "newpfx000002"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(entries(), 2);
	sync_apply(before + 1);     /* sync.c: one past the last number */
	ck_assert_int_eq(entries(), 1);
	ck_assert_int_eq(revj_open(ctx, false, &j), AIVENAUTH_OK);
	ck_assert_uint_gt(revj_last_seq(&j), before);
	revj_close(&j);
	/* Sequence numbers never go back, even with every slot free. */
	sync_apply(UINT64_MAX);
	ck_assert_int_eq(entries(), 0);
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "newpfx000003"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(revj_open(ctx, false, &j), AIVENAUTH_OK);
	ck_assert_uint_eq(revj_last_seq(&j), before + 2);
	revj_close(&j);
	/* An apply that is not a sync's (fetch_seq 0) frees none. */
	sync_apply(0);
	ck_assert_int_eq(entries(), 1);
}
END_TEST

START_TEST(fold_on_any_write)
{
	struct aivenauth_token t;
	char *p = snap.s.tokens[0].prefix, *q = snap.s.tokens[1].prefix;

	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", p), AIVENAUTH_OK);
	/* Wrong owner: u1 does not own q; revokes nothing. */
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", q), AIVENAUTH_OK);
	ck_assert_int_eq(entries(), 2);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(!t.revoked);
	aivenauth_token_clear(&t);
	/* Any write -- here removing an unrelated token -- carries it. */
	ck_assert_int_eq(aivenauth_cache_remove(ctx, "no-such"),
	    AIVENAUTH_ERR_NOT_FOUND);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, q, (int64_t)time(NULL) +
	    3600), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(t.revoked);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(aivenauth_cache_token(ctx, q, &t), AIVENAUTH_OK);
	ck_assert(!t.revoked);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(entries(), 0);
	/* A sync that still sees p listed keeps it revoked. */
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(t.revoked);
	aivenauth_token_clear(&t);
}
END_TEST

/* `token rotate` with a grace: a scheduled slot, stored by any write as
 * revoke_at (not revoked yet); a later `token revoke` of the same token
 * makes it "now". */
START_TEST(scheduled_fold)
{
	struct aivenauth_revocation_journal rj;
	struct aivenauth_token t;
	char *p = snap.s.tokens[0].prefix, *q = snap.s.tokens[1].prefix;
	int64_t at = (int64_t)time(NULL) + 3600;

	ck_assert_int_eq(aivenauth_revocation_schedule(ctx, "u1", p, at),
	    AIVENAUTH_OK);
	/* A later time for the same token takes no slot and changes
	 * nothing. */
	ck_assert_int_eq(aivenauth_revocation_schedule(ctx, "u1", p, at + 60),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_revocation_journal_info(ctx, &rj),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(rj.pending, 1);
	ck_assert_uint_eq(rj.scheduled, 1);
	ck_assert_uint_eq(rj.slots, REVJ_SLOTS);
	ck_assert_int_eq(aivenauth_cache_remove(ctx, "no-such"),
	    AIVENAUTH_ERR_NOT_FOUND);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, q, at + 7200),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(!t.revoked);
	ck_assert_int_eq(t.revoke_at, at);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(entries(), 0);
	/* Scheduled, then revoked now before any write: one slot, "now". */
	ck_assert_int_eq(aivenauth_revocation_schedule(ctx, "u1", p, at),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", p),
	    AIVENAUTH_OK);
	ck_assert_int_eq(entries(), 1);
	ck_assert_int_eq(aivenauth_revocation_journal_info(ctx, &rj),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(rj.scheduled, 0);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, q, at + 7200),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, p, &t), AIVENAUTH_OK);
	ck_assert(t.revoked);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(entries(), 0);
	ck_assert_int_eq(aivenauth_revocation_schedule(ctx, "u1", p, 0),
	    AIVENAUTH_ERR_INVALID);
}
END_TEST

START_TEST(torn_slot_freed_not_guessed)
{
	unsigned char slot[REVJ_SLOT];
	struct revj_entry e = entry(snap.s.tokens[0].prefix, "u1");
	struct aivenauth_token t;
	int fd;

	ck_assert(revj_encode(&e, slot));
	memset(slot + REVJ_SLOT / 2, 0, REVJ_SLOT / 2);   /* cut short */
	fd = open(jpath(), O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, slot, sizeof(slot), 3 * REVJ_SLOT), REVJ_SLOT);
	close(fd);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, e.prefix, &t), AIVENAUTH_OK);
	ck_assert(!t.revoked);
	aivenauth_token_clear(&t);
	fd = open(jpath(), O_RDONLY);
	ck_assert_int_eq(pread(fd, slot, sizeof(slot), 3 * REVJ_SLOT), REVJ_SLOT);
	close(fd);
	ck_assert_int_eq(revj_decode(slot, &e), REVJ_EMPTY);
}
END_TEST

/* Review 5, F2: --clear-overflow never drops a named revocation: with no
 * free slot it is refused and the mark stays; once a slot is free the
 * named one is journaled (stored, DELETEd) and only "lost" is cleared. */
START_TEST(clear_overflow_keeps_named)
{
	char *q = snap.s.tokens[1].prefix;
	struct aivenauth_revocation_named nm[REVJ_OVER_MAX];
	struct aivenauth_token t;
	size_t listed, n;
	bool lost;
	char p[32];
	int i;

	fill_journal();
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u2", q),
	    AIVENAUTH_ERR_CACHE_FULL);
	for (i = 1; i <= REVJ_OVER_MAX; i++) {
		snprintf(p, sizeof(p), "over%08d", i);
		ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", p),
		    AIVENAUTH_ERR_CACHE_FULL);
	}
	ck_assert_int_eq(aivenauth_revocation_overflow_named(ctx, nm,
	    REVJ_OVER_MAX, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(n, REVJ_OVER_MAX);
	ck_assert_str_eq(nm[0].prefix, q);
	ck_assert_str_eq(nm[0].user_id, "u2");
	/* No room: refused, nothing cleared. */
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    true), AIVENAUTH_ERR_CACHE_FULL);
	ck_assert_uint_eq(listed, REVJ_OVER_MAX);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert_uint_eq(listed, REVJ_OVER_MAX);
	ck_assert(lost);
	ck_assert_int_eq(entries(), REVJ_SLOTS);
	/* Room again (a sync stored the rest): the clear journals the
	 * named ones and clears only "lost". */
	sync_apply(UINT64_MAX);
	ck_assert_int_eq(entries(), REVJ_OVER_MAX);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    true), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_revocation_overflow(ctx, &listed, &lost,
	    false), AIVENAUTH_OK);
	ck_assert_uint_eq(listed, 0);
	ck_assert(!lost);
	sync_apply(0);
	ck_assert_int_eq(aivenauth_cache_token(ctx, q, &t), AIVENAUTH_OK);
	ck_assert(t.revoked);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(decide(0), AIVENAUTH_REASON_NOT_ENROLLED);
}
END_TEST

/* Put e into slot i directly (as a header write that failed left it). */
static void
put_slot(const struct revj_entry *e, int i)
{
	unsigned char slot[REVJ_SLOT];
	int fd;

	ck_assert(revj_encode(e, slot));
	fd = open(jpath(), O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, slot, sizeof(slot), (off_t)i * REVJ_SLOT),
	    REVJ_SLOT);
	close(fd);
}

/* Review 5, F4: an entry carries a larger number than the header (its
 * header write failed).  A write that stores and frees it must first make
 * the header carry that number: the next revocation gets a larger one,
 * never the same again (a sync that noted it would free the newer one). */
START_TEST(seq_never_goes_back_when_header_lags)
{
	struct revj_entry e = entry(snap.s.tokens[0].prefix, "u1");
	struct aivenauth_token t;
	struct revj j;

	e.seq = 1000;
	put_slot(&e, 5);
	ck_assert_int_eq(revj_open(ctx, false, &j), AIVENAUTH_OK);
	ck_assert_uint_lt(j.hdr.seq, 1000);
	revj_close(&j);
	/* Any write stores it and frees the slot. */
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_token(ctx, e.prefix, &t), AIVENAUTH_OK);
	ck_assert(t.revoked);
	aivenauth_token_clear(&t);
	ck_assert_int_eq(entries(), 0);
	ck_assert_int_eq(revj_open(ctx, false, &j), AIVENAUTH_OK);
	ck_assert_uint_ge(j.hdr.seq, 1000);
	revj_close(&j);
	ck_assert_int_eq(aivenauth_revocation_record(ctx, "u1", "newpfx000009"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(revj_open(ctx, false, &j), AIVENAUTH_OK);
	ck_assert_uint_gt(revj_last_seq(&j), 1000);
	revj_close(&j);
}
END_TEST

/* Review 5 (low): an entry written before sequence numbers (seq 0) is
 * not freed by an apply that is no sync's (a follower's or a standby's:
 * fetch_seq 0); a sync whose fetch followed it frees it. */
START_TEST(seq0_entry_kept_by_an_apply_without_fetch)
{
	struct revj_entry e = entry("legacy000001", "u1");

	put_slot(&e, 7);
	ck_assert_int_eq(entries(), 1);
	sync_apply(0);
	ck_assert_int_eq(entries(), 1);
	sync_apply(1);
	ck_assert_int_eq(entries(), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("revjournal");
	TCase *tc = tcase_create("codec"), *tj = tcase_create("journal");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, codec_round_trip);
	tcase_add_test(tc, codec_torn_and_checksum);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tj, setup, teardown);
	tcase_add_test(tj, journal_preallocated);
	tcase_add_test(tj, journal_full);
	tcase_add_test(tj, fold_on_any_write);
	tcase_add_test(tj, scheduled_fold);
	tcase_add_test(tj, torn_slot_freed_not_guessed);
	tcase_add_test(tj, sync_frees_only_entries_older_than_its_fetch);
	tcase_add_test(tj, overflow_mark_holds_withdrawal);
	tcase_add_test(tj, overflow_lost_cleared_by_operator);
	tcase_add_test(tj, header_damaged_fails_closed);
	tcase_add_test(tj, seq_never_goes_back_when_header_lags);
	tcase_add_test(tj, seq0_entry_kept_by_an_apply_without_fetch);
	tcase_add_test(tj, clear_overflow_keeps_named);
	tcase_set_timeout(tj, 120);
	suite_add_tcase(s, tj);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
