/* SPDX-License-Identifier: ISC */
/* evtail — print the events of a spool or a file and keep following it, like tail -F. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/time.h"
#include "base/err.h"
#include "io/input.h"
#include "io/loc.h"
#include "io/ring.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/opts.h"
#include "spool/spool.h"
#include "tool.h"

#define SYNOPSIS "[-Ffq] [-i src] [-n count] [-o dest] [--count n] [--cursor name] " \
	"[--dead dest] [--expired[=dest]] [--group name] [--hold] [--priority] [--max-deliveries n] " \
	"[--from-start] [--max-event-size size] [--no-follow] [--otlp dest] [--prometheus file] " \
	"[--rejects dest] [--since time] [--skip-lost] [--sign-key file] [--stats[=json]] " \
	"[--sync mode] [--verify-keys dir] [--until time] [--wait] [spool | file | url]"

enum { OPT_COUNT = EV_OPT_TOOL, OPT_FROM_START, OPT_SINCE, OPT_SKIP_LOST, OPT_UNTIL };

static const struct ev_optdoc docs[] = {
	{ "-F", NULL, "the same as -f, as tail -F users type it" },
	{ "follow", NULL, "keep following at the end (the default)" },
	{ "lines", "count", "start with the last count events (default 10)" },
	{ "count", "n", "stop after n events" },
	{ "from-start", NULL, "start with the oldest event" },
	{ "since", "time", "start at the first event of this time (or 1h ago)" },
	{ "skip-lost", NULL, "skip events retention removed before the cursor" },
	{ "until", "time", "stop before the first event after this time" },
	{ "no-follow", NULL, "print what is there and exit (for cron)" },
	{ "rejects", "dest", "accepted as by every tool; evtail rejects nothing" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

static uint64_t
parse_count(const char *s, const char *what)
{
	uint64_t v;

	if (ev_opt_count(s, 0, INT64_MAX, &v) < 0)
		ev_die(EV_ERROR, "%s: '%s' is not a number of events", what, s);
	return v;
}

/* 1, with the time in *ms. */
static int
parse_when(const char *s, const char *what, int64_t *ms)
{
	if (ev_when_parse(s, ev_now_ms(), ms) < 0)
		ev_die(EV_ERROR, "%s: '%s' is not an RFC 3339 time or a duration (like 1h)", what, s);
	return 1;
}

/* A pipe cannot be read backwards: -n keeps the last lines until its end. */
static int
ispipe(const char *path)
{
	struct stat st;

	if (strcmp(path, "-") == 0 ? fstat(0, &st) : stat(path, &st))
		return 0;
	return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* What --stats counts: the events printed, and what the input and the
 * output locations counted of their work. */
struct counted {
	const struct ev_input *in;
	const uint64_t *printed;
};

static size_t
counts(void *arg, struct ev_stat *s, size_t max)
{
	const struct counted *k = arg;
	struct ev_loc_counts c;

	(void)max;
	ev_input_loc_counts(k->in, &c);
	s[0] = (struct ev_stat){ "events", *k->printed };
	s[1] = (struct ev_stat){ "segments_opened", c.segopens };
	s[2] = (struct ev_stat){ "bytes_read", c.bytesread };
	s[3] = (struct ev_stat){ "lost_bytes", c.lost };
	s[4] = (struct ev_stat){ "syncs", c.syncs };
	return 5;
}

/* What the command line asks for. */
struct tail {
	struct ev_opts o;
	const char *loc;
	char **argv;
	int argc;
	int fromstart, skiplost, haven, hassince, hasuntil;
	int follow;            /* -f: 1, else -1 */
	uint64_t n, count;
	int64_t since, until;
};

static void
parseopts(struct tail *t, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "from-start", no_argument, NULL, OPT_FROM_START },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "skip-lost", no_argument, NULL, OPT_SKIP_LOST },
		{ "until", required_argument, NULL, OPT_UNTIL },
		EV_COMMON_LONGOPTS,
		EV_READER_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ev_opts *o = &t->o;
	int ch;

	*t = (struct tail){ .follow = -1, .n = 10, .count = UINT64_MAX };
	ev_opts_init(o, SYNOPSIS);
	ev_opts_doc(o, "Print the events of a spool or a file and keep following it, like tail -F.", longopts, docs);
	while ((ch = getopt_long(argc, argv, "Ffn:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(o, ch, optarg))
			continue;
		switch (ch) {
		case 'F': /* tail -F: follow the name, retry: what evtail always does */
		case 'f': t->follow = 1; break;
		case 'n': t->n = parse_count(optarg, "-n"), t->haven = 1; break;
		case OPT_COUNT: t->count = parse_count(optarg, "--count"); break;
		case OPT_FROM_START: t->fromstart = 1; break;
		case OPT_SINCE: t->hassince = parse_when(optarg, "--since", &t->since); break;
		case OPT_SKIP_LOST: t->skiplost = 1; break;
		case OPT_UNTIL: t->hasuntil = parse_when(optarg, "--until", &t->until); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || (argc == 1 && o->input))
		usage();
	if (t->fromstart + t->haven + t->hassince > 1)
		ev_die(EV_ERROR, "-n, --from-start and --since exclude each other");
	if (o->group && (t->fromstart || t->haven || t->hassince))
		ev_die(EV_ERROR, "-n, --from-start and --since cannot be combined with --group "
		    "(a group keeps its own position)");
	if (t->follow == 1 && o->follow == 0)
		ev_die(EV_ERROR, "-f and --no-follow exclude each other");
	t->argc = argc;
	t->argv = argv;
	t->loc = argc ? argv[0] : o->input ? o->input : "-";
}

/* Where the input starts: --from-start, --since, or the last n events
 * (the default, without a cursor or a group); a pipe's last n are kept
 * in the ring returned, until its end. */
static struct ev_ring *
setstart(struct ev_input *in, const struct tail *t)
{
	if (t->fromstart) {
		in->conf.start = EV_START_BEGIN;
	} else if (t->hassince) {
		ev_input_since(in, t->since);
	} else if (t->haven || (!t->o.cursor && !t->o.group)) {
		in->conf.start = EV_START_LAST;
		in->conf.last = t->n;
		in->conf.lastdefault = !t->haven; /* a queue hands out what it holds */
		if (ispipe(t->loc))
			return ev_ring_new(t->n);
	}
	return NULL;
}

/* Print until --count or --until; 0 when done, else -1. */
static int
print(struct ev_input *in, struct ev_sink *sink, struct ev_ring *ring, const struct tail *t,
    uint64_t *printed)
{
	struct ev_line l;
	uint64_t prevpos = 0;
	int64_t tm;
	int r = 0;

	while (*printed < t->count && (r = ev_input_next(in, &l)) > 0) {
		if (t->hasuntil && ev_spool_line_time(l.p, l.len, &tm) == 0 && tm > t->until) {
			in->pos = prevpos; /* this one is not done: a cursor stays before it */
			break;
		}
		if (ring) {
			ev_ring_add(ring, l.p, l.len);
			continue;
		}
		if (ev_sink_write(sink, l.p, l.len) < 0)
			return -1;
		(*printed)++;
		prevpos = l.pos;
	}
	if (r < 0 || (ring && ev_ring_flush(ring, sink, printed) < 0))
		return -1;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct tail t;
	struct ev_input in;
	struct ev_sink *sink;
	struct ev_ring *ring; /* -n on a pipe: the last lines, written at its end */
	uint64_t printed = 0;
	struct counted counted = { &in, &printed };
	int r;

	ev_setprog(argv[0]);
	parseopts(&t, argc, argv);
	sink = tool_output(&t.o);
	tool_input(&in, &t.o, t.argv, t.argc);
	ev_input_add_sink(&in, sink);
	ev_input_set_counts(&in, counts, &counted);
	/* evtail follows spools and files alike unless told not to. */
	in.conf.follow = t.o.follow == 0 ? 0 : 1;
	in.conf.skip_lost = t.skiplost;
	ring = setstart(&in, &t);
	if (print(&in, sink, ring, &t, &printed) < 0) {
		r = ev_input_end(&in);
		ev_sink_close(sink);
		exit(r ? r : EV_TEMPFAIL);
	}
	ev_ring_free(ring);
	r = ev_input_end(&in);
	if (ev_sink_close(sink) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	ev_input_stats(&in, t.o.stats);
	return r;
}
