/* SPDX-License-Identifier: ISC */
/* ahead.c — see ahead.h.
 *
 * Two batches take turns. Batch number s lives in b[s % 2]; submitted
 * counts the batches handed to the helper, finished those it has worked
 * on, settled those done() has had. The caller fills b[submitted % 2]
 * while the helper may work on batch submitted - 1; starting a batch
 * first waits for the one before it and settles it, so at most one batch
 * is ever in the helper's hands and the one being filled is always free.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ahead.h"
#include "base/buf.h"
#include "base/mem.h"

#define MAXLINES 1024      /* a batch: this many lines ... */
#define MAXBYTES (1 << 19) /* ... or this many bytes, whichever comes first */

struct batch {
	struct ev_buf text;    /* the lines, each with its '\0' */
	struct ev_line *lines; /* p is an offset into text until the batch starts */
	char *res;
	size_t n, cap;
};

struct ev_ahead {
	struct batch b[2];
	size_t ressize;
	void (*work)(void *, const struct ev_line *, void *);
	void *wctx;
	int (*done)(void *, const struct ev_line *, void *, size_t);
	void *dctx;
	int threaded, quit;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t towork, worked;
	uint64_t submitted, finished, settled; /* finished is the helper's, under mu */
};

static void
workon(struct ev_ahead *a, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		a->work(a->wctx, &b->lines[i], b->res + i * a->ressize);
}

static void *
helper(void *arg)
{
	struct ev_ahead *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->finished == a->submitted && !a->quit)
			pthread_cond_wait(&a->towork, &a->mu);
		if (a->finished == a->submitted)
			break;
		struct batch *b = &a->b[a->finished % 2];
		pthread_mutex_unlock(&a->mu);
		workon(a, b);
		pthread_mutex_lock(&a->mu);
		a->finished++;
		pthread_cond_signal(&a->worked);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

struct ev_ahead *
ev_ahead_new(size_t ressize, void (*work)(void *, const struct ev_line *, void *), void *wctx,
    int (*done)(void *, const struct ev_line *, void *, size_t), void *dctx)
{
	struct ev_ahead *a = ev_calloc(1, sizeof *a);
	sigset_t all, old;

	a->ressize = ressize ? ressize : 1;
	a->work = work;
	a->wctx = wctx;
	a->done = done;
	a->dctx = dctx;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->towork, NULL);
	pthread_cond_init(&a->worked, NULL);
	/* signals stay the caller's business: the helper blocks them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	a->threaded = pthread_create(&a->th, NULL, helper, a) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return a;
}

/* done() on batch s, which the helper has finished; the batch is empty after. */
static int
settle(struct ev_ahead *a, uint64_t s)
{
	struct batch *b = &a->b[s % 2];
	int r = b->n ? a->done(a->dctx, b->lines, b->res, b->n) : 0;

	b->n = 0;
	ev_buf_reset(&b->text);
	a->settled = s + 1;
	return r;
}

static void
waitfor(struct ev_ahead *a, uint64_t s)
{
	if (!a->threaded)
		return;
	pthread_mutex_lock(&a->mu);
	while (a->finished <= s)
		pthread_cond_wait(&a->worked, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

/* Hand the batch being filled to the helper, then settle the one before. */
static int
start(struct ev_ahead *a)
{
	uint64_t s = a->submitted;
	struct batch *b = &a->b[s % 2];

	for (size_t i = 0; i < b->n; i++)
		b->lines[i].p = b->text.p + (uintptr_t)b->lines[i].p;
	memset(b->res, 0, b->n * a->ressize);
	if (a->threaded) {
		pthread_mutex_lock(&a->mu);
		a->submitted++;
		pthread_cond_signal(&a->towork);
		pthread_mutex_unlock(&a->mu);
	} else {
		workon(a, b);
		a->submitted++;
		a->finished++;
	}
	if (s == 0 || a->settled >= s)
		return 0;
	waitfor(a, s - 1);
	return settle(a, s - 1);
}

int
ev_ahead_add(struct ev_ahead *a, const struct ev_line *l)
{
	struct batch *b = &a->b[a->submitted % 2];

	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->lines = ev_reallocarray(b->lines, b->cap, sizeof *b->lines);
		b->res = ev_reallocarray(b->res, b->cap, a->ressize);
	}
	b->lines[b->n] = *l;
	b->lines[b->n].p = (const char *)(uintptr_t)b->text.len;
	b->n++;
	ev_buf_add(&b->text, l->p, l->len);
	ev_buf_addc(&b->text, '\0'); /* a line ends in one (reader.h) */
	if (b->n >= MAXLINES || b->text.len >= MAXBYTES)
		return start(a);
	return 0;
}

int
ev_ahead_flush(void *arg)
{
	struct ev_ahead *a = arg;
	int r = 0;

	if (a->b[a->submitted % 2].n > 0)
		r = start(a);
	while (a->settled < a->submitted) {
		waitfor(a, a->settled);
		if (settle(a, a->settled) < 0)
			r = -1;
	}
	return r;
}

void
ev_ahead_free(struct ev_ahead *a)
{
	if (!a)
		return;
	if (a->threaded) {
		pthread_mutex_lock(&a->mu);
		a->quit = 1;
		pthread_cond_signal(&a->towork);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->th, NULL);
	}
	pthread_cond_destroy(&a->towork);
	pthread_cond_destroy(&a->worked);
	pthread_mutex_destroy(&a->mu);
	for (int i = 0; i < 2; i++) {
		ev_buf_free(&a->b[i].text);
		free(a->b[i].lines);
		free(a->b[i].res);
	}
	free(a);
}
