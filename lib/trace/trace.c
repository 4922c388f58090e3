/* SPDX-License-Identifier: ISC */
/* trace.c — trace context and OTLP/JSON spans.
 *
 * Trace context follows the CloudEvents distributed-tracing extension: an
 * event's "traceparent" attribute is the W3C Trace Context value of the
 * span that produced it,
 *
 *   00-<32 hex: trace id>-<16 hex: span id>-<2 hex: flags>
 *
 * and "tracestate" (vendor data) goes along untouched. evemit starts a
 * trace when the event has none (a child of $TRACEPARENT when that is set,
 * as evretry sets it for its handlers); every other tool keeps the event's
 * traceparent as it is, and with --otlp records its own work on an event as
 * a span whose parent is the event's span.
 *
 * --otlp DEST writes the spans as OTLP/JSON (the OpenTelemetry protocol's
 * JSON encoding): each flush is one ExportTraceServiceRequest,
 *
 *   {"resourceSpans":[{"resource":{"attributes":[service.name = the tool]},
 *     "scopeSpans":[{"scope":{"name":"evkit"},"spans":[
 *       {"traceId":"<32 hex>","spanId":"<16 hex>","parentSpanId":"<16 hex>",
 *        "name":"evroute","kind":5,"startTimeUnixNano":"...",
 *        "endTimeUnixNano":"...","attributes":[...],"status":{...}}]}]}]}
 *
 * appended as one line to a file, or POSTed to a collector's URL (such as
 * http://localhost:4318/v1/traces) with libcurl. Spans are flushed at each
 * commit of the input loop, when many are held, and at exit.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/write.h"
#include "event/event.h"
#include "trace/trace.h"

#define HOLD_MAX 512 /* spans held before a flush */

struct ev_otlp {
	char *dest;
	int fd;            /* a file, or -1 */
	CURL *curl;        /* a collector */
	struct curl_slist *hdrs;
	struct ev_buf spans, req;
	size_t nspans;
	int warned;
};

struct ev_otlp *ev_otlp_default;

int64_t
ev_trace_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* n bytes from 2n lowercase hex digits: 0, or -1. */
static int
unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

int
ev_trace_parse(const char *s, size_t n, struct ev_tracectx *c)
{
	if (n != EV_TRACEPARENT_LEN || memcmp(s, "00-", 3) != 0 || s[35] != '-' || s[52] != '-')
		return -1;
	if (unhex(s + 3, c->trace, 16) < 0 || unhex(s + 36, c->span, 8) < 0 ||
	    unhex(s + 53, &c->flags, 1) < 0)
		return -1;
	if (sodium_is_zero(c->trace, sizeof c->trace) || sodium_is_zero(c->span, sizeof c->span))
		return -1;
	return 0;
}

int
ev_trace_fromline(const char *line, size_t len, struct ev_tracectx *c)
{
	const char *v;
	size_t n;

	if (ev_event_getattr(line, len, "traceparent", &v, &n) <= 0 || n < 2 || v[0] != '"')
		return 0;
	return ev_trace_parse(v + 1, n - 2, c) == 0;
}

static void
addhex(char *out, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
}

void
ev_trace_format(const struct ev_tracectx *c, char out[EV_TRACEPARENT_LEN + 1])
{
	memcpy(out, "00-", 3);
	addhex(out + 3, c->trace, 16);
	out[35] = '-';
	addhex(out + 36, c->span, 8);
	out[52] = '-';
	addhex(out + 53, &c->flags, 1);
	out[55] = '\0';
}

/* Random ids from a pool refilled 4 KiB at a time: no system call per
 * event (evhttp's threads share it). */
static void
randomid(uint8_t *p, size_t n)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint8_t pool[4096];
	static size_t left;

	pthread_mutex_lock(&lock);
	do {
		if (left < n) {
			randombytes_buf(pool, sizeof pool);
			left = sizeof pool;
		}
		memcpy(p, pool + sizeof pool - left, n);
		left -= n;
	} while (sodium_is_zero(p, n));
	pthread_mutex_unlock(&lock);
}

void
ev_trace_child(const struct ev_tracectx *parent, struct ev_tracectx *c)
{
	if (parent) {
		memcpy(c->trace, parent->trace, sizeof c->trace);
		c->flags = parent->flags | 1;
	} else {
		randomid(c->trace, sizeof c->trace);
		c->flags = 1;
	}
	randomid(c->span, sizeof c->span);
}

int
ev_trace_stamp(struct ev_buf *out, const char *line, size_t len,
    const struct ev_tracectx *parent)
{
	struct ev_tracectx c;
	char tp[EV_TRACEPARENT_LEN + 3];
	const char *v;
	size_t n;
	int r = ev_event_getattr(line, len, "traceparent", &v, &n);

	if (r < 0)
		return -1;
	if (r > 0) {
		ev_buf_add(out, line, len);
		return 0;
	}
	ev_trace_child(parent, &c);
	tp[0] = '"';
	ev_trace_format(&c, tp + 1);
	strcat(tp, "\"");
	if (ev_event_addattr(out, line, len, "traceparent", tp) < 0)
		return -1;
	if (ev_otlp_default) {
		int64_t now = ev_trace_now_ns();
		struct ev_span s = { .ctx = c, .parent = parent ? parent->span : NULL,
			.name = ev_prog(), .kind = EV_SPAN_PRODUCER, .start_ns = now, .end_ns = now };
		if (ev_event_getattr(line, len, "id", &v, &n) > 0 && n >= 2 && v[0] == '"') {
			s.evid = v + 1;
			s.evidlen = n - 2;
		}
		ev_otlp_span(ev_otlp_default, &s);
	}
	return 0;
}

struct ev_otlp *
ev_otlp_open(const char *dest)
{
	struct ev_otlp *o;

	if (sodium_init() < 0) {
		ev_warn("libsodium: cannot initialise");
		return NULL;
	}
	o = ev_calloc(1, sizeof *o);
	o->fd = -1;
	o->dest = ev_strdup(dest);
	if (strncmp(dest, "http://", 7) == 0 || strncmp(dest, "https://", 8) == 0) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(o->curl = curl_easy_init())) {
			ev_warn("%s: cannot start libcurl", dest);
			free(o->dest);
			free(o);
			return NULL;
		}
		o->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(o->curl, CURLOPT_URL, dest);
		curl_easy_setopt(o->curl, CURLOPT_HTTPHEADER, o->hdrs);
		curl_easy_setopt(o->curl, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(o->curl, CURLOPT_NOSIGNAL, 1L);
	} else if ((o->fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		ev_warn("%s: cannot open:", dest);
		free(o->dest);
		free(o);
		return NULL;
	}
	return o;
}

void
ev_otlp_span(struct ev_otlp *o, const struct ev_span *s)
{
	char id[33];
	struct ev_buf *b = &o->spans;

	if (o->nspans++)
		ev_buf_addc(b, ',');
	addhex(id, s->ctx.trace, 16);
	ev_buf_printf(b, "{\"traceId\":\"%.32s\"", id);
	addhex(id, s->ctx.span, 8);
	ev_buf_printf(b, ",\"spanId\":\"%.16s\"", id);
	if (s->parent) {
		addhex(id, s->parent, 8);
		ev_buf_printf(b, ",\"parentSpanId\":\"%.16s\"", id);
	}
	ev_buf_adds(b, ",\"name\":");
	ev_buf_addjstr(b, s->name, strlen(s->name));
	ev_buf_printf(b, ",\"kind\":%d,\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\"",
	    s->kind, (long long)s->start_ns, (long long)s->end_ns);
	ev_buf_adds(b, ",\"attributes\":[");
	int first = 1;
	if (s->evid) {
		ev_buf_adds(b, "{\"key\":\"cloudevents.event_id\",\"value\":{\"stringValue\":");
		ev_buf_addjstr(b, s->evid, s->evidlen);
		ev_buf_adds(b, "}}");
		first = 0;
	}
	if (s->attempt > 0)
		ev_buf_printf(b, "%s{\"key\":\"evkit.attempt\",\"value\":{\"intValue\":\"%d\"}}",
		    first ? "" : ",", s->attempt);
	ev_buf_printf(b, "],\"status\":{\"code\":%d}}", s->error ? 2 : 1);
	if (o->nspans >= HOLD_MAX)
		ev_otlp_flush(o);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int
ev_otlp_flush(struct ev_otlp *o)
{
	int rc = 0;

	if (!o || o->nspans == 0)
		return 0;
	ev_buf_reset(&o->req);
	ev_buf_adds(&o->req, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
	    "\"service.name\",\"value\":{\"stringValue\":");
	ev_buf_addjstr(&o->req, ev_prog(), strlen(ev_prog()));
	ev_buf_adds(&o->req, "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"evkit\",\"version\":");
	ev_buf_addjstr(&o->req, EV_VERSION, strlen(EV_VERSION));
	ev_buf_adds(&o->req, "},\"spans\":[");
	ev_buf_add(&o->req, o->spans.p, o->spans.len);
	ev_buf_adds(&o->req, "]}]}]}\n");
	if (o->fd >= 0) {
		if (ev_write_all(o->fd, o->req.p, o->req.len, NULL) < 0) {
			ev_warn("%s: write:", o->dest);
			rc = -1;
		}
	} else {
		long code = 0;
		curl_easy_setopt(o->curl, CURLOPT_POSTFIELDS, o->req.p);
		curl_easy_setopt(o->curl, CURLOPT_POSTFIELDSIZE, (long)o->req.len);
		curl_easy_setopt(o->curl, CURLOPT_WRITEFUNCTION, discard);
		CURLcode cc = curl_easy_perform(o->curl);
		if (cc == CURLE_OK)
			curl_easy_getinfo(o->curl, CURLINFO_RESPONSE_CODE, &code);
		if (cc != CURLE_OK || code < 200 || code > 299) {
			if (!o->warned++ || !ev_quiet)
				ev_warn("%s: spans not sent: %s", o->dest,
				    cc != CURLE_OK ? curl_easy_strerror(cc) : "the collector refused them");
			rc = -1;
		}
	}
	ev_buf_reset(&o->spans);
	o->nspans = 0;
	return rc;
}

int
ev_otlp_close(struct ev_otlp *o)
{
	int rc;

	if (!o)
		return 0;
	rc = ev_otlp_flush(o);
	if (o->fd >= 0 && close(o->fd) < 0) {
		ev_warn("%s: close:", o->dest);
		rc = -1;
	}
	if (o->curl) {
		curl_easy_cleanup(o->curl);
		curl_slist_free_all(o->hdrs);
		curl_global_cleanup();
	}
	ev_buf_free(&o->spans);
	ev_buf_free(&o->req);
	free(o->dest);
	free(o);
	return rc;
}

static void
closeatexit(void)
{
	ev_otlp_close(ev_otlp_default);
	ev_otlp_default = NULL;
}

int
ev_otlp_setup(const char *dest)
{
	if (ev_otlp_default) {
		ev_otlp_close(ev_otlp_default);
		ev_otlp_default = NULL;
	} else {
		atexit(closeatexit);
	}
	return (ev_otlp_default = ev_otlp_open(dest)) ? 0 : -1;
}
