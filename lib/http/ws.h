/* SPDX-License-Identifier: ISC */
/* ws.h — WebSocket (RFC 6455) framing for evhttp's subscribers: the
 * handshake's accept key, server frames out, client frames in. */
#ifndef EV_WS_H
#define EV_WS_H
#include <stddef.h>

#include "base/buf.h"

enum { EV_WS_CONT = 0, EV_WS_TEXT = 1, EV_WS_BINARY = 2, EV_WS_CLOSE = 8, EV_WS_PING = 9,
	EV_WS_PONG = 10 };

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * 28 characters and a NUL. 0, or -1 for a key that is not 16 bytes in base64. */
int ev_ws_accept(const char *key, char out[29]);
/* Append one unmasked, final frame. */
void ev_ws_frame(struct ev_buf *b, int opcode, const char *p, size_t n);
/* Append a close frame: a status code and a reason (cut to fit 125 bytes). */
void ev_ws_close(struct ev_buf *b, unsigned code, const char *reason);
/* One client frame at the start of p[0..n): returns the bytes it takes and
 * sets *op, *fin and the unmasked payload (appended to out); 0 when more
 * bytes are needed; -1 for a protocol error (an unmasked frame, a control
 * frame over 125 bytes or fragmented, a payload over max), with *why. */
long ev_ws_parse(const unsigned char *p, size_t n, size_t max, int *op, int *fin,
    struct ev_buf *out, const char **why);

#endif
