/*
 * check_acctmap.c - the local account map (aivenauth-accounts(5)): the
 * parser (every mistake refuses the whole map, with FILE:LINE:COLUMN),
 * the matcher (names, ids, globs), the file rules (no symlink, owner,
 * mode, size), reload on change and only on change, and the decision
 * with user_match MAP (one reason per refusal) and ANY (never uid 0).
 */
#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/fixture.h"
#include "base/acctmap.h"
#include "base/internal.h"
#include "base/cache.h"
#include "base/dupnames_rec.h"
#include "base/rec.h"
#include "reader/dupnames.h"
#include "writer/writer.h"

#define ID_CI "u0123456789a"
#define ID_TF "u1abc2345678"
#define ID_BK "u00000000bbb"
#define ID_GR "u00000000ccc"
#define ID_EV "u00000000eee"

static struct fx_log lg;
static struct aivenauth_ctx *pctx;   /* parser tests: no cache */

/* ---------------------------------------------------------------- parser */

static void
psetup(void)
{
	memset(&lg, 0, sizeof(lg));
	ck_assert_int_eq(aivenauth_ctx_new(&pctx), AIVENAUTH_OK);
	aivenauth_set_log(pctx, fx_log_fn, &lg, 7);
}

static void
pteardown(void)
{
	aivenauth_ctx_free(pctx);
}

static struct aivenauth_account_map *
parse_ok(const char *text)
{
	struct aivenauth_account_map *m = NULL;

	ck_assert_int_eq(aivenauth_account_map_parse(pctx, "accounts", text,
	    strlen(text), &m), AIVENAUTH_OK);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* Refused, and the log names where: "accounts:LINE:COL: ..." + what. */
static void
parse_bad_n(const char *text, size_t len, const char *where, const char *what)
{
	struct aivenauth_account_map *m = (void *)1;

	lg.len = 0;
	lg.buf[0] = '\0';
	ck_assert_int_ne(aivenauth_account_map_parse(pctx, "accounts", text,
	    len, &m), AIVENAUTH_OK);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(lg.buf, where) != NULL, "want %s in: %s", where,
	    lg.buf);
	ck_assert_msg(strstr(lg.buf, what) != NULL, "want %s in: %s", what,
	    lg.buf);
}

static void
parse_bad(const char *text, const char *where, const char *what)
{
	parse_bad_n(text, strlen(text), where, what);
}

START_TEST(design_example_parses)
{
	struct aivenauth_account_map *m = parse_ok(
	    "# /etc/aivenauth/accounts\n"
	    "# local account   application users; then options\n"
	    "deploy            ci-runner terraform-prod " ID_TF "\n"
	    "\n"
	    "backup            backup-*                     from=10.0.0.0/8\n"
	    "   postgres-ro    grafana    scope=projects:read   # trailing comment\r\n"
	    "\t\n"
	    "root              break-glass from=192.0.2.0/24,2001:db8::/32 scope=all\n");
	const struct aivenauth_account_entry *e;

	ck_assert_uint_eq(aivenauth_account_map_count(m), 4);
	e = aivenauth_account_map_entry(m, 0);
	ck_assert_str_eq(e->account, "deploy");
	ck_assert_uint_eq(e->line, 3);
	ck_assert_uint_eq(e->n_users, 3);
	ck_assert_str_eq(e->users[2], ID_TF);
	ck_assert_ptr_null(e->from);
	ck_assert_ptr_null(e->scope);
	e = aivenauth_account_map_find(m, "backup");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->from, "10.0.0.0/8");
	e = aivenauth_account_map_find(m, "postgres-ro");
	ck_assert_uint_eq(e->line, 6);
	ck_assert_str_eq(e->scope, "projects:read");
	ck_assert_uint_eq(e->n_users, 1);
	e = aivenauth_account_map_find(m, "root");
	ck_assert_str_eq(e->from, "192.0.2.0/24,2001:db8::/32");
	ck_assert_ptr_null(aivenauth_account_map_find(m, "Deploy"));
	ck_assert_ptr_null(aivenauth_account_map_find(m, "nobody"));
	ck_assert_ptr_null(aivenauth_account_map_entry(m, 4));
	aivenauth_account_map_free(m);
	/* empty and comment-only maps are valid (and admit nobody) */
	m = parse_ok("");
	ck_assert_uint_eq(aivenauth_account_map_count(m), 0);
	ck_assert_ptr_null(aivenauth_account_map_find(m, "deploy"));
	aivenauth_account_map_free(m);
	m = parse_ok("# nothing\n\n   # still nothing\n");
	ck_assert_uint_eq(aivenauth_account_map_count(m), 0);
	aivenauth_account_map_free(m);
}
END_TEST

START_TEST(syntax_errors_name_line_and_column)
{
	char *big;

	parse_bad("deploy ci\ndeploy tf\n", "accounts:2:1:", "first is line 1");
	parse_bad("a x\nb y\n\na z\n", "accounts:4:1:", "second line for local account \"a\"");
	parse_bad("deploy ci-runner form=10.0.0.0/8\n", "accounts:1:18:",
	    "unknown option \"form=\"");
	parse_bad("deploy ci from=10.0.0.0/33\n", "accounts:1:16:", "not an address range");
	parse_bad("deploy ci from=10.0.0.0/8,,1.2.3.4\n", "accounts:1:27:", "empty address range");
	parse_bad("deploy ci from=\n", "accounts:1:16:", "empty address range");
	parse_bad("deploy ci from=example.com\n", "accounts:1:16:", "not an address range");
	parse_bad("deploy ci from=10.0.0.0/8 from=1.2.3.4\n", "accounts:1:27:", "from= given twice");
	parse_bad("deploy ci scope=\n", "accounts:1:17:", "empty scope=");
	parse_bad("deploy ci scope=a b=c\n", "accounts:1:19:", "unknown option");
	parse_bad("deploy ci scope=x scope=y\n", "accounts:1:19:", "scope= given twice");
	parse_bad("deploy ci scope=pro/jects\n", "accounts:1:20:", "character '/' in scope=");
	parse_bad("deploy ci from=10.0.0.0/8 tf\n", "accounts:1:27:", "after an option");
	parse_bad("deploy from=10.0.0.0/8 ci\n", "accounts:1:8:", "before any application user");
	parse_bad("deploy\n", "accounts:1:7:", "lists no application user");
	parse_bad("ok x\n  deploy   # no users\n", "accounts:2:12:", "lists no application user");
	parse_bad("deploy* ci\n", "accounts:1:7:", "matched literally");
	parse_bad("from=1.2.3.4 ci\n", "accounts:1:1:", "starts with the local account");
	parse_bad("deploy ci [ab]c\n", "accounts:1:11:", "globs have only * and ?");
	parse_bad("deploy ci\x01x\n", "accounts:1:10:", "control character 0x01");
	parse_bad("deploy ci \x7f\n", "accounts:1:11:", "control character 0x7f");
	parse_bad_n("ok x\ndeploy c\0i\n", 16, "accounts:2:9:", "NUL byte");
	/* a line of 1 MB */
	big = malloc((1u << 20) + 16);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "ok x\ndeploy ", 12);
	memset(big + 12, 'a', 1u << 20);
	big[12 + (1u << 20)] = '\n';
	parse_bad_n(big, 13 + (1u << 20), "accounts:2:65537:", "line longer than 65536");
	free(big);
	/* a huge file */
	big = calloc(1, ACCTMAP_MAX_FILE + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, '\n', ACCTMAP_MAX_FILE + 1);
	parse_bad_n(big, ACCTMAP_MAX_FILE + 1, "accounts:", "too large");
	free(big);
}
END_TEST

/*
 * O2 (docs/SECURITY.md): a map read while it is rewritten in place is a
 * prefix of the new file.  A cut inside a line can be wider than the
 * whole line (a glob cut short, from= cut off, /16 cut to /1), so every
 * prefix that does not end in a newline is refused; a prefix that ends at
 * a line boundary holds whole lines only, each exactly as in the full
 * file (the accounts after the cut have no line: refused, narrower).
 */
START_TEST(cut_last_line_is_refused)
{
	static const char full[] =
	    "# partial writes\n"
	    "deploy ci-runner\n"
	    "backup backup-*-prod from=10.0.0.0/16\n"
	    "root   break-glass\n";
	struct aivenauth_account_map *whole = parse_ok(full), *m;
	size_t len, i, ok = 0, bad = 0;

	for (len = 1; len < sizeof(full) - 1; len++) {
		m = (void *)1;
		lg.len = 0;
		lg.buf[0] = '\0';
		if (full[len - 1] != '\n') {
			ck_assert_int_eq(aivenauth_account_map_parse(pctx,
			    "accounts", full, len, &m), AIVENAUTH_ERR_CONFIG);
			ck_assert_ptr_null(m);
			ck_assert_msg(strstr(lg.buf, "partial write") != NULL,
			    "cut at %zu: %s", len, lg.buf);
			bad++;
			continue;
		}
		ck_assert_int_eq(aivenauth_account_map_parse(pctx, "accounts",
		    full, len, &m), AIVENAUTH_OK);
		for (i = 0; i < aivenauth_account_map_count(m); i++) {
			const struct aivenauth_account_entry *e =
			    aivenauth_account_map_entry(m, i);
			const struct aivenauth_account_entry *w =
			    aivenauth_account_map_find(whole, e->account);

			ck_assert_ptr_nonnull(w);
			ck_assert_uint_eq(e->n_users, w->n_users);
			ck_assert_str_eq(e->users[0], w->users[0]);
			ck_assert_int_eq(e->from == NULL, w->from == NULL);
			if (e->from != NULL)
				ck_assert_str_eq(e->from, w->from);
		}
		aivenauth_account_map_free(m);
		ok++;
	}
	ck_assert_uint_eq(ok, 3);
	ck_assert_uint_gt(bad, 60);
	/* the widening cuts by name, with file:line:column */
	parse_bad("deploy ci-runner\nbackup backup-*", "accounts:2:16:",
	    "looks like a partial write");
	parse_bad("deploy ci-runner\nbackup backup-*-prod from=10.0.0.0/1",
	    "accounts:2:37:", "partial write");
	parse_bad("deploy ci-runner\r", "accounts:1:18:", "partial write");
	/* even a comment: the file is not whole */
	parse_bad("deploy ci-runner\n# end", "accounts:2:6:", "partial write");
	aivenauth_account_map_free(whole);
}
END_TEST

/*
 * O2, the reader's half: a file that yields fewer or more bytes than
 * fstat() said is being written (a rewrite in place truncates, then
 * writes); it is read again, and refused if it stays so.  Kernel files
 * give that deterministically: sysfs says 4096 bytes and gives a few,
 * procfs says 0 and gives more.  Both are root-owned and not writable by
 * others, so only the byte count can refuse them.
 */
START_TEST(short_or_long_read_is_refused)
{
	static const char *const files[] = {
	    "/sys/devices/system/cpu/online", "/proc/version" };
	struct stat sb;
	char *buf = NULL;
	size_t len = 0, i;
	int tried = 0;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (stat(files[i], &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		tried++;
		lg.len = 0;
		lg.buf[0] = '\0';
		ck_assert_int_eq(read_trusted(pctx, files[i], TRUST_MAP,
		    ACCTMAP_MAX_FILE, &buf, &len), AIVENAUTH_ERR_IO);
		ck_assert_ptr_null(buf);
		ck_assert_msg(strstr(lg.buf, "changed while being read, 3 "
		    "times in a row") != NULL, "%s: %s", files[i], lg.buf);
	}
	if (tried == 0)
		fprintf(stderr, "short_or_long_read_is_refused: no sysfs or "
		    "procfs file to read, not checked\n");
}
END_TEST

START_TEST(matching_names_ids_globs)
{
	struct aivenauth_account_map *m = parse_ok(
	    "deploy ci-runner " ID_TF " build-?? *-deployer\n"
	    "star *\n"
	    "idlike u0123456789ab uABCDEF01234\n");
	const struct aivenauth_account_entry *d = aivenauth_account_map_find(m, "deploy");
	const struct aivenauth_account_entry *s = aivenauth_account_map_find(m, "star");
	const struct aivenauth_account_entry *i = aivenauth_account_map_find(m, "idlike");

	ck_assert(aivenauth_account_entry_lists(d, "ci-runner", "u999"));
	ck_assert(!aivenauth_account_entry_lists(d, "ci-runner2", "u999"));
	ck_assert(!aivenauth_account_entry_lists(d, "CI-runner", "u999"));
	/* an id-shaped entry matches the id, never a name */
	ck_assert(aivenauth_account_entry_lists(d, "whoever", ID_TF));
	ck_assert(!aivenauth_account_entry_lists(d, ID_TF, "u999"));
	ck_assert(aivenauth_account_entry_lists(d, "build-01", "u9"));
	ck_assert(!aivenauth_account_entry_lists(d, "build-1", "u9"));
	ck_assert(!aivenauth_account_entry_lists(d, "build-001", "u9"));
	ck_assert(aivenauth_account_entry_lists(d, "prod-deployer", "u9"));
	ck_assert(aivenauth_account_entry_lists(d, "-deployer", "u9"));
	ck_assert(!aivenauth_account_entry_lists(d, "prod-deployer-x", "u9"));
	/* a glob never matches an empty name */
	ck_assert(aivenauth_account_entry_lists(s, "anyone", "u9"));
	ck_assert(!aivenauth_account_entry_lists(s, "", "u9"));
	ck_assert(!aivenauth_account_entry_lists(s, NULL, NULL));
	/* not id-shaped (12 hex, upper case): plain names */
	ck_assert(aivenauth_account_user_is_id(ID_TF));
	ck_assert(!aivenauth_account_user_is_id("u0123456789ab"));
	ck_assert(!aivenauth_account_user_is_id("uABCDEF01234"));
	ck_assert(aivenauth_account_entry_lists(i, "uABCDEF01234", "u9"));
	ck_assert(!aivenauth_account_entry_lists(i, "x", "uABCDEF01234"));
	aivenauth_account_map_free(m);
}
END_TEST

START_TEST(glob_is_not_exponential)
{
	char pat[200], name[300];
	struct aivenauth_account_map *m;
	char text[400];

	/* *a*a*a...*b against aaaa...: a naive matcher takes forever */
	memset(pat, 0, sizeof(pat));
	for (int k = 0; k < 60; k++) {
		pat[2 * k] = '*';
		pat[2 * k + 1] = 'a';
	}
	/* 120 bytes written: "*b" and the NUL fit (pat is 200). */
	memcpy(pat + 120, "*b", 3);
	memset(name, 'a', 250);
	name[250] = '\0';
	snprintf(text, sizeof(text), "x %s\n", pat);
	m = parse_ok(text);
	ck_assert(!aivenauth_account_entry_lists(aivenauth_account_map_find(m,
	    "x"), name, "u1"));
	aivenauth_account_map_free(m);
}
END_TEST

/* ------------------------------------------------------- files and verify */

static char *dir;
static struct aivenauth_ctx *ctx;
static struct fx_snap snap;
static char mapfile[512];
/* ci, tf: listed on deploy; ev: listed nowhere; bk: backup-nightly; gr:
 * grafana (scoped token); t[5] ci's second token, revoked */
static char t_ci[FX_TOKEN_LEN + 1], t_tf[FX_TOKEN_LEN + 1], t_ev[FX_TOKEN_LEN + 1];
static char t_bk[FX_TOKEN_LEN + 1], t_gr[FX_TOKEN_LEN + 1], t_rv[FX_TOKEN_LEN + 1];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Make the file look settled (modified long ago), as a map is between
 * edits, so that "unchanged" is judged by identity alone. */
static void
settle(const char *path)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static const char *map_text =
    "# test map\n"
    "deploy      ci-runner " ID_TF "\n"
    "backup      backup-*            from=10.0.0.0/8,2001:db8::/32\n"
    "postgres-ro grafana             scope=projects:read\n"
    "root        break-glass\n";

static void
setup(void)
{
	struct aivenauth_token *x;

	memset(&lg, 0, sizeof(lg));
	dir = fx_tmpdir();
	ck_assert_ptr_nonnull(dir);
	ctx = fx_ctx(dir);
	ck_assert_ptr_nonnull(ctx);
	fx_snap_init(&snap);
	fx_add_user(&snap, ID_CI, "ci-runner");
	fx_add_user(&snap, ID_TF, "terraform-prod");
	fx_add_user(&snap, ID_EV, "evil");
	fx_add_user(&snap, ID_BK, "backup-nightly");
	fx_add_user(&snap, ID_GR, "grafana");
	fx_token(t_ci, 0);
	fx_token(t_tf, 0);
	fx_token(t_ev, 0);
	fx_token(t_bk, 0);
	fx_token(t_gr, 0);
	fx_token(t_rv, 0);
	fx_add_token(&snap, ID_CI, t_ci);
	fx_add_token(&snap, ID_TF, t_tf);
	fx_add_token(&snap, ID_EV, t_ev);
	fx_add_token(&snap, ID_BK, t_bk);
	x = fx_add_token(&snap, ID_GR, t_gr);
	fx_strv(&x->scopes, &x->n_scopes, "user:read", NULL);
	fx_add_token(&snap, ID_CI, t_rv);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, ID_CI, t_ci, FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, ID_TF, t_tf, FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, ID_EV, t_ev, FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, ID_BK, t_bk, FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, ID_GR, t_gr, FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, ID_CI, t_rv, FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	{
		char p[FX_PREFIX_LEN + 1];

		memcpy(p, t_rv, FX_PREFIX_LEN);
		p[FX_PREFIX_LEN] = '\0';
		ck_assert_int_eq(aivenauth_cache_revoke(ctx, p, 0), AIVENAUTH_OK);
	}
	aivenauth_cache_close(ctx);
	snprintf(mapfile, sizeof(mapfile), "%s/accounts", dir);
	write_file(mapfile, map_text, 0644);
	settle(mapfile);
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", mapfile),
	    AIVENAUTH_OK);
	aivenauth_set_log(ctx, fx_log_fn, &lg, 7);
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
vfy(const char *user, const char *tok, const char *rhost, enum aivenauth_user_match m,
    enum aivenauth_status want_st)
{
	struct aivenauth_request req = { user, m, rhost, "test", NULL, 0 };
	struct aivenauth_decision d;

	ck_assert_int_eq(aivenauth_verify(ctx, tok, strlen(tok), &req, &d), want_st);
	return d.reason;
}

static enum aivenauth_reason
as(const char *account, const char *tok, const char *rhost)
{
	return vfy(account, tok, rhost, AIVENAUTH_MATCH_MAP, AIVENAUTH_OK);
}

START_TEST(map_decisions)
{
	struct aivenauth_decision d;
	struct aivenauth_request req = { "deploy", AIVENAUTH_MATCH_MAP, NULL,
	    "sshd", NULL, 0 };

	/* two application users into one account */
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("deploy", t_tf, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(aivenauth_verify(ctx, t_tf, FX_TOKEN_LEN, &req, &d), AIVENAUTH_OK);
	ck_assert_str_eq(d.user_name, "terraform-prod");
	ck_assert_str_eq(d.user_id, ID_TF);
	/* a third is not listed; nobody gets an account without a line */
	ck_assert_int_eq(as("deploy", t_ev, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	ck_assert_int_eq(as("nobody", t_ci, NULL), AIVENAUTH_REASON_MAP_NO_LINE);
	ck_assert_int_eq(as("Deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_NO_LINE);
	/* root only by its explicit line, and not for the deploy users */
	ck_assert_int_eq(as("root", t_ci, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	ck_assert_int_eq(as("root", t_ev, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	/* the app user's name is not an account of its own */
	ck_assert_int_eq(as("ci-runner", t_ci, NULL), AIVENAUTH_REASON_MAP_NO_LINE);
	/* glob + from= */
	ck_assert_int_eq(as("backup", t_bk, "10.1.2.3"), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("backup", t_bk, "2001:db8::5"), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("backup", t_bk, "::ffff:10.9.9.9"), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("backup", t_bk, "192.0.2.1"), AIVENAUTH_REASON_MAP_FROM);
	ck_assert_int_eq(as("backup", t_bk, NULL), AIVENAUTH_REASON_MAP_FROM);
	ck_assert_int_eq(as("backup", t_bk, "backup.example"), AIVENAUTH_REASON_MAP_FROM);
	ck_assert_int_eq(as("backup", t_ci, "10.1.2.3"), AIVENAUTH_REASON_MAP_NOT_LISTED);
	/* scope=: grafana's token has scopes, not projects:read */
	ck_assert_int_eq(as("postgres-ro", t_gr, NULL), AIVENAUTH_REASON_MAP_SCOPE);
	/* every existing check still holds first */
	ck_assert_int_eq(as("deploy", t_rv, NULL), AIVENAUTH_REASON_REVOKED);
	{
		char bad[FX_TOKEN_LEN + 1];

		memcpy(bad, t_ci, sizeof(bad));
		bad[100] = bad[100] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(as("deploy", bad, NULL), AIVENAUTH_REASON_SECRET_MISMATCH);
	}
	ck_assert_int_eq(as("deploy", "not a token", NULL), AIVENAUTH_REASON_NOT_TOKEN);
	/* no user at all */
	ck_assert_int_eq(as(NULL, t_ci, NULL), AIVENAUTH_REASON_MAP_NO_LINE);
}
END_TEST

START_TEST(any_never_admits_uid0)
{
	struct passwd *pw;

	ck_assert_int_eq(vfy("deploy", t_ev, NULL, AIVENAUTH_MATCH_ANY,
	    AIVENAUTH_OK), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(vfy("root", t_ev, NULL, AIVENAUTH_MATCH_ANY,
	    AIVENAUTH_OK), AIVENAUTH_REASON_ROOT_REFUSED);
	ck_assert_int_eq(vfy("root", t_ci, NULL, AIVENAUTH_MATCH_ANY,
	    AIVENAUTH_OK), AIVENAUTH_REASON_ROOT_REFUSED);
	/* whatever this host calls uid 0 (root here; toor elsewhere) */
	pw = getpwuid(0);
	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(vfy(pw->pw_name, t_ci, NULL, AIVENAUTH_MATCH_ANY,
	    AIVENAUTH_OK), AIVENAUTH_REASON_ROOT_REFUSED);
	/* a name that is not uid 0 */
	ck_assert_int_eq(vfy("nobody", t_ci, NULL, AIVENAUTH_MATCH_ANY,
	    AIVENAUTH_OK), AIVENAUTH_ACCEPTED);
	/* the map admits root by its explicit line */
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", mapfile), AIVENAUTH_OK);
	write_file(mapfile, "root ci-runner\n", 0644);
	ck_assert_int_eq(as("root", t_ci, NULL), AIVENAUTH_ACCEPTED);
}
END_TEST

/* A broken map: never a success, a status and a reason, and the log
 * says what is wrong. */
static void
refused(const char *account, const char *tok, enum aivenauth_status want,
    const char *logged)
{
	lg.len = 0;
	lg.buf[0] = '\0';
	ck_assert_int_eq(vfy(account, tok, NULL, AIVENAUTH_MATCH_MAP, want),
	    AIVENAUTH_REASON_MAP_UNAVAILABLE);
	ck_assert_msg(strstr(lg.buf, logged) != NULL, "want %s in: %s", logged,
	    lg.buf);
}

START_TEST(hostile_and_broken_maps)
{
	char link[600], other[600];
	int fd;

	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	/* syntax error: the whole map goes, the good lines with it */
	write_file(mapfile, "deploy ci-runner\nbackup backup-* from=10.0.0.0/99\n", 0644);
	refused("deploy", t_ci, AIVENAUTH_ERR_CONFIG, ":2:22: ");
	/* group- and world-writable */
	write_file(mapfile, map_text, 0664);
	refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, "group-writable");
	write_file(mapfile, map_text, 0666);
	refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, "world-writable");
	/* an owner other than root (or us) */
	write_file(mapfile, map_text, 0644);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(mapfile, 65534, 65534), 0);
		refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, "owned by uid 65534");
		ck_assert_int_eq(chown(mapfile, 0, 0), 0);
	}
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	/* a symlink to a perfectly good map */
	snprintf(other, sizeof(other), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	write_file(other, map_text, 0644);
	ck_assert_int_eq(symlink(other, link), 0);
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", link), AIVENAUTH_OK);
	refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, "symlink");
	/* missing */
	snprintf(other, sizeof(other), "%s/missing", dir);
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", other), AIVENAUTH_OK);
	refused("deploy", t_ci, AIVENAUTH_ERR_CONFIG, "does not exist");
	/* a directory, a FIFO */
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", dir), AIVENAUTH_OK);
	refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, "not a regular file");
	snprintf(other, sizeof(other), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(other, 0644), 0);
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", other), AIVENAUTH_OK);
	refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, "not a regular file");
	/* NUL bytes, a huge file */
	snprintf(other, sizeof(other), "%s/nul", dir);
	fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_eq(write(fd, "deploy ci-runner\0\n", 18), 18);
	close(fd);
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", other), AIVENAUTH_OK);
	refused("deploy", t_ci, AIVENAUTH_ERR_CONFIG, "NUL byte");
	fd = open(other, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(ftruncate(fd, ACCTMAP_MAX_FILE + 1), 0);
	close(fd);
	refused("deploy", t_ci, AIVENAUTH_ERR_TOO_LARGE, "too large");
	/* and back to a good one */
	ck_assert_int_eq(aivenauth_config_set(ctx, "account_map_file", mapfile), AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	/* O3: a good map in a directory others may write to (they could
	 * swap an older map in): refused at its next read, naming the
	 * directory, its owner and mode, and the fix */
	ck_assert_int_eq(chmod(dir, 0775), 0);
	write_file(mapfile, map_text, 0644);
	{
		char want[1400];

		snprintf(want, sizeof(want), "directory %s of account map %s "
		    "is group-writable without the sticky bit (owner uid %u, "
		    "mode 0775)", dir, mapfile, (unsigned)geteuid());
		refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, want);
	}
	refused("deploy", t_ci, AIVENAUTH_ERR_UNSAFE_FILE, "run: chmod go-w");
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
}
END_TEST

/* O2 through the login path: the map file holds a cut last line that
 * would admit more (from=10.0.0.0/16 cut to /1 admits 100.1.1.1; cut
 * before from= admits anywhere): refused, never that map. */
START_TEST(partial_map_file_refused)
{
	ck_assert_int_eq(as("backup", t_bk, "100.1.1.1"),
	    AIVENAUTH_REASON_MAP_FROM);
	write_file(mapfile, "deploy ci-runner\nbackup backup-* "
	    "from=10.0.0.0/1", 0644);
	refused("backup", t_bk, AIVENAUTH_ERR_CONFIG, ":2:32: the last line "
	    "does not end in a newline");
	write_file(mapfile, "deploy ci-runner\nbackup backup-*", 0644);
	refused("backup", t_bk, AIVENAUTH_ERR_CONFIG, "partial write");
	/* the whole file, once written */
	write_file(mapfile, "deploy ci-runner\nbackup backup-* "
	    "from=10.0.0.0/16\n", 0644);
	ck_assert_int_eq(as("backup", t_bk, "10.0.1.1"), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("backup", t_bk, "100.1.1.1"),
	    AIVENAUTH_REASON_MAP_FROM);
}
END_TEST

/*
 * O2 under a real writer: a child rewrites the map in place (truncate,
 * then a page at a time) while we load it STRESS_READS times.  Pass or
 * fail is a count, not a time: zero maps accepted that hold a line
 * different from the full file's (a prefix that ends at a line boundary,
 * fewer accounts, is narrower and allowed).  How often the race hits
 * depends on the machine; the deterministic cut tests above are the
 * guard, this one checks the loader as a whole.
 */
#define STRESS_LINES 300
#define STRESS_CUTS 200         /* cut reads to see, at most ... */
#define STRESS_READS 50000      /* ... in this many reads */

static void
stress_line(char *buf, size_t n, int i)
{
	snprintf(buf, n, "acct%03d app%03d-prod-* from=10.%d.0.0/16\n", i, i,
	    i % 256);
}

START_TEST(in_place_rewrite_never_wider)
{
	static char full[STRESS_LINES * 64];
	size_t len = 0, wider = 0, accepted = 0, shorter = 0, refusedn = 0;
	size_t empty = 0, reads;
	char line[64], acct[32], want[64], wfrom[64];
	pid_t pid;
	int i, status;

	for (i = 0; i < STRESS_LINES; i++) {
		stress_line(line, sizeof(line), i);
		memcpy(full + len, line, strlen(line));
		len += strlen(line);
	}
	write_file(mapfile, "", 0644);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;) {
			int fd = open(mapfile, O_WRONLY | O_TRUNC);
			size_t off;

			if (fd < 0)
				_exit(1);
			for (off = 0; off < len; off += 4096) {
				size_t n = len - off < 4096 ? len - off : 4096;

				if (write(fd, full + off, n) != (ssize_t)n)
					_exit(1);
			}
			close(fd);
		}
	}
	aivenauth_set_log(ctx, fx_log_fn, &lg, 0);   /* refusals expected */
	for (reads = 0; reads < STRESS_READS && refusedn < STRESS_CUTS;
	    reads++) {
		struct aivenauth_account_map *m = NULL;
		size_t k;

		if (aivenauth_account_map_load(ctx, mapfile, &m) != AIVENAUTH_OK) {
			refusedn++;
			continue;
		}
		accepted++;
		if (aivenauth_account_map_count(m) == 0)
			empty++;
		else if (aivenauth_account_map_count(m) < STRESS_LINES)
			shorter++;
		for (k = 0; k < aivenauth_account_map_count(m); k++) {
			const struct aivenauth_account_entry *e =
			    aivenauth_account_map_entry(m, k);

			snprintf(acct, sizeof(acct), "acct%03d", (int)k);
			snprintf(want, sizeof(want), "app%03d-prod-*", (int)k);
			snprintf(wfrom, sizeof(wfrom), "10.%d.0.0/16", (int)k % 256);
			if (strcmp(e->account, acct) != 0 || e->n_users != 1 ||
			    strcmp(e->users[0], want) != 0 || e->from == NULL ||
			    strcmp(e->from, wfrom) != 0)
				wider++;
		}
		aivenauth_account_map_free(m);
	}
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	fprintf(stderr, "in_place_rewrite_never_wider: %zu reads: %zu accepted "
	    "(%zu empty, %zu a line-boundary prefix), %zu refused, %zu wider\n",
	    reads, accepted, empty, shorter, refusedn, wider);
	ck_assert_uint_eq(wider, 0);
}
END_TEST

/*
 * O4 (docs/SECURITY.md): names are display names.  A second application
 * user called "ci-runner" appears: the line listing "ci-runner" by name
 * admits neither (map-ambiguous-name); a line listing the id admits that
 * one user; a glob admits every name like it, as a glob says.  The
 * repeated names come from the record the writer stored: no pass in the
 * reader, at the first login or any later one.
 */
#define ID_C2 "u00000000c2c"

START_TEST(ambiguous_name_refused)
{
	char t_c2[FX_TOKEN_LEN + 1];
	unsigned long b0;

	/* the writer stored the repeated names: no pass in the reader */
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_uint_eq(dupnames_builds(ctx), 0);
	/* an org admin creates a second ci-runner, with a token */
	fx_add_user(&snap, ID_C2, "ci-runner");
	fx_token(t_c2, 0);
	fx_add_token(&snap, ID_C2, t_c2);
	ck_assert_int_eq(aivenauth_cache_apply(ctx, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(ctx, ID_C2, t_c2, FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	aivenauth_cache_close(ctx);
	lg.len = 0;
	lg.buf[0] = '\0';
	ck_assert_int_eq(as("deploy", t_c2, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	b0 = dupnames_builds(ctx);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(as("deploy", t_ci, NULL),
		    AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	ck_assert_uint_eq(dupnames_builds(ctx), b0);
	ck_assert_uint_eq(b0, 0);
	/* by id: that one user, the other refused; the name beside the id
	 * does not make the id ambiguous */
	write_file(mapfile, "deploy " ID_CI "\n", 0644);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("deploy", t_c2, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	write_file(mapfile, "deploy ci-runner " ID_CI "\n", 0644);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("deploy", t_c2, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	/* a glob: every name like it, both */
	write_file(mapfile, "deploy ci-*\n", 0644);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("deploy", t_c2, NULL), AIVENAUTH_ACCEPTED);
	/* names nobody else holds are untouched */
	write_file(mapfile, "deploy terraform-prod ci-runner\n", 0644);
	ck_assert_int_eq(as("deploy", t_tf, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_str_eq(aivenauth_reason_name(AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME),
	    "map-ambiguous-name");
}
END_TEST

/*
 * Review 4 F1: a long-lived reader (saslauthd, an nginx worker: one
 * context, many logins) sees a second "ci-runner" at its next login, both
 * when `token create` stores a user newer than the last sync (no new
 * generation) and when a sync brings one.  Snapshots are compact copies
 * (transaction id 1) and a reopened environment may land at the old one's
 * address: the warm-up republishes a few times, reading between, as the
 * review's repro did, so that a cache keyed on those would go stale.
 */
#define ID_C3 "u00000000c3c"

static void
republish(struct aivenauth_ctx *w, char *tok)
{
	char p[FX_PREFIX_LEN + 1];

	memcpy(p, tok, FX_PREFIX_LEN);
	p[FX_PREFIX_LEN] = '\0';
	ck_assert_int_eq(aivenauth_cache_revoke(w, p, 0), AIVENAUTH_OK);
}

START_TEST(long_lived_sees_new_namesake)
{
	struct aivenauth_ctx *w;
	struct aivenauth_token meta;
	char t_c2[FX_TOKEN_LEN + 1], t_c3[FX_TOKEN_LEN + 1], p2[FX_PREFIX_LEN + 1];
	char warm[12][FX_TOKEN_LEN + 1];
	int i;

	/* warm-up tokens of "evil" (a name line-free of the map): each
	 * revocation below is one more published snapshot */
	for (i = 0; i < 12; i++) {
		fx_token(warm[i], 0);
		fx_add_token(&snap, ID_EV, warm[i]);
	}
	w = fx_ctx(dir);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, 0, NULL), AIVENAUTH_OK);
	for (i = 0; i < 12; i++) {
		republish(w, warm[i]);
		ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	}
	/* token create for a user the last sync did not have */
	fx_token(t_c2, 0);
	memcpy(p2, t_c2, FX_PREFIX_LEN);
	p2[FX_PREFIX_LEN] = '\0';
	memset(&meta, 0, sizeof(meta));
	meta.prefix = p2;
	meta.user_id = (char *)ID_C2;
	meta.user_name = (char *)"ci-runner";
	ck_assert_int_eq(aivenauth_cache_put_token(w, &meta, t_c2, FX_TOKEN_LEN),
	    AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_c2, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	/* a sync that drops it (the API never had it): by name again */
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	/* a sync that brings a third user called ci-runner */
	fx_add_user(&snap, ID_C3, "ci-runner");
	fx_token(t_c3, 0);
	fx_add_token(&snap, ID_C3, t_c3);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_cache_enroll(w, ID_C3, t_c3, FX_TOKEN_LEN, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_c3, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	/* every answer came from the writer's record: no pass in the reader */
	ck_assert_uint_eq(dupnames_builds(ctx), 0);
	aivenauth_ctx_free(w);
}
END_TEST

/*
 * Data of an older writer carries no repeated-names record: the reader
 * works it out once per published snapshot (keyed on the snapshot's random
 * id) and a new snapshot is worked out again.  A record that does not
 * describe the users beside it (made for another number of users) is
 * never trusted.
 */
static enum aivenauth_status
drop_record(struct aivenauth_ctx *w, MDB_txn *txn, void *arg)
{
	MDB_val k = { sizeof(DUPNAMES_KEY) - 1, DUPNAMES_KEY };
	int rc = mdb_del(txn, w->cache->meta, &k, NULL);

	(void)arg;
	return rc == 0 || rc == MDB_NOTFOUND ? AIVENAUTH_OK : AIVENAUTH_ERR_IO;
}

/* A user stored behind the writer's back (arg: its id), name ci-runner. */
static enum aivenauth_status
raw_user(struct aivenauth_ctx *w, MDB_txn *txn, void *arg)
{
	struct aivenauth_user u;
	struct buf b;
	MDB_val k, v;
	int rc;

	memset(&u, 0, sizeof(u));
	u.user_id = arg;
	u.name = (char *)"ci-runner";
	buf_init(&b, 1 << 20, false);
	ck_assert_int_eq(user_encode(&u, &b), AIVENAUTH_OK);
	k.mv_data = arg;
	k.mv_size = strlen(arg);
	v.mv_data = b.data;
	v.mv_size = b.len;
	rc = mdb_put(txn, w->cache->users, &k, &v, 0);
	buf_free(&b);
	return rc == 0 ? AIVENAUTH_OK : AIVENAUTH_ERR_IO;
}

START_TEST(older_writer_snapshot_falls_back)
{
	struct aivenauth_ctx *w = fx_ctx(dir);

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(cache_write(w, drop_record, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_uint_eq(dupnames_builds(ctx), 1);
	ck_assert_ptr_nonnull(strstr(lg.buf, "carries no repeated-names record"));
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_uint_eq(dupnames_builds(ctx), 1);
	/* a new snapshot, still without a record, with a namesake */
	ck_assert_int_eq(cache_write(w, raw_user, (void *)ID_C2), AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	ck_assert_uint_eq(dupnames_builds(ctx), 2);
	/* a sync stores the record again (the namesake is dropped: the API
	 * does not list it), and it is read, not worked out */
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_uint_eq(dupnames_builds(ctx), 2);
	/* a user stored without updating the record: the count disagrees */
	ck_assert_int_eq(cache_write(w, raw_user, (void *)ID_C3), AIVENAUTH_OK);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME);
	ck_assert_ptr_nonnull(strstr(lg.buf, "made for other users"));
	aivenauth_ctx_free(w);
}
END_TEST

START_TEST(reload_on_change_only)
{
	char tmp[600];
	unsigned long r0;

	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	r0 = acctmap_reads(ctx);
	ck_assert_uint_eq(r0, 1);
	/* unchanged: not read again, however many logins */
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(as("deploy", t_tf, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_uint_eq(acctmap_reads(ctx), r0);
	/* in-place rewrite of the same size: terraform-prod becomes evil;
	 * settled again so only the identity (ctime, size) can tell */
	{
		char *edited = strdup(map_text), *at = strstr(edited, ID_TF);

		memcpy(at, ID_EV, strlen(ID_EV));
		write_file(mapfile, edited, 0644);
		free(edited);
	}
	settle(mapfile);
	ck_assert_int_eq(as("deploy", t_tf, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	ck_assert_int_eq(as("deploy", t_ev, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_uint_eq(acctmap_reads(ctx), r0 + 1);
	/* rename into place (the editor's and the package manager's way) */
	snprintf(tmp, sizeof(tmp), "%s/accounts.new", dir);
	write_file(tmp, "deploy terraform-prod\n", 0644);
	settle(tmp);
	ck_assert_int_eq(rename(tmp, mapfile), 0);
	ck_assert_int_eq(as("deploy", t_ev, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	ck_assert_int_eq(as("deploy", t_tf, NULL), AIVENAUTH_ACCEPTED);
	ck_assert_int_eq(as("backup", t_bk, "10.0.0.1"), AIVENAUTH_REASON_MAP_NO_LINE);
	ck_assert_uint_eq(acctmap_reads(ctx), r0 + 2);
	/* a fresh edit (not settled) is re-read at each use until it is
	 * older than the file system's clock tick could hide */
	write_file(mapfile, "deploy ci-runner\n", 0644);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_ACCEPTED);
	write_file(mapfile, "deploy evil-xxxx\n", 0644);   /* same size */
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	/* chmod alone is seen too */
	settle(mapfile);
	ck_assert_int_eq(as("deploy", t_ci, NULL), AIVENAUTH_REASON_MAP_NOT_LISTED);
	ck_assert_int_eq(chmod(mapfile, 0666), 0);
	ck_assert_int_eq(vfy("deploy", t_ci, NULL, AIVENAUTH_MATCH_MAP,
	    AIVENAUTH_ERR_UNSAFE_FILE), AIVENAUTH_REASON_MAP_UNAVAILABLE);
	/* a map that turned bad does not leave the old one in force */
	ck_assert_int_eq(chmod(mapfile, 0644), 0);
	write_file(mapfile, "deploy ci-runner\nbroken\n", 0644);
	ck_assert_int_eq(vfy("deploy", t_ci, NULL, AIVENAUTH_MATCH_MAP,
	    AIVENAUTH_ERR_CONFIG), AIVENAUTH_REASON_MAP_UNAVAILABLE);
}
END_TEST

START_TEST(public_load_and_config_key)
{
	struct aivenauth_account_map *m = NULL;
	char other[600];

	ck_assert_str_eq(aivenauth_config_get(ctx, "account_map_file"), mapfile);
	ck_assert_int_eq(aivenauth_account_map_load(ctx, NULL, &m), AIVENAUTH_OK);
	ck_assert_uint_eq(aivenauth_account_map_count(m), 4);
	aivenauth_account_map_free(m);
	snprintf(other, sizeof(other), "%s/nope", dir);
	ck_assert_int_eq(aivenauth_account_map_load(ctx, other, &m), AIVENAUTH_ERR_NOT_FOUND);
	ck_assert_ptr_null(m);
	ck_assert_int_ne(aivenauth_config_set(ctx, "account_map_file", "relative"), AIVENAUTH_OK);
	{
		struct aivenauth_ctx *c2;

		ck_assert_int_eq(aivenauth_ctx_new(&c2), AIVENAUTH_OK);
		ck_assert_str_eq(aivenauth_config_get(c2, "account_map_file"),
		    AIVENAUTH_SYSCONFDIR "/aivenauth/accounts");
		aivenauth_ctx_free(c2);
	}
}
END_TEST

START_TEST(reason_names)
{
	static const char *const want[] = { "map-no-line", "map-not-listed",
	    "map-from", "map-scope", "map-unavailable", "root-refused" };
	int r;

	for (r = AIVENAUTH_REASON_MAP_NO_LINE; r <= AIVENAUTH_REASON_ROOT_REFUSED; r++) {
		ck_assert_str_eq(aivenauth_reason_name(r),
		    want[r - AIVENAUTH_REASON_MAP_NO_LINE]);
		ck_assert_str_ne(aivenauth_reason_text(r), "unknown reason");
	}
}
END_TEST

static Suite *
acctmap_suite(void)
{
	Suite *s = suite_create("acctmap");
	TCase *tc = tcase_create("parser");

	tcase_add_checked_fixture(tc, psetup, pteardown);
	tcase_add_test(tc, design_example_parses);
	tcase_add_test(tc, syntax_errors_name_line_and_column);
	tcase_add_test(tc, matching_names_ids_globs);
	tcase_add_test(tc, glob_is_not_exponential);
	tcase_add_test(tc, cut_last_line_is_refused);
	tcase_add_test(tc, short_or_long_read_is_refused);
	tcase_add_test(tc, reason_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("verify");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, map_decisions);
	tcase_add_test(tc, any_never_admits_uid0);
	tcase_add_test(tc, hostile_and_broken_maps);
	tcase_add_test(tc, partial_map_file_refused);
	tcase_add_test(tc, in_place_rewrite_never_wider);
	tcase_add_test(tc, ambiguous_name_refused);
	tcase_add_test(tc, long_lived_sees_new_namesake);
	tcase_add_test(tc, older_writer_snapshot_falls_back);
	tcase_add_test(tc, reload_on_change_only);
	tcase_add_test(tc, public_load_and_config_key);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(acctmap_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
