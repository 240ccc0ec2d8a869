/*
 * decision.h - the one place where library outcomes become PAM codes.
 */
#ifndef PAM_AIVEN_DECISION_H
#define PAM_AIVEN_DECISION_H

#include <stdbool.h>

#include "aivenauth.h"

/*
 * Authentication: PAM_SUCCESS only for st == AIVENAUTH_OK and
 * reason == AIVENAUTH_ACCEPTED.  Refusals -> PAM_AUTH_ERR (not-token-shaped
 * with non_token=ignore -> PAM_IGNORE); cache or API unavailable, stale ->
 * PAM_AUTHINFO_UNAVAIL; config errors -> PAM_SERVICE_ERR; no memory ->
 * PAM_BUF_ERR.  Any value not known here is a refusal.
 */
int pa_auth_code(enum aivenauth_status st, enum aivenauth_reason reason,
    bool non_token_ignore);

/*
 * Account: as above, but a token that was revoked, removed, expired (or
 * whose hash is gone) since authentication -> PAM_ACCT_EXPIRED, and any
 * other refusal -> PAM_PERM_DENIED.
 */
int pa_acct_code(enum aivenauth_status st, enum aivenauth_reason reason);

/* A libpam error from pam_get_user()/pam_get_authtok()/pam_get_item():
 * PAM_CONV_AGAIN -> PAM_INCOMPLETE, PAM_BUF_ERR kept, else PAM_AUTH_ERR. */
int pa_pam_error_code(int pam_rc);

/* Status that are "the cache or the API cannot answer". */
bool pa_status_unavailable(enum aivenauth_status st);

#endif /* PAM_AIVEN_DECISION_H */
