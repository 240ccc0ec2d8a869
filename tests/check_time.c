/*
 * check_time.c - ts_parse and ts_format (timeparse.c).
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/internal.h"

static const struct {
	const char *s;
	int64_t t;
} good[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "1970-01-01T00:00:01Z", 1 },
	{ "1969-12-31T23:59:59Z", -1 },
	{ "2026-04-13T10:11:12Z", 1776075072 },
	{ "2026-04-13T10:11:12+00:00", 1776075072 },
	{ "2026-04-13T10:11:12-00:00", 1776075072 },
	{ "2026-04-13t10:11:12z", 1776075072 },
	{ "2026-04-13 10:11:12Z", 1776075072 },
	/* 10:11:12 at -05:30 is 15:41:12 UTC. */
	{ "2026-04-13T10:11:12-05:30", 1776075072 + 19800 },
	{ "2026-04-13T10:11:12+05:30", 1776075072 - 19800 },
	{ "2026-04-13T00:00:00+23:59", 1776038400 - 86340 },
	/* Fractions of 1..9 digits, truncated to the second. */
	{ "2026-04-13T10:11:12.3Z", 1776075072 },
	{ "2026-04-13T10:11:12.34Z", 1776075072 },
	{ "2026-04-13T10:11:12.345Z", 1776075072 },
	{ "2026-04-13T10:11:12.3456Z", 1776075072 },
	{ "2026-04-13T10:11:12.34567Z", 1776075072 },
	{ "2026-04-13T10:11:12.345678Z", 1776075072 },
	{ "2026-04-13T10:11:12.3456789Z", 1776075072 },
	{ "2026-04-13T10:11:12.34567890Z", 1776075072 },
	{ "2026-04-13T10:11:12.999999999Z", 1776075072 },
	{ "2026-04-13T10:11:12.345678+00:00", 1776075072 },
	{ "2000-01-01T00:00:00Z", 946684800 },
	{ "2000-02-29T00:00:00Z", 951782400 },
	{ "2024-02-29T12:00:00Z", 1709208000 },
	{ "2038-01-19T03:14:07Z", 2147483647 },
	{ "2038-01-19T03:14:08Z", 2147483648 },
	{ "2100-01-01T00:00:00Z", 4102444800 },
	{ "2106-02-07T06:28:16Z", 4294967296 },
	{ "9999-12-31T23:59:59Z", 253402300799 },
	/* The API never sends a leap second; it is clamped, not refused. */
	{ "2016-12-31T23:59:60Z", 1483228799 },
};

START_TEST(test_good)
{
	int64_t t = -12345;

	ck_assert_msg(ts_parse(good[_i].s, strlen(good[_i].s), &t),
	    "ts_parse refused \"%s\"", good[_i].s);
	ck_assert_msg(t == good[_i].t, "%s: %lld != %lld", good[_i].s,
	    (long long)t, (long long)good[_i].t);
}
END_TEST

static const char *const bad[] = {
	"", "garbage", "2026", "2026-04-13", "2026-04-13T", "2026-04-13T10:11",
	"2026-04-13T10:11:12",               /* no zone */
	"2026-04-13T10:11:12.",
	"2026-04-13T10:11:12.Z",
	"2026-04-13T10:11:12.1234567890Z",   /* 10 fraction digits */
	"2026-04-13T10:11:12.123",           /* fraction, no zone */
	"2026-04-13T10:11:12+05:3",          /* truncated offset */
	"2026-04-13T10:11:12+05",
	"2026-04-13T10:11:12+0530",
	"2026-04-13T10:11:12+24:00",
	"2026-04-13T10:11:12+05:60",
	"2026-04-13T10:11:12Z ",             /* trailing junk */
	"2026-04-13T10:11:12Zx",
	"2026-04-13T10:11:12ZZ",
	"2026-04-13T10:11:12+00:00Z",
	" 2026-04-13T10:11:12Z",
	"2023-02-29T00:00:00Z",              /* not a leap year */
	"1900-02-29T00:00:00Z",              /* century, not leap */
	"2026-04-31T00:00:00Z",
	"2026-13-01T00:00:00Z",
	"2026-00-01T00:00:00Z",
	"2026-01-00T00:00:00Z",
	"2026-01-32T00:00:00Z",
	"2026-01-01T24:00:00Z",
	"2026-01-01T23:60:00Z",
	"2026-01-01T23:59:61Z",
	"2026-1-01T00:00:00Z",
	"2026/01/01T00:00:00Z",
	"2026-01-01X00:00:00Z",
	"2026-01-01T00-00-00Z",
	"+026-01-01T00:00:00Z",
	"2026-01-01T0a:00:00Z",
	"2026-01-01T00:00:00z0",
	"2026-01-01T00:00:00 UTC",
};

START_TEST(test_bad)
{
	int64_t t = 42;

	ck_assert_msg(!ts_parse(bad[_i], strlen(bad[_i]), &t),
	    "ts_parse accepted \"%s\" as %lld", bad[_i], (long long)t);
	ck_assert_int_eq(t, 42);
}
END_TEST

START_TEST(test_len)
{
	const char *s = "2026-04-13T10:11:12Zjunk";
	int64_t t;

	/* Only len bytes count: the JSON layer passes unterminated text. */
	ck_assert(ts_parse(s, 20, &t));
	ck_assert_int_eq(t, 1776075072);
	ck_assert(!ts_parse(s, 19, &t));
	ck_assert(!ts_parse(s, 21, &t));
	ck_assert(!ts_parse(NULL, 20, &t));
	ck_assert(!ts_parse("2026-04-13T10:11:12Z\0", 21, &t));
}
END_TEST

START_TEST(test_format)
{
	char buf[32];

	ts_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	ts_format(1776075072, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-04-13T10:11:12Z");
	ts_format(2147483648, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2038-01-19T03:14:08Z");
	ts_format(951782400, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2000-02-29T00:00:00Z");
	ts_format(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59Z");
	ts_format(-86400, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T00:00:00Z");
	ts_format(253402300799, buf, sizeof(buf));
	ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
	/* Exactly 21 bytes is enough. */
	ts_format(0, buf, 21);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_round_trip)
{
	static const int64_t ts[] = {
		0, 1, -1, 59, 86399, 86400, -86400, -86401, 68169600,
		951782399, 951782400, 1709208000, 1776075072, 2147483647,
		2147483648, 4102444800, 4294967296, 253402300799,
	};
	char buf[32];
	int64_t t;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ts); i++) {
		ts_format(ts[i], buf, sizeof(buf));
		ck_assert_msg(ts_parse(buf, strlen(buf), &t), "parse %s", buf);
		ck_assert_msg(t == ts[i], "%s: %lld != %lld", buf,
		    (long long)t, (long long)ts[i]);
	}
	/* Every day of 2023..2025 at a changing time of day. */
	for (t = 1672531200; t < 1767225600; t += 86400 + 3599) {
		int64_t u;

		ts_format(t, buf, sizeof(buf));
		ck_assert(ts_parse(buf, strlen(buf), &u));
		ck_assert_int_eq(u, t);
	}
}
END_TEST

static Suite *
time_suite(void)
{
	Suite *s = suite_create("time");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_good, 0, (int)ARRAY_SIZE(good));
	tcase_add_loop_test(tc, test_bad, 0, (int)ARRAY_SIZE(bad));
	tcase_add_test(tc, test_len);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(time_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
