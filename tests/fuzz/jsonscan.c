/* SPDX-License-Identifier: ISC */
/* Fuzz the JSON scanner, differentially. Accept or reject: exactly as a
 * plain recursive RFC 8259 validator written here with the rules
 * jsonscan.h adds (jq's nesting limit, no lone high surrogate), and never
 * a text libjq rejects. Values: every path gives what libjq's jv_getpath
 * gives on libjq's own parse (same type, same decoded string bytes, the
 * same double bit for bit, a jq error where jq raises one). And every way
 * of skipping strings (AVX2, SSE2, portable: ev_json_scan_impl) gives the
 * same answer, offset and message included. */
#include <jq.h>
#include <stdint.h>
#include <string.h>

#include "json/jsonscan.h"

#include "fuzz.h"

/* ---- the reference validator ---- */

struct ref {
	const unsigned char *s, *e;
	int depth;
};

static void
ws(struct ref *r)
{
	while (r->s < r->e && (*r->s == ' ' || *r->s == '\t' || *r->s == '\n' || *r->s == '\r'))
		r->s++;
}

static int
lit(struct ref *r, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(r->e - r->s) < n || memcmp(r->s, w, n) != 0)
		return -1;
	r->s += n;
	return 0;
}

static int
digits(struct ref *r)
{
	const unsigned char *b = r->s;

	while (r->s < r->e && *r->s >= '0' && *r->s <= '9')
		r->s++;
	return r->s > b ? 0 : -1;
}

static int
number(struct ref *r)
{
	if (r->s < r->e && *r->s == '-')
		r->s++;
	if (r->s < r->e && *r->s == '0')
		r->s++;
	else if (r->s >= r->e || *r->s < '1' || *r->s > '9' || digits(r) < 0)
		return -1;
	if (r->s < r->e && *r->s == '.') {
		r->s++;
		if (digits(r) < 0)
			return -1;
	}
	if (r->s < r->e && (*r->s == 'e' || *r->s == 'E')) {
		r->s++;
		if (r->s < r->e && (*r->s == '+' || *r->s == '-'))
			r->s++;
		if (digits(r) < 0)
			return -1;
	}
	return 0;
}

static long
hex4(struct ref *r)
{
	long v = 0;

	if (r->e - r->s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = *r->s++;
		v = v * 16 + (c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1000000);
	}
	return v < 0 ? -1 : v;
}

/* One UTF-8 sequence: the shortest form of a scalar value. */
static int
utf8(struct ref *r)
{
	unsigned c = *r->s++, n, cp, min;

	if (c < 0x80)
		return 0;
	if (c >= 0xc0 && c < 0xe0)
		n = 1, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c < 0xf0)
		n = 2, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c < 0xf8)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (r->s >= r->e || (*r->s & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (*r->s++ & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000) ? -1 : 0;
}

static int
string(struct ref *r)
{
	r->s++; /* the opening quote */
	while (r->s < r->e) {
		unsigned c = *r->s;
		if (c == '"') {
			r->s++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (utf8(r) < 0)
				return -1;
			continue;
		}
		if (++r->s >= r->e)
			return -1;
		c = *r->s++;
		if (c == 'u') {
			long u = hex4(r);
			if (u < 0)
				return -1;
			if (u >= 0xd800 && u < 0xdc00) {
				/* jsonscan.h: a high surrogate needs an escaped low one */
				if (lit(r, "\\u") < 0 || (u = hex4(r)) < 0xdc00 || u >= 0xe000)
					return -1;
			}
		} else if (!strchr("\"\\/bfnrt", (int)c) || c == 0) {
			return -1;
		}
	}
	return -1;
}

static int value(struct ref *r);

static int
container(struct ref *r, int object)
{
	/* jq 1.6 counts an open array as one level, an object as two */
	if ((r->depth += object ? 2 : 1) > EV_JSON_MAXDEPTH)
		return -1;
	r->s++;
	ws(r);
	if (r->s < r->e && *r->s == (object ? '}' : ']')) {
		r->s++;
		r->depth -= object ? 2 : 1;
		return 0;
	}
	for (;;) {
		if (object) {
			if (r->s >= r->e || *r->s != '"' || string(r) < 0)
				return -1;
			ws(r);
			if (r->s >= r->e || *r->s++ != ':')
				return -1;
			ws(r);
		}
		if (value(r) < 0)
			return -1;
		ws(r);
		if (r->s >= r->e)
			return -1;
		if (*r->s == ',') {
			r->s++;
			ws(r);
			continue;
		}
		if (*r->s++ != (object ? '}' : ']'))
			return -1;
		r->depth -= object ? 2 : 1;
		return 0;
	}
}

static int
value(struct ref *r)
{
	if (r->s >= r->e)
		return -1;
	switch (*r->s) {
	case '{': return container(r, 1);
	case '[': return container(r, 0);
	case '"': return string(r);
	case 't': return lit(r, "true");
	case 'f': return lit(r, "false");
	case 'n': return lit(r, "null");
	default: return number(r);
	}
}

static int
ref_valid(const char *p, size_t n)
{
	struct ref r = { (const unsigned char *)p, (const unsigned char *)p + n, 0 };

	ws(&r);
	if (value(&r) < 0)
		return -1;
	ws(&r);
	return r.s == r.e ? 0 : -1;
}

/* ---- values against libjq ---- */

static const char *names[] = {
	".", ".a", ".a.b", ".[0]", ".[1]", ".a[0]", ".[0].a", ".\"\"", ".id", ".data.x",
};
#define NP (sizeof names / sizeof names[0])

static struct ev_jpath *paths[NP];
static jv jpaths[NP];

static void
setup(void)
{
	struct ev_buf err = { 0 };
	static const char *jp[NP] = {
		"[]", "[\"a\"]", "[\"a\",\"b\"]", "[0]", "[1]", "[\"a\",0]", "[0,\"a\"]", "[\"\"]",
		"[\"id\"]", "[\"data\",\"x\"]",
	};

	for (size_t i = 0; i < NP; i++) {
		paths[i] = ev_jpath_compile(names[i], &err);
		jpaths[i] = jv_parse(jp[i]);
		FUZZ_ASSERT(paths[i] && jv_is_valid(jpaths[i]), "%s: %s", names[i], err.p);
	}
	ev_buf_free(&err);
}

static void
compare(size_t i, const struct ev_jval *v, jv whole)
{
	jv got = jv_getpath(jv_copy(whole), jv_copy(jpaths[i]));
	static struct ev_buf dec;

	if (v->type == EV_J_MISSING) {
		if (v->jqerr)
			FUZZ_ASSERT(!jv_is_valid(got), "%s: the scanner says jq fails, jq does not",
			    names[i]);
		else
			FUZZ_ASSERT(jv_get_kind(got) == JV_KIND_NULL,
			    "%s: the scanner says null, jq gives kind %d", names[i], jv_get_kind(got));
		jv_free(got);
		return;
	}
	FUZZ_ASSERT(jv_is_valid(got), "%s: the scanner found a value, jq an error", names[i]);
	jv mine = jv_parse_sized(v->p, (int)v->len);
	FUZZ_ASSERT(jv_is_valid(mine), "%s: jq cannot read the scanner's value", names[i]);
	FUZZ_ASSERT(jv_equal(jv_copy(mine), jv_copy(got)), "%s: the values differ", names[i]);
	static const jv_kind kinds[] = {
		[EV_J_NULL] = JV_KIND_NULL, [EV_J_FALSE] = JV_KIND_FALSE, [EV_J_TRUE] = JV_KIND_TRUE,
		[EV_J_NUMBER] = JV_KIND_NUMBER, [EV_J_STRING] = JV_KIND_STRING,
		[EV_J_ARRAY] = JV_KIND_ARRAY, [EV_J_OBJECT] = JV_KIND_OBJECT,
	};
	FUZZ_ASSERT(kinds[v->type] == jv_get_kind(got), "%s: type %d, jq kind %d", names[i],
	    v->type, jv_get_kind(got));
	if (v->type == EV_J_STRING) {
		ev_buf_reset(&dec);
		ev_jval_str(v, &dec);
		FUZZ_ASSERT((int)dec.len == jv_string_length_bytes(jv_copy(got)) &&
		    memcmp(dec.p, jv_string_value(got), dec.len) == 0,
		    "%s: decoded strings differ", names[i]);
	} else if (v->type == EV_J_NUMBER) {
		double a = ev_jval_num(v), b = jv_number_value(got);
		FUZZ_ASSERT(memcmp(&a, &b, sizeof a) == 0, "%s: %.17g, jq %.17g", names[i], a, b);
	}
	jv_free(mine);
	jv_free(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct ev_jval vals[NP];
	struct ev_jerr e = { 0, NULL, 0 };
	const char *text = (const char *)data;
	int mine, ref;

	if (!ready++)
		setup();
	if (size > INT32_MAX)
		return 0;
	mine = ev_json_scan(text, size, paths, NP, vals, &e);
	/* every way of skipping strings, each in both builds of the scanner
	 * (without and with the traceparent note of --otlp) */
	static const char *const ways[] = { "scalar", "sse2", "avx2", "scalar", "sse2", "avx2" };
	int tpmaybe = 1;
	for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
		struct ev_jval o[NP];
		struct ev_jerr oe = { 0, NULL, 0 };
		if (ev_json_scan_impl(ways[w]) < 0)
			continue;
		ev_json_tracekeys(w >= 3);
		int r = ev_json_scan(text, size, paths, NP, o, &oe);
		ev_json_tracekeys(0);
		if (w >= 3 && r == 0)
			tpmaybe = oe.tpmaybe;
		FUZZ_ASSERT(r == mine, "%s: %d, the default way %d", ways[w], r, mine);
		if (r < 0)
			FUZZ_ASSERT(oe.off == e.off && strcmp(oe.msg, e.msg) == 0,
			    "%s: %s at %zu, the default way %s at %zu", ways[w], oe.msg, oe.off, e.msg,
			    e.off);
		else
			for (size_t i = 0; i < NP; i++)
				FUZZ_ASSERT(o[i].type == vals[i].type && o[i].p == vals[i].p &&
				    o[i].len == vals[i].len && o[i].escaped == vals[i].escaped &&
				    o[i].jqerr == vals[i].jqerr, "%s: %s differs", ways[w], names[i]);
	}
	ev_json_scan_impl(NULL);
	ref = ref_valid(text, size);
	FUZZ_ASSERT((ev_json_valid(text, size, NULL) == 0) == (mine == 0), "scan and valid differ");
	FUZZ_ASSERT(mine == ref, "the scanner %s, the reference %s", mine ? "rejects" : "accepts",
	    ref ? "rejects" : "accepts");
	if (mine < 0) {
		FUZZ_ASSERT(e.msg && e.off <= size, "no reason, or a place out of the text");
		return 0;
	}
	jv whole = jv_parse_sized(text, (int)size);
	FUZZ_ASSERT(jv_is_valid(whole), "the scanner accepts what jq rejects");
	if (jv_get_kind(whole) == JV_KIND_OBJECT) {
		jv has = jv_has(jv_copy(whole), jv_string("traceparent"));
		FUZZ_ASSERT(tpmaybe || jv_get_kind(has) == JV_KIND_FALSE,
		    "a traceparent member the scan's note missed");
		jv_free(has);
	}
	for (size_t i = 0; i < NP; i++)
		compare(i, &vals[i], whole);
	jv_free(whole);
	return 0;
}
