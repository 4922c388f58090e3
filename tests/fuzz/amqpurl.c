/* SPDX-License-Identifier: ISC */
/* Fuzz the broker location parser (amqp[s]://user:pass@host:port/vhost?...)
 * for reading and for publishing: no crash, no leak, an error always says
 * why, and the name used in messages never shows the password. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/url.h"
#include "base/buf.h"
#include "base/mem.h"

#include "fuzz.h"

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Was pw given in url as the password of a user part ("user:pw@")?  A
 * password that only matches other text (the default "guest" inside a
 * bracketed host, say) is not one the name must hide. */
static int
givenpass(const char *url, const char *pw)
{
	const char *b = strstr(url, "://");
	size_t n = strlen(pw);

	if (!b)
		return 0;
	b += 3;
	const char *e = b + strcspn(b, "/?#");
	for (const char *p = b; (p = strstr(p, pw)) && p + n < e; p++)
		if (p > b && p[-1] == ':' && p[n] == '@')
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_buf err;
	char *url = ev_strndup((const char *)data, size);
	struct ev_amqp_conf c;

	for (int sink = 0; sink < 2; sink++) {
		if (ev_amqp_parse(url, sink, &c, &err) < 0) {
			FUZZ_ASSERT(err.len > 0, "%s: refused without a reason", url);
		} else if (c.password && strlen(c.password) >= 4 && givenpass(url, c.password)) {
			FUZZ_ASSERT(count(c.name, c.password) < count(url, c.password),
			    "%s: the name %s shows the password", url, c.name);
		}
		ev_amqp_conf_free(&c);
	}
	char *red = ev_amqp_redact(url);
	free(red);
	free(url);
	return 0;
}
