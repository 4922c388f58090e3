/* SPDX-License-Identifier: ISC */
/* runner.h — evretry's engine: run a handler per event until it succeeds,
 * with retries, timeouts, dead letters, bounded concurrency and per-key
 * order; commits the input only up to the oldest unfinished event. */
#ifndef EV_RUNNER_H
#define EV_RUNNER_H
#include <stdint.h>

#include "base/prom.h"
#include "io/input.h"
#include "json/key.h"
#include "io/loc.h"
#include "base/proc.h"
#include "retry/reply.h"
#include "retry/retry.h"

/* What becomes of a handler's standard output (spawn mode). */
enum ev_stdout {
	EV_STDOUT_LOG,    /* passed on to stderr like its stderr; the event goes to the output */
	EV_STDOUT_DROP,   /* discarded; the event goes to the output */
	EV_STDOUT_OUTPUT, /* a successful attempt's stdout goes to the output instead of the event */
	EV_STDOUT_REPLY   /* a successful attempt's stdout (co-process: the text after "ok ")
	                   * is the reply to a request (retry/reply.h); the event goes to
	                   * the output */
};

/* The handler's environment in spawn mode, in this order. */
#define EV_RUNNER_VARS { "EVKIT_EVENT_ID", "EVKIT_EVENT_TYPE", "EVKIT_ATTEMPT", "EVKIT_DEADLINE", \
	"TRACEPARENT" }
#define EV_RUNNER_NVARS 5

struct ev_runner_conf {
	struct ev_cmd *cmd;       /* made with EV_RUNNER_VARS */
	int jobs;                 /* handlers at once (-j) */
	int coproc;               /* long-running handlers answering by lines */
	int attempts;             /* at most, per event */
	int64_t base_ms, cap_ms;  /* backoff */
	enum ev_jitter jitter;
	int64_t timeout_ms;       /* per attempt; 0: none */
	int64_t grace_ms;         /* SIGTERM to SIGKILL, and the shutdown wait */
	struct ev_rate rate;      /* starts per period; interval 0: unlimited */
	unsigned char retry[256]; /* exit statuses that mean "try again" */
	enum ev_stdout stdout_mode;
	struct ev_reply *reply;   /* EV_STDOUT_REPLY: where replies go */
	struct ev_key *key;        /* --key, or NULL: no order between events */
	int replay;               /* the input is read again from its cursor after a
	                           * restart: unfinished events are left to it */
	int share;                /* the input is shared with other members of a
	                           * group: read only what the handlers can take */
	int breaker;              /* stop after this many events in a row failed for good
	                           * with the same status (at the first 126 or 127);
	                           * 0: never */
};

#define EV_BREAKER_DEFAULT 50
#define EV_BREAKER_MAX 2048       /* held events fit the ring (WINDOW_MIN / 2) */

struct ev_runner_stats {
	uintmax_t done, dead, retried, attempts, abandoned;
	uintmax_t noreply;        /* replies that could not be sent */
	int inflight;             /* attempts under way */
	struct ev_promhist lat;   /* finished attempts by duration */
	int signo;                /* the signal that stopped the run, or 0 */
};

/* Run until the input ends (and every event is finished) or a signal
 * (SIGTERM, SIGINT: see base/sig.h) stops it; dead events go to dead, or to stderr
 * as "tool: dead: JSON" when dead is NULL. in must be manual. Returns the
 * exit status: the input's, else 1 when events died with nowhere to go.
 *
 * The breaker: a handler that cannot run (exit status 126 or 127), or
 * c->breaker events in a row that fail for good with the same status, is
 * a broken deployment, not events to refuse. Their dead letters are held
 * back while the streak lasts; when it trips, the run stops taking events,
 * says why, leaves them unfinished (with a cursor, the input position
 * stays before the first of them) and ends with 126 or 127, or 111 (try
 * again later). A success, another status, or running out of events to
 * try (idle) ends the streak: the held dead letters are written. */
int ev_runner_run(const struct ev_runner_conf *c, struct ev_input *in, struct ev_sink *out,
    struct ev_sink *dead, struct ev_runner_stats *st);

#endif
