/* SPDX-License-Identifier: ISC */
/* The reader's non-blocking modes: a pipe holding half a line must not
 * block a tool that polls (evretry's loop). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "io/reader.h"

Test(reader_nowait, half_line)
{
	int p[2];
	struct ev_line l;

	cr_assert_eq(pipe(p), 0);
	struct ev_reader *r = ev_reader_new(p[0], 0);

	/* Nothing buffered: NOREAD does not touch the descriptor. */
	errno = 0;
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_NOREAD), -1);
	cr_expect_eq(errno, EAGAIN);
	cr_assert_eq(write(p[1], "{\"a\":1}\n{\"b\"", 12), 12);
	/* One read gets a line and half of the next. */
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_ONCE), 1);
	cr_expect_eq(l.len, 7);
	cr_expect_eq(l.pos, 8);
	errno = 0;
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_NOREAD), -1);
	cr_expect_eq(errno, EAGAIN);
	/* ONCE with the pipe readable reads once and still has no line: EAGAIN, no block. */
	cr_assert_eq(write(p[1], ":2", 2), 2);
	errno = 0;
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_ONCE), -1);
	cr_expect_eq(errno, EAGAIN);
	cr_assert_eq(write(p[1], "}\n", 2), 2);
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_ONCE), 1);
	cr_expect_eq(l.len, 7);
	cr_expect_str_eq(l.p, "{\"b\":2}");
	cr_expect_eq(l.pos, 16);
	/* End of input with an unterminated tail. */
	cr_assert_eq(write(p[1], "{}", 2), 2);
	close(p[1]);
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL | EV_RD_ONCE), -1);
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL | EV_RD_ONCE), 1);
	cr_expect(l.partial);
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL | EV_RD_ONCE), 0);
	ev_reader_free(r);
	close(p[0]);
}
