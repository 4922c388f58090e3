/* SPDX-License-Identifier: ISC */
/* replace.c — replace a small file atomically: temporary, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/write.h"
#include "base/replace.h"

/* Remove the temporary after a failure, keeping the failure's errno. */
static int
fail(int dirfd, const char *tmp, int err)
{
	unlinkat(dirfd, tmp, 0);
	errno = err;
	return -1;
}

int
ev_replace(int dirfd, const char *dir, const char *name, const void *data, size_t len,
    mode_t mode, int nosync)
{
	char tmp[512];
	int fd, err;

	if ((size_t)snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", name, (long)getpid()) >= sizeof tmp) {
		errno = ENAMETOOLONG;
		ev_warn("%s/%s: name too long", dir, name);
		return -1;
	}
	unlinkat(dirfd, tmp, 0); /* a leftover of a crashed process with our pid */
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode)) < 0) {
		ev_warn("%s/%s: cannot create:", dir, tmp);
		return -1;
	}
	errno = 0;
	if (fchmod(fd, mode) < 0 || ev_write_all(fd, data, len, NULL) < 0 ||
	    (!nosync && fsync(fd) < 0)) {
		err = errno ? errno : EIO;
		ev_warn("%s/%s: cannot write:", dir, tmp);
		close(fd);
		return fail(dirfd, tmp, err);
	}
	if (close(fd) < 0) {
		err = errno;
		ev_warn("%s/%s: close:", dir, tmp);
		return fail(dirfd, tmp, err);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = errno;
		ev_warn("%s/%s: cannot rename into place:", dir, name);
		return fail(dirfd, tmp, err);
	}
	if (!nosync && fsync(dirfd) < 0) {
		ev_warn("%s: fsync:", dir);
		return -1;
	}
	return 0;
}
