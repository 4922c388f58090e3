/* SPDX-License-Identifier: ISC */
/* A file sink appending to a file that ends in part of a line (its last
 * writer was killed in the middle of a write) ends that part first, so
 * the first line it writes stays whole; a whole file is left as it is. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "io/loc.h"

static void
appendto(const char *before, const char *want)
{
	char dir[] = "/tmp/evkit-fdsink-XXXXXX", out[64], got[256], cmd[96];
	struct ev_sink *s;
	FILE *f;
	size_t n;

	ev_quiet = 1;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(out, sizeof out, "%s/out.ndjson", dir);
	cr_assert_not_null(f = fopen(out, "w"));
	fputs(before, f);
	fclose(f);
	cr_assert_not_null(s = ev_sink_open(out, EV_SYNC_BATCH));
	cr_assert_eq(ev_sink_write(s, "{\"id\":2}", 8), 0);
	cr_assert_eq(ev_sink_commit(s), 0);
	cr_assert_eq(ev_sink_write(s, "{\"id\":3}", 8), 0);
	cr_assert_eq(ev_sink_close(s), 0);
	cr_assert_not_null(f = fopen(out, "r"));
	n = fread(got, 1, sizeof got - 1, f);
	fclose(f);
	got[n] = '\0';
	cr_expect_str_eq(got, want);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(fdsink, a_torn_tail_is_ended_before_the_first_line)
{
	appendto("{\"id\":1}\n{\"id\"", "{\"id\":1}\n{\"id\"\n{\"id\":2}\n{\"id\":3}\n");
}

Test(fdsink, a_whole_file_is_appended_to_as_it_is)
{
	appendto("{\"id\":1}\n", "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
	appendto("", "{\"id\":2}\n{\"id\":3}\n");
}
