/* SPDX-License-Identifier: ISC */
/* trace.h — trace context (W3C traceparent, as the CloudEvents
 * distributed-tracing extension carries it) and spans written as OTLP/JSON
 * (--otlp FILE|URL). The formats are described in trace.c and evkit(7).
 */
#ifndef EV_TRACE_H
#define EV_TRACE_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* A span's context: its trace and its own id. */
struct ev_tracectx {
	uint8_t trace[16], span[8];
	uint8_t flags;
};

#define EV_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */

/* A traceparent value (version 00, ids not all zero, lowercase hex):
 * 0, or -1 when s is not one. */
int ev_trace_parse(const char *s, size_t n, struct ev_tracectx *c);
/* The event line's "traceparent" attribute: 1 and c, 0 when it has none
 * or not a valid one. */
int ev_trace_fromline(const char *line, size_t len, struct ev_tracectx *c);
/* The same, when a span that is its child is to be recorded (the sampler
 * keeps it): 1 and c, else 0. Cheaper than ev_trace_fromline then
 * ev_trace_keeps on the events the sampler drops. */
int ev_trace_spanparent(const char *line, size_t len, struct ev_tracectx *c);
/* The same for a traceparent where evkit puts it, last in the line (1 or
 * 0 as above); -1 when it is not there, and the rest of the line has to be
 * looked at (ev_trace_spanparent, or a scan's ev_jerr.tpmaybe first). */
int ev_trace_spanparent_last(const char *line, size_t len, struct ev_tracectx *c);
void ev_trace_format(const struct ev_tracectx *c, char out[EV_TRACEPARENT_LEN + 1]);
/* A new span: in parent's trace (a new trace when parent is NULL), with a
 * new random span id, sampled as the sampler says (trace.c: by the parent's
 * flag, or the trace id's ratio; OTEL_TRACES_SAMPLER). */
void ev_trace_child(const struct ev_tracectx *parent, struct ev_tracectx *c);
/* Whether a child of parent is sampled (before making one). */
int ev_trace_keeps(const struct ev_tracectx *parent);
/* Whether a span in this context is recorded. */
static inline int
ev_trace_sampled(const struct ev_tracectx *c)
{
	return c->flags & 1;
}
/* Append line with c as its "traceparent" when it has none: 1; a line that
 * has one is appended as it is: 0; -1 when it is no object (nothing
 * appended). No span is recorded. */
int ev_trace_put(struct ev_buf *out, const char *line, size_t len, const struct ev_tracectx *c);

/* evemit: append line, with a "traceparent" for a new span (a child of
 * parent, else the root of a new trace) when it has none, and that span
 * kept for --otlp; a line that has one is appended as it is. -1 when the
 * line is not an object (nothing appended). */
int ev_trace_stamp(struct ev_buf *out, const char *line, size_t len,
    const struct ev_tracectx *parent);

/* OTLP/JSON span kinds. */
enum { EV_SPAN_INTERNAL = 1, EV_SPAN_SERVER = 2, EV_SPAN_PRODUCER = 4, EV_SPAN_CONSUMER = 5 };

struct ev_span {
	struct ev_tracectx ctx;
	const uint8_t *parent;  /* 8 bytes, or NULL for a root span */
	const char *name;
	int kind;
	int64_t start_ns, end_ns; /* Unix time */
	const char *evid;       /* the event's id, or NULL */
	size_t evidlen;
	int error;              /* status ERROR */
	int attempt;            /* evretry: the attempt, or 0 */
	int httpstatus;         /* evhttp: the response's status, or 0 */
};

struct ev_otlp;
/* --otlp: where the tool's spans go, or NULL (then no span is made). */
extern struct ev_otlp *ev_otlp_default;

/* dest: a file (appended, one OTLP/JSON request a line) or an http(s) URL
 * of a collector (POSTed, application/json). NULL after reporting. */
struct ev_otlp *ev_otlp_open(const char *dest);
/* Keep a span to be sent (nothing when its context is not sampled). Any
 * thread; it never waits for the file or the collector: an exporter thread
 * sends what is held when HOLD_MAX spans are, at a flush, and every couple
 * of seconds, and past DROP_MAX held spans (a collector that cannot keep
 * up) drops them, counted and reported, as OpenTelemetry SDKs do. */
void ev_otlp_span(struct ev_otlp *o, const struct ev_span *s);
/* Have what is held sent now, without waiting for it (a commit). */
void ev_otlp_flush(struct ev_otlp *o);
/* Send what is held, wait for it, and close: 0, or -1 when any send
 * failed (each failure was reported; spans are telemetry, the events go
 * on). */
int ev_otlp_close(struct ev_otlp *o);
/* --otlp DEST: open ev_otlp_default, flushed and closed at exit; -1 when
 * it cannot be opened (reported). */
int ev_otlp_setup(const char *dest);

int64_t ev_trace_now_ns(void);

#endif
