/* SPDX-License-Identifier: ISC */
/* Broker locations: what a URL says, what it may not say, where the password comes from. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "amqp/url.h"

static void
noenv(void)
{
	unsetenv("EVKIT_AMQP_PASSWORD");
	unsetenv("EVKIT_AMQP_PASSWORD_FILE");
	unsetenv("EVKIT_AMQP_ALLOW_URL_PASSWORD");
}

TestSuite(amqpurl, .init = noenv);

Test(amqpurl, is)
{
	cr_expect(ev_amqp_is("amqp://h"));
	cr_expect(ev_amqp_is("AMQPS://h"));
	cr_expect(!ev_amqp_is("amqp:/h"));
	cr_expect(!ev_amqp_is("./amqp://h"));
	cr_expect(!ev_amqp_is("-"));
}

Test(amqpurl, parse)
{
	static const struct {
		const char *url;
		int sink;
		const char *host, *user, *vhost, *exchange, *queue;
		int port, tls;
	} ok[] = {
		{ "amqp://h?queue=q", 0, "h", "guest", "/", "", "q", 5672, 0 },
		{ "amqp://h/?queue=q", 0, "h", "guest", "/", "", "q", 5672, 0 },
		{ "amqp://h/%2f?queue=q", 0, "h", "guest", "/", "", "q", 5672, 0 },
		{ "amqp://h:1234/prod?queue=a%20b", 0, "h", "guest", "prod", "", "a b", 1234, 0 },
		{ "amqps://h/", 1, "h", "guest", "/", "", NULL, 5671, 1 },
		{ "AMQP://[::1]:5/v?exchange=ex", 1, "::1", "guest", "v", "ex", NULL, 5, 0 },
		{ "amqp://127.0.0.1/?exchange=amq.topic&routing_key=a.b", 1, "127.0.0.1", "guest", "/",
		  "amq.topic", NULL, 5672, 0 },
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct ev_amqp_conf c;
		struct ev_buf err = { 0 };
		int r = ev_amqp_parse(ok[i].url, ok[i].sink, &c, &err);
		cr_expect_eq(r, 0, "%s: %s", ok[i].url, err.p);
		if (r == 0) {
			cr_expect_str_eq(c.host, ok[i].host, "%s", ok[i].url);
			cr_expect_str_eq(c.user, ok[i].user, "%s", ok[i].url);
			cr_expect_str_eq(c.vhost, ok[i].vhost, "%s", ok[i].url);
			cr_expect_str_eq(c.exchange, ok[i].exchange, "%s", ok[i].url);
			if (ok[i].queue)
				cr_expect_str_eq(c.queue, ok[i].queue, "%s", ok[i].url);
			else
				cr_expect_null(c.queue, "%s", ok[i].url);
			cr_expect_eq(c.port, ok[i].port, "%s", ok[i].url);
			cr_expect_eq(c.tls, ok[i].tls, "%s", ok[i].url);
			cr_expect_str_eq(c.password, "guest", "%s", ok[i].url);
		}
		ev_amqp_conf_free(&c);
		ev_buf_free(&err);
	}
}

Test(amqpurl, params)
{
	struct ev_amqp_conf c;
	struct ev_buf err = { 0 };

	cr_assert_eq(ev_amqp_parse("amqp://h/?queue=q&exchange=x&declare=1&binding_key=a.*"
	    "&binding_key=b.%23&prefetch=50&idle=250ms&retry=forever&heartbeat=0"
	    "&queue_type=stream&stream_offset=first&connect_timeout=2s", 0, &c, &err), 0, "%s", err.p);
	cr_expect_eq(c.declare, 1);
	cr_expect_eq(c.nbindings, 2);
	cr_expect_str_eq(c.bindings[0], "a.*");
	cr_expect_str_eq(c.bindings[1], "b.#");
	cr_expect_eq(c.prefetch, 50);
	cr_expect_eq(c.idle_ms, 250);
	cr_expect_eq(c.retry_ms, -1);
	cr_expect_eq(c.heartbeat, 0);
	cr_expect_eq(c.connect_ms, 2000);
	cr_expect_str_eq(c.queue_type, "stream");
	cr_expect_eq(c.offkind, EV_AMQP_OFF_FIRST);
	ev_amqp_conf_free(&c);

	/* declare with an exchange and a queue binds with "#" */
	cr_assert_eq(ev_amqp_parse("amqp://h/?queue=q&exchange=x&declare=1", 1, &c, &err), 0);
	cr_expect_eq(c.nbindings, 1);
	cr_expect_str_eq(c.bindings[0], "#");
	cr_expect_str_eq(c.exchange_type, "topic");
	cr_expect_eq(c.mandatory, 1);
	ev_amqp_conf_free(&c);

	cr_assert_eq(ev_amqp_parse("amqp://h/?queue=q&declare=1&max_priority=10&mode=binary", 1, &c,
	    &err), 0, "%s", err.p);
	cr_expect_eq(c.max_priority, 10);
	cr_expect_eq(c.binary, 1);
	ev_amqp_conf_free(&c);
	cr_assert_eq(ev_amqp_parse("amqp://h/?queue=q&mode=structured", 1, &c, &err), 0);
	cr_expect_eq(c.binary, 0);
	ev_amqp_conf_free(&c);

	cr_assert_eq(ev_amqp_parse("amqp://h/?queue=s&stream_offset=12", 0, &c, &err), 0);
	cr_expect_eq(c.offkind, EV_AMQP_OFF_NUM);
	cr_expect_eq(c.offset, 12);
	ev_amqp_conf_free(&c);
	cr_assert_eq(ev_amqp_parse("amqp://h/?queue=s&stream_offset=2024-01-01T00:00:00Z", 0, &c, &err), 0);
	cr_expect_eq(c.offkind, EV_AMQP_OFF_TIME);
	cr_expect_eq(c.offset, 1704067200000);
	ev_amqp_conf_free(&c);
	ev_buf_free(&err);
}

Test(amqpurl, refused)
{
	static const struct { const char *url; int sink; const char *why; } bad[] = {
		{ "amqp://h/", 0, "needs a queue" },
		{ "amqp://h/?queue=q&nope=1", 0, "unknown parameter 'nope'" },
		{ "amqp://h/?queue=q&prefetch=10", 1, "applies to reading" },
		{ "amqp://h/?queue=q&routing_key=k", 0, "applies to publishing" },
		{ "amqp://h/?queue=q&prefetch=0", 0, "prefetch '0'" },
		{ "amqp://h/?queue=q&prefetch=70000", 0, "prefetch '70000'" },
		{ "amqp://h/?queue=q&declare=maybe", 0, "declare 'maybe'" },
		{ "amqp://h/?queue=q&queue=r", 0, "given twice" },
		{ "amqp://h/?queue=q&binding_key=a", 0, "needs declare=1" },
		{ "amqp://h/?queue=q&declare=1&binding_key=a", 0, "needs an exchange" },
		{ "amqp://h/?queue=q&declare=1&queue_type=lazy", 0, "queue_type 'lazy'" },
		{ "amqp://h/?exchange=x&declare=1&exchange_type=bogus", 1, "exchange_type 'bogus'" },
		{ "amqp://h/?routing_key=a&routing_key_jq=.b", 1, "exclude each other" },
		{ "amqp://h/?queue=q&cacertfile=/x", 0, "needs an amqps://" },
		{ "amqps://h/?queue=q&verify=maybe", 0, "verify 'maybe'" },
		{ "amqps://h/?queue=q&certfile=/c", 0, "go together" },
		{ "amqp://h/?queue=q&stream_offset=yesterday", 0, "stream_offset 'yesterday'" },
		{ "amqp://h/?queue=q&declare=1&queue_type=quorum&stream_offset=first", 0, "needs a stream" },
		{ "amqp://h/?queue=q&idle=soon", 0, "idle 'soon'" },
		{ "amqp://h/?queue=q&connect_timeout=0", 0, "connect_timeout '0'" },
		{ "amqp://h/?queue=%zz", 0, "bad %-escape" },
		{ "amqp://h/?queue=a%00b", 0, "bad %-escape" },
		{ "amqp://h/?queue", 0, "has no value" },
		{ "amqp://h/a/b?queue=q", 0, "not a broker URL" },
		{ "amqp://h/#frag", 1, "fragment" },
		{ "amqp://u:secret@h/?queue=q", 0, "shows in ps(1)" },
		{ "amqp://alice@h/?queue=q", 0, "no password for user 'alice'" },
		{ "amqp://h/?queue=q&mode=binary", 0, "applies to publishing" },
		{ "amqp://h/?queue=q&mode=raw", 1, "mode 'raw'" },
		{ "amqp://h/?queue=q&max_priority=9", 1, "needs declare=1" },
		{ "amqp://h/?queue=q&declare=1&max_priority=0", 1, "max_priority '0'" },
		{ "amqp://h/?queue=q&declare=1&max_priority=256", 1, "max_priority '256'" },
		{ "amqp://h/?exchange=x&declare=1&max_priority=5", 1, "needs a queue" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ev_amqp_conf c;
		struct ev_buf err = { 0 };
		cr_expect_eq(ev_amqp_parse(bad[i].url, bad[i].sink, &c, &err), -1, "%s accepted", bad[i].url);
		cr_expect(err.p && strstr(err.p, bad[i].why), "%s: '%s' lacks '%s'", bad[i].url,
		    err.p ? err.p : "", bad[i].why);
		ev_amqp_conf_free(&c);
		ev_buf_free(&err);
	}
}

Test(amqpurl, password)
{
	struct ev_amqp_conf c;
	struct ev_buf err = { 0 };
	char path[] = "/tmp/evkit-amqp-pw-XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "from-file\n", 10), 10);
	close(fd);

	setenv("EVKIT_AMQP_PASSWORD", "from-env", 1);
	cr_assert_eq(ev_amqp_parse("amqp://alice@h/?queue=q", 0, &c, &err), 0, "%s", err.p);
	cr_expect_str_eq(c.password, "from-env");
	ev_amqp_conf_free(&c);

	unsetenv("EVKIT_AMQP_PASSWORD");
	setenv("EVKIT_AMQP_PASSWORD_FILE", path, 1);
	cr_assert_eq(ev_amqp_parse("amqp://alice@h/?queue=q", 0, &c, &err), 0, "%s", err.p);
	cr_expect_str_eq(c.password, "from-file");
	ev_amqp_conf_free(&c);

	setenv("EVKIT_AMQP_PASSWORD_FILE", "/nonexistent/pw", 1);
	cr_expect_eq(ev_amqp_parse("amqp://alice@h/?queue=q", 0, &c, &err), -1);
	cr_expect(strstr(err.p, "/nonexistent/pw"), "%s", err.p);
	ev_amqp_conf_free(&c);

	unsetenv("EVKIT_AMQP_PASSWORD_FILE");
	setenv("EVKIT_AMQP_ALLOW_URL_PASSWORD", "1", 1);
	cr_assert_eq(ev_amqp_parse("amqp://alice:s%40cret@h/?queue=q", 0, &c, &err), 0, "%s", err.p);
	cr_expect_str_eq(c.password, "s@cret");
	cr_expect_str_eq(c.name, "amqp://alice:****@h/?queue=q");
	ev_amqp_conf_free(&c);
	ev_buf_free(&err);
	unlink(path);
}

Test(amqpurl, redact)
{
	static const struct { const char *in, *out; } t[] = {
		{ "amqp://h/?queue=q", "amqp://h/?queue=q" },
		{ "amqp://u@h/", "amqp://u@h/" },
		{ "amqp://u:pw@h:5/v", "amqp://u:****@h:5/v" },
		{ "amqps://u:p:w@h", "amqps://u:****@h" },
		{ "amqp://h/?exchange=a@b:c", "amqp://h/?exchange=a@b:c" },
		{ "file:with@signs", "file:with@signs" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *r = ev_amqp_redact(t[i].in);
		cr_expect_str_eq(r, t[i].out, "%s", t[i].in);
		free(r);
	}
}
