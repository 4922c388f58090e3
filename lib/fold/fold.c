/* SPDX-License-Identifier: ISC */
/* fold.c — the fold: the state cache, opening a view, the commit (fold.h);
 * one event is folded in line.c, session windows in session.c.
 *
 * The cache maps (key, window start) to a state. A state changed since the
 * last commit is dirty; ev_fold_keep writes the dirty ones (an absent state
 * deletes its row) and the input position in one transaction. Between
 * commits the cache is the truth, so a key is read from the database once
 * at most, and not at all while the cache holds every row of the view (a
 * new view, a rebuild: then a key not in the cache has no row). After a
 * commit, states are dropped when there are more than maxkeys (windowed
 * views keep their open windows, and drop closed ones).
 *
 * The commit writes the dirty states in key order, so that SQLite's
 * B-tree is walked once from left to right rather than at random, many rows
 * a statement; a state that has no row yet is inserted, not upserted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "fold/private.h"

/* The cache. */

/* Memory in huge pages where the system has them: the cache and its entries
 * are read at random, one event after another, and with pages of 4 KiB
 * nearly every lookup would miss the TLB as well as the caches. */
#define HUGE (2u << 20)

static void *
bigzero(size_t n)
{
	void *p;

	if (n < HUGE)
		return ev_calloc(1, n);
	n = (n + HUGE - 1) / HUGE * HUGE;
	if ((errno = posix_memalign(&p, HUGE, n)) != 0)
		ev_die(EV_TEMPFAIL, "out of memory");
	madvise(p, n, MADV_HUGEPAGE); /* a hint: where it fails, small pages */
	memset(p, 0, n);
	return p;
}

/* The entries of built-in folds without windows (aggin), taken from large
 * chunks one after another: they are all dropped together (trim) or at the
 * end, never one by one. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t mem[];
};

static void *
arenazero(struct ev_fold *f, size_t n)
{
	struct chunk *c = f->arena;
	void *p;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!c || c->size - c->used < n) {
		size_t size = n + sizeof *c < HUGE ? HUGE : n + sizeof *c;
		c = bigzero(size);
		c->size = size - sizeof *c;
		c->next = f->arena;
		f->arena = c;
	}
	p = (char *)c->mem + c->used;
	c->used += n;
	return p;
}

static void
arenafree(struct ev_fold *f)
{
	while (f->arena) {
		struct chunk *c = f->arena;
		f->arena = c->next;
		free(c);
	}
}

static struct slot *
slot(struct ev_fold *f, const char *k, size_t n, int64_t start, uint64_t h)
{
	size_t i = h & (f->cap - 1);

	for (;; i = (i + 1) & (f->cap - 1)) {
		struct slot *s = &f->tab_[i];
		if (!s->e || (s->h == h && s->e->start == start && s->e->klen == n &&
		    memcmp(s->e->key, k, n) == 0))
			return s;
	}
}

static void
insert(struct ev_fold *f, uint64_t h, struct ent *e)
{
	size_t i = h & (f->cap - 1);

	while (f->tab_[i].e)
		i = (i + 1) & (f->cap - 1);
	f->tab_[i] = (struct slot){ h, e };
	f->n++;
}

static void
grow(struct ev_fold *f, size_t cap)
{
	struct slot *old = f->tab_;
	size_t oldcap = f->cap;

	f->tab_ = bigzero(cap * sizeof *f->tab_);
	f->cap = cap;
	f->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].e)
			insert(f, old[i].h, old[i].e);
	free(old);
}

/* Where in an entry's block the room for a built-in state or its entx is
 * (see struct ent). */
static size_t
aggroom(size_t klen)
{
	size_t a = _Alignof(struct ev_aggstate) > _Alignof(struct entx) ?
	    _Alignof(struct ev_aggstate) : _Alignof(struct entx);

	return (sizeof(struct ent) + klen + 1 + a - 1) / a * a;
}

struct ev_aggstate *
fold_agg(struct ent *e)
{
	if (!e->agg)
		e->agg = e->aggin ? (struct ev_aggstate *)((char *)e + aggroom(e->klen)) :
		    ev_calloc(1, sizeof *e->agg);
	return e->agg;
}

static void
entfree(struct ent *e)
{
	if (e->agg)
		ev_agg_free(e->agg);
	if (!e->aggin)
		free(e->agg);
	free(e->state);
	if (e->x) {
		free(e->x->sess);
		ev_buf_free(&e->x->evs);
	}
	if (!e->aggin) /* else in the arena */
		free(e);
}

void
fold_prefetch(struct ev_fold *f, uint64_t h, size_t klen, int stage)
{
	const struct slot *s = &f->tab_[h & (f->cap - 1)];

	if (stage == 0) {
		__builtin_prefetch(s);
		return;
	}
	for (size_t i = h & (f->cap - 1); s->e; i = (i + 1) & (f->cap - 1), s = &f->tab_[i])
		if (s->h == h) {
			/* the entry and its key, and the room for its state up to its
			 * sum; not reading the entry, which is not here yet */
			const char *p = (const char *)s->e;
			size_t end = !f->c.reducer && !f->c.win.kind ? aggroom(klen) +
			    offsetof(struct ev_aggstate, sum) + sizeof(double) : sizeof(struct ent) + klen;
			for (size_t o = 0; o < end; o += 64)
				__builtin_prefetch(p + o);
			__builtin_prefetch(p + end - 1);
			return;
		}
}

void
fold_putstate(struct ent *e, const char *p, size_t n)
{
	free(e->state);
	e->state = p ? ev_strndup(p, n) : NULL;
	e->slen = p ? n : 0;
}

/* A built-in fold's state from its row: aux when it was kept, else the JSON. */
static int
loadagg(struct ev_fold *f, struct ev_aggstate *a, const struct ev_row *r)
{
	if (r->aux)
		return ev_agg_load(a, r->aux, r->auxlen);
	return ev_agg_fromjson(f->c.aggs, a, r->state, r->slen);
}

struct ent *
fold_lookup(struct ev_fold *f, const char *k, size_t n, int64_t start)
{
	uint64_t h = fold_hash(k, n, start);
	struct slot *sp = slot(f, k, n, start, h);
	struct ent *e;
	/* a built-in state without windows lives in the entry's block */
	int aggin = !f->c.reducer && !f->c.win.kind;

	if (sp->e)
		return sp->e;
	e = aggin ? arenazero(f, aggroom(n) + sizeof(struct ev_aggstate)) :
	    ev_calloc(1, aggroom(n) + sizeof(struct entx));
	if (!aggin)
		e->x = (struct entx *)((char *)e + aggroom(n));
	memcpy(e->key, k, n);
	e->key[n] = '\0';
	e->klen = n;
	e->start = start;
	e->aggin = aggin;
	if (!f->c.win.kind && f->complete) {
		e->fresh = 1;
	} else if (!f->c.win.kind) {
		struct ev_row r;
		/* the batch's transaction begins at its first read: one lock
		 * for the batch, not one per read */
		int got = ev_store_begin(f->st) < 0 ? -1 : ev_vtab_get(f->tab, k, n, 0, &r);
		if (got < 0) {
			entfree(e);
			return NULL;
		}
		if (got && f->c.reducer) {
			fold_putstate(e, r.state, r.slen);
		} else if (got) {
			if (loadagg(f, fold_agg(e), &r) < 0) {
				ev_warn("%s: view %s: key %.*s: the state's internals (aux) are not "
				    "evfold's; --rebuild makes them anew", ev_store_path(f->st), f->name,
				    (int)n, k);
				entfree(e);
				errno = EINVAL;
				return NULL;
			}
		}
	}
	*sp = (struct slot){ h, e };
	f->n++;
	if (f->n * 2 > f->cap)
		grow(f, f->cap * 2);
	return e;
}

void
fold_markdirty(struct ev_fold *f, struct ent *e)
{
	int fr = e->fresh;
	uint64_t pre = 0;

	if (e->dirty)
		return;
	e->dirty = 1;
	if (f->ndirty[fr] == f->dcap[fr]) {
		f->dcap[fr] = f->dcap[fr] ? f->dcap[fr] * 2 : 1024;
		f->dirty[fr] = ev_reallocarray(f->dirty[fr], f->dcap[fr], sizeof *f->dirty[fr]);
	}
	for (size_t i = 0; i < 8; i++)
		pre = pre << 8 | (i < e->klen ? (unsigned char)e->key[i] : 0);
	f->dirty[fr][f->ndirty[fr]++] = (struct dref){ pre, e };
}

void
fold_addopen(struct ev_fold *f, struct ent *e)
{
	if (e->open)
		return;
	e->open = 1;
	if (f->nopen == f->ocap) {
		f->ocap = f->ocap ? f->ocap * 2 : 256;
		f->open = ev_reallocarray(f->open, f->ocap, sizeof *f->open);
	}
	f->open[f->nopen++] = e;
	if (e->end < f->minend)
		f->minend = e->end;
}

static int
present(const struct ent *e)
{
	/* a reducer's open session stays while it has events, even with a null state */
	return e->state || e->agg || (e->x && e->x->evs.len);
}

/* Whether the entries own nothing but their room in the arena: built-in
 * folds without windows that keep no JSON values or registers. Then they
 * are dropped all at once, without reading each (a miss in the caches). */
static int
bare(const struct ev_fold *f)
{
	return !f->c.reducer && !f->c.win.kind && !(f->c.aggs & ((1u << EV_AGG_FIRST) |
	    (1u << EV_AGG_LAST) | (1u << EV_AGG_DISTINCT)));
}

/* After a commit: drop what need not stay (see the top of the file). */
static void
trim(struct ev_fold *f)
{
	size_t keep = 0;

	if (!f->c.win.kind && f->n <= f->c.maxkeys && !f->c.shared)
		return;
	if (bare(f)) {
		if (f->n)
			f->complete = 0;
		arenafree(f);
		free(f->tab_);
		f->cap = 1024;
		f->tab_ = bigzero(f->cap * sizeof *f->tab_);
		f->n = 0;
		return;
	}
	for (size_t i = 0; i < f->cap; i++) {
		struct ent *e = f->tab_[i].e;
		if (!e)
			continue;
		int stay = f->c.win.kind && (e->open || (e->start == NOSTART && e->x && e->x->nsess));
		if (stay) {
			keep++;
			continue;
		}
		entfree(e);
		f->tab_[i].e = NULL;
		f->complete = 0;
	}
	if (!keep)
		arenafree(f); /* every entry in it is gone */
	size_t cap = 1024;
	while (cap < keep * 2 + 2)
		cap *= 2;
	f->n = 0;
	grow(f, cap);
}

/* The definition: what the view's states are a function of. */

static void
member(struct ev_buf *b, const char *name, const char *val)
{
	ev_buf_printf(b, "%s\"%s\":", b->len > 1 ? "," : "", name);
	if (val)
		ev_buf_addjstr(b, val, strlen(val));
	else
		ev_buf_adds(b, "null");
}

static void
definition(const struct ev_fold_conf *c, const char *init, struct ev_buf *def)
{
	struct ev_buf w = { 0 };

	ev_buf_addc(def, '{');
	member(def, "key", c->keyexpr);
	member(def, "reducer", c->reducer);
	if (c->reducer)
		ev_buf_printf(def, ",\"init\":%s", init ? init : "null");
	else {
		ev_buf_adds(def, ",\"folds\":{");
		for (int i = 0, n = 0; i < EV_NAGG; i++)
			if (c->aggs & (1u << i)) {
				ev_buf_printf(def, "%s\"%s\":", n++ ? "," : "", ev_agg_names[i]);
				ev_buf_addjstr(def, c->aggpath[i] ? c->aggpath[i] : ".",
				    strlen(c->aggpath[i] ? c->aggpath[i] : "."));
			}
		ev_buf_addc(def, '}');
	}
	if (c->win.kind) {
		ev_window_spec(&c->win, &w);
		member(def, "window", w.p);
		ev_buf_printf(def, ",\"lateness\":%lld", (long long)c->lateness);
		member(def, "time", c->timepath ? c->timepath : ".time");
	}
	ev_buf_addc(def, '}');
	ev_buf_free(&w);
}

/* A reducer's open session keeps its events in its row's aux: SESSMAGIC,
 * then the records of ent.evs. 1 when aux is that (or none), else 0. */
#define SESSMAGIC "evfold-sess1"

static int
sessaux(const void *aux, size_t len, struct ev_buf *evs)
{
	ev_buf_reset(evs);
	if (!aux)
		return 1;
	if (len < sizeof SESSMAGIC || memcmp(aux, SESSMAGIC, sizeof SESSMAGIC) != 0)
		return 0;
	ev_buf_add(evs, (const char *)aux + sizeof SESSMAGIC, len - sizeof SESSMAGIC);
	return 1;
}

static int
loadopen(void *arg, const struct ev_row *r)
{
	struct ev_fold *f = arg;
	struct ent *e = fold_lookup(f, r->key, r->klen, r->start);

	e->end = r->end;
	if (f->c.reducer) {
		if (r->slen != 4 || memcmp(r->state, "null", 4) != 0)
			fold_putstate(e, r->state, r->slen);
		if (f->c.win.kind == EV_WIN_SESSION && !sessaux(r->aux, r->auxlen, &e->x->evs)) {
			ev_warn("%s: view %s: a session's events (aux) are not evfold's; "
			    "--rebuild makes them anew", ev_store_path(f->st), f->name);
			return -1;
		}
	} else {
		if (loadagg(f, fold_agg(e), r) < 0) {
			ev_warn("%s: view %s: a window's internals (aux) are not evfold's",
			    ev_store_path(f->st), f->name);
			return -1;
		}
	}
	fold_addopen(f, e);
	if (f->c.win.kind == EV_WIN_SESSION) {
		struct ent *ix = fold_lookup(f, r->key, r->klen, NOSTART);
		ix->x->sess = ev_reallocarray(ix->x->sess, ix->x->nsess + 1, sizeof *ix->x->sess);
		ix->x->sess[ix->x->nsess++] = e;
	}
	return 0;
}

static struct ev_jpath *
path(const char *p, const char *what)
{
	struct ev_buf err = { 0 };
	struct ev_jpath *jp = ev_jpath_compile(p, &err);

	if (!jp)
		ev_warn("%s: '%s' is not a path (.a.b, .a[0]): %s", what, p, err.p);
	ev_buf_free(&err);
	return jp;
}

static int
openview(struct ev_fold *f, const char *def, const char *hash)
{
	struct ev_viewmeta m;
	int got;

	f->name = f->c.rebuild ? ev_strdup("") : ev_strdup(f->c.view);
	if (f->c.rebuild) {
		free(f->name);
		struct ev_buf b = { 0 };
		ev_buf_printf(&b, "%s~rebuild", f->c.view);
		f->name = b.p;
		f->rebuilding = 1;
	}
	if ((got = ev_store_view_get(f->st, f->name, &m)) < 0)
		return -1;
	if (got && strcmp(m.hash, hash) != 0) {
		if (!f->c.rebuild) {
			ev_warn("%s: view %s was made by another fold: %s; this one is %s; "
			    "--rebuild folds the history anew", ev_store_path(f->st), f->name, m.def, def);
			ev_viewmeta_free(&m);
			errno = EINVAL;
			return -1;
		}
		got = 0; /* a rebuild of another definition starts over */
	}
	if (got && m.input && f->c.input && strcmp(m.input, f->c.input) != 0) {
		ev_warn("%s: view %s folds %s, not %s", ev_store_path(f->st), f->name, m.input,
		    f->c.input);
		ev_viewmeta_free(&m);
		errno = EINVAL;
		return -1;
	}
	if (!got) {
		ev_viewmeta_free(&m);
		m.def = ev_strdup(def);
		m.hash = ev_strdup(hash);
		m.input = f->c.input ? ev_strdup(f->c.input) : NULL;
		m.watermark = INT64_MIN;
		m.windowed = f->c.win.kind != EV_WIN_NONE;
		if (ev_store_view_make(f->st, f->name, &m) < 0) {
			ev_viewmeta_free(&m);
			return -1;
		}
	}
	f->haspos = m.haspos;
	f->pos = m.pos;
	f->commits = m.commits;
	f->wm = m.watermark;
	ev_viewmeta_free(&m);
	if (!(f->tab = ev_vtab_open(f->st, f->name, f->c.win.kind != EV_WIN_NONE)))
		return -1;
	if (f->c.win.kind && ev_vtab_each(f->tab, NULL, 0, 1, loadopen, f) != 0) {
		errno = EINVAL;
		return -1;
	}
	/* a shared view (--group) changes under other members: never assume
	 * that a key has no row */
	if ((f->complete = f->c.shared ? 0 : ev_vtab_empty(f->tab)) < 0)
		return -1;
	return 0;
}

/* What the fold reads of each event: the initial state, the key, the
 * paths the scan reads, the reducer. 0, or -1 (reported). */
static int
compile(struct ev_fold *f, const struct ev_fold_conf *c)
{
	struct ev_buf prog = { 0 };
	int r;

	if (c->init) {
		if (ev_jq_compact(c->init, strlen(c->init), &f->tmp) < 0) {
			ev_warn("--init: '%s' is not JSON", c->init);
			return -1;
		}
		f->init = ev_strdup(f->tmp.p);
	}
	if (c->keyexpr) {
		if (!(f->keyq = ev_key_compile(c->keyexpr, &f->err))) {
			ev_warn("-k %s: %s", c->keyexpr, f->err.p);
			return -1;
		}
		/* a plain path is read by the scan, anything else by jq */
		f->paths[P_KEY] = ev_key_path(f->keyq);
	}
	if (c->win.kind && !(f->paths[P_TIME] = path(c->timepath ? c->timepath : ".time",
	    "--time")))
		return -1;
	for (int i = 0; i < EV_NAGG; i++)
		if (c->aggs & (1u << i)) {
			if (!(f->paths[P_AGG0 + i] = path(c->aggpath[i] ? c->aggpath[i] : ".",
			    ev_agg_names[i])))
				return -1;
		}
	for (int i = 0; i < NPATHS; i++)
		if (f->paths[i]) {
			f->scan[f->nscan] = f->paths[i];
			f->scanto[f->nscan++] = i;
		}
	if (!c->reducer)
		return 0;
	ev_buf_printf(&prog, ". as [$__evfold_state, $e, $key] | $__evfold_state | (%s)",
	    c->reducer);
	if ((r = (f->red = ev_jq_compile(prog.p, NULL, &f->err)) ? 0 : -1) < 0)
		ev_warn("%s: %s", c->reducer, f->err.p);
	ev_buf_free(&prog);
	return r;
}

struct ev_fold *
ev_fold_open(const struct ev_fold_conf *c)
{
	struct ev_fold *f = ev_calloc(1, sizeof *f);
	struct ev_buf def = { 0 };
	char hash[40];

	f->c = *c;
	f->minend = INT64_MAX;
	f->wm = INT64_MIN;
	f->cap = 1024;
	f->tab_ = ev_calloc(f->cap, sizeof *f->tab_);
	if (compile(f, c) < 0)
		goto bad;
	definition(c, f->init, &def);
	XXH128_hash_t h = XXH3_128bits(def.p, def.len);
	snprintf(hash, sizeof hash, "%016llx%016llx", (unsigned long long)h.high64,
	    (unsigned long long)h.low64);
	if (!(f->st = ev_store_open(c->db, 0, c->sync)) || openview(f, def.p, hash) < 0)
		goto bad;
	ev_buf_free(&def);
	return f;
bad:
	if (!errno)
		errno = EINVAL;
	ev_buf_free(&def);
	ev_fold_close(f);
	return NULL;
}

int
ev_fold_pos(const struct ev_fold *f, uint64_t *pos)
{
	*pos = f->pos;
	return f->haspos;
}

int
ev_fold_rebuilding(const struct ev_fold *f)
{
	return f->rebuilding;
}

/* The commit. */

/* Key order as SQLite's BINARY collation has it (memcmp, then length),
 * then window start. */
static int
bykey(const void *a, const void *b)
{
	const struct dref *p = a, *q = b;
	const struct ent *x = p->e, *y = q->e;

	if (p->pre != q->pre)
		return p->pre < q->pre ? -1 : 1;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

/* Rows waiting to be written together (ev_vtab_putmany): their texts are
 * in f->pbuf, at offsets, until they are written. */
static int
flushrows(struct ev_fold *f)
{
	int rc;

	for (size_t i = 0; i < f->npend; i++) {
		f->pend[i].state = f->pbuf.p + f->soff[i];
		if (f->pend[i].auxlen || f->hasaux[i])
			f->pend[i].aux = f->pbuf.p + f->aoff[i];
	}
	rc = ev_vtab_putmany(f->tab, f->pend, f->npend, f->pfresh);
	f->npend = 0;
	ev_buf_reset(&f->pbuf);
	return rc;
}

/* The row of a present state, to be written. */
static int
addrow(struct ev_fold *f, struct ent *e)
{
	struct ev_row *r;
	size_t i;

	if (f->npend && (f->npend == EV_VTAB_PUTN || f->pfresh != e->fresh) && flushrows(f) < 0)
		return -1;
	f->pfresh = e->fresh;
	i = f->npend++;
	r = &f->pend[i];
	memset(r, 0, sizeof *r);
	r->key = e->key;
	r->klen = e->klen;
	r->start = e->start;
	r->end = e->end;
	r->closed = e->closed;
	f->soff[i] = f->pbuf.len;
	f->hasaux[i] = 0;
	if (f->c.reducer) {
		e->state ? ev_buf_add(&f->pbuf, e->state, e->slen) : ev_buf_adds(&f->pbuf, "null");
		r->slen = f->pbuf.len - f->soff[i];
		if (e->x && e->x->evs.len) {
			f->aoff[i] = f->pbuf.len;
			ev_buf_add(&f->pbuf, SESSMAGIC, sizeof SESSMAGIC);
			ev_buf_add(&f->pbuf, e->x->evs.p, e->x->evs.len);
			r->auxlen = f->pbuf.len - f->aoff[i];
			f->hasaux[i] = 1;
		}
	} else {
		ev_agg_json(f->c.aggs, e->agg, &f->pbuf);
		r->slen = f->pbuf.len - f->soff[i];
		if (ev_agg_needaux(f->c.aggs, e->agg)) {
			ev_agg_save(e->agg, &f->aux);
			f->aoff[i] = f->pbuf.len;
			ev_buf_add(&f->pbuf, f->aux.p, f->aux.len);
			r->auxlen = f->aux.len;
			f->hasaux[i] = 1;
		}
	}
	return 0;
}

/* The bytes of e that the commit reads (its key not much longer than
 * usual), asked for ahead of it. */
static void
prefetchent(const struct ev_fold *f, const struct ent *e)
{
	size_t end = !f->c.reducer && !f->c.win.kind ? aggroom(32) + sizeof(struct ev_aggstate) :
	    sizeof *e + 32;

	for (size_t o = 0; e && o < end; o += 64)
		__builtin_prefetch((const char *)e + o);
}

/* The states of dirty[fresh][0, n), marked written before the commit
 * failed: dirty again, and as fresh as they were. */
static void
redirty(struct ev_fold *f, int fresh, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f->dirty[fresh][i].e->dirty = 1;
		f->dirty[fresh][i].e->fresh = fresh;
	}
}

int
ev_fold_keep(void *arg, uint64_t pos)
{
	struct ev_fold *f = arg;
	int rc = 0;
	size_t done[2] = { 0, 0 };

	if (ev_store_begin(f->st) < 0)
		return -1;
	f->npend = 0;
	ev_buf_reset(&f->pbuf);
	/* keys are unique here, so the order of the writes does not matter:
	 * the new rows first, then the others (rows that go together are all
	 * new or all not); each in key order */
	for (int fresh = 1; fresh >= 0 && rc == 0; fresh--) {
		struct dref *d = f->dirty[fresh];
		size_t n = f->ndirty[fresh];
		if (n > 1)
			qsort(d, n, sizeof *d, bykey);
		for (size_t i = 0; i < n && rc == 0; i++) {
			struct ent *e = d[i].e;
			prefetchent(f, i + 8 < n ? d[i + 8].e : NULL);
			if (!present(e))
				rc = fresh ? 0 : ev_vtab_del(f->tab, e->key, e->klen, e->start);
			else
				rc = addrow(f, e);
			/* the entry is at hand now: its flags as after the commit
			 * (undone below if the commit fails) */
			e->dirty = 0;
			e->fresh = fresh && !present(e);
			done[fresh]++;
		}
	}
	if (rc == 0 && f->npend)
		rc = flushrows(f);
	if (rc < 0) {
		/* nothing was written; the states stay dirty */
		ev_store_rollback(f->st);
		f->npend = 0;
		redirty(f, 1, done[1]);
		redirty(f, 0, done[0]);
		return -1;
	}
	f->ndirty[0] = f->ndirty[1] = 0;
	if (ev_store_commit(f->st, f->name, f->c.input != NULL, pos, f->wm, &f->commits,
	    f->c.shared) < 0)
		return -1;
	f->haspos = f->c.input != NULL;
	f->pos = pos;
	f->bseq = 0;
	trim(f);
	return 0;
}

int
ev_fold_caughtup(struct ev_fold *f)
{
	if (!f->rebuilding)
		return 0;
	ev_vtab_close(f->tab);
	f->tab = NULL;
	if (ev_store_view_swap(f->st, f->name, f->c.view) < 0)
		return -1;
	free(f->name);
	f->name = ev_strdup(f->c.view);
	f->rebuilding = 0;
	if (!(f->tab = ev_vtab_open(f->st, f->name, f->c.win.kind != EV_WIN_NONE)))
		return -1;
	return 0;
}

void
ev_fold_stats(const struct ev_fold *f, struct ev_fold_stats *s)
{
	*s = f->s;
	s->keys = f->n;
}

void
ev_fold_close(struct ev_fold *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->cap && !bare(f); i++)
		if (f->tab_[i].e)
			entfree(f->tab_[i].e);
	free(f->tab_);
	arenafree(f);
	free(f->dirty[0]);
	free(f->dirty[1]);
	free(f->open);
	ev_vtab_close(f->tab);
	ev_store_close(f->st);
	ev_key_free(f->keyq);
	ev_jq_free(f->red);
	for (size_t i = P_KEY + 1; i < NPATHS; i++) /* the key's path is the key's */
		ev_jpath_free(f->paths[i]);
	free(f->init);
	free(f->name);
	ev_buf_free(&f->key);
	ev_buf_free(&f->keyjson);
	ev_buf_free(&f->in);
	ev_buf_free(&f->out);
	ev_buf_free(&f->err);
	ev_buf_free(&f->tmp);
	ev_buf_free(&f->aux);
	ev_buf_free(&f->ev);
	ev_buf_free(&f->acc);
	ev_buf_free(&f->pbuf);
	ev_buf_free(&f->evs);
	free(f->sv_);
	free(f);
}
