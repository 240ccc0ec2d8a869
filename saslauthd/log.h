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

#endif /* SASLD_LOG_H */
