/* SPDX-License-Identifier: ISC */
/* evfold — fold events into a state per key, kept in SQLite, exactly once. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/ahead.h"
#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/opts.h"
#include "fold/fold.h"
#include "io/input.h"
#include "io/loc.h"
#include "tool.h"

#define SYNOPSIS "[-q] [--count] [--dump] [--rebuild] [-i src] [-k expr] [-o dest] " \
	"[--avg path] [--cache n] [--cursor name] [--dead dest] [--distinct path] " \
	"[--first[=path]] [--get key] [--group name] [--init json] [--last path] " \
	"[--late dest] [--lateness duration] [--max path] [--max-deliveries n] " \
	"[--max-event-size size] [--min path] [--no-follow] [--otlp dest] [--prometheus file] " \
	"[--rejects dest] [--since when] [--sign-key file] " \
	"[--stats[=json]] [--sum path] [--sync mode] [--time path] [--type type] " \
	"[--verify-keys dir] [--view name] [--wait] [--window spec] --db file [reducer] [file ...]"

enum {
	OPT_AVG = EV_OPT_TOOL, OPT_CACHE, OPT_COUNT, OPT_DB, OPT_DISTINCT, OPT_DUMP, OPT_FIRST,
	OPT_GET, OPT_INIT, OPT_LAST, OPT_LATE, OPT_LATENESS, OPT_MAX, OPT_MIN, OPT_REBUILD,
	OPT_SINCE, OPT_SUM, OPT_TIME, OPT_TYPE, OPT_VIEW, OPT_WINDOW
};

static const struct ev_optdoc docs[] = {
	{ "key", "expr", "the key: a path or a jq expression (default: one key)" },
	{ "db", "file", "the SQLite database of the views" },
	{ "view", "name", "the view (default: cursor or group name, or fold)" },
	{ "init", "json", "the state of a new key, for a reducer" },
	{ "count", NULL, "fold in the number of events" },
	{ "sum", "path", "fold in the sum of the number at path" },
	{ "min", "path", "fold in the smallest number at path" },
	{ "max", "path", "fold in the largest number at path" },
	{ "avg", "path", "fold in the average of the number at path" },
	{ "first", "[=path]", "fold in the first value at path (default: the event)" },
	{ "last", "path", "fold in the latest value at path" },
	{ "distinct", "path", "fold in the distinct values at path (about 1.6%)" },
	{ "window", "spec", "tumbling:SIZE, hopping:SIZE/HOP or session:GAP" },
	{ "lateness", "duration", "how late an event may be before its window closes" },
	{ "time", "path", "the event time for windows (default .time)" },
	{ "late", "dest", "write late events to dest" },
	{ "type", "type", "the type of changelog events (default VIEW.changed)" },
	{ "output", "dest", "write every change (the changelog) to dest" },
	{ "rebuild", NULL, "fold the history anew, swapped in when caught up" },
	{ "since", "when", "where a new view or a rebuild starts" },
	{ "get", "key", "print the state of key and exit (1: none)" },
	{ "dump", NULL, "print every row of the view as NDJSON and exit" },
	{ "cache", "n", "states kept in memory (default 1000000)" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

static void
agg(struct ev_fold_conf *c, int which, const char *p)
{
	if (c->aggs & (1u << which))
		ev_die(EV_ERROR, "--%s: given twice (one of each built-in fold)", ev_agg_names[which]);
	c->aggs |= 1u << which;
	c->aggpath[which] = p ? p : ".";
}

static int
isspool(const char *loc)
{
	struct stat st;
	char *p;
	int r;

	if (asprintf(&p, "%s/SPOOL", loc) < 0)
		ev_die(EV_TEMPFAIL, "out of memory");
	r = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return r;
}

/* What the kept position is of: one spool, named by its real path (and
 * the cursor that mirrors the position). NULL for other inputs: they are
 * folded as given, each time. */
static char *
keptinput(const struct ev_input *in, const char *cursor)
{
	char real[PATH_MAX], *s;

	if (in->nlocs != 1 || !isspool(in->locs[0]) || !realpath(in->locs[0], real))
		return NULL;
	if (asprintf(&s, "%s#%s", real, cursor ? cursor : "") < 0)
		ev_die(EV_TEMPFAIL, "out of memory");
	return s;
}

/* The lines of a batch, scanned in the helper thread, folded in order. */
struct folding {
	struct ev_fold *f;
	struct ev_input *in;
};

static int
folddone(void *arg, const struct ev_line *l, void *res, size_t n)
{
	struct folding *fo = arg;
	size_t sz = ev_fold_scansize(fo->f);

	for (size_t i = 0; i < n; i++)
		if (ev_fold_scanned(fo->f, fo->in, &l[i], (char *)res + i * sz) < 0)
			return -1;
	return 0;
}

/* With --group the members fold into one view, each batch in a transaction
 * of its own; the group keeps the position, after this commit. */
static int failed; /* a batch may hold half of an event: commit no more */

static int
sharedcommit(void *arg)
{
	return failed ? 0 : ev_fold_keep(arg, 0);
}

static void
onidle(void *arg)
{
	struct ev_fold *f = arg;

	if (ev_fold_rebuilding(f) && ev_fold_caughtup(f) < 0)
		exit(ev_errstatus(errno));
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "avg", required_argument, NULL, OPT_AVG },
		{ "cache", required_argument, NULL, OPT_CACHE },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "db", required_argument, NULL, OPT_DB },
		{ "distinct", required_argument, NULL, OPT_DISTINCT },
		{ "dump", no_argument, NULL, OPT_DUMP },
		{ "first", optional_argument, NULL, OPT_FIRST },
		{ "get", required_argument, NULL, OPT_GET },
		{ "init", required_argument, NULL, OPT_INIT },
		{ "last", required_argument, NULL, OPT_LAST },
		{ "late", required_argument, NULL, OPT_LATE },
		{ "lateness", required_argument, NULL, OPT_LATENESS },
		{ "max", required_argument, NULL, OPT_MAX },
		{ "min", required_argument, NULL, OPT_MIN },
		{ "rebuild", no_argument, NULL, OPT_REBUILD },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "sum", required_argument, NULL, OPT_SUM },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "view", required_argument, NULL, OPT_VIEW },
		{ "window", required_argument, NULL, OPT_WINDOW },
		EV_COMMON_LONGOPTS,
		EV_PROM_LONGOPT,
		EV_OTLP_LONGOPT,
		EV_SIGN_LONGOPT,
		EV_VERIFY_LONGOPT,
		EV_CURSOR_LONGOPTS,
		EV_DEAD_LONGOPT,
		{ NULL, 0, NULL, 0 }
	};
	struct ev_fold_conf c = { .maxkeys = 1000000 };
	struct ev_fold_stats fs;
	struct ev_fold *f;
	struct ev_ahead *ah;
	struct folding fo;
	struct ev_opts o;
	struct ev_input in;
	struct ev_line l;
	struct ev_buf err = { 0 };
	const char *get = NULL, *since = NULL, *late = NULL;
	char *view = NULL, *owned = NULL, *end;
	int ch, r, dump = 0;
	uint64_t pos;

	ev_setprog(argv[0]);
	ev_opts_init(&o, SYNOPSIS);
	ev_opts_doc(&o, "Fold events into a state per key, kept in SQLite, exactly once.", longopts,
	    docs);
	while ((ch = getopt_long(argc, argv, "k:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'k':
			c.keyexpr = optarg;
			break;
		case OPT_AVG:
			agg(&c, EV_AGG_AVG, optarg);
			break;
		case OPT_CACHE:
			errno = 0;
			c.maxkeys = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-')
				ev_die(EV_ERROR, "--cache: '%s' is not a count", optarg);
			break;
		case OPT_COUNT:
			agg(&c, EV_AGG_COUNT, NULL);
			break;
		case OPT_DB:
			c.db = optarg;
			break;
		case OPT_DISTINCT:
			agg(&c, EV_AGG_DISTINCT, optarg);
			break;
		case OPT_DUMP:
			dump = 1;
			break;
		case OPT_FIRST:
			agg(&c, EV_AGG_FIRST, optarg);
			break;
		case OPT_GET:
			get = optarg;
			break;
		case OPT_INIT:
			c.init = optarg;
			break;
		case OPT_LAST:
			agg(&c, EV_AGG_LAST, optarg);
			break;
		case OPT_LATE:
			late = optarg;
			break;
		case OPT_LATENESS:
			if (ev_dur_parse(optarg, &c.lateness) < 0)
				ev_die(EV_ERROR, "--lateness: '%s' is not a duration", optarg);
			break;
		case OPT_MAX:
			agg(&c, EV_AGG_MAX, optarg);
			break;
		case OPT_MIN:
			agg(&c, EV_AGG_MIN, optarg);
			break;
		case OPT_REBUILD:
			c.rebuild = 1;
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_SUM:
			agg(&c, EV_AGG_SUM, optarg);
			break;
		case OPT_TIME:
			c.timepath = optarg;
			break;
		case OPT_TYPE:
			c.type = optarg;
			break;
		case OPT_VIEW:
			view = optarg;
			break;
		case OPT_WINDOW:
			if (ev_window_parse(optarg, &c.win, &err) < 0)
				ev_die(EV_ERROR, "--window: %s", err.p);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (!c.db)
		ev_die(EV_ERROR, "--db: a database file is needed");
	if (view && !ev_fold_view_valid(view))
		ev_die(EV_ERROR, "--view: '%s' is not a view name (letters, digits, _ . -; "
		    "at most 64; not evfold_...)", view);

	/* Reading a view. */
	if (get || dump) {
		if (argc > 0 || c.aggs || (get && dump))
			usage();
		if (!view && o.cursor && ev_fold_view_valid(o.cursor))
			view = (char *)o.cursor;
		else if (!view && !(view = owned = ev_fold_only_view(c.db)))
			return EV_ERROR;
		r = get ? ev_fold_get(c.db, view, get, stdout) : ev_fold_dump(c.db, view, stdout);
		free(owned);
		if (fflush(stdout) == EOF || ferror(stdout))
			ev_die(ev_errstatus(errno), "stdout:");
		return r < 0 ? ev_errstatus(errno) : r ? 0 : 1;
	}

	/* Folding. */
	if (!c.aggs && argc > 0) {
		c.reducer = argv[0];
		argc--;
		argv++;
	}
	if (!c.reducer && !c.aggs)
		ev_die(EV_ERROR, "a reducer (a jq program) or a built-in fold (--count, --sum ...) "
		    "is needed");
	if (c.init && !c.reducer)
		ev_die(EV_ERROR, "--init goes with a reducer");
	if (!c.win.kind && (c.lateness || late || c.timepath))
		ev_die(EV_ERROR, "--lateness, --late and --time go with --window");
	if (o.group && (c.win.kind || c.rebuild || since))
		ev_die(EV_ERROR, "--group: members fold into one view batch by batch; --window, "
		    "--rebuild and --since need one fold that keeps the position itself");
	if (!view) {
		const char *n = o.cursor ? o.cursor : o.group;
		view = (char *)(n && ev_fold_view_valid(n) ? n : "fold");
	}
	c.view = view;
	c.sync = o.sync;
	c.shared = o.group != NULL;
	if (c.shared)
		c.maxkeys = 0; /* another member may change any key between two batches */
	tool_input(&in, &o, argv, argc);
	c.input = c.shared ? NULL : keptinput(&in, o.cursor);
	if (o.output)
		c.out = tool_sink(o.output, o.sync);
	if (late)
		c.late = tool_sink(late, o.sync);
	if (!(f = ev_fold_open(&c)))
		exit(ev_errstatus(errno));
	if (!c.shared && ev_fold_pos(f, &pos)) {
		if (since && !c.rebuild)
			ev_die(EV_ERROR, "--since: view %s has folded up to a position already; "
			    "--rebuild folds from a time", view);
		in.conf.start = EV_START_POS;
		in.conf.pos = pos;
	} else if (c.input) {
		in.conf.start = EV_START_BEGIN; /* a new view folds the history */
		if (since) {
			in.conf.start = EV_START_TIME;
			if (ev_when_parse(since, ev_now_ms(), &in.conf.since_ms) < 0)
				ev_die(EV_ERROR, "--since: '%s' is not a time or a duration", since);
		}
	} else if (since) {
		ev_die(EV_ERROR, "--since needs a spool input");
	}
	if (c.out)
		ev_input_add_sink(&in, c.out);
	if (c.late)
		ev_input_add_sink(&in, c.late);
	if (c.shared) {
		/* a batch holds the view's write lock: short ones, so members alternate */
		ev_input_add_commit(&in, sharedcommit, f);
	} else {
		ev_input_keep_pos(&in, ev_fold_keep, f);
		/* each commit writes every key it changed: fewer, larger batches (an
		 * input that pauses is committed at once, before the wait) */
		in.maxlines = 1 << 20;
		in.maxbytes = 256 << 20;
		in.maxms = 5000;
	}
	if (c.rebuild) {
		in.idle_ms = 200;
		in.onidle = onidle;
		in.onidle_arg = f;
	}

	/* the scan of each line runs ahead in a second thread */
	fo.f = f;
	fo.in = &in;
	ah = ev_ahead_new(ev_fold_scansize(f), ev_fold_scan, f, folddone, &fo);
	ev_input_set_flush(&in, ev_ahead_flush, ah);
	while ((r = ev_input_next(&in, &l)) > 0)
		if (ev_ahead_add(ah, &l) < 0)
			goto fail;
	if (r < 0)
		goto fail;
	r = ev_input_end(&in);
	ev_ahead_free(ah);
	if (ev_fold_rebuilding(f) && !in.nocommit && ev_fold_caughtup(f) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	if (ev_sink_close(c.out) < 0 || ev_sink_close(c.late) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	ev_fold_stats(f, &fs);
	ev_stats_print(o.stats, (struct ev_stat[]){
		{ "in", in.nlines }, { "folded", fs.folded }, { "bad", in.nbad },
		{ "late", fs.late }, { "closed", fs.closed }, { "changes", fs.changes },
		{ "cached", fs.keys } }, 7);
	if (fs.late && !c.late && !o.stats)
		ev_warn("%ju late event%s dropped (--late keeps them)", fs.late,
		    fs.late == 1 ? "" : "s");
	ev_fold_close(f);
	free((char *)c.input);
	ev_buf_free(&err);
	return r;
fail:
	/* the batch may hold half of an event: keep the view where it was */
	in.nocommit = 1;
	failed = 1;
	r = ev_input_end(&in);
	ev_ahead_free(ah);
	ev_fold_close(f);
	exit(r ? r : EV_TEMPFAIL);
}
