/* SPDX-License-Identifier: ISC */
/* The scanner's fast paths: ev_jval_num against strtod, bit for bit (the
 * common numbers skip strtod and must round exactly as it does), and
 * strings skipped 32, 16 and 8 bytes at a time: every way the scanner has
 * (AVX2, SSE2, portable) gives the same answers on random and adversarial
 * lines, and none reads past the end of a line (lines end at a page
 * followed by an inaccessible one). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/buf.h"
#include "json/jsonscan.h"

static unsigned long long rng = 42;

/* The ways the scanner skips strings (jsonscan.h: ev_json_scan_impl). */
static const char *const impls[] = { "scalar", "sse2", "avx2" };

static unsigned
rnd(unsigned n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(rng >> 33) % n;
}

static void
check(const char *num)
{
	struct ev_jval v = { EV_J_NUMBER, num, strlen(num), 0, 0 };
	double got = ev_jval_num(&v), want = strtod(num, NULL);
	cr_assert(memcmp(&got, &want, sizeof got) == 0, "%s: %.17g, strtod %.17g", num, got, want);
}

Test(jsonfast, table)
{
	static const char *nums[] = {
		"0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.3", "81.51", "500", "500.00",
		"9007199254740992", "9007199254740993", "-9007199254740993", "1e22", "1e23",
		"1e-22", "1e-23", "123456789012345678", "12345678901234567890", "1.7976931348623157e308",
		"1e400", "-1e400", "1e-400", "4.9e-324", "0e0", "0E+5", "0e99999999999", "1.5e-7",
		"2.2250738585072014e-308", "0.000000000000000000001", "100000000000000000000000",
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		check(nums[i]);
}

Test(jsonfast, random)
{
	char buf[64];
	for (int i = 0; i < 200000; i++) {
		int n = 0, idig = 1 + (int)rnd(18), fdig = (int)rnd(4) ? (int)rnd(18) : 0;
		if (rnd(2))
			buf[n++] = '-';
		buf[n++] = idig > 1 ? (char)('1' + rnd(9)) : (char)('0' + rnd(10));
		for (int j = 1; j < idig; j++)
			buf[n++] = (char)('0' + rnd(10));
		if (fdig) {
			buf[n++] = '.';
			for (int j = 0; j < fdig; j++)
				buf[n++] = (char)('0' + rnd(10));
		}
		if (!rnd(3))
			n += snprintf(buf + n, sizeof buf - (size_t)n, "e%s%u",
			    rnd(2) ? "-" : rnd(2) ? "+" : "", rnd(40));
		buf[n] = '\0';
		check(buf);
	}
}

/* A string holding one special byte sequence at every position, in lines
 * of every length around the scanner's 8- and 16-byte strides. */
Test(jsonfast, string_strides)
{
	static const struct {
		const char *seq;
		int valid;
	} sp[] = {
		{ "\\n", 1 }, { "\\\"", 1 }, { "\\u00e9", 1 }, { "\xc3\xa9", 1 }, { "\xf0\x9f\x98\x80", 1 },
		{ "\x01", 0 }, { "\xff", 0 }, { "\xc3", 0 }, { "\\x", 0 }, { "\"", 0 }, { "\x7f", 1 },
	};
	struct ev_buf err = { 0 }, line = { 0 };
	struct ev_jpath *k = ev_jpath_compile(".k", &err);
	cr_assert(k);
	for (size_t w = 0; w < sizeof impls / sizeof impls[0]; w++)
	for (size_t i = 0; ev_json_scan_impl(impls[w]) == 0 && i < sizeof sp / sizeof sp[0]; i++)
		for (int len = 0; len < 40; len++)
			for (int pos = 0; pos <= len; pos++) {
				ev_buf_reset(&line);
				ev_buf_adds(&line, "{\"k\":\"");
				for (int j = 0; j < len; j++) {
					if (j == pos)
						ev_buf_adds(&line, sp[i].seq);
					ev_buf_addc(&line, 'a');
				}
				if (pos == len)
					ev_buf_adds(&line, sp[i].seq);
				ev_buf_adds(&line, "\"}");
				struct ev_jval v;
				struct ev_jerr jerr;
				struct ev_jpath *paths[] = { k };
				int r = ev_json_scan(line.p, line.len, paths, 1, &v, &jerr);
				cr_assert_eq(r == 0, sp[i].valid, "%s: %s: %d", impls[w], line.p, r);
				if (r == 0)
					cr_assert_eq(v.len, line.len - 6, "%s: %s: %zu", impls[w], line.p,
					    v.len);
			}
	ev_json_scan_impl(NULL);
	ev_jpath_free(k);
	ev_buf_free(&err);
	ev_buf_free(&line);
}

/* ---- every way gives the same answers, and reads nothing past the line ---- */

static const char *const dnames[] = {
	".", ".k", ".a", ".a[1]", ".a[1].b", ".[0]", ".\"\"", ".k.x", ".s", ".b",
};
#define DNP (sizeof dnames / sizeof dnames[0])

struct outcome {
	int r;
	size_t off;
	const char *msg;
	struct ev_jval v[DNP];
};

static struct ev_jpath *dpaths[DNP];
static unsigned char *guard; /* a page, then an inaccessible one */
static size_t pagesz;
static size_t nlines, nways;

static void
scan_with(const char *way, const char *p, size_t n, struct outcome *o)
{
	struct ev_jerr e = { 12345, NULL, 0 };

	cr_assert_eq(ev_json_scan_impl(way), 0);
	memset(o, 0, sizeof *o);
	o->r = ev_json_scan(p, n, dpaths, DNP, o->v, &e);
	if (o->r < 0) {
		o->off = e.off;
		o->msg = e.msg;
	}
	/* the plain validation agrees with the scan */
	cr_assert_eq(ev_json_valid(p, n, NULL), o->r, "%s: valid and scan differ", way);
}

static void
hexdump(const unsigned char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 5 < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\' ?
		    "%c" : "\\x%02x", s[i]);
	out[k] = '\0';
}

/* Scan a line of n bytes placed at the very end of the accessible page,
 * with every way, and compare each answer with the portable way's. */
static void
agree(const unsigned char *line, size_t n)
{
	struct outcome ref, got;
	char dump[2048];

	if (n > pagesz)
		n = pagesz;
	const char *p = (const char *)guard + pagesz - n;
	memcpy((char *)p, line, n);
	scan_with("scalar", p, n, &ref);
	nlines++;
	for (size_t w = 1; w < sizeof impls / sizeof impls[0]; w++) {
		if (ev_json_scan_impl(impls[w]) < 0)
			continue;
		nways++;
		scan_with(impls[w], p, n, &got);
		hexdump(line, n, dump, sizeof dump);
		cr_assert_eq(got.r, ref.r, "%s: '%s': %d, scalar %d", impls[w], dump, got.r, ref.r);
		if (ref.r < 0) {
			cr_assert_eq(got.off, ref.off, "%s: '%s': offset %zu, scalar %zu", impls[w],
			    dump, got.off, ref.off);
			cr_assert_str_eq(got.msg, ref.msg, "%s: '%s'", impls[w], dump);
			continue;
		}
		for (size_t i = 0; i < DNP; i++) {
			const struct ev_jval *a = &got.v[i], *b = &ref.v[i];
			cr_assert(a->type == b->type && a->p == b->p && a->len == b->len &&
			    a->escaped == b->escaped && a->jqerr == b->jqerr,
			    "%s: '%s' %s: differs from scalar", impls[w], dump, dnames[i]);
		}
	}
	ev_json_scan_impl(NULL);
}

static void
setup_agree(void)
{
	pagesz = (size_t)sysconf(_SC_PAGESIZE);
	guard = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(guard != MAP_FAILED);
	cr_assert_eq(mprotect(guard + pagesz, pagesz, PROT_NONE), 0);
	for (size_t i = 0; i < DNP; i++)
		cr_assert(dpaths[i] = ev_jpath_compile(dnames[i], NULL), "%s", dnames[i]);
}

static void
teardown_agree(void)
{
	for (size_t i = 0; i < DNP; i++)
		ev_jpath_free(dpaths[i]);
	munmap(guard, 2 * pagesz);
}

/* Byte sequences that stop a string skipper or end a line badly. */
static const char *const special[] = {
	"\"", "\\", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\u00E9", "\\ud834\\udd1e",
	"\\ud834", "\\ud834\\u0041", "\\udc00", "\\u12g4", "\\u12", "\\x", "\\", "\xc3\xa9",
	"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
	"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
	"\xff", "\x80", "\xbf", "\x01", "\x1f", "\t", "\x7f", " ", "\xef\xbb\xbf",
};
#define NSPECIAL (sizeof special / sizeof special[0])

static size_t
addsp(unsigned char *b, size_t n, const char *sp)
{
	size_t k = strlen(sp);
	memcpy(b + n, sp, k);
	return n + k;
}

/* One special sequence at every offset of a string body of every length
 * around the 8, 16, 32 and 64-byte blocks, behind prefixes that move the
 * body's start; and each line cut at every length near its end. */
Test(jsonfast, ways_agree_adversarial, .init = setup_agree, .fini = teardown_agree)
{
	static const char *const pre[] = { "\"", "{\"k\":\"", "[1,\"", "{\"a\":[0,{\"b\":\"" };
	static const char *const post[] = { "\"", "\"}", "\"]", "\"}]}" };

	/* body lengths on both sides of each block size */
	static const size_t lens[] = { 0, 1, 2, 3, 5, 7, 8, 9, 12, 15, 16, 17, 20, 31, 32, 33, 40,
		47, 48, 49, 63, 64, 65, 70 };
	unsigned char b[512];

	for (size_t x = 0; x < sizeof pre / sizeof pre[0]; x++)
		for (size_t i = 0; i < NSPECIAL; i++)
			for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
				for (size_t len = lens[l], pos = 0; pos <= len; pos++) {
					size_t n = addsp(b, 0, pre[x]);
					memset(b + n, 'a', pos);
					n = addsp(b, n + pos, special[i]);
					memset(b + n, 'b', len - pos);
					n = addsp(b, n + len - pos, post[x]);
					agree(b, n);
					/* cut short: mid-string, mid-escape, mid-UTF-8 */
					if (x == 1 && (pos % 8 == 0 || len == pos))
						for (size_t cut = n > 24 ? n - 24 : 0; cut < n; cut++)
							agree(b, cut);
				}
	cr_log_info("%zu lines, %zu comparisons", nlines, nways);
	cr_expect(nlines > 50000);
}

/* A random value: nested, with random strings whose bytes come mostly from
 * the ones that matter to a skipper. */
static size_t
rvalue(unsigned char *b, size_t n, size_t cap, int depth)
{
	static const char *const atoms[] = { "0", "-1.5e3", "true", "false", "null", "12345678901234567890" };
	static const char *const ws[] = { "", "", "", " ", "\t", "\r\n " };
	unsigned k = rnd(depth > 4 ? 3 : 5);

	if (n + 80 > cap)
		return addsp(b, n, "1");
	n = addsp(b, n, ws[rnd(6)]);
	if (k == 0) {
		return addsp(b, n, atoms[rnd(6)]);
	} else if (k <= 2) {
		b[n++] = '"';
		for (unsigned len = rnd(4) ? rnd(20) : rnd(70); len-- && n + 10 < cap;) {
			unsigned c = rnd(10);
			if (c < 6)
				b[n++] = (unsigned char)('a' + rnd(26));
			else if (c < 9)
				n = addsp(b, n, special[rnd(NSPECIAL)]);
			else
				b[n++] = (unsigned char)rnd(256);
		}
		b[n++] = '"';
		return n;
	}
	int obj = k == 3;
	b[n++] = obj ? '{' : '[';
	for (unsigned m = rnd(6), j = 0; j < m && n + 100 < cap; j++) {
		if (j)
			b[n++] = ',';
		if (obj) {
			static const char *const keys[] = { "\"k\"", "\"a\"", "\"b\"", "\"\"", "\"s\"",
				"\"x\"", "\"k\\u0000\"", "\"\\u0061\"" };
			n = addsp(b, n, keys[rnd(8)]);
			n = addsp(b, n, ws[rnd(6)]);
			b[n++] = ':';
		}
		n = rvalue(b, n, cap, depth + 1);
	}
	n = addsp(b, n, ws[rnd(6)]);
	b[n++] = obj ? '}' : ']';
	return n;
}

/* Random lines, and the same lines with a byte changed, inserted or cut. */
Test(jsonfast, ways_agree_random, .init = setup_agree, .fini = teardown_agree)
{
	unsigned char b[1024];

	rng = 7;
	for (int i = 0; i < 30000; i++) {
		size_t n = rvalue(b, 0, sizeof b - 8, 0);
		agree(b, n);
		size_t at = n ? rnd((unsigned)n) : 0;
		switch (rnd(3)) {
		case 0:
			b[at] = (unsigned char)rnd(256);
			break;
		case 1:
			memmove(b + at + 1, b + at, n - at);
			b[at] = (unsigned char)"\"\\\x80\x01{}[],:"[rnd(10)];
			n++;
			break;
		default:
			n = at;
		}
		agree(b, n);
	}
	/* long strings: whole blocks of plain bytes before a stop */
	for (int i = 0; i < 3000; i++) {
		size_t n = addsp(b, 0, "{\"s\":\"");
		size_t len = rnd(600);
		for (size_t j = 0; j < len; j++)
			b[n++] = (unsigned char)(rnd(50) ? 'a' + rnd(26) : rnd(256));
		n = addsp(b, n, "\"}");
		agree(b, n);
		agree(b, n - 2 - rnd(8));
	}
	cr_log_info("%zu lines, %zu comparisons", nlines, nways);
}
