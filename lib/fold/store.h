/* SPDX-License-Identifier: ISC */
/* store.h — evfold's views in an SQLite database (the layout is described
 * at the top of store.c and in evfold(1)).
 *
 * One table per view, one row per key (per key and window for a windowed
 * view), the state as JSON text; one row per view in evfold_views with
 * what made it (its definition and a hash of it) and the input position
 * after the last event folded into it. A fold changes rows and the position
 * in one transaction (ev_store_begin ... ev_store_commit), so the two never
 * disagree. Every function reports its failures, naming the database, and
 * returns -1 with errno set (EIO, or EBUSY for a database another process
 * holds).
 */
#ifndef EV_STORE_H
#define EV_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/opts.h"

struct ev_store;

/* rdonly: for --get and --dump. sync: none (no fsync), else a durable commit. */
struct ev_store *ev_store_open(const char *path, int rdonly, enum ev_sync sync);
void ev_store_close(struct ev_store *st);
const char *ev_store_path(const struct ev_store *st);

/* What evfold_views says of a view. */
struct ev_viewmeta {
	char *def, *hash;   /* the fold's definition (JSON) and its hash */
	char *input;        /* the input whose position is kept, or NULL */
	int haspos;
	uint64_t pos;
	int64_t watermark;  /* windowed views: the latest event time seen, or INT64_MIN */
	int64_t commits;    /* bumped by each commit: two folds of one view are refused */
	int windowed;
};
void ev_viewmeta_free(struct ev_viewmeta *m);

/* 1 found (m filled), 0 no such view, -1 error. */
int ev_store_view_get(struct ev_store *st, const char *name, struct ev_viewmeta *m);
/* The names of the views, sorted, NULL-terminated (free each and the array). */
char **ev_store_views(struct ev_store *st);
/* Make a view (its table and its row), replacing any of that name, in its
 * own transaction. */
int ev_store_view_make(struct ev_store *st, const char *name, const struct ev_viewmeta *m);
/* Atomically: the view `from` becomes `to` (which is dropped first). */
int ev_store_view_swap(struct ev_store *st, const char *from, const char *to);

/* A view's rows. */
struct ev_vtab;
struct ev_vtab *ev_vtab_open(struct ev_store *st, const char *name, int windowed);
void ev_vtab_close(struct ev_vtab *t);
/* One row: key (klen bytes); for a windowed view its window [start, end)
 * in Unix ms and whether it closed; the state (JSON text) and aux, the
 * built-in folds' internals (NULL when none). */
struct ev_row {
	const char *key;
	size_t klen;
	int64_t start, end;
	int closed;
	const char *state;
	size_t slen;
	const void *aux;
	size_t auxlen;
};
/* 1 found (r valid until the next call on t), 0 none, -1 error. */
int ev_vtab_get(struct ev_vtab *t, const char *key, size_t klen, int64_t start,
    struct ev_row *r);
/* fresh: the row is known not to exist (an insert is cheaper than an
 * upsert). */
int ev_vtab_put(struct ev_vtab *t, const struct ev_row *r, int fresh);
/* n rows, all fresh or all not (see ev_vtab_put); a view without windows
 * writes EV_VTAB_PUTN rows a statement. */
#define EV_VTAB_PUTN 128
int ev_vtab_putmany(struct ev_vtab *t, const struct ev_row *r, size_t n, int fresh);
/* 1 when the view has no row, 0 when it has, -1 error. */
int ev_vtab_empty(struct ev_vtab *t);
int ev_vtab_del(struct ev_vtab *t, const char *key, size_t klen, int64_t start);
/* Each row in key order (then window start), or only the rows of one key
 * (key non-NULL), or only the open windows (open set); each(arg, row)
 * returns 0 to go on, else it stops the walk and is returned. */
int ev_vtab_each(struct ev_vtab *t, const char *key, size_t klen, int open,
    int (*each)(void *, const struct ev_row *), void *arg);

/* A transaction for one batch; commit also writes the view's position and
 * watermark and bumps its commit count, failing (EBUSY, reported) when the
 * count is not the one expected: another process folded into the view
 * (unless shared: the members of a consumer group fold into one view, each
 * batch in a transaction of its own). */
int ev_store_begin(struct ev_store *st);
int ev_store_commit(struct ev_store *st, const char *name, int haspos, uint64_t pos,
    int64_t watermark, int64_t *commits, int shared);
void ev_store_rollback(struct ev_store *st);

#endif
