/* SPDX-License-Identifier: ISC */
/* prom.h — Prometheus text exposition: metrics built in a buffer, then
 * printed, or written as a file for a textfile collector (atomically, fsynced).
 *
 * A tool's --prometheus FILE, for instance:
 *
 *	struct ev_prom p = { 0 };
 *	const char *lab[] = { "router", name, NULL };
 *	ev_prom_help(&p, "evroute_lines_total", "counter", "Input lines read.");
 *	ev_prom_count(&p, "evroute_lines_total", lab, n);
 *	rc = ev_prom_write(&p, path);   (reports a failure itself)
 *	ev_prom_free(&p);
 */
#ifndef EV_PROM_H
#define EV_PROM_H
#include <stdint.h>

#include "base/buf.h"

struct ev_prom {
	struct ev_buf b;  /* the text so far */
	size_t helped;    /* the end of the last ev_prom_begin's HELP and TYPE */
};

/* "# HELP name help" and "# TYPE name type" (counter, gauge, ...). */
void ev_prom_help(struct ev_prom *p, const char *name, const char *type, const char *help);
/* A metric that may have no sample (a spool without cursors): its HELP and
 * TYPE, taken back by ev_prom_end(p, the mark returned) when no sample came
 * after them. */
size_t ev_prom_begin(struct ev_prom *p, const char *name, const char *type, const char *help);
void ev_prom_end(struct ev_prom *p, size_t mark);
/* One sample: name{l1="v1",...} value. labels: name, value, ..., NULL (or
 * NULL for none); values are escaped as the format asks. */
void ev_prom_count(struct ev_prom *p, const char *name, const char *const *labels, uintmax_t v);
void ev_prom_gauge(struct ev_prom *p, const char *name, const char *const *labels, double v);
/* Replace path with the text: a temporary beside it, fsynced, renamed, the
 * directory fsynced, so a collector never reads half a file. 0, or -1
 * reported (errno set). */
int ev_prom_write(const struct ev_prom *p, const char *path);
void ev_prom_free(struct ev_prom *p);

/* The instance label of a metrics file: its name less a .prom suffix, to
 * tell several instances of a tool on one host apart. */
void ev_prom_instname(const char *path, struct ev_buf *b);

/* A latency histogram, in seconds: counts per bucket (not cumulative; the
 * last above every bound), their number and sum. One set of buckets, 1 ms
 * to 30 s, for every tool (evhttp's requests, evretry's handlers), so that
 * dashboards can put them side by side. */
#define EV_PROMHIST_NB 14
extern const double ev_promhist_bounds[EV_PROMHIST_NB];
struct ev_promhist {
	uintmax_t b[EV_PROMHIST_NB + 1];
	uintmax_t n;
	double sum;
};
void ev_promhist_add(struct ev_promhist *h, double sec);
/* The histogram's HELP, TYPE, cumulative _bucket{le=...}, _sum and _count;
 * lab: one name and value (or NULL). */
void ev_prom_histogram(struct ev_prom *p, const char *name, const char *help,
    const char *const *lab, const struct ev_promhist *h);

#endif
