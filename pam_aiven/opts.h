/*
 * opts.h - pam_aiven module arguments (private to the module): the pure
 * parser of args.c (shared with `aivenctl doctor`) run against a context,
 * its messages sent to pam_syslog.
 */
#ifndef PAM_AIVEN_OPTS_H
#define PAM_AIVEN_OPTS_H

#include <stdbool.h>

#include <security/pam_modules.h>

#include "aivenauth.h"
#include "args.h"

/*
 * Parse the module arguments into *o and the context's config:
 * config=FILE first (loaded with must_exist), else the default config
 * (may be absent), then every other argument in order so that they
 * override the file.  Installs the pam_syslog log callback on ctx.
 * Returns PAM_SUCCESS, PAM_SERVICE_ERR (unknown, malformed or repeated
 * argument, a relative config=, bad config: logged at LOG_ERR) or PAM_BUF_ERR.  With ctx NULL only the
 * module options are parsed and checked (a pooled context already carries
 * the config these arguments gave it).
 */
int pa_opts_parse(pam_handle_t *pamh, int flags, int argc, const char **argv,
    struct aivenauth_ctx *ctx, struct pa_opts *o);

/* Route the library's messages to pam_syslog on this handle. */
void pa_opts_set_log(pam_handle_t *pamh, struct aivenauth_ctx *ctx,
    const struct pa_opts *o);

#endif /* PAM_AIVEN_OPTS_H */
