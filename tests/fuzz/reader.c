/* SPDX-License-Identifier: ISC */
/* Fuzz the line reader: the input goes through a non-blocking pipe in
 * chunks of the sizes the input asks for, with a small line limit, and
 * every line handed out must be the next line of the input (its first
 * `max` bytes and its full length when it is too long), at the right
 * position and number, with nothing lost at the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "io/reader.h"

#include "fuzz.h"

struct want {
	const uint8_t *data;
	size_t size, off; /* the next line starts at data[off] */
	uintmax_t no;
	size_t max;
};

static void
check(struct want *w, const struct ev_line *l)
{
	const uint8_t *b = w->data + w->off, *nl = memchr(b, '\n', w->size - w->off);
	size_t n = nl ? (size_t)(nl - b) : w->size - w->off, len = n;

	if (w->off == 0 && w->no == 0)
		w->no = l->no - 1; /* ev_reader_reset goes on counting lines */
	FUZZ_ASSERT(l->no == ++w->no, "line %ju numbered %ju", w->no, l->no);
	FUZZ_ASSERT(l->partial == !nl, "line %ju: partial %d", w->no, l->partial);
	if (n > w->max) {
		FUZZ_ASSERT(l->toolong == n && l->len == w->max, "line %ju: %zu bytes, toolong %ju len %zu",
		    w->no, n, (uintmax_t)l->toolong, l->len);
		len = w->max;
	} else {
		FUZZ_ASSERT(l->toolong == 0, "line %ju of %zu bytes is not too long", w->no, n);
		if (nl && len > 0 && b[len - 1] == '\r')
			len--;
		FUZZ_ASSERT(l->len == len, "line %ju: %zu bytes, want %zu", w->no, l->len, len);
	}
	FUZZ_ASSERT(memcmp(l->p, b, len) == 0 && l->p[len] == '\0', "line %ju: other bytes", w->no);
	w->off += n + (nl ? 1 : 0);
	FUZZ_ASSERT(l->pos == 1000 + w->off, "line %ju ends at %ju, want %zu", w->no,
	    (uintmax_t)l->pos, 1000 + w->off);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[2];
	struct ev_line l;
	size_t in = 2, step;

	if (size < 2)
		return 0;
	struct want w = { data + 2, size - 2, 0, 0, 1 + data[0] % 64 };
	if (pipe2(fds, O_NONBLOCK) < 0)
		return 0;
	/* one reader for all runs (a 256 KiB buffer per run is slow under
	 * ASan), reset each time as a tool resets it for a new file */
	static struct ev_reader *r;
	if (!r)
		r = ev_reader_new(fds[0], 0);
	ev_reader_reset(r, fds[0], 1000);
	ev_reader_setmax(r, w.max);
	/* chunks of 1 to 16 bytes, the sizes drawn from data[1] */
	for (unsigned seed = data[1]; in < size; in += step) {
		seed = seed * 1103515245u + 12345u;
		step = 1 + (seed >> 16) % 16;
		if (step > size - in)
			step = size - in;
		FUZZ_ASSERT(write(fds[1], data + in, step) == (ssize_t)step, "pipe write");
		int got, flags = (seed >> 8) & 1 ? EV_RD_ONCE : 0;
		while ((got = ev_reader_next(r, &l, flags)) == 1)
			check(&w, &l);
		FUZZ_ASSERT(got == -1 && errno == EAGAIN, "a chunk ends with %d", got);
	}
	close(fds[1]);
	while (ev_reader_next(r, &l, EV_RD_TAIL) == 1)
		check(&w, &l);
	FUZZ_ASSERT(w.off == w.size, "%zu of %zu bytes handed out", w.off, w.size);
	FUZZ_ASSERT(ev_reader_pending(r) == 0, "bytes left in the reader");
	close(fds[0]);
	return 0;
}
