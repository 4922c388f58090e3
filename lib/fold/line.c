/* SPDX-License-Identifier: ISC */
/* line.c — folding one event: its key and time, the reducer or the
 * built-in folds, tumbling and hopping windows, the changelog (fold.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "fold/private.h"

/* The event's key into f->key (bytes as stored: a string decoded, another
 * value as jq -c prints it) and f->keyjson: 1, 0 when it has none, -1 on a
 * jq error (message in f->err). */
static int
getkey(struct ev_fold *f, const struct ev_line *l)
{
	ev_buf_reset(&f->keyjson);
	if (!f->keyq) {
		ev_buf_reset(&f->key);
		ev_buf_add(&f->key, "", 0);
		ev_buf_adds(&f->keyjson, "\"\"");
		return 1;
	}
	int n = ev_key_get(f->keyq, &f->v[P_KEY], l->p, l->len, EV_KEY_TEXT, &f->key, &f->err);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	if (f->c.reducer) /* $key, for the reducer only */
		ev_buf_addjstr(&f->keyjson, f->key.p, f->key.len);
	return 1;
}

static int
eventtime(struct ev_fold *f, int64_t *ms)
{
	const struct ev_jval *v = &f->v[P_TIME];

	if (v->type != EV_J_STRING)
		return -1;
	if (!v->escaped)
		return ev_time_parse(v->p + 1, v->len - 2, ms);
	ev_buf_reset(&f->tmp);
	ev_jval_str(v, &f->tmp);
	return ev_time_parse(f->tmp.p, f->tmp.len, ms);
}

int
fold_reduce(struct ev_fold *f, const struct ent *e, const struct ev_line *l, int *none)
{
	int n;

	ev_buf_reset(&f->in);
	ev_buf_addc(&f->in, '[');
	if (e->state)
		ev_buf_add(&f->in, e->state, e->slen);
	else
		ev_buf_adds(&f->in, f->init ? f->init : "null");
	ev_buf_addc(&f->in, ',');
	ev_buf_add(&f->in, l->p, l->len);
	ev_buf_addc(&f->in, ',');
	ev_buf_add(&f->in, f->keyjson.p, f->keyjson.len);
	ev_buf_addc(&f->in, ']');
	ev_buf_reset(&f->out);
	if ((n = ev_jq_run(f->red, f->in.p, f->in.len, EV_JQ_MAP, &f->out, &f->err)) < 0)
		return -1;
	*none = n == 0;
	if (n > 0) {
		/* the last output counts, as in jq's reduce */
		f->out.p[--f->out.len] = '\0';
		char *nl = memrchr(f->out.p, '\n', f->out.len);
		if (nl) {
			size_t skip = (size_t)(nl + 1 - f->out.p);
			memmove(f->out.p, nl + 1, f->out.len - skip + 1);
			f->out.len -= skip;
		}
	}
	return 0;
}

static void
statejson(struct ev_fold *f, const struct ent *e, struct ev_buf *b)
{
	if (f->c.reducer)
		e->state ? ev_buf_add(b, e->state, e->slen) : ev_buf_adds(b, "null");
	else if (e->agg)
		ev_agg_json(f->c.aggs, e->agg, b);
	else
		ev_buf_adds(b, "null");
}

/* A changelog event. */
static int
emit(struct ev_fold *f, const char *type, const char *suffix, const char *id,
    const struct ent *e, int window)
{
	char now[32];

	if (!f->c.out || f->rebuilding)
		return 0;
	ev_time_format(ev_now_ms(), now);
	ev_buf_reset(&f->ev);
	ev_buf_adds(&f->ev, "{\"specversion\":\"1.0\",\"id\":");
	ev_buf_addjstr(&f->ev, id, strlen(id));
	ev_buf_adds(&f->ev, ",\"source\":");
	ev_buf_reset(&f->tmp);
	ev_buf_printf(&f->tmp, "/evfold/%s", f->c.view);
	ev_buf_addjstr(&f->ev, f->tmp.p, f->tmp.len);
	ev_buf_adds(&f->ev, ",\"type\":");
	ev_buf_reset(&f->tmp);
	if (type)
		ev_buf_printf(&f->tmp, "%s%s", type, window ? ".window" : "");
	else
		ev_buf_printf(&f->tmp, "%s.%s", f->c.view, suffix);
	ev_buf_addjstr(&f->ev, f->tmp.p, f->tmp.len);
	ev_buf_printf(&f->ev, ",\"time\":\"%s\",\"subject\":", now);
	ev_buf_addjstr(&f->ev, e->key, e->klen);
	ev_buf_adds(&f->ev, ",\"datacontenttype\":\"application/json\",\"data\":");
	if (window) {
		char s[32], t[32];
		ev_time_format(e->start, s);
		ev_time_format(e->end, t);
		ev_buf_printf(&f->ev, "{\"start\":\"%s\",\"end\":\"%s\",\"state\":", s, t);
		statejson(f, e, &f->ev);
		ev_buf_addc(&f->ev, '}');
	} else {
		statejson(f, e, &f->ev);
	}
	ev_buf_addc(&f->ev, '}');
	f->s.changes++;
	return ev_sink_write(f->c.out, f->ev.p, f->ev.len);
}

static int
emitchange(struct ev_fold *f, const struct ent *e, const struct ev_line *l)
{
	char id[96];

	if (!f->c.out || f->rebuilding)
		return 0;
	snprintf(id, sizeof id, "%s-%llu", f->c.view, (unsigned long long)l->pos);
	return emit(f, f->c.type, "changed", id, e, 0);
}

static int
byend(const void *a, const void *b)
{
	const struct ent *x = *(struct ent *const *)a, *y = *(struct ent *const *)b;

	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Close the windows the watermark has passed, emitting their final states. */
static int
closewindows(struct ev_fold *f)
{
	struct ent **done;
	size_t nd = 0, keep = 0;
	int rc = 0;

	if (f->wm == INT64_MIN || f->wm < f->minend)
		return 0;
	done = ev_reallocarray(NULL, f->nopen, sizeof *done);
	f->minend = INT64_MAX;
	for (size_t i = 0; i < f->nopen; i++) {
		struct ent *e = f->open[i];
		if (e->end <= f->wm) {
			done[nd++] = e;
			continue;
		}
		if (e->end < f->minend)
			f->minend = e->end;
		f->open[keep++] = e;
	}
	f->nopen = keep;
	qsort(done, nd, sizeof *done, byend);
	for (size_t i = 0; i < nd; i++) {
		struct ent *e = done[i];
		char id[64];
		e->open = 0;
		e->closed = 1;
		if (e->x) /* a closed session is merged no more */
			ev_buf_free(&e->x->evs);
		fold_markdirty(f, e);
		if (f->c.win.kind == EV_WIN_SESSION)
			fold_unsession(f, e);
		XXH128_hash_t h = XXH3_128bits_withSeed(e->key, e->klen, (uint64_t)e->start);
		snprintf(id, sizeof id, "%s-%016llx%016llx", f->c.view, (unsigned long long)h.high64,
		    (unsigned long long)h.low64);
		f->s.closed++;
		if (rc == 0 && emit(f, f->c.type, "window", id, e, 1) < 0)
			rc = -1;
	}
	free(done);
	return rc;
}

void
fold_late(struct ev_fold *f, struct ev_input *in, const struct ev_line *l)
{
	f->s.late++;
	if (f->c.late && ev_sink_write(f->c.late, l->p, l->len) < 0)
		ev_input_fail(in, ev_errstatus(errno));
}

/* Tumbling and hopping windows, or none (one "window"): every state the
 * event changes is computed first, then all are set, so a reducer that
 * fails on one leaves them all as they were. */
static int
windows(struct ev_fold *f, struct ev_input *in, const struct ev_line *l, int64_t t)
{
	int64_t starts[EV_WIN_MAXHOPS];
	size_t n = 1, applied = 0;
	struct ent *e;
	int none;

	if (f->c.win.kind)
		n = ev_window_starts(&f->c.win, t, starts);
	else
		starts[0] = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t end = starts[i] + f->c.win.size;
		if (f->c.win.kind && f->wm != INT64_MIN && end <= f->wm)
			continue; /* closed */
		if (!(e = fold_lookup(f, f->key.p, f->key.len, starts[i])))
			return -1;
		if (e->closed)
			continue;
		e->end = end;
		if (!f->c.reducer) {
			ev_agg_apply(f->c.aggs, fold_agg(e), &f->v[P_AGG0], &f->tmp);
		} else {
			if (fold_reduce(f, e, l, &none) < 0) {
				/* undo the windows done before this one: recompute is not
				 * possible, so hopping windows with a reducer are checked
				 * first (see ev_fold_line) */
				ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
				return 1;
			}
			if (!none)
				strcmp(f->out.p, "null") == 0 ? fold_putstate(e, NULL, 0) :
				    fold_putstate(e, f->out.p, f->out.len);
		}
		fold_markdirty(f, e);
		applied++;
		if (f->c.win.kind)
			fold_addopen(f, e);
		else if (emitchange(f, e, l) < 0)
			return -1;
	}
	if (f->c.win.kind && applied == 0)
		fold_late(f, in, l);
	else
		f->s.folded++;
	return 0;
}

/* With a reducer and several windows per event: run the reducer on each
 * first, so that a failure leaves every window as it was. 0 ok, 1 rejected. */
static int
dryrun(struct ev_fold *f, struct ev_input *in, const struct ev_line *l, int64_t t, int *err)
{
	int64_t starts[EV_WIN_MAXHOPS];
	size_t n = ev_window_starts(&f->c.win, t, starts);
	int none;

	*err = 0;
	for (size_t i = 0; i < n; i++) {
		if (f->wm != INT64_MIN && starts[i] + f->c.win.size <= f->wm)
			continue;
		struct ent *e = fold_lookup(f, f->key.p, f->key.len, starts[i]);
		if (!e) {
			*err = 1;
			return 1;
		}
		if (fold_reduce(f, e, l, &none) < 0) {
			ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
			return 1;
		}
	}
	return 0;
}

/* What the scan of a line finds (ev_fold_scan): sv has a value for each
 * path scanned, nscan of them; hashed when h is the hash of the line's key
 * in the cache (a view without windows, a key read by the scan that is a
 * string without escapes), for fold_prefetch. */
struct scanned {
	int r, hashed;
	uint64_t h;
	size_t klen;
	struct ev_jerr jerr;
	struct ev_jval sv[];
};

size_t
ev_fold_scansize(const struct ev_fold *f)
{
	return sizeof(struct scanned) + f->nscan * sizeof(struct ev_jval);
}

void
ev_fold_scan(void *arg, const struct ev_line *l, void *res)
{
	const struct ev_fold *f = arg;
	struct scanned *sc = res;

	sc->r = ev_json_scan(l->p, l->len, f->scan, f->nscan, sc->sv, &sc->jerr);
	sc->hashed = 0;
	if (sc->r == 0 && f->paths[P_KEY] && !f->c.win.kind) {
		/* the key is the first path scanned (see compile) */
		const struct ev_jval *v = &sc->sv[0];
		if (v->type == EV_J_STRING && !v->escaped) {
			sc->klen = v->len - 2;
			sc->h = fold_hash(v->p + 1, sc->klen, 0);
			sc->hashed = 1;
		}
	}
}

/* How many lines ahead a batch asks for the slots of their keys, and then
 * for their entries: a lookup in a cache larger than the CPU's caches would
 * otherwise wait on the memory twice for every event. */
#define AHEAD 8

int
ev_fold_scannedn(struct ev_fold *f, struct ev_input *in, const struct ev_line *l,
    const void *res, size_t n)
{
	size_t sz = ev_fold_scansize(f);
	const char *r = res;

	for (size_t i = 0; i < n; i++) {
		const struct scanned *a;
		if (i + 2 * AHEAD < n && (a = (const void *)(r + (i + 2 * AHEAD) * sz))->hashed)
			fold_prefetch(f, a->h, a->klen, 0);
		if (i + AHEAD < n && (a = (const void *)(r + (i + AHEAD) * sz))->hashed)
			fold_prefetch(f, a->h, a->klen, 1);
		if (ev_fold_scanned(f, in, &l[i], r + i * sz) < 0)
			return -1;
	}
	return 0;
}

int
ev_fold_line(struct ev_fold *f, struct ev_input *in, const struct ev_line *l)
{
	union {
		struct scanned sc;
		char b[sizeof(struct scanned) + NPATHS * sizeof(struct ev_jval)];
	} u;

	ev_fold_scan(f, l, &u.sc);
	return ev_fold_scanned(f, in, l, &u.sc);
}

int
ev_fold_scanned(struct ev_fold *f, struct ev_input *in, const struct ev_line *l,
    const void *res)
{
	const struct scanned *sc = res;
	int64_t t = 0;
	int r, which;
	const char *why;

	if (!ev_input_object(in, l, sc->r, &sc->jerr))
		return 0;
	for (size_t i = 0; i < f->nscan; i++)
		f->v[f->scanto[i]] = sc->sv[i];
	if ((r = getkey(f, l)) <= 0) {
		if (r < 0)
			ev_input_reject(in, l, "-k %s: %s", f->c.keyexpr, f->err.p);
		else
			ev_input_reject(in, l, "no key (-k %s)", f->c.keyexpr);
		return 0;
	}
	if (f->c.win.kind && eventtime(f, &t) < 0) {
		ev_input_reject(in, l, "no event time (%s, RFC 3339)",
		    f->c.timepath ? f->c.timepath : ".time");
		return 0;
	}
	if (f->c.win.kind && !ev_window_storable(&f->c.win, t)) {
		ev_input_reject(in, l, "event time %s: its windows would reach past the years "
		    "0000 to 9999", f->c.timepath ? f->c.timepath : ".time");
		return 0;
	}
	if (!f->c.reducer && ev_agg_check(f->c.aggs, &f->v[P_AGG0], &why, &which) < 0) {
		ev_input_reject(in, l, "--%s %s: %s", ev_agg_names[which], f->c.aggpath[which],
		    why);
		return 0;
	}
	if (f->c.reducer && f->c.win.kind == EV_WIN_HOPPING) {
		int err;
		if (dryrun(f, in, l, t, &err))
			return err ? -1 : 0;
	}
	if (f->c.win.kind == EV_WIN_SESSION) {
		if (fold_session(f, in, l, t) < 0)
			return -1;
		f->s.folded++;
	} else if ((r = windows(f, in, l, t)) != 0) {
		return r < 0 ? -1 : 0;
	}
	if (f->c.win.kind) {
		int64_t w = t - f->c.lateness;
		if (f->wm == INT64_MIN || w > f->wm)
			f->wm = w;
		return closewindows(f);
	}
	return 0;
}
