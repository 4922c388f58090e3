/* SPDX-License-Identifier: ISC */
/* uuid.c — UUIDv7 with a random 74-bit tail that is incremented, not
 * redrawn, within one millisecond, so ids from one process sort in the
 * order they were made (RFC 9562 section 6.2, method 2). Random bytes come
 * from getrandom(2) in blocks, refilled after fork so that a child never
 * repeats its parent's ids. When the system has none to give (getrandom
 * fails), no id is made: reported and returned, the caller decides.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/time.h"
#include "base/err.h"
#include "event/uuid.h"

static unsigned char pool[4096];
static size_t avail;
static int64_t last_ms = -1;
static uint64_t rhi, rlo; /* 12-bit rand_a and 62-bit rand_b */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void forget(void) { avail = 0; last_ms = -1; }
static void setup(void) { pthread_atfork(NULL, NULL, forget); }

/* 0 with 64 random bits in *v, or -1 (reported, errno set). */
static int
rand64(uint64_t *v)
{
	if (avail < sizeof *v) {
		size_t got = 0;
		while (got < sizeof pool) {
			ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
			if (n < 0) {
				ev_warn("getrandom:");
				return -1;
			}
			got += (size_t)n;
		}
		avail = sizeof pool;
	}
	avail -= sizeof *v;
	memcpy(v, pool + avail, sizeof *v);
	return 0;
}

int
ev_uuid7_at(int64_t ms, char out[37])
{
	uint64_t r1, r2;

	pthread_once(&once, setup);
	if (ms > last_ms) {
		if (rand64(&r1) < 0 || rand64(&r2) < 0)
			return -1;
		rhi = r1 & 0xfff;
		rlo = r2 & 0x3fffffffffffffffULL;
		last_ms = ms;
	} else {
		/* Same or earlier millisecond: count up from the last id. */
		if (rand64(&r1) < 0)
			return -1;
		ms = last_ms;
		rlo += 1 + (r1 & 0xffff);
		if (rlo > 0x3fffffffffffffffULL) {
			rlo &= 0x3fffffffffffffffULL;
			if (++rhi > 0xfff) {
				rhi = 0;
				last_ms = ++ms;
			}
		}
	}
	uint64_t t = (uint64_t)ms & 0xffffffffffffULL;
	char tmp[64];

	snprintf(tmp, sizeof tmp, "%08x-%04x-%04x-%04x-%012llx",
	    (unsigned)(t >> 16), (unsigned)(t & 0xffff),
	    (unsigned)(0x7000 | rhi), (unsigned)(0x8000 | (rlo >> 48)),
	    (unsigned long long)(rlo & 0xffffffffffffULL));
	memcpy(out, tmp, 37);
	return 0;
}

int
ev_uuid7(char out[37])
{
	return ev_uuid7_at(ev_now_ms(), out);
}
