/* SPDX-License-Identifier: ISC */
/* private.h — what the spool's files share: the open spool and segment helpers
 * (private to lib/spool; spool.h is the interface). */
#ifndef EV_SPOOL_PRIVATE_H
#define EV_SPOOL_PRIVATE_H
#include <stdint.h>
#include <sys/types.h>

#include "spool/spool.h"

#define MAGIC "evkit-spool"
#define SEGNAME_LEN 23 /* 16 hex digits + ".ndjson" */
#define SCANBUF (64 * 1024)
#define READBUF (256 * 1024)
#define GSYNC_SLOTS 4 /* syncs in flight at once (gsync.c) */
struct ev_spool {
	char *path;
	int dirfd, segdir, curdir, lockfd;
	struct ev_spool_conf conf;
	char *segpath, *curpath; /* "DIR/segments", "DIR/cursors", for messages */
	/* writer */
	int wfd;        /* the active segment as last seen, or -1 */
	uint64_t wbase;
	int nosync;     /* EV_SPOOL_NOSYNC: never fdatasync, not even at roll-over */
	uint64_t wend;  /* the global offset after our last append, 0: none */
	uint64_t known; /* a claim of SPOOL/sync we read or made (gsync.c) */
	int syncfd;     /* SPOOL/sync, or -1 */
	int slotfd[GSYNC_SLOTS]; /* SPOOL/sync.K, or -1 */
	enum { GSYNC_UNTRIED, GSYNC_FRESH, GSYNC_SHARED, GSYNC_ALONE } gstate;
	uint64_t wkick; /* bytes written since writeback was last started */
	int cfd;        /* the active segment's count record (segcount.c), or -1 */
	uint64_t cbase, csize, cevents; /* its segment, and what we last wrote */
	int cknown;     /* csize and cevents hold for the segment as it is */
	struct ev_loc_counts ctr; /* ev_spool_counts */
};

void spool_segname(char buf[SEGNAME_LEN + 1], uint64_t base);
/* 1 and *base if name is a segment name; else 0. */
int spool_parse_segname(const char *name, uint64_t *base);
/* Create a file in dirfd with the spool's mode; umask does not apply. */
int spool_create_file(int dirfd, const char *name, const char *path, mode_t mode, int flags);
int spool_openseg(struct ev_spool *sp, uint64_t base, int flags);
/* The offset just after the last '\n' in fd's first size bytes, or 0. */
int spool_last_newline(struct ev_spool *sp, int fd, uint64_t size, uint64_t *after);
/* Writer, holding the lock: truncate a torn tail (ours, when a write
 * failed part way: mine is set). */
int spool_repair(struct ev_spool *sp, int fd, uint64_t base, uint64_t *size, int mine);
int spool_lock(struct ev_spool *sp, int op);
/* Writer, holding the lock: the active segment, repaired and not full. */
int spool_active(struct ev_spool *sp, uint64_t *size);
/* The offset after the last complete line of the spool. */
uint64_t spool_segs_end(struct ev_spool *sp, const struct ev_spool_seg *last, int *err);
int spool_gc_locked(struct ev_spool *sp, int force, struct ev_spool_gc *res);
/* Make every byte this handle appended durable, sharing the fdatasync with
 * the spool's other writers (gsync.c); call without holding the lock. */
int spool_gsync(struct ev_spool *sp);
void spool_gsync_close(struct ev_spool *sp);
/* fdatasync of the segment this writer appends to, counted (gsync.c). */
int spool_syncseg(struct ev_spool *sp);
/* Counts of events per segment (segcount.c): the record of the segment at
 * base (1 with the prefix *size it counts and its *events, else 0); a
 * record for a sealed segment a reader counted; the record's removal; a
 * writer's append of len bytes holding events events at offset size of
 * the active segment, holding the lock. */
int spool_segcount_get(struct ev_spool *sp, uint64_t base, uint64_t *size, uint64_t *events);
void spool_segcount_put(struct ev_spool *sp, uint64_t base, uint64_t size, uint64_t events);
void spool_segcount_unlink(struct ev_spool *sp, uint64_t base);
void spool_segcount_append(struct ev_spool *sp, uint64_t size, uint64_t len, uint64_t events);
void spool_segcount_close(struct ev_spool *sp);
uint64_t spool_count_newlines(const char *p, size_t n);

#endif
