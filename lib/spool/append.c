/* SPDX-License-Identifier: ISC */
/* append.c — a spool's writer: repair a torn tail, roll over, append (the
 * protocol is in spool.c); the sync after it is gsync.c's group commit. */
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
#include "base/write.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/replace.h"
#include "spool/spool.h"
#include "io/watch.h"
#include "base/compat.h"
#include "spool/private.h"

/* The offset just after the last '\n' in fd's first size bytes, or 0. */
int
spool_last_newline(struct ev_spool *sp, int fd, uint64_t size, uint64_t *after)
{
	char buf[SCANBUF];

	while (size > 0) {
		size_t n = size < sizeof buf ? (size_t)size : sizeof buf;
		ssize_t got = pread(fd, buf, n, (off_t)(size - n));
		if (got != (ssize_t)n) {
			if (got >= 0)
				errno = EIO;
			return -1;
		}
		sp->ctr.bytesread += n;
		for (size_t i = n; i-- > 0;)
			if (buf[i] == '\n') {
				*after = size - n + i + 1;
				return 0;
			}
		size -= n;
	}
	*after = 0;
	return 0;
}

/* Writer, holding the lock: truncate a torn tail (ours, when a write
 * failed part way: mine is set). */
int
spool_repair(struct ev_spool *sp, int fd, uint64_t base, uint64_t *size, int mine)
{
	char c, name[SEGNAME_LEN + 1];
	uint64_t keep;

	if (*size == 0)
		return 0;
	if (pread(fd, &c, 1, (off_t)(*size - 1)) == 1 && c == '\n')
		return 0;
	spool_segname(name, base);
	if (spool_last_newline(sp, fd, *size, &keep) < 0) {
		ev_warn("%s/%s: read:", sp->segpath, name);
		return -1;
	}
	if (ftruncate(fd, (off_t)keep) < 0) {
		ev_warn("%s/%s: cannot truncate a torn tail:", sp->segpath, name);
		return -1;
	}
	ev_warn("%s/%s: removed a torn tail of %" PRIu64 " bytes (%s)", sp->segpath, name,
	    *size - keep, mine ? "the part of a line our failed write left" :
	    "a writer died mid-write");
	*size = keep;
	return 0;
}

int
spool_lock(struct ev_spool *sp, int op)
{
	while (flock(sp->lockfd, op) < 0) {
		if (errno != EINTR) {
			ev_warn("%s/lock: flock:", sp->path);
			return -1;
		}
	}
	return 0;
}


/* Writer: open the last segment for appending. */
static int
wopen_last(struct ev_spool *sp)
{
	struct ev_spool_seg *segs;
	size_t n;

	if (sp->wfd >= 0)
		close(sp->wfd);
	sp->wfd = -1;
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	sp->wbase = segs[n - 1].base;
	free(segs);
	if ((sp->wfd = spool_openseg(sp, sp->wbase, O_RDWR | O_APPEND)) < 0)
		return -1;
	return 0;
}

/* Writer, holding the lock, about to seal its segment: its data on disk
 * first, whoever wrote it, so a segment is whole before its successor
 * exists (not with --sync=none: a system crash may then leave a gap). */
static int
sealsync(struct ev_spool *sp)
{
	return sp->nosync || sp->wfd < 0 ? 0 : spool_syncseg(sp);
}

/* Start writing back what the last appends wrote, without waiting for it,
 * once a megabyte has gathered: the fdatasync at the end of a batch then
 * finds most of the batch on disk already, and writing overlaps the work
 * of making the next batch (Linux; elsewhere the fdatasync does it all). */
static void
kick(struct ev_spool *sp, uint64_t end, size_t len)
{
#ifdef SYNC_FILE_RANGE_WRITE
	sp->wkick += len;
	if (sp->wkick > end)
		sp->wkick = end; /* a roll-over began a new segment */
	if (sp->wkick < (1 << 20))
		return;
	/* Only a hint: an error here shows again at the fdatasync. */
	sync_file_range(sp->wfd, (off_t)(end - sp->wkick), (off_t)sp->wkick,
	    SYNC_FILE_RANGE_WRITE);
	sp->wkick = 0;
#else
	(void)sp, (void)end, (void)len;
#endif
}

/* Writer, holding the lock: the active segment's successor. */
static int
rollover(struct ev_spool *sp, uint64_t next)
{
	char name[SEGNAME_LEN + 1];
	struct ev_buf p = { 0 };
	int fd, created = 0;

	if (sealsync(sp) < 0)
		return -1;
	if ((fd = spool_openseg(sp, next, O_RDWR | O_APPEND)) < 0) {
		if (errno != ENOENT)
			return -1;
		spool_segname(name, next);
		ev_buf_printf(&p, "%s/%s", sp->segpath, name);
		fd = spool_create_file(sp->segdir, name, p.p, sp->conf.mode, O_RDWR | O_APPEND);
		ev_buf_free(&p);
		if (fd < 0)
			return -1;
		if (!sp->nosync && fsync(sp->segdir) < 0) {
			ev_warn("%s: fsync:", sp->segpath);
			close(fd);
			return -1;
		}
		created = 1;
	}
	close(sp->wfd);
	sp->wfd = fd;
	sp->wbase = next;
	if (created && (sp->conf.retain_ms || sp->conf.retain_bytes)) {
		struct ev_spool_gc res;
		return spool_gc_locked(sp, 0, &res);
	}
	return 0;
}

/* Writer, holding the lock: the active segment, repaired and not full. */
int
spool_active(struct ev_spool *sp, uint64_t *size)
{
	struct stat st;

	if (sp->wfd < 0 && wopen_last(sp) < 0)
		return -1;
	for (;;) {
		if (fstat(sp->wfd, &st) < 0) {
			ev_warn("%s: fstat:", sp->segpath);
			return -1;
		}
		if (st.st_nlink == 0) { /* ours is gone (retention): find the last again */
			if (wopen_last(sp) < 0)
				return -1;
			continue;
		}
		*size = (uint64_t)st.st_size;
		if (spool_repair(sp, sp->wfd, sp->wbase, size, 0) < 0)
			return -1;
		if (*size < sp->conf.segment_bytes)
			return 0;
		if (rollover(sp, sp->wbase + *size) < 0)
			return -1;
	}
}

int
ev_spool_append(struct ev_spool *sp, const char *buf, size_t len, int nosync)
{
	return ev_spool_append_lines(sp, buf, len, spool_count_newlines(buf, len), nosync);
}

int
ev_spool_append_lines(struct ev_spool *sp, const char *buf, size_t len, uint64_t nlines,
    int nosync)
{
	uint64_t size;
	size_t off = 0;
	int err;

	if (len == 0)
		return 0;
	if (spool_lock(sp, LOCK_EX) < 0)
		return -1;
	if (spool_active(sp, &size) < 0)
		goto fail;
	if (ev_write_all(sp->wfd, buf, len, &off) < 0) {
		char name[SEGNAME_LEN + 1];
		err = errno;
		spool_segname(name, sp->wbase);
		ev_warn("%s/%s: write:", sp->segpath, name);
		size += off;
		spool_repair(sp, sp->wfd, sp->wbase, &size, 1); /* end at a line boundary again */
		errno = err;
		goto fail;
	}
	kick(sp, size + len, len);
	spool_segcount_append(sp, size, len, nlines);
	sp->wend = sp->wbase + size + len;
	if (spool_lock(sp, LOCK_UN) < 0)
		return -1;
	return nosync ? 0 : spool_gsync(sp);
fail:
	err = errno;
	spool_lock(sp, LOCK_UN);
	errno = err;
	return -1;
}

int
ev_spool_sync(struct ev_spool *sp)
{
	return spool_gsync(sp);
}

