/* SPDX-License-Identifier: ISC */
/* prom.c — Prometheus text exposition, printed or written atomically (see prom.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/prom.h"
#include "base/replace.h"

void
ev_prom_help(struct ev_prom *p, const char *name, const char *type, const char *help)
{
	ev_buf_printf(&p->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{l1="v1",...}: a label value's backslash, quote and newline escaped. */
static void
series(struct ev_buf *b, const char *name, const char *const *labels)
{
	ev_buf_adds(b, name);
	if (!labels || !labels[0])
		return;
	ev_buf_addc(b, '{');
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		ev_buf_printf(b, "%s%s=\"", i ? "," : "", labels[i]);
		for (const char *v = labels[i + 1]; *v; v++) {
			if (*v == '\n') {
				ev_buf_adds(b, "\\n");
				continue;
			}
			if (*v == '\\' || *v == '"')
				ev_buf_addc(b, '\\');
			ev_buf_addc(b, *v);
		}
		ev_buf_addc(b, '"');
	}
	ev_buf_addc(b, '}');
}

void
ev_prom_count(struct ev_prom *p, const char *name, const char *const *labels, uintmax_t v)
{
	series(&p->b, name, labels);
	ev_buf_printf(&p->b, " %ju\n", v);
}

void
ev_prom_gauge(struct ev_prom *p, const char *name, const char *const *labels, double v)
{
	series(&p->b, name, labels);
	ev_buf_printf(&p->b, " %.15g\n", v); /* exact for counts below 1e15, and for ms times */
}

int
ev_prom_write(const struct ev_prom *p, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? ev_strndup(path, slash == path ? 1 : (size_t)(slash - path)) :
	    ev_strdup(".");
	int dirfd, rc = -1;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot open:", dir);
	} else {
		rc = ev_replace(dirfd, dir, slash ? slash + 1 : path, p->b.p ? p->b.p : "",
		    p->b.len, 0644, 0);
		close(dirfd);
	}
	free(dir);
	return rc;
}

void
ev_prom_instname(const char *path, struct ev_buf *b)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".prom") == 0)
		n -= 5;
	ev_buf_reset(b);
	ev_buf_add(b, base, n);
}

const double ev_promhist_bounds[EV_PROMHIST_NB] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};

void
ev_promhist_add(struct ev_promhist *h, double sec)
{
	int b = 0;

	while (b < EV_PROMHIST_NB && sec > ev_promhist_bounds[b])
		b++;
	h->b[b]++;
	h->n++;
	h->sum += sec;
}

void
ev_prom_histogram(struct ev_prom *p, const char *name, const char *help,
    const char *const *lab, const struct ev_promhist *h)
{
	struct ev_buf n = { 0 };
	const char *blab[] = { "le", NULL, lab ? lab[0] : NULL, lab ? lab[1] : NULL, NULL };
	char le[32];
	uintmax_t cum = 0;

	ev_prom_help(p, name, "histogram", help);
	ev_buf_printf(&n, "%s_bucket", name);
	for (int b = 0; b <= EV_PROMHIST_NB; b++) {
		cum += h->b[b];
		if (b < EV_PROMHIST_NB)
			snprintf(le, sizeof le, "%g", ev_promhist_bounds[b]);
		else
			snprintf(le, sizeof le, "+Inf");
		blab[1] = le;
		ev_prom_count(p, n.p, blab, cum);
	}
	ev_buf_reset(&n);
	ev_buf_printf(&n, "%s_sum", name);
	ev_prom_gauge(p, n.p, lab, h->sum);
	ev_buf_reset(&n);
	ev_buf_printf(&n, "%s_count", name);
	ev_prom_count(p, n.p, lab, h->n);
	ev_buf_free(&n);
}

void
ev_prom_free(struct ev_prom *p)
{
	ev_buf_free(&p->b);
}

size_t
ev_prom_begin(struct ev_prom *p, const char *name, const char *type, const char *help)
{
	size_t mark = p->b.len;

	ev_prom_help(p, name, type, help);
	p->helped = p->b.len;
	return mark;
}

void
ev_prom_end(struct ev_prom *p, size_t mark)
{
	if (p->b.len == p->helped) /* no sample: no HELP either */
		p->b.len = mark;
}
