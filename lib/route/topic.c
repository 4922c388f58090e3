/* SPDX-License-Identifier: ISC */
/* topic.c — AMQP topic patterns (see topic.h for the semantics).
 *
 * '#' matches any run of words, '*' exactly one: this is wildcard matching
 * over an alphabet of words, so the classic greedy matcher with one
 * backtrack point (the last '#' seen) is exact and needs no recursion and
 * no memory: when a later word fails, the last '#' swallows one more word
 * and matching resumes after it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "route/topic.h"

enum { W_LIT = EV_TOPIC_LIT, W_STAR = EV_TOPIC_STAR, W_HASH = EV_TOPIC_HASH };

struct word {
	size_t off, len;
	int kind;
};

struct ev_topic {
	char *pat;
	size_t len;
	struct word *w;
	size_t nw;
	int literal; /* no wildcard: the whole topic must equal pat */
	int all;     /* only '#' words: everything matches */
};

struct ev_topic *
ev_topic_compile(const char *pattern, size_t len, struct ev_buf *err, size_t *col)
{
	struct ev_topic *t = ev_calloc(1, sizeof *t);
	size_t o = 0;

	t->pat = ev_strndup(pattern, len);
	t->len = len;
	t->literal = t->all = 1;
	/* The empty pattern has no words; otherwise n dots make n+1 words. */
	while (len > 0) {
		const char *d = memchr(pattern + o, '.', len - o);
		size_t wl = d ? (size_t)(d - pattern) - o : len - o;
		const char *wp = pattern + o;
		int kind = W_LIT;

		if (wl == 1 && (*wp == '*' || *wp == '#')) {
			kind = *wp == '*' ? W_STAR : W_HASH;
		} else {
			const char *bad = NULL;
			for (size_t i = 0; i < wl && !bad; i++)
				if (wp[i] == '*' || wp[i] == '#')
					bad = wp + i;
			if (bad) {
				ev_buf_reset(err);
				ev_buf_printf(err, "'%c' must be a whole word (between dots) of the pattern",
				    *bad);
				*col = (size_t)(bad - pattern);
				ev_topic_free(t);
				return NULL;
			}
		}
		if (kind != W_LIT)
			t->literal = 0;
		if (kind != W_HASH)
			t->all = 0;
		if ((t->nw & (t->nw - 1)) == 0) /* room for twice as many at each power of 2 */
			t->w = ev_reallocarray(t->w, t->nw ? 2 * t->nw : 1, sizeof *t->w);
		t->w[t->nw++] = (struct word){ o, wl, kind };
		if (!d)
			break;
		o += wl + 1;
	}
	if (t->nw == 0)
		t->all = 0;
	return t;
}

/* A position in the topic: the offset of a word's first byte, or NOWORD
 * past the last word (so "a." can hold an empty last word at offset 2). */
#define NOWORD ((size_t)-1)

static size_t
wordend(const char *s, size_t n, size_t o)
{
	const char *d = memchr(s + o, '.', n - o);

	return d ? (size_t)(d - s) : n;
}

static size_t
nextword(const char *s, size_t n, size_t o)
{
	size_t e = wordend(s, n, o);

	return e < n ? e + 1 : NOWORD;
}

int
ev_topic_match(const struct ev_topic *t, const char *s, size_t n)
{
	size_t pi = 0, si = n ? 0 : NOWORD, star = NOWORD, starsi = 0;

	if (t->all)
		return 1;
	if (t->literal)
		return n == t->len && memcmp(s, t->pat, n) == 0;
	for (;;) {
		if (pi == t->nw && si == NOWORD)
			return 1;
		if (pi < t->nw && t->w[pi].kind == W_HASH) {
			star = pi++;
			starsi = si;
			continue;
		}
		if (pi < t->nw && si != NOWORD) {
			const struct word *w = &t->w[pi];
			size_t e = wordend(s, n, si);
			if (w->kind == W_STAR ||
			    (e - si == w->len && memcmp(s + si, t->pat + w->off, w->len) == 0)) {
				pi++;
				si = e < n ? e + 1 : NOWORD;
				continue;
			}
		}
		if (star == NOWORD || starsi == NOWORD)
			return 0;
		starsi = nextword(s, n, starsi);
		si = starsi;
		pi = star + 1;
	}
}

int
ev_topic_matchall(const struct ev_topic *t)
{
	return t->all;
}

size_t
ev_topic_nwords(const struct ev_topic *t)
{
	return t->nw;
}

enum ev_topic_word
ev_topic_word(const struct ev_topic *t, size_t i, const char **p, size_t *len)
{
	*p = t->pat + t->w[i].off;
	*len = t->w[i].len;
	return (enum ev_topic_word)t->w[i].kind;
}

void
ev_topic_free(struct ev_topic *t)
{
	if (!t)
		return;
	free(t->pat);
	free(t->w);
	free(t);
}
