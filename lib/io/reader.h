/* SPDX-License-Identifier: ISC */
/* reader.h — NDJSON line reader over a file descriptor.
 *
 * Lines are bounded: one longer than the reader's limit (ev_max_event,
 * the tools' --max-event-size, 16 MiB unless raised) is handed out once, when
 * its end is found, as its first `limit` bytes with toolong set; the rest is
 * read and dropped, so a reader never holds more than the limit (plus one
 * read buffer) whatever the input (`evfilter true /dev/zero`). */
#ifndef EV_READER_H
#define EV_READER_H
#include <stddef.h>
#include <stdint.h>

/* One input line, without its "\n" or "\r\n"; p[len] is '\0' (the line
 * itself may hold NUL bytes). Valid until the next read from its source. */
struct ev_line {
	const char *p;
	size_t len;
	uintmax_t no;  /* line number in its source, from 1 */
	uint64_t pos;  /* position just after this line: a byte offset (global in a spool) */
	int partial;   /* the input ended without a final newline */
	uint64_t toolong; /* 0, or the length of a line longer than the limit:
	                   * p then holds its first `limit` bytes (len) */
};

struct ev_reader;

struct ev_reader *ev_reader_new(int fd, uint64_t pos);
/* 1: a line; 0: end of file for now (an unterminated tail is kept unless
 * EV_RD_TAIL asks for it as a partial line); -1: read error (errno).
 * EV_RD_NOREAD hands out only a line already buffered, EV_RD_ONCE makes at
 * most one read(2) (for a caller that polled first): without a complete
 * line they return -1 with errno EAGAIN instead of waiting for one. */
enum { EV_RD_TAIL = 1, EV_RD_NOREAD = 2, EV_RD_ONCE = 4 };
int ev_reader_next(struct ev_reader *r, struct ev_line *l, int flags);
int ev_reader_fd(const struct ev_reader *r);
/* Change this reader's limit: the bytes before the newline, a '\r'
 * included (tests; a tool sets ev_max_event, opts.h, instead). */
void ev_reader_setmax(struct ev_reader *r, size_t max);
/* Bytes held that are not yet returned (an unterminated tail). */
size_t ev_reader_pending(const struct ev_reader *r);
/* Forget buffered bytes and continue at a new file position. */
void ev_reader_reset(struct ev_reader *r, int fd, uint64_t pos);
void ev_reader_free(struct ev_reader *r);

#endif
