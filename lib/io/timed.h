/* SPDX-License-Identifier: ISC */
/* timed.h — delay (evnotbefore, --hold) and expiry (expirytime, --expired)
 * for any source: a wrapper that ev_source_open puts around a location
 * when asked. The protocol (positions, the side file of held events) is
 * described at the top of timed.c and in ev-spool(5). */
#ifndef EV_TIMED_H
#define EV_TIMED_H
#include <stddef.h>
#include <stdint.h>

/* The RFC 3339 time of a top-level string attribute of an event line:
 * 1 and *ms; 0 when it has none (or the line is not an object); -1 when
 * it is not a time. */
int ev_timed_attr(const char *line, size_t len, const char *name, int64_t *ms);

/* Counts of this process, for --stats. */
struct ev_timed_counters { uintmax_t held, released, expired; };
extern struct ev_timed_counters ev_timed_ctr;

#endif
