/*
 * opts.h - pam_aiven module arguments (private to the module).
 */
#ifndef PAM_AIVEN_OPTS_H
#define PAM_AIVEN_OPTS_H

#include <stdbool.h>

#include <security/pam_modules.h>

#include "aivenauth.h"

struct pa_opts {
	bool debug;
	bool silent;               /* PAM_SILENT was passed */
	bool use_first_pass;       /* honoured by pam_get_authtok() itself */
	bool try_first_pass;       /* ditto */
	bool non_token_ignore;     /* non_token=ignore */
	enum aivenauth_user_match user_match;
	const char *scope;         /* points into argv, or NULL */
	const char *config_file;   /* points into argv, or NULL */
	const char *account_map;   /* account_map=FILE, in argv, or NULL */
};

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

/* The user_match value as written in arguments ("name", "id"...). */
const char *pa_user_match_name(enum aivenauth_user_match m);

#endif /* PAM_AIVEN_OPTS_H */
