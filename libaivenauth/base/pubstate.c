/*
 * pubstate.c - the writer-owned state record readers poll by memory load
 * (see pubstate.h for the protocol).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/internal.h"
#include "base/pubstate.h"

#define PUBSTATE_FILE "state"
#define PUBSTATE_SIZE 4096   /* one page: never a partial page on disk */
#define READ_TRIES 64
/* After READ_TRIES yields with seq still odd: this many 1 ms naps.  A
 * writer mid-update (three pwrites) is done long before; a record that
 * stays odd this long was left by a writer that died mid-write, and the
 * reader refuses it (cache_reader.c: cache-unavailable). */
#define READ_NAPS 100

static void
checksum(const struct pubstate_rec *r, unsigned char out[16])
{
	crypto_generichash_state h;
	uint64_t magic = r->magic;

	crypto_generichash_init(&h, r->snap_id, SNAP_ID_BYTES, 16);
	crypto_generichash_update(&h, (const void *)&magic, sizeof(magic));
	crypto_generichash_update(&h, (const void *)&r->sync_time,
	    sizeof(r->sync_time));
	crypto_generichash_update(&h, (const void *)&r->generation,
	    sizeof(r->generation));
	crypto_generichash_update(&h, (const void *)&r->publish_time,
	    sizeof(r->publish_time));
	crypto_generichash_final(&h, out, 16);
}

int
pubstate_open(struct pubstate_map *m, int dirfd, bool writer)
{
	struct stat st;
	void *p;
	int fd, e;

	memset(m, 0, sizeof(*m));
	fd = openat(dirfd, PUBSTATE_FILE, (writer ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		e = errno;
		goto fail;
	}
	/* Readers trust it only as they trust the snapshot: a regular file
	 * of root or the writer, writable by nobody else. */
	/* (No link-count check: planting a hard link here needs write
	 * access to cache_dir, refused when group- or world-writable; and a
	 * link a reader makes elsewhere to this file must not make every
	 * reader refuse it.) */
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    !owner_trusted(st.st_uid, true)) {
		e = EPERM;
		goto fail;
	}
	if (writer && st.st_size < PUBSTATE_SIZE) {
		/* Allocated, not sparse: a later write into the mapping must
		 * never need a block (a full disk would SIGBUS the writer). */
		if ((e = posix_fallocate(fd, 0, PUBSTATE_SIZE)) != 0)
			goto fail;
		(void)fchmod(fd, 0640);
	} else if (st.st_size < (off_t)sizeof(struct pubstate_rec)) {
		e = ENODATA;   /* not yet written: no record */
		goto fail;
	}
	p = mmap(NULL, PUBSTATE_SIZE < st.st_size || writer ? PUBSTATE_SIZE :
	    (size_t)st.st_size, writer ? PROT_READ | PROT_WRITE : PROT_READ,
	    MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		e = errno;
		goto fail;
	}
	if (writer)
		m->fd = fd;     /* pubstate_write: pwrite, never the mapping */
	else
		close(fd);
	m->rec = p;
	m->len = writer || st.st_size >= PUBSTATE_SIZE ? PUBSTATE_SIZE :
	    (size_t)st.st_size;
	m->writable = writer;
	m->seen_seq = UINT64_MAX;   /* never a value seq takes */
	return 0;
fail:
	close(fd);
	return e;
}

void
pubstate_close(struct pubstate_map *m)
{
	if (m->rec != NULL)
		munmap((void *)m->rec, m->len);
	if (m->rec != NULL && m->writable && m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
}

bool
pubstate_read(struct pubstate_map *m)
{
	struct pubstate_rec copy;
	unsigned char sum[16];
	const struct timespec nap = { 0, 1000000 };
	uint64_t s1, s2;
	int i;

	if (m->rec == NULL)
		return false;
	for (i = 0; i < READ_TRIES + READ_NAPS; i++) {
		s1 = __atomic_load_n(&m->rec->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1) {
			/* The writer is mid-write: wait for it (yield, then
			 * nap: a loaded machine may deschedule it). */
			if (i < READ_TRIES)
				sched_yield();
			else
				(void)nanosleep(&nap, NULL);
			continue;
		}
		memcpy(&copy, (const void *)m->rec, sizeof(copy));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&m->rec->seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		if (copy.magic != PUBSTATE_MAGIC)
			break;
		checksum(&copy, sum);
		if (sodium_memcmp(sum, copy.check, sizeof(sum)) != 0)
			break;
		memcpy(m->last.snap_id, copy.snap_id, SNAP_ID_BYTES);
		m->last.sync_time = copy.sync_time;
		m->last.generation = copy.generation;
		m->last.publish_time = copy.publish_time;
		m->seen_seq = s1;
		return true;
	}
	m->seen_seq = UINT64_MAX;
	return false;
}

int
pubstate_withdraw(struct pubstate_map *m)
{
	struct pubstate s;

	if (m->rec == NULL || !m->writable)
		return EBADF;
	memcpy(s.snap_id, (const void *)m->rec->snap_id, SNAP_ID_BYTES);
	s.sync_time = PUBSTATE_WITHDRAWN;
	s.generation = m->rec->generation;
	s.publish_time = m->rec->publish_time;
	return pubstate_write(m, &s);
}

void
pubstate_withdraw_until_sync(struct pubstate_map *m)
{
	struct pubstate s;

	if (m->rec == NULL || !m->writable)
		return;
	memcpy(s.snap_id, (const void *)m->rec->snap_id, SNAP_ID_BYTES);
	s.sync_time = PUBSTATE_WITHDRAWN;
	s.generation = PUBSTATE_UNTIL_SYNC;
	s.publish_time = m->rec->publish_time;
	pubstate_write(m, &s);
}

bool
pubstate_until_sync(const struct pubstate_map *m)
{
	return m->last.sync_time == PUBSTATE_WITHDRAWN &&
	    m->last.generation == PUBSTATE_UNTIL_SYNC;
}

/* One field, in place: a pwrite into the allocated page (no new block on
 * a file system that overwrites in place or with no-copy-on-write). */
static int
put(int fd, const void *p, size_t n, size_t off)
{
	ssize_t w;

	do
		w = pwrite(fd, p, n, (off_t)off);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno;
	return (size_t)w == n ? 0 : EIO;
}

int
pubstate_write(struct pubstate_map *m, const struct pubstate *s)
{
	volatile struct pubstate_rec *r = m->rec;
	struct pubstate_rec body;
	uint64_t seq;
	size_t fields = offsetof(struct pubstate_rec, snap_id);
	int e;

	if (r == NULL || !m->writable)
		return EBADF;
	memset(&body, 0, sizeof(body));
	body.magic = PUBSTATE_MAGIC;
	memcpy(body.snap_id, s->snap_id, SNAP_ID_BYTES);
	body.sync_time = s->sync_time;
	body.generation = s->generation;
	body.publish_time = s->publish_time;
	checksum(&body, body.check);
	/* A writer that died mid-write left seq odd: make it even again.
	 * Readers see the page-cache copy these writes change (their
	 * mapping is of the same pages), seqlock and checksum as before. */
	seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED) | 1;
	if ((e = put(m->fd, &seq, sizeof(seq),
	    offsetof(struct pubstate_rec, seq))) != 0)      /* odd: writing */
		return e;
	seq++;
	if ((e = put(m->fd, &body.magic, sizeof(body.magic), 0)) != 0 ||
	    (e = put(m->fd, (const char *)&body + fields, sizeof(body) - fields,
	    fields)) != 0 ||
	    (e = put(m->fd, &seq, sizeof(seq),
	    offsetof(struct pubstate_rec, seq))) != 0)      /* even: done */
		return e;
	if (fdatasync(m->fd) != 0)
		return errno;
	return 0;
}
