/* SPDX-License-Identifier: ISC */
/* Fuzz the fast-path predicates against libjq. The input is an expression
 * and an event, split at the first 0xff byte. The expression is either the
 * raw bytes (odd first byte: the parser on any text) or built from a small
 * grammar of the shapes pred.h supports, the bytes choosing each branch.
 * Whatever the fast path compiles, jq compiles; whatever it answers (true,
 * false, bad input) on the event, jq answers too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/jq.h"
#include "json/jsonscan.h"
#include "json/pred.h"

#include "fuzz.h"

struct gen {
	const uint8_t *p, *e;
	struct ev_buf *b;
};

static unsigned
pick(struct gen *g, unsigned n)
{
	return g->p < g->e ? *g->p++ % n : 0;
}

#define ADD(g, list) ev_buf_adds((g)->b, list[pick(g, sizeof list / sizeof list[0])])

static const char *paths[] = {
	".", ".a", ".b", ".a.b", ".a[0]", ".[\"a\"]", ".\"b\"", ".[0]", ".a.[1]", ".data.amount",
	".s",
};
static const char *lits[] = {
	"null", "true", "false", "0", "1", "-1", "1.5", "-0", "1e400", "\"a\"", "\"\"", "\"b\"",
	"\"\\u00e9\"", "$s", "$n", "500", "\"a\\u0000\"",
};
static const char *strs[] = { "\"a\"", "\"\"", "\"ab\"", "\"é\"", "$s", "\"\\u0000\"" };
static const char *ops[] = { " == ", " != ", " < ", " <= ", " > ", " >= " };
static const char *regexes[] = { "\"^a\"", "\"b$\"", "\"a|b\"", "\"^.$\"", "\"\\\\d+\"",
	"\"(?i)A\"", "\"é\"", "\"^$\"", "\"\\\\.\"", "\"a b\"" };
static const char *flags[] = { "\"\"", "\"i\"", "\"x\"", "\"n\"", "\"g\"", "\"l\"", "null" };
static const char *arith[] = { " + ", " - ", " * ", " / " };
static const char *unary[] = { " | length", " | ascii_downcase", " | ascii_upcase" };

static void
expr(struct gen *g, int depth)
{
	switch (pick(g, depth > 0 ? 19 : 6)) {
	case 0: ADD(g, paths); break;
	case 1: ADD(g, lits); break;
	case 2: ADD(g, paths); ev_buf_adds(g->b, " | startswith("); ADD(g, strs); ev_buf_adds(g->b, ")"); break;
	case 3: ADD(g, paths); ev_buf_adds(g->b, " | endswith("); ADD(g, strs); ev_buf_adds(g->b, ")"); break;
	case 4: ev_buf_adds(g->b, "has("); ADD(g, strs); ev_buf_adds(g->b, ")"); break;
	case 5: ADD(g, paths); ev_buf_adds(g->b, " | test("); ADD(g, strs); ev_buf_adds(g->b, ")"); break;
	case 6: case 7: expr(g, depth - 1); ADD(g, ops); expr(g, depth - 1); break;
	case 8: expr(g, depth - 1); ev_buf_adds(g->b, " and "); expr(g, depth - 1); break;
	case 9: expr(g, depth - 1); ev_buf_adds(g->b, " or "); expr(g, depth - 1); break;
	case 10: expr(g, depth - 1); ev_buf_adds(g->b, " // "); expr(g, depth - 1); break;
	case 11: ev_buf_adds(g->b, "("); expr(g, depth - 1); ev_buf_adds(g->b, ")"); break;
	case 12: expr(g, depth - 1); ev_buf_adds(g->b, " | "); expr(g, depth - 1); break;
	case 13:
		ADD(g, paths); ev_buf_adds(g->b, " | test("); ADD(g, regexes);
		if (pick(g, 2)) { ev_buf_adds(g->b, "; "); ADD(g, flags); }
		ev_buf_adds(g->b, ")");
		break;
	case 14:
		ev_buf_adds(g->b, pick(g, 2) ? "any(" : "all(");
		ADD(g, paths); ev_buf_adds(g->b, "[]; "); expr(g, depth - 1); ev_buf_adds(g->b, ")");
		break;
	case 15: ev_buf_adds(g->b, "("); expr(g, depth - 1); ADD(g, arith); expr(g, depth - 1); ev_buf_adds(g->b, ")"); break;
	case 16: ev_buf_adds(g->b, "("); ADD(g, paths); ADD(g, unary); ev_buf_adds(g->b, ")"); break;
	case 17: ADD(g, paths); ev_buf_adds(g->b, "[]"); ADD(g, ops); ADD(g, lits); break;
	default:
		ev_buf_adds(g->b, pick(g, 2) ? "select(" : "(");
		expr(g, depth - 1);
		ev_buf_adds(g->b, pick(g, 2) ? ") | not" : ")");
	}
}

/* libjq 1.6 compiles its builtins with every program (about 0.1 s): keep
 * the programs of recent expressions, as libFuzzer often mutates only the
 * event of an input. */
#define CACHE 512
static struct { char *expr; struct ev_jq *q; } cache[CACHE];

static struct ev_jq *
compiled(const char *expr, struct ev_jqargs *ja, struct ev_buf *err)
{
	size_t h = 5381;

	for (const char *c = expr; *c; c++)
		h = h * 33 + (unsigned char)*c;
	h %= CACHE;
	if (cache[h].expr && strcmp(cache[h].expr, expr) == 0)
		return cache[h].q;
	struct ev_jq *q = ev_jq_compile(expr, ja, err);
	if (q) {
		free(cache[h].expr);
		ev_jq_free(cache[h].q);
		cache[h].expr = ev_strdup(expr);
		cache[h].q = q;
	}
	return q;
}

static void
one(struct ev_pred *p, struct ev_jq *q, const char *x, const char *ev, size_t evlen)
{
	static struct ev_buf err, out;
	struct ev_jerr je = { 0, NULL, 0 };
	int mine = ev_pred_eval(p, ev, evlen, &je);

	if (mine == EV_PRED_DEFER)
		return;
	int theirs = ev_jq_run(q, ev, evlen, EV_JQ_TEST, &out, &err);
	if (mine == EV_PRED_BAD)
		FUZZ_ASSERT(ev_json_valid(ev, evlen, NULL) < 0, "%s: bad input, the scanner accepts it", x);
	else if (theirs == EV_JQ_BADINPUT)
		FUZZ_ASSERT(0, "%s: jq says bad input, the fast path %d", x, mine);
	else
		FUZZ_ASSERT(theirs == mine, "%s on %.*s: fast path %d, jq %d (%s)", x, (int)evlen, ev,
		    mine, theirs, theirs < 0 ? err.p : "");
}

static const char *edge[] = {
	"{\"a\":1}", "{\"a\":1.0}", "{\"a\":-0}", "{\"a\":\"1\"}", "{\"a\":null}", "{}",
	"{\"a\":true}", "{\"a\":false}", "{\"a\":1e400}", "{\"a\":[1,2]}", "{\"a\":{\"b\":1}}",
	"{\"a\":{\"b\":\"x\"},\"a\":5}", "{\"s\":\"\\u00e9\"}", "{\"s\":\"a\\u0000b\"}",
	"{\"b\":\"ab\",\"a\":\"a\"}", "[1,\"a\"]", "\"ab\"", "1", "null",
	"{\"data\":{\"amount\":501}}", "{\"a\":[{\"b\":2}],\"b\":\"\"}",
	"{\"a\":[1,\"é\",null,[2],{\"b\":\"a,]\\\"\"}],\"s\":\"A b\"}", "{\"a\":[],\"b\":[\"B\",\"12\"]}",
	"{\"a\":\"Éa\",\"b\":\"a\\nb\"}",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ev_predarg pargs[] = { { "s", "\"a\"" }, { "n", "1" } };
	static struct ev_jqargs *ja;
	static struct ev_buf x, err;
	const uint8_t *cut = memchr(data, 0xff, size);
	const char *ev = cut ? (const char *)cut + 1 : "{\"a\":1,\"b\":\"ab\"}";
	size_t evlen = cut ? size - (size_t)(cut + 1 - data) : strlen(ev);

	if (!ja) {
		ja = ev_jqargs_new();
		ev_jqargs_add(ja, "s", "a", 0, &err);
		ev_jqargs_add(ja, "n", "1", 1, &err);
	}
	if (!cut)
		cut = data + size;
	ev_buf_reset(&x);
	if (cut > data && (data[0] & 1)) {
		if (memchr(data + 1, 0, (size_t)(cut - data - 1)))
			return 0; /* a C string: jq and the parser see the same text */
		ev_buf_add(&x, data + 1, (size_t)(cut - data - 1));
	} else {
		struct gen g = { data + (cut > data), cut, &x };
		expr(&g, 4);
	}
	struct ev_pred *p = ev_pred_compile(x.p, pargs, 2, &err);
	if (!p)
		return 0;
	struct ev_jq *q = compiled(x.p, ja, &err);
	FUZZ_ASSERT(q, "the fast path compiles what jq rejects: %s: %s", x.p, err.p);
	/* the input's event, then the edge cases (a compile costs more than all of them) */
	for (size_t i = 0; i <= sizeof edge / sizeof edge[0]; i++) {
		if (i > 0) {
			ev = edge[i - 1];
			evlen = strlen(ev);
		}
		one(p, q, x.p, ev, evlen);
	}
	ev_pred_free(p);
	return 0;
}
