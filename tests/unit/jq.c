/* SPDX-License-Identifier: ISC */
/* The jq glue: compile errors made into one line, runtime errors, modes. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "json/jq.h"

static struct ev_jq *
compile(const char *expr)
{
	struct ev_buf err = { 0 };
	struct ev_jq *q = ev_jq_compile(expr, NULL, &err);

	cr_assert(q, "%s: %s", expr, err.p);
	ev_buf_free(&err);
	return q;
}

Test(jq, compile_errors_are_one_clear_line)
{
	static const struct { const char *expr, *msg; } t[] = {
		{ ".a >", "syntax error, unexpected $end at line 1" },
		{ ".a | ]", "syntax error, unexpected INVALID_CHARACTER at line 1" },
		{ ".a | foo", "foo/0 is not defined at line 1" },
		{ ".a | $x | $y", "$x is not defined at line 1; $y is not defined at line 1" },
		{ ".a +\n.b |", "syntax error, unexpected $end at line 2" },
		{ "import \"nosuchmodule\" as m; .", "module not found: nosuchmodule" },
	};
	struct ev_buf err = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_expect_null(ev_jq_compile(t[i].expr, NULL, &err), "%s compiled", t[i].expr);
		cr_expect_str_eq(err.p, t[i].msg, "%s", t[i].expr);
		cr_expect_null(strchr(err.p, '\n'), "%s: not one line", t[i].expr);
	}
	ev_buf_free(&err);
}

Test(jq, test_mode_truthiness)
{
	static const struct { const char *expr, *in; int want; } t[] = {
		{ ".a", "{\"a\":1}", 1 }, { ".a", "{\"a\":0}", 1 }, { ".a", "{\"a\":\"\"}", 1 },
		{ ".a", "{\"a\":null}", 0 }, { ".a", "{\"a\":false}", 0 }, { ".a", "{}", 0 },
		{ "empty", "{}", 0 }, { ".[]", "[false, null, 3]", 1 }, { ".[]", "[false, null]", 0 },
		{ ".type == \"x\"", "{\"type\":\"x\"}", 1 }, { ".n > 2", "{\"n\":2.5}", 1 },
		{ ".", "  {\"a\":1}  ", 1 },
	};
	struct ev_buf out = { 0 }, err = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_jq *q = compile(t[i].expr);
		cr_expect_eq(ev_jq_run(q, t[i].in, strlen(t[i].in), EV_JQ_TEST, &out, &err),
		    t[i].want, "%s on %s", t[i].expr, t[i].in);
		cr_expect_eq(out.len, 0);
		ev_jq_free(q);
	}
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(jq, map_mode_writes_every_output_compactly)
{
	struct ev_jq *q = compile(".items[] | {sku, n: (.n * 2)}");
	struct ev_buf out = { 0 }, err = { 0 };
	const char in[] = "{\"items\": [ {\"sku\": \"a\", \"n\": 1}, {\"sku\": \"b\", \"n\": 2.5} ]}";

	cr_expect_eq(ev_jq_run(q, in, sizeof in - 1, EV_JQ_MAP, &out, &err), 2);
	cr_expect_str_eq(out.p, "{\"sku\":\"a\",\"n\":2}\n{\"sku\":\"b\",\"n\":5}\n");
	ev_buf_reset(&out);
	cr_expect_eq(ev_jq_run(q, "{\"items\":[]}", 12, EV_JQ_MAP, &out, &err), 0);
	cr_expect_eq(out.len, 0);
	ev_jq_free(q);
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(jq, key_mode_takes_the_first_output)
{
	struct ev_jq *q = compile(".id, .other");
	struct ev_buf out = { 0 }, err = { 0 };

	cr_expect_eq(ev_jq_run(q, "{\"id\":\"x1\",\"other\":2}", 21, EV_JQ_KEY, &out, &err), 1);
	cr_expect_str_eq(out.p, "\"x1\"");
	ev_jq_free(q);
	q = compile("empty");
	ev_buf_reset(&out);
	cr_expect_eq(ev_jq_run(q, "{}", 2, EV_JQ_KEY, &out, &err), 0);
	cr_expect_eq(out.len, 0);
	ev_jq_free(q);
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(jq, runtime_errors_belong_to_one_event)
{
	struct ev_jq *q = compile(".a.b");
	struct ev_buf out = { 0 }, err = { 0 };

	cr_expect_eq(ev_jq_run(q, "\"str\"", 5, EV_JQ_TEST, &out, &err), EV_JQ_RUNERR);
	cr_expect_str_eq(err.p, "Cannot index string with string \"a\"");
	/* the same program goes on with the next event */
	cr_expect_eq(ev_jq_run(q, "{\"a\":{\"b\":1}}", 13, EV_JQ_TEST, &out, &err), 1);
	ev_jq_free(q);

	q = compile("error(\"boom\")");
	cr_expect_eq(ev_jq_run(q, "{}", 2, EV_JQ_MAP, &out, &err), EV_JQ_RUNERR);
	cr_expect_str_eq(err.p, "boom");
	ev_jq_free(q);
	q = compile("error({code: 7})");
	cr_expect_eq(ev_jq_run(q, "{}", 2, EV_JQ_TEST, &out, &err), EV_JQ_RUNERR);
	cr_expect_str_eq(err.p, "{\"code\":7} (not a string)");
	ev_jq_free(q);
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(jq, bad_input)
{
	static const char *bad[] = { "", "nope", "{\"a\":1", "{\"a\":1}}", "{} {}", "\"a\tb\"" };
	struct ev_jq *q = compile(".");
	struct ev_buf out = { 0 }, err = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_expect_eq(ev_jq_run(q, bad[i], strlen(bad[i]), EV_JQ_TEST, &out, &err),
		    EV_JQ_BADINPUT, "'%s'", bad[i]);
		cr_expect_gt(err.len, 0, "'%s': no reason", bad[i]);
		cr_expect_eq(ev_jq_valid(bad[i], strlen(bad[i]), NULL), -1, "'%s'", bad[i]);
	}
	cr_expect_eq(ev_jq_valid("[1, {\"a\": null}]", 16, NULL), 0);
	ev_jq_free(q);
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(jq, named_arguments)
{
	struct ev_jqargs *a = ev_jqargs_new();
	struct ev_buf out = { 0 }, err = { 0 };
	struct ev_jq *q;

	cr_assert_eq(ev_jqargs_add(a, "t", "order.placed", 0, &err), 0);
	cr_assert_eq(ev_jqargs_add(a, "min", "100", 1, &err), 0);
	cr_assert_eq(ev_jqargs_add(a, "obj", "{\"k\": [1]}", 1, &err), 0);
	cr_expect_eq(ev_jqargs_add(a, "bad", "{nope", 1, &err), -1);
	cr_expect(strncmp(err.p, "--argjson bad: ", 15) == 0, "%s", err.p);
	q = ev_jq_compile("[$t, $min, $obj.k[0], ($min | type)]", a, &err);
	cr_assert(q, "%s", err.p);
	cr_expect_eq(ev_jq_run(q, "null", 4, EV_JQ_KEY, &out, &err), 1);
	cr_expect_str_eq(out.p, "[\"order.placed\",100,1,\"number\"]");
	ev_jq_free(q);
	cr_expect_null(ev_jq_compile("$nosuch", a, &err));
	cr_expect_str_eq(err.p, "$nosuch is not defined at line 1");
	ev_jqargs_free(a);
	ev_buf_free(&out);
	ev_buf_free(&err);
}

Test(jq, compact)
{
	struct ev_buf out = { 0 };

	cr_expect_eq(ev_jq_compact(" { \"a\" : [ 1 , 2.0 ] } ", 23, &out), 0);
	cr_expect_str_eq(out.p, "{\"a\":[1,2]}");
	cr_expect_eq(ev_jq_compact("{", 1, &out), -1);
	ev_buf_free(&out);
}

/* One parser reads event after event: a bad line, whatever state it leaves,
 * must not change how the next one reads. */
Test(jq, events_after_bad_ones)
{
	static const struct { const char *in; int want; const char *msg; } t[] = {
		{ "{\"a\":1}", 1, NULL },
		{ "{\"a\":1}}", EV_JQ_BADINPUT, "Unmatched '}' at column 8" },
		{ "{\"a\":2}", 1, NULL },
		{ "{} {}", EV_JQ_BADINPUT, "Unexpected extra JSON values" },
		{ "{\"a\":3}", 1, NULL },
		{ "{} [1", EV_JQ_BADINPUT, "Unfinished JSON term at end of line" },
		{ "{\"a\":4}", 1, NULL },
		{ "{\"a\":", EV_JQ_BADINPUT, "Unfinished JSON term at end of line" },
		{ "  ", EV_JQ_BADINPUT, "Expected JSON value" },
		{ "{\"a\":\"open", EV_JQ_BADINPUT, "Unfinished JSON term at end of line" },
		{ "{\"a\":5}", 1, NULL },
		{ "nope", EV_JQ_BADINPUT, "Invalid literal at the end" },
		{ "12", EV_JQ_RUNERR, NULL },
		{ "\xef\xbb", EV_JQ_BADINPUT, NULL },
		{ "{\"a\":6}  ", 1, NULL },
		{ "{\"a\":null}", 0, NULL },
		{ "[1]x", EV_JQ_BADINPUT, NULL },
		{ "{\"a\":7}", 1, NULL },
	};
	struct ev_jq *q = compile(".a");
	struct ev_buf out = { 0 }, err = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int r = ev_jq_run(q, t[i].in, strlen(t[i].in), EV_JQ_TEST, &out, &err);
		cr_expect_eq(r, t[i].want, "line %zu '%s': %d (%s)", i + 1, t[i].in, r, err.p);
		if (t[i].msg)
			cr_expect_str_eq(err.p, t[i].msg, "line %zu", i + 1);
	}
	ev_jq_free(q);
	ev_buf_free(&out);
	ev_buf_free(&err);
}
