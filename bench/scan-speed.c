/* SPDX-License-Identifier: ISC */
/* scan-speed: the validating JSON scanner alone, in GB/s of CPU time, over
 * the lines of a file held in memory (the line ends are found first,
 * untimed). Not a bench row: bench/RESULTS.md quotes it next to
 * `evfilter -c true`, which adds reading and splitting the input.
 *
 *   cc -O2 -iquote lib -o build/rel/scan-speed bench/scan-speed.c \
 *       build/rel/lib/libevkit.a -lm
 *   build/rel/scan-speed FILE [REPEATS]
 *
 * EVKIT_JSONSCAN=scalar|sse2|avx2 chooses how strings are skipped. Prints
 * the best of REPEATS (default 5) passes: ev_json_valid, then ev_json_scan
 * finding .type. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/jsonscan.h"

static double
cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	FILE *f;
	char *b;
	long n;
	size_t nl = 0, cap = 1 << 16, *off;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	double best = 1e30, bestp = 1e30;

	if (argc < 2 || !(f = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: scan-speed FILE [REPEATS]\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n <= 0 || !(b = malloc((size_t)n)) || fread(b, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "scan-speed: %s: cannot read it\n", argv[1]);
		return 1;
	}
	fclose(f);
	if (!(off = malloc(cap * sizeof *off)))
		return 1;
	for (char *s = b, *e = b + n; s < e;) {
		char *x = memchr(s, '\n', (size_t)(e - s));
		if (!x)
			x = e;
		if (nl + 2 > cap && !(off = realloc(off, (cap *= 2) * sizeof *off)))
			return 1;
		off[nl++] = (size_t)(s - b);
		s = x + 1;
	}
	off[nl] = (size_t)n + 1;
	struct ev_jpath *p = ev_jpath_compile(".type", NULL);
	struct ev_jval v;
	long bad = 0;
	for (int r = 0; r < reps; r++) {
		double t = cpu();
		for (size_t i = 0; i < nl; i++)
			bad += ev_json_valid(b + off[i], off[i + 1] - off[i] - 1, NULL) != 0;
		if ((t = cpu() - t) < best)
			best = t;
		t = cpu();
		for (size_t i = 0; i < nl; i++)
			bad += ev_json_scan(b + off[i], off[i + 1] - off[i] - 1, &p, 1, &v, NULL) != 0;
		if ((t = cpu() - t) < bestp)
			bestp = t;
	}
	printf("%s (%s): %zu lines, %ld bytes; valid %.2f GB/s (%.0f ns a line); "
	    "scan .type %.2f GB/s; %ld bad\n", argv[1], ev_json_scan_implname(), nl, n,
	    (double)n / best / 1e9, best * 1e9 / (double)nl, (double)n / bestp / 1e9, bad / reps / 2);
	ev_jpath_free(p);
	free(off);
	free(b);
	return 0;
}
