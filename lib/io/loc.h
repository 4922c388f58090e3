/* SPDX-License-Identifier: ISC */
/* loc.h — sources and sinks: every tool reads and writes the same locations.
 *
 *   -              stdin / stdout
 *   a file         read / append
 *   a FIFO         read / write
 *   a spool dir    read through a cursor / append with group commit
 *   |command args  (sink only) a process spawned once, fed the stream on its
 *                  stdin; words split like sh(1) quoting, but no shell runs
 *   amqp[s]://...  a RabbitMQ broker: consume from a queue with manual acks /
 *                  publish with confirms (amqp/, ev-amqp(7))
 *   http[s]://...  (sink only) an HTTP endpoint: each event POSTed, in the
 *                  CloudEvents HTTP binding (http/, ev-http(7))
 *
 * Failures are reported here (naming the location and the operation) and
 * returned as -1 with errno set, so a caller only chooses the exit status.
 */
#ifndef EV_LOC_H
#define EV_LOC_H
#include <stddef.h>
#include <stdint.h>

#include "base/opts.h"
#include "io/reader.h"

struct ev_sink;
struct ev_key;

/* What locations count of their own work, for --stats: a spool's segment
 * files opened, bytes read, bytes skipped as lost (skip_lost), and
 * fdatasyncs of its data. Each location adds its own (ev_sink_counts,
 * ev_source_counts). */
struct ev_loc_counts {
	uint64_t segopens, bytesread, lost, syncs;
};

struct ev_sink *ev_sink_open(const char *dest, enum ev_sync sync);
/* From now on something durable depends on this output (a kept input
 * position, a commit hook such as evdedupe's state): in EV_SYNC_AUTO a
 * plain file is then fdatasync'ed at each commit (io/input.c says when). */
void ev_sink_durable(struct ev_sink *s);
/* A sink opened while --sign-key is given (sign.h's ev_sign_default)
 * signs every event it writes; this one (--rejects: verbatim) does not. */
void ev_sink_nosign(struct ev_sink *s);
/* Append one line (without its newline; the sink adds it). */
int ev_sink_write(struct ev_sink *s, const char *line, size_t len);
/* Make everything written so far durable, as far as the sync mode asks:
 * files and spools are flushed and fdatasync'ed, pipes flushed. */
int ev_sink_commit(struct ev_sink *s);
/* Hand on what is held back for a reader downstream (a pipe, a file
 * someone follows) without making it durable; a no-op for sinks whose
 * readers must see only what is committed (spools, brokers). */
int ev_sink_push(struct ev_sink *s);
/* An event the sink took but could not deliver (a broker returned it as
 * unroutable, or refused it), each once, in order: 1 with the event in l
 * and the reason in why (both valid until the next call), 0 when there is
 * none. They show up after a commit; the caller keeps them (--rejects).
 * ev_sink_close reports any left over as lost and fails. */
int ev_sink_refused(struct ev_sink *s, struct ev_line *l, const char **why);
/* Commit, release, and for a command wait for it: its failure is ours. */
int ev_sink_close(struct ev_sink *s);
void ev_sink_counts(const struct ev_sink *s, struct ev_loc_counts *add);
const char *ev_sink_name(const struct ev_sink *s);

/* Where a source starts. The default: a spool at its cursor, or at the
 * oldest event when the cursor does not exist yet (it is then created
 * there) or none is named; anything else at its beginning. */
enum ev_start {
	EV_START_DEFAULT = 0,
	EV_START_BEGIN,     /* the oldest event (a cursor is ignored, then updated) */
	EV_START_END,       /* only what comes next */
	EV_START_LAST,      /* the last `last` lines */
	EV_START_TIME,      /* a spool: the first event whose "time" >= since_ms */
	EV_START_POS        /* a spool: at byte offset pos, a position its reader kept
	                     * elsewhere (evfold keeps it with its state); the cursor
	                     * file, if named, is set there at once; a regular file:
	                     * at byte offset pos, which the caller knows starts a line */
};

struct ev_source_conf {
	const char *cursor;  /* spool cursor name, or NULL */
	int follow;          /* -1: the location's default (spools follow), 0, 1 */
	enum ev_start start;
	uint64_t last;       /* EV_START_LAST */
	int lastdefault;     /* EV_START_LAST is the tool's default, not asked for:
	                      * a location with no history to count back in (a
	                      * queue) starts as by default instead */
	int64_t since_ms;    /* EV_START_TIME */
	uint64_t pos;        /* EV_START_POS */
	int skip_lost;       /* a spool position that retention removed: skip to the
	                      * oldest event, counted and reported, instead of failing */
	int wait;            /* a cursor in use by another reader: wait for it to
	                      * let go, instead of failing with EBUSY (exit 75) */
	const char *group;   /* a spool read as a member of this consumer group */
	uint32_t max_deliveries; /* the group's delivery limit (0: none) */
	struct ev_sink *dead;    /* where events past it go (not owned), or NULL */
	int hold;                /* --hold: keep events until their evnotbefore */
	int expire;              /* --expired: set aside events past their expirytime */
	struct ev_sink *expired; /* ... into this sink (not owned), or NULL: dropped */
	struct ev_key *key;      /* with group: key affinity (spool/keyloc.c), not owned */
};

enum { EV_SRC_ERR = -1, EV_SRC_END = 0, EV_SRC_LINE = 1, EV_SRC_IDLE = 2 };

struct ev_source;

struct ev_source *ev_source_open(const char *loc, const struct ev_source_conf *c);
/* Several spools as one input (io/fanin.c): each with its own cursor or
 * group, fairly interleaved, or with priority always from the earliest
 * that has an event. */
struct ev_source *ev_source_open_many(char *const *locs, int n, const struct ev_source_conf *c,
    int priority);
/* Is loc a spool directory (an input ev_source_open_many takes)? */
int ev_source_isspool(const char *loc);
/* Whether a request sent to dest gets its reply without a reply location
 * (a broker's direct reply-to, amqp/request.h), or needs one (--reply-to). */
int ev_sink_replies_direct(const char *dest);
/* Does its commit move a position kept outside the process (a broker's
 * acks)? The outputs must then be durable before it does. */
int ev_source_acks(const struct ev_source *s);
void ev_source_counts(const struct ev_source *s, struct ev_loc_counts *add);
/* Did EV_START_TIME start it at the first event of that time (a spool), or
 * only near it or at its beginning (a stream, a file)? */
int ev_source_seeks_time(const struct ev_source *s);
/* The next complete line. timeout_ms: -1 waits as long as it takes, 0 only
 * looks; EV_SRC_IDLE when nothing came in time. A line is valid until the
 * next call. */
int ev_source_next(struct ev_source *s, struct ev_line *l, int timeout_ms);
/* Record that everything before pos (a line's pos) is done: a spool cursor
 * is written durably; other locations need nothing. */
int ev_source_commit(struct ev_source *s, uint64_t pos);
/* For a tool with its own poll(2) loop: a descriptor that becomes readable
 * when ev_source_next(s, l, 0) may return a line, or -1 when the location
 * has none (then call it with a short timeout instead). */
int ev_source_pollfd(const struct ev_source *s);
int ev_source_close(struct ev_source *s);

#endif
