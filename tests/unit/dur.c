/* SPDX-License-Identifier: ISC */
/* Durations and RFC 3339 times, table-driven. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/time.h"

Test(dur, parse)
{
	static const struct { const char *s; int64_t ms; } ok[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "5m", 300000 }, { "2h", 7200000 },
		{ "7d", 604800000 }, { "1h30m", 5400000 }, { "1.5s", 1500 }, { "10", 10000 },
		{ "0s", 0 }, { "1w", 604800000 },
	};
	static const char *bad[] = { "", "s", "5x", "-1s", "1h 30m", "5mm", "ms", "99999999999999999999d" };

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t ms = -1;
		cr_expect_eq(ev_dur_parse(ok[i].s, &ms), 0, "%s", ok[i].s);
		cr_expect_eq(ms, ok[i].ms, "%s: %lld", ok[i].s, (long long)ms);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms;
		cr_expect_eq(ev_dur_parse(bad[i], &ms), -1, "'%s' accepted", bad[i]);
	}
}

Test(dur, rfc3339)
{
	static const struct { const char *s; int64_t ms; } ok[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2024-01-01T00:00:00.000Z", 1704067200000 },
		{ "2024-01-01T01:00:00+01:00", 1704067200000 },
		{ "2023-12-31T19:00:00.5-05:00", 1704067200500 },
		{ "2024-02-29T12:00:00.123456Z", 1709208000123 },
		{ "1969-12-31T23:59:59.999Z", -1 },
	};
	static const char *bad[] = {
		"2024-01-01", "2024-01-01T00:00:00", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
		"2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+0100",
		"2024-01-01T00:00:00Zjunk",
	};
	char buf[32];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t ms = 0;
		cr_expect_eq(ev_time_parse(ok[i].s, strlen(ok[i].s), &ms), 0, "%s", ok[i].s);
		cr_expect_eq(ms, ok[i].ms, "%s: %lld", ok[i].s, (long long)ms);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms;
		cr_expect_eq(ev_time_parse(bad[i], strlen(bad[i]), &ms), -1, "'%s' accepted", bad[i]);
	}
	cr_expect_eq(ev_time_format(1704067200123, buf), 24);
	cr_expect_str_eq(buf, "2024-01-01T00:00:00.123Z");
	cr_expect_eq(ev_time_format(-1, buf), 24);
	cr_expect_str_eq(buf, "1969-12-31T23:59:59.999Z");
}
