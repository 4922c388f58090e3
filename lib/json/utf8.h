/* SPDX-License-Identifier: ISC */
/* utf8.h — the pieces of JSON string escapes that the scanner (jsonscan.c)
 * and the canonical form (sign/jcs.c) both need: hex digits, the one-letter
 * escapes, and a code point written as UTF-8. Inline: the scanner's string
 * loop calls them. Each caller keeps its own policy for what is invalid (the
 * scanner replaces a lone surrogate, the canonical form refuses it). */
#ifndef EV_UTF8_H
#define EV_UTF8_H
#include <stddef.h>
#include <stdint.h>

/* A hex digit's value, or -1. */
static inline int
ev_hexval(unsigned char c)
{
	if ((unsigned)(c - '0') < 10)
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The four hex digits at s (four bytes there, checked by the caller), or -1. */
static inline long
ev_hex4(const unsigned char *s)
{
	int a = ev_hexval(s[0]), b = ev_hexval(s[1]), c = ev_hexval(s[2]), d = ev_hexval(s[3]);

	if ((a | b | c | d) < 0)
		return -1;
	return (long)a << 12 | b << 8 | c << 4 | d;
}

/* What the escape \e stands for, for every escape but \u; else -1. */
static inline int
ev_json_esc1(unsigned char e)
{
	switch (e) {
	case '"': case '\\': case '/': return e;
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return -1;
	}
}

/* Code point c (at most 0x10FFFF) as UTF-8 in u; its length. */
static inline size_t
ev_utf8_put(unsigned char u[4], uint32_t c)
{
	if (c < 0x80) {
		u[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		u[0] = (unsigned char)(0xc0 | c >> 6);
		u[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		u[0] = (unsigned char)(0xe0 | c >> 12);
		u[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | c >> 18);
	u[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	u[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	u[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

#endif
