/*
 * log.c - the responder's log sink (log.h).
 *
 * Logging must never stall the event loop: libsasl2 waits for an answer
 * with no timeout, so a responder blocked in a write to a log that stopped
 * draining (journald or rsyslog wedged, a --stderr pipe nobody reads)
 * would hold every SMTP and LDAP login of the host -- and clients choose
 * how many lines they cause.  syslog(3) blocks on a full /dev/log queue,
 * so the syslog side is a datagram socket of our own, non-blocking; the
 * stderr side writes only when poll(2) says the line fits.  A line that
 * cannot go now is dropped and counted, and the count is said with the
 * next line that goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define IDENT "aivenauth-saslauthd"
#define LINE_MAX_BYTES 1024

static bool use_stderr;
static int max_level = LOG_INFO;
static int dev_log = -1;
static unsigned long dropped;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void
dev_log_open(void)
{
	struct sockaddr_un sa;

	if (dev_log >= 0)
		close(dev_log);
	dev_log = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (dev_log < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, "/dev/log", sizeof("/dev/log"));
	if (connect(dev_log, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(dev_log);
		dev_log = -1;
	}
}

void
sl_log_init(bool to_stderr, bool debug)
{
	use_stderr = to_stderr;
	max_level = debug ? LOG_DEBUG : LOG_INFO;
	if (!use_stderr)
		dev_log_open();
}

void
sl_log_set_max(int level)
{
	max_level = level;
}

int
sl_log_max(void)
{
	return max_level;
}

unsigned long
sl_log_dropped(void)
{
	return dropped;
}

/* One datagram, as syslog(3) would send it; false if it cannot go now. */
static bool
send_syslog(int level, const char *msg)
{
	char dg[LINE_MAX_BYTES + 320], ts[32];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	n = snprintf(dg, sizeof(dg), "<%d>%s %s[%ld]: %s",
	    LOG_AUTHPRIV | (level & 7), ts, IDENT, (long)getpid(), msg);
	if (n < 0)
		return false;
	if ((size_t)n >= sizeof(dg))
		n = (int)sizeof(dg) - 1;
	if (dev_log < 0)
		dev_log_open();
	if (dev_log < 0)
		return false;
	if (send(dev_log, dg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
		return true;
	/* The log daemon restarted: its socket is a new one. */
	if (errno == ECONNREFUSED || errno == ENOTCONN) {
		dev_log_open();
		return dev_log >= 0 && send(dev_log, dg, (size_t)n,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == n;
	}
	return false;     /* EAGAIN: the queue is full; never wait */
}

/* One write per line when it fits now (a line is under PIPE_BUF, so a
 * pipe that polls writable takes it whole); false otherwise. */
static bool
write_stderr(const char *line, size_t n)
{
	struct pollfd p = { STDERR_FILENO, POLLOUT, 0 };

	if (poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0)
		return false;
	return write(STDERR_FILENO, line, n) == (ssize_t)n;
}

static void
sl_vlog(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
		"warning", "notice", "info", "debug" };
	char msg[LINE_MAX_BYTES], note[96] = "", line[LINE_MAX_BYTES + 192];
	bool sent;
	int n;

	if (level > max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* The online worker thread logs too. */
	pthread_mutex_lock(&log_lock);
	if (dropped > 0)
		snprintf(note, sizeof(note), "(%lu earlier log lines dropped: "
		    "the log was not taking them) ", dropped);
	if (!use_stderr) {
		snprintf(line, sizeof(line), "%s%s", note, msg);
		sent = send_syslog(level, line);
	} else {
		n = snprintf(line, sizeof(line), IDENT ": %s: %s%s\n",
		    names[level & 7], note, msg);
		if (n < 0) {
			pthread_mutex_unlock(&log_lock);
			return;
		}
		if ((size_t)n >= sizeof(line)) {
			n = (int)sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		sent = write_stderr(line, (size_t)n);
	}
	dropped = sent ? 0 : dropped + 1;
	pthread_mutex_unlock(&log_lock);
}

void
sl_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_vlog(level, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- the limiter */

static const char *const class_name[SL_NCLASSES] = {
	[SL_CLASS_MALFORMED] = "malformed requests",
	[SL_CLASS_ACCEPT] = "accept failures",
};

struct bucket {
	bool started;
	unsigned tokens;
	uint64_t last;              /* when tokens was last topped up */
	unsigned long suppressed;
	int level;                  /* of the lines suppressed */
};

static struct bucket buckets[SL_NCLASSES];
static uint64_t (*limit_clock)(void);

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
sl_log_set_clock(uint64_t (*now_ms)(void))
{
	pthread_mutex_lock(&log_lock);
	limit_clock = now_ms;
	memset(buckets, 0, sizeof(buckets));
	pthread_mutex_unlock(&log_lock);
}

unsigned long
sl_log_suppressed(enum sl_class c)
{
	unsigned long n;

	if ((unsigned)c >= SL_NCLASSES)
		return 0;
	pthread_mutex_lock(&log_lock);
	n = buckets[c].suppressed;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* May a line of this class go now?  *said: how many were suppressed
 * before it (to be said first). */
static bool
bucket_take(enum sl_class c, int level, unsigned long *said)
{
	struct bucket *b = &buckets[c];
	uint64_t now, add;
	bool ok;

	pthread_mutex_lock(&log_lock);
	now = limit_clock != NULL ? limit_clock() : mono_ms();
	if (!b->started) {
		b->started = true;
		b->tokens = SL_LIMIT_BURST;
		b->last = now;
	}
	if (now > b->last) {
		add = (now - b->last) / SL_LIMIT_REFILL_MS;
		if (add >= SL_LIMIT_BURST - b->tokens) {
			b->tokens = SL_LIMIT_BURST;
			b->last = now;
		} else {
			b->tokens += (unsigned)add;
			b->last += add * SL_LIMIT_REFILL_MS;
		}
	}
	*said = 0;
	ok = b->tokens > 0;
	if (ok) {
		b->tokens--;
		*said = b->suppressed;
		b->suppressed = 0;
	} else {
		b->suppressed++;
		b->level = level;
	}
	pthread_mutex_unlock(&log_lock);
	return ok;
}

void
sl_log_limited(enum sl_class c, int level, const char *fmt, ...)
{
	unsigned long said;
	va_list ap;

	if ((unsigned)c >= SL_NCLASSES || level > max_level)
		return;
	if (!bucket_take(c, level, &said))
		return;
	if (said > 0)
		sl_log(level, "%lu similar messages suppressed (%s: at most %d "
		    "lines, then one every %d s)", said, class_name[c],
		    SL_LIMIT_BURST, SL_LIMIT_REFILL_MS / 1000);
	va_start(ap, fmt);
	sl_vlog(level, fmt, ap);
	va_end(ap);
}

void
sl_log_limit_flush(void)
{
	unsigned long n;
	int level;
	size_t c;

	for (c = 0; c < SL_NCLASSES; c++) {
		pthread_mutex_lock(&log_lock);
		n = buckets[c].suppressed;
		level = buckets[c].level;
		buckets[c].suppressed = 0;
		pthread_mutex_unlock(&log_lock);
		if (n > 0)
			sl_log(level, "%lu similar messages suppressed (%s)", n,
			    class_name[c]);
	}
}

void
sl_lib_log(void *arg, int level, const char *msg)
{
	(void)arg;
	sl_log(level, "%s", msg);
}
