/* SPDX-License-Identifier: ISC */
/* Fuzz the canonical form of signed events (sign/jcs.h): no crash, no
 * read past the input; what it accepts the validating scanner accepts;
 * its output is its own canonical form (a second pass changes nothing),
 * so a signature made over it is checked over the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "json/jsonscan.h"
#include "sign/jcs.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_jcs *j;
	static struct ev_buf a, b;
	const char *why = NULL;
	struct ev_jerr e;

	if (!j)
		j = ev_jcs_new();
	ev_buf_reset(&a);
	if (ev_jcs(j, &a, (const char *)data, size, NULL, &why) < 0) {
		FUZZ_ASSERT(why && *why, "refused without a reason");
		return 0;
	}
	FUZZ_ASSERT(ev_json_valid((const char *)data, size, &e) == 0,
	    "canonicalized what the scanner refuses (%s)", e.msg);
	FUZZ_ASSERT(ev_json_valid(a.p, a.len, &e) == 0, "the canonical form is not JSON (%s): %s",
	    e.msg, a.p);
	ev_buf_reset(&b);
	FUZZ_ASSERT(ev_jcs(j, &b, a.p, a.len, NULL, &why) == 0, "the canonical form refused: %s", why);
	FUZZ_ASSERT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "not idempotent: %s -> %s", a.p, b.p);
	return 0;
}
