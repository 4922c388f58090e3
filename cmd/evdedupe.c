/* SPDX-License-Identifier: ISC */
/* evdedupe — drop the events whose key was seen within a window. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/ahead.h"
#include "base/time.h"
#include "base/err.h"
#include "event/event.h"
#include "io/input.h"
#include "json/key.h"
#include "json/jsonscan.h"
#include "dedupe/keyset.h"
#include "dedupe/keystate.h"
#include "io/loc.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/opts.h"
#include "tool.h"

#define SYNOPSIS "[-q] [--arrival] [--require-key] [-i src] [-k expr] [-n count] [-o dest] " \
	"[-w duration] [--cursor name] [--dead dest] [--dups dest] [--expired[=dest]] [--group name] " \
	"[--hold] [--priority] [--max-deliveries n] [--max-event-size size] [--no-follow] [--otlp dest] " \
	"[--prometheus file] [--rejects dest] [--state file] [--sign-key file] [--stats[=json]] " \
	"[--sync mode] [--verify-keys dir] [--wait] [file ...]"

#define DEFAULT_MAXKEYS 1000000

enum { OPT_ARRIVAL = EV_OPT_TOOL, OPT_DUPS, OPT_REQUIRE_KEY, OPT_STATE };
enum { V_ID, V_SOURCE, NV = 3 };

/* A line's key, found by work() in the helper thread (base/ahead.h). */
enum { R_KEY, R_NOKEY, R_BAD, R_JQERR, R_NEEDKEY };

struct result {
	int kind;             /* R_* */
	int timed;            /* e.t is the event's time; else the clock as it is then */
	int scanned;          /* R_BAD: the scanner's verdict, and its error */
	struct ev_jerr jerr;
	char *msg;            /* R_JQERR: jq's message */
	struct ev_keyent e;
};

/* What work() uses: the helper's alone. */
struct keyer {
	struct ev_key *q;           /* --key, or NULL for source + id */
	struct ev_jval *kval;       /* a --key that is a path: its value, from the scan */
	struct ev_jpath *paths[NV];
	size_t npaths, tpath;      /* tpath: the index of .time, if npaths is past it */
	struct ev_jval v[NV];
	struct ev_buf key, err, tmp;
	int window, arrival, requirekey;
};

/* What done() uses: the caller's alone. */
struct dedupe {
	struct ev_input *in;
	const char *keyexpr;
	struct ev_keyset *ks;
	struct ev_keystate *st;
	struct ev_sink *sink, *dupsink;
	int window;
	uintmax_t out, ndups, nokey;
};

static size_t
counts(void *arg, struct ev_stat *s, size_t max)
{
	struct dedupe *d = arg;

	(void)max;
	s[0] = (struct ev_stat){ "in", d->in->nlines };
	s[1] = (struct ev_stat){ "out", d->out };
	s[2] = (struct ev_stat){ "dups", d->ndups };
	s[3] = (struct ev_stat){ "nokey", d->nokey };
	s[4] = (struct ev_stat){ "bad", d->in->nbad };
	s[5] = (struct ev_stat){ "keys", ev_keyset_count(d->ks) };
	return 6;
}

/* How many lookups ahead done() asks for the table slot of a key: the
 * cache misses of a few lookups then overlap (on a table of millions of
 * keys most lookups miss) instead of coming one after another. */
#define PREFETCH 8

static const struct ev_optdoc docs[] = {
	{ "key", "expr", "the key, a jq expression (default: source and id)" },
	{ "max-keys", "count", "remember at most count keys (0: no limit)" },
	{ "window", "duration", "forget a key this long after it was first seen" },
	{ "arrival", NULL, "judge the window by arrival time, not event time" },
	{ "dups", "dest", "write the duplicates to dest" },
	{ "require-key", NULL, "an event without a key is bad input" },
	{ "state", "file", "keep the remembered keys in file across runs" },
	{ "output", "dest", "write the first occurrences to dest (default stdout)" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

/* The key's bytes in k->key: 1, or 0 when the event has none, or -1 on a jq error. */
static int
getkey(struct keyer *k, const struct ev_line *l)
{
	ev_buf_reset(&k->key);
	if (k->q) {
		int n = ev_key_get(k->q, k->kval, l->p, l->len, EV_KEY_JSON, &k->key, &k->err);
		return n < 0 ? -1 : n;
	}
	return ev_key_sourceid(&k->v[V_SOURCE], &k->v[V_ID], &k->key);
}

/* The time the event is judged by into *ms: 1, or 0 when it has no usable
 * one (it is then judged by the clock as it is). */
static int
eventtime(struct keyer *k, int64_t *ms)
{
	const struct ev_jval *v = &k->v[k->tpath];

	if (k->arrival) {
		*ms = ev_now_ms();
		return 1;
	}
	return ev_event_time(v, &k->tmp, ms) == 0;
}

/* The helper's part: validate the line, find its key and time, hash the key. */
static void
work(void *arg, const struct ev_line *l, void *resp)
{
	struct keyer *k = arg;
	struct result *r = resp;

	r->scanned = ev_json_scan(l->p, l->len, k->paths, k->npaths, k->v, &r->jerr);
	if (r->scanned < 0 || !ev_line_object(l)) {
		r->kind = R_BAD;
		return;
	}
	if (k->window)
		r->timed = eventtime(k, &r->e.t);
	switch (getkey(k, l)) {
	case -1:
		r->kind = R_JQERR;
		r->msg = ev_strdup(k->err.p ? k->err.p : "error");
		return;
	case 0:
		r->kind = k->requirekey ? R_NEEDKEY : R_NOKEY;
		return;
	}
	XXH128_hash_t h = XXH3_128bits(k->key.p, k->key.len);
	r->e.lo = h.low64;
	r->e.hi = h.high64;
	r->kind = R_KEY;
}

/* The caller's part, line after line: look the key up, write the line
 * where it goes, report the bad ones. */
static int
done(void *arg, const struct ev_line *l, void *resp, size_t n)
{
	struct dedupe *d = arg;
	struct result *r = resp;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (i + PREFETCH < n && r[i + PREFETCH].kind == R_KEY)
			ev_keyset_prefetch(d->ks, r[i + PREFETCH].e.lo);
		if (d->in->scans && r[i].kind != R_BAD)
			ev_input_scanned(d->in, &l[i], &r[i].jerr);
		switch (r[i].kind) {
		case R_BAD:
			ev_input_object(d->in, &l[i], r[i].scanned, &r[i].jerr);
			continue;
		case R_JQERR:
			ev_input_reject(d->in, &l[i], "%s: %s", d->keyexpr, r[i].msg);
			free(r[i].msg);
			continue;
		case R_NEEDKEY:
			ev_input_reject(d->in, &l[i], "no key (%s)", d->keyexpr ? d->keyexpr : ".id");
			continue;
		}
		if (d->window) {
			if (!r[i].timed)
				r[i].e.t = ev_keyset_now(d->ks);
			ev_keyset_clock(d->ks, r[i].e.t);
		}
		if (r[i].kind == R_NOKEY) {
			d->nokey++;
		} else if (ev_keyset_add(d->ks, &r[i].e)) {
			if (d->st)
				ev_keystate_note(d->st, &r[i].e);
		} else {
			d->ndups++;
			if (d->dupsink && ev_sink_write(d->dupsink, l[i].p, l[i].len) < 0)
				rc = -1;
			continue;
		}
		d->out++;
		if (rc == 0 && ev_sink_write(d->sink, l[i].p, l[i].len) < 0)
			rc = -1;
	}
	return rc;
}

static struct ev_jpath *
path(const char *p)
{
	struct ev_buf err = { 0 };
	struct ev_jpath *jp = ev_jpath_compile(p, &err);

	if (!jp)
		ev_die(EV_ERROR, "%s: %s", p, err.p);
	ev_buf_free(&err);
	return jp;
}

static uint64_t
count(const char *s)
{
	uint64_t n;

	if (ev_opt_count(s, 0, EV_KEYSET_MAX, &n) < 0)
		ev_die(EV_ERROR, "--max-keys: '%s' is not a count from 0 to %u", s, EV_KEYSET_MAX);
	return n;
}

static const struct option longopts[] = {
	{ "key", required_argument, NULL, 'k' },
	{ "max-keys", required_argument, NULL, 'n' },
	{ "window", required_argument, NULL, 'w' },
	{ "arrival", no_argument, NULL, OPT_ARRIVAL },
	{ "dups", required_argument, NULL, OPT_DUPS },
	{ "require-key", no_argument, NULL, OPT_REQUIRE_KEY },
	{ "state", required_argument, NULL, OPT_STATE },
	EV_COMMON_LONGOPTS,
	EV_READER_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* What the command line asks for. */
struct cmdline {
	struct ev_opts o;
	const char *keyexpr, *dups, *state;
	uint64_t maxkeys;
	int64_t window;
	int havemax, arrival, requirekey;
	char **argv;
	int argc;
};

static int64_t
window(const char *s)
{
	int64_t ms;

	if (ev_dur_parse(s, &ms) < 0 || ms <= 0)
		ev_die(EV_ERROR, "--window: '%s' is not a duration above 0", s);
	return ms;
}

static void
parseopts(struct cmdline *c, int argc, char *argv[])
{
	int ch;

	*c = (struct cmdline){ 0 };
	ev_opts_init(&c->o, SYNOPSIS);
	ev_opts_doc(&c->o, "Drop the events whose key was seen within a window.", longopts, docs);
	while ((ch = getopt_long(argc, argv, "k:n:w:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&c->o, ch, optarg))
			continue;
		switch (ch) {
		case 'k': c->keyexpr = optarg; break;
		case 'n': c->maxkeys = count(optarg), c->havemax = 1; break;
		case 'w': c->window = window(optarg); break;
		case OPT_ARRIVAL: c->arrival = 1; break;
		case OPT_DUPS: c->dups = optarg; break;
		case OPT_REQUIRE_KEY: c->requirekey = 1; break;
		case OPT_STATE: c->state = optarg; break;
		default: usage();
		}
	}
	c->argc = argc - optind;
	c->argv = argv + optind;
	if (c->arrival && !c->window)
		ev_die(EV_ERROR, "--arrival needs --window");
	if (!c->havemax && !c->window)
		c->maxkeys = DEFAULT_MAXKEYS;
}

/* What the helper thread reads of each event: the key (a path the scan
 * reads, else jq; by default source and id), and its time for --window. */
static void
keyer_init(struct keyer *k, const struct cmdline *c)
{
	*k = (struct keyer){ .arrival = c->arrival, .requirekey = c->requirekey,
		.window = c->window > 0 };
	if (c->keyexpr) {
		if (!(k->q = ev_key_compile(c->keyexpr, &k->err)))
			ev_die(EV_ERROR, "%s: %s", c->keyexpr, k->err.p);
		/* a plain path (-k .data.order_id) is read by the scan */
		if ((k->paths[k->npaths] = ev_key_path(k->q)))
			k->kval = &k->v[k->npaths++];
	} else {
		k->paths[k->npaths++] = path(".id");
		k->paths[k->npaths++] = path(".source");
	}
	if (c->window && !c->arrival) {
		k->tpath = k->npaths;
		k->paths[k->npaths++] = path(".time");
	}
}

static void
keyer_free(struct keyer *k)
{
	for (size_t i = 0; i < k->npaths; i++)
		if (&k->v[i] != k->kval) /* the key's path is the key's */
			ev_jpath_free(k->paths[i]);
	ev_key_free(k->q);
	ev_buf_free(&k->key);
	ev_buf_free(&k->err);
	ev_buf_free(&k->tmp);
}

/* --state: the keys remembered by a run with the same key definition. */
static struct ev_keystate *
openstate(const struct cmdline *c, struct ev_keyset *ks)
{
	struct ev_buf def = { 0 };
	struct ev_keystate *st;

	ev_buf_adds(&def, c->keyexpr ? "jq:" : "source+id");
	if (c->keyexpr)
		ev_buf_adds(&def, c->keyexpr);
	st = ev_keystate_open(c->state, def.p, c->o.sync, ks);
	ev_buf_free(&def);
	if (!st)
		exit(ev_errstatus(errno));
	return st;
}

/* The outputs and the state, committed with the input. */
static void
wire(struct ev_input *in, struct dedupe *d, struct ev_ahead *ah)
{
	ev_input_set_flush(in, ev_ahead_flush, ah);
	ev_input_set_counts(in, counts, d);
	ev_input_add_sink(in, d->sink);
	if (d->dupsink)
		ev_input_add_sink(in, d->dupsink);
	if (d->st)
		ev_input_add_commit(in, ev_keystate_commit, d->st);
}

int
main(int argc, char *argv[])
{
	struct cmdline c;
	struct dedupe d = { 0 };
	struct keyer k;
	struct ev_ahead *ah;
	struct ev_input in;
	struct ev_line l;
	int r;

	ev_setprog(argv[0]);
	parseopts(&c, argc, argv);
	keyer_init(&k, &c);
	d.window = c.window > 0;
	d.keyexpr = c.keyexpr;
	d.ks = ev_keyset_new(c.maxkeys, c.window);
	if (c.state)
		d.st = openstate(&c, d.ks);
	d.sink = tool_output(&c.o);
	if (c.dups)
		d.dupsink = tool_sink(c.dups, c.o.sync);
	tool_input(&in, &c.o, c.argv, c.argc);
	ev_input_scans(&in); /* done() hands each scan over */
	d.in = &in;
	ah = ev_ahead_new(sizeof(struct result), work, &k, done, &d);
	wire(&in, &d, ah);
	while ((r = ev_input_next(&in, &l)) > 0 && (r = ev_ahead_add(ah, &l)) == 0)
		;
	if (r != 0) {
		r = ev_input_end(&in);
		exit(r ? r : EV_TEMPFAIL);
	}
	r = ev_input_end(&in);
	if (ev_sink_close(d.sink) < 0 || ev_sink_close(d.dupsink) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	if (ev_keystate_close(d.st) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	ev_input_stats(&in, c.o.stats);
	ev_ahead_free(ah);
	ev_keyset_free(d.ks);
	keyer_free(&k);
	return r;
}
