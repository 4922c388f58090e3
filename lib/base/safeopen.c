/* SPDX-License-Identifier: ISC */
/* safeopen.c — anyone who may write a spool's cursors/ may leave a FIFO or a
 * link there: every file evkit opens inside a spool is opened this way. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/safeopen.h"

int
ev_open_regular(int dirfd, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EFTYPE_EV;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

const char *
ev_open_why(int err)
{
	if (err == ELOOP)
		return "a symbolic link";
	if (err == EFTYPE_EV)
		return "not a regular file";
	return strerror(err);
}

DIR *
ev_opendir_fd(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d;

	if (fd < 0)
		return NULL;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return NULL;
	}
	rewinddir(d); /* the offset is shared with dirfd: a listing before may have moved it */
	return d;
}

size_t
ev_read_small(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = ev_open_regular(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)n;
}
