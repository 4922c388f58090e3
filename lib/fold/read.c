/* SPDX-License-Identifier: ISC */
/* read.c — reading a view: evfold get and dump, view names (fold.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "fold/fold.h"
#include "fold/store.h"

int
ev_fold_view_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || strncmp(name, "evfold_", 7) == 0)
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

char *
ev_fold_only_view(const char *db)
{
	struct ev_store *st = ev_store_open(db, 1, EV_SYNC_NONE);
	char **v, *name = NULL;
	size_t n = 0;

	if (!st)
		return NULL;
	v = ev_store_views(st);
	for (; v[n]; n++)
		;
	if (n == 1)
		name = ev_strdup(v[0]);
	else
		ev_warn("%s: %s; name one with --view", db, n ? "more than one view" : "no view");
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
	ev_store_close(st);
	return name;
}

struct printer {
	FILE *out;
	int windowed, stateonly;
	struct ev_buf b;
	uintmax_t n;
};

static int
printrow(void *arg, const struct ev_row *r)
{
	struct printer *p = arg;

	ev_buf_reset(&p->b);
	if (p->stateonly && !p->windowed) {
		ev_buf_add(&p->b, r->state, r->slen);
	} else {
		ev_buf_adds(&p->b, "{\"key\":");
		ev_buf_addjstr(&p->b, r->key, r->klen);
		if (p->windowed) {
			char s[32], e[32];
			ev_time_format(r->start, s);
			ev_time_format(r->end, e);
			ev_buf_printf(&p->b, ",\"start\":\"%s\",\"end\":\"%s\",\"closed\":%s", s, e,
			    r->closed ? "true" : "false");
		}
		ev_buf_adds(&p->b, ",\"state\":");
		ev_buf_add(&p->b, r->state, r->slen);
		ev_buf_addc(&p->b, '}');
	}
	ev_buf_addc(&p->b, '\n');
	p->n++;
	return fwrite(p->b.p, 1, p->b.len, p->out) == p->b.len ? 0 : -1;
}

static int
readview(const char *db, const char *view, const char *key, FILE *out)
{
	struct ev_store *st = ev_store_open(db, 1, EV_SYNC_NONE);
	struct ev_viewmeta m;
	struct ev_vtab *t = NULL;
	struct printer p = { .out = out };
	int r = -1, got;

	if (!st)
		return -1;
	if ((got = ev_store_view_get(st, view, &m)) <= 0) {
		if (got == 0)
			ev_warn("%s: no view %s", db, view);
		errno = EINVAL;
		goto done;
	}
	p.windowed = m.windowed;
	p.stateonly = key != NULL;
	ev_viewmeta_free(&m);
	if (!(t = ev_vtab_open(st, view, p.windowed)))
		goto done;
	if (ev_vtab_each(t, key, key ? strlen(key) : 0, 0, printrow, &p) != 0)
		goto done;
	r = p.n > 0;
done:
	ev_buf_free(&p.b);
	ev_vtab_close(t);
	ev_store_close(st);
	return r;
}

int
ev_fold_get(const char *db, const char *view, const char *key, FILE *out)
{
	return readview(db, view, key, out);
}

int
ev_fold_dump(const char *db, const char *view, FILE *out)
{
	return readview(db, view, NULL, out) < 0 ? -1 : 1;
}
