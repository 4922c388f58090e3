/* SPDX-License-Identifier: ISC */
/* reqtrace.c — an evhttp ingest request's trace and server span (see
 * reqtrace.h). */
#include <stdio.h>
#include <string.h>

#include "event/event.h"
#include "http/reqtrace.h"

void
ev_reqtrace_begin(struct ev_reqtrace *t, const struct ev_hdr *h, size_t n)
{
	const char *v;

	memset(t, 0, sizeof *t);
	if (((v = ev_hdr_get(h, n, "traceparent")) && ev_trace_parse(v, strlen(v), &t->parent) == 0) ||
	    ((v = ev_hdr_get(h, n, "ce-traceparent")) && ev_trace_parse(v, strlen(v), &t->parent) == 0))
		t->hasparent = 1;
	if (!t->hasparent && !ev_otlp_default)
		return;
	t->on = 1;
	ev_trace_child(t->hasparent ? &t->parent : NULL, &t->ctx);
	t->start_ns = ev_trace_now_ns();
}

void
ev_reqtrace_end(const struct ev_reqtrace *t, const char *path, int status,
    const char *evs, size_t len, size_t nev)
{
	char name[128];
	const char *id;
	size_t idlen;

	if (!t->on || !ev_otlp_default || !ev_trace_sampled(&t->ctx))
		return;
	snprintf(name, sizeof name, "POST %s", path);
	struct ev_span s = { .ctx = t->ctx, .parent = t->hasparent ? t->parent.span : NULL,
		.name = name, .kind = EV_SPAN_SERVER, .start_ns = t->start_ns,
		.end_ns = ev_trace_now_ns(), .error = status >= 500, .httpstatus = status };
	if (nev == 1 && len > 0 && ev_event_getattr(evs, len - 1, "id", &id, &idlen) > 0 &&
	    idlen >= 2 && id[0] == '"') {
		s.evid = id + 1;
		s.evidlen = idlen - 2;
	}
	ev_otlp_span(ev_otlp_default, &s);
}
