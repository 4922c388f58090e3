/* SPDX-License-Identifier: ISC */
/* spooltime.c — a spool by event time: where --since starts, without
 * reading the whole spool, and the times of its first and last events.
 *
 * Events are assumed to be appended roughly in time order (evemit stamps
 * them as it makes them). The search opens O(log segments) segments, to
 * read their first event, and reads O(log segment size) lines in the one
 * segment that holds the answer, then at most SCANWIN bytes linearly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "base/err.h"
#include "json/jsonscan.h"
#include "base/buf.h"
#include "base/mem.h"
#include "spool/spool.h"
#include "spool/private.h"
#include "event/event.h"

#define CHUNK 4096
#define SCANWIN (16 * 1024)
#define FIRSTLINES 64 /* lines looked at for a segment's first time */

int
ev_spool_line_time(const char *p, size_t n, int64_t *ms)
{
	static struct ev_jpath *timepath;
	struct ev_jval v;
	struct ev_buf b = { 0 };
	int r;

	if (!timepath && !(timepath = ev_jpath_compile(".time", &b))) {
		ev_buf_free(&b);
		return -1;
	}
	if (ev_json_scan(p, n, &timepath, 1, &v, NULL) < 0)
		return -1;
	r = ev_event_time(&v, &b, ms);
	ev_buf_free(&b);
	return r;
}

/* The line that starts at file offset off, before lim, into b (without its
 * newline); *next is the offset after it. 1: a line; 0: none; -1: error. */
static int
line_at(struct ev_spool *sp, int fd, uint64_t off, uint64_t lim, struct ev_buf *b, uint64_t *next)
{
	ev_buf_reset(b);
	while (off + b->len < lim) {
		size_t k = lim - off - b->len > CHUNK ? CHUNK : (size_t)(lim - off - b->len);
		ev_buf_grow(b, k + 1);
		ssize_t got = pread(fd, b->p + b->len, k, (off_t)(off + b->len));
		if (got <= 0)
			return got < 0 ? -1 : 0;
		sp->ctr.bytesread += (uint64_t)got;
		char *nl = memchr(b->p + b->len, '\n', (size_t)got);
		if (nl) {
			b->len = (size_t)(nl - b->p);
			b->p[b->len] = '\0';
			*next = off + b->len + 1;
			return 1;
		}
		b->len += (size_t)got;
	}
	return 0;
}

/* The first line start at or after off (> 0) and before lim. */
static int
linestart_from(struct ev_spool *sp, int fd, uint64_t off, uint64_t lim, uint64_t *start)
{
	char buf[CHUNK];

	for (uint64_t at = off - 1; at < lim;) {
		size_t k = lim - at > CHUNK ? CHUNK : (size_t)(lim - at);
		ssize_t got = pread(fd, buf, k, (off_t)at);
		if (got <= 0)
			return got < 0 ? -1 : 0;
		sp->ctr.bytesread += (uint64_t)got;
		char *nl = memchr(buf, '\n', (size_t)got);
		if (nl) {
			*start = at + (uint64_t)(nl - buf) + 1;
			return *start < lim;
		}
		at += (uint64_t)got;
	}
	return 0;
}

/* Lines read forward from a line start, a chunk at a time. */
struct fwd {
	struct ev_spool *sp; /* counts what is read */
	int fd;
	uint64_t at, lim; /* file offset of b->p[0]; stop there */
	size_t start;
	struct ev_buf *b;
};

static void
fwd_init(struct fwd *f, struct ev_spool *sp, int fd, uint64_t off, uint64_t lim, struct ev_buf *b)
{
	f->sp = sp;
	f->fd = fd;
	f->at = off;
	f->lim = lim;
	f->start = 0;
	f->b = b;
	ev_buf_reset(b);
}

/* 1: a line at *linestart (p, len); 0: no more before lim; -1: error. */
static int
fwd_next(struct fwd *f, const char **p, size_t *len, uint64_t *linestart)
{
	size_t scanned = 0;

	for (;;) {
		/* no arithmetic on the buffer before its first use (NULL + 0 is UB) */
		char *s = f->b->p ? f->b->p + f->start : NULL;
		char *nl = f->b->len > f->start ?
		    memchr(s + scanned, '\n', f->b->len - f->start - scanned) : NULL;
		if (nl) {
			*p = s;
			*len = (size_t)(nl - s);
			*linestart = f->at + f->start;
			f->start += *len + 1;
			return 1;
		}
		scanned = f->b->len - f->start;
		if (f->start > 0) {
			memmove(f->b->p, s, scanned);
			f->at += f->start;
			f->b->len = scanned;
			f->start = 0;
		}
		uint64_t off = f->at + f->b->len;
		if (off >= f->lim)
			return 0;
		size_t k = f->lim - off > CHUNK ? CHUNK : (size_t)(f->lim - off);
		ev_buf_grow(f->b, k + 1);
		ssize_t got = pread(f->fd, f->b->p + f->b->len, k, (off_t)off);
		if (got <= 0)
			return got < 0 ? -1 : 0;
		f->sp->ctr.bytesread += (uint64_t)got;
		f->b->len += (size_t)got;
	}
}

/* The time of the first line at or after off (a line start) that has one,
 * looking at no more than maxlines lines; *at is that line's start. */
static int
first_time(struct ev_spool *sp, int fd, uint64_t off, uint64_t lim, int maxlines, struct ev_buf *b, int64_t *ms,
    uint64_t *at)
{
	struct fwd f;
	const char *p;
	size_t len;
	int r = 0;

	fwd_init(&f, sp, fd, off, lim, b);
	for (int i = 0; i < maxlines && (r = fwd_next(&f, &p, &len, at)) > 0; i++)
		if (ev_spool_line_time(p, len, ms) == 0)
			return 1;
	return r < 0 ? -1 : 0;
}

/* The first line start in [lo, lim) of this segment whose time >= ms; lo's
 * own line is known to be earlier. lim when there is none. */
static int
search_segment(struct ev_spool *sp, int fd, uint64_t lo, uint64_t lim, int64_t ms, struct ev_buf *b, uint64_t *pos)
{
	uint64_t hi = lim, s, at;
	int64_t t;
	int r;

	while (hi - lo > SCANWIN) {
		uint64_t mid = lo + (hi - lo) / 2;
		if ((r = linestart_from(sp, fd, mid, hi, &s)) < 0)
			return -1;
		if (r == 0)
			break; /* one long line: scan */
		if ((r = first_time(sp, fd, s, hi, 1, b, &t, &at)) < 0)
			return -1;
		if (r > 0 && t >= ms)
			hi = s;
		else
			lo = s; /* earlier, or no time: step over it */
	}
	/* Linear, from the line after lo's up to hi. */
	struct fwd f;
	const char *p;
	size_t len;
	fwd_init(&f, sp, fd, lo, hi, b);
	if ((r = fwd_next(&f, &p, &len, &s)) <= 0) {
		*pos = hi;
		return r;
	}
	while ((r = fwd_next(&f, &p, &len, &s)) > 0)
		if (ev_spool_line_time(p, len, &t) == 0 && t >= ms) {
			*pos = s;
			return 0;
		}
	*pos = hi;
	return r;
}

/* A segment's first event time: INT64_MAX for an empty one, INT64_MIN when
 * none of its first lines has a time. */
static int
seg_first(struct ev_spool *sp, const struct ev_spool_seg *seg, struct ev_buf *b, int64_t *ms)
{
	uint64_t at;
	int fd, r;

	if (seg->size == 0) {
		*ms = INT64_MAX;
		return 0;
	}
	if ((fd = ev_spool_segment_open(sp, seg->base)) < 0)
		return -1;
	r = first_time(sp, fd, 0, seg->size, FIRSTLINES, b, ms, &at);
	close(fd);
	if (r == 0)
		*ms = INT64_MIN;
	return r < 0 ? -1 : 0;
}

int
ev_spool_pos_time(struct ev_spool *sp, int64_t ms, uint64_t *pos)
{
	struct ev_spool_seg *segs;
	struct ev_buf b = { 0 };
	size_t n, lo = 0, hi;
	uint64_t end;
	int64_t t;
	int fd, r = -1;

	if (ev_spool_pos_end(sp, &end) < 0 || ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	for (hi = n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (seg_first(sp, &segs[mid], &b, &t) < 0)
			goto out;
		if (t >= ms)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == 0) {
		*pos = segs[0].base;
		r = 0;
		goto out;
	}
	struct ev_spool_seg *s = &segs[lo - 1];
	uint64_t lim = s->base + s->size > end ? end - s->base : s->size;
	if ((fd = ev_spool_segment_open(sp, s->base)) < 0)
		goto out;
	r = search_segment(sp, fd, 0, lim, ms, &b, pos);
	if (r < 0)
		ev_warn("%s: read:", ev_spool_path(sp));
	close(fd);
	*pos += s->base;
out:
	ev_buf_free(&b);
	free(segs);
	return r;
}

int
ev_spool_times(struct ev_spool *sp, int64_t *first_ms, int64_t *last_ms)
{
	struct ev_spool_seg *segs;
	struct ev_buf b = { 0 };
	size_t n;
	uint64_t pos, next, at;
	int fd, r = 0;

	*first_ms = *last_ms = -1;
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && *first_ms < 0 && r >= 0; i++) {
		if (segs[i].size == 0 || (fd = ev_spool_segment_open(sp, segs[i].base)) < 0)
			continue;
		if ((r = first_time(sp, fd, 0, segs[i].size, FIRSTLINES, &b, first_ms, &at)) == 0)
			*first_ms = -1;
		close(fd);
	}
	free(segs);
	/* The last: look back a few lines for one with a time. */
	for (uint64_t k = 1; k <= 16 && *first_ms >= 0 && *last_ms < 0 && r >= 0; k++) {
		struct ev_spool_seg *ss;
		size_t nn, i;
		if (ev_spool_pos_last(sp, k, &pos) < 0 || ev_spool_segments(sp, &ss, &nn) < 0) {
			r = -1;
			break;
		}
		for (i = nn; i-- > 1 && ss[i].base > pos;)
			;
		if ((fd = ev_spool_segment_open(sp, ss[i].base)) >= 0) {
			if (line_at(sp, fd, pos - ss[i].base, ss[i].size, &b, &next) > 0 &&
			    ev_spool_line_time(b.p, b.len, last_ms) < 0)
				*last_ms = -1;
			close(fd);
		}
		free(ss);
	}
	ev_buf_free(&b);
	return r < 0 ? -1 : 0;
}
