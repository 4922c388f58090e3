/* SPDX-License-Identifier: ISC */
/* size.c — one reading of "64M" for every option that takes a size. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "base/size.h"

int
ev_size_parse(const char *s, uint64_t *bytes)
{
	char *end;
	uintmax_t v;
	int shift = 0;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoumax(s, &end, 10);
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || errno || v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}
