/* SPDX-License-Identifier: ISC */
/* Work done ahead in a helper thread: every line comes back once, in order,
 * with its own result, across batches and flushes; a failing done() is
 * reported. (The input's flush: see inputhook.c.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ahead.h"

struct res {
	size_t len;
	unsigned long sum; /* of the bytes: proves the helper saw this line's copy */
	uintmax_t no;
};

static unsigned long
sum(const char *p, size_t n)
{
	unsigned long s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 31 + (unsigned char)p[i];
	return s;
}

static void
work(void *ctx, const struct ev_line *l, void *resp)
{
	struct res *r = resp;

	(void)ctx;
	cr_assert_eq(r->len, 0, "a result is zeroed before work()");
	cr_assert_eq(l->p[l->len], '\0');
	r->len = l->len;
	r->sum = sum(l->p, l->len);
	r->no = l->no;
}

struct seen {
	uintmax_t next;  /* the line number done() expects next */
	size_t calls, lines;
	uintmax_t failat; /* done() fails on the batch holding this line */
};

static int
done(void *ctx, const struct ev_line *l, void *resp, size_t n)
{
	struct seen *s = ctx;
	struct res *r = resp;
	int rc = 0;

	s->calls++;
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(l[i].no, s->next, "line %ju came when %ju was due", l[i].no, s->next);
		cr_assert_eq(r[i].no, l[i].no);
		cr_assert_eq(r[i].len, l[i].len);
		cr_assert_eq(r[i].sum, sum(l[i].p, l[i].len), "line %ju: result of another line",
		    l[i].no);
		if (l[i].no == s->failat)
			rc = -1;
		s->next++;
		s->lines++;
	}
	return rc;
}

/* Lines of lengths 0 .. 3000 (some batches end on bytes, some on lines). */
static void
feed(struct ev_ahead *a, uintmax_t from, uintmax_t to, int *failed)
{
	char buf[4096];

	for (uintmax_t no = from; no < to; no++) {
		size_t n = (size_t)(no * 7919 % 3001);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)('a' + (no + i) % 26);
		buf[n] = '\0';
		struct ev_line l = { buf, n, no, 0, 0, 0 };
		if (ev_ahead_add(a, &l) < 0)
			*failed = 1;
	}
}

Test(ahead, every_line_once_in_order_with_its_result)
{
	struct seen s = { 1, 0, 0, 0 };
	struct ev_ahead *a = ev_ahead_new(sizeof(struct res), work, NULL, done, &s);
	int failed = 0;

	feed(a, 1, 20001, &failed);
	cr_expect_eq(ev_ahead_flush(a), 0);
	cr_expect_eq(s.lines, 20000);
	cr_expect_gt(s.calls, 2, "%zu batches: the test must span several", s.calls);
	/* a flush with nothing held, then a few lines and another flush */
	cr_expect_eq(ev_ahead_flush(a), 0);
	feed(a, 20001, 20004, &failed);
	cr_expect_eq(ev_ahead_flush(a), 0);
	cr_expect_eq(s.lines, 20003);
	cr_expect_eq(failed, 0);
	ev_ahead_free(a);
}

Test(ahead, a_failing_done_is_reported)
{
	struct seen s = { 1, 0, 0, 15000 };
	struct ev_ahead *a = ev_ahead_new(sizeof(struct res), work, NULL, done, &s);
	int failed = 0;

	feed(a, 1, 15001, &failed);
	cr_expect_eq(failed || ev_ahead_flush(a) < 0, 1);
	cr_expect_eq(s.lines, 15000, "every line is still handed to done()");
	ev_ahead_free(a);
}
