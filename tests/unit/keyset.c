/* SPDX-License-Identifier: ISC */
/* The key set: windows by count and by time, growth, and a reference model. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "dedupe/keyset.h"

/* A key whose home slot is shared with every key of the same bucket. */
static struct ev_keyent
key(uint32_t bucket, uint32_t id, int64_t t)
{
	return (struct ev_keyent){ (uint64_t)bucket << 32 | id, (uint64_t)id * 0x9e3779b97f4a7c15u, t };
}

static struct ev_keyent
k(uint32_t id, int64_t t)
{
	return key(id * 2654435761u, id, t);
}

Test(keyset, count_window_edges)
{
	/* With --max-keys N a key is a duplicate while it is among the last N keys added. */
	static const struct { unsigned n, between; int dup; } cases[] = {
		{ 3, 0, 1 }, { 3, 1, 1 }, { 3, 2, 1 }, { 3, 3, 0 }, { 3, 4, 0 },
		{ 1, 0, 1 }, { 1, 1, 0 }, { 1000, 999, 1 }, { 1000, 1000, 0 },
		{ 5000, 4999, 1 }, { 5000, 5000, 0 }, /* past the first growth */
	};

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct ev_keyset *ks = ev_keyset_new(cases[c].n, 0);
		struct ev_keyent first = k(1, 0);
		cr_assert_eq(ev_keyset_add(ks, &first), 1);
		for (unsigned i = 0; i < cases[c].between; i++) {
			struct ev_keyent e = k(100 + i, 0);
			cr_assert_eq(ev_keyset_add(ks, &e), 1);
		}
		cr_expect_eq(ev_keyset_add(ks, &first), !cases[c].dup, "n %u, %u between",
		    cases[c].n, cases[c].between);
		cr_expect_leq(ev_keyset_count(ks), cases[c].n);
		ev_keyset_free(ks);
	}
}

Test(keyset, time_window_edges)
{
	/* --window 1s: remembered at t, forgotten once the clock reaches t + 1000. */
	static const struct { int64_t later; int dup; } cases[] = {
		{ 0, 1 }, { 1, 1 }, { 999, 1 }, { 1000, 0 }, { 1001, 0 }, { 86400000, 0 },
	};

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct ev_keyset *ks = ev_keyset_new(0, 1000);
		struct ev_keyent e = k(7, 5000);
		ev_keyset_clock(ks, 5000);
		cr_assert_eq(ev_keyset_add(ks, &e), 1);
		e.t = 5000 + cases[c].later;
		ev_keyset_clock(ks, e.t);
		cr_expect_eq(ev_keyset_add(ks, &e), !cases[c].dup, "%lld ms later",
		    (long long)cases[c].later);
		ev_keyset_free(ks);
	}
}

Test(keyset, clock_never_goes_back)
{
	struct ev_keyset *ks = ev_keyset_new(0, 100);
	struct ev_keyent a = k(1, 1000);

	ev_keyset_clock(ks, 1000);
	ev_keyset_add(ks, &a);
	ev_keyset_clock(ks, 10);
	cr_expect_eq(ev_keyset_now(ks), 1000);
	cr_expect(ev_keyset_has(ks, a.lo, a.hi));
	ev_keyset_free(ks);
}

Test(keyset, out_of_order_times)
{
	/* b is older than the head a: it expires behind it and is replaced when seen again. */
	struct ev_keyset *ks = ev_keyset_new(0, 100);
	struct ev_keyent a = k(1, 100), b = k(2, 50);

	ev_keyset_clock(ks, 100);
	cr_assert_eq(ev_keyset_add(ks, &a), 1);
	cr_assert_eq(ev_keyset_add(ks, &b), 1);
	ev_keyset_clock(ks, 160);
	cr_expect_not(ev_keyset_has(ks, b.lo, b.hi));
	cr_expect(ev_keyset_has(ks, a.lo, a.hi));
	b.t = 160;
	cr_expect_eq(ev_keyset_add(ks, &b), 1);
	cr_expect_eq(ev_keyset_add(ks, &b), 0);
	cr_expect_eq(ev_keyset_count(ks), 2);
	ev_keyset_clock(ks, 200);
	cr_expect_eq(ev_keyset_count(ks), 1);
	cr_expect(ev_keyset_has(ks, b.lo, b.hi));
	ev_keyset_free(ks);
}

Test(keyset, grows_and_keeps_everything)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);

	for (uint32_t i = 0; i < 200000; i++) {
		struct ev_keyent e = k(i, 0);
		cr_assert_eq(ev_keyset_add(ks, &e), 1, "%u", i);
	}
	cr_expect_eq(ev_keyset_count(ks), 200000);
	for (uint32_t i = 0; i < 200000; i++) {
		struct ev_keyent e = k(i, 0);
		cr_assert_eq(ev_keyset_add(ks, &e), 0, "%u", i);
	}
	ev_keyset_free(ks);
}

Test(keyset, thirty_two_bytes_per_key)
{
	struct ev_keyset *ks = ev_keyset_new(100000, 0);

	for (uint32_t i = 0; i < 300000; i++) {
		struct ev_keyent e = k(i, 0);
		ev_keyset_add(ks, &e);
	}
	cr_expect_eq(ev_keyset_count(ks), 100000);
	cr_expect_leq(ev_keyset_bytes(ks), 32 * 100000 + 256, "%zu bytes", ev_keyset_bytes(ks));
	ev_keyset_free(ks);
}

Test(keyset, put_replaces)
{
	struct ev_keyset *ks = ev_keyset_new(3, 0);
	struct ev_keyent a = k(1, 0), b = k(2, 0), c = k(3, 0), d = k(4, 0);

	ev_keyset_put(ks, &a);
	ev_keyset_put(ks, &b);
	ev_keyset_put(ks, &a); /* a is now the newest; its older entry is dead */
	cr_expect_eq(ev_keyset_count(ks), 2);
	ev_keyset_put(ks, &c); /* the ring is full: the dead entry goes first */
	cr_expect_eq(ev_keyset_count(ks), 3);
	ev_keyset_put(ks, &d); /* then b, the oldest live key */
	cr_expect_not(ev_keyset_has(ks, b.lo, b.hi));
	cr_expect(ev_keyset_has(ks, a.lo, a.hi));
	ev_keyset_free(ks);
}

static int
collect(const struct ev_keyent *e, void *arg)
{
	uint32_t **p = arg;

	*(*p)++ = (uint32_t)e->lo;
	return 0;
}

Test(keyset, each_is_oldest_first)
{
	struct ev_keyset *ks = ev_keyset_new(4, 0);
	uint32_t got[8], *p = got;

	for (uint32_t i = 1; i <= 6; i++) {
		struct ev_keyent e = key(0, i, 0);
		ev_keyset_add(ks, &e);
	}
	ev_keyset_each(ks, collect, &p);
	cr_assert_eq(p - got, 4);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(got[i], (uint32_t)i + 3);
	ev_keyset_free(ks);
}

/* The reference: a list in insertion order, forgetting from the front. */
struct model {
	uint32_t id[64];
	int64_t t[64];
	int n;
};

static int
model_add(struct model *m, unsigned cap, int64_t window, int64_t now, uint32_t id)
{
	while (m->n > 0 && m->t[0] <= now - window) {
		memmove(m->id, m->id + 1, (size_t)--m->n * sizeof m->id[0]);
		memmove(m->t, m->t + 1, (size_t)m->n * sizeof m->t[0]);
	}
	for (int i = 0; i < m->n; i++)
		if (m->id[i] == id)
			return 0;
	if ((unsigned)m->n == cap) {
		memmove(m->id, m->id + 1, (size_t)--m->n * sizeof m->id[0]);
		memmove(m->t, m->t + 1, (size_t)m->n * sizeof m->t[0]);
	}
	m->id[m->n] = id;
	m->t[m->n++] = now;
	return 1;
}

Test(keyset, matches_a_reference_model)
{
	/* Few buckets, so that probes collide and deletions shift clusters. */
	srand(42);
	for (int round = 0; round < 20; round++) {
		unsigned cap = 1 + (unsigned)rand() % 40;
		int64_t window = round % 2 ? 1 + rand() % 50 : INT64_MAX / 4;
		struct ev_keyset *ks = ev_keyset_new(cap, window);
		struct model m = { .n = 0 };
		int64_t now = 0;

		for (int i = 0; i < 20000; i++) {
			uint32_t id = (uint32_t)rand() % 80;
			now += rand() % 3;
			struct ev_keyent e = key(id % 3, id, now);
			ev_keyset_clock(ks, now);
			int want = model_add(&m, cap, window, now, id);
			cr_assert_eq(ev_keyset_add(ks, &e), want, "round %d step %d id %u", round, i, id);
			cr_assert_eq(ev_keyset_count(ks), (size_t)m.n);
		}
		ev_keyset_free(ks);
	}
}
