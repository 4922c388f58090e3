/* SPDX-License-Identifier: ISC */
/* jcs.c — RFC 8785 canonical JSON (see jcs.h), written in one pass: the
 * members of an object are written as they come, then put in order. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "json/jsonscan.h"
#include "sign/jcs.h"
#include "json/utf8.h"

#define MAXDEPTH EV_JSON_MAXDEPTH

struct member {
	size_t koff, klen; /* the decoded name, in j->keys */
	size_t moff, mlen; /* "name":value as written in out */
	const char *k;     /* set just before sorting */
	int skip;
};

struct ev_jcs {
	const char *p, *e;
	const char *why;
	int depth;
	struct ev_buf keys, tmp, num;
	struct member *m;
	size_t nm, cap;
};

struct ev_jcs *
ev_jcs_new(void)
{
	return ev_calloc(1, sizeof(struct ev_jcs));
}

void
ev_jcs_free(struct ev_jcs *j)
{
	if (!j)
		return;
	ev_buf_free(&j->keys);
	ev_buf_free(&j->tmp);
	ev_buf_free(&j->num);
	free(j->m);
	free(j);
}

static int
fail(struct ev_jcs *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return -1;
}

static void
ws(struct ev_jcs *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static void
addutf8(struct ev_buf *b, uint32_t c)
{
	unsigned char u[4];

	ev_buf_add(b, (const char *)u, ev_utf8_put(u, c));
}

/* One character in its canonical string form. */
static void
addcanon(struct ev_buf *b, uint32_t c)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"': ev_buf_add(b, "\\\"", 2); return;
	case '\\': ev_buf_add(b, "\\\\", 2); return;
	case '\b': ev_buf_add(b, "\\b", 2); return;
	case '\t': ev_buf_add(b, "\\t", 2); return;
	case '\n': ev_buf_add(b, "\\n", 2); return;
	case '\f': ev_buf_add(b, "\\f", 2); return;
	case '\r': ev_buf_add(b, "\\r", 2); return;
	}
	if (c < 0x20) {
		char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		ev_buf_add(b, u, 6);
		return;
	}
	addutf8(b, c);
}

static int
hex4(const char *p, uint32_t *v)
{
	long x = ev_hex4((const unsigned char *)p);

	*v = (uint32_t)x;
	return x < 0 ? -1 : 0;
}

/* One raw UTF-8 character at j->p (valid, shortest form, no surrogate). */
static int
rawchar(struct ev_jcs *j, uint32_t *c)
{
	const unsigned char *s = (const unsigned char *)j->p;
	size_t left = (size_t)(j->e - j->p), n;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*c = s[0];
		j->p++;
		return 0;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2, v = s[0] & 0x1F, min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3, v = s[0] & 0x0F, min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4, v = s[0] & 0x07, min = 0x10000;
	} else {
		return fail(j, "invalid UTF-8");
	}
	if (left < n)
		return fail(j, "invalid UTF-8");
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return fail(j, "invalid UTF-8");
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF)
		return fail(j, "invalid UTF-8");
	if (v >= 0xD800 && v <= 0xDFFF)
		return fail(j, "lone surrogate");
	*c = v;
	j->p += n;
	return 0;
}

/* A string at j->p (its opening quote): decoded into raw and/or written in
 * canonical form (quotes included) into canon. */
static int
string(struct ev_jcs *j, struct ev_buf *raw, struct ev_buf *canon)
{
	uint32_t c, lo;

	j->p++;
	if (canon)
		ev_buf_addc(canon, '"');
	for (;;) {
		if (j->p >= j->e)
			return fail(j, "unterminated string");
		unsigned char ch = (unsigned char)*j->p;
		if (ch == '"') {
			j->p++;
			break;
		}
		if (ch < 0x20)
			return fail(j, "control character in a string");
		if (ch != '\\') {
			if (rawchar(j, &c) < 0)
				return -1;
		} else {
			if (j->e - j->p < 2)
				return fail(j, "unterminated string");
			char esc = j->p[1];
			j->p += 2;
			int one = ev_json_esc1((unsigned char)esc);
			if (one >= 0) {
				c = (uint32_t)one;
			} else if (esc != 'u') {
				return fail(j, "bad escape");
			} else {
				if (j->e - j->p < 4 || hex4(j->p, &c) < 0)
					return fail(j, "bad \\u escape");
				j->p += 4;
				if (c >= 0xDC00 && c <= 0xDFFF)
					return fail(j, "lone surrogate");
				if (c >= 0xD800 && c <= 0xDBFF) {
					if (j->e - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
					    hex4(j->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
						return fail(j, "lone surrogate");
					j->p += 6;
					c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				}
			}
		}
		if (raw)
			addutf8(raw, c);
		if (canon)
			addcanon(canon, c);
	}
	if (canon)
		ev_buf_addc(canon, '"');
	return 0;
}

static int
digits(struct ev_jcs *j)
{
	const char *s = j->p;

	while (j->p < j->e && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : fail(j, "bad number");
}

/* d (finite, not 0, positive) as ECMAScript's Number.prototype.toString. */
static void
fmtnum(struct ev_buf *out, double d)
{
	char buf[40], dig[20];
	int k = 0, p, n;
	const char *q;

	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	for (q = buf; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9')
			dig[k++] = *q;
	while (k > 1 && dig[k - 1] == '0')
		k--;
	n = atoi(q + 1) + 1; /* where the decimal point goes */
	if (k <= n && n <= 21) {
		ev_buf_add(out, dig, (size_t)k);
		for (int i = k; i < n; i++)
			ev_buf_addc(out, '0');
	} else if (0 < n && n <= 21) {
		ev_buf_add(out, dig, (size_t)n);
		ev_buf_addc(out, '.');
		ev_buf_add(out, dig + n, (size_t)(k - n));
	} else if (-6 < n && n <= 0) {
		ev_buf_add(out, "0.", 2);
		for (int i = n; i < 0; i++)
			ev_buf_addc(out, '0');
		ev_buf_add(out, dig, (size_t)k);
	} else {
		ev_buf_addc(out, dig[0]);
		if (k > 1) {
			ev_buf_addc(out, '.');
			ev_buf_add(out, dig + 1, (size_t)(k - 1));
		}
		ev_buf_printf(out, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
	}
}

static int
number(struct ev_jcs *j, struct ev_buf *out)
{
	const char *s = j->p;
	double d;

	if (*j->p == '-')
		j->p++;
	if (j->p < j->e && *j->p == '0')
		j->p++;
	else if (digits(j) < 0)
		return -1;
	if (j->p < j->e && *j->p == '.') {
		j->p++;
		if (digits(j) < 0)
			return -1;
	}
	if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->e && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (digits(j) < 0)
			return -1;
	}
	ev_buf_reset(&j->num);
	ev_buf_add(&j->num, s, (size_t)(j->p - s));
	d = strtod(j->num.p, NULL);
	if (isinf(d))
		return fail(j, "number out of range");
	if (d == 0) {
		ev_buf_addc(out, '0');
		return 0;
	}
	if (d < 0) {
		ev_buf_addc(out, '-');
		d = -d;
	}
	fmtnum(out, d);
	return 0;
}

static uint32_t
decode(const unsigned char *s)
{
	if (s[0] < 0x80)
		return s[0];
	if ((s[0] & 0xE0) == 0xC0)
		return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
	if ((s[0] & 0xF0) == 0xE0)
		return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
	return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
	    (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Two valid UTF-8 names in the order of their UTF-16 code units. Byte order
 * is code point order; the two differ only where a character above U+FFFF
 * (a surrogate pair, 0xD800...) meets one from U+E000 to U+FFFF. */
static int
keycmp(const char *a, size_t na, const char *b, size_t nb)
{
	size_t n = na < nb ? na : nb, i = 0;

	while (i < n && a[i] == b[i])
		i++;
	if (i == n)
		return na < nb ? -1 : na > nb;
	while (i > 0 && ((unsigned char)a[i] & 0xC0) == 0x80)
		i--;
	uint32_t ca = decode((const unsigned char *)a + i), cb = decode((const unsigned char *)b + i);
	uint32_t ua = ca >= 0x10000 ? 0xD800 + ((ca - 0x10000) >> 10) : ca;
	uint32_t ub = cb >= 0x10000 ? 0xD800 + ((cb - 0x10000) >> 10) : cb;
	if (ua != ub)
		return ua < ub ? -1 : 1;
	return ca < cb ? -1 : ca > cb;
}

static int
membercmp(const void *x, const void *y)
{
	const struct member *a = x, *b = y;

	return keycmp(a->k, a->klen, b->k, b->klen);
}

static int value(struct ev_jcs *j, struct ev_buf *out, const char *skip);

/* The members written since start, j->m[base..], put in order (skip
 * left out); duplicate names fail. */
static int
sortmembers(struct ev_jcs *j, struct ev_buf *out, size_t base, size_t start)
{
	struct member *m = j->m + base;
	size_t n = j->nm - base;
	int first = 1;

	for (size_t i = 0; i < n; i++)
		m[i].k = j->keys.p + m[i].koff;
	qsort(m, n, sizeof *m, membercmp);
	for (size_t i = 1; i < n; i++)
		if (keycmp(m[i - 1].k, m[i - 1].klen, m[i].k, m[i].klen) == 0)
			return fail(j, "duplicate member name");
	ev_buf_reset(&j->tmp);
	ev_buf_add(&j->tmp, out->p + start, out->len - start);
	out->len = start;
	ev_buf_addc(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (m[i].skip)
			continue;
		if (!first)
			ev_buf_addc(out, ',');
		first = 0;
		ev_buf_add(out, j->tmp.p + (m[i].moff - start), m[i].mlen);
	}
	ev_buf_addc(out, '}');
	return 0;
}

static int
object(struct ev_jcs *j, struct ev_buf *out, const char *skip)
{
	size_t base = j->nm, start = out->len, keys0 = j->keys.len;

	j->p++;
	ws(j);
	if (j->p < j->e && *j->p == '}') {
		j->p++;
		ev_buf_add(out, "{}", 2);
		return 0;
	}
	for (;;) {
		ws(j);
		if (j->p >= j->e || *j->p != '"')
			return fail(j, "expected a member name");
		if (j->nm == j->cap) {
			j->cap = j->cap ? 2 * j->cap : 16;
			j->m = ev_reallocarray(j->m, j->cap, sizeof *j->m);
		}
		struct member m = { .koff = j->keys.len, .moff = out->len };
		if (string(j, &j->keys, out) < 0)
			return -1;
		m.klen = j->keys.len - m.koff;
		ws(j);
		if (j->p >= j->e || *j->p != ':')
			return fail(j, "expected ':'");
		j->p++;
		ev_buf_addc(out, ':');
		if (value(j, out, NULL) < 0)
			return -1;
		m.mlen = out->len - m.moff;
		m.skip = skip && strlen(skip) == m.klen &&
		    memcmp(skip, j->keys.p + m.koff, m.klen) == 0;
		j->m[j->nm++] = m;
		ws(j);
		if (j->p < j->e && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->e && *j->p == '}') {
			j->p++;
			break;
		}
		return fail(j, "expected ',' or '}'");
	}
	if (sortmembers(j, out, base, start) < 0)
		return -1;
	j->nm = base;
	j->keys.len = keys0;
	return 0;
}

static int
array(struct ev_jcs *j, struct ev_buf *out)
{
	j->p++;
	ev_buf_addc(out, '[');
	ws(j);
	if (j->p < j->e && *j->p == ']') {
		j->p++;
		ev_buf_addc(out, ']');
		return 0;
	}
	for (;;) {
		if (value(j, out, NULL) < 0)
			return -1;
		ws(j);
		if (j->p < j->e && *j->p == ',') {
			j->p++;
			ev_buf_addc(out, ',');
			continue;
		}
		if (j->p < j->e && *j->p == ']') {
			j->p++;
			ev_buf_addc(out, ']');
			return 0;
		}
		return fail(j, "expected ',' or ']'");
	}
}

static int
literal(struct ev_jcs *j, struct ev_buf *out, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->e - j->p) < n || memcmp(j->p, word, n) != 0)
		return fail(j, "unexpected character");
	j->p += n;
	ev_buf_add(out, word, n);
	return 0;
}

static int
value(struct ev_jcs *j, struct ev_buf *out, const char *skip)
{
	int r;

	ws(j);
	if (j->p >= j->e)
		return fail(j, "unexpected end");
	if (skip && *j->p != '{')
		return fail(j, "not a JSON object");
	switch (*j->p) {
	case '{':
	case '[': {
		/* counted as the scanner (and jq) count it: an object is two levels */
		int d = *j->p == '{' ? 2 : 1;
		if ((j->depth += d) > MAXDEPTH)
			return fail(j, "nesting too deep");
		r = *j->p == '{' ? object(j, out, skip) : array(j, out);
		j->depth -= d;
		return r;
	}
	case '"':
		return string(j, NULL, out);
	case 't':
		return literal(j, out, "true");
	case 'f':
		return literal(j, out, "false");
	case 'n':
		return literal(j, out, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return number(j, out);
		return fail(j, "unexpected character");
	}
}

int
ev_jcs(struct ev_jcs *j, struct ev_buf *out, const char *p, size_t n, const char *skip,
    const char **why)
{
	j->p = p;
	j->e = p + n;
	j->why = NULL;
	j->depth = 0;
	j->nm = 0;
	ev_buf_reset(&j->keys);
	if (value(j, out, skip) == 0) {
		ws(j);
		if (j->p == j->e)
			return 0;
		fail(j, "trailing characters");
	}
	*why = j->why;
	return -1;
}
