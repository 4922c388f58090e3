/* SPDX-License-Identifier: ISC */
/* evretry — run a handler per event, with retries, timeouts and dead letters. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/time.h"
#include "base/err.h"
#include "io/input.h"
#include "json/key.h"
#include "io/loc.h"
#include "base/opts.h"
#include "event/event.h"
#include "base/proc.h"
#include "retry/retry.h"
#include "retry/runner.h"
#include "tool.h"

#define SYNOPSIS "[-pq] [-a attempts] [-b base[,cap]] [-d dest] [-i src] [-j jobs] " \
	"[-k expr] [-o dest] [-r rate] [-t timeout] [--breaker count] [--cursor name] " \
	"[--expired[=dest]] [--group name] [--hold] [--priority] [--max-deliveries n] " \
	"[--grace duration] [--jitter mode] [--max-event-size size] [--no-follow] " \
	"[--otlp dest] [--prometheus file] [--rejects dest] [--retry-on codes] " \
	"[--sign-key file] [--stats[=json]] [--stdout mode] [--sync mode] [--verify-keys dir] [--wait] -- command [arg ...]"

enum { OPT_BREAKER = EV_OPT_TOOL, OPT_GRACE, OPT_JITTER, OPT_RETRY_ON, OPT_STDOUT };

static const struct ev_optdoc docs[] = {
	{ "attempts", "n", "attempts per event at most (default 5)" },
	{ "backoff", "base[,cap]", "backoff between attempts (default 1s,5m)" },
	{ "breaker", "count", "stop after count like failures in a row (50)" },
	{ "dead", "dest", "where dead events go (default: stderr)" },
	{ "jobs", "n", "attempts at once, or co-processes with -p (1)" },
	{ "key", "expr", "keep the events of one key in order (jq expression)" },
	{ "coproc", NULL, "co-process mode: handlers stay up and answer by line" },
	{ "rate", "n/period", "start at most n attempts per period (100/s)" },
	{ "timeout", "duration", "stop an attempt that runs longer" },
	{ "grace", "duration", "SIGTERM to SIGKILL, and the shutdown wait (5s)" },
	{ "jitter", "mode", "backoff jitter: full (default), equal or none" },
	{ "retry-on", "codes", "exit statuses that mean retry (default 75,111)" },
	{ "stdout", "mode", "its stdout: log (default), drop, output or reply" },
	{ "output", "dest", "where finished events go (default stdout)" },
	{ "quiet", NULL, "no diagnostics about single events" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

static int
number(const char *opt, const char *s, int max)
{
	uint64_t n;

	if (ev_opt_count(s, 1, (uint64_t)max, &n) < 0)
		ev_die(EV_ERROR, "%s: '%s' is not a number from 1 to %d", opt, s, max);
	return (int)n;
}

static int64_t
duration(const char *opt, const char *s)
{
	int64_t ms;

	if (ev_dur_parse(s, &ms) < 0)
		ev_die(EV_ERROR, "%s: '%s' is not a duration (500ms, 30s, 5m, ...)", opt, s);
	return ms;
}

struct counts {
	struct ev_input *in;
	struct ev_runner_stats *st;
	int reply;
};

static size_t
counts(void *arg, struct ev_stat *s, size_t max)
{
	struct counts *c = arg;

	(void)max;
	s[0] = (struct ev_stat){ "in", c->in->nlines };
	s[1] = (struct ev_stat){ "done", c->st->done };
	s[2] = (struct ev_stat){ "dead", c->st->dead };
	s[3] = (struct ev_stat){ "retries", c->st->retried };
	s[4] = (struct ev_stat){ "attempts", c->st->attempts };
	s[5] = (struct ev_stat){ "bad", c->in->nbad };
	s[6] = (struct ev_stat){ "unfinished", c->st->abandoned };
	if (!c->reply)
		return 7;
	s[7] = (struct ev_stat){ "unreplied", c->st->noreply };
	return 8;
}

/* --prometheus: handlers in flight and the latency histogram, besides the
 * counts (attempts, retries, dead letters, ...). */
static void
promseries(void *arg, struct ev_prom *p, const char *const *lab)
{
	const struct ev_runner_stats *st = ((struct counts *)arg)->st;

	ev_prom_help(p, "evretry_inflight_handlers", "gauge", "Handler attempts under way.");
	ev_prom_count(p, "evretry_inflight_handlers", lab, (uintmax_t)st->inflight);
	ev_prom_histogram(p, "evretry_handler_seconds",
	    "How long handler attempts took, from start to outcome.", lab, &st->lat);
}

static const struct option longopts[] = {
	{ "attempts", required_argument, NULL, 'a' },
	{ "backoff", required_argument, NULL, 'b' },
	{ "dead", required_argument, NULL, 'd' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "key", required_argument, NULL, 'k' },
	{ "coproc", no_argument, NULL, 'p' },
	{ "rate", required_argument, NULL, 'r' },
	{ "timeout", required_argument, NULL, 't' },
	{ "breaker", required_argument, NULL, OPT_BREAKER },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "jitter", required_argument, NULL, OPT_JITTER },
	{ "retry-on", required_argument, NULL, OPT_RETRY_ON },
	{ "stdout", required_argument, NULL, OPT_STDOUT },
	EV_COMMON_LONGOPTS,
	EV_PROM_LONGOPT,
	EV_OTLP_LONGOPT,
	EV_SIGN_LONGOPT,
	EV_VERIFY_LONGOPT,
	EV_CURSOR_LONGOPTS,
	EV_QUEUE_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct args {
	struct ev_runner_conf c;
	const char *deaddest, *keyexpr;
};

static enum ev_stdout
stdoutmode(const char *s)
{
	static const struct { const char *name; enum ev_stdout m; } modes[] = {
		{ "log", EV_STDOUT_LOG }, { "drop", EV_STDOUT_DROP },
		{ "output", EV_STDOUT_OUTPUT }, { "reply", EV_STDOUT_REPLY },
	};

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(s, modes[i].name) == 0)
			return modes[i].m;
	ev_die(EV_ERROR, "--stdout: '%s' is not log, drop, output or reply", s);
}

/* The runner's options, and how their values are checked. */
static void
runneroption(struct args *a, int ch, const char *arg)
{
	struct ev_runner_conf *c = &a->c;

	if (ch == 'a')
		c->attempts = number("--attempts", arg, INT_MAX);
	else if (ch == 'b' && ev_retry_parsebackoff(arg, &c->base_ms, &c->cap_ms) < 0)
		ev_die(EV_ERROR, "--backoff: '%s' is not BASE or BASE,CAP (durations, BASE <= CAP)",
		    arg);
	else if (ch == 'j')
		c->jobs = number("--jobs", arg, 4096);
	else if (ch == 'r' && ev_retry_parserate(arg, &c->rate) < 0)
		ev_die(EV_ERROR, "--rate: '%s' is not N/PERIOD (100/s, 5/m, 1/2s)", arg);
	else if (ch == 't')
		c->timeout_ms = duration("--timeout", arg);
	else if (ch == OPT_BREAKER)
		c->breaker = strcmp(arg, "0") == 0 ? 0 : number("--breaker", arg, EV_BREAKER_MAX);
	else if (ch == OPT_GRACE)
		c->grace_ms = duration("--grace", arg);
	else if (ch == OPT_JITTER && ev_retry_parsejitter(arg, &c->jitter) < 0)
		ev_die(EV_ERROR, "--jitter: '%s' is not full, equal or none", arg);
	else if (ch == OPT_RETRY_ON && ev_retry_parsecodes(arg, c->retry) < 0)
		ev_die(EV_ERROR, "--retry-on: '%s' is not a list of exit statuses (75,111,3-5)", arg);
	else if (ch == OPT_STDOUT)
		c->stdout_mode = stdoutmode(arg);
}

static void
parseargs(struct args *a, struct ev_opts *o, int argc, char *argv[])
{
	int ch;

	while ((ch = getopt_long(argc, argv, "+a:b:d:j:k:pr:t:" EV_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tool_option(o, ch, optarg))
			continue;
		if (ch == 'd')
			a->deaddest = optarg;
		else if (ch == 'k')
			a->keyexpr = optarg;
		else if (ch == 'p')
			a->c.coproc = 1;
		else if (strchr("abjrt", ch) || ch == OPT_BREAKER || ch == OPT_GRACE ||
		    ch == OPT_JITTER || ch == OPT_RETRY_ON || ch == OPT_STDOUT)
			runneroption(a, ch, optarg);
		else
			usage();
	}
}

/* The command, the key and the checks between options. */
static void
prepare(struct args *a, const struct ev_opts *o, char *argv[])
{
	static const char *const vars[] = EV_RUNNER_VARS;
	struct ev_runner_conf *c = &a->c;
	struct ev_buf err = { 0 };

	if (c->coproc && c->stdout_mode != EV_STDOUT_LOG && c->stdout_mode != EV_STDOUT_REPLY)
		ev_die(EV_ERROR, "--stdout: a co-process's output is its answers (see evretry(1))");
	if (a->keyexpr && !(c->key = ev_key_compile(a->keyexpr, &err)))
		ev_die(EV_ERROR, "--key: %s: %s", a->keyexpr, err.p);
	ev_buf_free(&err);
	if (!(c->cmd = ev_proc_cmd(argv, vars, EV_RUNNER_NVARS)))
		ev_die(errno == EACCES ? 126 : 127, "%s: %s", argv[0],
		    errno == EACCES ? "cannot execute" : "command not found");
	c->replay = o->cursor != NULL || o->group != NULL;
	/* a group's member, or a reader of prioritised inputs, takes no more
	 * than it can start on: the rest stays for the others, or for an
	 * urgent event that comes meanwhile */
	c->share = o->group != NULL || o->priority;
}

/* The worse of status and a failed close of s. */
static int
closesink(struct ev_sink *s, int status)
{
	if (ev_sink_close(s) < 0 && status < ev_errstatus(errno))
		status = ev_errstatus(errno);
	return status;
}

int
main(int argc, char *argv[])
{
	struct args a = { .c = {
		.jobs = 1, .attempts = 5, .base_ms = 1000, .cap_ms = 300000,
		.jitter = EV_JITTER_FULL, .grace_ms = 5000, .stdout_mode = EV_STDOUT_LOG,
		.breaker = EV_BREAKER_DEFAULT,
	} };
	struct ev_runner_stats st = { 0 };
	struct ev_opts o;
	struct ev_input in;
	struct counts cn = { &in, &st, 0 };
	struct ev_sink *out, *dead = NULL;
	int r;

	ev_setprog(argv[0]);
	ev_opts_init(&o, SYNOPSIS);
	ev_opts_doc(&o, "Run a command per event, with retries, timeouts and dead letters.", longopts, docs);
	ev_retry_parsecodes("75,111", a.c.retry);
	parseargs(&a, &o, argc, argv);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	prepare(&a, &o, argv);

	out = tool_output(&o);
	if (a.deaddest)
		dead = tool_sink(a.deaddest, o.sync);
	tool_input(&in, &o, NULL, 0);
	in.conf.key = a.c.key; /* with --group: one member at a time per key */
	ev_input_set_dead(&in, dead);
	in.manual = 1;
	ev_input_add_sink(&in, out);
	if (dead)
		ev_input_add_sink(&in, dead);
	ev_input_set_counts(&in, counts, &cn);
	ev_input_set_prom(&in, promseries, &cn, 1);

	if (a.c.stdout_mode == EV_STDOUT_REPLY)
		a.c.reply = ev_reply_new(o.input, ev_event_defsource());
	cn.reply = a.c.reply != NULL;
	r = ev_runner_run(&a.c, &in, out, dead, &st);
	ev_reply_free(a.c.reply);
	if (st.noreply && !r)
		r = EV_ERROR;

	int status = closesink(out, closesink(dead, ev_input_end(&in)));
	ev_input_stats(&in, o.stats);
	ev_proc_cmdfree(a.c.cmd);
	ev_key_free(a.c.key);
	/* Stopped by SIGTERM or SIGINT, cleanly: 0, as at the end of the input. */
	return status ? status : r;
}
