/* SPDX-License-Identifier: ISC */
/* ingest.h — an HTTP request body turned into event lines: the CloudEvents
 * HTTP binding (structured, binary, batched), NDJSON, and plain JSON wrapped
 * as data. Pure: no I/O, so each mode is tested without a server. */
#ifndef EV_INGEST_H
#define EV_INGEST_H
#include <stddef.h>

#include "base/buf.h"
#include "trace/trace.h"

struct ev_hdr {
	const char *name, *value;
};

struct ev_ingest_req {
	const char *ctype;           /* Content-Type, or NULL */
	const struct ev_hdr *hdrs;   /* every request header (names in any case) */
	size_t nhdrs;
	const char *type;            /* the type of wrapped JSON (route or header), or NULL */
	const char *source;          /* the source of events that name none */
	const char *body;
	size_t len;
	const struct ev_tracectx *trace; /* the request's span: the traceparent of
	                             * events that have none (NULL: none added) */
};

/* The request's events, each a line ending in '\n', appended to out, and
 * their number in *n. 0; or the HTTP status to answer (400 bad input, 415
 * a content type that is not understood) with the reason in err, and then
 * nothing appended. Events are completed as evemit -f completes them:
 * specversion, id (a UUIDv7, or the webhook-id / X-GitHub-Delivery header of
 * a wrapped body), time and source when missing. */
int ev_ingest_parse(const struct ev_ingest_req *r, struct ev_buf *out, size_t *n,
    struct ev_buf *err);

/* A request header's value (name compared ignoring case), or NULL. */
const char *ev_hdr_get(const struct ev_hdr *h, size_t n, const char *name);

#endif
