/* SPDX-License-Identifier: ISC */
/* cohandlers.c — co-process handlers (coproc.c) as the runner's handlers. */
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
#include "event/event.h"
#include "json/jsonscan.h"
#include "base/buf.h"
#include "base/mem.h"
#include "retry/runner.h"
#include "retry/private.h"

/* --- co-process handlers (coproc.c) -------------------------------------- */

static void
coinit(struct runner *r)
{
	struct ev_coproc_conf cc = {
		.cmd = r->c->cmd, .n = r->c->jobs, .depth = DEPTH,
		.timeout_ms = r->c->timeout_ms, .grace_ms = r->c->grace_ms,
		.base_ms = r->c->base_ms, .cap_ms = r->c->cap_ms,
		.answer = runner_coanswer, .ctx = r,
	};
	r->co = ev_coproc_new(&cc);
}

static void cofree(struct runner *r) { ev_coproc_free(r->co); }
static int copick(struct runner *r, int *h) { return (*h = ev_coproc_pick(r->co, r->now)) >= 0; }

static void
cosend(struct runner *r, int h, int32_t i)
{
	ev_coproc_send(r->co, h, i, slot(r, i)->line.p, slot(r, i)->line.len);
}

static void coflush(struct runner *r) { ev_coproc_flush(r->co); }
static int coinflight(struct runner *r) { return ev_coproc_inflight(r->co); }
static int corunning(struct runner *r) { return !r->costopped; }
static void conotestop(struct runner *r) { r->costopped = ev_coproc_stopped(r->co); }
static void costop(struct runner *r, int hard) { ev_coproc_stop(r->co, r->now, hard); }
static size_t comaxfds(struct runner *r) { return (size_t)ev_coproc_maxfds(r->co); }
static int copollfds(struct runner *r, struct pollfd *fds) { return ev_coproc_pollfds(r->co, fds); }
static void cohandle(struct runner *r, const struct pollfd *fds) { ev_coproc_handle(r->co, fds, r->now); }
static void coreap(struct runner *r) { ev_coproc_reap(r->co, r->now); }

/* The handlers are told to stop once the input is done and every event finished. */
static int64_t
cotick(struct runner *r)
{
	int64_t t;

	if (!r->stopping && r->inputdone && r->head == r->tail)
		ev_coproc_stop(r->co, r->now, 0);
	if ((t = ev_coproc_tick(r->co, r->now)) >= 0)
		return r->now + t;
	return NONE;
}

const struct handlers coproc_handlers = {
	.init = coinit, .free = cofree, .pick = copick, .send = cosend,
	.flush = coflush, .inflight = coinflight, .running = corunning,
	.notestop = conotestop, .stop = costop, .tick = cotick,
	.maxfds = comaxfds, .pollfds = copollfds, .handle = cohandle,
	.reap = coreap,
};
