/* SPDX-License-Identifier: ISC */
/* AMQP topic patterns against types, as a RabbitMQ topic exchange matches them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "route/topic.h"
#include "route/topicset.h"

Test(topic, match)
{
	static const struct { const char *pat, *type; int want; } t[] = {
		/* exact */
		{ "order.placed", "order.placed", 1 },
		{ "order.placed", "order.placedx", 0 },
		{ "order.placed", "order", 0 },
		{ "order", "order", 1 },
		{ "order", "orders", 0 },
		{ "order", "", 0 },
		{ "", "", 1 },
		{ "", "a", 0 },
		/* '*': exactly one word */
		{ "order.*", "order.placed", 1 },
		{ "order.*", "order", 0 },
		{ "order.*", "order.a.b", 0 },
		{ "order.*", "order.", 1 },          /* one empty word */
		{ "order.*", "orderx.placed", 0 },
		{ "*", "order", 1 },
		{ "*", "", 0 },                      /* the empty string has no words */
		{ "*", "a.b", 0 },
		{ "*", ".", 0 },                     /* two empty words */
		{ "*.*", "a.b", 1 },
		{ "*.*", "a.", 1 },
		{ "*.*", ".", 1 },
		{ "*.*", "a", 0 },
		{ "*.*", "a.b.c", 0 },
		{ "*.placed", "order.placed", 1 },
		{ "*.placed", "placed", 0 },
		/* '#': zero or more words */
		{ "order.#", "order", 1 },
		{ "order.#", "order.placed", 1 },
		{ "order.#", "order.a.b.c", 1 },
		{ "order.#", "orders.placed", 0 },
		{ "order.#", "", 0 },
		{ "#", "", 1 },
		{ "#", "a", 1 },
		{ "#", "a.b.c", 1 },
		{ "#", "..", 1 },
		{ "#.#", "a.b", 1 },
		{ "#.done", "done", 1 },
		{ "#.done", "a.done", 1 },
		{ "#.done", "a.b.done", 1 },
		{ "#.done", "a.done.x", 0 },
		{ "#.done", "adone", 0 },
		{ "#.done", "done.done", 1 },
		/* '#' in the middle */
		{ "order.#.done", "order.done", 1 },
		{ "order.#.done", "order.x.done", 1 },
		{ "order.#.done", "order.x.y.done", 1 },
		{ "order.#.done", "order.x.done.y", 0 },
		{ "order.#.done", "order.done.done", 1 },
		{ "order.#.done", "orderdone", 0 },
		{ "order.#.done", "x.order.done", 0 },
		{ "a.#.b.#.c", "a.b.c", 1 },
		{ "a.#.b.#.c", "a.x.b.y.z.c", 1 },
		{ "a.#.b.#.c", "a.x.y.c", 0 },
		{ "a.#.#.b", "a.b", 1 },
		{ "a.#.*", "a", 0 },
		{ "a.#.*", "a.b", 1 },
		{ "a.#.*", "a.b.c", 1 },
		{ "#.*", "", 0 },
		{ "*.#", "a", 1 },
		{ "#.a.*", "x.a.a.b", 1 },
		{ "#.a.*", "x.a.b.c", 0 },
		/* empty words are words */
		{ "order..x", "order..x", 1 },
		{ "order.*.x", "order..x", 1 },
		{ "order.#.x", "order..x", 1 },
		{ "order..x", "order.y.x", 0 },
		{ "order.#", "order.", 1 },
		{ ".x", ".x", 1 },
		{ "*.x", ".x", 1 },
		{ "#", ".", 1 },
		{ "#.", "a.", 1 },
		{ "#.", "a", 0 },
		/* bytes are bytes */
		{ "Order.*", "order.placed", 0 },
		{ "bestellung.*", "bestellung.über", 1 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_buf err = { 0 };
		size_t col;
		struct ev_topic *p = ev_topic_compile(t[i].pat, strlen(t[i].pat), &err, &col);
		cr_assert_not_null(p, "%s: %s", t[i].pat, err.p);
		cr_expect_eq(ev_topic_match(p, t[i].type, strlen(t[i].type)), t[i].want,
		    "pattern '%s' against '%s': want %d", t[i].pat, t[i].type, t[i].want);
		ev_topic_free(p);
		ev_buf_free(&err);
	}
}

Test(topic, not_nul_terminated)
{
	struct ev_buf err = { 0 };
	size_t col;
	struct ev_topic *p = ev_topic_compile("order.placed.x", 12, &err, &col);
	struct ev_topic *q = ev_topic_compile("*.placed.x", 8, &err, &col);
	const char s[] = "order.placedXYZ";

	cr_expect(ev_topic_match(p, s, 12));
	cr_expect(!ev_topic_match(p, s, 15));
	cr_expect(ev_topic_match(q, s, 12));
	cr_expect(!ev_topic_match(q, s, 15));
	ev_topic_free(p);
	ev_topic_free(q);
}

Test(topic, matchall)
{
	static const struct { const char *pat; int all; } t[] = {
		{ "#", 1 }, { "#.#", 1 }, { "#.*", 0 }, { "a.#", 0 }, { "", 0 }, { "*", 0 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_buf err = { 0 };
		size_t col;
		struct ev_topic *p = ev_topic_compile(t[i].pat, strlen(t[i].pat), &err, &col);
		cr_expect_eq(ev_topic_matchall(p), t[i].all, "%s", t[i].pat);
		ev_topic_free(p);
	}
}

Test(topic, bad_words)
{
	static const struct { const char *pat; size_t col; } t[] = {
		{ "order.*x", 6 }, { "a#", 1 }, { "**", 0 }, { "a.b.#c.d", 4 }, { "x.##", 2 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_buf err = { 0 };
		size_t col = 99;
		cr_expect_null(ev_topic_compile(t[i].pat, strlen(t[i].pat), &err, &col), "%s", t[i].pat);
		cr_expect_eq(col, t[i].col, "%s: column %zu", t[i].pat, col);
		cr_expect_not_null(strstr(err.p, "whole word"), "%s", err.p);
		ev_buf_free(&err);
	}
}

/* A random pattern or topic of up to max words from words[]. */
static void
randwords(struct ev_buf *b, const char *const *words, size_t nwords, size_t max,
    unsigned *seed)
{
	size_t n = (size_t)rand_r(seed) % (max + 1);

	ev_buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		if (i)
			ev_buf_addc(b, '.');
		ev_buf_adds(b, words[(size_t)rand_r(seed) % nwords]);
	}
	ev_buf_addc(b, '\0');
}

/* The trie (topicset.h) gives, for every topic, exactly the patterns that
 * ev_topic_match accepts one by one, in order: random sets of patterns,
 * random topics, absent topics, and topics too long for the trie. */
Test(topic, set_equals_linear)
{
	static const char *const pw[] = { "a", "b", "c", "", "*", "#", "#", "*" };
	static const char *const tw[] = { "a", "b", "c", "" };
	unsigned seed = 19;

	for (int round = 0; round < 200; round++) {
		struct ev_topicset *set = ev_topicset_new();
		struct ev_topic *pats[64];
		size_t npats = 1 + (size_t)rand_r(&seed) % 64, got[64], want[64];
		struct ev_buf b = { 0 }, err = { 0 };

		for (size_t i = 0; i < npats; i++) {
			size_t col;
			randwords(&b, pw, 8, 5, &seed);
			pats[i] = ev_topic_compile(b.p, strlen(b.p), &err, &col);
			cr_assert_not_null(pats[i], "%s", b.p);
			ev_topicset_add(set, pats[i], i);
		}
		for (int k = 0; k < 200; k++) {
			size_t nw = 0, ng;
			int absent = k == 0, longone = k == 1;
			randwords(&b, tw, 4, 7, &seed);
			if (longone) {
				ev_buf_reset(&b);
				for (int j = 0; j < 70; j++)
					ev_buf_adds(&b, j ? ".a" : "a");
				ev_buf_addc(&b, '\0');
			}
			for (size_t i = 0; i < npats; i++)
				if (absent ? ev_topic_matchall(pats[i]) :
				    ev_topic_match(pats[i], b.p, strlen(b.p)))
					want[nw++] = i;
			ng = ev_topicset_match(set, absent ? NULL : b.p, strlen(b.p), got);
			cr_assert_eq(ng, nw, "topic '%s': %zu matches, want %zu", b.p, ng, nw);
			for (size_t i = 0; i < nw; i++)
				cr_assert_eq(got[i], want[i], "topic '%s': match %zu", b.p, i);
		}
		for (size_t i = 0; i < npats; i++)
			ev_topic_free(pats[i]);
		ev_topicset_free(set);
		ev_buf_free(&b);
		ev_buf_free(&err);
	}
}

/* A pattern of very many words (a rules file can hold one) neither
 * overflows the trie's walk nor changes its answers. */
Test(topic, set_long_patterns)
{
	struct ev_buf b = { 0 }, err = { 0 };
	struct ev_topicset *set = ev_topicset_new();
	struct ev_topic *p[3];
	size_t col, ids[3];

	for (int i = 0; i < 200000; i++)
		ev_buf_adds(&b, i ? ".#" : "#");
	ev_buf_adds(&b, ".done");
	p[0] = ev_topic_compile(b.p, b.len, &err, &col);
	ev_buf_reset(&b);
	for (int i = 0; i < 200000; i++)
		ev_buf_adds(&b, i ? ".*" : "*");
	p[1] = ev_topic_compile(b.p, b.len, &err, &col);
	ev_buf_reset(&b);
	for (int i = 0; i < 100000; i++)
		ev_buf_adds(&b, i ? ".#.a" : "#.a");
	p[2] = ev_topic_compile(b.p, b.len, &err, &col);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_not_null(p[i]);
		ev_topicset_add(set, p[i], i);
	}
	cr_expect_eq(ev_topicset_match(set, "a.b.done", 8, ids), 1);
	cr_expect_eq(ids[0], 0);
	cr_expect_eq(ev_topicset_match(set, "a.a.a", 5, ids), 0);
	cr_expect_eq(ev_topicset_match(set, "done", 4, ids), 1);
	for (size_t i = 0; i < 3; i++)
		ev_topic_free(p[i]);
	ev_topicset_free(set);
	ev_buf_free(&b);
	ev_buf_free(&err);
}
