/*
 * fuzz_parsers.c - libFuzzer target: the CIDR, IP and timestamp parsers
 * (libaivenauth/base/cidr.c, timeparse.c), which see API data (ip_allowlist,
 * *_time) and the PAM rhost.
 * Oracles: no crash; a parsed CIDR has bits <= 128 and contains its own
 * address; a parsed timestamp in years 0001..9999 formats back to a string
 * that parses to the same instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr c;
	unsigned char addr[16];
	int64_t t, t2;
	char *s, buf[64];

	/* Length-bounded entry points see the raw bytes... */
	if (cidr_parse((const char *)data, size, &c)) {
		if (c.bits > 128)
			abort();
		if (!cidr_contains(&c, c.addr))
			abort();
	}
	if (ts_parse((const char *)data, size, &t)) {
		/* 0001-01-01 .. 9999-12-31T23:59:59Z */
		if (t >= -62135596800LL && t <= 253402300799LL) {
			ts_format(t, buf, sizeof(buf));
			if (!ts_parse(buf, strlen(buf), &t2) || t2 != t)
				abort();
		}
	}
	/* ...ip_parse takes a C string (the PAM rhost). */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ip_parse(s, addr)) {
		struct cidr host;

		/* an address parsed alone is also a /128 (or /32) CIDR (a
		 * zone may hold any byte, '/' included: then it is not) */
		if (memchr(data, '\0', size) == NULL &&
		    memchr(data, '/', size) == NULL &&
		    (!cidr_parse(s, size, &host) || !cidr_contains(&host, addr)))
			abort();
	}
	free(s);
	return 0;
}
