/* SPDX-License-Identifier: ISC */
/* The JSON scanner: validity, paths, decoding, and agreement with libjq. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "json/jq.h"
#include "json/jsonscan.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* tests/data (from the top of the tree, where make test runs the unit tests) */
#define SUITE "tests/data/jsontestsuite/test_parsing"
#define GITHUB "tests/data/github-events.ndjson"

/* A text and its length; n == 0 means strlen (for texts holding NUL bytes). */
struct text {
	const char *s;
	size_t n;
};

static size_t
len(struct text t)
{
	return t.n ? t.n : strlen(t.s);
}

/* The ways the scanner can skip strings (jsonscan.h: ev_json_scan_impl).
 * Every test that scans runs once with each the machine has: the answers
 * must not depend on the way. */
static const char *const impls[] = { "scalar", "sse2", "avx2" };

#define IMPL_TEST(name) \
	static void name##_body(void); \
	Test(jsonscan, name) \
	{ \
		int ran = 0; \
		for (size_t i_ = 0; i_ < N(impls); i_++) { \
			if (ev_json_scan_impl(impls[i_]) < 0) \
				continue; /* not in this build or on this CPU */ \
			cr_log_info("%s with %s", #name, impls[i_]); \
			name##_body(); \
			ran++; \
		} \
		ev_json_scan_impl(NULL); \
		cr_expect(ran >= 1); \
	} \
	static void name##_body(void)

IMPL_TEST(valid)
{
	static const struct text ok[] = {
		{ "0", 0 }, { "-0", 0 }, { "1", 0 }, { "-1", 0 }, { "10", 0 }, { "1.5", 0 }, { "-0.0e-0", 0 }, { "1E+2", 0 },
		{ "1e400", 0 }, { "-1e-400", 0 }, { "123456789012345678901234567890", 0 }, { "0.000001", 0 },
		{ "true", 0 }, { "false", 0 }, { "null", 0 }, { "\"\"", 0 }, { "\"a\"", 0 }, { "[]", 0 }, { "{}", 0 },
		{ " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\r\n ", 0 },
		{ "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", 0 },
		{ "\"\\u0000\"", 0 }, { "\"\\u00e9\\u00E9\"", 0 }, { "\"\\uD834\\uDD1E\"", 0 }, { "\"\\uDBFF\\uDFFF\"", 0 },
		{ "\"\\uDC00\"", 0 },  /* a lone low surrogate: jq reads it as U+FFFD */
		{ "\"\\uDD1Ea\"", 0 },
		{ "\"\xc3\xa9\"", 0 }, { "\"\xe2\x82\xac\"", 0 }, { "\"\xf0\x9f\x98\x80\"", 0 },
		{ "\"\xef\xbf\xbf\"", 0 }, { "\"\xf4\x8f\xbf\xbf\"", 0 }, { "\"\xed\x9f\xbf\"", 0 },
		{ "\"\x7f\"", 0 }, { "[\"a\",{\"b\":[null,true,false]},-1.25e3]", 0 },
		{ "{\"a\":1,\"a\":2}", 0 }, { "\"12345678901234567890\"", 0 },
		{ "\"aaaaaaaa\\\"bbbbbbbb\\\\cccccccc\"", 0 },
	};
	for (size_t i = 0; i < N(ok); i++) {
		struct ev_jerr e = { 0, NULL, 0 };
		cr_expect_eq(ev_json_valid(ok[i].s, len(ok[i]), &e), 0, "'%s' rejected: %s at %zu",
		    ok[i].s, e.msg, e.off);
	}
}

IMPL_TEST(invalid)
{
	static const struct { struct text t; const char *msg; size_t off; } bad[] = {
		{ { "", 0 }, "empty input", 0 },
		{ { " \t\r\n", 0 }, "empty input", 4 },
		{ { "\v1", 0 }, "unexpected control character", 0 },
		{ { "\f1", 0 }, "unexpected control character", 0 },
		{ { "{\"a\":1}}", 0 }, "unexpected '}'", 7 },
		{ { "{\"a\":1,}", 0 }, "unexpected '}'", 7 },
		{ { "[1,]", 0 }, "unexpected ']'", 3 },
		{ { "[1 2]", 0 }, "unexpected '2'", 3 },
		{ { "{\"a\" 1}", 0 }, "unexpected '1'", 5 },
		{ { "{a:1}", 0 }, "unexpected 'a'", 1 },
		{ { "{\"a\":1", 0 }, "unexpected end of input", 6 },
		{ { "[", 0 }, "unexpected end of input", 1 },
		{ { "1 2", 0 }, "unexpected '2'", 2 },
		{ { "01", 0 }, "leading zero in number", 1 },
		{ { "-01", 0 }, "leading zero in number", 2 },
		{ { "-", 0 }, "unexpected end of input", 1 },
		{ { "-a", 0 }, "invalid number", 1 },
		{ { "1.", 0 }, "unexpected end of input", 2 },
		{ { "1.e1", 0 }, "digit expected after '.'", 2 },
		{ { "1e", 0 }, "unexpected end of input", 2 },
		{ { "1e+", 0 }, "unexpected end of input", 3 },
		{ { "1ex", 0 }, "digit expected in exponent", 2 },
		{ { ".5", 0 }, "unexpected '.'", 0 },
		{ { "+1", 0 }, "unexpected '+'", 0 },
		{ { "0x10", 0 }, "unexpected 'x'", 1 },
		{ { "NaN", 0 }, "unexpected 'N'", 0 },
		{ { "tru", 0 }, "invalid literal", 0 },
		{ { "nul", 0 }, "invalid literal", 0 },
		{ { "True", 0 }, "unexpected 'T'", 0 },
		{ { "\"abc", 0 }, "unterminated string", 0 },
		{ { "[\"abcdefghijklmnop", 0 }, "unterminated string", 1 },
		{ { "\"ab\\", 0 }, "unterminated string", 0 },
		{ { "\"\\x\"", 0 }, "invalid escape", 1 },
		{ { "\"\\u12g4\"", 0 }, "invalid \\u escape", 1 },
		{ { "\"\\u12\"", 0 }, "invalid \\u escape", 1 },
		{ { "\"\\u12", 0 }, "unterminated string", 0 },
		{ { "\"\\uD800\"", 0 }, "lone high surrogate", 1 },
		{ { "\"\\uD800\\u0041\"", 0 }, "lone high surrogate", 1 },
		{ { "\"\\uDC00\\uD800\"", 0 }, "lone high surrogate", 7 },
		{ { "\"a\tb\"", 0 }, "control character in string", 2 },
		{ { "\"a\nb\"", 0 }, "control character in string", 2 },
		{ { "\"a\0b\"", 5 }, "NUL byte in string", 2 },
		{ { "[1]\0", 4 }, "unexpected NUL byte", 3 },
		{ { "\"\x80\"", 0 }, "invalid UTF-8", 1 },
		{ { "\"\xc0\xaf\"", 0 }, "invalid UTF-8", 1 },          /* overlong '/' */
		{ { "\"\xc1\xbf\"", 0 }, "invalid UTF-8", 1 },
		{ { "\"\xe0\x80\xaf\"", 0 }, "invalid UTF-8", 1 },      /* overlong, 3 bytes */
		{ { "\"\xf0\x80\x80\xaf\"", 0 }, "invalid UTF-8", 1 },  /* overlong, 4 bytes */
		{ { "\"\xed\xa0\x80\"", 0 }, "invalid UTF-8", 1 },      /* U+D800 encoded */
		{ { "\"\xf4\x90\x80\x80\"", 0 }, "invalid UTF-8", 1 },  /* above U+10FFFF */
		{ { "\"\xf5\x80\x80\x80\"", 0 }, "invalid UTF-8", 1 },
		{ { "\"\xc3\"", 0 }, "invalid UTF-8", 1 },              /* truncated */
		{ { "\"\xe2\x82\"", 0 }, "invalid UTF-8", 1 },
		{ { "\"abcdefgh\xe9t\xe9\"", 0 }, "invalid UTF-8", 9 },   /* ISO-8859-1 */
		{ { "\"\xff\"", 0 }, "invalid UTF-8", 1 },
		{ { "\xc3\xa9", 0 }, "unexpected non-ASCII character", 0 },
		{ { "\xef\xbb\xbf{}", 0 }, "byte order mark not allowed", 0 },
		{ { "[1]x", 0 }, "unexpected 'x'", 3 },
		{ { "{} {}", 0 }, "unexpected '{'", 3 },
		{ { "/* */ 1", 0 }, "unexpected '/'", 0 },
	};
	for (size_t i = 0; i < N(bad); i++) {
		struct ev_jerr e = { 999, NULL, 0 };
		cr_expect_eq(ev_json_valid(bad[i].t.s, len(bad[i].t), &e), -1, "#%zu '%s' accepted", i,
		    bad[i].t.s);
		if (!e.msg)
			continue;
		cr_expect_str_eq(e.msg, bad[i].msg, "#%zu '%s': %s", i, bad[i].t.s, e.msg);
		cr_expect_eq(e.off, bad[i].off, "#%zu '%s': offset %zu", i, bad[i].t.s, e.off);
	}
	cr_expect_eq(ev_json_valid("[1]", 3, NULL), 0, "err may be NULL");
	cr_expect_eq(ev_json_valid("[1", 2, NULL), -1);
}

/* The nesting limit is jq 1.6's: arrays count one, objects two. */
static char *
nest(const char *open, const char *mid, const char *close, size_t k)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	char *s = malloc(k * (lo + lc) + lm + 1), *p = s;
	for (size_t i = 0; i < k; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm);
	p += lm;
	for (size_t i = 0; i < k; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

IMPL_TEST(depth)
{
	static const struct { const char *open, *close; size_t k; int ok; } cases[] = {
		{ "[", "]", 256, 1 }, { "[", "]", 257, 0 },
		{ "{\"a\":", "}", 128, 1 }, { "{\"a\":", "}", 129, 0 },
		{ "[{\"a\":", "}]", 85, 1 }, { "[{\"a\":", "}]", 86, 0 },
		{ "[", "]", 100000, 0 }, { "{\"a\":", "}", 100000, 0 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char *s = nest(cases[i].open, "1", cases[i].close, cases[i].k);
		struct ev_jerr e = { 0, NULL, 0 };
		struct ev_buf jq = { 0 };
		int r = ev_json_valid(s, strlen(s), &e);
		cr_expect_eq(r, cases[i].ok ? 0 : -1, "%zu x %s: %s", cases[i].k, cases[i].open, e.msg);
		if (r < 0)
			cr_expect_str_eq(e.msg, "nesting too deep");
		/* the same verdict as libjq */
		cr_expect_eq(ev_jq_compact(s, strlen(s), &jq), r, "%zu x %s: libjq differs",
		    cases[i].k, cases[i].open);
		ev_buf_free(&jq);
		free(s);
	}
}

IMPL_TEST(paths)
{
	static const struct {
		const char *json, *path, *want; /* want NULL: missing */
		int jqerr;
	} cases[] = {
		{ "{\"a\":1}", ".a", "1", 0 },
		{ "{\"a\":1}", ".", "{\"a\":1}", 0 },
		{ " [1] ", ".", "[1]", 0 },
		{ "\"x\"", ".", "\"x\"", 0 },
		{ "{\"a\":1}", ".b", NULL, 0 },
		{ "{\"a\":{\"b\":\"c\"}}", ".a.b", "\"c\"", 0 },
		{ "{\"a\":{\"b\":\"c\"}}", ".a", "{\"b\":\"c\"}", 0 },
		{ "{\"a\" : { \"b\" : [ 1 , 2 ] } }", ".a.b", "[ 1 , 2 ]", 0 },
		{ "{\"a\":{\"b\":[1,2]}}", ".a.b[1]", "2", 0 },
		{ "{\"a\":{\"b\":[1,2]}}", ".a.b[2]", NULL, 0 },
		{ "{\"items\":[{\"sku\":\"x\"},{\"sku\":\"y\"}]}", ".items[0].sku", "\"x\"", 0 },
		{ "{\"items\":[{\"sku\":\"x\"},{\"sku\":\"y\"}]}", ".items[1].sku", "\"y\"", 0 },
		{ "{\"items\":[{\"sku\":\"x\"},{\"sku\":\"y\"}]}", ".items.[1]", "{\"sku\":\"y\"}", 0 },
		{ "{\"odd key\":true}", ".\"odd key\"", "true", 0 },
		{ "{\"k\":false}", ".[\"k\"]", "false", 0 },
		{ "{\"k\":{\"l\":null}}", ".k[\"l\"]", "null", 0 },
		{ "[0,[1,2],3]", ".[1]", "[1,2]", 0 },
		{ "[0,[1,2],3]", ".[1][0]", "1", 0 },
		{ "[0,[1,2],3]", ".[2]", "3", 0 },
		{ "[0,[1,2],3]", ".[ 3 ]", NULL, 0 },
		{ "{\"\xc3\xa9\":1}", ".\"\\u00e9\"", "1", 0 },       /* escaped in the path */
		{ "{\"\\u00e9\":1}", ".\"\xc3\xa9\"", "1", 0 },       /* escaped in the text */
		{ "{\"a\\\"b\":1}", ".[\"a\\\"b\"]", "1", 0 },
		{ "{\"\\uDC00\":1,\"\\uDFFF\":2}", ".\"\\uFFFD\"", "2", 0 }, /* both are U+FFFD */
		{ "{\"\":5}", ".\"\"", "5", 0 },
		/* the last occurrence of a key counts, as in jq */
		{ "{\"a\":1,\"a\":2}", ".a", "2", 0 },
		{ "{\"a\":{\"b\":1},\"a\":{\"c\":2}}", ".a.b", NULL, 0 },
		{ "{\"a\":{\"b\":1},\"a\":{\"b\":3}}", ".a.b", "3", 0 },
		{ "{\"a\":[1,2],\"a\":[5]}", ".a[1]", NULL, 0 },
		{ "{\"a\":{\"b\":1},\"a\":7}", ".a.b", NULL, 1 },
		{ "{\"a\":7,\"a\":{\"b\":1}}", ".a.b", "1", 0 },
		/* on the way: null gives null, other kinds an error in jq */
		{ "{\"a\":null}", ".a.b", NULL, 0 },
		{ "{\"a\":null}", ".a[0]", NULL, 0 },
		{ "null", ".a", NULL, 0 },
		{ "{\"a\":1}", ".a.b", NULL, 1 },
		{ "{\"a\":\"s\"}", ".a.b", NULL, 1 },
		{ "{\"a\":true}", ".a[0]", NULL, 1 },
		{ "{\"a\":[1]}", ".a.b", NULL, 1 },
		{ "{\"a\":{\"0\":1}}", ".a[0]", NULL, 1 },
		{ "[1]", ".a", NULL, 1 },
		{ "{\"a\":1}", ".[0]", NULL, 1 },
		{ "{\"b\":{\"a\":1}}", ".a", NULL, 0 }, /* only at its own level */
		{ "[[5]]", ".[0][0]", "5", 0 },
		/* after the matched element of an array, counting goes on */
		{ "[{\"a\":1},{\"a\":2},{\"a\":3}]", ".[0].a", "1", 0 },
		{ "[{\"a\":1},{\"a\":2},{\"a\":3}]", ".[1].a", "2", 0 },
		{ "{\"x\":[[1,2],[3,4]],\"y\":[[5]]}", ".x[0][1]", "2", 0 },
		{ "{\"x\":[[1,2],[3,4]],\"y\":[[5]]}", ".x[1][0]", "3", 0 },
		{ "{\"x\":[[1,2],[3,4]],\"y\":[[5]]}", ".y[0][0]", "5", 0 },
		{ "{\"s\":\"a\\nb\"}", ".s", "\"a\\nb\"", 0 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct ev_buf err = { 0 };
		struct ev_jpath *p = ev_jpath_compile(cases[i].path, &err);
		struct ev_jval v;
		cr_assert(p, "%s: %s", cases[i].path, err.p);
		cr_expect_eq(ev_json_scan(cases[i].json, strlen(cases[i].json), &p, 1, &v, NULL), 0,
		    "%s", cases[i].json);
		if (cases[i].want) {
			cr_expect_neq(v.type, EV_J_MISSING, "%s %s: missing", cases[i].json, cases[i].path);
			cr_expect(v.len == strlen(cases[i].want) && v.p &&
			    memcmp(v.p, cases[i].want, v.len) == 0, "%s %s: got '%.*s'", cases[i].json,
			    cases[i].path, (int)v.len, v.p ? v.p : "");
		} else {
			cr_expect_eq(v.type, EV_J_MISSING, "%s %s: got '%.*s'", cases[i].json,
			    cases[i].path, (int)v.len, v.p ? v.p : "");
			cr_expect_eq(v.jqerr, cases[i].jqerr, "%s %s: jqerr %d", cases[i].json,
			    cases[i].path, v.jqerr);
		}
		ev_jpath_free(p);
		ev_buf_free(&err);
	}
}

IMPL_TEST(types_and_several_paths)
{
	static const char json[] =
	    "{\"n\":null,\"f\":false,\"t\":true,\"x\":-1.5,\"s\":\"\\u00e9\",\"a\":[],\"o\":{}}";
	static const char *names[] = { ".n", ".f", ".t", ".x", ".s", ".a", ".o", ".z" };
	static const enum ev_jtype types[] = { EV_J_NULL, EV_J_FALSE, EV_J_TRUE, EV_J_NUMBER,
		EV_J_STRING, EV_J_ARRAY, EV_J_OBJECT, EV_J_MISSING };
	struct ev_jpath *p[N(names)];
	struct ev_jval v[N(names)];

	for (size_t i = 0; i < N(names); i++)
		cr_assert(p[i] = ev_jpath_compile(names[i], NULL));
	cr_assert_eq(ev_json_scan(json, strlen(json), p, N(names), v, NULL), 0);
	for (size_t i = 0; i < N(names); i++)
		cr_expect_eq(v[i].type, types[i], "%s: %d", names[i], v[i].type);
	cr_expect(v[4].escaped);
	cr_expect(ev_jval_streq(&v[4], "\xc3\xa9", 2));
	cr_expect_eq(ev_jval_num(&v[3]), -1.5);
	cr_expect(isnan(ev_jval_num(&v[4])));
	cr_expect(!ev_jval_streq(&v[3], "-1.5", 4), "a number is not a string");
	for (size_t i = 0; i < N(names); i++)
		ev_jpath_free(p[i]);
}

Test(jsonscan, compile_errors)
{
	static const char *bad[] = {
		"", "a", "..", ".a.", ".a..b", ".[", ".[]", ".[-1]", ".[1", ".[x]", ".a b", ".1a",
		".\"abc", ".[\"a\"", ".\"\\x\"", ".\"\\(1)\"", ".a|.b", ".a?", ".a[\"b\"]x", "..a",
	};
	for (size_t i = 0; i < N(bad); i++) {
		struct ev_buf err = { 0 };
		struct ev_jpath *p = ev_jpath_compile(bad[i], &err);
		cr_expect_null(p, "'%s' compiled", bad[i]);
		cr_expect(err.len > 0 && strstr(err.p, "not a simple path"), "'%s': no message", bad[i]);
		ev_jpath_free(p);
		ev_buf_free(&err);
	}
}

IMPL_TEST(decode)
{
	static const struct { const char *json, *want; size_t n; } cases[] = {
		{ "\"plain\"", "plain", 5 },
		{ "\"\"", "", 0 },
		{ "\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7 },
		{ "\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5 },
		{ "\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6 },
		{ "\"\\ud83d\\ude00!\"", "\xf0\x9f\x98\x80!", 5 },
		{ "\"x\\u0000y\"", "x\0y", 3 },
		{ "\"\\uDC00\"", "\xef\xbf\xbd", 3 },
		{ "\"\xc3\xa9\\n\"", "\xc3\xa9\n", 3 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct ev_jpath *p = ev_jpath_compile(".", NULL);
		struct ev_jval v;
		struct ev_buf out = { 0 };
		cr_assert_eq(ev_json_scan(cases[i].json, strlen(cases[i].json), &p, 1, &v, NULL), 0,
		    "%s", cases[i].json);
		ev_jval_str(&v, &out);
		cr_expect(out.len == cases[i].n && memcmp(out.p ? out.p : "", cases[i].want,
		    cases[i].n) == 0, "%s: got '%.*s'", cases[i].json, (int)out.len, out.p);
		cr_expect(ev_jval_streq(&v, cases[i].want, cases[i].n), "%s: streq", cases[i].json);
		if (cases[i].n > 0) {
			cr_expect(!ev_jval_streq(&v, cases[i].want, cases[i].n - 1), "%s: prefix",
			    cases[i].json);
		}
		cr_expect(!ev_jval_streq(&v, "zzzzzz", 6), "%s: other", cases[i].json);
		ev_buf_free(&out);
		ev_jpath_free(p);
	}
}

IMPL_TEST(numbers)
{
	static const struct { const char *json; double want; } cases[] = {
		{ "0", 0 }, { "-0", -0.0 }, { "42", 42 }, { "-1.25e2", -125 }, { "0.1", 0.1 },
		{ "1E3", 1000 }, { "1e-400", 0 }, { "1e400", HUGE_VAL }, { "-1e400", -HUGE_VAL },
		{ "9007199254740993", 9007199254740992.0 }, /* rounds to even, as jq */
		{ "123456789012345678901234567890", 123456789012345678901234567890.0 },
		{ "0.30000000000000004", 0.30000000000000004 },
		{ "1000000000000000000000000000000000000000000000000000000000000000000000000000000"
		  "00000000000000000000000000000000000000000000000000000000000000000", 1e143 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct ev_jpath *p = ev_jpath_compile(".", NULL);
		struct ev_jval v;
		cr_assert_eq(ev_json_scan(cases[i].json, strlen(cases[i].json), &p, 1, &v, NULL), 0);
		cr_expect_eq(v.type, EV_J_NUMBER);
		cr_expect_eq(ev_jval_num(&v), cases[i].want, "%s: %.17g", cases[i].json, ev_jval_num(&v));
		cr_expect_eq(signbit(ev_jval_num(&v)), signbit(cases[i].want), "%s: sign", cases[i].json);
		ev_jpath_free(p);
	}
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		return NULL;
	for (;;) {
		s = realloc(s, cap += 1 << 16);
		size_t r = fread(s + *n, 1, cap - *n, f);
		*n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	return s;
}

/* JSONTestSuite: n_ rejected, y_ accepted, and nothing accepted that libjq rejects. */
IMPL_TEST(jsontestsuite)
{
	DIR *d = opendir(SUITE);
	struct dirent *de;
	int ny = 0, nn = 0, ni = 0;

	cr_assert(d, "%s: cannot open it (run from the top of the tree)", SUITE);
	while ((de = readdir(d))) {
		char path[1024];
		size_t n;
		struct ev_jerr e = { 0, NULL, 0 };
		struct ev_buf jq = { 0 };
		char c = de->d_name[0];

		if ((c != 'y' && c != 'n' && c != 'i') || de->d_name[1] != '_')
			continue;
		snprintf(path, sizeof path, "%s/%s", SUITE, de->d_name);
		char *s = slurp(path, &n);
		cr_assert(s, "%s: cannot read", path);
		int r = ev_json_valid(s, n, &e);
		if (c == 'y') {
			ny++;
			cr_expect_eq(r, 0, "%s rejected: %s at %zu", de->d_name, e.msg, e.off);
		} else if (c == 'n') {
			nn++;
			cr_expect_eq(r, -1, "%s accepted", de->d_name);
			cr_expect(r == 0 || (e.msg && e.off <= n), "%s: no message", de->d_name);
		} else
			ni++;
		if (r == 0) {
			struct ev_jpath *p = ev_jpath_compile(".", NULL);
			struct ev_jval v;
			struct ev_buf mine = { 0 };
			cr_expect_eq(ev_jq_compact(s, n, &jq), 0, "%s: accepted, but libjq rejects it",
			    de->d_name);
			cr_expect_eq(ev_json_scan(s, n, &p, 1, &v, NULL), 0);
			cr_expect_eq(ev_jq_compact(v.p, v.len, &mine), 0);
			cr_expect(mine.len == jq.len && memcmp(mine.p, jq.p, jq.len) == 0,
			    "%s: the value at . differs from libjq's", de->d_name);
			ev_buf_free(&mine);
			ev_jpath_free(p);
		}
		ev_buf_free(&jq);
		free(s);
	}
	closedir(d);
	cr_expect(ny == 95 && nn == 188 && ni == 35, "found %d y_, %d n_, %d i_", ny, nn, ni);
}

/* Every path on every event of a real corpus gives what libjq gives (with
 * the default way of skipping strings), and every other way gives the
 * same values. */
Test(jsonscan, github_events_agree_with_jq)
{
	static const char *names[] = {
		".type", ".actor.login", ".repo.name", ".payload.size", ".payload.commits[0].sha",
		".payload.commits[0].message", ".payload.commits[1].author.name", ".payload.commits",
		".payload.pull_request.title", ".payload.pull_request.labels[0]", ".org", ".public",
		".created_at", ".id", ".payload.push_id", ".actor.login.x", ".payload.commits.x",
		".actor[0]", ".nope", ".payload.issue.body",
	};
	enum { NP = N(names) };
	struct ev_jpath *p[NP];
	struct ev_jq *q[NP];
	struct ev_jval v[NP];
	struct ev_buf err = { 0 }, jq = { 0 }, mine = { 0 }, dec = { 0 };
	size_t n, lines = 0, found = 0;
	char *all = slurp(GITHUB, &n);

	cr_assert(all, "%s: cannot read it (run from the top of the tree)", GITHUB);
	for (size_t i = 0; i < NP; i++) {
		cr_assert(p[i] = ev_jpath_compile(names[i], &err), "%s: %s", names[i], err.p);
		cr_assert(q[i] = ev_jq_compile(names[i], NULL, &err), "%s: %s", names[i], err.p);
	}
	for (char *l = all, *e = all + n, *nl; l < e; l = nl + 1) {
		if (!(nl = memchr(l, '\n', (size_t)(e - l))))
			nl = e;
		lines++;
		cr_assert_eq(ev_json_scan(l, (size_t)(nl - l), p, NP, v, NULL), 0, "line %zu", lines);
		for (size_t w = 0; w < N(impls); w++) {
			struct ev_jval o[NP];
			if (ev_json_scan_impl(impls[w]) < 0)
				continue;
			cr_assert_eq(ev_json_scan(l, (size_t)(nl - l), p, NP, o, NULL), 0, "line %zu %s",
			    lines, impls[w]);
			for (size_t i = 0; i < NP; i++)
				cr_assert(o[i].type == v[i].type && o[i].p == v[i].p && o[i].len == v[i].len &&
				    o[i].escaped == v[i].escaped && o[i].jqerr == v[i].jqerr,
				    "line %zu %s: %s differs", lines, names[i], impls[w]);
		}
		ev_json_scan_impl(NULL);
		for (size_t i = 0; i < NP; i++) {
			ev_buf_reset(&jq);
			int r = ev_jq_run(q[i], l, (size_t)(nl - l), EV_JQ_KEY, &jq, &err);
			if (v[i].type == EV_J_MISSING && v[i].jqerr) {
				cr_expect_eq(r, EV_JQ_RUNERR, "line %zu %s: jq gives %s", lines, names[i], jq.p);
				continue;
			}
			cr_expect_eq(r, 1, "line %zu %s: %s", lines, names[i], err.p);
			ev_buf_reset(&mine);
			if (v[i].type == EV_J_MISSING)
				ev_buf_adds(&mine, "null");
			else {
				found++;
				cr_expect_eq(ev_jq_compact(v[i].p, v[i].len, &mine), 0);
			}
			cr_expect(mine.len == jq.len && memcmp(mine.p, jq.p, jq.len) == 0,
			    "line %zu %s: scanner '%s', jq '%s'", lines, names[i], mine.p, jq.p);
			if (v[i].type == EV_J_STRING) {
				/* the decoded string, re-encoded and normalised by jq */
				ev_buf_reset(&dec);
				ev_jval_str(&v[i], &dec);
				cr_expect(ev_jval_streq(&v[i], dec.p, dec.len), "line %zu %s: streq",
				    lines, names[i]);
				ev_buf_reset(&mine);
				ev_buf_addjstr(&mine, dec.p, dec.len);
				ev_buf_reset(&dec);
				ev_jq_compact(mine.p, mine.len, &dec);
				cr_expect(dec.len == jq.len && memcmp(dec.p, jq.p, jq.len) == 0,
				    "line %zu %s: decoded '%s', jq '%s'", lines, names[i], dec.p, jq.p);
			} else if (v[i].type == EV_J_NUMBER) {
				cr_expect_eq(ev_jval_num(&v[i]), strtod(jq.p, NULL), "line %zu %s",
				    lines, names[i]);
			}
		}
	}
	cr_expect(lines >= 800 && found > lines * 5, "%zu lines, %zu values found", lines, found);
	for (size_t i = 0; i < NP; i++) {
		ev_jpath_free(p[i]);
		ev_jq_free(q[i]);
	}
	ev_buf_free(&err);
	ev_buf_free(&jq);
	ev_buf_free(&mine);
	ev_buf_free(&dec);
	free(all);
}
