/* SPDX-License-Identifier: ISC */
/* window.h — windows of event time: which windows an event falls in.
 *
 *   tumbling:SIZE       [k*SIZE, (k+1)*SIZE), one per event
 *   hopping:SIZE/HOP    [k*HOP, k*HOP+SIZE), SIZE/HOP of them per event
 *   session:GAP         a key's events less than GAP apart, [first, last+GAP)
 *
 * A window closes when the watermark (the latest event time seen, less
 * the allowed lateness) reaches its end; an event whose every window has
 * closed is late. Times are Unix milliseconds (UTC).
 */
#ifndef EV_WINDOW_H
#define EV_WINDOW_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum ev_wkind { EV_WIN_NONE, EV_WIN_TUMBLING, EV_WIN_HOPPING, EV_WIN_SESSION };

#define EV_WIN_MAXHOPS 1000

struct ev_window {
	enum ev_wkind kind;
	int64_t size;   /* tumbling, hopping; session: the gap */
	int64_t hop;    /* hopping */
};

/* 0, or -1 with the reason in err (reset first). */
int ev_window_parse(const char *spec, struct ev_window *w, struct ev_buf *err);
/* The window as its spec, canonical ("hopping:300000ms/60000ms"), for the
 * fold's definition. */
void ev_window_spec(const struct ev_window *w, struct ev_buf *out);
/* Can every window holding t be kept? A view keeps a window's start and
 * end as RFC 3339 text (store.c), which has years 0000 to 9999 only: a
 * window reaching past them would read back as another. 1 or 0. */
int ev_window_storable(const struct ev_window *w, int64_t t);
/* Tumbling and hopping: the starts of the windows holding t, earliest
 * first, into starts (EV_WIN_MAXHOPS at most); returns how many. */
size_t ev_window_starts(const struct ev_window *w, int64_t t, int64_t *starts);

#endif
