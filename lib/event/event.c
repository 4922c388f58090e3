/* SPDX-License-Identifier: ISC */
/* event.c — CloudEvents envelopes, and splicing attributes into event lines.
 *
 * The splicing walks only the top level of the object: it skips over
 * strings (minding escapes) and nested values by counting brackets, so the
 * bytes of the event, data included, pass through as they came.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/time.h"
#include "event/event.h"
#include "event/uuid.h"

/* The context attributes of CloudEvents 1.0, and "data", which the JSON
 * format reserves: no extension may take these names. */
static const char *const reserved[] = {
	"specversion", "id", "source", "type", "subject", "time", "datacontenttype",
	"dataschema", "data",
};

int
ev_event_extname(const char *name, struct ev_buf *err)
{
	size_t n = strlen(name);

	ev_buf_reset(err);
	if (n == 0 || n > 20) {
		ev_buf_printf(err, "'%s': an attribute name has 1 to 20 characters", name);
		return -1;
	}
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789") != n) {
		ev_buf_printf(err, "'%s': an attribute name has only lowercase letters a-z and digits",
		    name);
		return -1;
	}
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(name, reserved[i]) == 0) {
			ev_buf_printf(err, "'%s': a name CloudEvents reserves, not an extension", name);
			return -1;
		}
	return 0;
}

static int isws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static const char *
skipws(const char *p, const char *e)
{
	while (p < e && isws(*p))
		p++;
	return p;
}

/* p is at a '"': past the closing quote, or NULL. */
static const char *
strend(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* The end of the value at p, or NULL. */
static const char *
valend(const char *p, const char *e)
{
	int depth = 0;

	if (p >= e)
		return NULL;
	if (*p == '"')
		return strend(p, e);
	if (*p != '{' && *p != '[') {
		while (p < e && !isws(*p) && *p != ',' && *p != '}' && *p != ']')
			p++;
		return p;
	}
	for (; p < e; p++) {
		if (*p == '"') {
			if (!(p = strend(p, e)))
				return NULL;
			p--;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if ((*p == '}' || *p == ']') && --depth == 0) {
			return p + 1;
		}
	}
	return NULL;
}

/* Start walking the members of an object: the position after '{', or NULL. */
static const char *
members(const char *line, size_t len)
{
	const char *p = skipws(line, line + len);

	return p < line + len && *p == '{' ? p + 1 : NULL;
}

/* 1: the next member in m; 0: the end of the object; -1: not an object. */
static int
nextmember(const char **pp, const char *e, struct ev_member *m)
{
	const char *p = skipws(*pp, e);

	if (p < e && *p == ',')
		p = skipws(p + 1, e);
	if (p >= e)
		return -1;
	if (*p == '}')
		return 0;
	if (*p != '"' || !(*pp = strend(p, e)))
		return -1;
	m->k = p + 1;
	m->klen = (size_t)(*pp - p - 2);
	p = skipws(*pp, e);
	if (p >= e || *p != ':')
		return -1;
	m->v = p = skipws(p + 1, e);
	if (!(*pp = valend(p, e)))
		return -1;
	m->vlen = (size_t)(*pp - p);
	return 1;
}

const char *
ev_event_members(const char *line, size_t len)
{
	return members(line, len);
}

int
ev_event_nextmember(const char **pp, const char *end, struct ev_member *m)
{
	return nextmember(pp, end, m);
}

/* Does the raw string k (between its quotes, escapes and all) say s? The
 * scanner's decoded comparison (k - 1 is its opening quote). */
static int
keyeq(const char *k, size_t klen, const char *s, size_t n)
{
	struct ev_jval v = { .type = EV_J_STRING, .p = k - 1, .len = klen + 2,
		.escaped = memchr(k, '\\', klen) != NULL };

	return ev_jval_streq(&v, s, n);
}

int
ev_event_getattr(const char *line, size_t len, const char *name, const char **v, size_t *vlen)
{
	const char *p = members(line, len), *e = line + len;
	size_t n = strlen(name);
	struct ev_member m;
	int r;

	if (!p)
		return -1;
	while ((r = nextmember(&p, e, &m)) > 0)
		if (keyeq(m.k, m.klen, name, n)) {
			*v = m.v;
			*vlen = m.vlen;
			return 1;
		}
	return r;
}

/* Where the final '}' of an object is, and whether the object is empty;
 * NULL when line is no object. */
static const char *
closing(const char *line, size_t len, int *empty)
{
	const char *q = line + len, *r;

	if (!members(line, len))
		return NULL;
	while (q > line && isws(q[-1]))
		q--;
	if (q == line || q[-1] != '}')
		return NULL;
	for (r = --q; r > line && isws(r[-1]); r--)
		;
	/* No value ends in '{': only the object's own opening brace does. */
	*empty = r > line && r[-1] == '{';
	return q;
}

static void
member(struct ev_buf *out, int *first, const char *name, const char *json, size_t jlen)
{
	if (!*first)
		ev_buf_addc(out, ',');
	*first = 0;
	ev_buf_addjstr(out, name, strlen(name));
	ev_buf_addc(out, ':');
	ev_buf_add(out, json, jlen);
}

static void
strmember(struct ev_buf *out, int *first, const char *name, const char *s)
{
	if (!*first)
		ev_buf_addc(out, ',');
	*first = 0;
	ev_buf_addjstr(out, name, strlen(name));
	ev_buf_addc(out, ':');
	ev_buf_addjstr(out, s, strlen(s));
}

int
ev_event_addattr(struct ev_buf *out, const char *line, size_t len, const char *name,
    const char *json)
{
	int empty;
	const char *q = closing(line, len, &empty);

	if (!q)
		return -1;
	ev_buf_add(out, line, (size_t)(q - line));
	member(out, &empty, name, json, strlen(json));
	ev_buf_add(out, q, len - (size_t)(q - line));
	return 0;
}

int
ev_event_setattr(struct ev_buf *out, const char *line, size_t len, const char *name,
    const char *json)
{
	const char *v;
	size_t vlen;
	int r = ev_event_getattr(line, len, name, &v, &vlen);

	if (r < 0)
		return -1;
	if (r == 0)
		return ev_event_addattr(out, line, len, name, json);
	ev_buf_add(out, line, (size_t)(v - line));
	ev_buf_adds(out, json);
	ev_buf_add(out, v + vlen, len - (size_t)(v + vlen - line));
	return 0;
}

/* The attributes ev_event_build writes, in its order; those before
 * NSTRATTR are strings in the envelope. */
enum { A_SPECVERSION, A_ID, A_SOURCE, A_TYPE, A_SUBJECT, A_TIME, A_DATACONTENTTYPE,
	A_DATASCHEMA, NSTRATTR };

/* 0, or -1 when no id could be made (reported). */
static int
strattrs(const struct ev_envelope *e, const char *v[NSTRATTR], char id[37], char t[32])
{
	int64_t ms = 0;

	if (!e->id || !e->time)
		ms = ev_now_ms();
	if (!e->id && ev_uuid7_at(ms, id) < 0)
		return -1;
	if (!e->time)
		ev_time_format(ms, t);
	v[A_SPECVERSION] = "1.0";
	v[A_ID] = e->id ? e->id : id;
	v[A_SOURCE] = e->source;
	v[A_TYPE] = e->type;
	v[A_SUBJECT] = e->subject;
	v[A_TIME] = e->time ? e->time : t;
	v[A_DATACONTENTTYPE] = e->datacontenttype;
	v[A_DATASCHEMA] = e->dataschema;
	return 0;
}

int
ev_event_build(struct ev_buf *out, const struct ev_envelope *e, const char *data, size_t len)
{
	const char *v[NSTRATTR];
	char id[37], t[32];
	int first = 1;

	if (strattrs(e, v, id, t) < 0)
		return -1;
	ev_buf_addc(out, '{');
	for (int i = 0; i < NSTRATTR; i++)
		if (v[i])
			strmember(out, &first, reserved[i], v[i]);
	for (size_t i = 0; i < e->next; i++)
		member(out, &first, e->ext[i].name, e->ext[i].json, e->ext[i].len);
	if (data)
		member(out, &first, "data", data, len);
	ev_buf_addc(out, '}');
	return 0;
}

int
ev_event_fill(struct ev_buf *out, const char *line, size_t len, const struct ev_envelope *e,
    const char **why)
{
	const char *p = members(line, len), *q, *end = line + len;
	const char *v[NSTRATTR];
	char id[37], t[32];
	uint64_t have = 0; /* bit i: attribute i; bit NSTRATTR + j: extension j */
	struct ev_member m;
	int empty, r;

	*why = "not a JSON object";
	if (!p || !(q = closing(line, len, &empty)))
		return -1;
	while ((r = nextmember(&p, end, &m)) > 0) {
		for (int i = 0; i < NSTRATTR; i++)
			if (keyeq(m.k, m.klen, reserved[i], strlen(reserved[i])))
				have |= UINT64_C(1) << i;
		for (size_t j = 0; j < e->next && NSTRATTR + j < 64; j++)
			if (keyeq(m.k, m.klen, e->ext[j].name, strlen(e->ext[j].name)))
				have |= UINT64_C(1) << (NSTRATTR + j);
	}
	if (r < 0)
		return -1;
	if (!(have & UINT64_C(1) << A_TYPE) && !e->type) {
		*why = "no \"type\" attribute";
		return -1;
	}
	*why = "no id could be made (no random bytes)";
	if (strattrs(e, v, id, t) < 0)
		return -1;
	ev_buf_add(out, line, (size_t)(q - line));
	for (int i = 0; i < NSTRATTR; i++)
		if (v[i] && !(have & UINT64_C(1) << i))
			strmember(out, &empty, reserved[i], v[i]);
	for (size_t j = 0; j < e->next; j++)
		if (NSTRATTR + j >= 64 || !(have & UINT64_C(1) << (NSTRATTR + j)))
			member(out, &empty, e->ext[j].name, e->ext[j].json, e->ext[j].len);
	ev_buf_add(out, q, (size_t)(end - q));
	return 0;
}

int
ev_event_time(const struct ev_jval *v, struct ev_buf *tmp, int64_t *ms)
{
	size_t n;
	const char *p;

	if (v->type != EV_J_STRING)
		return -1;
	p = ev_jval_text(v, tmp, &n);
	return ev_time_parse(p, n, ms);
}

const char *
ev_event_defsource(void)
{
	static char buf[300];
	const char *env = getenv("EVKIT_SOURCE");
	char host[256];

	if (env && *env)
		return env;
	if (gethostname(host, sizeof host) < 0 || !*host) {
		snprintf(buf, sizeof buf, "/%s", ev_prog());
		return buf;
	}
	host[sizeof host - 1] = '\0';
	snprintf(buf, sizeof buf, "//%s/%s", host, ev_prog());
	return buf;
}
