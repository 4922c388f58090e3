/* SPDX-License-Identifier: ISC */
/* jsonscan.c — see jsonscan.h for what is accepted.
 *
 * One loop over the bytes, a goto state machine (value, key, after-value)
 * with an explicit stack of container kinds: no recursion, no allocation.
 * String bodies are skipped many bytes at a time: a block is examined for
 * '"', '\\', a byte below 0x20 or a byte from 0x80 (the "stop" bytes),
 * and only from the first stop byte on is the body looked at bytewise.
 * Three ways, which give the same answers: 32 bytes at a time with AVX2
 * (where the CPU has it, chosen at run time), 16 with SSE2 (all of
 * x86-64), and portable 8-byte words (SWAR). EVKIT_JSONSCAN=scalar|sse2|avx2
 * or ev_json_scan_impl() chooses another, -DEV_JSONSCAN_SCALAR builds the
 * portable one alone; the tests run every case through each. No way reads
 * past the end of the text: a block is only loaded whole.
 *
 * Paths are followed in the same pass. Path i is "live" in the container
 * at depth lvl[i] when the keys and indexes leading to that container match
 * its first lvl[i]-1 steps. A member of a live container that matches the
 * next step becomes the subject of step lvl[i]: the result when that was
 * the last step, else a container to descend into. A later duplicate key
 * resets the result, so the last occurrence wins, as in jq.
 *
 * One file, though about a thousand lines: the state machine, its string
 * skipping and its number and UTF-8 checks are one hot loop that the
 * compiler must see whole to keep its state in registers.
 */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "json/jsonscan.h"
#include "json/utf8.h"

#if defined(__SSE2__) && !defined(EV_JSONSCAN_SCALAR)
#define HAVE_SSE2 1
#include <emmintrin.h>
#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_AVX2 1
#include <immintrin.h>
#endif
#endif

enum { IMPL_SCALAR, IMPL_SSE2, IMPL_AVX2 };
static const char *const implnames[] = { "scalar", "sse2", "avx2" };
static int impl; /* set when the library is loaded (impl_init) */

struct step {
	const char *key; /* decoded; NULL for an index */
	size_t len;      /* key length, or the index */
};

struct ev_jpath {
	size_t nsteps;
	char *keys;
	struct step steps[];
};

/* Bytes that stop the string skipper. */
static const unsigned char strstop[256] = {
	[0x00] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
	[0x80] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* "unexpected 'c'" for every printable ASCII character, as static text. */
#define U(c) { 'u', 'n', 'e', 'x', 'p', 'e', 'c', 't', 'e', 'd', ' ', '\'', (c), '\'', 0 }
#define U8(c) U(c), U(c + 1), U(c + 2), U(c + 3), U(c + 4), U(c + 5), U(c + 6), U(c + 7)
static const char unexp[96][15] = {
	U8(0x20), U8(0x28), U8(0x30), U8(0x38), U8(0x40), U8(0x48),
	U8(0x50), U8(0x58), U8(0x60), U8(0x68), U8(0x70), U8(0x78),
};
#undef U8
#undef U

static const char *
unexpected(unsigned char c)
{
	if (c == 0)
		return "unexpected NUL byte";
	if (c < 0x20 || c == 0x7f)
		return "unexpected control character";
	if (c >= 0x80)
		return "unexpected non-ASCII character";
	return unexp[c - 0x20];
}

static int
isws(unsigned char c)
{
	/* one comparison for the bytes that start a token */
	return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

static int
isdigit_(unsigned char c)
{
	return (unsigned)(c - '0') < 10;
}

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80), or 0. */
static size_t
utf8len(const unsigned char *s, const unsigned char *e)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no encoded surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else
		return 0;
	if ((size_t)(e - s) < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static int
impl_ok(int i)
{
	switch (i) {
	case IMPL_SCALAR:
		return 1;
#ifdef HAVE_SSE2
	case IMPL_SSE2:
		return 1;
#endif
#ifdef HAVE_AVX2
	case IMPL_AVX2:
		return __builtin_cpu_supports("avx2");
#endif
	default:
		return 0;
	}
}

static int
impl_best(void)
{
	const char *env = getenv("EVKIT_JSONSCAN");
	int i;

	for (i = IMPL_AVX2; i > IMPL_SCALAR; i--)
		if (env && strcmp(env, implnames[i]) == 0)
			break;
	if (i > IMPL_SCALAR && impl_ok(i))
		return i; /* as asked, when this machine can */
	if (env && strcmp(env, "scalar") == 0)
		return IMPL_SCALAR;
	for (i = IMPL_AVX2; !impl_ok(i); i--)
		;
	return i;
}

__attribute__((constructor)) static void
impl_init(void)
{
	impl = impl_best();
}

int
ev_json_scan_impl(const char *name)
{
	if (!name) {
		impl = impl_best();
		return 0;
	}
	for (int i = IMPL_SCALAR; i <= IMPL_AVX2; i++)
		if (strcmp(name, implnames[i]) == 0 && impl_ok(i)) {
			impl = i;
			return 0;
		}
	return -1;
}

const char *
ev_json_scan_implname(void)
{
	return implnames[impl];
}

#ifdef HAVE_AVX2
/* The first stop byte from s, 32 bytes at a time; or where fewer than 32
 * bytes are left, all of those before it checked. */
__attribute__((target("avx2"))) static const unsigned char *
skip32(const unsigned char *s, const unsigned char *e)
{
	const __m256i quote = _mm256_set1_epi8('"'), bslash = _mm256_set1_epi8('\\'),
		      space = _mm256_set1_epi8(0x20);
	while (e - s >= 32) {
		__m256i w = _mm256_loadu_si256((const __m256i *)(const void *)s);
		/* a signed compare: below 0x20, and from 0x80 */
		unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
		    _mm256_or_si256(_mm256_cmpeq_epi8(w, quote), _mm256_cmpeq_epi8(w, bslash)),
		    _mm256_cmpgt_epi8(space, w)));
		if (m)
			return s + __builtin_ctz(m);
		s += 32;
	}
	return s;
}
#endif

/* Skip the body of a string; s is just after its opening quote. Returns
 * the position after the closing quote, or NULL with *msg set and *s0 at
 * the problem. One function on purpose, though longer than a screen: it
 * is the scanner's inner loop over string bytes (see ev_json_scan). */
static __attribute__((noinline)) const unsigned char *
skipstr_slow(const unsigned char *s, const unsigned char *e, int *escaped, const char **msg,
    const unsigned char **bad, int way)
{
	(void)way; /* unused in a portable build */
	for (;;) {
#ifdef HAVE_AVX2
		if (way == IMPL_AVX2 && e - s >= 32) {
			s = skip32(s, e);
			if (s < e && strstop[*s])
				goto stop;
		}
#endif
#ifdef HAVE_SSE2
		/* sixteen bytes at a time: '"', '\\', and (a signed compare) every
		 * byte below 0x20 or from 0x80 */
		const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
			      space = _mm_set1_epi8(0x20);
		while (way != IMPL_SCALAR && e - s >= 16) {
			__m128i w = _mm_loadu_si128((const __m128i *)(const void *)s);
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			    _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, bslash)),
			    _mm_cmplt_epi8(w, space)));
			if (m) {
				s += __builtin_ctz(m);
				goto stop;
			}
			s += 16;
		}
#endif
		while (e - s >= 8) {
			uint64_t w, q, b, t;
			memcpy(&w, s, 8);
			q = w ^ (ONES * '"');
			b = w ^ (ONES * '\\');
			t = ((q - ONES) & ~q) | ((b - ONES) & ~b) | (w - ONES * 0x20) | w;
			if (t & HIGHS) {
				/* the word holds a stop byte: find it (a borrow only
				 * flags bytes above a true stop, so on a little-endian
				 * machine the lowest flag is the first stop) */
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				s += __builtin_ctzll(t & HIGHS) / 8;
#else
				while (!strstop[*s])
					s++;
#endif
				goto stop;
			}
			s += 8;
		}
		while (s < e && !strstop[*s])
			s++;
		if (s == e) {
			*msg = "unterminated string";
			*bad = NULL;
			return NULL;
		}
stop:
		if (*s == '"')
			return s + 1;
		if (*s == '\\') {
			*escaped = 1;
			if (e - s < 2)
				goto eof;
			switch (s[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				s += 2;
				continue;
			case 'u':
				break;
			default:
				*msg = "invalid escape";
				*bad = s;
				return NULL;
			}
			long u;
			if (e - s < 6) {
				for (const unsigned char *h = s + 2; h < e; h++)
					if (ev_hexval(*h) < 0)
						goto badu;
				goto eof;
			}
			if ((u = ev_hex4(s + 2)) < 0) {
badu:
				*msg = "invalid \\u escape";
				*bad = s;
				return NULL;
			}
			if (u >= 0xd800 && u <= 0xdbff) {
				long l;
				if (e - s < 12 || s[6] != '\\' || s[7] != 'u' || (l = ev_hex4(s + 8)) < 0xdc00 ||
				    l > 0xdfff) {
					*msg = "lone high surrogate";
					*bad = s;
					return NULL;
				}
				s += 12;
			} else
				s += 6;
			continue;
		}
		if (*s < 0x20) {
			*msg = *s ? "control character in string" : "NUL byte in string";
			*bad = s;
			return NULL;
		}
		size_t n = utf8len(s, e);
		if (!n) {
			*msg = "invalid UTF-8";
			*bad = s;
			return NULL;
		}
		s += n;
	}
eof:
	*msg = "unterminated string";
	*bad = NULL;
	return NULL;
}

/* The same, with the common case inline: a string with no escape and no
 * non-ASCII byte that ends at least sixteen bytes before the line does.
 * way: IMPL_SCALAR, or a SIMD way. */
static inline const unsigned char *
skipstr(const unsigned char *s, const unsigned char *e, int *escaped, const char **msg,
    const unsigned char **bad, int way)
{
	(void)way;
#ifdef HAVE_SSE2
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
		      space = _mm_set1_epi8(0x20);
	while (way != IMPL_SCALAR && e - s >= 16) {
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)s);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, bslash)),
		    _mm_cmplt_epi8(w, space)));
		if (m) {
			s += __builtin_ctz(m);
			if (*s == '"')
				return s + 1;
			break;
		}
		s += 16;
	}
#endif
	return skipstr_slow(s, e, escaped, msg, bad, way);
}

/* Does the raw string body [s, e) (escapes allowed) decode to k? */
static int
bodyeq(const unsigned char *s, const unsigned char *e, const unsigned char *k, size_t n);

/* Per-path state of one scan. */
struct follow {
	struct ev_jpath *const *paths;
	struct ev_jval *vals;
	size_t np;
	int lvl[EV_JPATH_MAX];    /* live in the container at this depth; -1: none */
	int tgt[EV_JPATH_MAX];    /* the result is the container at this depth */
	size_t cnt[EV_JPATH_MAX]; /* elements seen in the live array */
	const struct step *cur[EV_JPATH_MAX]; /* the step the live container takes */
};

static uint64_t
livemask(const struct follow *f, int depth)
{
	uint64_t m = 0;
	for (size_t i = 0; i < f->np; i++)
		if (f->lvl[i] == depth)
			m |= (uint64_t)1 << i;
	return m;
}

/* The value of type t starting at v is the subject of step `depth` of the
 * paths in want. */
static void
subject(struct follow *f, uint64_t want, int depth, enum ev_jtype t, const unsigned char *v)
{
	for (size_t i = 0; want; i++, want >>= 1) {
		if (!(want & 1))
			continue;
		const struct ev_jpath *p = f->paths[i];
		struct ev_jval *val = &f->vals[i];
		if ((size_t)depth == p->nsteps) {
			val->type = t;
			val->p = (const char *)v;
			val->len = 0;
			val->escaped = 0;
			if (t == EV_J_OBJECT || t == EV_J_ARRAY)
				f->tgt[i] = depth + 1;
			continue;
		}
		int iskey = p->steps[depth].key != NULL;
		if ((t == EV_J_OBJECT && iskey) || (t == EV_J_ARRAY && !iskey)) {
			f->lvl[i] = depth + 1;
			f->cur[i] = &p->steps[depth];
			f->cnt[i] = 0;
		} else
			val->jqerr = t != EV_J_NULL;
	}
}

/* A scalar subject has ended at s. */
static void
scalarend(struct follow *f, uint64_t want, int depth, const unsigned char *s, int escaped)
{
	for (size_t i = 0; want; i++, want >>= 1)
		if ((want & 1) && (size_t)depth == f->paths[i]->nsteps) {
			f->vals[i].len = (size_t)(s - (const unsigned char *)f->vals[i].p);
			f->vals[i].escaped = escaped;
		}
}

/* The container at depth closes at s (its closing bracket). */
static inline __attribute__((always_inline)) void
closed(struct follow *f, int depth, const unsigned char *s)
{
	for (size_t i = 0; i < f->np; i++) {
		if (f->lvl[i] == depth) {
			/* back in the parent, which holds the subject of step depth - 2;
			 * in an array, count on after that element */
			f->lvl[i] = depth - 1;
			if (depth >= 2) {
				f->cur[i] = &f->paths[i]->steps[depth - 2];
				if (!f->cur[i]->key)
					f->cnt[i] = f->cur[i]->len + 1;
			}
		}
		if (f->tgt[i] == depth) {
			f->vals[i].len = (size_t)(s + 1 - (const unsigned char *)f->vals[i].p);
			f->tgt[i] = 0;
		}
	}
}

/* Members of the live objects whose key [k, ke) matches their step. */
static inline __attribute__((always_inline)) uint64_t
keymatch(struct follow *f, uint64_t live, const unsigned char *k,
    const unsigned char *ke, int escaped)
{
	uint64_t want = 0;
	size_t n = (size_t)(ke - k);
	for (size_t i = 0; live; i++, live >>= 1) {
		if (!(live & 1))
			continue;
		const struct step *st = f->cur[i];
		if (escaped ? bodyeq(k, ke, (const unsigned char *)st->key, st->len) :
		    n == st->len && (n == 0 || (k[0] == (unsigned char)st->key[0] &&
		    memcmp(k, st->key, n) == 0))) {
			want |= (uint64_t)1 << i;
			f->vals[i] = (struct ev_jval){ EV_J_MISSING, NULL, 0, 0, 0 };
		}
	}
	return want;
}

/* Elements of the live arrays that are their step's index. */
static uint64_t
indexmatch(struct follow *f, uint64_t live)
{
	uint64_t want = 0;
	for (size_t i = 0; live; i++, live >>= 1)
		if ((live & 1) && f->cnt[i]++ == f->cur[i]->len)
			want |= (uint64_t)1 << i;
	return want;
}

/* Longer than a screen on purpose: this is the hot loop every event goes
 * through; its states jump to one another (goto), and cutting it into
 * functions would cost the calls and the state they would pass. It is
 * built twice (ev_json_scan below): with tk, it also notes whether the
 * outermost object may have a member named traceparent, so that --otlp
 * costs an event without one a length test per key, not a pass of its own;
 * without tk, that test is not in the loop at all. */
static inline __attribute__((always_inline)) int
scan(const char *text, size_t n, struct ev_jpath *const *paths, size_t npaths,
    struct ev_jval *vals, struct ev_jerr *err, const int tk)
{
	const unsigned char *base = (const unsigned char *)text, *s = base, *e = base + n;
	const unsigned char *v = NULL, *bad = NULL;
	unsigned char kind[EV_JSON_MAXDEPTH + 1]; /* 'o' or 'a' per open container */
	int depth = 0, weight = 0, escaped = 0, way = impl;
	uint64_t live = 0, want = 0;
	struct follow f;
	const char *msg;
	enum ev_jtype t;

	if (npaths > EV_JPATH_MAX)
		npaths = EV_JPATH_MAX;
	f.paths = paths;
	f.vals = vals;
	f.np = npaths;
	for (size_t i = 0; i < npaths; i++) {
		vals[i] = (struct ev_jval){ EV_J_MISSING, NULL, 0, 0, 0 };
		f.lvl[i] = -1;
		f.tgt[i] = 0;
	}
	want = npaths ? ((uint64_t)2 << (npaths - 1)) - 1 : 0;

	if (tk && err)
		err->tpmaybe = 0;
	if (n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf) {
		msg = "byte order mark not allowed";
		goto fail;
	}
	while (s < e && isws(*s))
		s++;
	if (s == e) {
		msg = "empty input";
		goto fail;
	}
	goto value1;

value:
	while (s < e && isws(*s))
		s++;
value1:
	if (s == e)
		goto eof;
	v = s;
	switch (*s) {
	case '{':
	case '[':
		if (weight >= EV_JSON_MAXDEPTH) {
			msg = "nesting too deep";
			goto fail;
		}
		weight += *s == '{' ? 2 : 1;
		t = *s == '{' ? EV_J_OBJECT : EV_J_ARRAY;
		if (want)
			subject(&f, want, depth, t, s);
		kind[++depth] = *s++ == '{' ? 'o' : 'a';
		if (npaths)
			live = livemask(&f, depth);
		while (s < e && isws(*s))
			s++;
		if (s == e)
			goto eof;
		if (*s == (t == EV_J_OBJECT ? '}' : ']'))
			goto close;
		if (t == EV_J_OBJECT)
			goto key;
		want = live ? indexmatch(&f, live) : 0;
		goto value1;
	case '"':
		escaped = 0;
		if (!(s = skipstr(s + 1, e, &escaped, &msg, &bad, way))) {
			s = bad ? bad : v;
			goto fail;
		}
		t = EV_J_STRING;
		break;
	case 't':
		if (e - s < 4 || memcmp(s, "true", 4) != 0)
			goto badlit;
		s += 4;
		t = EV_J_TRUE;
		break;
	case 'f':
		if (e - s < 5 || memcmp(s, "false", 5) != 0)
			goto badlit;
		s += 5;
		t = EV_J_FALSE;
		break;
	case 'n':
		if (e - s < 4 || memcmp(s, "null", 4) != 0)
			goto badlit;
		s += 4;
		t = EV_J_NULL;
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (*s == '-' && ++s == e)
			goto eof;
		if (*s == '0') {
			s++;
		} else if (isdigit_(*s)) {
			while (++s < e && isdigit_(*s))
				;
		} else {
			msg = "invalid number";
			goto fail;
		}
		if (s < e && *s == '.') {
			if (++s == e)
				goto eof;
			if (!isdigit_(*s)) {
				msg = "digit expected after '.'";
				goto fail;
			}
			while (++s < e && isdigit_(*s))
				;
		}
		if (s < e && (*s | 0x20) == 'e') {
			if (++s < e && (*s == '+' || *s == '-'))
				s++;
			if (s == e)
				goto eof;
			if (!isdigit_(*s)) {
				msg = "digit expected in exponent";
				goto fail;
			}
			while (++s < e && isdigit_(*s))
				;
		}
		if (s < e && isdigit_(*s)) {
			msg = "leading zero in number";
			goto fail;
		}
		t = EV_J_NUMBER;
		break;
	default:
		goto unexp;
	}
	if (want) {
		subject(&f, want, depth, t, v);
		scalarend(&f, want, depth, s, escaped);
	}

after:
	while (s < e && isws(*s))
		s++;
	if (depth == 0) {
		if (s != e)
			goto unexp;
		if (err && !tk)
			err->tpmaybe = 1;
		return 0;
	}
	if (s == e)
		goto eof;
	if (*s == ',') {
		s++;
		if (kind[depth] == 'o') {
			while (s < e && isws(*s))
				s++;
			goto key;
		}
		want = live ? indexmatch(&f, live) : 0;
		goto value;
	}
	if (*s != (kind[depth] == 'o' ? '}' : ']'))
		goto unexp;
close:
	weight -= kind[depth] == 'o' ? 2 : 1;
	if (npaths) {
		closed(&f, depth, s);
		live = livemask(&f, depth - 1);
	}
	depth--;
	s++;
	goto after;

key:
	if (s == e)
		goto eof;
	if (*s != '"')
		goto unexp;
	v = s;
	escaped = 0;
	if (!(s = skipstr(s + 1, e, &escaped, &msg, &bad, way))) {
		s = bad ? bad : v;
		goto fail;
	}
	want = live ? keymatch(&f, live, v + 1, s - 1, escaped) : 0;
	/* "traceparent" with its quotes is 13 bytes; spelt with an escape, 18
	 * or more (a \uXXXX for a letter: five bytes more) */
	if (tk && s - v >= 13 && depth == 1 && err &&
	    (s - v == 13 ? memcmp(v + 1, "traceparent", 11) == 0 : escaped && s - v >= 18))
		err->tpmaybe = 1; /* in memory: no register taken from the loop */
	while (s < e && isws(*s))
		s++;
	if (s == e)
		goto eof;
	if (*s != ':')
		goto unexp;
	s++;
	goto value;

badlit:
	msg = "invalid literal";
	goto fail;
unexp:
	msg = unexpected(*s);
	goto fail;
eof:
	msg = "unexpected end of input";
fail:
	if (err) {
		err->off = (size_t)(s - base);
		err->msg = msg;
	}
	return -1;
}

static _Atomic int tracekeys;

void
ev_json_tracekeys(int on)
{
	atomic_store_explicit(&tracekeys, on, memory_order_relaxed);
}

int
ev_json_scan(const char *text, size_t n, struct ev_jpath *const *paths, size_t npaths,
    struct ev_jval *vals, struct ev_jerr *err)
{
	if (atomic_load_explicit(&tracekeys, memory_order_relaxed))
		return scan(text, n, paths, npaths, vals, err, 1);
	return scan(text, n, paths, npaths, vals, err, 0);
}

int
ev_json_valid(const char *p, size_t n, struct ev_jerr *err)
{
	return ev_json_scan(p, n, NULL, 0, NULL, err);
}

/* Decode the next unit of a string body at *ps into u (1-4 bytes). */
static size_t
decode1(const unsigned char **ps, const unsigned char *e, unsigned char u[4])
{
	const unsigned char *s = *ps;
	long c;

	if (*s != '\\' || e - s < 2) {
		u[0] = *s;
		*ps = s + 1;
		return 1;
	}
	if (s[1] != 'u') {
		if ((c = ev_json_esc1(s[1])) < 0)
			c = s[1];
	} else if (e - s < 6 || (c = ev_hex4(s + 2)) < 0) {
		c = 0xfffd;
	} else {
		s += 4;
		if (c >= 0xd800 && c <= 0xdbff) {
			long l;
			if (e - s >= 8 && s[2] == '\\' && s[3] == 'u' && (l = ev_hex4(s + 4)) >= 0xdc00 &&
			    l <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10 | (l - 0xdc00));
				s += 6;
			} else
				c = 0xfffd;
		} else if (c >= 0xdc00 && c <= 0xdfff)
			c = 0xfffd;
	}
	*ps = s + 2;
	return ev_utf8_put(u, (uint32_t)c);
}

static int
bodyeq(const unsigned char *s, const unsigned char *e, const unsigned char *k, size_t n)
{
	unsigned char u[4];

	while (s < e) {
		const unsigned char *r = s;
		while (r < e && *r != '\\')
			r++;
		size_t m = (size_t)(r - s);
		if (m > n || memcmp(s, k, m) != 0)
			return 0;
		k += m, n -= m, s = r;
		if (s == e)
			break;
		m = decode1(&s, e, u);
		if (m > n || memcmp(u, k, m) != 0)
			return 0;
		k += m, n -= m;
	}
	return n == 0;
}

void
ev_jval_str(const struct ev_jval *v, struct ev_buf *out)
{
	if (v->type != EV_J_STRING || v->len < 2)
		return;
	const unsigned char *s = (const unsigned char *)v->p + 1, *e = s + v->len - 2;
	if (!v->escaped) {
		ev_buf_add(out, s, v->len - 2);
		return;
	}
	unsigned char u[4];
	while (s < e) {
		const unsigned char *r = s;
		while (r < e && *r != '\\')
			r++;
		ev_buf_add(out, s, (size_t)(r - s));
		if ((s = r) < e)
			ev_buf_add(out, u, decode1(&s, e, u));
	}
}

const char *
ev_jval_text(const struct ev_jval *v, struct ev_buf *tmp, size_t *n)
{
	if (!v->escaped) {
		*n = v->len - 2;
		return v->p + 1;
	}
	ev_buf_reset(tmp);
	ev_jval_str(v, tmp);
	*n = tmp->len;
	return tmp->p ? tmp->p : "";
}

int
ev_jval_streq(const struct ev_jval *v, const char *str, size_t n)
{
	if (v->type != EV_J_STRING || v->len < 2)
		return 0;
	const unsigned char *s = (const unsigned char *)v->p + 1;
	if (!v->escaped)
		return v->len - 2 == n && memcmp(s, str, n) == 0;
	return bodyeq(s, s + v->len - 2, (const unsigned char *)str, n);
}

/* The exact powers of ten a double holds. */
static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* The common numbers without strtod: when the digits, read as an integer m,
 * are at most 2^53 and the decimal exponent k is within +-22, both m and
 * 10^|k| are exact doubles and one IEEE multiplication or division rounds
 * m*10^k correctly, as strtod would. 0 for the other numbers. The text is a
 * valid JSON number. */
static int
fastnum(const char *p, size_t n, double *d)
{
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
	return 0; /* extended precision would round twice */
#endif
	const char *e = p + n;
	uint64_t m = 0;
	long k = 0, x = 0;
	int neg = *p == '-', xneg = 0;

	p += neg;
	for (; p < e && isdigit_((unsigned char)*p); p++) {
		if (m >= 100000000000000000ull)
			return 0;
		m = m * 10 + (uint64_t)(*p - '0');
	}
	if (p < e && *p == '.')
		for (p++; p < e && isdigit_((unsigned char)*p); p++, k--) {
			if (m >= 100000000000000000ull)
				return 0;
			m = m * 10 + (uint64_t)(*p - '0');
		}
	if (p < e) { /* the exponent */
		p++;
		if (*p == '+' || *p == '-')
			xneg = *p++ == '-';
		for (; p < e; p++)
			if ((x = x * 10 + (*p - '0')) > 10000)
				return 0;
		k += xneg ? -x : x;
	}
	if (m > (uint64_t)1 << 53 || k < -22 || k > 22)
		return 0;
	*d = k < 0 ? (double)m / pow10[-k] : (double)m * pow10[k];
	if (neg)
		*d = -*d;
	return 1;
}

double
ev_jval_num(const struct ev_jval *v)
{
	char buf[128], *p = buf;
	double d;

	if (v->type != EV_J_NUMBER || v->len == 0)
		return NAN;
	if (fastnum(v->p, v->len, &d))
		return d;
	if (v->len >= sizeof buf)
		p = ev_malloc(v->len + 1); /* only for numbers of 128 digits and more */
	memcpy(p, v->p, v->len);
	p[v->len] = '\0';
	d = strtod(p, NULL);
	if (p != buf)
		free(p);
	return d;
}

/* Parse a JSON string literal at *pp (at its quote) into out. */
static int
pathstr(const char **pp, struct ev_buf *out)
{
	const char *s = *pp + 1;
	while (*s && *s != '"')
		s += *s == '\\' && s[1] ? 2 : 1;
	if (!*s)
		return -1;
	size_t n = (size_t)(s + 1 - *pp);
	struct ev_jval v = { EV_J_STRING, *pp, n, 0, 0 };
	if (ev_json_scan(*pp, n, NULL, 0, NULL, NULL) < 0)
		return -1;
	v.escaped = memchr(*pp, '\\', n) != NULL;
	ev_jval_str(&v, out);
	*pp = s + 1;
	return 0;
}

/* A key step whose text pathstr or a bare name gives, into keys. */
static void
keystep(struct step *st, size_t *keyoff, const struct ev_buf *keys, size_t from)
{
	*keyoff = from;
	st->key = "";
	st->len = keys->len - from;
}

/* The step in brackets at *sp ("[" just seen): ["key"] or [N]. 0, or -1. */
static int
bracketstep(const char **sp, struct step *st, size_t *keyoff, struct ev_buf *keys)
{
	const char *s = *sp;
	int r = -1;

	do
		s++;
	while (*s == ' ');
	if (*s == '"') {
		size_t from = keys->len;
		if (pathstr(&s, keys) < 0)
			goto out;
		keystep(st, keyoff, keys, from);
	} else if (*s >= '0' && *s <= '9') {
		char *end;
		unsigned long long x = strtoull(s, &end, 10);
		if (x > SIZE_MAX / 2)
			goto out;
		st->key = NULL;
		st->len = (size_t)x;
		s = end;
	} else
		goto out;
	while (*s == ' ')
		s++;
	r = *s++ == ']' ? 0 : -1;
out:
	*sp = s; /* where it stopped, for the message */
	return r;
}

/* One step at *sp, after a dot (dot) or not. 0, or -1. */
static int
pathstep(const char **sp, int dot, struct step *st, size_t *keyoff, struct ev_buf *keys)
{
	const char *s = *sp;
	size_t from = keys->len;

	if (*s == '[')
		return bracketstep(sp, st, keyoff, keys);
	if (dot && *s == '"') {
		if (pathstr(sp, keys) < 0)
			return -1;
		keystep(st, keyoff, keys, from);
		return 0;
	}
	if (!dot || !(*s == '_' || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')))
		return -1;
	while (*s == '_' || isdigit_((unsigned char)*s) || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z'))
		s++;
	ev_buf_add(keys, *sp, (size_t)(s - *sp));
	keystep(st, keyoff, keys, from);
	*sp = s;
	return 0;
}

struct ev_jpath *
ev_jpath_compile(const char *path, struct ev_buf *err)
{
	struct ev_buf keys = { 0 };
	struct step st[256];
	size_t nst = 0, keyoff[256];
	const char *s = path;
	int dot = 1;

	if (err)
		ev_buf_reset(err);
	if (*s++ != '.')
		goto bad;
	while (*s) {
		if (nst == sizeof st / sizeof st[0] || pathstep(&s, dot, &st[nst], &keyoff[nst], &keys) < 0)
			goto bad;
		nst++;
		dot = 0;
		if (*s == '.') {
			s++;
			dot = 1;
			if (!*s)
				goto bad;
		}
	}

	ev_buf_grow(&keys, 1); /* keys.p is not NULL: a key step is told by key != NULL */
	struct ev_jpath *p = ev_malloc(sizeof *p + nst * sizeof p->steps[0]);
	p->nsteps = nst;
	p->keys = keys.p; /* may be NULL: no keys */
	for (size_t i = 0; i < nst; i++) {
		p->steps[i] = st[i];
		if (st[i].key)
			p->steps[i].key = keys.p + keyoff[i];
	}
	return p;
bad:
	if (err)
		ev_buf_printf(err, "%s: not a simple path (expected .key, .\"key\", .[\"key\"] or "
		    ".[N], at offset %zu)", path, (size_t)(s - path));
	ev_buf_free(&keys);
	return NULL;
}

void
ev_jpath_free(struct ev_jpath *p)
{
	if (!p)
		return;
	free(p->keys);
	free(p);
}
