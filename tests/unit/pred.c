/* SPDX-License-Identifier: ISC */
/* The fast path against libjq: random predicates of every supported shape,
 * on edge-case events, a generated corpus and GitHub's events. Any pair
 * where the fast path gives an answer must give jq's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "json/jq.h"
#include "json/pred.h"
#include "json/regex.h"

static unsigned long long rng;

static unsigned
rnd(unsigned n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(rng >> 33) % n;
}

#define PICK(a) (a[rnd(sizeof a / sizeof a[0])])

static const char *lits[] = {
	"null", "true", "false", "0", "1", "-0", "1.0", "-1", "0.1", "1e308", "1e1000", "-1e1000",
	"1e-400", "500", "81.51", "12345678901234567890", "\"\"", "\"1\"", "\"a\"", "\"x\"",
	"\"abc\"", "\"order.placed\"", "\"\\u00e9\"", "\"é\"", "\"a\\u0000b\"", "\"zz\"",
	"\"\\ud83d\\ude00\"", "\"USD\"", "\"PushEvent\"", "$s", "$n",
};
static const char *strs[] = {
	"\"\"", "\"a\"", "\"o\"", "\"order.\"", "\"placed\"", "\"\\u00e9\"", "\"é\"", "\"x\"",
	"\"Event\"", "\"Push\"", "\"b\"", "$s",
};
static const char *res[] = { "\"\"", "\"a\"", "\"o\"", "\"placed\"", "\"\\u00e9\"",
	"\"é\"", "\"Event\"", "\"er p\"", "\"USD\"", "\"ord\"" };
/* Regexes (jq string literals) and modifier strings for test(re; flags). */
static const char *regexes[] = {
	"\"^order\\\\.(placed|paid)$\"", "\"^o\"", "\"d$\"", "\"[0-9]+\"", "\"\\\\d{3}\"",
	"\"^$\"", "\"é\"", "\"\\u00e9\"", "\"(?i)usd\"", "\"a|b\"", "\"^.{3}$\"",
	"\"^.$\"", "\"\\\\\\\\\"", "\"x*\"", "\"(a)(?<n>b)\\\\1\"", "\"\\\\.\"",
	"\"[[:upper:]]\"", "\"\\\\bplaced\\\\b\"", "\"P.*E\"", "\"a b\"", "\"^\\\\s*$\"",
	"\"\\\\p{L}+$\"", "\"placed$\"", "\"^x.\"", "\".\\u0000\"", "\"É\"", "$s",
};
static const char *flags[] = { "\"\"", "\"i\"", "\"x\"", "\"g\"", "\"n\"", "\"s\"",
	"\"l\"", "\"p\"", "\"m\"", "\"ix\"", "null", "\"gi\"" };
/* Paths inside an element of an array, for any() and all(). */
static const char *elempaths[] = { ".", ".qty", ".sku", ".a", ".[0]", ".b.c" };
static const char *arith[] = { " + ", " - ", " * ", " / " };
static const char *keys[] = { "\"a\"", "\"b\"", "\"s\"", "\"amount\"", "\"data\"", "\"x\"",
	"\"id\"", "\"type\"", "\"action\"" };
static const char *cmps[] = { "==", "!=", "<", "<=", ">", ">=" };

struct corpus {
	const char **paths;
	size_t npaths;
	const char *const *arrays; /* paths to arrays, for .path[] (NULL-terminated) */
};

static void gen(struct ev_buf *b, const struct corpus *c, int depth);

static void
path(struct ev_buf *b, const struct corpus *c)
{
	ev_buf_adds(b, c->paths[rnd((unsigned)c->npaths)]);
}

/* A path to iterate: mostly one to an array. */
static const char *
arraypath(const struct corpus *c)
{
	size_t n = 0;
	while (c->arrays && c->arrays[n])
		n++;
	if (n == 0 || rnd(4) == 0)
		return c->paths[rnd((unsigned)c->npaths)];
	return c->arrays[rnd((unsigned)n)];
}

/* A value: a path, a literal, an alternative, a parenthesised predicate. */
static void
value(struct ev_buf *b, const struct corpus *c, int depth)
{
	switch (rnd(depth > 0 ? 10 : 4)) {
	case 0:
	case 1:
		path(b, c);
		break;
	case 6:
		ev_buf_adds(b, "(");
		value(b, c, depth - 1);
		ev_buf_adds(b, PICK(arith));
		value(b, c, depth - 1);
		ev_buf_adds(b, ")");
		break;
	case 7:
		ev_buf_adds(b, "(");
		path(b, c);
		ev_buf_adds(b, " | length)");
		break;
	case 8:
		ev_buf_adds(b, "(");
		path(b, c);
		ev_buf_adds(b, rnd(2) ? " | ascii_downcase)" : " | ascii_upcase)");
		break;
	case 2:
	case 3:
		ev_buf_adds(b, PICK(lits));
		break;
	case 4:
		ev_buf_adds(b, "(");
		path(b, c);
		ev_buf_adds(b, " // ");
		ev_buf_adds(b, rnd(2) ? PICK(lits) : c->paths[rnd((unsigned)c->npaths)]);
		ev_buf_adds(b, ")");
		break;
	default:
		ev_buf_adds(b, "(");
		gen(b, c, depth - 1);
		ev_buf_adds(b, ")");
	}
}

/* A predicate. */
static void
gen(struct ev_buf *b, const struct corpus *c, int depth)
{
	switch (rnd(depth > 0 ? 18 : 10)) {
	case 0:
	case 1:
	case 2:
		value(b, c, depth);
		ev_buf_printf(b, " %s ", PICK(cmps));
		value(b, c, depth);
		break;
	case 3:
		path(b, c);
		break;
	case 4:
		path(b, c);
		ev_buf_printf(b, " | %s(%s)", rnd(2) ? "startswith" : "endswith", PICK(strs));
		break;
	case 5:
		path(b, c);
		if (rnd(2))
			ev_buf_printf(b, " | test(%s)", PICK(res));
		else if (rnd(2))
			ev_buf_printf(b, " | test(%s)", PICK(regexes));
		else
			ev_buf_printf(b, " | test(%s; %s)", PICK(regexes), PICK(flags));
		break;
	case 6:
		if (rnd(2))
			path(b, c), ev_buf_adds(b, " | ");
		ev_buf_printf(b, "has(%s)", PICK(keys));
		break;
	case 7:
		path(b, c);
		ev_buf_adds(b, " | not");
		break;
	case 8:
		ev_buf_adds(b, PICK(lits));
		break;
	case 9: {
		/* a pipe into a relative path: .data | .amount > 5 */
		const char *p = c->paths[rnd((unsigned)c->npaths)];
		const char *q = rnd(2) ? "." : c->paths[rnd((unsigned)c->npaths)];
		ev_buf_printf(b, "%s | %s %s %s", p, q, PICK(cmps), PICK(lits));
		break;
	}
	case 10:
	case 11:
		ev_buf_adds(b, "(");
		gen(b, c, depth - 1);
		ev_buf_adds(b, rnd(2) ? ") and (" : ") or (");
		gen(b, c, depth - 1);
		ev_buf_adds(b, ")");
		break;
	case 12:
		ev_buf_adds(b, "(");
		gen(b, c, depth - 1);
		ev_buf_adds(b, ") | not");
		break;
	case 13:
		ev_buf_adds(b, "select(");
		gen(b, c, depth - 1);
		ev_buf_adds(b, ")");
		break;
	case 14:
		ev_buf_adds(b, "(");
		gen(b, c, depth - 1);
		ev_buf_adds(b, ") // ");
		value(b, c, depth - 1);
		break;
	case 15:
	case 16: {
		/* any(.path[]; cond), all(.path[]; cond): cond on the elements */
		static const char *const elemarrays[] = { ".", ".a", NULL };
		static const struct corpus elem = { elempaths, sizeof elempaths / sizeof elempaths[0],
			elemarrays };
		ev_buf_printf(b, "%s(%s[]; ", rnd(2) ? "any" : "all", arraypath(c));
		gen(b, &elem, depth - 1);
		ev_buf_adds(b, ")");
		break;
	}
	default:
		path(b, c);
		ev_buf_adds(b, " | select(");
		gen(b, c, depth - 1);
		ev_buf_adds(b, ")");
	}
}

/* nexpr random predicates on every line; returns the pairs compared. */
static size_t
differ(const struct corpus *c, char **lines, size_t nlines, int nexpr, unsigned seed)
{
	static const struct ev_predarg pargs[] = { { "s", "\"order.placed\"" }, { "n", "500" } };
	struct ev_jqargs *ja = ev_jqargs_new();
	struct ev_buf expr = { 0 }, err = { 0 }, out = { 0 };
	size_t compared = 0, deferred = 0;

	ev_jqargs_add(ja, "s", "order.placed", 0, &err);
	ev_jqargs_add(ja, "n", "500", 1, &err);
	rng = seed;
	for (int i = 0; i < nexpr; i++) {
		ev_buf_reset(&expr);
		switch (i % 8) {
		case 0: /* .path[] OP literal, where its outputs are the answer */
			ev_buf_printf(&expr, "%s[] %s %s", arraypath(c), PICK(cmps), PICK(lits));
			break;
		case 1:
			ev_buf_printf(&expr, "select(%s %s %s[])", PICK(lits), PICK(cmps), arraypath(c));
			break;
		default:
			gen(&expr, c, 3);
		}
		struct ev_jq *q = ev_jq_compile(expr.p, ja, &err);
		struct ev_pred *p = ev_pred_compile(expr.p, pargs, 2, &err);
		if (!q) { /* a constant division by zero: neither may take it */
			cr_assert(!p, "the fast path takes %s, jq does not", expr.p);
			continue;
		}
		if (!p && (strstr(err.p, "division by zero") || strstr(err.p, "not a number"))) {
			ev_jq_free(q); /* 0/0, $n/0: jq's error at run time, left to it */
			continue;
		}
		cr_assert(p, "no fast path for %s: %s", expr.p, err.p);
		for (size_t j = 0; j < nlines; j++) {
			struct ev_jerr jerr;
			size_t len = strlen(lines[j]);
			int r = ev_pred_eval(p, lines[j], len, &jerr);
			cr_assert(r != EV_PRED_BAD, "%s: %s", lines[j], jerr.msg);
			if (r == EV_PRED_DEFER) {
				deferred++;
				continue;
			}
			int want = ev_jq_run(q, lines[j], len, EV_JQ_TEST, &out, &err);
			cr_assert(want >= 0, "%s on %s: fast path says %d, jq fails: %s", expr.p,
			    lines[j], r, err.p);
			cr_assert_eq(r, want > 0, "%s on %s: fast path %d, jq %d", expr.p, lines[j],
			    r, want);
			compared++;
		}
		ev_pred_free(p);
		ev_jq_free(q);
	}
	ev_jqargs_free(ja);
	ev_buf_free(&expr);
	ev_buf_free(&err);
	ev_buf_free(&out);
	cr_log_info("%zu pairs compared, %zu deferred to jq", compared, deferred);
	return compared;
}

static char *edge[] = {
	"{\"a\":1}", "{\"a\":1.0}", "{\"a\":-0}", "{\"a\":0}", "{\"a\":\"1\"}", "{\"a\":null}",
	"{}", "{\"a\":true}", "{\"a\":false}", "{\"a\":1e308}", "{\"a\":1e400}",
	"{\"a\":-1e400}", "{\"a\":[1,2]}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":\"x\"},\"a\":5}",
	"{\"a\":5,\"a\":{\"b\":2}}", "{\"s\":\"\\u00e9\"}", "{\"s\":\"é\"}",
	"{\"s\":\"order.placed\"}", "{\"s\":\"order\\u002eplaced\"}",
	"{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"\\udc00\"}", "{\"s\":\"a\\u0000b\"}",
	"{\"s\":\"\"}", "{\"c\":[1,\"x\",null]}", "{\"c\":[]}", "{\"c\":{\"0\":1}}",
	"{\"n\":12345678901234567890}", "{\"n\":0.1}", "{\"n\":1e-400}",
	"{\"a\":\"abc\",\"b\":\"abd\"}", "{\"a\":[1],\"b\":[1]}", "{\"a\":{},\"b\":{}}",
	"{\"a\":\"x\",\"s\":\"x\"}", "{\"a\":500,\"b\":500.0,\"n\":-0.0}",
	"{\"s\":\"order.placed\",\"s\":\"zz\"}", "{\"a\":{\"b\":null,\"x\":1}}",
	"{\"data\":{\"amount\":501,\"x\":null},\"type\":\"order.placed\"}",
	"{\"data\":null,\"type\":\"x\"}", "{\"data\":\"s\",\"id\":\"\"}",
	" { \"a\" : \"\\u0061\" , \"b\" : [ ] } ", "{\"a\":\"\\\"\",\"b\":\"\\\\\"}",
	"{\"a\":\"A\",\"b\":\"a\"}", "{\"a\":\"é\",\"b\":\"z\"}", "{\"b\":1e-5,\"a\":100000}",
};

static const char *edgepaths[] = { ".a", ".b", ".s", ".n", ".c", ".a.b", ".c[0]", ".c[1]",
	".missing", ".s.x", ".data", ".data.amount", ".type", ".[\"a\"]", ".\"s\"", ".a.x",
	".items" };

/* Random objects of the edge-case values under the keys the paths read. */
static const char *edgevals[] = {
	"null", "true", "false", "0", "-0", "1", "1.0", "-1", "0.1", "1e308", "1e400", "-1e400",
	"1e-400", "500", "500.0", "12345678901234567890", "\"\"", "\"1\"", "\"a\"", "\"x\"",
	"\"abc\"", "\"order.placed\"", "\"order\\u002eplaced\"", "\"\\u00e9\"", "\"é\"",
	"\"a\\u0000b\"", "\"\\ud83d\\ude00\"", "\"\\udc00\"", "\"zz\"", "[]", "[1,\"x\"]",
	"{}", "{\"b\":1}", "{\"b\":\"x\",\"x\":null}", "{\"amount\":501}", "[null]",
	"\"ÉCOLE\"", "\"école\"", "\"order.placed\\n\"", "\"Order.Paid\"", "\"USD\"",
	"\"a b\"", "\"ab\"", "\"x\\u0000\"", "\"\\u00c9\"", "\"123\"", "\"   \"",
	"[{\"qty\":3},{\"qty\":1}]", "[{\"qty\":\"5\"},{\"sku\":\"a\"}]",
	"[1,\"x\",null,[2],{\"a\":1}]", "[ 1 , 2 , 3 ]", "[\"a,]\\\"\", \"b\"]",
	"[[1,[2]],{\"a\":[3]}]", "[true,false]", "[\"\\u00e9\",\"é\"]", "[{\"b\":{\"c\":1}}]",
	"[-0, 0.5, 1e400]", "[\"order.paid\"]", "{\"qty\":3,\"sku\":\"Z\"}",
	"{\"b\":1,\"b\":2}", "{\"\\u0062\":1,\"b\":2,\"c\":{}}", "{ \"x\" : [ ] , \"y\" : \"}\" }",
};
static const char *edgekeys[] = { "a", "b", "s", "n", "c", "data", "type", "items" };

Test(pred, edge_cases)
{
	enum { NRAND = 250 };
	static const char *const arrays[] = { ".c", ".items", ".a", NULL };
	struct corpus c = { edgepaths, sizeof edgepaths / sizeof edgepaths[0], arrays };
	size_t nfixed = sizeof edge / sizeof edge[0];
	char *lines[sizeof edge / sizeof edge[0] + NRAND];
	struct ev_buf b = { 0 };

	rng = 99;
	memcpy(lines, edge, sizeof edge);
	for (size_t i = 0; i < NRAND; i++) {
		ev_buf_reset(&b);
		ev_buf_adds(&b, "{");
		for (unsigned k = 0, nk = rnd(6); k < nk; k++) /* duplicates happen */
			ev_buf_printf(&b, "%s\"%s\":%s", k ? "," : "", PICK(edgekeys), PICK(edgevals));
		ev_buf_adds(&b, "}");
		lines[nfixed + i] = ev_strdup(b.p);
	}
	size_t n = differ(&c, lines, nfixed + NRAND, 80, 1);
	cr_expect_geq(n, 7000);
	for (size_t i = 0; i < NRAND; i++)
		free(lines[nfixed + i]);
	ev_buf_free(&b);
}

static size_t
readlines(FILE *f, char ***out)
{
	char *line = NULL, **v = NULL;
	size_t cap = 0, n = 0, vcap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (n == vcap) /* doubling: ASan's realloc always copies */
			v = ev_reallocarray(v, vcap = vcap ? 2 * vcap : 64, sizeof *v);
		v[n++] = ev_strdup(line);
	}
	free(line);
	*out = v;
	return n;
}

static void
freelines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char *genpaths[] = { ".type", ".data.amount", ".data.currency", ".subject",
	".specversion", ".data.method.type", ".data.items[0].sku", ".data.items[0].qty", ".id",
	".data", ".time", ".data.attempt", ".nope", ".source", ".data.items" };

Test(pred, generated_corpus)
{
	FILE *f = popen("sh tests/gen-events.sh 2000 0 3", "r");
	char **lines;
	cr_assert_not_null(f, "tests/gen-events.sh: %s", strerror(errno));
	size_t n = readlines(f, &lines);
	pclose(f);
	cr_assert_eq(n, 2000, "tests/gen-events.sh made %zu events, not 2000", n);
	static const char *const arrays[] = { ".data.items", NULL };
	struct corpus c = { genpaths, sizeof genpaths / sizeof genpaths[0], arrays };
	cr_expect_geq(differ(&c, lines, n, 20, 7), 20000);
	freelines(lines, n);
}

/* expr on every line: the fast path compiles it and agrees with jq
 * wherever it answers; returns how many lines it left to jq. */
static size_t
agree(const char *expr, char **lines, size_t n)
{
	struct ev_buf err = { 0 }, out = { 0 };
	struct ev_jq *q = ev_jq_compile(expr, NULL, &err);
	cr_assert(q, "jq rejects %s: %s", expr, err.p);
	struct ev_pred *p = ev_pred_compile(expr, NULL, 0, &err);
	cr_assert(p, "no fast path for %s: %s", expr, err.p);
	size_t deferred = 0;
	for (size_t j = 0; j < n; j++) {
		struct ev_jerr jerr;
		size_t len = strlen(lines[j]);
		int r = ev_pred_eval(p, lines[j], len, &jerr);
		cr_assert(r != EV_PRED_BAD, "%s: %s", lines[j], jerr.msg);
		if (r == EV_PRED_DEFER) {
			deferred++;
			continue;
		}
		int want = ev_jq_run(q, lines[j], len, EV_JQ_TEST, &out, &err);
		cr_assert(want >= 0 && r == (want > 0), "%s on %s: fast path %d, jq %d", expr,
		    lines[j], r, want);
	}
	ev_pred_free(p);
	ev_jq_free(q);
	ev_buf_free(&err);
	ev_buf_free(&out);
	return deferred;
}

/* The shapes of real filters (issue 19) on the generated corpus: answered on
 * the fast path, as jq answers, with no line left to jq unless jq raises an
 * error there (then at most that many). */
Test(pred, real_filters)
{
	static const struct { const char *expr; size_t maxdefer; } fs[] = {
		{ "(.type | test(\"^order\\\\.(placed|paid)$\")) and any(.data.items[]; .qty > 2)", 0 },
		{ "select((.type | test(\"^order\\\\.(placed|paid)$\")) and any(.data.items[]; .qty > 2))", 0 },
		{ ".type | test(\"PLACED$\"; \"i\")", 0 },
		{ ".subject | test(\"^orders/ord-0+[1-9]\\\\d*$\")", 0 },
		{ ".data.customer.address.city // \"\" | test(\"^\\\\p{Lu}\\\\p{Ll}+$\")", 0 },
		{ "(.type | startswith(\"order.\")) and all(.data.items[]; .sku | test(\"^SKU-\\\\d{5}$\"))", 0 },
		{ "(.data.customer.address.city // \"\" | ascii_downcase) == \"münchen\"", 0 },
		{ ".data.currency // \"\" | ascii_upcase | . == \"USD\"", 0 },
		{ "(.data.amount // 0) * 1.2 > 600", 0 },
		{ "(.data.amount // 0) - (.data.cart_total // 0) / 2 >= 100", 0 },
		{ ".data.amount - 1 > 100", 1000 }, /* null - 1: jq's error */
		{ "(.data.items | length) > 2", 0 },
		{ "(.subject | length) >= 20", 0 },
		{ "(.data | length) > 4", 0 },
		{ "select(.data.items[] != null)", 1000 }, /* null[] elsewhere: jq's error */
	};
	FILE *f = popen("sh tests/gen-events.sh 1000 0 5", "r");
	char **lines;
	cr_assert_not_null(f, "tests/gen-events.sh: %s", strerror(errno));
	size_t n = readlines(f, &lines);
	pclose(f);
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
		size_t d = agree(fs[i].expr, lines, n);
		cr_log_info("%s: %zu of %zu lines left to jq", fs[i].expr, d, n);
		cr_expect_leq(d, fs[i].maxdefer, "%s: %zu of %zu lines left to jq", fs[i].expr, d, n);
	}
	freelines(lines, n);
}

static const char *ghpaths[] = { ".type", ".actor.login", ".repo.name", ".payload.action",
	".public", ".payload.size", ".org.id", ".payload.ref", ".created_at", ".payload",
	".payload.commits[0].author.name", ".actor.id", ".org" };

Test(pred, github_events)
{
	FILE *f = fopen("tests/data/github-events.ndjson", "r");
	cr_assert(f, "tests/data/github-events.ndjson: cannot open it (run from the top of the tree)");
	char **lines;
	size_t n = readlines(f, &lines);
	fclose(f);
	static const char *const arrays[] = { ".payload.commits", ".payload.pages", NULL };
	struct corpus c = { ghpaths, sizeof ghpaths / sizeof ghpaths[0], arrays };
	cr_expect_geq(differ(&c, lines, n, 30, 11), 5000);
	freelines(lines, n);
}

/* Shapes that must go to libjq, and shapes that must not. */
Test(pred, shapes)
{
	static const char *fast[] = {
		".type == \"order.placed\"", "\"order.placed\" == .type", ".a", "not", "true",
		".data.amount > 500 and .type != \"x\"", "(.a == 1) | not", ".a | not",
		".type | startswith(\"order.\")", "has(\"data\")", ".data | has(\"amount\")",
		"select(.a)", "(.a // 0) > 5", ".a[0].b == -1", ".[\"a\"] == null", "$s == .a",
		".type | test(\"placed\")", ".data | .amount >= 1e3",
		".a + 1 > 2", ".[] == 1", ".a | length > 1", ".type | test(\"^order\")",
		".a | ascii_downcase == \"x\"", ".type | test(\"^order\\\\.(placed|paid)$\"; \"ix\")",
		"(.type | test(\"^order\\\\.(placed|paid)$\")) and any(.data.items[]; .qty > 2)",
		"all(.a[]; .b | test(\"x\"; null))", "select(.a.b[] >= 2)", "1 < .a[]",
		".a * 2 - .b / 4 > 10", "any(.a[]; any(.b[]; . == 1))", "(.a | length) + 1 == 3",
		"1 / 2 < .a", ".a / 0 > 1", "(1e308 * 10) > .a", "null + 1 == .a",
	};
	static const char *slow[] = {
		".a == [1]", ".a, .b", "(.a | .b) // .c | has(\"x\")", ".a? == 1", "..",
		".a as $x | $x", "\"\\(.a)\" == \"1\"", ".a[-1] == 1", "$unknown == 1",
		"startswith(\"a\"; \"b\")", ".a ==\r1", "\r.a", /* jq 1.6 refuses a CR in a program */
		".a[] | not", "(.a[] > 1) and true", "any(.a[]; .b[] > 1)", ".a[] == .b",
		".a[] > 1 | not", ".a | select(.b[] > 1)", ".a[].b > 1", ".a[]? > 1",
		".type | test(\"(\")", ".type | test(\"a\"; \"q\")", ".type | test(.a)",
		".a % 2 == 0", ".a += 1", "any(.a; . > 1)", "any(.a[])", "all(.[]; . > 1; 2)",
		".a | length(1)", ".a[] * 2 > 1", "-.a > 1", ".type | match(\"a\")",
		"1 / 0 > .a", "(1 + 2) / 0 == .a", "1e1000 / 1 == .a", "0 / 0 == .a",
		".a + (1 - 1) / 0", "(null + 1e400) / 1 > .a",
	};
	static const struct ev_predarg a[] = { { "s", "\"x\"" } };
	struct ev_buf why = { 0 };
	for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++) {
		struct ev_pred *p = ev_pred_compile(fast[i], a, 1, &why);
		cr_expect(p, "%s: %s", fast[i], why.p);
		ev_pred_free(p);
	}
	for (size_t i = 0; i < sizeof slow / sizeof slow[0]; i++) {
		struct ev_pred *p = ev_pred_compile(slow[i], a, 1, &why);
		cr_expect(!p, "%s compiled", slow[i]);
		cr_expect(!p && why.len > 0, "%s: no reason", slow[i]);
		ev_pred_free(p);
	}
	ev_buf_free(&why);
}

/* ev_pred_dump writes what jq -c prints, or nothing. */
Test(pred, dump)
{
	static const char *vals[] = { "null", "true", "false", "0", "-0", "1", "-12", "007x",
		"123456789012345", "1234567890123456", "-123456789012345", "1.0", "1e2", "0.1",
		"\"\"", "\"abc\"", "\"é\"", "\"a\\u0062\"", "\"\\n\"", "\"a\x7f\"", "\"\\u007f\"",
		"\"\xf0\x9f\x98\x80\"", "[]", "{}", "[1, 2]", "{\"a\" : 1}" };
	struct ev_buf err = { 0 }, got = { 0 }, want = { 0 }, line = { 0 };
	struct ev_jpath *k = ev_jpath_compile(".k", &err);
	struct ev_jq *q = ev_jq_compile(".k", NULL, &err);
	size_t dumped = 0;
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		struct ev_jval v;
		struct ev_jerr jerr;
		ev_buf_reset(&line);
		ev_buf_printf(&line, "{\"k\":%s}", vals[i]);
		if (ev_json_scan(line.p, line.len, &k, 1, &v, &jerr) < 0)
			continue; /* 007x */
		ev_buf_reset(&got);
		ev_buf_reset(&want);
		if (!ev_pred_dump(&v, &got)) {
			cr_expect_eq(got.len, 0, "%s", vals[i]);
			continue;
		}
		dumped++;
		cr_assert_eq(ev_jq_run(q, line.p, line.len, EV_JQ_KEY, &want, &err), 1);
		cr_expect(got.len == want.len && memcmp(got.p, want.p, got.len) == 0,
		    "%s: [%.*s] jq [%s]", vals[i], (int)got.len, got.p, want.p);
	}
	cr_expect_eq(dumped, 12);
	ev_jpath_free(k);
	ev_jq_free(q);
	ev_buf_free(&err);
	ev_buf_free(&got);
	ev_buf_free(&want);
	ev_buf_free(&line);
}

/* A decoded JSON string (text j) appended to out; 0 if j is not a string. */
static int
jstr(const char *j, struct ev_buf *out)
{
	struct ev_buf err = { 0 };
	struct ev_jpath *dot = ev_jpath_compile(".", &err);
	struct ev_jval v;
	int ok = ev_json_scan(j, strlen(j), &dot, 1, &v, NULL) == 0 && v.type == EV_J_STRING;
	if (ok)
		ev_jval_str(&v, out);
	ev_jpath_free(dot);
	ev_buf_free(&err);
	return ok;
}

/* json/regex.h against jq 1.6 itself: every regex with every modifier
 * string on strings with escapes, NULs, newlines, case and non-ASCII
 * letters; jq's answer (true, false, or an error) from one jq run over the
 * table. */
Test(pred, regex_table)
{
	static const char *subjects[] = { "\"\"", "\"a\"", "\"ab\"", "\"a b\"", "\"A B\"", "\"abc\"",
		"\"order.placed\"", "\"order.paid\"", "\"Order.Paid\"", "\"order.placed\\n\"",
		"\"x\\norder.paid\"", "\"orderXplaced\"", "\"USD\"", "\"usd\"", "\"é\"", "\"É\"",
		"\"\\u00e9\"", "\"école\"", "\"ÉCOLE\"", "\"a\\u0000b\"", "\"\\u0000\"", "\"x\\u0000\"",
		"\"\\ud83d\\ude00\"", "\"😀x\"", "\"\\\\\"", "\"a\\\\b\"", "\"123\"", "\"x12345\"",
		"\"   \"", "\"\\t\\n\"", "\"Push Event\"", "\"placed\"", "\"b\\nplaced\"", "\"\\udc00\"",
		"\"ab\\u00e9\"", "\"xé\"", "\"ée\"", "\"placedd\"", "\"ba\"", "\"aab\"" };
	static const char *table_regexes[] = {
		"\"^order\\\\.(placed|paid)$\"", "\"^o\"", "\"d$\"", "\"[0-9]+\"", "\"\\\\d{3}\"",
		"\"^$\"", "\"é\"", "\"\\u00e9\"", "\"(?i)usd\"", "\"a|b\"", "\"^.{3}$\"", "\"^.$\"",
		"\"\\\\\\\\\"", "\"x*\"", "\"(a)(?<n>b)\\\\1\"", "\"(a)b\\\\1\"", "\"\\\\.\"",
		"\"[[:upper:]]\"", "\"\\\\bplaced\\\\b\"", "\"P.*E\"", "\"a b\"", "\"^\\\\s*$\"",
		"\"\\\\p{L}+$\"", "\"placed$\"", "\"^x.\"", "\".\\u0000\"", "\"É\"", "\"^.b\"",
		"\"a.b\"", "\"(\"", "\"[\"", "\"a{2,1}\"", "\"(?<x>a)\\\\k<x>\"", "\"^\\\\w+$\"",
		"\"(?i)é\"", "\"\\\\A\\\\z\"", "\"b\\\\Z\"", "\"e$\"", "\"a++\"", "\"(?=a)\"", "\"\\\\x{e9}\"",
	};
	static const char *table_flags[] = { "null", "\"\"", "\"i\"", "\"x\"", "\"g\"", "\"n\"",
		"\"s\"", "\"l\"", "\"p\"", "\"m\"", "\"ix\"", "\"gin\"", "\"q\"", "\"I\"", "\"é\"" };
	enum { NS = sizeof subjects / sizeof subjects[0], NR = sizeof table_regexes / sizeof table_regexes[0],
		NF = sizeof table_flags / sizeof table_flags[0] };
	char path[] = "/tmp/evkit-regex-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	FILE *in = fdopen(fd, "w");
	for (size_t r = 0; r < NR; r++)
		for (size_t f = 0; f < NF; f++)
			for (size_t i = 0; i < NS; i++)
				fprintf(in, "{\"s\":%s,\"re\":%s,\"fl\":%s}\n", subjects[i], table_regexes[r],
				    table_flags[f]);
	cr_assert(fclose(in) == 0);
	struct ev_buf cmd = { 0 }, re = { 0 }, fl = { 0 }, subj = { 0 }, why = { 0 };
	ev_buf_printf(&cmd, "jq -c '. as $o | try ($o.s | test($o.re; $o.fl)) catch \"error\"' %s",
	    path);
	FILE *out = popen(cmd.p, "r");
	cr_assert_not_null(out, "jq: %s", strerror(errno));
	char **answers;
	size_t n = readlines(out, &answers);
	pclose(out);
	unlink(path);
	cr_assert_eq(n, (size_t)NR * NF * NS, "jq gave %zu answers", n);
	size_t k = 0, errors = 0, matches = 0;
	for (size_t r = 0; r < NR; r++)
		for (size_t f = 0; f < NF; f++) {
			ev_buf_reset(&re);
			ev_buf_reset(&fl);
			cr_assert(jstr(table_regexes[r], &re));
			int hasfl = strcmp(table_flags[f], "null") != 0;
			cr_assert(!hasfl || jstr(table_flags[f], &fl));
			struct ev_regex *x = ev_regex_compile(re.p ? re.p : "", re.len,
			    hasfl ? (fl.p ? fl.p : "") : NULL, fl.len, &why);
			for (size_t i = 0; i < NS; i++, k++) {
				const char *want = answers[k], *got;
				ev_buf_reset(&subj);
				jstr(subjects[i], &subj); /* literal strings: always decoded */
				if (!x)
					got = "\"error\"";
				else {
					int m = ev_regex_test(x, subj.p ? subj.p : "", subj.len);
					got = m < 0 ? "\"error\"" : m ? "true" : "false";
				}
				errors += strcmp(want, "\"error\"") == 0;
				matches += strcmp(want, "true") == 0;
				if (strcmp(got, want) != 0) /* one assertion a pair costs seconds */
					cr_expect_fail("%s | test(%s; %s): ours %s, jq %s", subjects[i],
					    table_regexes[r], table_flags[f], got, want);
			}
			ev_regex_free(x);
		}
	cr_log_info("%zu tests against jq: %zu true, %zu errors", k, matches, errors);
	cr_expect_gt(matches, 1000);
	cr_expect_gt(errors, 1000);
	freelines(answers, n);
	ev_buf_free(&cmd);
	ev_buf_free(&re);
	ev_buf_free(&fl);
	ev_buf_free(&subj);
	ev_buf_free(&why);
}
