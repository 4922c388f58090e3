/* SPDX-License-Identifier: ISC */
/* agg.c — the built-in folds (see agg.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/mem.h"
#include "fold/agg.h"
#include "fold/hll.h"

const char *const ev_agg_names[EV_NAGG] = {
	"count", "sum", "min", "max", "avg", "first", "last", "distinct"
};

#define NUMERIC ((1u << EV_AGG_SUM) | (1u << EV_AGG_MIN) | (1u << EV_AGG_MAX) | (1u << EV_AGG_AVG))

static int
absent(const struct ev_jval *v)
{
	return v->type == EV_J_MISSING || v->type == EV_J_NULL;
}

int
ev_agg_check(unsigned mask, const struct ev_jval *vals, const char **why, int *which)
{
	for (int i = 0; i < EV_NAGG; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (vals[i].type == EV_J_MISSING && vals[i].jqerr) {
			*why = "its path leads through a value that is not an object or array";
			*which = i;
			return -1;
		}
		if ((NUMERIC & (1u << i)) && !absent(&vals[i]) && vals[i].type != EV_J_NUMBER) {
			*why = "not a number";
			*which = i;
			return -1;
		}
	}
	return 0;
}

/* A value as compact JSON: the raw bytes less the blanks between tokens. */
static void
compact(const struct ev_jval *v, struct ev_buf *out)
{
	int instr = 0;

	ev_buf_reset(out);
	ev_buf_grow(out, v->len);
	for (size_t i = 0; i < v->len; i++) {
		char c = v->p[i];
		if (instr) {
			if (c == '\\')
				out->p[out->len++] = v->p[i++];
			else if (c == '"')
				instr = 0;
		} else if (c == '"') {
			instr = 1;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			continue;
		}
		out->p[out->len++] = v->p[i];
	}
	out->p[out->len] = '\0';
}

static uint64_t
valhash(const struct ev_jval *v, struct ev_buf *tmp)
{
	if (v->type == EV_J_STRING && v->escaped) {
		ev_buf_reset(tmp);
		ev_buf_addc(tmp, '"');
		ev_jval_str(v, tmp);
		return XXH3_64bits(tmp->p, tmp->len);
	}
	if (v->type == EV_J_STRING)
		return XXH3_64bits(v->p, v->len - 1); /* '"' and the body, as above */
	compact(v, tmp);
	return XXH3_64bits(tmp->p, tmp->len);
}

void
ev_agg_apply(unsigned mask, struct ev_aggstate *s, const struct ev_jval *vals,
    struct ev_buf *tmp)
{
	const struct ev_jval *v;

	if (mask & (1u << EV_AGG_COUNT))
		s->count++;
	if ((mask & NUMERIC)) {
		if ((mask & (1u << EV_AGG_SUM)) && !absent(v = &vals[EV_AGG_SUM]))
			s->sum += ev_jval_num(v);
		if ((mask & (1u << EV_AGG_MIN)) && !absent(v = &vals[EV_AGG_MIN])) {
			double d = ev_jval_num(v);
			if (!s->hasmin || d < s->min)
				s->min = d, s->hasmin = 1;
		}
		if ((mask & (1u << EV_AGG_MAX)) && !absent(v = &vals[EV_AGG_MAX])) {
			double d = ev_jval_num(v);
			if (!s->hasmax || d > s->max)
				s->max = d, s->hasmax = 1;
		}
		if ((mask & (1u << EV_AGG_AVG)) && !absent(v = &vals[EV_AGG_AVG])) {
			s->avgsum += ev_jval_num(v);
			s->avgn++;
		}
	}
	if ((mask & (1u << EV_AGG_FIRST)) && !s->first.len && !absent(v = &vals[EV_AGG_FIRST]))
		compact(v, &s->first);
	if ((mask & (1u << EV_AGG_LAST)) && !absent(v = &vals[EV_AGG_LAST]))
		compact(v, &s->last);
	if ((mask & (1u << EV_AGG_DISTINCT)) && !absent(v = &vals[EV_AGG_DISTINCT])) {
		if (!s->hll)
			s->hll = ev_calloc(1, EV_HLL_BYTES);
		ev_hll_add(s->hll, valhash(v, tmp));
	}
}

void
ev_agg_merge(unsigned mask, struct ev_aggstate *s, const struct ev_aggstate *o)
{
	(void)mask;
	s->count += o->count;
	s->sum += o->sum;
	if (o->hasmin && (!s->hasmin || o->min < s->min))
		s->min = o->min, s->hasmin = 1;
	if (o->hasmax && (!s->hasmax || o->max > s->max))
		s->max = o->max, s->hasmax = 1;
	s->avgsum += o->avgsum;
	s->avgn += o->avgn;
	/* s is the earlier of the two */
	if (!s->first.len && o->first.len)
		ev_buf_add(&s->first, o->first.p, o->first.len);
	if (o->last.len) {
		ev_buf_reset(&s->last);
		ev_buf_add(&s->last, o->last.p, o->last.len);
	}
	if (o->hll) {
		if (!s->hll)
			s->hll = ev_calloc(1, EV_HLL_BYTES);
		ev_hll_merge(s->hll, o->hll);
	}
}

/* An integer's digits, appended. */
static void
addint(struct ev_buf *out, int64_t v)
{
	char b[24], *p = b + sizeof b;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	ev_buf_add(out, p, (size_t)(b + sizeof b - p));
}

/* Numbers as jq prints them, without printf in the common case.
 *
 * The rule (the one printf and strtod give, below): the first of %.15g,
 * %.16g and %.17g that reads back as the same double. For 1e-3 <= |d| <
 * 1e14 this is computed exactly in integers: d = M * 2^E, so the N
 * significant digits of d are M * 10^k / 2^-E rounded half to even
 * (k = N - 1 - its decimal exponent), and they read back as d when they
 * lie within d's rounding interval, compared exactly as well. The products
 * fit in 128 bits, kept as two halves (C17 has no wider integer). */
struct u128 {
	uint64_t hi, lo;
};

static struct u128
mul64(uint64_t a, uint64_t b)
{
	uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;

	return (struct u128){ p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32),
		(mid << 32) | (uint32_t)p00 };
}

static struct u128
shl(uint64_t v, unsigned n) /* v * 2^n, n < 128 */
{
	if (n == 0)
		return (struct u128){ 0, v };
	if (n >= 64)
		return (struct u128){ v << (n - 64), 0 };
	return (struct u128){ v >> (64 - n), v << n };
}

static int
cmp128(struct u128 a, struct u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return (a.lo > b.lo) - (a.lo < b.lo);
}

static const uint64_t p10[20] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
	100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull
};

/* M * 10^k / 2^s (6 <= s <= 62, k <= 19): its integer part, and in *up
 * whether rounding half to even makes it one more. */
static uint64_t
scaled(uint64_t m, int k, int s, int *up)
{
	struct u128 p = mul64(m, p10[k]);
	uint64_t q = (p.lo >> s) | (p.hi << (64 - s)), r = p.lo & ((1ull << s) - 1);
	uint64_t half = 1ull << (s - 1);

	*up = r > half || (r == half && (q & 1));
	return q;
}

/* Does D * 10^-k read back as M * 2^-s? */
static int
readsback(uint64_t dig, int k, uint64_t m, int s)
{
	int even = (m & 1) == 0, c;

	/* above the midpoint with the next double: (2M+1) * 2^-(s+1) */
	c = cmp128(shl(dig, (unsigned)s + 1), mul64(2 * m + 1, p10[k]));
	if (c > 0 || (c == 0 && !even))
		return 0;
	/* below the midpoint with the one before; it is closer when M is a
	 * power of two */
	if (m == 1ull << 52)
		c = cmp128(shl(dig, (unsigned)s + 2), mul64(4 * m - 1, p10[k]));
	else
		c = cmp128(shl(dig, (unsigned)s + 1), mul64(2 * m - 1, p10[k]));
	return !(c < 0 || (c == 0 && !even));
}

/* n digits dig with decimal exponent x (of the first), as %g writes them
 * in fixed notation (-4 <= x < n), without trailing zeros. */
static void
fixed(double d, uint64_t dig, int n, int x, struct ev_buf *out)
{
	char b[48], *p = b;
	char digs[20];

	for (int i = n - 1; i >= 0; i--, dig /= 10)
		digs[i] = (char)('0' + dig % 10);
	int nd = n;
	while (nd > 1 && digs[nd - 1] == '0')
		nd--;
	if (d < 0)
		*p++ = '-';
	if (x < 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -x - 1; i++)
			*p++ = '0';
		memcpy(p, digs, (size_t)nd);
		p += nd;
	} else {
		for (int i = 0; i <= x; i++)
			*p++ = i < nd ? digs[i] : '0';
		if (nd > x + 1) {
			*p++ = '.';
			memcpy(p, digs + x + 1, (size_t)(nd - x - 1));
			p += nd - x - 1;
		}
	}
	ev_buf_add(out, b, (size_t)(p - b));
}

/* The fast path: 1 when done. */
static int
fastnum(double d, struct ev_buf *out)
{
	double a = fabs(d);
	int e2, x;

	if (!(a >= 1e-3 && a < 1e14))
		return 0;
	uint64_t m = (uint64_t)ldexp(frexp(a, &e2), 53);
	int s = 53 - e2;
	/* the decimal exponent: log10 is near enough, and checked below */
	x = (int)floor(log10(a));
	for (int n = 15; n <= 17; n++) {
		uint64_t dig = 0;
		int k = 0, tries, up = 0;
		/* x is right when the digits before rounding number n */
		for (tries = 0; tries < 3; tries++) {
			k = n - 1 - x;
			if (k < 1 || k > 19)
				return 0;
			dig = scaled(m, k, s, &up);
			if (dig >= p10[n])
				x++;
			else if (dig < p10[n - 1])
				x--;
			else
				break;
		}
		if (tries == 3)
			return 0;
		if ((dig += (uint64_t)up) == p10[n]) {
			/* rounded up to the next power of ten */
			dig = p10[n - 1];
			x++;
			k--;
		}
		if (!readsback(dig, k, m, s))
			continue;
		fixed(d, dig, n, x, out);
		return 1;
	}
	return 0;
}

void
ev_agg_num(double d, struct ev_buf *out)
{
	char b[40];

	if (isnan(d)) {
		ev_buf_adds(out, "null");
		return;
	}
	if (isinf(d)) {
		ev_buf_adds(out, d < 0 ? "-1.7976931348623157e+308" : "1.7976931348623157e+308");
		return;
	}
	/* the range first: converting a double outside int64_t's is undefined */
	if (fabs(d) < 1e17 && d == (double)(int64_t)d) {
		addint(out, (int64_t)d);
		return;
	}
	if (fastnum(d, out))
		return;
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(b, sizeof b, "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			break;
	}
	ev_buf_adds(out, b);
}

void
ev_agg_json(unsigned mask, const struct ev_aggstate *s, struct ev_buf *out)
{
	int n = 0;

	ev_buf_addc(out, '{');
	for (int i = 0; i < EV_NAGG; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (n++)
			ev_buf_addc(out, ',');
		ev_buf_addc(out, '"');
		ev_buf_adds(out, ev_agg_names[i]);
		ev_buf_add(out, "\":", 2);
		switch (i) {
		case EV_AGG_COUNT:
			addint(out, s->count);
			break;
		case EV_AGG_SUM:
			ev_agg_num(s->sum, out);
			break;
		case EV_AGG_MIN:
			s->hasmin ? ev_agg_num(s->min, out) : ev_buf_adds(out, "null");
			break;
		case EV_AGG_MAX:
			s->hasmax ? ev_agg_num(s->max, out) : ev_buf_adds(out, "null");
			break;
		case EV_AGG_AVG:
			s->avgn ? ev_agg_num(s->avgsum / (double)s->avgn, out) :
			    ev_buf_adds(out, "null");
			break;
		case EV_AGG_FIRST:
			s->first.len ? ev_buf_add(out, s->first.p, s->first.len) :
			    ev_buf_adds(out, "null");
			break;
		case EV_AGG_LAST:
			s->last.len ? ev_buf_add(out, s->last.p, s->last.len) :
			    ev_buf_adds(out, "null");
			break;
		case EV_AGG_DISTINCT:
			addint(out, s->hll ? (int64_t)ev_hll_count(s->hll) : 0);
			break;
		}
	}
	ev_buf_addc(out, '}');
}

/* aux: "evfold-agg1" (with its NUL), then struct fixed as it is in memory
 * (native byte order: the file is this machine's; 72 bytes, the last 4
 * unused, written as zeros), first and last (compact JSON) with their
 * lengths in fixed, and the registers when fixed.hll is 1. ev_agg_load
 * takes only what ev_agg_save can have written (counts not negative,
 * flags 0 or 1, first and last one JSON value each, registers that
 * ev_hll_add can have set), so a damaged aux is refused, never turned into
 * a state whose JSON is not JSON; it ignores the unused bytes, which older
 * versions left unset. */
#define MAGIC "evfold-agg1"

struct fixed {
	int64_t count, avgn;
	double sum, min, max, avgsum;
	int32_t hasmin, hasmax;
	uint32_t firstlen, lastlen, hll;
	uint32_t unused; /* the padding the struct had anyway, made explicit */
};
_Static_assert(sizeof(struct fixed) == 72, "the aux layout of evfold-agg1");

void
ev_agg_save(const struct ev_aggstate *s, struct ev_buf *aux)
{
	struct fixed f;

	memset(&f, 0, sizeof f);
	f.count = s->count;
	f.avgn = s->avgn;
	f.sum = s->sum;
	f.min = s->min;
	f.max = s->max;
	f.avgsum = s->avgsum;
	f.hasmin = s->hasmin != 0;
	f.hasmax = s->hasmax != 0;
	f.firstlen = (uint32_t)s->first.len;
	f.lastlen = (uint32_t)s->last.len;
	f.hll = s->hll != NULL;
	ev_buf_reset(aux);
	ev_buf_add(aux, MAGIC, sizeof MAGIC);
	ev_buf_add(aux, &f, sizeof f);
	ev_buf_add(aux, s->first.p, s->first.len);
	ev_buf_add(aux, s->last.p, s->last.len);
	if (s->hll)
		ev_buf_add(aux, s->hll, EV_HLL_BYTES);
}

static int
onevalue(const char *p, size_t n)
{
	return n == 0 || ev_json_valid(p, n, NULL) == 0;
}

int
ev_agg_load(struct ev_aggstate *s, const void *aux, size_t len)
{
	const char *p = aux;
	struct fixed f;

	ev_agg_free(s);
	if (len < sizeof MAGIC + sizeof f || memcmp(p, MAGIC, sizeof MAGIC) != 0)
		return -1;
	memcpy(&f, p + sizeof MAGIC, sizeof f);
	p += sizeof MAGIC + sizeof f;
	len -= sizeof MAGIC + sizeof f;
	if ((size_t)f.firstlen + f.lastlen + (f.hll ? EV_HLL_BYTES : 0) != len ||
	    f.count < 0 || f.avgn < 0 || (uint32_t)f.hasmin > 1 || (uint32_t)f.hasmax > 1 ||
	    f.hll > 1 || !onevalue(p, f.firstlen) || !onevalue(p + f.firstlen, f.lastlen))
		return -1;
	if (f.hll && !ev_hll_valid((const uint8_t *)p + f.firstlen + f.lastlen))
		return -1;
	s->count = f.count;
	s->avgn = f.avgn;
	s->sum = f.sum;
	s->min = f.min;
	s->max = f.max;
	s->avgsum = f.avgsum;
	s->hasmin = f.hasmin;
	s->hasmax = f.hasmax;
	if (f.firstlen)
		ev_buf_add(&s->first, p, f.firstlen);
	p += f.firstlen;
	if (f.lastlen)
		ev_buf_add(&s->last, p, f.lastlen);
	p += f.lastlen;
	if (f.hll) {
		s->hll = ev_malloc(EV_HLL_BYTES);
		memcpy(s->hll, p, EV_HLL_BYTES);
	}
	return 0;
}

int
ev_agg_needaux(unsigned mask, const struct ev_aggstate *s)
{
	return (mask & ((1u << EV_AGG_AVG) | (1u << EV_AGG_DISTINCT))) || !isfinite(s->sum) ||
	    (s->hasmin && !isfinite(s->min)) || (s->hasmax && !isfinite(s->max));
}

int
ev_agg_fromjson(unsigned mask, struct ev_aggstate *s, const char *json, size_t len)
{
	static const char *const paths[EV_NAGG] = {
		".count", ".sum", ".min", ".max", ".avg", ".first", ".last", ".distinct"
	};
	struct ev_jpath *jp[EV_NAGG];
	struct ev_jval v[EV_NAGG];
	int n = 0, r = 0;

	ev_agg_free(s);
	if (mask & ((1u << EV_AGG_AVG) | (1u << EV_AGG_DISTINCT)))
		return -1;
	for (int i = 0; i < EV_NAGG; i++)
		if (mask & (1u << i))
			jp[n++] = ev_jpath_compile(paths[i], NULL);
	if (ev_json_scan(json, len, jp, (size_t)n, v, NULL) < 0) {
		r = -1;
		goto done;
	}
	for (int i = 0, j = 0; i < EV_NAGG && r == 0; i++) {
		if (!(mask & (1u << i)))
			continue;
		const struct ev_jval *x = &v[j++];
		int num = x->type == EV_J_NUMBER;
		switch (i) {
		case EV_AGG_COUNT:
			num ? (void)(s->count = (int64_t)ev_jval_num(x)) : (void)(r = -1);
			break;
		case EV_AGG_SUM:
			num ? (void)(s->sum = ev_jval_num(x)) : (void)(r = -1);
			break;
		case EV_AGG_MIN:
			if ((s->hasmin = num))
				s->min = ev_jval_num(x);
			break;
		case EV_AGG_MAX:
			if ((s->hasmax = num))
				s->max = ev_jval_num(x);
			break;
		case EV_AGG_FIRST:
			if (!absent(x))
				compact(x, &s->first);
			break;
		case EV_AGG_LAST:
			if (!absent(x))
				compact(x, &s->last);
			break;
		}
	}
done:
	for (int i = 0; i < n; i++)
		ev_jpath_free(jp[i]);
	if (r < 0)
		ev_agg_free(s);
	return r;
}

void
ev_agg_free(struct ev_aggstate *s)
{
	ev_buf_free(&s->first);
	ev_buf_free(&s->last);
	free(s->hll);
	memset(s, 0, sizeof *s);
}
