/* SPDX-License-Identifier: ISC */
/* jq.c — the glue around libjq: compile once, run per event, and turn jq's
 * messages (which it prints itself by default) into ours. */
#include <jq.h>
#include <jv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "json/jq.h"

struct ev_jq {
	jq_state *jq;
	struct jv_parser *parser; /* kept from event to event, or NULL */
	struct ev_buf line;       /* the event and a newline, as the parser reads it */
};

struct ev_jqargs {
	jv obj;
	struct ev_predarg *pred; /* the same, as JSON text, for json/pred */
	size_t npred;
};

struct ev_jqargs *
ev_jqargs_new(void)
{
	struct ev_jqargs *a = ev_calloc(1, sizeof *a);

	a->obj = jv_object();
	return a;
}

int
ev_jqargs_add(struct ev_jqargs *a, const char *name, const char *value, int json,
    struct ev_buf *err)
{
	jv v = json ? jv_parse(value) : jv_string(value);

	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		ev_buf_reset(err);
		ev_buf_printf(err, "--argjson %s: %s", name,
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "invalid JSON");
		jv_free(msg);
		return -1;
	}
	a->obj = jv_object_set(a->obj, jv_string(name), v);
	/* the fast path reads the value as JSON text: a string encoded */
	struct ev_buf text = { 0 };
	if (json)
		ev_buf_adds(&text, value);
	else
		ev_buf_addjstr(&text, value, strlen(value));
	a->pred = ev_reallocarray(a->pred, a->npred + 1, sizeof *a->pred);
	a->pred[a->npred].name = ev_strdup(name);
	a->pred[a->npred++].json = text.p;
	return 0;
}

const struct ev_predarg *
ev_jqargs_pred(const struct ev_jqargs *a, size_t *n)
{
	*n = a->npred;
	return a->pred;
}

void
ev_jqargs_free(struct ev_jqargs *a)
{
	if (!a)
		return;
	jv_free(a->obj);
	for (size_t i = 0; i < a->npred; i++) {
		free((char *)a->pred[i].name);
		free((char *)a->pred[i].json);
	}
	free(a->pred);
	free(a);
}

/* Append one of jq's compile messages, made into one line of ours:
 *   jq: error: syntax error, unexpected $end (Unix shell quoting issues?)
 *   at <top-level>, line 1:\n.a >      becomes   syntax error, unexpected $end at line 1
 * and its closing "jq: N compile errors" is dropped (our caller says that). */
static void
addmsg(struct ev_buf *b, const char *m)
{
	static const char quoting[] = " (Unix shell quoting issues?)";
	static const char where[] = " at <top-level>, line ";
	const char *e, *q;

	if (strncmp(m, "jq: error: ", 11) == 0)
		m += 11;
	else if (strncmp(m, "jq: ", 4) == 0 && strstr(m, " compile error"))
		return;
	if (b->len)
		ev_buf_adds(b, "; ");
	e = strstr(m, where);
	if (!e)
		e = m + strcspn(m, "\n");
	if ((q = strstr(m, quoting)) && q < e) {
		ev_buf_add(b, m, (size_t)(q - m));
		m = q + sizeof quoting - 1;
	}
	ev_buf_add(b, m, (size_t)(e - m));
	if (strncmp(e, where, sizeof where - 1) == 0) {
		e += sizeof where - 1;
		ev_buf_adds(b, " at line ");
		ev_buf_add(b, e, strspn(e, "0123456789"));
	}
	while (b->len && (b->p[b->len - 1] == ' ' || b->p[b->len - 1] == ':'))
		b->p[--b->len] = '\0';
}

static void
collect(void *data, jv msg)
{
	if (jv_get_kind(msg) == JV_KIND_STRING)
		addmsg(data, jv_string_value(msg));
	jv_free(msg);
}

struct ev_jq *
ev_jq_compile(const char *expr, const struct ev_jqargs *args, struct ev_buf *err)
{
	struct ev_jq *q = ev_calloc(1, sizeof *q);

	q->jq = jq_init();
	if (!q->jq) {
		free(q);
		ev_buf_reset(err);
		ev_buf_adds(err, "cannot initialise jq");
		return NULL;
	}
	ev_buf_reset(err);
	/* Where "import" and "include" look, as jq(1) has it; libjq asserts
	 * on an import when this is not set. */
	jq_set_attr(q->jq, jv_string("JQ_LIBRARY_PATH"), JV_ARRAY(jv_string("~/.jq"),
	    jv_string("/usr/local/lib/jq"), jv_string("/usr/lib/jq")));
	jq_set_error_cb(q->jq, collect, err);
	if (!jq_compile_args(q->jq, expr, args ? jv_copy(args->obj) : jv_object())) {
		if (!err->len)
			ev_buf_adds(err, "cannot compile expression");
		jq_teardown(&q->jq);
		free(q);
		return NULL;
	}
	jq_set_error_cb(q->jq, NULL, NULL);
	return q;
}

void
ev_jq_free(struct ev_jq *q)
{
	if (!q)
		return;
	jq_teardown(&q->jq);
	if (q->parser)
		jv_parser_free(q->parser);
	ev_buf_free(&q->line);
	free(q);
}

static int
blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* A parse error without the parser's "at line N" (its lines are the
 * events it has read: ours are counted by the caller). */
static jv
parseerror(struct ev_jq *q, jv v)
{
	jv msg = jv_invalid_get_msg(v);
	const char *m, *at;

	jv_parser_free(q->parser);
	q->parser = NULL;
	if (jv_get_kind(msg) != JV_KIND_STRING)
		return jv_invalid_with_msg(msg);
	m = jv_string_value(msg);
	if ((at = strstr(m, " at line ")) && (at = strstr(at, ", column "))) {
		/* column 0: found at the newline the parser was given */
		jv s = strcmp(at + 9, "0") == 0 ?
		    jv_string_fmt("%.*s at the end", (int)(strstr(m, " at line ") - m), m) :
		    jv_string_fmt("%.*s at column %s", (int)(strstr(m, " at line ") - m), m, at + 9);
		jv_free(msg);
		return jv_invalid_with_msg(s);
	}
	return jv_invalid_with_msg(msg);
}

static jv
failparse(struct ev_jq *q, const char *msg)
{
	jv_parser_free(q->parser);
	q->parser = NULL;
	return jv_invalid_with_msg(jv_string(msg));
}

/* Parse one event with a parser kept from the last one, which spares its
 * buffers being made again for every event. The parser reads the events as
 * one stream, each line with its newline, so a value must end within its
 * line; on anything wrong it is dropped and made anew. */
static jv
parseline(struct ev_jq *q, const char *json, size_t len)
{
	jv v, w;
	int trailing;

	if (!q->parser)
		q->parser = jv_parser_new(0);
	ev_buf_reset(&q->line);
	ev_buf_add(&q->line, json, len);
	ev_buf_addc(&q->line, '\n');
	jv_parser_set_buf(q->parser, q->line.p, (int)q->line.len, 1);
	v = jv_parser_next(q->parser);
	if (!jv_is_valid(v)) {
		if (jv_invalid_has_msg(jv_copy(v)))
			return parseerror(q, v);
		jv_free(v);
		return failparse(q, blank(json, len) ? "Expected JSON value" :
		    "Unfinished JSON term at end of line");
	}
	trailing = jv_parser_remaining(q->parser);
	trailing = !blank(q->line.p + q->line.len - (size_t)trailing, (size_t)trailing);
	w = jv_parser_next(q->parser);
	if (jv_is_valid(w)) {
		jv_free(w);
		jv_free(v);
		return failparse(q, "Unexpected extra JSON values");
	}
	if (jv_invalid_has_msg(jv_copy(w))) {
		jv_free(v);
		return parseerror(q, w);
	}
	jv_free(w);
	if (trailing) {
		jv_free(v);
		return failparse(q, "Unfinished JSON term at end of line");
	}
	return v;
}

static void
message(jv v, const char *fallback, struct ev_buf *err)
{
	jv msg = jv_invalid_get_msg(v);

	if (jv_get_kind(msg) == JV_KIND_STRING) {
		ev_buf_adds(err, jv_string_value(msg));
	} else if (jv_is_valid(msg)) {
		jv s = jv_dump_string(jv_copy(msg), 0);
		ev_buf_adds(err, jv_string_value(s));
		ev_buf_adds(err, " (not a string)");
		jv_free(s);
	} else {
		ev_buf_adds(err, fallback);
	}
	jv_free(msg);
}

static void
dump(jv v, struct ev_buf *out)
{
	jv s = jv_dump_string(v, 0);

	ev_buf_add(out, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

int
ev_jq_run(struct ev_jq *q, const char *json, size_t len, enum ev_jqmode mode,
    struct ev_buf *out, struct ev_buf *err)
{
	jv in;
	int n = 0;

	ev_buf_reset(err);
	if (len > INT32_MAX) {
		ev_buf_adds(err, "too long for jq (2 GiB or more)");
		return EV_JQ_BADINPUT;
	}
	in = parseline(q, json, len);
	if (!jv_is_valid(in)) {
		message(in, "not valid JSON", err);
		return EV_JQ_BADINPUT;
	}
	jq_start(q->jq, in, 0);
	for (;;) {
		jv v = jq_next(q->jq);
		if (!jv_is_valid(v)) {
			if (jv_invalid_has_msg(jv_copy(v))) {
				message(v, "jq error", err);
				return EV_JQ_RUNERR;
			}
			jv_free(v);
			break;
		}
		switch (mode) {
		case EV_JQ_TEST: {
			jv_kind k = jv_get_kind(v);
			jv_free(v);
			if (k != JV_KIND_NULL && k != JV_KIND_FALSE)
				return 1;
			break;
		}
		case EV_JQ_RAW:
			if (jv_get_kind(v) == JV_KIND_STRING) {
				ev_buf_add(out, jv_string_value(v),
				    (size_t)jv_string_length_bytes(jv_copy(v)));
				jv_free(v);
			} else {
				dump(v, out);
			}
			ev_buf_addc(out, '\n');
			n++;
			break;
		case EV_JQ_MAP:
			dump(v, out);
			ev_buf_addc(out, '\n');
			n++;
			break;
		case EV_JQ_KEY:
			dump(v, out);
			return 1;
		}
	}
	return n;
}

int
ev_jq_compact(const char *json, size_t len, struct ev_buf *out)
{
	jv v;

	if (len > INT32_MAX)
		return -1;
	v = jv_parse_sized(json, (int)len);
	if (!jv_is_valid(v)) {
		jv_free(v);
		return -1;
	}
	dump(v, out);
	return 0;
}

int
ev_jq_valid(const char *json, size_t len, struct ev_buf *err)
{
	jv v;

	if (err)
		ev_buf_reset(err);
	if (len > INT32_MAX) {
		if (err)
			ev_buf_adds(err, "too long for jq (2 GiB or more)");
		return -1;
	}
	v = jv_parse_sized(json, (int)len);
	if (!jv_is_valid(v)) {
		if (err)
			message(v, "not valid JSON", err);
		else
			jv_free(v);
		return -1;
	}
	jv_free(v);
	return 0;
}
