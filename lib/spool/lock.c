/* SPDX-License-Identifier: ISC */
/* lock.c — one live holder: an flock(2) on a file that dies with its holder.
 *
 * A reader that names a cursor holds cursors/.NAME.lock exclusively for as
 * long as it reads through that cursor; a member of a consumer group holds
 * its member file (group.c). The lock is flock(2), which the kernel drops
 * when the last descriptor of the open file goes away, so a reader that is
 * killed (SIGKILL, a crash, the OOM killer) lets the next one in at once:
 * there is no lease to expire and no pid to guess about. The descriptor is
 * close-on-exec, so a handler that a reader spawned never keeps it.
 *
 * The holder writes its pid and a newline into the file, only so that a
 * refused reader can say who holds it (and evspool stat, who is a member);
 * the lock, not the pid, decides. Lock files are left in place when their
 * holder goes: deleting one could let two processes hold "the same" lock
 * on two different files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/safeopen.h"
#include "spool/lock.h"

void
ev_lock_cursorname(char *buf, size_t size, const char *cursor)
{
	snprintf(buf, size, ".%s.lock", cursor);
}

/* Open dirfd/name as a regular file (never through a link). */
static int
openreg(int dirfd, const char *dir, const char *name, int flags, mode_t mode)
{
	struct stat st;
	int fd;

	if ((fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode)) < 0) {
		ev_warn("%s/%s: cannot open:", dir, name);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		ev_warn("%s/%s: fstat:", dir, name);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		ev_warn("%s/%s: not a regular file", dir, name);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

pid_t
ev_lock_pid(int dirfd, const char *name)
{
	char buf[32];
	long v;

	if (!ev_read_small(dirfd, name, buf, sizeof buf))
		return 0;
	v = strtol(buf, NULL, 10);
	return v > 0 ? (pid_t)v : 0;
}

int
ev_lock_take(int dirfd, const char *dir, const char *name, mode_t mode, int wait,
    pid_t *holder)
{
	char buf[32];
	int fd, len, r;

	if ((fd = openreg(dirfd, dir, name, O_RDWR | O_CREAT, mode)) < 0)
		return -1;
	while ((r = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) < 0 && errno == EINTR)
		;
	if (r < 0) {
		int err = errno;
		if (err == EWOULDBLOCK) {
			if (holder)
				*holder = ev_lock_pid(dirfd, name);
			err = EBUSY;
		} else {
			ev_warn("%s/%s: cannot lock:", dir, name);
		}
		close(fd);
		errno = err;
		return -1;
	}
	len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
		ev_warn("%s/%s: cannot write:", dir, name);
		close(fd);
		return -1;
	}
	return fd;
}

int
ev_lock_held(int dirfd, const char *dir, const char *name)
{
	int fd, r;

	/* Read-only, so that looking raises no close-after-write notification. */
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return 0;
		ev_warn("%s/%s: cannot open:", dir, name);
		return -1;
	}
	while ((r = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR)
		;
	if (r < 0 && errno != EWOULDBLOCK) {
		ev_warn("%s/%s: cannot lock:", dir, name);
		close(fd);
		return -1;
	}
	close(fd); /* drops the lock if we took it */
	return r < 0;
}
