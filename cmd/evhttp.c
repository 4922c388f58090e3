/* SPDX-License-Identifier: ISC */
/* evhttp — the web edge: events in over HTTP, acknowledged once durable; a
 * spool out over Server-Sent Events, WebSocket and NDJSON; a live page. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "base/time.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/opts.h"
#include "http/server.h"
#include "http/whsig.h"
#include "trace/trace.h"
#include "tool.h"

#define SYNOPSIS "[-q] [-i src] [-l addr] [-o dest] [-s source] [-t type] [--allow-jq] " \
	"[--bearer secret] [--github-secret secret] [--idle-timeout dur] [--keepalive dur] " \
	"[--max-body size] [--max-conns n] [--max-header size] [--max-queue size] " \
	"[--otlp dest] [--path path[:type]=dest] [--prometheus file] [--rejects dest] " \
	"[--request-timeout dur] " \
	"[--stats[=json]] [--sub-buffer size] [--sync mode] [--tls-cert file] " \
	"[--tls-key file] [--tolerance dur] [--type-header name] [--webhook-secret secret]"

enum {
	OPT_ALLOW_JQ = EV_OPT_TOOL, OPT_BEARER, OPT_GITHUB_SECRET, OPT_IDLE_TIMEOUT,
	OPT_KEEPALIVE, OPT_MAX_BODY, OPT_MAX_CONNS, OPT_MAX_HEADER, OPT_MAX_QUEUE, OPT_PATH,
	OPT_REQUEST_TIMEOUT, OPT_SUB_BUFFER, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TOLERANCE,
	OPT_TYPE_HEADER, OPT_WEBHOOK_SECRET
};

static const struct ev_optdoc docs[] = {
	{ "input", "src", "serve this spool or followed file at GET /events" },
	{ "listen", "addr", "listen on host:port (default 127.0.0.1:8080)" },
	{ "output", "dest", "where POST /events writes" },
	{ "source", "source", "the source of events that have none" },
	{ "type", "type", "the type of plain JSON posted to /events" },
	{ "quiet", NULL, "no diagnostic per request" },
	{ "allow-jq", NULL, "let subscribers filter with jq expressions" },
	{ "bearer", "secret", "require this bearer token (a file or env:NAME)" },
	{ "github-secret", "secret", "verify X-Hub-Signature-256 (a file or env:NAME)" },
	{ "idle-timeout", "dur", "close idle or non-reading connections (60s)" },
	{ "keepalive", "dur", "SSE comments and WebSocket pings this often (15s)" },
	{ "max-body", "size", "answer 413 to larger bodies (1M)" },
	{ "max-conns", "n", "connections at once (1024)" },
	{ "max-header", "size", "about this many bytes of headers (16K)" },
	{ "max-queue", "size", "bytes waiting for a commit before 429 (64M)" },
	{ "otlp", "dest", "a span per request, as OTLP/JSON to a file or URL" },
	{ "path", "path[:type]=dest", "POSTs to path go to dest (repeatable)" },
	{ "prometheus", "file", "keep counts and latency in file for Prometheus" },
	{ "rejects", "dest", "keep the bodies of 400 requests, verbatim, in dest" },
	{ "request-timeout", "dur", "a request body must arrive within this (30s)" },
	{ "sub-buffer", "size", "bytes a subscriber may leave unread (64K)" },
	{ "tls-cert", "file", "serve HTTPS with this PEM certificate" },
	{ "tls-key", "file", "and this PEM key" },
	{ "tolerance", "dur", "how far a webhook-timestamp may be from now (5m)" },
	{ "type-header", "name", "take the type of plain JSON from this header" },
	{ "webhook-secret", "secret", "verify Standard Webhooks signatures (file, env:NAME)" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

static unsigned
seconds(const char *s, const char *what)
{
	int64_t ms;

	if (ev_dur_parse(s, &ms) < 0 || ms < 1000 || ms > 86400000LL * 365)
		ev_die(EV_ERROR, "--%s: '%s' is not a duration of a second or more (like 30s, 5m)",
		    what, s);
	return (unsigned)(ms / 1000);
}

static int
isdir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "/p=DEST" or "/p:TYPE=DEST" */
static void
addroute(struct ev_httpd_route **rt, size_t *n, char *spec)
{
	char *eq = strchr(spec, '='), *colon;
	struct ev_httpd_route r = { 0 };

	if (spec[0] != '/' || !eq || !eq[1])
		ev_die(EV_ERROR, "--path %s: PATH=DEST or PATH:TYPE=DEST, PATH starting with /",
		    spec);
	*eq = '\0';
	r.dest = eq + 1;
	if ((colon = strchr(spec, ':'))) {
		*colon = '\0';
		if (!colon[1])
			ev_die(EV_ERROR, "--path %s: an empty type", spec);
		r.type = colon + 1;
	}
	r.path = spec;
	if (strcmp(spec, "/") == 0 || strcmp(spec, "/stat") == 0)
		ev_die(EV_ERROR, "--path %s: that path serves the page or the status", spec);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*rt)[i].path, spec) == 0)
			ev_die(EV_ERROR, "--path %s: given twice", spec);
	*rt = ev_reallocarray(*rt, *n + 1, sizeof **rt);
	(*rt)[(*n)++] = r;
}

static unsigned char *
loadkey(const char *spec, const char *what, size_t *len)
{
	unsigned char *k = ev_malloc(EV_WHSIG_KEYMAX);
	int n = ev_whsig_loadkey(spec, k, EV_WHSIG_KEYMAX);

	if (n < 0)
		ev_die(EV_ERROR, "--%s: cannot read the secret (a file, or env:NAME)", what);
	*len = (size_t)n;
	return k;
}

/* Many subscribers want many descriptors: take what the hard limit allows. */
static void
morefiles(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static const struct option longopts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "source", required_argument, NULL, 's' },
	{ "type", required_argument, NULL, 't' },
	{ "allow-jq", no_argument, NULL, OPT_ALLOW_JQ },
	{ "bearer", required_argument, NULL, OPT_BEARER },
	{ "github-secret", required_argument, NULL, OPT_GITHUB_SECRET },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "max-header", required_argument, NULL, OPT_MAX_HEADER },
	{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "sub-buffer", required_argument, NULL, OPT_SUB_BUFFER },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "tolerance", required_argument, NULL, OPT_TOLERANCE },
	{ "type-header", required_argument, NULL, OPT_TYPE_HEADER },
	{ "webhook-secret", required_argument, NULL, OPT_WEBHOOK_SECRET },
	EV_PROM_LONGOPT,
	EV_OTLP_LONGOPT,
	/* the shared options that mean something here (no --cursor, --no-follow:
	 * subscribers choose their own position) */
	{ "input", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "rejects", required_argument, NULL, EV_OPT_REJECTS },
	{ "sync", required_argument, NULL, EV_OPT_SYNC },
	{ "stats", optional_argument, NULL, EV_OPT_STATS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* What the command line says. */
struct args {
	struct ev_opts o;
	struct ev_httpd_conf c;
	struct ev_httpd_route *routes;
	size_t nroutes;
	const char *type;
	char defsrc[300];
};

/* The options that bound time and memory: 1 when ch was one. */
static int
limitopt(struct ev_httpd_conf *c, int ch, const char *arg)
{
	uint64_t v;

	switch (ch) {
	case OPT_IDLE_TIMEOUT:
		c->idle_timeout_s = seconds(arg, "idle-timeout");
		break;
	case OPT_KEEPALIVE:
		c->keepalive_s = seconds(arg, "keepalive");
		break;
	case OPT_REQUEST_TIMEOUT:
		c->request_timeout_s = seconds(arg, "request-timeout");
		break;
	case OPT_TOLERANCE:
		c->tolerance_s = seconds(arg, "tolerance");
		break;
	case OPT_MAX_BODY:
		if ((v = tool_size(arg, "max-body")) == 0 || v > (1ULL << 32))
			ev_die(EV_ERROR, "--max-body: between 1 and 4G");
		c->max_body = (size_t)v;
		break;
	case OPT_MAX_CONNS:
		if ((v = tool_size(arg, "max-conns")) == 0 || v > 1000000)
			ev_die(EV_ERROR, "--max-conns: between 1 and 1000000");
		c->max_conns = (unsigned)v;
		break;
	case OPT_MAX_HEADER:
		if ((v = tool_size(arg, "max-header")) < 1024 || v > (16 << 20))
			ev_die(EV_ERROR, "--max-header: between 1K and 16M");
		c->max_header = (size_t)v;
		break;
	case OPT_MAX_QUEUE:
		if ((v = tool_size(arg, "max-queue")) == 0 || v > (1ULL << 40))
			ev_die(EV_ERROR, "--max-queue: between 1 and 1T");
		c->max_queue = (size_t)v;
		break;
	case OPT_SUB_BUFFER:
		if ((v = tool_size(arg, "sub-buffer")) < 4096 || v > (1ULL << 30))
			ev_die(EV_ERROR, "--sub-buffer: between 4K and 1G");
		c->sub_buffer = (size_t)v;
		break;
	default:
		return 0;
	}
	return 1;
}

static const char *
nonempty(const char *arg, const char *what)
{
	if (!*arg)
		ev_die(EV_ERROR, "--%s: an empty value", what);
	return arg;
}

static void
option(struct args *a, int ch, char *arg)
{
	struct ev_httpd_conf *c = &a->c;

	if (tool_option(&a->o, ch, arg) || limitopt(c, ch, arg))
		return;
	switch (ch) {
	case 'l':
		c->listen = arg;
		break;
	case 's':
		c->source = nonempty(arg, "source");
		break;
	case 't':
		a->type = nonempty(arg, "type");
		break;
	case OPT_ALLOW_JQ:
		c->allow_jq = 1;
		break;
	case OPT_BEARER:
		c->bearer = loadkey(arg, "bearer", &c->bearerlen);
		break;
	case OPT_GITHUB_SECRET:
		c->ghkey = loadkey(arg, "github-secret", &c->ghkeylen);
		break;
	case OPT_WEBHOOK_SECRET:
		c->whkey = loadkey(arg, "webhook-secret", &c->whkeylen);
		break;
	case OPT_PATH:
		addroute(&a->routes, &a->nroutes, arg);
		break;
	case OPT_TLS_CERT:
		c->tls_cert = arg;
		break;
	case OPT_TLS_KEY:
		c->tls_key = arg;
		break;
	case OPT_TYPE_HEADER:
		c->type_header = nonempty(arg, "type-header");
		break;
	default:
		usage();
	}
}

/* -o is the route /events; -t types the routes that name no type; the
 * spool served. */
static void
setroutes(struct args *a)
{
	struct ev_httpd_conf *c = &a->c;

	if (a->o.output) {
		struct ev_httpd_route r = { .path = "/events", .dest = a->o.output, .type = a->type };

		for (size_t i = 0; i < a->nroutes; i++)
			if (strcmp(a->routes[i].path, "/events") == 0)
				ev_die(EV_ERROR, "--path /events: -o already names its destination");
		a->routes = ev_reallocarray(a->routes, a->nroutes + 1, sizeof *a->routes);
		a->routes[a->nroutes++] = r;
	} else if (a->type) {
		for (size_t i = 0; i < a->nroutes; i++)
			if (!a->routes[i].type)
				a->routes[i].type = a->type;
	}
	c->serve = a->o.input ? a->o.input : a->o.output && isdir(a->o.output) ? a->o.output : NULL;
	if (a->o.input && ev_httpd_servable(a->o.input) < 0)
		exit(EV_ERROR);
	if (!a->nroutes && !c->serve)
		ev_die(EV_ERROR, "nothing to do: -o or --path to take events in, -i to serve a spool");
	c->routes = a->routes;
	c->nroutes = a->nroutes;
	c->rejects = a->o.rejects;
	c->sync = a->o.sync;
}

/* The source of events that name none: -s, $EVKIT_SOURCE, //HOST/evhttp. */
static void
defsource(struct args *a)
{
	const char *env = getenv("EVKIT_SOURCE");
	char host[256];

	if (a->c.source)
		return;
	if (env && *env) {
		a->c.source = env;
	} else if (gethostname(host, sizeof host) == 0 && *host) {
		host[sizeof host - 1] = '\0';
		snprintf(a->defsrc, sizeof a->defsrc, "//%s/evhttp", host);
		a->c.source = a->defsrc;
	} else {
		a->c.source = "/evhttp";
	}
}

static void
parseargs(struct args *a, int argc, char *argv[])
{
	int ch, nfds;

	ev_opts_init(&a->o, SYNOPSIS);
	ev_opts_doc(&a->o, "Events in over HTTP, answered once durable; a spool out to "
	    "subscribers.", longopts, docs);
	ev_httpd_conf_default(&a->c);
	a->c.listen = "127.0.0.1:8080";
	while ((ch = getopt_long(argc, argv, "l:s:t:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		option(a, ch, optarg);
	if (argc > optind)
		usage();
	if (!a->c.tls_cert != !a->c.tls_key)
		ev_die(EV_ERROR, "--tls-cert and --tls-key go together");
	setroutes(a);
	defsource(a);
	if ((nfds = sd_listen_fds(1)) > 1)
		ev_die(EV_ERROR, "systemd passed %d sockets: give evhttp one", nfds);
	if (nfds == 1)
		a->c.listen_fd = SD_LISTEN_FDS_START;
}

/* The periodic work: the metrics file, the spans held. 0, or -1 when the
 * metrics file cannot be written (reported). */
static int
report(struct ev_httpd *h, const char *prom, int64_t start_ms)
{
	struct ev_httpd_stats *st;
	int rc = 0;

	if (prom) {
		st = ev_malloc(sizeof *st);
		ev_httpd_getstats(h, st);
		rc = ev_httpd_prom(st, prom, start_ms);
		free(st);
	}
	ev_otlp_flush(ev_otlp_default);
	return rc;
}

/* Serve until SIGINT, SIGTERM or SIGHUP; SIGUSR1 prints the counts;
 * every EV_PROM_MS the metrics and spans are written. */
static void
serve(struct ev_httpd *h, const sigset_t *sigs, const char *prom, int64_t start_ms)
{
	const struct timespec tick = { EV_PROM_MS / 1000, (EV_PROM_MS % 1000) * 1000000L };
	struct ev_httpd_stats st;
	int sig;

	for (;;) {
		sig = sigtimedwait(sigs, NULL, &tick);
		if (sig < 0) {
			report(h, prom, start_ms);
			continue;
		}
		if (sig == SIGUSR1) {
			ev_httpd_getstats(h, &st);
			ev_warn("requests %ju, events %ju, rejected %ju, refused %ju, "
			    "subscribers %ju, dropped %ju", st.requests, st.events, st.rejected,
			    st.refused, st.subscribers, st.dropped);
			continue;
		}
		break;
	}
}

static void
printstats(enum ev_statsfmt fmt, const struct ev_httpd_stats *st)
{
	const struct ev_stat s[] = {
		{ .name = "requests", .n = st->requests }, { .name = "events", .n = st->events },
		{ .name = "rejected", .n = st->rejected }, { .name = "refused", .n = st->refused },
		{ .name = "subscribers", .n = st->subscribers },
		{ .name = "dropped", .n = st->dropped },
	};

	ev_stats_print(fmt, s, sizeof s / sizeof s[0]);
}

int
main(int argc, char *argv[])
{
	static struct args a;
	static struct ev_httpd_stats st;
	struct ev_httpd *h;
	sigset_t sigs;
	int status;
	int64_t start_ms = ev_now_ms();

	ev_setprog(argv[0]);
	parseargs(&a, argc, argv);
	morefiles();
	/* Signals are taken by this thread alone, with sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!(h = ev_httpd_start(&a.c)))
		exit(EV_TEMPFAIL);
	if (report(h, a.o.prometheus, start_ms) < 0) {
		status = ev_errstatus(errno);
		ev_httpd_stop(h, NULL);
		exit(status);
	}
	if (!ev_quiet && a.c.listen_fd < 0)
		ev_warn("listening on %s (port %u)", a.c.listen, ev_httpd_port(h));
	sd_notify(0, "READY=1");
	serve(h, &sigs, a.o.prometheus, start_ms);
	sd_notify(0, "STOPPING=1");
	status = ev_httpd_stop(h, &st);
	if (a.o.prometheus && ev_httpd_prom(&st, a.o.prometheus, start_ms) < 0 && !status)
		status = ev_errstatus(errno);
	if (a.o.stats)
		printstats(a.o.stats, &st);
	free(a.routes);
	free((void *)a.c.bearer);
	free((void *)a.c.whkey);
	free((void *)a.c.ghkey);
	return status;
}
