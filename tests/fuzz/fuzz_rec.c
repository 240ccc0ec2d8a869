/*
 * fuzz_rec.c - libFuzzer target: the cache record decoders (rec.h) on
 * arbitrary bytes, as a damaged or hostile snapshot would hand them to
 * verify.  tok_decode must refuse or describe a record whose every field
 * lies inside the value; the lists must iterate inside it; conversion to
 * the public struct and re-encoding must not crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
	const uint8_t *q = p;

	if (n == 0)
		return;
	if (q < data || q + n > data + size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok_view v;
	struct aivenauth_user u;
	struct sv name, email;
	/* Copy into an exact-size heap block so ASan sees any overread. */
	uint8_t *d = malloc(size ? size : 1);

	if (d == NULL)
		return 0;
	memcpy(d, data, size);
	memset(&v, 0, sizeof(v));
	if (tok_decode(d, size, &v)) {
		struct sv s;
		size_t pos;
		struct aivenauth_token pub = { 0 };
		struct buf out;

		inside(v.user_id.p, v.user_id.n, d, size);
		inside(v.user_name.p, v.user_name.n, d, size);
		inside(v.user_email.p, v.user_email.n, d, size);
		inside(v.description.p, v.description.n, d, size);
		inside(v.last_ip.p, v.last_ip.n, d, size);
		inside(v.last_ua.p, v.last_ua.n, d, size);
		if (v.flags & TOK_F_HASH)
			inside(v.hash, HASH_BYTES, d, size);
		inside(v.scopes, v.scopes_len, d, size);
		inside(v.ips, v.ips_len, d, size);
		for (pos = 0; sv_list_next(v.scopes, v.scopes_len, &pos, &s);)
			inside(s.p, s.n, d, size);
		for (pos = 0; sv_list_next(v.ips, v.ips_len, &pos, &s);)
			inside(s.p, s.n, d, size);
		if (tok_to_public(&v, "fuzzprefix12", 12, &pub) == AIVENAUTH_OK) {
			buf_init(&out, 1 << 20, false);
			(void)tok_encode(&pub, (v.flags & TOK_F_HASH) ? v.hash : NULL, &out);
			buf_free(&out);
		}
		aivenauth_token_clear(&pub);
	}
	memset(&u, 0, sizeof(u));
	if (user_decode(d, size, &u, &name, &email)) {
		inside(name.p, name.n, d, size);
		inside(email.p, email.n, d, size);
	}
	free(d);
	return 0;
}
