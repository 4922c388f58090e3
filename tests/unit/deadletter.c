/* SPDX-License-Identifier: ISC */
/* Dead-letter attributes spliced into an event without re-serialising it. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "event/event.h"

Test(deadletter, setattr)
{
	static const struct { const char *in, *name, *val, *out; } t[] = {
		{ "{}", "evx", "1", "{\"evx\":1}" },
		{ "{ }", "evx", "1", "{ \"evx\":1}" },
		{ "{\"a\":1}", "evx", "\"s\"", "{\"a\":1,\"evx\":\"s\"}" },
		{ "{\"a\" : [1, 2] ,\"b\":\"\\u00e9\"}", "evattempts", "3",
		  "{\"a\" : [1, 2] ,\"b\":\"\\u00e9\",\"evattempts\":3}" },
		{ "  {\"a\":1}  ", "evx", "2", "  {\"a\":1,\"evx\":2}  " },
		{ "{\"a\":{\"evx\":0}}", "evx", "2", "{\"a\":{\"evx\":0},\"evx\":2}" },
		{ "{\"evx\":\"old\",\"b\":2}", "evx", "\"new\"", "{\"evx\":\"new\",\"b\":2}" },
		{ "{\"b\":2,\"evx\":{\"deep\":[1]}}", "evx", "null", "{\"b\":2,\"evx\":null}" },
	};
	static const char *bad[] = { "", "[]", "1", "\"{}\"", "{", "{\"a\":1", "{\"a\":1}x" };
	struct ev_buf b = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		ev_buf_reset(&b);
		ev_buf_adds(&b, "pre:");
		cr_expect_eq(ev_event_setattr(&b, t[i].in, strlen(t[i].in), t[i].name, t[i].val), 0,
		    "%s", t[i].in);
		cr_expect(strncmp(b.p, "pre:", 4) == 0);
		cr_expect_str_eq(b.p + 4, t[i].out, "%s", t[i].in);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ev_buf_reset(&b);
		cr_expect_eq(ev_event_setattr(&b, bad[i], strlen(bad[i]), "evx", "1"), -1,
		    "'%s' accepted", bad[i]);
		cr_expect_eq(b.len, 0);
	}
	ev_buf_free(&b);
}
