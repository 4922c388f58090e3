/* SPDX-License-Identifier: ISC */
/* ws.c — WebSocket framing (RFC 6455, section 5): a frame is
 *   byte 0   FIN (0x80) | opcode
 *   byte 1   MASK (0x80) | length 0-125, or 126 + 16-bit length, or 127 + 64-bit length
 *   then     a 4-byte masking key when MASK (always from a client, never from a server)
 *   then     the payload, XORed with the key byte by byte.
 * SHA-1 for the handshake comes from GnuTLS (libmicrohttpd's TLS library). */
#include <gnutls/crypto.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "http/ws.h"

#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int
ev_ws_accept(const char *key, char out[29])
{
	unsigned char raw[20], dig[20];
	char buf[64];
	size_t binlen = 0, n = strlen(key);

	if (n != 24 || sodium_base642bin(raw, sizeof raw, key, n, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || binlen != 16)
		return -1;
	memcpy(buf, key, n);
	memcpy(buf + n, GUID, sizeof GUID - 1);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, n + sizeof GUID - 1, dig) != 0)
		return -1;
	sodium_bin2base64(out, 29, dig, sizeof dig, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

void
ev_ws_frame(struct ev_buf *b, int opcode, const char *p, size_t n)
{
	unsigned char h[10];
	size_t hl = 2;

	h[0] = (unsigned char)(0x80 | opcode);
	if (n < 126)
		h[1] = (unsigned char)n;
	else if (n < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	ev_buf_add(b, h, hl);
	if (n)
		ev_buf_add(b, p, n);
}

void
ev_ws_close(struct ev_buf *b, unsigned code, const char *reason)
{
	char p[125];
	size_t n = strlen(reason);

	if (n > sizeof p - 2)
		n = sizeof p - 2;
	p[0] = (char)(code >> 8);
	p[1] = (char)code;
	memcpy(p + 2, reason, n);
	ev_ws_frame(b, EV_WS_CLOSE, p, n + 2);
}

long
ev_ws_parse(const unsigned char *p, size_t n, size_t max, int *op, int *fin,
    struct ev_buf *out, const char **why)
{
	size_t hl = 2, len;
	const unsigned char *mask;

	if (n < 2)
		return 0;
	*fin = (p[0] & 0x80) != 0;
	*op = p[0] & 0x0f;
	if (p[0] & 0x70) {
		*why = "reserved bits set";
		return -1;
	}
	if (!(p[1] & 0x80)) {
		*why = "a client frame without a mask";
		return -1;
	}
	len = p[1] & 0x7f;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (size_t)p[2] << 8 | p[3];
		hl = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++) {
			if (len > (SIZE_MAX >> 8)) {
				*why = "frame too large";
				return -1;
			}
			len = len << 8 | p[2 + i];
		}
		hl = 10;
	}
	if (*op >= 8 && (len > 125 || !*fin)) {
		*why = "a control frame over 125 bytes or fragmented";
		return -1;
	}
	if ((*op > 2 && *op < 8) || *op > 10) {
		*why = "an unknown opcode";
		return -1;
	}
	if (len > max) {
		*why = "frame too large";
		return -1;
	}
	if (n < hl + 4 + len)
		return 0;
	mask = p + hl;
	ev_buf_grow(out, len + 1);
	for (size_t i = 0; i < len; i++)
		out->p[out->len + i] = (char)(p[hl + 4 + i] ^ mask[i & 3]);
	out->len += len;
	out->p[out->len] = '\0';
	return (long)(hl + 4 + len);
}
