/*
 * decide.c - policy, verify, log, answer (decide.h).
 *
 * Written so that the only path to "OK" is an explicit (AIVENAUTH_OK,
 * AIVENAUTH_ACCEPTED) pair, as pam_aiven/decision.c does for
 * PAM_SUCCESS: every other status, reason, or policy refusal is "NO".
 *
 * The protocol carries no client address, so the request has none
 * (rhost NULL): the library refuses a token with an ip_allowlist
 * (reason "address"), as PAM does without PAM_RHOST.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "decide.h"
#include "log.h"
#include "../pam_aiven/logfield.h"

/* The fields as C strings live in the caller's struct sd_scratch (one
 * per deciding thread, static in main.c): no stack copy of the password
 * is left behind in frames that are reused later. */

static void
field_copy(char *dst, const unsigned char *req, const struct sa_fields *f,
    enum sa_field i)
{
	memcpy(dst, req + f->off[i], f->len[i]);
	dst[f->len[i]] = '\0';
}

/* What the log calls the outcome. */
static const char *
outcome_word(enum aivenauth_status st, enum aivenauth_reason reason)
{
	if (st == AIVENAUTH_OK && reason == AIVENAUTH_ACCEPTED)
		return "accepted";
	if (reason == AIVENAUTH_REASON_CACHE_STALE ||
	    reason == AIVENAUTH_REASON_CACHE_UNAVAILABLE ||
	    reason == AIVENAUTH_REASON_ONLINE_UNAVAILABLE)
		return "unavailable";
	if (st != AIVENAUTH_OK)
		return (st == AIVENAUTH_ERR_CONFIG || st == AIVENAUTH_ERR_INVALID ||
		    st == AIVENAUTH_ERR_NOMEM || st == AIVENAUTH_ERR_INTERNAL) ?
		    "error" : "unavailable";
	return reason == AIVENAUTH_REASON_ERROR ? "error" : "denied";
}

static void
log_decision(const struct sd_scratch *sc, const struct sd_peer *peer,
    const char *user,
    const char *why, const struct aivenauth_decision *d,
    enum aivenauth_status st)
{
	char sbuf[PA_LOG_FIELD], lbuf[PA_LOG_FIELD], rbuf[PA_LOG_FIELD];
	char ubuf[PA_LOG_FIELD], stbuf[96] = "", appbuf[2 * PA_LOG_FIELD + 16] = "";
	char abuf[PA_LOG_FIELD], ibuf[PA_LOG_FIELD];
	const char *word = why != NULL ? "denied" : outcome_word(st, d->reason);
	/* A password that is not token-shaped may be a real one: no part
	 * of it. */
	const char *prefix = d->reason == AIVENAUTH_REASON_NOT_TOKEN ? "" :
	    d->prefix;
	int level;

	if (strcmp(word, "accepted") == 0)
		level = LOG_INFO;
	else if (strcmp(word, "denied") == 0)
		level = LOG_NOTICE;
	else
		level = LOG_ERR;
	if (why == NULL && st != AIVENAUTH_OK)
		snprintf(stbuf, sizeof(stbuf), " error=\"%s\"",
		    aivenauth_strerror(st));
	/* The name matched and the application user who presented the
	 * token: with user_match=map they differ, as in pam_aiven's line. */
	if (prefix[0] != '\0' && d->user_id[0] != '\0')
		snprintf(appbuf, sizeof(appbuf), " app_user=%s(%s)",
		    pa_log_field(d->user_name, abuf, sizeof(abuf)),
		    pa_log_field(d->user_id, ibuf, sizeof(ibuf)));
	sl_log(level, "service=%s login=%s realm=%s user=%s%s peer_uid=%ld "
	    "peer_pid=%ld%s%s decision=%s reason=%s%s%s",
	    pa_log_field(sc->service, sbuf, sizeof(sbuf)),
	    pa_log_field(sc->login, lbuf, sizeof(lbuf)),
	    pa_log_field(sc->realm, rbuf, sizeof(rbuf)),
	    pa_log_field(user, ubuf, sizeof(ubuf)), appbuf,
	    (long)peer->uid, (long)peer->pid,
	    prefix[0] != '\0' ? " prefix=" : "", prefix,
	    word, why != NULL ? why : aivenauth_reason_name(d->reason), stbuf,
	    (d->flags & AIVENAUTH_DECISION_LEARNED) ?
	    " online=learned-in-memory" :
	    (d->flags & AIVENAUTH_DECISION_EXTENDED) ? " expiry=extended" : "");
}

/* The user name the policy matches, or NULL (why set) if the realm is
 * refused. */
static const char *
policy_user(struct sd_scratch *sc, const struct sp_policy *p,
    const char **why)
{
	switch (p->realm) {
	case SP_REALM_LIST:
		if (!sp_realm_listed(p, sc->realm)) {
			*why = "realm-not-listed";
			return NULL;
		}
		return sc->login;
	case SP_REALM_IGNORE:
		return sc->login;
	case SP_REALM_REJOIN:
	default:
		if (sc->realm[0] == '\0')
			return sc->login;
		snprintf(sc->user, sizeof(sc->user), "%s@%s", sc->login,
		    sc->realm);
		return sc->user;
	}
}

size_t
sd_decide(struct sd_state *s, const unsigned char *req,
    const struct sa_fields *f, const struct sd_peer *peer,
    unsigned char *answer)
{
	struct aivenauth_decision d;
	struct aivenauth_request r;
	enum aivenauth_status st = AIVENAUTH_OK;
	struct sd_scratch *sc = s->scratch;
	struct aivenauth_ctx *ctx;
	const struct sp_policy *p;
	const char *user, *why = NULL;
	bool ok = false;

	memset(&d, 0, sizeof(d));
	d.reason = AIVENAUTH_REASON_ERROR;
	field_copy(sc->login, req, f, SA_LOGIN);
	field_copy(sc->password, req, f, SA_PASSWORD);
	field_copy(sc->service, req, f, SA_SERVICE);
	field_copy(sc->realm, req, f, SA_REALM);

	p = sp_lookup(s->policy, sc->service);
	ctx = s->worker ? p->wctx : p->ctx;
	if (ctx == NULL)
		ctx = s->ctx;
	user = policy_user(sc, p, &why);
	if (user != NULL) {
		memset(&r, 0, sizeof(r));
		r.user = user;
		r.user_match = p->user_match;
		r.rhost = NULL;         /* the protocol carries no address */
		r.service = sc->service;
		r.scope = p->scope;
		st = aivenauth_verify(ctx, sc->password, f->len[SA_PASSWORD],
		    &r, &d);
		ok = st == AIVENAUTH_OK && d.reason == AIVENAUTH_ACCEPTED;
	}
	sodium_memzero(sc->password, sizeof(sc->password));
	if (s->defer_not_enrolled && st == AIVENAUTH_OK &&
	    d.reason == AIVENAUTH_REASON_NOT_ENROLLED) {
		/* The worker decides (and logs) this one, with the API. */
		sodium_memzero(sc, sizeof(*sc));
		return 0;
	}
	log_decision(sc, peer, user != NULL ? user : sc->login, why, &d, st);
	sodium_memzero(sc, sizeof(*sc));
	if (ok)
		return sa_answer(answer, true, "Success.");
	if (why == NULL && strcmp(outcome_word(st, d.reason), "unavailable") == 0)
		return sa_answer(answer, false, "temporarily unavailable");
	return sa_answer(answer, false, "authentication failed");
}

size_t
sd_refuse_request(enum sa_parse why, const struct sd_peer *peer,
    unsigned char *answer)
{
	/* Not a decision on a token: a client can send these at will, so
	 * they are rate-limited (log.h); decisions are not. */
	sl_log_limited(SL_CLASS_MALFORMED, LOG_NOTICE, "peer_uid=%ld "
	    "peer_pid=%ld decision=denied "
	    "reason=%s", (long)peer->uid, (long)peer->pid,
	    why == SA_PARSE_TOO_LONG ? "request-too-large" : "malformed-request");
	return sa_answer(answer, false, why == SA_PARSE_TOO_LONG ?
	    "request too large" : "malformed request");
}
