/* SPDX-License-Identifier: ISC */
/* predeval.c — evaluating a compiled predicate (pred.c, predimpl.h) on the
 * values one ev_json_scan found in a line.
 *
 * Evaluation follows jq's: a node yields a value, nothing (select on a
 * false condition), a jq error, or "defer" (not replicated here). Values
 * order as jq 1.6's jv_cmp does: null < false < true < numbers (as
 * doubles) < strings (bytewise on UTF-8) < arrays < objects; equality is
 * that order's 0. A missing field is null.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/predimpl.h"

/* ---- evaluation ---- */

static int
truthy(const struct val *v)
{
	return v->t != EV_J_NULL && v->t != EV_J_FALSE;
}

/* A string value's decoded bytes (escaped ones decoded into d). */
static void
strbytes(const struct val *v, struct ev_buf *d, const char **s, size_t *n)
{
	if (!v->raw) {
		*s = v->s;
		*n = v->len;
		return;
	}
	struct ev_jval jv = { EV_J_STRING, v->s, v->len, 1, 0 };
	ev_buf_reset(d);
	ev_jval_str(&jv, d);
	*s = d->p;
	*n = d->len;
}

/* jv_cmp: <0, 0, >0 in *r; R_DEFER for two arrays or two objects. */
static int
compare(struct ev_pred *p, const struct val *a, const struct val *b, int *r)
{
	if (a->t != b->t) {
		*r = (int)a->t - (int)b->t;
		return R_OK;
	}
	switch (a->t) {
	case EV_J_NUMBER:
		*r = a->num < b->num ? -1 : a->num == b->num ? 0 : 1;
		return R_OK;
	case EV_J_STRING: {
		const char *x, *y;
		size_t m, n;
		strbytes(a, &p->dec[0], &x, &m);
		strbytes(b, &p->dec[1], &y, &n);
		int c = memcmp(x, y, m < n ? m : n);
		*r = c ? c : m < n ? -1 : m > n;
		return R_OK;
	}
	case EV_J_ARRAY:
	case EV_J_OBJECT:
		return R_DEFER;
	default:
		*r = 0;
		return R_OK;
	}
}

static int eval(struct ev_pred *p, int i, struct val *out);

/* A number's text as jq reads it: an integer of at most 15 digits is exact
 * as a double, so it is computed here (strtod costs more than the rest of
 * a comparison); anything else by ev_jval_num. */
static double
numval(const struct ev_jval *v)
{
	const char *s = v->p, *e = v->p + v->len;
	int neg = *s == '-';
	double x = 0;

	s += neg;
	if (e - s > 15 || s == e)
		return ev_jval_num(v);
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return ev_jval_num(v);
		x = x * 10 + (*s - '0');
	}
	return neg ? -x : x;
}
static int operands(struct ev_pred *p, const struct node *n, struct val *a, struct val *b);

/* The value the scan found at a path (a missing one is null, unless jq
 * would raise an error on the way). */
static int
pathval(const struct ev_pred *p, const struct node *n, struct val *out)
{
	const struct ev_jval *v = &p->vals[n->slot];

	switch (v->type) {
	case EV_J_MISSING:
		if (v->jqerr)
			return R_ERR;
		*out = (struct val){ .t = EV_J_NULL };
		return R_OK;
	case EV_J_NUMBER:
		*out = (struct val){ .t = EV_J_NUMBER, .num = numval(v) };
		return R_OK;
	case EV_J_STRING:
		if (v->escaped)
			*out = (struct val){ .t = EV_J_STRING, .s = v->p, .len = v->len, .raw = 1 };
		else
			*out = (struct val){ .t = EV_J_STRING, .s = v->p + 1, .len = v->len - 2 };
		return R_OK;
	default:
		*out = (struct val){ .t = v->type, .s = v->p, .len = v->len };
		return R_OK;
	}
}

/* Whether comparison op holds of c, compare()'s order of its sides. */
static int
holds(int op, int c)
{
	switch (op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	default: return c >= 0;
	}
}

static int
evalcmp(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct val a, b;
	int ra = operands(p, n, &a, &b), c;

	if (ra != R_OK)
		return ra;
	if ((ra = compare(p, &a, &b, &c)) != R_OK)
		return ra;
	*out = (struct val){ .t = holds(n->op, c) ? EV_J_TRUE : EV_J_FALSE };
	return R_OK;
}

/* startswith, endswith. */
static int
evalaffix(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct val a, b;
	const char *x, *y;
	size_t m, k;
	int ra, rb, c;

	if ((ra = eval(p, n->a, &a)) != R_OK)
		return ra;
	if ((rb = eval(p, n->b, &b)) != R_OK)
		return rb;
	if (a.t != EV_J_STRING || b.t != EV_J_STRING)
		return R_ERR;
	strbytes(&a, &p->dec[0], &x, &m);
	strbytes(&b, &p->dec[1], &y, &k);
	c = k <= m && memcmp(n->k == N_STARTS ? x : x + m - k, y, k) == 0;
	*out = (struct val){ .t = c ? EV_J_TRUE : EV_J_FALSE };
	return R_OK;
}

/* test(re), has("key"). */
static int
evaltest(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct val a;
	const char *x;
	size_t m;
	int ra, c;

	if ((ra = eval(p, n->a, &a)) != R_OK)
		return ra;
	if (n->k == N_HAS) {
		if (a.t != EV_J_OBJECT)
			return R_ERR;
		c = p->vals[n->slot].type != EV_J_MISSING;
	} else {
		if (a.t != EV_J_STRING)
			return R_ERR;
		strbytes(&a, &p->dec[0], &x, &m);
		if (n->re) {
			if ((c = ev_regex_test(n->re, x, m)) < 0)
				return R_ERR; /* Oniguruma gave up: jq raises an error */
		} else
			c = n->lit.len == 0 || memmem(x, m, n->lit.s, n->lit.len) != NULL;
	}
	*out = (struct val){ .t = c ? EV_J_TRUE : EV_J_FALSE };
	return R_OK;
}

/* The text of an element of a valid array, a value with no space around it
 * at *pp (after '[' or ','); *pp moves past it and its comma. 0 at ']'. */
static int
nextelem(const char **pp, const char **e, size_t *n)
{
	const char *s = *pp;
	int depth = 0;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (*s == ']')
		return 0;
	*e = s;
	do {
		if (*s == '"') {
			for (s++; *s != '"'; s++)
				if (*s == '\\')
					s++;
		} else if (*s == '[' || *s == '{') {
			depth++;
		} else if (*s == ']' || *s == '}') {
			depth--;
		} else if (depth == 0) {
			while (!strchr(",]} \t\r\n", *s))
				s++;
			break;
		}
		s++;
	} while (depth > 0);
	*n = (size_t)(s - *e);
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (*s == ',')
		s++;
	*pp = s;
	return 1;
}

/* A value's text (valid JSON, no space around) as the scanner finds it. */
static struct ev_jval
jvalof(const char *e, size_t n)
{
	static const enum ev_jtype first[256] = { ['n'] = EV_J_NULL, ['t'] = EV_J_TRUE,
		['f'] = EV_J_FALSE, ['"'] = EV_J_STRING, ['['] = EV_J_ARRAY, ['{'] = EV_J_OBJECT };
	enum ev_jtype t = first[(unsigned char)*e] ? first[(unsigned char)*e] : EV_J_NUMBER;
	return (struct ev_jval){ t, e, n, t == EV_J_STRING && memchr(e, '\\', n) != NULL, 0 };
}

/* The values a simple condition reads (see struct ev_pred) in an element,
 * as ev_json_scan would find them in it, without validating it again (the
 * line was). -1: a key with an escape, ask ev_json_scan. */
static int
elemfind(struct ev_pred *sub, const char *e, size_t n)
{
	const char *s = e + 1, *k, *v;
	size_t klen, vlen;

	for (size_t i = 0; i < sub->npaths; i++) {
		if (!sub->key[i])
			sub->vals[i] = jvalof(e, n);
		else /* a key of null is null; of anything else but an object, an error */
			sub->vals[i] = (struct ev_jval){ .type = EV_J_MISSING, .jqerr = *e != 'n' && *e != '{' };
	}
	if (*e != '{')
		return 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == ',')
			s++;
		if (*s == '}')
			return 0;
		for (k = ++s; *s != '"'; s++)
			if (*s == '\\')
				return -1;
		klen = (size_t)(s - k);
		for (s++; *s != ':'; s++)
			;
		s++;
		if (!nextelem(&s, &v, &vlen))
			return -1; /* cannot happen: a member has a value */
		for (size_t i = 0; i < sub->npaths; i++)
			if (sub->key[i] && sub->keylen[i] == klen && memcmp(sub->key[i], k, klen) == 0)
				sub->vals[i] = jvalof(v, vlen); /* the last occurrence counts, as in jq */
	}
}

/* The number of distinct keys of a valid object's text (jq keeps the last
 * of equal keys); -1 for a key with an escape or more than 64 members. */
static int
objlength(const char *s)
{
	const char *key[64], *k, *v;
	size_t klen[64], vlen;
	int n = 0;

	s++;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == ',')
			s++;
		if (*s == '}')
			return n;
		for (k = ++s; *s != '"'; s++)
			if (*s == '\\')
				return -1;
		int dup = 0;
		for (int i = 0; i < n && !dup; i++)
			dup = klen[i] == (size_t)(s - k) && memcmp(key[i], k, klen[i]) == 0;
		if (!dup) {
			if (n == 64)
				return -1;
			key[n] = k;
			klen[n++] = (size_t)(s - k);
		}
		for (s++; *s != ':'; s++)
			;
		s++;
		if (!nextelem(&s, &v, &vlen))
			return -1; /* cannot happen: a member has a value */
	}
}

/* An element's text (valid JSON, as nextelem gives it) as a value. */
static void
elemval(const char *e, size_t n, struct val *v)
{
	switch (*e) {
	case 'n': *v = (struct val){ .t = EV_J_NULL }; break;
	case 't': *v = (struct val){ .t = EV_J_TRUE }; break;
	case 'f': *v = (struct val){ .t = EV_J_FALSE }; break;
	case '[': *v = (struct val){ .t = EV_J_ARRAY, .s = e, .len = n }; break;
	case '{': *v = (struct val){ .t = EV_J_OBJECT, .s = e, .len = n }; break;
	case '"':
		if (memchr(e, '\\', n))
			*v = (struct val){ .t = EV_J_STRING, .s = e, .len = n, .raw = 1 };
		else
			*v = (struct val){ .t = EV_J_STRING, .s = e + 1, .len = n - 2 };
		break;
	default: {
		struct ev_jval jv = { EV_J_NUMBER, e, n, 0, 0 };
		*v = (struct val){ .t = EV_J_NUMBER, .num = numval(&jv) };
	}
	}
}

/* The value .path[] iterates: an array (an object's values come in jq's
 * hash order, not replicated: defer; anything else is a jq error). */
static int
iterable(struct ev_pred *p, int i, struct val *a)
{
	int r = eval(p, i, a);
	if (r != R_OK)
		return r;
	if (a->t == EV_J_OBJECT)
		return R_DEFER;
	return a->t == EV_J_ARRAY ? R_OK : R_ERR;
}

/* any(.path[]; cond), all(.path[]; cond), as jq 1.6 defines them: the
 * condition on each element in turn until one decides; an element for which
 * the condition gives nothing is skipped; an error on the way is the
 * result. */
static int
evalanyall(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct ev_pred *sub = n->sub;
	struct val a, c;
	const char *it, *e;
	size_t len;
	int r, any = n->k == N_ANY;

	if ((r = iterable(p, n->a, &a)) != R_OK)
		return r;
	for (it = a.s + 1; nextelem(&it, &e, &len);) {
		if ((!sub->simple || elemfind(sub, e, len) < 0) &&
		    ev_json_scan(e, len, sub->paths, sub->npaths, sub->vals, NULL) < 0)
			return R_DEFER; /* cannot happen: the line was valid */
		r = eval(sub, sub->root, &c);
		if (r == R_EMPTY)
			continue;
		if (r != R_OK)
			return r;
		if (truthy(&c) == any) {
			*out = (struct val){ .t = any ? EV_J_TRUE : EV_J_FALSE };
			return R_OK;
		}
	}
	*out = (struct val){ .t = any ? EV_J_FALSE : EV_J_TRUE };
	return R_OK;
}

/* .path[] OP literal where "some output is true" is the answer: is it so
 * for some element? */
static int
evalitercmp(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct val a, v;
	const char *it, *e;
	size_t len;
	int r, c;

	if ((r = iterable(p, n->a, &a)) != R_OK)
		return r;
	for (it = a.s + 1; nextelem(&it, &e, &len);) {
		elemval(e, len, &v);
		if ((r = n->flip ? compare(p, &n->lit, &v, &c) : compare(p, &v, &n->lit, &c)) != R_OK)
			return r;
		if (holds(n->op, c)) {
			*out = (struct val){ .t = EV_J_TRUE };
			return R_OK;
		}
	}
	*out = (struct val){ .t = EV_J_FALSE };
	return R_OK;
}

/* length (jq 1.6's f_length): codepoints of a string, elements of an
 * array, distinct keys of an object, |n| of a number, 0 for null; a
 * boolean is an error. */
static int
evallength(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct val a;
	const char *x, *e;
	size_t m, len, k = 0;
	int r;

	if ((r = eval(p, n->a, &a)) != R_OK)
		return r;
	switch (a.t) {
	case EV_J_NULL:
		break;
	case EV_J_NUMBER:
		*out = (struct val){ .t = EV_J_NUMBER, .num = fabs(a.num) };
		return R_OK;
	case EV_J_STRING:
		strbytes(&a, &p->dec[0], &x, &m);
		for (size_t i = 0; i < m; i++)
			k += ((unsigned char)x[i] & 0xc0) != 0x80;
		break;
	case EV_J_ARRAY:
		for (x = a.s + 1; nextelem(&x, &e, &len);)
			k++;
		break;
	case EV_J_OBJECT: {
		int keys = objlength(a.s);
		if (keys < 0)
			return R_DEFER;
		k = (size_t)keys;
		break;
	}
	default:
		return R_ERR;
	}
	*out = (struct val){ .t = EV_J_NUMBER, .num = (double)k };
	return R_OK;
}

/* ascii_downcase, ascii_upcase: A-Z or a-z only, the rest as it is. */
static int
evalcase(struct ev_pred *p, struct node *n, struct val *out)
{
	struct val a;
	const char *x;
	size_t m;
	int r;
	char lo = n->k == N_LOWER ? 'A' : 'a', d = n->k == N_LOWER ? 32 : -32;

	if ((r = eval(p, n->a, &a)) != R_OK)
		return r;
	if (a.t != EV_J_STRING)
		return R_ERR;
	strbytes(&a, &p->dec[0], &x, &m);
	ev_buf_reset(&n->buf);
	ev_buf_add(&n->buf, x, m);
	for (size_t i = 0; i < m; i++)
		if (n->buf.p[i] >= lo && n->buf.p[i] <= lo + 25)
			n->buf.p[i] = (char)(n->buf.p[i] + d);
	*out = (struct val){ .t = EV_J_STRING, .s = n->buf.p, .len = m };
	return R_OK;
}

/* Two operands, as jq meets them: a result only when both are values. */
static int
operands(struct ev_pred *p, const struct node *n, struct val *a, struct val *b)
{
	int ra = eval(p, n->a, a), rb = eval(p, n->b, b);

	if (ra == R_OK && rb == R_OK)
		return R_OK;
	/* which side jq meets first decides between nothing and an error */
	if ((ra == R_EMPTY && rb == R_ERR) || (ra == R_ERR && rb == R_EMPTY))
		return R_DEFER;
	if (ra == R_OK)
		return rb;
	if (rb == R_OK)
		return ra;
	return ra > rb ? ra : rb;
}

/* + - * / on numbers (and null + x, x + null), as doubles as in jq 1.6;
 * strings, arrays and objects defer; a division by zero is an error. */
static int
evalarith(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct val a, b;
	int r = operands(p, n, &a, &b);

	if (r != R_OK)
		return r;
	if (n->op == OP_ADD && (a.t == EV_J_NULL || b.t == EV_J_NULL)) {
		*out = a.t == EV_J_NULL ? b : a;
		return R_OK;
	}
	if (a.t != EV_J_NUMBER || b.t != EV_J_NUMBER)
		return R_DEFER;
	double x = a.num, y = b.num;
	switch (n->op) {
	case OP_ADD: x += y; break;
	case OP_SUB: x -= y; break;
	case OP_MUL: x *= y; break;
	default:
		if (y == 0)
			return R_ERR;
		x /= y;
	}
	*out = (struct val){ .t = EV_J_NUMBER, .num = x };
	return R_OK;
}

/* and, or, //, not, select and |: jq's control of what is evaluated. */
static int
evallogic(struct ev_pred *p, const struct node *n, struct val *out)
{
	struct val a, b;
	int ra, rb;

	switch (n->k) {
	case N_AND:
	case N_OR:
		if ((ra = eval(p, n->a, &a)) != R_OK)
			return ra;
		if (truthy(&a) == (n->k == N_OR)) {
			*out = (struct val){ .t = n->k == N_OR ? EV_J_TRUE : EV_J_FALSE };
			return R_OK;
		}
		if ((rb = eval(p, n->b, &b)) != R_OK)
			return rb;
		*out = (struct val){ .t = truthy(&b) ? EV_J_TRUE : EV_J_FALSE };
		return R_OK;
	case N_ALT:
		ra = eval(p, n->a, &a);
		if (ra == R_OK && truthy(&a)) {
			*out = a;
			return R_OK;
		}
		if (ra != R_OK && ra != R_EMPTY)
			return ra;
		return eval(p, n->b, out);
	case N_NOT:
		if ((ra = eval(p, n->a, &a)) != R_OK)
			return ra;
		*out = (struct val){ .t = truthy(&a) ? EV_J_FALSE : EV_J_TRUE };
		return R_OK;
	case N_SELECT:
		if ((ra = eval(p, n->a, out)) != R_OK)
			return ra;
		if ((rb = eval(p, n->b, &b)) != R_OK)
			return rb;
		return truthy(&b) ? R_OK : R_EMPTY;
	case N_PIPE:
		if ((ra = eval(p, n->a, &a)) != R_OK)
			return ra;
		return eval(p, n->b, out);
	default:
		return R_DEFER;
	}
}

static int
eval(struct ev_pred *p, int i, struct val *out)
{
	const struct node *n = &p->n[i];

	switch (n->k) {
	case N_PATH:
		return pathval(p, n, out);
	case N_LIT:
		*out = n->lit;
		return R_OK;
	case N_CMP:
		return evalcmp(p, n, out);
	case N_AND:
	case N_OR:
	case N_ALT:
	case N_NOT:
	case N_SELECT:
	case N_PIPE:
		return evallogic(p, n, out);
	case N_STARTS:
	case N_ENDS:
		return evalaffix(p, n, out);
	case N_TEST:
	case N_HAS:
		return evaltest(p, n, out);
	case N_ANY:
	case N_ALL:
		return evalanyall(p, n, out);
	case N_ITERCMP:
		return evalitercmp(p, n, out);
	case N_LENGTH:
		return evallength(p, n, out);
	case N_LOWER:
	case N_UPPER:
		return evalcase(p, &p->n[i], out);
	case N_ARITH:
		return evalarith(p, n, out);
	case N_ITER:
		return R_DEFER;
	}
	return R_DEFER;
}

static int
evalroot(struct ev_pred *p)
{
	struct val v;

	switch (eval(p, p->root, &v)) {
	case R_OK:
		return truthy(&v);
	case R_EMPTY:
		return 0;
	default:
		return EV_PRED_DEFER;
	}
}

int
ev_pred_eval(struct ev_pred *p, const char *line, size_t len, struct ev_jerr *err)
{
	if (ev_json_scan(line, len, p->paths, p->npaths, p->vals, err) < 0)
		return EV_PRED_BAD;
	return evalroot(p);
}

size_t
ev_pred_npaths(const struct ev_pred *p)
{
	return p->npaths;
}

const char *
ev_pred_path(const struct ev_pred *p, size_t i)
{
	return p->pathtext[i];
}

int
ev_pred_eval_found(struct ev_pred *p, const struct ev_jval *vals, const size_t *slot)
{
	for (size_t i = 0; i < p->npaths; i++)
		p->vals[i] = vals[slot[i]];
	return evalroot(p);
}

int
ev_pred_dump(const struct ev_jval *v, struct ev_buf *out)
{
	size_t i = 0;

	switch (v->type) {
	case EV_J_NULL:
	case EV_J_FALSE:
	case EV_J_TRUE:
		break;
	case EV_J_STRING:
		if (v->escaped || memchr(v->p, 0x7f, v->len))
			return 0; /* jq writes its own escapes, and DEL as \u007f */
		break;
	case EV_J_NUMBER:
		i = v->p[0] == '-';
		if (v->len - i > 15 || (v->len - i == 1 && v->p[i] == '0' && i))
			return 0;
		for (size_t j = i; j < v->len; j++)
			if (v->p[j] < '0' || v->p[j] > '9')
				return 0; /* a fraction or an exponent: jq's own digits */
		break;
	default:
		return 0;
	}
	ev_buf_add(out, v->p, v->len);
	return 1;
}
