/* SPDX-License-Identifier: ISC */
/* input.c — see input.h for the commit protocol. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "base/err.h"
#include "io/input.h"
#include "io/timed.h"
#include "base/mem.h"
#include "base/notify.h"
#include "base/sig.h"
#include "sign/sign.h"
#include "trace/trace.h"
#include "event/event.h"
#include "spool/spool.h"

/* The longest wait between two looks at the signals and at systemd's
 * watchdog: waits on spools, files and pipes also wake at once on a signal
 * (sig.h); a broker's wait only at this pace. */
#define WAIT_MS 1000
#define STATUS_MS 1000 /* STATUS= at most this often */

static char *const stdin_loc[] = { "-" };

/* From now on every output must be durable at each commit. */
static void
needdurable(struct ev_input *in)
{
	in->durable = 1;
	for (int i = 0; i < in->nsinks; i++)
		ev_sink_durable(in->sinks[i]);
	if (in->rejects)
		ev_sink_durable(in->rejects);
	if (in->dead)
		ev_sink_durable(in->dead);
}

/* Not starting, for a reason reported: -1, the exit status in in->status. */
static int
cannotstart(struct ev_input *in, int status)
{
	in->status = status;
	return -1;
}

/* The side outputs the options name: --rejects and --dead (and
 * --verify-keys' keyring). 0, or -1 (reported, the status in in->status). */
static int
openaside(struct ev_input *in, const struct ev_opts *o)
{
	if (o->verify_keys && !(in->keyring = ev_keyring_load(o->verify_keys)))
		return cannotstart(in, EV_ERROR);
	if (o->rejects && !(in->rejects = ev_sink_open(o->rejects, o->sync)))
		return cannotstart(in, ev_errstatus(errno));
	ev_sink_nosign(in->rejects);
	if (o->dead && !(in->dead = ev_sink_open(o->dead, o->sync)))
		return cannotstart(in, ev_errstatus(errno));
	in->conf.dead = in->dead ? in->dead : in->rejects;
	return 0;
}

/* The input locations: operands, else -i, else stdin. */
static void
setlocs(struct ev_input *in, const struct ev_opts *o, char *const *operands, int n)
{
	if (n > 0) {
		in->locs = operands;
		in->nlocs = n;
	} else if (o->ninputs) {
		in->locs = (char *const *)o->inputs;
		in->nlocs = o->ninputs;
	} else {
		in->locs = stdin_loc;
		in->nlocs = 1;
	}
}

int
ev_input_init(struct ev_input *in, const struct ev_opts *o, char *const *operands, int n)
{
	memset(in, 0, sizeof *in);
	setlocs(in, o, operands, n);
	in->maxlines = EV_BATCH_LINES;
	in->maxbytes = EV_BATCH_BYTES;
	in->maxms = EV_BATCH_MS;
	in->conf.cursor = o->cursor;
	in->conf.group = o->group;
	in->conf.max_deliveries = o->max_deliveries;
	if (o->cursor && o->group) {
		ev_warn("--cursor and --group exclude each other (a group keeps its own "
		    "position)");
		return cannotstart(in, EV_ERROR);
	}
	if ((o->max_deliveries || o->dead) && !o->group) {
		ev_warn("--%s needs --group", o->dead ? "dead" : "max-deliveries");
		return cannotstart(in, EV_ERROR);
	}
	in->conf.follow = o->follow;
	in->conf.wait = o->wait;
	in->name = "<stdin>";
	in->statsfmt = o->stats;
	in->prom = o->prometheus;
	in->promstart = ev_now_ms();
	in->promat = ev_mono_ms();
	if (ev_sig_init() < 0)
		ev_warn("signals:");
	ev_notify_init();
	if (openaside(in, o) < 0)
		return -1;
	/* Several spools: read at once, interleaved (fanin.c); other
	 * locations one after the other, as cat(1) reads its files. */
	in->fanin = in->nlocs > 1;
	for (int i = 0; i < in->nlocs && in->fanin; i++)
		in->fanin = ev_source_isspool(in->locs[i]);
	in->priority = o->priority;
	if (o->priority && !in->fanin) {
		ev_warn("--priority needs two or more spool inputs (-i a -i b)");
		return cannotstart(in, EV_ERROR);
	}
	in->conf.hold = o->hold;
	in->conf.expire = o->expire;
	if (o->expired && !(in->expired = ev_sink_open(o->expired, o->sync)))
		return cannotstart(in, ev_errstatus(errno));
	in->conf.expired = in->expired;
	/* A position that is kept (a spool cursor, a group; a broker's acks,
	 * see opened) needs the outputs durable before it moves. */
	if (o->cursor || o->group)
		needdurable(in);
	return 0;
}

void
ev_input_set_dead(struct ev_input *in, struct ev_sink *dead)
{
	if (dead)
		in->conf.dead = dead;
}

void
ev_input_add_sink(struct ev_input *in, struct ev_sink *s)
{
	in->sinks = ev_reallocarray(in->sinks, (size_t)in->nsinks + 1, sizeof *in->sinks);
	in->sinks[in->nsinks++] = s;
	if (in->durable)
		ev_sink_durable(s);
}

void
ev_input_add_commit(struct ev_input *in, int (*commit)(void *), void *arg)
{
	in->hooks = ev_reallocarray(in->hooks, (size_t)in->nhooks + 1, sizeof *in->hooks);
	in->hooks[in->nhooks].commit = commit;
	in->hooks[in->nhooks++].arg = arg;
	needdurable(in);
}

void
ev_input_keep_pos(struct ev_input *in, int (*keep)(void *, uint64_t), void *arg)
{
	in->keeppos = keep;
	in->keeppos_arg = arg;
	needdurable(in);
}

void
ev_input_set_flush(struct ev_input *in, int (*flush)(void *), void *arg)
{
	in->flush.commit = flush;
	in->flush.arg = arg;
}

void
ev_input_set_counts(struct ev_input *in, ev_counts_fn *fn, void *arg)
{
	in->counts = fn;
	in->counts_arg = arg;
}

void
ev_input_set_report(struct ev_input *in, void (*report)(void *), void *arg)
{
	in->report = report;
	in->report_arg = arg;
}

void
ev_input_set_reload(struct ev_input *in, void (*reload)(void *), void *arg)
{
	in->reload = reload;
	in->reload_arg = arg;
}

static size_t
getcounts(struct ev_input *in, struct ev_stat *s)
{
	size_t n;

	if (in->counts) {
		n = in->counts(in->counts_arg, s, EV_STATS_MAX - 2);
	} else {
		s[0] = (struct ev_stat){ "in", in->nlines };
		s[1] = (struct ev_stat){ "bad", in->nbad };
		n = 2;
	}
	/* --hold and --expired: what the input held back or set aside */
	if (in->conf.hold)
		s[n++] = (struct ev_stat){ "held", ev_timed_ctr.held };
	if (in->conf.expire)
		s[n++] = (struct ev_stat){ "expired", ev_timed_ctr.expired };
	return n;
}

void
ev_input_stats(struct ev_input *in, enum ev_statsfmt fmt)
{
	struct ev_stat s[EV_STATS_MAX];

	if (fmt != EV_STATS_NONE)
		ev_stats_print(fmt, s, getcounts(in, s));
}

static void
tellstatus(struct ev_input *in, int64_t now)
{
	struct ev_stat s[EV_STATS_MAX];
	char line[400];

	ev_stats_line(line, sizeof line, s, getcounts(in, s));
	ev_notify_status(line);
	in->laststatus = now;
}

/* What systemd is due: the watchdog's ping, the counts. */
static void
notify(struct ev_input *in)
{
	if (!ev_notify_on())
		return;
	int64_t now = ev_mono_ms(), wd = ev_notify_watchdog_ms();
	if (wd > 0 && now - in->lastping >= wd) {
		ev_notify_watchdog();
		in->lastping = now;
	}
	if (in->ready && now - in->laststatus >= STATUS_MS)
		tellstatus(in, now);
}

/* A location is open (the outputs were opened before it): systemd hears
 * that the first is; one that acks to a broker makes the outputs durable. */
static void
opened(struct ev_input *in)
{
	in->scanning = in->since && !ev_source_seeks_time(in->src);
	if (!in->durable && ev_source_acks(in->src))
		needdurable(in);
	if (in->ready)
		return;
	in->ready = 1;
	if (ev_notify_on()) {
		ev_notify_ready();
		tellstatus(in, ev_mono_ms());
	}
}

int
ev_input_tick(struct ev_input *in)
{
	if (ev_sig_pending) {
		int s = ev_sig_take();
		if (s & EV_SIG_REPORT) {
			if (in->prom)
				ev_input_prom(in);
			if (in->report)
				in->report(in->report_arg);
			else
				ev_input_stats(in, in->statsfmt != EV_STATS_NONE ? in->statsfmt :
				    EV_STATS_TEXT);
		}
		if ((s & EV_SIG_RELOAD) && in->reload)
			in->reload(in->reload_arg);
		if ((s & EV_SIG_STOP) && !in->stopsig) {
			in->stopsig = ev_sig_stopsig();
			ev_notify_stopping();
		}
	}
	notify(in);
	ev_input_promtick(in);
	return in->stopsig != 0;
}

int
ev_input_maxwait(const struct ev_input *in)
{
	int64_t t = in->idle_ms > 0 && in->idle_ms < WAIT_MS ? in->idle_ms : WAIT_MS;
	int64_t wd = ev_notify_watchdog_ms();

	if (wd > 0) {
		int64_t left = in->lastping + wd - ev_mono_ms();
		if (left < t)
			t = left > 0 ? left : 0;
	}
	return (int)t;
}

void
ev_input_fail(struct ev_input *in, int status)
{
	if (status > in->status)
		in->status = status;
}

/* Events the sink could not deliver: reported, kept in --rejects, or the
 * input position stays where it is. */
static int
keeprefused(struct ev_input *in, struct ev_sink *s)
{
	struct ev_line l;
	const char *why;
	uintmax_t lost = 0;

	while (ev_sink_refused(s, &l, &why) > 0) {
		in->nrefused++;
		ev_input_fail(in, EV_ERROR);
		if (!in->rejects) {
			ev_warn("%s: %s: %.*s", ev_sink_name(s), why, (int)l.len, l.p);
			lost++;
			continue;
		}
		if (!ev_quiet)
			ev_warn("%s: %s: kept in %s", ev_sink_name(s), why, ev_sink_name(in->rejects));
		if (ev_sink_write(in->rejects, l.p, l.len) < 0)
			return -1;
	}
	if (lost) {
		ev_warn("%s: %ju event%s not delivered and no --rejects to keep %s: "
		    "the input position is not committed", ev_sink_name(s), lost,
		    lost == 1 ? "" : "s", lost == 1 ? "it" : "them");
		in->nocommit = 1;
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* The flush, the sinks, the rejects, the hooks, then (with setpos) the
 * input position. */
static int
commit(struct ev_input *in, int setpos, uint64_t pos)
{
	if (in->flush.commit && in->flush.commit(in->flush.arg) < 0)
		goto fail;
	for (int i = 0; i < in->nsinks; i++)
		if (ev_sink_commit(in->sinks[i]) < 0 || keeprefused(in, in->sinks[i]) < 0)
			goto fail;
	if (in->rejects && ev_sink_commit(in->rejects) < 0)
		goto fail;
	if (in->dead && ev_sink_commit(in->dead) < 0)
		goto fail;
	if (in->expired && ev_sink_commit(in->expired) < 0)
		goto fail;
	for (int i = 0; i < in->nhooks; i++)
		if (in->hooks[i].commit(in->hooks[i].arg) < 0)
			goto fail;
	if (in->keeppos && setpos && !in->nocommit && in->keeppos(in->keeppos_arg, pos) < 0)
		goto fail;
	if (in->src && setpos && !in->nocommit && ev_source_commit(in->src, pos) < 0)
		goto fail;
	ev_otlp_flush(ev_otlp_default);
	notify(in);
	return 0;
fail:
	ev_input_fail(in, ev_errstatus(errno));
	return -1;
}

int
ev_input_commit(struct ev_input *in)
{
	if (commit(in, in->dirty && !in->manual, in->pos) < 0)
		return -1;
	in->dirty = 0;
	in->batchlines = in->batchbytes = 0;
	return 0;
}

int
ev_input_commit_pos(struct ev_input *in, uint64_t pos)
{
	return commit(in, 1, pos);
}

int
ev_input_pollfd(const struct ev_input *in)
{
	return in->src ? ev_source_pollfd(in->src) : -1;
}

/* A location that did not open: a cursor in use by another reader is 75
 * (try later), a temporary failure 111, anything else 2. */
static void
openfailed(struct ev_input *in)
{
	int err = errno;

	ev_input_fail(in, err == EBUSY ? EV_BUSY :
	    ev_errstatus(err) == EV_TEMPFAIL ? EV_TEMPFAIL : EV_ERROR);
}

/* Close the location read, keeping what it counted. */
static void
closesrc(struct ev_input *in)
{
	ev_source_counts(in->src, &in->closedcounts);
	ev_source_close(in->src);
	in->src = NULL;
}

void
ev_input_loc_counts(const struct ev_input *in, struct ev_loc_counts *c)
{
	*c = in->closedcounts;
	ev_source_counts(in->src, c);
	for (int i = 0; i < in->nsinks; i++)
		ev_sink_counts(in->sinks[i], c);
	ev_sink_counts(in->rejects, c);
	ev_sink_counts(in->dead, c);
}

/* Open the next location; 0 when there is none left. */
static void
openone(struct ev_input *in)
{
	if (in->fanin) {
		in->next = in->nlocs;
		in->name = "<inputs>";
		in->src = ev_source_open_many(in->locs, in->nlocs, &in->conf, in->priority);
	} else {
		const char *loc = in->locs[in->next++];
		in->name = strcmp(loc, "-") == 0 ? "<stdin>" : loc;
		in->src = ev_source_open(loc, &in->conf);
	}
	if (!in->src)
		openfailed(in);
	else
		opened(in);
}

static int
opennext(struct ev_input *in)
{
	while (!in->src) {
		if (in->next >= in->nlocs)
			return 0;
		openone(in);
	}
	return 1;
}

/* A line past --max-event-size: reported with its place, its first bytes
 * kept in --rejects (noted as truncated there), never handed to the tool. */
static void
toolong(struct ev_input *in, const struct ev_line *l)
{
	if (in->rejects)
		ev_input_reject(in, l, "event too long: %ju bytes, more than --max-event-size %zu; "
		    "its first %zu bytes kept, truncated, in %s", (uintmax_t)l->toolong,
		    ev_max_event, l->len, ev_sink_name(in->rejects));
	else
		ev_input_reject(in, l, "event too long: %ju bytes, more than --max-event-size %zu; "
		    "skipped", (uintmax_t)l->toolong, ev_max_event);
}

/* --verify-keys: 1 when the line may be handed out, else it is rejected
 * with the reason. */
static int
verified(struct ev_input *in, const struct ev_line *l)
{
	if (!in->keyring || ev_verify_line(in->keyring, l->p, l->len, &in->why) == 0)
		return 1;
	ev_input_reject(in, l, "%s", in->why.p);
	return 0;
}

int
ev_input_get(struct ev_input *in, struct ev_line *l, int timeout_ms)
{
	for (;;) {
		if (in->ended || (!in->src && !opennext(in)))
			return 0;
		int r = ev_source_next(in->src, l, timeout_ms);
		if (r == EV_SRC_IDLE)
			return EV_SRC_IDLE;
		if (r == EV_SRC_LINE) {
			in->pos = l->pos;
			in->nlines++;
			if (l->toolong) {
				toolong(in, l);
				continue;
			}
			if (!verified(in, l))
				continue;
			return 1;
		}
		if (r == EV_SRC_ERR) {
			ev_input_fail(in, ev_errstatus(errno));
			return -1;
		}
		if (in->next >= in->nlocs) {
			in->ended = 1; /* keep the last location open for its commits */
			return 0;
		}
		closesrc(in);
	}
}

/* Whether the batch is to be committed now. Between commits, the outputs
 * that only hand events on (pipes, files) are pushed every EV_PUSH_MS: a
 * follower that never waits for input (a writer appends at full speed)
 * would otherwise hold what it found for a whole batch. */
static int
batchfull(struct ev_input *in)
{
	if (in->batchlines >= in->maxlines || in->batchbytes >= in->maxbytes)
		return 1;
	if ((in->batchlines & 63) != 0)
		return 0;
	int64_t now = ev_mono_ms();
	if (now - in->batchstart >= in->maxms)
		return 1;
	if (now - in->pushed >= EV_PUSH_MS) {
		for (int i = 0; i < in->nsinks; i++)
			if (ev_sink_push(in->sinks[i]) < 0)
				return 1; /* the commit reports it */
		in->pushed = now;
	}
	return 0;
}

/* A stop signal: read no more; what was handed out is committed. */
static int
stop(struct ev_input *in)
{
	if (ev_input_commit(in) < 0)
		return -1;
	if (in->src) {
		closesrc(in);
	}
	in->next = in->nlocs;
	return 0;
}

/* --otlp: the tool's work on an event that carries a traceparent is a
 * span, a child of the event's, from when the event is handed out to when
 * the tool asks for the next one; when the trace is sampled (trace.c). */
static void
openspan(struct ev_input *in, const char *line, size_t len)
{
	const char *id;
	size_t n;

	ev_trace_child(&in->spanparent, &in->span.ctx);
	in->span.parent = in->spanparent.span;
	in->span.name = ev_prog();
	in->span.kind = EV_SPAN_CONSUMER;
	in->span.start_ns = ev_trace_now_ns();
	in->span.evid = NULL;
	ev_buf_reset(&in->spanid);
	if (ev_event_getattr(line, len, "id", &id, &n) > 0 && n >= 2 && id[0] == '"') {
		ev_buf_add(&in->spanid, id + 1, n - 2);
		in->span.evid = in->spanid.p;
		in->span.evidlen = in->spanid.len;
	}
	in->spanopen = 1;
}

static void
endspan(struct ev_input *in)
{
	in->spanopen = 0;
	in->span.end_ns = ev_trace_now_ns();
	if (ev_otlp_default)
		ev_otlp_span(ev_otlp_default, &in->span);
}

static void
beginspan(struct ev_input *in, const struct ev_line *l)
{
	/* after ev_input_scans, a traceparent that is not last waits for the
	 * tool's scan (ev_input_scanned) */
	if (in->scans ? ev_trace_spanparent_last(l->p, l->len, &in->spanparent) > 0 :
	    ev_trace_spanparent(l->p, l->len, &in->spanparent))
		openspan(in, l->p, l->len);
}

void
ev_input_scans(struct ev_input *in)
{
	/* without --otlp there is nothing to wait for */
	if ((in->scans = ev_otlp_default != NULL))
		ev_json_tracekeys(1);
}

void
ev_input_scanned(struct ev_input *in, const struct ev_line *l, const struct ev_jerr *e)
{
	struct ev_tracectx c;

	/* a traceparent last was seen to when the line was handed out */
	if (!in->scans || !e->tpmaybe ||
	    ev_trace_spanparent_last(l->p, l->len, &c) >= 0 ||
	    !ev_trace_spanparent(l->p, l->len, &c))
		return;
	if (in->spanopen) /* the span of the line before, in a batch */
		endspan(in);
	in->spanparent = c;
	openspan(in, l->p, l->len);
}

void
ev_input_since(struct ev_input *in, int64_t ms)
{
	in->conf.start = EV_START_TIME;
	in->conf.since_ms = ms;
	in->since = 1;
}

/* ev_input_since on a location that did not seek: 1 while l is before the
 * first event of that time (a line without a time is, too). */
static int
early(struct ev_input *in, const struct ev_line *l)
{
	int64_t t;

	if (ev_spool_line_time(l->p, l->len, &t) < 0 || t < in->conf.since_ms)
		return 1;
	in->scanning = 0;
	return 0;
}

int
ev_input_next(struct ev_input *in, struct ev_line *l)
{
	if (in->spanopen)
		endspan(in);
	for (;;) {
		if ((ev_sig_pending && ev_input_tick(in)) || in->stopsig)
			return stop(in);
		if (!in->src) {
			if (in->next >= in->nlocs)
				return ev_input_commit(in) < 0 ? -1 : 0;
			openone(in);
			if (!in->src)
				continue;
		}
		if (in->dirty && batchfull(in) && ev_input_commit(in) < 0)
			return -1;
		int r = ev_source_next(in->src, l, in->dirty ? 0 : ev_input_maxwait(in));
		if (r == EV_SRC_IDLE) {
			/* Nothing more for now: make what we did durable before waiting. */
			if (in->dirty && ev_input_commit(in) < 0)
				return -1;
			ev_input_tick(in);
			if (in->onidle)
				in->onidle(in->onidle_arg);
			continue;
		}
		if (r == EV_SRC_LINE) {
			if (!in->dirty)
				in->batchstart = ev_mono_ms();
			in->dirty = 1;
			in->pos = l->pos;
			in->batchlines++;
			in->batchbytes += l->len;
			in->nlines++;
			if (in->prom && (in->nlines & 1023) == 0)
				ev_input_promtick(in);
			if (l->toolong) {
				toolong(in, l);
				continue;
			}
			if (!verified(in, l) || (in->scanning && early(in, l)))
				continue;
			if (ev_otlp_default)
				beginspan(in, l);
			return 1;
		}
		if (r == EV_SRC_ERR)
			ev_input_fail(in, ev_errstatus(errno));
		if (ev_input_commit(in) < 0)
			return -1;
		closesrc(in);
	}
}

void
ev_input_reject(struct ev_input *in, const struct ev_line *l, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ev_linewarn(in->name, l->no, "%s", msg);
	in->nbad++;
	ev_input_fail(in, EV_ERROR);
	if (in->rejects && ev_sink_write(in->rejects, l->p, l->len) < 0)
		ev_input_fail(in, ev_errstatus(errno));
}

int
ev_line_object(const struct ev_line *l)
{
	size_t k = 0;

	while (k < l->len && (l->p[k] == ' ' || l->p[k] == '\t' || l->p[k] == '\r' ||
	    l->p[k] == '\n'))
		k++;
	return k < l->len && l->p[k] == '{';
}

int
ev_input_object(struct ev_input *in, const struct ev_line *l, int scanned,
    const struct ev_jerr *e)
{
	if (scanned < 0) {
		ev_input_reject(in, l, "column %zu: %s", e->off + 1, e->msg);
		return 0;
	}
	if (!ev_line_object(l)) {
		ev_input_reject(in, l, "not a JSON object");
		return 0;
	}
	if (in->scans)
		ev_input_scanned(in, l, e);
	return 1;
}

int
ev_input_end(struct ev_input *in)
{
	if (in->spanopen)
		endspan(in);
	if (in->src) {
		ev_input_commit(in);
		closesrc(in);
	}
	if (in->prom)
		ev_input_prom(in);
	if (in->ready && ev_notify_on()) {
		tellstatus(in, ev_mono_ms());
		if (!in->stopsig)
			ev_notify_stopping();
	}
	/* what the outputs counted stays for --stats (the tool closes its own) */
	ev_input_loc_counts(in, &in->closedcounts);
	if (in->rejects && ev_sink_close(in->rejects) < 0)
		ev_input_fail(in, ev_errstatus(errno));
	in->rejects = NULL;
	if (in->dead && ev_sink_close(in->dead) < 0)
		ev_input_fail(in, ev_errstatus(errno));
	in->dead = NULL;
	if (in->conf.expire && !in->conf.expired && ev_timed_ctr.expired && !ev_quiet &&
	    in->statsfmt == EV_STATS_NONE)
		ev_warn("%ju expired event%s dropped (--expired=DEST keeps them)",
		    ev_timed_ctr.expired, ev_timed_ctr.expired == 1 ? "" : "s");
	if (in->expired && ev_sink_close(in->expired) < 0)
		ev_input_fail(in, ev_errstatus(errno));
	in->expired = NULL;
	free(in->sinks);
	in->sinks = NULL;
	in->nsinks = 0;
	free(in->hooks);
	in->hooks = NULL;
	ev_keyring_free(in->keyring);
	in->keyring = NULL;
	ev_buf_free(&in->why);
	ev_buf_free(&in->spanid);
	ev_otlp_flush(ev_otlp_default);
	return in->status;
}
