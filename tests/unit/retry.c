/* SPDX-License-Identifier: ISC */
/* Backoff with jitter, the rate limit and exit-status lists, table-driven. */
#include <criterion/criterion.h>
#include <string.h>

#include "retry/retry.h"

Test(retry, backoff_bounds)
{
	static const struct { int n; int64_t max; } t[] = {
		{ 1, 100 }, { 2, 200 }, { 3, 400 }, { 4, 800 }, { 5, 1000 }, { 40, 1000 }, { 100000, 1000 },
	};

	ev_retry_seed(42);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int64_t lo = INT64_MAX, hi = -1;
		cr_expect_eq(ev_retry_backoff(100, 1000, t[i].n, EV_JITTER_NONE), t[i].max, "n=%d", t[i].n);
		for (int k = 0; k < 2000; k++) {
			int64_t d = ev_retry_backoff(100, 1000, t[i].n, EV_JITTER_FULL);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			int64_t e = ev_retry_backoff(100, 1000, t[i].n, EV_JITTER_EQUAL);
			cr_expect(e >= t[i].max / 2 && e <= t[i].max, "equal n=%d: %lld", t[i].n, (long long)e);
		}
		/* Full jitter spreads over the whole of [0, max]. */
		cr_expect(lo >= 0 && lo < t[i].max / 10, "n=%d: min %lld", t[i].n, (long long)lo);
		cr_expect(hi <= t[i].max && hi > t[i].max * 9 / 10, "n=%d: max %lld", t[i].n, (long long)hi);
	}
	cr_expect_eq(ev_retry_backoff(0, 0, 3, EV_JITTER_FULL), 0);
	cr_expect_eq(ev_retry_backoff(INT64_MAX / 2, INT64_MAX, 70, EV_JITTER_NONE), INT64_MAX);
}

Test(retry, parsebackoff)
{
	static const struct { const char *s; int64_t base, cap; } ok[] = {
		{ "1s,5m", 1000, 300000 }, { "100ms", 100, 300000 }, { "10m", 600000, 600000 },
		{ "250ms,250ms", 250, 250 },
	};
	static const char *bad[] = { "", ",", "1s,", ",5m", "5m,1s", "x", "1s,5m,1h" };

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t b = -1, c = -1;
		cr_expect_eq(ev_retry_parsebackoff(ok[i].s, &b, &c), 0, "%s", ok[i].s);
		cr_expect(b == ok[i].base && c == ok[i].cap, "%s: %lld,%lld", ok[i].s, (long long)b,
		    (long long)c);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t b, c;
		cr_expect_eq(ev_retry_parsebackoff(bad[i], &b, &c), -1, "'%s' accepted", bad[i]);
	}
}

Test(retry, parsecodes)
{
	unsigned char set[256];
	static const char *bad[] = { "", "75,", ",75", "256", "5-3", "a", "1-", "-1", "75 111" };

	cr_assert_eq(ev_retry_parsecodes("75,111,3-5,0", set), 0);
	for (int c = 0; c < 256; c++)
		cr_expect_eq(set[c], c == 75 || c == 111 || (c >= 3 && c <= 5) || c == 0, "%d", c);
	cr_assert_eq(ev_retry_parsecodes("1-255", set), 0);
	cr_expect(!set[0] && set[1] && set[255]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(ev_retry_parsecodes(bad[i], set), -1, "'%s' accepted", bad[i]);
}

Test(retry, rate)
{
	static const struct { const char *s; int64_t us; } ok[] = {
		{ "100/s", 10000 }, { "5/m", 12000000 }, { "1/2s", 2000000 }, { "10/1h", 360000000 },
		{ "3/500ms", 166666 }, { "1000000000/s", 1 },
	};
	static const char *bad[] = { "", "100", "/s", "0/s", "-1/s", "10/", "10/x", "a/s", "10/0s" };
	struct ev_rate r;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		cr_expect_eq(ev_retry_parserate(ok[i].s, &r), 0, "%s", ok[i].s);
		cr_expect_eq(r.interval_us, ok[i].us, "%s: %lld", ok[i].s, (long long)r.interval_us);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(ev_retry_parserate(bad[i], &r), -1, "'%s' accepted", bad[i]);

	/* 100/s: starts 10 ms apart, no burst after an idle spell. */
	ev_retry_parserate("100/s", &r);
	cr_expect_eq(ev_retry_ratetake(&r, 1000000), 0);
	cr_expect_eq(ev_retry_ratetake(&r, 1000000), 10000);
	cr_expect_eq(ev_retry_ratetake(&r, 1004000), 6000);
	cr_expect_eq(ev_retry_ratetake(&r, 1010500), 0);    /* a little late: no drift */
	cr_expect_eq(ev_retry_ratetake(&r, 1020000), 0);
	cr_expect_eq(ev_retry_ratetake(&r, 5000000), 0);    /* idle */
	cr_expect_eq(ev_retry_ratetake(&r, 5000000), 10000);
}
