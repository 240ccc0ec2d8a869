/*
 * loop.c - the event loop (loop.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "loop.h"

enum cstate { C_FREE = 0, C_READ, C_WRITE, C_WORKER };

struct conn {
	int fd;
	enum cstate state;
	bool listed;                /* on the deadline list */
	struct sa_fields f;         /* C_WORKER: the request's fields */
	struct sd_peer peer;
	uint64_t deadline;          /* monotonic ms */
	struct conn *prev, *next;   /* live connections, oldest first */
	size_t have;                /* bytes in rx */
	size_t tx_len, tx_off;
	unsigned char tx[SA_ANSWER_MAX];
	unsigned char rx[SA_REQUEST_MAX];
};

/* epoll tags: a connection's index, or one of these above them. */
#define TAG_SIGNAL UINT64_C(0xffffffff)
#define TAG_WAKE UINT64_C(0xfffffffe)
#define TAG_LISTEN UINT64_C(0x100000000)   /* | listener index */

#define ACCEPT_BATCH 64
#define EVENTS_MAX 128

struct loop {
	const struct sl_loop_opts *o;
	struct sl_stats *st;
	int ep;
	struct conn *conns;
	unsigned *free_idx;         /* stack of free slots */
	unsigned n_free;
	struct conn *head, *tail;
	/* The worker: jobs (connection indexes) in, answers out, both rings
	 * of max_conns (a connection is in at most one of them at a time). */
	pthread_t thread;
	bool thread_up, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned *jobs, jobs_head, jobs_n;
	unsigned *done, done_head, done_n;
	int wake;                   /* eventfd: answers are ready */
	/* Out of descriptors (EMFILE, ENFILE), a pending connection cannot
	 * be accepted and the listener stays readable: level-triggered
	 * epoll would wake the loop for it forever, a busy spin.  So one
	 * descriptor is kept in reserve: closed to accept and refuse the
	 * client, then taken again.  If it cannot be taken again, the
	 * listeners are not polled until a connection closes. */
	int spare;
	bool listeners_off;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
list_append(struct loop *l, struct conn *c)
{
	c->deadline = now_ms() + l->o->timeout_ms;
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	c->listed = true;
}

static void
list_unlink(struct loop *l, struct conn *c)
{
	if (!c->listed)
		return;
	c->listed = false;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
}

static void listeners_on(struct loop *l);

/* Close and wipe: the request bytes hold the password. */
static void
conn_close(struct loop *l, struct conn *c)
{
	list_unlink(l, c);
	if (c->state != C_WORKER)
		(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->have > 0)
		sodium_memzero(c->rx, c->have);
	c->have = 0;
	c->tx_len = c->tx_off = 0;
	c->fd = -1;
	c->state = C_FREE;
	l->free_idx[l->n_free++] = (unsigned)(c - l->conns);
	if (l->listeners_off)   /* a descriptor is free again */
		listeners_on(l);
}

/* Send what is left of the answer; close when it is all out or the
 * client is gone.  Returns false if the connection was closed. */
static bool
conn_flush(struct loop *l, struct conn *c)
{
	ssize_t w;

	while (c->tx_off < c->tx_len) {
		w = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->tx_off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = { .events = EPOLLOUT,
				.data.u64 = (uint64_t)(c - l->conns) };

			if (c->state != C_WRITE) {
				c->state = C_WRITE;
				if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
					break;
			}
			return true;
		}
		break;          /* the client went away: nothing to do */
	}
	l->st->answered += c->tx_off == c->tx_len;
	conn_close(l, c);
	return false;
}

/*
 * Hand c to the worker: out of epoll and off the deadline list (neither
 * a deadline nor an eviction may close a connection the worker reads),
 * its request kept until the answer is back.
 */
static void
conn_to_worker(struct loop *l, struct conn *c, const struct sa_fields *f)
{
	unsigned n = l->o->max_conns;

	(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
	list_unlink(l, c);
	c->state = C_WORKER;
	c->f = *f;
	l->st->deferred++;
	pthread_mutex_lock(&l->mu);
	l->jobs[(l->jobs_head + l->jobs_n++) % n] = (unsigned)(c - l->conns);
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void
conn_answer(struct loop *l, struct conn *c, enum sa_parse pr,
    const struct sa_fields *f)
{
	if (pr == SA_PARSE_DONE) {
		c->tx_len = l->o->decide(l->o->arg, c->rx, f, &c->peer, c->tx);
		if (c->tx_len == 0 && l->thread_up) {
			conn_to_worker(l, c, f);
			return;
		}
		if (c->tx_len == 0)     /* no worker: never "OK" by default */
			c->tx_len = sa_answer(c->tx, false, "temporarily unavailable");
	} else {
		l->st->refused_bad++;
		c->tx_len = l->o->refuse(l->o->arg, pr, &c->peer, c->tx);
	}
	/* The request (and its password) is not needed any more. */
	sodium_memzero(c->rx, c->have);
	c->have = 0;
	c->tx_off = 0;
	(void)conn_flush(l, c);
}

static void
conn_read(struct loop *l, struct conn *c)
{
	struct sa_fields f;
	enum sa_parse pr;
	ssize_t r;

	if (c->state == C_WRITE) {
		(void)conn_flush(l, c);
		return;
	}
	/* One read per wakeup (level-triggered): a client that streams
	 * bytes cannot keep the loop to itself. */
	r = recv(c->fd, c->rx + c->have, sizeof(c->rx) - c->have, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {           /* EOF before a whole request, or an error */
		l->st->dropped++;
		conn_close(l, c);
		return;
	}
	c->have += (size_t)r;
	pr = sa_parse(c->rx, c->have, &f);
	/* A full buffer that is still "more" cannot happen (the buffer
	 * holds the largest valid request); refuse it all the same. */
	if (pr == SA_PARSE_MORE && c->have == sizeof(c->rx))
		pr = SA_PARSE_TOO_LONG;
	if (pr != SA_PARSE_MORE)
		conn_answer(l, c, pr, &f);
}

static int
spare_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Poll the listeners (again), and take the spare descriptor back. */
static void
listeners_on(struct loop *l)
{
	struct epoll_event ev;
	size_t i;

	if (l->spare < 0)
		l->spare = spare_open();
	if (l->spare < 0)
		return;                 /* still none: stay off */
	l->listeners_off = false;
	for (i = 0; i < l->o->n_listen; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = TAG_LISTEN | i;
		(void)epoll_ctl(l->ep, EPOLL_CTL_MOD, l->o->listen_fds[i], &ev);
	}
}

static void
listeners_off(struct loop *l)
{
	struct epoll_event ev;
	size_t i;

	l->listeners_off = true;
	for (i = 0; i < l->o->n_listen; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = 0;          /* stays registered, reports nothing */
		ev.data.u64 = TAG_LISTEN | i;
		(void)epoll_ctl(l->ep, EPOLL_CTL_MOD, l->o->listen_fds[i], &ev);
	}
}

/*
 * accept() failed for want of a descriptor.  The pending client gets an
 * answer rather than a wait with no end (libsasl2 has no timeout): the
 * spare descriptor makes room to accept it, "NO" goes out if the socket
 * takes it at once, and it is closed.  Returns true if the listener may
 * be tried again.
 */
static bool
out_of_fds(struct loop *l, int lfd, int err)
{
	unsigned char answer[SA_ANSWER_MAX];
	size_t n;
	int fd;

	l->st->fd_exhausted++;
	sl_log_limited(SL_CLASS_ACCEPT, LOG_ERR, "accept: %s: a client was "
	    "refused (%u connections open; raise LimitNOFILE or lower "
	    "--max-connections)", strerror(err),
	    l->o->max_conns - l->n_free);
	if (l->spare >= 0) {
		close(l->spare);
		l->spare = -1;
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		err = fd < 0 ? errno : 0;
		if (fd >= 0) {
			n = sa_answer(answer, false, "temporarily unavailable");
			(void)!send(fd, answer, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
		}
		l->spare = spare_open();
		if (l->spare >= 0) {
			/* Refused one: try the next.  The backlog is empty
			 * (or the client gave up): nothing to wait for. */
			if (fd >= 0)
				return true;
			if (err == EAGAIN || err == EWOULDBLOCK ||
			    err == ECONNABORTED || err == EINTR)
				return false;
		}
	}
	/* No room even so (another thread holds the descriptors, or the
	 * spare is gone): stop polling until a connection closes. */
	listeners_off(l);
	return false;
}

/*
 * accept() failed for want of a descriptor while a connection still waits
 * on its client (a request not finished, an answer not read): the oldest
 * goes, as when the table is full, and its descriptor is the newcomer's.
 * Idle clients never get a good one refused.  (The cap fits the limit
 * (fdlimit.h), so this is for descriptors taken elsewhere: the limit
 * lowered under a running responder, the system's table full, more held
 * by libraries than reserved.)
 */
static void
evict_for_fd(struct loop *l, int err)
{
	l->st->evicted++;
	l->st->evicted_fd++;
	sl_log_limited(SL_CLASS_ACCEPT, LOG_WARNING, "accept: %s: the oldest "
	    "connection evicted for a new client (%u connections open; raise "
	    "LimitNOFILE or lower --max-connections)", strerror(err),
	    l->o->max_conns - l->n_free);
	conn_close(l, l->head);
}

static void
conn_accept(struct loop *l, int lfd)
{
	struct epoll_event ev;
	struct ucred cred;
	socklen_t clen;
	struct conn *c;
	unsigned idx;
	int fd, i;
	/* One eviction per newcomer: if the descriptor it frees is not one
	 * accept() may take (above a lowered limit, taken by another
	 * thread), the newcomer is refused rather than every idle
	 * connection closed for it. */
	bool evicted = false;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				if (!evicted && l->head != NULL) {
					evicted = true;
					evict_for_fd(l, errno);
					continue;
				}
				evicted = false;
				if (out_of_fds(l, lfd, errno))
					continue;
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				sl_log_limited(SL_CLASS_ACCEPT, LOG_ERR,
				    "accept: %s", strerror(errno));
			return;
		}
		evicted = false;
		l->st->accepted++;
		/* Full: the oldest connection goes.  A live client sends its
		 * request at once, so the oldest is the idlest.  (With every
		 * slot waiting for the worker there is none to evict.) */
		if (l->n_free == 0 && l->head == NULL) {
			l->st->dropped++;
			close(fd);
			continue;
		}
		if (l->n_free == 0) {
			l->st->evicted++;
			conn_close(l, l->head);
		}
		idx = l->free_idx[--l->n_free];
		c = &l->conns[idx];
		c->fd = fd;
		c->state = C_READ;
		c->have = 0;
		c->peer.uid = (uid_t)-1;
		c->peer.pid = 0;
		clen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			c->peer.uid = cred.uid;
			c->peer.pid = cred.pid;
		}
		list_append(l, c);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = idx;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			sl_log(LOG_ERR, "epoll_ctl: %s", strerror(errno));
			conn_close(l, c);
			continue;
		}
		/* libsasl2 writes the request before we get here: answer at
		 * once, saving a trip through epoll. */
		conn_read(l, c);
	}
}

/* The worker thread: one request at a time, on its own contexts. */
static void *
worker_main(void *arg)
{
	struct loop *l = arg;
	unsigned n = l->o->max_conns, idx;
	uint64_t one = 1;
	struct conn *c;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		while (l->jobs_n == 0 && !l->stop)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->jobs_n == 0) {
			pthread_mutex_unlock(&l->mu);
			return NULL;
		}
		idx = l->jobs[l->jobs_head];
		l->jobs_head = (l->jobs_head + 1) % n;
		l->jobs_n--;
		pthread_mutex_unlock(&l->mu);

		c = &l->conns[idx];
		c->tx_len = l->o->worker(l->o->worker_arg, c->rx, &c->f, &c->peer,
		    c->tx);
		if (c->tx_len == 0)
			c->tx_len = sa_answer(c->tx, false, "temporarily unavailable");

		pthread_mutex_lock(&l->mu);
		l->done[(l->done_head + l->done_n++) % n] = idx;
		pthread_mutex_unlock(&l->mu);
		(void)!write(l->wake, &one, sizeof(one));
	}
}

/* Answers back from the worker: each connection returns to the loop with
 * a fresh deadline for sending its answer. */
static void
worker_answers(struct loop *l)
{
	unsigned n = l->o->max_conns, idx;
	struct epoll_event ev;
	uint64_t v;
	struct conn *c;

	(void)!read(l->wake, &v, sizeof(v));
	for (;;) {
		pthread_mutex_lock(&l->mu);
		if (l->done_n == 0) {
			pthread_mutex_unlock(&l->mu);
			return;
		}
		idx = l->done[l->done_head];
		l->done_head = (l->done_head + 1) % n;
		l->done_n--;
		pthread_mutex_unlock(&l->mu);

		c = &l->conns[idx];
		sodium_memzero(c->rx, c->have);
		c->have = 0;
		c->tx_off = 0;
		c->state = C_READ;
		list_append(l, c);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = idx;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
			conn_close(l, c);
			continue;
		}
		(void)conn_flush(l, c);
	}
}

static int
worker_start(struct loop *l)
{
	struct epoll_event ev;

	l->jobs = calloc(l->o->max_conns, sizeof(*l->jobs));
	l->done = calloc(l->o->max_conns, sizeof(*l->done));
	l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->jobs == NULL || l->done == NULL || l->wake < 0) {
		sl_log(LOG_ERR, "cannot set up the online worker");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_WAKE;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev) != 0 ||
	    pthread_create(&l->thread, NULL, worker_main, l) != 0) {
		sl_log(LOG_ERR, "cannot start the online worker");
		return -1;
	}
	l->thread_up = true;
	return 0;
}

static void
worker_stop(struct loop *l)
{
	if (l->thread_up) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		l->jobs_n = 0;          /* queued requests are closed below */
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
		l->thread_up = false;
	}
	if (l->wake > 0)
		close(l->wake);
	free(l->jobs);
	free(l->done);
}

/* Drop every connection past its deadline; the epoll timeout until the
 * next one (-1: none). */
static int
expire(struct loop *l)
{
	uint64_t now = now_ms();

	while (l->head != NULL && l->head->deadline <= now) {
		l->st->timed_out++;
		conn_close(l, l->head);
	}
	if (l->head == NULL)
		return -1;
	return (int)(l->head->deadline - now);
}

static int
setup(struct loop *l, int *sfd)
{
	struct epoll_event ev;
	sigset_t set;
	size_t i;
	unsigned j;

	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		sl_log(LOG_ERR, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	*sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (*sfd < 0) {
		sl_log(LOG_ERR, "signalfd: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_SIGNAL;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, *sfd, &ev) != 0)
		return -1;
	for (i = 0; i < l->o->n_listen; i++) {
		ev.events = EPOLLIN;
		ev.data.u64 = TAG_LISTEN | i;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->o->listen_fds[i], &ev) != 0) {
			sl_log(LOG_ERR, "epoll_ctl: %s", strerror(errno));
			return -1;
		}
	}
	l->spare = spare_open();
	if (l->spare < 0) {
		sl_log(LOG_ERR, "cannot keep a spare descriptor: %s",
		    strerror(errno));
		return -1;
	}
	l->conns = calloc(l->o->max_conns, sizeof(*l->conns));
	l->free_idx = calloc(l->o->max_conns, sizeof(*l->free_idx));
	if (l->conns == NULL || l->free_idx == NULL) {
		sl_log(LOG_ERR, "out of memory for %u connections",
		    l->o->max_conns);
		return -1;
	}
	for (j = 0; j < l->o->max_conns; j++) {
		l->conns[j].fd = -1;
		l->free_idx[l->n_free++] = l->o->max_conns - 1 - j;
	}
	return 0;
}

int
sl_run(const struct sl_loop_opts *o, struct sl_stats *stats)
{
	struct epoll_event evs[EVENTS_MAX];
	struct signalfd_siginfo si;
	struct loop l;
	int sfd = -1, n, i, timeout, rc = -1;
	bool idle_done = false, stop = false;

	memset(&l, 0, sizeof(l));
	memset(stats, 0, sizeof(*stats));
	l.o = o;
	l.st = stats;
	l.wake = -1;
	l.spare = -1;
	pthread_mutex_init(&l.mu, NULL);
	pthread_cond_init(&l.cv, NULL);
	if (o->max_conns == 0 || setup(&l, &sfd) != 0)
		goto out;
	if (o->worker != NULL && worker_start(&l) != 0)
		goto out;
	while (!stop) {
		timeout = expire(&l);
		/* Listeners off and no connection whose close would turn
		 * them on: try again now and then (rare: the descriptors are
		 * held elsewhere). */
		if (l.listeners_off && l.head == NULL) {
			listeners_on(&l);
			if (l.listeners_off)
				timeout = 1000;
		}
		if (timeout < 0 && !idle_done && o->idle != NULL) {
			o->idle(o->arg);
			idle_done = true;
		}
		n = epoll_wait(l.ep, evs, EVENTS_MAX, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sl_log(LOG_ERR, "epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_SIGNAL) {
				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					stop = true;
			} else if (tag == TAG_WAKE) {
				worker_answers(&l);
			} else if (tag & TAG_LISTEN) {
				idle_done = false;
				conn_accept(&l, o->listen_fds[tag & 0xffffffffu]);
			} else if (l.conns[tag].state == C_READ ||
			    l.conns[tag].state == C_WRITE) {
				/* conn_accept may have closed and reused this
				 * slot in this round: a stale event then reads
				 * a fresh socket, which is harmless (EAGAIN). */
				conn_read(&l, &l.conns[tag]);
			}
		}
	}
	rc = 0;
out:
	/* The worker first: it may be reading a connection's request. */
	worker_stop(&l);
	if (l.conns != NULL) {
		unsigned j;

		for (j = 0; j < o->max_conns; j++)
			if (l.conns[j].state != C_FREE)
				conn_close(&l, &l.conns[j]);
	}
	pthread_mutex_destroy(&l.mu);
	pthread_cond_destroy(&l.cv);
	free(l.conns);
	free(l.free_idx);
	if (sfd >= 0)
		close(sfd);
	if (l.spare >= 0)
		close(l.spare);
	if (l.ep > 0)
		close(l.ep);
	return rc;
}
