/* SPDX-License-Identifier: ISC */
/* timed.c — delay and expiry for any source (--hold, --expired): events
 * whose evnotbefore lies ahead are held until due, without stalling the
 * events behind them, and events past their expirytime are set aside.
 *
 * A source wrapped here hands out its lines with positions of its own:
 * the number of lines handed out so far (held events come out of spool
 * order, so a byte offset could not say "done up to here"). A commit of
 * such a position is turned back into a position of the inner source:
 *
 *   high  the inner position before the oldest line handed out and not yet
 *         finished (or after the last line read, when all are finished);
 *   low   high, or the start of the oldest held event, if lower.
 *
 * The inner source commits low: a held event is never committed past, so
 * retention keeps it, and it survives a restart. For a spool read through
 * a cursor, what lies between low and high is remembered in a side file,
 * cursors/.NAME.held (ev-spool(5)), written atomically before the cursor:
 *
 *     evkit-held 1
 *     high 9182
 *     held 5120            the inner position after each held event
 *
 * A restarted reader starts at the cursor (low), skips the lines before
 * high that are not listed (they were finished), and looks again at those
 * that are (held again, or released when due). A crash between the side
 * file and the cursor leaves a newer side file over an older cursor, which
 * reads the same. Without a cursor (a consumer group, whose claims are
 * committed at low; a file) nothing is written: the events after a held
 * one are delivered again after a restart, as any uncommitted event is.
 *
 * Held events wait in memory, ordered by due time in a heap; a reader
 * sleeps until the earliest is due or new input comes, never polls.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/replace.h"
#include "base/time.h"
#include "event/event.h"
#include "io/backend.h"
#include "io/timed.h"

#define MAGIC "evkit-held 1"
#define AGAIN 100 /* (not an EV_SRC_ value) look again */

struct ev_timed_counters ev_timed_ctr;

struct held {
	uint64_t key, start;   /* the inner position after and before the event */
	int64_t due;
	char *line;            /* NULL once released */
	size_t len;
	uintmax_t no;
	uint64_t v;            /* released: its position as handed out */
	int released;
};

struct hand {
	uint64_t v, start;     /* our position; the inner position before the line */
	struct held *h;        /* a released held event, or NULL */
};

struct tsource {
	const struct ev_source_ops *ops;
	void *impl;
	int hold, expire;
	struct ev_sink *expired;
	/* the side file (a spool read through a cursor) */
	int cdir;
	char *cdirpath, *sidename;
	mode_t mode;
	uint64_t oldhigh;
	uint64_t *was;         /* held keys the side file lists */
	size_t nwas;
	/* held events: all of them (set), the ones not yet released (heap) */
	struct held **set, **heap;
	size_t nset, cset, nheap, cheap;
	struct hand *fifo;     /* handed out, not yet committed, in order */
	size_t fhead, nfifo, cfifo;
	uint64_t vnext, committed;
	uint64_t lastread;     /* the inner position after the last line read */
	int haveread;
	int dirty_tail;        /* lines held or set aside since the last settle */
	int durable;           /* held events outlive us (a cursor, a group) */
	int sidefile;          /* the side file may exist */
	int pause;             /* a held event was just released */
	struct ev_buf out;
};

/* --- the heap of held events, by due time ---------------------------------- */

static void
heap_push(struct tsource *s, struct held *h)
{
	size_t i;

	if (s->nheap == s->cheap) {
		s->cheap = s->cheap ? 2 * s->cheap : 64;
		s->heap = ev_reallocarray(s->heap, s->cheap, sizeof *s->heap);
	}
	i = s->nheap++;
	while (i > 0 && s->heap[(i - 1) / 2]->due > h->due) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = h;
}

static struct held *
heap_pop(struct tsource *s)
{
	struct held *top = s->heap[0], *last = s->heap[--s->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && s->heap[c + 1]->due < s->heap[c]->due)
			c++;
		if (last->due <= s->heap[c]->due)
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

/* --- attributes ---------------------------------------------------------------- */

int
ev_timed_attr(const char *line, size_t len, const char *name, int64_t *ms)
{
	const char *v;
	size_t n;

	/* most events have neither: a substring search rules them out cheaply */
	if (!memmem(line, len, name, strlen(name)))
		return 0;
	if (ev_event_getattr(line, len, name, &v, &n) != 1 || n < 2 || v[0] != '"' ||
	    v[n - 1] != '"')
		return 0;
	return ev_time_parse(v + 1, n - 2, ms) == 0 ? 1 : -1;
}

/* --- the side file ------------------------------------------------------------- */

static int
cmpu64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int
readside(struct tsource *s)
{
	char buf[4096];
	struct ev_buf text = { 0 };
	ssize_t n;
	int fd = openat(s->cdir, s->sidename, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *line, *save = NULL;
	int no = 0, ok = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ev_warn("%s/%s: cannot open:", s->cdirpath, s->sidename);
		return -1;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0)
		ev_buf_add(&text, buf, (size_t)n);
	close(fd);
	ev_buf_addc(&text, '\0');
	for (line = strtok_r(text.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t x;
		int end = 0;
		if (++no == 1) {
			ok = strcmp(line, MAGIC) == 0;
			if (!ok)
				break;
		} else if (sscanf(line, "high %" SCNu64 "%n", &x, &end) == 1 && !line[end]) {
			s->oldhigh = x;
		} else if (sscanf(line, "held %" SCNu64 "%n", &x, &end) == 1 && !line[end]) {
			s->was = ev_reallocarray(s->was, s->nwas + 1, sizeof *s->was);
			s->was[s->nwas++] = x;
		} else {
			ok = 0;
			break;
		}
	}
	ev_buf_free(&text);
	if (n < 0 || !ok) {
		ev_warn("%s/%s: not a list of held events (see ev-spool(5))", s->cdirpath,
		    s->sidename);
		errno = EINVAL;
		return -1;
	}
	if (s->nwas)
		qsort(s->was, s->nwas, sizeof *s->was, cmpu64);
	return 0;
}

static int
inwas(const struct tsource *s, uint64_t key)
{
	return s->nwas && bsearch(&key, s->was, s->nwas, sizeof *s->was, cmpu64) != NULL;
}

static int
writeside(struct tsource *s, uint64_t high)
{
	struct ev_buf b = { 0 };
	size_t n = 0;
	int r;

	ev_buf_printf(&b, MAGIC "\nhigh %" PRIu64 "\n", high);
	for (size_t i = 0; i < s->nset; i++, n++)
		ev_buf_printf(&b, "held %" PRIu64 "\n", s->set[i]->key);
	for (size_t i = 0; i < s->nwas; i++)
		if (s->was[i] > s->lastread || !s->haveread)
			ev_buf_printf(&b, "held %" PRIu64 "\n", s->was[i]), n++;
	(void)n;
	s->sidefile = 1;
	r = ev_replace(s->cdir, s->cdirpath, s->sidename, b.p, b.len, s->mode, 0);
	ev_buf_free(&b);
	return r;
}

/* --- the commit ------------------------------------------------------------------ */

static int
settle(struct tsource *s)
{
	uint64_t high, low;
	int any = 0;

	if (s->expired && ev_sink_commit(s->expired) < 0)
		return -1;
	/* the released events that are finished leave the set */
	for (size_t i = 0; i < s->nset;) {
		struct held *h = s->set[i];
		if (h->released && h->v <= s->committed) {
			s->set[i] = s->set[--s->nset];
			free(h);
			continue;
		}
		i++;
	}
	if (!s->haveread)
		return 0;
	/* before the oldest line handed out and not finished (a released
	 * event is in the set: its start counts below) */
	high = s->lastread;
	for (size_t i = 0; i < s->nfifo; i++)
		if (!s->fifo[s->fhead + i].h) {
			high = s->fifo[s->fhead + i].start;
			break;
		}
	s->dirty_tail = 0;
	low = high;
	for (size_t i = 0; i < s->nset; i++)
		if (s->set[i]->start < low)
			low = s->set[i]->start;
	if (s->sidename) {
		uint64_t keep = high > s->oldhigh ? high : s->oldhigh;
		for (size_t i = 0; i < s->nwas; i++)
			if (s->was[i] > s->lastread)
				any = 1;
		if (s->nset || any || keep > low) {
			if (writeside(s, keep) < 0)
				return -1;
		} else if (s->sidefile) {
			/* after the cursor: a side file left over by a crash here
			 * reads the same as none (its high is the cursor's) */
			if (s->ops->commit(s->impl, low) < 0)
				return -1;
			if (unlinkat(s->cdir, s->sidename, 0) < 0 && errno != ENOENT) {
				ev_warn("%s/%s: cannot delete:", s->cdirpath, s->sidename);
				return -1;
			}
			s->sidefile = 0;
			return 0;
		}
	}
	return s->ops->commit(s->impl, low);
}

static int
tsource_commit(void *impl, uint64_t pos)
{
	struct tsource *s = impl;

	if (pos > s->committed)
		s->committed = pos;
	while (s->nfifo && s->fifo[s->fhead].v <= s->committed)
		s->fhead++, s->nfifo--;
	if (s->nfifo == 0)
		s->fhead = 0;
	return settle(s);
}

/* --- handing out ------------------------------------------------------------------ */

static void
pushhand(struct tsource *s, uint64_t start, struct held *h)
{
	if (s->fhead + s->nfifo == s->cfifo) {
		if (s->fhead > 0) {
			memmove(s->fifo, s->fifo + s->fhead, s->nfifo * sizeof *s->fifo);
			s->fhead = 0;
		} else {
			s->cfifo = s->cfifo ? 2 * s->cfifo : 256;
			s->fifo = ev_reallocarray(s->fifo, s->cfifo, sizeof *s->fifo);
		}
	}
	struct hand *x = &s->fifo[s->fhead + s->nfifo++];
	x->v = s->vnext;
	x->start = start;
	x->h = h;
}

/* Past its expirytime: set aside (1), or not (0); -1 error. */
static int
expire(struct tsource *s, const char *p, size_t len, int64_t now)
{
	int64_t t;

	if (!s->expire || ev_timed_attr(p, len, "expirytime", &t) != 1 || t > now)
		return 0;
	ev_timed_ctr.expired++;
	if (s->expired && ev_sink_write(s->expired, p, len) < 0)
		return -1;
	return 1;
}

static int
release(struct tsource *s, struct ev_line *l, int64_t now)
{
	struct held *h = heap_pop(s);
	int r = expire(s, h->line, h->len, now);

	if (r < 0)
		return -1;
	ev_timed_ctr.released++;
	if (r > 0) {
		/* finished as soon as its dead letter is durable: out of the set at once */
		for (size_t i = 0; i < s->nset; i++)
			if (s->set[i] == h) {
				s->set[i] = s->set[--s->nset];
				break;
			}
		free(h->line);
		free(h);
		return 0;
	}
	ev_buf_reset(&s->out);
	ev_buf_add(&s->out, h->line, h->len);
	ev_buf_addc(&s->out, '\0');
	free(h->line);
	h->line = NULL;
	h->released = 1;
	h->v = s->vnext;
	pushhand(s, h->start, h);
	l->p = s->out.p;
	l->len = h->len;
	l->no = h->no;
	l->partial = 0;
	l->toolong = 0;
	l->pos = s->vnext++;
	return 1;
}

static void
hold(struct tsource *s, const struct ev_line *l, uint64_t start, int64_t due)
{
	struct held *h = ev_calloc(1, sizeof *h);

	h->key = l->pos;
	h->start = start;
	h->due = due;
	h->line = ev_malloc(l->len + 1);
	memcpy(h->line, l->p, l->len);
	h->line[l->len] = '\0';
	h->len = l->len;
	h->no = l->no;
	if (s->nset == s->cset) {
		s->cset = s->cset ? 2 * s->cset : 64;
		s->set = ev_reallocarray(s->set, s->cset, sizeof *s->set);
	}
	s->set[s->nset++] = h;
	heap_push(s, h);
	ev_timed_ctr.held++;
}

/* How long the inner source may wait: no longer than the caller allows
 * (timeout_ms, ending at deadline) nor than until the earliest held event
 * is due. */
static int
waitfor(const struct tsource *s, int timeout_ms, int64_t deadline, int64_t now)
{
	int t = timeout_ms;

	if (timeout_ms > 0 && (t = (int)(deadline - ev_mono_ms())) < 0)
		t = 0;
	if (s->nheap) {
		int64_t due = s->heap[0]->due - now;
		if (t < 0 || due < t)
			t = due > INT32_MAX ? INT32_MAX : (int)due;
	}
	return t;
}

/* The inner source has nothing now: AGAIN, or what to return. */
static int
idle(struct tsource *s, int timeout_ms, int64_t deadline)
{
	if (s->nheap && s->heap[0]->due <= ev_now_ms())
		return AGAIN;
	/* lines set aside after the last one handed out: commit them now, or
	 * they would be read again */
	if (s->nfifo == 0 && s->haveread && s->dirty_tail && settle(s) < 0)
		return EV_SRC_ERR;
	if ((timeout_ms > 0 && ev_mono_ms() < deadline) || timeout_ms < 0)
		return AGAIN;
	return EV_SRC_IDLE;
}

/* The inner source ended: AGAIN, or what to return. */
static int
ended(struct tsource *s, int timeout_ms)
{
	if (s->nheap && !s->durable) {
		/* the input ended and nothing keeps the held events: wait for
		 * them (a signal cuts the sleep short) */
		int64_t w = s->heap[0]->due - ev_now_ms();
		if (w > 0 && timeout_ms != 0)
			poll(NULL, 0, (int)(timeout_ms > 0 && timeout_ms < w ? timeout_ms : w));
		return s->heap[0]->due > ev_now_ms() ? EV_SRC_IDLE : AGAIN;
	}
	/* (held events stay held: the cursor or the group keeps them) */
	if (s->nfifo == 0 && s->dirty_tail && settle(s) < 0)
		return EV_SRC_ERR;
	return EV_SRC_END;
}

/* A line read: held, set aside or finished before a restart (AGAIN), or
 * handed out (EV_SRC_LINE); EV_SRC_ERR. */
static int
arrived(struct tsource *s, struct ev_line *l, int64_t now)
{
	uint64_t start = s->haveread ? s->lastread : l->pos > l->len ? l->pos - l->len - 1 : 0;
	int64_t due;
	int r;

	s->lastread = l->pos;
	s->haveread = 1;
	if (s->sidename && l->pos <= s->oldhigh && !inwas(s, l->pos))
		return AGAIN; /* finished before a restart */
	if (!l->toolong && s->hold && ev_timed_attr(l->p, l->len, "evnotbefore", &due) == 1 &&
	    due > now) {
		hold(s, l, start, due);
		s->dirty_tail = 1;
		return AGAIN;
	}
	if (!l->toolong && (r = expire(s, l->p, l->len, now)) != 0) {
		s->dirty_tail = 1;
		return r < 0 ? EV_SRC_ERR : AGAIN;
	}
	pushhand(s, start, NULL);
	l->pos = s->vnext++;
	return EV_SRC_LINE;
}

/* After held events are released the caller is told once that nothing
 * else is ready (EV_SRC_IDLE), so that it finishes its batch at once (its
 * outputs committed: a spool or file output makes them visible then)
 * instead of when the batch is full or old: a released event leaves on
 * time even while due events keep coming. */
static int
tsource_next(void *impl, struct ev_line *l, int timeout_ms)
{
	struct tsource *s = impl;
	int64_t deadline = timeout_ms > 0 ? ev_mono_ms() + timeout_ms : 0;

	if (s->pause) {
		s->pause = 0;
		return EV_SRC_IDLE;
	}
	for (;;) {
		int64_t now = ev_now_ms();
		int r;

		while (s->nheap && s->heap[0]->due <= now)
			if ((r = release(s, l, now)) != 0) {
				/* (once after a burst of them) */
				s->pause = r > 0 && !(s->nheap && s->heap[0]->due <= now);
				return r < 0 ? EV_SRC_ERR : EV_SRC_LINE;
			}
		r = s->ops->next(s->impl, l, waitfor(s, timeout_ms, deadline, now));
		if (r == EV_SRC_IDLE)
			r = idle(s, timeout_ms, deadline);
		else if (r == EV_SRC_END)
			r = ended(s, timeout_ms);
		else if (r == EV_SRC_LINE)
			r = arrived(s, l, now);
		if (r != AGAIN)
			return r;
	}
}

static int64_t
tsource_due(void *impl)
{
	struct tsource *s = impl;

	if (!s->nheap)
		return INT64_MAX;
	return ev_mono_ms() + (s->heap[0]->due - ev_now_ms());
}

static int
tsource_pollfd(void *impl)
{
	(void)impl;
	return -1; /* a held event's time comes without a descriptor */
}

static int
tsource_close(void *impl)
{
	struct tsource *s = impl;
	int r = 0;

	if (s->nfifo == 0 && s->dirty_tail)
		r = settle(s);
	if (s->ops->close(s->impl) < 0)
		r = -1;
	for (size_t i = 0; i < s->nset; i++) {
		free(s->set[i]->line);
		free(s->set[i]);
	}
	free(s->set);
	free(s->heap);
	free(s->fifo);
	free(s->was);
	if (s->cdir >= 0)
		close(s->cdir);
	free(s->cdirpath);
	free(s->sidename);
	ev_buf_free(&s->out);
	free(s);
	return r;
}

static const struct ev_source_ops tsource_ops = {
	.next = tsource_next, .commit = tsource_commit, .close = tsource_close,
	.pollfd = tsource_pollfd, .due = tsource_due
};

void *
ev_timed_source_open(const char *dir, int durable, const struct ev_source_conf *c,
    const struct ev_source_ops **ops, void *impl, const struct ev_source_ops *inner)
{
	struct tsource *s = ev_calloc(1, sizeof *s);
	struct stat st;

	s->ops = inner;
	s->impl = impl;
	s->hold = c->hold;
	s->expire = c->expire;
	s->expired = c->expired;
	s->vnext = 1;
	s->cdir = -1;
	s->durable = durable;
	if (dir && c->cursor && !c->group && c->hold) {
		size_t n = strlen(dir) + sizeof "/cursors";
		s->cdirpath = ev_malloc(n);
		snprintf(s->cdirpath, n, "%s/cursors", dir);
		n = strlen(c->cursor) + sizeof "..held";
		s->sidename = ev_malloc(n);
		snprintf(s->sidename, n, ".%s.held", c->cursor);
		s->mode = 0640;
		if ((s->cdir = open(s->cdirpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) < 0) {
			ev_warn("%s: cannot open directory:", s->cdirpath);
			goto fail;
		}
		if (fstatat(s->cdir, c->cursor, &st, AT_SYMLINK_NOFOLLOW) == 0)
			s->mode = st.st_mode & 0666;
		if (readside(s) < 0)
			goto fail;
		s->sidefile = 1;
	}
	*ops = &tsource_ops;
	return s;
fail:
	s->ops = NULL;
	if (s->cdir >= 0)
		close(s->cdir);
	free(s->was);
	free(s->cdirpath);
	free(s->sidename);
	free(s);
	return NULL;
}
