/* SPDX-License-Identifier: ISC */
/* lib/fold: window arithmetic, HyperLogLog's error, numbers as jq prints
 * them, and the built-in folds' internals surviving a save and a load. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fold/agg.h"
#include "fold/hll.h"
#include "fold/window.h"

Test(fold, windows)
{
	static const struct { const char *spec; int64_t t; size_t n; int64_t first, last; } tab[] = {
		{ "tumbling:1m", 0, 1, 0, 0 },
		{ "tumbling:1m", 59999, 1, 0, 0 },
		{ "tumbling:1m", 60000, 1, 60000, 60000 },
		{ "tumbling:1m", -1, 1, -60000, -60000 },
		{ "hopping:5m/1m", 130000, 5, -120000, 120000 },
		{ "hopping:1m/30s", 30000, 2, 0, 30000 },
		{ "hopping:1m/1m", 61000, 1, 60000, 60000 },
	};
	struct ev_buf err = { 0 };
	int64_t starts[EV_WIN_MAXHOPS];

	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		struct ev_window w;
		cr_assert_eq(ev_window_parse(tab[i].spec, &w, &err), 0, "%s", tab[i].spec);
		size_t n = ev_window_starts(&w, tab[i].t, starts);
		cr_expect_eq(n, tab[i].n, "%s at %lld: %zu windows", tab[i].spec, (long long)tab[i].t, n);
		cr_expect_eq(starts[0], tab[i].first, "%s: first %lld", tab[i].spec, (long long)starts[0]);
		cr_expect_eq(starts[n - 1], tab[i].last, "%s: last %lld", tab[i].spec,
		    (long long)starts[n - 1]);
	}
	static const char *bad[] = { "tumbling", "tumbling:", "tumbling:0s", "hopping:1m",
		"hopping:1m/2m", "hopping:1h/1ms", "session:-1s", "daily:1d" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ev_window w;
		cr_expect_eq(ev_window_parse(bad[i], &w, &err), -1, "'%s' accepted", bad[i]);
	}
	ev_buf_free(&err);
}

Test(fold, hll_error)
{
	static const unsigned sizes[] = { 1, 10, 1000, 10000, 100000, 1000000 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint8_t *reg = calloc(1, EV_HLL_BYTES);
		for (unsigned v = 0; v < sizes[i]; v++) {
			uint64_t h = XXH3_64bits(&v, sizeof v);
			ev_hll_add(reg, h);
			ev_hll_add(reg, h); /* a repeat changes nothing */
		}
		double got = (double)ev_hll_count(reg), want = sizes[i];
		/* 1.6% standard error: within 5% (three of them) every time */
		cr_expect(got >= want * 0.95 && got <= want * 1.05, "%u values: %.0f", sizes[i], got);
		free(reg);
	}
}

Test(fold, numbers)
{
	static const struct { double d; const char *s; } tab[] = {
		{ 0, "0" }, { 3, "3" }, { -12, "-12" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 249.49, "249.49" }, { 1e300, "1e+300" }, { 1.0 / 0.0, "1.7976931348623157e+308" },
	};
	struct ev_buf b = { 0 };

	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		ev_buf_reset(&b);
		ev_agg_num(tab[i].d, &b);
		cr_expect_str_eq(b.p, tab[i].s);
	}
	ev_buf_free(&b);
}

/* The printf rule ev_agg_num keeps (agg.c), for the fast path to match. */
static void
byprintf(double d, char *b, size_t n)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(b, n, "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			break;
	}
}

static void
numis(double d, struct ev_buf *b)
{
	char want[40];

	if (d == (double)(int64_t)d)
		return;
	byprintf(d, want, sizeof want);
	ev_buf_reset(b);
	ev_agg_num(d, b);
	cr_expect_str_eq(b->p, want, "%a: %s, printf says %s", d, b->p, want);
}

Test(fold, numbers_as_printf)
{
	struct ev_buf b = { 0 };
	uint64_t x = 88172645463325252ull;
	double sum = 0;

	/* sums of amounts with cents, as --sum makes them */
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sum += (double)(x % 10000000) / 100;
		numis(sum, &b);
		numis(-sum / 1000, &b);
	}
	/* any bits in and around the fast path's range, and its edges */
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		double d = ldexp((double)(x >> 11) / 9007199254740992.0, (int)(x % 70) - 20);
		numis(d, &b);
	}
	static const double edge[] = { 1e-3, 0.0010000000000000002, 0.00099999999999999998,
		1e14 - 0.5, 99999999999999.98, 99999999999999.99, 0.1, 0.7, 9.5, 0.3,
		999999999999999.9, 9.9999999999999982, 9.9999999999999964, 0.5000000000000001,
		2.2250738585072014e-308, 4.9e-324, 1e-5, 123456.7890123456 };
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
		numis(edge[i], &b);
		numis(nextafter(edge[i], 0), &b);
		numis(nextafter(edge[i], 1e300), &b);
	}
	ev_buf_free(&b);
}

Test(fold, save_load)
{
	unsigned mask = (1u << EV_NAGG) - 1;
	struct ev_aggstate s = { 0 }, t = { 0 };
	struct ev_jval v[EV_NAGG];
	struct ev_buf tmp = { 0 }, aux = { 0 }, a = { 0 }, b = { 0 };
	const char *nums[] = { "3", "1.5", "-2" };

	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < EV_NAGG; i++) {
			v[i].type = EV_J_NUMBER;
			v[i].p = nums[k];
			v[i].len = strlen(nums[k]);
			v[i].escaped = 0;
		}
		ev_agg_apply(mask, &s, v, &tmp);
	}
	ev_agg_json(mask, &s, &a);
	cr_expect_str_eq(a.p, "{\"count\":3,\"sum\":2.5,\"min\":-2,\"max\":3,\"avg\":0.8333333333333334,"
	    "\"first\":3,\"last\":-2,\"distinct\":3}");
	ev_agg_save(&s, &aux);
	cr_assert_eq(ev_agg_load(&t, aux.p, aux.len), 0);
	ev_agg_json(mask, &t, &b);
	cr_expect_str_eq(a.p, b.p);
	cr_expect_eq(ev_agg_load(&t, "junk", 4), -1);
	/* a loaded state saves as the same bytes (no padding left unset) */
	cr_assert_eq(ev_agg_load(&t, aux.p, aux.len), 0);
	ev_buf_reset(&b);
	ev_agg_save(&t, &b);
	cr_expect(b.len == aux.len && memcmp(b.p, aux.p, aux.len) == 0);
	/* a damaged aux is refused, not made into a state whose JSON is not
	 * JSON (found by tests/fuzz/foldstate); offsets as agg.c lays it out */
	static const struct { size_t off; char c; } dmg[] = {
		{ 12 + 48, 2 },          /* hasmin neither 0 nor 1 */
		{ 12 + 7, (char)0x80 },  /* a negative count */
		{ 12 + 64, 2 },          /* hll neither 0 nor 1 */
		{ 12 + 72, '{' },        /* first ("3") not JSON */
		{ 12 + 72 + 2, 'x' },    /* last ("-2") not JSON */
		{ 12 + 72 + 3 + 5, 99 }, /* a register no hash can set */
	};
	for (size_t i = 0; i < sizeof dmg / sizeof dmg[0]; i++) {
		ev_buf_reset(&b);
		ev_buf_add(&b, aux.p, aux.len);
		b.p[dmg[i].off] = dmg[i].c;
		cr_expect_eq(ev_agg_load(&t, b.p, b.len), -1, "damage %zu loads", i);
		cr_expect(!t.hll && !t.first.p && !t.last.p);
	}
	cr_expect(ev_agg_needaux(mask, &s), "--avg and --distinct need aux");
	/* without avg and distinct, the JSON says it all */
	unsigned m2 = mask & ~((1u << EV_AGG_AVG) | (1u << EV_AGG_DISTINCT));
	cr_expect(!ev_agg_needaux(m2, &s));
	ev_buf_reset(&a);
	ev_agg_json(m2, &s, &a);
	cr_assert_eq(ev_agg_fromjson(m2, &t, a.p, a.len), 0);
	ev_buf_reset(&b);
	ev_agg_json(m2, &t, &b);
	cr_expect_str_eq(a.p, b.p);
	cr_expect_eq(ev_agg_fromjson(m2, &t, "{\"count\":\"x\"}", 13), -1);
	s.sum = 1.0 / 0.0;
	cr_expect(ev_agg_needaux(m2, &s), "an infinite sum is not in the JSON");
	ev_agg_free(&s);
	ev_agg_free(&t);
	ev_buf_free(&tmp);
	ev_buf_free(&aux);
	ev_buf_free(&a);
	ev_buf_free(&b);
}
