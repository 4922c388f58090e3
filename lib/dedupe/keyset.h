/* SPDX-License-Identifier: ISC */
/* keyset.h — a bounded set of 128-bit key hashes, forgotten oldest first.
 *
 * The keys a deduplicator remembers: each is a 128-bit hash of the key and
 * the time it was remembered at. The set forgets by count (it holds at most
 * maxkeys keys; adding one more forgets the oldest) and by time (a key
 * remembered at t is forgotten once the clock reaches t + window). The
 * clock only moves forward; the caller moves it (event time or arrival).
 *
 * Memory: 24 bytes per key in an insertion-order ring and two 4-byte slots
 * per key in an open-addressing table: 32 bytes per key of capacity. The
 * capacity grows by doubling up to maxkeys.
 */
#ifndef EV_KEYSET_H
#define EV_KEYSET_H
#include <stddef.h>
#include <stdint.h>

/* One remembered key, as kept in memory and in a state file. */
struct ev_keyent {
	uint64_t lo, hi; /* the 128-bit hash */
	int64_t t;       /* when it was remembered (Unix ms) */
};

#define EV_KEYSET_MAX 2147483647u /* the most keys a set can hold */

struct ev_keyset;

/* maxkeys: 0 for no count limit (at most EV_KEYSET_MAX); window_ms: 0 for none. */
struct ev_keyset *ev_keyset_new(uint64_t maxkeys, int64_t window_ms);
void ev_keyset_free(struct ev_keyset *ks);
/* Make room for n keys now (a state about to be loaded). */
void ev_keyset_reserve(struct ev_keyset *ks, size_t n);
/* Move the clock to t if that is later, and forget what the window left behind. */
void ev_keyset_clock(struct ev_keyset *ks, int64_t t);
int64_t ev_keyset_now(const struct ev_keyset *ks);
/* 1: the key is new and now remembered with e->t; 0: it is remembered and
 * within the window (nothing changes: a key's window starts when it was added). */
int ev_keyset_add(struct ev_keyset *ks, const struct ev_keyent *e);
/* Remember e even if the key is there (the older entry is forgotten). */
void ev_keyset_put(struct ev_keyset *ks, const struct ev_keyent *e);
/* For each of e[0..n): move the clock to its time and put it (loading a state). */
void ev_keyset_replay(struct ev_keyset *ks, const struct ev_keyent *e, size_t n);
/* Start loading what ev_keyset_add(lo, ...) will look at first: a caller
 * that knows a few keys ahead overlaps their cache misses. */
void ev_keyset_prefetch(const struct ev_keyset *ks, uint64_t lo);
/* Is the key remembered (and within the window)? */
int ev_keyset_has(const struct ev_keyset *ks, uint64_t lo, uint64_t hi);
size_t ev_keyset_count(const struct ev_keyset *ks);
/* Bytes allocated. */
size_t ev_keyset_bytes(const struct ev_keyset *ks);
/* Call fn for each remembered key, oldest first; stop early when fn returns non-zero. */
int ev_keyset_each(const struct ev_keyset *ks, int (*fn)(const struct ev_keyent *, void *),
    void *arg);

#endif
