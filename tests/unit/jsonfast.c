/* SPDX-License-Identifier: ISC */
/* The scanner's fast paths: ev_jval_num against strtod, bit for bit (the
 * common numbers skip strtod and must round exactly as it does), and
 * strings skipped sixteen and eight bytes at a time. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "json/jsonscan.h"

static unsigned long long rng = 42;

static unsigned
rnd(unsigned n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(rng >> 33) % n;
}

static void
check(const char *num)
{
	struct ev_jval v = { EV_J_NUMBER, num, strlen(num), 0, 0 };
	double got = ev_jval_num(&v), want = strtod(num, NULL);
	cr_assert(memcmp(&got, &want, sizeof got) == 0, "%s: %.17g, strtod %.17g", num, got, want);
}

Test(jsonfast, table)
{
	static const char *nums[] = {
		"0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.3", "81.51", "500", "500.00",
		"9007199254740992", "9007199254740993", "-9007199254740993", "1e22", "1e23",
		"1e-22", "1e-23", "123456789012345678", "12345678901234567890", "1.7976931348623157e308",
		"1e400", "-1e400", "1e-400", "4.9e-324", "0e0", "0E+5", "0e99999999999", "1.5e-7",
		"2.2250738585072014e-308", "0.000000000000000000001", "100000000000000000000000",
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		check(nums[i]);
}

Test(jsonfast, random)
{
	char buf[64];
	for (int i = 0; i < 200000; i++) {
		int n = 0, idig = 1 + (int)rnd(18), fdig = (int)rnd(4) ? (int)rnd(18) : 0;
		if (rnd(2))
			buf[n++] = '-';
		buf[n++] = idig > 1 ? (char)('1' + rnd(9)) : (char)('0' + rnd(10));
		for (int j = 1; j < idig; j++)
			buf[n++] = (char)('0' + rnd(10));
		if (fdig) {
			buf[n++] = '.';
			for (int j = 0; j < fdig; j++)
				buf[n++] = (char)('0' + rnd(10));
		}
		if (!rnd(3))
			n += snprintf(buf + n, sizeof buf - (size_t)n, "e%s%u",
			    rnd(2) ? "-" : rnd(2) ? "+" : "", rnd(40));
		buf[n] = '\0';
		check(buf);
	}
}

/* A string holding one special byte sequence at every position, in lines
 * of every length around the scanner's 8- and 16-byte strides. */
Test(jsonfast, string_strides)
{
	static const struct {
		const char *seq;
		int valid;
	} sp[] = {
		{ "\\n", 1 }, { "\\\"", 1 }, { "\\u00e9", 1 }, { "\xc3\xa9", 1 }, { "\xf0\x9f\x98\x80", 1 },
		{ "\x01", 0 }, { "\xff", 0 }, { "\xc3", 0 }, { "\\x", 0 }, { "\"", 0 }, { "\x7f", 1 },
	};
	struct ev_buf err = { 0 }, line = { 0 };
	struct ev_jpath *k = ev_jpath_compile(".k", &err);
	cr_assert(k);
	for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
		for (int len = 0; len < 40; len++)
			for (int pos = 0; pos <= len; pos++) {
				ev_buf_reset(&line);
				ev_buf_adds(&line, "{\"k\":\"");
				for (int j = 0; j < len; j++) {
					if (j == pos)
						ev_buf_adds(&line, sp[i].seq);
					ev_buf_addc(&line, 'a');
				}
				if (pos == len)
					ev_buf_adds(&line, sp[i].seq);
				ev_buf_adds(&line, "\"}");
				struct ev_jval v;
				struct ev_jerr jerr;
				struct ev_jpath *paths[] = { k };
				int r = ev_json_scan(line.p, line.len, paths, 1, &v, &jerr);
				cr_assert_eq(r == 0, sp[i].valid, "%s: %d", line.p, r);
				if (r == 0)
					cr_assert_eq(v.len, line.len - 6, "%s: %zu", line.p, v.len);
			}
	ev_jpath_free(k);
	ev_buf_free(&err);
	ev_buf_free(&line);
}
