/* SPDX-License-Identifier: ISC */
/* gsync.c — group commit across processes: the writers of one spool share
 * their fdatasyncs through SPOOL/sync (ev-spool(5) says the same).
 *
 *     SPOOL/sync                         SPOOL/sync.0 ... sync.3
 *     evkit-sync 1                       (empty: locked by the leader
 *     synced 00000000000000004096         of a sync in flight)
 *     slot 0 00000000000000004096
 *     slot 1 00000000000000000000
 *     slot 2 00000000000000000000
 *     slot 3 00000000000000000000
 *
 * "synced" S (twenty decimal digits, fixed offsets) is a claim: every byte
 * of the spool before global offset S is on disk, in segments whose
 * directory entries are on disk. It is written only after the fdatasync
 * that made it true, and only ever raised, so a lower S (a file new, lost
 * or reset) is always safe: it costs a sync, never an event. "slot K" is
 * the target of the last sync begun in slot K: the offset up to which it
 * makes the spool durable, once it ends.
 *
 * Locks (flock(2), released by the kernel when a holder dies however it
 * dies): SPOOL/sync, exclusive to write it, shared to read it, each time
 * for a moment (so nothing is read torn); sync.K, exclusive for the whole
 * of a sync begun in slot K. Order: sync.K, then SPOOL/lock, then
 * SPOOL/sync; nobody waits for one while holding a later one.
 *
 * A writer whose append ended at E, after releasing SPOOL/lock:
 *   1. reads SPOOL/sync: S >= E, its bytes are durable: done;
 *   2. a slot whose target is at least E is a sync in flight that covers
 *      it (or one that ended): it waits for a shared lock on sync.K, reads
 *      S again, and is done if S >= E (if that leader died or failed, S is
 *      what it was, and the writer goes on);
 *   3. it leads: locks a free slot, if one is free (else it syncs
 *      unannounced); under SPOOL/lock, the size Z of its segment (a torn
 *      tail repaired first, so base + Z ends a line, and no repair ever
 *      removes a byte before it); announces the target T = base + Z in its
 *      slot; if S is at or before its segment's base, fdatasyncs the
 *      earlier segments S does not cover and fsyncs segments/ (a writer
 *      with --sync=none rolls over without them); fdatasyncs its segment,
 *      which holds every byte below T, its own and those of every writer
 *      before it; raises S to T; unlocks its slot.
 * Syncs in different slots run at once (the file system merges them into
 * one journal commit where it can); a writer waits only for a sync that
 * covers it, and at most once. A leader killed at any moment frees its
 * slot with its life, and S is what it was: its followers see that and
 * sync themselves. Nobody believes a claim made before an fdatasync ended.
 *
 * A handle's first sync drops S to 0 if it claims more than the spool
 * holds (a spool restored from an older copy: a claim about other bytes).
 * A writer that cannot open or create these files, or lock or write them
 * (a spool directory it may not write to, a full disk), syncs alone from
 * then on, as format 1 always did.
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


#define SYNC_HEAD "evkit-sync 1\n"
#define SYNC_LINE 28 /* "synced " or "slot K ", twenty digits, '\n' */
#define SYNC_VALS (1 + GSYNC_SLOTS)
#define SYNC_LEN (sizeof SYNC_HEAD - 1 + SYNC_VALS * SYNC_LINE)

static int
lockfd(struct ev_spool *sp, int fd, int op)
{
	int r;

	while ((r = flock(fd, op)) < 0 && errno == EINTR)
		;
	if (r < 0 && errno != EWOULDBLOCK)
		ev_warn("%s/sync: flock:", sp->path);
	return r;
}

/* A line's value, or 0 when it holds none. */
static uint64_t
parseval(const char *p)
{
	uint64_t v = 0;

	for (int i = 7; i < SYNC_LINE - 1; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return p[SYNC_LINE - 1] == '\n' ? v : 0;
}

/* SPOOL/sync: v[0] the claim S, v[1 + K] slot K's target; all 0 when the
 * file is new or not what it should be. */
static int
readstate(struct ev_spool *sp, uint64_t v[SYNC_VALS])
{
	char buf[SYNC_LEN];
	const char *p = buf + sizeof SYNC_HEAD - 1;
	ssize_t n;

	if (lockfd(sp, sp->syncfd, LOCK_SH) < 0)
		return -1;
	n = pread(sp->syncfd, buf, SYNC_LEN, 0);
	lockfd(sp, sp->syncfd, LOCK_UN);
	for (int i = 0; i < SYNC_VALS; i++)
		v[i] = 0;
	if (n != (ssize_t)SYNC_LEN || memcmp(buf, SYNC_HEAD, sizeof SYNC_HEAD - 1) != 0)
		return 0;
	for (int i = 0; i < SYNC_VALS; i++)
		v[i] = parseval(p + i * SYNC_LINE);
	return 0;
}

/* Under the exclusive lock: read, raise v[i] to val (or set it, with
 * force), write the whole file back (mending one new or damaged). The
 * file need not reach the disk: a claim lost is a lower one. Returns the
 * claim S as it now stands in *s. */
static int
setval(struct ev_spool *sp, int i, uint64_t val, int force, uint64_t *s)
{
	char buf[SYNC_LEN + 1];
	uint64_t v[SYNC_VALS];
	size_t n;
	int r = -1;

	if (lockfd(sp, sp->syncfd, LOCK_EX) < 0)
		return -1;
	n = (size_t)pread(sp->syncfd, buf, SYNC_LEN, 0);
	for (int k = 0; k < SYNC_VALS; k++)
		v[k] = n == SYNC_LEN && memcmp(buf, SYNC_HEAD, sizeof SYNC_HEAD - 1) == 0 ?
		    parseval(buf + sizeof SYNC_HEAD - 1 + k * SYNC_LINE) : 0;
	if (force || val > v[i])
		v[i] = val;
	n = (size_t)snprintf(buf, sizeof buf, "%s", SYNC_HEAD);
	n += (size_t)snprintf(buf + n, sizeof buf - n, "synced %020" PRIu64 "\n", v[0]);
	for (int k = 1; k < SYNC_VALS; k++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "slot %d %020" PRIu64 "\n", k - 1, v[k]);
	if (pwrite(sp->syncfd, buf, SYNC_LEN, 0) == (ssize_t)SYNC_LEN)
		r = 0;
	else
		ev_warn("%s/sync: write:", sp->path);
	*s = v[0];
	lockfd(sp, sp->syncfd, LOCK_UN);
	return r;
}

/* Open (or create, with the spool's mode) one of the files. */
static int
openfile(struct ev_spool *sp, const char *name)
{
	struct stat st;
	int fd = openat(sp->dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    sp->conf.mode);
		if (fd >= 0)
			fchmod(fd, sp->conf.mode); /* umask does not apply; only a hint */
		else if (errno == EEXIST)
			fd = openat(sp->dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
gopen(struct ev_spool *sp)
{
	char name[16];

	for (int k = 0; k < GSYNC_SLOTS; k++)
		sp->slotfd[k] = -1;
	sp->gstate = GSYNC_ALONE;
	if ((sp->syncfd = openfile(sp, "sync")) < 0)
		return;
	for (int k = 0; k < GSYNC_SLOTS; k++) {
		snprintf(name, sizeof name, "sync.%d", k);
		if ((sp->slotfd[k] = openfile(sp, name)) < 0)
			return;
	}
	sp->gstate = GSYNC_FRESH;
}

void
spool_gsync_close(struct ev_spool *sp)
{
	if (sp->gstate == GSYNC_UNTRIED)
		return;
	if (sp->syncfd >= 0)
		close(sp->syncfd);
	for (int k = 0; k < GSYNC_SLOTS; k++)
		if (sp->slotfd[k] >= 0)
			close(sp->slotfd[k]);
}

int
spool_syncseg(struct ev_spool *sp)
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

static int
alone(struct ev_spool *sp)
{
	if (spool_syncseg(sp) < 0)
		return -1;
	sp->known = sp->wend;
	return 0;
}

/* The shared files failed us (a lock refused, a full disk): sync alone
 * from now on, which is always correct. */
static int
degrade(struct ev_spool *sp)
{
	sp->gstate = GSYNC_ALONE;
	return alone(sp);
}

/* A handle's first sync: a claim beyond the spool's end is about other
 * bytes; drop it. */
static int
fresh(struct ev_spool *sp)
{
	uint64_t v[SYNC_VALS], end, s;

	if (readstate(sp, v) < 0 || ev_spool_pos_end(sp, &end) < 0)
		return -1;
	if (v[0] > end && setval(sp, 0, 0, 1, &s) < 0)
		return -1;
	sp->gstate = GSYNC_SHARED;
	return 0;
}

/* Under SPOOL/lock: how far our segment goes, in whole lines. */
static int
measure(struct ev_spool *sp, uint64_t *t)
{
	struct stat st;
	uint64_t z;
	int r = -1;

	if (spool_lock(sp, LOCK_EX) < 0)
		return -1;
	if (fstat(sp->wfd, &st) < 0) {
		ev_warn("%s: fstat:", sp->segpath);
		goto out;
	}
	z = (uint64_t)st.st_size;
	if (spool_repair(sp, sp->wfd, sp->wbase, &z, 0) < 0)
		goto out;
	*t = sp->wbase + z;
	r = 0;
out:
	spool_lock(sp, LOCK_UN);
	return r;
}

/* Lead a sync from slot k (-1: none was free). */
static int
lead(struct ev_spool *sp, int k)
{
	uint64_t t, s;

	if (measure(sp, &t) < 0)
		return -1;
	if (setval(sp, k < 0 ? 0 : 1 + k, k < 0 ? 0 : t, k >= 0, &s) < 0)
		return degrade(sp);
	if (s >= sp->wend) { /* a sync that ended while we measured */
		sp->known = s;
		return 0;
	}
	if (s <= sp->wbase && syncbefore(sp, s) < 0)
		return -1;
	if (spool_syncseg(sp) < 0)
		return -1;
	if (setval(sp, 0, t, 0, &s) < 0) /* durable all the same */
		s = t, sp->gstate = GSYNC_ALONE;
	sp->known = s;
	return 0;
}

/* 1 if a sync in flight (or ended) covers our bytes; we waited for it. */
static int
follow(struct ev_spool *sp, const uint64_t v[SYNC_VALS])
{
	uint64_t w[SYNC_VALS];

	for (int k = 0; k < GSYNC_SLOTS; k++) {
		if (v[1 + k] < sp->wend)
			continue;
		if (lockfd(sp, sp->slotfd[k], LOCK_SH) < 0)
			return -1;
		lockfd(sp, sp->slotfd[k], LOCK_UN);
		if (readstate(sp, w) < 0)
			return -1;
		if (w[0] < sp->wend)
			return 0; /* that leader died or failed */
		sp->known = w[0];
		return 1;
	}
	return 0;
}

int
spool_gsync(struct ev_spool *sp)
{
	uint64_t v[SYNC_VALS];
	int k, r;

	if (sp->wfd < 0 || sp->wend <= sp->known)
		return 0;
	if (sp->gstate == GSYNC_UNTRIED)
		gopen(sp);
	if (sp->gstate == GSYNC_ALONE)
		return alone(sp);
	if (sp->gstate == GSYNC_FRESH && fresh(sp) < 0)
		return degrade(sp);
	if (readstate(sp, v) < 0)
		return degrade(sp);
	if (v[0] >= sp->wend) {
		sp->known = v[0];
		return 0;
	}
	if ((r = follow(sp, v)) != 0)
		return r < 0 ? degrade(sp) : 0;
	for (k = 0; k < GSYNC_SLOTS; k++)
		if (lockfd(sp, sp->slotfd[k], LOCK_EX | LOCK_NB) == 0)
			break;
	r = lead(sp, k < GSYNC_SLOTS ? k : -1);
	if (k < GSYNC_SLOTS)
		lockfd(sp, sp->slotfd[k], LOCK_UN);
	return r;
}
