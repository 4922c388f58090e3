/* SPDX-License-Identifier: ISC */
/* topicset.c — a trie of pattern words for matching many topic patterns at
 * once (see topicset.h).
 *
 * A node is reached by a sequence of pattern words; it has at most one '*'
 * child, one '#' child and any number of literal children, these kept in
 * one hash table of edges (node, word) -> child for the whole trie. A match
 * walks the trie with the topic's words: a literal or '*' child takes one
 * word, a '#' child any number (zero included). Each (node, word position)
 * is visited at most once per match (a bit per position), so patterns with
 * many '#' cannot make the walk exponential; a run of '#' is one node, so
 * the walk's recursion is at most twice as deep as the topic has words. Topics of more than MAXWORDS
 * words (rare) are matched pattern by pattern with ev_topic_match instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/mem.h"
#include "route/topicset.h"

#define MAXWORDS 63 /* positions 0..MAXWORDS fit in a 64-bit set */

struct node {
	size_t star, hash;    /* children, 0 for none (the root is never a child) */
	size_t *ids, nids;    /* the patterns that end here */
	uint64_t seen, stamp; /* positions visited in the match of that stamp */
};

struct edge {
	uint64_t h;
	size_t from, to; /* to == 0: a free slot */
	const char *w;   /* the word, in the pattern (which outlives the set) */
	size_t len;
};

struct ev_topicset {
	struct node *n;
	size_t nn, capn;
	struct edge *e;
	size_t cap, ne;
	const struct ev_topic **pat;
	size_t *patid, npat;
	size_t *all, nall; /* the patterns that match everything ('#', '#.#') */
	uint64_t *idstamp; /* the match an id was last given in: each id once */
	size_t nidstamp;
	uint64_t stamp;
	const char *s;
	size_t wo[MAXWORDS + 1], wl[MAXWORDS + 1], nw;
	size_t *out, nout;
};

struct ev_topicset *
ev_topicset_new(void)
{
	struct ev_topicset *s = ev_calloc(1, sizeof *s);

	s->capn = 16;
	s->n = ev_calloc(s->capn, sizeof *s->n);
	s->nn = 1;
	s->cap = 64;
	s->e = ev_calloc(s->cap, sizeof *s->e);
	return s;
}

static uint64_t
wordhash(size_t from, const char *w, size_t len)
{
	return XXH3_64bits_withSeed(w, len, (uint64_t)from);
}

/* The slot of edge (from, w), or the free slot where it would go. */
static size_t
slot(const struct ev_topicset *s, uint64_t h, size_t from, const char *w, size_t len)
{
	size_t i = (size_t)h & (s->cap - 1);

	while (s->e[i].to && !(s->e[i].h == h && s->e[i].from == from && s->e[i].len == len &&
	    memcmp(s->e[i].w, w, len) == 0))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static void
grow(struct ev_topicset *s)
{
	struct edge *old = s->e;
	size_t ocap = s->cap;

	s->cap *= 2;
	s->e = ev_calloc(s->cap, sizeof *s->e);
	for (size_t i = 0; i < ocap; i++)
		if (old[i].to)
			s->e[slot(s, old[i].h, old[i].from, old[i].w, old[i].len)] = old[i];
	free(old);
}

static size_t
newnode(struct ev_topicset *s)
{
	if (s->nn == s->capn) {
		s->capn *= 2;
		s->n = ev_reallocarray(s->n, s->capn, sizeof *s->n);
	}
	s->n[s->nn] = (struct node){ 0 };
	return s->nn++;
}

static size_t
litchild(struct ev_topicset *s, size_t from, const char *w, size_t len)
{
	uint64_t h = wordhash(from, w, len);
	size_t i;

	if ((s->ne + 1) * 2 > s->cap)
		grow(s);
	i = slot(s, h, from, w, len);
	if (!s->e[i].to) {
		size_t to = newnode(s);
		s->e[i] = (struct edge){ h, from, to, w, len };
		s->ne++;
	}
	return s->e[i].to;
}

static size_t
child(struct ev_topicset *s, size_t from, enum ev_topic_word k, const char *w, size_t len)
{
	size_t to;

	if (k == EV_TOPIC_LIT)
		return litchild(s, from, w, len);
	to = k == EV_TOPIC_STAR ? s->n[from].star : s->n[from].hash;
	if (to)
		return to;
	to = newnode(s);
	if (k == EV_TOPIC_STAR)
		s->n[from].star = to;
	else
		s->n[from].hash = to;
	return to;
}

void
ev_topicset_add(struct ev_topicset *s, const struct ev_topic *t, size_t id)
{
	size_t at = 0, nw = ev_topic_nwords(t);
	struct node *x;

	for (size_t i = 0; i < nw; i++) {
		const char *w;
		size_t len;
		enum ev_topic_word k = ev_topic_word(t, i, &w, &len);
		/* "#.#" matches what "#" does: one '#' node for a run of them,
		 * so that the walk goes at most two nodes deep per word */
		if (k == EV_TOPIC_HASH && i > 0 &&
		    ev_topic_word(t, i - 1, &w, &len) == EV_TOPIC_HASH)
			continue;
		at = child(s, at, k, w, len);
	}
	x = &s->n[at];
	x->ids = ev_reallocarray(x->ids, x->nids + 1, sizeof *x->ids);
	x->ids[x->nids++] = id;
	s->pat = ev_reallocarray(s->pat, s->npat + 1, sizeof *s->pat);
	s->patid = ev_reallocarray(s->patid, s->npat + 1, sizeof *s->patid);
	s->pat[s->npat] = t;
	s->patid[s->npat++] = id;
	if (ev_topic_matchall(t)) {
		s->all = ev_reallocarray(s->all, s->nall + 1, sizeof *s->all);
		s->all[s->nall++] = id;
	}
	if (id >= s->nidstamp) {
		s->idstamp = ev_reallocarray(s->idstamp, id + 1, sizeof *s->idstamp);
		memset(s->idstamp + s->nidstamp, 0, (id + 1 - s->nidstamp) * sizeof *s->idstamp);
		s->nidstamp = id + 1;
	}
}

size_t
ev_topicset_count(const struct ev_topicset *s)
{
	return s->npat;
}

static void
emit(struct ev_topicset *s, size_t id)
{
	if (s->idstamp[id] == s->stamp)
		return;
	s->idstamp[id] = s->stamp;
	s->out[s->nout++] = id;
}

/* The topic's words into wo/wl; 0 when there are too many for the trie. */
static int
split(struct ev_topicset *s, const char *t, size_t n)
{
	size_t o = 0;

	s->s = t;
	s->nw = 0;
	while (n > 0) {
		const char *d = memchr(t + o, '.', n - o);
		size_t e = d ? (size_t)(d - t) : n;
		if (s->nw == MAXWORDS)
			return 0;
		s->wo[s->nw] = o;
		s->wl[s->nw++] = e - o;
		if (!d)
			break;
		o = e + 1;
	}
	return 1;
}

static size_t
findlit(const struct ev_topicset *s, size_t from, const char *w, size_t len)
{
	return s->e[slot(s, wordhash(from, w, len), from, w, len)].to;
}

/* Node at, with the topic's words from position i still to match. */
static void
visit(struct ev_topicset *s, size_t at, size_t i)
{
	struct node *x = &s->n[at];
	uint64_t bit = (uint64_t)1 << i;

	if (x->stamp != s->stamp) {
		x->stamp = s->stamp;
		x->seen = 0;
	}
	if (x->seen & bit)
		return;
	x->seen |= bit;
	if (i == s->nw)
		for (size_t k = 0; k < x->nids; k++)
			emit(s, x->ids[k]);
	if (x->hash)
		for (size_t j = i; j <= s->nw; j++)
			visit(s, x->hash, j);
	if (i < s->nw) {
		size_t c = findlit(s, at, s->s + s->wo[i], s->wl[i]);
		if (x->star)
			visit(s, x->star, i + 1);
		if (c)
			visit(s, c, i + 1);
	}
}

static int
idcmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

size_t
ev_topicset_match(struct ev_topicset *s, const char *topic, size_t n, size_t *ids)
{
	s->stamp++;
	s->out = ids;
	s->nout = 0;
	if (!topic) {
		for (size_t i = 0; i < s->nall; i++)
			emit(s, s->all[i]);
	} else if (!split(s, topic, n)) {
		for (size_t i = 0; i < s->npat; i++)
			if (ev_topic_match(s->pat[i], topic, n))
				emit(s, s->patid[i]);
	} else {
		visit(s, 0, 0);
	}
	if (s->nout > 1)
		qsort(ids, s->nout, sizeof *ids, idcmp);
	return s->nout;
}

void
ev_topicset_free(struct ev_topicset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nn; i++)
		free(s->n[i].ids);
	free(s->n);
	free(s->e);
	free(s->pat);
	free(s->patid);
	free(s->all);
	free(s->idstamp);
	free(s);
}
