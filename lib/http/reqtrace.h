/* SPDX-License-Identifier: ISC */
/* reqtrace.h — the trace of an ingest request to evhttp: continued from
 * the caller's traceparent header (W3C Trace Context) or ce-traceparent
 * (a CloudEvent in binary mode), else started with --otlp; events without
 * a traceparent get the request's span as theirs, and with --otlp the
 * request is recorded as a server span (evkit(7), Tracing). */
#ifndef EV_REQTRACE_H
#define EV_REQTRACE_H
#include <stddef.h>
#include <stdint.h>

#include "http/ingest.h"
#include "trace/trace.h"

struct ev_reqtrace {
	struct ev_tracectx ctx;     /* the request's span */
	struct ev_tracectx parent;  /* the caller's, when hasparent */
	int hasparent;
	int on;                     /* ctx is set: events are stamped with it */
	int64_t start_ns;
};

/* Look at the request's headers, at its start. */
void ev_reqtrace_begin(struct ev_reqtrace *t, const struct ev_hdr *h, size_t n);
/* The request answered status: its span, with --otlp when sampled; the
 * event's id when it brought one event (evs: its lines). */
void ev_reqtrace_end(const struct ev_reqtrace *t, const char *path, int status,
    const char *evs, size_t len, size_t nev);

#endif
