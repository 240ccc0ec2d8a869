/*
 * check_pamtest.c - pam_aiven.so under pam_wrapper + libpamtest.
 *
 * pam_wrapper needs PAM_WRAPPER=1, PAM_WRAPPER_SERVICE_DIR and
 * LD_PRELOAD=libpam_wrapper.so before the process starts, so when run
 * plainly (as tools/run-tests does) this program makes its private
 * directory and re-executes itself (/proc/self/exe) with that environment.
 * A guard test proves the wrapper is active: without it libpam would fall
 * back to /etc/pam.d/other and the suite would test the wrong thing.
 *
 * libpamtest is loaded with dlopen() (the Makefile links every check_*
 * with the same libraries, libpamtest not among them); its functions are
 * called as _pamtest_conv(), since the run_pamtest_conv() macro of 1.1.4
 * does not compile.  The module's pam_syslog() lines, which pam_wrapper
 * prints on stderr with PAM_WRAPPER_DEBUGLEVEL=2, are captured to check
 * that no token ever reaches a log.
 */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

#include "aivenauth.h"
#include "helpers/pam_fixture.h"

#define SEC PF_SEC
#define PAM_SET_ITEMS PF_PAM_SET_ITEMS
#define DIR_ENV "AIVTEST_PAMTEST_DIR"
/* Token-shaped, as if a token were pasted as a module argument. */
#define PASTED "PastedTokenLookingArgument0123456789abcdefABCDEF+/xyz"

static char topdir[PATH_MAX];
static char svcdir[PATH_MAX];
static char cachedir[PATH_MAX];
static char conf[PATH_MAX];
static char module[PATH_MAX];

enum tok { T_GOOD, T_NET, T_SCOPE, T_EXPIRED, T_REVOKED, T_ACCT, T_BOB,
	T_UNENROLLED, T_UNKNOWN, T_WRONG, T_COUNT };
static char tokens[T_COUNT][FX_TOKEN_LEN + 1];

typedef enum pamtest_err pamtest_conv_fn(const char *, const char *,
    pam_conv_fn, void *, struct pam_testcase[], size_t, pam_handle_t *);
static pamtest_conv_fn *p_pamtest_conv;
static const char *(*p_pamtest_strerror)(enum pamtest_err);

static char *
prefix_of(enum tok t, char *buf)
{
	return pf_prefix(tokens[t], buf);
}

/* ------------------------------------------------------------ fixture */

static void
cache_build(void)
{
	struct pf_tok t[T_COUNT];
	int i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < T_COUNT; i++) {
		t[i].token = tokens[i];
		t[i].user_id = i == T_UNKNOWN || i == T_WRONG ? NULL :
		    i == T_BOB ? "u-bob" : "u-alice";
		t[i].unenrolled = i == T_UNENROLLED;
		t[i].revoked = i == T_REVOKED;
		t[i].expired = i == T_EXPIRED;
		if (i == T_NET) {
			t[i].allow[0] = "127.0.0.0/8";
			t[i].allow[1] = "::1/128";
		}
		if (i == T_SCOPE)
			t[i].scope = "pam:sshd";
	}
	pf_cache_build(&(struct pf_cache){ .dir = cachedir,
	    .org_id = "org-pamtest", .n_users = 2, .toks = t, .n_toks = T_COUNT });
}

/* Service name -> "auth" line arguments (beyond config=). */
static const struct {
	const char *name;
	const char *args;
} services[] = {
	{ "aivtest", "" },
	{ "aivtest-scope", "scope=pam:sshd" },
	{ "aivtest-scope2", "scope=pam:nginx" },
	{ "aivtest-nocache", "cache_dir=/nonexistent/aivenauth" },
	{ "aivtest-badarg", "frobnicate" },
	{ "aivtest-any", "user_match=any" },
	/* A token pasted into the service file by mistake. */
	{ "aivtest-pasted", PASTED },
	/* The last one would win and let alice's token log in as root. */
	{ "aivtest-dup", "user_match=name user_match=any" },
	/* Typos: "did you mean" names the argument or value meant. */
	{ "aivtest-typo-arg", "scpoe=projects:read" },
	{ "aivtest-typo-key", "max_stal=1h" },
	{ "aivtest-typo-value", "non_token=ingore" },
	{ "aivtest-typo-match", "user_match=nmae" },
	{ "aivtest-typo-far", "frobnicate" },
};

/* Paths under topdir and the module's path. */
static void
fixture_paths(void)
{
	pf_module_path(module, sizeof(module));
	pf_xsnprintf(svcdir, sizeof(svcdir), "%s/services", topdir);
	pf_xsnprintf(cachedir, sizeof(cachedir), "%s/cache", topdir);
	pf_xsnprintf(conf, sizeof(conf), "%s/aivenauth.conf", topdir);
}

/*
 * The service files, written before the re-exec: pam_wrapper may copy the
 * directory as soon as it is loaded (and does again in each forked test),
 * so they must exist before the program runs under it.
 */
static void
write_services(void)
{
	char path[PATH_MAX];
	size_t i;

	if (mkdir(svcdir, 0755) != 0)
		pf_die("mkdir %s: %s", svcdir, strerror(errno));
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		char a1[PATH_MAX * 2], a2[PATH_MAX];

		pf_xsnprintf(a1, sizeof(a1), "config=%s %s", conf, services[i].args);
		pf_xsnprintf(a2, sizeof(a2), "config=%s", conf);
		pf_service(svcdir, services[i].name, module, a1, a2);
	}
	pf_xsnprintf(path, sizeof(path), "%s/aivtest-nt-ignore", svcdir);
	pf_write_file(path,
	    "auth [success=done ignore=ignore default=die] %s config=%s non_token=ignore\n"
	    "auth required " SEC "/pam_permit.so\n", module, conf);
	pf_xsnprintf(path, sizeof(path), "%s/aivtest-nt-fail", svcdir);
	pf_write_file(path,
	    "auth [success=done ignore=ignore default=die] %s config=%s non_token=fail\n"
	    "auth required " SEC "/pam_permit.so\n", module, conf);
	pf_xsnprintf(path, sizeof(path), "%s/aivtest-ufp", svcdir);
	pf_write_file(path,
	    "auth required " PAM_SET_ITEMS "\n"
	    "auth required %s config=%s use_first_pass\n", module, conf);
	pf_xsnprintf(path, sizeof(path), "%s/aivtest-permit", svcdir);
	pf_write_file(path, "auth required " SEC "/pam_permit.so\n");
	pf_service_other(svcdir);
}

/* Tokens, cache and config, made under the wrapper. */
static void
fixture_setup(void)
{
	fixture_paths();
	pf_tokens(tokens, T_COUNT);
	memcpy(tokens[T_WRONG], tokens[T_GOOD], FX_PREFIX_LEN);
	cache_build();
	pf_write_file(conf, "cache_dir = %s\n", cachedir);
}

/* ------------------------------------------------------------ running */

/*
 * Run the cases on a handle made here (so that PAM_RHOST and a no-op fail
 * delay can be set), through libpamtest.  The handle is kept
 * (PAMTEST_KEEPHANDLE) and ended here.  Returns the libpamtest result.
 */
static enum pamtest_err
run(const char *svc, const char *user, const char *token, const char *rhost,
    struct pam_testcase *tc, size_t n)
{
	struct pf_conv_state cs = { token, 0, 0 };
	struct pam_conv conv = { pf_conv_fn, &cs };
	struct pam_testcase all[8];
	pam_handle_t *pamh = NULL;
	enum pamtest_err perr;
	size_t i;

	ck_assert_uint_lt(n, 8);
	ck_assert_int_eq(pam_start(svc, user, &conv, &pamh), PAM_SUCCESS);
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)pf_no_delay);
	if (rhost != NULL)
		ck_assert_int_eq(pam_set_item(pamh, PAM_RHOST, rhost), PAM_SUCCESS);
	for (i = 0; i < n; i++)
		all[i] = tc[i];
	all[n] = (struct pam_testcase)pam_test(PAMTEST_KEEPHANDLE, 0);
	perr = p_pamtest_conv(svc, user, pf_conv_fn, &cs, all, n + 1, pamh);
	for (i = 0; i < n; i++)
		tc[i] = all[i];
	if (perr != PAMTEST_ERR_OK) {
		for (i = 0; i < n; i++)
			if (tc[i].op_rv != tc[i].expected_rv)
				fprintf(stderr, "%s case %zu: expected %d got %d (%s)\n",
				    svc, i, tc[i].expected_rv, tc[i].op_rv,
				    pam_strerror(pamh, tc[i].op_rv));
	}
	pam_end(pamh, PAM_SUCCESS);
	return perr;
}

/* One authentication expecting `expected`. */
static void
expect_auth(const char *svc, const char *user, const char *token,
    const char *rhost, int expected)
{
	struct pam_testcase t[] = { pam_test(PAMTEST_AUTHENTICATE, expected) };
	enum pamtest_err perr = run(svc, user, token, rhost, t, 1);

	ck_assert_msg(perr == PAMTEST_ERR_OK, "%s user %s rhost %s: expected %d, "
	    "got %d: %s", svc, user, rhost ? rhost : "-", expected, t[0].op_rv,
	    p_pamtest_strerror(perr));
}

/* ------------------------------------------------------------ tests */

START_TEST(wrapper_active)
{
	const char *v = getenv("PAM_WRAPPER"), *pre = getenv("LD_PRELOAD");

	ck_assert_str_eq(v != NULL ? v : "", "1");
	ck_assert_ptr_nonnull(pre);
	ck_assert_ptr_nonnull(strstr(pre, "libpam_wrapper"));
	/* The private directory is what libpam reads. */
	expect_auth("aivtest-permit", "alice", "x", NULL, PAM_SUCCESS);
	expect_auth("no-such-service", "alice", "x", NULL, PAM_AUTH_ERR);
}
END_TEST

START_TEST(good_token_env)
{
	struct pam_testcase t[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
		pam_test(PAMTEST_SETCRED, PAM_SUCCESS),
		pam_test(PAMTEST_GETENVLIST, 0),
	};
	char want[64], p[FX_PREFIX_LEN + 1];
	bool id = false, name = false, prefix = false;
	char **env;
	size_t i;

	ck_assert_int_eq(run("aivtest", "alice", tokens[T_GOOD], NULL, t, 4),
	    PAMTEST_ERR_OK);
	env = t[3].case_out.envlist;
	ck_assert_ptr_nonnull(env);
	pf_xsnprintf(want, sizeof(want), "AIVEN_TOKEN_PREFIX=%s", prefix_of(T_GOOD, p));
	for (i = 0; env[i] != NULL; i++) {
		id |= strcmp(env[i], "AIVEN_USER_ID=u-alice") == 0;
		name |= strcmp(env[i], "AIVEN_USER_NAME=alice") == 0;
		prefix |= strcmp(env[i], want) == 0;
		ck_assert_ptr_null(strstr(env[i], tokens[T_GOOD] + FX_PREFIX_LEN));
	}
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
	ck_assert(id && name && prefix);
}
END_TEST

START_TEST(refusals)
{
	expect_auth("aivtest", "alice", tokens[T_WRONG], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", tokens[T_UNKNOWN], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", tokens[T_REVOKED], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", tokens[T_EXPIRED], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", tokens[T_UNENROLLED], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", "wrong", NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", "", NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", NULL, NULL, PAM_AUTH_ERR);
}
END_TEST

START_TEST(user_match)
{
	expect_auth("aivtest", "bob", tokens[T_GOOD], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "bob", tokens[T_BOB], NULL, PAM_SUCCESS);
	expect_auth("aivtest", "alice", tokens[T_BOB], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest-any", "someone", tokens[T_GOOD], NULL, PAM_SUCCESS);
}
END_TEST

START_TEST(ip_allowlist)
{
	expect_auth("aivtest", "alice", tokens[T_NET], "127.0.0.1", PAM_SUCCESS);
	expect_auth("aivtest", "alice", tokens[T_NET], "::1", PAM_SUCCESS);
	expect_auth("aivtest", "alice", tokens[T_NET], "192.0.2.7", PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", tokens[T_NET], "2001:db8::7", PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", tokens[T_NET], "localhost", PAM_AUTH_ERR);
}
END_TEST

START_TEST(scopes)
{
	expect_auth("aivtest-scope", "alice", tokens[T_SCOPE], NULL, PAM_SUCCESS);
	expect_auth("aivtest-scope2", "alice", tokens[T_SCOPE], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest-scope2", "alice", tokens[T_GOOD], NULL, PAM_SUCCESS);
}
END_TEST

START_TEST(unavailable_and_config)
{
	expect_auth("aivtest-nocache", "alice", tokens[T_GOOD], NULL,
	    PAM_AUTHINFO_UNAVAIL);
	expect_auth("aivtest-badarg", "alice", tokens[T_GOOD], NULL,
	    PAM_SERVICE_ERR);
}
END_TEST

START_TEST(non_token)
{
	expect_auth("aivtest-nt-ignore", "alice", "my-unix-password", NULL,
	    PAM_SUCCESS);
	expect_auth("aivtest-nt-fail", "alice", "my-unix-password", NULL,
	    PAM_AUTH_ERR);
	expect_auth("aivtest-nt-ignore", "alice", tokens[T_WRONG], NULL,
	    PAM_AUTH_ERR);
}
END_TEST

START_TEST(use_first_pass)
{
	setenv("PAM_AUTHTOK", tokens[T_GOOD], 1);
	/* No answer in the conversation: only the stacked item can work. */
	expect_auth("aivtest-ufp", "alice", NULL, NULL, PAM_SUCCESS);
	setenv("PAM_AUTHTOK", tokens[T_WRONG], 1);
	expect_auth("aivtest-ufp", "alice", tokens[T_GOOD], NULL, PAM_AUTH_ERR);
	unsetenv("PAM_AUTHTOK");
	expect_auth("aivtest-ufp", "alice", tokens[T_GOOD], NULL, PAM_AUTH_ERR);
}
END_TEST

START_TEST(account_after_revoke)
{
	struct pf_conv_state cs = { tokens[T_ACCT], 0, 0 };
	struct pam_conv conv = { pf_conv_fn, &cs };
	struct pam_testcase t[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
		pam_test(PAMTEST_KEEPHANDLE, 0),
	};
	struct aivenauth_ctx *ctx = NULL;
	pam_handle_t *pamh = NULL;
	char p[FX_PREFIX_LEN + 1];

	ck_assert_int_eq(pam_start("aivtest", "alice", &conv, &pamh), PAM_SUCCESS);
	ck_assert_int_eq(p_pamtest_conv("aivtest", "alice", pf_conv_fn, &cs, t, 3,
	    pamh), PAMTEST_ERR_OK);

	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "cache_dir", cachedir),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDWR),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_revoke(ctx, prefix_of(T_ACCT, p), 0),
	    AIVENAUTH_OK);
	aivenauth_ctx_free(ctx);

	ck_assert_int_eq(pam_acct_mgmt(pamh, 0), PAM_ACCT_EXPIRED);
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

/* Everything the module logged (pam_wrapper: stderr) for a good, a wrong
 * and a not-token-shaped password: prefixes and reasons, no secret. */
START_TEST(logs_have_no_secret)
{
	char path[PATH_MAX], p[FX_PREFIX_LEN + 1], *log;
	static const char password[] = "Correct-Horse-Battery-Staple";
	FILE *f;
	long sz;
	int fd, saved;

	pf_xsnprintf(path, sizeof(path), "%s/log.%d", topdir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(2);
	dup2(fd, 2);
	expect_auth("aivtest", "alice", tokens[T_GOOD], "127.0.0.1", PAM_SUCCESS);
	expect_auth("aivtest", "alice", tokens[T_WRONG], "127.0.0.1", PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", tokens[T_REVOKED], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest", "alice", password, NULL, PAM_AUTH_ERR);
	expect_auth("aivtest-nt-ignore", "alice", password, NULL, PAM_SUCCESS);
	expect_auth("aivtest-pasted", "alice", tokens[T_GOOD], NULL, PAM_SERVICE_ERR);
	/* The token typed as the user name. */
	expect_auth("aivtest", tokens[T_BOB], tokens[T_BOB], NULL, PAM_AUTH_ERR);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);

	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	log = calloc(1, (size_t)sz + 1);
	ck_assert_ptr_nonnull(log);
	ck_assert_int_eq(fread(log, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	unlink(path);

	ck_assert_msg(strstr(log, "decision=accepted") != NULL,
	    "no success line in: %s", log);
	ck_assert_ptr_nonnull(strstr(log, "decision=denied"));
	ck_assert_ptr_nonnull(strstr(log, prefix_of(T_GOOD, p)));
	ck_assert_ptr_nonnull(strstr(log, "rhost=127.0.0.1"));
	/* No token, no secret part of one, no part of a password. */
	ck_assert_ptr_null(strstr(log, tokens[T_GOOD] + FX_PREFIX_LEN));
	ck_assert_ptr_null(strstr(log, tokens[T_WRONG] + FX_PREFIX_LEN));
	ck_assert_ptr_null(strstr(log, tokens[T_REVOKED] + FX_PREFIX_LEN));
	ck_assert_ptr_null(strstr(log, password));
	ck_assert_ptr_null(strstr(log, "Correct-Horse"));
	ck_assert_ptr_null(strstr(log, "PastedToken"));
	ck_assert_ptr_null(strstr(log, tokens[T_BOB] + FX_PREFIX_LEN));
	ck_assert_ptr_nonnull(strstr(log, "user=(token-shaped,not-logged,len=372)"));
	ck_assert_ptr_nonnull(strstr(log, "token-shaped: not logged"));
	free(log);
}
END_TEST

/* Start sending stderr (pam_wrapper's pam_syslog lines) to a file. */
static int
log_begin(char *path, size_t size, int *saved)
{
	int fd;

	pf_xsnprintf(path, size, "%s/log.%d", topdir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	*saved = dup(2);
	dup2(fd, 2);
	return fd;
}

/* Stop, and return what was logged (malloc'd). */
static char *
log_end(const char *path, int fd, int saved)
{
	FILE *f;
	long sz;
	char *log;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	log = calloc(1, (size_t)sz + 1);
	ck_assert_ptr_nonnull(log);
	ck_assert_int_eq(fread(log, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	unlink(path);
	return log;
}

/* No 20-character piece of tok anywhere in log. */
static void
assert_no_piece(const char *log, const char *tok, const char *what)
{
	size_t i, n = strlen(tok);

	for (i = 0; i + 20 <= n; i++)
		ck_assert_msg(memmem(log, strlen(log), tok + i, 20) == NULL,
		    "%s: 20 characters of the token at offset %zu logged:\n%s",
		    what, i, log);
}

/*
 * Client-controlled fields that hold a token with something around it (a
 * character more is no longer token-shaped as a whole): user and rhost.
 * No piece of it is logged, only its length.
 */
START_TEST(logs_redact_token_runs)
{
	char path[PATH_MAX], user[FX_TOKEN_LEN + 8], rhost[FX_TOKEN_LEN + 8];
	char *log;
	int fd, saved;

	pf_xsnprintf(user, sizeof(user), "%s!", tokens[T_UNKNOWN]);
	pf_xsnprintf(rhost, sizeof(rhost), "x.%s", tokens[T_UNENROLLED]);
	fd = log_begin(path, sizeof(path), &saved);
	expect_auth("aivtest", user, tokens[T_GOOD], NULL, PAM_AUTH_ERR);
	expect_auth("aivtest-any", user, tokens[T_GOOD], rhost, PAM_SUCCESS);
	log = log_end(path, fd, saved);

	assert_no_piece(log, tokens[T_UNKNOWN], "user");
	assert_no_piece(log, tokens[T_UNENROLLED], "rhost");
	ck_assert_msg(strstr(log, "user=(token-shaped,not-logged,len=373)") != NULL,
	    "no redacted user in:\n%s", log);
	ck_assert_ptr_nonnull(strstr(log, "rhost=(token-shaped,not-logged,len=374)"));
	free(log);
}
END_TEST

/* A repeated module argument is refused with a line that names it. */
START_TEST(logs_name_duplicate_argument)
{
	char path[PATH_MAX], *log;
	int fd, saved;

	fd = log_begin(path, sizeof(path), &saved);
	expect_auth("aivtest-dup", "root", tokens[T_GOOD], NULL, PAM_SERVICE_ERR);
	log = log_end(path, fd, saved);
	ck_assert_msg(strstr(log, "module argument \"user_match\" given twice")
	    != NULL, "no duplicate-argument line in:\n%s", log);
	free(log);
}
END_TEST

/* Each typo is refused with a line naming what was probably meant, and a
 * word close to nothing gets no guess. */
START_TEST(logs_suggest_what_was_meant)
{
	static const struct {
		const char *svc, *line;
	} want[] = {
		{ "aivtest-typo-arg", "unknown module argument \"scpoe\" "
		    "(did you mean \"scope\"?)" },
		{ "aivtest-typo-key", "unknown module argument \"max_stal\" "
		    "(did you mean \"max_stale\"?)" },
		{ "aivtest-typo-value", "module argument non_token: invalid "
		    "value \"ingore\" (did you mean \"ignore\"?)" },
		{ "aivtest-typo-match", "module argument user_match: invalid "
		    "value \"nmae\" (did you mean \"name\"?)" },
	};
	char path[PATH_MAX], *log;
	size_t i;
	int fd, saved;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		fd = log_begin(path, sizeof(path), &saved);
		expect_auth(want[i].svc, "alice", tokens[T_GOOD], NULL,
		    PAM_SERVICE_ERR);
		log = log_end(path, fd, saved);
		ck_assert_msg(strstr(log, want[i].line) != NULL,
		    "%s: no line\n  %s\nin:\n%s", want[i].svc, want[i].line, log);
		free(log);
	}
	fd = log_begin(path, sizeof(path), &saved);
	expect_auth("aivtest-typo-far", "alice", tokens[T_GOOD], NULL,
	    PAM_SERVICE_ERR);
	log = log_end(path, fd, saved);
	ck_assert_msg(strstr(log, "unknown module argument \"frobnicate\"") !=
	    NULL, "no unknown-argument line in:\n%s", log);
	ck_assert_msg(strstr(log, "did you mean") == NULL,
	    "a guess for a word close to nothing:\n%s", log);
	free(log);
}
END_TEST

/*
 * With its configuration broken the module says so once per login, with
 * what it did: a token refused (error), a password that is not
 * token-shaped left to the rest of the stack (ignored), none of it logged.
 */
START_TEST(logs_config_error_decisions)
{
	char path[PATH_MAX], *log;
	int fd, saved;

	fd = log_begin(path, sizeof(path), &saved);
	expect_auth("aivtest-typo-value", "alice", tokens[T_GOOD], NULL,
	    PAM_SERVICE_ERR);
	expect_auth("aivtest-typo-value", "alice", "Correct-Horse-9", NULL,
	    PAM_PERM_DENIED);
	log = log_end(path, fd, saved);
	ck_assert_msg(strstr(log, "user=alice rhost=- decision=error reason=error "
	    "error=\"invalid configuration\"") != NULL,
	    "no refusal line in:\n%s", log);
	ck_assert_msg(strstr(log, "user=alice rhost=- decision=ignored "
	    "reason=not-token-shaped error=\"invalid configuration\"") != NULL,
	    "no ignored line in:\n%s", log);
	assert_no_piece(log, tokens[T_GOOD], "token");
	ck_assert_ptr_null(strstr(log, "Correct-Horse"));
	free(log);
}
END_TEST

/* ------------------------------------------------------------ main */

#if defined(__SANITIZE_ADDRESS__)
/* libpam_wrapper's constructor strdup()s two strings it never frees;
 * allocations made while loading a library are not the module's. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:call_init\n";
}

/* An ASan build must keep libasan first in LD_PRELOAD (before
 * libpam_wrapper.so, which then drops RTLD_DEEPBIND by itself). */
static int
find_asan(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libasan.so") != NULL) {
		pf_xsnprintf(arg, PATH_MAX, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}
#endif

/* Not under the wrapper yet: make the directory, set the environment and
 * run again. */
static void
reexec(char **argv)
{
	const char *pre = getenv("LD_PRELOAD");
	char preload[PATH_MAX * 2], svc[PATH_MAX], self[PATH_MAX];
	ssize_t n;

	pf_mkdtemp(topdir, sizeof(topdir), "check_pamtest");
	fixture_paths();
	write_services();
	pf_xsnprintf(svc, sizeof(svc), "%s", svcdir);
	/* Keep an existing preload (libasan must stay first). */
#if defined(__SANITIZE_ADDRESS__)
	char asan[PATH_MAX] = "";

	if ((pre == NULL || strstr(pre, "libasan") == NULL) &&
	    dl_iterate_phdr(find_asan, asan) != 0 && asan[0] != '\0')
		pre = asan;
#endif
	/* valgrind's own preloads would break the program run natively. */
	if (pre != NULL && strstr(pre, "vgpreload") != NULL)
		pre = NULL;
	if (pre != NULL && *pre != '\0')
		pf_xsnprintf(preload, sizeof(preload), "%s libpam_wrapper.so", pre);
	else
		pf_xsnprintf(preload, sizeof(preload), "libpam_wrapper.so");
	if (setenv(DIR_ENV, topdir, 1) != 0 ||
	    setenv("PAM_WRAPPER", "1", 1) != 0 ||
	    setenv("PAM_WRAPPER_SERVICE_DIR", svc, 1) != 0 ||
	    setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1) != 0 ||
	    setenv("LD_PRELOAD", preload, 1) != 0)
		pf_die("setenv: %s", strerror(errno));
	/* The path, not /proc/self/exe itself: under valgrind that is the
	 * tool.  (valgrind does not follow the exec without
	 * --trace-children=yes: the suite then runs natively.) */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		pf_die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	execv(self, argv);
	pf_die("execv %s: %s", self, strerror(errno));
}

int
main(int argc, char **argv)
{
	const char *d = getenv(DIR_ENV);
	void *lib;
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int nf;

	(void)argc;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (d == NULL || *d == '\0')
		reexec(argv);
	pf_xsnprintf(topdir, sizeof(topdir), "%s", d);

	lib = dlopen("libpamtest.so.SOVERSION", RTLD_NOW);
	if (lib == NULL)
		lib = dlopen("libpamtest.so.0", RTLD_NOW);
	if (lib == NULL)
		lib = dlopen("libpamtest.so", RTLD_NOW);
	if (lib == NULL)
		pf_die("libpamtest: %s (package libpamtest0-dev)", dlerror());
	p_pamtest_conv = (pamtest_conv_fn *)dlsym(lib, "_pamtest_conv");
	*(void **)&p_pamtest_strerror = dlsym(lib, "pamtest_strerror");
	if (p_pamtest_conv == NULL || p_pamtest_strerror == NULL)
		pf_die("libpamtest: %s", dlerror());

	fixture_setup();
	s = suite_create("pam_aiven (pam_wrapper + libpamtest)");
	tc = tcase_create("pamtest");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, wrapper_active);
	tcase_add_test(tc, good_token_env);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, user_match);
	tcase_add_test(tc, ip_allowlist);
	tcase_add_test(tc, scopes);
	tcase_add_test(tc, unavailable_and_config);
	tcase_add_test(tc, non_token);
	tcase_add_test(tc, use_first_pass);
	tcase_add_test(tc, account_after_revoke);
	tcase_add_test(tc, logs_have_no_secret);
	tcase_add_test(tc, logs_redact_token_runs);
	tcase_add_test(tc, logs_name_duplicate_argument);
	tcase_add_test(tc, logs_suggest_what_was_meant);
	tcase_add_test(tc, logs_config_error_decisions);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (getenv("KEEP") == NULL)
		pf_rm_rf(topdir);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
