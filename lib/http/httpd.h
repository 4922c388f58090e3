/* SPDX-License-Identifier: ISC */
/* httpd.h — what evhttp's server (server.c: ingest, dispatch, start and
 * stop) and its subscriptions (subscribe.c: SSE, NDJSON, WebSocket) share;
 * private to lib/http. */
#ifndef EV_HTTPD_H
#define EV_HTTPD_H
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/server.h"
#include "io/loc.h"
#include "io/watch.h"

#define PEERMAX (NI_MAXHOST + NI_MAXSERV + 2)

struct req {
	struct ev_buf ev;    /* event lines, each ending in '\n' */
	size_t n;
	int status;          /* 0 while waiting; set under mu */
	pthread_mutex_t mu;  /* its own, so that a commit wakes only the requests */
	pthread_cond_t cv;   /* it settled, and they take no shared lock to wake */
	struct req *next;
};

struct lane {
	struct ev_httpd *h;
	char *dest;
	struct ev_sink *sink;
	pthread_mutex_t mu;
	pthread_cond_t work;
	int waiting;          /* the writer waits for work */
	struct req *head, **tail;
	size_t queued;
	int64_t failed_until; /* ms: 503 until then */
	int stop, status;
	pthread_t th;
	int serves;           /* this lane writes the served spool */
};

struct sub;

/* The served spool's newest events, read once for every subscriber
 * (subscribe.c): entry i is the line at buf + off[i], len[i] bytes
 * (NUL-terminated), whose position is pos[i]; the first starts at base. */
struct feed_entry {
	uint64_t pos;
	size_t off, len;
};

struct feed {
	pthread_rwlock_t lk;     /* subscribers read under it, the updater appends */
	pthread_mutex_t upd;     /* one updater at a time */
	int on;
	struct ev_spool *sp;
	struct ev_spool_reader *rd; /* the updater's */
	struct ev_buf buf, stage;
	struct feed_entry *e, *se;
	size_t n, ecap, sn, secap;
	uint64_t base, end;      /* the positions it covers: [base, end] */
};

struct ev_httpd {
	struct ev_httpd_conf c;
	struct MHD_Daemon *d;
	struct lane *lanes;
	size_t nlanes;
	size_t *routelane;    /* lane of each route */
	struct ev_sink *rejects;
	pthread_mutex_t rejmu;
	char *cert, *key;     /* PEM text */
	/* subscribers */
	pthread_mutex_t submu;
	struct sub **subs;
	size_t nsubs, subcap;
	pthread_t watcher;
	int watching;
	atomic_int stopping;
	struct ev_watch *watch;
	struct feed feed;
	pthread_condattr_t monotonic; /* subscribers' conditions time out by CLOCK_MONOTONIC */
	pthread_mutex_t statmu;
	struct ev_httpd_stats st;
	unsigned port;
	int servefile;        /* c.serve is a regular file, followed, not a spool */
};

int64_t httpd_nowms(void);
/* Add n to a counter of h's stats. */
void httpd_count(struct ev_httpd *h, uintmax_t *field, uintmax_t n);
/* An error answer: {"error": msg}, with Retry-After when retry is set. */
enum MHD_Result httpd_jsonerr(struct MHD_Connection *conn, unsigned status, const char *msg,
    const char *retry);
void httpd_peername(struct MHD_Connection *conn, char *buf, size_t n);
/* subscribe.c: wake every subscriber (the served spool grew); the thread
 * that watches the served spool; GET of the events. */
void httpd_pokeall(struct ev_httpd *h);
/* The shared feed of a served spool: 0 (also when there is none to make),
 * or -1 reported; freed with httpd_feed_free. */
int httpd_feed_open(struct ev_httpd *h);
void httpd_feed_free(struct ev_httpd *h);
void *httpd_watcher(void *arg);
enum MHD_Result httpd_subscribe(struct ev_httpd *h, struct MHD_Connection *conn);

#endif
