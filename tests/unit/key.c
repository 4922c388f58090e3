/* SPDX-License-Identifier: ISC */
/* json/key: an event's key is the same bytes whether the scanner or jq finds it. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "json/key.h"

static struct ev_key *
compile(const char *expr)
{
	struct ev_buf err = { 0 };
	struct ev_key *k = ev_key_compile(expr, &err);

	cr_assert(k, "%s: %s", expr, err.p);
	ev_buf_free(&err);
	return k;
}

/* The key of line, through the scan when scan, else through jq. */
static int
get(struct ev_key *k, const char *line, enum ev_keyform form, int scan, struct ev_buf *out)
{
	struct ev_buf err = { 0 };
	struct ev_jval v;
	struct ev_jpath *p = ev_key_path(k);

	if (scan && p)
		cr_assert_eq(ev_json_scan(line, strlen(line), &p, 1, &v, NULL), 0);
	int n = ev_key_get(k, scan && p ? &v : NULL, line, strlen(line), form, out, &err);
	ev_buf_free(&err);
	return n;
}

static int
key(const char *expr, const char *line, enum ev_keyform form, int scan, struct ev_buf *out)
{
	struct ev_key *k = compile(expr);
	int n = get(k, line, form, scan, out);

	ev_key_free(k);
	return n;
}

Test(key, scanner_and_jq_agree)
{
	static const struct { const char *expr, *line, *json, *text; int n; } t[] = {
		{ ".k", "{\"k\":\"a\"}", "\"a\"", "a", 1 },
		{ ".k", "{\"k\":\"a\\\"b\\u0041\"}", "\"a\\\"bA\"", "a\"bA", 1 },
		{ ".k", "{\"k\":12}", "12", "12", 1 },
		{ ".k", "{\"k\":1.50}", "1.5", "1.5", 1 },
		{ ".k", "{\"k\":{\"a b\": [1, 2]}}", "{\"a b\":[1,2]}", "{\"a b\":[1,2]}", 1 },
		{ ".k", "{\"k\":\"\"}", "\"\"", "", 1 },
		{ ".k", "{\"k\":null}", "", "", 0 },
		{ ".k", "{}", "", "", 0 },
		{ ".k.a", "{\"k\":{\"a\":true}}", "true", "true", 1 },
	};
	struct ev_buf out = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_key *k = compile(t[i].expr);
		cr_expect(ev_key_path(k), "%s is a path", t[i].expr);
		for (int scan = 0; scan < 2; scan++) {
			cr_expect_eq(get(k, t[i].line, EV_KEY_JSON, scan, &out), t[i].n,
			    "%s on %s", t[i].expr, t[i].line);
			cr_expect_str_eq(out.p ? out.p : "", t[i].json, "%s on %s (scan %d)",
			    t[i].expr, t[i].line, scan);
			cr_expect_eq(get(k, t[i].line, EV_KEY_TEXT, scan, &out), t[i].n);
			cr_expect_str_eq(out.p ? out.p : "", t[i].text, "%s on %s (scan %d, text)",
			    t[i].expr, t[i].line, scan);
		}
		ev_key_free(k);
	}
	ev_buf_free(&out);
}

Test(key, a_path_jq_refuses_goes_to_jq)
{
	struct ev_buf out = { 0 };

	cr_expect(key(".k.a", "{\"k\":1}", EV_KEY_JSON, 1, &out) == EV_JQ_RUNERR);
	cr_expect(key(".k | ascii_downcase", "{\"k\":\"AB\"}", EV_KEY_TEXT, 1, &out) == 1);
	cr_expect_str_eq(out.p, "ab");
	cr_expect(key("empty", "{}", EV_KEY_JSON, 1, &out) == 0);
	ev_buf_free(&out);
}

Test(key, source_and_id)
{
	static const char *paths[] = { ".source", ".id" };
	static const struct { const char *line; int n; size_t len; const char *bytes; } t[] = {
		{ "{\"id\":\"a\"}", 1, 6, "s\1\0\0\0a" },
		{ "{\"id\":\"\\u0061\"}", 1, 6, "s\1\0\0\0a" },
		{ "{\"id\":7,\"source\":\"s\"}", 1, 13, "ps\1\0\0\0sr\1\0\0\0007" },
		{ "{\"source\":\"s\"}", 0, 0, "" },
		{ "{\"id\":null}", 0, 0, "" },
	};
	struct ev_jpath *p[2];
	struct ev_jval v[2];
	struct ev_buf out = { 0 }, err = { 0 };

	for (int i = 0; i < 2; i++)
		cr_assert(p[i] = ev_jpath_compile(paths[i], &err));
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_assert_eq(ev_json_scan(t[i].line, strlen(t[i].line), p, 2, v, NULL), 0);
		cr_expect_eq(ev_key_sourceid(&v[0], &v[1], &out), t[i].n, "%s", t[i].line);
		cr_expect_eq(out.len, t[i].len, "%s", t[i].line);
		if (out.len == t[i].len)
			cr_expect(memcmp(out.p, t[i].bytes, out.len) == 0, "%s", t[i].line);
	}
	for (int i = 0; i < 2; i++)
		ev_jpath_free(p[i]);
	ev_buf_free(&out);
	ev_buf_free(&err);
}
