/* SPDX-License-Identifier: ISC */
/* timeit — run one shell command and measure it, for bench/lib.sh.
 *
 *   timeit IN OUT ERR CMD
 *
 * Runs `/bin/sh -c CMD` with standard input from IN, standard output to OUT
 * and standard error to ERR (both created or truncated before the clock
 * starts), waits for it and prints one line:
 *
 *   SECONDS MAXRSS_KIB STATUS
 *
 * SECONDS is the wall time from just before the fork to the end of the wait,
 * with nanosecond resolution (CLOCK_MONOTONIC): /usr/bin/time rounds to
 * 10 ms, which hides a fast row. MAXRSS_KIB is the largest resident set of
 * the shell and every process it waited for (wait4's ru_maxrss). STATUS is
 * the exit status, or 128 + the signal that ended it. Exits 2 when the
 * command cannot be run at all.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
open_or_die(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

int
main(int argc, char *argv[])
{
	struct timespec t0, t1;
	struct rusage ru;
	int in, out, err, status;
	pid_t pid;

	if (argc != 5) {
		fputs("usage: timeit in out err cmd\n", stderr);
		return 2;
	}
	in = open_or_die(argv[1], O_RDONLY);
	out = open_or_die(argv[2], O_WRONLY | O_CREAT | O_TRUNC);
	err = open_or_die(argv[3], O_WRONLY | O_CREAT | O_TRUNC);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		close(in);
		close(out);
		close(err);
		execl("/bin/sh", "sh", "-c", argv[4], (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.6f %ld %d\n",
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    ru.ru_maxrss,
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
