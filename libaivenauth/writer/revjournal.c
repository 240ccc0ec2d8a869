/*
 * revjournal.c - the revocation journal's slots and file (revjournal.h).
 *
 * A slot (REVJ_SLOT bytes, little-endian):
 *   0  u32 magic "RVJ1"      4  u8 prefix length   5  u8 user id length
 *   6  u16 zero              8  i64 time of the revocation
 *   16 prefix (64 bytes, zero padded)   80 user id (64, zero padded)
 *   144 i64 not before (0: now; else a scheduled revocation's time)
 *   152 u64 sequence number (0 in a journal older than them)
 *   160..495 zero            496 BLAKE2b-128 of bytes 0..495
 * (Slots written before "not before" existed have zero there: "now".)
 * A header copy (REVJ_HDR bytes, after the slots; two of them):
 *   0  u32 magic "RVH1"      4  u8 lost   5  u8 number listed   6 u16 zero
 *   8  u64 gen               16 u64 seq
 *   24 REVJ_OVER_MAX x (u8 prefix length, u8 user id length, prefix 64,
 *      user id 64), unused ones zero
 *   REVJ_HDR-16 BLAKE2b-128 of what precedes it
 * An all-zero slot is free.  Anything else that does not check out is
 * torn: a write a crash cut short.  Since `token revoke` says nothing
 * before its slot is written and synced, a torn slot is a revocation
 * nobody was told about; it is reported and reused, never guessed at
 * (honouring half a prefix could revoke someone else's token).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "writer/revjournal.h"
#include "writer/writer.h"

#define OFF_PLEN 4
#define OFF_ULEN 5
#define OFF_TIME 8
#define OFF_PREFIX 16
#define OFF_USER (OFF_PREFIX + AIVENAUTH_PREFIX_MAX)
#define OFF_NB (OFF_USER + AIVENAUTH_ID_MAX)
#define OFF_SEQ (OFF_NB + 8)
#define OFF_PAD (OFF_SEQ + 8)
#define OFF_CHECK (REVJ_SLOT - 16)
#define H_OVER 24
#define H_ONE (2 + AIVENAUTH_PREFIX_MAX + AIVENAUTH_ID_MAX)
#define H_CHECK (REVJ_HDR - 16)

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
slot_check(const unsigned char *slot, unsigned char out[16])
{
	crypto_generichash(out, 16, slot, OFF_CHECK, NULL, 0);
}

/* A field's bytes: no NUL inside, zero padding after. */
static bool
field_ok(const unsigned char *p, size_t n, size_t cap)
{
	size_t i;

	if (n == 0 || n > cap || memchr(p, '\0', n) != NULL)
		return false;
	for (i = n; i < cap; i++)
		if (p[i] != 0)
			return false;
	return true;
}

bool
revj_encode(const struct revj_entry *e, unsigned char slot[REVJ_SLOT])
{
	size_t pn = strnlen(e->prefix, sizeof(e->prefix));
	size_t un = strnlen(e->user_id, sizeof(e->user_id));

	memset(slot, 0, REVJ_SLOT);
	if (pn == 0 || pn > AIVENAUTH_PREFIX_MAX || un == 0 ||
	    un > AIVENAUTH_ID_MAX || e->not_before < 0)
		return false;
	put_le(slot, REVJ_MAGIC, 4);
	slot[OFF_PLEN] = (unsigned char)pn;
	slot[OFF_ULEN] = (unsigned char)un;
	put_le(slot + OFF_TIME, (uint64_t)e->time, 8);
	memcpy(slot + OFF_PREFIX, e->prefix, pn);
	memcpy(slot + OFF_USER, e->user_id, un);
	put_le(slot + OFF_NB, (uint64_t)e->not_before, 8);
	put_le(slot + OFF_SEQ, e->seq, 8);
	slot_check(slot, slot + OFF_CHECK);
	return true;
}

enum revj_kind
revj_decode(const unsigned char slot[REVJ_SLOT], struct revj_entry *e)
{
	unsigned char sum[16];
	size_t i, pn, un;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < REVJ_SLOT && slot[i] == 0; i++)
		;
	if (i == REVJ_SLOT)
		return REVJ_EMPTY;
	if (get_le(slot, 4) != REVJ_MAGIC)
		return REVJ_TORN;
	slot_check(slot, sum);
	if (sodium_memcmp(sum, slot + OFF_CHECK, sizeof(sum)) != 0)
		return REVJ_TORN;
	pn = slot[OFF_PLEN];
	un = slot[OFF_ULEN];
	if (slot[6] != 0 || slot[7] != 0 ||
	    !field_ok(slot + OFF_PREFIX, pn, AIVENAUTH_PREFIX_MAX) ||
	    !field_ok(slot + OFF_USER, un, AIVENAUTH_ID_MAX))
		return REVJ_TORN;
	if ((int64_t)get_le(slot + OFF_NB, 8) < 0)
		return REVJ_TORN;
	for (i = OFF_PAD; i < OFF_CHECK; i++)
		if (slot[i] != 0)
			return REVJ_TORN;
	memcpy(e->prefix, slot + OFF_PREFIX, pn);
	memcpy(e->user_id, slot + OFF_USER, un);
	e->time = (int64_t)get_le(slot + OFF_TIME, 8);
	e->not_before = (int64_t)get_le(slot + OFF_NB, 8);
	e->seq = get_le(slot + OFF_SEQ, 8);
	return REVJ_ENTRY;
}

void
revj_hdr_encode(const struct revj_hdr *h, unsigned char copy[REVJ_HDR])
{
	unsigned char *p;
	size_t i, pn, un;

	memset(copy, 0, REVJ_HDR);
	put_le(copy, REVJ_HMAGIC, 4);
	copy[4] = h->lost ? 1 : 0;
	copy[5] = (unsigned char)(h->n_over > REVJ_OVER_MAX ? REVJ_OVER_MAX :
	    h->n_over);
	put_le(copy + 8, h->gen, 8);
	put_le(copy + 16, h->seq, 8);
	for (i = 0; i < copy[5]; i++) {
		p = copy + H_OVER + i * H_ONE;
		pn = strnlen(h->over[i].prefix, AIVENAUTH_PREFIX_MAX);
		un = strnlen(h->over[i].user_id, AIVENAUTH_ID_MAX);
		p[0] = (unsigned char)pn;
		p[1] = (unsigned char)un;
		memcpy(p + 2, h->over[i].prefix, pn);
		memcpy(p + 2 + AIVENAUTH_PREFIX_MAX, h->over[i].user_id, un);
	}
	crypto_generichash(copy + H_CHECK, 16, copy, H_CHECK, NULL, 0);
}

enum revj_kind
revj_hdr_decode(const unsigned char copy[REVJ_HDR], struct revj_hdr *h)
{
	unsigned char sum[16];
	const unsigned char *p;
	size_t i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < REVJ_HDR && copy[i] == 0; i++)
		;
	if (i == REVJ_HDR)
		return REVJ_EMPTY;
	crypto_generichash(sum, 16, copy, H_CHECK, NULL, 0);
	if (get_le(copy, 4) != REVJ_HMAGIC || copy[4] > 1 ||
	    copy[5] > REVJ_OVER_MAX ||
	    sodium_memcmp(sum, copy + H_CHECK, sizeof(sum)) != 0)
		return REVJ_TORN;
	h->lost = copy[4] != 0;
	h->n_over = copy[5];
	h->gen = get_le(copy + 8, 8);
	h->seq = get_le(copy + 16, 8);
	for (i = 0; i < h->n_over; i++) {
		p = copy + H_OVER + i * H_ONE;
		if (!field_ok(p + 2, p[0], AIVENAUTH_PREFIX_MAX) ||
		    !field_ok(p + 2 + AIVENAUTH_PREFIX_MAX, p[1],
		    AIVENAUTH_ID_MAX)) {
			memset(h, 0, sizeof(*h));
			return REVJ_TORN;
		}
		memcpy(h->over[i].prefix, p + 2, p[0]);
		memcpy(h->over[i].user_id, p + 2 + AIVENAUTH_PREFIX_MAX, p[1]);
	}
	return REVJ_ENTRY;
}

/* cache_dir/writer, checked as writer_open checks it: a private
 * directory of root or the writer. */
static enum aivenauth_status
writer_dir_fd(struct aivenauth_ctx *ctx, int *dfd)
{
	char *w = path_join(ctx->cfg.cache_dir, WRITER_DIR);
	struct stat st;
	int fd;

	if (w == NULL)
		return AIVENAUTH_ERR_NOMEM;
	fd = open(w, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(w);
	if (fd < 0 && errno == ENOENT)
		return AIVENAUTH_ERR_CACHE_MISSING;     /* no cache yet */
	if (fd < 0)
		return cache_err(ctx, errno, "opening the writer directory");
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0 ||
	    !owner_trusted(st.st_uid, true)) {
		close(fd);
		ctx_log(ctx, LOG_ERR, "cache %s/%s is not private to the writer; "
		    "refusing to keep the revocation journal there",
		    ctx->cfg.cache_dir, WRITER_DIR);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	*dfd = fd;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
open_file(struct aivenauth_ctx *ctx, bool create, int *out)
{
	enum aivenauth_status st;
	struct stat fs;
	int dfd = -1, fd, e;

	*out = -1;
	if ((st = writer_dir_fd(ctx, &dfd)) != AIVENAUTH_OK)
		return st;
	fd = openat(dfd, REVJ_FILE, O_RDWR | (create ? O_CREAT : 0) |
	    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	e = errno;
	close(dfd);
	if (fd < 0) {
		if (e == ENOENT && !create)
			return AIVENAUTH_OK;
		return cache_err(ctx, e, "opening the revocation journal");
	}
	/* No copy-on-write (btrfs): an overwrite in place needs no new
	 * block.  Settable only while the file is empty. */
	if (fstat(fd, &fs) == 0 && fs.st_size == 0)
		nocow_set(ctx, fd);
	if (fstat(fd, &fs) != 0 || !S_ISREG(fs.st_mode) || fs.st_nlink != 1 ||
	    (fs.st_mode & 077) != 0 || !owner_trusted(fs.st_uid, true)) {
		close(fd);
		ctx_log(ctx, LOG_ERR, "cache %s/%s/%s is not a regular file of "
		    "root or aivenauth, mode 0600, with one link; refusing it",
		    ctx->cfg.cache_dir, WRITER_DIR, REVJ_FILE);
		return AIVENAUTH_ERR_UNSAFE_FILE;
	}
	/* Allocated in full, now, while there is room: a revocation later
	 * written into it needs no new block. */
	if (fs.st_size < REVJ_SIZE || fs.st_blocks * 512 < REVJ_SIZE) {
		if ((e = posix_fallocate(fd, 0, REVJ_SIZE)) != 0) {
			close(fd);
			return cache_err(ctx, e, "allocating the revocation "
			    "journal");
		}
		if (fdatasync(fd) != 0) {
			e = errno;
			close(fd);
			return cache_err(ctx, e, "syncing the revocation journal");
		}
		cache_adopt(ctx, fd, NULL);
	}
	*out = fd;
	return AIVENAUTH_OK;
}

static enum aivenauth_status
revj_lock(struct aivenauth_ctx *ctx, struct revj *j)
{
	while (flock(j->fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return cache_err(ctx, errno, "locking the revocation "
			    "journal");
	return AIVENAUTH_OK;
}

enum aivenauth_status
revj_open(struct aivenauth_ctx *ctx, bool create, struct revj *j)
{
	unsigned char *buf;
	enum aivenauth_status st;
	enum revj_kind hk[2];
	struct revj_hdr h[2];
	ssize_t n;
	size_t i;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	if ((st = open_file(ctx, create, &j->fd)) != AIVENAUTH_OK ||
	    j->fd < 0)
		return st;
	if ((st = revj_lock(ctx, j)) != AIVENAUTH_OK) {
		revj_close(j);
		return st;
	}
	buf = malloc(REVJ_SIZE);
	j->kind = calloc(REVJ_SLOTS, sizeof(*j->kind));
	j->e = calloc(REVJ_SLOTS, sizeof(*j->e));
	if (buf == NULL || j->kind == NULL || j->e == NULL) {
		free(buf);
		revj_close(j);
		return AIVENAUTH_ERR_NOMEM;
	}
	n = pread(j->fd, buf, REVJ_SIZE, 0);
	if (n != REVJ_SIZE) {
		st = cache_err(ctx, n < 0 ? errno : EIO,
		    "reading the revocation journal");
		free(buf);
		revj_close(j);
		return st;
	}
	for (i = 0; i < REVJ_SLOTS; i++)
		j->kind[i] = revj_decode(buf + i * REVJ_SLOT, &j->e[i]);
	for (i = 0; i < 2; i++)
		hk[i] = revj_hdr_decode(buf + REVJ_HDR_OFF + i * REVJ_HDR, &h[i]);
	free(buf);
	if (hk[0] == REVJ_ENTRY && (hk[1] != REVJ_ENTRY || h[0].gen >= h[1].gen))
		j->hdr = h[0];
	else if (hk[1] == REVJ_ENTRY)
		j->hdr = h[1];
	else if (hk[0] == REVJ_TORN || hk[1] == REVJ_TORN) {
		/* Written, and neither copy readable: what it held (an
		 * overflow?) is unknown; fail closed. */
		ctx_log(ctx, LOG_ERR, "revocation journal: its header is "
		    "damaged; treated as a lost revocation (readers refuse to "
		    "decide until `aivenctl token revoke --clear-overflow`)");
		j->hdr.lost = true;
		j->hdr.gen = 1;
	}
	j->read = true;
	return AIVENAUTH_OK;
}

enum aivenauth_status
revj_put_hdr(struct aivenauth_ctx *ctx, struct revj *j)
{
	unsigned char copy[REVJ_HDR];

	j->hdr.gen++;
	revj_hdr_encode(&j->hdr, copy);
	if (pwrite(j->fd, copy, REVJ_HDR, REVJ_HDR_OFF +
	    (off_t)(j->hdr.gen & 1) * REVJ_HDR) != REVJ_HDR)
		return cache_err(ctx, errno, "writing the revocation journal's "
		    "header");
	return AIVENAUTH_OK;
}

uint64_t
revj_last_seq(const struct revj *j)
{
	uint64_t s = j->hdr.seq;
	size_t i;

	for (i = 0; j->read && i < REVJ_SLOTS; i++)
		if (j->kind[i] == REVJ_ENTRY && j->e[i].seq > s)
			s = j->e[i].seq;
	return s;
}

enum aivenauth_status
revj_hold_seq(struct aivenauth_ctx *ctx, struct revj *j)
{
	enum aivenauth_status st;
	uint64_t s = revj_last_seq(j), old = j->hdr.seq;

	if (s <= j->hdr.seq)
		return AIVENAUTH_OK;
	j->hdr.seq = s;
	if ((st = revj_put_hdr(ctx, j)) != AIVENAUTH_OK ||
	    (st = revj_sync(ctx, j)) != AIVENAUTH_OK) {
		/* What the disk holds is unknown: keep the old figure, so
		 * the next attempt writes it again. */
		j->hdr.seq = old;
		ctx_log(ctx, LOG_WARNING, "revocation journal: the sequence "
		    "counter could not be made durable (%s); stored "
		    "revocations stay journaled until it can",
		    aivenauth_strerror(st));
	}
	return st;
}

enum aivenauth_status
revj_ensure(struct aivenauth_ctx *ctx)
{
	enum aivenauth_status st;
	int fd;

	if ((st = open_file(ctx, true, &fd)) == AIVENAUTH_OK)
		close(fd);
	return st;
}

enum aivenauth_status
revj_clear(struct aivenauth_ctx *ctx, struct revj *j, size_t i)
{
	unsigned char zero[REVJ_SLOT];

	memset(zero, 0, sizeof(zero));
	if (pwrite(j->fd, zero, sizeof(zero), (off_t)(i * REVJ_SLOT)) !=
	    (ssize_t)sizeof(zero))
		return cache_err(ctx, errno, "clearing a revocation journal "
		    "slot");
	j->kind[i] = REVJ_EMPTY;
	memset(&j->e[i], 0, sizeof(j->e[i]));
	return AIVENAUTH_OK;
}

enum aivenauth_status
revj_sync(struct aivenauth_ctx *ctx, struct revj *j)
{
	if (fdatasync(j->fd) != 0)
		return cache_err(ctx, errno, "syncing the revocation journal");
	return AIVENAUTH_OK;
}

void
revj_release(struct revj *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

void
revj_close(struct revj *j)
{
	revj_release(j);
	free(j->kind);
	free(j->e);
	j->kind = NULL;
	j->e = NULL;
	j->read = false;
}
