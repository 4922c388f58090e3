/* SPDX-License-Identifier: ISC */
/* Commit hooks run after the sinks are committed, and not at all when a sink
 * fails; lines a tool holds back (ev_input_set_flush) are written before. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/ahead.h"
#include "base/err.h"
#include "base/time.h"
#include "io/input.h"

struct seen {
	const char *out;
	off_t written; /* bytes handed to the sink so far */
	int calls, behind;
	struct ev_sink *sink;
};

static int
hook(void *arg)
{
	struct seen *s = arg;
	struct stat st;

	s->calls++;
	if (stat(s->out, &st) < 0 || st.st_size != s->written)
		s->behind++;
	return 0;
}

static int
writeout(struct seen *s, const struct ev_line *l)
{
	if (ev_sink_write(s->sink, l->p, l->len) < 0)
		return -1;
	s->written += (off_t)l->len + 1;
	return 0;
}

static void nowork(void *s, const struct ev_line *l, void *res) { (void)s; (void)l; (void)res; }

static int
writeheld(void *s, const struct ev_line *l, void *res, size_t n)
{
	(void)res;
	for (size_t i = 0; i < n; i++)
		if (writeout(s, &l[i]) < 0)
			return -1;
	return 0;
}

/* Copy in to out through an ev_input with the hook (held: the lines go
 * through an ev_ahead); returns ev_input_end's status. */
static int
copy(const char *in, const char *out, struct seen *s, int held)
{
	struct ev_opts o;
	struct ev_input inp;
	struct ev_line l;
	struct ev_ahead *a = NULL;
	char *locs[] = { (char *)in };
	int r;

	ev_opts_init(&o, "");
	cr_assert_not_null(s->sink = ev_sink_open(out, EV_SYNC_BATCH));
	ev_input_init(&inp, &o, locs, 1);
	if (held) {
		a = ev_ahead_new(1, nowork, NULL, writeheld, s);
		ev_input_set_flush(&inp, ev_ahead_flush, a);
	}
	ev_input_add_sink(&inp, s->sink);
	ev_input_add_commit(&inp, hook, s);
	while ((r = ev_input_next(&inp, &l)) > 0)
		if ((a ? ev_ahead_add(a, &l) : writeout(s, &l)) < 0)
			break;
	r = ev_input_end(&inp);
	ev_sink_close(s->sink);
	ev_ahead_free(a);
	return r;
}

static void
runs_after_the_output_is_written(int held)
{
	char dir[] = "/tmp/evkit-inputhook-XXXXXX", in[64], out[64], cmd[128];
	struct seen s = { out, 0, 0, 0, NULL };
	struct stat si, so;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(in, sizeof in, "%s/in", dir);
	snprintf(out, sizeof out, "%s/out.ndjson", dir);
	cr_assert_not_null(f = fopen(in, "w"));
	for (int i = 0; i < 2 * EV_BATCH_LINES + 1; i++) /* more than two batches */
		fprintf(f, "{\"id\":%d}\n", i);
	fclose(f);
	cr_expect_eq(copy(in, out, &s, held), 0);
	cr_expect_geq(s.calls, 3);
	cr_expect_eq(s.behind, 0, "%d of %d commits ran before the output was written",
	    s.behind, s.calls);
	cr_assert_eq(stat(in, &si), 0);
	cr_assert_eq(stat(out, &so), 0);
	cr_expect_eq(so.st_size, si.st_size, "every line is written");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(inputhook, runs_after_the_output_is_written)
{
	runs_after_the_output_is_written(0);
}

Test(inputhook, runs_after_the_held_lines_are_written)
{
	runs_after_the_output_is_written(1);
}

Test(inputhook, not_run_when_a_sink_fails)
{
	struct seen s = { "/dev/full", 0, 0, 0, NULL };

	ev_quiet = 1;
	cr_expect_eq(copy("/dev/null", "/dev/full", &s, 0), 0);
	cr_expect_geq(s.calls, 1, "an empty input still commits");
	s.calls = 0;
	cr_expect_eq(copy("/etc/passwd", "/dev/full", &s, 0), EV_TEMPFAIL);
	cr_expect_eq(s.calls, 0);
}

/* Between commits, a file or a pipe is handed what was written at most
 * EV_PUSH_MS later, though the input never waits (a follower behind a
 * writer at full speed): no commit has run when the first line is seen. */
Test(inputhook, pushes_between_commits)
{
	char dir[] = "/tmp/evkit-inputhook-XXXXXX", in[64], out[64], cmd[128];
	struct seen s = { out, 0, 0, 0, NULL };
	struct ev_opts o;
	struct ev_input inp;
	struct ev_line l;
	char *locs[] = { in };
	struct stat so = { 0 };
	FILE *f;
	int n = 0;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(in, sizeof in, "%s/in", dir);
	snprintf(out, sizeof out, "%s/out.ndjson", dir);
	cr_assert_not_null(f = fopen(in, "w"));
	for (int i = 0; i < 1000; i++)
		fprintf(f, "{\"id\":%d}\n", i);
	fclose(f);
	ev_opts_init(&o, "");
	cr_assert_not_null(s.sink = ev_sink_open(out, EV_SYNC_BATCH));
	ev_input_init(&inp, &o, locs, 1);
	ev_input_add_sink(&inp, s.sink);
	ev_input_add_commit(&inp, hook, &s);
	/* (a machine so loaded that 100 ms pass here commits instead: the test
	 * then passes without proving the push) */
	while (ev_input_next(&inp, &l) > 0 && ++n <= 200) {
		if (n == 1) {
			cr_assert_eq(writeout(&s, &l), 0);
			for (int64_t t = ev_mono_ms(); ev_mono_ms() - t <= EV_PUSH_MS;)
				;
		}
		if (n > 64 && stat(out, &so) == 0 && so.st_size > 0)
			break;
	}
	cr_expect_gt(so.st_size, 0, "the line written was not pushed after %d lines", n);
	ev_input_end(&inp);
	ev_sink_close(s.sink);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}
