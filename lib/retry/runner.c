/* SPDX-License-Identifier: ISC */
/* runner.c — evretry's engine (see runner.h).
 *
 * Events live in a ring of W slots in input order. The ring's head is the
 * oldest unfinished event: every event before it is done or dead and
 * written, so the input position just before it is what may be committed
 * (after the sinks). An event is in exactly one place at a time: waiting
 * behind an earlier event of its key, ready (a FIFO), pausing before a
 * retry (a heap ordered by time), running (in a worker process, or sent to
 * a co-process handler), or finished. Reading stops while the ring is
 * full, so memory is bounded and one slow event holds back at most W.
 *
 * The handlers are a table of operations (struct handlers in private.h):
 * the worker pool (pool.c) or co-process handlers (cohandlers.c).
 *
 * One thread, one poll(2): the input (ev_input_get, never blocking), the
 * handlers' pipes, a self-pipe written by the SIGCHLD handler, and the
 * pipe of the signals every tool answers (base/sig.h): SIGTERM and SIGINT
 * start a stop (a second one skips the grace), SIGUSR1 prints the counts,
 * SIGHUP is ignored (there is nothing to reload).
 *
 * One file, at about a thousand lines: the ring, the heap and the poll loop
 * move each event between its places, and the invariant above holds only
 * where all of them are in view; the handlers are already apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "retry/coproc.h"
#include "base/time.h"
#include "base/err.h"
#include "event/event.h"
#include "json/jsonscan.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/sig.h"
#include "retry/runner.h"
#include "retry/private.h"

/* SIGCHLD: the handler only notes it and wakes the loop. */
static volatile sig_atomic_t gotchld;
static int wakefd[2] = { -1, -1 };

static void
onsignal(int sig)
{
	int e = errno;
	char c = 0;

	(void)sig;
	gotchld = 1;
	if (write(wakefd[1], &c, 1) < 0) {
		/* full: the loop is awake anyway */
	}
	errno = e;
}

static int
setsignals(void)
{
	struct sigaction sa;
	int fl;

	if (pipe2(wakefd, O_CLOEXEC) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if ((fl = fcntl(wakefd[i], F_GETFL)) < 0 ||
		    fcntl(wakefd[i], F_SETFL, fl | O_NONBLOCK) < 0)
			return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsignal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A second SIGTERM skips the grace instead of ending us at once. */
	ev_sig_count_stops();
	return ev_sig_init();
}

static void
unsetsignals(void)
{
	signal(SIGCHLD, SIG_DFL);
	for (int i = 0; i < 2; i++)
		if (wakefd[i] >= 0)
			close(wakefd[i]);
	wakefd[0] = wakefd[1] = -1;
}


/* --- the ready deque and the backoff heap ------------------------------ */

static void
pushready(struct runner *r, int32_t i, int front)
{
	if (front) {
		r->rhead = (r->rhead + r->W - 1) % r->W;
		r->ready[r->rhead] = i;
	} else {
		r->ready[(r->rhead + r->rlen) % r->W] = i;
	}
	r->rlen++;
	r->s[i].state = S_READY;
}

static int32_t
popready(struct runner *r)
{
	int32_t i = r->ready[r->rhead];

	r->rhead = (r->rhead + 1) % r->W;
	r->rlen--;
	return i;
}

static void
heapset(struct runner *r, int k, int32_t i)
{
	r->heap[k] = i;
	r->s[i].heapi = k;
}

static void
heappush(struct runner *r, int32_t i)
{
	int k = r->nheap++;

	while (k > 0) {
		int up = (k - 1) / 2;
		if (r->s[r->heap[up]].notbefore <= r->s[i].notbefore)
			break;
		heapset(r, k, r->heap[up]);
		k = up;
	}
	heapset(r, k, i);
	r->s[i].state = S_BACKOFF;
}

static int32_t
heappop(struct runner *r)
{
	int32_t top = r->heap[0], last = r->heap[--r->nheap];
	int k = 0;

	for (;;) {
		int c = 2 * k + 1;
		if (c >= r->nheap)
			break;
		if (c + 1 < r->nheap && r->s[r->heap[c + 1]].notbefore < r->s[r->heap[c]].notbefore)
			c++;
		if (r->s[last].notbefore <= r->s[r->heap[c]].notbefore)
			break;
		heapset(r, k, r->heap[c]);
		k = c;
	}
	if (r->nheap > 0)
		heapset(r, k, last);
	return top;
}

/* --- keys: one event at a time per key, in input order ------------------ */

static uint32_t
keyfind(struct runner *r, uint64_t hash, const char *k, size_t n)
{
	uint32_t i = (uint32_t)hash & r->kmask;

	while (r->keys[i].head >= 0) {
		struct slot *h = slot(r, r->keys[i].head);
		if (r->keys[i].hash == hash && h->key.len == n && memcmp(h->key.p, k, n) == 0)
			break;
		i = (i + 1) & r->kmask;
	}
	return i;
}

/* Linear probing with backward-shift deletion: no tombstones. */
static void
keydel(struct runner *r, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		j = (j + 1) & r->kmask;
		if (r->keys[j].head < 0)
			break;
		uint32_t home = (uint32_t)r->keys[j].hash & r->kmask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			r->keys[i] = r->keys[j];
			i = j;
		}
	}
	r->keys[i].head = -1;
}

/* A new event: ready at once, unless an earlier one of its key is pending. */
static void
keyadd(struct runner *r, int32_t i)
{
	struct slot *s = slot(r, i);

	s->keynext = -1;
	if (!r->c->key) {
		pushready(r, i, 0);
		return;
	}
	s->keyhash = XXH3_64bits(s->key.p, s->key.len);
	uint32_t k = keyfind(r, s->keyhash, s->key.p, s->key.len);
	if (r->keys[k].head < 0) {
		r->keys[k] = (struct keyent){ s->keyhash, i, i };
		pushready(r, i, 0);
	} else {
		slot(r, r->keys[k].tail)->keynext = i;
		r->keys[k].tail = i;
		s->state = S_KEYWAIT;
	}
}

/* A finished event lets the next one of its key go. */
static void
keydone(struct runner *r, int32_t i)
{
	struct slot *s = slot(r, i);

	if (!r->c->key)
		return;
	uint32_t k = keyfind(r, s->keyhash, s->key.p, s->key.len);
	if (s->keynext < 0) {
		keydel(r, k);
	} else {
		r->keys[k].head = s->keynext;
		pushready(r, s->keynext, 0);
	}
}

/* --- finishing events ---------------------------------------------------- */

static void
sinkfail(struct runner *r)
{
	int st = ev_errstatus(errno);

	if (st > r->status)
		r->status = st;
	ev_input_fail(r->in, st);
	if (!r->stopping) {
		r->stopping = r->hard = 1;
		r->stopat = r->now;
		r->h->stop(r, 1);
	}
}

static void
finish(struct runner *r, int32_t i)
{
	struct slot *s = slot(r, i);

	s->state = S_FINISHED;
	keydone(r, i);
	while (r->head < r->tail && r->s[r->head % r->W].state == S_FINISHED) {
		r->s[r->head % r->W].state = S_FREE;
		r->head++;
	}
	if (!r->dirty)
		r->batchstart = r->now;
	r->dirty = 1;
	r->batchn++;
}

/* Set one attribute on the dead letter being built in r->a. */
static void
attr(struct runner *r, const char *name)
{
	ev_buf_reset(&r->b);
	if (ev_event_setattr(&r->b, r->a.p, r->a.len, name, r->val.p) == 0) {
		struct ev_buf t = r->a;
		r->a = r->b;
		r->b = t;
	}
	ev_buf_reset(&r->val);
}

void
runner_bury(struct runner *r, int32_t i, const char *reason)
{
	struct slot *s = slot(r, i);
	char when[32];

	ev_buf_reset(&r->a);
	ev_buf_add(&r->a, s->line.p, s->len);
	ev_buf_reset(&r->val);
	ev_buf_addjstr(&r->val, reason, strlen(reason));
	attr(r, "evdeadreason");
	if (s->detail.len) {
		ev_buf_addjstr(&r->val, s->detail.p, s->detail.len);
		attr(r, "evdeaddetail");
	}
	ev_buf_printf(&r->val, "%d", s->attempt);
	attr(r, "evattempts");
	if (s->status >= 0) {
		ev_buf_printf(&r->val, "%d", s->status);
		attr(r, "evexitstatus");
	}
	if (s->signo > 0) {
		ev_buf_printf(&r->val, "%d", s->signo);
		attr(r, "evsignal");
	}
	ev_time_format(ev_now_ms(), when);
	ev_buf_addjstr(&r->val, when, strlen(when));
	attr(r, "evdeadtime");
	if (s->errtail.len) {
		ev_buf_addjstr(&r->val, s->errtail.p, s->errtail.len);
		attr(r, "evstderr");
	}
	if (!r->dead) {
		ev_warn("dead: %.*s", (int)r->a.len, r->a.p);
		r->deadnowhere++;
	} else if (ev_sink_write(r->dead, r->a.p, r->a.len) < 0) {
		sinkfail(r);
		s->state = S_LEFT;
		return;
	} else if (!ev_quiet)
		ev_warn("%s: dead (%s%s%.*s)", s->label.p, reason, s->detail.len ? ": " : "",
		    (int)s->detail.len, s->detail.p);
	r->st->dead++;
	finish(r, i);
}

static void
done(struct runner *r, int32_t i)
{
	struct slot *s = slot(r, i);
	int fail = 0;

	if (r->c->stdout_mode == EV_STDOUT_OUTPUT && r->outcap) {
		char *p = r->outcap->p, *e = p + r->outcap->len;
		while (p && p < e && !fail) {
			char *nl = memchr(p, '\n', (size_t)(e - p));
			char *end = nl ? nl : e;
			size_t n = (size_t)(end - p);
			if (n > 0 && end[-1] == '\r')
				n--;
			if (n > 0 && ev_sink_write(r->out, p, n) < 0)
				fail = 1;
			p = end + 1;
		}
	} else {
		if (r->c->stdout_mode == EV_STDOUT_REPLY) {
			/* the work is done whatever becomes of the reply: a requester
			 * that gets none asks again (evemit(1), --request) */
			const struct ev_buf *rep = r->c->coproc ? &s->detail : r->outcap;
			if (ev_reply_send(r->c->reply, s->line.p, s->len, rep && rep->p ? rep->p : "",
			    rep ? rep->len : 0) < 0)
				r->st->noreply++;
		}
		fail = ev_sink_write(r->out, s->line.p, s->len) < 0;
	}
	if (fail) {
		sinkfail(r);
		s->state = S_LEFT;
		return;
	}
	r->st->done++;
	finish(r, i);
}

void
runner_setdetail(struct slot *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ev_buf_reset(&s->detail);
	ev_buf_adds(&s->detail, buf);
}

/* --- the breaker ----------------------------------------------------------- */

/* The status an attempt ended with, as a shell would give it. */
static int
statuskey(const struct slot *s)
{
	return s->status >= 0 ? s->status : s->signo > 0 ? 128 + s->signo : -1;
}

/* The streak is over: write the dead letters it held back, in order. */
static void
flushheld(struct runner *r)
{
	uint32_t n = r->nheld;

	if (r->tripped)
		return; /* they stay unfinished: the input position stays before them */
	r->nheld = 0;
	for (uint32_t k = 0; k < n; k++)
		runner_bury(r, r->held[k], slot(r, r->held[k])->heldwhy);
}

static void
startstop(struct runner *r, int hard);

static void
trip(struct runner *r, int32_t i)
{
	struct slot *s = slot(r, i);
	int st = statuskey(s);

	r->tripped = st == 126 || st == 127 ? st : EV_TEMPFAIL;
	if (st == 126 || st == 127)
		ev_warn("breaker: the handler exited with %d (%s) for %s: a broken deployment, not "
		    "an event to refuse; stopping, nothing dead-lettered%s", st,
		    st == 126 ? "cannot execute" : "command not found", s->label.p,
		    r->c->replay ? ", the cursor stays before it" : "");
	else
		ev_warn("breaker: %u events in a row failed with %s %d (the last, %s: %s); stopping, "
		    "none of them dead-lettered%s (--breaker %d)", r->nheld,
		    s->status >= 0 ? "exit status" : "status", st, s->label.p,
		    s->detail.len ? s->detail.p : "failed",
		    r->c->replay ? ", the cursor stays before the first of them" : "",
		    r->c->breaker);
	ev_input_fail(r->in, r->tripped);
	startstop(r, 0);
}

/* Event i failed for good (reason: "failed", "exhausted"): its dead letter,
 * unless the breaker holds it back or trips on it. */
static void
deadletter(struct runner *r, int32_t i, const char *reason)
{
	struct slot *s = slot(r, i);
	int st = statuskey(s);

	if (!r->c->breaker) {
		runner_bury(r, i, reason);
		return;
	}
	if (r->nheld > 0 && st != r->brkstatus)
		flushheld(r);
	r->brkstatus = st;
	s->state = S_HELD;
	s->heldwhy = reason;
	r->held[r->nheld++] = i;
	if (!r->tripped && (st == 126 || st == 127 || r->nheld >= (uint32_t)r->c->breaker))
		trip(r, i);
}

/* A failed attempt that may be repeated: after a backoff, or never. */
static void
later(struct runner *r, int32_t i)
{
	struct slot *s = slot(r, i);

	if (r->stopping) {
		s->state = S_LEFT;
		return;
	}
	if (s->attempt >= r->c->attempts) {
		deadletter(r, i, "exhausted");
		return;
	}
	int64_t d = ev_retry_backoff(r->c->base_ms, r->c->cap_ms, s->attempt, r->c->jitter);
	if (s->expiry != NONE && wallnow(r) + d >= s->expiry) {
		runner_bury(r, i, "expired");
		return;
	}
	if (!ev_quiet)
		ev_warn("%s: attempt %d failed (%s); again in %jd ms", s->label.p, s->attempt,
		    s->detail.p ? s->detail.p : "", (intmax_t)d);
	s->notbefore = r->now + d;
	r->st->retried++;
	heappush(r, i);
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An attempt ended: its duration into the latency histogram, and its span
 * (--otlp) when the event carries a traceparent. */
static void
timed(struct runner *r, struct slot *s, int failed)
{
	double sec = (double)(mono_us() - s->started) / 1e6;

	if (s->traced && ev_otlp_default) {
		struct ev_span sp = { .ctx = s->tctx, .parent = s->tparent.span,
			.name = "evretry handler", .kind = EV_SPAN_CONSUMER,
			.start_ns = s->started_ns, .end_ns = ev_trace_now_ns(),
			.evid = s->hasid ? s->id.p : NULL, .evidlen = s->id.len,
			.error = failed, .attempt = s->attempt };
		ev_otlp_span(ev_otlp_default, &sp);
	}

	ev_promhist_add(&r->st->lat, sec);
	r->st->inflight = r->h->inflight(r);
}

void
runner_settle(struct runner *r, int32_t i, const struct ev_outcome *o)
{
	struct slot *s = slot(r, i);

	r->st->inflight = r->h->inflight(r);
	if (o->kind != EV_OUT_REQUEUE)
		timed(r, s, o->kind != EV_OUT_OK);

	if (o->kind == EV_OUT_REQUEUE) {
		s->attempt--;
		r->st->attempts--;
		if (r->stopping)
			s->state = S_LEFT;
		else
			pushready(r, i, 1);
		return;
	}
	s->status = o->status;
	s->signo = o->signo;
	ev_buf_reset(&s->detail);
	if (o->detaillen)
		ev_buf_add(&s->detail, o->detail, o->detaillen);
	ev_buf_reset(&s->errtail);
	if (o->errtaillen)
		ev_buf_add(&s->errtail, o->errtail, o->errtaillen);
	if (o->kind != EV_OUT_OK && r->c->breaker && (o->status == 126 || o->status == 127)) {
		deadletter(r, i, "failed"); /* a handler that cannot run: at once */
		return;
	}
	switch (o->kind) {
	case EV_OUT_OK:
		if (r->nheld)
			flushheld(r);
		done(r, i);
		break;
	case EV_OUT_RETRY:
		later(r, i);
		break;
	default:
		deadletter(r, i, "failed");
		break;
	}
}

void
runner_coanswer(void *ctx, int32_t i, const struct ev_outcome *o)
{
	runner_settle(ctx, i, o);
}

/* --- reading events ------------------------------------------------------ */

static void
take(struct runner *r, const struct ev_line *l)
{
	struct ev_jval v[4];
	struct ev_jerr e;
	uint64_t startpos = r->lastpos;
	int startok = r->lastposok;

	r->lastpos = l->pos;
	r->lastposok = 1;
	if (!ev_input_object(r->in, l, ev_json_scan(l->p, l->len, r->paths, r->npaths, v, &e), &e))
		goto rejected;
	int32_t i = (int32_t)(r->tail % r->W);
	struct slot *s = slot(r, i);
	s->expiry = NONE;
	if (v[2].type != EV_J_MISSING && v[2].type != EV_J_NULL) {
		if (ev_event_time(&v[2], &r->val, &s->expiry) < 0) {
			ev_input_reject(r->in, l, "expirytime is not an RFC 3339 time");
			goto rejected;
		}
	}
	if (r->c->key) {
		/* no key (null, none): the keyless events wait for each other */
		int n = ev_key_get(r->c->key, &v[3], l->p, l->len, EV_KEY_JSON, &s->key, &r->err);
		if (n < 0) {
			ev_input_reject(r->in, l, "--key: %s", r->err.p);
			goto rejected;
		}
	}
	ev_buf_reset(&s->line);
	ev_buf_add(&s->line, l->p, l->len);
	ev_buf_addc(&s->line, '\n');
	s->len = l->len;
	ev_buf_reset(&s->id);
	ev_buf_reset(&s->type);
	s->hasid = v[0].type == EV_J_STRING || v[0].type == EV_J_NUMBER;
	if (v[0].type == EV_J_STRING)
		ev_jval_str(&v[0], &s->id);
	else if (s->hasid)
		ev_buf_add(&s->id, v[0].p, v[0].len);
	s->hastype = v[1].type == EV_J_STRING;
	if (s->hastype)
		ev_jval_str(&v[1], &s->type);
	ev_buf_reset(&s->label);
	if (s->hasid && s->id.len && !memchr(s->id.p, '\0', s->id.len))
		ev_buf_add(&s->label, s->id.p, s->id.len);
	else
		ev_buf_printf(&s->label, "%s:%ju", r->in->name, l->no);
	s->startpos = startpos;
	s->startok = startok;
	s->attempt = 0;
	s->status = -1;
	s->signo = 0;
	ev_buf_reset(&s->detail);
	ev_buf_reset(&s->errtail);
	r->tail++;
	keyadd(r, i);
	return;
rejected:
	if (!r->dirty)
		r->batchstart = r->now;
	r->dirty = 1;
}

static int
wantinput(struct runner *r)
{
	/* A group's member takes no more than its handlers can start on, so
	 * that the other members get the rest. */
	uint64_t max = !r->c->share ? r->W : (uint64_t)r->c->jobs * (r->c->coproc ? DEPTH : 1);

	return !r->stopping && !r->inputdone && r->tail - r->head < max;
}

/* Returns 1 when it stopped with input still to read. */
static int
readinput(struct runner *r)
{
	struct ev_line l;

	for (int n = 0; wantinput(r); n++) {
		if (n == READ_BURST)
			return 1;
		int got = ev_input_get(r->in, &l, 0);
		if (got == EV_SRC_IDLE)
			break;
		if (got == 1) {
			take(r, &l);
			continue;
		}
		r->inputdone = 1;
	}
	return 0;
}

/* --- the loop ------------------------------------------------------------ */

static void
dispatch(struct runner *r)
{
	int h;

	r->ratewait_us = 0;
	while (r->rlen > 0 && !r->stopping && r->h->pick(r, &h)) {
		int32_t i = r->ready[r->rhead];
		struct slot *s = slot(r, i);
		if (s->expiry != NONE && wallnow(r) >= s->expiry) {
			popready(r);
			ev_buf_reset(&s->detail);
			runner_bury(r, i, "expired");
			continue;
		}
		if ((r->ratewait_us = ev_retry_ratetake(&r->rate,
		    r->now * 1000)) > 0)
			break;
		popready(r);
		s->attempt++;
		r->st->attempts++;
		s->state = S_RUNNING;
		s->started = mono_us();
		s->started_ns = ev_trace_now_ns();
		/* the attempt is a child span of the event's (TRACEPARENT) */
		if ((s->traced = ev_trace_fromline(s->line.p, s->len, &s->tparent)))
			ev_trace_child(&s->tparent, &s->tctx);
		r->h->send(r, h, i);
	}
	r->h->flush(r);
	r->st->inflight = r->h->inflight(r);
}

static void
commit(struct runner *r)
{
	int rc;

	if (r->head < r->tail) {
		struct slot *h = &r->s[r->head % r->W];
		rc = h->startok ? ev_input_commit_pos(r->in, h->startpos) : ev_input_commit(r->in);
	} else {
		rc = r->lastposok ? ev_input_commit_pos(r->in, r->lastpos) : ev_input_commit(r->in);
	}
	r->dirty = 0;
	r->batchn = 0;
	if (rc < 0)
		sinkfail(r);
}

static void
startstop(struct runner *r, int hard)
{
	if (!r->stopping) {
		r->stopping = 1;
		r->stopat = r->now;
		if (!ev_quiet)
			ev_warn("stopping: %d running, %ju pending", r->h->inflight(r),
			    (uintmax_t)(r->tail - r->head));
	}
	if (hard)
		r->hard = 1;
	r->h->stop(r, r->hard);
}

static void
drainwake(void)
{
	char buf[256];

	while (read(wakefd[0], buf, sizeof buf) > 0)
		;
}

static int
over(struct runner *r)
{
	if (r->stopping || (r->inputdone && r->head == r->tail))
		r->h->notestop(r);
	if (r->stopping)
		return !r->h->running(r);
	return r->inputdone && r->head == r->tail && !r->h->running(r);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* A signal asks for a stop; a second one, or the grace period's end, for a
 * hard one. SIGUSR1 and systemd's notifications are the input loop's
 * (ev_input_tick). */
static void
heedsignals(struct runner *r)
{
	if (ev_input_tick(r->in) && !r->stopping)
		startstop(r, 0);
	if (ev_sig_nstops() >= 2 && !r->hard)
		startstop(r, 1);
	if (r->stopping && !r->hard && r->now >= r->stopat + r->c->grace_ms)
		startstop(r, 1);
}

/* Events whose backoff is over are ready again; the next end of one, or NONE. */
static int64_t
wakebackoffs(struct runner *r)
{
	while (r->nheap > 0 && r->s[r->heap[0]].notbefore <= r->now)
		pushready(r, heappop(r), 0);
	return r->nheap > 0 ? r->s[r->heap[0]].notbefore : NONE;
}

/* The rate limit and the grace period may wake the loop earlier. */
static int64_t
timers(struct runner *r, int64_t next)
{
	if (r->ratewait_us > 0 && r->now + (r->ratewait_us + 999) / 1000 < next)
		next = r->now + (r->ratewait_us + 999) / 1000;
	if (r->stopping && !r->hard && r->stopat + r->c->grace_ms < next)
		next = r->stopat + r->c->grace_ms;
	return next;
}

/* Commit the finished events when the batch is full, old or nothing else is
 * going on; else wake when it will be old. */
static int64_t
batch(struct runner *r, int64_t next)
{
	if (!r->dirty)
		return next;
	int idle = !r->h->running(r) || (r->rlen == 0 && r->h->inflight(r) == 0);
	if (idle || r->batchn >= EV_BATCH_LINES || r->now - r->batchstart >= EV_BATCH_MS)
		commit(r);
	else if (r->batchstart + EV_BATCH_MS < next)
		next = r->batchstart + EV_BATCH_MS;
	return next;
}

/* Nothing but the input can happen and it has no descriptor: wait in the
 * source itself (a spool waits on inotify); a signal is seen within the wait. */
static int
waitinput(struct runner *r, int64_t next)
{
	struct ev_line l;

	if (next != NONE || r->dirty || r->rlen != 0 || r->stopping || r->h->inflight(r) != 0)
		return 0;
	int got = ev_input_get(r->in, &l, NOFD_IDLE_MS);
	if (got == 1)
		take(r, &l);
	else if (got != EV_SRC_IDLE)
		r->inputdone = 1;
	return 1;
}

/* The wake pipe and the input's descriptor, if it is wanted; the number of
 * fds set, or 0 when waitinput() has done the waiting. */
static int
pollinput(struct runner *r, struct pollfd *fds, int64_t *next)
{
	int n = 0, infd;

	fds[n++] = (struct pollfd){ .fd = wakefd[0], .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = ev_sig_fd(), .events = POLLIN };
	if (!wantinput(r))
		return n;
	infd = ev_input_pollfd(r->in);
	if (infd < 0 && waitinput(r, *next))
		return 0;
	if (infd >= 0)
		fds[n++] = (struct pollfd){ .fd = infd, .events = POLLIN };
	else if (r->now + NOFD_SLICE_MS < *next)
		*next = r->now + NOFD_SLICE_MS;
	return n;
}

/* poll(2) until next (NONE: no limit), then hand what it saw to the handlers. */
static void
waitall(struct runner *r, struct pollfd *fds, int n, int64_t next)
{
	int first = n;
	int64_t t;

	n += r->h->pollfds(r, fds + n);
	t = next == NONE ? -1 : next <= r->now ? 0 : next - r->now;
	if (t > INT_MAX)
		t = INT_MAX;
	/* signals and systemd's watchdog get a look at least this often */
	if (t < 0 || t > ev_input_maxwait(r->in))
		t = ev_input_maxwait(r->in);
	if (poll(fds, (nfds_t)n, (int)t) < 0) {
		if (errno != EINTR) {
			ev_warn("poll:");
			r->broken = 1;
		}
		return;
	}
	r->now = ev_mono_ms();
	if (fds[0].revents) {
		drainwake();
	}
	if (gotchld) {
		gotchld = 0;
		r->h->reap(r);
	}
	r->h->handle(r, fds + first);
}

/* One turn of the loop; 1 when the run is over. */
static int
turn(struct runner *r, struct pollfd *fds)
{
	int64_t next;
	int n, more;

	r->now = ev_mono_ms();
	heedsignals(r);
	more = readinput(r);
	next = wakebackoffs(r);
	dispatch(r);
	/* nothing left to try for now: the breaker's streak is over */
	if (r->nheld && r->rlen == 0 && r->nheap == 0 && r->h->inflight(r) == 0)
		flushheld(r);
	next = earliest(next, r->h->tick(r));
	if (over(r))
		return 1;
	if (more)
		next = r->now;
	next = batch(r, timers(r, next));
	if ((n = pollinput(r, fds, &next)) == 0)
		return 0;
	waitall(r, fds, n, next);
	return r->broken;
}


static void
setup(struct runner *r)
{
	struct ev_buf err = { 0 };
	uint32_t W = WINDOW_MIN;

	if (r->c->coproc)
		while (W < 2u * (uint32_t)r->c->jobs * DEPTH)
			W *= 2;
	r->W = W;
	r->s = ev_calloc(W, sizeof *r->s);
	r->ready = ev_calloc(W, sizeof *r->ready);
	r->heap = ev_calloc(W, sizeof *r->heap);
	r->held = ev_calloc(W, sizeof *r->held);
	if (r->c->key) {
		r->kmask = 2 * W - 1;
		r->keys = ev_calloc(2 * (size_t)W, sizeof *r->keys);
		for (uint32_t i = 0; i < 2 * W; i++)
			r->keys[i].head = -1;
	}
	r->paths[0] = ev_jpath_compile(".id", &err);
	r->paths[1] = ev_jpath_compile(".type", &err);
	r->paths[2] = ev_jpath_compile(".expirytime", &err);
	r->npaths = 3;
	if (r->c->key && (r->paths[3] = ev_key_path(r->c->key)))
		r->npaths = 4; /* a --key that is a path: read by the same scan */
	ev_buf_free(&err);
	r->rate = r->c->rate;
	r->now = ev_mono_ms();
	r->skew = ev_now_ms() - r->now;
	r->h = r->c->coproc ? &coproc_handlers : &pool_handlers;
	r->h->init(r);
}

static void
teardown(struct runner *r)
{
	for (uint32_t i = 0; i < r->W; i++) {
		struct slot *s = &r->s[i];
		ev_buf_free(&s->line);
		ev_buf_free(&s->label);
		ev_buf_free(&s->id);
		ev_buf_free(&s->type);
		ev_buf_free(&s->key);
		ev_buf_free(&s->detail);
		ev_buf_free(&s->errtail);
	}
	for (int i = 0; i < 3; i++)
		ev_jpath_free(r->paths[i]);
	r->h->free(r);
	free(r->s);
	free(r->ready);
	free(r->heap);
	free(r->held);
	free(r->keys);
	ev_buf_free(&r->a);
	ev_buf_free(&r->b);
	ev_buf_free(&r->val);
	ev_buf_free(&r->err);
}

/* The run cannot go on (reported): 111, and the input stays where it was,
 * as if the process had died there. */
static int
stopped(struct ev_input *in)
{
	in->nocommit = 1;
	ev_input_fail(in, EV_TEMPFAIL);
	return EV_TEMPFAIL;
}

int
ev_runner_run(const struct ev_runner_conf *c, struct ev_input *in, struct ev_sink *out,
    struct ev_sink *dead, struct ev_runner_stats *st)
{
	struct runner r = { .c = c, .in = in, .out = out, .dead = dead, .st = st };
	struct pollfd *fds;

	memset(st, 0, sizeof *st);
	if (setsignals() < 0) {
		ev_warn("pipe:");
		return stopped(in);
	}
	setup(&r);
	fds = ev_calloc(3 + r.h->maxfds(&r), sizeof *fds);
	while (!turn(&r, fds))
		;
	if (r.broken) {
		free(fds);
		teardown(&r);
		unsetsignals();
		return stopped(in);
	}
	r.now = ev_mono_ms();
	/* What a stop left unfinished: read again after a restart, or dead. */
	for (uint64_t q = r.head; q < r.tail; q++) {
		int32_t i = (int32_t)(q % r.W);
		if (r.s[i].state == S_FINISHED)
			continue;
		st->abandoned++;
		if (!c->replay)
			runner_bury(&r, i, "shutdown");
	}
	if (c->replay && st->abandoned && !ev_quiet)
		ev_warn("%ju unfinished events left for the next run", st->abandoned);
	commit(&r);
	st->signo = ev_sig_stopsig();
	free(fds);
	teardown(&r);
	unsetsignals();
	if (r.status > in->status)
		ev_input_fail(in, r.status);
	return r.deadnowhere ? EV_FALSE : 0;
}
