/* SPDX-License-Identifier: ISC */
/* keyset.c — see keyset.h.
 *
 * Two arrays. The ring holds the entries in the order they were added
 * (head is the oldest), which is the order both windows forget them in:
 * the count window drops the head when the ring is full, the time window
 * drops heads whose time the clock has left behind. The table is open
 * addressing with linear probing over 2 * capacity 4-byte slots, each 0
 * (empty) or a ring index + 1 in its low bits and, in the bits the index
 * does not need, the same bits of the hash's high word: most probes that
 * meet another key are settled without reading the ring. The home slot of
 * a hash is the top 32 bits of its low word scaled to the table size (any
 * size works, so the table stays exactly twice the ring and the load
 * factor at most 1/2). Deletion shifts the cluster back (no tombstones).
 *
 * A key found in the table whose time is out of the window (events out of
 * order can leave such a key behind a younger head) is replaced: its ring
 * entry is marked dead and skipped when it reaches the head.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/err.h"
#include "dedupe/keyset.h"
#include "base/mem.h"

#define DEAD INT64_MIN
#define MINCAP 1024
#define BIGPAGE (2u << 20)
#define PREFETCH 16 /* how many keys ahead a rebuild or a load asks for slots */

struct ev_keyset {
	struct ev_keyent *ring;
	uint32_t *slot;
	size_t cap, head, len; /* ring capacity, oldest entry, entries (dead ones too) */
	size_t live;           /* keys in the table */
	uint64_t nslots;
	uint32_t imask;        /* the slot bits that hold the ring index + 1 */
	size_t maxcap;
	int64_t window, now;
};

static size_t
home(const struct ev_keyset *ks, uint64_t lo)
{
	return (size_t)(((lo >> 32) * ks->nslots) >> 32);
}

static size_t
nextslot(const struct ev_keyset *ks, size_t i)
{
	return ++i == ks->nslots ? 0 : i;
}

static uint32_t
tag(const struct ev_keyset *ks, uint64_t hi)
{
	return (uint32_t)(hi >> 32) & ~ks->imask;
}

static struct ev_keyent *
entry(const struct ev_keyset *ks, uint32_t v)
{
	return &ks->ring[(v & ks->imask) - 1];
}

/* The slot holding the key, or the empty slot that ends its probe. */
static size_t
find(const struct ev_keyset *ks, uint64_t lo, uint64_t hi)
{
	size_t i = home(ks, lo);
	uint32_t v, t = tag(ks, hi);

	for (; (v = ks->slot[i]) != 0; i = nextslot(ks, i)) {
		if ((v & ~ks->imask) != t)
			continue;
		const struct ev_keyent *e = entry(ks, v);
		if (e->lo == lo && e->hi == hi)
			break;
	}
	return i;
}

/* Empty slot i and shift back the entries of its cluster that probed past it. */
static void
unslot(struct ev_keyset *ks, size_t i)
{
	size_t j = i;

	for (;;) {
		j = nextslot(ks, j);
		if (ks->slot[j] == 0)
			break;
		size_t k = home(ks, entry(ks, ks->slot[j])->lo);
		/* The entry at j stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		ks->slot[i] = ks->slot[j];
		i = j;
	}
	ks->slot[i] = 0;
}

static int
expired(const struct ev_keyset *ks, const struct ev_keyent *e)
{
	return e->t == DEAD || (ks->window > 0 && e->t <= ks->now - ks->window);
}

/* Zeroed memory. Big arrays are mapped anew (the system hands out zeroed
 * pages: nothing to clear), start on a 2 MiB boundary and, where the
 * system offers it, ask for huge pages: filling ten million keys touches
 * 320 MB, and one page fault per 4 KiB costs more than all the other work
 * of a load. */
static void *
bigalloc(size_t n)
{
	char *p;
	size_t lead;

	if (n < BIGPAGE)
		return ev_calloc(1, n);
	n = (n + BIGPAGE - 1) / BIGPAGE * BIGPAGE;
	p = mmap(NULL, n + BIGPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (p == MAP_FAILED)
		ev_die(EV_TEMPFAIL, "out of memory");
	lead = (BIGPAGE - (uintptr_t)p % BIGPAGE) % BIGPAGE;
	if (lead)
		munmap(p, lead);
	munmap(p + lead + n, BIGPAGE - lead);
	p += lead;
#ifdef MADV_HUGEPAGE
	madvise(p, n, MADV_HUGEPAGE); /* advice: nothing to do if it is not taken */
#endif
	return p;
}

static void
bigfree(void *p, size_t n)
{
	if (n < BIGPAGE)
		free(p);
	else if (p)
		munmap(p, (n + BIGPAGE - 1) / BIGPAGE * BIGPAGE);
}

static void
resize(struct ev_keyset *ks, size_t cap)
{
	struct ev_keyent *ring;
	size_t n = 0;

	if (cap > SIZE_MAX / sizeof *ring / 2)
		ev_die(EV_TEMPFAIL, "out of memory");
	ring = bigalloc(cap * sizeof *ring);

	for (size_t k = 0, i = ks->head; k < ks->len; k++) {
		if (ks->ring[i].t != DEAD)
			ring[n++] = ks->ring[i];
		if (++i == ks->cap)
			i = 0;
	}
	bigfree(ks->ring, ks->cap * sizeof *ks->ring);
	bigfree(ks->slot, (size_t)ks->nslots * sizeof *ks->slot);
	ks->ring = ring;
	ks->cap = cap;
	ks->head = 0;
	ks->len = ks->live = n;
	ks->nslots = 2 * (uint64_t)cap;
	ks->slot = bigalloc((size_t)ks->nslots * sizeof *ks->slot);
	ks->imask = 1;
	while (ks->imask < cap)
		ks->imask = ks->imask << 1 | 1;
	for (size_t r = 0; r < n; r++) {
		/* the slots are written in random order: ask for them ahead */
		if (r + PREFETCH < n)
			ev_keyset_prefetch(ks, ring[r + PREFETCH].lo);
		size_t i = home(ks, ring[r].lo);
		while (ks->slot[i])
			i = nextslot(ks, i);
		ks->slot[i] = tag(ks, ring[r].hi) | ((uint32_t)r + 1);
	}
}

struct ev_keyset *
ev_keyset_new(uint64_t maxkeys, int64_t window_ms)
{
	struct ev_keyset *ks = ev_calloc(1, sizeof *ks);

	ks->maxcap = maxkeys == 0 || maxkeys > EV_KEYSET_MAX ? EV_KEYSET_MAX : (size_t)maxkeys;
	ks->window = window_ms > 0 ? window_ms : 0;
	resize(ks, ks->maxcap < MINCAP ? ks->maxcap : MINCAP);
	return ks;
}

void
ev_keyset_free(struct ev_keyset *ks)
{
	if (!ks)
		return;
	bigfree(ks->ring, ks->cap * sizeof *ks->ring);
	bigfree(ks->slot, (size_t)ks->nslots * sizeof *ks->slot);
	free(ks);
}

void
ev_keyset_reserve(struct ev_keyset *ks, size_t n)
{
	if (n > ks->maxcap)
		n = ks->maxcap;
	if (n > ks->cap)
		resize(ks, n);
}

/* Forget the oldest entry. */
static void
pophead(struct ev_keyset *ks)
{
	struct ev_keyent *e = &ks->ring[ks->head];

	if (e->t != DEAD) {
		unslot(ks, find(ks, e->lo, e->hi));
		ks->live--;
	}
	if (++ks->head == ks->cap)
		ks->head = 0;
	ks->len--;
}

static void
evict(struct ev_keyset *ks)
{
	while (ks->len > 0 && expired(ks, &ks->ring[ks->head]))
		pophead(ks);
}

void
ev_keyset_clock(struct ev_keyset *ks, int64_t t)
{
	if (t > ks->now)
		ks->now = t;
	if (ks->window > 0)
		evict(ks);
}

int64_t ev_keyset_now(const struct ev_keyset *ks) { return ks->now; }
size_t ev_keyset_count(const struct ev_keyset *ks) { return ks->live; }

size_t
ev_keyset_bytes(const struct ev_keyset *ks)
{
	return sizeof *ks + ks->cap * sizeof *ks->ring + (size_t)ks->nslots * sizeof *ks->slot;
}

/* Forget the key in slot i before its time: its ring entry stays, dead. */
static void
forget(struct ev_keyset *ks, size_t i)
{
	entry(ks, ks->slot[i])->t = DEAD;
	unslot(ks, i);
	ks->live--;
}

/* Add a key that is not in the table; i is the empty slot find() gave. */
static void
insert(struct ev_keyset *ks, const struct ev_keyent *e, size_t i)
{
	if (ks->len == ks->cap) {
		if (ks->cap < ks->maxcap)
			resize(ks, ks->cap > ks->maxcap / 2 ? ks->maxcap : 2 * ks->cap);
		else
			pophead(ks);
		i = find(ks, e->lo, e->hi);
	}
	size_t r = ks->head + ks->len;
	if (r >= ks->cap)
		r -= ks->cap;
	ks->ring[r] = *e;
	ks->len++;
	ks->live++;
	ks->slot[i] = tag(ks, e->hi) | ((uint32_t)r + 1);
}

int
ev_keyset_add(struct ev_keyset *ks, const struct ev_keyent *e)
{
	size_t i = find(ks, e->lo, e->hi);

	if (ks->slot[i]) {
		if (!expired(ks, entry(ks, ks->slot[i])))
			return 0;
		forget(ks, i);
		i = find(ks, e->lo, e->hi);
	}
	insert(ks, e, i);
	return 1;
}

void
ev_keyset_put(struct ev_keyset *ks, const struct ev_keyent *e)
{
	size_t i = find(ks, e->lo, e->hi);

	if (ks->slot[i]) {
		forget(ks, i);
		i = find(ks, e->lo, e->hi);
	}
	insert(ks, e, i);
}

void
ev_keyset_prefetch(const struct ev_keyset *ks, uint64_t lo)
{
	__builtin_prefetch(&ks->slot[home(ks, lo)]);
}

/* Asking for each key's home slot a few keys ahead overlaps the cache
 * misses of a load (after a growth, the slot asked for may be another:
 * a wasted prefetch, nothing worse). */
void
ev_keyset_replay(struct ev_keyset *ks, const struct ev_keyent *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i + PREFETCH < n)
			ev_keyset_prefetch(ks, e[i + PREFETCH].lo);
		ev_keyset_clock(ks, e[i].t);
		ev_keyset_put(ks, &e[i]);
	}
}

int
ev_keyset_has(const struct ev_keyset *ks, uint64_t lo, uint64_t hi)
{
	size_t i = find(ks, lo, hi);

	return ks->slot[i] && !expired(ks, entry(ks, ks->slot[i]));
}

int
ev_keyset_each(const struct ev_keyset *ks, int (*fn)(const struct ev_keyent *, void *), void *arg)
{
	for (size_t k = 0, i = ks->head; k < ks->len; k++) {
		if (ks->ring[i].t != DEAD) {
			int r = fn(&ks->ring[i], arg);
			if (r)
				return r;
		}
		if (++i == ks->cap)
			i = 0;
	}
	return 0;
}
