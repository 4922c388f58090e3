/* SPDX-License-Identifier: ISC */
/* backend.h — what a kind of location implements (private to lib/). */
#ifndef EV_BACKEND_H
#define EV_BACKEND_H
#include "io/loc.h"

struct ev_buf;

struct ev_sink_ops {
	int (*write)(void *impl, const char *line, size_t len);
	int (*commit)(void *impl);
	/* NULL, or: write out what it holds back, without syncing, so that a
	 * reader downstream sees it now (ev_sink_push). */
	int (*push)(void *impl);
	int (*close)(void *impl); /* commits first; frees impl */
	/* NULL, or: hand back an event the location took but could not deliver. */
	int (*refused)(void *impl, struct ev_line *l, const char **why);
	/* NULL when its commits are durable anyway, or: they must be from now
	 * on, also in EV_SYNC_AUTO (ev_sink_durable). */
	void (*durable)(void *impl);
	/* NULL, or: add what it counted (ev_sink_counts). */
	void (*counts)(const void *impl, struct ev_loc_counts *add);
};

struct ev_source_ops {
	int (*next)(void *impl, struct ev_line *l, int timeout_ms);
	int (*commit)(void *impl, uint64_t pos);
	int (*close)(void *impl); /* frees impl */
	/* Optional: a descriptor that poll(2) reports readable when next() may
	 * have a line (see ev_source_pollfd); NULL or -1 when there is none. */
	int (*pollfd)(void *impl);
	/* Optional: the monotonic time (ms) at which next() will have a line
	 * without new input (a held event comes due), or INT64_MAX. */
	int64_t (*due)(void *impl);
	/* 1: commit moves a position kept elsewhere (ev_source_acks). */
	int acks;
	/* 1: EV_START_TIME starts at the first event of that time; 0: near it
	 * (a stream's chunk of that time) or at the beginning (a file), and
	 * the input skips what comes before it (ev_input_since). */
	int seeks_time;
	/* NULL, or: add what it counted (ev_source_counts). */
	void (*counts)(const void *impl, struct ev_loc_counts *add);
};

/* How long a source's next() may still wait, when it was given timeout_ms
 * (< 0: no limit) ending at the monotonic deadline: > 0, or < 0 for no
 * limit; 0 when the time is up (the source is idle). */
int ev_source_waitleft(int timeout_ms, int64_t deadline);

/* Each returns its state, or NULL after reporting why. */
void *ev_fd_sink_open(const char *dest, enum ev_sync sync, const struct ev_sink_ops **ops);
void *ev_fd_source_open(const char *loc, const struct ev_source_conf *c,
    const struct ev_source_ops **ops);
void *ev_spool_sink_open(const char *dir, enum ev_sync sync, const struct ev_sink_ops **ops);
struct ev_spool;
void *ev_group_source_open(struct ev_spool *sp, const struct ev_source_conf *c,
    const struct ev_source_ops **ops);
/* A consumer group's dead letter (grouploc.c): the event with why
 * (evdeadreason, evdeaddetail, evdeliveries, evdeadtime), written to dead
 * and committed, or reported when dead is NULL. tmp: two scratch
 * buffers. */
int ev_group_bury(struct ev_sink *dead, const char *spool, const char *group, const char *line,
    size_t len, uint32_t deliveries, struct ev_buf *tmp);
void *ev_keyed_source_open(struct ev_spool *sp, const struct ev_source_conf *c,
    const struct ev_source_ops **ops);
void *ev_spool_source_open(const char *dir, const struct ev_source_conf *c,
    const struct ev_source_ops **ops);
void *ev_amqp_sink_open(const char *url, enum ev_sync sync, const struct ev_sink_ops **ops);
void *ev_amqp_source_open(const char *url, const struct ev_source_conf *c,
    const struct ev_source_ops **ops);
/* Wraps impl/inner (a source of dir, a spool, or NULL for another kind) with
 * --hold and --expired (timed.c); NULL after reporting why (impl is then
 * the caller's to close). */
void *ev_timed_source_open(const char *dir, int durable, const struct ev_source_conf *c,
    const struct ev_source_ops **ops, void *impl, const struct ev_source_ops *inner);
/* Several spools as one source (fanin.c). */
void *ev_fanin_source_open(char *const *dirs, int n, const struct ev_source_conf *c,
    int priority, const struct ev_source_ops **ops);
void *ev_http_sink_open(const char *url, enum ev_sync sync, const struct ev_sink_ops **ops);

#endif
