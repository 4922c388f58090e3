/* SPDX-License-Identifier: ISC */
/* httpprom.c — evhttp's --prometheus FILE: requests by status, events
 * accepted, bodies rejected and refused, subscribers, bytes in and out,
 * and the request latency histogram (server.h). */
#include <stdio.h>

#include "base/prom.h"
#include "http/server.h"

static void
counter(struct ev_prom *p, const char *name, const char *help, const char *const *lab,
    uintmax_t v)
{
	ev_prom_help(p, name, "counter", help);
	ev_prom_count(p, name, lab, v);
}

/* evhttp_requests_total{code="200"}: one series for each status answered. */
static void
bystatus(struct ev_prom *p, const struct ev_httpd_stats *st, const char *const *lab)
{
	const char *clab[] = { "code", NULL, lab[0], lab[1], NULL };
	char code[8];

	ev_prom_help(p, "evhttp_requests_total", "counter",
	    "Requests answered, by HTTP status (101: a WebSocket).");
	for (int i = 0; i < EV_HTTPD_NSTATUS; i++) {
		if (!st->status[i])
			continue;
		snprintf(code, sizeof code, "%d", 100 + i);
		clab[1] = code;
		ev_prom_count(p, "evhttp_requests_total", clab, st->status[i]);
	}
}

int
ev_httpd_prom(const struct ev_httpd_stats *st, const char *path, int64_t start_ms)
{
	struct ev_prom p = { 0 };
	struct ev_buf inst = { 0 };
	int rc;

	ev_prom_instname(path, &inst);
	const char *lab[] = { "name", inst.p, NULL };
	bystatus(&p, st, lab);
	counter(&p, "evhttp_events_accepted_total", "Events written and committed (answered 200).",
	    lab, st->events);
	counter(&p, "evhttp_requests_rejected_total", "Requests answered 400: bad input "
	    "(kept with --rejects).", lab, st->rejected);
	counter(&p, "evhttp_requests_refused_total", "Requests answered 429 or 503: the "
	    "output was behind or failed.", lab, st->refused);
	counter(&p, "evhttp_received_bytes_total", "Bytes of request bodies taken in.", lab,
	    st->bytes_in);
	counter(&p, "evhttp_sent_bytes_total", "Bytes sent to subscribers.", lab, st->bytes_out);
	counter(&p, "evhttp_subscriptions_total", "Subscriptions started (SSE, WebSocket, NDJSON).",
	    lab, st->subscribers);
	counter(&p, "evhttp_subscribers_dropped_total", "Subscribers dropped for not reading.",
	    lab, st->dropped);
	ev_prom_help(&p, "evhttp_subscribers", "gauge", "Subscribers connected now.");
	ev_prom_count(&p, "evhttp_subscribers", lab, st->connected);
	ev_prom_histogram(&p, "evhttp_request_duration_seconds", "How long requests took, "
	    "from their first byte to the response (subscriptions aside).", lab, &st->latency);
	ev_prom_help(&p, "evhttp_start_time_seconds", "gauge",
	    "When the server started, in seconds since the epoch.");
	ev_prom_gauge(&p, "evhttp_start_time_seconds", lab, (double)start_ms / 1000.0);
	rc = ev_prom_write(&p, path);
	ev_prom_free(&p);
	ev_buf_free(&inst);
	return rc;
}
