/* SPDX-License-Identifier: ISC */
/* coproc.h — a pool of long-running handlers that answer one line per event
 * (the protocol is described at the top of coproc.c and in evretry(1)). */
#ifndef EV_COPROC_H
#define EV_COPROC_H
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "base/proc.h"
#include "retry/retry.h"

/* How one attempt at one event ended (both of evretry's modes use it). */
enum ev_outkind {
	EV_OUT_OK,      /* done */
	EV_OUT_RETRY,   /* failed, may be tried again */
	EV_OUT_FAIL,    /* failed for good */
	EV_OUT_REQUEUE  /* never answered through no fault of its own: send again, uncounted */
};

struct ev_outcome {
	enum ev_outkind kind;
	int status;            /* exit status, or -1 */
	int signo;             /* killing signal, or 0 */
	const char *detail;    /* why, for a person (not NUL-terminated) */
	size_t detaillen;
	const char *errtail;   /* the end of the handler's stderr */
	size_t errtaillen;
};

struct ev_coproc_conf {
	struct ev_cmd *cmd;
	int n;                 /* handlers */
	int depth;             /* events in flight per handler */
	int64_t timeout_ms;    /* longest wait for one answer; 0: none */
	int64_t grace_ms;      /* SIGTERM to SIGKILL */
	int64_t base_ms, cap_ms; /* backoff between restarts of a handler that dies at once */
	/* Called once per event sent, with the event's number and how it ended. */
	void (*answer)(void *ctx, int32_t ev, const struct ev_outcome *o);
	void *ctx;
};

struct ev_coproc;

struct ev_coproc *ev_coproc_new(const struct ev_coproc_conf *c);
void ev_coproc_free(struct ev_coproc *p);
/* A handler that can take one more event now, or -1. */
int ev_coproc_pick(struct ev_coproc *p, int64_t now);
/* Queue line (with its '\n') for handler h as event ev; written by flush. */
void ev_coproc_send(struct ev_coproc *p, int h, int32_t ev, const char *line, size_t len);
void ev_coproc_flush(struct ev_coproc *p);
/* Events sent and not yet answered. */
int ev_coproc_inflight(const struct ev_coproc *p);
/* Add the descriptors to poll; returns how many (at most ev_coproc_maxfds). */
int ev_coproc_maxfds(const struct ev_coproc *p);
int ev_coproc_pollfds(struct ev_coproc *p, struct pollfd *fds);
/* After poll: read answers and stderr for the descriptors given above. */
void ev_coproc_handle(struct ev_coproc *p, const struct pollfd *fds, int64_t now);
/* After SIGCHLD: collect handlers that ended. */
void ev_coproc_reap(struct ev_coproc *p, int64_t now);
/* Timeouts, kills and restarts due at now; returns ms to the next one, or -1. */
int64_t ev_coproc_tick(struct ev_coproc *p, int64_t now);
/* Stop: close every handler's stdin (they exit at end of input), then
 * SIGTERM after grace and SIGKILL after another; hard skips the first wait.
 * Events in flight are given back as EV_OUT_REQUEUE when their handler goes. */
void ev_coproc_stop(struct ev_coproc *p, int64_t now, int hard);
/* All handlers have ended (after ev_coproc_stop). */
int ev_coproc_stopped(const struct ev_coproc *p);

#endif
