/*
 * check_cidr.c - ip_parse, cidr_parse, cidr_contains.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/internal.h"

static void
ip(const char *s, unsigned char out[16])
{
	ck_assert_msg(ip_parse(s, out), "ip_parse(\"%s\") failed", s);
}

static const unsigned char mapped_192_0_2_1[16] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1
};

START_TEST(test_ip_v4)
{
	unsigned char a[16];

	ip("192.0.2.1", a);
	ck_assert_mem_eq(a, mapped_192_0_2_1, 16);
	ip("::ffff:192.0.2.1", a);
	ck_assert_mem_eq(a, mapped_192_0_2_1, 16);
	ip("::FFFF:c000:201", a);
	ck_assert_mem_eq(a, mapped_192_0_2_1, 16);
	ip("0.0.0.0", a);
	ip("255.255.255.255", a);
	ck_assert_uint_eq(a[15], 255);
}
END_TEST

START_TEST(test_ip_v6)
{
	static const unsigned char loop[16] = { [15] = 1 };
	static const unsigned char ll[16] = { 0xfe, 0x80, [15] = 1 };
	unsigned char a[16];

	ip("::1", a);
	ck_assert_mem_eq(a, loop, 16);
	ip("[::1]", a);
	ck_assert_mem_eq(a, loop, 16);
	ip("fe80::1%eth0", a);
	ck_assert_mem_eq(a, ll, 16);
	ip("[fe80::1%2]", a);
	ck_assert_mem_eq(a, ll, 16);
	ip("2001:db8:0:0:0:0:0:1", a);
	ck_assert_uint_eq(a[0], 0x20);
	ck_assert_uint_eq(a[1], 0x01);
	ip("::", a);
}
END_TEST

static const char *const bad_ips[] = {
	"", "localhost", "example.com", "host.example.", " 192.0.2.1",
	"192.0.2.1 ", "192.0.2", "192.0.2.1.5", "256.0.0.1", "192.0.2.-1",
	"1.2.3.4%eth0", "fe80::1%", "[1.2.3.4]", "[::1", "::1]", "[]",
	"::1::2", "2001:db8::g", "12345::", "192.0.2.1/32", "0x7f.0.0.1",
	"\xff", "::ffff:1.2.3", "1:2:3:4:5:6:7:8:9",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

START_TEST(test_ip_bad)
{
	unsigned char a[16];

	ck_assert_msg(!ip_parse(bad_ips[_i], a), "ip_parse accepted \"%s\"",
	    bad_ips[_i]);
}
END_TEST

START_TEST(test_ip_null)
{
	unsigned char a[16];

	ck_assert(!ip_parse(NULL, a));
}
END_TEST

static const struct {
	const char *s;
	unsigned bits;     /* 0 with ok false: must be refused */
	bool ok;
} cidrs[] = {
	{ "10.0.0.0/8", 104, true },
	{ "0.0.0.0/0", 96, true },
	{ "192.0.2.1", 128, true },
	{ "192.0.2.1/32", 128, true },
	{ "192.0.2.0/31", 127, true },
	{ "128.0.0.0/1", 97, true },
	{ "::1", 128, true },
	{ "::/0", 0, true },
	{ "::1/128", 128, true },
	{ "2001:db8::/32", 32, true },
	{ "2001:db8::/127", 127, true },
	{ "::ffff:10.0.0.0/104", 104, true },
	{ "[::1]/128", 128, true },
	{ "fe80::%eth0/64", 64, true },
	{ "192.0.2.7/24", 120, true },
	{ "1.2.3.4/33", 0, false },
	{ "::/129", 0, false },
	{ "::/1000", 0, false },
	{ "1.2.3.4/", 0, false },
	{ "1.2.3.4/+8", 0, false },
	{ "1.2.3.4/-1", 0, false },
	{ "1.2.3.4/ 8", 0, false },
	{ "1.2.3.4 /8", 0, false },
	{ "1.2.3.4/8 ", 0, false },
	{ " 1.2.3.4/8", 0, false },
	{ "1.2.3.4/08", 0, false },
	{ "1.2.3.4/00", 0, false },
	{ "1.2.3.4/8x", 0, false },
	{ "1.2.3.4/0x8", 0, false },
	{ "1.2.3.4/8/9", 0, false },
	{ "/8", 0, false },
	{ "/", 0, false },
	{ "", 0, false },
	{ "garbage", 0, false },
	{ "localhost/32", 0, false },
	{ "example.com/24", 0, false },
	{ "1.2.3/24", 0, false },
	{ "[1.2.3.4]/32", 0, false },
};

START_TEST(test_cidr_parse)
{
	struct cidr c;
	bool ok;

	ok = cidr_parse(cidrs[_i].s, strlen(cidrs[_i].s), &c);
	ck_assert_msg(ok == cidrs[_i].ok, "cidr_parse(\"%s\") = %d",
	    cidrs[_i].s, ok);
	if (ok)
		ck_assert_msg(c.bits == cidrs[_i].bits, "%s: bits %u != %u",
		    cidrs[_i].s, c.bits, cidrs[_i].bits);
}
END_TEST

START_TEST(test_cidr_parse_len)
{
	struct cidr c;
	const char *s = "10.0.0.0/8,192.0.2.0/24";

	/* Not NUL-terminated at len: the rest must be ignored. */
	ck_assert(cidr_parse(s, 10, &c));
	ck_assert_uint_eq(c.bits, 104);
	ck_assert(!cidr_parse(s, 11, &c));
	ck_assert(cidr_parse(s + 11, strlen(s + 11), &c));
	ck_assert(!cidr_parse("10.0.0.0/8\0", 11, &c));
	ck_assert(!cidr_parse(NULL, 3, &c));
	ck_assert(!cidr_parse("1.2.3.4", 0, &c));
}
END_TEST

START_TEST(test_cidr_host_bits)
{
	struct cidr c, d;

	ck_assert(cidr_parse("192.0.2.7/24", 12, &c));
	ck_assert(cidr_parse("192.0.2.0/24", 12, &d));
	ck_assert_mem_eq(c.addr, d.addr, 16);
	ck_assert(cidr_parse("2001:db8::ffff/120", 18, &c));
	ck_assert_uint_eq(c.addr[15], 0);
	ck_assert_uint_eq(c.addr[14], 0xff);
}
END_TEST

/* in(cidr, address): is the address in the prefix? */
static bool
in(const char *cidr, const char *addr)
{
	struct cidr c;
	unsigned char a[16];

	ck_assert_msg(cidr_parse(cidr, strlen(cidr), &c), "parse %s", cidr);
	ip(addr, a);
	return cidr_contains(&c, a);
}

START_TEST(test_contains_v4)
{
	ck_assert(in("10.0.0.0/8", "10.255.1.2"));
	ck_assert(!in("10.0.0.0/8", "11.0.0.0"));
	ck_assert(in("10.0.0.0/8", "::ffff:10.1.2.3"));
	/* /0 of IPv4 is every IPv4 address, and only those. */
	ck_assert(in("0.0.0.0/0", "0.0.0.0"));
	ck_assert(in("0.0.0.0/0", "255.255.255.255"));
	ck_assert(in("0.0.0.0/0", "192.0.2.1"));
	ck_assert(!in("0.0.0.0/0", "2001:db8::1"));
	ck_assert(!in("0.0.0.0/0", "::1"));
	ck_assert(!in("0.0.0.0/0", "::"));
	ck_assert(in("128.0.0.0/1", "200.1.1.1"));
	ck_assert(in("128.0.0.0/1", "128.0.0.0"));
	ck_assert(!in("128.0.0.0/1", "127.255.255.255"));
	ck_assert(in("192.0.2.0/31", "192.0.2.0"));
	ck_assert(in("192.0.2.0/31", "192.0.2.1"));
	ck_assert(!in("192.0.2.0/31", "192.0.2.2"));
	ck_assert(in("192.0.2.1/32", "192.0.2.1"));
	ck_assert(!in("192.0.2.1/32", "192.0.2.0"));
	ck_assert(in("192.0.2.1", "192.0.2.1"));
	ck_assert(!in("192.0.2.1", "192.0.2.2"));
	ck_assert(in("192.0.2.7/24", "192.0.2.200"));
	ck_assert(!in("192.0.2.7/24", "192.0.3.7"));
	ck_assert(in("::ffff:0:0/96", "203.0.113.9"));
}
END_TEST

START_TEST(test_contains_v6)
{
	ck_assert(in("::/0", "2001:db8::1"));
	ck_assert(in("::/0", "::1"));
	ck_assert(in("::/0", "::"));
	/* An IPv6 prefix shorter than the mapped part is not IPv4's. */
	ck_assert(!in("::/0", "192.0.2.1"));
	ck_assert(!in("::/80", "192.0.2.1"));
	ck_assert(in("8000::/1", "ffff::1"));
	ck_assert(!in("8000::/1", "7fff::1"));
	ck_assert(in("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!in("2001:db8::/32", "2001:db9::"));
	ck_assert(in("2001:db8::/127", "2001:db8::"));
	ck_assert(in("2001:db8::/127", "2001:db8::1"));
	ck_assert(!in("2001:db8::/127", "2001:db8::2"));
	ck_assert(in("2001:db8::1/128", "2001:db8::1"));
	ck_assert(!in("2001:db8::1/128", "2001:db8::"));
	ck_assert(in("::1", "[::1]"));
	ck_assert(in("fe80::/10", "fe80::1%eth0"));
	ck_assert(in("fe80::/10", "febf::1"));
	ck_assert(!in("fe80::/10", "fec0::1"));
	/* An IPv4 prefix never matches a native IPv6 address. */
	ck_assert(!in("10.0.0.0/8", "2001:db8::1"));
	ck_assert(!in("10.0.0.0/8", "::a00:1"));
}
END_TEST

START_TEST(test_contains_bad)
{
	struct cidr c = { .bits = 129 };
	unsigned char a[16] = { 0 };

	ck_assert(!cidr_contains(&c, a));
	ck_assert(!cidr_contains(NULL, a));
}
END_TEST

static Suite *
cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ip_v4);
	tcase_add_test(tc, test_ip_v6);
	tcase_add_loop_test(tc, test_ip_bad, 0, (int)ARRAY_SIZE(bad_ips));
	tcase_add_test(tc, test_ip_null);
	tcase_add_loop_test(tc, test_cidr_parse, 0, (int)ARRAY_SIZE(cidrs));
	tcase_add_test(tc, test_cidr_parse_len);
	tcase_add_test(tc, test_cidr_host_bits);
	tcase_add_test(tc, test_contains_v4);
	tcase_add_test(tc, test_contains_v6);
	tcase_add_test(tc, test_contains_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cidr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
