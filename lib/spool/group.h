/* SPDX-License-Identifier: ISC */
/* group.h — consumer groups: many processes share one spool's events, each
 * event to one live member, with redelivery, a delivery limit and a
 * low-water mark that retention respects. The on-disk state and its crash
 * safety are described at the top of group.c and in ev-spool(5).
 */
#ifndef EV_GROUP_H
#define EV_GROUP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

struct ev_spool;
struct ev_group;

/* Lines claimed at once, handed out in spool order. */
struct ev_group_line {
	size_t off, len;   /* in buf (len without the newline) */
	uint64_t end;      /* spool position after the line */
};
struct ev_group_batch {
	struct ev_buf buf;
	struct ev_group_line *line;
	size_t n, cap;
	uint64_t start;          /* spool position of the first line */
	uint32_t deliveries;     /* this delivery's number: 1 the first time */
};
void ev_group_batch_free(struct ev_group_batch *b);

/* Called for an event past the delivery limit, under the group's lock: make
 * it durable somewhere (a dead-letter sink) and return 0, or -1 to leave it
 * where it is (reported). */
typedef int (*ev_group_bury_fn)(void *arg, const char *line, size_t len, uint32_t deliveries);

/* Join group name of spool sp (created at the spool's oldest event when it
 * does not exist yet). max_deliveries: 0 for no limit. NULL after
 * reporting why. */
struct ev_group *ev_group_join(struct ev_spool *sp, const char *name, uint32_t max_deliveries,
    ev_group_bury_fn bury, void *arg);
/* Claim the next events for this member: a part of a range whose member
 * died or left (one event at a time once it was delivered), else up to
 * maxlines fresh ones. 1: b holds them; 0: nothing to claim now; -1 error. */
int ev_group_claim(struct ev_group *g, size_t maxlines, struct ev_group_batch *b);

/* What became of one claim: finished up to done (a position in it), and,
 * when leaving, handed out to the tool up to handed (>= done). */
struct ev_group_span {
	uint64_t start, end;     /* the claim, as ev_group_claim made it */
	uint64_t done, handed;
	uint32_t deliveries;
};
/* Record finished events (the outputs are durable already). */
int ev_group_commit(struct ev_group *g, const struct ev_group_span *s, size_t n);
/* Leave: events handed out but not finished go to the other members as
 * redeliveries, the rest as if never claimed. Frees g. */
int ev_group_leave(struct ev_group *g, const struct ev_group_span *s, size_t n);
/* The group's directory (for a watch), and counters of this member. */
const char *ev_group_dir(const struct ev_group *g);
struct ev_group_counters { uintmax_t claims, redelivered, dead; };
const struct ev_group_counters *ev_group_counters(const struct ev_group *g);

/* Status, for evspool stat. */
struct ev_group_member {
	char *id;
	pid_t pid;
	int64_t since_ms;
};
struct ev_group_stat {
	char *name;
	uint64_t low, next;             /* committed (low-water) and first unclaimed */
	uint64_t claimed, pending;      /* events claimed by live members, and awaiting redelivery */
	uint64_t claimed_bytes, pending_bytes;
	uint64_t redelivered, dead;
	uint64_t lag_events, lag_bytes; /* after low: not finished yet */
	struct ev_group_member *members;
	size_t nmembers;
};
/* Every group of sp, sorted by name (*n may be 0). Claimed and pending
 * events are counted by reading their ranges (a claim at most each), the
 * lag from the kept counts of the segments after each group's low: the
 * time grows with segments and claims, not with the events. */
int ev_group_stat_all(struct ev_spool *sp, struct ev_group_stat **st, size_t *n);
void ev_group_stat_free(struct ev_group_stat *st, size_t n);
/* The lowest low-water mark of sp's groups: 1 and *pos, 0 when there are
 * none, -1 error (reported). For retention. */
int ev_group_lowest(struct ev_spool *sp, uint64_t *pos);
/* 1 if name may name a group (the rules of cursor names). */
int ev_group_valid(const char *name);

#endif
