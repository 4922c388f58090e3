/* SPDX-License-Identifier: ISC */
/* jsonscan.h — a validating, allocation-free JSON scanner for one line.
 *
 * ev_json_scan() checks that a text is exactly one JSON value (RFC 8259,
 * strict: what JSONTestSuite's n_ cases reject, it rejects) and, in the
 * same pass, finds the values at a few paths without building a tree.
 * This is how the tools read .type, .id, .time and simple predicates
 * without libjq.
 *
 * What is accepted, where RFC 8259 leaves a choice (JSONTestSuite's i_
 * cases). The rule: never accept what jq 1.6 (our libjq) rejects, so a
 * line the scanner passes is a line jq can read, and a fast path on the
 * scanner cannot disagree with jq about which lines are bad input.
 *  - Whitespace around and inside the value: space, tab, CR, LF only.
 *    An empty or all-blank text is invalid ("empty input").
 *  - A UTF-8 byte order mark is rejected (RFC 8259 forbids sending one).
 *  - Raw bytes must be valid UTF-8 (no overlong forms, no encoded
 *    surrogates, nothing above U+10FFFF): "invalid UTF-8". jq would
 *    silently turn such bytes into U+FFFD; we call the line bad input.
 *  - Raw control characters (U+0000..U+001F, NUL included) inside strings
 *    are invalid; outside strings they are unexpected characters.
 *  - \u escapes: a high surrogate (\uD800-\uDBFF) must be followed at
 *    once by an escaped low surrogate (\uDC00-\uDFFF), else "lone high
 *    surrogate" — jq 1.6 rejects these too. A lone low surrogate is
 *    accepted, and decoded as U+FFFD, as jq does.
 *  - Numbers of any size and precision are accepted (1e400, 100...0);
 *    ev_jval_num gives them as jq does: the nearest double, +-inf for
 *    overflow (jq prints that as +-1.7976931348623157e+308), 0 for underflow.
 *  - Nesting: EV_JSON_MAXDEPTH (256) counted as jq 1.6 counts it: each open
 *    array is one level, each open object two (the object and its key). An
 *    opening bracket that would pass it is "nesting too deep". Only 256
 *    bytes of stack; no recursion.
 */
#ifndef EV_JSONSCAN_H
#define EV_JSONSCAN_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/mem.h"

#define EV_JSON_MAXDEPTH 256 /* jq 1.6's MAX_PARSING_DEPTH, same counting */
#define EV_JPATH_MAX 64      /* paths per ev_json_scan call */

enum ev_jtype {
	EV_J_MISSING = 0, /* the path leads nowhere (see ev_jval.jqerr) */
	EV_J_NULL, EV_J_FALSE, EV_J_TRUE, EV_J_NUMBER, EV_J_STRING, EV_J_ARRAY, EV_J_OBJECT
};

/* A value found in the text: its raw bytes (a string with its quotes, an
 * object or array from its bracket to its closing bracket). */
struct ev_jval {
	enum ev_jtype type;
	const char *p;
	size_t len;
	int escaped; /* a string holding a backslash escape */
	/* With EV_J_MISSING: 0 when jq evaluates the path to null (a key that
	 * is absent, an index past the end, a null on the way); 1 when jq
	 * raises an error instead ("Cannot index number with \"b\""): a number,
	 * string or boolean on the way, an object indexed by a number, an
	 * array indexed by a key. A fast path must hand jqerr cases to libjq. */
	int jqerr;
};

/* What a scan reports besides the values: where and why it failed, or,
 * when it succeeded, tpmaybe. */
struct ev_jerr {
	size_t off;      /* byte offset of the problem (the length for a truncation) */
	const char *msg; /* static text: "unexpected '}'", "invalid UTF-8", ... */
	/* After a scan that succeeded: 0 when the text has no top-level member
	 * named traceparent (known only while ev_json_tracekeys is on: no such
	 * key, and no top-level key with an escape), else 1. */
	int tpmaybe;
};

/* A compiled path. Forms: "." (the whole value), ".a", ".a.b",
 * ".items[0].sku", ".\"odd key\"", ".[\"k\"]", ".[2]", ".a[\"b\"][0]",
 * ".a.[0]". Keys may use JSON string escapes; indexes are non-negative.
 * Several occurrences of a key: the last one counts, as in jq. */
struct ev_jpath;

/* NULL if the text is not a path of that form (message in err, reset first). */
struct ev_jpath *ev_jpath_compile(const char *path, struct ev_buf *err);
void ev_jpath_free(struct ev_jpath *p);

/* Validate the whole text and fill vals[i] for paths[i] (npaths at most
 * EV_JPATH_MAX). 0: valid; -1: not one JSON value (err says where and why;
 * err may be NULL; vals are then unspecified). No allocation. */
int ev_json_scan(const char *p, size_t n, struct ev_jpath *const *paths, size_t npaths,
    struct ev_jval *vals, struct ev_jerr *err);
/* Only validate. */
int ev_json_valid(const char *p, size_t n, struct ev_jerr *err);
/* On: every scan also finds out ev_jerr.tpmaybe (a length test per key;
 * --otlp turns it on, see lib/io/input.c). Off (the default): the scanner
 * without that test. Any thread may call it. */
void ev_json_tracekeys(int on);

/* The decoded bytes of a string value, appended to out (escapes resolved,
 * surrogate pairs joined, a lone surrogate as U+FFFD, \u0000 as a NUL). */
void ev_jval_str(const struct ev_jval *v, struct ev_buf *out);
/* A string value's bytes: its body as it stands when it has no escapes,
 * else decoded into tmp (reset first); the length in *n. */
const char *ev_jval_text(const struct ev_jval *v, struct ev_buf *tmp, size_t *n);
/* Does a string value equal s (decoded comparison, no allocation)? 0 for a
 * value that is not a string. */
int ev_jval_streq(const struct ev_jval *v, const char *s, size_t n);
/* A number value as a double (correctly rounded, as jq 1.6 reads it);
 * NaN for a value that is not a number. Uses strtod: keep LC_NUMERIC "C". */
double ev_jval_num(const struct ev_jval *v);

/* How string bodies are skipped (see jsonscan.c): "avx2", "sse2" or
 * "scalar", all giving the same answers. The best this CPU has is used,
 * unless the environment variable EVKIT_JSONSCAN names another (or the
 * library is built with -DEV_JSONSCAN_SCALAR). ev_json_scan_impl chooses
 * one (NULL: the default again): -1 when this build or CPU lacks it. For
 * tests and benchmarks, before other threads scan. */
int ev_json_scan_impl(const char *name);
const char *ev_json_scan_implname(void);

#endif
