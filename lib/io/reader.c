/* SPDX-License-Identifier: ISC */
/* reader.c — a line reader with a line-length limit.
 *
 * The buffer grows to hold the longest line seen, up to the limit; complete
 * lines are handed out in place (no copy), so the steady state allocates
 * nothing and makes one read(2) per buffer, not per line. Past the limit
 * the reader keeps the line's first `max` bytes and drops what follows
 * until the newline (see reader.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/opts.h"
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
	size_t max;             /* the line-length limit */
	int dropping;           /* in a line past the limit: buf holds its first max bytes */
	uint64_t dropped;       /* bytes of that line read and dropped */
};

struct ev_reader *
ev_reader_new(int fd, uint64_t pos)
{
	struct ev_reader *r = ev_calloc(1, sizeof *r);

	r->fd = fd;
	r->pos = pos;
	r->cap = READSZ + 1;
	r->buf = ev_malloc(r->cap);
	r->max = ev_max_event ? ev_max_event : 1;
	return r;
}

void
ev_reader_setmax(struct ev_reader *r, size_t max)
{
	r->max = max ? max : 1;
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
	r->dropping = 0;
	r->dropped = 0;
}

void
ev_reader_free(struct ev_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

/* Hand out buf[start..start+n) as a line that ended after `end` more bytes
 * (its newline, or 0 at the end of the input). */
static void
take(struct ev_reader *r, struct ev_line *l, size_t n, size_t end, int partial)
{
	char *p = r->buf + r->start;
	uint64_t full = n + r->dropped;
	size_t len = n;

	if (r->dropping || n > r->max) {
		len = r->max;
		l->toolong = full;
	} else {
		if (!partial && len > 0 && p[len - 1] == '\r')
			len--;
		l->toolong = 0;
	}
	p[len] = '\0';
	l->p = p;
	l->len = len;
	l->partial = partial;
	l->no = ++r->no;
	r->start += n + end;
	r->pos += full + end;
	r->scanned = 0;
	r->dropping = 0;
	r->dropped = 0;
	l->pos = r->pos;
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
			take(r, l, (size_t)(nl - p), 1, 0);
			return 1;
		}
		scanned = r->end - r->start;
		if (scanned > r->max) {
			/* past the limit: keep the first max bytes, drop the rest */
			r->dropped += scanned - r->max;
			r->end = r->start + r->max;
			r->dropping = 1;
			scanned = r->max;
		}
		r->scanned = scanned;
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
			if ((scanned == 0 && !r->dropping) || !(flags & EV_RD_TAIL))
				return 0;
			take(r, l, scanned, 0, 1);
			return 1;
		}
		r->end += (size_t)got;
	}
}
