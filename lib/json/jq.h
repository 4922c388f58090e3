/* SPDX-License-Identifier: ISC */
/* jq.h — jq expressions, compiled once and run per event. No tool includes <jq.h>. */
#ifndef EV_JQ_H
#define EV_JQ_H
#include <stddef.h>

#include "base/buf.h"
#include "base/mem.h"
#include "json/pred.h"

struct ev_jq;
struct ev_jqargs; /* named arguments: --arg / --argjson */

struct ev_jqargs *ev_jqargs_new(void);
/* 0, or -1 when an --argjson value is not JSON (message in err). */
int ev_jqargs_add(struct ev_jqargs *a, const char *name, const char *value, int json,
    struct ev_buf *err);
void ev_jqargs_free(struct ev_jqargs *a);
/* The same arguments for json/pred's fast path: n of them, each value as
 * JSON text (an --arg string encoded); valid while a lives. */
const struct ev_predarg *ev_jqargs_pred(const struct ev_jqargs *a, size_t *n);

/* NULL on a compile error, with jq's message(s) in err. args may be NULL. */
struct ev_jq *ev_jq_compile(const char *expr, const struct ev_jqargs *args, struct ev_buf *err);
void ev_jq_free(struct ev_jq *q);

enum ev_jqmode {
	EV_JQ_TEST,  /* result 1 if any output is truthy, else 0 */
	EV_JQ_MAP,   /* each output, compact, one per line, appended to out; result = count */
	EV_JQ_KEY,   /* the first output, compact, appended to out (no newline); 0 if none */
	EV_JQ_RAW    /* as EV_JQ_MAP, but a string is written as its text (jq -r) */
};
enum { EV_JQ_BADINPUT = -2, EV_JQ_RUNERR = -1 };
/* Run q on one JSON text. Returns >= 0 per mode, EV_JQ_BADINPUT when the
 * text is not one JSON value, EV_JQ_RUNERR on a jq error; the message goes
 * to err (reset first). */
int ev_jq_run(struct ev_jq *q, const char *json, size_t len, enum ev_jqmode mode,
    struct ev_buf *out, struct ev_buf *err);
/* Normalise a JSON value to jq's compact form (for literal comparisons in tests). */
int ev_jq_compact(const char *json, size_t len, struct ev_buf *out);
/* Is the text one JSON value, as jq reads it? 0, or -1 with jq's reason in err
 * (which may be NULL). Until the strict scanner (jsonscan.h) lands, this is
 * how evemit checks the JSON it is given. */
int ev_jq_valid(const char *json, size_t len, struct ev_buf *err);

#endif
