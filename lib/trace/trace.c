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
 * http://localhost:4318/v1/traces) with libcurl. Spans are formatted by hand
 * into one buffer as they end (no allocation per span, no printf) by the
 * threads that record them (evhttp has several; a lock guards the buffer).
 * An exporter thread swaps the buffer out and sends it: at each commit of
 * the input loop, when many are held, every two seconds, and at exit. The
 * tool never waits for the file or the collector, and a collector that is
 * down costs it nothing but the spans (held up to a bound, then dropped
 * and counted).
 *
 * Sampling, as the OpenTelemetry SDKs read it from the environment:
 * OTEL_TRACES_SAMPLER is parentbased_always_on (the default),
 * parentbased_always_off, parentbased_traceidratio, always_on, always_off or
 * traceidratio, with OTEL_TRACES_SAMPLER_ARG the ratio (0 to 1, default 1).
 * "parentbased" follows the sampled flag of the event's traceparent; a new
 * trace (or any trace, without "parentbased") is sampled when its trace id
 * falls in the ratio, so every tool decides alike for one trace. A span is
 * recorded only when sampled; an unsampled event still gets and passes on
 * its traceparent (flags 00).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/write.h"
#include "event/event.h"
#include "trace/trace.h"

#define HOLD_MAX 2048      /* spans held before the exporter is woken */
#define DROP_MAX 65536     /* spans held at most: past it they are dropped */
#define EXPORT_MS 2000     /* the exporter sends what is held at least this often */

/* The tool's threads format spans into spans; one exporter thread of ours
 * swaps that buffer out and sends it (the batch span processor of the
 * OpenTelemetry SDKs): a slow file or collector never holds up the events. */
struct ev_otlp {
	char *dest;
	int fd;            /* a file, or -1 */
	CURL *curl;        /* a collector */
	struct curl_slist *hdrs;
	pthread_mutex_t mu;      /* spans, nspans, want, stop, dropped */
	pthread_cond_t wake;
	pthread_t exporter;
	struct ev_buf spans;     /* under mu */
	struct ev_buf sending;   /* the exporter's */
	size_t nspans, dropped;
	int want, stop;
	int failed;              /* a send failed (the exporter's, read after join) */
	int warned;
};

struct ev_otlp *ev_otlp_default;

static void *exporter(void *arg);

int64_t
ev_trace_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A lowercase hex digit's value plus one, else 0: a table, since the
 * digits of random ids defeat branch prediction. */
static const uint8_t hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
	['e'] = 15, ['f'] = 16,
};

/* n bytes from 2n lowercase hex digits: 0, or -1. */
static int
unhex(const char *s, uint8_t *out, size_t n)
{
	int ok = 1;

	for (size_t i = 0; i < n; i++) {
		unsigned hi = hexval[(unsigned char)s[2 * i]], lo = hexval[(unsigned char)s[2 * i + 1]];
		ok &= hi != 0 && lo != 0;
		out[i] = (uint8_t)((hi - 1) << 4 | ((lo - 1) & 15));
	}
	return ok ? 0 : -1;
}

static int
allzero(const uint8_t *p, size_t n)
{
	uint8_t any = 0;

	for (size_t i = 0; i < n; i++)
		any |= p[i];
	return !any;
}

int
ev_trace_parse(const char *s, size_t n, struct ev_tracectx *c)
{
	if (n != EV_TRACEPARENT_LEN || memcmp(s, "00-", 3) != 0 || s[35] != '-' || s[52] != '-')
		return -1;
	if (unhex(s + 3, c->trace, 16) < 0 || unhex(s + 36, c->span, 8) < 0 ||
	    unhex(s + 53, &c->flags, 1) < 0)
		return -1;
	return allzero(c->trace, sizeof c->trace) || allzero(c->span, sizeof c->span) ? -1 : 0;
}

/* The sampler (see the top): read from the environment once. */
static struct {
	pthread_once_t once;
	int parentbased;
	double ratio;
} sampler = { PTHREAD_ONCE_INIT, 1, 1.0 };

static void
sampler_init(void)
{
	const char *name = getenv("OTEL_TRACES_SAMPLER"), *arg = getenv("OTEL_TRACES_SAMPLER_ARG");
	char *end;

	if (name && *name) {
		sampler.parentbased = strncmp(name, "parentbased_", 12) == 0;
		const char *root = name + (sampler.parentbased ? 12 : 0);
		if (strcmp(root, "always_off") == 0)
			sampler.ratio = 0;
		else if (strcmp(root, "traceidratio") == 0 && arg && *arg) {
			double r = strtod(arg, &end);
			if (*end || !(r >= 0 && r <= 1))
				ev_warn("OTEL_TRACES_SAMPLER_ARG=%s: not a ratio from 0 to 1: "
				    "every trace is sampled", arg);
			else
				sampler.ratio = r;
		} else if (strcmp(root, "always_on") != 0 && strcmp(root, "traceidratio") != 0) {
			ev_warn("OTEL_TRACES_SAMPLER=%s: not a sampler evkit knows: "
			    "parentbased_always_on", name);
			sampler.parentbased = 1;
		}
	}
}

/* Whether a trace is sampled by the ratio: by its id's last 8 bytes, so
 * that every tool decides alike. */
static int
inratio(const uint8_t trace[16])
{
	uint64_t x = 0;

	if (sampler.ratio >= 1)
		return 1;
	for (int i = 8; i < 16; i++)
		x = x << 8 | trace[i];
	return (double)(x >> 11) < sampler.ratio * 9007199254740992.0; /* 2^53 */
}

/* Whether the \u escape at p[i] is in a key: the string it is in is
 * followed by a colon. (Starting inside a string at a backslash before a
 * 'u', escapes pair up as a parse from the string's start pairs them.) */
static int
inkey(const char *p, size_t n, size_t i)
{
	while (i < n && p[i] != '"')
		i += p[i] == '\\' ? 2 : 1;
	for (i++; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'); i++)
		;
	return i < n && p[i] == ':';
}

/* Whether a line may have a member named traceparent: it has the word, or
 * a key with a \u escape (the only escape that can spell a letter). Every
 * event without a trace is looked through on each --otlp run, so this is
 * its whole cost: memmem and memchr took 12% of evfilter's time on such
 * events. Here, one pass 32 bytes at a time (GCC and Clang vectors: AVX2
 * where the CPU has it, chosen at load time on x86-64 Linux, else SSE2,
 * NEON or plain words) gathers the places to look at: a 't' with a 'p'
 * five bytes on and a 't' ten bytes on, or a backslash before a 'u'. Most
 * lines have neither (one test for the whole line). A \u is usually in a
 * value: only one in a key has the line parsed. The last block overlaps
 * the one before rather than leave a tail to a byte loop. */
#define BLOCK 32
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
static int
maynametp(const char *p, size_t n)
{
	typedef unsigned char vec __attribute__((vector_size(BLOCK)));
	vec a, b, c, d, anyt = { 0 }, anyu = { 0 };
	uint64_t w[2 * BLOCK / 8], t = 0, u = 0;
	const char *q;

	if (n < BLOCK + 10) {
		if (memmem(p, n, "traceparent", 11))
			return 1;
		goto escapes;
	}
	for (size_t i = 0;; i += BLOCK) {
		if (i > n - BLOCK - 10)
			i = n - BLOCK - 10;
		memcpy(&a, p + i, BLOCK);
		memcpy(&b, p + i + 1, BLOCK);
		memcpy(&c, p + i + 5, BLOCK);
		memcpy(&d, p + i + 10, BLOCK);
		anyt |= (vec)((a == 't') & (c == 'p') & (d == 't'));
		anyu |= (vec)((a == '\\') & (b == 'u'));
		if (i == n - BLOCK - 10)
			break;
	}
	memcpy(w, &anyt, sizeof anyt);
	memcpy(w + BLOCK / 8, &anyu, sizeof anyu);
	for (size_t k = 0; k < BLOCK / 8; k++) {
		t |= w[k];
		u |= w[BLOCK / 8 + k];
	}
	if (t)
		return 1;
	/* the last ten bytes can hold a \u but not the word */
	for (size_t i = n - 10; i + 1 < n; i++)
		u |= p[i] == '\\' && p[i + 1] == 'u';
	if (!u)
		return 0;
escapes:
	for (q = p; (q = memchr(q, '\\', (size_t)(p + n - q))) && q + 1 < p + n; q += 2)
		if (q[1] == 'u' && inkey(p, n, (size_t)(q - p)))
			return 1;
	return 0;
}

/* The line's traceparent value where evkit puts it, last:
 * ...,"traceparent":"00-...-01"} (a string of hex digits and dashes before
 * the final brace is a member of the outermost object), of
 * EV_TRACEPARENT_LEN bytes (not yet checked): 1 and *v, or 0. */
static int
tplast(const char *line, size_t len, const char **v)
{
	static const char key[] = ",\"traceparent\":\"";
	const size_t kl = sizeof key - 1, tl = EV_TRACEPARENT_LEN;
	size_t end = len;

	while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == ' ' || line[end - 1] == '\r'))
		end--;
	if (end > kl + tl + 2 && line[end - 1] == '}' && line[end - 2] == '"' &&
	    memcmp(line + end - 2 - tl - kl, key, kl) == 0) {
		*v = line + end - 2 - tl;
		return 1;
	}
	return 0;
}

/* The line's traceparent value, wherever it is: 1 and *v, or 0. */
static int
tpvalue(const char *line, size_t len, const char **v)
{
	size_t n;

	if (tplast(line, len, v))
		return 1;
	/* Elsewhere, or not at all: only a line that may name it is parsed. */
	if (!maynametp(line, len) || ev_event_getattr(line, len, "traceparent", v, &n) <= 0 ||
	    n != EV_TRACEPARENT_LEN + 2 || **v != '"')
		return 0;
	++*v;
	return 1;
}

int
ev_trace_fromline(const char *line, size_t len, struct ev_tracectx *c)
{
	const char *v;

	return tpvalue(line, len, &v) && ev_trace_parse(v, EV_TRACEPARENT_LEN, c) == 0;
}

/* The span parent of a traceparent value v (see ev_trace_spanparent). */
static int
spanparent(const char *v, struct ev_tracectx *c)
{
	pthread_once(&sampler.once, sampler_init);
	/* parent-based: the flags alone decide, and most traces are not kept */
	if (sampler.parentbased && !((hexval[(unsigned char)v[54]] - 1) & 1))
		return 0;
	return ev_trace_parse(v, EV_TRACEPARENT_LEN, c) == 0 && ev_trace_keeps(c);
}

int
ev_trace_spanparent(const char *line, size_t len, struct ev_tracectx *c)
{
	const char *v;

	return tpvalue(line, len, &v) && spanparent(v, c);
}

int
ev_trace_spanparent_last(const char *line, size_t len, struct ev_tracectx *c)
{
	const char *v;

	return tplast(line, len, &v) ? spanparent(v, c) : -1;
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

/* Random ids from a pool of the thread's, refilled 4 KiB at a time: no
 * system call and no lock per event (evhttp's threads each have one). */
static void
randomid(uint8_t *p, size_t n)
{
	static _Thread_local uint8_t pool[4096];
	static _Thread_local size_t left;

	do {
		if (left < n) {
			randombytes_buf(pool, sizeof pool);
			left = sizeof pool;
		}
		memcpy(p, pool + sizeof pool - left, n);
		left -= n;
	} while (allzero(p, n));
}

int
ev_trace_keeps(const struct ev_tracectx *parent)
{
	pthread_once(&sampler.once, sampler_init);
	return sampler.parentbased ? parent->flags & 1 : inratio(parent->trace);
}

void
ev_trace_child(const struct ev_tracectx *parent, struct ev_tracectx *c)
{
	pthread_once(&sampler.once, sampler_init);
	if (parent) {
		memcpy(c->trace, parent->trace, sizeof c->trace);
		c->flags = (uint8_t)((parent->flags & ~1) | ev_trace_keeps(parent));
	} else {
		randomid(c->trace, sizeof c->trace);
		c->flags = (uint8_t)inratio(c->trace);
	}
	randomid(c->span, sizeof c->span);
}

int
ev_trace_put(struct ev_buf *out, const char *line, size_t len, const struct ev_tracectx *c)
{
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
	tp[0] = '"';
	ev_trace_format(c, tp + 1);
	tp[EV_TRACEPARENT_LEN + 1] = '"';
	tp[EV_TRACEPARENT_LEN + 2] = '\0';
	return ev_event_addattr(out, line, len, "traceparent", tp) < 0 ? -1 : 1;
}

int
ev_trace_stamp(struct ev_buf *out, const char *line, size_t len,
    const struct ev_tracectx *parent)
{
	struct ev_tracectx c;
	const char *v;
	size_t n;
	int r;

	ev_trace_child(parent, &c);
	if ((r = ev_trace_put(out, line, len, &c)) <= 0)
		return r;
	if (ev_otlp_default && ev_trace_sampled(&c)) {
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

/* The request's head, before the spans (see the top): each buffer of spans
 * starts with it, and gets its tail when it is sent, so that the spans are
 * never copied. */
static void
envelope_head(struct ev_buf *b)
{
	ev_buf_reset(b);
	ev_buf_adds(b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
	    "\"service.name\",\"value\":{\"stringValue\":");
	ev_buf_addjstr(b, ev_prog(), strlen(ev_prog()));
	ev_buf_adds(b, "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"evkit\",\"version\":");
	ev_buf_addjstr(b, EV_VERSION, strlen(EV_VERSION));
	ev_buf_adds(b, "},\"spans\":[");
}

#define ENVELOPE_TAIL "]}]}]}\n"

static int
collector_init(struct ev_otlp *o, const char *dest)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(o->curl = curl_easy_init())) {
		ev_warn("%s: cannot start libcurl", dest);
		return -1;
	}
	o->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(o->curl, CURLOPT_URL, dest);
	curl_easy_setopt(o->curl, CURLOPT_HTTPHEADER, o->hdrs);
	curl_easy_setopt(o->curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(o->curl, CURLOPT_NOSIGNAL, 1L);
	return 0;
}

struct ev_otlp *
ev_otlp_open(const char *dest)
{
	struct ev_otlp *o;
	int rc;

	if (sodium_init() < 0) {
		ev_warn("libsodium: cannot initialise");
		return NULL;
	}
	o = ev_calloc(1, sizeof *o);
	o->fd = -1;
	if (strncmp(dest, "http://", 7) == 0 || strncmp(dest, "https://", 8) == 0)
		rc = collector_init(o, dest);
	else if ((rc = o->fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		ev_warn("%s: cannot open:", dest);
	if (rc < 0) {
		free(o);
		return NULL;
	}
	o->dest = ev_strdup(dest);
	envelope_head(&o->spans);
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->wake, NULL);
	pthread_once(&sampler.once, sampler_init);
	if ((errno = pthread_create(&o->exporter, NULL, exporter, o)) != 0) {
		ev_warn("%s: cannot start the span exporter:", dest);
		o->stop = 1;
		ev_otlp_close(o);
		return NULL;
	}
	return o;
}

/* Span formatting, by hand: the fixed parts need at most FIXED_MAX bytes. */
#define FIXED_MAX 512

static char *
put(char *o, const char *s)
{
	size_t n = strlen(s);

	memcpy(o, s, n);
	return o + n;
}

static char *
puthex(char *o, const uint8_t *p, size_t n)
{
	addhex(o, p, n);
	return o + 2 * n;
}

static char *
putdec(char *o, uint64_t v)
{
	char d[24];
	size_t n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*o++ = d[--n];
	return o;
}

/* A JSON string: copied when it needs no escape (an event id usually). */
static void
addstr(struct ev_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
			ev_buf_addjstr(b, s, n);
			return;
		}
	}
	ev_buf_grow(b, n + 2);
	b->p[b->len++] = '"';
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

/* One span's JSON, appended to b. */
static void
format_span(struct ev_buf *b, const struct ev_span *s)
{
	char *o;

	ev_buf_grow(b, FIXED_MAX);
	o = put(b->p + b->len, "{\"traceId\":\"");
	o = puthex(o, s->ctx.trace, 16);
	o = puthex(put(o, "\",\"spanId\":\""), s->ctx.span, 8);
	if (s->parent)
		o = puthex(put(o, "\",\"parentSpanId\":\""), s->parent, 8);
	o = putdec(put(o, "\",\"kind\":"), (uint64_t)s->kind);
	o = putdec(put(o, ",\"startTimeUnixNano\":\""), (uint64_t)s->start_ns);
	o = putdec(put(o, "\",\"endTimeUnixNano\":\""), (uint64_t)s->end_ns);
	o = put(o, "\",\"status\":{\"code\":");
	*o++ = s->error ? '2' : '1';
	o = put(o, "},\"attributes\":[");
	if (s->attempt > 0)
		o = put(putdec(put(o, "{\"key\":\"evkit.attempt\",\"value\":{\"intValue\":\""),
		    (uint64_t)s->attempt), "\"}},");
	if (s->httpstatus > 0)
		o = put(putdec(put(o, "{\"key\":\"http.response.status_code\",\"value\":"
		    "{\"intValue\":\""), (uint64_t)s->httpstatus), "\"}},");
	b->len = (size_t)(o - b->p);
	if (s->evid) {
		ev_buf_adds(b, "{\"key\":\"cloudevents.event_id\",\"value\":{\"stringValue\":");
		addstr(b, s->evid, s->evidlen);
		ev_buf_adds(b, "}},");
	}
	if (b->p[b->len - 1] == ',')
		b->len--;
	ev_buf_adds(b, "],\"name\":");
	addstr(b, s->name, strlen(s->name));
	ev_buf_addc(b, '}');
}

void
ev_otlp_span(struct ev_otlp *o, const struct ev_span *s)
{
	if (!ev_trace_sampled(&s->ctx))
		return;
	pthread_mutex_lock(&o->mu);
	if (o->nspans >= DROP_MAX) {
		o->dropped++;
	} else {
		if (o->nspans++)
			ev_buf_addc(&o->spans, ',');
		format_span(&o->spans, s);
		if (o->nspans == HOLD_MAX)
			pthread_cond_signal(&o->wake);
	}
	pthread_mutex_unlock(&o->mu);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* The request in o->sending to the file or the collector: 0, or -1
 * reported. */
static int
send_req(struct ev_otlp *o)
{
	long code = 0;
	CURLcode cc;

	if (o->fd >= 0) {
		if (ev_write_all(o->fd, o->sending.p, o->sending.len, NULL) == 0)
			return 0;
		ev_warn("%s: write:", o->dest);
		return -1;
	}
	curl_easy_setopt(o->curl, CURLOPT_POSTFIELDS, o->sending.p);
	curl_easy_setopt(o->curl, CURLOPT_POSTFIELDSIZE, (long)o->sending.len);
	curl_easy_setopt(o->curl, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(o->curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(o->curl, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK && code >= 200 && code <= 299)
		return 0;
	if (!o->warned++ || !ev_quiet)
		ev_warn("%s: spans not sent: %s", o->dest,
		    cc != CURLE_OK ? curl_easy_strerror(cc) : "the collector refused them");
	return -1;
}

/* The exporter: waits for spans to send (HOLD_MAX of them, a flush, or
 * EXPORT_MS), sends them outside the lock, and at stop sends what is left. */
static void *
exporter(void *arg)
{
	struct ev_otlp *o = arg;
	struct ev_buf t;
	struct timespec until;
	size_t dropped, n;
	int last;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += EXPORT_MS / 1000;
		while (!o->stop && !o->want && o->nspans < HOLD_MAX &&
		    pthread_cond_timedwait(&o->wake, &o->mu, &until) == 0)
			;
		last = o->stop;
		o->want = 0;
		dropped = o->dropped;
		o->dropped = 0;
		t = o->sending;
		o->sending = o->spans;
		o->spans = t;
		envelope_head(&o->spans);
		n = o->nspans;
		o->nspans = 0;
		pthread_mutex_unlock(&o->mu);
		if (dropped)
			ev_warn("%s: %zu spans dropped: more than %d waited to be sent",
			    o->dest, dropped, DROP_MAX);
		if (n && last && o->failed) {
			/* at exit, after a send failed: no second wait for it */
			ev_warn("%s: the last spans not sent", o->dest);
		} else if (n) {
			ev_buf_adds(&o->sending, ENVELOPE_TAIL);
			if (send_req(o) < 0)
				o->failed = 1;
		}
		if (last)
			return NULL;
		pthread_mutex_lock(&o->mu);
	}
}

void
ev_otlp_flush(struct ev_otlp *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	if (o->nspans) {
		o->want = 1;
		pthread_cond_signal(&o->wake);
	}
	pthread_mutex_unlock(&o->mu);
}

int
ev_otlp_close(struct ev_otlp *o)
{
	int rc;

	if (!o)
		return 0;
	pthread_mutex_lock(&o->mu);
	if (!o->stop) {
		o->stop = 1;
		pthread_cond_signal(&o->wake);
		pthread_mutex_unlock(&o->mu);
		pthread_join(o->exporter, NULL);
	} else {
		pthread_mutex_unlock(&o->mu); /* it never started */
	}
	rc = o->failed ? -1 : 0;
	if (o->fd >= 0 && close(o->fd) < 0) {
		ev_warn("%s: close:", o->dest);
		rc = -1;
	}
	if (o->curl) {
		curl_easy_cleanup(o->curl);
		curl_slist_free_all(o->hdrs);
		curl_global_cleanup();
	}
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->wake);
	ev_buf_free(&o->spans);
	ev_buf_free(&o->sending);
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
