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


int
main(int argc, char *argv[])
{
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
	struct ev_opts o;
	struct ev_jqargs *args = ev_jqargs_new();
	struct ev_buf err = { 0 }, out = { 0 };
	const struct ev_predarg *pargs;
	size_t npargs;
	struct ev_pred *pred = NULL;
	struct ev_input in;
	struct ev_jerr jerr;
	struct ev_line l;
	struct ev_sink *sink;
	struct ev_jq *q;
	int ch, count = 0, explain = 0, invert = 0, map = 0, quiet, raw = 0, r;
	struct counts c = { &in, 0 };

	ev_setprog(argv[0]);
	ev_opts_init(&o, SYNOPSIS);
	ev_opts_doc(&o, "Keep the events for which a jq expression is true (grep for events).", longopts, docs);
	while ((ch = getopt_long(argc, argv, "cmrv" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'c':
			count = 1;
			break;
		case 'm':
			map = 1;
			break;
		case 'r':
			raw = 1;
			break;
		case 'v':
			invert = 1;
			break;
		case OPT_ARG:
		case OPT_ARGJSON:
			if (optind >= argc)
				ev_die(EV_ERROR, "--%s needs a name and a value",
				    ch == OPT_ARG ? "arg" : "argjson");
			if (ev_jqargs_add(args, optarg, argv[optind], ch == OPT_ARGJSON, &err) < 0)
				ev_die(EV_ERROR, "%s", err.p);
			optind++;
			break;
		case OPT_EXPLAIN:
			explain = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (map && (invert || count))
		ev_die(EV_ERROR, "--map cannot be combined with -c or -v");
	if (raw && !map)
		ev_die(EV_ERROR, "-r prints the outputs of --map as text: give --map too");
	/* -q is grep's: the exit status is the answer, nothing is printed. */
	quiet = ev_quiet;
	if (quiet && o.output)
		ev_die(EV_ERROR, "-q prints nothing: -o does not apply");

	if (!(q = ev_jq_compile(argv[0], args, &err)))
		ev_die(EV_ERROR, "%s: %s", argv[0], err.p);
	pargs = ev_jqargs_pred(args, &npargs);
	if (map)
		ev_buf_reset(&err), ev_buf_adds(&err, "--map prints jq's outputs");
	else
		pred = ev_pred_compile(argv[0], pargs, npargs, &err);
	if (explain) {
		ev_buf_reset(&out);
		if (pred) {
			ev_buf_adds(&out, "fast path: one scan per event reads ");
			ev_pred_paths(pred, &out);
			ev_buf_adds(&out, "\n");
		} else
			ev_buf_printf(&out, "libjq: %s\n", err.p);
		if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout) == EOF)
			ev_die(EV_ERROR, "stdout: %s", strerror(errno));
		r = EV_OK;
		goto done;
	}
	sink = tool_output(&o);
	tool_input(&in, &o, argv + 1, argc - 1);
	ev_input_add_sink(&in, sink);
	ev_input_set_counts(&in, counts, &c);

	while ((r = ev_input_next(&in, &l)) > 0) {
		int n = EV_PRED_DEFER;
		int bad = pred ? (n = ev_pred_eval(pred, l.p, l.len, &jerr)) == EV_PRED_BAD :
		    ev_json_valid(l.p, l.len, &jerr) < 0;
		if (!ev_input_object(&in, &l, bad ? -1 : 0, &jerr))
			continue;
		if (n == EV_PRED_DEFER) { /* no fast path, or a case it leaves to jq */
			ev_buf_reset(&out);
			n = ev_jq_run(q, l.p, l.len, map ? raw ? EV_JQ_RAW : EV_JQ_MAP : EV_JQ_TEST,
			    &out, &err);
		}
		if (n == EV_JQ_BADINPUT) {
			ev_input_reject(&in, &l, "%s", err.p);
			continue;
		}
		if (n == EV_JQ_RUNERR) {
			ev_linewarn(in.name, l.no, "%s", err.p);
			ev_input_fail(&in, EV_ERROR);
			continue;
		}
		if (map) {
			c.kept += (uintmax_t)n;
			if (quiet && n > 0)
				break;
			if (quiet || n == 0)
				continue;
			/* -r: text, whose strings may hold newlines of their own, in one
			 * piece; else each output is one line (an event to a broker) */
			if (raw && ev_sink_write(sink, out.p, out.len - 1) < 0)
				goto fail;
			for (char *p = out.p, *e; !raw && n-- > 0; p = e + 1) {
				e = strchr(p, '\n');
				if (ev_sink_write(sink, p, (size_t)(e - p)) < 0)
					goto fail;
			}
			continue;
		}
		if ((n > 0) == invert)
			continue;
		c.kept++;
		if (quiet)
			break; /* the first match answers the question */
		if (!count && ev_sink_write(sink, l.p, l.len) < 0)
			goto fail;
	}
	if (r < 0)
		goto fail;
	if (count && !quiet) {
		char num[32];
		int len = snprintf(num, sizeof num, "%ju", c.kept);
		if (ev_sink_write(sink, num, (size_t)len) < 0)
			goto fail;
	}
	r = ev_input_end(&in);
	if (ev_sink_close(sink) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	ev_input_stats(&in, o.stats);
	/* Stopped by SIGTERM or SIGINT, a follower did its job: 0, as at the end. */
	if (quiet && c.kept)
		r = EV_OK; /* grep -q: a match is the answer, whatever came before */
	else
		r = r ? r : c.kept || in.stopsig ? EV_OK : EV_FALSE;
	goto done;
fail:
	r = ev_input_end(&in);
	ev_sink_close(sink); /* already failed and reported: this only releases it */
	r = r ? r : EV_TEMPFAIL;
done:
	ev_pred_free(pred);
	ev_jq_free(q);
	ev_jqargs_free(args);
	ev_buf_free(&err);
	ev_buf_free(&out);
	return r;
}
