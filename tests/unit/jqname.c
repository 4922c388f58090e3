/* SPDX-License-Identifier: ISC */
/* jq names known without libjq: the list against libjq's own, and the
 * "cannot compile" answers against libjq's compiler. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "json/jq.h"
#include "json/jqname.h"

Test(jqname, every_builtin_without_arguments_is_known)
{
	struct ev_buf out = { 0 }, err = { 0 };
	struct ev_jq *q = ev_jq_compile(
	    "builtins[] | select(endswith(\"/0\")) | rtrimstr(\"/0\")", NULL, &err);
	size_t n = 0;

	cr_assert_not_null(q, "%s", err.p);
	cr_assert_gt(ev_jq_run(q, "null", 4, EV_JQ_RAW, &out, &err), 100);
	for (char *s = out.p, *e; s < out.p + out.len; s = e + 1) {
		e = strchr(s, '\n');
		cr_expect(ev_jqname_known(s, (size_t)(e - s)), "%.*s/0 is not known",
		    (int)(e - s), s);
		n++;
	}
	cr_expect_gt(n, 100);
	cr_expect(!ev_jqname_known("big", 3));
	cr_expect(ev_jqname_known("true", 4));
	ev_jq_free(q);
	ev_buf_free(&out);
	ev_buf_free(&err);
}

/* Where ev_jqname_maybe_operand says "cannot compile", libjq agrees. */
Test(jqname, maybe_operand_agrees_with_libjq)
{
	static const char *const lhs[] = { ".a", "select(.a == 1)", ".a and .b", "(.a > 1)" };
	static const struct { const char *t; int maybe; } t[] = {
		{ "big.ndjson", 0 }, { "./out.ndjson", 0 }, { "../x/y", 0 }, { "/tmp/x", 0 },
		{ "|gzip > x", 0 }, { "-", 0 }, { "amqp://h/x", 0 }, { "spool/", 0 },
		{ "a-b", 0 }, { "x::y", 0 }, { "./empty", 1 }, { "empty", 1 }, { "true", 1 },
		{ "not", 1 }, { "5", 1 }, { ".b", 1 }, { "$x", 1 }, { "-1", 1 }, { "_x", 1 },
		{ "length", 1 }, { "if . then 1 else 2 end", 1 }, { "\"s\"", 1 },
	};
	struct ev_buf err = { 0 }, prog = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_expect_eq(ev_jqname_maybe_operand(t[i].t, strlen(t[i].t)), t[i].maybe, "%s",
		    t[i].t);
		if (t[i].maybe)
			continue;
		for (size_t j = 0; j < sizeof lhs / sizeof lhs[0]; j++) {
			ev_buf_reset(&prog);
			ev_buf_printf(&prog, "%s > %s", lhs[j], t[i].t);
			struct ev_jq *q = ev_jq_compile(prog.p, NULL, &err);
			cr_expect_null(q, "libjq compiles '%s'", prog.p);
			ev_jq_free(q);
		}
	}
	ev_buf_free(&err);
	ev_buf_free(&prog);
}
