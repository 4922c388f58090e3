/* SPDX-License-Identifier: ISC */
/* private.h — the fold's insides, shared by fold.c (the cache, opening a
 * view, the commit), line.c (one event), session.c (session windows). */
#ifndef EV_FOLD_PRIVATE_H
#define EV_FOLD_PRIVATE_H
#include <stdint.h>
#include <xxhash.h>

#include "base/buf.h"
#include "fold/fold.h"
#include "fold/store.h"
#include "json/jq.h"
#include "json/jsonscan.h"
#include "json/key.h"

#define NOSTART INT64_MIN /* the session index of a key */

/* What a state of a windowed view or of a reducer has besides (session
 * windows, their events). */
struct entx {
	struct ent **sess;         /* NOSTART: the key's open sessions */
	size_t nsess;
	struct ev_buf evs;         /* a reducer's open session: its events (see session) */
};

/* One state. Allocated in one block with its key and then either room for
 * a built-in state (built-in folds without windows: agg then points there
 * once set) or its entx (x); what every event reads in the first bytes. */
struct ent {
	int64_t start;
	size_t klen;
	struct ev_aggstate *agg;   /* built-ins: the state; NULL: none */
	unsigned dirty : 1, open : 1, closed : 1;
	unsigned fresh : 1;        /* known to have no row in the table */
	unsigned aggin : 1;        /* agg's room is in this block */
	int64_t end;
	char *state;               /* jq: the state; NULL: none */
	size_t slen;
	struct entx *x;            /* NULL when aggin */
	char key[];                /* klen bytes and a NUL */
};

/* A dirty state, with the first bytes of its key (big-endian, zeros after
 * the key) that put most of them in key order without reading the entry. */
struct dref {
	uint64_t pre;
	struct ent *e;
};

/* The cache's slots: the hash beside the entry, so that a probe reads the
 * entry only when the hash is its. */
struct slot {
	uint64_t h;
	struct ent *e;
};

enum { P_KEY, P_TIME, P_AGG0, NPATHS = P_AGG0 + EV_NAGG };

struct ev_fold {
	struct ev_fold_conf c;
	struct ev_store *st;
	struct ev_vtab *tab;
	char *name;                /* the table folded into: the view, or its rebuild */
	int rebuilding, haspos;
	int complete;              /* every row of the table is in the cache */
	uint64_t pos;
	int64_t commits, wm;
	struct ev_key *keyq;
	struct ev_jq *red;
	struct ev_jpath *paths[NPATHS];
	struct ev_jval v[NPATHS];
	struct ev_jpath *scan[NPATHS]; /* the paths given, in a row, for the scan */
	int scanto[NPATHS];            /* which of v each is */
	size_t nscan;
	int aggidx[EV_NAGG];
	char *init;
	struct slot *tab_;         /* the cache: open addressing */
	struct chunk *arena;       /* where entries with aggin are (fold.c) */
	size_t cap, n;
	struct dref *dirty[2];     /* the dirty states: [1] fresh, [0] the others */
	size_t ndirty[2], dcap[2];
	struct ent **open;
	size_t nopen, ocap;
	int64_t minend;
	struct ev_buf key, keyjson, in, out, err, tmp, aux, ev, acc, evs;
	struct sessev *sv_;        /* a merge's events */
	struct ev_row pend[EV_VTAB_PUTN]; /* rows to write together (flushrows) */
	size_t soff[EV_VTAB_PUTN], aoff[EV_VTAB_PUTN], npend;
	int hasaux[EV_VTAB_PUTN], pfresh;
	struct ev_buf pbuf;
	size_t svcap;
	uint32_t bseq;             /* events kept in sessions since the last commit */
	struct ev_fold_stats s;
};

/* fold.c: the cache. */
/* The entry of (key, start), made absent when the cache has none; for a
 * view without windows, a key not in the cache is read from the table.
 * NULL on a database error (reported). */
struct ent *fold_lookup(struct ev_fold *f, const char *k, size_t n, int64_t start);
/* Set e's state to the JSON text p (NULL: none). */
void fold_putstate(struct ent *e, const char *p, size_t n);
/* e's built-in state, made empty when it has none. */
struct ev_aggstate *fold_agg(struct ent *e);
/* The hash of (key, window start) in the cache. */
static inline uint64_t
fold_hash(const char *k, size_t n, int64_t start)
{
	return XXH3_64bits_withSeed(k, n, (uint64_t)start);
}
/* Ask the memory for what a lookup of the key of hash h (klen bytes) will
 * read, ahead of it: stage 0, its slot; stage 1 (once the slot has come),
 * its entry. */
void fold_prefetch(struct ev_fold *f, uint64_t h, size_t klen, int stage);
/* e is written at the next commit. */
void fold_markdirty(struct ev_fold *f, struct ent *e);
/* e is an open window, closed when the watermark passes its end. */
void fold_addopen(struct ev_fold *f, struct ent *e);

/* line.c: one event. */
/* The reducer on a state: the new state in f->out (len 0 and *none when
 * it gave nothing: the state stays; "null" deletes). 0, or -1 with jq's
 * message in f->err. */
int fold_reduce(struct ev_fold *f, const struct ent *e, const struct ev_line *l, int *none);
/* An event too late for its windows: counted, and kept in --late. */
void fold_late(struct ev_fold *f, struct ev_input *in, const struct ev_line *l);

/* session.c: session windows. */
/* Fold an event at time t into its key's sessions. 0, or -1 on a failure
 * that is not the event's (reported). */
int fold_session(struct ev_fold *f, struct ev_input *in, const struct ev_line *l, int64_t t);
/* A session that ends leaves its key's index of open sessions. */
void fold_unsession(struct ev_fold *f, struct ent *e);

#endif
