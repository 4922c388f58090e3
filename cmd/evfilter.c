/* SPDX-License-Identifier: ISC */
/* evfilter — keep the events for which a jq expression is true. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "io/input.h"
#include "json/jq.h"
#include "json/jsonscan.h"
#include "io/loc.h"
#include "base/opts.h"
#include "json/pred.h"
#include "tool.h"

#define SYNOPSIS "[-cmqrv] [--explain] [-i src] [-o dest] [--arg name value] [--argjson name json] " \
	"[--cursor name] [--dead dest] [--expired[=dest]] [--group name] [--hold] [--priority] " \
	"[--max-deliveries n] [--max-event-size size] [--no-follow] [--otlp dest] [--prometheus file] " \
	"[--rejects dest] [--sign-key file] [--stats[=json]] [--sync mode] [--verify-keys dir] " \
	"[--wait] expr [file ...]"

enum { OPT_ARG = EV_OPT_TOOL, OPT_ARGJSON, OPT_EXPLAIN };

static const struct ev_optdoc docs[] = {
	{ "count", NULL, "print only the number of events kept" },
	{ "map", NULL, "print the outputs of the expression, not the events" },
	{ "invert-match", NULL, "keep the events for which expr is false" },
	{ "arg", "name value", "bind $name to the string value" },
	{ "argjson", "name json", "bind $name to the JSON value" },
	{ "explain", NULL, "say whether expr runs on the fast path or libjq" },
	{ "raw-output", NULL, "with --map: a string is printed as its text (jq -r)" },
	{ "quiet", NULL, "print nothing; exit 0 at the first match (grep -q)" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

struct counts {
	struct ev_input *in;
	uintmax_t kept;
};

static size_t
counts(void *arg, struct ev_stat *s, size_t max)
{
	struct counts *c = arg;

	(void)max;
	s[0] = (struct ev_stat){ "in", c->in->nlines };
	s[1] = (struct ev_stat){ "kept", c->kept };
	s[2] = (struct ev_stat){ "bad", c->in->nbad };
	return 3;
}


static const struct option longopts[] = {
	{ "count", no_argument, NULL, 'c' },
	{ "map", no_argument, NULL, 'm' },
	{ "raw-output", no_argument, NULL, 'r' },
	{ "invert-match", no_argument, NULL, 'v' },
	{ "arg", required_argument, NULL, OPT_ARG },
	{ "argjson", required_argument, NULL, OPT_ARGJSON },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	EV_COMMON_LONGOPTS,
	EV_READER_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* The command line, and the expression compiled. */
struct filter {
	struct ev_opts o;
	struct ev_jqargs *args;
	struct ev_buf err, out;
	int count, explain, invert, map, quiet, raw;
	char **argv;
	int argc;
	struct ev_jq *q;
	struct ev_pred *pred; /* the fast path, or NULL: libjq */
};

/* --arg name value, --argjson name json: two words. */
static void
bindarg(struct filter *f, int ch, int argc, char *argv[])
{
	if (optind >= argc)
		ev_die(EV_ERROR, "--%s needs a name and a value", ch == OPT_ARG ? "arg" : "argjson");
	if (ev_jqargs_add(f->args, optarg, argv[optind], ch == OPT_ARGJSON, &f->err) < 0)
		ev_die(EV_ERROR, "%s", f->err.p);
	optind++;
}

static void
parseopts(struct filter *f, int argc, char *argv[])
{
	int ch;

	*f = (struct filter){ .args = ev_jqargs_new() };
	ev_opts_init(&f->o, SYNOPSIS);
	ev_opts_doc(&f->o, "Keep the events for which a jq expression is true (grep for events).", longopts, docs);
	while ((ch = getopt_long(argc, argv, "cmrv" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&f->o, ch, optarg))
			continue;
		switch (ch) {
		case 'c': f->count = 1; break;
		case 'm': f->map = 1; break;
		case 'r': f->raw = 1; break;
		case 'v': f->invert = 1; break;
		case OPT_ARG:
		case OPT_ARGJSON: bindarg(f, ch, argc, argv); break;
		case OPT_EXPLAIN: f->explain = 1; break;
		default: usage();
		}
	}
	f->argc = argc - optind;
	f->argv = argv + optind;
	if (f->argc < 1)
		usage();
	if (f->map && (f->invert || f->count))
		ev_die(EV_ERROR, "--map cannot be combined with -c or -v");
	if (f->raw && !f->map)
		ev_die(EV_ERROR, "-r prints the outputs of --map as text: give --map too");
	/* -q is grep's: the exit status is the answer, nothing is printed. */
	f->quiet = ev_quiet;
	if (f->quiet && f->o.output)
		ev_die(EV_ERROR, "-q prints nothing: -o does not apply");
}

/* The expression for libjq, and for the fast path when it has one (else
 * why not, in f->err). */
static void
compile(struct filter *f)
{
	const struct ev_predarg *pargs;
	size_t npargs;

	if (!(f->q = ev_jq_compile(f->argv[0], f->args, &f->err)))
		ev_die(EV_ERROR, "%s: %s", f->argv[0], f->err.p);
	pargs = ev_jqargs_pred(f->args, &npargs);
	if (f->map)
		ev_buf_reset(&f->err), ev_buf_adds(&f->err, "--map prints jq's outputs");
	else
		f->pred = ev_pred_compile(f->argv[0], pargs, npargs, &f->err);
}

/* --explain: which path the expression runs on. */
static int
explain(struct filter *f)
{
	struct ev_buf *out = &f->out;

	ev_buf_reset(out);
	if (f->pred) {
		ev_buf_adds(out, "fast path: one scan per event reads ");
		ev_pred_paths(f->pred, out);
		ev_buf_adds(out, "\n");
	} else
		ev_buf_printf(out, "libjq: %s\n", f->err.p);
	if (fwrite(out->p, 1, out->len, stdout) != out->len || fflush(stdout) == EOF)
		ev_die(EV_ERROR, "stdout: %s", strerror(errno));
	return EV_OK;
}

/* --map: the n outputs of the expression in f->out written. 0, or -1. */
static int
writemapped(struct filter *f, struct ev_sink *sink, int n)
{
	/* -r: text, whose strings may hold newlines of their own, in one
	 * piece; else each output is one line (an event to a broker) */
	if (f->raw)
		return ev_sink_write(sink, f->out.p, f->out.len - 1);
	for (char *p = f->out.p, *e; n-- > 0; p = e + 1) {
		e = strchr(p, '\n');
		if (ev_sink_write(sink, p, (size_t)(e - p)) < 0)
			return -1;
	}
	return 0;
}

/* One event: 0 to go on, 1 when -q has its answer, -1 when the output
 * failed. */
static int
filterline(struct filter *f, struct ev_input *in, struct ev_sink *sink, const struct ev_line *l,
    struct counts *c)
{
	struct ev_jerr jerr;
	int n = EV_PRED_DEFER;
	int bad = f->pred ? (n = ev_pred_eval(f->pred, l->p, l->len, &jerr)) == EV_PRED_BAD :
	    ev_json_valid(l->p, l->len, &jerr) < 0;

	if (!ev_input_object(in, l, bad ? -1 : 0, &jerr))
		return 0;
	if (n == EV_PRED_DEFER) { /* no fast path, or a case it leaves to jq */
		ev_buf_reset(&f->out);
		n = ev_jq_run(f->q, l->p, l->len, f->map ? f->raw ? EV_JQ_RAW : EV_JQ_MAP : EV_JQ_TEST,
		    &f->out, &f->err);
	}
	if (n == EV_JQ_BADINPUT) {
		ev_input_reject(in, l, "%s", f->err.p);
		return 0;
	}
	if (n == EV_JQ_RUNERR) {
		ev_linewarn(in->name, l->no, "%s", f->err.p);
		ev_input_fail(in, EV_ERROR);
		return 0;
	}
	if (f->map) {
		c->kept += (uintmax_t)n;
		if (f->quiet)
			return n > 0;
		return n == 0 ? 0 : writemapped(f, sink, n);
	}
	if ((n > 0) == f->invert)
		return 0;
	c->kept++;
	if (f->quiet)
		return 1; /* the first match answers the question */
	return !f->count && ev_sink_write(sink, l->p, l->len) < 0 ? -1 : 0;
}

/* Filter the input: the exit status. */
static int
run(struct filter *f)
{
	struct ev_input in;
	struct ev_line l;
	struct ev_sink *sink;
	struct counts c = { &in, 0 };
	int r;

	sink = tool_output(&f->o);
	tool_input(&in, &f->o, f->argv + 1, f->argc - 1);
	ev_input_scans(&in); /* filterline hands its scan to ev_input_object */
	ev_input_add_sink(&in, sink);
	ev_input_set_counts(&in, counts, &c);
	while ((r = ev_input_next(&in, &l)) > 0 && (r = filterline(f, &in, sink, &l, &c)) == 0)
		;
	if (r < 0)
		goto fail;
	if (f->count && !f->quiet) {
		char num[32];
		int len = snprintf(num, sizeof num, "%ju", c.kept);
		if (ev_sink_write(sink, num, (size_t)len) < 0)
			goto fail;
	}
	r = ev_input_end(&in);
	if (ev_sink_close(sink) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	ev_input_stats(&in, f->o.stats);
	/* Stopped by SIGTERM or SIGINT, a follower did its job: 0, as at the end. */
	if (f->quiet && c.kept)
		return EV_OK; /* grep -q: a match is the answer, whatever came before */
	return r ? r : c.kept || in.stopsig ? EV_OK : EV_FALSE;
fail:
	r = ev_input_end(&in);
	ev_sink_close(sink); /* already failed and reported: this only releases it */
	return r ? r : EV_TEMPFAIL;
}

int
main(int argc, char *argv[])
{
	struct filter f;
	int r;

	ev_setprog(argv[0]);
	parseopts(&f, argc, argv);
	compile(&f);
	r = f.explain ? explain(&f) : run(&f);
	ev_pred_free(f.pred);
	ev_jq_free(f.q);
	ev_jqargs_free(f.args);
	ev_buf_free(&f.err);
	ev_buf_free(&f.out);
	return r;
}
