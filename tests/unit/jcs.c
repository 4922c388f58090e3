/* SPDX-License-Identifier: ISC */
/* lib/sign: the canonical form (RFC 8785, with its own examples) and
 * signatures made and checked over it. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "sign/jcs.h"
#include "sign/sign.h"

static int
canon(const char *in, const char *skip, struct ev_buf *out, const char **why)
{
	struct ev_jcs *j = ev_jcs_new();
	size_t n = strlen(in);
	char *exact = malloc(n ? n : 1); /* no NUL after it: ASan sees a read past the end */
	int r;

	memcpy(exact, in, n);
	ev_buf_reset(out);
	r = ev_jcs(j, out, exact, n, skip, why);
	free(exact);
	ev_jcs_free(j);
	return r;
}

Test(jcs, rfc8785_example)
{
	struct ev_buf out = { 0 };
	const char *why = NULL;

	cr_assert_eq(canon("{\n  \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
	    "0.000000000000000000000000001],\n  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042"
	    "\\u0022\\u005c\\\\\\\"\\/\",\n  \"literals\": [null, true, false]\n}", NULL, &out,
	    &why), 0, "%s", why);
	cr_expect_str_eq(out.p, "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,"
	    "1e+30,4.5,0.002,1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
	ev_buf_free(&out);
}

/* RFC 8785 3.2.3: names sorted as UTF-16 code units (the emoji, a surrogate
 * pair, before U+FB33 although its code point is larger). */
Test(jcs, rfc8785_sorting)
{
	struct ev_buf out = { 0 };
	const char *why = NULL;

	cr_assert_eq(canon("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":"
	    "\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":"
	    "\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":"
	    "\"Latin Small Letter O With Diaeresis\"}", NULL, &out, &why), 0, "%s", why);
	const char *order[] = { "Carriage Return", "One", "Control",
		"Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face",
		"Hebrew Letter Dalet With Dagesh" };
	const char *at = out.p;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		const char *p = strstr(out.p, order[i]);
		cr_assert_not_null(p, "%s", order[i]);
		cr_expect_gt(p, at, "%s out of order in %s", order[i], out.p);
		at = p;
	}
	ev_buf_free(&out);
}

/* RFC 8785 appendix B: IEEE 754 doubles and their ECMAScript form. */
Test(jcs, rfc8785_numbers)
{
	static const struct { uint64_t bits; const char *want; } t[] = {
		{ 0x0000000000000000, "0" }, { 0x8000000000000000, "0" },
		{ 0x0000000000000001, "5e-324" }, { 0x8000000000000001, "-5e-324" },
		{ 0x7fefffffffffffff, "1.7976931348623157e+308" },
		{ 0xffefffffffffffff, "-1.7976931348623157e+308" },
		{ 0x4340000000000000, "9007199254740992" },
		{ 0xc340000000000000, "-9007199254740992" },
		{ 0x4430000000000000, "295147905179352830000" },
		{ 0x44b52d02c7e14af5, "9.999999999999997e+22" },
		{ 0x44b52d02c7e14af6, "1e+23" },
		{ 0x44b52d02c7e14af7, "1.0000000000000001e+23" },
		{ 0x444b1ae4d6e2ef4e, "999999999999999700000" },
		{ 0x444b1ae4d6e2ef4f, "999999999999999900000" },
		{ 0x444b1ae4d6e2ef50, "1e+21" },
		{ 0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7" },
		{ 0x3eb0c6f7a0b5ed8d, "0.000001" },
		{ 0x41b3de4355555553, "333333333.3333332" },
		{ 0x41b3de4355555554, "333333333.33333325" },
		{ 0x41b3de4355555555, "333333333.3333333" },
		{ 0x41b3de4355555556, "333333333.3333334" },
		{ 0x41b3de4355555557, "333333333.33333343" },
		{ 0xbecbf647612f3696, "-0.0000033333333333333333" },
		{ 0x43143ff3c1cb0959, "1424953923781206.2" },
	};
	struct ev_buf out = { 0 };
	const char *why = NULL;
	char in[64];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		double d;
		memcpy(&d, &t[i].bits, sizeof d);
		snprintf(in, sizeof in, "%.17g", d);
		cr_assert_eq(canon(in, NULL, &out, &why), 0, "%s: %s", in, why);
		cr_expect_str_eq(out.p, t[i].want, "%016llx (%s)", (unsigned long long)t[i].bits, in);
	}
	ev_buf_free(&out);
}

Test(jcs, forms)
{
	static const struct { const char *in, *skip, *want; } t[] = {
		{ " { \"b\" : [ 1 , { \"d\":1,\"c\":2 } ] , \"a\" : \"\" } ", NULL,
		  "{\"a\":\"\",\"b\":[1,{\"c\":2,\"d\":1}]}" },
		{ "{\"evsig\":\"x\",\"id\":\"1\",\"data\":{\"evsig\":1}}", "evsig",
		  "{\"data\":{\"evsig\":1},\"id\":\"1\"}" },
		{ "{\"evsig\":\"x\"}", "evsig", "{}" },
		{ "{}", "evsig", "{}" },
		{ "[]", NULL, "[]" },
		{ "\"\\u007f\\u2028\\/\\t\\u001f\"", NULL, "\"\x7f\xe2\x80\xa8/\\t\\u001f\"" },
		{ "[1.0, -0.0, 1e2, 1E-7, 123456789012345678901234]", NULL,
		  "[1,0,100,1e-7,1.2345678901234569e+23]" },
		{ "{\"a\":\"\xc3\xa9\",\"A\":\"\\u00e9\"}", NULL,
		  "{\"A\":\"\xc3\xa9\",\"a\":\"\xc3\xa9\"}" },
	};
	struct ev_buf out = { 0 };
	const char *why = NULL;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_assert_eq(canon(t[i].in, t[i].skip, &out, &why), 0, "%s: %s", t[i].in, why);
		cr_expect_str_eq(out.p, t[i].want, "%s", t[i].in);
	}
	ev_buf_free(&out);
}

Test(jcs, refused)
{
	static const struct { const char *in, *skip, *why; } t[] = {
		{ "{\"a\":1,\"a\":2}", NULL, "duplicate member name" },
		{ "{\"a\":1,\"\\u0061\":2}", NULL, "duplicate member name" },
		{ "\"\\ud800\"", NULL, "lone surrogate" },
		{ "\"\\udc00\"", NULL, "lone surrogate" },
		{ "\"\xed\xa0\x80\"", NULL, "lone surrogate" },
		{ "\"\xc0\xaf\"", NULL, "invalid UTF-8" },
		{ "1e400", NULL, "number out of range" },
		{ "[1,]", NULL, "unexpected character" },
		{ "{} {}", NULL, "trailing characters" },
		{ "[1]", "evsig", "not a JSON object" },
		{ "01", NULL, "trailing characters" },
		{ "{\"a\"", NULL, "expected ':'" },
		{ "", NULL, "unexpected end" },
		{ "\"a\nb\"", NULL, "control character in a string" },
	};
	struct ev_buf out = { 0 };
	const char *why = NULL;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_expect_eq(canon(t[i].in, t[i].skip, &out, &why), -1, "%s accepted", t[i].in);
		cr_expect_str_eq(why, t[i].why, "%s", t[i].in);
	}
	ev_buf_free(&out);
}

Test(jcs, nesting)
{
	struct ev_buf in = { 0 }, out = { 0 };
	const char *why = NULL;

	for (int i = 0; i < 300; i++)
		ev_buf_addc(&in, '[');
	for (int i = 0; i < 300; i++)
		ev_buf_addc(&in, ']');
	cr_expect_eq(canon(in.p, NULL, &out, &why), -1);
	cr_expect_str_eq(why, "nesting too deep");
	ev_buf_free(&in);
	ev_buf_free(&out);
}

/* A key pair in a scratch directory; the keyring is the .pub beside it. */
static char dir[64], keypath[96], pubpath[100];

static void
mkkeys(void)
{
	char *src[] = { "/shop", "/shop/*" };

	strcpy(dir, "/tmp/evkit-jcs-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(keypath, sizeof keypath, "%s/k", dir);
	snprintf(pubpath, sizeof pubpath, "%s/k.pub", dir);
	cr_assert_eq(ev_keygen(keypath, "shop1", src, 2), 0);
}

static void
rmkeys(void)
{
	unlink(keypath);
	unlink(pubpath);
	rmdir(dir);
}

Test(sign, sign_and_verify, .init = mkkeys, .fini = rmkeys)
{
	struct ev_signer *s = ev_signer_load(keypath);
	struct ev_keyring *k = ev_keyring_load(pubpath);
	struct ev_buf out = { 0 }, why = { 0 }, re = { 0 };
	const char *w = NULL;
	const char *ev = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/shop/eu\",\"type\":\"t\","
	    "\"data\":{\"n\":1.50,\"s\":\"\\u00e9\"}}";

	cr_assert_not_null(s);
	cr_assert_not_null(k);
	cr_assert_eq(ev_sign_line(s, &out, ev, strlen(ev), &w), 0, "%s", w);
	cr_expect_eq(strncmp(out.p, ev, strlen(ev) - 1), 0, "the bytes before are kept: %s", out.p);
	cr_expect_eq(ev_verify_line(k, out.p, out.len, &why), 0, "%s", why.p);

	/* reformatted (whitespace, order, escapes, number spelling): still good */
	ev_buf_adds(&re, "{ \"data\" : {\"s\":\"\xc3\xa9\", \"n\": 1.5e0}, ");
	ev_buf_add(&re, out.p + 1, out.len - 1);
	char *d = strstr(re.p + 40, ",\"data\":{");
	cr_assert_not_null(d);
	char *e = strstr(d, "}") + 1;
	memmove(d, e, strlen(e) + 1);
	re.len = strlen(re.p);
	cr_expect_eq(ev_verify_line(k, re.p, re.len, &why), 0, "%s: %s", re.p, why.p);

	/* signing again replaces the signature, never adds a second one */
	ev_buf_reset(&re);
	cr_assert_eq(ev_sign_line(s, &re, out.p, out.len, &w), 0, "%s", w);
	cr_expect_str_eq(re.p, out.p);

	/* one byte changed */
	char *n = strstr(out.p, "1.50");
	n[2] = '6';
	cr_expect_eq(ev_verify_line(k, out.p, out.len, &why), -1);
	cr_expect_str_eq(why.p, "bad signature (key 'shop1')");

	ev_buf_free(&out);
	ev_buf_free(&why);
	ev_buf_free(&re);
	ev_signer_free(s);
	ev_keyring_free(k);
}

Test(sign, refusals, .init = mkkeys, .fini = rmkeys)
{
	struct ev_signer *s = ev_signer_load(keypath);
	struct ev_keyring *k = ev_keyring_load(pubpath);
	struct ev_buf out = { 0 }, why = { 0 };
	const char *w = NULL;
	const char *foreign = "{\"id\":\"1\",\"source\":\"/payments\",\"type\":\"t\"}";
	const char *unsigned_ = "{\"id\":\"1\",\"source\":\"/shop\",\"type\":\"t\"}";
	const char *unknown = "{\"id\":\"1\",\"source\":\"/shop\",\"evkeyid\":\"other\",\"evsig\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"}";

	cr_assert_eq(ev_sign_line(s, &out, foreign, strlen(foreign), &w), 0);
	cr_expect_eq(ev_verify_line(k, out.p, out.len, &why), -1);
	cr_expect_str_eq(why.p, "foreign source '/payments': key 'shop1' does not sign for it");
	cr_expect_eq(ev_verify_line(k, unsigned_, strlen(unsigned_), &why), -1);
	cr_expect_str_eq(why.p, "unsigned event (no evsig)");
	cr_expect_eq(ev_verify_line(k, unknown, strlen(unknown), &why), -1);
	cr_expect_str_eq(why.p, "unknown key 'other'");
	cr_expect_eq(ev_verify_line(k, "[1]", 3, &why), -1);
	cr_expect_eq(ev_sign_line(s, &out, "{\"a\":1,\"a\":2}", 13, &w), -1);
	cr_expect_str_eq(w, "duplicate member name");

	/* a secret key others may read is refused */
	chmod(keypath, 0640);
	cr_expect_null(ev_signer_load(keypath));
	ev_buf_free(&out);
	ev_buf_free(&why);
	ev_signer_free(s);
	ev_keyring_free(k);
}
