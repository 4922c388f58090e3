/* SPDX-License-Identifier: ISC */
/* admin.c — a spool's status, its check, and retention (gc). */
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
#include "spool/group.h"
#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/replace.h"
#include "spool/spool.h"
#include "io/watch.h"
#include "base/compat.h"
#include "base/safeopen.h"
#include "spool/private.h"

/* Status, check and retention. */

static int
cmpcur(const void *a, const void *b)
{
	const struct ev_spool_cursorstat *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
cmpname(const void *a, const void *b)
{
	const struct ev_spool_cursorstat *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* The cursors, with their byte lags (events come later). 0, or -1. */
static int
statcursors(struct ev_spool *sp, struct ev_spool_stat *st)
{
	char **names;
	size_t nc;

	if (ev_spool_cursor_list(sp, &names, &nc) < 0)
		return -1;
	st->cursors = ev_calloc(nc + 1, sizeof *st->cursors);
	for (size_t i = 0; i < nc; i++) {
		struct ev_spool_cursorstat *c = &st->cursors[st->ncursors];
		int got = ev_spool_cursor_get(sp, names[i], &c->pos);
		if (got < 0)
			st->badcursors++;
		if (got <= 0)
			continue;
		c->name = names[i];
		names[i] = ev_strdup("");
		c->lost = c->pos < st->start;
		c->lag_bytes = c->pos < st->end ? st->end - (c->lost ? st->start : c->pos) : 0;
		st->ncursors++;
	}
	ev_cursor_list_free(names);
	return 0;
}

/* The events in [lo, hi) of the segment at base, read. */
static int
countrange(struct ev_spool *sp, uint64_t base, uint64_t lo, uint64_t hi, char *buf,
    uint64_t *events)
{
	int fd;

	if (lo >= hi)
		return 0;
	if ((fd = spool_openseg(sp, base, O_RDONLY)) < 0)
		return -1;
	while (lo < hi) {
		size_t k = hi - lo > READBUF ? READBUF : (size_t)(hi - lo);
		if (pread(fd, buf, k, (off_t)(lo - base)) != (ssize_t)k) {
			ev_warn("%s: read:", sp->segpath);
			close(fd);
			return -1;
		}
		sp->ctr.bytesread += k;
		*events += spool_count_newlines(buf, k);
		lo += k;
	}
	close(fd);
	return 0;
}

/* The events in the first hi - base bytes of seg: its count record
 * (segcount.c) and a read of what follows it, or a read of it all; a
 * sealed segment read whole gets a record, so it is read once in its life. */
static int
segevents(struct ev_spool *sp, const struct ev_spool_seg *seg, uint64_t hi, int sealed,
    char *buf, uint64_t *events)
{
	uint64_t s = 0, e = 0;

	if (!spool_segcount_get(sp, seg->base, &s, &e) || seg->base + s > hi)
		s = e = 0;
	*events = e;
	if (countrange(sp, seg->base, seg->base + s, hi, buf, events) < 0)
		return -1;
	if (sealed && s != hi - seg->base)
		spool_segcount_put(sp, seg->base, hi - seg->base, *events);
	return 0;
}

/* The events of segment i, and those before each cursor from *ci on that
 * falls in it: the segment's count less the events after the cursor (a
 * read of the rest of the segment). 0, or -1 (reported). */
static int
countseg(struct ev_spool *sp, struct ev_spool_stat *st, const struct ev_spool_seg *seg,
    uint64_t hi, int sealed, char *buf, size_t *ci)
{
	uint64_t lo = seg->base, in = 0;

	if (segevents(sp, seg, hi, sealed, buf, &in) < 0)
		return -1;
	for (; *ci < st->ncursors && st->cursors[*ci].pos <= hi; (*ci)++) {
		/* a cursor before lo is in a gap between segments (a damaged
		 * spool, which check reports): its lag counts from the
		 * segment after the gap */
		uint64_t pos = st->cursors[*ci].pos, after = 0;
		if (pos > lo && countrange(sp, seg->base, pos, hi, buf, &after) < 0)
			return -1;
		st->cursors[*ci].lag_events = st->events + (pos > lo ? in - after : 0);
	}
	st->events += in;
	return 0;
}

/* The events, and those before each cursor (kept in lag_events until the
 * end, when it becomes those after it), reading only what no count
 * record covers and the segments' tails after cursors. */
static int
countevents(struct ev_spool *sp, struct ev_spool_stat *st, const struct ev_spool_seg *segs,
    size_t n)
{
	char *buf = ev_malloc(READBUF);
	size_t ci = 0;
	int err = 0;

	qsort(st->cursors, st->ncursors, sizeof *st->cursors, cmpcur);
	while (ci < st->ncursors && st->cursors[ci].pos <= st->start)
		st->cursors[ci++].lag_events = 0;
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t hi = segs[i].base + segs[i].size;

		if (hi > st->end)
			hi = st->end;
		if (segs[i].base < hi && countseg(sp, st, &segs[i], hi, i + 1 < n, buf, &ci) < 0)
			err = 1;
	}
	free(buf);
	for (; ci < st->ncursors; ci++)
		st->cursors[ci].lag_events = st->events;
	for (size_t i = 0; i < st->ncursors; i++)
		st->cursors[i].lag_events = st->events - st->cursors[i].lag_events;
	qsort(st->cursors, st->ncursors, sizeof *st->cursors, cmpname);
	return err ? -1 : 0;
}

int
ev_spool_stat(struct ev_spool *sp, struct ev_spool_stat *st)
{
	struct ev_spool_seg *segs;
	size_t n;
	int err;

	memset(st, 0, sizeof *st);
	st->first_ms = st->last_ms = -1;
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	st->segments = n;
	st->start = segs[0].base;
	st->end = spool_segs_end(sp, &segs[n - 1], &err);
	st->torn = segs[n - 1].base + segs[n - 1].size - st->end;
	st->bytes = st->end - st->start;
	if (statcursors(sp, st) < 0) {
		free(segs);
		return -1;
	}
	if (err || countevents(sp, st, segs, n) < 0) {
		free(segs);
		ev_spool_stat_free(st);
		return -1;
	}
	free(segs);
	return 0;
}

int
ev_spool_events_after(struct ev_spool *sp, uint64_t pos, uint64_t *events)
{
	struct ev_spool_seg *segs;
	size_t n;
	int err = 0;
	char *buf;

	*events = 0;
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	uint64_t end = spool_segs_end(sp, &segs[n - 1], &err);
	buf = ev_malloc(READBUF);
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t base = segs[i].base, lo = pos > base ? pos : base;
		uint64_t hi = base + segs[i].size < end ? base + segs[i].size : end, c = 0;
		if (lo >= hi)
			continue;
		if (lo == base)
			err = segevents(sp, &segs[i], hi, i + 1 < n, buf, &c) < 0;
		else
			err = countrange(sp, base, lo, hi, buf, &c) < 0;
		*events += c;
	}
	free(buf);
	free(segs);
	return err ? -1 : 0;
}

void
ev_spool_stat_free(struct ev_spool_stat *st)
{
	for (size_t i = 0; i < st->ncursors; i++)
		free(st->cursors[i].name);
	free(st->cursors);
	st->cursors = NULL;
	st->ncursors = 0;
}

int
ev_spool_check(struct ev_spool *sp, int repair_tail)
{
	struct ev_spool_seg *segs;
	struct ev_spool_stat st;
	size_t n;
	int problems = 0;
	char name[SEGNAME_LEN + 1];

	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	for (size_t i = 0; i + 1 < n; i++) {
		char c;
		int fd;

		spool_segname(name, segs[i].base);
		if (segs[i].base + segs[i].size != segs[i + 1].base) {
			ev_warn("%s/%s: ends at %" PRIu64 " but the next segment begins at %" PRIu64,
			    sp->segpath, name, segs[i].base + segs[i].size, segs[i + 1].base);
			problems++;
			continue;
		}
		if ((fd = spool_openseg(sp, segs[i].base, O_RDONLY)) < 0) {
			free(segs);
			return -1;
		}
		if (segs[i].size > 0 &&
		    (pread(fd, &c, 1, (off_t)segs[i].size - 1) != 1 || c != '\n')) {
			ev_warn("%s/%s: a sealed segment that does not end with a newline",
			    sp->segpath, name);
			problems++;
		}
		close(fd);
	}
	free(segs);
	if (ev_spool_stat(sp, &st) < 0)
		return -1;
	problems += (int)st.badcursors; /* each reported by ev_spool_cursor_get */
	for (size_t i = 0; i < st.ncursors; i++) {
		if (ev_spool_pos_check(sp, st.cursors[i].pos, NULL) < 0) {
			ev_warn("%s/%s: cursor at %" PRIu64 " is not a valid position", sp->curpath,
			    st.cursors[i].name, st.cursors[i].pos);
			problems++;
		}
	}
	if (st.torn) {
		if (repair_tail) {
			uint64_t size;
			if (spool_lock(sp, LOCK_EX) < 0 || spool_active(sp, &size) < 0) {
				ev_spool_stat_free(&st);
				return -1;
			}
			spool_lock(sp, LOCK_UN);
		} else {
			ev_warn("%s: a torn tail of %" PRIu64 " bytes at %" PRIu64
			    " (a writer died mid-write; --repair removes it)", sp->path, st.torn,
			    st.end);
			problems++;
		}
	}
	ev_spool_stat_free(&st);
	return problems;
}

/* The oldest position a reader still needs: every cursor's, and every
 * consumer group's committed one. 0, or -1. */
static int
oldestread(struct ev_spool *sp, uint64_t *oldest)
{
	char **names;
	size_t nc;
	uint64_t low;
	int g;

	if (ev_spool_cursor_list(sp, &names, &nc) < 0)
		return -1;
	for (size_t i = 0; i < nc; i++) {
		uint64_t pos;
		int got = ev_spool_cursor_get(sp, names[i], &pos);
		if (got < 0) {
			/* a consumer whose place we cannot read may not have read
			 * anything yet: keep all the data for it */
			ev_warn("%s/%s: retention held back until this cursor can be read "
			    "(evspool cursor --set or --delete fixes it)", sp->curpath, names[i]);
			*oldest = 0;
		} else if (got == 1 && pos < *oldest) {
			*oldest = pos;
		}
	}
	ev_cursor_list_free(names);
	/* and every consumer group's committed position (its low-water mark) */
	if ((g = ev_group_lowest(sp, &low)) < 0)
		return -1;
	if (g > 0 && low < *oldest)
		*oldest = low;
	return 0;
}

int
spool_gc_locked(struct ev_spool *sp, int force, struct ev_spool_gc *res)
{
	struct ev_spool_seg *segs;
	char name[SEGNAME_LEN + 1];
	size_t n;
	uint64_t total = 0, oldest = UINT64_MAX;
	int64_t now = ev_now_ms();
	int r = 0;

	memset(res, 0, sizeof *res);
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	if (!force && oldestread(sp, &oldest) < 0) {
		free(segs);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		total += segs[i].size;
	for (size_t i = 0; i + 1 < n; i++) {
		int old = sp->conf.retain_ms > 0 && now - segs[i].mtime_ms > sp->conf.retain_ms;
		int big = sp->conf.retain_bytes > 0 && total > sp->conf.retain_bytes;
		if (!old && !big)
			break;
		if (res->kept || oldest < segs[i].base + segs[i].size) {
			res->kept++; /* a cursor has not read it; nor can anything after it go */
			continue;
		}
		spool_segname(name, segs[i].base);
		if (unlinkat(sp->segdir, name, 0) < 0) {
			ev_warn("%s/%s: cannot delete:", sp->segpath, name);
			r = -1;
			break;
		}
		spool_segcount_unlink(sp, segs[i].base); /* its count record, if any */
		res->segments++;
		res->bytes += segs[i].size;
		total -= segs[i].size;
	}
	if (res->segments && fsync(sp->segdir) < 0) {
		ev_warn("%s: fsync:", sp->segpath);
		r = -1;
	}
	free(segs);
	return r;
}

int
ev_spool_gc(struct ev_spool *sp, int force, struct ev_spool_gc *res)
{
	int r;

	if (spool_lock(sp, LOCK_EX) < 0)
		return -1;
	r = spool_gc_locked(sp, force, res);
	spool_lock(sp, LOCK_UN);
	return r;
}
