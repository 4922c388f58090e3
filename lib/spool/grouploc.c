/* SPDX-License-Identifier: ISC */
/* grouploc.c — a spool read as a member of a consumer group (--group), as a
 * source that every tool's input loop uses like any other.
 *
 * Claims come from group.c; their lines are handed out in claim order.
 * Because claims are not in spool order (a redelivery comes after newer
 * events), a line's position, as the tool sees and commits it, is not a
 * spool offset but the number of lines this member has handed out: "done
 * up to N" is then unambiguous, and is turned back into the finished prefix
 * of each claim when the tool commits. A redelivered line carries its count
 * of deliveries (evdeliveries). The claim size adapts, like a prefetch
 * count: it doubles while claims are used up quickly (a fast pipeline takes
 * big batches, so coordination costs little) and halves when they last
 * (slow handlers take few at a time, so the other members get the rest).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "event/event.h"
#include "io/backend.h"
#include "io/watch.h"
#include "spool/group.h"
#include "spool/spool.h"

#define CLAIM_MIN 1
#define CLAIM_MAX 1024
#define FAST_MS 50   /* a claim used up sooner than this: take twice as many */
#define SLOW_MS 500  /* ... later than this: half as many */
#define COMMIT_MS 200 /* write finished events into the ledger at most this often */

struct claim {
	uint64_t start, end;
	uint32_t deliveries;
	size_t n, handed, done;
	uint64_t v0;            /* the member position of its first line */
	uint64_t *ends;         /* spool position after each line */
};

struct gsource {
	struct ev_spool *sp;
	struct ev_group *g;
	char *name, *spath;
	int follow;
	struct ev_sink *dead;
	struct ev_group_batch b;  /* the lines of the newest claim */
	struct claim *c;          /* unfinished claims, oldest first */
	size_t nc, cap;
	uint64_t vnext;           /* the member position of the next line */
	size_t size;              /* lines to claim next */
	int64_t claimed_at;
	struct ev_watch *w;
	int watchall;             /* the watch sees member deaths */
	int unwritten;            /* finished events not yet in the ledger */
	int64_t writtenat;
	struct ev_buf line, tmp;
};

/* The attributes of a dead letter, as JSON values, into a[0..3]. */
static void
deadattrs(struct ev_buf *a, const char *group, uint32_t deliveries)
{
	char when[32];

	ev_buf_adds(&a[0], "\"deliveries\"");
	ev_buf_printf(&a[3], "delivered %u times to members of group %s that ended before "
	    "finishing it", (unsigned)deliveries, group);
	ev_buf_addjstr(&a[1], a[3].p, a[3].len);
	ev_buf_printf(&a[2], "%u", (unsigned)deliveries);
	ev_buf_reset(&a[3]);
	ev_time_format(ev_now_ms(), when);
	ev_buf_addjstr(&a[3], when, strlen(when));
}

int
ev_group_bury(struct ev_sink *dead, const char *spool, const char *group, const char *line,
    size_t len, uint32_t deliveries, struct ev_buf *tmp)
{
	static const char *const names[4] = { "evdeadreason", "evdeaddetail", "evdeliveries",
	    "evdeadtime" };
	struct ev_buf a[4] = { { 0 } };
	int r = 0;

	deadattrs(a, group, deliveries);
	ev_buf_reset(&tmp[0]);
	ev_buf_add(&tmp[0], line, len);
	for (int i = 0; i < 4; i++) {
		ev_buf_reset(&tmp[1]);
		if (ev_event_setattr(&tmp[1], tmp[0].p, tmp[0].len, names[i], a[i].p) == 0) {
			struct ev_buf t = tmp[0];
			tmp[0] = tmp[1];
			tmp[1] = t;
		}
		ev_buf_free(&a[i]);
	}
	if (!dead) {
		ev_warn("%s: group %s: dead: %.*s", spool, group, (int)tmp[0].len, tmp[0].p);
		return 0;
	}
	if (!ev_quiet)
		ev_warn("%s: group %s: an event delivered %u times goes to %s", spool, group,
		    (unsigned)deliveries, ev_sink_name(dead));
	if (ev_sink_write(dead, tmp[0].p, tmp[0].len) < 0 || ev_sink_commit(dead) < 0)
		r = -1;
	return r;
}

/* A dead letter: the event with why, made durable before it is marked done. */
static int
bury(void *arg, const char *line, size_t len, uint32_t deliveries)
{
	struct gsource *s = arg;
	struct ev_buf tmp[2] = { s->line, s->tmp };
	int r = ev_group_bury(s->dead, s->spath, s->name, line, len, deliveries, tmp);

	s->line = tmp[0];
	s->tmp = tmp[1];
	return r;
}

static struct claim *
newest(struct gsource *s)
{
	return s->nc ? &s->c[s->nc - 1] : NULL;
}

/* Claim more; 1, 0 nothing now, -1. */
static int
claim(struct gsource *s)
{
	int64_t now = ev_mono_ms();
	struct claim *c;
	int r;

	if (s->claimed_at) {
		if (now - s->claimed_at < FAST_MS && s->size < CLAIM_MAX)
			s->size *= 2;
		else if (now - s->claimed_at > SLOW_MS && s->size > CLAIM_MIN)
			s->size /= 2;
	}
	if ((r = ev_group_claim(s->g, s->size, &s->b)) <= 0)
		return r;
	s->claimed_at = now;
	if (s->nc == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->c = ev_reallocarray(s->c, s->cap, sizeof *s->c);
	}
	c = &s->c[s->nc++];
	memset(c, 0, sizeof *c);
	c->start = s->b.start;
	c->end = s->b.line[s->b.n - 1].end;
	c->deliveries = s->b.deliveries;
	c->n = s->b.n;
	c->v0 = s->vnext;
	c->ends = ev_reallocarray(NULL, c->n, sizeof *c->ends);
	for (size_t i = 0; i < c->n; i++)
		c->ends[i] = s->b.line[i].end;
	return 1;
}

static void
handout(struct gsource *s, struct claim *c, struct ev_line *l)
{
	const struct ev_group_line *gl = &s->b.line[c->handed++];
	char num[16];

	l->p = s->b.buf.p + gl->off;
	l->len = gl->len;
	l->partial = 0;
	if (c->deliveries > 1) {
		snprintf(num, sizeof num, "%u", (unsigned)c->deliveries);
		ev_buf_reset(&s->line);
		if (ev_event_setattr(&s->line, l->p, l->len, "evdeliveries", num) == 0) {
			ev_buf_addc(&s->line, '\0');
			l->p = s->line.p;
			l->len = s->line.len - 1;
		}
	}
	l->pos = s->vnext++;
	l->no = l->pos;
}

/* A redelivered event handed out and not yet committed: no other claim is
 * taken until it is, so that if this member dies on a poison event, the
 * events it finished just before are not counted as delivered again (a
 * poison event is then the only one whose count grows with each death). */
static int
redelivery_open(const struct gsource *s)
{
	for (size_t i = 0; i < s->nc; i++)
		if (s->c[i].deliveries > 1 && s->c[i].done < s->c[i].handed)
			return 1;
	return 0;
}

/* Watch the spool's segments and the group's directory (new ledgers,
 * members that die). */
static int
startwatch(struct gsource *s)
{
	char *seg = ev_malloc(strlen(s->spath) + sizeof "/segments");
	int a;

	sprintf(seg, "%s/segments", s->spath);
	s->w = ev_watch_new(seg);
	free(seg);
	if (!s->w || (a = ev_watch_add(s->w, ev_group_dir(s->g))) < 0)
		return -1;
	s->watchall = a == 1;
	return 0;
}

static int flush(struct gsource *s);

static int
gsource_next(void *impl, struct ev_line *l, int timeout_ms)
{
	struct gsource *s = impl;
	int64_t deadline = timeout_ms > 0 ? ev_mono_ms() + timeout_ms : 0;

	for (;;) {
		struct claim *c = newest(s);
		if (c && c->handed < c->n) {
			handout(s, c, l);
			return EV_SRC_LINE;
		}
		if (redelivery_open(s))
			return EV_SRC_IDLE; /* the tool commits, then asks again */
		int r = claim(s);
		if (r < 0)
			return EV_SRC_ERR;
		if (r > 0)
			continue;
		if (!s->follow)
			return EV_SRC_END;
		int t = ev_source_waitleft(timeout_ms, deadline);
		if (t == 0)
			return EV_SRC_IDLE;
		if (!s->w) {
			/* Watching starts now: look once more before sleeping. */
			if (startwatch(s) < 0)
				return EV_SRC_ERR;
			continue;
		}
		if (flush(s) < 0)
			return EV_SRC_ERR;
		if (!s->watchall && (t < 0 || t > EV_WATCH_POLL_MS))
			t = EV_WATCH_POLL_MS;
		if ((r = ev_watch_wait(s->w, t)) < 0) {
			ev_warn("%s: wait:", s->spath);
			return EV_SRC_ERR;
		}
		if (r == 0 && (timeout_ms >= 0 || s->watchall))
			return EV_SRC_IDLE;
	}
}

/* The state of each claim as a span, for group.c. */
static struct ev_group_span *
spans(struct gsource *s)
{
	struct ev_group_span *v = ev_calloc(s->nc + 1, sizeof *v);

	for (size_t i = 0; i < s->nc; i++) {
		struct claim *c = &s->c[i];
		v[i].start = c->start;
		v[i].end = c->end;
		v[i].done = c->done ? c->ends[c->done - 1] : c->start;
		v[i].handed = c->handed ? c->ends[c->handed - 1] : c->start;
		v[i].deliveries = c->deliveries;
	}
	return v;
}

/* Write what is finished into the group's ledger, and forget the claims
 * that are (never the newest: its lines are still in s->b, and the
 * handing out goes on from it). */
static int
flush(struct gsource *s)
{
	struct ev_group_span *v;
	size_t k = 0;
	int r;

	if (!s->unwritten)
		return 0;
	v = spans(s);
	r = ev_group_commit(s->g, v, s->nc);
	free(v);
	if (r < 0)
		return -1;
	s->unwritten = 0;
	s->writtenat = ev_mono_ms();
	for (size_t i = 0; i < s->nc; i++) {
		if (s->c[i].done == s->c[i].n && i + 1 < s->nc) {
			free(s->c[i].ends);
			continue;
		}
		s->c[k++] = s->c[i];
	}
	s->nc = k;
	return 0;
}

/* A commit is written into the ledger at most every COMMIT_MS (a write
 * and an fsync under the group's lock, which the other members wait for),
 * at once when it finishes a redelivery (so that a death after it is not
 * blamed on it), and before the member waits or leaves. In between it is
 * kept here: a crash delivers those events again, as for any cursor. */
static int
gsource_commit(void *impl, uint64_t pos)
{
	struct gsource *s = impl;
	int now = 0;

	for (size_t i = 0; i < s->nc; i++) {
		struct claim *c = &s->c[i];
		if (pos < c->v0)
			break;
		size_t fin = pos - c->v0 + 1 < c->handed ? (size_t)(pos - c->v0 + 1) : c->handed;
		if (fin > c->done) {
			c->done = fin;
			s->unwritten = 1;
			now |= c->deliveries > 1;
		}
	}
	if (!s->unwritten || (!now && ev_mono_ms() - s->writtenat < COMMIT_MS))
		return 0;
	return flush(s);
}

static int
gsource_close(void *impl)
{
	struct gsource *s = impl;
	struct ev_group_span *v = spans(s);
	int r = ev_group_leave(s->g, v, s->nc);

	free(v);
	for (size_t i = 0; i < s->nc; i++)
		free(s->c[i].ends);
	free(s->c);
	ev_group_batch_free(&s->b);
	ev_watch_free(s->w);
	ev_spool_close(s->sp);
	ev_buf_free(&s->line);
	ev_buf_free(&s->tmp);
	free(s->name);
	free(s->spath);
	free(s);
	return r;
}

static void
gsource_counts(const void *impl, struct ev_loc_counts *add)
{
	const struct ev_loc_counts *c = ev_spool_counts(((const struct gsource *)impl)->sp);

	add->segopens += c->segopens;
	add->bytesread += c->bytesread;
	add->syncs += c->syncs;
}

static const struct ev_source_ops gsource_ops = {
	.next = gsource_next, .commit = gsource_commit, .close = gsource_close,
	.counts = gsource_counts
};

void *
ev_group_source_open(struct ev_spool *sp, const struct ev_source_conf *c,
    const struct ev_source_ops **ops)
{
	struct gsource *s = ev_calloc(1, sizeof *s);

	s->sp = sp;
	s->name = ev_strdup(c->group);
	s->spath = ev_strdup(ev_spool_path(sp));
	s->follow = c->follow != 0;
	s->dead = c->dead;
	s->size = CLAIM_MIN;
	s->vnext = 1;
	if (!(s->g = ev_group_join(sp, c->group, c->max_deliveries, bury, s))) {
		free(s->name);
		free(s->spath);
		free(s);
		return NULL;
	}
	*ops = &gsource_ops;
	return s;
}
