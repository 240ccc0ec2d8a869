/*
 * check_config.c - config.c (keys, file parser, errors with line numbers)
 * and file.c (trusted file reads and their refusals).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "base/internal.h"

static char tmpdir[64];
static char logbuf[16384];
static struct aivenauth_ctx *ctx;

static void
log_cb(void *arg, int level, const char *msg)
{
	size_t n = strlen(logbuf);

	(void)arg;
	(void)level;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	aivenauth_set_log(ctx, log_cb, NULL, LOG_DEBUG);
	logbuf[0] = '\0';
	unsetenv("AIVENAUTH_CONFIG");
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void
teardown(void)
{
	aivenauth_ctx_free(ctx);
	ctx = NULL;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("AIVENAUTH_CONFIG");
}

/* Path of name in the temp dir; one static buffer per call slot. */
static const char *
tpath(const char *name)
{
	static char bufs[4][256];
	static unsigned n;
	char *b = bufs[n++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return b;
}

static const char *
write_file_n(const char *name, const char *text, size_t len, mode_t mode)
{
	const char *p = tpath(name);
	int fd;

	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return p;
}

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	return write_file_n(name, text, strlen(text), mode);
}

#define assert_log(s) \
	ck_assert_msg(strstr(logbuf, (s)) != NULL, \
	    "log lacks \"%s\"; log was:\n%s", (s), logbuf)

static void
assert_get(const char *key, const char *want)
{
	const char *got = aivenauth_config_get(ctx, key);

	if (want == NULL)
		ck_assert_msg(got == NULL, "%s = \"%s\", want unset", key, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "%s = \"%s\", want \"%s\"", key, got ? got : "(null)",
		    want);
}

/* ------------------------------------------------------------ keys */

START_TEST(test_defaults)
{
	assert_get("api_url", "https://api.aiven.io");
	assert_get("organization_id", NULL);
	assert_get("api_token_file", AIVENAUTH_SYSCONFDIR "/aivenauth/api-token");
	assert_get("cache_dir", "/var/lib/aivenauth");
	assert_get("ca_file", NULL);
	assert_get("max_stale", "86400");
	assert_get("timeout", "10");
	assert_get("connect_timeout", "5");
	assert_get("max_parallel", "16");
	assert_get("online", "off");
	assert_get("nosuchkey", NULL);
	assert_get("source", NULL);
	ck_assert_ptr_null(aivenauth_config_get(ctx, NULL));
	ck_assert_ptr_null(aivenauth_config_get(NULL, "timeout"));
	ck_assert_ptr_null(ctx->cfg.source);
}
END_TEST

START_TEST(test_is_key)
{
	static const char *const keys[] = { "api_url", "organization_id",
	    "api_token_file", "cache_dir", "ca_file", "max_stale", "timeout",
	    "connect_timeout", "max_parallel", "online" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		ck_assert_msg(aivenauth_config_is_key(keys[i]), "%s", keys[i]);
	ck_assert(!aivenauth_config_is_key("config"));
	ck_assert(!aivenauth_config_is_key("debug"));
	ck_assert(!aivenauth_config_is_key("source"));
	ck_assert(!aivenauth_config_is_key("Timeout"));
	ck_assert(!aivenauth_config_is_key(""));
	ck_assert(!aivenauth_config_is_key(NULL));
}
END_TEST

static char long_org[66], long_path[4100], max_path[4097];

static void
init_long_values(void)
{
	memset(long_org, 'a', 65);
	long_org[65] = '\0';
	long_path[0] = '/';
	memset(long_path + 1, 'p', 4096);
	long_path[4097] = '\0';
	max_path[0] = '/';
	memset(max_path + 1, 'p', 4095);
	max_path[4096] = '\0';
}

static const struct {
	const char *key, *value, *want;   /* want NULL: same as value */
} good_values[] = {
	{ "api_url", "https://api.aiven.io", NULL },
	{ "api_url", "https://api.aiven.io/", "https://api.aiven.io" },
	{ "api_url", "https://example.com:8443/base//", "https://example.com:8443/base" },
	{ "api_url", "http://127.0.0.1:8080", NULL },
	{ "api_url", "http://localhost:1/x", NULL },
	{ "api_url", "http://[::1]:9000/", "http://[::1]:9000" },
	{ "api_url", "http://127.0.0.1", NULL },
	{ "api_url", "HTTPS://Api.Example.com", "https://Api.Example.com" },
	{ "api_url", "https://[2001:db8::1]:443/v", NULL },
	{ "api_url", "https://h/a%20b", NULL },
	{ "organization_id", "org1a2b3c4d5e", NULL },
	{ "organization_id", "a", NULL },
	{ "organization_id", "My_Org-1", NULL },
	{ "organization_id", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL },
	{ "api_token_file", "/etc/aivenauth/other-token", NULL },
	{ "cache_dir", "/srv/aivenauth cache", NULL },
	{ "ca_file", "/etc/ssl/certs/ca#1.pem", NULL },
	{ "ca_file", "/", NULL },
	{ "max_stale", "0", NULL },
	{ "max_stale", "86400", NULL },
	{ "max_stale", "30s", "30" },
	{ "max_stale", "15m", "900" },
	{ "max_stale", "24h", "86400" },
	{ "max_stale", "2d", "172800" },
	{ "max_stale", "0d", "0" },
	{ "max_stale", "315360000", NULL },
	{ "max_stale", "3650d", "315360000" },
	{ "max_stale", "007", "7" },
	{ "timeout", "1", NULL },
	{ "timeout", "300", NULL },
	{ "timeout", "5m", "300" },
	{ "connect_timeout", "1", NULL },
	{ "connect_timeout", "300", NULL },
	{ "max_parallel", "1", NULL },
	{ "max_parallel", "64", NULL },
	{ "online", "off", NULL },
	{ "online", "learn", NULL },
};

START_TEST(test_set_good)
{
	const char *want = good_values[_i].want ? good_values[_i].want :
	    good_values[_i].value;

	ck_assert_int_eq(aivenauth_config_set(ctx, good_values[_i].key,
	    good_values[_i].value), AIVENAUTH_OK);
	assert_get(good_values[_i].key, want);
	ck_assert_str_eq(logbuf, "");
}
END_TEST

/* The same through a file, with the value surrounded by blanks. */
START_TEST(test_file_good)
{
	const char *want = good_values[_i].want ? good_values[_i].want :
	    good_values[_i].value;
	char text[512];
	const char *p;

	snprintf(text, sizeof(text), "# test\n\t%s \t=  %s \t\n",
	    good_values[_i].key, good_values[_i].value);
	p = write_file("c.conf", text, 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_OK);
	assert_get(good_values[_i].key, want);
	ck_assert_str_eq(ctx->cfg.source, p);
}
END_TEST

START_TEST(test_long_values)
{
	init_long_values();
	ck_assert_int_eq(aivenauth_config_set(ctx, "cache_dir", max_path),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "cache_dir", long_path),
	    AIVENAUTH_ERR_CONFIG);
	assert_get("cache_dir", max_path);
	ck_assert_int_eq(aivenauth_config_set(ctx, "organization_id",
	    long_org), AIVENAUTH_ERR_CONFIG);
	assert_get("organization_id", NULL);
	assert_log("config: bad value for organization_id");
}
END_TEST

static const struct {
	const char *key, *value, *log;
} bad_values[] = {
	{ "api_url", "http://api.aiven.io", "plain http:// is allowed only to 127.0.0.1, localhost or [::1]" },
	{ "api_url", "http://127.0.0.2", "plain http://" },
	{ "api_url", "http://localhost.evil.example", "plain http://" },
	{ "api_url", "http://[::2]", "plain http://" },
	{ "api_url", "ftp://api.aiven.io", "expected https://host[:port][/path]" },
	{ "api_url", "api.aiven.io", "expected https://" },
	{ "api_url", "https://", "missing or invalid host" },
	{ "api_url", "https:///v1", "missing or invalid host" },
	{ "api_url", "https://user:pw@api.aiven.io", "'@'" },
	{ "api_url", "https://api.aiven.io/?x=1", "'?'" },
	{ "api_url", "https://api.aiven.io/#f", "'#'" },
	{ "api_url", "https://api.aiven.io/a b", "whitespace" },
	{ "api_url", "https://api.aiven.io/\x01", "control characters" },
	{ "api_url", "https://ho_st", "invalid host" },
	{ "api_url", "https://host:0", "invalid port" },
	{ "api_url", "https://host:65536", "invalid port" },
	{ "api_url", "https://host:", "invalid port" },
	{ "api_url", "https://host:80x/", "invalid port" },
	{ "api_url", "https://host:+80", "invalid port" },
	{ "api_url", "https://[::1", "invalid host" },
	{ "organization_id", "org id", "bad value for organization_id" },
	{ "organization_id", "org/1", "expected 1..64 characters" },
	{ "organization_id", "\xc3\xb8rg", "bad value for organization_id \"??rg\"" },
	{ "api_token_file", "relative/token", "expected an absolute path" },
	{ "api_token_file", "~/token", "bad value for api_token_file" },
	{ "cache_dir", "cache", "bad value for cache_dir" },
	{ "cache_dir", "/a\tb", "bad value for cache_dir \"/a?b\"" },
	{ "ca_file", "ca.pem", "bad value for ca_file" },
	{ "max_stale", "-1", "bad value for max_stale \"-1\": expected a whole number of seconds" },
	{ "max_stale", "+5", "bad value for max_stale" },
	{ "max_stale", " 5", "bad value for max_stale" },
	{ "max_stale", "5 h", "bad value for max_stale" },
	{ "max_stale", "5x", "bad value for max_stale" },
	{ "max_stale", "5hh", "bad value for max_stale" },
	{ "max_stale", "1.5h", "bad value for max_stale" },
	{ "max_stale", "h", "bad value for max_stale" },
	{ "max_stale", "315360001", "max_stale = 315360001 is out of range (0..315360000 seconds)" },
	{ "max_stale", "3651d", "out of range" },
	{ "max_stale", "99999999999999999999", "out of range" },
	{ "max_stale", "9223372036854775807d", "out of range" },
	{ "timeout", "0", "timeout = 0 is out of range (1..300 seconds)" },
	{ "timeout", "301", "timeout = 301 is out of range (1..300 seconds)" },
	{ "timeout", "6m", "out of range" },
	{ "timeout", "abc", "bad value for timeout \"abc\"" },
	{ "connect_timeout", "0", "connect_timeout = 0 is out of range (1..300 seconds)" },
	{ "connect_timeout", "301", "out of range" },
	{ "max_parallel", "0", "max_parallel = 0 is out of range (1..64)" },
	{ "max_parallel", "65", "max_parallel = 65 is out of range (1..64)" },
	{ "max_parallel", "99999999999999999999999", "out of range" },
	{ "max_parallel", "8s", "bad value for max_parallel \"8s\": expected a whole number 1..64" },
	{ "max_parallel", "-1", "bad value for max_parallel" },
	{ "online", "on", "bad value for online \"on\": expected off or learn" },
	{ "online", "Learn", "expected off or learn" },
	{ "online", "yes", "expected off or learn" },
	{ "timeout", "", "empty value for timeout" },
	{ "api_url", "", "empty value for api_url" },
};

START_TEST(test_set_bad)
{
	char before[4200];
	const char *v = aivenauth_config_get(ctx, bad_values[_i].key);

	snprintf(before, sizeof(before), "%s", v != NULL ? v : "(unset)");
	ck_assert_int_eq(aivenauth_config_set(ctx, bad_values[_i].key,
	    bad_values[_i].value), AIVENAUTH_ERR_CONFIG);
	assert_get(bad_values[_i].key, strcmp(before, "(unset)") == 0 ?
	    NULL : before);
	assert_log("config: ");
	assert_log(bad_values[_i].log);
}
END_TEST

/* Through a file: the message carries the file and line (here 3). */
START_TEST(test_file_bad)
{
	char text[512], want[600];
	const char *p;

	/* A file cannot carry a value with blanks around it (they are
	 * trimmed); those cases are config_set only. */
	if (bad_values[_i].value[0] == ' ')
		return;
	snprintf(text, sizeof(text), "# comment\n\n%s = %s\n",
	    bad_values[_i].key, bad_values[_i].value);
	p = write_file("bad.conf", text, 0600);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: ", p);
	assert_log(want);
	assert_log(bad_values[_i].log);
	ck_assert_ptr_null(ctx->cfg.source);
}
END_TEST

START_TEST(test_set_unknown)
{
	ck_assert_int_eq(aivenauth_config_set(ctx, "timout", "5"),
	    AIVENAUTH_ERR_CONFIG);
	assert_log("config: unknown key \"timout\" (did you mean \"timeout\"?)");
	logbuf[0] = '\0';
	ck_assert_int_eq(aivenauth_config_set(ctx, "nonsense", "5"),
	    AIVENAUTH_ERR_CONFIG);
	assert_log("config: unknown key \"nonsense\"\n");
	ck_assert_int_eq(aivenauth_config_set(ctx, NULL, "5"),
	    AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(aivenauth_config_set(ctx, "timeout", NULL),
	    AIVENAUTH_ERR_INVALID);
	ck_assert_int_eq(aivenauth_config_set(NULL, "timeout", "5"),
	    AIVENAUTH_ERR_INVALID);
	assert_get("timeout", "10");
}
END_TEST

/* ------------------------------------------------------------ syntax */

static const struct {
	const char *text;
	const char *log;       /* after "PATH:" */
} syntax[] = {
	{ "timeout = 5\nnoequals\n", "2: missing '=' (expected \"key = value\")" },
	{ "\n# c\n = 5\n", "3: empty key before '='" },
	{ "timout = 5\n", "1: unknown key \"timout\" (did you mean \"timeout\"?)" },
	{ "\n\ncachedir = /x\n", "3: unknown key \"cachedir\" (did you mean \"cache_dir\"?)" },
	{ "max_parallell = 3\n", "1: unknown key \"max_parallell\" (did you mean \"max_parallel\"?)" },
	{ "frobnicate = 1\n", "1: unknown key \"frobnicate\"\n" },
	{ "Timeout = 1\n", "1: unknown key \"Timeout\" (did you mean \"timeout\"?)" },
	{ "timeout 5 = \n", "1: unknown key \"timeout 5\"" },
	{ "timeout =\n", "1: empty value for timeout" },
	{ "timeout =   \t\n", "1: empty value for timeout" },
	{ "timeout = abc\n", "1: bad value for timeout \"abc\"" },
	{ "timeout = 500\n", "1: timeout = 500 is out of range (1..300 seconds)" },
	{ "timeout = 5\n\ntimeout = 6\n", "3: duplicate key \"timeout\" (first set on line 1)" },
	{ "online = off\ntimeout=5\n  online = off\n", "3: duplicate key \"online\" (first set on line 1)" },
	{ "timeout = 5 # five seconds\n", "1: bad value for timeout \"5 # five seconds\"" },
	{ "a\nb\n", "1: missing '='" },
};

START_TEST(test_syntax)
{
	char want[600];
	const char *p = write_file("s.conf", syntax[_i].text, 0644);

	ck_assert_int_eq(aivenauth_config_load(ctx, p, false),
	    AIVENAUTH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:%s", p, syntax[_i].log);
	assert_log(want);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "timeout = 5\ncache_dir = /x\0y\n";
	char want[300];
	const char *p = write_file_n("n.conf", text, sizeof(text) - 1, 0644);

	ck_assert_int_eq(aivenauth_config_load(ctx, p, false),
	    AIVENAUTH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", p);
	assert_log(want);
	assert_get("timeout", "10");
}
END_TEST

START_TEST(test_long_line)
{
	static char text[4200 + 64];
	char want[300];
	const char *p;

	/* 4096 bytes (a comment) is fine... */
	memcpy(text, "timeout = 7\n#", 13);
	memset(text + 13, 'x', 4095);
	memcpy(text + 13 + 4095, "\nonline = learn", 16);
	p = write_file("l.conf", text, 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, false), AIVENAUTH_OK);
	assert_get("timeout", "7");
	assert_get("online", "learn");
	/* ...4097 is not, even without a final newline. */
	memset(text + 13, 'x', 4096);
	text[13 + 4096] = '\0';
	p = write_file("l2.conf", text, 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, false),
	    AIVENAUTH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: line longer than 4096 bytes", p);
	assert_log(want);
}
END_TEST

START_TEST(test_layout)
{
	const char *p = write_file("ok.conf",
	    "# aivenauth.conf\r\n"
	    "   # indented comment = not a key\n"
	    "\n"
	    "\t \n"
	    "api_url=https://api.example.com/\r\n"
	    "  organization_id   =   org123  \n"
	    "ca_file = /etc/ssl/ca=bundle#2.pem\n"
	    "max_stale = 1h\n"
	    "timeout = 20\n"
	    "connect_timeout = 30\n"
	    "max_parallel = 16\n"
	    "online = learn\n"
	    "api_token_file = /root/token\n"
	    "cache_dir = /var/cache/aa", 0644);

	ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_OK);
	assert_get("api_url", "https://api.example.com");
	assert_get("organization_id", "org123");
	assert_get("ca_file", "/etc/ssl/ca=bundle#2.pem");
	assert_get("max_stale", "3600");
	assert_get("timeout", "20");
	/* Stored as given; the effective value is min(connect, timeout). */
	assert_get("connect_timeout", "30");
	assert_get("max_parallel", "16");
	assert_get("online", "learn");
	assert_get("api_token_file", "/root/token");
	assert_get("cache_dir", "/var/cache/aa");
	ck_assert_int_eq(ctx->cfg.max_stale, 3600);
	ck_assert_int_eq(ctx->cfg.timeout, 20);
	ck_assert_uint_eq(ctx->cfg.max_parallel, 16);
	ck_assert_int_eq(ctx->cfg.online, ONLINE_LEARN);
	ck_assert_str_eq(ctx->cfg.source, p);
	ck_assert_str_eq(logbuf, "");
}
END_TEST

START_TEST(test_empty_file)
{
	const char *p = write_file("e.conf", "", 0644);

	ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_OK);
	ck_assert_str_eq(ctx->cfg.source, p);
	assert_get("timeout", "10");
}
END_TEST

/* A bad line anywhere means nothing of the file is applied. */
START_TEST(test_all_or_nothing)
{
	const char *p;

	ck_assert_int_eq(aivenauth_config_set(ctx, "max_parallel", "4"),
	    AIVENAUTH_OK);
	p = write_file("a.conf", "timeout = 7\nmax_parallel = 3\n"
	    "organization_id = org1\napi_url = https://evil.example\n"
	    "online = bogus\n", 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_CONFIG);
	assert_get("timeout", "10");
	assert_get("max_parallel", "4");
	assert_get("organization_id", NULL);
	assert_get("api_url", "https://api.aiven.io");
	ck_assert_ptr_null(ctx->cfg.source);

	/* A good file applies; keys it does not name keep their values. */
	p = write_file("b.conf", "timeout = 7\norganization_id = org1\n", 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_OK);
	assert_get("timeout", "7");
	assert_get("organization_id", "org1");
	assert_get("max_parallel", "4");
	ck_assert_str_eq(ctx->cfg.source, p);

	/* And a later bad one keeps the first file's values and source. */
	p = write_file("c.conf", "timeout = 9\ntimeout = 9\n", 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_CONFIG);
	assert_get("timeout", "7");
	ck_assert_str_eq(ctx->cfg.source, tpath("b.conf"));
}
END_TEST

START_TEST(test_override_after_load)
{
	const char *p = write_file("o.conf", "timeout = 7\nonline = learn\n"
	    "max_stale = 2h\n", 0644);

	ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "timeout", "9"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "online", "off"),
	    AIVENAUTH_OK);
	assert_get("timeout", "9");
	assert_get("online", "off");
	assert_get("max_stale", "7200");
	/* A refused override leaves the file's value. */
	ck_assert_int_eq(aivenauth_config_set(ctx, "max_stale", "forever"),
	    AIVENAUTH_ERR_CONFIG);
	assert_get("max_stale", "7200");
}
END_TEST

/* ------------------------------------------------------------ files */

START_TEST(test_missing_explicit)
{
	const char *p = tpath("nope.conf");
	char want[300];

	ck_assert_int_eq(aivenauth_config_load(ctx, p, false),
	    AIVENAUTH_ERR_CONFIG);
	snprintf(want, sizeof(want), "config file %s does not exist", p);
	assert_log(want);
	ck_assert_int_eq(aivenauth_config_load(ctx, tpath("no/dir.conf"),
	    true), AIVENAUTH_ERR_CONFIG);
}
END_TEST

START_TEST(test_missing_default)
{
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0 || errno != ENOENT) {
		fprintf(stderr, "check_config: %s exists; skipping the "
		    "missing-default-file case\n", CONFIG_DEFAULT_PATH);
		return;
	}
	ck_assert_int_eq(aivenauth_config_load(ctx, NULL, false), AIVENAUTH_OK);
	ck_assert_ptr_null(ctx->cfg.source);
	assert_get("timeout", "10");
	ck_assert_int_eq(aivenauth_config_load(ctx, NULL, true),
	    AIVENAUTH_ERR_CONFIG);
	assert_log("config file " CONFIG_DEFAULT_PATH " does not exist");
	/* An empty variable is no variable. */
	setenv("AIVENAUTH_CONFIG", "", 1);
	ck_assert_int_eq(aivenauth_config_load(ctx, NULL, false), AIVENAUTH_OK);
}
END_TEST

START_TEST(test_env)
{
	const char *p = write_file("env.conf", "timeout = 42\n", 0644);

	setenv("AIVENAUTH_CONFIG", p, 1);
	ck_assert_int_eq(aivenauth_config_load(ctx, NULL, false), AIVENAUTH_OK);
	assert_get("timeout", "42");
	ck_assert_str_eq(ctx->cfg.source, p);
	/* An explicit path beats the variable. */
	p = write_file("arg.conf", "timeout = 43\n", 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, false), AIVENAUTH_OK);
	assert_get("timeout", "43");
	/* A variable naming a missing file is an explicit request: error. */
	setenv("AIVENAUTH_CONFIG", tpath("missing.conf"), 1);
	ck_assert_int_eq(aivenauth_config_load(ctx, NULL, false),
	    AIVENAUTH_ERR_CONFIG);
	assert_log("missing.conf does not exist");
}
END_TEST

START_TEST(test_symlink)
{
	const char *p = write_file("real.conf", "timeout = 5\n", 0644);
	const char *l = tpath("link.conf");
	char want[300];

	ck_assert_int_eq(symlink(p, l), 0);
	ck_assert_int_eq(aivenauth_config_load(ctx, l, true),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "config file %s is a symlink; refusing "
	    "to follow it", l);
	assert_log(want);
	assert_get("timeout", "10");
}
END_TEST

START_TEST(test_world_writable)
{
	const char *p = write_file("ww.conf", "timeout = 5\n", 0666);
	char want[400];

	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "config file %s is world-writable "
	    "(mode 0666); run: chmod go-w %s", p, p);
	assert_log(want);
	assert_get("timeout", "10");

	logbuf[0] = '\0';
	p = write_file("gw.conf", "timeout = 5\n", 0664);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "config file %s is group-writable "
	    "(mode 0664); run: chmod go-w %s", p, p);
	assert_log(want);
}
END_TEST

START_TEST(test_wrong_owner)
{
	const char *p = write_file("own.conf", "timeout = 5\n", 0644);
	char want[400];

	if (geteuid() != 0) {
		fprintf(stderr, "check_config: not root; skipping the "
		    "wrong-owner case\n");
		return;
	}
	ck_assert_int_eq(chown(p, 65534, (gid_t)-1), 0);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "config file %s is owned by uid 65534; "
	    "it must be owned by root (or the user running this); run: "
	    "chown root %s", p, p);
	assert_log(want);
}
END_TEST

START_TEST(test_not_regular)
{
	const char *d = tpath("dir.conf");
	char want[300];

	ck_assert_int_eq(mkdir(d, 0755), 0);
	ck_assert_int_eq(aivenauth_config_load(ctx, d, true),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "config file %s is not a regular file",
	    d);
	assert_log(want);
}
END_TEST

START_TEST(test_too_large)
{
	static char text[CONFIG_MAX_FILE + 2];
	const char *p;

	memset(text, '\n', CONFIG_MAX_FILE + 1);
	p = write_file("big.conf", text, 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_TOO_LARGE);
	assert_log("is too large (65537 bytes, at most 65536)");
	p = write_file_n("max.conf", text, CONFIG_MAX_FILE, 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_OK);
}
END_TEST

START_TEST(test_secret_modes)
{
	const char *p = write_file("api-token", "s3cret-token\n", 0644);
	char want[400], *buf = (char *)1;
	size_t len = 99;

	ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);
	snprintf(want, sizeof(want), "api token file %s is readable by group "
	    "or others (mode 0644); run: chmod 600 %s", p, p);
	assert_log(want);
	ck_assert_int_eq(chmod(p, 0610), 0);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("is accessible by group or others (mode 0610)");

	ck_assert_int_eq(chmod(p, 0600), 0);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	ck_assert_uint_eq(len, 13);
	ck_assert_mem_eq(buf, "s3cret-token\n", 14);
	aivenauth_secret_free(buf, len + 1);
	ck_assert_int_eq(chmod(p, 0400), 0);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	aivenauth_secret_free(buf, len + 1);
	/* 0644 is fine for a config file. */
	ck_assert_int_eq(chmod(p, 0644), 0);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_CONFIG, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	free(buf);
}
END_TEST

START_TEST(test_secret_misc)
{
	const char *p = tpath("missing-token");
	char *buf = NULL, big[TOKEN_FILE_MAX + 1];
	size_t len;
	const char *e;

	ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_NOT_FOUND);
	e = write_file("empty-token", "", 0600);
	ck_assert_int_eq(read_trusted(ctx, e, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(buf, "");
	aivenauth_secret_free(buf, len + 1);
	memset(big, 'x', sizeof(big));
	e = write_file_n("big-token", big, sizeof(big), 0600);
	ck_assert_int_eq(read_trusted(ctx, e, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_TOO_LARGE);
	ck_assert_ptr_null(buf);
	ck_assert_int_eq(symlink(tpath("empty-token"), tpath("tok-link")), 0);
	ck_assert_int_eq(read_trusted(ctx, tpath("tok-link"), TRUST_SECRET,
	    TOKEN_FILE_MAX, &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("tok-link is a symlink; refusing to follow it");
	ck_assert_int_eq(read_trusted(ctx, NULL, TRUST_SECRET,
	    TOKEN_FILE_MAX, &buf, &len), AIVENAUTH_ERR_INVALID);
}
END_TEST

/* A directory above a trusted file that others can write lets them swap
 * it (SECURITY.md O3): secrets, the config and the account map alike. */
START_TEST(test_secret_parent)
{
	const char *d = tpath("open"), *p;
	char *buf;
	size_t len;
	char want[600];

	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(chmod(d, 0777), 0);
	p = write_file("open/api-token", "tok\n", 0600);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "directory %s of api token file %s is "
	    "world-writable without the sticky bit (owner uid %u, mode 0777): "
	    "others can swap the file; run: chmod go-w %s", d, p,
	    (unsigned)geteuid(), d);
	assert_log(want);
	/* The config file and the account map get the same walk. */
	ck_assert_int_eq(chmod(p, 0644), 0);
	ck_assert_int_eq(chmod(d, 0775), 0);
	logbuf[0] = '\0';
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_CONFIG, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "directory %s of config file %s is "
	    "group-writable without the sticky bit (owner uid %u, mode 0775): "
	    "others can swap the file; run: chmod go-w %s", d, p,
	    (unsigned)geteuid(), d);
	assert_log(want);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("of account map");
	ck_assert_int_eq(check_trusted_path(ctx, p, TRUST_CONFIG, false),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	/* the same file in a sane directory */
	ck_assert_int_eq(chmod(d, 0755), 0);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_CONFIG, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	free(buf);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	free(buf);
	ck_assert_int_eq(check_trusted_path(ctx, p, TRUST_CONFIG, false),
	    AIVENAUTH_OK);
	ck_assert_int_eq(chmod(p, 0600), 0);
	/* Sticky, like /tmp: only the owner can replace the file. */
	ck_assert_int_eq(chmod(d, 01777), 0);
	ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	aivenauth_secret_free(buf, len + 1);
	ck_assert_int_eq(chmod(d, 0750), 0);
	ck_assert_int_eq(check_trusted_path(ctx, p, TRUST_SECRET, false),
	    AIVENAUTH_OK);
	if (geteuid() == 0) {
		logbuf[0] = '\0';
		ck_assert_int_eq(chown(d, 65534, (gid_t)-1), 0);
		ck_assert_int_eq(read_trusted(ctx, p, TRUST_SECRET,
		    TOKEN_FILE_MAX, &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
		assert_log("is owned by uid 65534");
		assert_log("run: chown root");
		ck_assert_int_eq(chown(d, 0, (gid_t)-1), 0);
	}
}
END_TEST

/* A symlinked directory on the path: the walk does not follow it, and
 * walks where it really leads (realpath) as well. */
START_TEST(test_parent_symlink)
{
	char real[300], sub[300], link[300], via[400], *buf;
	const char *p;
	size_t len;

	snprintf(real, sizeof(real), "%s", tpath("real"));
	snprintf(sub, sizeof(sub), "%s", tpath("real/sub"));
	ck_assert_int_eq(mkdir(real, 0755), 0);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	p = write_file("real/sub/accounts", "x y\n", 0644);
	(void)p;
	snprintf(link, sizeof(link), "%s", tpath("lnk"));
	ck_assert_int_eq(symlink(sub, link), 0);
	snprintf(via, sizeof(via), "%s/accounts", link);
	ck_assert_int_eq(read_trusted(ctx, via, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	free(buf);
	/* the target's parent opened up: seen through the link */
	ck_assert_int_eq(chmod(real, 0777), 0);
	logbuf[0] = '\0';
	ck_assert_int_eq(read_trusted(ctx, via, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("world-writable without the sticky bit");
	assert_log(real);
	ck_assert_int_eq(chmod(real, 0755), 0);
}
END_TEST

/*
 * Review 4 F6: a symlink on the path owned by someone the directory rule
 * does not trust.  A shared directory root:nogroup 1775 (sticky,
 * group-writable: the walk accepts it, and protected_symlinks covers only
 * world-writable sticky directories) holds "aivenauth", a link a group
 * member made: it can repoint its own link at an older map at will.  Its
 * owner must be trusted; a chain of links is checked link by link.
 */
START_TEST(test_parent_symlink_owner)
{
	char sh[300], nw[300], link[320], via[400], l2[300], via2[400], *buf;
	size_t len;

	if (geteuid() != 0)
		return;     /* owners: root only (it_accounts.sh runs as root) */
	snprintf(sh, sizeof(sh), "%s", tpath("shared"));
	snprintf(nw, sizeof(nw), "%s", tpath("new"));
	ck_assert_int_eq(mkdir(sh, 0755), 0);
	ck_assert_int_eq(chown(sh, 0, 65534), 0);
	ck_assert_int_eq(chmod(sh, 01775), 0);
	ck_assert_int_eq(mkdir(nw, 0755), 0);
	(void)write_file("new/accounts", "root ops-admin from=192.0.2.0/24\n",
	    0644);
	snprintf(link, sizeof(link), "%s/aivenauth", sh);
	ck_assert_int_eq(symlink(nw, link), 0);
	ck_assert_int_eq(lchown(link, 65534, (gid_t)-1), 0);
	snprintf(via, sizeof(via), "%s/accounts", link);
	logbuf[0] = '\0';
	ck_assert_int_eq(read_trusted(ctx, via, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("symlink ");
	assert_log(link);
	assert_log("is owned by uid 65534: whoever owns it can repoint it");
	assert_log("run: chown -h root");
	ck_assert_int_eq(check_trusted_path(ctx, via, TRUST_CONFIG, false),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	/* a trusted link to the untrusted one: the chain is walked */
	snprintf(l2, sizeof(l2), "%s", tpath("front"));
	ck_assert_int_eq(symlink("shared/aivenauth", l2), 0);
	snprintf(via2, sizeof(via2), "%s/accounts", l2);
	logbuf[0] = '\0';
	ck_assert_int_eq(read_trusted(ctx, via2, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("is owned by uid 65534: whoever owns it can repoint it");
	/* the same link, root's: read */
	ck_assert_int_eq(lchown(link, 0, (gid_t)-1), 0);
	ck_assert_int_eq(read_trusted(ctx, via, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	free(buf);
	ck_assert_int_eq(read_trusted(ctx, via2, TRUST_MAP, TOKEN_FILE_MAX,
	    &buf, &len), AIVENAUTH_OK);
	free(buf);
}
END_TEST

START_TEST(test_check_path)
{
	const char *d = tpath("cache"), *f;

	ck_assert_int_eq(mkdir(d, 0750), 0);
	ck_assert_int_eq(check_trusted_path(ctx, d, TRUST_CONFIG, true),
	    AIVENAUTH_OK);
	ck_assert_int_eq(check_trusted_path(ctx, d, TRUST_CONFIG, false),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("is not a regular file");
	f = write_file("mod.so", "x", 0755);
	ck_assert_int_eq(check_trusted_path(ctx, f, TRUST_MODULE, false),
	    AIVENAUTH_OK);
	ck_assert_int_eq(check_trusted_path(ctx, f, TRUST_MODULE, true),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("is not a directory");
	ck_assert_int_eq(chmod(f, 0757), 0);
	ck_assert_int_eq(check_trusted_path(ctx, f, TRUST_MODULE, false),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("module ");
	assert_log("is world-writable (mode 0757)");
	ck_assert_int_eq(chmod(d, 0770), 0);
	ck_assert_int_eq(check_trusted_path(ctx, d, TRUST_CONFIG, true),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("is group-writable (mode 0770)");
	ck_assert_int_eq(symlink(d, tpath("cache-link")), 0);
	ck_assert_int_eq(check_trusted_path(ctx, tpath("cache-link"),
	    TRUST_CONFIG, true), AIVENAUTH_ERR_UNSAFE_FILE);
	assert_log("cache-link is a symlink; refusing to follow it");
	ck_assert_int_eq(check_trusted_path(ctx, tpath("none"), TRUST_CONFIG,
	    true), AIVENAUTH_ERR_NOT_FOUND);
}
END_TEST

/* ------------------------------------------------------------ fleet */

/* Two real public keys (base64 of 32 bytes) and a 32-byte value that is
 * not 44 characters once trimmed wrong. */
#define PK1 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define PK2 "12qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static const struct {
	const char *key, *value, *want;   /* want NULL: same as value */
} fleet_good[] = {
	{ "fleet", "off", NULL },
	{ "fleet", "publish", NULL },
	{ "fleet", "follow", NULL },
	{ "etcd_endpoints", "https://etcd1:2379", NULL },
	{ "etcd_endpoints", "https://etcd1:2379/, https://etcd2:2379",
	  "https://etcd1:2379,https://etcd2:2379" },
	{ "etcd_endpoints", "http://127.0.0.1:23790", NULL },
	{ "etcd_endpoints", "HTTPS://E:1", "https://E:1" },
	{ "etcd_prefix", "/aivenauth/", NULL },
	{ "etcd_prefix", "/fleets/prod-1/", NULL },
	{ "etcd_ca_file", "/etc/aivenauth/etcd-ca.pem", NULL },
	{ "etcd_user", "follower", NULL },
	{ "etcd_user", "pub.lisher-1@x_y", NULL },
	{ "etcd_password_file", "/etc/aivenauth/etcd-password", NULL },
	{ "fleet_signing_key_file", "/etc/aivenauth/fleet.key", NULL },
	{ "fleet_public_keys", PK1, NULL },
	{ "fleet_public_keys", " " PK1 " , " PK2 " ", PK1 "," PK2 },
	{ "fleet_lease_ttl", "5", NULL },
	{ "fleet_lease_ttl", "90s", "90" },
	{ "fleet_lease_ttl", "1h", "3600" },
};

START_TEST(test_fleet_good)
{
	const char *want = fleet_good[_i].want ? fleet_good[_i].want :
	    fleet_good[_i].value;

	ck_assert_int_eq(aivenauth_config_set(ctx, fleet_good[_i].key,
	    fleet_good[_i].value), AIVENAUTH_OK);
	assert_get(fleet_good[_i].key, want);
	ck_assert_str_eq(logbuf, "");
}
END_TEST

static const struct {
	const char *key, *value, *log;
} fleet_bad[] = {
	{ "fleet", "on", "expected off, publish or follow" },
	{ "fleet", "Follow", "expected off, publish or follow" },
	{ "etcd_endpoints", "http://etcd1:2379", "bad value for etcd_endpoints \"http://etcd1:2379\": plain http:// is allowed only to" },
	{ "etcd_endpoints", "https://a:1,http://b:2", "plain http://" },
	{ "etcd_endpoints", "https://a:1,", "empty endpoint" },
	{ "etcd_endpoints", ",https://a:1", "empty endpoint" },
	{ "etcd_endpoints", "https://u:p@a:1", "'@'" },
	{ "etcd_endpoints", "etcd1:2379", "expected https://" },
	{ "etcd_endpoints", "https://a:99999", "invalid port" },
	{ "etcd_endpoints", "https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a,https://a", "more than 16 endpoints" },
	{ "etcd_prefix", "aivenauth/", "starts and ends with '/'" },
	{ "etcd_prefix", "/aivenauth", "starts and ends with '/'" },
	{ "etcd_prefix", "/", "starts and ends with '/'" },
	{ "etcd_prefix", "/a b/", "without blanks" },
	{ "etcd_ca_file", "ca.pem", "bad value for etcd_ca_file: expected an absolute path" },
	{ "etcd_user", "a b", "bad value for etcd_user" },
	{ "etcd_user", "root:pw", "bad value for etcd_user" },
	{ "etcd_password_file", "pw", "bad value for etcd_password_file" },
	{ "fleet_signing_key_file", "key", "bad value for fleet_signing_key_file" },
	{ "fleet_public_keys", "abc", "key 1 is not a base64 Ed25519 public key" },
	{ "fleet_public_keys", PK1 ",", "key 2 is not a base64" },
	{ "fleet_public_keys", PK1 "," PK1, "key 2 repeats key 1" },
	{ "fleet_public_keys", PK1 "," PK2 "," PK1, "more than 2 keys" },
	{ "fleet_public_keys", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR==", "not a base64" },
	{ "fleet_public_keys", "11qYAYKxCrfVS-7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "not a base64" },
	{ "etcd_user", "", "empty value for etcd_user" },
	{ "fleet_lease_ttl", "4", "fleet_lease_ttl = 4 is out of range (5..3600 seconds)" },
	{ "fleet_lease_ttl", "3601", "out of range (5..3600 seconds)" },
	{ "fleet_lease_ttl", "2h", "out of range" },
	{ "fleet_lease_ttl", "0", "out of range" },
	{ "fleet_lease_ttl", "-10", "bad value for fleet_lease_ttl" },
	{ "fleet_lease_ttl", "10x", "bad value for fleet_lease_ttl" },
	{ "fleet_lease_ttl", "", "empty value for fleet_lease_ttl" },
};

START_TEST(test_fleet_bad)
{
	char before[4200];
	const char *v = aivenauth_config_get(ctx, fleet_bad[_i].key);

	snprintf(before, sizeof(before), "%s", v != NULL ? v : "(unset)");
	ck_assert_int_eq(aivenauth_config_set(ctx, fleet_bad[_i].key,
	    fleet_bad[_i].value), AIVENAUTH_ERR_CONFIG);
	assert_get(fleet_bad[_i].key, strcmp(before, "(unset)") == 0 ?
	    NULL : before);
	assert_log(fleet_bad[_i].log);
}
END_TEST

/* Defaults, a whole file, and a file with one bad fleet line changing
 * nothing (the fleet settings go through the same all-or-nothing copy). */
START_TEST(test_fleet_file)
{
	const char *p;

	assert_get("fleet", "off");
	assert_get("etcd_prefix", "/aivenauth/");
	assert_get("etcd_endpoints", NULL);
	assert_get("fleet_public_keys", NULL);
	assert_get("fleet_lease_ttl", "180");
	p = write_file("f.conf", "fleet = follow\n"
	    "etcd_endpoints = https://e1:2379,https://e2:2379\n"
	    "etcd_prefix = /p/\netcd_user = follower\n"
	    "etcd_password_file = /etc/aivenauth/etcd-pw\n"
	    "fleet_public_keys = " PK1 "\n" "fleet_lease_ttl = 2m\n", 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_OK);
	assert_get("fleet_lease_ttl", "120");
	assert_get("fleet", "follow");
	assert_get("etcd_prefix", "/p/");
	assert_get("etcd_user", "follower");
	assert_get("fleet_public_keys", PK1);
	ck_assert_int_eq(ctx->cfg.fleet.mode, FLEET_FOLLOW);
	p = write_file("g.conf", "fleet = publish\netcd_prefix = /q/\n"
	    "fleet_public_keys = nope\n", 0644);
	ck_assert_int_eq(aivenauth_config_load(ctx, p, true),
	    AIVENAUTH_ERR_CONFIG);
	assert_get("fleet", "follow");
	assert_get("etcd_prefix", "/p/");
	assert_get("etcd_endpoints", "https://e1:2379,https://e2:2379");
	assert_get("fleet_lease_ttl", "120");
	ck_assert(aivenauth_config_is_key("fleet_public_keys"));
	ck_assert(aivenauth_config_is_key("fleet_lease_ttl"));
	ck_assert(aivenauth_config_is_key("etcd_password_file"));
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("keys");
	TCase *tp = tcase_create("parser");
	TCase *tf = tcase_create("files");
	TCase *tfl = tcase_create("fleet");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_is_key);
	tcase_add_loop_test(tc, test_set_good, 0, (int)ARRAY_SIZE(good_values));
	tcase_add_loop_test(tc, test_file_good, 0,
	    (int)ARRAY_SIZE(good_values));
	tcase_add_test(tc, test_long_values);
	tcase_add_loop_test(tc, test_set_bad, 0, (int)ARRAY_SIZE(bad_values));
	tcase_add_loop_test(tc, test_file_bad, 0, (int)ARRAY_SIZE(bad_values));
	tcase_add_test(tc, test_set_unknown);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tp, setup, teardown);
	tcase_add_loop_test(tp, test_syntax, 0, (int)ARRAY_SIZE(syntax));
	tcase_add_test(tp, test_nul_byte);
	tcase_add_test(tp, test_long_line);
	tcase_add_test(tp, test_layout);
	tcase_add_test(tp, test_empty_file);
	tcase_add_test(tp, test_all_or_nothing);
	tcase_add_test(tp, test_override_after_load);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, test_missing_explicit);
	tcase_add_test(tf, test_missing_default);
	tcase_add_test(tf, test_env);
	tcase_add_test(tf, test_symlink);
	tcase_add_test(tf, test_world_writable);
	tcase_add_test(tf, test_wrong_owner);
	tcase_add_test(tf, test_not_regular);
	tcase_add_test(tf, test_too_large);
	tcase_add_test(tf, test_secret_modes);
	tcase_add_test(tf, test_secret_misc);
	tcase_add_test(tf, test_secret_parent);
	tcase_add_test(tf, test_parent_symlink);
	tcase_add_test(tf, test_parent_symlink_owner);
	tcase_add_test(tf, test_check_path);
	suite_add_tcase(s, tf);

	tcase_add_checked_fixture(tfl, setup, teardown);
	tcase_add_loop_test(tfl, test_fleet_good, 0, (int)ARRAY_SIZE(fleet_good));
	tcase_add_loop_test(tfl, test_fleet_bad, 0, (int)ARRAY_SIZE(fleet_bad));
	tcase_add_test(tfl, test_fleet_file);
	suite_add_tcase(s, tfl);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
