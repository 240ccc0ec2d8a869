/*
 * opts.c - pam_aiven's module arguments against a context: the pure
 * parser (args.c, which `aivenctl doctor` links too) around the loading
 * of the config file, its messages logged with pam_syslog at LOG_ERR.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "aivenauth.h"
#include "opts.h"

/* Library messages go to pam_syslog: the library never logs a secret. */
static void
pa_log_cb(void *arg, int level, const char *msg)
{
	pam_syslog((pam_handle_t *)arg, level, "%s", msg);
}

static enum aivenauth_status
set_key(void *arg, const char *key, const char *value)
{
	return aivenauth_config_set(arg, key, value);
}

/* A pass's outcome as a PAM code, its message logged. */
static int
pam_rc(pam_handle_t *pamh, enum pa_args_rc rc, const char *err)
{
	if (rc == PA_ARGS_OK)
		return PAM_SUCCESS;
	if (rc == PA_ARGS_NOMEM)
		return PAM_BUF_ERR;
	pam_syslog(pamh, LOG_ERR, "%s", err);
	return PAM_SERVICE_ERR;
}

/*
 * account_map=FILE is the short name of the config key account_map_file
 * for one service; both in one line would leave which one holds to the
 * reader.  Refused, like a duplicate argument.
 */
static int
apply_account_map(pam_handle_t *pamh, int argc, const char **argv,
    struct aivenauth_ctx *ctx, const struct pa_opts *o)
{
	enum aivenauth_status st;
	int i;

	if (o->account_map == NULL)
		return PAM_SUCCESS;
	for (i = 0; i < argc; i++) {
		if (argv[i] != NULL &&
		    strncmp(argv[i], "account_map_file=", 17) == 0) {
			pam_syslog(pamh, LOG_ERR, "module arguments account_map= "
			    "and account_map_file= both given: use one");
			return PAM_SERVICE_ERR;
		}
	}
	if (ctx == NULL)
		return PAM_SUCCESS;
	st = aivenauth_config_set(ctx, "account_map_file", o->account_map);
	if (st == AIVENAUTH_ERR_NOMEM)
		return PAM_BUF_ERR;
	if (st != AIVENAUTH_OK) {
		pam_syslog(pamh, LOG_ERR, "module argument account_map: invalid "
		    "value (%s)", aivenauth_strerror(st));
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

void
pa_opts_set_log(pam_handle_t *pamh, struct aivenauth_ctx *ctx,
    const struct pa_opts *o)
{
	aivenauth_set_log(ctx, pa_log_cb, pamh, o->debug ? LOG_DEBUG : LOG_INFO);
}

int
pa_opts_parse(pam_handle_t *pamh, int flags, int argc, const char **argv,
    struct aivenauth_ctx *ctx, struct pa_opts *o)
{
	char err[PA_ARGS_ERR] = "";
	enum aivenauth_status st;
	int rc;

	/* First pass: duplicates, config= and debug (which decides the log
	 * level of what loading the file says). */
	rc = pam_rc(pamh, pa_args_first(argc, argv, o, err, sizeof(err)), err);
	o->silent = (flags & PAM_SILENT) != 0;
	if (rc != PAM_SUCCESS)
		return rc;
	if (ctx != NULL) {
		pa_opts_set_log(pamh, ctx, o);
		st = aivenauth_config_load(ctx, o->config_file,
		    o->config_file != NULL);
	} else {
		st = AIVENAUTH_OK;
	}
	if (st == AIVENAUTH_ERR_NOMEM)
		return PAM_BUF_ERR;
	if (st != AIVENAUTH_OK) {
		pam_syslog(pamh, LOG_ERR, "cannot load config %s: %s",
		    o->config_file != NULL ? o->config_file : "(default)",
		    aivenauth_strerror(st));
		return PAM_SERVICE_ERR;
	}
	/* Second pass: everything, in order. */
	rc = pam_rc(pamh, pa_args_apply(argc, argv, o, ctx != NULL ? set_key :
	    NULL, ctx, err, sizeof(err)), err);
	if (rc != PAM_SUCCESS)
		return rc;
	return apply_account_map(pamh, argc, argv, ctx, o);
}
