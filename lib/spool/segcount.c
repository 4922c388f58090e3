/* SPDX-License-Identifier: ISC */
/* segcount.c — how many events a segment holds, without reading it.
 *
 * Beside each segment, segments/.BASE.count holds one record, "SIZE
 * EVENTS\n": the segment's first SIZE bytes hold EVENTS events. SIZE is
 * always at a line boundary, so the record counts a prefix: a reader adds
 * the newlines of [SIZE, the segment's end) when the segment has grown
 * since, and ignores a record whose SIZE lies beyond the end (a torn tail
 * was cut) or that does not parse. A record can therefore be stale but
 * never wrong, and nothing here is needed for an event's safety: every
 * failure to read or write one only costs a read of the segment.
 *
 * Writers keep the record of the segment they append to, holding the
 * spool's lock: after each append they write the new SIZE and EVENTS in
 * place (one pwrite of a fixed-width record), carrying on from the record
 * they wrote last or, when another writer came between, from the one it
 * wrote. A writer that finds no usable record for a segment that has data
 * counts the gap when it is small, else leaves the segment to the readers.
 * evspool stat writes a record for a sealed segment it had to read (a
 * temporary file renamed over the name; no writer writes a sealed one), so
 * each segment is read at most once in its life.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/safeopen.h"
#include "spool/private.h"

#define RECLEN 42      /* "%020" PRIu64 " %020" PRIu64 "\n" */
#define GAP_MAX (1 << 20) /* a writer counts an unrecorded gap up to this */

uint64_t
spool_count_newlines(const char *p, size_t n)
{
	const char *e = p + n;
	uint64_t c = 0;

	while ((p = memchr(p, '\n', (size_t)(e - p)))) {
		c++;
		p++;
	}
	return c;
}

static void
countname(char *buf, size_t size, uint64_t base)
{
	snprintf(buf, size, ".%016" PRIx64 ".count", base);
}

/* A record's text: 1 with *size and *events, or 0. */
static int
parserec(const char *buf, uint64_t *size, uint64_t *events)
{
	uintmax_t s, e;

	if (sscanf(buf, "%ju %ju", &s, &e) != 2 || e > s)
		return 0;
	*size = s;
	*events = e;
	return 1;
}

/* The record of fd: 1 with *size and *events, or 0. */
static int
readrec(int fd, uint64_t *size, uint64_t *events)
{
	char buf[64];
	ssize_t k = pread(fd, buf, sizeof buf - 1, 0);

	if (k <= 0)
		return 0;
	buf[k] = '\0';
	return parserec(buf, size, events);
}

int
spool_segcount_get(struct ev_spool *sp, uint64_t base, uint64_t *size, uint64_t *events)
{
	char name[48], buf[64];

	countname(name, sizeof name, base);
	return ev_read_small(sp->segdir, name, buf, sizeof buf) && parserec(buf, size, events);
}

void
spool_segcount_put(struct ev_spool *sp, uint64_t base, uint64_t size, uint64_t events)
{
	char name[48], tmp[64], buf[64];
	int fd, len;

	countname(name, sizeof name, base);
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", name, (long)getpid());
	len = snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu64 "\n", size, events);
	if ((fd = openat(sp->segdir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    sp->conf.mode)) < 0)
		return;
	if (write(fd, buf, (size_t)len) != len || close(fd) < 0 ||
	    renameat(sp->segdir, tmp, sp->segdir, name) < 0)
		unlinkat(sp->segdir, tmp, 0);
}

void
spool_segcount_unlink(struct ev_spool *sp, uint64_t base)
{
	char name[48];

	countname(name, sizeof name, base);
	unlinkat(sp->segdir, name, 0);
}

/* Writer: the record file of the active segment, open in sp->cfd. */
static int
wopen(struct ev_spool *sp)
{
	char name[48];

	if (sp->cfd >= 0 && sp->cbase == sp->wbase)
		return 0;
	if (sp->cfd >= 0)
		close(sp->cfd);
	sp->cbase = sp->wbase;
	sp->cknown = 0;
	countname(name, sizeof name, sp->wbase);
	sp->cfd = openat(sp->segdir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, sp->conf.mode);
	return sp->cfd >= 0 ? 0 : -1;
}

/* Writer: the events in the active segment's first size bytes, in
 * sp->cevents (sp->cknown), from our last record, the file's, or a read of
 * a small gap after it. */
static void
carryon(struct ev_spool *sp, uint64_t size)
{
	uint64_t s = 0, e = 0;

	if (sp->cknown && sp->csize == size)
		return;
	sp->cknown = 0;
	if (!readrec(sp->cfd, &s, &e) || s > size)
		s = e = 0;
	if (size - s > GAP_MAX)
		return;
	if (size > s) {
		char *buf = ev_malloc((size_t)(size - s));
		int fd = spool_openseg(sp, sp->wbase, O_RDONLY);
		ssize_t k = fd < 0 ? -1 : pread(fd, buf, (size_t)(size - s), (off_t)s);
		if (fd >= 0)
			close(fd);
		if (k == (ssize_t)(size - s))
			e += spool_count_newlines(buf, (size_t)k);
		free(buf);
		if (k != (ssize_t)(size - s))
			return;
	}
	sp->csize = size;
	sp->cevents = e;
	sp->cknown = 1;
}

void
spool_segcount_append(struct ev_spool *sp, uint64_t size, uint64_t len, uint64_t events)
{
	char rec[RECLEN + 1];

	if (wopen(sp) < 0)
		return;
	carryon(sp, size);
	if (!sp->cknown)
		return;
	sp->csize = size + len;
	sp->cevents += events;
	snprintf(rec, sizeof rec, "%020" PRIu64 " %020" PRIu64 "\n", sp->csize, sp->cevents);
	if (pwrite(sp->cfd, rec, RECLEN, 0) != RECLEN)
		sp->cknown = 0;
}

void
spool_segcount_close(struct ev_spool *sp)
{
	if (sp->cfd >= 0)
		close(sp->cfd);
	sp->cfd = -1;
}
