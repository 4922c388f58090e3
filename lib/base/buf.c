/* SPDX-License-Identifier: ISC */
/* buf.c — struct ev_buf, a growable byte buffer, and JSON string escaping into one. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

void
ev_buf_grow(struct ev_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (need < b->len)
		ev_die(EV_TEMPFAIL, "out of memory");
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap * 2 > cap ? cap * 2 : need;
	b->p = ev_realloc(b->p, cap);
	b->cap = cap;
}

void
ev_buf_add(struct ev_buf *b, const void *p, size_t n)
{
	ev_buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void ev_buf_adds(struct ev_buf *b, const char *s) { ev_buf_add(b, s, strlen(s)); }

void
ev_buf_addc(struct ev_buf *b, char c)
{
	ev_buf_grow(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
ev_buf_printf(struct ev_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ev_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0. */
static size_t
utf8len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
ev_buf_addjstr(struct ev_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	static const char hex[] = "0123456789abcdef";

	ev_buf_grow(b, n + 2);
	ev_buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t l;

		if (c == '"' || c == '\\') {
			ev_buf_addc(b, '\\');
			ev_buf_addc(b, (char)c);
			i++;
		} else if (c < 0x20) {
			const char *e = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" :
			    c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
			if (e)
				ev_buf_adds(b, e);
			else {
				char x[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
				ev_buf_adds(b, x);
			}
			i++;
		} else if ((l = utf8len(u + i, n - i)) > 0) {
			ev_buf_add(b, u + i, l);
			i += l;
		} else {
			ev_buf_adds(b, "\xef\xbf\xbd");
			i++;
		}
	}
	ev_buf_addc(b, '"');
}

void
ev_buf_reset(struct ev_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
ev_buf_free(struct ev_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
