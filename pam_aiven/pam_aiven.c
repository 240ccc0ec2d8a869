/*
 * pam_aiven.c - PAM entry points: accept an Aiven application-user token as
 * the password, verified against the local aivenauth cache.
 *
 * Thin on purpose: arguments are parsed in opts.c, outcomes become PAM
 * codes in decision.c, the decision itself is aivenauth_verify(), and
 * ready contexts are kept across conversations by ctxpool.c (the module is
 * linked -z nodelete so libpam's dlclose leaves it loaded); a context
 * never crosses fork() and is rebuilt when its config or cache changes.
 *
 * Secrets: the token is the PAM_AUTHTOK item, owned (and wiped at pam_end)
 * by libpam; this file never copies it and never logs it or its hash.  A
 * password that is not token-shaped may be a mistyped real password: no
 * part of it is logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "aivenauth.h"
#include "ctxpool.h"
#include "decision.h"
#include "logfield.h"
#include "opts.h"

/* pam_set_data() name of what authentication leaves for the account phase. */
#define PA_DATA "pam_aiven_auth"

/* What a successful authentication leaves for pam_sm_acct_mgmt(). */
struct pa_auth_data {
	enum aivenauth_user_match user_match;
	char prefix[AIVENAUTH_PREFIX_MAX + 1];
	char user_id[AIVENAUTH_ID_MAX + 1];
	char *user;     /* PAM user at authentication */
	char *scope;    /* required scope, or NULL */
	bool learned;   /* checked at the API during authentication */
};

static void
pa_auth_data_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	struct pa_auth_data *d = data;

	(void)pamh;
	(void)error_status;
	if (d == NULL)
		return;
	free(d->user);
	free(d->scope);
	free(d);
}

static const char *
decision_word(int rc)
{
	switch (rc) {
	case PAM_SUCCESS:
		return "accepted";
	case PAM_IGNORE:
		return "ignored";
	case PAM_AUTH_ERR:
	case PAM_ACCT_EXPIRED:
	case PAM_PERM_DENIED:
		return "denied";
	case PAM_AUTHINFO_UNAVAIL:
		return "unavailable";
	default:
		return "error";
	}
}

/* Online learning and sliding expiry, as the library reports them. */
static const char *
flags_note(unsigned flags)
{
	/* Readers never write the cache: what the API vouched for stays in
	 * this process's memory (libaivenauth/reader/learned.h). */
	if (flags & AIVENAUTH_DECISION_LEARNED)
		return " online=learned-in-memory";
	if (flags & AIVENAUTH_DECISION_EXTENDED)
		return " expiry=extended";
	return "";
}

/*
 * The one log line of a decision.  LOG_INFO for success, LOG_NOTICE for a
 * refusal, LOG_ERR when no decision could be made.
 */
static void
log_decision(pam_handle_t *pamh, const char *phase, const char *user,
    const char *rhost, const struct aivenauth_decision *d,
    enum aivenauth_status st, int rc)
{
	const char *service = NULL;
	char ubuf[PA_LOG_FIELD], hbuf[PA_LOG_FIELD], sbuf[PA_LOG_FIELD];
	char abuf[PA_LOG_FIELD], ibuf[PA_LOG_FIELD], appbuf[2 * PA_LOG_FIELD + 16] = "";
	char stbuf[96] = "";
	/* A password that is not token-shaped may be a real one: no part of
	 * it, whatever the library put in the decision. */
	const char *prefix = d->reason == AIVENAUTH_REASON_NOT_TOKEN ? "" :
	    d->prefix;
	int level;

	(void)pam_get_item(pamh, PAM_SERVICE, (const void **)&service);
	if (rc == PAM_SUCCESS)
		level = LOG_INFO;
	else if (rc == PAM_AUTH_ERR || rc == PAM_ACCT_EXPIRED ||
	    rc == PAM_PERM_DENIED || rc == PAM_IGNORE)
		level = LOG_NOTICE;
	else
		level = LOG_ERR;
	if (st != AIVENAUTH_OK)
		snprintf(stbuf, sizeof(stbuf), " error=\"%s\"",
		    aivenauth_strerror(st));
	/* The account logged into and the application user who did: with
	 * user_match=map they differ (user=deploy app_user=ci-runner(u...)),
	 * and the prefix alone would send the reader to the cache. */
	if (prefix[0] != '\0' && d->user_id[0] != '\0')
		snprintf(appbuf, sizeof(appbuf), " app_user=%s(%s)",
		    pa_log_field(d->user_name, abuf, sizeof(abuf)),
		    pa_log_field(d->user_id, ibuf, sizeof(ibuf)));
	pam_syslog(pamh, level, "%sservice=%s user=%s%s rhost=%s%s%s "
	    "decision=%s reason=%s%s%s",
	    phase,
	    pa_log_field(service, sbuf, sizeof(sbuf)),
	    pa_log_field(user, ubuf, sizeof(ubuf)), appbuf,
	    pa_log_field(rhost, hbuf, sizeof(hbuf)),
	    prefix[0] != '\0' ? " prefix=" : "",
	    prefix,
	    decision_word(rc), aivenauth_reason_name(d->reason),
	    stbuf, flags_note(d->flags));
}

/* Set AIVEN_* in the PAM environment and keep what the account phase
 * needs.  Any failure here fails the authentication. */
static int
pa_on_success(pam_handle_t *pamh, const struct pa_opts *o, const char *user,
    const struct aivenauth_decision *d)
{
	static const char *const names[] = {
		"AIVEN_USER_ID", "AIVEN_USER_NAME", "AIVEN_TOKEN_PREFIX"
	};
	const char *values[] = { d->user_id, d->user_name, d->prefix };
	char env[AIVENAUTH_NAME_MAX + 32];
	struct pa_auth_data *ad;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(env, sizeof(env), "%s=%s", names[i], values[i]);
		rc = pam_putenv(pamh, env);
		if (rc != PAM_SUCCESS) {
			pam_syslog(pamh, LOG_ERR, "pam_putenv(%s): %s", names[i],
			    pam_strerror(pamh, rc));
			return rc == PAM_BUF_ERR ? PAM_BUF_ERR : PAM_SYSTEM_ERR;
		}
	}

	ad = calloc(1, sizeof(*ad));
	if (ad == NULL)
		return PAM_BUF_ERR;
	ad->user_match = o->user_match;
	ad->learned = (d->flags & AIVENAUTH_DECISION_LEARNED) != 0;
	snprintf(ad->prefix, sizeof(ad->prefix), "%s", d->prefix);
	snprintf(ad->user_id, sizeof(ad->user_id), "%s", d->user_id);
	ad->user = user != NULL ? strdup(user) : NULL;
	ad->scope = o->scope != NULL ? strdup(o->scope) : NULL;
	if ((user != NULL && ad->user == NULL) ||
	    (o->scope != NULL && ad->scope == NULL)) {
		pa_auth_data_cleanup(pamh, ad, 0);
		return PAM_BUF_ERR;
	}
	rc = pam_set_data(pamh, PA_DATA, ad, pa_auth_data_cleanup);
	if (rc != PAM_SUCCESS) {
		pa_auth_data_cleanup(pamh, ad, 0);
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

/* Does argv say non_token=fail in so many words?  Read as written: the
 * arguments are what is broken, so they are not parsed. */
static bool
asks_non_token_fail(int argc, const char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (argv[i] != NULL && strcmp(argv[i], "non_token=fail") == 0)
			return true;
	return false;
}

/*
 * The module's arguments or config file are wrong (already logged): it can
 * judge no token.  A token-shaped password is refused (PAM_SERVICE_ERR:
 * the module failed, not the client; never success).  A password that is
 * not token-shaped could never be accepted by this module anyway: it gets
 * PAM_IGNORE, so that on a stack shared with people (sshd's
 * [... default=die] pam_aiven.so non_token=ignore, then common-auth) the
 * rest of the stack decides for them and a typo in this module's line
 * locks nobody out.  Only an explicit non_token=fail keeps PAM_AUTH_ERR:
 * then refusing such passwords is what the administrator asked for.
 */
static int
pa_config_broken(pam_handle_t *pamh, int argc, const char **argv)
{
	struct aivenauth_decision d;
	const char *user = NULL, *token = NULL, *rhost = NULL;
	int rc;

	memset(&d, 0, sizeof(d));
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS)
		user = NULL;
	/* pam_get_authtok reads use_first_pass / try_first_pass itself. */
	rc = pam_get_authtok(pamh, PAM_AUTHTOK, &token, NULL);
	if (rc != PAM_SUCCESS) {
		rc = pa_pam_error_code(rc);
		return rc == PAM_AUTH_ERR ? PAM_SERVICE_ERR : rc;
	}
	(void)pam_get_item(pamh, PAM_RHOST, (const void **)&rhost);
	if (token != NULL && aivenauth_token_shaped(token, strlen(token))) {
		d.reason = AIVENAUTH_REASON_ERROR;
		rc = PAM_SERVICE_ERR;
	} else {
		d.reason = AIVENAUTH_REASON_NOT_TOKEN;
		rc = asks_non_token_fail(argc, argv) ? PAM_AUTH_ERR : PAM_IGNORE;
	}
	token = NULL;   /* libpam owns and wipes it */
	log_decision(pamh, "", user, rhost, &d, AIVENAUTH_ERR_CONFIG, rc);
	return rc;
}

int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct aivenauth_decision d;
	struct aivenauth_request req;
	enum aivenauth_status st;
	struct pa_lease lease;
	struct pa_opts o;
	const char *user = NULL, *token = NULL, *rhost = NULL, *service = NULL;
	int rc;

	memset(&d, 0, sizeof(d));
	d.reason = AIVENAUTH_REASON_ERROR;
	/* Forget an earlier success on this handle whatever happens now. */
	(void)pam_set_data(pamh, PA_DATA, NULL, NULL);
	/* libpam applies the delay only if the stack fails. */
	(void)pam_fail_delay(pamh, 2000000);

	rc = pa_ctx_acquire(pamh, flags, argc, argv, &o, &lease);
	if (rc == PAM_SERVICE_ERR)
		return pa_config_broken(pamh, argc, argv);
	if (rc != PAM_SUCCESS)
		return rc;   /* already logged */

	rc = pam_get_user(pamh, &user, NULL);
	if (rc != PAM_SUCCESS || user == NULL || *user == '\0') {
		if (rc == PAM_SUCCESS)
			rc = PAM_USER_UNKNOWN;
		else
			rc = pa_pam_error_code(rc);
		pam_syslog(pamh, LOG_NOTICE, "cannot get the user name: %s",
		    pam_strerror(pamh, rc));
		goto out;
	}
	/* Honours use_first_pass / try_first_pass from our own argv. */
	rc = pam_get_authtok(pamh, PAM_AUTHTOK, &token, NULL);
	if (rc != PAM_SUCCESS) {
		char ubuf[PA_LOG_FIELD];

		rc = pa_pam_error_code(rc);
		pam_syslog(pamh, rc == PAM_INCOMPLETE ? LOG_INFO : LOG_NOTICE,
		    "user=%s: cannot get the token: %s",
		    pa_log_field(user, ubuf, sizeof(ubuf)), pam_strerror(pamh, rc));
		goto out;
	}
	(void)pam_get_item(pamh, PAM_RHOST, (const void **)&rhost);
	(void)pam_get_item(pamh, PAM_SERVICE, (const void **)&service);

	memset(&req, 0, sizeof(req));
	req.user = user;
	req.user_match = o.user_match;
	req.rhost = (rhost != NULL && *rhost != '\0') ? rhost : NULL;
	req.service = service;
	req.scope = o.scope;
	req.now = 0;
	if (token == NULL)
		token = "";
	st = aivenauth_verify(lease.ctx, token, strlen(token), &req, &d);
	token = NULL;   /* libpam owns and wipes it */

	rc = pa_auth_code(st, d.reason, o.non_token_ignore);
	if (rc == PAM_SUCCESS)
		rc = pa_on_success(pamh, &o, user, &d);
	log_decision(pamh, "", user, rhost, &d, st, rc);
out:
	pa_ctx_release(&lease);
	return rc;
}

int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct pa_auth_data *ad = NULL;
	struct aivenauth_ctx *ctx;
	struct aivenauth_decision d;
	struct pa_lease lease;
	struct aivenauth_request req;
	enum aivenauth_status st;
	struct pa_opts o;
	const char *user = NULL, *token = NULL, *rhost = NULL, *service = NULL;
	int rc;

	/* Not authenticated by us: not ours to judge. */
	if (pam_get_data(pamh, PA_DATA, (const void **)&ad) != PAM_SUCCESS ||
	    ad == NULL)
		return PAM_IGNORE;

	rc = pa_ctx_acquire(pamh, flags, argc, argv, &o, &lease);
	if (rc != PAM_SUCCESS)
		return rc;
	ctx = lease.ctx;

	memset(&d, 0, sizeof(d));
	d.reason = AIVENAUTH_REASON_ERROR;
	snprintf(d.prefix, sizeof(d.prefix), "%s", ad->prefix);
	(void)pam_get_item(pamh, PAM_RHOST, (const void **)&rhost);
	(void)pam_get_item(pamh, PAM_SERVICE, (const void **)&service);
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS)
		user = NULL;

	/* The user changed since authentication: the token proved nothing
	 * about the new one (with user_match=any neither: the new one could
	 * be root, which any never admits). */
	if (user == NULL || ad->user == NULL || strcmp(user, ad->user) != 0) {
		d.reason = AIVENAUTH_REASON_USER_MISMATCH;
		st = AIVENAUTH_OK;
		goto decide;
	}

	/* A learned token is not re-checked at the API for every account
	 * call: metadata only. */
	if (!ad->learned &&
	    pam_get_item(pamh, PAM_AUTHTOK, (const void **)&token) ==
	    PAM_SUCCESS && token != NULL && *token != '\0') {
		memset(&req, 0, sizeof(req));
		req.user = user;
		req.user_match = ad->user_match;
		req.rhost = (rhost != NULL && *rhost != '\0') ? rhost : NULL;
		req.service = service;
		req.scope = ad->scope;
		st = aivenauth_verify(ctx, token, strlen(token), &req, &d);
		token = NULL;
		if (st == AIVENAUTH_OK && d.reason == AIVENAUTH_ACCEPTED &&
		    strcmp(d.prefix, ad->prefix) != 0) {
			/* PAM_AUTHTOK now holds another token. */
			d.reason = AIVENAUTH_REASON_USER_MISMATCH;
		}
		if (st == AIVENAUTH_OK &&
		    d.reason == AIVENAUTH_REASON_NOT_ENROLLED) {
			/* Valid at authentication without a stored hash
			 * (learned by another process): judge by metadata. */
			st = aivenauth_recheck(ctx, ad->prefix, ad->user_id, 0, &d);
		}
	} else {
		/* The usual case: libpam wiped PAM_AUTHTOK when
		 * pam_authenticate returned.  By the prefix kept then: still
		 * fresh, listed, not revoked, not expired, same user's. */
		st = aivenauth_recheck(ctx, ad->prefix, ad->user_id, 0, &d);
	}

decide:
	rc = pa_acct_code(st, d.reason);
	log_decision(pamh, "account: ", user, rhost, &d, st, rc);
	if (rc == PAM_ACCT_EXPIRED && !(flags & PAM_SILENT))
		(void)pam_error(pamh, "Your Aiven token has been revoked or has "
		    "expired.");
	pa_ctx_release(&lease);
	return rc;
}
