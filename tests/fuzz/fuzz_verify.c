/*
 * fuzz_verify.c - libFuzzer target: token shape check and a full
 * aivenauth_verify() against a small real cache (built once, in a mkdtemp
 * directory): alice's enrolled token, one with an ip_allowlist, one with
 * scopes, an unenrolled one, a revoked one, bob's.
 *
 * Input: byte 0 selects the request (user, match mode, rhost, scope),
 * byte 1 the token mode: raw bytes, or the tail of a known token replaced
 * by the input (so the prefix hits and the hash/policy paths run).
 * Oracles: aivenauth_token_shaped agrees with a reference implementation;
 * nothing is ever accepted but one of the enrolled tokens, byte for byte,
 * and a decision is always made (the cache is sound).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aivenauth.h"
#include "helpers/fixture.h"

enum { K_GOOD, K_NET, K_SCOPE, K_UNENROLLED, K_REVOKED, K_BOB, K_COUNT };
static char tok[K_COUNT][FX_TOKEN_LEN + 1];
static struct aivenauth_ctx *reader;
static char *dir;

static void
cleanup(void)
{
	aivenauth_ctx_free(reader);
	fx_rmdir(dir);
}

static void
setup(void)
{
	struct aivenauth_ctx *w;
	struct fx_snap f;
	struct aivenauth_apply_stats stats;
	struct aivenauth_token *t;
	char path[512];
	int i;

	if ((dir = fx_tmpdir()) == NULL || (w = fx_ctx(dir)) == NULL)
		abort();
	fx_snap_init(&f);
	f.s.organization_id = "org0123456789";
	fx_add_user(&f, "u00000000001", "alice");
	fx_add_user(&f, "u00000000002", "bob");
	for (i = 0; i < K_COUNT; i++) {
		do
			fx_token(tok[i], i % 2 ? '+' : '/');
		while (0);
		tok[i][1] = (char)('A' + i);   /* distinct prefixes */
		t = fx_add_token(&f, i == K_BOB ? "u00000000002" : "u00000000001", tok[i]);
		if (i == K_NET)
			fx_strv(&t->ip_allowlist, &t->n_ip_allowlist, "10.0.0.0/8", "2001:db8::/32");
		if (i == K_SCOPE)
			fx_strv(&t->scopes, &t->n_scopes, "pam:sshd", NULL);
	}
	if (aivenauth_cache_apply(w, &f.s, 0, &stats) != AIVENAUTH_OK)
		abort();
	for (i = 0; i < K_COUNT; i++) {
		if (i == K_UNENROLLED)
			continue;
		if (aivenauth_cache_enroll(w, i == K_BOB ? "u00000000002" : "u00000000001",
		    tok[i], FX_TOKEN_LEN, NULL) != AIVENAUTH_OK)
			abort();
	}
	if (aivenauth_cache_revoke(w, f.s.tokens[K_REVOKED].prefix, 0) != AIVENAUTH_OK)
		abort();
	fx_snap_free(&f);
	aivenauth_ctx_free(w);
	if (aivenauth_ctx_new(&reader) != AIVENAUTH_OK)
		abort();
	snprintf(path, sizeof(path), "%s/cache", dir);
	if (aivenauth_config_set(reader, "cache_dir", path) != AIVENAUTH_OK)
		abort();
	atexit(cleanup);
}

static bool
ref_shaped(const uint8_t *s, size_t n)
{
	size_t i, pad = 0;

	if (n < AIVENAUTH_TOKEN_MIN_LEN || n > AIVENAUTH_TOKEN_MAX_LEN)
		return false;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++) {
		uint8_t c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rhosts[] = { NULL, "10.1.2.3", "192.0.2.1",
		"::ffff:10.9.9.9", "2001:db8::1", "host.example", "", "::1" };
	static const char *const users[] = { "alice", "bob", "u00000000001",
		"u00000000001@app-users.example" };
	struct aivenauth_request req;
	struct aivenauth_decision d;
	enum aivenauth_status st;
	const uint8_t *in;
	char *token;
	size_t len, n;
	uint8_t a, b;

	if (reader == NULL)
		setup();
	if (size < 2)
		return 0;
	a = data[0];
	b = data[1];
	in = data + 2;
	n = size - 2;
	if (aivenauth_token_shaped((const char *)in, n) != ref_shaped(in, n))
		abort();

	if (b & 0x80) {
		/* a known token with its tail replaced from offset b%64 */
		size_t keep = (b & 0x3f) % FX_TOKEN_LEN;
		const char *base = tok[(b >> 6 & 1) ? K_GOOD : (a >> 5) % K_COUNT];

		len = keep + n;
		if ((token = malloc(len ? len : 1)) == NULL)
			return 0;
		memcpy(token, base, keep);
		memcpy(token + keep, in, n);
	} else {
		len = n;
		if ((token = malloc(len ? len : 1)) == NULL)
			return 0;
		memcpy(token, in, n);
	}

	memset(&req, 0, sizeof(req));
	req.user_match = (enum aivenauth_user_match)(a & 3);
	req.user = (a & 3) == AIVENAUTH_MATCH_ANY && (a & 4) ? NULL : users[a & 3];
	if ((a & 3) == AIVENAUTH_MATCH_NAME && (b & 0x40))
		req.user = users[1];
	req.rhost = rhosts[(a >> 2) & 7];
	req.scope = (a & 0x20) ? "pam:sshd" : ((a & 0x40) ? "other" : NULL);
	req.service = "fuzz";
	memset(&d, 0xa5, sizeof(d));
	st = aivenauth_verify(reader, token, len, &req, &d);
	if (st != AIVENAUTH_OK)
		abort();   /* the cache is sound: a decision must be made */
	if (d.reason == AIVENAUTH_ACCEPTED) {
		bool known = false;

		for (int i = 0; i < K_COUNT; i++)
			if (i != K_UNENROLLED && i != K_REVOKED &&
			    len == FX_TOKEN_LEN && memcmp(token, tok[i], len) == 0)
				known = true;
		if (!known)
			abort();   /* accepted something that is not a token */
	}
	if (memchr(d.prefix, '\0', sizeof(d.prefix)) == NULL ||
	    memchr(d.user_name, '\0', sizeof(d.user_name)) == NULL)
		abort();
	free(token);
	return 0;
}
