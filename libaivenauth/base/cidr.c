/*
 * cidr.c - IP literals and prefixes for a token's ip_allowlist.
 *
 * Everything is kept as 16 bytes, IPv4 as the mapped ::ffff:a.b.c.d, so
 * that a client seen as "192.0.2.1" or as "::ffff:192.0.2.1" (a dual-stack
 * listener) is the same address.  Families stay apart all the same: an
 * IPv4 prefix is at least 96 bits long (the mapped part), and an IPv6
 * prefix shorter than that never matches an IPv4 client, so "::/0" means
 * every IPv6 address, not every address, as nginx and Python's ipaddress
 * have it.
 */
#include <arpa/inet.h>
#include <string.h>

#include "base/internal.h"

#define IP_TEXT_MAX 64     /* longest literal we take, zone included */
#define V4_BITS 96         /* bits of the ::ffff:0:0/96 mapped prefix */

static const unsigned char v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static bool
is_v4_mapped(const unsigned char addr[16])
{
	return memcmp(addr, v4_mapped, sizeof(v4_mapped)) == 0;
}

/* Parse s[0..n) as an IP literal; *v4 says it was written as IPv4. */
static bool
ip_parse_n(const char *s, size_t n, unsigned char addr[16], bool *v4)
{
	char text[IP_TEXT_MAX + 1];
	unsigned char a4[4];
	bool bracketed = false;
	char *pct;

	/* "[::1]" as in URLs and ssh's PAM_RHOST; brackets are IPv6 only. */
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
		bracketed = true;
	}
	if (n == 0 || n > IP_TEXT_MAX || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	if (!bracketed && inet_pton(AF_INET, text, a4) == 1) {
		memcpy(addr, v4_mapped, sizeof(v4_mapped));
		memcpy(addr + 12, a4, 4);
		*v4 = true;
		return true;
	}
	/* A zone ("fe80::1%eth0") names the link the client came in on;
	 * it does not change which address it is. */
	if ((pct = strchr(text, '%')) != NULL) {
		if (pct[1] == '\0' || strchr(text, ':') == NULL)
			return false;
		*pct = '\0';
	}
	if (inet_pton(AF_INET6, text, addr) != 1)
		return false;
	*v4 = false;
	return true;
}

bool
ip_parse(const char *s, unsigned char addr[16])
{
	bool v4;

	if (s == NULL)
		return false;
	return ip_parse_n(s, strlen(s), addr, &v4);
}

/*
 * Host bits below the prefix are cleared, not refused: "192.0.2.7/24"
 * means 192.0.2.0/24 to iptables and nginx, and refusing it would lock
 * out the clients an admin meant to let in.
 */
bool
cidr_parse(const char *s, size_t len, struct cidr *out)
{
	const char *slash;
	unsigned bits = 0, max, i;
	size_t alen, llen;
	bool v4;

	if (s == NULL || out == NULL || len == 0)
		return false;
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	if (!ip_parse_n(s, alen, out->addr, &v4))
		return false;
	max = v4 ? 32 : 128;
	if (slash == NULL) {
		bits = max;
	} else {
		/* Digits only, at most 3, no leading zero but "0" itself:
		 * strtoul would take "+8", " 8" and "008". */
		llen = len - alen - 1;
		if (llen == 0 || llen > 3 || (llen > 1 && slash[1] == '0'))
			return false;
		for (i = 0; i < llen; i++) {
			if (slash[1 + i] < '0' || slash[1 + i] > '9')
				return false;
			bits = bits * 10 + (unsigned)(slash[1 + i] - '0');
		}
		if (bits > max)
			return false;
	}
	out->bits = v4 ? V4_BITS + bits : bits;
	for (i = out->bits; i < 128; i++)
		out->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return true;
}

bool
cidr_contains(const struct cidr *c, const unsigned char addr[16])
{
	unsigned full, rest;

	if (c == NULL || addr == NULL || c->bits > 128)
		return false;
	if (c->bits < V4_BITS && is_v4_mapped(addr))
		return false;
	full = c->bits / 8;
	rest = c->bits % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ addr[full]) & (0xffu << (8 - rest)) & 0xff)
	    == 0;
}
