/* SPDX-License-Identifier: ISC */
/* spool-latency — the append-to-output latency of a spool's follower.
 *
 *   spool-latency SPOOL N LOAD CMD [ARG ...]
 *
 * Starts CMD (a follower of SPOOL, a new, empty spool, such as `evtail
 * --from-start SPOOL`) with its output on a pipe, then N times: appends one
 * probe event {"i":K} to SPOOL as evkit's writers do (ev_spool_append:
 * lock, write, unlock; no fdatasync, which is the disk's latency, not the
 * follower's) and reads lines from CMD until the probe comes back; other
 * lines are skipped. The latency runs from the start of the append to the
 * probe's arrival. With LOAD 1 a second process appends other events
 * ({"noise":K}) to SPOOL as fast as it can the whole time, so the follower
 * never waits for input (a follower that filters them out, such as
 * `evfilter -i SPOOL 'has("i")'`, shows its own latency, not the pipe's).
 * Prints p50, p90, p99 and max in microseconds.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool.h"

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The LOAD writer: batches of small events, as fast as the spool takes them,
 * until it is killed. */
static void
noise(const char *dir)
{
	struct ev_spool *sp = ev_spool_open(dir, EV_SPOOL_WRITE);
	char buf[64 * 32];
	unsigned k = 0;

	if (!sp)
		_exit(2);
	for (;;) {
		size_t len = 0;
		for (int j = 0; j < 64; j++)
			len += (size_t)snprintf(buf + len, sizeof buf - len, "{\"noise\":%u}\n", k++);
		if (ev_spool_append(sp, buf, len, 1) < 0)
			_exit(2);
	}
}

/* Read lines until the probe ev; 0, or -1 when the follower ended first. */
static int
awaitprobe(FILE *in, const char *ev)
{
	char line[256];

	while (fgets(line, sizeof line, in))
		if (strcmp(line, ev) == 0)
			return 0;
	return -1;
}

int
main(int argc, char *argv[])
{
	int n = argc > 2 ? atoi(argv[2]) : 0, p[2];
	int64_t *lat;
	struct ev_spool *sp;
	FILE *in;
	char ev[128];
	pid_t pid, load = 0;

	if (argc < 5 || n <= 0) {
		fputs("usage: spool-latency spool n load cmd [arg ...]\n", stderr);
		return 2;
	}
	if (!(sp = ev_spool_open(argv[1], EV_SPOOL_WRITE)) || pipe(p) < 0)
		return 2;
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[4], argv + 4);
		_exit(127);
	}
	close(p[1]);
	in = fdopen(p[0], "r");
	lat = calloc((size_t)n + 1, sizeof *lat);
	/* A first event shows that the follower is up and following. */
	for (int i = -1; i < n; i++) {
		int len = snprintf(ev, sizeof ev, "{\"i\":%d}\n", i);
		int64_t t0 = now_us();
		if (ev_spool_append(sp, ev, (size_t)len, 1) < 0)
			return 2;
		if (awaitprobe(in, ev) < 0) {
			fprintf(stderr, "spool-latency: %s ended before printing %s", argv[4], ev);
			return 2;
		}
		if (i >= 0)
			lat[i] = now_us() - t0;
		if (i == -1 && atoi(argv[3]) && (load = fork()) == 0)
			noise(argv[1]);
		usleep(1000);
	}
	if (load > 0) {
		kill(load, SIGKILL);
		waitpid(load, NULL, 0);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	qsort(lat, (size_t)n, sizeof *lat, cmp);
	printf("p50 %" PRId64 " us, p90 %" PRId64 " us, p99 %" PRId64 " us, max %" PRId64 " us (%d events)\n",
	    lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1], n);
	ev_spool_close(sp);
	free(lat);
	return 0;
}
