/* SPDX-License-Identifier: ISC */
/* fuzz.h — what the libFuzzer harnesses share: an assertion that says what
 * went wrong and aborts, so libFuzzer keeps the input as a crash. */
#ifndef EV_FUZZ_H
#define EV_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Where FUZZ_ASSERT writes: standard error, unless a harness silenced the
 * library's warnings (fuzz_quiet). */
static int fuzz_errfd = 2;

#define FUZZ_ASSERT(cond, ...) do { \
	if (!(cond)) { \
		dprintf(fuzz_errfd, "%s:%d: ", __FILE__, __LINE__); \
		dprintf(fuzz_errfd, __VA_ARGS__); \
		dprintf(fuzz_errfd, "\n"); \
		abort(); \
	} \
} while (0)

/* Send the library's warnings (ev_warn) to /dev/null, keeping standard
 * error for the assertions and the sanitizers' reports; FUZZ_VERBOSE=1 in
 * the environment keeps them all. */
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>
static inline void
fuzz_quiet(void)
{
	if (getenv("FUZZ_VERBOSE"))
		return;
	int null = open("/dev/null", O_WRONLY);
	fuzz_errfd = dup(2);
	__sanitizer_set_report_fd((void *)(intptr_t)fuzz_errfd);
	dup2(null, 2);
	close(null);
}

#endif
