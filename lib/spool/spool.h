/* SPDX-License-Identifier: ISC */
/* spool.h — durable, ordered, append-only topics in a directory (ev-spool(5)).
 *
 * The format and its protocol are described at the top of spool.c. Every
 * function reports its own failures (naming the path and the operation)
 * and returns -1 (or NULL) with errno set, so callers only pick a status.
 */
#ifndef EV_SPOOL_H
#define EV_SPOOL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "io/loc.h"
#include "io/reader.h"

#define EV_SPOOL_VERSION 1
#define EV_SPOOL_SEGMENT_BYTES (64ULL << 20)

/* Settings kept in the SPOOL file, written once by ev_spool_init. */
struct ev_spool_conf {
	uint64_t segment_bytes; /* roll over to a new segment past this size */
	int64_t retain_ms;      /* delete segments last written longer ago; 0: keep */
	uint64_t retain_bytes;  /* delete the oldest segments beyond this total; 0: keep */
	mode_t mode;            /* of every file in the spool (directories get x bits) */
};

/* Defaults: 64 MiB segments, keep everything, mode 0666 & ~umask, never o+w. */
void ev_spool_conf_default(struct ev_spool_conf *c);
/* Make dir a spool (creating dir, or using an empty one). group: a group
 * name or number for the spool (its directories become setgid), or NULL. */
int ev_spool_init(const char *dir, const struct ev_spool_conf *c, const char *group);

struct ev_spool;

enum { EV_SPOOL_RDONLY = 0, EV_SPOOL_WRITE = 1, EV_SPOOL_NOSYNC = 2 };
/* Open an existing spool; EV_SPOOL_WRITE also opens its lock file.
 * EV_SPOOL_NOSYNC: a writer that never syncs (--sync=none), not even the
 * segment a roll-over seals. */
struct ev_spool *ev_spool_open(const char *dir, int flags);
void ev_spool_close(struct ev_spool *sp);
const char *ev_spool_path(const struct ev_spool *sp);
const struct ev_spool_conf *ev_spool_getconf(const struct ev_spool *sp);

/* Append whole lines (each ending in '\n') as one batch: one flock, one
 * write(2); repairs a torn tail first, rolls over to a new segment when the
 * active one is full, and, unless nosync, then makes them durable with the
 * spool's other writers (one fdatasync for all: ev_spool_sync). A failed
 * write leaves the spool ending at a line boundary. */
int ev_spool_append(struct ev_spool *sp, const char *buf, size_t len, int nosync);
/* The same, from a caller that knows how many lines buf holds (the spool
 * keeps each segment's count of events; ev_spool_append counts them). */
int ev_spool_append_lines(struct ev_spool *sp, const char *buf, size_t len, uint64_t nlines,
    int nosync);
/* Make everything appended through sp durable (after nosync appends):
 * wait for a sync in progress that covers it, or lead one that covers
 * every writer's bytes so far (group commit across processes). */
int ev_spool_sync(struct ev_spool *sp);

/* Segments, oldest first. */
struct ev_spool_seg {
	uint64_t base, size;
	int64_t mtime_ms;
};
int ev_spool_segments(struct ev_spool *sp, struct ev_spool_seg **segs, size_t *n);
/* A segment's descriptor, for reading (a symbolic link is refused). */
int ev_spool_segment_open(struct ev_spool *sp, uint64_t base);

/* Positions (global byte offsets at line starts). */
int ev_spool_pos_start(struct ev_spool *sp, uint64_t *pos); /* the oldest event */
int ev_spool_pos_end(struct ev_spool *sp, uint64_t *pos);   /* after the last complete line */
int ev_spool_pos_last(struct ev_spool *sp, uint64_t n, uint64_t *pos); /* n lines before the end */
/* The first event whose "time" is at or after ms, assuming times grow with
 * position: a binary search over segments (by their first event's time),
 * then within one segment. Lines without a readable time are stepped over. */
int ev_spool_pos_time(struct ev_spool *sp, int64_t ms, uint64_t *pos);
/* The times of the first and the last event that have one (-1: none). */
int ev_spool_times(struct ev_spool *sp, int64_t *first_ms, int64_t *last_ms);
/* An event's "time" member as Unix milliseconds; -1 if it has none. */
int ev_spool_line_time(const char *p, size_t n, int64_t *ms);
/* Check that pos is a line start inside the spool: 0 ok; -1 reported.
 * *lost (if lost is not NULL) is set to the bytes before the oldest segment
 * that retention removed, and pos is then not an error. */
int ev_spool_pos_check(struct ev_spool *sp, uint64_t pos, uint64_t *lost);

/* Cursors of this spool (see cursor.h; names are validated). */
int ev_spool_cursor_get(struct ev_spool *sp, const char *name, uint64_t *pos); /* 1, 0 absent, -1 */
int ev_spool_cursor_set(struct ev_spool *sp, const char *name, uint64_t pos);
int ev_spool_cursor_delete(struct ev_spool *sp, const char *name);
int ev_spool_cursor_list(struct ev_spool *sp, char ***names, size_t *n);

/* Reading: no lock; only complete lines; positions are global offsets. */
struct ev_spool_reader;
/* Start at pos (a line start). skip_lost: when retention has removed the
 * data at the position, skip to the oldest event, count and report it;
 * otherwise that is an error. */
struct ev_spool_reader *ev_spool_reader_new(struct ev_spool *sp, uint64_t pos, int skip_lost);
/* 1: a line (valid until the next call; l->pos is the offset after it);
 * 0: no complete line for now; -1: error (reported). */
int ev_spool_reader_next(struct ev_spool_reader *r, struct ev_line *l);
/* Wait for the spool to change: 1 maybe more, 0 timeout, -1 error. */
int ev_spool_reader_wait(struct ev_spool_reader *r, int timeout_ms);
uint64_t ev_spool_reader_lost(const struct ev_spool_reader *r);
void ev_spool_reader_free(struct ev_spool_reader *r);

/* Status, for evspool stat. */
struct ev_spool_cursorstat {
	char *name;
	uint64_t pos, lag_bytes, lag_events;
	int lost; /* before the oldest segment */
};
struct ev_spool_stat {
	uint64_t events, bytes, segments, start, end;
	int64_t first_ms, last_ms; /* -1 when unknown */
	uint64_t torn;             /* bytes of an unterminated tail */
	uint64_t badcursors;       /* cursors that could not be read (reported) */
	struct ev_spool_cursorstat *cursors;
	size_t ncursors;
};
int ev_spool_stat(struct ev_spool *sp, struct ev_spool_stat *st);
void ev_spool_stat_free(struct ev_spool_stat *st);
/* The events from pos (a line boundary) to the end, counted in time
 * proportional to the segments (sealed ones by their kept counts) and the
 * size of the segment pos falls in and of the active one. */
int ev_spool_events_after(struct ev_spool *sp, uint64_t pos, uint64_t *events);
/* The status as one JSON object and a newline (evspool stat --json). */
void ev_spool_stat_json(struct ev_buf *b, const char *path, const struct ev_spool_stat *st);

/* Verify the spool; with repair, truncate a torn tail (under the lock).
 * Returns the number of problems found (reported), or -1 on error. */
int ev_spool_check(struct ev_spool *sp, int repair);

/* Apply retention (under the lock). Never deletes the active segment, and
 * unless force, no segment an existing cursor has not finished reading
 * (*kept counts those). */
struct ev_spool_gc {
	uint64_t segments, bytes; /* deleted */
	uint64_t kept;            /* expired, but a cursor has not read them */
};
int ev_spool_gc(struct ev_spool *sp, int force, struct ev_spool_gc *res);

/* Counters for tests and --stats, this handle's own: segment files opened,
 * bytes read, fdatasyncs of segment data (what --sync changes); lost stays
 * 0 (a reader's, ev_spool_reader_lost). */
const struct ev_loc_counts *ev_spool_counts(const struct ev_spool *sp);

#endif
