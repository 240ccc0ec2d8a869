/*
 * decision.c - map library outcomes to PAM return codes, in one place.
 *
 * Written so that the only path to PAM_SUCCESS is an explicit
 * (AIVENAUTH_OK, AIVENAUTH_ACCEPTED) pair: every switch has a default that
 * refuses, so a reason or status appended to the library later is a
 * refusal until someone decides otherwise here.
 */
#include <security/pam_modules.h>

#include "decision.h"

bool
pa_status_unavailable(enum aivenauth_status st)
{
	switch (st) {
	case AIVENAUTH_ERR_IO:
	case AIVENAUTH_ERR_UNSAFE_FILE:
	case AIVENAUTH_ERR_NOT_FOUND:
	case AIVENAUTH_ERR_CACHE_MISSING:
	case AIVENAUTH_ERR_CACHE_CORRUPT:
	case AIVENAUTH_ERR_CACHE_VERSION:
	case AIVENAUTH_ERR_READONLY:
	case AIVENAUTH_ERR_CACHE_FULL:
	case AIVENAUTH_ERR_CACHE_ACCESS:
	case AIVENAUTH_ERR_NET:
	case AIVENAUTH_ERR_TIMEOUT:
	case AIVENAUTH_ERR_RATE_LIMITED:
	case AIVENAUTH_ERR_LOCAL_LIMIT:
	case AIVENAUTH_ERR_SERVER:
	case AIVENAUTH_ERR_BAD_RESPONSE:
	case AIVENAUTH_ERR_TOO_LARGE:
	case AIVENAUTH_ERR_NO_CREDENTIALS:
	case AIVENAUTH_ERR_NET_UNAVAILABLE:
		return true;
	default:
		return false;
	}
}

/* No decision could be made: why. */
static int
no_decision_code(enum aivenauth_status st, enum aivenauth_reason reason)
{
	if (st == AIVENAUTH_ERR_NOMEM)
		return PAM_BUF_ERR;
	if (st == AIVENAUTH_ERR_CONFIG || st == AIVENAUTH_ERR_INVALID)
		return PAM_SERVICE_ERR;
	/* The account map is the module's configuration: missing, unsafe
	 * or invalid, it is a service error (never a fall-through as for
	 * an unreachable cache). */
	if (reason == AIVENAUTH_REASON_MAP_UNAVAILABLE)
		return PAM_SERVICE_ERR;
	if (reason == AIVENAUTH_REASON_CACHE_UNAVAILABLE ||
	    reason == AIVENAUTH_REASON_ONLINE_UNAVAILABLE ||
	    pa_status_unavailable(st))
		return PAM_AUTHINFO_UNAVAIL;
	return PAM_SERVICE_ERR;
}

int
pa_auth_code(enum aivenauth_status st, enum aivenauth_reason reason,
    bool non_token_ignore)
{
	if (st != AIVENAUTH_OK)
		return no_decision_code(st, reason);

	switch (reason) {
	case AIVENAUTH_ACCEPTED:
		return PAM_SUCCESS;
	case AIVENAUTH_REASON_NOT_TOKEN:
		return non_token_ignore ? PAM_IGNORE : PAM_AUTH_ERR;
	case AIVENAUTH_REASON_CACHE_STALE:
	case AIVENAUTH_REASON_CACHE_UNAVAILABLE:
	case AIVENAUTH_REASON_ONLINE_UNAVAILABLE:
		return PAM_AUTHINFO_UNAVAIL;
	case AIVENAUTH_REASON_ERROR:
		return PAM_SERVICE_ERR;
	case AIVENAUTH_REASON_UNKNOWN_PREFIX:
	case AIVENAUTH_REASON_SECRET_MISMATCH:
	case AIVENAUTH_REASON_NOT_ENROLLED:
	case AIVENAUTH_REASON_REVOKED:
	case AIVENAUTH_REASON_EXPIRED:
	case AIVENAUTH_REASON_USER_MISMATCH:
	case AIVENAUTH_REASON_ADDRESS:
	case AIVENAUTH_REASON_SCOPE:
	case AIVENAUTH_REASON_ONLINE_REJECTED:
	case AIVENAUTH_REASON_MAP_NO_LINE:
	case AIVENAUTH_REASON_MAP_NOT_LISTED:
	case AIVENAUTH_REASON_MAP_FROM:
	case AIVENAUTH_REASON_MAP_SCOPE:
	case AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME:
	case AIVENAUTH_REASON_ROOT_REFUSED:
	default:
		return PAM_AUTH_ERR;
	}
}

int
pa_acct_code(enum aivenauth_status st, enum aivenauth_reason reason)
{
	if (st != AIVENAUTH_OK)
		return no_decision_code(st, reason);

	switch (reason) {
	case AIVENAUTH_ACCEPTED:
		return PAM_SUCCESS;
	case AIVENAUTH_REASON_REVOKED:
	case AIVENAUTH_REASON_EXPIRED:
	case AIVENAUTH_REASON_UNKNOWN_PREFIX:   /* forgotten since */
	case AIVENAUTH_REASON_NOT_ENROLLED:     /* hash removed since */
	case AIVENAUTH_REASON_ONLINE_REJECTED:
		return PAM_ACCT_EXPIRED;
	case AIVENAUTH_REASON_CACHE_STALE:
	case AIVENAUTH_REASON_CACHE_UNAVAILABLE:
	case AIVENAUTH_REASON_ONLINE_UNAVAILABLE:
		return PAM_AUTHINFO_UNAVAIL;
	case AIVENAUTH_REASON_ERROR:
		return PAM_SERVICE_ERR;
	default:
		return PAM_PERM_DENIED;
	}
}

int
pa_pam_error_code(int pam_rc)
{
	switch (pam_rc) {
	case PAM_CONV_AGAIN:
	case PAM_INCOMPLETE:
		return PAM_INCOMPLETE;
	case PAM_BUF_ERR:
		return PAM_BUF_ERR;
	default:
		/* Never PAM_SUCCESS: callers only come here on failure. */
		return PAM_AUTH_ERR;
	}
}
