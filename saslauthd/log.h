/*
 * log.h - where aivenauth-saslauthd's messages go: syslog (facility
 * LOG_AUTHPRIV, ident "aivenauth-saslauthd"), or stderr with --stderr
 * (hosts without syslog, tests).  Never a secret: callers pass fields
 * through pa_log_field() (pam_aiven/logfield.h), which refuses anything
 * that looks like a piece of a token.
 */
#ifndef SASLD_LOG_H
#define SASLD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "aivenauth.h"

#if defined(__GNUC__)
#define SL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SL_PRINTF(a, b)
#endif

/* Before anything is logged: to stderr or syslog, LOG_DEBUG lines or not. */
void sl_log_init(bool to_stderr, bool debug);
void sl_log(int level, const char *fmt, ...) SL_PRINTF(2, 3);
/* The library's log callback (aivenauth_set_log). */
void sl_lib_log(void *arg, int level, const char *msg);
/* Only lines at level or more urgent (the unit tests keep LOG_ERR). */
void sl_log_set_max(int level);
/* The max_level to give aivenauth_set_log. */
int sl_log_max(void);
/* Lines dropped since the last one that went (the sink was not taking
 * them: logging never blocks the event loop). */
unsigned long sl_log_dropped(void);

/*
 * Lines a local client causes at will (a malformed request, an accept()
 * failure it provoked) would let it fill the journal: each class has a
 * token bucket of SL_LIMIT_BURST lines, refilled by one every
 * SL_LIMIT_REFILL_MS.  A line over the limit is counted, not written;
 * when the class may log again, one line "N similar messages suppressed"
 * comes first.  Decisions (accepted, denied) are never limited: one line
 * each, as pam_aiven's.
 */
enum sl_class {
	SL_CLASS_MALFORMED = 0,     /* requests sa_parse() refused */
	SL_CLASS_ACCEPT,            /* accept() failures (EMFILE...) */
	SL_NCLASSES
};
#define SL_LIMIT_BURST 10
#define SL_LIMIT_REFILL_MS 6000

void sl_log_limited(enum sl_class c, int level, const char *fmt, ...)
    SL_PRINTF(3, 4);
/* Say what is still suppressed (before the end-of-run line). */
void sl_log_limit_flush(void);
/* Lines of class c suppressed since it last logged. */
unsigned long sl_log_suppressed(enum sl_class c);
/* The limiter's clock in ms (NULL: CLOCK_MONOTONIC), and every bucket
 * full again: the unit tests drive it without waiting. */
void sl_log_set_clock(uint64_t (*now_ms)(void));

#endif /* SASLD_LOG_H */
