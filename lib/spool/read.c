/* SPDX-License-Identifier: ISC */
/* read.c — reading a spool: positions (start, end, last, check) and readers
 * that hand out only whole lines (the protocol is in spool.c). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/cursor.h"
#include "base/time.h"
#include "base/err.h"
#include "base/opts.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/replace.h"
#include "spool/spool.h"
#include "io/watch.h"
#include "base/compat.h"
#include "spool/private.h"

/* Positions. */

/* The offset after the last complete line of the spool. */
uint64_t
spool_segs_end(struct ev_spool *sp, const struct ev_spool_seg *last, int *err)
{
	uint64_t after = 0;
	int fd;

	*err = 0;
	if (last->size == 0)
		return last->base;
	if ((fd = spool_openseg(sp, last->base, O_RDONLY)) < 0) {
		*err = 1;
		return 0;
	}
	if (spool_last_newline(sp, fd, last->size, &after) < 0) {
		ev_warn("%s: read:", sp->segpath);
		*err = 1;
	}
	close(fd);
	return last->base + after;
}

int
ev_spool_pos_start(struct ev_spool *sp, uint64_t *pos)
{
	struct ev_spool_seg *segs;
	size_t n;

	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	*pos = segs[0].base;
	free(segs);
	return 0;
}

int
ev_spool_pos_end(struct ev_spool *sp, uint64_t *pos)
{
	struct ev_spool_seg *segs;
	size_t n;
	int err;

	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	*pos = spool_segs_end(sp, &segs[n - 1], &err);
	free(segs);
	return err ? -1 : 0;
}

int
ev_spool_pos_last(struct ev_spool *sp, uint64_t want, uint64_t *pos)
{
	struct ev_spool_seg *segs;
	size_t n;
	int err;
	uint64_t end, seen = 0;
	char buf[SCANBUF];

	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	end = spool_segs_end(sp, &segs[n - 1], &err);
	if (err)
		goto fail;
	*pos = end;
	if (want == 0 || end == segs[0].base)
		goto done;
	*pos = segs[0].base;
	/* Count newlines backwards from just before the last one. */
	for (size_t i = n; i-- > 0;) {
		uint64_t hi = segs[i].base + segs[i].size;
		int fd;

		if (hi > end - 1)
			hi = end - 1;
		if (hi <= segs[i].base)
			continue;
		if ((fd = spool_openseg(sp, segs[i].base, O_RDONLY)) < 0)
			goto fail;
		while (hi > segs[i].base) {
			uint64_t lo = hi - segs[i].base > sizeof buf ? hi - sizeof buf : segs[i].base;
			size_t k = (size_t)(hi - lo);
			if (pread(fd, buf, k, (off_t)(lo - segs[i].base)) != (ssize_t)k) {
				ev_warn("%s: read:", sp->segpath);
				close(fd);
				goto fail;
			}
			sp->ctr.bytesread += k;
			for (size_t j = k; j-- > 0;)
				if (buf[j] == '\n' && ++seen == want) {
					*pos = lo + j + 1;
					close(fd);
					goto done;
				}
			hi = lo;
		}
		close(fd);
	}
done:
	free(segs);
	return 0;
fail:
	free(segs);
	return -1;
}

int
ev_spool_pos_check(struct ev_spool *sp, uint64_t pos, uint64_t *lost)
{
	struct ev_spool_seg *segs;
	size_t n, i;
	int err, fd, r = -1;
	char c;

	if (lost)
		*lost = 0;
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	if (pos < segs[0].base) {
		if (lost) {
			*lost = segs[0].base - pos;
			r = 0;
		} else {
			ev_warn("%s: position %" PRIu64 " is before the oldest event (%" PRIu64
			    "): retention removed %" PRIu64 " bytes not yet read", sp->path, pos,
			    segs[0].base, segs[0].base - pos);
			errno = ERANGE;
		}
		goto out;
	}
	for (i = n; i-- > 1 && segs[i].base > pos;)
		;
	if (pos > segs[i].base + segs[i].size ||
	    (i == n - 1 && pos > spool_segs_end(sp, &segs[i], &err))) {
		ev_warn("%s: position %" PRIu64 " is past the end of the spool", sp->path, pos);
		errno = ERANGE;
		goto out;
	}
	if (pos == segs[i].base) {
		r = 0;
		goto out;
	}
	if ((fd = spool_openseg(sp, segs[i].base, O_RDONLY)) < 0)
		goto out;
	if (pread(fd, &c, 1, (off_t)(pos - 1 - segs[i].base)) != 1 || c != '\n') {
		ev_warn("%s: position %" PRIu64 " is not at the start of a line", sp->path, pos);
		errno = EINVAL;
	} else {
		r = 0;
	}
	close(fd);
out:
	free(segs);
	return r;
}
/* Reading. */

struct ev_spool_reader {
	struct ev_spool *sp;
	int fd;               /* the segment being read */
	uint64_t base;        /* its first byte's global offset */
	uint64_t pos;         /* global offset of buf[start] */
	char *buf;
	size_t cap, start, end;
	size_t rdmark;        /* where the last read(2) began in buf */
	uintmax_t no;
	int skip_lost;
	uint64_t lost;
	struct ev_buf vbuf;   /* re-read bytes, to verify a line that spans reads */
	uint64_t gappos;      /* 1 + the position last checked for a gap after it */
	struct ev_watch *w;
	size_t max;           /* --max-event-size */
	int dropping;         /* in a line past max: buf holds its first max bytes */
	uint64_t dropped;     /* bytes of that line read and dropped */
};

/* Switch to the segment holding pos (a line start); 0, or -1 reported. */
static int
reader_seek(struct ev_spool_reader *r, uint64_t pos)
{
	struct ev_spool_seg *segs;
	size_t n, i;
	uint64_t lost = 0;

	if (ev_spool_pos_check(r->sp, pos, r->skip_lost ? &lost : NULL) < 0)
		return -1;
	if (ev_spool_segments(r->sp, &segs, &n) < 0)
		return -1;
	if (lost) {
		ev_warn("%s: skipped %" PRIu64 " bytes removed by retention before they were read",
		    r->sp->path, lost);
		r->lost += lost;
		pos = segs[0].base;
	}
	for (i = n; i-- > 1 && segs[i].base > pos;)
		;
	int fd = spool_openseg(r->sp, segs[i].base, O_RDONLY);
	if (fd < 0) {
		free(segs);
		return -1;
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->base = segs[i].base;
	r->pos = pos;
	r->start = r->end = r->rdmark = 0;
	r->dropping = 0;
	r->dropped = 0;
	free(segs);
	if (r->w)
		ev_watch_file(r->w, r->fd);
	return 0;
}

struct ev_spool_reader *
ev_spool_reader_new(struct ev_spool *sp, uint64_t pos, int skip_lost)
{
	struct ev_spool_reader *r = ev_calloc(1, sizeof *r);

	r->sp = sp;
	r->fd = -1;
	r->skip_lost = skip_lost;
	r->cap = READBUF;
	r->buf = ev_malloc(r->cap + 1);
	r->max = ev_max_event ? ev_max_event : 1;
	if (reader_seek(r, pos) < 0) {
		ev_spool_reader_free(r);
		return NULL;
	}
	return r;
}

uint64_t ev_spool_reader_lost(const struct ev_spool_reader *r) { return r->lost; }

void
ev_spool_reader_free(struct ev_spool_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	ev_watch_free(r->w);
	ev_buf_free(&r->vbuf);
	free(r->buf);
	free(r);
}

/* Are the buffered bytes [start, rdmark) still what the file holds? */
static int
still_there_upto(struct ev_spool_reader *r, size_t upto)
{
	size_t k = upto - r->start;
	ssize_t got;

	ev_buf_reset(&r->vbuf);
	ev_buf_grow(&r->vbuf, k);
	got = pread(r->fd, r->vbuf.p, k, (off_t)(r->pos - r->base));
	r->sp->ctr.bytesread += got > 0 ? (size_t)got : 0;
	return got == (ssize_t)k && memcmp(r->vbuf.p, r->buf + r->start, k) == 0;
}

/* Are the buffered bytes read before the last read still what the file holds? */
static int
still_there(struct ev_spool_reader *r)
{
	return still_there_upto(r, r->rdmark);
}

/* 1 and the base of the first segment after base, 0 when there is none, -1. */
static int
later_segment(struct ev_spool *sp, uint64_t base, uint64_t *next)
{
	int fd = dup(sp->segdir), found = 0;
	DIR *d;
	struct dirent *e;
	uint64_t b;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)))
		if (spool_parse_segname(e->d_name, &b) && b > base && (!found || b < *next)) {
			*next = b;
			found = 1;
		}
	closedir(d);
	return found;
}

/* At the end of what the segment holds, with `pending` bytes of an
 * unterminated line buffered: is it still the active segment? Unless a
 * later segment exists: then this one is sealed, and if it does not end
 * where the next begins, or ends without a newline, it was cut short by
 * hand. Looked at once per end offset, by names only; a segment is sealed
 * before its successor exists, so a size read after the listing is final.
 * 0: the active segment, wait; 1: read on; -1: damaged (reported). */
static int
check_sealed(struct ev_spool_reader *r, size_t pending)
{
	uint64_t next = 0, end = r->pos + pending;
	struct stat st;

	if (r->gappos == end + 1)
		return 0;
	r->gappos = end + 1;
	if (later_segment(r->sp, r->base, &next) <= 0)
		return 0;
	if (fstat(r->fd, &st) < 0) {
		ev_warn("%s: fstat:", r->sp->segpath);
		return -1;
	}
	if ((uint64_t)st.st_size != end - r->base || (pending == 0 && next == end))
		return 1; /* a write or a roll-over just now: read on */
	ev_warn("%s/%016" PRIx64 ".ndjson: ends at %" PRIu64 "%s but the next segment begins "
	    "at %" PRIu64 ": the spool is damaged (see evspool check)", r->sp->segpath, r->base,
	    end, pending ? " without a newline" : "", next);
	errno = EINVAL;
	return -1;
}

/* At the end of the segment with nothing pending: move on, if there is a next. */
static int
reader_advance(struct ev_spool_reader *r)
{
	struct stat st;
	int fd;

	if (r->pos != r->base) { /* (an empty segment has no successor yet) */
		if ((fd = spool_openseg(r->sp, r->pos, O_RDONLY)) >= 0) {
			close(r->fd);
			r->fd = fd;
			r->base = r->pos;
			r->start = r->end = r->rdmark = 0;
			if (r->w)
				ev_watch_file(r->w, r->fd);
			return 1;
		}
		if (errno != ENOENT)
			return -1;
	}
	if (fstat(r->fd, &st) < 0) {
		ev_warn("%s: fstat:", r->sp->segpath);
		return -1;
	}
	if (st.st_nlink > 0)
		return check_sealed(r, 0);
	/* Our segment was deleted and no successor starts where we are. */
	if (reader_seek(r, r->pos) < 0)
		return -1;
	return 1;
}

/* The complete line p[0..n) (its newline at p[n]) handed out in l. */
static void
handout(struct ev_spool_reader *r, char *p, size_t n, struct ev_line *l)
{
	size_t len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
	uint64_t full = n + r->dropped;

	l->toolong = 0;
	if (r->dropping || n > r->max) {
		/* past --max-event-size: its first max bytes, once */
		l->toolong = full;
		len = r->max;
	}
	p[len] = '\0';
	l->p = p;
	l->len = len;
	l->partial = 0;
	l->no = ++r->no;
	r->start += n + 1;
	r->pos += full + 1;
	r->dropping = 0;
	r->dropped = 0;
	l->pos = r->pos;
}

/* Forget the partial line held (its bytes were replaced or truncated). */
static void
forget(struct ev_spool_reader *r)
{
	r->start = r->end = r->rdmark = 0;
	r->dropping = 0;
	r->dropped = 0;
}

/* Room to read more after the partial line p[0..scanned): past
 * --max-event-size only its first max bytes are kept; it moves to the
 * buffer's start, which grows when little is left. The bytes scanned. */
static size_t
makeroom(struct ev_spool_reader *r, char *p, size_t scanned)
{
	if (scanned > r->max) {
		/* past the limit: keep the first max bytes, read past the rest */
		r->dropped += scanned - r->max;
		r->end = r->start + r->max;
		if (r->rdmark > r->end)
			r->rdmark = r->end;
		r->dropping = 1;
		scanned = r->max;
	}
	if (r->start > 0) {
		memmove(r->buf, p, scanned);
		r->rdmark = r->rdmark > r->start ? r->rdmark - r->start : 0;
		r->end = scanned;
		r->start = 0;
	}
	if (r->cap - r->end < READBUF / 4) {
		r->cap *= 2;
		r->buf = ev_realloc(r->buf, r->cap + 1);
	}
	return scanned;
}

/* Nothing more to read at off in this segment: 1 to read again (a torn
 * tail was truncated, the segment was sealed, or the next one opened; the
 * bytes to scan again in *scanned), or what ev_spool_reader_next returns
 * (0: no more now; -1). */
static int
atend(struct ev_spool_reader *r, uint64_t off, size_t *scanned)
{
	int a;

	if (r->end > 0) {
		/* An unterminated tail: a write in progress, or torn and about to
		 * be truncated; if it already was, forget what we hold of it. */
		struct stat st;
		if (fstat(r->fd, &st) == 0 && ((uint64_t)st.st_size < off ||
		    !still_there_upto(r, r->end))) {
			/* truncated, or truncated and written again to the same
			 * size (a whole line where the torn one was) */
			forget(r);
			*scanned = 0;
			return 1;
		}
		return check_sealed(r, r->end + r->dropped);
	}
	if ((a = reader_advance(r)) > 0)
		*scanned = 0;
	return a;
}

int
ev_spool_reader_next(struct ev_spool_reader *r, struct ev_line *l)
{
	size_t scanned = 0;
	int a;

	for (;;) {
		char *p = r->buf + r->start;
		char *nl = memchr(p + scanned, '\n', r->end - r->start - scanned);

		if (nl) {
			if (r->start < r->rdmark && !still_there(r)) {
				/* a torn tail we had buffered was replaced: read the line again */
				forget(r);
				scanned = 0;
				continue;
			}
			handout(r, p, (size_t)(nl - p), l);
			return 1;
		}
		scanned = makeroom(r, p, r->end - r->start);
		uint64_t off = r->pos - r->base + r->end + r->dropped;
		ssize_t got = pread(r->fd, r->buf + r->end, r->cap - r->end, (off_t)off);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			ev_warn("%s: read:", r->sp->segpath);
			return -1;
		}
		if (got > 0) {
			r->rdmark = r->end;
			r->end += (size_t)got;
			r->sp->ctr.bytesread += (size_t)got;
			continue;
		}
		if ((a = atend(r, off, &scanned)) <= 0)
			return a;
	}
}

int
ev_spool_reader_wait(struct ev_spool_reader *r, int timeout_ms)
{
	if (!r->w) {
		/* Watching starts now: look once more before sleeping, so that an
		 * append between our last read and now is not missed. */
		if (!(r->w = ev_watch_new(r->sp->segpath)))
			return -1;
		ev_watch_file(r->w, r->fd);
		return 1;
	}
	return ev_watch_wait(r->w, timeout_ms);
}

