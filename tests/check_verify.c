/*
 * check_verify.c - the decision: one test per reason, plus success, the
 * token shape check, the keyed hash (known answers), constant-time compare
 * and the online paths' failure modes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "helpers/fixture.h"
#include "base/internal.h"

static char *dir;
static struct aivenauth_ctx *ctx;
static struct fx_snap snap;
/* t[0] alice plain, t[1] alice ip_allowlist+scopes, t[2] bob, t[3] alice
 * expired, t[4] alice not enrolled, t[5] alice sliding expiry */
static char t[6][FX_TOKEN_LEN + 1];
static int64_t now;

static void
setup(void)
{
	struct aivenauth_token *x;
	int i;

	now = (int64_t)time(NULL);
	dir = fx_tmpdir();
	ck_assert_ptr_nonnull(dir);
	ctx = fx_ctx(dir);
	ck_assert_ptr_nonnull(ctx);
	fx_snap_init(&snap);
	fx_add_user(&snap, "u1", "alice");
	fx_add_user(&snap, "u2", "bob");
	for (i = 0; i < 6; i++)
		fx_token(t[i], i == 1 ? '+' : (i == 2 ? '/' : 0));
	fx_add_token(&snap, "u1", t[0]);
	x = fx_add_token(&snap, "u1", t[1]);
	fx_strv(&x->ip_allowlist, &x->n_ip_allowlist, "192.0.2.0/24", "2001:db8::/32");
	fx_strv(&x->scopes, &x->n_scopes, "user:read", "projects");
	fx_add_token(&snap, "u2", t[2]);
	x = fx_add_token(&snap, "u1", t[3]);
	x->max_age_seconds = 600;
	x->expiry_time = now - 10;
	fx_add_token(&snap, "u1", t[4]);
	x = fx_add_token(&snap, "u1", t[5]);
	x->max_age_seconds = 86400;
	x->extend_when_used = true;
	x->expiry_time = now + 3600;
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, now, NULL), AIVENAUTH_OK);
	for (i = 0; i < 6; i++) {
		if (i == 4)
			continue;
		ck_assert_int_eq(aivenauth_cache_enroll(ctx, i == 2 ? "u2" : "u1",
		    t[i], FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	}
	/* Verify through a read-only context, as PAM does. */
	aivenauth_cache_close(ctx);
}

static void
teardown(void)
{
	fx_snap_free(&snap);
	aivenauth_ctx_free(ctx);
	fx_rmdir(dir);
	free(dir);
}

static enum aivenauth_reason
verify_as(const char *user, const char *tok, const char *rhost,
    const char *scope, enum aivenauth_user_match m)
{
	struct aivenauth_request req = { user, m, rhost, "test", scope, 0 };
	struct aivenauth_decision d;

	ck_assert_int_eq(aivenauth_verify(ctx, tok, strlen(tok), &req, &d),
	    AIVENAUTH_OK);
	return d.reason;
}

static enum aivenauth_reason
verify(const char *user, const char *tok)
{
	return verify_as(user, tok, NULL, NULL, AIVENAUTH_MATCH_NAME);
}

START_TEST(accepted_with_details)
{
	struct aivenauth_request req = { "alice", AIVENAUTH_MATCH_NAME, NULL,
	    NULL, NULL, 0 };
	struct aivenauth_decision d;

	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(strncmp(d.prefix, t[0], FX_PREFIX_LEN), 0);
	ck_assert_uint_eq(strlen(d.prefix), FX_PREFIX_LEN);
	ck_assert_str_eq(d.user_id, "u1");
	ck_assert_str_eq(d.user_name, "alice");
	ck_assert_str_eq(d.user_email, "u1@app-users.example");
	ck_assert_int_eq(d.expiry, 0);
	ck_assert_int_ge(d.sync_age, 0);
	/* prefixes with '+' and '/' work like any other */
	ck_assert_int_eq(verify("bob", t[2]), AIVENAUTH_ACCEPTED);
}
END_TEST

START_TEST(not_token_shaped)
{
	char nul[FX_TOKEN_LEN + 1];

	ck_assert_int_eq(verify("alice", ""), AIVENAUTH_REASON_NOT_TOKEN);
	ck_assert_int_eq(verify("alice", "hunter2"), AIVENAUTH_REASON_NOT_TOKEN);
	memcpy(nul, t[0], sizeof(nul));
	nul[100] = '\0';
	{
		struct aivenauth_decision d;

		ck_assert_int_eq(aivenauth_verify(ctx, nul, FX_TOKEN_LEN, NULL, &d),
		    AIVENAUTH_OK);
		ck_assert_int_eq(d.reason, AIVENAUTH_REASON_NOT_TOKEN);
		ck_assert_str_eq(d.prefix, "");
	}
}
END_TEST

START_TEST(shape_bounds)
{
	char buf[2048];

	memset(buf, 'A', sizeof(buf));
	ck_assert(!aivenauth_token_shaped(buf, 0));
	ck_assert(!aivenauth_token_shaped(buf, 1));
	ck_assert(!aivenauth_token_shaped(buf, AIVENAUTH_TOKEN_MIN_LEN - 1));
	ck_assert(aivenauth_token_shaped(buf, AIVENAUTH_TOKEN_MIN_LEN));
	ck_assert(aivenauth_token_shaped(buf, 1023));
	ck_assert(aivenauth_token_shaped(buf, 1024));
	ck_assert(!aivenauth_token_shaped(buf, 1025));
	ck_assert(!aivenauth_token_shaped(NULL, 100));
	buf[99] = '=';
	buf[98] = '=';
	ck_assert(aivenauth_token_shaped(buf, 100));   /* == padding at the end */
	buf[97] = '=';
	ck_assert(!aivenauth_token_shaped(buf, 100));  /* three '=' */
	buf[97] = 'A';
	buf[50] = '=';
	ck_assert(!aivenauth_token_shaped(buf, 100));  /* '=' inside */
	buf[50] = '-';
	ck_assert(!aivenauth_token_shaped(buf, 100));  /* base64url is not it */
	buf[50] = ' ';
	ck_assert(!aivenauth_token_shaped(buf, 100));
	buf[50] = '\xc3';
	ck_assert(!aivenauth_token_shaped(buf, 100));
	buf[50] = '+';
	buf[51] = '/';
	ck_assert(aivenauth_token_shaped(buf, 100));
	ck_assert(aivenauth_token_shaped(t[0], FX_TOKEN_LEN));
}
END_TEST

START_TEST(unknown_prefix)
{
	char other[FX_TOKEN_LEN + 1];

	fx_token(other, 'Z');
	other[1] = 'Z';
	ck_assert_int_eq(verify("alice", other), AIVENAUTH_REASON_UNKNOWN_PREFIX);
}
END_TEST

START_TEST(secret_mismatch)
{
	char forged[FX_TOKEN_LEN + 1];

	memcpy(forged, t[0], sizeof(forged));
	forged[200] = forged[200] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify("alice", forged), AIVENAUTH_REASON_SECRET_MISMATCH);
	/* a right prefix with a truncated secret */
	forged[100] = '\0';
	ck_assert_int_eq(verify("alice", forged), AIVENAUTH_REASON_SECRET_MISMATCH);
}
END_TEST

START_TEST(not_enrolled)
{
	ck_assert_int_eq(verify("alice", t[4]), AIVENAUTH_REASON_NOT_ENROLLED);
}
END_TEST

static struct aivenauth_ctx *
writer(void)
{
	struct aivenauth_ctx *w;
	char p[512];

	snprintf(p, sizeof(p), "%s/cache", dir);
	ck_assert_int_eq(aivenauth_ctx_new(&w), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(w, "cache_dir", p), AIVENAUTH_OK);
	return w;
}

/*
 * Write from another process, as aivenctl does: LMDB forbids opening one
 * environment twice in a process (the second open would reset the reader
 * table under the first).  The child ends by exec so that valgrind runs no
 * leak check on it.
 */
static void
elsewhere(bool (*fn)(struct aivenauth_ctx *w, void *arg), void *arg)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		bool ok = fn(writer(), arg);

		execl(ok ? "/bin/true" : "/bin/false", "x", (char *)NULL);
		_exit(2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct revoke_arg {
	const char *prefix;
	int64_t at;
};

static bool
do_revoke(struct aivenauth_ctx *w, void *arg)
{
	struct revoke_arg *r = arg;

	return aivenauth_cache_revoke(w, r->prefix, r->at) == AIVENAUTH_OK;
}

static void
revoke_elsewhere(const char *prefix, int64_t at)
{
	struct revoke_arg r = { prefix, at };

	elsewhere(do_revoke, &r);
}

static bool
do_apply(struct aivenauth_ctx *w, void *arg)
{
	return aivenauth_cache_apply(w, arg, 0, NULL) == AIVENAUTH_OK;
}

START_TEST(revoked_locally_then_removed)
{
	char forged[FX_TOKEN_LEN + 1];

	revoke_elsewhere(snap.s.tokens[0].prefix, 0);
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_REASON_REVOKED);
	/* a forged secret on a revoked prefix is still just a mismatch */
	memcpy(forged, t[0], sizeof(forged));
	forged[300] = forged[300] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify("alice", forged), AIVENAUTH_REASON_SECRET_MISMATCH);
	/* the API stops listing it: a removed tombstone, still "revoked" */
	{
		/* swap t[0]'s record to the end and leave it out */
		struct aivenauth_token tmp = snap.s.tokens[0];
		size_t last = snap.s.n_tokens - 1;

		snap.s.tokens[0] = snap.s.tokens[last];
		snap.s.tokens[last] = tmp;
		snap.s.n_tokens--;
		elsewhere(do_apply, &snap.s);
		snap.s.n_tokens++;
	}
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_REASON_REVOKED);
}
END_TEST

START_TEST(scheduled_revocation_grace)
{
	struct aivenauth_request req = { "alice", AIVENAUTH_MATCH_NAME, NULL,
	    NULL, NULL, 0 };
	struct aivenauth_decision d;

	revoke_elsewhere(snap.s.tokens[0].prefix, now + 300);
	req.now = now + 299;
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	req.now = now + 300;
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_REVOKED);
}
END_TEST

START_TEST(expired)
{
	ck_assert_int_eq(verify("alice", t[3]), AIVENAUTH_REASON_EXPIRED);
	ck_assert_int_eq(verify("alice", t[5]), AIVENAUTH_ACCEPTED);
}
END_TEST

START_TEST(user_match_modes)
{
	ck_assert_int_eq(verify("bob", t[0]), AIVENAUTH_REASON_USER_MISMATCH);
	ck_assert_int_eq(verify("Alice", t[0]), AIVENAUTH_REASON_USER_MISMATCH);
	ck_assert_int_eq(verify_as("u1", t[0], NULL, NULL, AIVENAUTH_MATCH_ID),
	    AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as("alice", t[0], NULL, NULL, AIVENAUTH_MATCH_ID),
	    AIVENAUTH_REASON_USER_MISMATCH);
	ck_assert_int_eq(verify_as("u1@app-users.example", t[0], NULL, NULL,
	    AIVENAUTH_MATCH_EMAIL), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as("alice", t[0], NULL, NULL,
	    AIVENAUTH_MATCH_EMAIL), AIVENAUTH_REASON_USER_MISMATCH);
	ck_assert_int_eq(verify_as("anyone", t[0], NULL, NULL, AIVENAUTH_MATCH_ANY),
	    AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as(NULL, t[0], NULL, NULL, AIVENAUTH_MATCH_NAME),
	    AIVENAUTH_REASON_USER_MISMATCH);
}
END_TEST

START_TEST(ip_allowlist)
{
	const enum aivenauth_user_match m = AIVENAUTH_MATCH_NAME;

	ck_assert_int_eq(verify_as("alice", t[1], "192.0.2.77", NULL, m),
	    AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as("alice", t[1], "::ffff:192.0.2.77", NULL, m),
	    AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as("alice", t[1], "2001:db8:1::5", NULL, m),
	    AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as("alice", t[1], "192.0.3.1", NULL, m),
	    AIVENAUTH_REASON_ADDRESS);
	ck_assert_int_eq(verify_as("alice", t[1], "2001:db9::1", NULL, m),
	    AIVENAUTH_REASON_ADDRESS);
	ck_assert_int_eq(verify_as("alice", t[1], "host.example.com", NULL, m),
	    AIVENAUTH_REASON_ADDRESS);
	ck_assert_int_eq(verify_as("alice", t[1], "192.0.2.77; rm -rf /", NULL, m),
	    AIVENAUTH_REASON_ADDRESS);
	ck_assert_int_eq(verify_as("alice", t[1], NULL, NULL, m),
	    AIVENAUTH_REASON_ADDRESS);
	/* no allowlist: any address, or none */
	ck_assert_int_eq(verify_as("alice", t[0], "198.51.100.1", NULL, m),
	    AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as("alice", t[0], "garbage", NULL, m),
	    AIVENAUTH_ACCEPTED);
}
END_TEST

START_TEST(scopes)
{
	const enum aivenauth_user_match m = AIVENAUTH_MATCH_NAME;
	const char *ip = "192.0.2.1";

	ck_assert_int_eq(verify_as("alice", t[1], ip, "user:read", m),
	    AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify_as("alice", t[1], ip, "projects:write", m),
	    AIVENAUTH_ACCEPTED);  /* "projects" covers its sub-scopes */
	ck_assert_int_eq(verify_as("alice", t[1], ip, "user:write", m),
	    AIVENAUTH_REASON_SCOPE);
	ck_assert_int_eq(verify_as("alice", t[1], ip, "user", m),
	    AIVENAUTH_REASON_SCOPE);  /* "user:read" does not cover "user" */
	ck_assert_int_eq(verify_as("alice", t[1], ip, "services", m),
	    AIVENAUTH_REASON_SCOPE);
	/* a token without scopes is unrestricted */
	ck_assert_int_eq(verify_as("alice", t[0], NULL, "services:write", m),
	    AIVENAUTH_ACCEPTED);
}
END_TEST

START_TEST(stale_cache)
{
	struct aivenauth_request req = { "alice", AIVENAUTH_MATCH_NAME, NULL,
	    NULL, NULL, 0 };
	struct aivenauth_decision d;

	ck_assert_int_eq(aivenauth_config_set(ctx, "max_stale", "60"), AIVENAUTH_OK);
	req.now = now + 59;
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	req.now = now + 61;
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_CACHE_STALE);
	ck_assert_int_eq(d.sync_age, 61);
	ck_assert_int_eq(aivenauth_config_set(ctx, "max_stale", "0"), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
}
END_TEST

START_TEST(never_synced_is_stale)
{
	struct aivenauth_ctx *c;
	struct aivenauth_decision d;
	char *d2 = fx_tmpdir();

	c = fx_ctx(d2);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(aivenauth_verify(c, t[0], FX_TOKEN_LEN, NULL, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_CACHE_STALE);
	ck_assert_int_eq(d.sync_age, -1);
	aivenauth_ctx_free(c);
	fx_rmdir(d2);
	free(d2);
}
END_TEST

/* A sync made while the clock ran a year ahead must not stay fresh for a
 * year once the clock is right again (finding 6 of the review). */
START_TEST(future_sync_is_stale)
{
	struct aivenauth_request req = { "alice", AIVENAUTH_MATCH_NAME, NULL,
	    NULL, NULL, 0 };
	struct aivenauth_decision d;
	struct aivenauth_ctx *w = fx_ctx(dir);

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 365 * 86400,
	    NULL), AIVENAUTH_OK);
	aivenauth_ctx_free(w);
	ck_assert_int_eq(aivenauth_config_set(ctx, "max_stale", "3600"),
	    AIVENAUTH_OK);
	req.now = now + 65 * 86400;     /* 300 days before that "sync" */
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_CACHE_STALE);
	req.now = now + 365 * 86400 + 60;   /* the clock caught up */
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
}
END_TEST

/* One empty listing must not lose every enrolled hash for good (finding
 * 5): the tokens are refused at once, and accepted again when listed. */
START_TEST(empty_listing_loses_nothing)
{
	struct aivenauth_snapshot empty = { "org", NULL, 0, NULL, 0 };
	struct aivenauth_ctx *w = fx_ctx(dir);

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(aivenauth_cache_apply(w, &empty, now + 60, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_REASON_REVOKED);
	ck_assert_int_eq(verify("bob", t[2]), AIVENAUTH_REASON_REVOKED);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 120, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(verify("bob", t[2]), AIVENAUTH_ACCEPTED);
	/* A forged secret on a restored prefix is still a mismatch. */
	{
		char forged[FX_TOKEN_LEN + 1];

		memcpy(forged, t[0], sizeof(forged));
		forged[40] = forged[40] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(verify("alice", forged),
		    AIVENAUTH_REASON_SECRET_MISMATCH);
	}
	aivenauth_ctx_free(w);
}
END_TEST

/* A reader sees what the writer publishes without re-opening: a
 * revocation at once; a sync that changed nothing as a new sync time only
 * (no new snapshot file). */
START_TEST(reader_follows_publications)
{
	struct aivenauth_request req = { "alice", AIVENAUTH_MATCH_NAME, NULL,
	    NULL, NULL, 0 };
	struct aivenauth_decision d;
	struct aivenauth_ctx *w = fx_ctx(dir);
	char prefix[FX_PREFIX_LEN + 1], snapf[4096];
	struct stat s0, s1;

	ck_assert_ptr_nonnull(w);
	snprintf(snapf, sizeof(snapf), "%s/cache/snapshot.mdb", dir);
	req.now = now + 100;
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(d.sync_age, 100);
	ck_assert_int_eq(stat(snapf, &s0), 0);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 90, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(stat(snapf, &s1), 0);
	ck_assert_msg(s0.st_ino == s1.st_ino, "a sync that changed nothing "
	    "published a new snapshot");
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.sync_age, 10);     /* the state record's time */
	/* Last-use metadata and a description moving (every sync: the admin
	 * token's own use) change no decision: no new snapshot either. */
	snap.s.tokens[0].last_used_time = now + 80;
	free(snap.s.tokens[0].description);
	snap.s.tokens[0].description = strdup("renamed");
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 95, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(stat(snapf, &s1), 0);
	ck_assert_msg(s0.st_ino == s1.st_ino, "last-use metadata alone "
	    "published a new snapshot");
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.sync_age, 5);
	memcpy(prefix, t[0], FX_PREFIX_LEN);
	prefix[FX_PREFIX_LEN] = '\0';
	ck_assert_int_eq(aivenauth_cache_revoke(w, prefix, 0), AIVENAUTH_OK);
	ck_assert_int_eq(stat(snapf, &s1), 0);
	ck_assert(s0.st_ino != s1.st_ino);
	ck_assert_int_eq(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, &req, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_REVOKED);
	aivenauth_ctx_free(w);
}
END_TEST

/* A change the writer committed but could not publish must not leave
 * readers deciding on the old snapshot (security review, finding 1: a
 * group member can fill the disk by holding deleted snapshots open). */
START_TEST(failed_publication_fails_closed)
{
	struct aivenauth_ctx *w = fx_ctx(dir);
	struct aivenauth_decision d;
	char prefix[FX_PREFIX_LEN + 1], blocker[4096];

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_ACCEPTED);
	/* The publication's temporary file cannot be made. */
	snprintf(blocker, sizeof(blocker), "%s/cache/snapshot.mdb.new", dir);
	ck_assert_int_eq(mkdir(blocker, 0700), 0);
	memcpy(prefix, t[0], FX_PREFIX_LEN);
	prefix[FX_PREFIX_LEN] = '\0';
	ck_assert_int_ne(aivenauth_cache_revoke(w, prefix, 0), AIVENAUTH_OK);
	/* Committed in the writer, not published: readers refuse to decide
	 * (cache unavailable), the revoked token first of all. */
	ck_assert_int_ne(aivenauth_verify(ctx, t[0], FX_TOKEN_LEN, NULL, &d),
	    AIVENAUTH_OK);
	ck_assert_int_ne(d.reason, AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_CACHE_UNAVAILABLE);
	ck_assert_int_ne(aivenauth_verify(ctx, t[4], FX_TOKEN_LEN, NULL, &d),
	    AIVENAUTH_OK);
	/* Once a publication succeeds, decisions come back, revocation in. */
	ck_assert_int_eq(rmdir(blocker), 0);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 5, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_REASON_REVOKED);
	aivenauth_ctx_free(w);
}
END_TEST

/* A token deleted at the API while its siblings stay listed loses its
 * hash at once: a stale or replayed listing must not bring it back
 * (finding 2); and a listing that moves a prefix to another user gives
 * the new owner no hash (finding 5). */
START_TEST(deleted_token_not_revived_by_a_replayed_listing)
{
	struct aivenauth_ctx *w = fx_ctx(dir);
	struct aivenauth_token *kept;
	char *uid;

	ck_assert_ptr_nonnull(w);
	/* t[0] deleted at the API; alice's other tokens still listed. */
	kept = snap.s.tokens;
	snap.s.tokens = kept + 1;
	snap.s.n_tokens--;
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 10, NULL),
	    AIVENAUTH_OK);
	snap.s.tokens = kept;
	snap.s.n_tokens++;
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_REASON_REVOKED);
	/* The old listing replayed: listed again, but no hash. */
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 20, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_ne(verify("alice", t[0]), AIVENAUTH_ACCEPTED);
	/* A prefix moved: t[2] (bob's) listed as alice's. */
	uid = snap.s.tokens[2].user_id;
	snap.s.tokens[2].user_id = strdup("u1");
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 30, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_ne(verify("alice", t[2]), AIVENAUTH_ACCEPTED);
	free(snap.s.tokens[2].user_id);
	snap.s.tokens[2].user_id = uid;
	aivenauth_ctx_free(w);
}
END_TEST

/* A prefix that begins another one is refused whole (finding 6: a short
 * tombstone shadowed a genuine token for 30 days). */
START_TEST(prefix_of_a_prefix_refused)
{
	struct aivenauth_ctx *w = fx_ctx(dir);
	struct aivenauth_token *x;
	char shorty[FX_TOKEN_LEN + 1];

	ck_assert_ptr_nonnull(w);
	memcpy(shorty, t[0], sizeof(shorty));
	x = fx_add_token(&snap, "u2", shorty);
	free(x->prefix);
	x->prefix = strndup(t[0], 4);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, now + 10, NULL),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(verify("alice", t[0]), AIVENAUTH_ACCEPTED);
	aivenauth_ctx_free(w);
}
END_TEST

START_TEST(cache_unavailable)
{
	struct aivenauth_ctx *c;
	struct aivenauth_decision d;

	ck_assert_int_eq(aivenauth_ctx_new(&c), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(c, "cache_dir",
	    "/nonexistent/aivenauth"), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_verify(c, t[0], FX_TOKEN_LEN, NULL, &d),
	    AIVENAUTH_ERR_CACHE_MISSING);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_CACHE_UNAVAILABLE);
	aivenauth_ctx_free(c);
}
END_TEST

/* online = learn with the API unreachable: never a success. */
START_TEST(online_learn_unreachable)
{
	struct aivenauth_decision d;

	ck_assert_int_eq(aivenauth_config_set(ctx, "online", "learn"), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "api_url",
	    "http://127.0.0.1:9"), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "timeout", "2"), AIVENAUTH_OK);
	ck_assert_int_ne(aivenauth_verify(ctx, t[4], FX_TOKEN_LEN,
	    &(struct aivenauth_request){ "alice", AIVENAUTH_MATCH_NAME, NULL, NULL,
	    NULL, 0 }, &d), AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_ONLINE_UNAVAILABLE);
	/* refused by policy first: no API call is needed to say no */
	ck_assert_int_eq(verify("bob", t[4]), AIVENAUTH_REASON_USER_MISMATCH);
}
END_TEST

START_TEST(hash_known_answers)
{
	static const struct {
		const char *msg;
		const char *hex;
	} kat[] = {
		{ "", "4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d" },
		{ "abc", "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f" },
	};
	unsigned char key[HASH_KEY_BYTES], out[HASH_BYTES], want[HASH_BYTES];
	char long_tok[373];
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	for (i = 0; i < 2; i++) {
		token_hash(key, kat[i].msg, strlen(kat[i].msg), out);
		ck_assert_int_eq(sodium_hex2bin(want, sizeof(want), kat[i].hex, 64,
		    NULL, NULL, NULL), 0);
		ck_assert_mem_eq(out, want, HASH_BYTES);
	}
	memcpy(long_tok, "6JsKDclT3OMQ", 12);
	memset(long_tok + 12, 'A', 358);
	memcpy(long_tok + 370, "==", 3);
	token_hash(key, long_tok, 372, out);
	sodium_hex2bin(want, sizeof(want),
	    "26c42579a9d1e200cce5155b3b159f11e70869996a82607b3f4e187e6c325061", 64,
	    NULL, NULL, NULL);
	ck_assert_mem_eq(out, want, HASH_BYTES);
	/* the key matters */
	key[0] ^= 1;
	token_hash(key, long_tok, 372, out);
	ck_assert(!hash_equal(out, want));
}
END_TEST

START_TEST(constant_time_compare)
{
	unsigned char a[HASH_BYTES], b[HASH_BYTES];

	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	ck_assert(hash_equal(a, b));
	b[HASH_BYTES - 1] ^= 0x80;
	ck_assert(!hash_equal(a, b));
	b[HASH_BYTES - 1] ^= 0x80;
	b[0] ^= 1;
	ck_assert(!hash_equal(a, b));
}
END_TEST

START_TEST(reason_names_are_stable)
{
	int r;

	for (r = 0; r <= AIVENAUTH_REASON_ERROR; r++) {
		ck_assert_str_ne(aivenauth_reason_name(r), "unknown");
		ck_assert_str_ne(aivenauth_reason_text(r), "unknown reason");
	}
	ck_assert_str_eq(aivenauth_reason_name(AIVENAUTH_REASON_REVOKED), "revoked");
	ck_assert_str_eq(aivenauth_reason_name(AIVENAUTH_REASON_UNKNOWN_PREFIX),
	    "unknown-prefix");
	for (r = 0; r <= AIVENAUTH_ERR_MISMATCH; r++)
		ck_assert_str_ne(aivenauth_strerror(r), "unknown status");
}
END_TEST

START_TEST(recheck_by_prefix)
{
	struct aivenauth_decision d;
	char *p0 = snap.s.tokens[0].prefix, *p3 = snap.s.tokens[3].prefix;

	ck_assert_int_eq(aivenauth_recheck(ctx, p0, "u1", 0, &d), AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_ACCEPTED);
	ck_assert_str_eq(d.user_name, "alice");
	ck_assert_int_eq(aivenauth_recheck(ctx, p0, "u2", 0, &d), AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_USER_MISMATCH);
	ck_assert_int_eq(aivenauth_recheck(ctx, p3, "u1", 0, &d), AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_EXPIRED);
	ck_assert_int_eq(aivenauth_recheck(ctx, "nosuchprefix", "u1", 0, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_REVOKED);
	/* revoked by another process after the first check */
	revoke_elsewhere(p0, 0);
	ck_assert_int_eq(aivenauth_recheck(ctx, p0, "u1", 0, &d), AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_REVOKED);
	ck_assert_int_eq(aivenauth_config_set(ctx, "max_stale", "60"), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_recheck(ctx, p0, "u1", now + 61, &d),
	    AIVENAUTH_OK);
	ck_assert_int_eq(d.reason, AIVENAUTH_REASON_CACHE_STALE);
	ck_assert_int_eq(aivenauth_recheck(ctx, "", "u1", 0, &d),
	    AIVENAUTH_ERR_INVALID);
}
END_TEST

static Suite *
verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("verify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, accepted_with_details);
	tcase_add_test(tc, not_token_shaped);
	tcase_add_test(tc, shape_bounds);
	tcase_add_test(tc, unknown_prefix);
	tcase_add_test(tc, secret_mismatch);
	tcase_add_test(tc, not_enrolled);
	tcase_add_test(tc, revoked_locally_then_removed);
	tcase_add_test(tc, scheduled_revocation_grace);
	tcase_add_test(tc, expired);
	tcase_add_test(tc, user_match_modes);
	tcase_add_test(tc, ip_allowlist);
	tcase_add_test(tc, scopes);
	tcase_add_test(tc, stale_cache);
	tcase_add_test(tc, never_synced_is_stale);
	tcase_add_test(tc, future_sync_is_stale);
	tcase_add_test(tc, empty_listing_loses_nothing);
	tcase_add_test(tc, reader_follows_publications);
	tcase_add_test(tc, failed_publication_fails_closed);
	tcase_add_test(tc, deleted_token_not_revived_by_a_replayed_listing);
	tcase_add_test(tc, prefix_of_a_prefix_refused);
	tcase_add_test(tc, cache_unavailable);
	tcase_add_test(tc, online_learn_unreachable);
	tcase_add_test(tc, recheck_by_prefix);
	tcase_add_test(tc, hash_known_answers);
	tcase_add_test(tc, constant_time_compare);
	tcase_add_test(tc, reason_names_are_stable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(verify_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
