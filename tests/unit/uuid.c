/* SPDX-License-Identifier: ISC */
/* UUIDv7: layout, order within a process, uniqueness across a fork. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/time.h"
#include "event/uuid.h"

static void
expect_layout(const char *u)
{
	cr_assert_eq(strlen(u), 36, "%s", u);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			cr_assert_eq(u[i], '-', "%s", u);
		else
			cr_assert(strchr("0123456789abcdef", u[i]) && u[i], "%s", u);
	}
	cr_assert_eq(u[14], '7', "version: %s", u);
	cr_assert(strchr("89ab", u[19]), "variant: %s", u);
}

static int64_t
stamp(const char *u)
{
	char hex[13];

	memcpy(hex, u, 8);
	memcpy(hex + 8, u + 9, 4);
	hex[12] = '\0';
	return (int64_t)strtoll(hex, NULL, 16);
}

Test(uuid, layout_and_timestamp)
{
	char u[37];
	int64_t before, after;

	/* first, as a later time would make the counter run on from there */
	ev_uuid7_at(1704067200123, u);
	expect_layout(u);
	cr_expect_eq(stamp(u), 1704067200123, "%s", u);
	cr_expect_eq(strncmp(u, "018cc251-f47b-7", 15), 0, "%s", u);
	before = ev_now_ms();
	ev_uuid7(u);
	after = ev_now_ms();
	expect_layout(u);
	cr_expect(stamp(u) >= before && stamp(u) <= after, "%s", u);
}

/* A million ids, each greater than the one before (so all distinct), with
 * their version and variant bits. */
Test(uuid, million_strictly_increasing, .timeout = 60)
{
	char prev[37], u[37];

	ev_uuid7(prev);
	for (int i = 0; i < 1000000; i++) {
		ev_uuid7(u);
		if (strcmp(prev, u) >= 0)
			cr_assert_fail("id %d: %s after %s", i, u, prev);
		if (u[14] != '7' || !strchr("89ab", u[19]))
			cr_assert_fail("id %d: %s: version or variant", i, u);
		memcpy(prev, u, sizeof u);
	}
}

Test(uuid, same_millisecond_and_clock_going_back)
{
	char prev[37], u[37];
	int64_t ms = 1704067200000;

	ev_uuid7_at(ms, prev);
	for (int i = 0; i < 100000; i++) {
		ev_uuid7_at(i % 2 ? ms : ms - 5000, u);
		cr_assert_gt(strcmp(u, prev), 0, "%s after %s", u, prev);
		memcpy(prev, u, sizeof u);
	}
	cr_expect_geq(stamp(u), ms, "never stamped before the latest time seen");
}

/* A child does not repeat the ids its parent makes next: its random state
 * is drawn again after fork. */
Test(uuid, fork_child_differs)
{
	for (int round = 0; round < 50; round++) {
		char mine[37], next[37], theirs[37] = "";
		int p[2];
		pid_t pid;

		cr_assert_eq(pipe(p), 0);
		ev_uuid7(mine);
		if ((pid = fork()) == 0) {
			char u[37];
			ev_uuid7(u);
			_exit(write(p[1], u, 37) == 37 ? 0 : 1);
		}
		ev_uuid7(next);
		cr_assert_eq(read(p[0], theirs, 37), 37);
		waitpid(pid, NULL, 0);
		close(p[0]);
		close(p[1]);
		expect_layout(theirs);
		cr_assert_str_neq(theirs, mine);
		cr_assert_str_neq(theirs, next, "the child made the parent's next id");
	}
}
