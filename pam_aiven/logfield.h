/*
 * logfield.h - caller-controlled strings (user, rhost, service, module
 * arguments) made safe for a log line (private to the module).
 */
#ifndef PAM_AIVEN_LOGFIELD_H
#define PAM_AIVEN_LOGFIELD_H

#include <stdbool.h>
#include <stddef.h>

/* Longest field shown in a log line (buffer size for pa_log_field). */
#define PA_LOG_FIELD 64
/* A run of this many base64-alphabet characters is taken for a piece of a
 * token.  Real user and host names break runs with '.', '-', '_' or '@';
 * a 20-character piece of a 372-character token is already too much. */
#define PA_TOKEN_RUN 20

/* Does s[0..n) hold a run of PA_TOKEN_RUN or more base64 characters? */
bool pa_token_run(const char *s, size_t n);

/*
 * s for a log line, in buf: printable ASCII only, no quotes, blanks or
 * backslashes ('?' instead), bounded by size (a "..." tail when cut).
 * "-" for NULL or empty.  A string with a token-shaped run is not shown at
 * all: "(token-shaped,not-logged,len=N)".
 */
const char *pa_log_field(const char *s, char *buf, size_t size);

/* A file name an operator gave (a policy file, an account map, a socket
 * path), for a message: as pa_log_field, but '/' ends a run, so a real
 * path is shown as it is and a token pasted in its place is not.  A
 * buffer of PA_LOG_PATH shows most paths whole. */
#define PA_LOG_PATH 256
const char *pa_log_path(const char *s, char *buf, size_t size);

#endif /* PAM_AIVEN_LOGFIELD_H */
