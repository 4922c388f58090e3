/* SPDX-License-Identifier: ISC */
/* server.h — evhttp's server: events in over HTTP (acknowledged once
 * durable), a spool out over Server-Sent Events, WebSocket and chunked
 * NDJSON, the live page. libmicrohttpd does the HTTP. */
#ifndef EV_SERVER_H
#define EV_SERVER_H
#include <stddef.h>
#include <stdint.h>

#include "base/opts.h"
#include "base/prom.h"

struct ev_httpd_route {
	const char *path;  /* "/events", "/hooks/github", ... */
	const char *dest;  /* any location ev_sink_open takes */
	const char *type;  /* the type of plain JSON posted here, or NULL */
};

struct ev_httpd_conf {
	const char *listen;           /* HOST:PORT or :PORT; ignored with listen_fd */
	int listen_fd;                /* a bound, listening socket (systemd), or -1 */
	const struct ev_httpd_route *routes;
	size_t nroutes;
	const char *serve;            /* the spool or file served at GET /events (a spool: /stat), or NULL */
	const char *rejects;          /* where bad bodies go, or NULL */
	enum ev_sync sync;
	const char *source;           /* source of events that name none */
	const char *type_header;      /* a header that gives plain JSON its type, or NULL */
	const char *tls_cert, *tls_key; /* PEM files, both or neither */
	const unsigned char *bearer;  /* a token every request must present, or NULL */
	size_t bearerlen;
	const unsigned char *whkey;   /* Standard Webhooks key, or NULL */
	size_t whkeylen;
	const unsigned char *ghkey;   /* GitHub webhook secret, or NULL */
	size_t ghkeylen;
	long long tolerance_s;        /* webhook-timestamp tolerance */
	size_t max_body;              /* 413 above */
	size_t max_header;            /* bytes of request line and headers */
	unsigned max_conns;
	unsigned idle_timeout_s;      /* a connection idle (or a client not reading) this long is closed */
	unsigned request_timeout_s;   /* a request body must arrive within this */
	size_t max_queue;             /* bytes waiting for a commit before 429 */
	size_t sub_buffer;            /* bytes a subscriber may have unsent before it is dropped */
	unsigned keepalive_s;         /* SSE comments, WebSocket pings */
	int allow_jq;                 /* subscribers may send a jq filter */
};

void ev_httpd_conf_default(struct ev_httpd_conf *c);
/* What subscribers may be served: 0 a spool, 1 a regular file (followed
 * like tail -F), -1 anything else or nothing there (reported). */
int ev_httpd_servable(const char *loc);

struct ev_httpd;

/* Open the outputs, bind, and serve in background threads. NULL after reporting. */
struct ev_httpd *ev_httpd_start(const struct ev_httpd_conf *c);
/* The port bound (for -l :0). */
unsigned ev_httpd_port(const struct ev_httpd *h);
struct ev_httpd_stats;
/* Stop accepting, end subscriptions, finish the commits under way, close
 * the outputs; the final counts in st (unless NULL). 0, or the exit status
 * of a failure (111 an output failed). */
int ev_httpd_stop(struct ev_httpd *h, struct ev_httpd_stats *st);

#define EV_HTTPD_NSTATUS 500 /* statuses 100 to 599 */

struct ev_httpd_stats {
	uintmax_t requests, events, rejected, refused, subscribers, dropped;
	uintmax_t bytes_in;           /* request bodies taken in */
	uintmax_t bytes_out;          /* bytes sent to subscribers */
	uintmax_t connected;          /* subscribers now */
	uintmax_t status[EV_HTTPD_NSTATUS]; /* responses by status, from 100 */
	struct ev_promhist latency;   /* seconds from request to response, subscriptions aside */
};
void ev_httpd_getstats(struct ev_httpd *h, struct ev_httpd_stats *st);

/* --prometheus FILE: the stats as Prometheus series (evhttp(1) lists
 * them), written atomically; start_ms: when the server started (wall
 * clock). 0, or -1 reported. */
int ev_httpd_prom(const struct ev_httpd_stats *st, const char *path, int64_t start_ms);

#endif
