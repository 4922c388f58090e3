/* SPDX-License-Identifier: ISC */
/* buf.h — a growable byte buffer. */
#ifndef EV_BUF_H
#define EV_BUF_H
#include <stddef.h>

/* A byte buffer; p is always NUL-terminated after len bytes once used. */
struct ev_buf {
	char *p;
	size_t len, cap;
};

void ev_buf_grow(struct ev_buf *b, size_t extra);
void ev_buf_add(struct ev_buf *b, const void *p, size_t n);
void ev_buf_adds(struct ev_buf *b, const char *s);
void ev_buf_addc(struct ev_buf *b, char c);
void ev_buf_printf(struct ev_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal, quotes included. Invalid UTF-8 becomes U+FFFD. */
void ev_buf_addjstr(struct ev_buf *b, const char *s, size_t n);
void ev_buf_reset(struct ev_buf *b);
void ev_buf_free(struct ev_buf *b);

#endif
