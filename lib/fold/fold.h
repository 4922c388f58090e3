/* SPDX-License-Identifier: ISC */
/* fold.h — fold events into a state per key, kept in SQLite (evfold(1)).
 *
 * For each event, the state of its key (and of each window it falls in)
 * becomes the reducer's output: a jq program run with . = the state (null,
 * or the initial state) and $e = the event, $key = the key; null deletes
 * the key. Or the built-in folds (agg.h) do it without jq. States are
 * cached in memory and written to the view's table at each commit of the
 * input (input.h), in one transaction with the input position: the view
 * holds exactly the events before that position, each once.
 *
 * An event is bad input when it has no key; with windows, no time or a
 * time whose windows reach past the years 0000 to 9999 (window.h); a
 * built-in fold's value of the wrong kind; or when the reducer fails on
 * it: it is then reported, kept in --rejects, and changes nothing.
 */
#ifndef EV_FOLD_H
#define EV_FOLD_H
#include <stdint.h>
#include <stdio.h>

#include "base/opts.h"
#include "fold/agg.h"
#include "fold/window.h"
#include "io/input.h"

struct ev_fold_conf {
	const char *db, *view;
	const char *keyexpr;     /* NULL: every event under the empty key */
	const char *reducer;     /* a jq program, or NULL for the built-in folds */
	const char *init;        /* JSON, or NULL (null) */
	unsigned aggs;           /* 1 << EV_AGG_* */
	const char *aggpath[EV_NAGG];
	struct ev_window win;
	int64_t lateness;
	const char *timepath;    /* NULL: .time */
	const char *type;        /* the changelog's event type; NULL: VIEW.changed, VIEW.window */
	const char *input;       /* what the kept position is of ("spool#cursor"), or NULL */
	int rebuild;             /* fold into a fresh view, swapped in when caught up */
	size_t maxkeys;          /* states kept in memory between commits */
	int shared;              /* members of a consumer group fold into the view
	                          * together: each batch reads its states afresh in
	                          * its own write transaction, and no position is kept */
	enum ev_sync sync;
	struct ev_sink *out;     /* the changelog, or NULL */
	struct ev_sink *late;    /* late events, or NULL */
};

struct ev_fold;

/* Open (making when new) the view; a view made by another definition is
 * refused unless rebuild. NULL after reporting (errno set). */
struct ev_fold *ev_fold_open(const struct ev_fold_conf *c);
/* The position kept with the view (or the rebuild under way): 1 and *pos,
 * or 0 when there is none yet. */
int ev_fold_pos(const struct ev_fold *f, uint64_t *pos);
/* Fold one input line (rejects go through in). 0, or -1 on a failure that
 * is not the line's (reported). */
int ev_fold_line(struct ev_fold *f, struct ev_input *in, const struct ev_line *l);
/* ev_fold_line in two parts, for base/ahead.h: the scan of a line (its
 * validation and the values at the paths the fold reads), a pure function
 * of the line that may run in another thread, into res (ev_fold_scansize(f)
 * bytes); then the fold of the line with what its scan found. */
size_t ev_fold_scansize(const struct ev_fold *f);
void ev_fold_scan(void *f, const struct ev_line *l, void *res);
int ev_fold_scanned(struct ev_fold *f, struct ev_input *in, const struct ev_line *l,
    const void *res);
/* ev_fold_scanned on n lines in order, their results at res + i *
 * ev_fold_scansize(f): faster, as it reads ahead what the lines to come
 * will look up. */
int ev_fold_scannedn(struct ev_fold *f, struct ev_input *in, const struct ev_line *l,
    const void *res, size_t n);
/* The commit: every changed state and pos in one transaction. A hook for
 * ev_input_keep_pos. */
int ev_fold_keep(void *f, uint64_t pos);
/* A rebuild has read all there is: swap it in (after a commit). 0, or -1. */
int ev_fold_caughtup(struct ev_fold *f);
int ev_fold_rebuilding(const struct ev_fold *f);
/* Counts for --stats. */
struct ev_fold_stats {
	uintmax_t folded, late, closed, keys, changes;
};
void ev_fold_stats(const struct ev_fold *f, struct ev_fold_stats *s);
/* Close without committing. */
void ev_fold_close(struct ev_fold *f);

/* Reading a view: the state of one key (windowed: one line per window),
 * or every row as NDJSON. 1 found / written, 0 no such key, -1 error. */
int ev_fold_get(const char *db, const char *view, const char *key, FILE *out);
int ev_fold_dump(const char *db, const char *view, FILE *out);
/* The view a reader means when it names none: the only one in db. NULL
 * after reporting. Free it. */
char *ev_fold_only_view(const char *db);
/* 1 if name may name a view (an SQL table): [A-Za-z0-9_.-], 1-64 bytes,
 * not starting with "evfold_" or '.'. */
int ev_fold_view_valid(const char *name);

#endif
