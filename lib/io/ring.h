/* SPDX-License-Identifier: ISC */
/* ring.h — the last n lines of an input that cannot seek back (a pipe, for
 * evtail -n): kept in memory as they come, written when it ends. */
#ifndef EV_RING_H
#define EV_RING_H
#include <stddef.h>
#include <stdint.h>

#include "io/loc.h"

struct ev_ring;

/* A ring of the last n lines (n 0 keeps none). */
struct ev_ring *ev_ring_new(uint64_t n);
/* Keep a line (without its newline), forgetting the oldest past n. */
void ev_ring_add(struct ev_ring *g, const char *p, size_t len);
/* Write the lines kept to s, oldest first, counting each in *written:
 * 0, or -1 when the sink failed (reported). */
int ev_ring_flush(struct ev_ring *g, struct ev_sink *s, uint64_t *written);
void ev_ring_free(struct ev_ring *g);

#endif
