/*
 * check_saslauthd.c - aivenauth-saslauthd's pieces: the request parser
 * and answer encoder (saslauthd/proto.c), the policy file
 * (saslauthd/policy.c), and decisions through a real cache
 * (saslauthd/decide.c): realm handling, user match, scope, and the
 * ip_allowlist refusal of a path that carries no client address.
 */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "aivenauth.h"
#include "helpers/fixture.h"
#include "../saslauthd/decide.h"
#include "../saslauthd/fdlimit.h"
#include "../saslauthd/log.h"
#include "../saslauthd/policy.h"
#include "../saslauthd/proto.h"
#include "../pam_aiven/args.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Encode a request of four fields (lengths given: a field may hold NUL). */
static size_t
req4(unsigned char *out, const char *const f[4], const size_t n[4])
{
	size_t pos = 0;
	int i;

	for (i = 0; i < 4; i++) {
		out[pos++] = (unsigned char)(n[i] >> 8);
		out[pos++] = (unsigned char)(n[i] & 0xff);
		memcpy(out + pos, f[i], n[i]);
		pos += n[i];
	}
	return pos;
}

static size_t
req_str(unsigned char *out, const char *a, const char *b, const char *c,
    const char *d)
{
	const char *f[4] = { a, b, c, d };
	size_t n[4] = { strlen(a), strlen(b), strlen(c), strlen(d) };

	return req4(out, f, n);
}

static unsigned char rbuf[SA_REQUEST_MAX + 64];

START_TEST(test_parse_whole)
{
	struct sa_fields f;
	size_t n = req_str(rbuf, "alice", "secret", "smtp", "example.com");

	ck_assert_int_eq(sa_parse(rbuf, n, &f), SA_PARSE_DONE);
	ck_assert_uint_eq(f.len[SA_LOGIN], 5);
	ck_assert(memcmp(rbuf + f.off[SA_LOGIN], "alice", 5) == 0);
	ck_assert(memcmp(rbuf + f.off[SA_PASSWORD], "secret", 6) == 0);
	ck_assert(memcmp(rbuf + f.off[SA_SERVICE], "smtp", 4) == 0);
	ck_assert(memcmp(rbuf + f.off[SA_REALM], "example.com", 11) == 0);
}
END_TEST

/* Every proper prefix of a valid request asks for more. */
START_TEST(test_parse_prefixes)
{
	size_t n = req_str(rbuf, "alice", "secret", "smtp", ""), i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(sa_parse(rbuf, i, NULL), SA_PARSE_MORE);
	ck_assert_int_eq(sa_parse(rbuf, n, NULL), SA_PARSE_DONE);
}
END_TEST

START_TEST(test_parse_empty_fields)
{
	struct sa_fields f;
	size_t n = req_str(rbuf, "", "", "", "");

	ck_assert_uint_eq(n, 8);
	ck_assert_int_eq(sa_parse(rbuf, n, &f), SA_PARSE_DONE);
	ck_assert_uint_eq(f.len[SA_REALM], 0);
}
END_TEST

/* A field at its cap is fine; one byte more is refused on the length
 * word alone, before any of its bytes are there. */
START_TEST(test_parse_caps)
{
	static char big[SA_PASSWORD_MAX + 2];
	const char *f[4] = { big, big, big, big };
	size_t n[4] = { 1, 1, 1, 1 };
	enum sa_field which = (enum sa_field)_i;
	size_t len;

	memset(big, 'a', sizeof(big) - 1);
	n[which] = sa_field_max(which);
	len = req4(rbuf, f, n);
	ck_assert_int_eq(sa_parse(rbuf, len, NULL), SA_PARSE_DONE);
	n[which] = sa_field_max(which) + 1;
	len = req4(rbuf, f, n);
	ck_assert_int_eq(sa_parse(rbuf, len, NULL), SA_PARSE_TOO_LONG);
	/* The length word is enough. */
	{
		size_t pos = 0;
		int i;

		for (i = 0; i < (int)which; i++)
			pos += 2 + n[i];
		ck_assert_int_eq(sa_parse(rbuf, pos + 2, NULL), SA_PARSE_TOO_LONG);
	}
}
END_TEST

START_TEST(test_parse_high_byte)
{
	/* A 372-byte field: the high byte is 1 (a Go drop-in refused it). */
	static char tok[373];
	struct sa_fields f;
	size_t n;

	memset(tok, 'A', 372);
	n = req_str(rbuf, "alice", tok, "smtp", "");
	ck_assert_uint_eq(rbuf[2 + 5], 1);
	ck_assert_int_eq(sa_parse(rbuf, n, &f), SA_PARSE_DONE);
	ck_assert_uint_eq(f.len[SA_PASSWORD], 372);
}
END_TEST

START_TEST(test_parse_nul_inside)
{
	const char *f[4] = { "al\0ice", "x", "smtp", "" };
	size_t n[4] = { 6, 1, 4, 0 }, len;
	int i;

	for (i = 0; i < 3; i++) {
		const char *g[4] = { "a", "b", "c", "d" };
		size_t m[4] = { 1, 1, 1, 1 };

		g[i] = f[0];
		m[i] = n[0];
		len = req4(rbuf, g, m);
		ck_assert_int_eq(sa_parse(rbuf, len, NULL), SA_PARSE_BAD);
	}
	len = req4(rbuf, f, n);
	ck_assert_int_eq(sa_parse(rbuf, len, NULL), SA_PARSE_BAD);
}
END_TEST

START_TEST(test_parse_trailing)
{
	size_t n = req_str(rbuf, "alice", "secret", "smtp", "");

	rbuf[n] = 0;
	ck_assert_int_eq(sa_parse(rbuf, n + 1, NULL), SA_PARSE_BAD);
	/* A second request behind the first: one per connection. */
	memcpy(rbuf + n, rbuf, n);
	ck_assert_int_eq(sa_parse(rbuf, 2 * n, NULL), SA_PARSE_BAD);
}
END_TEST

START_TEST(test_parse_random)
{
	unsigned seed = 12345;
	size_t i, n;
	int k;

	/* Never reads past n, never says DONE for what is not exactly one
	 * request (ASan and the fuzzer see the rest). */
	for (k = 0; k < 20000; k++) {
		n = (size_t)(rand_r(&seed) % 64);
		for (i = 0; i < n; i++)
			rbuf[i] = (unsigned char)(rand_r(&seed) % 8);
		(void)sa_parse(rbuf, n, NULL);
	}
	ck_assert_int_eq(sa_parse(rbuf, 0, NULL), SA_PARSE_MORE);
}
END_TEST

START_TEST(test_answer)
{
	unsigned char out[SA_ANSWER_MAX];
	size_t n;
	char longtext[300];

	n = sa_answer(out, true, "Success.");
	ck_assert_uint_eq(n, 2 + 11);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[1], 11);
	ck_assert(memcmp(out + 2, "OK Success.", 11) == 0);
	n = sa_answer(out, false, NULL);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(out + 2, "NO", 2) == 0);
	n = sa_answer(out, false, "bad\nline\x01");
	ck_assert(memcmp(out + 2, "NO bad?line?", 12) == 0);
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	n = sa_answer(out, false, longtext);
	ck_assert_uint_eq(n, SA_ANSWER_MAX);
	ck_assert_uint_eq(((size_t)out[0] << 8 | out[1]) + 2, n);
}
END_TEST

/* ------------------------------------------------------------ policy */

START_TEST(test_policy_good)
{
	static const char text[] =
	    "# comment\n"
	    "\n"
	    "*     user_match=id\n"
	    "smtp  user_match=email scope=smtp realm=ignore   # trailing\n"
	    "ldap  realm=list realms=Example.COM,-\n"
	    "imap  user_match=map account_map=/etc/aivenauth/accounts.imap\n";
	struct sp_table t;
	const struct sp_policy *p;
	char err[256] = "";

	memset(&t, 0, sizeof(t));
	ck_assert_msg(sp_parse(text, sizeof(text) - 1, "P", &t, err, sizeof(err)),
	    "%s", err);
	p = sp_lookup(&t, "smtp");
	ck_assert_str_eq(p->service, "smtp");
	ck_assert_int_eq(p->user_match, AIVENAUTH_MATCH_EMAIL);
	ck_assert_str_eq(p->scope, "smtp");
	ck_assert_int_eq(p->realm, SP_REALM_IGNORE);
	p = sp_lookup(&t, "ldap");
	ck_assert_int_eq(p->realm, SP_REALM_LIST);
	/* A line stands alone: not the "*" line's user_match. */
	ck_assert_int_eq(p->user_match, AIVENAUTH_MATCH_NAME);
	ck_assert(sp_realm_listed(p, "example.com"));
	ck_assert(sp_realm_listed(p, ""));
	ck_assert(!sp_realm_listed(p, "example.org"));
	p = sp_lookup(&t, "imap");
	ck_assert_str_eq(p->service, "imap");
	ck_assert_int_eq(p->user_match, AIVENAUTH_MATCH_MAP);
	ck_assert_str_eq(p->account_map, "/etc/aivenauth/accounts.imap");
	p = sp_lookup(&t, "pop3");
	ck_assert_str_eq(p->service, "*");
	ck_assert_int_eq(p->user_match, AIVENAUTH_MATCH_ID);
	sp_free(&t);
}
END_TEST

START_TEST(test_policy_builtin)
{
	struct sp_table t;
	const struct sp_policy *p;
	char err[256];

	memset(&t, 0, sizeof(t));
	ck_assert(sp_parse("", 0, "P", &t, err, sizeof(err)));
	p = sp_lookup(&t, "smtp");
	ck_assert_int_eq(p->user_match, AIVENAUTH_MATCH_NAME);
	ck_assert_int_eq(p->realm, SP_REALM_REJOIN);
	ck_assert_ptr_null(p->scope);
	sp_free(&t);
}
END_TEST

static const struct {
	const char *text;
	const char *msg;      /* a piece of the message */
} bad_policies[] = {
	{ "smtp user_match=nmae\n", "P:1: user_match=nmae" },
	/* The module's parser, with its "did you mean" (pam_aiven/args.c). */
	{ "smtp user_match=nmae\n", "did you mean \"name\"" },
	{ "smtp user_match=map account_map=rel\n", "an absolute path" },
	/* The module's other options are not policy options. */
	{ "smtp non_token=ignore\n", "unknown option" },
	{ "smtp config=/etc/x\n", "unknown option" },
	{ "smtp\nsmtp realm=ignore\n", "P:2: service smtp has a line already" },
	{ "*\n* realm=ignore\n", "P:2: service * has a line already" },
	{ "smtp user_match=name user_match=any\n", "given twice" },
	{ "smtp usermatch=any\n", "unknown option" },
	{ "smtp realm=list\n", "realm=list needs realms" },
	{ "smtp realms=example.com\n", "only read with realm=list" },
	{ "smtp realm=list realms=a,,b\n", "not a realm" },
	{ "smtp realm=list realms=a,\n", "empty entry" },
	{ "smtp realm=everything\n", "realm=everything" },
	{ "sm/tp\n", "not a SASL service name" },
	{ "smtp scope=\n", "key=value" },
	{ "smtp any\n", "key=value" },
	{ "\n\nsmtp scope=a,b\n", "P:3:" },
	{ "smtp account_map=/etc/x\n", "only read with user_match=map" },
	{ "smtp user_match=map account_map=x\n", "absolute path" },
	/* Two lines for one service, differing only in case (O5). */
	{ "smtp realm=ignore\n# x\nSMTP user_match=any\n",
	  "P:3: service SMTP has a line already (line 1, as smtp" },
	{ "Ldap\nlDAP\n", "P:2: service lDAP has a line already (line 1, as Ldap" },
};

START_TEST(test_policy_bad)
{
	struct sp_table t;
	char err[256] = "";
	const char *text = bad_policies[_i].text;

	memset(&t, 0, sizeof(t));
	ck_assert(!sp_parse(text, strlen(text), "P", &t, err, sizeof(err)));
	ck_assert_msg(strstr(err, bad_policies[_i].msg) != NULL,
	    "\"%s\" does not contain \"%s\"", err, bad_policies[_i].msg);
	ck_assert_uint_eq(t.n, 0);
	sp_free(&t);
}
END_TEST

/* Service names are matched without case (ASCII): the operator's "SMTP"
 * is the client's "smtp" and the other way round (O5). */
START_TEST(test_policy_case)
{
	static const char text[] = "SMTP user_match=email\nldap user_match=id\n";
	struct sp_table t;
	char err[256] = "";

	memset(&t, 0, sizeof(t));
	ck_assert_msg(sp_parse(text, sizeof(text) - 1, "P", &t, err, sizeof(err)),
	    "%s", err);
	ck_assert_str_eq(sp_lookup(&t, "smtp")->service, "SMTP");
	ck_assert_str_eq(sp_lookup(&t, "Smtp")->service, "SMTP");
	ck_assert_str_eq(sp_lookup(&t, "LDAP")->service, "ldap");
	ck_assert_int_eq(sp_lookup(&t, "LDAP")->user_match, AIVENAUTH_MATCH_ID);
	/* ASCII only: no locale folds another byte onto a name. */
	ck_assert_str_eq(sp_lookup(&t, "smtp\xc4\xb1")->service, "*");
	ck_assert_str_eq(sp_lookup(&t, "smt")->service, "*");
	ck_assert_str_eq(sp_lookup(&t, "smtpx")->service, "*");
	sp_free(&t);
}
END_TEST

/* Every user_match value pam_aiven's parser knows (pam_aiven/args.c), the
 * policy file knows, by the same name: one table for both (O5). */
START_TEST(test_policy_user_match_shared)
{
	struct sp_table t;
	char text[128], err[256] = "";
	const char *name;
	int m, known = 0;

	for (m = 0; m < 64; m++) {
		name = pa_user_match_name((enum aivenauth_user_match)m);
		if (strcmp(name, "?") == 0)
			continue;
		known++;
		snprintf(text, sizeof(text), "smtp user_match=%s%s\n", name,
		    m == AIVENAUTH_MATCH_MAP ? " account_map=/etc/x" : "");
		memset(&t, 0, sizeof(t));
		ck_assert_msg(sp_parse(text, strlen(text), "P", &t, err,
		    sizeof(err)), "%s: %s", text, err);
		ck_assert_int_eq(sp_lookup(&t, "smtp")->user_match, m);
		sp_free(&t);
	}
	ck_assert_int_ge(known, 5);
}
END_TEST

/* A failed parse leaves an earlier table as it was. */
START_TEST(test_policy_keep_on_error)
{
	struct sp_table t;
	char err[256];

	memset(&t, 0, sizeof(t));
	ck_assert(sp_parse("smtp user_match=any\n", 20, "P", &t, err, sizeof(err)));
	ck_assert(!sp_parse("smtp bogus=1\n", 13, "P", &t, err, sizeof(err)));
	ck_assert_uint_eq(t.n, 1);
	ck_assert_int_eq(sp_lookup(&t, "smtp")->user_match, AIVENAUTH_MATCH_ANY);
	sp_free(&t);
}
END_TEST

/*
 * A token pasted into the policy file, wherever it lands, is not echoed by
 * the message that refuses it (or by --check's account of the policy):
 * every site goes through pa_log_field (review 3, r5).  Each case is one
 * place a message shows a piece of the file.
 */
static char ptok[373];          /* a token's shape: prefix, then base64 */
static char ppiece[41];         /* 40 of its characters, a valid service name */

static void
make_ptok(void)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	uint32_t x = 2463534242u;
	size_t i;

	memcpy(ptok, "aivq7Rk2TQxA", 12);
	for (i = 12; i < 372; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		ptok[i] = b64[x % 64];
	}
	ptok[40] = '+';                 /* not a realm, not a service name */
	ptok[372] = '\0';
	for (i = 0; i < 40; i++)
		ppiece[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"[(ptok[60 + i] +
		    (int)i) % 40];
	ppiece[40] = '\0';
}

/* fmt with each '@' replaced by v (the file's text). */
static size_t
subst(char *out, size_t size, const char *fmt, const char *v)
{
	size_t n = 0, k = strlen(v);

	for (; *fmt != '\0'; fmt++) {
		ck_assert(n + k + 1 < size);
		if (*fmt == '@') {
			memcpy(out + n, v, k);
			n += k;
		} else {
			out[n++] = *fmt;
		}
	}
	out[n] = '\0';
	return n;
}

/* Is any 16 characters of s (from its 12th on) in msg? */
static bool
has_piece(const char *msg, const char *s)
{
	char w[17];
	size_t i, n = strlen(s);

	for (i = 12; i + 16 <= n; i++) {
		memcpy(w, s + i, 16);
		w[16] = '\0';
		if (strstr(msg, w) != NULL)
			return true;
	}
	return false;
}

static const struct {
	const char *fmt;        /* @ the token-shaped value */
	bool piece;             /* the 40-character piece, not the token */
} tok_sites[] = {
	{ "smtp @\n", false },                        /* a bare word */
	{ "smtp @=\n", false },                       /* key= and no value */
	{ "smtp @=1\n", false },                      /* an unknown key */
	{ "smtp realm=@\n", false },
	{ "smtp realm=list realms=example.com,@\n", false },
	{ "smtp scope=@,x\n", false },
	{ "@ user_match=name\n", false },              /* a service name */
	{ "@\n@ realm=ignore\n", true },            /* one, twice */
	{ "x@\nX@ realm=ignore\n", true },          /* one, twice by case */
	{ "smtp user_match=@\n", false },              /* the module's parser */
};

START_TEST(test_policy_token_not_echoed)
{
	struct sp_table t;
	char text[1024], err[512] = "";
	const char *v;
	size_t n;

	make_ptok();
	v = tok_sites[_i].piece ? ppiece : ptok;
	n = subst(text, sizeof(text), tok_sites[_i].fmt, v);
	memset(&t, 0, sizeof(t));
	ck_assert(!sp_parse(text, n, "P", &t, err, sizeof(err)));
	ck_assert_msg(!has_piece(err, v), "case %d echoes the token: %s", _i, err);
	ck_assert_msg(strstr(err, "token-shaped") != NULL,
	    "case %d: the message does not say what it left out: %s", _i, err);
	sp_free(&t);
}
END_TEST

/* The file's name (the operator's, from argv) is shown as a path: a real
 * one whole, a token in its place not. */
START_TEST(test_policy_token_file_name)
{
	struct sp_table t;
	char name[400], err[512] = "";

	make_ptok();
	memset(&t, 0, sizeof(t));
	ck_assert(!sp_parse("smtp x\n", 7, "/etc/aivenauth/saslauthd.conf", &t,
	    err, sizeof(err)));
	ck_assert_msg(strncmp(err, "/etc/aivenauth/saslauthd.conf:1: ", 33) == 0,
	    "%s", err);
	snprintf(name, sizeof(name), "/etc/%s", ptok);
	ck_assert(!sp_parse("smtp x\n", 7, name, &t, err, sizeof(err)));
	ck_assert_msg(!has_piece(err, ptok), "%s", err);
	sp_free(&t);
}
END_TEST

/* ------------------------------------------------------------ fd limit */

/*
 * The connection cap fits RLIMIT_NOFILE (review 3, r6): idle clients must
 * fill the table (and be evicted) before they use up the descriptors, or
 * a good client is refused "temporarily unavailable".  A cap asked for is
 * never raised.
 */
START_TEST(test_fd_cap_fits)
{
	static const unsigned wants[] = { 1, 32, 64, 100, 1024, 65536 };
	static const unsigned uses[] = { 3, 6, 40 };
	static const unsigned laters[] = { SL_FD_LATER,
		SL_FD_LATER + SL_FD_WORKER, SL_FD_LATER + SL_FD_WORKER + 6 };
	unsigned long long limit;
	unsigned w, u, k, cap, prev;

	for (w = 0; w < ARRAY_SIZE(wants); w++)
		for (u = 0; u < ARRAY_SIZE(uses); u++)
			for (k = 0; k < ARRAY_SIZE(laters); k++) {
				prev = 0;
				for (limit = 0; limit <= 70000; limit += limit < 600 ?
				    1 : 997) {
					cap = sl_conn_cap(wants[w], limit, uses[u],
					    laters[k]);
					ck_assert_uint_ge(cap, 1);
					ck_assert_uint_le(cap, wants[w]);
					ck_assert_uint_ge(cap, prev);
					prev = cap;
					/* Room for every slot, the responder's own
					 * and the slack -- or nothing fits at all. */
					if (cap > 1 || uses[u] + laters[k] +
					    sl_fd_slack(limit) < limit)
						ck_assert_uint_le((unsigned long long)
						    uses[u] + laters[k] + cap +
						    sl_fd_slack(limit), limit);
				}
			}
}
END_TEST

START_TEST(test_fd_cap_cases)
{
	/* The review's: RLIMIT_NOFILE 60 took the old floor of 64. */
	ck_assert_uint_eq(sl_conn_cap(1024, 60, 6, SL_FD_LATER), 60 - 6 - 4 - 4);
	ck_assert_uint_eq(sl_conn_cap(32, 60, 6, SL_FD_LATER), 32);
	ck_assert_uint_eq(sl_conn_cap(64, 60, 6, SL_FD_LATER), 46);
	/* With the online worker, its descriptors are kept too. */
	ck_assert_uint_eq(sl_conn_cap(1024, 60, 6, SL_FD_LATER + SL_FD_WORKER),
	    60 - 6 - 12 - 4);
	/* The slack grows with the limit: 1/16. */
	ck_assert_uint_eq(sl_fd_slack(60), SL_FD_SLACK_MIN);
	ck_assert_uint_eq(sl_fd_slack(4096), 256);
	ck_assert_uint_eq(sl_conn_cap(1024, 1024, 6, SL_FD_LATER), 1024 - 6 - 4 - 64);
	/* The packaged unit's LimitNOFILE=4096 holds the default 1024. */
	ck_assert_uint_eq(sl_conn_cap(1024, 4096, 10, SL_FD_LATER + SL_FD_WORKER),
	    1024);
	/* No limit, no lowering; a limit below what is open, one slot. */
	ck_assert_uint_eq(sl_conn_cap(1024, SL_FD_UNLIMITED, 6, 4), 1024);
	ck_assert_uint_eq(sl_conn_cap(1024, 8, 6, 4), 1);
	ck_assert_uint_eq(sl_conn_cap(1024, 0, 6, 4), 1);
}
END_TEST

/* ------------------------------------------------------------ log */

/* The limiter's clock, driven by the tests: no waiting, no timing. */
static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

/* stderr into an unlinked file of the test's own, read back by
 * log_count(). */
static char log_path[64];

static void
log_capture(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "/tmp/check_saslauthd.XXXXXX");
	fd = mkstemp(log_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	/* Nothing left behind, even by a failing test: read back through
	 * the descriptor. */
	unlink(log_path);
	snprintf(log_path, sizeof(log_path), "/proc/self/fd/%d", STDERR_FILENO);
	sl_log_init(true, false);
	sl_log_set_max(LOG_INFO);
	fake_now = 1000000;
	sl_log_set_clock(fake_clock);
}

/* Lines of the captured log holding needle; *last: the last such line. */
static unsigned
log_count(const char *needle, char *last, size_t lastsize)
{
	char line[2048];
	unsigned n = 0;
	FILE *f = fopen(log_path, "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL) {
			n++;
			if (last != NULL)
				snprintf(last, lastsize, "%s", line);
		}
	fclose(f);
	return n;
}

static void
refuse_n(unsigned n)
{
	struct sd_peer peer = { 1000, 42 };
	unsigned char out[SA_ANSWER_MAX];

	while (n-- > 0)
		ck_assert_uint_ge(sd_refuse_request(n % 2 ? SA_PARSE_BAD :
		    SA_PARSE_TOO_LONG, &peer, out), 4);
}

/* Malformed requests: a burst, then silence counted, then one line that
 * says how many were suppressed when the bucket has room again (O5). */
START_TEST(test_log_limit_malformed)
{
	char last[2048];

	log_capture();
	refuse_n(1000);
	ck_assert_uint_eq(log_count("decision=denied", NULL, 0), SL_LIMIT_BURST);
	ck_assert_uint_eq(sl_log_suppressed(SL_CLASS_MALFORMED),
	    1000 - SL_LIMIT_BURST);
	ck_assert_uint_eq(log_count("suppressed", NULL, 0), 0);
	/* Not a whole refill period: still silent. */
	fake_now += SL_LIMIT_REFILL_MS - 1;
	refuse_n(1);
	ck_assert_uint_eq(log_count("decision=denied", NULL, 0), SL_LIMIT_BURST);
	fake_now += 1;
	refuse_n(1);
	ck_assert_uint_eq(log_count("decision=denied", NULL, 0),
	    SL_LIMIT_BURST + 1);
	ck_assert_uint_eq(log_count("similar messages suppressed", last,
	    sizeof(last)), 1);
	ck_assert_msg(strstr(last, "991 similar messages suppressed "
	    "(malformed requests") != NULL, "%s", last);
	ck_assert_uint_eq(sl_log_suppressed(SL_CLASS_MALFORMED), 0);
	/* The rest is said at the end of the run. */
	refuse_n(7);
	sl_log_limit_flush();
	ck_assert_uint_eq(log_count("similar messages suppressed", last,
	    sizeof(last)), 2);
	ck_assert_msg(strstr(last, "7 similar messages suppressed") != NULL,
	    "%s", last);
	/* A long quiet spell refills the bucket to the burst, no more. */
	fake_now += 1000 * SL_LIMIT_REFILL_MS;
	refuse_n(3 * SL_LIMIT_BURST);
	ck_assert_uint_eq(log_count("decision=denied", NULL, 0),
	    2 * SL_LIMIT_BURST + 1);
}
END_TEST

/* Each class has its own bucket, and plain lines are never limited. */
START_TEST(test_log_limit_classes)
{
	int i;

	log_capture();
	refuse_n(100);
	for (i = 0; i < 50; i++)
		sl_log_limited(SL_CLASS_ACCEPT, LOG_ERR, "accept: test %d", i);
	for (i = 0; i < 50; i++)
		sl_log(LOG_NOTICE, "plain line %d", i);
	ck_assert_uint_eq(log_count("decision=denied", NULL, 0), SL_LIMIT_BURST);
	ck_assert_uint_eq(log_count("accept: test", NULL, 0), SL_LIMIT_BURST);
	ck_assert_uint_eq(log_count("plain line", NULL, 0), 50);
	ck_assert_uint_eq(sl_log_suppressed(SL_CLASS_ACCEPT), 50 - SL_LIMIT_BURST);
}
END_TEST

/* ------------------------------------------------------------ decide */

static char *dir;
static char tok[4][FX_TOKEN_LEN + 1];
static struct aivenauth_ctx *rctx;

static void
dsetup(void)
{
	struct aivenauth_ctx *w;
	struct fx_snap snap;
	struct aivenauth_token *x;
	struct aivenauth_user *u;
	char cache[512];
	int i;

	sl_log_init(true, false);
	sl_log_set_max(LOG_ERR);
	dir = fx_tmpdir();
	ck_assert_ptr_nonnull(dir);
	w = fx_ctx(dir);
	ck_assert_ptr_nonnull(w);
	fx_snap_init(&snap);
	u = fx_add_user(&snap, "u1", "alice");
	free(u->email);
	u->email = strdup("alice@example.com");
	fx_add_user(&snap, "u2", "bob");
	for (i = 0; i < 4; i++)
		fx_token(tok[i], 0);
	fx_add_token(&snap, "u1", tok[0]);
	x = fx_add_token(&snap, "u1", tok[1]);
	fx_strv(&x->ip_allowlist, &x->n_ip_allowlist, "127.0.0.0/8", NULL);
	x = fx_add_token(&snap, "u1", tok[2]);
	fx_strv(&x->scopes, &x->n_scopes, "smtp", NULL);
	fx_add_token(&snap, "u2", tok[3]);
	ck_assert_int_eq(aivenauth_cache_apply(w, &snap.s, 0, NULL), AIVENAUTH_OK);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(aivenauth_cache_enroll(w, i == 3 ? "u2" : "u1",
		    tok[i], FX_TOKEN_LEN, NULL), AIVENAUTH_OK);
	fx_snap_free(&snap);
	aivenauth_ctx_free(w);
	ck_assert_int_eq(aivenauth_ctx_new(&rctx), AIVENAUTH_OK);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	ck_assert_int_eq(aivenauth_config_set(rctx, "cache_dir", cache),
	    AIVENAUTH_OK);
}

static void
dteardown(void)
{
	aivenauth_ctx_free(rctx);
	fx_rmdir(dir);
	free(dir);
}

/* Ask through sd_decide with this policy text; true if "OK". */
static bool
ask(const char *policy, const char *login, const char *password,
    const char *service, const char *realm)
{
	static struct sd_scratch sc;
	struct sd_peer peer = { 0, 1 };
	struct sd_state s;
	struct sp_table t;
	struct sa_fields f;
	unsigned char out[SA_ANSWER_MAX];
	char err[256];
	size_t n;
	bool ok;

	memset(&t, 0, sizeof(t));
	ck_assert_msg(sp_parse(policy, strlen(policy), "P", &t, err, sizeof(err)),
	    "%s", err);
	memset(&s, 0, sizeof(s));
	s.ctx = rctx;
	s.policy = &t;
	s.scratch = &sc;
	n = req_str(rbuf, login, password, service, realm);
	ck_assert_int_eq(sa_parse(rbuf, n, &f), SA_PARSE_DONE);
	n = sd_decide(&s, rbuf, &f, &peer, out);
	ck_assert_uint_ge(n, 4);
	/* The password was wiped with the rest. */
	ck_assert(sc.password[0] == '\0' && sc.login[0] == '\0');
	ck_assert_uint_eq(((size_t)out[0] << 8 | out[1]) + 2, n);
	ok = memcmp(out + 2, "OK", 2) == 0;
	if (!ok)
		ck_assert(memcmp(out + 2, "NO", 2) == 0);
	sp_free(&t);
	return ok;
}

/* Decisions are one line each, however many (only malformed requests
 * are rate-limited), even after the malformed bucket is empty. */
START_TEST(test_decide_not_limited)
{
	int i;

	log_capture();
	refuse_n(50);
	for (i = 0; i < 3 * SL_LIMIT_BURST; i++)
		ck_assert(!ask("", "bob", tok[0], "smtp", ""));
	ck_assert_uint_eq(log_count("reason=malformed-request", NULL, 0) +
	    log_count("reason=request-too-large", NULL, 0), SL_LIMIT_BURST);
	ck_assert_uint_eq(log_count("login=bob", NULL, 0), 3 * SL_LIMIT_BURST);
}
END_TEST

START_TEST(test_decide_default)
{
	ck_assert(ask("", "alice", tok[0], "smtp", ""));
	ck_assert(!ask("", "bob", tok[0], "smtp", ""));        /* another's */
	ck_assert(!ask("", "alice", tok[3], "smtp", ""));
	ck_assert(!ask("", "alice", "not a token", "smtp", ""));
	ck_assert(!ask("", "alice", "", "smtp", ""));
	/* Same prefix, another secret. */
	{
		char wrong[FX_TOKEN_LEN + 1];

		memcpy(wrong, tok[0], sizeof(wrong));
		wrong[100] = wrong[100] == 'A' ? 'B' : 'A';
		ck_assert(!ask("", "alice", wrong, "smtp", ""));
	}
}
END_TEST

/* No client address on this path: a token with an allowlist is refused,
 * even one whose list would hold the client. */
START_TEST(test_decide_ip_allowlist)
{
	ck_assert(!ask("", "alice", tok[1], "smtp", ""));
	ck_assert(!ask("* user_match=any\n", "alice", tok[1], "smtp", ""));
}
END_TEST

START_TEST(test_decide_realm)
{
	/* rejoin (default): alice@example.com is not the name "alice"... */
	ck_assert(!ask("", "alice", tok[0], "ldap", "example.com"));
	/* ...and is the e-mail */
	ck_assert(ask("* user_match=email\n", "alice", tok[0], "ldap",
	    "example.com"));
	ck_assert(ask("ldap realm=ignore\n", "alice", tok[0], "ldap",
	    "example.com"));
	ck_assert(ask("ldap realm=list realms=example.com\n", "alice", tok[0],
	    "ldap", "EXAMPLE.com"));
	ck_assert(!ask("ldap realm=list realms=example.com\n", "alice", tok[0],
	    "ldap", "example.org"));
	ck_assert(!ask("ldap realm=list realms=example.com\n", "alice", tok[0],
	    "ldap", ""));
	ck_assert(ask("ldap realm=list realms=example.com,-\n", "alice", tok[0],
	    "ldap", ""));
	/* The policy is the service's: smtp has the default. */
	ck_assert(!ask("ldap realm=ignore\n", "alice", tok[0], "smtp",
	    "example.com"));
}
END_TEST

START_TEST(test_decide_scope_and_match)
{
	ck_assert(ask("smtp scope=smtp\n", "alice", tok[2], "smtp", ""));
	ck_assert(!ask("smtp scope=imap\n", "alice", tok[2], "smtp", ""));
	ck_assert(ask("smtp scope=imap\n", "alice", tok[2], "ldap", ""));
	/* The client's "SMTP" gets smtp's policy, not the default (O5). */
	ck_assert(!ask("smtp scope=imap\n", "alice", tok[2], "SMTP", ""));
	ck_assert(!ask("SMTP scope=imap\n", "alice", tok[2], "smtp", ""));
	ck_assert(ask("* user_match=id\n", "u1", tok[0], "smtp", ""));
	ck_assert(!ask("* user_match=id\n", "alice", tok[0], "smtp", ""));
	ck_assert(ask("* user_match=any\n", "whoever", tok[0], "smtp", ""));
}
END_TEST

/* user_match=map (issue 17's account map): the login is a local account,
 * the token's application user must be on its line. */
START_TEST(test_decide_map)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/accounts", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "deploy alice\nmail   bob\n");
	fclose(f);
	ck_assert_int_eq(aivenauth_config_set(rctx, "account_map_file", path),
	    AIVENAUTH_OK);
	ck_assert(ask("* user_match=map\n", "deploy", tok[0], "smtp", ""));
	ck_assert(!ask("* user_match=map\n", "mail", tok[0], "smtp", ""));
	ck_assert(ask("* user_match=map\n", "mail", tok[3], "smtp", ""));
	ck_assert(!ask("* user_match=map\n", "nobody", tok[0], "smtp", ""));
	ck_assert(!ask("* user_match=map\n", "alice", tok[0], "smtp", ""));
	/* rejoin: deploy@example.com is not the account deploy. */
	ck_assert(!ask("* user_match=map\n", "deploy", tok[0], "smtp",
	    "example.com"));
	ck_assert(ask("* user_match=map realm=ignore\n", "deploy", tok[0],
	    "smtp", "example.com"));
}
END_TEST

static Suite *
saslauthd_suite(void)
{
	Suite *s = suite_create("saslauthd");
	TCase *tc = tcase_create("proto");
	TCase *tp = tcase_create("policy");
	TCase *td = tcase_create("decide");
	TCase *tl = tcase_create("log");
	TCase *tf = tcase_create("fdlimit");

	tcase_add_test(tc, test_parse_whole);
	tcase_add_test(tc, test_parse_prefixes);
	tcase_add_test(tc, test_parse_empty_fields);
	tcase_add_loop_test(tc, test_parse_caps, 0, SA_NFIELDS);
	tcase_add_test(tc, test_parse_high_byte);
	tcase_add_test(tc, test_parse_nul_inside);
	tcase_add_test(tc, test_parse_trailing);
	tcase_add_test(tc, test_parse_random);
	tcase_add_test(tc, test_answer);
	suite_add_tcase(s, tc);
	tcase_add_test(tp, test_policy_good);
	tcase_add_test(tp, test_policy_builtin);
	tcase_add_loop_test(tp, test_policy_bad, 0, (int)ARRAY_SIZE(bad_policies));
	tcase_add_test(tp, test_policy_keep_on_error);
	tcase_add_test(tp, test_policy_case);
	tcase_add_test(tp, test_policy_user_match_shared);
	tcase_add_loop_test(tp, test_policy_token_not_echoed, 0,
	    (int)ARRAY_SIZE(tok_sites));
	tcase_add_test(tp, test_policy_token_file_name);
	tcase_add_test(tl, test_log_limit_malformed);
	tcase_add_test(tl, test_log_limit_classes);
	suite_add_tcase(s, tl);
	tcase_add_test(tf, test_fd_cap_fits);
	tcase_add_test(tf, test_fd_cap_cases);
	suite_add_tcase(s, tf);
	suite_add_tcase(s, tp);
	tcase_add_checked_fixture(td, dsetup, dteardown);
	tcase_set_timeout(td, 60);
	tcase_add_test(td, test_decide_default);
	tcase_add_test(td, test_decide_ip_allowlist);
	tcase_add_test(td, test_decide_realm);
	tcase_add_test(td, test_decide_scope_and_match);
	tcase_add_test(td, test_decide_map);
	tcase_add_test(td, test_decide_not_limited);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(saslauthd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
