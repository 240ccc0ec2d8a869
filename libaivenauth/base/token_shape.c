/*
 * token_shape.c - is a string shaped like an Aiven token at all?  The
 * first check of every verify, and of the admin token a config names: a
 * password that is not token-shaped never reaches the cache (and with
 * non_token=ignore the PAM module leaves it to the rest of the stack).
 */
#include <stdint.h>
#include <string.h>

#include "base/internal.h"

static const unsigned char b64[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
	['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
	['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
	['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1,
	['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
};

typedef unsigned char u8x16 __attribute__((vector_size(16)));
typedef signed char s8x16 __attribute__((vector_size(16)));

/* Are all 16 bytes at p in the base64 alphabet (the b64[] table)? */
static inline bool
b64_block(const char *p)
{
	u8x16 c;
	s8x16 ok;
	uint64_t w[2];

	memcpy(&c, p, sizeof(c));
	/* Unsigned wrap-around: x - lo < n  <=>  lo <= x < lo + n. */
	ok = (s8x16)((u8x16)(c - 'A') < 26) | (s8x16)((u8x16)(c - 'a') < 26) |
	    (s8x16)((u8x16)(c - '0') < 10) | (s8x16)(c == '+') | (s8x16)(c == '/');
	memcpy(w, &ok, sizeof(w));
	return (w[0] & w[1]) == UINT64_MAX;
}

bool
aivenauth_token_shaped(const char *token, size_t len)
{
	size_t i, pad = 0;

	if (token == NULL || len < AIVENAUTH_TOKEN_MIN_LEN ||
	    len > AIVENAUTH_TOKEN_MAX_LEN)
		return false;
	/* Padding: at most two '=' and only at the end. */
	while (pad < 2 && pad < len && token[len - 1 - pad] == '=')
		pad++;
	/* 16 characters at a time (GCC/clang vector extensions: SSE2 on
	 * x86-64, generic code elsewhere); the table for the tail. */
	for (i = 0; i + 16 <= len - pad; i += 16)
		if (!b64_block(token + i))
			return false;
	for (; i < len - pad; i++)
		if (!b64[(unsigned char)token[i]])
			return false;
	return true;
}
