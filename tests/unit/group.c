/* SPDX-License-Identifier: ISC */
/* Consumer groups' ledger (group.c): two members in one process, as two
 * processes would be (flock(2) locks of two open files conflict even
 * within one process). Each test breaks if the property it names breaks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool/group.h"
#include "spool/spool.h"

static char dir[64];
static struct ev_spool *sp;

static void
setup(void)
{
	struct ev_spool_conf c;
	char tmpl[] = "/tmp/evkit-group-XXXXXX";

	cr_assert(mkdtemp(tmpl));
	snprintf(dir, sizeof dir, "%s/s", tmpl);
	ev_spool_conf_default(&c);
	cr_assert_eq(ev_spool_init(dir, &c, NULL), 0);
	sp = ev_spool_open(dir, EV_SPOOL_WRITE);
	cr_assert(sp);
	const char *ev = "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n";
	cr_assert_eq(ev_spool_append(sp, ev, strlen(ev), 1), 0);
}

static void
teardown(void)
{
	char cmd[128];

	ev_spool_close(sp);
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", dir);
}

static int buried;
static int
bury(void *arg, const char *line, size_t len, uint32_t deliveries)
{
	(void)arg, (void)line, (void)len, (void)deliveries;
	buried++;
	return 0;
}

static struct ev_group_span
span(const struct ev_group_batch *b, size_t done, size_t handed)
{
	struct ev_group_span s = { .start = b->start, .end = b->line[b->n - 1].end,
		.deliveries = b->deliveries };
	s.done = done ? b->line[done - 1].end : b->start;
	s.handed = handed ? b->line[handed - 1].end : b->start;
	return s;
}

TestSuite(group, .init = setup, .fini = teardown);

Test(group, two_members_never_get_the_same_event)
{
	struct ev_group *a = ev_group_join(sp, "g", 0, NULL, NULL);
	struct ev_group *b = ev_group_join(sp, "g", 0, NULL, NULL);
	struct ev_group_batch x = { 0 }, y = { 0 };

	cr_assert(a && b);
	cr_assert_eq(ev_group_claim(a, 3, &x), 1);
	cr_assert_eq(x.n, 3);
	cr_assert_eq(ev_group_claim(b, 3, &y), 1);
	cr_assert_eq(y.n, 1);
	cr_assert_str_eq(y.buf.p + y.line[0].off, "{\"n\":3}");
	cr_assert_eq(ev_group_claim(b, 3, &y), 0, "nothing is left to claim");
	struct ev_group_span s = span(&x, 3, 3);
	cr_assert_eq(ev_group_commit(a, &s, 1), 0);
	s = span(&y, 1, 1);
	cr_assert_eq(ev_group_leave(b, &s, 1), 0);
	cr_assert_eq(ev_group_leave(a, NULL, 0), 0);
	uint64_t low;
	cr_assert_eq(ev_group_lowest(sp, &low), 1);
	cr_assert_eq(low, 32, "everything finished: low is the end");
	ev_group_batch_free(&x);
	ev_group_batch_free(&y);
}

Test(group, what_a_member_leaves_unfinished_goes_to_the_next_counted)
{
	struct ev_group *a = ev_group_join(sp, "g", 0, NULL, NULL);
	struct ev_group_batch x = { 0 };

	cr_assert_eq(ev_group_claim(a, 4, &x), 1);
	cr_assert_eq(x.n, 4);
	/* finished 1, handed out 3 (one of them, the second, unfinished) */
	struct ev_group_span s = span(&x, 1, 3);
	cr_assert_eq(ev_group_leave(a, &s, 1), 0);
	struct ev_group *b = ev_group_join(sp, "g", 0, NULL, NULL);
	/* delivered before: one at a time, as the second delivery */
	cr_assert_eq(ev_group_claim(b, 4, &x), 1);
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.deliveries, 2);
	cr_assert_str_eq(x.buf.p + x.line[0].off, "{\"n\":1}");
	s = span(&x, 1, 1);
	cr_assert_eq(ev_group_commit(b, &s, 1), 0);
	cr_assert_eq(ev_group_claim(b, 4, &x), 1);
	cr_assert_eq(x.deliveries, 2);
	cr_assert_str_eq(x.buf.p + x.line[0].off, "{\"n\":2}");
	s = span(&x, 1, 1);
	cr_assert_eq(ev_group_commit(b, &s, 1), 0);
	/* never handed out: a batch, as a first delivery */
	cr_assert_eq(ev_group_claim(b, 4, &x), 1);
	cr_assert_eq(x.n, 1);
	cr_assert_eq(x.deliveries, 1);
	cr_assert_str_eq(x.buf.p + x.line[0].off, "{\"n\":3}");
	s = span(&x, 1, 1);
	cr_assert_eq(ev_group_leave(b, &s, 1), 0);
	ev_group_batch_free(&x);
}

Test(group, past_the_limit_an_event_is_buried_not_delivered)
{
	struct ev_group_batch x = { 0 };
	struct ev_group_span s;

	buried = 0;
	for (int round = 0; round < 3; round++) {
		struct ev_group *m = ev_group_join(sp, "g", 2, bury, NULL);
		cr_assert_eq(ev_group_claim(m, 1, &x), 1);
		if (round < 2)
			cr_assert_str_eq(x.buf.p + x.line[0].off, "{\"n\":0}");
		else
			cr_assert_str_eq(x.buf.p + x.line[0].off, "{\"n\":1}", "n:0 was buried");
		s = span(&x, 0, 1); /* handed out, never finished */
		cr_assert_eq(ev_group_leave(m, &s, 1), 0);
	}
	cr_assert_eq(buried, 1);
	ev_group_batch_free(&x);
}
