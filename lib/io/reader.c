/* SPDX-License-Identifier: ISC */
/* reader.c — a line reader with no line-length limit.
 *
 * The buffer grows to hold the longest line seen; complete lines are handed
 * out in place (no copy), so the steady state allocates nothing and makes
 * one read(2) per buffer, not per line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "io/reader.h"

#define READSZ (256 * 1024)

struct ev_reader {
	int fd;
	char *buf;
	size_t cap, start, end; /* unread bytes are buf[start..end) */
	uint64_t pos;           /* stream position of buf[start] */
	size_t scanned;         /* buf[start..start+scanned) holds no newline */
	uintmax_t no;
	int eof;
};

struct ev_reader *
ev_reader_new(int fd, uint64_t pos)
{
	struct ev_reader *r = ev_calloc(1, sizeof *r);

	r->fd = fd;
	r->pos = pos;
	r->cap = READSZ + 1;
	r->buf = ev_malloc(r->cap);
	return r;
}

int ev_reader_fd(const struct ev_reader *r) { return r->fd; }
size_t ev_reader_pending(const struct ev_reader *r) { return r->end - r->start; }

void
ev_reader_reset(struct ev_reader *r, int fd, uint64_t pos)
{
	r->fd = fd;
	r->pos = pos;
	r->start = r->end = r->scanned = 0;
	r->eof = 0;
}

void
ev_reader_free(struct ev_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

int
ev_reader_next(struct ev_reader *r, struct ev_line *l, int flags)
{
	size_t scanned = r->scanned;
	int reads = 0;

	for (;;) {
		char *p = r->buf + r->start;
		char *nl = memchr(p + scanned, '\n', r->end - r->start - scanned);

		if (nl) {
			size_t n = (size_t)(nl - p);
			size_t len = n;

			if (len > 0 && p[len - 1] == '\r')
				len--;
			p[len] = '\0';
			l->p = p;
			l->len = len;
			l->partial = 0;
			l->no = ++r->no;
			r->start += n + 1;
			r->pos += n + 1;
			r->scanned = 0;
			l->pos = r->pos;
			return 1;
		}
		scanned = r->scanned = r->end - r->start;
		if ((flags & EV_RD_NOREAD) || ((flags & EV_RD_ONCE) && reads > 0)) {
			errno = EAGAIN;
			return -1;
		}
		if (r->start > 0 && (r->cap - 1 - r->end < READSZ / 4 || r->start == r->end)) {
			memmove(r->buf, p, scanned);
			r->start = 0;
			r->end = scanned;
		}
		if (r->cap - 1 - r->end < READSZ / 4) {
			size_t cap = r->cap * 2;
			r->buf = ev_realloc(r->buf, cap);
			r->cap = cap;
		}
		ssize_t got = read(r->fd, r->buf + r->end, r->cap - 1 - r->end);
		reads++;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0) {
			if (scanned == 0 || !(flags & EV_RD_TAIL))
				return 0;
			p = r->buf + r->start;
			p[scanned] = '\0';
			l->p = p;
			l->len = scanned;
			l->partial = 1;
			l->no = ++r->no;
			r->start = r->end;
			r->scanned = 0;
			r->pos += scanned;
			l->pos = r->pos;
			return 1;
		}
		r->end += (size_t)got;
	}
}
