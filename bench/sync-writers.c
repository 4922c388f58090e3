/* SPDX-License-Identifier: ISC */
/* sync-writers — N concurrent writers that make each line durable.
 *
 *   sync-writers N DIR            < LINES
 *   sync-writers N DIR CMD [ARG ...] < LINES
 *
 * Deals the lines of standard input round-robin into N files DIR/in.I,
 * then starts N processes at once and waits for them all. Without CMD each
 * one appends its lines to its own file DIR/out.I, one write(2) and one
 * fdatasync(2) a line (the baseline: what the disk gives N independent
 * writers); with CMD each one runs CMD with DIR/in.I as standard input
 * (evtail --sync=always -o SPOOL: N writers of one spool). Exits 0 when
 * every writer did.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
deal(int n, const char *dir)
{
	FILE **f = calloc((size_t)n, sizeof *f);
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long i = 0;

	for (int k = 0; k < n; k++) {
		snprintf(path, sizeof path, "%s/in.%d", dir, k);
		if (!f || !(f[k] = fopen(path, "w"))) {
			perror(path);
			exit(2);
		}
	}
	while ((len = getline(&line, &cap, stdin)) > 0)
		fwrite(line, 1, (size_t)len, f[i++ % n]);
	for (int k = 0; k < n; k++)
		if (fclose(f[k]) != 0)
			exit(2);
	free(line);
	free(f);
}

/* One write and one fdatasync a line, into DIR/out.K. */
static int
loop(const char *dir, int k)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int fd;

	snprintf(path, sizeof path, "%s/out.%d", dir, k);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666)) < 0)
		return 2;
	while ((len = getline(&line, &cap, stdin)) > 0)
		if (write(fd, line, (size_t)len) != len || fdatasync(fd) < 0)
			return 2;
	return close(fd) < 0 ? 2 : 0;
}

static pid_t
start(const char *dir, int k, char **cmd)
{
	char path[4096];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	snprintf(path, sizeof path, "%s/in.%d", dir, k);
	if (!freopen(path, "r", stdin))
		_exit(2);
	if (!cmd[0])
		_exit(loop(dir, k));
	execvp(cmd[0], cmd);
	_exit(127);
}

int
main(int argc, char *argv[])
{
	int n = argc > 2 ? atoi(argv[1]) : 0, bad = 0, st;
	pid_t *pid;

	if (n <= 0) {
		fputs("usage: sync-writers n dir [cmd [arg ...]] < lines\n", stderr);
		return 2;
	}
	deal(n, argv[2]);
	if (!(pid = calloc((size_t)n, sizeof *pid)))
		return 2;
	for (int k = 0; k < n; k++)
		if ((pid[k] = start(argv[2], k, argv + 3)) < 0)
			return 2;
	for (int k = 0; k < n; k++)
		if (waitpid(pid[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	free(pid);
	return bad;
}
