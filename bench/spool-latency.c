/* SPDX-License-Identifier: ISC */
/* spool-latency — the append-to-output latency of a following evtail.
 *
 *   spool-latency EVTAIL SPOOL [N]
 *
 * Starts `EVTAIL --from-start SPOOL` (a new, empty spool) with its output on
 * a pipe, then N times (default 1000): appends one event to SPOOL as evkit's
 * writers do (ev_spool_append: lock, write, unlock; no fdatasync, which is
 * the disk's latency, not the follower's) and reads the line back from
 * evtail. The latency runs from the start of the append to the line's
 * arrival. Prints p50, p90, p99 and max in microseconds.
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

int
main(int argc, char *argv[])
{
	int n = argc > 3 ? atoi(argv[3]) : 1000, p[2];
	int64_t *lat;
	struct ev_spool *sp;
	FILE *in;
	char line[256], ev[128];
	pid_t pid;

	if (argc < 3 || n <= 0) {
		fputs("usage: spool-latency evtail spool [n]\n", stderr);
		return 2;
	}
	if (!(sp = ev_spool_open(argv[2], EV_SPOOL_WRITE)) || pipe(p) < 0)
		return 2;
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(argv[1], argv[1], "--from-start", argv[2], (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	in = fdopen(p[0], "r");
	lat = calloc((size_t)n + 1, sizeof *lat);
	/* A first event shows that evtail is up and following. */
	for (int i = -1; i < n; i++) {
		int len = snprintf(ev, sizeof ev, "{\"i\":%d}\n", i);
		int64_t t0 = now_us();
		if (ev_spool_append(sp, ev, (size_t)len, 1) < 0)
			return 2;
		if (!fgets(line, sizeof line, in) || strcmp(line, ev) != 0) {
			fprintf(stderr, "spool-latency: evtail printed %s", line);
			return 2;
		}
		if (i >= 0)
			lat[i] = now_us() - t0;
		usleep(1000);
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
