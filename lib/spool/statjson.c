/* SPDX-License-Identifier: ISC */
/* statjson.c — a spool's status as one JSON object: `evspool stat --json`
 * prints it, evhttp serves it at GET /stat. */
#include <inttypes.h>
#include <string.h>

#include "base/time.h"
#include "spool/spool.h"

void
ev_spool_stat_json(struct ev_buf *b, const char *path, const struct ev_spool_stat *st)
{
	char t[32];

	ev_buf_adds(b, "{\"spool\":");
	ev_buf_addjstr(b, path, strlen(path));
	ev_buf_printf(b, ",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"segments\":%"
	    PRIu64 ",\"start\":%" PRIu64 ",\"end\":%" PRIu64 ",\"torn\":%" PRIu64,
	    st->events, st->bytes, st->segments, st->start, st->end, st->torn);
	if (st->first_ms >= 0) {
		ev_time_format(st->first_ms, t);
		ev_buf_printf(b, ",\"first_time\":\"%s\"", t);
		ev_time_format(st->last_ms, t);
		ev_buf_printf(b, ",\"last_time\":\"%s\"", t);
	}
	ev_buf_adds(b, ",\"cursors\":[");
	for (size_t i = 0; i < st->ncursors; i++) {
		const struct ev_spool_cursorstat *c = &st->cursors[i];

		ev_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		ev_buf_addjstr(b, c->name, strlen(c->name));
		ev_buf_printf(b, ",\"position\":%" PRIu64 ",\"lag_events\":%" PRIu64
		    ",\"lag_bytes\":%" PRIu64 ",\"lost\":%s}", c->pos, c->lag_events,
		    c->lag_bytes, c->lost ? "true" : "false");
	}
	ev_buf_adds(b, "]}\n");
}
