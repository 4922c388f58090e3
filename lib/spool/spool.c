/* SPDX-License-Identifier: ISC */
/* spool.c — durable, ordered, append-only topics in a directory.
 *
 * The format (version 1; ev-spool(5) says the same, and the two agree):
 *
 *   SPOOL     the format marker and the settings, written once by init (temp
 *             file + fsync + rename, so a directory is a spool only once it
 *             is complete):
 *                 evkit-spool 1
 *                 segment-bytes 67108864
 *                 retain-age 0          (milliseconds; 0 keeps everything)
 *                 retain-bytes 0        (0: no limit)
 *                 mode 0640             (of every file; directories add x)
 *             A reader refuses another version and any unknown setting.
 *   segments/ XXXXXXXXXXXXXXXX.ndjson: sixteen lowercase hex digits naming
 *             the global byte offset of the segment's first byte. Segments
 *             are contiguous (each begins where the one before ends) and
 *             every one but the last (the active one) ends with '\n'.
 *   cursors/  NAME: a consumer's position, one decimal offset and '\n'
 *             (cursor.c): the offset of the first line it has not done.
 *   lock      writers flock(2) it, exclusively, for each batch.
 *
 * A position is a global byte offset at a line start; a line's position is
 * the offset just after its '\n'.
 *
 * Writers, for each batch, holding the lock:
 *   1. Repair. If the active segment does not end with '\n', a writer died
 *      in the middle of a write: truncate it after its last '\n'.
 *   2. Roll over. While the active segment holds segment-bytes or more, its
 *      successor is the segment named base + size: open it, creating it
 *      (O_EXCL) and syncing segments/ if it is not there, and apply
 *      retention. A segment is therefore sealed, complete, before its
 *      successor exists.
 *   3. One write(2) of whole lines (a batch never spans segments). If it
 *      fails part way (ENOSPC), step 1 again, so the spool still ends at a
 *      line boundary.
 *   4. fdatasync, unless the caller syncs later (group commit) or never.
 *
 * So a '\n' once written is never removed except with its whole segment by
 * retention, and no lock is needed to read:
 *
 * Readers hand out only lines that end with '\n'. Bytes after the last
 * '\n' may be a write in progress or a torn tail that the next writer will
 * truncate and overwrite; a reader that buffered such bytes reads them
 * again (pread) before handing out a line that began in them, and starts
 * the line over if they changed, so it never shows a partial or a spliced
 * line. At the end of a segment with nothing pending, the reader opens the
 * segment named by its position: if it exists, the old one is sealed and
 * reading goes on there. If the old segment was deleted (st_nlink 0) and
 * no successor starts at the position, retention removed data the reader
 * had not read: an error, or, when asked, a counted and reported skip to
 * the oldest segment.
 *
 * Retention deletes whole segments from the oldest, never the active one:
 * those last written more than retain-age ago, and the oldest while the
 * total exceeds retain-bytes; but not a segment an existing cursor has not
 * read to its end, unless forced (evspool gc --force). It runs under the
 * lock, at each roll-over and from evspool gc, so the segments that remain
 * are always contiguous.
 *
 * Nothing follows a symbolic link inside the spool (O_NOFOLLOW everywhere;
 * a link where a segment should be is an error), and cursor names are
 * validated (cursor.c).
 */
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
#include "base/dur.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/replace.h"
#include "spool/spool.h"
#include "io/watch.h"
#include "base/compat.h"

#define MAGIC "evkit-spool"
#define SEGNAME_LEN 23 /* 16 hex digits + ".ndjson" */
#define SCANBUF (64 * 1024)
#define READBUF (256 * 1024)

struct ev_spool_counters ev_spool_ctr;

struct ev_spool {
	char *path;
	int dirfd, segdir, curdir, lockfd;
	struct ev_spool_conf conf;
	char *segpath, *curpath; /* "DIR/segments", "DIR/cursors", for messages */
	/* writer */
	int wfd;        /* the active segment as last seen, or -1 */
	uint64_t wbase;
	int wdirty;     /* written since the last fdatasync */
	uint64_t wkick; /* bytes written since writeback was last started */
};

static void
segname(char buf[SEGNAME_LEN + 1], uint64_t base)
{
	snprintf(buf, SEGNAME_LEN + 1, "%016" PRIx64 ".ndjson", base);
}

/* 1 and *base if name is a segment name; else 0. */
static int
parse_segname(const char *name, uint64_t *base)
{
	uint64_t v = 0;

	if (strlen(name) != SEGNAME_LEN || strcmp(name + 16, ".ndjson") != 0)
		return 0;
	for (int i = 0; i < 16; i++) {
		int c = name[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return 0;
		v = v << 4 | (uint64_t)d;
	}
	*base = v;
	return 1;
}

static mode_t
dirmode(mode_t m)
{
	return m | (m & 0444) >> 2;
}

void
ev_spool_conf_default(struct ev_spool_conf *c)
{
	mode_t um = umask(0);

	umask(um);
	c->segment_bytes = EV_SPOOL_SEGMENT_BYTES;
	c->retain_ms = 0;
	c->retain_bytes = 0;
	c->mode = 0666 & ~um & ~(mode_t)0002;
}

static void
conf_format(const struct ev_spool_conf *c, struct ev_buf *b)
{
	ev_buf_printf(b, "%s %d\nsegment-bytes %" PRIu64 "\nretain-age %" PRId64
	    "\nretain-bytes %" PRIu64 "\nmode %04o\n", MAGIC, EV_SPOOL_VERSION,
	    c->segment_bytes, c->retain_ms, c->retain_bytes, (unsigned)c->mode);
}

static int
conf_parse(char *text, struct ev_spool_conf *c, const char *path)
{
	char *line, *save = NULL;
	int no = 0;

	memset(c, 0, sizeof *c);
	c->segment_bytes = EV_SPOOL_SEGMENT_BYTES;
	c->mode = 0640;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[32], *val, *end;
		uintmax_t v;

		no++;
		val = strchr(line, ' ');
		if (!val || (size_t)(val - line) >= sizeof key)
			goto bad;
		memcpy(key, line, (size_t)(val - line));
		key[val - line] = '\0';
		val++;
		errno = 0;
		v = strtoumax(val, &end, strcmp(key, "mode") == 0 ? 8 : 10);
		if (!isdigit((unsigned char)*val) || *end || errno || v > INT64_MAX)
			goto bad;
		if (no == 1) {
			if (strcmp(key, MAGIC) != 0)
				goto bad;
			if (v != EV_SPOOL_VERSION) {
				ev_warn("%s: spool format version %ju; this evkit reads version %d",
				    path, v, EV_SPOOL_VERSION);
				errno = EINVAL;
				return -1;
			}
		} else if (strcmp(key, "segment-bytes") == 0 && v > 0) {
			c->segment_bytes = v;
		} else if (strcmp(key, "retain-age") == 0) {
			c->retain_ms = (int64_t)v;
		} else if (strcmp(key, "retain-bytes") == 0) {
			c->retain_bytes = v;
		} else if (strcmp(key, "mode") == 0 && v <= 0777) {
			c->mode = (mode_t)v;
		} else {
			goto bad;
		}
	}
	if (no == 0)
		goto bad;
	return 0;
bad:
	ev_warn("%s:%d: not a spool format marker or setting", path, no ? no : 1);
	errno = EINVAL;
	return -1;
}

static int
lookup_group(const char *group, gid_t *gid)
{
	struct group *g = getgrnam(group);
	char *end;
	unsigned long v;

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	v = strtoul(group, &end, 10);
	if (*group && !*end) {
		*gid = (gid_t)v;
		return 0;
	}
	ev_warn("%s: no such group", group);
	errno = EINVAL;
	return -1;
}

/* mkdir (or adopt an existing directory) and open it. */
static int
mkdir_open(int at, const char *name, const char *path)
{
	int fd;

	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST) {
		ev_warn("%s: cannot create directory:", path);
		return -1;
	}
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		ev_warn("%s: cannot open directory:", path);
	return fd;
}

/* Give a spool directory its group and mode. */
static int
own_dir(int fd, const char *path, mode_t mode, gid_t gid, int setgid)
{
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) {
		ev_warn("%s: cannot change group:", path);
		return -1;
	}
	if (fchmod(fd, dirmode(mode) | (setgid ? S_ISGID : 0)) < 0) {
		ev_warn("%s: cannot change mode:", path);
		return -1;
	}
	return 0;
}

/* A subdirectory of a new spool. */
static int
mkdir_owned(int at, const char *name, const char *path, mode_t mode, gid_t gid, int setgid)
{
	int fd = mkdir_open(at, name, path);

	if (fd >= 0 && own_dir(fd, path, mode, gid, setgid) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
isempty(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *e;
	int empty = 1;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* Create a file in dirfd with the spool's mode; umask does not apply. */
static int
create_file(int dirfd, const char *name, const char *path, mode_t mode, int flags)
{
	int fd = openat(dirfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0) {
		ev_warn("%s: cannot create:", path);
		return -1;
	}
	if (fchmod(fd, mode) < 0) {
		ev_warn("%s: cannot change mode:", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
ev_spool_init(const char *dir, const struct ev_spool_conf *c, const char *group)
{
	gid_t gid = (gid_t)-1;
	int top = -1, seg = -1, cur = -1, fd, r = -1;
	struct ev_buf b = { 0 }, p = { 0 };
	char name[SEGNAME_LEN + 1];

	if (group && lookup_group(group, &gid) < 0)
		return -1;
	if ((top = mkdir_open(AT_FDCWD, dir, dir)) < 0)
		return -1;
	if (faccessat(top, "SPOOL", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		ev_warn("%s: already a spool", dir);
		errno = EEXIST;
		goto out;
	}
	if (!isempty(top)) {
		ev_warn("%s: not empty, and not a spool: refusing to make it one", dir);
		errno = ENOTEMPTY;
		goto out;
	}
	if (own_dir(top, dir, c->mode, gid, group != NULL) < 0)
		goto out;
	ev_buf_printf(&p, "%s/segments", dir);
	if ((seg = mkdir_owned(top, "segments", p.p, c->mode, gid, group != NULL)) < 0)
		goto out;
	ev_buf_reset(&p);
	ev_buf_printf(&p, "%s/cursors", dir);
	if ((cur = mkdir_owned(top, "cursors", p.p, c->mode, gid, group != NULL)) < 0)
		goto out;
	ev_buf_reset(&p);
	ev_buf_printf(&p, "%s/lock", dir);
	if ((fd = create_file(top, "lock", p.p, c->mode, O_WRONLY)) < 0)
		goto out;
	close(fd);
	segname(name, 0);
	ev_buf_reset(&p);
	ev_buf_printf(&p, "%s/segments/%s", dir, name);
	if ((fd = create_file(seg, name, p.p, c->mode, O_WRONLY)) < 0)
		goto out;
	close(fd);
	if (fsync(seg) < 0 || fsync(cur) < 0) {
		ev_warn("%s: fsync:", dir);
		goto out;
	}
	conf_format(c, &b);
	r = ev_replace(top, dir, "SPOOL", b.p, b.len, c->mode, 0);
out:
	if (seg >= 0)
		close(seg);
	if (cur >= 0)
		close(cur);
	close(top);
	ev_buf_free(&b);
	ev_buf_free(&p);
	return r;
}

static int
opendirat(int at, const char *name, const char *path)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			ev_warn("%s: not a directory (a symbolic link is not followed)", path);
		else
			ev_warn("%s: cannot open directory:", path);
	}
	return fd;
}

struct ev_spool *
ev_spool_open(const char *dir, int flags)
{
	struct ev_spool *sp = ev_calloc(1, sizeof *sp);
	struct ev_buf b = { 0 }, p = { 0 };
	char buf[4096];
	ssize_t n;
	int fd;

	sp->dirfd = sp->segdir = sp->curdir = sp->lockfd = sp->wfd = -1;
	sp->path = ev_strdup(dir);
	ev_buf_printf(&b, "%s/segments", dir);
	sp->segpath = ev_strdup(b.p);
	ev_buf_reset(&b);
	ev_buf_printf(&b, "%s/cursors", dir);
	sp->curpath = ev_strdup(b.p);
	ev_buf_reset(&b);
	if ((sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot open spool:", dir);
		goto fail;
	}
	ev_buf_printf(&p, "%s/SPOOL", dir);
	if ((fd = openat(sp->dirfd, "SPOOL", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			ev_warn("%s: not a spool (no SPOOL file; make one with evspool init)", dir);
		else
			ev_warn("%s: cannot open for reading:", p.p);
		goto fail;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		ev_warn("%s: read:", p.p);
		goto fail;
	}
	buf[n] = '\0';
	if (conf_parse(buf, &sp->conf, p.p) < 0)
		goto fail;
	if ((sp->segdir = opendirat(sp->dirfd, "segments", sp->segpath)) < 0 ||
	    (sp->curdir = opendirat(sp->dirfd, "cursors", sp->curpath)) < 0)
		goto fail;
	if (flags & EV_SPOOL_WRITE) {
		ev_buf_reset(&p);
		ev_buf_printf(&p, "%s/lock", dir);
		if ((sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			ev_warn("%s: cannot open for writing:", p.p);
			goto fail;
		}
	}
	ev_buf_free(&b);
	ev_buf_free(&p);
	return sp;
fail:
	ev_buf_free(&b);
	ev_buf_free(&p);
	ev_spool_close(sp);
	return NULL;
}

void
ev_spool_close(struct ev_spool *sp)
{
	int err = errno;

	if (!sp)
		return;
	if (sp->wfd >= 0)
		close(sp->wfd);
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	if (sp->segdir >= 0)
		close(sp->segdir);
	if (sp->curdir >= 0)
		close(sp->curdir);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->path);
	free(sp->segpath);
	free(sp->curpath);
	free(sp);
	errno = err;
}

const char *ev_spool_path(const struct ev_spool *sp) { return sp->path; }
const struct ev_spool_conf *ev_spool_getconf(const struct ev_spool *sp) { return &sp->conf; }

/* Open segment base read-only (or for appending), refusing anything but a regular file. */
static int openseg(struct ev_spool *sp, uint64_t base, int flags);

int
ev_spool_segment_open(struct ev_spool *sp, uint64_t base)
{
	return openseg(sp, base, O_RDONLY);
}

static int
openseg(struct ev_spool *sp, uint64_t base, int flags)
{
	char name[SEGNAME_LEN + 1];
	struct stat st;
	int fd;

	segname(name, base);
	if ((fd = openat(sp->segdir, name, flags | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ELOOP) {
			ev_warn("%s/%s: a symbolic link, not a segment: refusing it", sp->segpath, name);
			errno = ELOOP;
		} else if (errno != ENOENT) {
			ev_warn("%s/%s: cannot open %s:", sp->segpath, name,
			    (flags & O_ACCMODE) != O_RDONLY ? "for appending" : "for reading");
		}
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ev_warn("%s/%s: not a regular file: refusing it", sp->segpath, name);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	ev_spool_ctr.segopens++;
	return fd;
}

static int
cmpseg(const void *a, const void *b)
{
	const struct ev_spool_seg *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

int
ev_spool_segments(struct ev_spool *sp, struct ev_spool_seg **segs, size_t *n)
{
	int fd = dup(sp->segdir);
	DIR *d;
	struct dirent *e;
	struct ev_spool_seg *v = NULL;
	size_t k = 0;
	uint64_t base;

	if (fd < 0 || !(d = fdopendir(fd))) {
		ev_warn("%s: cannot list:", sp->segpath);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((errno = 0, e = readdir(d))) {
		struct stat st;

		if (!parse_segname(e->d_name, &base))
			continue;
		if (fstatat(sp->segdir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) /* retention, just now */
				continue;
			ev_warn("%s/%s: stat:", sp->segpath, e->d_name);
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			ev_warn("%s/%s: %s, not a segment: refusing it", sp->segpath, e->d_name,
			    S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
			errno = EINVAL;
			goto fail;
		}
		v = ev_reallocarray(v, k + 1, sizeof *v);
		v[k].base = base;
		v[k].size = (uint64_t)st.st_size;
		v[k].mtime_ms = (int64_t)st.st_mtime * 1000; /* seconds do for retention */
		k++;
	}
	if (errno) {
		ev_warn("%s: cannot list:", sp->segpath);
		goto fail;
	}
	closedir(d);
	if (k == 0) {
		ev_warn("%s: no segments: the spool is damaged", sp->segpath);
		free(v);
		errno = EINVAL;
		return -1;
	}
	qsort(v, k, sizeof *v, cmpseg);
	*segs = v;
	*n = k;
	return 0;
fail:
	closedir(d);
	free(v);
	return -1;
}

/* The offset just after the last '\n' in fd's first size bytes, or 0. */
static int
last_newline(int fd, uint64_t size, uint64_t *after)
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
		ev_spool_ctr.bytesread += n;
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
static int
repair(struct ev_spool *sp, int fd, uint64_t base, uint64_t *size, int mine)
{
	char c, name[SEGNAME_LEN + 1];
	uint64_t keep;

	if (*size == 0)
		return 0;
	if (pread(fd, &c, 1, (off_t)(*size - 1)) == 1 && c == '\n')
		return 0;
	segname(name, base);
	if (last_newline(fd, *size, &keep) < 0) {
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

static int
lock(struct ev_spool *sp, int op)
{
	while (flock(sp->lockfd, op) < 0) {
		if (errno != EINTR) {
			ev_warn("%s/lock: flock:", sp->path);
			return -1;
		}
	}
	return 0;
}

static int gc_locked(struct ev_spool *sp, int force, struct ev_spool_gc *res);

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
	if ((sp->wfd = openseg(sp, sp->wbase, O_RDWR | O_APPEND)) < 0)
		return -1;
	return 0;
}

static int
wsync(struct ev_spool *sp)
{
	char name[SEGNAME_LEN + 1];

	if (!sp->wdirty || sp->wfd < 0)
		return 0;
	if (fdatasync(sp->wfd) < 0) {
		segname(name, sp->wbase);
		ev_warn("%s/%s: fdatasync:", sp->segpath, name);
		return -1;
	}
	ev_spool_ctr.syncs++;
	sp->wdirty = 0;
	return 0;
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

	if (wsync(sp) < 0)
		return -1;
	if ((fd = openseg(sp, next, O_RDWR | O_APPEND)) < 0) {
		if (errno != ENOENT)
			return -1;
		segname(name, next);
		ev_buf_printf(&p, "%s/%s", sp->segpath, name);
		fd = create_file(sp->segdir, name, p.p, sp->conf.mode, O_RDWR | O_APPEND);
		ev_buf_free(&p);
		if (fd < 0)
			return -1;
		if (fsync(sp->segdir) < 0) {
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
		return gc_locked(sp, 0, &res);
	}
	return 0;
}

/* Writer, holding the lock: the active segment, repaired and not full. */
static int
active(struct ev_spool *sp, uint64_t *size)
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
		if (repair(sp, sp->wfd, sp->wbase, size, 0) < 0)
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
	uint64_t size;
	size_t off = 0;
	int err;

	if (len == 0)
		return 0;
	if (lock(sp, LOCK_EX) < 0)
		return -1;
	if (active(sp, &size) < 0)
		goto fail;
	sp->wdirty = 1;
	while (off < len) {
		ssize_t n = write(sp->wfd, buf + off, len - off);
		if (n < 0) {
			char name[SEGNAME_LEN + 1];
			if (errno == EINTR)
				continue;
			err = errno;
			segname(name, sp->wbase);
			ev_warn("%s/%s: write:", sp->segpath, name);
			size += off;
			repair(sp, sp->wfd, sp->wbase, &size, 1); /* end at a line boundary again */
			errno = err;
			goto fail;
		}
		off += (size_t)n;
	}
	kick(sp, size + len, len);
	if (!nosync && wsync(sp) < 0)
		goto fail;
	if (lock(sp, LOCK_UN) < 0)
		return -1;
	return 0;
fail:
	err = errno;
	lock(sp, LOCK_UN);
	errno = err;
	return -1;
}

int
ev_spool_sync(struct ev_spool *sp)
{
	return wsync(sp);
}

/* Positions. */

/* The offset after the last complete line of the spool. */
static uint64_t
segs_end(struct ev_spool *sp, const struct ev_spool_seg *last, int *err)
{
	uint64_t after = 0;
	int fd;

	*err = 0;
	if (last->size == 0)
		return last->base;
	if ((fd = openseg(sp, last->base, O_RDONLY)) < 0) {
		*err = 1;
		return 0;
	}
	if (last_newline(fd, last->size, &after) < 0) {
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
	*pos = segs_end(sp, &segs[n - 1], &err);
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
	end = segs_end(sp, &segs[n - 1], &err);
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
		if ((fd = openseg(sp, segs[i].base, O_RDONLY)) < 0)
			goto fail;
		while (hi > segs[i].base) {
			uint64_t lo = hi - segs[i].base > sizeof buf ? hi - sizeof buf : segs[i].base;
			size_t k = (size_t)(hi - lo);
			if (pread(fd, buf, k, (off_t)(lo - segs[i].base)) != (ssize_t)k) {
				ev_warn("%s: read:", sp->segpath);
				close(fd);
				goto fail;
			}
			ev_spool_ctr.bytesread += k;
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
	    (i == n - 1 && pos > segs_end(sp, &segs[i], &err))) {
		ev_warn("%s: position %" PRIu64 " is past the end of the spool", sp->path, pos);
		errno = ERANGE;
		goto out;
	}
	if (pos == segs[i].base) {
		r = 0;
		goto out;
	}
	if ((fd = openseg(sp, segs[i].base, O_RDONLY)) < 0)
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

/* Cursors. */

int
ev_spool_cursor_get(struct ev_spool *sp, const char *name, uint64_t *pos)
{
	return ev_cursor_get(sp->curdir, sp->curpath, name, pos);
}

int
ev_spool_cursor_set(struct ev_spool *sp, const char *name, uint64_t pos)
{
	return ev_cursor_set(sp->curdir, sp->curpath, name, pos, sp->conf.mode, 0);
}

int
ev_spool_cursor_delete(struct ev_spool *sp, const char *name)
{
	int r = ev_cursor_delete(sp->curdir, sp->curpath, name);

	if (r < 0 && errno == ENOENT)
		ev_warn("%s/%s: no such cursor", sp->curpath, name);
	return r;
}

int
ev_spool_cursor_list(struct ev_spool *sp, char ***names, size_t *n)
{
	return ev_cursor_list(sp->curdir, sp->curpath, names, n);
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
	int fd = openseg(r->sp, segs[i].base, O_RDONLY);
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
	if (reader_seek(r, pos) < 0) {
		ev_spool_reader_free(r);
		return NULL;
	}
	return r;
}

uint64_t ev_spool_reader_pos(const struct ev_spool_reader *r) { return r->pos; }
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
still_there(struct ev_spool_reader *r)
{
	size_t k = r->rdmark - r->start;
	ssize_t got;

	ev_buf_reset(&r->vbuf);
	ev_buf_grow(&r->vbuf, k);
	got = pread(r->fd, r->vbuf.p, k, (off_t)(r->pos - r->base));
	ev_spool_ctr.bytesread += got > 0 ? (size_t)got : 0;
	return got == (ssize_t)k && memcmp(r->vbuf.p, r->buf + r->start, k) == 0;
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
		if (parse_segname(e->d_name, &b) && b > base && (!found || b < *next)) {
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
		if ((fd = openseg(r->sp, r->pos, O_RDONLY)) >= 0) {
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

int
ev_spool_reader_next(struct ev_spool_reader *r, struct ev_line *l)
{
	size_t scanned = 0;

	for (;;) {
		char *p = r->buf + r->start;
		char *nl = memchr(p + scanned, '\n', r->end - r->start - scanned);

		if (nl) {
			size_t n = (size_t)(nl - p);
			if (r->start < r->rdmark && !still_there(r)) {
				/* a torn tail we had buffered was replaced: read the line again */
				r->start = r->end = r->rdmark = 0;
				scanned = 0;
				continue;
			}
			size_t len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
			p[len] = '\0';
			l->p = p;
			l->len = len;
			l->partial = 0;
			l->no = ++r->no;
			r->start += n + 1;
			r->pos += n + 1;
			l->pos = r->pos;
			return 1;
		}
		scanned = r->end - r->start;
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
		uint64_t off = r->pos - r->base + r->end;
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
			ev_spool_ctr.bytesread += (size_t)got;
			continue;
		}
		if (r->end > 0) {
			/* An unterminated tail: a write in progress, or torn and about to
			 * be truncated; if it already was, forget what we hold of it. */
			struct stat st;
			if (fstat(r->fd, &st) == 0 && (uint64_t)st.st_size < off) {
				r->end = r->rdmark = 0;
				scanned = 0;
				continue;
			}
			int c = check_sealed(r, r->end);
			if (c <= 0)
				return c;
			continue;
		}
		int a = reader_advance(r);
		if (a <= 0)
			return a;
		scanned = 0;
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

/* Status, check and retention. */

static void
count_newlines(const char *p, size_t n, uint64_t *count)
{
	const char *e = p + n;

	while ((p = memchr(p, '\n', (size_t)(e - p)))) {
		(*count)++;
		p++;
	}
}

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

int
ev_spool_stat(struct ev_spool *sp, struct ev_spool_stat *st)
{
	struct ev_spool_seg *segs;
	char **names;
	size_t n, nc, ci = 0;
	char *buf;
	int err;

	memset(st, 0, sizeof *st);
	st->first_ms = st->last_ms = -1;
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	if (ev_spool_cursor_list(sp, &names, &nc) < 0) {
		free(segs);
		return -1;
	}
	st->segments = n;
	st->start = segs[0].base;
	st->end = segs_end(sp, &segs[n - 1], &err);
	st->torn = segs[n - 1].base + segs[n - 1].size - st->end;
	st->bytes = st->end - st->start;
	st->cursors = ev_calloc(nc + 1, sizeof *st->cursors);
	for (size_t i = 0; i < nc; i++) {
		struct ev_spool_cursorstat *c = &st->cursors[st->ncursors];
		if (ev_spool_cursor_get(sp, names[i], &c->pos) <= 0)
			continue;
		c->name = names[i];
		names[i] = ev_strdup("");
		c->lost = c->pos < st->start;
		c->lag_bytes = c->pos < st->end ? st->end - (c->lost ? st->start : c->pos) : 0;
		st->ncursors++;
	}
	ev_cursor_list_free(names);
	/* One pass over the data counts the events, and those before each cursor
	 * (kept in lag_events until the end, when it becomes those after it). */
	qsort(st->cursors, st->ncursors, sizeof *st->cursors, cmpcur);
	while (ci < st->ncursors && st->cursors[ci].pos <= st->start)
		st->cursors[ci++].lag_events = 0;
	buf = ev_malloc(READBUF);
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t off = segs[i].base, hi = segs[i].base + segs[i].size;
		int fd;

		if (hi > st->end)
			hi = st->end;
		if (off >= hi)
			continue;
		if ((fd = openseg(sp, segs[i].base, O_RDONLY)) < 0) {
			err = 1;
			break;
		}
		while (off < hi) {
			size_t k = hi - off > READBUF ? READBUF : (size_t)(hi - off);
			if (pread(fd, buf, k, (off_t)(off - segs[i].base)) != (ssize_t)k) {
				ev_warn("%s: read:", sp->segpath);
				err = 1;
				break;
			}
			ev_spool_ctr.bytesread += k;
			for (; ci < st->ncursors && st->cursors[ci].pos <= off + k; ci++) {
				uint64_t before = st->events;
				count_newlines(buf, (size_t)(st->cursors[ci].pos - off), &before);
				st->cursors[ci].lag_events = before;
			}
			count_newlines(buf, k, &st->events);
			off += k;
		}
		close(fd);
	}
	free(buf);
	for (; ci < st->ncursors; ci++)
		st->cursors[ci].lag_events = st->events;
	for (size_t i = 0; i < st->ncursors; i++)
		st->cursors[i].lag_events = st->events - st->cursors[i].lag_events;
	qsort(st->cursors, st->ncursors, sizeof *st->cursors, cmpname);
	free(segs);
	if (err) {
		ev_spool_stat_free(st);
		return -1;
	}
	return 0;
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

		segname(name, segs[i].base);
		if (segs[i].base + segs[i].size != segs[i + 1].base) {
			ev_warn("%s/%s: ends at %" PRIu64 " but the next segment begins at %" PRIu64,
			    sp->segpath, name, segs[i].base + segs[i].size, segs[i + 1].base);
			problems++;
			continue;
		}
		if ((fd = openseg(sp, segs[i].base, O_RDONLY)) < 0) {
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
			if (lock(sp, LOCK_EX) < 0 || active(sp, &size) < 0) {
				ev_spool_stat_free(&st);
				return -1;
			}
			lock(sp, LOCK_UN);
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

static int
gc_locked(struct ev_spool *sp, int force, struct ev_spool_gc *res)
{
	struct ev_spool_seg *segs;
	char **names, name[SEGNAME_LEN + 1];
	size_t n, nc;
	uint64_t total = 0, oldest = UINT64_MAX;
	int64_t now = ev_now_ms();
	int r = 0;

	memset(res, 0, sizeof *res);
	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	if (!force) {
		if (ev_spool_cursor_list(sp, &names, &nc) < 0) {
			free(segs);
			return -1;
		}
		for (size_t i = 0; i < nc; i++) {
			uint64_t pos;
			if (ev_spool_cursor_get(sp, names[i], &pos) == 1 && pos < oldest)
				oldest = pos;
		}
		ev_cursor_list_free(names);
		/* and every consumer group's committed position (its low-water mark) */
		uint64_t low;
		int g = ev_group_lowest(sp, &low);
		if (g < 0) {
			free(segs);
			return -1;
		}
		if (g > 0 && low < oldest)
			oldest = low;
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
		segname(name, segs[i].base);
		if (unlinkat(sp->segdir, name, 0) < 0) {
			ev_warn("%s/%s: cannot delete:", sp->segpath, name);
			r = -1;
			break;
		}
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

	if (lock(sp, LOCK_EX) < 0)
		return -1;
	r = gc_locked(sp, force, res);
	lock(sp, LOCK_UN);
	return r;
}
