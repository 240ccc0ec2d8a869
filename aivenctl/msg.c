/*
 * msg.c - messages on stderr, all prefixed "aivenctl: ", and the adapter
 * that routes library log messages there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "aivenctl.h"

static unsigned log_errors;

unsigned
ctl_log_errors(void)
{
	return log_errors;
}

static void
vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(PROG_NAME ": ", stderr);
	vprint_visible(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
ctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
ctl_note(const char *fmt, ...)
{
	va_list ap;

	if (g.verbose < 1)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/*
 * The library never prints; its messages (file:line of a bad config, HTTP
 * status and API message, LMDB errors) come here.  The level filter is set
 * with aivenauth_set_log() in ctl_ctx_new(): warnings and errors always,
 * notices with -v, info and debug with -vv.
 */
void
ctl_log(void *arg, int level, const char *msg)
{
	const char *tag = "";

	(void)arg;
	if (level <= LOG_ERR)
		log_errors++;
	if (level > ctl_log_level())
		return;
	if (level == LOG_WARNING)
		tag = "warning: ";
	else if (level == LOG_DEBUG)
		tag = "debug: ";
	fflush(stdout);
	fprintf(stderr, PROG_NAME ": %s", tag);
	fput_visible(msg, stderr);
	fputc('\n', stderr);
}

int
ctl_log_level(void)
{
	if (g.verbose >= 2)
		return LOG_DEBUG;
	if (g.verbose == 1)
		return LOG_NOTICE;
	return LOG_WARNING;
}
