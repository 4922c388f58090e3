/* SPDX-License-Identifier: ISC */
/* lib/trace: traceparent values, new spans, sampling, and evhttp's ingest
 * stamping events with the request's span. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "http/ingest.h"
#include "json/jsonscan.h"
#include "trace/trace.h"

Test(trace, parse_and_format)
{
	static const char *good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	static const char *bad[] = {
		"", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
		"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	};
	struct ev_tracectx c;
	char out[EV_TRACEPARENT_LEN + 1];

	cr_assert_eq(ev_trace_parse(good, strlen(good), &c), 0);
	cr_expect_eq(c.flags, 1);
	ev_trace_format(&c, out);
	cr_expect_str_eq(out, good);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(ev_trace_parse(bad[i], strlen(bad[i]), &c), -1, "%s", bad[i]);
}

Test(trace, children_and_stamps)
{
	static const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
	struct ev_tracectx p, c, r1, r2, got;
	struct ev_buf out = { 0 };
	const char *ev = "{\"id\":\"1\",\"type\":\"t\"}";

	cr_assert_eq(ev_trace_parse(tp, strlen(tp), &p), 0);
	ev_trace_child(&p, &c);
	cr_expect_eq(memcmp(c.trace, p.trace, 16), 0, "same trace");
	cr_expect_neq(memcmp(c.span, p.span, 8), 0, "a new span");
	cr_expect_eq(c.flags, 0, "not sampled, as its parent (parentbased_always_on)");
	p.flags = 1;
	ev_trace_child(&p, &c);
	cr_expect_eq(c.flags, 1, "sampled, as its parent");
	p.flags = 0;
	ev_trace_child(NULL, &r1);
	cr_expect_eq(r1.flags, 1, "a new trace is sampled");
	ev_trace_child(NULL, &r2);
	cr_expect_neq(memcmp(r1.trace, r2.trace, 16), 0, "new traces differ");

	cr_assert_eq(ev_trace_stamp(&out, ev, strlen(ev), &p), 0);
	cr_assert_eq(ev_trace_fromline(out.p, out.len, &got), 1, "%s", out.p);
	cr_expect_eq(memcmp(got.trace, p.trace, 16), 0);
	cr_expect_eq(strncmp(out.p, ev, strlen(ev) - 1), 0, "the bytes before are kept");
	/* an event that has one is left as it is */
	char *again = strdup(out.p);
	ev_buf_reset(&out);
	cr_assert_eq(ev_trace_stamp(&out, again, strlen(again), NULL), 0);
	cr_expect_str_eq(out.p, again);
	free(again);
	cr_expect_eq(ev_trace_stamp(&out, "[1]", 3, NULL), -1);
	ev_buf_free(&out);
}

Test(trace, fromline_finds_it_anywhere_at_the_top)
{
	static const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	static const struct { const char *fmt; int want; } t[] = {
		{ "{\"id\":\"1\",\"traceparent\":\"%s\"}", 1 },       /* last, as evkit writes it */
		{ "{\"id\":\"1\",\"traceparent\":\"%s\"}\n", 1 },
		{ "{\"traceparent\":\"%s\",\"id\":\"1\"}", 1 },        /* first */
		{ "{\"id\":\"1\" , \"traceparent\" : \"%s\" }", 1 },   /* spaced */
		{ "{\"trace\\u0070arent\":\"%s\"}", 1 },                 /* escaped */
		{ "{\"data\":{\"traceparent\":\"%s\"}}", 0 },            /* nested */
		{ "{\"data\":[{\"x\":1,\"traceparent\":\"%s\"}]}", 0 },
		{ "{\"tracestate\":\"%s\"}", 0 },
		{ "{\"id\":\"%s\"}", 0 },
	};
	char line[256];
	struct ev_tracectx c;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(line, sizeof line, t[i].fmt, tp);
		cr_expect_eq(ev_trace_fromline(line, strlen(line), &c), t[i].want, "%s", line);
	}
}

/* The look for the name goes 32 bytes at a time: it must find the member
 * at every offset from a block's start, in lines of every length around
 * the block sizes, spelled plainly or with an escape, and lines that only
 * come near it (the word in data, a \u elsewhere) must parse as before. */
Test(trace, fromline_at_every_offset_and_length)
{
	static const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	static const char *keys[] = { "traceparent", "trace\\u0070arent", "\\u0074raceparent",
		"traceparenT", "tracepar", "xtraceparent" };
	static const int found[] = { 1, 1, 1, 0, 0, 0 };
	char line[512], pad[128];
	struct ev_tracectx c;

	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		for (size_t n = 0; n < 80; n++) {
			memset(pad, 'x', n);
			pad[n] = '\0';
			/* the member first, after n bytes of another, then last */
			snprintf(line, sizeof line, "{\"a\":\"%s\",\"%s\":\"%s\"}", pad, keys[k], tp);
			cr_expect_eq(ev_trace_fromline(line, strlen(line), &c), found[k], "%s", line);
			snprintf(line, sizeof line, "{\"%s\":\"%s\",\"a\":\"%s\"}", keys[k], tp, pad);
			cr_expect_eq(ev_trace_fromline(line, strlen(line), &c), found[k], "%s", line);
			/* not a member of the event: nested, or a value */
			snprintf(line, sizeof line, "{\"a\":\"%s\",\"d\":{\"%s\":\"%s\"}}", pad, keys[k], tp);
			cr_expect_eq(ev_trace_fromline(line, strlen(line), &c), 0, "%s", line);
			snprintf(line, sizeof line, "{\"a\":\"%s%s\",\"b\":\"%s\"}", pad, keys[k], tp);
			cr_expect_eq(ev_trace_fromline(line, strlen(line), &c), 0, "%s", line);
		}
}

/* With --otlp, evfilter and evroute ask their own scan of a line whether
 * it may have a traceparent (ev_jerr.tpmaybe) before looking again: the
 * scan must say "may" wherever ev_trace_fromline finds one, and "no" for
 * lines that only come near it; off, it always says "may". */
Test(trace, the_scan_says_may_wherever_fromline_finds_it)
{
	static const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	static const char *keys[] = { "traceparent", "trace\\u0070arent", "\\u0074raceparent",
		"\\u0074\\u0072\\u0061\\u0063\\u0065\\u0070\\u0061\\u0072\\u0065\\u006e\\u0074",
		"traceparenT", "tracepar", "xtraceparent", "tracestate" };
	static const char *fmts[] = {
		"{\"a\":\"%s\",\"%s\":\"%s\"}", "{\"%s\":\"%s\",\"a\":\"%s\"}",
		"{\"a\":\"%s\",\"d\":{\"%s\":\"%s\"}}", "[\"%s\",{\"%s\":\"%s\"}]",
		"{\"a\":[\"%s\",{\"%s\":\"%s\"}]}", "{\"a\":\"%s %s %s\"}",
	};
	char line[512], pad[64];
	struct ev_tracectx c;
	struct ev_jerr e;

	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
			for (size_t n = 0; n < 40; n++) {
				memset(pad, 'x', n);
				pad[n] = '\0';
				if (f == 1)
					snprintf(line, sizeof line, fmts[f], keys[k], tp, pad);
				else
					snprintf(line, sizeof line, fmts[f], pad, keys[k], tp);
				int found = ev_trace_fromline(line, strlen(line), &c);
				ev_json_tracekeys(1);
				cr_assert_eq(ev_json_valid(line, strlen(line), &e), 0, "%s", line);
				ev_json_tracekeys(0);
				cr_expect_eq(e.tpmaybe, found, "%s", line);
				cr_assert_eq(ev_json_valid(line, strlen(line), &e), 0, "%s", line);
				cr_expect_eq(e.tpmaybe, 1, "%s", line);
			}
	/* a long top-level key with any escape may spell it: "may" */
	ev_json_tracekeys(1);
	const char *esc = "{\"a-long-key-\\n-with-an-escape\":1}";
	const char *shortesc = "{\"short\\n\":1,\"specversion\":1}";
	cr_assert_eq(ev_json_valid(esc, strlen(esc), &e), 0);
	cr_expect_eq(e.tpmaybe, 1);
	cr_assert_eq(ev_json_valid(shortesc, strlen(shortesc), &e), 0);
	cr_expect_eq(e.tpmaybe, 0);
	ev_json_tracekeys(0);
}

/* The sampler's look at a line (ev_trace_spanparent) answers as
 * ev_trace_fromline then ev_trace_keeps, flags 01 kept and 00 not. */
Test(trace, spanparent_is_fromline_and_keeps)
{
	static const char *lines[] = {
		"{\"id\":\"1\",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}",
		"{\"id\":\"1\",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00\"}",
		"{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03\",\"id\":\"1\"}",
		"{\"id\":\"1\",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x\"}",
		"{\"id\":\"1\",\"traceparent\":\"00-00000000000000000000000000000000-b7ad6b7169203331-01\"}",
		"{\"id\":\"1\"}",
	};
	struct ev_tracectx a, b;

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		size_t n = strlen(lines[i]);
		int want = ev_trace_fromline(lines[i], n, &a) && ev_trace_keeps(&a);
		cr_expect_eq(ev_trace_spanparent(lines[i], n, &b), want, "%s", lines[i]);
		if (want)
			cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "%s", lines[i]);
	}
}

Test(trace, ingest_stamps_events_with_the_requests_span)
{
	static const char *body = "{\"type\":\"a\",\"id\":\"1\"}\n"
	    "{\"type\":\"b\",\"id\":\"2\",\"traceparent\":"
	    "\"00-11111111111111111111111111111111-2222222222222222-01\"}\n";
	static const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	struct ev_tracectx span;
	struct ev_ingest_req r = { .ctype = "application/x-ndjson", .source = "/s", .body = body,
		.len = strlen(body), .trace = &span };
	struct ev_buf out = { 0 }, err = { 0 };
	size_t n;

	cr_assert_eq(ev_trace_parse(tp, strlen(tp), &span), 0);
	cr_assert_eq(ev_ingest_parse(&r, &out, &n, &err), 0, "%s", err.p);
	cr_expect_eq(n, 2);
	char *nl = strchr(out.p, '\n');
	cr_assert_not_null(nl);
	char want[80];
	snprintf(want, sizeof want, "\"traceparent\":\"%s\"}", tp);
	cr_expect_not_null(memmem(out.p, (size_t)(nl - out.p), want, strlen(want)), "%s", out.p);
	cr_expect_not_null(strstr(nl, "00-11111111111111111111111111111111-2222222222222222-01"));
	cr_expect_null(strstr(nl, "0af76519"), "an event's own traceparent is kept");
	/* no span: nothing added */
	ev_buf_reset(&out);
	r.trace = NULL;
	cr_assert_eq(ev_ingest_parse(&r, &out, &n, &err), 0);
	cr_expect_null(strstr(out.p, "0af76519"));
	ev_buf_free(&out);
	ev_buf_free(&err);
}

/* Criterion runs each test in a process of its own: the sampler reads the
 * environment once. */
Test(trace, parentbased_traceidratio)
{
	struct ev_tracectx p, c;
	int sampled = 0;

	setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1);
	setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
	for (int i = 0; i < 4000; i++) {
		ev_trace_child(NULL, &p);
		sampled += ev_trace_sampled(&p);
		ev_trace_child(&p, &c);
		cr_assert_eq(ev_trace_sampled(&c), ev_trace_sampled(&p), "a child follows its parent");
		cr_assert_eq(ev_trace_keeps(&p), ev_trace_sampled(&p));
	}
	cr_expect(sampled > 800 && sampled < 1200, "about a quarter of new traces: %d", sampled);
}

Test(trace, traceidratio_decides_by_the_trace_id)
{
	static const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	struct ev_tracectx p, c;

	setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
	setenv("OTEL_TRACES_SAMPLER_ARG", "0", 1);
	cr_assert_eq(ev_trace_parse(tp, strlen(tp), &p), 0);
	ev_trace_child(&p, &c);
	cr_expect_eq(c.flags, 0, "a sampled parent does not decide");
	ev_trace_child(NULL, &c);
	cr_expect_eq(c.flags, 0);
}

Test(trace, always_off)
{
	struct ev_tracectx c;

	setenv("OTEL_TRACES_SAMPLER", "always_off", 1);
	ev_trace_child(NULL, &c);
	cr_expect_eq(c.flags, 0);
}
