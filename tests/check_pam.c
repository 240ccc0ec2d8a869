/*
 * check_pam.c - pam_aiven.so under real Linux-PAM, through
 * pam_start_confdir() with a private service directory (no /etc/pam.d, no
 * preload).
 *
 * main() builds one cache (users, tokens with every policy the module must
 * enforce, enrolled hashes) in a mkdtemp directory before the suite runs;
 * each test writes its own service file and drives the module through a
 * conversation.  The module is $AIVENAUTH_BUILD/pam_aiven.so (default
 * ./build).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "aivenauth.h"
#include "helpers/pam_fixture.h"

#define PAM_SET_ITEMS PF_PAM_SET_ITEMS
#define PAM_PERMIT PF_PAM_PERMIT

static char topdir[PATH_MAX];       /* mkdtemp: everything lives here */
static char confdir[PATH_MAX];      /* PAM service files */
static char cachedir[PATH_MAX];
static char conf[PATH_MAX];         /* config naming cachedir */
static char module[PATH_MAX];       /* absolute path of pam_aiven.so */

enum tok {
	T_GOOD,       /* alice, no restrictions */
	T_NET,        /* alice, ip_allowlist 10.0.0.0/8, 2001:db8::/32 */
	T_SCOPE,      /* alice, scopes pam:sshd */
	T_EXPIRED,    /* alice, expired an hour ago */
	T_REVOKED,    /* alice, revoked locally */
	T_ACCT,       /* alice, revoked by the account test */
	T_ACCT2,      /* alice, revoked by the account-by-prefix test */
	T_BOB,        /* bob */
	T_UNENROLLED, /* alice, synced but hash never stored */
	T_UNKNOWN,    /* not in the cache at all */
	T_WRONG,      /* T_GOOD's prefix, another secret */
	T_COUNT
};
static char tokens[T_COUNT][FX_TOKEN_LEN + 1];

/* ------------------------------------------------------------ helpers */

static char *
prefix_of(enum tok t, char *buf)
{
	return pf_prefix(tokens[t], buf);
}

/* Service `name`: pam_aiven.so with `args` for auth and account. */
static void
service(const char *name, const char *args)
{
	pf_service(confdir, name, module, args, args);
}

/* Service file with free-form content. */
static void
service_raw(const char *name, const char *content)
{
	char path[PATH_MAX];

	pf_xsnprintf(path, sizeof(path), "%s/%s", confdir, name);
	pf_write_file(path, "%s", content);
}

static pam_handle_t *
start(const char *svc, const char *user, struct pf_conv_state *cs,
    const char *rhost)
{
	struct pam_conv conv = { pf_conv_fn, cs };
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(svc, user, &conv, confdir, &pamh);
	ck_assert_int_eq(rc, PAM_SUCCESS);
	rc = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)pf_no_delay);
	ck_assert_int_eq(rc, PAM_SUCCESS);
	if (rhost != NULL)
		ck_assert_int_eq(pam_set_item(pamh, PAM_RHOST, rhost),
		    PAM_SUCCESS);
	return pamh;
}

/* One authentication: service, user, token (NULL = conversation fails),
 * rhost (NULL = unset). */
static int
auth_rhost(const char *svc, const char *user, const char *token,
    const char *rhost)
{
	struct pf_conv_state cs = { token, 0, 0 };
	pam_handle_t *pamh = start(svc, user, &cs, rhost);
	int rc = pam_authenticate(pamh, PAM_SILENT);

	pam_end(pamh, rc);
	return rc;
}

static int
auth(const char *svc, const char *user, const char *token)
{
	return auth_rhost(svc, user, token, NULL);
}

/* ------------------------------------------------------------ fixture */

/* The cache in `dir`: every token of enum tok (full) or only T_GOOD, a sync
 * at `now` (0: now). */
static void
cache_build(const char *dir, int64_t now, bool full)
{
	struct pf_tok t[T_COUNT];
	size_t n = 0;
	int i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < T_COUNT; i++) {
		if (!full && i != T_GOOD)
			continue;
		t[n].token = tokens[i];
		t[n].user_id = i == T_UNKNOWN || i == T_WRONG ? NULL :
		    i == T_BOB ? "u-bob" : "u-alice";
		t[n].unenrolled = i == T_UNENROLLED;
		t[n].revoked = i == T_REVOKED;
		t[n].expired = i == T_EXPIRED;
		if (i == T_NET) {
			t[n].allow[0] = "10.0.0.0/8";
			t[n].allow[1] = "2001:db8::/32";
		}
		if (i == T_SCOPE)
			t[n].scope = "pam:sshd";
		n++;
	}
	pf_cache_build(&(struct pf_cache){ .dir = dir, .org_id = "org-check",
	    .description = "check_pam", .n_users = 3, .now = now,
	    .toks = t, .n_toks = n });
}

static void
fixture_setup(void)
{
	pf_module_path(module, sizeof(module));
	pf_mkdtemp(topdir, sizeof(topdir), "check_pam");
	pf_xsnprintf(confdir, sizeof(confdir), "%s/pam.d", topdir);
	pf_xsnprintf(cachedir, sizeof(cachedir), "%s/cache", topdir);
	pf_xsnprintf(conf, sizeof(conf), "%s/aivenauth.conf", topdir);
	if (mkdir(confdir, 0755) != 0)
		pf_die("mkdir %s: %s", confdir, strerror(errno));

	pf_tokens(tokens, T_COUNT);
	/* Same prefix, different secret. */
	memcpy(tokens[T_WRONG], tokens[T_GOOD], FX_PREFIX_LEN);
	cache_build(cachedir, 0, true);

	pf_write_file(conf, "# check_pam\ncache_dir = %s\nmax_stale = 3600\n",
	    cachedir);
	pf_service_other(confdir);
}

/* "config=<conf> <extra>" */
static const char *
args(const char *extra)
{
	static char buf[PATH_MAX * 2];

	pf_xsnprintf(buf, sizeof(buf), "config=%s %s", conf, extra ? extra : "");
	return buf;
}

/* ------------------------------------------------------------ tests */

START_TEST(good_token_sets_env)
{
	struct pf_conv_state cs = { tokens[T_GOOD], 0, 0 };
	pam_handle_t *pamh;
	const char *v;
	char p[FX_PREFIX_LEN + 1];
	int rc;

	service("t-good", args(NULL));
	pamh = start("t-good", "alice", &cs, NULL);
	rc = pam_authenticate(pamh, 0);
	ck_assert_int_eq(rc, PAM_SUCCESS);
	ck_assert_int_eq(cs.prompts, 1);
	v = pam_getenv(pamh, "AIVEN_USER_ID");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "u-alice");
	v = pam_getenv(pamh, "AIVEN_USER_NAME");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "alice");
	v = pam_getenv(pamh, "AIVEN_TOKEN_PREFIX");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, prefix_of(T_GOOD, p));
	ck_assert_int_eq(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	ck_assert_int_eq(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, rc);
}
END_TEST

START_TEST(refusals)
{
	service("t-ref", args(NULL));
	ck_assert_int_eq(auth("t-ref", "alice", tokens[T_WRONG]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-ref", "alice", tokens[T_UNKNOWN]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-ref", "alice", tokens[T_REVOKED]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-ref", "alice", tokens[T_EXPIRED]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-ref", "alice", tokens[T_UNENROLLED]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-ref", "alice", ""), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-ref", "alice", "hunter2"), PAM_AUTH_ERR);
	/* The conversation fails: no token at all. */
	ck_assert_int_eq(auth("t-ref", "alice", NULL), PAM_AUTH_ERR);
	/* Still fine after all that. */
	ck_assert_int_eq(auth("t-ref", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

START_TEST(user_match_name)
{
	service("t-um-name", args("user_match=name"));
	ck_assert_int_eq(auth("t-um-name", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-um-name", "bob", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-um-name", "u-alice", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-um-name", "bob", tokens[T_BOB]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-um-name", "alice", tokens[T_BOB]), PAM_AUTH_ERR);
	/* Default is name. */
	service("t-um-default", args(NULL));
	ck_assert_int_eq(auth("t-um-default", "bob", tokens[T_GOOD]), PAM_AUTH_ERR);
}
END_TEST

START_TEST(user_match_id)
{
	service("t-um-id", args("user_match=id"));
	ck_assert_int_eq(auth("t-um-id", "u-alice", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-um-id", "alice", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-um-id", "u-bob", tokens[T_GOOD]), PAM_AUTH_ERR);
}
END_TEST

START_TEST(user_match_email)
{
	service("t-um-email", args("user_match=email"));
	ck_assert_int_eq(auth("t-um-email", "alice@example.com", tokens[T_GOOD]),
	    PAM_SUCCESS);
	ck_assert_int_eq(auth("t-um-email", "alice", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-um-email", "bob@example.com", tokens[T_GOOD]),
	    PAM_AUTH_ERR);
}
END_TEST

START_TEST(user_match_any)
{
	service("t-um-any", args("user_match=any"));
	ck_assert_int_eq(auth("t-um-any", "whoever", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-um-any", "bob", tokens[T_GOOD]), PAM_SUCCESS);
	/* The token still decides. */
	ck_assert_int_eq(auth("t-um-any", "alice", tokens[T_REVOKED]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-um-any", "alice", tokens[T_WRONG]), PAM_AUTH_ERR);
	/* Never uid 0 (a changed default): root only by a map line. */
	ck_assert_int_eq(auth("t-um-any", "root", tokens[T_GOOD]), PAM_AUTH_ERR);
}
END_TEST

/* Write the account map at path (0644) so that it looks settled: the
 * pool must notice an edit by the file's identity alone. */
static void
map_write(const char *path, const char *text)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char tmp[PATH_MAX];

	/* rename into place, as editors and package managers do */
	pf_xsnprintf(tmp, sizeof(tmp), "%s.new", path);
	pf_write_file(tmp, "%s", text);
	ck_assert_int_eq(utimensat(AT_FDCWD, tmp, ts, 0), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/*
 * user_match=map through Linux-PAM: several application users into one
 * account, a glob, from=, scope=, root only by its own line, a revoked
 * token of a listed user, one reason of its own per refusal; the pooled
 * context sees an edit of the map at the next login (this test is one
 * long-lived process: the module stays loaded, -z nodelete).
 */
START_TEST(user_match_map)
{
	char map[PATH_MAX], a[PATH_MAX * 3];

	pf_xsnprintf(map, sizeof(map), "%s/accounts", topdir);
	map_write(map,
	    "# local account   application users   options\n"
	    "deploy     alice bob\n"
	    "solo       alice\n"
	    "web        b*\n"
	    "net        alice   from=10.0.0.0/8\n"
	    "scoped     alice   scope=pam:nginx\n");
	pf_xsnprintf(a, sizeof(a), "user_match=map account_map=%s", map);
	service("t-map", args(a));
	/* two application users, one account */
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_BOB]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-map", "solo", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-map", "solo", tokens[T_BOB]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "web", tokens[T_BOB]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-map", "web", tokens[T_GOOD]), PAM_AUTH_ERR);
	/* no line: nobody, root included; the app user's own name neither */
	ck_assert_int_eq(auth("t-map", "root", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "alice", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "other", tokens[T_BOB]), PAM_AUTH_ERR);
	/* from= with the client address inside, outside, absent */
	ck_assert_int_eq(auth_rhost("t-map", "net", tokens[T_GOOD], "10.9.8.7"), PAM_SUCCESS);
	ck_assert_int_eq(auth_rhost("t-map", "net", tokens[T_GOOD], "192.0.2.1"), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "net", tokens[T_GOOD]), PAM_AUTH_ERR);
	/* scope=: a token without scopes is unrestricted; T_SCOPE carries
	 * pam:sshd only */
	ck_assert_int_eq(auth("t-map", "scoped", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-map", "scoped", tokens[T_SCOPE]), PAM_AUTH_ERR);
	/* every token check still holds */
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_REVOKED]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_WRONG]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_UNKNOWN]), PAM_AUTH_ERR);
	/* root by an explicit line only; the edit is seen at the next login */
	map_write(map, "deploy alice\nroot   bob\n");
	ck_assert_int_eq(auth("t-map", "root", tokens[T_BOB]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-map", "root", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_BOB]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_GOOD]), PAM_SUCCESS);
	/* in-place rewrite, same inode */
	pf_write_file(map, "deploy bob  \nroot   alice\n");
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_BOB]), PAM_SUCCESS);
	/* a broken map refuses everyone: a service error, never success */
	map_write(map, "deploy alice bob\nroot from=10.0.0.0/8\n");
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_GOOD]), PAM_SERVICE_ERR);
	map_write(map, "deploy alice bob\n");
	ck_assert_int_eq(chmod(map, 0666), 0);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_GOOD]), PAM_SERVICE_ERR);
	ck_assert_int_eq(chmod(map, 0644), 0);
	ck_assert_int_eq(auth("t-map", "deploy", tokens[T_GOOD]), PAM_SUCCESS);
	/* the account phase keeps the account: changed to root, refused */
	{
		struct pf_conv_state cs = { tokens[T_GOOD], 0, 0 };
		pam_handle_t *pamh = start("t-map", "deploy", &cs, NULL);
		int rc;

		ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
		ck_assert_int_eq(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
		ck_assert_int_eq(pam_set_item(pamh, PAM_USER, "root"), PAM_SUCCESS);
		rc = pam_acct_mgmt(pamh, 0);
		ck_assert_int_ne(rc, PAM_SUCCESS);
		pam_end(pamh, rc);
	}
	/* a missing map (default path or account_map=) refuses */
	pf_xsnprintf(a, sizeof(a), "user_match=map account_map=%s/none", topdir);
	service("t-map-missing", args(a));
	ck_assert_int_eq(auth("t-map-missing", "deploy", tokens[T_GOOD]), PAM_SERVICE_ERR);
	/* bad arguments */
	service("t-map-rel", args("user_match=map account_map=accounts"));
	ck_assert_int_eq(auth("t-map-rel", "deploy", tokens[T_GOOD]), PAM_SERVICE_ERR);
	pf_xsnprintf(a, sizeof(a), "user_match=map account_map=%s account_map_file=%s",
	    map, map);
	service("t-map-both", args(a));
	ck_assert_int_eq(auth("t-map-both", "deploy", tokens[T_GOOD]), PAM_SERVICE_ERR);
	/* the config key works as the argument does */
	pf_xsnprintf(a, sizeof(a), "user_match=map account_map_file=%s", map);
	service("t-map-key", args(a));
	ck_assert_int_eq(auth("t-map-key", "deploy", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-map-key", "root", tokens[T_GOOD]), PAM_AUTH_ERR);
}
END_TEST

/* user_match=any: the account phase refuses a user changed to root. */
START_TEST(any_account_changed_to_root)
{
	struct pf_conv_state cs = { tokens[T_GOOD], 0, 0 };
	pam_handle_t *pamh;
	int rc;

	service("t-any-root", args("user_match=any"));
	pamh = start("t-any-root", "whoever", &cs, NULL);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_set_item(pamh, PAM_USER, "root"), PAM_SUCCESS);
	rc = pam_acct_mgmt(pamh, 0);
	ck_assert_int_ne(rc, PAM_SUCCESS);
	pam_end(pamh, rc);
}
END_TEST

START_TEST(ip_allowlist)
{
	const char *T = tokens[T_NET];

	service("t-ip", args(NULL));
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "10.1.2.3"), PAM_SUCCESS);
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "192.168.1.1"), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "11.0.0.1"), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "2001:db8::5"), PAM_SUCCESS);
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "2001:db9::5"), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "::ffff:10.9.9.9"), PAM_SUCCESS);
	/* A host name is not an address: refused, never resolved. */
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "host.example.com"),
	    PAM_AUTH_ERR);
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, "localhost"), PAM_AUTH_ERR);
	/* No client address at all: the allowlist cannot be satisfied. */
	ck_assert_int_eq(auth_rhost("t-ip", "alice", T, NULL), PAM_AUTH_ERR);
	/* A token without allowlist does not care. */
	ck_assert_int_eq(auth_rhost("t-ip", "alice", tokens[T_GOOD], "host.example.com"),
	    PAM_SUCCESS);
}
END_TEST

START_TEST(scopes)
{
	service("t-scope-ok", args("scope=pam:sshd"));
	service("t-scope-other", args("scope=pam:nginx"));
	ck_assert_int_eq(auth("t-scope-ok", "alice", tokens[T_SCOPE]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-scope-other", "alice", tokens[T_SCOPE]), PAM_AUTH_ERR);
	/* A token without scopes is not limited by them. */
	ck_assert_int_eq(auth("t-scope-other", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

START_TEST(stale_cache)
{
	char dir[PATH_MAX], cf[PATH_MAX], a[PATH_MAX * 2];

	pf_xsnprintf(dir, sizeof(dir), "%s/stale", topdir);
	pf_xsnprintf(cf, sizeof(cf), "%s/stale.conf", topdir);
	cache_build(dir, (int64_t)time(NULL) - 1000, false);
	pf_write_file(cf, "cache_dir = %s\nmax_stale = 1\n", dir);
	pf_xsnprintf(a, sizeof(a), "config=%s", cf);
	service("t-stale", a);
	ck_assert_int_eq(auth("t-stale", "alice", tokens[T_GOOD]),
	    PAM_AUTHINFO_UNAVAIL);
	/* An argument overrides the file: max_stale=0 is never stale. */
	pf_xsnprintf(a, sizeof(a), "config=%s max_stale=0", cf);
	service("t-stale-off", a);
	ck_assert_int_eq(auth("t-stale-off", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	pf_xsnprintf(a, sizeof(a), "config=%s max_stale=100000", cf);
	service("t-stale-long", a);
	ck_assert_int_eq(auth("t-stale-long", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

START_TEST(missing_cache)
{
	char a[PATH_MAX * 2];

	pf_xsnprintf(a, sizeof(a), "config=%s cache_dir=%s/no-such-dir", conf, topdir);
	service("t-nocache", a);
	ck_assert_int_eq(auth("t-nocache", "alice", tokens[T_GOOD]),
	    PAM_AUTHINFO_UNAVAIL);
}
END_TEST

START_TEST(bad_arguments)
{
	static const char *const bad[] = {
		"frobnicate", "debug=1", "user_match=nickname", "user_match=",
		"non_token=maybe", "scope=", "max_stale=soon", "max_stale=-5",
		"cache_dir=", "config", "use_first_pass=yes", "=x",
	};
	char name[32];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pf_xsnprintf(name, sizeof(name), "t-badarg-%zu", i);
		service(name, args(bad[i]));
		ck_assert_msg(auth(name, "alice", tokens[T_GOOD]) == PAM_SERVICE_ERR,
		    "argument \"%s\" not refused", bad[i]);
	}
	/* The same arguments done right. */
	service("t-goodargs", args("debug user_match=name non_token=fail "
	    "try_first_pass max_stale=3600 timeout=3 online=off"));
	ck_assert_int_eq(auth("t-goodargs", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

/*
 * A repeated argument is refused, not "the last one wins": each of these
 * pairs would widen the policy of the first (alice's token as root; a
 * stale cache taken for fresh).  Refused whatever the order and even when
 * both agree, as the config file refuses a duplicate key.
 */
START_TEST(duplicate_arguments)
{
	static const char *const dup[] = {
		"user_match=name user_match=any",
		"user_match=any user_match=name",
		"max_stale=1h max_stale=0",
		"max_stale=1 debug max_stale=1",
		"scope=pam:sshd scope=pam:nginx",
		"non_token=fail non_token=ignore",
		"debug debug",
	};
	char dir[PATH_MAX], cf[PATH_MAX], a[PATH_MAX * 2], name[32];
	size_t i;

	/* Without the first argument of each pair, it would log in. */
	service("t-dup-any", args("user_match=any"));
	ck_assert_int_eq(auth("t-dup-any", "whoever", tokens[T_GOOD]), PAM_SUCCESS);
	service("t-dup-name", args("user_match=name"));
	ck_assert_int_eq(auth("t-dup-name", "root", tokens[T_GOOD]), PAM_AUTH_ERR);
	for (i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
		pf_xsnprintf(name, sizeof(name), "t-dup-%zu", i);
		service(name, args(dup[i]));
		ck_assert_msg(auth(name, "root", tokens[T_GOOD]) == PAM_SERVICE_ERR,
		    "\"%s\" not refused (as root)", dup[i]);
		ck_assert_msg(auth(name, "alice", tokens[T_GOOD]) == PAM_SERVICE_ERR,
		    "\"%s\" not refused (as alice)", dup[i]);
	}
	/* config= twice, even the same file. */
	pf_xsnprintf(a, sizeof(a), "config=%s config=%s", conf, conf);
	service("t-dup-config", a);
	ck_assert_int_eq(auth("t-dup-config", "alice", tokens[T_GOOD]),
	    PAM_SERVICE_ERR);

	/* The max_stale pair on a stale cache: "1h" alone refuses it. */
	pf_xsnprintf(dir, sizeof(dir), "%s/dup-stale", topdir);
	pf_xsnprintf(cf, sizeof(cf), "%s/dup-stale.conf", topdir);
	cache_build(dir, (int64_t)time(NULL) - 7200, false);
	pf_write_file(cf, "cache_dir = %s\n", dir);
	pf_xsnprintf(a, sizeof(a), "config=%s max_stale=1h", cf);
	service("t-dup-stale1", a);
	ck_assert_int_eq(auth("t-dup-stale1", "alice", tokens[T_GOOD]),
	    PAM_AUTHINFO_UNAVAIL);
	pf_xsnprintf(a, sizeof(a), "config=%s max_stale=1h max_stale=0", cf);
	service("t-dup-stale2", a);
	ck_assert_int_eq(auth("t-dup-stale2", "alice", tokens[T_GOOD]),
	    PAM_SERVICE_ERR);
}
END_TEST

/* config= relative to the caller's working directory is the caller's
 * choice of file: refused even when the file there is a good one. */
START_TEST(relative_config)
{
	char cwd[PATH_MAX];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(topdir), 0);
	pf_service(confdir, "t-relconf", module, "config=aivenauth.conf",
	    "config=aivenauth.conf");
	pf_service(confdir, "t-relconf2", module, "config=./aivenauth.conf",
	    "config=./aivenauth.conf");
	ck_assert_int_eq(auth("t-relconf", "alice", tokens[T_GOOD]),
	    PAM_SERVICE_ERR);
	ck_assert_int_eq(auth("t-relconf2", "alice", tokens[T_GOOD]),
	    PAM_SERVICE_ERR);
	ck_assert_int_eq(chdir(cwd), 0);
	/* The same file by its absolute path. */
	service("t-absconf", args(NULL));
	ck_assert_int_eq(auth("t-absconf", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

START_TEST(bad_config)
{
	char cf[PATH_MAX], a[PATH_MAX * 2];

	pf_xsnprintf(cf, sizeof(cf), "%s/bad.conf", topdir);
	pf_write_file(cf, "cache_dir = %s\nno_such_key = 1\n", cachedir);
	pf_xsnprintf(a, sizeof(a), "config=%s", cf);
	service("t-badconf", a);
	ck_assert_int_eq(auth("t-badconf", "alice", tokens[T_GOOD]), PAM_SERVICE_ERR);

	pf_write_file(cf, "this is not a config file\n");
	ck_assert_int_eq(auth("t-badconf", "alice", tokens[T_GOOD]), PAM_SERVICE_ERR);

	pf_xsnprintf(a, sizeof(a), "config=%s/missing.conf", topdir);
	service("t-noconf", a);
	ck_assert_int_eq(auth("t-noconf", "alice", tokens[T_GOOD]), PAM_SERVICE_ERR);

	/* World-writable: refused as unsafe. */
	pf_write_file(cf, "cache_dir = %s\n", cachedir);
	chmod(cf, 0666);
	pf_xsnprintf(a, sizeof(a), "config=%s", cf);
	service("t-wwconf", a);
	ck_assert_int_eq(auth("t-wwconf", "alice", tokens[T_GOOD]), PAM_SERVICE_ERR);
}
END_TEST

START_TEST(use_first_pass)
{
	char buf[PATH_MAX * 3];

	if (access(PAM_SET_ITEMS, R_OK) != 0) {
		fprintf(stderr, "SKIP: use_first_pass: %s missing\n", PAM_SET_ITEMS);
		return;
	}
	/* pam_set_items.so sets PAM_AUTHTOK from the environment. */
	pf_xsnprintf(buf, sizeof(buf),
	    "auth required " PAM_SET_ITEMS "\n"
	    "auth required %s %s\n"
	    "account required " PAM_PERMIT "\n",
	    module, args("use_first_pass"));
	service_raw("t-ufp", buf);
	setenv("PAM_AUTHTOK", tokens[T_GOOD], 1);
	/* The conversation would fail: success proves no prompt was made. */
	ck_assert_int_eq(auth("t-ufp", "alice", NULL), PAM_SUCCESS);
	setenv("PAM_AUTHTOK", tokens[T_WRONG], 1);
	ck_assert_int_eq(auth("t-ufp", "alice", tokens[T_GOOD]), PAM_AUTH_ERR);
	unsetenv("PAM_AUTHTOK");
	/* use_first_pass and nothing earlier: refused without prompting. */
	ck_assert_int_eq(auth("t-ufp", "alice", tokens[T_GOOD]), PAM_AUTH_ERR);

	/* try_first_pass with nothing earlier: prompts. */
	pf_xsnprintf(buf, sizeof(buf),
	    "auth required " PAM_SET_ITEMS "\n"
	    "auth required %s %s\n", module, args("try_first_pass"));
	service_raw("t-tfp", buf);
	ck_assert_int_eq(auth("t-tfp", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

START_TEST(non_token)
{
	char buf[PATH_MAX * 3];

	/* [ignore=ignore]: PAM_IGNORE falls through to pam_permit. */
	pf_xsnprintf(buf, sizeof(buf),
	    "auth [success=done ignore=ignore default=die] %s %s\n"
	    "auth required " PAM_PERMIT "\n", module, args("non_token=ignore"));
	service_raw("t-nt-ignore", buf);
	pf_xsnprintf(buf, sizeof(buf),
	    "auth [success=done ignore=ignore default=die] %s %s\n"
	    "auth required " PAM_PERMIT "\n", module, args("non_token=fail"));
	service_raw("t-nt-fail", buf);
	pf_xsnprintf(buf, sizeof(buf),
	    "auth [success=done ignore=ignore default=die] %s %s\n"
	    "auth required " PAM_PERMIT "\n", module, args(NULL));
	service_raw("t-nt-default", buf);

	ck_assert_int_eq(auth("t-nt-ignore", "alice", "hunter2"), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-nt-ignore", "alice", ""), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-nt-fail", "alice", "hunter2"), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-nt-default", "alice", "hunter2"), PAM_AUTH_ERR);
	/* ignore is only for what is not token-shaped. */
	ck_assert_int_eq(auth("t-nt-ignore", "alice", tokens[T_WRONG]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-nt-ignore", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

START_TEST(non_token_ignore_code)
{
	/* Alone in the stack, the PAM_IGNORE itself is visible as libpam's
	 * "no module decided" result, never as success. */
	service("t-nt-alone", args("non_token=ignore"));
	ck_assert_int_ne(auth("t-nt-alone", "alice", "hunter2"), PAM_SUCCESS);
}
END_TEST

/* ------------------------------------------------------------ config errors */

#define PAM_USERDB PF_SEC "/pam_userdb.so"
#define HUMAN_PW "Correct-Horse-9"

/*
 * A password database for pam_userdb, the stand-in for pam_unix in
 * common-auth: alice's password is HUMAN_PW; carol's is a token-shaped
 * string, so that a stack which let a token-shaped password through to
 * the next module would log carol in.  Returns its path without ".db".
 */
static const char *
userdb(void)
{
	static char db[PATH_MAX];
	char in[PATH_MAX], out[PATH_MAX];
	pid_t pid;
	int status;

	if (db[0] != '\0')
		return db;
	ck_assert_msg(access("/usr/bin/db_load", X_OK) == 0,
	    "db_load missing (Debian package db-util, in the Makefile's DEB_TEST)");
	ck_assert_msg(access(PAM_USERDB, R_OK) == 0, "%s missing", PAM_USERDB);
	pf_xsnprintf(in, sizeof(in), "%s/userdb.txt", topdir);
	pf_xsnprintf(db, sizeof(db), "%s/userdb", topdir);
	pf_xsnprintf(out, sizeof(out), "%s.db", db);
	pf_write_file(in, "alice\n" HUMAN_PW "\ncarol\n%s\n", tokens[T_UNKNOWN]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/usr/bin/db_load", "db_load", "-T", "-t", "hash", "-f",
		    in, out, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "db_load failed");
	return db;
}

/* The README's sshd lines with `broken` on pam_aiven's, pam_userdb after
 * it as common-auth's pam_unix would be, pam_permit for account. */
static void
shared_stack(const char *name, const char *broken)
{
	char buf[PATH_MAX * 4];

	pf_xsnprintf(buf, sizeof(buf),
	    "auth [success=done ignore=ignore authinfo_unavail=ignore default=die] "
	    "%s %s\n"
	    "auth required " PAM_USERDB " db=%s use_first_pass\n"
	    "account [success=ok ignore=ignore default=bad] %s %s\n"
	    "account required " PAM_PERMIT "\n",
	    module, broken, userdb(), module, broken);
	service_raw(name, buf);
}

/* auth then account; the number of prompts in *prompts. */
static int
login(const char *svc, const char *user, const char *pw, int *prompts)
{
	struct pf_conv_state cs = { pw, 0, 0 };
	pam_handle_t *pamh = start(svc, user, &cs, NULL);
	int rc = pam_authenticate(pamh, PAM_SILENT);

	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_SILENT);
	pam_end(pamh, rc);
	if (prompts != NULL)
		*prompts = cs.prompts;
	return rc;
}

/*
 * A broken module line or config file on a stack shared with people:
 * a token-shaped password is still refused, and finally (default=die: the
 * next module, which would accept carol's, is never asked); a password
 * that is not token-shaped reaches the next module, which decides.
 */
START_TEST(config_error_spares_people)
{
	char cf0666[PATH_MAX], cfbad[PATH_MAX], a[PATH_MAX * 2], name[32];
	const char *broken[6];
	int prompts, i;

	pf_xsnprintf(cf0666, sizeof(cf0666), "%s/ww.conf", topdir);
	pf_write_file(cf0666, "cache_dir = %s\n", cachedir);
	ck_assert_int_eq(chmod(cf0666, 0666), 0);
	pf_xsnprintf(cfbad, sizeof(cfbad), "%s/typo.conf", topdir);
	pf_write_file(cfbad, "cache_dir = %s\nmax_stale = 1h # a comment\n",
	    cachedir);
	broken[0] = strdup(args("non_token=ingore"));
	broken[1] = strdup(args("non_token=ignore scpoe=projects:read"));
	broken[2] = strdup(args("non_token=ignore max_stale=soon"));
	pf_xsnprintf(a, sizeof(a), "config=%s non_token=ignore", cf0666);
	broken[3] = strdup(a);
	pf_xsnprintf(a, sizeof(a), "config=%s non_token=ignore", cfbad);
	broken[4] = strdup(a);
	pf_xsnprintf(a, sizeof(a), "config=%s/missing.conf non_token=ignore",
	    topdir);
	broken[5] = strdup(a);

	/* The same stack, not broken: what each case must still look like. */
	shared_stack("t-cfg-good", args("non_token=ignore"));
	ck_assert_int_eq(login("t-cfg-good", "alice", tokens[T_GOOD], NULL),
	    PAM_SUCCESS);
	ck_assert_int_eq(login("t-cfg-good", "alice", HUMAN_PW, NULL),
	    PAM_SUCCESS);
	ck_assert_int_eq(login("t-cfg-good", "carol", tokens[T_UNKNOWN], NULL),
	    PAM_AUTH_ERR);

	for (i = 0; i < 6; i++) {
		ck_assert_ptr_nonnull(broken[i]);
		pf_xsnprintf(name, sizeof(name), "t-cfg-broken-%d", i);
		shared_stack(name, broken[i]);
		/* People: the password reaches pam_userdb, asked once. */
		ck_assert_msg(login(name, "alice", HUMAN_PW, &prompts) ==
		    PAM_SUCCESS, "case %d: a person locked out", i);
		ck_assert_int_eq(prompts, 1);
		ck_assert_msg(login(name, "alice", "hunter2", NULL) ==
		    PAM_AUTH_ERR, "case %d: a wrong password accepted", i);
		/* Tokens: refused, and the refusal is final. */
		ck_assert_msg(login(name, "alice", tokens[T_GOOD], NULL) ==
		    PAM_SERVICE_ERR, "case %d: a token not refused", i);
		ck_assert_msg(login(name, "carol", tokens[T_UNKNOWN], NULL) ==
		    PAM_SERVICE_ERR, "case %d: a token-shaped password reached "
		    "the next module", i);
		free((void *)broken[i]);
	}

	/* non_token=fail said in so many words: still refused. */
	pf_xsnprintf(a, sizeof(a), "config=%s non_token=fail", cf0666);
	shared_stack("t-cfg-ntfail", a);
	ck_assert_int_eq(login("t-cfg-ntfail", "alice", HUMAN_PW, NULL),
	    PAM_AUTH_ERR);
	/* Tokens only (nothing after it): no one gets in. */
	pf_xsnprintf(a, sizeof(a), "config=%s", cf0666);
	service("t-cfg-alone", a);
	ck_assert_int_ne(login("t-cfg-alone", "alice", HUMAN_PW, NULL),
	    PAM_SUCCESS);
	ck_assert_int_eq(login("t-cfg-alone", "alice", tokens[T_GOOD], NULL),
	    PAM_SERVICE_ERR);
	/* use_first_pass with nothing stored: no prompt, no success. */
	pf_xsnprintf(a, sizeof(a), "config=%s use_first_pass", cf0666);
	service("t-cfg-ufp", a);
	ck_assert_int_eq(login("t-cfg-ufp", "alice", NULL, &prompts),
	    PAM_SERVICE_ERR);
	ck_assert_int_eq(prompts, 0);
}
END_TEST

START_TEST(account_after_revoke)
{
	struct pf_conv_state cs = { tokens[T_ACCT], 0, 0 };
	struct aivenauth_ctx *ctx = NULL;
	pam_handle_t *pamh;
	char p[FX_PREFIX_LEN + 1];
	int rc;

	service("t-acct", args(NULL));
	pamh = start("t-acct", "alice", &cs, NULL);
	rc = pam_authenticate(pamh, 0);
	ck_assert_int_eq(rc, PAM_SUCCESS);
	ck_assert_int_eq(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);

	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "cache_dir", cachedir), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, prefix_of(T_ACCT, p), 0),
	    AIVENAUTH_OK);
	aivenauth_ctx_free(ctx);

	cs.errors = 0;
	rc = pam_acct_mgmt(pamh, 0);
	ck_assert_int_eq(rc, PAM_ACCT_EXPIRED);
	ck_assert_int_eq(cs.errors, 1);       /* told, since not PAM_SILENT */
	cs.errors = 0;
	ck_assert_int_eq(pam_acct_mgmt(pamh, PAM_SILENT), PAM_ACCT_EXPIRED);
	ck_assert_int_eq(cs.errors, 0);
	pam_end(pamh, rc);
}
END_TEST

/* The application dropped PAM_AUTHTOK before the account phase (here
 * pam_set_items.so sets it to "" from the environment): the module
 * re-checks by the prefix kept at authentication. */
START_TEST(account_by_prefix)
{
	struct pf_conv_state cs = { tokens[T_ACCT2], 0, 0 };
	struct aivenauth_ctx *ctx = NULL;
	pam_handle_t *pamh;
	char buf[PATH_MAX * 3], p[FX_PREFIX_LEN + 1];
	int rc;

	if (access(PAM_SET_ITEMS, R_OK) != 0) {
		fprintf(stderr, "SKIP: account_by_prefix: %s missing\n", PAM_SET_ITEMS);
		return;
	}
	pf_xsnprintf(buf, sizeof(buf),
	    "auth required %s %s\n"
	    "account required " PAM_SET_ITEMS "\n"
	    "account required %s %s\n", module, args(NULL), module, args(NULL));
	service_raw("t-acct-prefix", buf);
	pamh = start("t-acct-prefix", "alice", &cs, NULL);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	setenv("PAM_AUTHTOK", "", 1);
	ck_assert_int_eq(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);

	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "cache_dir", cachedir), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, prefix_of(T_ACCT2, p), 0),
	    AIVENAUTH_OK);
	aivenauth_ctx_free(ctx);

	rc = pam_acct_mgmt(pamh, PAM_SILENT);
	ck_assert_int_eq(rc, PAM_ACCT_EXPIRED);
	unsetenv("PAM_AUTHTOK");
	pam_end(pamh, rc);
}
END_TEST

START_TEST(account_not_ours)
{
	struct pf_conv_state cs = { tokens[T_GOOD], 0, 0 };
	pam_handle_t *pamh;
	char buf[PATH_MAX * 3];
	int rc;

	/* Account without our authentication: PAM_IGNORE, so the stack
	 * decides (here pam_permit after [ignore=ignore]). */
	pf_xsnprintf(buf, sizeof(buf),
	    "auth required " PAM_PERMIT "\n"
	    "account [success=done ignore=ignore default=die] %s %s\n"
	    "account required " PAM_PERMIT "\n", module, args(NULL));
	service_raw("t-acct-notours", buf);
	pamh = start("t-acct-notours", "alice", &cs, NULL);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	rc = pam_acct_mgmt(pamh, 0);
	ck_assert_int_eq(rc, PAM_SUCCESS);
	pam_end(pamh, rc);

	/* Alone: never success. */
	service("t-acct-alone", args(NULL));
	pamh = start("t-acct-alone", "alice", &cs, NULL);
	rc = pam_acct_mgmt(pamh, 0);
	ck_assert_int_ne(rc, PAM_SUCCESS);
	pam_end(pamh, rc);
}
END_TEST

START_TEST(account_user_changed)
{
	struct pf_conv_state cs = { tokens[T_GOOD], 0, 0 };
	pam_handle_t *pamh;
	int rc;

	service("t-acct-user", args(NULL));
	pamh = start("t-acct-user", "alice", &cs, NULL);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_set_item(pamh, PAM_USER, "bob"), PAM_SUCCESS);
	rc = pam_acct_mgmt(pamh, 0);
	ck_assert_int_ne(rc, PAM_SUCCESS);
	pam_end(pamh, rc);
}
END_TEST

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * The module keeps contexts across conversations (pam_aiven/ctxpool.c):
 * an edited config file and a removed or re-created cache must be seen by
 * the very next conversation in the same process, not after a restart.
 */
START_TEST(pool_sees_config_and_cache_changes)
{
	char cf[PATH_MAX], dir[PATH_MAX], a[PATH_MAX * 2];
	int i;

	pf_xsnprintf(cf, sizeof(cf), "%s/pool.conf", topdir);
	pf_xsnprintf(dir, sizeof(dir), "%s/pool-cache", topdir);
	cache_build(dir, 0, true);
	pf_write_file(cf, "cache_dir = %s\nmax_stale = 3600\n", dir);
	pf_xsnprintf(a, sizeof(a), "config=%s", cf);
	service("t-pool", a);
	for (i = 0; i < 3; i++)    /* the second and third reuse the context */
		ck_assert_int_eq(auth("t-pool", "alice", tokens[T_GOOD]),
		    PAM_SUCCESS);
	/* config edited: now points at a missing cache */
	pf_write_file(cf, "cache_dir = %s/nowhere\n", topdir);
	ck_assert_int_eq(auth("t-pool", "alice", tokens[T_GOOD]),
	    PAM_AUTHINFO_UNAVAIL);
	pf_write_file(cf, "cache_dir = %s\nmax_stale = 3600\n", dir);
	ck_assert_int_eq(auth("t-pool", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	/* cache removed: a pooled context must not answer from the old
	 * mapping of deleted files */
	pf_rm_rf(dir);
	ck_assert_int_eq(auth("t-pool", "alice", tokens[T_GOOD]),
	    PAM_AUTHINFO_UNAVAIL);
	/* re-created (new files, new hash key): used at once */
	cache_build(dir, 0, true);
	ck_assert_int_eq(auth("t-pool", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-pool", "alice", tokens[T_WRONG]), PAM_AUTH_ERR);
}
END_TEST

/* Several threads in one host (a threaded server) share the context pool:
 * a context is leased to one thread at a time, every answer is right. */
struct thread_arg {
	int ok, bad;
};

static void *
conversations(void *p)
{
	struct thread_arg *t = p;
	int i;

	for (i = 0; i < 150; i++) {
		if (auth("t-threads", "alice", tokens[i % 3 ? T_GOOD : T_WRONG]) ==
		    (i % 3 ? PAM_SUCCESS : PAM_AUTH_ERR))
			t->ok++;
		else
			t->bad++;
	}
	return NULL;
}

START_TEST(threads_share_the_pool)
{
	struct thread_arg ta[4];
	pthread_t th[4];
	int i;

	service("t-threads", args(NULL));
	memset(ta, 0, sizeof(ta));
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, conversations,
		    &ta[i]), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(ta[i].bad, 0);
		ck_assert_int_eq(ta[i].ok, 150);
	}
}
END_TEST

/*
 * Finding 3 of the security review: one process, two PAM services on the
 * same config (different arguments: two pooled contexts).  The cache is
 * removed and made again (as the error messages advise), the token
 * enrolled again and then revoked: both services must refuse it.  The
 * first design shared one LMDB environment per directory, keyed by the
 * directory alone, and one of them kept deciding from the deleted files.
 */
START_TEST(two_services_see_a_recreated_cache)
{
	char cf[PATH_MAX], dir[PATH_MAX], a1[PATH_MAX * 2], a2[PATH_MAX * 2];
	struct aivenauth_ctx *w;
	char prefix[FX_PREFIX_LEN + 1];

	pf_xsnprintf(cf, sizeof(cf), "%s/two.conf", topdir);
	pf_xsnprintf(dir, sizeof(dir), "%s/two-cache", topdir);
	cache_build(dir, 0, true);
	pf_write_file(cf, "cache_dir = %s\nmax_stale = 3600\n", dir);
	pf_xsnprintf(a1, sizeof(a1), "config=%s", cf);
	pf_xsnprintf(a2, sizeof(a2), "config=%s scope=projects:read", cf);
	service("t-two-a", a1);
	service("t-two-b", a2);
	ck_assert_int_eq(auth("t-two-a", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-two-b", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	/* The files go, the directory stays (rm cache_dir/..., sync). */
	{
		char cmd[PATH_MAX * 2];

		pf_xsnprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	cache_build(dir, 0, true);
	ck_assert_int_eq(auth("t-two-a", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(auth("t-two-b", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	ck_assert_int_eq(aivenauth_ctx_new(&w), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(w, "cache_dir", dir), AIVENAUTH_OK);
	memcpy(prefix, tokens[T_GOOD], FX_PREFIX_LEN);
	prefix[FX_PREFIX_LEN] = '\0';
	ck_assert_int_eq(aivenauth_cache_revoke(w, prefix, 0), AIVENAUTH_OK);
	aivenauth_ctx_free(w);
	ck_assert_int_eq(auth("t-two-a", "alice", tokens[T_GOOD]), PAM_AUTH_ERR);
	ck_assert_int_eq(auth("t-two-b", "alice", tokens[T_GOOD]), PAM_AUTH_ERR);
}
END_TEST

/*
 * Finding 4: threads running conversations while a writer (another
 * process) grows the cache far past the map readers first saw (100 -> 60k
 * -> 180k tokens, past LMDB's initial 64 MiB).  The first design resized
 * a shared environment's map under other threads' feet (SIGSEGV in
 * mdb_txn_begin).  Readers now map immutable snapshots: every answer
 * right, no crash.
 */
static volatile int grower_done;

static void *
conversations_until_done(void *p)
{
	struct thread_arg *t = p;
	int i = 0;

	while (!__atomic_load_n(&grower_done, __ATOMIC_ACQUIRE) || i < 30) {
		int want = i % 3 ? PAM_SUCCESS : PAM_AUTH_ERR;

		if (auth("t-grow", "alice", tokens[i % 3 ? T_GOOD : T_WRONG]) == want)
			t->ok++;
		else
			t->bad++;
		i++;
	}
	return NULL;
}

static void
grow_cache(const char *dir, size_t n)
{
	struct aivenauth_ctx *w;
	struct fx_snap f;
	char id[64], t[FX_TOKEN_LEN + 1];
	size_t i;
	static const char *const names[] = { "alice", "bob", "nobody" };

	ck_assert_int_eq(aivenauth_ctx_new(&w), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(w, "cache_dir", dir), AIVENAUTH_OK);
	fx_snap_init(&f);
	for (i = 0; i < 3; i++) {
		struct aivenauth_user *u;

		pf_xsnprintf(id, sizeof(id), "u-%s", names[i]);
		u = fx_add_user(&f, id, names[i]);
		free(u->email);
		pf_xsnprintf(id, sizeof(id), "%s@example.com", names[i]);
		u->email = strdup(id);
		ck_assert_ptr_nonnull(u->email);
	}
	fx_add_token(&f, "u-alice", tokens[T_GOOD]);
	for (i = 0; i < n; i++) {
		fx_token(t, 'g');
		fx_add_token(&f, "u-bob", t);
	}
	f.s.organization_id = "org-check";
	ck_assert_int_eq(aivenauth_cache_apply(w, &f.s, 0, NULL), AIVENAUTH_OK);
	fx_snap_free(&f);
	aivenauth_ctx_free(w);
}

START_TEST(threads_while_the_cache_grows)
{
	char cf[PATH_MAX], dir[PATH_MAX], a[PATH_MAX * 2];
	struct thread_arg ta[4];
	pthread_t th[4];
	int i, status, go[2];
	pid_t pid;

	pf_xsnprintf(cf, sizeof(cf), "%s/grow.conf", topdir);
	pf_xsnprintf(dir, sizeof(dir), "%s/grow-cache", topdir);
	cache_build(dir, 0, false);
	pf_write_file(cf, "cache_dir = %s\nmax_stale = 3600\n", dir);
	pf_xsnprintf(a, sizeof(a), "config=%s", cf);
	service("t-grow", a);
	ck_assert_int_eq(auth("t-grow", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	grower_done = 0;
	memset(ta, 0, sizeof(ta));
	/* The writer is forked before any thread exists (a fork beside
	 * running threads copies only one of them), and ends by exec so that
	 * no exit handler or leak check of this process runs in it. */
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		grow_cache(dir, 60000);
		grow_cache(dir, 180000);
		execl("/bin/true", "true", (char *)NULL);
		_exit(0);
	}
	close(go[0]);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL,
		    conversations_until_done, &ta[i]), 0);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	__atomic_store_n(&grower_done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(ta[i].bad, 0);
		ck_assert_int_ge(ta[i].ok, 30);
	}
}
END_TEST

START_TEST(many_conversations)
{
	struct mallinfo2 m0, m1;
	int fd0, fd1, i, rc;

	service("t-many", args(NULL));
	/* Warm up (libpam, libc and dl caches settle). */
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(auth("t-many", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	fd0 = count_fds();
	m0 = mallinfo2();
	for (i = 0; i < 1000; i++) {
		rc = auth("t-many", "alice", tokens[i % 10 ? T_GOOD : T_WRONG]);
		ck_assert_int_eq(rc, i % 10 ? PAM_SUCCESS : PAM_AUTH_ERR);
	}
	fd1 = count_fds();
	m1 = mallinfo2();
	ck_assert_int_eq(fd1, fd0);
	/* Live heap must not grow with the number of calls: allow 64 KiB of
	 * slack for libc/libdl internals. */
	ck_assert_msg(m1.uordblks < m0.uordblks + 65536,
	    "heap grew by %zu bytes over 1000 conversations",
	    m1.uordblks - m0.uordblks);
}
END_TEST

static Suite *
pam_suite(void)
{
	Suite *s = suite_create("pam_aiven");
	TCase *tc = tcase_create("pam_start_confdir");

	/* A bound on a hang, not a speed check: generous enough for an
	 * ASan build on a machine running other suites. */
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, good_token_sets_env);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, user_match_name);
	tcase_add_test(tc, user_match_id);
	tcase_add_test(tc, user_match_email);
	tcase_add_test(tc, user_match_any);
	tcase_add_test(tc, user_match_map);
	tcase_add_test(tc, any_account_changed_to_root);
	tcase_add_test(tc, ip_allowlist);
	tcase_add_test(tc, scopes);
	tcase_add_test(tc, stale_cache);
	tcase_add_test(tc, missing_cache);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, bad_config);
	tcase_add_test(tc, duplicate_arguments);
	tcase_add_test(tc, relative_config);
	tcase_add_test(tc, use_first_pass);
	tcase_add_test(tc, non_token);
	tcase_add_test(tc, non_token_ignore_code);
	tcase_add_test(tc, config_error_spares_people);
	tcase_add_test(tc, account_after_revoke);
	tcase_add_test(tc, account_by_prefix);
	tcase_add_test(tc, account_not_ours);
	tcase_add_test(tc, account_user_changed);
	tcase_add_test(tc, pool_sees_config_and_cache_changes);
	tcase_add_test(tc, threads_share_the_pool);
	tcase_add_test(tc, two_services_see_a_recreated_cache);
	tcase_add_test(tc, threads_while_the_cache_grows);
	tcase_add_test(tc, many_conversations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int nf;

	setvbuf(stdout, NULL, _IONBF, 0);
	fixture_setup();
	sr = srunner_create(pam_suite());
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (getenv("KEEP") == NULL)
		pf_rm_rf(topdir);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
