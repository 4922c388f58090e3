/* SPDX-License-Identifier: ISC */
/* refused.h — the events a sink took but could not deliver, kept until the
 * input hands them to --rejects (ev_sink_refused): the list every sink
 * that can refuse (a broker's nacks and returns, an endpoint's answers)
 * keeps. */
#ifndef EV_REFUSED_H
#define EV_REFUSED_H
#include <stddef.h>

#include "base/buf.h"
#include "io/reader.h"

struct ev_refused {
	struct ev_buf b;     /* u32 len, the event, NUL, the reason, NUL; ... */
	size_t pos;          /* the next to hand back */
};

void ev_refused_add(struct ev_refused *r, const char *p, size_t n, const char *why);
/* The oldest not handed back yet: 1 with the event in l and the reason in
 * why (valid until the next add), or 0 when there is none (the list is
 * then emptied). */
int ev_refused_next(struct ev_refused *r, struct ev_line *l, const char **why);
void ev_refused_free(struct ev_refused *r);

#endif
