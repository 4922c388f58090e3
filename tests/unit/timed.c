/* SPDX-License-Identifier: ISC */
/* Delay and expiry (io/timed.c): the attributes are read as readers need them. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/timed.h"

static const struct {
	const char *line, *name;
	int want;
	int64_t ms;
} cases[] = {
	{ "{\"evnotbefore\":\"2026-12-03T10:00:00.500Z\"}", "evnotbefore", 1, 1796292000500 },
	{ "{\"a\":1,\"expirytime\":\"2026-12-03T11:00:00+01:00\"}", "expirytime", 1, 1796292000000 },
	{ "{\"a\":1}", "evnotbefore", 0, 0 },
	{ "{\"data\":{\"evnotbefore\":\"2026-12-03T10:00:00Z\"}}", "evnotbefore", 0, 0 },
	{ "{\"evnotbefore\":\"soon\"}", "evnotbefore", -1, 0 },
	{ "{\"evnotbefore\":12}", "evnotbefore", 0, 0 },
	{ "[1,2]", "evnotbefore", 0, 0 },
	{ "not json", "evnotbefore", 0, 0 },
};

Test(timed, attributes)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t ms = 0;
		int r = ev_timed_attr(cases[i].line, strlen(cases[i].line), cases[i].name, &ms);
		cr_expect_eq(r, cases[i].want, "case %zu: %d", i, r);
		if (r == 1)
			cr_expect_eq(ms, cases[i].ms, "case %zu: %lld", i, (long long)ms);
	}
}
