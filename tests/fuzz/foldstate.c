/* SPDX-License-Identifier: ISC */
/* Fuzz evfold's state codec: the built-in folds' internals (agg.h's
 * ev_agg_save and ev_agg_load, kept as a view row's aux) and the state's
 * JSON (ev_agg_json, the row's state and the changelog's data).
 *
 * The first byte says what the rest is:
 *  - 0 (mod 4): an aux as found in a database. Decoding never crashes or leaks;
 *    what decodes encodes back to the same bytes (less 4 unused ones),
 *    and its JSON is one valid JSON object.
 *  - 2 (mod 4): a window spec, a newline, an event time (RFC 3339). A
 *    windowed view keeps each window's start and end as RFC 3339 text
 *    (store.c): for an event whose windows the fold takes
 *    (ev_window_storable), each start and end reads back as itself, and
 *    the texts sort as the times do.
 *  - odd: events, one per line, folded by every built-in fold on .v
 *    (count on the event) into one state, and into two halves split at the
 *    line the second byte names. decode(encode(x)) == x: the same JSON and
 *    the same encoding again; the halves merged (session windows that
 *    meet), also through the codec, equal the whole for every fold but sum
 *    and avg (doubles added in another order may round otherwise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/time.h"
#include "fold/agg.h"
#include "fold/hll.h"
#include "fold/window.h"
#include "json/jsonscan.h"

#include "fuzz.h"

#define ALL ((1u << EV_NAGG) - 1)
#define UNUSED (12 + 68) /* "evfold-agg1" and its NUL, 68 bytes of numbers */
/* distinct's estimate costs a pass over 4 KiB: the registers are compared
 * instead, and its JSON made once per state */
#define CHEAP (ALL & ~(1u << EV_AGG_DISTINCT))
#define EXACT (CHEAP & ~((1u << EV_AGG_SUM) | (1u << EV_AGG_AVG)))

static struct ev_buf a, b, c, tmp;

/* The JSON of s under mask is one valid JSON object; it is left in out. */
static void
json(unsigned mask, const struct ev_aggstate *s, struct ev_buf *out)
{
	struct ev_jerr je;

	ev_buf_reset(out);
	ev_agg_json(mask, s, out);
	FUZZ_ASSERT(ev_json_valid(out->p, out->len, &je) == 0 && out->p[0] == '{',
	    "state JSON %s: %s at %zu", out->p, je.msg, je.off);
}

/* decode(encode(s)) has the JSON and the encoding of s. */
static void
roundtrip(const struct ev_aggstate *s)
{
	struct ev_aggstate t = { 0 };

	ev_agg_save(s, &a);
	FUZZ_ASSERT(ev_agg_load(&t, a.p, a.len) == 0, "a saved state does not load");
	ev_agg_save(&t, &b);
	FUZZ_ASSERT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "saved again, %zu bytes become %zu other bytes", a.len, b.len);
	json(CHEAP, s, &b);
	json(CHEAP, &t, &c);
	FUZZ_ASSERT(strcmp(b.p, c.p) == 0, "state %s loads as %s", b.p, c.p);
	FUZZ_ASSERT((!s->hll && !t.hll) ||
	    (s->hll && t.hll && memcmp(s->hll, t.hll, EV_HLL_BYTES) == 0),
	    "the registers load otherwise");
	ev_agg_free(&t);
}

static void
rawaux(const uint8_t *data, size_t size)
{
	struct ev_aggstate s = { 0 };

	if (ev_agg_load(&s, data, size) < 0) {
		FUZZ_ASSERT(!s.hll && !s.first.p && !s.last.p, "a refused aux left memory behind");
		return;
	}
	/* the same bytes, but the 4 unused ones after the numbers, which
	 * load ignores and save zeroes (agg.c) */
	ev_agg_save(&s, &a);
	ev_buf_reset(&c);
	ev_buf_add(&c, data, size);
	memset(c.p + UNUSED, 0, 4);
	FUZZ_ASSERT(a.len == size && memcmp(a.p, c.p, size) == 0,
	    "an aux of %zu bytes saves back as %zu other bytes", size, a.len);
	json(ALL, &s, &b);
	roundtrip(&s);
	ev_agg_free(&s);
}

/* Fold one event line into s (and h): 1 folded, 0 refused. */
static int
fold(const char *p, size_t n, struct ev_aggstate *s, struct ev_aggstate *h)
{
	static struct ev_jpath *v;
	struct ev_jval val, vals[EV_NAGG];
	const char *why;
	int which;

	if (!v)
		v = ev_jpath_compile(".v", &tmp);
	if (ev_json_scan(p, n, &v, 1, &val, NULL) < 0)
		return 0;
	for (int i = 0; i < EV_NAGG; i++)
		vals[i] = val;
	vals[EV_AGG_COUNT].type = EV_J_MISSING;
	vals[EV_AGG_COUNT].jqerr = 0;
	if (ev_agg_check(ALL & ~(1u << EV_AGG_COUNT), vals, &why, &which) < 0) {
		/* what the numeric folds refuse, the others still take */
		unsigned rest = (1u << EV_AGG_COUNT) | (1u << EV_AGG_FIRST) |
		    (1u << EV_AGG_LAST) | (1u << EV_AGG_DISTINCT);
		if (ev_agg_check(rest, vals, &why, &which) < 0)
			return 0;
		ev_agg_apply(rest, s, vals, &tmp);
		ev_agg_apply(rest, h, vals, &tmp);
		return 1;
	}
	ev_agg_apply(ALL, s, vals, &tmp);
	ev_agg_apply(ALL, h, vals, &tmp);
	return 1;
}

static void
events(const uint8_t *data, size_t size)
{
	struct ev_aggstate whole = { 0 }, half[2] = { { 0 }, { 0 } }, m = { 0 }, l0 = { 0 },
	    l1 = { 0 };
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	size_t split = size ? data[0] % 16 : 0, line = 0;

	if (size == 0)
		return;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;

		if (fold(p, (size_t)(le - p), &whole, &half[line >= split]))
			line++;
		p = nl ? nl + 1 : end;
	}
	json(ALL, &whole, &b);
	roundtrip(&whole);
	roundtrip(&half[0]);
	roundtrip(&half[1]);

	/* the halves merged equal the whole, straight and through the codec */
	ev_agg_merge(ALL, &m, &half[0]);
	ev_agg_merge(ALL, &m, &half[1]);
	ev_agg_save(&half[0], &a);
	FUZZ_ASSERT(ev_agg_load(&l0, a.p, a.len) == 0, "a saved half does not load");
	ev_agg_save(&half[1], &a);
	FUZZ_ASSERT(ev_agg_load(&l1, a.p, a.len) == 0, "a saved half does not load");
	ev_agg_merge(ALL, &l0, &l1);
	json(EXACT, &whole, &a);
	json(EXACT, &m, &b);
	json(EXACT, &l0, &c);
	FUZZ_ASSERT(strcmp(a.p, b.p) == 0, "whole %s, halves merged %s", a.p, b.p);
	FUZZ_ASSERT(strcmp(a.p, c.p) == 0, "whole %s, halves loaded and merged %s", a.p, c.p);
	FUZZ_ASSERT((!whole.hll && !m.hll) ||
	    (whole.hll && m.hll && memcmp(whole.hll, m.hll, EV_HLL_BYTES) == 0),
	    "the merged registers differ from the whole's");
	FUZZ_ASSERT(m.count == whole.count && m.avgn == whole.avgn, "counts differ");
	ev_agg_free(&whole);
	ev_agg_free(&half[0]);
	ev_agg_free(&half[1]);
	ev_agg_free(&m);
	ev_agg_free(&l0);
	ev_agg_free(&l1);
}

/* A window's start or end as the view keeps it, and back. */
static void
stamp(int64_t ms, char *buf)
{
	int64_t back;
	size_t n = ev_time_format(ms, buf);

	FUZZ_ASSERT(n == 24 && ev_time_parse(buf, n, &back) == 0 && back == ms,
	    "%lld ms is kept as %s", (long long)ms, buf);
}

static void
windows(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	int64_t t, starts[EV_WIN_MAXHOPS];
	struct ev_window w;
	char s0[32], s1[32], e[32];
	size_t n;

	if (!nl)
		return;
	char *spec = ev_strndup((const char *)data, (size_t)(nl - (const char *)data));
	size_t tlen = size - (size_t)(nl + 1 - (const char *)data);
	if (ev_window_parse(spec, &w, &tmp) < 0 || ev_time_parse(nl + 1, tlen, &t) < 0 ||
	    !ev_window_storable(&w, t)) {
		free(spec);
		return;
	}
	if (w.kind == EV_WIN_SESSION) {
		starts[0] = t;
		n = 1;
	} else {
		n = ev_window_starts(&w, t, starts);
		FUZZ_ASSERT(n > 0, "%s: no window holds %lld", spec, (long long)t);
	}
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(starts[i] <= t && t < starts[i] + w.size, "%s: window %lld holds not %lld",
		    spec, (long long)starts[i], (long long)t);
		stamp(starts[i], i ? s1 : s0);
		stamp(starts[i] + w.size, e);
		if (i) {
			FUZZ_ASSERT(strcmp(s0, s1) < 0, "%s sorts after %s", s0, s1);
			memcpy(s0, s1, sizeof s0);
		}
	}
	free(spec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		events(data + 1, size - 1);
	else if (data[0] & 2)
		windows(data + 1, size - 1);
	else
		rawaux(data + 1, size - 1);
	return 0;
}
