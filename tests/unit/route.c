/* SPDX-License-Identifier: ISC */
/* evroute's rule syntax: what parses, and where a bad rule is pointed at. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "json/jsonscan.h"
#include "json/pred.h"
#include "route/router.h"

Test(route, parse)
{
	static const struct { const char *rule; size_t col; const char *msg; } t[] = {
		/* col 0: the rule parses */
		{ "order.* > warehouse.ndjson", 0, NULL },
		{ "order.*>w", 0, NULL },
		{ "# > archive.ndjson", 0, NULL },
		{ "#.done > d", 0, NULL },
		{ "payment.failed > |alert --level 'a > b'", 0, NULL },
		{ "order.*", 0, NULL },                                  /* to -o */
		{ "type:.x > y", 0, NULL },
		{ "source:https://shop.example.com/* > s", 0, NULL },
		{ "subject:orders/* > s", 0, NULL },
		{ "select(.data.amount > 500) > big.ndjson", 0, NULL },
		{ ".data.amount > 500 > big.ndjson", 0, NULL },         /* last '>' */
		{ ".data.amount >= 500 > big.ndjson", 0, NULL },
		{ "(.data.amount > 500)", 0, NULL },
		{ ".type == \"a>b\" > x", 0, NULL },
		{ "\"\\(.a > 1)\" == \"true\" > x", 0, NULL },
		{ "  order.*   >   w  ", 0, NULL },
		/* problems, with the column they point at */
		{ "", 1, "empty" },
		{ "   ", 1, "empty" },
		{ "> a", 1, "match must come" },
		{ "  > a", 3, "match must come" },
		{ "order.* >", 9, "destination must follow" },
		{ "order.* >   ", 9, "destination must follow" },
		{ "order.*x > a", 7, "whole word" },
		{ "a.#b > a", 3, "whole word" },
		{ "order.* warehouse", 9, "expected '>'" },
		{ "Source:/x > a", 1, "attribute name" },
		{ "averyveryverylongattributename:x > a", 1, "attribute name" },
		{ ".a > 5", 4, "ambiguous" },
		{ "select(.x > 1", 1, "jq" },
		{ "select(.x) >", 12, "destination must follow" },
		{ "length > 3 > big", 12, "a second '>'" },
		{ "order.* > |sh -c 'cat > x'", 0, NULL },
		/* the whole rule is jq or not, known with or without libjq */
		{ ".a > ./x.ndjson", 0, NULL },
		{ ".a > ../x/y.ndjson", 0, NULL },
		{ "(.a | floor) > out.ndjson", 0, NULL },
		{ ".a > empty", 4, "ambiguous" },
		{ ".a > true", 4, "ambiguous" },
		{ ".a > ./empty", 4, "ambiguous" },
		{ ".a # c > x", 8, "ambiguous" },
		{ "def x: 1; .a > x", 14, "ambiguous" },
		{ "(.a | floor) > length", 14, "ambiguous" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_router_conf c = { 0 };
		struct ev_router *rt = ev_router_new(&c);
		struct ev_buf err = { 0 };
		int r = ev_router_add(rt, t[i].rule, "rule 1", &err);

		if (!t[i].col) {
			cr_expect_eq(r, 0, "'%s': %s", t[i].rule, err.p);
		} else {
			char want[64];
			snprintf(want, sizeof want, ": column %zu: ", t[i].col);
			cr_expect_eq(r, -1, "'%s' parsed", t[i].rule);
			cr_expect(err.p && strstr(err.p, want), "'%s': want%s got %s", t[i].rule, want, err.p);
			cr_expect(err.p && strstr(err.p, t[i].msg), "'%s': want %s, got %s", t[i].rule,
			    t[i].msg, err.p);
			cr_expect(err.p && strncmp(err.p, "rule 1: '", 9) == 0, "%s", err.p);
		}
		ev_buf_free(&err);
		ev_router_free(rt);
	}
}

Test(route, rules_file)
{
	char path[] = "/tmp/evroute-unit-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] =
	    "# the warehouse\n"
	    "\n"
	    "   # indented comment\n"
	    "#\n"
	    "order.* > w.ndjson\r\n"
	    "# > archive.ndjson\n"
	    "#.done > d.ndjson\n"
	    "\t\n";
	struct ev_router_conf c = { 0 };
	struct ev_router *rt = ev_router_new(&c);
	struct ev_buf err = { 0 };

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	cr_expect_eq(ev_router_load(rt, path, &err), 0, "%s", err.p);
	cr_expect_eq(ev_router_nrules(rt), 3);
	ev_router_free(rt);

	/* A bad line is named by file and line. */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "# ok\norder.* > a\nbad.*x > b\n", 27), 27);
	close(fd);
	rt = ev_router_new(&c);
	cr_expect_eq(ev_router_load(rt, path, &err), -1);
	char want[64];
	snprintf(want, sizeof want, "%s:3: 'bad.*x > b': column 5:", path);
	cr_expect(strstr(err.p, want), "%s", err.p);
	ev_router_free(rt);
	unlink(path);
	ev_buf_free(&err);
}

/* A broker's password never shows in a message about a rule. */
Test(route, password_hidden)
{
	static const struct { const char *rule, *shown; } t[] = {
		{ "a.*x > amqp://u:secret@h/?queue=q", "'a.*x > amqp://u:****@h/?queue=q'" },
		{ "a.*x > amqps://u:secret@h:5671/", "'a.*x > amqps://u:****@h:5671/'" },
		{ "a.*x > amqp://u@h/", "'a.*x > amqp://u@h/'" },
		{ "a.*x > amqpfile", "'a.*x > amqpfile'" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_router_conf c = { 0 };
		struct ev_router *rt = ev_router_new(&c);
		struct ev_buf err = { 0 };

		cr_expect_eq(ev_router_add(rt, t[i].rule, "rule 1", &err), -1);
		cr_expect(strstr(err.p, t[i].shown), "want %s in %s", t[i].shown, err.p);
		cr_expect(!strstr(err.p, "secret"), "%s", err.p);
		ev_buf_free(&err);
		ev_router_free(rt);
	}
}

/* evroute scans an event once for every rule's paths and evaluates each
 * fast-path rule on what that scan found: the same answers as the rule's
 * own scan (ev_pred_eval), whatever other paths share the scan. */
Test(route, shared_scan_equals_own_scan)
{
	static const char *const exprs[] = {
		".type == \"order.placed\"", ".data.amount > 50", ".data.items[0].qty >= 2",
		"select(.subject | startswith(\"orders/\"))", ".data.customer.tier // \"none\" == \"gold\"",
		"has(\"data\") and (.data.amount < 10 or .type == \"x\")", ".a.b", "(.data.amount | . > 3) | not",
	};
	static const char *const lines[] = {
		"{\"type\":\"order.placed\",\"subject\":\"orders/1\",\"data\":{\"amount\":81.5,"
		"\"items\":[{\"qty\":3}],\"customer\":{\"tier\":\"gold\"}}}",
		"{\"type\":\"x\",\"data\":{\"amount\":5}}",
		"{\"type\":\"user.login\",\"subject\":7,\"data\":null,\"a\":{\"b\":false}}",
		"{\"data\":{\"amount\":\"9\",\"items\":[]},\"a\":{\"b\":\"\\u0041\"}}",
		"{\"a\":1}",
	};
	enum { NE = sizeof exprs / sizeof exprs[0] };
	struct ev_pred *p[NE];
	struct ev_jpath *paths[EV_JPATH_MAX];
	struct ev_jval vals[EV_JPATH_MAX];
	size_t *slots[NE], np = 0;
	struct ev_buf why = { 0 };

	/* one path table for all, in reverse, so that slots differ from indexes */
	for (size_t i = 0; i < NE; i++) {
		p[i] = ev_pred_compile(exprs[i], NULL, 0, &why);
		cr_assert_not_null(p[i], "%s: %s", exprs[i], why.p);
		slots[i] = calloc(ev_pred_npaths(p[i]) + 1, sizeof *slots[i]);
		for (size_t k = ev_pred_npaths(p[i]); k-- > 0;) {
			paths[np] = ev_jpath_compile(ev_pred_path(p[i], k), &why);
			cr_assert_not_null(paths[np]);
			slots[i][k] = np++;
		}
	}
	for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
		struct ev_jerr jerr;
		cr_assert_eq(ev_json_scan(lines[l], strlen(lines[l]), paths, np, vals, &jerr), 0);
		for (size_t i = 0; i < NE; i++) {
			int found = ev_pred_eval_found(p[i], vals, slots[i]);
			int own = ev_pred_eval(p[i], lines[l], strlen(lines[l]), &jerr);
			cr_expect_eq(found, own, "%s on %s: %d, own scan %d", exprs[i], lines[l], found,
			    own);
		}
	}
	for (size_t i = 0; i < NE; i++) {
		ev_pred_free(p[i]);
		free(slots[i]);
	}
	for (size_t i = 0; i < np; i++)
		ev_jpath_free(paths[i]);
	ev_buf_free(&why);
}
