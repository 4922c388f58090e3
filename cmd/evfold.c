/* SPDX-License-Identifier: ISC */
/* evfold — fold events into a state per key, kept in SQLite, exactly once. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
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

static size_t
count(const char *opt, const char *s)
{
	uint64_t n;

	if (ev_opt_count(s, 0, SIZE_MAX, &n) < 0)
		ev_die(EV_ERROR, "%s: '%s' is not a count", opt, s);
	return (size_t)n;
}

static int64_t
duration(const char *opt, const char *s)
{
	int64_t ms;

	if (ev_dur_parse(s, &ms) < 0)
		ev_die(EV_ERROR, "%s: '%s' is not a duration", opt, s);
	return ms;
}

static void
window(const char *s, struct ev_window *w, struct ev_buf *err)
{
	if (ev_window_parse(s, w, err) < 0)
		ev_die(EV_ERROR, "--window: %s", err->p);
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

	return ev_fold_scannedn(fo->f, fo->in, l, res, n);
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
	EV_CONSUMER_LONGOPTS,
	EV_DEAD_LONGOPT,
	{ NULL, 0, NULL, 0 }
};

/* What the command line asks for. */
struct cmdline {
	struct ev_opts o;
	struct ev_fold_conf c;
	const char *get, *since, *late;
	char *view;
	int dump;
	char **argv;
	int argc;
	struct ev_buf err;
};

static void
parseopts(struct cmdline *k, int argc, char *argv[])
{
	struct ev_fold_conf *c = &k->c;
	int ch;

	*k = (struct cmdline){ .c = { .maxkeys = 1000000 } };
	ev_opts_init(&k->o, SYNOPSIS);
	ev_opts_doc(&k->o, "Fold events into a state per key, kept in SQLite, exactly once.",
	    longopts, docs);
	/* One line an option: a field set or a built-in fold added. */
	while ((ch = getopt_long(argc, argv, "k:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&k->o, ch, optarg))
			continue;
		switch (ch) {
		case 'k': c->keyexpr = optarg; break;
		case OPT_AVG: agg(c, EV_AGG_AVG, optarg); break;
		case OPT_CACHE: c->maxkeys = count("--cache", optarg); break;
		case OPT_COUNT: agg(c, EV_AGG_COUNT, NULL); break;
		case OPT_DB: c->db = optarg; break;
		case OPT_DISTINCT: agg(c, EV_AGG_DISTINCT, optarg); break;
		case OPT_DUMP: k->dump = 1; break;
		case OPT_FIRST: agg(c, EV_AGG_FIRST, optarg); break;
		case OPT_GET: k->get = optarg; break;
		case OPT_INIT: c->init = optarg; break;
		case OPT_LAST: agg(c, EV_AGG_LAST, optarg); break;
		case OPT_LATE: k->late = optarg; break;
		case OPT_LATENESS: c->lateness = duration("--lateness", optarg); break;
		case OPT_MAX: agg(c, EV_AGG_MAX, optarg); break;
		case OPT_MIN: agg(c, EV_AGG_MIN, optarg); break;
		case OPT_REBUILD: c->rebuild = 1; break;
		case OPT_SINCE: k->since = optarg; break;
		case OPT_SUM: agg(c, EV_AGG_SUM, optarg); break;
		case OPT_TIME: c->timepath = optarg; break;
		case OPT_TYPE: c->type = optarg; break;
		case OPT_VIEW: k->view = optarg; break;
		case OPT_WINDOW: window(optarg, &c->win, &k->err); break;
		default: usage();
		}
	}
	k->argc = argc - optind;
	k->argv = argv + optind;
	if (!c->db)
		ev_die(EV_ERROR, "--db: a database file is needed");
	if (k->view && !ev_fold_view_valid(k->view))
		ev_die(EV_ERROR, "--view: '%s' is not a view name (letters, digits, _ . -; "
		    "at most 64; not evfold_...)", k->view);
}

/* --get, --dump: print from the view and exit. */
static int
readview(struct cmdline *k)
{
	char *view = k->view, *owned = NULL;
	int r;

	if (k->argc > 0 || k->c.aggs || (k->get && k->dump))
		usage();
	if (!view && k->o.cursor && ev_fold_view_valid(k->o.cursor))
		view = (char *)k->o.cursor;
	else if (!view && !(view = owned = ev_fold_only_view(k->c.db)))
		return EV_ERROR;
	r = k->get ? ev_fold_get(k->c.db, view, k->get, stdout) : ev_fold_dump(k->c.db, view, stdout);
	free(owned);
	if (fflush(stdout) == EOF || ferror(stdout))
		ev_die(ev_errstatus(errno), "stdout:");
	return r < 0 ? ev_errstatus(errno) : r ? 0 : 1;
}

/* The fold's options together: the reducer operand, what goes with what,
 * the view's name. */
static void
foldconf(struct cmdline *k)
{
	struct ev_fold_conf *c = &k->c;

	if (!c->aggs && k->argc > 0) {
		c->reducer = k->argv[0];
		k->argc--;
		k->argv++;
	}
	if (!c->reducer && !c->aggs)
		ev_die(EV_ERROR, "a reducer (a jq program) or a built-in fold (--count, --sum ...) "
		    "is needed");
	if (c->init && !c->reducer)
		ev_die(EV_ERROR, "--init goes with a reducer");
	if (!c->win.kind && (c->lateness || k->late || c->timepath))
		ev_die(EV_ERROR, "--lateness, --late and --time go with --window");
	if (k->o.group && (c->win.kind || c->rebuild || k->since))
		ev_die(EV_ERROR, "--group: members fold into one view batch by batch; --window, "
		    "--rebuild and --since need one fold that keeps the position itself");
	if (!k->view) {
		const char *n = k->o.cursor ? k->o.cursor : k->o.group;
		k->view = (char *)(n && ev_fold_view_valid(n) ? n : "fold");
	}
	c->view = k->view;
	c->sync = k->o.sync;
	c->shared = k->o.group != NULL;
	if (c->shared)
		c->maxkeys = 0; /* another member may change any key between two batches */
}

/* Where the input starts: the position kept with the view, else a new
 * view's history from its beginning or --since. */
static void
setstart(struct ev_input *in, struct ev_fold *f, const struct cmdline *k)
{
	uint64_t pos;

	if (!k->c.shared && ev_fold_pos(f, &pos)) {
		if (k->since && !k->c.rebuild)
			ev_die(EV_ERROR, "--since: view %s has folded up to a position already; "
			    "--rebuild folds from a time", k->view);
		in->conf.start = EV_START_POS;
		in->conf.pos = pos;
	} else if (k->c.input) {
		in->conf.start = EV_START_BEGIN; /* a new view folds the history */
		if (k->since) {
			in->conf.start = EV_START_TIME;
			if (ev_when_parse(k->since, ev_now_ms(), &in->conf.since_ms) < 0)
				ev_die(EV_ERROR, "--since: '%s' is not a time or a duration", k->since);
		}
	} else if (k->since) {
		ev_die(EV_ERROR, "--since needs a spool input");
	}
}

/* How the view commits with the input: each batch on its own (a group), or
 * the view keeps the position, in large batches. */
static void
setcommits(struct ev_input *in, struct ev_fold *f, const struct ev_fold_conf *c)
{
	if (c->out)
		ev_input_add_sink(in, c->out);
	if (c->late)
		ev_input_add_sink(in, c->late);
	if (c->shared) {
		/* a batch holds the view's write lock: short ones, so members alternate */
		ev_input_add_commit(in, sharedcommit, f);
	} else {
		ev_input_keep_pos(in, ev_fold_keep, f);
		/* each commit writes every key it changed: fewer, larger batches (an
		 * input that pauses is committed at once, before the wait) */
		in->maxlines = 1 << 20;
		in->maxbytes = 256 << 20;
		in->maxms = 5000;
	}
	if (c->rebuild) {
		in->idle_ms = 200;
		in->onidle = onidle;
		in->onidle_arg = f;
	}
}

/* Fold the input, the scan of each line running ahead in a second thread.
 * The input's status, or exits when a batch failed. */
static int
fold(struct ev_input *in, struct ev_fold *f, const struct ev_fold_conf *c)
{
	struct folding fo = { f, in };
	struct ev_ahead *ah = ev_ahead_new(ev_fold_scansize(f), ev_fold_scan, f, folddone, &fo);
	struct ev_line l;
	int r;

	ev_input_set_flush(in, ev_ahead_flush, ah);
	while ((r = ev_input_next(in, &l)) > 0)
		if (ev_ahead_add(ah, &l) < 0)
			break;
	if (r != 0) {
		/* the batch may hold half of an event: keep the view where it was */
		in->nocommit = 1;
		failed = 1;
		r = ev_input_end(in);
		ev_ahead_free(ah);
		ev_fold_close(f);
		exit(r ? r : EV_TEMPFAIL);
	}
	r = ev_input_end(in);
	ev_ahead_free(ah);
	if (ev_fold_rebuilding(f) && !in->nocommit && ev_fold_caughtup(f) < 0)
		ev_input_fail(in, ev_errstatus(errno)), r = in->status;
	if (ev_sink_close(c->out) < 0 || ev_sink_close(c->late) < 0)
		ev_input_fail(in, ev_errstatus(errno)), r = in->status;
	return r;
}

static void
report(const struct ev_input *in, const struct ev_fold *f, const struct cmdline *k)
{
	struct ev_fold_stats fs;

	ev_fold_stats(f, &fs);
	ev_stats_print(k->o.stats, (struct ev_stat[]){
		{ "in", in->nlines }, { "folded", fs.folded }, { "bad", in->nbad },
		{ "late", fs.late }, { "closed", fs.closed }, { "changes", fs.changes },
		{ "cached", fs.keys } }, 7);
	if (fs.late && !k->c.late && !k->o.stats)
		ev_warn("%ju late event%s dropped (--late keeps them)", fs.late,
		    fs.late == 1 ? "" : "s");
}

int
main(int argc, char *argv[])
{
	struct cmdline k;
	struct ev_fold *f;
	struct ev_input in;
	int r;

	ev_setprog(argv[0]);
	parseopts(&k, argc, argv);
	if (k.get || k.dump)
		return readview(&k);
	foldconf(&k);
	tool_input(&in, &k.o, k.argv, k.argc);
	ev_input_scans(&in); /* ev_fold_scanned hands each scan to ev_input_object */
	k.c.input = k.c.shared ? NULL : keptinput(&in, k.o.cursor);
	if (k.o.output)
		k.c.out = tool_sink(k.o.output, k.o.sync);
	if (k.late)
		k.c.late = tool_sink(k.late, k.o.sync);
	if (!(f = ev_fold_open(&k.c)))
		exit(ev_errstatus(errno));
	setstart(&in, f, &k);
	setcommits(&in, f, &k.c);
	r = fold(&in, f, &k.c);
	report(&in, f, &k);
	ev_fold_close(f);
	free((char *)k.c.input);
	ev_buf_free(&k.err);
	return r;
}
