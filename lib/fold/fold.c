/* SPDX-License-Identifier: ISC */
/* fold.c — the fold: keys, windows, the state cache, the commit (fold.h).
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
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "fold/fold.h"
#include "fold/store.h"
#include "json/jq.h"
#include "json/jsonscan.h"
#include "json/key.h"

#define NOSTART INT64_MIN /* the session index of a key */

struct ent {
	char *key;
	size_t klen;
	int64_t start, end;
	uint64_t h;
	char *state;               /* jq: the state; NULL: none */
	size_t slen;
	struct ev_aggstate *agg;   /* built-ins: the state; NULL: none */
	struct ent **sess;         /* NOSTART: the key's open sessions */
	size_t nsess;
	struct ev_buf evs;         /* a reducer's open session: its events (see session) */
	unsigned dirty : 1, open : 1, closed : 1;
	unsigned fresh : 1;        /* known to have no row in the table */
};

enum { P_KEY, P_TIME, P_AGG0, NPATHS = P_AGG0 + EV_NAGG };

struct ev_fold {
	struct ev_fold_conf c;
	struct ev_store *st;
	struct ev_vtab *tab;
	char *name;                /* the table folded into: the view, or its rebuild */
	int rebuilding, haspos;
	int complete;              /* every row of the table is in the cache */
	uint64_t pos;
	int64_t commits, wm;
	struct ev_key *keyq;
	struct ev_jq *red;
	struct ev_jpath *paths[NPATHS];
	struct ev_jval v[NPATHS];
	struct ev_jpath *scan[NPATHS]; /* the paths given, in a row, for the scan */
	int scanto[NPATHS];            /* which of v each is */
	size_t nscan;
	int aggidx[EV_NAGG];
	char *init;
	struct ent **tab_;         /* the cache: open addressing */
	size_t cap, n;
	struct ent **dirty, **open;
	size_t ndirty, nopen, dcap, ocap;
	int64_t minend;
	struct ev_buf key, keyjson, in, out, err, tmp, aux, ev, acc, evs;
	struct sessev *sv_;        /* a merge's events */
	struct ev_row pend[EV_VTAB_PUTN]; /* rows to write together (flushrows) */
	size_t soff[EV_VTAB_PUTN], aoff[EV_VTAB_PUTN], npend;
	int hasaux[EV_VTAB_PUTN], pfresh;
	struct ev_buf pbuf;
	size_t svcap;
	uint32_t bseq;             /* events kept in sessions since the last commit */
	struct ev_fold_stats s;
};

/* The cache. */

static uint64_t
hashkey(const char *k, size_t n, int64_t start)
{
	return XXH3_64bits_withSeed(k, n, (uint64_t)start);
}

static struct ent **
slot(struct ev_fold *f, const char *k, size_t n, int64_t start, uint64_t h)
{
	size_t i = h & (f->cap - 1);

	for (;; i = (i + 1) & (f->cap - 1)) {
		struct ent *e = f->tab_[i];
		if (!e || (e->h == h && e->start == start && e->klen == n &&
		    memcmp(e->key, k, n) == 0))
			return &f->tab_[i];
	}
}

static void
insert(struct ev_fold *f, struct ent *e)
{
	size_t i = e->h & (f->cap - 1);

	while (f->tab_[i])
		i = (i + 1) & (f->cap - 1);
	f->tab_[i] = e;
	f->n++;
}

static void
grow(struct ev_fold *f, size_t cap)
{
	struct ent **old = f->tab_;
	size_t oldcap = f->cap;

	f->tab_ = ev_calloc(cap, sizeof *f->tab_);
	f->cap = cap;
	f->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			insert(f, old[i]);
	free(old);
}

static void
entfree(struct ent *e)
{
	if (e->agg)
		ev_agg_free(e->agg);
	free(e->agg);
	free(e->state);
	free(e->sess);
	ev_buf_free(&e->evs);
	free(e->key);
	free(e);
}

static void
putstate(struct ent *e, const char *p, size_t n)
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

/* The entry of (key, start), made absent when the cache has none; for a
 * view without windows, a key not in the cache is read from the table.
 * NULL on a database error (reported). */
static struct ent *
lookup(struct ev_fold *f, const char *k, size_t n, int64_t start)
{
	uint64_t h = hashkey(k, n, start);
	struct ent **sp = slot(f, k, n, start, h), *e;

	if (*sp)
		return *sp;
	e = ev_calloc(1, sizeof *e);
	e->key = ev_strndup(k, n);
	e->klen = n;
	e->start = start;
	e->h = h;
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
			putstate(e, r.state, r.slen);
		} else if (got) {
			e->agg = ev_calloc(1, sizeof *e->agg);
			if (loadagg(f, e->agg, &r) < 0) {
				ev_warn("%s: view %s: key %.*s: the state's internals (aux) are not "
				    "evfold's; --rebuild makes them anew", ev_store_path(f->st), f->name,
				    (int)n, k);
				entfree(e);
				errno = EINVAL;
				return NULL;
			}
		}
	}
	*sp = e;
	f->n++;
	if (f->n * 2 > f->cap)
		grow(f, f->cap * 2);
	return e;
}

static void
markdirty(struct ev_fold *f, struct ent *e)
{
	if (e->dirty)
		return;
	e->dirty = 1;
	if (f->ndirty == f->dcap) {
		f->dcap = f->dcap ? f->dcap * 2 : 1024;
		f->dirty = ev_reallocarray(f->dirty, f->dcap, sizeof *f->dirty);
	}
	f->dirty[f->ndirty++] = e;
}

static void
addopen(struct ev_fold *f, struct ent *e)
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
	return e->state || e->agg || e->evs.len;
}

/* After a commit: drop what need not stay (see the top of the file). */
static void
trim(struct ev_fold *f)
{
	size_t keep = 0;

	if (!f->c.win.kind && f->n <= f->c.maxkeys && !f->c.shared)
		return;
	for (size_t i = 0; i < f->cap; i++) {
		struct ent *e = f->tab_[i];
		if (!e)
			continue;
		int stay = f->c.win.kind && (e->open || (e->start == NOSTART && e->nsess));
		if (stay) {
			keep++;
			continue;
		}
		entfree(e);
		f->tab_[i] = NULL;
		f->complete = 0;
	}
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
	struct ent *e = lookup(f, r->key, r->klen, r->start);

	e->end = r->end;
	if (f->c.reducer) {
		if (r->slen != 4 || memcmp(r->state, "null", 4) != 0)
			putstate(e, r->state, r->slen);
		if (f->c.win.kind == EV_WIN_SESSION && !sessaux(r->aux, r->auxlen, &e->evs)) {
			ev_warn("%s: view %s: a session's events (aux) are not evfold's; "
			    "--rebuild makes them anew", ev_store_path(f->st), f->name);
			return -1;
		}
	} else {
		e->agg = ev_calloc(1, sizeof *e->agg);
		if (loadagg(f, e->agg, r) < 0) {
			ev_warn("%s: view %s: a window's internals (aux) are not evfold's",
			    ev_store_path(f->st), f->name);
			return -1;
		}
	}
	addopen(f, e);
	if (f->c.win.kind == EV_WIN_SESSION) {
		struct ent *ix = lookup(f, r->key, r->klen, NOSTART);
		ix->sess = ev_reallocarray(ix->sess, ix->nsess + 1, sizeof *ix->sess);
		ix->sess[ix->nsess++] = e;
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

struct ev_fold *
ev_fold_open(const struct ev_fold_conf *c)
{
	struct ev_fold *f = ev_calloc(1, sizeof *f);
	struct ev_buf def = { 0 }, prog = { 0 };
	char hash[40];

	f->c = *c;
	f->minend = INT64_MAX;
	f->wm = INT64_MIN;
	f->cap = 1024;
	f->tab_ = ev_calloc(f->cap, sizeof *f->tab_);
	if (c->init) {
		if (ev_jq_compact(c->init, strlen(c->init), &f->tmp) < 0) {
			ev_warn("--init: '%s' is not JSON", c->init);
			goto bad;
		}
		f->init = ev_strdup(f->tmp.p);
	}
	if (c->keyexpr) {
		if (!(f->keyq = ev_key_compile(c->keyexpr, &f->err))) {
			ev_warn("-k %s: %s", c->keyexpr, f->err.p);
			goto bad;
		}
		/* a plain path is read by the scan, anything else by jq */
		f->paths[P_KEY] = ev_key_path(f->keyq);
	}
	if (c->win.kind && !(f->paths[P_TIME] = path(c->timepath ? c->timepath : ".time",
	    "--time")))
		goto bad;
	for (int i = 0; i < EV_NAGG; i++)
		if (c->aggs & (1u << i)) {
			if (!(f->paths[P_AGG0 + i] = path(c->aggpath[i] ? c->aggpath[i] : ".",
			    ev_agg_names[i])))
				goto bad;
		}
	for (int i = 0; i < NPATHS; i++)
		if (f->paths[i]) {
			f->scan[f->nscan] = f->paths[i];
			f->scanto[f->nscan++] = i;
		}
	if (c->reducer) {
		ev_buf_printf(&prog, ". as [$__evfold_state, $e, $key] | $__evfold_state | (%s)",
		    c->reducer);
		if (!(f->red = ev_jq_compile(prog.p, NULL, &f->err))) {
			ev_warn("%s: %s", c->reducer, f->err.p);
			goto bad;
		}
	}
	definition(c, f->init, &def);
	XXH128_hash_t h = XXH3_128bits(def.p, def.len);
	snprintf(hash, sizeof hash, "%016llx%016llx", (unsigned long long)h.high64,
	    (unsigned long long)h.low64);
	if (!(f->st = ev_store_open(c->db, 0, c->sync)) || openview(f, def.p, hash) < 0)
		goto bad;
	ev_buf_free(&def);
	ev_buf_free(&prog);
	return f;
bad:
	if (!errno)
		errno = EINVAL;
	ev_buf_free(&def);
	ev_buf_free(&prog);
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

/* One event. */

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

/* The reducer on a state: the new state in f->out (len 0 and *none when
 * it gave nothing: the state stays; "null" deletes). 0, or -1 with jq's
 * message in f->err. */
static int
reduce(struct ev_fold *f, const struct ent *e, const struct ev_line *l, int *none)
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

static void
unsession(struct ev_fold *f, struct ent *e)
{
	struct ent *ix = lookup(f, e->key, e->klen, NOSTART);

	for (size_t i = 0; ix && i < ix->nsess; i++)
		if (ix->sess[i] == e) {
			ix->sess[i] = ix->sess[--ix->nsess];
			break;
		}
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
		ev_buf_free(&e->evs); /* a closed session is merged no more */
		markdirty(f, e);
		if (f->c.win.kind == EV_WIN_SESSION)
			unsession(f, e);
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

static void
late(struct ev_fold *f, struct ev_input *in, const struct ev_line *l)
{
	f->s.late++;
	if (f->c.late && ev_sink_write(f->c.late, l->p, l->len) < 0)
		ev_input_fail(in, ev_errstatus(errno));
}

/* Session windows. An event joins the open sessions of its key that it
 * falls in or within the gap of; when it joins two or more, they become
 * one. Built-in folds merge their states. A reducer's states do not merge,
 * so a session keeps the events folded into it while it is open (in
 * memory and in its row's aux, see sessaux) and a merged session is
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
		if (reduce(f, &tmp, &l, &none) < 0)
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

static int
session(struct ev_fold *f, struct ev_input *in, const struct ev_line *l, int64_t t)
{
	int64_t gap = f->c.win.size;
	struct ent *ix = lookup(f, f->key.p, f->key.len, NOSTART), *e;
	struct ent *join[64];
	size_t nj = 0;

	if (!ix)
		return -1;
	for (size_t i = 0; i < ix->nsess && nj < 64; i++) {
		e = ix->sess[i];
		if (t > e->start - gap && t < e->end)
			join[nj++] = e;
	}
	if (nj == 0 && f->wm != INT64_MIN && t + gap <= f->wm) {
		late(f, in, l);
		return 0;
	}
	if (nj == 0) {
		if (!(e = lookup(f, f->key.p, f->key.len, t)))
			return -1;
		if (e->closed) {
			late(f, in, l); /* a session that began at t was closed already */
			return 0;
		}
	}

	/* The new state, computed before anything changes: a reducer that
	 * fails leaves every session as it was. */
	struct ev_aggstate *acc = NULL;
	int has = 0;
	if (!f->c.reducer) {
		acc = ev_calloc(1, sizeof *acc);
	} else if (nj <= 1) {
		struct ent none = { 0 };
		int nothing;
		if (reduce(f, nj ? join[0] : &none, l, &nothing) < 0) {
			ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
			return 0;
		}
		ev_buf_reset(&f->acc);
		if (nothing) {
			if ((has = nj && join[0]->state))
				ev_buf_add(&f->acc, join[0]->state, join[0]->slen);
		} else if ((has = strcmp(f->out.p, "null") != 0)) {
			ev_buf_add(&f->acc, f->out.p, f->out.len);
		}
	} else {
		size_t n = 0;
		for (size_t i = 0; i < nj; i++)
			if (sessevs(join[i]->evs.p, join[i]->evs.len, &f->sv_, &n, &f->svcap) < 0) {
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
		if (refold(f, f->sv_, n, &has) < 0) {
			ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
			return 0;
		}
		/* the events, in order, for the merged session */
		ev_buf_reset(&f->evs);
		for (size_t i = 0; i + 1 < n; i++)
			keepev(&f->evs, f->sv_[i].seq, f->sv_[i].p, f->sv_[i].len);
	}
	if (f->c.reducer && nj <= 1) {
		ev_buf_reset(&f->evs);
		if (nj)
			ev_buf_add(&f->evs, join[0]->evs.p, join[0]->evs.len);
	}
	if (f->c.reducer)
		keepev(&f->evs, nextseq(f), l->p, l->len);

	/* The joined sessions end; the one that begins earliest holds all. */
	int64_t start = t, end = t + gap;
	for (size_t i = 0; i < nj; i++)
		if (join[i]->start < start)
			start = join[i]->start;
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
		if (lo->end > end)
			end = lo->end;
		if (acc) {
			/* merged in start order */
			ev_agg_merge(f->c.aggs, acc, lo->agg);
			ev_agg_free(lo->agg);
			free(lo->agg);
			lo->agg = NULL;
		} else {
			putstate(lo, NULL, 0);
			ev_buf_reset(&lo->evs);
		}
		lo->open = 0;
		unsession(f, lo);
		markdirty(f, lo); /* its row goes; the merged one is written below */
	}
	if (acc)
		ev_agg_apply(f->c.aggs, acc, &f->v[P_AGG0], &f->tmp);
	/* drop the merged ones from the open list */
	size_t keep = 0;
	for (size_t i = 0; i < f->nopen; i++)
		if (f->open[i]->open)
			f->open[keep++] = f->open[i];
	f->nopen = keep;
	if (!(e = lookup(f, f->key.p, f->key.len, start))) {
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
		has ? putstate(e, f->acc.p, f->acc.len) : putstate(e, NULL, 0);
		ev_buf_reset(&e->evs);
		ev_buf_add(&e->evs, f->evs.p, f->evs.len);
	}
	e->end = end;
	e->closed = 0;
	ix->sess = ev_reallocarray(ix->sess, ix->nsess + 1, sizeof *ix->sess);
	ix->sess[ix->nsess++] = e;
	markdirty(f, e);
	e->open = 0;
	addopen(f, e);
	return 0;
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
		if (!(e = lookup(f, f->key.p, f->key.len, starts[i])))
			return -1;
		if (e->closed)
			continue;
		e->end = end;
		if (!f->c.reducer) {
			e->agg = e->agg ? e->agg : ev_calloc(1, sizeof *e->agg);
			ev_agg_apply(f->c.aggs, e->agg, &f->v[P_AGG0], &f->tmp);
		} else {
			if (reduce(f, e, l, &none) < 0) {
				/* undo the windows done before this one: recompute is not
				 * possible, so hopping windows with a reducer are checked
				 * first (see ev_fold_line) */
				ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
				return 1;
			}
			if (!none)
				strcmp(f->out.p, "null") == 0 ? putstate(e, NULL, 0) :
				    putstate(e, f->out.p, f->out.len);
		}
		markdirty(f, e);
		applied++;
		if (f->c.win.kind)
			addopen(f, e);
		else if (emitchange(f, e, l) < 0)
			return -1;
	}
	if (f->c.win.kind && applied == 0)
		late(f, in, l);
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
		struct ent *e = lookup(f, f->key.p, f->key.len, starts[i]);
		if (!e) {
			*err = 1;
			return 1;
		}
		if (reduce(f, e, l, &none) < 0) {
			ev_input_reject(in, l, "%s: %s", f->c.reducer, f->err.p);
			return 1;
		}
	}
	return 0;
}

/* What the scan of a line finds (ev_fold_scan): sv has a value for each
 * path scanned, nscan of them. */
struct scanned {
	int r;
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
		if (session(f, in, l, t) < 0)
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

/* The commit. */

/* Key order as SQLite's BINARY collation has it (memcmp, then length),
 * then window start. */
static int
bykey(const void *a, const void *b)
{
	const struct ent *x = *(struct ent *const *)a, *y = *(struct ent *const *)b;
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
		if (e->evs.len) {
			f->aoff[i] = f->pbuf.len;
			ev_buf_add(&f->pbuf, SESSMAGIC, sizeof SESSMAGIC);
			ev_buf_add(&f->pbuf, e->evs.p, e->evs.len);
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

int
ev_fold_keep(void *arg, uint64_t pos)
{
	struct ev_fold *f = arg;
	int rc = 0;

	if (ev_store_begin(f->st) < 0)
		return -1;
	if (f->ndirty > 1)
		qsort(f->dirty, f->ndirty, sizeof *f->dirty, bykey);
	f->npend = 0;
	ev_buf_reset(&f->pbuf);
	/* keys are unique here, so the order of the writes does not matter:
	 * the new rows first, then the others (rows that go together are all
	 * new or all not) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < f->ndirty && rc == 0; i++) {
			struct ent *e = f->dirty[i];
			if (e->fresh != !pass)
				continue;
			if (!present(e))
				rc = e->fresh ? 0 : ev_vtab_del(f->tab, e->key, e->klen, e->start);
			else
				rc = addrow(f, e);
		}
	if (rc == 0 && f->npend)
		rc = flushrows(f);
	if (rc < 0) {
		/* nothing was written; the states stay dirty */
		ev_store_rollback(f->st);
		f->npend = 0;
		return -1;
	}
	for (size_t i = 0; i < f->ndirty; i++)
		f->dirty[i]->dirty = 0;
	for (size_t i = 0; i < f->ndirty; i++)
		f->dirty[i]->fresh = !present(f->dirty[i]) && f->dirty[i]->fresh;
	f->ndirty = 0;
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
	for (size_t i = 0; i < f->cap; i++)
		if (f->tab_[i])
			entfree(f->tab_[i]);
	free(f->tab_);
	free(f->dirty);
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

/* Reading a view. */

int
ev_fold_view_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || strncmp(name, "evfold_", 7) == 0)
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

char *
ev_fold_only_view(const char *db)
{
	struct ev_store *st = ev_store_open(db, 1, EV_SYNC_NONE);
	char **v, *name = NULL;
	size_t n = 0;

	if (!st)
		return NULL;
	v = ev_store_views(st);
	for (; v[n]; n++)
		;
	if (n == 1)
		name = ev_strdup(v[0]);
	else
		ev_warn("%s: %s; name one with --view", db, n ? "more than one view" : "no view");
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
	ev_store_close(st);
	return name;
}

struct printer {
	FILE *out;
	int windowed, stateonly;
	struct ev_buf b;
	uintmax_t n;
};

static int
printrow(void *arg, const struct ev_row *r)
{
	struct printer *p = arg;

	ev_buf_reset(&p->b);
	if (p->stateonly && !p->windowed) {
		ev_buf_add(&p->b, r->state, r->slen);
	} else {
		ev_buf_adds(&p->b, "{\"key\":");
		ev_buf_addjstr(&p->b, r->key, r->klen);
		if (p->windowed) {
			char s[32], e[32];
			ev_time_format(r->start, s);
			ev_time_format(r->end, e);
			ev_buf_printf(&p->b, ",\"start\":\"%s\",\"end\":\"%s\",\"closed\":%s", s, e,
			    r->closed ? "true" : "false");
		}
		ev_buf_adds(&p->b, ",\"state\":");
		ev_buf_add(&p->b, r->state, r->slen);
		ev_buf_addc(&p->b, '}');
	}
	ev_buf_addc(&p->b, '\n');
	p->n++;
	return fwrite(p->b.p, 1, p->b.len, p->out) == p->b.len ? 0 : -1;
}

static int
readview(const char *db, const char *view, const char *key, FILE *out)
{
	struct ev_store *st = ev_store_open(db, 1, EV_SYNC_NONE);
	struct ev_viewmeta m;
	struct ev_vtab *t = NULL;
	struct printer p = { .out = out };
	int r = -1, got;

	if (!st)
		return -1;
	if ((got = ev_store_view_get(st, view, &m)) <= 0) {
		if (got == 0)
			ev_warn("%s: no view %s", db, view);
		errno = EINVAL;
		goto done;
	}
	p.windowed = m.windowed;
	p.stateonly = key != NULL;
	ev_viewmeta_free(&m);
	if (!(t = ev_vtab_open(st, view, p.windowed)))
		goto done;
	if (ev_vtab_each(t, key, key ? strlen(key) : 0, 0, printrow, &p) != 0)
		goto done;
	r = p.n > 0;
done:
	ev_buf_free(&p.b);
	ev_vtab_close(t);
	ev_store_close(st);
	return r;
}

int
ev_fold_get(const char *db, const char *view, const char *key, FILE *out)
{
	return readview(db, view, key, out);
}

int
ev_fold_dump(const char *db, const char *view, FILE *out)
{
	return readview(db, view, NULL, out) < 0 ? -1 : 1;
}
