/* SPDX-License-Identifier: ISC */
/* Request bodies to events: each mode of the CloudEvents HTTP binding, and the refusals. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/ingest.h"

static int
parse(const char *ctype, const struct ev_hdr *h, size_t nh, const char *type, const char *body,
    struct ev_buf *out, size_t *n, struct ev_buf *err)
{
	struct ev_ingest_req r = { .ctype = ctype, .hdrs = h, .nhdrs = nh, .type = type,
		.source = "/test", .body = body, .len = strlen(body) };

	ev_buf_reset(out);
	return ev_ingest_parse(&r, out, n, err);
}

/* The line without its id and time (which are made fresh), for comparison. */
static int
has(const struct ev_buf *out, const char *frag)
{
	return out->p && strstr(out->p, frag) != NULL;
}

Test(ingest, structured_and_filled)
{
	struct ev_buf out = { 0 }, err = { 0 };
	size_t n;

	cr_assert_eq(parse("application/cloudevents+json; charset=utf-8", NULL, 0, NULL,
	    "{\"type\":\"a\",\n\"data\":{\"x\":\n1}}", &out, &n, &err), 0);
	cr_expect_eq(n, 1);
	cr_expect(has(&out, "{\"type\":\"a\", \"data\":{\"x\": 1},\"specversion\":\"1.0\",\"id\":\""));
	cr_expect(has(&out, "\"source\":\"/test\""));
	cr_expect_eq(out.p[out.len - 1], '\n');
	cr_expect_eq(memchr(out.p, '\n', out.len - 1), NULL);
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(ingest, batch_and_ndjson)
{
	struct ev_buf out = { 0 }, err = { 0 };
	size_t n;

	cr_assert_eq(parse("application/cloudevents-batch+json", NULL, 0, NULL,
	    " [ {\"type\":\"a\",\"s\":\"],{\\\"\"} ,\n{\"type\":\"b\",\"d\":[1,{}]} ] ", &out, &n, &err), 0);
	cr_expect_eq(n, 2);
	cr_expect(has(&out, "{\"type\":\"a\",\"s\":\"],{\\\"\","));
	cr_expect(has(&out, "{\"type\":\"b\",\"d\":[1,{}],"));
	cr_assert_eq(parse("application/cloudevents-batch+json", NULL, 0, NULL, "[]", &out, &n,
	    &err), 0);
	cr_expect_eq(n, 0);
	cr_assert_eq(parse("application/x-ndjson", NULL, 0, "fallback", "{\"a\":1}\r\n\n{\"type\":\"t\"}",
	    &out, &n, &err), 0);
	cr_expect_eq(n, 2);
	cr_expect(has(&out, "{\"a\":1,\"specversion\":\"1.0\""));
	cr_expect(has(&out, "\"type\":\"fallback\""));
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(ingest, binary_mode)
{
	struct ev_hdr h[] = {
		{ "Ce-Specversion", "1.0" }, { "ce-type", "order.placed" }, { "ce-id", "42" },
		{ "ce-source", "/shop" }, { "ce-traceparent", "00-ab%22cd" }, { "Host", "x" },
	};
	struct ev_buf out = { 0 }, err = { 0 };
	size_t n;

	cr_assert_eq(parse("application/json", h, 6, NULL, "{\"n\": 1}", &out, &n, &err), 0);
	cr_expect(has(&out, "{\"specversion\":\"1.0\",\"type\":\"order.placed\",\"id\":\"42\","
	    "\"source\":\"/shop\",\"traceparent\":\"00-ab\\\"cd\",\"datacontenttype\":"
	    "\"application/json\",\"data\":{\"n\": 1},\"time\":\""), "%s", out.p);
	cr_assert_eq(parse("text/plain", h, 6, NULL, "héllo", &out, &n, &err), 0);
	cr_expect(has(&out, "\"data\":\"héllo\""));
	cr_assert_eq(parse("text/plain", h, 6, NULL, "\xff\xfe", &out, &n, &err), 0);
	cr_expect(has(&out, "\"data_base64\":\"//4=\""));
	cr_assert_eq(parse(NULL, h, 6, NULL, "", &out, &n, &err), 0);
	cr_expect(!has(&out, "\"data"));
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(ingest, wrapped_plain_json)
{
	struct ev_hdr h[] = { { "webhook-id", "msg_1" } };
	struct ev_buf out = { 0 }, err = { 0 };
	size_t n;

	cr_assert_eq(parse("application/vnd.github+json", h, 1, "gh.push", "{\"ref\":\n\"main\"}",
	    &out, &n, &err), 0);
	cr_expect(has(&out, "{\"specversion\":\"1.0\",\"id\":\"msg_1\",\"source\":\"/test\","
	    "\"type\":\"gh.push\",\"time\":\""), "%s", out.p);
	cr_expect(has(&out, "\"datacontenttype\":\"application/json\",\"data\":{\"ref\": \"main\"}}\n"));
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(ingest, refusals)
{
	static const struct {
		const char *ctype, *type, *body, *err;
		int st;
	} t[] = {
		{ "text/csv", NULL, "a,b", "content type text/csv: ", 415 },
		{ NULL, NULL, "{}", "content type (none): ", 415 },
		{ "application/json", NULL, "{}", "no type for a plain JSON body", 400 },
		{ "application/json", "t", "{", "column 2: ", 400 },
		{ "application/cloudevents+json", NULL, "{\"id\":1}", "no \"type\" attribute", 400 },
		{ "application/cloudevents+json", NULL, "[1]", "not a JSON object", 400 },
		{ "application/cloudevents+json", NULL, "", "column 1: ", 400 },
		{ "application/cloudevents-batch+json", NULL, "{\"type\":\"a\"}", "a batch is a JSON array", 400 },
		{ "application/cloudevents-batch+json", NULL, "[{\"type\":\"a\"},{}]", "element 2: no \"type\"", 400 },
		{ "application/x-ndjson", NULL, "{\"type\":\"a\"}\n{\"type\":", "line 2: column 9: ", 400 },
	};
	struct ev_buf out = { 0 }, err = { 0 };
	size_t n;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		ev_buf_adds(&out, "kept");
		struct ev_ingest_req r = { .ctype = t[i].ctype, .type = t[i].type, .source = "/s",
			.body = t[i].body, .len = strlen(t[i].body) };
		out.len = 4;
		cr_expect_eq(ev_ingest_parse(&r, &out, &n, &err), t[i].st, "case %zu", i);
		cr_expect(err.p && strncmp(err.p, t[i].err, strlen(t[i].err)) == 0, "case %zu: %s", i,
		    err.p);
		cr_expect_eq(out.len, 4, "case %zu: something appended", i);
		cr_expect_eq(n, 0);
		ev_buf_reset(&out);
	}
	struct ev_hdr bad[] = { { "ce-specversion", "0.3" } };
	cr_expect_eq(parse("application/json", bad, 1, NULL, "{}", &out, &n, &err), 400);
	struct ev_hdr ext[] = { { "ce-specversion", "1.0" }, { "ce-type", "t" }, { "ce-Bad_Name", "x" } };
	cr_expect_eq(parse("application/json", ext, 3, NULL, "{}", &out, &n, &err), 400);
	struct ev_hdr twice[] = { { "ce-specversion", "1.0" }, { "ce-type", "t" }, { "CE-TYPE", "u" } };
	cr_expect_eq(parse("application/json", twice, 3, NULL, "{}", &out, &n, &err), 400);
	/* a header named "ce-" and nothing more (found by tests/fuzz/httpreq) */
	struct ev_hdr noname[] = { { "ce-specversion", "1.0" }, { "ce-type", "t" }, { "ce-", "x" } };
	cr_expect_eq(parse("application/json", noname, 3, NULL, "{}", &out, &n, &err), 400);
	cr_expect(err.p && strstr(err.p, "ce-: a ce- header names no attribute"), "%s", err.p);
	ev_buf_free(&out);
	ev_buf_free(&err);
}
