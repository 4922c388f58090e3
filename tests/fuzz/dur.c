/* SPDX-License-Identifier: ISC */
/* Fuzz the parsers of durations ("1h30m"), RFC 3339 times and sizes
 * ("64M"): no crash, no undefined behaviour (UBSan catches an overflow),
 * and what they accept means what it says: a duration is never negative,
 * a time formats back to itself within its millisecond, a size is within
 * 64 bits and a plain number of bytes reads back as printed. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "base/mem.h"
#include "base/size.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = ev_strndup((const char *)data, size); /* stops at a NUL, as argv does */
	int64_t ms, again;
	uint64_t bytes;
	char buf[32];

	if (ev_dur_parse(s, &ms) == 0)
		FUZZ_ASSERT(ms >= 0, "duration %s is %" PRId64 " ms", s, ms);
	if (ev_time_parse((const char *)data, size, &ms) == 0 &&
	    ms > -62135596800000 && ms < 253402300800000) { /* years 1 to 9999 */
		ev_time_format(ms, buf);
		FUZZ_ASSERT(ev_time_parse(buf, strlen(buf), &again) == 0 && again == ms,
		    "%.*s is %" PRId64 " ms, formatted %s", (int)size, (const char *)data, ms, buf);
	}
	if (ev_when_parse(s, 1700000000000, &ms) == 0)
		FUZZ_ASSERT(ev_time_parse(s, strlen(s), &again) == 0 || ms <= 1700000000000,
		    "%s: a duration ago is in the future", s);
	if (ev_size_parse(s, &bytes) == 0) {
		snprintf(buf, sizeof buf, "%" PRIu64, bytes);
		uint64_t back;
		FUZZ_ASSERT(ev_size_parse(buf, &back) == 0 && back == bytes, "%s: %s", s, buf);
	}
	free(s);
	return 0;
}
