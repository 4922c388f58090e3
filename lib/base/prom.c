/* SPDX-License-Identifier: ISC */
/* prom.c — Prometheus text exposition, printed or written atomically (see prom.h). */
#include <errno.h>
#include <fcntl.h>
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
