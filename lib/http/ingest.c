/* SPDX-License-Identifier: ISC */
/* ingest.c — request bodies to event lines (the CloudEvents HTTP binding).
 *
 * The mode is chosen as the binding says:
 *   a ce-specversion header           binary: ce-* headers are the attributes
 *                                     (percent-decoded), the body is the data
 *   application/cloudevents+json      structured: the body is one event
 *   application/cloudevents-batch+json  batched: a JSON array of events
 *   application/x-ndjson, application/jsonl, application/ndjson
 *                                     one event per line
 *   application/json, any other +json a plain JSON body, wrapped as "data"
 *                                     of an event of the route's type
 * Anything else is 415. A body is taken whole or not at all: the first bad
 * part makes the request a 400 and nothing of it is written.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/event.h"
#include "http/ingest.h"
#include "trace/trace.h"
#include "json/jsonscan.h"

const char *
ev_hdr_get(const struct ev_hdr *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

/* Does the media type of ctype (parameters and case ignored) equal mt? */
static int
mediais(const char *ctype, const char *mt)
{
	size_t n = strlen(mt);

	if (!ctype)
		return 0;
	while (*ctype == ' ')
		ctype++;
	return strncasecmp(ctype, mt, n) == 0 &&
	    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* application/json, text/json, or any type with a +json suffix. */
static int
jsontype(const char *ctype)
{
	const char *semi, *plus;
	size_t n;

	if (!ctype)
		return 0;
	if (mediais(ctype, "application/json") || mediais(ctype, "text/json"))
		return 1;
	semi = strchr(ctype, ';');
	n = semi ? (size_t)(semi - ctype) : strlen(ctype);
	while (n > 0 && ctype[n - 1] == ' ')
		n--;
	plus = memchr(ctype, '+', n);
	return plus && (size_t)(ctype + n - plus) == 5 && strncasecmp(plus, "+json", 5) == 0;
}

/* A validated JSON text on one line: line breaks in valid JSON are
 * whitespace between tokens, so they become spaces. */
static void
addoneline(struct ev_buf *b, const char *p, size_t n)
{
	size_t start = b->len;

	ev_buf_add(b, p, n);
	for (size_t i = start; i < b->len; i++)
		if (b->p[i] == '\n' || b->p[i] == '\r')
			b->p[i] = ' ';
}

static int
bad(struct ev_buf *err, int status, const char *fmt, const char *a, size_t line, size_t col)
{
	ev_buf_reset(err);
	if (line)
		ev_buf_printf(err, "line %zu: ", line);
	if (col)
		ev_buf_printf(err, "column %zu: ", col);
	ev_buf_printf(err, fmt, a);
	return status;
}

/* One event (a JSON text) completed and appended as a line. */
static int
fillone(const struct ev_envelope *e, const char *p, size_t n, struct ev_buf *tmp,
    struct ev_buf *out, size_t lineno, struct ev_buf *err)
{
	struct ev_jerr je;
	const char *why;

	if (ev_json_valid(p, n, &je) < 0)
		return bad(err, 400, "%s", je.msg, lineno, je.off + 1);
	ev_buf_reset(tmp);
	addoneline(tmp, p, n);
	if (ev_event_fill(out, tmp->p, tmp->len, e, &why) < 0)
		return bad(err, 400, "%s", why, lineno, 0);
	ev_buf_addc(out, '\n');
	return 0;
}

static int
ndjson(const struct ev_ingest_req *r, const struct ev_envelope *e, struct ev_buf *tmp,
    struct ev_buf *out, size_t *nev, struct ev_buf *err)
{
	const char *p = r->body, *end = r->body + r->len;
	size_t lineno = 0;
	int st;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0) {
			if ((st = fillone(e, p, n, tmp, out, lineno, err)) != 0)
				return st;
			(*nev)++;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static const char *
skipws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The end of the JSON value at p, in a text already validated. */
static const char *
valueend(const char *p, const char *end)
{
	int depth = 0, instr = 0;

	for (; p < end; p++) {
		if (instr) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				instr = 0;
			if (!instr && depth == 0)
				return p + 1;
			continue;
		}
		switch (*p) {
		case '"':
			instr = 1;
			break;
		case '{': case '[':
			depth++;
			break;
		case '}': case ']':
			if (--depth == 0)
				return p + 1;
			if (depth < 0)
				return p;
			break;
		case ',': case ' ': case '\t': case '\n': case '\r':
			if (depth == 0)
				return p;
			break;
		}
	}
	return p;
}

static int
batch(const struct ev_ingest_req *r, const struct ev_envelope *e, struct ev_buf *tmp,
    struct ev_buf *out, size_t *nev, struct ev_buf *err)
{
	const char *p, *end = r->body + r->len;
	struct ev_jerr je;
	size_t i = 0;
	int st;

	if (ev_json_valid(r->body, r->len, &je) < 0)
		return bad(err, 400, "%s", je.msg, 0, je.off + 1);
	p = skipws(r->body, end);
	if (*p != '[')
		return bad(err, 400, "%s", "a batch is a JSON array of events", 0, 0);
	for (p = skipws(p + 1, end); p < end && *p != ']';) {
		const char *ve = valueend(p, end);

		i++;
		if (*p != '{') {
			ev_buf_reset(err);
			ev_buf_printf(err, "element %zu: not a JSON object", i);
			return 400;
		}
		if ((st = fillone(e, p, (size_t)(ve - p), tmp, out, 0, err)) != 0) {
			char *why = ev_strdup(err->p);

			ev_buf_reset(err);
			ev_buf_printf(err, "element %zu: %s", i, why);
			free(why);
			return st;
		}
		(*nev)++;
		p = skipws(ve, end);
		if (p < end && *p == ',')
			p = skipws(p + 1, end);
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A ce-* header value, percent-decoded as the HTTP binding encodes it. */
static void
addpct(struct ev_buf *b, const char *v)
{
	struct ev_buf d = { 0 };

	for (; *v; v++) {
		int h, l;

		if (*v == '%' && (h = hexval(v[1])) >= 0 && (l = hexval(v[2])) >= 0) {
			ev_buf_addc(&d, (char)(h * 16 + l));
			v += 2;
		} else
			ev_buf_addc(&d, *v);
	}
	ev_buf_addjstr(b, d.p ? d.p : "", d.len);
	ev_buf_free(&d);
}

static int
validutf8text(const char *p, size_t n)
{
	struct ev_buf b = { 0 };
	struct ev_jerr je;
	int ok;

	/* The scanner knows valid UTF-8: ask it about the body as a string. */
	ev_buf_addc(&b, '"');
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == '"' || p[i] == '\\')
			ev_buf_addc(&b, 'x');
		else
			ev_buf_addc(&b, p[i]);
	ev_buf_addc(&b, '"');
	ok = ev_json_valid(b.p, b.len, &je) == 0;
	ev_buf_free(&b);
	return ok;
}

/* The ce- headers as attributes into tmp: 0, or an HTTP status with err. */
static int
ceheaders(const struct ev_ingest_req *r, struct ev_buf *tmp, struct ev_buf *err)
{
	static const char *const std[] = { "id", "source", "type", "subject", "time",
		"dataschema" };
	struct ev_buf ename = { 0 };
	int st = 0;

	for (size_t i = 0; i < r->nhdrs && !st; i++) {
		const char *k = r->hdrs[i].name;
		int known = 0;

		if (strncasecmp(k, "ce-", 3) != 0 || strcasecmp(k, "ce-specversion") == 0)
			continue;
		if (!k[3]) {
			st = bad(err, 400, "%s: a ce- header names no attribute", k, 0, 0);
			break;
		}
		ev_buf_reset(&ename);
		for (const char *c = k + 3; *c; c++)
			ev_buf_addc(&ename, (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c));
		for (size_t j = 0; j < sizeof std / sizeof std[0]; j++)
			known |= strcmp(ename.p, std[j]) == 0;
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(r->hdrs[j].name, k) == 0)
				st = bad(err, 400, "%s: given twice", k, 0, 0);
		if (!st && !known) {
			struct ev_buf why = { 0 };

			if (ev_event_extname(ename.p, &why) < 0)
				st = bad(err, 400, "%s", why.p ? why.p : "bad attribute", 0, 0);
			ev_buf_free(&why);
		}
		if (st)
			break;
		ev_buf_addc(tmp, ',');
		ev_buf_addjstr(tmp, ename.p, ename.len);
		ev_buf_addc(tmp, ':');
		addpct(tmp, r->hdrs[i].value);
	}
	ev_buf_free(&ename);
	return st;
}

/* The body as the event's data into tmp: JSON as it is, text as a
 * string, anything else as data_base64. 0, or an HTTP status with err. */
static int
bodydata(const struct ev_ingest_req *r, struct ev_buf *tmp, struct ev_buf *err)
{
	struct ev_jerr je;

	if (r->len == 0)
		return 0;
	if (jsontype(r->ctype)) {
		if (ev_json_valid(r->body, r->len, &je) < 0)
			return bad(err, 400, "data: %s", je.msg, 0, je.off + 1);
		ev_buf_adds(tmp, ",\"data\":");
		addoneline(tmp, r->body, r->len);
	} else if ((!r->ctype || strncasecmp(r->ctype, "text/", 5) == 0) &&
	    validutf8text(r->body, r->len)) {
		ev_buf_adds(tmp, ",\"data\":");
		ev_buf_addjstr(tmp, r->body, r->len);
	} else {
		size_t n = sodium_base64_ENCODED_LEN(r->len, sodium_base64_VARIANT_ORIGINAL);

		ev_buf_adds(tmp, ",\"data_base64\":\"");
		ev_buf_grow(tmp, n);
		sodium_bin2base64(tmp->p + tmp->len, n, (const unsigned char *)r->body,
		    r->len, sodium_base64_VARIANT_ORIGINAL);
		tmp->len += strlen(tmp->p + tmp->len);
		ev_buf_addc(tmp, '"');
	}
	return 0;
}

static int
binary(const struct ev_ingest_req *r, const struct ev_envelope *e, struct ev_buf *tmp,
    struct ev_buf *out, size_t *nev, struct ev_buf *err)
{
	const char *sv = ev_hdr_get(r->hdrs, r->nhdrs, "ce-specversion");
	const char *why;
	int st;

	if (strcmp(sv, "1.0") != 0)
		return bad(err, 400, "ce-specversion %s: only 1.0 is known", sv, 0, 0);
	ev_buf_reset(tmp);
	ev_buf_adds(tmp, "{\"specversion\":\"1.0\"");
	if ((st = ceheaders(r, tmp, err)) != 0)
		return st;
	if (r->ctype && *r->ctype) {
		ev_buf_adds(tmp, ",\"datacontenttype\":");
		ev_buf_addjstr(tmp, r->ctype, strlen(r->ctype));
	}
	if ((st = bodydata(r, tmp, err)) != 0)
		return st;
	ev_buf_addc(tmp, '}');
	if (ev_event_fill(out, tmp->p, tmp->len, e, &why) < 0)
		return bad(err, 400, "%s", why, 0, 0);
	ev_buf_addc(out, '\n');
	(*nev)++;
	return 0;
}

static int
wrapped(const struct ev_ingest_req *r, const struct ev_envelope *e0, struct ev_buf *out,
    size_t *nev, struct ev_buf *err)
{
	struct ev_envelope e = *e0;
	struct ev_jerr je;
	struct ev_buf data = { 0 };

	if (!e.type)
		return bad(err, 400, "%s", "no type for a plain JSON body: post it as a CloudEvent, "
		    "or to a route that names a type", 0, 0);
	if (ev_json_valid(r->body, r->len, &je) < 0)
		return bad(err, 400, "%s", je.msg, 0, je.off + 1);
	if (!(e.id = ev_hdr_get(r->hdrs, r->nhdrs, "webhook-id")))
		e.id = ev_hdr_get(r->hdrs, r->nhdrs, "x-github-delivery");
	if (e.id && !*e.id)
		e.id = NULL;
	e.datacontenttype = "application/json";
	addoneline(&data, r->body, r->len);
	if (ev_event_build(out, &e, data.p, data.len) < 0) {
		ev_buf_free(&data);
		return bad(err, 503, "%s", "no id could be made for the event", 0, 0);
	}
	ev_buf_addc(out, '\n');
	ev_buf_free(&data);
	(*nev)++;
	return 0;
}

/* Each event from out[start..] without a traceparent gets c's, the
 * request's span (trace/trace.h). */
static void
stamp(const struct ev_tracectx *c, struct ev_buf *out, size_t start)
{
	struct ev_buf lines = { 0 };

	ev_buf_add(&lines, out->p + start, out->len - start);
	out->len = start;
	for (size_t i = 0; i < lines.len;) {
		size_t k = i;
		while (k < lines.len && lines.p[k] != '\n')
			k++;
		if (ev_trace_put(out, lines.p + i, k - i, c) < 0)
			ev_buf_add(out, lines.p + i, k - i);
		ev_buf_addc(out, '\n');
		i = k + 1;
	}
	ev_buf_free(&lines);
}

int
ev_ingest_parse(const struct ev_ingest_req *r, struct ev_buf *out, size_t *n,
    struct ev_buf *err)
{
	struct ev_envelope e = { .source = r->source, .type = r->type };
	struct ev_buf tmp = { 0 };
	size_t start = out->len;
	int st;

	*n = 0;
	if (ev_hdr_get(r->hdrs, r->nhdrs, "ce-specversion"))
		st = binary(r, &e, &tmp, out, n, err);
	else if (mediais(r->ctype, "application/cloudevents+json")) {
		st = fillone(&e, r->body, r->len, &tmp, out, 0, err);
		*n = 1;
	}
	else if (mediais(r->ctype, "application/cloudevents-batch+json"))
		st = batch(r, &e, &tmp, out, n, err);
	else if (mediais(r->ctype, "application/x-ndjson") || mediais(r->ctype, "application/ndjson") ||
	    mediais(r->ctype, "application/jsonl") || mediais(r->ctype, "application/x-jsonlines"))
		st = ndjson(r, &e, &tmp, out, n, err);
	else if (jsontype(r->ctype))
		st = wrapped(r, &e, out, n, err);
	else
		st = bad(err, 415, "content type %s: send application/cloudevents+json, "
		    "application/cloudevents-batch+json, application/x-ndjson, application/json "
		    "or ce-* headers", r->ctype ? r->ctype : "(none)", 0, 0);
	ev_buf_free(&tmp);
	if (st) {
		out->len = start;
		if (out->p)
			out->p[start] = '\0';
		*n = 0;
	} else if (r->trace) {
		stamp(r->trace, out, start);
	}
	return st;
}
