/* SPDX-License-Identifier: ISC */
/* ahead.h — work on the lines to come in a second thread.
 *
 * Most of what a tool does to a line is a pure function of its bytes
 * (validate it, read a field, hash a key); what is left (look the key up,
 * write the line out) must happen one line after another. An ev_ahead
 * splits the two: lines handed in with ev_ahead_add() are copied into a
 * batch; a helper thread runs work() on each line of a full batch while
 * the caller reads and fills the next one; then done() is called in the
 * caller's thread with the lines of the batch, in order, and their
 * results. On two cores the two parts overlap; the copy and the handing
 * over cost some CPU time, so it pays only where the pure part is heavy.
 *
 * work() gets its own context, which only one thread at a time uses: the
 * helper, or the caller when no thread could be started (the work is then
 * done in line, as a plain loop would). Nothing done() touches is touched
 * by the helper.
 *
 * A tool that commits (input.h) calls ev_ahead_flush() from the input's
 * flush: every line handed in is then done before the sinks are committed.
 */
#ifndef EV_AHEAD_H
#define EV_AHEAD_H
#include <stddef.h>

#include "io/reader.h"

struct ev_ahead;

/* work(wctx, line, result): fill result (ressize bytes, zeroed first).
 * done(dctx, lines, results, n): the lines of a batch in order, each with
 * its result at results + i * ressize; returns 0, or -1 to fail. */
struct ev_ahead *ev_ahead_new(size_t ressize,
    void (*work)(void *wctx, const struct ev_line *l, void *res), void *wctx,
    int (*done)(void *dctx, const struct ev_line *l, void *res, size_t n), void *dctx);
/* Copy the line in; when that fills a batch, start it and finish the one
 * before (done() runs). 0, or -1 when done() failed. */
int ev_ahead_add(struct ev_ahead *a, const struct ev_line *l);
/* Finish every line handed in. 0, or -1 when done() failed. A void * for
 * ev_input_set_flush(). */
int ev_ahead_flush(void *a);
/* Stop the helper and free everything (lines not flushed are dropped). */
void ev_ahead_free(struct ev_ahead *a);

#endif
