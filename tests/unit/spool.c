/* SPDX-License-Identifier: ISC */
/* The spool library: each test breaks if the property it names breaks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spool/cursor.h"
#include "io/loc.h"
#include "spool/spool.h"

static char dir[64];

static void
mkspool(uint64_t segbytes)
{
	struct ev_spool_conf c;
	char tmpl[] = "/tmp/evkit-spool-XXXXXX";

	cr_assert(mkdtemp(tmpl));
	snprintf(dir, sizeof dir, "%s/s", tmpl);
	ev_spool_conf_default(&c);
	if (segbytes)
		c.segment_bytes = segbytes;
	cr_assert_eq(ev_spool_init(dir, &c, NULL), 0);
}

static void
rmspool(void)
{
	char cmd[128];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", dir);
}

static struct ev_spool *
openw(void)
{
	struct ev_spool *sp = ev_spool_open(dir, EV_SPOOL_WRITE);

	cr_assert(sp);
	return sp;
}

static void
append(struct ev_spool *sp, const char *s)
{
	cr_assert_eq(ev_spool_append(sp, s, strlen(s), 1), 0);
}

/* The path of the active (last) segment. */
static void
lastseg(struct ev_spool *sp, char *path, size_t n)
{
	struct ev_spool_seg *segs;
	size_t k;

	cr_assert_eq(ev_spool_segments(sp, &segs, &k), 0);
	snprintf(path, n, "%s/segments/%016" PRIx64 ".ndjson", dir, segs[k - 1].base);
	free(segs);
}

static void
rawappend(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static size_t
segcount(struct ev_spool *sp)
{
	struct ev_spool_seg *segs;
	size_t k;

	cr_assert_eq(ev_spool_segments(sp, &segs, &k), 0);
	free(segs);
	return k;
}

TestSuite(spool, .fini = rmspool);

Test(spool, append_then_read_whole_lines_with_global_positions)
{
	mkspool(0);
	struct ev_spool *sp = openw();
	struct ev_line l;

	append(sp, "{\"a\":1}\n{\"a\":2}\n");
	struct ev_spool_reader *r = ev_spool_reader_new(sp, 0, 0);
	cr_assert(r);
	cr_assert_eq(ev_spool_reader_next(r, &l), 1);
	cr_expect_str_eq(l.p, "{\"a\":1}");
	cr_expect_eq(l.pos, 8);
	cr_assert_eq(ev_spool_reader_next(r, &l), 1);
	cr_expect_eq(l.pos, 16);
	cr_expect_eq(ev_spool_reader_next(r, &l), 0);
	append(sp, "{\"a\":3}\n");
	cr_assert_eq(ev_spool_reader_next(r, &l), 1, "a reader at the end sees a later append");
	cr_expect_str_eq(l.p, "{\"a\":3}");
	ev_spool_reader_free(r);

	uint64_t pos;
	cr_assert_eq(ev_spool_pos_end(sp, &pos), 0);
	cr_expect_eq(pos, 24);
	cr_assert_eq(ev_spool_pos_last(sp, 2, &pos), 0);
	cr_expect_eq(pos, 8);
	cr_assert_eq(ev_spool_pos_last(sp, 99, &pos), 0);
	cr_expect_eq(pos, 0);
	cr_assert_eq(ev_spool_pos_last(sp, 0, &pos), 0);
	cr_expect_eq(pos, 24);
	cr_expect_eq(ev_spool_pos_check(sp, 3, NULL), -1, "3 is inside a line");
	cr_expect_eq(ev_spool_pos_check(sp, 25, NULL), -1, "25 is past the end");
	ev_spool_close(sp);
}

Test(spool, roll_over_keeps_positions_contiguous_and_readers_cross_it)
{
	mkspool(64);
	struct ev_spool *sp = openw();
	struct ev_spool_reader *r = ev_spool_reader_new(sp, 0, 0);
	struct ev_line l;
	char line[64];
	int got = 0;

	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof line, "{\"n\":%d}\n", i);
		append(sp, line);
	}
	cr_expect_gt(segcount(sp), 10);
	while (ev_spool_reader_next(r, &l) == 1) {
		snprintf(line, sizeof line, "{\"n\":%d}", got++);
		cr_assert_str_eq(l.p, line);
	}
	cr_expect_eq(got, 100);
	struct ev_spool_seg *segs;
	size_t n;
	cr_assert_eq(ev_spool_segments(sp, &segs, &n), 0);
	for (size_t i = 0; i + 1 < n; i++)
		cr_expect_eq(segs[i].base + segs[i].size, segs[i + 1].base);
	free(segs);
	cr_expect_eq(ev_spool_check(sp, 0), 0);
	ev_spool_reader_free(r);
	ev_spool_close(sp);
}

Test(spool, torn_tail_is_invisible_and_repaired_by_the_next_writer)
{
	mkspool(0);
	struct ev_spool *sp = openw();
	struct ev_line l;
	char seg[256];

	append(sp, "{\"a\":1}\n");
	lastseg(sp, seg, sizeof seg);
	rawappend(seg, "{\"torn\":tr"); /* a writer died mid-write */
	struct ev_spool_reader *r = ev_spool_reader_new(sp, 0, 0);
	cr_assert_eq(ev_spool_reader_next(r, &l), 1);
	cr_expect_eq(ev_spool_reader_next(r, &l), 0, "a torn tail is never shown");
	cr_expect_eq(ev_spool_check(sp, 0), 1, "check reports the torn tail");
	append(sp, "{\"after\":\"the repair, longer than the torn tail\"}\n");
	cr_assert_eq(ev_spool_reader_next(r, &l), 1);
	cr_expect_str_eq(l.p, "{\"after\":\"the repair, longer than the torn tail\"}",
	    "a reader that buffered the torn bytes does not splice them into a line");
	cr_expect_eq(ev_spool_check(sp, 0), 0);
	ev_spool_reader_free(r);
	ev_spool_close(sp);
}

Test(spool, torn_tail_replaced_by_a_shorter_line)
{
	mkspool(0);
	struct ev_spool *sp = openw();
	struct ev_line l;
	char seg[256];

	append(sp, "{\"a\":1}\n");
	lastseg(sp, seg, sizeof seg);
	rawappend(seg, "{\"torn\":\"a long torn tail of a batch that never finished\"");
	struct ev_spool_reader *r = ev_spool_reader_new(sp, 8, 0);
	cr_expect_eq(ev_spool_reader_next(r, &l), 0);
	append(sp, "{}\n");
	cr_assert_eq(ev_spool_reader_next(r, &l), 1, "the reader sees the file shrank");
	cr_expect_str_eq(l.p, "{}");
	ev_spool_reader_free(r);
	ev_spool_close(sp);
}

Test(spool, not_a_spool_missing_and_symlinked_segments_are_errors)
{
	mkspool(0);
	char path[256], other[256];

	cr_expect_null(ev_spool_open("/nonexistent/evkit", 0));
	snprintf(path, sizeof path, "%s/segments", dir);
	cr_expect_null(ev_spool_open(path, 0), "a directory without SPOOL is not a spool");

	struct ev_spool *sp = openw();
	append(sp, "{\"a\":1}\n");
	ev_spool_close(sp);
	snprintf(path, sizeof path, "%s/segments/0000000000000000.ndjson", dir);
	snprintf(other, sizeof other, "%s/outside", dir);
	cr_assert_eq(rename(path, other), 0);
	cr_assert_eq(symlink(other, path), 0);
	sp = openw();
	cr_expect_eq(ev_spool_append(sp, "x\n", 2, 1), -1, "a writer refuses a symlinked segment");
	cr_expect_null(ev_spool_reader_new(sp, 0, 0), "a reader refuses it too");
	ev_spool_close(sp);
	struct stat st;
	cr_assert_eq(stat(other, &st), 0);
	cr_expect_eq(st.st_size, 8, "the link's target was not written to");
}

Test(spool, cursor_names_are_validated)
{
	static const char *bad[] = { "", "a/b", "..", "../x", "x/../y", ".hidden", "a..b", "tab\t" };
	static const char *good[] = { "mailer", "a.b", "consumer-1", "x_y", "ünïcode" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(ev_cursor_valid(bad[i]), 0, "'%s' accepted", bad[i]);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		cr_expect_eq(ev_cursor_valid(good[i]), 1, "'%s' refused", good[i]);
	mkspool(0);
	struct ev_spool *sp = openw();
	cr_expect_eq(ev_spool_cursor_set(sp, "../escape", 0), -1);
	char path[256];
	snprintf(path, sizeof path, "%s/escape", dir);
	cr_expect_neq(access(path, F_OK), 0);
	ev_spool_close(sp);
}

Test(spool, cursors_are_replaced_atomically_and_listed)
{
	mkspool(0);
	struct ev_spool *sp = openw();
	uint64_t pos = 99;
	char **names;
	size_t n;

	append(sp, "{}\n{}\n");
	cr_expect_eq(ev_spool_cursor_get(sp, "c", &pos), 0, "no cursor yet");
	cr_assert_eq(ev_spool_cursor_set(sp, "c", 3), 0);
	cr_assert_eq(ev_spool_cursor_set(sp, "b", 6), 0);
	cr_assert_eq(ev_spool_cursor_get(sp, "c", &pos), 1);
	cr_expect_eq(pos, 3);
	cr_assert_eq(ev_spool_cursor_list(sp, &names, &n), 0);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(names[0], "b");
	cr_expect_str_eq(names[1], "c");
	ev_cursor_list_free(names);
	cr_assert_eq(ev_spool_cursor_delete(sp, "b"), 0);
	cr_expect_eq(ev_spool_cursor_get(sp, "b", &pos), 0);
	ev_spool_close(sp);
}

Test(spool, stat_counts_events_and_cursor_lag)
{
	mkspool(32);
	struct ev_spool *sp = openw();
	struct ev_spool_stat st;

	for (int i = 0; i < 10; i++)
		append(sp, "{\"n\":12345}\n"); /* 12 bytes */
	cr_assert_eq(ev_spool_cursor_set(sp, "half", 60), 0);
	cr_assert_eq(ev_spool_cursor_set(sp, "done", 120), 0);
	cr_assert_eq(ev_spool_cursor_set(sp, "new", 0), 0);
	cr_assert_eq(ev_spool_stat(sp, &st), 0);
	cr_expect_eq(st.events, 10);
	cr_expect_eq(st.bytes, 120);
	cr_assert_eq(st.ncursors, 3);
	cr_expect_str_eq(st.cursors[0].name, "done");
	cr_expect_eq(st.cursors[0].lag_events, 0);
	cr_expect_eq(st.cursors[1].lag_events, 5);
	cr_expect_eq(st.cursors[1].lag_bytes, 60);
	cr_expect_eq(st.cursors[2].lag_events, 10);
	ev_spool_stat_free(&st);
	ev_spool_close(sp);
}

Test(spool, gc_keeps_what_a_cursor_has_not_read_unless_forced)
{
	struct ev_spool_conf c;
	char tmpl[] = "/tmp/evkit-spool-XXXXXX";

	cr_assert(mkdtemp(tmpl));
	snprintf(dir, sizeof dir, "%s/s", tmpl);
	ev_spool_conf_default(&c);
	c.segment_bytes = 24;
	c.retain_bytes = 48;
	cr_assert_eq(ev_spool_init(dir, &c, NULL), 0);
	struct ev_spool *sp = openw();
	struct ev_spool_gc res;

	cr_assert_eq(ev_spool_cursor_set(sp, "slow", 0), 0);
	for (int i = 0; i < 20; i++)
		append(sp, "{\"n\":12345}\n");
	size_t before = segcount(sp);
	cr_expect_gt(before, 4, "roll-over retention kept what 'slow' has not read");
	cr_assert_eq(ev_spool_gc(sp, 0, &res), 0);
	cr_expect_eq(res.segments, 0);
	cr_expect_gt(res.kept, 0);
	cr_assert_eq(ev_spool_cursor_set(sp, "slow", 120), 0);
	cr_assert_eq(ev_spool_gc(sp, 0, &res), 0);
	cr_expect_gt(res.segments, 0, "read segments go");
	uint64_t start;
	cr_assert_eq(ev_spool_pos_start(sp, &start), 0);
	cr_expect_leq(start, 120);
	cr_assert_eq(ev_spool_gc(sp, 1, &res), 0);
	cr_expect_leq(segcount(sp) * 24, 48 + 24, "forced, retention applies");
	ev_spool_close(sp);
}

Test(spool, retention_under_a_live_reader_is_an_error_or_a_counted_skip)
{
	mkspool(24);
	struct ev_spool *sp = openw();
	struct ev_line l;
	struct ev_spool_gc res;

	for (int i = 0; i < 10; i++)
		append(sp, "{\"n\":12345}\n");
	struct ev_spool_reader *strict = ev_spool_reader_new(sp, 0, 0);
	struct ev_spool_reader *skip = ev_spool_reader_new(sp, 0, 1);
	cr_assert(strict && skip);
	/* Both hold segment 0 open; delete everything but the active segment. */
	struct ev_spool_conf *c = (struct ev_spool_conf *)ev_spool_getconf(sp);
	c->retain_bytes = 1;
	cr_assert_eq(ev_spool_gc(sp, 1, &res), 0);
	cr_assert_gt(res.segments, 1);
	int n = 0, r;
	while ((r = ev_spool_reader_next(strict, &l)) == 1)
		n++;
	cr_expect_eq(r, -1, "the strict reader fails once it runs into the hole");
	cr_expect_eq(n, 2, "after reading the segment it still had open");
	n = 0;
	while ((r = ev_spool_reader_next(skip, &l)) == 1)
		n++;
	cr_expect_eq(r, 0);
	cr_expect_eq(ev_spool_reader_lost(skip), (res.segments - 1) * 24, "lost bytes are counted");
	cr_expect_eq(n, 2 + 10 - 2 * (int)res.segments, "then the rest");
	ev_spool_reader_free(strict);
	ev_spool_reader_free(skip);
	ev_spool_close(sp);
}

/* Four processes append 100,000 events each at once. */
Test(spool, concurrent_writers_never_interleave_or_lose_lines)
{
	enum { W = 4, N = 100000, B = 50 };
	mkspool(1 << 20);
	pid_t pid[W];

	for (int w = 0; w < W; w++) {
		if ((pid[w] = fork()) == 0) {
			struct ev_spool *sp = ev_spool_open(dir, EV_SPOOL_WRITE);
			char buf[B * 40];
			for (int i = 0; i < N; i += B) {
				size_t len = 0;
				for (int j = i; j < i + B; j++)
					len += (size_t)sprintf(buf + len, "{\"w\":%d,\"n\":%d}\n", w, j);
				if (ev_spool_append(sp, buf, len, (i / B) % 20 != 0) < 0)
					_exit(1);
			}
			ev_spool_close(sp);
			_exit(0);
		}
	}
	for (int w = 0; w < W; w++) {
		int st;
		waitpid(pid[w], &st, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct ev_spool *sp = openw();
	struct ev_spool_reader *r = ev_spool_reader_new(sp, 0, 0);
	struct ev_line l;
	int next[W] = { 0 }, total = 0;
	while (ev_spool_reader_next(r, &l) == 1) {
		int w, n, end = 0;
		cr_assert_eq(sscanf(l.p, "{\"w\":%d,\"n\":%d}%n", &w, &n, &end), 2, "%s", l.p);
		cr_assert_eq((size_t)end, l.len, "interleaved: %s", l.p);
		cr_assert(w >= 0 && w < W);
		cr_assert_eq(n, next[w], "writer %d: %d after %d", w, n, next[w] - 1);
		next[w]++;
		total++;
	}
	cr_expect_eq(total, W * N);
	cr_expect_gt(segcount(sp), 4, "roll-over happened under contention");
	cr_expect_eq(ev_spool_check(sp, 0), 0);
	ev_spool_reader_free(r);
	ev_spool_close(sp);
}

/* A writer killed at random points, 60 times, while a reader follows. */
Test(spool, sigkill_loses_no_acknowledged_line_and_shows_no_partial_one)
{
	mkspool(4096);
	struct ev_spool *sp = openw();
	struct ev_spool_reader *r = ev_spool_reader_new(sp, 0, 0);
	struct ev_line l;
	long seq = 0, acked = 0, seen = 0;
	int torn = 0;

	srand((unsigned)time(NULL));
	for (int k = 0; k < 60; k++) {
		int p[2];
		cr_assert_eq(pipe(p), 0);
		pid_t pid = fork();
		if (pid == 0) {
			struct ev_spool *w = ev_spool_open(dir, EV_SPOOL_WRITE);
			char buf[64 * 40];
			close(p[0]);
			for (long s = seq;;) {
				size_t len = 0;
				int nb = 1 + rand() % 60;
				for (int j = 0; j < nb; j++)
					len += (size_t)sprintf(buf + len, "{\"seq\":%ld,\"pad\":\"xxxx\"}\n", ++s);
				if (ev_spool_append(w, buf, len, rand() % 4 != 0) < 0)
					_exit(1);
				if (write(p[1], &s, sizeof s) != sizeof s)
					_exit(1);
			}
		}
		close(p[1]);
		/* Killed at a random point after its first batch (on a loaded
		 * machine a child may take longer than the delay to start). */
		long a;
		if (read(p[0], &a, sizeof a) == sizeof a)
			acked = a;
		struct timespec ts = { 0, (rand() % 3000) * 1000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while (read(p[0], &a, sizeof a) == sizeof a)
			acked = a;
		close(p[0]);
		if (k % 2) { /* what a crash in the middle of a write(2) leaves */
			char seg[256];
			lastseg(sp, seg, sizeof seg);
			rawappend(seg, "{\"seq\":999999999,\"pad\":\"to");
			torn++;
		}
		while (ev_spool_reader_next(r, &l) == 1) {
			long s;
			int end = 0;
			cr_assert_eq(sscanf(l.p, "{\"seq\":%ld,\"pad\":\"xxxx\"}%n", &s, &end), 1,
			    "a partial line was shown: %s", l.p);
			cr_assert_eq((size_t)end, l.len, "a partial line was shown: %s", l.p);
			cr_assert_eq(s, seen + 1, "line %ld after %ld", s, seen);
			seen = s;
		}
		seq = seen; /* the next writer continues after the last complete line */
		cr_assert_geq(seen, acked, "acknowledged %ld, but only %ld are there", acked, seen);
	}
	cr_expect_gt(seen, 0);
	cr_expect(torn > 0);
	ev_spool_reader_free(r);
	ev_spool_close(sp);
}

/* A follower started before the writer sees every event once, across roll-overs. */
Test(spool, follower_sees_every_event_once_across_roll_overs)
{
	enum { N = 20000 };
	mkspool(8192);
	struct ev_source_conf conf = { .follow = 1 };
	struct ev_source *src = ev_source_open(dir, &conf);
	struct ev_line l;
	int n = 0, idle = 0;

	cr_assert(src);
	pid_t pid = fork();
	if (pid == 0) {
		struct ev_spool *w = ev_spool_open(dir, EV_SPOOL_WRITE);
		char buf[64];
		for (int i = 0; i < N; i++) {
			int len = sprintf(buf, "{\"i\":%d}\n", i);
			if (ev_spool_append(w, buf, (size_t)len, 1) < 0)
				_exit(1);
		}
		_exit(0);
	}
	while (n < N) {
		int r = ev_source_next(src, &l, 5000);
		cr_assert_neq(r, EV_SRC_IDLE, "no event for 5 s after %d", n);
		cr_assert_eq(r, EV_SRC_LINE);
		char want[32];
		snprintf(want, sizeof want, "{\"i\":%d}", n++);
		cr_assert_str_eq(l.p, want);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_expect_eq(ev_source_next(src, &l, 0), EV_SRC_IDLE, "nothing more: exactly once");
	int64_t t0 = 0;
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		idle = ev_source_next(src, &l, 100);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0;
	}
	cr_expect_eq(idle, EV_SRC_IDLE, "a timeout is honoured");
	cr_expect(t0 >= 90 && t0 < 2000, "waited %lld ms for a 100 ms timeout", (long long)t0);
	struct ev_spool *sp = openw();
	cr_expect_gt(segcount(sp), 10);
	ev_spool_close(sp);
	ev_source_close(src);
}

Test(spool, a_new_cursor_starts_at_the_oldest_event_and_commits_durably)
{
	mkspool(0);
	struct ev_spool *sp = openw();
	struct ev_source_conf conf = { .cursor = "c", .follow = 0 };
	struct ev_line l;
	uint64_t pos;

	append(sp, "{\"a\":1}\n{\"a\":2}\n");
	struct ev_source *src = ev_source_open(dir, &conf);
	cr_assert(src);
	cr_expect_eq(ev_spool_cursor_get(sp, "c", &pos), 1, "the consumer is registered");
	cr_expect_eq(pos, 0);
	cr_assert_eq(ev_source_next(src, &l, -1), EV_SRC_LINE);
	cr_expect_str_eq(l.p, "{\"a\":1}");
	cr_assert_eq(ev_source_commit(src, l.pos), 0);
	ev_source_close(src);
	src = ev_source_open(dir, &conf);
	cr_assert_eq(ev_source_next(src, &l, -1), EV_SRC_LINE);
	cr_expect_str_eq(l.p, "{\"a\":2}", "resumes after the committed line");
	cr_expect_eq(ev_source_next(src, &l, -1), EV_SRC_END, "--no-follow ends at the end");
	ev_source_close(src);
	conf.cursor = "../x";
	cr_expect_null(ev_source_open(dir, &conf));
	ev_spool_close(sp);
}

/* --sync: how many fdatasyncs a spool sink makes for 20 lines committed in two batches. */
Test(spool, sync_modes_none_batch_always)
{
	static const struct { enum ev_sync mode; uint64_t syncs; } t[] = {
		{ EV_SYNC_NONE, 0 }, { EV_SYNC_BATCH, 2 }, { EV_SYNC_ALWAYS, 20 },
	};

	mkspool(0);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_sink *k = ev_sink_open(dir, t[i].mode);
		cr_assert(k);
		struct ev_loc_counts c = { 0 };
		for (int j = 0; j < 20; j++) {
			cr_assert_eq(ev_sink_write(k, "{\"a\":1}", 7), 0);
			if (j == 9)
				cr_assert_eq(ev_sink_commit(k), 0);
		}
		cr_assert_eq(ev_sink_commit(k), 0);
		ev_sink_counts(k, &c);
		cr_assert_eq(ev_sink_close(k), 0);
		cr_expect_eq(c.syncs, t[i].syncs, "mode %d: %" PRIu64 " fdatasyncs, not %"
		    PRIu64, (int)t[i].mode, c.syncs, t[i].syncs);
	}
	struct ev_spool *sp = openw();
	uint64_t end;
	cr_assert_eq(ev_spool_pos_end(sp, &end), 0);
	cr_expect_eq(end, 3 * 20 * 8, "every line of every mode is there");
	ev_spool_close(sp);
}

/* What SPOOL/sync claims is durable (gsync.c); 0 when it is not there. */
static uint64_t
claim(void)
{
	char path[128], buf[128] = "";
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/sync", dir);
	if (!(f = fopen(path, "r")))
		return 0;
	cr_assert_eq(fscanf(f, "evkit-sync 1\nsynced %llu", &v), 1, "%s", fgets(buf, sizeof buf, f));
	fclose(f);
	return v;
}

static void
setclaim(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/sync", dir);
	cr_assert((f = fopen(path, "w")));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

Test(spool, one_writer_syncs_for_another_whose_bytes_it_found)
{
	mkspool(0);
	struct ev_spool *a = openw(), *b = openw();

	append(a, "{\"a\":1}\n");
	append(b, "{\"b\":1}\n");
	cr_assert_eq(ev_spool_sync(b), 0);
	cr_expect_eq(ev_spool_counts(b)->syncs, 1);
	cr_expect_eq(claim(), 16, "the leader claims both appends");
	cr_assert_eq(ev_spool_sync(a), 0);
	cr_expect_eq(ev_spool_counts(a)->syncs, 0, "a's bytes were covered: no second fdatasync");
	append(a, "{\"a\":2}\n");
	cr_assert_eq(ev_spool_sync(a), 0);
	cr_expect_eq(ev_spool_counts(a)->syncs, 1, "new bytes are not covered by an old claim");
	cr_expect_eq(claim(), 24);
	ev_spool_close(a);
	ev_spool_close(b);
}

Test(spool, a_claim_beyond_the_spool_is_not_believed)
{
	mkspool(0);
	struct ev_spool *a = openw();

	setclaim("evkit-sync 1\nsynced 00000000000999999999\n");
	append(a, "{\"a\":1}\n");
	cr_assert_eq(ev_spool_sync(a), 0);
	cr_expect_eq(ev_spool_counts(a)->syncs, 1, "a stale claim saved a sync");
	cr_expect_eq(claim(), 8, "the claim is replaced by one about this spool");
	ev_spool_close(a);
}

#define SLOTS_IDLE "slot 1 00000000000000000000\nslot 2 00000000000000000000\n" \
	"slot 3 00000000000000000000\n"

/* A process in the state a sync leader is in while it syncs: its slot
 * (sync.0) locked, its target (far ahead) announced in SPOOL/sync, the
 * claim not yet raised. Once it reads a byte from go[0] it makes the
 * spool durable up to 20, claims it, and exits. The spool holds 12 bytes,
 * synced, when it starts. */
static pid_t
fake_leader(int go[2])
{
	char path[128], c;
	int ready[2];
	pid_t pid;

	snprintf(path, sizeof path, "%s/sync.0", dir);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	if ((pid = fork()) == 0) {
		int fd = open(path, O_RDWR);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		setclaim("evkit-sync 1\nsynced 00000000000000000012\n"
		    "slot 0 00000000000000001000\n" SLOTS_IDLE);
		if (write(ready[1], "L", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		snprintf(path, sizeof path, "%s/segments/0000000000000000.ndjson", dir);
		if ((fd = open(path, O_RDONLY)) < 0 || fdatasync(fd) < 0)
			_exit(1);
		setclaim("evkit-sync 1\nsynced 00000000000000000020\n"
		    "slot 0 00000000000000001000\n" SLOTS_IDLE);
		_exit(0);
	}
	cr_assert_eq(read(ready[0], &c, 1), 1);
	return pid;
}

/* A writer of one event with --sync=always; it exits with the number of
 * fdatasyncs it made. */
static pid_t
sync_writer(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct ev_spool *w = ev_spool_open(dir, EV_SPOOL_WRITE);
		if (!w || ev_spool_append(w, "{\"w\":1}\n", 8, 0) < 0)
			_exit(100);
		_exit((int)ev_spool_counts(w)->syncs);
	}
	return pid;
}

/* The writer's exit status, waiting at most 10 s; -1 if it still runs. */
static int
reap(pid_t pid)
{
	struct timespec ms = { 0, 10 * 1000 * 1000 };
	int st;

	for (int i = 0; i < 1000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
		nanosleep(&ms, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* 1 if the writer is still waiting after 200 ms. */
static int
waits(pid_t pid)
{
	struct timespec ms = { 0, 200 * 1000 * 1000 };
	int st;

	nanosleep(&ms, NULL);
	return waitpid(pid, &st, WNOHANG) == 0;
}

static void
first_event(void)
{
	struct ev_spool *sp = openw();

	append(sp, "{\"first\":1}\n");
	cr_assert_eq(ev_spool_sync(sp), 0); /* makes SPOOL/sync */
	ev_spool_close(sp);
}

/* Killed mid-sync, a leader must neither hang a writer that waits for it
 * nor make it believe its bytes durable. */
Test(spool, a_sync_leader_killed_mid_sync_neither_hangs_nor_fools_the_others)
{
	int go[2];
	pid_t leader, writer;

	mkspool(0);
	first_event();
	leader = fake_leader(go);
	writer = sync_writer();
	cr_expect(waits(writer), "the writer waits for the leader's sync");
	kill(leader, SIGKILL);
	waitpid(leader, NULL, 0);
	int st = reap(writer);
	cr_assert_neq(st, -1, "the writer still waits after its leader died");
	cr_expect_eq(st, 1, "the writer synced itself (fdatasyncs: %d)", st);
	cr_expect_eq(claim(), 20);
}

Test(spool, a_writer_waits_for_a_sync_in_flight_that_covers_it_and_does_not_sync_again)
{
	int go[2], st;
	pid_t leader, writer;

	mkspool(0);
	first_event();
	leader = fake_leader(go);
	writer = sync_writer();
	cr_expect(waits(writer), "the writer waits for the leader's sync");
	cr_assert_eq(write(go[1], "G", 1), 1);
	waitpid(leader, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = reap(writer);
	cr_assert_neq(st, -1, "the writer still waits after its leader ended");
	cr_expect_eq(st, 0, "the writer synced again (fdatasyncs: %d)", st);
}

Test(spool, sync_none_does_not_sync_at_roll_over)
{
	mkspool(256);
	struct ev_spool *sp = ev_spool_open(dir, EV_SPOOL_WRITE | EV_SPOOL_NOSYNC);
	cr_assert(sp);

	for (int i = 0; i < 100; i++)
		append(sp, "{\"some\":\"event\",\"of\":\"forty\",\"bytes\":1}\n");
	cr_expect_gt(segcount(sp), 10);
	cr_expect_eq(ev_spool_counts(sp)->syncs, 0);
	cr_expect_eq(ev_spool_check(sp, 0), 0);
	ev_spool_close(sp);
	sp = openw();
	for (int i = 0; i < 10; i++)
		append(sp, "{\"some\":\"event\",\"of\":\"forty\",\"bytes\":1}\n");
	cr_expect_gt(ev_spool_counts(sp)->syncs, 0, "a syncing writer seals what it rolls over");
	ev_spool_close(sp);
}

/* A torn tail the reader holds, cut by the next writer and replaced by a
 * whole line of the same length: the file's size is what it was, and the
 * reader must still notice and hand out the new line. */
Test(spool, a_torn_tail_replaced_by_a_line_of_its_length_is_read)
{
	mkspool(0);
	struct ev_spool *sp = openw();
	struct ev_spool_reader *r = ev_spool_reader_new(sp, 0, 0);
	struct ev_line l;
	char seg[256];

	cr_assert_eq(ev_spool_append(sp, "{\"a\":1}\n", 8, 1), 0);
	lastseg(sp, seg, sizeof seg);
	rawappend(seg, "{\"b\":22}"); /* 8 bytes, no newline: a writer died */
	cr_assert_eq(ev_spool_reader_next(r, &l), 1);
	cr_expect_str_eq(l.p, "{\"a\":1}");
	cr_assert_eq(ev_spool_reader_next(r, &l), 0, "the torn tail is not a line");
	struct ev_spool *w = ev_spool_open(dir, EV_SPOOL_WRITE);
	cr_assert_not_null(w);
	cr_assert_eq(ev_spool_append(w, "{\"c\":3}\n", 8, 1), 0); /* cuts it, writes 8 bytes */
	ev_spool_close(w);
	cr_assert_eq(ev_spool_reader_next(r, &l), 1, "the new line was not seen");
	cr_expect_str_eq(l.p, "{\"c\":3}");
	ev_spool_reader_free(r);
	ev_spool_close(sp);
	rmspool();
}
