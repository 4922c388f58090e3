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

/* Does the authority (between :// and the path or query) name a user? */
static int
userpart(const char *url)
{
	const char *b = strstr(url, "://");

	if (!b)
		return 0;
	b += 3;
	const char *at = strchr(b, '@');
	return at && at < b + strcspn(b, "/?#");
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
		} else if (c.password && strlen(c.password) >= 4 && userpart(url) &&
		    count(url, c.password) > 0) { /* without a user part: the default, guest */
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
