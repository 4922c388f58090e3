/* SPDX-License-Identifier: ISC */
/* safeopen.h — open a file inside a spool only if it is a regular file. */
#ifndef EV_SAFEOPEN_H
#define EV_SAFEOPEN_H
#include <dirent.h>
#include <stddef.h>

/* openat(dirfd, name, flags) that never follows a symbolic link and never
 * blocks on a FIFO or a device (O_NOFOLLOW, O_NONBLOCK for the open), then
 * checks with fstat(2) that it opened a regular file. The descriptor is
 * returned in blocking mode. -1 with errno set: ELOOP for a symbolic link,
 * EFTYPE_EV (not a regular file: a FIFO, a directory, a socket, a device)
 * or what openat or fstat said. Nothing is reported: the caller names the
 * file and the operation (ev_open_why gives the words). */
#define EFTYPE_EV EINVAL
int ev_open_regular(int dirfd, const char *name, int flags);
/* A small regular file's first size - 1 bytes, as a string in buf: their
 * number, or 0 when it is absent, empty, not a regular file or unreadable
 * (a pid in a lock file, a segment's count file). */
size_t ev_read_small(int dirfd, const char *name, char *buf, size_t size);
/* "a symbolic link" / "not a regular file" / strerror(err), for messages. */
const char *ev_open_why(int err);

/* A listing of the directory dirfd from its first entry, on a descriptor of
 * its own (dirfd stays open and unmoved), or NULL with errno set. */
DIR *ev_opendir_fd(int dirfd);

#endif
