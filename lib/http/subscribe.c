/* SPDX-License-Identifier: ISC */
/* subscribe.c — evhttp's subscriptions: GET /events as Server-Sent Events,
 * NDJSON or a WebSocket, each subscriber reading the served spool or file
 * at its own pace (server.c says how they are woken and dropped).
 *
 * Positions. In a spool an event's position is the spool's byte offset just
 * after it (ev-spool(5)). In a served regular file it is the file's byte
 * offset just after the event's line, that is the start of the next line:
 * a subscriber resumes there, and a position given back is taken only if it
 * is 0 or follows a newline within the file as it is now. The file is
 * followed like tail -F (io/fdloc.c): truncated, it is read again from 0;
 * replaced (rotated), the new one is read from 0. Positions then count from
 * the new start, so one from before cannot name the same event: evhttp(1)
 * says so, and a spool is what to serve when resuming must be exact forever.
 *
 * The feed. A thousand subscribers of a spool, each reading every new event
 * with a reader of its own, would each read the segment, look for the next
 * one and stat it at every wake-up. Instead the newest FEEDMAX bytes of
 * events are read once, by whoever wakes the subscribers (httpd_pokeall:
 * the watcher, the ingest lane), into a shared window of whole lines with
 * their positions; a subscriber whose position lies inside the window takes
 * its events from there under a read lock, one further behind (from=start,
 * or slow enough to be passed) reads the spool with its own reader until it
 * reaches the window. Subscribers with a jq filter always read their own
 * (an expression may take its time, and must not hold up the window).
 *
 * One file, though over a thousand lines: the feed, the subscriptions and
 * the WebSocket sessions all work on struct sub's reading state (its place
 * in the window or its own reader, its frames, its wake-ups), which no
 * other file should see; server.c has the rest of evhttp.
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
#include "http/httpd.h"
#include "http/server.h"
#include "http/whsig.h"
#include "http/ws.h"
#include "io/loc.h"
#include "io/watch.h"
#include "json/jq.h"
#include "json/jsonscan.h"
#include "route/topic.h"
#include "spool/spool.h"

#define MAXMATCH 8      /* attribute globs per subscriber */
#define FEEDMAX (1 << 20) /* bytes of events the shared window keeps */

/* ---- subscribers: wake-ups ------------------------------------------- */

struct filter {
	struct ev_topic *type;
	char *attr[MAXMATCH], *glob[MAXMATCH];
	int nmatch;
	struct ev_jpath *paths[1 + MAXMATCH];
	struct ev_jq *jq;
};

struct sub {
	struct ev_httpd *h;
	int pipe[2];          /* a WebSocket's: poked when the spool may have grown */
	pthread_mutex_t mu;   /* the others': poked set, cv signalled, when it may have */
	pthread_cond_t cv;
	int poked;
	struct ev_spool *sp;
	struct ev_spool_reader *rd;
	struct ev_source *src;  /* a served file, followed (instead of sp and rd) */
	int rdstale;          /* rd is not at pos (the feed moved it on) */
	struct filter f;
	enum { SSE, NDJSON, WS } kind;
	struct ev_buf out, tmp, err;
	size_t off;           /* bytes of out already handed to the connection */
	uint64_t pos;         /* after the last event put in out */
	int64_t lastsend;     /* ms */
	int ended;
	char peer[PEERMAX];
};

static void
poke(int fd)
{
	char c = 1;

	if (write(fd, &c, 1) < 0 && errno != EAGAIN) {
		/* a full pipe is already a wake-up */
	}
}

/* ---- the feed ----------------------------------------------------------- */

int
httpd_feed_open(struct ev_httpd *h)
{
	struct feed *f = &h->feed;
	uint64_t pos;

	if (!h->c.serve || h->servefile)
		return 0;
	if (!(f->sp = ev_spool_open(h->c.serve, EV_SPOOL_RDONLY)) ||
	    ev_spool_pos_end(f->sp, &pos) < 0 || !(f->rd = ev_spool_reader_new(f->sp, pos, 0)))
		return -1;
	f->base = f->end = pos;
	f->on = 1;
	return 0;
}

void
httpd_feed_free(struct ev_httpd *h)
{
	struct feed *f = &h->feed;

	if (f->rd)
		ev_spool_reader_free(f->rd);
	if (f->sp)
		ev_spool_close(f->sp);
	ev_buf_free(&f->buf);
	ev_buf_free(&f->stage);
	free(f->e);
	free(f->se);
	pthread_rwlock_destroy(&f->lk);
	pthread_mutex_destroy(&f->upd);
}

/* Drop the oldest entries until the window holds at most `keep` bytes, and
 * move what is left to the front. */
static void
feed_trim(struct feed *f, size_t keep)
{
	size_t i = 0, cut;

	while (i < f->n && f->buf.len - f->e[i].off > keep)
		i++;
	if (i == 0)
		return;
	f->base = f->e[i - 1].pos;
	cut = i < f->n ? f->e[i].off : f->buf.len;
	memmove(f->buf.p, f->buf.p + cut, f->buf.len - cut);
	f->buf.len -= cut;
	memmove(f->e, f->e + i, (f->n - i) * sizeof *f->e);
	f->n -= i;
	for (size_t j = 0; j < f->n; j++)
		f->e[j].off -= cut;
}

/* Append the staged entries to the window, the oldest dropped to make room. */
static void
feed_publish(struct feed *f)
{
	pthread_rwlock_wrlock(&f->lk);
	if (f->buf.len + f->stage.len > FEEDMAX)
		feed_trim(f, f->stage.len >= FEEDMAX ? 0 : (FEEDMAX - f->stage.len) / 4 * 3);
	if (f->n == 0 && f->sn > 0) /* emptied (or never filled): it starts here */
		f->base = f->end;
	if (f->n + f->sn > f->ecap) {
		f->ecap = (f->n + f->sn) * 2;
		f->e = ev_reallocarray(f->e, f->ecap, sizeof *f->e);
	}
	for (size_t j = 0; j < f->sn; j++) {
		f->e[f->n] = f->se[j];
		f->e[f->n++].off += f->buf.len;
	}
	ev_buf_add(&f->buf, f->stage.p, f->stage.len);
	if (f->sn)
		f->end = f->se[f->sn - 1].pos;
	pthread_rwlock_unlock(&f->lk);
	ev_buf_reset(&f->stage);
	f->sn = 0;
}

/* Read what the spool gained into the window, outside its lock. A reader
 * that fails turns the feed off: every subscriber reads its own again. */
static void
feed_update(struct ev_httpd *h)
{
	struct feed *f = &h->feed;
	struct ev_line l;
	int r = 1;

	if (!f->on)
		return;
	pthread_mutex_lock(&f->upd);
	while (f->on && r > 0) {
		while (f->stage.len < FEEDMAX / 2 && (r = ev_spool_reader_next(f->rd, &l)) > 0) {
			if (f->sn == f->secap) {
				f->secap = f->secap ? 2 * f->secap : 256;
				f->se = ev_reallocarray(f->se, f->secap, sizeof *f->se);
			}
			f->se[f->sn++] = (struct feed_entry){ l.pos, f->stage.len, l.len };
			ev_buf_add(&f->stage, l.p, l.len);
			ev_buf_addc(&f->stage, '\0');
		}
		if (r < 0) {
			pthread_rwlock_wrlock(&f->lk);
			f->on = 0;
			pthread_rwlock_unlock(&f->lk);
			break;
		}
		feed_publish(f);
	}
	pthread_mutex_unlock(&f->upd);
}

void
httpd_pokeall(struct ev_httpd *h)
{
	if (!h->stopping)
		feed_update(h);
	/* An SSE or NDJSON subscriber waits on a condition of its own (a
	 * signal costs less than a pipe's write, poll and read, and one
	 * broadcast to all would have them queue for its mutex); a
	 * WebSocket also waits for its client, so on a pipe. */
	pthread_mutex_lock(&h->submu);
	for (size_t i = 0; i < h->nsubs; i++) {
		struct sub *s = h->subs[i];

		if (s->pipe[1] >= 0) {
			poke(s->pipe[1]);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		s->poked = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&h->submu);
}

/* From now on, a wake-up is news to s. */
static void
unpoke(struct sub *s)
{
	pthread_mutex_lock(&s->mu);
	s->poked = 0;
	pthread_mutex_unlock(&s->mu);
}

/* Wait until s is woken (httpd_pokeall) since unpoke, the server stops, or
 * ms pass. */
static void
subwait(struct sub *s, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mu);
	while (!s->poked && !s->h->stopping)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->mu);
}

static void
drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof buf) == (ssize_t)sizeof buf)
		;
}

void *
httpd_watcher(void *arg)
{
	struct ev_httpd *h = arg;

	while (!h->stopping) {
		int r = ev_watch_wait(h->watch, 1000);

		if (r < 0 && errno != EINTR) {
			ev_warn("%s: watching for new events:", h->c.serve);
			break;
		}
		if (r > 0)
			httpd_pokeall(h);
	}
	return NULL;
}

/* ---- subscriptions -------------------------------------------------------- */

struct query {
	struct sub *s;
	const char *err;
	const char *position, *from;
	struct ev_buf msg;
};

/* An attribute a glob may read: 1-20 lowercase letters or digits (the
 * standard attributes and the extensions). */
static int
attrname(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 20)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static enum MHD_Result
queryarg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query *q = cls;
	struct filter *f = &q->s->f;
	struct ev_buf err = { 0 };
	size_t col;

	(void)kind;
	if (q->err)
		return MHD_NO;
	if (!value)
		value = "";
	if (strcmp(key, "type") == 0) {
		if (f->type) {
			q->err = "type: give one pattern";
		} else if (!(f->type = ev_topic_compile(value, strlen(value), &err, &col))) {
			ev_buf_printf(&q->msg, "type %s: %s", value, err.p);
			q->err = q->msg.p;
		}
	} else if (strcmp(key, "match") == 0) {
		const char *colon = strchr(value, ':');

		if (!colon || colon == value) {
			q->err = "match: ATTRIBUTE:GLOB";
		} else if (f->nmatch == MAXMATCH) {
			q->err = "match: too many";
		} else {
			char *name = ev_strndup(value, (size_t)(colon - value));

			ev_buf_printf(&err, ".%s", name);
			if (attrname(name) &&
			    (f->paths[1 + f->nmatch] = ev_jpath_compile(err.p, &q->msg))) {
				f->attr[f->nmatch] = name;
				f->glob[f->nmatch++] = ev_strdup(colon + 1);
			} else {
				free(name);
				q->err = "match: not an attribute name";
			}
		}
	} else if (strcmp(key, "jq") == 0) {
		if (!q->s->h->c.allow_jq) {
			q->err = "jq filters are not allowed here (evhttp --allow-jq)";
		} else if (f->jq) {
			q->err = "jq: give one expression";
		} else if (!(f->jq = ev_jq_compile(value, NULL, &err))) {
			ev_buf_printf(&q->msg, "jq: %s", err.p);
			q->err = q->msg.p;
		}
	} else if (strcmp(key, "position") == 0) {
		q->position = value;
	} else if (strcmp(key, "from") == 0) {
		q->from = value;
	} else {
		ev_buf_printf(&q->msg, "%s: not a parameter (type, match, jq, position, from)", key);
		q->err = q->msg.p;
	}
	ev_buf_free(&err);
	return q->err ? MHD_NO : MHD_YES;
}

static int
matches(struct sub *s, const char *p, size_t n)
{
	struct filter *f = &s->f;
	struct ev_jval v[1 + MAXMATCH];

	if (f->type || f->nmatch) {
		if (ev_json_scan(p, n, f->paths, 1 + (size_t)f->nmatch, v, NULL) < 0)
			return 0;
		if (f->type && (v[0].type != EV_J_STRING || v[0].escaped ||
		    !ev_topic_match(f->type, v[0].p + 1, v[0].len - 2)))
			return 0;
		for (int i = 0; i < f->nmatch; i++) {
			ev_buf_reset(&s->tmp);
			if (v[1 + i].type == EV_J_STRING)
				ev_jval_str(&v[1 + i], &s->tmp);
			else if (v[1 + i].type == EV_J_MISSING || v[1 + i].type == EV_J_NULL ||
			    v[1 + i].type == EV_J_OBJECT || v[1 + i].type == EV_J_ARRAY)
				return 0;
			else
				ev_buf_add(&s->tmp, v[1 + i].p, v[1 + i].len);
			if (fnmatch(f->glob[i], s->tmp.p ? s->tmp.p : "", 0) != 0)
				return 0;
		}
	}
	if (f->jq)
		return ev_jq_run(f->jq, p, n, EV_JQ_TEST, NULL, &s->err) == 1;
	return 1;
}

static void
filter_free(struct filter *f)
{
	ev_topic_free(f->type);
	for (int i = 0; i < 1 + MAXMATCH; i++)
		if (f->paths[i])
			ev_jpath_free(f->paths[i]);
	for (int i = 0; i < f->nmatch; i++) {
		free(f->attr[i]);
		free(f->glob[i]);
	}
	if (f->jq)
		ev_jq_free(f->jq);
}

static void
sub_free(struct sub *s)
{
	struct ev_httpd *h = s->h;

	pthread_mutex_lock(&h->submu);
	for (size_t i = 0; i < h->nsubs; i++)
		if (h->subs[i] == s) {
			h->subs[i] = h->subs[--h->nsubs];
			break;
		}
	pthread_mutex_unlock(&h->submu);
	if (s->rd)
		ev_spool_reader_free(s->rd);
	if (s->src)
		ev_source_close(s->src);
	if (s->sp)
		ev_spool_close(s->sp);
	filter_free(&s->f);
	if (s->pipe[0] >= 0) {
		close(s->pipe[0]);
		close(s->pipe[1]);
	}
	ev_buf_free(&s->out);
	ev_buf_free(&s->tmp);
	ev_buf_free(&s->err);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Append one event in the subscriber's framing. */
static void
frame(struct sub *s, const struct ev_line *l)
{
	char pos[32];

	snprintf(pos, sizeof pos, "%" PRIu64, l->pos);
	switch (s->kind) {
	case SSE:
		ev_buf_printf(&s->out, "id: %s\ndata: ", pos);
		ev_buf_add(&s->out, l->p, l->len);
		ev_buf_adds(&s->out, "\n\n");
		break;
	case NDJSON:
		if (ev_event_setattr(&s->out, l->p, l->len, "evposition", pos) < 0)
			ev_buf_add(&s->out, l->p, l->len);
		ev_buf_addc(&s->out, '\n');
		break;
	case WS:
		ev_buf_reset(&s->tmp);
		if (ev_event_setattr(&s->tmp, l->p, l->len, "evposition", pos) < 0)
			ev_buf_add(&s->tmp, l->p, l->len);
		ev_ws_frame(&s->out, EV_WS_TEXT, s->tmp.p, s->tmp.len);
		break;
	}
}

/* The next event of the spool or file, without waiting: 1, 0 (none for
 * now), -1 (reported). */
static int
subnext(struct sub *s, struct ev_line *l)
{
	if (s->rd)
		return ev_spool_reader_next(s->rd, l);
	switch (ev_source_next(s->src, l, 0)) {
	case EV_SRC_LINE:
		return 1;
	case EV_SRC_ERR:
		return -1;
	default:
		return 0;
	}
}

/* Does the shared window hold pos? */
static int
feedholds(struct ev_httpd *h, uint64_t pos)
{
	struct feed *f = &h->feed;
	int r;

	pthread_rwlock_rdlock(&f->lk);
	r = f->on && pos >= f->base && pos <= f->end;
	pthread_rwlock_unlock(&f->lk);
	return r;
}

/* Take events from the shared window, if it holds s->pos: 1 when it did
 * (s->out may still be empty: nothing matched, or nothing is new), else 0. */
static int
fromfeed(struct sub *s)
{
	struct feed *f = &s->h->feed;
	size_t lo, hi;

	if (s->f.jq)
		return 0;
	pthread_rwlock_rdlock(&f->lk);
	if (!f->on || s->pos < f->base || s->pos > f->end) {
		pthread_rwlock_unlock(&f->lk);
		return 0;
	}
	/* the first entry after s->pos */
	for (lo = 0, hi = f->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->e[mid].pos <= s->pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < f->n && s->out.len - s->off < s->h->c.sub_buffer / 2; lo++) {
		struct ev_line l = { .p = f->buf.p + f->e[lo].off, .len = f->e[lo].len,
			.pos = f->e[lo].pos };

		s->pos = l.pos;
		if (matches(s, l.p, l.len))
			frame(s, &l);
	}
	pthread_rwlock_unlock(&f->lk);
	s->rdstale = 1;
	return 1;
}

/* Read matching events into s->out until it holds about a buffer's worth
 * or the spool has no more for now. 1: something is in out; 0: nothing new;
 * -1: the reader failed (reported). */
static int
fill(struct sub *s)
{
	struct ev_line l;
	int r;

	if (s->sp && fromfeed(s))
		return s->out.len > s->off;
	if (s->rdstale) {
		/* passed by the window (or never in it): a reader of its own */
		if (s->rd)
			ev_spool_reader_free(s->rd);
		if (!(s->rd = ev_spool_reader_new(s->sp, s->pos, 0)))
			return -1;
		s->rdstale = 0;
	}
	while (s->out.len - s->off < s->h->c.sub_buffer / 2) {
		if ((r = subnext(s, &l)) < 0)
			return -1;
		if (r == 0)
			break;
		s->pos = l.pos;
		if (matches(s, l.p, l.len))
			frame(s, &l);
	}
	return s->out.len > s->off;
}

static void
compact(struct sub *s)
{
	if (s->off == s->out.len) {
		ev_buf_reset(&s->out);
		s->off = 0;
	} else if (s->off > s->out.len / 2 && s->off > 4096) {
		memmove(s->out.p, s->out.p + s->off, s->out.len - s->off);
		s->out.len -= s->off;
		s->off = 0;
	}
}

/* The content of an SSE or NDJSON response: blocks (thread per connection)
 * until there is something to send, a keep-alive is due, or the server stops. */
static ssize_t
sub_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sub *s = cls;
	int64_t deadline = httpd_nowms() + (int64_t)s->h->c.keepalive_s * 1000;

	(void)pos;
	compact(s);
	while (s->out.len == s->off) {
		int r;

		unpoke(s);
		if (s->ended || s->h->stopping) {
			if (!s->ended && s->kind == SSE)
				ev_buf_printf(&s->out, "event: close\ndata: {\"reason\":\"the server "
				    "is stopping\",\"position\":%" PRIu64 "}\n\n", s->pos);
			s->ended = 1;
			if (s->out.len == s->off)
				return MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if ((r = fill(s)) < 0) {
			if (s->kind == SSE)
				ev_buf_printf(&s->out, "event: close\ndata: {\"reason\":\"reading the "
				    "%s failed\",\"position\":%" PRIu64 "}\n\n",
				    s->src ? "file" : "spool", s->pos);
			s->ended = 1;
			continue;
		}
		if (r > 0)
			break;
		{
			int64_t left = deadline - httpd_nowms();

			if (left <= 0) {
				if (s->kind == SSE)
					ev_buf_adds(&s->out, ": keep-alive\n\n");
				else
					ev_buf_addc(&s->out, '\n');
				break;
			}
			subwait(s, left > 1000 ? 1000 : left);
		}
	}
	if (max > s->out.len - s->off)
		max = s->out.len - s->off;
	memcpy(buf, s->out.p + s->off, max);
	s->off += max;
	httpd_count(s->h, &s->h->st.bytes_out, max);
	return (ssize_t)max;
}

static void
sub_done(void *cls)
{
	sub_free(cls);
}

/* In a served file: the offset just after the last newline at or before
 * size, or of the newline that ends at pos when checking (check: 1 when
 * pos starts a line, else 0). -1 on a read error. */
static int
filelinestart(int fd, uint64_t size, uint64_t *pos, int check)
{
	char buf[4096];
	uint64_t hi = check ? *pos : size;

	if (check)
		return *pos == 0 ? 1 : *pos > size ? 0 :
		    pread(fd, buf, 1, (off_t)*pos - 1) == 1 ? buf[0] == '\n' : -1;
	while (hi > 0) {
		size_t k = hi > sizeof buf ? sizeof buf : (size_t)hi;
		const char *nl;

		if (pread(fd, buf, k, (off_t)(hi - k)) != (ssize_t)k)
			return -1;
		if ((nl = memrchr(buf, '\n', k))) {
			*pos = hi - k + (uint64_t)(nl - buf) + 1;
			return 1;
		}
		hi -= k;
	}
	*pos = 0;
	return 1;
}

/* startpos for a served file (positions: see the top of this file). */
static int
filestart(struct sub *s, struct query *q, const char *p, uint64_t *pos)
{
	int fd = open(s->h->c.serve, O_RDONLY | O_CLOEXEC), r = -1;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		q->err = "cannot open the file served";
	} else if (p) {
		if ((r = filelinestart(fd, (uint64_t)st.st_size, pos, 1)) == 0)
			q->err = "position: not the start of a line in the file (was it truncated "
			    "or replaced since?)";
		else if (r < 0)
			q->err = "cannot read the file served";
		r = r == 1 ? 0 : -1;
	} else if (!q->from || strcmp(q->from, "end") == 0) {
		if ((r = filelinestart(fd, (uint64_t)st.st_size, pos, 0)) < 0)
			q->err = "cannot read the file served";
		r = r == 1 ? 0 : -1;
	} else if (strcmp(q->from, "start") == 0) {
		*pos = 0;
		r = 0;
	} else {
		q->err = "from: start or end";
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* A start at pos, answered by the shared window: 1 when it holds pos and
 * an event starts there, -1 when it holds pos inside an event, 0 when it
 * does not hold pos. (It spares each subscriber a look at the spool's
 * last segment: with a 64 KiB buffer on its thread's stack.) */
static int
feedcheck(struct ev_httpd *h, uint64_t pos)
{
	struct feed *f = &h->feed;
	size_t lo = 0, hi;
	int r = 0;

	pthread_rwlock_rdlock(&f->lk);
	if (f->on && pos >= f->base && pos <= f->end) {
		for (hi = f->n; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;

			if (f->e[mid].pos < pos)
				lo = mid + 1;
			else
				hi = mid;
		}
		r = pos == f->base || (lo < f->n && f->e[lo].pos == pos) ? 1 : -1;
	}
	pthread_rwlock_unlock(&f->lk);
	return r;
}

/* The spool's end, from the shared window brought up to date: 1, or 0
 * when there is no window. */
static int
feedend(struct ev_httpd *h, uint64_t *pos)
{
	struct feed *f = &h->feed;
	int r;

	feed_update(h);
	pthread_rwlock_rdlock(&f->lk);
	if ((r = f->on))
		*pos = f->end;
	pthread_rwlock_unlock(&f->lk);
	return r;
}

/* Where a subscription starts: position=N (resume after the event whose
 * id was N), Last-Event-ID, from=start|end (default end). */
static int
startpos(struct sub *s, struct query *q, const char *lastid, uint64_t *pos)
{
	const char *p = q->position ? q->position : lastid;
	int r;

	if (p && *p) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || *end || *p < '0' || *p > '9') {
			q->err = s->h->servefile ? "position: not a byte offset in the file" :
			    "position: not a spool position";
			return -1;
		}
		*pos = v;
		if (s->h->servefile)
			return filestart(s, q, p, pos);
		if ((r = feedcheck(s->h, v)) != 0 || ev_spool_pos_check(s->sp, *pos, NULL) < 0) {
			if (r > 0)
				return 0;
			q->err = "position: not the start of an event in this spool";
			return -1;
		}
		return 0;
	}
	if (s->h->servefile)
		return filestart(s, q, NULL, pos);
	if (!q->from || strcmp(q->from, "end") == 0)
		return feedend(s->h, pos) ? 0 : ev_spool_pos_end(s->sp, pos);
	if (strcmp(q->from, "start") == 0)
		return ev_spool_pos_start(s->sp, pos);
	q->err = "from: start or end";
	return -1;
}

/* The kernel's part of a subscriber's bounded buffer: a client that stops
 * reading stalls us after about this much, and is then dropped. */
static void
boundsend(int fd, size_t n)
{
	int v = (int)(n / 2); /* Linux doubles it */

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

static void ws_run(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
    size_t extra_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);

/* A subscriber of the served spool from the request's position and
 * filters, or NULL with q->err set. */
static struct sub *
subopen(struct ev_httpd *h, struct MHD_Connection *conn, struct query *q)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	const char *upgrade = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
	struct sub *s = ev_calloc(1, sizeof *s);
	uint64_t pos = 0;

	s->h = h;
	s->pipe[0] = s->pipe[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, &h->monotonic);
	q->s = s;
	httpd_peername(conn, s->peer, sizeof s->peer);
	s->kind = upgrade && strcasecmp(upgrade, "websocket") == 0 ? WS :
	    accept && strstr(accept, "text/event-stream") ? SSE : NDJSON;
	if (!(s->f.paths[0] = ev_jpath_compile(".type", &q->msg)))
		q->err = "internal";
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, queryarg, q);
	if (!q->err && !h->servefile && !(s->sp = ev_spool_open(h->c.serve, EV_SPOOL_RDONLY)))
		q->err = "cannot open the spool";
	if (!q->err && startpos(s, q, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Last-Event-ID"), &pos) < 0 && !q->err)
		q->err = "cannot find the spool's end";
	if (!q->err && h->servefile) {
		struct ev_source_conf sc = { .follow = 1, .start = EV_START_POS, .pos = pos };

		if (!(s->src = ev_source_open(h->c.serve, &sc)))
			q->err = "cannot read the file served";
	} else if (!q->err && feedholds(h, pos)) {
		s->rdstale = 1; /* no reader (256 KiB) unless it falls behind */
	} else if (!q->err && !(s->rd = ev_spool_reader_new(s->sp, pos, 0))) {
		q->err = "cannot read the spool";
	}
	if (!q->err && s->kind == WS && (pipe(s->pipe) < 0 || fcntl(s->pipe[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(s->pipe[1], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(s->pipe[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(s->pipe[1], F_SETFD, FD_CLOEXEC) < 0))
		q->err = "out of descriptors";
	if (q->err) {
		sub_free(s);
		return NULL;
	}
	s->pos = pos;
	return s;
}

/* Add s to the subscribers the writer wakes. */
static void
subjoin(struct ev_httpd *h, struct sub *s)
{
	pthread_mutex_lock(&h->submu);
	if (h->nsubs == h->subcap) {
		h->subcap = h->subcap ? 2 * h->subcap : 16;
		h->subs = ev_reallocarray(h->subs, h->subcap, sizeof *h->subs);
	}
	h->subs[h->nsubs++] = s;
	pthread_mutex_unlock(&h->submu);
	httpd_count(h, &h->st.subscribers, 1);
}

/* The WebSocket handshake's answer; the session runs in ws_run. */
static enum MHD_Result
ws_upgrade(struct MHD_Connection *conn, struct sub *s)
{
	const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *ver = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Version");
	struct MHD_Response *rs;
	enum MHD_Result r;
	char acc[29];

	if (!key || !ver || strcmp(ver, "13") != 0 || ev_ws_accept(key, acc) < 0) {
		sub_free(s);
		return httpd_jsonerr(conn, 400, "a WebSocket handshake needs Sec-WebSocket-Key "
		    "and Sec-WebSocket-Version: 13", NULL);
	}
	if (!(rs = MHD_create_response_for_upgrade(ws_run, s))) {
		sub_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(rs, "Upgrade", "websocket");
	MHD_add_response_header(rs, "Sec-WebSocket-Accept", acc);
	r = MHD_queue_response(conn, 101, rs);
	MHD_destroy_response(rs);
	if (r != MHD_YES)
		sub_free(s);
	return r;
}

/* An SSE or NDJSON stream, fed by sub_read. */
static enum MHD_Result
stream(struct ev_httpd *h, struct MHD_Connection *conn, struct sub *s)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct MHD_Response *rs;
	enum MHD_Result r;

	if (ci && !h->c.tls_cert)
		boundsend(ci->connect_fd, h->c.sub_buffer);
	rs = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 << 10, sub_read, s, sub_done);
	if (!rs) {
		sub_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(rs, "Content-Type", s->kind == SSE ? "text/event-stream" :
	    "application/x-ndjson");
	MHD_add_response_header(rs, "Cache-Control", "no-cache");
	MHD_add_response_header(rs, "X-Accel-Buffering", "no");
	if (s->kind == SSE)
		ev_buf_adds(&s->out, "retry: 1000\n\n");
	r = MHD_queue_response(conn, 200, rs);
	MHD_destroy_response(rs);
	return r;
}

enum MHD_Result
httpd_subscribe(struct ev_httpd *h, struct MHD_Connection *conn)
{
	struct query q = { 0 };
	struct sub *s;
	enum MHD_Result r;

	if (!h->c.serve)
		return httpd_jsonerr(conn, 404, "no spool is served here (evhttp -i SPOOL)", NULL);
	if (!(s = subopen(h, conn, &q))) {
		r = httpd_jsonerr(conn, 400, q.err, NULL);
		ev_buf_free(&q.msg);
		return r;
	}
	ev_buf_free(&q.msg);
	subjoin(h, s);
	return s->kind == WS ? ws_upgrade(conn, s) : stream(h, conn, s);
}

/* ---- WebSocket sessions -------------------------------------------------- */

static int
ws_send(struct sub *s, int fd)
{
	while (s->off < s->out.len) {
		ssize_t n = send(fd, s->out.p + s->off, s->out.len - s->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		s->off += (size_t)n;
		s->lastsend = httpd_nowms();
		httpd_count(s->h, &s->h->st.bytes_out, (size_t)n);
	}
	compact(s);
	return 0;
}

/* A last frame, best effort: the client may not be reading. */
static void
ws_closewith(struct sub *s, int fd, unsigned code, const char *reason)
{
	ev_buf_reset(&s->out);
	s->off = 0;
	ev_ws_close(&s->out, code, reason);
	ws_send(s, fd);
}

/* A WebSocket session's state between turns of ws_run. */
struct wsconn {
	struct ev_buf in, payload;   /* bytes received, not yet a frame; a frame's */
	int64_t lastping, lastpong, ka, idle;
	char reason[160];
};

/* Feed the client, and keep it alive or drop it: 1 when the session ends,
 * 2 when a ping was queued (send it before waiting), else 0. */
static int
ws_tick(struct sub *s, int sock, struct wsconn *w)
{
	struct ev_httpd *h = s->h;
	int64_t now;

	drain(s->pipe[0]);
	if (s->out.len - s->off < h->c.sub_buffer && fill(s) < 0) {
		snprintf(w->reason, sizeof w->reason,
		    "reading the spool failed; position=%" PRIu64, s->pos);
		ws_closewith(s, sock, 1011, w->reason);
		return 1;
	}
	if (ws_send(s, sock) < 0)
		return 1;
	now = httpd_nowms();
	if (s->off < s->out.len && now - s->lastsend > w->idle) {
		snprintf(w->reason, sizeof w->reason, "too slow: nothing read for %" PRId64 " s",
		    w->idle / 1000);
		ev_warn("%s: WebSocket subscriber dropped: %s", s->peer, w->reason);
		httpd_count(h, &h->st.dropped, 1);
		ws_closewith(s, sock, 1008, w->reason);
		return 1;
	}
	if (now - w->lastpong > 2 * w->ka + 1000) {
		ws_closewith(s, sock, 1001, "no pong");
		return 1;
	}
	if (now - w->lastping >= w->ka) {
		ev_ws_frame(&s->out, EV_WS_PING, "ka", 2);
		w->lastping = now;
		return 2;
	}
	return 0;
}

/* Answer the frames received whole: 1 when the session ends. */
static int
ws_frames(struct sub *s, int sock, struct wsconn *w)
{
	while (w->in.len) {
		const char *why;
		int op, fin;
		long used;

		ev_buf_reset(&w->payload);
		used = ev_ws_parse((const unsigned char *)w->in.p, w->in.len, 4096, &op, &fin,
		    &w->payload, &why);
		if (used < 0) {
			ws_closewith(s, sock, 1002, why);
			return 1;
		}
		if (used == 0)
			return 0;
		memmove(w->in.p, w->in.p + used, w->in.len - (size_t)used);
		w->in.len -= (size_t)used;
		if (op == EV_WS_PING) {
			ev_ws_frame(&s->out, EV_WS_PONG, w->payload.p, w->payload.len);
		} else if (op == EV_WS_PONG) {
			w->lastpong = httpd_nowms();
		} else if (op == EV_WS_CLOSE) {
			ev_buf_reset(&s->out);
			s->off = 0;
			ev_ws_frame(&s->out, EV_WS_CLOSE, w->payload.p, w->payload.len >= 2 ? 2 : 0);
			ws_send(s, sock);
			return 1;
		}
	}
	return 0;
}

/* Wait for the client or the writer, and read what the client sent: 1 when
 * the session ends. */
static int
ws_wait(struct sub *s, int sock, struct wsconn *w)
{
	struct pollfd pfd[2] = { { .fd = sock, .events = POLLIN },
		{ .fd = s->pipe[0], .events = POLLIN } };
	char buf[4096];
	ssize_t n;

	if (s->off < s->out.len)
		pfd[0].events |= POLLOUT;
	if (w->in.len == 0 && poll(pfd, 2, 1000) < 0 && errno != EINTR)
		return 1;
	if (!w->in.len && !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	n = w->in.len ? 0 : recv(sock, buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 0 && !w->in.len)
		return 1;
	if (n > 0)
		ev_buf_add(&w->in, buf, (size_t)n);
	return ws_frames(s, sock, w);
}

static void
ws_run(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
    size_t extra_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct sub *s = cls;
	struct ev_httpd *h = s->h;
	struct wsconn w = { .lastping = httpd_nowms(), .lastpong = httpd_nowms(),
		.ka = (int64_t)h->c.keepalive_s * 1000, .idle = (int64_t)h->c.idle_timeout_s * 1000 };
	int r;

	(void)conn;
	(void)con_cls;
	ev_buf_add(&w.in, extra, extra_size);
	boundsend(sock, h->c.sub_buffer);
	s->lastsend = httpd_nowms();
	while (!h->stopping) {
		if ((r = ws_tick(s, sock, &w)) == 1)
			break;
		if (r == 0 && ws_wait(s, sock, &w))
			break;
	}
	if (h->stopping)
		ws_closewith(s, sock, 1001, "the server is stopping");
	ev_buf_free(&w.in);
	ev_buf_free(&w.payload);
	sub_free(s);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}
