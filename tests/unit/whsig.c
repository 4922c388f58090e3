/* SPDX-License-Identifier: ISC */
/* Webhook signatures: the published Standard Webhooks and GitHub examples, rotation, replays. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/whsig.h"

/* The example in the Standard Webhooks specification's reference libraries. */
static const char SECRET[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char MSGID[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static const char BODY[] = "{\"test\": 2432232314}";
static const char SIG[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
#define TS 1614265330LL

static int
key(unsigned char *k)
{
	int n = ev_whsig_key(SECRET, strlen(SECRET), k, EV_WHSIG_KEYMAX);

	cr_assert_eq(n, 24);
	return n;
}

Test(whsig, sign_matches_the_specification)
{
	unsigned char k[EV_WHSIG_KEYMAX];
	int n = key(k);
	char out[EV_WHSIG_SIGMAX];

	cr_assert_eq(ev_whsig_sign(k, n, MSGID, TS, BODY, strlen(BODY), out, sizeof out),
	    (int)strlen(SIG));
	cr_assert_str_eq(out, SIG);
	cr_assert_eq(ev_whsig_sign(k, n, MSGID, TS, BODY, strlen(BODY), out, 20), -1);
}

Test(whsig, verify_table)
{
	unsigned char k[EV_WHSIG_KEYMAX];
	int n = key(k);
	static const struct {
		const char *id, *ts, *sig, *body;
		long long now;
		int rc;
	} t[] = {
		{ MSGID, "1614265330", SIG, BODY, TS, EV_WHSIG_OK },
		/* rotation: several entries, other versions skipped */
		{ MSGID, "1614265330", "v1a,AAAA v1,Zm9v " "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, TS, EV_WHSIG_OK },
		{ MSGID, "1614265330", SIG, BODY, TS + 300, EV_WHSIG_OK },
		{ MSGID, "1614265330", SIG, BODY, TS - 300, EV_WHSIG_OK },
		{ MSGID, "1614265330", SIG, BODY, TS + 301, EV_WHSIG_STALE },
		{ MSGID, "1614265330", SIG, BODY, TS - 301, EV_WHSIG_STALE },
		{ MSGID, "1614265331", SIG, BODY, TS, EV_WHSIG_NOMATCH },
		{ "msg_other", "1614265330", SIG, BODY, TS, EV_WHSIG_NOMATCH },
		{ MSGID, "1614265330", SIG, "{\"test\": 2432232315}", TS, EV_WHSIG_NOMATCH },
		{ MSGID, "1614265330", "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, TS, EV_WHSIG_NOMATCH },
		{ MSGID, "1614265330", "v1,", BODY, TS, EV_WHSIG_NOMATCH },
		{ MSGID, "1614265330", "v1,!!!!", BODY, TS, EV_WHSIG_NOMATCH },
		{ MSGID, "1614265330", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, TS, EV_WHSIG_NOMATCH },
		{ MSGID, "16142653x0", SIG, BODY, TS, EV_WHSIG_BADTS },
		{ MSGID, "-1614265330", SIG, BODY, TS, EV_WHSIG_BADTS },
		{ MSGID, "99999999999999999999999", SIG, BODY, TS, EV_WHSIG_BADTS },
		{ MSGID, "", SIG, BODY, TS, EV_WHSIG_MISSING },
		{ NULL, "1614265330", SIG, BODY, TS, EV_WHSIG_MISSING },
		{ MSGID, "1614265330", NULL, BODY, TS, EV_WHSIG_MISSING },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = ev_whsig_verify(k, n, t[i].id, t[i].ts, t[i].sig, t[i].body,
		    strlen(t[i].body), t[i].now, EV_WHSIG_TOLERANCE);
		cr_expect_eq(rc, t[i].rc, "case %zu: %d (%s)", i, rc, ev_whsig_strerror(rc));
	}
}

Test(whsig, roundtrip_with_binary_body)
{
	unsigned char k[] = "raw key bytes, not whsec";
	char body[] = "a\0b\nc", out[EV_WHSIG_SIGMAX];

	cr_assert_gt(ev_whsig_sign(k, sizeof k - 1, "id1", 42, body, sizeof body, out, sizeof out), 0);
	cr_expect_eq(ev_whsig_verify(k, sizeof k - 1, "id1", "42", out, body, sizeof body, 42, 0),
	    EV_WHSIG_OK);
	cr_expect_eq(ev_whsig_verify(k, sizeof k - 2, "id1", "42", out, body, sizeof body, 42, 0),
	    EV_WHSIG_NOMATCH);
}

/* GitHub's documented example for X-Hub-Signature-256. */
Test(whsig, github)
{
	const char *secret = "It's a Secret to Everybody", *body = "Hello, World!";
	const char *want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	unsigned char k[EV_WHSIG_KEYMAX];
	int n = ev_whsig_key(secret, strlen(secret), k, sizeof k);
	char out[80];

	cr_assert_eq(ev_whsig_github_sign(k, n, body, strlen(body), out, sizeof out), (int)strlen(want));
	cr_assert_str_eq(out, want);
	cr_expect_eq(ev_whsig_github_verify(k, n, want, body, strlen(body)), EV_WHSIG_OK);
	cr_expect_eq(ev_whsig_github_verify(k, n, want, "Hello, World?", 13), EV_WHSIG_NOMATCH);
	cr_expect_eq(ev_whsig_github_verify(k, n, "sha1=757107ea", body, strlen(body)), EV_WHSIG_NOMATCH);
	cr_expect_eq(ev_whsig_github_verify(k, n, "sha256=zz", body, strlen(body)), EV_WHSIG_NOMATCH);
	cr_expect_eq(ev_whsig_github_verify(k, n, "", body, strlen(body)), EV_WHSIG_MISSING);
}

/* A request's headers under the keys a server has: which header counts. */
Test(whsig, request)
{
	unsigned char k[EV_WHSIG_KEYMAX];
	int n = key(k);
	const unsigned char gh[] = "It's a Secret to Everybody";
	const char *ghsig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	struct ev_whsig_keys none = { 0 }, std = { k, (size_t)n, NULL, 0, 300 },
	    both = { k, (size_t)n, gh, sizeof gh - 1, 300 };
	struct ev_hdr wh[] = { { "Webhook-Id", MSGID }, { "webhook-timestamp", "1614265330" },
		{ "WEBHOOK-SIGNATURE", SIG } };
	struct ev_hdr gith[] = { { "X-Hub-Signature-256", ghsig } };
	const char *why;

	cr_expect_null(ev_whsig_request(&none, NULL, 0, "x", 1, TS));
	cr_expect_null(ev_whsig_request(&std, wh, 3, BODY, strlen(BODY), TS));
	cr_expect_str_eq(ev_whsig_request(&std, wh, 3, BODY, strlen(BODY), TS + 301),
	    "webhook-timestamp outside the tolerance");
	cr_expect_str_eq(ev_whsig_request(&std, wh, 2, BODY, strlen(BODY), TS),
	    "a webhook-signature header is required");
	/* with both secrets, a request may carry either signature */
	cr_expect_null(ev_whsig_request(&both, gith, 1, "Hello, World!", 13, TS));
	cr_expect_null(ev_whsig_request(&both, wh, 3, BODY, strlen(BODY), TS));
	why = ev_whsig_request(&both, gith, 1, "Hello, World?", 13, TS);
	cr_expect(why && strstr(why, "X-Hub-Signature-256"), "%s", why);
	cr_expect_str_eq(ev_whsig_request(&std, gith, 1, "Hello, World!", 13, TS),
	    "a webhook-signature header is required");
}

Test(whsig, loadkey_from_file_and_environment)
{
	char path[] = "/tmp/whsig-XXXXXX";
	unsigned char k[EV_WHSIG_KEYMAX];
	int fd = mkstemp(path), n;
	char spec[64];

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 39), 39);
	close(fd);
	n = ev_whsig_loadkey(path, k, sizeof k);
	cr_expect_eq(n, 24);
	snprintf(spec, sizeof spec, "file:%s", path);
	cr_expect_eq(ev_whsig_loadkey(spec, k, sizeof k), 24);
	unlink(path);
	cr_expect_eq(ev_whsig_loadkey(path, k, sizeof k), -1);

	setenv("EVKIT_TEST_SECRET", "plain secret", 1);
	n = ev_whsig_loadkey("env:EVKIT_TEST_SECRET", k, sizeof k);
	cr_expect_eq(n, 12);
	cr_expect_eq(memcmp(k, "plain secret", 12), 0);
	cr_expect_eq(ev_whsig_loadkey("env:EVKIT_TEST_UNSET_SECRET", k, sizeof k), -1);
	setenv("EVKIT_TEST_SECRET", "whsec_not*base64", 1);
	cr_expect_eq(ev_whsig_loadkey("env:EVKIT_TEST_SECRET", k, sizeof k), -1);
	cr_expect_eq(ev_whsig_loadkey("env:EVKIT_TEST_SECRET", k, 4), -1);
}
