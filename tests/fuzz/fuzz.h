/* SPDX-License-Identifier: ISC */
/* fuzz.h — what the libFuzzer harnesses share: an assertion that says what
 * went wrong and aborts, so libFuzzer keeps the input as a crash. */
#ifndef EV_FUZZ_H
#define EV_FUZZ_H
#include <stdio.h>
#include <stdlib.h>

static FILE *fuzz_err; /* see fuzz_quiet */

#define FUZZ_ASSERT(cond, ...) do { \
	if (!(cond)) { \
		FILE *f_ = fuzz_err ? fuzz_err : stderr; \
		fprintf(f_, "%s:%d: ", __FILE__, __LINE__); \
		fprintf(f_, __VA_ARGS__); \
		fputc('\n', f_); \
		fflush(f_); \
		abort(); \
	} \
} while (0)

/* The library's warnings (ev_warn writes to stdio's stderr) go to
 * /dev/null after fuzz_quiet(), unless FUZZ_VERBOSE is set; libFuzzer's
 * output, the sanitizers' reports (descriptor 2) and the assertions
 * (fuzz_err, the first stderr) stay. */
static inline void
fuzz_quiet(void)
{
	fuzz_err = stderr;
	if (!getenv("FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");
		if (null)
			stderr = null;
	}
}

#endif
