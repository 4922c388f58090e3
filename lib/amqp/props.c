/* SPDX-License-Identifier: ISC */
/* props.c — AMQP properties and headers to and from event attributes (the
 * mapping is described in props.h and ev-amqp(7)). */
#include <amqp.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "amqp/props.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/time.h"
#include "event/event.h"
#include "json/jsonscan.h"

/* ---- shared ---- */

static int
mediais(const char *ct, size_t n, const char *mt)
{
	size_t m = strlen(mt);

	while (n > 0 && *ct == ' ') {
		ct++;
		n--;
	}
	return n >= m && strncasecmp(ct, mt, m) == 0 &&
	    (n == m || ct[m] == ';' || ct[m] == ' ');
}

/* application/json, text/json, or any type with a +json suffix. */
static int
jsontype(const char *ct, size_t n)
{
	const char *semi = memchr(ct, ';', n), *plus;

	if (mediais(ct, n, "application/json") || mediais(ct, n, "text/json"))
		return 1;
	if (semi)
		n = (size_t)(semi - ct);
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	plus = memchr(ct, '+', n);
	return plus && (size_t)(ct + n - plus) == 5 && strncasecmp(plus, "+json", 5) == 0;
}

/* ---- publishing: an event line to a message ---- */

#define MAXTTL INT64_C(4294967295)

enum { P_ID, P_TYPE, P_TIME, P_SOURCE, P_EXPIRY, P_EVPRIO, P_PRIO, P_CORR, P_REPLY,
	P_DCT, P_DATA, P_DATA64, NPATHS };
static const char *const pathtext[NPATHS] = { ".id", ".type", ".time", ".source",
	".expirytime", ".evpriority", ".priority", ".correlationid", ".replyto",
	".datacontenttype", ".data", ".data_base64" };

/* m->strs has room for everything (see ev_amqp_msg_make): pointers into it
 * stay put. */
static amqp_bytes_t
keep(struct ev_amqp_msg *m, const void *p, size_t n)
{
	amqp_bytes_t b = { n, m->strs.p + m->strs.len };

	ev_buf_add(&m->strs, p, n);
	return b;
}

static amqp_bytes_t
keepstr(struct ev_amqp_msg *m, const struct ev_jval *v)
{
	size_t at = m->strs.len;

	ev_jval_str(v, &m->strs);
	return (amqp_bytes_t){ m->strs.len - at, m->strs.p + at };
}

/* A short string property from a string attribute of at most 255 bytes. */
static int
shortstr(struct ev_amqp_msg *m, const struct ev_jval *v, amqp_bytes_t *out)
{
	if (v->type != EV_J_STRING || v->len - 2 > 255)
		return 0;
	*out = keepstr(m, v);
	if (out->len > 255 || out->len == 0) {
		m->strs.len -= out->len;
		return 0;
	}
	return 1;
}

/* An integral JSON number that fits in int64. */
static int
integer(const struct ev_jval *v, int64_t *out)
{
	char tmp[32];
	char *e;

	if (v->type != EV_J_NUMBER || v->len >= sizeof tmp || memchr(v->p, '.', v->len) ||
	    memchr(v->p, 'e', v->len) || memchr(v->p, 'E', v->len))
		return 0;
	memcpy(tmp, v->p, v->len);
	tmp[v->len] = '\0';
	*out = strtoll(tmp, &e, 10);
	return *e == '\0' && !(*out == INT64_MAX || *out == INT64_MIN);
}

static void
basicprops(struct ev_amqp_msg *m, const struct ev_jval *v, int64_t now)
{
	amqp_basic_properties_t *p = &m->props;
	struct ev_buf tmp = { 0 };
	int64_t ms, prio;

	if (shortstr(m, &v[P_ID], &p->message_id))
		p->_flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
	if (shortstr(m, &v[P_TYPE], &p->type))
		p->_flags |= AMQP_BASIC_TYPE_FLAG;
	if (shortstr(m, &v[P_SOURCE], &p->app_id))
		p->_flags |= AMQP_BASIC_APP_ID_FLAG;
	if (shortstr(m, &v[P_CORR], &p->correlation_id))
		p->_flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
	if (shortstr(m, &v[P_REPLY], &p->reply_to))
		p->_flags |= AMQP_BASIC_REPLY_TO_FLAG;
	if (ev_event_time(&v[P_TIME], &tmp, &ms) == 0 && ms >= 0) {
		p->timestamp = (uint64_t)(ms / 1000);
		p->_flags |= AMQP_BASIC_TIMESTAMP_FLAG;
	}
	/* RabbitMQ takes a TTL up to 2^32 - 1 ms (its timers'); an expiry
	 * further away is left to the event's own expirytime */
	if (ev_event_time(&v[P_EXPIRY], &tmp, &ms) == 0 && ms - now <= MAXTTL) {
		char n[24];
		int len = snprintf(n, sizeof n, "%" PRId64, ms > now ? ms - now : 0);
		p->expiration = keep(m, n, (size_t)len);
		p->_flags |= AMQP_BASIC_EXPIRATION_FLAG;
	}
	if ((integer(&v[P_EVPRIO], &prio) || integer(&v[P_PRIO], &prio)) && prio >= 0) {
		p->priority = (uint8_t)(prio > 255 ? 255 : prio);
		p->_flags |= AMQP_BASIC_PRIORITY_FLAG;
	}
	ev_buf_free(&tmp);
}

/* Binary mode: every attribute but the data and its content type as a
 * cloudEvents_ header, in its native AMQP type where there is one. */
static void
headers(struct ev_amqp_msg *m, const char *line, size_t len)
{
	const char *p = ev_event_members(line, len), *end = line + len;
	struct ev_member mb;
	size_t n = 0;

	while (ev_event_nextmember(&p, end, &mb) > 0) {
		struct ev_jval k = { EV_J_STRING, mb.k - 1, mb.klen + 2, memchr(mb.k, '\\', mb.klen) != NULL, 0 };
		if ((mb.klen == 4 && !memcmp(mb.k, "data", 4)) ||
		    (mb.klen == 11 && !memcmp(mb.k, "data_base64", 11)) ||
		    (mb.klen == 15 && !memcmp(mb.k, "datacontenttype", 15)))
			continue;
		if (n == m->caphdr) {
			m->caphdr = m->caphdr ? m->caphdr * 2 : 16;
			m->hdr = ev_reallocarray(m->hdr, m->caphdr, sizeof *m->hdr);
		}
		amqp_table_entry_t *e = &m->hdr[n];
		size_t at = m->strs.len;
		ev_buf_add(&m->strs, EV_AMQP_CE_PREFIX, sizeof EV_AMQP_CE_PREFIX - 1);
		ev_jval_str(&k, &m->strs);
		e->key = (amqp_bytes_t){ m->strs.len - at, m->strs.p + at };
		if (e->key.len > 255) {
			m->strs.len = at;
			continue;
		}
		struct ev_jval v = { EV_J_NUMBER, mb.v, mb.vlen, 0, 0 };
		int64_t i;
		switch (mb.v[0]) {
		case '"':
			v.type = EV_J_STRING;
			v.escaped = memchr(mb.v, '\\', mb.vlen) != NULL;
			e->value.kind = AMQP_FIELD_KIND_UTF8;
			e->value.value.bytes = keepstr(m, &v);
			break;
		case 't': case 'f':
			e->value.kind = AMQP_FIELD_KIND_BOOLEAN;
			e->value.value.boolean = mb.v[0] == 't';
			break;
		case 'n':
			e->value.kind = AMQP_FIELD_KIND_VOID;
			break;
		case '{': case '[':
			/* no attribute has such a value: its JSON text, as a string */
			e->value.kind = AMQP_FIELD_KIND_UTF8;
			e->value.value.bytes = keep(m, mb.v, mb.vlen);
			break;
		default:
			if (integer(&v, &i)) {
				e->value.kind = AMQP_FIELD_KIND_I64;
				e->value.value.i64 = i;
			} else {
				e->value.kind = AMQP_FIELD_KIND_F64;
				e->value.value.f64 = ev_jval_num(&v);
			}
		}
		n++;
	}
	if (n) {
		m->props.headers = (amqp_table_t){ (int)n, m->hdr };
		m->props._flags |= AMQP_BASIC_HEADERS_FLAG;
	}
}

/* Binary mode: the data as the body, with its content type. */
static void
bodydata(struct ev_amqp_msg *m, const struct ev_jval *v)
{
	amqp_basic_properties_t *p = &m->props;
	int json = 1;

	ev_buf_reset(&m->data);
	if (v[P_DCT].type == EV_J_STRING) {
		p->content_type = keepstr(m, &v[P_DCT]);
		json = jsontype(p->content_type.bytes, p->content_type.len);
	} else {
		p->content_type = amqp_cstring_bytes(v[P_DATA64].type == EV_J_STRING ?
		    "application/octet-stream" : "application/json");
	}
	if (v[P_DATA64].type == EV_J_STRING) {
		size_t n = v[P_DATA64].len - 2, bin = 0;
		ev_buf_grow(&m->data, n);
		if (sodium_base642bin((unsigned char *)m->data.p, n, v[P_DATA64].p + 1, n, NULL,
		    &bin, NULL, sodium_base64_VARIANT_ORIGINAL) == 0)
			m->data.len = bin;
	} else if (v[P_DATA].type == EV_J_STRING && !json) {
		ev_jval_str(&v[P_DATA], &m->data);
	} else if (v[P_DATA].type != EV_J_MISSING) {
		ev_buf_add(&m->data, v[P_DATA].p, v[P_DATA].len);
	}
	m->body = (amqp_bytes_t){ m->data.len, m->data.p };
}

int
ev_amqp_msg_make(struct ev_amqp_msg *m, const char *line, size_t len, int binary, int64_t now)
{
	struct ev_jval v[NPATHS];
	size_t nmemb = 0;

	if (!m->paths) {
		struct ev_buf err = { 0 };
		m->paths = ev_calloc(NPATHS, sizeof *m->paths);
		for (int i = 0; i < NPATHS; i++)
			m->paths[i] = ev_jpath_compile(pathtext[i], &err);
		ev_buf_free(&err);
	}
	memset(&m->props, 0, sizeof m->props);
	m->props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	m->props.content_type = amqp_cstring_bytes(EV_AMQP_CE_CTYPE);
	m->props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	m->body = (amqp_bytes_t){ len, (void *)line };
	if (ev_json_scan(line, len, m->paths, binary ? NPATHS : P_DCT, v, NULL) < 0 ||
	    !ev_event_members(line, len))
		return binary ? -1 : 0;
	/* Room for every string at once, so that the pointers into it stay
	 * put: each is a decoded JSON string (no longer than its text in the
	 * line; a value may be both a property and a header) or a header's key
	 * with its prefix. */
	if (binary) {
		const char *p = ev_event_members(line, len);
		struct ev_member mb;
		while (ev_event_nextmember(&p, line + len, &mb) > 0)
			nmemb++;
	}
	ev_buf_reset(&m->strs);
	ev_buf_grow(&m->strs, 2 * len + nmemb * (sizeof EV_AMQP_CE_PREFIX + 12) + 128);
	basicprops(m, v, now);
	if (binary) {
		headers(m, line, len);
		bodydata(m, v);
	}
	return 0;
}

size_t
ev_amqp_msg_propsize(const struct ev_amqp_msg *m)
{
	int n = m->props._flags & AMQP_BASIC_HEADERS_FLAG ? m->props.headers.num_entries : 0;

	/* flags, the short strings with their lengths, timestamp, priority, mode,
	 * and per header its key's length, its type and a value's length or value */
	return 64 + m->strs.len + m->props.content_type.len + (size_t)n * 16;
}

void
ev_amqp_msg_free(struct ev_amqp_msg *m)
{
	if (m->paths)
		for (int i = 0; i < NPATHS; i++)
			ev_jpath_free(m->paths[i]);
	free(m->paths);
	free(m->hdr);
	ev_buf_free(&m->strs);
	ev_buf_free(&m->data);
	memset(m, 0, sizeof *m);
}

/* ---- consuming: a message to an event line ---- */

#define MAXEXT 48 /* ev_event_fill tells apart this many extensions */

static const amqp_basic_properties_t noprops;

/* The length of a CloudEvents header prefix key starts with, or 0. */
static size_t
ceprefix(amqp_bytes_t key)
{
	static const char *const pre[] = { "cloudEvents_", "cloudEvents:", "ce_", "ce-", "ce:" };

	for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
		size_t n = strlen(pre[i]);
		if (key.len > n && strncasecmp(key.bytes, pre[i], n) == 0)
			return n;
	}
	return 0;
}

/* A header's value as JSON text; -1 for a kind no attribute can hold. */
static int
fieldjson(const amqp_field_value_t *f, struct ev_buf *out)
{
	char t[32];

	switch (f->kind) {
	case AMQP_FIELD_KIND_BOOLEAN: ev_buf_adds(out, f->value.boolean ? "true" : "false"); break;
	case AMQP_FIELD_KIND_I8: ev_buf_printf(out, "%d", f->value.i8); break;
	case AMQP_FIELD_KIND_U8: ev_buf_printf(out, "%u", f->value.u8); break;
	case AMQP_FIELD_KIND_I16: ev_buf_printf(out, "%d", f->value.i16); break;
	case AMQP_FIELD_KIND_U16: ev_buf_printf(out, "%u", f->value.u16); break;
	case AMQP_FIELD_KIND_I32: ev_buf_printf(out, "%" PRId32, f->value.i32); break;
	case AMQP_FIELD_KIND_U32: ev_buf_printf(out, "%" PRIu32, f->value.u32); break;
	case AMQP_FIELD_KIND_I64: ev_buf_printf(out, "%" PRId64, f->value.i64); break;
	case AMQP_FIELD_KIND_U64: ev_buf_printf(out, "%" PRIu64, f->value.u64); break;
	case AMQP_FIELD_KIND_F32:
		if (!isfinite(f->value.f32))
			return -1; /* JSON has no inf or nan */
		ev_buf_printf(out, "%.9g", (double)f->value.f32);
		break;
	case AMQP_FIELD_KIND_F64:
		if (!isfinite(f->value.f64))
			return -1;
		ev_buf_printf(out, "%.17g", f->value.f64);
		break;
	case AMQP_FIELD_KIND_VOID: ev_buf_adds(out, "null"); break;
	case AMQP_FIELD_KIND_UTF8: case AMQP_FIELD_KIND_BYTES:
		ev_buf_addjstr(out, f->value.bytes.bytes, f->value.bytes.len);
		break;
	case AMQP_FIELD_KIND_TIMESTAMP:
		ev_time_format((int64_t)f->value.u64 * 1000, t);
		ev_buf_addjstr(out, t, strlen(t));
		break;
	default:
		return -1;
	}
	return 0;
}

/* The extensions being gathered: "name\0json\0" pairs in s->vals. */
struct exts {
	size_t off[MAXEXT];
	size_t n;
};

static int
hasext(const struct ev_amqp_scratch *s, const struct exts *x, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(s->vals.p + x->off[i], name) == 0)
			return 1;
	return 0;
}

/* Start an extension: its name; the caller appends the JSON, then endext. */
static int
beginext(struct ev_amqp_scratch *s, struct exts *x, const char *name)
{
	if (x->n == MAXEXT || hasext(s, x, name))
		return 0;
	x->off[x->n] = s->vals.len;
	ev_buf_add(&s->vals, name, strlen(name) + 1);
	return 1;
}

static void
endext(struct ev_amqp_scratch *s, struct exts *x)
{
	ev_buf_addc(&s->vals, '\0');
	x->n++;
}

static void
strext(struct ev_amqp_scratch *s, struct exts *x, const char *name, amqp_bytes_t v)
{
	if (beginext(s, x, name)) {
		ev_buf_addjstr(&s->vals, v.bytes, v.len);
		endext(s, x);
	}
}

/* A header not of the binding: an extension named by the rule of
 * ev-amqp(7) (lowercased, letters and digits kept, 20 at most), unless the
 * name is the broker's (x-...), empty, reserved or taken. */
static void
headerext(struct ev_amqp_scratch *s, struct exts *x, const amqp_table_entry_t *e)
{
	char name[21];
	size_t n = 0;
	struct ev_buf err = { 0 };

	if (e->key.len >= 2 && strncasecmp(e->key.bytes, "x-", 2) == 0)
		return;
	for (size_t i = 0; i < e->key.len && n < 20; i++) {
		char c = ((const char *)e->key.bytes)[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			name[n++] = c;
	}
	name[n] = '\0';
	int ok = ev_event_extname(name, &err) == 0;
	ev_buf_free(&err);
	if (!ok || !beginext(s, x, name))
		return;
	if (fieldjson(&e->value, &s->vals) < 0) {
		s->vals.len = x->off[x->n];
		s->vals.p[s->vals.len] = '\0';
		return;
	}
	endext(s, x);
}

/* Is the body a JSON object with a top-level "specversion"? */
static int
looksstructured(const char *body, size_t len)
{
	const char *v;
	size_t vlen;

	return ev_event_getattr(body, len, "specversion", &v, &vlen) == 1;
}

/* A valid JSON text on one line: its line breaks are white space between
 * tokens. */
static void
addoneline(struct ev_buf *b, const char *p, size_t n)
{
	size_t at = b->len;

	ev_buf_add(b, p, n);
	for (size_t i = at; i < b->len; i++)
		if (b->p[i] == '\n' || b->p[i] == '\r')
			b->p[i] = ' ';
}

static int
utf8text(const char *p, size_t n)
{
	struct ev_buf b = { 0 };
	int ok;

	/* the scanner knows valid UTF-8: ask it about the body as a string */
	ev_buf_addc(&b, '"');
	for (size_t i = 0; i < n; i++)
		ev_buf_addc(&b, (unsigned char)p[i] < 0x20 || p[i] == '"' || p[i] == '\\' ? 'x' : p[i]);
	ev_buf_addc(&b, '"');
	ok = ev_json_valid(b.p, b.len, NULL) == 0;
	ev_buf_free(&b);
	return ok;
}

/* The body as the event's data, in s->obj. -1: the content type says JSON
 * and the body is not. */
static int
adddata(struct ev_amqp_scratch *s, const amqp_basic_properties_t *p, const char *body, size_t len)
{
	const char *ct = p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG ? p->content_type.bytes : NULL;
	size_t ctlen = ct ? p->content_type.len : 0;

	if (ct && ctlen) {
		ev_buf_adds(&s->obj, ",\"datacontenttype\":");
		ev_buf_addjstr(&s->obj, ct, ctlen);
	}
	if (len == 0)
		return 0;
	if (ct && ctlen && jsontype(ct, ctlen)) {
		if (ev_json_valid(body, len, NULL) < 0)
			return -1;
		ev_buf_adds(&s->obj, ",\"data\":");
		addoneline(&s->obj, body, len);
	} else if (!ctlen && ev_json_valid(body, len, NULL) == 0) {
		ev_buf_adds(&s->obj, ",\"data\":");
		addoneline(&s->obj, body, len);
	} else if ((!ctlen || (ctlen >= 5 && strncasecmp(ct, "text/", 5) == 0)) &&
	    utf8text(body, len)) {
		ev_buf_adds(&s->obj, ",\"data\":");
		ev_buf_addjstr(&s->obj, body, len);
	} else {
		size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
		ev_buf_adds(&s->obj, ",\"data_base64\":\"");
		ev_buf_grow(&s->obj, n);
		sodium_bin2base64(s->obj.p + s->obj.len, n, (const unsigned char *)body, len,
		    sodium_base64_VARIANT_ORIGINAL);
		s->obj.len += strlen(s->obj.p + s->obj.len);
		ev_buf_addc(&s->obj, '"');
	}
	return 0;
}

/* The cloudEvents_* headers as members of s->obj; their number. */
static int
ceheaders(struct ev_amqp_scratch *s, const amqp_basic_properties_t *p)
{
	int n = 0;

	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		return 0;
	for (int i = 0; i < p->headers.num_entries; i++) {
		const amqp_table_entry_t *e = &p->headers.entries[i];
		size_t pre = ceprefix(e->key), at = s->obj.len;
		if (!pre)
			continue;
		char name[64];
		size_t nl = e->key.len - pre;
		if (nl >= sizeof name)
			continue;
		for (size_t j = 0; j < nl; j++) {
			char c = ((const char *)e->key.bytes)[pre + j];
			name[j] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		name[nl] = '\0';
		if (!strcmp(name, "data") || !strcmp(name, "data_base64") ||
		    !strcmp(name, "datacontenttype"))
			continue;
		/* a name given twice (ce_id and cloudEvents:id): the first counts */
		const char *v;
		size_t vlen;
		ev_buf_addc(&s->obj, '}');
		int dup = ev_event_getattr(s->obj.p, s->obj.len, name, &v, &vlen) == 1;
		s->obj.len--;
		s->obj.p[s->obj.len] = '\0';
		if (dup)
			continue;
		ev_buf_addc(&s->obj, ',');
		ev_buf_addjstr(&s->obj, name, nl);
		ev_buf_addc(&s->obj, ':');
		if (fieldjson(&e->value, &s->obj) < 0) {
			s->obj.len = at;
			s->obj.p[at] = '\0';
			continue;
		}
		n++;
	}
	return n;
}

/* Where makeevent's envelope attributes are in s->env (0: none). */
struct envoff {
	size_t id, type, time, src;
};

/* The envelope from the properties, in s->env: offsets now, pointers
 * later (s->env may move as it grows). */
static void
envfromprops(const struct ev_amqp_delivery *d, const amqp_basic_properties_t *p,
    struct ev_amqp_scratch *s, struct envoff *o)
{
	*o = (struct envoff){ 0 };
	ev_buf_addc(&s->env, '\0');
	if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG && p->message_id.len) {
		o->id = s->env.len;
		ev_buf_add(&s->env, p->message_id.bytes, p->message_id.len);
		ev_buf_addc(&s->env, '\0');
	}
	o->type = s->env.len;
	if (p->_flags & AMQP_BASIC_TYPE_FLAG && p->type.len)
		ev_buf_add(&s->env, p->type.bytes, p->type.len);
	else if (d->routing_key.len)
		ev_buf_add(&s->env, d->routing_key.bytes, d->routing_key.len);
	else if (d->queue)
		ev_buf_adds(&s->env, d->queue);
	ev_buf_addc(&s->env, '\0');
	if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG) {
		char t[32];
		o->time = s->env.len;
		ev_time_format((int64_t)p->timestamp * 1000, t);
		ev_buf_add(&s->env, t, strlen(t) + 1);
	}
	o->src = s->env.len;
	if (p->_flags & AMQP_BASIC_APP_ID_FLAG && p->app_id.len) {
		ev_buf_add(&s->env, p->app_id.bytes, p->app_id.len);
	} else {
		ev_buf_adds(&s->env, "/amqp/");
		ev_buf_adds(&s->env, d->queue ? d->queue : "");
	}
	ev_buf_addc(&s->env, '\0');
}

/* expiration (a TTL in ms, from the timestamp or now) as expirytime. */
static void
expiryext(const amqp_basic_properties_t *p, int64_t now, struct ev_amqp_scratch *s,
    struct exts *x)
{
	char t[32], num[24], *end;
	size_t n = p->expiration.len < sizeof num ? p->expiration.len : sizeof num - 1;

	memcpy(num, p->expiration.bytes, n);
	num[n] = '\0';
	long long ttl = strtoll(num, &end, 10);
	if (n && *end == '\0' && ttl >= 0 && beginext(s, x, "expirytime")) {
		int64_t base = p->_flags & AMQP_BASIC_TIMESTAMP_FLAG ?
		    (int64_t)p->timestamp * 1000 : now;
		ev_time_format(base + ttl, t);
		ev_buf_addjstr(&s->vals, t, strlen(t));
		endext(s, x);
	}
}

/* The extensions from the properties and the headers, in s->vals. */
static void
extsfromprops(const amqp_basic_properties_t *p, int64_t now, struct ev_amqp_scratch *s,
    struct exts *x)
{
	if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
		strext(s, x, "correlationid", p->correlation_id);
	if (p->_flags & AMQP_BASIC_REPLY_TO_FLAG)
		strext(s, x, "replyto", p->reply_to);
	if (p->_flags & AMQP_BASIC_EXPIRATION_FLAG)
		expiryext(p, now, s, x);
	if (p->_flags & AMQP_BASIC_PRIORITY_FLAG && beginext(s, x, "evpriority")) {
		ev_buf_printf(&s->vals, "%u", p->priority);
		endext(s, x);
	}
	if (p->_flags & AMQP_BASIC_HEADERS_FLAG)
		for (int i = 0; i < p->headers.num_entries; i++)
			if (!ceprefix(p->headers.entries[i].key))
				headerext(s, x, &p->headers.entries[i]);
}

static int
makeevent(const struct ev_amqp_delivery *d, const char *body, size_t len, int64_t now,
    struct ev_buf *out, struct ev_amqp_scratch *s)
{
	const amqp_basic_properties_t *p = d->props ? d->props : &noprops;
	const char *ct = p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG ? p->content_type.bytes : NULL;
	size_t ctlen = ct ? p->content_type.len : 0;
	struct ev_attr ext[MAXEXT];
	struct ev_envelope e = { 0 };
	struct exts x = { .n = 0 };
	struct envoff o;
	int structured = 0;
	const char *why;

	if (ct && ctlen >= 23 && strncasecmp(ct, "application/cloudevents", 23) == 0)
		return 0; /* +json, or a format we pass on as it is */
	ev_buf_reset(&s->obj);
	ev_buf_reset(&s->vals);
	ev_buf_reset(&s->env);
	ev_buf_adds(&s->obj, "{\"specversion\":\"1.0\"");
	if (ceheaders(s, p) == 0 && (!ctlen || jsontype(ct, ctlen)) &&
	    ev_json_valid(body, len, NULL) == 0 && looksstructured(body, len))
		structured = 1;
	envfromprops(d, p, s, &o);
	extsfromprops(p, now, s, &x);
	for (size_t i = 0; i < x.n; i++) {
		ext[i].name = s->vals.p + x.off[i];
		ext[i].json = ext[i].name + strlen(ext[i].name) + 1;
		ext[i].len = strlen(ext[i].json);
	}
	e.id = o.id ? s->env.p + o.id : NULL;
	e.type = s->env.p[o.type] ? s->env.p + o.type : NULL;
	e.time = o.time ? s->env.p + o.time : NULL;
	e.source = s->env.p + o.src;
	e.ext = ext;
	e.next = x.n;
	if (structured) {
		ev_buf_reset(&s->obj);
		addoneline(&s->obj, body, len);
		return ev_event_fill(out, s->obj.p, s->obj.len, &e, &why) == 0;
	}
	/* the attributes first, then the data, as evemit writes them */
	size_t at = out->len;
	ev_buf_addc(&s->obj, '}');
	if (ev_event_fill(out, s->obj.p, s->obj.len, &e, &why) < 0)
		return 0;
	out->len--;
	ev_buf_reset(&s->obj);
	if (adddata(s, p, body, len) < 0) {
		out->len = at;
		out->p[at] = '\0';
		return 0;
	}
	ev_buf_add(out, s->obj.p, s->obj.len);
	ev_buf_addc(out, '}');
	return 1;
}

/* RabbitMQ's direct reply-to: the broker gives the consumer a reply_to of
 * amq.rabbitmq.reply-to.SOMETHING for a message published with the bare
 * name, which the event itself still says. The broker's name is the one
 * that routes the reply back. */
static int
directreply(const amqp_basic_properties_t *p)
{
	static const char pre[] = "amq.rabbitmq.reply-to.";

	return p && p->_flags & AMQP_BASIC_REPLY_TO_FLAG && p->reply_to.len > sizeof pre - 1 &&
	    memcmp(p->reply_to.bytes, pre, sizeof pre - 1) == 0;
}

int
ev_amqp_event(const struct ev_amqp_delivery *d, const char *body, size_t len, int64_t now,
    struct ev_buf *out, struct ev_amqp_scratch *s)
{
	size_t at = out->len;
	int r = makeevent(d, body, len, now, out, s);

	if (!directreply(d->props))
		return r;
	const char *line = r ? out->p + at : body;
	size_t n = r ? out->len - at : len, vlen;
	const char *v;
	if (ev_event_getattr(line, n, "replyto", &v, &vlen) != 1 ||
	    (vlen == d->props->reply_to.len + 2 && !memcmp(v + 1, d->props->reply_to.bytes, vlen - 2)))
		return r;
	ev_buf_reset(&s->vals);
	ev_buf_addjstr(&s->vals, d->props->reply_to.bytes, d->props->reply_to.len);
	ev_buf_reset(&s->obj);
	if (r)
		ev_buf_add(&s->obj, line, n);
	else
		addoneline(&s->obj, line, n);
	out->len = at;
	if (ev_event_setattr(out, s->obj.p, s->obj.len, "replyto", s->vals.p) < 0) {
		ev_buf_add(out, s->obj.p, s->obj.len);
		return 1;
	}
	return 1;
}

void
ev_amqp_scratch_free(struct ev_amqp_scratch *s)
{
	ev_buf_free(&s->obj);
	ev_buf_free(&s->vals);
	ev_buf_free(&s->env);
}
