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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "aivenauth.h"

#define TOKEN_LEN 372
#define PREFIX_LEN 12
#define PAM_SET_ITEMS "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so"
#define PAM_PERMIT "/usr/lib/x86_64-linux-gnu/security/pam_permit.so"
#define PAM_DENY "/usr/lib/x86_64-linux-gnu/security/pam_deny.so"

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
static char tokens[T_COUNT][TOKEN_LEN + 1];

/* ------------------------------------------------------------ helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "check_pam: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* snprintf that dies on truncation (and keeps gcc's truncation analysis
 * quiet: the result is checked). */
static void xsnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("path or text too long");
}

/* A token-shaped random string over the whole base64 alphabet, so that
 * prefixes contain '+' and '/' too. */
static void
make_token(char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[TOKEN_LEN];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t i;

	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		die("/dev/urandom: %s", strerror(errno));
	close(fd);
	for (i = 0; i < TOKEN_LEN; i++)
		out[i] = b64[raw[i] & 63];
	out[TOKEN_LEN] = '\0';
}

static char *
prefix_of(enum tok t, char *buf)
{
	memcpy(buf, tokens[t], PREFIX_LEN);
	buf[PREFIX_LEN] = '\0';
	return buf;
}

static void write_file(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
write_file(const char *path, const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
	chmod(path, 0644);
}

/* Service `name`: pam_aiven.so with `args` for auth and account. */
static void
service(const char *name, const char *args)
{
	char path[PATH_MAX];

	xsnprintf(path, sizeof(path), "%s/%s", confdir, name);
	write_file(path,
	    "auth     required  %s %s\n"
	    "account  required  %s %s\n"
	    "session  required  " PAM_PERMIT "\n"
	    "password required  " PAM_DENY "\n",
	    module, args, module, args);
}

/* Service file with free-form content. */
static void
service_raw(const char *name, const char *content)
{
	char path[PATH_MAX];

	xsnprintf(path, sizeof(path), "%s/%s", confdir, name);
	write_file(path, "%s", content);
}

struct conv_state {
	const char *answer;     /* NULL: the conversation fails */
	int prompts;            /* echo-off/on prompts seen */
	int errors;             /* PAM_ERROR_MSG seen */
};

static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	struct conv_state *cs = appdata;
	struct pam_response *r;
	int i;

	if (n <= 0)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			cs->prompts++;
			if (cs->answer == NULL)
				goto fail;
			if ((r[i].resp = strdup(cs->answer)) == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
			cs->errors++;
			break;
		default:
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	while (i-- > 0)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

/* No 2 s pam_fail_delay() in tests. */
static void
no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)retval;
	(void)usec_delay;
	(void)appdata;
}

static pam_handle_t *
start(const char *svc, const char *user, struct conv_state *cs,
    const char *rhost)
{
	struct pam_conv conv = { conv_fn, cs };
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(svc, user, &conv, confdir, &pamh);
	ck_assert_int_eq(rc, PAM_SUCCESS);
	rc = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
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
	struct conv_state cs = { token, 0, 0 };
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

static void
cache_build(const char *dir, int64_t now, bool full)
{
	struct aivenauth_ctx *ctx = NULL;
	struct aivenauth_user users[3];
	struct aivenauth_token toks[T_COUNT];
	struct aivenauth_snapshot snap;
	struct aivenauth_apply_stats stats;
	char prefixes[T_COUNT][PREFIX_LEN + 1];
	char *net_allow[] = { "10.0.0.0/8", "2001:db8::/32" };
	char *scopes[] = { "pam:sshd" };
	enum aivenauth_status st;
	size_t n = 0;
	int i;

	/* now == 0: apply stamps the sync with time(NULL); the records'
	 * times are relative to the same instant. */
	if (now == 0)
		now = (int64_t)time(NULL);
	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK)
		die("aivenauth_ctx_new");
	if (aivenauth_config_set(ctx, "cache_dir", dir) != AIVENAUTH_OK)
		die("config_set cache_dir");
	st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR | AIVENAUTH_OPEN_CREATE);
	if (st != AIVENAUTH_OK)
		die("cache_open %s: %s", dir, aivenauth_strerror(st));

	memset(users, 0, sizeof(users));
	users[0] = (struct aivenauth_user){ "u-alice", "alice",
	    "alice@example.com", now - 86400 };
	users[1] = (struct aivenauth_user){ "u-bob", "bob", "bob@example.com",
	    now - 86400 };
	users[2] = (struct aivenauth_user){ "u-nobody", "nobody",
	    "nobody@example.com", now - 86400 };

	memset(toks, 0, sizeof(toks));
	for (i = 0; i < T_COUNT; i++) {
		struct aivenauth_token *t;

		if (i == T_UNKNOWN || i == T_WRONG)
			continue;
		if (!full && i != T_GOOD)
			continue;
		t = &toks[n++];
		t->prefix = prefix_of((enum tok)i, prefixes[i]);
		t->user_id = i == T_BOB ? "u-bob" : "u-alice";
		t->description = "check_pam";
		t->create_time = now - 3600 * 2;
		t->currently_active = true;
		if (i == T_NET) {
			t->ip_allowlist = net_allow;
			t->n_ip_allowlist = 2;
		}
		if (i == T_SCOPE) {
			t->scopes = scopes;
			t->n_scopes = 1;
		}
		if (i == T_EXPIRED) {
			t->expiry_time = now - 3600;
			t->max_age_seconds = 3600;
		}
	}
	memset(&snap, 0, sizeof(snap));
	snap.organization_id = "org-check";
	snap.users = users;
	snap.n_users = 3;
	snap.tokens = toks;
	snap.n_tokens = n;
	st = aivenauth_cache_apply(ctx, &snap, now, &stats);
	if (st != AIVENAUTH_OK)
		die("cache_apply: %s", aivenauth_strerror(st));

	for (i = 0; i < T_COUNT; i++) {
		if (i == T_UNKNOWN || i == T_WRONG || i == T_UNENROLLED)
			continue;
		if (!full && i != T_GOOD)
			continue;
		st = aivenauth_cache_enroll(ctx, i == T_BOB ? "u-bob" : "u-alice",
		    tokens[i], TOKEN_LEN, NULL);
		if (st != AIVENAUTH_OK)
			die("cache_enroll %d: %s", i, aivenauth_strerror(st));
	}
	if (full) {
		st = aivenauth_cache_revoke(ctx, prefix_of(T_REVOKED, prefixes[0]), 0);
		if (st != AIVENAUTH_OK)
			die("cache_revoke: %s", aivenauth_strerror(st));
	}
	aivenauth_ctx_free(ctx);
}

static void
fixture_setup(void)
{
	const char *b = getenv("AIVENAUTH_BUILD");
	char rb[PATH_MAX];
	int i;

	if (b == NULL || *b == '\0')
		b = "./build";
	if (realpath(b, rb) == NULL)
		die("AIVENAUTH_BUILD %s: %s", b, strerror(errno));
	xsnprintf(module, sizeof(module), "%s/pam_aiven.so", rb);
	if (access(module, R_OK) != 0)
		die("%s: %s", module, strerror(errno));

	xsnprintf(topdir, sizeof(topdir), "/tmp/check_pam.XXXXXX");
	if (mkdtemp(topdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	chmod(topdir, 0755);
	xsnprintf(confdir, sizeof(confdir), "%s/pam.d", topdir);
	xsnprintf(cachedir, sizeof(cachedir), "%s/cache", topdir);
	xsnprintf(conf, sizeof(conf), "%s/aivenauth.conf", topdir);
	if (mkdir(confdir, 0755) != 0)
		die("mkdir %s: %s", confdir, strerror(errno));

	for (i = 0; i < T_COUNT; i++)
		make_token(tokens[i]);
	/* Same prefix, different secret. */
	memcpy(tokens[T_WRONG], tokens[T_GOOD], PREFIX_LEN);
	cache_build(cachedir, 0, true);

	write_file(conf, "# check_pam\ncache_dir = %s\nmax_stale = 3600\n",
	    cachedir);
	service_raw("other", "auth required " PAM_DENY "\n"
	    "account required " PAM_DENY "\n"
	    "password required " PAM_DENY "\n"
	    "session required " PAM_DENY "\n");
}

static int
rm_cb(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[PATH_MAX];

	if (d == NULL)
		return unlink(path);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		xsnprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_cb(sub);
	}
	closedir(d);
	return rmdir(path);
}

/* "config=<conf> <extra>" */
static const char *
args(const char *extra)
{
	static char buf[PATH_MAX * 2];

	xsnprintf(buf, sizeof(buf), "config=%s %s", conf, extra ? extra : "");
	return buf;
}

/* ------------------------------------------------------------ tests */

START_TEST(good_token_sets_env)
{
	struct conv_state cs = { tokens[T_GOOD], 0, 0 };
	pam_handle_t *pamh;
	const char *v;
	char p[PREFIX_LEN + 1];
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

	xsnprintf(dir, sizeof(dir), "%s/stale", topdir);
	xsnprintf(cf, sizeof(cf), "%s/stale.conf", topdir);
	cache_build(dir, (int64_t)time(NULL) - 1000, false);
	write_file(cf, "cache_dir = %s\nmax_stale = 1\n", dir);
	xsnprintf(a, sizeof(a), "config=%s", cf);
	service("t-stale", a);
	ck_assert_int_eq(auth("t-stale", "alice", tokens[T_GOOD]),
	    PAM_AUTHINFO_UNAVAIL);
	/* An argument overrides the file: max_stale=0 is never stale. */
	xsnprintf(a, sizeof(a), "config=%s max_stale=0", cf);
	service("t-stale-off", a);
	ck_assert_int_eq(auth("t-stale-off", "alice", tokens[T_GOOD]), PAM_SUCCESS);
	xsnprintf(a, sizeof(a), "config=%s max_stale=100000", cf);
	service("t-stale-long", a);
	ck_assert_int_eq(auth("t-stale-long", "alice", tokens[T_GOOD]), PAM_SUCCESS);
}
END_TEST

START_TEST(missing_cache)
{
	char a[PATH_MAX * 2];

	xsnprintf(a, sizeof(a), "config=%s cache_dir=%s/no-such-dir", conf, topdir);
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
		xsnprintf(name, sizeof(name), "t-badarg-%zu", i);
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

START_TEST(bad_config)
{
	char cf[PATH_MAX], a[PATH_MAX * 2];

	xsnprintf(cf, sizeof(cf), "%s/bad.conf", topdir);
	write_file(cf, "cache_dir = %s\nno_such_key = 1\n", cachedir);
	xsnprintf(a, sizeof(a), "config=%s", cf);
	service("t-badconf", a);
	ck_assert_int_eq(auth("t-badconf", "alice", tokens[T_GOOD]), PAM_SERVICE_ERR);

	write_file(cf, "this is not a config file\n");
	ck_assert_int_eq(auth("t-badconf", "alice", tokens[T_GOOD]), PAM_SERVICE_ERR);

	xsnprintf(a, sizeof(a), "config=%s/missing.conf", topdir);
	service("t-noconf", a);
	ck_assert_int_eq(auth("t-noconf", "alice", tokens[T_GOOD]), PAM_SERVICE_ERR);

	/* World-writable: refused as unsafe. */
	write_file(cf, "cache_dir = %s\n", cachedir);
	chmod(cf, 0666);
	xsnprintf(a, sizeof(a), "config=%s", cf);
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
	xsnprintf(buf, sizeof(buf),
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
	xsnprintf(buf, sizeof(buf),
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
	xsnprintf(buf, sizeof(buf),
	    "auth [success=done ignore=ignore default=die] %s %s\n"
	    "auth required " PAM_PERMIT "\n", module, args("non_token=ignore"));
	service_raw("t-nt-ignore", buf);
	xsnprintf(buf, sizeof(buf),
	    "auth [success=done ignore=ignore default=die] %s %s\n"
	    "auth required " PAM_PERMIT "\n", module, args("non_token=fail"));
	service_raw("t-nt-fail", buf);
	xsnprintf(buf, sizeof(buf),
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

START_TEST(account_after_revoke)
{
	struct conv_state cs = { tokens[T_ACCT], 0, 0 };
	struct aivenauth_ctx *ctx = NULL;
	pam_handle_t *pamh;
	char p[PREFIX_LEN + 1];
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
	struct conv_state cs = { tokens[T_ACCT2], 0, 0 };
	struct aivenauth_ctx *ctx = NULL;
	pam_handle_t *pamh;
	char buf[PATH_MAX * 3], p[PREFIX_LEN + 1];
	int rc;

	if (access(PAM_SET_ITEMS, R_OK) != 0) {
		fprintf(stderr, "SKIP: account_by_prefix: %s missing\n", PAM_SET_ITEMS);
		return;
	}
	xsnprintf(buf, sizeof(buf),
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
	struct conv_state cs = { tokens[T_GOOD], 0, 0 };
	pam_handle_t *pamh;
	char buf[PATH_MAX * 3];
	int rc;

	/* Account without our authentication: PAM_IGNORE, so the stack
	 * decides (here pam_permit after [ignore=ignore]). */
	xsnprintf(buf, sizeof(buf),
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
	struct conv_state cs = { tokens[T_GOOD], 0, 0 };
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

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_token_sets_env);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, user_match_name);
	tcase_add_test(tc, user_match_id);
	tcase_add_test(tc, user_match_email);
	tcase_add_test(tc, user_match_any);
	tcase_add_test(tc, ip_allowlist);
	tcase_add_test(tc, scopes);
	tcase_add_test(tc, stale_cache);
	tcase_add_test(tc, missing_cache);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, bad_config);
	tcase_add_test(tc, use_first_pass);
	tcase_add_test(tc, non_token);
	tcase_add_test(tc, non_token_ignore_code);
	tcase_add_test(tc, account_after_revoke);
	tcase_add_test(tc, account_by_prefix);
	tcase_add_test(tc, account_not_ours);
	tcase_add_test(tc, account_user_changed);
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
		rm_cb(topdir);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
