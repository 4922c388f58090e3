/* SPDX-License-Identifier: ISC */
/* evtail — print the events of a spool or a file and keep following it, like tail -F. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amqp/url.h"
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

static int64_t
parse_when(const char *s, const char *what)
{
	int64_t ms;

	if (ev_when_parse(s, ev_now_ms(), &ms) < 0)
		ev_die(EV_ERROR, "%s: '%s' is not an RFC 3339 time or a duration (like 1h)", what, s);
	return ms;
}

static int
isdir(const char *path)
{
	struct stat st;

	return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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

int
main(int argc, char *argv[])
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
	struct ev_opts o;
	struct ev_input in;
	struct ev_line l;
	struct ev_sink *sink;
	const char *loc;
	int ch, r = 0, fromstart = 0, skiplost = 0, haven = 0, hassince = 0, hasuntil = 0;
	int follow = -1, scanning = 0;
	struct ev_ring *ring = NULL; /* -n on a pipe: the last lines, written at its end */
	uint64_t n = 10, count = UINT64_MAX, printed = 0, prevpos = 0;
	struct counted counted = { &in, &printed };
	int64_t since = 0, until = 0, t;

	ev_setprog(argv[0]);
	ev_opts_init(&o, SYNOPSIS);
	ev_opts_doc(&o, "Print the events of a spool or a file and keep following it, like tail -F.", longopts, docs);
	while ((ch = getopt_long(argc, argv, "Ffn:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'F': /* tail -F: follow the name, retry: what evtail always does */
		case 'f':
			follow = 1;
			break;
		case 'n':
			n = parse_count(optarg, "-n");
			haven = 1;
			break;
		case OPT_COUNT:
			count = parse_count(optarg, "--count");
			break;
		case OPT_FROM_START:
			fromstart = 1;
			break;
		case OPT_SINCE:
			since = parse_when(optarg, "--since");
			hassince = 1;
			break;
		case OPT_SKIP_LOST:
			skiplost = 1;
			break;
		case OPT_UNTIL:
			until = parse_when(optarg, "--until");
			hasuntil = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || (argc == 1 && o.input))
		usage();
	if (fromstart + haven + hassince > 1)
		ev_die(EV_ERROR, "-n, --from-start and --since exclude each other");
	if (o.group && (fromstart || haven || hassince))
		ev_die(EV_ERROR, "-n, --from-start and --since cannot be combined with --group "
		    "(a group keeps its own position)");
	if (follow == 1 && o.follow == 0)
		ev_die(EV_ERROR, "-f and --no-follow exclude each other");
	loc = argc ? argv[0] : o.input ? o.input : "-";

	sink = tool_output(&o);
	tool_input(&in, &o, argv, argc);
	ev_input_add_sink(&in, sink);
	ev_input_set_counts(&in, counts, &counted);
	/* evtail follows spools and files alike unless told not to. */
	in.conf.follow = o.follow == 0 ? 0 : 1;
	in.conf.skip_lost = skiplost;
	if (fromstart) {
		in.conf.start = EV_START_BEGIN;
	} else if (hassince) {
		/* A spool is searched; a file is read from its start and skipped
		 * through; a stream starts at the chunk stored at that time and is
		 * skipped through to the first event of that time. */
		if (isdir(loc))
			in.conf.start = EV_START_TIME, in.conf.since_ms = since;
		else if (ev_amqp_is(loc))
			in.conf.start = EV_START_TIME, in.conf.since_ms = since, scanning = 1;
		else
			in.conf.start = EV_START_BEGIN, scanning = 1;
	} else if (ev_amqp_is(loc)) {
		/* A queue hands out what it holds; -n 0 starts a stream at the next event. */
		if (haven) {
			in.conf.start = EV_START_LAST;
			in.conf.last = n;
		}
	} else if (haven || (!o.cursor && !o.group)) {
		in.conf.start = EV_START_LAST;
		in.conf.last = n;
		if (ispipe(loc))
			ring = ev_ring_new(n);
	}

	while (printed < count && (r = ev_input_next(&in, &l)) > 0) {
		if (scanning) {
			if (ev_spool_line_time(l.p, l.len, &t) < 0 || t < since)
				continue;
			scanning = 0;
		}
		if (hasuntil && ev_spool_line_time(l.p, l.len, &t) == 0 && t > until) {
			in.pos = prevpos; /* this one is not done: a cursor stays before it */
			break;
		}
		if (ring) {
			ev_ring_add(ring, l.p, l.len);
			continue;
		}
		if (ev_sink_write(sink, l.p, l.len) < 0)
			goto fail;
		printed++;
		prevpos = l.pos;
	}
	if (r < 0)
		goto fail;
	if (ring && ev_ring_flush(ring, sink, &printed) < 0)
		goto fail;
	ev_ring_free(ring);
	r = ev_input_end(&in);
	if (ev_sink_close(sink) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	ev_input_stats(&in, o.stats);
	return r;
fail:
	r = ev_input_end(&in);
	ev_sink_close(sink);
	exit(r ? r : EV_TEMPFAIL);
}
