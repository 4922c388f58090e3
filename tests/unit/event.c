/* SPDX-License-Identifier: ISC */
/* lib/event/event.c: envelopes, and attributes spliced into event lines. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "event/event.h"
#include "json/jq.h"

/* A copy of s in a buffer of exactly its length (no NUL after it), so that
 * ASan catches a read past the end. */
static char *
exact(const char *s)
{
	size_t n = strlen(s);
	char *p = malloc(n ? n : 1);

	memcpy(p, s, n);
	return p;
}

Test(event, extension_names)
{
	static const char *ok[] = { "a", "evattempt", "partitionkey", "x1", "abcdefghijklmnopqrst" };
	static const char *bad[] = {
		"", "Evattempt", "ev_attempt", "ev-attempt", "abcdefghijklmnopqrstu", "id", "type",
		"source", "specversion", "time", "subject", "datacontenttype", "dataschema", "data",
		"é",
	};
	struct ev_buf err = { 0 };

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		cr_expect_eq(ev_event_extname(ok[i], &err), 0, "%s: %s", ok[i], err.p);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_expect_eq(ev_event_extname(bad[i], &err), -1, "'%s' accepted", bad[i]);
		cr_expect_gt(err.len, 0);
	}
	ev_buf_free(&err);
}

Test(event, build)
{
	static const struct ev_attr ext[] = { { "evattempt", "3", 1 }, { "tag", "\"a\"", 3 } };
	struct ev_envelope e = {
		.id = "id-1", .source = "/shop", .type = "order.placed", .subject = "o\"42",
		.time = "2024-01-01T00:00:00.000Z", .ext = ext, .next = 2,
	};
	struct ev_buf out = { 0 }, norm = { 0 };

	ev_event_build(&out, &e, "{\"n\": 1}", 8);
	cr_expect_str_eq(out.p, "{\"specversion\":\"1.0\",\"id\":\"id-1\",\"source\":\"/shop\","
	    "\"type\":\"order.placed\",\"subject\":\"o\\\"42\",\"time\":\"2024-01-01T00:00:00.000Z\","
	    "\"evattempt\":3,\"tag\":\"a\",\"data\":{\"n\": 1}}");
	cr_expect_eq(ev_jq_compact(out.p, out.len, &norm), 0, "not JSON: %s", out.p);
	ev_buf_reset(&out);
	e = (struct ev_envelope){ .source = "/s", .type = "t" };
	ev_event_build(&out, &e, NULL, 0);
	cr_expect_eq(strncmp(out.p, "{\"specversion\":\"1.0\",\"id\":\"", 27), 0, "%s", out.p);
	cr_expect_eq(out.p[27 + 14], '7', "a UUIDv7: %s", out.p);
	cr_expect_null(strstr(out.p, "\"data\""));
	cr_expect_not_null(strstr(out.p, "\"time\":\""));
	ev_buf_free(&out);
	ev_buf_free(&norm);
}

Test(event, getattr)
{
	static const struct { const char *line, *name; int r; const char *v; } t[] = {
		{ "{\"id\":\"x\",\"type\":\"t\"}", "type", 1, "\"t\"" },
		{ " { \"a\" : { \"id\" : 1 } , \"id\" : [ 1, \"]\" ] } ", "id", 1, "[ 1, \"]\" ]" },
		{ "{\"a\":\"{\\\"id\\\":1}\",\"id\":2}", "id", 1, "2" },
		{ "{\"\\u0069d\":7}", "id", 1, "7" },
		{ "{\"\\u00e9\":true}", "\xc3\xa9", 1, "true" },
		{ "{\"\\ud83d\\ude00\":null}", "\xf0\x9f\x98\x80", 1, "null" },
		{ "{\"idx\":1,\"i\":2}", "id", 0, NULL },
		{ "{}", "id", 0, NULL },
		{ "[1,2]", "id", -1, NULL },
		{ "\"id\"", "id", -1, NULL },
		{ "", "id", -1, NULL },
		{ "{\"a\":1", "id", -1, NULL },
		{ "{\"a\":\"unterminated", "id", -1, NULL },
		{ "{\"a\"", "id", -1, NULL },
		{ "{\"a\":[1,{\"b\":2}", "id", -1, NULL },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *line = exact(t[i].line);
		const char *v = NULL;
		size_t vlen = 0;
		int r = ev_event_getattr(line, strlen(t[i].line), t[i].name, &v, &vlen);
		cr_expect_eq(r, t[i].r, "%s in %s: %d", t[i].name, t[i].line, r);
		if (r == 1 && t[i].v)
			cr_expect(vlen == strlen(t[i].v) && memcmp(v, t[i].v, vlen) == 0,
			    "%s in %s: %.*s", t[i].name, t[i].line, (int)vlen, v);
		free(line);
	}
}

Test(event, addattr_and_setattr_keep_the_bytes)
{
	static const struct { const char *line, *add, *set; } t[] = {
		{ "{}", "{\"evx\":1}", "{\"evx\":1}" },
		{ "{ }", "{ \"evx\":1}", "{ \"evx\":1}" },
		{ "{\"a\": {}}", "{\"a\": {},\"evx\":1}", "{\"a\": {},\"evx\":1}" },
		{ "  {\"a\" : [ 1 ] }  ", "  {\"a\" : [ 1 ] ,\"evx\":1}  ",
		  "  {\"a\" : [ 1 ] ,\"evx\":1}  " },
		{ "{\"evx\":0,\"b\":\"}\"}", "{\"evx\":0,\"b\":\"}\",\"evx\":1}",
		  "{\"evx\":1,\"b\":\"}\"}" },
		{ "{\"b\":2,\"evx\": \"old\" }", "{\"b\":2,\"evx\": \"old\" ,\"evx\":1}",
		  "{\"b\":2,\"evx\": 1 }" },
	};
	static const char *bad[] = { "", "[]", "\"x\"", "{", "{\"a\":1", "42", "{\"a\":1}x" };
	struct ev_buf out = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *line = exact(t[i].line);
		size_t n = strlen(t[i].line);
		ev_buf_reset(&out);
		cr_expect_eq(ev_event_addattr(&out, line, n, "evx", "1"), 0, "%s", t[i].line);
		cr_expect_str_eq(out.p, t[i].add);
		ev_buf_reset(&out);
		cr_expect_eq(ev_event_setattr(&out, line, n, "evx", "1"), 0, "%s", t[i].line);
		cr_expect_str_eq(out.p, t[i].set);
		free(line);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *line = exact(bad[i]);
		ev_buf_reset(&out);
		cr_expect_eq(ev_event_addattr(&out, line, strlen(bad[i]), "evx", "1"), -1, "'%s'", bad[i]);
		cr_expect_eq(ev_event_setattr(&out, line, strlen(bad[i]), "evx", "1"), -1, "'%s'", bad[i]);
		cr_expect_eq(out.len, 0, "'%s': wrote %s", bad[i], out.p);
		free(line);
	}
	ev_buf_free(&out);
}

Test(event, attribute_names_are_escaped)
{
	struct ev_buf out = { 0 };

	cr_expect_eq(ev_event_addattr(&out, "{}", 2, "a\"b", "\"v\""), 0);
	cr_expect_str_eq(out.p, "{\"a\\\"b\":\"v\"}");
	ev_buf_free(&out);
}

Test(event, fill)
{
	static const struct ev_attr ext[] = { { "region", "\"eu\"", 4 } };
	struct ev_envelope e = { .source = "/s", .type = "t", .time = "2024-01-01T00:00:00.000Z",
		.ext = ext, .next = 1 };
	struct ev_buf out = { 0 };
	const char *why, *v;
	size_t vlen;

	cr_expect_eq(ev_event_fill(&out, "{\"type\":\"x\",\"id\":\"k\",\"region\":\"us\",\"data\":{}}",
	    45, &e, &why), 0);
	cr_expect_str_eq(out.p, "{\"type\":\"x\",\"id\":\"k\",\"region\":\"us\",\"data\":{},"
	    "\"specversion\":\"1.0\",\"source\":\"/s\",\"time\":\"2024-01-01T00:00:00.000Z\"}");
	ev_buf_reset(&out);
	cr_expect_eq(ev_event_fill(&out, "{}", 2, &e, &why), 0);
	cr_expect_eq(ev_event_getattr(out.p, out.len, "type", &v, &vlen), 1);
	cr_expect_eq(ev_event_getattr(out.p, out.len, "id", &v, &vlen), 1);
	cr_expect_eq(vlen, 38);
	cr_expect_eq(ev_event_getattr(out.p, out.len, "region", &v, &vlen), 1);
	ev_buf_reset(&out);
	e.type = NULL;
	cr_expect_eq(ev_event_fill(&out, "{\"id\":1}", 8, &e, &why), -1);
	cr_expect_str_eq(why, "no \"type\" attribute");
	cr_expect_eq(ev_event_fill(&out, "[1]", 3, &e, &why), -1);
	cr_expect_str_eq(why, "not a JSON object");
	ev_buf_free(&out);
}
