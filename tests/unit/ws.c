/* SPDX-License-Identifier: ISC */
/* WebSocket framing: RFC 6455's own examples. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/ws.h"

Test(ws, accept_key_from_the_rfc)
{
	char out[29];

	cr_assert_eq(ev_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	cr_expect_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	cr_expect_eq(ev_ws_accept("short", out), -1);
}

Test(ws, frames_out)
{
	struct ev_buf b = { 0 };
	char big[70000];

	ev_ws_frame(&b, EV_WS_TEXT, "Hello", 5);
	cr_expect_eq(b.len, 7);
	cr_expect_eq(memcmp(b.p, "\x81\x05Hello", 7), 0);
	ev_buf_reset(&b);
	memset(big, 'x', sizeof big);
	ev_ws_frame(&b, EV_WS_TEXT, big, 256);
	cr_expect_eq(memcmp(b.p, "\x81\x7e\x01\x00", 4), 0);
	ev_buf_reset(&b);
	ev_ws_frame(&b, EV_WS_TEXT, big, sizeof big);
	cr_expect_eq(memcmp(b.p, "\x81\x7f\0\0\0\0\0\x01\x11\x70", 10), 0);
	cr_expect_eq(b.len, 10 + sizeof big);
	ev_buf_reset(&b);
	ev_ws_close(&b, 1008, "too slow");
	cr_expect_eq(memcmp(b.p, "\x88\x0a\x03\xf0too slow", 12), 0);
	ev_buf_free(&b);
}

Test(ws, frames_in)
{
	/* RFC 6455 5.7: a masked "Hello" */
	const unsigned char hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	const unsigned char unmasked[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
	const unsigned char bigping[] = { 0x89, 0xfe, 0x00, 0x80 };
	struct ev_buf p = { 0 };
	const char *why;
	int op, fin;

	cr_expect_eq(ev_ws_parse(hello, 5, 100, &op, &fin, &p, &why), 0);
	cr_assert_eq(ev_ws_parse(hello, sizeof hello, 100, &op, &fin, &p, &why), 11);
	cr_expect_eq(op, EV_WS_TEXT);
	cr_expect(fin);
	cr_expect_eq(p.len, 5);
	cr_expect_eq(memcmp(p.p, "Hello", 5), 0);
	cr_expect_eq(ev_ws_parse(unmasked, sizeof unmasked, 100, &op, &fin, &p, &why), -1);
	cr_expect_eq(ev_ws_parse(bigping, sizeof bigping, 1000, &op, &fin, &p, &why), -1);
	cr_expect_eq(ev_ws_parse(hello, sizeof hello, 4, &op, &fin, &p, &why), -1);
	ev_buf_free(&p);
}
