/* SPDX-License-Identifier: ISC */
/* tool.h — the steps every main takes alike that end the tool when they
 * fail: lib/ reports and returns, a main decides to exit (style: exit()
 * only in main and usage()). Included by the mains only. */
#ifndef EV_TOOL_H
#define EV_TOOL_H
#include <errno.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/opts.h"
#include "io/input.h"
#include "io/loc.h"

/* A common option (base/opts.h): 1 when ch was one; a bad value exits 2. */
static inline int
tool_option(struct ev_opts *o, int ch, const char *arg)
{
	int r = ev_opts_common(o, ch, arg);

	if (r < 0)
		exit(EV_ERROR);
	return r;
}

/* A size option's value (ev_opt_size); a bad one exits 2. */
static inline uint64_t
tool_size(const char *s, const char *what)
{
	uint64_t v;

	if (ev_opt_size(s, what, &v) < 0)
		exit(EV_ERROR);
	return v;
}

/* An output opened (ev_sink_open), or exit with the status its failure
 * calls for (reported). */
static inline struct ev_sink *
tool_sink(const char *dest, enum ev_sync sync)
{
	struct ev_sink *s = ev_sink_open(dest, sync);

	if (!s)
		exit(ev_errstatus(errno));
	return s;
}

/* -o (else standard output), opened or exit. */
static inline struct ev_sink *
tool_output(const struct ev_opts *o)
{
	return tool_sink(o->output ? o->output : "-", o->sync);
}

/* ev_input_init, or exit with its status. */
static inline void
tool_input(struct ev_input *in, const struct ev_opts *o, char *const *operands, int n)
{
	if (ev_input_init(in, o, operands, n) < 0)
		exit(in->status);
}

#endif
