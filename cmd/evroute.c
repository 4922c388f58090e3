/* SPDX-License-Identifier: ISC */
/* evroute — send each event to the destinations whose rules match it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/time.h"
#include "base/err.h"
#include "io/input.h"
#include "base/opts.h"
#include "route/router.h"
#include "tool.h"

#define SYNOPSIS "[-q] [--first] [-f rulesfile] [-i src] [-o dest] [--cursor name] " \
	"[--dead dest] [--expired[=dest]] [--group name] [--hold] [--priority] [--max-deliveries n] " \
	"[--max-event-size size] [--no-follow] [--otherwise dest] [--otlp dest] [--prometheus file] " \
	"[--rejects dest] [--sign-key file] [--stats[=json]] [--sync mode] [--verify-keys dir] " \
	"[--wait] [rule ...]"

enum { OPT_FIRST = EV_OPT_TOOL, OPT_OTHERWISE };


struct state {
	struct ev_opts o;
	struct ev_router_conf conf;
	char **files, **rules;
	int nfiles, nrules;
	struct ev_router *rt;
	struct ev_input in;
};

static const struct ev_optdoc docs[] = {
	{ "file", "rulesfile", "read rules from rulesfile (one per line)" },
	{ "first", NULL, "send each event to the first matching rule only" },
	{ "otherwise", "dest", "send the events no rule matched to dest" },
	{ "prometheus", "file", "keep per-rule counts in file for Prometheus" },
	{ "output", "dest", "destination of rules written without one (stdout)" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

static size_t
counts(void *arg, struct ev_stat *s, size_t max)
{
	struct state *st = arg;

	(void)max;
	s[0] = (struct ev_stat){ "in", st->in.nlines };
	s[1] = (struct ev_stat){ "unmatched", ev_router_unmatched(st->rt) };
	s[2] = (struct ev_stat){ "bad", st->in.nbad };
	return 3;
}

/* SIGUSR1: the counts of every rule and destination, at once. */
static void
report(void *arg)
{
	struct state *st = arg;

	ev_router_stats(st->rt, &st->in, st->o.stats == EV_STATS_JSON ? EV_STATS_JSON :
	    EV_STATS_TEXT, stderr);
}

/* The rules, files first, then operands; NULL after reporting a problem. */
static struct ev_router *
build(struct state *st)
{
	struct ev_router *rt = ev_router_new(&st->conf);
	struct ev_buf err = { 0 };
	char where[32];

	if (st->rt) /* a reload: what did not change is not compiled again */
		ev_router_reuse(rt, st->rt);
	for (int i = 0; i < st->nfiles; i++)
		if (ev_router_load(rt, st->files[i], &err) < 0)
			goto fail;
	for (int i = 0; i < st->nrules; i++) {
		snprintf(where, sizeof where, "rule %d", i + 1);
		if (ev_router_add(rt, st->rules[i], where, &err) < 0)
			goto fail;
	}
	if (ev_router_nrules(rt) == 0) {
		ev_buf_reset(&err);
		ev_buf_adds(&err, "no rules: give RULE operands or -f RULESFILE");
		goto fail;
	}
	ev_buf_free(&err);
	return rt;
fail:
	ev_warn("%s", err.p);
	ev_buf_free(&err);
	ev_router_free(rt);
	return NULL;
}

/* SIGHUP: read the rules again; on any problem keep routing with the old ones. */
static void
reload(void *arg)
{
	struct state *st = arg;
	struct ev_router *rt;

	ev_warn("SIGHUP: reloading the rules");
	if (!(rt = build(st))) {
		ev_warn("SIGHUP: the rules were not changed");
		return;
	}
	/* What went to the old destinations is made durable first. */
	if (ev_input_commit(&st->in) < 0 || ev_router_open(rt, st->rt) < 0) {
		ev_warn("SIGHUP: the rules were not changed");
		ev_router_free(rt);
		return;
	}
	if (ev_router_close(st->rt) < 0)
		ev_input_fail(&st->in, ev_errstatus(errno));
	ev_router_free(st->rt);
	st->rt = rt;
	ev_router_register(rt, &st->in);
	if (st->in.prom)
		ev_input_prom(&st->in); /* the new rules' series at once */
}

/* --prometheus: the per-rule and per-destination series (io/metrics.c
 * writes the file). */
static void
promseries(void *arg, struct ev_prom *p, const char *const *lab)
{
	struct state *st = arg;

	(void)lab;
	ev_router_prom(st->rt, &st->in, p);
}

static const struct option longopts[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "first", no_argument, NULL, OPT_FIRST },
	{ "otherwise", required_argument, NULL, OPT_OTHERWISE },
	EV_COMMON_LONGOPTS,
	EV_READER_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

static void
parseopts(struct state *st, int argc, char *argv[])
{
	int ch;

	ev_opts_init(&st->o, SYNOPSIS);
	ev_opts_doc(&st->o, "Send each event to every destination whose rule matches it.", longopts, docs);
	st->files = ev_calloc((size_t)argc, sizeof *st->files);
	while ((ch = getopt_long(argc, argv, "f:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&st->o, ch, optarg))
			continue;
		switch (ch) {
		case 'f':
			st->files[st->nfiles++] = optarg;
			break;
		case OPT_FIRST:
			st->conf.first = 1;
			break;
		case OPT_OTHERWISE:
			st->conf.otherwise = optarg;
			break;
		default:
			usage();
		}
	}
	st->rules = argv + optind;
	st->nrules = argc - optind;
	st->conf.output = st->o.output;
	st->conf.sync = st->o.sync;
}

/* Route every event: 0 at the input's end, -1 when a destination failed. */
static int
route(struct state *st)
{
	struct ev_line l;
	int r;

	while ((r = ev_input_next(&st->in, &l)) > 0)
		if (ev_router_route(st->rt, &st->in, &l) < 0)
			return -1;
	return r;
}

/* What is left to say at the end, and the exit status. */
static int
finish(struct state *st, int r)
{
	int status;
	uintmax_t unmatched;

	if (r < 0) {
		/* A destination failed: keep the input position where it was, so
		 * that a restart delivers everything since the last commit again. */
		st->in.manual = 1;
		ev_warn("stopped at %s:%ju: a destination failed; the input position was not "
		    "advanced past the last commit", st->in.name, st->in.nlines);
	}
	ev_input_end(&st->in);
	if (ev_router_close(st->rt) < 0)
		ev_input_fail(&st->in, ev_errstatus(errno));
	if ((unmatched = ev_router_unmatched(st->rt)) > 0 && !st->conf.otherwise)
		ev_warn("%ju event%s matched no rule and %s dropped (--otherwise DEST keeps them)",
		    unmatched, unmatched == 1 ? "" : "s", unmatched == 1 ? "was" : "were");
	ev_router_stats(st->rt, &st->in, st->o.stats, stderr);
	status = st->in.status;
	if (r < 0 && status == 0)
		status = EV_TEMPFAIL;
	return status;
}

int
main(int argc, char *argv[])
{
	static struct state st;
	int status;

	ev_setprog(argv[0]);
	parseopts(&st, argc, argv);
	/* Every rule is read and every destination opened before any input. */
	if (!(st.rt = build(&st)))
		exit(EV_ERROR);
	if (ev_router_open(st.rt, NULL) < 0)
		exit(ev_errstatus(errno));
	tool_input(&st.in, &st.o, NULL, 0);
	ev_input_scans(&st.in); /* ev_router_route hands its scan to ev_input_object */
	ev_router_register(st.rt, &st.in);
	ev_input_set_prom(&st.in, promseries, &st, 0);
	ev_input_set_counts(&st.in, counts, &st);
	ev_input_set_report(&st.in, report, &st);
	ev_input_set_reload(&st.in, reload, &st);
	status = finish(&st, route(&st));
	ev_router_free(st.rt);
	free(st.files);
	return status;
}
