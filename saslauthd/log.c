/*
 * log.c - the responder's log sink (log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static bool use_stderr;
static int max_level = LOG_INFO;

void
sl_log_init(bool to_stderr, bool debug)
{
	use_stderr = to_stderr;
	max_level = debug ? LOG_DEBUG : LOG_INFO;
	if (!use_stderr)
		openlog("aivenauth-saslauthd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
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

static void
sl_vlog(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
		"warning", "notice", "info", "debug" };

	if (level > max_level)
		return;
	if (!use_stderr) {
		vsyslog(level, fmt, ap);
		return;
	}
	/* One fprintf per line: lines from one process stay whole. */
	{
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "aivenauth-saslauthd: %s: %s\n",
		    names[level & 7], line);
	}
}

void
sl_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_vlog(level, fmt, ap);
	va_end(ap);
}

void
sl_lib_log(void *arg, int level, const char *msg)
{
	(void)arg;
	sl_log(level, "%s", msg);
}
