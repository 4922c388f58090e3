/* SPDX-License-Identifier: ISC */
/* fuzz.h — what the libFuzzer harnesses share: an assertion that says what
 * went wrong and aborts, so libFuzzer keeps the input as a crash. */
#ifndef EV_FUZZ_H
#define EV_FUZZ_H
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

#endif
