/* SPDX-License-Identifier: ISC */
/* input.h — the read loop every tool shares.
 *
 * An ev_input walks the input locations in order (operands, or -i, or
 * stdin), hands out lines, reports bad ones (ev_input_reject), and commits:
 * before it would wait for more input, at the end of each location, and
 * every EV_BATCH_LINES lines / EV_BATCH_BYTES bytes / EV_BATCH_MS ms, it
 * first has the tool finish the lines it holds back (ev_input_set_flush),
 * then commits every registered sink, then every registered commit hook
 * (state that must never get ahead of the output, as evdedupe's remembered
 * keys), and only then records the input position (a spool cursor). A crash
 * therefore never loses an event: at worst the events after the last commit
 * are read again (at-least-once).
 *
 * Signals and systemd (evkit(7), SIGNALS): the loop answers SIGTERM and
 * SIGINT by reading no more, committing what it handed out, and reporting
 * the end of the input (in->stopsig says why), so the tool finishes as at
 * the end of its input: its --stats, exit 0; SIGUSR1 by printing the
 * counts at once (ev_input_set_counts), idle or not; SIGHUP by calling the
 * tool's reload (ev_input_set_reload), or not at all. Under systemd
 * (NOTIFY_SOCKET) it says READY=1 once the first input is open (the tool
 * opens its outputs before), STATUS= with the counts after commits,
 * WATCHDOG=1 often enough for WatchdogSec, and STOPPING=1.
 *
 * A tool whose state must not see an event twice (evfold) keeps the input
 * position itself, in the same transaction as the state the events before
 * it made (ev_input_keep_pos): its hook gets the position at each commit,
 * after the sinks and before the cursor file is written, and the tool opens
 * its input at the position it kept (EV_START_POS in in->conf). The cursor
 * file then only mirrors the tool's truth for evspool stat and retention:
 * it is written after the transaction, so it is never ahead of it, and a
 * crash between the two leaves it behind until the next commit, which
 * nobody reads it for.
 *
 * A sink may refuse events after taking them (a broker returns an
 * unroutable message): each commit reports those, keeps them in --rejects
 * and goes on; without --rejects it fails and never again commits the
 * input position, so they can be read again once the cause is fixed.
 */
#ifndef EV_INPUT_H
#define EV_INPUT_H
#include <stdint.h>

#include "json/jsonscan.h"
#include "io/loc.h"
#include "base/opts.h"
#include "base/prom.h"
#include "trace/trace.h"

#define EV_BATCH_LINES 32768
#define EV_BATCH_BYTES (8 << 20)
#define EV_BATCH_MS 100
#define EV_PUSH_MS 1    /* what a pipe or a file is handed, at most this late */
#define EV_PROM_MS 2000 /* --prometheus: how often the file is written while running */

struct ev_input;
/* A tool's own series for --prometheus, after the shared ones; lab: the
 * labels every series of the file carries ("name", the file's name). */
typedef void ev_prom_fn(void *arg, struct ev_prom *p, const char *const *lab);

struct ev_input {
	char *const *locs;
	int nlocs, next;
	int fanin, priority;     /* several spools read at once (see ev_source_open_many) */
	struct ev_source_conf conf;
	struct ev_source *src;
	const char *name;        /* current location, for messages */
	struct ev_sink *rejects;
	struct ev_sink *dead;    /* --dead: a group's events past --max-deliveries */
	struct ev_keyring *keyring; /* --verify-keys: lines without a good signature
	                             * are rejected here, never handed out */
	struct ev_buf why;
	struct ev_sink *expired; /* --expired=DEST */
	struct ev_sink **sinks;
	int nsinks;
	int durable;             /* the outputs are synced at each commit */
	struct ev_loc_counts closedcounts; /* what the locations closed counted */
	struct ev_input_hook { int (*commit)(void *); void *arg; } *hooks;
	int nhooks;
	struct ev_input_hook flush; /* see ev_input_set_flush */
	int (*keeppos)(void *, uint64_t); /* see ev_input_keep_pos */
	void *keeppos_arg;
	int manual;              /* the tool commits the input itself */
	/* With idle_ms > 0, while no input comes: commit, call onidle (when
	 * set), and look again every idle_ms (for periodic work: metrics,
	 * signals). */
	int idle_ms;
	void (*onidle)(void *arg);
	void *onidle_arg;
	ev_counts_fn *counts;    /* see ev_input_set_counts */
	void *counts_arg;
	void (*report)(void *arg);
	void (*reload)(void *arg);
	void *report_arg, *reload_arg;
	enum ev_statsfmt statsfmt; /* --stats, for SIGUSR1 */
	int stopsig;             /* SIGTERM or SIGINT stopped the input, or 0 */
	int ready;               /* READY=1 was sent */
	int64_t lastping, laststatus;
	uint64_t pos;            /* after the last line handed out */
	int dirty;               /* lines handed out since the last commit */
	int since;               /* ev_input_since was called */
	int scanning;            /* ... and the location did not seek: skipping */
	int ended;               /* ev_input_get saw the end of the last location */
	uintmax_t batchlines, batchbytes;
	/* A batch's bounds: EV_BATCH_* unless the tool sets others after
	 * ev_input_init (evfold's commits cost a write per changed key: it
	 * commits less often). */
	uintmax_t maxlines, maxbytes;
	int64_t maxms;
	int64_t batchstart;
	int64_t pushed;          /* when the sinks were last pushed (ev_sink_push) */
	uintmax_t nlines, nbad;
	uintmax_t nrefused;      /* events a sink refused (ev_sink_refused) */
	int nocommit;            /* refused events were lost: keep the input position */
	int status;              /* 0, or the worst so far: 2 bad input, 111 ... */
	/* --prometheus FILE (io/metrics.c) */
	const char *prom;
	ev_prom_fn *promfn;
	void *promarg;
	int promnocounts;        /* the tool writes its counts itself */
	int64_t promat, promstart; /* monotonic ms of the last write; wall ms of the start */
	uintmax_t promlines;     /* nlines at the last write */
	double promrate;
	/* --otlp: the span of the event handed out last, ended when the tool
	 * asks for the next one (trace/trace.h) */
	struct ev_span span;
	struct ev_tracectx spanparent;
	struct ev_buf spanid;
	int spanopen;
	int scans;               /* ev_input_scans was called, with --otlp */
};

/* The tool scans every line it is handed (ev_json_scan) and hands the
 * result to ev_input_object, or to ev_input_scanned when it validated the
 * line itself. With --otlp, a line whose traceparent is not where evkit
 * puts it (last) then waits for that scan to say whether it may have one
 * (ev_jerr.tpmaybe) instead of being looked through once more; its span
 * starts after the scan and ends when the tool asks for the next line or
 * hands over the next scan. */
void ev_input_scans(struct ev_input *in);
/* A line of in scanned as valid JSON (after ev_input_scans): e is that
 * scan's. ev_input_object calls it for a line that passes. */
void ev_input_scanned(struct ev_input *in, const struct ev_line *l, const struct ev_jerr *e);

/* operands/n: the file operands; with none, -i or stdin. Opens --rejects.
 * 0, or -1 when the options cannot go together or an output does not
 * open (reported; the exit status in in->status). */
int ev_input_init(struct ev_input *in, const struct ev_opts *o, char *const *operands, int n);
/* A tool with a dead-letter output of its own (evretry -d) has a group's
 * events past --max-deliveries go there too (else --dead, else --rejects). */
void ev_input_set_dead(struct ev_input *in, struct ev_sink *dead);
/* Sinks committed before the input position is; the tool still owns them. */
void ev_input_add_sink(struct ev_input *in, struct ev_sink *s);
/* Called at each commit after the sinks (and rejects) and before the input
 * position; returns 0, or -1 with errno set after reporting. */
void ev_input_add_commit(struct ev_input *in, int (*commit)(void *), void *arg);
/* The tool keeps the input position with its state: at each commit, after
 * the sinks, rejects and hooks, keep(arg, pos) is called with the position
 * after the last line handed out (only when lines were handed out since
 * the last commit) and must make it durable together with the state of the
 * events before it, before the cursor file is written. 0, or -1 with errno
 * set after reporting. */
void ev_input_keep_pos(struct ev_input *in, int (*keep)(void *, uint64_t), void *arg);
/* A tool that holds events back for a while (evdedupe looks a few lines
 * ahead) finishes them in flush, called at each commit before the sinks
 * are: the input position never passes an event that was not written.
 * Returns 0, or -1 with errno set after reporting. */
void ev_input_set_flush(struct ev_input *in, int (*flush)(void *), void *arg);
/* The tool's counts for SIGUSR1, STATUS= and ev_input_stats (without them:
 * lines in and bad). */
/* What the locations read and written so far counted of their own work
 * (a spool's segments opened, bytes read ...: io/loc.h). */
void ev_input_loc_counts(const struct ev_input *in, struct ev_loc_counts *c);
void ev_input_set_counts(struct ev_input *in, ev_counts_fn *fn, void *arg);
/* SIGUSR1 calls report instead of printing the counts (evroute prints its
 * destinations'). */
void ev_input_set_report(struct ev_input *in, void (*report)(void *), void *arg);
/* SIGHUP calls reload; without one SIGHUP is ignored. */
void ev_input_set_reload(struct ev_input *in, void (*reload)(void *), void *arg);
/* --prometheus FILE: the tool's counts (ev_input_set_counts) as counters
 * named TOOL_COUNT_total, the input lines per second, the start time, then
 * what fn adds; without counts, only what fn writes besides the rate.
 * The file is written atomically (base/prom.h) every EV_PROM_MS while
 * events flow or not, at SIGUSR1 and at ev_input_end. */
void ev_input_set_prom(struct ev_input *in, ev_prom_fn *fn, void *arg, int counts);
/* Write the file now (0, or -1 reported and counted in the status); and
 * write it if it is due (a tool with its own loop calls ev_input_tick,
 * which does). */
int ev_input_prom(struct ev_input *in);
void ev_input_promtick(struct ev_input *in);
/* --stats on exit: the counts to stderr, as fmt says. */
void ev_input_stats(struct ev_input *in, enum ev_statsfmt fmt);
/* For a tool with its own loop (evretry): act on signals that came (the
 * report, the reload) and tell systemd what is due; returns 1 once a stop
 * was asked (STOPPING=1 is then sent). */
int ev_input_tick(struct ev_input *in);
/* How long a wait may last (ms) before ev_input_tick is due again; -1: no limit. */
int ev_input_maxwait(const struct ev_input *in);
/* Start at the first event whose "time" is at or after ms (--since): a
 * spool seeks it; a stream starts near it and a file at its beginning, and
 * ev_input_next skips the events before the first of that time. */
void ev_input_since(struct ev_input *in, int64_t ms);
/* 1: a line; 0: no more input; -1: a fatal error (reported; see in->status). */
int ev_input_next(struct ev_input *in, struct ev_line *l);
/* Commit now: the flush, the sinks, the hooks, then the input position.
 * -1 when one failed. */
int ev_input_commit(struct ev_input *in);

/* For a tool with its own poll(2) loop that finishes events out of order
 * (evretry): set manual, then
 * - ev_input_get() hands out the next line within timeout_ms (0: only look)
 *   and returns EV_SRC_IDLE when none came; it never commits, and it keeps
 *   the last location open until ev_input_end(), so that a position in it
 *   can still be committed after the input has ended;
 * - ev_input_pollfd() is a descriptor to poll for input (-1: none, poll
 *   with a short timeout instead);
 * - ev_input_commit_pos() commits every sink, then records pos (the
 *   position before the oldest line not yet finished) as the input
 *   position: the rule stays "sinks before the cursor". */
int ev_input_get(struct ev_input *in, struct ev_line *l, int timeout_ms);
int ev_input_pollfd(const struct ev_input *in);
int ev_input_commit_pos(struct ev_input *in, uint64_t pos);
/* A bad line: "tool: SOURCE:LINE: reason", kept in --rejects, counted, status 2. */
void ev_input_reject(struct ev_input *in, const struct ev_line *l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* After the scanner looked at a line (scanned: its 0 or -1, e: its error):
 * 1 when the line is one JSON object; else it is rejected as bad input
 * ("column N: reason", or "not a JSON object") and 0 is returned. */
int ev_input_object(struct ev_input *in, const struct ev_line *l, int scanned,
    const struct ev_jerr *e);
/* Is a line the scanner accepted one JSON object? (The rule above, without
 * the report: for a helper thread, see ahead.h.) */
int ev_line_object(const struct ev_line *l);
/* Note a failure that is not about one line (the status only gets worse). */
void ev_input_fail(struct ev_input *in, int status);
/* Final commit, close input and rejects; returns the exit status so far. */
int ev_input_end(struct ev_input *in);

#endif
