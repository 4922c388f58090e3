/* SPDX-License-Identifier: ISC */
/* lib/watch: a change wakes the waiter at once; an idle wait sleeps (no busy
 * waiting), with inotify and with the polling fallback (EVKIT_WATCH=poll). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "io/watch.h"

static char wdir[64];

static void
mkwdir(void)
{
	snprintf(wdir, sizeof wdir, "/tmp/evkit-watch-XXXXXX");
	cr_assert(mkdtemp(wdir));
}

static void
rmwdir(void)
{
	char cmd[96];

	if (wdir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", wdir);
		if (system(cmd) != 0)
			cr_log_warn("cannot remove %s", wdir);
	}
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU time this process has used, in ms. */
static int64_t
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void
touch_file(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", wdir, name);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0);
	cr_assert_eq(write(fd, "x\n", 2), 2);
	close(fd);
}

TestSuite(spool_watch, .init = mkwdir, .fini = rmwdir);

Test(spool_watch, inotify_wakes_at_once_on_a_change_and_sleeps_when_idle)
{
	unsetenv("EVKIT_WATCH");
	struct ev_watch *w = ev_watch_new(wdir);
	cr_assert(w);
	cr_expect_eq(ev_watch_wait(w, 0), 0, "nothing changed yet");
	touch_file("a");
	int64_t t0 = wall_ms();
	cr_expect_eq(ev_watch_wait(w, 5000), 1, "a new file wakes the waiter");
	cr_expect_lt(wall_ms() - t0, 100, "at once, not after a polling interval");
	touch_file("a");
	cr_expect_eq(ev_watch_wait(w, 5000), 1, "an append to a file in it wakes the waiter");
	int64_t c0 = cpu_ms();
	t0 = wall_ms();
	cr_expect_eq(ev_watch_wait(w, 300), 0, "then nothing: a timeout");
	cr_expect_geq(wall_ms() - t0, 290, "the timeout is honoured");
	cr_expect_lt(cpu_ms() - c0, 30, "an idle wait of 300 ms used %lld ms of CPU: busy waiting",
	    (long long)(cpu_ms() - c0));
	ev_watch_free(w);
}

Test(spool_watch, polling_fallback_wakes_every_interval_without_busy_waiting)
{
	setenv("EVKIT_WATCH", "poll", 1);
	cr_assert(ev_watch_polling());
	struct ev_watch *w = ev_watch_new(wdir);
	cr_assert(w);
	int64_t c0 = cpu_ms(), t0 = wall_ms();
	for (int i = 0; i < 6; i++)
		cr_expect_eq(ev_watch_wait(w, -1), 1, "each interval is a wake-up: look again");
	int64_t took = wall_ms() - t0;
	cr_expect_geq(took, 6 * EV_WATCH_POLL_MS - 10, "six wake-ups took only %lld ms: not sleeping",
	    (long long)took);
	cr_expect_lt(cpu_ms() - c0, 30, "polling used %lld ms of CPU: busy waiting",
	    (long long)(cpu_ms() - c0));
	t0 = wall_ms();
	cr_expect_eq(ev_watch_wait(w, 10), 0, "a timeout shorter than the interval");
	cr_expect_lt(wall_ms() - t0, EV_WATCH_POLL_MS, "and it is honoured");
	ev_watch_free(w);
	unsetenv("EVKIT_WATCH");
}
