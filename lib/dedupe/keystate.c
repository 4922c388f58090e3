/* SPDX-License-Identifier: ISC */
/* keystate.c — the evdedupe state file.
 *
 * Format (version 1; every integer in the writing machine's byte order,
 * which the header records):
 *
 *   header, 32 bytes:
 *     magic    8  "EVDEDUP\0"
 *     version  4  1
 *     order    4  0x01020304 as written (another machine's order is refused)
 *     keydef   8  XXH3-64 of the key definition ("source+id", or the --key
 *                 expression prefixed with "jq:"): a file made for another
 *                 key is refused
 *     check    8  XXH3-64 of the 24 bytes before it
 *   then records, each:
 *     magic    4  0x52444b45 ("EKDR" read little-endian)
 *     n        4  0 to 65536 keys (0: the clock moved, no key was added)
 *     clock    8  the set's clock when the record was written (Unix ms)
 *     keys     24 * n: hash low 64 bits, hash high 64 bits, time (Unix ms)
 *     check    8  XXH3-64 of the record up to here
 *
 * Writing. A commit appends one record holding the keys added since the
 * previous commit (or, if none was but the clock moved, an empty record,
 * so that a restarted run forgets what an uninterrupted one would have), with one pwrite(2) at the end of the last good record,
 * then fdatasync(2) (unless --sync none). A run that is killed part-way
 * leaves at most one incomplete record at the end. When the file holds more
 * than twice the keys remembered (and at least COMPACT_MIN), a commit
 * rewrites it: the remembered keys, oldest first, into FILE.tmp, fsync,
 * rename over FILE, fsync the directory; a crash leaves the old file or the
 * new one, both complete.
 *
 * Loading replays the records in order through ev_keyset_put() (so the
 * windows of this run apply) and stops at the first record that is
 * incomplete or fails its check. An incomplete last record, or zero bytes
 * to the end of the file (blocks a power loss left unwritten), are the
 * normal trace of a crash in the middle of an append: the file is
 * truncated there, silently, so the next append follows a good record.
 * So is a last record that fails its check (a power loss can leave a
 * block of it unwritten), but that one is reported. Anything else (a
 * record that fails its check with more after it, bytes that are not a
 * record) is damage: the keys of that record and of every record after it
 * would be forgotten, and with them the duplicates they stand for, so the
 * load fails loudly, naming the byte, and leaves the file as it is for the
 * operator to look at (and to truncate, if forgetting is acceptable).
 *
 * Why a file of its own and not an embedded store such as LMDB: the keys
 * live in memory anyway (the hot path must not pay a B-tree lookup per
 * event), so what is on disk only has to be appended to in batches and
 * read back in one pass. A log of fixed 24-byte records does that with one
 * write and one fdatasync per commit, loads 10,000,000 keys in about half
 * a second of sequential reading, and is 240 MB for them; LMDB would add
 * a page-sized copy-on-write write per batch, an index nobody reads, and a
 * map size to configure, for a crash guarantee the checksummed records
 * already give.
 *
 * Locking. The file is flock(2)ed for as long as it is open; a compaction
 * locks FILE.tmp before renaming it, so whatever FILE names is always
 * locked by its one writer, and a second process is refused at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/err.h"
#include "dedupe/keystate.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/compat.h"

#define VERSION 1
#define ORDER 0x01020304u
#define RECMAGIC 0x52444b45u
#define RECMAX 65536
#define COMPACT_MIN 16384
#define READBUF (4 << 20)

static const char filemagic[8] = "EVDEDUP";

struct filehdr {
	char magic[8];
	uint32_t version, order;
	uint64_t keydef, check;
};

struct rechdr {
	uint32_t magic, n;
	int64_t clock;
};

_Static_assert(sizeof(struct filehdr) == 32, "header layout");
_Static_assert(sizeof(struct rechdr) == 16, "record layout");
_Static_assert(sizeof(struct ev_keyent) == 24, "key layout");

struct ev_keystate {
	char *path, *tmppath;
	int fd;
	enum ev_sync sync;
	uint64_t keydef;
	struct ev_keyset *ks;
	struct ev_buf pend;   /* keys noted since the last commit */
	struct ev_buf out;    /* records being written */
	uint64_t end;         /* file size after the last good record */
	uint64_t logged;      /* keys in the file */
	int64_t clock;        /* the clock in the last record */
	size_t loaded;
	int failed;           /* errno of a failed write: the file is no longer ours to extend */
};

static void
mkheader(struct filehdr *h, uint64_t keydef)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, filemagic, sizeof h->magic);
	h->version = VERSION;
	h->order = ORDER;
	h->keydef = keydef;
	h->check = XXH3_64bits(h, offsetof(struct filehdr, check));
}

/* Append records holding keys[0..n) to b. */
static void
addrecords(struct ev_buf *b, const struct ev_keyent *keys, size_t n, int64_t clock)
{
	do {
		size_t k = n < RECMAX ? n : RECMAX;
		struct rechdr h = { RECMAGIC, (uint32_t)k, clock };
		size_t start = b->len;
		ev_buf_add(b, &h, sizeof h);
		if (k > 0)
			ev_buf_add(b, keys, k * sizeof *keys);
		uint64_t check = XXH3_64bits(b->p + start, b->len - start);
		ev_buf_add(b, &check, sizeof check);
		keys += k;
		n -= k;
	} while (n > 0);
}

static int
pwriteall(int fd, const char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int
syncdir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? ev_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : ev_strdup(".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = -1;

	if (fd >= 0) {
		r = fsync(fd);
		if (r < 0 && (errno == EINVAL || errno == EBADF))
			r = 0; /* a directory that cannot be synced (some file systems) */
		close(fd);
	}
	if (r < 0)
		ev_warn("%s: fsync:", dir);
	free(dir);
	return r;
}

/* Lock FILE.tmp, fill it with the header and what body() adds (setting the
 * size), fsync, and rename it over FILE. Returns the new descriptor (locked),
 * or -1. */
static int
replace(struct ev_keystate *st, int (*body)(struct ev_keystate *, int, uint64_t *),
    uint64_t *size)
{
	struct filehdr h;
	struct stat sb;
	int fd = open(st->tmppath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0) {
		ev_warn("%s: cannot create:", st->tmppath);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ev_warn("%s: in use by another process", st->tmppath);
		close(fd);
		return -1;
	}
	if (st->fd >= 0 && fstat(st->fd, &sb) == 0)
		fchmod(fd, sb.st_mode & 07777); /* keep the state's permissions; best effort */
	mkheader(&h, st->keydef);
	if (ftruncate(fd, 0) < 0 || pwriteall(fd, (char *)&h, sizeof h, 0) < 0) {
		ev_warn("%s: write:", st->tmppath);
		goto fail;
	}
	*size = sizeof h;
	if (body && body(st, fd, size) < 0)
		goto fail;
	if (fsync(fd) < 0) {
		ev_warn("%s: fsync:", st->tmppath);
		goto fail;
	}
	if (rename(st->tmppath, st->path) < 0) {
		ev_warn("%s: cannot rename to %s:", st->tmppath, st->path);
		goto fail;
	}
	if (syncdir(st->path) < 0) {
		close(fd);
		return -1;
	}
	return fd;
fail:
	unlink(st->tmppath);
	close(fd);
	return -1;
}

struct dumpctx {
	struct ev_keystate *st;
	int fd;
	uint64_t off;
	int err;
};

static int
flushdump(struct dumpctx *c)
{
	struct ev_keystate *st = c->st;
	size_t n = st->pend.len / sizeof(struct ev_keyent);

	ev_buf_reset(&st->out);
	addrecords(&st->out, (const struct ev_keyent *)st->pend.p, n, ev_keyset_now(st->ks));
	ev_buf_reset(&st->pend);
	if (pwriteall(c->fd, st->out.p, st->out.len, c->off) < 0) {
		c->err = errno;
		ev_warn("%s: write:", st->tmppath);
		return -1;
	}
	c->off += st->out.len;
	return 0;
}

static int
dumpkey(const struct ev_keyent *e, void *arg)
{
	struct dumpctx *c = arg;

	ev_buf_add(&c->st->pend, e, sizeof *e);
	if (c->st->pend.len >= RECMAX * sizeof *e)
		return flushdump(c);
	return 0;
}

/* Write every remembered key to fd (the pending buffer is empty: commit ran). */
static int
dumpall(struct ev_keystate *st, int fd, uint64_t *size)
{
	struct dumpctx c = { st, fd, *size, 0 };

	if (ev_keyset_each(st->ks, dumpkey, &c) < 0 || flushdump(&c) < 0) {
		ev_buf_reset(&st->pend);
		errno = c.err;
		return -1;
	}
	*size = c.off;
	return 0;
}

static int
compact(struct ev_keystate *st)
{
	uint64_t size;
	int fd = replace(st, dumpall, &size);

	if (fd < 0)
		return -1;
	close(st->fd); /* releases the old file's lock; FILE now names the locked new one */
	st->fd = fd;
	st->end = size;
	st->logged = ev_keyset_count(st->ks);
	return 0;
}

/* Read until buf holds want bytes or the file ends; returns bytes held. */
static size_t
fill(int fd, char *buf, size_t have, size_t want, int *err)
{
	while (have < want) {
		ssize_t r = read(fd, buf + have, READBUF - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*err = errno;
			break;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	return have;
}

/* 1 when the file holds only zero bytes from off to size, 0 when not, -1 on
 * a read error. */
static int
zeros(int fd, uint64_t off, uint64_t size)
{
	char buf[4096];

	while (off < size) {
		ssize_t r = pread(fd, buf, sizeof buf, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 1;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i])
				return 0;
		off += (uint64_t)r;
	}
	return 1;
}

/* After load's replay stopped at off: a torn last record is dropped; other
 * damage is refused (unless only zeros follow); what follows off is cut
 * off. 0, or -1 (reported). */
static int
loadend(struct ev_keystate *st, uint64_t off, uint64_t size, const char *damage, int lastbad)
{
	int r;

	if (lastbad)
		ev_warn("%s: bad checksum in the last record, at byte %ju: dropped (the trace of "
		    "a crash during its write)", st->path, (uintmax_t)off);
	else if (damage && (r = zeros(st->fd, off, size)) <= 0) {
		if (r < 0)
			ev_warn("%s: read:", st->path);
		else
			ev_warn("%s: damaged: %s at byte %ju, %ju bytes of keys from there would be "
			    "forgotten; the file is left as it is (truncate it to %ju bytes to go on "
			    "without them)", st->path, damage, (uintmax_t)off, (uintmax_t)(size - off),
			    (uintmax_t)off);
		errno = r < 0 ? errno : EILSEQ;
		return -1;
	}
	if (off < size) {
		if (ftruncate(st->fd, (off_t)off) < 0 || fsync(st->fd) < 0) {
			ev_warn("%s: cannot truncate the damaged end:", st->path);
			return -1;
		}
	}
	return 0;
}

/* Replay the records after the header; sets st->end to the end of the last good one. */
static int
load(struct ev_keystate *st, uint64_t size)
{
	char *buf = ev_malloc(READBUF);
	size_t have = 0, at = 0;
	uint64_t off = sizeof(struct filehdr);
	const char *damage = NULL;
	int err = 0, lastbad = 0;

	ev_keyset_reserve(st->ks, (size_t)((size - off) / sizeof(struct ev_keyent)));
	if (lseek(st->fd, (off_t)off, SEEK_SET) < 0)
		err = errno;
	while (!err) {
		struct rechdr h;
		if (have - at < sizeof h) {
			memmove(buf, buf + at, have - at);
			have = fill(st->fd, buf, have - at, sizeof h, &err);
			at = 0;
			if (have < sizeof h)
				break;
		}
		memcpy(&h, buf + at, sizeof h);
		if (h.magic != RECMAGIC || h.n > RECMAX) {
			damage = "not a record";
			break;
		}
		size_t len = sizeof h + (size_t)h.n * sizeof(struct ev_keyent) + sizeof(uint64_t);
		if (have - at < len) {
			memmove(buf, buf + at, have - at);
			have = fill(st->fd, buf, have - at, len, &err);
			at = 0;
			if (have < len)
				break;
		}
		uint64_t check;
		memcpy(&check, buf + at + len - sizeof check, sizeof check);
		if (XXH3_64bits(buf + at, len - sizeof check) != check) {
			damage = "bad checksum";
			lastbad = off + len == size;
			break;
		}
		/* Records are 8-byte aligned in the file and in buf. */
		ev_keyset_replay(st->ks, (const struct ev_keyent *)(buf + at + sizeof h), h.n);
		ev_keyset_clock(st->ks, h.clock);
		st->clock = h.clock;
		st->loaded += h.n;
		at += len;
		off += len;
	}
	free(buf);
	if (err) {
		errno = err;
		ev_warn("%s: read:", st->path);
		return -1;
	}
	st->end = off;
	st->logged = st->loaded;
	if (loadend(st, off, size, damage, lastbad) < 0)
		return -1;
	st->loaded = ev_keyset_count(st->ks);
	return 0;
}

/* Check the header of an open state file: 0, or -1 after reporting. */
static int
checkheader(struct ev_keystate *st)
{
	struct filehdr h;
	ssize_t r;

	while ((r = pread(st->fd, &h, sizeof h, 0)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		ev_warn("%s: read:", st->path);
		return -1;
	}
	if ((size_t)r < sizeof h || memcmp(h.magic, filemagic, sizeof h.magic) != 0 ||
	    XXH3_64bits(&h, offsetof(struct filehdr, check)) != h.check) {
		ev_warn("%s: not an evdedupe state file", st->path);
		errno = EINVAL;
		return -1;
	}
	if (h.order != ORDER || h.version != VERSION) {
		ev_warn("%s: state file of another %s", st->path,
		    h.order != ORDER ? "byte order" : "version");
		errno = EINVAL;
		return -1;
	}
	if (h.keydef != st->keydef) {
		ev_warn("%s: made with another key: use another state file for this --key",
		    st->path);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void
freestate(struct ev_keystate *st)
{
	if (st->fd >= 0)
		close(st->fd);
	free(st->path);
	free(st->tmppath);
	ev_buf_free(&st->pend);
	ev_buf_free(&st->out);
	free(st);
}

/* Open FILE and lock it; make sure the lock is on what FILE names now. */
static int
openlocked(struct ev_keystate *st)
{
	for (int tries = 0; tries < 10; tries++) {
		struct stat a, b;
		int fd = open(st->path, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			return 0;
		if (fd < 0) {
			ev_warn("%s: cannot open:", st->path);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			ev_warn("%s: in use by another process", st->path);
			close(fd);
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(st->path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			st->fd = fd;
			return 1;
		}
		close(fd); /* replaced while we opened it */
	}
	ev_warn("%s: keeps being replaced", st->path);
	errno = EBUSY;
	return -1;
}

struct ev_keystate *
ev_keystate_open(const char *path, const char *keydef, enum ev_sync sync, struct ev_keyset *ks)
{
	struct ev_keystate *st = ev_calloc(1, sizeof *st);
	struct stat sb;
	int r, err;

	st->fd = -1;
	st->path = ev_strdup(path);
	st->tmppath = ev_malloc(strlen(path) + 5);
	strcpy(st->tmppath, path);
	strcat(st->tmppath, ".tmp");
	st->sync = sync;
	st->keydef = XXH3_64bits(keydef, strlen(keydef));
	st->ks = ks;

	if ((r = openlocked(st)) < 0)
		goto fail;
	if (r == 0 || (fstat(st->fd, &sb) == 0 && sb.st_size == 0)) {
		/* A new state (an empty file counts as one): a complete header first. */
		int fd = replace(st, NULL, &st->end);
		if (fd < 0)
			goto fail;
		if (st->fd >= 0)
			close(st->fd);
		st->fd = fd;
		return st;
	}
	if (fstat(st->fd, &sb) < 0) {
		ev_warn("%s: stat:", path);
		goto fail;
	}
	if (checkheader(st) < 0 || load(st, (uint64_t)sb.st_size) < 0)
		goto fail;
	return st;
fail:
	err = errno;
	freestate(st);
	errno = err;
	return NULL;
}

size_t ev_keystate_loaded(const struct ev_keystate *st) { return st->loaded; }

void
ev_keystate_note(struct ev_keystate *st, const struct ev_keyent *e)
{
	ev_buf_add(&st->pend, e, sizeof *e);
}

int
ev_keystate_commit(void *arg)
{
	struct ev_keystate *st = arg;
	size_t n = st->pend.len / sizeof(struct ev_keyent);

	if (st->failed) {
		errno = st->failed;
		return -1;
	}
	if (n == 0 && ev_keyset_now(st->ks) == st->clock)
		return 0;
	st->clock = ev_keyset_now(st->ks);
	ev_buf_reset(&st->out);
	addrecords(&st->out, (const struct ev_keyent *)st->pend.p, n, st->clock);
	ev_buf_reset(&st->pend);
	if (pwriteall(st->fd, st->out.p, st->out.len, st->end) < 0) {
		ev_warn("%s: write:", st->path);
		goto fail;
	}
	if (st->sync != EV_SYNC_NONE && fdatasync(st->fd) < 0) {
		ev_warn("%s: fdatasync:", st->path);
		goto fail;
	}
	st->end += st->out.len;
	st->logged += n;
	if (st->logged >= COMPACT_MIN && st->logged > 2 * (uint64_t)ev_keyset_count(st->ks) &&
	    compact(st) < 0)
		goto fail;
	return 0;
fail:
	st->failed = errno ? errno : EIO;
	/* Leave no torn record for the next run to drop good ones after. */
	if (ftruncate(st->fd, (off_t)st->end) < 0)
		ev_warn("%s: cannot truncate after a failed write:", st->path);
	errno = st->failed;
	return -1;
}

int
ev_keystate_close(struct ev_keystate *st)
{
	int r = 0;

	if (!st)
		return 0;
	if (close(st->fd) < 0) {
		ev_warn("%s: close:", st->path);
		r = -1;
	}
	st->fd = -1;
	freestate(st);
	return r;
}
