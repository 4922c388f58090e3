/* SPDX-License-Identifier: ISC */
/* HTTP locations: what a URL and its parameters say, and what they may not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/url.h"

Test(httpurl, is)
{
	cr_expect(ev_http_is("http://h"));
	cr_expect(ev_http_is("HTTPS://h/x"));
	cr_expect(!ev_http_is("http:/h"));
	cr_expect(!ev_http_is("./http://h"));
	cr_expect(!ev_http_is("amqp://h"));
}

Test(httpurl, defaults)
{
	struct ev_http_conf c;
	struct ev_buf err = { 0 };

	cr_assert_eq(ev_http_parse("https://example.com/hook?k=v&x=1", &c, &err), 0, "%s", err.p);
	cr_expect_str_eq(c.url, "https://example.com/hook?k=v&x=1");
	cr_expect(c.tls);
	cr_expect_eq(c.mode, EV_HTTP_STRUCTURED);
	cr_expect_eq(c.parallel, 1);
	cr_expect_eq(c.batch_size, 100);
	cr_expect_eq(c.retry_ms, 60000);
	cr_expect_eq(c.timeout_ms, 30000);
	cr_expect_eq(c.connect_ms, 10000);
	cr_expect(c.verify);
	cr_expect_null(c.secret);
	cr_expect_null(c.token);
	ev_http_conf_free(&c);
	ev_buf_free(&err);
}

Test(httpurl, params)
{
	struct ev_http_conf c;
	struct ev_buf err = { 0 };

	cr_assert_eq(ev_http_parse("http://h:8080/p?q=1#mode=batch&batch_size=7&parallel=3"
	    "&retry=forever&timeout=2s&connect_timeout=500ms&secret=env:S", &c, &err), 0, "%s", err.p);
	cr_expect_str_eq(c.url, "http://h:8080/p?q=1");
	cr_expect(!c.tls);
	cr_expect_eq(c.mode, EV_HTTP_BATCH);
	cr_expect_eq(c.batch_size, 7);
	cr_expect_eq(c.parallel, 3);
	cr_expect_eq(c.retry_ms, -1);
	cr_expect_eq(c.timeout_ms, 2000);
	cr_expect_eq(c.connect_ms, 500);
	cr_expect_str_eq(c.secret, "env:S");
	ev_http_conf_free(&c);
	cr_assert_eq(ev_http_parse("https://h/#mode=binary&retry=0&verify=none&cacertfile=/c%20a.pem",
	    &c, &err), 0, "%s", err.p);
	cr_expect_eq(c.mode, EV_HTTP_BINARY);
	cr_expect_eq(c.retry_ms, 0);
	cr_expect(!c.verify);
	cr_expect_str_eq(c.cacertfile, "/c a.pem");
	ev_http_conf_free(&c);
	ev_buf_free(&err);
}

Test(httpurl, token)
{
	struct ev_http_conf c;
	struct ev_buf err = { 0 };
	char path[] = "/tmp/evkit-httpurl-XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "t0ken\r\n", 7), 7);
	close(fd);
	setenv("EVKIT_TEST_TOKEN", "abc", 1);
	cr_assert_eq(ev_http_parse("http://h/#token=env:EVKIT_TEST_TOKEN", &c, &err), 0, "%s", err.p);
	cr_expect_str_eq(c.token, "abc");
	ev_http_conf_free(&c);
	char url[128];
	snprintf(url, sizeof url, "http://h/#token=file:%s", path);
	cr_assert_eq(ev_http_parse(url, &c, &err), 0, "%s", err.p);
	cr_expect_str_eq(c.token, "t0ken");
	ev_http_conf_free(&c);
	unlink(path);
	cr_expect_eq(ev_http_parse(url, &c, &err), -1);
	cr_expect(strstr(err.p, "cannot open"), "%s", err.p);
	ev_http_conf_free(&c);
	ev_buf_free(&err);
}

Test(httpurl, refused)
{
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "http://h/#mode=fancy", "mode 'fancy' is not structured, binary or batch" },
		{ "http://h/#colour=blue", "unknown parameter 'colour' (see ev-http(7))" },
		{ "http://h/#mode", "parameter 'mode' has no value (name=value)" },
		{ "http://h/#batch_size=10", "batch_size needs mode=batch" },
		{ "http://h/#mode=batch&batch_size=0", "batch_size '0' is not a count from 1 to 100000" },
		{ "http://h/#parallel=65", "parallel '65' is not a count from 1 to 64" },
		{ "http://h/#retry=soon", "retry 'soon' is not a duration (500ms, 30s, 5m)" },
		{ "http://h/#timeout=0", "timeout '0' is not a duration (500ms, 30s, 5m)" },
		{ "http://h/#cacertfile=/x", "'cacertfile' needs an https:// location" },
		{ "https://h/#certfile=/x", "certfile and keyfile go together" },
		{ "https://h/#verify=maybe", "verify 'maybe' is not peer or none" },
		{ "http://h/#secret=a&secret=b", "'secret' given twice" },
		{ "http://h/#secret=%zz", "parameter 'secret': a bad %-escape" },
		{ "http://u:p@h/", "a password in the location" },
		{ "http://exa mple/", "not an HTTP URL" },
		{ "http://", "not an HTTP URL" },
		{ "ftp://h/", "not an http:// or https:// location" },
	};
	struct ev_http_conf c;
	struct ev_buf err = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_expect_eq(ev_http_parse(bad[i].url, &c, &err), -1, "%s", bad[i].url);
		cr_expect(err.p && strncmp(err.p, bad[i].why, strlen(bad[i].why)) == 0,
		    "%s: got '%s'", bad[i].url, err.p ? err.p : "");
		ev_http_conf_free(&c);
	}
	ev_buf_free(&err);
}
