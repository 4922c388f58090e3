/* SPDX-License-Identifier: ISC */
/* private.h — what the runner's files share: the ring of events, the runner,
 * and the table of operations each mode of handlers fills (private to lib/retry). */
#ifndef EV_RETRY_PRIVATE_H
#define EV_RETRY_PRIVATE_H
#include <poll.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/proc.h"
#include "retry/coproc.h"
#include "retry/runner.h"
#include "trace/trace.h"

#define WINDOW_MIN 4096   /* events read ahead of the oldest unfinished one */
#define DEPTH 128         /* events in flight per co-process handler */
#define READ_BURST 1024   /* lines read before the handlers get a turn */
#define NOFD_SLICE_MS 10  /* poll period for an input without a descriptor... */
#define NOFD_IDLE_MS 100  /* ...or how long to wait in it when nothing else is on */
#define NONE INT64_MAX

enum state { S_FREE, S_KEYWAIT, S_READY, S_BACKOFF, S_RUNNING, S_FINISHED, S_LEFT,
	S_HELD /* failed, its dead letter held back by the breaker */ };
enum kill { K_NONE, K_TIMEOUT, K_EXPIRED, K_SHUTDOWN };

struct slot {
	enum state state;
	uint64_t startpos;     /* input position before the line */
	int startok;           /* startpos is known */
	struct ev_buf line;    /* the event and its '\n' */
	size_t len;            /* without the '\n' */
	struct ev_buf label;   /* the id, or SOURCE:LINE, for messages */
	struct ev_buf id, type;
	int hasid, hastype;
	int64_t expiry;        /* wall ms, or NONE */
	struct ev_buf key;
	uint64_t keyhash;
	int32_t keynext;       /* the next event of the same key, or -1 */
	int attempt;           /* attempts started */
	int64_t started;       /* monotonic µs the running attempt started */
	int64_t started_ns;    /* and its wall time, for its span */
	int traced;            /* the event has a traceparent: tctx is the attempt's span */
	struct ev_tracectx tctx, tparent;
	int64_t notbefore;     /* end of the backoff, monotonic ms */
	int heapi;
	int status, signo;     /* of the last attempt: exit status or -1, signal or 0 */
	struct ev_buf detail;  /* why the last attempt failed */
	struct ev_buf errtail; /* the end of its stderr */
	const char *heldwhy;   /* S_HELD: the dead letter's reason */
};

struct keyent {
	uint64_t hash;
	int32_t head, tail;    /* head == -1: empty */
};

struct worker {
	struct ev_proc p;
	int32_t ev;            /* -1: free */
	size_t inoff;          /* bytes of the event written to its stdin */
	int64_t deadline;      /* monotonic ms, or NONE */
	enum kill deadwhy;     /* what the deadline is */
	enum kill killed;
	int64_t killat;        /* SIGKILL due, or 0 */
	struct ev_buf out;     /* stdout, with --stdout=output */
	struct ev_proc_log olog, elog;
	int ifd, ofd, efd;     /* positions in the pollfd array, or -1 */
};

struct runner;

/* What the loop asks of the handlers, in either mode: the worker pool (one
 * process per attempt) or co-process handlers answering by lines. */
struct handlers {
	void (*init)(struct runner *r);
	void (*free)(struct runner *r);
	int (*pick)(struct runner *r, int *h);  /* 1 and a free handler, or 0 */
	void (*send)(struct runner *r, int h, int32_t i); /* start event i's attempt */
	void (*flush)(struct runner *r);        /* after a round of sends */
	int (*inflight)(struct runner *r);      /* attempts under way */
	int (*running)(struct runner *r);       /* anything still to wait for */
	void (*notestop)(struct runner *r);     /* see whether they have all stopped */
	void (*stop)(struct runner *r, int hard);
	int64_t (*tick)(struct runner *r);      /* deadlines due; the next one, or NONE */
	size_t (*maxfds)(struct runner *r);
	int (*pollfds)(struct runner *r, struct pollfd *fds);
	void (*handle)(struct runner *r, const struct pollfd *fds); /* what poll(2) said */
	void (*reap)(struct runner *r);         /* after a SIGCHLD */
};

struct runner {
	const struct ev_runner_conf *c;
	const struct handlers *h;
	struct ev_input *in;
	struct ev_sink *out, *dead;
	struct ev_runner_stats *st;
	struct slot *s;
	uint32_t W;
	uint64_t head, tail;   /* the ring holds events head..tail-1 */
	int32_t *ready;        /* a deque of slot numbers */
	uint32_t rhead, rlen;
	int32_t *heap;
	int nheap;
	struct keyent *keys;
	uint32_t kmask;
	struct worker *w;      /* the pool */
	int busy;
	struct ev_coproc *co;  /* co-process handlers */
	int costopped;
	struct ev_jpath *paths[4];     /* .id, .type, .expirytime, a --key path */
	size_t npaths;
	struct ev_buf a, b, val, err;
	struct ev_buf *outcap; /* the stdout of the attempt being settled */
	int inputdone, stopping, hard;
	int64_t stopat;
	uint64_t lastpos;
	int lastposok;
	int dirty;
	uintmax_t batchn;
	int64_t batchstart;
	struct ev_rate rate;
	int64_t ratewait_us;
	int64_t now;           /* monotonic ms, once per turn */
	int64_t skew;          /* wall clock minus monotonic clock */
	uintmax_t deadnowhere;
	int broken;            /* poll(2) failed: the run stops (stopped) */
	int status;
	/* The breaker: events that failed for good in a row with the same
	 * status (brkstatus: exit status, or 128 + signal), their dead letters
	 * held back until an event does otherwise. */
	int32_t *held;
	uint32_t nheld;
	int brkstatus;
	int tripped;           /* 0, or the exit status it stopped the run with */
};

static inline int64_t wallnow(struct runner *r) { return r->now + r->skew; }
static inline struct slot *slot(struct runner *r, int32_t i) { return &r->s[i]; }

void runner_bury(struct runner *r, int32_t i, const char *reason);
void runner_setdetail(struct slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void runner_settle(struct runner *r, int32_t i, const struct ev_outcome *o);
/* ev_coproc_conf.answer: settle an attempt. */
void runner_coanswer(void *ctx, int32_t i, const struct ev_outcome *o);

extern const struct handlers pool_handlers, coproc_handlers;

#endif
