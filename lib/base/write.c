/* SPDX-License-Identifier: ISC */
/* write.c — write(2) a whole buffer (see write.h). */
#include <errno.h>
#include <unistd.h>

#include "base/write.h"

int
ev_write_all(int fd, const void *p, size_t n, size_t *done)
{
	size_t off = 0;
	int rc = 0;

	while (off < n) {
		ssize_t w = write(fd, (const char *)p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -1;
			break;
		}
		off += (size_t)w;
	}
	if (done)
		*done = off;
	return rc;
}
