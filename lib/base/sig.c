/* SPDX-License-Identifier: ISC */
/* sig.c — stop, report and reload signals noted for the input loop (see sig.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/sig.h"

volatile sig_atomic_t ev_sig_pending;
static volatile sig_atomic_t stopsig, nstops, report, reload, diesecond = 1;
static int pipefd[2] = { -1, -1 };

static void
onsignal(int sig)
{
	int e = errno;
	char c = 0;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (stopsig && diesecond) {
			/* Asked twice: the user no longer waits for a clean stop. */
			signal(sig, SIG_DFL);
			raise(sig);
		}
		if (!stopsig)
			stopsig = sig;
		nstops++;
		break;
	case SIGUSR1:
		report = 1;
		break;
	case SIGHUP:
		reload = 1;
		break;
	}
	ev_sig_pending = 1;
	if (write(pipefd[1], &c, 1) < 0) {
		/* full: a wakeup is pending anyway */
	}
	errno = e;
}

int
ev_sig_init(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	struct sigaction sa;

	if (pipefd[0] >= 0)
		return 0;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsignal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		/* A shell without job control starts a background job with
		 * SIGINT ignored, so that a ^C meant for the foreground does not
		 * reach it: that stays so. */
		struct sigaction old;
		if (sigs[i] == SIGINT && sigaction(SIGINT, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	}
	return 0;
}

int
ev_sig_fd(void)
{
	return pipefd[0];
}

int
ev_sig_take(void)
{
	char buf[64];
	int r = 0;

	if (pipefd[0] >= 0)
		while (read(pipefd[0], buf, sizeof buf) > 0)
			;
	ev_sig_pending = 0;
	if (report)
		report = 0, r |= EV_SIG_REPORT;
	if (reload)
		reload = 0, r |= EV_SIG_RELOAD;
	if (stopsig)
		r |= EV_SIG_STOP, ev_sig_pending = 1;
	return r;
}

int
ev_sig_stopsig(void)
{
	return stopsig;
}

int
ev_sig_nstops(void)
{
	return nstops;
}

void
ev_sig_count_stops(void)
{
	diesecond = 0;
}
