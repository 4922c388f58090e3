/* SPDX-License-Identifier: ISC */
/* session.c — session windows: an event joins, opens or merges the
 * sessions of its key (fold.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "fold/private.h"

/* Session windows. An event joins the open sessions of its key that it
 * falls in or within the gap of; when it joins two or more, they become
 * one. Built-in folds merge their states. A reducer's states do not merge,
 * so a session keeps the events folded into it while it is open (in
 * memory and in its row's aux, see sessaux in fold.c) and a merged session is
 * folded again from them, in the order they came in; an event that joins
 * one session is folded into its state as usual. */

/* One event kept in a session: its place in the input order, its bytes. */
struct sessev {
	uint64_t seq;
	const char *p;
	size_t len;
};

/* The events kept in a session, stored in ent.evs as records of a
 * uint64_t seq, a uint32_t length and the bytes (native byte order). */
static void
keepev(struct ev_buf *evs, uint64_t seq, const char *p, size_t len)
{
	uint32_t n = (uint32_t)len;

	ev_buf_add(evs, &seq, sizeof seq);
	ev_buf_add(evs, &n, sizeof n);
	ev_buf_add(evs, p, len);
}

/* The records of evs appended to *v (n, cap); -1 when evs is not made of
 * records. */
static int
sessevs(const char *p, size_t len, struct sessev **v, size_t *n, size_t *cap)
{
	while (len > 0) {
		struct sessev x;
		uint32_t l;
		if (len < sizeof x.seq + sizeof l)
			return -1;
		memcpy(&x.seq, p, sizeof x.seq);
		memcpy(&l, p + sizeof x.seq, sizeof l);
		p += sizeof x.seq + sizeof l;
		len -= sizeof x.seq + sizeof l;
		if (l > len)
			return -1;
		x.p = p;
		x.len = l;
		p += l;
		len -= l;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*v = ev_reallocarray(*v, *cap, sizeof **v);
		}
		(*v)[(*n)++] = x;
	}
	return 0;
}

static int
byseq(const void *a, const void *b)
{
	const struct sessev *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* A place in the input order that survives restarts: the commit count
 * (kept with the view) and the events folded since. */
static uint64_t
nextseq(struct ev_fold *f)
{
	return ((uint64_t)f->commits << 32) | (uint64_t)f->bseq++;
}

/* The reducer over the events of v in order, from the initial state: the
 * state into f->acc (*has 0: none). 0, or -1 with jq's message in f->err. */
static int
refold(struct ev_fold *f, const struct sessev *v, size_t n, int *has)
{
	struct ent tmp = { 0 };
	struct ev_line l = { 0 };
	int none;

	*has = 0;
	for (size_t i = 0; i < n; i++) {
		tmp.state = *has ? f->acc.p : NULL;
		tmp.slen = *has ? f->acc.len : 0;
		l.p = v[i].p;
		l.len = v[i].len;
		if (fold_reduce(f, &tmp, &l, &none) < 0)
			return -1;
		if (none)
			continue;
		*has = strcmp(f->out.p, "null") != 0;
		if (*has) {
			ev_buf_reset(&f->acc);
			ev_buf_add(&f->acc, f->out.p, f->out.len);
		}
	}
	return 0;
}

/* The open sessions of the key that an event at t falls in or within the
 * gap of, into join (at most 64). */
static size_t
joined(struct ev_fold *f, struct ent *ix, int64_t t, struct ent *join[64])
{
	size_t nj = 0;

	for (size_t i = 0; i < ix->x->nsess && nj < 64; i++) {
		struct ent *e = ix->x->sess[i];
		if (t > e->start - f->c.win.size && t < e->end)
			join[nj++] = e;
	}
	return nj;
}

/* The reducer's state for several sessions that merge: refolded from their
 * events and this one's, in order, into f->acc (*has), their events kept
 * in f->evs. 0; 1 rejected; -1 on a failure that is not the event's. */
static int
refoldmerged(struct ev_fold *f, struct ev_input *in, const struct ev_line *l,
    struct ent *const *join, size_t nj, int *has)
{
	size_t n = 0;

	for (size_t i = 0; i < nj; i++)
		if (sessevs(join[i]->x->evs.p, join[i]->x->evs.len, &f->sv_, &n, &f->svcap) < 0) {
			ev_warn("%s: view %s: key %.*s: a session's events (aux) are not "
			    "evfold's; --rebuild makes them anew", ev_store_path(f->st), f->name,
			    (int)f->key.len, f->key.p);
			errno = EINVAL;
			return -1;
		}
	if (n > 1)
		qsort(f->sv_, n, sizeof *f->sv_, byseq);
	if (n == f->svcap) {
		f->svcap++;
		f->sv_ = ev_reallocarray(f->sv_, f->svcap, sizeof *f->sv_);
	}
	f->sv_[n++] = (struct sessev){ UINT64_MAX, l->p, l->len };
	if (refold(f, f->sv_, n, has) < 0) {
		ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
		return 1;
	}
	/* the events, in order, for the merged session */
	ev_buf_reset(&f->evs);
	for (size_t i = 0; i + 1 < n; i++)
		keepev(&f->evs, f->sv_[i].seq, f->sv_[i].p, f->sv_[i].len);
	return 0;
}

/* The reducer's new state for the session the event makes, computed before
 * anything changes, so that a reducer that fails leaves every session as
 * it was: into f->acc (*has), its events into f->evs. 0; 1 rejected; -1 on
 * a failure that is not the event's. */
static int
reducedstate(struct ev_fold *f, struct ev_input *in, const struct ev_line *l,
    struct ent *const *join, size_t nj, int *has)
{
	int r;

	*has = 0;
	if (nj <= 1) {
		struct ent none = { 0 };
		int nothing;
		if (fold_reduce(f, nj ? join[0] : &none, l, &nothing) < 0) {
			ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
			return 1;
		}
		ev_buf_reset(&f->acc);
		if (nothing) {
			if ((*has = nj && join[0]->state))
				ev_buf_add(&f->acc, join[0]->state, join[0]->slen);
		} else if ((*has = strcmp(f->out.p, "null") != 0)) {
			ev_buf_add(&f->acc, f->out.p, f->out.len);
		}
		ev_buf_reset(&f->evs);
		if (nj)
			ev_buf_add(&f->evs, join[0]->x->evs.p, join[0]->x->evs.len);
	} else if ((r = refoldmerged(f, in, l, join, nj, has)) != 0) {
		return r;
	}
	keepev(&f->evs, nextseq(f), l->p, l->len);
	return 0;
}

/* The joined sessions end, in start order (built-in states merged into acc
 * in that order), and leave the open list; [*start, *end) grows to cover
 * them all. */
static void
endjoined(struct ev_fold *f, struct ent **join, size_t nj, struct ev_aggstate *acc,
    int64_t *start, int64_t *end)
{
	for (size_t i = 0; i < nj; i++)
		if (join[i]->start < *start)
			*start = join[i]->start;
	for (;;) {
		struct ent *lo = NULL;
		for (size_t i = 0; i < nj; i++)
			if (join[i] && (!lo || join[i]->start < lo->start))
				lo = join[i];
		if (!lo)
			break;
		for (size_t i = 0; i < nj; i++)
			if (join[i] == lo)
				join[i] = NULL;
		if (lo->end > *end)
			*end = lo->end;
		if (acc) {
			/* merged in start order */
			ev_agg_merge(f->c.aggs, acc, lo->agg);
			ev_agg_free(lo->agg);
			free(lo->agg);
			lo->agg = NULL;
		} else {
			fold_putstate(lo, NULL, 0);
			ev_buf_reset(&lo->x->evs);
		}
		lo->open = 0;
		fold_unsession(f, lo);
		fold_markdirty(f, lo); /* its row goes; the merged one is written below */
	}
	/* drop the merged ones from the open list */
	size_t keep = 0;
	for (size_t i = 0; i < f->nopen; i++)
		if (f->open[i]->open)
			f->open[keep++] = f->open[i];
	f->nopen = keep;
}

/* The session [start, end) that holds all now: its state is acc (built-in
 * folds; taken) or f->acc (has) with the events f->evs. 0, or -1. */
static int
holdall(struct ev_fold *f, struct ent *ix, int64_t start, int64_t end, struct ev_aggstate *acc,
    int has)
{
	struct ent *e;

	if (!(e = fold_lookup(f, f->key.p, f->key.len, start))) {
		if (acc) {
			ev_agg_free(acc);
			free(acc);
		}
		return -1;
	}
	if (acc) {
		if (e->agg) {
			ev_agg_free(e->agg);
			free(e->agg);
		}
		e->agg = acc;
	} else {
		has ? fold_putstate(e, f->acc.p, f->acc.len) : fold_putstate(e, NULL, 0);
		ev_buf_reset(&e->x->evs);
		ev_buf_add(&e->x->evs, f->evs.p, f->evs.len);
	}
	e->end = end;
	e->closed = 0;
	ix->x->sess = ev_reallocarray(ix->x->sess, ix->x->nsess + 1, sizeof *ix->x->sess);
	ix->x->sess[ix->x->nsess++] = e;
	fold_markdirty(f, e);
	e->open = 0;
	fold_addopen(f, e);
	return 0;
}

int
fold_session(struct ev_fold *f, struct ev_input *in, const struct ev_line *l, int64_t t)
{
	int64_t gap = f->c.win.size;
	struct ent *ix = fold_lookup(f, f->key.p, f->key.len, NOSTART), *e;
	struct ent *join[64];
	size_t nj;

	if (!ix)
		return -1;
	nj = joined(f, ix, t, join);
	if (nj == 0 && f->wm != INT64_MIN && t + gap <= f->wm) {
		fold_late(f, in, l);
		return 0;
	}
	if (nj == 0) {
		if (!(e = fold_lookup(f, f->key.p, f->key.len, t)))
			return -1;
		if (e->closed) {
			fold_late(f, in, l); /* a session that began at t was closed already */
			return 0;
		}
	}

	struct ev_aggstate *acc = NULL;
	int has = 0, r;
	if (!f->c.reducer)
		acc = ev_calloc(1, sizeof *acc);
	else if ((r = reducedstate(f, in, l, join, nj, &has)) != 0)
		return r < 0 ? -1 : 0;

	int64_t start = t, end = t + gap;
	endjoined(f, join, nj, acc, &start, &end);
	if (acc)
		ev_agg_apply(f->c.aggs, acc, &f->v[P_AGG0], &f->tmp);
	return holdall(f, ix, start, end, acc, has);
}

void
fold_unsession(struct ev_fold *f, struct ent *e)
{
	struct ent *ix = fold_lookup(f, e->key, e->klen, NOSTART);

	for (size_t i = 0; ix && i < ix->x->nsess; i++)
		if (ix->x->sess[i] == e) {
			ix->x->sess[i] = ix->x->sess[--ix->x->nsess];
			break;
		}
}
