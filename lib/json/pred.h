/* SPDX-License-Identifier: ISC */
/* pred.h — the fast path for jq predicates: the common shapes evaluated on
 * the scanner (jsonscan.h), with jq 1.6's results, without building a jv.
 *
 * Shapes: paths (.a, .a.b, .a[0], ."k", .["k"]) and literals (numbers,
 * strings, true, false, null, $named arguments that are scalars, -N);
 * + - * / between them; comparisons == != < <= > >= between them; and, or,
 * //; parentheses; pipes whose right side reads its input (`.data |
 * .amount > 5`, `(.a == 1) | not`); not, select(e), startswith(e),
 * endswith(e), has("k"), length, ascii_downcase, ascii_upcase, test(re) and
 * test(re; flags) with literal strings (a plain substring by memmem, any
 * other regex compiled once by Oniguruma as jq 1.6 compiles it: regex.h);
 * any(.path[]; cond) and all(.path[]; cond), cond a predicate of these
 * shapes on each element; `.path[] OP literal` as the whole predicate or as
 * select()'s condition at the top, where "some output is true" is the
 * answer. Everything else is not compiled: the caller uses libjq.
 *
 * At run time a case whose jq semantics are not replicated here comes back
 * as EV_PRED_DEFER, and the caller asks libjq: a jq error (a path through
 * a number, startswith, test or ascii_downcase on a non-string, has on a
 * non-object, .path[] on anything but an array or object, a division by
 * zero), a comparison of two arrays or two objects, an iteration over an
 * object (jq's key order), the length of an object with an escaped key or
 * more than 64 members, and + - * / on anything but numbers (and null + x). */
#ifndef EV_PRED_H
#define EV_PRED_H
#include <stddef.h>

#include "json/jsonscan.h"
#include "base/buf.h"
#include "base/mem.h"

struct ev_pred;

/* A named argument ($name), its value as JSON text (--arg values encoded). */
struct ev_predarg {
	const char *name;
	const char *json;
};

/* NULL when the expression is not of a supported shape (why says what is
 * not, reset first). The expression must also compile with libjq: this
 * parser accepts a subset of jq's syntax, never more. */
struct ev_pred *ev_pred_compile(const char *expr, const struct ev_predarg *args, size_t nargs,
    struct ev_buf *why);
void ev_pred_free(struct ev_pred *p);

enum { EV_PRED_BAD = -1, EV_PRED_DEFER = -2 };
/* One scan of the line: validate it and evaluate. 1: some output is truthy
 * (as EV_JQ_TEST); 0: none; EV_PRED_BAD: the line is not one JSON value
 * (err says why); EV_PRED_DEFER: ask libjq. No allocation in steady state. */
int ev_pred_eval(struct ev_pred *p, const char *line, size_t len, struct ev_jerr *err);

/* The paths the predicate reads, in jsonscan.h's syntax, for a caller that
 * scans once for several predicates; then evaluate on what it found:
 * path i's value is vals[slot[i]]. Results as ev_pred_eval's. */
size_t ev_pred_npaths(const struct ev_pred *p);
const char *ev_pred_path(const struct ev_pred *p, size_t i);
int ev_pred_eval_found(struct ev_pred *p, const struct ev_jval *vals, const size_t *slot);

/* A value found by the scanner as jq -c prints it (jv_dump_string, flags
 * 0), appended to out, when its raw bytes are exactly that: true, false,
 * null, an integer of at most 15 digits (not -0), a string with no escape
 * and no DEL byte. 1: appended; 0: nothing appended, ask libjq. */
int ev_pred_dump(const struct ev_jval *v, struct ev_buf *out);

/* The paths the predicate reads, e.g. ".type, .data.amount". */
void ev_pred_paths(const struct ev_pred *p, struct ev_buf *out);

#endif
