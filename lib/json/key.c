/* SPDX-License-Identifier: ISC */
/* key.c — the key of an event: a path read by the scanner, else jq. One
 * home for what evdedupe, evfold, evretry and the AMQP sink each need. */
#include <stdlib.h>
#include <string.h>

#include "json/jq.h"
#include "json/key.h"
#include "json/pred.h"

struct ev_key {
	struct ev_jq *q;       /* NULL for a plain path until jq is needed */
	char *expr;
	struct ev_jpath *path; /* the expression as a plain path, or NULL */
	struct ev_buf tmp;     /* jq's output, before a string is decoded */
};

/* A plain path is compiled for jq only when an event needs it (a path
 * that meets a scalar on its way): compiling costs more than scanning many
 * events. */
struct ev_key *
ev_key_compile(const char *expr, struct ev_buf *err)
{
	struct ev_buf why = { 0 };
	struct ev_jpath *path = ev_jpath_compile(expr, &why);
	struct ev_jq *q = NULL;

	ev_buf_free(&why);
	ev_buf_reset(err);
	if (!path && !(q = ev_jq_compile(expr, NULL, err)))
		return NULL;
	struct ev_key *k = ev_calloc(1, sizeof *k);
	k->q = q;
	k->path = path;
	k->expr = ev_strdup(expr);
	return k;
}

void
ev_key_free(struct ev_key *k)
{
	if (!k)
		return;
	ev_jq_free(k->q);
	ev_jpath_free(k->path);
	free(k->expr);
	ev_buf_free(&k->tmp);
	free(k);
}

struct ev_jpath *
ev_key_path(const struct ev_key *k)
{
	return k->path;
}

/* A value as jq -c prints it: its own bytes when they are exactly that
 * (json/pred.h), else jq's normal form. */
static void
dumpjson(const struct ev_jval *v, struct ev_buf *out)
{
	if (!ev_pred_dump(v, out))
		ev_jq_compact(v->p, v->len, out);
}

int
ev_key_get(struct ev_key *k, const struct ev_jval *v, const char *line, size_t len,
    enum ev_keyform form, struct ev_buf *out, struct ev_buf *err)
{
	ev_buf_reset(out);
	if (v && k->path && !(v->type == EV_J_MISSING && v->jqerr)) {
		/* the scanner's value: jq's null, or the key */
		if (v->type == EV_J_MISSING || v->type == EV_J_NULL)
			return 0;
		if (form == EV_KEY_TEXT && v->type == EV_J_STRING)
			ev_jval_str(v, out);
		else
			dumpjson(v, out);
		if (!out->p)
			ev_buf_add(out, "", 0);
		return 1;
	}
	/* not a path, or one jq answers with an error: jq says */
	if (!k->q && !(k->q = ev_jq_compile(k->expr, NULL, err)))
		return EV_JQ_RUNERR;
	struct ev_buf *b = form == EV_KEY_TEXT ? &k->tmp : out;
	ev_buf_reset(b);
	int n = ev_jq_run(k->q, line, len, EV_JQ_KEY, b, err);
	if (n < 0 || n == 0 || strcmp(b->p, "null") == 0) {
		ev_buf_reset(b);
		return n < 0 ? n : 0;
	}
	if (b == out)
		return 1;
	if (b->p[0] == '"') {
		/* a string decoded, as the scanner decodes one */
		struct ev_jval s = { EV_J_STRING, b->p, b->len, memchr(b->p, '\\', b->len) != NULL, 0 };
		ev_jval_str(&s, out);
	} else {
		ev_buf_add(out, b->p, b->len);
	}
	if (!out->p)
		ev_buf_add(out, "", 0);
	return 1;
}

/* A value of a source + id key: a type tag, a length, the decoded string or raw JSON. */
static void
addval(struct ev_buf *b, const struct ev_jval *v)
{
	size_t at;
	uint32_t len;

	if (v->type == EV_J_STRING && !v->escaped) {
		/* the common case in one step: the body as it stands */
		len = (uint32_t)(v->len - 2);
		ev_buf_grow(b, 5 + (size_t)len);
		b->p[b->len] = 's';
		memcpy(b->p + b->len + 1, &len, 4);
		memcpy(b->p + b->len + 5, v->p + 1, len);
		b->len += 5 + (size_t)len;
		b->p[b->len] = '\0';
		return;
	}
	ev_buf_addc(b, v->type == EV_J_STRING ? 's' : 'r');
	at = b->len;
	ev_buf_add(b, "\0\0\0\0", 4);
	if (v->type == EV_J_STRING)
		ev_jval_str(v, b);
	else
		ev_buf_add(b, v->p, v->len);
	len = (uint32_t)(b->len - at - 4);
	memcpy(b->p + at, &len, 4);
}

static int
present(const struct ev_jval *v)
{
	return v->type != EV_J_MISSING && v->type != EV_J_NULL;
}

int
ev_key_sourceid(const struct ev_jval *source, const struct ev_jval *id, struct ev_buf *out)
{
	ev_buf_reset(out);
	if (!present(id))
		return 0;
	/* CloudEvents: an event is identified by source and id together. */
	if (present(source)) {
		ev_buf_addc(out, 'p');
		addval(out, source);
	}
	addval(out, id);
	return 1;
}
