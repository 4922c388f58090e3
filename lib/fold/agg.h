/* SPDX-License-Identifier: ISC */
/* agg.h — evfold's built-in folds, run on the scanner's values without jq.
 *
 * Any of count, sum, min, max, avg, first, last and distinct, one of each,
 * make one state object whose members are named after them, in that order:
 *   {"count":3,"sum":30.5,"min":1,"max":20,"avg":10.1,"first":"a","last":"c","distinct":3}
 * count counts events; sum, min, max and avg take the number at their path
 * (an event without it, or with null, is not counted by them; any other
 * value that is not a number makes the event bad input); first and last
 * take the first and the latest value at their path that is not null;
 * distinct estimates the number of distinct values at its path (hll.h).
 * Numbers are doubles, added in event order, as jq adds them.
 */
#ifndef EV_AGG_H
#define EV_AGG_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "json/jsonscan.h"

enum { EV_AGG_COUNT, EV_AGG_SUM, EV_AGG_MIN, EV_AGG_MAX, EV_AGG_AVG, EV_AGG_FIRST,
	EV_AGG_LAST, EV_AGG_DISTINCT, EV_NAGG };

extern const char *const ev_agg_names[EV_NAGG];

/* The state of one key (and window). */
struct ev_aggstate {
	int64_t count, avgn;
	double sum, min, max, avgsum;
	int hasmin, hasmax;
	struct ev_buf first, last;  /* compact JSON; len 0: none yet */
	uint8_t *hll;               /* EV_HLL_BYTES, or NULL until a value comes */
};

/* mask: the folds asked for (1 << EV_AGG_*). vals[i]: the value at the
 * path of fold i (unused for count). 0 when the event may be folded, or
 * -1 with the reason in why (a static string) and which fold in *which. */
int ev_agg_check(unsigned mask, const struct ev_jval *vals, const char **why, int *which);
/* Fold one checked event in. tmp: scratch. */
void ev_agg_apply(unsigned mask, struct ev_aggstate *s, const struct ev_jval *vals,
    struct ev_buf *tmp);
/* s becomes s merged with o (session windows that meet). */
void ev_agg_merge(unsigned mask, struct ev_aggstate *s, const struct ev_aggstate *o);
/* The state as a JSON object, appended to out. */
void ev_agg_json(unsigned mask, const struct ev_aggstate *s, struct ev_buf *out);
/* The state's internals, to keep beside the JSON (store.h's aux), and back:
 * 0, or -1 when aux is not one this version wrote. */
void ev_agg_save(const struct ev_aggstate *s, struct ev_buf *aux);
int ev_agg_load(struct ev_aggstate *s, const void *aux, size_t len);
/* Whether the JSON leaves something out, so that aux must be kept: the
 * count behind --avg, the registers of --distinct, a sum, min or max that
 * is not a finite number (printed as null or +-1.79e308). Otherwise the
 * JSON says it all (its numbers read back exactly) and aux is not kept. */
int ev_agg_needaux(unsigned mask, const struct ev_aggstate *s);
/* The state back from its JSON (one that needed no aux): 0, or -1. */
int ev_agg_fromjson(unsigned mask, struct ev_aggstate *s, const char *json, size_t len);
void ev_agg_free(struct ev_aggstate *s);
/* A number as jq prints it (the shortest text that reads back the same). */
void ev_agg_num(double d, struct ev_buf *out);

#endif
