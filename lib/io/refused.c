/* SPDX-License-Identifier: ISC */
/* refused.c — the events a sink could not deliver (see refused.h). */
#include <stdint.h>
#include <string.h>

#include "io/refused.h"

void
ev_refused_add(struct ev_refused *r, const char *p, size_t n, const char *why)
{
	uint32_t len = (uint32_t)n;

	ev_buf_add(&r->b, &len, sizeof len);
	ev_buf_add(&r->b, p, n);
	ev_buf_addc(&r->b, '\0');
	ev_buf_adds(&r->b, why);
	ev_buf_addc(&r->b, '\0');
}

int
ev_refused_next(struct ev_refused *r, struct ev_line *l, const char **why)
{
	uint32_t len;

	if (r->pos >= r->b.len) {
		ev_buf_reset(&r->b);
		r->pos = 0;
		return 0;
	}
	memcpy(&len, r->b.p + r->pos, sizeof len);
	l->p = r->b.p + r->pos + sizeof len;
	l->len = len;
	l->no = 0;
	l->pos = 0;
	l->partial = 0;
	l->toolong = 0;
	*why = l->p + len + 1;
	r->pos += sizeof len + len + 1 + strlen(*why) + 1;
	return 1;
}

void
ev_refused_free(struct ev_refused *r)
{
	ev_buf_free(&r->b);
	r->pos = 0;
}
