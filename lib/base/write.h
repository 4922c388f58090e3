/* SPDX-License-Identifier: ISC */
/* write.h — write(2) a whole buffer: again after EINTR and short writes. */
#ifndef EV_WRITE_H
#define EV_WRITE_H
#include <stddef.h>

/* Write the n bytes at p to fd. 0 when all are written; else -1 with errno
 * set (EAGAIN: a non-blocking fd is full). *done, unless done is NULL, is
 * how many bytes were written either way. Reports nothing. */
int ev_write_all(int fd, const void *p, size_t n, size_t *done);

#endif
