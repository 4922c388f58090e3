/* SPDX-License-Identifier: ISC */
/* fold.c — the fold: keys, windows, the state cache, the commit (fold.h).
 *
 * The cache maps (key, window start) to a state. A state changed since the
 * last commit is dirty; ev_fold_keep writes the dirty ones (an absent state
 * deletes its row) and the input position in one transaction. Between
 * commits the cache is the truth, so a key is read from the database once
 * at most; after a commit, states are dropped when there are more than
 * maxkeys (windowed views keep their open windows, and drop closed ones).
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
	unsigned dirty : 1, open : 1, closed : 1;
};

enum { P_KEY, P_TIME, P_AGG0, NPATHS = P_AGG0 + EV_NAGG };

struct ev_fold {
	struct ev_fold_conf c;
	struct ev_store *st;
	struct ev_vtab *tab;
	char *name;                /* the table folded into: the view, or its rebuild */
	int rebuilding, haspos;
	uint64_t pos;
	int64_t commits, wm;
	struct ev_key *keyq;
	struct ev_jq *red;
	struct ev_jpath *paths[NPATHS];
	struct ev_jval v[NPATHS];
	struct ev_jpath *scan[NPATHS]; /* the paths given, in a row, for the scan */
	struct ev_jval sv[NPATHS];
	int scanto[NPATHS];            /* which of v each is */
	size_t nscan;
	int aggidx[EV_NAGG];
	char *init;
	struct ent **tab_;         /* the cache: open addressing */
	size_t cap, n;
	struct ent **dirty, **open;
	size_t ndirty, nopen, dcap, ocap;
	int64_t minend;
	struct ev_buf key, keyjson, in, out, err, tmp, row, aux, ev;
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
	if (!f->c.win.kind) {
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
			if (ev_agg_load(e->agg, r.aux, r.auxlen) < 0) {
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
	return e->state || e->agg;
}

/* After a commit: drop what need not stay (see the top of the file). */
static void
trim(struct ev_fold *f)
{
	size_t keep = 0;

	if (!f->c.win.kind && f->n <= f->c.maxkeys)
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

static int
loadopen(void *arg, const struct ev_row *r)
{
	struct ev_fold *f = arg;
	struct ent *e = lookup(f, r->key, r->klen, r->start);

	e->end = r->end;
	if (f->c.reducer) {
		putstate(e, r->state, r->slen);
	} else {
		e->agg = ev_calloc(1, sizeof *e->agg);
		if (ev_agg_load(e->agg, r->aux, r->auxlen) < 0) {
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
	if (!(f->paths[P_TIME] = path(c->timepath ? c->timepath : ".time", "--time")))
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

/* Session windows (built-in folds only: their states merge). */
static int
session(struct ev_fold *f, struct ev_input *in, const struct ev_line *l, int64_t t)
{
	int64_t gap = f->c.win.size;
	struct ent *ix = lookup(f, f->key.p, f->key.len, NOSTART), *e;
	struct ent *join[64];
	size_t nj = 0;

	for (size_t i = 0; i < ix->nsess && nj < 64; i++) {
		e = ix->sess[i];
		if (t > e->start - gap && t < e->end)
			join[nj++] = e;
	}
	if (nj == 0) {
		if (f->wm != INT64_MIN && t + gap <= f->wm) {
			late(f, in, l);
			return 0;
		}
		if (!(e = lookup(f, f->key.p, f->key.len, t)))
			return -1;
		if (e->closed) {
			late(f, in, l); /* a session that began at t was closed already */
			return 0;
		}
		e->end = t + gap;
		e->agg = e->agg ? e->agg : ev_calloc(1, sizeof *e->agg);
		ev_agg_apply(f->c.aggs, e->agg, &f->v[P_AGG0], &f->tmp);
		ix->sess = ev_reallocarray(ix->sess, ix->nsess + 1, sizeof *ix->sess);
		ix->sess[ix->nsess++] = e;
		markdirty(f, e);
		addopen(f, e);
		return 0;
	}
	/* the earliest start holds the merged state */
	size_t first = 0;
	for (size_t i = 1; i < nj; i++)
		if (join[i]->start < join[first]->start)
			first = i;
	struct ev_aggstate *acc = ev_calloc(1, sizeof *acc);
	int64_t start = join[first]->start < t ? join[first]->start : t, end = t + gap;
	/* merge in start order */
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
		ev_agg_merge(f->c.aggs, acc, lo->agg);
		if (lo->end > end)
			end = lo->end;
		ev_agg_free(lo->agg);
		free(lo->agg);
		lo->agg = NULL;
		lo->open = 0;
		unsession(f, lo);
		markdirty(f, lo); /* its row goes; the merged one is written below */
	}
	ev_agg_apply(f->c.aggs, acc, &f->v[P_AGG0], &f->tmp);
	/* drop the merged ones from the open list */
	size_t keep = 0;
	for (size_t i = 0; i < f->nopen; i++)
		if (f->open[i]->open)
			f->open[keep++] = f->open[i];
	f->nopen = keep;
	if (!(e = lookup(f, f->key.p, f->key.len, start)))
		return -1;
	if (e->agg) {
		ev_agg_free(e->agg);
		free(e->agg);
	}
	e->agg = acc;
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

int
ev_fold_line(struct ev_fold *f, struct ev_input *in, const struct ev_line *l)
{
	struct ev_jerr jerr;
	int64_t t = 0;
	int r, which;
	const char *why;

	r = ev_json_scan(l->p, l->len, f->scan, f->nscan, f->sv, &jerr);
	if (!ev_input_object(in, l, r, &jerr))
		return 0;
	for (size_t i = 0; i < f->nscan; i++)
		f->v[f->scanto[i]] = f->sv[i];
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

int
ev_fold_keep(void *arg, uint64_t pos)
{
	struct ev_fold *f = arg;
	struct ev_row r;

	if (ev_store_begin(f->st) < 0)
		return -1;
	for (size_t i = 0; i < f->ndirty; i++) {
		struct ent *e = f->dirty[i];
		int rc;
		e->dirty = 0;
		if (!present(e)) {
			rc = ev_vtab_del(f->tab, e->key, e->klen, e->start);
		} else {
			memset(&r, 0, sizeof r);
			r.key = e->key;
			r.klen = e->klen;
			r.start = e->start;
			r.end = e->end;
			r.closed = e->closed;
			if (f->c.reducer) {
				r.state = e->state;
				r.slen = e->slen;
			} else {
				ev_buf_reset(&f->row);
				ev_agg_json(f->c.aggs, e->agg, &f->row);
				ev_agg_save(e->agg, &f->aux);
				r.state = f->row.p;
				r.slen = f->row.len;
				r.aux = f->aux.p;
				r.auxlen = f->aux.len;
			}
			rc = ev_vtab_put(f->tab, &r);
		}
		if (rc < 0) {
			ev_store_rollback(f->st);
			return -1;
		}
	}
	f->ndirty = 0;
	if (ev_store_commit(f->st, f->name, f->c.input != NULL, pos, f->wm, &f->commits) < 0)
		return -1;
	f->haspos = f->c.input != NULL;
	f->pos = pos;
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
	ev_buf_free(&f->row);
	ev_buf_free(&f->aux);
	ev_buf_free(&f->ev);
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
