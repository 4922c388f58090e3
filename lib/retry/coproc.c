/* SPDX-License-Identifier: ISC */
/* coproc.c — evretry's co-process mode: N handlers that stay up.
 *
 * The protocol (evretry(1), CO-PROCESS PROTOCOL, says the same):
 *
 *   evretry -> handler, on the handler's standard input:
 *       one event per line, exactly the bytes of the input line, then "\n".
 *   handler -> evretry, on the handler's standard output:
 *       one answer line per event, in the order the events were sent:
 *           ok                 the event is done
 *           retry [REASON]     it failed and may succeed later: evretry
 *                              tries it again after a backoff (counted
 *                              against --attempts)
 *           fail [REASON]      it can never succeed: dead-lettered at once
 *       Anything after "ok" is ignored; a trailing "\r" is ignored.
 *   The handler must flush after each answer (or at least before it waits
 *   for more input): evretry sends up to `depth` events ahead of the
 *   answers and waits for them. Diagnostics go to standard error, which
 *   evretry passes on prefixed with "handler PID:" and keeps the last
 *   EV_PROC_TAIL bytes of for dead letters.
 *
 *   End: evretry closes the handler's standard input when the input has
 *   ended and every event is answered; the handler exits (any status is
 *   accepted, a non-zero one is reported). After --grace it gets SIGTERM,
 *   after another --grace SIGKILL.
 *
 *   Failure: a handler that exits, closes its standard output, writes a line
 *   that is not an answer (or an answer nobody asked for), or owes an answer
 *   for longer than --timeout (then it is stopped with SIGTERM, and SIGKILL
 *   after --grace) is restarted. The oldest unanswered event is charged one
 *   failed, retryable attempt (it is the one the handler was working on, and
 *   a poison event must not be retried forever); the others it had been sent
 *   go back to the front of the queue uncounted. A handler that dies before
 *   answering anything is restarted after a backoff (--backoff).
 *
 * Nothing here knows about events beyond their number: the caller (the
 * runner) owns them and learns each outcome through the answer callback.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "retry/coproc.h"
#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"

enum hstate { H_DOWN, H_UP, H_CLOSING, H_DYING };
enum why { W_NONE, W_TIMEOUT, W_PROTOCOL, W_EOF, W_WRITE };

struct handler {
	struct ev_proc p;
	enum hstate state;
	enum why why;
	int32_t *q;            /* events sent and not answered, oldest first */
	int qhead, qlen;
	struct ev_buf w;       /* bytes to write; w.p[woff..len) still pending */
	size_t woff;
	struct ev_buf r;       /* an incomplete answer line */
	struct ev_buf detail;  /* why it is being stopped */
	struct ev_proc_log log;
	char label[32];
	int64_t headsince;     /* when the oldest unanswered event became so */
	int64_t killat;        /* next signal due (SIGTERM when closing, then SIGKILL) */
	int64_t restartat;
	int crashes;           /* deaths in a row without an answer */
	uintmax_t answered;    /* since this start */
	int ifd, ofd, efd;     /* positions in the last pollfd array, or -1 */
};

struct ev_coproc {
	struct ev_coproc_conf c;
	struct handler *h;
	int stopping;
	int inflight;
};

struct ev_coproc *
ev_coproc_new(const struct ev_coproc_conf *c)
{
	struct ev_coproc *p = ev_calloc(1, sizeof *p);

	p->c = *c;
	p->h = ev_calloc((size_t)c->n, sizeof *p->h);
	for (int i = 0; i < c->n; i++) {
		p->h[i].q = ev_calloc((size_t)c->depth, sizeof *p->h[i].q);
		p->h[i].p.in = p->h[i].p.out = p->h[i].p.err = -1;
	}
	return p;
}

void
ev_coproc_free(struct ev_coproc *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->c.n; i++) {
		struct handler *h = &p->h[i];
		ev_proc_close(&h->p.in);
		ev_proc_close(&h->p.out);
		ev_proc_close(&h->p.err);
		free(h->q);
		ev_buf_free(&h->w);
		ev_buf_free(&h->r);
		ev_buf_free(&h->detail);
		ev_proc_logfree(&h->log);
	}
	free(p->h);
	free(p);
}

int ev_coproc_inflight(const struct ev_coproc *p) { return p->inflight; }
int ev_coproc_maxfds(const struct ev_coproc *p) { return 3 * p->c.n; }

static void
start(struct ev_coproc *p, struct handler *h, int64_t now)
{
	if (ev_proc_spawn(p->c.cmd, &h->p, 0) < 0) {
		ev_warn("%s: cannot start:", ev_proc_path(p->c.cmd));
		h->restartat = now + ev_retry_backoff(p->c.base_ms, p->c.cap_ms, ++h->crashes,
		    EV_JITTER_FULL);
		return;
	}
	h->state = H_UP;
	h->why = W_NONE;
	h->answered = 0;
	h->killat = 0;
	ev_buf_reset(&h->w);
	ev_buf_reset(&h->r);
	ev_proc_logreset(&h->log);
	h->woff = 0;
	snprintf(h->label, sizeof h->label, "handler %ld", (long)h->p.pid);
}

int
ev_coproc_pick(struct ev_coproc *p, int64_t now)
{
	int best = -1;

	if (p->stopping)
		return -1;
	for (int i = 0; i < p->c.n; i++) {
		struct handler *h = &p->h[i];
		if (h->state == H_DOWN && now >= h->restartat)
			start(p, h, now);
		if (h->state == H_UP && h->qlen < p->c.depth && (best < 0 || h->qlen < p->h[best].qlen))
			best = i;
	}
	return best;
}

void
ev_coproc_send(struct ev_coproc *p, int i, int32_t ev, const char *line, size_t len)
{
	struct handler *h = &p->h[i];

	if (h->qlen == 0)
		h->headsince = ev_mono_ms();
	h->q[(h->qhead + h->qlen++) % p->c.depth] = ev;
	p->inflight++;
	if (h->woff > 0 && h->woff == h->w.len) {
		ev_buf_reset(&h->w);
		h->woff = 0;
	}
	ev_buf_add(&h->w, line, len);
}

/* Stop a handler: SIGTERM now, SIGKILL after the grace. */
static void
kill_handler(struct ev_coproc *p, struct handler *h, enum why why, int64_t now)
{
	if (h->state == H_DYING || h->state == H_DOWN)
		return;
	if (why != W_NONE && h->why == W_NONE)
		h->why = why;
	ev_proc_close(&h->p.in);
	ev_proc_kill(&h->p, SIGTERM);
	h->state = H_DYING;
	h->killat = now + p->c.grace_ms;
}

static void
writeout(struct ev_coproc *p, struct handler *h)
{
	while (h->p.in >= 0 && h->woff < h->w.len) {
		ssize_t n = write(h->p.in, h->w.p + h->woff, h->w.len - h->woff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			/* It stopped reading: treat it as dead, the reaper sorts out the rest. */
			ev_buf_reset(&h->detail);
			ev_buf_printf(&h->detail, "handler stopped reading its input (%s)",
			    strerror(errno));
			kill_handler(p, h, W_WRITE, ev_mono_ms());
			return;
		}
		h->woff += (size_t)n;
	}
	if (h->woff == h->w.len) {
		ev_buf_reset(&h->w);
		h->woff = 0;
		if (h->state == H_CLOSING)
			ev_proc_close(&h->p.in);
	}
}

void
ev_coproc_flush(struct ev_coproc *p)
{
	for (int i = 0; i < p->c.n; i++)
		if (p->h[i].w.len > p->h[i].woff)
			writeout(p, &p->h[i]);
}

static int32_t
pophead(struct ev_coproc *p, struct handler *h)
{
	int32_t ev = h->q[h->qhead];

	h->qhead = (h->qhead + 1) % p->c.depth;
	h->qlen--;
	p->inflight--;
	return ev;
}

static void
outcome(struct ev_coproc *p, struct handler *h, int32_t ev, enum ev_outkind k,
    const char *d, size_t dn, int status, int signo)
{
	struct ev_outcome o = { k, status, signo, d, dn, NULL, 0 };

	if (k != EV_OUT_OK && k != EV_OUT_REQUEUE)
		ev_proc_logtail(&h->log, &o.errtail, &o.errtaillen);
	p->c.answer(p->c.ctx, ev, &o);
}

static void
answer(struct ev_coproc *p, struct handler *h, const char *s, size_t n, int64_t now)
{
	enum ev_outkind k;
	size_t word;

	if (h->why == W_PROTOCOL)
		return;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	const char *sp = memchr(s, ' ', n);
	word = sp ? (size_t)(sp - s) : n;
	if (word == 2 && memcmp(s, "ok", 2) == 0)
		k = EV_OUT_OK;
	else if (word == 5 && memcmp(s, "retry", 5) == 0)
		k = EV_OUT_RETRY;
	else if (word == 4 && memcmp(s, "fail", 4) == 0)
		k = EV_OUT_FAIL;
	else
		goto bad;
	if (h->qlen == 0)
		goto bad;
	int32_t ev = pophead(p, h);
	h->answered++;
	h->crashes = 0;
	h->headsince = now;
	size_t skip = word < n ? word + 1 : word;
	outcome(p, h, ev, k, s + skip, n - skip, -1, 0);
	return;
bad:
	ev_buf_reset(&h->detail);
	ev_buf_adds(&h->detail, h->qlen ? "protocol error: " : "answer with no event: ");
	ev_buf_add(&h->detail, s, n < 200 ? n : 200);
	ev_warn("%s: %s", h->label, h->detail.p);
	kill_handler(p, h, W_PROTOCOL, now);
}

/* Read what is there; 0 at end of file, 1 when more may come. */
static int
readfd(struct ev_coproc *p, struct handler *h, int *fd, int isout, int64_t now)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0) {
			ev_proc_close(fd);
			return 0;
		}
		if (!isout) {
			ev_proc_logfeed(&h->log, h->label, buf, (size_t)n);
			continue;
		}
		const char *s = buf, *e = buf + n;
		while (s < e) {
			const char *nl = memchr(s, '\n', (size_t)(e - s));
			if (!nl) {
				ev_buf_add(&h->r, s, (size_t)(e - s));
				break;
			}
			if (h->r.len) {
				ev_buf_add(&h->r, s, (size_t)(nl - s));
				answer(p, h, h->r.p, h->r.len, now);
				ev_buf_reset(&h->r);
			} else {
				answer(p, h, s, (size_t)(nl - s), now);
			}
			s = nl + 1;
		}
	}
}

int
ev_coproc_pollfds(struct ev_coproc *p, struct pollfd *fds)
{
	int n = 0;

	for (int i = 0; i < p->c.n; i++) {
		struct handler *h = &p->h[i];
		h->ifd = h->ofd = h->efd = -1;
		if (h->p.in >= 0 && h->woff < h->w.len) {
			h->ifd = n;
			fds[n++] = (struct pollfd){ .fd = h->p.in, .events = POLLOUT };
		}
		if (h->p.out >= 0) {
			h->ofd = n;
			fds[n++] = (struct pollfd){ .fd = h->p.out, .events = POLLIN };
		}
		if (h->p.err >= 0) {
			h->efd = n;
			fds[n++] = (struct pollfd){ .fd = h->p.err, .events = POLLIN };
		}
	}
	return n;
}

void
ev_coproc_handle(struct ev_coproc *p, const struct pollfd *fds, int64_t now)
{
	for (int i = 0; i < p->c.n; i++) {
		struct handler *h = &p->h[i];
		if (h->ofd >= 0 && fds[h->ofd].revents && h->p.out >= 0 &&
		    readfd(p, h, &h->p.out, 1, now) == 0) {
			ev_buf_reset(&h->detail);
			ev_buf_adds(&h->detail, "handler closed its standard output");
			kill_handler(p, h, W_EOF, now);
		}
		if (h->efd >= 0 && fds[h->efd].revents && h->p.err >= 0)
			readfd(p, h, &h->p.err, 0, now);
		if (h->ifd >= 0 && fds[h->ifd].revents && h->p.in >= 0)
			writeout(p, h);
	}
}

static void
ended(struct ev_coproc *p, struct handler *h, int status, int64_t now)
{
	struct ev_buf d = { 0 };
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	/* Answers written before it went still count. */
	if (h->p.out >= 0)
		readfd(p, h, &h->p.out, 1, now);
	if (h->p.err >= 0)
		readfd(p, h, &h->p.err, 0, now);
	ev_proc_close(&h->p.in);
	ev_proc_close(&h->p.out);
	ev_proc_close(&h->p.err);
	ev_proc_logflush(&h->log, h->label);
	if (h->why == W_TIMEOUT)
		ev_buf_printf(&d, "no answer within %jd ms", (intmax_t)p->c.timeout_ms);
	else if (h->why != W_NONE)
		ev_buf_add(&d, h->detail.p, h->detail.len);
	else if (sig)
		ev_buf_printf(&d, "handler killed by signal %d", sig);
	else
		ev_buf_printf(&d, "handler exited with status %d", code);
	if (h->qlen && !p->stopping)
		ev_warn("%s: %s with %d event%s in flight", h->label, d.p, h->qlen,
		    h->qlen == 1 ? "" : "s");
	else if (p->stopping && h->why == W_NONE && (sig || code != 0))
		ev_warn("%s: %s", h->label, d.p);
	/* Give back the unanswered events, the newest first, so that a caller
	 * pushing them to the front of its queue keeps their order. */
	while (h->qlen > 1) {
		int32_t ev = h->q[(h->qhead + h->qlen - 1) % p->c.depth];
		h->qlen--;
		p->inflight--;
		outcome(p, h, ev, EV_OUT_REQUEUE, NULL, 0, -1, 0);
	}
	if (h->qlen) {
		int32_t ev = pophead(p, h);
		outcome(p, h, ev, p->stopping && h->why == W_NONE ? EV_OUT_REQUEUE : EV_OUT_RETRY,
		    d.p, d.len, code, sig);
	}
	h->qhead = 0;
	ev_buf_free(&d);
	h->state = H_DOWN;
	if (h->answered == 0)
		h->restartat = now + ev_retry_backoff(p->c.base_ms, p->c.cap_ms, ++h->crashes,
		    EV_JITTER_FULL);
	else
		h->restartat = now;
}

void
ev_coproc_reap(struct ev_coproc *p, int64_t now)
{
	for (int i = 0; i < p->c.n; i++) {
		struct handler *h = &p->h[i];
		int status;
		if (h->state != H_DOWN && ev_proc_reap(&h->p, &status))
			ended(p, h, status, now);
	}
}

int64_t
ev_coproc_tick(struct ev_coproc *p, int64_t now)
{
	int64_t next = -1;

#define SOON(t) do { int64_t d_ = (t) - now; if (d_ < 0) d_ = 0; \
	if (next < 0 || d_ < next) next = d_; } while (0)
	for (int i = 0; i < p->c.n; i++) {
		struct handler *h = &p->h[i];
		switch (h->state) {
		case H_DOWN:
			break;
		case H_UP:
			if (h->qlen && p->c.timeout_ms > 0) {
				if (now - h->headsince >= p->c.timeout_ms)
					kill_handler(p, h, W_TIMEOUT, now);
				else
					SOON(h->headsince + p->c.timeout_ms);
			}
			break;
		case H_CLOSING:
			if (now >= h->killat) {
				kill_handler(p, h, W_NONE, now);
			} else {
				SOON(h->killat);
			}
			break;
		case H_DYING:
			if (h->killat && now >= h->killat) {
				ev_proc_kill(&h->p, SIGKILL);
				h->killat = 0;
			} else if (h->killat) {
				SOON(h->killat);
			}
			break;
		}
		if (h->state == H_DOWN && !p->stopping && h->qlen == 0 && now < h->restartat)
			SOON(h->restartat);
	}
#undef SOON
	return next;
}

void
ev_coproc_stop(struct ev_coproc *p, int64_t now, int hard)
{
	p->stopping = 1;
	for (int i = 0; i < p->c.n; i++) {
		struct handler *h = &p->h[i];
		if (h->state == H_UP) {
			h->state = H_CLOSING;
			h->killat = now + p->c.grace_ms;
			if (h->woff == h->w.len)
				ev_proc_close(&h->p.in);
		}
		if (hard && h->state == H_CLOSING)
			kill_handler(p, h, W_NONE, now);
	}
}

int
ev_coproc_stopped(const struct ev_coproc *p)
{
	for (int i = 0; i < p->c.n; i++)
		if (p->h[i].state != H_DOWN)
			return 0;
	return 1;
}
