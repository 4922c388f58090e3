/* SPDX-License-Identifier: ISC */
/* csvin.c — CSV rows as JSON objects (see csvin.h).
 *
 * libcsv does the quoting (strict: a stray quote is an error, not data).
 * Every cell is kept in one arena until the input ends, because a column
 * is numeric only if its last row says so too.
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "event/csvin.h"
#include "base/err.h"
#include "json/obj.h"

#ifdef HAVE_LIBCSV
#include <csv.h>

struct cell {
	size_t off, len;
};

struct ev_csvin {
	struct csv_parser p;
	struct ev_buf text;      /* every cell's bytes */
	struct cell *cells;      /* the header's, then each row's */
	size_t ncells, capcells;
	size_t rec0, text0;      /* where the record being read starts */
	size_t *rows;            /* index of each row's first cell */
	size_t nrows, caprows;
	size_t ncols;            /* 0 until the header is read */
	unsigned char *notnum;   /* per column: a cell that is no number was seen */
	unsigned char *num;      /* per column: a number was seen */
	struct ev_buf raw;       /* the lines of the record being read */
	int ended;               /* a record ended on the last line */
	int bad, fatal;
	struct ev_buf *err;
	struct ev_obj *obj;
	struct ev_buf tmp;
};

/* A JSON number (RFC 8259): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)? */
static int
isnum(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

static void
oncell(void *s, size_t len, void *data)
{
	struct ev_csvin *c = data;

	if (c->ncells == c->capcells) {
		c->capcells = c->capcells ? c->capcells * 2 : 256;
		c->cells = ev_reallocarray(c->cells, c->capcells, sizeof *c->cells);
	}
	c->cells[c->ncells].off = c->text.len;
	c->cells[c->ncells].len = len;
	c->ncells++;
	ev_buf_add(&c->text, s, len);
}

static const char *
celltext(const struct ev_csvin *c, size_t i)
{
	return c->text.p + c->cells[i].off;
}

static void
header(struct ev_csvin *c, size_t n)
{
	ev_obj_clear(c->obj);
	for (size_t i = 0; i < n; i++)
		if (ev_obj_set(c->obj, celltext(c, i), c->cells[i].len, "", 0, EV_OBJ_STRING,
		    c->err) < 0) {
			c->fatal = 1;
			return;
		}
	c->ncols = n;
	c->notnum = ev_calloc(n, 1);
	c->num = ev_calloc(n, 1);
}

static void
onrecord(int term, void *data)
{
	struct ev_csvin *c = data;
	size_t n = c->ncells - c->rec0;

	(void)term;
	c->ended = 1;
	if (c->fatal || c->bad)
		goto drop;
	if (c->ncols == 0) {
		header(c, n);
		c->rec0 = c->ncells;
		c->text0 = c->text.len;
		return;
	}
	if (n != c->ncols) {
		ev_buf_reset(c->err);
		ev_buf_printf(c->err, "%zu cells where the header has %zu", n, c->ncols);
		c->bad = 1;
		goto drop;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cell *k = &c->cells[c->rec0 + i];
		if (k->len == 0)
			continue;
		if (isnum(c->text.p + k->off, k->len))
			c->num[i] = 1;
		else
			c->notnum[i] = 1;
	}
	if (c->nrows == c->caprows) {
		c->caprows = c->caprows ? c->caprows * 2 : 256;
		c->rows = ev_reallocarray(c->rows, c->caprows, sizeof *c->rows);
	}
	c->rows[c->nrows++] = c->rec0;
	c->rec0 = c->ncells;
	c->text0 = c->text.len;
	return;
drop:
	c->ncells = c->rec0;
	c->text.len = c->text0;
}

struct ev_csvin *
ev_csvin_new(void)
{
	struct ev_csvin *c = ev_calloc(1, sizeof *c);

	if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		ev_die(EV_TEMPFAIL, "out of memory");
	c->obj = ev_obj_new();
	ev_buf_grow(&c->text, 1);
	return c;
}

static int
result(struct ev_csvin *c, const char **raw, size_t *rawlen)
{
	if (c->fatal)
		return -1;
	if (!c->bad)
		return 0;
	c->bad = 0;
	*raw = c->raw.p;
	*rawlen = c->raw.len ? c->raw.len - 1 : 0; /* without the last newline */
	return 1;
}

/* After a parse error libcsv's state is undefined: start again, dropping
 * the record that was being read. */
static void
restart(struct ev_csvin *c)
{
	csv_free(&c->p);
	if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		ev_die(EV_TEMPFAIL, "out of memory");
	c->ncells = c->rec0;
	c->text.len = c->text0;
	c->bad = c->ended = 1;
	if (c->ncols == 0)
		c->fatal = 1; /* no header, no rows */
}

int
ev_csvin_line(struct ev_csvin *c, const char *line, size_t len, struct ev_buf *err,
    const char **raw, size_t *rawlen)
{
	c->err = err;
	if (c->ended)
		ev_buf_reset(&c->raw);
	c->ended = 0;
	ev_buf_add(&c->raw, line, len);
	ev_buf_addc(&c->raw, '\n');
	if (csv_parse(&c->p, line, len, oncell, onrecord, c) != len ||
	    csv_parse(&c->p, "\n", 1, oncell, onrecord, c) != 1) {
		ev_buf_reset(err);
		ev_buf_adds(err, "a quote inside an unquoted cell, or text after a closing quote");
		restart(c);
	}
	return result(c, raw, rawlen);
}

int
ev_csvin_end(struct ev_csvin *c, struct ev_buf *err, const char **raw, size_t *rawlen)
{
	c->err = err;
	if (c->ended)
		ev_buf_reset(&c->raw);
	if (csv_fini(&c->p, oncell, onrecord, c) != 0) {
		ev_buf_reset(err);
		ev_buf_adds(err, "a quoted cell is not closed");
		restart(c);
	}
	return result(c, raw, rawlen);
}

size_t ev_csvin_rows(const struct ev_csvin *c) { return c->nrows; }

void
ev_csvin_row(struct ev_csvin *c, size_t i, struct ev_buf *out)
{
	size_t first = c->rows[i];

	ev_obj_clear(c->obj);
	for (size_t j = 0; j < c->ncols; j++) {
		const struct cell *k = &c->cells[first + j];
		const char *v = c->text.p + k->off;
		size_t vlen = k->len;
		enum ev_objval kind = EV_OBJ_STRING;

		if (c->num[j] && !c->notnum[j]) {
			kind = EV_OBJ_RAW;
			if (vlen == 0)
				v = "null", vlen = 4;
		}
		ev_obj_set(c->obj, celltext(c, j), c->cells[j].len, v, vlen, kind, &c->tmp);
	}
	ev_obj_dump(c->obj, out);
}

void
ev_csvin_free(struct ev_csvin *c)
{
	if (!c)
		return;
	csv_free(&c->p);
	ev_buf_free(&c->text);
	ev_buf_free(&c->raw);
	ev_buf_free(&c->tmp);
	free(c->cells);
	free(c->rows);
	free(c->notnum);
	free(c->num);
	ev_obj_free(c->obj);
	free(c);
}

#else /* no libcsv */

struct ev_csvin *ev_csvin_new(void) { return NULL; }
int ev_csvin_line(struct ev_csvin *c, const char *l, size_t n, struct ev_buf *e,
    const char **r, size_t *rl) { (void)c, (void)l, (void)n, (void)e, (void)r, (void)rl; return -1; }
int ev_csvin_end(struct ev_csvin *c, struct ev_buf *e, const char **r, size_t *rl)
	{ (void)c, (void)e, (void)r, (void)rl; return -1; }
size_t ev_csvin_rows(const struct ev_csvin *c) { (void)c; return 0; }
void ev_csvin_row(struct ev_csvin *c, size_t i, struct ev_buf *o) { (void)c, (void)i, (void)o; }
void ev_csvin_free(struct ev_csvin *c) { (void)c; }

#endif
