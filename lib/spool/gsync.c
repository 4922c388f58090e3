/* SPDX-License-Identifier: ISC */
/* gsync.c — group commit across processes: the writers of one spool share
 * their fdatasyncs through SPOOL/sync, a sync leader's covering them all.
 *
 * The file SPOOL/sync (ev-spool(5) says the same, and the two agree):
 *
 *     evkit-sync 1
 *     synced 00000000000000004096
 *
 * "synced" S, twenty decimal digits at a fixed offset, is a claim: every
 * byte of the spool before global offset S is on disk, in segments whose
 * directory entries are on disk. It is only ever written with a claim that
 * is true, after the fdatasync that made it so, so a lower S (a file that
 * is new, lost, reset or stale) is always safe: it costs a sync, never an
 * event. Only a higher one would lie, and nothing writes one.
 *
 * Locks: a flock(2) on SPOOL/sync, taken before SPOOL/lock if both are
 * held (never the other way round, so no deadlock):
 *   - exclusive: the sync leader, while it syncs and writes S;
 *   - shared: a writer that waits for the sync in progress, and reads S.
 * S is read and written only under one of them, so never torn.
 *
 * A writer whose append ended at E (after releasing SPOOL/lock):
 *   1. shared lock (waits for a leader at work), read S, unlock; S >= E:
 *      its bytes are durable, done;
 *   2. exclusive lock; read S again; S >= E: done (a leader came first);
 *   3. it leads: under SPOOL/lock, the size Z of its segment (repairing a
 *      torn tail first, so Z ends at a line boundary: the bytes are whole
 *      lines a repair never removes); then, if S is at or before its
 *      segment's base, fdatasync of the earlier segments S still needs and
 *      fsync of segments/ (a writer with --sync=none rolled over without
 *      them); fdatasync of its segment, which holds every byte below
 *      base + Z, its own and those of every writer who appended before it;
 *      S = base + Z; unlock.
 * A leader killed at any moment loses its flock with its life: the
 * waiters' shared locks are granted, S is what it was, and one of them
 * leads. A waiter therefore waits at most for one sync and then for its
 * own, and believes only a claim made after an fdatasync returned.
 *
 * A handle's first sync takes the exclusive lock and, under SPOOL/lock,
 * lowers S to the spool's end if it claims more (a spool restored from an
 * older copy): after that, every S written is a true claim about this
 * spool's bytes. A writer that cannot open or create SPOOL/sync (a spool
 * directory it may not write) syncs alone, as format 1 always did.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/compat.h"
#include "spool/spool.h"
#include "spool/private.h"

#define SYNC_HEAD "evkit-sync 1\nsynced "
#define SYNC_DIGITS 20
#define SYNC_OFF (sizeof SYNC_HEAD - 1)
#define SYNC_LEN (SYNC_OFF + SYNC_DIGITS + 1)

static int
gflock(struct ev_spool *sp, int op)
{
	while (flock(sp->syncfd, op) < 0) {
		if (errno != EINTR) {
			ev_warn("%s/sync: flock:", sp->path);
			return -1;
		}
	}
	return 0;
}

/* The claim in SPOOL/sync; 0 (nothing claimed) when it holds none. */
static uint64_t
readclaim(struct ev_spool *sp)
{
	char buf[SYNC_LEN + 1];
	uint64_t v = 0;

	if (pread(sp->syncfd, buf, SYNC_LEN, 0) != (ssize_t)SYNC_LEN ||
	    memcmp(buf, SYNC_HEAD, SYNC_OFF) != 0 || buf[SYNC_LEN - 1] != '\n')
		return 0;
	for (size_t i = SYNC_OFF; i < SYNC_OFF + SYNC_DIGITS; i++) {
		if (buf[i] < '0' || buf[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	return v;
}

/* Write the whole file, so that a file that is new or damaged is whole
 * again; the claim need not reach the disk (a lost one is a lower one). */
static int
writeclaim(struct ev_spool *sp, uint64_t s)
{
	char buf[SYNC_LEN + 1];

	snprintf(buf, sizeof buf, "%s%0*" PRIu64 "\n", SYNC_HEAD, SYNC_DIGITS, s);
	if (pwrite(sp->syncfd, buf, SYNC_LEN, 0) != (ssize_t)SYNC_LEN) {
		ev_warn("%s/sync: write:", sp->path);
		return -1;
	}
	return 0;
}

/* Open SPOOL/sync, creating it (with the spool's mode) if need be. */
static void
gopen(struct ev_spool *sp)
{
	struct stat st;
	int fd = openat(sp->dirfd, "sync", O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		fd = openat(sp->dirfd, "sync", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    sp->conf.mode);
		if (fd >= 0)
			fchmod(fd, sp->conf.mode); /* umask does not apply; only a hint */
		else if (errno == EEXIST)
			fd = openat(sp->dirfd, "sync", O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	sp->syncfd = fd;
	sp->gstate = fd >= 0 ? GSYNC_FRESH : GSYNC_ALONE;
}

/* fdatasync of our segment, counted. */
static int
syncseg(struct ev_spool *sp)
{
	char name[SEGNAME_LEN + 1];

	if (fdatasync(sp->wfd) < 0) {
		spool_segname(name, sp->wbase);
		ev_warn("%s/%s: fdatasync:", sp->segpath, name);
		return -1;
	}
	sp->ctr.syncs++;
	return 0;
}

/* The leader, S at or before its segment's base: the earlier segments that
 * hold bytes at or after S, then the directory that names them all. */
static int
syncbefore(struct ev_spool *sp, uint64_t s)
{
	struct ev_spool_seg *segs;
	size_t n;
	int r = 0;

	if (ev_spool_segments(sp, &segs, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && r == 0 && segs[i].base < sp->wbase; i++) {
		if (segs[i].base + segs[i].size <= s)
			continue;
		int fd = spool_openseg(sp, segs[i].base, O_RDONLY);
		if (fd < 0) /* retention took it: nothing to keep */
			continue;
		if (fdatasync(fd) < 0) {
			ev_warn("%s: fdatasync of a segment:", sp->segpath);
			r = -1;
		}
		close(fd);
	}
	free(segs);
	if (r == 0 && fsync(sp->segdir) < 0) {
		ev_warn("%s: fsync:", sp->segpath);
		r = -1;
	}
	return r;
}

/* Leader, holding the exclusive lock, knowing S: under SPOOL/lock, how far
 * our segment goes (whole lines), and, the first time, S lowered to the
 * spool's end if it claims more. */
static int
measure(struct ev_spool *sp, uint64_t *s, uint64_t *z)
{
	struct stat st;
	uint64_t end;
	int r = -1;

	if (spool_lock(sp, LOCK_EX) < 0)
		return -1;
	if (fstat(sp->wfd, &st) < 0) {
		ev_warn("%s: fstat:", sp->segpath);
		goto out;
	}
	*z = (uint64_t)st.st_size;
	if (spool_repair(sp, sp->wfd, sp->wbase, z, 0) < 0)
		goto out;
	if (sp->gstate == GSYNC_FRESH) {
		if (ev_spool_pos_end(sp, &end) < 0)
			goto out;
		if (*s > end && writeclaim(sp, end) < 0)
			goto out;
		if (*s > end)
			*s = end;
		sp->gstate = GSYNC_SHARED;
	}
	r = 0;
out:
	spool_lock(sp, LOCK_UN);
	return r;
}

/* Leader, holding the exclusive lock. */
static int
lead(struct ev_spool *sp, uint64_t s)
{
	uint64_t z, t;

	if (measure(sp, &s, &z) < 0)
		return -1;
	t = sp->wbase + z;
	if (s >= sp->wend) { /* the claim, lowered, still covers us */
		sp->known = s;
		return 0;
	}
	if (s <= sp->wbase && syncbefore(sp, s) < 0)
		return -1;
	if (syncseg(sp) < 0)
		return -1;
	if (t > s && writeclaim(sp, t) < 0)
		return -1;
	sp->known = t > s ? t : s;
	return 0;
}

/* Wait for a leader at work; 1 if its claim covers our bytes. */
static int
covered(struct ev_spool *sp)
{
	uint64_t s;

	if (gflock(sp, LOCK_SH) < 0)
		return -1;
	s = readclaim(sp);
	if (gflock(sp, LOCK_UN) < 0)
		return -1;
	if (s < sp->wend)
		return 0;
	sp->known = s;
	return 1;
}

int
spool_gsync(struct ev_spool *sp)
{
	uint64_t s;
	int r;

	if (sp->wfd < 0 || sp->wend <= sp->known)
		return 0;
	if (sp->gstate == GSYNC_UNTRIED)
		gopen(sp);
	if (sp->gstate == GSYNC_ALONE) {
		if (syncseg(sp) < 0)
			return -1;
		sp->known = sp->wend;
		return 0;
	}
	if (sp->gstate == GSYNC_SHARED && (r = covered(sp)) != 0)
		return r < 0 ? -1 : 0;
	if (gflock(sp, LOCK_EX) < 0)
		return -1;
	s = readclaim(sp);
	if (s >= sp->wend && sp->gstate == GSYNC_SHARED) {
		sp->known = s;
		r = 0;
	} else {
		r = lead(sp, s);
	}
	if (gflock(sp, LOCK_UN) < 0)
		return -1;
	return r;
}
