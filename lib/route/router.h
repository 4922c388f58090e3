/* SPDX-License-Identifier: ISC */
/* router.h — routing rules: a match paired with a destination (evroute(1)).
 *
 *   MATCH [> DEST]
 *
 * MATCH is one of
 *   a type pattern      order.*  payment.failed  #.done   (topic.h semantics)
 *   an attribute glob   source:https://shop.example.com/orders*  subject:orders?ord-*
 *                       (type:PAT is the type pattern PAT)
 *   a jq expression     select(.data.amount > 500)  .data.urgent
 * and DEST any location loc.h opens. A rule without "> DEST" sends to the
 * default output (-o). Type patterns and globs are read with the JSON
 * scanner, never with libjq. A destination named by several rules is
 * opened once (locations are compared after normalisation) and gets an
 * event once however many of its rules match it.
 */
#ifndef EV_ROUTER_H
#define EV_ROUTER_H
#include <stdint.h>
#include <stdio.h>

#include "io/input.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/opts.h"

struct ev_router;

struct ev_router_conf {
	const char *output;    /* destination of rules without "> DEST" (NULL: stdout) */
	const char *otherwise; /* destination of events no rule matched, or NULL */
	int first;             /* stop at the first matching rule */
	enum ev_sync sync;
};

struct ev_router *ev_router_new(const struct ev_router_conf *c);
/* Before adding rules (a reload): rules of the same text as one of old's
 * take what old compiled for them instead of compiling it again. old must
 * live until the rules are added, and may be freed after. */
void ev_router_reuse(struct ev_router *rt, struct ev_router *old);
/* Parse one rule; where names it in messages ("rule 2", "rules.conf:7").
 * -1 with "WHERE: 'RULE': column N: problem" in err. */
int ev_router_add(struct ev_router *rt, const char *text, const char *where, struct ev_buf *err);
/* Parse a rules file: one rule a line; blank lines and comments skipped
 * (a line whose first non-blank is '#' followed by the end of the line, or
 * by blanks and then anything but '>'; "# > DEST" is a rule). -1 at the
 * first problem, with the message in err. */
int ev_router_load(struct ev_router *rt, const char *path, struct ev_buf *err);
int ev_router_nrules(const struct ev_router *rt);
/* Open every destination once. With old, destinations old has open are
 * taken over rather than opened again, and so are the counts of rules of
 * the same text; nothing is taken when this fails. -1 when a destination
 * cannot be opened (reported; errno set). */
int ev_router_open(struct ev_router *rt, struct ev_router *old);
/* Register the destinations with the input, replacing the ones it had:
 * they are committed before the input position is. */
void ev_router_register(struct ev_router *rt, struct ev_input *in);
/* Route one input line: a bad line is rejected through in, a jq error is
 * reported and counts as no match. -1 when a destination failed (reported). */
int ev_router_route(struct ev_router *rt, struct ev_input *in, const struct ev_line *l);
uintmax_t ev_router_unmatched(const struct ev_router *rt);
/* Counts for --stats (to f) and for Prometheus' textfile collector
 * (written to path atomically). */
void ev_router_stats(const struct ev_router *rt, const struct ev_input *in,
    enum ev_statsfmt fmt, FILE *f);
void ev_router_prom(const struct ev_router *rt, const struct ev_input *in, struct ev_prom *p);
/* Commit and close the destinations still owned; -1 when one failed
 * (reported; errno set). Then free. */
int ev_router_close(struct ev_router *rt);
void ev_router_free(struct ev_router *rt);

#endif
