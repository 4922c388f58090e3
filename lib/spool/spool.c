/* SPDX-License-Identifier: ISC */
/* spool.c — durable, ordered, append-only topics in a directory: the format,
 * init and open, cursors by name. append.c writes (repair, roll-over),
 * read.c reads (positions, readers), admin.c is stat, check and gc.
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
 *   sync, sync.0 ... sync.3
 *             the writers' shared syncs (gsync.c): what is known durable,
 *             and the syncs in flight.
 *
 * A position is a global byte offset at a line start; a line's position is
 * the offset just after its '\n'.
 *
 * Writers, for each batch, holding the lock:
 *   1. Repair. If the active segment does not end with '\n', a writer died
 *      in the middle of a write: truncate it after its last '\n'.
 *   2. Roll over. While the active segment holds segment-bytes or more, its
 *      successor is the segment named base + size: open it, creating it
 *      (O_EXCL) if it is not there, and apply retention. A writer that
 *      syncs (batch, always) first syncs the segment it seals, and after
 *      creating the successor, segments/, so a segment is complete on disk
 *      before its successor exists; one with --sync=none syncs neither (a
 *      system crash may then leave a segment shorter than its successor's
 *      name says; the next syncing writer syncs what it left).
 *   3. One write(2) of whole lines (a batch never spans segments). If it
 *      fails part way (ENOSPC), step 1 again, so the spool still ends at a
 *      line boundary.
 *   4. Release the lock; then, unless the caller syncs later (group
 *      commit) or never, make the batch durable with the other writers:
 *      one fdatasync covers every batch before it (gsync.c).
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
#include "base/time.h"
#include "base/err.h"
#include "base/safeopen.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/replace.h"
#include "spool/spool.h"
#include "io/watch.h"
#include "base/compat.h"
#include "spool/private.h"

const struct ev_loc_counts *
ev_spool_counts(const struct ev_spool *sp)
{
	return &sp->ctr;
}

void
spool_segname(char buf[SEGNAME_LEN + 1], uint64_t base)
{
	snprintf(buf, SEGNAME_LEN + 1, "%016" PRIx64 ".ndjson", base);
}

/* 1 and *base if name is a segment name; else 0. */
int
spool_parse_segname(const char *name, uint64_t *base)
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
int
spool_create_file(int dirfd, const char *name, const char *path, mode_t mode, int flags)
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
	if ((fd = spool_create_file(top, "lock", p.p, c->mode, O_WRONLY)) < 0)
		goto out;
	close(fd);
	spool_segname(name, 0);
	ev_buf_reset(&p);
	ev_buf_printf(&p, "%s/segments/%s", dir, name);
	if ((fd = spool_create_file(seg, name, p.p, c->mode, O_WRONLY)) < 0)
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

	sp->dirfd = sp->segdir = sp->curdir = sp->lockfd = sp->wfd = sp->syncfd = sp->cfd = -1;
	sp->nosync = (flags & EV_SPOOL_NOSYNC) != 0;
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
	if ((fd = ev_open_regular(sp->dirfd, "SPOOL", O_RDONLY)) < 0) {
		if (errno == ENOENT)
			ev_warn("%s: not a spool (no SPOOL file; make one with evspool init)", dir);
		else
			ev_warn("%s: cannot open for reading: %s", p.p, ev_open_why(errno));
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
		if ((sp->lockfd = ev_open_regular(sp->dirfd, "lock", O_RDWR)) < 0) {
			ev_warn("%s: cannot open for writing: %s", p.p, ev_open_why(errno));
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
	spool_segcount_close(sp);
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	spool_gsync_close(sp);
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

int
ev_spool_segment_open(struct ev_spool *sp, uint64_t base)
{
	return spool_openseg(sp, base, O_RDONLY);
}

int
spool_openseg(struct ev_spool *sp, uint64_t base, int flags)
{
	char name[SEGNAME_LEN + 1];
	int fd;

	spool_segname(name, base);
	if ((fd = ev_open_regular(sp->segdir, name, flags)) < 0) {
		int err = errno;
		if (err == ELOOP || err == EFTYPE_EV)
			ev_warn("%s/%s: %s, not a segment: refusing it", sp->segpath, name,
			    ev_open_why(err));
		else if (err != ENOENT)
			ev_warn("%s/%s: cannot open %s:", sp->segpath, name,
			    (flags & O_ACCMODE) != O_RDONLY ? "for appending" : "for reading");
		errno = err;
		return -1;
	}
	sp->ctr.segopens++;
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

		if (!spool_parse_segname(e->d_name, &base))
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

