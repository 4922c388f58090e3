/* SPDX-License-Identifier: ISC */
/* fanin.c — several spools read as one input (-i urgent -i normal): fairly
 * interleaved, or, with --priority, always from the earliest input that has
 * an event.
 *
 * Each spool keeps its own cursor (or group). Lines are handed out with
 * positions of the fan-in's own, the number handed out so far; a commit of
 * such a position is turned back into the position of each spool after its
 * last line at or before it, and each spool commits that. A waiting reader
 * watches every spool's segments at once and sleeps until one grows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/time.h"
#include "io/backend.h"
#include "io/watch.h"

#define GROUP_SLICE_MS 200 /* a group also wakes for its members' deaths: look this often */

struct input {
	const struct ev_source_ops *ops;
	void *impl;
	char *name;
	int ended;
	uint64_t done;          /* the inner position committed last */
};

struct hand {
	uint64_t v, pos;        /* our position; the inner one after the line */
	int src;
};

struct fanin {
	struct input *in;
	int n, rr, priority, follow, group;
	struct ev_watch *w;
	struct hand *fifo;
	size_t fhead, nfifo, cfifo;
	uint64_t vnext;
};

static void
push(struct fanin *f, int src, uint64_t pos)
{
	if (f->fhead + f->nfifo == f->cfifo) {
		if (f->fhead > 0) {
			memmove(f->fifo, f->fifo + f->fhead, f->nfifo * sizeof *f->fifo);
			f->fhead = 0;
		} else {
			f->cfifo = f->cfifo ? 2 * f->cfifo : 1024;
			f->fifo = ev_reallocarray(f->fifo, f->cfifo, sizeof *f->fifo);
		}
	}
	f->fifo[f->fhead + f->nfifo++] = (struct hand){ f->vnext, pos, src };
}

/* One look at every input, in turn: the earliest first with --priority,
 * else starting after the one that gave the last line. */
static int
look(struct fanin *f, struct ev_line *l)
{
	int live = 0;

	for (int k = 0; k < f->n; k++) {
		int i = f->priority ? k : (f->rr + k) % f->n;
		struct input *x = &f->in[i];
		if (x->ended)
			continue;
		int r = x->ops->next(x->impl, l, 0);
		if (r == EV_SRC_LINE) {
			push(f, i, l->pos);
			l->pos = f->vnext++;
			f->rr = i + 1;
			return EV_SRC_LINE;
		}
		if (r == EV_SRC_ERR)
			return EV_SRC_ERR;
		if (r == EV_SRC_END)
			x->ended = 1;
		else
			live++;
	}
	return live ? EV_SRC_IDLE : EV_SRC_END;
}

static int
fanin_next(void *impl, struct ev_line *l, int timeout_ms)
{
	struct fanin *f = impl;
	int64_t deadline = timeout_ms > 0 ? ev_mono_ms() + timeout_ms : 0;

	for (;;) {
		int r = look(f, l), t = timeout_ms;
		if (r != EV_SRC_IDLE)
			return r;
		if (timeout_ms == 0)
			return EV_SRC_IDLE;
		if (timeout_ms > 0 && (t = (int)(deadline - ev_mono_ms())) <= 0)
			return EV_SRC_IDLE;
		if ((f->group || !f->w) && (t < 0 || t > GROUP_SLICE_MS))
			t = GROUP_SLICE_MS;
		/* an input that holds an event wakes us when it is due */
		for (int i = 0; i < f->n; i++) {
			if (f->in[i].ended || !f->in[i].ops->due)
				continue;
			int64_t d = f->in[i].ops->due(f->in[i].impl) - ev_mono_ms();
			if (d < 0)
				d = 0;
			if (t < 0 || d < t)
				t = (int)d;
		}
		if (!f->w) {
			/* no watch: the inputs wait in turn, a slice each */
			int s = t / f->n > 0 ? t / f->n : 1;
			for (int i = 0; i < f->n; i++) {
				struct input *x = &f->in[(f->rr + i) % f->n];
				if (x->ended)
					continue;
				r = x->ops->next(x->impl, l, s);
				if (r == EV_SRC_LINE) {
					push(f, (int)(x - f->in), l->pos);
					l->pos = f->vnext++;
					f->rr = (int)(x - f->in) + 1;
					return EV_SRC_LINE;
				}
				if (r == EV_SRC_ERR)
					return EV_SRC_ERR;
				if (r == EV_SRC_END)
					x->ended = 1;
			}
		} else if (ev_watch_wait(f->w, t) < 0) {
			ev_warn("fan-in: wait:");
			return EV_SRC_ERR;
		}
	}
}

static int
fanin_commit(void *impl, uint64_t pos)
{
	struct fanin *f = impl;
	uint64_t *upto = ev_calloc((size_t)f->n, sizeof *upto);
	int r = 0;

	while (f->nfifo && f->fifo[f->fhead].v <= pos) {
		struct hand *h = &f->fifo[f->fhead++];
		upto[h->src] = h->pos;
		f->nfifo--;
	}
	if (f->nfifo == 0)
		f->fhead = 0;
	for (int i = 0; i < f->n && r == 0; i++)
		if (upto[i] && upto[i] != f->in[i].done) {
			r = f->in[i].ops->commit(f->in[i].impl, upto[i]);
			f->in[i].done = upto[i];
		}
	free(upto);
	return r;
}

static int
fanin_close(void *impl)
{
	struct fanin *f = impl;
	int r = 0;

	for (int i = 0; i < f->n; i++) {
		if (f->in[i].ops->close(f->in[i].impl) < 0)
			r = -1;
		free(f->in[i].name);
	}
	free(f->in);
	free(f->fifo);
	ev_watch_free(f->w);
	free(f);
	return r;
}

static const struct ev_source_ops fanin_ops = {
	.next = fanin_next, .commit = fanin_commit, .close = fanin_close
};

void *
ev_fanin_source_open(char *const *dirs, int n, const struct ev_source_conf *c, int priority,
    const struct ev_source_ops **ops)
{
	struct fanin *f = ev_calloc(1, sizeof *f);

	f->in = ev_calloc((size_t)n, sizeof *f->in);
	f->priority = priority;
	f->follow = c->follow != 0;
	f->group = c->group != NULL;
	f->vnext = 1;
	for (int i = 0; i < n; i++) {
		struct input *x = &f->in[f->n];
		if (!(x->impl = ev_spool_source_open(dirs[i], c, &x->ops)))
			goto fail;
		if (c->hold || c->expire) {
			/* each spool holds its own delayed events (its own side file) */
			const struct ev_source_ops *inner = x->ops;
			void *t = ev_timed_source_open(dirs[i], c->cursor || c->group, c, &x->ops,
			    x->impl, inner);
			if (!t) {
				inner->close(x->impl);
				goto fail;
			}
			x->impl = t;
		}
		x->name = ev_strdup(dirs[i]);
		f->n++;
	}
	if (f->follow && !ev_watch_polling()) {
		for (int i = 0; i < n; i++) {
			char *seg = ev_malloc(strlen(dirs[i]) + sizeof "/segments");
			sprintf(seg, "%s/segments", dirs[i]);
			int r = 0;
			if (!f->w)
				f->w = ev_watch_new(seg);
			else
				r = ev_watch_add(f->w, seg);
			free(seg);
			if (!f->w || r < 0)
				goto fail;
			if (r == 0 && i > 0) {
				/* this platform watches one directory: wait in turn */
				ev_watch_free(f->w);
				f->w = NULL;
				break;
			}
		}
	}
	*ops = &fanin_ops;
	return f;
fail:
	fanin_close(f);
	return NULL;
}
