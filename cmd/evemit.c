/* SPDX-License-Identifier: ISC */
/* evemit — make CloudEvents 1.0 events: from arguments, from input lines
 * (each the data of one event, or an event to complete), or from CSV rows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "event/csvin.h"
#include "base/time.h"
#include "base/err.h"
#include "event/event.h"
#include "io/input.h"
#include "json/jsonscan.h"
#include "io/loc.h"
#include "json/obj.h"
#include "base/opts.h"
#include "amqp/request.h"
#include "event/uuid.h"
#include "trace/trace.h"
#include "tool.h"

#define ENVOPTS "[-s source] [-t time] [-x name=value] [--at time] " \
	"[--datacontenttype type] [--dataschema uri] [--delay duration] [--otlp dest] " \
	"[--sign-key file] [--subject subject]"
#define INOPTS "[-i src] [--cursor name] [--dead dest] [--group name] [--max-deliveries n] " \
	"[--max-event-size size] [--no-follow] [--rejects dest] [--stats[=json]] [--wait]"
#define SYNOPSIS "[-q] [-o dest] [--id id] " ENVOPTS " type [field ...]\n" \
	"--request [-q] -o dest [--id id] [--reply-to spool] [--timeout duration] " ENVOPTS \
	" type [field ...]\n" \
	"-l | --csv [-q] [-o dest] " INOPTS " [--sync mode] " ENVOPTS " type\n" \
	"-f [-q] [-o dest] " INOPTS " [--sync mode] " ENVOPTS " [type]"

#define MAXEXT 32

enum {
	OPT_AT = EV_OPT_TOOL, OPT_CSV, OPT_DATACONTENTTYPE, OPT_DATASCHEMA, OPT_DELAY, OPT_ID,
	OPT_SUBJECT, OPT_REQUEST, OPT_REPLYTO, OPT_TIMEOUT
};
#define DEFAULT_TIMEOUT_MS 30000
enum mode { ARGS, LINES, FILL, CSV };

static struct ev_attr ext[MAXEXT];
/* --at (absolute) or --delay (from the moment each event is made) */
static int64_t notbefore = INT64_MIN, delay = -1;
static struct ev_buf extbuf[MAXEXT];

static const struct ev_optdoc docs[] = {
	{ "fill", NULL, "complete the events read from the input" },
	{ "lines", NULL, "make an event of each input line, its data" },
	{ "source", "source", "the source attribute (default $EVKIT_SOURCE)" },
	{ "time", "time", "the time attribute: RFC 3339, or a duration ago" },
	{ "ext", "name=value", "an extension attribute (name:=json for JSON)" },
	{ "csv", NULL, "make an event of each CSV row" },
	{ "at", "time", "not before time: the evnotbefore attribute (RFC 3339)" },
	{ "delay", "duration", "not before now + duration (evnotbefore)" },
	{ "datacontenttype", "type", "the datacontenttype attribute" },
	{ "dataschema", "uri", "the dataschema attribute" },
	{ "id", "id", "the id attribute, instead of a new UUIDv7" },
	{ "subject", "subject", "the subject attribute" },
	{ "request", NULL, "send one request to dest and print its reply" },
	{ "reply-to", "spool", "--request: the spool the reply comes to" },
	{ "timeout", "duration", "--request: how long to wait for the reply (30s)" },
	{ "output", "dest", "append the events to dest (default stdout)" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

/* -x name=value (a string) or -x name:=json (a string, number or boolean). */
static void
addext(struct ev_envelope *e, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct ev_buf *b = &extbuf[e->next];
	int json = eq && eq > arg && eq[-1] == ':';
	char *name;

	if (!eq)
		ev_die(EV_ERROR, "-x %s: not name=value or name:=json", arg);
	if (e->next == MAXEXT)
		ev_die(EV_ERROR, "-x %s: at most %d extension attributes", arg, MAXEXT);
	/* kept where a diagnostic's exit still sees it */
	ext[e->next].name = name = ev_strndup(arg, (size_t)(eq - arg - json));
	if (ev_event_extname(name, b) < 0)
		ev_die(EV_ERROR, "-x %s", b->p);
	for (size_t i = 0; i < e->next; i++)
		if (strcmp(ext[i].name, name) == 0)
			ev_die(EV_ERROR, "-x %s: given twice", name);
	ev_buf_reset(b);
	if (json) {
		const char *v = eq + 1 + strspn(eq + 1, " \t\r\n");
		struct ev_jerr jerr;
		if (ev_json_valid(v, strlen(v), &jerr) < 0)
			ev_die(EV_ERROR, "-x %s: not a JSON value: column %zu: %s", arg,
			    (size_t)(v - (eq + 1)) + jerr.off + 1, jerr.msg);
		if (!strchr("\"-0123456789tf", *v))
			ev_die(EV_ERROR, "-x %s: an attribute is a string, a number or a boolean", arg);
		size_t n = strlen(v);
		while (n > 0 && strchr(" \t\r\n", v[n - 1]))
			n--;
		ev_buf_reset(b);
		ev_buf_add(b, v, n);
	} else {
		ev_buf_addjstr(b, eq + 1, strlen(eq + 1));
	}
	ext[e->next].json = b->p;
	ext[e->next].len = b->len;
	e->next++;
}

static const char *
nonempty(const char *opt, const char *arg)
{
	if (!*arg)
		ev_die(EV_ERROR, "--%s: an empty value", opt);
	return arg;
}

/* $TRACEPARENT: the span evemit's events are children of (evretry sets it
 * for its handlers); NULL when unset or not a traceparent. */
static const struct ev_tracectx *
envparent(void)
{
	static struct ev_tracectx c;
	static int done, ok;
	const char *v;

	if (!done) {
		done = 1;
		ok = (v = getenv("TRACEPARENT")) && ev_trace_parse(v, strlen(v), &c) == 0;
	}
	return ok ? &c : NULL;
}

/* Write an event made here. Tracing on (--otlp, or $TRACEPARENT set), it
 * gets a traceparent when it has none: evemit starts a trace, or continues
 * $TRACEPARENT's (evkit(7), Tracing). Off, its bytes are not touched. */
static int
traced(struct ev_sink *sink, const char *p, size_t len)
{
	static struct ev_buf b;

	if (!ev_otlp_default && !envparent())
		return ev_sink_write(sink, p, len);
	ev_buf_reset(&b);
	if (ev_trace_stamp(&b, p, len, envparent()) < 0)
		return ev_sink_write(sink, p, len);
	return ev_sink_write(sink, b.p, b.len);
}

/* Write the event in out to sink, with evnotbefore set (replaced, for an
 * event completed with -f) when --at or --delay asks, traced as above. */
static int
emit(struct ev_sink *sink, const struct ev_buf *out)
{
	static struct ev_buf tmp;
	char v[40] = "\"";

	if (notbefore == INT64_MIN && delay < 0)
		return traced(sink, out->p, out->len);
	ev_time_format(delay >= 0 ? ev_now_ms() + delay : notbefore, v + 1);
	strcat(v, "\"");
	ev_buf_reset(&tmp);
	if (ev_event_setattr(&tmp, out->p, out->len, "evnotbefore", v) < 0)
		return traced(sink, out->p, out->len);
	return traced(sink, tmp.p, tmp.len);
}

/* Reading events from input lines (readinput). */
struct reading {
	struct ev_input *in;
	enum mode mode;
	const struct ev_envelope *e;
	struct ev_csvin *csv;
	struct ev_buf out, err, row;
};

/* What a line (or the end of a CSV input) came to. */
enum { R_SKIP, R_EVENT, R_FAIL, R_HEADER };

/* A CSV row csvin refused (raw, rawlen), kept with l's place. */
static void
rejectrow(struct reading *rd, const struct ev_line *l, const char *raw, size_t rawlen)
{
	struct ev_line bad = *l;

	bad.p = raw;
	bad.len = rawlen;
	ev_input_reject(rd->in, &bad, "%s", rd->err.p);
}

/* One input line: an event in rd->out (R_EVENT), or nothing to write now
 * (rejected, or a CSV row kept for the end). */
static int
fromline(struct reading *rd, const struct ev_line *l)
{
	struct ev_jerr jerr;
	const char *why, *raw;
	size_t rawlen;
	int r;

	ev_buf_reset(&rd->out);
	if (rd->mode == CSV) {
		if ((r = ev_csvin_line(rd->csv, l->p, l->len, &rd->err, &raw, &rawlen)) < 0)
			return R_HEADER;
		if (r > 0)
			rejectrow(rd, l, raw, rawlen);
		return R_SKIP;
	}
	if (ev_json_valid(l->p, l->len, &jerr) < 0) {
		ev_input_reject(rd->in, l, "column %zu: %s", jerr.off + 1, jerr.msg);
		return R_SKIP;
	}
	if (rd->mode != FILL)
		return ev_event_build(&rd->out, rd->e, l->p, l->len) < 0 ? R_FAIL : R_EVENT;
	if (ev_event_fill(&rd->out, l->p, l->len, rd->e, &why) < 0) {
		ev_input_reject(rd->in, l, "%s", why);
		return R_SKIP;
	}
	return R_EVENT;
}

/* At the end of a CSV input: its last row, then an event of each row. */
static int
csvrows(struct reading *rd, struct ev_line *l, struct ev_sink *sink, uintmax_t *made)
{
	const char *raw;
	size_t rawlen;
	int r;

	l->no = rd->in->nlines;
	if ((r = ev_csvin_end(rd->csv, &rd->err, &raw, &rawlen)) != 0) {
		if (r < 0)
			return R_HEADER;
		rejectrow(rd, l, raw, rawlen);
	}
	for (size_t i = 0; i < ev_csvin_rows(rd->csv); i++) {
		ev_buf_reset(&rd->row);
		ev_csvin_row(rd->csv, i, &rd->row);
		ev_buf_reset(&rd->out);
		if (ev_event_build(&rd->out, rd->e, rd->row.p, rd->row.len) < 0 ||
		    emit(sink, &rd->out) < 0)
			return R_FAIL;
		(*made)++;
	}
	return R_SKIP;
}

/* Events from input lines: each line is data, an event to fill, or CSV.
 * 0, or -1 when writing failed or the input cannot go on (reported, and
 * in->status says how bad). */
static int
readinput(struct ev_input *in, enum mode mode, const struct ev_envelope *e,
    struct ev_sink *sink, uintmax_t *made)
{
	struct reading rd = { .in = in, .mode = mode, .e = e };
	struct ev_line l = { 0 };
	int r, k = R_SKIP, ret = -1;

	if (mode == CSV) {
		if (!(rd.csv = ev_csvin_new()))
			ev_die(EV_ERROR, "--csv: this evemit was built without libcsv "
			    "(make CSV=no); build it with libcsv-dev installed");
		in->manual = 1; /* rows go out at the end: a cursor must not move before */
	}
	while ((r = ev_input_next(in, &l)) > 0) {
		if ((k = fromline(&rd, &l)) == R_EVENT && emit(sink, &rd.out) < 0)
			k = R_FAIL;
		if (k == R_FAIL || k == R_HEADER)
			break;
		*made += k == R_EVENT;
	}
	if (r < 0)
		goto end; /* reported, and in->status says how bad */
	if (r == 0 && rd.csv)
		k = csvrows(&rd, &l, sink, made);
	if (k == R_HEADER) {
		ev_warn("%s:%ju: the header: %s", in->name, l.no, rd.err.p);
		ev_input_fail(in, EV_ERROR);
	} else if (k == R_FAIL) {
		ev_input_fail(in, ev_errstatus(errno));
	} else {
		ret = 0;
	}
end:
	ev_csvin_free(rd.csv);
	ev_buf_free(&rd.out);
	ev_buf_free(&rd.err);
	ev_buf_free(&rd.row);
	return ret;
}

/* Add -x-style extension name = the string v, unless -x gave it already. */
static void
setext(struct ev_envelope *e, const char *name, const char *v)
{
	for (size_t i = 0; i < e->next; i++)
		if (strcmp(ext[i].name, name) == 0)
			ev_die(EV_ERROR, "-x %s: --request sets it", name);
	if (e->next == MAXEXT)
		ev_die(EV_ERROR, "--request: at most %d extension attributes", MAXEXT - 2);
	ext[e->next].name = ev_strdup(name);
	ev_buf_reset(&extbuf[e->next]);
	ev_buf_addjstr(&extbuf[e->next], v, strlen(v));
	ext[e->next].json = extbuf[e->next].p;
	ext[e->next].len = extbuf[e->next].len;
	e->next++;
}

/* Wait on the reply spool (opened at its end before the request went out)
 * for the event whose correlationid is corr. 0: in reply; 1: none in time. */
static int
awaitspool(struct ev_source *src, const char *corr, int64_t timeout, struct ev_buf *reply)
{
	int64_t end = ev_mono_ms() + timeout;
	struct ev_line l;
	const char *v;
	size_t n, cl = strlen(corr);

	for (;;) {
		int64_t left = end - ev_mono_ms();
		if (left <= 0)
			return 1;
		int got = ev_source_next(src, &l, left > 1000 ? 1000 : (int)left);
		if (got == EV_SRC_ERR)
			return -1;
		if (got == EV_SRC_END)
			return 1;
		if (got != EV_SRC_LINE)
			continue;
		if (ev_event_getattr(l.p, l.len, "correlationid", &v, &n) == 1 && n == cl + 2 &&
		    memcmp(v + 1, corr, cl) == 0) {
			ev_buf_add(reply, l.p, l.len);
			return 0;
		}
	}
}

/* --request: where the request goes and how the reply comes: 1 by a
 * broker's direct reply-to, 0 by a reply spool. */
static int
requestroute(const struct ev_opts *o, const char *replyto)
{
	int broker;

	if (!o->output)
		ev_die(EV_ERROR, "--request: -o names where the request goes (a broker or a spool)");
	broker = ev_sink_replies_direct(o->output);
	if (broker && replyto)
		ev_die(EV_ERROR, "--reply-to: a broker's reply comes by direct reply-to, not a spool");
	if (!broker && !replyto)
		ev_die(EV_ERROR, "--request: -o %s is not a broker: --reply-to names the spool the "
		    "reply comes to", o->output);
	return broker;
}

/* The reply spool, opened at its end before the request goes out; its
 * real path in *abs. */
static struct ev_source *
replyspool(const char *replyto, char **abs)
{
	struct ev_source_conf sc = { .follow = 1, .start = EV_START_END };
	struct ev_source *src;

	if (!(*abs = realpath(replyto, NULL)))
		ev_die(EV_ERROR, "--reply-to %s:", replyto);
	if (!(src = ev_source_open(*abs, &sc)))
		ev_die(ev_errstatus(errno), "--reply-to %s: cannot read it", replyto);
	return src;
}

/* The request event out written to the spool o->output, then its reply
 * awaited on src: as awaitspool, or an exit status. */
static int
viaspool(const struct ev_opts *o, const struct ev_buf *out, struct ev_source *src,
    const char *id, int64_t timeout, struct ev_buf *reply)
{
	struct ev_sink *sink;
	int r;

	if (!(sink = ev_sink_open(o->output, o->sync)))
		return ev_errstatus(errno);
	r = ev_sink_write(sink, out->p, out->len) < 0 ? ev_errstatus(errno) : 0;
	if (ev_sink_close(sink) < 0 && !r)
		r = ev_errstatus(errno);
	if (!r && (r = awaitspool(src, id, timeout, reply)) < 0)
		r = ev_errstatus(errno);
	return r;
}

/* --request: one event with replyto and correlationid (its id) to dest; the
 * reply on stdout. A broker answers by RabbitMQ's direct reply-to; any
 * other destination by a reply spool (--reply-to). 0, 75 when no reply came
 * within the timeout, or another status, reported. */
static int
sendrequest(struct ev_envelope *e, const struct ev_opts *o, int argc, char **argv,
    const char *replyto, int64_t timeout)
{
	struct ev_obj *data = ev_obj_new();
	struct ev_buf err = { 0 }, json = { 0 }, out = { 0 }, reply = { 0 };
	struct ev_source *src = NULL;
	struct ev_sink *sink;
	char id[37], *abs = NULL;
	int r, broker = requestroute(o, replyto);

	for (int i = 1; i < argc; i++)
		if (ev_obj_field(data, argv[i], &err) < 0)
			ev_die(EV_ERROR, "%s", err.p);
	if (!ev_obj_empty(data))
		ev_obj_dump(data, &json);
	if (!e->id) {
		if (ev_uuid7(id) < 0)
			exit(EV_TEMPFAIL);
		e->id = id;
	}
	if (!broker)
		src = replyspool(replyto, &abs);
	setext(e, "replyto", broker ? EV_AMQP_DIRECT_REPLY : abs);
	setext(e, "correlationid", e->id);
	if (ev_event_build(&out, e, json.p, json.len) < 0)
		exit(EV_TEMPFAIL);
	if (broker) {
		r = ev_amqp_request(o->output, out.p, out.len, e->id, timeout, &reply);
		r = r < 0 ? ev_errstatus(errno) : r;
	} else {
		r = viaspool(o, &out, src, e->id, timeout, &reply);
	}
	if (r == 1) {
		ev_warn("no reply to %s within %lld ms", e->id, (long long)timeout);
		r = EV_BUSY;
	} else if (r == 0) {
		if ((sink = ev_sink_open("-", EV_SYNC_NONE)) == NULL ||
		    ev_sink_write(sink, reply.p, reply.len) < 0 || ev_sink_close(sink) < 0)
			r = ev_errstatus(errno);
	}
	ev_source_close(src);
	free(abs);
	ev_obj_free(data);
	ev_buf_free(&err);
	ev_buf_free(&json);
	ev_buf_free(&out);
	ev_buf_free(&reply);
	return r;
}

static const struct option longopts[] = {
	{ "fill", no_argument, NULL, 'f' },
	{ "lines", no_argument, NULL, 'l' },
	{ "source", required_argument, NULL, 's' },
	{ "time", required_argument, NULL, 't' },
	{ "ext", required_argument, NULL, 'x' },
	{ "at", required_argument, NULL, OPT_AT },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "datacontenttype", required_argument, NULL, OPT_DATACONTENTTYPE },
	{ "dataschema", required_argument, NULL, OPT_DATASCHEMA },
	{ "id", required_argument, NULL, OPT_ID },
	{ "subject", required_argument, NULL, OPT_SUBJECT },
	{ "request", no_argument, NULL, OPT_REQUEST },
	{ "reply-to", required_argument, NULL, OPT_REPLYTO },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	EV_COMMON_LONGOPTS,
	EV_SIGN_LONGOPT,
	EV_OTLP_LONGOPT,
	EV_CURSOR_LONGOPTS,
	EV_DEAD_LONGOPT,
	{ NULL, 0, NULL, 0 }
};

/* What the command line asks for. */
struct cmdline {
	struct ev_opts o;
	struct ev_envelope e;
	enum mode mode;
	int modes, request;
	const char *replyto;
	int64_t timeout;
	char timebuf[32];     /* e.time, from -t */
	char **argv;
	int argc;
};

/* -t: the time attribute, an RFC 3339 time or a duration ago. */
static void
settime(struct cmdline *c, const char *s)
{
	int64_t ms;

	if (ev_when_parse(s, ev_now_ms(), &ms) < 0)
		ev_die(EV_ERROR, "-t %s: not an RFC 3339 time or a duration ago", s);
	ev_time_format(ms, c->timebuf);
	c->e.time = c->timebuf;
}

/* --at time or --delay duration (ch says which): evnotbefore. */
static void
setnotbefore(int ch, const char *s)
{
	if (notbefore != INT64_MIN || delay >= 0)
		ev_die(EV_ERROR, "--at and --delay exclude each other");
	if (ch == OPT_AT && ev_time_parse(s, strlen(s), &notbefore) < 0)
		ev_die(EV_ERROR, "--at %s: not an RFC 3339 time", s);
	if (ch == OPT_DELAY && ev_dur_parse(s, &delay) < 0)
		ev_die(EV_ERROR, "--delay %s: not a duration", s);
}

static int64_t
timeout(const char *s)
{
	int64_t ms;

	if (ev_dur_parse(s, &ms) < 0 || ms <= 0)
		ev_die(EV_ERROR, "--timeout: '%s' is not a duration (500ms, 5s, 1m)", s);
	return ms;
}

static void
parseopts(struct cmdline *c, int argc, char *argv[])
{
	struct ev_envelope *e = &c->e;
	int ch;

	*c = (struct cmdline){ .e = { .ext = ext }, .mode = ARGS, .timeout = DEFAULT_TIMEOUT_MS };
	ev_opts_init(&c->o, SYNOPSIS);
	ev_opts_doc(&c->o, "Make CloudEvents 1.0 events: from arguments, input lines or CSV rows.", longopts, docs);
	/* One line an option: a field set, or a helper that checks the value. */
	while ((ch = getopt_long(argc, argv, "fls:t:x:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&c->o, ch, optarg))
			continue;
		switch (ch) {
		case 'f': c->mode = FILL, c->modes++; break;
		case 'l': c->mode = LINES, c->modes++; break;
		case 's': e->source = nonempty("source", optarg); break;
		case 't': settime(c, optarg); break;
		case 'x': addext(e, optarg); break;
		case OPT_AT: setnotbefore(ch, optarg); break;
		case OPT_CSV: c->mode = CSV, c->modes++; break;
		case OPT_DELAY: setnotbefore(ch, optarg); break;
		case OPT_DATACONTENTTYPE: e->datacontenttype = nonempty("datacontenttype", optarg); break;
		case OPT_DATASCHEMA: e->dataschema = nonempty("dataschema", optarg); break;
		case OPT_ID: e->id = nonempty("id", optarg); break;
		case OPT_SUBJECT: e->subject = nonempty("subject", optarg); break;
		case OPT_REQUEST: c->request = 1; break;
		case OPT_REPLYTO: c->replyto = nonempty("reply-to", optarg); break;
		case OPT_TIMEOUT: c->timeout = timeout(optarg); break;
		default: usage();
		}
	}
	c->argc = argc - optind;
	c->argv = argv + optind;
}

/* The options and operands together; the type and the default source. */
static void
checkopts(struct cmdline *c)
{
	struct ev_envelope *e = &c->e;

	for (size_t i = 0; i < e->next; i++)
		if ((notbefore != INT64_MIN || delay >= 0) && strcmp(ext[i].name, "evnotbefore") == 0)
			ev_die(EV_ERROR, "-x evnotbefore: given twice (with --at or --delay)");
	if (c->modes > 1)
		ev_die(EV_ERROR, "-f, -l and --csv exclude each other");
	if (c->mode == ARGS && c->o.input)
		c->mode = LINES;
	if (c->argc < (c->mode == FILL ? 0 : 1) || (c->mode == FILL && c->argc > 1))
		usage();
	if (c->mode != ARGS && c->argc > 1)
		ev_die(EV_ERROR, "%s: fields are for an event made from arguments; with -f, -l "
		    "or --csv the data comes from the input", c->argv[1]);
	if (c->mode != ARGS && e->id)
		ev_die(EV_ERROR, "--id names one event: not with -f, -l or --csv");
	if (c->argc > 0)
		e->type = nonempty("type", c->argv[0]);
	if (!e->source)
		e->source = ev_event_defsource();
	if ((c->replyto || c->timeout != DEFAULT_TIMEOUT_MS) && !c->request)
		ev_die(EV_ERROR, "--reply-to and --timeout go with --request");
	if (c->request && c->mode != ARGS)
		ev_die(EV_ERROR, "--request sends one event made from arguments: not with -f, -l, "
		    "--csv or -i");
}

/* One event made from the arguments (type, then field=value ...). */
static int
fromargs(struct cmdline *c)
{
	struct ev_obj *data = ev_obj_new();
	struct ev_buf err = { 0 }, json = { 0 }, out = { 0 };
	struct ev_sink *sink;
	int r = 0;

	for (int i = 1; i < c->argc && !r; i++)
		if (ev_obj_field(data, c->argv[i], &err) < 0) {
			ev_warn("%s", err.p);
			r = EV_ERROR;
		}
	if (!r && !ev_obj_empty(data))
		ev_obj_dump(data, &json);
	if (!r && !(sink = ev_sink_open(c->o.output ? c->o.output : "-", c->o.sync)))
		r = ev_errstatus(errno);
	if (!r) {
		if (ev_event_build(&out, &c->e, json.p, json.len) < 0 || emit(sink, &out) < 0)
			r = ev_errstatus(errno);
		if (ev_sink_close(sink) < 0 && !r)
			r = ev_errstatus(errno);
	}
	ev_obj_free(data);
	ev_buf_free(&err);
	ev_buf_free(&json);
	ev_buf_free(&out);
	return r;
}

/* Events made from the input (-l, -f, --csv). */
static int
frominput(struct cmdline *c)
{
	struct ev_input in;
	struct ev_sink *sink = tool_output(&c->o);
	uintmax_t made = 0;

	tool_input(&in, &c->o, NULL, 0);
	ev_input_add_sink(&in, sink);
	readinput(&in, c->mode, &c->e, sink, &made);
	ev_input_end(&in);
	if (ev_sink_close(sink) < 0)
		ev_input_fail(&in, ev_errstatus(errno));
	ev_stats_print(c->o.stats, (struct ev_stat[]){
		{ "in", in.nlines }, { "made", made }, { "bad", in.nbad } }, 3);
	return in.status;
}

int
main(int argc, char *argv[])
{
	struct cmdline c;
	int r;

	ev_setprog(argv[0]);
	parseopts(&c, argc, argv);
	checkopts(&c);
	if (c.request)
		r = sendrequest(&c.e, &c.o, c.argc, c.argv, c.replyto, c.timeout);
	else
		r = c.mode == ARGS ? fromargs(&c) : frominput(&c);
	for (size_t i = 0; i < c.e.next; i++) {
		free((char *)ext[i].name);
		ev_buf_free(&extbuf[i]);
	}
	return r;
}
