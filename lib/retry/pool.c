/* SPDX-License-Identifier: ISC */
/* pool.c — the runner's worker pool: one process per attempt, its stdin
 * written, its stdout and stderr read, its deadline kept (spawn mode). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "retry/coproc.h"
#include "base/time.h"
#include "base/err.h"
#include "base/write.h"
#include "event/event.h"
#include "json/jsonscan.h"
#include "base/buf.h"
#include "base/mem.h"
#include "retry/runner.h"
#include "retry/private.h"

/* --- spawn mode: one process per attempt --------------------------------- */

static void
writestdin(struct worker *w, struct slot *s)
{
	size_t n;

	if (w->p.in >= 0 && ev_write_all(w->p.in, s->line.p + w->inoff, s->line.len - w->inoff,
	    &n) < 0) {
		w->inoff += n;
		if (errno == EAGAIN)
			return;
		/* it does not read its input: its business */
	}
	ev_proc_close(&w->p.in);
}

static void
readpipe(struct runner *r, struct worker *w, int *fd, int isout)
{
	char buf[65536];
	const char *label = slot(r, w->ev)->label.p;

	for (;;) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			ev_proc_close(fd);
			return;
		}
		if (!isout)
			ev_proc_logfeed(&w->elog, label, buf, (size_t)n);
		else if (r->c->stdout_mode == EV_STDOUT_OUTPUT || r->c->stdout_mode == EV_STDOUT_REPLY)
			ev_buf_add(&w->out, buf, (size_t)n);
		else
			ev_proc_logfeed(&w->olog, label, buf, (size_t)n);
	}
}

static void
spawnone(struct runner *r, struct worker *w, int32_t i)
{
	struct slot *s = slot(r, i);
	char num[32], when[32];
	int64_t deadline = NONE;

	ev_proc_setvar(r->c->cmd, 0, s->hasid ? s->id.p : NULL, s->id.len);
	ev_proc_setvar(r->c->cmd, 1, s->hastype ? s->type.p : NULL, s->type.len);
	snprintf(num, sizeof num, "%d", s->attempt);
	ev_proc_setvar(r->c->cmd, 2, num, strlen(num));
	w->deadwhy = K_NONE;
	if (r->c->timeout_ms > 0) {
		deadline = wallnow(r) + r->c->timeout_ms;
		w->deadwhy = K_TIMEOUT;
	}
	if (s->expiry != NONE && s->expiry < deadline) {
		deadline = s->expiry;
		w->deadwhy = K_EXPIRED;
	}
	if (deadline != NONE) {
		ev_time_format(deadline, when);
		ev_proc_setvar(r->c->cmd, 3, when, strlen(when));
	} else {
		ev_proc_setvar(r->c->cmd, 3, NULL, 0);
	}
	if (s->traced) {
		char tp[EV_TRACEPARENT_LEN + 1];
		ev_trace_format(&s->tctx, tp);
		ev_proc_setvar(r->c->cmd, 4, tp, strlen(tp));
	} else {
		ev_proc_setvar(r->c->cmd, 4, NULL, 0);
	}
	if (ev_proc_spawn(r->c->cmd, &w->p, r->c->stdout_mode == EV_STDOUT_DROP ? EV_PROC_NOSTDOUT : 0) < 0) {
		char msg[256];
		int n = snprintf(msg, sizeof msg, "cannot run %s: %s", ev_proc_path(r->c->cmd),
		    strerror(errno));
		struct ev_outcome o = { EV_OUT_RETRY, -1, 0, msg, (size_t)n, NULL, 0 };
		ev_warn("%s: %s", s->label.p, msg);
		runner_settle(r, i, &o);
		return;
	}
	w->ev = i;
	w->inoff = 0;
	w->deadline = deadline == NONE ? NONE : deadline - r->skew;
	w->killed = K_NONE;
	w->killat = 0;
	ev_buf_reset(&w->out);
	ev_proc_logreset(&w->olog);
	ev_proc_logreset(&w->elog);
	r->busy++;
	s->state = S_RUNNING;
	writestdin(w, s);
}

/* The worker's child has been reaped: drain its pipes, judge the attempt. */
static void
complete(struct runner *r, struct worker *w, int status)
{
	int32_t i = w->ev;
	struct slot *s = slot(r, i);
	struct ev_outcome o = { EV_OUT_OK, -1, 0, NULL, 0, NULL, 0 };
	char msg[256] = "";

	if (w->p.out >= 0)
		readpipe(r, w, &w->p.out, 1);
	if (w->p.err >= 0)
		readpipe(r, w, &w->p.err, 0);
	ev_proc_close(&w->p.in);
	ev_proc_close(&w->p.out);
	ev_proc_close(&w->p.err);
	ev_proc_logflush(&w->olog, s->label.p);
	ev_proc_logflush(&w->elog, s->label.p);
	ev_proc_logtail(&w->elog, &o.errtail, &o.errtaillen);
	w->ev = -1;
	r->busy--;
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);
		o.status = code;
		if (code != 0) {
			o.kind = r->c->retry[code] ? EV_OUT_RETRY : EV_OUT_FAIL;
			snprintf(msg, sizeof msg, "exit status %d", code);
		}
	} else {
		o.signo = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		o.kind = EV_OUT_RETRY;
		if (w->killed == K_TIMEOUT)
			snprintf(msg, sizeof msg, "timed out after %jd ms",
			    (intmax_t)r->c->timeout_ms);
		else
			snprintf(msg, sizeof msg, "killed by signal %d", o.signo);
	}
	o.detail = msg;
	o.detaillen = strlen(msg);
	if (o.kind != EV_OUT_OK && (w->killed == K_SHUTDOWN || w->killed == K_EXPIRED)) {
		/* Not the event's fault: left for later, or too late for it. */
		s->status = o.status;
		s->signo = o.signo;
		ev_buf_reset(&s->errtail);
		ev_buf_add(&s->errtail, o.errtail, o.errtaillen);
		if (w->killed == K_SHUTDOWN) {
			runner_setdetail(s, "%s at shutdown", msg);
			s->state = S_LEFT;
		} else {
			runner_setdetail(s, "expirytime passed during attempt %d", s->attempt);
			runner_bury(r, i, "expired");
		}
		return;
	}
	r->outcap = &w->out;
	runner_settle(r, i, &o);
	r->outcap = NULL;
}

static void
reapworkers(struct runner *r)
{
	for (int k = 0; k < r->c->jobs; k++) {
		struct worker *w = &r->w[k];
		int status;
		if (w->ev >= 0 && ev_proc_reap(&w->p, &status))
			complete(r, w, status);
	}
}

static int64_t
tickworkers(struct runner *r)
{
	int64_t next = NONE;

	for (int k = 0; k < r->c->jobs; k++) {
		struct worker *w = &r->w[k];
		if (w->ev < 0)
			continue;
		if (w->killed == K_NONE && (r->hard || r->now >= w->deadline)) {
			w->killed = r->hard && r->now < w->deadline ? K_SHUTDOWN : w->deadwhy;
			ev_proc_kill(&w->p, SIGTERM);
			w->killat = r->now + r->c->grace_ms;
		} else if (w->killat && r->now >= w->killat) {
			ev_proc_kill(&w->p, SIGKILL);
			w->killat = 0;
		}
		if (w->killed == K_NONE && w->deadline < next)
			next = w->deadline;
		if (w->killat && w->killat < next)
			next = w->killat;
	}
	return next;
}

/* --- the worker pool ----------------------------------------------------- */

static void
poolinit(struct runner *r)
{
	r->w = ev_calloc((size_t)r->c->jobs, sizeof *r->w);
	for (int k = 0; k < r->c->jobs; k++) {
		r->w[k].ev = -1;
		r->w[k].p.in = r->w[k].p.out = r->w[k].p.err = -1;
	}
}

static void
poolfree(struct runner *r)
{
	if (r->w)
		for (int k = 0; k < r->c->jobs; k++) {
			ev_buf_free(&r->w[k].out);
			ev_proc_logfree(&r->w[k].olog);
			ev_proc_logfree(&r->w[k].elog);
		}
	free(r->w);
}

static int
poolpick(struct runner *r, int *h)
{
	for (int k = 0; k < r->c->jobs; k++)
		if (r->w[k].ev < 0) {
			*h = k;
			return 1;
		}
	return 0;
}

static void poolsend(struct runner *r, int h, int32_t i) { spawnone(r, &r->w[h], i); }
static void poolflush(struct runner *r) { (void)r; }
static int poolinflight(struct runner *r) { return r->busy; }
static int poolrunning(struct runner *r) { return r->busy > 0; }
static void poolnotestop(struct runner *r) { (void)r; }
/* A hard stop kills the workers in tickworkers(). */
static void poolstop(struct runner *r, int hard) { (void)r, (void)hard; }
static size_t poolmaxfds(struct runner *r) { return 3 * (size_t)r->c->jobs; }

/* Each worker's stdin, stdout and stderr, as long as they are open. */
static int
poolpollfds(struct runner *r, struct pollfd *fds)
{
	int n = 0;

	for (int k = 0; k < r->c->jobs; k++) {
		struct worker *w = &r->w[k];
		w->ifd = w->ofd = w->efd = -1;
		if (w->ev < 0)
			continue;
		if (w->p.in >= 0) {
			w->ifd = n;
			fds[n++] = (struct pollfd){ .fd = w->p.in, .events = POLLOUT };
		}
		if (w->p.out >= 0) {
			w->ofd = n;
			fds[n++] = (struct pollfd){ .fd = w->p.out, .events = POLLIN };
		}
		if (w->p.err >= 0) {
			w->efd = n;
			fds[n++] = (struct pollfd){ .fd = w->p.err, .events = POLLIN };
		}
	}
	return n;
}

static void
poolhandle(struct runner *r, const struct pollfd *fds)
{
	for (int k = 0; k < r->c->jobs; k++) {
		struct worker *w = &r->w[k];
		if (w->ev < 0)
			continue;
		if (w->ifd >= 0 && fds[w->ifd].revents)
			writestdin(w, slot(r, w->ev));
		if (w->ofd >= 0 && fds[w->ofd].revents && w->p.out >= 0)
			readpipe(r, w, &w->p.out, 1);
		if (w->efd >= 0 && fds[w->efd].revents && w->p.err >= 0)
			readpipe(r, w, &w->p.err, 0);
	}
}

const struct handlers pool_handlers = {
	.init = poolinit, .free = poolfree, .pick = poolpick, .send = poolsend,
	.flush = poolflush, .inflight = poolinflight, .running = poolrunning,
	.notestop = poolnotestop, .stop = poolstop, .tick = tickworkers,
	.maxfds = poolmaxfds, .pollfds = poolpollfds, .handle = poolhandle,
	.reap = reapworkers,
};

