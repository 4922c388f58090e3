/* SPDX-License-Identifier: ISC */
/* ring.c — the last n lines of an input that cannot seek back (ring.h). */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "io/ring.h"

struct ev_ring {
	struct ev_buf *lines; /* grows to n entries, then is reused in a circle */
	uint64_t n, next, used;
};

struct ev_ring *
ev_ring_new(uint64_t n)
{
	struct ev_ring *g = ev_calloc(1, sizeof *g);

	g->n = n;
	return g;
}

void
ev_ring_add(struct ev_ring *g, const char *p, size_t len)
{
	if (g->n == 0)
		return;
	if (g->used < g->n) {
		g->lines = ev_reallocarray(g->lines, g->used + 1, sizeof *g->lines);
		memset(&g->lines[g->used++], 0, sizeof *g->lines);
	}
	ev_buf_reset(&g->lines[g->next]);
	ev_buf_add(&g->lines[g->next], p, len);
	g->next = (g->next + 1) % g->n;
}

int
ev_ring_flush(struct ev_ring *g, struct ev_sink *s, uint64_t *written)
{
	uint64_t first = g->used == g->n ? g->next : 0;

	for (uint64_t i = 0; i < g->used; i++) {
		struct ev_buf *b = &g->lines[(first + i) % g->used];
		if (ev_sink_write(s, b->p, b->len) < 0)
			return -1;
		++*written;
	}
	return 0;
}

void
ev_ring_free(struct ev_ring *g)
{
	if (!g)
		return;
	for (uint64_t i = 0; i < g->used; i++)
		ev_buf_free(&g->lines[i]);
	free(g->lines);
	free(g);
}
