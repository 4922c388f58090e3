/* SPDX-License-Identifier: ISC */
/* metrics.c — --prometheus FILE for every tool on the shared input loop:
 * its counts and rates, rewritten atomically every EV_PROM_MS while it
 * runs, at SIGUSR1 and at its end (see input.h). */
#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "base/prom.h"
#include "base/time.h"
#include "io/input.h"

void
ev_input_set_prom(struct ev_input *in, ev_prom_fn *fn, void *arg, int counts)
{
	in->promfn = fn;
	in->promarg = arg;
	in->promnocounts = !counts;
}

/* prog_count_total, with anything but [a-zA-Z0-9_] as '_'. */
static void
metricname(struct ev_buf *b, const char *count, const char *suffix)
{
	ev_buf_reset(b);
	ev_buf_printf(b, "%s_%s%s", ev_prog(), count, suffix);
	for (size_t i = 0; i < b->len; i++) {
		char c = b->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			b->p[i] = '_';
	}
}

int
ev_input_prom(struct ev_input *in)
{
	struct ev_prom p = { 0 };
	struct ev_buf inst = { 0 }, name = { 0 }, help = { 0 };
	struct ev_stat s[EV_STATS_MAX];
	int64_t now = ev_mono_ms();
	int rc;

	if (!in->prom)
		return 0;
	ev_prom_instname(in->prom, &inst);
	const char *lab[] = { "name", inst.p, NULL };
	if (!in->promnocounts) {
		size_t n = in->counts ? in->counts(in->counts_arg, s, EV_STATS_MAX) : 0;
		if (!in->counts) {
			s[n++] = (struct ev_stat){ "in", in->nlines };
			s[n++] = (struct ev_stat){ "bad", in->nbad };
		}
		for (size_t i = 0; i < n; i++) {
			metricname(&name, s[i].name, "_total");
			ev_buf_reset(&help);
			ev_buf_printf(&help, "The count '%s', as --stats prints it.",
			    s[i].name);
			ev_prom_help(&p, name.p, "counter", help.p);
			ev_prom_count(&p, name.p, lab, s[i].n);
		}
	}
	/* The rate over the time since the last write. */
	if (in->promat > 0 && now > in->promat)
		in->promrate = (double)(in->nlines - in->promlines) * 1000.0 /
		    (double)(now - in->promat);
	metricname(&name, "lines_per_second", "");
	ev_prom_help(&p, name.p, "gauge", "Input lines read per second, over the last few seconds.");
	ev_prom_gauge(&p, name.p, lab, in->promrate);
	metricname(&name, "start_time_seconds", "");
	ev_prom_help(&p, name.p, "gauge", "When the tool started, in seconds since the epoch.");
	ev_prom_gauge(&p, name.p, lab, (double)in->promstart / 1000.0);
	if (in->promfn)
		in->promfn(in->promarg, &p, lab);
	in->promat = now;
	in->promlines = in->nlines;
	rc = ev_prom_write(&p, in->prom);
	if (rc < 0)
		ev_input_fail(in, ev_errstatus(errno));
	ev_prom_free(&p);
	ev_buf_free(&inst);
	ev_buf_free(&name);
	ev_buf_free(&help);
	return rc;
}

void
ev_input_promtick(struct ev_input *in)
{
	if (in->prom && ev_mono_ms() - in->promat >= EV_PROM_MS)
		ev_input_prom(in);
}
