/* SPDX-License-Identifier: ISC */
/* lib/base/sig: what each signal asks for, taken once; a wait in lib/ that
 * began before a signal (or that a signal came just before) ends at once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/opts.h"
#include "base/sig.h"
#include "io/watch.h"

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(sig, each_signal_is_taken_once)
{
	cr_assert_eq(ev_sig_init(), 0);
	cr_assert_eq(ev_sig_init(), 0);
	cr_assert_eq(ev_sig_take(), 0);
	raise(SIGUSR1);
	cr_assert(ev_sig_pending);
	cr_assert_eq(ev_sig_take(), EV_SIG_REPORT);
	cr_assert_eq(ev_sig_take(), 0);
	raise(SIGHUP);
	raise(SIGUSR1);
	cr_assert_eq(ev_sig_take(), EV_SIG_REPORT | EV_SIG_RELOAD);
	ev_sig_count_stops();
	raise(SIGTERM);
	cr_assert_eq(ev_sig_take(), EV_SIG_STOP);
	cr_assert_eq(ev_sig_take(), EV_SIG_STOP, "a stop stays asked for");
	cr_assert_eq(ev_sig_stopsig(), SIGTERM);
	raise(SIGTERM);
	cr_assert_eq(ev_sig_nstops(), 2, "a second one is counted, not fatal, after ev_sig_count_stops");
	cr_assert_eq(ev_sig_stopsig(), SIGTERM);
}

static void *
later(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	kill(getpid(), SIGUSR1);
	return NULL;
}

Test(sig, a_signal_ends_a_watch_wait_at_once)
{
	char dir[] = "/tmp/evkit-sig-XXXXXX";
	struct ev_watch *w;
	pthread_t t;
	int64_t t0;

	cr_assert(mkdtemp(dir));
	cr_assert_eq(ev_sig_init(), 0);
	cr_assert(w = ev_watch_new(dir));
	/* a signal that came before the wait: the wait does not sleep */
	raise(SIGUSR1);
	t0 = mono_ms();
	cr_assert_eq(ev_watch_wait(w, 30000), 0);
	cr_assert_lt(mono_ms() - t0, 10000);
	cr_assert_eq(ev_sig_take(), EV_SIG_REPORT);
	/* one that comes during the wait ends it */
	cr_assert_eq(pthread_create(&t, NULL, later, NULL), 0);
	t0 = mono_ms();
	cr_assert_eq(ev_watch_wait(w, 30000), 0);
	cr_assert_lt(mono_ms() - t0, 10000);
	pthread_join(t, NULL);
	cr_assert_eq(ev_sig_take(), EV_SIG_REPORT);
	ev_watch_free(w);
	rmdir(dir);
}

Test(sig, stats_line)
{
	char buf[64];

	ev_stats_line(buf, sizeof buf, (struct ev_stat[]){ { "in", 3 }, { "kept", 2 } }, 2);
	cr_assert_str_eq(buf, "in 3, kept 2");
	ev_stats_line(buf, 8, (struct ev_stat[]){ { "in", 3 }, { "kept", 2 } }, 2);
	cr_assert_str_eq(buf, "in 3, k");
}
