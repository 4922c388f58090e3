/* evdedupe — drop the events whose key was seen within a window. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "dur.h"
#include "err.h"
#include "input.h"
#include "jq.h"
#include "jsonscan.h"
#include "keyset.h"
#include "keystate.h"
#include "loc.h"
#include "opts.h"
#include "pred.h"

#define SYNOPSIS "[-q] [--arrival] [--require-key] [-i src] [-k expr] [-n count] [-o dest] " \
	"[-w duration] [--cursor name] [--dups dest] [--no-follow] [--rejects dest] " \
	"[--state file] [--stats[=json]] [--sync mode] [file ...]"

#define DEFAULT_MAXKEYS 1000000

enum { OPT_ARRIVAL = EV_OPT_TOOL, OPT_DUPS, OPT_REQUIRE_KEY, OPT_STATE };
enum { V_ID, V_SOURCE, NV = 3 };

struct dedupe {
	struct ev_jq *q;            /* --key, or NULL for source + id */
	struct ev_jval *kval;       /* a --key that is a path: its value, from the scan */
	struct ev_jpath *paths[NV];
	size_t npaths, tpath;      /* tpath: the index of .time, if npaths is past it */
	struct ev_jval v[NV];
	struct ev_buf key, err, tmp;
	int64_t window;
	int arrival;
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

static int
isobject(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++, n--;
	return n > 0 && *p == '{';
}

/* A value of the default key: a type tag, a length, the decoded string or raw JSON. */
static void
addval(struct ev_buf *b, const struct ev_jval *v)
{
	size_t at;
	uint32_t len;

	ev_buf_addc(b, v->type == EV_J_STRING ? 's' : 'r');
	at = b->len;
	ev_buf_add(b, "\0\0\0\0", 4);
	if (v->type == EV_J_STRING)
		ev_jval_str(v, b);
	else
		ev_buf_add(b, v->p, v->len);
	len = (uint32_t)(b->len - at - 4);
	memcpy(b->p + at, &len, 4);
}

static int
present(const struct ev_jval *v)
{
	return v->type != EV_J_MISSING && v->type != EV_J_NULL;
}

/* The key's bytes in d->key: 1, or 0 when the event has none, or -1 on a jq error. */
static int
getkey(struct dedupe *d, const struct ev_line *l)
{
	ev_buf_reset(&d->key);
	if (d->q) {
		const struct ev_jval *v = d->kval;
		/* a path's value: jq's null, or the bytes jq would print */
		if (v && ((v->type == EV_J_MISSING && !v->jqerr) || v->type == EV_J_NULL))
			return 0;
		if (v && ev_pred_dump(v, &d->key))
			return 1;
		int n = ev_jq_run(d->q, l->p, l->len, EV_JQ_KEY, &d->key, &d->err);
		if (n < 0)
			return -1;
		return n > 0 && strcmp(d->key.p, "null") != 0;
	}
	if (!present(&d->v[V_ID]))
		return 0;
	/* CloudEvents: an event is identified by source and id together. */
	if (present(&d->v[V_SOURCE])) {
		ev_buf_addc(&d->key, 'p');
		addval(&d->key, &d->v[V_SOURCE]);
	}
	addval(&d->key, &d->v[V_ID]);
	return 1;
}

/* The time the event is judged by; without a usable one, the clock as it is. */
static int64_t
eventtime(struct dedupe *d, const struct ev_keyset *ks)
{
	const struct ev_jval *v = &d->v[d->tpath];
	int64_t ms;

	if (d->arrival)
		return ev_now_ms();
	if (v->type == EV_J_STRING) {
		if (!v->escaped && ev_time_parse(v->p + 1, v->len - 2, &ms) == 0)
			return ms;
		ev_buf_reset(&d->tmp);
		ev_jval_str(v, &d->tmp);
		if (v->escaped && d->tmp.p && ev_time_parse(d->tmp.p, d->tmp.len, &ms) == 0)
			return ms;
	}
	return ev_keyset_now(ks);
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
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n > EV_KEYSET_MAX)
		ev_die(EV_ERROR, "--max-keys: '%s' is not a count from 0 to %u", s, EV_KEYSET_MAX);
	return n;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "max-keys", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "arrival", no_argument, NULL, OPT_ARRIVAL },
		{ "dups", required_argument, NULL, OPT_DUPS },
		{ "require-key", no_argument, NULL, OPT_REQUIRE_KEY },
		{ "state", required_argument, NULL, OPT_STATE },
		EV_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct dedupe d = { 0 };
	struct ev_opts o;
	struct ev_input in;
	struct ev_line l;
	struct ev_jerr jerr;
	struct ev_sink *sink, *dupsink = NULL;
	struct ev_keyset *ks;
	struct ev_keystate *st = NULL;
	const char *keyexpr = NULL, *dups = NULL, *state = NULL;
	uint64_t maxkeys = 0;
	int ch, r, havemax = 0, requirekey = 0;
	uintmax_t out = 0, ndups = 0, nokey = 0;

	ev_setprog(argv[0]);
	ev_opts_init(&o, SYNOPSIS);
	while ((ch = getopt_long(argc, argv, "k:n:w:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (ev_opts_common(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'k':
			keyexpr = optarg;
			break;
		case 'n':
			maxkeys = count(optarg);
			havemax = 1;
			break;
		case 'w':
			if (ev_dur_parse(optarg, &d.window) < 0 || d.window <= 0)
				ev_die(EV_ERROR, "--window: '%s' is not a duration above 0", optarg);
			break;
		case OPT_ARRIVAL:
			d.arrival = 1;
			break;
		case OPT_DUPS:
			dups = optarg;
			break;
		case OPT_REQUIRE_KEY:
			requirekey = 1;
			break;
		case OPT_STATE:
			state = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (d.arrival && !d.window)
		ev_die(EV_ERROR, "--arrival needs --window");
	if (!havemax && !d.window)
		maxkeys = DEFAULT_MAXKEYS;

	if (keyexpr) {
		if (!(d.q = ev_jq_compile(keyexpr, NULL, &d.err)))
			ev_die(EV_ERROR, "%s: %s", keyexpr, d.err.p);
		/* a plain path (-k .data.order_id) is read by the scan */
		if ((d.paths[d.npaths] = ev_jpath_compile(keyexpr, &d.err)))
			d.kval = &d.v[d.npaths++];
	} else {
		d.paths[d.npaths++] = path(".id");
		d.paths[d.npaths++] = path(".source");
	}
	if (d.window && !d.arrival) {
		d.tpath = d.npaths;
		d.paths[d.npaths++] = path(".time");
	}
	ks = ev_keyset_new(maxkeys, d.window);
	if (state) {
		struct ev_buf def = { 0 };
		ev_buf_adds(&def, keyexpr ? "jq:" : "source+id");
		if (keyexpr)
			ev_buf_adds(&def, keyexpr);
		st = ev_keystate_open(state, def.p, o.sync, ks);
		ev_buf_free(&def);
		if (!st)
			exit(ev_errstatus(errno));
	}
	if (!(sink = ev_sink_open(o.output ? o.output : "-", o.sync)))
		exit(ev_errstatus(errno));
	if (dups && !(dupsink = ev_sink_open(dups, o.sync)))
		exit(ev_errstatus(errno));
	ev_input_init(&in, &o, argv, argc);
	ev_input_add_sink(&in, sink);
	if (dupsink)
		ev_input_add_sink(&in, dupsink);
	if (st)
		ev_input_add_commit(&in, ev_keystate_commit, st);

	while ((r = ev_input_next(&in, &l)) > 0) {
		struct ev_keyent e = { 0 };
		if (ev_json_scan(l.p, l.len, d.paths, d.npaths, d.v, &jerr) < 0) {
			ev_input_reject(&in, &l, "column %zu: %s", jerr.off + 1, jerr.msg);
			continue;
		}
		if (!isobject(l.p, l.len)) {
			ev_input_reject(&in, &l, "not a JSON object");
			continue;
		}
		if (d.window) {
			e.t = eventtime(&d, ks);
			ev_keyset_clock(ks, e.t);
		}
		switch (getkey(&d, &l)) {
		case -1:
			ev_input_reject(&in, &l, "%s: %s", keyexpr, d.err.p);
			continue;
		case 0:
			if (requirekey) {
				ev_input_reject(&in, &l, "no key (%s)", keyexpr ? keyexpr : ".id");
				continue;
			}
			nokey++;
			if (ev_sink_write(sink, l.p, l.len) < 0)
				goto fail;
			out++;
			continue;
		}
		XXH128_hash_t h = XXH3_128bits(d.key.p, d.key.len);
		e.lo = h.low64;
		e.hi = h.high64;
		if (ev_keyset_add(ks, &e)) {
			if (st)
				ev_keystate_note(st, &e);
			if (ev_sink_write(sink, l.p, l.len) < 0)
				goto fail;
			out++;
		} else {
			ndups++;
			if (dupsink && ev_sink_write(dupsink, l.p, l.len) < 0)
				goto fail;
		}
	}
	if (r < 0)
		goto fail;
	r = ev_input_end(&in);
	if (ev_sink_close(sink) < 0 || ev_sink_close(dupsink) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	if (ev_keystate_close(st) < 0)
		ev_input_fail(&in, ev_errstatus(errno)), r = in.status;
	ev_stats_print(o.stats, (struct ev_stat[]){
		{ "in", in.nlines }, { "out", out }, { "dups", ndups }, { "nokey", nokey },
		{ "bad", in.nbad }, { "keys", ev_keyset_count(ks) } }, 6);
	ev_keyset_free(ks);
	for (size_t i = 0; i < d.npaths; i++)
		ev_jpath_free(d.paths[i]);
	ev_jq_free(d.q);
	ev_buf_free(&d.key);
	ev_buf_free(&d.err);
	ev_buf_free(&d.tmp);
	return r;
fail:
	r = ev_input_end(&in);
	exit(r ? r : EV_TEMPFAIL);
}
