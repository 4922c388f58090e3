/* SPDX-License-Identifier: ISC */
/* server.c — evhttp's server over libmicrohttpd, one thread per connection.
 *
 * Ingest. Each output location (a route's destination) has a lane: a queue
 * of requests whose events wait for a commit, and a writer thread. The
 * writer takes every request queued, writes their events, commits once
 * (group commit: requests that arrive together share one fdatasync), then
 * wakes them; only then does a request answer 2xx. A failed write or commit
 * answers 503 to the whole batch, closes the output and opens it again a
 * second later: nothing acknowledged is ever lost (a failed batch may still
 * have reached the disk, so a retrying sender may cause a duplicate, never a
 * gap). Too many bytes waiting for the writer answers 429.
 *
 * Subscriptions (subscribe.c). Each subscriber reads the served spool or
 * file at its own pace, so a slow one holds back nobody: near the spool's
 * end from a window of its newest events shared by all, further behind
 * with a reader of its own. One watcher thread sees it grow (watch.h) and
 * pokes every subscriber (a condition of its own; a WebSocket's pipe);
 * ingest into the same spool pokes them once its requests are answered. A subscriber whose client
 * stops reading fills its bounded buffer and is dropped after the idle
 * timeout, with the reason logged (and, on a WebSocket, in the close frame);
 * it resumes by position.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/time.h"
#include "base/err.h"
#include "base/mem.h"
#include "event/event.h"
#include "http/ingest.h"
#include "http/page.h"
#include "http/reqtrace.h"
#include "http/server.h"
#include "http/whsig.h"
#include "http/ws.h"
#include "io/loc.h"
#include "io/watch.h"
#include "json/jq.h"
#include "json/jsonscan.h"
#include "route/topic.h"
#include "spool/spool.h"

#define MAXHDRS 128     /* headers looked at per request */

#include "http/httpd.h"

int64_t
httpd_nowms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
nowns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
httpd_count(struct ev_httpd *h, uintmax_t *field, uintmax_t n)
{
	pthread_mutex_lock(&h->statmu);
	*field += n;
	pthread_mutex_unlock(&h->statmu);
}

void
ev_httpd_getstats(struct ev_httpd *h, struct ev_httpd_stats *st)
{
	pthread_mutex_lock(&h->statmu);
	*st = h->st;
	pthread_mutex_unlock(&h->statmu);
	pthread_mutex_lock(&h->submu);
	st->connected = h->nsubs;
	pthread_mutex_unlock(&h->submu);
}

void
ev_httpd_conf_default(struct ev_httpd_conf *c)
{
	memset(c, 0, sizeof *c);
	c->listen_fd = -1;
	c->sync = EV_SYNC_AUTO;
	c->tolerance_s = EV_WHSIG_TOLERANCE;
	c->max_body = 1 << 20;
	c->max_header = 16 << 10;
	c->max_conns = 1024;
	c->idle_timeout_s = 60;
	c->request_timeout_s = 30;
	c->max_queue = 64 << 20;
	c->sub_buffer = 64 << 10;
	c->keepalive_s = 15;
}

/* ---- ingest ------------------------------------------------------------ */

/* Answer the requests of a batch, each through its own lock and condition:
 * a commit wakes just the threads whose requests it settled. */
static void
lane_settle(struct lane *ln, struct req *list, int status)
{
	struct req *next;

	pthread_mutex_lock(&ln->mu);
	for (struct req *r = list; r; r = r->next)
		ln->queued -= r->ev.len;
	pthread_mutex_unlock(&ln->mu);
	for (struct req *r = list; r; r = next) {
		next = r->next; /* r is its thread's once it sees its status */
		pthread_mutex_lock(&r->mu);
		r->status = status;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
}

static void *
lane_writer(void *arg)
{
	struct lane *ln = arg;

	pthread_mutex_lock(&ln->mu);
	for (;;) {
		struct req *list;
		int status = 200;
		uintmax_t events = 0;

		ln->waiting = 1;
		while (!ln->head && !ln->stop)
			pthread_cond_wait(&ln->work, &ln->mu);
		ln->waiting = 0;
		if (!ln->head)
			break;
		list = ln->head;
		ln->head = NULL;
		ln->tail = &ln->head;
		pthread_mutex_unlock(&ln->mu);

		if (!ln->sink && httpd_nowms() >= ln->failed_until)
			ln->sink = ev_sink_open(ln->dest, ln->h->c.sync);
		if (!ln->sink)
			status = 503;
		for (struct req *r = list; r && status == 200; r = r->next) {
			for (size_t i = 0; i < r->ev.len && status == 200;) {
				char *nl = memchr(r->ev.p + i, '\n', r->ev.len - i);

				if (ev_sink_write(ln->sink, r->ev.p + i, (size_t)(nl - r->ev.p) - i) < 0)
					status = 503;
				i = (size_t)(nl - r->ev.p) + 1;
			}
			events += r->n;
		}
		if (status == 200 && ev_sink_commit(ln->sink) < 0)
			status = 503;
		if (status != 200) {
			if (ln->sink)
				ev_sink_close(ln->sink); /* the failure is reported; reopen later */
			ln->sink = NULL;
			ln->failed_until = httpd_nowms() + 1000;
			ln->status = EV_TEMPFAIL;
		} else {
			httpd_count(ln->h, &ln->h->st.events, events);
		}
		lane_settle(ln, list, status);
		/* the answers first: subscribers are told after */
		if (status == 200 && ln->serves)
			httpd_pokeall(ln->h);
		pthread_mutex_lock(&ln->mu);
	}
	pthread_mutex_unlock(&ln->mu);
	return NULL;
}

/* Queue a request's events and wait for their commit: 200, 429 or 503. */
static int
lane_submit(struct lane *ln, struct req *r)
{
	int st;

	pthread_mutex_lock(&ln->mu);
	if (ln->stop || httpd_nowms() < ln->failed_until) {
		pthread_mutex_unlock(&ln->mu);
		return 503;
	}
	if (ln->queued + r->ev.len > ln->h->c.max_queue && ln->queued > 0) {
		pthread_mutex_unlock(&ln->mu);
		return 429;
	}
	r->status = 0;
	r->next = NULL;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	*ln->tail = r;
	ln->tail = &r->next;
	ln->queued += r->ev.len;
	/* a writer that is writing takes every request queued when it is done */
	if (ln->waiting)
		pthread_cond_signal(&ln->work);
	pthread_mutex_unlock(&ln->mu);
	pthread_mutex_lock(&r->mu);
	while (!r->status)
		pthread_cond_wait(&r->cv, &r->mu);
	st = r->status;
	pthread_mutex_unlock(&r->mu);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	return st;
}

/* ---- requests ------------------------------------------------------------ */

struct conn {
	enum { C_NEW, C_BODY, C_DONE } state;
	struct ev_buf body;
	int toobig;
	int subscriber;
	int64_t start;       /* ms, monotonic */
	int64_t start_ns;    /* the same, in ns: for the latency histogram */
};

struct hdrs {
	struct ev_hdr h[MAXHDRS];
	size_t n;
};

static enum MHD_Result
collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdrs *hs = cls;

	(void)kind;
	if (hs->n < MAXHDRS && key) {
		hs->h[hs->n].name = key;
		hs->h[hs->n].value = value ? value : "";
		hs->n++;
	}
	return MHD_YES;
}

static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned status, const char *ctype, const char *body,
    size_t len, const char *retry)
{
	struct MHD_Response *rs;
	enum MHD_Result r;

	rs = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!rs)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(rs, "Content-Type", ctype);
	if (retry)
		MHD_add_response_header(rs, "Retry-After", retry);
	if (status == 401)
		MHD_add_response_header(rs, "WWW-Authenticate", "Bearer");
	r = MHD_queue_response(conn, status, rs);
	MHD_destroy_response(rs);
	return r;
}

enum MHD_Result
httpd_jsonerr(struct MHD_Connection *conn, unsigned status, const char *msg, const char *retry)
{
	struct ev_buf b = { 0 };
	enum MHD_Result r;

	ev_buf_adds(&b, "{\"error\":");
	ev_buf_addjstr(&b, msg, strlen(msg));
	ev_buf_adds(&b, "}\n");
	r = respond(conn, status, "application/json", b.p, b.len, retry);
	ev_buf_free(&b);
	return r;
}

void
httpd_peername(struct MHD_Connection *conn, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	snprintf(buf, n, "?");
	if (ci && ci->client_addr &&
	    getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ?
		sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), host, sizeof host,
		serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(buf, n, "%s:%s", host, serv);
}

static int
authorized(struct ev_httpd *h, struct MHD_Connection *conn)
{
	const char *a;
	size_t n;

	if (!h->c.bearer)
		return 1;
	a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	n = strlen(a);
	return n == h->c.bearerlen && sodium_memcmp(a, h->c.bearer, n) == 0;
}

/* The webhook signature a secret asks for: NULL when it verifies, else why not. */
static const char *
badsignature(struct ev_httpd *h, const struct hdrs *hs, const struct conn *cs)
{
	const struct ev_whsig_keys k = { h->c.whkey, h->c.whkeylen, h->c.ghkey, h->c.ghkeylen,
		h->c.tolerance_s };

	return ev_whsig_request(&k, hs->h, hs->n, cs->body.p ? cs->body.p : "", cs->body.len,
	    (long long)time(NULL));
}

static void
keepreject(struct ev_httpd *h, const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	if (!h->rejects)
		return;
	pthread_mutex_lock(&h->rejmu);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;

		if (le > p && ev_sink_write(h->rejects, p, (size_t)(le - p)) < 0)
			break;
		p = nl ? nl + 1 : end;
	}
	ev_sink_commit(h->rejects);
	pthread_mutex_unlock(&h->rejmu);
}

/* The answer to a request whose events were parsed: 200 once they are
 * committed, else 429 or 503 (st). */
static enum MHD_Result
accepted(struct ev_httpd *h, struct MHD_Connection *conn, int st, size_t n)
{
	char ok[64], ra[16];
	int len;

	if (st == 200) {
		len = snprintf(ok, sizeof ok, "{\"accepted\":%zu}\n", n);
		return respond(conn, 200, "application/json", ok, (size_t)len, NULL);
	}
	httpd_count(h, &h->st.refused, 1);
	snprintf(ra, sizeof ra, "%d", st == 429 ? 1 : 5);
	return httpd_jsonerr(conn, (unsigned)st, st == 429 ?
	    "the output is behind: too many events wait for a commit" :
	    "the output failed (disk full?): nothing of this request was acknowledged", ra);
}

/* The request's events (ev_ingest_parse): 0, or the status of a refusal,
 * answered (401 a bad signature; 400, 415 bad input). */
static int
parse(struct ev_httpd *h, struct MHD_Connection *conn, const struct ev_httpd_route *rt,
    const struct ev_ingest_req *ir, struct req *r, enum MHD_Result *res)
{
	struct ev_buf err = { 0 };
	char peer[PEERMAX];
	int st;

	/* the events are the body and what completing them adds: grown once,
	 * not doubled from nothing through a copy of each size */
	ev_buf_grow(&r->ev, ir->len + ir->len / 4 + 4096);
	st = ev_ingest_parse(ir, &r->ev, &r->n, &err);

	if (st) {
		httpd_peername(conn, peer, sizeof peer);
		if (!ev_quiet)
			ev_warn("%s: %s: %u: %s", peer, rt->path, st, err.p);
		if (st == 400) {
			httpd_count(h, &h->st.rejected, 1);
			keepreject(h, ir->body, ir->len);
		}
		*res = httpd_jsonerr(conn, (unsigned)st, err.p, NULL);
	}
	ev_buf_free(&err);
	return st;
}

static enum MHD_Result
ingest(struct ev_httpd *h, struct MHD_Connection *conn, size_t route, struct conn *cs)
{
	const struct ev_httpd_route *rt = &h->c.routes[route];
	struct hdrs hs = { .n = 0 };
	struct ev_ingest_req ir = { .source = h->c.source, .type = rt->type };
	struct ev_reqtrace tr;
	struct req r = { 0 };
	const char *why, *t;
	char peer[PEERMAX];
	enum MHD_Result res;
	int st;

	httpd_count(h, &h->st.requests, 1);
	httpd_count(h, &h->st.bytes_in, cs->body.len);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect, &hs);
	if ((why = badsignature(h, &hs, cs))) {
		httpd_peername(conn, peer, sizeof peer);
		ev_warn("%s: %s: refused: %s", peer, rt->path, why);
		return httpd_jsonerr(conn, 401, why, NULL);
	}
	if (h->c.type_header && (t = ev_hdr_get(hs.h, hs.n, h->c.type_header)) && *t)
		ir.type = t;
	ir.ctype = ev_hdr_get(hs.h, hs.n, "Content-Type");
	ir.hdrs = hs.h;
	ir.nhdrs = hs.n;
	ir.body = cs->body.p ? cs->body.p : "";
	ir.len = cs->body.len;
	ev_reqtrace_begin(&tr, hs.h, hs.n);
	ir.trace = tr.on ? &tr.ctx : NULL;
	if ((st = parse(h, conn, rt, &ir, &r, &res)) == 0) {
		st = r.n ? lane_submit(&h->lanes[h->routelane[route]], &r) : 200;
		res = accepted(h, conn, st, r.n);
	}
	ev_reqtrace_end(&tr, rt->path, st, r.ev.p, r.ev.len, r.n);
	ev_buf_free(&r.ev);
	return res;
}

/* The CloudEvents webhook abuse-protection handshake (OPTIONS). */
static enum MHD_Result
handshake(struct MHD_Connection *conn)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "WebHook-Request-Origin");
	const char *rate = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "WebHook-Request-Rate");
	struct MHD_Response *rs = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result r;

	if (!rs)
		return MHD_NO;
	MHD_add_response_header(rs, "Allow", "GET, POST, OPTIONS");
	if (origin) {
		MHD_add_response_header(rs, "WebHook-Allowed-Origin", origin);
		if (rate)
			MHD_add_response_header(rs, "WebHook-Allowed-Rate", "*");
	}
	r = MHD_queue_response(conn, 200, rs);
	MHD_destroy_response(rs);
	return r;
}

static enum MHD_Result
stat_json(struct ev_httpd *h, struct MHD_Connection *conn)
{
	struct ev_spool *sp;
	struct ev_spool_stat st;
	struct ev_buf b = { 0 };
	enum MHD_Result r;

	if (h->servefile)
		return httpd_jsonerr(conn, 404, "a file is served here, not a spool: no status "
		    "(evspool stat)", NULL);
	sp = ev_spool_open(h->c.serve, EV_SPOOL_RDONLY);
	if (!sp || ev_spool_stat(sp, &st) < 0) {
		if (sp)
			ev_spool_close(sp);
		return httpd_jsonerr(conn, 500, "cannot read the spool's status", NULL);
	}
	ev_spool_stat_json(&b, h->c.serve, &st);
	ev_spool_stat_free(&st);
	ev_spool_close(sp);
	r = respond(conn, 200, "application/json", b.p, b.len, NULL);
	ev_buf_free(&b);
	return r;
}

/* ---- dispatch --------------------------------------------------------------- */

static long
findroute(struct ev_httpd *h, const char *url)
{
	for (size_t i = 0; i < h->c.nroutes; i++)
		if (strcmp(h->c.routes[i].path, url) == 0)
			return (long)i;
	return -1;
}

/* A request's first call: its state; a refusal before the body (401, 413). */
static enum MHD_Result
newrequest(struct ev_httpd *h, struct MHD_Connection *conn, const char *method, long route,
    void **con_cls)
{
	struct conn *cs = ev_calloc(1, sizeof *cs);
	const char *cl;

	cs->start = httpd_nowms();
	cs->start_ns = nowns();
	*con_cls = cs;
	if (strcmp(method, "OPTIONS") == 0)
		return MHD_YES;
	if (!authorized(h, conn)) {
		cs->state = C_DONE;
		return httpd_jsonerr(conn, 401, "a valid bearer token is required", NULL);
	}
	if (strcmp(method, "POST") == 0 && route >= 0 &&
	    (cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length"))) {
		unsigned long long len = strtoull(cl, NULL, 10);

		if (len > h->c.max_body) {
			cs->state = C_DONE;
			return httpd_jsonerr(conn, 413, "the body is larger than --max-body", NULL);
		}
		/* taken in one piece; a length claimed, not yet sent, reserves
		 * at most a megabyte */
		if (len > 0)
			ev_buf_grow(&cs->body, len < (1 << 20) ? (size_t)len : 1 << 20);
	}
	return MHD_YES;
}

/* A piece of a request's body. */
static enum MHD_Result
upload(struct ev_httpd *h, struct MHD_Connection *conn, const char *url, const char *method,
    long route, struct conn *cs, const char *data, size_t *size)
{
	if (httpd_nowms() - cs->start > (int64_t)h->c.request_timeout_s * 1000) {
		char peer[PEERMAX];

		httpd_peername(conn, peer, sizeof peer);
		ev_warn("%s: %s: a request body too slow to arrive: closed", peer, url);
		return MHD_NO;
	}
	if (cs->body.len + *size > h->c.max_body)
		cs->toobig = 1;
	else if (route >= 0 && strcmp(method, "POST") == 0)
		ev_buf_add(&cs->body, data, *size);
	*size = 0;
	return MHD_YES;
}

static enum MHD_Result
notallowed(struct ev_httpd *h, struct MHD_Connection *conn, const char *url, long route)
{
	struct MHD_Response *rs;
	enum MHD_Result r;
	static const char msg[] = "{\"error\":\"method not allowed\"}\n";

	rs = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(rs, "Allow", route >= 0 ? h->c.serve &&
	    strcmp(url, "/events") == 0 ? "GET, POST, OPTIONS" : "POST, OPTIONS" : "GET, HEAD");
	MHD_add_response_header(rs, "Content-Type", "application/json");
	r = MHD_queue_response(conn, 405, rs);
	MHD_destroy_response(rs);
	return r;
}

/* GET and HEAD of the paths that are not routes: the subscription, the
 * status, the page. */
static enum MHD_Result
getpath(struct ev_httpd *h, struct MHD_Connection *conn, const char *url, const char *method,
    struct conn *cs)
{
	if ((strcmp(url, "/events") != 0 || !h->c.serve) && strcmp(url, "/stat") != 0 &&
	    strcmp(url, "/") != 0)
		return httpd_jsonerr(conn, 404, "no such path", NULL);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return notallowed(h, conn, url, -1);
	if (strcmp(url, "/events") == 0) {
		cs->subscriber = 1;
		return httpd_subscribe(h, conn);
	}
	if (strcmp(url, "/stat") == 0) {
		if (!h->c.serve)
			return httpd_jsonerr(conn, 404, "no spool is served here (evhttp -i SPOOL)", NULL);
		return stat_json(h, conn);
	}
	return respond(conn, 200, "text/html; charset=utf-8", ev_http_page, ev_http_page_len, NULL);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *data, size_t *size, void **con_cls)
{
	struct ev_httpd *h = cls;
	struct conn *cs = *con_cls;
	long route = findroute(h, url);

	(void)version;
	if (!cs)
		return newrequest(h, conn, method, route, con_cls);
	if (cs->state == C_DONE) {
		*size = 0;
		return MHD_YES;
	}
	if (*size)
		return upload(h, conn, url, method, route, cs, data, size);
	cs->state = C_DONE;
	if (strcmp(method, "OPTIONS") == 0)
		return handshake(conn);
	if (route >= 0 && strcmp(method, "GET") == 0 && strcmp(url, "/events") == 0 && h->c.serve) {
		cs->subscriber = 1;
		return httpd_subscribe(h, conn);
	}
	if (route < 0)
		return getpath(h, conn, url, method, cs);
	if (strcmp(method, "POST") != 0)
		return notallowed(h, conn, url, route);
	if (cs->toobig)
		return httpd_jsonerr(conn, 413, "the body is larger than --max-body", NULL);
	return ingest(h, conn, (size_t)route, cs);
}

/* A request ended: its status and, but for a subscription, its latency. */
static void
measured(struct ev_httpd *h, struct MHD_Connection *conn, const struct conn *cs)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
	unsigned code = ci ? ci->http_status : 0;

	if (code < 100 || code >= 100 + EV_HTTPD_NSTATUS)
		return;
	pthread_mutex_lock(&h->statmu);
	h->st.status[code - 100]++;
	if (!cs->subscriber)
		ev_promhist_add(&h->st.latency, (double)(nowns() - cs->start_ns) / 1e9);
	pthread_mutex_unlock(&h->statmu);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *cs = *con_cls;
	struct ev_httpd *h = cls;

	if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED && cs && cs->subscriber) {
		char peer[PEERMAX];

		httpd_peername(conn, peer, sizeof peer);
		ev_warn("%s: subscriber dropped: nothing read for %u s", peer, h->c.idle_timeout_s);
		httpd_count(h, &h->st.dropped, 1);
	}
	if (cs) {
		measured(h, conn, cs);
		ev_buf_free(&cs->body);
		free(cs);
		*con_cls = NULL;
	}
}

static void
mhdlog(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (!ev_quiet)
		ev_warn("%s", buf);
}

/* ---- start and stop --------------------------------------------------------- */

static char *
slurp(const char *path)
{
	struct ev_buf b = { 0 };
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ev_warn("%s: open:", path);
		return NULL;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0)
		ev_buf_add(&b, buf, (size_t)n);
	if (n < 0) {
		ev_warn("%s: read:", path);
		close(fd);
		ev_buf_free(&b);
		return NULL;
	}
	close(fd);
	if (!b.p)
		ev_buf_adds(&b, "");
	return b.p;
}

static int
parseaddr(const char *listen, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE,
		.ai_socktype = SOCK_STREAM }, *ai;
	size_t hl;
	int rc;

	if (!colon || !colon[1]) {
		ev_warn("-l %s: HOST:PORT or :PORT", listen);
		return -1;
	}
	hl = (size_t)(colon - listen);
	if (hl >= sizeof host) {
		ev_warn("-l %s: host name too long", listen);
		return -1;
	}
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if ((rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai)) != 0) {
		ev_warn("-l %s: %s", listen, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static int
samedest(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* One lane per distinct destination: 0, or -1 reported. */
static int
openlanes(struct ev_httpd *h, const struct ev_httpd_conf *c)
{
	h->lanes = ev_calloc(c->nroutes ? c->nroutes : 1, sizeof *h->lanes);
	h->routelane = ev_calloc(c->nroutes ? c->nroutes : 1, sizeof *h->routelane);
	for (size_t i = 0; i < c->nroutes; i++) {
		size_t j;

		for (j = 0; j < h->nlanes && !samedest(h->lanes[j].dest, c->routes[i].dest); j++)
			;
		h->routelane[i] = j;
		if (j < h->nlanes)
			continue;
		struct lane *ln = &h->lanes[h->nlanes++];

		ln->h = h;
		ln->dest = ev_strdup(c->routes[i].dest);
		ln->tail = &ln->head;
		ln->serves = c->serve && samedest(ln->dest, c->serve);
		pthread_mutex_init(&ln->mu, NULL);
		pthread_cond_init(&ln->work, NULL);
		if (!(ln->sink = ev_sink_open(ln->dest, c->sync)))
			return -1;
	}
	return 0;
}

/* What a subscriber may be served: a spool, or a regular file followed as
 * tail -F follows it (subscribe.c says what a position in it is). Anything
 * else is read once, by one reader, and cannot be replayed to each
 * subscriber from a position of its own. 0 a spool, 1 a file, -1 reported. */
int
ev_httpd_servable(const char *loc)
{
	struct stat st;

	if (ev_source_isspool(loc))
		return 0;
	if (stat(loc, &st) < 0) {
		ev_warn("-i %s: cannot serve it:", loc);
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return 1;
	ev_warn("-i %s: not a spool directory or a regular file: a FIFO, stdin or a queue is "
	    "read once, by one reader, so subscribers could not each start at a position of "
	    "their own", loc);
	return -1;
}

/* The rejects and the spool or file served, watched: 0, or -1 reported. */
static int
openrest(struct ev_httpd *h, const struct ev_httpd_conf *c)
{
	struct ev_spool *sp;
	struct ev_buf seg = { 0 };
	int fd;

	if (c->rejects && !(h->rejects = ev_sink_open(c->rejects, c->sync)))
		return -1;
	ev_sink_nosign(h->rejects);
	if (!c->serve)
		return 0;
	if ((h->servefile = ev_httpd_servable(c->serve)) < 0)
		return -1;
	if (h->servefile) {
		const char *slash = strrchr(c->serve, '/');

		if ((fd = open(c->serve, O_RDONLY | O_CLOEXEC)) < 0) {
			ev_warn("%s: cannot open for reading:", c->serve);
			return -1;
		}
		close(fd);
		/* inotify sees writes to the file, its truncation and its
		 * replacement through its directory */
		if (slash)
			ev_buf_add(&seg, c->serve, slash == c->serve ? 1 : (size_t)(slash - c->serve));
		else
			ev_buf_adds(&seg, ".");
	} else {
		if (!(sp = ev_spool_open(c->serve, EV_SPOOL_RDONLY)))
			return -1;
		ev_spool_close(sp);
		ev_buf_printf(&seg, "%s/segments", c->serve);
	}
	h->watch = ev_watch_new(seg.p);
	ev_buf_free(&seg);
	return h->watch && httpd_feed_open(h) == 0 ? 0 : -1;
}

/* libmicrohttpd's options (at most 16) and flags: 0, or -1 reported. */
static int
mhdopts(struct ev_httpd *h, const struct ev_httpd_conf *c, struct MHD_OptionItem *opts,
    unsigned *flags, struct sockaddr_storage *ss)
{
	int no = 0;

	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhdlog, NULL };
	if (c->tls_cert) {
		if (!(h->cert = slurp(c->tls_cert)) || !(h->key = slurp(c->tls_key)))
			return -1;
		*flags |= MHD_USE_TLS;
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert };
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->key };
	}
	if (c->listen_fd >= 0) {
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, c->listen_fd, NULL };
	} else {
		if (parseaddr(c->listen, ss) < 0)
			return -1;
		if (ss->ss_family == AF_INET6)
			*flags |= MHD_USE_IPv6;
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, ss };
	}
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, c->max_conns, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, c->idle_timeout_s, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(intptr_t)(c->max_header + 4096), NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, h };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	return 0;
}

/* The server's memory, once its threads and sinks are done with. */
static void
freehttpd(struct ev_httpd *h)
{
	if (h->watch)
		ev_watch_free(h->watch);
	httpd_feed_free(h);
	free(h->subs);
	free(h->lanes);
	free(h->routelane);
	free(h->cert);
	free(h->key);
	free(h);
}

/* What ev_httpd_start made before it failed. */
static void
unmake(struct ev_httpd *h)
{
	for (size_t i = 0; i < h->nlanes; i++) {
		if (h->lanes[i].sink)
			ev_sink_close(h->lanes[i].sink);
		free(h->lanes[i].dest);
	}
	if (h->rejects)
		ev_sink_close(h->rejects);
	freehttpd(h);
}

struct ev_httpd *
ev_httpd_start(const struct ev_httpd_conf *c)
{
	struct ev_httpd *h = ev_calloc(1, sizeof *h);
	struct sockaddr_storage ss;
	struct MHD_OptionItem opts[16];
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;

	h->c = *c;
	/* a quiet subscription must not look idle to the connection timeout */
	if (h->c.keepalive_s * 2 > h->c.idle_timeout_s)
		h->c.keepalive_s = h->c.idle_timeout_s > 1 ? h->c.idle_timeout_s / 2 : 1;
	pthread_mutex_init(&h->rejmu, NULL);
	pthread_mutex_init(&h->submu, NULL);
	pthread_mutex_init(&h->statmu, NULL);
	pthread_rwlock_init(&h->feed.lk, NULL);
	pthread_condattr_init(&h->monotonic);
	pthread_condattr_setclock(&h->monotonic, CLOCK_MONOTONIC);
	pthread_mutex_init(&h->feed.upd, NULL);
	if (sodium_init() < 0) {
		ev_warn("libsodium cannot start");
		free(h);
		return NULL;
	}
	if (openlanes(h, c) < 0 || openrest(h, c) < 0 || mhdopts(h, c, opts, &flags, &ss) < 0) {
		unmake(h);
		return NULL;
	}
	for (size_t i = 0; i < h->nlanes; i++)
		pthread_create(&h->lanes[i].th, NULL, lane_writer, &h->lanes[i]);
	if (!(h->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, h, MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_END))) {
		ev_warn("%s: cannot listen (address in use, or a bad certificate?)",
		    c->listen_fd >= 0 ? "the socket passed" : c->listen);
		h->stopping = 1;
		ev_httpd_stop(h, NULL);
		return NULL;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : 0;
	if (h->watch) {
		pthread_create(&h->watcher, NULL, httpd_watcher, h);
		h->watching = 1;
	}
	return h;
}

unsigned
ev_httpd_port(const struct ev_httpd *h)
{
	return h->port;
}

int
ev_httpd_stop(struct ev_httpd *h, struct ev_httpd_stats *st)
{
	int status = 0;

	h->stopping = 1;
	httpd_pokeall(h);
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->watching)
		pthread_join(h->watcher, NULL);
	for (size_t i = 0; i < h->nlanes; i++) {
		struct lane *ln = &h->lanes[i];

		pthread_mutex_lock(&ln->mu);
		ln->stop = 1;
		pthread_cond_signal(&ln->work);
		pthread_mutex_unlock(&ln->mu);
		pthread_join(ln->th, NULL);
		if (ln->sink && ev_sink_close(ln->sink) < 0)
			status = ev_errstatus(errno);
		if (ln->status && !status)
			status = ln->status;
		free(ln->dest);
	}
	if (h->rejects && ev_sink_close(h->rejects) < 0 && !status)
		status = ev_errstatus(errno);
	if (st)
		ev_httpd_getstats(h, st);
	freehttpd(h);
	return status;
}
